"""Activations (``activation``, ``prelu``) as stock Keras 3 layers, in whatever layout the input
is held (elementwise), softmax axes mapped through the layout.

Theano's ``hard_sigmoid`` is ``clip(0.2 x + 0.5, 0, 1)`` (Keras 3's has slope 1/6): it is
``Rescaling(0.2, offset=0.5)`` + ``ReLU(max_value=1)``, the same two operations.
``thresholded_relu`` (``x * (x > theta)``) is ``ReLU(threshold=theta)``, which Keras computes as
``where(x > theta, x, 0)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from ...graph import Node
from ._context import KerasBuild, Perm, emits, refuses

__all__ = ["KERAS_ACTIVATIONS", "activation_layers", "fuse_activation"]

#: graph activation fn -> the Keras 3 activation computing the same function
KERAS_ACTIVATIONS = {
    "relu": "relu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "softplus": "softplus",
    "softsign": "softsign",
    "selu": "selu",
    "exp": "exponential",
    "linear": "linear",
}


def activation_layers(b: KerasBuild, fn: str, name: str, attrs: dict[str, Any], source: str) -> list[Any]:
    """The stock layers applying the graph activation ``fn`` elementwise (the last one named ``name``).

    Softmax is handled by the caller (it needs an axis).
    """
    if fn in KERAS_ACTIVATIONS:
        return [b.layers.Activation(KERAS_ACTIVATIONS[fn], name=name)]
    if fn == "hard_sigmoid":
        return [
            b.layers.Rescaling(0.2, offset=0.5, name=b.name(name, "affine")),
            b.layers.ReLU(max_value=1.0, name=name),
        ]
    if fn == "elu":
        return [b.layers.ELU(alpha=float(attrs.get("alpha", 1.0)), name=name)]
    if fn == "leaky_relu":
        return [b.layers.LeakyReLU(negative_slope=float(attrs.get("alpha", 0.3)), name=name)]
    if fn == "thresholded_relu":
        return [b.layers.ReLU(threshold=float(attrs.get("theta", 1.0)), name=name)]
    raise LegacyconvError(f"{source}: activation {fn!r} has no stock Keras 3 layer")


def fuse_activation(b: KerasBuild, node: Node) -> tuple[str | None, str]:
    """The Keras activation to compute inside ``node``'s layer, and that layer's name.

    When the only reader of ``node`` (a conv or dense without a reference of its own, not a graph
    output) is an elementwise activation Keras has under the same name, the layer applies it
    (``Conv2D(activation='relu')``), takes the activation node's name, and the activation node
    emits nothing. Otherwise ``(None, name of node)``.
    """
    readers = b.graph.consumers(node.name)
    if node.reference or node.name in b.graph.outputs or len(readers) != 1:
        return None, b.name(node)
    act = readers[0]
    if act.op != "activation" or act.inputs != (node.name,) or act.attrs.get("fn") not in KERAS_ACTIVATIONS:
        return None, b.name(node)
    b.fused.add(act.name)
    return KERAS_ACTIVATIONS[act.attrs["fn"]], b.name(act)


@refuses("activation")
def _activation_refusal(node: Node) -> str | None:
    fn = node.attrs["fn"]
    known = {
        *KERAS_ACTIVATIONS,
        "hard_sigmoid",
        "elu",
        "leaky_relu",
        "thresholded_relu",
        "softmax",
        "log_softmax",
    }
    return None if fn in known else f"activation {fn!r} has no stock Keras 3 layer"


@emits("activation")
def emit_activation(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``activation`` → Activation / Softmax / ReLU / ELU / LeakyReLU / Rescaling + ReLU (or
    nothing: computed by the conv / dense layer before it)."""
    fn = node.attrs["fn"]
    x, perm = b.held(node.inputs[0])
    if node.name in b.fused:
        return x, perm
    if fn in ("softmax", "log_softmax"):
        legacy_axis = int(node.attrs.get("axis", -1)) % len(perm)
        axis = perm.index(legacy_axis)
        if fn == "softmax":
            return b.layers.Softmax(axis=axis, name=b.name(node))(x), perm
        if axis != len(perm) - 1:  # Keras' log_softmax works on the last axis
            perm = tuple(a for a in perm if a != legacy_axis) + (legacy_axis,)
            x = b.get(node.inputs[0], perm)
        return b.layers.Activation("log_softmax", name=b.name(node))(x), perm
    if fn == "linear":
        return b.layers.Identity(name=b.name(node))(x), perm
    if fn == "leaky_relu" and float(node.attrs.get("alpha", 0.3)) < 0:
        # Keras 3's LeakyReLU refuses a negative slope (Keras 1/2 and Theano took any); PReLU
        # computes the same max(0, x) + alpha * min(0, x) with one slope shared by every axis
        alpha = np.full((1,) * (len(perm) - 1), float(node.attrs["alpha"]), np.float32)
        layer = b.layers.PReLU(shared_axes=list(range(1, len(perm))), name=b.name(node))
        return b.apply(layer, x, [alpha]), perm
    for layer in activation_layers(b, fn, b.name(node), node.attrs, node.source or node.name):
        x = layer(x)
    return x, perm


@emits("prelu")
def emit_prelu(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``prelu`` → PReLU with the slopes transposed to the held layout; axes where the legacy
    slopes broadcast (size 1) become ``shared_axes``."""
    x, perm = b.held(node.inputs[0])
    rank = len(perm)
    alpha = np.asarray(node.weights["alpha"], dtype=np.float32)
    alpha = alpha.reshape((1,) * (rank - 1 - alpha.ndim) + alpha.shape)
    alpha = alpha.transpose([a - 1 for a in perm[1:]])
    shared = [i + 1 for i, n in enumerate(alpha.shape) if n == 1 and x.shape[i + 1] != 1]
    layer = b.layers.PReLU(shared_axes=shared or None, name=b.name(node))
    return b.apply(layer, x, [alpha]), perm
