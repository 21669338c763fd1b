"""The ``rnn`` emitter: Keras' SimpleRNN / GRU / LSTM on Theano as ONNX ``RNN`` / ``GRU`` / ``LSTM``.

ONNX's recurrent operators compute Keras' equations with other gate orders (LSTM: ONNX i, o, f, c
from Keras' i, f, c, o; GRU z, r, h in both, ``linear_before_reset=0`` being Keras 2's GRU without
``reset_after``) and with one bias per weight matrix (Keras' bias goes on ``W``, zeros on ``R``).
Theano's hard_sigmoid is ``HardSigmoid(alpha=0.2, beta=0.5)``. ``go_backwards`` reverses the
sequence before a forward pass (Keras returns the outputs in processing order).

A masked layer (``Masking`` or ``Embedding(mask_zero=True)`` upstream) keeps its previous output
and states at masked steps, which ONNX's operators cannot express (their ``sequence_lens`` only
cuts trailing steps, and zeroes the outputs there): it is unrolled step by step with ``MatMul``
and ``Where`` instead, in Keras' own gate order. ``to_onnx(..., unroll_rnn=True)`` unrolls every
recurrent layer that way, for runtimes whose ``LSTM``/``GRU``/``RNN`` ignore the ``activations``
attribute (the ``onnx`` package's own reference implementation does).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from ...graph.core import Node
from .builder import OnnxBuilder, emits
from .emitters import INT64_MIN, activation_into

__all__: list[str] = []

#: graph activation -> (ONNX recurrent activation, alpha, beta); alpha/beta None where unused
_ACTIVATIONS: dict[str, tuple[str, float | None, float | None]] = {
    "tanh": ("Tanh", None, None),
    "sigmoid": ("Sigmoid", None, None),
    "hard_sigmoid": ("HardSigmoid", 0.2, 0.5),
    "relu": ("Relu", None, None),
    "linear": ("Affine", 1.0, 0.0),
    "softsign": ("Softsign", None, None),
    "softplus": ("Softplus", None, None),
}

#: ONNX gate order as indices into Keras' concatenated gates
_GATE_ORDER = {"simple": [0], "gru": [0, 1, 2], "lstm": [0, 3, 1, 2]}  # LSTM: i, o, f, c from i, f, c, o
_OPS = {"simple": "RNN", "gru": "GRU", "lstm": "LSTM"}


def _gates(w: np.ndarray, cell: str, units: int) -> np.ndarray:
    """Keras-order gate blocks along the last axis -> ONNX order, as ``(1, gates * units, rows)``."""
    blocks = [w[..., g * units : (g + 1) * units] for g in _GATE_ORDER[cell]]
    return np.concatenate(blocks, axis=-1).T[None]


def _mask_origin(b: OnnxBuilder, name: str) -> Node | None:
    """The node whose Keras mask reaches ``name`` (the rules of :mod:`legacyconv.graph.numpy_runner`)."""
    from ...graph.numpy_runner import EVALUATORS

    node = b.graph.nodes[name]
    if node.op == "masking" or (node.op == "embedding" and node.attrs.get("mask_zero")):
        return node
    if node.op == "rnn":
        return _mask_origin(b, node.inputs[0]) if node.attrs.get("return_sequences") else None
    entry = EVALUATORS.get(node.op)
    if node.inputs and entry is not None and entry.keeps_mask:
        return _mask_origin(b, node.inputs[0])
    return None


def _reversed_in_time(b: OnnxBuilder, node: Node, x: str) -> str:
    starts, ends = b.ints(node, "rev_starts", [-1]), b.ints(node, "rev_ends", [INT64_MIN])
    axes, steps = b.ints(node, "rev_axes", [1]), b.ints(node, "rev_steps", [-1])
    return b.step(node, "reversed", "Slice", [x, starts, ends, axes, steps])


@emits("rnn")
def _rnn(b: OnnxBuilder, node: Node, xs: list[str]) -> None:
    cell = node.attrs["cell"]
    if cell not in _OPS:
        raise LegacyconvError(f"rnn cell must be 'simple', 'gru' or 'lstm'; got {cell!r}")
    origin = _mask_origin(b, node.inputs[0])
    if origin is not None or b.options.get("unroll_rnn"):
        _unrolled(b, node, xs[0], None if origin is None else _mask(b, origin))
        return
    units = int(node.attrs["units"])
    dtype = b.in_dtype(node)
    act = node.attrs.get("activation", "tanh")
    rec = node.attrs.get("recurrent_activation", "hard_sigmoid")
    names = [act] if cell == "simple" else [rec, act] + ([act] if cell == "lstm" else [])
    unknown = [a for a in names if a not in _ACTIVATIONS]
    if unknown:
        raise LegacyconvError(
            f"recurrent activation(s) {unknown} have no ONNX equivalent; known: {sorted(_ACTIVATIONS)}"
        )
    acts = [_ACTIVATIONS[a] for a in names]
    attrs: dict[str, Any] = {"hidden_size": units, "activations": [a[0] for a in acts]}
    if any(a[1] is not None for a in acts):
        # the activations that take parameters consume them in order; the others take none
        attrs["activation_alpha"] = [a[1] for a in acts if a[1] is not None]
        attrs["activation_beta"] = [a[2] for a in acts if a[2] is not None]
    if cell == "gru":
        attrs["linear_before_reset"] = 0
    kernel = _gates(np.asarray(node.weights["kernel"], dtype), cell, units)
    recurrent = _gates(np.asarray(node.weights["recurrent_kernel"], dtype), cell, units)
    bias = node.weights.get("bias")
    gates = len(_GATE_ORDER[cell]) * units
    wb = (
        np.zeros((1, gates), dtype)
        if bias is None
        else _gates(np.asarray(bias, dtype)[None], cell, units)[:, :, 0]
    )
    x = _reversed_in_time(b, node, xs[0]) if node.attrs.get("go_backwards") else xs[0]
    time_major = b.step(node, "time_major", "Transpose", [x], perm=[1, 0, 2])
    weights = [b.const(node, "W", kernel), b.const(node, "R", recurrent)]
    inputs = [time_major, *weights, b.const(node, "B", np.concatenate([wb, np.zeros_like(wb)], axis=1))]
    if node.attrs.get("return_sequences"):
        y = b.fresh(node, "Y")
        b.op_multi(_OPS[cell], inputs, [y], **attrs)
        squeezed = b.step(node, "Y_squeezed", "Squeeze", [y, b.ints(node, "dir_axis", [1])])
        b.op("Transpose", [squeezed], node.name, perm=[1, 0, 2])
    else:
        y_h = b.fresh(node, "Y_h")
        b.op_multi(_OPS[cell], inputs, ["", y_h], **attrs)
        b.op("Squeeze", [y_h, b.ints(node, "dir_axis", [0])], node.name)


def _mask(b: OnnxBuilder, origin: Node) -> str:
    """A boolean ``(batch, steps)`` tensor: True where ``origin``'s Keras mask keeps the step."""
    x = origin.inputs[0]
    dtype = b.in_dtype(origin)
    if origin.op == "embedding":
        zero = b.const(origin, "mask_zero_id", 0, dtype)
        return b.step(origin, "mask", "Not", [b.step(origin, "mask_is_zero", "Equal", [x, zero])])
    # Masking: a step is kept when any feature differs from mask_value
    value = b.const(origin, "mask_value_for_rnn", float(origin.attrs.get("mask_value", 0.0)), dtype)
    differs = b.step(origin, "mask_differs", "Not", [b.step(origin, "mask_equal", "Equal", [x, value])])
    as_float = b.step(origin, "mask_differs_float", "Cast", [differs], to=b.onnx.TensorProto.FLOAT)
    any_ = b.reduce(origin, "mask_any", "ReduceMax", as_float, [-1], keepdims=False)
    return b.step(origin, "mask", "Cast", [any_], to=b.onnx.TensorProto.BOOL)


