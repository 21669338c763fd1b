"""Mirror of ``theano.tensor.nnet``: porting is ``theano.tensor.nnet`` -> ``legacyconv.nnet``."""

from ..conv import conv2d, conv3d
from ..grads import conv2d_grad_wrt_inputs
from ..separable import separable_conv2d
from ..transpose import conv2d_transpose
from . import abstract_conv, activations, bn, conv, conv3d2d, losses, neighbours
from .abstract_conv import conv2d as abstract_conv2d
from .activations import (
    elu,
    hard_sigmoid,
    logsoftmax,
    relu,
    selu,
    sigmoid,
    softmax,
    softplus,
    softsign,
    ultra_fast_sigmoid,
)
from .bn import batch_normalization
from .losses import binary_crossentropy, categorical_crossentropy, sigmoid_binary_crossentropy
from .neighbours import images2neibs, neibs2images

__all__ = [
    "abstract_conv",
    "abstract_conv2d",
    "activations",
    "batch_normalization",
    "binary_crossentropy",
    "bn",
    "categorical_crossentropy",
    "conv",
    "conv2d",
    "conv2d_grad_wrt_inputs",
    "conv2d_transpose",
    "conv3d",
    "conv3d2d",
    "elu",
    "hard_sigmoid",
    "images2neibs",
    "logsoftmax",
    "losses",
    "neibs2images",
    "neighbours",
    "relu",
    "selu",
    "separable_conv2d",
    "sigmoid",
    "sigmoid_binary_crossentropy",
    "softmax",
    "softplus",
    "softsign",
    "ultra_fast_sigmoid",
]
