"""``lasagne.layers.noise``: dropout and Gaussian noise.

With ``deterministic=True`` (inference) they return their input unchanged. Otherwise they
sample with NumPy from :func:`legacyconv.lasagne.random.get_rng` (Lasagne drew from Theano's
MRG streams: the same distribution, other numbers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..random import get_rng
from .base import Layer

__all__ = [
    "DropoutLayer",
    "GaussianNoiseLayer",
    "dropout",
    "dropout_channels",
    "dropout_locations",
    "spatial_dropout",
]


class DropoutLayer(Layer):
    """Zero each value with probability ``p`` (scaled by ``1 / (1 - p)`` if ``rescale``);
    ``shared_axes`` share one mask value along those axes.

    >>> import numpy as np
    >>> from legacyconv.lasagne.layers import InputLayer
    >>> x = np.ones((2, 3), np.float32)
    >>> DropoutLayer(InputLayer((None, 3))).get_output_for(x, deterministic=True) is x
    True
    """

    def __init__(
        self, incoming: Any, p: float = 0.5, rescale: bool = True, shared_axes: Any = (), **kwargs: Any
    ) -> None:
        super().__init__(incoming, **kwargs)
        self.p = p
        self.rescale = rescale
        self.shared_axes = tuple(shared_axes)

    def get_output_for(self, input: Any, deterministic: bool = False, **kwargs: Any) -> Any:
        if deterministic or self.p == 0:
            return input
        x = np.asarray(input)
        retain = 1 - self.p
        if self.rescale:
            x = x / x.dtype.type(retain)
        shared = tuple(a % x.ndim for a in self.shared_axes)
        mask_shape = tuple(1 if a in shared else s for a, s in enumerate(x.shape))
        mask = get_rng().binomial(1, retain, size=mask_shape).astype(x.dtype)
        return x * mask


dropout = DropoutLayer


def dropout_channels(incoming: Any, *args: Any, **kwargs: Any) -> DropoutLayer:
    """Dropout of whole channels (one mask value per example and channel)."""
    ndim = len(getattr(incoming, "output_shape", incoming))
    kwargs["shared_axes"] = tuple(range(2, ndim))
    return DropoutLayer(incoming, *args, **kwargs)


spatial_dropout = dropout_channels


def dropout_locations(incoming: Any, *args: Any, **kwargs: Any) -> DropoutLayer:
    """Dropout of whole locations (one mask value per example and position)."""
    kwargs["shared_axes"] = (1,)
    return DropoutLayer(incoming, *args, **kwargs)


class GaussianNoiseLayer(Layer):
    """Add N(0, sigma²) noise (identity when deterministic)."""

    def __init__(self, incoming: Any, sigma: float = 0.1, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.sigma = sigma

    def get_output_for(self, input: Any, deterministic: bool = False, **kwargs: Any) -> Any:
        if deterministic or self.sigma == 0:
            return input
        x = np.asarray(input)
        return x + get_rng().normal(0.0, self.sigma, size=x.shape).astype(x.dtype)
