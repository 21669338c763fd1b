"""Pickled weight files (the Lasagne model zoo), read through :mod:`legacyconv.io.safe_pickle`.

Accepted shapes of content, all holding numeric NumPy arrays only:

* ``{'param values': [array, ...], ...}`` (Lasagne/Recipes model zoo): the arrays become
  ``arr_0, arr_1, …`` in order, like a positional ``.npz``; every other entry
  (``'synset words'``, ``'mean value'`` …) is kept in :attr:`WeightFile.extras`;
* a list or tuple of arrays (``pickle.dump(get_all_param_values(net), f)``);
* a dict of name -> array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import LegacyconvError
from .limits import ReadLimits
from .safe_pickle import safe_load
from .weights import WeightFile, describe_extra

__all__ = ["read_pickle"]

_PARAM_KEY = "param values"


def _check_array(path: str, where: str, value: Any) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biufc":
        what = (
            f"an array of dtype {value.dtype}"
            if isinstance(value, np.ndarray)
            else f"a {type(value).__name__}"
        )
        raise LegacyconvError(f"{path}: {where} is {what}, not a numeric weight array")
    return value


def _positional(path: str, values: Any, where: str) -> dict[str, np.ndarray]:
    return {f"arr_{i}": _check_array(path, f"{where}[{i}]", v) for i, v in enumerate(values)}


def read_pickle(path: str, limits: ReadLimits | None = None) -> WeightFile:
    """Read a pickle of weight arrays into a :class:`WeightFile` (see the module docstring)."""
    obj = safe_load(path, limits=limits)
    extras: dict[str, Any] = {}
    if isinstance(obj, dict) and _PARAM_KEY in obj:
        values = obj[_PARAM_KEY]
        if not isinstance(values, (list, tuple)):
            raise LegacyconvError(
                f"{path}: {_PARAM_KEY!r} is a {type(values).__name__}, expected a list of arrays"
            )
        arrays = _positional(path, values, repr(_PARAM_KEY))
        extras = {str(k): v for k, v in obj.items() if k != _PARAM_KEY}
        fmt = "pickle-positional"
        source = (
            f"pickled dict (Lasagne model zoo): {_PARAM_KEY!r} as arr_0 … arr_{len(arrays) - 1} in "
            "get_all_params order; the file does not say what the arrays are"
        )
    elif isinstance(obj, (list, tuple)):
        arrays = _positional(path, obj, "item")
        fmt, source = (
            "pickle-positional",
            "pickled list of arrays (arr_0 … in order); the file does not say what they are",
        )
    elif isinstance(obj, dict):
        arrays = {str(k): _check_array(path, f"entry {k!r}", v) for k, v in obj.items()}
        fmt, source = "pickle", "pickled dict of named arrays; the file does not say their layout"
    else:
        raise LegacyconvError(
            f"{path}: the pickle holds a {type(obj).__name__}; expected a dict with {_PARAM_KEY!r}, a list "
            "of arrays or a dict of arrays"
        )
    if not arrays:
        raise LegacyconvError(f"{path} holds no arrays")
    wf = WeightFile(path, fmt, source, arrays, extras=extras)
    if extras:
        listing = ", ".join(f"{k!r} ({describe_extra(v)})" for k, v in extras.items())
        wf.notes.append(f"also in the file (kept, not converted): {listing}")
    return wf
