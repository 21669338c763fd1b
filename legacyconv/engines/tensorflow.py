"""The tensorflow engine: Theano's convolution family through ``tf.raw_ops`` on converted layouts.

Same contract as :mod:`legacyconv.engines.numpy_gemm`: NCHW (NCDHW) NumPy arrays in, as NumPy
in the input's dtype out; :func:`correlate`, :func:`correlate_input_grad`,
:func:`correlate_weight_grad`, :func:`pool2d` and :func:`separable_matmul`.
The input and kernel are converted with :mod:`legacyconv.layouts` (the kernel arrives already
flipped, so it is converted with ``filter_flip=False``); TensorFlow is imported on first use.

What TensorFlow's CPU kernels can and cannot do decides the route:

- Padding is never TF's: the input is zero-padded in NumPy while it is transposed to
  channels-last, and every op runs 'VALID' (``padding='EXPLICIT'`` went wrong under oneDNN).
- 2-D: ``Conv2D`` takes any strides *with* dilation, and grouped kernels
  ``(rows, cols, in // groups, out)``. With one input channel it runs at equal strides and the
  rest is sliced: oneDNN's one-channel kernel returns uninitialised memory for row stride 1,
  column stride >= 2 and one output column. A depthwise convolution (one input channel per
  group) goes to ``DepthwiseConv2dNative`` instead, an order of magnitude faster than a
  ``Conv2D`` with ``groups=channels``; that kernel needs equal row/column strides and no
  dilation, so other strides are reached by slicing a finer-strided result, and dilation goes
  through ``tf.nn.depthwise_conv2d`` at stride 1 (its stride-with-dilation result is wrong).
- 3-D: ``Conv3D`` has no dilation and no groups on CPU: dilation uses ``tf.nn.convolution``
  (space-to-batch) at stride 1 or a zero-inflated kernel otherwise, and groups run one by one.
- The input gradient (Theano's ``conv2d_transpose``) is ``tf.nn.conv2d_transpose`` 'VALID' (the
  whole transposed convolution), cropped to Theano's window, with the kernel of
  :func:`legacyconv.layouts.theano_transpose_kernel_to_tf`; TF's CPU kernel has neither
  dilation nor groups, so a dilated kernel is spelled out with zeros and groups run one after
  the other. 3-D correlates.
- The weight gradient is ``Conv2DBackpropFilter`` / ``Conv3DBackpropFilterV2`` 'VALID' on the
  padded input; with dilation (refused by some CPU kernels) it correlates.
- Pooling pads (``-inf`` for max, zeros otherwise) or crops so that TF's 'VALID' windows are
  exactly Theano's, then divides window sums by Theano's divisors when they are not the
  constant window size. TF's 'SAME' is not Theano's geometry in general. These NHWC helpers
  (:func:`pool2d_nhwc`, :func:`dilate_kernel`) are also what the Keras builders use.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from .._config import scratch
from .._params import Pads, conv_out_size
from .._pool_plan import PoolPlan, finish_pool, first_cell_nan
from .._tf import import_tensorflow
from ..layouts import (
    ndhwc_to_ncdhw,
    nhwc_to_nchw,
    theano_depthwise_kernel_to_tf,
    theano_kernel3d_to_tf,
    theano_kernel_to_tf,
    theano_transpose_kernel_to_tf,
)
from ._by_correlation import input_grad_by_correlation, weight_grad_by_correlation

__all__ = [
    "correlate",
    "correlate_input_grad",
    "correlate_weight_grad",
    "dilate_kernel",
    "pool2d",
    "pool2d_nhwc",
    "pool_crops_and_pads",
    "separable_matmul",
]

#: TensorFlow's convolutions skip the padding and may reorder sums: only pooling (NaN placed by
#: :func:`legacyconv._pool_plan.first_cell_nan`) keeps Theano's NaN and Inf.
NON_FINITE_EXACT = ("pool2d",)


def correlate(
    x: np.ndarray,
    w: np.ndarray,
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """N-d grouped cross-correlation of zero-padded ``x`` with ``w``, computed by TensorFlow.

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> correlate(x, np.ones((1, 1, 2, 2)), ((0, 0), (0, 0)), (2, 2), (1, 1), 1)[0, 0]
    array([[10., 18.],
           [42., 50.]])
    """
    nd = x.ndim - 2
    if w.shape[1] == 0:  # no input channels: a sum of nothing, which TF's kernels refuse
        out_sp = tuple(
            conv_out_size(s, k, p, st, d)
            for s, k, p, st, d in zip(x.shape[2:], w.shape[2:], pads, strides, dilations)
        )
        return np.zeros((x.shape[0], w.shape[0], *out_sp), dtype=x.dtype)
    if nd == 2:
        return _correlate2d(x, w, pads, strides, dilations, groups)
    if nd == 3:
        return _correlate3d(x, w, pads, strides, dilations, groups)
    if nd == 1:  # a row of one pixel
        out = _correlate2d(
            x[:, :, None], w[:, :, None], ((0, 0), *pads), (1, *strides), (1, *dilations), groups
        )
        return out[:, :, 0]
    raise NotImplementedError(
        f"the tensorflow engine computes 1-, 2- and 3-d convolutions; a {nd}-d one is not implemented."
    )


def _padded_nhwc(x: np.ndarray, pads: Pads) -> np.ndarray:
    """``x`` (N, C, *spatial) zero-padded by ``pads`` and moved to channels-last, in the kept
    scratch: only the border is zeroed, the inside is written once by the transpose."""
    n, channels = x.shape[:2]
    shape = (n, *(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads)), channels)
    (xh,) = scratch([shape], x.dtype)
    inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape[2:], pads))
    for axis, ((lo, hi), size) in enumerate(zip(pads, shape[1:-1]), start=1):
        index = [slice(None)] * xh.ndim
        if lo:
            index[axis] = slice(0, lo)
            xh[tuple(index)] = 0
        if hi:
            index[axis] = slice(size - hi, size)
            xh[tuple(index)] = 0
    np.copyto(xh[(slice(None), *inner, slice(None))], np.moveaxis(x, 1, -1))
    return xh


def _correlate2d(
    x: np.ndarray,
    w: np.ndarray,
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    tf = import_tensorflow()
    # TF's explicit padding is wrong under oneDNN on some CPUs (one input channel, unequal
    # strides): the NHWC copy is written into a zero-bordered buffer and every op runs 'VALID'.
    # The copy is read only by the (synchronous) op below, so it can live in the kept scratch.
    xh = _padded_nhwc(x, pads)
    sr, sc = strides
    if groups > 1 and w.shape[1] == 1:
        kernel = theano_depthwise_kernel_to_tf(w, filter_flip=False, num_channels=groups)
        if dilations == (1, 1):
            step = math.gcd(sr, sc)
            y = tf.raw_ops.DepthwiseConv2dNative(
                input=xh,
                filter=kernel,
                strides=[1, step, step, 1],
                padding="VALID",
            )
        else:
            step = 1
            y = tf.nn.depthwise_conv2d(
                xh,
                kernel,
                strides=[1, 1, 1, 1],
                padding="VALID",
                dilations=list(dilations),
            )
        if (sr, sc) != (step, step):
            y = y[:, :: sr // step, :: sc // step, :]
    else:
        kernel = theano_kernel_to_tf(w, filter_flip=False)
        # oneDNN's Conv2D returns uninitialised memory for one input channel, row stride 1,
        # column stride >= 2 and one output column: one input channel runs at equal strides.
        step = math.gcd(sr, sc) if x.shape[1] == 1 else 0
        y = tf.raw_ops.Conv2D(
            input=xh,
            filter=kernel,
            strides=[1, step, step, 1] if step else [1, sr, sc, 1],
            padding="VALID",
            dilations=[1, *dilations, 1],
        )
        if step and (sr, sc) != (step, step):
            y = y[:, :: sr // step, :: sc // step, :]
    return nhwc_to_nchw(y.numpy())


def _correlate3d(
    x: np.ndarray,
    w: np.ndarray,
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    tf = import_tensorflow()
    xh = _padded_nhwc(x, pads)
    kernel = theano_kernel3d_to_tf(w, filter_flip=False)
    conv_strides = [1, *strides, 1]
    atrous = any(d > 1 for d in dilations)
    if atrous and any(s > 1 for s in strides):
        # Spread the taps into a zero-filled kernel of the dilated size.
        spread = np.zeros(
            (*((k - 1) * d + 1 for k, d in zip(kernel.shape[:3], dilations)), *kernel.shape[3:]),
            dtype=kernel.dtype,
        )
        spread[tuple(slice(None, None, d) for d in dilations)] = kernel
        kernel, atrous = spread, False

    cg, og = w.shape[1], w.shape[0] // groups
    # oneDNN's Conv3D gives wrong numbers for one input channel with unequal strides (e.g.
    # (1, 1, 2) or (2, 1, 2) with a kernel 2 wide on the last axis; found by a sweep against the
    # numpy engine), like its Conv2D: one input channel runs at equal strides, then subsamples.
    step = math.gcd(*strides) if cg == 1 and len(set(strides)) > 1 else 0
    if step:
        conv_strides = [1, step, step, step, 1]
    outs = []
    for g in range(groups):
        xg = xh if groups == 1 else xh[..., g * cg : (g + 1) * cg]
        kg = kernel if groups == 1 else kernel[..., g * og : (g + 1) * og]
        if atrous:
            outs.append(tf.nn.convolution(xg, kg, padding="VALID", dilations=list(dilations)))
        else:
            outs.append(tf.nn.conv3d(xg, kg, strides=conv_strides, padding="VALID"))
    y = outs[0] if groups == 1 else tf.concat(outs, axis=-1)
    if step:
        y = y[:, :: strides[0] // step, :: strides[1] // step, :: strides[2] // step, :]
    return ndhwc_to_ncdhw(y.numpy())


def correlate_weight_grad(
    x: np.ndarray,
    y: np.ndarray,
    kernel: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """The kernel gradient of :func:`correlate` (see
    :func:`legacyconv.engines.numpy_gemm.correlate_weight_grad`).

    2-D and 3-D without dilation: ``Conv2DBackpropFilter`` / ``Conv3DBackpropFilterV2`` with
    'VALID' padding on an input zero-padded here, one call per group (TF's CPU kernels take
    dilation only for some dtypes); otherwise the input is correlated with ``y`` by :func:`correlate`.

    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> correlate_weight_grad(x, np.ones((1, 1, 2, 2)), (2, 2), ((0, 0), (0, 0)), (1, 1), (1, 1), 1)[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    nd = x.ndim - 2
    if nd not in (2, 3) or x.shape[1] == 0 or y.shape[1] == 0 or any(d > 1 for d in dilations):
        return weight_grad_by_correlation(correlate, x, y, kernel, pads, strides, dilations, groups)
    tf = import_tensorflow()
    last = (0, *range(2, nd + 2), 1)
    xp = x
    if any(p != (0, 0) for p in pads):
        xp = np.pad(x, ((0, 0), (0, 0), *pads))
    # TF's VALID windows: the padded input may not be longer than the windows reach
    reach = tuple(
        (o - 1) * s + (k - 1) * d + 1 for o, k, s, d in zip(y.shape[2:], kernel, strides, dilations)
    )
    xp = xp[(slice(None), slice(None)) + tuple(slice(0, r) for r in reach)]
    xh = np.ascontiguousarray(xp.transpose(last))
    yh = np.ascontiguousarray(y.transpose(last))
    cg, og = x.shape[1] // groups, y.shape[1] // groups
    op = tf.raw_ops.Conv2DBackpropFilter if nd == 2 else tf.raw_ops.Conv3DBackpropFilterV2
    parts = []
    for g in range(groups):
        dw = op(
            input=xh[..., g * cg : (g + 1) * cg],
            filter_sizes=[*kernel, cg, og],
            out_backprop=yh[..., g * og : (g + 1) * og],
            strides=[1, *strides, 1],
            padding="VALID",
            dilations=[1, *dilations, 1],
        ).numpy()
        parts.append(dw.transpose((nd + 1, nd, *range(nd))))  # (k..., cg, og) -> (og, cg, k...)
    return parts[0] if groups == 1 else np.concatenate(parts, axis=0)


def correlate_input_grad(
    y: np.ndarray,
    w: np.ndarray,
    out_spatial: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """The input gradient of :func:`correlate` (see
    :func:`legacyconv.engines.numpy_gemm.correlate_input_grad`): 2-D through
    ``tf.nn.conv2d_transpose``, other ranks as a correlation.

    >>> correlate_input_grad(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), (3, 3), ((0, 0), (0, 0)), (1, 1), (1, 1), 1)[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    if y.ndim != 4:
        return input_grad_by_correlation(correlate, y, w, out_spatial, pads, strides, dilations, groups)
    tf = import_tensorflow()
    yt = tf.convert_to_tensor(np.transpose(y, (0, 2, 3, 1)))
    wd = dilate_kernel(w, dilations)
    n, n_in = y.shape[:2]
    rows, cols = out_spatial
    og = n_in // groups
    cg = w.shape[1]
    # The whole transposed convolution ('VALID', plus the rows past the last one an input pixel
    # reaches), then Theano's window of it: TF's explicit padding is not trusted (see above).
    whole = [
        max((size - 1) * s + (k - 1) * d + 1, h + p[0])
        for size, k, d, s, h, p in zip(y.shape[2:], w.shape[2:], dilations, strides, out_spatial, pads)
    ]
    parts = []
    for g in range(groups):
        kernel = theano_transpose_kernel_to_tf(wd[g * og : (g + 1) * og], filter_flip=False)
        parts.append(
            tf.nn.conv2d_transpose(
                yt[..., g * og : (g + 1) * og] if groups > 1 else yt,
                kernel,
                output_shape=[n, *whole, cg],
                strides=list(strides),
                padding="VALID",
            )
        )
    out = parts[0] if groups == 1 else tf.concat(parts, axis=-1)
    (r0, _), (c0, _) = pads
    out = out[:, r0 : r0 + rows, c0 : c0 + cols, :]
    return np.transpose(out.numpy(), (0, 3, 1, 2))


def dilate_kernel(w: np.ndarray, dilations: tuple[int, ...]) -> np.ndarray:
    """Spell a dilated kernel out with zeros: ``(..., k)`` -> ``(..., (k - 1) * d + 1)`` on the
    trailing ``len(dilations)`` axes.

    >>> dilate_kernel(np.ones((1, 1, 1, 2)), (1, 3))[0, 0]
    array([[1., 0., 0., 1.]])
    """
    if all(d == 1 for d in dilations):
        return w
    nd = len(dilations)
    lead = w.shape[: w.ndim - nd]
    kernel = w.shape[w.ndim - nd :]
    out = np.zeros(lead + tuple((k - 1) * d + 1 for k, d in zip(kernel, dilations)), dtype=w.dtype)
    out[(Ellipsis,) + tuple(slice(None, None, d) for d in dilations)] = w
    return out


def pool_crops_and_pads(plan: PoolPlan) -> tuple[tuple[int, int], ...]:
    """Per axis ``(low pad, high pad)``; a negative high pad is a crop. After them, TF's
    'VALID' windows of size ``ws`` and stride ``stride`` are exactly Theano's windows."""
    return tuple((a.pad, (a.out - 1) * a.stride + a.ws - a.size - a.pad) for a in plan.axes)


def pool2d_nhwc(x: Any, plan: PoolPlan) -> Any:
    """Theano's pooling of NHWC tensor ``x`` (rows, cols as in ``plan``), with ``tf.nn`` ops.

    ``x`` must have a float dtype and a static channel count."""
    tf = import_tensorflow()
    (r_lo, r_hi), (c_lo, c_hi) = pool_crops_and_pads(plan)
    out_r, out_c = plan.out_shape
    if out_r == 0 or out_c == 0:
        return tf.zeros([tf.shape(x)[0], out_r, out_c, x.shape[-1]], dtype=x.dtype)
    if r_hi < 0 or c_hi < 0:
        x = x[:, : x.shape[1] + min(r_hi, 0), : x.shape[2] + min(c_hi, 0), :]
    fill = -np.inf if plan.mode == "max" else 0.0
    if r_lo or c_lo or r_hi > 0 or c_hi > 0:
        x = tf.pad(x, [[0, 0], [r_lo, max(r_hi, 0)], [c_lo, max(c_hi, 0)], [0, 0]], constant_values=fill)
    ws, stride = list(plan.ws), list(plan.stride)
    if plan.mode == "max":
        return tf.nn.max_pool2d(x, ws, stride, "VALID")
    mean = tf.nn.avg_pool2d(x, ws, stride, "VALID")
    if plan.mode != "sum" and plan.constant_divisor:
        return mean
    # TF's CPU depthwise convolution needs equal strides, so window sums come from the mean.
    size = float(plan.ws[0] * plan.ws[1])
    if plan.mode == "sum":
        return mean * tf.constant(size, dtype=x.dtype)
    rows, cols = (a.divisors.astype(np.float64) for a in plan.axes)
    scale = size / (rows[:, None] * cols[None, :])
    return mean * tf.constant(scale[None, :, :, None], dtype=x.dtype)


def pool2d(x: np.ndarray, plan: PoolPlan) -> np.ndarray:
    """``pool_2d`` of a NumPy array (pools the last two axes) with TensorFlow; 'max' keeps a NaN
    only where it is the first cell of the window, as Theano did.

    Integer inputs are computed in float64 (exact below 2**53): window sums are rounded to
    integers, then divided and truncated as Theano did."""
    tf = import_tensorflow()
    nan = first_cell_nan(x, plan) if plan.mode == "max" else None
    if plan.mode == "max" and x.dtype.kind == "f" and np.isnan(x).any():
        # TF's max pooling treats NaN as it likes (by CPU and kernel); Theano skipped every NaN
        # but a window's first cell: pool without them, then put those back.
        x = np.where(np.isnan(x), -np.inf, x).astype(x.dtype, copy=False)
    lead = x.shape[:-2]
    rows, cols = x.shape[-2:]
    channels = lead[-1] if lead else 1
    x4 = x.reshape(-1, channels, rows, cols)
    integer = x.dtype.kind in "iu"
    compute: np.dtype[Any]
    if integer:
        compute = np.dtype(np.float64)
    elif x.dtype.itemsize < 4:
        compute = np.dtype(np.float32)
    else:
        compute = np.dtype(np.float64) if x.dtype.itemsize > 8 else x.dtype
    run = replace(plan, mode="sum") if integer and plan.mode != "max" else plan
    t = tf.convert_to_tensor(np.transpose(x4, (0, 2, 3, 1)).astype(compute))
    out = np.transpose(pool2d_nhwc(t, run).numpy(), (0, 3, 1, 2)).reshape(lead + plan.out_shape)
    if integer:
        return finish_pool(np.rint(out), plan, x.dtype)
    if nan is not None:
        out[nan] = np.nan
    return out.astype(x.dtype, copy=False)


def separable_matmul(planes: np.ndarray, a_rows: np.ndarray, a_cols: np.ndarray) -> np.ndarray:
    """``a_rows @ plane @ a_cols.T`` for every plane of ``planes`` ``(B, rows, cols)``, with
    ``tf.linalg.matmul``.

    >>> separable_matmul(np.ones((2, 1, 2)), np.ones((3, 1)), np.eye(2)).shape
    (2, 3, 2)
    """
    tf = import_tensorflow()
    b, rows, cols = planes.shape
    t = tf.linalg.matmul(
        tf.reshape(tf.constant(planes), (b * rows, cols)), tf.constant(a_cols), transpose_b=True
    )
    out = tf.linalg.matmul(tf.constant(a_rows), tf.reshape(t, (b, rows, a_cols.shape[0])))
    return out.numpy()
