"""``pool_2d``: Theano 1.0's ``theano.tensor.signal.pool.pool_2d``, and its NumPy implementation.

Theano's pooling differs from TensorFlow's in three ways that change numbers:

* ``ignore_border=False`` (what Theano used when the argument was omitted) is a *ceil mode*:
  windows are added until one covers the last row/column, and the last window is clipped to
  the image. A ``(5, 5)`` image pooled with ``ws=(2, 2)`` gives ``(3, 3)``.
* ``pad`` pads both sides by the same amount; the padding is never selected by 'max' and
  adds nothing to 'sum'. 'average_inc_pad' divides by the window size including the padding,
  'average_exc_pad' by the number of image cells in the window.
* A window clipped by ``ignore_border=False`` divides its average by its clipped size.
* 'max' and NaN: Theano's C code (what users ran) started each window's running maximum at
  its first image cell and kept it with ``a > collector``, so a NaN survives only when it is
  that first cell; any other NaN is skipped. Every backend reproduces that
  (:func:`first_cell_nan`).

The geometry of every output row/column (which cells it sums, what it divides by) is computed
once per axis by :class:`PoolPlan`; the NumPy implementation, the TensorFlow engine and the
Keras builders all read it from there.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._errors import LegacyconvError
from ._params import as_array, normalize_int_tuple
from ._threads import parallel_ranges
from .engines import BACKENDS
from .engines.numpy_gemm import axis_range

__all__ = ["MODES", "PoolPlan", "first_cell_nan", "pool_2d", "pool_plan"]

#: Theano's pooling modes.
MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")

_IGNORE_BORDER_WARNING = (
    "pool_2d() will have the parameter ignore_border default value changed to True (currently "
    "False). To have consistent behavior with all Theano version, explicitly add the parameter "
    "ignore_border=True. (legacyconv computes what Theano 1.0 did: ignore_border=False, the "
    "ceil mode that keeps partial windows at the end.)"
)


@dataclass(frozen=True)
class PoolAxis:
    """The windows of one pooled axis, in image coordinates (padding removed).

    ``starts[j]:ends[j]`` are the image cells output ``j`` pools (never empty) and
    ``divisors[j]`` what an average divides their sum by.
    """

    size: int
    ws: int
    stride: int
    pad: int
    out: int
    starts: np.ndarray
    ends: np.ndarray
    divisors: np.ndarray


@dataclass(frozen=True)
class PoolPlan:
    """A validated ``pool_2d`` call on images of a given ``(rows, cols)`` size."""

    ws: tuple[int, ...]
    stride: tuple[int, ...]
    pad: tuple[int, ...]
    ignore_border: bool
    mode: str
    axes: tuple[PoolAxis, PoolAxis]

    @property
    def out_shape(self) -> tuple[int, int]:
        return (self.axes[0].out, self.axes[1].out)

    @property
    def constant_divisor(self) -> bool:
        """True when every average divides by ``ws[0] * ws[1]`` (full windows)."""
        return all(bool(np.all(a.divisors == a.ws)) for a in self.axes)


def _out_size(size: int, ws: int, stride: int, pad: int, ignore_border: bool) -> int:
    """Theano's ``Pool.out_shape`` for one axis."""
    v = size + 2 * pad
    if ignore_border:
        if ws == stride:
            return v // stride
        return max((v - ws) // stride + 1, 0)
    if stride >= ws:
        return (v - 1) // stride + 1
    return max(0, (v - 1 - ws + stride) // stride) + 1


def _axis(size: int, ws: int, stride: int, pad: int, ignore_border: bool, mode: str) -> PoolAxis:
    out = _out_size(size, ws, stride, pad, ignore_border)
    img = size + 2 * pad
    start = np.arange(out, dtype=np.int64) * stride
    end = np.minimum(start + ws, img)
    # Theano's Pool.perform: all modes but 'average_inc_pad' skip the padding.
    real_start = np.maximum(start, pad)
    real_end = np.minimum(end, img - pad)
    divisors = (end - start) if mode == "average_inc_pad" else (real_end - real_start)
    return PoolAxis(size, ws, stride, pad, out, real_start - pad, real_end - pad, divisors)


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise LegacyconvError(f"{name} must be True or False. Received: {name}={value!r}")
    return bool(value)


def normalize_pool_args(
    ws: Any, ignore_border: Any, stride: Any, pad: Any, mode: Any, n: int = 2
) -> tuple[tuple[int, ...], bool, tuple[int, ...], tuple[int, ...], str]:
    """Validate Theano's pooling arguments for ``n`` pooled axes (``ignore_border`` already
    resolved from None).

    Returns ``(ws, ignore_border, stride, pad, mode)``.

    >>> normalize_pool_args((3, 3), True, None, (1, 1), "max")
    ((3, 3), True, (3, 3), (1, 1), 'max')
    """
    if ws is None:
        raise LegacyconvError("ws (the pooling window size) must be given. Received: ws=None")
    ws_t = normalize_int_tuple(ws, n, "ws")
    ignore = _check_bool(ignore_border, "ignore_border")
    stride_t = ws_t if stride is None else normalize_int_tuple(stride, n, "stride")
    pad_t = (0,) * n if pad is None else normalize_int_tuple(pad, n, "pad", minimum=0)
    if mode == "max_deterministic":  # Theano's alias: CPU max pooling is deterministic
        mode = "max"
    if mode not in MODES:
        raise LegacyconvError(
            "mode must be one of {'max', 'sum', 'average_inc_pad', 'average_exc_pad'}. "
            f"Received: mode={mode!r}"
        )
    if any(pad_t) and not ignore:
        raise LegacyconvError(
            f"pad requires ignore_border=True, as in Theano. Received: pad={pad_t}, ignore_border={ignore}"
        )
    if any(p >= w for p, w in zip(pad_t, ws_t)):
        raise LegacyconvError(
            f"pad must be smaller than ws on each axis, as in Theano. Received: pad={pad_t}, ws={ws_t}"
        )
    return ws_t, ignore, stride_t, pad_t, mode


def pool_plan(
    image_shape: tuple[int, int],
    ws: Any,
    ignore_border: Any,
    stride: Any = None,
    pad: Any = (0, 0),
    mode: Any = "max",
) -> PoolPlan:
    """The window geometry of a ``pool_2d`` call on ``(rows, cols)`` images.

    >>> plan = pool_plan((5, 5), (2, 2), ignore_border=False)
    >>> plan.out_shape
    (3, 3)
    >>> plan.axes[0].starts, plan.axes[0].ends
    (array([0, 2, 4]), array([2, 4, 5]))
    """
    ws_t, ignore, stride_t, pad_t, mode = normalize_pool_args(ws, ignore_border, stride, pad, mode)
    axes = tuple(
        _axis(int(n), w, s, p, ignore, mode) for n, w, s, p in zip(image_shape, ws_t, stride_t, pad_t)
    )
    if not ignore and any(a.out <= 0 for a in axes):
        raise LegacyconvError(
            "pool_2d with ignore_border=False needs images with at least one row and one column "
            "(Theano returned a one-window result of uninitialised memory for them; legacyconv "
            f"refuses). Received: images of shape {tuple(image_shape)}"
        )
    return PoolPlan(ws_t, stride_t, pad_t, ignore, mode, axes)  # type: ignore[arg-type]


def pool_2d(
    input: Any,
    ws: Any = None,
    ignore_border: Any = None,
    stride: Any = None,
    pad: Any = (0, 0),
    mode: str = "max",
    ds: Any = None,
    st: Any = None,
    padding: Any = None,
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """Compute what ``theano.tensor.signal.pool.pool_2d`` computed, eagerly, on NumPy arrays.

    Parameters
    ----------
    input : array_like, at least 2-d
        Pools the last two axes; all leading axes are independent images.
    ws : tuple of 2 int
        Window size ``(rows, cols)``.
    ignore_border : bool or None, optional
        True drops partial windows at the end. False (Theano's default, used with a warning
        when ``None`` is given, as Theano did) keeps them, clipped to the image.
    stride : tuple of 2 int, optional
        Default: ``ws`` (non-overlapping windows).
    pad : tuple of 2 int, optional
        Padding on both sides of rows and columns; needs ``ignore_border=True`` and
        ``pad < ws``.
    mode : {'max', 'sum', 'average_inc_pad', 'average_exc_pad'}, optional
        Padding is never the max and adds nothing to a sum; 'average_inc_pad' divides by the
        window size (counting padding), 'average_exc_pad' by the image cells in the window.
        A window clipped by ``ignore_border=False`` divides by its clipped size.
    ds, st, padding : optional
        Theano's deprecated names of ``ws``, ``stride`` and ``pad`` (with a DeprecationWarning).
    backend : {'numpy', 'scipy', 'tensorflow'}, optional
        'numpy' and 'scipy' run the NumPy implementation (one vectorised pass per window
        offset); 'tensorflow' runs ``tf.nn`` pooling ops on explicitly padded NHWC tensors.

    Returns
    -------
    numpy.ndarray
        Same dtype as ``input`` (integer averages truncate toward zero, as Theano's did).
        'max' returns NaN only where the first image cell of the window is NaN, and skips
        other NaNs, as Theano's C code did (on every backend).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(25.0).reshape(5, 5)
    >>> pool_2d(x, (2, 2), ignore_border=False)
    array([[ 6.,  8.,  9.],
           [16., 18., 19.],
           [21., 23., 24.]])
    >>> pool_2d(x, (2, 2), ignore_border=True, mode="average_inc_pad")
    array([[ 3.,  5.],
           [13., 15.]])
    >>> pool_2d(np.array([[np.nan, 1, 1, np.nan], [2, 3, 2, 3]]), (2, 2), ignore_border=True)
    array([[nan,  3.]])
    """
    if ds is not None:
        if ws is not None:
            raise LegacyconvError(
                f"give the window size as ws only (ds is its deprecated name). Received: ws={ws!r}, ds={ds!r}"
            )
        warnings.warn("pool_2d: 'ds' is deprecated, use 'ws'", DeprecationWarning, stacklevel=2)
        ws = ds
    if st is not None:
        if stride is not None:
            raise LegacyconvError(
                "give the stride as stride only (st is its deprecated name). "
                f"Received: stride={stride!r}, st={st!r}"
            )
        warnings.warn("pool_2d: 'st' is deprecated, use 'stride'", DeprecationWarning, stacklevel=2)
        stride = st
    if padding is not None:
        if pad is not None and not (isinstance(pad, (tuple, list)) and tuple(pad) == (0, 0)):
            raise LegacyconvError(
                "give the padding as pad only (padding is its deprecated name). "
                f"Received: pad={pad!r}, padding={padding!r}"
            )
        warnings.warn("pool_2d: 'padding' is deprecated, use 'pad'", DeprecationWarning, stacklevel=2)
        pad = padding
    if backend not in BACKENDS:
        raise LegacyconvError(
            f"backend must be one of {{'numpy', 'scipy', 'tensorflow'}}. Received: backend={backend!r}"
        )
    x = as_array(input, "input")
    if x.dtype.kind == "b":
        raise TypeError(
            f"pool_2d needs a numeric input (int or float). Received: input.dtype={x.dtype} "
            f"with shape {x.shape}"
        )
    if x.ndim < 2:
        raise LegacyconvError(
            f"input must have at least 2 dimensions (pool_2d pools the last two). "
            f"Received: input.shape={x.shape}"
        )
    if ignore_border is None:
        warnings.warn(_IGNORE_BORDER_WARNING, UserWarning, stacklevel=2)
        ignore_border = False
    plan = pool_plan(x.shape[-2:], ws, ignore_border, stride, pad, mode)
    if backend == "tensorflow":
        from .engines import tensorflow_family

        return tensorflow_family.pool2d(x, plan)
    return pool_numpy(x, plan)


def _accumulator_dtype(dtype: np.dtype, mode: str) -> np.dtype:
    if dtype.kind == "f":
        return np.dtype(np.float32) if dtype.itemsize < 4 else dtype
    if mode == "max":
        return dtype
    if mode == "sum":  # Theano summed in a wider int and wrapped on the way back
        return np.dtype(np.uint64 if dtype.kind == "u" else np.int64)
    return np.dtype(np.float64)


def finish_pool(acc: np.ndarray, plan: PoolPlan, dtype: np.dtype) -> np.ndarray:
    """Divide pooled sums as Theano did and cast to the input dtype (ints truncate toward zero
    and wrap, as NumPy's assignment into Theano's int output did)."""
    if plan.mode.startswith("average"):
        rows, cols = (a.divisors.astype(acc.dtype) for a in plan.axes)
        if acc.dtype.kind == "f":  # our own accumulator: divide in place
            np.divide(acc, rows[:, None] * cols[None, :], out=acc)
        else:
            acc = acc / (rows[:, None] * cols[None, :])
    if dtype.kind in "iu" and acc.dtype.kind == "f":
        acc = np.trunc(acc).astype(np.int64 if dtype.kind == "i" else np.uint64)
    return acc.astype(dtype, copy=False)


def first_cell_nan(x: np.ndarray, plan: PoolPlan) -> np.ndarray | None:
    """Where 'max' pooling of ``x`` is NaN in Theano: the outputs whose window's first image
    cell is NaN (a boolean array of the output's shape), or None if there is none.

    >>> plan = pool_plan((2, 4), (2, 2), ignore_border=True)
    >>> first_cell_nan(np.array([[np.nan, 1, 1, np.nan], [2, 3, 2, 3]]), plan)
    array([[ True, False]])
    """
    if x.dtype.kind != "f":
        return None
    rows, cols = plan.axes
    mask = np.isnan(x[..., rows.starts[:, None], cols.starts[None, :]])
    return mask if mask.any() else None


def pool_numpy(x: np.ndarray, plan: PoolPlan) -> np.ndarray:
    """Pool the last two axes of ``x`` with ``plan``: one vectorised max/add per window offset,
    straight from ``x`` into the output (no padded copy of the input), the leading axes shared
    out over the cores."""
    rows, cols = plan.axes
    acc_dtype = _accumulator_dtype(x.dtype, plan.mode)
    out = np.empty(x.shape[:-2] + plan.out_shape, dtype=acc_dtype)
    if out.size == 0:
        return out.astype(x.dtype, copy=False)
    flat_x = x.reshape((-1,) + x.shape[-2:])
    flat_out = out.reshape((-1,) + plan.out_shape)
    ranges = {}
    for i in range(rows.ws):
        for j in range(cols.ws):
            r = axis_range(0, rows.out, rows.size, i - rows.pad, rows.stride)
            c = axis_range(0, cols.out, cols.size, j - cols.pad, cols.stride)
            if r[1] > r[0] and c[1] > c[0]:
                ranges[i, j] = (r, c)
    # an offset whose windows all lie inside the image initialises the output (no fill pass)
    full = next(
        (k for k, (r, c) in ranges.items() if (r[0], r[1], c[0], c[1]) == (0, rows.out, 0, cols.out)),
        None,
    )

    def run(lo: int, hi: int) -> None:
        dst_all = flat_out[lo:hi]
        src_all = flat_x[lo:hi]
        if full is None:
            init: float = 0
            if plan.mode == "max":
                init = -np.inf if acc_dtype.kind == "f" else np.iinfo(acc_dtype).min
            dst_all.fill(init)
        else:
            (_, _, r_src), (_, _, c_src) = ranges[full]
            np.copyto(dst_all, src_all[:, r_src, c_src], casting="unsafe")
        for key, ((r_lo, r_hi, r_src), (c_lo, c_hi, c_src)) in ranges.items():
            if key == full:
                continue
            dst = dst_all[:, r_lo:r_hi, c_lo:c_hi]
            src = src_all[:, r_src, c_src]
            if plan.mode == "max":  # NaN-skipping; first_cell_nan restores Theano's NaNs
                np.fmax(dst, src, out=dst)
            else:
                np.add(dst, src, out=dst, casting="unsafe")

    parallel_ranges(flat_x.shape[0], run, min_items=max(1, 2**16 // max(1, math.prod(plan.out_shape))))
    if plan.mode == "max":
        nan = first_cell_nan(x, plan)
        if nan is not None:
            out[nan] = np.nan
    return finish_pool(out, plan, x.dtype)
