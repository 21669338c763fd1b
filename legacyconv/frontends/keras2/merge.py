"""Keras-2 merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot."""

from __future__ import annotations

from .._registry import translates
from ..keras_common import LayerCall
from ..keras_emit import check_feature_dot

_MODES = {
    "Add": "sum",
    "Subtract": "sub",
    "Multiply": "mul",
    "Average": "ave",
    "Maximum": "max",
    "Minimum": "min",
}


@translates(*_MODES, keras=(2,))
def elementwise(call: LayerCall) -> str:
    """Elementwise merges of inputs of one shape."""
    return call.out("merge", call.inputs, {"mode": _MODES[call.layer.class_name]})


@translates("Concatenate", keras=(2,))
def concatenate(call: LayerCall) -> str:
    """Concatenation along ``axis``."""
    return call.out("merge", call.inputs, {"mode": "concat", "axis": int(call.cfg("axis", -1))})


@translates("Dot", keras=(2,))
def dot(call: LayerCall) -> str:
    """Dot of two (batch, features) inputs (``normalize=True``: the cosine) -> (batch, 1)."""
    check_feature_dot(call, call.cfg("axes", -1), "Dot")
    if call.cfg("normalize", False):
        return call.out("merge", call.inputs, {"mode": "cos", "axes": (1, 1), "epsilon": 1e-7})
    return call.out("merge", call.inputs, {"mode": "dot", "axes": (1, 1)})
