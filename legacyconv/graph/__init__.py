"""The framework-neutral model graph between legacy frontends and framework targets.

A :class:`Graph` holds :class:`Node` s in the legacy model's own semantics: channels-first
activations exactly as Theano computed them, every weight in one canonical legacy layout (see
:mod:`legacyconv.graph.ops`). Frontends (``legacyconv.frontends``) read a legacy model into a
graph, one translator per legacy layer class; targets (``legacyconv.targets``) emit a framework
model from it, one emitter per graph op; :mod:`legacyconv.graph.numpy_runner` evaluates it eagerly
on legacyconv's own engines (the reference semantics of every op).
"""

from .core import Graph, Node, Shape
from .ops import OPS, OpDef, op_names

__all__ = ["OPS", "Graph", "Node", "OpDef", "Shape", "op_names"]
