"""Mirror of ``theano.tensor.nnet.abstract_conv``: porting is a search-and-replace of the module.

Its ``conv2d`` keeps abstract_conv's own positional order, ``(input, filters, input_shape,
filter_shape, border_mode, subsample, filter_flip, filter_dilation, num_groups, unshared)``:
the 8th positional argument is ``filter_dilation`` (in ``theano.tensor.nnet.conv2d`` it is the
deprecated ``image_shape``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import conv as _conv
from .._params import (
    border_mode_to_pad,
    get_conv_gradinputs_shape,
    get_conv_gradinputs_shape_1axis,
    get_conv_gradweights_shape,
    get_conv_gradweights_shape_1axis,
    get_conv_output_shape,
    get_conv_shape_1axis,
)
from ..conv import causal_conv1d, conv3d
from ..grads import (
    conv2d_grad_wrt_inputs,
    conv2d_grad_wrt_weights,
    conv3d_grad_wrt_inputs,
    conv3d_grad_wrt_weights,
)
from ..separable import separable_conv2d, separable_conv3d
from ..transpose import conv2d_transpose
from ..upsampling import (
    bilinear_kernel_1D,
    bilinear_kernel_2D,
    bilinear_upsampling,
    frac_bilinear_upsampling,
)

__all__ = [
    "bilinear_kernel_1D",
    "bilinear_kernel_2D",
    "bilinear_upsampling",
    "border_mode_to_pad",
    "causal_conv1d",
    "conv2d",
    "conv2d_grad_wrt_inputs",
    "conv2d_grad_wrt_weights",
    "conv2d_transpose",
    "conv3d",
    "conv3d_grad_wrt_inputs",
    "conv3d_grad_wrt_weights",
    "frac_bilinear_upsampling",
    "get_conv_gradinputs_shape",
    "get_conv_gradinputs_shape_1axis",
    "get_conv_gradweights_shape",
    "get_conv_gradweights_shape_1axis",
    "get_conv_output_shape",
    "get_conv_shape_1axis",
    "separable_conv2d",
    "separable_conv3d",
]


def conv2d(
    input: Any,
    filters: Any,
    input_shape: Any = None,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1, 1),
    filter_flip: bool = True,
    filter_dilation: Any = (1, 1),
    num_groups: int = 1,
    unshared: bool = False,
    *,
    backend: str = "numpy",
) -> np.ndarray:
    """``theano.tensor.nnet.abstract_conv.conv2d``: :func:`legacyconv.conv2d` with
    abstract_conv's positional order (no ``image_shape``; the 8th positional is ``filter_dilation``).

    >>> import numpy as np
    >>> x, w = np.ones((1, 1, 7, 7)), np.ones((1, 1, 3, 3))
    >>> conv2d(x, w, None, None, "valid", (1, 1), True, (2, 2)).shape
    (1, 1, 3, 3)
    """
    return _conv.conv2d(
        input,
        filters,
        input_shape,
        filter_shape,
        border_mode,
        subsample,
        filter_flip,
        filter_dilation=filter_dilation,
        num_groups=num_groups,
        unshared=unshared,
        backend=backend,
    )
