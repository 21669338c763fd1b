"""``lasagne.nonlinearities`` on NumPy arrays, with Theano's formulas.

Lasagne called Theano for most of them, and so does the mirror, through
:mod:`legacyconv.nnet.activations` (Theano's numbers, recorded from real Theano): ``sigmoid``,
``softplus`` (with Theano's saturation branches), ``softmax`` (rows of a matrix; Theano refused
other ranks), ``rectify`` and the leaky variants (Theano's ``relu(x, alpha)`` formula
``0.5 (1 + alpha) x + 0.5 (1 - alpha) |x|``). ``elu``, ``SELU`` and ``ScaledTanH`` are Lasagne's
own expressions, computed in the input's dtype (float32 in a Lasagne network).

>>> import numpy as np
>>> rectify(np.array([-1.0, 2.0], np.float32))
array([0., 2.], dtype=float32)
>>> softmax(np.zeros((1, 4), np.float32))
array([[0.25, 0.25, 0.25, 0.25]], dtype=float32)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..nnet import activations as theano_nnet

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
    """Theano's ``sigmoid`` (exactly 0 and 1 in its saturation branches)."""
    return theano_nnet.sigmoid(x)


def softmax(x: Any) -> np.ndarray:
    """Theano's row-wise ``softmax`` of a matrix."""
    return theano_nnet.softmax(x)


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
    """Theano's ``relu``: ``0.5 * (x + |x|)``."""
    return theano_nnet.relu(x)


class LeakyRectify:
    """``x`` for x > 0, ``leakiness * x`` otherwise, as Theano's ``relu(x, leakiness)``."""

    def __init__(self, leakiness: float = 0.01) -> None:
        self.leakiness = leakiness

    def __call__(self, x: Any) -> np.ndarray:
        return theano_nnet.relu(x, self.leakiness)


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
    """Theano's ``softplus``: ``log1p(exp(x))``, 0 far below zero and ``x`` far above."""
    return theano_nnet.softplus(x)


def linear(x: Any) -> Any:
    """The identity."""
    return x


identity = linear
