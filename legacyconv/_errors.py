"""The error classes of legacyconv: LegacyconvError, and its UnsupportedLayerError and LegacyconvTypeError."""

from __future__ import annotations

__all__ = ["LegacyconvError", "LegacyconvTypeError", "UnsupportedLayerError"]


class LegacyconvError(ValueError):
    """Bad arguments or data: the message names the argument, what was received and what was expected.

    It subclasses :class:`ValueError`, the class Theano raised for the same mistakes, so
    ``except ValueError`` in ported code keeps working.
    """


class UnsupportedLayerError(LegacyconvError, NotImplementedError):
    """A legacy layer, argument or backend that legacyconv cannot reproduce: the message names it.

    Raised by the frontends (:mod:`legacyconv.frontends`) before any framework is imported.
    """


class LegacyconvTypeError(LegacyconvError, TypeError):
    """A :class:`LegacyconvError` where Theano raised :class:`TypeError` (e.g. ``images2neibs``'s
    shape checks, ``categorical_crossentropy``'s rank checks), so ``except TypeError`` in ported
    code keeps working."""
