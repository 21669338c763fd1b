"""``lasagne.layers.dnn`` on the CPU: the cuDNN layers with their own defaults, computed by
legacyconv (the same numbers cuDNN computed, within float32 rounding).

They differ from the CPU layers only in defaults and restrictions, which are kept:
``Conv2DDNNLayer``/``Conv3DDNNLayer`` default to ``flip_filters=False`` (cross-correlation,
what Caffe-converted model-zoo weights need), cuDNN pooling always ignores the border
(``ignore_border=False`` raises NotImplementedError, as in Lasagne).
"""

from __future__ import annotations

from typing import Any

from .. import nonlinearities
from ._missing import missing_attribute
from .base import GLOROT_UNIFORM, ZEROS
from .conv import Conv2DLayer, Conv3DLayer
from .normalization import BatchNormLayer, _batch_norm
from .pool import Pool2DLayer, Pool3DLayer

__all__ = [
    "BatchNormDNNLayer",
    "Conv2DDNNLayer",
    "Conv3DDNNLayer",
    "MaxPool2DDNNLayer",
    "MaxPool3DDNNLayer",
    "Pool2DDNNLayer",
    "Pool3DDNNLayer",
    "batch_norm_dnn",
]


def _border_ignored(ignore_border: bool, cls: str) -> None:
    if not ignore_border:
        raise NotImplementedError(
            f"{cls} does not support ignore_border=False (cuDNN always ignores the border)."
        )


def _dnn_mode(mode: str) -> str:
    # Theano's cuDNN pooling took 'average', the deprecated name of 'average_inc_pad'
    return "average_inc_pad" if mode == "average" else mode


class Pool2DDNNLayer(Pool2DLayer):
    """cuDNN 2-D pooling: :class:`~legacyconv.lasagne.layers.Pool2DLayer` with the border ignored."""

    def __init__(
        self,
        incoming: Any,
        pool_size: Any,
        stride: Any = None,
        pad: Any = (0, 0),
        ignore_border: bool = True,
        mode: str = "max",
        **kwargs: Any,
    ) -> None:
        _border_ignored(ignore_border, "Pool2DDNNLayer")
        super().__init__(incoming, pool_size, stride, pad, True, _dnn_mode(mode), **kwargs)


class MaxPool2DDNNLayer(Pool2DDNNLayer):
    def __init__(
        self,
        incoming: Any,
        pool_size: Any,
        stride: Any = None,
        pad: Any = (0, 0),
        ignore_border: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class Pool3DDNNLayer(Pool3DLayer):
    """cuDNN 3-D pooling: :class:`~legacyconv.lasagne.layers.Pool3DLayer` with the border ignored."""

    def __init__(
        self,
        incoming: Any,
        pool_size: Any,
        stride: Any = None,
        pad: Any = (0, 0, 0),
        ignore_border: bool = True,
        mode: str = "max",
        **kwargs: Any,
    ) -> None:
        _border_ignored(ignore_border, "Pool3DDNNLayer")
        super().__init__(incoming, pool_size, stride, pad, True, _dnn_mode(mode), **kwargs)


class MaxPool3DDNNLayer(Pool3DDNNLayer):
    def __init__(
        self,
        incoming: Any,
        pool_size: Any,
        stride: Any = None,
        pad: Any = (0, 0, 0),
        ignore_border: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class Conv2DDNNLayer(Conv2DLayer):
    """cuDNN 2-D convolution: :class:`~legacyconv.lasagne.layers.Conv2DLayer` with
    ``flip_filters=False`` by default."""

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


class Conv3DDNNLayer(Conv3DLayer):
    """cuDNN 3-D convolution: :class:`~legacyconv.lasagne.layers.Conv3DLayer` with
    ``flip_filters=False`` by default."""

    def __init__(
        self,
        incoming: Any,
        num_filters: int,
        filter_size: Any,
        stride: Any = (1, 1, 1),
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


class BatchNormDNNLayer(BatchNormLayer):
    """cuDNN batch normalisation: the same computation as :class:`BatchNormLayer`."""


def batch_norm_dnn(layer: Any, **kwargs: Any) -> Any:
    """:func:`~legacyconv.lasagne.layers.batch_norm` with a :class:`BatchNormDNNLayer`."""
    return _batch_norm(layer, BatchNormDNNLayer, **kwargs)


def __getattr__(name: str) -> Any:
    raise missing_attribute("lasagne.layers.dnn", name)
