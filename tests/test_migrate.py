"""migrate / migrate_keras1: the real Keras 1.2.2 + Theano model, and synthetic Keras-1 files covering every layer.

The expected values of the synthetic models come from a NumPy forward pass written here with
Keras 1.2.2's Theano-backend rules (keras/backend/theano_backend.py: conv2d = Theano conv2d with
border_mode 'same' -> 'half' then a crop to ceil(n / stride) for even kernels; pool2d = pool_2d
with ignore_border=True, Keras 1's 'same' padding, then the same crop), on top of
``legacyconv.conv2d`` and ``legacyconv.pool.pool_2d``, which reproduce the golden Theano outputs.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_io import conv_cfg, write_keras1

import legacyconv
from legacyconv import LegacyconvError
from legacyconv.frontends import UnsupportedLayerError
from legacyconv.migrate import Migration, migrate, migrate_keras1, save_keras_model
from legacyconv.pool import pool_2d
from legacyconv.regression import check

tf = pytest.importorskip("tensorflow")
pytest.importorskip("h5py")
keras = tf.keras

EXAMPLES = Path(__file__).resolve().parents[1] / "legacyconv" / "examples"
LENET = EXAMPLES / "keras1_theano_lenet.h5"
REFERENCE = EXAMPLES / "keras1_theano_lenet_reference.npz"


@pytest.fixture(scope="module")
def lenet_model():
    return migrate_keras1(LENET)


@pytest.fixture(scope="module")
def ref():
    return dict(np.load(REFERENCE))


# --------------------------------------------------------------------------- the real model


def test_real_model_reproduces_every_layer(lenet_model, ref):
    names = [k for k in ref if k.startswith("layer")]
    probe = keras.Model(
        lenet_model.inputs[0], [lenet_model.get_layer(k.split("_", 1)[1]).output for k in names]
    )
    outs = probe(ref["input"].transpose(0, 2, 3, 1))
    for key, out in zip(names, outs):
        expected = ref[key]
        if expected.ndim == 4:  # conv and pool outputs: channels-first in Theano
            expected = expected.transpose(0, 2, 3, 1)
        # the Flatten flattens the legacy (C, H, W) order (a Permute goes in front of it)
        np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-5, err_msg=key)
    np.testing.assert_allclose(
        np.asarray(lenet_model(ref["input"].transpose(0, 2, 3, 1))), ref["output"], rtol=1e-5, atol=1e-6
    )


def test_real_model_check_report():
    result = migrate(LENET)
    assert isinstance(result, Migration)
    report = check(result, REFERENCE, progress=False)
    assert report.passed, report.table()
    statuses = {r.key: r.status for r in report.rows}
    assert statuses == {k: "ok" for k in statuses} and len(statuses) == 9
    assert {r.layer for r in report.rows} >= {
        "convolution2d_1",
        "maxpooling2d_1",
        "convolution2d_2",
        "maxpooling2d_2",
    }
    layer_keys = sorted(k for k in np.load(REFERENCE).files if k.startswith("layer"))
    assert [r.key for r in report.rows] == [*layer_keys, "output"]  # topological order


def test_nchw_input_layout(ref):
    result = migrate(LENET, input_layout="nchw")
    model = result.model
    assert type(model.layers[1]).__name__ == "Permute"
    assert tuple(model.inputs[0].shape) == (None, 1, 28, 28)
    np.testing.assert_allclose(np.asarray(model(ref["input"])), ref["output"], rtol=1e-5, atol=1e-6)
    assert check(result, REFERENCE, progress=False).passed  # NCHW input fed as it is
    assert migrate_keras1(LENET, input_layout="nchw").inputs[0].shape[1] == 1


def test_migrate_writes_the_keras_file_with_its_sidecar(tmp_path, ref):
    out = tmp_path / "lenet.keras"
    result = migrate(LENET, out)
    assert result.written == [str(out)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet.keras"]
    report = check(out, REFERENCE, progress=False)
    assert report.passed and report.model == str(out)
    with pytest.raises(LegacyconvError, match="already exists"):
        migrate(LENET, out)
    migrate(LENET, out, force=True)
    with pytest.raises(LegacyconvError, match="must end in one of"):
        migrate(LENET, tmp_path / "lenet.h5")


def test_save_and_reload(lenet_model, ref, tmp_path):
    out = tmp_path / "lenet.keras"
    save_keras_model(lenet_model, out, inputs=[LENET])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet.keras"]
    loaded = keras.models.load_model(out)
    x = ref["input"].transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(lenet_model(x)))
    with pytest.raises(LegacyconvError, match="already exists"):
        save_keras_model(lenet_model, out)
    with pytest.raises(LegacyconvError, match="must end in .keras"):
        save_keras_model(lenet_model, tmp_path / "lenet.h5")


def test_input_file_is_not_modified(tmp_path):
    before = LENET.read_bytes()
    migrate_keras1(LENET)
    assert LENET.read_bytes() == before


# --------------------------------------------------------------------------- Keras 1 on Theano, in NumPy

ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),  # Theano's T.nnet.hard_sigmoid
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "softmax": lambda x: (
        np.exp(x - x.max(-1, keepdims=True)) / np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)
    ),
}


def keras1_forward(layers, weights, x):
    """Every layer's output, channels-first, as Keras 1.2.2 computed it on Theano."""
    outs = []
    for cls, cfg in layers:
        name = cfg["name"]
        w = [a.astype(np.float64) for _, a in weights.get(name, [])]
        if cls == "ZeroPadding2D":
            p = cfg["padding"]
            top, bottom, left, right = (
                p.get(k, 0) for k in ("top_pad", "bottom_pad", "left_pad", "right_pad")
            )
            x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
        elif cls in ("Convolution2D", "AtrousConvolution2D"):
            mode, sub = cfg["border_mode"], tuple(cfg["subsample"])
            n = x.shape[2:]
            x = legacyconv.conv2d(
                x,
                w[0],
                border_mode={"same": "half"}.get(mode, mode),
                subsample=sub,
                filter_dilation=tuple(cfg.get("atrous_rate", (1, 1))),
            )
            if mode == "same":
                if cfg["nb_row"] % 2 == 0:
                    x = x[:, :, : math.ceil(n[0] / sub[0])]
                if cfg["nb_col"] % 2 == 0:
                    x = x[:, :, :, : math.ceil(n[1] / sub[1])]
            if cfg.get("bias", True):
                x = x + w[1][:, None, None]
            x = ACTIVATIONS[cfg["activation"]](x)
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            ps, st, mode = tuple(cfg["pool_size"]), tuple(cfg["strides"]), cfg["border_mode"]
            pad = (0, 0)
            if mode == "same":
                pad = tuple(p - 2 if p > 2 and p % 2 == 1 else p - 1 for p in ps)
            n = x.shape[2:]
            x = pool_2d(x, ps, True, st, pad, "max" if cls == "MaxPooling2D" else "average_exc_pad")
            if mode == "same":
                x = x[:, :, : math.ceil(n[0] / st[0]), : math.ceil(n[1] / st[1])]
        elif cls == "Flatten":
            x = x.reshape(len(x), -1)
        elif cls == "Dense":
            x = ACTIVATIONS[cfg["activation"]](x @ w[0] + w[1])
        elif cls == "Activation":
            x = ACTIVATIONS[cfg["activation"]](x)
        elif cls == "LeakyReLU":
            x = np.where(x > 0, x, cfg["alpha"] * x)
        outs.append((name, x))
    return outs


