"""Keras frontends: every recorded model (real Keras 1.2.2 / 2.2.5 on Theano 1.0.5) read into a graph
reproduces every recorded layer output; each layer translator is checked alone from the recorded
output of the layer before it; every refusal names the layer, its class and the argument."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from legacyconv import LegacyconvError
from legacyconv.frontends import UnsupportedLayerError, load_graph, supported_layers
from legacyconv.graph.numpy_runner import EVALUATORS, run_graph

h5py = pytest.importorskip("h5py")

DATA = Path(__file__).parent / "data"
ZOO = DATA / "keras_zoo"  # the shared zoo
EXTRA = DATA / "keras_extra"  # recorded here by tests/data/record_keras_extra.py
MULTI = DATA / "keras_multi_input"  # the same, models with several inputs
LENET = Path(__file__).parents[1] / "legacyconv" / "examples" / "keras1_theano_lenet.h5"
FOLDER = {
    p.name[: -len("_reference.npz")]: p.parent for d in (ZOO, EXTRA, MULTI) for p in d.glob("*_reference.npz")
}
MODELS = sorted(FOLDER)
#: ops that only move or copy values: their outputs must equal Theano's exactly
REARRANGING = {
    "identity",
    "transpose",
    "reshape",
    "flatten",
    "crop",
    "pad",
    "upsample",
    "repeat_vector",
    "embedding",
}


def model_files(name: str) -> tuple[Path, Path | None]:
    folder = FOLDER[name]
    if (folder / f"{name}.h5").exists():
        return folder / f"{name}.h5", None
    return folder / f"{name}.json", folder / f"{name}_weights.h5"


def load_zoo(name: str):
    path, weights = model_files(name)
    graph = load_graph(path, weights=weights)
    ref = np.load(FOLDER[name] / f"{name}_reference.npz")
    return graph, {k: ref[k] for k in ref.files}


def graph_inputs(graph, ref):
    """The recorded batch for every graph input (``input``, or ``input_0``, ``input_1``, ...)."""
    if "input" in ref:
        return {graph.inputs[0]: ref["input"]}
    return {name: ref[f"input_{i}"] for i, name in enumerate(graph.inputs)}


def assert_close(actual, expected, what):
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != recorded {expected.shape}"
    atol = 1e-5 * max(1.0, float(np.abs(expected).max()) if expected.size else 1.0)
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=atol, err_msg=what)


@pytest.mark.parametrize("name", MODELS)
def test_zoo_model_reproduces_every_reference_key(name):
    graph, ref = load_zoo(name)
    refs = graph.meta["references"]
    missing = sorted(k for k in set(ref) - set(refs) if not k.startswith("input_"))
    assert not missing, f"reference keys without a graph node: {missing}"
    feeds = graph_inputs(graph, ref)
    out = run_graph(graph, feeds)
    for key, expected in ref.items():
        node = refs[key] if key in refs else graph.inputs[int(key.split("_")[1])]
        assert_close(out[node], expected, f"{name} {key}")


def _layer_cases():
    cases = []
    for name in MODELS:
        meta = json.loads((FOLDER[name] / f"{name}_reference.json").read_text())
        classes = {}
        for layer in meta["layer_classes"]:
            classes[layer["name"]] = layer["class"]
            for inner in layer.get("layers", []):
                classes[inner["name"]] = inner["class"]
        for key in meta["recorded"]:
            if key == "output" or key.startswith("input"):
                continue
            layer = key.split("__")[-1].split("_", 1)[1]
            layer = layer[: -len("_node1")] if layer.endswith("_node1") else layer
            cases.append(pytest.param(name, key, id=f"{name}-{key}-{classes.get(layer, '?')}"))
    return cases


def _evaluate_from_references(graph, target, ref, node_of):
    """The target node's value computed from the recorded outputs of the layers feeding it."""
    key_of = {node: key for key, node in node_of.items()}
    cache = {}
    ops = set()

    def value(name, top):
        if not top and name in key_of and key_of[name] in ref:
            return ref[key_of[name]]
        if name not in cache:
            node = graph[name]
            xs = [value(src, False) for src in node.inputs]
            if node.op == "input":
                xs = [graph_inputs(graph, ref)[name]]
            ops.add(node.op)
            cache[name] = EVALUATORS[node.op].fn(node, xs, None)
        return cache[name]

    return value(target, True), ops


