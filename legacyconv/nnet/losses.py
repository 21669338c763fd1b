"""Theano 1.0's cross-entropies (``theano.tensor.nnet``), eagerly, with Theano's numbers."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import LegacyconvError, LegacyconvTypeError
from .._params import as_array, check_broadcast
from .activations import as_float, softplus

__all__ = ["binary_crossentropy", "categorical_crossentropy", "sigmoid_binary_crossentropy"]


def binary_crossentropy(output: Any, target: Any) -> np.ndarray:
    """``theano.tensor.nnet.binary_crossentropy``: elementwise
    ``-(target log(output) + (1 - target) log(1 - output))`` (not summed).

    ``output`` must lie strictly between 0 and 1 (0 or 1 give ``inf``/``nan``, as in Theano).

    >>> binary_crossentropy(np.array([0.5, 0.9]), np.array([1.0, 1.0]))
    array([0.69314718, 0.10536052])
    """
    o, dtype = as_float(output, "output")
    t = as_array(target, "target")
    check_broadcast(o, "output", t, "target")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -(t * np.log(o) + (1.0 - t) * np.log(1.0 - o))
    return out.astype(np.result_type(dtype, t.dtype), copy=False)


def sigmoid_binary_crossentropy(output: Any, target: Any) -> np.ndarray:
    """``theano.tensor.nnet.sigmoid_binary_crossentropy``: ``binary_crossentropy(sigmoid(output),
    target)`` computed stably as ``softplus(-|output|) + output * ((output > 0) - target)``.

    >>> sigmoid_binary_crossentropy(np.array([0.0, 100.0]), np.array([1.0, 0.0]))
    array([  0.69314718, 100.        ])
    """
    o, dtype = as_float(output, "output")
    t = as_array(target, "target")
    check_broadcast(o, "output", t, "target")
    out = softplus(-np.abs(o)) + o * ((o > 0) - t)
    return out.astype(np.result_type(dtype, t.dtype), copy=False)


def categorical_crossentropy(coding_dist: Any, true_dist: Any) -> np.ndarray:
    """``theano.tensor.nnet.categorical_crossentropy``: the cross-entropy of each row.

    Parameters
    ----------
    coding_dist : array_like of floats
        Predicted distributions along the last axis (e.g. a softmax output).
    true_dist : array_like
        Either distributions of the same rank (one-hot or soft targets:
        ``-sum(true_dist * log(coding_dist), axis=-1)``, the sum accumulated in double for
        float32 as Theano's did), or an int32/int64 vector of class indices for a 2-d
        ``coding_dist`` (``-log(coding_dist[i, true_dist[i]])``; negative indices count from the
        end, as NumPy indexing in Theano's code did).

    Returns
    -------
    numpy.ndarray
        One rank less than ``coding_dist``.

    Examples
    --------
    >>> p = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]])
    >>> categorical_crossentropy(p, np.array([0, 1]))
    array([0.69314718, 0.22314355])
    >>> categorical_crossentropy(p, np.eye(3)[[0, 1]])
    array([0.69314718, 0.22314355])
    """
    c, dtype = as_float(coding_dist, "coding_dist")
    t = as_array(true_dist, "true_dist")
    if t.ndim == c.ndim:
        check_broadcast(c, "coding_dist", t, "true_dist")
        with np.errstate(divide="ignore", invalid="ignore"):
            prod = t * np.log(c)
        acc = np.float64 if prod.dtype.itemsize <= 4 else prod.dtype
        return (-prod.sum(axis=-1, dtype=acc)).astype(np.result_type(dtype, t.dtype), copy=False)
    if t.ndim != c.ndim - 1:
        raise LegacyconvTypeError(
            "rank mismatch between coding and true distributions: true_dist must have the rank of "
            f"coding_dist (distributions) or one less (class indices). Received: "
            f"coding_dist.shape={c.shape}, true_dist.shape={t.shape}"
        )
    if c.ndim != 2:
        raise LegacyconvTypeError(
            "coding_dist must be a matrix when true_dist holds class indices, as in Theano. "
            f"Received: coding_dist.shape={c.shape}, true_dist.shape={t.shape}"
        )
    if t.dtype not in (np.int32, np.int64):
        raise LegacyconvTypeError(
            "class indices must be an int32 or int64 vector, as in Theano. "
            f"Received: true_dist.dtype={t.dtype} with shape {t.shape}"
        )
    if t.shape[0] != c.shape[0]:
        raise LegacyconvError(
            "one class index per row of coding_dist is needed. Received: "
            f"coding_dist.shape={c.shape}, true_dist.shape={t.shape}"
        )
    n = c.shape[1]
    if t.size and (t.min() < -n or t.max() >= n):
        raise LegacyconvError(
            f"class indices must be in [-{n}, {n}) for coding_dist.shape={c.shape}. "
            f"Received: true_dist with min {t.min()} and max {t.max()}"
        )
    with np.errstate(divide="ignore"):
        out = -np.log(c[np.arange(c.shape[0]), t])
    return out.astype(dtype, copy=False)
