"""Targets: emit a framework model from a :class:`legacyconv.graph.Graph`, chosen by output extension.

A target is a subpackage (``targets/keras/``) whose ``__init__`` exposes ``emit(graph, **options)``
(a built model with its node bindings), ``save(built, path, ...)`` (atomic) and ``runner(source)``
(:class:`legacyconv.targets.keras.runner.KerasRunner`-like: load, list reachable nodes with their
layout permutations, run a batch). Nothing here imports a framework: each target imports its own
lazily.

>>> target_for("model.keras").name
'keras'
>>> sorted(TARGETS)
['keras', 'onnx']
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .._errors import LegacyconvError

__all__ = ["TARGETS", "Binding", "Target", "register_target", "sidecar_bindings", "target_for"]


@dataclass(frozen=True)
class Binding:
    """Where a graph node's output lives in a target model (a runner's ``nodes``/``inputs``/``outputs``).

    ``perm`` maps legacy axes to the target's: ``target_array == np.transpose(legacy_array, perm)``.

    >>> Binding.from_record({"node": "c", "reference": "layer01_c", "layer": "c", "perm": [0, 2, 3, 1],
    ...                      "shape": [None, 4, 5, 6]}).perm
    (0, 2, 3, 1)
    """

    node: str
    reference: str | None
    layer: str
    perm: tuple[int, ...]
    shape: tuple[int | None, ...]

    @classmethod
    def from_record(cls, d: Mapping[str, Any], where: str = "the sidecar") -> Binding:
        """A binding from a sidecar record (``node``, ``reference``, ``layer``, ``perm``, ``shape``),
        checked: the sidecar is read from the file, which may have been edited or damaged.

        >>> Binding.from_record({"node": "c", "layer": "c", "perm": [0, 0]})
        Traceback (most recent call last):
        ...
        legacyconv._errors.LegacyconvError: the sidecar: a node record must hold a node and a layer name, an optional reference name, perm (a permutation of its axes) and shape (sizes or nulls, one per axis). Received: {'node': 'c', 'layer': 'c', 'perm': [0, 0]}
        """
        perm: Any = d.get("perm") if isinstance(d, Mapping) else None
        shape: Any = d.get("shape", []) if isinstance(d, Mapping) else None
        ok = (
            isinstance(d, Mapping)
            and isinstance(d.get("node"), str)
            and isinstance(d.get("layer"), str)
            and (d.get("reference") is None or isinstance(d.get("reference"), str))
            and isinstance(perm, list)
            and all(type(v) is int for v in perm)
            and sorted(perm) == list(range(len(perm)))
            and isinstance(shape, list)
            and all(v is None or (type(v) is int and v >= 0) for v in shape)
            and (not shape or len(shape) == len(perm))
        )
        if not ok:
            raise LegacyconvError(
                f"{where}: a node record must hold a node and a layer name, an optional reference "
                "name, perm (a permutation of its axes) and shape (sizes or nulls, one per axis). "
                f"Received: {d!r:.160}"
            )
        return cls(d["node"], d.get("reference"), d["layer"], tuple(perm), tuple(shape))


def sidecar_bindings(
    sidecar: Mapping[str, Any], where: str, layers: Any = None
) -> tuple[list[Binding], list[Binding], list[Mapping[str, Any]]]:
    """The ``nodes`` and ``inputs`` bindings of a sidecar, and its ``outputs`` records (each
    naming one of the nodes), all checked; ``layers`` (if given) are the names the model holds,
    and every binding must name one of them.

    >>> sidecar_bindings({"nodes": [], "inputs": [{"node": "x"}], "outputs": []}, "m.keras")
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: m.keras: the sidecar's inputs name nodes it does not list: ['x']
    """
    records: dict[str, Any] = {k: sidecar.get(k) for k in ("nodes", "inputs", "outputs")}
    for key, value in records.items():
        if not isinstance(value, list) or not all(isinstance(r, Mapping) for r in value):
            raise LegacyconvError(
                f"{where}: the sidecar's {key} must be a list of records. Received: {value!r:.120}"
            )
    nodes = [Binding.from_record(d, where) for d in records["nodes"]]
    by_node = {b.node: b for b in nodes}
    for key in ("inputs", "outputs"):
        unknown = [r.get("node") for r in records[key] if r.get("node") not in by_node]
        if unknown:
            raise LegacyconvError(
                f"{where}: the sidecar's {key} name nodes it does not list: {unknown!r:.120}"
            )
    if layers is not None:
        absent = sorted({b.layer for b in nodes} - set(layers))
        if absent:
            raise LegacyconvError(
                f"{where}: the sidecar names layers the model does not hold: {absent!r:.160}"
            )
    return nodes, [by_node[r["node"]] for r in records["inputs"]], records["outputs"]


@dataclass(frozen=True)
class Target:
    """A registered target: its name, the output extensions it writes and its module."""

    name: str
    extensions: tuple[str, ...]
    module: str

    def load(self) -> ModuleType:
        """The target's module (imported on first use)."""
        return importlib.import_module(self.module)


TARGETS: dict[str, Target] = {}


def register_target(name: str, extensions: tuple[str, ...], module: str) -> Target:
    """Register the target ``name`` writing files ending in ``extensions`` (``('.keras',)``)."""
    if name in TARGETS:
        raise RuntimeError(f"target {name!r} registered twice")
    TARGETS[name] = target = Target(name, tuple(extensions), module)
    return target


def target_for(path: str | os.PathLike[str]) -> Target:
    """The target that writes ``path``, chosen by its extension."""
    out = os.fspath(path)
    for target in TARGETS.values():
        if out.endswith(target.extensions):
            return target
    known = sorted(ext for t in TARGETS.values() for ext in t.extensions)
    raise LegacyconvError(
        f"no target writes {out!r}: the output must end in one of {known} (the extension chooses the format)"
    )


register_target("keras", (".keras",), "legacyconv.targets.keras")
register_target("onnx", (".onnx",), "legacyconv.targets.onnx")
