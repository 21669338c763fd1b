"""separable_conv2d against real Theano 1.0.5 (golden) on every engine, and against a naive
depthwise-then-pointwise loop written here."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import legacyconv
from legacyconv import LegacyconvError
from legacyconv.separable import separable_conv2d

import reference
from golden import assert_matches_theano, cases

BACKENDS = ["numpy", "scipy", "tensorflow"]
CASES = cases("separable_conv2d")


def naive_separable(x, dw, pw, num_channels, mode, stride, dilation, flip):
    """Depthwise step (filter k*m+q reads channel k), then a valid pointwise step."""
    depth = reference.conv(x, dw, mode, stride, flip, dilation, num_channels)
    return reference.conv(depth, pw, "valid", (1, 1), flip, (1, 1), 1)


def test_golden_file_has_the_cases():
    assert len(CASES) >= 3


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_theano(case, backend):
    assert_matches_theano(separable_conv2d, case, backend=backend)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_naive_reference_agrees_with_theano(case):
    k = case["kwargs"]
    ref = naive_separable(*case["inputs"], k["num_channels"], k["border_mode"], k["subsample"], (1, 1), True)
    np.testing.assert_allclose(ref, case["expected"], rtol=1e-5, atol=1e-5)


@st.composite
def separable_args(draw):
    channels = draw(st.integers(1, 3))
    mult = draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    mode = draw(st.sampled_from(["valid", "full", "half"]))
    point = draw(st.sampled_from([(1, 1), (1, 1), (2, 1)]))  # Theano did not insist on 1x1
    size = (draw(st.integers(3, 7)), draw(st.integers(3, 7)))
    if mode == "valid":
        assume(all(s >= (k - 1) * d + 1 for s, k, d in zip(size, kernel, dilation)))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    x = rng.standard_normal((2, channels) + size)
    dw = rng.standard_normal((channels * mult, 1) + kernel)
    pw = rng.standard_normal((draw(st.integers(1, 3)), channels * mult) + point)
    return x, dw, pw, channels, mode, stride, dilation, draw(st.booleans())


def _call(args, backend="numpy"):
    x, dw, pw, channels, mode, stride, dilation, flip = args
    return separable_conv2d(
        x,
        dw,
        pw,
        channels,
        border_mode=mode,
        subsample=stride,
        filter_flip=flip,
        filter_dilation=dilation,
        backend=backend,
    )


@settings(max_examples=40, deadline=None)
@given(separable_args())
def test_numpy_matches_naive_reference(args):
    ref = naive_separable(*args)
    assume(ref.shape[2] > 0 and ref.shape[3] > 0)
    np.testing.assert_allclose(_call(args), ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("backend", ["scipy", "tensorflow"])
@settings(max_examples=10, deadline=None)
@given(args=separable_args())
def test_other_engines_match_naive_reference(backend, args):
    ref = naive_separable(*args)
    assume(ref.shape[2] > 0 and ref.shape[3] > 0)
    np.testing.assert_allclose(_call(args, backend), ref, rtol=1e-9, atol=1e-9)


def test_float32_stays_float32_and_hints_are_accepted():
    x = np.ones((1, 2, 5, 5), np.float32)
    dw = np.ones((2, 1, 3, 3), np.float32)
    pw = np.ones((4, 2, 1, 1), np.float32)
    out = separable_conv2d(
        x,
        dw,
        pw,
        2,
        input_shape=(None, 2, 5, 5),
        depthwise_filter_shape=(2, 1, 3, 3),
        pointwise_filter_shape=(4, 2, None, None),
        border_mode="half",
    )
    assert out.dtype == np.float32 and out.shape == (1, 4, 5, 5)
    assert out[0, 0, 2, 2] == 18 and out[0, 0, 0, 0] == 8


def test_mirrors():
    assert legacyconv.separable_conv2d is separable_conv2d
    assert legacyconv.nnet.separable_conv2d is separable_conv2d
    assert legacyconv.nnet.abstract_conv.separable_conv2d is separable_conv2d


X = np.ones((2, 3, 6, 6))
DW = np.ones((6, 1, 3, 3))
PW = np.ones((4, 6, 1, 1))


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (
            (X, DW, PW, 2),
            {},
            r"num_channels must be the input's channel count: input.shape=\(2, 3, 6, 6\) has 3 channels.*num_channels=2 expects 2",
        ),
        (
            (X, np.ones((5, 1, 3, 3)), np.ones((4, 5, 1, 1)), 3),
            {},
            r"multiple of num_channels.*has 5 filters, num_channels=3",
        ),
        (
            (X, DW, np.ones((4, 5, 1, 1)), 3),
            {},
            r"depthwise_filters.shape=\(6, 1, 3, 3\) gives 6 channels, pointwise_filters.shape=\(4, 5, 1, 1\) expects 5",
        ),
        ((X, DW, PW, 0), {}, r"num_channels must be a positive integer. Received: num_channels=0"),
        ((X[0], DW, PW, 3), {}, r"input must be a 4-d array"),
        (
            (X, DW[0], PW, 3),
            {},
            r"depthwise_filters must be a 4-d array \(channels \* multiplier, 1, rows, cols\)",
        ),
        ((X, DW, PW[0], 3), {}, r"pointwise_filters must be a 4-d array"),
        (
            (X, DW, PW, 3),
            {"input_shape": (2, 3, 7, 6)},
            r"input_shape=\(2, 3, 7, 6\) but input.shape=\(2, 3, 6, 6\)",
        ),
        (
            (X, DW, PW, 3),
            {"depthwise_filter_shape": (6, 1, 2, 3)},
            r"depthwise_filter_shape=\(6, 1, 2, 3\) but depthwise_filters.shape",
        ),
        (
            (X, DW, PW, 3),
            {"pointwise_filter_shape": (5, 6, 1, 1)},
            r"pointwise_filter_shape=\(5, 6, 1, 1\) but pointwise_filters.shape",
        ),
        ((X, DW, PW, 3), {"border_mode": "same"}, r"border_mode must be one of"),
        ((X, np.ones((6, 1, 7, 7)), PW, 3), {}, r"impossible output shape"),
    ],
)
def test_bad_arguments(args, kwargs, match):
    with pytest.raises(LegacyconvError, match=match):
        separable_conv2d(*args, **kwargs)
