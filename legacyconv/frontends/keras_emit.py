"""How Keras layers ran on Theano, as graph nodes: the padding geometry and the node patterns
the Keras 1 and Keras 2 translators share.

``'same'`` convolution on Theano is ``'half'`` followed — for an even kernel — by a crop to
``ceil(n / stride)``; ``'same'`` pooling pads ``pool - 1`` (``pool - 2`` for odd pools) on both
sides and crops the same way; 1-D layers hold channels-last ``(N, steps, features)`` sequences,
which the channels-first graph ops get through transposes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._errors import LegacyconvError
from ._registry import UnsupportedLayerError
from .keras_common import KERAS_ACTIVATIONS, LayerCall

__all__ = [
    "check_feature_dot",
    "conv_pads",
    "emit_batchnorm",
    "emit_conv",
    "emit_dense",
    "emit_pool",
    "emit_rnn",
    "emit_spatial",
    "flattened_map",
    "flip",
    "ints",
    "pairs",
    "pool_pads",
    "to_channels_first",
]


# --- geometry ------------------------------------------------------------------------------------


def _ceil_div(n: int, s: int) -> int:
    return -(-n // s)


def conv_pads(
    n: int | None, kernel: int, mode: str, stride: int, dilation: int, *, crop_even: bool = True
) -> tuple[int, int]:
    """Explicit ``(low, high)`` zero padding reproducing a Keras convolution on Theano along one axis.

    'valid' pads nothing, 'full' pads ``dilated_kernel - 1`` on both sides, 'same' is Theano's
    'half' (``dilated_kernel // 2`` on both sides), followed — when the kernel is even and
    ``crop_even`` — by Keras' crop to the first ``ceil(n / stride)`` outputs, which only removes
    padding at the high end. 'causal' (Keras 2 Conv1D) pads ``dilated_kernel - 1`` in front.

    >>> conv_pads(12, 3, "same", 1, 1), conv_pads(12, 4, "same", 1, 1), conv_pads(7, 4, "same", 2, 1)
    ((1, 1), (2, 1), (2, 1))
    >>> conv_pads(8, 2, "same", 1, 1, crop_even=False)   # SeparableConv2D does not crop
    (1, 1)
    >>> conv_pads(30, 5, "causal", 1, 2)
    (8, 0)
    """
    dk = (kernel - 1) * dilation + 1
    if mode == "valid":
        return (0, 0)
    if mode == "full":
        return (dk - 1, dk - 1)
    if mode == "causal":
        return (dk - 1, 0)
    if mode != "same":
        raise LegacyconvError(f"padding must be one of {{'valid', 'same', 'full'}}. Received: {mode!r}")
    low = dk // 2
    if kernel % 2 or not crop_even:
        return (low, low)
    if n is None:
        if stride != 1:
            raise LegacyconvError(
                "'same' padding with an even kernel and a stride needs a known input size: Keras "
                f"cropped the output to ceil(n / stride). Received: n=None, stride={stride}"
            )
        return (low, min(low, dk - 1 - low))
    high = min(low, max(0, (_ceil_div(n, stride) - 1) * stride + dk - n - low))
    return (low, high)


def pool_pads(
    n: int, pool: int, mode: str, stride: int, *, odd_rule_above_two: bool = True
) -> tuple[int, int]:
    """Theano ``pad`` and the crop of Keras ``'same'`` pooling along one axis.

    The pad is ``pool - 2`` for odd pools (Keras' 2-D pooling: only above 2) and ``pool - 1``
    otherwise; the output is then cropped to ``ceil(n / stride)``.

    >>> pool_pads(12, 2, "valid", 2), pool_pads(12, 2, "same", 2), pool_pads(7, 3, "same", 2)
    ((0, 0), (1, 1), (1, 0))
    """
    if mode == "valid":
        return (0, 0)
    if mode != "same":
        raise LegacyconvError(f"pooling padding must be one of {{'valid', 'same'}}. Received: {mode!r}")
    odd = pool % 2 == 1 and (pool > 2 or not odd_rule_above_two)
    pad = pool - 2 if odd else pool - 1
    if pad < 0 or pad >= pool:
        raise UnsupportedLayerError(
            f"'same' pooling with a window of {pool} gives Theano the pad {pad}, which Theano refused"
        )
    out = (n + 2 * pad - pool) // stride + 1
    return pad, out - _ceil_div(n, stride)


# --- emitting the common layer shapes ------------------------------------------------------------


def to_channels_first(call: LayerCall, x: str) -> str:
    """(N, steps, features) -> (N, features, steps): Keras' 1-D layers hold sequences channels-last."""
    return call.helper("transpose", "channels_first", [x], {"perm": (0, 2, 1)})


def emit_conv(
    call: LayerCall,
    x: str,
    w: np.ndarray,
    b: np.ndarray | None,
    mode: str,
    strides: Sequence[int],
    dilations: Sequence[int],
    *,
    groups: int = 1,
    crop_even: bool = True,
    sequence: bool = False,
    activation: bool = True,
    name_suffix: str | None = None,
) -> str:
    """A Keras convolution: the canonical (cross-correlation) kernel ``w``, Keras' padding on Theano.

    ``sequence`` wraps a 1-D convolution of a channels-last ``(N, steps, features)`` sequence in
    transposes. The layer's activation follows unless ``activation`` is False (the last node then
    is the conv itself, named after the layer). With ``name_suffix`` the conv is an internal node
    ``<layer>/<name_suffix>`` (a first stage, like a separable convolution's depthwise step).
    """
    rank = w.ndim - 2
    if sequence:
        x = to_channels_first(call, x)
    sizes = call.graph[x].shape
    assert sizes is not None
    if len(sizes) != rank + 2:
        raise call.error(f"needs a {rank + 2}-D input; got shape {call.shape()}")
    pads = tuple(
        conv_pads(None if n is None else int(n), int(k), mode, int(s), int(d), crop_even=crop_even)
        for n, k, s, d in zip(sizes[2:], w.shape[2:], strides, dilations)
    )
    attrs = {
        "strides": tuple(int(s) for s in strides),
        "dilations": tuple(int(d) for d in dilations),
        "pads": pads,
        "groups": groups,
    }
    weights = {"W": np.ascontiguousarray(w), "b": b}
    if name_suffix is not None:
        return call.helper("conv", name_suffix, [x], attrs, weights)
    fn = call.activation_fn() if activation else "linear"
    if not sequence and fn == "linear":
        return call.out("conv", [x], attrs, weights)
    y = call.helper("conv", "conv", [x], attrs, weights)
    if fn != "linear":
        y = (
            call.helper("activation", "activation", [y], {"fn": fn})
            if sequence
            else call.out("activation", [y], {"fn": fn})
        )
    if sequence:
        return call.out("transpose", [y], {"perm": (0, 2, 1)})
    return y


def emit_pool(
    call: LayerCall,
    x: str,
    ws: Sequence[int],
    strides: Sequence[int],
    padding: str,
    mode: str,
    *,
    sequence: bool = False,
    odd_rule_above_two: bool = True,
) -> str:
    """Keras pooling on Theano: ``pool_2d``/``pool_3d`` with ignore_border, 'same' padded and cropped."""
    if sequence:
        x = to_channels_first(call, x)
    sizes = call.graph[x].shape
    assert sizes is not None
    if len(sizes) != len(ws) + 2 or any(s is None for s in sizes[2:]):
        raise call.error(f"needs a {len(ws) + 2}-D input of known size; got shape {call.shape()}")
    geo = [
        pool_pads(int(n or 0), int(p), padding, int(s), odd_rule_above_two=odd_rule_above_two)
        for n, p, s in zip(sizes[2:], ws, strides)
    ]
    attrs = {
        "mode": mode,
        "ws": tuple(int(v) for v in ws),
        "strides": tuple(int(v) for v in strides),
        "pads": tuple(p for p, _ in geo),
        "ignore_border": True,
    }
    crop = any(c for _, c in geo)
    if not sequence and not crop:
        return call.out("pool", [x], attrs)
    y = call.helper("pool", "pool", [x], attrs)
    if crop:
        crops = {"crops": tuple((0, c) for _, c in geo)}
        y = call.helper("crop", "crop", [y], crops) if sequence else call.out("crop", [y], crops)
    if sequence:
        return call.out("transpose", [y], {"perm": (0, 2, 1)})
    return y


def emit_spatial(call: LayerCall, op: str, attrs: dict[str, Any], *, sequence: bool = False) -> str:
    """A pad / crop / upsample of the spatial axes (of a channels-last sequence if ``sequence``)."""
    if not sequence:
        return call.out(op, call.inputs, attrs)
    y = call.helper(op, op, [to_channels_first(call, call.inputs[0])], attrs)
    return call.out("transpose", [y], {"perm": (0, 2, 1)})


def emit_rnn(
    call: LayerCall,
    cell: str,
    units: int,
    recurrent_activation: str,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
) -> str:
    """A recurrent layer from Keras-2-ordered concatenated gate weights (both Keras versions)."""
    gates = {"simple": 1, "gru": 3, "lstm": 4}[cell]
    features = call.shape()[-1]
    if (
        kernel.shape != (features, gates * units)
        or recurrent_kernel.shape != (units, gates * units)
        or bias.shape != (gates * units,)
    ):
        raise call.error(
            f"weights {kernel.shape}, {recurrent_kernel.shape}, {bias.shape} do not fit {units} units of "
            f"input {call.shape()}"
        )
    if recurrent_activation not in KERAS_ACTIVATIONS:
        raise call.fail(f"the recurrent (inner) activation {recurrent_activation!r} is not supported")
    attrs = {
        "cell": cell,
        "units": units,
        "activation": call.activation_fn(),
        "recurrent_activation": KERAS_ACTIVATIONS[recurrent_activation],
        "return_sequences": bool(call.cfg("return_sequences", False)),
        "go_backwards": bool(call.cfg("go_backwards", False)),
    }
    weights = {"kernel": kernel, "recurrent_kernel": recurrent_kernel, "bias": bias}
    return call.out("rnn", call.inputs, attrs, weights)


def check_feature_dot(call: LayerCall, axes: Any, what: str) -> None:
    """Refuse a dot / cosine merge that is not over the feature axis of two (batch, features) inputs."""
    pair = [axes, axes] if isinstance(axes, int) else list(axes)
    shapes = [call.shape(i) for i in range(len(call.inputs))]
    if len(shapes) != 2 or any(len(s) != 2 for s in shapes) or any(a not in (1, -1) for a in pair):
        raise call.fail(
            f"{what} is supported on two (batch, features) inputs over their feature axis; got inputs "
            f"{shapes} with axes={axes!r}"
        )


def flattened_map(call: LayerCall) -> tuple[int, ...] | None:
    """The channels-first (channels, rows, cols) map a Flatten turned into this layer's input, if any."""
    src = call.graph[call.inputs[0]]
    if src.op != "flatten":
        return None
    shape = call.graph[src.inputs[0]].shape
    if shape is None or len(shape) != 4 or any(s is None for s in shape[1:]):
        return None
    return tuple(int(s) for s in shape[1:] if s is not None)


def emit_dense(call: LayerCall, w: np.ndarray, b: np.ndarray | None) -> str:
    """x @ W + b over the last axis, then the layer's activation."""
    return call.out_with_activation("dense", call.inputs, weights={"W": w, "b": b})


def emit_batchnorm(
    call: LayerCall,
    axis: int,
    epsilon: float,
    weights: Mapping[str, np.ndarray | None],
    op: str = "batchnorm",
) -> str:
    """Batch normalisation along ``axis``: with the moving statistics (``op='batchnorm'``) or with
    the batch's own (``op='batchnorm_batch'``)."""
    rank = len(call.shape())
    if not -rank <= axis < rank or axis % rank == 0:
        raise call.error(f"axis={axis} is not a feature axis of the input {call.shape()}")
    size = call.shape()[axis]
    for key, arr in weights.items():
        if arr is not None and arr.shape != (size,):
            raise call.error(
                f"{key} has shape {arr.shape}; the input {call.shape()} has {size} features on axis {axis}"
            )
    return call.out(
        op,
        call.inputs,
        {"axis": axis % rank, "epsilon": float(epsilon)},
        {k: v for k, v in weights.items() if v is not None},
    )


def flip(w: np.ndarray) -> np.ndarray:
    """Reverse every spatial axis of a (out, in, *k) kernel: Theano's filter_flip=True as a correlation."""
    return np.ascontiguousarray(w[(slice(None), slice(None)) + (slice(None, None, -1),) * (w.ndim - 2)])


def ints(value: Any, n: int, what: str, call: LayerCall) -> tuple[int, ...]:
    """``n`` ints from an int or a list (Keras configs hold both)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    if (
        isinstance(value, (list, tuple))
        and len(value) == n
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        return tuple(int(v) for v in value)
    raise call.error(f"{what} must be {n} integers. Received: {what}={value!r}")


def pairs(value: Any, n: int, what: str, call: LayerCall) -> tuple[tuple[int, int], ...]:
    """``n`` (low, high) pairs from an int, ``n`` ints (symmetric) or ``n`` pairs."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return ((int(value), int(value)),) * n
    if isinstance(value, (list, tuple)) and len(value) == n:
        out = []
        for v in value:
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                out.append((int(v), int(v)))
            elif isinstance(v, (list, tuple)) and len(v) == 2:
                out.append((int(v[0]), int(v[1])))
            else:
                raise call.error(f"{what} must be {n} ints or (low, high) pairs. Received: {what}={value!r}")
        if any(p < 0 for pair in out for p in pair):
            raise call.error(f"{what} must not be negative. Received: {what}={value!r}")
        return tuple(out)
    if n == 1 and isinstance(value, (list, tuple)) and len(value) == 2:
        return ((int(value[0]), int(value[1])),)
    raise call.error(f"{what} must be {n} ints or (low, high) pairs. Received: {what}={value!r}")
