"""Run a migrated ONNX model with ONNX Runtime (CPU provider) for ``legacyconv check``.

The runner reads the layer list that :func:`~legacyconv.targets.onnx.to_onnx` stores in the
model's metadata (``legacyconv.layers``): every legacy layer's tensor is named after the layer
and held in the legacy layout (``perm`` is the identity), so a reference array compares as it is.
Layers that the file does not expose as graph outputs are exposed in memory before the session is
created: ``check`` sees every layer even without ``--expose-layers``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from ...io._atomic import PathLike, atomic_write
from ._imports import import_onnx, import_onnxruntime
from .export import METADATA_KEY

__all__ = ["OnnxLayer", "OnnxRunner", "save_onnx"]

#: ONNX Runtime threads: the benchmarks and CI machines give a check two cores
DEFAULT_THREADS = 2


@dataclass(frozen=True)
class OnnxLayer:
    """A legacy layer reachable in an ONNX model: its tensor, reference stem and layout."""

    node: str
    reference: str | None
    perm: tuple[int, ...]


def save_onnx(model: Any, path: PathLike, *, force: bool = False, inputs: Sequence[PathLike] = ()) -> str:
    """Write ``model`` (an ``onnx.ModelProto``) to ``path`` atomically; return the path.

    Refuses to overwrite an input, or an existing file unless ``force``.
    """
    data = model.SerializeToString()

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    return atomic_write(path, write, force=force, inputs=inputs, suffix=".onnx")


class OnnxRunner:
    """An ONNX model in an ONNX Runtime CPU session, addressed by legacy layer names.

    Parameters
    ----------
    model : path or onnx.ModelProto
        A model written by ``legacyconv migrate ... -o OUT.onnx`` (or any ONNX model: then only
        its graph outputs are reachable, under their own names).
    threads : int
        Intra-op threads of the session.

    Examples
    --------
    >>> import numpy as np
    >>> from legacyconv.graph import Graph
    >>> from legacyconv.targets.onnx import to_onnx
    >>> g = Graph()
    >>> x = g.add("input", "x", attrs={"shape": (1, 4, 4)})
    >>> y = g.add("pool", "pool1", [x], attrs={"ws": (2, 2), "strides": (2, 2)}, reference="layer01_pool1")
    >>> g.outputs = [y]
    >>> runner = OnnxRunner(to_onnx(g))
    >>> runner.run({"x": np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)}, ["pool1"])["pool1"][0, 0]
    array([[ 5.,  7.],
           [13., 15.]], dtype=float32)
    """

    def __init__(self, model: Any, *, threads: int = DEFAULT_THREADS) -> None:
        onnx = import_onnx()
        ort = import_onnxruntime()
        self.path: str | None = None
        if isinstance(model, (str, os.PathLike)):
            self.path = os.fspath(model)
            if not os.path.isfile(self.path):
                raise LegacyconvError(f"no such model file: {self.path}")
            try:
                model = onnx.load(self.path)
            except Exception as exc:  # protobuf raises several types for a bad file
                raise LegacyconvError(f"cannot read {self.path} as an ONNX model: {_first_line(exc)}") from None
        if not isinstance(model, onnx.ModelProto):
            raise LegacyconvError(f"model must be an onnx.ModelProto or a path to a .onnx file. Received: {type(model).__name__}")
        self.layers = _layers(model)
        outputs = {o.name for o in model.graph.output}
        hidden = [layer.node for layer in self.layers.values() if layer.node not in outputs]
        if hidden:
            model = _with_outputs(onnx, model, hidden)
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ONNX Runtime raises its own exception types
            where = self.path or "the ONNX model"
            raise LegacyconvError(f"ONNX Runtime cannot load {where}: {_first_line(exc)}") from None
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        self.output_names = [o.name for o in model.graph.output]

    def input_specs(self) -> dict[str, tuple[tuple[Any, ...], np.dtype]]:
        """Each graph input's shape (``None`` for dynamic axes) and NumPy dtype."""
        specs = {}
        for name, arg in self.inputs.items():
            shape = tuple(d if isinstance(d, int) else None for d in arg.shape)
            specs[name] = (shape, _np_dtype(arg.type))
        return specs

    def run(self, feeds: Mapping[str, np.ndarray], names: Sequence[str]) -> dict[str, np.ndarray]:
        """Run one batch (legacy layout, cast to each input's dtype) and return the named tensors."""
        missing = [n for n in self.inputs if n not in feeds]
        if missing:
            raise LegacyconvError(f"the ONNX model needs inputs {list(self.inputs)}; missing {missing}")
        unknown = [n for n in names if n not in self.output_names]
        if unknown:
            raise LegacyconvError(f"the ONNX model has no reachable tensor(s) {unknown}; it has {self.output_names}")
        specs = self.input_specs()
        batch = {n: np.ascontiguousarray(np.asarray(feeds[n]), dtype=specs[n][1]) for n in self.inputs}
        values = self.session.run(list(names), batch)
        return dict(zip(names, (np.asarray(v) for v in values)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _np_dtype(ort_type: str) -> np.dtype:
    """``'tensor(float)'`` -> float32 and so on."""
    names = {"float": "float32", "double": "float64", "float16": "float16"}
    inner = ort_type[len("tensor(") : -1] if ort_type.startswith("tensor(") else ort_type
    return np.dtype(names.get(inner, inner))


def _layers(model: Any) -> dict[str, OnnxLayer]:
    """The model's legacy layers by node name (its graph outputs when it has no legacyconv metadata)."""
    props = {p.key: p.value for p in model.metadata_props}
    if METADATA_KEY not in props:
        return {o.name: OnnxLayer(o.name, None, ()) for o in model.graph.output}
    try:
        entries = json.loads(props[METADATA_KEY])
        return {e["node"]: OnnxLayer(str(e["node"]), e.get("reference"), tuple(int(p) for p in e["perm"])) for e in entries}
    except (ValueError, KeyError, TypeError) as exc:
        raise LegacyconvError(f"the ONNX model's {METADATA_KEY!r} metadata is malformed: {exc}") from None


def _with_outputs(onnx: Any, model: Any, names: list[str]) -> Any:
    """A copy of ``model`` that also outputs the tensors ``names`` (types left to the runtime)."""
    produced = {o for n in model.graph.node for o in n.output}
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for name in names:
        if name not in produced:
            raise LegacyconvError(f"the ONNX model lists layer {name!r} but no node produces it")
        copy.graph.output.append(onnx.ValueInfoProto(name=name))
    return copy
