"""``separable_conv2d`` and ``separable_conv3d``: Theano 1.0's
``theano.tensor.nnet.abstract_conv.separable_conv2d`` / ``separable_conv3d``.

A depthwise step, ``conv2d(input, depthwise_filters, num_groups=num_channels)`` with the
caller's border mode, stride and dilation, then a pointwise step,
``conv2d(depthwise, pointwise_filters)`` with 'valid', stride 1, no dilation; both with the
same ``filter_flip``. Like Theano, the pointwise filters are not required to be 1x1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import LegacyconvError
from ._params import as_array, check_hint, check_ndim, positive_int, spatial_axes
from .conv import prepare_conv, run_conv

__all__ = ["separable_conv2d", "separable_conv3d"]


def separable_conv2d(
    input: Any,
    depthwise_filters: Any,
    pointwise_filters: Any,
    num_channels: int,
    input_shape: Any = None,
    depthwise_filter_shape: Any = None,
    pointwise_filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1, 1),
    filter_flip: bool = True,
    filter_dilation: Any = (1, 1),
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """Compute what Theano's ``separable_conv2d`` computed, eagerly, on NumPy arrays.

    Parameters
    ----------
    input : array_like, shape (batch, channels, rows, cols)
    depthwise_filters : array_like, shape (channels * multiplier, 1, rows, cols)
        Filter ``k * multiplier + q`` reads input channel ``k``.
    pointwise_filters : array_like, shape (out_channels, channels * multiplier, 1, 1)
    num_channels : int
        The input's channel count: the depthwise step's ``num_groups``.
    input_shape, depthwise_filter_shape, pointwise_filter_shape : tuple, optional
        Shape hints; each must agree with its array.
    border_mode, subsample, filter_dilation : optional
        Of the depthwise step, as in :func:`legacyconv.conv2d`.
    filter_flip : bool, optional
        Of both steps.
    backend : {'numpy', 'scipy', 'tensorflow'}, optional

    Returns
    -------
    numpy.ndarray, shape (batch, out_channels, out_rows, out_cols)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 2, 5, 5))
    >>> separable_conv2d(x, np.ones((4, 1, 3, 3)), np.ones((3, 4, 1, 1)), 2).shape
    (1, 3, 3, 3)
    >>> float(separable_conv2d(x, np.ones((4, 1, 3, 3)), np.ones((3, 4, 1, 1)), 2)[0, 0, 0, 0])
    36.0
    """
    return _separable(
        2,
        input,
        depthwise_filters,
        pointwise_filters,
        num_channels,
        input_shape,
        depthwise_filter_shape,
        pointwise_filter_shape,
        border_mode,
        subsample,
        filter_flip,
        filter_dilation,
        backend,
    )


def separable_conv3d(
    input: Any,
    depthwise_filters: Any,
    pointwise_filters: Any,
    num_channels: int,
    input_shape: Any = None,
    depthwise_filter_shape: Any = None,
    pointwise_filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1, 1, 1),
    filter_flip: bool = True,
    filter_dilation: Any = (1, 1, 1),
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """:func:`separable_conv2d` in three dimensions (NCDHW), as Theano's ``separable_conv3d``.

    >>> import numpy as np
    >>> x = np.ones((1, 2, 4, 5, 5))
    >>> separable_conv3d(x, np.ones((4, 1, 2, 3, 3)), np.ones((3, 4, 1, 1, 1)), 2).shape
    (1, 3, 3, 3, 3)
    """
    return _separable(
        3,
        input,
        depthwise_filters,
        pointwise_filters,
        num_channels,
        input_shape,
        depthwise_filter_shape,
        pointwise_filter_shape,
        border_mode,
        subsample,
        filter_flip,
        filter_dilation,
        backend,
    )


def _separable(
    nd: int,
    input: Any,
    depthwise_filters: Any,
    pointwise_filters: Any,
    num_channels: Any,
    input_shape: Any,
    depthwise_filter_shape: Any,
    pointwise_filter_shape: Any,
    border_mode: Any,
    subsample: Any,
    filter_flip: Any,
    filter_dilation: Any,
    backend: str,
) -> np.ndarray:
    sp = spatial_axes(nd)
    x = as_array(input, "input")
    dw = as_array(depthwise_filters, "depthwise_filters")
    pw = as_array(pointwise_filters, "pointwise_filters")
    check_ndim(x, "input", nd + 2, f"batch, channels, {sp}")
    check_ndim(dw, "depthwise_filters", nd + 2, f"channels * multiplier, 1, {sp}")
    check_ndim(
        pw, "pointwise_filters", nd + 2, "out_channels, channels * multiplier, " + ", ".join(["1"] * nd)
    )
    check_hint(input_shape, x.shape, "input_shape", "input")
    check_hint(depthwise_filter_shape, dw.shape, "depthwise_filter_shape", "depthwise_filters")
    check_hint(pointwise_filter_shape, pw.shape, "pointwise_filter_shape", "pointwise_filters")
    groups = positive_int(num_channels, "num_channels")
    if x.shape[1] != dw.shape[1] * groups:
        raise LegacyconvError(
            f"num_channels must be the input's channel count: input.shape={x.shape} has "
            f"{x.shape[1]} channels, depthwise_filters.shape={dw.shape} with num_channels={groups} "
            f"expects {dw.shape[1] * groups}"
        )
    if dw.shape[0] % groups:
        raise LegacyconvError(
            "the number of depthwise filters must be a multiple of num_channels: "
            f"depthwise_filters.shape={dw.shape} has {dw.shape[0]} filters, num_channels={groups}"
        )
    if pw.shape[1] != dw.shape[0]:
        raise LegacyconvError(
            f"pointwise_filters must read every depthwise output: depthwise_filters.shape={dw.shape} "
            f"gives {dw.shape[0]} channels, pointwise_filters.shape={pw.shape} expects {pw.shape[1]}"
        )
    depthwise = run_conv(
        prepare_conv(x, dw, nd, None, None, border_mode, subsample, filter_flip, filter_dilation, groups),
        backend,
    )
    return run_conv(prepare_conv(depthwise, pw, nd, None, None, "valid", 1, filter_flip, 1, 1), backend)
