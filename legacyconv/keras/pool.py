"""Keras layers that compute, on NHWC input, what Theano's ``pool_2d`` computed on NCHW input.

Standard Keras layers are used whenever their windows are exactly Theano's for the given
image size:

* 'max' with ``MaxPooling2D`` ('valid' or 'same': TF's 'same' padding is never the max);
* 'sum' and 'average_inc_pad' with ``ZeroPadding2D`` + ``AveragePooling2D('valid')``
  (+ ``Rescaling(window size)`` for 'sum'), exact whenever every window divides by the
  window size;
* averages whose divisor is the number of image cells in the window with
  ``AveragePooling2D('same')``, which TF divides the same way.

Otherwise (e.g. Theano's ceil mode with 'max' where TF's 'same' would pad the first row, or
the padding Keras 1 used for ``border_mode='same'`` pooling on Theano) no standard layer has
Theano's windows, and the builder returns :class:`TheanoPool2D`, a small registered Keras
layer that pads explicitly and runs ``tf.nn`` pooling (see
:mod:`legacyconv.engines.tensorflow`). The class is created and registered with Keras
(as ``'legacyconv>TheanoPool2D'``) the first time ``legacyconv.keras.pool.TheanoPool2D`` is
looked up or a builder returns it: do that before ``keras.models.load_model`` in a fresh process.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .._errors import LegacyconvError
from .._pool_plan import PoolPlan, normalize_pool_args, pool_plan
from .._tf import import_keras
from ._checks import check_name

__all__ = ["to_keras_pool2d"]  # and TheanoPool2D, created on first lookup (needs Keras)


def _tf_windows(
    size: int, ws: int, stride: int, zeros: tuple[int, int], padding: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """TF pooling of one axis of ``size`` image cells after ``zeros`` zero cells on each side:
    per output, the image cells ``[start, end)`` it reads, the zero cells it reads, and the
    count an average divides by (TF's own padding never counts)."""
    m = size + zeros[0] + zeros[1]
    if padding == "valid":
        out, low = max((m - ws) // stride + 1, 0), 0
    else:
        out = -(-m // stride)
        low = max((out - 1) * stride + ws - m, 0) // 2
    first = np.arange(out, dtype=np.int64) * stride - low
    lo = np.maximum(first, 0)
    hi = np.minimum(first + ws, m)
    start = np.clip(lo, zeros[0], zeros[0] + size) - zeros[0]
    end = np.clip(hi, zeros[0], zeros[0] + size) - zeros[0]
    return start, end, (hi - lo) - (end - start), hi - lo


def _zero_pads(plan: PoolPlan) -> tuple[tuple[int, int], ...]:
    """Zero cells that make 'valid' windows cover Theano's (for 'sum' and averages)."""
    return tuple((a.pad, max(0, (a.out - 1) * a.stride + a.ws - a.size - a.pad)) for a in plan.axes)


def _exact(plan: PoolPlan, zeros: tuple[tuple[int, int], ...], padding: str) -> bool:
    """Do TF's windows (zero padding ``zeros``, then ``padding``) equal Theano's, per axis?"""
    for axis, z in zip(plan.axes, zeros):
        start, end, n_zeros, count = _tf_windows(axis.size, axis.ws, axis.stride, z, padding)
        if len(start) != axis.out or not (
            np.array_equal(start, axis.starts) and np.array_equal(end, axis.ends)
        ):
            return False
        if plan.mode == "max" and np.any(n_zeros):
            return False
        if plan.mode.startswith("average") and not np.array_equal(count, axis.divisors):
            return False
    return True


def _standard_choice(
    params: tuple[Any, ...], input_shape: tuple[int, int] | None
) -> tuple[tuple[tuple[int, int], ...], str] | None:
    """``(zero padding, 'valid' | 'same')`` of standard layers equal to Theano's pooling, or None."""
    ws, ignore_border, stride, pad, mode = params
    if input_shape is None:
        # Exact for every image size: all windows full (in padded coordinates) and the
        # padding either absent or summed as zeros.
        if ignore_border and (pad == (0, 0) or mode in ("sum", "average_inc_pad")):
            return ((pad[0], pad[0]), (pad[1], pad[1])), "valid"
        return None
    plan = pool_plan(input_shape, ws, ignore_border, stride, pad, mode)
    none: tuple[tuple[int, int], ...] = ((0, 0), (0, 0))
    candidates = [(none, "valid"), (none, "same")]
    if mode != "max":
        candidates.insert(0, (_zero_pads(plan), "valid"))
    for zeros, padding in candidates:
        if _exact(plan, zeros, padding):
            return zeros, padding
    return None


def _check_input_shape(input_shape: Any) -> tuple[int, int] | None:
    if input_shape is None:
        return None
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) != 2
        or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in input_shape
        )
    ):
        raise LegacyconvError(
            "input_shape must be the pooled image size (rows, cols) of positive integers, or None. "
            f"Received: input_shape={input_shape!r}"
        )
    return (int(input_shape[0]), int(input_shape[1]))


