"""Evaluate a :class:`~legacyconv.graph.Graph` eagerly in NumPy: the reference semantics of every op.

One function per op, registered with :func:`evaluates`; convolutions and pooling run on
legacyconv's own Theano-exact ops (:func:`legacyconv.conv2d`, :func:`legacyconv.conv3d`,
:func:`legacyconv.conv2d_transpose`, :func:`legacyconv.pool_2d`), everything else is plain NumPy
in the input's dtype (float32 for Theano-era models). Frontends are validated with it against
recorded Theano references; targets can be compared with it on any input.

Keras masks (``masking`` nodes and ``embedding`` with ``mask_zero``) travel beside the tensors:
elementwise and time-distributed ops keep their input's mask, a recurrent layer skips the masked
steps (keeping its previous output and state, as Keras' Theano ``rnn`` did) and passes the mask on
when it returns sequences; every other op drops it.

>>> import numpy as np
>>> from legacyconv.graph import Graph
>>> g = Graph()
>>> x = g.add("input", "x", attrs={"shape": (1, 4, 4)})
>>> y = g.add("pool", "p", [x], attrs={"mode": "max", "ws": (2, 2), "strides": (2, 2)})
>>> g.outputs = [y]
>>> run_graph(g, {"x": np.arange(16.0, dtype=np.float32).reshape(1, 1, 4, 4)})["p"][0, 0]
array([[ 5.,  7.],
       [13., 15.]], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from .._errors import LegacyconvError
from .._lrn import cross_channel_lrn
from .core import Graph, Node

__all__ = ["EVALUATORS", "activation", "evaluates", "run_graph"]

Mask = Optional[np.ndarray]
Evaluator = Callable[[Node, list[np.ndarray], Mask], np.ndarray]


@dataclass(frozen=True)
class _Entry:
    fn: Evaluator
    keeps_mask: bool


#: op name -> its NumPy evaluation
EVALUATORS: dict[str, _Entry] = {}


def evaluates(*ops: str, keeps_mask: bool = False) -> Callable[[Evaluator], Evaluator]:
    """Register the decorated ``fn(node, inputs, mask) -> ndarray`` as the evaluation of ``ops``.

    ``keeps_mask`` says the op passes its first input's Keras mask on unchanged (elementwise and
    per-time-step ops).
    """

    def deco(fn: Evaluator) -> Evaluator:
        for op in ops:
            if op in EVALUATORS:
                raise RuntimeError(f"graph op {op!r} has two NumPy evaluators")
            EVALUATORS[op] = _Entry(fn, keeps_mask)
        return fn

    return deco


def run_graph(
    graph: Graph, inputs: Mapping[str, Any], outputs: Iterable[str] | None = None
) -> dict[str, np.ndarray]:
    """Evaluate ``graph`` on ``inputs`` and return the requested node outputs.

    Parameters
    ----------
    graph : Graph
        The model; shapes need not be inferred.
    inputs : mapping of str to array_like
        One batch per input node, legacy layout (channels-first), batch axis first.
    outputs : iterable of str, optional
        Node names to return; default: every node.

    Returns
    -------
    dict of str to numpy.ndarray
        The requested nodes' outputs (the inputs are never modified).

    Raises
    ------
    LegacyconvError
        A missing or misshapen input, an unknown node name, or an op without an evaluator.
    """
    missing = [name for name in graph.inputs if name not in inputs]
    if missing:
        raise LegacyconvError(f"run_graph needs a batch for every graph input; missing {missing}")
    wanted = list(graph.nodes) if outputs is None else list(outputs)
    unknown = [name for name in wanted if name not in graph.nodes]
    if unknown:
        raise LegacyconvError(f"unknown node(s) {unknown}; the graph has {list(graph.nodes)}")
    order = graph.topological_order()
    last_use: dict[str, int] = {}
    for i, node in enumerate(order):
        for src in node.inputs:
            last_use[src] = i
    keep = set(wanted)
    values: dict[str, np.ndarray] = {}
    masks: dict[str, Mask] = {}
    for i, node in enumerate(order):
        entry = EVALUATORS.get(node.op)
        if entry is None:
            raise LegacyconvError(f"graph op {node.op!r} (node {node.name!r}) has no NumPy evaluator")
        if node.op == "input":
            xs = [_input_batch(node, inputs[node.name])]
            mask: Mask = None
        else:
            xs = [values[src] for src in node.inputs]
            mask = masks.get(node.inputs[0]) if node.inputs else None
        try:
            out = entry.fn(node, xs, mask)
        except LegacyconvError as exc:
            where = node.source or f"node {node.name!r} ({node.op})"
            raise type(exc)(f"{where}: {exc}") from None
        values[node.name] = out
        masks[node.name] = _mask_after(node, xs, mask, entry.keeps_mask)
        for src in node.inputs:
            if last_use.get(src) == i and src not in keep:
                del values[src]
                masks.pop(src, None)
    return {name: values[name] for name in wanted}


def _input_batch(node: Node, value: Any) -> np.ndarray:
    x = np.asarray(value)
    expected = tuple(node.attrs["shape"])
    if x.shape[1:] != expected:
        raise LegacyconvError(
            f"input {node.name!r} expects batches of shape (batch, *{expected}); got {x.shape}"
        )
    return x


def _mask_after(node: Node, xs: list[np.ndarray], mask: Mask, keeps_mask: bool) -> Mask:
    if node.op == "masking":
        return np.any(xs[0] != np.asarray(node.attrs.get("mask_value", 0.0), xs[0].dtype), axis=-1)
    if node.op == "embedding" and node.attrs.get("mask_zero"):
        return np.asarray(xs[0]) != 0
    if node.op == "rnn":
        return mask if node.attrs.get("return_sequences") else None
    return mask if keeps_mask else None


# --- evaluators ---------------------------------------------------------------------------------


@evaluates("input", "identity", keeps_mask=True)
def _identity(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    return xs[0]


def _with_bias(y: np.ndarray, node: Node) -> np.ndarray:
    b = node.weights.get("b")
    if b is None:
        return y
    return y + b.astype(y.dtype, copy=False).reshape((-1,) + (1,) * (y.ndim - 2))


def _geometry(node: Node, rank: int) -> tuple[Any, Any, Any, int]:
    strides = tuple(int(v) for v in node.attrs.get("strides", (1,) * rank))
    dilations = tuple(int(v) for v in node.attrs.get("dilations", (1,) * rank))
    pads = tuple(tuple(int(v) for v in p) for p in node.attrs.get("pads", ((0, 0),) * rank))
    return strides, dilations, pads, int(node.attrs.get("groups", 1))


def _as_2d(x: np.ndarray, w: np.ndarray, strides: Any, dilations: Any, pads: Any) -> tuple[Any, ...]:
    """A 1-D problem as a 2-D one with a single row (the result is ``[:, :, 0]`` of the 2-D one)."""
    return x[:, :, None, :], w[:, :, None, :], (1, strides[0]), (1, dilations[0]), ((0, 0), pads[0])


@evaluates("conv")
def _conv(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    from ..conv import conv2d, conv3d

    x, w = xs[0], node.weights["W"]
    rank = w.ndim - 2
    strides, dilations, pads, groups = _geometry(node, rank)
    if rank == 1:
        x, w, strides, dilations, pads = _as_2d(x, w, strides, dilations, pads)
    fn = conv3d if rank == 3 else conv2d
    y = fn(
        x,
        w,
        border_mode=pads,
        subsample=strides,
        filter_flip=False,
        filter_dilation=dilations,
        num_groups=groups,
    )
    return _with_bias(y[:, :, 0] if rank == 1 else y, node)


@evaluates("conv_transpose")
def _conv_transpose(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    from ..transpose import conv2d_transpose

    x, w = xs[0], node.weights["W"]
    rank = w.ndim - 2
    if rank == 3:
        raise NotImplementedError("conv_transpose with 3 spatial axes has no NumPy evaluation in legacyconv.")
    strides, dilations, pads, groups = _geometry(node, rank)
    size = tuple(int(v) for v in node.attrs["output_size"])
    if rank == 1:
        x, w, strides, dilations, pads = _as_2d(x, w, strides, dilations, pads)
        size = (1, size[0])
    y = conv2d_transpose(
        x,
        w,
        size,
        border_mode=pads,
        input_dilation=strides,
        filter_flip=False,
        filter_dilation=dilations,
        num_groups=groups,
    )
    return _with_bias(y[:, :, 0] if rank == 1 else y, node)


@evaluates("pool")
def _pool(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    ws = tuple(int(v) for v in node.attrs["ws"])
    rank = len(ws)
    strides = tuple(int(v) for v in node.attrs.get("strides", (1,) * rank))
    pads = tuple(int(v) for v in node.attrs.get("pads", (0,) * rank))
    mode = node.attrs.get("mode", "max")
    ignore_border = bool(node.attrs.get("ignore_border", True))
    x = xs[0]
    if rank == 1:
        return _pool2(x[:, :, None, :], (1, ws[0]), (1, strides[0]), (0, pads[0]), ignore_border, mode)[
            :, :, 0, :
        ]
    if rank == 2:
        return _pool2(x, ws, strides, pads, ignore_border, mode)
    # A box window's max / sum / cell count is the product of per-axis ones, so a 3-D pool is a
    # 2-D pool over (rows, cols) followed by a 1-D pool over depth (Theano's own pool_3d agrees).
    y = _pool2(x, ws[1:], strides[1:], pads[1:], ignore_border, mode)
    y = np.moveaxis(y, 2, -1)[..., None]
    y = _pool2(y, (ws[0], 1), (strides[0], 1), (pads[0], 0), ignore_border, mode)[..., 0]
    return np.ascontiguousarray(np.moveaxis(y, -1, 2))


def _pool2(
    x: np.ndarray,
    ws: tuple[int, ...],
    strides: tuple[int, ...],
    pads: tuple[int, ...],
    ignore_border: bool,
    mode: str,
) -> np.ndarray:
    from ..pool import pool_2d

    return pool_2d(x, ws, ignore_border=ignore_border, stride=strides, pad=pads, mode=mode)


@evaluates("global_pool")
def _global_pool(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    x = xs[0]
    axes = tuple(range(2, x.ndim))
    mode = node.attrs.get("mode", "average")
    if mode == "max":
        return x.max(axis=axes)
    if mode == "average":
        return x.mean(axis=axes, dtype=x.dtype)
    raise LegacyconvError(f"global pooling mode must be 'max' or 'average'; got {mode!r}")


@evaluates("pad")
def _pad(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    pads = [tuple(int(v) for v in p) for p in node.attrs["pads"]]
    value = float(node.attrs.get("value", 0.0))
    return np.pad(xs[0], [(0, 0), (0, 0), *pads], constant_values=value)


@evaluates("crop")
def _crop(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    x = xs[0]
    index = [slice(None), slice(None)]
    for size, (lo, hi) in zip(x.shape[2:], node.attrs["crops"]):
        index.append(slice(int(lo), size - int(hi)))
    return x[tuple(index)]


@evaluates("upsample")
def _upsample(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    y = xs[0]
    for axis, factor in enumerate(node.attrs["factors"], start=2):
        y = np.repeat(y, int(factor), axis=axis)
    return y


@evaluates("dense", keeps_mask=True)
def _dense(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    x = xs[0]
    y = x @ node.weights["W"].astype(x.dtype, copy=False)
    b = node.weights.get("b")
    return y if b is None else y + b.astype(x.dtype, copy=False)


@evaluates("flatten")
def _flatten(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    return xs[0].reshape(xs[0].shape[0], -1)


@evaluates("reshape")
def _reshape(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    return xs[0].reshape((xs[0].shape[0], *(int(v) for v in node.attrs["shape"])))


@evaluates("transpose")
def _transpose(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    return np.transpose(xs[0], tuple(int(v) for v in node.attrs["perm"]))


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _elu(x: np.ndarray, alpha: float) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.where(x > 0, x, np.asarray(alpha, x.dtype) * np.expm1(np.minimum(x, 0)))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946

_ACTIVATIONS: dict[str, Callable[[np.ndarray, Mapping[str, Any]], np.ndarray]] = {
    "linear": lambda x, a: x,
    "relu": lambda x, a: np.maximum(x, 0),
    "tanh": lambda x, a: np.tanh(x),
    "sigmoid": lambda x, a: 1 / (1 + np.exp(-x)),
    # Theano's T.nnet.hard_sigmoid (Keras' hard_sigmoid on Theano)
    "hard_sigmoid": lambda x, a: np.clip(x * np.asarray(0.2, x.dtype) + np.asarray(0.5, x.dtype), 0, 1),
    "softmax": lambda x, a: _softmax(x, int(a.get("axis", -1))),
    "log_softmax": lambda x, a: _log_softmax(x, int(a.get("axis", -1))),
    "softplus": lambda x, a: np.logaddexp(np.asarray(0, x.dtype), x),
    "softsign": lambda x, a: x / (1 + np.abs(x)),
    "elu": lambda x, a: _elu(x, float(a.get("alpha", 1.0))),
    "selu": lambda x, a: np.asarray(_SELU_SCALE, x.dtype) * _elu(x, _SELU_ALPHA),
    "exp": lambda x, a: np.exp(x),
    # Theano's T.nnet.relu(x, alpha): 0.5 (1 + alpha) x + 0.5 (1 - alpha) |x|
    "leaky_relu": lambda x, a: (
        np.asarray(0.5 * (1 + float(a.get("alpha", 0.3))), x.dtype) * x
        + np.asarray(0.5 * (1 - float(a.get("alpha", 0.3))), x.dtype) * np.abs(x)
    ),
    "thresholded_relu": lambda x, a: x * (x > np.asarray(float(a.get("theta", 1.0)), x.dtype)),
}


def activation(fn: str, x: np.ndarray, attrs: Mapping[str, Any] | None = None) -> np.ndarray:
    """Apply the graph activation ``fn`` (see :mod:`legacyconv.graph.ops`) to ``x``.

    >>> activation("hard_sigmoid", np.array([-3.0, 0.0, 1.0]))
    array([0. , 0.5, 0.7])
    """
    impl = _ACTIVATIONS.get(fn)
    if impl is None:
        raise LegacyconvError(f"activation must be one of {sorted(_ACTIVATIONS)}; got fn={fn!r}")
    with np.errstate(over="ignore"):
        return np.asarray(impl(x, attrs or {})).astype(x.dtype, copy=False)


@evaluates("activation", keeps_mask=True)
def _activation(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    return activation(node.attrs["fn"], xs[0], node.attrs)


@evaluates("prelu", keeps_mask=True)
def _prelu(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    x = xs[0]
    alpha = node.weights["alpha"].astype(x.dtype, copy=False)
    return np.maximum(x, 0) + alpha * (x - np.abs(x)) * np.asarray(0.5, x.dtype)


def _along(v: np.ndarray, axis: int, ndim: int, dtype: np.dtype) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = -1
    return v.astype(dtype, copy=False).reshape(shape)


def _normalize(
    x: np.ndarray, node: Node, scale_of: Callable[[dict[str, np.ndarray], int], np.ndarray]
) -> np.ndarray:
    """(x - mean) * scale + beta along the node's axis; absent weights are 1 (gamma) and 0 (beta, mean)."""
    axis = int(node.attrs.get("axis", 1)) % x.ndim
    size = x.shape[axis]
    w = node.weights
    mean = w.get("mean", np.zeros(size, x.dtype))
    beta = w.get("beta", np.zeros(size, x.dtype))
    return (x - _along(mean, axis, x.ndim, x.dtype)) * _along(
        scale_of(w, size), axis, x.ndim, x.dtype
    ) + _along(beta, axis, x.ndim, x.dtype)


