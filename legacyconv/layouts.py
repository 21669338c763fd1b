"""Pure array re-arrangements between Theano's layouts and TensorFlow's, each with its inverse.

Theano (and Keras 1 on the Theano backend) kept activations channels-first, ``(batch,
channels, rows, cols)``, and kernels as ``(out, in, rows, cols)`` that ``conv2d`` *flipped*
spatially by default (``filter_flip=True``: a true convolution). TensorFlow keeps activations
channels-last, ``(batch, rows, cols, channels)``, and kernels as HWIO ``(rows, cols, in, out)``
that it never flips (cross-correlation). The functions here translate between the two, exactly:
every round trip gives back the same array (``np.array_equal``).

All functions are NumPy only, never modify their input and return a new C-contiguous array
(never a view of the input), so the result can be written to or saved as it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._errors import LegacyconvError, LegacyconvTypeError
from ._params import check_filter_flip, positive_int

__all__ = [
    "dense_kernel_theano_to_tf",
    "dense_kernel_tf_to_theano",
    "nchw_to_nhwc",
    "ncdhw_to_ndhwc",
    "ndhwc_to_ncdhw",
    "nhwc_to_nchw",
    "theano_depthwise_kernel_to_tf",
    "theano_kernel3d_to_tf",
    "theano_kernel_to_tf",
    "theano_pointwise_kernel_to_tf",
    "theano_transpose_kernel_to_tf",
    "tf_depthwise_kernel_to_theano",
    "tf_kernel3d_to_theano",
    "tf_kernel_to_theano",
    "tf_pointwise_kernel_to_theano",
    "tf_transpose_kernel_to_theano",
]


def _array(value: Any, ndim: int, name: str, axes: str) -> np.ndarray:
    """``value`` as an ndarray of rank ``ndim``, or raise naming the expected axes."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged nested lists and the like
        raise LegacyconvTypeError(f"{name} must be an array; could not convert it: {exc}") from None
    if arr.ndim != ndim:
        raise LegacyconvError(f"{name} must be a {ndim}-d array {axes}. Received: {name}.shape={arr.shape}")
    return arr


def _rearranged(arr: np.ndarray, flip_axes: tuple[int, ...], perm: tuple[int, ...]) -> np.ndarray:
    """Flip ``flip_axes``, transpose by ``perm``, and copy once into a new C-contiguous array."""
    if flip_axes:
        arr = np.flip(arr, axis=flip_axes)
    return np.array(arr.transpose(perm), order="C", copy=True)


# --------------------------------------------------------------------------- activations


def nchw_to_nhwc(x: Any) -> np.ndarray:
    """Theano/channels-first images ``(batch, channels, rows, cols)`` -> TF ``(batch, rows, cols, channels)``.

    >>> nchw_to_nhwc(np.zeros((2, 3, 4, 5))).shape
    (2, 4, 5, 3)
    """
    arr = _array(x, 4, "x", "(batch, channels, rows, cols)")
    return _rearranged(arr, (), (0, 2, 3, 1))


def nhwc_to_nchw(x: Any) -> np.ndarray:
    """TF/channels-last images ``(batch, rows, cols, channels)`` -> ``(batch, channels, rows, cols)``.

    >>> nhwc_to_nchw(np.zeros((2, 4, 5, 3))).shape
    (2, 3, 4, 5)
    """
    arr = _array(x, 4, "x", "(batch, rows, cols, channels)")
    return _rearranged(arr, (), (0, 3, 1, 2))


def ncdhw_to_ndhwc(x: Any) -> np.ndarray:
    """Volumes ``(batch, channels, depth, rows, cols)`` -> ``(batch, depth, rows, cols, channels)``.

    >>> ncdhw_to_ndhwc(np.zeros((2, 3, 4, 5, 6))).shape
    (2, 4, 5, 6, 3)
    """
    arr = _array(x, 5, "x", "(batch, channels, depth, rows, cols)")
    return _rearranged(arr, (), (0, 2, 3, 4, 1))


def ndhwc_to_ncdhw(x: Any) -> np.ndarray:
    """Volumes ``(batch, depth, rows, cols, channels)`` -> ``(batch, channels, depth, rows, cols)``.

    >>> ndhwc_to_ncdhw(np.zeros((2, 4, 5, 6, 3))).shape
    (2, 3, 4, 5, 6)
    """
    arr = _array(x, 5, "x", "(batch, depth, rows, cols, channels)")
    return _rearranged(arr, (), (0, 4, 1, 2, 3))


# --------------------------------------------------------------------------- conv kernels


def _check_groups(n_out: int, num_groups: Any, shape: tuple[int, ...], name: str) -> int:
    groups = positive_int(num_groups, "num_groups")
    if n_out % groups:
        raise LegacyconvError(
            f"number of filters must be divisible by num_groups: {name}.shape={shape} has "
            f"{n_out} filters, num_groups={groups}"
        )
    return groups


