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

__all__ = ["ParamFile", "load_params", "read_params"]


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
