"""Normalise Theano-style convolution arguments once, and the output-shape arithmetic.

Every public op validates its arguments here, so each engine receives plain tuples:
explicit ``(low, high)`` padding per spatial axis, strides and dilations.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from typing import Any, Union

import numpy as np

from ._errors import LegacyconvError, LegacyconvTypeError

__all__ = [
    "BorderMode",
    "all_finite",
    "Pads",
    "as_array",
    "border_mode_to_pad",
    "check_bool",
    "check_broadcast",
    "check_conv_shapes",
    "check_filter_flip",
    "check_hint",
    "check_result_size",
    "check_kernel_sizes",
    "check_shape_helper_args",
    "compute_dtype",
    "conv_out_size",
    "explicit_pads",
    "get_conv_gradinputs_shape",
    "get_conv_gradinputs_shape_1axis",
    "get_conv_gradweights_shape",
    "get_conv_gradweights_shape_1axis",
    "get_conv_output_shape",
    "get_conv_shape_1axis",
    "normalize_border_mode",
    "normalize_int_tuple",
    "positive_int",
]

#: A normalised border mode: one of the three names, or one ``(low, high)`` pair per axis.
BorderMode = Union[str, tuple[tuple[int, int], ...]]
Pads = tuple[tuple[int, int], ...]

_NAMED_MODES = ("valid", "full", "half")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(value: Any, name: str) -> int:
    """Return ``value`` as an int, or raise naming ``name`` unless it is an integer >= 1."""
    if not _is_int(value) or value < 1:
        raise LegacyconvError(f"{name} must be a positive integer. Received: {name}={value!r}")
    return int(value)


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` as a bool, or raise naming ``name`` unless it is True or False.

    >>> check_bool("yes", "check")
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: check must be True or False. Received: check='yes'
    """
    if not isinstance(value, (bool, np.bool_)):
        raise LegacyconvError(f"{name} must be True or False. Received: {name}={value!r}")
    return bool(value)


def check_filter_flip(filter_flip: Any) -> bool:
    """Return ``filter_flip`` as a bool, or raise unless it is True or False."""
    return check_bool(filter_flip, "filter_flip")


def spatial_axes(nd: int) -> str:
    """The names of ``nd`` spatial axes in error messages.

    >>> spatial_axes(3)
    'depth, rows, cols'
    """
    return ", ".join(["depth", "rows", "cols"][3 - nd :])


def flip_spatial(array: np.ndarray) -> np.ndarray:
    """A view of ``array`` with every axis after the first two reversed (Theano's ``filter_flip``).

    >>> flip_spatial(np.arange(4).reshape(1, 1, 4))
    array([[[3, 2, 1, 0]]])
    """
    return array[(slice(None), slice(None)) + (slice(None, None, -1),) * (array.ndim - 2)]


def check_ndim(array: np.ndarray, name: str, ndim: int, layout: str) -> None:
    """Raise :class:`LegacyconvError` unless ``array`` (the argument ``name``) has ``ndim`` axes,
    naming the expected ``layout`` (e.g. ``'batch, channels, rows, cols'``)."""
    if array.ndim != ndim:
        raise LegacyconvError(
            f"{name} must be a {ndim}-d array ({layout}). Received: {name}.shape={array.shape}"
        )


def check_unshared(unshared: Any) -> None:
    """Raise NotImplementedError for Theano's ``unshared=True`` (locally connected convolution),
    LegacyconvError for a value that is not a truth value (Theano took ``bool(unshared)``)."""
    truth_value = isinstance(unshared, (bool, np.bool_)) or unshared is None
    if not (truth_value or (_is_int(unshared) and unshared in (0, 1))):
        raise LegacyconvError(f"unshared must be True or False. Received: unshared={unshared!r}")
    if unshared:
        raise NotImplementedError(
            "unshared=True (Theano's locally connected convolution) is not implemented in legacyconv."
        )


def check_kernel_sizes(shape: tuple[int, ...]) -> None:
    """Filters ``(out, in, *kernel)`` need every kernel size >= 1."""
    if any(k < 1 for k in shape[2:]):
        raise LegacyconvError(f"filters must have spatial sizes >= 1. Received: filters.shape={shape}")


