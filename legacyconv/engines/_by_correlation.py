"""Ops that an engine can derive from its own ``correlate``: an engine without a dedicated
kernel for an op computes it with these (same arguments as the op in the engine contract)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._params import Pads

__all__ = ["input_grad_by_correlation", "transposed_kernel", "weight_grad_by_correlation"]

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


def transposed_kernel(w: np.ndarray, groups: int) -> np.ndarray:
    """The correlation kernel of the input gradient of a correlation with ``w`` ``(out, c //
    groups, *kernel)``: ``(c, out // groups, *kernel)``, in/out swapped within each group and
    spatially reversed."""
    n_out, cg = w.shape[:2]
    og = n_out // groups
    kernel = w.shape[2:]
    swapped = w.reshape(groups, og, cg, *kernel).swapaxes(1, 2).reshape(groups * cg, og, *kernel)
    return np.ascontiguousarray(swapped[(slice(None), slice(None)) + (slice(None, None, -1),) * len(kernel)])


def input_grad_by_correlation(
    correlate: Correlate,
    y: np.ndarray,
    w: np.ndarray,
    out_spatial: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """The input gradient of a correlation as a correlation: dilate ``y`` by the stride (zeros
    between pixels), pad by ``dilated_kernel - 1 - pad``, and correlate with
    :func:`transposed_kernel`; negative pads become crops.

    >>> from legacyconv.engines.numpy_gemm import correlate
    >>> input_grad_by_correlation(correlate, np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), (3, 3), ((0, 0),) * 2, (1, 1), (1, 1), 1)[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    nd = y.ndim - 2
    kernel = w.shape[2:]
    top = y.shape[2:]
    if any(s > 1 for s in strides):
        dilated = np.zeros(y.shape[:2] + tuple((t - 1) * s + 1 for t, s in zip(top, strides)), dtype=y.dtype)
        dilated[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in strides)] = y
        y = dilated
    full_pads, crops = [], []
    for axis in range(nd):
        dk = (kernel[axis] - 1) * dilations[axis] + 1
        lo = dk - 1 - pads[axis][0]
        hi = out_spatial[axis] + dk - 1 - lo - y.shape[2 + axis]
        full_pads.append((max(lo, 0), max(hi, 0)))
        crops.append(slice(max(-lo, 0), max(-lo, 0) + out_spatial[axis]))
    full = correlate(y, transposed_kernel(w, groups), tuple(full_pads), (1,) * nd, tuple(dilations), groups)
    return full[(slice(None), slice(None)) + tuple(crops)]
