"""Frontends: read a legacy model file into a :class:`~legacyconv.graph.Graph`.

A frontend recognises its files and translates them, one registered translator per legacy layer
class (:mod:`legacyconv.frontends._registry`). Where things live:

- ``keras_common.py``: walking a Keras config (Sequential, functional, nested, shared layers),
  one :class:`~legacyconv.frontends.keras_common.LayerCall` per layer application;
- ``keras_emit.py``: the Theano padding geometry and the node patterns both Keras versions share;
- ``keras_layers.py``: the translators of layers that are the same in Keras 1 and 2;
- ``keras1/``: Keras 1.x on Theano, one module per Keras module (``merge.py`` holds ``Merge``);
- ``keras2/``: Keras 2.0-2.2.x on Theano (``model.py``: which files are migrated);
- ``weights.py``: the roles and layer table ``inspect`` / ``convert`` show for a Keras file.

>>> from legacyconv.frontends import FRONTENDS
>>> sorted(FRONTENDS)
['keras1', 'keras2']
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from .._errors import LegacyconvError
from ..graph import Graph
from ..io._atomic import PathLike
from ..io.keras_model import KerasFile, read_keras_file
from ._registry import TRANSLATORS, UnsupportedLayerError, supported_layers, translator_for

__all__ = [
    "FRONTENDS",
    "TRANSLATORS",
    "Frontend",
    "UnsupportedLayerError",
    "frontend_for",
    "load_graph",
    "supported_layers",
    "translator_for",
]


@dataclass(frozen=True)
class Frontend:
    """A family of legacy model files: how to recognise one, and how to translate it into a graph."""

    name: str
    description: str
    accepts: Callable[[KerasFile], bool]
    load: Callable[[KerasFile], Graph]


FRONTENDS: dict[str, Frontend] = {}


def register_frontend(frontend: Frontend) -> Frontend:
    if frontend.name in FRONTENDS:
        raise RuntimeError(f"frontend {frontend.name!r} registered twice")
    FRONTENDS[frontend.name] = frontend
    return frontend


def _keras1_accepts(kfile: KerasFile) -> bool:
    return kfile.major == 1


def _keras2_accepts(kfile: KerasFile) -> bool:
    return kfile.major == 2


def _load_keras1(kfile: KerasFile) -> Graph:
    from .keras_common import build_graph

    if kfile.backend not in (None, "theano"):
        raise UnsupportedLayerError(
            f"{kfile.path} was saved by Keras {kfile.keras_version} with the {kfile.backend!r} backend; "
            "only Theano models need legacyconv"
        )
    return build_graph(kfile, 1)


def _load_keras2(kfile: KerasFile) -> Graph:
    from .keras2.model import load_keras2

    return load_keras2(kfile)


register_frontend(
    Frontend("keras1", "Keras 1.x on Theano (dim_ordering='th')", _keras1_accepts, _load_keras1)
)
register_frontend(
    Frontend("keras2", "Keras 2.0-2.2.x on Theano (channels_first)", _keras2_accepts, _load_keras2)
)


def frontend_for(kfile: KerasFile) -> Frontend:
    """The frontend that reads ``kfile``, or LegacyconvError saying why none does."""
    for frontend in FRONTENDS.values():
        if frontend.accepts(kfile):
            return frontend
    raise UnsupportedLayerError(
        f"{kfile.path}: Keras {kfile.keras_version} files are not supported; legacyconv reads "
        f"{', '.join(f.description for f in FRONTENDS.values())}"
    )


def load_graph(path: PathLike, *, weights: PathLike | None = None) -> Graph:
    """Read a legacy model file (and its separate weights file, if any) into a validated graph.

    Parameters
    ----------
    path : str or os.PathLike
        A Keras ``model.save()`` HDF5 file, or a ``model.to_json()`` architecture.
    weights : str or os.PathLike, optional
        The ``save_weights()`` file belonging to a JSON architecture.

    Raises
    ------
    LegacyconvError
        The file is not a legacy model, or a weights-only file was given without its architecture.
    UnsupportedLayerError
        A layer, argument or backend that cannot be reproduced (named in the message). Raised
        before any framework is imported.

    Examples
    --------
    >>> from legacyconv.io import example_files
    >>> graph = load_graph(example_files()["keras1_theano_lenet.h5"])
    >>> graph.meta["references"]["layer02_convolution2d_2"], graph["convolution2d_2/conv"].attrs["pads"]
    ('convolution2d_2', ((1, 1), (1, 1)))
    >>> graph[graph.outputs[0]].shape
    (None, 10)
    """
    kfile = read_keras_file(path, weights)
    if kfile.config is None:
        raise LegacyconvError(
            f"{os.fspath(path)} holds only weights (save_weights()) and no architecture: pass the "
            "architecture JSON (model.to_json()) and this file as its weights, e.g. "
            f"legacyconv migrate model.json --weights {os.fspath(path)} -o out.keras"
        )
    graph = frontend_for(kfile).load(kfile)
    graph.validate()
    from ..io.limits import check_feature_shape

    for node in graph.topological_order():  # a config can declare any size; nothing is built yet
        check_feature_shape((node.shape or ())[1:], f"{node.source or repr(node.name)}: output")
    return graph
