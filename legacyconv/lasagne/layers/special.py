"""``lasagne.layers.special``: nonlinearity, bias, scale, expression and PReLU layers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from ...nnet import activations as theano_nnet
from .. import nonlinearities
from ..utils import check_nonlinearity, floatX, int_types
from .base import ONES, QUARTERS, ZEROS, Layer, broadcast_param, param_value

__all__ = [
    "BiasLayer",
    "ExpressionLayer",
    "NonlinearityLayer",
    "ParametricRectifierLayer",
    "ScaleLayer",
    "prelu",
    "standardize",
]


class NonlinearityLayer(Layer):
    """Apply ``nonlinearity`` (default ``rectify``; ``None`` is the identity)."""

    def __init__(self, incoming: Any, nonlinearity: Any = nonlinearities.rectify, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = check_nonlinearity(nonlinearity)

    def get_output_for(self, input: Any, **kwargs: Any) -> Any:
        return self.nonlinearity(np.asarray(input))


def _shared_axes(shared_axes: Any, ndim: int, allow_all: bool = False) -> tuple[int, ...]:
    if shared_axes == "auto":
        return (0,) + tuple(range(2, ndim))
    if allow_all and shared_axes == "all":
        return tuple(range(ndim))
    if isinstance(shared_axes, int_types):
        return (int(shared_axes),)
    return tuple(shared_axes)


def _param_shape(layer: Layer, shared: tuple[int, ...], what: str) -> list[Any]:
    shape = [size for axis, size in enumerate(layer.input_shape) if axis not in shared]
    if any(size is None for size in shape):
        raise LegacyconvError(
            f"{type(layer).__name__} needs specified input sizes for all axes that {what} are not shared over: "
            f"input_shape={layer.input_shape}, shared_axes={shared}"
        )
    return shape


class BiasLayer(Layer):
    """Add ``b`` (one value per non-shared position; default: per channel).

    >>> import numpy as np
    >>> from legacyconv.lasagne.layers import InputLayer
    >>> BiasLayer(InputLayer((None, 2, 1, 1)), b=np.array([1, 2], np.float32)).get_output_for(np.zeros((1, 2, 1, 1), np.float32)).ravel()
    array([1., 2.], dtype=float32)
    """

    def __init__(self, incoming: Any, b: Any = ZEROS, shared_axes: Any = "auto", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.shared_axes = _shared_axes(shared_axes, len(self.input_shape))
        self.b = (
            None
            if b is None
            else self.add_param(b, _param_shape(self, self.shared_axes, "biases"), "b", regularizable=False)
        )

    def get_output_for(self, input: Any, **kwargs: Any) -> Any:
        x = np.asarray(input)
        if self.b is None:
            return x
        return x + broadcast_param(param_value(self.b), self.shared_axes, x.ndim)


class ScaleLayer(Layer):
    """Multiply by ``scales`` (one value per non-shared position; default: per channel)."""

    def __init__(self, incoming: Any, scales: Any = ONES, shared_axes: Any = "auto", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.shared_axes = _shared_axes(shared_axes, len(self.input_shape))
        self.scales = self.add_param(
            scales, _param_shape(self, self.shared_axes, "scales"), "scales", regularizable=False
        )

    def get_output_for(self, input: Any, **kwargs: Any) -> Any:
        x = np.asarray(input)
        return x * broadcast_param(param_value(self.scales), self.shared_axes, x.ndim)


def standardize(layer: Any, offset: Any, scale: Any, shared_axes: Any = "auto") -> ScaleLayer:
    """Lasagne's ``standardize``: a non-trainable :class:`BiasLayer` of ``-offset`` then a
    non-trainable :class:`ScaleLayer` of ``1 / scale``."""
    layer = BiasLayer(layer, -np.asarray(offset), shared_axes)
    layer.params[layer.b].discard("trainable")
    layer = ScaleLayer(layer, floatX(1.0) / np.asarray(scale), shared_axes)
    layer.params[layer.scales].discard("trainable")
    return layer


class ExpressionLayer(Layer):
    """Apply ``function`` (a NumPy-callable) to the input. ``output_shape``: None (same as the
    input), a tuple, a callable of the input shape, or ``'auto'`` (run ``function`` on zeros,
    unknown sizes taken as 0 and reported as None, as Lasagne did).

    >>> import numpy as np
    >>> from legacyconv.lasagne.layers import InputLayer
    >>> ExpressionLayer(InputLayer((None, 4)), lambda x: x[:, :2], output_shape="auto").output_shape
    (None, 2)
    """

    def __init__(self, incoming: Any, function: Any, output_shape: Any = None, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self._output_shape: Any = None
        if output_shape is None:
            self._output_shape = None
        elif isinstance(output_shape, str) and output_shape == "auto":
            self._output_shape = "auto"
        elif callable(output_shape):
            self.get_output_shape_for = output_shape  # type: ignore[method-assign]
        else:
            self._output_shape = tuple(output_shape)
        self.function = function

    def get_output_shape_for(self, input_shape: Any) -> Any:
        if self._output_shape is None:
            return input_shape
        if isinstance(self._output_shape, str):
            zeros = np.zeros([0 if s is None else s for s in input_shape], dtype=np.float32)
            shape = np.shape(self.function(zeros))
            return tuple(s if s else None for s in shape)
        return self._output_shape

    def get_output_for(self, input: Any, **kwargs: Any) -> Any:
        return self.function(np.asarray(input))


class ParametricRectifierLayer(Layer):
    """PReLU: ``x`` for x > 0, ``alpha * x`` otherwise (Theano's ``relu(x, alpha)``); ``alpha``
    per non-shared position (default: per channel)."""

    def __init__(
        self, incoming: Any, alpha: Any = QUARTERS, shared_axes: Any = "auto", **kwargs: Any
    ) -> None:
        super().__init__(incoming, **kwargs)
        self.shared_axes = _shared_axes(shared_axes, len(self.input_shape), allow_all=True)
        self.alpha = self.add_param(
            alpha, _param_shape(self, self.shared_axes, "alphas"), name="alpha", regularizable=False
        )

    def get_output_for(self, input: Any, **kwargs: Any) -> Any:
        x = np.asarray(input)
        alpha = broadcast_param(param_value(self.alpha), self.shared_axes, x.ndim)
        return theano_nnet.relu(x, alpha)  # Theano's relu(x, alpha), as Lasagne called it


def prelu(layer: Any, **kwargs: Any) -> ParametricRectifierLayer:
    """Lasagne's ``prelu``: drop ``layer``'s nonlinearity and add a :class:`ParametricRectifierLayer`."""
    if getattr(layer, "nonlinearity", None) is not None:
        layer.nonlinearity = nonlinearities.identity
    return ParametricRectifierLayer(layer, **kwargs)
