"""The ONNX target: one-node graphs of every golden case through ONNX Runtime equal Theano,
random geometries equal the independent NumPy references, every op agrees with the graph's
reference semantics, and the model file is what the issue promises (names, dynamic batch,
initializer dtypes, standard opset, full checker)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_engine_properties import problems, reference_conv
from test_pool import naive_pool, pool_args

import legacyconv
from legacyconv import LegacyconvError
from legacyconv._params import explicit_pads, normalize_border_mode
from legacyconv.graph import Graph
from legacyconv.graph.numpy_runner import run_graph

from golden import cases, tolerance

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx.reference import ReferenceEvaluator  # noqa: E402

from legacyconv.targets.onnx import OnnxRunner, read_sidecar, save, to_onnx  # noqa: E402


def legacyconv_cli(*args) -> subprocess.CompletedProcess:
    """Run ``legacyconv ARGS`` in a fresh process on this checkout."""
    env = {**os.environ, "PYTHONPATH": str(Path(legacyconv.__file__).parent.parent)}
    cmd = [sys.executable, "-m", "legacyconv", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def run_onnx(graph: Graph, feeds: dict, names=None, **kwargs) -> dict:
    """Export ``graph``, check it with the full checker, run it with ONNX Runtime."""
    model = to_onnx(graph, **kwargs)
    onnx.checker.check_model(model, full_check=True)
    runner = OnnxRunner(model)
    return runner.run(feeds, list(names or graph.outputs))


def flipped(w: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(w[(slice(None), slice(None)) + (slice(None, None, -1),) * (w.ndim - 2)])


# --- golden cases as one-node graphs ----------------------------------------------------------


def conv_graph(
    x, w, border_mode="valid", subsample=None, filter_flip=True, filter_dilation=None, num_groups=1, **hints
):
    rank = w.ndim - 2
    dilation = tuple(filter_dilation or (1,) * rank)
    pads = explicit_pads(normalize_border_mode(border_mode, rank), w.shape[2:], dilation)
    g = Graph()
    g.add("input", "x", attrs={"shape": x.shape[1:]}, dtype=str(x.dtype))
    attrs = {
        "pads": pads,
        "strides": tuple(subsample or (1,) * rank),
        "dilations": dilation,
        "groups": num_groups,
    }
    g.add(
        "conv",
        "conv",
        ["x"],
        attrs=attrs,
        weights={"W": flipped(w) if filter_flip else w},
        dtype=str(x.dtype),
    )
    g.outputs = ["conv"]
    return g


def transpose_graph(
    x,
    w,
    output_shape,
    border_mode="valid",
    input_dilation=(1, 1),
    filter_flip=True,
    filter_dilation=(1, 1),
    num_groups=1,
):
    pads = explicit_pads(normalize_border_mode(border_mode, 2), w.shape[2:], filter_dilation)
    g = Graph()
    g.add("input", "x", attrs={"shape": x.shape[1:]}, dtype=str(x.dtype))
    attrs = {
        "pads": pads,
        "strides": tuple(input_dilation),
        "dilations": tuple(filter_dilation),
        "groups": num_groups,
        "output_size": tuple(output_shape[2:]),
    }
    g.add("conv_transpose", "deconv", ["x"], attrs=attrs, weights={"W": flipped(w) if filter_flip else w})
    g.outputs = ["deconv"]
    return g


def separable_graph(
    x, depthwise, pointwise, num_channels, border_mode="valid", subsample=(1, 1), filter_flip=True
):
    pads = explicit_pads(normalize_border_mode(border_mode, 2), depthwise.shape[2:], (1, 1))
    g = Graph()
    g.add("input", "x", attrs={"shape": x.shape[1:]})
    dw = flipped(depthwise) if filter_flip else depthwise
    attrs = {"pads": pads, "strides": tuple(subsample), "groups": num_channels}
    g.add("conv", "depthwise", ["x"], attrs=attrs, weights={"W": dw})
    g.add("conv", "pointwise", ["depthwise"], weights={"W": flipped(pointwise) if filter_flip else pointwise})
    g.outputs = ["pointwise"]
    return g


def pool_graph(x, ws, ignore_border=None, stride=None, pad=(0, 0), mode="max"):
    g = Graph()
    g.add("input", "x", attrs={"shape": x.shape[1:]})
    attrs = {
        "ws": tuple(ws),
        "strides": tuple(stride or ws),
        "pads": tuple(pad or (0,) * len(ws)),
        "ignore_border": bool(ignore_border),
        "mode": mode,
    }
    g.add("pool", "pool", ["x"], attrs=attrs)
    g.outputs = ["pool"]
    return g


BUILDERS = {
    "conv2d": conv_graph,
    "conv3d": conv_graph,
    "conv2d_transpose": transpose_graph,
    "separable_conv2d": separable_graph,
    "pool_2d": pool_graph,
}
GOLDEN = [c for c in cases(*BUILDERS) if not c["name"].startswith("conv2d_hints/")]


def as_float32_case(graph: Graph) -> Graph:
    for node in graph.nodes.values():
        node.dtype = "float32"
        node.weights = {k: v.astype(np.float32) for k, v in node.weights.items()}
    return graph


def test_every_golden_family_is_there():
    names = {c["op"] for c in GOLDEN}
    assert names == set(BUILDERS)
    assert len(GOLDEN) >= 150


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
def test_golden_case_through_onnx_runtime_and_the_onnx_reference_equals_theano(case):
    build = BUILDERS[case["op"]]
    originals = [a.copy() for a in case["inputs"]]
    if "error" in case:
        with pytest.raises(LegacyconvError):
            to_onnx(build(*case["inputs"], **case["kwargs"]))
        return
    x = case["inputs"][0]
    expected = case["expected"]
    graph = build(*case["inputs"], **case["kwargs"])
    model = to_onnx(graph)
    out_type = model.graph.output[0].type.tensor_type
    assert out_type.elem_type == onnx.helper.np_dtype_to_tensor_dtype(case["dtype"])
    # weights (and helper constants such as sum pooling's ones) stay in the legacy dtype
    assert {init.data_type for init in model.graph.initializer} <= {out_type.elem_type}
    # the ONNX specification's own reference implementation runs every model, float64 included
    (spec,) = ReferenceEvaluator(model).run(None, {"x": x})
    assert spec.dtype == case["dtype"] and spec.shape == expected.shape
    np.testing.assert_allclose(spec, expected, **tolerance(spec.dtype, expected))
    if case["dtype"] == np.float64:
        # ONNX Runtime's CPU provider has no double Conv/AveragePool: there the geometry is
        # checked in float32 against Theano's float64 answer.
        graph = as_float32_case(build(*case["inputs"], **case["kwargs"]))
        x = x.astype(np.float32)
    out = OnnxRunner(to_onnx(graph)).run({"x": x}, graph.outputs)[graph.outputs[0]]
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, **tolerance(out.dtype, expected))
    for before, after in zip(originals, case["inputs"]):
        np.testing.assert_array_equal(before, after)


# --- random geometries against the independent references ------------------------------------


def check_conv_problem(problem):
    x, w, kwargs = problem
    x, w = x.astype(np.float32), w.astype(np.float32)
    graph = conv_graph(x, w, **kwargs)
    out = run_onnx(graph, {"x": x})["conv"]
    expected = reference_conv(
        x,
        w,
        kwargs["border_mode"],
        kwargs["subsample"],
        kwargs["filter_flip"],
        kwargs["filter_dilation"],
        kwargs["num_groups"],
    )
    np.testing.assert_allclose(
        out, expected, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(expected).max(initial=0)))
    )


@settings(max_examples=40, deadline=None)
@given(problems(2))
def test_random_conv2d_equals_the_reference(problem):
    check_conv_problem(problem)


@settings(max_examples=15, deadline=None)
@given(problems(3))
def test_random_conv3d_equals_the_reference(problem):
    check_conv_problem(problem)


@settings(max_examples=60, deadline=None)
@given(pool_args())
def test_random_pool_2d_equals_the_reference(args):
    x, ws, ignore_border, stride, pad, mode = args
    x = np.asarray(x, np.float32).reshape((1, -1) + x.shape[-2:])
    expected = naive_pool(x, ws, ignore_border, stride, pad, mode)
    graph = pool_graph(x, ws, ignore_border, stride, pad, mode)
    if expected.size == 0:
        with pytest.raises(LegacyconvError, match="empty output"):
            to_onnx(graph)
        return
    out = run_onnx(graph, {"x": x})["pool"]
    assert out.shape == expected.shape
    np.testing.assert_allclose(
        out, expected, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(expected).max(initial=0)))
    )


# --- every op against the graph's reference semantics ----------------------------------------

RNG = np.random.default_rng(12)


def rand(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def assert_agrees_with_numpy_runner(graph: Graph, feeds: dict, rtol=1e-5, **kwargs):
    """ONNX Runtime and :func:`run_graph` (the reference semantics) agree on every legacy layer."""
    names = [n.name for n in graph.nodes.values() if n.op != "input"]
    for name in names:  # every node a legacy layer, so that every one is exposed
        graph[name].reference = graph[name].reference or name
    got = run_onnx(graph, feeds, names, expose_layers=True, **kwargs)
    want = run_graph(graph, feeds)
    for name in names:
        assert got[name].shape == want[name].shape, name
        scale = max(1.0, float(np.abs(want[name]).max(initial=0)))
        np.testing.assert_allclose(got[name], want[name], rtol=rtol, atol=1e-5 * scale, err_msg=name)


def image_graph(lrn: bool = True, deconv_groups: int = 2) -> Graph:
    g = Graph(name="images")
    g.add("input", "img", attrs={"shape": (3, 9, 8)})
    g.add(
        "conv",
        "conv1",
        ["img"],
        attrs={"pads": ((1, 2), (0, 1)), "strides": (1, 2)},
        weights={"W": rand(6, 3, 3, 2), "b": rand(6)},
        reference="layer01_conv1",
    )
    bn = {"gamma": rand(6), "beta": rand(6), "mean": rand(6), "var": np.abs(rand(6)) + 0.5}
    g.add(
        "batchnorm", "bn1", ["conv1"], attrs={"axis": 1, "epsilon": 1e-3}, weights=bn, reference="layer02_bn1"
    )
    g.add("activation", "relu1", ["bn1"], attrs={"fn": "relu"})
    g.add("pad", "pad1", ["relu1"], attrs={"pads": ((2, 0), (1, 3)), "value": 0.0})
    g.add("crop", "crop1", ["pad1"], attrs={"crops": ((1, 1), (0, 2))})
    g.add("upsample", "up1", ["crop1"], attrs={"factors": (2, 3)})
    if lrn:
        g.add("lrn", "lrn1", ["up1"], attrs={"alpha": 1e-2, "k": 2.0, "beta": 0.75, "n": 5})
    else:
        g.add("identity", "lrn1", ["up1"])
    g.add(
        "pool",
        "pool1",
        ["lrn1"],
        attrs={"ws": (3, 3), "strides": (2, 2), "ignore_border": False, "mode": "average_inc_pad"},
    )
    g.add("prelu", "prelu1", ["pool1"], weights={"alpha": rand(6, 1, 1)})
    g.add("scale_bias", "sb1", ["prelu1"], attrs={"axes": (1,)}, weights={"scale": rand(6), "bias": rand(6)})
    g.add(
        "conv",
        "dw",
        ["sb1"],
        attrs={"groups": 6, "dilations": (2, 1), "pads": ((2, 2), (1, 1))},
        weights={"W": rand(12, 1, 3, 3)},
    )
    g.add(
        "conv_transpose",
        "deconv",
        ["dw"],
        attrs={"strides": (2, 2), "pads": ((1, 0), (0, 1)), "output_size": (21, 17), "groups": deconv_groups},
        weights={"W": rand(12, 4 // deconv_groups, 3, 2), "b": rand(4)},
    )
    g.add("global_pool", "gmax", ["deconv"], attrs={"mode": "max"})
    g.add("global_pool", "gavg", ["deconv"], attrs={"mode": "average"})
    g.add("merge", "gcat", ["gmax", "gavg"], attrs={"mode": "concat", "axis": 1})
    g.add("flatten", "flat", ["sb1"])
    g.add("dense", "fc", ["flat"], weights={"W": rand(6 * 10 * 9, 8, scale=0.1), "b": rand(8)})
    g.add("merge", "both", ["fc", "gcat"], attrs={"mode": "concat", "axis": -1})
    g.add("activation", "probs", ["both"], attrs={"fn": "softmax"}, reference="output")
    g.outputs = ["probs"]
    return g


def test_image_graph_agrees_with_the_reference_semantics():
    graph = image_graph()
    graph.infer_shapes()
    assert graph["deconv"].shape == (None, 4, 21, 17)
    assert_agrees_with_numpy_runner(graph, {"img": rand(3, 3, 9, 8)})


@pytest.mark.parametrize(
    "fn, attrs",
    [
        ("linear", {}),
        ("relu", {}),
        ("tanh", {}),
        ("sigmoid", {}),
        ("hard_sigmoid", {}),
        ("softmax", {"axis": 1}),
        ("log_softmax", {}),
        ("softplus", {}),
        ("softsign", {}),
        ("elu", {"alpha": 0.7}),
        ("selu", {}),
        ("exp", {}),
        ("leaky_relu", {"alpha": 0.1}),
        ("thresholded_relu", {"theta": 0.4}),
    ],
)
def test_activations(fn, attrs):
    g = Graph()
    g.add("input", "x", attrs={"shape": (4, 5)})
    g.add("activation", "act", ["x"], attrs={"fn": fn, **attrs})
    g.outputs = ["act"]
    assert_agrees_with_numpy_runner(g, {"x": rand(3, 4, 5, scale=2.0)})


@pytest.mark.parametrize("mode", ["sum", "mul", "ave", "max", "min", "sub", "concat", "dot", "cos", "coeffs"])
def test_merges(mode):
    g = Graph()
    n = 2 if mode in ("sub", "dot", "cos") else 3
    for i in range(n):
        g.add("input", f"x{i}", attrs={"shape": (6,)})
    attrs = {"mode": "sum", "coeffs": (1.0, 0.5, -2.0)} if mode == "coeffs" else {"mode": mode}
    g.add("merge", "m", [f"x{i}" for i in range(n)], attrs=attrs)
    g.outputs = ["m"]
    assert_agrees_with_numpy_runner(g, {f"x{i}": rand(4, 6) for i in range(n)})


def test_sequence_ops():
    g = Graph()
    g.add("input", "ids", attrs={"shape": (7,)}, dtype="int32")
    g.add("embedding", "emb", ["ids"], weights={"W": rand(20, 5)})
    g.add("transpose", "tr", ["emb"], attrs={"perm": (0, 2, 1)})
    g.add("conv", "conv1d", ["tr"], attrs={"pads": ((1, 1),)}, weights={"W": rand(4, 5, 3), "b": rand(4)})
    g.add(
        "pool",
        "pool1d",
        ["conv1d"],
        attrs={"ws": (2,), "strides": (2,), "ignore_border": False, "mode": "max"},
    )
    g.add("transpose", "back", ["pool1d"], attrs={"perm": (0, 2, 1)})
    g.add(
        "batchnorm",
        "bn_last",
        ["back"],
        attrs={"axis": -1, "epsilon": 1e-3},
        weights={"gamma": rand(4), "var": np.abs(rand(4)) + 1},
    )
    g.add(
        "batchnorm_inv_std",
        "bn_lasagne",
        ["bn_last"],
        attrs={"axis": 2},
        weights={"mean": rand(4), "inv_std": np.abs(rand(4))},
    )
    g.add("slice", "rev", ["bn_lasagne"], attrs={"axis": 1, "start": None, "stop": None, "step": -1})
    g.add("slice", "mid", ["rev"], attrs={"axis": 2, "start": 1, "stop": 3})
    g.add("reshape", "rs", ["mid"], attrs={"shape": (2, 4)})
    g.add("flatten", "fl", ["rs"])
    g.add("repeat_vector", "rep", ["fl"], attrs={"n": 3})
    g.add("masking", "mask", ["rep"], attrs={"mask_value": 0.0})
    g.add("identity", "drop", ["mask"])
    g.outputs = ["drop"]
    ids = RNG.integers(0, 20, size=(3, 7)).astype(np.int32)
    assert_agrees_with_numpy_runner(g, {"ids": ids})


def test_masking_at_the_newest_opsets():
    g = Graph()
    g.add("input", "x", attrs={"shape": (4, 3)})
    g.add("masking", "mask", ["x"], attrs={"mask_value": 1.0})
    g.outputs = ["mask"]
    x = rand(2, 4, 3)
    x[0, 1] = 1.0
    for opset in (17, 18, int(onnx.defs.onnx_opset_version())):
        out = run_onnx(g, {"x": x}, opset=opset)["mask"]
        np.testing.assert_array_equal(out[0, 1], 0.0)
        np.testing.assert_array_equal(out[1], x[1])


# --- recurrent layers against Keras' equations -------------------------------------------------


def keras_rnn(x, kernel, recurrent, bias, cell, units, act, rec, go_backwards, return_sequences, mask=None):
    """Keras 2's SimpleRNN / GRU (reset_after=False) / LSTM step equations in float64; a masked
    step (``mask[b, t]`` False) keeps the previous output and states, as Keras' Theano rnn did."""
    f = {
        "tanh": np.tanh,
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "hard_sigmoid": lambda v: np.clip(0.2 * v + 0.5, 0, 1),
        "linear": lambda v: v,
        "relu": lambda v: np.maximum(v, 0),
    }
    x, kernel, recurrent, bias = (np.asarray(a, np.float64) for a in (x, kernel, recurrent, bias))
    h = np.zeros((x.shape[0], units))
    c = np.zeros_like(h)
    steps = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    outs = []
    u = units
    for t in steps:
        h_old, c_old = h, c
        z = x[:, t] @ kernel + bias
        if cell == "simple":
            h = f[act](z + h @ recurrent)
        elif cell == "lstm":
            r = h @ recurrent
            i, fg, o = (f[rec](z[:, k * u : (k + 1) * u] + r[:, k * u : (k + 1) * u]) for k in (0, 1, 3))
            c = fg * c + i * f[act](z[:, 2 * u : 3 * u] + r[:, 2 * u : 3 * u])
            h = o * f[act](c)
        else:
            zz = f[rec](z[:, :u] + h @ recurrent[:, :u])
            rr = f[rec](z[:, u : 2 * u] + h @ recurrent[:, u : 2 * u])
            hh = f[act](z[:, 2 * u :] + (rr * h) @ recurrent[:, 2 * u :])
            h = zz * h + (1 - zz) * hh
        if mask is not None:
            h = np.where(mask[:, t, None], h, h_old)
            c = np.where(mask[:, t, None], c, c_old)
        outs.append(h)
    return np.stack(outs, axis=1) if return_sequences else h


