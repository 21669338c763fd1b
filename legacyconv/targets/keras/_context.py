"""The Keras target's emitter registry and build state (the lazy layout).

Every graph tensor is held as a Keras tensor plus a permutation ``perm`` from legacy axes to
Keras axes: ``keras_array == np.transpose(legacy_array, perm)`` (batch axis 0 always first).
An emitter asks for its inputs in the layout it needs: :meth:`KerasBuild.channels_last` for
spatial ops, :meth:`KerasBuild.legacy` for order-sensitive ones, :meth:`KerasBuild.held` for
elementwise ops; a ``Permute`` is inserted only when the held layout differs (once per tensor
and layout). Emitters return ``(tensor, perm)`` and name the layer that produces the node's
output after the node.

>>> channels_last_perm(4)
(0, 2, 3, 1)
>>> permute_dims((0, 2, 3, 1), (0, 1, 2, 3))
(3, 1, 2)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Optional

import numpy as np

from ..._errors import LegacyconvError
from ...graph import Graph, Node

__all__ = [
    "EMITTERS",
    "REFUSALS",
    "KerasBuild",
    "Perm",
    "channels_last_perm",
    "emits",
    "identity_perm",
    "permute_dims",
    "refuses",
]

Perm = tuple[int, ...]
Emitter = Callable[["KerasBuild", Node], tuple[Any, Perm]]
Refusal = Callable[[Node], Optional[str]]

#: graph op -> the function emitting Keras layers for it
EMITTERS: dict[str, Emitter] = {}


def emits(*ops: str) -> Callable[[Emitter], Emitter]:
    """Register the decorated function as the Keras emitter of the graph ``ops``."""

    def deco(fn: Emitter) -> Emitter:
        for op in ops:
            if op in EMITTERS:
                raise RuntimeError(f"a Keras emitter for graph op {op!r} is registered twice")
            EMITTERS[op] = fn
        return fn

    return deco


#: graph op -> a function saying why the Keras target cannot emit a node (None: it can); run on
#: every node before TensorFlow is imported
REFUSALS: dict[str, Refusal] = {}


def refuses(*ops: str) -> Callable[[Refusal], Refusal]:
    """Register the decorated ``fn(node) -> reason or None`` as the pre-check of the graph ``ops``."""

    def deco(fn: Refusal) -> Refusal:
        for op in ops:
            if op in REFUSALS:
                raise RuntimeError(f"a Keras pre-check for graph op {op!r} is registered twice")
            REFUSALS[op] = fn
        return fn

    return deco


def identity_perm(rank: int) -> Perm:
    """The legacy layout itself."""
    return tuple(range(rank))


def channels_last_perm(rank: int) -> Perm:
    """``(0, 2, …, rank - 1, 1)``: channels-first legacy axes to channels-last Keras axes."""
    if rank < 3:
        return identity_perm(rank)
    return (0, *range(2, rank), 1)


def permute_dims(held: Perm, want: Perm) -> tuple[int, ...]:
    """The 1-based ``keras.layers.Permute`` dims turning a tensor held in ``held`` into ``want``."""
    return tuple(held.index(a) for a in want[1:])


def _clean(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "__", name) or "node"


class KerasBuild:
    """The state of one graph → Keras build: tensors and layouts per node, unique layer names."""

    def __init__(self, graph: Graph, keras: Any) -> None:
        self.graph = graph
        self.keras = keras
        self.layers = keras.layers
        self._held: dict[str, tuple[Any, Perm]] = {}
        self._permuted: dict[tuple[str, Perm], Any] = {}
        self._names: set[str] = set()
        #: legacyconv layers the model needs (none today): (node, layer class, why)
        self.fallbacks: list[tuple[str, str, str]] = []
        #: activation nodes computed inside the layer of their input (see activation.fuse_activation)
        self.fused: set[str] = set()

    # --- names -----------------------------------------------------------------------
    def name(self, node: Node | str, suffix: str = "") -> str:
        """A unique Keras layer name: the node's name (``/`` → ``__``), plus ``__suffix``."""
        stem = _clean(node.name if isinstance(node, Node) else node)
        if suffix:
            stem = f"{stem}__{suffix}"
        name, i = stem, 1
        while name in self._names:
            name, i = f"{stem}_{i}", i + 1
        self._names.add(name)
        return name

    # --- tensors and layouts ---------------------------------------------------------
    def set(self, node: Node, tensor: Any, perm: Perm) -> None:
        """Record the Keras tensor holding ``node``'s output in layout ``perm``."""
        self._held[node.name] = (tensor, tuple(perm))
        self._permuted[(node.name, tuple(perm))] = tensor

    def perm(self, name: str) -> Perm:
        """The layout ``name``'s output is held in."""
        return self._held[name][1]

    def held(self, name: str) -> tuple[Any, Perm]:
        """``name``'s output as it is held (for elementwise ops)."""
        return self._held[name]

    def get(self, name: str, want: Sequence[int]) -> Any:
        """``name``'s output in layout ``want`` (a ``Permute`` is added once if needed)."""
        want = tuple(want)
        cached = self._permuted.get((name, want))
        if cached is not None:
            return cached
        tensor, held = self._held[name]
        if sorted(want) != list(range(len(held))) or want[0] != 0:
            raise LegacyconvError(f"{want} is not a layout of the {len(held)}-D output of {name!r}")
        dims = permute_dims(held, want)
        suffix = "to_" + "".join(str(a) for a in want)
        out = self.layers.Permute(dims, name=self.name(name, suffix))(tensor)
        self._permuted[(name, want)] = out
        return out

    def known_tensors(self) -> list[Any]:
        """Every Keras tensor held so far (in any layout)."""
        return list(self._permuted.values())

    def rank(self, name: str) -> int:
        return len(self._held[name][1])

    def channels_last(self, name: str) -> Any:
        """``name``'s output channels-last (NWC / NHWC / NDHWC)."""
        return self.get(name, channels_last_perm(self.rank(name)))

    def legacy(self, name: str) -> Any:
        """``name``'s output in the legacy axis order."""
        return self.get(name, identity_perm(self.rank(name)))

    def legacy_shape(self, name: str) -> tuple[int | None, ...]:
        shape = self.graph[name].shape
        if shape is None:
            raise LegacyconvError(f"node {name!r} has no inferred shape: call graph.infer_shapes() first")
        return shape

    # --- layers ----------------------------------------------------------------------
    def apply(self, layer: Any, inputs: Any, weights: Sequence[np.ndarray] | None = None) -> Any:
        """Call ``layer`` on ``inputs`` and set its weights (float32 copies, never the graph's)."""
        out = layer(inputs)
        if weights is not None:
            layer.set_weights([np.array(w, dtype=np.float32) for w in weights])
        return out
