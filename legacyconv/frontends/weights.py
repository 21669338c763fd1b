"""What ``inspect`` and ``convert`` say about a Keras model file, from the translators.

:func:`keras_weight_file` reads the arrays of a Keras model file in file order and gives each one
the role its layer's translator declared (a Keras-1 conv kernel used with ``filter_flip=True``, a
Dense kernel after a flatten of a ``(channels, rows, cols)`` map, a bias, ...); arrays no
translator declared are biases if they are vectors and ``unknown`` otherwise. The layer table
(:class:`KerasModelSummary`) describes each layer by the graph nodes it became.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import LegacyconvError
from ..graph import Graph, Node
from ..io.keras_model import KerasFile
from ..io.weights import ArrayInfo, WeightFile

__all__ = ["KerasModelSummary", "LayerRow", "keras_weight_file"]


@dataclass
class LayerRow:
    """One top-level layer: name, class, output shape (channels-first, without batch), what it computes."""

    name: str
    class_name: str
    output_shape: tuple[Any, ...] | None
    computes: str


@dataclass
class KerasModelSummary:
    """A Keras model file as ``inspect`` shows it: versions, layers, and why it cannot migrate, if so."""

    path: str
    keras_version: str
    backend: str | None
    class_name: str
    layers: list[LayerRow]
    input_shapes: list[tuple[Any, ...]] = field(default_factory=list)
    problem: str | None = None
    orderings: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        backend = self.backend or "theano (assumed: Keras 1 does not record the backend)"
        key = "dim_ordering" if self.keras_version.startswith("1") else "data_format"
        orderings = ", ".join(repr(o) for o in self.orderings) or "not recorded"
        kind = "functional Model" if self.class_name == "Model" else f"{self.class_name} model"
        return f"Keras {self.keras_version} {kind}, {key} {orderings}, backend {backend}"

    def summary(self) -> str:
        """The layer table ``inspect`` prints."""
        rows = [("layer", "class", "output (channels-first)", "computes")]
        for layer in self.layers:
            shape = "?" if layer.output_shape is None else str(layer.output_shape)
            rows.append((layer.name, layer.class_name, shape, layer.computes))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        shapes = ", ".join(str(s) for s in self.input_shapes) or "?"
        lines = [f"input shape (channels-first): {shapes}"]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        if self.problem:
            lines.append(f"cannot migrate: {self.problem}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "keras_version": self.keras_version,
            "backend": self.backend,
            "input_shape": [list(s) for s in self.input_shapes] or None,
            "problem": self.problem,
            "layers": [
                {
                    "name": layer.name,
                    "class_name": layer.class_name,
                    "output_shape": None if layer.output_shape is None else list(layer.output_shape),
                    "computes": layer.computes,
                }
                for layer in self.layers
            ],
        }


def _node_text(node: Node) -> str:
    attrs = ", ".join(
        f"{k}={v!r}" for k, v in sorted(node.attrs.items()) if k not in ("shape",) or node.op != "input"
    )
    weights = ", ".join(f"{k}{tuple(v.shape)}" for k, v in node.weights.items())
    inner = ", ".join(p for p in (attrs, weights) if p)
    return f"{node.op}({inner})" if inner else node.op


def _top_layers(config: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    body = config.get("config")
    entries = body if isinstance(body, list) else (body or {}).get("layers") or []
    out = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        cfg = entry.get("config")
        name = entry.get("name") or (cfg.get("name") if isinstance(cfg, dict) else None) or "?"
        out.append((str(name), str(entry.get("class_name", "?")), cfg if isinstance(cfg, dict) else {}))
    return out


def _orderings(config: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(config, dict):
        for key, value in config.items():
            if key in ("dim_ordering", "data_format") and isinstance(value, str):
                found.add(value)
            else:
                found |= _orderings(value)
    elif isinstance(config, list):
        for value in config:
            found |= _orderings(value)
    return found


def _rows(config: dict[str, Any], graph: Graph | None) -> list[LayerRow]:
    rows = []
    for name, cls, _ in _top_layers(config):
        if cls == "InputLayer":
            node = graph.nodes.get(name) if graph else None
            rows.append(LayerRow(name, cls, node.shape[1:] if node and node.shape else None, "model input"))
            continue
        if graph is None or name not in graph.nodes:
            rows.append(LayerRow(name, cls, None, ""))
            continue
        own = [n for n in graph.topological_order() if n.name == name or n.name.startswith(name + "/")]
        shape = graph[name].shape
        computes = " -> ".join(_node_text(n) for n in own if n.op != "identity" or n.name == name)
        rows.append(LayerRow(name, cls, None if shape is None else tuple(shape[1:]), computes))
    return rows


def _default_info(arr: np.ndarray, layer: str) -> ArrayInfo:
    if arr.ndim <= 1:
        return ArrayInfo("bias", "any", layer)
    return ArrayInfo("unknown", "theano", layer)


def keras_weight_file(kfile: KerasFile) -> WeightFile:
    """The arrays of a Keras model file named ``layer/weight``, with the roles their translators declared."""
    from . import frontend_for

    if kfile.config is None:
        raise LegacyconvError(f"{kfile.path} holds no model config")
    graph: Graph | None = None
    problem = None
    try:
        graph = frontend_for(kfile).load(kfile)
    except LegacyconvError as exc:
        problem = str(exc)
    roles: dict[str, ArrayInfo] = graph.meta.get("weight_roles", {}) if graph is not None else {}
    arrays: dict[str, np.ndarray] = {}
    info: dict[str, ArrayInfo] = {}
    for layer, items in kfile.weights.items():
        for wname, arr in items:
            key = f"{layer}/{wname}"
            arrays[key] = arr
            info[key] = roles.get(key) or _default_info(arr, layer)
    config = kfile.config
    version = kfile.keras_version or "1.x"
    inputs = [graph[name].shape[1:] for name in graph.inputs] if graph is not None else []  # type: ignore[index]
    summary = KerasModelSummary(
        kfile.path,
        version,
        kfile.backend,
        str(config.get("class_name")),
        _rows(config, graph),
        [tuple(s) for s in inputs],
        problem,
        sorted(_orderings(config)),
    )
    notes = [f"cannot migrate this model: {problem}"] if problem else []
    fmt = f"keras{kfile.major}-hdf5"
    return WeightFile(kfile.path, fmt, summary.source, arrays, info, keras1=summary, notes=notes)
