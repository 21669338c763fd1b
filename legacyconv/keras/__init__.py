"""Keras layers (the Keras shipped with TensorFlow) built from Theano weights.

Importing this package does not import TensorFlow; calling a builder does.
"""

from .conv import to_keras_conv2d

__all__ = ["to_keras_conv2d"]
