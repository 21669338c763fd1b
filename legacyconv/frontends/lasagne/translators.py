"""One translator per mirror layer class: the graph nodes computing what the layer computed.

Weights go to the graph's canonical layouts (:mod:`legacyconv.graph.ops`): convolution kernels as
cross-correlations (flipped here when the layer had ``flip_filters=True``), transposed-convolution
kernels as the adjoint of such a correlation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import UnsupportedLayerError
from ...lasagne import nonlinearities as nl
from ...lasagne.layers import (
    BatchNormLayer,
    BiasLayer,
    ConcatLayer,
    Conv1DLayer,
    Conv2DLayer,
    Conv3DLayer,
    DenseLayer,
    DilatedConv2DLayer,
    DimshuffleLayer,
    DropoutLayer,
    ElemwiseMergeLayer,
    ElemwiseSumLayer,
    EmbeddingLayer,
    FlattenLayer,
    GaussianNoiseLayer,
    GlobalPoolLayer,
    LocalResponseNormalization2DLayer,
    NINLayer,
    NonlinearityLayer,
    PadLayer,
    ParametricRectifierLayer,
    Pool1DLayer,
    Pool2DLayer,
    Pool3DLayer,
    ReshapeLayer,
    ScaleLayer,
    SliceLayer,
    TransposedConv2DLayer,
    TransposedConv3DLayer,
    Upscale1DLayer,
    Upscale2DLayer,
    Upscale3DLayer,
)
from ...lasagne.layers.base import param_value
from . import LayerCall, translates_lasagne

Step = tuple[str, dict[str, Any], dict[str, Any]]

_ACTIVATIONS: dict[Any, dict[str, Any]] = {
    nl.rectify: {"fn": "relu"},
    nl.tanh: {"fn": "tanh"},
    nl.sigmoid: {"fn": "sigmoid"},
    nl.softplus: {"fn": "softplus"},
    nl.softmax: {"fn": "softmax", "axis": -1},
    nl.elu: {"fn": "elu", "alpha": 1.0},
    nl.selu: {"fn": "selu"},
}


def activation_steps(call: LayerCall, fn: Any) -> list[Step]:
    """The step applying a Lasagne nonlinearity ([] for the identity)."""
    if fn is nl.linear or fn is None:
        return []
    if fn in _ACTIVATIONS:
        return [("activation", dict(_ACTIVATIONS[fn]), {})]
    if isinstance(fn, nl.LeakyRectify):
        return [("activation", {"fn": "leaky_relu", "alpha": float(fn.leakiness)}, {})]
    raise call.refuse(f"nonlinearity {getattr(fn, '__name__', type(fn).__name__)} has no graph activation")


def _sizes(shape: Any) -> tuple[int, ...]:
    """Concrete sizes (the frontend fixes the input shape, so none is unknown past the batch axis)."""
    return tuple(int(v) for v in shape if v is not None) if None not in shape else _unknown(shape)


def _unknown(shape: Any) -> tuple[int, ...]:
    raise UnsupportedLayerError(f"a shape the graph needs is unknown: {tuple(shape)}")


def _f32(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def _pairs(pad: Any, kernel: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    if pad == "same":
        return tuple((k // 2, k // 2) for k in kernel)
    if pad == "full":
        return tuple((k - 1, k - 1) for k in kernel)
    return tuple((int(p), int(p)) for p in pad)


def _flip(w: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(w[(slice(None), slice(None)) + (slice(None, None, -1),) * (w.ndim - 2)])


def _bias_steps(call: LayerCall, b: Any, untied: bool, ndim: int) -> tuple[dict[str, np.ndarray], list[Step]]:
    """The bias as the conv's ``b``, or (untied: one per position) a scale_bias step."""
    if b is None:
        return {}, []
    if not untied:
        return {"b": _f32(b)}, []
    return {}, [("scale_bias", {"axes": tuple(range(1, ndim))}, {"bias": _f32(b)})]


@translates_lasagne(Conv1DLayer, Conv2DLayer, Conv3DLayer)
def conv(call: LayerCall) -> str:
    """Conv1D/2D/3DLayer (and the GPU layers) → conv (+ untied bias) + activation."""
    layer = call.layer
    w = _f32(param_value(layer.W))
    if layer.flip_filters:
        w = _flip(w)
    bias, extra = _bias_steps(call, param_value(layer.b), layer.untie_biases, len(call.out_shape))
    attrs = {
        "strides": tuple(layer.stride),
        "dilations": (1,) * layer.n,
        "pads": _pairs(layer.pad, layer.filter_size),
        "groups": int(layer.num_groups),
    }
    steps: list[Step] = [
        ("conv", attrs, {"W": w, **bias}),
        *extra,
        *activation_steps(call, layer.nonlinearity),
    ]
    return call.chain(steps)


