"""One resource policy for every reader: how much a file may make legacyconv allocate.

A weight file declares the shape and dtype of each array before its data; a zip member or an
HDF5 dataset can declare gigabytes while storing a few bytes (a compression or fill-value bomb).
Every reader asks a :class:`Budget` before it allocates or decompresses anything:

- ``max_bytes``: the declared bytes of all arrays of one file together (default 4 GiB, more than
  any real CNN of the Theano era holds); one array alone is held to the same figure.
- ``max_ratio``: an array declaring at least ``ratio_floor`` bytes (1 MiB) must store at least
  ``1 / max_ratio`` of them (default 1000: deflate cannot do better than about 1032:1, and a
  real weight array is nowhere near that).
- ``max_text_bytes`` and ``max_nesting``: spec files and JSON model configs (16 MiB, 100 levels).
- ``max_features``: the float32 bytes of one sample's feature map in a model config (a
  ``ZeroPadding2D(10**9)`` declares exabytes), held to ``max_bytes`` too.

The limits come from, in order: the ``limits=`` argument of a reader, the innermost
:func:`read_limits` context, the environment (``LEGACYCONV_MAX_BYTES``, ``LEGACYCONV_MAX_RATIO``),
and the defaults. The command line sets them with ``--max-bytes`` and ``--max-ratio``.

>>> with read_limits(max_bytes="1 MiB"):
...     current_limits().max_bytes
1048576
>>> parse_size("4GiB"), parse_size("512M"), parse_size(1000)
(4294967296, 536870912, 1000)
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import LegacyconvError

__all__ = [
    "Budget",
    "LimitError",
    "ReadLimits",
    "check_feature_shape",
    "check_json_text",
    "current_limits",
    "declared_bytes",
    "format_bytes",
    "parse_size",
    "read_limits",
]

ENV_MAX_BYTES = "LEGACYCONV_MAX_BYTES"
ENV_MAX_RATIO = "LEGACYCONV_MAX_RATIO"
_HINT_BYTES = f"raise it with --max-bytes, {ENV_MAX_BYTES} or read_limits(max_bytes=...)"
_HINT_RATIO = f"raise it with --max-ratio, {ENV_MAX_RATIO} or read_limits(max_ratio=...)"


class LimitError(LegacyconvError):
    """A file declares more than the resource limits allow; the message gives the figures."""


@dataclass(frozen=True)
class ReadLimits:
    """The figures every reader checks (see the module docstring)."""

    max_bytes: int = 4 << 30
    max_ratio: float = 1000.0
    ratio_floor: int = 1 << 20
    max_text_bytes: int = 16 << 20
    max_nesting: int = 100
    max_members: int = 100_000


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(value: Any, name: str = "max_bytes") -> int:
    """A byte count from an int or a string such as ``'4GiB'``, ``'512M'``, ``'1e9'`` (binary units)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        size = int(value)
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", value)
        try:
            size = int(float(m.group(1)) * _UNITS[m.group(2).lower()]) if m else -1
        except (ValueError, OverflowError):
            size = -1
    else:
        size = -1
    if size < 1:
        raise LegacyconvError(
            f"{name} must be a positive number of bytes such as 4GiB, 512M or 1000000. Received: {name}={value!r}"
        )
    return size


def _parse_ratio(value: Any, name: str = "max_ratio") -> float:
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        ratio = math.nan
    if isinstance(value, bool) or not ratio >= 1:
        raise LegacyconvError(f"{name} must be a number >= 1. Received: {name}={value!r}")
    return ratio


