"""Keras layers that compute, on NHWC input, what a Theano ``conv2d`` call computed on NCHW input.

Keras only knows ``padding='valid'`` and ``'same'``, and its ``'same'`` is not Theano's 'half'
(see :mod:`legacyconv.padding`), so any padding becomes an explicit ``ZeroPadding2D`` in front
of a ``'valid'`` convolution. Keras also refuses ``strides > 1`` together with
``dilation_rate > 1`` in ``Conv2D``, TensorFlow's depthwise kernel wants equal row/column
strides, and oneDNN's one-input-channel ``Conv2D`` returns uninitialised memory for row stride 1,
column stride >= 2 and one output column: those strides are then taken after the convolution by
an ``AveragePooling2D`` of size 1, which picks every ``s``-th output (NaN and +-Inf included; a
``MaxPooling2D`` of size 1 would turn NaN and -Inf into -3.4e38 on TensorFlow's CPU kernels).

Shape errors are legacyconv's, never TensorFlow's: given ``input_shape``, the builder raises
where Theano raised (:func:`legacyconv._params.check_conv_shapes`) and the layers accept that
shape only.
"""

from __future__ import annotations

import math
from typing import Any

from .._errors import LegacyconvError
from .._params import (
    as_array,
    check_conv_shapes,
    check_filter_flip,
    explicit_pads,
    normalize_border_mode,
    normalize_int_tuple,
    positive_int,
)
from .._tf import import_keras
from ..layouts import theano_depthwise_kernel_to_tf, theano_kernel_to_tf
from ._checks import check_bias, check_name, check_nchw_shape, restrict_input

__all__ = ["to_keras_conv2d"]