def _masked(graph, name):
    """True if a Masking layer or an Embedding with mask_zero is upstream of ``name``."""
    stack, seen = list(graph[name].inputs), set()
    while stack:
        node = graph[stack.pop()]
        if node.name in seen:
            continue
        seen.add(node.name)
        if node.op == "masking" or (node.op == "embedding" and node.attrs.get("mask_zero")):
            return True
        stack.extend(node.inputs)
    return False


@pytest.mark.parametrize("name,key", _layer_cases())
def test_each_layer_translation_from_the_recorded_layer_before(name, key):
    graph, ref = load_zoo(name)
    refs = graph.meta["references"]
    node = refs[key]
    if (
        graph[node].op == "identity"
        and graph[node].source.startswith("Keras-")
        and "nested" in graph[node].source
    ):
        pytest.skip("a nested model's output is its last layer's: checked there")
    if graph[node].op == "rnn" and _masked(graph, node):
        pytest.skip("masked recurrent layers need the mask of the whole graph: checked by the model test")
    actual, ops = _evaluate_from_references(graph, node, ref, refs)
    if ops <= REARRANGING:
        assert actual.shape == ref[key].shape and np.array_equal(actual, ref[key]), f"{key} is not exact"
    else:
        assert_close(actual, ref[key], f"{name} {key}")


def test_bundled_lenet():
    graph = load_graph(LENET)
    ref = np.load(LENET.with_name("keras1_theano_lenet_reference.npz"))
    out = run_graph(graph, {graph.inputs[0]: ref["input"]})
    for key in ref.files:
        assert_close(out[graph.meta["references"][key]], ref[key], key)


def test_graph_structure_of_a_nested_shared_sequential():
    graph, _ = load_zoo("k1_siamese_tower")
    refs = graph.meta["references"]
    assert refs["layer03_tower"] == "tower"
    assert refs["layer03_tower_node1__layer00_t_conv1"] == "tower_node1/t_conv1"
    # shared weights: both applications hold the same kernel
    assert np.array_equal(
        graph["tower/t_conv1/conv"].weights["W"], graph["tower_node1/t_conv1/conv"].weights["W"]
    )
    assert graph["tower_node1/t_conv1"].reference == "layer03_tower_node1__layer00_t_conv1"
    assert graph.meta["backend"].startswith("theano")


def test_supported_layers_come_from_the_registry():
    k1, k2 = supported_layers(1), supported_layers(2)
    for cls in (
        "Convolution1D",
        "AtrousConvolution2D",
        "Deconvolution2D",
        "Merge",
        "LSTM",
        "TimeDistributed",
    ):
        assert cls in k1
    for cls in (
        "Conv2D",
        "SeparableConv2D",
        "DepthwiseConv2D",
        "Conv2DTranspose",
        "Add",
        "Subtract",
        "Concatenate",
    ):
        assert cls in k2
    assert "Conv2D" not in k1 and "Merge" not in k2


# --- refusals -------------------------------------------------------------------------------------


def write_model(path, config, weights=None, version="1.2.2", backend=None):
    """A model.save() file as Keras wrote it (fixed-length byte string attributes)."""
    with h5py.File(path, "w") as fh:
        fh.attrs["model_config"] = np.bytes_(json.dumps(config))
        if version:
            fh.attrs["keras_version"] = np.bytes_(version)
        if backend:
            fh.attrs["backend"] = np.bytes_(backend)
        group = fh.create_group("model_weights")
        entries = config["config"] if isinstance(config["config"], list) else config["config"]["layers"]
        layers = [entry.get("name") or entry["config"]["name"] for entry in entries]
        group.attrs["layer_names"] = np.array([n.encode() for n in layers])
        for layer in layers:
            g = group.create_group(layer)
            items = (weights or {}).get(layer, [])
            g.attrs["weight_names"] = np.array([n.encode() for n, _ in items])
            for n, arr in items:
                g.create_dataset(n, data=arr)
    return str(path)


