"""Mirror of ``theano.tensor.nnet``: porting is ``theano.tensor.nnet`` -> ``legacyconv.nnet``."""

from ..conv import conv2d, conv3d
from . import abstract_conv, conv

__all__ = ["abstract_conv", "conv", "conv2d", "conv3d"]
