"""Lazy access to TensorFlow: ``import legacyconv`` never loads it, the functions that need it do.

A TensorFlow tensor can only exist if the user imported TensorFlow, so only the TensorFlow
engine, the Keras layer builders and the migration checks call :func:`import_tensorflow`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["TF_INSTALL_HINT", "import_keras", "import_tensorflow"]

TF_INSTALL_HINT = 'pip install "legacyconv[tf]"'


def import_tensorflow() -> ModuleType:
    """Import and return ``tensorflow``, or raise ImportError with the install hint.

    >>> import_tensorflow().__name__
    'tensorflow'
    """
    try:
        return importlib.import_module("tensorflow")
    except ImportError as exc:
        raise ImportError(
            f"this part of legacyconv needs TensorFlow, which could not be imported ({exc}). "
            f"Install it with: {TF_INSTALL_HINT}"
        ) from None


def import_keras() -> ModuleType:
    """Return the Keras that ships with TensorFlow (``tf.keras``), importing TensorFlow first.

    >>> hasattr(import_keras().layers, "Conv2D")
    True
    """
    return import_tensorflow().keras
