"""Names kept from legacyconv 0.1: Keras-1 geometry helpers and the refusal error.

Keras model files are read by :mod:`legacyconv.io.keras_model`; what each Keras-1 layer computed
on Theano is in :mod:`legacyconv.frontends.keras1` (one translator per layer class), and the
padding geometry Keras 1 and 2 share is :func:`legacyconv.frontends.keras_emit.conv_pads` /
:func:`~legacyconv.frontends.keras_emit.pool_pads`. The two functions here are thin views of
those, with the Keras-1 argument names.
"""

from __future__ import annotations

from .._errors import LegacyconvError, UnsupportedLayerError

__all__ = ["UnsupportedLayerError", "conv_pads_keras1", "pool_geometry_keras1"]


def conv_pads_keras1(
    n: int | None, kernel: int, border_mode: str, stride: int, dilation: int
) -> tuple[int, int]:
    """Explicit ``(low, high)`` zero padding that reproduces a Keras-1 Theano convolution on one axis.

    'valid' is no padding, 'full' is ``dilated_kernel - 1`` on both sides, and 'same' is
    Theano's 'half' (``dilated_kernel // 2`` on both sides) followed by Keras 1's crop to the
    first ``ceil(n / stride)`` outputs, which only removes padding at the high end.

    >>> conv_pads_keras1(12, 3, "same", 1, 1)   # odd kernel: plain 'half'
    (1, 1)
    >>> conv_pads_keras1(12, 4, "same", 1, 1)   # even kernel: 'half' pads 2, the crop undoes one
    (2, 1)
    >>> conv_pads_keras1(7, 4, "same", 2, 1)
    (2, 1)
    """
    from ..frontends.keras_emit import conv_pads

    if border_mode not in ("valid", "same", "full"):
        raise LegacyconvError(
            f"border_mode must be one of {{'valid', 'same', 'full'}}. Received: border_mode={border_mode!r}"
        )
    return conv_pads(n, kernel, border_mode, stride, dilation)


def pool_geometry_keras1(
    n: int | None, pool: int, border_mode: str, stride: int
) -> tuple[int, int | None, int]:
    """Theano ``pad``, Theano output size and crop of Keras-1 2-D pooling on one axis.

    >>> pool_geometry_keras1(12, 2, "valid", 2)
    (0, 6, 0)
    >>> pool_geometry_keras1(12, 2, "same", 2)   # pad 1: windows start at -1, 1, 3, ...
    (1, 7, 1)
    """
    from ..frontends.keras_emit import pool_pads

    if border_mode not in ("valid", "same"):
        raise LegacyconvError(
            f"pooling border_mode must be one of {{'valid', 'same'}}. Received: border_mode={border_mode!r}"
        )
    if n is None:
        if border_mode == "same" and stride != 1:
            raise LegacyconvError(
                "pooling with border_mode='same' and a stride needs a known input size: Keras 1 "
                f"cropped the output to ceil(n / stride). Received: n=None, stride={stride}"
            )
        pad = pool_pads(pool, pool, border_mode, 1)[0]
        return pad, None, 0 if border_mode == "valid" else 2 * pad - pool + 1
    pad, crop = pool_pads(n, pool, border_mode, stride)
    return pad, (n + 2 * pad - pool) // stride + 1, crop
