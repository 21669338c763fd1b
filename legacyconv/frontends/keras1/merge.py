"""Keras-1 Merge (the layer, and what the ``merge()`` function builds)."""

from __future__ import annotations

from .._registry import translates
from ..keras_common import LayerCall
from ..keras_emit import check_feature_dot

_MODES = {
    "sum": "sum",
    "mul": "mul",
    "ave": "ave",
    "max": "max",
    "concat": "concat",
    "dot": "dot",
    "cos": "cos",
}


@translates("Merge", keras=(1,))
def merge(call: LayerCall) -> str:
    """sum / mul / ave / max / concat (``concat_axis``) / dot and cos of two (batch, features) inputs."""
    mode = call.cfg("mode", "sum")
    if call.cfg("mode_type", "raw") != "raw" or mode not in _MODES:
        raise call.fail(
            f"mode={mode!r} (a Python function) cannot be migrated; supported modes: {sorted(_MODES)}"
        )
    if len(call.inputs) < 2:
        raise call.error(f"merges {len(call.inputs)} input(s)")
    if mode == "concat":
        return call.out("merge", call.inputs, {"mode": "concat", "axis": int(call.cfg("concat_axis", -1))})
    if mode in ("dot", "cos"):
        check_feature_dot(call, call.cfg("dot_axes", -1), f"mode={mode!r}")
        if mode == "dot":
            return call.out("merge", call.inputs, {"mode": "dot", "axes": (1, 1)})
        # Keras 1 returns cos as (batch, 1, 1): K.expand_dims of batch_dot's (batch, 1)
        cos = call.helper("merge", "cos", call.inputs, {"mode": "cos", "axes": (1, 1), "epsilon": 1e-7})
        return call.out("reshape", [cos], {"shape": (1, 1)})
    return call.out("merge", call.inputs, {"mode": _MODES[mode]})