def dense_cfg(name, out, activation="linear"):
    return dict(name=name, output_dim=out, activation=activation, bias=True)


def pool_cfg(name, size, strides, border):
    return dict(name=name, pool_size=list(size), strides=list(strides), border_mode=border, dim_ordering="th")


def random_weights(layers, input_shape, rng):
    """Theano-layout weights for ``layers`` (shapes walked with the NumPy forward pass)."""
    weights = {}
    x = np.zeros((1, *input_shape))
    for cls, cfg in layers:
        name = cfg["name"]
        if cls in ("Convolution2D", "AtrousConvolution2D"):
            shape = (cfg["nb_filter"], x.shape[1], cfg["nb_row"], cfg["nb_col"])
            weights[name] = [(f"{name}_W", rng.standard_normal(shape).astype(np.float32) * 0.5)]
            if cfg.get("bias", True):
                weights[name].append((f"{name}_b", rng.standard_normal(shape[0]).astype(np.float32)))
        elif cls == "Dense":
            shape = (x.shape[1], cfg["output_dim"])
            weights[name] = [
                (f"{name}_W", rng.standard_normal(shape).astype(np.float32) * 0.3),
                (f"{name}_b", rng.standard_normal(shape[1]).astype(np.float32)),
            ]
        x = keras1_forward([(cls, cfg)], weights, x)[-1][1]
    return weights


