"""``lasagne.layers.corrmm`` on the CPU: ``Conv2DMMLayer`` is a
:class:`~legacyconv.lasagne.layers.Conv2DLayer` with ``flip_filters=False`` by default (the
same arguments and defaults as ``Conv2DDNNLayer``)."""

from __future__ import annotations

from .dnn import Conv2DDNNLayer

__all__ = ["Conv2DMMLayer"]


class Conv2DMMLayer(Conv2DDNNLayer):
    """Theano's GPU ``CorrMM`` convolution layer, computed on the CPU."""
