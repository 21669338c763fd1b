"""Keras 1.x on Theano (``dim_ordering='th'``): one module per Keras module, one translator per layer class.

========================  =====================================================================
module                    layer classes
========================  =====================================================================
``convolutional.py``      Convolution1D/2D/3D, AtrousConvolution1D/2D, Deconvolution2D,
                          ZeroPadding1D/2D/3D, UpSampling1D/2D/3D
``pooling.py``            MaxPooling1D/2D/3D, AveragePooling1D/2D/3D
``core.py``               Dense, Flatten, TimeDistributedDense, MaxoutDense, Highway
``merge.py``              Merge (the layer and the ``merge()`` function)
``normalization.py``      BatchNormalization (mode 0)
``recurrent.py``          SimpleRNN, GRU, LSTM
========================  =====================================================================

The layers whose Keras-1 and Keras-2 forms are the same (Dropout, Activation, Permute, Reshape,
advanced activations, Embedding, global pooling, TimeDistributed, ...) are in
:mod:`legacyconv.frontends.keras_layers`.
"""

from .. import keras_layers  # noqa: F401  (registers the shared translators)
from . import convolutional, core, merge, normalization, pooling, recurrent  # noqa: F401
