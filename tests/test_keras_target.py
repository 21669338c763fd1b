"""The Keras 3 target: one small graph per emitter, the Keras model's output (read through the
runner, so the layout permutations are exercised) against the graph's NumPy evaluation
(:func:`legacyconv.graph.numpy_runner.run_graph`, legacyconv's Theano-exact ops)."""

from __future__ import annotations

import numpy as np
import pytest

from legacyconv import LegacyconvError
from legacyconv.graph import Graph
from legacyconv.graph.numpy_runner import run_graph

pytest.importorskip("tensorflow")

from legacyconv.targets.keras import KerasRunner, emit  # noqa: E402

RNG = np.random.default_rng(1234)


def _rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _one_op(op: str, in_shape: tuple[int, ...], attrs: dict, weights: dict | None = None, **kw) -> Graph:
    g = Graph(name=f"one_{op}")
    x = g.add("input", "x", attrs={"shape": in_shape}, dtype=kw.pop("dtype", "float32"))
    y = g.add(op, "y", [x], attrs=attrs, weights=weights or {}, reference="layer01_y")
    g.outputs = [y]
    return g


def _assert_same(
    g: Graph, feeds: dict[str, np.ndarray], *, exact: bool = False, input_layout: str = "nhwc"
) -> None:
    expected = run_graph(g, feeds)
    built = emit(g, input_layout=input_layout)
    runner = KerasRunner(built)
    names = [b.node for b in runner.nodes if b.node not in g.inputs]
    got = runner.run(feeds, names)
    for name in names:
        ref = expected[name]
        assert got[name].shape == ref.shape, name
        if exact:
            np.testing.assert_array_equal(got[name], ref, err_msg=name)
        else:
            tol = 1e-5 * max(1.0, float(np.abs(ref).max()))
            np.testing.assert_allclose(got[name], ref, rtol=1e-4, atol=tol, err_msg=name)
    # the model output is the output node in the model's output layout
    out = runner.run(feeds, g.outputs)
    np.testing.assert_allclose(out[g.outputs[0]], expected[g.outputs[0]], rtol=1e-4, atol=1e-5)
    _assert_stock(built.model)


def _assert_stock(model) -> None:
    for layer in model.layers:
        assert type(layer).__module__.startswith("keras."), type(layer)


