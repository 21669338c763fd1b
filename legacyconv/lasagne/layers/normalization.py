"""``lasagne.layers.normalization``: LRN, batch normalisation and standardisation."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from ..._lrn import cross_channel_lrn
from .. import nonlinearities
from .base import ONES, ZEROS, Layer, broadcast_param, param_value

__all__ = [
    "BatchNormLayer",
    "LocalResponseNormalization2DLayer",
    "StandardizationLayer",
    "batch_norm",
    "instance_norm",
    "layer_norm",
]


class LocalResponseNormalization2DLayer(Layer):
    """Cross-channel LRN: ``x / (k + alpha * sum_{n channels} x**2) ** beta``.

    ``alpha`` is *not* divided by ``n`` (Caffe divides it: ``alpha = caffe_alpha / n``).

    >>> import numpy as np
    >>> from legacyconv.lasagne.layers import InputLayer
    >>> lrn = LocalResponseNormalization2DLayer(InputLayer((None, 1, 1, 1)), alpha=1.0, k=1, beta=1, n=1)
    >>> lrn.get_output_for(np.full((1, 1, 1, 1), 2.0))
    array([[[[0.4]]]])
    """

    def __init__(
        self, incoming: Any, alpha: float = 1e-4, k: float = 2, beta: float = 0.75, n: int = 5, **kwargs: Any
    ) -> None:
        super().__init__(incoming, **kwargs)
        self.alpha = alpha
        self.k = k
        self.beta = beta
        self.n = n
        if n % 2 == 0:
            raise NotImplementedError(
                "LocalResponseNormalization2DLayer only works with odd n (as in Lasagne)."
            )

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        x = np.asarray(input)
        if x.ndim != 4:
            raise LegacyconvError(
                f"LocalResponseNormalization2DLayer needs NCHW input. Received: shape {x.shape}"
            )
        return cross_channel_lrn(x, self.alpha, self.k, self.beta, self.n)


class BatchNormLayer(Layer):
    """``(x - mean) * (gamma * inv_std) + beta`` over ``axes`` (default: all but the channels).

    Parameters ``beta``, ``gamma`` (trainable), ``mean`` and ``inv_std`` (the stored
    statistics, not trainable), in that order. ``deterministic=True`` uses the stored
    statistics; otherwise the batch's, with ``inv_std = 1 / sqrt(var + epsilon)`` (the stored
    averages are not updated: the mirror does not train).
    """

    def __init__(
        self,
        incoming: Any,
        axes: Any = "auto",
        epsilon: float = 1e-4,
        alpha: float = 0.1,
        beta: Any = ZEROS,
        gamma: Any = ONES,
        mean: Any = ZEROS,
        inv_std: Any = ONES,
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, **kwargs)
        if axes == "auto":
            axes = (0,) + tuple(range(2, len(self.input_shape)))
        elif isinstance(axes, (int, np.integer)):
            axes = (axes,)
        self.axes = tuple(axes)
        self.epsilon = epsilon
        self.alpha = alpha
        shape = [size for axis, size in enumerate(self.input_shape) if axis not in self.axes]
        if any(size is None for size in shape):
            raise LegacyconvError(
                f"BatchNormLayer needs specified input sizes for all axes not normalized over: "
                f"input_shape={self.input_shape}, axes={self.axes}"
            )
        self.beta = (
            None if beta is None else self.add_param(beta, shape, "beta", trainable=True, regularizable=False)
        )
        self.gamma = (
            None
            if gamma is None
            else self.add_param(gamma, shape, "gamma", trainable=True, regularizable=True)
        )
        self.mean = self.add_param(
            mean, shape, "mean", trainable=False, regularizable=False, batch_norm_stat=True
        )
        self.inv_std = self.add_param(
            inv_std, shape, "inv_std", trainable=False, regularizable=False, batch_norm_stat=True
        )

    def get_output_for(
        self,
        input: Any,
        deterministic: bool = False,
        batch_norm_use_averages: Any = None,
        batch_norm_update_averages: Any = None,
        **kwargs: Any,
    ) -> np.ndarray:
        x = np.asarray(input)
        use_averages = deterministic if batch_norm_use_averages is None else batch_norm_use_averages
        if batch_norm_update_averages:
            raise NotImplementedError(
                "batch_norm_update_averages=True updates running averages during training; the mirror "
                "computes forward passes only."
            )
        if use_averages:
            mean, inv_std = param_value(self.mean), param_value(self.inv_std)
        else:
            mean = x.mean(self.axes)
            inv_std = 1 / np.sqrt(x.var(self.axes) + x.dtype.type(self.epsilon))

        def shaped(v: Any) -> Any:
            return broadcast_param(np.asarray(v), self.axes, x.ndim)

        gamma = 1 if self.gamma is None else shaped(param_value(self.gamma))
        beta = 0 if self.beta is None else shaped(param_value(self.beta))
        return (x - shaped(mean)) * (gamma * shaped(inv_std)) + beta


def _strip(layer: Any) -> Any:
    """Take a layer's nonlinearity and bias away (what batch_norm and friends do first)."""
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    if getattr(layer, "b", None) is not None:
        del layer.params[layer.b]
        layer.b = None
    return nonlinearity


