"""legacyconv.keras.to_keras_conv2d: the layers compute on NHWC what Theano computed on NCHW —
every golden (real Theano) conv2d case, the layer plans (padding, depthwise, subsampling),
bias/activation, names inside a saved and reloaded model, and argument errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import legacyconv
from legacyconv import LegacyconvError, layouts

import golden
from golden import cases

tf = pytest.importorskip("tensorflow")
keras = tf.keras

from legacyconv.keras.conv import to_keras_conv2d  # noqa: E402

GOLDEN = cases("conv2d")
HINT_KWARGS = ("input_shape", "filter_shape")


def _apply(layers, x_nchw):
    y = layouts.nchw_to_nhwc(x_nchw)
    for layer in layers:
        y = layer(y)
    return layouts.nhwc_to_nchw(np.asarray(y))


def _tol(expected):
    scale = float(np.max(np.abs(expected))) if expected.size else 1.0
    return {"rtol": 1e-5, "atol": 1e-5 * max(scale, 1.0)}


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
def test_matches_theano(case):
    x, w = case["inputs"]
    kwargs = {k: v for k, v in case["kwargs"].items() if k not in HINT_KWARGS}
    if case["name"].startswith("conv2d_hints/"):
        # Layers take no shape hints. Theano's CorrMM ignored contradicting ones and computed
        # the output kept in the golden file as 'theano_output_ignoring_hint'.
        expected = case["expected"] if "expected" in case else _output_ignoring_hint(case["name"])
        np.testing.assert_allclose(_apply(to_keras_conv2d(w, **kwargs), x), expected, **_tol(expected))
        return
    if "error" in case:  # the builder itself refuses, before TensorFlow sees the shapes
        with pytest.raises(LegacyconvError):
            to_keras_conv2d(w, input_shape=x.shape, **kwargs)
        return
    layers = to_keras_conv2d(w, input_shape=x.shape, **kwargs)
    out = _apply(layers, x)  # float32 layers, also for float64 cases
    assert out.shape == case["expected"].shape
    np.testing.assert_allclose(out, case["expected"], **_tol(case["expected"]))


def test_golden_has_19_theano_errors_for_the_builder():
    errors = [c for c in GOLDEN if "error" in c and not c["name"].startswith("conv2d_hints/")]
    assert len(errors) == 19


def test_layers_built_for_a_shape_refuse_another():
    layers = to_keras_conv2d(np.ones((2, 3, 3, 3), np.float32), border_mode=1, input_shape=(None, 3, 5, 6))
    assert _apply(layers, np.ones((2, 3, 5, 6), np.float32)).shape == (2, 2, 5, 6)
    with pytest.raises(ValueError, match="incompatible"):
        _apply(layers, np.ones((2, 3, 1, 1), np.float32))


def test_one_channel_unequal_strides_are_sliced():
    """oneDNN's one-channel Conv2D returns uninitialised memory for row stride 1, column
    stride 2 and one output column; the builder takes the column stride apart."""
    x = np.arange(1, 13, dtype=np.float32).reshape(2, 1, 2, 3)
    layers = to_keras_conv2d(np.ones((1, 1, 1, 2), np.float32), subsample=(1, 2), filter_flip=False)
    assert _kinds(layers) == ["Conv2D", "AveragePooling2D"]
    np.testing.assert_array_equal(_apply(layers, x), [[[[3], [9]]], [[[15], [21]]]])


def test_the_stride_taken_apart_keeps_nan_and_inf():
    # A size-1 MaxPooling2D turned NaN and -Inf into -3.4e38 on TensorFlow's CPU kernels.
    x = np.array([np.nan, np.inf, -np.inf, 2.0, -3.0, np.nan], np.float32).reshape(1, 1, 1, 6)
    x = np.concatenate([x, x[..., ::-1]])
    layers = to_keras_conv2d(np.ones((1, 1, 1, 1), np.float32), subsample=(1, 2))
    assert _kinds(layers) == ["Conv2D", "AveragePooling2D"]
    np.testing.assert_array_equal(_apply(layers, x), x[:, :, :, ::2])


def _output_ignoring_hint(name):
    meta, arrays = golden._load()
    (case,) = [c for c in meta["cases"] if c["name"] == name]
    return arrays[case["theano_output_ignoring_hint"]]


def test_float64_layers_keep_float64_precision():
    (case,) = [c for c in GOLDEN if c["name"] == "conv2d/20"]  # a float64 case: full, stride 2, dilation
    x, w = case["inputs"]
    assert case["dtype"] == np.float64
    layers = to_keras_conv2d(w, dtype="float64", **case["kwargs"])
    out = _apply(layers, x)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, case["expected"], rtol=1e-11, atol=1e-11)


# --------------------------------------------------------------------------- layer plans


def _kinds(layers):
    return [type(layer).__name__ for layer in layers]


PLANS = [
    # (channels, filters shape, kwargs, expected layer kinds)
    (3, (4, 3, 3, 3), dict(border_mode="valid"), ["Conv2D"]),
    (3, (4, 3, 3, 3), dict(border_mode="half", subsample=(2, 2)), ["ZeroPadding2D", "Conv2D"]),
    (3, (4, 3, 3, 2), dict(border_mode=((1, 0), (2, 1))), ["ZeroPadding2D", "Conv2D"]),
    (3, (4, 3, 3, 3), dict(subsample=(2, 1), filter_dilation=(1, 2)), ["Conv2D", "AveragePooling2D"]),
    (4, (6, 2, 3, 3), dict(num_groups=2, border_mode="full", subsample=(1, 2)), ["ZeroPadding2D", "Conv2D"]),
    (3, (6, 1, 3, 3), dict(num_groups=3, border_mode="half"), ["ZeroPadding2D", "DepthwiseConv2D"]),
    (3, (3, 1, 2, 3), dict(num_groups=3, subsample=(2, 3)), ["DepthwiseConv2D", "AveragePooling2D"]),
    (
        2,
        (4, 1, 3, 3),
        dict(num_groups=2, subsample=(2, 2), filter_dilation=(2, 2), border_mode=1),
        ["ZeroPadding2D", "DepthwiseConv2D", "AveragePooling2D"],
    ),
    (2, (4, 1, 3, 2), dict(num_groups=2, subsample=(3, 3), filter_flip=False), ["DepthwiseConv2D"]),
]


@pytest.mark.parametrize("channels, shape, kwargs, kinds", PLANS)
def test_plans_compute_theano(channels, shape, kwargs, kinds):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, channels, 9, 10)).astype(np.float32)
    w = rng.standard_normal(shape).astype(np.float32)
    w0 = w.copy()
    layers = to_keras_conv2d(w, **kwargs)
    assert _kinds(layers) == kinds
    assert all(layer.built for layer in layers)
    np.testing.assert_array_equal(w, w0)
    expected = legacyconv.conv2d(x, w, **kwargs)
    np.testing.assert_allclose(_apply(layers, x), expected, **_tol(expected))


def test_bias_and_activation():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 6, 6)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    b = np.array([0.5, -1.0, 2.0], np.float32)
    layers = to_keras_conv2d(w, b, border_mode="full", activation="relu")
    expected = np.maximum(legacyconv.conv2d(x, w, border_mode="full") + b[:, None, None], 0)
    np.testing.assert_allclose(_apply(layers, x), expected, **_tol(expected))
    assert layers[-1].use_bias and len(layers[-1].get_weights()) == 2
    assert not to_keras_conv2d(w)[0].use_bias


def test_names_in_a_model_that_is_saved_and_reloaded(tmp_path):
    rng = np.random.default_rng(3)
    w1 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    w2 = rng.standard_normal((4, 1, 3, 3)).astype(np.float32)
    b1 = rng.standard_normal(4).astype(np.float32)
    first = to_keras_conv2d(
        w1, b1, border_mode="half", subsample=(2, 2), filter_dilation=(1, 2), name="block1"
    )
    second = to_keras_conv2d(w2, border_mode="full", num_groups=4, name="block2")
    assert [layer.name for layer in first] == ["block1_pad", "block1", "block1_subsample"]
    assert [layer.name for layer in second] == ["block2_pad", "block2"]
    model = keras.Sequential([keras.Input((None, None, 3)), *first, *second])
    x = rng.standard_normal((2, 3, 7, 8)).astype(np.float32)
    expected = legacyconv.conv2d(
        legacyconv.conv2d(x, w1, border_mode="half", subsample=(2, 2), filter_dilation=(1, 2))
        + b1[:, None, None],
        w2,
        border_mode="full",
        num_groups=4,
    )
    np.testing.assert_allclose(
        layouts.nhwc_to_nchw(model.predict(layouts.nchw_to_nhwc(x), verbose=0)), expected, **_tol(expected)
    )
    path = tmp_path / "m.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        layouts.nhwc_to_nchw(reloaded.predict(layouts.nchw_to_nhwc(x), verbose=0)), expected, **_tol(expected)
    )


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((np.ones((3, 3, 3)),), {}, r"filters must be a 4-d array .*Received: filters\.shape=\(3, 3, 3\)"),
        (
            (np.ones((4, 3, 3, 3)), np.ones(3)),
            {},
            r"bias must have one value per filter: expected shape \(4,\).*bias\.shape=\(3,\)",
        ),
        (
            (np.ones((5, 1, 3, 3)),),
            dict(num_groups=2),
            r"divisible by num_groups: filters\.shape=\(5, 1, 3, 3\) has 5 filters, num_groups=2",
        ),
        ((np.ones((4, 3, 3, 3)),), dict(border_mode="same"), r"Theano's name for TF's 'same' is 'half'"),
        (
            (np.ones((4, 3, 3, 3)),),
            dict(subsample=(0, 1)),
            r"subsample must be a tuple of 2 positive integers",
        ),
        ((np.ones((4, 3, 3, 3)),), dict(filter_flip=1), r"filter_flip must be True or False"),
        ((np.ones((4, 3, 3, 3)),), dict(name=3), r"name must be a string or None"),
        ((np.ones((4, 3, 0, 3)),), {}, r"filters must have no empty axis"),
        (
            (np.ones((4, 3, 3, 3)),),
            dict(input_shape=(2, 4, 5, 5)),
            r"same stack size: input_shape=\(2, 4, 5, 5\) has 4 channels, filters.shape=\(4, 3, 3, 3\) expects 3",
        ),
        (
            (np.ones((4, 3, 3, 3)),),
            dict(input_shape=(None, 3, 5, 1), border_mode=(1, 0)),
            r"impossible output shape: the \(dilated\) kernel \(3, 3\) is larger than the padded input \(7, 1\)",
        ),
        (
            (np.ones((4, 3, 3, 3)),),
            dict(input_shape=(3, 5, 5)),
            r"input_shape must be Theano's \(batch, channels",
        ),
    ],
)
def test_bad_arguments(args, kwargs, match):
    with pytest.raises(LegacyconvError, match=match):
        to_keras_conv2d(*args, **kwargs)


def test_non_numeric_filters_are_a_type_error():
    with pytest.raises(TypeError, match="filters must have a real numeric dtype"):
        to_keras_conv2d(np.array([["a"]]))


# --------------------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None)
@given(
    data=st.data(),
    groups=st.integers(1, 2),
    cg=st.integers(1, 2),
    mode=st.one_of(
        st.sampled_from(["valid", "full", "half"]),
        st.tuples(
            st.tuples(st.integers(0, 2), st.integers(0, 2)), st.tuples(st.integers(0, 2), st.integers(0, 2))
        ),
    ),
)
def test_builder_equals_numpy_engine_and_refuses_what_it_refuses(data, groups, cg, mode):
    """Any geometry: the layers compute the numpy engine's result, and where the eager op
    raises (a kernel larger than the padded image) the builder raises before TensorFlow runs."""
    rows, cols = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    kernel = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    strides = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    dilation = data.draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal((2, groups * cg, rows, cols)).astype(np.float32)
    w = rng.standard_normal((groups * data.draw(st.integers(1, 2)), cg, *kernel)).astype(np.float32)
    kwargs = dict(border_mode=mode, subsample=strides, filter_dilation=dilation, num_groups=groups)
    try:
        expected = legacyconv.conv2d(x, w, **kwargs)
    except LegacyconvError:
        with pytest.raises(LegacyconvError, match="impossible output shape"):
            to_keras_conv2d(w, input_shape=x.shape, **kwargs)
        return
    out = _apply(to_keras_conv2d(w, input_shape=x.shape, **kwargs), x)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, **_tol(expected))
