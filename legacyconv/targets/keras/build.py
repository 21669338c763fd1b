"""Emit a Keras 3 model from a graph: :func:`emit` (one registered emitter per graph op).

The result, :class:`KerasMigration`, holds the model and its *sidecar*: for every graph node with
a legacy reference (and every input and output), the Keras layer whose output holds it and the
permutation from legacy axes to that layer's axes. ``check`` reads it to compare layer by layer
without guessing shapes; :func:`legacyconv.targets.keras.saving.save` writes it into the ``.keras``
file as the member ``legacyconv.json`` (Keras ignores members it does not know).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..._errors import LegacyconvError
from ..._tf import import_keras
from ...graph import Graph, Node
from ...graph.ops import BATCH_DEPENDENT_OPS
from ._context import EMITTERS, REFUSALS, KerasBuild, Perm, channels_last_perm, identity_perm

__all__ = ["INPUT_LAYOUTS", "SIDECAR_FORMAT", "KerasMigration", "emit", "refuse", "unsupported_ops"]

INPUT_LAYOUTS = ("nhwc", "nchw")
SIDECAR_FORMAT = "legacyconv-keras-sidecar"


@dataclass
class KerasMigration:
    """A Keras 3 model built from a graph, with the node → (layer, permutation) sidecar."""

    model: Any
    sidecar: dict[str, Any]
    #: (node, legacyconv layer class, why) for ops with no exact stock expression (none today)
    fallbacks: list[tuple[str, str, str]] = field(default_factory=list)


def _load_emitters() -> None:
    from . import activation, conv, dense, merge, norm, pool, recurrent, shape  # noqa: F401


def unsupported_ops(graph: Graph) -> list[Node]:
    """The nodes of ``graph`` whose op has no Keras emitter."""
    _load_emitters()
    return [n for n in graph.nodes.values() if n.op not in EMITTERS and n.op != "input"]


def refuse(graph: Graph) -> None:
    """Raise LegacyconvError for the first node the Keras target cannot emit (before TensorFlow loads).

    >>> from legacyconv.graph import Graph
    >>> g = Graph()
    >>> x = g.add("input", "x", attrs={"shape": (2, 3, 3)})
    >>> y = g.add("pad", "p", [x], attrs={"pads": ((1, 1), (1, 1)), "value": 1.0})
    >>> refuse(g)
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: node 'p' (pad): padding with value=1.0 has no stock Keras 3 layer (ZeroPadding pads with zeros)
    """
    missing = unsupported_ops(graph)
    if missing:
        n = missing[0]
        raise LegacyconvError(
            f"{n.source or repr(n.name)}: graph op {n.op!r} has no Keras 3 emitter; supported ops: {sorted(EMITTERS)}"
        )
    for node in graph.topological_order():
        check = REFUSALS.get(node.op)
        why = check(node) if check is not None else None
        if why:
            raise LegacyconvError(f"{node.source or f'node {node.name!r} ({node.op})'}: {why}")


def _input_perm(node: Node, layout: str) -> Perm:
    rank = len(node.shape or ())
    return channels_last_perm(rank) if layout == "nhwc" and rank >= 4 else identity_perm(rank)


def _layer_name(tensor: Any) -> str:
    return str(tensor._keras_history.operation.name)


def _permuted(shape: Any, perm: Perm) -> tuple[Any, ...]:
    return tuple(shape[p] for p in perm)


def emit(graph: Graph, *, input_layout: str = "nhwc") -> KerasMigration:
    """Build a channels-last Keras 3 model computing ``graph``, from stock layers only.

    Parameters
    ----------
    graph : Graph
        A legacy model graph (shapes are inferred and validated here, before TensorFlow loads).
    input_layout : {'nhwc', 'nchw'}, optional
        The layout of image (4-D) and volume (5-D) inputs; ``'nchw'`` takes the legacy
        channels-first arrays unchanged. Other inputs are always in the legacy layout.

    Returns
    -------
    KerasMigration
        ``model`` (a functional ``keras.Model``; the layer producing a legacy node's output is
        named after it) and ``sidecar``.

    Examples
    --------
    >>> import numpy as np
    >>> from legacyconv.graph import Graph
    >>> g = Graph(name="tiny")
    >>> x = g.add("input", "x", attrs={"shape": (1, 4, 4)})
    >>> y = g.add("pool", "p", [x], attrs={"ws": (3, 3), "strides": (2, 2), "pads": (1, 1)}, reference="layer01_p")
    >>> g.outputs = [y]
    >>> built = emit(g)
    >>> [type(layer).__name__ for layer in built.model.layers][-1], built.model.output.shape
    ('MaxPooling2D', (None, 2, 2, 1))
    >>> built.sidecar["nodes"][-1]["layer"], built.sidecar["nodes"][-1]["perm"]
    ('p', [0, 2, 3, 1])
    """
    if input_layout not in INPUT_LAYOUTS:
        raise LegacyconvError(
            f"input_layout must be one of {{'nhwc', 'nchw'}}. Received: input_layout={input_layout!r}"
        )
    graph.validate()
    refuse(graph)
    keras = import_keras()
    b = KerasBuild(graph, keras)
    outputs = set(graph.outputs)
    inputs: list[Any] = []
    records: list[dict[str, Any]] = []
    for node in graph.topological_order():
        if node.op == "input":
            perm = _input_perm(node, input_layout)
            shape = _permuted(node.shape, perm)[1:]
            tensor = keras.Input(shape=shape, dtype=node.dtype, name=b.name(node))
            inputs.append(tensor)
        else:
            before = {id(t) for t in b.known_tensors()}
            tensor, perm = EMITTERS[node.op](b, node)
            fused = node.name in b.fused  # computed (and named) by its input's layer
            if id(tensor) in before and not fused and (node.reference or node.name in outputs):
                tensor = keras.layers.Identity(name=b.name(node))(tensor)
        expected = _permuted(node.shape, perm)
        got = tuple(tensor.shape)
        if len(got) != len(expected) or any(e is not None and g != e for g, e in zip(got, expected)):
            raise RuntimeError(
                f"legacyconv bug: the Keras layers for {node.source or node.name} give shape {got}, "
                f"expected {expected} (legacy shape {node.shape} in layout {perm})"
            )
        b.set(node, tensor, perm)
        if node.reference or node.op == "input" or node.name in outputs:
            records.append(
                {
                    "node": node.name,
                    "op": node.op,
                    "reference": node.reference,
                    "layer": _layer_name(tensor),
                    "perm": list(perm),
                    "shape": list(node.shape or ()),
                }
            )
    outs, out_records = [], []
    for name in graph.outputs:
        rank = b.rank(name)
        perm = channels_last_perm(rank) if rank >= 4 else identity_perm(rank)
        tensor = b.get(name, perm)
        outs.append(tensor)
        out_records.append({"node": name, "layer": _layer_name(tensor), "perm": list(perm)})
    model_name = re.sub(r"[^A-Za-z0-9_]", "_", graph.name) or "model"
    # a single input / output is not wrapped in a list: the SavedModel signature takes one tensor
    model = keras.Model(
        inputs if len(inputs) > 1 else inputs[0], outs if len(outs) > 1 else outs[0], name=model_name
    )
    # nodes no output depends on have no layer in the model: nothing of theirs can be compared
    in_model = {layer.name for layer in model.layers}
    records = [r for r in records if r["layer"] in in_model]
    sidecar = {
        "format": SIDECAR_FORMAT,
        "version": 1,
        "graph": graph.name,
        "source": {k: v for k, v in graph.meta.items() if isinstance(v, (str, int, float, bool))},
        "input_layout": input_layout,
        "inputs": [r for r in records if r["op"] == "input"],
        "outputs": out_records,
        "nodes": records,
        "fallback_layers": [{"node": n, "layer": c, "why": w} for n, c, w in b.fallbacks],
        # outputs depend on the whole batch (Keras-1 BatchNormalization mode 2): check runs one batch
        "batch_dependent": any(n.op in BATCH_DEPENDENT_OPS for n in graph.nodes.values()),
    }
    return KerasMigration(model, sidecar, list(b.fallbacks))