@translates_lasagne(DilatedConv2DLayer)
def dilated_conv(call: LayerCall) -> str:
    """DilatedConv2DLayer → conv with W (in, out, …) transposed to (out, in, …), dilated."""
    layer = call.layer
    w = np.ascontiguousarray(_f32(param_value(layer.W)).transpose(1, 0, 2, 3))
    bias, extra = _bias_steps(call, param_value(layer.b), layer.untie_biases, 4)
    attrs = {"strides": (1, 1), "dilations": tuple(layer.dilation), "pads": ((0, 0), (0, 0)), "groups": 1}
    return call.chain(
        [("conv", attrs, {"W": w, **bias}), *extra, *activation_steps(call, layer.nonlinearity)]
    )


@translates_lasagne(TransposedConv2DLayer, TransposedConv3DLayer)
def transposed_conv(call: LayerCall) -> str:
    """TransposedConv2D/3DLayer → conv_transpose: Lasagne computes Theano's
    ``conv2d_transpose(x, W, filter_flip=not flip_filters)``; the graph's kernel is the one used
    with ``filter_flip=False``."""
    layer = call.layer
    w = _f32(param_value(layer.W))
    if not layer.flip_filters:
        w = _flip(w)
    bias, extra = _bias_steps(call, param_value(layer.b), layer.untie_biases, len(call.out_shape))
    attrs = {
        "strides": tuple(layer.stride),
        "dilations": (1,) * layer.n,
        "pads": _pairs(layer.crop, layer.filter_size),
        "output_size": _sizes(call.out_shape[2:]),
        "groups": 1,
    }
    return call.chain(
        [("conv_transpose", attrs, {"W": w, **bias}), *extra, *activation_steps(call, layer.nonlinearity)]
    )


@translates_lasagne(Pool1DLayer, Pool2DLayer, Pool3DLayer)
def pool(call: LayerCall) -> str:
    """Pool1D/2D/3DLayer (and MaxPool…, the cuDNN pools) → pool."""
    layer = call.layer
    attrs = {
        "mode": layer.mode,
        "ws": tuple(int(v) for v in layer.pool_size),
        "strides": tuple(int(v) for v in layer.stride),
        "pads": tuple(int(v) for v in layer.pad),
        "ignore_border": bool(layer.ignore_border),
    }
    return call.chain([("pool", attrs, {})])


@translates_lasagne(GlobalPoolLayer)
def global_pool(call: LayerCall) -> str:
    """GlobalPoolLayer with np.mean / np.max → global_pool."""
    mode = {np.mean: "average", np.max: "max"}.get(call.layer.pool_function)
    if mode is None:
        raise call.refuse("GlobalPoolLayer migrates with pool_function np.mean or np.max only")
    return call.chain([("global_pool", {"mode": mode}, {})])


@translates_lasagne(Upscale1DLayer, Upscale2DLayer, Upscale3DLayer)
def upscale(call: LayerCall) -> str:
    """Upscale…Layer(mode='repeat') → upsample."""
    if call.layer.mode != "repeat":
        raise call.refuse("Upscale layers with mode='dilate' have no graph op")
    return call.chain([("upsample", {"factors": tuple(int(s) for s in call.layer.scale_factor)}, {})])


@translates_lasagne(DenseLayer)
def dense(call: LayerCall) -> str:
    """DenseLayer → (flatten of the trailing axes) + dense + activation."""
    layer = call.layer
    lead = layer.num_leading_axes % len(call.in_shape)
    steps: list[Step] = []
    if len(call.in_shape) > lead + 1:
        if lead != 1:
            raise call.refuse(
                f"DenseLayer with num_leading_axes={layer.num_leading_axes} on a {len(call.in_shape)}-D input"
            )
        steps.append(("flatten", {}, {}))
    weights = {"W": _f32(param_value(layer.W))}
    if layer.b is not None:
        weights["b"] = _f32(param_value(layer.b))
    steps.append(("dense", {}, weights))
    return call.chain(steps + activation_steps(call, layer.nonlinearity))


