"""Split NumPy work that releases the GIL (copies, ufuncs) over the machine's cores.

BLAS already uses every core for the GEMMs; the im2col copies and the pooling passes are
NumPy loops that run on one core unless their rows are shared out. ``LEGACYCONV_NUM_THREADS``
caps the number of threads (default: the cores this process may use, at most 8).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

__all__ = ["num_threads", "parallel_blocks", "parallel_ranges"]

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def num_threads() -> int:
    """Threads used for NumPy loops: ``LEGACYCONV_NUM_THREADS``, else the usable cores (<= 8)."""
    env = os.environ.get("LEGACYCONV_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def parallel_ranges(n: int, fn: Callable[[int, int], None], min_items: int = 1) -> None:
    """Call ``fn(lo, hi)`` on contiguous parts of ``range(n)``, in parallel, and wait.

    Each part holds at least ``min_items`` items; the calling thread does the first part.
    ``fn`` must not call :func:`parallel_ranges` itself.

    >>> seen = []
    >>> parallel_ranges(10, lambda lo, hi: seen.append((lo, hi)))
    >>> sorted(seen)[0][0], sorted(seen)[-1][1], sum(hi - lo for lo, hi in seen)
    (0, 10, 10)
    """
    parts = min(num_threads(), n // max(min_items, 1))
    if parts <= 1:
        fn(0, n)
        return
    global _pool
    with _lock:
        if _pool is None or _pool._max_workers < parts - 1:
            _pool = ThreadPoolExecutor(max_workers=parts - 1, thread_name_prefix="legacyconv")
        pool = _pool
    bounds = [n * i // parts for i in range(parts + 1)]
    futures = [pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, parts)]
    try:
        fn(bounds[0], bounds[1])
    finally:
        for future in futures:
            future.result()


def parallel_blocks(n: int, fn: Callable[[Iterator[int]], None], min_blocks: int = 1) -> None:
    """Call ``fn(blocks)`` on as many threads as :func:`parallel_ranges` would use for ``n``
    items of ``min_blocks``, and wait; the threads' ``blocks`` iterators share ``range(n)``:
    each thread takes the next block whenever it is done with one, rather than a fixed share.
    On cores shared with other processes, a descheduled thread's fixed share held up the whole
    call (measured on 2 shared cores, 3x3 s2 average pooling: fixed halves done after 2.2 and
    5.9-9.5 ms). ``fn`` sets up its thread's work arrays, then loops over ``blocks``.

    >>> seen = []
    >>> parallel_blocks(10, lambda blocks: seen.extend(blocks))
    >>> sorted(seen) == list(range(10))
    True
    """
    claimed = itertools.count()
    lock = threading.Lock()

    def blocks() -> Iterator[int]:
        while True:
            with lock:
                i = next(claimed)
            if i >= n:
                return
            yield i

    parallel_ranges(n, lambda lo, hi: fn(blocks()), min_items=min_blocks)
