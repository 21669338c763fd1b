"""Lazy access to TensorFlow: ``import legacyconv`` never loads it, the functions that need it do.

A TensorFlow tensor can only exist if the user imported TensorFlow, so only the TensorFlow
engine, the Keras layer builders and the migration checks call :func:`import_tensorflow`.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from types import ModuleType

__all__ = ["TF_INSTALL_HINT", "import_keras", "import_tensorflow", "import_tensorflow_quietly"]

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


def import_tensorflow_quietly() -> tuple[ModuleType, str]:
    """Import TensorFlow with its start-up chatter held back; return it and the chatter.

    TensorFlow's C++ code writes to file descriptor 2 before its logging is initialised
    (``WARNING: All log messages before absl::InitializeLog() ...``, oneDNN and CUDA probes),
    where ``TF_CPP_MIN_LOG_LEVEL`` cannot reach: the import runs with descriptor 2 pointed at
    a temporary file. Set ``TF_CPP_MIN_LOG_LEVEL`` first to quieten what comes after.

    >>> tf, chatter = import_tensorflow_quietly()
    >>> tf.__name__, isinstance(chatter, str)
    ('tensorflow', True)
    """
    if "tensorflow" in sys.modules:
        return import_tensorflow(), ""
    with tempfile.TemporaryFile() as held:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(held.fileno(), 2)
        try:
            tf = import_tensorflow()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        held.seek(0)
        return tf, held.read().decode("utf-8", "replace")
