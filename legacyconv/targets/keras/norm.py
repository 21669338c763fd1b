"""Normalisations (``batchnorm``, ``batchnorm_inv_std``, ``scale_bias``) as stock layers.

Keras 3's inference BatchNormalization computes ``x * g + (beta - mean * g)`` with
``g = gamma / sqrt(var + epsilon)``: the legacy formula in another rounding order. The legacy
axis is mapped through the held layout. Lasagne's ``inv_std`` form is the same layer with
``var = 1``, ``epsilon = 0`` and ``gamma * inv_std`` as the scale; ``scale_bias`` over one axis
likewise (mean 0), over several axes a constant ``EinsumDense`` with a bias.

``batchnorm_batch`` (Keras-1 ``mode=2``: the batch's own mean and biased variance, in inference
too) reduces over the batch, which no stock layer does in inference; it is written with Keras'
own ops (``keras.ops.mean``/``square``/``rsqrt`` on the symbolic tensors: traced operations that
Keras saves in the model config and reloads by itself), then the per-channel scale and shift. As
in Theano, the statistics are those of the batch the model is called with.

``lrn`` (Lasagne's local response normalisation, ``x / (k + alpha * window_sum(x ** 2)) ** beta``
over ``n`` neighbouring channels): the window sum plus ``k`` is a constant, non-trainable Dense on
the channels-last axis (a band of ``alpha`` s, bias ``k``), the square, power and division are
Keras' own ops (``keras.ops.square``/``power``/``divide``, saved and reloaded by Keras itself).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...graph import Node
from ._context import KerasBuild, Perm, channels_last_perm, emits, refuses

__all__: list[str] = []


def _batchnorm(
    b: KerasBuild, node: Node, axis: int, gamma: Any, beta: Any, mean: Any, var: Any, epsilon: float
) -> tuple[Any, Perm]:
    x, perm = b.held(node.inputs[0])
    shape = b.legacy_shape(node.inputs[0])
    c = shape[axis]
    assert c is not None

    def vec(v: Any, default: float) -> np.ndarray:
        return np.full(c, default, np.float32) if v is None else np.asarray(v, np.float32).reshape(c)

    layer = b.layers.BatchNormalization(
        axis=perm.index(axis),
        epsilon=float(epsilon),
        center=beta is not None,
        scale=gamma is not None,
        name=b.name(node),
    )
    weights = [vec(gamma, 1.0)] if gamma is not None else []
    weights += [vec(beta, 0.0)] if beta is not None else []
    weights += [vec(mean, 0.0), vec(var, 1.0)]
    return b.apply(layer, x, weights), perm


@emits("batchnorm")
def emit_batchnorm(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``batchnorm`` → BatchNormalization (inference, the stored statistics)."""
    w = node.weights
    axis = int(node.attrs.get("axis", 1)) % b.rank(node.inputs[0])
    eps = float(node.attrs.get("epsilon", 1e-3))
    return _batchnorm(b, node, axis, w.get("gamma"), w.get("beta"), w.get("mean"), w.get("var"), eps)


