"""Keras model files as they are on disk: the architecture JSON, the version attributes, the weights.

Three forms exist, for Keras 1.x and 2.x alike:

- a ``model.save()`` HDF5 file: ``model_config`` (JSON), ``keras_version``, ``backend`` (Keras 2
  only) and ``model_weights/<layer>/<weight name>``;
- a ``model.to_json()`` file (the same JSON, with ``keras_version`` and, in Keras 2, ``backend``
  inside) plus a ``save_weights()`` HDF5 file (``layer_names`` and ``<layer>/<weight name>`` at
  its root);
- the weights file alone, which does not say what the layers are.

:func:`read_keras_file` returns a :class:`KerasFile` with the decoded JSON and each layer's weights
in file order; it knows nothing about what a layer computes (that is :mod:`legacyconv.frontends`).
String attributes are read both as h5py 2 wrote them (fixed-length bytes) and as h5py 3 does.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import LegacyconvError
from ._atomic import PathLike

__all__ = ["KerasFile", "is_keras_json", "keras_file_from_h5", "read_keras_file"]


@dataclass
class KerasFile:
    """A Keras model as stored: its architecture, where it came from, and its weights.

    Attributes
    ----------
    path : str
        The architecture file (the ``.h5`` of ``model.save()`` or the ``.json``).
    config : dict or None
        The decoded model JSON (``{"class_name": ..., "config": ...}``), or None for a weights-only
        file.
    keras_version : str or None
        ``keras_version`` as recorded (Keras 1.x files written by ``save_weights()`` have none).
    backend : str or None
        ``backend`` as recorded (Keras 1 never recorded it).
    weights : dict of str to list of (str, ndarray)
        Per layer name (top-level layers, as in ``layer_names``), the layer's weights in file order
        under their full recorded names.
    weights_path : str or None
        The weights file when it is not ``path``.
    """

    path: str
    config: dict[str, Any] | None
    keras_version: str | None
    backend: str | None
    weights: dict[str, list[tuple[str, np.ndarray]]] = field(default_factory=dict)
    weights_path: str | None = None

    @property
    def major(self) -> int:
        """1 for Keras 1.x files (and files that do not record a version), else the major version."""
        version = self.keras_version or "1"
        try:
            return int(version.split(".")[0])
        except ValueError:
            raise LegacyconvError(f"{self.path}: keras_version {version!r} is not a version number") from None


def _decode(value: Any) -> Any:
    from .hdf5 import decode_attr

    return decode_attr(value)


def _attr(attrs: Any, key: str) -> str | None:
    if key not in attrs:
        return None
    value = _decode(attrs[key])
    return value if isinstance(value, str) else str(value)


def _load_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise LegacyconvError(f"{where} is not valid JSON: {exc}") from None


def is_keras_json(path: PathLike) -> bool:
    """True if ``path`` starts like a JSON object (a ``model.to_json()`` file)."""
    try:
        with open(os.fspath(path), "rb") as fh:
            head = fh.read(64).lstrip()
    except OSError:
        return False
    return head.startswith(b"{")


def _read_weight_groups(root: Any, where: str) -> dict[str, list[tuple[str, np.ndarray]]]:
    names = _decode(root.attrs["layer_names"]) if "layer_names" in root.attrs else list(root.keys())
    if isinstance(names, str):
        names = [names]
    out: dict[str, list[tuple[str, np.ndarray]]] = {}
    for layer in names:
        if layer not in root:
            raise LegacyconvError(f"{where}: layer {layer!r} is listed in layer_names but has no group")
        group = root[layer]
        wnames = _decode(group.attrs.get("weight_names", []))
        if isinstance(wnames, str):
            wnames = [wnames]
        items = []
        for wname in wnames:
            if wname not in group:
                raise LegacyconvError(
                    f"{where}: weight {wname!r} of layer {layer!r} is listed but missing from the file"
                )
            arr = np.asarray(group[wname][()])
            if arr.dtype.kind not in "biuf":
                raise LegacyconvError(f"{where}: weight {wname!r} has dtype {arr.dtype}, not numeric")
            items.append((str(wname), arr))
        out[str(layer)] = items
    return out


def _open_h5(path: str) -> Any:
    from .hdf5 import import_h5py

    h5py = import_h5py()
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise LegacyconvError(f"{path} is not a readable HDF5 file (truncated or corrupt): {exc}") from None


def read_keras_file(path: PathLike, weights: PathLike | None = None) -> KerasFile:
    """Read a Keras model: a ``model.save()`` HDF5 file, or a JSON architecture plus ``weights``.

    A weights-only HDF5 file is returned with ``config=None`` (the caller says what is missing).

    Raises
    ------
    LegacyconvError
        A JSON architecture without ``weights``, a file that is not a Keras file, unreadable data.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise LegacyconvError(f"no such file: {path}")
    if is_keras_json(path):
        with open(path, encoding="utf8") as fh:
            doc = _load_json(fh.read(), path)
        if not isinstance(doc, dict) or "class_name" not in doc or "config" not in doc:
            raise LegacyconvError(f"{path} is JSON but not a Keras model.to_json() architecture")
        if weights is None:
            raise LegacyconvError(
                f"{path} is a Keras architecture (model.to_json()) without weights: pass the weights "
                "file written by save_weights() too (--weights FILE)"
            )
        wpath = os.fspath(weights)
        with _open_h5(wpath) as fh:
            try:
                groups = _read_weight_groups(fh, wpath)
                wversion, wbackend = _attr(fh.attrs, "keras_version"), _attr(fh.attrs, "backend")
            except (OSError, KeyError, RuntimeError) as exc:
                raise LegacyconvError(f"{wpath}: cannot read the HDF5 contents: {exc}") from None
        version = doc.get("keras_version") or wversion
        backend = doc.get("backend") or wbackend
        return KerasFile(path, doc, version, backend, groups, wpath)
    with _open_h5(path) as fh:
        if weights is not None and "model_config" in fh.attrs:
            raise LegacyconvError(
                f"{path} is a full model.save() file with its own weights; do not pass --weights"
            )
        kfile = keras_file_from_h5(fh, path)
    if kfile is None:
        raise LegacyconvError(
            f"{path} is an HDF5 file but not a Keras model (no model_config, no layer_names)"
        )
    return kfile


def keras_file_from_h5(fh: Any, path: str) -> KerasFile | None:
    """The :class:`KerasFile` of an open ``h5py.File``, or None if it is not a Keras file."""
    try:
        attrs = fh.attrs
        version, backend = _attr(attrs, "keras_version"), _attr(attrs, "backend")
        if "model_config" in attrs:
            config = _load_json(_decode(attrs["model_config"]), f"{path}: model_config")
            if not isinstance(config, dict):
                raise LegacyconvError(f"{path}: model_config is not a Keras model config")
            root = fh["model_weights"] if "model_weights" in fh else None
            groups = _read_weight_groups(root, path) if root is not None else {}
            return KerasFile(path, config, version, backend, groups)
        if "layer_names" in attrs:
            return KerasFile(path, None, version, backend, _read_weight_groups(fh, path))
    except (OSError, KeyError, RuntimeError) as exc:
        raise LegacyconvError(f"{path}: cannot read the HDF5 contents: {exc}") from None
    return None
