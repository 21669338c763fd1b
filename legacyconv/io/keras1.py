"""Keras-1 model files, and what each layer of a Keras-1 model computed on the Theano backend.

A file written by ``model.save()`` of Keras 1.x holds ``model_config`` (JSON with Keras-1 layer
names and arguments), ``keras_version`` and ``model_weights/<layer>/<weight>`` in Theano layout.
:func:`parse_keras1` reads it; :func:`plan_keras1` walks the layers and turns each one into
explicit Theano arithmetic: the exact zero padding of every convolution and pooling (Keras 1's
``border_mode='same'`` is Theano's ``'half'`` followed by a crop for even kernels, and its 'same'
pooling pads and then crops), output shapes, and the ``(channels, rows, cols)`` feature map in
front of the first Dense layer after a Flatten. It needs neither Theano nor TensorFlow: the
migration (:func:`legacyconv.migrate_keras1`) and the weight conversion both use it.

What Keras 1.2.2 did on Theano (``keras/backend/theano_backend.py``):

- ``conv2d``: ``T.nnet.conv2d(x, W, border_mode={'same': 'half'}.get(mode, mode), subsample=...,
  filter_dilation=...)`` with Theano's default ``filter_flip=True``; for ``'same'``, an axis whose
  kernel size is even is then cropped to its first ``ceil(n / stride)`` outputs.
- ``pool2d``: ``pool_2d(x, ws, stride, ignore_border=True, pad=p, mode='max' or
  'average_exc_pad')`` with ``p = ws - 2`` for odd ``ws > 2`` and ``ws - 1`` otherwise for
  ``'same'`` (0 for ``'valid'``), then for ``'same'`` a crop to ``ceil(n / stride)``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from .._errors import LegacyconvError
from .hdf5 import group_at, read_attr, read_dataset, read_names
from .limits import check_feature_shape, check_json_text
from .names import check_array_name
from .weights import ArrayInfo, WeightFile

__all__ = [
    "KERAS1_ACTIVATIONS",
    "SUPPORTED_LAYERS",
    "Keras1Layer",
    "Keras1Model",
    "LayerPlan",
    "UnsupportedLayerError",
    "conv_pads_keras1",
    "keras1_weight_file",
    "parse_keras1",
    "plan_keras1",
    "pool_geometry_keras1",
]

SUPPORTED_LAYERS = (
    "Convolution2D",
    "AtrousConvolution2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "ZeroPadding2D",
    "Flatten",
    "Dense",
    "Activation",
    "Dropout",
)
KERAS1_ACTIVATIONS = (
    "linear",
    "relu",
    "tanh",
    "sigmoid",
    "hard_sigmoid",
    "softmax",
    "softplus",
    "softsign",
    "elu",
)

Shape = tuple[Optional[int], ...]


class UnsupportedLayerError(LegacyconvError, NotImplementedError):
    """A Keras-1 layer (or argument) that legacyconv cannot migrate: the message names it."""


@dataclass
class Keras1Layer:
    """One layer of a Keras-1 model file: its name, class, config and weights (in file order)."""

    name: str
    class_name: str
    config: dict[str, Any]
    weights: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class LayerPlan:
    """What one Keras-1 layer computed, in explicit Theano terms (channels-first shapes).

    ``kind`` is one of ``'conv'``, ``'pool'``, ``'zero_padding'``, ``'flatten'``, ``'dense'``,
    ``'activation'``, ``'dropout'``. Convolutions carry the Theano ``kernel`` (out, in, rows,
    cols), ``bias``, ``pads`` as explicit ``((top, bottom), (left, right))`` (crop included),
    ``subsample`` and ``dilation``; poolings carry ``pool_size``, ``strides``, Theano's ``pool_pad``,
    ``pool_mode`` and the ``crop`` applied after; dense layers carry ``kernel`` (in, out) and the
    ``feature_shape`` (channels, rows, cols) that was flattened in front of them, if any.
    """

    name: str
    class_name: str
    kind: str
    input_shape: Shape
    output_shape: Shape
    activation: str = "linear"
    kernel: np.ndarray | None = None
    bias: np.ndarray | None = None
    kernel_name: str | None = None
    bias_name: str | None = None
    pads: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
    subsample: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pool_size: tuple[int, int] = (1, 1)
    strides: tuple[int, int] = (1, 1)
    pool_pad: tuple[int, int] = (0, 0)
    pool_mode: str = "max"
    crop: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
    feature_shape: tuple[int, int, int] | None = None
    rate: float = 0.0

    def describe(self) -> str:
        """One line of what the layer does, for ``inspect``."""
        act = "" if self.activation == "linear" else f", {self.activation}"
        if self.kind == "conv" and self.kernel is not None:
            o, _, r, c = self.kernel.shape
            dil = f", dilation {self.dilation}" if self.dilation != (1, 1) else ""
            return f"{o} filters {r}x{c}, pads {self.pads}, subsample {self.subsample}{dil}{act}"
        if self.kind == "pool":
            crop = f", then crop {self.crop}" if self.crop != ((0, 0), (0, 0)) else ""
            return f"{self.pool_mode} {self.pool_size} stride {self.strides} pad {self.pool_pad}{crop}"
        if self.kind == "zero_padding":
            return f"pads {self.pads}"
        if self.kind == "dense" and self.kernel is not None:
            after = f", rows in flatten order of {self.feature_shape}" if self.feature_shape else ""
            return f"{self.kernel.shape[0]} -> {self.kernel.shape[1]}{after}{act}"
        if self.kind == "activation":
            return self.activation
        if self.kind == "dropout":
            return f"rate {self.rate} (identity at inference)"
        return ""


@dataclass
class Keras1Model:
    """A Keras-1 Sequential model read from a file: layers in order and the input shape."""

    path: str | None
    keras_version: str
    class_name: str
    layers: list[Keras1Layer]
    input_shape: Shape | None
    backend: str | None = None
    _plan: list[LayerPlan] | None = field(default=None, repr=False)

    def plan(self) -> list[LayerPlan]:
        """:func:`plan_keras1` of this model (computed once)."""
        if self._plan is None:
            self._plan = plan_keras1(self)
        return self._plan

    @property
    def dim_orderings(self) -> list[str]:
        """The ``dim_ordering`` values the layers of the model use (``'th'`` = channels-first)."""
        found = {str(layer.config["dim_ordering"]) for layer in self.layers if "dim_ordering" in layer.config}
        return sorted(found)

    @property
    def source(self) -> str:
        backend = self.backend or "theano (assumed: Keras 1 does not record the backend)"
        orderings = ", ".join(repr(o) for o in self.dim_orderings) or "not recorded"
        return (
            f"Keras {self.keras_version} {self.class_name} model, dim_ordering {orderings}, backend {backend}"
        )

    def summary(self) -> str:
        """The layer table ``inspect`` prints."""
        try:
            plans: list[LayerPlan | None] = list(self.plan())
            problem = None
        except LegacyconvError as exc:
            plans, problem = [None] * len(self.layers), str(exc)
        rows = [("layer", "class", "output (channels-first)", "computes")]
        for layer, plan in zip(self.layers, plans):
            rows.append(
                (
                    layer.name,
                    layer.class_name,
                    str(plan.output_shape) if plan else "?",
                    plan.describe() if plan else "",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [f"input shape (channels-first): {self.input_shape}"]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        if problem:
            lines.append(f"cannot migrate: {problem}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        try:
            plans: list[LayerPlan | None] = list(self.plan())
        except LegacyconvError:
            plans = [None] * len(self.layers)
        return {
            "keras_version": self.keras_version,
            "input_shape": list(self.input_shape) if self.input_shape else None,
            "layers": [
                {
                    "name": layer.name,
                    "class_name": layer.class_name,
                    "output_shape": list(plan.output_shape) if plan else None,
                    "computes": plan.describe() if plan else None,
                }
                for layer, plan in zip(self.layers, plans)
            ],
        }


def parse_keras1(fh: Any, path: str | None = None) -> Keras1Model:
    """Read a Keras-1 model from an open ``h5py.File`` written by Keras-1 ``model.save()``.

    ``fh`` must have been walked by :func:`legacyconv.io.hdf5.check_hdf5_file` (as
    :func:`legacyconv.io.load_weights` does); the config's types are checked here, at the boundary.
    """
    where = path or "the file"
    text = read_attr(fh, "model_config", where)
    if not isinstance(text, str):
        raise LegacyconvError(f"{where}: model_config must be JSON text. Received: {type(text).__name__}")
    check_json_text(text.encode("utf8"), f"{where}: model_config")
    try:
        config = json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        raise LegacyconvError(f"{where}: model_config is not valid JSON: {exc}") from None
    version = read_attr(fh, "keras_version", where, "1.x")
    backend = read_attr(fh, "backend", where)
    for key, value in (("keras_version", version), ("backend", backend)):
        if value is not None and not isinstance(value, str):
            raise LegacyconvError(f"{where}: attribute {key!r} must be text. Received: {str(value)[:60]}")
    class_name = config.get("class_name") if isinstance(config, dict) else None
    body = config.get("config") if isinstance(config, dict) else None
    if isinstance(body, dict):
        body = body.get("layers")
    if not isinstance(body, list) or not all(isinstance(c, dict) and "class_name" in c for c in body):
        raise LegacyconvError(
            f"{where}: model_config has no list of layers; it is not a Keras-1 model config"
        )
    group = group_at(fh, "model_weights", where)
    layers = []
    for entry in body:
        cls = entry["class_name"]
        cfg = entry.get("config") or {}
        if isinstance(cfg, list) and cls in ("Sequential", "Model"):
            raise UnsupportedLayerError(
                f"{where}: model_config holds a nested {cls} model (Keras 1 stores it without its name); "
                "nested models are not supported by the Keras-1 reader"
            )
        if not isinstance(cls, str) or not isinstance(cfg, dict):
            raise LegacyconvError(
                f"{where}: a layer of model_config must have a class name and a config object. "
                f"Received: class_name={str(cls)[:40]}, config of type {type(cfg).__name__}"
            )
        name = cfg.get("name")
        if not isinstance(name, str):
            raise LegacyconvError(f"{where}: a {cls[:40]} layer in model_config has no name")
        check_array_name(name, f"{where}: layer name", nested=False)
        weights: dict[str, np.ndarray] = {}
        if name in group:
            lg = group_at(group, name, where)
            for wname in read_names(lg, "weight_names", f"{where}: layer {name!r}"):
                check_array_name(wname, f"{where}: weight name of layer {name!r}")
                if wname not in lg:
                    raise LegacyconvError(
                        f"{where}: weight {wname!r} of layer {name!r} is listed but missing from the file"
                    )
                weights[wname] = read_dataset(lg, wname, where)
        layers.append(Keras1Layer(name, cls, cfg, weights))
    shape = None
    if layers and "batch_input_shape" in layers[0].config:
        batch_shape = layers[0].config["batch_input_shape"]
        if not isinstance(batch_shape, list) or len(batch_shape) < 2:
            raise LegacyconvError(
                f"{where}: batch_input_shape must be a list (batch, ...) of sizes. Received: {str(batch_shape)[:60]}"
            )
        check_feature_shape(batch_shape[1:], f"{where}: batch_input_shape[1:]")
        shape = tuple(batch_shape[1:])
    return Keras1Model(path, str(version), str(class_name), layers, shape, backend)


# ---------------------------------------------------------------------------------------------
# geometry


def _ceil_div(n: int, s: int) -> int:
    return -(-n // s)


def conv_pads_keras1(
    n: int | None, kernel: int, border_mode: str, stride: int, dilation: int
) -> tuple[int, int]:
    """Explicit ``(low, high)`` zero padding that reproduces a Keras-1 Theano convolution on one axis.

    'valid' is no padding, 'full' is ``dilated_kernel - 1`` on both sides, and 'same' is
    Theano's 'half' (``dilated_kernel // 2`` on both sides) followed by Keras 1's crop to the
    first ``ceil(n / stride)`` outputs, which only removes padding at the high end.

    >>> conv_pads_keras1(12, 3, "same", 1, 1)   # odd kernel: plain 'half'
    (1, 1)
    >>> conv_pads_keras1(12, 4, "same", 1, 1)   # even kernel: 'half' pads 2, the crop undoes one
    (2, 1)
    >>> conv_pads_keras1(7, 4, "same", 2, 1)
    (2, 1)
    """
    dk = (kernel - 1) * dilation + 1
    if border_mode == "valid":
        return (0, 0)
    if border_mode == "full":
        return (dk - 1, dk - 1)
    if border_mode != "same":
        raise LegacyconvError(
            f"border_mode must be one of {{'valid', 'same', 'full'}}. Received: border_mode={border_mode!r}"
        )
    low = dk // 2
    if n is None:
        if stride != 1:
            raise LegacyconvError(
                "border_mode='same' with a stride needs a known input size: Keras 1 cropped the output "
                f"to ceil(n / stride). Received: n=None, stride={stride}"
            )
        return (low, max(0, dk - 1 - low))
    # the last of the ceil(n/s) windows starts at (ceil(n/s) - 1) * s in padded coordinates
    high = max(0, (_ceil_div(n, stride) - 1) * stride + dk - n - low)
    return (low, high)


def pool_geometry_keras1(
    n: int | None, pool: int, border_mode: str, stride: int
) -> tuple[int, int | None, int]:
    """Theano ``pad``, Theano output size and crop of Keras-1 pooling on one axis.

    >>> pool_geometry_keras1(12, 2, "valid", 2)
    (0, 6, 0)
    >>> pool_geometry_keras1(12, 2, "same", 2)   # pad 1: windows start at -1, 1, 3, ...
    (1, 7, 1)
    """
    if border_mode == "valid":
        pad = 0
    elif border_mode == "same":
        pad = pool - 2 if pool > 2 and pool % 2 == 1 else pool - 1
    else:
        raise LegacyconvError(
            f"pooling border_mode must be one of {{'valid', 'same'}}. Received: border_mode={border_mode!r}"
        )
    if n is None:
        if border_mode == "same" and stride != 1:
            raise LegacyconvError(
                "pooling with border_mode='same' and a stride needs a known input size: Keras 1 "
                f"cropped the output to ceil(n / stride). Received: n=None, stride={stride}"
            )
        crop = 0 if border_mode == "valid" else (2 * pad - pool + 1)
        return pad, None, crop
    out = (n + 2 * pad - pool) // stride + 1
    crop = out - _ceil_div(n, stride) if border_mode == "same" else 0
    return pad, out, crop


# ---------------------------------------------------------------------------------------------
# the plan


def _pair(value: Any, what: str, layer: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
    ):
        raise LegacyconvError(
            f"layer {layer!r}: {what} must be two positive integers. Received: {what}={value!r}"
        )
    return (int(value[0]), int(value[1]))


def _positive(cfg: dict[str, Any], key: str, layer: Keras1Layer) -> int:
    value = cfg.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise LegacyconvError(
            f"layer {layer.name!r} ({layer.class_name}): {key} must be a positive integer. Received: {key}={value!r}"
        )
    return value


def _zero_padding(value: Any, layer: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras-1 ZeroPadding2D ``padding``: (rows, cols), (top, bottom, left, right) or a dict."""
    if isinstance(value, dict):
        unknown = set(value) - {"top_pad", "bottom_pad", "left_pad", "right_pad"}
        if unknown:
            raise LegacyconvError(
                f"layer {layer!r}: padding dict keys must be in {{'top_pad', 'bottom_pad', 'left_pad', "
                f"'right_pad'}}. Received: {sorted(unknown)}"
            )
        t, b, left, r = (value.get(k, 0) for k in ("top_pad", "bottom_pad", "left_pad", "right_pad"))
    elif isinstance(value, int) and not isinstance(value, bool):
        t = b = left = r = value
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        t = b = value[0]
        left = r = value[1]
    elif isinstance(value, (list, tuple)) and len(value) == 4:
        t, b, left, r = value
    else:
        raise LegacyconvError(
            f"layer {layer!r}: padding must be 2 or 4 integers or a dict of top_pad/bottom_pad/left_pad/"
            f"right_pad. Received: padding={value!r}"
        )
    pads = (t, b, left, r)
    if not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in pads):
        raise LegacyconvError(
            f"layer {layer!r}: paddings must be non-negative integers. Received: padding={value!r}"
        )
    return ((t, b), (left, r))


