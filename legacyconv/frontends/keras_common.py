"""What Keras 1 and Keras 2 share: walking a model config into a graph, one layer call at a time.

:func:`build_graph` walks a Keras model config — a ``Sequential`` (in Keras 1 a nested one's config
is a bare list of layers), a functional ``Model`` with shared layers and several inputs and
outputs, models nested in models — and calls the registered translator of every layer
application (:mod:`legacyconv.frontends._registry`) with a :class:`LayerCall`. Every layer
application's output node carries the reference key the Theano lab records for it
(``layerNN_<name>``, ``_nodeK`` for later applications of a shared layer, ``__layerMM_<inner>``
inside a nested model); ``graph.meta["references"]`` maps every key, ``input`` and ``output``
included, to its node. The node patterns translators share (a convolution with Keras' padding on
Theano, a pooling, ...) are in :mod:`legacyconv.frontends.keras_emit`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import LegacyconvError
from ..graph import Graph, Shape
from ..graph.ops import OPS
from ..io.keras_model import KerasFile
from ._registry import UnsupportedLayerError, supported_layers, translator_for

__all__ = [
    "KERAS_ACTIVATIONS",
    "KerasLayer",
    "LayerCall",
    "build_graph",
]

#: Keras activation name -> graph activation ``fn`` (Theano's functions)
KERAS_ACTIVATIONS = {
    "linear": "linear",
    "relu": "relu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "hard_sigmoid": "hard_sigmoid",
    "softmax": "softmax",
    "softplus": "softplus",
    "softsign": "softsign",
    "elu": "elu",
    "selu": "selu",
    "exponential": "exp",
}

_MODEL_CLASSES = ("Sequential", "Model")


# --- layers and calls ----------------------------------------------------------------------------


@dataclass
class KerasLayer:
    """One layer of a Keras config: name, class, config, and its weights (short name, array) in file order."""

    name: str
    class_name: str
    config: dict[str, Any]
    weights: list[tuple[str, np.ndarray]] = field(default_factory=list)
    inbound_nodes: list[Any] = field(default_factory=list)
    #: the weights as the file names them: ``<top-level layer group>/<recorded weight name>``
    file_names: list[str] = field(default_factory=list)


@dataclass
class LayerCall:
    """One application of a legacy layer, handed to its translator.

    Translators read the config (:meth:`cfg`), the weights (:meth:`weight`), the input shapes
    (:meth:`shape`), add helper nodes (:meth:`helper`) and finally the node that reproduces the
    layer's output (:meth:`out`).
    """

    graph: Graph
    keras: int
    layer: KerasLayer
    inputs: list[str]
    name: str
    reference: str | None

    @property
    def source(self) -> str:
        return f"Keras-{self.keras} layer {self.layer.name!r} ({self.layer.class_name})"

    def cfg(self, key: str, default: Any = None) -> Any:
        return self.layer.config.get(key, default)

    def shape(self, i: int = 0) -> Shape:
        shape = self.graph[self.inputs[i]].shape
        assert shape is not None
        return shape

    def fail(self, why: str) -> UnsupportedLayerError:
        """The error refusing this layer: ``raise call.fail("argument x=... cannot be reproduced")``."""
        return UnsupportedLayerError(f"{self.source}: {why}")

    def error(self, why: str) -> LegacyconvError:
        """The error for a config or weights that do not fit (a broken file)."""
        return LegacyconvError(f"{self.source}: {why}")

    def weight(
        self,
        *names: str,
        index: int | None = None,
        role: str | None = None,
        **info: Any,
    ) -> np.ndarray:
        """The weight recorded under one of ``names`` (short names), else the one at ``index``.

        ``role`` (one of :data:`legacyconv.io.ROLES`, with ``filter_flip`` / ``feature_shape``)
        records what the stored array is, for ``inspect`` and ``convert``.
        """
        found = next((i for i, (short, _) in enumerate(self.layer.weights) if short in names), None)
        if found is None and index is not None and index < len(self.layer.weights):
            found = index
        if found is None:
            have = [n for n, _ in self.layer.weights]
            raise self.error(f"the file has no weight {' / '.join(names)}; it holds {have}")
        if role is not None and found < len(self.layer.file_names):
            from ..io.weights import ArrayInfo

            layout = "any" if role in ("bias", "keep") else "theano"
            roles = self.graph.meta.setdefault("weight_roles", {})
            roles[self.layer.file_names[found]] = ArrayInfo(role, layout, self.layer.name, **info)
        return self.layer.weights[found][1]

    def expect_weights(self, count: int) -> None:
        if len(self.layer.weights) != count:
            raise self.error(
                f"should have {count} weight array(s) in the file, found {len(self.layer.weights)}: "
                f"{[n for n, _ in self.layer.weights]}"
            )

    def _add(
        self,
        op: str,
        name: str,
        inputs: Sequence[str],
        attrs: dict[str, Any] | None,
        weights: Mapping[str, np.ndarray | None] | None,
        reference: str | None,
        dtype: str,
    ) -> str:
        if self.keras == 1 and op == "activation" and (attrs or {}).get("fn") == "softmax":
            rank = len(self.graph[inputs[0]].shape or ())
            if rank not in (2, 3):
                # Keras 1's activations.softmax: "Cannot apply softmax to a tensor that is not 2D or 3D"
                raise self.fail(
                    f"softmax on a {rank}-d tensor: Keras 1 applied softmax only to 2-d and 3-d tensors"
                )
        present = {k: v for k, v in (weights or {}).items() if v is not None}
        self.graph.add(
            op,
            name,
            list(inputs),
            attrs=attrs,
            weights=present,
            reference=reference,
            source=self.source,
            dtype=dtype,
        )
        node = self.graph[name]
        try:
            node.shape = tuple(OPS[op].infer(node, [self.graph[s].shape or () for s in node.inputs]))
        except LegacyconvError as exc:
            raise type(exc)(f"{self.source}: {exc}") from None
        return name

    def helper(
        self,
        op: str,
        suffix: str,
        inputs: Sequence[str],
        attrs: dict[str, Any] | None = None,
        weights: Mapping[str, np.ndarray | None] | None = None,
        dtype: str = "float32",
    ) -> str:
        """Add an internal node ``<layer node>/<suffix>`` and return its name."""
        return self._add(
            op, self.graph.unique_name(f"{self.name}/{suffix}"), inputs, attrs, weights, None, dtype
        )

    def out(
        self,
        op: str,
        inputs: Sequence[str],
        attrs: dict[str, Any] | None = None,
        weights: Mapping[str, np.ndarray | None] | None = None,
        dtype: str = "float32",
    ) -> str:
        """Add the node that reproduces the layer's output (named after the layer) and return its name."""
        return self._add(op, self.name, inputs, attrs, weights, self.reference, dtype)

    def activation_fn(self, key: str = "activation") -> str:
        act = self.cfg(key) or "linear"
        if act not in KERAS_ACTIVATIONS:
            raise self.fail(f"activation {act!r} is not supported; supported: {', '.join(KERAS_ACTIVATIONS)}")
        return KERAS_ACTIVATIONS[act]

    def out_with_activation(
        self,
        op: str,
        inputs: Sequence[str],
        attrs: dict[str, Any] | None = None,
        weights: Mapping[str, np.ndarray | None] | None = None,
    ) -> str:
        """``op`` then the layer's ``activation`` (the last node carries the layer's name)."""
        fn = self.activation_fn()
        if fn == "linear":
            return self.out(op, inputs, attrs, weights)
        pre = self.helper(op, "preact", inputs, attrs, weights)
        return self.out("activation", [pre], {"fn": fn})

    def channels_first(self) -> None:
        """Refuse a layer that ran on channels-last data (nothing to migrate there)."""
        ordering = self.cfg("dim_ordering", self.cfg("data_format"))
        if ordering in ("tf", "channels_last"):
            raise self.fail(
                f"it ran on channels-last data ({'dim_ordering' if self.keras == 1 else 'data_format'}="
                f"{ordering!r}); only Theano's channels-first image layers are migrated"
            )


