"""``lasagne.layers.corrmm`` on the CPU: ``Conv2DMMLayer`` is a
:class:`~legacyconv.lasagne.layers.Conv2DLayer` with ``flip_filters=False`` by default."""

from __future__ import annotations

from typing import Any

from .. import nonlinearities
from .base import GLOROT_UNIFORM, ZEROS
from .conv import Conv2DLayer

__all__ = ["Conv2DMMLayer"]


class Conv2DMMLayer(Conv2DLayer):
    """Theano's GPU ``CorrMM`` convolution layer, computed on the CPU."""

    def __init__(
        self,
        incoming: Any,
        num_filters: int,
        filter_size: Any,
        stride: Any = (1, 1),
        pad: Any = 0,
        untie_biases: bool = False,
        W: Any = GLOROT_UNIFORM,
        b: Any = ZEROS,
        nonlinearity: Any = nonlinearities.rectify,
        flip_filters: bool = False,
        num_groups: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            incoming,
            num_filters,
            filter_size,
            stride,
            pad,
            untie_biases,
            W,
            b,
            nonlinearity,
            flip_filters,
            num_groups=num_groups,
            **kwargs,
        )
