"""Hostile and careless inputs: every file is built here, in a temp dir, and the command must
answer exit 2 with one line (<= 300 characters) naming the problem, read nothing outside the
file it was given, keep its memory bounded, and leave nothing behind or changed."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_io import conv_cfg, write_keras1

from legacyconv import LegacyconvError, cli
from legacyconv.io import load_weights
from legacyconv.io.limits import read_limits

h5py = pytest.importorskip("h5py")

ROOT = Path(__file__).resolve().parents[1]
LENET = ROOT / "legacyconv" / "examples" / "keras1_theano_lenet.h5"


# --------------------------------------------------------------------------- helpers


def cli_main(capsys, *args):
    """``legacyconv ARGS`` in-process: (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(err, *pieces):
    """stderr is one line of at most 300 characters that contains every piece."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert len(lines[0]) <= cli.MAX_MESSAGE, lines[0]
    for piece in pieces:
        assert piece in lines[0], lines[0]


def snapshot(directory):
    """Names, sizes, modes and contents of every entry of a directory (symlinks as such)."""
    out = {}
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            out[entry] = (st.st_mode, Path(path).read_bytes())
        elif stat.S_ISLNK(st.st_mode):
            out[entry] = ("link", os.readlink(path))
        else:
            out[entry] = (stat.S_IFMT(st.st_mode), None)
    return out


def fifo_canary(tmp_path, name="canary.fifo"):
    """A FIFO with no writer: any process that opens it for reading blocks, so a reader that
    follows a link to it hangs and the subprocess times out instead of passing."""
    path = tmp_path / name
    os.mkfifo(path)
    return path


def run_cli(*args, timeout=60, preexec_fn=None, env=None):
    """``python -m legacyconv ARGS`` in a subprocess (for what could hang or must be bounded)."""
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "legacyconv", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        preexec_fn=preexec_fn,
    )


def small_keras1(path):
    """A valid little Keras-1 model file (conv + flatten + dense)."""
    rng = np.random.default_rng(0)
    layers = [
        ("Convolution2D", conv_cfg("conv", 2, 3, 3)),
        ("Flatten", {"name": "flat"}),
        ("Dense", {"name": "dense", "output_dim": 3, "activation": "linear", "bias": True}),
    ]
    weights = {
        "conv": [
            ("conv_W", rng.standard_normal((2, 1, 3, 3)).astype(np.float32)),
            ("conv_b", np.zeros(2, np.float32)),
        ],
        "dense": [
            ("dense_W", rng.standard_normal((72, 3)).astype(np.float32)),
            ("dense_b", np.zeros(3, np.float32)),
        ],
    }
    return write_keras1(path, layers, weights)


# --------------------------------------------------------------------------- HDF5: nothing outside the file


def external_storage(tmp_path, target):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("w", (16,), "u1", external=[(str(target), 0, 16)])
    return path


def external_link_in_keras1(tmp_path, target):
    path = small_keras1(tmp_path / "m.h5")
    with h5py.File(path, "a") as f:
        del f["model_weights/dense/dense_W"]
        f["model_weights/dense/dense_W"] = h5py.ExternalLink(str(target), "/w")
    return path


def virtual_dataset(tmp_path, target):
    path = tmp_path / "v.h5"
    layout = h5py.VirtualLayout(shape=(16,), dtype="f4")
    layout[:] = h5py.VirtualSource(str(target), "w", shape=(16,))
    with h5py.File(path, "w") as f:
        f.create_virtual_dataset("w", layout, fillvalue=0)
    return path


def soft_link_out(tmp_path, target):
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("a", data=np.ones(3, np.float32))
        f["ext"] = h5py.ExternalLink(str(target), "/w")
        f["soft"] = h5py.SoftLink("/ext")
    return path


HOSTILE_HDF5 = {
    "external storage": (external_storage, "stores its data in the external file"),
    "external link": (external_link_in_keras1, "is an external link to"),
    "virtual dataset": (virtual_dataset, "is a virtual dataset"),
    "soft link to an external link": (soft_link_out, "is an external link to"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_HDF5))
@pytest.mark.parametrize("command", ["inspect", "convert", "migrate"])
def test_hdf5_never_reads_another_file(tmp_path, kind, command):
    build, message = HOSTILE_HDF5[kind]
    canary = fifo_canary(tmp_path)  # opening it would block: a timeout, not a pass
    path = build(tmp_path, canary)
    out = tmp_path / ("out.keras" if command == "migrate" else "out.npz")
    args = {"inspect": [path], "convert": [path, out], "migrate": [path, "-o", out]}[command]
    before = snapshot(tmp_path)
    proc = run_cli(command, *args, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert_one_line(proc.stderr, message, str(path))
    assert snapshot(tmp_path) == before


def test_hdf5_soft_link_dangling_and_inside_the_file(tmp_path):
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("g/a", data=np.arange(3, dtype=np.float32))
        f["inside"] = h5py.SoftLink("/g/a")
    wf = load_weights(path)  # a soft link inside the file is fine: its target is read once
    assert list(wf.arrays) == ["g/a"]
    with h5py.File(path, "a") as f:
        f["dangling"] = h5py.SoftLink("/nowhere")
    with pytest.raises(LegacyconvError, match="soft link to '/nowhere'"):
        load_weights(path)


def test_external_storage_pointing_at_a_real_file_is_not_copied(tmp_path, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"CANARY-0123456789")
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("w", (17,), "u1", external=[(str(secret), 0, 17)])
    code, out, err = cli_main(capsys, "convert", path, tmp_path / "o.npz")
    assert code == 2
    assert_one_line(err, "dataset /w stores its data in the external file")
    assert not (tmp_path / "o.npz").exists()
    with pytest.raises(LegacyconvError, match="external file"):
        load_weights(path)


def test_a_datatype_where_a_dataset_should_be(tmp_path, capsys):
    path = small_keras1(tmp_path / "m.h5")
    with h5py.File(path, "a") as f:
        del f["model_weights/dense/dense_W"]
        f["model_weights/dense/dense_W"] = np.dtype("f4")  # a committed datatype
    code, _, err = cli_main(capsys, "inspect", path)
    assert code == 2
    assert_one_line(err, "'dense_W' is a datatype, not a dataset")


# --------------------------------------------------------------------------- sizes declared by files


def npz_with_header(path, shape, dtype="<f4", data=b""):
    """An .npz whose member declares ``shape`` but holds only ``data``."""
    header = {"descr": dtype, "fortran_order": False, "shape": tuple(shape)}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)  # magic string included
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("w.npy", buf.getvalue() + data)
    return path


def zip_bomb(path, nbytes=64 << 20):
    """An .npz (deflate) holding ``nbytes`` of float32 zeros in about nbytes / 1000 bytes."""
    header = {"descr": "<f4", "fortran_order": False, "shape": (nbytes // 4,)}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("w.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array_header_1_0(fh, header)
            zeros = bytes(1 << 20)
            for _ in range(nbytes >> 20):
                fh.write(zeros)
    return path


def fill_value_bomb(path, n=1 << 28):
    """A 1.4 kB HDF5 declaring a 1 GiB float32 dataset that was never written (chunked)."""
    with h5py.File(path, "w") as f:
        f.create_dataset("w", (n,), "f4", chunks=(1 << 16,))
    return path


def chunk_bomb(path):
    """A 130 kB HDF5 holding one float32 in a gzip chunk of 128 MiB (decompressed whole to read it)."""
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("w", (1,), "f4", maxshape=(None,), chunks=(1 << 25,), compression="gzip")
        ds[0] = 1.0
    return path


def padding_bomb(path):
    """A Keras-1 model with ZeroPadding2D(10**9) followed by 'same' pooling."""
    layers = [
        ("ZeroPadding2D", {"name": "pad", "padding": [10**9, 10**9], "dim_ordering": "th"}),
        ("MaxPooling2D", {"name": "pool", "pool_size": [3, 3], "border_mode": "same", "dim_ordering": "th"}),
    ]
    return write_keras1(path, layers, {})


BOMBS = {
    "npy header 64 GiB": (lambda p: npz_with_header(p / "h.npz", (1 << 34,)), ["inspect"], "64 GiB"),
    "zip bomb": (lambda p: zip_bomb(p / "z.npz"), ["inspect"], "stores only"),
    "fill-value bomb": (lambda p: fill_value_bomb(p / "f.h5"), ["inspect"], "stores only"),
    "hdf5 declaring 93 GiB": (lambda p: fill_value_bomb(p / "g.h5", 93 << 28), ["inspect"], "93 GiB"),
    "padding bomb": (lambda p: padding_bomb(p / "pad.h5"), ["migrate"], "of float32 per sample"),
    # held to --max-bytes 64MiB: the chunk, not the 4-byte array, is what counts
    "chunk bomb": (
        lambda p: chunk_bomb(p / "c.h5"),
        ["inspect"],
        "in chunks of (33554432,) = 128 MiB, over the limit of 64 MiB",
    ),
}


@pytest.fixture(scope="module")
def baseline_address_space(tmp_path_factory):
    """Peak virtual memory (VmPeak) of `legacyconv inspect` on a small valid file."""
    d = tmp_path_factory.mktemp("baseline")
    path = small_keras1(d / "ok.h5")
    code = (
        "import sys; from legacyconv import cli; rc = cli.main(['inspect', sys.argv[1]]); "
        "print([l for l in open('/proc/self/status') if l.startswith('VmPeak')][0].split()[1], file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert proc.returncode == 0, proc.stderr
    return int(proc.stderr.strip().splitlines()[-1]) * 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmPeak and RLIMIT_AS as on Linux")
@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_declared_sizes_are_refused_with_bounded_memory(tmp_path, kind, baseline_address_space):
    import resource

    build, commands, figure = BOMBS[kind]
    path = build(tmp_path)
    assert path.stat().st_size <= 1 << 20  # the file itself is small
    limit = baseline_address_space + (256 << 20)  # the reader may use 256 MiB more than for a tiny file

    def bounded():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    for command in commands:
        args = [path, "-o", tmp_path / "o.keras"] if command == "migrate" else [path]
        if kind == "chunk bomb":
            args += ["--max-bytes", "64MiB"]
        before = snapshot(tmp_path)
        proc = run_cli(command, *args, preexec_fn=bounded, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert_one_line(proc.stderr, figure)
        assert snapshot(tmp_path) == before


def test_limits_can_be_raised_by_flag_env_and_api(tmp_path, capsys):
    path = fill_value_bomb(tmp_path / "f.h5", n=1 << 20)  # 4 MiB declared, nothing stored
    with pytest.raises(LegacyconvError, match="stores only"):
        load_weights(path)
    code, _, err = cli_main(capsys, "inspect", path, "--max-bytes", "1MiB")
    assert code == 2
    assert_one_line(err, "4 MiB", "over the limit of 1 MiB")
    code, out, _ = cli_main(capsys, "inspect", path, "--max-ratio", "1e9")
    assert code == 0 and "(1048576,)" in out
    with read_limits(max_ratio=1e9):
        assert load_weights(path).arrays["w"].shape == (1 << 20,)
    proc = run_cli("inspect", path, env={"LEGACYCONV_MAX_RATIO": "1e9"})
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("inspect", path, env={"LEGACYCONV_MAX_BYTES": "2M", "LEGACYCONV_MAX_RATIO": "1e9"})
    assert proc.returncode == 2 and "over the limit of 2 MiB" in proc.stderr
    code, _, err = cli_main(capsys, "inspect", path, "--max-bytes", "lots")
    assert code == 2
    assert_one_line(err, "max_bytes must be a positive number of bytes")


def test_total_of_all_arrays_is_limited(tmp_path):
    path = tmp_path / "two.npz"
    np.savez(path, a=np.zeros(300_000, np.float32), b=np.zeros(300_000, np.float32))
    with read_limits(max_bytes="2MiB"):
        with pytest.raises(LegacyconvError, match="brings the file to 2.29 MiB"):
            load_weights(path)
    assert set(load_weights(path).arrays) == {"a", "b"}


def test_spec_size_and_nesting_limits(tmp_path, capsys):
    weights = tmp_path / "w.npz"
    np.savez(weights, np.ones((2, 1, 3, 3), np.float32))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = cli_main(capsys, "convert", weights, tmp_path / "o.npz", "--spec", deep)
    assert code == 2
    assert_one_line(err, "nested 100000 levels deep")
    deep_toml = tmp_path / "deep.toml"
    deep_toml.write_text("a = " + "[" * 5000 + "]" * 5000)
    code, _, err = cli_main(capsys, "convert", weights, tmp_path / "o.npz", "--spec", deep_toml)
    assert code == 2
    assert_one_line(err, "nested 5000 levels deep")
    proc = run_cli("convert", weights, tmp_path / "o.npz", "--spec", "/dev/zero", timeout=30)
    assert proc.returncode == 2
    assert_one_line(proc.stderr, "not a regular file")
    assert not (tmp_path / "o.npz").exists()


def test_fifo_input_does_not_hang(tmp_path):
    fifo = fifo_canary(tmp_path, "in.npz")
    for args in (
        ["inspect", fifo],
        ["convert", fifo, tmp_path / "o.npz"],
        ["migrate", fifo, "-o", tmp_path / "o.keras"],
    ):
        proc = run_cli(*args, timeout=30)
        assert proc.returncode == 2, proc.stderr
        assert_one_line(proc.stderr, "not a regular file")


# --------------------------------------------------------------------------- bad input is exit 2, one line


def keras_file_as_weights(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", "{}")
        zf.writestr("config.json", "{}")
        zf.writestr("model.weights.h5", b"\x89HDF")
    return path, "a Keras 3 .keras model"


def text_member(tmp_path):
    path = tmp_path / "t.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("notes.txt", "hello")
    return path, "'notes.txt' is not a .npy array"


def object_array(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, a=np.array([{"x": 1}], dtype=object))
    return path, "pickled Python objects"


def config_variant(change, message):
    def build(tmp_path):
        path = small_keras1(tmp_path / "m.h5")
        with h5py.File(path, "a") as f:
            config = json.loads(f.attrs["model_config"])
            result = change(config, f)
            if result is not None:
                config = result
            f.attrs["model_config"] = json.dumps(config).encode()
        return path, message

    return build


def _set(index, key, value):
    def change(config, f):
        config["config"][index]["config"][key] = value

    return change


def _layer_config_list(config, f):
    config["config"][1]["config"] = ["flat"]


def _weight_names(value):
    def change(config, f):
        f["model_weights/dense"].attrs["weight_names"] = value

    return change


def _version(config, f):
    f.attrs["keras_version"] = b"\xff\xfe1.2"


def _dropout(p):
    def change(config, f):
        config["config"].insert(1, {"class_name": "Dropout", "config": {"name": "drop", "p": p}})

    return change


#: bad configs that only the migration plan refuses: inspect and convert still read the weights
PLAN_ONLY = {"Dropout p abc", "Dropout p null"}

BAD_INPUTS = {
    "keras file as weights": keras_file_as_weights,
    "text member": text_member,
    "object array": object_array,
    "Dropout p abc": config_variant(_dropout("abc"), "p must be a number in [0, 1)"),
    "Dropout p null": config_variant(_dropout(None), "p must be a number in [0, 1)"),
    "batch_input_shape null": config_variant(_set(0, "batch_input_shape", None), "batch_input_shape"),
    "batch_input_shape 5": config_variant(_set(0, "batch_input_shape", 5), "batch_input_shape"),
    "batch_input_shape strings": config_variant(
        _set(0, "batch_input_shape", [None, "a", "b"]), "batch_input_shape"
    ),
    "batch_input_shape floats": config_variant(
        _set(0, "batch_input_shape", [None, 1.5, 8, 8]), "batch_input_shape"
    ),
    "layer config a list": config_variant(_layer_config_list, "a config object"),
    "weight_names numbers": config_variant(
        _weight_names(np.array([1, 2])), "layer 'dense': weight_names must be a list of names"
    ),
    "keras_version not UTF-8": config_variant(_version, "not UTF-8 text"),
    "unsafe layer name": config_variant(_set(1, "name", "../../x"), "not a safe array name"),
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_is_exit_2_with_one_line(tmp_path, capsys, kind):
    path, message = BAD_INPUTS[kind](tmp_path)
    before = snapshot(tmp_path)
    if kind in PLAN_ONLY:
        code, out, _ = cli_main(capsys, "inspect", path)
        assert code == 0 and "cannot migrate: " in out and f"layer 'drop' (Dropout): {message}" in out
        commands = [["migrate", path, "-o", tmp_path / "o.keras"]]
    else:
        commands = [
            ["inspect", path],
            ["convert", path, tmp_path / "o.npz"],
            ["migrate", path, "-o", tmp_path / "o.keras"],
        ]
    for args in commands:
        code, _, err = cli_main(capsys, *args)
        assert code == 2, err
        assert_one_line(err)
        if args[0] != "migrate" or kind in PLAN_ONLY or "batch_input_shape" in kind:
            assert message in err, err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "name, message",
    [
        ("../../escape", "'../../escape' is not a safe array name"),
        ("/etc/evil", "'/etc/evil' is not a safe array name"),
        ("a//b", "'a//b' is not a safe array name"),
        ("a\\b", "is not a safe array name"),
        ("", "'' is not a safe array name"),
        (".", "'.' is not a safe array name"),
        ("x" * 100_000, "(100000 characters) is not a safe array name"),
    ],
)
def test_unsafe_spec_names_are_refused(tmp_path, capsys, name, message):
    weights = tmp_path / "w.npz"
    np.savez(weights, np.ones((2, 1, 3, 3), np.float32))
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"arrays": {"arr_0": {"role": "conv_kernel", "name": name}}}))
    before = snapshot(tmp_path)
    code, _, err = cli_main(capsys, "convert", weights, tmp_path / "o.npz", "--spec", spec)
    assert code == 2
    assert_one_line(err, message)
    assert snapshot(tmp_path) == before


def test_unsafe_names_from_a_file_are_not_written(tmp_path, capsys):
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as zf:
        with zf.open("../../escape.npy", "w") as fh:
            np.lib.format.write_array(fh, np.ones(3, np.float32))
    assert list(load_weights(path).arrays) == ["../../escape"]  # reading is harmless
    code, _, err = cli_main(capsys, "convert", path, tmp_path / "o.npz")
    assert code == 2
    assert_one_line(err, "'../../escape' is not a safe array name")
    assert sorted(os.listdir(tmp_path)) == ["evil.npz"]


def test_long_messages_are_cut_to_one_line_of_300_characters(tmp_path, capsys):
    weights = tmp_path / "w.npz"
    np.savez(weights, np.ones((2, 1, 3, 3), np.float32))
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"arrays": {"arr_0": {"role": "x\n" * 500}}}))
    code, _, err = cli_main(capsys, "convert", weights, tmp_path / "o.npz", "--spec", spec)
    assert code == 2
    assert_one_line(err, "role must be one of")


# --------------------------------------------------------------------------- outputs


def test_no_input_is_ever_the_output(tmp_path, capsys):
    weights = tmp_path / "w.npz"
    np.savez(weights, np.ones((2, 1, 3, 3), np.float32))
    spec = tmp_path / "spec.npz"
    spec.write_text(json.dumps({"arrays": {"arr_0": {"role": "conv_kernel"}}}))
    before = snapshot(tmp_path)
    code, _, err = cli_main(capsys, "convert", weights, spec, "--spec", spec, "--force")
    assert code == 2
    assert_one_line(err, "is also an input")
    link = tmp_path / "link.npz"
    link.symlink_to(spec)
    code, _, err = cli_main(capsys, "convert", weights, link, "--spec", spec, "--force")
    assert code == 2
    assert_one_line(err, "is also an input")
    link.unlink()
    assert snapshot(tmp_path) == before


def test_a_dangling_symlink_counts_as_existing(tmp_path, capsys):
    weights = tmp_path / "w.npz"
    np.savez(weights, np.ones(3, np.float32))
    out = tmp_path / "o.npz"
    out.symlink_to(tmp_path / "nowhere.npz")
    code, _, err = cli_main(capsys, "convert", weights, out)
    assert code == 2
    assert_one_line(err, "already exists (a symlink to nothing)", "--force")
    assert out.is_symlink() and os.readlink(out) == str(tmp_path / "nowhere.npz")
    assert not (tmp_path / "nowhere.npz").exists()


def test_force_keeps_the_file_mode(tmp_path, capsys):
    weights = tmp_path / "w.npz"
    np.savez(weights, np.ones(3, np.float32))
    out = tmp_path / "o.npz"
    out.write_bytes(b"old")
    out.chmod(0o600)
    code, _, err = cli_main(capsys, "convert", weights, out, "--force")
    assert code == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert np.array_equal(np.load(out)["arr_0"], np.ones(3, np.float32))
    fresh = tmp_path / "fresh.npz"
    code, _, _ = cli_main(capsys, "convert", weights, fresh)
    umask = os.umask(0)
    os.umask(umask)
    assert code == 0 and stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask


_SLOW_WRITE = textwrap.dedent(
    """
    import sys, time
    import legacyconv.io.npz as npz
    from legacyconv import cli

    def slow(weights, path):
        with open(path, "wb") as fh:
            fh.write(b"x" * 100000)
        print("writing", flush=True)
        time.sleep(60)

    npz.write_npz = slow
    sys.exit(cli.main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize("signame, code", [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)])
def test_signals_leave_no_temp_file(tmp_path, signame, code):
    weights = tmp_path / "w.npz"
    np.savez(weights, np.ones(3, np.float32))
    before = snapshot(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITE, "convert", str(weights), str(tmp_path / "o.npz")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    try:
        assert proc.stdout.readline().strip() == "writing"
        assert any(name.endswith(".tmp") for name in os.listdir(tmp_path))  # mid-write
        proc.send_signal(getattr(signal, signame))
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------------- check


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    keras = pytest.importorskip("tensorflow").keras
    inputs = keras.Input((4,), name="input")
    outputs = keras.layers.Dense(2, name="dense")(inputs)
    model = keras.Model(inputs, outputs)
    model.set_weights([np.ones((4, 2), np.float32), np.zeros(2, np.float32)])
    path = tmp_path_factory.mktemp("check") / "tiny.keras"
    model.save(path)
    return path


def _reference(tmp_path, output, x=None):
    x = np.ones((3, 4), np.float32) if x is None else x
    path = tmp_path / "ref.npz"
    np.savez(path, input=x, output=output)
    return path


@pytest.mark.parametrize(
    "output, why",
    [
        (np.full((3, 2), np.nan, np.float32), "6 NaN/Inf placed differently"),
        (np.array([[4, np.inf], [4, 4], [4, 4]], np.float32), "1 NaN/Inf placed differently"),
        (np.array([[np.inf, -np.inf]] * 3, np.float32), "6 NaN/Inf placed differently"),
    ],
)
def test_check_fails_on_non_finite_references(tmp_path, capsys, tiny_model, output, why):
    code, out, _ = cli_main(capsys, "check", tiny_model, _reference(tmp_path, output), "--no-progress")
    assert code == 1
    assert "FAIL" in out and why in out and "PASS" not in out


@pytest.mark.parametrize(
    "x, output, message",
    [
        (np.ones((0, 4), np.float32), np.ones((0, 2), np.float32), "holds 0 samples"),
        (np.ones((3, 4), np.float32), np.full((3, 2), 4 + 1j, np.complex64), "(complex)"),
        (np.ones((3, 4), np.float32), np.full((3, 2), "4"), "not a numeric array"),
    ],
)
def test_check_refuses_empty_complex_and_text_references(tmp_path, capsys, tiny_model, x, output, message):
    code, out, err = cli_main(capsys, "check", tiny_model, _reference(tmp_path, output, x), "--no-progress")
    assert code == 2 and out == ""
    assert_one_line(err, message)


def test_check_files_that_are_not_what_they_say(tmp_path, capsys, tiny_model):
    good = _reference(tmp_path, np.full((3, 2), 4, np.float32))
    empty = tmp_path / "empty.keras"
    empty.write_bytes(b"")
    code, _, err = cli_main(capsys, "check", empty, good, "--no-progress")
    assert code == 2
    assert_one_line(err, "is empty, not a Keras model file")
    h5 = tmp_path / "ref.h5"
    with h5py.File(h5, "w") as f:
        f["input"] = np.ones((3, 4), np.float32)
    code, _, err = cli_main(capsys, "check", tiny_model, h5, "--no-progress")
    assert code == 2
    assert_one_line(err, "is an HDF5 file, not an .npz")
    assert "pickle" not in err
    code, out, err = cli_main(
        capsys, "check", tiny_model, good, "--json", "/dev/full", "--force", "--no-progress"
    )
    assert code == 2 and "PASS" not in out and out == ""
    assert_one_line(err, "not a regular file")
    code, out, _ = cli_main(capsys, "check", tiny_model, good, "--no-progress")
    assert code == 0 and "PASS" in out


def test_a_full_disk_is_one_sentence(tmp_path, capsys, monkeypatch):
    import legacyconv.io.npz as npz

    def full(weights, path):
        Path(path).write_bytes(b"partial")
        raise OSError(
            "Unable to synchronously write data (file write failed: time = Wed Dec  2 05:00:00 2026, "
            "filename = '/x/.o.h5.tmp', file descriptor = 3, errno = 28, error message = 'No space left "
            "on device', buf = 0x55d0c8a2c7a0, total write size = 8388608, bytes this sub-write = 8388608, "
            "bytes actually written = 18446744073709551615, offset = 0)"
        )

    monkeypatch.setattr(npz, "write_npz", full)
    weights = tmp_path / "w.npz"
    np.savez(weights, np.ones(3, np.float32))
    before = snapshot(tmp_path)
    code, _, err = cli_main(capsys, "convert", weights, tmp_path / "o.npz")
    assert code == 2
    assert_one_line(err, "cannot write", "No space left on device")
    assert "buf = " not in err
    assert snapshot(tmp_path) == before


def test_check_walks_the_hdf5_inside_a_keras_file(tmp_path, tiny_model):
    canary = fifo_canary(tmp_path)
    hostile = tmp_path / "hostile.keras"
    with zipfile.ZipFile(tiny_model) as src, zipfile.ZipFile(hostile, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "model.weights.h5":
                buf = io.BytesIO(data)
                with h5py.File(buf, "r+") as f:
                    f["stolen"] = h5py.ExternalLink(str(canary), "/w")
                data = buf.getvalue()
            dst.writestr(info, data)
    reference = _reference(tmp_path, np.full((3, 2), 4, np.float32))
    before = snapshot(tmp_path)
    proc = run_cli("check", hostile, reference, "--no-progress", timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert_one_line(proc.stderr, "model.weights.h5: /stolen is an external link to")  # before TF loads
    assert snapshot(tmp_path) == before


def test_a_nested_model_config_is_named_not_an_internal_error(tmp_path, capsys):
    path = small_keras1(tmp_path / "m.h5")
    with h5py.File(path, "a") as f:
        config = json.loads(f.attrs["model_config"])
        config["config"].append(
            {"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {}}]}
        )
        f.attrs["model_config"] = json.dumps(config).encode()
    code, _, err = cli_main(capsys, "inspect", path)
    assert code == 2  # nested Sequential models are supported (issue 10); this one has no name
    assert_one_line(err, "layer #3 (Sequential) has no name")
