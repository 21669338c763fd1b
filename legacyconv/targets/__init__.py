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

__all__ = ["TARGETS", "Binding", "Target", "register_target", "target_for"]


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
    def from_record(cls, d: Mapping[str, Any]) -> Binding:
        """A binding from a sidecar record (``node``, ``reference``, ``layer``, ``perm``, ``shape``)."""
        return cls(
            str(d["node"]),
            d.get("reference"),
            str(d["layer"]),
            tuple(int(v) for v in d["perm"]),
            tuple(None if v is None else int(v) for v in d.get("shape", ())),
        )


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
