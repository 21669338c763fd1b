"""Convolutions: ``conv`` and ``conv_transpose`` as stock Keras 3 layers, channels-last.

Explicit (possibly asymmetric) padding is a ``ZeroPadding{1,2,3}D`` in front of a ``'valid'``
convolution, never TensorFlow's ``'same'`` or ``'EXPLICIT'``. Keras refuses strides together
with a dilation; the dilated kernel with its zeros written out (size ``(k - 1) * d + 1``) is the
same sum with extra zero products, so that case uses it. A transposed convolution is Keras'
``'valid'`` ``Conv{1,2,3}DTranspose`` (the full adjoint) followed by the crop of the legacy
``pads`` and zero rows where ``output_size`` asks for more than the full adjoint covers.

oneDNN, which runs the saved model on users' CPUs, computes a convolution with one input channel
per group and unequal strides wrong (:func:`onednn_safe_strides`): such a convolution runs at the
gcd of its strides, followed by an exact :func:`subsample` (reshapes and crops, no pooling).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...graph import Node
from ._context import KerasBuild, Perm, channels_last_perm, emits, refuses
from .activation import fuse_activation

__all__ = [
    "channel_bias",
    "crop_layer",
    "dilate_kernel",
    "onednn_safe_strides",
    "pad_layer",
    "subsample",
]


def dilate_kernel(w: np.ndarray, dilations: tuple[int, ...]) -> np.ndarray:
    """Write a dilated kernel ``(out, in, *k)`` out with zeros between its taps.

    >>> dilate_kernel(np.ones((1, 1, 2)), (3,))[0, 0]
    array([1., 0., 0., 1.])
    """
    r = len(dilations)
    sizes = [(k - 1) * d + 1 for k, d in zip(w.shape[2:], dilations)]
    out = np.zeros(w.shape[:2] + tuple(sizes), dtype=w.dtype)
    out[(slice(None), slice(None), *(slice(None, None, d) for d in dilations))] = w
    assert out.ndim == r + 2
    return out


def _spatial_arg(pairs: tuple[tuple[int, int], ...]) -> Any:
    return pairs[0] if len(pairs) == 1 else pairs


def pad_layer(b: KerasBuild, name: str, pads: tuple[tuple[int, int], ...]) -> Any:
    """``ZeroPadding{r}D`` adding ``pads`` ((lo, hi) per spatial axis) to a channels-last tensor."""
    cls = {1: b.layers.ZeroPadding1D, 2: b.layers.ZeroPadding2D, 3: b.layers.ZeroPadding3D}[len(pads)]
    return cls(_spatial_arg(pads), name=name)


def crop_layer(b: KerasBuild, name: str, crops: tuple[tuple[int, int], ...]) -> Any:
    """``Cropping{r}D`` removing ``crops`` ((lo, hi) per spatial axis) from a channels-last tensor."""
    cls = {1: b.layers.Cropping1D, 2: b.layers.Cropping2D, 3: b.layers.Cropping3D}[len(crops)]
    return cls(_spatial_arg(crops), name=name)


def _pairs(node: Node, rank: int) -> tuple[tuple[int, int], ...]:
    return tuple((int(lo), int(hi)) for lo, hi in node.attrs.get("pads", ((0, 0),) * rank))


def _ints(node: Node, key: str, rank: int) -> tuple[int, ...]:
    return tuple(int(v) for v in node.attrs.get(key, (1,) * rank))


def _geometry(node: Node) -> tuple[np.ndarray, Any, int, tuple[int, ...], tuple[int, ...], Any]:
    """Kernel, bias, rank, strides, dilations and pads of a (transposed) convolution node; Keras
    refuses strides with a dilation, so then the dilated kernel is written out."""
    w = np.asarray(node.weights["W"])
    rank = w.ndim - 2
    strides, dilations = _ints(node, "strides", rank), _ints(node, "dilations", rank)
    if any(s > 1 for s in strides) and any(d > 1 for d in dilations):
        w, dilations = dilate_kernel(w, dilations), (1,) * rank
    return w, node.weights.get("b"), rank, strides, dilations, _pairs(node, rank)


@refuses("conv", "conv_transpose")
def _conv_refusal(node: Node) -> str | None:
    rank = node.weights["W"].ndim - 2
    if rank not in (1, 2, 3):
        return f"a convolution with {rank} spatial axes has no stock Keras 3 layer"
    if node.op == "conv_transpose" and int(node.attrs.get("groups", 1)) != 1:
        return f"a grouped transposed convolution (groups={node.attrs['groups']}) has no stock Keras 3 layer"
    return None


def onednn_safe_strides(strides: tuple[int, ...], in_per_group: int) -> tuple[int, ...]:
    """The strides the convolution layer itself may use; the rest is an exact subsample after it.

    oneDNN's CPU kernels (which run a saved model on users' machines) compute a convolution with
    one input channel per group and unequal strides wrong: Conv2D returns uninitialised memory
    (row stride 1, column stride >= 2, one output column), Conv3D wrong numbers (e.g. strides
    (1, 1, 2) with a kernel 2 wide on the last axis). Such a convolution runs at the gcd of its
    strides instead. Keras runs a Conv1D as a Conv2D of one row with strides ``(1, s)``, so a
    one-channel 1-D convolution with ``s > 1`` runs at stride 1.

    >>> onednn_safe_strides((1, 2), 1), onednn_safe_strides((2, 4, 2), 1), onednn_safe_strides((1, 2), 3)
    ((1, 1), (2, 2, 2), (1, 2))
    >>> onednn_safe_strides((3,), 1), onednn_safe_strides((3,), 2)
    ((1,), (3,))
    """
    runs_as = (1, *strides) if len(strides) == 1 else strides  # the strides TensorFlow's kernel sees
    if in_per_group != 1 or len(set(runs_as)) == 1:
        return strides
    step = math.gcd(*runs_as)
    return (step,) * len(strides)


def subsample(b: KerasBuild, node: Node, y: Any, steps: tuple[int, ...], name: str) -> Any:
    """Keep every ``steps[i]``-th cell of the channels-last ``y`` along spatial axis ``i``, exactly.

    Per subsampled axis (``n`` cells, step ``a``, ``m = ceil(n / a)`` kept): ``ZeroPadding`` to
    ``m * a`` cells, ``Reshape`` to ``(before, m, a, after * channels)``, ``Cropping3D`` of the
    ``a`` axis to its first cell, ``Reshape`` back. Only copies, so every value (NaN, infinities,
    -0.0, subnormals) survives bit for bit; a ``MaxPooling`` of size 1 would not: TensorFlow's
    turns NaN and -inf into -3.4e38. The last layer is called ``name``.
    """
    axes = [i for i, a in enumerate(steps) if a > 1]
    rank = len(steps)
    for i in axes:
        a = steps[i]
        sizes, channels = [int(v) for v in y.shape[1:-1]], int(y.shape[-1])
        m = -(-sizes[i] // a)
        if m * a > sizes[i]:
            pads = tuple((0, m * a - sizes[i]) if j == i else (0, 0) for j in range(rank))
            y = pad_layer(b, b.name(node, "subsample_pad"), pads)(y)
        before, after = math.prod(sizes[:i]), math.prod(sizes[i + 1 :]) * channels
        y = b.layers.Reshape((before, m, a, after), name=b.name(node, "subsample_split"))(y)
        y = b.layers.Cropping3D(((0, 0), (0, 0), (0, a - 1)), name=b.name(node, "subsample_take"))(y)
        sizes[i] = m
        last = b.name(node, "subsample") if i != axes[-1] else name
        y = b.layers.Reshape((*sizes, channels), name=last)(y)
    return y


@emits("conv")
def emit_conv(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``conv`` → [ZeroPadding] + Conv{r}D / DepthwiseConv{1,2}D ('valid') [+ a Reshape /
    Cropping3D subsample: one input channel with unequal strides runs at their gcd (oneDNN)]."""
    w, bias, rank, strides, dilations, pads = _geometry(node)
    groups = int(node.attrs.get("groups", 1))
    x = b.channels_last(node.inputs[0])
    if any(p for pair in pads for p in pair):
        x = pad_layer(b, b.name(node, "pad"), pads)(x)
    n_out, n_in = int(w.shape[0]), int(w.shape[1]) * groups
    activation, name = fuse_activation(b, node)  # the last layer (the node's output) gets ``name``
    conv_strides = onednn_safe_strides(strides, int(w.shape[1]))
    after = tuple(s // c for s, c in zip(strides, conv_strides))
    subsampled = any(a > 1 for a in after)
    common = dict(
        strides=conv_strides,
        padding="valid",
        dilation_rate=dilations,
        use_bias=bias is not None,
        activation=activation,  # elementwise: commutes with the subsample
        name=b.name(node, "conv") if subsampled else name,
    )
    spatial_first = (*range(2, 2 + rank), 1, 0)
    if groups > 1 and groups == n_in and w.shape[1] == 1 and rank in (1, 2):
        mult = n_out // n_in
        cls = b.layers.DepthwiseConv1D if rank == 1 else b.layers.DepthwiseConv2D
        layer = cls(w.shape[2:], depth_multiplier=mult, **common)
        # Theano's group-major output o = g * mult + m is Keras' depthwise channel g * mult + m
        kernel = w.reshape((n_in, mult) + w.shape[2:]).transpose(*range(2, 2 + rank), 0, 1)
    else:
        cls = {1: b.layers.Conv1D, 2: b.layers.Conv2D, 3: b.layers.Conv3D}[rank]
        layer = cls(n_out, w.shape[2:], groups=groups, **common)
        kernel = w.transpose(spatial_first)
    weights = [kernel] if bias is None else [kernel, bias]
    y = b.apply(layer, x, weights)
    if subsampled:
        y = subsample(b, node, y, after, name)
    return y, channels_last_perm(rank + 2)


@emits("conv_transpose")
def emit_conv_transpose(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``conv_transpose`` → Conv{r}DTranspose ('valid', the full adjoint) + crop / zero rows."""
    w, bias, rank, strides, dilations, pads = _geometry(node)
    out_size = tuple(int(v) for v in node.attrs["output_size"])
    in_sizes = b.legacy_shape(node.inputs[0])[2:]
    x = b.channels_last(node.inputs[0])
    cls = {1: b.layers.Conv1DTranspose, 2: b.layers.Conv2DTranspose, 3: b.layers.Conv3DTranspose}[rank]
    # legacy output = the full adjoint, zero-extended to o + lo + hi rows, then rows [lo, lo + o);
    # Keras' 'valid' output has max(full adjoint, n * s) rows (zero rows past the adjoint, + bias)
    crops, extend = [], []
    for i, (n, k, d) in enumerate(zip(in_sizes, w.shape[2:], dilations)):
        assert n is not None
        full = max((n - 1) * strides[i] + (k - 1) * d + 1, n * strides[i])
        hi = full - out_size[i] - pads[i][0]  # rows past the legacy output (negative: zero rows)
        crops.append((pads[i][0], max(hi, 0)))
        extend.append((0, max(-hi, 0)))
    steps = [s for s, pairs in (("crop", crops), ("extend", extend)) if any(v for p in pairs for v in p)]
    late_bias = bias is not None and "extend" in steps  # the appended zero rows get the bias too
    order = ["full", *steps] + (["bias"] if late_bias else [])
    names = {s: b.name(node, s) for s in order[:-1]}
    names[order[-1]] = b.name(node)
    layer = cls(
        int(w.shape[1]),
        w.shape[2:],
        strides=strides,
        padding="valid",
        dilation_rate=dilations,
        use_bias=bias is not None and not late_bias,
        name=names["full"],
    )
    # Keras' kernel (*k, filters=out, in) is the conv from ``out`` to ``in`` channels: W's own map
    kernel = w.transpose(*range(2, 2 + rank), 1, 0)
    y = b.apply(layer, x, [kernel] if bias is None or late_bias else [kernel, bias])
    if "crop" in steps:
        y = crop_layer(b, names["crop"], tuple(crops))(y)
    if "extend" in steps:
        y = pad_layer(b, names["extend"], tuple(extend))(y)
    if late_bias:
        assert bias is not None
        y = channel_bias(b, names["bias"], y, np.asarray(bias))
    return y, channels_last_perm(rank + 2)


def channel_bias(b: KerasBuild, name: str, y: Any, bias: np.ndarray, axis: int = -1) -> Any:
    """Add a bias along ``axis``: a BatchNormalization with mean 0, variance 1, epsilon 0, no scale."""
    c = int(bias.shape[0])
    layer = b.layers.BatchNormalization(axis=axis, epsilon=0.0, scale=False, name=name)
    return b.apply(layer, y, [bias, np.zeros(c), np.ones(c)])
