"""The numpy engine: im2col by kernel-offset slab copies, then one BLAS GEMM per chunk.

Every engine module exposes the same function, :func:`correlate`, over validated arguments:
``x`` is ``(batch, channels, *spatial)``, ``w`` is ``(out, channels // groups, *kernel)``,
both already in the compute dtype; it returns the N-d cross-correlation (no kernel flip, the
public op flips) of the zero-padded input. Pure NumPy: no other framework is called.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .._config import get_workspace_limit, scratch
from .._params import Pads, conv_out_size

__all__ = ["axis_range", "correlate", "correlate_weight_grad", "im2col_plan"]

# Below this many multiply-adds per output element and with several groups, one small
# GEMM per group costs more in call overhead than K broadcasted multiply-adds.
_SMALL_GROUP_K = 32
# Below this many output pixels per image, the columns of several images share one GEMM.
_MERGE_BELOW = 256


def axis_range(o_start: int, o_stop: int, size: int, offset: int, stride: int) -> tuple[int, int, slice]:
    """Output indices ``[lo, hi)`` within ``[o_start, o_stop)`` whose input index
    ``o * stride + offset`` falls inside ``[0, size)``, and the matching input slice."""
    lo = max(o_start, -(offset // stride))  # ceil(-offset / stride)
    hi = min(o_stop, (size - 1 - offset) // stride + 1)
    if hi <= lo:
        return lo, lo, slice(0, 0)
    first = lo * stride + offset
    return lo, hi, slice(first, first + (hi - lo - 1) * stride + 1, stride)


def im2col_plan(
    x_shape: tuple[int, ...],
    kernel: tuple[int, ...],
    out_sp: tuple[int, ...],
    itemsize: int,
    reserved: int = 0,
) -> tuple[int, int]:
    """Return ``(images per chunk, leading output rows per chunk)`` so that one chunk's
    im2col buffer plus ``reserved`` bytes (the kernel copy) stays under the workspace limit."""
    channels = x_shape[1]
    per_row = channels * math.prod(kernel) * math.prod(out_sp[1:]) * itemsize
    per_image = per_row * out_sp[0]
    limit = max(get_workspace_limit() - reserved, 1)
    if per_image <= limit:
        return max(1, min(x_shape[0], limit // max(per_image, 1))), out_sp[0]
    return 1, max(1, limit // max(per_row, 1))


def _fill_cols(
    buf: np.ndarray,
    x: np.ndarray,
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    rows: tuple[int, int],
    merged: bool = False,
) -> None:
    """Write the im2col columns of ``x`` for output rows ``rows`` of the first spatial axis
    into ``buf`` of shape ``(n, C, *kernel, rows, *out_sp[1:])``, or, ``merged``, of shape
    ``(C, *kernel, n, rows, *out_sp[1:])``. Cells that read padding are left as they are:
    the caller keeps them zero."""
    nd = len(pads)
    kernel = buf.shape[1 : 1 + nd] if merged else buf.shape[2 : 2 + nd]
    out_sp = buf.shape[2 + nd :]
    spatial = x.shape[2:]
    if merged:
        x = x.swapaxes(0, 1)
    for offsets in itertools.product(*(range(k) for k in kernel)):
        dst: list[slice | int] = (
            [slice(None), *offsets, slice(None)] if merged else [slice(None), slice(None), *offsets]
        )
        src: list[slice] = [slice(None), slice(None)]
        for axis, k in enumerate(offsets):
            start, stop = rows if axis == 0 else (0, out_sp[axis])
            shift = start if axis == 0 else 0
            lo, hi, sl = axis_range(
                start, stop, spatial[axis], k * dilations[axis] - pads[axis][0], strides[axis]
            )
            if hi <= lo:
                break
            dst.append(slice(lo - shift, hi - shift))
            src.append(sl)
        else:
            buf[tuple(dst)] = x[tuple(src)]


def correlate(
    x: np.ndarray,
    w: np.ndarray,
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """N-d grouped cross-correlation of zero-padded ``x`` with ``w`` (see the module doc)."""
    n, channels = x.shape[:2]
    n_out, cg = w.shape[:2]
    kernel = w.shape[2:]
    out_sp = tuple(
        conv_out_size(s, k, p, st, d) for s, k, p, st, d in zip(x.shape[2:], kernel, pads, strides, dilations)
    )
    og = n_out // groups
    k_len = cg * math.prod(kernel)
    p_len = math.prod(out_sp)
    out = np.empty((n, groups, og, p_len), dtype=x.dtype)
    if out.size == 0:
        return out.reshape((n, n_out) + out_sp)
    if k_len == 0:
        out.fill(0)
        return out.reshape((n, n_out) + out_sp)
    wm = np.ascontiguousarray(w).reshape(groups, og, k_len)

    pointwise = all(k == 1 for k in kernel) and all(s == 1 for s in strides)
    if pointwise and all(p == (0, 0) for p in pads) and x.flags.c_contiguous:
        # A 1x1 stride-1 convolution is the GEMM itself: no workspace at all.
        _gemm(wm, x.reshape(n, groups, cg, p_len), out)
        return out.reshape((n, n_out) + out_sp)

    if p_len < _MERGE_BELOW and not (groups > 1 and k_len <= _SMALL_GROUP_K):
        _correlate_merged(x, wm, kernel, pads, strides, dilations, out_sp, out)
        return out.reshape((n, n_out) + out_sp)

    images, rows = im2col_plan(x.shape, kernel, out_sp, x.dtype.itemsize, reserved=wm.nbytes)
    inner = math.prod(out_sp[1:])
    (buf,) = scratch([(images, channels, *kernel, rows, *out_sp[1:])], x.dtype)
    row_chunks = [(r, min(r + rows, out_sp[0])) for r in range(0, out_sp[0], rows)]
    padded = any(p != (0, 0) for p in pads)
    if padded and len(row_chunks) == 1:
        buf.fill(0)  # cells that read padding are never written: they must be zero
    trailing = (slice(None),) * (len(out_sp) - 1)
    for b0 in range(0, n, images):
        b1 = min(b0 + images, n)
        for r0, r1 in row_chunks:
            view = buf[(slice(0, b1 - b0), Ellipsis, slice(0, r1 - r0)) + trailing]
            if padded and len(row_chunks) > 1:
                view.fill(0)  # padding cells move with the row window: clear stale values
            _fill_cols(view, x[b0:b1], pads, strides, dilations, (r0, r1))
            cols = view.reshape(b1 - b0, groups, k_len, (r1 - r0) * inner)
            _gemm(wm, cols, out[b0:b1, :, :, r0 * inner : r1 * inner])
    return out.reshape((n, n_out) + out_sp)


def _correlate_merged(
    x: np.ndarray,
    wm: np.ndarray,
    kernel: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    out_sp: tuple[int, ...],
    out: np.ndarray,
) -> None:
    """Small images: the columns of a whole chunk of images side by side,
    ``(C, *kernel, images, *out_sp)``, so that one GEMM per group covers the chunk (one small
    GEMM per image would cost more in calls than in arithmetic); then the result is
    transposed from ``(groups, og, images, P)`` into ``out`` ``(images, groups, og, P)``."""
    n, channels = x.shape[:2]
    groups, og, k_len = wm.shape
    p_len = math.prod(out_sp)
    per_image = (channels * math.prod(kernel) + groups * og) * p_len * x.dtype.itemsize
    images = max(1, min(n, (get_workspace_limit() - wm.nbytes) // max(per_image, 1)))
    padded = any(p != (0, 0) for p in pads)
    for b0 in range(0, n, images):
        nb = min(images, n - b0)
        buf, res = scratch([(channels, *kernel, nb, *out_sp), (groups, og, nb * p_len)], x.dtype)
        if padded and (b0 == 0 or nb != images):
            buf.fill(0)  # cells that read padding are never written: they must be zero
        _fill_cols(buf, x[b0 : b0 + nb], pads, strides, dilations, (0, out_sp[0]), merged=True)
        _gemm(wm, buf.reshape(1, groups, k_len, nb * p_len), res[None])
        out[b0 : b0 + nb] = res.reshape(groups, og, nb, p_len).transpose(2, 0, 1, 3)


def _gemm(wm: np.ndarray, cols: np.ndarray, out: np.ndarray) -> None:
    """``out[b, g] = wm[g] @ cols[b, g]``, as BLAS calls or, for tiny grouped kernels,
    as broadcasted multiply-adds. Inf * 0 = NaN is the direct sum's answer: no warning."""
    groups, _, k_len = wm.shape
    with np.errstate(invalid="ignore", over="ignore"):
        if groups > 1 and k_len <= _SMALL_GROUP_K:
            np.multiply(wm[None, :, :, 0, None], cols[:, :, None, 0, :], out=out)
            for k in range(1, k_len):
                out += wm[None, :, :, k, None] * cols[:, :, None, k, :]
        else:
            np.matmul(wm, cols, out=out)


