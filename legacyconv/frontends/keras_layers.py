"""Translators of the Keras layers whose config and Theano computation are the same in Keras 1 and 2.

Dropout and noise layers (identity in inference), Activation, the advanced activations, Permute,
Reshape, RepeatVector, Masking, Embedding, global pooling, Cropping1D/2D/3D and TimeDistributed(Dense). Layers whose
arguments or arithmetic differ between the versions live in ``keras1/`` and ``keras2/``.
"""

from __future__ import annotations

import math

from ._registry import translates, translator_for
from .keras_common import KerasLayer, LayerCall
from .keras_emit import emit_spatial, pairs


@translates(
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "ActivityRegularization",
)
@translates("AlphaDropout", keras=(2,))
def identity(call: LayerCall) -> str:
    """The identity: noise and dropout only act in training (their rate is still checked)."""
    for key in ("p", "rate"):
        if key in call.layer.config:
            value = call.cfg(key)
            if type(value) not in (int, float) or not 0 <= value < 1:
                raise call.error(f"{key} must be a number in [0, 1). Received: {key}={value!r}")
    return call.out("identity", call.inputs)


@translates("Activation")
def activation(call: LayerCall) -> str:
    """Keras' activation functions as Theano computed them (hard_sigmoid = clip(0.2 x + 0.5, 0, 1))."""
    return call.out("activation", call.inputs, {"fn": call.activation_fn()})


@translates("LeakyReLU")
def leaky_relu(call: LayerCall) -> str:
    """Theano's relu(x, alpha)."""
    return call.out("activation", call.inputs, {"fn": "leaky_relu", "alpha": float(call.cfg("alpha", 0.3))})


@translates("ELU")
def elu(call: LayerCall) -> str:
    """Theano's elu(x, alpha)."""
    return call.out("activation", call.inputs, {"fn": "elu", "alpha": float(call.cfg("alpha", 1.0))})


@translates("ThresholdedReLU")
def thresholded_relu(call: LayerCall) -> str:
    """x * (x > theta)."""
    return call.out(
        "activation", call.inputs, {"fn": "thresholded_relu", "theta": float(call.cfg("theta", 1.0))}
    )


@translates("PReLU")
def prelu(call: LayerCall) -> str:
    """max(x, 0) + alpha * min(x, 0); alpha's shape is taken from the weights (shared axes are size 1).

    Keras 1.2.2 did not record ``shared_axes`` in its config, so the shape of the stored alphas
    is the only reliable record of which axes were shared.
    """
    call.expect_weights(1)
    alpha = call.weight("alphas", "alpha", index=0)
    shape = call.shape()[1:]
    if alpha.ndim != len(shape) or any(a not in (1, s) for a, s in zip(alpha.shape, shape)):
        raise call.error(f"the alphas {alpha.shape} do not broadcast against the input {call.shape()}")
    return call.out("prelu", call.inputs, weights={"alpha": alpha})


@translates("ReLU", keras=(2,))
def relu(call: LayerCall) -> str:
    """Keras 2.2's ReLU layer without max_value or threshold (a ReLU or a leaky ReLU)."""
    if call.cfg("max_value") is not None or float(call.cfg("threshold", 0.0) or 0.0) != 0.0:
        raise call.fail(
            f"max_value={call.cfg('max_value')!r} / threshold={call.cfg('threshold')!r} are not supported"
        )
    slope = float(call.cfg("negative_slope", 0.0) or 0.0)
    if slope:
        return call.out("activation", call.inputs, {"fn": "leaky_relu", "alpha": slope})
    return call.out("activation", call.inputs, {"fn": "relu"})


@translates("Softmax", keras=(2,))
def softmax(call: LayerCall) -> str:
    """Keras 2.2's Softmax layer along ``axis``."""
    return call.out("activation", call.inputs, {"fn": "softmax", "axis": int(call.cfg("axis", -1))})


@translates("Permute")
def permute(call: LayerCall) -> str:
    """Permute the non-batch axes (``dims`` counts from 1)."""
    dims = [int(d) for d in call.cfg("dims")]
    if sorted(dims) != list(range(1, len(call.shape()))):
        raise call.error(f"dims={dims} is not a permutation of the axes 1..{len(call.shape()) - 1}")
    return call.out("transpose", call.inputs, {"perm": (0, *dims)})


