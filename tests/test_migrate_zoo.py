"""Every real Keras model of the zoo (Keras 1.2.2 and 2.2.5 on Theano 1.0.5, with per-layer
references recorded from Theano) migrates, passes ``check`` at the default tolerances, and its
``.keras`` file loads and reproduces the legacy output in a Python where legacyconv cannot be
imported."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("h5py")

from legacyconv import LegacyconvError  # noqa: E402
from legacyconv.migrate import migrate  # noqa: E402
from legacyconv.regression import DEFAULT_ATOL, DEFAULT_RTOL, check  # noqa: E402

DATA = Path(__file__).parent / "data"
ZOO = DATA / "keras_zoo"  # the 13 shared zoo models
#: model name -> its folder: the zoo, plus recordings of layers the zoo lacks (tests/data/keras_extra)
FOLDERS = {
    p.name[: -len("_reference.npz")]: p.parent
    for folder in (ZOO, DATA / "keras_extra")
    for p in folder.glob("*_reference.npz")
}
MODELS = sorted(FOLDERS)


def _source(name: str) -> tuple[Path, Path | None]:
    folder = FOLDERS[name]
    h5 = folder / f"{name}.h5"
    if h5.exists():
        return h5, None
    return folder / f"{name}.json", folder / f"{name}_weights.h5"


def _reference(name: str) -> Path:
    return FOLDERS[name] / f"{name}_reference.npz"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("zoo")
    paths = {}
    for name in MODELS:
        model, weights = _source(name)
        paths[name] = out / f"{name}.keras"
        migrate(model, paths[name], weights=weights)
    return paths


def test_the_zoo_is_there() -> None:
    assert len([n for n in MODELS if FOLDERS[n] == ZOO]) == 13


@pytest.mark.parametrize("name", MODELS)
def test_zoo_model_passes_check(name: str, migrated: dict[str, Path]) -> None:
    ref = _reference(name)
    report = check(migrated[name], ref, progress=False)
    assert report.rtol == DEFAULT_RTOL and report.atol == DEFAULT_ATOL
    assert report.passed, report.table()
    compared = {r.key for r in report.rows if r.status == "ok"}
    with np.load(ref) as data:
        # every layer output the legacy model recorded is compared, not skipped
        assert compared == set(data.files) - {"input"}, report.table()


@pytest.mark.parametrize("name", MODELS)
def test_zoo_model_has_only_stock_layers(name: str, migrated: dict[str, Path]) -> None:
    with zipfile.ZipFile(migrated[name]) as zf:
        config = json.loads(zf.read("config.json"))
        sidecar = json.loads(zf.read("legacyconv.json"))
    modules = {layer["module"] for layer in config["config"]["layers"]}
    # stock layers, and Keras' own ops where Keras traces them (an Embedding's mask_zero: NotEqual)
    assert all(m == "keras.layers" or m.startswith("keras.src.ops.") for m in modules), modules
    assert sidecar["fallback_layers"] == []
    assert "legacyconv" not in json.dumps(config)


_STANDALONE = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class _NoLegacyconv(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "legacyconv" or name.startswith("legacyconv."):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
            return None

    sys.meta_path.insert(0, _NoLegacyconv())
    import numpy as np
    import keras

    jobs = json.loads(sys.argv[1])
    for model_path, ref_path, out_path in jobs:
        model = keras.saving.load_model(model_path, compile=False)  # safe mode: no code runs
        with np.load(ref_path) as ref:
            x = ref["input"]
        if len(model.inputs[0].shape) == 4 and x.ndim == 4:
            x = x.transpose(0, 2, 3, 1)
        elif len(model.inputs[0].shape) == 5 and x.ndim == 5:
            x = x.transpose(0, 2, 3, 4, 1)
        np.save(out_path, np.asarray(model.predict(x.astype(model.inputs[0].dtype), verbose=0)))
    assert not any(m == "legacyconv" or m.startswith("legacyconv.") for m in sys.modules)
    print("ok", len(jobs))
    """
)


def test_zoo_models_load_and_run_without_legacyconv(migrated: dict[str, Path], tmp_path: Path) -> None:
    jobs = [[str(migrated[n]), str(_reference(n)), str(tmp_path / f"{n}.npy")] for n in MODELS]
    proc = subprocess.run(
        [sys.executable, "-I", "-c", _STANDALONE, json.dumps(jobs)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith(f"ok {len(MODELS)}")
    for name in MODELS:
        with np.load(_reference(name)) as ref:
            want = ref["output"]
        got = np.load(tmp_path / f"{name}.npy")
        if got.ndim == 4:  # image outputs are channels-last in the migrated model
            got = got.transpose(0, 3, 1, 2)
        tol = 1e-5 * max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=tol, err_msg=name)


def test_savedmodel_export(tmp_path: Path) -> None:
    model, _ = _source("k1_merge_graph")
    out = tmp_path / "served"
    result = migrate(model, tmp_path / "m.keras", export_savedmodel=out)
    assert (out / "saved_model.pb").is_file()
    assert [Path(p) for p in result.written] == [tmp_path / "m.keras", out]
    import tensorflow as tf

    loaded = tf.saved_model.load(str(out))
    with np.load(ZOO / "k1_merge_graph_reference.npz") as ref:
        x, want = ref["input"].transpose(0, 2, 3, 1), ref["output"]
    got = np.asarray(loaded.serve(tf.constant(x)))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    with pytest.raises(LegacyconvError, match="served exists; pass force=True"):
        migrate(model, tmp_path / "m2.keras", export_savedmodel=out)
    assert not (tmp_path / "m2.keras").exists()  # refused before anything was written


@pytest.mark.parametrize("where", ["input", "output"])
def test_a_refused_savedmodel_directory_writes_nothing(tmp_path: Path, where: str) -> None:
    # the .keras output was written first, then the directory refused: a failed run left it
    model, _ = _source("k1_merge_graph")
    keras_out = tmp_path / "m.keras"
    directory = model if where == "input" else keras_out
    match = "is also an input" if where == "input" else "is also another output of this run"
    with pytest.raises(LegacyconvError, match=match):
        migrate(model, keras_out, export_savedmodel=directory, force=True)
    assert not keras_out.exists()


def test_cli_migrate_json_with_weights_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from legacyconv.cli import EXIT_BAD_INPUT, EXIT_OK, main

    arch, weights = _source("k1_json_functional")
    out = tmp_path / "m.keras"
    assert main(["migrate", str(arch), "--weights", str(weights), "-o", str(out)]) == EXIT_OK
    assert capsys.readouterr().out.startswith(f"wrote {out}")
    assert main(["check", str(out), str(_reference("k1_json_functional"))]) == EXIT_OK
    assert "PASS" in capsys.readouterr().out
    # the weights file alone: an error saying to pass the architecture
    assert main(["migrate", str(weights), "-o", str(tmp_path / "w.keras")]) == EXIT_BAD_INPUT
    assert "--weights" in capsys.readouterr().err
    assert not (tmp_path / "w.keras").exists()