def k1_sequential(*layers):
    return {"class_name": "Sequential", "config": list(layers)}


def k1_conv(name="conv", **extra):
    cfg = {
        "name": name,
        "nb_filter": 2,
        "nb_row": 3,
        "nb_col": 3,
        "border_mode": "valid",
        "subsample": [1, 1],
        "dim_ordering": "th",
        "activation": "linear",
        "bias": True,
        "batch_input_shape": [None, 1, 6, 6],
    }
    cfg.update(extra)
    return {"class_name": "Convolution2D", "config": cfg}


CONV_W = {"conv": [("conv_W", np.ones((2, 1, 3, 3), np.float32)), ("conv_b", np.zeros(2, np.float32))]}


def k2_model(layer, backend="theano", version="2.2.5"):
    return {"class_name": "Sequential", "config": {"name": "s", "layers": [layer]}}


@pytest.mark.parametrize(
    "layers,weights,match",
    [
        (
            [k1_conv(), {"class_name": "LocallyConnected2D", "config": {"name": "lc"}}],
            CONV_W,
            r"Keras-1 layer 'lc' \(LocallyConnected2D\) is not supported; supported layers: .*Convolution2D",
        ),
        (
            [k1_conv(dim_ordering="tf")],
            CONV_W,
            r"'conv' \(Convolution2D\): it ran on channels-last data \(dim_ordering='tf'\)",
        ),
        (
            [k1_conv(), {"class_name": "BatchNormalization", "config": {"name": "bn", "mode": 1, "axis": 1}}],
            CONV_W,
            r"'bn' \(BatchNormalization\): mode=1 \(per-sample normalisation\) is not supported",
        ),
        (
            [k1_conv(), {"class_name": "SeparableConvolution2D", "config": {"name": "sep"}}],
            CONV_W,
            r"'sep' \(SeparableConvolution2D\): Keras 1.2.2 ran SeparableConvolution2D only on TensorFlow",
        ),
        (
            [k1_conv(activation="swish")],
            CONV_W,
            r"'conv' \(Convolution2D\): activation 'swish' is not supported",
        ),
        (
            [
                k1_conv(),
                {"class_name": "Flatten", "config": {"name": "f"}},
                {"class_name": "Merge", "config": {"name": "m", "mode": "lambda", "mode_type": "function"}},
            ],
            CONV_W,
            r"'m' \(Merge\): mode='lambda' \(a Python function\) cannot be migrated",
        ),
        (
            [
                {
                    "class_name": "LSTM",
                    "config": {
                        "name": "r",
                        "output_dim": 2,
                        "stateful": True,
                        "batch_input_shape": [4, 3, 2],
                    },
                }
            ],
            {},
            r"'r' \(LSTM\): stateful=True",
        ),
        (
            [
                {
                    "class_name": "TimeDistributed",
                    "config": {
                        "name": "td",
                        "batch_input_shape": [None, 3, 1, 4, 4],
                        "layer": {"class_name": "Convolution2D", "config": {}},
                    },
                }
            ],
            {},
            r"'td' \(TimeDistributed\): TimeDistributed\(Convolution2D\) is not supported",
        ),
        ([k1_conv(batch_input_shape=[None, 1, None, 6])], CONV_W, r"unknown size \(1, None, 6\)"),
    ],
)
def test_keras1_refusals_name_layer_class_and_argument(tmp_path, layers, weights, match):
    path = write_model(tmp_path / "m.h5", k1_sequential(*layers), weights)
    with pytest.raises(UnsupportedLayerError, match=match):
        load_graph(path)


K2_CONV = {
    "class_name": "Conv2D",
    "config": {
        "name": "c",
        "filters": 2,
        "kernel_size": [3, 3],
        "strides": [1, 1],
        "padding": "valid",
        "data_format": "channels_first",
        "dilation_rate": [1, 1],
        "activation": "linear",
        "use_bias": False,
        "batch_input_shape": [None, 1, 6, 6],
    },
}
K2_W = {"c": [("c/kernel:0", np.ones((3, 3, 1, 2), np.float32))]}


