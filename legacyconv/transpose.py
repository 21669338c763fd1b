"""``conv2d_transpose``: Theano 1.0's ``theano.tensor.nnet.conv2d_transpose``.

Theano defined the transposed convolution as the gradient of ``conv2d`` with respect to its
input (``AbstractConv2d_gradInputs``): ``filters`` are the *forward* convolution's filters
``(in, out // num_groups, rows, cols)`` read the other way round, ``input_dilation`` is the
forward ``subsample``, ``border_mode`` the forward padding, and ``output_shape`` the forward
input's shape, which the caller must give because several shapes give the same forward output.
So ``<conv2d(x, w), y> == <x, conv2d_transpose(y, w, x.shape)>`` for every mode.

Each engine computes it as ``correlate_input_grad`` (the engine contract): the numpy engine
sums exactly the products ``w * y`` of Theano's ``CorrMM_gradInputs``, by output phases (per
phase of the last axis one GEMM, then one contiguous add per leading kernel offset), or, for
kernels holding NaN or Inf, as Theano did (``w.T @ y``, then one strided add per kernel
offset); scipy correlates the stride-dilated input with the flipped, in/out-swapped kernel;
tensorflow calls ``tf.nn.conv2d_transpose``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._errors import LegacyconvError
from ._params import (
    Pads,
    as_array,
    check_filter_flip,
    check_hint,
    check_kernel_sizes,
    check_ndim,
    check_result_size,
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

__all__ = ["TransposeArgs", "conv2d_transpose", "prepare_transpose", "transpose_input_size"]


@dataclass(frozen=True)
class TransposeArgs:
    """A validated transposed convolution.

    ``w`` is in Theano's layout ``(in, out // groups, *kernel)``, in the compute dtype and *not*
    flipped; ``pads``, ``strides`` and ``dilations`` are those of the forward convolution whose
    gradient this is, and ``out_shape`` is the full output shape ``(batch, out, *spatial)``.
    """

    y: np.ndarray
    w: np.ndarray
    pads: Pads
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    groups: int
    filter_flip: bool
    out_shape: tuple[int, ...]
    result_dtype: np.dtype


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _normalize_output_shape(
    output_shape: Any, nd: int, name: str = "output_shape", full_only: bool = False
) -> tuple[Any, ...]:
    """``(batch or None, channels or None, *spatial)`` or (unless ``full_only``) just
    ``spatial``, as a full tuple."""
    ok = isinstance(output_shape, (tuple, list)) and len(output_shape) in (
        (nd + 2,) if full_only else (nd, nd + 2)
    )
    if ok:
        full = tuple(output_shape) if len(output_shape) == nd + 2 else (None, None, *output_shape)
        ok = all(v is None or (_is_int(v) and v >= 0) for v in full[:2]) and all(
            _is_int(v) and v >= 1 for v in full[2:]
        )
    if not ok:
        raise LegacyconvError(
            f"{name} must be (batch, channels, {', '.join(['depth', 'rows', 'cols'][3 - nd :])}) "
            "with positive spatial sizes (batch and channels may be None)"
            f"{'' if full_only else ', or the spatial sizes alone'}. Received: {name}={output_shape!r}"
        )
    return tuple(None if v is None else int(v) for v in full)


def transpose_input_size(
    out_size: int, kernel: int, pad: tuple[int, int], stride: int, dilation: int
) -> int | None:
    """The input length of a transposed convolution producing ``out_size``: the output length
    of the forward convolution of an ``out_size`` image, or None if that image is smaller than
    the dilated kernel.

    >>> transpose_input_size(6, 3, (1, 1), 2, 1), transpose_input_size(5, 3, (1, 1), 2, 1)
    (3, 3)
    """
    if out_size + pad[0] + pad[1] < (kernel - 1) * dilation + 1:
        return None
    return conv_out_size(out_size, kernel, pad, stride, dilation)


def prepare_transpose(
    input: Any,
    filters: Any,
    output_shape: Any,
    nd: int = 2,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    input_dilation: Any = 1,
    filter_flip: bool = True,
    filter_dilation: Any = 1,
    num_groups: Any = 1,
    *,
    names: tuple[str, str, str] = ("input", "output_shape", "input_dilation"),
) -> TransposeArgs:
    """Validate Theano-style ``conv2d_transpose`` arguments (``nd`` spatial axes).

    ``names`` are the caller's names of the input, the output shape and the stride
    (``conv2d_grad_wrt_inputs`` calls them ``output_grad``, ``input_shape`` and
    ``subsample``, and needs the full output shape), so that errors use the caller's words."""
    inp, shp, std = names
    y = as_array(input, inp)
    w = as_array(filters, "filters")
    axes = spatial_axes(nd)
    check_ndim(y, inp, nd + 2, f"batch, in_channels, {axes}")
    check_ndim(w, "filters", nd + 2, f"in_channels, out_channels // num_groups, {axes}")
    check_hint(filter_shape, w.shape, "filter_shape", "filters")
    full = _normalize_output_shape(output_shape, nd, shp, full_only=shp != "output_shape")
    mode = normalize_border_mode(border_mode, nd)
    strides = normalize_int_tuple(input_dilation, nd, std)
    dilations = normalize_int_tuple(filter_dilation, nd, "filter_dilation")
    groups = positive_int(num_groups, "num_groups")
    check_filter_flip(filter_flip)
    check_kernel_sizes(w.shape)
    if y.shape[1] != w.shape[0]:
        raise LegacyconvError(
            f"{inp} and filters must agree on the channels: {inp}.shape={y.shape} has "
            f"{y.shape[1]} channels, filters.shape={w.shape} expects {w.shape[0]} "
            "(filters are (in_channels, out_channels // num_groups, ...), as in Theano)"
        )
    if w.shape[0] % groups:
        raise LegacyconvError(
            f"input channels must be divisible by num_groups: filters.shape={w.shape} has "
            f"{w.shape[0]} input channels, num_groups={groups}"
        )
    n_out = w.shape[1] * groups
    if full[0] is not None and full[0] != y.shape[0]:
        raise LegacyconvError(
            f"{shp} and {inp} must have the same batch size: {shp}={full}, {inp}.shape={y.shape}"
        )
    if full[1] is not None and full[1] != n_out:
        raise LegacyconvError(
            f"{shp} does not match the filters: {shp}={full} has {full[1]} channels, "
            f"filters.shape={w.shape} with num_groups={groups} give {n_out}"
        )
    out_sp = full[2:]
    pads = explicit_pads(mode, w.shape[2:], dilations)
    forward = tuple(
        transpose_input_size(h, k, p, s, d)
        for h, k, p, s, d in zip(out_sp, w.shape[2:], pads, strides, dilations)
    )
    if forward != y.shape[2:]:
        lows: list[str] = []
        for k, p, s, d in zip(w.shape[2:], pads, strides, dilations):
            lo = (y.shape[2 + len(lows)] - 1) * s + (k - 1) * d + 1 - p[0] - p[1]
            hi = lo + s - 1
            lows.append("none" if hi < 1 else str(hi) if max(lo, 1) == hi else f"{max(lo, 1)}..{hi}")
        would_give = (
            "no output (the padded image is smaller than the dilated kernel)"
            if None in forward
            else str(forward)
        )
        raise LegacyconvError(
            f"{shp} is inconsistent with the {inp}: the convolution of an image of size {out_sp} "
            f"with filters.shape={w.shape}, border_mode={border_mode!r}, "
            f"{'subsample' if std == 'subsample' else 'subsample=' + std}={strides}, "
            f"filter_dilation={dilations} would give {would_give}, but {inp}.shape={y.shape} has "
            f"{y.shape[2:]}. {shp}={full}; sizes consistent with the {inp}: "
            f"({', '.join(lows)})"
        )
    compute, result = compute_dtype(y, w)
    check_result_size(
        (y.shape[0], n_out) + tuple(out_sp),
        compute,
        f"conv{nd}d_transpose output",
        f"input.shape={y.shape}, filters.shape={w.shape}, output_shape={full}, input_dilation={strides}",
    )
    return TransposeArgs(
        y.astype(compute, copy=False),
        w.astype(compute, copy=False),
        pads,
        strides,
        dilations,
        groups,
        bool(filter_flip),
        (y.shape[0], n_out) + tuple(out_sp),
        result,
    )


