"""Run a migrated Keras model node by node, in the legacy layout: :class:`KerasRunner`.

The runner interface ``check`` uses (the ONNX target provides the same): ``nodes`` (the
reachable graph nodes with their legacy references, shapes and layout permutations, in
topological order), ``inputs`` / ``outputs`` (bindings of the graph inputs and outputs) and
``run(feeds, names)`` (``{input node: legacy array}`` in, ``{node: legacy array}`` out: the
runner applies and undoes the permutations exactly).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from .. import Binding, sidecar_bindings
from .build import KerasMigration

__all__ = ["Binding", "KerasRunner"]


class KerasRunner:
    """A migrated Keras model with its sidecar, runnable on legacy-layout arrays.

    Parameters
    ----------
    source : path or KerasMigration
        A ``.keras`` file written by ``legacyconv migrate`` (with its ``legacyconv.json``
        member), or the in-memory result of :func:`legacyconv.targets.keras.emit`.
    """

    def __init__(self, source: Any) -> None:
        from .saving import read_sidecar

        self.path: str | None = None
        sidecar: dict[str, Any] | None
        if isinstance(source, KerasMigration):
            self.model, sidecar = source.model, source.sidecar
        else:
            self.path = os.fspath(source)
            sidecar = read_sidecar(self.path)
            if sidecar is None:
                raise LegacyconvError(
                    f"{self.path} has no legacyconv sidecar (it was not written by legacyconv migrate)"
                )
            from ..._tf import import_keras

            # plain Keras, safe mode: a migrated model holds stock layers only
            self.model = import_keras().models.load_model(self.path, compile=False)
        assert sidecar is not None
        self.sidecar = sidecar
        #: the outputs depend on the whole batch (statistics over the batch, as Theano computed them)
        self.batch_dependent = bool(sidecar.get("batch_dependent", False))
        where = self.path or "the migrated model"
        layers = [layer.name for layer in self.model.layers]
        #: the reachable graph nodes, topological order
        self.nodes, self.inputs, outputs = sidecar_bindings(sidecar, where, layers)
        by_node = {b.node: b for b in self.nodes}
        # the model outputs are the output nodes materialised in the model's output layout
        self.outputs = []
        for record in outputs:  # its own layer and perm; the node's reference and legacy shape
            b = Binding.from_record({**record, "reference": None, "shape": []}, where)
            node = by_node[b.node]
            self.outputs.append(Binding(b.node, node.reference, b.layer, b.perm, node.shape))
        absent = sorted({b.layer for b in self.outputs} - set(layers))
        if absent:
            raise LegacyconvError(f"{where}: the sidecar names layers the model does not hold: {absent}")
        self._probes: dict[tuple[str, ...], Any] = {}

    def _tensor(self, layer: str) -> Any:
        return self.model.get_layer(layer).output

    def _probe(self, layers: tuple[str, ...]) -> Any:
        probe = self._probes.get(layers)
        if probe is None:
            from ..._tf import import_keras

            probe = import_keras().Model(self.model.inputs, [self._tensor(name) for name in layers])
            self._probes[layers] = probe
        return probe

    def run(self, feeds: Mapping[str, np.ndarray], names: Sequence[str]) -> dict[str, np.ndarray]:
        """Feed legacy-layout arrays (input node name → array) and return the named nodes' outputs,
        legacy layout. An output node is read from the model output."""
        missing = [b.node for b in self.inputs if b.node not in feeds]
        if missing:
            raise LegacyconvError(f"no array for the model inputs {missing}; got {sorted(feeds)}")
        feed = []
        for b, t in zip(self.inputs, self.model.inputs):
            dtype = np.dtype(getattr(t, "dtype", None) or "float32")
            feed.append(np.ascontiguousarray(np.transpose(feeds[b.node], b.perm)).astype(dtype, copy=False))
        out_by_node = {b.node: b for b in self.outputs}
        by_node = {b.node: b for b in self.nodes}
        wanted = []
        for name in names:
            if name not in by_node and name not in out_by_node:
                raise LegacyconvError(f"node {name!r} is not reachable in the model")
            wanted.append(out_by_node.get(name) or by_node[name])
        if not wanted:
            return {}
        probe = self._probe(tuple(b.layer for b in wanted))
        outs = probe.predict_on_batch(feed)  # the compiled (graph-mode) forward pass, inference mode
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        return {b.node: np.transpose(np.asarray(o), np.argsort(b.perm)) for o, b in zip(outs, wanted)}