@translates("Reshape")
def reshape(call: LayerCall) -> str:
    """Reshape in C order of the legacy layout (a -1 is resolved from the input size)."""
    target = [int(v) for v in call.cfg("target_shape")]
    size = math.prod(int(s) for s in call.shape()[1:] if s is not None)
    if target.count(-1) == 1:
        known = math.prod(v for v in target if v != -1)
        if known == 0 or size % known:
            raise call.error(f"cannot reshape {call.shape()} to {tuple(target)}")
        target[target.index(-1)] = size // known
    return call.out("reshape", call.inputs, {"shape": tuple(target)})


@translates("RepeatVector")
def repeat_vector(call: LayerCall) -> str:
    """(N, F) -> (N, n, F)."""
    return call.out("repeat_vector", call.inputs, {"n": int(call.cfg("n"))})


@translates("Masking")
def masking(call: LayerCall) -> str:
    """Zero the steps whose features all equal mask_value, and mask them for recurrent layers."""
    return call.out("masking", call.inputs, {"mask_value": float(call.cfg("mask_value", 0.0))})


@translates("Embedding")
def embedding(call: LayerCall) -> str:
    """Token ids -> rows of the table (``mask_zero`` masks id 0 for recurrent layers)."""
    call.expect_weights(1)
    table = call.weight("W", "embeddings", index=0, role="keep")
    return call.out("embedding", call.inputs, {"mask_zero": bool(call.cfg("mask_zero", False))}, {"W": table})


@translates("GlobalMaxPooling1D", "GlobalAveragePooling1D")
def global_pool_1d(call: LayerCall) -> str:
    """Max / mean over the steps of (N, steps, features)."""
    mode = "max" if "Max" in call.layer.class_name else "average"
    if call.cfg("data_format") == "channels_first":  # Keras 2.2: (N, features, steps)
        return call.out("global_pool", call.inputs, {"mode": mode})
    steps_last = call.helper("transpose", "channels_first", call.inputs, {"perm": (0, 2, 1)})
    return call.out("global_pool", [steps_last], {"mode": mode})


@translates("GlobalMaxPooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling3D")
def global_pool(call: LayerCall) -> str:
    """Max / mean over the spatial axes of a channels-first map."""
    call.channels_first()
    mode = "max" if "Max" in call.layer.class_name else "average"
    return call.out("global_pool", call.inputs, {"mode": mode})


@translates("TimeDistributed")
def time_distributed(call: LayerCall) -> str:
    """TimeDistributed(Dense) (and other wrapped layers that act on the last axis per step)."""
    inner = call.cfg("layer") or {}
    cls = inner.get("class_name")
    if cls != "Dense":
        raise call.fail(f"TimeDistributed({cls}) is not supported; TimeDistributed(Dense) is")
    cfg = dict(inner.get("config") or {})
    inner_name = str(cfg.get("name", "dense"))
    weights = []
    for short, arr in call.layer.weights:
        for sep in ("_", "/"):
            if short.startswith(inner_name + sep):
                short = short[len(inner_name) + 1 :]
        weights.append((short, arr))
    translator = translator_for(call.keras, "Dense")
    assert translator is not None
    inner = KerasLayer(
        call.layer.name, "TimeDistributed(Dense)", cfg, weights, file_names=call.layer.file_names
    )
    dense_call = LayerCall(call.graph, call.keras, inner, call.inputs, call.name, call.reference)
    return translator.fn(dense_call)


@translates("Cropping1D", "Cropping2D", "Cropping3D")
def cropping(call: LayerCall) -> str:
    """Cropping: 1-D (N, steps, features); 2-D and 3-D channels-first, ((low, high), ...) per axis."""
    rank = int(call.layer.class_name[-2])
    value = call.cfg("cropping", 1)
    if rank > 1:
        call.channels_first()
    crops = pairs(value, rank, "cropping", call)
    return emit_spatial(call, "crop", {"crops": crops}, sequence=rank == 1)
