"""Keras-2 max and average pooling on Theano (pool_2d / pool_3d, ``'same'`` padded then cropped)."""

from __future__ import annotations

from .._registry import translates
from ..keras_common import LayerCall
from ..keras_emit import emit_pool, ints


def _mode(call: LayerCall) -> str:
    return "max" if call.layer.class_name.startswith("Max") else "average_exc_pad"


@translates(
    "MaxPooling1D",
    "AveragePooling1D",
    "MaxPooling2D",
    "AveragePooling2D",
    "MaxPooling3D",
    "AveragePooling3D",
    keras=(2,),
)
def pooling(call: LayerCall) -> str:
    """``pool_size``, ``strides`` (default: the pool size), ``padding`` valid/same."""
    rank = int(call.layer.class_name[-2])
    sequence = rank == 1 and call.cfg("data_format", "channels_last") != "channels_first"
    if rank > 1:
        call.channels_first()
    size = ints(call.cfg("pool_size", 2), rank, "pool_size", call)
    strides = ints(call.cfg("strides") or size, rank, "strides", call)
    # Keras 2's pool3d pads odd pools by pool - 2 even for a pool of 1; pool2d (and 1-D) only above 2
    return emit_pool(
        call,
        call.inputs[0],
        size,
        strides,
        call.cfg("padding", "valid"),
        _mode(call),
        sequence=sequence,
        odd_rule_above_two=rank < 3,
    )