def migrate_and_compare(tmp_path, layers, input_shape, seed=0, batch=3):
    rng = np.random.default_rng(seed)
    weights = random_weights(layers, input_shape, rng)
    path = write_keras1(tmp_path / "m.h5", layers, weights, input_shape=input_shape)
    x = rng.standard_normal((batch, *input_shape)).astype(np.float32)
    expected = keras1_forward(layers, weights, x.astype(np.float64))
    model = migrate_keras1(path)
    probe = keras.Model(model.inputs[0], [model.get_layer(name).output for name, _ in expected])
    outs = probe(x.transpose(0, 2, 3, 1))
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    for (name, want), got in zip(expected, outs):
        got = np.asarray(got)
        if got.ndim == 4:
            got = got.transpose(0, 3, 1, 2)
        elif name.startswith("flatten") and want.ndim == 2:
            continue  # flatten order differs by design; the next Dense checks it
        assert got.shape == want.shape, name
        np.testing.assert_allclose(
            got, want, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(want).max()), err_msg=name
        )
    return model


def test_every_supported_layer(tmp_path):
    layers = [
        (
            "ZeroPadding2D",
            {"name": "zeropad", "padding": {"top_pad": 1, "left_pad": 2}, "dim_ordering": "th"},
        ),
        ("Convolution2D", conv_cfg("conv_same_even", 4, 4, 4, "same", (2, 2), activation="relu")),
        ("AtrousConvolution2D", conv_cfg("atrous", 3, 3, 2, "same", atrous_rate=[2, 2], activation="tanh")),
        ("MaxPooling2D", pool_cfg("maxpool_same", (2, 2), (2, 2), "same")),  # Theano pad 1, then a crop
        ("AveragePooling2D", pool_cfg("avgpool_same", (3, 3), (1, 1), "same")),
        ("Convolution2D", conv_cfg("conv_full", 2, 2, 2, "full", activation="hard_sigmoid", bias=False)),
        ("Flatten", {"name": "flatten"}),
        ("Dense", dense_cfg("dense_a", 5, "softplus")),
        ("Dropout", {"name": "dropout", "p": 0.5}),
        ("Dense", dense_cfg("dense_b", 3)),
        ("Activation", {"name": "act", "activation": "softmax"}),
    ]
    model = migrate_and_compare(tmp_path, layers, (2, 11, 10))
    kinds = {layer.name: type(layer).__name__ for layer in model.layers}
    assert kinds["maxpool_same"] == "Cropping2D"  # Keras 1's crop after Theano's padded pooling
    assert kinds["conv_full"] == "ReLU"  # clip(0.2 x + 0.5) as Rescaling + ReLU(max_value=1)


