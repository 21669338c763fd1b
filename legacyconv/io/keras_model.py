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

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import LegacyconvError
from ._atomic import PathLike

if TYPE_CHECKING:
    from .limits import ReadLimits

__all__ = [
    "KerasFile",
    "check_model_config",
    "is_keras_json",
    "keras_file_from_h5",
    "legacy_model_kind",
    "read_keras_file",
]


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


def _text_attr(obj: Any, key: str, where: str) -> str | None:
    from .hdf5 import read_attr

    value = read_attr(obj, key, where)
    if value is not None and not isinstance(value, str):
        raise LegacyconvError(f"{where}: attribute {key!r} must be text. Received: {str(value)[:60]}")
    return value


def _load_json(text: Any, where: str) -> Any:
    from .limits import check_json_text

    if not isinstance(text, str):
        raise LegacyconvError(f"{where} must be JSON text. Received: {type(text).__name__}")
    check_json_text(text.encode("utf8"), where)
    try:
        return json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        raise LegacyconvError(f"{where} is not valid JSON: {exc}") from None


_MODEL_CLASSES = ("Sequential", "Model")


def check_model_config(config: Any, where: str) -> None:
    """Check the structure of a Keras model config (JSON types and names) before anything reads it.

    Every layer entry is an object with a ``class_name`` and a ``config`` object (a list only for a
    Keras-1 nested ``Sequential``), a name that is a safe array name, and a ``batch_input_shape``
    (if any) of positive sizes or nulls within the read limits. Nested models are checked too.
    What a layer's arguments mean is the frontends' business (:mod:`legacyconv.frontends`).

    >>> check_model_config({"class_name": "Sequential", "config": [{"class_name": "Dense", "config": []}]}, "m")
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: m: layer #0 (Dense): its config must be a config object (a JSON object). Received: a list
    """
    from .limits import check_feature_shape
    from .names import check_array_name

    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise LegacyconvError(f"{where}: a model config must be an object with a class_name")
    body = config.get("config")
    if isinstance(body, dict):
        entries = body.get("layers")
    else:
        entries = body if config["class_name"] == "Sequential" else None
    if not isinstance(entries, list):
        raise LegacyconvError(f"{where}: the {config['class_name']} config has no list of layers")
    for i, entry in enumerate(entries):
        cls = entry.get("class_name") if isinstance(entry, dict) else None
        if not isinstance(cls, str):
            raise LegacyconvError(
                f"{where}: layer #{i} must be an object with a class_name. Received: {entry!r:.80}"
            )
        cfg = entry.get("config")
        if isinstance(cfg, list) and cls == "Sequential":  # Keras 1 saved a nested Sequential as its list
            name = entry.get("name")
        elif isinstance(cfg, dict):
            name = entry.get("name", cfg.get("name"))
        else:
            kind = "a list" if isinstance(cfg, list) else type(cfg).__name__
            raise LegacyconvError(
                f"{where}: layer #{i} ({cls}): its config must be a config object (a JSON object). Received: {kind}"
            )
        if name is None:
            raise LegacyconvError(f"{where}: layer #{i} ({cls}) has no name")
        check_array_name(name, f"{where}: layer #{i} ({cls}) name", nested=False)
        if cls in _MODEL_CLASSES:
            check_model_config({"class_name": cls, "config": cfg}, f"{where}: nested model {name!r}")
            continue
        shape = cfg.get("batch_input_shape") if isinstance(cfg, dict) else None
        if isinstance(cfg, dict) and "batch_input_shape" in cfg:
            if (
                not isinstance(shape, list)
                or len(shape) < 2
                or not all(s is None or (type(s) is int and s > 0) for s in shape)
            ):
                raise LegacyconvError(
                    f"{where}: layer {name!r} ({cls}): batch_input_shape must be a list of positive integers "
                    f"or nulls. Received: batch_input_shape={shape!r:.80}"
                )
            check_feature_shape(shape[1:], f"{where}: layer {name!r} input")


def is_keras_json(path: PathLike) -> bool:
    """True if ``path`` starts like a JSON object (a ``model.to_json()`` file)."""
    try:
        with open(os.fspath(path), "rb") as fh:
            head = fh.read(64).lstrip()
    except OSError:
        return False
    return head.startswith(b"{")


def _read_weight_groups(root: Any, where: str) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Per layer (``layer_names``, else the groups), its weights (``weight_names``) in file order,
    read through :mod:`legacyconv.io.hdf5`'s checked accessors (the file was walked before)."""
    from .hdf5 import group_at, read_dataset, read_names
    from .names import check_array_name

    names = read_names(root, "layer_names", where) if "layer_names" in root.attrs else list(root.keys())
    out: dict[str, list[tuple[str, np.ndarray]]] = {}
    for layer in names:
        check_array_name(layer, f"{where}: layer name", nested=False)
        if layer not in root:
            raise LegacyconvError(f"{where}: layer {layer!r} is listed in layer_names but has no group")
        group = group_at(root, layer, where)
        items = []
        for wname in read_names(group, "weight_names", f"{where}: layer {layer!r}"):
            check_array_name(wname, f"{where}: weight name of layer {layer!r}")
            if wname not in group:
                raise LegacyconvError(
                    f"{where}: weight {wname!r} of layer {layer!r} is listed but missing from the file"
                )
            arr = read_dataset(group, wname, where)
            if arr.dtype.kind not in "biuf":
                raise LegacyconvError(f"{where}: weight {wname!r} has dtype {arr.dtype}, not numeric")
            items.append((str(wname), arr))
        out[str(layer)] = items
    return out


