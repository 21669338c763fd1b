"""``pool_3d`` and ``max_pool_2d_same_size`` (``theano.tensor.signal.pool``), built on ``pool_2d``.

A 3-d pooling window is a box, so max, sum and both averages separate: ``pool_3d`` pools the
last two axes with :func:`legacyconv.pool_2d` (same geometry, same engines), then the depth axis
with one vectorised max/add per window offset, and divides averages by the product of the three
per-axis divisors that :mod:`legacyconv.pool` computes (Theano's ceil mode, padding rules and
clipped windows included).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ._errors import LegacyconvError
from ._params import as_array, normalize_int_tuple
from ._pool_plan import _axis, accumulator_dtype, deprecated_alias, normalize_pool_args
from .engines.numpy_gemm import axis_range
from .pool import pool_2d

__all__ = ["max_pool_2d_same_size", "pool_3d"]

_IGNORE_BORDER_WARNING = (
    "pool_3d() will have the parameter ignore_border default value changed to True (currently "
    "False). To have consistent behavior with all Theano version, explicitly add the parameter "
    "ignore_border=True. (legacyconv computes what Theano 1.0 did: ignore_border=False.)"
)


def _equals(default: Any) -> Callable[[Any], bool]:
    # pool_3d compared with != (an array argument raised numpy's ambiguous-truth ValueError)
    return lambda value: not value != default


def pool_3d(
    input: Any,
    ws: Any = None,
    ignore_border: Any = None,
    stride: Any = None,
    pad: Any = (0, 0, 0),
    mode: str = "max",
    ds: Any = None,
    st: Any = None,
    padding: Any = None,
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """Compute what ``theano.tensor.signal.pool.pool_3d`` computed: pool the last three axes.

    Parameters
    ----------
    input : array_like, at least 3-d
        All leading axes are independent volumes.
    ws : tuple of 3 int
        Window ``(depth, rows, cols)``.
    ignore_border : bool or None, optional
        As in :func:`legacyconv.pool_2d`: False (Theano's default, with a warning when None)
        keeps partial windows at the end (ceil mode), clipped to the volume.
    stride : tuple of 3 int, optional
        Default: ``ws``.
    pad : tuple of 3 int, optional
        Both sides of each axis; needs ``ignore_border=True`` and ``pad < ws``.
    mode : {'max', 'sum', 'average_inc_pad', 'average_exc_pad'}, optional
    ds, st, padding : optional
        Theano's deprecated names of ``ws``, ``stride`` and ``pad``.
    backend : {'numpy', 'scipy', 'tensorflow'}, optional
        The engine of the (rows, cols) pass (:func:`legacyconv.pool_2d`'s); the depth pass
        runs in NumPy.

    Returns
    -------
    numpy.ndarray
        The input's dtype (integer averages truncate toward zero, as Theano's did). 'max' is
        NaN only where the first image cell of the window is NaN and skips other NaNs, as
        Theano's C code did (like :func:`legacyconv.pool_2d`).

    Examples
    --------
    >>> x = np.arange(27.0).reshape(3, 3, 3)
    >>> pool_3d(x, (2, 2, 2), ignore_border=True)
    array([[[13.]]])
    >>> pool_3d(x, (2, 2, 2), ignore_border=False).shape
    (2, 2, 2)
    """
    ws = deprecated_alias("pool_3d", ws, ds, "ws", "ds", _equals(None))
    stride = deprecated_alias("pool_3d", stride, st, "stride", "st", _equals(None))
    pad = deprecated_alias("pool_3d", pad, padding, "pad", "padding", _equals((0, 0, 0)))
    x = as_array(input, "input")
    if x.ndim < 3:
        raise LegacyconvError(
            f"input must have at least 3 dimensions (pool_3d pools the last three). Received: input.shape={x.shape}"
        )
    if ignore_border is None:
        warnings.warn(_IGNORE_BORDER_WARNING, UserWarning, stacklevel=2)
        ignore_border = False
    ws_t, ignore, st_t, pad_t, mode = normalize_pool_args(ws, ignore_border, stride, pad, mode, n=3)
    if x.dtype.kind == "b":
        raise TypeError(f"pool_3d needs a numeric input (int or float). Received: input.dtype={x.dtype}")

    acc_dtype = accumulator_dtype(x.dtype, mode)
    axes = [_axis(int(n), w, s, p, ignore, mode) for n, w, s, p in zip(x.shape[-3:], ws_t, st_t, pad_t)]
    if not ignore and any(a.out <= 0 for a in axes):
        raise LegacyconvError(
            "pool_3d with ignore_border=False needs volumes of at least one cell per axis. "
            f"Received: input.shape={x.shape}"
        )
    plane_mode = "max" if mode == "max" else "sum"
    finite = x
    nan_cells = None
    # a finite sum rules NaN out without a mask pass (an inf sum just takes the careful path)
    if mode == "max" and x.dtype.kind == "f" and not np.isfinite(x.sum()):
        nan_cells = np.isnan(x)
    if nan_cells is not None and nan_cells.any():
        # Theano's 3-d C loop skips every NaN but a window's first image cell: pool NaN-free,
        # then put back the NaNs of first cells (a 2-d pass keeping its own first-cell NaNs
        # would hide the other planes' values)
        finite = np.where(nan_cells, -np.inf, x)
    else:
        nan_cells = None
    planes = pool_2d(
        finite.astype(acc_dtype, copy=False),
        ws_t[1:],
        ignore,
        st_t[1:],
        pad_t[1:],
        plane_mode,
        backend=backend,
    )
    depth = axes[0]
    out = np.empty(planes.shape[:-3] + (depth.out,) + planes.shape[-2:], dtype=acc_dtype)
    offsets = [axis_range(0, depth.out, depth.size, k - depth.pad, depth.stride) for k in range(depth.ws)]
    # an offset whose windows all lie inside the volume initialises the output (no fill pass)
    first = next((k for k, (lo, hi, _) in enumerate(offsets) if (lo, hi) == (0, depth.out)), None)
    if first is None:
        if mode != "max":
            out.fill(0)
        else:
            out.fill(-np.inf if acc_dtype.kind == "f" else np.iinfo(acc_dtype).min)
    else:
        np.copyto(out, planes[..., offsets[first][2], :, :])
    for k, (lo, hi, src) in enumerate(offsets):
        if hi > lo and k != first:
            dst = out[..., lo:hi, :, :]
            if mode == "max":
                np.maximum(dst, planes[..., src, :, :], out=dst)
            else:
                np.add(dst, planes[..., src, :, :], out=dst)
    if nan_cells is not None:
        d, r, c = (a.starts for a in axes)
        out[nan_cells[..., d[:, None, None], r[None, :, None], c[None, None, :]]] = np.nan
    if mode.startswith("average"):
        d0, d1, d2 = (a.divisors for a in axes)
        np.divide(out, (d0[:, None, None] * d1[None, :, None] * d2[None, None, :]).astype(out.dtype), out=out)
    if x.dtype.kind in "iu" and out.dtype.kind == "f":
        out = np.trunc(out).astype(np.int64 if x.dtype.kind == "i" else np.uint64)
    return out.astype(x.dtype, copy=False)


def max_pool_2d_same_size(input: Any, patch_size: Any) -> np.ndarray:
    """``theano.tensor.signal.pool.max_pool_2d_same_size``: keep the maximum of every disjoint
    ``patch_size`` window of the last two axes and zero everything else (also the rows and
    columns no full window covers). Every cell equal to its window's maximum is kept (ties
    keep all), as Theano's max-pool gradient did.

    >>> x = np.array([[1.0, 3.0, 2.0], [4.0, 0.0, 5.0]])
    >>> max_pool_2d_same_size(x, (2, 2))
    array([[0., 0., 0.],
           [4., 0., 0.]])
    """
    x = as_array(input, "input")
    ps = normalize_int_tuple(patch_size, 2, "patch_size")
    maxima = pool_2d(x, ps, ignore_border=True)
    rows, cols = maxima.shape[-2] * ps[0], maxima.shape[-1] * ps[1]
    spread = np.repeat(np.repeat(maxima, ps[0], axis=-2), ps[1], axis=-1)
    covered = x[..., :rows, :cols]
    out = np.zeros_like(x)
    out[..., :rows, :cols] = np.where(covered == spread, spread, 0)
    return out
