"""Keras layers that compute, on NHWC input, what Theano's ``conv2d_transpose`` computed on NCHW.

Keras ``Conv2DTranspose(padding='valid')`` produces the *whole* transposed convolution,
``(in - 1) * stride + dilated_kernel`` rows, plus ``output_padding`` zero rows at the end.
Theano's output is the window of it that starts at the forward padding's low side and has
``output_shape`` rows: so one ``Conv2DTranspose`` with the exact ``output_padding`` and a
``Cropping2D`` reproduce any border mode. TensorFlow's CPU kernels have neither dilation nor
groups in transposed convolutions: a dilated kernel is spelled out with zeros and a grouped one
as its block-diagonal dense kernel (the zero blocks add exact zeros).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import LegacyconvError
from .._params import (
    as_array,
    check_filter_flip,
    explicit_pads,
    normalize_border_mode,
    normalize_int_tuple,
    positive_int,
)
from .._tf import import_keras
from ..engines.tensorflow import dilate_kernel
from ..layouts import theano_transpose_kernel_to_tf
from ..transpose import _normalize_output_shape, transpose_input_size
from ._checks import check_bias, check_name, check_nchw_shape, check_transpose_input, restrict_input

__all__ = ["to_keras_conv2d_transpose"]


def to_keras_conv2d_transpose(
    filters: Any,
    bias: Any = None,
    output_shape: Any = None,
    border_mode: Any = "valid",
    input_dilation: Any = (1, 1),
    filter_flip: bool = True,
    filter_dilation: Any = (1, 1),
    num_groups: int = 1,
    activation: Any = None,
    name: str | None = None,
    input_shape: Any = None,
) -> list[Any]:
    """Build Keras layers, weights set, equivalent to ``conv2d_transpose(input, filters,
    output_shape, ...) + bias``.

    The layers take channels-last input ``(batch, in_rows, in_cols, in_channels)`` and return
    ``nchw_to_nhwc`` of what Theano returned. They are built for the input size that
    ``output_shape`` implies (the one ``conv2d`` maps ``output_shape`` to).

    Parameters
    ----------
    filters : array_like, shape (in_channels, out_channels // num_groups, rows, cols)
        Theano's transposed-convolution filters.
    bias : array_like, shape (out_channels,), optional
    output_shape : tuple
        Theano's ``output_shape``: ``(batch, out_channels, rows, cols)`` (batch and channels
        may be None) or ``(rows, cols)``.
    border_mode, input_dilation, filter_flip, filter_dilation, num_groups
        The arguments of the Theano call.
    activation : str or callable, optional
        Keras activation of the transposed-convolution layer.
    name : str, optional
        The layers are called ``name`` and ``name + '_crop'``.
    input_shape : tuple of 4 int or None, optional
        The shape of the Theano input ``(batch, in_channels, rows, cols)`` (entries may be
        None): checked here against ``output_shape``, as Theano checked it. Whether or not it
        is given, the first layer accepts only the input size ``output_shape`` implies.

    Returns
    -------
    list of keras.layers.Layer
        ``Conv2DTranspose``, then ``Cropping2D`` if Theano's output is a window of the full
        transposed convolution.

    Examples
    --------
    >>> layers = to_keras_conv2d_transpose(np.ones((4, 3, 3, 3)), output_shape=(6, 6),
    ...                                    border_mode="half", input_dilation=(2, 2))
    >>> [type(layer).__name__ for layer in layers]
    ['Conv2DTranspose', 'Cropping2D']
    >>> y = np.ones((1, 3, 3, 4), np.float32)
    >>> for layer in layers:
    ...     y = layer(y)
    >>> tuple(y.shape)
    (1, 6, 6, 3)
    >>> to_keras_conv2d_transpose(np.ones((4, 3, 3, 3)), output_shape=(6, 6), border_mode="half",
    ...                           input_dilation=(2, 2), input_shape=(1, 4, 2, 3))
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: input_shape=(1, 4, 2, 3) is inconsistent with output_shape=(None, None, 6, 6): conv2d of an image of size (6, 6) with filters.shape=(4, 3, 3, 3), border_mode='half', subsample=input_dilation=(2, 2), filter_dilation=(1, 1) gives (3, 3)
    """
    w = as_array(filters, "filters")
    if w.ndim != 4 or any(k < 1 for k in w.shape):
        raise LegacyconvError(
            "filters must be a 4-d array (in_channels, out_channels // num_groups, rows, cols) with "
            f"no empty axis. Received: filters.shape={w.shape}"
        )
    if output_shape is None:
        raise LegacyconvError(
            "output_shape must be given, as in Theano: several output sizes give the same "
            "input size. Received: output_shape=None"
        )
    full = _normalize_output_shape(output_shape, 2)
    groups = positive_int(num_groups, "num_groups")
    n_in, cg = w.shape[:2]
    if n_in % groups:
        raise LegacyconvError(
            f"input channels must be divisible by num_groups: filters.shape={w.shape} has "
            f"{n_in} input channels, num_groups={groups}"
        )
    n_out = cg * groups
    if full[1] is not None and full[1] != n_out:
        raise LegacyconvError(
            f"output_shape does not match the filters: output_shape={full} has {full[1]} channels, "
            f"filters.shape={w.shape} with num_groups={groups} give {n_out}"
        )
    strides = normalize_int_tuple(input_dilation, 2, "input_dilation")
    dilations = normalize_int_tuple(filter_dilation, 2, "filter_dilation")
    pads = explicit_pads(normalize_border_mode(border_mode, 2), w.shape[2:], dilations)
    check_filter_flip(filter_flip)
    b = check_bias(bias, n_out, w.shape, f"output channel (num_groups={groups})")
    check_name(name)
    shape = check_nchw_shape(input_shape)

    out_sp = full[2:]
    output_padding, crops, tops = [], [], []
    for h, k, p, s, d in zip(out_sp, w.shape[2:], pads, strides, dilations):
        top = transpose_input_size(h, k, p, s, d)
        if top is None or top < 1:
            raise LegacyconvError(
                f"output_shape={full} is smaller than the dilated kernel allows: filters.shape="
                f"{w.shape}, border_mode={border_mode!r}, filter_dilation={dilations}"
            )
        whole = (top - 1) * s + (k - 1) * d + 1
        extra = max(0, h + p[0] - whole)  # rows beyond the last one any input pixel reaches
        output_padding.append(extra)
        crops.append((p[0], whole + extra - p[0] - h))
        tops.append(top)
    if shape is not None:
        check_transpose_input(shape, full, tuple(tops), n_in, w.shape, border_mode, strides, dilations)

    dense = w
    if groups > 1:  # block-diagonal (in, out, ...) kernel: Keras has no grouped transpose
        og = n_in // groups
        dense = np.zeros((n_in, n_out) + w.shape[2:], dtype=w.dtype)
        for g in range(groups):
            dense[g * og : (g + 1) * og, g * cg : (g + 1) * cg] = w[g * og : (g + 1) * og]
    kernel = theano_transpose_kernel_to_tf(dilate_kernel(dense, dilations), bool(filter_flip))

    keras = import_keras()
    conv = keras.layers.Conv2DTranspose(
        filters=n_out,
        kernel_size=kernel.shape[:2],
        strides=strides,
        padding="valid",
        output_padding=tuple(output_padding),
        data_format="channels_last",
        activation=activation,
        use_bias=b is not None,
        name=name,
    )
    conv.build((None, tops[0], tops[1], n_in))
    conv.set_weights([kernel] if b is None else [kernel, b])
    restrict_input(conv, (None, tops[0], tops[1], n_in))
    layers = [conv]
    if any(c != (0, 0) for c in crops):
        crop = keras.layers.Cropping2D(
            cropping=tuple(crops),
            data_format="channels_last",
            name=None if name is None else name + "_crop",
        )
        crop.build((None, None, None, n_out))
        layers.append(crop)
    return layers
