"""HDF5 weight files: Keras models and Keras-1 weights, files legacyconv wrote, any other HDF5.

This is the one module that opens HDF5 files (``h5py`` is imported only here, when one is read
or written). Before anything is read, :func:`check_hdf5_file` walks every link of the file:
external links, soft links that leave it, external storage and virtual datasets are refused,
and every dataset's declared size is checked against :mod:`legacyconv.io.limits`. Readers then
go through :func:`group_at`, :func:`read_dataset` and :func:`read_attr`.
"""

from __future__ import annotations

import contextlib
import json
import zipfile
import zlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np

from .._errors import LegacyconvError
from .limits import Budget, LimitError, ReadLimits, declared_bytes, format_bytes
from .names import check_array_name
from .weights import ArrayInfo, WeightFile

__all__ = [
    "HDF5_INSTALL_HINT",
    "check_hdf5_file",
    "check_model_file",
    "decode_attr",
    "group_at",
    "import_h5py",
    "read_attr",
    "read_dataset",
    "read_hdf5",
    "read_names",
    "write_hdf5",
]

HDF5_INSTALL_HINT = 'pip install "legacyconv[hdf5]"'
_FORMAT_TAG = "legacyconv-weights"


def import_h5py() -> ModuleType:
    """Import and return ``h5py``, or raise ImportError with the install hint."""
    try:
        import h5py
    except ImportError as exc:
        raise ImportError(
            f"reading and writing HDF5 files needs h5py, which could not be imported ({exc}). "
            f"Install it with: {HDF5_INSTALL_HINT}"
        ) from None
    return h5py


