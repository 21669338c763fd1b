"""Input files: only existing regular files are read (a FIFO or a device would block or never end).

>>> import os, tempfile
>>> check_input_file(tempfile.mkdtemp(), "weight file")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
legacyconv._errors.LegacyconvError: the weight file ... is a directory, not a file
"""

from __future__ import annotations

import os
import stat
from typing import Any

from .._errors import LegacyconvError, LegacyconvTypeError
from .limits import LimitError, format_bytes

__all__ = ["as_path", "check_input_file", "read_input_bytes"]


def as_path(value: Any, name: str, also: str = "") -> str:
    """``os.fspath(value)``, or an error naming ``name`` when ``value`` is not a path (``also``
    says what else the argument may be, e.g. ``" or a WeightFile"``).

    >>> as_path(3, "weights", " or a WeightFile")
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvTypeError: weights must be a path (str or os.PathLike) or a WeightFile. Received: weights of type int
    """
    if not isinstance(value, (str, os.PathLike)):
        raise LegacyconvTypeError(
            f"{name} must be a path (str or os.PathLike){also}. Received: {name} of type {type(value).__name__}"
        )
    return os.fspath(value)


def _open_regular(path: str, what: str) -> int:
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise LegacyconvError(f"cannot read the {what} {path}: no such file") from None
    except IsADirectoryError:
        raise LegacyconvError(f"the {what} {path} is a directory, not a file") from None
    except OSError as exc:
        raise LegacyconvError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
        raise LegacyconvError(f"the {what} {path} is {kind}, not a file")
    return fd


def check_input_file(path: str, what: str) -> str:
    """Return ``path`` if it names an existing regular file (symlinks followed), else raise."""
    os.close(_open_regular(path, what))
    return path


def read_input_bytes(path: str, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (a spec, a JSON architecture)."""
    fd = _open_regular(path, what)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise LimitError(
            f"the {what} {path} is larger than {format_bytes(max_bytes)}, the limit for a text file"
        )
    return data
