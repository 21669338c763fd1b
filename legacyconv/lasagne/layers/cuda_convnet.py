"""``lasagne.layers.cuda_convnet`` on the CPU, for networks in the usual ``bc01`` order.

``Conv2DCCLayer`` (default ``flip_filters=False``) and ``MaxPool2DCCLayer`` (never ignores the
border) with ``dimshuffle=True`` compute what cuda-convnet computed; the ``c01b`` layout
(``dimshuffle=False``) raises NotImplementedError.
"""

from __future__ import annotations

from typing import Any

from ..._errors import LegacyconvError
from .. import nonlinearities
from ..utils import as_tuple
from ._missing import missing_attribute
from .base import GLOROT_UNIFORM, ZEROS
from .conv import Conv2DLayer
from .pool import MaxPool2DLayer, _pool_window

__all__ = ["Conv2DCCLayer", "MaxPool2DCCLayer"]


def _bc01_only(dimshuffle: bool, cls: str) -> None:
    if not dimshuffle:
        raise NotImplementedError(
            f"{cls}(dimshuffle=False) works in cuda-convnet's c01b layout, which the mirror does not implement."
        )


class Conv2DCCLayer(Conv2DLayer):
    """cuda-convnet convolution: square filters and strides, ``flip_filters=False`` by default."""

    def __init__(
        self,
        incoming: Any,
        num_filters: int,
        filter_size: Any,
        stride: Any = (1, 1),
        pad: Any = 0,
        untie_biases: bool = False,
        W: Any = None,
        b: Any = ZEROS,
        nonlinearity: Any = nonlinearities.rectify,
        dimshuffle: bool = True,
        flip_filters: bool = False,
        partial_sum: int = 1,
        **kwargs: Any,
    ) -> None:
        _bc01_only(dimshuffle, "Conv2DCCLayer")
        self.dimshuffle = dimshuffle
        self.partial_sum = partial_sum
        super().__init__(
            incoming,
            num_filters,
            filter_size,
            stride,
            pad,
            untie_biases,
            GLOROT_UNIFORM if W is None else W,
            b,
            nonlinearity,
            flip_filters,
            **kwargs,
        )
        if self.filter_size[0] != self.filter_size[1] or self.stride[0] != self.stride[1]:
            raise LegacyconvError(
                f"Conv2DCCLayer only supports square filters and strides. Received: filter_size={self.filter_size}, stride={self.stride}"
            )


class MaxPool2DCCLayer(MaxPool2DLayer):
    """cuda-convnet max pooling: square windows, ``stride <= pool_size``, partial windows kept."""

    def __init__(
        self,
        incoming: Any,
        pool_size: Any,
        stride: Any = None,
        ignore_border: bool = False,
        dimshuffle: bool = True,
        **kwargs: Any,
    ) -> None:
        _bc01_only(dimshuffle, "MaxPool2DCCLayer")
        if as_tuple(kwargs.pop("pad", 0), 2) != (0, 0):
            raise NotImplementedError("MaxPool2DCCLayer does not support padding.")
        if ignore_border:
            raise NotImplementedError("MaxPool2DCCLayer does not support ignore_border=True.")
        size, step = _pool_window(pool_size, stride, 2)
        if size[0] != size[1] or step[0] != step[1] or step[0] > size[0]:
            raise NotImplementedError(
                f"MaxPool2DCCLayer only supports square windows and strides with stride <= pool_size. Received: pool_size={size}, stride={step}"
            )
        self.dimshuffle = dimshuffle
        super().__init__(incoming, size, step, (0, 0), False, **kwargs)


def __getattr__(name: str) -> Any:
    raise missing_attribute("lasagne.layers.cuda_convnet", name)
