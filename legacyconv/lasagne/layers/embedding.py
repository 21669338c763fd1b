"""``lasagne.layers.embedding``: :class:`EmbeddingLayer`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import NORMAL, Layer, param_value

__all__ = ["EmbeddingLayer"]


class EmbeddingLayer(Layer):
    """Look integer ids up in ``W`` of shape ``(input_size, output_size)``.

    >>> import numpy as np
    >>> from legacyconv.lasagne.layers import InputLayer
    >>> emb = EmbeddingLayer(InputLayer((None, 3)), 5, 2, W=np.arange(10, dtype=np.float32).reshape(5, 2))
    >>> emb.get_output_for(np.array([[0, 4, 1]]))[0]
    array([[0., 1.],
           [8., 9.],
           [2., 3.]], dtype=float32)
    """

    def __init__(
        self, incoming: Any, input_size: int, output_size: int, W: Any = NORMAL, **kwargs: Any
    ) -> None:
        super().__init__(incoming, **kwargs)
        self.input_size = input_size
        self.output_size = output_size
        self.W = self.add_param(W, (input_size, output_size), name="W")

    def get_output_shape_for(self, input_shape: Any) -> Any:
        return tuple(input_shape) + (self.output_size,)

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        return param_value(self.W)[np.asarray(input)]
