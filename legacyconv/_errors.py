"""The one error class of legacyconv."""

from __future__ import annotations

__all__ = ["LegacyconvError"]


class LegacyconvError(ValueError):
    """Bad arguments or data: the message names the argument, what was received and what was expected.

    It subclasses :class:`ValueError`, the class Theano raised for the same mistakes, so
    ``except ValueError`` in ported code keeps working.
    """
