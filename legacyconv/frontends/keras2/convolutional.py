"""Keras-2 convolutions, zero padding and upsampling, as the Theano backend (2.2.5) ran them.

Keras 2 stores kernels as ``(*kernel, in, out)`` on every backend; its Theano backend transposes
them to ``(out, in, *kernel)`` and applies them with ``filter_flip=True`` (a true convolution),
so the canonical cross-correlation kernel is the transposed kernel flipped. Depthwise kernels
are the exception: ``_preprocess_conv2d_depthwise_kernel`` reverses them before the flipping
convolution, so ``SeparableConv2D`` and ``DepthwiseConv2D`` kernels are used unflipped.
``SeparableConv2D`` crops nothing after an even-kernel ``'same'`` (the crop looks at the 1x1
pointwise kernel); ``DepthwiseConv2D`` crops as a convolution does.
"""

from __future__ import annotations

import numpy as np

from .._registry import translates
from ..keras_common import LayerCall
from ..keras_emit import emit_conv, emit_spatial, flip, ints, pairs


def _bias(call: LayerCall, count: int) -> np.ndarray | None:
    use_bias = bool(call.cfg("use_bias", True))
    call.expect_weights(count + (1 if use_bias else 0))
    return call.weight("bias", index=count) if use_bias else None


def _kernel(call: LayerCall, name: str, shape: tuple[int, ...], index: int = 0) -> np.ndarray:
    w = call.weight(name, index=index)
    assert w is not None
    if w.shape != shape:
        raise call.error(
            f"{name} has shape {w.shape}; the config and the input {call.shape()} expect {shape}"
        )
    return w


def _sequence(call: LayerCall) -> bool:
    """Keras 2's 1-D layers are channels-last unless data_format says otherwise."""
    return call.cfg("data_format", "channels_last") != "channels_first"


@translates("Conv1D", keras=(2,))
def conv1d(call: LayerCall) -> str:
    """Conv1D: ``padding`` valid/same/causal, ``strides``, ``dilation_rate``; kernel (length, in, out)."""
    seq = _sequence(call)
    b = _bias(call, 1)
    length = ints(call.cfg("kernel_size"), 1, "kernel_size", call)[0]
    features = call.shape()[-1 if seq else 1]
    w = _kernel(call, "kernel", (length, int(features or 0), int(call.cfg("filters"))))
    return emit_conv(
        call,
        call.inputs[0],
        flip(w.transpose(2, 1, 0)),
        b,
        call.cfg("padding", "valid"),
        ints(call.cfg("strides", 1), 1, "strides", call),
        ints(call.cfg("dilation_rate", 1), 1, "dilation_rate", call),
        sequence=seq,
    )


@translates("Conv2D", "Conv3D", keras=(2,))
def conv(call: LayerCall) -> str:
    """Conv2D / Conv3D on channels-first data: ``padding`` valid/same, ``strides``, ``dilation_rate``."""
    call.channels_first()
    rank = int(call.layer.class_name[-2])
    b = _bias(call, 1)
    k = ints(call.cfg("kernel_size"), rank, "kernel_size", call)
    w = _kernel(call, "kernel", (*k, int(call.shape()[1] or 0), int(call.cfg("filters"))))
    canonical = flip(w.transpose(rank + 1, rank, *range(rank)))
    return emit_conv(
        call,
        call.inputs[0],
        canonical,
        b,
        call.cfg("padding", "valid"),
        ints(call.cfg("strides", 1), rank, "strides", call),
        ints(call.cfg("dilation_rate", 1), rank, "dilation_rate", call),
    )


def _depthwise(call: LayerCall, w: np.ndarray) -> np.ndarray:
    rows, cols, channels, multiplier = w.shape
    return np.ascontiguousarray(w.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, rows, cols))


@translates("DepthwiseConv2D", keras=(2,))
def depthwise_conv2d(call: LayerCall) -> str:
    """DepthwiseConv2D: grouped convolution, one group per input channel, kernels not flipped."""
    call.channels_first()
    b = _bias(call, 1)
    k = ints(call.cfg("kernel_size"), 2, "kernel_size", call)
    channels = int(call.shape()[1] or 0)
    w = _kernel(call, "depthwise_kernel", (*k, channels, int(call.cfg("depth_multiplier", 1))))
    return emit_conv(
        call,
        call.inputs[0],
        _depthwise(call, w),
        b,
        call.cfg("padding", "valid"),
        ints(call.cfg("strides", 1), 2, "strides", call),
        ints(call.cfg("dilation_rate", 1), 2, "dilation_rate", call),
        groups=channels,
    )