@pytest.mark.parametrize("alpha", [0.3, -0.5])
def test_leaky_relu_of_any_slope(tmp_path, alpha):
    # Keras 3's LeakyReLU refuses a negative slope, which Keras 1 (Theano's relu(x, alpha)) took:
    # the migration raised Keras' ValueError, an internal error; PReLU computes it instead
    layers = [
        ("Convolution2D", conv_cfg("conv", 3, 3, 3)),
        ("LeakyReLU", {"name": "leaky", "alpha": alpha}),
        ("Flatten", {"name": "flatten"}),
        ("Dense", dense_cfg("dense", 2)),
    ]
    model = migrate_and_compare(tmp_path, layers, (2, 6, 6))
    assert type(model.get_layer("leaky")).__name__ == ("LeakyReLU" if alpha >= 0 else "PReLU")


@pytest.mark.parametrize(
    "k, border, sub, rate",
    [
        ((3, 3), "same", (1, 1), (1, 1)),
        ((4, 2), "same", (1, 1), (1, 1)),
        ((4, 4), "same", (3, 2), (1, 1)),  # even kernel with strides: Keras 1 != TF 'same'
        ((3, 5), "same", (2, 2), (1, 1)),
        ((2, 3), "valid", (2, 1), (1, 1)),
        ((3, 3), "full", (2, 2), (1, 1)),
        ((2, 2), "same", (1, 1), (3, 2)),
        ((3, 2), "valid", (1, 1), (2, 3)),
    ],
)
def test_conv_geometry(tmp_path, k, border, sub, rate):
    cls = "AtrousConvolution2D" if rate != (1, 1) else "Convolution2D"
    cfg = conv_cfg("conv", 2, k[0], k[1], border, sub, activation="linear")
    if rate != (1, 1):
        cfg["atrous_rate"] = list(rate)
    migrate_and_compare(tmp_path, [(cls, cfg)], (3, 9, 8))


@pytest.mark.parametrize(
    "cls, size, strides, border",
    [
        ("MaxPooling2D", (3, 3), (2, 2), "same"),
        ("MaxPooling2D", (2, 3), (1, 2), "same"),
        ("MaxPooling2D", (3, 2), (2, 1), "valid"),
        ("AveragePooling2D", (2, 2), (2, 2), "same"),
        ("AveragePooling2D", (4, 3), (3, 2), "same"),
        ("AveragePooling2D", (2, 2), (1, 1), "valid"),
    ],
)
def test_pool_geometry(tmp_path, cls, size, strides, border):
    migrate_and_compare(tmp_path, [(cls, pool_cfg("pool", size, strides, border))], (2, 8, 9))


# --------------------------------------------------------------------------- what it refuses


