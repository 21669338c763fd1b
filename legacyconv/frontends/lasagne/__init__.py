"""The Lasagne frontend: a network built with :mod:`legacyconv.lasagne` (a user's
``build_model()`` file run unchanged) into a :class:`~legacyconv.graph.Graph`.

One translator per mirror layer class (:mod:`.translators`), found through the class's MRO, so
that the GPU stand-ins (``Conv2DDNNLayer`` …) use their CPU class's translator. Node names are the
layers' names (or, for the model zoo's unnamed layers, their keys in the dict ``build_model()``
returned); each layer's node carries the reference key ``layerNN_<name>`` of
:func:`legacyconv.lasagne.layers.get_all_layers` order, as the recorded references use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..._errors import LegacyconvError, UnsupportedLayerError
from ...graph import Graph, Shape
from ...io._atomic import PathLike

__all__ = [
    "LASAGNE_TRANSLATORS",
    "LayerCall",
    "graph_from_network",
    "load_lasagne_graph",
    "output_layer_of",
    "supported_lasagne_layers",
    "translates_lasagne",
]

#: mirror layer class -> the function adding its nodes
LASAGNE_TRANSLATORS: dict[type, Callable[[LayerCall], str]] = {}


def translates_lasagne(*classes: type) -> Callable[[Callable[[LayerCall], str]], Callable[[LayerCall], str]]:
    """Register the decorated function as the translator of the mirror layer ``classes``."""

    def deco(fn: Callable[[LayerCall], str]) -> Callable[[LayerCall], str]:
        for cls in classes:
            if cls in LASAGNE_TRANSLATORS:
                raise RuntimeError(f"Lasagne layer class {cls.__name__} has two translators")
            LASAGNE_TRANSLATORS[cls] = fn
        return fn

    return deco


def _translator(layer: Any) -> Callable[[LayerCall], str]:
    from . import translators  # noqa: F401  (registers on import)

    for cls in type(layer).__mro__:
        if cls in LASAGNE_TRANSLATORS:
            return LASAGNE_TRANSLATORS[cls]
    raise UnsupportedLayerError(
        f"Lasagne layer {type(layer).__name__} {getattr(layer, 'name', None) or ''!r} cannot be migrated: "
        f"legacyconv has no translation for it (supported: {', '.join(supported_lasagne_layers())})"
    )


def supported_lasagne_layers() -> list[str]:
    """The mirror layer classes the frontend translates (subclasses included), sorted.

    >>> "Conv2DLayer" in supported_lasagne_layers()
    True
    """
    from . import translators  # noqa: F401

    return sorted(cls.__name__ for cls in LASAGNE_TRANSLATORS)


@dataclass
class LayerCall:
    """One layer being translated: its input node names and shapes, its node name, reference key
    and description; :meth:`chain` adds its nodes."""

    graph: Graph
    layer: Any
    inputs: list[str]
    in_shapes: list[Shape]
    out_shape: Shape
    name: str
    reference: str
    source: str
    added: list[str] = field(default_factory=list)

    @property
    def in_shape(self) -> Shape:
        return self.in_shapes[0]

    def refuse(self, why: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(f"{self.source}: {why}")

    def chain(
        self, steps: list[tuple[str, dict[str, Any], dict[str, Any]]], inputs: list[str] | None = None
    ) -> str:
        """Add ``(op, attrs, weights)`` steps, each reading the previous one (the first reads
        ``inputs``, default the layer's inputs); the last is the layer's node."""
        x = list(self.inputs if inputs is None else inputs)
        for i, (op, attrs, weights) in enumerate(steps):
            last = i == len(steps) - 1
            name = self.name if last else self.graph.unique_name(f"{self.name}/{op}")
            self.graph.add(
                op,
                name,
                x,
                attrs=attrs,
                weights=weights,
                reference=self.reference if last else None,
                source=self.source,
            )
            self.added.append(name)
            x = [name]
        return x[0]


_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def _names(layers: list[Any], keys: dict[int, str]) -> list[str]:
    """A unique node name per layer: its name, else its dict key, else class_index."""
    out: list[str] = []
    used: set[str] = set()
    for i, layer in enumerate(layers):
        base = layer.name or keys.get(id(layer)) or f"{type(layer).__name__.lower()}_{i}"
        base = _SAFE.sub("_", str(base))
        name, k = base, 1
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        out.append(name)
    return out


def output_layer_of(network: Any, output_layer: str | None = None) -> Any:
    """The layer to migrate: ``network`` itself, or from the dict a model-zoo ``build_model()``
    returns, the entry ``output_layer`` (a key or a layer name), else ``'prob'``."""
    if not isinstance(network, dict):
        if output_layer is None:
            return network
        from ...lasagne.layers import get_all_layers

        found = [lay for lay in get_all_layers(network) if lay.name == output_layer]
        if len(found) != 1:
            raise LegacyconvError(f"the network has no single layer named {output_layer!r}")
        return found[0]
    key = output_layer if output_layer is not None else "prob"
    if key in network:
        return network[key]
    named = [lay for lay in network.values() if getattr(lay, "name", None) == key]
    if len(named) == 1:
        return named[0]
    if output_layer is None:
        raise LegacyconvError(
            f"build_model() returned a dict without a 'prob' entry; say which layer is the output "
            f"(--output-layer / output_layer=), one of {sorted(network)}"
        )
    raise LegacyconvError(f"the network has no layer {output_layer!r}; its dict holds {sorted(network)}")


def graph_from_network(
    network: Any,
    *,
    output_layer: str | None = None,
    input_shape: Any = None,
    name: str = "lasagne",
) -> Graph:
    """Translate a mirror network (with its current parameter values) into a graph.

    Parameters
    ----------
    network : Layer or dict of Layer
        What ``build_model()`` returned.
    output_layer : str, optional
        For a dict: the key (or layer name) of the output; default ``'prob'``.
    input_shape : tuple of int, optional
        The input shape without the batch axis, for networks whose InputLayer leaves sizes
        unknown (``None``); it must agree with the known ones.

    Returns
    -------
    Graph
        Shapes inferred; the output layer is the graph's output.
    """
    from ...lasagne.layers import InputLayer, get_all_layers, get_output_shape

    out = output_layer_of(network, output_layer)
    keys = {id(v): str(k) for k, v in network.items()} if isinstance(network, dict) else {}
    layers = get_all_layers(out)
    inputs = [lay for lay in layers if isinstance(lay, InputLayer)]
    if len(inputs) != 1:
        raise UnsupportedLayerError(
            f"the network has {len(inputs)} input layers; the Lasagne frontend migrates one"
        )
    declared = inputs[0].shape
    if input_shape is not None:
        given = tuple(int(v) for v in input_shape)
        if len(given) != len(declared) - 1 or any(
            d is not None and d != g for d, g in zip(declared[1:], given)
        ):
            raise LegacyconvError(
                f"input_shape {given} does not fit the InputLayer's shape {declared} (without its batch axis)"
            )
        full: tuple[Any, ...] = (None, *given)
    else:
        full = tuple(declared)
        if any(s is None for s in full[1:]):
            raise LegacyconvError(
                f"the InputLayer's shape {declared} has unknown sizes; give input_shape (--input-shape C,H,W)"
            )
    shapes = get_output_shape(layers, {inputs[0]: full})
    names = _names(layers, keys)
    graph = Graph(name=name, meta={"framework": "Lasagne 0.2 (legacyconv mirror)", "layers": len(layers)})
    node_of: dict[int, str] = {}
    for i, (layer, node_name, shape) in enumerate(zip(layers, names, shapes)):
        ref_name = layer.name or keys.get(id(layer)) or node_name
        source = f"Lasagne layer {node_name!r} ({type(layer).__name__})"
        if isinstance(layer, InputLayer):
            from ...lasagne.layers import EmbeddingLayer

            ids = any(isinstance(c, EmbeddingLayer) and c.input_layer is layer for c in layers)
            dtype = "int32" if ids else "float32"
            graph.add(
                "input",
                node_name,
                attrs={"shape": tuple(int(s) for s in full[1:]), "dtype": dtype},
                dtype=dtype,
                reference="input",
                source=source,
            )
            node_of[id(layer)] = node_name
            continue
        parents = list(getattr(layer, "input_layers", None) or [layer.input_layer])
        call = LayerCall(
            graph,
            layer,
            [node_of[id(p)] for p in parents],
            [tuple(shapes[layers.index(p)]) for p in parents],
            tuple(shape),
            node_name,
            f"layer{i:02d}_{ref_name}",
            source,
        )
        node_of[id(layer)] = _translator(layer)(call)
    graph.outputs = [node_of[id(out)]]
    graph.validate()
    return graph


def load_lasagne_graph(
    target: str,
    weights: PathLike,
    *,
    output_layer: str | None = None,
    input_shape: Any = None,
    **kwargs: Any,
) -> Graph:
    """``"file.py:build_model"`` + a weight file (positional or named ``.npz``, model-zoo pickle)
    -> a graph (see :func:`graph_from_network`); ``kwargs`` go to the builder."""
    from ...lasagne import load_network, load_params

    network = load_network(target, **kwargs)
    out = output_layer_of(network, output_layer)
    load_params(out, weights)
    graph = graph_from_network(network, output_layer=output_layer, input_shape=input_shape)
    graph.meta["source"] = f"{target} with weights {weights}"
    return graph
