"""``lasagne.layers.merge``: concatenation and element-wise merges, with Lasagne's autocrop."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from .base import MergeLayer

__all__ = [
    "ConcatLayer",
    "ElemwiseMergeLayer",
    "ElemwiseSumLayer",
    "autocrop",
    "autocrop_array_shapes",
    "concat",
]

_CROPS = ("lower", "center", "upper")


def _check_crop(cr: Any) -> None:
    if cr not in _CROPS:
        raise LegacyconvError(f"unknown crop mode {cr!r}; expected one of {set(_CROPS)} or None")


def autocrop(inputs: list[np.ndarray], cropping: Any) -> list[np.ndarray]:
    """Crop arrays to their common (smallest) size along the axes ``cropping`` names."""
    if cropping is None:
        return inputs
    ndim = inputs[0].ndim
    if not all(x.ndim == ndim for x in inputs):
        raise LegacyconvError(
            f"not all inputs have the same number of dimensions: {[x.ndim for x in inputs]}"
        )
    cropping = list(cropping) + [None] * (ndim - len(cropping))
    slices: list[list[slice]] = [[] for _ in inputs]
    for dim, cr in enumerate(cropping):
        if cr is None:
            for s in slices:
                s.append(slice(None))
            continue
        _check_crop(cr)
        size = min(x.shape[dim] for x in inputs)
        for x, s in zip(inputs, slices):
            if cr == "lower":
                s.append(slice(None, size))
            elif cr == "upper":
                s.append(slice(x.shape[dim] - size, None))
            else:
                off = (x.shape[dim] - size) // 2
                s.append(slice(off, off + size))
    return [x[tuple(s)] for x, s in zip(inputs, slices)]


def autocrop_array_shapes(input_shapes: list[Any], cropping: Any) -> list[tuple[Any, ...]]:
    """The shapes :func:`autocrop` produces."""
    if cropping is None:
        return input_shapes
    ndim = len(input_shapes[0])
    if not all(len(s) == ndim for s in input_shapes):
        raise LegacyconvError(f"not all inputs have the same number of dimensions: {input_shapes}")
    cropping = list(cropping) + [None] * (ndim - len(cropping))
    result = []
    for sizes, cr in zip(zip(*input_shapes), cropping):
        if cr is None:
            result.append(list(sizes))
        else:
            _check_crop(cr)
            m = None if any(v is None for v in sizes) else min(sizes)
            result.append([m] * len(sizes))
    return [tuple(s) for s in zip(*result)]


class ConcatLayer(MergeLayer):
    """Concatenate along ``axis`` (default 1, the channels).

    >>> from legacyconv.lasagne.layers import InputLayer
    >>> ConcatLayer([InputLayer((None, 6, 16, 16)), InputLayer((None, 2, 16, 16))]).output_shape
    (None, 8, 16, 16)
    """

    def __init__(self, incomings: Any, axis: int = 1, cropping: Any = None, **kwargs: Any) -> None:
        super().__init__(incomings, **kwargs)
        self.axis = axis
        if cropping is not None:
            cropping = list(cropping)
            cropping[axis] = None
        self.cropping = cropping

    def get_output_shape_for(self, input_shapes: Any) -> Any:
        input_shapes = autocrop_array_shapes(input_shapes, self.cropping)
        out = [next((s for s in sizes if s is not None), None) for sizes in zip(*input_shapes)]
        axis = self.axis % len(out)

        def match(a: Any, b: Any) -> bool:
            return len(a) == len(b) and all(
                i == axis or x is None or y is None or x == y for i, (x, y) in enumerate(zip(a, b))
            )

        if not all(match(s, out) for s in input_shapes):
            raise LegacyconvError(
                f"mismatch: input shapes must be the same except in the concatenation axis {self.axis}: {input_shapes}"
            )
        sizes = [s[axis] for s in input_shapes]
        out[axis] = None if any(s is None for s in sizes) else sum(sizes)
        return tuple(out)

    def get_output_for(self, inputs: Any, **kwargs: Any) -> np.ndarray:  # type: ignore[override]
        return np.concatenate(autocrop([np.asarray(x) for x in inputs], self.cropping), axis=self.axis)


concat = ConcatLayer


class ElemwiseMergeLayer(MergeLayer):
    """Fold the inputs with ``merge_function`` (a binary NumPy function: ``np.multiply``,
    ``np.maximum`` … where Lasagne code passed ``T.mul``, ``T.maximum``)."""

    def __init__(self, incomings: Any, merge_function: Any, cropping: Any = None, **kwargs: Any) -> None:
        super().__init__(incomings, **kwargs)
        self.merge_function = merge_function
        self.cropping = cropping

    def get_output_shape_for(self, input_shapes: Any) -> Any:
        input_shapes = autocrop_array_shapes(input_shapes, self.cropping)
        out = tuple(next((s for s in sizes if s is not None), None) for sizes in zip(*input_shapes))

        def match(a: Any, b: Any) -> bool:
            return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))

        if not all(match(s, out) for s in input_shapes):
            raise LegacyconvError(f"mismatch: not all input shapes are the same: {input_shapes}")
        return out

    def get_output_for(self, inputs: Any, **kwargs: Any) -> np.ndarray:  # type: ignore[override]
        arrays = autocrop([np.asarray(x) for x in inputs], self.cropping)
        out = arrays[0]
        for x in arrays[1:]:
            out = self.merge_function(out, x)
        return out


class ElemwiseSumLayer(ElemwiseMergeLayer):
    """``sum(coeff_i * input_i)`` (a coefficient of 1 is not multiplied).

    >>> import numpy as np
    >>> from legacyconv.lasagne.layers import InputLayer
    >>> s = ElemwiseSumLayer([InputLayer((None, 2)), InputLayer((None, 2))], coeffs=[1, 0.5])
    >>> s.get_output_for([np.ones((1, 2)), np.ones((1, 2))])
    array([[1.5, 1.5]])
    """

    def __init__(self, incomings: Any, coeffs: Any = 1, cropping: Any = None, **kwargs: Any) -> None:
        super().__init__(incomings, np.add, cropping=cropping, **kwargs)
        if isinstance(coeffs, list):
            if len(coeffs) != len(incomings):
                raise LegacyconvError(f"mismatch: got {len(coeffs)} coeffs for {len(incomings)} incomings")
        else:
            coeffs = [coeffs] * len(incomings)
        self.coeffs = coeffs

    def get_output_for(self, inputs: Any, **kwargs: Any) -> np.ndarray:  # type: ignore[override]
        scaled = []
        for c, x in zip(self.coeffs, inputs):
            x = np.asarray(x)
            scaled.append(x * (x.dtype.type(c) if x.dtype.kind == "f" else c) if c != 1 else x)
        return super().get_output_for(scaled, **kwargs)
