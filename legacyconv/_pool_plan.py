"""Pooling geometry and arithmetic shared by ``pool_2d`` and every engine: :class:`PoolPlan`
(which image cells each output pools and what an average divides by, per axis, computed once),
and Theano's finishing arithmetic (divisors, integer truncation, 'max' NaN placement).

Array-free but for :func:`finish_pool` and :func:`first_cell_nan`, which every engine's
``pool2d`` applies to its window sums or maxima, so that no engine imports from ``pool.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ._errors import LegacyconvError
from ._params import check_bool, normalize_int_tuple

__all__ = [
    "MODES",
    "PoolAxis",
    "PoolPlan",
    "accumulator_dtype",
    "deprecated_alias",
    "finish_pool",
    "first_cell_nan",
    "normalize_pool_args",
    "pool_divisors",
    "pool_plan",
]

#: Theano's pooling modes.
MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


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

    @cached_property
    def full_windows(self) -> tuple[int, int]:
        """Outputs ``[lo, hi)``: those whose window lies wholly inside the image (``ws`` cells,
        starting at ``lo * stride - pad``); the others are clipped by padding or the border.

        >>> pool_plan((5, 5), (3, 3), True, (1, 1), (1, 1)).axes[0].full_windows
        (1, 4)
        """
        full = np.flatnonzero(self.ends - self.starts == self.ws)
        return (int(full[0]), int(full[-1]) + 1) if full.size else (0, 0)

    @cached_property
    def clipped_windows(self) -> list[tuple[int, int, int]]:
        """``(output, start, end)`` of each output outside :attr:`full_windows`.

        >>> pool_plan((5, 5), (2, 2), False).axes[0].clipped_windows
        [(2, 4, 5)]
        """
        lo, hi = self.full_windows
        return [(o, int(self.starts[o]), int(self.ends[o])) for o in range(self.out) if not lo <= o < hi]


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


def deprecated_alias(
    func: str,
    new: Any,
    old: Any,
    new_name: str,
    old_name: str,
    is_default: Callable[[Any], bool],
    what: str = "",
) -> Any:
    """Resolve one of Theano's deprecated pooling names (``ds``, ``st``, ``padding``) for
    ``func``: ``new`` when ``old`` is None, else ``old`` with a DeprecationWarning (at the
    caller of ``func``). Both given raises, unless ``new`` is None or ``is_default(new)``.
    ``what`` words the error ("give {what}{new_name} only ...")."""
    if old is None:
        return new
    if new is not None and not is_default(new):
        raise LegacyconvError(
            f"give {what}{new_name} only ({old_name} is its deprecated name). "
            f"Received: {new_name}={new!r}, {old_name}={old!r}"
        )
    warnings.warn(f"{func}: '{old_name}' is deprecated, use '{new_name}'", DeprecationWarning, stacklevel=3)
    return old


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
    ignore = check_bool(ignore_border, "ignore_border")
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


def accumulator_dtype(dtype: np.dtype, mode: str) -> np.dtype:
    """The dtype ``pool2d`` accumulates ``dtype`` input in for ``mode``, as Theano did."""
    if dtype.kind == "f":
        return np.dtype(np.float32) if dtype.itemsize < 4 else dtype
    if mode == "max":
        return dtype
    if mode == "sum":  # Theano summed in a wider int and wrapped on the way back
        return np.dtype(np.uint64 if dtype.kind == "u" else np.int64)
    return np.dtype(np.float64)


def pool_divisors(plan: PoolPlan, dtype: np.dtype) -> np.ndarray | None:
    """What each average output divides its window sum by, ``(rows, cols)`` in ``dtype``; None
    unless ``plan.mode`` is an average.

    >>> pool_divisors(pool_plan((3, 3), (2, 2), False, mode="average_exc_pad"), np.dtype(np.float32))
    array([[4., 2.],
           [2., 1.]], dtype=float32)
    """
    if not plan.mode.startswith("average"):
        return None
    rows, cols = (a.divisors.astype(dtype) for a in plan.axes)
    return rows[:, None] * cols[None, :]


def finish_pool(acc: np.ndarray, plan: PoolPlan, dtype: np.dtype, divided: bool = False) -> np.ndarray:
    """Divide pooled sums as Theano did (unless ``divided``: the engine did) and cast to the
    input dtype (ints truncate toward zero and wrap, as NumPy's assignment into Theano's int
    output did)."""
    divisors = None if divided else pool_divisors(plan, acc.dtype)
    if divisors is not None:
        if acc.dtype.kind == "f":  # our own accumulator: divide in place
            np.divide(acc, divisors, out=acc)
        else:
            acc = acc / divisors
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
