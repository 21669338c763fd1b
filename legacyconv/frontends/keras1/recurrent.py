"""Keras-1 SimpleRNN, GRU and LSTM: per-gate weight lists or ``consume_less='gpu'`` concatenations.

Keras 1 stored a recurrent layer either as one array per gate (``W_i, U_i, b_i, W_c, ...`` with
``consume_less='cpu'`` or ``'mem'``) or as concatenated ``W, U, b`` (``consume_less='gpu'``, gates
already in the order i, f, c, o / z, r, h). The graph holds Keras 2's concatenated layout.
"""

from __future__ import annotations

import numpy as np

from .._registry import translates
from ..keras_common import LayerCall
from ..keras_emit import emit_rnn

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
    kernel, recurrent_kernel, bias = _recurrent_weights(call, _GATES[cls])
    inner = call.cfg("inner_activation", "hard_sigmoid")
    return emit_rnn(call, _CELLS[cls], int(call.cfg("output_dim")), inner, kernel, recurrent_kernel, bias)
