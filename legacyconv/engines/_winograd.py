"""Winograd's minimal filtering F(2x2, 3x3) for the numpy engine's stride-1 3x3 correlations
(Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016).

Each 2x2 tile of the output is ``A^T [(G g G^T) * (B^T d B)] A`` of the 4x4 input patch ``d``
under it: 16 multiply-adds per channel pair where the direct sum takes 36, so a layer whose
time is its GEMMs runs up to 2.25 times fewer flops. The 16 products of one tile position are
one GEMM over every tile, ``(K, C) @ (C, tiles)``; a grouped layer runs each group's own.

The transforms are flat-shifted NumPy passes, as the engine's shifted GEMMs are: the padded
input is split into its four (row, column) phases, each a ``(tile rows + 1, tile columns +
1)`` plane per channel, so that the patch's taps are the phase planes shifted by 0 or 1 row
or column -- contiguous slices of the flattened planes. The planes' last row and column are
junk after the shift; the GEMMs compute them (7% more columns on 56x56 outputs, 15% on
28x28) and the final copy into the output leaves them out.

Arithmetic. The result differs from the direct sum by rounding only (measured on (8, 256, 28,
28) * (256, 256, 3, 3) float32: largest error against float64 1.7e-4 at outputs up to 250,
the GEMM method's 1.0e-4). NaN and Inf do not land where the direct sum puts them (the
transforms mix a patch's cells), and the transforms could overflow where the direct sum does
not; so each block of images is checked first (its sum of squares must be finite and bound
every partial sum far below the dtype's largest value) and a block that fails is left to the
direct method: :func:`correlate` returns those blocks.
"""

from __future__ import annotations

import math

import numpy as np

from .._config import get_workspace_limit, scratch
from .._params import Pads, conv_out_size

__all__ = ["correlate", "plan", "transform_kernel"]

# Where F(2x2, 3x3) pays, measured on 2 shared AVX2 EPYC cores against the direct layouts,
# 12-21 alternating calls, float32 'half' (ms, direct -> F(2x2, 3x3)). With at least 64 input
# and output channels: (8, 256, 28, 28) * 256 51.5 -> 40.5, (4, 256, 56, 56) * 256 93.0 -> 68.1,
# (4, 512, 28, 28) * 512 92.2 -> 67.1, (8, 128, 28, 28) * 192 19.5 -> 17.6, (8, 256, 14, 14)
# * 256 13.8 -> 11.3, (16, 128, 14, 14) * 128 7.8 -> 6.5, (8, 64, 14, 14) * 64 1.65 -> 1.40,
# (8, 96, 14, 14) * 208 4.5-5.1 -> 4.4-4.9; (8, 64, 56, 56) * 64 about even (0.90 to 1.10 of the
# direct time in six runs: the transforms of large planes cost most of what the GEMMs save).
# Not with fewer channels, (8, 32, 56, 56) * 32 7.1 -> 7.4 to 11.4 by the block size; not on
# large images, whose planes leave the cache, (8, 64, 112, 112) * 64 61.5 -> 65.0 in whole
# images or strips of tile rows alike; and not where the GEMMs save too little per channel pair
# for the kernel transform (about 20 ns a pair) and the transforms: 9 multiply-adds per output
# less 16 per tile cell, over the batch, (2, 256, 14, 14) * 256 (1480) 3.5 -> 3.7 and (2, 512,
# 7, 7) * 512 (82) 6.1 -> 10.1, where (4, 512, 14, 14) * 512 (2960) 25.9 -> 21.8. The same
# rules per group for grouped layers: (32, 128, 28, 28) * 128 in 2 groups 45.6 -> 31.0, (8, 256,
# 28, 28) * 256 in 4 groups 22.1 -> 15.8, (16, 256, 14, 14) * 256 in 2 groups 16.9 -> 13.2,
# CaffeNet's conv5, (10, 384, 13, 13) * 256 in 2 groups, 14.2 -> 13.4, and its conv4, * 384,
# about even (18.4 -> 18.6).
# Nor where the tiles cover the output so loosely (odd sizes: a 7x7 output's phase planes hold
# 5x5 cells, 16 multiply-adds each per channel pair, 400 against the direct sum's 441) that
# F(2x2, 3x3)'s GEMMs keep more than _MAX_WORK_RATIO of the direct sum's multiply-adds:
# (64, 128, 7, 7) * (128, 128, 3, 3) 'half' took 13.9 ms, im2col 9.8 (while 14x14, 0.58 of
# them, (16, 128, 14, 14) * 128 6.8 against 8.5, and 10x10, 0.64, (8, 128, 10, 10) * 128 2.06
# against 2.04).
# On small images the transforms of few input channels cost more than the GEMMs save: with
# outputs of at most 14x14 (64 phase-plane cells an image) at least 192 input channels a group,
# up to 18x18 (100 cells) at least 128. Measured as above, batch 8, 'half', direct -> F(2x2,
# 3x3): 14x14, GoogLeNet's 3x3 layers 4a-4e, (96 -> 208) 4.61 -> 5.08, (112 -> 224) 5.57 ->
# 5.98, (128 -> 256) 6.98 -> 7.40, (144 -> 288) 8.47 -> 9.12, (160 -> 320) 10.31 -> 10.65, but
# (192 -> 192) 8.41 -> 7.90, (192 -> 384) 14.43 -> 14.02, (256 -> 256) 13.89 -> 12.54; 18x18,
# (64 -> 256) 5.81 -> 6.64, (96 -> 192) 7.08 -> 7.01, but (128 -> 256) 11.50 -> 10.98, (160 ->
# 320) 16.90 -> 15.37; 20x20 and up it paid from 96 channels, (96 -> 128) 6.97 -> 6.06.
_SMALL_IMAGE_MIN_CHANNELS = ((64, 192), (100, 128))
_MIN_CHANNELS = 64
_MAX_IMAGE_CELLS = 2048
_MIN_SAVED_PER_PAIR = 2048
_MAX_WORK_RATIO = 0.8
# A block of whole images spans at least this many cells of the phase planes: GEMM columns.
_BLOCK_CELLS = 512
# Every partial sum stays below the dtype's largest value over this factor: the bound from
# the block's sum of squares is loose by at most sqrt(cells), never tight.
_HEADROOM = 2.0**10
# The kernel transform runs over this many (output, input) channel pairs at a time.
_KERNEL_CHUNK = 4096
# F(2x2, 3x3)'s kernel transform G: a kernel g (3 x 3) becomes G g G^T (4 x 4), whose entries
# (row-major) are G kron G (16 x 9) times g's taps (row-major).
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
_G_KRON_G = np.kron(_G, _G)


