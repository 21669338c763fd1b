"""Loading saved Keras models that contain legacyconv's own layers."""

from __future__ import annotations

import os
from typing import Any

from .._tf import import_keras

__all__ = ["custom_objects", "load_model"]


def custom_objects() -> dict[str, Any]:
    """legacyconv's Keras layer classes by registered name, creating (and registering) them.

    >>> sorted(custom_objects())
    ['legacyconv>TheanoPool2D']
    """
    from .pool import TheanoPool2D  # created and registered with Keras on first lookup

    return {"legacyconv>TheanoPool2D": TheanoPool2D}


def load_model(path: str | os.PathLike[str], *, compile: bool = False, **kwargs: Any) -> Any:
    """``keras.models.load_model`` for a model that may contain legacyconv's own layers (built with
    :func:`legacyconv.keras.to_keras_pool2d`, or migrated by legacyconv 0.1): they are registered
    first, so no import ritual is needed. Models written by ``legacyconv migrate`` today hold stock
    Keras layers only and load with plain ``keras.saving.load_model``.

    ``compile`` defaults to False: a migrated model is for inference.
    """
    keras = import_keras()
    objects = {**custom_objects(), **kwargs.pop("custom_objects", {})}
    return keras.models.load_model(os.fspath(path), custom_objects=objects, compile=compile, **kwargs)
