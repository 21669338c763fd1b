"""Byte flips and truncations of real weight files, through the readers the command uses.

The oracle is the command's: exit 0 with the same arrays, or exit 2 (a one-line error) — never
exit 3 (an internal error), never a hang, never a crash. Exceptions are mapped to exit codes as
:func:`legacyconv.cli.main` maps them. ``.npz`` members carry a CRC, so a flip that is not
refused must leave every array as it was. HDF5 files of the Keras-1 era have no checksums on
data, so there a flipped data byte may change a value: the HDF5 oracle is "exit 0 with the same
array names, or exit 2", and it runs in a subprocess so that a crash in libhdf5 fails the test
instead of killing pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legacyconv import LegacyconvError
from legacyconv.io import load_weights

ROOT = Path(__file__).resolve().parents[1]
LENET = ROOT / "legacyconv" / "examples" / "keras1_theano_lenet.h5"


def exit_code_of(path: str) -> tuple[int, dict[str, np.ndarray] | None]:
    """What ``legacyconv inspect PATH`` would exit with, and the arrays when it is 0."""
    try:
        wf = load_weights(path)
    except (LegacyconvError, NotImplementedError, ImportError, OSError):
        return 2, None
    except Exception as exc:  # what cli.main reports as an internal error
        raise AssertionError(f"exit 3: {type(exc).__name__}: {exc}") from None
    return 0, wf.arrays


def same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return list(a) == list(b) and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and np.array_equal(a[k], b[k], equal_nan=True)
        for k in a
    )


# a mutation: up to three (position, xor mask) flips, then maybe a truncation
mutations = st.tuples(
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=3),
    st.one_of(st.none(), st.floats(0, 1, exclude_max=True)),
)


def mutate(data: bytes, mutation) -> bytes:
    flips, cut = mutation
    buf = bytearray(data)
    for where, mask in flips:
        buf[int(where * len(buf))] ^= mask
    if cut is not None:
        del buf[int(cut * len(buf)) :]
    return bytes(buf)


def _npz_bytes(compressed: bool) -> bytes:
    rng = np.random.default_rng(0)
    path = os.path.join(tempfile.mkdtemp(), "w.npz")
    save = np.savez_compressed if compressed else np.savez
    save(path, rng.standard_normal((4, 2, 3, 3)).astype(np.float32), np.arange(4.0), np.array([np.nan, 1.0]))
    return Path(path).read_bytes()


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_flips_and_truncations(tmp_path, compressed):
    original = _npz_bytes(compressed)
    path = str(tmp_path / "w.npz")
    Path(path).write_bytes(original)
    code, expected = exit_code_of(path)
    assert code == 0 and expected is not None

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(mutations)
    def run(mutation):
        Path(path).write_bytes(mutate(original, mutation))
        code, arrays = exit_code_of(path)
        assert code == 2 or same_arrays(arrays, expected)

    run()


def hdf5_fuzz(source: str, max_examples: int) -> None:
    """The HDF5 fuzz body (run in a subprocess by the test below)."""
    original = Path(source).read_bytes()
    path = os.path.join(tempfile.mkdtemp(), "m.h5")
    Path(path).write_bytes(original)
    code, expected = exit_code_of(path)
    assert code == 0 and expected is not None

    @settings(max_examples=max_examples, deadline=None, database=None)
    @given(mutations)
    def run(mutation):
        Path(path).write_bytes(mutate(original, mutation))
        code, arrays = exit_code_of(path)
        assert code == 2 or list(arrays) == list(expected)

    run()


def test_hdf5_flips_and_truncations():
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'tests')!r}); import test_reader_fuzz as t; t.hdf5_fuzz({str(LENET)!r}, 120)"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_spec_flips_and_truncations(tmp_path, suffix):
    from legacyconv.convert import load_spec

    spec = {"arrays": {"arr_0": {"role": "conv_kernel", "filter_flip": True, "name": "conv1/kernel"}}}
    if suffix == ".json":
        original = json.dumps(spec).encode()
    else:
        original = b'[arrays.arr_0]\nrole = "conv_kernel"\nfilter_flip = true\nname = "conv1/kernel"\n'
    path = tmp_path / f"spec{suffix}"

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(mutations)
    def run(mutation):
        path.write_bytes(mutate(original, mutation))
        try:
            load_spec(path)  # any valid spec is fine: the spec has no checksum
        except LegacyconvError:
            pass  # exit 2; anything else is exit 3 and fails the test

    run()


def _npy_bytes(arr: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


@pytest.mark.parametrize("second", ["arr_0.npy", "arr_1/"])
def test_a_member_hidden_by_a_damaged_directory_is_refused(tmp_path, second):
    # Two flips (the central directory's name and the local header's) can make numpy.savez's
    # arr_1 a second arr_0, or a directory entry: reading on would silently lose an array.
    import warnings
    import zipfile

    path = tmp_path / "w.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("arr_0.npy", _npy_bytes(np.arange(3.0)))
            zf.writestr(second, _npy_bytes(np.ones(2)))
    code, _ = exit_code_of(str(path))
    assert code == 2
