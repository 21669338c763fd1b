"""``.npz`` weight files: named arrays, or Lasagne's positional ``arr_0, arr_1, …``.

Lasagne projects saved their parameters with ``np.savez(f, *lasagne.layers.get_all_param_values(net))``:
the names are only positions, so what each array is must come from a spec (see
:mod:`legacyconv.convert`). Object arrays are never loaded (``allow_pickle=False``).
"""

from __future__ import annotations

import math
import re
import struct
import zipfile
import zlib
from typing import Any

import numpy as np

from .._errors import LegacyconvError
from .limits import Budget, ReadLimits
from .names import check_array_name
from .weights import WeightFile

__all__ = ["read_npz", "write_npz"]

_POSITIONAL = re.compile(r"arr_(\d+)")
_CHUNK = 1 << 24


def _positional_order(names: list[str]) -> list[str] | None:
    matches = [_POSITIONAL.fullmatch(n) for n in names]
    if not names or not all(matches):
        return None
    indices = sorted(int(m.group(1)) for m in matches if m)
    if indices != list(range(len(names))):
        return None
    return [f"arr_{i}" for i in indices]


def read_npz(path: str, limits: ReadLimits | None = None) -> WeightFile:
    """Read an ``.npz`` file into a :class:`WeightFile`; see :func:`legacyconv.io.load_weights`.

    Every member's ``.npy`` header is parsed (with NumPy's size-limited header parser) and its
    declared size checked against the :mod:`~legacyconv.io.limits` before any data is
    decompressed; a member must hold exactly its array (the zip's CRC is checked to the end).
    """
    budget = Budget(path, limits)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = _members(zf, path, budget)
            _check_layout(zf, path)
            headers = [(info, _header(zf, info, path)) for info in infos]
            for info, (name, shape, _, dtype) in headers:
                budget.take(name, shape, dtype, info.compress_size)
            arrays = {
                name: _read_member(zf, info, path, shape, fortran, dtype)
                for info, (name, shape, fortran, dtype) in headers
            }
    except LegacyconvError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, NotImplementedError) as exc:
        raise LegacyconvError(
            f"{path} is not a readable .npz file (truncated or corrupt): {_short(exc)}"
        ) from None
    except (RuntimeError, ValueError, struct.error, OverflowError) as exc:  # encrypted, bad zip64 fields, ...
        raise LegacyconvError(f"{path} is not a readable .npz file: {_short(exc)}") from None
    if len(arrays) != len(headers):
        raise LegacyconvError(
            f"{path} holds two members with the same name; it is not an .npz numpy.savez wrote"
        )
    names = list(arrays)
    order = _positional_order(names)
    if order is not None:
        arrays = {name: arrays[name] for name in order}
    if not arrays:
        raise LegacyconvError(f"{path} holds no arrays")
    if order is not None:
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


def _members(zf: zipfile.ZipFile, path: str, budget: Budget) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > budget.limits.max_members:
        raise LegacyconvError(f"{path} has {len(infos)} members, more than {budget.limits.max_members}")
    names = {i.filename for i in infos}
    if len(names) != len(infos):
        # numpy.savez never writes a name twice; a damaged directory can, and one array would hide
        # the other
        raise LegacyconvError(f"{path} is a damaged zip: its directory names a member twice")
    for info in infos:
        if not info.filename.endswith(".npy"):
            what = (
                " (a Keras 3 .keras model: give it to `check`, not as weights)"
                if "config.json" in names
                else ""
            )
            raise LegacyconvError(
                f"{path} is a zip file but not an .npz written by numpy.savez: its member "
                f"{info.filename[:80]!r} is not a .npy array{what}"
            )
    return infos


def _check_layout(zf: zipfile.ZipFile, path: str) -> None:
    """The members must tile the file from byte 0 to the central directory, as numpy.savez writes
    them: a damaged directory that silently drops a member (a flipped size field) is refused."""
    fp = zf.fp
    if fp is None:  # closed: nothing to check
        return
    pos = 0
    for info in sorted(zf.infolist(), key=lambda i: i.header_offset):
        fp.seek(info.header_offset)
        head = fp.read(30)
        if info.header_offset != pos or len(head) != 30 or head[:4] != b"PK\x03\x04":
            break
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        pos = info.header_offset + 30 + name_len + extra_len + info.compress_size
        if info.flag_bits & 0x08:  # a data descriptor follows the data (zip64 sizes when large)
            fp.seek(pos)
            signed = fp.read(4) == b"PK\x07\x08"
            pos += (4 if signed else 0) + (20 if info.compress_size >= 0xFFFFFFFF else 12)
    else:
        if pos == zf.start_dir:
            return
    raise LegacyconvError(
        f"{path} is a damaged zip: its directory does not account for every byte before it "
        "(a member was lost or moved)"
    )


def _parse_header(fh: Any) -> tuple[Any, bool, np.dtype]:
    """Magic and header of a ``.npy`` stream, with NumPy's parser (limited to 10,000 header bytes)."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fh)
    raise ValueError(f".npy format version {version} is not one numpy.savez writes for numeric arrays")


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _header(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str
) -> tuple[str, tuple[int, ...], bool, np.dtype]:
    name = info.filename[: -len(".npy")]
    with zf.open(info) as fh:
        try:
            shape, fortran, dtype = _parse_header(fh)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
            raise LegacyconvError(
                f"{path}: member {info.filename[:80]!r} has no valid .npy header: {_short(exc)}"
            ) from None
    if dtype.hasobject:
        raise LegacyconvError(
            f"{path} holds pickled Python objects (an object array, {name!r}); legacyconv never unpickles "
            "(it can run arbitrary code): re-save the weights as plain numeric arrays"
        )
    if dtype.kind not in "biufc" or dtype.fields is not None or dtype.subdtype is not None:
        raise LegacyconvError(f"{path}: array {name!r} has dtype {dtype}, not a numeric array")
    return name, tuple(int(s) for s in shape), bool(fortran), dtype


def _read_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    path: str,
    shape: tuple[int, ...],
    fortran: bool,
    dtype: np.dtype,
) -> np.ndarray:
    nbytes = math.prod(shape) * dtype.itemsize
    buf = np.empty(nbytes, dtype=np.uint8)
    with zf.open(info) as fh:
        _parse_header(fh)
        pos = 0
        while pos < nbytes:
            chunk = fh.read(min(_CHUNK, nbytes - pos))
            if not chunk:
                raise LegacyconvError(
                    f"{path}: array {info.filename[:-4][:80]!r} is truncated: {pos} of {nbytes} data bytes"
                )
            buf[pos : pos + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            pos += len(chunk)
        if fh.read(1):  # reading to the end also makes zipfile check the member's CRC
            raise LegacyconvError(f"{path}: member {info.filename[:80]!r} holds more bytes than its array")
    return buf.view(dtype).reshape(shape, order="F" if fortran else "C")


def write_npz(weights: WeightFile, path: str) -> None:
    """Write the arrays of ``weights`` under their names to ``path`` (an uncompressed ``.npz``).

    Written like ``numpy.savez`` (one ``NAME.npy`` member per array) but without its keyword
    restrictions and with ``allow_pickle=False``, so no name is reserved.
    """
    with zipfile.ZipFile(path, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in weights.arrays.items():
            check_array_name(name, "array name")
            with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(arr), allow_pickle=False)
