"""TensorFlow implementations of ``conv2d_transpose`` and ``pool_2d`` (the rest of the family
runs through the TensorFlow engine's ``correlate``).

These are the TF mappings a migration uses, written once and called both by
``backend='tensorflow'`` (NumPy in, NumPy out) and by the Keras builders:

* ``conv2d_transpose`` is ``tf.nn.conv2d_transpose`` ('VALID': the whole transposed
  convolution) with the kernel of :func:`legacyconv.layouts.theano_transpose_kernel_to_tf`,
  cropped to Theano's window. TF's CPU kernel has neither dilation nor groups, so a dilated kernel
  is spelled out with zeros and groups run one after the other.
* ``pool_2d`` pads explicitly (``-inf`` for max, zeros otherwise) or crops so that TF's
  'VALID' windows are exactly Theano's, then divides window sums by Theano's divisors when
  they are not the constant window size. TF's 'SAME' is not Theano's geometry in general.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tf import import_tensorflow
from ..layouts import theano_transpose_kernel_to_tf

if TYPE_CHECKING:
    from ..pool import PoolPlan
    from ..transpose import TransposeArgs

__all__ = ["conv2d_transpose", "dilate_kernel", "pool2d", "pool2d_nhwc", "pool_crops_and_pads"]


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


def conv2d_transpose(args: TransposeArgs) -> np.ndarray:
    """Theano's ``conv2d_transpose`` through ``tf.nn.conv2d_transpose`` (NCHW in and out)."""
    tf = import_tensorflow()
    y = tf.convert_to_tensor(np.transpose(args.y, (0, 2, 3, 1)))
    w = dilate_kernel(args.w, args.dilations)
    n, n_out, rows, cols = args.out_shape
    groups = args.groups
    og = args.y.shape[1] // groups
    cg = n_out // groups
    # The whole transposed convolution ('VALID', plus the rows past the last one an input pixel
    # reaches), then Theano's window of it: TF's explicit padding is not trusted (see tensorflow.py).
    whole = [
        max((size - 1) * s + (k - 1) * d + 1, h + p[0])
        for size, k, d, s, h, p in zip(
            args.y.shape[2:], args.w.shape[2:], args.dilations, args.strides, (rows, cols), args.pads
        )
    ]
    parts = []
    for g in range(groups):
        kernel = theano_transpose_kernel_to_tf(w[g * og : (g + 1) * og], args.filter_flip)
        parts.append(
            tf.nn.conv2d_transpose(
                y[..., g * og : (g + 1) * og] if groups > 1 else y,
                kernel,
                output_shape=[n, *whole, cg],
                strides=list(args.strides),
                padding="VALID",
            )
        )
    out = parts[0] if groups == 1 else tf.concat(parts, axis=-1)
    (r0, _), (c0, _) = args.pads
    out = out[:, r0 : r0 + rows, c0 : c0 + cols, :]
    return np.transpose(out.numpy(), (0, 3, 1, 2))


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
    from ..pool import finish_pool, first_cell_nan

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
