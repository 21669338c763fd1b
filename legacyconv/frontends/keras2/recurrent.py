"""Keras-2 SimpleRNN, GRU and LSTM (concatenated kernel, recurrent_kernel, bias)."""

from __future__ import annotations

import numpy as np

from .._registry import translates
from ..keras_common import LayerCall
from ..keras_emit import emit_rnn

_GATES = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}
_CELLS = {"SimpleRNN": "simple", "GRU": "gru", "LSTM": "lstm"}


@translates("SimpleRNN", "GRU", "LSTM", keras=(2,))
def recurrent(call: LayerCall) -> str:
    """``units``, ``activation``, ``recurrent_activation``, ``use_bias``, ``go_backwards``, ``return_sequences``."""
    cls = call.layer.class_name
    for key in ("stateful", "return_state", "reset_after"):
        if call.cfg(key):
            raise call.fail(f"{key}=True is not supported")
    units, k = int(call.cfg("units")), _GATES[cls]
    use_bias = bool(call.cfg("use_bias", True))
    call.expect_weights(3 if use_bias else 2)
    kernel = call.weight("kernel", index=0)
    recurrent_kernel = call.weight("recurrent_kernel", index=1)
    bias = call.weight("bias", index=2) if use_bias else np.zeros(k * units, np.float32)
    rec = call.cfg("recurrent_activation", "hard_sigmoid") if cls != "SimpleRNN" else "hard_sigmoid"
    return emit_rnn(call, _CELLS[cls], units, rec, kernel, recurrent_kernel, bias)
