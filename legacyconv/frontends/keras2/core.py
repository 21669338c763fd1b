"""Keras-2 Dense and Flatten."""

from __future__ import annotations

from .._registry import translates
from ..keras_common import LayerCall
from ..keras_emit import emit_dense


@translates("Dense", keras=(2,))
def dense(call: LayerCall) -> str:
    """x @ kernel + bias over the last axis, then the activation."""
    use_bias = bool(call.cfg("use_bias", True))
    call.expect_weights(2 if use_bias else 1)
    w = call.weight("kernel", index=0)
    b = call.weight("bias", index=1) if use_bias else None
    return emit_dense(call, w, b)


@translates("Flatten", keras=(2,))
def flatten(call: LayerCall) -> str:
    """(N, *rest) -> (N, prod(rest)); with ``data_format='channels_first'`` Keras 2.2 moves the
    channel axis last before flattening (to keep the weight order of a channels-last model)."""
    rank = len(call.shape())
    if call.cfg("data_format") == "channels_first" and rank >= 3:
        moved = call.helper("transpose", "channels_last", call.inputs, {"perm": (0, *range(2, rank), 1)})
        return call.out("flatten", [moved])
    return call.out("flatten", call.inputs)
