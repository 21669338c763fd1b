"""The translator registry: one function per legacy layer class and Keras major version.

A translator reads one application of a legacy layer (a :class:`~legacyconv.frontends.keras_common.LayerCall`)
and adds the graph nodes that compute what the layer computed on Theano; the last node it adds
carries the layer's name. Look-ups go by ``(keras major version, class name)``, never by if/elif.

>>> from legacyconv.frontends import supported_layers
>>> "Convolution2D" in supported_layers(1), "Conv2D" in supported_layers(2)
(True, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .._errors import UnsupportedLayerError

if TYPE_CHECKING:
    from .keras_common import LayerCall

__all__ = [
    "TRANSLATORS",
    "Translator",
    "UnsupportedLayerError",
    "supported_layers",
    "translates",
    "translator_for",
]


@dataclass(frozen=True)
class Translator:
    """One legacy layer class of one Keras major version and the function that translates it."""

    keras: int
    class_name: str
    fn: Callable[[LayerCall], str]
    doc: str
    #: False for a class that is recognised only to be refused with a specific reason
    supported: bool = True


#: ``(keras major version, layer class name)`` -> :class:`Translator`
TRANSLATORS: dict[tuple[int, str], Translator] = {}


def translates(
    *class_names: str, keras: Iterable[int] = (1, 2), supported: bool = True
) -> Callable[[Callable[[LayerCall], str]], Callable[[LayerCall], str]]:
    """Register the decorated function as the translator of ``class_names`` for the Keras versions ``keras``.

    ``supported=False`` registers a function that only raises, with the reason the class cannot
    be migrated; such classes are not listed by :func:`supported_layers`.
    """
    versions = tuple(keras)

    def deco(fn: Callable[[LayerCall], str]) -> Callable[[LayerCall], str]:
        doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        for major in versions:
            for name in class_names:
                if (major, name) in TRANSLATORS:
                    raise RuntimeError(f"Keras {major} layer class {name!r} has two translators")
                TRANSLATORS[(major, name)] = Translator(major, name, fn, doc, supported)
        return fn

    return deco


def translator_for(keras: int, class_name: str) -> Translator | None:
    """The translator of a Keras ``keras``.x layer class, or None."""
    _load_translators()
    return TRANSLATORS.get((keras, class_name))


def supported_layers(keras: int) -> list[str]:
    """The layer classes of Keras ``keras``.x that legacyconv translates, sorted."""
    _load_translators()
    return sorted(name for (major, name), t in TRANSLATORS.items() if major == keras and t.supported)


def _load_translators() -> None:
    # the translator modules register themselves on import
    from . import keras1, keras2  # noqa: F401