def conv2d_transpose(
    input: Any,
    filters: Any,
    output_shape: Any,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    input_dilation: Any = (1, 1),
    filter_flip: bool = True,
    filter_dilation: Any = (1, 1),
    num_groups: int = 1,
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """Compute what ``theano.tensor.nnet.conv2d_transpose`` computed, eagerly, on NumPy arrays.

    Parameters
    ----------
    input : array_like, shape (batch, in_channels, rows, cols)
    filters : array_like, shape (in_channels, out_channels // num_groups, rows, cols)
        The filters of the forward ``conv2d`` whose gradient this is (Theano's layout).
    output_shape : tuple
        ``(batch, out_channels, out_rows, out_cols)`` (batch and channels may be None) or
        ``(out_rows, out_cols)``. It must be an image size that the forward ``conv2d`` maps
        to the input's size: with stride ``s`` there are ``s`` such sizes.
    filter_shape : tuple, optional
        Shape hint of ``filters``; it must agree with them.
    border_mode : {'valid', 'full', 'half'}, int, tuple, optional
        The forward convolution's padding (see :func:`legacyconv.conv2d`).
    input_dilation : tuple of int, optional
        The forward convolution's ``subsample``: the upsampling factor.
    filter_flip : bool, optional
        The forward convolution's ``filter_flip``.
    filter_dilation : tuple of int, optional
    num_groups : int, optional
    backend : {'numpy', 'scipy', 'tensorflow'}, optional
        'tensorflow' calls ``tf.nn.conv2d_transpose`` with the kernel of
        :func:`legacyconv.layouts.theano_transpose_kernel_to_tf` and explicit padding.

    Returns
    -------
    numpy.ndarray, shape (batch, out_channels, out_rows, out_cols)
        Dtype as for :func:`legacyconv.conv2d`.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.ones((1, 1, 2, 2))
    >>> conv2d_transpose(y, np.ones((1, 1, 2, 2)), (1, 1, 4, 4), input_dilation=(2, 2))[0, 0]
    array([[1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.]])
    >>> conv2d_transpose(y, np.ones((1, 3, 3, 3)), (None, None, 2, 2), border_mode="half").shape
    (1, 3, 2, 2)
    """
    get_op(backend, "correlate_input_grad")  # an unknown backend fails first
    args = prepare_transpose(
        input,
        filters,
        output_shape,
        2,
        filter_shape,
        border_mode,
        input_dilation,
        filter_flip,
        filter_dilation,
        num_groups,
    )
    return run_transpose(args, backend)


def run_transpose(args: TransposeArgs, backend: str) -> np.ndarray:
    """Run a validated transposed convolution and return it in the result dtype: the engine's
    ``correlate_input_grad`` with the forward correlation kernel.

    Non-finite data takes the numpy engine, whose sums hold Theano's ``CorrMM_gradInputs``
    products and no others (``w.T @ y`` scattered back), whatever ``backend`` says (see
    :func:`legacyconv.engines.get_op`): correlating the zero-dilated input multiplies the
    inserted zeros by the kernel (0 * Inf = NaN where Theano had none), and an FFT would spread
    one NaN over a whole plane.
    """
    get_op(backend, "correlate_input_grad")  # an unknown backend fails first
    if math.prod(args.out_shape) == 0 or args.y.size == 0:
        return np.zeros(args.out_shape, dtype=args.result_dtype)
    input_grad = get_op(backend, "correlate_input_grad", args.y, args.w)
    wc = flip_spatial(args.w) if args.filter_flip else args.w
    out = input_grad(args.y, wc, args.out_shape[2:], args.pads, args.strides, args.dilations, args.groups)
    return out.astype(args.result_dtype, copy=False)