def decode_attr(value: Any, what: str = "an HDF5 attribute") -> Any:
    """HDF5 attributes come back as bytes, numpy strings or arrays of them: return str / list of str.

    >>> decode_attr(b"1.2.2"), decode_attr(np.array([b"a", b"b"], dtype=object))
    ('1.2.2', ['a', 'b'])
    """
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return value.decode("utf8")
        except UnicodeDecodeError:
            raise LegacyconvError(f"{what} is not UTF-8 text: {bytes(value[:40])!r}") from None
    if isinstance(value, str):  # h5py hands undecodable bytes back as lone surrogates
        try:
            value.encode("utf8")
        except UnicodeEncodeError:
            shown = value.encode("utf8", "surrogateescape")[:40]
            raise LegacyconvError(f"{what} is not UTF-8 text: {shown!r}") from None
        return value
    if isinstance(value, np.ndarray):
        return [decode_attr(v, what) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [decode_attr(v, what) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_hdf5(path: str, limits: ReadLimits | None = None) -> WeightFile:
    """Read an HDF5 weight file into a :class:`WeightFile`; see :func:`legacyconv.io.load_weights`.

    :func:`check_hdf5_file` walks the whole file first: nothing is read if any link leaves the
    file, any dataset is virtual or stored outside it, or the declared sizes break the limits.
    """
    with _opened(path, path) as fh:
        check_hdf5_file(fh, path, Budget(path, limits))
        return _read_open(fh, path)


@contextlib.contextmanager
def _opened(source: Any, where: str) -> Iterator[Any]:
    """``h5py.File(source, 'r')``, with h5py's many exception types turned into one-line errors."""
    h5py = import_h5py()
    try:
        fh = h5py.File(source, "r")
    except OSError as exc:
        raise LegacyconvError(
            f"{where} is not a readable HDF5 file (truncated or corrupt): {_short(exc)}"
        ) from None
    try:
        with fh:
            yield fh
    except LegacyconvError:
        raise
    except (OSError, KeyError, RuntimeError, ValueError, TypeError, AttributeError, IndexError) as exc:
        # h5py raises all of these for damaged metadata; the message says which
        raise LegacyconvError(
            f"{where}: cannot read the HDF5 contents (truncated or corrupt): {type(exc).__name__}: {_short(exc)}"
        ) from None


def check_model_file(path: str, limits: ReadLimits | None = None) -> None:
    """Walk the HDF5 in a Keras model file before Keras opens it: an HDF5 file itself, or the
    ``.h5`` members of a ``.keras`` zip (Keras reads its weights from ``model.weights.h5``).
    Refused as in :func:`check_hdf5_file`; no array data is read."""
    from .weights import sniff_file

    kind = sniff_file(path, "model")
    if kind == "hdf5":
        with _opened(path, path) as fh:
            check_hdf5_file(fh, path, Budget(path, limits))
    elif kind == "npz":  # any zip
        try:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if info.filename.endswith(".h5"):
                        where = f"{path}:{info.filename[:80]}"
                        with zf.open(info) as member, _opened(member, where) as fh:
                            check_hdf5_file(fh, where, Budget(where, limits))
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            raise LegacyconvError(f"{path} is not a readable Keras model file: {_short(exc)}") from None


def _short(exc: BaseException, limit: int = 150) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------
# the checked walker: every object of the file is visited through its links before any data is read


def check_hdf5_file(fh: Any, path: str, budget: Budget) -> None:
    """Walk every link of an open HDF5 file and refuse what could read outside it or bomb memory.

    Refused, naming the object: external links; soft links that do not resolve, through hard
    links only, to an object in the file; datasets with external storage or a virtual layout;
    attributes larger than the text limit. Every dataset's declared size is taken from
    ``budget`` (:class:`~legacyconv.io.limits.Budget`: the per-array, total and stored-ratio
    limits). Only metadata is read.
    """
    h5py = import_h5py()
    seen = {h5py.h5o.get_info(fh.id).addr}
    _check_attrs(fh, "/", path, budget)
    stack: list[tuple[str, Any]] = [("", fh)]
    count = 0
    while stack:
        prefix, group = stack.pop()
        for name in group:
            count += 1
            if count > budget.limits.max_members:
                raise LimitError(f"{path} has more than {budget.limits.max_members} HDF5 objects")
            full = f"{prefix}/{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise LegacyconvError(
                    f"{path}: {full} is an external link to {link.filename!r}:{link.path}; legacyconv "
                    "reads nothing outside the file it is given"
                )
            if isinstance(link, h5py.SoftLink):
                _resolve_soft_link(fh, group, link.path, full, path)
                continue  # its target is checked where its hard link is
            if not isinstance(link, h5py.HardLink):
                raise LegacyconvError(
                    f"{path}: {full} is a {type(link).__name__}, not a link legacyconv follows"
                )
            obj = group[name]
            addr = h5py.h5o.get_info(obj.id).addr
            if addr in seen:
                continue
            seen.add(addr)
            _check_attrs(obj, full, path, budget)
            if isinstance(obj, h5py.Group):
                stack.append((full, obj))
            elif isinstance(obj, h5py.Dataset):
                _check_dataset(obj, full, path, budget)


def _resolve_soft_link(fh: Any, group: Any, target: str, full: str, path: str) -> None:
    h5py = import_h5py()
    current = fh if target.startswith("/") else group
    parts = [p for p in target.split("/") if p and p != "."]
    for part in parts:
        ok = isinstance(current, h5py.Group) and isinstance(current.get(part, getlink=True), h5py.HardLink)
        if not ok:
            raise LegacyconvError(
                f"{path}: {full} is a soft link to {target!r}, which does not lead through hard links to an "
                "object in the file; legacyconv does not follow it"
            )
        current = current[part]


def _check_attrs(obj: Any, full: str, path: str, budget: Budget) -> None:
    limit = budget.limits.max_text_bytes
    for name in obj.attrs:
        aid = obj.attrs.get_id(name)
        shape = aid.shape or ()
        declared = max(_storage_size(aid), declared_bytes(shape, aid.dtype))
        if declared > limit:
            raise LimitError(
                f"{path}: attribute {name[:60]!r} of {full} declares {format_bytes(declared)}, over the limit of "
                f"{format_bytes(limit)} for an attribute"
            )


def _storage_size(oid: Any) -> int:
    try:
        return int(oid.get_storage_size())
    except RuntimeError:  # h5py reports a size of 0 (nothing stored) as an error
        return 0


def _check_dataset(ds: Any, full: str, path: str, budget: Budget) -> None:
    h5py = import_h5py()
    dcpl = ds.id.get_create_plist()
    if dcpl.get_layout() == h5py.h5d.VIRTUAL:
        raise LegacyconvError(
            f"{path}: dataset {full} is a virtual dataset (its data lives in other files); legacyconv "
            "reads nothing outside the file it is given"
        )
    if dcpl.get_external_count() > 0:
        target = decode_attr(dcpl.get_external(0)[0])
        raise LegacyconvError(
            f"{path}: dataset {full} stores its data in the external file {target!r}; legacyconv reads "
            "nothing outside the file it is given"
        )
    stored = _storage_size(ds.id)
    budget.take(full, ds.shape or (), ds.dtype, stored, ds.chunks)


def group_at(parent: Any, name: str, where: str) -> Any:
    """The group ``parent[name]`` of a file :func:`check_hdf5_file` has walked, or a one-line error."""
    obj = parent.get(name)
    if not isinstance(obj, import_h5py().Group):
        raise LegacyconvError(f"{where}: {name!r} is {_kind(obj)}, not a group")
    return obj


def read_dataset(parent: Any, name: str, where: str) -> np.ndarray:
    """The numeric dataset ``parent[name]`` of a file :func:`check_hdf5_file` has walked."""
    obj = parent.get(name)
    if not isinstance(obj, import_h5py().Dataset):
        raise LegacyconvError(f"{where}: {name!r} is {_kind(obj)}, not a dataset")
    if obj.dtype.kind not in "biufc" or obj.dtype.fields is not None:
        raise LegacyconvError(f"{where}: dataset {name!r} has dtype {obj.dtype}, not a numeric weight array")
    return np.asarray(obj[()])


def read_attr(obj: Any, name: str, where: str, default: Any = None) -> Any:
    """Attribute ``name`` of ``obj`` decoded by :func:`decode_attr` (``default`` if absent)."""
    if name not in obj.attrs:
        return default
    return decode_attr(obj.attrs[name], f"{where}: attribute {name!r}")


def _kind(obj: Any) -> str:
    if obj is None:
        return "missing"
    return f"a {type(obj).__name__.lower()}"


def _read_open(fh: Any, path: str) -> WeightFile:
    version = read_attr(fh, "keras_version", path)
    if "legacyconv_format" in fh.attrs:
        return _read_legacyconv(fh, path)
    is_keras1 = version is None or str(version).startswith("1.")
    if "model_config" in fh.attrs and "model_weights" in fh:
        # the roles of a Keras model's arrays come from its layers' translators
        from ..frontends.weights import keras_weight_file
        from .keras_model import keras_file_from_h5

        kfile = keras_file_from_h5(fh, path)
        assert kfile is not None
        return keras_weight_file(kfile)
    if "layer_names" in fh.attrs and is_keras1:
        return _read_keras1_weights_only(fh, path, version)
    names: list[str] = []
    dataset_type = import_h5py().Dataset

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, dataset_type):
            names.append(name)

    fh.visititems(visit)
    arrays = {name: read_dataset(fh, name, path) for name in names}
    if not arrays:
        raise LegacyconvError(f"{path} is an HDF5 file without any datasets: no weights in it")
    source = "HDF5 datasets; the file does not say their layout"
    if version is not None:
        source = (
            f"HDF5 written by Keras {version} (not Keras 1: its layer names and layouts are not "
            "read by legacyconv); the arrays need a spec"
        )
    return WeightFile(path, "hdf5", source, _numeric(arrays, path))