@contextlib.contextmanager
def _walked_h5(path: str, limits: ReadLimits | None) -> Iterator[Any]:
    """The open HDF5 file, walked first (no links out, sizes within ``limits``)."""
    from .hdf5 import _opened, check_hdf5_file
    from .limits import Budget

    with _opened(path, path) as fh:
        check_hdf5_file(fh, path, Budget(path, limits))
        yield fh


def read_keras_file(
    path: PathLike, weights: PathLike | None = None, *, limits: ReadLimits | None = None
) -> KerasFile:
    """Read a Keras model: a ``model.save()`` HDF5 file, or a JSON architecture plus ``weights``.

    A weights-only HDF5 file is returned with ``config=None`` (the caller says what is missing).
    HDF5 files are walked before anything is read (:func:`legacyconv.io.hdf5.check_hdf5_file`:
    no links out of the file, declared sizes within ``limits``); JSON text is size-checked.

    Raises
    ------
    LegacyconvError
        A JSON architecture without ``weights``, a file that is not a Keras file, unreadable data.
    """
    from .inputs import as_path, check_input_file, read_input_bytes

    path = check_input_file(as_path(path, "the model file"), "model file")
    if weights is not None:
        check_input_file(as_path(weights, "weights"), "weights file")
    if is_keras_json(path):
        from .limits import resolve_limits

        data = read_input_bytes(path, "architecture", resolve_limits(limits).max_text_bytes)
        try:
            text = data.decode("utf8")
        except UnicodeDecodeError as exc:
            raise LegacyconvError(f"{path} is not UTF-8 JSON text: {exc}") from None
        doc = _load_json(text, path)
        if not isinstance(doc, dict) or "class_name" not in doc or "config" not in doc:
            raise LegacyconvError(f"{path} is JSON but not a Keras model.to_json() architecture")
        check_model_config(doc, path)
        if weights is None:
            raise LegacyconvError(
                f"{path} is a Keras architecture (model.to_json()) without weights: pass the weights "
                "file written by save_weights() too (--weights FILE)"
            )
        wpath = os.fspath(weights)
        with _walked_h5(wpath, limits) as fh:
            groups = _read_weight_groups(fh, wpath)
            wversion = _text_attr(fh, "keras_version", wpath)
            wbackend = _text_attr(fh, "backend", wpath)
        version = doc.get("keras_version") or wversion
        backend = doc.get("backend") or wbackend
        return KerasFile(path, doc, version, backend, groups, wpath)
    with _walked_h5(path, limits) as fh:
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
    """The :class:`KerasFile` of an open ``h5py.File`` that :func:`legacyconv.io.hdf5.check_hdf5_file`
    has walked, or None if it is not a Keras file."""
    from .hdf5 import group_at, read_attr

    version, backend = _text_attr(fh, "keras_version", path), _text_attr(fh, "backend", path)
    if "model_config" in fh.attrs:
        config = _load_json(read_attr(fh, "model_config", path), f"{path}: model_config")
        check_model_config(config, f"{path}: model_config")
        groups = (
            _read_weight_groups(group_at(fh, "model_weights", path), path) if "model_weights" in fh else {}
        )
        return KerasFile(path, config, version, backend, groups)
    if "layer_names" in fh.attrs:
        return KerasFile(path, None, version, backend, _read_weight_groups(fh, path))
    return None


def legacy_model_kind(path: str) -> str | None:
    """What the HDF5 model file ``path`` is when Keras 3 cannot load it right: ``'a Keras 1.2.2
    model'`` (Keras 3 refuses Keras 1 files) or ``'a Keras 2.2.5 model saved with the Theano
    backend'`` (Keras 3 loads those without flipping their kernels); None for anything else (a
    ``.keras`` zip, Keras 2 on TensorFlow, a weights-only file). Reads only the file's root
    attributes; the caller has walked the file (:func:`legacyconv.io.hdf5.check_model_file`)."""
    from .hdf5 import _opened
    from .weights import sniff_file

    if sniff_file(path, "model") != "hdf5":
        return None
    with _opened(path, path) as fh:
        if "model_config" not in fh.attrs:
            return None
        version, backend = _text_attr(fh, "keras_version", path), _text_attr(fh, "backend", path)
    try:
        major = KerasFile(path, None, version, backend).major
    except LegacyconvError:  # not a version number: let Keras say what it makes of the file
        return None
    if major == 1:
        return f"a Keras {version or '1'} model"
    if major == 2 and backend == "theano":
        return f"a Keras {version} model saved with the Theano backend"
    return None
