"""legacyconv: Theano's convolutions, exactly, without Theano; and the road to TensorFlow."""

from . import io, layouts, nnet, padding, signal
from ._config import get_workspace_limit, set_workspace_limit, workspace_limit
from ._errors import LegacyconvError
from ._params import get_conv_output_shape
from .conv import conv2d, conv3d
from .convert import convert_weights
from .migrate import migrate_keras1
from .pool import pool_2d
from .pool3d import pool_3d
from .regression import check
from .separable import separable_conv2d
from .targets.onnx import to_onnx
from .transpose import conv2d_transpose

__version__ = "0.1.0"

__all__ = [
    "LegacyconvError",
    "check",
    "conv2d",
    "conv2d_transpose",
    "conv3d",
    "convert_weights",
    "get_conv_output_shape",
    "get_workspace_limit",
    "io",
    "layouts",
    "migrate_keras1",
    "nnet",
    "padding",
    "pool_2d",
    "pool_3d",
    "separable_conv2d",
    "set_workspace_limit",
    "signal",
    "to_onnx",
    "workspace_limit",
]
