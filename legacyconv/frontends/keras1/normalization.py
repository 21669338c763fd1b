"""Keras-1 BatchNormalization."""

from __future__ import annotations

from .._registry import translates
from ..keras_common import LayerCall
from ..keras_emit import emit_batchnorm


@translates("BatchNormalization", keras=(1,))
def batch_normalization(call: LayerCall) -> str:
    """Mode 0 in inference: (x - running_mean) / sqrt(running_std + epsilon) * gamma + beta.

    Keras 1 stored the moving *variance* under the name ``running_std``. Mode 2 normalises with
    the statistics of the batch itself, in inference too (``batchnorm_batch``: the output of a
    sample depends on the batch it comes in). Mode 1 (per-sample statistics over the last axis,
    divided by ``std + epsilon`` again) is refused.
    """
    mode = int(call.cfg("mode", 0))
    if mode not in (0, 2):
        raise call.fail(f"mode={mode} (per-sample normalisation) is not supported; modes 0 and 2 are")
    call.expect_weights(4)
    axis, epsilon = int(call.cfg("axis", -1)), float(call.cfg("epsilon", 1e-3))
    gamma, beta = call.weight("gamma", index=0), call.weight("beta", index=1)
    if mode == 2:
        return emit_batchnorm(call, axis, epsilon, {"gamma": gamma, "beta": beta}, op="batchnorm_batch")
    weights = {
        "gamma": gamma,
        "beta": beta,
        "mean": call.weight("running_mean", index=2),
        "var": call.weight("running_std", index=3),
    }
    return emit_batchnorm(call, axis, epsilon, weights)