def _activation(cfg: dict[str, Any], layer: str, cls: str) -> str:
    act = cfg.get("activation") or "linear"
    if act not in KERAS1_ACTIVATIONS:
        raise UnsupportedLayerError(
            f"layer {layer!r} ({cls}): activation {act!r} is not supported; supported: "
            f"{', '.join(KERAS1_ACTIVATIONS)}"
        )
    return str(act)


def _weights(layer: Keras1Layer, count: int) -> list[tuple[str, np.ndarray]]:
    items = list(layer.weights.items())
    if len(items) != count:
        raise LegacyconvError(
            f"layer {layer.name!r} ({layer.class_name}) should have {count} weight array(s) in the file, "
            f"found {len(items)}: {[n for n, _ in items]}"
        )
    return items


def _check_shape(layer: Keras1Layer, wname: str, arr: np.ndarray, expected: tuple[Any, ...]) -> None:
    if arr.shape != expected:
        raise LegacyconvError(
            f"layer {layer.name!r} ({layer.class_name}): weight {wname!r} has shape {arr.shape} but the "
            f"model config and the layer's input expect {expected}"
        )


def _need_image(layer: Keras1Layer, shape: Shape) -> tuple[Any, Any, Any]:
    if len(shape) != 3:
        raise LegacyconvError(
            f"layer {layer.name!r} ({layer.class_name}) needs a (channels, rows, cols) input; its input "
            f"has shape {shape}"
        )
    ordering = layer.config.get("dim_ordering", "th")
    if ordering != "th":
        raise UnsupportedLayerError(
            f"layer {layer.name!r} ({layer.class_name}) uses dim_ordering={ordering!r}; only Theano's "
            "'th' (channels-first) ordering is supported"
        )
    return shape[0], shape[1], shape[2]


