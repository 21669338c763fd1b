"""Lasagne weight files for the mirror: positional or named ``.npz``, and model-zoo pickles.

Files are read by :func:`legacyconv.io.load_weights` (pickles through the restricted unpickler
of :mod:`legacyconv.io.safe_pickle`: no code from the file ever runs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import LegacyconvError
from ..io import load_weights
from ..io._atomic import PathLike
from .layers.helper import get_all_params, set_all_param_values

__all__ = ["ParamFile", "conversion_spec", "load_params", "read_params"]


@dataclass
class ParamFile:
    """The parameter values of a Lasagne weight file.

    ``values`` in file order; ``names`` is None for positional files (``arr_0, arr_1, …`` of
    ``np.savez(f, *get_all_param_values(net))``, a pickled list or ``{'param values': [...]}``),
    else the array names (``np.savez(f, **{p.name: p.get_value() ...})``); ``extras`` holds
    whatever else a pickled dict held (``'synset words'``, ``'mean value'`` …).
    """

    path: str
    format: str
    values: list[np.ndarray]
    names: list[str] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def positional(self) -> bool:
        return self.names is None


def read_params(path: PathLike) -> ParamFile:
    """Read a Lasagne weight file (positional or named ``.npz``, or a pickle of arrays).

    >>> import os, tempfile
    >>> import numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> np.savez(path, np.ones((3, 2), np.float32), np.zeros(2, np.float32))
    >>> pf = read_params(path)
    >>> pf.positional, [v.shape for v in pf.values]
    (True, [(3, 2), (2,)])
    """
    wf = load_weights(path)
    values = list(wf.arrays.values())
    names = None if wf.format.endswith("positional") else list(wf.arrays)
    return ParamFile(os.fspath(path), wf.format, values, names, dict(wf.extras))


def load_params(network: Any, weights: PathLike | ParamFile, **tags: bool) -> dict[str, Any]:
    """Set every parameter of ``network`` from a weight file; return the file's extras.

    Positional files are matched in :func:`~legacyconv.lasagne.layers.get_all_params` order (as
    ``set_all_param_values`` does); named files by parameter name (``<layer name>.W`` …), every
    name exactly once. Count, names and shapes are all checked before anything is set.

    Parameters
    ----------
    network : Layer, list of Layer, or dict of Layer
        The output layer(s); for the dict a model-zoo ``build_model()`` returns, its ``'prob'``
        entry if there is one, else every layer in it.
    weights : path or ParamFile
    **tags
        Parameter tags, as for ``get_all_params`` (e.g. ``trainable=True``).

    Returns
    -------
    dict
        The extras of a pickled dict (``{'synset words': [...], 'mean value': array}``), else ``{}``.
    """
    pf = weights if isinstance(weights, ParamFile) else read_params(weights)
    if isinstance(network, dict):
        network = network["prob"] if "prob" in network else list(network.values())
    if pf.positional:
        set_all_param_values(network, pf.values, **tags)
        return dict(pf.extras)
    params = get_all_params(network, **tags)
    by_name: dict[str, Any] = {}
    for p in params:
        if p.name is None or p.name in by_name:
            raise LegacyconvError(
                f"{pf.path} names its arrays, but the network's parameter names are not unique "
                f"({p.name!r} appears twice or is unnamed): give every layer a name, or save positionally"
            )
        by_name[p.name] = p
    file_names = list(pf.names or [])
    missing = [n for n in by_name if n not in file_names]
    extra = [n for n in file_names if n not in by_name]
    if missing or extra:
        raise LegacyconvError(
            f"{pf.path} does not match the network's parameter names: missing {missing}, not in the network {extra}"
        )
    ordered = [pf.values[file_names.index(p.name)] for p in params]  # type: ignore[arg-type]
    set_all_param_values(network, ordered, **tags)
    return dict(pf.extras)


def _flattened_map(layer: Any) -> list[int] | None:
    """The channels-first map a DenseLayer flattens (directly, or through a FlattenLayer)."""
    from .layers.shape import FlattenLayer

    shape = layer.input_shape
    source = layer.input_layer
    if len(shape) == 2 and isinstance(source, FlattenLayer) and source.outdim == 2:
        shape = source.input_shape
    if layer.num_leading_axes != 1 or len(shape) < 3 or any(s is None for s in shape[1:]):
        return None
    return [int(s) for s in shape[1:]]


def conversion_spec(network: Any) -> dict[str, Any]:
    """The :func:`legacyconv.convert_weights` spec of ``network``'s positional weight file,
    with ``filter_flip`` and ``feature_shape`` read from the network itself (nothing guessed).

    Conv kernels take their layer's ``flip_filters`` (and ``num_groups``); a DenseLayer whose
    input is a feature map (or a FlattenLayer of one) gets that map as ``feature_shape``;
    biases and BatchNorm/Scale/PReLU vectors are kept. A parameter the spec roles cannot
    describe (transposed or dilated conv kernels, 3-D or 1-D kernels …) raises LegacyconvError.

    >>> from legacyconv.lasagne import layers as L
    >>> net = L.DenseLayer(L.Conv2DLayer(L.InputLayer((None, 3, 8, 8)), 4, 3, flip_filters=False), 2)
    >>> conversion_spec(net)["arrays"]
    {'arr_0': {'role': 'conv_kernel', 'filter_flip': False, 'layer': 'Conv2DLayer'}, 'arr_1': {'role': 'bias', 'layer': 'Conv2DLayer'}, 'arr_2': {'role': 'dense_kernel', 'feature_shape': [4, 6, 6], 'layer': 'DenseLayer'}, 'arr_3': {'role': 'bias', 'layer': 'DenseLayer'}}
    """
    from .layers.conv import Conv2DLayer
    from .layers.dense import DenseLayer
    from .layers.helper import get_all_layers

    if isinstance(network, dict):
        network = network["prob"] if "prob" in network else list(network.values())
    owners: dict[int, Any] = {}
    for layer in get_all_layers(network):
        for p in layer.params:
            owners.setdefault(id(p), layer)
    arrays: dict[str, Any] = {}
    for i, p in enumerate(get_all_params(network)):
        layer = owners[id(p)]
        label = layer.name or type(layer).__name__
        if p.ndim <= 1:
            entry: dict[str, Any] = {"role": "bias" if getattr(layer, "b", None) is p else "keep"}
        elif isinstance(layer, Conv2DLayer) and p is layer.W:
            entry = {"role": "conv_kernel", "filter_flip": bool(layer.flip_filters)}
            if layer.num_groups != 1:
                entry["num_groups"] = layer.num_groups
        elif isinstance(layer, DenseLayer) and p is layer.W:
            entry = {"role": "dense_kernel", "feature_shape": _flattened_map(layer)}
        else:
            raise LegacyconvError(
                f"parameter {i} ({p.name or 'unnamed'}, shape {p.shape}) of {type(layer).__name__} {label!r} has no "
                "role in a conversion spec (conv_kernel, dense_kernel, bias, keep); migrate this network "
                "layer by layer instead"
            )
        entry["layer"] = label
        arrays[f"arr_{i}"] = entry
    return {
        "description": "written by legacyconv.lasagne.conversion_spec from the network definition",
        "arrays": arrays,
    }