def correlate_weight_grad(
    x: np.ndarray,
    y: np.ndarray,
    kernel: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """The gradient of :func:`correlate` with respect to its kernel: ``dw[o, c, k] =
    sum_{n, p} y[n, o, p] * x_padded[n, g(o) * cg + c, p * stride + k * dilation]``.

    ``x`` is ``(batch, channels, *spatial)`` and ``y`` ``(batch, out, *out_spatial)``, the
    output's shape for this kernel; the result is ``(out, channels // groups, *kernel)``.
    The im2col columns of a chunk of images (laid out image-major, as for small outputs) meet
    ``y`` in one GEMM per group that also sums over the images.
    """
    n, channels = x.shape[:2]
    n_out = y.shape[1]
    out_sp = y.shape[2:]
    cg, og = channels // groups, n_out // groups
    k_len = cg * math.prod(kernel)
    # accumulated transposed, (groups, k_len, og): OpenBLAS is several times faster with the
    # long contraction against the tall columns matrix than against the short output_grad one
    dwt = np.zeros((groups, k_len, og), dtype=x.dtype)
    if dwt.size == 0 or y.size == 0:
        return dwt.reshape((n_out, cg) + tuple(kernel))
    inner = math.prod(out_sp[1:])
    images, rows = im2col_plan(x.shape, kernel, out_sp, x.dtype.itemsize, reserved=y.nbytes // max(n, 1))
    padded = any(p != (0, 0) for p in pads)
    yv = y.reshape(n, groups, og, out_sp[0], inner)
    with np.errstate(invalid="ignore", over="ignore"):
        for b0 in range(0, n, images):
            nb = min(images, n - b0)
            for r0 in range(0, out_sp[0], rows):
                r1 = min(r0 + rows, out_sp[0])
                (buf,) = scratch([(channels, *kernel, nb, r1 - r0, *out_sp[1:])], x.dtype)
                if padded:
                    buf.fill(0)  # cells that read padding are never written: they must be zero
                _fill_cols(buf, x[b0 : b0 + nb], pads, strides, dilations, (r0, r1), merged=True)
                cols = buf.reshape(groups, k_len, nb * (r1 - r0) * inner)
                ys = yv[b0 : b0 + nb, :, :, r0:r1].transpose(1, 2, 0, 3, 4).reshape(groups, og, -1)
                dwt += np.matmul(cols, ys.transpose(0, 2, 1))
    return np.ascontiguousarray(dwt.transpose(0, 2, 1)).reshape((n_out, cg) + tuple(kernel))