@translates_lasagne(NINLayer)
def nin(call: LayerCall) -> str:
    """NINLayer → a 1x1 conv (+ untied bias) + activation."""
    layer = call.layer
    rank = len(call.in_shape) - 2
    w = _f32(param_value(layer.W)).T.reshape((layer.num_units, -1) + (1,) * rank)
    bias, extra = _bias_steps(call, param_value(layer.b), layer.untie_biases, len(call.out_shape))
    attrs = {"strides": (1,) * rank, "dilations": (1,) * rank, "pads": ((0, 0),) * rank, "groups": 1}
    return call.chain(
        [
            ("conv", attrs, {"W": np.ascontiguousarray(w), **bias}),
            *extra,
            *activation_steps(call, layer.nonlinearity),
        ]
    )


@translates_lasagne(BatchNormLayer)
def batch_norm(call: LayerCall) -> str:
    """BatchNormLayer over all axes but the channels → batchnorm_inv_std."""
    layer = call.layer
    expected = (0,) + tuple(range(2, len(call.in_shape)))
    if tuple(layer.axes) != expected:
        raise call.refuse(f"BatchNormLayer migrates with axes='auto' {expected}; got axes={layer.axes}")
    weights = {
        k: _f32(param_value(getattr(layer, k)))
        for k in ("gamma", "beta", "mean", "inv_std")
        if getattr(layer, k) is not None
    }
    return call.chain([("batchnorm_inv_std", {"axis": 1}, weights)])


@translates_lasagne(LocalResponseNormalization2DLayer)
def lrn(call: LayerCall) -> str:
    """LocalResponseNormalization2DLayer → lrn."""
    layer = call.layer
    attrs = {"alpha": float(layer.alpha), "k": float(layer.k), "beta": float(layer.beta), "n": int(layer.n)}
    return call.chain([("lrn", attrs, {})])


@translates_lasagne(NonlinearityLayer)
def nonlinearity(call: LayerCall) -> str:
    """NonlinearityLayer → activation (identity for linear)."""
    steps = activation_steps(call, call.layer.nonlinearity)
    return call.chain(steps or [("identity", {}, {})])


def _kept_axes(call: LayerCall, shared: tuple[int, ...]) -> tuple[int, ...]:
    axes = tuple(a for a in range(len(call.in_shape)) if a not in shared)
    if 0 in axes:
        raise call.refuse(
            f"{type(call.layer).__name__} with parameters per example (shared_axes={shared}) cannot be migrated"
        )
    return axes


@translates_lasagne(BiasLayer)
def bias(call: LayerCall) -> str:
    """BiasLayer → scale_bias (bias over the non-shared axes)."""
    layer = call.layer
    if layer.b is None:
        return call.chain([("identity", {}, {})])
    return call.chain(
        [("scale_bias", {"axes": _kept_axes(call, layer.shared_axes)}, {"bias": _f32(param_value(layer.b))})]
    )


@translates_lasagne(ScaleLayer)
def scale(call: LayerCall) -> str:
    """ScaleLayer → scale_bias (scales over the non-shared axes)."""
    layer = call.layer
    axes = _kept_axes(call, layer.shared_axes)
    return call.chain([("scale_bias", {"axes": axes}, {"scale": _f32(param_value(layer.scales))})])


@translates_lasagne(ParametricRectifierLayer)
def prelu(call: LayerCall) -> str:
    """ParametricRectifierLayer → prelu with alpha broadcast against the input without its batch axis."""
    layer = call.layer
    _kept_axes(call, layer.shared_axes)
    alpha = _f32(param_value(layer.alpha))
    shape = [1 if a in layer.shared_axes else s for a, s in enumerate(call.in_shape)][1:]
    return call.chain([("prelu", {}, {"alpha": alpha.reshape(shape)})])


@translates_lasagne(DropoutLayer, GaussianNoiseLayer)
def identity(call: LayerCall) -> str:
    """DropoutLayer, GaussianNoiseLayer → identity (inference)."""
    return call.chain([("identity", {}, {})])


@translates_lasagne(ConcatLayer)
def concat(call: LayerCall) -> str:
    """ConcatLayer (no cropping) → merge concat."""
    if call.layer.cropping is not None and any(c is not None for c in call.layer.cropping):
        raise call.refuse("ConcatLayer with cropping cannot be migrated")
    return call.chain([("merge", {"mode": "concat", "axis": int(call.layer.axis)}, {})])


_MERGES = {np.add: "sum", np.multiply: "mul", np.maximum: "max", np.minimum: "min", np.subtract: "sub"}


