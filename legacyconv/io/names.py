"""Array names that become zip member names and HDF5 paths: a safe character set, nothing else.

A name from a spec, a model config or a weight file is written as ``NAME.npy`` inside an
``.npz`` or as an HDF5 path. ``../../escape`` or ``/etc/evil`` there is a zip-slip for whoever
extracts the file, so every name is checked before it is written: ``/``-separated parts (the
``layer/weight`` of a Keras-1 file), each made of letters, digits and ``_ . : + -``, not ``.``
or ``..``, at most :data:`MAX_NAME_LENGTH` characters in all.

>>> check_array_name("conv1/conv1_W", "array name")
'conv1/conv1_W'
>>> check_array_name("../../escape", "spec name")
Traceback (most recent call last):
...
legacyconv._errors.LegacyconvError: spec name '../../escape' is not a safe array name: the parts between '/' must be made of letters, digits and _ . : + - (not '.' or '..'), at most 200 characters in all
"""

from __future__ import annotations

import re
from typing import Any

from .._errors import LegacyconvError

__all__ = ["MAX_NAME_LENGTH", "check_array_name"]

MAX_NAME_LENGTH = 200
_PART = re.compile(r"[A-Za-z0-9_.:+\-]+")


def check_array_name(name: Any, what: str, *, nested: bool = True) -> str:
    """Return ``name`` if it is a safe array name, else raise :class:`LegacyconvError` naming ``what``.

    ``nested=False`` also refuses ``/`` (a name that must stay one part, such as a spec's new name).
    """
    shown = (
        repr(name)
        if not isinstance(name, str) or len(name) <= 60
        else repr(name[:60]) + f"... ({len(name)} characters)"
    )
    ok = isinstance(name, str) and 0 < len(name) <= MAX_NAME_LENGTH
    if ok:
        parts = name.split("/") if nested else [name]
        ok = all(_PART.fullmatch(p) and p not in (".", "..") for p in parts)
    if not ok:
        sep = "the parts between '/'" if nested else "it"
        raise LegacyconvError(
            f"{what} {shown} is not a safe array name: {sep} must be made of letters, digits and _ . : + - "
            f"(not '.' or '..'), at most {MAX_NAME_LENGTH} characters in all"
        )
    return name
