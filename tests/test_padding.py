"""legacyconv.padding: Theano border_mode -> TF padding. 'SAME' is only returned where it is
identical (checked exhaustively against a TF-'SAME' reference written here, and on real
TensorFlow), explicit padding always reproduces Theano, and the 'half' vs 'SAME' shift."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import legacyconv
from legacyconv import LegacyconvError, layouts
from legacyconv.padding import padding_pairs, tf_padding, tf_same_pads

tf = pytest.importorskip("tensorflow")


def _tf_same_reference(n, k, s, d):
    """TF's documented 'SAME' rule: out = ceil(n / s), pad the rest, extra pixel at the end."""
    dk = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + dk - n, 0)
    return out, total // 2


def _theano_1axis(n, k, lo, hi, s, d):
    return (n + lo + hi - ((k - 1) * d + 1)) // s + 1


# --------------------------------------------------------------------------- pairs


@pytest.mark.parametrize(
    "mode, kernel, dilation, expected",
    [
        ("valid", (3, 3), None, ((0, 0), (0, 0))),
        ("half", (3, 4), None, ((1, 1), (2, 2))),
        ("half", (3, 3), (2, 1), ((2, 2), (1, 1))),
        ("full", (3, 2), None, ((2, 2), (1, 1))),
        ("full", (8, 4, 3, 2), (1, 3), ((2, 2), (3, 3))),  # a full Theano filter shape
        (2, (3, 3), None, ((2, 2), (2, 2))),
        ((1, 2), (3, 3), None, ((1, 1), (2, 2))),
        (((1, 0), (2, 1)), (3, 3), None, ((1, 0), (2, 1))),
        ((0, (1, 2)), (3, 3), None, ((0, 0), (1, 2))),
        ("half", (3, 3, 3), None, ((1, 1), (1, 1), (1, 1))),
    ],
)
def test_padding_pairs(mode, kernel, dilation, expected):
    assert padding_pairs(mode, kernel, dilation) == expected


def test_tf_same_pads_puts_the_odd_pixel_last():
    assert tf_same_pads((5, 5), (4, 4)) == ((1, 2), (1, 2))
    assert tf_same_pads((6, 7), (3, 3), (2, 2)) == ((0, 1), (1, 1))
    assert tf_same_pads((1, 2, 6, 7), (3, 3), 2) == ((0, 1), (1, 1))  # full NCHW shape
    with pytest.raises(LegacyconvError, match="input_shape must give every spatial size"):
        tf_same_pads((None, 5), (3, 3))


# --------------------------------------------------------------------------- decisions


def test_without_input_shape_never_same():
    for mode, k, s in itertools.product(["half", "full", 1, ((1, 1), (1, 1))], [1, 2, 3, 5], [1, 2]):
        assert tf_padding(mode, (k, k), (s, s)) != "SAME"
    assert tf_padding("half", (3, 3), input_shape=(None, 3, None, 8)) != "SAME"


def test_valid_and_explicit_forms():
    assert tf_padding("valid", (3, 3), (2, 2), (2, 1)) == "VALID"
    assert tf_padding(0, (3, 3)) == "VALID"
    assert tf_padding("full", (3, 2)) == [[0, 0], [2, 2], [1, 1], [0, 0]]
    assert tf_padding(((1, 0), (2, 1)), (3, 3)) == [[0, 0], [1, 0], [2, 1], [0, 0]]
    assert tf_padding("half", (3, 3, 3), 1) == [[0, 0], [1, 1], [1, 1], [1, 1], [0, 0]]
    assert tf_padding("half", (3, 3), filter_dilation=(2, 1)) == [[0, 0], [2, 2], [1, 1], [0, 0]]


def test_half_stride1_odd_kernel_is_same_for_a_known_size():
    assert tf_padding("half", (3, 3), input_shape=(5, 6)) == "SAME"
    assert tf_padding("half", (3, 5), input_shape=(2, 3, 5, 6)) == "SAME"


