"""``lasagne.layers.input``: :class:`InputLayer`."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ..._errors import LegacyconvError
from ..utils import int_types, sequence_arg
from .base import Layer

__all__ = ["InputLayer"]


class InputLayer(Layer):
    """The network's input: a shape (``None`` = any size) and, optionally, ``input_var``.

    ``input_var`` may be an array: :func:`~legacyconv.lasagne.layers.get_output` then uses it
    when no input is given (a symbolic Theano variable has no meaning in the eager mirror).

    >>> InputLayer((None, 3, 32, 32)).output_shape
    (None, 3, 32, 32)
    """

    def __init__(self, shape: Any, input_var: Any = None, name: str | None = None, **kwargs: Any) -> None:
        self.shape = sequence_arg(shape, "shape")
        if not all(d is None or isinstance(d, int_types) for d in self.shape):
            raise LegacyconvError(
                f"InputLayer {name!r}: shape must hold integers, or None for a size left open. Received: shape={shape!r}"
            )
        if any(d is not None and d <= 0 for d in self.shape):
            raise LegacyconvError(
                f"cannot create InputLayer {name!r} with a non-positive shape dimension: shape={self.shape}"
            )
        if input_var is not None and hasattr(input_var, "ndim") and input_var.ndim != len(self.shape):
            raise LegacyconvError(
                f"InputLayer shape {self.shape} has {len(self.shape)} dimensions, but input_var has {input_var.ndim}"
            )
        self.input_var = input_var
        self.name = name
        self.params = OrderedDict()
        self.get_output_kwargs = []

    @property
    def output_shape(self) -> tuple[Any, ...]:
        return self.shape