def check_conv_shapes(
    input_shape: Sequence[int | None] | None,
    filters_shape: tuple[int, ...],
    pads: Pads,
    dilations: Sequence[int],
    groups: int,
    border_mode: Any,
    input_label: str = "input.shape",
) -> None:
    """Raise where Theano refused these shapes: filters or channels not divisible by ``groups``,
    images and kernel of different stack sizes, a (dilated) kernel larger than the padded input.

    ``input_shape`` is ``(batch, channels, *spatial)``; ``None`` (or a ``None`` entry) is
    unknown and not checked. ``input_label`` names it in messages. The eager ops and the Keras
    builders share these checks, so a builder never leaves a shape error to TensorFlow.

    >>> check_conv_shapes((None, 3, 2, 2), (1, 3, 3, 3), ((0, 0), (0, 0)), (1, 1), 1, "valid")
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: impossible output shape: the (dilated) kernel (3, 3) is larger than the padded input (2, 2) (input.shape=(None, 3, 2, 2), filters.shape=(1, 3, 3, 3), border_mode='valid', filter_dilation=(1, 1))
    """
    shape = None if input_shape is None else tuple(input_shape)
    channels = None if shape is None else shape[1]
    n_out = filters_shape[0]
    if channels is not None and channels % groups:
        raise LegacyconvError(
            f"input channels must be divisible by num_groups: {input_label}={shape} has "
            f"{channels} channels, num_groups={groups}"
        )
    if n_out % groups:
        raise LegacyconvError(
            f"number of filters must be divisible by num_groups: filters.shape={filters_shape} has "
            f"{n_out} filters, num_groups={groups}"
        )
    if channels is not None and channels != filters_shape[1] * groups:
        expects = (
            f"{filters_shape[1]}"
            if groups == 1
            else f"{filters_shape[1]} x num_groups={groups} = {filters_shape[1] * groups}"
        )
        raise LegacyconvError(
            f"images and kernel must have the same stack size: {input_label}={shape} has "
            f"{channels} channels, filters.shape={filters_shape} expects {expects}"
        )
    if shape is None:
        return
    kernel = filters_shape[2:]
    dilated = tuple((k - 1) * d + 1 for k, d in zip(kernel, dilations))
    if any(s is not None and s + p[0] + p[1] < dk for s, p, dk in zip(shape[2:], pads, dilated)):
        padded = tuple(None if s is None else s + p[0] + p[1] for s, p in zip(shape[2:], pads))
        raise LegacyconvError(
            f"impossible output shape: the (dilated) kernel {dilated} is larger than the padded "
            f"input {padded} ({input_label}={shape}, filters.shape={filters_shape}, "
            f"border_mode={border_mode!r}, filter_dilation={tuple(dilations)})"
        )


def normalize_int_tuple(value: Any, n: int, name: str, minimum: int = 1) -> tuple[int, ...]:
    """Return ``value`` as a tuple of ``n`` ints >= ``minimum`` (a lone int is repeated).

    >>> normalize_int_tuple((2, 1), 2, "subsample")
    (2, 1)
    >>> normalize_int_tuple(3, 2, "subsample")
    (3, 3)
    """
    if _is_int(value):
        value = (value,) * n
    if (
        not isinstance(value, (tuple, list))
        or len(value) != n
        or not all(_is_int(v) and v >= minimum for v in value)
    ):
        what = "positive integers" if minimum == 1 else f"integers >= {minimum}"
        raise LegacyconvError(f"{name} must be a tuple of {n} {what}. Received: {name}={value!r}")
    return tuple(int(v) for v in value)