CONV_CASES = [
    # (in_shape, W shape, attrs)
    ((3, 9, 8), (4, 3, 3, 3), {}),
    ((3, 9, 8), (4, 3, 3, 2), {"pads": ((1, 2), (0, 1)), "strides": (2, 3)}),
    ((2, 11, 10), (5, 2, 3, 3), {"pads": ((2, 2), (2, 2)), "dilations": (2, 2)}),
    ((2, 11, 10), (5, 2, 3, 3), {"pads": ((1, 1), (2, 0)), "dilations": (2, 1), "strides": (2, 2)}),
    ((4, 9, 9), (8, 1, 3, 3), {"groups": 4, "pads": ((1, 1), (1, 1))}),
    ((4, 9, 9), (6, 2, 3, 3), {"groups": 2}),
    ((3, 12), (4, 3, 4), {"pads": ((3, 0),), "dilations": (2,)}),
    ((3, 12), (6, 1, 3), {"groups": 3, "strides": (2,), "pads": ((1, 1),)}),
    ((2, 5, 6, 7), (3, 2, 3, 2, 2), {"pads": ((1, 1), (1, 0), (0, 1)), "strides": (1, 2, 1)}),
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_conv(case: int, bias: bool) -> None:
    in_shape, wshape, attrs = CONV_CASES[case]
    weights = {"W": _rand(*wshape)}
    if bias:
        weights["b"] = _rand(wshape[0])
    g = _one_op("conv", in_shape, attrs, weights)
    _assert_same(g, {"x": _rand(2, *in_shape)})


TRANSPOSE_CASES = [
    ((3, 5, 4), (3, 2, 3, 3), {"strides": (2, 2), "output_size": (11, 9)}),
    ((3, 5, 4), (3, 2, 3, 3), {"strides": (2, 2), "pads": ((1, 1), (1, 1)), "output_size": (10, 8)}),
    ((3, 5, 4), (3, 2, 4, 3), {"strides": (2, 1), "pads": ((1, 2), (0, 1)), "output_size": (9, 5)}),
    ((2, 6), (2, 3, 3), {"strides": (3,), "output_size": (18,)}),
    # output_size one past the full adjoint: zero rows Theano appended (they get the bias too)
    ((3, 5, 4), (3, 2, 3, 3), {"strides": (2, 2), "output_size": (12, 10)}),
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", range(len(TRANSPOSE_CASES)))
def test_conv_transpose(case: int, bias: bool) -> None:
    in_shape, wshape, attrs = TRANSPOSE_CASES[case]
    weights = {"W": _rand(*wshape)}
    if bias:
        weights["b"] = _rand(wshape[1])
    g = _one_op("conv_transpose", in_shape, attrs, weights)
    _assert_same(g, {"x": _rand(2, *in_shape)})


POOL_CASES = [
    ((2, 9, 8), {"ws": (2, 2), "strides": (2, 2)}),
    ((2, 9, 8), {"ws": (3, 2), "strides": (2, 2), "pads": (1, 1)}),
    ((2, 9, 8), {"ws": (3, 3), "strides": (2, 2), "ignore_border": False}),
    ((2, 7, 8), {"ws": (2, 3), "strides": (3, 2), "ignore_border": False}),
    ((2, 9, 8), {"ws": (3, 3), "strides": (1, 1), "pads": (2, 1)}),
    ((2, 10), {"ws": (3,), "strides": (2,), "pads": (1,)}),
    ((2, 10), {"ws": (4,), "strides": (3,), "ignore_border": False}),
    ((2, 5, 6, 7), {"ws": (2, 3, 2), "strides": (2, 2, 2), "pads": (1, 1, 0)}),
    ((2, 5, 6, 7), {"ws": (2, 2, 2), "strides": (2, 2, 2), "ignore_border": False}),
]


@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("case", range(len(POOL_CASES)))
def test_pool(case: int, mode: str) -> None:
    in_shape, attrs = POOL_CASES[case]
    g = _one_op("pool", in_shape, {**attrs, "mode": mode})
    _assert_same(g, {"x": _rand(2, *in_shape)}, exact=mode == "max")


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("in_shape", [(3, 7), (3, 5, 4), (3, 3, 4, 2)])
def test_global_pool(in_shape: tuple[int, ...], mode: str) -> None:
    _assert_same(_one_op("global_pool", in_shape, {"mode": mode}), {"x": _rand(2, *in_shape)})


@pytest.mark.parametrize(
    ("op", "in_shape", "attrs"),
    [
        ("pad", (2, 5, 4), {"pads": ((1, 2), (0, 3))}),
        ("pad", (2, 5), {"pads": ((2, 1),)}),
        ("pad", (2, 3, 4, 5), {"pads": ((1, 0), (0, 1), (2, 2))}),
        ("crop", (2, 7, 6), {"crops": ((1, 2), (0, 3))}),
        ("crop", (2, 7), {"crops": ((3, 1),)}),
        ("crop", (2, 5, 6, 7), {"crops": ((1, 0), (0, 2), (3, 1))}),
        ("upsample", (2, 3, 4), {"factors": (2, 3)}),
        ("upsample", (2, 3), {"factors": (3,)}),
        ("upsample", (2, 2, 3, 2), {"factors": (2, 1, 3)}),
        ("flatten", (3, 4, 5), {}),
        ("reshape", (3, 4, 5), {"shape": (5, 12)}),
        ("transpose", (3, 4, 5), {"perm": (0, 3, 1, 2)}),
        ("slice", (6, 4, 5), {"axis": 1, "start": 1, "stop": 4}),
        ("slice", (6, 4, 5), {"axis": 3, "start": 1, "stop": None}),
        ("slice", (6, 4, 5), {"axis": 1, "start": 0, "stop": 6, "step": 2}),
        ("slice", (7,), {"axis": 1, "start": 2, "stop": 5}),
        ("identity", (3, 4, 5), {}),
        ("repeat_vector", (5,), {"n": 3}),
    ],
)
def test_rearrangements_are_exact(op: str, in_shape: tuple[int, ...], attrs: dict) -> None:
    _assert_same(_one_op(op, in_shape, attrs), {"x": _rand(2, *in_shape)}, exact=True)


@pytest.mark.parametrize(
    ("fn", "attrs"),
    [
        ("linear", {}),
        ("relu", {}),
        ("tanh", {}),
        ("sigmoid", {}),
        ("hard_sigmoid", {}),
        ("softmax", {}),
        ("softmax", {"axis": 1}),
        ("log_softmax", {"axis": 1}),
        ("softplus", {}),
        ("softsign", {}),
        ("elu", {"alpha": 0.7}),
        ("selu", {}),
        ("exp", {}),
        ("leaky_relu", {"alpha": 0.1}),
        ("thresholded_relu", {"theta": 0.4}),
    ],
)
def test_activation(fn: str, attrs: dict) -> None:
    g = _one_op("activation", (3, 4, 5), {"fn": fn, **attrs})
    # the activation runs on the NHWC input as held: the legacy axes are mapped through it
    _assert_same(g, {"x": _rand(2, 3, 4, 5)})


def test_hard_sigmoid_is_theanos() -> None:
    g = _one_op("activation", (7,), {"fn": "hard_sigmoid"})
    x = np.array([[-3.0, -2.5, -1.0, 0.0, 1.0, 2.5, 4.0]], dtype=np.float32)
    got = KerasRunner(emit(g)).run({"x": x}, ["y"])["y"]
    np.testing.assert_allclose(got, np.clip(0.2 * x + 0.5, 0, 1), rtol=1e-7, atol=1e-7)


def test_thresholded_relu_at_theta_is_zero() -> None:
    g = _one_op("activation", (3,), {"fn": "thresholded_relu", "theta": 0.5})
    x = np.array([[0.5, 0.6, -1.0]], dtype=np.float32)
    got = KerasRunner(emit(g)).run({"x": x}, ["y"])["y"]
    np.testing.assert_array_equal(got, np.array([[0.0, 0.6, 0.0]], dtype=np.float32))


@pytest.mark.parametrize("alpha_shape", [(3, 4, 5), (3, 1, 1), (1, 4, 5)])
def test_prelu(alpha_shape: tuple[int, ...]) -> None:
    g = _one_op("prelu", (3, 4, 5), {}, {"alpha": _rand(*alpha_shape)})
    _assert_same(g, {"x": _rand(2, 3, 4, 5)})


@pytest.mark.parametrize("in_shape", [(3, 4, 5), (6,)])
@pytest.mark.parametrize("partial", [False, True])
def test_batchnorm(in_shape: tuple[int, ...], partial: bool) -> None:
    c = in_shape[0]
    w = {"gamma": _rand(c), "beta": _rand(c), "mean": _rand(c), "var": np.abs(_rand(c)) + 0.5}
    if partial:
        del w["gamma"], w["beta"]
    g = _one_op("batchnorm", in_shape, {"axis": 1, "epsilon": 1e-3}, w)
    _assert_same(g, {"x": _rand(2, *in_shape)})


def test_batchnorm_inv_std() -> None:
    c = 3
    w = {"gamma": _rand(c), "beta": _rand(c), "mean": _rand(c), "inv_std": np.abs(_rand(c)) + 0.5}
    _assert_same(_one_op("batchnorm_inv_std", (3, 4, 5), {"axis": 1}, w), {"x": _rand(2, 3, 4, 5)})


@pytest.mark.parametrize(("axes", "wshape"), [((1,), (3,)), ((1, 2), (3, 4)), ((2, 3), (4, 5))])
def test_scale_bias(axes: tuple[int, ...], wshape: tuple[int, ...]) -> None:
    g = _one_op("scale_bias", (3, 4, 5), {"axes": axes}, {"scale": _rand(*wshape), "bias": _rand(*wshape)})
    _assert_same(g, {"x": _rand(2, 3, 4, 5)})


def test_dense_on_sequences_and_vectors() -> None:
    g = _one_op("dense", (6, 4), {}, {"W": _rand(4, 3), "b": _rand(3)})
    _assert_same(g, {"x": _rand(2, 6, 4)})
    g = _one_op("dense", (4,), {}, {"W": _rand(4, 3)})
    _assert_same(g, {"x": _rand(2, 4)})


@pytest.mark.parametrize("mask_zero", [False, True])
def test_embedding(mask_zero: bool) -> None:
    g = _one_op("embedding", (5,), {"mask_zero": mask_zero}, {"W": _rand(10, 3)}, dtype="int32")
    ids = RNG.integers(0, 10, size=(2, 5)).astype(np.int32)
    _assert_same(g, {"x": ids}, exact=True)


def test_masking() -> None:
    x = _rand(2, 5, 3)
    x[0, 1] = 0.0
    x[1, 3:] = 0.0
    _assert_same(_one_op("masking", (5, 3), {"mask_value": 0.0}), {"x": x}, exact=True)


def _rnn_graph(cell: str, act: str, rec: str, **attrs) -> Graph:
    k = {"simple": 1, "gru": 3, "lstm": 4}[cell]
    units, feat = 4, 3
    weights = {
        "kernel": _rand(feat, k * units),
        "recurrent_kernel": _rand(units, k * units),
        "bias": _rand(k * units),
    }
    a = {"cell": cell, "units": units, "activation": act, "recurrent_activation": rec, **attrs}
    return _one_op("rnn", (6, feat), a, weights)


@pytest.mark.parametrize("cell", ["simple", "gru", "lstm"])
@pytest.mark.parametrize(
    "attrs",
    [
        {},
        {"return_sequences": True},
        {"go_backwards": True},
        {"go_backwards": True, "return_sequences": True},
    ],
)
def test_rnn(cell: str, attrs: dict) -> None:
    g = _rnn_graph(cell, "tanh", "hard_sigmoid", **attrs)
    _assert_same(g, {"x": _rand(2, 6, 3)})


@pytest.mark.parametrize("cell", ["simple", "gru"])
def test_rnn_hard_sigmoid_candidate(cell: str) -> None:
    _assert_same(_rnn_graph(cell, "hard_sigmoid", "sigmoid"), {"x": _rand(2, 6, 3)})


def test_rnn_behind_masking() -> None:
    g = Graph(name="masked_rnn")
    x = g.add("input", "x", attrs={"shape": (6, 3)})
    m = g.add("masking", "m", [x], attrs={"mask_value": 0.0})
    w = {"kernel": _rand(3, 12), "recurrent_kernel": _rand(4, 12), "bias": _rand(12)}
    attrs = {
        "cell": "gru",
        "units": 4,
        "activation": "tanh",
        "recurrent_activation": "hard_sigmoid",
        "return_sequences": True,
    }
    y = g.add("rnn", "y", [m], attrs=attrs, weights=w, reference="layer02_y")
    g.outputs = [y]
    data = _rand(2, 6, 3)
    data[0, 2] = 0.0
    data[1, 4:] = 0.0
    _assert_same(g, {"x": data})


def test_lstm_hard_sigmoid_activation_is_refused() -> None:
    with pytest.raises(LegacyconvError, match="cell state"):
        emit(_rnn_graph("lstm", "hard_sigmoid", "hard_sigmoid"))


def _merge_graph(mode: str, n: int = 2, **attrs) -> Graph:
    g = Graph(name=f"merge_{mode}")
    x = g.add("input", "x", attrs={"shape": (3, 4, 5)})
    a = g.add("activation", "a", [x], attrs={"fn": "tanh"})
    # one branch channels-last (after a conv), one legacy order (after a transpose pair)
    c = g.add("conv", "c", [x], weights={"W": _rand(3, 3, 1, 1)})
    t = g.add("transpose", "t", [a], attrs={"perm": (0, 2, 1, 3)})
    t2 = g.add("transpose", "t2", [t], attrs={"perm": (0, 2, 1, 3)})
    ins = [c, t2, x][:n]
    y = g.add("merge", "y", ins, attrs={"mode": mode, **attrs}, reference="layer05_y")
    g.outputs = [y]
    return g


@pytest.mark.parametrize("mode", ["sum", "mul", "ave", "max", "min", "sub"])
def test_merge_elementwise(mode: str) -> None:
    _assert_same(_merge_graph(mode), {"x": _rand(2, 3, 4, 5)})


def test_merge_weighted_sum_and_concat() -> None:
    _assert_same(_merge_graph("sum", 3, coeffs=(1.0, 0.5, -2.0)), {"x": _rand(2, 3, 4, 5)})
    for axis in (1, 2, 3, -1):
        _assert_same(_merge_graph("concat", 3, axis=axis), {"x": _rand(2, 3, 4, 5)}, exact=False)


@pytest.mark.parametrize("mode", ["dot", "cos"])
def test_merge_dot_cos(mode: str) -> None:
    g = Graph(name=mode)
    x = g.add("input", "x", attrs={"shape": (5,)})
    a = g.add("dense", "a", [x], weights={"W": _rand(5, 4)})
    b = g.add("dense", "b", [x], weights={"W": _rand(5, 4)})
    y = g.add("merge", "y", [a, b], attrs={"mode": mode, "axes": 1}, reference="layer03_y")
    g.outputs = [y]
    _assert_same(g, {"x": _rand(3, 5)})


def test_lazy_layout_inserts_one_permute_per_layout() -> None:
    """conv -> flatten and conv -> reshape share one Permute to the legacy order; nchw input
    gets its Permute only where a spatial op needs it."""
    g = Graph(name="lazy")
    x = g.add("input", "x", attrs={"shape": (2, 4, 4)})
    c = g.add("conv", "c", [x], weights={"W": _rand(3, 2, 3, 3)}, reference="layer01_c")
    f = g.add("flatten", "f", [c], reference="layer02_f")
    r = g.add("reshape", "r", [c], attrs={"shape": (3, 4)}, reference="layer03_r")
    fr = g.add("flatten", "fr", [r])
    y = g.add("merge", "y", [f, fr], attrs={"mode": "sum"}, reference="layer04_y")
    g.outputs = [y]
    built = emit(g, input_layout="nchw")
    kinds = [type(layer).__name__ for layer in built.model.layers]
    assert kinds.count("Permute") == 2, kinds
    _assert_same(g, {"x": _rand(2, 2, 4, 4)}, input_layout="nchw")
    _assert_same(g, {"x": _rand(2, 2, 4, 4)}, input_layout="nhwc")


def test_sidecar_maps_references_to_layers() -> None:
    g = _merge_graph("concat", 2, axis=1)
    built = emit(g)
    refs = {d["reference"]: d for d in built.sidecar["nodes"] if d["reference"]}
    assert refs["layer05_y"]["layer"] == "y"
    assert refs["layer05_y"]["perm"] == [0, 2, 3, 1]
    assert built.sidecar["inputs"][0]["perm"] == [0, 2, 3, 1]
    assert {layer.name for layer in built.model.layers} >= {"c", "y"}


def test_node_names_with_slashes_become_layer_names() -> None:
    g = Graph(name="names")
    x = g.add("input", "x", attrs={"shape": (4,)})
    y = g.add("activation", "block/act", [x], attrs={"fn": "relu"}, reference="layer01_block")
    g.outputs = [y]
    built = emit(g)
    assert built.sidecar["nodes"][-1]["layer"] == "block__act"


def test_refusals_name_the_node() -> None:
    g = _one_op("pad", (2, 3, 3), {"pads": ((1, 1), (1, 1)), "value": 1.5})
    with pytest.raises(LegacyconvError, match="value=1.5"):
        emit(g)
    g = _one_op("lrn", (4, 3, 3), {"alpha": 1e-4, "k": 2, "beta": 0.75, "n": 4})
    with pytest.raises(LegacyconvError, match="odd n"):
        emit(g)
    g = _one_op("conv_transpose", (4, 3, 3), {"groups": 2, "output_size": (5, 5)}, {"W": _rand(4, 1, 3, 3)})
    with pytest.raises(LegacyconvError, match="grouped transposed"):
        emit(g)
    with pytest.raises(LegacyconvError, match="input_layout"):
        emit(_one_op("identity", (3,), {}), input_layout="chw")


def _scatter_transpose(x: np.ndarray, w: np.ndarray, strides, dilations, pads, out_size) -> np.ndarray:
    """Independent reference: the adjoint of a padded, strided, dilated correlation, by scattering
    every input cell's kernel-weighted contribution (then cropping the padding)."""
    n, cin = x.shape[:2]
    cout, k = w.shape[1], w.shape[2:]
    full = [o + lo + hi for o, (lo, hi) in zip(out_size, pads)]
    y = np.zeros((n, cout, *full))
    for p in np.ndindex(*x.shape[2:]):
        for q in np.ndindex(*k):
            at = tuple(pi * s + qi * d for pi, qi, s, d in zip(p, q, strides, dilations))
            if all(a < f for a, f in zip(at, full)):
                y[(slice(None), slice(None), *at)] += (
                    x[(slice(None), slice(None), *p)] @ w[(slice(None), slice(None), *q)]
                )
    crop = tuple(slice(lo, lo + o) for o, (lo, _) in zip(out_size, pads))
    return y[(slice(None), slice(None), *crop)]


@pytest.mark.parametrize(
    ("strides", "dilations", "pads", "out_size"),
    [
        ((2, 1, 2), (1, 1, 1), ((0, 0), (1, 0), (1, 1)), (7, 3, 5)),
        ((1, 2, 1), (2, 1, 1), ((1, 1), (0, 0), (0, 1)), (3, 7, 3)),
        ((2, 2, 2), (1, 1, 1), ((1, 0), (0, 0), (0, 0)), (6, 7, 7)),  # rows past the full adjoint
        ((3, 1, 2), (1, 1, 1), ((0, 0), (0, 0), (0, 0)), (8, 4, 6)),  # stride 3 > kernel 2
    ],
)
def test_conv_transpose_3d_against_a_scatter_reference(strides, dilations, pads, out_size) -> None:
    x, w = _rand(2, 3, 3, 3, 3), _rand(3, 2, 2, 2, 2)
    g = _one_op(
        "conv_transpose",
        (3, 3, 3, 3),
        {"strides": strides, "dilations": dilations, "pads": pads, "output_size": out_size},
        {"W": w},
    )
    got = KerasRunner(emit(g)).run({"x": x}, ["y"])["y"]
    want = _scatter_transpose(x.astype(np.float64), w.astype(np.float64), strides, dilations, pads, out_size)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("conv_has_reference", [False, True])
def test_activation_runs_inside_the_conv_layer_when_nothing_else_reads_the_conv(
    conv_has_reference: bool,
) -> None:
    g = Graph(name="fuse")
    x = g.add("input", "x", attrs={"shape": (2, 5, 5)})
    ref = "layer01_c" if conv_has_reference else None
    c = g.add("conv", "c/conv", [x], weights={"W": _rand(3, 2, 3, 3), "b": _rand(3)}, reference=ref)
    y = g.add("activation", "c", [c], attrs={"fn": "relu"}, reference="layer02_c")
    g.outputs = [y]
    kinds = {layer.name: type(layer).__name__ for layer in emit(g).model.layers}
    if conv_has_reference:  # the conv output is compared on its own: two layers
        assert kinds["c__conv"] == "Conv2D" and kinds["c"] == "Activation"
    else:
        assert kinds["c"] == "Conv2D" and "c__conv" not in kinds
    _assert_same(g, {"x": _rand(2, 2, 5, 5)})


def test_a_node_no_output_reads_is_left_out() -> None:
    g = Graph(name="dead")
    x = g.add("input", "x", attrs={"shape": (4,)})
    g.add("activation", "unused", [x], attrs={"fn": "tanh"}, reference="layer01_unused")
    y = g.add("activation", "y", [x], attrs={"fn": "relu"}, reference="layer02_y")
    g.outputs = [y]
    built = emit(g)
    assert [r["node"] for r in built.sidecar["nodes"]] == ["x", "y"]
    assert KerasRunner(built).run({"x": np.ones((1, 4), np.float32)}, ["y"])["y"].shape == (1, 4)


@pytest.mark.parametrize(("in_shape", "axis"), [((3, 4, 5), 1), ((6,), 1), ((5, 4), 2)])
def test_batchnorm_with_the_batch_statistics(in_shape: tuple[int, ...], axis: int, tmp_path) -> None:
    c = in_shape[axis - 1]
    g = _one_op(
        "batchnorm_batch", in_shape, {"axis": axis, "epsilon": 1e-3}, {"gamma": _rand(c), "beta": _rand(c)}
    )
    x = _rand(4, *in_shape) * 3 + 1
    _assert_same(g, {"x": x})
    # saved and reloaded by Keras alone, it still normalises with the batch it is given
    import keras

    from legacyconv.targets.keras import save

    path = save(emit(g, input_layout="nchw"), tmp_path / "bn.keras")
    model = keras.saving.load_model(path)
    got = model.predict(x, verbose=0)
    if got.ndim == 4:  # image outputs are channels-last
        got = got.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, run_graph(g, {"x": x})["y"], rtol=1e-4, atol=1e-5)
    # check runs such a model on the whole reference batch, whatever batch_size says
    from legacyconv.regression import check

    refs = {"input": x, "output": run_graph(g, {"x": x})["y"]}
    report = check(path, refs, batch_size=2, progress=False)
    assert report.passed and report.batch_size == 4, report.table()
    assert any("batch statistics" in note for note in report.notes)


@pytest.mark.parametrize(
    "attrs",
    [{"alpha": 1e-4, "k": 2.0, "beta": 0.75, "n": 5}, {"alpha": 0.1, "k": 1.0, "beta": 0.5, "n": 3}],
)
def test_lrn(attrs: dict, tmp_path) -> None:
    g = _one_op("lrn", (7, 4, 5), attrs)
    x = _rand(2, 7, 4, 5) * 3
    _assert_same(g, {"x": x})
    # Keras' own ops in the model (square, power, divide) are saved and reloaded by Keras alone
    import keras

    from legacyconv.targets.keras import save

    model = keras.saving.load_model(save(emit(g, input_layout="nchw"), tmp_path / "lrn.keras"))
    got = model.predict(x, verbose=0).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, run_graph(g, {"x": x})["y"], rtol=1e-4, atol=1e-5)


