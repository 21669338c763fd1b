"""An eager mirror of Lasagne 0.2's API in NumPy, on legacyconv's engines.

A Lasagne network definition runs unchanged with ``import lasagne`` resolved to this package
(:func:`install`, or :func:`load_network` for a ``build_model()`` file); ``get_output`` then
computes what Theano computed, eagerly, on NumPy arrays. Weights load with :func:`load_params`
from Lasagne's positional ``.npz``, a named ``.npz`` or a model-zoo pickle (read by a restricted
unpickler that never runs code).

>>> import numpy as np
>>> from legacyconv.lasagne import layers
>>> net = layers.DenseLayer(layers.InputLayer((None, 3)), 2, W=np.ones((3, 2), np.float32))
>>> layers.get_output(net, np.ones((1, 3), np.float32), deterministic=True)
array([[3., 3.]], dtype=float32)
"""

from . import init, layers, nonlinearities, random, utils
from ._install import Installation, install, load_network
from .params import ParamFile, conversion_spec, load_params, read_params

__version__ = "0.2.dev1"

__all__ = [
    "Installation",
    "ParamFile",
    "conversion_spec",
    "init",
    "install",
    "layers",
    "load_network",
    "load_params",
    "nonlinearities",
    "random",
    "read_params",
    "utils",
]
