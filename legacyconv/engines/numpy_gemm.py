"""The numpy engine: convolutions as BLAS GEMMs -- for 3x3 stride-1 layers with many channels,
Winograd's F(2x2, 3x3) (:mod:`._winograd`, the direct method below where it does not pay
or where a block's values are not finite) -- over flat-shifted views of the padded input
(stride 1: images side by side, :func:`_correlate_shifted`; whole output rows written into
the result, :func:`_correlate_rows`; or, for small images, the channels as the last axis and
each position's taps in one GEMM row, :func:`_correlate_channels_last`) or over im2col columns
built by kernel-offset slab copies (strides, and layers where the cost model
:func:`_cheapest_layout` says so; strided copies read a phase split of the input,
:func:`_split_phases`, where the kernel has several taps per stride cell; an unpadded input
read directly is copied as one strided view, :func:`_column_view`).

It implements every op of the engine contract (:data:`legacyconv.engines.OPS`) over validated
arguments in the compute dtype; kernels arrive as *correlation* kernels (the public ops apply
``filter_flip``):

- :func:`correlate` — ``x`` ``(batch, channels, *spatial)`` with ``w`` ``(out, channels //
  groups, *kernel)``: the N-d cross-correlation of the zero-padded input;
- :func:`correlate_input_grad` — its gradient wrt ``x`` (by output phases; Theano's transposed conv);
- :func:`correlate_weight_grad` — its gradient wrt ``w``;
- :func:`pool2d` — Theano's pooling of the last two axes by a :class:`PoolPlan`;
- :func:`separable_matmul` — a matrix on each axis of every plane (bilinear upsampling).

Pure NumPy: no other framework is called.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from .._config import get_workspace_limit, scratch
from .._params import Pads, conv_out_size
from .._pool_plan import PoolAxis, PoolPlan, accumulator_dtype, finish_pool, first_cell_nan, pool_divisors
from .._threads import num_threads, parallel_blocks
from . import _winograd
from ._by_correlation import input_grad_by_correlation

__all__ = [
    "axis_range",
    "correlate",
    "correlate_input_grad",
    "correlate_weight_grad",
    "im2col_plan",
    "pool2d",
    "separable_matmul",
]

#: This engine's arithmetic is Theano's im2col / col2im, the reference for NaN and Inf; not so
#: :func:`separable_matmul`, a dense product (``bilinear_upsampling`` of non-finite data takes
#: Theano's transposed convolutions instead).
NON_FINITE_EXACT = ("correlate", "correlate_input_grad", "correlate_weight_grad", "pool2d")

# Below this many multiply-adds per output element and with several groups, one small
# GEMM per group costs more in call overhead than K broadcasted multiply-adds.
_SMALL_GROUP_K = 32
# Below this many output pixels per image, the columns of several images share one GEMM.
_MERGE_BELOW = 256
# ... and below this many with at least _MERGE_MIN_K multiply-adds per output: one large GEMM
# instead of one per image keeps the BLAS threads from stalling when the cores are shared
# (measured on 2 shared cores: (8, 64, 56, 56) * (64, 64, 3, 3) 140-241 -> 57-60 ms, AlexNet
# conv1 350-533 -> 75-142 ms, a (16, 64, 1024) 1-D conv 8.2 -> 3.8 ms); with a short
# contraction (LeNet's conv1, 25) the wide merged GEMM is the slower one (1.5-2.4 -> 29 ms).
_MERGE_BELOW_LARGE_K = 4096
_MERGE_MIN_K = 128
# ... in chunks of images whose columns and results take at most _MERGED_CHUNK_BYTES, where
# that still leaves at least _MERGED_CHUNK_MIN_IMAGES images a chunk: the GEMM then reads columns
# the copies left in the cache (measured on 2 shared AVX2 EPYC cores, alternating, ms, whole
# batch -> 16 MiB chunks: (16, 64, 56, 56) * (128, 64, 3, 3) s2 'half' 19.9 -> 16.4, (8, 32, 64,
# 64) * (64, 32, 5, 5) s2 pad 2 11.0 -> 9.1, (32, 128, 28, 28) * (256, 128, 3, 3) s2 'half' 30.9
# -> 27.6, (16, 96, 27, 27) * (256, 96, 5, 5) s2 pad 2 29.3 -> 27.5; AlexNet's conv1, (16, 3,
# 227, 227) * (96, 3, 11, 11) s4, 6.2 MB of columns, results and phases an image, 31.3 -> 33.4
# in chunks of 3)
_MERGED_CHUNK_BYTES = 16 * 2**20
_MERGED_CHUNK_MIN_IMAGES = 4
# Stride-1 convolutions may compute on the padded grid by flat-shifted GEMMs (_correlate_shifted);
# the last kernel axes are folded into the contraction until it is at least
# _SHIFTED_MIN_K long; GEMM results are accumulated over blocks of this many columns, which
# stay in cache (measured on 2 shared cores, Zen 5: (8, 64, 56, 56) * (64, 64, 3, 3) 'half'
# 11.2 -> 8.5 ms, (4, 8, 128, 128) * (8, 8, 15, 15) 'full' 85 -> 29 ms)
_SHIFTED_MIN_K = 96
# The cost model choosing between them (_cheapest_layout), in multiply-adds of a GEMM: a cell
# copied costs about 75 of them, one accumulated in cache 25 (fitted to measurements on 2
# shared cores, Zen 5, between im2col and the image-major layout: the model picked the faster
# method on 7 of 8 layers, and on the 8th, LeNet's (64, 20, 12, 12) * (50, 20, 5, 5), im2col
# at 3.1 ms against 2.5 ms)
_COPY_COST = 75
_ADD_COST = 25
# the channels-last layout (_correlate_channels_last) transposes its input and output: a cell
# transposed costs about this many copies (fitted to the batch-last layout it replaced, which
# made the same copies: on 2 shared AVX2 EPYC cores the model then picked the fastest layout
# or one within 8% of it on 8 of 9 stride-1 layers from 2 to 272 ms)
_TRANSPOSE_COST = 2
# ... and with folded kernel axes on small images, a padded grid of at most _SMALL_GRID cells,
# a fraction of that: there its input transpose gathers from nearby cells and its GEMMs,
# (positions, taps * C) @ (taps * C, out), ran faster than the other layouts' (out, taps * C) @
# (taps * C, positions) while ``out`` is small: _SMALL_GRID_SAVING lists (most outputs, fraction).
# Measured on 2 shared AVX2 EPYC cores, alternating, ms, against the batch-last layout it
# replaced: LeNet's (64, 20, 12, 12) * (50, 20, 5, 5) 2.17 -> 1.98, (32, 32, 16, 16) * (64, 32,
# 5, 5) 4.60 -> 3.75, (128, 32, 8, 8) * (64, 32, 3, 3) 'half' 4.62 -> 2.91, (32, 64, 14, 14) *
# (64, 64, 3, 3) 'half' 4.42 -> 3.84, (32, 80, 10, 10) * (96, 80, 3, 3) 'half' 3.48 -> 3.22; and
# against im2col, with every kernel axis folded: (64, 16, 14, 14) * (32, 16, 3, 3) 1.62 -> 1.28,
# (64, 20, 12, 12) * (50, 20, 3, 3) 1.92 -> 1.37, (32, 24, 10, 10) * (48, 24, 3, 3) 'half' 1.03 ->
# 0.75, (64, 6, 14, 14) * (120, 6, 5, 5) 2.34 -> 2.17. Not with more outputs: (32, 16, 12, 12) *
# (128, 16, 3, 3) 'half' 1.58 -> 2.07, (8, 64, 18, 18) * (256, 64, 3, 3) 'half' 5.37 -> 6.14; nor
# on larger grids: (8, 32, 28, 28) * (96, 32, 5, 5) 'half' 7.27 -> 7.13 against batch-last,
# (8, 64, 30, 30) * (128, 64, 3, 3) 6.60 -> 7.29. These small layers also take it before
# F(2x2, 3x3) (see correlate).
_SMALL_GRID = 400
_SMALL_GRID_SAVING = ((64, 0.65), (128, 0.75))
_SHIFTED_BLOCK = 4096
# the row layout (_correlate_rows) runs one image's GEMMs at a time: where one lead offset's
# GEMM on one image has at least this many multiply-adds (measured on 2 shared AVX2 EPYC
# cores, against the best other layout: (8, 256, 28, 28) * (256, 256, 3, 3) 'half', 154 M,
# 76 ms against 85; (8, 64, 56, 56) * (64, 64, 3, 3), 39 M, 28.4 against 29.3; below it,
# (8, 32, 28, 28) * (96, 32, 5, 5), 12 M, 16.8 against 14.9, and (32, 64, 14, 14) *
# (64, 64, 3, 3), 2.4 M, 14.7 against 11.8); and not on images of fewer than _MERGE_BELOW outputs,
# whose one-image GEMMs are too narrow: (8, 512, 7, 7) * (512, 512, 3, 3) 'half', 39 M, took
# 17.5 ms, im2col's GEMM over the whole batch 12.6, and with 16 images 33.0 against 24.3)
_ROWS_MIN_GEMM = 2**25
# ... and zeroes the cells of its copies that read padding as strips where a row has at most
# this many (a 3x3 'half' convolution's one), else by a memset of the whole copy first
# (measured on (4, 8, 128, 128) * (8, 8, 15, 15) 'full': 18 + 17 -> 14 + 10 ms)
_ROWS_STRIP_CELLS = 2
# pool2d pools a block of planes of about this many input bytes at a time, its two work arrays
# as large (measured on 2 shared cores against tf.nn pooling in one run, ms: (32, 64, 56, 56) 2x2
# max with 0.5 / 1 / 2 MiB blocks 3.7-4.0 / 3.2-3.6 / 3.1-3.5 vs TF 2.4-3.2; 3x3 s2 average
# 5.3-5.8 / 4.8-6.0 / 4.5-5.0 vs TF 2.3-3.7): the per-block Python costs more than the L2 misses
_POOL_BLOCK_BYTES = 2**21
# correlate_input_grad by phases: chunks of about this many bytes (columns, shifted copies,
# grids), so that the adds read the columns from the L3 cache the GEMM left them in, in few GEMMs
# (measured on 2 shared cores: 8 and 32 MiB alike on a quiet machine; when another process held
# a core each OpenBLAS call cost ~15 ms, conv2d_transpose (8,64,28,28) k4 s2 60 -> 26 ms); only
# when padding the middle axes (3-D) makes the grid at most this much larger than the top
_PHASE_CHUNK_BYTES = 32 * 2**20
_PHASE_MAX_GROWTH = 2.0
# Strided im2col copies read their taps from a phase split of the input (phase p of a stride-s
# axis: the cells p, p + s, p + 2s, ...; one strided copy of the input, :func:`_split_phases`)
# where the kernel has at least _SPLIT_MIN_TAPS_PER_PHASE taps per stride cell and the output
# rows are at least _SPLIT_MIN_ROW cells long: each tap's copy then runs over contiguous rows
# instead of gathering one cell in s. With at least _SPLIT_ALL_TAPS_PER_PHASE taps per cell
# every axis is split, so that a tap reads a compact block of its phase; with fewer, only the
# last axis, whose split costs less (whole rows of phases, not phases of short rows) while its
# taps read rows s apart. Measured on 2 shared AVX2 EPYC cores, 12 alternating calls, whole
# layer in ms, direct copies / last axis split / every axis split (taps per stride cell):
#   AlexNet conv1 (16, 3, 227, 227) * (96, 3, 11, 11) s4, rows of 55 (7.6): 82.8 / 81.6 / 70.2
#   (8, 3, 224, 224) * (64, 3, 7, 7) s2 pad 3, rows of 112 (12.25): 71.5 / 68.8 / 49.5
#   (8, 32, 64, 64) * (64, 32, 5, 5) s2 'half', rows of 32 (6.25): 28.1 / 24.6 / 27.1
#   (16, 64, 56, 56) * (128, 64, 3, 3) s2 'half', rows of 28 (2.25): 57.0 / 53.5 / 55.5
#   shorter rows lose both ways: (32, 32, 32, 32) * 5x5 s2 (16) 29.6 / 30.6 / 34.1, (16, 64,
#   40, 40) * 3x3 s2 (20) 24.1 / 30.2 / 28.5, (32, 64, 28, 28) * 3x3 s2 (14) 29.8 / 36.8 / 31.7.
# A 2x2 stride-2 kernel reads every cell once either way.
_SPLIT_MIN_TAPS_PER_PHASE = 2
_SPLIT_ALL_TAPS_PER_PHASE = 7
_SPLIT_MIN_ROW = 24


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
    strides: tuple[int, ...] | None = None,
) -> tuple[int, int]:
    """Return ``(images per chunk, leading output rows per chunk)`` so that one chunk's
    im2col buffer plus ``reserved`` bytes (the kernel copy) stays under the workspace limit;
    with ``strides``, whole images also hold their phase split where :func:`_phase_shape`
    asks for one (a chunk of rows reads ``x`` directly)."""
    channels = x_shape[1]
    per_row = channels * math.prod(kernel) * math.prod(out_sp[1:]) * itemsize
    per_image = per_row * out_sp[0]
    split = None if strides is None else _phase_shape(x_shape, kernel, out_sp, strides, 1)
    per_image += 0 if split is None else math.prod(split) * itemsize
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
    phases: np.ndarray | None = None,
) -> None:
    """Write the im2col columns of ``x`` for output rows ``rows`` of the first spatial axis
    into ``buf`` of shape ``(n, C, *kernel, rows, *out_sp[1:])``, or, ``merged``, of shape
    ``(C, *kernel, n, rows, *out_sp[1:])``. Cells that read padding are left as they are:
    the caller keeps them zero. Given ``phases``, a work array of :func:`_phase_shape`'s
    shape, ``x`` is first split into it (:func:`_split_phases`) and the taps are read from it:
    along a split axis, output ``o`` of tap offset ``q = k * dilation - pad`` reads cell
    ``o * s + q``, cell ``o + q // s`` of phase ``q % s``.

    The copies run on one core, on purpose: right after a GEMM, OpenBLAS's worker threads
    keep spinning for about 0.1 s, and copies shared out over the same cores then ran several
    times slower (measured on 2 cores: (8, 64, 56, 56) * (64, 64, 3, 3) 'half' 9.3 ms with
    one thread, 17-47 ms with two)."""
    nd = len(pads)
    kernel = buf.shape[1 : 1 + nd] if merged else buf.shape[2 : 2 + nd]
    out_sp = buf.shape[2 + nd :]
    if phases is None and not any(any(p) for p in pads):
        # no tap is clipped: the columns are one strided view of x, copied in one call rather
        # than one per kernel offset (measured on 2 shared Zen 3 cores, one process, alternating,
        # ms: (64, 1, 28, 28) * (20, 1, 5, 5) 1.21 -> 1.10, (16, 3, 32, 32) * (32, 3, 5, 5)
        # 2.16 -> 1.75, strided layers with rows too short to split 0.96-0.98 of before)
        np.copyto(buf, _column_view(x, kernel, out_sp, strides, dilations, rows[0], merged))
        return
    spatial = x.shape[2:]
    source = x if phases is None else phases
    first_split = nd if phases is None else 2 * nd + 2 - phases.ndim  # (n, C, *whole, *p, *split)
    if phases is not None:
        _split_phases(phases, x, strides[first_split:])
    if merged:
        source = source.swapaxes(0, 1)
    for offsets_ in itertools.product(*(range(k) for k in kernel)):
        dst: list[slice | int] = (
            [slice(None), *offsets_, slice(None)] if merged else [slice(None), slice(None), *offsets_]
        )
        src: list[slice] = []
        phase: list[int] = []
        for axis, k in enumerate(offsets_):
            start, stop = rows if axis == 0 else (0, out_sp[axis])
            shift = start if axis == 0 else 0
            q, s = k * dilations[axis] - pads[axis][0], strides[axis]
            if axis < first_split:
                lo, hi, sl = axis_range(start, stop, spatial[axis], q, s)
            else:
                phase.append(q % s)
                lo, hi, sl = axis_range(start, stop, len(range(q % s, spatial[axis], s)), q // s, 1)
            if hi <= lo:
                break
            dst.append(slice(lo - shift, hi - shift))
            src.append(sl)
        else:
            whole, split = src[:first_split], src[first_split:]
            index: tuple[int | slice, ...] = (slice(None), slice(None), *whole, *phase, *split)
            buf[tuple(dst)] = source[index]


def _column_view(
    x: np.ndarray,
    kernel: tuple[int, ...],
    out_sp: tuple[int, ...],
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    first_row: int,
    merged: bool,
) -> np.ndarray:
    """The im2col columns of the unpadded ``x`` ``(n, C, *spatial)`` for ``out_sp`` outputs
    from output row ``first_row`` on, as a read-only strided view ``(n, C, *kernel, *out_sp)``,
    or, ``merged``, ``(C, *kernel, n, *out_sp)``: element ``[b, c, *k, *o]`` is
    ``x[b, c, *(o * stride + k * dilation)]`` (first axis: ``o + first_row``)."""
    nd = len(kernel)
    base = x[:, :, first_row * strides[0] :]
    reach = [(o - 1) * s + (k - 1) * d + 1 for o, s, k, d in zip(out_sp, strides, kernel, dilations)]
    if any(r > size for r, size in zip(reach, base.shape[2:])):  # the view must stay inside x
        raise ValueError(f"im2col columns reach {reach} cells past output row {first_row}; x has {x.shape}")
    axis_strides = x.strides[2:]
    view = np.lib.stride_tricks.as_strided(
        base,
        shape=(*x.shape[:2], *kernel, *out_sp),
        strides=(
            *x.strides[:2],
            *(st * d for st, d in zip(axis_strides, dilations)),
            *(st * s for st, s in zip(axis_strides, strides)),
        ),
        writeable=False,
    )
    return np.moveaxis(view, 0, 1 + nd) if merged else view


def _phase_shape(
    x_shape: tuple[int, ...],
    kernel: tuple[int, ...],
    out_sp: tuple[int, ...],
    strides: tuple[int, ...],
    images: int,
) -> tuple[int, ...] | None:
    """The shape of the phase split (:func:`_split_phases`) of ``images`` images of ``x_shape``
    that strided im2col copies read: ``(images, C, *whole axes, *strides of the split axes,
    *ceil(split axes / strides))``, every axis split or the last alone (see
    ``_SPLIT_ALL_TAPS_PER_PHASE``); or None where the direct copies cost no more: a last
    stride of 1 (their rows are contiguous already), fewer than ``_SPLIT_MIN_TAPS_PER_PHASE``
    kernel taps per stride cell, or output rows shorter than ``_SPLIT_MIN_ROW``."""
    taps = math.prod(kernel) / math.prod(strides)
    if strides[-1] == 1 or taps < _SPLIT_MIN_TAPS_PER_PHASE or out_sp[-1] < _SPLIT_MIN_ROW:
        return None
    spatial = x_shape[2:]
    whole = 0 if taps >= _SPLIT_ALL_TAPS_PER_PHASE else len(spatial) - 1
    split = range(whole, len(spatial))
    return (
        images,
        x_shape[1],
        *spatial[:whole],
        *(strides[a] for a in split),
        *(-(-spatial[a] // strides[a]) for a in split),
    )


def _split_phases(dst: np.ndarray, x: np.ndarray, strides: tuple[int, ...]) -> None:
    """``dst[:, :, *whole, *p, *i] = x[:, :, *whole, *(p + i * strides)]`` for every phase
    ``p`` of the split axes, the last ``len(strides)`` of ``x`` (``dst`` from
    :func:`_phase_shape`): one strided copy of ``x``. A phase shorter than ``dst``'s axis
    leaves its last cell unwritten (no tap reads it)."""
    whole = (slice(None),) * (x.ndim - len(strides))
    for p in itertools.product(*(range(s) for s in strides)):
        src = x[whole + tuple(slice(o, None, s) for o, s in zip(p, strides))]
        cells: tuple[int | slice, ...] = (*whole, *p, *(slice(0, m) for m in src.shape[len(whole) :]))
        dst[cells] = src


def correlate(
    x: np.ndarray,
    w: np.ndarray,
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """N-d grouped cross-correlation of zero-padded ``x`` with ``w`` (see the module doc)."""
    n = x.shape[0]
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

    images = _winograd.plan(x.shape, kernel, pads, strides, dilations, n_out, groups, x.dtype)
    if images is not None and not _channels_last_first(
        x.shape, x.dtype.itemsize, kernel, pads, strides, dilations, n_out, groups
    ):
        out4 = out.reshape((n, n_out) + out_sp)
        for b0, b1 in _winograd.correlate(x, w, pads, out4, images, groups):
            _correlate_direct(x[b0:b1], wm, kernel, pads, strides, dilations, out_sp, out[b0:b1])
        return out4
    return _correlate_direct(x, wm, kernel, pads, strides, dilations, out_sp, out)


def _channels_last_first(
    x_shape: tuple[int, ...],
    itemsize: int,
    kernel: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    n_out: int,
    groups: int,
) -> bool:
    """Whether the direct method takes the channels-last layout at its small-grid cost, which
    then runs before F(2x2, 3x3) too (measured on 2 shared AVX2 EPYC cores, alternating, ms,
    F(2x2, 3x3) -> channels-last: (32, 64, 14, 14) * (64, 64, 3, 3) 'half' 4.58 -> 3.84,
    (32, 64, 8, 8) * (128, 64, 3, 3) 'half' 3.11 -> 2.35, (16, 64, 16, 16) * (64, 64, 3, 3)
    'half' 2.85 -> 2.60, (32, 80, 10, 10) * (96, 80, 3, 3) 'half' 3.88 -> 3.22)."""
    plan = _shifted_plan(x_shape, itemsize, kernel, pads, strides, dilations, n_out, groups)
    grid = tuple(s + lo + hi for s, (lo, hi) in zip(x_shape[2:], pads))
    return (
        plan is not None
        and plan[0] == "channels"
        and _small_grid_saving(plan[1], grid, groups, n_out // groups) < 1
    )


def _correlate_direct(
    x: np.ndarray,
    wm: np.ndarray,
    kernel: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    out_sp: tuple[int, ...],
    out: np.ndarray,
) -> np.ndarray:
    """:func:`correlate` by GEMMs over the input itself (shifted views or im2col columns) of the
    kernels ``wm`` ``(groups, out // groups, contraction)``, into ``out`` ``(batch, groups,
    out // groups, outputs)``; returns it reshaped to ``(batch, out, *out_sp)``."""
    n, channels = x.shape[:2]
    groups, og, k_len = wm.shape
    n_out = groups * og
    p_len = math.prod(out_sp)
    plan = _shifted_plan(x.shape, x.dtype.itemsize, kernel, pads, strides, dilations, n_out, groups)
    if plan is not None:
        layout, folded, images = plan
        run = {
            "images": _correlate_shifted,
            "rows": _correlate_rows,
            "channels": _correlate_channels_last,
        }[layout]
        run(x, wm, kernel, pads, dilations, out_sp, out, folded, images)
        return out.reshape((n, n_out) + out_sp)

    merge = p_len < _MERGE_BELOW or (p_len < _MERGE_BELOW_LARGE_K and k_len >= _MERGE_MIN_K)
    if merge and not (groups > 1 and k_len <= _SMALL_GROUP_K):
        _correlate_merged(x, wm, kernel, pads, strides, dilations, out_sp, out)
        return out.reshape((n, n_out) + out_sp)

    images, rows = im2col_plan(x.shape, kernel, out_sp, x.dtype.itemsize, reserved=wm.nbytes, strides=strides)
    inner = math.prod(out_sp[1:])
    split = _phase_shape(x.shape, kernel, out_sp, strides, images) if rows == out_sp[0] else None
    buf, *phases = scratch(
        [(images, channels, *kernel, rows, *out_sp[1:])] + ([split] if split else []), x.dtype
    )
    row_chunks = [(r, min(r + rows, out_sp[0])) for r in range(0, out_sp[0], rows)]
    padded = any(p != (0, 0) for p in pads)
    if padded and len(row_chunks) == 1:
        buf.fill(0)  # cells that read padding are never written: they must be zero
    trailing = (slice(None),) * (len(out_sp) - 1)
    for b0 in range(0, n, images):
        b1 = min(b0 + images, n)
        ph = phases[0][: b1 - b0] if phases else None
        for r0, r1 in row_chunks:
            view = buf[(slice(0, b1 - b0), Ellipsis, slice(0, r1 - r0)) + trailing]
            if padded and len(row_chunks) > 1:
                view.fill(0)  # padding cells move with the row window: clear stale values
            _fill_cols(view, x[b0:b1], pads, strides, dilations, (r0, r1), phases=ph)
            cols = view.reshape(b1 - b0, groups, k_len, (r1 - r0) * inner)
            _gemm(wm, cols, out[b0:b1, :, :, r0 * inner : r1 * inner])
    return out.reshape((n, n_out) + out_sp)


def _shifted_plan(
    x_shape: tuple[int, ...],
    itemsize: int,
    kernel: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    n_out: int,
    groups: int,
) -> tuple[str, int, int] | None:
    """``(layout, folded kernel axes, images per chunk)`` for the stride-1 shifted GEMMs, the
    layout ``"images"`` (:func:`_correlate_shifted`), ``"rows"`` (:func:`_correlate_rows`) or
    ``"channels"`` (:func:`_correlate_channels_last`); or None where im2col is the faster method by the cost
    model :func:`_cheapest_layout` (strides other than 1, 1x1 kernels, large GEMMs on a padded
    grid much larger than the output), or where a chunk of one image would not fit the
    workspace limit."""
    n, channels = x_shape[:2]
    spatial = x_shape[2:]
    if any(s != 1 for s in strides) or all(k == 1 for k in kernel) or n == 0:
        return None
    grid = tuple(s + lo + hi for s, (lo, hi) in zip(spatial, pads))
    out_sp = tuple(g - (k - 1) * d for g, k, d in zip(grid, kernel, dilations))
    if min(out_sp) <= 0:
        return None
    cg = channels // groups
    folded = 0  # fold the last kernel axes into the contraction until it is long enough
    while folded < len(kernel) and cg * math.prod(kernel[len(kernel) - folded :]) < _SHIFTED_MIN_K:
        folded += 1
    if cg * math.prod(kernel[len(kernel) - folded :]) < _SHIFTED_MIN_K:
        return None
    layout = _cheapest_layout(channels, n_out, cg, kernel, folded, grid, out_sp)
    if layout == "im2col":
        return None
    if layout == "rows":
        folded = len(kernel) - 1
    nl = len(kernel) - folded
    taps = math.prod(kernel[nl:])
    if layout == "rows":  # the GEMMs write into the output itself
        per_image = channels * taps * grid[0] * math.prod(out_sp[1:])
        slack = 0
    elif layout == "images":
        # slack: the flat shifts read up to one image's grid past the last image
        per_image = (channels * taps + n_out) * math.prod(grid)
        slack = 1
    else:
        space = math.prod((*grid[:nl], *out_sp[nl:]))
        per_image = channels * math.prod(grid) + n_out * _channels_last_rows(grid, out_sp, folded)
        per_image += channels * taps * space if folded else 0
        slack = 0
    fixed = n_out * _SHIFTED_BLOCK + math.prod(kernel) * n_out * cg
    limit = get_workspace_limit() // itemsize
    images = min(n, (limit - fixed) // max(per_image, 1) - slack)
    if images < 1:
        return None
    return layout, folded, images


def _computed_cells(grid: tuple[int, ...] | list[int], out_sp: tuple[int, ...] | list[int]) -> int:
    """Columns of one image's padded grid that the shifted GEMMs compute: its output rows
    (the first ``out_sp[0]`` of the first axis) where those are long enough for their own
    GEMMs, else the whole grid."""
    rows = out_sp[0] * math.prod(grid[1:])
    return rows if rows >= _SHIFTED_BLOCK // 4 else math.prod(grid)


def _channels_last_rows(grid: tuple[int, ...], out_sp: tuple[int, ...], folded: int) -> int:
    """Rows per image that :func:`_correlate_channels_last` computes and holds: the output
    cells of its space ``(*grid[lead axes], *out_sp[folded axes])``."""
    nl = len(grid) - folded
    space = (*grid[:nl], *out_sp[nl:])
    return out_sp[0] * math.prod(space[1:]) if nl else math.prod(out_sp)


def _cheapest_layout(
    channels: int,
    n_out: int,
    cg: int,
    kernel: tuple[int, ...],
    folded: int,
    grid: tuple[int, ...],
    out_sp: tuple[int, ...],
) -> str:
    """The cost model, per image in multiply-adds: ``"im2col"``, ``"images"``, ``"rows"`` or
    ``"channels"``.

    im2col copies ``prod(kernel)`` cells per input channel and output. The image-major
    shifted path copies the padded grid's cells once per folded offset (the first copy is the
    padded input), runs its GEMMs on the computed cells (the output rows of the padded grid)
    and accumulates the unfolded offsets' results. The row path copies every kernel axis but
    the first, cropped to the output, and computes only the outputs (where its GEMMs, one
    image wide, have at least ``_MERGE_BELOW`` columns and ``_ROWS_MIN_GEMM`` multiply-adds).
    The channels-last path transposes the padded input in and the output out (a transpose
    costs ``_TRANSPOSE_COST`` copies), copies the folded offsets cropped to the output, and
    computes only the output rows of its space; on small grids with few outputs all that costs
    less (:func:`_small_grid_saving`)."""
    k_len = cg * math.prod(kernel)
    nl = len(kernel) - folded
    taps = math.prod(kernel[nl:])
    lead = math.prod(kernel[:nl])
    cells = math.prod(grid)
    outputs = math.prod(out_sp)
    computed = _computed_cells(grid, out_sp)
    costs: dict[str, float] = {
        # the columns of every group: counted for one, grouped layers went to im2col at up to
        # 1.5x the shifted layouts' time ((16, 128, 56, 56) * 128 in 4 groups 64.3 -> 42.5 ms)
        "im2col": n_out * k_len * outputs + _COPY_COST * channels * math.prod(kernel) * outputs,
        "images": (
            n_out * k_len * computed
            + _COPY_COST * channels * taps * cells
            + _ADD_COST * n_out * computed * (lead - 1)
        ),
    }
    row_taps = math.prod(kernel[1:])
    wide = outputs >= _MERGE_BELOW and n_out * cg * row_taps * outputs >= _ROWS_MIN_GEMM
    if cg * row_taps >= _SHIFTED_MIN_K and wide:
        costs["rows"] = (
            n_out * k_len * outputs
            + _COPY_COST * channels * row_taps * grid[0] * math.prod(out_sp[1:])
            + _ADD_COST * n_out * outputs * (kernel[0] - 1)
        )
    rows = _channels_last_rows(grid, out_sp, folded)
    space = math.prod((*grid[:nl], *out_sp[nl:]))
    costs["channels"] = (
        n_out * k_len * rows
        + _TRANSPOSE_COST * _COPY_COST * (channels * cells + n_out * outputs)
        + (_COPY_COST * channels * taps * space if folded else 0)
        + _ADD_COST * n_out * rows * (lead - 1)
    ) * _small_grid_saving(folded, grid, channels // cg, n_out * cg // channels)
    return min(costs, key=costs.__getitem__)


def _small_grid_saving(folded: int, grid: tuple[int, ...], groups: int, og: int) -> float:
    """The fraction of the channels-last layout's modelled cost it runs at: less than 1 with
    kernel axes folded into the contraction, a padded grid of at most ``_SMALL_GRID`` cells,
    one group (each group's GEMMs are narrow: (8, 256, 14, 14) * (256, 32, 3, 3) in 8 groups
    took 4.23 ms, the image-major layout 3.67) and at most ``_SMALL_GRID_SAVING``'s outputs.

    >>> _small_grid_saving(1, (12, 12), 1, 50), _small_grid_saving(1, (12, 12), 1, 256)
    (0.65, 1.0)
    """
    if folded == 0 or math.prod(grid) > _SMALL_GRID or groups != 1:
        return 1.0
    return next((saving for most, saving in _SMALL_GRID_SAVING if og <= most), 1.0)


def _correlate_shifted(
    x: np.ndarray,
    wm: np.ndarray,
    kernel: tuple[int, ...],
    pads: Pads,
    dilations: tuple[int, ...],
    out_sp: tuple[int, ...],
    out: np.ndarray,
    folded: int,
    images: int,
) -> None:
    """Stride-1 correlation as a sum of GEMMs over flat-shifted views of the padded input.

    With a chunk of images zero-padded and flattened per channel, ``(C, images * grid)``, the
    input cell that kernel offset ``k`` multiplies for output position ``q`` of the padded grid
    is ``q + shift(k)``: each offset's operand is a plain slice, no im2col copy. The last
    kernel axes are folded into the contraction (one shifted copy per folded offset) until it
    is long enough for an efficient GEMM; the remaining offsets are GEMMs accumulated over
    column blocks that stay in cache. Output positions off the valid grid (the padding's
    columns, the wrap into the next row or image) are computed and dropped: each output
    column is its own dot product, so they never touch a kept value.
    """
    n, channels = x.shape[:2]
    groups, og, k_len = wm.shape
    n_out = groups * og
    cg = channels // groups
    nd = len(kernel)
    grid = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads))
    plane = math.prod(grid)
    flat_stride = [math.prod(grid[a + 1 :]) for a in range(nd)]
    lead, tail = kernel[: nd - folded], kernel[nd - folded :]

    lead_shifts = _flat_shifts(lead, dilations[: nd - folded], flat_stride[: nd - folded])
    tail_shifts = _flat_shifts(tail, dilations[nd - folded :], flat_stride[nd - folded :])
    taps = len(tail_shifts)  # 1 (shift 0) when no axis is folded
    wk = _shifted_weights(wm, kernel, folded)

    crop = tuple(slice(0, o) for o in out_sp)
    for b0 in range(0, n, images):
        nb = min(images, n - b0)
        # columns computed: up to the last valid output of the chunk's last image
        m_len = (nb - 1) * plane + sum((o - 1) * st for o, st in zip(out_sp, flat_stride)) + 1
        y_len = m_len + max(lead_shifts)
        x_len = max(nb * plane, y_len + max(tail_shifts))
        xs, res, tmp = scratch(
            [(groups, taps, cg, x_len), (n_out, nb * plane), (n_out, _SHIFTED_BLOCK)], x.dtype
        )
        _pad_and_shift(xs, x[b0 : b0 + nb], grid, pads, tail_shifts)  # on one core: see _fill_cols
        ys = xs.reshape(groups * taps * cg, x_len)
        # blocks of columns that stay in cache; on large images, only each image's output
        # rows (the padded grid's last rows feed dropped outputs alone)
        rows_span = _computed_cells(grid, out_sp)
        if rows_span == plane:
            spans = [(0, m_len)]
        else:
            spans = [(i * plane, min(i * plane + rows_span, m_len)) for i in range(nb)]
        blocks = [
            (m0, min(m0 + _SHIFTED_BLOCK, hi)) for lo, hi in spans for m0 in range(lo, hi, _SHIFTED_BLOCK)
        ]
        _shifted_gemms(ys, wk, lead_shifts, blocks, res, tmp)
        valid = res.reshape(n_out, nb, *grid)[(slice(None), slice(None), *crop)]
        out[b0 : b0 + nb].reshape(nb, n_out, *out_sp)[...] = valid.swapaxes(0, 1)


def _flat_shifts(ks: tuple[int, ...], dilations: tuple[int, ...], flat_stride: list[int]) -> list[int]:
    """The flat offset of each kernel offset over axes of sizes ``ks`` (in C order), on a
    layout whose axes are ``flat_stride`` cells apart."""
    return [
        sum(o * d * st for o, d, st in zip(offs, dilations, flat_stride))
        for offs in itertools.product(*(range(k) for k in ks))
    ]


def _shifted_gemms(
    ys: np.ndarray,
    wk: np.ndarray,
    lead_shifts: list[int],
    blocks: list[tuple[int, int]],
    res: np.ndarray,
    tmp: np.ndarray,
) -> None:
    """``res[g*og:(g+1)*og, m0:m1] = sum_s wk[s, g] @ ys[g rows, shift_s + m0 : shift_s + m1]``
    for each column block ``(m0, m1)``: one GEMM per lead offset on a plain slice, summed in
    cache (``tmp`` holds one block's product). Inf * 0 = NaN is the direct sum's answer."""
    _, groups, og, k_len = wk.shape
    with np.errstate(invalid="ignore", over="ignore"):
        for m0, m1 in blocks:
            t = tmp[:, : m1 - m0]
            for g in range(groups):
                acc = res[g * og : (g + 1) * og, m0:m1]
                tg = t[g * og : (g + 1) * og]
                for s, sh in enumerate(lead_shifts):
                    operand = ys[g * k_len : (g + 1) * k_len, sh + m0 : sh + m1]
                    if s == 0:
                        np.matmul(wk[s, g], operand, out=acc)
                    else:
                        np.matmul(wk[s, g], operand, out=tg)
                        acc += tg


def _shifted_weights(wm: np.ndarray, kernel: tuple[int, ...], folded: int) -> np.ndarray:
    """``wm`` ``(groups, og, cg * prod(kernel))`` as ``(lead offsets, groups, og, taps * cg)``:
    the contraction index of the shifted copies ``ys[g, t, c]`` (each group's rows contiguous,
    each folded tap's block apart from tap 0's)."""
    groups, og, _ = wm.shape
    nd = len(kernel)
    lead, tail = kernel[: nd - folded], kernel[nd - folded :]
    taps = math.prod(tail)
    cg = wm.shape[2] // math.prod(kernel)
    wk = wm.reshape(groups, og, cg, *lead, taps)
    wk = np.moveaxis(wk, tuple(range(3, 3 + nd - folded)), tuple(range(nd - folded)))
    return np.ascontiguousarray(np.swapaxes(wk, -1, -2)).reshape(math.prod(lead), groups, og, taps * cg)


def _correlate_rows(
    x: np.ndarray,
    wm: np.ndarray,
    kernel: tuple[int, ...],
    pads: Pads,
    dilations: tuple[int, ...],
    out_sp: tuple[int, ...],
    out: np.ndarray,
    folded: int,
    images: int,
) -> None:
    """Stride-1 correlation with every kernel axis but the first folded into the contraction,
    cropped to the output, and the first axis's offsets as flat shifts: the GEMMs compute
    exactly the outputs, and write them into ``out`` itself.

    Each folded offset's copy of a chunk is ``(C, images, padded rows, *out_sp[1:])``: whole
    output rows, so that offset ``i`` of the first axis reads image ``b``'s operand as one
    plain slice starting ``i`` rows (``i * prod(out_sp[1:])`` cells) into the image, and its
    GEMM's columns are the image's outputs in order. Against :func:`_correlate_shifted`, no
    column is computed for the padding and no crop copy follows, at the price of the copies
    of the folded offsets even where the contraction would be long enough without them."""
    n, channels = x.shape[:2]
    groups, og, _ = wm.shape
    n_out = groups * og
    cg = channels // groups
    spatial = x.shape[2:]
    tail = kernel[1:]
    taps = math.prod(tail)
    rows, row_len = spatial[0] + sum(pads[0]), math.prod(out_sp[1:])
    plane = rows * row_len
    p_len = math.prod(out_sp)
    wk = _shifted_weights(wm, kernel, folded)
    lead_shifts = _flat_shifts(kernel[:1], dilations[:1], [row_len])
    blocks = [(m0, min(m0 + _SHIFTED_BLOCK, p_len)) for m0 in range(0, p_len, _SHIFTED_BLOCK)]
    top = pads[0][0]
    # each folded offset's output range [lo, hi) per folded axis and the input slice it reads
    cuts = [
        [
            axis_range(0, out_sp[a], spatial[a], o * dilations[a] - pads[a][0], 1)
            for a, o in enumerate(offs, 1)
        ]
        for offs in itertools.product(*(range(k) for k in tail))
    ]
    for b0 in range(0, n, images):
        nb = min(images, n - b0)
        ys, tmp = scratch([(groups, taps, cg, nb, rows, *out_sp[1:]), (n_out, _SHIFTED_BLOCK)], x.dtype)
        xs = x[b0 : b0 + nb].swapaxes(0, 1).reshape(groups, cg, nb, *spatial)
        for t, cut in enumerate(cuts):
            dst = ys[:, t]  # (groups, cg, images, rows, *out_sp[1:])
            body = dst[:, :, :, top : top + spatial[0]]
            # cells that read padding are zero: a few per row are zeroed as strips; wider
            # margins (a 'full' convolution's) by one memset of the whole copy first
            if sum(lo + size - hi for (lo, hi, _), size in zip(cut, out_sp[1:])) > _ROWS_STRIP_CELLS:
                dst.fill(0)
            else:
                dst[:, :, :, :top] = 0
                dst[:, :, :, top + spatial[0] :] = 0
                for a, (lo, hi, _) in enumerate(cut, 1):
                    edge = (slice(None),) * (3 + a)
                    body[(*edge, slice(0, lo))] = 0
                    body[(*edge, slice(hi, None))] = 0
            dst_cut = tuple(slice(lo, hi) for lo, hi, _ in cut)
            src_cut = tuple(sl for _, _, sl in cut)
            body[(slice(None),) * 4 + dst_cut] = xs[(slice(None),) * 4 + src_cut]
        operands = ys.reshape(groups * taps * cg, nb * plane)
        for b in range(nb):
            res = out[b0 + b].reshape(n_out, p_len)
            _shifted_gemms(operands[:, b * plane :], wk, lead_shifts, blocks, res, tmp)


def _correlate_channels_last(
    x: np.ndarray,
    wm: np.ndarray,
    kernel: tuple[int, ...],
    pads: Pads,
    dilations: tuple[int, ...],
    out_sp: tuple[int, ...],
    out: np.ndarray,
    folded: int,
    images: int,
) -> None:
    """Stride-1 correlation of small images: :func:`_correlate_shifted` with the channels as the
    last axis, the batch after the lead axes, the folded kernel axes cropped to the output, and
    the GEMMs turned round, ``(positions, taps * C) @ (taps * C, out)``.

    A chunk of images is transposed into ``(*grid[lead], images, *grid[folded], C)``; the
    folded offsets are one strided view of it, ``(*grid[lead], images, *out_sp[folded],
    *taps, C)``, copied in one call, so that each position's contraction is one row and the
    rows of one lead offset are a plain slice holding every image's outputs (with one lead
    axis, exactly the outputs: no row is computed in vain, where the image-major grid of a
    12x12 image with a 5x5 kernel computes 144 columns for 64 outputs). The result
    ``(*out_sp[lead], images, *out_sp[folded], out)`` is transposed into ``out``."""
    n, channels = x.shape[:2]
    groups, og, _ = wm.shape
    n_out = groups * og
    cg = channels // groups
    nd = len(kernel)
    nl = nd - folded
    grid = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads))
    lead, tail = kernel[:nl], kernel[nl:]
    k_len = math.prod(tail) * cg
    wk = _channels_last_weights(wm, kernel, folded)
    inner = [slice(lo, lo + size) for size, (lo, _) in zip(x.shape[2:], pads)]
    interior = (*inner[:nl], slice(None), *inner[nl:], slice(None))
    to_channels_last = (*range(2, 2 + nl), 0, *range(2 + nl, 2 + nd), 1)
    padded = any(p != (0, 0) for p in pads)
    for b0 in range(0, n, images):
        nb = min(images, n - b0)
        space = (*grid[:nl], nb, *out_sp[nl:])
        length = math.prod(space)
        flat_stride = [math.prod(space[a + 1 :]) for a in range(nl)]
        lead_shifts = _flat_shifts(lead, dilations[:nl], flat_stride)
        # rows computed: up to the last valid output (the lead axes' last cells feed dropped
        # outputs alone); the result is held as whole cells of the first axis
        m_len = sum((o - 1) * st for o, st in zip(out_sp, flat_stride)) + math.prod(space[nl:])
        rows_len = out_sp[0] * math.prod(space[1:]) if nl else length
        shapes = [(*grid[:nl], nb, *grid[nl:], channels), (rows_len, n_out), (_SHIFTED_BLOCK, n_out)]
        if folded:
            shapes.append((length, groups * k_len))
        xt, res, tmp, *folds = scratch(shapes, x.dtype)
        if padded:
            xt.fill(0)
        xt[interior] = x[b0 : b0 + nb].transpose(to_channels_last)
        if folds:
            np.copyto(
                folds[0].reshape(*space, groups, *tail, cg), _folded_view(xt, tail, dilations[nl:], groups)
            )
            ys = folds[0]
        else:
            ys = xt.reshape(length, channels)
        blocks = [(m0, min(m0 + _SHIFTED_BLOCK, m_len)) for m0 in range(0, m_len, _SHIFTED_BLOCK)]
        with np.errstate(invalid="ignore", over="ignore"):  # Inf * 0 = NaN is the direct sum's answer
            for m0, m1 in blocks:
                for g in range(groups):
                    acc = res[m0:m1, g * og : (g + 1) * og]
                    part = tmp[: m1 - m0, g * og : (g + 1) * og]
                    for s, sh in enumerate(lead_shifts):
                        operand = ys[sh + m0 : sh + m1, g * k_len : (g + 1) * k_len]
                        np.matmul(operand, wk[s, g], out=part if s else acc)
                        if s:
                            acc += part
        valid = res.reshape(out_sp[0], *space[1:], n_out) if nl else res.reshape(*space, n_out)
        valid = valid[tuple(slice(0, o) for o in out_sp[:nl])]
        to_out = (nl, nd + 1, *range(nl), *range(nl + 1, nd + 1))
        out[b0 : b0 + nb].reshape(nb, n_out, *out_sp)[...] = valid.transpose(to_out)


