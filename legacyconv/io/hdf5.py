"""HDF5 weight files: Keras models and Keras-1 weights, files legacyconv wrote, any other HDF5.

``h5py`` is imported only here, when an HDF5 file is read or written.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import numpy as np

from .._errors import LegacyconvError
from .weights import ArrayInfo, WeightFile

__all__ = ["HDF5_INSTALL_HINT", "decode_attr", "import_h5py", "read_hdf5", "write_hdf5"]

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


def decode_attr(value: Any) -> Any:
    """HDF5 attributes come back as bytes, numpy strings or arrays of them: return str / list of str.

    >>> decode_attr(b"1.2.2"), decode_attr(np.array([b"a", b"b"], dtype=object))
    ('1.2.2', ['a', 'b'])
    """
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf8")
    if isinstance(value, np.ndarray):
        return [decode_attr(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [decode_attr(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_hdf5(path: str) -> WeightFile:
    """Read an HDF5 weight file into a :class:`WeightFile`; see :func:`legacyconv.io.load_weights`."""
    h5py = import_h5py()
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise LegacyconvError(f"{path} is not a readable HDF5 file (truncated or corrupt): {exc}") from None
    try:
        with fh:
            return _read_open(fh, path)
    except (OSError, KeyError, RuntimeError) as exc:
        raise LegacyconvError(
            f"{path}: cannot read the HDF5 contents (truncated or corrupt): {exc}"
        ) from None


def _read_open(fh: Any, path: str) -> WeightFile:
    attrs = fh.attrs
    version = decode_attr(attrs["keras_version"]) if "keras_version" in attrs else None
    if "legacyconv_format" in attrs:
        return _read_legacyconv(fh, path)
    is_keras1 = version is None or str(version).startswith("1.")
    if "model_config" in attrs and "model_weights" in fh:
        # the roles of a Keras model's arrays come from its layers' translators
        from ..frontends.weights import keras_weight_file
        from .keras_model import keras_file_from_h5

        kfile = keras_file_from_h5(fh, path)
        assert kfile is not None
        return keras_weight_file(kfile)
    if "layer_names" in attrs and is_keras1:
        return _read_keras1_weights_only(fh, path, version)
    arrays: dict[str, np.ndarray] = {}

    dataset_type = import_h5py().Dataset

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, dataset_type):
            arrays[name] = obj[()]

    fh.visititems(visit)
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
    for layer in decode_attr(fh.attrs["layer_names"]):
        group = fh[layer]
        for wname in decode_attr(group.attrs.get("weight_names", [])):
            arrays[f"{layer}/{wname}"] = group[wname][()]
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
    names = json.loads(decode_attr(fh.attrs["names"]))
    arrays: dict[str, np.ndarray] = {}
    info: dict[str, ArrayInfo] = {}
    for name in names:
        ds = fh[name]
        arrays[name] = ds[()]
        a = {k: decode_attr(v) for k, v in ds.attrs.items()}
        feature = a.get("feature_shape")
        info[name] = ArrayInfo(
            role=str(a.get("role", "unknown")),
            layout=str(a.get("layout", "unknown")),
            layer=a.get("layer") or None,
            filter_flip=bool(a.get("filter_flip", True)),
            feature_shape=tuple(int(v) for v in json.loads(feature)) if feature else None,
        )
    source = decode_attr(fh.attrs.get("source", "written by legacyconv"))
    return WeightFile(path, "legacyconv-hdf5", f"legacyconv HDF5: {source}", _numeric(arrays, path), info)


def write_hdf5(weights: WeightFile, path: str) -> None:
    """Write ``weights`` to ``path`` as HDF5: one dataset per array (names with ``/`` nest), with
    its role, layout and Theano call arguments as attributes, so :func:`read_hdf5` reads it back."""
    h5py = import_h5py()
    with h5py.File(path, "w") as fh:
        fh.attrs["legacyconv_format"] = _FORMAT_TAG
        fh.attrs["names"] = json.dumps(list(weights.arrays))
        fh.attrs["source"] = weights.source
        for name, arr in weights.arrays.items():
            ds = fh.create_dataset(name, data=np.asarray(arr))
            info = weights.info[name]
            ds.attrs["role"] = info.role
            ds.attrs["layout"] = info.layout
            ds.attrs["layer"] = info.layer or ""
            ds.attrs["filter_flip"] = bool(info.filter_flip)
            ds.attrs["feature_shape"] = json.dumps(list(info.feature_shape)) if info.feature_shape else ""