def theano_kernel_to_tf(w: Any, filter_flip: bool = True, *, num_groups: int = 1) -> np.ndarray:
    """Theano ``conv2d`` filters ``(out, in // num_groups, rows, cols)`` -> TF HWIO
    ``(rows, cols, in // num_groups, out)``.

    With ``filter_flip=True`` (Theano's default: true convolution) the kernel is flipped
    spatially, because ``tf.nn.conv2d`` and Keras ``Conv2D`` compute a cross-correlation.
    Pass the ``filter_flip`` value of the Theano call. A grouped kernel maps to the kernel of
    Keras ``Conv2D(groups=num_groups)``: both split the filters into consecutive blocks.

    Parameters
    ----------
    w : array_like, shape (out, in // num_groups, rows, cols)
    filter_flip : bool, optional
    num_groups : int, optional
        Only checked: ``out`` must be divisible by it.

    Returns
    -------
    numpy.ndarray, shape (rows, cols, in // num_groups, out)

    Examples
    --------
    >>> w = np.arange(6.0).reshape(1, 1, 2, 3)
    >>> theano_kernel_to_tf(w).shape
    (2, 3, 1, 1)
    >>> theano_kernel_to_tf(w)[:, :, 0, 0]
    array([[5., 4., 3.],
           [2., 1., 0.]])
    >>> theano_kernel_to_tf(w, filter_flip=False)[:, :, 0, 0]
    array([[0., 1., 2.],
           [3., 4., 5.]])
    """
    arr = _array(w, 4, "w", "(out_channels, in_channels // num_groups, rows, cols)")
    _check_groups(arr.shape[0], num_groups, arr.shape, "w")
    return _rearranged(arr, (2, 3) if check_filter_flip(filter_flip) else (), (2, 3, 1, 0))


def tf_kernel_to_theano(w: Any, filter_flip: bool = True, *, num_groups: int = 1) -> np.ndarray:
    """TF HWIO ``(rows, cols, in // num_groups, out)`` -> Theano ``(out, in // num_groups, rows, cols)``.

    The inverse of :func:`theano_kernel_to_tf`: pass the ``filter_flip`` the Theano call will use.

    >>> w = np.arange(24.0).reshape(2, 3, 4, 1)
    >>> np.array_equal(theano_kernel_to_tf(tf_kernel_to_theano(w)), w)
    True
    >>> tf_kernel_to_theano(w).shape
    (1, 4, 2, 3)
    """
    arr = _array(w, 4, "w", "(rows, cols, in_channels // num_groups, out_channels)")
    _check_groups(arr.shape[3], num_groups, arr.shape, "w")
    return _rearranged(arr, (0, 1) if check_filter_flip(filter_flip) else (), (3, 2, 0, 1))


def theano_kernel3d_to_tf(w: Any, filter_flip: bool = True, *, num_groups: int = 1) -> np.ndarray:
    """Theano ``conv3d`` filters ``(out, in, depth, rows, cols)`` -> TF DHWIO
    ``(depth, rows, cols, in, out)``, flipped on the three spatial axes when ``filter_flip``.

    >>> theano_kernel3d_to_tf(np.zeros((5, 4, 1, 2, 3))).shape
    (1, 2, 3, 4, 5)
    """
    arr = _array(w, 5, "w", "(out_channels, in_channels // num_groups, depth, rows, cols)")
    _check_groups(arr.shape[0], num_groups, arr.shape, "w")
    return _rearranged(arr, (2, 3, 4) if check_filter_flip(filter_flip) else (), (2, 3, 4, 1, 0))


def tf_kernel3d_to_theano(w: Any, filter_flip: bool = True, *, num_groups: int = 1) -> np.ndarray:
    """TF DHWIO ``(depth, rows, cols, in, out)`` -> Theano ``(out, in, depth, rows, cols)``.

    >>> tf_kernel3d_to_theano(np.zeros((1, 2, 3, 4, 5))).shape
    (5, 4, 1, 2, 3)
    """
    arr = _array(w, 5, "w", "(depth, rows, cols, in_channels // num_groups, out_channels)")
    _check_groups(arr.shape[4], num_groups, arr.shape, "w")
    return _rearranged(arr, (0, 1, 2) if check_filter_flip(filter_flip) else (), (4, 3, 0, 1, 2))