def format_bytes(n: float) -> str:
    """``1073741824`` -> ``'1 GiB'``; small counts stay in bytes.

    >>> format_bytes(1536), format_bytes(68719476736), format_bytes(12)
    ('1.5 KiB', '64 GiB', '12 bytes')
    """
    for unit, size in (
        ("EiB", 1 << 60),
        ("PiB", 1 << 50),
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


_CURRENT: contextvars.ContextVar[ReadLimits | None] = contextvars.ContextVar(
    "legacyconv_limits", default=None
)


def current_limits() -> ReadLimits:
    """The limits in force: the innermost :func:`read_limits`, else the environment, else defaults."""
    limits = _CURRENT.get()
    if limits is not None:
        return limits
    env: dict[str, Any] = {}
    if os.environ.get(ENV_MAX_BYTES):
        env["max_bytes"] = parse_size(os.environ[ENV_MAX_BYTES], ENV_MAX_BYTES)
    if os.environ.get(ENV_MAX_RATIO):
        env["max_ratio"] = _parse_ratio(os.environ[ENV_MAX_RATIO], ENV_MAX_RATIO)
    return ReadLimits(**env)


def resolve_limits(limits: ReadLimits | None) -> ReadLimits:
    """``limits`` if given, else :func:`current_limits`."""
    if limits is None:
        return current_limits()
    if not isinstance(limits, ReadLimits):
        raise LegacyconvError(f"limits must be a ReadLimits. Received: {type(limits).__name__}")
    return limits


@contextlib.contextmanager
def read_limits(*, max_bytes: Any = None, max_ratio: Any = None) -> Iterator[ReadLimits]:
    """Change the limits for the readers called inside the ``with`` block (thread- and task-local)."""
    changes: dict[str, Any] = {}
    if max_bytes is not None:
        changes["max_bytes"] = parse_size(max_bytes)
    if max_ratio is not None:
        changes["max_ratio"] = _parse_ratio(max_ratio)
    limits = dataclasses.replace(current_limits(), **changes)
    token = _CURRENT.set(limits)
    try:
        yield limits
    finally:
        _CURRENT.reset(token)


def declared_bytes(shape: Sequence[int], dtype: np.dtype) -> int:
    """Bytes an array of ``shape`` and ``dtype`` needs, in Python ints (no overflow)."""
    return math.prod(int(s) for s in shape) * int(np.dtype(dtype).itemsize)


class Budget:
    """What one file may still make a reader allocate. Ask :meth:`take` before reading an array."""

    def __init__(self, where: str, limits: ReadLimits | None = None) -> None:
        self.where = where
        self.limits = resolve_limits(limits)
        self.used = 0

    def take(
        self,
        name: str,
        shape: Sequence[int],
        dtype: Any,
        stored: int | None,
        chunk: Sequence[int] | None = None,
    ) -> int:
        """Account for array ``name``; raise :class:`LimitError` if it or the total is over a limit.

        ``stored`` is the number of bytes the file really holds for it (compressed size), or
        None when the format stores the data as declared. ``chunk`` is the shape of the unit
        the format decompresses at once (HDF5 chunks), which a reader allocates whole even for
        a smaller array: the larger of the two is what counts.
        """
        lim = self.limits
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise LegacyconvError(f"{self.where}: array {name!r} has an unreadable dtype {dtype!r}") from None
        nbytes = declared_bytes(shape, dt)
        what = f"{self.where}: array {name!r} declares shape {tuple(int(s) for s in shape)} {dt} = {format_bytes(nbytes)}"
        if chunk is not None and declared_bytes(chunk, dt) > nbytes:
            nbytes = declared_bytes(chunk, dt)
            what += f" in chunks of {tuple(int(s) for s in chunk)} = {format_bytes(nbytes)}"
        if nbytes > lim.max_bytes:
            raise LimitError(f"{what}, over the limit of {format_bytes(lim.max_bytes)}; {_HINT_BYTES}")
        if self.used + nbytes > lim.max_bytes:
            raise LimitError(
                f"{what}, which brings the file to {format_bytes(self.used + nbytes)}, over the limit of "
                f"{format_bytes(lim.max_bytes)} for all arrays together; {_HINT_BYTES}"
            )
        if stored is not None and nbytes >= lim.ratio_floor and nbytes > lim.max_ratio * max(stored, 1):
            raise LimitError(
                f"{what} but stores only {format_bytes(stored)} (more than {lim.max_ratio:g} times "
                f"smaller: a compression or fill-value bomb?); {_HINT_RATIO}"
            )
        self.used += nbytes
        return nbytes


def check_feature_shape(shape: Sequence[Any], what: str, limits: ReadLimits | None = None) -> None:
    """Check a shape a model config declares (one sample, ``None`` = unknown) before anything is built.

    Every known size must be a positive integer, and one float32 sample must fit ``max_bytes``:
    a config can declare any padding, a file cannot make legacyconv allocate it.

    >>> check_feature_shape((3, 224, 224), "input")
    >>> check_feature_shape((3, 2 * 10**9 + 28, 28), "layer 'pad' output")
    Traceback (most recent call last):
    ...
    legacyconv.io.limits.LimitError: layer 'pad' output has shape (3, 2000000028, 28): 626 GiB of float32 per sample, over the limit of 4 GiB; raise it with --max-bytes, LEGACYCONV_MAX_BYTES or read_limits(max_bytes=...)
    """
    lim = resolve_limits(limits)
    if not all(
        s is None or (isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1) for s in shape
    ):
        raise LegacyconvError(f"{what} must be positive integers (or null). Received: {tuple(shape)!r}")
    nbytes = 4 * math.prod(int(s) for s in shape if s is not None)
    if nbytes > lim.max_bytes:
        raise LimitError(
            f"{what} has shape {tuple(shape)}: {format_bytes(nbytes)} of float32 per sample, over the limit "
            f"of {format_bytes(lim.max_bytes)}; {_HINT_BYTES}"
        )


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def check_json_text(data: bytes, what: str, limits: ReadLimits | None = None) -> None:
    """Refuse text (JSON or TOML) larger than ``max_text_bytes`` or nested deeper than ``max_nesting``
    brackets, before a recursive parser sees it.

    >>> check_json_text(b'{"a": [1, "]]]"]}', "spec")
    >>> check_json_text(b"[" * 500, "spec")
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: spec is nested 500 levels deep; at most 100 are allowed
    """
    lim = resolve_limits(limits)
    if len(data) > lim.max_text_bytes:
        raise LimitError(
            f"{what} is {format_bytes(len(data))}, over the limit of {format_bytes(lim.max_text_bytes)} for a text file"
        )
    if not data:
        return
    stripped = _JSON_STRING.sub(b'""', data)
    codes = np.frombuffer(stripped, dtype=np.uint8)
    steps = np.zeros(codes.shape, dtype=np.int64)
    steps[(codes == ord("[")) | (codes == ord("{"))] = 1
    steps[(codes == ord("]")) | (codes == ord("}"))] = -1
    depth = int(np.cumsum(steps).max(initial=0))
    if depth > lim.max_nesting:
        raise LegacyconvError(f"{what} is nested {depth} levels deep; at most {lim.max_nesting} are allowed")