def to_keras_conv2d(
    filters: Any,
    bias: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1, 1),
    filter_flip: bool = True,
    filter_dilation: Any = (1, 1),
    num_groups: int = 1,
    activation: Any = None,
    name: str | None = None,
    dtype: Any = None,
    input_shape: Any = None,
) -> list[Any]:
    """Build Keras layers, weights set, equivalent to ``conv2d(input, filters, ...) + bias``.

    The layers take channels-last input ``(batch, rows, cols, in_channels)`` and return
    ``nchw_to_nhwc`` of what Theano returned. A depthwise convolution (``num_groups`` equal to
    the input channels, one input channel per filter) becomes a ``DepthwiseConv2D``; other
    grouped ones a ``Conv2D(groups=num_groups)``.

    Parameters
    ----------
    filters : array_like, shape (out_channels, in_channels // num_groups, rows, cols)
        The Theano kernel.
    bias : array_like, shape (out_channels,), optional
        Added after the convolution (as Keras 1 did); ``None`` builds a layer without bias.
    border_mode, subsample, filter_flip, filter_dilation, num_groups
        The arguments of the Theano ``conv2d`` call; ``border_mode`` may hold asymmetric
        ``(low, high)`` pairs.
    activation : str or callable, optional
        Keras activation of the convolution layer (applied before any subsampling, which
        does not change an elementwise function).
    name : str, optional
        Base name: the layers are called ``name`` (the convolution), ``name + '_pad'`` and
        ``name + '_subsample'``, so several calls can live in one model.
    dtype : str or dtype, optional
        The layers' dtype (Keras's default, float32, if None); ``'float64'`` keeps the
        precision of a float64 Theano graph.
    input_shape : tuple of 4 int or None, optional
        Theano's ``input_shape`` hint ``(batch, channels, rows, cols)`` (entries may be None).
        The builder then raises :class:`LegacyconvError` where Theano raised (channels that do
        not match the filters, a kernel larger than the padded image), and the first layer
        accepts only that shape (channels-last). Without it, no image size is checked before
        TensorFlow runs: pass it whenever the size is known.

    Returns
    -------
    list of keras.layers.Layer
        ``[ZeroPadding2D]`` (if Theano padded), then ``Conv2D`` or ``DepthwiseConv2D``, then
        ``[AveragePooling2D]`` (if the stride had to be taken apart); built, weights set.

    Examples
    --------
    >>> import numpy as np
    >>> layers = to_keras_conv2d(np.ones((8, 3, 3, 3)), border_mode="half", subsample=(2, 2))
    >>> [type(layer).__name__ for layer in layers]
    ['ZeroPadding2D', 'Conv2D']
    >>> y = np.ones((1, 5, 5, 3), np.float32)
    >>> for layer in layers:
    ...     y = layer(y)
    >>> tuple(y.shape), float(y[0, 0, 0, 0]), float(y[0, 1, 1, 0])
    ((1, 3, 3, 8), 12.0, 27.0)
    >>> to_keras_conv2d(np.ones((8, 3, 3, 3)), input_shape=(None, 3, 2, 5))
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: impossible output shape: the (dilated) kernel (3, 3) is larger than the padded input (2, 5) (input_shape=(None, 3, 2, 5), filters.shape=(8, 3, 3, 3), border_mode='valid', filter_dilation=(1, 1))
    """
    w = as_array(filters, "filters")
    if w.ndim != 4:
        raise LegacyconvError(
            "filters must be a 4-d array (out_channels, in_channels // num_groups, rows, cols). "
            f"Received: filters.shape={w.shape}"
        )
    if any(k < 1 for k in w.shape):
        raise LegacyconvError(f"filters must have no empty axis. Received: filters.shape={w.shape}")
    n_out, cg = w.shape[:2]
    kernel_size = w.shape[2:]
    groups = positive_int(num_groups, "num_groups")
    strides = normalize_int_tuple(subsample, 2, "subsample")
    dilations = normalize_int_tuple(filter_dilation, 2, "filter_dilation")
    pads = explicit_pads(normalize_border_mode(border_mode, 2), kernel_size, dilations)
    shape = check_nchw_shape(input_shape)
    check_conv_shapes(shape, w.shape, pads, dilations, groups, border_mode, input_label="input_shape")
    check_filter_flip(filter_flip)
    b = check_bias(bias, n_out, w.shape, "filter")
    check_name(name)

    keras = import_keras()
    channels = cg * groups
    depthwise = groups > 1 and cg == 1
    atrous_stride = max(strides) > 1 and max(dilations) > 1
    conv_strides: tuple[int, ...]
    after: tuple[int, ...]
    if atrous_stride:
        conv_strides, after = (1, 1), strides
    elif (depthwise or channels == 1) and strides[0] != strides[1]:
        step = math.gcd(*strides)
        conv_strides, after = (step, step), (strides[0] // step, strides[1] // step)
    else:
        conv_strides, after = strides, (1, 1)

    def _name(suffix: str) -> str | None:
        return None if name is None else name + suffix

    extra = {} if dtype is None else {"dtype": dtype}

    layers: list[Any] = []
    if any(p != (0, 0) for p in pads):
        pad = keras.layers.ZeroPadding2D(
            padding=pads, data_format="channels_last", name=_name("_pad"), **extra
        )
        pad.build((None, None, None, channels))
        layers.append(pad)

    common = dict(
        kernel_size=kernel_size,
        strides=conv_strides,
        padding="valid",
        data_format="channels_last",
        dilation_rate=dilations,
        activation=activation,
        use_bias=b is not None,
        name=name,
        **extra,
    )
    if depthwise:
        kernel = theano_depthwise_kernel_to_tf(w, bool(filter_flip), num_channels=groups)
        conv = keras.layers.DepthwiseConv2D(depth_multiplier=n_out // groups, **common)
    else:
        kernel = theano_kernel_to_tf(w, bool(filter_flip), num_groups=groups)
        conv = keras.layers.Conv2D(filters=n_out, groups=groups, **common)
    conv.build((None, None, None, channels))
    conv.set_weights([kernel] if b is None else [kernel, b])
    layers.append(conv)

    if after != (1, 1):
        pool = keras.layers.AveragePooling2D(
            pool_size=(1, 1),
            strides=after,
            padding="valid",
            data_format="channels_last",
            name=_name("_subsample"),
            **extra,
        )
        pool.build((None, None, None, n_out))
        layers.append(pool)
    if shape is not None:
        restrict_input(layers[0], (None, shape[2], shape[3], channels))
    return layers