def normalize_border_mode(border_mode: Any, n: int) -> BorderMode:
    """Validate a Theano ``border_mode`` for ``n`` spatial axes.

    Returns ``'valid'``, ``'full'`` or ``'half'``, or a tuple of ``n`` ``(low, high)`` pairs.
    Ints, per-axis ints and per-axis pairs (also mixed, like ``(1, (2, 0))``) are accepted;
    lists are read as tuples.

    >>> normalize_border_mode(1, 2)
    ((1, 1), (1, 1))
    >>> normalize_border_mode((1, (2, 0)), 2)
    ((1, 1), (2, 0))
    """
    if isinstance(border_mode, str):
        if border_mode in _NAMED_MODES:
            return border_mode
        hint = " (Theano's name for TF's 'same' is 'half')" if border_mode.lower() == "same" else ""
        raise LegacyconvError(
            f"border_mode must be one of {{'valid', 'full', 'half'}}, an integer, a tuple of {n} "
            f"integers or a tuple of {n} (low, high) pairs{hint}. Received: border_mode={border_mode!r}"
        )
    expected = (
        f"border_mode must be 'valid', 'full', 'half', a non-negative integer, a tuple of {n} "
        f"non-negative integers or a tuple of {n} (low, high) pairs of non-negative integers. "
        f"Received: border_mode={border_mode!r}"
    )
    if _is_int(border_mode):
        if border_mode < 0:
            raise LegacyconvError(expected)
        return ((int(border_mode), int(border_mode)),) * n
    if not isinstance(border_mode, (tuple, list)) or len(border_mode) != n:
        raise LegacyconvError(expected)
    pads = []
    for item in border_mode:
        if _is_int(item) and item >= 0:
            pads.append((int(item), int(item)))
        elif isinstance(item, (tuple, list)) and len(item) == 2 and all(_is_int(p) and p >= 0 for p in item):
            pads.append((int(item[0]), int(item[1])))
        else:
            raise LegacyconvError(expected)
    return tuple(pads)


