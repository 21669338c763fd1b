"""Ops that only move or select values: pad, crop, upsample, flatten, reshape, transpose, slice,
repeat_vector, identity. Exact by construction (no arithmetic).

``transpose`` and ``identity`` emit no layer: the legacy transpose only changes the permutation
the tensor is held in (the lazy layout); a ``Permute`` appears when a consumer needs an order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...graph import Node
from ._context import KerasBuild, Perm, channels_last_perm, emits, identity_perm, refuses
from .conv import crop_layer, pad_layer

__all__: list[str] = []


def _pairs(node: Node, key: str) -> tuple[tuple[int, int], ...]:
    return tuple((int(lo), int(hi)) for lo, hi in node.attrs[key])


@refuses("pad")
def _pad_refusal(node: Node) -> str | None:
    if float(node.attrs.get("value", 0.0)) != 0.0:
        return f"padding with value={node.attrs['value']!r} has no stock Keras 3 layer (ZeroPadding pads with zeros)"
    return None


@emits("pad")
def emit_pad(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``pad`` → ZeroPadding{r}D (asymmetric)."""
    pads = _pairs(node, "pads")
    x = b.channels_last(node.inputs[0])
    return pad_layer(b, b.name(node), pads)(x), channels_last_perm(len(pads) + 2)


@emits("crop")
def emit_crop(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``crop`` → Cropping{r}D."""
    crops = _pairs(node, "crops")
    x = b.channels_last(node.inputs[0])
    return crop_layer(b, b.name(node), crops)(x), channels_last_perm(len(crops) + 2)


@emits("upsample")
def emit_upsample(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``upsample`` → UpSampling{1,2,3}D (nearest: each cell repeated)."""
    factors = tuple(int(v) for v in node.attrs["factors"])
    rank = len(factors)
    x = b.channels_last(node.inputs[0])
    if rank == 1:
        layer = b.layers.UpSampling1D(factors[0], name=b.name(node))
    elif rank == 2:
        layer = b.layers.UpSampling2D(factors, interpolation="nearest", name=b.name(node))
    else:
        layer = b.layers.UpSampling3D(factors, name=b.name(node))
    return layer(x), channels_last_perm(rank + 2)


@emits("flatten")
def emit_flatten(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``flatten`` → [Permute to the legacy order] + Flatten."""
    x = b.legacy(node.inputs[0])
    if b.rank(node.inputs[0]) == 2:
        return b.layers.Identity(name=b.name(node))(x), (0, 1)
    return b.layers.Flatten(name=b.name(node))(x), (0, 1)


@emits("reshape")
def emit_reshape(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``reshape`` → [Permute to the legacy order] + Reshape."""
    shape = tuple(int(v) for v in node.attrs["shape"])
    x = b.legacy(node.inputs[0])
    return b.layers.Reshape(shape, name=b.name(node))(x), identity_perm(len(shape) + 1)


@emits("transpose")
def emit_transpose(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``transpose`` → nothing: the output is the input held in another permutation."""
    p = tuple(int(v) for v in node.attrs["perm"])
    x, held = b.held(node.inputs[0])
    # legacy output axis j is input axis p[j]; Keras axis i holds input axis held[i]
    return x, tuple(p.index(a) for a in held)


@emits("identity")
def emit_identity(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``identity`` → nothing (Dropout and noise layers are the identity in inference)."""
    return b.held(node.inputs[0])


@emits("repeat_vector")
def emit_repeat_vector(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``repeat_vector`` → RepeatVector."""
    x = b.legacy(node.inputs[0])
    return b.layers.RepeatVector(int(node.attrs["n"]), name=b.name(node))(x), (0, 1, 2)


@emits("slice")
def emit_slice(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``slice`` → Cropping{1,2,3}D on a layout with the sliced axis first (step 1), or a 0/1
    selection ``Dense`` on a layout with the sliced axis last (step > 1; exact for finite values)."""
    src = node.inputs[0]
    shape = b.legacy_shape(src)
    rank = len(shape)
    axis = int(node.attrs["axis"]) % rank
    size = shape[axis]
    assert size is not None
    kept = list(range(size))[slice(node.attrs.get("start"), node.attrs.get("stop"), node.attrs.get("step"))]
    step = int(node.attrs.get("step") or 1)
    held = b.perm(src)
    if step == 1 and rank >= 3:
        # put the sliced axis at Keras axis 1, keep the rest in the held order (last axis = features)
        want = (0, axis, *(a for a in held if a not in (0, axis)))
        x = b.get(src, want)
        crops = [(0, 0)] * (rank - 2)
        crops[0] = (kept[0], size - kept[-1] - 1)
        return crop_layer(b, b.name(node), tuple(crops))(x), want
    rest = [a for a in held if a not in (0, axis)]
    want = (0, *rest, axis)
    x = b.get(src, want)
    select = np.zeros((size, len(kept)), dtype=np.float32)
    select[kept, np.arange(len(kept))] = 1.0
    layer = b.layers.Dense(len(kept), use_bias=False, trainable=False, name=b.name(node))
    return b.apply(layer, x, [select]), want