@emits("batchnorm_inv_std")
def emit_batchnorm_inv_std(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``batchnorm_inv_std`` → BatchNormalization with ``gamma * inv_std``, ``var = 1``, ``epsilon = 0``."""
    w = node.weights
    axis = int(node.attrs.get("axis", 1)) % b.rank(node.inputs[0])
    inv_std = np.asarray(w["inv_std"], np.float64)
    gamma = inv_std if w.get("gamma") is None else np.asarray(w["gamma"], np.float64) * inv_std
    return _batchnorm(b, node, axis, gamma, w.get("beta"), w.get("mean"), None, 0.0)


@emits("scale_bias")
def emit_scale_bias(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``scale_bias`` → BatchNormalization (one axis) or a constant EinsumDense (several axes)."""
    axes = tuple(int(a) for a in node.attrs.get("axes", (1,)))
    scale, bias = node.weights.get("scale"), node.weights.get("bias")
    if len(axes) == 1:
        return _batchnorm(b, node, axes[0], scale, bias, None, None, 0.0)
    x, perm = b.held(node.inputs[0])
    rank = len(perm)
    letters = "abcdefgh"[:rank]
    kept = sorted(perm.index(a) for a in axes)
    spec = "".join(letters[i] for i in kept)
    shape = tuple(int(x.shape[i]) for i in kept)
    # the weights are laid out like the legacy axes; bring them to the Keras order of those axes
    order = [sorted(axes).index(perm[i]) for i in kept]
    legacy_shape = [x.shape[perm.index(a)] for a in sorted(axes)]
    kernel = np.ones(shape) if scale is None else np.asarray(scale).reshape(legacy_shape).transpose(order)
    layer = b.layers.EinsumDense(
        f"{letters},{spec}->{letters}",
        output_shape=tuple(int(v) for v in x.shape[1:]),
        bias_axes=spec if bias is not None else None,
        trainable=False,
        name=b.name(node),
    )
    y = layer(x)
    weights = [kernel.reshape(layer.kernel.shape)]
    if bias is not None:
        bias = np.asarray(bias).reshape([x.shape[perm.index(a)] for a in sorted(axes)]).transpose(order)
        weights.append(bias.reshape(layer.bias.shape))  # EinsumDense keeps size-1 axes between
    layer.set_weights([w.astype(np.float32) for w in weights])
    return y, perm


@emits("batchnorm_batch")
def emit_batchnorm_batch(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``batchnorm_batch`` → the batch's mean and biased variance (Keras ops) + BatchNormalization
    (mean 0, variance 1, epsilon 0) for gamma and beta."""
    ops = b.keras.ops
    x, perm = b.held(node.inputs[0])
    legacy_axis = int(node.attrs.get("axis", 1)) % len(perm)
    axis = perm.index(legacy_axis)
    axes = tuple(i for i in range(len(perm)) if i != axis)
    eps = float(node.attrs.get("epsilon", 1e-3))
    centered = ops.subtract(x, ops.mean(x, axis=axes, keepdims=True))
    variance = ops.mean(ops.square(centered), axis=axes, keepdims=True)
    normed = ops.multiply(centered, ops.rsqrt(ops.add(variance, eps)))
    w = node.weights
    c = b.legacy_shape(node.inputs[0])[legacy_axis]
    assert c is not None
    gamma = np.ones(c, np.float32) if w.get("gamma") is None else np.asarray(w["gamma"], np.float32)
    beta = np.zeros(c, np.float32) if w.get("beta") is None else np.asarray(w["beta"], np.float32)
    layer = b.layers.BatchNormalization(axis=axis, epsilon=0.0, name=b.name(node))
    return b.apply(layer, normed, [gamma, beta, np.zeros(c), np.ones(c)]), perm


@refuses("lrn")
def _lrn_refusal(node: Node) -> str | None:
    n = int(node.attrs.get("n", 5))
    return None if n % 2 else f"lrn needs an odd n (Lasagne's rule); got n={n}"


@emits("lrn")
def emit_lrn(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``lrn`` → square (Keras op) + a band Dense (the window sum, ``alpha``, ``k``) + power and
    divide (Keras ops), channels-last."""
    ops = b.keras.ops
    n = int(node.attrs.get("n", 5))
    half = n // 2
    alpha, k, beta = (
        float(node.attrs.get(key, d)) for key, d in (("alpha", 1e-4), ("k", 2.0), ("beta", 0.75))
    )
    x = b.channels_last(node.inputs[0])
    rank = b.rank(node.inputs[0])
    c = int(x.shape[-1])
    # scale[c_out] = k + alpha * sum of x[c_in] ** 2 for c_out - half <= c_in <= c_out + half
    c_in, c_out = np.meshgrid(np.arange(c), np.arange(c), indexing="ij")
    band = np.where(np.abs(c_in - c_out) <= half, alpha, 0.0)
    window = b.layers.Dense(c, trainable=False, name=b.name(node, "window"))
    scale = b.apply(window, ops.square(x), [band, np.full(c, k)])
    y = ops.divide(x, ops.power(scale, beta))
    return b.layers.Identity(name=b.name(node))(y), channels_last_perm(rank)
