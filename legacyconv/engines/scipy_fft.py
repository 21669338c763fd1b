"""The scipy engine: batched FFT correlation through ``scipy.fft``, or direct sums through
``scipy.signal.correlate2d`` for small problems and for non-finite data.

Same contract as every engine (see :mod:`legacyconv.engines.numpy_gemm`): :func:`correlate`
returns the N-d grouped cross-correlation of the zero-padded ``x`` with ``w``, in ``x``'s dtype.
No NumPy GEMM is used: the channel sums happen in the frequency domain or in ``scipy.signal``.
Both gradients are correlations too (:mod:`legacyconv.engines._by_correlation`). SciPy has no
pooling and no use for an FFT in a product of small matrices: :func:`pool2d` and
:func:`separable_matmul` are the numpy engine's.

How strides and dilations are handled (both paths)
--------------------------------------------------
Along one axis with stride ``s`` and dilation ``d``, let ``g = gcd(s, d)``, ``s' = s / g`` and
``d' = d / g``. Output ``y[t]`` reads padded input ``s*t + d*j`` for kernel tap ``j``. Splitting
the taps by ``j mod s'`` gives ``s'`` *phases*: phase ``p`` uses taps ``w[p::s']`` on the
subsampled input ``xpad[d*p::s]`` with dilation ``d'`` and stride 1. So no output is computed
and then thrown away; the FFT path stacks the phases as extra input channels (its inverse FFTs
shrink by the stride) and inserts ``d' - 1`` zeros between taps; the direct path also splits
the outputs by ``t mod d'``, so that it never multiplies by an inserted zero.

Choosing the path (``method='auto'``)
-------------------------------------
* If ``x`` or ``w`` holds a NaN or an infinity, the **direct** path: an FFT would smear one
  non-finite value over a whole plane, while the direct sums give exactly the NaN/Inf pattern
  of the definition (padding zeros times an infinite weight give NaN, as in the numpy engine).
* Otherwise the path with the smaller estimated time, from a cost model fitted on a 2-core
  x86-64 machine (:func:`estimate_seconds`):

  - direct: ``1.4e-5 s`` per ``correlate2d`` call (one per filter, input channel, phase and
    tap of the leading axes) plus ``4.3e-9 s`` per multiply-add it performs;
  - fft: ``1.4e-4 s`` plus ``4e-10 s x N log2 N`` per transformed plane of ``N`` samples
    (input phases, outputs and weights) plus ``2.8e-9 s`` per complex multiply-add of the
    channel mixing.

  In practice the direct path wins only for small problems: a few channels, small planes, or
  kernels of a handful of taps.

The channel mixing ``Y[n, o] = sum_c X[n, c] W[o, c]`` per frequency bin is a batched complex
matmul over the bins when there are at least 8 channel-phases per group and
``channels x phases x filters x images`` per group is at least 512
(the input is then laid out as ``(group, *spatial, channel, image)`` so that the transform
leaves one ``(channels, images)`` matrix per bin; the product, a small spectrum, is transposed
to ``(image, group, filter, *bins)`` so that the inverse transforms run over contiguous planes
straight into the output's order), and a loop of
broadcasted multiply-adds over the channels otherwise. float32 stays float32 (complex64
FFTs), float64 stays float64. Batches are processed in chunks so that the frequency-domain
workspace stays under :func:`legacyconv.get_workspace_limit` (the weights' spectrum, needed by
every chunk, is not split).

Examples
--------
>>> import numpy as np
>>> x = np.arange(25.0).reshape(1, 1, 5, 5)
>>> correlate(x, np.ones((1, 1, 3, 3)), ((0, 0), (0, 0)), (1, 1), (1, 1), 1, method="fft")[0, 0]
array([[ 54.,  63.,  72.],
       [ 99., 108., 117.],
       [144., 153., 162.]])
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft
import scipy.signal

from .._config import get_workspace_limit
from .._errors import LegacyconvError
from .._params import Pads, conv_out_size
from ._by_correlation import input_grad_by_correlation, weight_grad_by_correlation
from .numpy_gemm import pool2d, separable_matmul

__all__ = [
    "METHODS",
    "choose_method",
    "correlate",
    "correlate_input_grad",
    "correlate_weight_grad",
    "estimate_seconds",
    "pool2d",
    "separable_matmul",
]

#: The direct path of :func:`correlate` places NaN and Inf as the definition does; the gradients
#: correlate zero-dilated or zero-padded arrays (0 * Inf = NaN where Theano had none).
NON_FINITE_EXACT = ("correlate", "pool2d")

#: Values accepted by ``correlate(..., method=...)``.
METHODS = ("auto", "fft", "direct")

# Cost model (seconds), fitted on the project's 2-core machine; see the module docstring.
_DIRECT_CALL = 1.4e-5
_DIRECT_MAC = 4.3e-9
_FFT_FIXED = 1.4e-4
_FFT_NLOGN = 4e-10
_MIX_CMAC = 2.8e-9

# Per-group channels x filters x images above which one batched matmul over the frequency bins
# beats the loop of broadcasted multiply-adds.
_MATMUL_MIN = 512
_MATMUL_MIN_CHANNELS = 8

# Transforms of fewer real samples than this run on one thread.
_THREADED_FFT_MIN = 2**16


@dataclass(frozen=True)
class _Axis:
    """How one spatial axis splits into stride phases (see the module docstring)."""

    size: int  # unpadded input length
    low: int  # padding before
    stride: int
    dilation: int
    sub_stride: int  # s' = s / gcd(s, d): number of kernel phases
    sub_dilation: int  # d' = d / gcd(s, d): dilation left inside a phase
    out: int  # output length
    taps: tuple[int, ...]  # taps of phase p = 0 .. s' - 1 (phases without taps dropped)

    @property
    def max_taps(self) -> int:
        return self.taps[0]

    def span(self, taps: int) -> int:
        """Input samples of a phase with ``taps`` taps that the outputs read."""
        return self.out + self.sub_dilation * (taps - 1)


def _axis(size: int, kernel: int, pad: tuple[int, int], stride: int, dilation: int) -> _Axis:
    g = math.gcd(stride, dilation)
    sub_stride = stride // g
    taps = tuple(len(range(p, kernel, sub_stride)) for p in range(min(sub_stride, kernel)))
    out = conv_out_size(size, kernel, pad, stride, dilation)
    return _Axis(size, pad[0], stride, dilation, sub_stride, dilation // g, out, taps)


def _source(axis: _Axis, start: int, step: int, length: int) -> tuple[slice, slice]:
    """Destination and source slices for ``dst[v] = xpad[start + step * v]``, ``v < length``,
    restricted to the ``v`` whose index falls inside the unpadded input."""
    offset = start - axis.low
    lo = max(0, -(offset // step))  # ceil(-offset / step)
    hi = min(length, (axis.size - 1 - offset) // step + 1)
    if hi <= lo:
        return slice(0, 0), slice(0, 0)
    first = offset + lo * step
    return slice(lo, hi), slice(first, first + (hi - lo - 1) * step + 1, step)


def _output_phases(axis: _Axis) -> list[int]:
    """Output counts of the direct path's output phases ``t mod d'`` along one axis."""
    return [len(range(r, axis.out, axis.sub_dilation)) for r in range(min(axis.sub_dilation, axis.out))]


def _fft_workers(elements: int) -> int:
    """Threads for one batched transform of ``elements`` real samples: threads cost ~30 us to
    wake, more than a small transform takes."""
    if elements < _THREADED_FFT_MIN:
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _all_finite(a: np.ndarray) -> bool:
    return bool(np.isfinite(a).all())


def _mixing(cg_phases: int, og: int, images: int) -> str:
    # with a few channel-phases the matmul is a stack of tiny outer products: loop instead
    return (
        "matmul" if cg_phases >= _MATMUL_MIN_CHANNELS and cg_phases * og * images >= _MATMUL_MIN else "loop"
    )


def _fft_shape(axes: list[_Axis]) -> tuple[int, ...]:
    return tuple(scipy.fft.next_fast_len(a.span(a.max_taps), real=True) for a in axes)


def estimate_seconds(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> dict[str, float]:
    """The cost model behind ``method='auto'``: estimated seconds of each path.

    >>> t = estimate_seconds((64, 20, 12, 12), (50, 20, 5, 5), ((0, 0),) * 2, (1, 1), (1, 1), 1)
    >>> t["fft"] < t["direct"]
    True
    """
    if len(x_shape) == 3:  # 1-d: as correlate does, a 2-d problem with a unit leading axis
        x_shape, w_shape = (*x_shape[:2], 1, x_shape[2]), (*w_shape[:2], 1, w_shape[2])
        pads, strides, dilations = ((0, 0), *pads), (1, *strides), (1, *dilations)
    n, _ = x_shape[:2]
    n_out, cg = w_shape[:2]
    axes = [
        _axis(s, k, p, st, d) for s, k, p, st, d in zip(x_shape[2:], w_shape[2:], pads, strides, dilations)
    ]
    # direct: one correlate2d per (filter, channel, phase, output phase, leading-axis tap)
    calls = 0
    macs = 0
    for taps in itertools.product(*(a.taps for a in axes)):
        for counts in itertools.product(*(_output_phases(a) for a in axes)):
            length = [c + t - 1 for c, t in zip(counts, taps)]
            n_calls = n_out * cg * math.prod(taps[:-2])
            calls += n_calls
            rows = n * math.prod(length[:-1]) - taps[-2] + 1
            macs += n_calls * rows * counts[-1] * taps[-2] * taps[-1]
    direct = calls * _DIRECT_CALL + macs * _DIRECT_MAC
    # fft
    phases = math.prod(len(a.taps) for a in axes)
    shape = _fft_shape(axes)
    size = math.prod(shape)
    bins = size // shape[-1] * (shape[-1] // 2 + 1)
    planes = n * x_shape[1] * phases + n * n_out + n_out * cg * phases
    fft = (
        _FFT_FIXED
        + _FFT_NLOGN * planes * size * math.log2(max(size, 2))
        + _MIX_CMAC * n * n_out * cg * phases * bins
    )
    return {"fft": fft, "direct": direct}


def choose_method(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> str:
    """'fft' or 'direct', whichever :func:`estimate_seconds` says is faster (finite data).

    >>> choose_method((1, 1, 5, 5), (1, 1, 3, 3), ((0, 0),) * 2, (1, 1), (1, 1), 1)
    'direct'
    """
    t = estimate_seconds(x_shape, w_shape, pads, strides, dilations, groups)
    return "direct" if t["direct"] <= t["fft"] else "fft"


def correlate(
    x: np.ndarray,
    w: np.ndarray,
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
    *,
    method: str = "auto",
) -> np.ndarray:
    """N-d grouped cross-correlation of zero-padded ``x`` with ``w`` (see the module doc).

    Parameters
    ----------
    x : ndarray, shape (batch, channels, *spatial)
    w : ndarray, shape (out_channels, channels // groups, *kernel)
        Same float dtype as ``x``; never modified; any strides.
    pads : tuple of (low, high) pairs, one per spatial axis
    strides, dilations : tuple of int, one per spatial axis
    groups : int
    method : {'auto', 'fft', 'direct'}, optional
        'auto' picks by the module's rule; 'fft' and 'direct' force a path ('fft' on
        non-finite data spreads NaN over whole planes: the caller asked for it).

    Returns
    -------
    ndarray, shape (batch, out_channels, *out), dtype of ``x``
    """
    if method not in METHODS:
        raise LegacyconvError(
            f"method must be one of {{'auto', 'fft', 'direct'}}. Received: method={method!r}"
        )
    if x.ndim == 3:  # 1-d: a 2-d problem with a unit leading axis
        out = correlate(
            x[:, :, None],
            w[:, :, None],
            ((0, 0), *pads),
            (1, *strides),
            (1, *dilations),
            groups,
            method=method,
        )
        return out[:, :, 0]
    n, n_out = x.shape[0], w.shape[0]
    axes = [
        _axis(s, k, p, st, d) for s, k, p, st, d in zip(x.shape[2:], w.shape[2:], pads, strides, dilations)
    ]
    out_sp = tuple(a.out for a in axes)
    if n * n_out * math.prod(out_sp) == 0 or w.shape[1] == 0:
        return np.zeros((n, n_out) + out_sp, dtype=x.dtype)
    if method == "auto":
        if _all_finite(x) and _all_finite(w):
            method = choose_method(x.shape, w.shape, pads, strides, dilations, groups)
        else:
            method = "direct"
    if method == "fft":
        return _fft_correlate(x, w, axes, groups)
    return _direct_correlate(x, w, axes, groups)


# ---------------------------------------------------------------------------------------------
# FFT path


# (phase index per axis, destination slices, source slices) of each input phase to copy
_Fills = list[tuple[tuple[int, ...], tuple[slice, ...], tuple[slice, ...]]]


def _fft_correlate(x: np.ndarray, w: np.ndarray, axes: list[_Axis], groups: int) -> np.ndarray:
    n, channels = x.shape[:2]
    n_out, cg = w.shape[:2]
    og = n_out // groups
    nd = len(axes)
    cdtype = np.result_type(x.dtype, np.complex64)
    spatial = tuple(range(-nd, 0))
    phase_counts = tuple(len(a.taps) for a in axes)
    phases = math.prod(phase_counts)
    span = tuple(a.span(a.max_taps) for a in axes)
    fft_shape = _fft_shape(axes)
    half = fft_shape[:-1] + (fft_shape[-1] // 2 + 1,)
    bins = math.prod(half)

    # Kernel phases, each dilated by d' (zeros between taps), as extra input channels.
    dk = tuple((a.max_taps - 1) * a.sub_dilation + 1 for a in axes)
    wd = np.zeros((n_out, cg) + phase_counts + dk, dtype=x.dtype)
    for combo in itertools.product(*(range(c) for c in phase_counts)):
        dst: tuple[Any, ...] = (slice(None), slice(None), *combo) + tuple(
            slice(0, (a.taps[p] - 1) * a.sub_dilation + 1, a.sub_dilation) for a, p in zip(axes, combo)
        )
        wd[dst] = w[
            (slice(None), slice(None)) + tuple(slice(p, None, a.sub_stride) for a, p in zip(axes, combo))
        ]
    cgp = cg * phases
    size = math.prod(fft_shape)
    wf = scipy.fft.rfftn(
        wd.reshape((n_out, cgp) + dk), s=fft_shape, axes=spatial, workers=_fft_workers(n_out * cgp * size)
    )
    np.conjugate(wf, out=wf)  # correlation theorem: X * conj(W)
    wf = wf.reshape(groups, og, cgp, bins)
    del wd

    itemsize = x.dtype.itemsize
    csize = np.dtype(cdtype).itemsize
    # Per image: input phases, their spectrum, the mixed spectrum (and the loop's temporary)
    # and the inverse transform. Fixed: the weights' spectrum and its transposed copy.
    per_image = (
        channels * phases * math.prod(span) * itemsize
        + channels * phases * bins * csize
        + 2 * n_out * bins * csize
        + n_out * size * itemsize
    )
    fixed = 2 * wf.nbytes
    images = int(max(1, min(n, (get_workspace_limit() - fixed) // per_image)))
    out = np.empty((n, n_out) + tuple(a.out for a in axes), dtype=x.dtype)
    fills: _Fills = []
    for combo in itertools.product(*(range(c) for c in phase_counts)):
        pairs = [_source(a, a.dilation * p, a.stride, s) for a, p, s in zip(axes, combo, span)]
        if all(d.stop > d.start for d, _ in pairs):
            fills.append((combo, tuple(d for d, _ in pairs), tuple(s for _, s in pairs)))
    if _mixing(cgp, og, images) == "matmul":
        _fft_chunks_matmul(x, wf, out, fills, images, groups, phase_counts, span, fft_shape)
    else:
        _fft_chunks_loop(x, wf, out, fills, images, groups, phase_counts, span, fft_shape)
    return out


def _fft_chunks_loop(
    x: np.ndarray,
    wf: np.ndarray,
    out: np.ndarray,
    fills: _Fills,
    images: int,
    groups: int,
    phase_counts: tuple[int, ...],
    span: tuple[int, ...],
    fft_shape: tuple[int, ...],
) -> None:
    """Batch chunks in the natural layout ``(image, channel, *spatial)``; the channel mixing
    is a loop of broadcasted multiply-adds over the channels."""
    channels = x.shape[1]
    n_out = out.shape[1]
    nd = len(span)
    spatial = tuple(range(-nd, 0))
    size = math.prod(fft_shape)
    half = fft_shape[:-1] + (fft_shape[-1] // 2 + 1,)
    # Regions of the input phases never written stay zero (the padding): one buffer serves
    # every chunk.
    xp = np.zeros((images, channels) + phase_counts + span, dtype=x.dtype)
    crop = (slice(None), slice(None)) + tuple(slice(0, t) for t in out.shape[2:])
    for b0 in range(0, x.shape[0], images):
        b1 = min(x.shape[0], b0 + images)
        nb = b1 - b0
        buf = xp[:nb]
        for combo, dst, src in fills:
            where: tuple[Any, ...] = (slice(None), slice(None), *combo, *dst)
            buf[where] = x[(slice(b0, b1), slice(None), *src)]
        xf = scipy.fft.rfftn(
            buf.reshape((nb, channels * math.prod(phase_counts)) + span),
            s=fft_shape,
            axes=spatial,
            workers=_fft_workers(buf.size // math.prod(span) * size),
        )
        yf = _mix_loop(xf.reshape(nb, groups, -1, math.prod(half)), wf)
        del xf
        y = scipy.fft.irfftn(
            yf.reshape((nb, n_out) + half), s=fft_shape, axes=spatial, workers=_fft_workers(nb * n_out * size)
        )
        del yf
        out[b0:b1] = y[crop]


def _fft_chunks_matmul(
    x: np.ndarray,
    wf: np.ndarray,
    out: np.ndarray,
    fills: _Fills,
    images: int,
    groups: int,
    phase_counts: tuple[int, ...],
    span: tuple[int, ...],
    fft_shape: tuple[int, ...],
) -> None:
    """Batch chunks in the layout ``(group, *spatial, channel, image)``, so that after the
    transform each frequency bin holds a ``(channels, images)`` matrix: the channel mixing is
    one batched matmul over the bins."""
    channels = x.shape[1]
    n_out = out.shape[1]
    cg = channels // groups
    og = n_out // groups
    nd = len(span)
    size = math.prod(fft_shape)
    half = fft_shape[:-1] + (fft_shape[-1] // 2 + 1,)
    bins = math.prod(half)
    transformed = tuple(range(1, nd + 1))
    wt = np.ascontiguousarray(wf.transpose(0, 3, 1, 2))  # (groups, bins, og, cg * phases)
    xp = np.zeros((groups, *span, cg, *phase_counts, images), dtype=x.dtype)
    crop = (slice(None),) + tuple(slice(0, t) for t in out.shape[2:])
    for b0 in range(0, x.shape[0], images):
        b1 = min(x.shape[0], b0 + images)
        nb = b1 - b0
        buf = xp[..., :nb]
        for combo, dst, src in fills:
            lens = tuple(d.stop - d.start for d in dst)
            block = x[(slice(b0, b1), slice(None), *src)].reshape((nb, groups, cg) + lens)
            where: tuple[Any, ...] = (slice(None), *dst, slice(None), *combo, slice(None))
            buf[where] = np.moveaxis(block, (1, 2, 0), (0, nd + 1, nd + 2))
        xf = scipy.fft.rfftn(
            buf, s=fft_shape, axes=transformed, workers=_fft_workers(buf.size // math.prod(span) * size)
        )
        yt = np.matmul(wt, xf.reshape(groups, bins, -1, nb))  # (groups, bins, og, nb)
        del xf
        # The spectrum is small: lay it out as (nb, groups, og, *half) so that the inverse
        # transforms run over contiguous planes and land in the output's order.
        order = (nd + 2, 0, nd + 1) + transformed
        ys = np.ascontiguousarray(yt.reshape((groups, *half, og, nb)).transpose(order))
        del yt
        last = tuple(range(3, 3 + nd))
        y = scipy.fft.irfftn(ys, s=fft_shape, axes=last, workers=_fft_workers(nb * n_out * size))
        del ys
        out[b0:b1].reshape((nb, groups, og) + out.shape[2:])[...] = y[(slice(None),) * 2 + crop]


def _mix_loop(xf: np.ndarray, wf: np.ndarray) -> np.ndarray:
    """``yf[b, g, o] = sum_c xf[b, g, c] * wf[g, o, c]`` by broadcasted multiply-adds."""
    yf = np.multiply(xf[:, :, None, 0], wf[None, :, :, 0])
    if xf.shape[2] > 1:
        tmp = np.empty_like(yf)
        for c in range(1, xf.shape[2]):
            np.multiply(xf[:, :, None, c], wf[None, :, :, c], out=tmp)
            yf += tmp
    return yf


# ---------------------------------------------------------------------------------------------
# Direct path


def _direct_correlate(x: np.ndarray, w: np.ndarray, axes: list[_Axis], groups: int) -> np.ndarray:
    """Sum, over stride phases and output phases, of plain valid correlations computed by
    ``scipy.signal.correlate2d`` on tall images (see :func:`_valid_sum`)."""
    out = np.zeros((x.shape[0], w.shape[0]) + tuple(a.out for a in axes), dtype=x.dtype)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN, as in a GEMM
        _direct_sums(x, w, axes, groups, out)
    return out


def _direct_sums(x: np.ndarray, w: np.ndarray, axes: list[_Axis], groups: int, out: np.ndarray) -> None:
    """Add every (stride phase, output phase) sub-problem into ``out``."""
    n, channels = x.shape[:2]
    everything = (slice(None), slice(None))
    for combo in itertools.product(*(range(len(a.taps)) for a in axes)):
        kernel = w[everything + tuple(slice(p, None, a.sub_stride) for a, p in zip(axes, combo))]
        for rcombo in itertools.product(*(range(min(a.sub_dilation, a.out)) for a in axes)):
            counts = tuple(len(range(r, a.out, a.sub_dilation)) for a, r in zip(axes, rcombo))
            length = tuple(c + t - 1 for c, t in zip(counts, kernel.shape[2:]))
            # Channels first, each channel's images stacked into one tall 2-d array, with
            # kernel_rows - 1 zero rows after the last image so that the valid correlation
            # has exactly one output row per input row.
            rows = n * math.prod(length[:-1])
            tall = np.zeros((channels, rows + kernel.shape[-2] - 1, length[-1]), dtype=x.dtype)
            xs = tall[:, :rows].reshape((channels, n) + length)
            dst, src = [], []
            for a, p, r, ln in zip(axes, combo, rcombo, length):
                d, sl = _source(a, a.dilation * p + a.stride * r, a.stride * a.sub_dilation, ln)
                dst.append(d)
                src.append(sl)
            if all(d.stop > d.start for d in dst):
                xs[(*everything, *dst)] = np.moveaxis(x[(*everything, *src)], 1, 0)
            target = out[everything + tuple(slice(r, None, a.sub_dilation) for a, r in zip(axes, rcombo))]
            _valid_sum(tall, (n,) + length, kernel, groups, target)


def _valid_sum(
    tall: np.ndarray, image_shape: tuple[int, ...], kernel: np.ndarray, groups: int, target: np.ndarray
) -> None:
    """``target[b, o] += sum_c valid_correlation(xs[c, b], kernel[o, c])`` (stride 1), where
    ``tall[c]`` holds ``xs[c]`` of shape ``image_shape`` as rows (batch and all but the last
    spatial axis) followed by zero rows.

    One ``correlate2d`` call per (filter, channel, leading-axis tap) covers the whole batch;
    rows that straddle two images are computed and skipped.
    """
    n_out, cg = kernel.shape[:2]
    og = n_out // groups
    lead_taps = kernel.shape[2:-2]
    counts = target.shape[2:]
    keep = (slice(None),) * (1 + len(lead_taps))  # images, leading axes (sliced below)
    keep += (slice(0, counts[-2]), slice(None))
    for o in range(n_out):
        g = o // og
        acc = target[:, o]
        for ci in range(cg):
            plane = tall[g * cg + ci]
            kern = kernel[o, ci]
            for lead in itertools.product(*(range(t) for t in lead_taps)):
                res = scipy.signal.correlate2d(plane, kern[lead], mode="valid")
                res = res.reshape(image_shape[:-1] + (counts[-1],))[keep]
                acc += res[(slice(None),) + tuple(slice(j, j + c) for j, c in zip(lead, counts[:-2]))]


def correlate_weight_grad(
    x: np.ndarray,
    y: np.ndarray,
    kernel: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """The kernel gradient of :func:`correlate` (see
    :func:`legacyconv.engines.numpy_gemm.correlate_weight_grad`), as a correlation."""
    return weight_grad_by_correlation(correlate, x, y, kernel, pads, strides, dilations, groups)


def correlate_input_grad(
    y: np.ndarray,
    w: np.ndarray,
    out_spatial: tuple[int, ...],
    pads: Pads,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """The input gradient of :func:`correlate` (see
    :func:`legacyconv.engines.numpy_gemm.correlate_input_grad`), as a correlation."""
    return input_grad_by_correlation(correlate, y, w, out_spatial, pads, strides, dilations, groups)
