"""The one error class of legacyconv."""

from __future__ import annotations

__all__ = ["LegacyconvError", "LegacyconvTypeError"]


class LegacyconvError(ValueError):
    """Bad arguments or data: the message names the argument, what was received and what was expected.

    It subclasses :class:`ValueError`, the class Theano raised for the same mistakes, so
    ``except ValueError`` in ported code keeps working.
    """


class LegacyconvTypeError(LegacyconvError, TypeError):
    """A :class:`LegacyconvError` where Theano raised :class:`TypeError` (e.g. ``images2neibs``'s
    shape checks, ``categorical_crossentropy``'s rank checks), so ``except TypeError`` in ported
    code keeps working."""
