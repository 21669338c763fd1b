"""``to_onnx``: a legacy model graph as a standard ONNX model, NCHW like Theano.

The model uses only default-domain operators at :data:`DEFAULT_OPSET`. Opset 17 is the newest
that the whole deployment chain reads (ONNX Runtime since 1.13, TensorRT 8.6 and 10,
OpenVINO, PyTorch's ``onnx2torch``) and it has every operator the graph needs with today's
semantics (``Softmax`` over one axis, ``Squeeze``/``ReduceSum`` axes as inputs, ``LRN``,
``RNN``/``GRU``/``LSTM`` with ``HardSigmoid``); the emitted nodes are equally valid in every
later opset, which ``opset=`` selects (up to what the installed ``onnx`` knows).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from ..._params import check_bool
from ...graph.core import Graph
from ...graph.ops import BATCH_DEPENDENT_OPS
from . import emitters as _emitters  # noqa: F401  (registers the emitters)
from . import recurrent as _recurrent  # noqa: F401
from ._imports import import_onnx
from .builder import EMITTERS, OnnxBuilder

__all__ = ["DEFAULT_OPSET", "METADATA_KEY", "MIN_OPSET", "SIDECAR_FORMAT", "to_onnx"]

DEFAULT_OPSET = 17
MIN_OPSET = 17
#: ``metadata_props`` key of the JSON sidecar: the graph nodes the model reaches (see :func:`to_onnx`)
METADATA_KEY = "legacyconv"
SIDECAR_FORMAT = "legacyconv-onnx-sidecar"


def _as_graph(source: Any, weights: Any = None) -> Graph:
    """A private copy of the graph (shapes inferred; the caller's graph is left untouched)."""
    if not isinstance(source, Graph):
        if not isinstance(source, (str, os.PathLike)):
            raise LegacyconvError(
                f"to_onnx needs a legacyconv.graph.Graph or the path of a legacy model; got {type(source).__name__}"
            )
        from ...frontends import load_graph

        source = load_graph(source, weights=weights)
    graph = Graph(
        name=source.name,
        nodes={
            k: dataclasses.replace(n, attrs=dict(n.attrs), weights=dict(n.weights))
            for k, n in source.nodes.items()
        },
        inputs=list(source.inputs),
        outputs=list(source.outputs),
        meta=dict(source.meta),
    )
    graph.validate()
    return graph


def _value_info(onnx: Any, name: str, dtype: str, shape: tuple[Any, ...]) -> Any:
    dims = ["batch" if i == 0 else (None if s is None else int(s)) for i, s in enumerate(shape)]
    return onnx.helper.make_tensor_value_info(
        name, onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), dims
    )


