"""Keras-1 BatchNormalization."""

from __future__ import annotations

from .._registry import translates
from ..keras_common import LayerCall, emit_batchnorm


@translates("BatchNormalization", keras=(1,))
def batch_normalization(call: LayerCall) -> str:
    """Mode 0 in inference: (x - running_mean) / sqrt(running_std + epsilon) * gamma + beta.

    Keras 1 stored the moving *variance* under the name ``running_std``. Modes 1 (per-sample
    statistics) and 2 (per-batch statistics, also in inference) depend on the batch, not on the
    stored weights, and are refused.
    """
    mode = int(call.cfg("mode", 0))
    if mode != 0:
        raise call.fail(
            f"mode={mode} normalises with statistics of the "
            f"{'sample' if mode == 1 else 'batch'} at inference time, which a migrated model cannot "
            "reproduce from stored weights; only mode=0 is supported"
        )
    call.expect_weights(4)
    weights = {
        "gamma": call.weight("gamma", index=0),
        "beta": call.weight("beta", index=1),
        "mean": call.weight("running_mean", index=2),
        "var": call.weight("running_std", index=3),
    }
    return emit_batchnorm(call, int(call.cfg("axis", -1)), float(call.cfg("epsilon", 1e-3)), weights)