@pytest.mark.parametrize(
    "layer,backend,version,match",
    [
        (K2_CONV, "tensorflow", "2.2.5", r"on the 'tensorflow' backend: .*it needs no migration"),
        (
            {**K2_CONV, "config": {**K2_CONV["config"], "data_format": "channels_last"}},
            None,
            "2.2.5",
            r"records no backend and holds channels-last image layers .*needs no migration",
        ),
        (
            {**K2_CONV, "config": {**K2_CONV["config"], "data_format": "channels_last"}},
            "theano",
            "2.2.5",
            r"ran channels-last image layers .* on Theano: legacyconv migrates channels-first Theano models only",
        ),
        (K2_CONV, "theano", "2.3.1", r"Keras 2.3.1 is not supported"),
        (
            {
                "class_name": "Conv2DTranspose",
                "config": {**K2_CONV["config"], "name": "c", "kernel_size": [2, 2], "padding": "same"},
            },
            "theano",
            "2.2.5",
            r"'c' \(Conv2DTranspose\): padding='same' with an even kernel",
        ),
        (
            {
                "class_name": "UpSampling2D",
                "config": {
                    "name": "c",
                    "size": [2, 2],
                    "interpolation": "bilinear",
                    "data_format": "channels_first",
                    "batch_input_shape": [None, 1, 6, 6],
                },
            },
            "theano",
            "2.2.5",
            r"'c' \(UpSampling2D\): interpolation='bilinear' is not supported",
        ),
    ],
)
def test_keras2_refusals(tmp_path, layer, backend, version, match):
    weights = (
        K2_W
        if layer["class_name"] == "Conv2D"
        else {"c": [("c/kernel:0", np.ones((2, 2, 2, 1), np.float32))]}
        if layer["class_name"] == "Conv2DTranspose"
        else {}
    )
    path = write_model(tmp_path / "m.h5", k2_model(layer), weights, version=version, backend=backend)
    with pytest.raises(UnsupportedLayerError, match=match):
        load_graph(path)


def test_weights_only_file_asks_for_the_json():
    with pytest.raises(LegacyconvError, match=r"holds only weights .*pass the architecture JSON"):
        load_graph(ZOO / "k1_json_functional_weights.h5")


def test_json_without_weights_asks_for_them():
    with pytest.raises(LegacyconvError, match=r"without weights: pass the weights file .*--weights"):
        load_graph(ZOO / "k1_json_functional.json")


def test_model_file_with_extra_weights_is_an_error():
    with pytest.raises(LegacyconvError, match="do not pass --weights"):
        load_graph(ZOO / "k1_decoder.h5", weights=ZOO / "k1_json_functional_weights.h5")


def test_wrong_weight_shape_is_a_legacyconv_error(tmp_path):
    bad = {"conv": [("conv_W", np.ones((2, 1, 3, 2), np.float32)), ("conv_b", np.zeros(2, np.float32))]}
    path = write_model(tmp_path / "m.h5", k1_sequential(k1_conv()), bad)
    with pytest.raises(
        LegacyconvError, match=r"'conv' \(Convolution2D\): the kernel W has shape \(2, 1, 3, 2\)"
    ):
        load_graph(path)