def _channels_last_weights(wm: np.ndarray, kernel: tuple[int, ...], folded: int) -> np.ndarray:
    """``wm`` ``(groups, og, cg * prod(kernel))`` as the right-hand GEMM operands of
    :func:`_correlate_channels_last`, ``(lead offsets, groups, taps * cg, og)``: each group's
    contraction in the folded copies' ``(tap, c)`` order, in one transposing copy.

    Two outputs, two channels, a 1x3 kernel (``wm[0, o]`` is ``(c, tap)``): rows ``(tap, c)``.

    >>> _channels_last_weights(np.arange(12.0).reshape(1, 2, 6), (1, 3), 1)[0, 0]
    array([[ 0.,  6.],
           [ 3.,  9.],
           [ 1.,  7.],
           [ 4., 10.],
           [ 2.,  8.],
           [ 5., 11.]])
    """
    groups, og, _ = wm.shape
    nd = len(kernel)
    nl = nd - folded
    cg = wm.shape[2] // math.prod(kernel)
    w = wm.reshape(groups, og, cg, *kernel)
    to_operands = (*range(3, 3 + nl), 0, *range(3 + nl, 3 + nd), 2, 1)
    operands = np.ascontiguousarray(w.transpose(to_operands))
    return operands.reshape(math.prod(kernel[:nl]), groups, math.prod(kernel[nl:]) * cg, og)