@translates("SeparableConv2D", keras=(2,))
def separable_conv2d(call: LayerCall) -> str:
    """SeparableConv2D: depthwise (unflipped, strided, dilated, 'half' without crop), then pointwise 1x1."""
    call.channels_first()
    b = _bias(call, 2)
    k = ints(call.cfg("kernel_size"), 2, "kernel_size", call)
    channels, multiplier = int(call.shape()[1] or 0), int(call.cfg("depth_multiplier", 1))
    dw = _kernel(call, "depthwise_kernel", (*k, channels, multiplier), 0)
    pw = _kernel(call, "pointwise_kernel", (1, 1, channels * multiplier, int(call.cfg("filters"))), 1)
    depth = emit_conv(
        call,
        call.inputs[0],
        _depthwise(call, dw),
        None,
        call.cfg("padding", "valid"),
        ints(call.cfg("strides", 1), 2, "strides", call),
        ints(call.cfg("dilation_rate", 1), 2, "dilation_rate", call),
        groups=channels,
        crop_even=False,
        activation=False,
        name_suffix="depthwise",
    )
    return emit_conv(call, depth, pw.transpose(3, 2, 0, 1), b, "valid", (1, 1), (1, 1))


def _deconv_length(
    size: int, stride: int, kernel: int, padding: str, output_padding: int | None, dilation: int
) -> int:
    # keras.utils.conv_utils.deconv_length of Keras 2.2.5
    dk = (kernel - 1) * dilation + 1
    if output_padding is None:
        return {
            "valid": size * stride + max(dk - stride, 0),
            "full": size * stride - (stride + dk - 2),
            "same": size * stride,
        }[padding]
    pad = {"same": dk // 2, "valid": 0, "full": dk - 1}[padding]
    return (size - 1) * stride + dk - 2 * pad + output_padding


@translates("Conv2DTranspose", keras=(2,))
def conv2d_transpose(call: LayerCall) -> str:
    """Conv2DTranspose: Theano's gradient of a flipped conv; output size from Keras' deconv_length."""
    call.channels_first()
    b = _bias(call, 1)
    k = ints(call.cfg("kernel_size"), 2, "kernel_size", call)
    filters = int(call.cfg("filters"))
    w = _kernel(call, "kernel", (*k, filters, int(call.shape()[1] or 0)))
    padding = call.cfg("padding", "valid")
    if padding not in ("valid", "same", "full"):
        raise call.error(f"padding must be one of {{'valid', 'same', 'full'}}. Received: {padding!r}")
    if padding == "same" and k[0] % 2 == 0:
        raise call.fail("padding='same' with an even kernel: Keras 2's Theano backend refused it")
    strides = ints(call.cfg("strides", 1), 2, "strides", call)
    dilations = ints(call.cfg("dilation_rate", 1), 2, "dilation_rate", call)
    out_pad = call.cfg("output_padding")
    out_pad = [None, None] if out_pad is None else list(ints(out_pad, 2, "output_padding", call))
    sizes = [int(s or 0) for s in call.shape()[2:]]
    output_size = tuple(
        _deconv_length(n, s, kk, padding, op, d)
        for n, s, kk, op, d in zip(sizes, strides, k, out_pad, dilations)
    )
    dk = [(kk - 1) * d + 1 for kk, d in zip(k, dilations)]
    pads = tuple({"valid": (0, 0), "same": (x // 2, x // 2), "full": (x - 1, x - 1)}[padding] for x in dk)
    attrs = {"strides": strides, "dilations": dilations, "pads": pads, "output_size": output_size}
    return call.out_with_activation(
        "conv_transpose", call.inputs, attrs, {"W": flip(w.transpose(3, 2, 0, 1)), "b": b}
    )


@translates("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", keras=(2,))
def zero_padding(call: LayerCall) -> str:
    """Zero padding: an int, symmetric ints per axis, or (low, high) per axis."""
    rank = int(call.layer.class_name[-2])
    if rank == 1:
        pads = pairs(call.cfg("padding", 1), 1, "padding", call)
        return emit_spatial(call, "pad", {"pads": pads}, sequence=True)
    call.channels_first()
    return emit_spatial(call, "pad", {"pads": pairs(call.cfg("padding", 1), rank, "padding", call)})


@translates("UpSampling1D", "UpSampling2D", "UpSampling3D", keras=(2,))
def upsampling(call: LayerCall) -> str:
    """Nearest-neighbour repetition by ``size`` per axis."""
    rank = int(call.layer.class_name[-2])
    if call.cfg("interpolation", "nearest") != "nearest":
        raise call.fail(f"interpolation={call.cfg('interpolation')!r} is not supported (only 'nearest')")
    if rank == 1:
        return emit_spatial(
            call, "upsample", {"factors": ints(call.cfg("size", 2), 1, "size", call)}, sequence=True
        )
    call.channels_first()
    return emit_spatial(call, "upsample", {"factors": ints(call.cfg("size", 2), rank, "size", call)})