def test_refusals_happen_before_any_framework_is_imported(tmp_path):
    path = write_model(
        tmp_path / "m.h5",
        k1_sequential(k1_conv(), {"class_name": "LocallyConnected2D", "config": {"name": "lc"}}),
        CONV_W,
    )
    code = (
        "import sys\nfrom legacyconv.frontends import load_graph, UnsupportedLayerError\n"
        f"try:\n    load_graph({str(path)!r})\nexcept UnsupportedLayerError as e:\n    print('refused', e)\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert "refused" in out and out.strip().endswith("False False")


# --- inspect / load_weights: roles and layer tables from the translators --------------------------


@pytest.mark.parametrize("name", [m for m in MODELS if (FOLDER[m] / f"{m}.h5").exists()])
def test_inspect_every_zoo_model_file(name, capsys):
    from legacyconv.cli import main

    # the nested Sequential of k1_siamese_tower crashed `inspect` with exit 3 ('list' has no .get)
    assert main(["inspect", str(FOLDER[name] / f"{name}.h5")]) == 0
    out = capsys.readouterr().out
    assert "cannot migrate" not in out
    meta = json.loads((FOLDER[name] / f"{name}_reference.json").read_text())
    for layer in meta["layer_classes"]:
        assert layer["name"] in out and layer["class"] in out


def test_roles_come_from_the_translators():
    from legacyconv.io import load_weights

    wf = load_weights(ZOO / "k1_siamese_tower.h5")
    assert wf.info["tower/t_conv1_W"].role == "conv_kernel" and wf.info["tower/t_conv1_W"].filter_flip
    assert wf.info["tower/t_embed_W"].feature_shape == (8, 5, 8)  # Flatten of the nested tower's map
    assert wf.info["same_or_not/same_or_not_W"].feature_shape is None
    rows = {row.name: row for row in wf.keras1.layers}
    assert rows["tower"].output_shape == (12,) and "conv(" in rows["tower"].computes
    wf = load_weights(ZOO / "k1_conv_rnn.h5")
    assert wf.info["lstm_back/lstm_back_W_i"].role == "keep"
    wf = load_weights(ZOO / "k2_merge_bn.h5")
    assert wf.format == "keras2-hdf5" and "data_format 'channels_first'" in wf.source
    assert wf.info["a_conv/a_conv/kernel"].role == "unknown"  # a Keras-2 kernel is not Theano's layout


def test_unsupported_model_still_inspects(tmp_path):
    from legacyconv.io import load_weights

    path = write_model(
        tmp_path / "m.h5",
        k1_sequential(k1_conv(), {"class_name": "LocallyConnected2D", "config": {"name": "lc"}}),
        CONV_W,
    )
    wf = load_weights(path)
    assert "cannot migrate: Keras-1 layer 'lc' (LocallyConnected2D) is not supported" in wf.summary()


# --- translators without a recorded reference: independent NumPy ---------------------------------


def two_input_model(merge_layer, version="1.2.2", backend=None):
    def inp(name):
        return {
            "name": name,
            "class_name": "InputLayer",
            "inbound_nodes": [],
            "config": {"name": name, "batch_input_shape": [None, 5]},
        }

    merge_layer = {**merge_layer, "inbound_nodes": [[["a", 0, 0], ["b", 0, 0]]]}
    config = {
        "name": "m",
        "layers": [inp("a"), inp("b"), merge_layer],
        "input_layers": [["a", 0, 0], ["b", 0, 0]],
        "output_layers": [[merge_layer["name"], 0, 0]],
    }
    return {"class_name": "Model", "config": config}


@pytest.mark.parametrize("mode", ["dot", "cos"])
def test_keras1_merge_dot_and_cos(tmp_path, mode):
    layer = {
        "name": "m",
        "class_name": "Merge",
        "config": {"name": "m", "mode": mode, "mode_type": "raw", "dot_axes": -1, "concat_axis": -1},
    }
    graph = load_graph(write_model(tmp_path / "m.h5", two_input_model(layer)))
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal((4, 5)).astype(np.float32)
    out = run_graph(graph, {"a": a, "b": b}, ["m"])["m"]
    dot = (a.astype(np.float64) * b).sum(1)
    if mode == "dot":
        np.testing.assert_allclose(out, dot[:, None], rtol=1e-5)
    else:  # Keras 1 returned (batch, 1, 1): K.expand_dims of batch_dot's (batch, 1)
        cos = dot / np.sqrt((a.astype(np.float64) ** 2).sum(1) * (b.astype(np.float64) ** 2).sum(1))
        np.testing.assert_allclose(out, cos[:, None, None], rtol=1e-5)


@pytest.mark.parametrize("normalize", [False, True])
def test_keras2_dot(tmp_path, normalize):
    layer = {"name": "m", "class_name": "Dot", "config": {"name": "m", "axes": 1, "normalize": normalize}}
    graph = load_graph(
        write_model(tmp_path / "m.h5", two_input_model(layer), version="2.2.5", backend="theano")
    )
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((3, 5)).astype(np.float32), rng.standard_normal((3, 5)).astype(np.float32)
    out = run_graph(graph, {"a": a, "b": b}, ["m"])["m"]
    if normalize:
        a = a / np.linalg.norm(a, axis=1, keepdims=True)
        b = b / np.linalg.norm(b, axis=1, keepdims=True)
    np.testing.assert_allclose(out, (a * b).sum(1, keepdims=True), rtol=1e-5)


def test_keras1_softmax_on_images_and_dense_on_images_are_refused(tmp_path):
    path = write_model(tmp_path / "a.h5", k1_sequential(k1_conv(activation="softmax")), CONV_W)
    with pytest.raises(UnsupportedLayerError, match=r"'conv' \(Convolution2D\): softmax on a 4-d tensor"):
        load_graph(path)
    dense = {"class_name": "Dense", "config": {"name": "d", "output_dim": 2, "bias": False}}
    weights = {**CONV_W, "d": [("d_W", np.ones((4, 2), np.float32))]}
    path = write_model(tmp_path / "b.h5", k1_sequential(k1_conv(), dense), weights)
    with pytest.raises(LegacyconvError, match=r"'d' \(Dense\): needs a flat \(features,\) input"):
        load_graph(path)


def test_functional_model_with_two_outputs_keeps_their_order(tmp_path):
    def inp(name):
        return {
            "name": name,
            "class_name": "InputLayer",
            "inbound_nodes": [],
            "config": {"name": name, "batch_input_shape": [None, 3]},
        }

    dense = {
        "name": "d",
        "class_name": "Dense",
        "inbound_nodes": [[["x", 0, 0]]],
        "config": {"name": "d", "output_dim": 2, "activation": "tanh", "bias": True},
    }
    act = {
        "name": "a",
        "class_name": "Activation",
        "inbound_nodes": [[["x", 0, 0]]],
        "config": {"name": "a", "activation": "hard_sigmoid"},
    }
    config = {
        "class_name": "Model",
        "config": {
            "name": "m",
            "layers": [inp("x"), dense, act],
            "input_layers": [["x", 0, 0]],
            "output_layers": [["a", 0, 0], ["d", 0, 0]],
        },
    }
    w, b = np.arange(6, dtype=np.float32).reshape(3, 2) / 10, np.array([0.5, -0.5], np.float32)
    graph = load_graph(write_model(tmp_path / "m.h5", config, {"d": [("d_W", w), ("d_b", b)]}))
    assert graph.outputs == ["a", "d"] and "output" not in graph.meta["references"]
    x = np.linspace(-4, 4, 12, dtype=np.float32).reshape(4, 3)
    out = run_graph(graph, {"x": x})
    np.testing.assert_allclose(out["d"], np.tanh(x @ w + b), rtol=1e-6)
    np.testing.assert_array_equal(out["a"], np.clip(0.2 * x + 0.5, 0, 1).astype(np.float32))


def test_keras2_sequential_input_shape_from_build_input_shape(tmp_path):
    layer = {**K2_CONV, "config": {k: v for k, v in K2_CONV["config"].items() if k != "batch_input_shape"}}
    config = {
        "class_name": "Sequential",
        "config": {"name": "s", "layers": [layer], "build_input_shape": [None, 1, 6, 6]},
    }
    graph = load_graph(write_model(tmp_path / "m.h5", config, K2_W, version="2.2.5", backend="theano"))
    assert graph[graph.inputs[0]].shape == (None, 1, 6, 6) and graph["c"].shape == (None, 2, 4, 4)
    layer_only = {"class_name": "Sequential", "config": {"name": "s", "layers": [layer]}}
    path = write_model(tmp_path / "n.h5", layer_only, K2_W, version="2.2.5", backend="theano")
    with pytest.raises(LegacyconvError, match="has no batch_input_shape"):
        load_graph(path)


def test_keras1_highway_maxout_time_distributed_dense_against_numpy(tmp_path):
    rng = np.random.default_rng(5)
    f32 = np.float32
    w, wc, b, bc = (rng.standard_normal(s).astype(f32) for s in ((4, 4), (4, 4), (4,), (4,)))
    mw, mb = rng.standard_normal((3, 4, 5)).astype(f32), rng.standard_normal((3, 5)).astype(f32)
    tw, tb = rng.standard_normal((5, 2)).astype(f32), rng.standard_normal(2).astype(f32)
    layers = [
        {
            "class_name": "Highway",
            "config": {"name": "hw", "activation": "tanh", "bias": True, "batch_input_shape": [None, 4]},
        },
        {
            "class_name": "MaxoutDense",
            "config": {"name": "mx", "output_dim": 5, "nb_feature": 3, "bias": True},
        },
        {"class_name": "RepeatVector", "config": {"name": "rep", "n": 3}},
        {
            "class_name": "TimeDistributedDense",
            "config": {"name": "tdd", "output_dim": 2, "activation": "relu", "bias": True},
        },
    ]
    weights = {
        "hw": [("hw_W", w), ("hw_W_carry", wc), ("hw_b", b), ("hw_b_carry", bc)],
        "mx": [("mx_W", mw), ("mx_b", mb)],
        "tdd": [("tdd_W", tw), ("tdd_b", tb)],
    }
    graph = load_graph(write_model(tmp_path / "m.h5", k1_sequential(*layers), weights))
    x = rng.standard_normal((6, 4)).astype(f32)
    out = run_graph(graph, {graph.inputs[0]: x})
    x64 = x.astype(np.float64)
    t = 1 / (1 + np.exp(-(x64 @ wc + bc)))
    hw = np.tanh(x64 @ w + b) * t + (1 - t) * x64
    mx = (np.einsum("nf,kfo->nko", hw, mw) + mb).max(axis=1)
    tdd = np.maximum(np.repeat(mx[:, None], 3, axis=1) @ tw + tb, 0)
    np.testing.assert_allclose(out["hw"], hw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["mx"], mx, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["tdd"], tdd, rtol=1e-5, atol=1e-6)


def test_keras1_sequential_merge_form_has_one_input_per_branch():
    graph, _ = load_zoo("k1x_sequential_merge")
    assert graph.inputs == ["l_fc_input", "r_conv_input"]
    assert graph["joined"].inputs == ("l_fc", "r_flat") and graph["joined"].reference == "layer00_joined"
    assert "input" not in graph.meta["references"]


@pytest.mark.parametrize("data_format,axis", [("channels_last", 1), ("channels_first", 2)])
def test_keras2_global_pooling_1d_data_format(tmp_path, data_format, axis):
    layer = {
        "class_name": "GlobalMaxPooling1D",
        "config": {"name": "g", "data_format": data_format, "batch_input_shape": [None, 3, 5]},
    }
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [layer]}}
    graph = load_graph(write_model(tmp_path / "m.h5", config, version="2.2.5", backend="theano"))
    x = np.random.default_rng(6).standard_normal((2, 3, 5)).astype(np.float32)
    np.testing.assert_array_equal(run_graph(graph, {graph.inputs[0]: x}, ["g"])["g"], x.max(axis=axis))