def test_target_refusals_come_before_tensorflow_is_imported() -> None:
    import subprocess
    import sys

    code = """
import sys
import numpy as np
from legacyconv import LegacyconvError
from legacyconv.graph import Graph
from legacyconv.targets.keras import emit
cases = [
    ("rnn", (6, 3), {"cell": "lstm", "units": 2, "activation": "hard_sigmoid"},
     {"kernel": np.zeros((3, 8)), "recurrent_kernel": np.zeros((2, 8)), "bias": np.zeros(8)}),
    ("pad", (2, 3, 3), {"pads": ((1, 1), (1, 1)), "value": -1.0}, {}),
    ("lrn", (4, 3, 3), {"n": 2}, {}),
    ("activation", (4,), {"fn": "swish"}, {}),
]
for op, shape, attrs, weights in cases:
    g = Graph()
    x = g.add("input", "x", attrs={"shape": shape})
    g.outputs = [g.add(op, "y", [x], attrs=attrs, weights=weights)]
    try:
        emit(g)
    except LegacyconvError as exc:
        print("refused:", exc)
assert "tensorflow" not in sys.modules and "keras" not in sys.modules
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 4 and all(line.startswith("refused: node 'y'") for line in lines), lines
    assert (
        "cell state" in lines[0] and "value=-1.0" in lines[1] and "odd n" in lines[2] and "swish" in lines[3]
    )
