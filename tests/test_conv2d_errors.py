"""Bad input to conv2d: one clear error naming the argument, the shapes and what was expected."""

from __future__ import annotations

import numpy as np
import pytest

import legacyconv
from legacyconv import LegacyconvError, conv2d

X = np.zeros((2, 4, 6, 6), np.float32)
W = np.zeros((3, 4, 3, 3), np.float32)


@pytest.mark.parametrize(
    "x, w, kwargs, pattern",
    [
        (
            X,
            np.zeros((1, 1, 3, 3)),
            {},
            r"same stack size: input\.shape=\(2, 4, 6, 6\) has 4 channels, filters\.shape=\(1, 1, 3, 3\) expects 1",
        ),
        (X, np.zeros((2, 3, 3, 3)), {"num_groups": 2}, r"same stack size: .*expects 3 x num_groups=2 = 6"),
        (
            X[0],
            W,
            {},
            r"input must be a 4-d array \(batch, channels, rows, cols\)\. Received: input\.shape=\(4, 6, 6\)",
        ),
        (X, W[0], {}, r"filters must be a 4-d array .*Received: filters\.shape=\(4, 3, 3\)"),
        (
            np.zeros((1, 1, 2, 2)),
            np.zeros((1, 1, 3, 3)),
            {},
            r"impossible output shape: the \(dilated\) kernel \(3, 3\) is larger than the padded input \(2, 2\)",
        ),
        (X, W, {"filter_dilation": (3, 1)}, r"impossible output shape: the \(dilated\) kernel \(7, 3\)"),
        (X, W, {"border_mode": -1}, r"border_mode must be .*non-negative.*Received: border_mode=-1"),
        (X, W, {"border_mode": (1, -2)}, r"Received: border_mode=\(1, -2\)"),
        (X, W, {"border_mode": ((1, 0), (2,))}, r"Received: border_mode=\(\(1, 0\), \(2,\)\)"),
        (X, W, {"border_mode": (1, 2, 3)}, r"tuple of 2"),
        (
            X,
            W,
            {"border_mode": "same"},
            r"Theano's name for TF's 'same' is 'half'.*Received: border_mode='same'",
        ),
        (X, W, {"border_mode": 1.5}, r"Received: border_mode=1\.5"),
        (
            X,
            W,
            {"subsample": (0, 1)},
            r"subsample must be a tuple of 2 positive integers\. Received: subsample=\(0, 1\)",
        ),
        (X, W, {"subsample": (-1, 1)}, r"subsample must be a tuple of 2 positive integers"),
        (X, W, {"subsample": (1, 1, 1)}, r"subsample must be a tuple of 2"),
        (
            X,
            W,
            {"filter_dilation": (1, 0)},
            r"filter_dilation must be a tuple of 2 positive integers\. Received: filter_dilation=\(1, 0\)",
        ),
        (X, W, {"num_groups": 0}, r"num_groups must be a positive integer\. Received: num_groups=0"),
        (
            np.zeros((2, 5, 6, 6)),
            np.zeros((3, 5, 3, 3)),
            {"num_groups": 2},
            r"input channels must be divisible by num_groups: input\.shape=\(2, 5, 6, 6\) has 5 channels, num_groups=2",
        ),
        (
            X,
            np.zeros((3, 2, 3, 3)),
            {"num_groups": 2},
            r"number of filters must be divisible by num_groups: filters\.shape=\(3, 2, 3, 3\) has 3 filters",
        ),
        (
            X,
            W,
            {"input_shape": (2, 4, 6)},
            r"shape hint does not match the array: input_shape=\(2, 4, 6\) but input\.shape=\(2, 4, 6, 6\)",
        ),
        (
            X,
            W,
            {"filter_shape": (3, 4, 5, 5)},
            r"filter_shape=\(3, 4, 5, 5\) but filters\.shape=\(3, 4, 3, 3\)",
        ),
        (
            X,
            W,
            {"input_shape": (2, 4, 6, 6), "image_shape": (2, 4, 6, 6)},
            r"input_shape and image_shape must not both be given",
        ),
        (X, W, {"input_shape": "2x4"}, r"input_shape must be a tuple of 4 integers or None"),
        (X, W, {"filter_flip": "yes"}, r"filter_flip must be True or False"),
        (
            X,
            W,
            {"backend": "torch"},
            r"backend must be one of \{'numpy', 'scipy', 'tensorflow'\}\. Received: backend='torch'",
        ),
        (X, np.zeros((3, 4, 0, 3)), {}, r"filters must have spatial sizes >= 1"),
    ],
)
def test_bad_input(x, w, kwargs, pattern):
    with pytest.raises(LegacyconvError, match=pattern):
        conv2d(x, w, **kwargs)


