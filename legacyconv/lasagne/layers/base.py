"""``lasagne.layers.base``: :class:`Layer` and :class:`MergeLayer`, computing eagerly.

A layer keeps Lasagne's attributes (``input_shape``, ``input_layer``, ``params`` as an ordered
``{SharedParam: tags}`` mapping, ``name``) so that code walking a network keeps working;
``get_output_for`` takes and returns NumPy arrays.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from .. import init
from ..utils import SharedParam, create_param

__all__ = ["GLOROT_UNIFORM", "NORMAL", "ONES", "QUARTERS", "ZEROS", "Layer", "MergeLayer"]

# The initializers Lasagne's layers use as defaults (one shared instance each, as Lasagne's
# default arguments were).
GLOROT_UNIFORM = init.GlorotUniform()
ZEROS = init.Constant(0.0)
ONES = init.Constant(1.0)
QUARTERS = init.Constant(0.25)
NORMAL = init.Normal()


def _describe(layer: Any) -> str:
    name = getattr(layer, "name", None)
    return f"{type(layer).__name__}" + (f" {name!r}" if name else "")


class Layer:
    """One layer with one input (a layer or a shape tuple).

    >>> from legacyconv.lasagne.layers import InputLayer, DenseLayer
    >>> DenseLayer(InputLayer((None, 3)), 2).output_shape
    (None, 2)
    """

    def __init__(self, incoming: Any, name: str | None = None) -> None:
        if isinstance(incoming, tuple):
            self.input_shape = incoming
            self.input_layer = None
        else:
            self.input_shape = incoming.output_shape
            self.input_layer = incoming
        self.name = name
        self.params: OrderedDict[SharedParam, set[str]] = OrderedDict()
        self.get_output_kwargs: list[str] = []
        if any(d is not None and d <= 0 for d in self.input_shape):
            raise LegacyconvError(
                f"cannot create {_describe(self)} with a non-positive input_shape dimension: "
                f"input_shape={self.input_shape}"
            )

    @property
    def output_shape(self) -> tuple[Any, ...]:
        return tuple(self.get_output_shape_for(self.input_shape))

    def get_params(self, unwrap_shared: bool = True, **tags: bool) -> list[SharedParam]:
        """The parameters, optionally filtered by tags (``trainable=True``, ``regularizable=False`` …)."""
        result = list(self.params.keys())
        only = {tag for tag, value in tags.items() if value}
        if only:
            result = [p for p in result if not (only - self.params[p])]
        exclude = {tag for tag, value in tags.items() if not value}
        if exclude:
            result = [p for p in result if not (self.params[p] & exclude)]
        return result

    def get_output_shape_for(self, input_shape: Any) -> Any:
        return input_shape

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_output_for.")

    def add_param(self, spec: Any, shape: Any, name: str | None = None, **tags: bool) -> SharedParam:
        """Create a parameter named ``<layer name>.<name>`` and tag it (trainable and
        regularizable unless told otherwise), as Lasagne's ``add_param``."""
        if name is not None and self.name is not None:
            name = f"{self.name}.{name}"
        param = create_param(spec, shape, name)
        tags["trainable"] = tags.get("trainable", True)
        tags["regularizable"] = tags.get("regularizable", True)
        self.params[param] = {tag for tag, value in tags.items() if value}
        return param

    def __repr__(self) -> str:
        return f"<{_describe(self)} output_shape={self.output_shape}>"


class MergeLayer(Layer):
    """A layer with several inputs (``input_layers``, ``input_shapes``)."""

    def __init__(self, incomings: Any, name: str | None = None) -> None:
        self.input_shapes = [inc if isinstance(inc, tuple) else inc.output_shape for inc in incomings]
        self.input_layers = [None if isinstance(inc, tuple) else inc for inc in incomings]
        self.name = name
        self.params = OrderedDict()
        self.get_output_kwargs = []

    @property
    def output_shape(self) -> tuple[Any, ...]:
        return tuple(self.get_output_shape_for(self.input_shapes))

    def get_output_shape_for(self, input_shapes: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_output_shape_for.")

    def get_output_for(self, inputs: Any, **kwargs: Any) -> np.ndarray:  # type: ignore[override]
        raise NotImplementedError(f"{type(self).__name__} does not implement get_output_for.")


def param_value(param: SharedParam | None) -> Any:
    """The array of a parameter without copying (layers read their weights with it)."""
    return None if param is None else param.get_value(borrow=True)


def broadcast_param(value: np.ndarray, shared_axes: tuple[int, ...], ndim: int) -> np.ndarray:
    """Insert size-1 axes at ``shared_axes`` (Theano's ``dimshuffle`` with ``'x'``)."""
    shape = []
    it = iter(value.shape)
    for axis in range(ndim):
        shape.append(1 if axis in shared_axes else next(it))
    return value.reshape(shape)
