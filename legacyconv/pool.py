"""``pool_2d``: Theano 1.0's ``theano.tensor.signal.pool.pool_2d``.

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
once per axis by :class:`PoolPlan` (:mod:`legacyconv._pool_plan`); every engine's ``pool2d``
and the Keras builders read it from there.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._errors import LegacyconvError
from ._params import as_array
from ._pool_plan import MODES, PoolPlan, deprecated_alias, first_cell_nan, pool_plan
from .engines import get_op

__all__ = ["MODES", "PoolPlan", "first_cell_nan", "pool_2d", "pool_plan"]

_IGNORE_BORDER_WARNING = (
    "pool_2d() will have the parameter ignore_border default value changed to True (currently "
    "False). To have consistent behavior with all Theano version, explicitly add the parameter "
    "ignore_border=True. (legacyconv computes what Theano 1.0 did: ignore_border=False, the "
    "ceil mode that keeps partial windows at the end.)"
)


def _never(value: Any) -> bool:
    return False


def _is_zero_pad(pad: Any) -> bool:
    return isinstance(pad, (tuple, list)) and tuple(pad) == (0, 0)


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
        'numpy' and 'scipy' run the NumPy implementation (sliding-window passes over blocks
        of planes); 'tensorflow' runs ``tf.nn`` pooling ops on explicitly padded NHWC tensors.

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
    ws = deprecated_alias("pool_2d", ws, ds, "ws", "ds", _never, "the window size as ")
    stride = deprecated_alias("pool_2d", stride, st, "stride", "st", _never, "the stride as ")
    pad = deprecated_alias("pool_2d", pad, padding, "pad", "padding", _is_zero_pad, "the padding as ")
    pool2d = get_op(backend, "pool2d")
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
    return pool2d(x, plan)
