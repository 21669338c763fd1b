"""Keras 2.0-2.2.x on Theano (``backend='theano'``, ``channels_first``): one module per Keras module.

========================  =====================================================================
module                    layer classes
========================  =====================================================================
``model.py``              which files are migrated (Theano, channels-first) and which refused
``convolutional.py``      Conv1D/2D/3D, SeparableConv2D, DepthwiseConv2D, Conv2DTranspose,
                          ZeroPadding1D/2D/3D, UpSampling1D/2D/3D
``pooling.py``            MaxPooling1D/2D/3D, AveragePooling1D/2D/3D
``core.py``               Dense, Flatten
``merge.py``              Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot
``normalization.py``      BatchNormalization (center / scale on or off)
``recurrent.py``          SimpleRNN, GRU, LSTM
========================  =====================================================================

Layers that are the same in Keras 1 and 2 are in :mod:`legacyconv.frontends.keras_layers`.
"""

from .. import keras_layers  # noqa: F401  (registers the shared translators)
from . import convolutional, core, merge, normalization, pooling, recurrent  # noqa: F401
