"""Theano ``border_mode`` -> TensorFlow ``padding``, without shifting a single output pixel.

Theano pads symmetrically ('half' pads ``dilated_kernel // 2`` on *both* sides, 'full' pads
``dilated_kernel - 1``) or by explicit ``(low, high)`` amounts, then strides from the first
padded pixel. TF's ``'SAME'`` instead pads ``max((ceil(n / s) - 1) * s + dk - n, 0)`` in total and
puts the extra pixel at the bottom/right, so the amount at the top depends on the input size:
``'half'`` with stride 2 on an even-sized input starts one pixel later in TF's ``'SAME'``, and
with an even kernel TF pads one more pixel at the bottom than at the top. Every output is then
shifted. :func:`tf_padding` only returns ``'SAME'`` where it provably reads the same pixels as
Theano (it needs the input size for that), and explicit per-side padding otherwise.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Union

from ._errors import LegacyconvError
from ._params import (
    Pads,
    explicit_pads,
    normalize_border_mode,
    normalize_int_tuple,
)

__all__ = ["padding_pairs", "tf_padding", "tf_same_pads"]

#: What :func:`tf_padding` returns: ``'VALID'``, ``'SAME'``, or TF's explicit padding list
#: ``[[0, 0], [top, bottom], [left, right], [0, 0]]`` (one more pair in 3-D).
TFPadding = Union[str, list[list[int]]]


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _kernel(kernel_shape: Any) -> tuple[int, ...]:
    """Spatial kernel sizes from ``(rows, cols)``, ``(depth, rows, cols)`` or a full Theano filter
    shape ``(out, in, rows, cols)`` / ``(out, in, depth, rows, cols)``."""
    if (
        not isinstance(kernel_shape, (tuple, list))
        or len(kernel_shape) not in (2, 3, 4, 5)
        or not all(_is_int(k) and k >= 1 for k in kernel_shape)
    ):
        raise LegacyconvError(
            "kernel_shape must be the spatial kernel size (rows, cols) or (depth, rows, cols), or "
            "the full Theano filter shape (out, in, rows, cols) or (out, in, depth, rows, cols), "
            f"of positive integers. Received: kernel_shape={kernel_shape!r}"
        )
    spatial = kernel_shape[2:] if len(kernel_shape) > 3 else kernel_shape
    return tuple(int(k) for k in spatial)


def _input(input_shape: Any, nd: int) -> tuple[int | None, ...] | None:
    """Spatial input sizes from ``(rows, cols)`` or the full ``(batch, channels, rows, cols)``."""
    if input_shape is None:
        return None
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) not in (nd, nd + 2)
        or not all(s is None or (_is_int(s) and s >= 0) for s in input_shape)
    ):
        raise LegacyconvError(
            f"input_shape must be the {nd} spatial input sizes or the full Theano input shape "
            f"(batch, channels, *spatial) of {nd + 2} entries (None for unknown). "
            f"Received: input_shape={input_shape!r}"
        )
    spatial = input_shape[2:] if len(input_shape) == nd + 2 else input_shape
    return tuple(None if s is None else int(s) for s in spatial)


def _known(sizes: tuple[int | None, ...] | None) -> tuple[int, ...] | None:
    """``sizes`` if every entry is known, else None."""
    if sizes is None or any(n is None for n in sizes):
        return None
    return tuple(n for n in sizes if n is not None)


def padding_pairs(border_mode: Any, kernel_shape: Sequence[int], filter_dilation: Any = None) -> Pads:
    """The ``(low, high)`` zero padding Theano applies per spatial axis: ``((top, bottom),
    (left, right))`` in 2-D, ``((front, back), (top, bottom), (left, right))`` in 3-D.

    Parameters
    ----------
    border_mode : {'valid', 'full', 'half'}, int, tuple
        As in :func:`legacyconv.conv2d`.
    kernel_shape : tuple of int
        ``(rows, cols)``, ``(depth, rows, cols)`` or the full Theano filter shape.
    filter_dilation : int or tuple of int, optional
        Default 1 on every axis.

    Examples
    --------
    >>> padding_pairs("half", (3, 4))
    ((1, 1), (2, 2))
    >>> padding_pairs("full", (64, 3, 3, 3), filter_dilation=(2, 1))
    ((4, 4), (2, 2))
    >>> padding_pairs((1, (2, 0)), (3, 3))
    ((1, 1), (2, 0))
    """
    kernel = _kernel(kernel_shape)
    nd = len(kernel)
    dil = normalize_int_tuple(1 if filter_dilation is None else filter_dilation, nd, "filter_dilation")
    return explicit_pads(normalize_border_mode(border_mode, nd), kernel, dil)


def tf_same_pads(
    input_shape: Sequence[int],
    kernel_shape: Sequence[int],
    subsample: Any = None,
    filter_dilation: Any = None,
) -> Pads:
    """The ``(low, high)`` padding TensorFlow's ``padding='SAME'`` applies for this input size.

    ``total = max((ceil(n / s) - 1) * s + dilated_kernel - n, 0)``, ``low = total // 2``: the odd
    pixel goes to the bottom/right.

    >>> tf_same_pads((6, 7), (3, 3), subsample=(2, 2))  # Theano's 'half' pads (1, 1), (1, 1)
    ((0, 1), (1, 1))
    >>> tf_same_pads((5, 5), (4, 4))
    ((1, 2), (1, 2))
    """
    kernel = _kernel(kernel_shape)
    nd = len(kernel)
    sizes = _known(_input(input_shape, nd))
    if sizes is None:
        raise LegacyconvError(
            f"input_shape must give every spatial size. Received: input_shape={input_shape!r}"
        )
    strides = normalize_int_tuple(1 if subsample is None else subsample, nd, "subsample")
    dil = normalize_int_tuple(1 if filter_dilation is None else filter_dilation, nd, "filter_dilation")
    pads = []
    for n, k, s, d in zip(sizes, kernel, strides, dil):
        dk = (k - 1) * d + 1
        total = max((-(-n // s) - 1) * s + dk - n, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def tf_padding(
    border_mode: Any,
    kernel_shape: Sequence[int],
    subsample: Any = None,
    filter_dilation: Any = None,
    input_shape: Any = None,
) -> TFPadding:
    """TF's ``padding`` argument that reproduces a Theano ``border_mode`` exactly.

    Returns ``'VALID'`` when Theano pads nothing (or, for a known input size, nothing that
    reaches an output); ``'SAME'`` only when ``input_shape`` is given and TF's 'SAME' pads the
    same pixels at the top/left and yields the same output size on every axis; otherwise TF's
    explicit padding ``[[0, 0], [top, bottom], [left, right], [0, 0]]`` (accepted by
    ``tf.nn.conv2d``; for Keras use ``ZeroPadding2D`` and ``'valid'``). Without ``input_shape``
    it never returns ``'SAME'``.

    Parameters
    ----------
    border_mode : {'valid', 'full', 'half'}, int, tuple
        Theano's border mode, including asymmetric ``(low, high)`` pairs.
    kernel_shape : tuple of int
        ``(rows, cols)``, ``(depth, rows, cols)`` or the full Theano filter shape
        ``(out, in, rows, cols)`` / ``(out, in, depth, rows, cols)``.
    subsample, filter_dilation : int or tuple of int, optional
        Theano's strides and dilation; default 1 on every axis.
    input_shape : tuple, optional
        Spatial input sizes or the full Theano input shape ``(batch, channels, *spatial)``;
        ``None`` entries are unknown.

    Examples
    --------
    >>> tf_padding("valid", (3, 3))
    'VALID'
    >>> tf_padding("half", (3, 3), subsample=(2, 2))
    [[0, 0], [1, 1], [1, 1], [0, 0]]
    >>> tf_padding("half", (3, 3), subsample=(2, 2), input_shape=(7, 7))
    'SAME'
    >>> tf_padding("half", (3, 3), subsample=(2, 2), input_shape=(6, 6))  # 'SAME' would shift
    [[0, 0], [1, 1], [1, 1], [0, 0]]
    >>> tf_padding("full", (2, 2, 2))
    [[0, 0], [1, 1], [1, 1], [1, 1], [0, 0]]
    """
    kernel = _kernel(kernel_shape)
    nd = len(kernel)
    strides = normalize_int_tuple(1 if subsample is None else subsample, nd, "subsample")
    dil = normalize_int_tuple(1 if filter_dilation is None else filter_dilation, nd, "filter_dilation")
    pads = explicit_pads(normalize_border_mode(border_mode, nd), kernel, dil)
    sizes = _known(_input(input_shape, nd))
    explicit = [[0, 0], *([lo, hi] for lo, hi in pads), [0, 0]]
    if sizes is None:
        return "VALID" if all(p == (0, 0) for p in pads) else explicit

    valid = same = True
    same_pads = tf_same_pads(sizes, kernel, strides, dil)
    for n, k, (lo, hi), s, d, (same_lo, _) in zip(sizes, kernel, pads, strides, dil, same_pads):
        dk = (k - 1) * d + 1
        out = (n + lo + hi - dk) // s + 1
        if out < 1:
            raise LegacyconvError(
                f"impossible output shape: the (dilated) kernel {dk} is larger than the padded "
                f"input {n + lo + hi} (input_shape={input_shape!r}, kernel_shape={kernel_shape!r}, "
                f"border_mode={border_mode!r}, filter_dilation={dil})"
            )
        # The same first pixel and the same number of outputs read the same pixels; padding
        # that no output reaches does not matter.
        valid = valid and lo == 0 and n >= dk and (n - dk) // s + 1 == out
        same = same and lo == same_lo and -(-n // s) == out
    if valid:
        return "VALID"
    return "SAME" if same else explicit
