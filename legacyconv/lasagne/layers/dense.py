"""``lasagne.layers.dense``: :class:`DenseLayer` and :class:`NINLayer`."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from .. import nonlinearities
from ..utils import check_count, check_nonlinearity
from .base import GLOROT_UNIFORM, ZEROS, Layer, broadcast_param, param_value

__all__ = ["DenseLayer", "NINLayer"]


class DenseLayer(Layer):
    """``nonlinearity(x.flatten(num_leading_axes + 1) @ W + b)``: the trailing axes are
    flattened in C order, so after a conv stack the rows of ``W`` follow (channels, rows, cols).

    >>> import numpy as np
    >>> from legacyconv.lasagne.layers import InputLayer
    >>> layer = DenseLayer(InputLayer((None, 2, 3)), 4, num_leading_axes=2)
    >>> layer.output_shape, layer.W.shape
    ((None, 2, 4), (3, 4))
    """

    def __init__(
        self,
        incoming: Any,
        num_units: int,
        W: Any = GLOROT_UNIFORM,
        b: Any = ZEROS,
        nonlinearity: Any = nonlinearities.rectify,
        num_leading_axes: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = check_nonlinearity(nonlinearity)
        self.num_units = num_units = check_count(num_units, "num_units")
        ndim = len(self.input_shape)
        if num_leading_axes >= ndim:
            raise LegacyconvError(
                f"got num_leading_axes={num_leading_axes} for a {ndim}-dimensional input, leaving no "
                "trailing axes for the dot product"
            )
        if num_leading_axes < -ndim:
            raise LegacyconvError(
                f"got num_leading_axes={num_leading_axes} for a {ndim}-dimensional input, requesting more "
                "trailing axes than there are input dimensions"
            )
        self.num_leading_axes = num_leading_axes
        if any(s is None for s in self.input_shape[num_leading_axes:]):
            raise LegacyconvError(
                f"a DenseLayer requires a fixed input shape (except for the leading axes). Got "
                f"{self.input_shape} for num_leading_axes={num_leading_axes}"
            )
        num_inputs = int(np.prod(self.input_shape[num_leading_axes:]))
        self.W = self.add_param(W, (num_inputs, num_units), name="W")
        self.b = None if b is None else self.add_param(b, (num_units,), name="b", regularizable=False)

    def get_output_shape_for(self, input_shape: Any) -> Any:
        return tuple(input_shape[: self.num_leading_axes]) + (self.num_units,)

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        x = np.asarray(input)
        lead = self.num_leading_axes + x.ndim if self.num_leading_axes < 0 else self.num_leading_axes
        if x.ndim > lead + 1:
            x = x.reshape(x.shape[:lead] + (-1,))
        out = x @ param_value(self.W)
        if self.b is not None:
            out = out + param_value(self.b)
        return self.nonlinearity(out)


class NINLayer(Layer):
    """Network-in-network: a dense layer applied to the channel axis of every position (a 1x1
    convolution with ``W`` of shape ``(channels, units)``)."""

    def __init__(
        self,
        incoming: Any,
        num_units: int,
        untie_biases: bool = False,
        W: Any = GLOROT_UNIFORM,
        b: Any = ZEROS,
        nonlinearity: Any = nonlinearities.rectify,
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = check_nonlinearity(nonlinearity)
        self.num_units = num_units = check_count(num_units, "num_units")
        self.untie_biases = untie_biases
        self.W = self.add_param(W, (self.input_shape[1], num_units), name="W")
        if b is None:
            self.b = None
        else:
            shape = (num_units,) + tuple(self.output_shape[2:]) if untie_biases else (num_units,)
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    def get_output_shape_for(self, input_shape: Any) -> Any:
        return (input_shape[0], self.num_units) + tuple(input_shape[2:])

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        x = np.asarray(input)
        out = np.moveaxis(np.tensordot(x, param_value(self.W), axes=([1], [0])), -1, 1)
        b = param_value(self.b)
        if b is not None:
            out = out + (
                b[None] if self.untie_biases else broadcast_param(b, (0,) + tuple(range(2, x.ndim)), x.ndim)
            )
        return self.nonlinearity(out)