def test_even_kernel_half_is_not_same():
    # Theano 'half' pads k // 2 = 2 on both sides of a 4-tap kernel (one more output);
    # TF 'SAME' pads 1 on top and 2 at the bottom.
    assert tf_padding("half", (4, 4), input_shape=(6, 6)) == [[0, 0], [2, 2], [2, 2], [0, 0]]
    # ... but Theano's asymmetric ((1, 2), (1, 2)) is exactly TF's 'SAME'
    assert tf_padding(((1, 2), (1, 2)), (4, 4), input_shape=(6, 6)) == "SAME"


def test_irrelevant_bottom_padding_is_still_valid():
    # one extra row at the bottom, stride 2: (7 + 1 - 3) // 2 + 1 == (7 - 3) // 2 + 1
    assert tf_padding(((0, 1), (0, 0)), (3, 3), (2, 2), input_shape=(7, 6)) == "VALID"
    # on 6 rows it reaches one more output row
    assert tf_padding(((0, 1), (0, 0)), (3, 3), (2, 2), input_shape=(6, 6)) == [
        [0, 0],
        [0, 1],
        [0, 0],
        [0, 0],
    ]


def test_same_is_returned_exactly_when_it_is_identical():
    """Exhaustive over small sizes: 'SAME' <=> same output size and same top padding."""
    modes = ["half", "full", 1, 2, ((1, 2), (1, 2)), ((0, 1), (0, 1)), ((2, 1), (2, 1))]
    for n, k, s, d, mode in itertools.product(range(1, 10), range(1, 6), range(1, 4), range(1, 3), modes):
        (lo, hi), _ = padding_pairs(mode, (k, k), (d, d))
        if _theano_1axis(n, k, lo, hi, s, d) < 1:
            with pytest.raises(LegacyconvError, match="impossible output shape"):
                tf_padding(mode, (k, k), (s, s), (d, d), input_shape=(n, n))
            continue
        got = tf_padding(mode, (k, k), (s, s), (d, d), input_shape=(n, n))
        out, top = _tf_same_reference(n, k, s, d)
        identical = out == _theano_1axis(n, k, lo, hi, s, d) and top == lo
        valid = (
            lo == 0
            and n >= (k - 1) * d + 1
            and (n - (k - 1) * d - 1) // s + 1 == _theano_1axis(n, k, lo, hi, s, d)
        )
        if valid:
            assert got == "VALID", (n, k, s, d, mode)
        else:
            assert (got == "SAME") == identical, (n, k, s, d, mode, got)
            if got != "SAME":
                assert got == [[0, 0], [lo, hi], [lo, hi], [0, 0]]


@pytest.mark.parametrize(
    "n, k, s, d, mode",
    [
        (7, 3, 2, 1, "half"),
        (5, 3, 1, 2, "half"),
        (10, 5, 3, 1, "half"),
        (6, 4, 1, 1, ((1, 2), (1, 2))),
        (8, 3, 2, 1, ((0, 1), (0, 1))),
        (6, 3, 2, 1, ((0, 1), (0, 1))),
        (1, 3, 2, 1, "half"),
    ],
)
def test_same_answers_match_real_tensorflow(n, k, s, d, mode):
    assert tf_padding(mode, (k, k), (s, s), (d, d), input_shape=(n, n)) == "SAME"
    rng = np.random.default_rng(n * 100 + k)
    x = rng.standard_normal((1, 2, n, n)).astype(np.float32)
    w = rng.standard_normal((3, 2, k, k)).astype(np.float32)
    theano = legacyconv.conv2d(x, w, border_mode=mode, subsample=(s, s), filter_dilation=(d, d))
    kernel = layouts.theano_kernel_to_tf(w)
    got = tf.nn.conv2d(layouts.nchw_to_nhwc(x), kernel, s, "SAME", dilations=d).numpy()
    np.testing.assert_allclose(layouts.nhwc_to_nchw(got), theano, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "mode, s, d",
    [
        ("full", (1, 1), (1, 1)),
        ("full", (2, 3), (1, 2)),
        ("half", (2, 2), (1, 1)),
        ("half", (3, 1), (2, 2)),
        (((1, 0), (2, 1)), (2, 2), (1, 1)),
        ((0, (3, 0)), (1, 2), (1, 1)),
        (4, (1, 1), (1, 1)),
    ],
)
def test_explicit_answers_match_real_tensorflow(mode, s, d):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 7)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    padding = tf_padding(mode, w.shape, s, d)
    theano = legacyconv.conv2d(x, w, border_mode=mode, subsample=s, filter_dilation=d)
    got = tf.nn.conv2d(
        layouts.nchw_to_nhwc(x),
        layouts.theano_kernel_to_tf(w),
        [1, *s, 1],
        padding,
        dilations=list(d),
    ).numpy()
    np.testing.assert_allclose(layouts.nhwc_to_nchw(got), theano, rtol=1e-5, atol=1e-5)


