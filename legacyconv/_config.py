"""Process-wide settings: the workspace limit, and the scratch memory kept under it.

The numpy engine's scratch buffers (im2col columns, padded copies, GEMM results before the
crop) are views of one flat per-thread buffer that is kept between calls: allocating tens of
megabytes afresh each call costs thousands of page faults, as much as the copies themselves.
The kept buffer never exceeds the workspace limit; setting the limit releases it.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator, Sequence

import numpy as np

from ._errors import LegacyconvError

__all__ = ["get_workspace_limit", "scratch", "set_workspace_limit", "workspace_limit"]

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
    _local.__dict__.clear()
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


_local = threading.local()
_ALIGN = 64


def scratch(shapes: Sequence[tuple[int, ...]], dtype: np.dtype) -> list[np.ndarray]:
    """Uninitialised C-contiguous arrays of the given shapes, carved from this thread's kept
    buffer (grown when needed). Valid until the next call of :func:`scratch` on this thread.

    >>> a, b = scratch([(2, 3), (4,)], np.dtype(np.float32))
    >>> a.shape, b.shape, np.shares_memory(a, b)
    ((2, 3), (4,), False)
    """
    dtype = np.dtype(dtype)
    sizes = [-(-math.prod(shape) * dtype.itemsize // _ALIGN) * _ALIGN for shape in shapes]
    total = sum(sizes) + _ALIGN
    buf = getattr(_local, "buffer", None)
    if buf is None or buf.nbytes < total:
        buf = np.empty(total, dtype=np.uint8)
        if total <= _limit:  # keep it for the next call
            _local.buffer = buf
    start = -buf.ctypes.data % _ALIGN
    arrays = []
    for shape, size in zip(shapes, sizes):
        count = math.prod(shape)
        arrays.append(buf[start : start + count * dtype.itemsize].view(dtype).reshape(shape))
        start += size
    return arrays
