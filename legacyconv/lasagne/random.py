"""``lasagne.random``: the NumPy random state initializers and noise layers draw from."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["get_rng", "set_rng"]

_rng: Any = np.random


def get_rng() -> Any:
    """The generator in use: ``numpy.random`` unless :func:`set_rng` replaced it.

    >>> get_rng() is np.random
    True
    """
    return _rng


def set_rng(new_rng: Any) -> None:
    """Use ``new_rng`` (``numpy.random`` or a ``RandomState``) from now on."""
    global _rng
    _rng = new_rng
