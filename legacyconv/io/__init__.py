"""Weight files: read ``.npz`` (named or Lasagne-positional), HDF5 (Keras 1) and pickles of
arrays (the Lasagne model zoo), write atomically.

``h5py`` is imported only when an HDF5 file is read or written; pickles are read only by the
restricted unpickler of :mod:`legacyconv.io.safe_pickle`, which never runs code from the file.
Every reader checks declared sizes against :mod:`legacyconv.io.limits` (``read_limits``) before
it allocates, and HDF5 files are walked for links leaving the file before anything is read.
"""

from importlib import resources

from ._atomic import atomic_write, check_output_path
from .keras1 import UnsupportedLayerError, conv_pads_keras1
from .limits import ReadLimits, read_limits
from .weights import LAYOUTS, ROLES, ArrayInfo, WeightFile, load_weights, save_weights

_EXAMPLES = (
    "keras1_theano_lenet.h5",
    "keras1_theano_lenet_reference.npz",
    "keras1_theano_lenet_reference.json",
    "tiny_caffenet_py2.pkl",
    "tiny_caffenet_reference.npz",
    "README.md",
)


def example_files() -> dict[str, str]:
    """Paths of the bundled examples (a real Keras 1.2.2 + Theano model, the weights of a
    Lasagne model-zoo-style network as Python 2 pickled them, and the outputs Theano computed
    for reference batches), by file name.

    >>> sorted(example_files())  # doctest: +NORMALIZE_WHITESPACE
    ['README.md', 'keras1_theano_lenet.h5', 'keras1_theano_lenet_reference.json',
     'keras1_theano_lenet_reference.npz', 'tiny_caffenet_py2.pkl', 'tiny_caffenet_reference.npz']
    """
    root = resources.files("legacyconv") / "examples"
    return {name: str(root / name) for name in _EXAMPLES}


__all__ = [
    "LAYOUTS",
    "ROLES",
    "ArrayInfo",
    "ReadLimits",
    "UnsupportedLayerError",
    "WeightFile",
    "atomic_write",
    "check_output_path",
    "conv_pads_keras1",
    "example_files",
    "load_weights",
    "read_limits",
    "save_weights",
]
