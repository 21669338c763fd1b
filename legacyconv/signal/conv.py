"""Mirror of ``theano.tensor.signal.conv``: the signal-processing ``conv2d`` over 2-d/3-d arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import LegacyconvError
from .._params import as_array
from ..nnet.conv import conv2d as _convop_conv2d

__all__ = ["conv2d"]


def conv2d(
    input: Any,
    filters: Any,
    image_shape: Any = None,
    filter_shape: Any = None,
    border_mode: str = "valid",
    subsample: Any = (1, 1),
    *,
    backend: str = "numpy",
    **kargs: Any,
) -> np.ndarray:
    """What ``theano.tensor.signal.conv.conv2d`` computed: true 2-d convolution of one image or
    a stack of images with one filter or a stack of filters (no channels).

    Parameters
    ----------
    input : array_like, shape ([images,] rows, cols)
    filters : array_like, shape ([filters,] rows, cols)
    image_shape, filter_shape : tuple of 2 or 3 int, optional
        Theano's hints, checked against the arrays when both are given (as ConvOp did).
    border_mode : {'valid', 'full'}, optional
    subsample : tuple of 2 int, optional
    backend : {'numpy', 'scipy', 'tensorflow'}, optional
    **kargs
        ConvOp's tuning arguments (``unroll_batch``, ...), accepted and ignored.

    Returns
    -------
    numpy.ndarray
        ``(images, filters, rows, cols)`` for two stacks, ``(n, rows, cols)`` when one side is a
        single 2-d array, ``(rows, cols)`` when both are.

    Examples
    --------
    >>> conv2d(np.ones((3, 5, 5)), np.ones((2, 2))).shape
    (3, 4, 4)
    >>> conv2d(np.arange(9.0).reshape(3, 3), np.array([[1.0, 0.0], [0.0, 0.0]]), border_mode="valid")
    array([[4., 5.],
           [7., 8.]])
    """
    x = as_array(input, "input")
    w = as_array(filters, "filters")
    if x.ndim not in (2, 3):
        raise LegacyconvError(
            f"input must be 2-d (rows, cols) or 3-d (images, rows, cols). Received: input.shape={x.shape}"
        )
    if w.ndim not in (2, 3):
        raise LegacyconvError(
            f"filters must be 2-d (rows, cols) or 3-d (filters, rows, cols). Received: filters.shape={w.shape}"
        )
    hints: dict[str, Any] = {}
    if filter_shape and image_shape:  # Theano used the hints only when both were given
        hints["image_shape"] = (image_shape[0] if x.ndim == 3 else 1, 1) + tuple(image_shape[-2:])
        hints["filter_shape"] = (filter_shape[0] if w.ndim == 3 else 1, 1) + tuple(filter_shape[-2:])
    x4 = x.reshape((x.shape[0] if x.ndim == 3 else 1, 1) + x.shape[-2:])
    w4 = w.reshape((w.shape[0] if w.ndim == 3 else 1, 1) + w.shape[-2:])
    out = _convop_conv2d(
        x4, w4, border_mode=border_mode, subsample=subsample, backend=backend, **hints, **kargs
    )
    if x.ndim == 2 and w.ndim == 2:
        return out[0, 0]
    if x.ndim == 2 or w.ndim == 2:
        return out.reshape((-1,) + out.shape[-2:])
    return out
