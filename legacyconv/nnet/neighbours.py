"""Mirror of ``theano.tensor.nnet.neighbours``: ``images2neibs`` and ``neibs2images``.

``images2neibs`` is one strided copy of the patch windows (no loop over pixels). Where
Theano raised ``TypeError`` for shapes that do not fit the mode, :class:`LegacyconvTypeError`
is raised (a :class:`LegacyconvError` that is also a ``TypeError``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import LegacyconvError, LegacyconvTypeError
from .._params import as_array, normalize_int_tuple

__all__ = ["MODES", "images2neibs", "neibs2images"]

#: images2neibs' modes. 'half' and 'full' read zeros outside the image, 'wrap_centered' wraps.
MODES = ("valid", "ignore_borders", "wrap_centered", "half", "full")


def _ints(value: Any, name: str) -> tuple[int, int]:
    try:
        a, b = normalize_int_tuple(tuple(np.asarray(value).tolist()), 2, name, minimum=-(2**62))
    except (LegacyconvError, TypeError, ValueError):  # ValueError: ragged lists
        raise LegacyconvError(f"{name} must be 2 integers. Received: {name}={value!r}") from None
    return a, b


def _axis_geometry(size: int, c: int, step: int, mode: str, axis: int) -> tuple[int, int]:
    """``(patches, shift)`` along one axis: patch ``g`` reads image cells
    ``g * step - shift + [0, c)`` (zeros outside the image, or wrapped for 'wrap_centered')."""
    which = (
        f"neib_shape[{axis}]={c}, neib_step[{axis}]={step} and ten4.shape[{axis + 2}]={size} not consistent"
    )
    if mode == "wrap_centered":
        grid, shift = -(-size // step), c // 2
    elif mode == "valid":
        if size < c or (size - c) % step:
            raise LegacyconvTypeError(which)
        grid, shift = 1 + (size - c) // step, 0
    elif mode == "ignore_borders":
        # C's truncating division: a patch up to one step larger than the image still gives
        # one patch per axis, read as zeros outside the image (what Theano's C code returned)
        q = size - c
        grid, shift = 1 + (q // step if q >= 0 else -(-q // step)), 0
        if grid < 0:
            raise LegacyconvError(
                f"images2neibs: neib_shape[{axis}]={c} is more than neib_step[{axis}]={step} larger "
                f"than the image (ten4.shape[{axis + 2}]={size}); Theano failed on a negative size"
            )
    elif mode == "half":
        if size < c or (size - c % 2) % step:
            raise LegacyconvTypeError(which)
        grid, shift = 1 + (size - c % 2) // step, c // 2
    else:  # full
        if size < c or (size + c - 2) % step:
            raise LegacyconvTypeError(which)
        grid, shift = 1 + (size + c - 2) // step, c - 1
    return grid, shift


def images2neibs(ten4: Any, neib_shape: Any, neib_step: Any = None, mode: str = "valid") -> np.ndarray:
    """``theano.tensor.nnet.neighbours.images2neibs``: every patch of every image as a row.

    Parameters
    ----------
    ten4 : array_like, shape (batch, channels, rows, cols)
    neib_shape : tuple of 2 int
        Patch size ``(r, c)``.
    neib_step : tuple of 2 int, optional
        Distance between patches; default ``neib_shape`` (disjoint patches).
    mode : {'valid', 'ignore_borders', 'wrap_centered', 'half', 'full'}, optional
        'valid' needs the patches to tile the image exactly; 'ignore_borders' drops what is
        left over (a patch larger than the image by less than a step reads zeros, as Theano's
        C code did); 'half' and 'full' pad zeros (``r // 2`` / ``r - 1`` on each side, the
        sizes must then fit exactly); 'wrap_centered' centres a patch (odd sizes only) on every
        ``neib_step``-th pixel and wraps around the borders.

    Returns
    -------
    numpy.ndarray, shape (batch * channels * patch_rows * patch_cols, r * c)
        Rows in (batch, channel, patch row, patch column) order, each patch flattened row-major;
        the input's dtype.

    Examples
    --------
    >>> x = np.arange(16).reshape(1, 1, 4, 4)
    >>> images2neibs(x, (2, 2))
    array([[ 0,  1,  4,  5],
           [ 2,  3,  6,  7],
           [ 8,  9, 12, 13],
           [10, 11, 14, 15]])
    """
    if mode not in MODES:
        raise LegacyconvError(
            "mode must be one of {'valid', 'ignore_borders', 'wrap_centered', 'half', 'full'}. "
            f"Received: mode={mode!r}"
        )
    x = as_array(ten4, "ten4")
    if x.ndim != 4:
        raise LegacyconvError(
            f"ten4 must be a 4-d array (batch, channels, rows, cols). Received: ten4.shape={x.shape}"
        )
    c, d = _ints(neib_shape, "neib_shape")
    sx, sy = (c, d) if neib_step is None else _ints(neib_step, "neib_step")
    if sx <= 0 or sy <= 0:
        raise LegacyconvError(f"neib_step must be positive. Received: neib_step={(sx, sy)}")
    if c <= 0 or d <= 0:
        raise LegacyconvError(f"neib_shape must be positive. Received: neib_shape={(c, d)}")
    height, width = x.shape[2:]
    if mode == "wrap_centered":
        if c % 2 != 1 or d % 2 != 1:
            raise LegacyconvTypeError(
                f"images2neibs in mode wrap_centered needs odd patch sizes. Received: neib_shape={(c, d)}"
            )
        if height < c or width < d:
            raise LegacyconvTypeError(
                "images2neibs in mode wrap_centered does not support images smaller than the patch: "
                f"neib_shape={(c, d)}, ten4.shape={x.shape}"
            )
    (gr, shift_r), (gc, shift_c) = (
        _axis_geometry(n, k, s, mode, i) for i, (n, k, s) in enumerate(((height, c, sx), (width, d, sy)))
    )
    if gr == 0 or gc == 0:
        return np.empty((0, c * d), dtype=x.dtype)
    # pad what the patches read outside the image (zeros, or the wrapped image), then one
    # strided copy of the patch windows
    pads = [(0, 0), (0, 0)]
    for n, k, s, g, shift in ((height, c, sx, gr, shift_r), (width, d, sy, gc, shift_c)):
        pads.append((shift, max(0, (g - 1) * s + k - shift - n)))
    if any(p != (0, 0) for p in pads):
        x = np.pad(x, pads, mode="wrap" if mode == "wrap_centered" else "constant")
    windows = np.lib.stride_tricks.sliding_window_view(x, (c, d), axis=(2, 3))
    patches = windows[:, :, : (gr - 1) * sx + 1 : sx, : (gc - 1) * sy + 1 : sy]
    out = patches.reshape(-1, c * d)
    return out.copy() if np.may_share_memory(out, x) else out  # (1, 1) patches reshape to a view


def neibs2images(neibs: Any, neib_shape: Any, original_shape: Any, mode: str = "valid") -> np.ndarray:
    """``theano.tensor.nnet.neighbours.neibs2images``: the inverse of :func:`images2neibs` for
    disjoint patches (the default ``neib_step``).

    Theano implemented it for 'valid' and 'ignore_borders' only (the uncovered border comes back
    as zeros); other modes raise, as they did in Theano.

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> np.array_equal(neibs2images(images2neibs(x, (2, 2)), (2, 2), x.shape), x)
    True
    """
    if mode not in ("valid", "ignore_borders"):
        raise LegacyconvError(
            "neibs2images supports mode 'valid' and 'ignore_borders' only (as Theano's did). "
            f"Received: mode={mode!r}"
        )
    nb = as_array(neibs, "neibs")
    if nb.ndim != 2:
        raise LegacyconvError(f"neibs must be a 2-d array (patches, r * c). Received: neibs.shape={nb.shape}")
    c, d = _ints(neib_shape, "neib_shape")
    try:
        shape = tuple(int(s) for s in original_shape)
    except (TypeError, ValueError):
        raise LegacyconvError(f"original_shape must be 4 integers. Received: {original_shape!r}") from None
    if len(shape) != 4 or c <= 0 or d <= 0:
        raise LegacyconvError(
            f"original_shape must be 4 integers and neib_shape positive. Received: "
            f"original_shape={original_shape!r}, neib_shape={(c, d)}"
        )
    # Theano's own construction: images2neibs on the patch matrix, then a reshape
    flat = images2neibs(nb[None, None], (shape[-1] // d, d), mode=mode)
    valid = shape if mode == "valid" else shape[:2] + (shape[2] // c * c, shape[3] // d * d)
    if flat.size != int(np.prod(valid)):
        raise LegacyconvError(
            f"neibs hold {flat.size} values, original_shape={shape} needs {int(np.prod(valid))} "
            f"(neibs.shape={nb.shape}, neib_shape={(c, d)}, mode={mode!r})"
        )
    out = flat.reshape(valid)
    if valid != shape:
        out = np.pad(out, ((0, 0), (0, 0), (0, shape[2] - valid[2]), (0, shape[3] - valid[3])))
    return out
