"""Argument checks shared by the Keras layer builders."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import LegacyconvError
from .._params import _is_int, as_array

__all__ = ["check_bias", "check_name", "check_nchw_shape", "check_transpose_input", "restrict_input"]


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


def check_nchw_shape(input_shape: Any, name: str = "input_shape") -> tuple[int | None, ...] | None:
    """Return Theano's 4-d shape hint ``(batch, channels, rows, cols)`` as a tuple (entries
    None or positive ints), or None if not given.

    >>> check_nchw_shape([None, 3, 28, 28])
    (None, 3, 28, 28)
    """
    if input_shape is None:
        return None
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) != 4
        or not all(v is None or (_is_int(v) and v >= 1) for v in input_shape)
    ):
        raise LegacyconvError(
            f"{name} must be Theano's (batch, channels, rows, cols) of positive integers or None. "
            f"Received: {name}={input_shape!r}"
        )
    return tuple(None if v is None else int(v) for v in input_shape)


def restrict_input(layer: Any, nhwc: tuple[int | None, ...]) -> None:
    """Make Keras refuse, before any TensorFlow op runs, inputs to ``layer`` of another shape
    than ``nhwc`` (``None`` entries are free): the geometry was checked for this shape only."""
    from .._tf import import_keras

    layer.input_spec = import_keras().layers.InputSpec(shape=nhwc)


def check_transpose_input(
    input_shape: tuple[int | None, ...],
    output_shape: tuple[int | None, ...],
    input_size: tuple[int, ...],
    n_in: int,
    filters_shape: tuple[int, ...],
    border_mode: Any,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
) -> None:
    """A transposed convolution's input must be what ``conv2d`` maps ``output_shape`` to
    (``input_size``, with ``n_in`` channels), as Theano checked; None entries are unknown."""
    if input_shape[1] is not None and input_shape[1] != n_in:
        raise LegacyconvError(
            f"input and filters must agree on the input channels: input_shape={input_shape} has "
            f"{input_shape[1]} channels, filters.shape={filters_shape} expects {n_in}"
        )
    batch = output_shape[0]
    if batch is not None and input_shape[0] is not None and batch != input_shape[0]:
        raise LegacyconvError(
            f"output_shape and input must have the same batch size: output_shape={output_shape}, "
            f"input_shape={input_shape}"
        )
    if any(s is not None and s != t for s, t in zip(input_shape[2:], input_size)):
        raise LegacyconvError(
            f"input_shape={input_shape} is inconsistent with output_shape={output_shape}: conv2d "
            f"of an image of size {output_shape[2:]} with filters.shape={filters_shape}, "
            f"border_mode={border_mode!r}, subsample=input_dilation={strides}, "
            f"filter_dilation={dilations} gives {input_size}"
        )
