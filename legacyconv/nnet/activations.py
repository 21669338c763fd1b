"""Theano 1.0's activation functions (``theano.tensor.nnet``), eagerly, with Theano's numbers.

Each function computes what Theano's compiled C code computed when ``floatX`` equalled the
input's float dtype, including the branches that saturate (recorded from real Theano 1.0.5 in
``tests/data/theano_nnet_reference.*``):

==========================  ================================  ================================
function                    float32                           float64
==========================  ================================  ================================
``sigmoid``                 0 below -88, exactly 1 above 15   0 below -709, exactly 1 above 19
``softplus``                0 below -103, ``x`` above 14      0 below -745, ``x`` above 16
``ultra_fast_sigmoid``      Theano's piecewise approximation  (same, in double constants)
``hard_sigmoid``            ``clip(0.2 x + 0.5, 0, 1)``       (same)
==========================  ================================  ================================

Integer inputs ran Theano's Python code instead (its C code covers floats only): ``sigmoid`` is
0 below -30 and 1 above 30, ``softplus`` 0 below -30 and ``x`` above 30; Python constants in the
formulas (``relu``'s ``alpha``, ``selu``'s) are float32 there (``floatX=float32``, as Keras and
Lasagne ran).

Dtypes follow Theano's ``upgrade_to_float``: float inputs keep their dtype; int8, int16, uint8,
uint16 and bool give float32, wider integers float64. float16 is computed in float32, as
Theano's C code did.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._errors import LegacyconvError
from .._params import as_array, check_broadcast

__all__ = [
    "elu",
    "hard_sigmoid",
    "logsoftmax",
    "relu",
    "selu",
    "sigmoid",
    "softmax",
    "softplus",
    "softsign",
    "ultra_fast_sigmoid",
]

# (below, above) where Theano's C code stops evaluating exp: (sigmoid, softplus) per dtype
_SIGMOID_LIMITS = {np.dtype(np.float32): (-88.0, 15.0), np.dtype(np.float64): (-709.0, 19.0)}
_SOFTPLUS_LIMITS = {np.dtype(np.float32): (-103.0, 14.0), np.dtype(np.float64): (-745.0, 16.0)}

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def float_dtype(dtype: np.dtype) -> np.dtype:
    """Theano's ``upgrade_to_float``: the float dtype an elementwise op returns for ``dtype``.

    >>> float_dtype(np.dtype(np.int8)), float_dtype(np.dtype(np.int32))
    (dtype('float32'), dtype('float64'))
    """
    if dtype.kind == "f":
        if dtype.itemsize > 8:
            raise TypeError(f"long double inputs are not supported (Theano had none). Received: {dtype}")
        return dtype
    return np.result_type(dtype, np.float32)


def as_float(x: Any, name: str = "x") -> tuple[np.ndarray, np.dtype]:
    """``x`` as an array in its compute dtype (float16 computes in float32), and the result dtype."""
    arr = as_array(x, name)
    result = float_dtype(arr.dtype)
    compute = np.dtype(np.float32) if result == np.float16 else result
    return arr.astype(compute, copy=False), result


def _const(value: Any, x: Any, a: np.ndarray) -> Any:
    """A Python constant of Theano's graph: floatX=float32 for integer inputs (then promoted
    with the float64 they compute in), the input's float dtype otherwise."""
    if np.asarray(x).dtype.kind in "iub":
        return np.float32(value)
    return a.dtype.type(value)


def _limits(table: dict, x: Any, a: np.ndarray) -> tuple[float, float]:
    # Theano had C code for float inputs only; integer inputs ran its Python code, which
    # switched at -30 and 30
    return (-30.0, 30.0) if np.asarray(x).dtype.kind in "iub" else table[a.dtype]


