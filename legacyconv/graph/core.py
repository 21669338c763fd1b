"""Nodes, the graph, topological order and shape inference.

Every node has exactly one output tensor, named after the node. Shapes include the batch axis
(``None``) and are in the legacy layout (channels-first for images, ``(batch, steps, features)``
for sequences, as Theano held them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from .._errors import LegacyconvError

__all__ = ["Graph", "Node", "Shape"]

Shape = tuple[Optional[int], ...]


@dataclass
class Node:
    """One operation of a legacy model.

    Attributes
    ----------
    name : str
        Unique within the graph; the legacy layer's name for the node that reproduces that
        layer's output (internal helper nodes get ``<layer>/<suffix>``).
    op : str
        A registered op (:data:`legacyconv.graph.ops.OPS`).
    inputs : tuple of str
        Names of the nodes whose outputs this node reads, in order.
    attrs : dict
        The op's attributes (see the op's documentation).
    weights : dict of str to ndarray
        The op's weights in their canonical legacy layout (see the op's documentation).
    reference : str or None
        The key stem of the legacy reference output this node reproduces (``layer03_conv1``,
        ``output``, ``layer07_tower__layer01_conv_node1``), or None for internal nodes.
    source : str
        Where the node came from, for messages (``"Keras-1 layer 'conv1' (Convolution2D)"``).
    shape : tuple or None
        The output shape, filled by :meth:`Graph.infer_shapes`.
    dtype : str
        The output dtype (``'float32'`` for almost everything; ``'int32'`` for token ids).
    """

    name: str
    op: str
    inputs: tuple[str, ...] = ()
    attrs: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    reference: str | None = None
    source: str = ""
    shape: Shape | None = None
    dtype: str = "float32"

    def describe(self) -> str:
        """One line: name, op, attributes and weight shapes."""
        attrs = ", ".join(f"{k}={v!r}" for k, v in sorted(self.attrs.items()))
        weights = ", ".join(f"{k}{tuple(v.shape)}" for k, v in self.weights.items())
        parts = [p for p in (attrs, weights) if p]
        return f"{self.name}: {self.op}({', '.join(parts)}) -> {self.shape}"


@dataclass
class Graph:
    """A legacy model as nodes in insertion order, with named inputs and outputs."""

    name: str = "model"
    nodes: dict[str, Node] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    #: free-form facts about the source (framework, version, backend, file) for reports
    meta: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        op: str,
        name: str,
        inputs: tuple[str, ...] | list[str] = (),
        *,
        attrs: dict[str, Any] | None = None,
        weights: dict[str, np.ndarray] | None = None,
        reference: str | None = None,
        source: str = "",
        dtype: str = "float32",
    ) -> str:
        """Add a node and return its name (the name of its output tensor)."""
        from .ops import OPS

        if op not in OPS:
            raise LegacyconvError(f"unknown graph op {op!r} for node {name!r}; known ops: {sorted(OPS)}")
        if name in self.nodes:
            raise LegacyconvError(f"the graph already has a node named {name!r}")
        for src in inputs:
            if src not in self.nodes:
                raise LegacyconvError(f"node {name!r} reads {src!r}, which is not (yet) in the graph")
        self.nodes[name] = Node(
            name=name,
            op=op,
            inputs=tuple(inputs),
            attrs=dict(attrs or {}),
            weights=dict(weights or {}),
            reference=reference,
            source=source,
            dtype=dtype,
        )
        if op == "input":
            self.inputs.append(name)
        return name

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.topological_order())

    def unique_name(self, stem: str) -> str:
        """``stem`` if unused, else ``stem_1``, ``stem_2`` …"""
        if stem not in self.nodes:
            return stem
        i = 1
        while f"{stem}_{i}" in self.nodes:
            i += 1
        return f"{stem}_{i}"

    def consumers(self, name: str) -> list[Node]:
        """The nodes that read ``name``'s output."""
        return [n for n in self.nodes.values() if name in n.inputs]

    def topological_order(self) -> list[Node]:
        """Nodes so that every node comes after its inputs (insertion order where free)."""
        order: list[Node] = []
        state: dict[str, int] = {}
        for start in self.nodes:
            if state.get(start):
                continue
            stack: list[tuple[str, int]] = [(start, 0)]
            while stack:
                name, i = stack.pop()
                node = self.nodes[name]
                if i == 0:
                    if state.get(name) == 2:
                        continue
                    state[name] = 1
                if i < len(node.inputs):
                    stack.append((name, i + 1))
                    src = node.inputs[i]
                    if state.get(src) == 1:
                        raise LegacyconvError(f"the graph has a cycle through {src!r} and {name!r}")
                    if not state.get(src):
                        stack.append((src, 0))
                else:
                    state[name] = 2
                    order.append(node)
        return order

    def infer_shapes(self) -> None:
        """Fill every node's ``shape`` in topological order, validating each op's geometry.

        Raises LegacyconvError naming the node and its source when an op cannot take its inputs
        (the same errors Theano raised, before any framework is imported).
        """
        from .ops import OPS

        for node in self.topological_order():
            in_shapes = [self.nodes[s].shape or () for s in node.inputs]
            try:
                node.shape = tuple(OPS[node.op].infer(node, in_shapes))
            except LegacyconvError as exc:
                where = node.source or f"node {node.name!r} ({node.op})"
                raise type(exc)(f"{where}: {exc}") from None

    def validate(self) -> None:
        """Check outputs exist and shapes are inferred; raise LegacyconvError otherwise."""
        if not self.inputs:
            raise LegacyconvError(f"graph {self.name!r} has no input")
        if not self.outputs:
            raise LegacyconvError(f"graph {self.name!r} has no output")
        for out in self.outputs:
            if out not in self.nodes:
                raise LegacyconvError(f"graph output {out!r} is not a node")
        self.infer_shapes()

    def summary(self) -> str:
        """One line per node, in topological order."""
        return "\n".join(node.describe() for node in self.topological_order())
