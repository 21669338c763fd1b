"""``lasagne.layers.pool``: pooling, upscaling and global pooling on :func:`legacyconv.pool_2d`.

``Pool1DLayer`` pools ``(batch, channels, length)`` as a ``(length, 1)`` window, as Lasagne did;
``Pool3DLayer`` calls :func:`legacyconv.pool_3d` (Theano's ``pool_3d``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import LegacyconvError, LegacyconvTypeError
from ...pool import pool_2d
from ...pool3d import pool_3d
from ..utils import as_tuple, int_types
from .base import Layer

__all__ = [
    "FeaturePoolLayer",
    "FeatureWTALayer",
    "GlobalPoolLayer",
    "MaxPool1DLayer",
    "MaxPool2DLayer",
    "MaxPool3DLayer",
    "Pool1DLayer",
    "Pool2DLayer",
    "Pool3DLayer",
    "Upscale1DLayer",
    "Upscale2DLayer",
    "Upscale3DLayer",
    "pool_output_length",
]


def pool_output_length(input_length: Any, pool_size: Any, stride: int, pad: int, ignore_border: bool) -> Any:
    """Lasagne's pooled length along one axis (None stays None).

    >>> pool_output_length(7, 3, 2, 0, False), pool_output_length(7, 3, 2, 0, True)
    (3, 3)
    """
    if input_length is None or pool_size is None:
        return None
    if ignore_border:
        length = input_length + 2 * pad - pool_size + 1
        return (length + stride - 1) // stride
    if pad != 0:
        raise LegacyconvError(f"pooling with ignore_border=False cannot pad. Received: pad={pad}")
    if stride >= pool_size:
        return (input_length + stride - 1) // stride
    return max(0, (input_length - pool_size + stride - 1) // stride) + 1


def _pool_window(pool_size: Any, stride: Any, n: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """A pooling layer's ``(pool_size, stride)`` as ``n``-tuples; ``stride=None`` is the window.

    >>> _pool_window(3, None, 2), _pool_window((3, 2), 1, 2)
    (((3, 3), (3, 3)), ((3, 2), (1, 1)))
    """
    size = as_tuple(pool_size, n)
    return size, size if stride is None else as_tuple(stride, n)


class _PoolNDLayer(Layer):
    n = 2

    def __init__(
        self,
        incoming: Any,
        pool_size: Any,
        stride: Any = None,
        pad: Any = 0,
        ignore_border: bool = True,
        mode: str = "max",
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, **kwargs)
        n = self.n
        if len(self.input_shape) != n + 2:
            raise LegacyconvError(
                f"tried to create a {n}D pooling layer with input shape {self.input_shape}: expected "
                f"{n + 2} input dimensions (batchsize, channels, {n} spatial dimensions)"
            )
        self.pool_size, self.stride = _pool_window(pool_size, stride, n)
        self.pad = as_tuple(pad, n)
        self.ignore_border = ignore_border
        self.mode = mode

    def get_output_shape_for(self, input_shape: Any) -> Any:
        shape = list(input_shape)
        for axis in range(self.n):
            shape[2 + axis] = pool_output_length(
                input_shape[2 + axis],
                self.pool_size[axis],
                self.stride[axis],
                self.pad[axis],
                self.ignore_border,
            )
        return tuple(shape)

    def get_output_for(self, input: Any, backend: str = "numpy", **kwargs: Any) -> np.ndarray:
        x = np.asarray(input)
        if self.n == 1:  # Lasagne: a (length, 1) window over the input with a unit axis appended
            pooled = pool_2d(
                x[..., None],
                ws=(self.pool_size[0], 1),
                ignore_border=self.ignore_border,
                stride=(self.stride[0], 1),
                pad=(self.pad[0], 0),
                mode=self.mode,
                backend=backend,
            )
            return pooled[..., 0]
        pool = pool_2d if self.n == 2 else pool_3d
        return pool(
            x,
            ws=self.pool_size,
            ignore_border=self.ignore_border,
            stride=self.stride,
            pad=self.pad,
            mode=self.mode,
            backend=backend,
        )


class Pool1DLayer(_PoolNDLayer):
    """Pooling of ``(batch, channels, length)``."""

    n = 1

    def __init__(
        self,
        incoming: Any,
        pool_size: Any,
        stride: Any = None,
        pad: Any = 0,
        ignore_border: bool = True,
        mode: str = "max",
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)


class Pool2DLayer(_PoolNDLayer):
    """Pooling of NCHW images (:func:`legacyconv.pool_2d`): modes 'max', 'sum',
    'average_inc_pad', 'average_exc_pad'; ``ignore_border=False`` keeps partial windows.

    >>> from legacyconv.lasagne.layers import InputLayer
    >>> Pool2DLayer(InputLayer((None, 8, 7, 7)), 3, stride=2, ignore_border=False).output_shape
    (None, 8, 3, 3)
    """

    n = 2

    def __init__(
        self,
        incoming: Any,
        pool_size: Any,
        stride: Any = None,
        pad: Any = (0, 0),
        ignore_border: bool = True,
        mode: str = "max",
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)


class Pool3DLayer(_PoolNDLayer):
    """Pooling of NCDHW volumes (Theano's ``pool_3d``)."""

    n = 3

    def __init__(
        self,
        incoming: Any,
        pool_size: Any,
        stride: Any = None,
        pad: Any = (0, 0, 0),
        ignore_border: bool = True,
        mode: str = "max",
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)


class MaxPool1DLayer(Pool1DLayer):
    def __init__(
        self,
        incoming: Any,
        pool_size: Any,
        stride: Any = None,
        pad: Any = 0,
        ignore_border: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class MaxPool2DLayer(Pool2DLayer):
    def __init__(
        self,
        incoming: Any,
        pool_size: Any,
        stride: Any = None,
        pad: Any = (0, 0),
        ignore_border: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class MaxPool3DLayer(Pool3DLayer):
    def __init__(
        self,
        incoming: Any,
        pool_size: Any,
        stride: Any = None,
        pad: Any = (0, 0, 0),
        ignore_border: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class _UpscaleLayer(Layer):
    n = 2

    def __init__(self, incoming: Any, scale_factor: Any, mode: str = "repeat", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.scale_factor = as_tuple(scale_factor, self.n)
        if not all(isinstance(s, int_types) for s in self.scale_factor):  # Theano's repeat: ints
            raise LegacyconvTypeError(
                f"scale_factor must be an integer or {self.n} integers. Received: scale_factor={scale_factor!r}"
            )
        if any(s < 1 for s in self.scale_factor):
            raise LegacyconvError(f"scale factor must be >= 1, not {self.scale_factor}")
        if mode not in ("repeat", "dilate"):
            raise LegacyconvError(f"mode must be either 'repeat' or 'dilate', not {mode!r}")
        self.mode = mode

    def get_output_shape_for(self, input_shape: Any) -> Any:
        shape = list(input_shape)
        for axis, s in enumerate(self.scale_factor):
            if shape[2 + axis] is not None:
                shape[2 + axis] *= s
        return tuple(shape)

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        x = np.asarray(input)
        if self.mode == "repeat":
            for axis in reversed(range(self.n)):
                if self.scale_factor[axis] > 1:
                    x = np.repeat(x, self.scale_factor[axis], axis=2 + axis)
            return x
        out = np.zeros(self.get_output_shape_for(x.shape), dtype=x.dtype)
        out[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in self.scale_factor)] = x
        return out


class Upscale1DLayer(_UpscaleLayer):
    """Repeat (or dilate with zeros) the last axis of ``(batch, channels, length)``."""

    n = 1


class Upscale2DLayer(_UpscaleLayer):
    """Repeat each pixel ``scale_factor`` times (``mode='dilate'``: put zeros in between).

    >>> import numpy as np
    >>> from legacyconv.lasagne.layers import InputLayer
    >>> Upscale2DLayer(InputLayer((None, 1, 1, 2)), 2).get_output_for(np.array([[[[1, 2]]]]))[0, 0]
    array([[1, 1, 2, 2],
           [1, 1, 2, 2]])
    """

    n = 2


class Upscale3DLayer(_UpscaleLayer):
    """:class:`Upscale2DLayer` in three dimensions."""

    n = 3


class FeaturePoolLayer(Layer):
    """Pool groups of ``pool_size`` consecutive features along ``axis`` with ``pool_function``
    (a NumPy reduction taking ``axis=``, default ``np.max``)."""

    def __init__(
        self, incoming: Any, pool_size: int, axis: int = 1, pool_function: Any = np.max, **kwargs: Any
    ) -> None:
        super().__init__(incoming, **kwargs)
        self.pool_size = pool_size
        self.axis = axis
        self.pool_function = pool_function
        n = self.input_shape[axis]
        if n is not None and n % pool_size:
            raise LegacyconvError(
                f"the number of input feature maps ({n}) is not a multiple of the pool size (pool_size={pool_size})"
            )

    def get_output_shape_for(self, input_shape: Any) -> Any:
        shape = list(input_shape)
        if shape[self.axis] is not None:
            shape[self.axis] = shape[self.axis] // self.pool_size
        return tuple(shape)

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        x = np.asarray(input)
        axis = self.axis % x.ndim
        shape = x.shape[:axis] + (x.shape[axis] // self.pool_size, self.pool_size) + x.shape[axis + 1 :]
        return self.pool_function(x.reshape(shape), axis=axis + 1)


class FeatureWTALayer(Layer):
    """Winner-take-all over groups of ``pool_size`` features: keep the first maximum of each
    group, zero the rest."""

    def __init__(self, incoming: Any, pool_size: int, axis: int = 1, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.pool_size = pool_size
        self.axis = axis
        n = self.input_shape[axis]
        if n is not None and n % pool_size:
            raise LegacyconvError(
                f"the number of input feature maps ({n}) is not a multiple of the region size (pool_size={pool_size})"
            )

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        x = np.asarray(input)
        axis = self.axis % x.ndim
        shape = x.shape[:axis] + (x.shape[axis] // self.pool_size, self.pool_size) + x.shape[axis + 1 :]
        grouped = x.reshape(shape)
        winner = np.argmax(grouped, axis=axis + 1)
        idx = np.arange(self.pool_size).reshape((1,) * (axis + 1) + (-1,) + (1,) * (x.ndim - axis - 1))
        mask = np.expand_dims(winner, axis + 1) == idx
        return x * mask.reshape(x.shape).astype(x.dtype)


class GlobalPoolLayer(Layer):
    """Pool every spatial position of each channel: ``pool_function(x.reshape(n, c, -1), axis=2)``
    (default ``np.mean``; Lasagne's ``T.mean``, ``T.max`` … are NumPy's ``mean``, ``max`` …).

    >>> import numpy as np
    >>> from legacyconv.lasagne.layers import InputLayer
    >>> GlobalPoolLayer(InputLayer((None, 2, 3, 3))).get_output_for(np.ones((1, 2, 3, 3)))
    array([[1., 1.]])
    """

    def __init__(self, incoming: Any, pool_function: Any = np.mean, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.pool_function = pool_function

    def get_output_shape_for(self, input_shape: Any) -> Any:
        return tuple(input_shape[:2])

    def get_output_for(self, input: Any, **kwargs: Any) -> np.ndarray:
        x = np.asarray(input)
        return self.pool_function(x.reshape(x.shape[:2] + (-1,)), axis=2)