def batch_norm(layer: Any, **kwargs: Any) -> Any:
    """Lasagne's ``batch_norm``: remove ``layer``'s bias and nonlinearity, add a
    :class:`BatchNormLayer` named ``<name>_bn`` and, if there was a nonlinearity, a
    ``NonlinearityLayer`` named ``<name>_bn_nonlin``; return the last one.

    >>> from legacyconv.lasagne.layers import InputLayer, Conv2DLayer, get_all_layers
    >>> net = batch_norm(Conv2DLayer(InputLayer((None, 3, 8, 8)), 4, 3, name="c"))
    >>> [type(l).__name__ + ":" + str(l.name) for l in get_all_layers(net)]
    ['InputLayer:None', 'Conv2DLayer:c', 'BatchNormLayer:c_bn', 'NonlinearityLayer:c_bn_nonlin']
    """
    return _batch_norm(layer, BatchNormLayer, **kwargs)


def _batch_norm(layer: Any, layer_class: Any, **kwargs: Any) -> Any:
    nonlinearity = _strip(layer)
    bn_name = kwargs.pop("name", None) or (getattr(layer, "name", None) and layer.name + "_bn")
    layer = layer_class(layer, name=bn_name, **kwargs)
    if nonlinearity is not None:
        from .special import NonlinearityLayer

        layer = NonlinearityLayer(layer, nonlinearity, name=bn_name and bn_name + "_nonlin")
    return layer


class StandardizationLayer(Layer):
    """``(x - mean) / sqrt(var + epsilon)`` over ``axes`` of each example ('auto', 'spatial',
    'features' or ints)."""

    def __init__(self, incoming: Any, axes: Any = "auto", epsilon: float = 1e-4, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        nd = len(self.input_shape)
        if axes == "auto":
            axes = (1,) if nd == 2 else tuple(range(2, nd))
        elif axes == "spatial":
            axes = tuple(range(2, nd))
        elif axes == "features":
            axes = tuple(range(1, nd))
        elif isinstance(axes, int):
            axes = (axes,)
        self.axes = tuple(axes)
        self.epsilon = epsilon

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        x = np.asarray(input)
        mean = x.mean(self.axes, keepdims=True)
        std = np.sqrt(x.var(self.axes, keepdims=True) + x.dtype.type(self.epsilon))
        return (x - mean) / std


def _norm_with_affine(layer: Any, axes: str, suffix: str, scale: bool, bias: bool, **kwargs: Any) -> Any:
    from .special import BiasLayer, NonlinearityLayer, ScaleLayer

    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    name = kwargs.pop("name", None) or (getattr(layer, "name", None) and layer.name + suffix)
    if getattr(layer, "b", None) is not None:
        del layer.params[layer.b]
        layer.b = None
    layer = StandardizationLayer(layer, axes=axes, name=name, **kwargs)
    if scale:
        layer = ScaleLayer(layer, shared_axes="auto", name=name and name + "_scale")
    if bias:
        layer = BiasLayer(layer, shared_axes="auto", name=name and name + "_bias")
    if nonlinearity is not None:
        layer = NonlinearityLayer(layer, nonlinearity, name=name and name + "_nonlin")
    return layer


def instance_norm(layer: Any, learn_scale: bool = True, learn_bias: bool = True, **kwargs: Any) -> Any:
    """Lasagne's ``instance_norm``: standardise each channel of each example, then scale and bias."""
    return _norm_with_affine(layer, "spatial", "_in", learn_scale, learn_bias, **kwargs)


def layer_norm(layer: Any, **kwargs: Any) -> Any:
    """Lasagne's ``layer_norm``: standardise all features of each example, then scale and bias."""
    return _norm_with_affine(layer, "features", "_ln", True, True, **kwargs)
