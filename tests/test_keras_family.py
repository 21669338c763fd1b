"""Keras builders for pooling and transposed convolution: on NHWC input they must compute what
Theano computed on NCHW input. Expected values come from real Theano (the golden cases) and from
naive loop references written here (Theano's definitions), never from the builders."""

from __future__ import annotations

import numpy as np
import pytest

from legacyconv import LegacyconvError
from legacyconv._tf import import_keras
from legacyconv.keras.pool import to_keras_pool2d
from legacyconv.keras.transpose import to_keras_conv2d_transpose

from golden import cases
from reference import conv_transpose as naive_transpose
from reference import pool as naive_pool

keras = import_keras()


def run_layers(layers, x_nchw):
    t = np.transpose(x_nchw, (0, 2, 3, 1))
    for layer in layers:
        t = layer(t)
    return np.transpose(np.asarray(t), (0, 3, 1, 2))


def kinds(layers):
    return [type(layer).__name__ for layer in layers]


# --------------------------------------------------------------------------- pooling

POOL_CASES = [
    # ws, ignore_border, stride, pad, mode, image
    ((2, 2), True, None, (0, 0), "max", (7, 6)),
    ((2, 2), False, None, (0, 0), "max", (7, 7)),
    ((3, 3), False, (2, 2), (0, 0), "max", (8, 5)),
    ((2, 3), False, (3, 3), (0, 0), "max", (5, 5)),
    ((2, 2), True, (2, 2), (1, 1), "max", (6, 6)),  # Keras 1 'same' pooling on Theano
    ((3, 3), True, (1, 1), (1, 1), "max", (5, 4)),
    ((3, 2), True, (1, 2), (1, 1), "sum", (6, 7)),
    ((2, 2), False, None, (0, 0), "sum", (5, 5)),
    ((3, 3), True, (2, 2), (2, 1), "average_inc_pad", (7, 6)),
    ((2, 2), False, (1, 1), (0, 0), "average_inc_pad", (4, 5)),
    ((3, 3), False, (2, 2), (0, 0), "average_inc_pad", (6, 6)),
    ((3, 3), True, (1, 1), (1, 1), "average_exc_pad", (5, 5)),
    ((2, 3), True, (2, 2), (1, 2), "average_exc_pad", (6, 7)),
    ((2, 2), False, (3, 1), (0, 0), "average_exc_pad", (7, 4)),
]


@pytest.mark.parametrize("with_shape", [True, False])
@pytest.mark.parametrize("ws, ignore_border, stride, pad, mode, image", POOL_CASES)
def test_pool_layers_compute_theano(ws, ignore_border, stride, pad, mode, image, with_shape):
    x = np.random.default_rng(0).standard_normal((2, 3) + image).astype(np.float32)
    layers = to_keras_pool2d(ws, ignore_border, stride, pad, mode, image if with_shape else None)
    expected = naive_pool(x, ws, ignore_border, stride, pad, mode)
    got = run_layers(layers, x)
    assert got.shape == expected.shape, kinds(layers)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=str(kinds(layers)))


@pytest.mark.parametrize(
    "args, expected",
    [
        (((2, 2), True), ["MaxPooling2D"]),
        (((3, 3), True, (1, 1), (1, 1), "sum"), ["ZeroPadding2D", "AveragePooling2D", "Rescaling"]),
        (((3, 3), True, (2, 2), (1, 1), "average_inc_pad"), ["ZeroPadding2D", "AveragePooling2D"]),
        (((3, 3), True, (1, 1), (1, 1), "average_exc_pad", (5, 5)), ["AveragePooling2D"]),  # TF 'same'
        (((2, 2), True, (2, 2), (1, 1), "max", (6, 6)), ["TheanoPool2D"]),
        (((2, 2), False, None, (0, 0), "max"), ["TheanoPool2D"]),  # ceil mode, size unknown
    ],
)
def test_pool_uses_standard_layers_when_they_are_exact(args, expected):
    assert kinds(to_keras_pool2d(*args)) == expected


