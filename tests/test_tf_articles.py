"""The TensorFlow articles in ../shared/seeds/, number for number:

- tf_separable_conv_example.txt: regular, depthwise, pointwise and separable convolutions of
  arange(20) as (1, 1, 10, 2) with ones kernels;
- conv_output_size_and_1x1.txt: output sizes 214 and 56, and a 1x1 convolution;
- tf_depthwise_conv2d_doc.txt / tf_conv2d_depthwise_separable.md: the formulas of conv2d,
  depthwise_conv2d (output channel k * channel_multiplier + q) and separable_conv2d.

Each is computed by converting to Theano layout, running legacyconv (numpy engine) and
converting back, and by TensorFlow itself.
"""

from __future__ import annotations

import numpy as np
import pytest

import legacyconv
from legacyconv import layouts

tf = pytest.importorskip("tensorflow")

# ---- tf_separable_conv_example.txt ("結果" section)
X_ARTICLE = np.arange(20).astype(np.float32).reshape(1, 1, 10, 2)
Y1_REGULAR = np.array(
    [[15, 15], [27, 27], [39, 39], [51, 51], [63, 63], [75, 75], [87, 87], [99, 99]], np.float32
)
Y2_DEPTHWISE = np.array(
    [[6, 9], [12, 15], [18, 21], [24, 27], [30, 33], [36, 39], [42, 45], [48, 51]], np.float32
)
W1 = np.ones((1, 3, 2, 2), np.float32)  # regular
W2 = np.ones((1, 3, 2, 1), np.float32)  # depthwise
W3 = np.ones((1, 1, 2, 2), np.float32)  # pointwise


def _legacyconv_regular(x_nhwc, w_hwio, backend="numpy"):
    """TF's conv2d via Theano layout: TF kernels are cross-correlations, so convert with the
    same filter_flip the Theano call uses (the flips cancel)."""
    out = legacyconv.conv2d(
        layouts.nhwc_to_nchw(x_nhwc), layouts.tf_kernel_to_theano(w_hwio), backend=backend
    )
    return layouts.nchw_to_nhwc(out)


def _legacyconv_depthwise(x_nhwc, w_depthwise, backend="numpy"):
    channels = x_nhwc.shape[-1]
    out = legacyconv.conv2d(
        layouts.nhwc_to_nchw(x_nhwc),
        layouts.tf_depthwise_kernel_to_theano(w_depthwise),
        num_groups=channels,
        backend=backend,
    )
    return layouts.nchw_to_nhwc(out)


def _legacyconv_pointwise(x_nhwc, w_pointwise, backend="numpy"):
    out = legacyconv.conv2d(
        layouts.nhwc_to_nchw(x_nhwc), layouts.tf_pointwise_kernel_to_theano(w_pointwise), backend=backend
    )
    return layouts.nchw_to_nhwc(out)


@pytest.mark.parametrize("backend", ["numpy", "tensorflow"])
def test_separable_example_through_legacyconv(backend):
    y1 = _legacyconv_regular(X_ARTICLE, W1, backend)
    y2 = _legacyconv_depthwise(X_ARTICLE, W2, backend)
    y3 = _legacyconv_pointwise(y2, W3, backend)
    assert y1.shape == y2.shape == y3.shape == (1, 1, 8, 2)
    np.testing.assert_array_equal(y1[0, 0], Y1_REGULAR)
    np.testing.assert_array_equal(y2[0, 0], Y2_DEPTHWISE)
    np.testing.assert_array_equal(y3[0, 0], Y1_REGULAR)  # depthwise then pointwise == regular


def test_separable_example_through_tensorflow():
    y1 = tf.nn.conv2d(X_ARTICLE, W1, strides=[1, 1, 1, 1], padding="VALID").numpy()
    y2 = tf.nn.depthwise_conv2d(X_ARTICLE, W2, strides=[1, 1, 1, 1], padding="VALID").numpy()
    y3 = tf.nn.conv2d(y2, W3, strides=[1, 1, 1, 1], padding="VALID").numpy()
    y4 = tf.nn.separable_conv2d(X_ARTICLE, W2, W3, strides=[1, 1, 1, 1], padding="VALID").numpy()
    np.testing.assert_array_equal(y1[0, 0], Y1_REGULAR)
    np.testing.assert_array_equal(y2[0, 0], Y2_DEPTHWISE)
    np.testing.assert_array_equal(y3[0, 0], Y1_REGULAR)
    np.testing.assert_array_equal(y4[0, 0], Y1_REGULAR)