# --- walking a config ------------------------------------------------------------------------------


def _short_weight_name(full: str, layer: str, keras: int) -> str:
    name = full.split("/")[-1]
    name = re.sub(r":\d+$", "", name)
    if keras == 1 and name.startswith(layer + "_"):
        name = name[len(layer) + 1 :]
    return name


def _split_weights(
    items: list[tuple[str, np.ndarray]], inner_names: list[str], keras: int
) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Give each inner layer of a nested model its weights (the container's group holds them all)."""
    out: dict[str, list[tuple[str, np.ndarray]]] = {n: [] for n in inner_names}
    by_length = sorted(inner_names, key=len, reverse=True)
    for full, arr in items:
        parts = full.split(":")[0].split("/")[1:]  # without the container's group
        owner = None
        for name in by_length:
            if (keras == 1 and parts[-1].startswith(name + "_")) or (len(parts) > 1 and parts[0] == name):
                owner = name
                break
        if owner is None:
            raise LegacyconvError(
                f"weight {full!r} of a nested model belongs to none of its layers {inner_names}"
            )
        out[owner].append((full, arr))
    return out


def _layer_list(model_cfg: dict[str, Any]) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    cls = model_cfg.get("class_name")
    body = model_cfg.get("config")
    if cls == "Sequential":
        layers = body if isinstance(body, list) else (body or {}).get("layers")
    elif cls == "Model":
        layers = (body or {}).get("layers")
    else:
        raise UnsupportedLayerError(
            f"the model is a {cls!r}; only Sequential and Model (functional) are supported"
        )
    if not isinstance(layers, list) or not all(isinstance(c, dict) and "class_name" in c for c in layers):
        raise LegacyconvError(f"the {cls} config has no list of layers")
    return str(cls), layers, body if isinstance(body, dict) else {}


def _node_refs(value: Any, where: str) -> list[list[Any]]:
    """``value`` checked as a list of tensor references ``[layer name, node index, tensor index]``
    (Keras 2 adds a kwargs object): what ``inbound_nodes`` entries, ``input_layers`` and
    ``output_layers`` hold."""
    ok = isinstance(value, list) and all(
        isinstance(ref, list)
        and 2 <= len(ref) <= 4
        and isinstance(ref[0], str)
        and all(type(i) is int and i >= 0 for i in ref[1:3])
        and (len(ref) < 4 or isinstance(ref[3], dict))
        for ref in value
    )
    if not ok:
        raise LegacyconvError(
            f"{where} must be a list of [layer name, node index, tensor index] references. "
            f"Received: {value!r:.120}"
        )
    return value


def _input_dtype(value: Any) -> bool:
    """True for a dtype name a model input may declare: a NumPy bool, integer or float of up
    to 64 bits ('float32', 'int32', ...), as Keras 1/2 wrote them."""
    try:
        dtype = np.dtype(value) if isinstance(value, str) else None
    except (TypeError, ValueError, SyntaxError):
        return False
    return dtype is not None and dtype.kind in "biuf" and dtype.itemsize <= 8


class _Builder:
    def __init__(self, graph: Graph, keras: int, weights: dict[str, list[tuple[str, np.ndarray]]]) -> None:
        self.graph = graph
        self.keras = keras
        self.weights = weights  # the file's top-level weight groups
        self.references: dict[str, str] = {}

    def layers_of(
        self, entries: list[dict[str, Any]], weights: dict[str, list[tuple[str, np.ndarray]]]
    ) -> list[KerasLayer]:
        out = []
        for entry in entries:
            cfg = entry.get("config")
            if isinstance(cfg, list):  # a Keras-1 nested Sequential: its config is the bare list
                cfg = {"layers": cfg}
            cfg = dict(cfg or {})
            name = entry.get("name") or cfg.get("name")
            if not isinstance(name, str):
                raise LegacyconvError(f"a {entry['class_name']} layer in the config has no name")
            cfg.setdefault("name", name)
            items = weights.get(name, [])
            inbound = entry.get("inbound_nodes") or []
            if not isinstance(inbound, list):
                raise LegacyconvError(
                    f"layer {name!r}: inbound_nodes must be a list. Received: {inbound!r:.120}"
                )
            for rank, node in enumerate(inbound):
                _node_refs(node, f"layer {name!r}: inbound_nodes[{rank}]")
            out.append(KerasLayer(name, str(entry["class_name"]), cfg, items, inbound))
        return out

    # a model applied to input nodes, returning its output nodes
    def apply_model(
        self,
        model_cfg: dict[str, Any],
        inputs: list[str] | None,
        weights: dict[str, list[tuple[str, np.ndarray]]],
        node_prefix: str,
        ref_prefix: str | None,
    ) -> list[str]:
        """Apply a model config to ``inputs`` (None: create its input nodes); ``ref_prefix`` None: no
        reference keys for its layers (the branches of a Keras-1 Sequential Merge)."""
        cls, entries, body = _layer_list(model_cfg)
        layers = self.layers_of(entries, weights)
        if cls == "Sequential":
            return [self._sequential(layers, body, inputs, node_prefix, ref_prefix)]
        return self._functional(layers, body, inputs, node_prefix, ref_prefix)

    def _input_node(self, name: str, cfg: dict[str, Any]) -> str:
        shape = cfg.get("batch_input_shape")
        if not isinstance(shape, list) or len(shape) < 2:
            raise LegacyconvError(f"the model input {name!r} has no batch_input_shape; its shape is unknown")
        if any(s is None for s in shape[1:]):
            raise UnsupportedLayerError(
                f"the model input {name!r} has an unknown size {tuple(shape[1:])}; legacyconv migrates models "
                "with fixed input sizes"
            )
        dtype = cfg.get("input_dtype") or cfg.get("dtype") or "float32"
        if not _input_dtype(dtype):
            raise LegacyconvError(
                f"the model input {name!r} declares dtype {dtype!r:.40}; expected a bool, integer or "
                "float dtype such as 'float32'"
            )
        node = self.graph.add(
            "input",
            name,
            attrs={"shape": tuple(int(s) for s in shape[1:])},
            source=f"Keras-{self.keras} model input {name!r}",
            dtype=dtype,
        )
        self.graph[node].shape = (None, *(int(s) for s in shape[1:]))
        return node

    def _sequential(
        self,
        layers: list[KerasLayer],
        body: dict[str, Any],
        inputs: list[str] | None,
        node_prefix: str,
        ref_prefix: str | None,
    ) -> str:
        if not layers:
            raise LegacyconvError("the Sequential model has no layers")
        start = 0
        if layers[0].class_name == "Merge" and layers[0].config.get("layers"):
            # Keras 1's Sequential([Merge([branch, ...]), ...]): one model input per branch
            if inputs is not None or ref_prefix != "":
                raise UnsupportedLayerError(
                    f"Keras-1 Merge {layers[0].name!r} of Sequential branches is supported only as the "
                    "first layer of the top-level model"
                )
            merge = layers[0]
            branches = [
                self.apply_model(b, None, self.weights, node_prefix, None)[0] for b in merge.config["layers"]
            ]
            plain = KerasLayer(
                merge.name, merge.class_name, {k: v for k, v in merge.config.items() if k != "layers"}
            )
            current = self._apply(plain, branches, f"{node_prefix}{merge.name}", f"layer00_{merge.name}")
            start = 1
        elif inputs is None:
            cfg = dict(layers[0].config)
            if "batch_input_shape" not in cfg and body.get("build_input_shape"):
                # Keras 2.2: a Sequential built from an explicit InputLayer records build_input_shape
                cfg["batch_input_shape"] = body["build_input_shape"]
            current = self._input_node(f"{layers[0].name}_input", cfg)
            if ref_prefix is not None:
                self.references.setdefault("input", current)
        else:
            if len(inputs) != 1:
                raise LegacyconvError(f"a Sequential model takes one input, got {len(inputs)}")
            current = inputs[0]
        for i, layer in enumerate(layers):
            if layer.class_name == "InputLayer" or i < start:
                continue
            reference = None if ref_prefix is None else f"{ref_prefix}layer{i:02d}_{layer.name}"
            current = self._apply(layer, [current], f"{node_prefix}{layer.name}", reference)
        return current

    def _functional(
        self,
        layers: list[KerasLayer],
        body: dict[str, Any],
        inputs: list[str] | None,
        node_prefix: str,
        ref_prefix: str | None,
    ) -> list[str]:
        by_name = {layer.name: layer for layer in layers}
        index = {layer.name: i for i, layer in enumerate(layers)}
        # (layer name, rank among its applications in this model) -> node
        produced: dict[tuple[str, int], str] = {}
        input_specs = _node_refs(body.get("input_layers") or [], "the model's input_layers")
        output_specs = _node_refs(body.get("output_layers") or [], "the model's output_layers")
        if inputs is not None and len(inputs) != len(input_specs):
            raise LegacyconvError(f"the nested model takes {len(input_specs)} inputs, got {len(inputs)}")
        for k, spec in enumerate(input_specs):
            lname = spec[0]
            if lname not in by_name or by_name[lname].class_name != "InputLayer":
                raise LegacyconvError(f"the model input {lname!r} is not an InputLayer of the model")
            if inputs is None:
                node = self._input_node(node_prefix + lname, by_name[lname].config)
                if len(input_specs) == 1 and ref_prefix is not None:
                    self.references.setdefault("input", node)
            else:
                node = inputs[k]
            produced[(lname, 0)] = node
        pending = [
            (layer, rank, inbound)
            for layer in layers
            if layer.class_name != "InputLayer"
            for rank, inbound in enumerate(layer.inbound_nodes)
        ]
        offset = {layer.name: 1 if layer.class_name in _MODEL_CLASSES else 0 for layer in layers}
        while pending:
            progressed = False
            waiting = []
            for layer, rank, inbound in pending:
                srcs = []
                for ref in inbound:
                    src_layer, node_index = ref[0], int(ref[1])
                    tensor_index = int(ref[2]) if len(ref) > 2 else 0
                    if tensor_index:
                        raise UnsupportedLayerError(
                            f"layer {layer.name!r} reads output {tensor_index} of {src_layer!r}; layers "
                            "with several outputs are not supported"
                        )
                    srcs.append(produced.get((src_layer, node_index - offset.get(src_layer, 0))))
                if any(s is None for s in srcs):
                    waiting.append((layer, rank, inbound))
                    continue
                suffix = f"_node{rank}" if rank else ""
                node = self._apply(
                    layer,
                    [s for s in srcs if s is not None],
                    f"{node_prefix}{layer.name}{suffix}",
                    None
                    if ref_prefix is None
                    else f"{ref_prefix}layer{index[layer.name]:02d}_{layer.name}{suffix}",
                )
                produced[(layer.name, rank)] = node
                progressed = True
            if not progressed:
                names = sorted({layer.name for layer, _, _ in waiting})
                raise LegacyconvError(f"the layers {names} read tensors no layer of the model produces")
            pending = waiting
        outs = []
        for spec in output_specs:
            key = (spec[0], int(spec[1]) - offset.get(spec[0], 0))
            if key not in produced:
                raise LegacyconvError(f"the model output {spec[0]!r} is not produced by the model")
            outs.append(produced[key])
        return outs

    def _apply(self, layer: KerasLayer, inputs: list[str], node_name: str, reference: str | None) -> str:
        if layer.class_name in _MODEL_CLASSES:
            # a Keras-1 nested Sequential's bare list was wrapped as {"layers": [...]} by layers_of
            inner_cfg = {"class_name": layer.class_name, "config": layer.config}
            _, entries, _ = _layer_list(inner_cfg)
            names = [str(e.get("name") or (e.get("config") or {}).get("name")) for e in entries]
            inner_weights = _split_weights(layer.weights, names, self.keras)
            inner_prefix = None if reference is None else reference + "__"
            outs = self.apply_model(inner_cfg, inputs, inner_weights, node_name + "/", inner_prefix)
            if len(outs) != 1:
                raise UnsupportedLayerError(
                    f"nested model {layer.name!r} has {len(outs)} outputs; one is supported"
                )
            node = self.graph.add(
                "identity",
                node_name,
                [outs[0]],
                reference=reference,
                source=f"Keras-{self.keras} nested model {layer.name!r} ({layer.class_name})",
            )
            self.graph[node].shape = self.graph[outs[0]].shape
            if reference is not None:
                self.references[reference] = node
            return node
        translator = translator_for(self.keras, layer.class_name)
        if translator is None:
            raise UnsupportedLayerError(
                f"Keras-{self.keras} layer {layer.name!r} ({layer.class_name}) is not supported; supported "
                f"layers: {', '.join(supported_layers(self.keras))}"
            )
        short = [(_short_weight_name(n, layer.name, self.keras), a) for n, a in layer.weights]
        inner = KerasLayer(
            layer.name, layer.class_name, layer.config, short, file_names=[n for n, _ in layer.weights]
        )
        call = LayerCall(self.graph, self.keras, inner, inputs, node_name, reference)
        try:
            node = translator.fn(call)
        except LegacyconvError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError) as exc:
            # translators read the config as Keras wrote it: a value of another type or form
            # (a hand-edited or corrupted model_config) fails there; say where, keep what failed
            raise LegacyconvError(
                f"{call.source}: its config cannot be read, a value has a type or form Keras never "
                f"wrote ({type(exc).__name__}: {exc}). Config: {layer.config!r:.200}"
            ) from None
        if node != node_name:
            raise RuntimeError(f"the translator of {layer.class_name} did not end with the layer's node")
        if reference is not None:
            self.references[reference] = node
        return node


