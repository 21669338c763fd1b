"""The Lasagne frontend: mirror networks into the model graph, then to Keras 3 / ONNX, checked
against what real Lasagne on Theano computed."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import legacyconv.lasagne as mirror
from legacyconv import LegacyconvError
from legacyconv._errors import UnsupportedLayerError
from legacyconv.frontends.lasagne import graph_from_network, load_lasagne_graph, output_layer_of
from legacyconv.graph.numpy_runner import run_graph
from legacyconv.lasagne import layers as L
from legacyconv.lasagne import nonlinearities as nl

DATA = Path(__file__).parent / "data"
NETS = DATA / "lasagne"
MODELS = ["vgg_bn_cnn", "block_net", "tiny_caffenet"]


def tolerance(ref):
    return {"rtol": 1e-4, "atol": 1e-5 * max(1.0, float(np.abs(ref).max()))}


@pytest.mark.parametrize("name", MODELS)
def test_graph_reproduces_every_layer(name):
    graph = load_lasagne_graph(f"{NETS / name}.py:build_model", NETS / f"{name}_params.npz")
    ref = np.load(NETS / f"{name}_reference.npz")
    outs = run_graph(graph, {graph.inputs[0]: ref["input"]})
    compared = 0
    for node in graph.nodes.values():
        if node.reference and node.reference != "input":
            np.testing.assert_allclose(outs[node.name], ref[node.reference], **tolerance(ref[node.reference]))
            compared += 1
    assert compared == sum(1 for k in ref.files if k.startswith("layer"))
    np.testing.assert_allclose(outs[graph.outputs[0]], ref["output"], **tolerance(ref["output"]))


RECORDED = json.loads((DATA / "lasagne_layers.json").read_text())["cases"]
F = types.SimpleNamespace(max=np.max, mean=np.mean, mul=np.multiply, maximum=np.maximum, sqr=np.square)
# what the graph cannot express (each refused with a sentence naming the layer)
REFUSED = {
    "upscale1d_dilate": "mode='dilate'",
    "upscale2d_dilate": "mode='dilate'",
    "featurepool": "FeaturePoolLayer",
    "featurewta": "FeatureWTALayer",
    "dense_leading2": "num_leading_axes=2",
    "standardization": "StandardizationLayer",
    "instance_norm": "StandardizationLayer",
    "layer_norm": "StandardizationLayer",
    "expression": "ExpressionLayer",
    "expression_auto": "ExpressionLayer",
    "pad_batch_ndim1": "batch_ndim=2",
    "nonlinearity_03": "nonlinearity ScaledTanH",
    "nonlinearity_10": "nonlinearity SELU",
    "globalpool_max_3d": None,
    "batchnorm_batchstats": "deterministic",
}


@pytest.mark.parametrize("case", RECORDED, ids=[c["name"] for c in RECORDED])
def test_recorded_layer_through_the_graph(case):
    """Every recorded real-Lasagne case either goes through the graph and reproduces Lasagne, or
    is refused with a sentence naming what cannot be migrated."""
    with np.load(DATA / "lasagne_layers.npz") as npz:
        rec = {k: npz[k] for k in npz.files if k.startswith(case["name"] + "/")}
    inps = [L.InputLayer([None] + s[1:]) for s in case["input_shapes"]]
    net = eval(case["code"], {"L": L, "nl": nl, "F": F, "np": np, "inp": inps[0], "inps": inps})
    n_params = len(L.get_all_params(net))
    L.set_all_param_values(net, [rec[f"{case['name']}/param{i}"] for i in range(n_params)])
    if case["name"] in REFUSED and REFUSED[case["name"]] == "deterministic":
        pytest.skip("recorded with batch statistics (training mode); the graph is inference only")
    if len(inps) > 1:  # merges of several InputLayers: the frontend migrates one-input networks
        with pytest.raises(UnsupportedLayerError, match="2 input layers|3 input layers"):
            graph_from_network(net, input_shape=tuple(case["input_shapes"][0][1:]))
        return
    if REFUSED.get(case["name"]) is not None:
        with pytest.raises(UnsupportedLayerError, match=REFUSED[case["name"]]):
            graph_from_network(net, input_shape=tuple(case["input_shapes"][0][1:]))
        return
    graph = graph_from_network(net, input_shape=tuple(case["input_shapes"][0][1:]))
    if case["name"] == "tconv3d_stride":
        pytest.skip(
            "the graph's NumPy runner has no 3-D conv_transpose (the mirror computes it: test_lasagne_layers)"
        )
    out = run_graph(graph, {graph.inputs[0]: rec[f"{case['name']}/input0"]})[graph.outputs[0]]
    want = rec[f"{case['name']}/output"]
    np.testing.assert_allclose(out, want, **tolerance(want))


def test_refusal_happens_before_tensorflow_is_imported(tmp_path):
    path = tmp_path / "expr.py"
    path.write_text(
        "from lasagne.layers import InputLayer, DenseLayer, ExpressionLayer\n\n"
        "def build_model():\n"
        "    return ExpressionLayer(DenseLayer(InputLayer((None, 3)), 2), lambda x: x * 2)\n"
    )
    np.savez(tmp_path / "w.npz", np.ones((3, 2), np.float32), np.zeros(2, np.float32))
    code = (
        "import sys\nfrom legacyconv.migrate import migrate_lasagne\n"
        f"try:\n    migrate_lasagne({str(path)!r} + ':build_model', {str(tmp_path / 'w.npz')!r}, {str(tmp_path / 'o.keras')!r})\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
        "print('tensorflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "UnsupportedLayerError" in out and "ExpressionLayer" in out
    assert out.strip().endswith("False")
    assert not (tmp_path / "o.keras").exists()


def test_output_layer_choice():
    net = mirror.load_network(f"{NETS / 'tiny_caffenet.py'}:build_model")
    assert output_layer_of(net) is net["prob"]
    assert output_layer_of(net, "fc7") is net["fc7"]
    del net["prob"]
    with pytest.raises(LegacyconvError, match="without a 'prob' entry; say which layer is the output"):
        output_layer_of(net)
    with pytest.raises(LegacyconvError, match="has no layer 'nope'"):
        output_layer_of(net, "nope")


def test_input_shape_for_unknown_sizes():
    net = L.Conv2DLayer(L.InputLayer((None, 3, None, None)), 4, 3, pad="same")
    with pytest.raises(LegacyconvError, match="unknown sizes; give input_shape"):
        graph_from_network(net)
    with pytest.raises(LegacyconvError, match=r"input_shape \(4, 8, 8\) does not fit"):
        graph_from_network(net, input_shape=(4, 8, 8))
    graph = graph_from_network(net, input_shape=(3, 8, 8))
    assert graph.nodes[graph.outputs[0]].shape == (None, 4, 8, 8)


keras = pytest.importorskip("tensorflow").keras


@pytest.mark.parametrize(
    "name, weights",
    [
        ("vgg_bn_cnn", "vgg_bn_cnn.pkl"),
        ("block_net", "block_net_params.npz"),
        ("tiny_caffenet", "tiny_caffenet_py2.pkl"),
    ],
)
def test_migrate_to_keras_and_check(tmp_path, name, weights):
    from legacyconv.migrate import migrate_lasagne
    from legacyconv.regression import check

    out = tmp_path / f"{name}.keras"
    result = migrate_lasagne(f"{NETS / name}.py:build_model", NETS / weights, out)
    assert result.written == [str(out)]
    ref = NETS / f"{name}_reference.npz"
    report = check(out, ref, rtol=1e-4, tolerance_scale="layer", progress=False)
    assert report.passed, report.table()
    compared = [r for r in report.rows if r.status == "ok"]
    assert len(compared) == sum(1 for k in np.load(ref).files if k.startswith("layer")) + 1  # + output


@pytest.mark.parametrize("name", ["block_net", "tiny_caffenet"])
def test_migrate_to_onnx_and_check(tmp_path, name):
    """The same networks through the ONNX target (NCHW, like Theano)."""
    pytest.importorskip("onnxruntime")
    from legacyconv.cli import main
    from legacyconv.migrate import migrate_lasagne

    out = tmp_path / f"{name}.onnx"
    migrate_lasagne(
        f"{NETS / name}.py:build_model",
        NETS / f"{name}_py2.pkl" if name == "tiny_caffenet" else NETS / f"{name}.pkl",
        out,
        input_layout="nchw",
    )
    ref = NETS / f"{name}_reference.npz"
    assert main(["check", str(out), str(ref), "--rtol", "1e-4", "--tolerance-scale", "layer"]) == 0


def test_cli_lasagne_arguments(tmp_path, capsys):
    from legacyconv.cli import main

    net = f"{NETS / 'vgg_bn_cnn.py'}:build_model"
    w = str(NETS / "vgg_bn_cnn_params.npz")
    assert (
        main(["migrate", "--lasagne", net, w, "-o", str(tmp_path / "a.keras"), "--input-shape", "3,x"]) == 2
    )
    assert "--input-shape must be positive integers" in capsys.readouterr().err
    assert main(["migrate", w, "-o", str(tmp_path / "a.keras"), "--output-layer", "prob"]) == 2
    assert "apply to --lasagne networks only" in capsys.readouterr().err
    assert (
        main(["migrate", "--lasagne", net, w, "-o", str(tmp_path / "a.keras"), "--output-layer", "fc2"]) == 0
    )
    assert "output (None, 6)" in capsys.readouterr().out


def test_model_zoo_googlenet_through_the_graph(tmp_path):
    """The model zoo's GoogLeNet layout (cuDNN layers, ceil-mode and padded pools, LRN, nine
    inception concats, global pooling; an InputLayer of unknown size) at 64x64: the graph
    reproduces the mirror on every layer."""
    import runpy

    script = Path(__file__).resolve().parents[1] / "scripts" / "bench_lasagne.py"
    (tmp_path / "googlenet.py").write_text(runpy.run_path(str(script))["GOOGLENET"].format(lrn=True))
    mirror.random.set_rng(np.random.RandomState(0))
    try:
        net = mirror.load_network(f"{tmp_path / 'googlenet.py'}:build_model")
    finally:
        mirror.random.set_rng(np.random)
    with pytest.raises(LegacyconvError, match="unknown sizes; give input_shape"):
        graph_from_network(net)
    graph = graph_from_network(net, input_shape=(3, 64, 64))
    x = (np.random.default_rng(2).random((2, 3, 64, 64)) * 255 - 117).astype(np.float32)
    layers = L.get_all_layers(net["prob"])
    want = L.get_output(layers, x, deterministic=True)
    got = run_graph(graph, {graph.inputs[0]: x})
    by_ref = {n.reference: n.name for n in graph.nodes.values() if n.reference}
    for i, w in enumerate(want[1:], start=1):
        key = next(k for k in by_ref if k.startswith(f"layer{i:02d}_"))
        np.testing.assert_allclose(
            got[by_ref[key]], w, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(w).max()))
        )
    assert graph.nodes[graph.outputs[0]].shape == (None, 1000)
