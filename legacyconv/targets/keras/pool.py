"""Theano's pooling (``pool``, ``global_pool``) as stock Keras 3 layers, channels-last.

Every window Theano pools is made a full ``'valid'`` window of a stock pooling layer:

* **max**: the input is edge-replicated (``Cropping`` of the edge cell + ``Concatenate``) by
  the padding on the low side and by what the last window needs on the high side. Exact: a
  window reaching into the replicated cells also covers the edge cell next to them (padding and
  the overhang of ``ignore_border=False`` are both smaller than the window), so the replicas
  never change a maximum.
* **sum / average**: zero padding (zeros add nothing to a sum), ``AveragePooling`` (the window
  sum divided by the window size ``n``), then a per-position factor ``n / divisor`` with Theano's
  divisors (``average_exc_pad`` and clipped ``ignore_border=False`` windows count only image
  cells): a ``Rescaling`` when the factor is one number, else a constant, non-trainable
  ``EinsumDense`` (``'abcd,bc->abcd'``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._pool_plan import _axis
from ...graph import Node
from ._context import KerasBuild, Perm, channels_last_perm, emits, refuses
from .conv import crop_layer, pad_layer

__all__ = ["edge_replicate", "scale_positions"]


def edge_replicate(
    b: KerasBuild, stem: str, x: Any, sizes: tuple[int, ...], amounts: list[tuple[int, int]]
) -> Any:
    """Replicate the edge cells of channels-last ``x`` by ``amounts`` ((lo, hi) per spatial axis)."""
    rank = len(sizes)
    sizes = tuple(sizes)
    for axis, (lo, hi) in enumerate(amounts):
        if not lo and not hi:
            continue
        parts: list[list[Any]] = []
        for side, count in (("lo", lo), ("hi", hi)):
            if not count:
                parts.append([])
                continue
            keep = [(0, 0)] * rank
            keep[axis] = (0, sizes[axis] - 1) if side == "lo" else (sizes[axis] - 1, 0)
            edge = crop_layer(b, b.name(stem, f"edge{axis}{side}"), tuple(keep))(x)
            parts.append([edge] * count)
        x = b.layers.Concatenate(axis=axis + 1, name=b.name(stem, f"replicate{axis}"))(
            [*parts[0], x, *parts[1]]
        )
        sizes = tuple(s + lo + hi if i == axis else s for i, s in enumerate(sizes))
    return x


def scale_positions(b: KerasBuild, name: str, x: Any, factors: np.ndarray) -> Any:
    """Multiply channels-last ``x`` by ``factors`` (one per spatial position) with stock layers.

    A constant factor is a ``Rescaling``; otherwise a non-trainable ``EinsumDense`` whose kernel
    holds the factors (saved with the model's weights).
    """
    flat = factors.ravel()
    if np.all(flat == flat[0]):
        return b.layers.Rescaling(float(flat[0]), name=name)(x)
    letters = "bcd"[: factors.ndim]
    equation = f"a{letters}z,{letters}->a{letters}z"
    out_shape = tuple(int(v) for v in x.shape[1:])
    layer = b.layers.EinsumDense(equation, output_shape=out_shape, trainable=False, name=name)
    return b.apply(layer, x, [factors.astype(np.float32)])


@refuses("pool", "global_pool")
def _pool_refusal(node: Node) -> str | None:
    if node.op == "global_pool":
        mode = node.attrs.get("mode", "average")
        return None if mode in ("max", "average") else f"global pooling mode {mode!r} is not supported"
    rank = len(node.attrs["ws"])
    return None if rank in (1, 2, 3) else f"pooling over {rank} axes has no stock Keras 3 layer"


@emits("pool")
def emit_pool(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``pool`` → edge replication / zero padding + a 'valid' stock pooling (+ divisor factors)."""
    ws = tuple(int(v) for v in node.attrs["ws"])
    rank = len(ws)
    strides = tuple(int(v) for v in node.attrs.get("strides", (1,) * rank))
    pads = tuple(int(v) for v in node.attrs.get("pads", (0,) * rank))
    ignore_border = bool(node.attrs.get("ignore_border", True))
    mode = node.attrs.get("mode", "max")
    sizes = tuple(int(s) for s in b.legacy_shape(node.inputs[0])[2:] if s is not None)
    axes = [_axis(s, w, st, p, ignore_border, mode) for s, w, st, p in zip(sizes, ws, strides, pads)]
    x = b.channels_last(node.inputs[0])
    # cells Theano's windows reach before / past the image, in image coordinates
    before = [a.pad for a in axes]
    after = [(a.out - 1) * a.stride + a.ws - a.pad - a.size for a in axes]
    crops = [(0, max(-h, 0)) for h in after]
    if any(c for pair in crops for c in pair):  # padding rows no window reaches
        x = crop_layer(b, b.name(node, "unused"), tuple(crops))(x)
        sizes = tuple(s - c[1] for s, c in zip(sizes, crops))
    grow = [(lo, max(hi, 0)) for lo, hi in zip(before, after)]
    if mode == "max":
        if any(v for pair in grow for v in pair):
            x = edge_replicate(b, node.name, x, sizes, grow)
        cls = {1: b.layers.MaxPooling1D, 2: b.layers.MaxPooling2D, 3: b.layers.MaxPooling3D}[rank]
        return cls(ws, strides, padding="valid", name=b.name(node))(x), channels_last_perm(rank + 2)
    if any(v for pair in grow for v in pair):
        x = pad_layer(b, b.name(node, "pad"), tuple(grow))(x)
    cls = {1: b.layers.AveragePooling1D, 2: b.layers.AveragePooling2D, 3: b.layers.AveragePooling3D}[rank]
    n = int(np.prod(ws))
    divisors = np.ones((), dtype=np.float64)
    for a in axes:
        d = np.ones(a.out) if mode == "sum" else a.divisors.astype(np.float64)
        divisors = np.multiply.outer(divisors, d)
    factors = n / divisors
    if np.all(factors == 1.0):
        return cls(ws, strides, padding="valid", name=b.name(node))(x), channels_last_perm(rank + 2)
    y = cls(ws, strides, padding="valid", name=b.name(node, "mean"))(x)
    return scale_positions(b, b.name(node), y, factors), channels_last_perm(rank + 2)


@emits("global_pool")
def emit_global_pool(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``global_pool`` → GlobalMaxPooling{r}D / GlobalAveragePooling{r}D: (N, C)."""
    rank = b.rank(node.inputs[0]) - 2
    mode = node.attrs.get("mode", "average")
    kinds = {"max": "GlobalMaxPooling", "average": "GlobalAveragePooling"}
    cls = getattr(b.layers, f"{kinds[mode]}{rank}D")
    return cls(name=b.name(node))(b.channels_last(node.inputs[0])), (0, 1)
