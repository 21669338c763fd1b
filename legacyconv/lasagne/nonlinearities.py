"""``lasagne.nonlinearities`` on NumPy arrays, with Theano's formulas.

Each function computes in the input's dtype (float32 in a Lasagne network) with the same
expression Theano evaluated: ``rectify`` is Theano's ``relu`` (``0.5 * (x + |x|)``, i.e. the
maximum with 0), the leaky variants use Theano's ``relu(x, alpha)`` = ``f1 * x + f2 * |x|``,
``sigmoid``/``softplus`` saturate beyond |x| > 30 as Theano's scalar ops did, and ``softmax``
works on rows of a matrix (Theano refused other ranks).

>>> import numpy as np
>>> rectify(np.array([-1.0, 2.0], np.float32))
array([0., 2.], dtype=float32)
>>> softmax(np.zeros((1, 4), np.float32))
array([[0.25, 0.25, 0.25, 0.25]], dtype=float32)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import LegacyconvError

__all__ = [
    "SELU",
    "LeakyRectify",
    "ScaledTanH",
    "ScaledTanh",
    "elu",
    "identity",
    "leaky_rectify",
    "linear",
    "rectify",
    "selu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
    "very_leaky_rectify",
]


def _float(x: Any) -> np.ndarray:
    arr = np.asarray(x)
    return arr if arr.dtype.kind in "fc" else arr.astype(np.float64)


def _const(value: float, x: np.ndarray) -> Any:
    # Theano cast Python constants to floatX (float32) next to float32 tensors
    return x.dtype.type(value)


def sigmoid(x: Any) -> np.ndarray:
    """``1 / (1 + exp(-x))``, exactly 0 below -30 and 1 above 30 (Theano's scalar sigmoid)."""
    x = _float(x)
    with np.errstate(over="ignore"):
        out = 1 / (1 + np.exp(-x))
    out = np.where(x < -30, 0, np.where(x > 30, 1, out))
    return out.astype(x.dtype, copy=False)


def softmax(x: Any) -> np.ndarray:
    """Row-wise softmax of a matrix: ``exp(x - max) / sum`` over the last axis."""
    x = _float(x)
    if x.ndim not in (1, 2):
        raise LegacyconvError(
            f"softmax works on a matrix (rows of class scores), as Theano's did. Received: shape {x.shape}"
        )
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def tanh(x: Any) -> np.ndarray:
    """Hyperbolic tangent."""
    return np.tanh(_float(x))


class ScaledTanH:
    """``tanh(x * scale_in) * scale_out``."""

    def __init__(self, scale_in: float = 1, scale_out: float = 1) -> None:
        self.scale_in = scale_in
        self.scale_out = scale_out

    def __call__(self, x: Any) -> np.ndarray:
        x = _float(x)
        return np.tanh(x * _const(self.scale_in, x)) * _const(self.scale_out, x)


ScaledTanh = ScaledTanH


def rectify(x: Any) -> np.ndarray:
    """``max(x, 0)`` (Theano's ``relu``)."""
    x = _float(x)
    return np.maximum(x, _const(0, x))


def _relu(x: np.ndarray, alpha: float) -> np.ndarray:
    f1 = _const(0.5, x) * (_const(1, x) + _const(alpha, x))
    f2 = _const(0.5, x) * (_const(1, x) - _const(alpha, x))
    return f1 * x + f2 * np.abs(x)


class LeakyRectify:
    """``x`` for x > 0, ``leakiness * x`` otherwise, as Theano's ``relu(x, leakiness)``."""

    def __init__(self, leakiness: float = 0.01) -> None:
        self.leakiness = leakiness

    def __call__(self, x: Any) -> np.ndarray:
        return _relu(_float(x), self.leakiness)


leaky_rectify = LeakyRectify()
very_leaky_rectify = LeakyRectify(1.0 / 3)


def elu(x: Any) -> np.ndarray:
    """``x`` for x > 0, ``expm1(x)`` otherwise."""
    x = _float(x)
    with np.errstate(over="ignore"):
        return np.where(x > 0, x, np.expm1(x))


class SELU:
    """``scale * x`` for x > 0, ``scale * scale_neg * expm1(x)`` otherwise."""

    def __init__(self, scale: float = 1, scale_neg: float = 1) -> None:
        self.scale = scale
        self.scale_neg = scale_neg

    def __call__(self, x: Any) -> np.ndarray:
        x = _float(x)
        with np.errstate(over="ignore"):
            neg = _const(self.scale_neg, x) * np.expm1(x)
        return _const(self.scale, x) * np.where(x > 0, x, neg)


selu = SELU(scale=1.0507009873554804934193349852946, scale_neg=1.6732632423543772848170429916717)


def softplus(x: Any) -> np.ndarray:
    """``log(1 + exp(x))``: 0 below -30 and ``x`` above 30 (Theano's scalar softplus)."""
    x = _float(x)
    with np.errstate(over="ignore"):
        out = np.log1p(np.exp(x))
    return np.where(x < -30, 0, np.where(x > 30, x, out)).astype(x.dtype, copy=False)


def linear(x: Any) -> Any:
    """The identity."""
    return x


identity = linear
