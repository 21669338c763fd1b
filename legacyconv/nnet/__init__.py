"""Mirror of ``theano.tensor.nnet``: porting is ``theano.tensor.nnet`` -> ``legacyconv.nnet``."""

from ..conv import conv2d, conv3d
from ..separable import separable_conv2d
from ..transpose import conv2d_transpose
from . import abstract_conv, conv

__all__ = ["abstract_conv", "conv", "conv2d", "conv2d_transpose", "conv3d", "separable_conv2d"]
