"""The `legacyconv` command: end to end in a subprocess, failures with exit codes and no leftovers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_io import conv_cfg, write_keras1

from legacyconv import cli
from legacyconv.cli import main

pytest.importorskip("h5py")

EXAMPLES = Path(__file__).resolve().parents[1] / "legacyconv" / "examples"
LENET = EXAMPLES / "keras1_theano_lenet.h5"
REFERENCE = EXAMPLES / "keras1_theano_lenet_reference.npz"
ZOO = Path(__file__).resolve().parent / "data" / "keras_zoo"


def run(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "legacyconv", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def one_error_line(err, *pieces):
    lines = [line for line in err.strip().splitlines() if line.startswith("legacyconv")]
    assert len(lines) == 1, err
    for piece in pieces:
        assert piece in lines[0], lines[0]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """`python -m legacyconv migrate` of the bundled real model, in a subprocess."""
    pytest.importorskip("tensorflow")
    out = tmp_path_factory.mktemp("cli") / "lenet.keras"
    proc = run("migrate", LENET, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout
    return out


def test_migrate_then_check_in_a_subprocess(migrated, tmp_path):
    report = tmp_path / "report.json"
    script = shutil.which("legacyconv", path=os.path.dirname(sys.executable))
    cmd = [script] if script else [sys.executable, "-m", "legacyconv"]
    proc = subprocess.run(
        [*cmd, "check", migrated, REFERENCE, "--json", report], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS" in proc.stdout and "layer02_convolution2d_2" in proc.stdout
    data = json.loads(report.read_text())
    assert data["passed"] is True and data["first_diverging"] is None
    assert {r["key"] for r in data["rows"] if r["status"] == "ok"} >= {
        "layer00_convolution2d_1",
        "layer01_maxpooling2d_1",
        "layer02_convolution2d_2",
        "layer03_maxpooling2d_2",
        "output",
    }


@pytest.mark.parametrize(
    "path, kind",
    [
        (LENET, "a Keras 1.2.2 model"),
        (ZOO / "k2_merge_bn.h5", "a Keras 2.2.5 model saved with the Theano backend"),
    ],
)
def test_check_of_an_unmigrated_legacy_file_says_migrate_first(path, kind, capsys):
    # Keras 3 refuses the first; it loads the second with unflipped kernels, whose channels_first
    # convolutions TensorFlow then failed to run: an "internal error", exit 3
    pytest.importorskip("tensorflow")
    reference = path.parent / path.name.replace(".h5", "_reference.npz")
    assert main(["check", str(path), str(reference), "--no-progress"]) == 2
    one_error_line(
        capsys.readouterr().err, f"{path.name} is {kind}, not a migrated model", "legacyconv migrate"
    )


def test_check_mismatch_exits_1(migrated, tmp_path, capsys):
    ref = dict(np.load(REFERENCE))
    ref["layer02_convolution2d_2"] = ref["layer02_convolution2d_2"] + 1e-2
    np.savez(tmp_path / "bad_ref.npz", **ref)
    assert main(["check", str(migrated), str(tmp_path / "bad_ref.npz"), "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "first diverging: layer02_convolution2d_2" in out and "FAIL" in out
    assert (
        main(
            [
                "check",
                str(migrated),
                str(tmp_path / "bad_ref.npz"),
                "--json",
                "-",
                "--rtol",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["passed"] is True


@pytest.mark.parametrize("command", [None, "inspect", "convert", "migrate", "check", "examples"])
def test_help_has_examples_and_exit_codes(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"] if command else ["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "exit codes:" in out and "2  bad input" in out


def test_no_command_and_bad_usage(capsys):
    assert main([]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["convert", "only_one_arg"])
    assert exc.value.code == 2


# --------------------------------------------------------------------------- inspect / convert


def test_inspect(capsys):
    assert main(["inspect", str(LENET)]) == 0
    out = capsys.readouterr().out
    assert "Keras 1.2.2" in out and "dense kernel after flatten of (12, 6, 6)" in out
    assert main(["inspect", str(LENET), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "keras1-hdf5"


def test_spec_template_then_convert(tmp_path, capsys):
    params = tmp_path / "params.npz"
    np.savez(params, np.ones((2, 1, 3, 3), np.float32), np.zeros(2, np.float32))
    assert main(["inspect", str(params), "--spec-template", "json"]) == 0
    captured = capsys.readouterr()
    assert "FILL IN" in captured.err
    spec = json.loads(captured.out)
    (tmp_path / "spec.json").write_text(captured.out)
    assert (
        main(["convert", str(params), str(tmp_path / "out.h5"), "--spec", str(tmp_path / "spec.json")]) == 2
    )
    assert "filter_flip is still the template's placeholder" in capsys.readouterr().err
    spec["arrays"]["arr_0"]["filter_flip"] = True
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    assert (
        main(["convert", str(params), str(tmp_path / "out.h5"), "--spec", str(tmp_path / "spec.json")]) == 0
    )
    assert "wrote" in capsys.readouterr().out
    with __import__("h5py").File(tmp_path / "out.h5") as f:
        assert f["arr_0"].shape == (3, 3, 1, 2)


def test_convert_keras1_file_and_force(tmp_path, capsys):
    out = tmp_path / "w.npz"
    assert main(["convert", str(LENET), str(out)]) == 0
    assert np.load(out)["convolution2d_1/convolution2d_1_W"].shape == (5, 5, 1, 6)
    before = out.read_bytes()
    assert main(["convert", str(LENET), str(out)]) == 2
    one_error_line(capsys.readouterr().err, "already exists", "--force")
    assert out.read_bytes() == before
    assert main(["convert", str(LENET), str(out), "--force"]) == 0


def test_output_equal_to_input_is_refused_even_with_force(tmp_path, capsys):
    src = tmp_path / "w.npz"
    np.savez(src, a=np.ones(3))
    before = src.read_bytes()
    assert main(["convert", str(src), str(src), "--force", "--spec", "x.json"]) == 2
    one_error_line(capsys.readouterr().err, "also an input")
    assert src.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["w.npz"]


def test_nonfinite_weights_warn_on_convert(tmp_path, capsys):
    src = tmp_path / "w.npz"
    np.savez(src, a=np.array([1.0, np.inf]))
    assert main(["convert", str(src), str(tmp_path / "o.npz")]) == 0
    err = capsys.readouterr().err
    assert "legacyconv: warning: 1 array(s) hold non-finite values" in err


# --------------------------------------------------------------------------- failures: exit 2, nothing written


def _truncated(tmp_path):
    bad = tmp_path / "trunc.h5"
    bad.write_bytes(LENET.read_bytes()[:4096])
    return bad


def _pickled(tmp_path):
    bad = tmp_path / "obj.npz"
    np.savez(bad, w=np.array([object()], dtype=object))
    return bad


@pytest.mark.parametrize(
    "make, command, message",
    [
        (_truncated, "convert", "truncated or corrupt"),
        (_truncated, "migrate", "truncated or corrupt"),
        (_truncated, "inspect", "truncated or corrupt"),
        (_pickled, "convert", "never unpickles"),
    ],
)
def test_bad_input_files(tmp_path, capsys, make, command, message):
    bad = make(tmp_path)
    before = sorted(os.listdir(tmp_path))
    args = {
        "convert": ["convert", str(bad), str(tmp_path / "out.npz")],
        "migrate": ["migrate", str(bad), "-o", str(tmp_path / "out.keras")],
        "inspect": ["inspect", str(bad)],
    }[command]
    assert main(args) == 2
    one_error_line(capsys.readouterr().err, f"legacyconv {command}: error:", message)
    assert sorted(os.listdir(tmp_path)) == before  # no output, no temporary file


def test_unknown_layer_writes_nothing(tmp_path, capsys):
    path = write_keras1(
        tmp_path / "m.h5",
        [
            ("Convolution2D", conv_cfg("conv", 2, 3, 3)),
            (
                "LocallyConnected2D",
                {"name": "locallyconnected2d_1", "nb_filter": 2, "nb_row": 3, "nb_col": 3},
            ),
        ],
        {"conv": [("conv_W", np.ones((2, 1, 3, 3), np.float32)), ("conv_b", np.zeros(2, np.float32))]},
    )
    assert main(["migrate", str(path), "-o", str(tmp_path / "out.keras")]) == 2
    one_error_line(capsys.readouterr().err, "'locallyconnected2d_1' (LocallyConnected2D) is not supported")
    assert sorted(os.listdir(tmp_path)) == ["m.h5"]


def test_bad_spec_writes_nothing(tmp_path, capsys):
    params = tmp_path / "params.npz"
    np.savez(params, np.ones((2, 1, 3, 3), np.float32))
    (tmp_path / "spec.json").write_text(json.dumps({"arrays": {"arr_0": {"role": "kernel"}}}))
    assert (
        main(["convert", str(params), str(tmp_path / "out.npz"), "--spec", str(tmp_path / "spec.json")]) == 2
    )
    one_error_line(capsys.readouterr().err, "arrays.arr_0.role must be one of")
    assert sorted(os.listdir(tmp_path)) == ["params.npz", "spec.json"]


def test_migrate_output_rules(tmp_path, capsys):
    assert main(["migrate", str(LENET), "-o", str(tmp_path / "out.h5")]) == 2
    one_error_line(capsys.readouterr().err, "must end in one of")
    existing = tmp_path / "out.keras"
    existing.write_bytes(b"old")
    assert main(["migrate", str(LENET), "-o", str(existing)]) == 2
    one_error_line(capsys.readouterr().err, "already exists")
    assert existing.read_bytes() == b"old"


def test_check_json_report_is_not_overwritten(tmp_path, capsys):
    report = tmp_path / "r.json"
    report.write_text("{}")
    assert main(["check", "m.keras", str(REFERENCE), "--json", str(report)]) == 2
    one_error_line(capsys.readouterr().err, "already exists")
    assert report.read_text() == "{}"


def test_internal_errors_exit_3(monkeypatch, capsys):
    def boom(args):
        raise RuntimeError("unexpected")

    monkeypatch.setitem(cli._COMMANDS, "inspect", boom)
    assert main(["inspect", "x"]) == 3
    one_error_line(capsys.readouterr().err, "internal error (RuntimeError): unexpected", "--debug")
    with pytest.raises(RuntimeError):
        main(["--debug", "inspect", "x"])


# --------------------------------------------------------------------------- examples


def test_examples_list_and_copy(tmp_path, capsys):
    assert main(["examples"]) == 0
    paths = capsys.readouterr().out.split()
    assert len(paths) == 6 and all(os.path.isfile(p) for p in paths)
    assert main(["examples", "--copy", str(tmp_path)]) == 0
    capsys.readouterr()
    copied = tmp_path / "keras1_theano_lenet.h5"
    assert copied.read_bytes() == LENET.read_bytes()
    assert main(["examples", "--copy", str(tmp_path)]) == 2
    one_error_line(capsys.readouterr().err, "already exists")


def test_bulk_convert_script(tmp_path, capsys):
    import runpy

    script = Path(__file__).resolve().parents[1] / "scripts" / "bulk_convert.py"
    bulk_main = runpy.run_path(str(script))["main"]
    src = tmp_path / "old"
    src.mkdir()
    shutil.copy(LENET, src / "lenet.h5")
    np.savez(src / "lasagne.npz", np.ones((2, 1, 3, 3), np.float32), np.zeros(2, np.float32))
    (src / "junk.npz").write_bytes(b"junk")
    (tmp_path / "spec.json").write_text(
        json.dumps({"arrays": {"arr_0": {"role": "conv_kernel", "filter_flip": True}}})
    )
    assert bulk_main([str(src), str(tmp_path / "new"), "--spec", str(tmp_path / "spec.json")]) == 1
    assert sorted(os.listdir(tmp_path / "new")) == ["lasagne.npz", "lenet.npz"]
    assert np.load(tmp_path / "new" / "lasagne.npz")["arr_0"].shape == (3, 3, 1, 2)
    assert "FAILED" in capsys.readouterr().err


def _with_sidecar(migrated, tmp_path, edit):
    """A copy of the migrated model whose legacyconv.json sidecar ``edit`` changed."""
    import zipfile

    out = tmp_path / "edited.keras"
    with zipfile.ZipFile(migrated) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "legacyconv.json":
                sidecar = json.loads(data)
                edit(sidecar)
                data = json.dumps(sidecar).encode()
            dst.writestr(info.filename, data)
    return out


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s["nodes"][1].__setitem__("perm", [0, 0, 1, 2]), "a node record must hold"),
        (lambda s: s["nodes"][2].__setitem__("layer", ["x"]), "a node record must hold"),
        (lambda s: s["nodes"][0].__setitem__("reference", {}), "a node record must hold"),
        (lambda s: s["outputs"][0].__setitem__("perm", ["0", 1]), "a node record must hold"),
        (
            lambda s: s["nodes"][3].__setitem__("layer", "no_such_layer"),
            "names layers the model does not hold",
        ),
        (
            lambda s: s["outputs"][0].__setitem__("node", "nowhere"),
            "the sidecar's outputs name nodes it does not list",
        ),
        (lambda s: s.__setitem__("nodes", {"a": 1}), "the sidecar's nodes must be a list of records"),
    ],
)
def test_check_of_a_damaged_sidecar_says_so(migrated, tmp_path, capsys, edit, message):
    # each was Python's TypeError/KeyError or Keras' 'No such layer' from inside: exit 3
    edited = _with_sidecar(migrated, tmp_path, edit)
    assert main(["check", str(edited), str(REFERENCE), "--no-progress"]) == 2
    one_error_line(capsys.readouterr().err, "edited.keras", message)