def rnn_weights(cell: str, features: int, units: int) -> dict:
    """Random Keras-2-order weights of a recurrent layer (small recurrent kernel: no saturation)."""
    gates = {"simple": 1, "gru": 3, "lstm": 4}[cell]
    return {
        "kernel": rand(features, gates * units),
        "recurrent_kernel": rand(units, gates * units, scale=0.5),
        "bias": rand(gates * units),
    }


@pytest.mark.parametrize("cell", ["simple", "gru", "lstm"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize(
    "act, rec", [("tanh", "hard_sigmoid"), ("linear", "sigmoid"), ("relu", "hard_sigmoid")]
)
@pytest.mark.parametrize("unroll", [False, True])
def test_recurrent_layers_follow_keras_equations(cell, go_backwards, return_sequences, act, rec, unroll):
    units, features, steps = 5, 3, 6
    weights = rnn_weights(cell, features, units)
    attrs = {
        "cell": cell,
        "units": units,
        "activation": act,
        "recurrent_activation": rec,
        "go_backwards": go_backwards,
        "return_sequences": return_sequences,
    }
    g = Graph()
    g.add("input", "seq", attrs={"shape": (steps, features)})
    g.add("rnn", "rnn", ["seq"], attrs=attrs, weights=weights)
    g.outputs = ["rnn"]
    x = rand(4, steps, features)
    out = run_onnx(g, {"seq": x}, unroll_rnn=unroll)["rnn"]
    ops = {n.op_type for n in to_onnx(g, unroll_rnn=unroll).graph.node}
    assert ("MatMul" in ops) == unroll and bool(ops & {"RNN", "GRU", "LSTM"}) != unroll
    expected = keras_rnn(
        x,
        weights["kernel"],
        weights["recurrent_kernel"],
        weights["bias"],
        cell,
        units,
        act,
        rec,
        go_backwards,
        return_sequences,
    )
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(expected).max())))


