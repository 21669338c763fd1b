"""Convolution engines. Each module exposes the same ``correlate`` function.

``numpy`` (im2col + BLAS GEMM), ``scipy`` (batched FFT / ``scipy.signal``) and ``tensorflow``
(``tf.nn`` ops on converted layouts). Engines are imported on first use, so that
``import legacyconv`` never loads TensorFlow.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .._errors import LegacyconvError

__all__ = ["BACKENDS", "get_engine"]

_MODULES = {"numpy": "numpy_gemm", "scipy": "scipy_fft", "tensorflow": "tensorflow"}
BACKENDS = tuple(_MODULES)


def get_engine(backend: str) -> ModuleType:
    """Return the engine module for ``backend``, importing it on first use."""
    if backend not in _MODULES:
        raise LegacyconvError(
            f"backend must be one of {{'numpy', 'scipy', 'tensorflow'}}. Received: backend={backend!r}"
        )
    return importlib.import_module(f".{_MODULES[backend]}", __name__)
