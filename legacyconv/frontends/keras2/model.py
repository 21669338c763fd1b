"""Which Keras 2 files are migrated: ``backend='theano'`` with channels-first image layers."""

from __future__ import annotations

from ...graph import Graph
from ...io.keras_model import KerasFile
from .._registry import UnsupportedLayerError
from ..keras_common import build_graph

_NO_MIGRATION = (
    "its kernels were never flipped and its padding is TensorFlow's, so Keras 3 loads it as it is "
    "(keras.saving.load_model / legacy HDF5 loading): it needs no migration, and legacyconv refuses it"
)


def load_keras2(kfile: KerasFile) -> Graph:
    """The graph of a Keras 2.0-2.2.x model trained on Theano; TensorFlow or channels-last files are refused.

    Decision: a Keras 2 file from the TensorFlow (or CNTK) backend is refused with a sentence
    saying it needs no migration (Keras 3 reads it as it is); so is one that records no backend
    and has channels-last image layers. A Theano file with channels-last image layers is refused
    too, but as unsupported: Theano flipped its kernels like any other.
    """
    version = kfile.keras_version or "2"
    minor = version.split(".")[1] if "." in version else "0"
    if not minor.isdigit() or int(minor) > 2:
        raise UnsupportedLayerError(
            f"{kfile.path}: Keras {version} is not supported; the Keras 2 frontend reads Keras 2.0-2.2.x files"
        )
    if kfile.backend not in (None, "theano"):
        raise UnsupportedLayerError(
            f"{kfile.path} was saved by Keras {version} on the {kfile.backend!r} backend: {_NO_MIGRATION}"
        )
    if _channels_last_images(kfile.config):
        if kfile.backend is None:
            raise UnsupportedLayerError(
                f"{kfile.path} records no backend and holds channels-last image layers "
                f"(data_format='channels_last'): a TensorFlow model, so {_NO_MIGRATION}"
            )
        raise UnsupportedLayerError(
            f"{kfile.path} ran channels-last image layers (data_format='channels_last') on Theano: "
            "legacyconv migrates channels-first Theano models only"
        )
    return build_graph(kfile, 2)


_SEQUENCE_LAYERS = (
    "Conv1D",
    "SeparableConv1D",
    "MaxPooling1D",
    "AveragePooling1D",
    "GlobalMaxPooling1D",
    "GlobalAveragePooling1D",
    "ZeroPadding1D",
    "Cropping1D",
    "UpSampling1D",
    "Flatten",
)


def _channels_last_images(config: object) -> bool:
    """True if an image layer (not a 1-D one, which is channels-last on every backend) is channels-last."""
    if isinstance(config, dict):
        cls = config.get("class_name")
        inner = config.get("config")
        if (
            isinstance(inner, dict)
            and inner.get("data_format") == "channels_last"
            and cls not in _SEQUENCE_LAYERS
        ):
            return True
        return any(_channels_last_images(v) for v in config.values())
    if isinstance(config, list):
        return any(_channels_last_images(v) for v in config)
    return False
