"""``rnn`` (SimpleRNN / GRU / LSTM) and ``masking`` as stock Keras 3 layers.

The graph's recurrent weights are already in Keras 2/3's layout and gate order (GRU without
``reset_after``, which Keras 3 keeps as ``reset_after=False``). Theano's ``hard_sigmoid`` is
``clip(0.2 z + 0.5, 0, 1)``; Keras 3's is ``relu6(z + 3) / 6 = clip(z / 6 + 0.5, 0, 1)``. So
Theano's on ``z`` is Keras 3's on ``1.2 z``, and every gate using it gets its kernel, recurrent
kernel and bias columns multiplied by 1.2 (``1.2 z = x (1.2 W) + h (1.2 U) + 1.2 b``: a gate's
pre-activation is linear in its weights). A candidate using it (SimpleRNN, GRU's ``h``) is scaled
the same way; LSTM applies its ``activation`` to the cell state too, which is not linear in the
weights, so an LSTM with ``activation='hard_sigmoid'`` is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...graph import Node
from ._context import KerasBuild, Perm, emits, identity_perm, refuses
from .activation import KERAS_ACTIVATIONS

__all__ = ["HARD_SIGMOID_SCALE"]

#: Theano's hard_sigmoid slope (0.2) over Keras 3's (1 / 6)
HARD_SIGMOID_SCALE = 1.2

# per cell: which gate blocks use the recurrent activation, and which the activation
_GATES = {
    "simple": ((), (0,)),
    "gru": ((0, 1), (2,)),  # z, r | h
    "lstm": ((0, 1, 3), (2,)),  # i, f, o | c
}


def _keras_activation(fn: str) -> str:
    return "hard_sigmoid" if fn == "hard_sigmoid" else KERAS_ACTIVATIONS[fn]


@refuses("rnn")
def _rnn_refusal(node: Node) -> str | None:
    act = node.attrs.get("activation", "tanh")
    rec = node.attrs.get("recurrent_activation", "hard_sigmoid")
    for fn in (act, rec):
        if fn != "hard_sigmoid" and fn not in KERAS_ACTIVATIONS:
            return f"recurrent activation {fn!r} is not supported"
    if node.attrs["cell"] == "lstm" and act == "hard_sigmoid":
        return (
            "an LSTM with activation='hard_sigmoid' applies Theano's hard_sigmoid to its cell state, "
            "which Keras 3's (slope 1/6) cannot reproduce"
        )
    return None


@emits("rnn")
def emit_rnn(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``rnn`` → SimpleRNN / GRU(reset_after=False) / LSTM, hard_sigmoid gates rescaled by 1.2."""
    cell = node.attrs["cell"]
    units = int(node.attrs["units"])
    act = node.attrs.get("activation", "tanh")
    rec = node.attrs.get("recurrent_activation", "hard_sigmoid")
    gates, candidates = _GATES[cell]
    kernel = np.array(node.weights["kernel"], dtype=np.float64)
    recurrent = np.array(node.weights["recurrent_kernel"], dtype=np.float64)
    bias = node.weights.get("bias")
    bias = np.zeros(kernel.shape[1]) if bias is None else np.array(bias, dtype=np.float64)
    scaled = (gates if rec == "hard_sigmoid" else ()) + (candidates if act == "hard_sigmoid" else ())
    for g in scaled:
        cols = slice(g * units, (g + 1) * units)
        kernel[:, cols] *= HARD_SIGMOID_SCALE
        recurrent[:, cols] *= HARD_SIGMOID_SCALE
        bias[cols] *= HARD_SIGMOID_SCALE
    common = dict(
        activation=_keras_activation(act),
        return_sequences=bool(node.attrs.get("return_sequences", False)),
        go_backwards=bool(node.attrs.get("go_backwards", False)),
        name=b.name(node),
    )
    if cell == "simple":
        layer = b.layers.SimpleRNN(units, **common)
    elif cell == "gru":
        layer = b.layers.GRU(units, recurrent_activation=_keras_activation(rec), reset_after=False, **common)
    else:
        layer = b.layers.LSTM(units, recurrent_activation=_keras_activation(rec), **common)
    x = b.legacy(node.inputs[0])
    out = b.apply(layer, x, [kernel, recurrent, bias])
    return out, identity_perm(3 if common["return_sequences"] else 2)


@emits("masking")
def emit_masking(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``masking`` → Masking (zeroes and masks the steps whose features all equal ``mask_value``)."""
    x = b.legacy(node.inputs[0])
    layer = b.layers.Masking(float(node.attrs.get("mask_value", 0.0)), name=b.name(node))
    return layer(x), identity_perm(b.rank(node.inputs[0]))