def explicit_pads(border_mode: BorderMode, kernel: Sequence[int], dilation: Sequence[int]) -> Pads:
    """Turn a normalised border mode into ``(low, high)`` zero padding per axis.

    'half' and 'full' use the *dilated* kernel size, as Theano did.

    >>> explicit_pads("half", (3, 4), (1, 2))
    ((1, 1), (3, 3))
    """
    if not isinstance(border_mode, str):
        return border_mode
    pads = []
    for k, d in zip(kernel, dilation):
        dk = (k - 1) * d + 1
        p = {"valid": 0, "full": dk - 1, "half": dk // 2}[border_mode]
        pads.append((p, p))
    return tuple(pads)


def conv_out_size(size: int, kernel: int, pad: tuple[int, int], stride: int, dilation: int) -> int:
    """Output length of one axis: ``(size + low + high - dilated_kernel) // stride + 1``."""
    return (size + pad[0] + pad[1] - ((kernel - 1) * dilation + 1)) // stride + 1


def get_conv_shape_1axis(
    image_shape: int | None,
    kernel_shape: int | None,
    border_mode: Any,
    subsample: int | None,
    dilation: int | None = 1,
) -> int | None:
    """Theano's ``abstract_conv.get_conv_shape_1axis``: one axis, ``None`` passes through.

    >>> get_conv_shape_1axis(224, 11, "valid", 1)
    214
    """
    if (
        image_shape is None
        or kernel_shape is None
        or border_mode is None
        or subsample is None
        or dilation is None
    ):
        return None
    _shape_entries((image_shape, kernel_shape), "(image_shape, kernel_shape)")
    _shape_entries((subsample, dilation), "(subsample, dilation)", at_least=1)
    if not _border_entry_ok(border_mode):
        raise LegacyconvError(
            f"border_mode must be 'valid', 'full', 'half', an integer or a (low, high) pair. Received: border_mode={border_mode!r}"
        )
    dil_kernel = (kernel_shape - 1) * dilation + 1
    if border_mode == "half":
        pad_l = pad_r = dil_kernel // 2
    elif border_mode == "full":
        pad_l = pad_r = dil_kernel - 1
    elif border_mode == "valid":
        pad_l = pad_r = 0
    else:
        if isinstance(border_mode, (tuple, list)):
            pad_l, pad_r = border_mode
        else:
            pad_l = pad_r = border_mode
        if pad_l < 0 or pad_r < 0:
            raise LegacyconvError(f"border_mode must be >= 0. Received: border_mode={border_mode!r}")
    return (image_shape + pad_l + pad_r - dil_kernel) // subsample + 1


def _shape_entries(value: Any, name: str, length: int | None = None, at_least: int = 0) -> tuple[Any, ...]:
    """``value`` as a tuple of ints >= ``at_least`` or None, of ``length`` entries if given."""
    if not isinstance(value, (tuple, list)) or not all(v is None or _is_int(v) for v in value):
        raise LegacyconvTypeError(
            f"{name} must be a tuple of integers (None where unknown). Received: {name}={value!r}"
        )
    if length is not None and len(value) != length:
        raise LegacyconvError(
            f"{name} must have {length} entries, one per spatial axis. Received: {name}={value!r}"
        )
    if any(v is not None and v < at_least for v in value):
        raise LegacyconvError(f"{name} must hold integers >= {at_least}. Received: {name}={value!r}")
    return tuple(value)


def _border_entry_ok(mode: Any) -> bool:
    """One axis of a shape helper's border_mode: a name, an int, an int pair or None (unknown);
    negative pads are the helpers' own (Theano's) error."""
    if mode is None or _is_int(mode) or (isinstance(mode, str) and mode in _NAMED_MODES):
        return True
    return isinstance(mode, (tuple, list)) and len(mode) == 2 and all(_is_int(p) for p in mode)


def check_shape_helper_args(
    first: Any,
    first_name: str,
    second: Any,
    second_name: str,
    border_mode: Any,
    subsample: Any,
    filter_dilation: Any,
) -> int:
    """Validate the arguments of Theano's shape helpers (``get_conv_output_shape`` and the two
    gradient ones) and return the number of spatial axes. Theano checked nothing: malformed
    arguments gave Python's own errors from deep inside, or a result with too few axes (a
    ``subsample`` shorter than the image's axes). Values Theano computed with (None for unknown
    sizes, outputs that come out zero or negative) stay allowed.

    >>> check_shape_helper_args((2, 3, 8, 8), "image_shape", (4, 3, 3, 3), "kernel_shape", "valid", (1,), None)
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: subsample must have 2 entries, one per spatial axis. Received: subsample=(1,)
    """
    first_t = _shape_entries(first, first_name)
    if len(first_t) < 3:
        raise LegacyconvError(
            f"{first_name} must be (batch, channels, *spatial), at least 3 entries. Received: {first_name}={first!r}"
        )
    convdim = len(first_t) - 2
    second_t = _shape_entries(second, second_name)
    if len(second_t) < convdim + 2:
        raise LegacyconvError(
            f"{second_name} must have at least {convdim + 2} entries for the {convdim} spatial axes of "
            f"{first_name}={tuple(first)!r}. Received: {second_name}={second!r}"
        )
    _shape_entries(subsample, "subsample", convdim, at_least=1)
    if filter_dilation is not None:
        _shape_entries(filter_dilation, "filter_dilation", convdim, at_least=1)
    per_axis = isinstance(border_mode, (tuple, list))
    modes = tuple(border_mode) if per_axis else (border_mode,)
    if (per_axis and len(modes) != convdim) or not all(_border_entry_ok(m) for m in modes):
        raise LegacyconvError(
            f"border_mode must be 'valid', 'full', 'half', an integer or a tuple of {convdim} of those "
            f"or of (low, high) pairs. Received: border_mode={border_mode!r}"
        )
    return convdim


def get_conv_output_shape(
    image_shape: Sequence[int | None],
    kernel_shape: Sequence[int | None],
    border_mode: Any,
    subsample: Sequence[int],
    filter_dilation: Sequence[int] | None = None,
) -> tuple[int | None, ...]:
    """Theano's ``abstract_conv.get_conv_output_shape``, exactly.

    ``image_shape`` is ``(batch, channels, *spatial)`` and ``kernel_shape`` is
    ``(nkern, channels, *spatial)``; unknown (``None``) entries give ``None`` in the result.
    Like Theano, it does not reject sizes that come out zero or negative: ``conv2d`` does.
    Unlike Theano, it rejects malformed arguments (:func:`check_shape_helper_args`), naming them.

    >>> get_conv_output_shape((2, 3, 224, 224), (1, 3, 11, 11), "valid", (1, 1))
    (2, 1, 214, 214)
    >>> get_conv_output_shape((None, 3, 224, 224), (96, 3, 4, 4), "valid", (4, 4))
    (None, 96, 56, 56)
    """
    convdim = check_shape_helper_args(
        image_shape, "image_shape", kernel_shape, "kernel_shape", border_mode, subsample, filter_dilation
    )
    bsize, imshp = image_shape[0], tuple(image_shape[2:])
    nkern, kshp = kernel_shape[0], tuple(kernel_shape[-convdim:])
    if filter_dilation is None:
        filter_dilation = (1,) * len(subsample)
    if isinstance(border_mode, (tuple, list)):
        modes = tuple(border_mode)
    else:
        modes = (border_mode,) * len(subsample)
    out = tuple(
        get_conv_shape_1axis(imshp[i], kshp[i], modes[i], subsample[i], filter_dilation[i])
        for i in range(len(subsample))
    )
    return (bsize, nkern) + out


def _axis_pads(border_mode: Any, dil_kernel: int) -> tuple[int, int]:
    """``(low, high)`` padding of one axis for Theano's shape helpers (they validate nothing else)."""
    if border_mode == "half":
        return dil_kernel // 2, dil_kernel // 2
    if border_mode == "full":
        return dil_kernel - 1, dil_kernel - 1
    if border_mode == "valid":
        return 0, 0
    pad_l, pad_r = border_mode if isinstance(border_mode, (tuple, list)) else (border_mode, border_mode)
    if pad_l < 0 or pad_r < 0:
        raise LegacyconvError(f"border_mode must be >= 0. Received: border_mode={border_mode!r}")
    return pad_l, pad_r


def _per_axis(border_mode: Any, n: int) -> tuple[Any, ...]:
    return tuple(border_mode) if isinstance(border_mode, (tuple, list)) else (border_mode,) * n


def get_conv_gradweights_shape_1axis(
    image_shape: int | None,
    top_shape: int | None,
    border_mode: Any,
    subsample: int | None,
    dilation: int | None,
) -> int | float | None:
    """Theano's ``get_conv_gradweights_shape_1axis``: the kernel size of one axis, or ``None``
    where it cannot be known (unknown sizes, a stride above 1, or 'half').

    Like Theano under Python 3, a dilated size that does not divide evenly comes out as a
    float (Theano divided with ``/``).

    >>> get_conv_gradweights_shape_1axis(7, 5, "valid", 1, 1)
    3
    >>> get_conv_gradweights_shape_1axis(7, 3, "valid", 2, 1) is None
    True
    """
    if None in (image_shape, top_shape, border_mode, subsample, dilation):
        return None
    assert image_shape is not None and top_shape is not None and dilation is not None
    if subsample != 1 or border_mode == "half":
        return None
    if border_mode == "full":
        kernel: int | float = top_shape - image_shape
    elif border_mode == "valid":
        kernel = image_shape - top_shape
    else:
        pad_l, pad_r = _axis_pads(border_mode, 0)
        kernel = image_shape + pad_l + pad_r - top_shape
    if dilation > 1:
        kernel = kernel / dilation
        if float(kernel).is_integer():
            kernel = int(kernel)
    return kernel + 1


def get_conv_gradweights_shape(
    image_shape: Sequence[int | None],
    top_shape: Sequence[int | None],
    border_mode: Any,
    subsample: Sequence[int],
    filter_dilation: Sequence[int] | None = None,
    num_groups: int = 1,
    unshared: bool = False,
) -> tuple[Any, ...]:
    """Theano's ``abstract_conv.get_conv_gradweights_shape``: the filter shape that a
    gradient with respect to the weights has, ``None`` where it cannot be known.

    >>> get_conv_gradweights_shape((2, 3, 7, 7), (2, 4, 5, 5), "valid", (1, 1))
    (4, 3, 3, 3)
    >>> get_conv_gradweights_shape((2, 3, 7, 7), (2, 4, 3, 3), "valid", (2, 2))
    (4, 3, None, None)
    """
    check_shape_helper_args(
        image_shape, "image_shape", top_shape, "top_shape", border_mode, subsample, filter_dilation
    )
    nkern, imshp = image_shape[1], tuple(image_shape[2:])
    nchan, topshp = top_shape[1], tuple(top_shape[2:])
    if filter_dilation is None:
        filter_dilation = (1,) * len(subsample)
    if num_groups > 1 and nchan is not None:
        nchan = nchan // num_groups
    modes = _per_axis(border_mode, len(subsample))
    out = tuple(
        get_conv_gradweights_shape_1axis(imshp[i], topshp[i], modes[i], subsample[i], filter_dilation[i])
        for i in range(len(subsample))
    )
    if unshared:
        return (nchan,) + tuple(top_shape[2:]) + (nkern,) + out
    return (nchan, nkern) + out


def get_conv_gradinputs_shape_1axis(
    kernel_shape: int | None,
    top_shape: int | None,
    border_mode: Any,
    subsample: int | None,
    dilation: int | None,
) -> int | None:
    """Theano's ``get_conv_gradinputs_shape_1axis``: the image size of one axis, or ``None``
    where it cannot be known (unknown sizes, or a stride above 1: then several image sizes
    give the same output).

    >>> get_conv_gradinputs_shape_1axis(3, 5, "valid", 1, 1)
    7
    >>> get_conv_gradinputs_shape_1axis(3, 5, "valid", 2, 1) is None
    True
    """
    if None in (kernel_shape, top_shape, border_mode, subsample, dilation):
        return None
    assert kernel_shape is not None and top_shape is not None and dilation is not None
    if subsample != 1:
        return None
    dil_kernel = (kernel_shape - 1) * dilation + 1
    pad_l, pad_r = _axis_pads(border_mode, dil_kernel)
    return top_shape + dil_kernel - 1 - pad_l - pad_r


def get_conv_gradinputs_shape(
    kernel_shape: Sequence[int | None],
    top_shape: Sequence[int | None],
    border_mode: Any,
    subsample: Sequence[int],
    filter_dilation: Sequence[int] | None = None,
    num_groups: int = 1,
) -> tuple[int | None, ...]:
    """Theano's ``abstract_conv.get_conv_gradinputs_shape``: the image shape a gradient with
    respect to the inputs has, ``None`` where it cannot be known.

    >>> get_conv_gradinputs_shape((4, 3, 3, 3), (2, 4, 5, 5), "valid", (1, 1))
    (2, 3, 7, 7)
    >>> get_conv_gradinputs_shape((4, 3, 3, 3), (2, 4, 5, 5), "half", (2, 1))
    (2, 3, None, 5)
    """
    convdim = check_shape_helper_args(
        top_shape, "top_shape", kernel_shape, "kernel_shape", border_mode, subsample, filter_dilation
    )
    bsize, topshp = top_shape[0], tuple(top_shape[2:])
    nkern, kshp = kernel_shape[1], tuple(kernel_shape[-convdim:])
    if filter_dilation is None:
        filter_dilation = (1,) * len(subsample)
    if num_groups > 1 and nkern is not None:
        nkern = nkern * num_groups
    modes = _per_axis(border_mode, len(subsample))
    out = tuple(
        get_conv_gradinputs_shape_1axis(kshp[i], topshp[i], modes[i], subsample[i], filter_dilation[i])
        for i in range(len(subsample))
    )
    return (bsize, nkern) + out


def border_mode_to_pad(mode: Any, convdim: int, kshp: Sequence[int]) -> Pads:
    """Theano's ``abstract_conv.border_mode_to_pad``: ``(low, high)`` padding per axis.

    ``kshp`` is the (dilated) kernel size per axis. Raises :class:`LegacyconvError` where
    Theano raised ValueError, and NotImplementedError for a pair that is not of length 2, as
    Theano did.

    >>> border_mode_to_pad("half", 2, (3, 5))
    ((1, 1), (2, 2))
    >>> border_mode_to_pad((1, (2, 0)), 2, (3, 3))
    ((1, 1), (2, 0))
    """
    if isinstance(mode, tuple):
        if len(mode) != convdim:
            raise LegacyconvError(
                f"border_mode must be a tuple of length {convdim}. Received: border_mode={mode!r}"
            )
        border: list[tuple[int, int]] = []
        for m in mode:
            if _is_int(m) and m >= 0:
                border.append((int(m), int(m)))
            elif isinstance(m, tuple) and m and all(_is_int(b) for b in m) and min(m) >= 0:
                if len(m) != 2:
                    raise NotImplementedError(f"Asymmetric padding not implemented for {len(m)}d")
                border.append((int(m[0]), int(m[1])))
            else:
                raise LegacyconvError(
                    "border_mode tuples can only contain non-negative integers or (low, high) pairs "
                    f"of them. Received: border_mode={mode!r}"
                )
        return tuple(border)
    if mode in _NAMED_MODES:
        return explicit_pads(mode, tuple(kshp[:convdim]), (1,) * convdim)
    raise LegacyconvError(
        "border_mode must be one of {'valid', 'full', 'half'}, an integer or a tuple of length "
        f"{convdim}. Received: border_mode={mode!r}"
    )


def as_array(value: Any, name: str) -> np.ndarray:
    """Return ``value`` as an ndarray of a real numeric dtype in native byte order (a big-endian
    array is copied, so results are native too), or raise :class:`LegacyconvTypeError` (a
    ``TypeError``, as Theano raised) naming it.

    >>> as_array(np.ones(2, ">f4"), "input").dtype.isnative
    True
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise LegacyconvTypeError(
            f"{name} must be a real numeric array; could not convert it: {exc}"
        ) from None
    if arr.dtype.kind not in "biuf":
        raise LegacyconvTypeError(
            f"{name} must have a real numeric dtype (bool, int or float). "
            f"Received: {name}.dtype={arr.dtype} with shape {arr.shape}"
        )
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def check_broadcast(a: np.ndarray, a_name: str, b: np.ndarray, b_name: str) -> None:
    """Raise naming both arguments unless the shapes of ``a`` and ``b`` broadcast together (an
    elementwise op of two inputs; Theano raised at run time, NumPy deep inside the ufunc).

    >>> check_broadcast(np.ones((2, 3)), "output", np.ones(2), "target")
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: output and target must have shapes that broadcast together. Received: output.shape=(2, 3), target.shape=(2,)
    """
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise LegacyconvError(
            f"{a_name} and {b_name} must have shapes that broadcast together. "
            f"Received: {a_name}.shape={a.shape}, {b_name}.shape={b.shape}"
        ) from None


def all_finite(*arrays: np.ndarray) -> bool:
    """True if no array holds a NaN or an infinity (integer arrays always qualify)."""
    return all(a.dtype.kind not in "fc" or bool(np.isfinite(a).all()) for a in arrays)


def _memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # no sysconf: only NumPy's own bound applies
        return 1 << 62


def check_result_size(shape: Sequence[int], dtype: Any, what: str, given: str) -> None:
    """Refuse, before allocating it, a result larger than this machine's physical memory.

    ``what`` names the result and ``given`` the arguments it came from (shapes included), so that
    the error says which call asked for it.

    >>> shape = (1, 1, 2 * 10**12 + 2, 2 * 10**12 + 2)
    >>> check_result_size(shape, np.float32, "conv2d output", "border_mode=10**12")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: conv2d output would have shape (1, 1, 2000000000002, 2000000000002) ...
    """
    elements = math.prod(int(s) for s in shape)
    nbytes = elements * np.dtype(dtype).itemsize
    memory = _memory_bytes()
    if nbytes > memory:
        raise LegacyconvError(
            f"{what} would have shape {tuple(int(s) for s in shape)} ({nbytes / 2**30:.3g} GiB of "
            f"{np.dtype(dtype)}), more than this machine's {memory / 2**30:.3g} GiB of memory: {given}"
        )


def compute_dtype(*arrays: np.ndarray) -> tuple[np.dtype, np.dtype]:
    """Return ``(compute dtype, result dtype)`` for the given arrays.

    The result dtype is NumPy's promotion of the *floating* arrays: float32 with float32 gives
    float32, anything with float64 gives float64. Integer and bool arrays take the dtype of the
    floating ones, or float64 when no array is floating. float16 is computed in float32 and
    returned as float16; longer floats are computed in float64.

    >>> compute_dtype(np.zeros(1, np.float32), np.zeros(1, np.int64))
    (dtype('float32'), dtype('float32'))
    """
    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    result = np.result_type(*floats) if floats else np.dtype(np.float64)
    if result == np.float16:
        return np.dtype(np.float32), result
    if result.itemsize > 8:  # long double: BLAS has no kernel for it
        return np.dtype(np.float64), result
    return result, result


def check_hint(hint: Any, actual: tuple[int, ...], hint_name: str, array_name: str) -> None:
    """Check a Theano shape hint (``None`` entries allowed) against the array's real shape."""
    if hint is None:
        return
    if not isinstance(hint, (tuple, list)) or not all(h is None or _is_int(h) for h in hint):
        raise LegacyconvError(
            f"{hint_name} must be a tuple of {len(actual)} integers or None. Received: {hint_name}={hint!r}"
        )
    if len(hint) != len(actual) or any(h is not None and h != a for h, a in zip(hint, actual)):
        raise LegacyconvError(
            f"shape hint does not match the array: {hint_name}={tuple(hint)!r} but "
            f"{array_name}.shape={actual!r}"
        )