def _folded_view(
    xt: np.ndarray, tail: tuple[int, ...], dilations: tuple[int, ...], groups: int
) -> np.ndarray:
    """The folded copies of :func:`_correlate_channels_last` as a read-only strided view of its
    input ``xt`` ``(*lead cells, images, *grid[folded], C)``: element ``[*l, b, *o, g, *t, c]``
    is ``xt[*l, b, *(o + t * dilation), g * C // groups + c]``, over the outputs ``o`` of the
    folded axes (their grid less the kernel's reach)."""
    nf = len(tail)
    grid = xt.shape[-1 - nf : -1]
    out_sp = tuple(size - (k - 1) * d for size, k, d in zip(grid, tail, dilations))
    if min(out_sp, default=1) < 1:  # the view must stay inside xt
        raise ValueError(f"a kernel of {tail} (dilation {dilations}) reaches past a grid of {grid}")
    cg = xt.shape[-1] // groups
    strides = xt.strides
    axis_strides = strides[-1 - nf : -1]
    return np.lib.stride_tricks.as_strided(
        xt,
        shape=(*xt.shape[: -1 - nf], *out_sp, groups, *tail, cg),
        strides=(
            *strides[:-1],
            cg * strides[-1],
            *(st * d for st, d in zip(axis_strides, dilations)),
            strides[-1],
        ),
        writeable=False,
    )