def _finish(out: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.asarray(out).astype(dtype, copy=False)


def sigmoid(x: Any) -> np.ndarray:
    """``theano.tensor.nnet.sigmoid``: ``1 / (1 + exp(-x))`` with Theano's saturation branches.

    >>> sigmoid(np.array([0.0, 15.5, 19.5]))
    array([0.5       , 0.99999982, 1.        ])
    >>> sigmoid(np.array([15.5], np.float32))
    array([1.], dtype=float32)
    """
    a, dtype = as_float(x)
    lo, hi = _limits(_SIGMOID_LIMITS, x, a)
    one = a.dtype.type(1.0)
    out = np.clip(a, lo, hi, out=np.empty_like(a))  # a new buffer, worked on in place
    np.negative(out, out=out)
    np.exp(out, out=out)
    out += one
    np.divide(one, out, out=out)
    np.copyto(out, 0, where=a < lo)
    np.copyto(out, one, where=a > hi)
    return _finish(out, dtype)


def softplus(x: Any) -> np.ndarray:
    """``theano.tensor.nnet.softplus``: ``log1p(exp(x))``, 0 far below zero and ``x`` far above.

    >>> softplus(np.array([-800.0, 0.0, 20.0]))
    array([ 0.        ,  0.69314718, 20.        ])
    """
    a, dtype = as_float(x)
    lo, hi = _limits(_SOFTPLUS_LIMITS, x, a)
    out = np.clip(a, lo, hi, out=np.empty_like(a))  # a new buffer, worked on in place
    np.exp(out, out=out)
    np.log1p(out, out=out)
    np.copyto(out, 0, where=a < lo)
    np.copyto(out, a, where=a > hi)
    return _finish(out, dtype)


def ultra_fast_sigmoid(x: Any) -> np.ndarray:
    """``theano.tensor.nnet.ultra_fast_sigmoid``: Theano's piecewise approximation of sigmoid.

    With ``u = |x| / 2``: ``t = 1.5 u / (1 + u)`` below 1.7, ``0.935409070603099 +
    0.0458812946797165 (u - 1.7)`` below 3, else ``0.99505475368673``; the result is
    ``(sign(x) t + 1) / 2``. Computed as the C code did (double constants, the ``1 + u``
    denominator in the input's precision).

    >>> ultra_fast_sigmoid(np.array([-10.0, 0.0, 1.0, 4.0]))
    array([0.00247262, 0.5       , 0.75      , 0.97458673])
    """
    a, dtype = as_float(x)
    half = (a * a.dtype.type(0.5)).astype(a.dtype)
    u = np.abs(half)
    u64 = u.astype(np.float64)
    den = (a.dtype.type(1) + u).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        near = (1.5 * u64 / den).astype(a.dtype)
    mid = (0.935409070603099 + 0.0458812946797165 * (u64 - 1.7)).astype(a.dtype)
    t = np.where(u < 1.7, near, np.where(u < 3, mid, a.dtype.type(0.99505475368673)))
    t = np.where(half >= 0, t, -t)
    # NaN: the C code's comparisons are false, so it took the negative branch's constant
    t = np.where(np.isnan(a), a.dtype.type(-0.99505475368673), t)
    out = (0.5 * (t.astype(np.float64) + 1.0)).astype(a.dtype)
    return _finish(out, dtype)


def hard_sigmoid(x: Any) -> np.ndarray:
    """``theano.tensor.nnet.hard_sigmoid``: ``clip(0.2 x + 0.5, 0, 1)`` in the result dtype.

    >>> hard_sigmoid(np.array([-3.0, 0.0, 1.0, 3.0]))
    array([0. , 0.5, 0.7, 1. ])
    """
    a, dtype = as_float(x)
    out = np.clip(a * a.dtype.type(0.2) + a.dtype.type(0.5), 0, 1)
    return _finish(out, dtype)


def softsign(x: Any) -> np.ndarray:
    """``theano.tensor.nnet.softsign``: ``x / (1 + |x|)`` (computed in double, as the C code did).

    >>> softsign(np.array([-1.0, 0.0, 3.0]))
    array([-0.5 ,  0.  ,  0.75])
    """
    a, dtype = as_float(x)
    a64 = a.astype(np.float64, copy=False)
    with np.errstate(invalid="ignore"):  # inf / inf: nan, as in Theano
        return _finish(a64 / (1.0 + np.abs(a64)), dtype)


def relu(x: Any, alpha: Any = 0) -> np.ndarray:
    """``theano.tensor.nnet.relu``: ``0.5 (x + |x|)``, or with a slope ``alpha`` for negative
    inputs ``0.5 (1 + alpha) x + 0.5 (1 - alpha) |x|`` (Theano's formula, not a ``where``).

    ``alpha`` may be a number or an array broadcastable against ``x`` (Theano's learnable
    slopes); a number takes ``x``'s dtype, an array is promoted with it.

    >>> relu(np.array([-2.0, 0.0, 3.0]))
    array([0., 0., 3.])
    >>> relu(np.array([-2.0, 0.0, 3.0]), alpha=0.1)
    array([-0.2,  0. ,  3. ])
    """
    arr = as_array(x, "x")
    dtype = float_dtype(arr.dtype)
    if isinstance(alpha, (int, float, np.number)) and not isinstance(alpha, bool) and alpha == 0:
        if arr.dtype.kind in "iub":  # Theano added in the integer dtype (and wrapped)
            s = (arr + np.abs(arr)) if arr.dtype.kind != "b" else arr.astype(np.int8) * 2
            return _finish(s.astype(dtype) * dtype.type(0.5), dtype)
        a, dtype = as_float(arr)
        out = np.abs(a, out=np.empty_like(a))
        with np.errstate(invalid="ignore"):  # -inf + inf: nan, as in Theano
            out += a
        out *= a.dtype.type(0.5)
        return _finish(out, dtype)
    a, dtype = as_float(arr)
    if isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
        al: Any = _const(alpha, arr, a)
    else:
        al = as_array(alpha, "alpha")
        al = al.astype(float_dtype(al.dtype), copy=False)
        check_broadcast(a, "x", al, "alpha")
    f1 = 0.5 * (1 + al)
    f2 = 0.5 * (1 - al)
    with np.errstate(invalid="ignore"):  # inf inputs give nan, as Theano's formula did
        out = f1 * a + f2 * np.abs(a)
    return _finish(out, dtype if np.ndim(al) == 0 and not isinstance(al, np.ndarray) else out.dtype)


def elu(x: Any, alpha: Any = 1) -> np.ndarray:
    """``theano.tensor.nnet.elu``: ``x`` where ``x > 0``, else ``alpha * expm1(x)``.

    >>> elu(np.array([-1.0, 0.0, 2.0]))
    array([-0.63212056,  0.        ,  2.        ])
    """
    a, dtype = as_float(x)
    al = _const(alpha, x, a) if isinstance(alpha, (int, float)) else as_array(alpha, "alpha")
    check_broadcast(a, "x", np.asarray(al), "alpha")
    with np.errstate(over="ignore"):
        out = np.where(a > 0, a, al * np.expm1(a))
    return _finish(out, dtype)


def selu(x: Any) -> np.ndarray:
    """``theano.tensor.nnet.selu``: ``scale * elu(x, alpha)`` with the SELU paper's constants.

    >>> selu(np.array([-1.0, 1.0]))
    array([-1.11133074,  1.05070099])
    """
    a, dtype = as_float(x)
    with np.errstate(over="ignore"):
        neg = _const(_SELU_ALPHA, x, a) * np.expm1(a)
    out = _const(_SELU_SCALE, x, a) * np.where(a > 0, a, neg)
    return _finish(out, dtype)


def _softmax_input(x: Any, name: str) -> np.ndarray:
    arr = as_array(x, "x")
    if arr.ndim not in (1, 2) or arr.dtype.kind != "f":
        raise LegacyconvError(
            f"x must be a 1-d or 2-d array of floats ({name} works on rows, as Theano's did). "
            f"Received: x.shape={arr.shape}, x.dtype={arr.dtype}"
        )
    if arr.ndim == 1:
        warnings.warn(
            f"{name}: a vector is treated as one row and the result is a (1, n) matrix, as in "
            "Theano 1.0 (its DEPRECATION warning said this would change)",
            UserWarning,
            stacklevel=3,
        )
        arr = arr[None, :]
    elif arr.shape[-1] == 1 and name == "softmax":
        warnings.warn(
            "The softmax is applied on a dimension of shape 1, which does not have a semantic meaning.",
            UserWarning,
            stacklevel=3,
        )
    return arr


def softmax(c: Any) -> np.ndarray:
    """``theano.tensor.nnet.softmax``: row-wise softmax of a matrix.

    Theano 1.0 accepted only 1-d and 2-d float tensors: a vector became one row (the result
    is ``(1, n)``, with a warning), higher ranks and integer dtypes raised. Computed as the C
    code did: ``exp(x - row max)`` in the input dtype, the row sum in double.

    >>> softmax(np.array([[1.0, 2.0, 3.0]]))
    array([[0.09003057, 0.24472847, 0.66524096]])
    """
    x = _softmax_input(c, "softmax")
    dtype = x.dtype
    if x.dtype == np.float16:
        x = x.astype(np.float32)
    e = x - x.max(axis=1, keepdims=True)
    np.exp(e, out=e)
    inv = 1.0 / e.sum(axis=1, keepdims=True, dtype=np.float64)
    # e * (double) 1/sum, rounded once to the dtype, in place (NumPy casts in small blocks)
    np.multiply(e, inv, out=e, dtype=np.float64, casting="same_kind")
    return e.astype(dtype, copy=False)


def logsoftmax(c: Any) -> np.ndarray:
    """``theano.tensor.nnet.logsoftmax``: row-wise ``x - max - log(sum(exp(x - max)))``.

    Same input rules as :func:`softmax`; the sum and its log in double, as Theano's C code.

    >>> logsoftmax(np.array([[0.0, 0.0]]))
    array([[-0.69314718, -0.69314718]])
    """
    x = _softmax_input(c, "logsoftmax")
    dtype = x.dtype
    if x.dtype == np.float16:
        x = x.astype(np.float32)
    xdev = x - x.max(axis=1, keepdims=True)
    lse = np.log(np.exp(xdev).sum(axis=1, keepdims=True, dtype=np.float64))
    xdev -= lse.astype(xdev.dtype)
    return xdev.astype(dtype, copy=False)
