"""The three real Lasagne networks (tests/data/lasagne/, made with Lasagne 0.2.dev1 on Theano 1.0.5)
run unchanged through legacyconv's mirror and reproduce what Lasagne computed, layer by layer."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

import legacyconv.lasagne as mirror
from legacyconv import LegacyconvError
from legacyconv.lasagne import layers as L

DATA = Path(__file__).parent / "data" / "lasagne"
# (model, the key of the output layer in the dict build_model returns, or None)
MODELS = [("vgg_bn_cnn", "prob"), ("block_net", None), ("tiny_caffenet", "prob")]
# layers that only move or select values: exact when fed the previous layer's reference
EXACT = {
    "DimshuffleLayer",
    "ReshapeLayer",
    "FlattenLayer",
    "SliceLayer",
    "ConcatLayer",
    "PadLayer",
    "Upscale2DLayer",
    "MaxPool2DLayer",
    "DropoutLayer",
}


def tolerance(ref):
    """The tolerances of ../shared/legacy_models/README.md."""
    return {"rtol": 1e-4, "atol": 1e-5 * max(1.0, float(np.abs(ref).max()))}


def build(name, key):
    net = mirror.load_network(f"{DATA / name}.py:build_model")
    return net, (net[key] if key else net)


def reference_keys(ref, n_layers):
    keys = {}
    for k in ref.files:
        if k.startswith("layer"):
            keys[int(k[5:7])] = k
    assert max(keys) < n_layers
    return keys


@pytest.mark.parametrize("name, key", MODELS)
def test_layer_by_layer(name, key):
    _, out = build(name, key)
    mirror.load_params(out, DATA / f"{name}_params.npz")
    ref = np.load(DATA / f"{name}_reference.npz")
    meta = json.loads((DATA / f"{name}_reference.json").read_text())
    layers = L.get_all_layers(out)
    # the same layers, in the same order, with the same classes and shapes as real Lasagne
    assert len(layers) == len(meta["layers"])
    for layer, info in zip(layers, meta["layers"]):
        expected_class = {"Conv2DLayer": ("Conv2DLayer", "Conv2DDNNLayer")}.get(
            info["class"], (info["class"],)
        )
        assert type(layer).__name__ in expected_class
        assert list(layer.output_shape) == info["output_shape"]
    outputs = L.get_output(layers, ref["input"], deterministic=True)
    keys = reference_keys(ref, len(layers))
    for i, k in keys.items():
        assert outputs[i].dtype == np.float32, k
        np.testing.assert_allclose(outputs[i], ref[k], **tolerance(ref[k]), err_msg=k)
    np.testing.assert_allclose(outputs[-1], ref["output"], **tolerance(ref["output"]))
    # re-arrangements are exact when fed the previous layer's reference output
    for i, k in keys.items():
        layer = layers[i]
        if type(layer).__name__ not in EXACT:
            continue
        inputs = getattr(layer, "input_layers", None) or [layer.input_layer]
        fed = [ref[keys[layers.index(p)]] if layers.index(p) else ref["input"] for p in inputs]
        got = layer.get_output_for(fed if hasattr(layer, "input_layers") else fed[0], deterministic=True)
        assert np.array_equal(got, ref[k]), k


@pytest.mark.parametrize("name, key", MODELS)
def test_params_in_lasagne_order(name, key):
    _, out = build(name, key)
    meta = json.loads((DATA / f"{name}_reference.json").read_text())
    params = L.get_all_params(out)
    assert [list(p.shape) for p in params] == [p["shape"] for p in meta["params_in_saved_order"]]
    named = [p for p in meta["params_in_saved_order"] if p["name"]]
    assert [p.name for p in params if p.name in {q["name"] for q in named}] == [q["name"] for q in named]
    tags = {
        p["name"]: set(p["tags"]) for layer in meta["layers"] for p in layer.get("params", []) if p["name"]
    }
    for p in params:
        if p.name in tags:
            owner = next(lay for lay in L.get_all_layers(out) if p in lay.params)
            assert owner.params[p] - {"batch_norm_stat"} == tags[p.name] - {"batch_norm_stat"}, p.name
    assert L.count_params(out) == meta["num_params"]


@pytest.mark.parametrize("name, key", MODELS)
def test_weights_from_npz_and_pickles_are_bit_identical(name, key):
    files = [DATA / f"{name}_params.npz", DATA / f"{name}.pkl"]
    if (DATA / f"{name}_py2.pkl").exists():
        files.append(DATA / f"{name}_py2.pkl")
    read = [mirror.read_params(f) for f in files]
    npz = np.load(files[0])
    expected = [npz[f"arr_{i}"] for i in range(len(npz.files))]
    for pf in read:
        assert pf.positional
        assert len(pf.values) == len(expected)
        for a, b in zip(pf.values, expected):
            assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    # loaded into the network, every pickle gives the npz's parameters exactly
    _, out = build(name, key)
    for f in files:
        mirror.load_params(out, f)
        assert all(np.array_equal(a, b) for a, b in zip(L.get_all_param_values(out), expected))


def test_model_zoo_pickle_extras_are_returned():
    _, out = build("tiny_caffenet", "prob")
    extras3 = mirror.load_params(out, DATA / "tiny_caffenet.pkl")
    extras2 = mirror.load_params(out, DATA / "tiny_caffenet_py2.pkl")
    with open(DATA / "tiny_caffenet.pkl", "rb") as fh:
        plain = pickle.load(fh)  # our own test file: safe to unpickle here, to compare with
    for extras in (extras3, extras2):
        assert set(extras) == {"synset words", "mean value"}
        assert extras["synset words"] == plain["synset words"]
        assert np.array_equal(extras["mean value"], plain["mean value"])
    # the Recipes usage: subtract the mean, run, compare with what Lasagne computed
    ref = np.load(DATA / "tiny_caffenet_reference.npz")
    x = ref["raw_input"] - extras2["mean value"][:, None, None]
    np.testing.assert_array_equal(x.astype(np.float32), ref["input"])
    prob = L.get_output(out, x.astype(np.float32), deterministic=True)
    np.testing.assert_allclose(prob, ref["output"], **tolerance(ref["output"]))


def test_named_npz(tmp_path):
    net, out = build("vgg_bn_cnn", "prob")
    mirror.load_params(out, DATA / "vgg_bn_cnn_params.npz")
    params = L.get_all_params(out)
    values = {p.name: p.get_value() for p in params}
    path = tmp_path / "named.npz"
    np.savez(path, **dict(reversed(list(values.items()))))  # another order: matched by name
    _, fresh = build("vgg_bn_cnn", "prob")
    assert mirror.load_params(fresh, path) == {}
    for p in L.get_all_params(fresh):
        assert np.array_equal(p.get_value(), values[p.name])
    np.savez(path, **{k: v for k, v in values.items() if k != "conv3.W"})
    with pytest.raises(LegacyconvError, match=r"missing \['conv3.W'\]"):
        mirror.load_params(fresh, path)


def test_wrong_weights_are_refused_before_anything_is_set():
    _, out = build("vgg_bn_cnn", "prob")
    before = L.get_all_param_values(out)
    with pytest.raises(LegacyconvError, match="mismatch: got 19 values to set 17 parameters"):
        L.set_all_param_values(out, before + before[:2])
    with pytest.raises(LegacyconvError, match="got 24 values to set 17 parameters"):
        mirror.load_params(out, DATA / "block_net_params.npz")
    bad = list(before)
    bad[-1] = np.zeros(7, np.float32)
    with pytest.raises(
        LegacyconvError,
        match=r"parameter 16 \(fc2.b\) has shape \(6,\) but the value to set has shape \(7,\)",
    ):
        L.set_all_param_values(out, bad)
    assert all(np.array_equal(a, b) for a, b in zip(L.get_all_param_values(out), before))


def test_install_restores_sys_modules():
    before = {k: v for k, v in sys.modules.items() if k == "lasagne" or k.startswith("lasagne.")}
    with mirror.install():
        import lasagne
        import lasagne.layers.corrmm
        import lasagne.layers.cuda_convnet
        import lasagne.layers.dnn

        assert lasagne is mirror
        assert lasagne.layers.dnn.Conv2DDNNLayer(L.InputLayer((None, 3, 5, 5)), 2, 3).flip_filters is False
        assert lasagne.layers.corrmm.Conv2DMMLayer(L.InputLayer((None, 3, 5, 5)), 2, 3).flip_filters is False
        assert (
            lasagne.layers.cuda_convnet.Conv2DCCLayer(L.InputLayer((None, 3, 5, 5)), 16, 3).flip_filters
            is False
        )
        from lasagne.nonlinearities import softmax

        assert softmax is mirror.nonlinearities.softmax
    after = {k: v for k, v in sys.modules.items() if k == "lasagne" or k.startswith("lasagne.")}
    assert after == before
    installed = mirror.install()  # a plain call stays installed until uninstalled
    try:
        assert sys.modules["lasagne.init"] is mirror.init
    finally:
        installed.uninstall()
    assert "lasagne.init" not in sys.modules or sys.modules["lasagne.init"] is before.get("lasagne.init")


def test_missing_layer_class_is_named(tmp_path):
    path = tmp_path / "rnn.py"
    path.write_text(
        "from lasagne.layers import InputLayer, LSTMLayer\n\ndef build_model():\n    return None\n"
    )
    with pytest.raises(
        NotImplementedError, match=r"LSTMLayer \(lasagne.layers.recurrent\) is not implemented"
    ):
        mirror.load_network(f"{path}:build_model")
    with pytest.raises(NotImplementedError, match="SpatialPyramidPoolingDNNLayer"):
        mirror.layers.dnn.SpatialPyramidPoolingDNNLayer  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchLayer'"):
        L.NoSuchLayer  # noqa: B018


def test_load_network_errors(tmp_path):
    with pytest.raises(LegacyconvError, match="FILE.py:FUNCTION"):
        mirror.load_network(str(DATA / "vgg_bn_cnn.py"))
    with pytest.raises(LegacyconvError, match="no such network file"):
        mirror.load_network(f"{tmp_path / 'nope.py'}:build_model")
    with pytest.raises(LegacyconvError, match=r"has no function 'build'; it defines \['build_model'\]"):
        mirror.load_network(f"{DATA / 'vgg_bn_cnn.py'}:build")
    path = tmp_path / "uses_theano.py"
    path.write_text("import theano.tensor as T\n\ndef build_model():\n    return None\n")
    with pytest.raises(LegacyconvError, match="imports 'theano'.*not Theano"):
        mirror.load_network(f"{path}:build_model")


def test_get_output_needs_an_input_and_checks_its_shape():
    net, out = build("vgg_bn_cnn", "prob")
    with pytest.raises(LegacyconvError, match="needs an input array for the InputLayer 'input'"):
        L.get_output(out)
    with pytest.raises(
        LegacyconvError,
        match=r"has shape \(2, 3, 20, 21\); the layer was declared with shape \(None, 3, 20, 22\)",
    ):
        L.get_output(out, np.zeros((2, 3, 20, 21), np.float32))
    # a dict input treats any layer as an input; the rest of the network is computed from there
    ref = np.load(DATA / "vgg_bn_cnn_reference.npz")
    got = L.get_output(out, {net["fc2"]: ref["layer13_fc2"]})
    np.testing.assert_allclose(got, ref["output"], **tolerance(ref["output"]))


def test_get_output_shape():
    net, out = build("block_net", None)
    assert L.get_output_shape(out) == (None, 5)
    assert L.get_output_shape(out, (7, 4, 16, 16)) == (7, 5)
    layers = L.get_all_layers(out)
    shapes = L.get_output_shape(layers, (7, 4, 16, 16))
    assert shapes[1] == (7, 12, 16, 16)


def test_training_mode_samples_dropout_with_numpy():
    _, out = build("vgg_bn_cnn", "prob")
    mirror.load_params(out, DATA / "vgg_bn_cnn_params.npz")
    ref = np.load(DATA / "vgg_bn_cnn_reference.npz")
    layers = L.get_all_layers(out)
    drop = next(lay for lay in layers if type(lay).__name__ == "DropoutLayer")
    x = np.ones((4, 32), np.float32)
    mirror.random.set_rng(np.random.RandomState(0))
    try:
        y = drop.get_output_for(x)
    finally:
        mirror.random.set_rng(np.random)
    assert set(np.unique(y)) <= {0.0, 2.0} and 0 < np.count_nonzero(y) < y.size
    # BatchNorm without deterministic uses the batch's statistics: the outputs change
    train = L.get_output(out, ref["input"], deterministic=False)
    assert not np.allclose(train, ref["output"])


def test_conversion_spec_from_the_network(tmp_path):
    import legacyconv

    net, out = build("vgg_bn_cnn", "prob")
    spec = mirror.conversion_spec(net)
    arrays = spec["arrays"]
    flips = [e["filter_flip"] for e in arrays.values() if e["role"] == "conv_kernel"]
    assert flips == [True, True, True, False, True]  # conv2_2 is the one flip_filters=False
    dense = [e for e in arrays.values() if e["role"] == "dense_kernel"]
    meta = json.loads((DATA / "vgg_bn_cnn_reference.json").read_text())
    pool3 = next(lay for lay in meta["layers"] if lay["name"] == "pool3")
    assert [d["feature_shape"] for d in dense] == [pool3["output_shape"][1:], None]
    converted = legacyconv.convert_weights(DATA / "vgg_bn_cnn.pkl", spec=spec)
    mirror.load_params(out, DATA / "vgg_bn_cnn.pkl")
    theano_values = L.get_all_param_values(out)
    w = converted.arrays["arr_0"]
    assert np.array_equal(w, theano_values[0][:, :, ::-1, ::-1].transpose(2, 3, 1, 0))
    _, block = build("block_net", None)
    with pytest.raises(
        LegacyconvError, match=r"DilatedConv2DLayer 'inc_dilated' has no role in a conversion spec"
    ):
        mirror.conversion_spec(block)


@pytest.mark.parametrize("backend", ["scipy", "tensorflow"])
def test_other_engines(backend):
    if backend == "tensorflow":
        pytest.importorskip("tensorflow")
    _, out = build("block_net", None)
    mirror.load_params(out, DATA / "block_net_params.npz")
    ref = np.load(DATA / "block_net_reference.npz")
    got = L.get_output(out, ref["input"], deterministic=True, backend=backend)
    np.testing.assert_allclose(got, ref["output"], **tolerance(ref["output"]))
