"""The ONNX target: one-node graphs of every golden case through ONNX Runtime equal Theano,
random geometries equal the independent NumPy references, every op agrees with the graph's
reference semantics, and the model file is what the issue promises (names, dynamic batch,
initializer dtypes, standard opset, full checker)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legacyconv import LegacyconvError
from legacyconv._params import explicit_pads, normalize_border_mode
from legacyconv.graph import Graph
from legacyconv.graph.numpy_runner import run_graph

from golden import cases, tolerance
from test_engine_properties import problems, reference_conv
from test_pool import naive_pool, pool_args

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from legacyconv.targets.onnx import OnnxRunner, save_onnx, to_onnx  # noqa: E402


def run_onnx(graph: Graph, feeds: dict, names=None, **kwargs) -> dict:
    """Export ``graph``, check it with the full checker, run it with ONNX Runtime."""
    model = to_onnx(graph, **kwargs)
    onnx.checker.check_model(model, full_check=True)
    runner = OnnxRunner(model)
    return runner.run(feeds, list(names or graph.outputs))


def flipped(w: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(w[(slice(None), slice(None)) + (slice(None, None, -1),) * (w.ndim - 2)])


# --- golden cases as one-node graphs ----------------------------------------------------------


def conv_graph(x, w, border_mode="valid", subsample=None, filter_flip=True, filter_dilation=None, num_groups=1, **hints):
    rank = w.ndim - 2
    dilation = tuple(filter_dilation or (1,) * rank)
    pads = explicit_pads(normalize_border_mode(border_mode, rank), w.shape[2:], dilation)
    g = Graph()
    g.add("input", "x", attrs={"shape": x.shape[1:]}, dtype=str(x.dtype))
    attrs = {"pads": pads, "strides": tuple(subsample or (1,) * rank), "dilations": dilation, "groups": num_groups}
    g.add("conv", "conv", ["x"], attrs=attrs, weights={"W": flipped(w) if filter_flip else w}, dtype=str(x.dtype))
    g.outputs = ["conv"]
    return g


def transpose_graph(x, w, output_shape, border_mode="valid", input_dilation=(1, 1), filter_flip=True, filter_dilation=(1, 1), num_groups=1):
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


def separable_graph(x, depthwise, pointwise, num_channels, border_mode="valid", subsample=(1, 1), filter_flip=True):
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
def test_golden_case_through_onnx_runtime_equals_theano(case):
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
    if case["dtype"] == np.float64:
        # ONNX Runtime's CPU provider has no double Conv/AveragePool: the float64 model is valid
        # ONNX (checked above); its geometry is checked in float32 against Theano's float64 answer.
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
    expected = reference_conv(x, w, kwargs["border_mode"], kwargs["subsample"], kwargs["filter_flip"], kwargs["filter_dilation"], kwargs["num_groups"])
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(expected).max(initial=0))))


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
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(expected).max(initial=0))))
