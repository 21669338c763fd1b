"""One ONNX emitter per graph op: Theano's semantics in standard ONNX operators.

ONNX holds tensors as Theano did (NCHW), so every emitter works in the legacy layout and the
weights go in as initializers in their canonical legacy layout and dtype. The choices that keep
the numbers Theano's:

* ``conv``: the graph stores kernels as cross-correlations, which is what ONNX ``Conv`` computes;
  padding is always explicit ``pads`` (never ``auto_pad``), groups are ``group``.
* ``conv_transpose``: ``ConvTranspose`` with the same kernel layout, explicit ``pads`` and the
  ``output_padding`` that reaches the legacy output size.
* ``pool``: Theano's geometry as explicit floor-mode ``pads`` (never ``ceil_mode``): the high side
  is padded so that exactly Theano's windows exist. Padding is never selected by ``MaxPool``;
  ``average_exc_pad`` and clipped ``ignore_border=False`` windows divide by their image cells
  (``count_include_pad=0``), ``average_inc_pad`` with ``ignore_border=True`` by the whole window;
  ``sum`` is a depthwise ``Conv`` with a kernel of ones.
* ``lrn``: ONNX ``LRN`` divides ``alpha`` by ``size``, Lasagne does not: ``alpha * n`` is written.
* ``rnn``: in :mod:`~legacyconv.targets.onnx.recurrent`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from ...graph.core import Node
from .builder import OnnxBuilder, emits

__all__: list[str] = []

#: an ONNX Slice end meaning "past index 0" for a negative step
INT64_MIN = -(2**63)


@emits("identity")
def _identity(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    b.op("Identity", xs, node.name)


# --- convolutions ------------------------------------------------------------------------------


def _conv_attrs(node: Node, rank: int) -> dict[str, Any]:
    pads = [tuple(int(v) for v in p) for p in node.attrs.get("pads", ((0, 0),) * rank)]
    return {
        "strides": [int(v) for v in node.attrs.get("strides", (1,) * rank)],
        "dilations": [int(v) for v in node.attrs.get("dilations", (1,) * rank)],
        "pads": [p[0] for p in pads] + [p[1] for p in pads],
        "group": int(node.attrs.get("groups", 1)),
    }


def _weights_and_bias(b: OnnxBuilder, node: Node, xs: list[str]) -> list[str]:
    inputs = [xs[0], b.weight(node, "W")]
    if node.weights.get("b") is not None:
        inputs.append(b.weight(node, "b"))
    return inputs


@emits("conv")
def _conv(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    w = node.weights["W"]
    rank = w.ndim - 2
    attrs = _conv_attrs(node, rank)
    b.op("Conv", _weights_and_bias(b, node, xs), node.name, kernel_shape=list(w.shape[2:]), **attrs)


@emits("conv_transpose")
def _conv_transpose(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    w = node.weights["W"]
    rank = w.ndim - 2
    attrs = _conv_attrs(node, rank)
    out = [int(v) for v in node.attrs["output_size"]]
    # The conv this op is the adjoint of reads out[i] + pads - dilated kernel in steps of the
    # stride; the remainder of that division is what ONNX adds back as output_padding.
    output_padding = []
    for i, size in enumerate(out):
        dk = (w.shape[2 + i] - 1) * attrs["dilations"][i] + 1
        output_padding.append((size + attrs["pads"][i] + attrs["pads"][rank + i] - dk) % attrs["strides"][i])
    b.op(
        "ConvTranspose",
        _weights_and_bias(b, node, xs),
        node.name,
        kernel_shape=list(w.shape[2:]),
        output_padding=output_padding,
        **attrs,
    )


# --- pooling -----------------------------------------------------------------------------------


def _pool_pads(node: Node, sizes: tuple[int, ...]) -> tuple[list[int], list[int], list[int], list[int]]:
    """Theano's windows as floor-mode ONNX geometry: ``(ws, strides, pads_lo, pads_hi)``."""
    from ..._pool_plan import _out_size

    ws = [int(v) for v in node.attrs["ws"]]
    rank = len(ws)
    strides = [int(v) for v in node.attrs.get("strides", (1,) * rank)]
    pads = [int(v) for v in node.attrs.get("pads", (0,) * rank)]
    ignore_border = bool(node.attrs.get("ignore_border", True))
    hi = []
    for size, w, s, p in zip(sizes, ws, strides, pads):
        out = _out_size(size, w, s, p, ignore_border)
        # pad the high side until exactly ``out`` windows of ``w`` fit in floor mode
        hi.append(max((out - 1) * s + w - size - p, 0))
    return ws, strides, pads, hi