def _plan_conv(layer: Keras1Layer, shape: Shape) -> LayerPlan:
    cfg, name = layer.config, layer.name
    channels, rows, cols = _need_image(layer, shape)
    nb_filter, kr, kc = (_positive(cfg, key, layer) for key in ("nb_filter", "nb_row", "nb_col"))
    subsample = _pair(cfg.get("subsample", (1, 1)), "subsample", name)
    dilation = (1, 1)
    if layer.class_name == "AtrousConvolution2D":
        dilation = _pair(cfg.get("atrous_rate", (1, 1)), "atrous_rate", name)
    mode = cfg.get("border_mode", "valid")
    use_bias = bool(cfg.get("bias", True))
    items = _weights(layer, 2 if use_bias else 1)
    (wname, kernel) = items[0]
    _check_shape(layer, wname, kernel, (nb_filter, channels, kr, kc))
    bias, bname = None, None
    if use_bias:
        bname, bias = items[1]
        _check_shape(layer, bname, bias, (nb_filter,))
    pads = tuple(
        conv_pads_keras1(n, k, mode, s, d) for n, k, s, d in zip((rows, cols), (kr, kc), subsample, dilation)
    )
    out: list[int | None] = []
    for n, k, p, s, d in zip((rows, cols), (kr, kc), pads, subsample, dilation):
        if n is None:
            out.append(None)
            continue
        size = (n + p[0] + p[1] - ((k - 1) * d + 1)) // s + 1
        if size < 1:
            raise LegacyconvError(
                f"layer {name!r} ({layer.class_name}): the kernel {(kr, kc)} with dilation {dilation} does "
                f"not fit the input {shape} with border_mode={mode!r}"
            )
        out.append(size)
    return LayerPlan(
        name,
        layer.class_name,
        "conv",
        shape,
        (nb_filter, out[0], out[1]),
        activation=_activation(cfg, name, layer.class_name),
        kernel=kernel,
        bias=bias,
        kernel_name=wname,
        bias_name=bname,
        pads=pads,  # type: ignore[arg-type]
        subsample=subsample,
        dilation=dilation,
    )