# --- the remaining refusals -----------------------------------------------------------------------


def k1_input_layer(name, shape):
    return {
        "name": name,
        "class_name": "InputLayer",
        "inbound_nodes": [],
        "config": {"name": name, "batch_input_shape": [None, *shape]},
    }


def k1_functional(layers, outputs, inputs=(("x", 0, 0),)):
    return {
        "class_name": "Model",
        "config": {
            "name": "m",
            "layers": layers,
            "input_layers": [list(i) for i in inputs],
            "output_layers": [list(o) for o in outputs],
        },
    }


def test_refusal_of_a_layer_output_other_than_the_first(tmp_path):
    dense = {
        "name": "d",
        "class_name": "Dense",
        "inbound_nodes": [[["x", 0, 1]]],
        "config": {"name": "d", "output_dim": 2, "bias": False},
    }
    config = k1_functional([k1_input_layer("x", [3]), dense], [("d", 0, 0)])
    path = write_model(tmp_path / "m.h5", config, {"d": [("d_W", np.ones((3, 2), np.float32))]})
    with pytest.raises(UnsupportedLayerError, match=r"layer 'd' reads output 1 of 'x'"):
        load_graph(path)


def test_refusal_of_a_model_class_other_than_sequential_and_model(tmp_path):
    config = {"class_name": "Graph", "config": {"name": "g", "layers": []}}
    with pytest.raises(LegacyconvError, match=r"'Graph'|no list of layers"):
        load_graph(write_model(tmp_path / "m.h5", config))


