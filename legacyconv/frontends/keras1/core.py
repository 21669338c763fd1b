"""Keras-1 Dense, Flatten, TimeDistributedDense, MaxoutDense and Highway."""

from __future__ import annotations

import numpy as np

from .._registry import translates
from ..keras_common import LayerCall
from ..keras_emit import emit_dense, flattened_map


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


@translates("TimeDistributedDense", keras=(1,))
def time_distributed_dense(call: LayerCall) -> str:
    """The same Dense applied to every step of (N, steps, features)."""
    if len(call.shape()) != 3:
        raise call.error(f"needs a (steps, features) input; its input has shape {call.shape()}")
    use_bias = bool(call.cfg("bias", True))
    call.expect_weights(2 if use_bias else 1)
    w = call.weight("W", index=0, role="keep")
    b = call.weight("b", index=1, role="bias") if use_bias else None
    return emit_dense(call, w, b)


@translates("MaxoutDense", keras=(1,))
def maxout_dense(call: LayerCall) -> str:
    """max over ``nb_feature`` linear pieces: dense to every piece, then a max over the pieces."""
    if len(call.shape()) != 2:
        raise call.error(f"needs a flat (features,) input; its input has shape {call.shape()}")
    use_bias = bool(call.cfg("bias", True))
    call.expect_weights(2 if use_bias else 1)
    w = call.weight("W", index=0)  # (nb_feature, input_dim, output_dim)
    pieces, features, units = w.shape
    b = call.weight("b", index=1) if use_bias else None
    kernel = np.ascontiguousarray(w.transpose(1, 0, 2).reshape(features, pieces * units))
    bias = None if b is None else b.reshape(pieces * units)
    y = call.helper("dense", "pieces", call.inputs, weights={"W": kernel, "b": bias})
    y = call.helper("reshape", "by_piece", [y], {"shape": (pieces, units)})
    y = call.helper("transpose", "units_first", [y], {"perm": (0, 2, 1)})
    return call.out("global_pool", [y], {"mode": "max"})


@translates("Highway", keras=(1,))
def highway(call: LayerCall) -> str:
    """t * act(x W + b) + (1 - t) * x with t = sigmoid(x W_carry + b_carry), as x + t * (h - x)."""
    if len(call.shape()) != 2:
        raise call.error(f"needs a flat (features,) input; its input has shape {call.shape()}")
    use_bias = bool(call.cfg("bias", True))
    call.expect_weights(4 if use_bias else 2)
    w, w_carry = call.weight("W"), call.weight("W_carry")
    b = call.weight("b") if use_bias else None
    b_carry = call.weight("b_carry") if use_bias else None
    x = call.inputs[0]
    pre = call.helper("dense", "transform_preact", [x], weights={"W": w_carry, "b": b_carry})
    t = call.helper("activation", "transform", [pre], {"fn": "sigmoid"})
    h = call.helper("dense", "preact", [x], weights={"W": w, "b": b})
    fn = call.activation_fn()
    if fn != "linear":
        h = call.helper("activation", "activation", [h], {"fn": fn})
    delta = call.helper("merge", "minus_input", [h, x], {"mode": "sub"})
    gated = call.helper("merge", "gated", [t, delta], {"mode": "mul"})
    return call.out("merge", [x, gated], {"mode": "sum"})