def _numeric(arrays: dict[str, np.ndarray], path: str) -> dict[str, np.ndarray]:
    out = {}
    for name, arr in arrays.items():
        arr = np.asarray(arr)
        if arr.dtype.kind not in "biufc":
            raise LegacyconvError(
                f"{path}: dataset {name!r} has dtype {arr.dtype}, not a numeric weight array"
            )
        out[name] = arr
    return out


def _read_keras1_weights_only(fh: Any, path: str, version: Any) -> WeightFile:
    arrays: dict[str, np.ndarray] = {}
    for layer in read_names(fh, "layer_names", path):
        group = group_at(fh, layer, path)
        for wname in read_names(group, "weight_names", f"{path}: layer {layer!r}"):
            arrays[f"{layer}/{wname}"] = read_dataset(group, wname, path)
    if not arrays:
        raise LegacyconvError(f"{path} is a Keras weights file without any weights")
    ver = f"Keras {version}" if version else "Keras 1"
    wf = WeightFile(
        path,
        "keras1-weights-hdf5",
        f"{ver} save_weights() file (no model config: roles and layouts need a spec)",
        _numeric(arrays, path),
    )
    wf.notes.append("a weights-only file does not record the layers; a full model.save() file does")
    return wf


def _read_legacyconv(fh: Any, path: str) -> WeightFile:
    try:
        names = json.loads(read_attr(fh, "names", path))
    except (TypeError, ValueError, RecursionError):
        names = None
    arrays: dict[str, np.ndarray] = {}
    info: dict[str, ArrayInfo] = {}
    for name in _names(names, "names", path):
        arrays[name] = read_dataset(fh, name, path)
        ds = fh[name]
        a = {k: decode_attr(v, f"{path}: {name}") for k, v in ds.attrs.items()}
        feature = a.get("feature_shape")
        info[name] = ArrayInfo(
            role=str(a.get("role", "unknown")),
            layout=str(a.get("layout", "unknown")),
            layer=a.get("layer") or None,
            filter_flip=bool(a.get("filter_flip", True)),
            feature_shape=tuple(int(v) for v in json.loads(feature)) if feature else None,
        )
    source = read_attr(fh, "source", path, "written by legacyconv")
    return WeightFile(path, "legacyconv-hdf5", f"legacyconv HDF5: {source}", _numeric(arrays, path), info)


def read_names(obj: Any, attr: str, where: str) -> list[str]:
    """The list of names in attribute ``attr`` of ``obj`` (absent: empty; one name: a list of one)."""
    return _names(read_attr(obj, attr, where, []), attr, where)


def _names(value: Any, what: str, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LegacyconvError(f"{where}: {what} must be a list of names. Received: {str(value)[:80]}")
    return value


def write_hdf5(weights: WeightFile, path: str) -> None:
    """Write ``weights`` to ``path`` as HDF5: one dataset per array (names with ``/`` nest), with
    its role, layout and Theano call arguments as attributes, so :func:`read_hdf5` reads it back."""
    h5py = import_h5py()
    with h5py.File(path, "w") as fh:
        fh.attrs["legacyconv_format"] = _FORMAT_TAG
        fh.attrs["names"] = json.dumps(list(weights.arrays))
        fh.attrs["source"] = weights.source
        for name, arr in weights.arrays.items():
            check_array_name(name, "array name")
            ds = fh.create_dataset(name, data=np.asarray(arr))
            info = weights.info[name]
            ds.attrs["role"] = info.role
            ds.attrs["layout"] = info.layout
            ds.attrs["layer"] = info.layer or ""
            ds.attrs["filter_flip"] = bool(info.filter_flip)
            ds.attrs["feature_shape"] = json.dumps(list(info.feature_shape)) if info.feature_shape else ""