def _plan_pool(layer: Keras1Layer, shape: Shape) -> LayerPlan:
    cfg, name = layer.config, layer.name
    channels, rows, cols = _need_image(layer, shape)
    pool = _pair(cfg.get("pool_size", (2, 2)), "pool_size", name)
    strides = _pair(cfg.get("strides") or pool, "strides", name)
    mode = cfg.get("border_mode", "valid")
    _weights(layer, 0)
    geo = [pool_geometry_keras1(n, w, mode, s) for n, w, s in zip((rows, cols), pool, strides)]
    out = tuple(None if o is None else o - c for (_, o, c) in geo)
    if any(o is not None and o < 1 for o in out):
        raise LegacyconvError(
            f"layer {name!r} ({layer.class_name}): pool_size {pool} is larger than its input {shape}"
        )
    return LayerPlan(
        name,
        layer.class_name,
        "pool",
        shape,
        (channels,) + out,
        pool_size=pool,
        strides=strides,
        pool_pad=(geo[0][0], geo[1][0]),
        pool_mode="max" if layer.class_name == "MaxPooling2D" else "average_exc_pad",
        crop=((0, geo[0][2]), (0, geo[1][2])),
    )


def _plan_dense(layer: Keras1Layer, shape: Shape, flattened: Shape | None) -> LayerPlan:
    cfg, name = layer.config, layer.name
    if len(shape) != 1:
        raise LegacyconvError(
            f"layer {name!r} (Dense) needs a flat (features,) input; its input has shape {shape} "
            "(Keras 1 Dense layers follow a Flatten)"
        )
    units = _positive(cfg, "output_dim", layer)
    use_bias = bool(cfg.get("bias", True))
    items = _weights(layer, 2 if use_bias else 1)
    wname, kernel = items[0]
    _check_shape(layer, wname, kernel, (shape[0], units))
    bias, bname = None, None
    if use_bias:
        bname, bias = items[1]
        _check_shape(layer, bname, bias, (units,))
    feature = None
    if flattened is not None:
        if any(v is None for v in flattened):
            raise LegacyconvError(
                f"layer {name!r} (Dense) follows a Flatten of a feature map of unknown size {flattened}; "
                "its rows cannot be re-ordered"
            )
        feature = tuple(int(v) for v in flattened)  # type: ignore[arg-type]
    return LayerPlan(
        name,
        "Dense",
        "dense",
        shape,
        (units,),
        activation=_activation(cfg, name, "Dense"),
        kernel=kernel,
        bias=bias,
        kernel_name=wname,
        bias_name=bname,
        feature_shape=feature,  # type: ignore[arg-type]
    )