def theano_depthwise_kernel_to_tf(w: Any, filter_flip: bool = True, *, num_channels: int) -> np.ndarray:
    """Theano depthwise filters -> TF ``depthwise_conv2d`` / Keras ``DepthwiseConv2D`` kernel.

    Theano expressed a depthwise convolution as ``conv2d(..., num_groups=channels)`` with
    filters ``(channels * multiplier, 1, rows, cols)`` (the ``depthwise_filters`` of
    ``separable_conv2d``): group ``k`` holds filters ``k * multiplier + q``. TF's depthwise
    kernel is ``(rows, cols, channels, multiplier)`` and writes output channel
    ``k * multiplier + q`` from ``kernel[:, :, k, q]``: the same order.

    Parameters
    ----------
    w : array_like, shape (channels * multiplier, 1, rows, cols)
    filter_flip : bool, optional
        The ``filter_flip`` of the Theano call.
    num_channels : int
        The number of input channels (Theano's ``separable_conv2d(..., num_channels)``, the
        ``num_groups`` of the ``conv2d`` call). Required: ``(channels * multiplier, 1, ...)``
        alone cannot say how it splits, and a wrong split is a plausible-looking wrong kernel.

    Returns
    -------
    numpy.ndarray, shape (rows, cols, channels, multiplier)

    Examples
    --------
    >>> w = np.arange(6.0).reshape(6, 1, 1, 1)
    >>> theano_depthwise_kernel_to_tf(w, num_channels=3)[0, 0]
    array([[0., 1.],
           [2., 3.],
           [4., 5.]])
    """
    arr = _array(w, 4, "w", "(channels * multiplier, 1, rows, cols)")
    if arr.shape[1] != 1:
        raise LegacyconvError(
            "a depthwise kernel must have 1 input channel per group: expected "
            f"(channels * multiplier, 1, rows, cols). Received: w.shape={arr.shape}"
        )
    total = arr.shape[0]
    if num_channels is None:
        raise LegacyconvError(
            "num_channels is required: a depthwise kernel of shape "
            f"{arr.shape} could be any split channels x multiplier = {total}"
        )
    channels = positive_int(num_channels, "num_channels")
    if total % channels:
        raise LegacyconvError(
            f"the number of depthwise filters must be a multiple of num_channels: "
            f"w.shape={arr.shape} has {total} filters, num_channels={channels}"
        )
    flip = (2, 3) if check_filter_flip(filter_flip) else ()
    split = arr.reshape(channels, total // channels, *arr.shape[2:])
    return _rearranged(split, flip, (2, 3, 0, 1))


def tf_depthwise_kernel_to_theano(w: Any, filter_flip: bool = True) -> np.ndarray:
    """TF depthwise kernel ``(rows, cols, channels, multiplier)`` -> Theano
    ``(channels * multiplier, 1, rows, cols)`` for ``conv2d(..., num_groups=channels)``.

    >>> tf_depthwise_kernel_to_theano(np.zeros((3, 3, 4, 2))).shape
    (8, 1, 3, 3)
    """
    arr = _array(w, 4, "w", "(rows, cols, channels, multiplier)")
    out = _rearranged(arr, (0, 1) if check_filter_flip(filter_flip) else (), (2, 3, 0, 1))
    return out.reshape(arr.shape[2] * arr.shape[3], 1, *arr.shape[:2])


def theano_pointwise_kernel_to_tf(w: Any) -> np.ndarray:
    """Theano 1x1 filters ``(out, channels, 1, 1)`` -> TF ``(1, 1, channels, out)``
    (the ``pointwise_filter`` of ``tf.nn.separable_conv2d``). A 1x1 flip is the identity.

    >>> theano_pointwise_kernel_to_tf(np.zeros((5, 6, 1, 1))).shape
    (1, 1, 6, 5)
    """
    arr = _array(w, 4, "w", "(out_channels, channels, 1, 1)")
    if arr.shape[2:] != (1, 1):
        raise LegacyconvError(
            f"a pointwise kernel must be 1x1: expected (out_channels, channels, 1, 1). "
            f"Received: w.shape={arr.shape}"
        )
    return _rearranged(arr, (), (2, 3, 1, 0))


def tf_pointwise_kernel_to_theano(w: Any) -> np.ndarray:
    """TF ``(1, 1, channels, out)`` -> Theano ``(out, channels, 1, 1)``.

    >>> tf_pointwise_kernel_to_theano(np.zeros((1, 1, 6, 5))).shape
    (5, 6, 1, 1)
    """
    arr = _array(w, 4, "w", "(1, 1, channels, out_channels)")
    if arr.shape[:2] != (1, 1):
        raise LegacyconvError(
            f"a pointwise kernel must be 1x1: expected (1, 1, channels, out_channels). "
            f"Received: w.shape={arr.shape}"
        )
    return _rearranged(arr, (), (3, 2, 0, 1))


def theano_transpose_kernel_to_tf(w: Any, filter_flip: bool = True) -> np.ndarray:
    """Theano ``conv2d_transpose`` filters ``(in, out, rows, cols)`` -> ``tf.nn.conv2d_transpose``
    filters ``(rows, cols, out, in)``.

    ``in`` is the channel count of the transposed convolution's input and ``out`` of its output.
    Both libraries define the transposed convolution as the gradient of a forward convolution
    whose kernel these are (Theano's with ``filter_flip``), so the mapping is the one of
    :func:`theano_kernel_to_tf`; the padding and output shape are translated separately.

    >>> theano_transpose_kernel_to_tf(np.zeros((4, 3, 2, 5))).shape
    (2, 5, 3, 4)
    """
    arr = _array(w, 4, "w", "(in_channels, out_channels, rows, cols)")
    return _rearranged(arr, (2, 3) if check_filter_flip(filter_flip) else (), (2, 3, 1, 0))


def tf_transpose_kernel_to_theano(w: Any, filter_flip: bool = True) -> np.ndarray:
    """``tf.nn.conv2d_transpose`` filters ``(rows, cols, out, in)`` -> Theano ``(in, out, rows, cols)``.

    >>> tf_transpose_kernel_to_theano(np.zeros((2, 5, 3, 4))).shape
    (4, 3, 2, 5)
    """
    arr = _array(w, 4, "w", "(rows, cols, out_channels, in_channels)")
    return _rearranged(arr, (0, 1) if check_filter_flip(filter_flip) else (), (3, 2, 0, 1))


# --------------------------------------------------------------------------- dense after flatten


def _feature_shape(feature_shape: Any) -> tuple[int, ...]:
    if (
        not isinstance(feature_shape, (tuple, list))
        or len(feature_shape) < 2
        or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in feature_shape
        )
    ):
        raise LegacyconvError(
            "feature_shape must be the channels-first feature-map shape (channels, rows, cols) "
            f"(or (channels, *spatial)) of positive integers. Received: feature_shape={feature_shape!r}"
        )
    return tuple(int(v) for v in feature_shape)