def test_half_vs_same_stride2_shift():
    """The naive 'half' -> 'SAME' mapping shifts every output by one pixel on an even input;
    legacyconv's mapping does not."""
    x = np.arange(36, dtype=np.float32).reshape(1, 1, 6, 6)
    w = np.zeros((1, 1, 3, 3), np.float32)
    w[0, 0, 1, 1] = 1  # picks the centre pixel of each window: the output is x sampled
    theano = legacyconv.conv2d(x, w, border_mode="half", subsample=(2, 2))
    np.testing.assert_array_equal(theano[0, 0], x[0, 0, ::2, ::2])  # Theano starts at pixel 0

    xh, kernel = layouts.nchw_to_nhwc(x), layouts.theano_kernel_to_tf(w)
    naive = tf.nn.conv2d(xh, kernel, 2, "SAME").numpy()[0, :, :, 0]
    np.testing.assert_array_equal(naive, x[0, 0, 1::2, 1::2])  # TF 'SAME' starts at pixel 1
    assert not np.array_equal(naive, theano[0, 0])

    padding = tf_padding("half", (3, 3), (2, 2), input_shape=x.shape)
    assert padding == [[0, 0], [1, 1], [1, 1], [0, 0]]
    fixed = tf.nn.conv2d(xh, kernel, 2, padding).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(fixed, theano[0, 0])


def test_3d_explicit_matches_real_tensorflow():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 2, 4, 5, 6)).astype(np.float32)
    w = rng.standard_normal((3, 2, 2, 3, 2)).astype(np.float32)
    theano = legacyconv.conv3d(x, w, border_mode="half", subsample=(2, 1, 2))
    padding = tf_padding("half", w.shape, (2, 1, 2))
    assert padding == [[0, 0], [1, 1], [1, 1], [1, 1], [0, 0]]
    xh = tf.pad(layouts.ncdhw_to_ndhwc(x), padding)  # Conv3D takes no explicit list
    got = tf.nn.conv3d(xh, layouts.theano_kernel3d_to_tf(w), [1, 2, 1, 2, 1], "VALID").numpy()
    np.testing.assert_allclose(layouts.ndhwc_to_ncdhw(got), theano, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(border_mode="same", kernel_shape=(3, 3)), r"border_mode must be one of .*'half'"),
        (dict(border_mode="half", kernel_shape=(3,)), r"kernel_shape must be the spatial kernel size"),
        (
            dict(border_mode="half", kernel_shape=(3, 0)),
            r"kernel_shape must be .*Received: kernel_shape=\(3, 0\)",
        ),
        (
            dict(border_mode="half", kernel_shape=(3, 3), subsample=(1, 1, 1)),
            r"subsample must be a tuple of 2",
        ),
        (
            dict(border_mode="half", kernel_shape=(3, 3), filter_dilation=0),
            r"filter_dilation must be a tuple of 2",
        ),
        (
            dict(border_mode="half", kernel_shape=(3, 3), input_shape=(5, 5, 5)),
            r"input_shape must be the 2 spatial",
        ),
        (dict(border_mode="valid", kernel_shape=(3, 3), input_shape=(2, 2)), r"impossible output shape"),
        (dict(border_mode=((1, 2),), kernel_shape=(3, 3)), r"border_mode must be"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(LegacyconvError, match=match):
        tf_padding(**kwargs)