def plan_keras1(model: Keras1Model) -> list[LayerPlan]:
    """Walk a Keras-1 Sequential model and return a :class:`LayerPlan` per layer.

    Raises :class:`UnsupportedLayerError` naming the first layer (and its class) that cannot be
    reproduced, and :class:`LegacyconvError` when the weights in the file do not fit the config.
    """
    if model.class_name != "Sequential":
        raise UnsupportedLayerError(
            f"only Keras-1 Sequential models are supported; this model is a {model.class_name!r}"
        )
    if model.backend not in (None, "theano"):
        raise UnsupportedLayerError(
            f"the model was saved with the {model.backend!r} backend; only Theano models are supported"
        )
    if model.input_shape is None:
        raise LegacyconvError(
            "the first layer of the model has no batch_input_shape, so the input shape is unknown"
        )
    shape: Shape = tuple(model.input_shape)
    flattened: Shape | None = None
    plans = []
    for layer in model.layers:
        cls, cfg = layer.class_name, layer.config
        if cls not in SUPPORTED_LAYERS:
            raise UnsupportedLayerError(
                f"layer {layer.name!r} ({cls}) is not supported by the Keras-1 migration; "
                f"supported layers: {', '.join(SUPPORTED_LAYERS)}"
            )
        if cls in ("Convolution2D", "AtrousConvolution2D"):
            plan = _plan_conv(layer, shape)
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            plan = _plan_pool(layer, shape)
        elif cls == "ZeroPadding2D":
            channels, rows, cols = _need_image(layer, shape)
            _weights(layer, 0)
            pads = _zero_padding(cfg.get("padding", (1, 1)), layer.name)
            out = (
                channels,
                None if rows is None else rows + sum(pads[0]),
                None if cols is None else cols + sum(pads[1]),
            )
            plan = LayerPlan(layer.name, cls, "zero_padding", shape, out, pads=pads)
        elif cls == "Flatten":
            _weights(layer, 0)
            if len(shape) == 3:
                flattened = shape
            size = None if any(v is None for v in shape) else math.prod(shape)  # type: ignore[arg-type]
            plan = LayerPlan(layer.name, cls, "flatten", shape, (size,))
        elif cls == "Dense":
            plan = _plan_dense(layer, shape, flattened)
            flattened = None
        elif cls == "Activation":
            _weights(layer, 0)
            act = _activation(cfg, layer.name, cls)
            if act == "softmax" and len(shape) != 1:
                raise UnsupportedLayerError(
                    f"layer {layer.name!r} (Activation): softmax on a {len(shape) + 1}-d tensor; Keras 1 "
                    "on Theano only applied softmax to 2-d (batch, features) tensors"
                )
            plan = LayerPlan(layer.name, cls, "activation", shape, shape, activation=act)
        else:  # Dropout
            _weights(layer, 0)
            rate = cfg.get("p", 0.0)
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
                raise LegacyconvError(
                    f"layer {layer.name!r} (Dropout): p must be a number in [0, 1). Received: p={rate!r}"
                )
            plan = LayerPlan(layer.name, cls, "dropout", shape, shape, rate=float(rate))
        check_feature_shape(plan.output_shape, f"layer {layer.name!r} ({cls}) output")
        plans.append(plan)
        shape = plan.output_shape
    return plans