def _dense(w: Any, feature_shape: Sequence[int], to_tf: bool) -> np.ndarray:
    shape = _feature_shape(feature_shape)
    arr = _array(w, 2, "w", "(flattened features, units)")
    size = math.prod(shape)
    if arr.shape[0] != size:
        raise LegacyconvError(
            f"the Dense kernel must have one row per flattened feature: feature_shape={shape} "
            f"gives {size} features, but w.shape={arr.shape}"
        )
    nsp = len(shape) - 1
    if to_tf:  # rows (C, *spatial) -> (*spatial, C)
        grid = arr.reshape(*shape, arr.shape[1])
        perm = (*range(1, nsp + 1), 0, nsp + 1)
    else:  # rows (*spatial, C) -> (C, *spatial)
        grid = arr.reshape(*shape[1:], shape[0], arr.shape[1])
        perm = (nsp, *range(nsp), nsp + 1)
    return _rearranged(grid, (), perm).reshape(arr.shape)


def dense_kernel_theano_to_tf(w: Any, feature_shape: Sequence[int]) -> np.ndarray:
    """Re-order the rows of a Dense kernel that follows a Flatten, from channels-first to
    channels-last flatten order.

    Keras 1 on Theano flattened ``(channels, rows, cols)`` feature maps, so row
    ``c * rows * cols + i * cols + j`` of the Dense kernel multiplies pixel ``(c, i, j)``;
    after the move to TF the Flatten sees ``(rows, cols, channels)`` and row
    ``i * cols * channels + j * channels + c`` must hold that weight.

    Parameters
    ----------
    w : array_like, shape (channels * rows * cols, units)
    feature_shape : tuple of int
        The channels-first shape ``(channels, rows, cols)`` of the flattened feature map
        (``(channels, *spatial)`` for other ranks). The inverse takes the same tuple.

    Returns
    -------
    numpy.ndarray, shape (rows * cols * channels, units)

    Examples
    --------
    >>> w = np.arange(6).reshape(6, 1)  # (channels=2, rows=1, cols=3)
    >>> dense_kernel_theano_to_tf(w, (2, 1, 3))[:, 0]
    array([0, 3, 1, 4, 2, 5])
    """
    return _dense(w, feature_shape, to_tf=True)


def dense_kernel_tf_to_theano(w: Any, feature_shape: Sequence[int]) -> np.ndarray:
    """The inverse of :func:`dense_kernel_theano_to_tf`; ``feature_shape`` is still the
    channels-first ``(channels, rows, cols)``.

    >>> w = np.array([0, 3, 1, 4, 2, 5]).reshape(6, 1)
    >>> dense_kernel_tf_to_theano(w, (2, 1, 3))[:, 0]
    array([0, 1, 2, 3, 4, 5])
    """
    return _dense(w, feature_shape, to_tf=False)
