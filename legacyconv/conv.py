"""The public convolution ops: ``conv2d`` (Theano 1.0's ``theano.tensor.nnet.conv2d``) and
the validation they share with the rest of the family."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._errors import LegacyconvError
from ._params import (
    Pads,
    as_array,
    check_conv_shapes,
    check_filter_flip,
    check_hint,
    check_kernel_sizes,
    check_ndim,
    check_result_size,
    check_unshared,
    compute_dtype,
    conv_out_size,
    explicit_pads,
    flip_spatial,
    normalize_border_mode,
    normalize_int_tuple,
    positive_int,
    spatial_axes,
)
from .engines import get_op

__all__ = ["ConvArgs", "causal_conv1d", "conv2d", "conv3d", "prepare_conv", "run_conv"]


@dataclass(frozen=True)
class ConvArgs:
    """A validated convolution call: arrays in the compute dtype, the kernel already flipped
    when ``filter_flip`` asked for it, and explicit per-axis padding."""

    x: np.ndarray
    w: np.ndarray
    pads: Pads
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    groups: int
    out_shape: tuple[int, ...]
    result_dtype: np.dtype


def prepare_conv(
    input: Any,
    filters: Any,
    nd: int,
    input_shape: Any = None,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = 1,
    filter_flip: bool = True,
    filter_dilation: Any = 1,
    num_groups: Any = 1,
    *,
    input_hint_name: str = "input_shape",
) -> ConvArgs:
    """Validate Theano-style arguments for an ``nd``-dimensional convolution.

    ``input_hint_name`` is the name the caller gave the input hint (the deprecated API calls it
    ``image_shape``), so that errors use the caller's words."""
    x = as_array(input, "input")
    w = as_array(filters, "filters")
    check_ndim(x, "input", nd + 2, f"batch, channels, {spatial_axes(nd)}")
    check_ndim(w, "filters", nd + 2, f"out_channels, in_channels // num_groups, {spatial_axes(nd)}")
    check_hint(input_shape, x.shape, input_hint_name, "input")
    check_hint(filter_shape, w.shape, "filter_shape", "filters")
    mode = normalize_border_mode(border_mode, nd)
    strides = normalize_int_tuple(subsample, nd, "subsample")
    dilations = normalize_int_tuple(filter_dilation, nd, "filter_dilation")
    groups = positive_int(num_groups, "num_groups")
    check_filter_flip(filter_flip)
    check_kernel_sizes(w.shape)

    pads = explicit_pads(mode, w.shape[2:], dilations)
    check_conv_shapes(x.shape, w.shape, pads, dilations, groups, border_mode)
    out_sp = tuple(
        conv_out_size(s, k, p, st, d)
        for s, k, p, st, d in zip(x.shape[2:], w.shape[2:], pads, strides, dilations)
    )

    compute, result = compute_dtype(x, w)
    check_result_size(
        (x.shape[0], w.shape[0]) + out_sp,
        compute,
        f"conv{nd}d output",
        f"input.shape={x.shape}, filters.shape={w.shape}, border_mode={border_mode!r}, subsample={strides}, "
        f"filter_dilation={dilations}",
    )
    x = x.astype(compute, copy=False)
    w = w.astype(compute, copy=False)
    if filter_flip:
        w = flip_spatial(w)
    return ConvArgs(x, w, pads, strides, dilations, groups, (x.shape[0], w.shape[0]) + out_sp, result)


def run_conv(args: ConvArgs, backend: str) -> np.ndarray:
    """Run a validated convolution on ``backend`` and return it in the result dtype.

    Non-finite data runs on the numpy engine when ``backend``'s correlation does not place NaN
    and Inf as Theano did (see :func:`legacyconv.engines.get_op`): TensorFlow's kernels skip
    the padding (Theano's CorrMM multiplied it: 0 * Inf = NaN) and may reorder sums, so only
    Theano's own im2col GEMM arithmetic (or scipy's direct sums) put NaN and Inf where Theano
    put them.
    """
    correlate = get_op(backend, "correlate", args.x, args.w)
    if math.prod(args.out_shape) == 0:
        return np.zeros(args.out_shape, dtype=args.result_dtype)
    out = correlate(args.x, args.w, args.pads, args.strides, args.dilations, args.groups)
    return out.astype(args.result_dtype, copy=False)


