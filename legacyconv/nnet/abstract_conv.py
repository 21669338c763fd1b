"""Mirror of ``theano.tensor.nnet.abstract_conv``."""

from .._params import get_conv_output_shape, get_conv_shape_1axis
from ..conv import conv2d, conv3d
from ..separable import separable_conv2d
from ..transpose import conv2d_transpose

__all__ = [
    "conv2d",
    "conv2d_transpose",
    "conv3d",
    "get_conv_output_shape",
    "get_conv_shape_1axis",
    "separable_conv2d",
]
