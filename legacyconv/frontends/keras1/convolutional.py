"""Keras-1 convolutions, zero padding, cropping and upsampling, as the Theano backend ran them.

Keras 1 applied every kernel with Theano's default ``filter_flip=True`` (a true convolution), so
the canonical cross-correlation kernels here are the stored ones flipped. ``Convolution1D`` holds
``W`` as ``(length, 1, input_dim, nb_filter)`` and runs on channels-last ``(N, steps, features)``
sequences; 2-D and 3-D kernels are ``(nb_filter, stack, *kernel)``.
"""

from __future__ import annotations

import numpy as np

from .._registry import translates
from ..keras_common import LayerCall
from ..keras_emit import emit_conv, emit_spatial, flip, ints, pairs


def _bias(call: LayerCall) -> np.ndarray | None:
    use_bias = bool(call.cfg("bias", True))
    call.expect_weights(2 if use_bias else 1)
    return call.weight("b", index=1, role="bias") if use_bias else None


def _kernel(call: LayerCall, shape: tuple[int, ...], role: str | None = None) -> np.ndarray:
    w = call.weight("W", index=0, role=role, **({"filter_flip": True} if role else {}))
    if w.shape != shape:
        raise call.error(
            f"the kernel W has shape {w.shape}; the config and the input {call.shape()} expect {shape}"
        )
    return w


@translates("Convolution1D", "AtrousConvolution1D", keras=(1,))
def convolution1d(call: LayerCall) -> str:
    """Convolution of (N, steps, features) sequences: ``border_mode``, ``subsample_length``, ``atrous_rate``."""
    b = _bias(call)
    features = call.shape()[-1]
    nb, length = int(call.cfg("nb_filter")), int(call.cfg("filter_length"))
    w = _kernel(call, (length, 1, int(features or 0), nb))
    rate = int(call.cfg("atrous_rate", 1)) if call.layer.class_name == "AtrousConvolution1D" else 1
    canonical = flip(w[:, 0].transpose(2, 1, 0))
    return emit_conv(
        call,
        call.inputs[0],
        canonical,
        b,
        call.cfg("border_mode", "valid"),
        (int(call.cfg("subsample_length", 1)),),
        (rate,),
        sequence=True,
    )


@translates("Convolution2D", "AtrousConvolution2D", keras=(1,))
def convolution2d(call: LayerCall) -> str:
    """2-D convolution of channels-first images: ``border_mode`` valid/same/full, ``subsample``, ``atrous_rate``."""
    call.channels_first()
    b = _bias(call)
    nb, rows, cols = (int(call.cfg(k)) for k in ("nb_filter", "nb_row", "nb_col"))
    w = _kernel(call, (nb, int(call.shape()[1] or 0), rows, cols), role="conv_kernel")
    rate = (
        ints(call.cfg("atrous_rate", 1), 2, "atrous_rate", call)
        if call.layer.class_name == "AtrousConvolution2D"
        else (1, 1)
    )
    return emit_conv(
        call,
        call.inputs[0],
        flip(w),
        b,
        call.cfg("border_mode", "valid"),
        ints(call.cfg("subsample", 1), 2, "subsample", call),
        rate,
    )


@translates("Convolution3D", keras=(1,))
def convolution3d(call: LayerCall) -> str:
    """3-D convolution of channels-first volumes: ``border_mode``, ``subsample``."""
    call.channels_first()
    b = _bias(call)
    k = tuple(int(call.cfg(f"kernel_dim{i}")) for i in (1, 2, 3))
    w = _kernel(call, (int(call.cfg("nb_filter")), int(call.shape()[1] or 0), *k))
    return emit_conv(
        call,
        call.inputs[0],
        flip(w),
        b,
        call.cfg("border_mode", "valid"),
        ints(call.cfg("subsample", 1), 3, "subsample", call),
        (1, 1, 1),
    )