def test_separable_example_2_random_weights():
    """Sample code 2: random kernels; depthwise + pointwise == separable, and legacyconv's
    converted Theano computation reproduces each TF result."""
    rng = np.random.default_rng(0)
    w_r = rng.standard_normal((1, 3, 2, 2)).astype(np.float32)
    w_d = rng.standard_normal((1, 3, 2, 1)).astype(np.float32)
    w_p = rng.standard_normal((1, 1, 2, 2)).astype(np.float32)
    y_r = tf.nn.conv2d(X_ARTICLE, w_r, strides=1, padding="VALID").numpy()
    y_d = tf.nn.depthwise_conv2d(X_ARTICLE, w_d, strides=[1, 1, 1, 1], padding="VALID").numpy()
    y_s = tf.nn.separable_conv2d(X_ARTICLE, w_d, w_p, strides=[1, 1, 1, 1], padding="VALID").numpy()
    tol = dict(rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(_legacyconv_regular(X_ARTICLE, w_r), y_r, **tol)
    np.testing.assert_allclose(_legacyconv_depthwise(X_ARTICLE, w_d), y_d, **tol)
    np.testing.assert_allclose(_legacyconv_pointwise(_legacyconv_depthwise(X_ARTICLE, w_d), w_p), y_s, **tol)


# ---- conv_output_size_and_1x1.txt


def test_output_size_examples():
    # (224, 224, 3), no padding, stride 1, 11x11 filter -> 214 x 214 x 1
    assert legacyconv.get_conv_output_shape((1, 3, 224, 224), (1, 3, 11, 11), "valid", (1, 1)) == (
        1,
        1,
        214,
        214,
    )
    # (224, 224, 3), padding 0, stride 4, 4x4 filter -> 56
    assert legacyconv.get_conv_output_shape((1, 3, 224, 224), (1, 3, 4, 4), "valid", (4, 4))[2:] == (56, 56)
    # and TF agrees
    x = np.zeros((1, 224, 224, 3), np.float32)
    assert tf.nn.conv2d(x, np.zeros((11, 11, 3, 1), np.float32), 1, "VALID").shape == (1, 214, 214, 1)
    assert tf.nn.conv2d(x, np.zeros((4, 4, 3, 1), np.float32), 4, "VALID").shape == (1, 56, 56, 1)


X_1X1 = np.array(
    [[[1, 1], [5, 7]], [[2, 6], [7, 3]], [[1, 8], [2, 2]]], np.float32
)  # (3, 2, 2) channels-first
Y_1X1 = np.array([[16, 60], [56, 48]], np.float32)


@pytest.mark.parametrize("backend", ["numpy", "tensorflow"])
def test_1x1_convolution_theano_layout(backend):
    w = np.full((1, 3, 1, 1), 4, np.float32)  # Theano (out, in, 1, 1)
    out = legacyconv.conv2d(X_1X1[None], w, backend=backend)
    np.testing.assert_array_equal(out[0, 0], Y_1X1)


def test_1x1_convolution_keras_as_in_the_article():
    x = np.expand_dims(X_1X1.transpose(1, 2, 0), 0)  # the article's channels-last conversion
    np.testing.assert_array_equal(x, layouts.nchw_to_nhwc(X_1X1[None]))
    model = tf.keras.models.Sequential(
        [tf.keras.Input(x.shape[1:]), tf.keras.layers.Conv2D(1, 1, use_bias=False)]
    )
    assert model.get_weights()[0].shape == (1, 1, 3, 1)
    weights = layouts.theano_pointwise_kernel_to_tf(np.full((1, 3, 1, 1), 4, np.float32))
    model.set_weights([weights])
    np.testing.assert_array_equal(np.asarray(model(x))[0, :, :, 0], Y_1X1)

    from legacyconv.keras.conv import to_keras_conv2d

    (layer,) = to_keras_conv2d(np.full((1, 3, 1, 1), 4, np.float32))
    np.testing.assert_array_equal(np.asarray(layer(x))[0, :, :, 0], Y_1X1)


# ---- tf_depthwise_conv2d_doc.txt / tf_conv2d_depthwise_separable.md


def _doc_conv2d(x, f, s):
    """output[b, i, j, k] = sum_{di, dj, q} input[b, s*i + di, s*j + dj, q] * filter[di, dj, q, k]"""
    b_, h, w, _ = x.shape
    fh, fw, _, out_ch = f.shape
    oh, ow = (h - fh) // s + 1, (w - fw) // s + 1
    out = np.zeros((b_, oh, ow, out_ch))
    for b in range(b_):
        for i in range(oh):
            for j in range(ow):
                for k in range(out_ch):
                    out[b, i, j, k] = np.sum(x[b, s * i : s * i + fh, s * j : s * j + fw, :] * f[:, :, :, k])
    return out


def _doc_depthwise(x, f, s, rate=1):
    """output[b, i, j, k * channel_multiplier + q] = sum_{di, dj}
    filter[di, dj, k, q] * input[b, s*i + rate*di, s*j + rate*dj, k]"""
    b_, h, w, channels = x.shape
    fh, fw, _, mult = f.shape
    oh, ow = (h - (fh - 1) * rate - 1) // s + 1, (w - (fw - 1) * rate - 1) // s + 1
    out = np.zeros((b_, oh, ow, channels * mult))
    for b in range(b_):
        for i in range(oh):
            for j in range(ow):
                for k in range(channels):
                    for q in range(mult):
                        acc = 0.0
                        for di in range(fh):
                            for dj in range(fw):
                                acc += f[di, dj, k, q] * x[b, s * i + rate * di, s * j + rate * dj, k]
                        out[b, i, j, k * mult + q] = acc
    return out


def _doc_separable(x, fd, fp):
    """output[b, i, j, k] = sum_{di, dj, q, r} input[b, i + di, j + dj, q] *
    depthwise_filter[di, dj, q, r] * pointwise_filter[0, 0, q * channel_multiplier + r, k]"""
    b_, h, w, channels = x.shape
    fh, fw, _, mult = fd.shape
    out = np.zeros((b_, h - fh + 1, w - fw + 1, fp.shape[-1]))
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            for k in range(out.shape[3]):
                for q in range(channels):
                    for r in range(mult):
                        patch = x[:, i : i + fh, j : j + fw, q]
                        out[:, i, j, k] += (
                            np.sum(patch * fd[:, :, q, r], axis=(1, 2)) * fp[0, 0, q * mult + r, k]
                        )
    return out


def test_conv2d_doc_formula():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 7, 6, 3))
    f = rng.standard_normal((3, 2, 3, 4))
    expected = _doc_conv2d(x, f, 2)
    out = legacyconv.conv2d(layouts.nhwc_to_nchw(x), layouts.tf_kernel_to_theano(f), subsample=(2, 2))
    np.testing.assert_allclose(layouts.nchw_to_nhwc(out), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tf.nn.conv2d(x, f, 2, "VALID").numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride, rate", [(1, 1), (2, 1), (1, 2)])
def test_depthwise_channel_order_k_times_multiplier_plus_q(stride, rate):
    rng = np.random.default_rng(2)
    channels, mult = 3, 2
    x = rng.standard_normal((1, 8, 9, channels))
    f = rng.standard_normal((2, 3, channels, mult))
    expected = _doc_depthwise(x, f, stride, rate)
    # Theano: a grouped conv2d with one group per input channel, filters (channels * mult, 1, r, c)
    theano_w = layouts.tf_depthwise_kernel_to_theano(f)
    assert theano_w.shape == (channels * mult, 1, 2, 3)
    for backend in ("numpy", "tensorflow"):
        out = legacyconv.conv2d(
            layouts.nhwc_to_nchw(x),
            theano_w,
            num_groups=channels,
            subsample=(stride, stride),
            filter_dilation=(rate, rate),
            backend=backend,
        )
        np.testing.assert_allclose(layouts.nchw_to_nhwc(out), expected, rtol=1e-10, atol=1e-10)
    dilations = None if rate == 1 else [rate, rate]
    got = tf.nn.depthwise_conv2d(x, f, [1, stride, stride, 1], "VALID", dilations=dilations).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_separable_doc_formula():
    rng = np.random.default_rng(3)
    channels, mult, out_ch = 2, 3, 4
    x = rng.standard_normal((2, 5, 6, channels))
    fd = rng.standard_normal((2, 2, channels, mult))
    fp = rng.standard_normal((1, 1, channels * mult, out_ch))
    expected = _doc_separable(x, fd, fp)
    depthwise = legacyconv.conv2d(
        layouts.nhwc_to_nchw(x), layouts.tf_depthwise_kernel_to_theano(fd), num_groups=channels
    )
    out = legacyconv.conv2d(depthwise, layouts.tf_pointwise_kernel_to_theano(fp))
    np.testing.assert_allclose(layouts.nchw_to_nhwc(out), expected, rtol=1e-10, atol=1e-10)
    got = tf.nn.separable_conv2d(x, fd, fp, [1, 1, 1, 1], "VALID").numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