def test_unsupported_layer(tmp_path):
    path = write_keras1(
        tmp_path / "m.h5",
        [
            ("Convolution2D", conv_cfg("conv", 2, 3, 3)),
            ("LocallyConnected2D", {"name": "local_1"}),
        ],
        {"conv": [("conv_W", np.ones((2, 1, 3, 3), np.float32)), ("conv_b", np.zeros(2, np.float32))]},
    )
    with pytest.raises(UnsupportedLayerError, match=r"local_1.*LocallyConnected2D"):
        migrate_keras1(path)
    with pytest.raises(NotImplementedError):  # also a NotImplementedError
        migrate(path, tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()
    # refused before TensorFlow is imported
    code = (
        "import sys\n"
        "from legacyconv.migrate import migrate\n"
        "from legacyconv import LegacyconvError\n"
        "try:\n"
        f"    migrate({str(path)!r}, {str(tmp_path / 'm.keras')!r})\n"
        "except LegacyconvError as exc:\n"
        "    print('refused:', exc)\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "refused:" in proc.stdout and "LocallyConnected2D" in proc.stdout


@pytest.mark.parametrize(
    "layers, match",
    [
        ([("Activation", {"name": "a", "activation": "softmax"})], "softmax on a 4-d tensor"),
        (
            [("Convolution2D", conv_cfg("c", 1, 1, 1, activation="swish"))],
            "activation 'swish' is not supported",
        ),
        ([("Dense", dense_cfg("d", 2))], r"needs a flat \(features,\) input"),
    ],
)
def test_refused_models(tmp_path, layers, match):
    weights = {
        "c": [("c_W", np.ones((1, 1, 1, 1), np.float32)), ("c_b", np.zeros(1, np.float32))],
        "d": [("d_W", np.ones((64, 2), np.float32)), ("d_b", np.zeros(2, np.float32))],
    }
    path = write_keras1(tmp_path / "m.h5", layers, weights)
    with pytest.raises(LegacyconvError, match=match):
        migrate_keras1(path)


def test_bad_arguments(tmp_path):
    with pytest.raises(LegacyconvError, match="input_layout must be one of"):
        migrate_keras1(LENET, input_layout="NCHW")
    np.savez(tmp_path / "w.npz", a=np.ones(3))
    with pytest.raises(LegacyconvError, match="w.npz"):
        migrate_keras1(tmp_path / "w.npz")


ZOO = Path(__file__).resolve().parent / "data" / "keras_zoo"


def _edited(tmp_path, name, edit):
    """A copy of a zoo model whose model_config ``edit`` changed (a hand-edited or corrupted file)."""
    import json
    import shutil

    import h5py

    path = tmp_path / f"{name}.h5"
    shutil.copy(ZOO / f"{name}.h5", path)
    with h5py.File(path, "a") as f:
        cfg = json.loads(f.attrs["model_config"])
        edit(cfg)
        f.attrs["model_config"] = json.dumps(cfg).encode()
    return path


def _layer(cfg, cls):
    layers = cfg["config"]["layers"] if isinstance(cfg["config"], dict) else cfg["config"]
    return next(entry for entry in layers if entry["class_name"] == cls)


@pytest.mark.parametrize(
    "name, edit, match",
    [
        (
            "k2_merge_bn",
            lambda c: _layer(c, "Add").__setitem__("inbound_nodes", [True]),
            r"layer 'add': inbound_nodes\[0\] must be a list of \[layer name, node index, tensor index\]",
        ),
        (
            "k2_merge_bn",
            lambda c: _layer(c, "Add")["inbound_nodes"][0].__setitem__(0, ["conv", "0", 0, {}]),
            r"inbound_nodes\[0\] must be a list of",
        ),
        (
            "k2_merge_bn",
            lambda c: c["config"].__setitem__("output_layers", [[7, 0, 0]]),
            r"the model's output_layers must be a list of",
        ),
        (
            "k2_merge_bn",
            lambda c: _layer(c, "InputLayer")["config"].__setitem__("dtype", "relu"),
            r"declares dtype 'relu'; expected a bool, integer or float dtype",
        ),
        (
            "k1_conv_grid",
            lambda c: _layer(c, "Convolution2D")["config"].__setitem__("nb_row", {"a": 1}),
            r"Keras-1 layer .* \(Convolution2D\): its config cannot be read, a value has a type or form Keras never wrote",
        ),
        (
            "k1_decoder",
            lambda c: _layer(c, "Deconvolution2D")["config"].__setitem__("subsample", [0, 0]),
            r"\(Deconvolution2D\): its config cannot be read, .*ZeroDivisionError",
        ),
    ],
)
def test_a_malformed_model_config_is_bad_input(tmp_path, name, edit, match):
    # each raised Python's TypeError/KeyError/ZeroDivisionError or Keras' ValueError from inside:
    # the command line called them internal errors (exit 3)
    from legacyconv.cli import EXIT_BAD_INPUT, main

    path = _edited(tmp_path, name, edit)
    with pytest.raises(LegacyconvError, match=match):
        migrate(path, tmp_path / "out.keras")
    assert main(["migrate", str(path), "-o", str(tmp_path / "out.keras")]) == EXIT_BAD_INPUT
    assert not (tmp_path / "out.keras").exists()
