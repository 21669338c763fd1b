"""Mirror of ``theano.tensor.nnet.conv3d2d``: ``conv3d`` over movies laid out
``(batch, time, channels, rows, cols)``.

Theano computed it as one ``conv2d`` over every (frame, filter frame) pair and a sum along the
diagonals of the time axes: a true 3-D convolution (every axis flipped) of the movie with the
filters ``(out, time, channels, rows, cols)``. Here the axes are moved to NCDHW and
:func:`legacyconv.conv3d` computes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import LegacyconvError
from .._params import as_array, check_hint
from ..conv import prepare_conv, run_conv

__all__ = ["conv3d"]

_MODES = ("valid", "full", "half")


def _pad(mode: str, k: int) -> tuple[int, int]:
    p = {"valid": 0, "full": k - 1, "half": k // 2}[mode]
    return (p, p)


def conv3d(
    signals: Any,
    filters: Any,
    signals_shape: Any = None,
    filters_shape: Any = None,
    border_mode: Any = "valid",
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """Compute what ``theano.tensor.nnet.conv3d2d.conv3d`` computed (it flips the filters).

    Parameters
    ----------
    signals : array_like, shape (batch, time, channels, rows, cols)
    filters : array_like, shape (out_channels, time, channels, rows, cols)
    signals_shape, filters_shape : tuple, optional
        Shape hints; they must agree with the arrays.
    border_mode : {'valid', 'full', 'half'} or a tuple of 3 of them
        Per axis (time, rows, cols); rows and cols must have the same mode, as in Theano.
    backend : {'numpy', 'scipy', 'tensorflow'}, optional

    Returns
    -------
    numpy.ndarray, shape (batch, out_time, out_channels, out_rows, out_cols)

    Examples
    --------
    >>> import numpy as np
    >>> conv3d(np.ones((2, 5, 3, 6, 6)), np.ones((4, 2, 3, 3, 3))).shape
    (2, 4, 4, 4, 4)
    >>> conv3d(np.ones((2, 5, 3, 6, 6)), np.ones((4, 2, 3, 3, 3)), border_mode=("full", "half", "half")).shape
    (2, 6, 4, 6, 6)
    """
    x = as_array(signals, "signals")
    w = as_array(filters, "filters")
    if x.ndim != 5:
        raise LegacyconvError(
            f"signals must be a 5-d array (batch, time, channels, rows, cols). Received: signals.shape={x.shape}"
        )
    if w.ndim != 5:
        raise LegacyconvError(
            "filters must be a 5-d array (out_channels, time, channels, rows, cols). "
            f"Received: filters.shape={w.shape}"
        )
    check_hint(signals_shape, x.shape, "signals_shape", "signals")
    check_hint(filters_shape, w.shape, "filters_shape", "filters")
    modes = (border_mode,) * 3 if isinstance(border_mode, str) else border_mode
    if not isinstance(modes, (tuple, list)) or len(modes) != 3:
        raise LegacyconvError(
            "border_mode must be one of {'valid', 'full', 'half'} or a tuple of 3 of them "
            f"(time, rows, cols). Received: border_mode={border_mode!r}"
        )
    if modes[1] != modes[2]:
        raise NotImplementedError("height and width bordermodes must match")
    for m in modes[:2]:
        if m == "same":
            raise NotImplementedError(
                "border_mode 'same' is not implemented in conv3d2d (nor was it in Theano)."
            )
        if m not in _MODES:
            raise LegacyconvError(
                f"border_mode must be one of {{'valid', 'full', 'half'}} per axis. Received: border_mode={border_mode!r}"
            )
    if x.shape[2] != w.shape[2]:
        raise LegacyconvError(
            f"signals and filters must have the same number of channels: signals.shape={x.shape} has "
            f"{x.shape[2]}, filters.shape={w.shape} expects {w.shape[2]}"
        )
    pads = (_pad(modes[0], w.shape[1]), _pad(modes[1], w.shape[3]), _pad(modes[1], w.shape[4]))
    # contiguous NCDHW copies: the engines' slab copies and transposes run on contiguous data
    ncdhw = np.ascontiguousarray(x.transpose(0, 2, 1, 3, 4))
    args = prepare_conv(ncdhw, np.ascontiguousarray(w.transpose(0, 2, 1, 3, 4)), 3, border_mode=pads)
    return np.ascontiguousarray(run_conv(args, backend).transpose(0, 2, 1, 3, 4))
