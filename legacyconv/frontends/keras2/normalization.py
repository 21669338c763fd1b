"""Keras-2 BatchNormalization."""

from __future__ import annotations

from .._registry import translates
from ..keras_common import LayerCall
from ..keras_emit import emit_batchnorm


@translates("BatchNormalization", keras=(2,))
def batch_normalization(call: LayerCall) -> str:
    """Inference: (x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta (``scale`` /
    ``center`` off: no gamma / beta)."""
    scale, center = bool(call.cfg("scale", True)), bool(call.cfg("center", True))
    call.expect_weights(2 + scale + center)
    weights = {
        "gamma": call.weight("gamma") if scale else None,
        "beta": call.weight("beta") if center else None,
        "mean": call.weight("moving_mean"),
        "var": call.weight("moving_variance"),
    }
    return emit_batchnorm(call, int(call.cfg("axis", -1)), float(call.cfg("epsilon", 1e-3)), weights)
