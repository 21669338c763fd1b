"""Keras layers (the Keras shipped with TensorFlow) built from Theano weights.

Importing this package does not import TensorFlow; calling a builder does.
"""

from .conv import to_keras_conv2d
from .pool import to_keras_pool2d
from .saving import custom_objects, load_model
from .transpose import to_keras_conv2d_transpose

__all__ = ["custom_objects", "load_model", "to_keras_conv2d", "to_keras_conv2d_transpose", "to_keras_pool2d"]
