"""The gradients of the convolution: Theano 1.0's ``conv2d_grad_wrt_inputs``,
``conv2d_grad_wrt_weights`` and their 3-D twins (``theano.tensor.nnet.abstract_conv``).

They are the exact adjoints of :func:`legacyconv.conv2d` / :func:`legacyconv.conv3d` with the
same arguments: for every ``x``, ``w`` and ``y`` of the right shapes,
``<conv2d(x, w), y> == <x, conv2d_grad_wrt_inputs(y, w, x.shape)>
== <w, conv2d_grad_wrt_weights(x, y, w.shape)>``.

Theano asked for the shape of what it computed: with a stride above 1 several image sizes
(``input_shape``) give the same output size, and several kernel sizes (``filter_shape``) fit an
image and an output, so the spatial sizes of ``input_shape`` (gradient wrt inputs) and of
``filter_shape`` (gradient wrt weights) are required; their batch and channel entries may be
None. A given shape that the convolution would not map to ``output_grad``'s shape raises.

The gradient wrt inputs is :func:`legacyconv.conv2d_transpose` (Theano built that one on it);
the gradient wrt weights is the engines' ``correlate_weight_grad`` (the numpy engine contracts
the im2col columns of the input with ``output_grad``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._errors import LegacyconvError
from ._params import (
    Pads,
    _is_int,
    as_array,
    check_filter_flip,
    check_hint,
    check_ndim,
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
from .transpose import prepare_transpose, run_transpose

__all__ = [
    "WeightGradArgs",
    "conv2d_grad_wrt_inputs",
    "conv2d_grad_wrt_weights",
    "conv3d_grad_wrt_inputs",
    "conv3d_grad_wrt_weights",
    "prepare_weight_grad",
    "run_weight_grad",
]

# prepare_transpose's names of the input, the output shape and the stride, as the gradient calls them
_GRAD_NAMES = ("output_grad", "input_shape", "subsample")


@dataclass(frozen=True)
class WeightGradArgs:
    """A validated gradient wrt the weights: ``x`` and ``y`` in the compute dtype, the kernel
    size, the forward convolution's explicit padding, strides, dilations and groups."""

    x: np.ndarray
    y: np.ndarray
    kernel: tuple[int, ...]
    pads: Pads
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    groups: int
    filter_flip: bool
    result_dtype: np.dtype