def keras1_weight_file(model: Keras1Model) -> WeightFile:
    """The weights of a Keras-1 model as a :class:`WeightFile` named ``layer/weight``, with roles.

    Roles come from the plan: conv kernels (Theano layout, used with ``filter_flip=True``),
    biases, and dense kernels with the feature map flattened in front of them. If the model
    cannot be planned (an unsupported layer), kernels get roles from their layer class only and
    the reason is kept in ``notes``.
    """
    arrays: dict[str, np.ndarray] = {}
    info: dict[str, ArrayInfo] = {}
    notes = []
    try:
        by_layer = {p.name: p for p in model.plan()}
    except LegacyconvError as exc:
        by_layer = {}
        notes.append(f"cannot migrate this model: {exc}")
    for layer in model.layers:
        plan = by_layer.get(layer.name)
        for wname, arr in layer.weights.items():
            key = f"{layer.name}/{wname}"
            arrays[key] = arr
            if plan is not None and wname == plan.kernel_name and plan.kind == "conv":
                info[key] = ArrayInfo("conv_kernel", "theano", layer.name, filter_flip=True)
            elif plan is not None and wname == plan.kernel_name and plan.kind == "dense":
                info[key] = ArrayInfo("dense_kernel", "theano", layer.name, feature_shape=plan.feature_shape)
            elif arr.ndim <= 1:
                info[key] = ArrayInfo("bias", "any", layer.name)
            elif layer.class_name in ("Convolution2D", "AtrousConvolution2D") and arr.ndim == 4:
                info[key] = ArrayInfo("conv_kernel", "theano", layer.name, filter_flip=True)
            else:
                info[key] = ArrayInfo("unknown", "theano", layer.name)
    return WeightFile(model.path, "keras1-hdf5", model.source, arrays, info, keras1=model, notes=notes)
