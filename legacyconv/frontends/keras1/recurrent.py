"""Keras-1 SimpleRNN, GRU and LSTM: per-gate weight lists or ``consume_less='gpu'`` concatenations.

Keras 1 stored a recurrent layer either as one array per gate (``W_i, U_i, b_i, W_c, ...`` with
``consume_less='cpu'`` or ``'mem'``) or as concatenated ``W, U, b`` (``consume_less='gpu'``, gates
already in the order i, f, c, o / z, r, h). The graph holds Keras 2's concatenated layout.
"""

from __future__ import annotations

import numpy as np

from .._registry import translates
from ..keras_common import KERAS_ACTIVATIONS, LayerCall

_GATES = {"SimpleRNN": ("",), "GRU": ("z", "r", "h"), "LSTM": ("i", "f", "c", "o")}
_CELLS = {"SimpleRNN": "simple", "GRU": "gru", "LSTM": "lstm"}


def _recurrent_weights(call: LayerCall, gates: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    names = {n for n, _ in call.layer.weights}
    if {"W", "U", "b"} <= names or gates == ("",):
        call.expect_weights(3)
        w, u, b = (call.weight(n, index=i, role="keep") for i, n in enumerate(("W", "U", "b")))
        return w, u, b
    call.expect_weights(3 * len(gates))
    parts = [[call.weight(f"{kind}_{g}", role="keep") for g in gates] for kind in ("W", "U", "b")]
    w, u, b = (np.concatenate(p, axis=-1) for p in parts)
    return w, u, b


@translates("SimpleRNN", "GRU", "LSTM", keras=(1,))
def recurrent(call: LayerCall) -> str:
    """A recurrent layer in inference: ``output_dim``, ``activation``, ``inner_activation``, ``go_backwards``, ``return_sequences``."""
    cls = call.layer.class_name
    if call.cfg("stateful"):
        raise call.fail("stateful=True carries state between batches; only stateless layers are migrated")
    units = int(call.cfg("output_dim"))
    kernel, recurrent_kernel, bias = _recurrent_weights(call, _GATES[cls])
    k = len(_GATES[cls])
    features = call.shape()[-1]
    if (
        kernel.shape != (features, k * units)
        or recurrent_kernel.shape != (units, k * units)
        or bias.shape != (k * units,)
    ):
        raise call.error(
            f"weights W {kernel.shape}, U {recurrent_kernel.shape}, b {bias.shape} do not fit {units} units of "
            f"input {call.shape()}"
        )
    inner = call.cfg("inner_activation", "hard_sigmoid")
    if inner not in KERAS_ACTIVATIONS:
        raise call.fail(f"inner_activation {inner!r} is not supported")
    attrs = {
        "cell": _CELLS[cls],
        "units": units,
        "activation": call.activation_fn(),
        "recurrent_activation": KERAS_ACTIVATIONS[inner],
        "return_sequences": bool(call.cfg("return_sequences", False)),
        "go_backwards": bool(call.cfg("go_backwards", False)),
    }
    weights = {"kernel": kernel, "recurrent_kernel": recurrent_kernel, "bias": bias}
    return call.out("rnn", call.inputs, attrs, weights)
