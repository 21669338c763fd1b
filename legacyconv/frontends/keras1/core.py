"""Keras-1 Dense and Flatten."""

from __future__ import annotations

from .._registry import translates
from ..keras_common import LayerCall, emit_dense, flattened_map


@translates("Dense", keras=(1,))
def dense(call: LayerCall) -> str:
    """x @ W + b (W is (in, out)), then the activation."""
    if len(call.shape()) != 2 and call.layer.class_name == "Dense":
        # Keras 1's Dense.build asserted a 2-D input (TimeDistributed(Dense) is the 3-D form)
        raise call.error(f"needs a flat (features,) input; its input has shape {call.shape()}")
    use_bias = bool(call.cfg("bias", True))
    call.expect_weights(2 if use_bias else 1)
    w = call.weight("W", index=0, role="dense_kernel", feature_shape=flattened_map(call))
    b = call.weight("b", index=1, role="bias") if use_bias else None
    return emit_dense(call, w, b)


@translates("Flatten", keras=(1,))
def flatten(call: LayerCall) -> str:
    """(N, *rest) -> (N, prod(rest)) in Theano's C order (channels first)."""
    return call.out("flatten", call.inputs)
