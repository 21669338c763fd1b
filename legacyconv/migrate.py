"""Rebuild a Keras-1 (Theano backend) Sequential CNN as a Keras 3 model: :func:`migrate_keras1`.

Every layer becomes Keras 3 layers that compute what Keras 1 computed on Theano, channels-last:
convolutions get the flipped HWIO kernel and Keras 1's exact padding (its ``'same'`` with
strides or even kernels is *not* TensorFlow's ``'same'``: explicit, possibly asymmetric, zero
padding goes in front), poolings reproduce Theano's ``pool_2d`` (including Keras 1's padded and
cropped ``'same'`` pooling), and the Dense kernel after a Flatten has its rows re-ordered to
channels-last flatten order. The layer whose output equals a legacy layer's output carries the
legacy name, so :func:`legacyconv.check` can compare layer by layer.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ._errors import LegacyconvError
from ._tf import import_keras
from .io import WeightFile, atomic_write, load_weights
from .io._atomic import PathLike
from .io.keras1 import Keras1Model, LayerPlan, UnsupportedLayerError
from .layouts import dense_kernel_theano_to_tf

__all__ = ["INPUT_LAYOUTS", "UnsupportedLayerError", "migrate_keras1", "save_keras_model"]

INPUT_LAYOUTS = ("nhwc", "nchw")

# Keras-1 activation -> Keras 3 activation of the same function ('hard_sigmoid' differs: below)
_ACTIVATIONS = {
    "linear": None,
    "relu": "relu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "softmax": "softmax",
    "softplus": "softplus",
    "softsign": "softsign",
    "elu": "elu",
}


def _activation_layers(keras: Any, activation: str, name: str) -> list[Any]:
    """Layers applying a Keras-1 activation that has no same-named Keras 3 equivalent."""
    if activation == "hard_sigmoid":
        # Theano's hard_sigmoid is clip(0.2 x + 0.5, 0, 1); Keras 3's uses slope 1/6.
        return [
            keras.layers.Rescaling(scale=0.2, offset=0.5, name=f"{name}_hard_sigmoid_affine"),
            keras.layers.ReLU(max_value=1.0, name=name),
        ]
    return []


def _conv_layers(keras: Any, plan: LayerPlan) -> list[Any]:
    from .keras.conv import to_keras_conv2d

    special = plan.activation not in _ACTIVATIONS
    pads = plan.pads
    border: Any = "valid" if pads == ((0, 0), (0, 0)) else pads
    layers = to_keras_conv2d(
        plan.kernel,
        bias=plan.bias,
        border_mode=border,
        subsample=plan.subsample,
        filter_flip=True,
        filter_dilation=plan.dilation,
        activation=None if special else _ACTIVATIONS[plan.activation],
        name=f"{plan.name}_preact" if special else plan.name,
    )
    return list(layers) + _activation_layers(keras, plan.activation, plan.name)


def _pool_layers(keras: Any, plan: LayerPlan) -> list[Any]:
    from .keras.pool import to_keras_pool2d

    crop = plan.crop != ((0, 0), (0, 0))
    layers = list(
        to_keras_pool2d(
            plan.pool_size,
            True,
            plan.strides,
            plan.pool_pad,
            plan.pool_mode,
            (plan.input_shape[1], plan.input_shape[2]),
            name=f"{plan.name}_uncropped" if crop else plan.name,
        )
    )
    if crop:  # Keras 1 kept the first ceil(n / stride) outputs of Theano's padded pooling
        layers.append(keras.layers.Cropping2D(plan.crop, name=plan.name))
    return layers


def _dense_layers(keras: Any, plan: LayerPlan) -> list[Any]:
    special = plan.activation not in _ACTIVATIONS
    kernel = plan.kernel
    assert kernel is not None
    if plan.feature_shape is not None:
        kernel = dense_kernel_theano_to_tf(kernel, plan.feature_shape)
    dense = keras.layers.Dense(
        kernel.shape[1],
        activation=None if special else _ACTIVATIONS[plan.activation],
        use_bias=plan.bias is not None,
        name=f"{plan.name}_preact" if special else plan.name,
    )
    dense.build((None, kernel.shape[0]))
    dense.set_weights([kernel] if plan.bias is None else [kernel, plan.bias])
    return [dense] + _activation_layers(keras, plan.activation, plan.name)


def _layers_for(keras: Any, plan: LayerPlan) -> list[Any]:
    if plan.kind == "conv":
        return _conv_layers(keras, plan)
    if plan.kind == "pool":
        return _pool_layers(keras, plan)
    if plan.kind == "dense":
        return _dense_layers(keras, plan)
    if plan.kind == "zero_padding":
        return [keras.layers.ZeroPadding2D(plan.pads, name=plan.name)]
    if plan.kind == "flatten":
        return [keras.layers.Flatten(name=plan.name)]
    if plan.kind == "dropout":
        return [keras.layers.Dropout(plan.rate, name=plan.name)]
    if plan.kind == "activation":
        if plan.activation in _ACTIVATIONS:
            return [keras.layers.Activation(_ACTIVATIONS[plan.activation] or "linear", name=plan.name)]
        return _activation_layers(keras, plan.activation, plan.name)
    raise NotImplementedError(f"no Keras 3 layers for a {plan.kind!r} layer: this is a legacyconv bug")


def _keras1_model(source: PathLike | WeightFile | Keras1Model) -> Keras1Model:
    if isinstance(source, Keras1Model):
        return source
    wf = source if isinstance(source, WeightFile) else load_weights(source)
    if wf.keras1 is None:
        raise LegacyconvError(
            f"{wf.path} is not a Keras-1 model file ({wf.format}); migrate needs the HDF5 file Keras 1 "
            "wrote with model.save(), which holds the model config"
        )
    return wf.keras1


def migrate_keras1(source: PathLike | WeightFile | Keras1Model, *, input_layout: str = "nhwc") -> Any:
    """Rebuild a Keras-1 Theano Sequential model as a channels-last Keras 3 model.

    Parameters
    ----------
    source : path, WeightFile or Keras1Model
        A Keras-1 ``model.save()`` HDF5 file (``dim_ordering='th'``, Theano backend), or what
        :func:`legacyconv.io.load_weights` read from one.
    input_layout : {'nhwc', 'nchw'}, optional
        The layout of the new model's input. ``'nchw'`` puts a ``Permute((2, 3, 1))`` in front
        so the model accepts the old channels-first data unchanged.

    Returns
    -------
    keras.Model
        A functional Keras 3 model (the Keras that ships with TensorFlow) with the weights set.
        The layer reproducing each legacy layer's output has the legacy layer's name.

    Raises
    ------
    UnsupportedLayerError
        For a layer, activation or argument that cannot be reproduced, naming the layer and
        its class (a :class:`LegacyconvError` and a ``NotImplementedError``).
    LegacyconvError
        For weights that do not fit the config, or a file that is not a Keras-1 model.
    """
    if input_layout not in INPUT_LAYOUTS:
        raise LegacyconvError(
            f"input_layout must be one of {{'nhwc', 'nchw'}}. Received: input_layout={input_layout!r}"
        )
    model = _keras1_model(source)
    plans = model.plan()  # raises before TensorFlow is even imported
    keras = import_keras()
    shape = tuple(model.input_shape or ())
    if len(shape) == 3:
        channels, rows, cols = shape
        if input_layout == "nchw":
            inputs = keras.Input(shape=(channels, rows, cols), name="input_nchw")
            x = keras.layers.Permute((2, 3, 1), name="nchw_to_nhwc")(inputs)
        else:
            inputs = keras.Input(shape=(rows, cols, channels), name="input")
            x = inputs
    else:
        inputs = keras.Input(shape=shape, name="input")
        x = inputs
    for plan in plans:
        for layer in _layers_for(keras, plan):
            x = layer(x)
    stem = os.path.splitext(os.path.basename(model.path or "keras1_model"))[0]
    return keras.Model(inputs, x, name=re.sub(r"[^A-Za-z0-9_]", "_", stem))


def save_keras_model(model: Any, path: PathLike, *, force: bool = False, inputs: Any = ()) -> str:
    """Save a Keras 3 model to a ``.keras`` file atomically (refusing to overwrite without ``force``).

    ``inputs`` are files that must not be overwritten (the legacy model), even with ``force``.
    """
    out = os.fspath(path)
    if not out.endswith(".keras"):
        raise LegacyconvError(
            f"the migrated model is saved in Keras 3's format: the output must end in .keras. Received: {out}"
        )
    return atomic_write(out, lambda tmp: model.save(tmp), force=force, inputs=inputs, suffix=".keras")
