"""Mirror of ``theano.tensor.nnet.conv``: the deprecated ``conv2d`` built on ConvOp."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import LegacyconvError
from ..conv import prepare_conv, run_conv

__all__ = ["conv2d"]

# ConvOp keyword arguments that only tuned Theano's generated C code: they change nothing here.
_TUNING_KWARGS = frozenset(
    {"unroll_batch", "unroll_kern", "unroll_patch", "openmp", "verbose", "version", "direction_hint"}
)


def conv2d(
    input: Any,
    filters: Any,
    image_shape: Any = None,
    filter_shape: Any = None,
    border_mode: str = "valid",
    subsample: Any = (1, 1),
    *,
    backend: str = "numpy",
    **kargs: Any,
) -> np.ndarray:
    """What ``theano.tensor.nnet.conv.conv2d`` (the deprecated ConvOp API) computed.

    Always true convolution (the kernel is flipped); ``border_mode`` is 'valid' or 'full'.
    ``image_shape`` and ``filter_shape`` hints must agree with each other and with the arrays,
    as ConvOp checked. ConvOp's C-code tuning arguments (``unroll_batch``, ``unroll_kern``, ...)
    are accepted and ignored.

    >>> import numpy as np
    >>> m = np.arange(25.0, dtype=np.float32).reshape(1, 1, 5, 5)
    >>> conv2d(m, np.ones((1, 1, 3, 3), np.float32), border_mode="full")[0, 0, 0]
    array([0., 1., 3., 6., 9., 7., 4.], dtype=float32)
    """
    unknown = sorted(set(kargs) - _TUNING_KWARGS)
    if unknown:
        raise TypeError(f"conv2d() got unexpected keyword arguments: {', '.join(unknown)}")
    if border_mode not in ("valid", "full"):
        raise LegacyconvError(
            "border_mode must be one of {'valid', 'full'} in the deprecated nnet.conv.conv2d "
            f"(use legacyconv.conv2d for 'half' and explicit padding). Received: border_mode={border_mode!r}"
        )
    if (
        image_shape is not None
        and filter_shape is not None
        and len(image_shape) > 1
        and len(filter_shape) > 1
        and None not in (image_shape[1], filter_shape[1])
        and image_shape[1] != filter_shape[1]
    ):
        raise LegacyconvError(
            "images and kernel must have the same stack size: "
            f"image_shape={tuple(image_shape)!r} has {image_shape[1]} channels, "
            f"filter_shape={tuple(filter_shape)!r} expects {filter_shape[1]}"
        )
    args = prepare_conv(
        input,
        filters,
        2,
        image_shape,
        filter_shape,
        border_mode,
        subsample,
        True,
        (1, 1),
        1,
        input_hint_name="image_shape",
    )
    return run_conv(args, backend)
