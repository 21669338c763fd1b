"""Weight files: read ``.npz`` (named or Lasagne-positional) and HDF5 (Keras 1), write atomically.

``h5py`` is imported only when an HDF5 file is read or written; nothing here ever unpickles.
"""

from ._atomic import atomic_write, check_output_path
from .keras1 import Keras1Model, LayerPlan, UnsupportedLayerError, plan_keras1
from .weights import LAYOUTS, ROLES, ArrayInfo, WeightFile, load_weights, save_weights

__all__ = [
    "LAYOUTS",
    "ROLES",
    "ArrayInfo",
    "Keras1Model",
    "LayerPlan",
    "UnsupportedLayerError",
    "WeightFile",
    "atomic_write",
    "check_output_path",
    "load_weights",
    "plan_keras1",
    "save_weights",
]
