"""The graph's op vocabulary: one :class:`OpDef` per op, each with its shape inference.

Semantics are the legacy ones (what Theano computed), on channels-first tensors. Weights are
stored in ONE canonical layout per op, written below; frontends convert to it (flipping a
Theano ``filter_flip=True`` kernel, transposing Keras-2 kernels, splitting Keras-1 gate lists),
targets convert from it. Shapes include the batch axis, which is ``None``.

=================  ==========================================================================
op                 attributes; weights (canonical layout)
=================  ==========================================================================
input              shape (without batch), dtype
identity           — (Dropout, noise layers and anything else that is the identity in inference)
conv               strides, dilations, pads ((lo, hi) per spatial axis), groups;
                   W (out, in // groups, *k) applied as CROSS-CORRELATION (already flipped),
                   b (out,) optional. Rank 1, 2 or 3 from W.ndim - 2. Theano's group-major
                   channel order.
conv_transpose     strides, dilations, pads ((lo, hi)), output_size (spatial sizes), groups;
                   W (in, out // groups, *k): the op is the adjoint (gradient w.r.t. its input)
                   of ``conv`` with kernel W (so W maps ``out`` channels to ``in``), i.e.
                   Theano's ``conv2d_transpose(x, W, filter_flip=False)``; b (out,) optional
pool               mode ('max', 'sum', 'average_inc_pad', 'average_exc_pad'), ws, strides,
                   pads (one symmetric int per axis), ignore_border: Theano's pool_2d/pool_3d
global_pool        mode ('max' or 'average') over all spatial axes: (N, C, *s) -> (N, C)
pad                pads ((lo, hi) per spatial axis), value (0.0)
crop               crops ((lo, hi) per spatial axis)
upsample           factors (per spatial axis): nearest-neighbour repetition
dense              W (in, out), b (out,) optional; input (..., in) -> (..., out)
flatten            — (N, *rest) -> (N, prod(rest)) in C order of the legacy layout
reshape            shape (without batch; concrete sizes) in C order of the legacy layout
transpose          perm (a permutation of all axes, batch axis 0 staying first)
activation         fn: linear relu tanh sigmoid hard_sigmoid softmax log_softmax softplus
                   softsign elu selu exp leaky_relu thresholded_relu; alpha (elu, leaky_relu),
                   theta (thresholded_relu), axis (softmax/log_softmax, default -1).
                   ``hard_sigmoid`` is Theano's: clip(0.2 x + 0.5, 0, 1)
prelu              alpha broadcastable against the input without its batch axis
batchnorm          axis, epsilon; gamma, beta, mean, var (each (C,), absent = 1 / 0 / 0 / 1):
                   (x - mean) / sqrt(var + epsilon) * gamma + beta
batchnorm_batch    axis, epsilon; gamma, beta (each (C,), absent = 1 / 0): normalised with the
                   statistics of the batch itself, also in inference (Keras-1 BatchNormalization
                   mode=2): mean and biased variance over every axis but ``axis``
batchnorm_inv_std  axis; gamma, beta, mean, inv_std (Lasagne's BatchNormLayer):
                   (x - mean) * (gamma * inv_std) + beta
lrn                alpha, k, beta, n: Lasagne's LocalResponseNormalization2DLayer over axis 1
scale_bias         axes (the input axes the weights span, e.g. (1,)); scale and/or bias shaped
                   like those axes: x * scale + bias
merge              mode: sum (coeffs optional), mul, ave, max, min, sub, concat (axis), dot
                   (axes), cos (axes, epsilon: dot / max(sqrt(|a|^2 |b|^2), epsilon)); two or
                   more inputs
embedding          W (vocabulary, dim); mask_zero (id 0 masks the step for an rnn);
                   input int ids (N, T) -> (N, T, dim)
repeat_vector      n: (N, F) -> (N, n, F)
rnn                cell ('simple', 'gru', 'lstm'), units, activation, recurrent_activation,
                   return_sequences, go_backwards; kernel (F, k * units), recurrent_kernel
                   (units, k * units), bias (k * units,), gates concatenated in Keras 2's order
                   (LSTM i, f, c, o; GRU z, r, h; GRU without reset_after)
slice              axis, start, stop, step
masking            mask_value: marks time steps whose features all equal it (for rnn)
=================  ==========================================================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

from .._errors import LegacyconvError
from .core import Node, Shape

__all__ = ["BATCH_DEPENDENT_OPS", "OPS", "OpDef", "op_names", "register_op"]

#: ops whose output for one sample depends on the other samples of the batch (a target's runner
#: must see the batch the reference was recorded with)
BATCH_DEPENDENT_OPS = frozenset({"batchnorm_batch"})


@dataclass(frozen=True)
class OpDef:
    """An op: its name, the weights it takes, a one-line description and its shape inference."""

    name: str
    weights: tuple[str, ...]
    doc: str
    infer: Callable[[Node, list[Shape]], Shape]


OPS: dict[str, OpDef] = {}


def register_op(
    name: str, *, weights: tuple[str, ...] = (), doc: str = ""
) -> Callable[[Callable[[Node, list[Shape]], Shape]], Callable[[Node, list[Shape]], Shape]]:
    """Register the decorated shape-inference function as op ``name``."""

    def deco(fn: Callable[[Node, list[Shape]], Shape]) -> Callable[[Node, list[Shape]], Shape]:
        if name in OPS:
            raise RuntimeError(f"graph op {name!r} registered twice")
        OPS[name] = OpDef(name, weights, doc, fn)
        return fn

    return deco


def op_names() -> list[str]:
    """The registered ops, sorted."""
    return sorted(OPS)


# --- helpers -----------------------------------------------------------------------------


def _one(node: Node, shapes: list[Shape]) -> Shape:
    if len(shapes) != 1:
        raise LegacyconvError(f"{node.op} takes one input, got {len(shapes)}")
    return shapes[0]


def _spatial(node: Node, shape: Shape, rank: int) -> tuple[int, ...]:
    """The known spatial sizes of a channels-first input of ``rank`` spatial axes."""
    if len(shape) != rank + 2:
        raise LegacyconvError(
            f"{node.op} with {rank} spatial axes needs a {rank + 2}-D input (batch, channels, "
            f"*spatial); got shape {shape}"
        )
    sizes = shape[2:]
    if any(s is None for s in sizes):
        raise LegacyconvError(f"{node.op} needs known spatial sizes; got shape {shape}")
    return tuple(int(s) for s in sizes)  # type: ignore[arg-type]


def _known(node: Node, shape: Shape, what: str) -> tuple[int, ...]:
    """``shape`` without its batch axis, all sizes known."""
    if any(s is None for s in shape[1:]):
        raise LegacyconvError(f"{what} needs known sizes; got shape {shape}")
    return tuple(int(s) for s in shape[1:] if s is not None)


def _positive(values: Sequence[int], what: str) -> None:
    if any(v < 1 for v in values):
        raise LegacyconvError(f"{what} must be positive; got {tuple(values)}")


def _nonneg(values: Sequence[int], what: str) -> None:
    if any(v < 0 for v in values):
        raise LegacyconvError(f"{what} must be >= 0; got {tuple(values)}")


def _out_sizes_positive(node: Node, in_shape: Shape, out: Sequence[int], why: str) -> None:
    if any(o < 1 for o in out):
        raise LegacyconvError(f"{why}: input {in_shape} gives an empty output {tuple(out)}")


def _pairs(node: Node, key: str, rank: int) -> tuple[tuple[int, int], ...]:
    value = node.attrs.get(key, ((0, 0),) * rank)
    pairs = tuple((int(lo), int(hi)) for lo, hi in value)
    if len(pairs) != rank:
        raise LegacyconvError(f"{key} needs {rank} (low, high) pairs; got {value!r}")
    _nonneg([v for p in pairs for v in p], key)
    return pairs


def _ints(node: Node, key: str, rank: int, default: int) -> tuple[int, ...]:
    value = node.attrs.get(key, (default,) * rank)
    out = tuple(int(v) for v in value)
    if len(out) != rank:
        raise LegacyconvError(f"{key} needs {rank} values; got {value!r}")
    return out


def _conv_out(size: int, k: int, pad: tuple[int, int], stride: int, dilation: int) -> int:
    return (size + pad[0] + pad[1] - ((k - 1) * dilation + 1)) // stride + 1


# --- ops ---------------------------------------------------------------------------------


@register_op("input", doc="a model input")
def _input(node: Node, shapes: list[Shape]) -> Shape:
    if shapes:
        raise LegacyconvError("an input node reads nothing")
    return (None,) + tuple(node.attrs["shape"])


@register_op("identity", doc="the identity in inference (Dropout, noise)")
def _identity(node: Node, shapes: list[Shape]) -> Shape:
    return _one(node, shapes)


@register_op("conv", weights=("W", "b"), doc="N-D convolution (cross-correlation, explicit pads)")
def _conv(node: Node, shapes: list[Shape]) -> Shape:
    x = _one(node, shapes)
    w = node.weights["W"]
    rank = w.ndim - 2
    sizes = _spatial(node, x, rank)
    strides, dilations = _ints(node, "strides", rank, 1), _ints(node, "dilations", rank, 1)
    pads = _pairs(node, "pads", rank)
    groups = int(node.attrs.get("groups", 1))
    _positive(strides, "strides")
    _positive(dilations, "dilations")
    _positive((groups,), "groups")
    if x[1] is not None and x[1] != w.shape[1] * groups:
        raise LegacyconvError(
            f"the kernel {tuple(w.shape)} with groups={groups} expects {w.shape[1] * groups} input "
            f"channels; the input {x} has {x[1]}"
        )
    if w.shape[0] % groups:
        raise LegacyconvError(f"{w.shape[0]} output channels do not split into groups={groups}")
    b = node.weights.get("b")
    if b is not None and b.shape != (w.shape[0],):
        raise LegacyconvError(f"the bias {tuple(b.shape)} does not fit {w.shape[0]} output channels")
    out = [_conv_out(s, k, p, st, d) for s, k, p, st, d in zip(sizes, w.shape[2:], pads, strides, dilations)]
    _out_sizes_positive(node, x, out, f"the kernel {tuple(w.shape[2:])} is larger than the padded input")
    return (x[0], int(w.shape[0]), *out)


@register_op("conv_transpose", weights=("W", "b"), doc="N-D transposed convolution (adjoint of conv)")
def _conv_transpose(node: Node, shapes: list[Shape]) -> Shape:
    x = _one(node, shapes)
    w = node.weights["W"]
    rank = w.ndim - 2
    sizes = _spatial(node, x, rank)
    strides, dilations = _ints(node, "strides", rank, 1), _ints(node, "dilations", rank, 1)
    pads = _pairs(node, "pads", rank)
    groups = int(node.attrs.get("groups", 1))
    out = tuple(int(v) for v in node.attrs["output_size"])
    if len(out) != rank:
        raise LegacyconvError(f"output_size needs {rank} sizes; got {out}")
    if x[1] is not None and x[1] != w.shape[0]:
        raise LegacyconvError(f"the kernel {tuple(w.shape)} expects {w.shape[0]} input channels; got {x}")
    for size, o, k, p, st, d in zip(sizes, out, w.shape[2:], pads, strides, dilations):
        if _conv_out(o, k, p, st, d) != size:
            raise LegacyconvError(
                f"output_size {out} is inconsistent with the input {x}: a conv with kernel "
                f"{tuple(w.shape[2:])}, pads {pads}, strides {strides} maps it to another size"
            )
    return (x[0], int(w.shape[1]) * groups, *out)


@register_op("pool", doc="Theano's pool_2d / pool_3d")
def _pool(node: Node, shapes: list[Shape]) -> Shape:
    from .._pool_plan import _out_size

    x = _one(node, shapes)
    ws = tuple(int(v) for v in node.attrs["ws"])
    rank = len(ws)
    sizes = _spatial(node, x, rank)
    strides = _ints(node, "strides", rank, 1)
    pads = tuple(int(v) for v in node.attrs.get("pads", (0,) * rank))
    ignore_border = bool(node.attrs.get("ignore_border", True))
    mode = node.attrs.get("mode", "max")
    if mode not in ("max", "sum", "average_inc_pad", "average_exc_pad"):
        raise LegacyconvError(f"pool mode {mode!r} is not one of Theano's")
    _positive(ws, "ws")
    _positive(strides, "strides")
    _nonneg(pads, "pads")
    if any(p >= w for p, w in zip(pads, ws)):
        raise LegacyconvError(f"padding {pads} must be smaller than the window {ws}")
    if any(p and not ignore_border for p in pads):
        raise LegacyconvError("padding works only with ignore_border=True")
    out = [_out_size(s, w, st, p, ignore_border) for s, w, st, p in zip(sizes, ws, strides, pads)]
    _out_sizes_positive(node, x, out, f"the window {ws} is larger than the input")
    return (x[0], x[1], *out)


@register_op("global_pool", doc="max or average over all spatial axes")
def _global_pool(node: Node, shapes: list[Shape]) -> Shape:
    x = _one(node, shapes)
    if len(x) < 3:
        raise LegacyconvError(f"global pooling needs spatial axes; got shape {x}")
    return (x[0], x[1])


@register_op("pad", doc="constant padding of the spatial axes")
def _pad(node: Node, shapes: list[Shape]) -> Shape:
    x = _one(node, shapes)
    rank = len(node.attrs["pads"])
    sizes = _spatial(node, x, rank)
    pads = _pairs(node, "pads", rank)
    return (x[0], x[1], *(s + lo + hi for s, (lo, hi) in zip(sizes, pads)))


@register_op("crop", doc="cropping of the spatial axes")
def _crop(node: Node, shapes: list[Shape]) -> Shape:
    x = _one(node, shapes)
    rank = len(node.attrs["crops"])
    sizes = _spatial(node, x, rank)
    crops = _pairs(node, "crops", rank)
    out = [s - lo - hi for s, (lo, hi) in zip(sizes, crops)]
    _out_sizes_positive(node, x, out, f"the crops {crops} remove the whole input")
    return (x[0], x[1], *out)


@register_op("upsample", doc="nearest-neighbour repetition of the spatial axes")
def _upsample(node: Node, shapes: list[Shape]) -> Shape:
    x = _one(node, shapes)
    factors = tuple(int(v) for v in node.attrs["factors"])
    sizes = _spatial(node, x, len(factors))
    _positive(factors, "factors")
    return (x[0], x[1], *(s * f for s, f in zip(sizes, factors)))


@register_op("dense", weights=("W", "b"), doc="x @ W + b over the last axis")
def _dense(node: Node, shapes: list[Shape]) -> Shape:
    x = _one(node, shapes)
    w = node.weights["W"]
    if w.ndim != 2 or x[-1] != w.shape[0]:
        raise LegacyconvError(f"the kernel {tuple(w.shape)} does not fit the input {x}: needs {x[-1]} rows")
    return (*x[:-1], int(w.shape[1]))


@register_op("flatten", doc="(N, *rest) -> (N, prod(rest)), legacy C order")
def _flatten(node: Node, shapes: list[Shape]) -> Shape:
    x = _one(node, shapes)
    return (x[0], math.prod(_known(node, x, "flatten")))


@register_op("reshape", doc="reshape in legacy C order")
def _reshape(node: Node, shapes: list[Shape]) -> Shape:
    x = _one(node, shapes)
    target = tuple(int(v) for v in node.attrs["shape"])
    if math.prod(target) != math.prod(_known(node, x, "reshape")):
        raise LegacyconvError(f"cannot reshape {x} to (batch, *{target}): the sizes differ")
    return (x[0], *target)


@register_op("transpose", doc="permute axes (batch stays first)")
def _transpose(node: Node, shapes: list[Shape]) -> Shape:
    x = _one(node, shapes)
    perm = tuple(int(v) for v in node.attrs["perm"])
    if sorted(perm) != list(range(len(x))) or perm[0] != 0:
        raise LegacyconvError(f"perm {perm} is not a permutation of {len(x)} axes keeping axis 0 first")
    return tuple(x[p] for p in perm)


def _same_shape(node: Node, shapes: list[Shape]) -> Shape:
    return _one(node, shapes)


for _name, _weights, _doc in (
    ("activation", (), "an elementwise (or softmax) activation"),
    ("prelu", ("alpha",), "parametric ReLU"),
    ("batchnorm", ("gamma", "beta", "mean", "var"), "inference batch normalisation"),
    ("batchnorm_batch", ("gamma", "beta"), "batch normalisation with the batch's own statistics"),
    ("batchnorm_inv_std", ("gamma", "beta", "mean", "inv_std"), "Lasagne's batch normalisation"),
    ("lrn", (), "Lasagne's local response normalisation"),
    ("scale_bias", ("scale", "bias"), "x * scale + bias over some axes"),
    ("masking", (), "Keras Masking"),
):
    register_op(_name, weights=_weights, doc=_doc)(_same_shape)


@register_op("merge", doc="elementwise or concatenating merge of several inputs")
def _merge(node: Node, shapes: list[Shape]) -> Shape:
    mode = node.attrs["mode"]
    if len(shapes) < 2:
        raise LegacyconvError(f"merge needs two or more inputs, got {len(shapes)}")
    if mode == "concat":
        axis = int(node.attrs.get("axis", -1))
        rank = len(shapes[0])
        ax = axis % rank
        if ax == 0:
            raise LegacyconvError("concatenating along the batch axis is not supported")
        for s in shapes[1:]:
            if len(s) != rank or any(a != b for i, (a, b) in enumerate(zip(s, shapes[0])) if i != ax):
                raise LegacyconvError(f"cannot concatenate {shapes} along axis {axis}")
        sizes = [s[ax] for s in shapes]
        total = None if any(v is None for v in sizes) else sum(v for v in sizes if v is not None)
        return tuple(total if i == ax else v for i, v in enumerate(shapes[0]))
    if mode in ("dot", "cos"):
        if any(len(s) != 2 for s in shapes) or shapes[0] != shapes[1] or len(shapes) != 2:
            raise LegacyconvError(
                f"merge mode {mode!r} is supported on two (batch, features) inputs; got {shapes}"
            )
        return (shapes[0][0], 1)
    if mode not in ("sum", "mul", "ave", "max", "min", "sub"):
        raise LegacyconvError(f"merge mode {mode!r} is not supported")
    for s in shapes[1:]:
        if s != shapes[0]:
            raise LegacyconvError(f"merge mode {mode!r} needs inputs of one shape; got {shapes}")
    return shapes[0]


@register_op("embedding", weights=("W",), doc="token ids -> vectors")
def _embedding(node: Node, shapes: list[Shape]) -> Shape:
    x = _one(node, shapes)
    return (*x, int(node.weights["W"].shape[1]))


@register_op("repeat_vector", doc="(N, F) -> (N, n, F)")
def _repeat_vector(node: Node, shapes: list[Shape]) -> Shape:
    x = _one(node, shapes)
    if len(x) != 2:
        raise LegacyconvError(f"repeat_vector needs a 2-D input; got {x}")
    return (x[0], int(node.attrs["n"]), x[1])


@register_op("rnn", weights=("kernel", "recurrent_kernel", "bias"), doc="SimpleRNN / GRU / LSTM")
def _rnn(node: Node, shapes: list[Shape]) -> Shape:
    x = _one(node, shapes)
    if len(x) != 3:
        raise LegacyconvError(f"a recurrent layer needs a (batch, steps, features) input; got {x}")
    gates = {"simple": 1, "gru": 3, "lstm": 4}[node.attrs["cell"]]
    units = int(node.attrs["units"])
    k = node.weights["kernel"]
    if k.shape != (x[2], gates * units):
        raise LegacyconvError(f"the kernel {tuple(k.shape)} does not fit the input {x} and {units} units")
    return (x[0], x[1], units) if node.attrs.get("return_sequences") else (x[0], units)


@register_op("slice", doc="x[..., start:stop:step, ...] along one axis")
def _slice(node: Node, shapes: list[Shape]) -> Shape:
    x = _one(node, shapes)
    axis = int(node.attrs["axis"]) % len(x)
    size = x[axis]
    if axis == 0 or size is None:
        raise LegacyconvError(f"cannot slice axis {node.attrs['axis']} of {x}")
    n = len(range(size)[slice(node.attrs.get("start"), node.attrs.get("stop"), node.attrs.get("step"))])
    return tuple(n if i == axis else v for i, v in enumerate(x))


def describe_op(name: str) -> str:
    """One line for ``--help`` tables: the op, its weights and what it does."""
    d = OPS[name]
    w = f" [{', '.join(d.weights)}]" if d.weights else ""
    return f"{name}{w}: {d.doc}"