def to_onnx(
    source: Any,
    *,
    weights: Any = None,
    input_layout: str = "nchw",
    opset: int = DEFAULT_OPSET,
    expose_layers: bool = False,
    unroll_rnn: bool = False,
    check: bool = True,
) -> Any:
    """Translate a legacy model into an ``onnx.ModelProto`` with Theano's semantics.

    Parameters
    ----------
    source : Graph or path
        A :class:`legacyconv.graph.Graph`, or a legacy model file that a frontend reads
        (:func:`legacyconv.frontends.load_graph`).
    weights : path, optional
        The ``save_weights()`` file of a JSON architecture given as ``source``.
    input_layout : {'nchw'}
        ONNX holds tensors as Theano did: the inputs take the legacy (channels-first) arrays.
    opset : int
        The default-domain opset, from 17 (the default) up to the installed ``onnx``'s newest.
    expose_layers : bool
        Add a graph output per legacy layer (every node with a ``reference``), named after the
        layer, so that ``legacyconv check`` compares layer by layer. The model's own outputs
        are always there.
    unroll_rnn : bool
        Write recurrent layers step by step (``MatMul``, elementwise ops) instead of ONNX's
        ``RNN``/``GRU``/``LSTM`` with ``activations``, for runtimes that ignore that attribute.
        Masked recurrent layers are always unrolled.
    check : bool
        Run ``onnx.checker.check_model(model, full_check=True)`` (on by default).

    Returns
    -------
    onnx.ModelProto
        Inputs and outputs named after the legacy model's, a dynamic batch axis (``'batch'``),
        channels-first tensors, weights as initializers in their legacy dtype. The metadata
        entry ``legacyconv`` is a JSON sidecar in the Keras target's format: ``nodes`` lists
        ``{"node", "op", "reference", "layer", "perm", "shape"}`` for every input, output and
        legacy layer (``layer`` is the ONNX tensor, named after the node; ``perm`` is the
        identity: the layout is the legacy one), ``inputs`` and ``outputs`` the model's.

    Examples
    --------
    >>> import numpy as np
    >>> from legacyconv.graph import Graph
    >>> g = Graph()
    >>> x = g.add("input", "x", attrs={"shape": (1, 5, 5)})
    >>> y = g.add("conv", "conv1", [x], weights={"W": np.ones((2, 1, 3, 3), np.float32)},
    ...           attrs={"pads": ((1, 1), (1, 1))}, reference="layer01_conv1")
    >>> g.outputs = [y]
    >>> model = to_onnx(g)
    >>> [n.op_type for n in model.graph.node], model.opset_import[0].version
    (['Conv'], 17)
    """
    expose_layers, unroll_rnn, check = (
        check_bool(v, n)
        for v, n in ((expose_layers, "expose_layers"), (unroll_rnn, "unroll_rnn"), (check, "check"))
    )
    onnx = import_onnx()
    newest = int(onnx.defs.onnx_opset_version())
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise LegacyconvError(
            f"opset must be an integer from {MIN_OPSET} to {newest}. Received: opset={opset!r}"
        )
    if not (isinstance(input_layout, str) and input_layout == "nchw"):
        raise LegacyconvError(
            "an ONNX model takes the legacy channels-first arrays: input_layout must be 'nchw' "
            f"(NHWC is for the Keras target). Received: input_layout={input_layout!r}"
        )
    graph = _as_graph(source, weights)
    b = OnnxBuilder(graph, opset, {"unroll_rnn": bool(unroll_rnn)})
    inputs = []
    for node in graph.topological_order():
        if node.op == "input":
            inputs.append(_value_info(onnx, node.name, node.dtype, node.shape or ()))
            continue
        emitter = EMITTERS.get(node.op)
        if emitter is None:
            raise NotImplementedError(f"graph op {node.op!r} (node {node.name!r}) has no ONNX emitter.")
        try:
            emitter(b, node, list(node.inputs))
        except LegacyconvError as exc:
            where = node.source or f"node {node.name!r} ({node.op})"
            raise type(exc)(f"{where}: {exc}") from None
    wanted = list(dict.fromkeys(graph.outputs))
    if expose_layers:
        wanted += [n.name for n in graph.topological_order() if n.reference and n.name not in wanted]
    passthrough = [name for name in graph.outputs if graph.nodes[name].op == "input"]
    if passthrough:
        raise LegacyconvError(
            f"the graph outputs {passthrough} are its inputs unchanged; an ONNX model cannot output a tensor "
            "under its input's name"
        )
    wanted = [name for name in wanted if graph.nodes[name].op != "input"]
    outputs = [_value_info(onnx, n, graph.nodes[n].dtype, graph.nodes[n].shape or ()) for n in wanted]
    onnx_graph = onnx.helper.make_graph(b.nodes, graph.name, inputs, outputs, b.initializers)
    opsets = [onnx.helper.make_opsetid("", opset)]
    model = onnx.helper.make_model(
        onnx_graph,
        opset_imports=opsets,
        ir_version=onnx.helper.find_min_ir_version_for(opsets),
        producer_name="legacyconv",
        producer_version=_version(),
    )
    onnx.helper.set_model_props(model, {METADATA_KEY: json.dumps(_sidecar(graph, opset))})
    if check:
        onnx.checker.check_model(model, full_check=True)
    return model


def _sidecar(graph: Graph, opset: int) -> dict[str, Any]:
    """Where every reachable graph node lives in the ONNX model (the same tensor name, legacy layout)."""
    records = [
        {
            "node": n.name,
            "op": n.op,
            "reference": n.reference,
            "layer": n.name,
            "perm": list(range(len(n.shape or ()))),
            "shape": list(n.shape or ()),
        }
        for n in graph.topological_order()
        if n.reference or n.op == "input" or n.name in graph.outputs
    ]
    return {
        "format": SIDECAR_FORMAT,
        "version": 1,
        "graph": graph.name,
        "source": {k: v for k, v in graph.meta.items() if isinstance(v, (str, int, float, bool))},
        "opset": opset,
        # a node normalising with its batch's statistics: check runs the reference as one batch
        "batch_dependent": any(n.op in BATCH_DEPENDENT_OPS for n in graph.nodes.values()),
        "inputs": [r for r in records if r["op"] == "input"],
        "outputs": [
            {"node": n, "layer": n, "perm": list(range(len(graph.nodes[n].shape or ())))}
            for n in graph.outputs
        ],
        "nodes": records,
    }


def _version() -> str:
    from ... import __version__

    return __version__