@translates("Deconvolution2D", keras=(1,))
def deconvolution2d(call: LayerCall) -> str:
    """Theano's conv2d_transpose (gradient of a flipped conv) to the configured ``output_shape``.

    With ``border_mode='same'`` and an even kernel Keras 1 then cropped the output to
    ``ceil(input / subsample)`` (it reused the convolution's crop); that crop is kept.
    """
    call.channels_first()
    b = _bias(call)
    nb, rows, cols = (int(call.cfg(k)) for k in ("nb_filter", "nb_row", "nb_col"))
    w = _kernel(call, (nb, int(call.shape()[1] or 0), rows, cols))
    out_shape = call.cfg("output_shape")
    if not isinstance(out_shape, (list, tuple)) or len(out_shape) != 4 or out_shape[1] != nb:
        raise call.error(
            f"output_shape must be (batch, {nb}, rows, cols). Received: output_shape={out_shape!r}"
        )
    strides = ints(call.cfg("subsample", 1), 2, "subsample", call)
    mode = call.cfg("border_mode", "valid")
    k = (rows, cols)
    pads = {
        "valid": [(0, 0)] * 2,
        "same": [(x // 2, x // 2) for x in k],
        "full": [(x - 1, x - 1) for x in k],
    }.get(mode)
    if pads is None:
        raise call.error(f"border_mode must be one of {{'valid', 'same', 'full'}}. Received: {mode!r}")
    out_size = (int(out_shape[2]), int(out_shape[3]))
    attrs = {"strides": strides, "pads": tuple(pads), "output_size": out_size}
    weights = {"W": flip(w.transpose(1, 0, 2, 3)), "b": b}
    fn = call.activation_fn()
    crop = []
    if mode == "same":
        sizes = call.shape()[2:]
        crop = [
            (0, max(0, o - -(-int(n or 0) // s))) if kk % 2 == 0 else (0, 0)
            for o, n, s, kk in zip(out_size, sizes, strides, k)
        ]
    if not any(c for _, c in crop) and fn == "linear":
        return call.out("conv_transpose", call.inputs, attrs, weights)
    y = call.helper("conv_transpose", "deconv", call.inputs, attrs, weights)
    if any(c for _, c in crop):
        y = (
            call.helper("crop", "crop", [y], {"crops": tuple(crop)})
            if fn != "linear"
            else call.out("crop", [y], {"crops": tuple(crop)})
        )
    if fn != "linear":
        y = call.out("activation", [y], {"fn": fn})
    return y


@translates("SeparableConvolution2D", keras=(1,), supported=False)
def separable_convolution2d(call: LayerCall) -> str:
    """Refused: Keras 1.2.2 implemented SeparableConvolution2D on TensorFlow only."""
    raise call.fail("Keras 1.2.2 ran SeparableConvolution2D only on TensorFlow: no Theano model can hold one")


def _zero_padding_2d(call: LayerCall) -> tuple[tuple[int, int], ...]:
    value = call.cfg("padding", (1, 1))
    if isinstance(value, dict):
        unknown = set(value) - {"top_pad", "bottom_pad", "left_pad", "right_pad"}
        if unknown:
            raise call.error(
                f"padding dict keys must be top_pad/bottom_pad/left_pad/right_pad. Received: {sorted(unknown)}"
            )
        t, bo, le, r = (int(value.get(k, 0)) for k in ("top_pad", "bottom_pad", "left_pad", "right_pad"))
        return ((t, bo), (le, r))
    if isinstance(value, (list, tuple)) and len(value) == 4:
        return ((int(value[0]), int(value[1])), (int(value[2]), int(value[3])))
    return pairs(value, 2, "padding", call)


@translates("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", keras=(1,))
def zero_padding(call: LayerCall) -> str:
    """Zero padding: 1-D (N, steps, features) left/right; 2-D per side (dict form too); 3-D symmetric."""
    cls = call.layer.class_name
    if cls == "ZeroPadding1D":
        value = call.cfg("padding", 1)
        if isinstance(value, dict):
            value = (int(value.get("left_pad", 0)), int(value.get("right_pad", 0)))
        return emit_spatial(call, "pad", {"pads": pairs(value, 1, "padding", call)}, sequence=True)
    call.channels_first()
    if cls == "ZeroPadding2D":
        return emit_spatial(call, "pad", {"pads": _zero_padding_2d(call)})
    return emit_spatial(call, "pad", {"pads": pairs(call.cfg("padding", 1), 3, "padding", call)})


@translates("UpSampling1D", "UpSampling2D", "UpSampling3D", keras=(1,))
def upsampling(call: LayerCall) -> str:
    """Nearest-neighbour repetition: 1-D ``length`` along the steps, 2-D/3-D ``size`` per axis."""
    rank = int(call.layer.class_name[-2])
    if rank == 1:
        return emit_spatial(call, "upsample", {"factors": (int(call.cfg("length", 2)),)}, sequence=True)
    call.channels_first()
    return emit_spatial(call, "upsample", {"factors": ints(call.cfg("size", 2), rank, "size", call)})