def prepare_weight_grad(
    input: Any,
    output_grad: Any,
    filter_shape: Any,
    nd: int,
    input_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = 1,
    filter_flip: bool = True,
    filter_dilation: Any = 1,
    num_groups: Any = 1,
) -> WeightGradArgs:
    """Validate Theano-style ``conv{nd}d_grad_wrt_weights`` arguments."""
    x = as_array(input, "input")
    y = as_array(output_grad, "output_grad")
    sp = spatial_axes(nd)
    check_ndim(x, "input", nd + 2, f"batch, channels, {sp}")
    check_ndim(y, "output_grad", nd + 2, f"batch, out_channels, {sp}")
    if (
        not isinstance(filter_shape, (tuple, list))
        or len(filter_shape) != nd + 2
        or not all(v is None or (_is_int(v) and v >= 1) for v in filter_shape[:2])
        or not all(_is_int(v) and v >= 1 for v in filter_shape[2:])
    ):
        raise LegacyconvError(
            f"filter_shape must be (out_channels, in_channels // num_groups, {sp}) with positive "
            "spatial sizes (the channel entries may be None): with a stride several kernel sizes "
            f"fit. Received: filter_shape={filter_shape!r}"
        )
    check_hint(input_shape, x.shape, "input_shape", "input")
    mode = normalize_border_mode(border_mode, nd)
    strides = normalize_int_tuple(subsample, nd, "subsample")
    dilations = normalize_int_tuple(filter_dilation, nd, "filter_dilation")
    groups = positive_int(num_groups, "num_groups")
    check_filter_flip(filter_flip)
    kernel = tuple(int(k) for k in filter_shape[2:])
    channels, n_out = x.shape[1], y.shape[1]
    if channels % groups or n_out % groups:
        raise LegacyconvError(
            "input and output_grad channels must be divisible by num_groups: "
            f"input.shape={x.shape}, output_grad.shape={y.shape}, num_groups={groups}"
        )
    expected_filters = (n_out, channels // groups) + kernel
    if any(h is not None and h != e for h, e in zip(filter_shape[:2], expected_filters[:2])):
        raise LegacyconvError(
            f"filter_shape does not match the arrays: filter_shape={tuple(filter_shape)!r}, but "
            f"output_grad.shape={y.shape} and input.shape={x.shape} with num_groups={groups} "
            f"give filters of shape {expected_filters}"
        )
    pads = explicit_pads(mode, kernel, dilations)
    if any(s + p[0] + p[1] < (k - 1) * d + 1 for s, k, p, d in zip(x.shape[2:], kernel, pads, dilations)):
        raise LegacyconvError(
            f"impossible convolution: the (dilated) kernel of filter_shape={tuple(filter_shape)!r} "
            f"is larger than the padded input (input.shape={x.shape}, border_mode={border_mode!r}, "
            f"filter_dilation={dilations})"
        )
    out_sp = tuple(
        conv_out_size(s, k, p, st, d) for s, k, p, st, d in zip(x.shape[2:], kernel, pads, strides, dilations)
    )
    if (x.shape[0],) + out_sp != (y.shape[0],) + y.shape[2:]:
        raise LegacyconvError(
            f"output_grad has the wrong shape: the convolution of input.shape={x.shape} with "
            f"filters of shape {expected_filters}, border_mode={border_mode!r}, subsample={strides}, "
            f"filter_dilation={dilations} gives {(x.shape[0], n_out) + out_sp}, but "
            f"output_grad.shape={y.shape}"
        )
    compute, result = compute_dtype(x, y)
    return WeightGradArgs(
        x.astype(compute, copy=False),
        y.astype(compute, copy=False),
        kernel,
        pads,
        strides,
        dilations,
        groups,
        bool(filter_flip),
        result,
    )


def run_weight_grad(args: WeightGradArgs, backend: str) -> np.ndarray:
    """Run a validated gradient wrt the weights and return it in the result dtype."""
    get_op(backend, "correlate_weight_grad")  # an unknown backend fails first
    shape = (args.y.shape[1], args.x.shape[1] // args.groups) + args.kernel
    if math.prod(shape) == 0 or args.x.shape[0] == 0:
        return np.zeros(shape, dtype=args.result_dtype)
    weight_grad = get_op(backend, "correlate_weight_grad", args.x, args.y)  # non-finite: numpy
    dw = weight_grad(args.x, args.y, args.kernel, args.pads, args.strides, args.dilations, args.groups)
    if args.filter_flip:
        dw = flip_spatial(dw)
    return np.ascontiguousarray(dw).astype(args.result_dtype, copy=False)


def conv2d_grad_wrt_inputs(
    output_grad: Any,
    filters: Any,
    input_shape: Any,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1, 1),
    filter_flip: bool = True,
    filter_dilation: Any = (1, 1),
    num_groups: int = 1,
    unshared: bool = False,
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """Compute what Theano's ``conv2d_grad_wrt_inputs`` computed: the gradient of
    ``conv2d(input, filters, ...)`` with respect to ``input``, given the gradient wrt its output.

    Parameters
    ----------
    output_grad : array_like, shape (batch, out_channels, out_rows, out_cols)
    filters : array_like, shape (out_channels, in_channels // num_groups, rows, cols)
        The forward convolution's filters.
    input_shape : tuple
        ``(batch, in_channels, rows, cols)`` of the forward input; batch and channels may be
        None, the spatial sizes are required (with a stride, several sizes give the same output).
    filter_shape : tuple, optional
        Shape hint of ``filters``.
    border_mode, subsample, filter_flip, filter_dilation, num_groups : optional
        The forward convolution's arguments, as in :func:`legacyconv.conv2d`.
    unshared : bool, optional
        Not implemented (raises NotImplementedError).
    backend : {'numpy', 'scipy', 'tensorflow'}, optional

    Returns
    -------
    numpy.ndarray, shape (batch, in_channels, rows, cols)
        Dtype as for :func:`legacyconv.conv2d`.

    Examples
    --------
    >>> import numpy as np
    >>> g = conv2d_grad_wrt_inputs(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), (1, 1, 3, 3))
    >>> g[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])

    With a stride, images of 5 and 6 rows give the same output: ``input_shape`` decides.

    >>> g = np.ones((1, 1, 2, 2))
    >>> conv2d_grad_wrt_inputs(g, np.ones((1, 1, 3, 3)), (None, None, 5, 6), subsample=(2, 2)).shape
    (1, 1, 5, 6)
    """
    check_unshared(unshared)
    args = prepare_transpose(
        output_grad,
        filters,
        input_shape,
        2,
        filter_shape,
        border_mode,
        subsample,
        filter_flip,
        filter_dilation,
        num_groups,
        names=_GRAD_NAMES,
    )
    return run_transpose(args, backend)


def conv3d_grad_wrt_inputs(
    output_grad: Any,
    filters: Any,
    input_shape: Any,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1, 1, 1),
    filter_flip: bool = True,
    filter_dilation: Any = (1, 1, 1),
    num_groups: int = 1,
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """:func:`conv2d_grad_wrt_inputs` for :func:`legacyconv.conv3d` (NCDHW).

    >>> import numpy as np
    >>> conv3d_grad_wrt_inputs(np.ones((1, 2, 2, 2, 2)), np.ones((2, 3, 2, 2, 2)), (1, 3, 3, 3, 3)).shape
    (1, 3, 3, 3, 3)
    """
    args = prepare_transpose(
        output_grad,
        filters,
        input_shape,
        3,
        filter_shape,
        border_mode,
        subsample,
        filter_flip,
        filter_dilation,
        num_groups,
        names=_GRAD_NAMES,
    )
    return run_transpose(args, backend)


def conv2d_grad_wrt_weights(
    input: Any,
    output_grad: Any,
    filter_shape: Any,
    input_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1, 1),
    filter_flip: bool = True,
    filter_dilation: Any = (1, 1),
    num_groups: int = 1,
    unshared: bool = False,
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """Compute what Theano's ``conv2d_grad_wrt_weights`` computed: the gradient of
    ``conv2d(input, filters, ...)`` with respect to ``filters``, given the gradient wrt its output.

    Parameters
    ----------
    input : array_like, shape (batch, in_channels, rows, cols)
        The forward convolution's input.
    output_grad : array_like, shape (batch, out_channels, out_rows, out_cols)
    filter_shape : tuple
        ``(out_channels, in_channels // num_groups, rows, cols)``; the channel entries may be
        None, the kernel size is required.
    input_shape : tuple, optional
        Shape hint of ``input``.
    border_mode, subsample, filter_flip, filter_dilation, num_groups : optional
        The forward convolution's arguments, as in :func:`legacyconv.conv2d`.
    unshared : bool, optional
        Not implemented (raises NotImplementedError).
    backend : {'numpy', 'scipy', 'tensorflow'}, optional

    Returns
    -------
    numpy.ndarray, shape filter_shape
        Dtype as for :func:`legacyconv.conv2d`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> conv2d_grad_wrt_weights(x, np.ones((1, 1, 2, 2)), (1, 1, 2, 2), filter_flip=False)[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    check_unshared(unshared)
    args = prepare_weight_grad(
        input,
        output_grad,
        filter_shape,
        2,
        input_shape,
        border_mode,
        subsample,
        filter_flip,
        filter_dilation,
        num_groups,
    )
    return run_weight_grad(args, backend)


def conv3d_grad_wrt_weights(
    input: Any,
    output_grad: Any,
    filter_shape: Any,
    input_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1, 1, 1),
    filter_flip: bool = True,
    filter_dilation: Any = (1, 1, 1),
    num_groups: int = 1,
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """:func:`conv2d_grad_wrt_weights` for :func:`legacyconv.conv3d` (NCDHW).

    >>> import numpy as np
    >>> conv3d_grad_wrt_weights(np.ones((1, 2, 4, 4, 4)), np.ones((1, 3, 2, 2, 2)), (3, 2, 3, 3, 3)).shape
    (3, 2, 3, 3, 3)
    """
    args = prepare_weight_grad(
        input,
        output_grad,
        filter_shape,
        3,
        input_shape,
        border_mode,
        subsample,
        filter_flip,
        filter_dilation,
        num_groups,
    )
    return run_weight_grad(args, backend)
