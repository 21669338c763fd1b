"""Cross-channel local response normalisation: the arithmetic of Lasagne's
``LocalResponseNormalization2DLayer``, shared by the Lasagne mirror's layer and the graph
runner's ``lrn`` op.

Lasagne computes ``x / (k + alpha * sum of the n neighbouring channels' x**2) ** beta`` in the
input's dtype: the squares are zero-padded by ``n // 2`` channels on each side, and the scale is
``k + t_0 + t_1 + ... + t_{n-1}`` summed in channel order, each term ``t_i = alpha * x**2``
rounded to the dtype. :func:`cross_channel_lrn` keeps those sums term by term, so its scale is
the same bits; it runs them a cache-sized block of images at a time, in place, with no
whole-batch temporary for each term, the blocks shared out over the cores (each block's bits
are its own: threads do not change them; on 2 cores, float32, (8, 192, 56, 56) 23.9 -> 13.9
ms, (10, 96, 55, 55) 14.2 -> 7.6; not so within a network, where OpenBLAS's worker is still
spinning on the second core after the convolution before the LRN layer: GoogLeNet through the
Lasagne mirror 383 -> 386 ms, its two LRN layers included), and raises the scale to ``beta`` in float64, rounded
once to the dtype: the correctly rounded power, the same bits on every CPU (NumPy's float32
``power`` is a libm or SIMD routine within about an ulp, by CPU; through a division, a
1-ulp power moved outputs by up to 3 ulps). ``beta = 0.75``, Lasagne's and Caffe's default,
is ``sqrt(s) * sqrt(sqrt(s))``: float32 ``power`` one element at a time took 48 ms against
23 ms on (8, 192, 56, 56) float32 on a 2-core Zen 3. Other betas pay for the float64 power:
that layer with ``beta = 0.6`` took 76 ms against 36 ms with float32 ``power``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ._errors import LegacyconvError
from ._threads import parallel_blocks

__all__ = ["cross_channel_lrn"]

#: Input bytes per block: whole images up to this size together, so that the terms, the scale
#: and the float64 power stay in cache ...
_BLOCK_BYTES = 2**20
#: ... and an image larger than this in blocks of its positions (every channel), so that the
#: memory used beyond the output stays bounded (here by about 5 times this a thread). Between the two,
#: one image per block. Measured, float32, 2 cores: (8, 192, 56, 56), 2.4 MB images, 40 ms
#: whole against 53 ms in 1 MiB blocks of positions; (4, 480, 56, 56), 6 MB images, 70 against
#: 86 ms; (1, 64, 512, 512), 67 MB, 131 ms in 1 MiB blocks of positions, 153 ms in 4 MiB ones.
_IMAGE_BYTES = 2**24


def cross_channel_lrn(x: Any, alpha: float, k: float, beta: float, n: int) -> np.ndarray:
    """``x / (k + alpha * sum_{|c' - c| <= n // 2} x[:, c']**2) ** beta`` over axis 1 of a
    floating-point ``x`` ``(batch, channels, ...)``, in ``x``'s dtype, summed as Lasagne does
    (see the module doc). ``n`` must be odd.

    >>> cross_channel_lrn(np.full((1, 1, 1, 1), 2.0), alpha=1.0, k=1, beta=1, n=1)
    array([[[[0.4]]]])
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise LegacyconvError(
            f"local response normalisation needs a floating-point input (as Lasagne's layer "
            f"computes in its dtype). Received: dtype {x.dtype}, shape {x.shape}"
        )
    if x.ndim < 2:
        raise LegacyconvError(
            f"local response normalisation needs (batch, channels, ...) input. Received: shape {x.shape}"
        )
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 or n % 2 == 0:
        raise LegacyconvError(
            f"local response normalisation needs an odd n >= 1 (Lasagne's rule). Received: n={n!r}"
        )
    dt = x.dtype.type
    half = n // 2
    batch, channels = x.shape[:2]
    out = np.empty(x.shape, dtype=x.dtype)
    if out.size == 0:
        return out
    # blocks of whole images, or of one image's positions where an image exceeds a block (the
    # reshape copies an input that is not contiguous enough to be viewed so, once)
    x3, out3 = x.reshape(batch, channels, -1), out.reshape(batch, channels, -1)
    positions = x3.shape[2]
    column = channels * x.itemsize  # one position of one image, every channel
    if positions * column <= _IMAGE_BYTES:
        images, span = min(batch, max(1, _BLOCK_BYTES // (positions * column))), positions
    else:
        images, span = 1, max(1, _BLOCK_BYTES // column)
    starts = [(b0, p0) for b0 in range(0, batch, images) for p0 in range(0, positions, span)]
    sqrt_power = beta == 0.75

    def run(blocks: Iterator[int]) -> None:
        terms = np.zeros((images, channels + 2 * half, span), dtype=x.dtype)  # the pads stay zero
        # float16/32: the power in float64, rounded once
        planes = 2 if sqrt_power else 1
        wide = np.empty((planes, images, channels, span), np.float64) if x.dtype.itemsize < 8 else None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # NaN/Inf land as in the formula
            for block in blocks:
                b0, p0 = starts[block]
                m, q = min(images, batch - b0), min(span, positions - p0)
                xb, scale = x3[b0 : b0 + m, :, p0 : p0 + q], out3[b0 : b0 + m, :, p0 : p0 + q]
                t = terms[:m, :, :q]
                squares = t[:, half : half + channels]
                np.multiply(xb, xb, out=squares)
                np.multiply(squares, dt(alpha), out=squares)
                scale.fill(dt(k))
                for i in range(n):
                    scale += t[:, i : i + channels]
                if wide is None:  # float64: the power in the dtype
                    np.power(scale, dt(beta), out=scale)
                else:
                    root = wide[0, :m, :, :q]
                    if sqrt_power:
                        fourth = wide[1, :m, :, :q]
                        np.sqrt(scale, out=root, dtype=np.float64)
                        np.sqrt(root, out=fourth)
                        np.multiply(root, fourth, out=root)
                    else:
                        np.power(scale, beta, out=root, dtype=np.float64)
                    np.copyto(scale, root, casting="same_kind")
                np.divide(xb, scale, out=scale)

    parallel_blocks(len(starts), run)
    return out
