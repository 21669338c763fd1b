"""Mirror of ``theano.tensor.nnet.abstract_conv``."""

from .._params import get_conv_output_shape, get_conv_shape_1axis
from ..conv import conv2d

__all__ = ["conv2d", "get_conv_output_shape", "get_conv_shape_1axis"]
