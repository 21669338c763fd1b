"""The one independent NumPy reference the tests compare legacyconv against.

Textbook definitions, one output (or input) position at a time, in float64, with plain
elementwise products (so ``0 * inf`` gives NaN exactly where the definition has it). Nothing
here imports legacyconv: a bug in the package cannot hide in its own reference.

- :func:`pads` — Theano's border modes as ``(low, high)`` zero padding per axis.
- :func:`correlate` — N-d grouped cross-correlation of the zero-padded input.
- :func:`conv` — Theano's ``conv2d``/``conv3d`` (flip, border mode, stride, dilation, groups).
- :func:`conv_transpose` — the gradient of :func:`conv` wrt its input, by scattering (the
  adjoint's definition); Theano's ``conv2d_transpose`` / ``conv2d_grad_wrt_inputs``.
- :func:`conv_weight_grad` — the gradient of :func:`conv` wrt its filters.
- :func:`pool` — Theano's ``Pool.perform``, one window at a time; :func:`pool_3d` in 3-D.
- :func:`lrn` — Lasagne's ``LocalResponseNormalization2DLayer``, one channel at a time: in
  float64, or term by term in the input's dtype as Lasagne's graph sums it.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = [
    "conv",
    "conv_transpose",
    "conv_weight_grad",
    "correlate",
    "lrn",
    "n_windows",
    "pads",
    "pool",
    "pool_3d",
]


def pads(border_mode, kernel, dilation):
    """Theano's border modes as ``(low, high)`` zero padding per axis; 'half' and 'full' count
    the dilated kernel. Ints, per-axis ints and per-axis pairs are explicit padding."""
    dk = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    if border_mode == "valid":
        return tuple((0, 0) for _ in dk)
    if border_mode == "full":
        return tuple((k - 1, k - 1) for k in dk)
    if border_mode == "half":
        return tuple((k // 2, k // 2) for k in dk)
    if isinstance(border_mode, int):
        return tuple((border_mode, border_mode) for _ in dk)
    return tuple((p, p) if isinstance(p, int) else (p[0], p[1]) for p in border_mode)


def _zero_pad(x, pad):
    xp = np.zeros(x.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pad)))
    xp[(slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape[2:], pad))] = x
    return xp


def _flip(w):
    return w[(slice(None), slice(None)) + (slice(None, None, -1),) * (w.ndim - 2)]


def correlate(x, w, pads, strides, dilations, groups):
    """Grouped N-d cross-correlation of the zero-padded input ``(n, c, *spatial)`` with
    ``w`` ``(out, c // groups, *kernel)``: ``out[b, o, i] = sum_{c, j} xpad[b, g(o) c, i * stride
    + j * dilation] * w[o, c, j]``."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    n = x.shape[0]
    o, cg = w.shape[:2]
    kernel = w.shape[2:]
    xp = _zero_pad(x, pads)
    out_sp = tuple(
        (p - (k - 1) * d - 1) // s + 1 for p, k, d, s in zip(xp.shape[2:], kernel, dilations, strides)
    )
    out = np.zeros((n, o) + out_sp)
    og = o // groups
    with np.errstate(invalid="ignore", over="ignore"):
        for pos in itertools.product(*(range(t) for t in out_sp)):
            window = tuple(
                slice(i * s, i * s + (k - 1) * d + 1, d)
                for i, s, k, d in zip(pos, strides, kernel, dilations)
            )
            for g in range(groups):
                patch = xp[(slice(None), slice(g * cg, (g + 1) * cg)) + window]  # (n, cg, *k)
                prods = patch[:, None] * w[None, g * og : (g + 1) * og]  # (n, og, cg, *k)
                out[(slice(None), slice(g * og, (g + 1) * og)) + pos] = prods.reshape(n, og, -1).sum(-1)
    return out


def conv(x, w, border_mode="valid", subsample=None, filter_flip=True, filter_dilation=None, num_groups=1):
    """Theano's ``conv2d``/``conv3d``: the correlation with the kernel flipped along every
    spatial axis when ``filter_flip``."""
    nd = np.ndim(x) - 2
    subsample = subsample or (1,) * nd
    filter_dilation = filter_dilation or (1,) * nd
    w = np.asarray(w, np.float64)
    kernel = w.shape[2:]
    return correlate(
        x,
        _flip(w) if filter_flip else w,
        pads(border_mode, kernel, filter_dilation),
        subsample,
        filter_dilation,
        num_groups,
    )


