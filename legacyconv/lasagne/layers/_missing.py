"""The Lasagne 0.2 names the mirror does not implement, and the error they raise."""

from __future__ import annotations

__all__ = ["NOT_MIRRORED", "missing_attribute"]

#: Lasagne 0.2 names the mirror does not implement, with the module Lasagne defines them in.
NOT_MIRRORED = {
    "LocallyConnected2DLayer": "lasagne.layers.local",
    "SpatialPyramidPoolingLayer": "lasagne.layers.pool",
    "SpatialPyramidPoolingDNNLayer": "lasagne.layers.dnn",
    "CustomRecurrentLayer": "lasagne.layers.recurrent",
    "RecurrentLayer": "lasagne.layers.recurrent",
    "Gate": "lasagne.layers.recurrent",
    "LSTMLayer": "lasagne.layers.recurrent",
    "GRULayer": "lasagne.layers.recurrent",
    "InverseLayer": "lasagne.layers.special",
    "TransformerLayer": "lasagne.layers.special",
    "TPSTransformerLayer": "lasagne.layers.special",
    "RandomizedRectifierLayer": "lasagne.layers.special",
    "rrelu": "lasagne.layers.special",
    "NINLayer_c01b": "lasagne.layers.cuda_convnet",
    "ShuffleBC01ToC01BLayer": "lasagne.layers.cuda_convnet",
    "ShuffleC01BToBC01Layer": "lasagne.layers.cuda_convnet",
}


def missing_attribute(module: str, name: str) -> Exception:
    """What ``module.name`` raises when the mirror lacks ``name``: NotImplementedError naming
    a Lasagne layer it does not implement, AttributeError for anything else.

    >>> missing_attribute("lasagne.layers", "LSTMLayer")
    NotImplementedError("LSTMLayer (lasagne.layers.recurrent) is not implemented by legacyconv's Lasagne mirror; the network cannot be run or migrated until it is (supported layers: legacyconv.lasagne.layers.__all__).")
    """
    if name in NOT_MIRRORED:
        return NotImplementedError(
            f"{name} ({NOT_MIRRORED[name]}) is not implemented by legacyconv's Lasagne mirror; the network "
            "cannot be run or migrated until it is (supported layers: legacyconv.lasagne.layers.__all__)."
        )
    return AttributeError(f"module {module!r} (legacyconv's Lasagne mirror) has no attribute {name!r}")
