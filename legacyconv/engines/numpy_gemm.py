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

from .._config import get_workspace_limit
from .._params import Pads, conv_out_size

__all__ = ["axis_range", "correlate", "im2col_plan", "winograd_applies"]

# Below this many multiply-adds per output element and with several groups, one small
# GEMM per group costs more in call overhead than K broadcasted multiply-adds.
_SMALL_GROUP_K = 32


def axis_range(
    o_start: int, o_stop: int, size: int, offset: int, stride: int
) -> tuple[int, int, slice]:
    """Output indices ``[lo, hi)`` within ``[o_start, o_stop)`` whose input index
    ``o * stride + offset`` falls inside ``[0, size)``, and the matching input slice."""
    lo = max(o_start, -(offset // stride))  # ceil(-offset / stride)
    hi = min(o_stop, (size - 1 - offset) // stride + 1)
    if hi <= lo:
        return lo, lo, slice(0, 0)
    first = lo * stride + offset
    return lo, hi, slice(first, first + (hi - lo - 1) * stride + 1, stride)


def im2col_plan(
    x_shape: tuple[int, ...], kernel: tuple[int, ...], out_sp: tuple[int, ...], itemsize: int
) -> tuple[int, int]:
    """Return ``(images per chunk, leading output rows per chunk)`` so that one chunk's
    im2col buffer stays under the workspace limit."""
    channels = x_shape[1]
    per_row = channels * math.prod(kernel) * math.prod(out_sp[1:]) * itemsize
    per_image = per_row * out_sp[0]
    limit = get_workspace_limit()
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
) -> None:
    """Write the im2col columns of ``x`` for output rows ``rows`` of the first spatial axis
    into ``buf`` of shape ``(n, C, *kernel, rows, *out_sp[1:])``. Cells that read padding are
    left as they are: the caller keeps them zero."""
    kernel = buf.shape[2 : 2 + len(pads)]
    out_sp = buf.shape[2 + len(pads) :]
    spatial = x.shape[2:]
    for offsets in itertools.product(*(range(k) for k in kernel)):
        dst: list[slice | int] = [slice(None), slice(None), *offsets]
        src: list[slice] = [slice(None), slice(None)]
        for axis, k in enumerate(offsets):
            start, stop = (rows if axis == 0 else (0, out_sp[axis]))
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
        conv_out_size(s, k, p, st, d)
        for s, k, p, st, d in zip(x.shape[2:], kernel, pads, strides, dilations)
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

    if winograd_applies(x, w, strides, dilations, groups, out_sp):
        for b0, b1 in _winograd_chunks(x.shape, n_out, out_sp, x.dtype.itemsize):
            _winograd_3x3(x[b0:b1], w, pads, out_sp, out[b0:b1].reshape((b1 - b0, n_out) + out_sp))
        return out.reshape((n, n_out) + out_sp)

    pointwise = all(k == 1 for k in kernel) and all(s == 1 for s in strides)
    if pointwise and all(p == (0, 0) for p in pads) and x.flags.c_contiguous:
        # A 1x1 stride-1 convolution is the GEMM itself: no workspace at all.
        _gemm(wm, x.reshape(n, groups, cg, p_len), out)
        return out.reshape((n, n_out) + out_sp)

    images, rows = im2col_plan(x.shape, kernel, out_sp, x.dtype.itemsize)
    inner = math.prod(out_sp[1:])
    buf = np.zeros((images, channels, *kernel, rows, *out_sp[1:]), dtype=x.dtype)
    row_chunks = [(r, min(r + rows, out_sp[0])) for r in range(0, out_sp[0], rows)]
    padded = any(p != (0, 0) for p in pads)
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


# Winograd F(2x2, 3x3) (Lavin & Gray, 2016): 16 multiplications per 2x2 output tile instead
# of 36, as 16 GEMMs of (out, in) @ (in, tiles). Transforms are additions over whole arrays.
_WINOGRAD_MIN_CHANNELS = 16
_G = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))


