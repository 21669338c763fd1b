"""Bilinear upsampling: Theano 1.0's ``bilinear_upsampling``, ``frac_bilinear_upsampling``,
``bilinear_kernel_1D`` and ``bilinear_kernel_2D`` (``theano.tensor.nnet.abstract_conv``).

Theano upsampled by ``ratio`` with a transposed convolution (``conv2d_grad_wrt_inputs``,
stride ``ratio``) of the input, its border rows and columns repeated once, with the pyramid
kernel ``[1, 2, ..., ratio, ..., 2, 1] / ratio``, cropped to ``ratio`` times the input size.
Output pixel ``j`` interpolates the input at ``(j - (ratio - 1) // 2) / ratio``, clamped to the
image: for even ratios the last row and column repeat once more than the first. This module
applies it as one small matrix per axis (that transposed convolution applied to the identity),
which an engine's ``separable_matmul`` multiplies every plane by: the same sums. Non-finite
input takes the transposed convolutions themselves, so that NaN and Inf spread only where
Theano's kernel taps carried them.

A fractional ratio ``p / q`` was a forward ``conv2d`` that slid the input *as the kernel* over a
zero-padded pyramid kernel of dilation ``p`` and stride ``q``. Both factors are separable, so
here each axis is one small matrix ``A`` (rows of that convolution's operator) and the result is
``A_rows @ image @ A_cols.T``: the same sums, without the 4-th power cost of the literal form.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ._errors import LegacyconvError
from ._params import all_finite, as_array, compute_dtype
from .engines import get_op
from .grads import conv2d_grad_wrt_inputs

__all__ = [
    "bilinear_kernel_1D",
    "bilinear_kernel_2D",
    "bilinear_upsampling",
    "frac_bilinear_upsampling",
]


def _ratio(value: Any, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise LegacyconvError(f"{name} must be a positive integer. Received: {name}={value!r}")
    return int(value)


def bilinear_kernel_1D(ratio: int, normalize: bool = True, *, dtype: Any = "float64") -> np.ndarray:  # noqa: N802
    """Theano's ``bilinear_kernel_1D``: ``[1, 2, ..., ratio, ..., 2, 1]``, divided by ``ratio``
    when ``normalize``.

    ``dtype`` stands for Theano's ``floatX`` (float64 unless configured; Keras and Lasagne
    users ran float32): the division happens in it, as in Theano.

    >>> bilinear_kernel_1D(2)
    array([0.5, 1. , 0.5])
    >>> bilinear_kernel_1D(3, normalize=False, dtype="float32")
    array([1., 2., 3., 2., 1.], dtype=float32)
    """
    r = _ratio(ratio, "ratio")
    dt = np.dtype(dtype)
    half = np.arange(1, r + 1, dtype=dt)
    kern = np.concatenate([half, half[-2::-1]])
    if normalize:
        kern /= dt.type(r)
    return kern


def bilinear_kernel_2D(ratio: Any, normalize: bool = True, *, dtype: Any = "float64") -> np.ndarray:  # noqa: N802
    """Theano's ``bilinear_kernel_2D``: the outer product of the 1-D kernels; ``ratio`` is an
    int or ``(rows ratio, cols ratio)``.

    >>> bilinear_kernel_2D((1, 2))
    array([[0.5, 1. , 0.5]])
    """
    if isinstance(ratio, tuple):
        ratio_v, ratio_h = ratio[0], ratio[1]
    else:
        ratio_v = ratio_h = ratio
    hkern = bilinear_kernel_1D(ratio_h, normalize, dtype=dtype)[None, :]
    vkern = bilinear_kernel_1D(ratio_v, normalize, dtype=dtype)[:, None]
    return hkern * vkern


def _as_images(input: Any) -> tuple[np.ndarray, np.dtype]:
    x = as_array(input, "input")
    if x.ndim != 4:
        raise LegacyconvError(
            f"input must be a 4-d array (batch, channels, rows, cols). Received: input.shape={x.shape}"
        )
    if x.shape[2] == 0 or x.shape[3] == 0:
        raise LegacyconvError(
            f"input must have at least one row and one column. Received: input.shape={x.shape}"
        )
    compute, result = compute_dtype(x)
    return x.astype(compute, copy=False), result


def _repeat_border(x: np.ndarray) -> np.ndarray:
    """``(B, rows, cols)`` -> ``(B, 1, rows + 2, cols + 2)`` with the first and last row and
    column repeated once, as Theano concatenated them."""
    return np.pad(x, ((0, 0), (1, 1), (1, 1)), mode="edge")[:, None]


def bilinear_upsampling(
    input: Any,
    ratio: Any = None,
    frac_ratio: Any = None,
    batch_size: Any = None,
    num_input_channels: Any = None,
    use_1D_kernel: bool = True,  # noqa: N803
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """Compute what Theano's ``bilinear_upsampling`` computed, eagerly, on NumPy arrays.

    Parameters
    ----------
    input : array_like, shape (batch, channels, rows, cols)
    ratio : int, optional
        Integer upsampling factor of both axes.
    frac_ratio : tuple, optional
        ``(p, q)`` or ``((p_rows, q_rows), (p_cols, q_cols))``: see
        :func:`frac_bilinear_upsampling` (it needs ``use_1D_kernel=False``, as in Theano).
    batch_size, num_input_channels : int, optional
        Theano's shape hints; they must agree with ``input``.
    use_1D_kernel : bool, optional
        Rows then columns with 1-D kernels (True) or one 2-D kernel: the same result (the 2-D
        kernel is the outer product of the 1-D ones), computed the same way here.
    backend : {'numpy', 'scipy', 'tensorflow'}, optional
        The engine that multiplies the planes by the per-axis matrices.

    Returns
    -------
    numpy.ndarray, shape (batch, channels, rows * ratio, cols * ratio)
        In the input's float dtype (float64 for integer input).

    Examples
    --------
    >>> import numpy as np
    >>> bilinear_upsampling(np.array([[[[0.0, 1.0]]]]), ratio=2)[0, 0]
    array([[0. , 0.5, 1. , 1. ],
           [0. , 0.5, 1. , 1. ]])
    """
    if ratio and frac_ratio:
        raise LegacyconvError(
            f"can't use ratio and frac_ratio together. Received: ratio={ratio!r}, frac_ratio={frac_ratio!r}"
        )
    if not (ratio or frac_ratio):
        raise LegacyconvError(
            f"No ratio (or frac_ratio) provided. Received: ratio={ratio!r}, frac_ratio={frac_ratio!r}"
        )
    if frac_ratio:
        if use_1D_kernel:
            raise LegacyconvError(
                "For fractional ratios 1D kernel method not implemented. You may want to pass "
                "use_1D_kernel as False"
            )
        return frac_bilinear_upsampling(input, frac_ratio, backend=backend)
    r = _ratio(ratio, "ratio")
    separable_matmul = get_op(backend, "separable_matmul")
    x, result = _as_images(input)
    n, c, rows, cols = x.shape
    for hint, actual, name in ((batch_size, n, "batch_size"), (num_input_channels, c, "num_input_channels")):
        if hint is not None and hint != actual:
            raise LegacyconvError(f"{name} does not match the input: {name}={hint!r}, input.shape={x.shape}")
    pad = 2 * r - (r - 1) // 2 - 1
    ext = _repeat_border(x.reshape(n * c, rows, cols))
    if not all_finite(x):
        # A dense product would multiply the NaN/Inf by the operators' zeros: Theano's own
        # transposed convolutions (rows, then columns) put them where Theano did.
        kern = bilinear_kernel_1D(r, True, dtype=x.dtype)
        up = conv2d_grad_wrt_inputs(
            ext,
            kern[None, None, :, None],
            (None, 1, rows * r, cols + 2),
            border_mode=(pad, 0),
            subsample=(r, 1),
        )
        up = conv2d_grad_wrt_inputs(
            up,
            kern[None, None, None, :],
            (None, 1, rows * r, cols * r),
            border_mode=(0, pad),
            subsample=(1, r),
        )
        return up.reshape(n, c, rows * r, cols * r).astype(result, copy=False)
    # Both passes are linear maps of one axis: Theano's transposed convolution applied to the
    # identity gives each map's matrix; the engine applies them to every plane at once.
    a_rows = _integer_operator(rows, r, pad, x.dtype)
    a_cols = _integer_operator(cols, r, pad, x.dtype)
    up = separable_matmul(ext[:, 0], a_rows, a_cols)
    return up.reshape(n, c, rows * r, cols * r).astype(result, copy=False)


#: Operators kept for reuse, read-only: a network upsamples the same shapes call after call, and
#: building them was a fifth of the call (measured alternating, (8, 64, 32, 32) float32 by 2: 6.34
#: -> 5.23 ms; (8, 64, 30, 30) by 3/2: 3.46 -> 2.76 ms). At most this many of each kind, ...
_OPERATOR_CACHE = 16
#: ... each of at most this many bytes (a 700-pixel axis doubled in float32): larger ones are
#: rebuilt, their cost small next to the call's.
_OPERATOR_CACHE_BYTES = 4 * 2**20


def _integer_operator(size: int, r: int, pad: int, dtype: np.dtype) -> np.ndarray:
    """The ``(size * r, size + 2)`` matrix of Theano's 1-D upsampling pass (read-only)."""
    if size * r * (size + 2) * np.dtype(dtype).itemsize > _OPERATOR_CACHE_BYTES:
        return _build_integer_operator(size, r, pad, np.dtype(dtype))
    return _cached_integer_operator(size, r, pad, np.dtype(dtype))