def to_keras_pool2d(
    ws: Any,
    ignore_border: bool,
    stride: Any = None,
    pad: Any = (0, 0),
    mode: str = "max",
    input_shape: Any = None,
    *,
    name: str | None = None,
) -> list[Any]:
    """Build Keras layers equivalent to ``pool_2d(input, ws, ignore_border, stride, pad, mode)``.

    The layers take channels-last input ``(batch, rows, cols, channels)`` and return
    ``nchw_to_nhwc`` of what Theano returned.

    Parameters
    ----------
    ws, ignore_border, stride, pad, mode
        The arguments of the Theano call (``ignore_border`` must be explicit: Theano's
        ``None`` meant False).
    input_shape : tuple of 2 int, optional
        The ``(rows, cols)`` of the images. Theano's ceil mode and padding make the windows
        depend on it: with it, standard Keras layers are returned whenever they are exact for
        that size (use the layers on that size only); without it, only when they are exact
        for every size.
    name : str, optional
        Base name: the layers are called ``name``, ``name + '_pad'`` and ``name + '_sum'``.

    Returns
    -------
    list of keras.layers.Layer
        Standard layers (``[ZeroPadding2D]``, ``MaxPooling2D`` or ``AveragePooling2D``,
        ``[Rescaling]``) or ``[TheanoPool2D]``.

    Examples
    --------
    >>> [type(layer).__name__ for layer in to_keras_pool2d((2, 2), True)]
    ['MaxPooling2D']
    >>> [type(layer).__name__ for layer in to_keras_pool2d((3, 3), True, (1, 1), (1, 1), "average_inc_pad")]
    ['ZeroPadding2D', 'AveragePooling2D']
    >>> layers = to_keras_pool2d((2, 2), False, input_shape=(5, 5))  # ceil mode = TF 'same' here
    >>> [(type(layer).__name__, layer.padding) for layer in layers]
    [('MaxPooling2D', 'same')]
    >>> layers = to_keras_pool2d((2, 2), True, pad=(1, 1), input_shape=(4, 4))
    >>> [type(layer).__name__ for layer in layers]
    ['TheanoPool2D']
    >>> tuple(layers[0](np.zeros((1, 4, 4, 3), np.float32)).shape)
    (1, 3, 3, 3)
    """
    params = normalize_pool_args(ws, ignore_border, stride, pad, mode)
    shape = _check_input_shape(input_shape)
    check_name(name)
    if shape is not None:
        pool_plan(shape, *params)  # rejects images that Theano could not pool
    ws_t, ignore, stride_t, pad_t, mode_s = params
    keras = import_keras()

    def _name(suffix: str) -> str | None:
        return None if name is None else name + suffix

    choice = _standard_choice(params, shape)
    if choice is None:
        return [_layer_class()(ws_t, ignore, stride_t, pad_t, mode_s, name=name)]
    zeros, padding = choice
    layers: list[Any] = []
    if any(z != (0, 0) for z in zeros):
        layers.append(keras.layers.ZeroPadding2D(zeros, data_format="channels_last", name=_name("_pad")))
    kind = keras.layers.MaxPooling2D if mode_s == "max" else keras.layers.AveragePooling2D
    layers.append(kind(ws_t, stride_t, padding=padding, data_format="channels_last", name=name))
    if mode_s == "sum":
        layers.append(keras.layers.Rescaling(float(math.prod(ws_t)), name=_name("_sum")))
    return layers


@functools.cache
def _layer_class() -> type:
    keras = import_keras()

    @keras.utils.register_keras_serializable(package="legacyconv", name="TheanoPool2D")
    class TheanoPool2D(keras.layers.Layer):  # type: ignore[name-defined]
        """Theano's ``pool_2d`` on NHWC input, for the cases no standard Keras layer covers.

        It pads explicitly (``-inf`` for 'max', zeros otherwise) so that TF's 'VALID' windows
        are Theano's, and divides averages by Theano's divisors. The image size must be
        static (known when the layer is called).
        """

        def __init__(self, ws, ignore_border, stride=None, pad=(0, 0), mode="max", **kwargs):
            super().__init__(**kwargs)
            params = normalize_pool_args(ws, ignore_border, stride, pad, mode)
            self.ws, self.ignore_border, self.stride, self.pad, self.mode = params

        def _plan(self, shape: Any) -> PoolPlan:
            rows, cols = shape[1], shape[2]
            if rows is None or cols is None:
                raise LegacyconvError(
                    "TheanoPool2D needs a static image size (Theano's ceil mode depends on it). "
                    f"Received: input shape {tuple(shape)}"
                )
            return pool_plan(
                (int(rows), int(cols)), self.ws, self.ignore_border, self.stride, self.pad, self.mode
            )

        def call(self, inputs):
            from ..engines.tensorflow import pool2d_nhwc

            return pool2d_nhwc(inputs, self._plan(inputs.shape))

        def compute_output_shape(self, input_shape):
            if input_shape[1] is None or input_shape[2] is None:
                return (input_shape[0], None, None, input_shape[3])
            return (input_shape[0], *self._plan(input_shape).out_shape, input_shape[3])

        def get_config(self):
            config = super().get_config()
            config.update(
                ws=self.ws, ignore_border=self.ignore_border, stride=self.stride, pad=self.pad, mode=self.mode
            )
            return config

    TheanoPool2D.__module__ = __name__
    TheanoPool2D.__qualname__ = "TheanoPool2D"
    return TheanoPool2D


def __getattr__(attr: str) -> Any:
    # The layer class needs Keras to exist; it is created (and registered) on first use.
    if attr == "TheanoPool2D":
        return _layer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