def plan(
    x_shape: tuple[int, ...],
    kernel: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    n_out: int,
    groups: int,
    dtype: np.dtype,
) -> int | None:
    """Images per block for :func:`correlate`, or None where F(2x2, 3x3) does not apply (not a
    2-D stride-1 undilated 3x3 kernel in float32/64), would not pay (see ``_MIN_CHANNELS``, of
    each group, and ``_MAX_WORK_RATIO``), or where a block's work arrays would not fit the
    workspace limit (see also ``_SMALL_IMAGE_MIN_CHANNELS``). A grouped layer is one correlation
    per group, each with its own GEMMs."""
    if (
        len(x_shape) != 4
        or tuple(kernel) != (3, 3)
        or any(s != 1 for s in strides)
        or any(d != 1 for d in dilations)
        or np.dtype(dtype) not in (np.float32, np.float64)
    ):
        return None
    n, channels, height, width = x_shape
    channels, n_out = channels // groups, n_out // groups
    out_h, out_w = (conv_out_size(size, 3, pad, 1, 1) for size, pad in zip((height, width), pads))
    if min(channels, n_out) < _MIN_CHANNELS or n == 0 or out_h < 1 or out_w < 1:
        return None
    image_cells = ((out_h + 1) // 2 + 1) * ((out_w + 1) // 2 + 1)
    if image_cells > _MAX_IMAGE_CELLS or n * (9 * out_h * out_w - 16 * image_cells) < _MIN_SAVED_PER_PAIR:
        return None
    if 16 * image_cells > _MAX_WORK_RATIO * 9 * out_h * out_w:
        return None
    if any(image_cells <= cells and channels < least for cells, least in _SMALL_IMAGE_MIN_CHANNELS):
        return None
    images = min(n, -(-_BLOCK_CELLS // image_cells))
    # per input channel: 4 phase planes, 8 row-transformed, 16 transformed; per output channel:
    # 16 products, 8 row-transformed, 4 interleaved output planes; and the kernels
    needed = 28 * (channels + n_out) * images * image_cells + 16 * n_out * channels
    if needed * np.dtype(dtype).itemsize > get_workspace_limit():
        return None
    return images


def transform_kernel(w: np.ndarray) -> np.ndarray:
    """``U[4 * a + b] = (G w[k, c] G^T)[a, b]``: the ``(16, K, C)`` transformed kernels of the
    correlation kernels ``w`` ``(K, C, 3, 3)``, as one float64 product ``(G kron G) @ taps`` per
    chunk of channel pairs, rounded once to ``w``'s dtype (the entries of ``G kron G`` are 0,
    +-1/4, +-1/2 and 1: in float64 the sums of float32 taps are exact unless their exponents lie
    far apart)."""
    n_out, channels = w.shape[:2]
    u = np.empty((16, n_out * channels), dtype=w.dtype)
    taps = w.reshape(n_out * channels, 9)
    for p0 in range(0, taps.shape[0], _KERNEL_CHUNK):
        chunk = np.asarray(taps[p0 : p0 + _KERNEL_CHUNK], dtype=np.float64)
        u[:, p0 : p0 + len(chunk)] = _G_KRON_G @ chunk.T
    return u.reshape(16, n_out, channels)


def correlate(
    x: np.ndarray, w: np.ndarray, pads: Pads, out: np.ndarray, images: int, groups: int = 1
) -> list[tuple[int, int]]:
    """Write the cross-correlation of zero-padded ``x`` ``(N, C, H, W)`` with ``w`` ``(K, C //
    groups, 3, 3)`` into ``out`` ``(N, K, Ho, Wo)``, ``images`` images at a time (from
    :func:`plan`), group by group; return the ``(start, stop)`` images left for the direct
    method (non-finite or very large values, see the module doc), in order: in any group, so
    that the direct method computes every group of those images."""
    n, channels = x.shape[:2]
    cg, og = channels // groups, w.shape[0] // groups
    w_max = float(np.max(np.abs(w)))
    if not math.isfinite(w_max):
        return [(0, n)]
    # every partial sum of the transforms and GEMMs is at most 144 * C * max|x| * max|w|
    x_bound = float(np.finfo(x.dtype).max) / (_HEADROOM * 144.0 * cg * max(w_max, 1e-30))
    left: set[tuple[int, int]] = set()
    zeroed = 0  # the scratch phase planes hold the zero padding of blocks of this many images
    for g in range(groups):
        u = transform_kernel(w[g * og : (g + 1) * og])
        xg, outg = x[:, g * cg : (g + 1) * cg], out[:, g * og : (g + 1) * og]
        for b0 in range(0, n, images):
            m = min(images, n - b0)
            if (b0, b0 + m) in left:  # the direct method computes these images anyway
                continue
            if not _block(xg[b0 : b0 + m], u, pads, outg[b0 : b0 + m], x_bound, zero=m != zeroed):
                left.add((b0, b0 + m))
            zeroed = m
    return sorted(left)


def _block(x: np.ndarray, u: np.ndarray, pads: Pads, out: np.ndarray, x_bound: float, zero: bool) -> bool:
    """One block of images ``x`` into ``out``; False, with nothing written, where the block's
    values fail the bound. ``zero``: the scratch phase planes do not hold this block shape's
    zero padding yet (the last call had another number of images)."""
    m, channels = x.shape[:2]
    n_out = u.shape[1]
    rows, cols = (out.shape[2] + 1) // 2 + 1, (out.shape[3] + 1) // 2 + 1
    per_channel = m * rows * cols
    size, size_out = channels * per_channel, n_out * per_channel
    phases, row_t, v, prod, row_o, inter = scratch(
        [(4, size), (8, size), (16, size), (16, size_out), (8, size_out), (2, 2 * size_out)], x.dtype
    )
    if zero:  # cells never written (padding) must be zero
        phases.fill(0)
    _split(phases.reshape(2, 2, channels, m, rows, cols), x, pads)
    with np.errstate(over="ignore", invalid="ignore"):  # Inf or NaN: the block is refused
        ss = float(np.dot(phases.reshape(-1), phases.reshape(-1)))
    if not (math.isfinite(ss) and math.sqrt(ss) < x_bound):
        return False
    _input_transform(phases, row_t, v, cols)
    with np.errstate(all="ignore"):
        np.matmul(u, v.reshape(16, channels, per_channel), out=prod.reshape(16, n_out, per_channel))
        _output_transform(prod, row_o, inter, out, rows, cols)
    return True


def _split(dst: np.ndarray, x: np.ndarray, pads: Pads) -> None:
    """``dst[pr, pc, c, i, y, z] = padded x[i, c, 2y + pr, 2z + pc]`` where that cell holds an
    input value; the padding cells of ``dst`` are left as they are (zero)."""
    (top, _), (left, _) = pads
    height, width = x.shape[2:]
    for pr in range(2):
        y0 = max(0, -((pr - top) // 2))  # the first phase row on an input row
        r0 = 2 * y0 + pr - top
        ny = len(range(r0, height, 2))
        for pc in range(2):
            z0 = max(0, -((pc - left) // 2))
            c0 = 2 * z0 + pc - left
            nz = len(range(c0, width, 2))
            if ny and nz:
                dst[pr, pc, :, :, y0 : y0 + ny, z0 : z0 + nz] = x[:, :, r0::2, c0::2].transpose(1, 0, 2, 3)


def _input_transform(phases: np.ndarray, row_t: np.ndarray, v: np.ndarray, cols: int) -> None:
    """``v[4a + b] = (B^T d B)[a, b]`` of every patch ``d``, flat over the phase planes. First
    the rows, ``row_t[a, pc] = (B^T d)[a]`` for both column phases at once: taps 0 and 2 of a
    patch's rows are the even phase rows at shifts of 0 and 1 plane row, taps 1 and 3 the odd
    ones; then the columns the same way at shifts of one cell, for every ``a`` at once. Cells
    past the last shift are zeroed (junk: never read into a kept output, but stale scratch
    could hold NaN or subnormals)."""
    size = phases.shape[1]
    q = phases.reshape(2, 2, size)
    r = row_t.reshape(4, 2, size)
    n = size - cols
    _taps(q[0, :, :n], q[0, :, cols:], q[1, :, :n], q[1, :, cols:], r[:, :, :n])
    k = n - 1
    v4 = v.reshape(4, 4, size).transpose(1, 0, 2)  # [b, a]
    _taps(r[:, 0, :k], r[:, 0, 1 : k + 1], r[:, 1, :k], r[:, 1, 1 : k + 1], v4[:, :, :k])
    v[:, k:] = 0


def _taps(e0: np.ndarray, e1: np.ndarray, o0: np.ndarray, o1: np.ndarray, dst: np.ndarray) -> None:
    """``dst[0..3] = B^T [e0, o0, e1, o1]``, the patch taps 0..3 being the even and odd phases
    at shifts 0 and 1: ``d0 - d2, d1 + d2, d2 - d1, d1 - d3``."""
    np.subtract(e0, e1, out=dst[0])
    np.add(o0, e1, out=dst[1])
    np.subtract(e1, o0, out=dst[2])
    np.subtract(o0, o1, out=dst[3])


def _output_transform(
    prod: np.ndarray, row_o: np.ndarray, inter: np.ndarray, out: np.ndarray, rows: int, cols: int
) -> None:
    """``out[:, k, 2y + i, 2z + j] = (A^T M A)[i, j]`` of the products ``M`` of every tile: the
    rows into ``row_o``, then the columns, interleaved (``inter[i]`` holds output rows ``2y +
    i`` whole), then one copy of each row phase into ``out`` (cropped: the tiles' junk row and
    column, and a last row or column past the output's end)."""
    m, n_out, out_h, out_w = out.shape
    m4 = prod.reshape(4, 4, -1)
    s = row_o.reshape(2, 4, -1)
    np.add(m4[0], m4[1], out=s[0])
    s[0] += m4[2]
    np.subtract(m4[1], m4[2], out=s[1])
    s[1] -= m4[3]
    dst = out.transpose(1, 0, 2, 3)
    for i in range(2):
        t = s[i]
        pairs = inter[i].reshape(-1, 2)
        t[0] += t[1]
        np.add(t[0], t[2], out=pairs[:, 0])
        t[1] -= t[2]
        np.subtract(t[1], t[3], out=pairs[:, 1])
        grid = inter[i].reshape(n_out, m, rows, 2 * cols)
        dst[:, :, i::2, :] = grid[:, :, : len(range(i, out_h, 2)), :out_w]
