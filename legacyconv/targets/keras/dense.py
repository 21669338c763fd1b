"""``dense`` and ``embedding`` as stock Keras 3 layers (the legacy weights as they are).

Dense works on the last legacy axis: it takes its input as held when that axis is last in
Keras too, else in the legacy order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...graph import Node
from ._context import KerasBuild, Perm, emits, identity_perm
from .activation import fuse_activation

__all__: list[str] = []


@emits("dense")
def emit_dense(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``dense`` → Dense (kernel (in, out), as the legacy one)."""
    w = np.asarray(node.weights["W"])
    bias = node.weights.get("b")
    src = node.inputs[0]
    rank = b.rank(src)
    held = b.perm(src)
    perm = held if held[-1] == rank - 1 else identity_perm(rank)
    x = b.get(src, perm)
    activation, name = fuse_activation(b, node)
    layer = b.layers.Dense(int(w.shape[1]), use_bias=bias is not None, activation=activation, name=name)
    return b.apply(layer, x, [w] if bias is None else [w, bias]), perm


@emits("embedding")
def emit_embedding(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``embedding`` → Embedding (ids (N, T) → (N, T, dim))."""
    w = np.asarray(node.weights["W"])
    x = b.legacy(node.inputs[0])
    mask_zero = bool(node.attrs.get("mask_zero", False))
    layer = b.layers.Embedding(int(w.shape[0]), int(w.shape[1]), mask_zero=mask_zero, name=b.name(node))
    return b.apply(layer, x, [w]), identity_perm(b.rank(node.inputs[0]) + 1)
