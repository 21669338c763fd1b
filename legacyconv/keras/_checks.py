"""Argument checks shared by the Keras layer builders."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import LegacyconvError
from .._params import as_array

__all__ = ["check_bias", "check_name"]


def check_bias(bias: Any, n_out: int, filters_shape: tuple[int, ...], unit: str) -> np.ndarray | None:
    """Return ``bias`` as an array of shape ``(n_out,)`` (one value per ``unit``), or None."""
    if bias is None:
        return None
    b = as_array(bias, "bias")
    if b.shape != (n_out,):
        raise LegacyconvError(
            f"bias must have one value per {unit}: expected shape ({n_out},) for "
            f"filters.shape={filters_shape}. Received: bias.shape={b.shape}"
        )
    return b


def check_name(name: Any) -> None:
    """Layer-name prefixes are strings or None."""
    if name is not None and not isinstance(name, str):
        raise LegacyconvError(f"name must be a string or None. Received: name={name!r}")
