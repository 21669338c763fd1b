"""Mirror of ``theano.tensor.signal.downsample`` (Theano <= 0.8), the pre-2016 pooling names.

Theano 0.8's ``downsample.max_pool_2d`` was ``pool.pool_2d`` under its old signature
``(input, ds, ignore_border=None, st=None, padding=(0, 0), mode='max')``: same windows, same
ceil mode for ``ignore_border=False``, same modes. The module was removed in Theano 0.9.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..pool import pool_2d
from ..pool3d import max_pool_2d_same_size

__all__ = ["max_pool_2d", "max_pool_2d_same_size"]


def max_pool_2d(
    input: Any,
    ds: Any,
    ignore_border: Any = None,
    st: Any = None,
    padding: Any = (0, 0),
    mode: str = "max",
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """What ``theano.tensor.signal.downsample.max_pool_2d`` computed: :func:`legacyconv.pool_2d`
    with ``ws=ds``, ``stride=st``, ``pad=padding`` (no deprecation warning: the old names are
    this function's own).

    >>> x = np.arange(25.0).reshape(5, 5)
    >>> max_pool_2d(x, (2, 2), ignore_border=False)
    array([[ 6.,  8.,  9.],
           [16., 18., 19.],
           [21., 23., 24.]])
    """
    if ignore_border is None:
        warnings.warn(
            "max_pool_2d() will have the parameter ignore_border default value changed to True "
            "(currently False). To have consistent behavior with all Theano version, explicitly "
            "add the parameter ignore_border=True.",
            UserWarning,
            stacklevel=2,
        )
        ignore_border = False
    return pool_2d(input, ds, ignore_border, st, padding, mode, backend=backend)