def _unrolled(b: OnnxBuilder, node: Node, x: str, mask: str | None) -> None:
    """Keras' Theano ``rnn`` one step at a time (``MatMul``, elementwise ops, ``Where``): with a
    ``mask``, masked steps keep the previous output and states."""
    cell = node.attrs["cell"]
    units = int(node.attrs["units"])
    steps = b.in_shape(node)[1]
    if steps is None:
        raise LegacyconvError(
            f"a masked recurrent layer needs a known number of steps; got {b.in_shape(node)}"
        )
    dtype = b.in_dtype(node)
    act = node.attrs.get("activation", "tanh")
    rec = node.attrs.get("recurrent_activation", "hard_sigmoid")
    kernel = np.asarray(node.weights["kernel"], dtype)
    rk = np.asarray(node.weights["recurrent_kernel"], dtype)
    xw = b.step(node, "xw", "MatMul", [x, b.const(node, "kernel", kernel)])
    if node.weights.get("bias") is not None:
        xw = b.step(node, "xw_b", "Add", [xw, b.const(node, "bias", np.asarray(node.weights["bias"], dtype))])
    # zeros (batch, units) for the initial states, batch taken from the input
    batch = b.step(
        node, "batch", "Slice", [b.step(node, "shape", "Shape", [x]), *_range(b, node, "batch", 0, 1)]
    )
    state_shape = b.step(node, "state_shape", "Concat", [batch, b.ints(node, "units", [units])], axis=0)
    h = b.step(node, "h0", "Expand", [b.const(node, "zero_state", np.zeros((1, units), dtype)), state_shape])
    c = h
    u = units
    one = b.const(node, "one", 1.0, dtype)
    gates_rk = {
        "simple": [("R", rk)],
        "lstm": [("R", rk)],
        "gru": [("R_zr", rk[:, : 2 * u]), ("R_h", rk[:, 2 * u :])],
    }[cell]
    rks = {name: b.const(node, name, w) for name, w in gates_rk}
    order = range(steps - 1, -1, -1) if node.attrs.get("go_backwards") else range(steps)
    outs = []

    def act_of(fn: str, v: str, tag: str) -> str:
        out = b.fresh(node, tag)
        activation_into(b, node, v, fn, {}, out)
        return out

    def part(v: str, k: int, tag: str) -> str:
        return b.step(node, tag, "Slice", [v, *_range(b, node, tag, k * u, (k + 1) * u, axis=-1)])

    for n, t in enumerate(order):
        s = f"t{n}"
        z = b.step(node, f"{s}_z", "Gather", [xw, b.ints(node, f"{s}_index", [t])], axis=1)
        z = b.step(node, f"{s}_zs", "Squeeze", [z, b.ints(node, f"{s}_axis", [1])])
        if cell == "simple":
            r = b.step(node, f"{s}_r", "MatMul", [h, rks["R"]])
            h_new = act_of(act, b.step(node, f"{s}_pre", "Add", [z, r]), f"{s}_h")
            c_new = c
        elif cell == "lstm":
            r = b.step(node, f"{s}_r", "MatMul", [h, rks["R"]])
            pre = b.step(node, f"{s}_pre", "Add", [z, r])
            i, f, g, o = (part(pre, k, f"{s}_g{k}") for k in range(4))
            i, f, o = (act_of(rec, v, f"{s}_{tag}") for v, tag in ((i, "i"), (f, "f"), (o, "o")))
            fc = b.step(node, f"{s}_fc", "Mul", [f, c])
            ig = b.step(node, f"{s}_ig", "Mul", [i, act_of(act, g, f"{s}_g")])
            c_new = b.step(node, f"{s}_c", "Add", [fc, ig])
            h_new = b.step(node, f"{s}_h", "Mul", [o, act_of(act, c_new, f"{s}_ac")])
        else:
            zr = b.step(node, f"{s}_zr", "MatMul", [h, rks["R_zr"]])
            upd = act_of(
                rec, b.step(node, f"{s}_zu", "Add", [part(z, 0, f"{s}_x0"), part(zr, 0, f"{s}_r0")]), f"{s}_u"
            )
            rst = act_of(
                rec,
                b.step(node, f"{s}_zrr", "Add", [part(z, 1, f"{s}_x1"), part(zr, 1, f"{s}_r1")]),
                f"{s}_rs",
            )
            rh = b.step(node, f"{s}_rh", "MatMul", [b.step(node, f"{s}_rxh", "Mul", [rst, h]), rks["R_h"]])
            hh = act_of(act, b.step(node, f"{s}_hpre", "Add", [part(z, 2, f"{s}_x2"), rh]), f"{s}_hh")
            # h = u * h + (1 - u) * hh, in Keras' order of operations
            keep_old = b.step(node, f"{s}_uh", "Mul", [upd, h])
            new_part = b.step(node, f"{s}_nh", "Mul", [b.step(node, f"{s}_1mu", "Sub", [one, upd]), hh])
            h_new = b.step(node, f"{s}_h", "Add", [keep_old, new_part])
            c_new = c
        if mask is None:
            h, c = h_new, c_new
        else:
            keep = b.step(node, f"{s}_keep", "Gather", [mask, b.ints(node, f"{s}_mask_index", [t])], axis=1)
            h = b.step(node, f"{s}_h_kept", "Where", [keep, h_new, h])
            if cell == "lstm":
                c = b.step(node, f"{s}_c_kept", "Where", [keep, c_new, c])
        outs.append(h)
    if node.attrs.get("return_sequences"):
        seq = [
            b.step(node, f"t{n}_out", "Unsqueeze", [o, b.ints(node, f"t{n}_out_axis", [1])])
            for n, o in enumerate(outs)
        ]
        b.op("Concat", seq, node.name, axis=1)
    else:
        b.op("Identity", [h], node.name)


def _range(b: OnnxBuilder, node: Node, tag: str, start: int, stop: int, axis: int = 0) -> list[str]:
    """Slice inputs ``starts, ends, axes`` for ``[start:stop]`` along ``axis``."""
    return [
        b.ints(node, f"{tag}_start", [start]),
        b.ints(node, f"{tag}_stop", [stop]),
        b.ints(node, f"{tag}_axes", [axis]),
    ]