def test_theano_pool_layer_saves_and_loads(tmp_path):
    import legacyconv.keras.pool as kpool

    layers = to_keras_pool2d((2, 2), True, (2, 2), (1, 1), "average_exc_pad", (6, 6), name="p")
    assert isinstance(layers[0], kpool.TheanoPool2D)
    model = keras.Sequential([keras.Input((6, 6, 2)), *layers])
    x = np.random.default_rng(1).standard_normal((1, 6, 6, 2)).astype(np.float32)
    path = tmp_path / "pool.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded(x), model(x))
    assert loaded.layers[0].get_config()["pad"] == (1, 1)
    assert model.output_shape == (None, 4, 4, 2)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (
            ((2, 2), True),
            {"input_shape": (5,)},
            r"input_shape must be the pooled image size \(rows, cols\).*Received: input_shape=\(5,\)",
        ),
        (((2, 2), False, None, (1, 1)), {}, r"pad requires ignore_border=True"),
        (((2, 2), None), {}, r"ignore_border must be True or False"),
        (((2, 2), True, None, (0, 0), "avg"), {}, r"mode must be one of"),
        (((2, 2), True), {"name": 3}, r"name must be a string or None"),
    ],
)
def test_pool_builder_errors(args, kwargs, match):
    with pytest.raises(LegacyconvError, match=match):
        to_keras_pool2d(*args, **kwargs)


# --------------------------------------------------------------------------- transposed conv

TRANSPOSE_CASES = [
    # filters shape (in, out // groups, r, c), output (rows, cols), kwargs
    ((4, 3, 3, 3), (5, 5), {}),
    ((4, 3, 3, 3), (6, 6), {"border_mode": "half", "input_dilation": (2, 2)}),
    ((2, 3, 2, 2), (9, 8), {"input_dilation": (2, 2)}),  # rows no input reaches: output_padding
    ((2, 1, 3, 3), (3, 2), {"border_mode": "full"}),
    ((2, 2, 2, 3), (7, 9), {"border_mode": ((2, 0), 1), "input_dilation": (3, 2), "filter_flip": False}),
    ((2, 2, 2, 2), (6, 7), {"filter_dilation": (2, 3), "input_dilation": (1, 2)}),
    ((4, 1, 3, 3), (6, 6), {"num_groups": 2, "border_mode": 1, "input_dilation": (2, 2)}),
    ((2, 2, 1, 1), (5, 5), {"input_dilation": (3, 3)}),  # stride > kernel
]


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("shape, out_hw, kwargs", TRANSPOSE_CASES)
def test_transpose_layers_compute_theano(shape, out_hw, kwargs, use_bias):
    from legacyconv import conv2d

    rng = np.random.default_rng(2)
    w = rng.standard_normal(shape).astype(np.float32)
    groups = kwargs.get("num_groups", 1)
    n_out = shape[1] * groups
    # the input size Theano's conv2d gives for an image of out_hw
    forward_kwargs = {k.replace("input_dilation", "subsample"): v for k, v in kwargs.items()}
    top = conv2d(np.zeros((1, n_out) + out_hw), w, **forward_kwargs).shape[2:]
    y = rng.standard_normal((2, shape[0]) + top).astype(np.float32)
    bias = rng.standard_normal(n_out).astype(np.float32) if use_bias else None
    layers = to_keras_conv2d_transpose(w, bias, (None, n_out) + out_hw, **kwargs, name="up")
    expected = naive_transpose(
        y.astype(np.float64),
        w.astype(np.float64),
        out_hw,
        kwargs.get("border_mode", "valid"),
        kwargs.get("input_dilation", (1, 1)),
        kwargs.get("filter_dilation", (1, 1)),
        groups,
        kwargs.get("filter_flip", True),
    )
    if use_bias:
        expected = expected + bias[:, None, None]
    got = run_layers(layers, y)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert layers[0].name == "up"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"output_shape": None}, r"output_shape must be given"),
        (
            {"output_shape": (6, 6), "bias": np.ones(4)},
            r"bias must have one value per output channel \(num_groups=1\): expected shape \(3,\).*bias.shape=\(4,\)",
        ),
        ({"output_shape": (None, 4, 6, 6)}, r"output_shape=\(None, 4, 6, 6\) has 4 channels.*give 3"),
        ({"output_shape": (1, 1)}, r"smaller than the dilated kernel allows"),
        ({"output_shape": (6, 6), "num_groups": 3}, r"divisible by num_groups"),
        ({"output_shape": (6, 6), "filter_flip": 1}, r"filter_flip must be True or False"),
        (
            {"output_shape": (6, 6), "input_shape": (1, 3, 4, 4)},
            r"input_shape=\(1, 3, 4, 4\) has 3 channels.*expects 4",
        ),
        ({"output_shape": (2, 3, 6, 6), "input_shape": (1, 4, 4, 4)}, r"same batch size"),
        (
            {"output_shape": (6, 6), "input_shape": (1, 4, 5, 4)},
            r"input_shape=\(1, 4, 5, 4\) is inconsistent.*gives \(4, 4\)",
        ),
        ({"output_shape": (6, 6), "input_shape": (4, 4)}, r"input_shape must be Theano's"),
    ],
)
def test_transpose_builder_errors(kwargs, match):
    with pytest.raises(LegacyconvError, match=match):
        to_keras_conv2d_transpose(np.ones((4, 3, 3, 3)), **kwargs)


