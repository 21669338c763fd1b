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
