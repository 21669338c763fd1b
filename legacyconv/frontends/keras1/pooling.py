"""Keras-1 max and average pooling (Theano's pool_2d / pool_3d, ``'same'`` padded then cropped)."""

from __future__ import annotations

from .._registry import translates
from ..keras_common import LayerCall
from ..keras_emit import emit_pool, ints


def _mode(call: LayerCall) -> str:
    return "max" if call.layer.class_name.startswith("Max") else "average_exc_pad"


@translates("MaxPooling1D", "AveragePooling1D", keras=(1,))
def pooling1d(call: LayerCall) -> str:
    """Pooling of (N, steps, features) sequences: ``pool_length``, ``stride``, ``border_mode``."""
    length = int(call.cfg("pool_length", 2))
    stride = int(call.cfg("stride") or length)
    return emit_pool(
        call,
        call.inputs[0],
        (length,),
        (stride,),
        call.cfg("border_mode", "valid"),
        _mode(call),
        sequence=True,
    )


@translates("MaxPooling2D", "AveragePooling2D", keras=(1,))
def pooling2d(call: LayerCall) -> str:
    """pool_2d(ignore_border=True); 'same' pads pool - 1 (pool - 2 for odd pools > 2) and crops."""
    call.channels_first()
    size = ints(call.cfg("pool_size", 2), 2, "pool_size", call)
    strides = ints(call.cfg("strides") or size, 2, "strides", call)
    return emit_pool(call, call.inputs[0], size, strides, call.cfg("border_mode", "valid"), _mode(call))


@translates("MaxPooling3D", "AveragePooling3D", keras=(1,))
def pooling3d(call: LayerCall) -> str:
    """pool_3d(ignore_border=True); 'same' pads pool - 1 (pool - 2 for odd pools) and crops."""
    call.channels_first()
    size = ints(call.cfg("pool_size", 2), 3, "pool_size", call)
    strides = ints(call.cfg("strides") or size, 3, "strides", call)
    return emit_pool(
        call,
        call.inputs[0],
        size,
        strides,
        call.cfg("border_mode", "valid"),
        _mode(call),
        odd_rule_above_two=False,
    )
