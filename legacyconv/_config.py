"""Process-wide settings: the im2col workspace limit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ._errors import LegacyconvError

__all__ = ["get_workspace_limit", "set_workspace_limit", "workspace_limit"]

_DEFAULT_LIMIT = 256 * 2**20
_limit = _DEFAULT_LIMIT


def get_workspace_limit() -> int:
    """Return the byte limit of the scratch buffers one convolution call may allocate.

    >>> get_workspace_limit() == 256 * 2**20
    True
    """
    return _limit


def set_workspace_limit(nbytes: int) -> int:
    """Set the workspace limit in bytes (at least 1 MiB) and return the previous value.

    The numpy engine splits its im2col buffer into chunks below this size, whatever the batch.
    """
    global _limit
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 2**20:
        raise LegacyconvError(
            f"workspace limit must be an integer number of bytes >= {2**20}. Received: nbytes={nbytes!r}"
        )
    previous, _limit = _limit, nbytes
    return previous


@contextlib.contextmanager
def workspace_limit(nbytes: int) -> Iterator[None]:
    """Temporarily set the workspace limit.

    >>> with workspace_limit(8 * 2**20):
    ...     get_workspace_limit()
    8388608
    """
    previous = set_workspace_limit(nbytes)
    try:
        yield
    finally:
        set_workspace_limit(previous)
