"""Mirror of ``theano.tensor.nnet.bn``: batch normalisation, eagerly, as Theano 1.0 computed it.

``batch_normalization_train`` returns the running-average updates as arrays (Theano returned
them as symbolic outputs for the caller's ``updates``); nothing is modified in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import LegacyconvError, LegacyconvTypeError
from .._params import as_array
from .activations import as_float

__all__ = ["batch_normalization", "batch_normalization_test", "batch_normalization_train"]


def batch_normalization(
    inputs: Any, gamma: Any, beta: Any, mean: Any, std: Any, mode: str = "low_mem"
) -> np.ndarray:
    """``theano.tensor.nnet.bn.batch_normalization``: ``(inputs - mean) / std * gamma + beta``.

    All arguments broadcast against ``inputs``. ``mode='low_mem'`` divides by ``std`` per
    element, ``'high_mem'`` multiplies by ``gamma / std`` (Theano's two formulas; they round
    differently).

    >>> x = np.array([[1.0, 2.0], [3.0, 6.0]])
    >>> batch_normalization(x, 1.0, 0.0, x.mean(0), x.std(0))
    array([[-1., -1.],
           [ 1.,  1.]])
    """
    if mode not in ("low_mem", "high_mem"):
        raise LegacyconvError(f"mode must be one of {{'low_mem', 'high_mem'}}. Received: mode={mode!r}")
    x, dtype = as_float(inputs, "inputs")
    g, b, m, s = (as_array(a, n) for a, n in zip((gamma, beta, mean, std), ("gamma", "beta", "mean", "std")))
    _check_broadcast(x, gamma=g, beta=b, mean=m, std=s)
    g, b, m, s = (_in(a, x) for a in (g, b, m, s))
    out = (x - m) / s * g + b if mode == "low_mem" else (x - m) * (g / s) + b
    return out.astype(dtype, copy=False)


def _in(a: np.ndarray, x: np.ndarray) -> Any:
    """A parameter in the compute dtype of ``x`` (Theano's graph used the inputs' dtype)."""
    return a.astype(x.dtype, copy=False) if a.dtype.kind != "f" or a.ndim else x.dtype.type(a)


def _check_broadcast(x: np.ndarray, **params: np.ndarray) -> None:
    for name, a in params.items():
        try:
            if np.broadcast_shapes(a.shape, x.shape) != x.shape:
                raise ValueError
        except ValueError:
            raise LegacyconvError(
                f"{name} must broadcast against inputs. Received: {name}.shape={a.shape}, "
                f"inputs.shape={x.shape}"
            ) from None


def _prepare_axes(axes: Any, ndim: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Theano's ``_prepare_batch_normalization_axes``: (normalised axes, the other axes)."""
    if isinstance(axes, str) and axes == "per-activation":
        ax: tuple[int, ...] = (0,)
    elif isinstance(axes, str) and axes == "spatial":
        ax = (0,) + tuple(range(2, ndim))
    elif isinstance(axes, (tuple, list, np.ndarray)):
        try:  # int() of each, as Theano did (so 2.0 is axis 2)
            ax = tuple(int(a) for a in axes)
            distinct = len(set(ax)) == len(ax)
        except (TypeError, ValueError):
            distinct = False
        if not distinct:
            raise LegacyconvError(f"axes must hold distinct axis numbers. Received: axes={axes!r}")
    else:
        raise LegacyconvError(
            f"axes must be 'per-activation', 'spatial' or a tuple of axes. Received: axes={axes!r}"
        )
    ax = tuple(sorted(ax))
    if not ax:
        raise LegacyconvError("there should be at least one normalization axis. Received: axes=()")
    if min(ax) < 0 or max(ax) >= ndim:
        raise LegacyconvError(f"axes should be less than ndim (<{ndim}), and >= 0. Received: axes={ax}")
    return ax, tuple(i for i in range(ndim) if i not in ax)


