"""Run a migrated ONNX model with ONNX Runtime (CPU provider) for ``legacyconv check``.

The same runner interface as :class:`legacyconv.targets.keras.KerasRunner`: ``nodes`` (the
reachable graph nodes, topological order), ``inputs`` / ``outputs`` and ``run(feeds, names)``.
The sidecar that :func:`~legacyconv.targets.onnx.to_onnx` stores in the model's metadata
(``legacyconv``) lists them; every node's tensor is named after it and held in the legacy layout
(the permutations are identities), so reference arrays compare as they are. Nodes that the file
does not expose as graph outputs are exposed in memory before the session is created: ``check``
reaches every legacy layer even without ``--expose-layers``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from ...io._atomic import PathLike, atomic_write
from .. import sidecar_bindings
from ._imports import import_onnx, import_onnxruntime
from .export import METADATA_KEY, SIDECAR_FORMAT

__all__ = ["DEFAULT_THREADS", "OnnxRunner", "read_sidecar", "save"]

#: ONNX Runtime intra-op threads (the benchmarks and CI machines give a check two cores)
DEFAULT_THREADS = 2


def save(model: Any, path: PathLike, *, force: bool = False, inputs: Iterable[PathLike] = ()) -> str:
    """Write ``model`` (an ``onnx.ModelProto``) to ``path`` (``.onnx``) atomically; return the path.

    Never overwrites ``inputs``; overwrites an existing ``path`` only with ``force``.
    """
    out = os.fspath(path)
    if not out.endswith(".onnx"):
        raise LegacyconvError(f"the ONNX target writes .onnx files. Received: {out}")
    data = model.SerializeToString()

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    return atomic_write(out, write, force=force, inputs=list(inputs), suffix=".onnx")


def read_sidecar(model: Any) -> dict[str, Any] | None:
    """The legacyconv sidecar of an ``onnx.ModelProto``, or None if it has none."""
    props = {p.key: p.value for p in model.metadata_props}
    if METADATA_KEY not in props:
        return None
    try:
        sidecar = json.loads(props[METADATA_KEY])
    except ValueError as exc:
        raise LegacyconvError(f"the ONNX model's {METADATA_KEY!r} metadata is not JSON: {exc}") from None
    if not isinstance(sidecar, dict) or sidecar.get("format") != SIDECAR_FORMAT:
        raise LegacyconvError(f"the ONNX model's {METADATA_KEY!r} metadata is not a {SIDECAR_FORMAT}")
    return sidecar


def _value_shape(value: Any) -> tuple[int | None, ...]:
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim)


def _plain_sidecar(model: Any) -> dict[str, Any]:
    """A sidecar for an ONNX model not written by legacyconv: its graph inputs and outputs as they are."""
    inits = {i.name for i in model.graph.initializer}

    def record(value: Any, op: str) -> dict[str, Any]:
        shape = _value_shape(value)
        return {
            "node": value.name,
            "op": op,
            "reference": None,
            "layer": value.name,
            "perm": list(range(len(shape))),
            "shape": list(shape),
        }

    inputs = [record(v, "input") for v in model.graph.input if v.name not in inits]
    outputs = [record(v, "output") for v in model.graph.output]
    return {"inputs": inputs, "outputs": outputs, "nodes": inputs + outputs}


class OnnxRunner:
    """An ONNX model in an ONNX Runtime CPU session, addressed by graph node names.

    Parameters
    ----------
    source : path or onnx.ModelProto
        A model written by ``legacyconv migrate ... -o OUT.onnx`` or :func:`to_onnx` (any other
        ONNX model: its graph inputs and outputs are reachable, under their own names).
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

    def __init__(self, source: Any, *, threads: int = DEFAULT_THREADS) -> None:
        onnx = import_onnx()
        ort = import_onnxruntime()
        self.path: str | None = None
        model = source
        if isinstance(source, (str, os.PathLike)):
            self.path = os.fspath(source)
            if not os.path.isfile(self.path):
                raise LegacyconvError(f"no such model file: {self.path}")
            try:
                model = onnx.load(self.path)
            except Exception as exc:  # protobuf raises several types for a bad file
                raise LegacyconvError(
                    f"cannot read {self.path} as an ONNX model: {_first_line(exc)}"
                ) from None
        if not isinstance(model, onnx.ModelProto):
            raise LegacyconvError(
                f"source must be an onnx.ModelProto or a path to a .onnx file. Received: {type(source).__name__}"
            )
        self.sidecar = read_sidecar(model) or _plain_sidecar(model)
        #: the model normalises with its batch's statistics (outputs depend on the batch split)
        self.batch_dependent = bool(self.sidecar.get("batch_dependent", False))
        #: the reachable graph nodes, topological order
        self.nodes, self.inputs, outputs = sidecar_bindings(self.sidecar, self.path or "the ONNX model")
        by_node = {b.node: b for b in self.nodes}
        self.outputs = [by_node[d["node"]] for d in outputs]
        exposed = {o.name for o in model.graph.output} | {b.layer for b in self.inputs}
        hidden = [b.layer for b in self.nodes if b.layer not in exposed]
        if hidden:
            model = _with_outputs(onnx, model, hidden)
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ONNX Runtime raises its own exception types
            where = self.path or "the ONNX model"
            raise LegacyconvError(f"ONNX Runtime cannot load {where}: {_first_line(exc)}") from None
        self._dtypes = {i.name: _np_dtype(i.type) for i in self.session.get_inputs()}

    def run(self, feeds: Mapping[str, np.ndarray], names: Sequence[str]) -> dict[str, np.ndarray]:
        """Feed legacy-layout arrays (input node name -> array, cast to the input's dtype) and
        return the named nodes' outputs, legacy layout."""
        missing = [b.node for b in self.inputs if b.node not in feeds]
        if missing:
            raise LegacyconvError(f"no array for the model inputs {missing}; got {sorted(feeds)}")
        by_node = {b.node: b for b in self.nodes}
        unknown = [n for n in names if n not in by_node]
        if unknown:
            raise LegacyconvError(
                f"node(s) {unknown} are not reachable in the model; it reaches {list(by_node)}"
            )
        for b in self.inputs:
            got = np.shape(feeds[b.node])
            if len(got) != len(b.shape) or any(w is not None and g != w for g, w in zip(got, b.shape)):
                want = tuple("batch" if w is None else w for w in b.shape)
                raise LegacyconvError(f"the model input {b.node!r} takes arrays of shape {want}; got {got}")
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return {}
        batch = {
            b.layer: np.ascontiguousarray(np.asarray(feeds[b.node]), dtype=self._dtypes[b.layer])
            for b in self.inputs
        }
        values = self.session.run([by_node[n].layer for n in wanted], batch)
        return {n: np.asarray(v) for n, v in zip(wanted, values)}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _np_dtype(ort_type: str) -> np.dtype:
    """``'tensor(float)'`` -> float32 and so on."""
    names = {"float": "float32", "double": "float64", "float16": "float16"}
    inner = ort_type[len("tensor(") : -1] if ort_type.startswith("tensor(") else ort_type
    return np.dtype(names.get(inner, inner))


def _with_outputs(onnx: Any, model: Any, names: list[str]) -> Any:
    """A copy of ``model`` that also outputs the tensors ``names`` (types left to the runtime)."""
    produced = {o for n in model.graph.node for o in n.output}
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for name in names:
        if name not in produced:
            raise LegacyconvError(f"the ONNX model's sidecar lists {name!r} but no ONNX node produces it")
        copy.graph.output.append(onnx.ValueInfoProto(name=name))
    return copy