def build_graph(kfile: KerasFile, keras: int) -> Graph:
    """The graph of a Keras ``keras``.x model read from a file (see the module docstring)."""
    if kfile.config is None:
        raise LegacyconvError(f"{kfile.path} holds no model config")
    model_cfg = kfile.config
    name = (
        str((model_cfg.get("config") or {}).get("name", "model"))
        if isinstance(model_cfg.get("config"), dict)
        else "model"
    )
    graph = Graph(name=name)
    weights = {layer: [(f"{layer}/{n}", a) for n, a in items] for layer, items in kfile.weights.items()}
    builder = _Builder(graph, keras, weights)
    outs = builder.apply_model(model_cfg, None, weights, "", "")
    graph.outputs = list(outs)
    for name in graph.inputs:
        # token ids: Keras 2 records the float dtype of the Embedding layer, its input is ids all the same
        consumers = graph.consumers(name)
        if consumers and all(node.op == "embedding" for node in consumers):
            graph[name].dtype = "int32"
    if len(outs) == 1:
        builder.references["output"] = outs[0]
    graph.meta.update(
        framework="keras",
        keras_version=kfile.keras_version or "1.x (not recorded)",
        backend=kfile.backend or "theano (assumed: Keras 1 does not record the backend)",
        path=kfile.path,
        weights_path=kfile.weights_path,
        references=builder.references,
    )
    graph.infer_shapes()
    return graph
