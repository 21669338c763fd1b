"""Lazy access to ``onnx`` and ``onnxruntime``: ``import legacyconv`` loads neither."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["ONNX_INSTALL_HINT", "import_onnx", "import_onnxruntime"]

ONNX_INSTALL_HINT = 'pip install "legacyconv[onnx]"'


def _import(name: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(
            f"{what} needs the {name} package, which could not be imported ({exc}). "
            f"Install it with: {ONNX_INSTALL_HINT}"
        ) from None


def import_onnx() -> ModuleType:
    """Import and return ``onnx``, or raise ImportError with the install hint.

    >>> import_onnx().__name__
    'onnx'
    """
    return _import("onnx", "the ONNX target of legacyconv")


def import_onnxruntime() -> ModuleType:
    """Import and return ``onnxruntime``, or raise ImportError with the install hint.

    >>> import_onnxruntime().__name__
    'onnxruntime'
    """
    return _import("onnxruntime", "running ONNX models in legacyconv")