def _check_epsilon(epsilon: Any, dtype: np.dtype) -> Any:
    # Theano cast epsilon to floatX before checking it: float32(1e-5) < 1e-5 is refused
    try:
        kind = np.asarray(epsilon).dtype.kind if np.ndim(epsilon) == 0 else ""
    except (TypeError, ValueError):  # ragged lists and the like
        kind = ""
    if kind not in ("i", "u", "f"):  # a number or a 0-d array of one; not a bool or a string
        raise LegacyconvTypeError(f"epsilon must be a number. Received: epsilon={epsilon!r}")
    eps = dtype.type(epsilon)
    if float(eps) < 1e-5:  # compared in double, as NumPy 1 did: float32(1e-5) is refused
        raise LegacyconvError(
            f"epsilon must be at least 1e-5 (after rounding to {dtype}, as Theano checked it). "
            f"Received: epsilon={epsilon!r}"
        )
    return eps


def _params(
    x: np.ndarray, axes: tuple[int, ...], non_bc: tuple[int, ...], named: dict[str, Any]
) -> tuple[bool, list[np.ndarray]]:
    """Check the parameter arrays' ranks as Theano did and reshape them to broadcast against
    ``x``; returns (whether they were given with the reduced rank, the reshaped arrays)."""
    arrays = {k: as_array(v, k) for k, v in named.items()}
    gamma, beta = arrays["gamma"], arrays["beta"]
    reduced = gamma.ndim != x.ndim
    params_ndim = len(non_bc) if reduced else x.ndim
    if gamma.ndim != params_ndim or beta.ndim != params_ndim:
        raise LegacyconvError(
            "gamma and beta dimensionality must match the number of non-normalized axes, or have "
            f"the same number of dimensions as the inputs; got {gamma.ndim} and {beta.ndim} instead "
            f"of {params_ndim}. Received: gamma.shape={gamma.shape}, beta.shape={beta.shape}, "
            f"inputs.shape={x.shape}, axes={axes}"
        )
    for name, a in arrays.items():
        if a.ndim != params_ndim:
            raise LegacyconvError(
                f"{name} must have the dimensionality of gamma and beta; got {a.ndim} instead of "
                f"{params_ndim}. Received: {name}.shape={a.shape}"
            )
    full = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    out = []
    for name, a in arrays.items():
        if reduced:
            if a.shape != tuple(x.shape[i] for i in non_bc):
                raise LegacyconvError(
                    f"{name} must have the shape of the inputs' non-normalized axes "
                    f"{tuple(x.shape[i] for i in non_bc)}. Received: {name}.shape={a.shape}, "
                    f"inputs.shape={x.shape}, axes={axes}"
                )
            a = a.reshape(full)
        elif a.shape != full:
            raise LegacyconvError(
                f"{name} must have shape {full} (size 1 on the normalized axes {axes}). "
                f"Received: {name}.shape={a.shape}, inputs.shape={x.shape}"
            )
        out.append(a.astype(x.dtype, copy=False) if a.dtype.kind != "f" else a)
    return reduced, out


