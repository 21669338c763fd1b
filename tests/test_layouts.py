"""legacyconv.layouts: exact re-arrangements, checked element by element against index formulas
written here, exact round trips (hypothesis), validation, and the Dense-after-Flatten meaning."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legacyconv import LegacyconvError, layouts

dims = st.integers(1, 4)


def _arange(shape, dtype=np.int64):
    return np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)


# --------------------------------------------------------------------------- element formulas


def test_nchw_to_nhwc_moves_each_element():
    x = _arange((2, 3, 4, 5))
    y = layouts.nchw_to_nhwc(x)
    assert y.shape == (2, 4, 5, 3)
    for n, c, h, w in itertools.product(*map(range, x.shape)):
        assert y[n, h, w, c] == x[n, c, h, w]


def test_ncdhw_to_ndhwc_moves_each_element():
    x = _arange((2, 3, 2, 3, 4))
    y = layouts.ncdhw_to_ndhwc(x)
    assert y.shape == (2, 2, 3, 4, 3)
    for n, c, d, h, w in itertools.product(*map(range, x.shape)):
        assert y[n, d, h, w, c] == x[n, c, d, h, w]


@pytest.mark.parametrize("flip", [True, False])
def test_theano_kernel_to_tf_formula(flip):
    w = _arange((4, 3, 2, 5))
    k = layouts.theano_kernel_to_tf(w, filter_flip=flip)
    assert k.shape == (2, 5, 3, 4)
    for o, c, i, j in itertools.product(*map(range, w.shape)):
        src = (o, c, 1 - i, 4 - j) if flip else (o, c, i, j)
        assert k[i, j, c, o] == w[src]


@pytest.mark.parametrize("flip", [True, False])
def test_theano_kernel3d_to_tf_formula(flip):
    w = _arange((3, 2, 2, 3, 4))
    k = layouts.theano_kernel3d_to_tf(w, filter_flip=flip)
    assert k.shape == (2, 3, 4, 2, 3)
    for o, c, d, i, j in itertools.product(*map(range, w.shape)):
        src = (o, c, 1 - d, 2 - i, 3 - j) if flip else (o, c, d, i, j)
        assert k[d, i, j, c, o] == w[src]


@pytest.mark.parametrize("flip", [True, False])
def test_depthwise_formula_k_times_multiplier_plus_q(flip):
    channels, mult = 3, 2
    w = _arange((channels * mult, 1, 2, 3))
    k = layouts.theano_depthwise_kernel_to_tf(w, filter_flip=flip, num_channels=channels)
    assert k.shape == (2, 3, channels, mult)
    for c, q, i, j in itertools.product(range(channels), range(mult), range(2), range(3)):
        src = (c * mult + q, 0, 1 - i, 2 - j) if flip else (c * mult + q, 0, i, j)
        assert k[i, j, c, q] == w[src]


def test_depthwise_needs_num_channels():
    w = _arange((6, 1, 2, 2))  # 6 = 6 x 1, 3 x 2, 2 x 3 or 1 x 6: the shape cannot say
    with pytest.raises(LegacyconvError, match=r"num_channels is required: .*\(6, 1, 2, 2\)"):
        layouts.theano_depthwise_kernel_to_tf(w, num_channels=None)
    with pytest.raises(TypeError, match="num_channels"):
        layouts.theano_depthwise_kernel_to_tf(w)


def test_pointwise_formula():
    w = _arange((4, 6, 1, 1))
    k = layouts.theano_pointwise_kernel_to_tf(w)
    assert k.shape == (1, 1, 6, 4)
    for o, c in itertools.product(range(4), range(6)):
        assert k[0, 0, c, o] == w[o, c, 0, 0]


@pytest.mark.parametrize("flip", [True, False])
def test_transpose_kernel_formula(flip):
    w = _arange((4, 3, 2, 3))  # (in of the transpose, out of the transpose, rows, cols)
    k = layouts.theano_transpose_kernel_to_tf(w, filter_flip=flip)
    assert k.shape == (2, 3, 3, 4)  # (rows, cols, out, in)
    for i_, o, r, c in itertools.product(*map(range, w.shape)):
        src = (i_, o, 1 - r, 2 - c) if flip else (i_, o, r, c)
        assert k[r, c, o, i_] == w[src]


def test_grouped_kernel_keeps_consecutive_filter_blocks():
    w = _arange((6, 2, 3, 3))  # 3 groups of 2 filters over 2 channels each
    k = layouts.theano_kernel_to_tf(w, num_groups=3)
    assert k.shape == (3, 3, 2, 6)
    np.testing.assert_array_equal(k[..., 2:4], layouts.theano_kernel_to_tf(w[2:4]))


# --------------------------------------------------------------------------- dense after flatten


@pytest.mark.parametrize("feature_shape", [(3, 2, 4), (2, 5, 1), (1, 3, 3), (2, 2, 3, 2)])
def test_dense_rows_follow_the_new_flatten_order(feature_shape):
    rng = np.random.default_rng(0)
    units = 5
    w = rng.integers(-9, 9, size=(int(np.prod(feature_shape)), units))
    fmap = rng.integers(-9, 9, size=feature_shape)  # channels-first feature map
    theano_out = fmap.reshape(-1) @ w  # Keras 1 / Theano: Flatten of (C, H, W)
    channels_last = np.moveaxis(fmap, 0, -1)
    w_tf = layouts.dense_kernel_theano_to_tf(w, feature_shape)
    np.testing.assert_array_equal(channels_last.reshape(-1) @ w_tf, theano_out)
    assert np.array_equal(layouts.dense_kernel_tf_to_theano(w_tf, feature_shape), w)


def test_dense_row_formula():
    c, h, wd = 2, 3, 4
    w = _arange((c * h * wd, 1))
    w_tf = layouts.dense_kernel_theano_to_tf(w, (c, h, wd))
    for ch, i, j in itertools.product(range(c), range(h), range(wd)):
        assert w_tf[i * wd * c + j * c + ch, 0] == w[ch * h * wd + i * wd + j, 0]


# --------------------------------------------------------------------------- round trips


def _shape(n):
    return st.tuples(*([dims] * n))


@settings(max_examples=40, deadline=None)
@given(shape=_shape(4), flip=st.booleans(), dtype=st.sampled_from([np.float32, np.float64, np.int32]))
def test_round_trips_2d(shape, flip, dtype):
    x = _arange(shape, dtype)
    assert np.array_equal(layouts.nhwc_to_nchw(layouts.nchw_to_nhwc(x)), x)
    assert np.array_equal(layouts.nchw_to_nhwc(layouts.nhwc_to_nchw(x)), x)
    for there, back in [
        (layouts.theano_kernel_to_tf, layouts.tf_kernel_to_theano),
        (layouts.theano_transpose_kernel_to_tf, layouts.tf_transpose_kernel_to_theano),
    ]:
        y = there(x, filter_flip=flip)
        assert y.dtype == x.dtype
        assert np.array_equal(back(y, filter_flip=flip), x)
        assert np.array_equal(there(back(x, filter_flip=flip), filter_flip=flip), x)


@settings(max_examples=30, deadline=None)
@given(shape=_shape(5), flip=st.booleans())
def test_round_trips_3d(shape, flip):
    x = _arange(shape, np.float64)
    assert np.array_equal(layouts.ndhwc_to_ncdhw(layouts.ncdhw_to_ndhwc(x)), x)
    assert np.array_equal(layouts.ncdhw_to_ndhwc(layouts.ndhwc_to_ncdhw(x)), x)
    y = layouts.theano_kernel3d_to_tf(x, filter_flip=flip)
    assert np.array_equal(layouts.tf_kernel3d_to_theano(y, filter_flip=flip), x)


@settings(max_examples=30, deadline=None)
@given(channels=dims, mult=dims, rows=dims, cols=dims, flip=st.booleans(), out=dims)
def test_round_trips_depthwise_pointwise(channels, mult, rows, cols, flip, out):
    w = _arange((channels * mult, 1, rows, cols), np.float32)
    k = layouts.theano_depthwise_kernel_to_tf(w, filter_flip=flip, num_channels=channels)
    assert k.shape == (rows, cols, channels, mult)
    assert np.array_equal(layouts.tf_depthwise_kernel_to_theano(k, filter_flip=flip), w)
    p = _arange((out, channels * mult, 1, 1), np.float32)
    assert np.array_equal(layouts.tf_pointwise_kernel_to_theano(layouts.theano_pointwise_kernel_to_tf(p)), p)


@settings(max_examples=30, deadline=None)
@given(feature_shape=st.tuples(dims, dims, dims), units=dims)
def test_round_trips_dense(feature_shape, units):
    w = _arange((int(np.prod(feature_shape)), units), np.float64)
    there = layouts.dense_kernel_theano_to_tf(w, feature_shape)
    assert np.array_equal(layouts.dense_kernel_tf_to_theano(there, feature_shape), w)
    assert np.array_equal(
        layouts.dense_kernel_theano_to_tf(layouts.dense_kernel_tf_to_theano(w, feature_shape), feature_shape),
        w,
    )


# --------------------------------------------------------------------------- copies, inputs


def test_results_are_new_contiguous_arrays_and_inputs_untouched():
    x = _arange((2, 3, 4, 5), np.float32)[:, :, ::-1]  # non-contiguous, negative strides
    before = x.copy()
    for fn in (layouts.nchw_to_nhwc, layouts.theano_kernel_to_tf, layouts.tf_kernel_to_theano):
        y = fn(x)
        assert y.flags.c_contiguous and not np.shares_memory(x, y)
        y[...] = -1
    np.testing.assert_array_equal(x, before)
    one = _arange((1, 1, 1, 1), np.float32)  # a transpose that needs no copy still copies
    assert not np.shares_memory(layouts.nchw_to_nhwc(one), one)


def test_accepts_nested_lists():
    assert layouts.nchw_to_nhwc([[[[1, 2]]]]).shape == (1, 1, 2, 1)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "fn, shape, match",
    [
        (
            layouts.nchw_to_nhwc,
            (2, 3, 4),
            r"x must be a 4-d array \(batch, channels, rows, cols\)\. Received: x\.shape=\(2, 3, 4\)",
        ),
        (layouts.nhwc_to_nchw, (2, 3, 4, 5, 6), r"x must be a 4-d array \(batch, rows, cols, channels\)"),
        (layouts.ncdhw_to_ndhwc, (2, 3, 4, 5), r"x must be a 5-d array \(batch, channels, depth"),
        (layouts.ndhwc_to_ncdhw, (2, 3, 4, 5), r"x must be a 5-d array \(batch, depth"),
        (
            layouts.theano_kernel_to_tf,
            (3, 3, 3),
            r"w must be a 4-d array \(out_channels, in_channels // num_groups, rows, cols\)\. Received: w\.shape=\(3, 3, 3\)",
        ),
        (layouts.tf_kernel_to_theano, (3, 3), r"w must be a 4-d array \(rows, cols"),
        (layouts.theano_kernel3d_to_tf, (3, 3, 3, 3), r"w must be a 5-d array"),
        (layouts.tf_kernel3d_to_theano, (3, 3, 3, 3), r"w must be a 5-d array"),
        (
            functools.partial(layouts.theano_depthwise_kernel_to_tf, num_channels=3),
            (3, 3, 3),
            r"w must be a 4-d array \(channels \* multiplier, 1",
        ),
        (
            layouts.tf_depthwise_kernel_to_theano,
            (3, 3, 3),
            r"w must be a 4-d array \(rows, cols, channels, multiplier\)",
        ),
        (layouts.theano_pointwise_kernel_to_tf, (3, 3), r"w must be a 4-d array"),
        (layouts.tf_pointwise_kernel_to_theano, (3, 3), r"w must be a 4-d array"),
        (layouts.theano_transpose_kernel_to_tf, (3, 3), r"w must be a 4-d array \(in_channels, out_channels"),
        (layouts.tf_transpose_kernel_to_theano, (3, 3), r"w must be a 4-d array \(rows, cols, out_channels"),
    ],
)
def test_wrong_rank_is_named(fn, shape, match):
    with pytest.raises(LegacyconvError, match=match):
        fn(np.zeros(shape))


def test_group_divisibility():
    with pytest.raises(
        LegacyconvError, match=r"divisible by num_groups: w\.shape=\(5, 2, 3, 3\) has 5 filters, num_groups=2"
    ):
        layouts.theano_kernel_to_tf(np.zeros((5, 2, 3, 3)), num_groups=2)
    with pytest.raises(LegacyconvError, match=r"divisible by num_groups: w\.shape=\(3, 3, 2, 5\)"):
        layouts.tf_kernel_to_theano(np.zeros((3, 3, 2, 5)), num_groups=2)
    with pytest.raises(LegacyconvError, match=r"num_groups must be a positive integer"):
        layouts.theano_kernel_to_tf(np.zeros((4, 2, 3, 3)), num_groups=0)
    with pytest.raises(LegacyconvError, match=r"divisible by num_groups"):
        layouts.theano_kernel3d_to_tf(np.zeros((5, 1, 1, 1, 1)), num_groups=2)


def test_depthwise_and_pointwise_shapes_checked():
    with pytest.raises(LegacyconvError, match=r"1 input channel per group.*w\.shape=\(4, 2, 3, 3\)"):
        layouts.theano_depthwise_kernel_to_tf(np.zeros((4, 2, 3, 3)), num_channels=4)
    with pytest.raises(
        LegacyconvError,
        match=r"multiple of num_channels: w\.shape=\(4, 1, 3, 3\) has 4 filters, num_channels=3",
    ):
        layouts.theano_depthwise_kernel_to_tf(np.zeros((4, 1, 3, 3)), num_channels=3)
    with pytest.raises(LegacyconvError, match=r"pointwise kernel must be 1x1.*w\.shape=\(4, 2, 3, 1\)"):
        layouts.theano_pointwise_kernel_to_tf(np.zeros((4, 2, 3, 1)))
    with pytest.raises(LegacyconvError, match=r"pointwise kernel must be 1x1.*w\.shape=\(1, 2, 3, 4\)"):
        layouts.tf_pointwise_kernel_to_theano(np.zeros((1, 2, 3, 4)))


def test_filter_flip_must_be_bool():
    with pytest.raises(
        LegacyconvError, match=r"filter_flip must be True or False\. Received: filter_flip='yes'"
    ):
        layouts.theano_kernel_to_tf(np.zeros((1, 1, 2, 2)), filter_flip="yes")


def test_dense_shapes_checked():
    with pytest.raises(
        LegacyconvError, match=r"feature_shape=\(2, 3, 4\) gives 24 features, but w\.shape=\(23, 5\)"
    ):
        layouts.dense_kernel_theano_to_tf(np.zeros((23, 5)), (2, 3, 4))
    with pytest.raises(LegacyconvError, match=r"feature_shape must be the channels-first"):
        layouts.dense_kernel_theano_to_tf(np.zeros((24, 5)), (24,))
    with pytest.raises(LegacyconvError, match=r"feature_shape must be the channels-first"):
        layouts.dense_kernel_tf_to_theano(np.zeros((24, 5)), (2, 0, 4))
    with pytest.raises(LegacyconvError, match=r"w must be a 2-d array \(flattened features, units\)"):
        layouts.dense_kernel_theano_to_tf(np.zeros(24), (2, 3, 4))


def test_ragged_input_is_a_type_error():
    with pytest.raises(TypeError, match="x must be an array"):
        layouts.nchw_to_nhwc([[1, 2], [3]])


# --------------------------------------------------------------------------- transposed conv kernels


def _golden_transpose_cases():
    from golden import cases

    return [c for c in cases("conv2d_transpose") if "error" not in c]


@pytest.mark.parametrize("case", _golden_transpose_cases(), ids=lambda c: c["name"])
def test_transpose_kernel_reproduces_theano_conv2d_transpose(case):
    """Real Theano conv2d_transpose outputs, recomputed by tf.nn.conv2d_transpose with the
    converted filters and legacyconv's padding mapping."""
    tf = pytest.importorskip("tensorflow")
    from legacyconv.padding import tf_padding

    y, w = case["inputs"]
    kw = case["kwargs"]
    out_shape = kw["output_shape"]
    strides = kw.get("input_dilation", (1, 1))
    padding = tf_padding(kw.get("border_mode", "valid"), w.shape[2:], strides)
    got = tf.nn.conv2d_transpose(
        layouts.nchw_to_nhwc(y),
        layouts.theano_transpose_kernel_to_tf(w, kw.get("filter_flip", True)),
        (out_shape[0], out_shape[2], out_shape[3], out_shape[1]),
        [1, *strides, 1],
        padding,
    ).numpy()
    expected = case["expected"]
    np.testing.assert_allclose(
        layouts.nhwc_to_nchw(got), expected, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(expected).max())
    )
