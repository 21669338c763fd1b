"""``lasagne.layers``: every layer of the mirror, and the helpers that walk and run a network.

A Lasagne 0.2 layer the mirror does not implement (recurrent layers, spatial transformers,
locally connected layers …) raises NotImplementedError naming it when a network file imports
or uses it; any other missing name is an AttributeError, as for a normal module.
"""

from typing import Any

from ._missing import missing_attribute
from .base import Layer, MergeLayer
from .conv import (
    Conv1DLayer,
    Conv2DLayer,
    Conv3DLayer,
    Deconv2DLayer,
    Deconv3DLayer,
    DilatedConv2DLayer,
    TransposedConv2DLayer,
    TransposedConv3DLayer,
)
from .dense import DenseLayer, NINLayer
from .embedding import EmbeddingLayer
from .helper import (
    count_params,
    get_all_layers,
    get_all_param_values,
    get_all_params,
    get_output,
    get_output_shape,
    set_all_param_values,
)
from .input import InputLayer
from .merge import ConcatLayer, ElemwiseMergeLayer, ElemwiseSumLayer, autocrop, autocrop_array_shapes, concat
from .noise import (
    DropoutLayer,
    GaussianNoiseLayer,
    dropout,
    dropout_channels,
    dropout_locations,
    spatial_dropout,
)
from .normalization import (
    BatchNormLayer,
    LocalResponseNormalization2DLayer,
    StandardizationLayer,
    batch_norm,
    instance_norm,
    layer_norm,
)
from .pool import (
    FeaturePoolLayer,
    FeatureWTALayer,
    GlobalPoolLayer,
    MaxPool1DLayer,
    MaxPool2DLayer,
    MaxPool3DLayer,
    Pool1DLayer,
    Pool2DLayer,
    Pool3DLayer,
    Upscale1DLayer,
    Upscale2DLayer,
    Upscale3DLayer,
)
from .shape import (
    DimshuffleLayer,
    FlattenLayer,
    PadLayer,
    ReshapeLayer,
    SliceLayer,
    dimshuffle,
    flatten,
    pad,
    reshape,
)
from .special import (
    BiasLayer,
    ExpressionLayer,
    NonlinearityLayer,
    ParametricRectifierLayer,
    ScaleLayer,
    prelu,
    standardize,
)


def __getattr__(name: str) -> Any:
    raise missing_attribute("lasagne.layers", name)


__all__ = [
    "BatchNormLayer",
    "BiasLayer",
    "ConcatLayer",
    "Conv1DLayer",
    "Conv2DLayer",
    "Conv3DLayer",
    "Deconv2DLayer",
    "Deconv3DLayer",
    "DenseLayer",
    "DilatedConv2DLayer",
    "DimshuffleLayer",
    "DropoutLayer",
    "ElemwiseMergeLayer",
    "ElemwiseSumLayer",
    "EmbeddingLayer",
    "ExpressionLayer",
    "FeaturePoolLayer",
    "FeatureWTALayer",
    "FlattenLayer",
    "GaussianNoiseLayer",
    "GlobalPoolLayer",
    "InputLayer",
    "Layer",
    "LocalResponseNormalization2DLayer",
    "MaxPool1DLayer",
    "MaxPool2DLayer",
    "MaxPool3DLayer",
    "MergeLayer",
    "NINLayer",
    "NonlinearityLayer",
    "PadLayer",
    "ParametricRectifierLayer",
    "Pool1DLayer",
    "Pool2DLayer",
    "Pool3DLayer",
    "ReshapeLayer",
    "ScaleLayer",
    "SliceLayer",
    "StandardizationLayer",
    "TransposedConv2DLayer",
    "TransposedConv3DLayer",
    "Upscale1DLayer",
    "Upscale2DLayer",
    "Upscale3DLayer",
    "autocrop",
    "autocrop_array_shapes",
    "batch_norm",
    "concat",
    "count_params",
    "dimshuffle",
    "dropout",
    "dropout_channels",
    "dropout_locations",
    "flatten",
    "get_all_layers",
    "get_all_param_values",
    "get_all_params",
    "get_output",
    "get_output_shape",
    "instance_norm",
    "layer_norm",
    "pad",
    "prelu",
    "reshape",
    "set_all_param_values",
    "spatial_dropout",
    "standardize",
]