def _pad_and_shift(
    ys: np.ndarray, x: np.ndarray, grid: tuple[int, ...], pads: Pads, shifts: list[int]
) -> None:
    """Fill ``ys`` ``(groups, taps, cg, length)``: ``ys[g, 0]`` holds group ``g``'s channels of
    ``x`` ``(images, C, *spatial)`` zero-padded (images side by side on their padded ``grid``),
    and ``ys[g, t, :, : length - max(shifts)] = ys[g, 0, :, shifts[t] :]`` for each folded
    offset ``t`` (``shifts[0]`` is 0). Tap blocks are disjoint, so that NumPy copies them
    directly (it would buffer a copy between interleaved rows of one block).

    The cells after the last image are left as they are: only off-grid output columns, which
    are dropped, read them."""
    groups, _, cg, _ = ys.shape
    nb = x.shape[0]
    inner = tuple(slice(lo, lo + size) for size, (lo, _) in zip(x.shape[2:], pads))
    length = ys.shape[3] - max(shifts)
    for g in range(groups):
        base = ys[g, 0]
        if any(p != (0, 0) for p in pads):
            base.fill(0)  # one memset: faster than zeroing the padding's many short runs
        planes = base[:, : nb * math.prod(grid)].reshape(cg, nb, *grid)
        planes[(slice(None), slice(None), *inner)] = x[:, g * cg : (g + 1) * cg].swapaxes(0, 1)
        for t, sh in enumerate(shifts[1:], 1):
            ys[g, t, :, :length] = base[:, sh : sh + length]


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
    transposed from ``(groups, og, images, P)`` into ``out`` ``(images, groups, og, P)``. A
    chunk stays within the workspace limit and, where that leaves at least
    ``_MERGED_CHUNK_MIN_IMAGES`` images, within ``_MERGED_CHUNK_BYTES``."""
    n, channels = x.shape[:2]
    groups, og, k_len = wm.shape
    p_len = math.prod(out_sp)
    split = _phase_shape(x.shape, kernel, out_sp, strides, 1)
    per_image = (channels * math.prod(kernel) + groups * og) * p_len + (math.prod(split) if split else 0)
    image_bytes = max(per_image * x.dtype.itemsize, 1)
    images = max(1, min(n, (get_workspace_limit() - wm.nbytes) // image_bytes))
    if _MERGED_CHUNK_BYTES // image_bytes >= _MERGED_CHUNK_MIN_IMAGES:
        images = min(images, _MERGED_CHUNK_BYTES // image_bytes)
    padded = any(p != (0, 0) for p in pads)
    for b0 in range(0, n, images):
        nb = min(images, n - b0)
        shapes = [(channels, *kernel, nb, *out_sp), (groups, og, nb * p_len)]
        buf, res, *phases = scratch(shapes + ([(nb, *split[1:])] if split else []), x.dtype)
        if padded and (b0 == 0 or nb != images):
            buf.fill(0)  # cells that read padding are never written: they must be zero
        ph = phases[0] if phases else None
        _fill_cols(buf, x[b0 : b0 + nb], pads, strides, dilations, (0, out_sp[0]), merged=True, phases=ph)
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
    images, rows = im2col_plan(
        x.shape, kernel, out_sp, x.dtype.itemsize, reserved=y.nbytes // max(n, 1), strides=strides
    )
    split = _phase_shape(x.shape, kernel, out_sp, strides, 1) if rows == out_sp[0] else None
    padded = any(p != (0, 0) for p in pads)
    yv = y.reshape(n, groups, og, out_sp[0], inner)
    with np.errstate(invalid="ignore", over="ignore"):
        for b0 in range(0, n, images):
            nb = min(images, n - b0)
            for r0 in range(0, out_sp[0], rows):
                r1 = min(r0 + rows, out_sp[0])
                shape = (channels, *kernel, nb, r1 - r0, *out_sp[1:])
                buf, *phases = scratch([shape] + ([(nb, *split[1:])] if split else []), x.dtype)
                if padded:
                    buf.fill(0)  # cells that read padding are never written: they must be zero
                ph = phases[0] if phases else None
                _fill_cols(buf, x[b0 : b0 + nb], pads, strides, dilations, (r0, r1), merged=True, phases=ph)
                cols = buf.reshape(groups, k_len, nb * (r1 - r0) * inner)
                ys = yv[b0 : b0 + nb, :, :, r0:r1].transpose(1, 2, 0, 3, 4).reshape(groups, og, -1)
                dwt += np.matmul(cols, ys.transpose(0, 2, 1))
    return np.ascontiguousarray(dwt.transpose(0, 2, 1)).reshape((n_out, cg) + tuple(kernel))


def correlate_input_grad(
    y: np.ndarray,
    w: np.ndarray,
    out_spatial: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """The gradient of :func:`correlate` wrt its input: ``y`` is ``(batch, out, *top)``, ``w``
    the correlation kernel ``(out, channels // groups, *kernel)``; the result is ``(batch,
    channels, *out_spatial)``.

    Theano's ``CorrMM_gradInputs`` arithmetic, the products ``w[f, c, k] * y[f, t]`` summed
    into output index ``t * stride + k * dilation - pad``, in three ways: at stride 1, where
    the forward method is the faster, as the forward correlation of ``y`` with the transposed,
    flipped kernel (:func:`_input_grad_as_correlation`: the same products in each sum); by
    output phases (:func:`_input_grad_by_phases`, contiguous adds); or, for kernels that hold
    NaN or Inf and 3-D images whose phase grids would be much larger than ``top``, as Theano
    did: ``cols = w.T @ y``, then one strided add per kernel offset
    (:func:`_input_grad_by_offsets`).

    >>> y = np.ones((1, 1, 2, 2), np.float32)
    >>> w = np.ones((1, 1, 2, 2), np.float32)
    >>> correlate_input_grad(y, w, (4, 4), ((0, 0), (0, 0)), (2, 2), (1, 1), 1)[0, 0]
    array([[1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.]], dtype=float32)
    """
    if y.ndim == 3:  # 1-D: the 2-D gradient of one-row images
        out = correlate_input_grad(
            y[:, :, None],
            w[:, :, None],
            (1, *out_spatial),
            ((0, 0), *pads),
            (1, *strides),
            (1, *dilations),
            groups,
        )
        return out[:, :, 0]
    top = y.shape[2:]
    finite = bool(y.size and w.size) and bool(np.isfinite(w).all())
    if finite:
        as_correlation = _input_grad_as_correlation(y, w, out_spatial, pads, strides, dilations, groups)
        if as_correlation is not None:
            return as_correlation
    axes = [
        _phase_axis(t, size, k, p[0], s, d)
        for t, size, k, p, s, d in zip(top, out_spatial, w.shape[2:], pads, strides, dilations)
    ]
    growth = math.prod(ax.grid for ax in axes[1:-1]) / max(math.prod(top[1:-1]), 1)
    if finite and growth <= _PHASE_MAX_GROWTH:
        by_phases = _input_grad_by_phases(y, w, out_spatial, axes, groups)
        if by_phases is not None:
            return by_phases
    return _input_grad_by_offsets(y, w, out_spatial, pads, strides, dilations, groups)


def _input_grad_as_correlation(
    y: np.ndarray,
    w: np.ndarray,
    out_spatial: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray | None:
    """The stride-1 input gradient as a forward :func:`correlate`, or None where that is not
    the faster method. Output cell ``o`` sums ``w[f, c, k] * y[f, o + pad - k * dilation]``:
    the correlation of ``y``, zero-padded by ``(kernel - 1) * dilation - pad`` on each side,
    with the kernel flipped and its two channel axes swapped group by group
    (:func:`~legacyconv.engines._by_correlation.input_grad_by_correlation`). It holds the same
    products as Theano's sums (the padding's products are zeros: the kernel is finite), so
    NaN and Inf land where Theano put them. Taken where the forward method runs F(2x2, 3x3)
    or is the GEMM itself (1x1, no padding); measured on 2 shared AVX2 EPYC cores, float32,
    alternating, ms, by phases -> as a correlation: 3x3 'half' (8, 64, 56, 56) * 64 15.1 ->
    13.2, (16, 128, 28, 28) * 128 27.5 -> 22.6, (8, 256, 28, 28) * 256 48.7 -> 36.1, (8, 512,
    14, 14) * 512 52.7 -> 37.8, (4, 256, 56, 56) * 256 89.8 -> 64.0; 1x1 (8, 64, 56, 56) * 64
    3.6 -> 1.7. Elsewhere the phases were the faster: 3x3 through the channels-last or images
    layouts 1.06-1.30 times slower as a correlation, (16, 128, 28, 28) * (128, 64, 5, 5) 'half'
    1.39, (8, 64, 112, 112) * (64, 3, 7, 7) 'half' 1.93."""
    kernel = w.shape[2:]
    if any(s != 1 for s in strides):
        return None
    fpads = tuple(((k - 1) * d - lo, (k - 1) * d - hi) for k, d, (lo, hi) in zip(kernel, dilations, pads))
    if any(lo < 0 or hi < 0 for lo, hi in fpads) or out_spatial != tuple(
        conv_out_size(t, k, p, 1, d) for t, k, p, d in zip(y.shape[2:], kernel, fpads, dilations)
    ):
        return None
    n_out = w.shape[1] * groups
    pointwise = all(k == 1 for k in kernel) and y.flags.c_contiguous
    if not pointwise and (
        _winograd.plan(y.shape, kernel, fpads, strides, dilations, n_out, groups, y.dtype) is None
        or _channels_last_first(y.shape, y.dtype.itemsize, kernel, fpads, strides, dilations, n_out, groups)
    ):
        return None
    return input_grad_by_correlation(correlate, y, w, out_spatial, pads, strides, dilations, groups)


class _PhaseAxis(NamedTuple):
    """One spatial axis of the input gradient by output phases (see
    :func:`_input_grad_by_phases`): kernel offset ``k`` adds top index ``t`` to output index
    ``phase[k] + stride * q``, ``q = t + shift[k] + low``; cell ``g`` of the phase grid
    (``0 <= g < grid``) is ``q = g + low``. ``counts[p]`` output indices have phase ``p``."""

    stride: int
    phase: tuple[int, ...]
    shift: tuple[int, ...]
    low: int
    grid: int
    counts: tuple[int, ...]


def _phase_axis(top: int, size: int, kernel: int, pad_low: int, stride: int, dilation: int) -> _PhaseAxis:
    """The phase plan of one axis, where top index ``t`` and kernel offset ``k`` reach output
    index ``t * stride + k * dilation - pad_low`` (of ``size``).

    >>> _phase_axis(28, 56, 4, 1, 2, 1)  # conv2d_transpose k4 s2 pad1
    _PhaseAxis(stride=2, phase=(1, 0, 1, 0), shift=(0, 1, 1, 2), low=-1, grid=30, counts=(28, 28))
    """
    starts = [k * dilation - pad_low for k in range(kernel)]
    shifts = [e // stride for e in starts]
    low = min(shifts)
    return _PhaseAxis(
        stride,
        tuple(e % stride for e in starts),
        tuple(s - low for s in shifts),
        low,
        top + max(shifts) - low,
        tuple(max(0, -(-(size - p) // stride)) for p in range(stride)),
    )


class _LastPhase(NamedTuple):
    """One phase of the last axis: its kernel offsets, their shifts (output index ``q = t +
    shift``) and its number of output indices, ``length``."""

    phase: int
    taps: tuple[int, ...]
    shifts: tuple[int, ...]
    length: int


def _input_grad_by_phases(
    y: np.ndarray,
    w: np.ndarray,
    out_spatial: tuple[int, ...],
    axes: list[_PhaseAxis],
    groups: int,
) -> np.ndarray | None:
    """The input gradient by output phases, for 2-D and larger images; None when one image's
    phase grids and one row of columns would not fit in the workspace limit.

    Output index ``o`` has phase ``o % stride``; within one phase, each kernel offset moves the
    top by a fixed shift. Along the last axis, the shifted copies of ``y`` of each phase's
    offsets join the GEMM's contraction (``K = out/groups * offsets``, an im2col of that axis
    alone), whose columns are that phase's output indices, so that the GEMM sums those offsets
    itself and writes ``(channels, leading offsets, images, grid)`` columns. Along the leading
    axes, on a grid wide enough for every shift (``y`` zero-padded at the end of the middle
    axes), each remaining offset's block of columns is one contiguous add at a flat shift, the
    padding's zero columns landing on the cells that rows wrap onto; each phase sums its
    offsets in row-major order, the first as ``x + 0`` (Theano's zeroed image plus ``x``), and
    the phase grids are then copied into their strided places in the output.

    Chunks of images keep the columns cache-sized (``_PHASE_CHUNK_BYTES``); an image too large
    for one chunk goes in chunks of rows, the last rows first, so that every cell still
    receives its leading offsets in row-major order. The adds stay on the calling thread:
    shared out over the 2 cores by channel they were no faster (OpenBLAS's threads keep
    spinning after each GEMM) and collapsed when other processes held a core.
    """
    n, n_in = y.shape[:2]
    kernel = w.shape[2:]
    top = y.shape[2:]
    nd = len(top)
    cg = w.shape[1]
    channels, og = cg * groups, n_in // groups
    *lead, last = axes
    lasts = [
        _LastPhase(p, taps, tuple(last.shift[k] + last.low for k in taps), count)
        for p, count in enumerate(last.counts)
        if count and (taps := tuple(k for k in range(kernel[-1]) if last.phase[k] == p))
    ]
    # every output cell is written unless a phase has no offsets or its grid misses cells
    covered = all(count == 0 or p in last.phase for p, count in enumerate(last.counts)) and all(
        count == 0 or (p in ax.phase and ax.low <= 0 and count <= ax.grid + ax.low)
        for ax in lead
        for p, count in enumerate(ax.counts)
    )
    out = (np.empty if covered else np.zeros)((n, channels, *out_spatial), dtype=y.dtype)
    if not lasts:  # no top index reaches the output
        return out

    kp = math.prod(kernel[:-1])  # the leading kernel offsets
    grid = tuple(ax.grid for ax in lead)
    middle = math.prod(grid[1:])
    # each leading phase: its offsets (index, per-axis shift), and its place in the output
    phases: dict[tuple[int, ...], list[tuple[int, tuple[int, ...]]]] = {}
    for tap, ks in enumerate(itertools.product(*(range(k) for k in kernel[:-1]))):
        key = tuple(ax.phase[k] for ax, k in zip(lead, ks))
        phases.setdefault(key, []).append((tap, tuple(ax.shift[k] for ax, k in zip(lead, ks))))
    places = [_phase_place(lead, key) for key in phases]

    itemsize = y.dtype.itemsize
    # one top row's shifted copies and columns (the largest of the last phases, one at a time)
    row_copies = max(n_in * len(lp.taps) * middle * lp.length for lp in lasts)
    row_cols = max(channels * kp * middle * lp.length for lp in lasts)
    per_row = (row_copies + row_cols) * itemsize
    grid_cells = [grid[0] * middle * lp.length for lp in lasts]  # one channel's grid per phase
    per_grids = len(phases) * channels * sum(grid_cells) * itemsize
    limit = get_workspace_limit()
    if per_grids + per_row > limit:
        return None
    target = max(min(limit, _PHASE_CHUNK_BYTES), per_grids + per_row)
    per_image = per_row * top[0] + per_grids
    if per_image <= target:
        images, rows = max(1, min(n, target // per_image)), top[0]
    else:
        images, rows = 1, max(1, (target - per_grids) // per_row)
    ybuf, cbuf, gbuf = scratch(
        [
            (row_copies * images * rows,),
            (row_cols * images * rows,),
            (len(phases) * channels * images * sum(grid_cells),),
        ],
        y.dtype,
    )
    # per last phase: (groups, channels/groups * leading offsets, out/groups * its offsets)
    wr = w.reshape(groups, og, cg, kp, kernel[-1])
    wts = [
        np.ascontiguousarray(wr[..., list(lp.taps)].transpose(0, 2, 3, 1, 4)).reshape(groups, cg * kp, -1)
        for lp in lasts
    ]

    row_starts = list(range(0, top[0], rows))
    for b0 in range(0, n, images):
        m = min(images, n - b0)
        starts = np.cumsum([0] + [len(phases) * channels * m * cells for cells in grid_cells])
        grids = [
            gbuf[start:stop].reshape(len(phases), channels, m, cells)
            for start, stop, cells in zip(starts[:-1], starts[1:], grid_cells)
        ]
        yv = y[b0 : b0 + m].reshape((m, groups, og) + top).transpose(1, 2, 0, *range(3, 3 + nd))
        for r0 in reversed(row_starts):
            r1 = min(r0 + rows, top[0])
            for lp, wt, acc in zip(lasts, wts, grids):
                inner = middle * lp.length
                span = (r1 - r0) * inner
                shape = (groups, og, len(lp.taps), m, r1 - r0) + grid[1:] + (lp.length,)
                yg = ybuf[: math.prod(shape)].reshape(shape)
                _fill_shifted(yg, yv[:, :, :, r0:r1], lp.shifts)
                cols = cbuf[: channels * kp * m * span].reshape(groups, cg * kp, m * span)
                with np.errstate(invalid="ignore", over="ignore"):
                    np.matmul(wt, yg.reshape(groups, -1, m * span), out=cols)
                steps = [math.prod(grid[a + 1 :]) * lp.length for a in range(nd - 1)]
                _phase_adds(
                    cols.reshape(channels, kp, m, span),
                    acc,
                    [
                        [(tap, sum(s * st for s, st in zip(shifts, steps))) for tap, shifts in taps]
                        for taps in phases.values()
                    ],
                    r0 * inner,
                    only=len(row_starts) == 1,
                    first=r0 == row_starts[-1],
                )
                if r0 == 0:  # the images are complete: into their places in the output
                    view = out[b0 : b0 + m, ..., lp.phase :: last.stride]
                    for p, place in enumerate(places):
                        if place is not None:
                            cells = acc[p].reshape((channels, m) + grid + (lp.length,))
                            np.copyto(
                                view[(slice(None), slice(None)) + place[0]],
                                cells[(slice(None), slice(None)) + place[1]].swapaxes(0, 1),
                            )
    return out


def _phase_place(
    lead: list[_PhaseAxis], key: tuple[int, ...]
) -> tuple[tuple[slice, ...], tuple[slice, ...]] | None:
    """Where leading phase ``key``'s grid cells go in the output: ``(output index, grid index)``
    over the leading axes, or None when no cell of the grid is an output cell."""
    dst: list[slice] = []
    src: list[slice] = []
    for ax, p in zip(lead, key):
        lo, hi = max(0, ax.low), min(ax.counts[p], ax.grid + ax.low)
        if hi <= lo:
            return None
        dst.append(slice(p + ax.stride * lo, p + ax.stride * (hi - 1) + 1, ax.stride))
        src.append(slice(lo - ax.low, hi - ax.low))
    return tuple(dst), tuple(src)


def _fill_shifted(yg: np.ndarray, yv: np.ndarray, shifts: tuple[int, ...]) -> None:
    """``yg[:, :, j, ..., q] = yv[..., q - shifts[j]]`` (zero outside ``yv``, and in the padding
    of the middle axes): ``yg`` is ``(groups, og, offsets, images, rows, *grid[1:], count)``,
    ``yv`` ``(groups, og, images, rows, *top[1:])``."""
    top = yv.shape[4:]
    count = yg.shape[-1]
    inside = tuple(slice(0, t) for t in top[:-1])
    for a in range(len(top) - 1):  # the padding of the middle axes
        yg[(slice(None),) * (5 + a) + (slice(top[a], None),)] = 0
    for j, shift in enumerate(shifts):
        dst = yg[:, :, j]
        lo, hi = min(max(0, shift), count), max(0, min(count, top[-1] + shift))
        dst[..., :lo] = 0
        dst[..., max(lo, hi) :] = 0
        if hi > lo:
            dst[(Ellipsis,) + inside + (slice(lo, hi),)] = yv[..., lo - shift : hi - shift]


def _phase_adds(
    cols: np.ndarray,
    grids: np.ndarray,
    taps: list[list[tuple[int, int]]],
    row_shift: int,
    only: bool,
    first: bool,
) -> None:
    """Add a chunk of columns ``(channels, offsets, images, span)`` into the phase grids
    ``(phases, channels, images, cells)``: phase ``p`` receives offset ``tap`` at flat index
    ``row_shift + shift`` for each ``(tap, shift)`` of ``taps[p]``, in order. ``only``: the
    chunk holds whole images, and the first offset initialises the grid; else ``first`` (the
    image's first chunk) clears it."""
    span, cells = cols.shape[3], grids.shape[3]
    with np.errstate(invalid="ignore", over="ignore"):  # Inf - Inf = NaN, as in Theano's sums
        for acc, phase_taps in zip(grids, taps):
            if first and not only:
                acc.fill(0)
            for i, (tap, shift) in enumerate(phase_taps):
                start = row_shift + shift
                stop = min(start + span, cells)
                src = cols[:, tap, :, : stop - start]
                dst = acc[:, :, start:stop]
                if only and i == 0:  # Theano's zeroed image plus the first offset
                    acc[:, :, :start] = 0
                    np.add(src, 0, out=dst)
                    acc[:, :, stop:] = 0
                else:
                    np.add(dst, src, out=dst)


def _input_grad_by_offsets(
    y: np.ndarray,
    w: np.ndarray,
    out_spatial: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """col2im by one strided add per kernel offset straight into a zeroed output, chunk by
    chunk (Theano's ``CorrMM_gradInputs`` loop): the path for kernels that hold NaN or Inf,
    whose products with the phase grids' zero padding would be NaN."""
    wc = w
    n, n_in = y.shape[:2]
    kernel = wc.shape[2:]
    top = y.shape[2:]
    n_out = wc.shape[1] * groups
    out_shape = (n, n_out) + tuple(out_spatial)
    cg, og = n_out // groups, n_in // groups
    k_len = cg * math.prod(kernel)
    # (groups, cg * K, og): column c*K + k of group g receives sum_f w[g*og + f, c, k] * y[f]
    # a contiguous copy: OpenBLAS multiplies it about twice as fast as the transposed view
    wt = np.ascontiguousarray(np.ascontiguousarray(wc).reshape(groups, og, k_len).transpose(0, 2, 1))
    out = np.zeros(out_shape, dtype=y.dtype)
    out_t = out.swapaxes(0, 1)
    inner = math.prod(top[1:])
    per_row = n_out * math.prod(kernel) * inner * y.dtype.itemsize
    limit = get_workspace_limit()
    if per_row * top[0] <= limit:
        images, rows = max(1, min(n, limit // max(per_row * top[0], 1))), top[0]
    else:
        images, rows = 1, max(1, limit // max(per_row, 1))
    offsets = list(itertools.product(*(range(k) for k in kernel)))
    for b0 in range(0, n, images):
        b1 = min(b0 + images, n)
        for r0 in range(0, top[0], rows):
            r1 = min(r0 + rows, top[0])
            # the chunk's images side by side: one GEMM per group for all of them
            nb, span = b1 - b0, (r1 - r0) * inner
            ys = (
                y[b0:b1, :, r0:r1]
                .reshape(nb, groups, og, span)
                .transpose(1, 2, 0, 3)
                .reshape(groups, og, nb * span)
            )
            (cols,) = scratch([(groups, k_len, nb * span)], y.dtype)
            with np.errstate(invalid="ignore", over="ignore"):
                np.matmul(wt, ys, out=cols)
            cols = cols.reshape(n_out, *kernel, nb, r1 - r0, *top[1:])
            for off in offsets:
                dst: list[slice] = [slice(None), slice(b0, b1)]  # into out_t: (channels, batch, ...)
                src: list[Any] = [slice(None), *off, slice(None)]
                for axis, k in enumerate(off):
                    start, stop = (r0, r1) if axis == 0 else (0, top[axis])
                    shift = r0 if axis == 0 else 0
                    # output index t * stride + k * dilation - pad_low lies inside the image
                    lo, hi, sl = axis_range(
                        start,
                        stop,
                        out_shape[2 + axis],
                        k * dilations[axis] - pads[axis][0],
                        strides[axis],
                    )
                    if hi <= lo:
                        break
                    src.append(slice(lo - shift, hi - shift))
                    dst.append(sl)
                else:
                    with np.errstate(invalid="ignore", over="ignore"):
                        out_t[tuple(dst)] += cols[tuple(src)]
    return out


def pool2d(x: np.ndarray, plan: PoolPlan) -> np.ndarray:
    """Pool the last two axes of ``x`` with ``plan``, a cache-sized block of planes
    (``_POOL_BLOCK_BYTES``) at a time, the blocks shared out over the cores: see
    :func:`_pool_planes`. 'max' takes NaN-propagating maxima; the rare block whose output then
    holds a NaN is pooled again skipping NaNs, and gets Theano's first-cell NaNs back."""
    rows, cols = plan.axes
    acc_dtype = accumulator_dtype(x.dtype, plan.mode)
    out = np.empty(x.shape[:-2] + plan.out_shape, dtype=acc_dtype)
    if out.size == 0:
        return out.astype(x.dtype, copy=False)
    planes = x.reshape((-1,) + x.shape[-2:])
    flat_out = out.reshape((-1,) + plan.out_shape)
    divisors = pool_divisors(plan, acc_dtype)
    screen_nan = plan.mode == "max" and acc_dtype.kind == "f"
    op = np.maximum if plan.mode == "max" else np.add
    plane_bytes = rows.size * cols.size * max(x.itemsize, acc_dtype.itemsize)
    # each thread's two work arrays stay within the workspace limit
    step = max(1, min(_POOL_BLOCK_BYTES, get_workspace_limit() // (2 * num_threads())) // plane_bytes)
    n_planes = planes.shape[0]
    n_blocks = -(-n_planes // step)

    def drain(blocks: Iterator[int]) -> None:
        work = _pool_scratch(min(step, n_planes), plan, acc_dtype)
        for block in blocks:
            b0 = block * step
            dst, src = flat_out[b0 : b0 + step], planes[b0 : b0 + step]
            with np.errstate(over="ignore", invalid="ignore"):  # also windows across rows, unused
                _pool_planes(dst, src, plan, op, divisors, work)
                if screen_nan and np.isnan(np.max(dst)):  # a window holds a NaN: Theano's rule
                    _pool_planes(dst, src, plan, np.fmax, None, work)
                    nan = first_cell_nan(src, plan)
                    if nan is not None:
                        dst[nan] = np.nan

    # one thread per 2**16 outputs at least
    per_thread = max(1, 2**16 // max(1, step * math.prod(plan.out_shape)))
    parallel_blocks(n_blocks, drain, min_blocks=per_thread)
    return finish_pool(out, plan, x.dtype, divided=True)


def _pool_scratch(n: int, plan: PoolPlan, dtype: np.dtype) -> list[np.ndarray]:
    """This thread's work arrays for :func:`_pool_planes` on blocks of up to ``n`` planes."""
    rows, cols = plan.axes
    inner = rows.full_windows[1] > rows.full_windows[0]
    size = n * rows.size * cols.size
    shapes = [(size if inner and rows.ws > 1 else 0,), (size if inner and cols.ws > 1 else 0,)]
    return scratch(shapes + [(n, len(rows.clipped_windows), cols.size)], dtype)


def _pool_planes(
    dst: np.ndarray,
    src: np.ndarray,
    plan: PoolPlan,
    op: np.ufunc,
    divisors: np.ndarray | None,
    work: list[np.ndarray],
) -> None:
    """``dst`` ``(n, *plan.out_shape)`` = the windows of the planes ``src`` ``(n, rows, cols)``
    reduced by ``op`` (``np.maximum``, ``np.fmax`` or ``np.add``) in ``dst.dtype``, divided by
    ``divisors`` if given; ``work`` from :func:`_pool_scratch`.

    The windows that lie inside the image come from sliding windows over the flattened block:
    ``ws - 1`` contiguous passes per axis (one long SIMD loop each, over every window position
    although only one in ``stride`` is kept: a ufunc over strided rows pays ~12 ns per row and
    a scalar loop per strided cell, more than that on rows this short), then one strided copy
    of the positions kept. Windows clipped by padding or the border are reduced apart
    (:func:`_pool_last_axis`). Measured on one thread, Zen 5, (32, 64, 56, 56) float32, against
    one strided pass per window offset: 2x2 max 3.1 -> 2.6-3.5 ms (bound by memory), the same
    on 55x55 in ceil mode 4.2-4.9 -> 2.8-3.1 ms, 3x3 s2 pad 1 average 6.2 -> 4.1-4.6 ms.
    """
    rows, cols = plan.axes
    n, height, width = src.shape
    (r_lo, r_hi), (c_lo, c_hi) = rows.full_windows, cols.full_windows
    size = n * height * width
    by_rows, by_both, edge = work[0][:size], work[1][:size], work[2][:n]
    if r_hi > r_lo:
        flat, valid = np.ascontiguousarray(src).reshape(-1), size
        if rows.ws > 1:
            flat, valid = _slide(by_rows, flat, valid, rows.ws, width, op), valid - (rows.ws - 1) * width
        kept = slice(r_lo * rows.stride - rows.pad, (r_hi - 1) * rows.stride - rows.pad + 1, rows.stride)
        row_kept = flat.reshape(n, height, width)[:, kept]
        if c_hi > c_lo:
            if cols.ws > 1:
                flat = _slide(by_both, flat, valid, cols.ws, 1, op)
            kept_cols = slice(
                c_lo * cols.stride - cols.pad, (c_hi - 1) * cols.stride - cols.pad + 1, cols.stride
            )
            np.copyto(
                dst[:, r_lo:r_hi, c_lo:c_hi],
                flat.reshape(n, height, width)[:, kept, kept_cols],
                casting="unsafe",
            )
        _pool_last_axis(dst[:, r_lo:r_hi], row_kept, cols, op, full=False)
    for k, (o, start, end) in enumerate(rows.clipped_windows):
        _reduce_taps(edge[:, k], [src[:, j] for j in range(start, end)], op)
        _pool_last_axis(dst[:, o : o + 1], edge[:, k : k + 1], cols, op, full=True)
    if divisors is not None:  # in cache; dividing in the strided copy took 43 us instead of 20 + 9
        np.divide(dst, divisors, out=dst)


def _slide(out: np.ndarray, flat: np.ndarray, valid: int, ws: int, step: int, op: np.ufunc) -> np.ndarray:
    """``out[p] = op(flat[p], flat[p + step], ..., flat[p + (ws - 1) * step])`` for every ``p``
    whose cells lie in the first ``valid`` of ``flat``: ``ws - 1`` contiguous passes."""
    m = valid - (ws - 1) * step
    op(flat[:m], flat[step : step + m], out=out[:m], dtype=out.dtype)
    for i in range(2, ws):
        op(out[:m], flat[i * step : i * step + m], out=out[:m], dtype=out.dtype)
    return out


def _pool_last_axis(dst: np.ndarray, src: np.ndarray, axis: PoolAxis, op: np.ufunc, full: bool) -> None:
    """``dst`` ``(n, k, axis.out)`` = the windows of ``axis`` along the last axis of ``src``
    ``(n, k, axis.size)`` reduced by ``op``, one strided pass per window cell: the windows that
    lie inside the image if ``full``, and always the clipped ones (one by one)."""
    lo, hi = axis.full_windows
    if full and hi > lo:
        x0, span = lo * axis.stride - axis.pad, (hi - lo - 1) * axis.stride + 1
        taps = [src[..., x0 + j : x0 + j + span : axis.stride] for j in range(axis.ws)]
        _reduce_taps(dst[..., lo:hi], taps, op)
    for o, start, end in axis.clipped_windows:
        _reduce_taps(dst[..., o], [src[..., j] for j in range(start, end)], op)


def _reduce_taps(dst: np.ndarray, taps: list[np.ndarray], op: np.ufunc) -> None:
    """``dst = op(taps[0], taps[1], ...)`` in ``dst.dtype``."""
    if len(taps) == 1:
        np.copyto(dst, taps[0], casting="unsafe")
        return
    op(taps[0], taps[1], out=dst, dtype=dst.dtype)
    for tap in taps[2:]:
        op(dst, tap, out=dst, dtype=dst.dtype)


def separable_matmul(planes: np.ndarray, a_rows: np.ndarray, a_cols: np.ndarray) -> np.ndarray:
    """``a_rows @ plane @ a_cols.T`` for every plane of ``planes`` ``(B, rows, cols)``: one GEMM
    over all planes for the columns, one batched product for the rows.

    >>> separable_matmul(np.ones((2, 1, 2)), np.ones((3, 1)), np.eye(2)).shape
    (2, 3, 2)
    """
    b, rows, cols = planes.shape
    with np.errstate(invalid="ignore", over="ignore"):
        t = (planes.reshape(b * rows, cols) @ a_cols.T).reshape(b, rows, a_cols.shape[0])
        return np.matmul(a_rows, t)