@pytest.mark.parametrize(
    "x, w, name",
    [
        (np.zeros((1, 1, 3, 3), complex), np.zeros((1, 1, 1, 1)), "input"),
        (np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 1, 1), complex), "filters"),
        (np.array([[["a"]]]), np.zeros((1, 1, 1, 1)), "input"),
        (np.zeros((1, 1, 3, 3), object), np.zeros((1, 1, 1, 1)), "input"),
    ],
)
def test_bad_dtype_is_a_type_error(x, w, name):
    # a TypeError as in Theano, and a LegacyconvError like every other bad argument
    with pytest.raises(
        TypeError, match=rf"{name} must have a real numeric dtype .*Received: {name}\.dtype="
    ) as info:
        conv2d(x, w)
    assert isinstance(info.value, LegacyconvError)


def test_ragged_input_is_a_type_error():
    with pytest.raises(TypeError, match="input must be a real numeric array") as info:
        conv2d([[[[1.0, 2.0], [3.0]]]], np.ones((1, 1, 1, 1)))
    assert isinstance(info.value, LegacyconvError)


def test_unshared_is_not_implemented():
    with pytest.raises(NotImplementedError, match="unshared=True .* is not implemented"):
        conv2d(X, W, unshared=True)
    for truth in (False, 0, None, np.False_):
        assert conv2d(X, W, unshared=truth).shape == (2, 3, 4, 4)
    for value in ("yes", 2, 1.0, np.ones(3)):  # not truth values: no guess at what was meant
        with pytest.raises(LegacyconvError, match="unshared must be True or False"):
            conv2d(X, W, unshared=value)


def test_image_shape_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="image_shape is deprecated"):
        out = conv2d(X, W, image_shape=(2, 4, 6, 6))
    assert out.shape == (2, 3, 4, 4)
    with pytest.warns(DeprecationWarning), pytest.raises(LegacyconvError, match="shape hint does not match"):
        conv2d(X, W, image_shape=(3, 4, 6, 6))


def test_errors_are_value_errors_as_in_theano():
    assert issubclass(LegacyconvError, ValueError)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"border_mode": "half"}, r"border_mode must be one of \{'valid', 'full'\} in the deprecated"),
        (
            {"image_shape": (2, 4, 6, 6), "filter_shape": (3, 2, 3, 3)},
            r"same stack size: image_shape=\(2, 4, 6, 6\) has 4 channels, filter_shape=\(3, 2, 3, 3\) expects 2",
        ),
        ({"image_shape": (5, 4, 6, 6)}, r"image_shape=\(5, 4, 6, 6\) but input\.shape=\(2, 4, 6, 6\)"),
    ],
)
def test_legacy_api_errors(kwargs, pattern):
    with pytest.raises(LegacyconvError, match=pattern):
        legacyconv.nnet.conv.conv2d(X, W, **kwargs)


def test_legacy_api_accepts_convop_tuning_kwargs_only():
    out = legacyconv.nnet.conv.conv2d(X, W, unroll_batch=2, unroll_kern=3)
    np.testing.assert_array_equal(out, conv2d(X, W))
    with pytest.raises(TypeError, match="unexpected keyword arguments: filter_flip"):
        legacyconv.nnet.conv.conv2d(X, W, filter_flip=False)
