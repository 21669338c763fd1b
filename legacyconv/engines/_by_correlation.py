"""Ops that an engine can derive from its own ``correlate``: an engine without a dedicated
kernel for an op computes it with these (same arguments as the op in the engine contract)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._params import Pads

__all__ = ["weight_grad_by_correlation"]

Correlate = Callable[[np.ndarray, np.ndarray, Pads, tuple[int, ...], tuple[int, ...], int], np.ndarray]


def weight_grad_by_correlation(
    correlate: Correlate,
    x: np.ndarray,
    y: np.ndarray,
    kernel: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """The kernel gradient of a correlation as a correlation: per group, the input with batch
    and channels swapped ``(channels, batch, *spatial)`` is correlated with ``y`` read as a
    kernel ``(out, batch, *out_spatial)``, whose taps are ``stride`` apart (its dilation) and
    which moves ``dilation`` at a time (its stride); the first ``kernel`` positions are kept.

    >>> from legacyconv.engines.numpy_gemm import correlate
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> weight_grad_by_correlation(correlate, x, np.ones((1, 1, 2, 2)), (2, 2), ((0, 0),) * 2, (1, 1), (1, 1), 1)[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    nd = len(kernel)
    channels, n_out = x.shape[1], y.shape[1]
    cg, og = channels // groups, n_out // groups
    keep = (slice(None), slice(None)) + tuple(slice(0, k) for k in kernel)
    parts = []
    for g in range(groups):
        xg = np.ascontiguousarray(x[:, g * cg : (g + 1) * cg].swapaxes(0, 1))
        yg = np.ascontiguousarray(y[:, g * og : (g + 1) * og].swapaxes(0, 1))
        full = correlate(xg, yg, pads, tuple(dilations), tuple(strides), 1)
        parts.append(full[keep].swapaxes(0, 1))
    out = parts[0] if groups == 1 else np.concatenate(parts, axis=0)
    assert out.shape == (n_out, cg) + tuple(kernel), (out.shape, nd)
    return out