@pytest.mark.parametrize(
    "config,weights,match",
    [
        (  # Keras-1 recurrent layer whose inner activation Keras 3 has no stock match for
            k1_sequential(
                {
                    "class_name": "SimpleRNN",
                    "config": {
                        "name": "r",
                        "output_dim": 2,
                        "inner_activation": "swish",
                        "batch_input_shape": [None, 3, 2],
                    },
                }
            ),
            {
                "r": [
                    ("r_W", np.ones((2, 2), np.float32)),
                    ("r_U", np.ones((2, 2), np.float32)),
                    ("r_b", np.zeros(2, np.float32)),
                ]
            },
            r"'r' \(SimpleRNN\): the recurrent \(inner\) activation 'swish' is not supported",
        ),
        (  # merge dot over images
            k1_functional(
                [
                    k1_input_layer("x", [2, 3, 3]),
                    {
                        "name": "m",
                        "class_name": "Merge",
                        "inbound_nodes": [[["x", 0, 0], ["x", 0, 0]]],
                        "config": {"name": "m", "mode": "dot", "mode_type": "raw", "dot_axes": 1},
                    },
                ],
                [("m", 0, 0)],
            ),
            {},
            r"'m' \(Merge\): mode='dot' is supported on two \(batch, features\) inputs",
        ),
        (  # 'same' 3-D pooling with a window of 1: Keras 2's pool3d asked Theano for a pad of -1
            {
                "class_name": "Sequential",
                "config": {
                    "name": "s",
                    "layers": [
                        {
                            "class_name": "MaxPooling3D",
                            "config": {
                                "name": "p",
                                "pool_size": [1, 2, 2],
                                "padding": "same",
                                "data_format": "channels_first",
                                "batch_input_shape": [None, 1, 4, 4, 4],
                            },
                        }
                    ],
                },
            },
            {},
            r"'same' pooling with a window of 1 gives Theano the pad -1",
        ),
    ],
)
def test_more_refusals(tmp_path, config, weights, match):
    version, backend = (
        ("2.2.5", "theano")
        if config["class_name"] == "Sequential" and isinstance(config["config"], dict)
        else ("1.2.2", None)
    )
    with pytest.raises(UnsupportedLayerError, match=match):
        load_graph(write_model(tmp_path / "m.h5", config, weights, version=version, backend=backend))