def _sum(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Sum over ``axes`` (kept as size 1). Theano accumulated float32 sums in float64; here the
    trailing contiguous reduced axes (e.g. rows and columns for 'spatial') are summed pairwise in
    float32, 20x faster and far more accurate than float32's resolution of the result, and the
    rest in float64."""
    if x.dtype == np.float64:
        return x.sum(axis=axes, keepdims=True)
    k = x.ndim
    while k - 1 in axes:
        k -= 1
    part = x
    if k < x.ndim:
        part = x.reshape(x.shape[:k] + (-1,)).sum(axis=-1).reshape(x.shape[:k] + (1,) * (x.ndim - k))
    rest = tuple(a for a in axes if a < k)
    return part.sum(axis=rest, keepdims=True, dtype=np.float64) if rest else part


def _mean(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    # Theano's T.mean: the sum, then divided by each axis length in turn
    s = _sum(x, axes).astype(x.dtype)
    for a in axes:
        s = s / x.dtype.type(x.shape[a])
    return s


def _affine(centered: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``centered * scale + shift`` in place on ``centered`` (a temporary), promoting first if
    the parameters are wider."""
    dtype = np.result_type(centered, scale, shift)
    out = centered.astype(dtype, copy=False)
    out *= scale
    out += shift
    return out


def batch_normalization_train(
    inputs: Any,
    gamma: Any,
    beta: Any,
    axes: Any = "per-activation",
    epsilon: float = 1e-4,
    running_average_factor: float = 0.1,
    running_mean: Any = None,
    running_var: Any = None,
) -> tuple[np.ndarray, ...]:
    """``theano.tensor.nnet.bn.batch_normalization_train``: normalise with the batch statistics.

    Parameters
    ----------
    inputs : array_like of floats
    gamma, beta : array_like
        Either the shape of the non-normalized axes (e.g. ``(channels,)`` for 'spatial'), or
        the rank of ``inputs`` with size 1 on the normalized axes.
    axes : 'per-activation', 'spatial' or tuple of int, optional
        'per-activation' is ``(0,)``, 'spatial' is ``(0, 2, 3, ...)``.
    epsilon : float, optional
        At least 1e-5 (checked after rounding to the inputs' dtype, as Theano did).
    running_average_factor : float, optional
    running_mean, running_var : array_like, optional
        Give both or neither (same layout as ``gamma``).

    Returns
    -------
    tuple
        ``(out, mean, invstd)`` and, when the running averages were given,
        ``new_running_mean = running_mean (1 - f) + mean f`` and ``new_running_var =
        running_var (1 - f) + m / (m - 1) var f`` (``m`` values per statistic). ``mean``,
        ``invstd`` and the updates have ``gamma``'s layout.

    Examples
    --------
    >>> x = np.arange(12.0).reshape(2, 3, 2)
    >>> out, mean, invstd = batch_normalization_train(x, np.ones(3), np.zeros(3), "spatial")
    >>> mean
    array([3.5, 5.5, 7.5])
    >>> out.shape
    (2, 3, 2)
    """
    x, dtype = as_float(inputs, "inputs")
    ax, non_bc = _prepare_axes(axes, x.ndim)
    if (running_mean is None) != (running_var is None):
        raise LegacyconvError(
            "running_mean and running_var must either both be given or both be None. Received: "
            f"running_mean is {'None' if running_mean is None else 'given'}, running_var is "
            f"{'None' if running_var is None else 'given'}"
        )
    named = {"gamma": gamma, "beta": beta}
    if running_mean is not None:
        named.update(running_mean=running_mean, running_var=running_var)
    reduced, params = _params(x, ax, non_bc, named)
    eps = _check_epsilon(epsilon, x.dtype)
    g, b = params[:2]
    mean = _mean(x, ax)
    centered = x - mean
    var = _mean(np.square(centered), ax)
    invstd = x.dtype.type(1) / np.sqrt(var + eps)
    out = _affine(centered, g * invstd, b)
    results = [out, mean, invstd]
    if running_mean is not None:
        rm, rv = params[2:]
        f = x.dtype.type(running_average_factor)
        m = x.dtype.type(np.prod([x.shape[a] for a in ax]))
        results.append(rm * (1.0 - f) + mean * f)
        results.append(rv * (1.0 - f) + (m / (m - 1)) * var * f)
    if reduced:
        shape = tuple(x.shape[i] for i in non_bc)
        results[1:] = [r.reshape(shape) for r in results[1:]]
    # float16 was computed in float32; parameters wider than the inputs widen their results
    return tuple(
        r.astype(np.result_type(dtype, r.dtype) if r.dtype != x.dtype else dtype, copy=False) for r in results
    )


def batch_normalization_test(
    inputs: Any,
    gamma: Any,
    beta: Any,
    mean: Any,
    var: Any,
    axes: Any = "per-activation",
    epsilon: float = 1e-4,
) -> np.ndarray:
    """``theano.tensor.nnet.bn.batch_normalization_test``: normalise with given statistics,
    ``(inputs - mean) * (gamma / sqrt(var + epsilon)) + beta``.

    ``gamma``, ``beta``, ``mean`` and ``var`` follow :func:`batch_normalization_train`'s
    layout rules.

    >>> x = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> batch_normalization_test(x, np.ones(2), np.zeros(2), np.array([2.0, 3.0]), np.ones(2), epsilon=1e-5)
    array([[-0.999995, -0.999995],
           [ 0.999995,  0.999995]])
    """
    x, dtype = as_float(inputs, "inputs")
    ax, non_bc = _prepare_axes(axes, x.ndim)
    named = {"gamma": gamma, "beta": beta, "mean": mean, "var": var}
    _, (g, b, m, v) = _params(x, ax, non_bc, named)
    eps = _check_epsilon(epsilon, x.dtype)
    out = _affine(x - m, g / np.sqrt(v + eps), b)
    return out.astype(dtype, copy=False)