def test_saved_model_with_theano_pool_loads_through_legacyconv(tmp_path):
    import subprocess
    import sys

    import tensorflow as tf

    from legacyconv.keras import to_keras_pool2d

    x = -np.arange(1.0, 17.0, dtype=np.float32).reshape(1, 4, 4, 1)
    model = tf.keras.Sequential(
        [tf.keras.Input((4, 4, 1)), *to_keras_pool2d((2, 2), True, pad=(1, 1), input_shape=(4, 4))]
    )
    path = tmp_path / "m.keras"
    model.save(path)
    np.save(tmp_path / "expected.npy", model(x).numpy())
    # a fresh process, where nothing has looked the layer up yet
    code = (
        "import numpy as np, legacyconv.keras;"
        f"m = legacyconv.keras.load_model({str(path)!r});"
        "x = -np.arange(1.0, 17.0, dtype=np.float32).reshape(1, 4, 4, 1);"
        f"np.testing.assert_array_equal(m(x).numpy(), np.load({str(tmp_path / 'expected.npy')!r}));"
        "print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]


# --------------------------------------------------------------------------- golden (real Theano)

GOLDEN_POOL = cases("pool_2d")
GOLDEN_TRANSPOSE = cases("conv2d_transpose")


@pytest.mark.parametrize("with_shape", [True, False])
@pytest.mark.parametrize("case", GOLDEN_POOL, ids=[c["name"] for c in GOLDEN_POOL])
def test_pool_builder_matches_theano(case, with_shape):
    (x,) = case["inputs"]
    kwargs = dict(case["kwargs"])
    shape = x.shape[-2:] if with_shape else None
    layers = to_keras_pool2d(kwargs.pop("ws"), kwargs.pop("ignore_border"), **kwargs, input_shape=shape)
    got = run_layers(layers, x)
    assert got.shape == case["expected"].shape
    np.testing.assert_allclose(got, case["expected"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", GOLDEN_TRANSPOSE, ids=[c["name"] for c in GOLDEN_TRANSPOSE])
def test_transpose_builder_matches_theano(case):
    y, w = case["inputs"]
    if "error" in case:  # the builder itself refuses, before TensorFlow sees the shapes
        with pytest.raises(LegacyconvError, match="inconsistent with output_shape"):
            to_keras_conv2d_transpose(w, input_shape=y.shape, **case["kwargs"])
        with pytest.raises(ValueError, match="incompatible"):  # and its layer refuses the input
            run_layers(to_keras_conv2d_transpose(w, **case["kwargs"]), y)
        return
    got = run_layers(to_keras_conv2d_transpose(w, input_shape=y.shape, **case["kwargs"]), y)
    assert got.shape == case["expected"].shape
    np.testing.assert_allclose(got, case["expected"], rtol=1e-5, atol=1e-5)


def test_golden_family_cases_are_there():
    assert len(GOLDEN_POOL) == 28 and len(GOLDEN_TRANSPOSE) == 5
    assert sum("error" in c for c in GOLDEN_TRANSPOSE) == 1