def conv_transpose(y, w, out_spatial, border_mode, subsample, filter_dilation, num_groups, filter_flip):
    """The gradient of :func:`conv` wrt its input, by definition: every forward output value
    ``y[b, o, i]`` adds ``y * w'[o, c, j]`` to padded input position ``i * stride + j *
    dilation``; then the padding is cropped. ``w`` are the forward filters ``(out, c // groups,
    *kernel)`` and ``out_spatial`` the forward input's spatial size."""
    y = np.asarray(y, np.float64)
    w = np.asarray(w, np.float64)
    wc = _flip(w) if filter_flip else w
    n, n_out = y.shape[:2]
    cg = w.shape[1]
    og = n_out // num_groups
    kernel = w.shape[2:]
    pad = pads(border_mode, kernel, filter_dilation)
    size = [
        max(h + p[0] + p[1], (t - 1) * s + (k - 1) * d + 1)
        for h, p, t, s, k, d in zip(out_spatial, pad, y.shape[2:], subsample, kernel, filter_dilation)
    ]
    out = np.zeros((n, cg * num_groups, *size))
    for pos in itertools.product(*(range(t) for t in y.shape[2:])):
        window = tuple(
            slice(i * s, i * s + (k - 1) * d + 1, d)
            for i, s, k, d in zip(pos, subsample, kernel, filter_dilation)
        )
        for g in range(num_groups):
            yv = y[(slice(None), slice(g * og, (g + 1) * og)) + pos]  # (n, og)
            contrib = np.tensordot(yv, wc[g * og : (g + 1) * og], axes=(1, 0))  # (n, cg, *k)
            out[(slice(None), slice(g * cg, (g + 1) * cg)) + window] += contrib
    return out[(slice(None), slice(None)) + tuple(slice(p[0], p[0] + h) for p, h in zip(pad, out_spatial))]


def conv_weight_grad(x, y, kernel, border_mode, subsample, filter_dilation, num_groups, filter_flip):
    """The gradient of :func:`conv` wrt its filters, by definition: ``dw'[o, c, j] = sum_{b, i}
    y[b, o, i] * xpad[b, g(o) c, i * stride + j * dilation]``, flipped back when ``filter_flip``."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    n_out = y.shape[1]
    cg = x.shape[1] // num_groups
    og = n_out // num_groups
    xp = _zero_pad(x, pads(border_mode, kernel, filter_dilation))
    dw = np.zeros((n_out, cg, *kernel))
    for pos in itertools.product(*(range(t) for t in y.shape[2:])):
        window = tuple(
            slice(i * s, i * s + (k - 1) * d + 1, d)
            for i, s, k, d in zip(pos, subsample, kernel, filter_dilation)
        )
        for g in range(num_groups):
            yv = y[(slice(None), slice(g * og, (g + 1) * og)) + pos]  # (n, og)
            patch = xp[(slice(None), slice(g * cg, (g + 1) * cg)) + window]  # (n, cg, *k)
            dw[g * og : (g + 1) * og] += np.tensordot(yv, patch, axes=(0, 0))
    return _flip(dw) if filter_flip else dw


def n_windows(size, ws, stride, pad, ignore_border):
    """Count Theano's pooling windows along one axis by walking them (not by the closed formula)."""
    img = size + 2 * pad
    count, start = 0, 0
    if ignore_border:  # only whole windows
        while start + ws <= img:
            count, start = count + 1, start + stride
    elif stride >= ws:  # every window that starts inside the image
        while start < img:
            count, start = count + 1, start + stride
    else:  # windows until one reaches the end
        while True:
            count += 1
            if start + ws >= img:
                break
            start += stride
    return count


