"""The three recorded Lasagne networks (tests/data/lasagne/) through the ONNX target and ONNX
Runtime equal what Lasagne computed on Theano, layer by layer.

legacyconv has no Lasagne frontend yet, so :func:`lasagne_graph` is a small translator written
for this test from the recorded layer list (class and arguments per layer, Lasagne 0.2's
semantics read from its source). It exercises what only Lasagne models have: LRN with Lasagne's
alpha (not divided by n), ``BatchNormLayer``'s ``inv_std``, ``average_exc_pad`` with padding,
``ignore_border=False`` ceil-mode pooling, dilated and transposed convolutions,
``ElemwiseSumLayer`` coefficients, ``flip_filters=False``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from legacyconv.graph import Graph

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from legacyconv.targets.onnx import OnnxRunner, to_onnx  # noqa: E402

DATA = Path(__file__).parent / "data" / "lasagne"
MODELS = ["vgg_bn_cnn", "block_net", "tiny_caffenet"]

#: Lasagne nonlinearity -> graph activation
NONLINEARITIES = {
    "rectify": "relu",
    "linear": None,
    "tanh": "tanh",
    "softmax": "softmax",
    "sigmoid": "sigmoid",
}
#: tiny_caffenet's SliceLayer indices (the recorded JSON keeps only the axis)
SLICES = {"conv2_data1": (0, 8), "conv2_data2": (8, 16)}


def _flip(w: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(w[:, :, ::-1, ::-1])


def _pads(pad, kernel):
    if pad == "same":
        return tuple((k // 2, k // 2) for k in kernel)
    if pad == "full":
        return tuple((k - 1, k - 1) for k in kernel)
    if pad == "valid":
        return ((0, 0),) * len(kernel)
    return tuple((int(p), int(p)) for p in pad)


def lasagne_graph(name: str) -> Graph:
    """A graph of the recorded Lasagne network ``name`` (its layers' classes and arguments)."""
    meta = json.loads((DATA / f"{name}_reference.json").read_text())
    params = np.load(DATA / f"{name}_params.npz")
    g = Graph(name=name)

    def param(layer, role):
        """The saved array of the layer's parameter ``role`` ('W', 'b', 'gamma' ...), or None."""
        for p in layer["params"]:
            if p["name"].split(".")[-1] == role:  # 'conv1.W', or 'W' for an unnamed layer
                return params[f"arr_{p['saved_index']}"]
        return None

    def finish(layer, node, nonlinearity=None):
        """Apply the layer's nonlinearity after ``node``; the last node carries the reference."""
        key = layer.get("reference_key")
        fn = NONLINEARITIES.get(nonlinearity) if nonlinearity != "LeakyRectify" else "leaky_relu"
        if nonlinearity and fn:
            attrs = {"fn": fn, "alpha": layer.get("nonlinearity_leakiness", 0.01)}
            node = g.add("activation", layer["name"], [node], attrs=attrs)
        else:
            g.nodes[node].name = node
        g.nodes[node].reference = key
        return node

    for layer in meta["layers"]:
        cls, lname, ins = layer["class"], layer["name"], layer["input_layers"]
        pre = f"{lname}/pre" if layer.get("nonlinearity") not in (None, "linear") else lname
        if cls == "InputLayer":
            g.add("input", lname, attrs={"shape": tuple(layer["shape"][1:])})
            continue
        if cls in ("Conv2DLayer", "DilatedConv2DLayer"):
            w = param(layer, "W")
            if cls == "DilatedConv2DLayer":  # W is (inputs, filters, ...) and never flipped
                w, dil, pads = (
                    np.ascontiguousarray(w.transpose(1, 0, 2, 3)),
                    tuple(layer["dilation"]),
                    _pads(layer["pad"], w.shape[2:]),
                )
                strides = (1, 1)
            else:
                w = _flip(w) if layer["flip_filters"] else w
                dil, strides, pads = (1, 1), tuple(layer["stride"]), _pads(layer["pad"], w.shape[2:])
            weights = {k: v for k, v in (("W", w), ("b", param(layer, "b"))) if v is not None}
            g.add(
                "conv", pre, ins, attrs={"pads": pads, "strides": strides, "dilations": dil}, weights=weights
            )
            finish(layer, pre, layer["nonlinearity"])
        elif cls == "TransposedConv2DLayer":
            w = param(layer, "W")  # (inputs, filters, ...): the gradient of a conv with W
            w = w if layer["flip_filters"] else _flip(w)
            crop = tuple((c, c) for c in layer["crop"])
            attrs = {
                "pads": crop,
                "strides": tuple(layer["stride"]),
                "output_size": tuple(layer["output_shape"][2:]),
            }
            g.add("conv_transpose", pre, ins, attrs=attrs, weights={"W": w, "b": param(layer, "b")})
            finish(layer, pre, layer["nonlinearity"])
        elif cls in ("MaxPool2DLayer", "Pool2DLayer"):
            attrs = {
                "ws": tuple(layer["pool_size"]),
                "strides": tuple(layer["stride"]),
                "pads": tuple(layer["pad"]),
                "ignore_border": layer["ignore_border"],
                "mode": layer["mode"],
            }
            finish(layer, g.add("pool", lname, ins, attrs=attrs))
        elif cls == "LocalResponseNormalization2DLayer":
            attrs = {k: layer[k] for k in ("alpha", "k", "beta", "n")}
            finish(layer, g.add("lrn", lname, ins, attrs=attrs))
        elif cls == "BatchNormLayer":
            weights = {k: param(layer, k) for k in ("gamma", "beta", "mean", "inv_std")}
            finish(layer, g.add("batchnorm_inv_std", lname, ins, attrs={"axis": 1}, weights=weights))
        elif cls == "NonlinearityLayer":
            finish(
                layer, g.add("activation", lname, ins, attrs={"fn": NONLINEARITIES[layer["nonlinearity"]]})
            )
        elif cls == "DenseLayer":
            x = ins[0]
            if len(g.nodes[x].shape or ()) != 2:
                g.infer_shapes()
            if len(g.nodes[x].shape) > 2:
                x = g.add("flatten", f"{lname}/flatten", [x])
            g.add("dense", pre, [x], weights={"W": param(layer, "W"), "b": param(layer, "b")})
            finish(layer, pre, layer["nonlinearity"])
        elif cls == "DropoutLayer":
            finish(layer, g.add("identity", lname, ins))
        elif cls == "SliceLayer":
            start, stop = SLICES[lname]
            finish(
                layer, g.add("slice", lname, ins, attrs={"axis": layer["axis"], "start": start, "stop": stop})
            )
        elif cls == "ConcatLayer":
            finish(layer, g.add("merge", lname, ins, attrs={"mode": "concat", "axis": layer["axis"]}))
        elif cls == "ElemwiseSumLayer":
            finish(layer, g.add("merge", lname, ins, attrs={"mode": "sum", "coeffs": tuple(layer["coeffs"])}))
        elif cls == "PadLayer":
            pads = tuple(tuple(p) for p in layer["width"])
            finish(layer, g.add("pad", lname, ins, attrs={"pads": pads, "value": float(layer["val"])}))
        elif cls == "Upscale2DLayer":
            finish(layer, g.add("upsample", lname, ins, attrs={"factors": tuple(layer["scale_factor"])}))
        elif cls == "GlobalPoolLayer":
            finish(layer, g.add("global_pool", lname, ins, attrs={"mode": "average"}))
        elif cls == "DimshuffleLayer":
            finish(layer, g.add("transpose", lname, ins, attrs={"perm": tuple(layer["pattern"])}))
        elif cls == "ReshapeLayer":
            shape = tuple(s for s in layer["shape"][1:])
            finish(layer, g.add("reshape", lname, ins, attrs={"shape": shape}))
        elif cls == "FlattenLayer":
            finish(layer, g.add("flatten", lname, ins))
        else:
            raise AssertionError(f"the test translator has no Lasagne {cls}")
    g.outputs = [meta["layers"][-1]["name"]]
    g.infer_shapes()
    return g


@pytest.mark.parametrize("name", MODELS)
def test_lasagne_network_through_onnx_runtime_equals_theano(name):
    graph = lasagne_graph(name)
    refs = dict(np.load(DATA / f"{name}_reference.npz"))
    runner = OnnxRunner(to_onnx(graph))
    by_reference = {b.reference: b.node for b in runner.nodes if b.reference}
    keys = {k: by_reference[k] for k in refs if k.startswith("layer")}
    assert len(keys) == len(graph.nodes) - 1 - sum("/" in n for n in graph.nodes)  # one per layer
    keys["output"] = runner.outputs[0].node
    got = runner.run({runner.inputs[0].node: refs["input"]}, list(keys.values()))
    for key, node in keys.items():
        ref = refs[key]
        assert got[node].shape == ref.shape, key
        tol = 1e-5 * max(1.0, float(np.abs(ref).max()))
        np.testing.assert_allclose(got[node], ref, rtol=1e-4, atol=tol, err_msg=key)
