"""``lasagne.layers.conv``: convolution layers on legacyconv's engines.

``Conv1D/2D/3DLayer`` call :func:`legacyconv.conv2d`/:func:`legacyconv.conv3d` with Lasagne's
arguments (``pad='same'`` is Theano's ``'half'``, ``flip_filters`` is ``filter_flip``);
``TransposedConv2D/3DLayer`` are the gradient of such a convolution with ``W`` of shape
``(in, out, *kernel)`` (:func:`legacyconv.conv2d_transpose`), ``DilatedConv2DLayer`` a valid
dilated cross-correlation with ``W`` of shape ``(in, out, rows, cols)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from ...conv import conv2d, conv3d
from ...transpose import prepare_transpose, run_transpose
from .. import nonlinearities
from ..utils import as_tuple, check_count, check_nonlinearity, int_types
from ._epilogue import bias_nonlinearity
from .base import GLOROT_UNIFORM, ZEROS, Layer, broadcast_param, param_value

__all__ = [
    "Conv1DLayer",
    "Conv2DLayer",
    "Conv3DLayer",
    "Deconv2DLayer",
    "Deconv3DLayer",
    "DilatedConv2DLayer",
    "TransposedConv2DLayer",
    "TransposedConv3DLayer",
    "conv_input_length",
    "conv_output_length",
]


def conv_output_length(input_length: Any, filter_size: int, stride: int, pad: Any = 0) -> Any:
    """Lasagne's output length of a convolution along one axis (None stays None).

    >>> conv_output_length(32, 5, 2, "valid"), conv_output_length(7, 3, 1, "same")
    (14, 7)
    """
    if input_length is None:
        return None
    if pad == "valid":
        length = input_length - filter_size + 1
    elif pad == "full":
        length = input_length + filter_size - 1
    elif pad == "same":
        length = input_length
    elif isinstance(pad, int_types):
        length = input_length + 2 * pad - filter_size + 1
    else:
        raise LegacyconvError(f"invalid pad: {pad!r}")
    return (length + stride - 1) // stride


def conv_input_length(output_length: Any, filter_size: int, stride: int, pad: Any = 0) -> Any:
    """The input length a convolution maps to ``output_length`` (a transposed conv's output).

    >>> conv_input_length(8, 4, 2, 1)
    16
    """
    if output_length is None:
        return None
    if pad == "valid":
        pad = 0
    elif pad == "full":
        pad = filter_size - 1
    elif pad == "same":
        pad = filter_size // 2
    if not isinstance(pad, int_types):
        raise LegacyconvError(f"invalid pad: {pad!r}")
    return (output_length - 1) * stride - 2 * pad + filter_size


def _conv_shape(layer: BaseConvLayer, input_shape: Any, length: Any, pad: Any) -> Any:
    """``(batch, num_filters, *spatial)`` with each spatial length ``length(i, f, s, p)`` of the
    layer's filter size, stride and ``pad`` (``'full'``/``'same'`` stand for every axis)."""
    pad = pad if isinstance(pad, tuple) else (pad,) * layer.n
    return (input_shape[0], layer.num_filters) + tuple(
        length(i, f, s, p) for i, f, s, p in zip(input_shape[2:], layer.filter_size, layer.stride, pad)
    )


class BaseConvLayer(Layer):
    """What every convolution layer shares: arguments, ``W``/``b``, bias and nonlinearity."""

    def __init__(
        self,
        incoming: Any,
        num_filters: int,
        filter_size: Any,
        stride: Any = 1,
        pad: Any = 0,
        untie_biases: bool = False,
        W: Any = GLOROT_UNIFORM,
        b: Any = ZEROS,
        nonlinearity: Any = nonlinearities.rectify,
        flip_filters: bool = True,
        num_groups: int = 1,
        n: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = check_nonlinearity(nonlinearity)
        if n is None:
            n = len(self.input_shape) - 2
        elif n != len(self.input_shape) - 2:
            raise LegacyconvError(
                f"tried to create a {n}D convolution layer with input shape {self.input_shape}: expected "
                f"{n + 2} input dimensions (batchsize, channels, {n} spatial dimensions)"
            )
        self.n = n
        self.num_filters = num_filters = check_count(num_filters, "num_filters")
        self.filter_size = as_tuple(filter_size, n, int_types)
        self.flip_filters = flip_filters
        self.stride = as_tuple(stride, n, int_types)
        self.untie_biases = untie_biases
        if pad == "same" and any(s % 2 == 0 for s in self.filter_size):
            raise NotImplementedError("`same` padding requires odd filter size (as in Lasagne).")
        if pad == "valid":
            self.pad: Any = as_tuple(0, n)
        elif pad in ("full", "same"):
            self.pad = pad
        else:
            self.pad = as_tuple(pad, n, int_types)
        if num_groups <= 0 or num_filters % num_groups or self.input_shape[1] % num_groups:
            raise LegacyconvError(
                f"num_groups (here: {num_groups}) must be positive and evenly divide the number of input "
                f"and output channels (here: {self.input_shape[1]} and {num_filters})"
            )
        self.num_groups = num_groups
        self.W = self.add_param(W, self.get_W_shape(), name="W")
        if b is None:
            self.b = None
        else:
            shape = (num_filters,) + tuple(self.output_shape[2:]) if untie_biases else (num_filters,)
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    def get_W_shape(self) -> tuple[int, ...]:
        return (self.num_filters, self.input_shape[1] // self.num_groups) + self.filter_size

    def get_output_shape_for(self, input_shape: Any) -> Any:
        return _conv_shape(self, input_shape, conv_output_length, self.pad)

    def get_output_for(self, input: Any, backend: str = "numpy", **kwargs: Any) -> np.ndarray:
        input = np.asarray(input)
        conved = self.convolve(input, backend=backend)
        b = param_value(self.b)
        if b is not None:
            b = (
                b[None]
                if self.untie_biases
                else broadcast_param(b, (0,) + tuple(range(2, conved.ndim)), conved.ndim)
            )
        # the public ops return a new array: the bias and nonlinearity may work in it
        weights = param_value(self.W)
        owned = not (np.may_share_memory(conved, input) or np.may_share_memory(conved, weights))
        return bias_nonlinearity(conved, b, self.nonlinearity, owned=owned)

    def convolve(self, input: np.ndarray, backend: str = "numpy") -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement convolve().")

    def _border_mode(self) -> Any:
        return "half" if self.pad == "same" else self.pad

    def _hint(self) -> tuple[Any, ...]:
        return tuple(self.input_shape)


class Conv1DLayer(BaseConvLayer):
    """1-D convolution of ``(batch, channels, length)``, computed as Theano's ``conv1d_mc0``
    (a 2-D convolution of one-row images)."""

    def __init__(
        self,
        incoming: Any,
        num_filters: int,
        filter_size: Any,
        stride: Any = 1,
        pad: Any = 0,
        untie_biases: bool = False,
        W: Any = GLOROT_UNIFORM,
        b: Any = ZEROS,
        nonlinearity: Any = nonlinearities.rectify,
        flip_filters: bool = True,
        convolution: Any = None,
        **kwargs: Any,
    ) -> None:
        _no_convolution(convolution, "Conv1DLayer")
        super().__init__(
            incoming,
            num_filters,
            filter_size,
            stride,
            pad,
            untie_biases,
            W,
            b,
            nonlinearity,
            flip_filters,
            n=1,
            **kwargs,
        )

    def convolve(self, input: np.ndarray, backend: str = "numpy") -> np.ndarray:
        return _theano_convolve(self, input, backend)


class Conv2DLayer(BaseConvLayer):
    """2-D convolution of NCHW images (:func:`legacyconv.conv2d`).

    >>> from legacyconv.lasagne.layers import InputLayer
    >>> Conv2DLayer(InputLayer((None, 3, 20, 22)), 8, (5, 3), stride=2, pad="full").output_shape
    (None, 8, 12, 12)
    """

    def __init__(
        self,
        incoming: Any,
        num_filters: int,
        filter_size: Any,
        stride: Any = (1, 1),
        pad: Any = 0,
        untie_biases: bool = False,
        W: Any = GLOROT_UNIFORM,
        b: Any = ZEROS,
        nonlinearity: Any = nonlinearities.rectify,
        flip_filters: bool = True,
        convolution: Any = None,
        **kwargs: Any,
    ) -> None:
        _no_convolution(convolution, "Conv2DLayer")
        super().__init__(
            incoming,
            num_filters,
            filter_size,
            stride,
            pad,
            untie_biases,
            W,
            b,
            nonlinearity,
            flip_filters,
            n=2,
            **kwargs,
        )

    def convolve(self, input: np.ndarray, backend: str = "numpy") -> np.ndarray:
        return _theano_convolve(self, input, backend)


class Conv3DLayer(BaseConvLayer):
    """3-D convolution of NCDHW volumes (:func:`legacyconv.conv3d`)."""

    def __init__(
        self,
        incoming: Any,
        num_filters: int,
        filter_size: Any,
        stride: Any = (1, 1, 1),
        pad: Any = 0,
        untie_biases: bool = False,
        W: Any = GLOROT_UNIFORM,
        b: Any = ZEROS,
        nonlinearity: Any = nonlinearities.rectify,
        flip_filters: bool = True,
        convolution: Any = None,
        **kwargs: Any,
    ) -> None:
        _no_convolution(convolution, "Conv3DLayer")
        super().__init__(
            incoming,
            num_filters,
            filter_size,
            stride,
            pad,
            untie_biases,
            W,
            b,
            nonlinearity,
            flip_filters,
            n=3,
            **kwargs,
        )

    def convolve(self, input: np.ndarray, backend: str = "numpy") -> np.ndarray:
        return _theano_convolve(self, input, backend)


def _theano_convolve(layer: BaseConvLayer, input: np.ndarray, backend: str) -> np.ndarray:
    """``Conv1D/2D/3DLayer.convolve``: Theano's ``conv2d`` (``conv3d`` for three spatial axes); one
    spatial axis is Theano's ``conv1d_mc0``, a 2-D convolution of one-row images."""
    w = param_value(layer.W)
    hint, filter_shape, mode, stride = layer._hint(), layer.get_W_shape(), layer._border_mode(), layer.stride
    if layer.n == 1:
        input, w = input[:, :, None, :], w[:, :, None, :]
        hint, filter_shape = hint[:2] + (1,) + hint[2:], w.shape
        mode = (0, mode[0]) if isinstance(mode, tuple) else mode
        stride = (1,) + stride
    out = (conv3d if layer.n == 3 else conv2d)(
        input,
        w,
        input_shape=hint,
        filter_shape=filter_shape,
        border_mode=mode,
        subsample=stride,
        filter_flip=layer.flip_filters,
        num_groups=layer.num_groups,
        backend=backend,
    )
    return out[:, :, 0, :] if layer.n == 1 else out


def _no_convolution(convolution: Any, cls: str) -> None:
    if convolution is not None:
        raise NotImplementedError(
            f"{cls}(convolution=...) takes a Theano function; the mirror always uses legacyconv's own "
            "convolution (Theano's conv2d/conv3d semantics)."
        )


class _TransposedConvLayer(BaseConvLayer):
    """The transposed convolution of ``n`` spatial axes: the gradient of a convolution with
    ``stride``, padding ``crop`` and ``filter_flip = not flip_filters``."""

    def __init__(
        self,
        incoming: Any,
        num_filters: int,
        filter_size: Any,
        stride: Any,
        crop: Any,
        untie_biases: bool,
        W: Any,
        b: Any,
        nonlinearity: Any,
        flip_filters: bool,
        output_size: Any,
        n: int,
        **kwargs: Any,
    ) -> None:
        self.output_size = None if output_size is None else as_tuple(output_size, n, int_types)
        super().__init__(
            incoming,
            num_filters,
            filter_size,
            stride,
            crop,
            untie_biases,
            W,
            b,
            nonlinearity,
            flip_filters,
            n=n,
            **kwargs,
        )
        self.crop = self.pad
        del self.pad

    def get_W_shape(self) -> tuple[int, ...]:
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_shape_for(self, input_shape: Any) -> Any:
        if self.output_size is not None:
            return (input_shape[0], self.num_filters) + tuple(self.output_size)
        return _conv_shape(
            self, input_shape, conv_input_length, getattr(self, "crop", getattr(self, "pad", None))
        )

    def convolve(self, input: np.ndarray, backend: str = "numpy") -> np.ndarray:
        size = self.get_output_shape_for(input.shape)[2:]
        args = prepare_transpose(
            input,
            param_value(self.W),
            (input.shape[0], self.num_filters) + tuple(size),
            nd=self.n,
            border_mode="half" if self.crop == "same" else self.crop,
            input_dilation=self.stride,
            filter_flip=not self.flip_filters,
        )
        return run_transpose(args, backend if self.n == 2 else "numpy")


class TransposedConv2DLayer(_TransposedConvLayer):
    """Transposed 2-D convolution (``Deconv2DLayer``); ``W`` is ``(in, out, rows, cols)``.

    >>> from legacyconv.lasagne.layers import InputLayer
    >>> TransposedConv2DLayer(InputLayer((None, 16, 8, 8)), 8, 4, stride=2, crop=1).output_shape
    (None, 8, 16, 16)
    """

    def __init__(
        self,
        incoming: Any,
        num_filters: int,
        filter_size: Any,
        stride: Any = (1, 1),
        crop: Any = 0,
        untie_biases: bool = False,
        W: Any = GLOROT_UNIFORM,
        b: Any = ZEROS,
        nonlinearity: Any = nonlinearities.rectify,
        flip_filters: bool = False,
        output_size: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            incoming,
            num_filters,
            filter_size,
            stride,
            crop,
            untie_biases,
            W,
            b,
            nonlinearity,
            flip_filters,
            output_size,
            2,
            **kwargs,
        )


class TransposedConv3DLayer(_TransposedConvLayer):
    """Transposed 3-D convolution (``Deconv3DLayer``); ``W`` is ``(in, out, depth, rows, cols)``."""

    def __init__(
        self,
        incoming: Any,
        num_filters: int,
        filter_size: Any,
        stride: Any = (1, 1, 1),
        crop: Any = 0,
        untie_biases: bool = False,
        W: Any = GLOROT_UNIFORM,
        b: Any = ZEROS,
        nonlinearity: Any = nonlinearities.rectify,
        flip_filters: bool = False,
        output_size: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            incoming,
            num_filters,
            filter_size,
            stride,
            crop,
            untie_biases,
            W,
            b,
            nonlinearity,
            flip_filters,
            output_size,
            3,
            **kwargs,
        )


Deconv2DLayer = TransposedConv2DLayer
Deconv3DLayer = TransposedConv3DLayer


class DilatedConv2DLayer(BaseConvLayer):
    """Valid dilated cross-correlation; ``W`` is ``(in, out, rows, cols)`` (Lasagne computes it
    as a weight gradient, which is why it only allows ``pad=0`` and ``flip_filters=False``).

    >>> from legacyconv.lasagne.layers import InputLayer
    >>> DilatedConv2DLayer(InputLayer((None, 12, 20, 20)), 6, 3, dilation=2).output_shape
    (None, 6, 16, 16)
    """

    def __init__(
        self,
        incoming: Any,
        num_filters: int,
        filter_size: Any,
        dilation: Any = (1, 1),
        pad: Any = 0,
        untie_biases: bool = False,
        W: Any = GLOROT_UNIFORM,
        b: Any = ZEROS,
        nonlinearity: Any = nonlinearities.rectify,
        flip_filters: bool = False,
        **kwargs: Any,
    ) -> None:
        self.dilation = as_tuple(dilation, 2, int_types)
        super().__init__(
            incoming,
            num_filters,
            filter_size,
            1,
            pad,
            untie_biases,
            W,
            b,
            nonlinearity,
            flip_filters,
            n=2,
            **kwargs,
        )
        del self.stride
        if self.pad != (0, 0):
            raise NotImplementedError(
                f"DilatedConv2DLayer requires pad=0 / (0,0) / 'valid', but got {pad!r}. For a padded "
                "dilated convolution, add a PadLayer (as in Lasagne)."
            )
        if self.flip_filters:
            raise NotImplementedError("DilatedConv2DLayer requires flip_filters=False (as in Lasagne).")

    def get_W_shape(self) -> tuple[int, ...]:
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_shape_for(self, input_shape: Any) -> Any:
        return (input_shape[0], self.num_filters) + tuple(
            conv_output_length(i, (f - 1) * d + 1, 1, 0)
            for i, f, d in zip(input_shape[2:], self.filter_size, self.dilation)
        )

    def convolve(self, input: np.ndarray, backend: str = "numpy") -> np.ndarray:
        w = param_value(self.W)
        return conv2d(
            input, w.transpose(1, 0, 2, 3), filter_dilation=self.dilation, filter_flip=False, backend=backend
        )
