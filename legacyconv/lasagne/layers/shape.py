"""``lasagne.layers.shape``: layers that only move values (exact)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from ..utils import check_count, int_types, sequence_arg
from .base import Layer

__all__ = [
    "DimshuffleLayer",
    "FlattenLayer",
    "PadLayer",
    "ReshapeLayer",
    "SliceLayer",
    "dimshuffle",
    "flatten",
    "pad",
    "reshape",
]


class FlattenLayer(Layer):
    """Keep the first ``outdim - 1`` axes, flatten the rest in C order.

    >>> from legacyconv.lasagne.layers import InputLayer
    >>> FlattenLayer(InputLayer((None, 16, 24))).output_shape
    (None, 384)
    """

    def __init__(self, incoming: Any, outdim: int = 2, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.outdim = check_count(outdim, "outdim")

    def get_output_shape_for(self, input_shape: Any) -> Any:
        rest = input_shape[self.outdim - 1 :]
        flat = None if any(s is None for s in rest) else int(np.prod(rest))
        return tuple(input_shape[: self.outdim - 1]) + (flat,)

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        x = np.asarray(input)
        return x.reshape(x.shape[: self.outdim - 1] + (-1,))


flatten = FlattenLayer


class ReshapeLayer(Layer):
    """Reshape to ``shape``: ints, ``-1`` (at most one) and ``[i]`` (the input's axis ``i``).

    >>> from legacyconv.lasagne.layers import InputLayer
    >>> ReshapeLayer(InputLayer((None, 4, 4, 24)), ([0], 16, 24)).output_shape
    (None, 16, 24)
    """

    def __init__(self, incoming: Any, shape: Any, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        shape = sequence_arg(shape, "shape")
        for s in shape:
            if isinstance(s, int_types):
                if s == 0 or s < -1:
                    raise LegacyconvError(f"`shape` integers must be positive or -1. Received: shape={shape}")
            elif isinstance(s, list):
                if len(s) != 1 or not isinstance(s[0], int_types) or s[0] < 0:
                    raise LegacyconvError(
                        f"`shape` input references must be single-element lists of int >= 0. Received: shape={shape}"
                    )
            else:
                raise LegacyconvError(f"`shape` must be a tuple of int and/or [int]. Received: shape={shape}")
        if sum(1 for s in shape if isinstance(s, int_types) and s == -1) > 1:
            raise LegacyconvError(f"`shape` cannot contain multiple -1. Received: shape={shape}")
        self.shape = shape
        self.get_output_shape_for(self.input_shape)

    def get_output_shape_for(self, input_shape: Any, **kwargs: Any) -> Any:
        out = list(self.shape)
        masked_in = list(input_shape)
        masked_out = list(out)
        for dim, o in enumerate(out):
            if isinstance(o, list):
                if o[0] >= len(input_shape):
                    raise LegacyconvError(
                        f"specification contains [{o[0]}], but input shape has {len(input_shape)} dimensions only"
                    )
                out[dim] = masked_out[dim] = input_shape[o[0]]
                if input_shape[o[0]] is None and masked_in[o[0]] is None:
                    masked_in[o[0]] = 1
                    masked_out[dim] = 1
        in_size = None if any(v is None for v in masked_in) else int(np.prod(masked_in))
        out_size = None if any(v is None for v in masked_out) else int(np.prod(masked_out))
        if -1 in out:
            dim = out.index(-1)
            if in_size is None or out_size is None:
                out[dim] = None
                out_size = None
            else:
                out_size = -out_size
                out[dim] = in_size // out_size
                out_size *= out[dim]
        if in_size is not None and out_size is not None and in_size != out_size:
            raise LegacyconvError(
                f"{tuple(input_shape)} cannot be reshaped to specification {self.shape}: the total size mismatches"
            )
        return tuple(out)

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        x = np.asarray(input)
        shape = [x.shape[o[0]] if isinstance(o, list) else o for o in self.shape]
        try:
            return x.reshape(shape)
        except ValueError:
            raise LegacyconvError(
                f"ReshapeLayer {self.name!r}: an input of shape {x.shape} cannot be reshaped to "
                f"specification {self.shape}: the total size mismatches"
            ) from None


reshape = ReshapeLayer


class DimshuffleLayer(Layer):
    """Theano's ``dimshuffle``: a permutation of the axes, ``'x'`` inserts a size-1 axis, an
    axis left out must have size 1.

    >>> from legacyconv.lasagne.layers import InputLayer
    >>> DimshuffleLayer(InputLayer((None, 24, 4, 4)), (0, 2, 3, 1)).output_shape
    (None, 4, 4, 24)
    """

    def __init__(self, incoming: Any, pattern: Any, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        used: set[int] = set()
        pattern = sequence_arg(pattern, "pattern")
        for p in pattern:
            if isinstance(p, int_types):
                if p in used:
                    raise LegacyconvError(f"pattern contains dimension {p} more than once: pattern={pattern}")
                used.add(int(p))
            elif p != "x":
                raise LegacyconvError(f"pattern should only contain dimension indices or 'x', not {p!r}")
        self.pattern = pattern
        self.get_output_shape_for(self.input_shape)

    def get_output_shape_for(self, input_shape: Any) -> Any:
        out = []
        used = [False] * len(input_shape)
        for p in self.pattern:
            if isinstance(p, int_types):
                p = int(p)
                if p < 0 or p >= len(input_shape):
                    raise LegacyconvError(
                        f"pattern contains {p}, but input shape has {len(input_shape)} dimensions only"
                    )
                out.append(input_shape[p])
                used[p] = True
            else:
                out.append(1)
        for i, (size, u) in enumerate(zip(input_shape, used)):
            if not u and size != 1 and size is not None:
                raise LegacyconvError(
                    f"pattern {self.pattern} attempted to collapse dimension {i} of size {size}; only "
                    "dimensions of size 1 can be left out"
                )
        return tuple(out)

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        x = np.asarray(input)
        keep = [int(p) for p in self.pattern if p != "x"]
        dropped = tuple(i for i in range(x.ndim) if i not in keep)
        if any(x.shape[i] != 1 for i in dropped):
            raise LegacyconvError(
                f"dimshuffle {self.pattern} cannot drop axes of size != 1 of an input of shape {x.shape}"
            )
        order = sorted(keep)
        y = np.squeeze(x, axis=dropped) if dropped else x
        y = np.transpose(y, [order.index(p) for p in keep])
        for i, p in enumerate(self.pattern):
            if p == "x":
                y = np.expand_dims(y, i)
        return y


dimshuffle = DimshuffleLayer


def _widths(width: Any, n: int) -> list[tuple[int, int]]:
    """PadLayer's ``width`` as ``(before, after)`` pairs for (at most) ``n`` axes."""
    expected = (
        f"width must be an integer >= 0, or one integer or (before, after) pair of them per padded "
        f"axis (at most {n}). Received: width={width!r}"
    )
    if isinstance(width, int_types) and not isinstance(width, bool):
        items: list[Any] = [width] * n
    elif isinstance(width, (tuple, list)) and len(width) <= n:
        items = list(width)
    else:
        raise LegacyconvError(expected)
    out = []
    for w in items:
        pair = tuple(w) if isinstance(w, (tuple, list)) else (w, w)
        if len(pair) != 2 or not all(
            isinstance(p, int_types) and not isinstance(p, bool) and int(p) >= 0 for p in pair
        ):
            raise LegacyconvError(expected)
        out.append((int(pair[0]), int(pair[1])))
    return out


class PadLayer(Layer):
    """Pad the axes after ``batch_ndim`` with ``val``: ``width`` is an int, or one int or
    ``(before, after)`` pair per axis.

    >>> from legacyconv.lasagne.layers import InputLayer
    >>> PadLayer(InputLayer((None, 12, 16, 16)), width=[(2, 2), (1, 3)]).output_shape
    (None, 12, 20, 20)
    """

    def __init__(self, incoming: Any, width: Any, val: float = 0, batch_ndim: int = 2, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.batch_ndim = check_count(batch_ndim, "batch_ndim", minimum=0)
        _widths(width, len(self.input_shape) - self.batch_ndim)
        self.width = width
        self.val = val

    def get_output_shape_for(self, input_shape: Any) -> Any:
        shape = list(input_shape)
        for k, (lo, hi) in enumerate(_widths(self.width, len(shape) - self.batch_ndim)):
            if shape[k + self.batch_ndim] is not None:
                shape[k + self.batch_ndim] += lo + hi
        return tuple(shape)

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        x = np.asarray(input)
        widths = _widths(self.width, x.ndim - self.batch_ndim)
        full = [(0, 0)] * self.batch_ndim + widths + [(0, 0)] * (x.ndim - self.batch_ndim - len(widths))
        return np.pad(x, full, mode="constant", constant_values=self.val)


pad = PadLayer


class SliceLayer(Layer):
    """``x[..., indices, ...]`` along ``axis`` (an int index drops the axis).

    >>> from legacyconv.lasagne.layers import InputLayer
    >>> SliceLayer(InputLayer((None, 16, 7, 7)), slice(0, 8), axis=1).output_shape
    (None, 8, 7, 7)
    """

    def __init__(self, incoming: Any, indices: Any, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.slice = indices
        self.axis = axis

    def get_output_shape_for(self, input_shape: Any) -> Any:
        shape = list(input_shape)
        if isinstance(self.slice, int_types):
            del shape[self.axis]
        elif input_shape[self.axis] is not None:
            shape[self.axis] = len(range(*self.slice.indices(input_shape[self.axis])))
        else:
            shape[self.axis] = None
        return tuple(shape)

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        x = np.asarray(input)
        axis = self.axis % x.ndim
        return x[(slice(None),) * axis + (self.slice,)]