@pytest.mark.parametrize("cell", ["simple", "gru", "lstm"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("mask_from", ["masking", "embedding"])
def test_masked_recurrent_layers_keep_their_state_at_masked_steps(cell, go_backwards, mask_from):
    units, features, steps = 4, 3, 5
    weights = rnn_weights(cell, features, units)
    attrs = {
        "cell": cell,
        "units": units,
        "activation": "tanh",
        "recurrent_activation": "hard_sigmoid",
        "go_backwards": go_backwards,
    }
    g = Graph()
    if mask_from == "masking":
        g.add("input", "seq", attrs={"shape": (steps, features)})
        g.add("masking", "mask", ["seq"], attrs={"mask_value": 0.0})
        x = rand(3, steps, features)
        x[0, 1] = 0.0
        x[1, 3:] = 0.0
        x[2, 0] = 0.0
        keep = np.any(x != 0, axis=-1)
        feeds = {"seq": x}
        seq_in = x
    else:
        g.add("input", "ids", attrs={"shape": (steps,)}, dtype="int32")
        table = rand(7, features)
        g.add("embedding", "mask", ["ids"], attrs={"mask_zero": True}, weights={"W": table})
        ids = np.array([[1, 0, 2, 3, 4], [5, 6, 1, 0, 0], [0, 2, 2, 3, 1]], np.int32)
        keep = ids != 0
        feeds = {"ids": ids}
        seq_in = table[ids]
    g.add(
        "rnn",
        "seq_rnn",
        ["mask"],
        attrs={**attrs, "return_sequences": True},
        weights=weights,
        reference="layer01_seq_rnn",
    )
    # the mask travels on through a sequence-returning layer
    second = rnn_weights(cell, units, units)
    g.add(
        "rnn",
        "last",
        ["seq_rnn"],
        attrs={**attrs, "return_sequences": False, "go_backwards": False},
        weights=second,
    )
    g.outputs = ["last"]
    got = run_onnx(g, feeds, ["seq_rnn", "last"], expose_layers=True)
    # the first layer against Keras' equations with the mask (masked steps keep h and c)
    expected = keras_rnn(
        seq_in * keep[..., None],
        weights["kernel"],
        weights["recurrent_kernel"],
        weights["bias"],
        cell,
        units,
        "tanh",
        "hard_sigmoid",
        go_backwards,
        True,
        mask=keep,
    )
    np.testing.assert_allclose(got["seq_rnn"], expected, rtol=1e-4, atol=1e-5)
    want = run_graph(g, feeds)
    np.testing.assert_allclose(got["last"], want["last"], rtol=1e-4, atol=1e-5)


# --- the model file ---------------------------------------------------------------------------


def test_every_graph_op_has_an_emitter():
    from legacyconv.graph import OPS
    from legacyconv.targets.onnx.builder import EMITTERS

    assert set(OPS) - {"input"} == set(EMITTERS)


def test_names_dynamic_batch_metadata_and_standard_opset(tmp_path):
    graph = image_graph()
    model = to_onnx(graph)
    assert [i.name for i in model.graph.input] == ["img"]
    assert [o.name for o in model.graph.output] == ["probs"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, 9, 8]
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    assert {n.domain for n in model.graph.node} == {""}
    assert not any(
        a.name == "auto_pad" or a.name == "ceil_mode" for n in model.graph.node for a in n.attribute
    )
    sidecar = read_sidecar(model)
    assert {
        "node": "conv1",
        "op": "conv",
        "reference": "layer01_conv1",
        "layer": "conv1",
        "perm": [0, 1, 2, 3],
        "shape": [None, 6, 10, 4],
    } in sidecar["nodes"]
    conv_w = next(i for i in model.graph.initializer if i.name == "conv1/W")
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(conv_w), graph["conv1"].weights["W"])
    assert all(n.shape is None for n in graph.nodes.values())  # the caller's graph is not touched

    exposed = to_onnx(graph, expose_layers=True)
    assert [o.name for o in exposed.graph.output] == ["probs", "conv1", "bn1"]

    x = rand(3, 3, 9, 8)
    path = save(model, tmp_path / "m.onnx")
    runner = OnnxRunner(path)
    assert [b.node for b in runner.nodes] == ["img", "conv1", "bn1", "probs"]
    assert [b.node for b in runner.inputs] == ["img"] and [b.node for b in runner.outputs] == ["probs"]
    assert runner.nodes[1].perm == (0, 1, 2, 3) and runner.nodes[1].shape == (None, 6, 10, 4)
    # the file exposes only 'probs'; the runner reaches the other layers all the same
    full = runner.run({"img": x}, ["conv1", "bn1", "probs"])
    one = runner.run({"img": x[1:2]}, ["conv1", "probs"])
    np.testing.assert_allclose(one["probs"], full["probs"][1:2], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(one["conv1"], full["conv1"][1:2], rtol=1e-6, atol=1e-6)
    with pytest.raises(LegacyconvError, match="already exists"):
        save(model, path)


def test_an_onnx_model_without_the_sidecar_reaches_its_inputs_and_outputs():
    model = to_onnx(image_graph())
    del model.metadata_props[:]
    runner = OnnxRunner(model)
    assert read_sidecar(model) is None
    assert [b.node for b in runner.inputs] == ["img"] and [b.node for b in runner.outputs] == ["probs"]
    assert runner.outputs[0].shape == (None, 16)
    x = rand(2, 3, 9, 8)
    np.testing.assert_allclose(runner.run({"img": x}, ["probs"])["probs"].sum(axis=1), 1.0, rtol=1e-5)


def test_bad_arguments():
    graph = image_graph()
    with pytest.raises(LegacyconvError, match="opset must be an integer from 17"):
        to_onnx(graph, opset=13)
    with pytest.raises(LegacyconvError, match="needs a legacyconv.graph.Graph"):
        to_onnx(42)
    with pytest.raises(LegacyconvError, match="no such model file"):
        OnnxRunner("/nonexistent/model.onnx")
    passthrough = Graph()
    passthrough.add("input", "x", attrs={"shape": (3,)})
    passthrough.outputs = ["x"]
    with pytest.raises(LegacyconvError, match="are its inputs unchanged"):
        to_onnx(passthrough)
    runner = OnnxRunner(to_onnx(graph))
    with pytest.raises(LegacyconvError, match="no array for the model inputs"):
        runner.run({}, ["probs"])
    with pytest.raises(
        LegacyconvError, match=r"takes arrays of shape \('batch', 3, 9, 8\); got \(1, 9, 8, 3\)"
    ):
        runner.run({"img": rand(1, 9, 8, 3)}, ["probs"])
    with pytest.raises(LegacyconvError, match="not reachable"):
        runner.run({"img": rand(1, 3, 9, 8)}, ["nope"])


def test_import_legacyconv_imports_neither_onnx_nor_onnxruntime():
    code = (
        "import sys, legacyconv, legacyconv.targets.onnx; "
        "print(sorted(m for m in ('onnx', 'onnxruntime', 'tensorflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the ONNX model and the Keras model of one graph ------------------------------------------


def assert_onnx_and_keras_agree(graph: Graph, feeds: dict) -> list[str]:
    """Emit ``graph`` to both targets, run both on ``feeds``; every node both reach agrees.
    Returns the compared nodes."""
    keras_target = pytest.importorskip("legacyconv.targets.keras")
    pytest.importorskip("tensorflow")
    keras_runner = keras_target.runner(keras_target.emit(graph))
    onnx_runner = OnnxRunner(to_onnx(graph))
    onnx_nodes = {b.node for b in onnx_runner.nodes}
    names = [b.node for b in keras_runner.nodes if b.node in onnx_nodes and b.node not in feeds]
    k = keras_runner.run(feeds, names)
    o = onnx_runner.run(feeds, names)
    for name in names:
        assert k[name].shape == o[name].shape, name
        scale = max(1.0, float(np.abs(o[name]).max(initial=0)))
        np.testing.assert_allclose(k[name], o[name], rtol=1e-4, atol=1e-5 * scale, err_msg=name)
    return names


def test_onnx_and_keras_models_of_one_graph_agree():
    # the Keras target has no LRN and no grouped transposed convolution: leave them out here
    graph = image_graph(lrn=False, deconv_groups=1)
    compared = assert_onnx_and_keras_agree(graph, {"img": rand(4, 3, 9, 8)})
    assert compared == ["conv1", "bn1", "probs"]


# --- the zoo: real Keras 1 / Keras 2 models on Theano -----------------------------------------

ZOO_DIR = Path(__file__).parent / "data" / "keras_zoo"
EXTRA_DIR = Path(__file__).parent / "data" / "keras_extra"  # recorded for this project (its README)
ZOO = sorted(
    p.name[: -len("_reference.npz")] for d in (ZOO_DIR, EXTRA_DIR) for p in d.glob("*_reference.npz")
)
EXAMPLES = Path(legacyconv.__file__).parent / "examples"


def zoo_files(stem: str) -> tuple[Path, Path | None, Path]:
    if stem == "keras1_theano_lenet":  # the bundled example
        return EXAMPLES / f"{stem}.h5", None, EXAMPLES / f"{stem}_reference.npz"
    d = ZOO_DIR if (ZOO_DIR / f"{stem}_reference.npz").exists() else EXTRA_DIR
    if (d / f"{stem}.h5").exists():
        return d / f"{stem}.h5", None, d / f"{stem}_reference.npz"
    return d / f"{stem}.json", d / f"{stem}_weights.h5", d / f"{stem}_reference.npz"


def test_the_zoo_is_there():
    assert len([s for s in ZOO if (ZOO_DIR / f"{s}_reference.npz").exists()]) == 13
    assert "k1x_masked_rnn" in ZOO


@pytest.mark.parametrize("stem", ZOO + ["keras1_theano_lenet"])
def test_zoo_model_through_onnx_runtime_equals_theano_layer_by_layer(stem, tmp_path):
    model_path, weights, reference = zoo_files(stem)
    path = save(to_onnx(model_path, weights=weights, expose_layers=True), tmp_path / f"{stem}.onnx")
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert {n.domain for n in model.graph.node} == {""}
    runner = OnnxRunner(path)
    refs = dict(np.load(reference))
    (inp,), (out,) = runner.inputs, runner.outputs
    by_reference = {b.reference: b.node for b in runner.nodes if b.reference}
    keys = {"output": out.node, **{k: by_reference[k] for k in refs if k.startswith("layer")}}
    assert set(keys) | {"input"} == set(refs)  # every reference array has its node
    got = runner.run({inp.node: refs["input"]}, list(keys.values()))
    for key, node in keys.items():
        ref = refs[key]
        assert got[node].shape == ref.shape, key
        np.testing.assert_allclose(
            got[node], ref, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(ref).max())), err_msg=key
        )


@pytest.mark.parametrize("stem", ZOO + ["keras1_theano_lenet"])
def test_zoo_model_onnx_and_keras_agree(stem):
    from legacyconv.frontends import load_graph

    model_path, weights, reference = zoo_files(stem)
    graph = load_graph(model_path, weights=weights)
    x = np.load(reference)["input"]
    compared = assert_onnx_and_keras_agree(graph, {graph.inputs[0]: x})
    assert graph.outputs[0] in compared


def test_migrate_chooses_the_onnx_target_by_extension(tmp_path):
    from legacyconv.migrate import migrate

    model_path, _, reference = zoo_files("keras1_theano_lenet")
    out = tmp_path / "lenet.onnx"
    result = migrate(model_path, out, expose_layers=True)
    assert result.target == "onnx" and result.written == [str(out)]
    model = onnx.load(out)
    assert len(model.graph.output) > 1  # the legacy layers are outputs too
    refs = np.load(reference)
    runner = result.runner()
    got = runner.run({runner.inputs[0].node: refs["input"]}, [runner.outputs[0].node])[runner.outputs[0].node]
    np.testing.assert_allclose(got, refs["output"], rtol=1e-4, atol=1e-5)
    with pytest.raises(LegacyconvError, match="input_layout must be 'nchw'"):
        migrate(model_path, tmp_path / "nhwc.onnx", input_layout="nhwc")
    with pytest.raises(LegacyconvError, match="expose_layers is not an option of the keras target"):
        migrate(model_path, tmp_path / "m.keras", expose_layers=True)
    assert not (tmp_path / "nhwc.onnx").exists() and not (tmp_path / "m.keras").exists()


def test_check_command_on_an_onnx_file(tmp_path):
    model_path, weights, reference = zoo_files("k1_merge_graph")
    out = save(to_onnx(model_path, weights=weights), tmp_path / "merge.onnx")
    ok = legacyconv_cli("check", out, reference)
    assert ok.returncode == 0, ok.stderr
    assert "PASS" in ok.stdout and "layer" in ok.stdout
    # a reference whose first conv output is off by 1 % fails there, first in topological order
    refs = dict(np.load(reference))
    first = sorted(k for k in refs if k.startswith("layer"))[0]
    refs[first] = refs[first] * np.float32(1.01)
    bad = tmp_path / "bad_reference.npz"
    np.savez(bad, **refs)
    fail = legacyconv_cli("check", out, bad)
    assert fail.returncode == 1, fail.stderr
    assert f"first diverging: {first}" in fail.stdout


def reference_conv_transpose(x, w, strides, dilations, pads, groups, output_size):
    """The adjoint of a cross-correlation, by scattering: input pixel i with tap j adds
    ``x[i] * w[j]`` at padded output position ``i * stride + j * dilation``; the padding is then
    cut off. float64, one input position at a time."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    n, cin = x.shape[:2]
    og = w.shape[1]
    cg = cin // groups
    full = [o + lo + hi for o, (lo, hi) in zip(output_size, pads)]
    out = np.zeros((n, og * groups, *full))
    for pos in itertools.product(*(range(s) for s in x.shape[2:])):
        for tap in itertools.product(*(range(k) for k in w.shape[2:])):
            at = tuple(p * s + t * d for p, s, t, d in zip(pos, strides, tap, dilations))
            if any(a >= f for a, f in zip(at, full)):
                continue
            for g in range(groups):
                pixel = x[(slice(None), slice(g * cg, (g + 1) * cg)) + pos]  # (n, cg)
                weight = w[(slice(g * cg, (g + 1) * cg), slice(None)) + tap]  # (cg, og)
                out[(slice(None), slice(g * og, (g + 1) * og)) + at] += pixel @ weight
    crop = tuple(slice(lo, lo + o) for o, (lo, _) in zip(output_size, pads))
    return out[(slice(None), slice(None)) + crop]


@st.composite
def transpose_problems(draw):
    groups = draw(st.integers(1, 2))
    cg, og = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    strides = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    dilations = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    pads = draw(st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2))] * 2))
    sizes = draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    output_size = []
    for size, k, s, d, (lo, hi) in zip(sizes, kernel, strides, dilations, pads):
        # the conv this is the adjoint of maps output_size back to size: any remainder < stride
        base = (size - 1) * s + (k - 1) * d + 1 - lo - hi
        output_size.append(base + draw(st.integers(0, s - 1)))
    assume(all(o >= 1 for o in output_size))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((2, groups * cg, *sizes)).astype(np.float32)
    w = rng.standard_normal((groups * cg, og, *kernel)).astype(np.float32)
    return x, w, strides, dilations, pads, groups, tuple(output_size)


@settings(max_examples=40, deadline=None)
@given(transpose_problems())
def test_random_conv_transpose_equals_the_reference(problem):
    x, w, strides, dilations, pads, groups, output_size = problem
    g = Graph()
    g.add("input", "x", attrs={"shape": x.shape[1:]})
    attrs = {
        "strides": strides,
        "dilations": dilations,
        "pads": pads,
        "groups": groups,
        "output_size": output_size,
    }
    g.add("conv_transpose", "deconv", ["x"], attrs=attrs, weights={"W": w})
    g.outputs = ["deconv"]
    out = run_onnx(g, {"x": x})["deconv"]
    expected = reference_conv_transpose(x, w, strides, dilations, pads, groups, output_size)
    assert out.shape == expected.shape
    np.testing.assert_allclose(
        out, expected, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(expected).max(initial=0)))
    )


@pytest.mark.parametrize(
    "case", [c for c in cases("conv2d_transpose") if "error" not in c], ids=lambda c: c["name"]
)
def test_the_transpose_reference_agrees_with_theano(case):
    x, w = case["inputs"]
    kw = case["kwargs"]
    pads = explicit_pads(normalize_border_mode(kw.get("border_mode", "valid"), 2), w.shape[2:], (1, 1))
    got = reference_conv_transpose(
        x, flipped(w), kw.get("input_dilation", (1, 1)), (1, 1), pads, 1, kw["output_shape"][2:]
    )
    np.testing.assert_allclose(got, case["expected"], **tolerance(np.float32, case["expected"]))


def test_migrate_command_writes_onnx_and_check_passes(tmp_path):
    model_path, _, reference = zoo_files("k2_sep_depth_transpose")
    out = tmp_path / "sep.onnx"
    done = legacyconv_cli("migrate", model_path, "-o", out, "--expose-layers")
    assert done.returncode == 0, done.stderr
    assert "onnx model (opset 17" in done.stdout
    model = onnx.load(out)
    exposed = {o.name for o in model.graph.output}
    assert {b["node"] for b in read_sidecar(model)["nodes"] if b["reference"]} <= exposed
    check = legacyconv_cli("check", out, reference)
    assert check.returncode == 0, check.stdout + check.stderr
    again = legacyconv_cli("migrate", model_path, "-o", out)
    assert again.returncode == 2 and "already exists" in again.stderr
    nhwc = legacyconv_cli("migrate", model_path, "-o", tmp_path / "x.onnx", "--input-layout", "nhwc")
    assert nhwc.returncode == 2 and "input_layout must be 'nchw'" in nhwc.stderr


@st.composite
def pool3d_graphs(draw):
    ws = draw(st.tuples(*[st.integers(1, 3)] * 3))
    strides = draw(st.tuples(*[st.integers(1, 3)] * 3))
    ignore_border = draw(st.booleans())
    pads = tuple(draw(st.integers(0, w - 1)) for w in ws) if ignore_border else (0, 0, 0)
    mode = draw(st.sampled_from(["max", "sum", "average_inc_pad", "average_exc_pad"]))
    size = tuple(max(w, draw(st.integers(1, 6))) for w in ws)
    g = Graph()
    g.add("input", "x", attrs={"shape": (2, *size)})
    attrs = {"ws": ws, "strides": strides, "pads": pads, "ignore_border": ignore_border, "mode": mode}
    g.add("pool", "pool", ["x"], attrs=attrs)
    g.outputs = ["pool"]
    return g, np.random.default_rng(draw(st.integers(0, 2**32 - 1))).standard_normal((2, 2, *size)).astype(
        np.float32
    )


@settings(max_examples=30, deadline=None)
@given(pool3d_graphs())
def test_random_pool_3d_agrees_with_the_reference_semantics(problem):
    graph, x = problem
    assert_agrees_with_numpy_runner(graph, {"x": x})


@pytest.mark.parametrize("stem", ZOO + ["keras1_theano_lenet"])
def test_zoo_model_through_the_onnx_reference_implementation(stem):
    """The ``onnx`` package's own reference implementation of the operators (independent of ONNX
    Runtime) reproduces Theano's output; recurrent layers unrolled, because its LSTM/GRU/RNN
    ignore the ``activations`` attribute."""
    from legacyconv.frontends import load_graph

    model_path, weights, reference = zoo_files(stem)
    graph = load_graph(model_path, weights=weights)
    if any(
        n.op == "global_pool" and n.attrs.get("mode") == "max" and len(graph[n.inputs[0]].shape) == 3
        for n in graph.nodes.values()
    ):
        pytest.skip("onnx.reference's GlobalMaxPool reduces a (N, C, T) input to (N, 1)")
    model = to_onnx(graph, unroll_rnn=True)
    refs = np.load(reference)
    (inp,) = model.graph.input
    dtype = onnx.helper.tensor_dtype_to_np_dtype(inp.type.tensor_type.elem_type)
    feeds = {inp.name: refs["input"].astype(dtype)}
    (out,) = ReferenceEvaluator(model).run([model.graph.output[0].name], feeds)
    ref = refs["output"]
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(ref).max())))


@pytest.mark.parametrize("opset", [17, 18])
@pytest.mark.parametrize("axis, shape", [(1, (4, 5, 3)), (-1, (5, 4)), (1, (6,))])
def test_batchnorm_with_the_batch_statistics(opset, axis, shape):
    g = Graph()
    g.add("input", "x", attrs={"shape": shape})
    size = shape[axis if axis < 0 else axis - 1]
    weights = {"gamma": rand(size), "beta": rand(size)}
    g.add("batchnorm_batch", "bn", ["x"], attrs={"axis": axis, "epsilon": 1e-3}, weights=weights)
    g.outputs = ["bn"]
    x = rand(3, *shape, scale=3.0) + np.float32(1.5)
    assert_agrees_with_numpy_runner(g, {"x": x}, opset=opset)
    # independent of the runner: with gamma 1 and beta 0 every channel has mean 0 over the batch
    g["bn"].weights = {}
    (out,) = run_onnx(g, {"x": x}, opset=opset).values()
    axes = tuple(a for a in range(out.ndim) if a != axis % out.ndim)
    np.testing.assert_allclose(out.mean(axis=axes), 0.0, atol=1e-5)


def test_check_runs_a_batch_statistics_model_as_one_batch(tmp_path):
    from legacyconv.regression import check

    model_path, weights, reference = zoo_files("k1x_bn_mode2")
    path = save(to_onnx(model_path, weights=weights), tmp_path / "bn2.onnx")
    assert OnnxRunner(path).batch_dependent
    n = len(np.load(reference)["input"])
    report = check(path, reference, batch_size=max(1, n // 2), progress=False)
    assert report.passed, report.table()


def test_check_on_a_two_input_onnx_model(tmp_path):
    from legacyconv.regression import check

    d = Path(__file__).parent / "data" / "keras_multi_input"
    model = to_onnx(d / "k1x_sequential_merge.h5")
    assert len(model.graph.input) == 2
    report = check(
        save(model, tmp_path / "merge.onnx"), d / "k1x_sequential_merge_reference.npz", progress=False
    )
    assert report.passed, report.table()
    assert {r.key for r in report.rows} >= {"output", "layer00_joined"}


def test_migrate_command_unroll_rnn(tmp_path):
    model_path, _, reference = zoo_files("k1_conv_rnn")
    out = tmp_path / "rnn.onnx"
    done = legacyconv_cli("migrate", model_path, "-o", out, "--unroll-rnn")
    assert done.returncode == 0, done.stderr
    ops = {n.op_type for n in onnx.load(out).graph.node}
    assert not ops & {"LSTM", "GRU", "RNN"} and "MatMul" in ops
    check = legacyconv_cli("check", out, reference)
    assert check.returncode == 0, check.stdout + check.stderr
    keras = legacyconv_cli("migrate", model_path, "-o", tmp_path / "r.keras", "--unroll-rnn")
    assert keras.returncode == 2 and "unroll_rnn is not an option of the keras target" in keras.stderr