@evaluates("batchnorm", keeps_mask=True)
def _batchnorm(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    x = xs[0]
    eps = np.asarray(float(node.attrs.get("epsilon", 1e-3)), x.dtype)

    def scale(w: dict[str, np.ndarray], size: int) -> np.ndarray:
        var = w.get("var", np.ones(size, x.dtype)).astype(x.dtype)
        return w.get("gamma", np.ones(size, x.dtype)).astype(x.dtype) / np.sqrt(var + eps)

    return _normalize(x, node, scale)


@evaluates("batchnorm_batch", keeps_mask=True)
def _batchnorm_batch(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    # Theano's batch_normalization_train: the batch's mean and biased variance
    x = xs[0]
    axis = int(node.attrs.get("axis", 1)) % x.ndim
    axes = tuple(a for a in range(x.ndim) if a != axis)
    mean = x.mean(axis=axes, keepdims=True, dtype=x.dtype)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True, dtype=x.dtype)
    inv_std = 1 / np.sqrt(var + np.asarray(float(node.attrs.get("epsilon", 1e-3)), x.dtype))
    size = x.shape[axis]
    gamma = _along(node.weights.get("gamma", np.ones(size)), axis, x.ndim, x.dtype)
    beta = _along(node.weights.get("beta", np.zeros(size)), axis, x.ndim, x.dtype)
    return (x - mean) * (gamma * inv_std) + beta


@evaluates("batchnorm_inv_std", keeps_mask=True)
def _batchnorm_inv_std(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    def scale(w: dict[str, np.ndarray], size: int) -> np.ndarray:
        return w.get("gamma", np.ones(size)) * w.get("inv_std", np.ones(size))

    return _normalize(xs[0], node, scale)


@evaluates("lrn")
def _lrn(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    a = node.attrs
    return cross_channel_lrn(
        xs[0],
        float(a.get("alpha", 1e-4)),
        float(a.get("k", 2.0)),
        float(a.get("beta", 0.75)),
        int(a.get("n", 5)),
    )


@evaluates("scale_bias", keeps_mask=True)
def _scale_bias(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    x = xs[0]
    axes = [int(a) % x.ndim for a in node.attrs.get("axes", (1,))]
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    y = x
    if "scale" in node.weights:
        y = y * node.weights["scale"].astype(x.dtype, copy=False).reshape(shape)
    if "bias" in node.weights:
        y = y + node.weights["bias"].astype(x.dtype, copy=False).reshape(shape)
    return y


def _batch_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("nf,nf->n", a, b)[:, None]


@evaluates("merge", keeps_mask=True)
def _merge(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    mode = node.attrs["mode"]
    dtype = xs[0].dtype
    if mode == "concat":
        return np.concatenate(xs, axis=int(node.attrs.get("axis", -1)))
    if mode == "sum":
        coeffs = node.attrs.get("coeffs")
        if coeffs is None:
            out = xs[0]
            for x in xs[1:]:
                out = out + x
            return out
        out = xs[0] * np.asarray(coeffs[0], dtype)
        for c, x in zip(coeffs[1:], xs[1:]):
            out = out + x * np.asarray(c, dtype)
        return out
    if mode == "ave":
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out / np.asarray(len(xs), dtype)
    if mode in ("mul", "max", "min"):
        fn = {"mul": np.multiply, "max": np.maximum, "min": np.minimum}[mode]
        out = xs[0]
        for x in xs[1:]:
            out = fn(out, x)
        return out
    if mode == "sub":
        if len(xs) != 2:
            raise LegacyconvError(f"merge mode 'sub' takes exactly two inputs; got {len(xs)}")
        return xs[0] - xs[1]
    if mode == "dot":
        return _batch_dot(xs[0], xs[1])
    if mode == "cos":
        # Keras-1's merge(mode='cos'): dot / max(sqrt(|a|^2 |b|^2), epsilon)
        eps = np.asarray(float(node.attrs.get("epsilon", 1e-7)), dtype)
        den = np.maximum(np.sqrt(_batch_dot(xs[0], xs[0]) * _batch_dot(xs[1], xs[1])), eps)
        return _batch_dot(xs[0], xs[1]) / den
    raise LegacyconvError(f"merge mode {mode!r} has no NumPy evaluation")


@evaluates("embedding")
def _embedding(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    ids = np.asarray(xs[0])
    table = node.weights["W"]
    if ids.dtype.kind not in "iu" and not np.array_equal(ids, np.round(ids)):
        raise LegacyconvError(f"embedding needs integer token ids; got dtype {ids.dtype}")
    ids = ids.astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= table.shape[0]):
        raise LegacyconvError(
            f"token ids must lie in [0, {table.shape[0]}); got ids from {ids.min()} to {ids.max()}"
        )
    return table[ids]


@evaluates("repeat_vector")
def _repeat_vector(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    return np.repeat(xs[0][:, None, :], int(node.attrs["n"]), axis=1)


@evaluates("slice", keeps_mask=True)
def _slice(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    x = xs[0]
    index = [slice(None)] * x.ndim
    index[int(node.attrs["axis"])] = slice(
        node.attrs.get("start"), node.attrs.get("stop"), node.attrs.get("step")
    )
    return x[tuple(index)]


@evaluates("masking", keeps_mask=False)
def _masking(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    x = xs[0]
    keep = np.any(x != np.asarray(node.attrs.get("mask_value", 0.0), x.dtype), axis=-1, keepdims=True)
    return x * keep.astype(x.dtype)


@evaluates("rnn")
def _rnn(node: Node, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
    x = xs[0]
    dtype = x.dtype
    cell = node.attrs["cell"]
    units = int(node.attrs["units"])
    act = node.attrs.get("activation", "tanh")
    rec = node.attrs.get("recurrent_activation", "hard_sigmoid")
    kernel = node.weights["kernel"].astype(dtype, copy=False)
    rkernel = node.weights["recurrent_kernel"].astype(dtype, copy=False)
    bias = node.weights.get("bias")
    xw = x @ kernel
    if bias is not None:
        xw = xw + bias.astype(dtype, copy=False)
    steps = list(range(x.shape[1]))
    if node.attrs.get("go_backwards"):
        steps.reverse()
    h = np.zeros((x.shape[0], units), dtype)
    c = np.zeros_like(h)
    outs = []
    for t in steps:
        z = xw[:, t]
        if cell == "simple":
            h_new = activation(act, z + h @ rkernel)
            c_new = c
        elif cell == "lstm":
            r = h @ rkernel
            i = activation(rec, z[:, :units] + r[:, :units])
            f = activation(rec, z[:, units : 2 * units] + r[:, units : 2 * units])
            c_new = f * c + i * activation(act, z[:, 2 * units : 3 * units] + r[:, 2 * units : 3 * units])
            o = activation(rec, z[:, 3 * units :] + r[:, 3 * units :])
            h_new = o * activation(act, c_new)
        elif cell == "gru":
            zr = h @ rkernel[:, : 2 * units]
            upd = activation(rec, z[:, :units] + zr[:, :units])
            reset = activation(rec, z[:, units : 2 * units] + zr[:, units:])
            hh = activation(act, z[:, 2 * units :] + (reset * h) @ rkernel[:, 2 * units :])
            h_new = upd * h + (1 - upd) * hh
            c_new = c
        else:
            raise LegacyconvError(f"rnn cell must be 'simple', 'gru' or 'lstm'; got {cell!r}")
        if mask is not None:
            # Keras' Theano rnn: a masked step keeps the previous output and states
            keep = mask[:, t][:, None]
            h_new = np.where(keep, h_new, h)
            c_new = np.where(keep, c_new, c)
        h, c = h_new.astype(dtype, copy=False), c_new.astype(dtype, copy=False)
        outs.append(h)
    if node.attrs.get("return_sequences"):
        return np.stack(outs, axis=1)
    return h