def pool(x, ws, ignore_border, stride, pad, mode):
    """Theano's Pool.perform, one window at a time (float64 sums and means)."""
    stride = ws if stride is None else stride
    rows, cols = x.shape[-2:]
    img = (rows + 2 * pad[0], cols + 2 * pad[1])
    padded = np.zeros(x.shape[:-2] + img, dtype=np.float64)
    padded[..., pad[0] : pad[0] + rows, pad[1] : pad[1] + cols] = x
    out_shape = tuple(
        n_windows(n, w, s, p, ignore_border) for n, w, s, p in zip((rows, cols), ws, stride, pad)
    )
    out = np.zeros(x.shape[:-2] + out_shape)
    for idx in np.ndindex(*x.shape[:-2]):
        for i in range(out_shape[0]):
            for j in range(out_shape[1]):
                bounds = []
                for axis, o in enumerate((i, j)):
                    start = o * stride[axis]
                    end = min(start + ws[axis], img[axis])
                    if mode != "average_inc_pad":  # padding excluded
                        start, end = max(start, pad[axis]), min(end, img[axis] - pad[axis])
                    bounds.append(slice(start, end))
                region = padded[idx][tuple(bounds)]
                if mode == "max":
                    out[idx + (i, j)] = region.max()
                elif mode == "sum":
                    out[idx + (i, j)] = region.sum()
                else:
                    out[idx + (i, j)] = region.mean()
    return out


def pool_3d(x, ws, stride, pad, ignore_border, mode):
    """Theano's pool_3d, every window by hand: Theano's window geometry, padding excluded from
    max/sum."""
    xp = np.pad(x.astype(np.float64), [(0, 0)] * (x.ndim - 3) + [(p, p) for p in pad], constant_values=np.nan)
    sizes = xp.shape[-3:]
    outs = []
    for n, w, s in zip(sizes, ws, stride):
        if ignore_border:
            outs.append((n - w) // s + 1)
        else:
            outs.append(max(0, (n - 1 - w + s) // s) + 1 if s < w else (n - 1) // s + 1)
    out = np.zeros(x.shape[:-3] + tuple(outs))
    for idx in itertools.product(*(range(o) for o in outs)):
        sl = tuple(slice(i * s, min(i * s + w, n)) for i, s, w, n in zip(idx, stride, ws, sizes))
        win = xp[(Ellipsis,) + sl].reshape(x.shape[:-3] + (-1,))
        if mode == "max":
            val = np.nanmax(win, axis=-1)
        elif mode == "sum":
            val = np.nansum(win, axis=-1)
        elif mode == "average_exc_pad":
            val = np.nanmean(win, axis=-1)
        else:
            val = np.nansum(win, axis=-1) / win.shape[-1]
        out[(Ellipsis,) + idx] = val
    return out


def lrn(x, alpha, k, beta, n, in_dtype=False):
    """Lasagne's cross-channel LRN, ``x / (k + alpha * sum of the n neighbouring channels'
    x**2) ** beta``, one output channel at a time.

    In float64 by default. With ``in_dtype``, in ``x``'s dtype as Lasagne's Theano graph sums
    it: ``k``, then ``alpha * x[c']**2`` (each product rounded) added for ``c' = c - n//2`` up to
    ``c + n//2`` in order, channels beyond the edges adding a zero; the power computed in float64
    and rounded once (the correctly rounded power), then the division in the dtype."""
    half = n // 2
    channels = x.shape[1]
    if not in_dtype:
        x64 = x.astype(np.float64)
        out = np.empty_like(x64)
        for c in range(channels):
            lo, hi = max(0, c - half), min(channels, c + half + 1)
            out[:, c] = x64[:, c] / (k + alpha * (x64[:, lo:hi] ** 2).sum(axis=1)) ** beta
        return out
    t = x.dtype.type
    out = np.empty_like(x)
    with np.errstate(all="ignore"):
        for c in range(channels):
            scale = np.full(x[:, c].shape, t(k), dtype=x.dtype)
            for cc in range(c - half, c + half + 1):
                term = t(alpha) * (x[:, cc] * x[:, cc]) if 0 <= cc < channels else t(0)
                scale = scale + term
            power = (scale.astype(np.float64) ** float(beta)).astype(x.dtype)
            out[:, c] = x[:, c] / power
    return out