@translates_lasagne(ElemwiseMergeLayer)
def elemwise_merge(call: LayerCall) -> str:
    """ElemwiseSumLayer (coeffs) and ElemwiseMergeLayer (np.multiply, np.maximum …) → merge."""
    layer = call.layer
    if layer.cropping is not None:
        raise call.refuse(f"{type(layer).__name__} with cropping cannot be migrated")
    if isinstance(layer, ElemwiseSumLayer):
        coeffs = [float(c) for c in layer.coeffs]
        attrs: dict[str, Any] = {"mode": "sum"}
        if any(c != 1 for c in coeffs):
            attrs["coeffs"] = tuple(coeffs)
        return call.chain([("merge", attrs, {})])
    mode = _MERGES.get(layer.merge_function)
    if mode is None or (mode == "sub" and len(call.inputs) != 2):
        raise call.refuse(
            f"merge_function {getattr(layer.merge_function, '__name__', layer.merge_function)!r} has no graph merge"
        )
    return call.chain([("merge", {"mode": mode}, {})])


@translates_lasagne(FlattenLayer)
def flatten(call: LayerCall) -> str:
    """FlattenLayer → flatten (outdim 2) or reshape."""
    if call.layer.outdim == 2:
        return call.chain([("flatten", {}, {})])
    return call.chain([("reshape", {"shape": _sizes(call.out_shape[1:])}, {})])


@translates_lasagne(ReshapeLayer)
def reshape(call: LayerCall) -> str:
    """ReshapeLayer keeping the batch axis ([0] first) → reshape."""
    first = call.layer.shape[0]
    if first != [0]:
        raise call.refuse(f"ReshapeLayer must keep the batch axis first ([0]); got shape={call.layer.shape}")
    return call.chain([("reshape", {"shape": _sizes(call.out_shape[1:])}, {})])


@translates_lasagne(DimshuffleLayer)
def dimshuffle(call: LayerCall) -> str:
    """DimshuffleLayer keeping the batch axis first → transpose (+ reshape for 'x' or dropped axes)."""
    pattern = list(call.layer.pattern)
    if not pattern or pattern[0] != 0:
        raise call.refuse(f"DimshuffleLayer must keep the batch axis first; got pattern={tuple(pattern)}")
    kept = [int(p) for p in pattern if p != "x"]
    perm = kept
    steps: list[Step] = []
    squeezed = [a for a in range(len(call.in_shape)) if a not in kept]
    order = [p for p in range(len(call.in_shape)) if p in kept]
    if squeezed:
        steps.append(("reshape", {"shape": _sizes(tuple(call.in_shape[a] for a in order[1:]))}, {}))
        perm = [order.index(p) for p in kept]
    if perm != sorted(perm):
        steps.append(("transpose", {"perm": tuple(perm)}, {}))
    if "x" in pattern or not steps:
        steps.append(("reshape", {"shape": _sizes(call.out_shape[1:])}, {}))
    return call.chain(steps)


@translates_lasagne(PadLayer)
def pad(call: LayerCall) -> str:
    """PadLayer over the spatial axes (batch_ndim=2) → pad."""
    from ...lasagne.layers.shape import _widths

    layer = call.layer
    if layer.batch_ndim != 2:
        raise call.refuse(f"PadLayer migrates with batch_ndim=2; got {layer.batch_ndim}")
    widths = _widths(layer.width, len(call.in_shape) - 2)
    widths += [(0, 0)] * (len(call.in_shape) - 2 - len(widths))
    return call.chain([("pad", {"pads": tuple(widths), "value": float(layer.val)}, {})])


@translates_lasagne(SliceLayer)
def slice_(call: LayerCall) -> str:
    """SliceLayer → slice (+ reshape dropping the axis for an integer index)."""
    layer = call.layer
    axis = layer.axis % len(call.in_shape)
    if axis == 0:
        raise call.refuse("SliceLayer on the batch axis cannot be migrated")
    if isinstance(layer.slice, slice):
        s = layer.slice
        return call.chain([("slice", {"axis": axis, "start": s.start, "stop": s.stop, "step": s.step}, {})])
    i = int(layer.slice) % int(call.in_shape[axis])
    steps: list[Step] = [
        ("slice", {"axis": axis, "start": i, "stop": i + 1, "step": None}, {}),
        ("reshape", {"shape": _sizes(call.out_shape[1:])}, {}),
    ]
    return call.chain(steps)


@translates_lasagne(EmbeddingLayer)
def embedding(call: LayerCall) -> str:
    """EmbeddingLayer → embedding."""
    return call.chain([("embedding", {"mask_zero": False}, {"W": _f32(param_value(call.layer.W))})])