@pytest.mark.parametrize(
    "layer,match",
    [
        ({"class_name": "ReLU", "config": {"name": "c", "max_value": 6.0}}, r"'c' \(ReLU\): max_value=6.0"),
        (
            {"class_name": "GRU", "config": {"name": "c", "units": 2, "reset_after": True}},
            r"reset_after=True",
        ),
        (
            {"class_name": "LSTM", "config": {"name": "c", "units": 2, "return_state": True}},
            r"return_state=True",
        ),
    ],
)
def test_keras2_argument_refusals(tmp_path, layer, match):
    layer = {**layer, "config": {**layer["config"], "batch_input_shape": [None, 3, 4]}}
    path = write_model(tmp_path / "m.h5", k2_model(layer), {}, version="2.2.5", backend="theano")
    with pytest.raises(UnsupportedLayerError, match=match):
        load_graph(path)


def test_keras1_file_from_another_backend_and_keras3_files_are_refused(tmp_path):
    path = write_model(tmp_path / "a.h5", k1_sequential(k1_conv()), CONV_W, backend="tensorflow")
    with pytest.raises(UnsupportedLayerError, match=r"with the 'tensorflow' backend; only Theano models"):
        load_graph(path)
    path = write_model(tmp_path / "b.h5", k2_model(K2_CONV), K2_W, version="3.1.0", backend="tensorflow")
    with pytest.raises(UnsupportedLayerError, match=r"Keras 3.1.0 files are not supported"):
        load_graph(path)