def conv2d(
    input: Any,
    filters: Any,
    input_shape: Any = None,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1, 1),
    filter_flip: bool = True,
    image_shape: Any = None,
    filter_dilation: Any = (1, 1),
    num_groups: int = 1,
    unshared: bool = False,
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """Compute what ``theano.tensor.nnet.conv2d`` computed, eagerly, on NumPy arrays.

    Parameters
    ----------
    input : array_like, shape (batch, channels, rows, cols)
        NCHW images.
    filters : array_like, shape (out_channels, channels // num_groups, rows, cols)
        Theano-layout kernels.
    input_shape, filter_shape : tuple of int or None, optional
        Theano's shape hints; ``None`` entries are unknown. A hint that contradicts the
        array raises :class:`LegacyconvError`.
    border_mode : {'valid', 'full', 'half'}, int, tuple, optional
        'half' pads ``dilated_kernel // 2`` and 'full' pads ``dilated_kernel - 1`` on both
        sides; an int or per-axis ints pad symmetrically; per-axis ``(low, high)`` pairs pad
        asymmetrically, e.g. ``((1, 0), (2, 1))`` or ``(1, (2, 0))``.
    subsample : tuple of int, optional
        Strides.
    filter_flip : bool, optional
        True (Theano's default) flips the kernel: true convolution. False is cross-correlation.
    image_shape : tuple, optional
        Theano's deprecated alias of ``input_shape``.
    filter_dilation : tuple of int, optional
        Kernel dilation (atrous convolution).
    num_groups : int, optional
        Grouped convolution: channels and filters split into ``num_groups`` consecutive blocks.
    unshared : bool, optional
        Theano's locally connected variant; not implemented (raises NotImplementedError).
    backend : {'numpy', 'scipy', 'tensorflow'}, optional
        The engine: im2col + GEMM in NumPy, FFT/direct through SciPy, or TensorFlow's ops.

    Returns
    -------
    numpy.ndarray, shape (batch, out_channels, out_rows, out_cols)
        float32 for float32 inputs, float64 when either is float64. Integer and bool arrays
        take the other argument's float dtype (float64 if neither is floating). float16 is
        computed in float32 and returned as float16.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(25.0).reshape(1, 1, 5, 5)
    >>> conv2d(x, np.ones((1, 1, 3, 3)), border_mode="full").shape
    (1, 1, 7, 7)
    >>> conv2d(x, np.ones((1, 1, 3, 3)))[0, 0]
    array([[ 54.,  63.,  72.],
           [ 99., 108., 117.],
           [144., 153., 162.]])
    """
    if image_shape is not None:
        if input_shape is not None:
            raise LegacyconvError(
                "input_shape and image_shape must not both be given (image_shape is the "
                f"deprecated name of input_shape). Received: input_shape={input_shape!r}, "
                f"image_shape={image_shape!r}"
            )
        warnings.warn(
            "image_shape is deprecated, use input_shape (as in Theano 1.0)",
            DeprecationWarning,
            stacklevel=2,
        )
        input_shape = image_shape
    check_unshared(unshared)
    args = prepare_conv(
        input,
        filters,
        2,
        input_shape,
        filter_shape,
        border_mode,
        subsample,
        filter_flip,
        filter_dilation,
        num_groups,
    )
    return run_conv(args, backend)


def conv3d(
    input: Any,
    filters: Any,
    input_shape: Any = None,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1, 1, 1),
    filter_flip: bool = True,
    filter_dilation: Any = (1, 1, 1),
    num_groups: int = 1,
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """What ``theano.tensor.nnet.conv3d`` computed: :func:`conv2d`'s rules in three dimensions.

    ``input`` is NCDHW ``(batch, channels, depth, rows, cols)`` and ``filters`` is
    ``(out_channels, channels // num_groups, depth, rows, cols)``. Asymmetric ``(low, high)``
    padding is computed (zero padding, as in 2-D) although Theano raised
    ``NotImplementedError`` for it: see "Beyond Theano" in the README.

    >>> import numpy as np
    >>> conv3d(np.ones((1, 2, 4, 5, 6)), np.ones((3, 2, 2, 2, 2)), border_mode="half").shape
    (1, 3, 5, 6, 7)
    """
    args = prepare_conv(
        input,
        filters,
        3,
        input_shape,
        filter_shape,
        border_mode,
        subsample,
        filter_flip,
        filter_dilation,
        num_groups,
    )
    return run_conv(args, backend)


def causal_conv1d(
    input: Any,
    filters: Any,
    filter_shape: Any,
    input_shape: Any = None,
    subsample: Any = 1,
    filter_flip: bool = True,
    filter_dilation: Any = 1,
    num_groups: int = 1,
    unshared: bool = False,
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """What Theano's ``abstract_conv.causal_conv1d`` computed: a 1-D convolution padded
    ``filter_dilation * (length - 1)`` on the left only, so output ``t`` sees inputs ``<= t``.

    ``input`` is ``(batch, channels, length)``, ``filters`` ``(out, channels // num_groups,
    length)``; ``filter_shape`` (required, as in Theano: the padding comes from it) must agree
    with them. Theano ran it as a 2-D convolution over a trailing axis of one column; so does
    this.

    >>> import numpy as np
    >>> causal_conv1d(np.arange(5.0).reshape(1, 1, 5), np.ones((1, 1, 2)), (1, 1, 2))[0, 0]
    array([0., 1., 3., 5., 7.])
    """
    x = as_array(input, "input")
    w = as_array(filters, "filters")
    if x.ndim != 3:
        raise LegacyconvError(
            f"Input should be 3D for causal convolution: (batch, channels, length). Received: input.shape={x.shape}"
        )
    if w.ndim != 3:
        raise LegacyconvError(
            "Filters should be 3D for causal convolution: (out_channels, in_channels // num_groups, "
            f"length). Received: filters.shape={w.shape}"
        )
    if not isinstance(filter_shape, (tuple, list)) or len(filter_shape) != 3:
        raise LegacyconvError(
            "filter_shape must be a tuple of 3 (out_channels, in_channels // num_groups, length): "
            f"the left padding comes from its length. Received: filter_shape={filter_shape!r}"
        )
    if input_shape is not None and (not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3):
        raise LegacyconvError(
            f"input_shape must be a tuple of 3 or None. Received: input_shape={input_shape!r}"
        )
    check_hint(filter_shape, w.shape, "filter_shape", "filters")
    check_unshared(unshared)
    stride = positive_int(subsample, "subsample")
    dilation = positive_int(filter_dilation, "filter_dilation")
    left = dilation * (w.shape[2] - 1)
    args = prepare_conv(
        x[..., None],
        w[..., None],
        2,
        None if input_shape is None else (*input_shape, 1),
        None,
        ((left, 0), (0, 0)),
        (stride, 1),
        filter_flip,
        (dilation, 1),
        num_groups,
    )
    return run_conv(args, backend)[..., 0]
