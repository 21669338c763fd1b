"""The ONNX target: legacy model graphs as standard ONNX models, NCHW like Theano.

:func:`to_onnx` builds an ``onnx.ModelProto`` (one emitter per graph op in
:mod:`~legacyconv.targets.onnx.emitters`), :func:`save_onnx` writes it, and
:class:`~legacyconv.targets.onnx.runner.OnnxRunner` runs a saved model with ONNX Runtime for
``legacyconv check``. ``onnx`` and ``onnxruntime`` are imported only when called
(``pip install "legacyconv[onnx]"``).
"""

from __future__ import annotations

from .export import DEFAULT_OPSET, METADATA_KEY, to_onnx
from .runner import OnnxRunner, save_onnx

__all__ = ["DEFAULT_OPSET", "METADATA_KEY", "OnnxRunner", "save_onnx", "to_onnx"]