def _build_integer_operator(size: int, r: int, pad: int, dtype: np.dtype) -> np.ndarray:
    """Theano's 1-D upsampling pass, its transposed convolution, applied to each unit vector of
    the border-extended axis."""
    eye = np.eye(size + 2, dtype=dtype)[:, None, :, None]
    kern = bilinear_kernel_1D(r, True, dtype=dtype)[None, None, :, None]
    cols = conv2d_grad_wrt_inputs(eye, kern, (None, 1, size * r, 1), border_mode=(pad, 0), subsample=(r, 1))
    return _read_only(np.ascontiguousarray(cols[:, 0, :, 0].T))


_cached_integer_operator = functools.lru_cache(maxsize=_OPERATOR_CACHE)(_build_integer_operator)


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _frac_ratios(frac_ratio: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((p_rows, q_rows), (p_cols, q_cols))`` reduced by their gcd, as Theano did."""
    if not isinstance(frac_ratio, tuple):
        raise LegacyconvError(f"frac_ratio must be a tuple. Received: frac_ratio={frac_ratio!r}")
    pairs = frac_ratio if isinstance(frac_ratio[0], tuple) else (frac_ratio, frac_ratio)
    out = []
    for pair in pairs:
        if len(pair) != 2 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in pair
        ):
            raise LegacyconvError(
                "frac_ratio must be (numerator, denominator) of positive integers, or one such pair "
                f"per axis. Received: frac_ratio={frac_ratio!r}"
            )
        div = math.gcd(int(pair[0]), int(pair[1]))
        out.append((int(pair[0]) // div, int(pair[1]) // div))
    if len(out) != 2:
        raise LegacyconvError(
            f"frac_ratio must hold one pair per axis (2). Received: frac_ratio={frac_ratio!r}"
        )
    return out[0], out[1]


def _frac_operator(size: int, p: int, q: int, dtype: np.dtype) -> np.ndarray:
    """The ``(out, size + 2)`` operator of Theano's fractional upsampling on one axis
    (read-only)."""
    if -(-size * p // q) * (size + 2) * np.dtype(dtype).itemsize > _OPERATOR_CACHE_BYTES:
        return _build_frac_operator(size, p, q, np.dtype(dtype))
    return _cached_frac_operator(size, p, q, np.dtype(dtype))


def _build_frac_operator(size: int, p: int, q: int, dtype: np.dtype) -> np.ndarray:
    """The 1-D operator of Theano's fractional upsampling on one axis: ``(out, size + 2)``.

    Theano convolved (``filter_flip=True``, 'valid') the zero-padded pyramid kernel, as the
    image, with the border-repeated input, as the kernel of dilation ``p``, at stride ``q``:
    ``out[i] = sum_u kern_padded[i * q + (size + 1 - u) * p] * ext[u]``."""
    kern = bilinear_kernel_1D(p, True, dtype=dtype)
    double_pad = (2 * size - 1) * p + 1
    pad = double_pad // 2
    padded = np.concatenate([np.zeros(pad, dtype), kern, np.zeros(double_pad - pad, dtype)])
    span = (size + 1) * p + 1  # the dilated extent of the size + 2 input taps
    n_out = (padded.shape[0] - span) // q + 1
    idx = np.arange(n_out)[:, None] * q + (size + 1 - np.arange(size + 2))[None, :] * p
    return _read_only(padded[idx])


_cached_frac_operator = functools.lru_cache(maxsize=_OPERATOR_CACHE)(_build_frac_operator)


def frac_bilinear_upsampling(input: Any, frac_ratio: Any, *, backend: str = "numpy") -> np.ndarray:
    """Compute what Theano's ``frac_bilinear_upsampling`` computed: upsampling by ``p / q``.

    Parameters
    ----------
    input : array_like, shape (batch, channels, rows, cols)
    frac_ratio : tuple
        ``(p, q)`` for both axes or ``((p_rows, q_rows), (p_cols, q_cols))``; each is reduced by
        its greatest common divisor first, as in Theano.
    backend : {'numpy', 'scipy', 'tensorflow'}, optional
        The engine that multiplies the planes by the per-axis matrices.

    Returns
    -------
    numpy.ndarray, shape (batch, channels, out_rows, out_cols)
        Theano's sizes: ``((2 * rows - 1) * p + 1 - 1) // q + 1`` less what its valid
        convolution left out, i.e. about ``rows * p / q``.

    Examples
    --------
    >>> import numpy as np
    >>> frac_bilinear_upsampling(np.ones((1, 1, 4, 4)), (3, 2)).shape
    (1, 1, 6, 6)
    """
    (pr, qr), (pc, qc) = _frac_ratios(frac_ratio)
    separable_matmul = get_op(backend, "separable_matmul")
    x, result = _as_images(input)
    n, c, rows, cols = x.shape
    ext = _repeat_border(x.reshape(n * c, rows, cols))[:, 0]
    up = separable_matmul(ext, _frac_operator(rows, pr, qr, x.dtype), _frac_operator(cols, pc, qc, x.dtype))
    return up.reshape(n, c, *up.shape[1:]).astype(result, copy=False)