@emits("pool")
def _pool(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    shape = b.in_shape(node)
    ws, strides, lo, hi = _pool_pads(node, tuple(int(s) for s in shape[2:]))
    geometry = {"kernel_shape": ws, "strides": strides, "pads": lo + hi}
    mode = node.attrs.get("mode", "max")
    ignore_border = bool(node.attrs.get("ignore_border", True))
    if mode == "max":
        b.op("MaxPool", xs, node.name, **geometry)
    elif mode in ("average_inc_pad", "average_exc_pad"):
        # ignore_border=False has no Theano padding: its clipped windows divide by their image cells
        include = int(mode == "average_inc_pad" and ignore_border)
        b.op("AveragePool", xs, node.name, count_include_pad=include, **geometry)
    elif mode == "sum":
        channels = shape[1]
        if channels is None:
            raise LegacyconvError(f"sum pooling to ONNX needs a known channel count; got shape {shape}")
        ones = b.const(node, "ones", np.ones((channels, 1, *ws), dtype=b.in_dtype(node)))
        b.op("Conv", [xs[0], ones], node.name, group=int(channels), **geometry)
    else:
        raise LegacyconvError(f"pool mode {mode!r} is not one of Theano's")


@emits("global_pool")
def _global_pool(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    mode = node.attrs.get("mode", "average")
    op = {"max": "GlobalMaxPool", "average": "GlobalAveragePool"}.get(mode)
    if op is None:
        raise LegacyconvError(f"global pooling mode must be 'max' or 'average'; got {mode!r}")
    pooled = b.step(node, "pooled", op, xs)
    b.op("Flatten", [pooled], node.name, axis=1)


# --- re-arrangements ---------------------------------------------------------------------------


@emits("pad")
def _pad(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    pads = [tuple(int(v) for v in p) for p in node.attrs["pads"]]
    onnx_pads = [0, 0] + [p[0] for p in pads] + [0, 0] + [p[1] for p in pads]
    value = b.const(node, "value", float(node.attrs.get("value", 0.0)), dtype=b.in_dtype(node))
    b.op("Pad", [xs[0], b.ints(node, "pads", onnx_pads), value], node.name, mode="constant")


def _slice(
    b: OnnxBuilder, node: Node, x: str, starts: list[int], ends: list[int], axes: list[int], steps: list[int]
) -> None:
    inputs = [x, b.ints(node, "starts", starts), b.ints(node, "ends", ends), b.ints(node, "axes", axes)]
    b.op("Slice", inputs + [b.ints(node, "steps", steps)], node.name)


@emits("crop")
def _crop(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    shape = b.in_shape(node)
    crops = [tuple(int(v) for v in p) for p in node.attrs["crops"]]
    starts = [lo for lo, _ in crops]
    ends = [int(size) - hi for size, (_, hi) in zip(shape[2:], crops)]
    _slice(b, node, xs[0], starts, ends, list(range(2, 2 + len(crops))), [1] * len(crops))


@emits("slice")
def _slice_op(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    shape = b.in_shape(node)
    axis = int(node.attrs["axis"]) % len(shape)
    size = shape[axis]
    if size is None:
        raise LegacyconvError(f"slice needs a known size along axis {axis}; got shape {shape}")
    r = range(int(size))[slice(node.attrs.get("start"), node.attrs.get("stop"), node.attrs.get("step"))]
    # a negative stop from range() means "past index 0", which ONNX spells as INT64_MIN
    stop = r.stop if r.stop >= 0 else INT64_MIN
    _slice(b, node, xs[0], [r.start], [stop], [axis], [r.step])


@emits("upsample")
def _upsample(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    factors = [float(int(f)) for f in node.attrs["factors"]]
    scales = b.const(node, "scales", np.asarray([1.0, 1.0, *factors], dtype=np.float32))
    # asymmetric + floor: output i reads input floor(i / f), exact nearest-neighbour repetition
    b.op(
        "Resize",
        [xs[0], "", scales],
        node.name,
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
    )


@emits("flatten")
def _flatten(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    b.op("Flatten", xs, node.name, axis=1)


@emits("reshape")
def _reshape(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    target = [-1] + [int(v) for v in node.attrs["shape"]]
    b.op("Reshape", [xs[0], b.ints(node, "shape", target)], node.name)


@emits("transpose")
def _transpose(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    b.op("Transpose", xs, node.name, perm=[int(v) for v in node.attrs["perm"]])


@emits("repeat_vector")
def _repeat_vector(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    expanded = b.step(node, "unsqueezed", "Unsqueeze", [xs[0], b.ints(node, "axes", [1])])
    b.op("Expand", [expanded, b.ints(node, "repeats", [1, int(node.attrs["n"]), 1])], node.name)


@emits("embedding")
def _embedding(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    ids = xs[0]
    if b.in_dtype(node).kind not in "iu":
        ids = b.step(node, "ids", "Cast", [ids], to=b.onnx.TensorProto.INT64)
    b.op("Gather", [b.weight(node, "W"), ids], node.name, axis=0)


# --- dense and elementwise ---------------------------------------------------------------------


@emits("dense")
def _dense(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    if node.weights.get("b") is None:
        b.op("MatMul", [xs[0], b.weight(node, "W")], node.name)
        return
    product = b.step(node, "matmul", "MatMul", [xs[0], b.weight(node, "W")])
    b.op("Add", [product, b.weight(node, "b")], node.name)


def activation_into(b: OnnxBuilder, node: Node, x: str, fn: str, attrs: dict[str, Any], out: str) -> None:
    """Write ``fn(x)`` (a graph activation) into the tensor ``out``."""
    simple = {
        "linear": "Identity",
        "relu": "Relu",
        "tanh": "Tanh",
        "sigmoid": "Sigmoid",
        "softplus": "Softplus",
        "softsign": "Softsign",
        "exp": "Exp",
    }
    if fn in simple:
        b.op(simple[fn], [x], out)
    elif fn == "hard_sigmoid":  # Theano's T.nnet.hard_sigmoid: clip(0.2 x + 0.5, 0, 1)
        b.op("HardSigmoid", [x], out, alpha=0.2, beta=0.5)
    elif fn in ("softmax", "log_softmax"):
        b.op("Softmax" if fn == "softmax" else "LogSoftmax", [x], out, axis=int(attrs.get("axis", -1)))
    elif fn == "elu":
        b.op("Elu", [x], out, alpha=float(attrs.get("alpha", 1.0)))
    elif fn == "selu":
        b.op(
            "Selu", [x], out, alpha=1.6732632423543772848170429916717, gamma=1.0507009873554804934193349852946
        )
    elif fn == "leaky_relu":
        b.op("LeakyRelu", [x], out, alpha=float(attrs.get("alpha", 0.3)))
    elif fn == "thresholded_relu":
        b.op("ThresholdedRelu", [x], out, alpha=float(attrs.get("theta", 1.0)))
    else:
        raise LegacyconvError(f"activation {fn!r} has no ONNX equivalent in legacyconv")


@emits("activation")
def _activation(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    activation_into(b, node, xs[0], node.attrs["fn"], node.attrs, node.name)


@emits("prelu")
def _prelu(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    b.op("PRelu", [xs[0], b.weight(node, "alpha")], node.name)


def _broadcast_shape(shape: tuple[Any, ...], axes: list[int]) -> list[int]:
    """The shape (batch axis included, as 1) that spreads weights over ``axes`` of ``shape``."""
    return [int(shape[a]) if a in axes else 1 for a in range(len(shape))]


def _affine(b: OnnxBuilder, node: Node, x: str, axes: list[int], terms: list[tuple[str, str, Any]]) -> None:
    """Apply ``terms`` (``(onnx op, suffix, weights over axes)``) in order; the last writes ``node.name``."""
    shape = _broadcast_shape(b.in_shape(node), axes)
    dtype = b.in_dtype(node)
    current = x
    for i, (op, suffix, value) in enumerate(terms):
        w = b.const(node, suffix, np.asarray(value, dtype=dtype).reshape(shape))
        if i == len(terms) - 1:
            b.op(op, [current, w], node.name)
        else:
            current = b.step(node, f"{suffix}_applied", op, [current, w])


def _stats(
    node: Node, size: int, dtype: np.dtype, names: tuple[str, ...], defaults: tuple[float, ...]
) -> list[np.ndarray]:
    return [
        np.asarray(node.weights[n], dtype=dtype)
        if node.weights.get(n) is not None
        else np.full(size, d, dtype)
        for n, d in zip(names, defaults)
    ]


@emits("batchnorm")
def _batchnorm(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    shape = b.in_shape(node)
    axis = int(node.attrs.get("axis", 1)) % len(shape)
    eps = float(node.attrs.get("epsilon", 1e-3))
    dtype = b.in_dtype(node)
    gamma, beta, mean, var = _stats(
        node, int(shape[axis]), dtype, ("gamma", "beta", "mean", "var"), (1, 0, 0, 1)
    )
    if axis == 1:
        stats = [
            b.const(node, n, v) for n, v in zip(("gamma", "beta", "mean", "var"), (gamma, beta, mean, var))
        ]
        b.op("BatchNormalization", [xs[0], *stats], node.name, epsilon=eps)
        return
    scale = gamma / np.sqrt(var + np.asarray(eps, dtype))
    _affine(b, node, xs[0], [axis], [("Sub", "mean", mean), ("Mul", "scale", scale), ("Add", "beta", beta)])


@emits("batchnorm_batch")
def _batchnorm_batch(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    # Keras-1 mode=2 (Theano's batch_normalization_train): the batch's mean and biased variance
    shape = b.in_shape(node)
    axis = int(node.attrs.get("axis", 1)) % len(shape)
    axes = [a for a in range(len(shape)) if a != axis]
    dtype = b.in_dtype(node)
    gamma, beta = _stats(node, int(shape[axis]), dtype, ("gamma", "beta"), (1, 0))
    bcast = _broadcast_shape(shape, [axis])
    mean = b.reduce(node, "mean", "ReduceMean", xs[0], axes, keepdims=True)
    centred = b.step(node, "centred", "Sub", [xs[0], mean])
    var = b.reduce(
        node, "var", "ReduceMean", b.step(node, "squared", "Mul", [centred, centred]), axes, keepdims=True
    )
    eps = b.const(node, "epsilon", float(node.attrs.get("epsilon", 1e-3)), dtype)
    std = b.step(node, "std", "Sqrt", [b.step(node, "var_eps", "Add", [var, eps])])
    inv_std = b.step(node, "inv_std", "Reciprocal", [std])
    scale = b.step(node, "scale", "Mul", [b.const(node, "gamma", gamma.reshape(bcast)), inv_std])
    scaled = b.step(node, "scaled", "Mul", [centred, scale])
    b.op("Add", [scaled, b.const(node, "beta", beta.reshape(bcast))], node.name)


@emits("batchnorm_inv_std")
def _batchnorm_inv_std(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    shape = b.in_shape(node)
    axis = int(node.attrs.get("axis", 1)) % len(shape)
    names, defaults = ("gamma", "beta", "mean", "inv_std"), (1, 0, 0, 1)
    gamma, beta, mean, inv_std = _stats(node, int(shape[axis]), b.in_dtype(node), names, defaults)
    # Lasagne: (x - mean) * (gamma * inv_std) + beta
    _affine(
        b,
        node,
        xs[0],
        [axis],
        [("Sub", "mean", mean), ("Mul", "scale", gamma * inv_std), ("Add", "beta", beta)],
    )


@emits("scale_bias")
def _scale_bias(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    rank = len(b.in_shape(node))
    axes = [int(a) % rank for a in node.attrs.get("axes", (1,))]
    terms = [
        (op, key, node.weights[key])
        for op, key in (("Mul", "scale"), ("Add", "bias"))
        if node.weights.get(key) is not None
    ]
    if not terms:
        b.op("Identity", xs, node.name)
        return
    _affine(b, node, xs[0], axes, terms)


@emits("lrn")
def _lrn(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    n = int(node.attrs.get("n", 5))
    if n % 2 == 0:
        raise LegacyconvError(f"lrn needs an odd n (Lasagne's rule); got n={n}")
    alpha = float(node.attrs.get("alpha", 1e-4))
    # ONNX LRN: x / (bias + alpha / size * sum of squares) ** beta; Lasagne has no 1 / n
    b.op(
        "LRN",
        xs,
        node.name,
        size=n,
        alpha=alpha * n,
        beta=float(node.attrs.get("beta", 0.75)),
        bias=float(node.attrs.get("k", 2.0)),
    )


def _chain(b: OnnxBuilder, node: Node, op: str, xs: list[str], out: str) -> str:
    current = xs[0]
    for i, x in enumerate(xs[1:], start=1):
        current = b.op(op, [current, x], out if i == len(xs) - 1 else b.fresh(node, f"{op.lower()}{i}"))
    return current


def _batch_dot(b: OnnxBuilder, node: Node, x: str, y: str, suffix: str, out: str | None = None) -> str:
    product = b.step(node, f"{suffix}_mul", "Mul", [x, y])
    axes = b.ints(node, f"{suffix}_axes", [1])
    return b.op("ReduceSum", [product, axes], out or b.fresh(node, suffix), keepdims=1)


@emits("merge")
def _merge(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    mode = node.attrs["mode"]
    dtype = b.in_dtype(node)
    if mode == "concat":
        rank = len(b.in_shape(node))
        b.op("Concat", xs, node.name, axis=int(node.attrs.get("axis", -1)) % rank)
    elif mode == "sum" and node.attrs.get("coeffs") is not None:
        coeffs = [float(c) for c in node.attrs["coeffs"]]
        scaled = [
            b.step(node, f"scaled{i}", "Mul", [x, b.const(node, f"coeff{i}", c, dtype)])
            for i, (x, c) in enumerate(zip(xs, coeffs))
        ]
        _chain(b, node, "Add", scaled, node.name)
    elif mode in ("sum", "mul"):
        _chain(b, node, "Add" if mode == "sum" else "Mul", xs, node.name)
    elif mode in ("max", "min"):
        b.op("Max" if mode == "max" else "Min", xs, node.name)
    elif mode == "ave":
        total = _chain(b, node, "Add", xs, b.fresh(node, "total"))
        b.op("Div", [total, b.const(node, "count", len(xs), dtype)], node.name)
    elif mode == "sub":
        if len(xs) != 2:
            raise LegacyconvError(f"merge mode 'sub' takes exactly two inputs; got {len(xs)}")
        b.op("Sub", xs, node.name)
    elif mode == "dot":
        _batch_dot(b, node, xs[0], xs[1], "dot", node.name)
    elif mode == "cos":
        # Keras-1's merge(mode='cos'): dot / max(sqrt(|a|^2 |b|^2), epsilon)
        dot = _batch_dot(b, node, xs[0], xs[1], "dot")
        norms = b.step(
            node,
            "norms",
            "Mul",
            [_batch_dot(b, node, xs[0], xs[0], "aa"), _batch_dot(b, node, xs[1], xs[1], "bb")],
        )
        root = b.step(node, "sqrt", "Sqrt", [norms])
        den = b.step(
            node,
            "den",
            "Max",
            [root, b.const(node, "epsilon", float(node.attrs.get("epsilon", 1e-7)), dtype)],
        )
        b.op("Div", [dot, den], node.name)
    else:
        raise LegacyconvError(f"merge mode {mode!r} has no ONNX equivalent in legacyconv")


@emits("masking")
def _masking(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    dtype = b.in_dtype(node)
    equal = b.step(
        node,
        "equal",
        "Equal",
        [xs[0], b.const(node, "mask_value", float(node.attrs.get("mask_value", 0.0)), dtype)],
    )
    differs = b.step(node, "differs", "Not", [equal])
    as_float = b.step(
        node, "differs_float", "Cast", [differs], to=b.onnx.helper.np_dtype_to_tensor_dtype(dtype)
    )
    keep = b.reduce(node, "keep", "ReduceMax", as_float, [-1], keepdims=True)
    b.op("Mul", [xs[0], keep], node.name)
