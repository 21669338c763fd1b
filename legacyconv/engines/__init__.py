"""Convolution engines, and the one engine contract.

``numpy`` (BLAS GEMMs over shifted views or im2col columns), ``scipy`` (batched FFT / ``scipy.signal``) and ``tensorflow``
(``tf.raw_ops`` on converted layouts). Each engine module implements the ops of :data:`OPS`
under the same names and signatures (see :mod:`legacyconv.engines.numpy_gemm` for what each
computes); the public ops validate their arguments once and call :func:`get_op`. Adding an op
means adding a name to :data:`OPS` and a function to each engine; an engine without it gives
the one error "backend X has no op Y". Each engine also lists in ``NON_FINITE_EXACT`` the ops
whose NaN and Inf land where Theano's im2col/col2im arithmetic put them; for the others,
:func:`get_op` hands non-finite data to the numpy engine. Engines are imported on first use,
so that ``import legacyconv`` never loads TensorFlow.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .._errors import LegacyconvError
from .._params import all_finite

__all__ = ["BACKENDS", "OPS", "get_engine", "get_op"]

_MODULES = {"numpy": "numpy_gemm", "scipy": "scipy_fft", "tensorflow": "tensorflow"}
BACKENDS = tuple(_MODULES)

#: The engine contract: every engine module defines these functions.
OPS = ("correlate", "correlate_input_grad", "correlate_weight_grad", "pool2d", "separable_matmul")


def get_engine(backend: str) -> ModuleType:
    """Return the engine module for ``backend``, importing it on first use."""
    if backend not in _MODULES:
        raise LegacyconvError(
            f"backend must be one of {{'numpy', 'scipy', 'tensorflow'}}. Received: backend={backend!r}"
        )
    return importlib.import_module(f".{_MODULES[backend]}", __name__)


def get_op(backend: str, op: str, *data: Any) -> Callable[..., Any]:
    """Return engine ``backend``'s implementation of contract op ``op``.

    When any of the ``data`` arrays holds NaN or Inf and ``op`` is not in the engine's
    ``NON_FINITE_EXACT``, the numpy engine's implementation is returned instead: only Theano's
    own arithmetic puts NaN and Inf where Theano put them.

    >>> get_op("numpy", "correlate").__module__
    'legacyconv.engines.numpy_gemm'
    >>> import numpy as np
    >>> get_op("tensorflow", "correlate", np.array([np.nan])).__module__
    'legacyconv.engines.numpy_gemm'
    """
    engine = get_engine(backend)
    if data and op not in getattr(engine, "NON_FINITE_EXACT", ()) and not all_finite(*data):
        engine = get_engine("numpy")
    fn = getattr(engine, op, None) if op in OPS else None
    if fn is None:
        raise LegacyconvError(
            f"backend {backend!r} has no op {op!r} (the engine contract's ops are {', '.join(OPS)}; "
            f"legacyconv.engines.{_MODULES[backend]} implements "
            f"{', '.join(o for o in OPS if hasattr(engine, o)) or 'none of them'})"
        )
    return fn
