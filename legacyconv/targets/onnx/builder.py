"""The ONNX graph under construction and the emitter registry (one emitter per graph op).

An emitter ``fn(b, node, xs)`` receives the :class:`OnnxBuilder`, the graph node and the names of
its input tensors; it adds ONNX nodes whose last output is the tensor named ``node.name``, so
every legacy layer's output is reachable by its own name. Tensors stay in the legacy layout
(channels-first, as Theano held them): ONNX is NCHW-native, so no emitter re-lays activations.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..._errors import LegacyconvError
from ...graph.core import Graph, Node
from ._imports import import_onnx

__all__ = ["EMITTERS", "Emitter", "OnnxBuilder", "emits"]

Emitter = Callable[["OnnxBuilder", Node, list[str]], None]

#: graph op -> its ONNX emitter
EMITTERS: dict[str, Emitter] = {}


def emits(*ops: str) -> Callable[[Emitter], Emitter]:
    """Register the decorated ``fn(builder, node, input_names)`` as the ONNX emitter of ``ops``."""

    def deco(fn: Emitter) -> Emitter:
        for op in ops:
            if op in EMITTERS:
                raise RuntimeError(f"graph op {op!r} has two ONNX emitters")
            EMITTERS[op] = fn
        return fn

    return deco


class OnnxBuilder:
    """Collects ONNX nodes and initializers for one :class:`~legacyconv.graph.Graph`.

    Parameters
    ----------
    graph : Graph
        The model, shapes inferred.
    opset : int
        The default-domain opset the emitters write for.
    options : dict, optional
        Emitter options (``unroll_rnn``).
    """

    def __init__(self, graph: Graph, opset: int, options: dict[str, Any] | None = None) -> None:
        self.onnx = import_onnx()
        self.graph = graph
        self.opset = opset
        self.options = dict(options or {})
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._used: set[str] = set(graph.nodes)

    # --- names and shapes -------------------------------------------------------------------

    def fresh(self, node: Node, suffix: str) -> str:
        """A new tensor name ``<node>/<suffix>`` (numbered if taken)."""
        stem = f"{node.name}/{suffix}"
        name, i = stem, 1
        while name in self._used:
            name, i = f"{stem}_{i}", i + 1
        self._used.add(name)
        return name

    def in_shape(self, node: Node, i: int = 0) -> tuple[Any, ...]:
        """The inferred legacy shape of ``node``'s ``i``-th input (batch axis None)."""
        shape = self.graph.nodes[node.inputs[i]].shape
        if shape is None:
            raise LegacyconvError(f"node {node.inputs[i]!r} has no inferred shape; call graph.infer_shapes()")
        return shape

    def in_dtype(self, node: Node, i: int = 0) -> np.dtype:
        """The dtype of ``node``'s ``i``-th input tensor."""
        return np.dtype(self.graph.nodes[node.inputs[i]].dtype)

    # --- building ---------------------------------------------------------------------------

    def const(self, node: Node, suffix: str, value: Any, dtype: Any = None) -> str:
        """Add ``value`` as an initializer (in its own dtype unless ``dtype`` is given); return its name."""
        array = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
        name = self.fresh(node, suffix)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def ints(self, node: Node, suffix: str, values: Any) -> str:
        """An int64 initializer (shapes, axes, pads)."""
        return self.const(node, suffix, np.asarray(values, dtype=np.int64).reshape(-1))

    def weight(self, node: Node, key: str, dtype: Any = None) -> str:
        """``node.weights[key]`` as an initializer ``<node>/<key>``, in its legacy dtype."""
        return self.const(node, key, node.weights[key], dtype)

    def op(self, op_type: str, inputs: list[str], output: str, **attrs: Any) -> str:
        """Add one ONNX node writing the tensor ``output``; return ``output``."""
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [output], name=output, **attrs))
        return output

    def op_multi(self, op_type: str, inputs: list[str], outputs: list[str], **attrs: Any) -> list[str]:
        """Add one ONNX node with several outputs (``''`` for an unused optional one)."""
        name = next(o for o in outputs if o)
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, outputs, name=name, **attrs))
        return outputs

    def reduce(self, node: Node, suffix: str, op_type: str, x: str, axes: list[int], keepdims: bool) -> str:
        """``ReduceMax``/``ReduceMean``/... over ``axes`` (an attribute before opset 18, an input since)."""
        if self.opset >= 18:
            return self.step(
                node, suffix, op_type, [x, self.ints(node, f"{suffix}_axes", axes)], keepdims=int(keepdims)
            )
        return self.step(node, suffix, op_type, [x], axes=list(axes), keepdims=int(keepdims))

    def step(self, node: Node, suffix: str, op_type: str, inputs: list[str], **attrs: Any) -> str:
        """An intermediate ONNX node writing a fresh tensor ``<node>/<suffix>``; return its name."""
        return self.op(op_type, inputs, self.fresh(node, suffix), **attrs)
