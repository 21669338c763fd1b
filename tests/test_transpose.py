"""conv2d_transpose against real Theano 1.0.5 (golden) on every engine, as the adjoint of
conv2d, and against the naive scatter
loop of tests/reference.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import legacyconv
from legacyconv import LegacyconvError, conv2d, workspace_limit
from legacyconv.layouts import nchw_to_nhwc, nhwc_to_nchw, theano_transpose_kernel_to_tf
from legacyconv.transpose import conv2d_transpose

from golden import assert_matches_theano, cases
from reference import conv_transpose as naive_transpose
from reference import pads as pads_of

BACKENDS = ["numpy", "scipy", "tensorflow"]
CASES = cases("conv2d_transpose")


# --------------------------------------------------------------------------- golden


def test_golden_file_has_the_cases():
    assert len(CASES) >= 5 and any("error" in c for c in CASES)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_theano(case, backend):
    # Theano's error: "CorrMM shape inconsistency"
    assert_matches_theano(
        conv2d_transpose, case, error_match=r"output_shape is inconsistent with the input", backend=backend
    )


@pytest.mark.parametrize("case", [c for c in CASES if "error" not in c], ids=lambda c: c["name"])
def test_naive_reference_agrees_with_theano(case):
    y, w = case["inputs"]
    k = case["kwargs"]
    ref = naive_transpose(y, w, k["output_shape"][2:], k["border_mode"], k["input_dilation"], (1, 1), 1, True)
    np.testing.assert_allclose(ref, case["expected"], rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- properties


@st.composite
def transpose_args(draw):
    groups = draw(st.integers(1, 2))
    n_in = groups * draw(st.integers(1, 2))
    cg = draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pair = st.tuples(st.integers(0, 3), st.integers(0, 3))
    mode = draw(
        st.sampled_from(["valid", "full", "half"])
        | st.integers(0, 3)
        | st.tuples(st.integers(0, 3), st.integers(0, 3))
        | st.tuples(pair, st.integers(0, 2))
        | st.tuples(pair, pair)
    )
    out_hw = (draw(st.integers(1, 8)), draw(st.integers(1, 8)))
    pads = pads_of(mode, kernel, dilation)
    assume(all(h + p[0] + p[1] >= (k - 1) * d + 1 for h, p, k, d in zip(out_hw, pads, kernel, dilation)))
    top = tuple(
        (h + p[0] + p[1] - (k - 1) * d - 1) // s + 1
        for h, p, k, d, s in zip(out_hw, pads, kernel, dilation, stride)
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    y = rng.standard_normal((2, n_in) + top)
    w = rng.standard_normal((n_in, cg) + kernel)
    flip = draw(st.booleans())
    return y, w, out_hw, mode, stride, dilation, groups, flip


def _call(args, backend="numpy"):
    y, w, out_hw, mode, stride, dilation, groups, flip = args
    return conv2d_transpose(
        y,
        w,
        (y.shape[0], w.shape[1] * groups) + out_hw,
        border_mode=mode,
        input_dilation=stride,
        filter_flip=flip,
        filter_dilation=dilation,
        num_groups=groups,
        backend=backend,
    )


@settings(max_examples=60, deadline=None)
@given(transpose_args())
def test_adjoint_of_conv2d(args):
    # <conv2d(x, w), y> == <x, conv2d_transpose(y, w)>: the defining property of Theano's op
    y, w, out_hw, mode, stride, dilation, groups, flip = args
    x = np.random.default_rng(0).standard_normal((y.shape[0], w.shape[1] * groups) + out_hw)
    forward = conv2d(
        x,
        w,
        border_mode=mode,
        subsample=stride,
        filter_flip=flip,
        filter_dilation=dilation,
        num_groups=groups,
    )
    assert forward.shape == y.shape
    lhs = np.vdot(forward, y)
    rhs = np.vdot(x, _call(args))
    assert abs(lhs - rhs) <= 1e-10 * (1 + abs(lhs))


@settings(max_examples=40, deadline=None)
@given(transpose_args())
def test_numpy_matches_naive_reference(args):
    y, w, out_hw, mode, stride, dilation, groups, flip = args
    ref = naive_transpose(y, w, out_hw, mode, stride, dilation, groups, flip)
    np.testing.assert_allclose(_call(args), ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("backend", ["scipy", "tensorflow"])
@settings(max_examples=12, deadline=None)
@given(args=transpose_args())
def test_other_engines_match_naive_reference(backend, args):
    y, w, out_hw, mode, stride, dilation, groups, flip = args
    ref = naive_transpose(y, w, out_hw, mode, stride, dilation, groups, flip)
    np.testing.assert_allclose(_call(args, backend), ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rows_no_input_pixel_reaches_are_zero(backend):
    # valid, k=2, stride 2: outputs 4 and 5 both come from 2 input rows; row 4 gets nothing
    y = np.ones((1, 1, 2, 2), np.float32)
    out = conv2d_transpose(
        y, np.ones((1, 1, 2, 2), np.float32), (1, 1, 5, 5), input_dilation=(2, 2), backend=backend
    )
    assert out.shape == (1, 1, 5, 5)
    np.testing.assert_array_equal(out[0, 0, 4], 0)
    np.testing.assert_array_equal(out[0, 0, :4, :4], 1)


def test_chunked_workspace_gives_the_same_result():
    rng = np.random.default_rng(5)
    y = rng.standard_normal((2, 4, 32, 40))
    w = rng.standard_normal((4, 8, 3, 3))
    kwargs = dict(border_mode="half", input_dilation=(2, 2), filter_dilation=(1, 2))
    expected = conv2d_transpose(y, w, (2, 8, 64, 80), **kwargs)
    with workspace_limit(2**20):  # one image's columns need ~2.9 MB: chunks of rows
        chunked = conv2d_transpose(y, w, (2, 8, 64, 80), **kwargs)
    np.testing.assert_array_equal(chunked, expected)


def test_tensorflow_mapping_of_the_kernel():
    # What a migration writes: tf.nn.conv2d_transpose with the converted kernel and
    # Theano's padding as explicit pairs.
    import tensorflow as tf

    rng = np.random.default_rng(6)
    y = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 2)).astype(np.float32)
    expected = conv2d_transpose(y, w, (2, 2, 8, 10), border_mode=(1, (0, 1)), input_dilation=(2, 2))
    got = tf.nn.conv2d_transpose(
        nchw_to_nhwc(y),
        theano_transpose_kernel_to_tf(w),
        output_shape=[2, 8, 10, 2],
        strides=[2, 2],
        padding=[[0, 0], [1, 1], [0, 1], [0, 0]],
    )
    np.testing.assert_allclose(nhwc_to_nchw(got.numpy()), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "dtypes, expected",
    [
        ((np.float32, np.float32), np.float32),
        ((np.float32, np.float64), np.float64),
        ((np.int64, np.int64), np.float64),
        ((np.float16, np.float16), np.float16),
    ],
)
def test_result_dtype(dtypes, expected):
    y = np.ones((1, 2, 3, 3), dtypes[0])
    w = np.ones((2, 1, 2, 2), dtypes[1])
    out = conv2d_transpose(y, w, (4, 4))
    assert out.dtype == expected
    np.testing.assert_array_equal(out[0, 0], [[2, 4, 4, 2], [4, 8, 8, 4], [4, 8, 8, 4], [2, 4, 4, 2]])


def test_empty_batch():
    out = conv2d_transpose(np.ones((0, 2, 3, 3)), np.ones((2, 1, 2, 2)), (None, 1, 4, 4))
    assert out.shape == (0, 1, 4, 4)


def test_mirrors():
    assert legacyconv.conv2d_transpose is conv2d_transpose
    assert legacyconv.nnet.conv2d_transpose is conv2d_transpose
    assert legacyconv.nnet.abstract_conv.conv2d_transpose is conv2d_transpose


# --------------------------------------------------------------------------- errors

Y = np.ones((2, 3, 4, 4))
W = np.ones((3, 2, 3, 3))


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (
            (Y, W, (2, 2, 9, 9)),
            {"border_mode": "half", "input_dilation": (2, 2)},
            r"inconsistent.*image of size \(9, 9\).*would give \(5, 5\), but input.shape=\(2, 3, 4, 4\) has \(4, 4\)"
            r".*consistent with the input: \(7..8, 7..8\)",
        ),
        ((Y, W, (2, 2, 5, 6)), {}, r"inconsistent.*consistent with the input: \(6, 6\)"),
        (
            (Y, W, (2, 2, 1, 1)),
            {},
            r"would give no output \(the padded image is smaller than the dilated kernel\)",
        ),
        (
            (Y, W, (3, 2, 6, 6)),
            {},
            r"same batch size: output_shape=\(3, 2, 6, 6\), input.shape=\(2, 3, 4, 4\)",
        ),
        (
            (Y, W, (2, 5, 6, 6)),
            {},
            r"output_shape=\(2, 5, 6, 6\) has 5 channels, filters.shape=\(3, 2, 3, 3\) with num_groups=1 give 2",
        ),
        (
            (Y, W, (6, 6, 6)),
            {},
            r"output_shape must be \(batch, channels, rows, cols\).*Received: output_shape=\(6, 6, 6\)",
        ),
        ((Y, W, (2, 2, None, 6)), {}, r"output_shape must be"),
        ((Y, W, None), {}, r"output_shape must be"),
        (
            (Y, np.ones((4, 2, 3, 3)), (6, 6)),
            {},
            r"input.shape=\(2, 3, 4, 4\) has 3 channels, filters.shape=\(4, 2, 3, 3\) expects 4",
        ),
        ((Y, W, (6, 6)), {"num_groups": 2}, r"divisible by num_groups.*num_groups=2"),
        (
            (Y, W, (6, 6)),
            {"filter_shape": (3, 2, 3, 4)},
            r"shape hint does not match.*filter_shape=\(3, 2, 3, 4\)",
        ),
        ((Y, W, (6, 6)), {"border_mode": "same"}, r"border_mode must be one of.*'half'"),
        (
            (Y, W, (6, 6)),
            {"input_dilation": (0, 1)},
            r"input_dilation must be a tuple of 2 positive integers",
        ),
        ((Y, W, (6, 6)), {"filter_flip": "yes"}, r"filter_flip must be True or False"),
        (
            (Y[0], W, (6, 6)),
            {},
            r"input must be a 4-d array \(batch, in_channels, rows, cols\). Received: input.shape=\(3, 4, 4\)",
        ),
        ((Y, W[0], (6, 6)), {}, r"filters must be a 4-d array \(in_channels, out_channels // num_groups"),
        ((Y, W, (6, 6)), {"backend": "jax"}, r"backend must be one of"),
    ],
)
def test_bad_arguments(args, kwargs, match):
    with pytest.raises(LegacyconvError, match=match):
        conv2d_transpose(*args, **kwargs)


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="input"):
        conv2d_transpose(Y.astype(complex), W, (6, 6))
