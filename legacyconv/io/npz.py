"""``.npz`` weight files: named arrays, or Lasagne's positional ``arr_0, arr_1, …``.

Lasagne projects saved their parameters with ``np.savez(f, *lasagne.layers.get_all_param_values(net))``:
the names are only positions, so what each array is must come from a spec (see
:mod:`legacyconv.convert`). Object arrays are never loaded (``allow_pickle=False``).
"""

from __future__ import annotations

import re
import zipfile
import zlib

import numpy as np

from .._errors import LegacyconvError
from .weights import WeightFile

__all__ = ["read_npz", "write_npz"]

_POSITIONAL = re.compile(r"arr_(\d+)")


def _positional_order(names: list[str]) -> list[str] | None:
    matches = [_POSITIONAL.fullmatch(n) for n in names]
    if not names or not all(matches):
        return None
    indices = sorted(int(m.group(1)) for m in matches if m)
    if indices != list(range(len(names))):
        return None
    return [f"arr_{i}" for i in indices]


def read_npz(path: str) -> WeightFile:
    """Read an ``.npz`` file into a :class:`WeightFile`; see :func:`legacyconv.io.load_weights`."""
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            order = _positional_order(names) or names
            for name in order:
                arrays[name] = npz[name]
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "pickle" in str(exc).lower():
            raise LegacyconvError(
                f"{path} holds pickled Python objects (an object array); legacyconv never unpickles "
                "(it can run arbitrary code): re-save the weights as plain numeric arrays"
            ) from None
        raise LegacyconvError(f"{path} is not a readable .npz file: {exc}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as exc:
        raise LegacyconvError(f"{path} is not a readable .npz file (truncated or corrupt): {exc}") from None
    if not arrays:
        raise LegacyconvError(f"{path} holds no arrays")
    for name, arr in arrays.items():
        if arr.dtype.kind not in "biufc":
            raise LegacyconvError(f"{path}: array {name!r} has dtype {arr.dtype}, not a numeric weight array")
    positional = _positional_order(names) is not None
    if positional:
        fmt = "npz-positional"
        source = (
            f"positional .npz (arr_0 … arr_{len(arrays) - 1}, as Lasagne's np.savez(f, *params) wrote); "
            "the file does not say what the arrays are"
        )
    else:
        fmt, source = "npz", "named .npz arrays; the file does not say their layout"
    wf = WeightFile(path, fmt, source, arrays)
    if any(info.role == "unknown" for info in wf.info.values()):
        wf.notes.append(
            "arrays of two or more dimensions need a spec to be converted: "
            f"legacyconv inspect {path} --spec-template json > spec.json"
        )
    return wf


def write_npz(weights: WeightFile, path: str) -> None:
    """Write the arrays of ``weights`` under their names to ``path`` (an uncompressed ``.npz``).

    Written like ``numpy.savez`` (one ``NAME.npy`` member per array) but without its keyword
    restrictions and with ``allow_pickle=False``, so no name is reserved.
    """
    with zipfile.ZipFile(path, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in weights.arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(arr), allow_pickle=False)
