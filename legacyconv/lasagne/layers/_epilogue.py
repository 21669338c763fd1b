"""``nonlinearity(out + b)``, the end of a convolution layer, in place on a result the layer owns.

Lasagne wrote ``self.nonlinearity(conved + b)``: in NumPy that is a new array for the sum and, for
``rectify`` (Theano's ``0.5 * (x + |x|)``), another for ``|x|``, each pass running over the
whole result in memory. Where ``out`` is a fresh engine result that nothing else holds, the
same operations run block by block in place instead, each block of planes (about
``_BLOCK_BYTES``) passing through all of them while it is in the cache. The arithmetic is the
same, operation for operation, so the bits are too.

Measured on GoogLeNet through the mirror (batch 8, 2 shared AVX2 EPYC cores): the bias adds
took 33 ms and the rectifiers 19 ms of a 400 ms pass, against the convolutions' 242; in place,
a pass took 330-332 ms instead of 339-348 (with ``get_output`` letting outputs go, three
processes each way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import nonlinearities

__all__ = ["bias_nonlinearity"]

#: Bytes of a block of planes taken through every step while it is in the cache (L2-sized).
_BLOCK_BYTES = 2**18


def bias_nonlinearity(
    out: np.ndarray, bias: np.ndarray | None, nonlinearity: Callable[[Any], Any], owned: bool
) -> Any:
    """``nonlinearity(out + bias)`` (``bias`` None for none), computed in ``out`` itself where
    ``owned`` says nothing else holds it and the sum keeps ``out``'s float dtype and shape; a
    ``bias`` must then be ``(1, channels or 1, ...)``, broadcasting over the batch."""
    if not (owned and _in_place_ok(out, bias)):
        return nonlinearity(out if bias is None else out + bias)
    relu = nonlinearity is nonlinearities.rectify
    if bias is None and not relu:
        return nonlinearity(out)
    n, channels = out.shape[:2]
    plane = max(1, out[0, 0].size)
    step = max(1, min(channels, _BLOCK_BYTES // (plane * out.itemsize)))
    work = np.empty(step * plane, dtype=out.dtype) if relu else None
    half = out.dtype.type(0.5)
    with np.errstate(over="ignore", invalid="ignore"):  # -inf + inf: nan, as in Theano
        for i in range(n):
            for c0 in range(0, channels, step):
                block = out[i, c0 : c0 + step]
                if bias is not None:
                    np.add(block, bias[0, c0 : c0 + step] if bias.shape[1] > 1 else bias[0], out=block)
                if work is not None:  # rectify: Theano's relu, |x| + x, times 0.5
                    tmp = work[: block.size].reshape(block.shape)
                    np.abs(block, out=tmp)
                    np.add(tmp, block, out=tmp)
                    np.multiply(tmp, half, out=block)
    return out if relu else nonlinearity(out)


def _in_place_ok(out: np.ndarray, bias: np.ndarray | None) -> bool:
    """``out`` is a writable C-contiguous float32/64 array of at least one channel axis, and
    ``out + bias`` has its dtype and shape, ``bias`` broadcasting over the batch."""
    if not (
        isinstance(out, np.ndarray)
        and out.dtype in (np.float32, np.float64)
        and out.ndim >= 2
        and out.flags.c_contiguous
        and out.flags.writeable
        and out.size
    ):
        return False
    if bias is None:
        return True
    return (
        isinstance(bias, np.ndarray)
        and bias.ndim == out.ndim
        and bias.shape[0] == 1
        and np.result_type(out, bias) == out.dtype
        and np.broadcast_shapes(out.shape, bias.shape) == out.shape
        and not np.may_share_memory(out, bias)
    )
