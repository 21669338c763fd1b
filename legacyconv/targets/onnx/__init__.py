"""The ONNX target: legacy model graphs as standard ONNX models, NCHW like Theano.

The target protocol of :mod:`legacyconv.targets`: :func:`emit` (here :func:`to_onnx`: an
``onnx.ModelProto`` from one emitter per graph op in :mod:`~legacyconv.targets.onnx.emitters`),
:func:`save` (atomic ``.onnx``) and :func:`runner` (an :class:`OnnxRunner` on ONNX Runtime for
``legacyconv check``). ``onnx`` and ``onnxruntime`` are imported only when called
(``pip install "legacyconv[onnx]"``).
"""

from __future__ import annotations

from typing import Any

from .builder import EMITTERS, emits
from .export import DEFAULT_OPSET, METADATA_KEY, SIDECAR_FORMAT, to_onnx
from .runner import DEFAULT_THREADS, OnnxRunner, read_sidecar, save

__all__ = [
    "DEFAULT_OPSET",
    "DEFAULT_THREADS",
    "EMITTERS",
    "METADATA_KEY",
    "SIDECAR_FORMAT",
    "OnnxRunner",
    "describe",
    "emit",
    "emits",
    "read_sidecar",
    "runner",
    "save",
    "supported_ops",
    "to_onnx",
]

#: the target protocol's name for :func:`to_onnx`
emit = to_onnx


def runner(source: Any) -> OnnxRunner:
    """An :class:`OnnxRunner` for a ``.onnx`` file or an in-memory ``onnx.ModelProto``."""
    return OnnxRunner(source)


def supported_ops() -> list[str]:
    """The graph ops this target emits, sorted."""
    return sorted(EMITTERS)


def describe(model: Any) -> str:
    """One line about an ONNX model: opset, node count, inputs and outputs with their shapes.

    >>> import numpy as np
    >>> from legacyconv.graph import Graph
    >>> g = Graph()
    >>> x = g.add("input", "x", attrs={"shape": (3, 8, 8)})
    >>> g.outputs = [g.add("pool", "p", [x], attrs={"ws": (2, 2), "strides": (2, 2)})]
    >>> describe(to_onnx(g))
    'onnx model (opset 17, 1 ONNX nodes), input x (batch, 3, 8, 8), output p (batch, 3, 4, 4)'
    """

    def shapes(values: Any) -> str:
        def dim(d: Any) -> str:
            return str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")

        return ", ".join(
            f"{v.name} ({', '.join(dim(d) for d in v.type.tensor_type.shape.dim)})" for v in values
        )

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    return (
        f"onnx model (opset {opset}, {len(model.graph.node)} ONNX nodes), input {shapes(model.graph.input)}, "
        f"output {shapes(model.graph.output)}"
    )