def winograd_applies(
    x: np.ndarray,
    w: np.ndarray,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
    out_sp: tuple[int, ...],
) -> bool:
    """True where the Winograd path is used: 2-d 3x3 kernels, stride 1, no dilation, one
    group, enough channels for the GEMMs to dominate, and finite data (the tile transforms
    subtract values, so an Inf would become NaN where the direct sum gives Inf)."""
    return (
        w.shape[2:] == (3, 3)
        and strides == (1, 1)
        and dilations == (1, 1)
        and groups == 1
        and min(x.shape[1], w.shape[0]) >= _WINOGRAD_MIN_CHANNELS
        and min(out_sp) >= 4
        and bool(np.isfinite(w).all())
        and bool(np.isfinite(x).all())
    )


def _winograd_chunks(
    x_shape: tuple[int, ...], n_out: int, out_sp: tuple[int, ...], itemsize: int
) -> list[tuple[int, int]]:
    tiles = -(-out_sp[0] // 2) * -(-out_sp[1] // 2)
    # padded copy + transformed input + 4 row temporaries, GEMM result + 2 output temporaries
    per_image = tiles * itemsize * (x_shape[1] * (4 + 16 + 4) + n_out * (16 + 2))
    images = max(1, min(x_shape[0], get_workspace_limit() // max(per_image, 1)))
    return [(b, min(b + images, x_shape[0])) for b in range(0, x_shape[0], images)]


def _winograd_3x3(
    x: np.ndarray, w: np.ndarray, pads: Pads, out_sp: tuple[int, ...], out: np.ndarray
) -> None:
    n, channels, height, width = x.shape
    n_out = w.shape[0]
    (top, _), (left, _) = pads
    th, tw = -(-out_sp[0] // 2), -(-out_sp[1] // 2)
    xp = np.zeros((channels, n, 2 * th + 2, 2 * tw + 2), x.dtype)
    rows = min(height, xp.shape[2] - top)
    cols = min(width, xp.shape[3] - left)
    xp[:, :, top : top + rows, left : left + cols] = x[:, :, :rows, :cols].transpose(1, 0, 2, 3)
    d = [[xp[:, :, i : i + 2 * th : 2, j : j + 2 * tw : 2] for j in range(4)] for i in range(4)]
    v = np.empty((4, 4, channels, n, th, tw), x.dtype)
    for j in range(4):  # B^T d: rows
        col = (d[0][j] - d[2][j], d[1][j] + d[2][j], d[2][j] - d[1][j], d[1][j] - d[3][j])
        for r in range(4):
            v[r, j] = col[r]
    for r in range(4):  # (B^T d) B: columns, in place
        t0, t1, t2, t3 = (v[r, j].copy() for j in range(4))
        np.subtract(t0, t2, out=v[r, 0])
        np.add(t1, t2, out=v[r, 1])
        np.subtract(t2, t1, out=v[r, 2])
        np.subtract(t1, t3, out=v[r, 3])
    g = np.asarray(_G, dtype=x.dtype)
    u = np.einsum("ik,ockl,jl->ijoc", g, w, g).reshape(16, n_out, channels)
    m = np.matmul(u, v.reshape(16, channels, n * th * tw)).reshape(4, 4, n_out, n, th, tw)
    oh, ow = out_sp
    for a, s in enumerate(
        ([m[0, j] + m[1, j] + m[2, j] for j in range(4)], [m[1, j] - m[2, j] - m[3, j] for j in range(4)])
    ):
        for b, y in enumerate((s[0] + s[1] + s[2], s[1] - s[2] - s[3])):
            rows_b = len(range(a, oh, 2))
            cols_b = len(range(b, ow, 2))
            out[:, :, a::2, b::2] = y[:, :, :rows_b, :cols_b].transpose(1, 0, 2, 3)
