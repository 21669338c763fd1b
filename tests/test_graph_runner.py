"""legacyconv.graph.numpy_runner: every op on small cases against an independent NumPy loop."""

from __future__ import annotations

import numpy as np
import pytest

from legacyconv import LegacyconvError
from legacyconv.graph import Graph
from legacyconv.graph.numpy_runner import EVALUATORS, activation, run_graph
from legacyconv.graph.ops import OPS

import reference

RNG = np.random.default_rng(1234)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def one_op(op, x, attrs=None, weights=None, dtype="float32"):
    """Run a one-node graph on x and return the node's output."""
    g = Graph()
    g.add("input", "x", attrs={"shape": x.shape[1:]}, dtype=dtype)
    g.add(op, "y", ["x"], attrs=attrs, weights=weights)
    g.outputs = ["y"]
    g.infer_shapes()
    out = run_graph(g, {"x": x}, ["y"])["y"]
    assert out.shape == tuple(x.shape[:1]) + tuple(g["y"].shape[1:])
    return out


# --- naive references --------------------------------------------------------------------


def naive_conv(x, w, b, strides, dilations, pads, groups):
    y = reference.correlate(x, w, [tuple(p) for p in pads], strides, dilations, groups)
    return y if b is None else y + b.reshape((-1,) + (1,) * (y.ndim - 2))


def naive_conv_transpose(x, w, b, strides, dilations, pads, out_size):
    y = reference.conv_transpose(x, w, out_size, tuple(tuple(p) for p in pads), strides, dilations, 1, False)
    return y if b is None else y + b.reshape((-1,) + (1,) * len(w.shape[2:]))


def naive_pool(x, ws, strides, pads, mode, ignore_border=True):
    if len(ws) == 1:  # a trailing axis of one column
        return reference.pool(x[..., None], (ws[0], 1), ignore_border, (strides[0], 1), (pads[0], 0), mode)[
            ..., 0
        ]
    if len(ws) == 2:
        return reference.pool(x, tuple(ws), ignore_border, tuple(strides), tuple(pads), mode)
    return reference.pool_3d(x, tuple(ws), tuple(strides), tuple(pads), ignore_border, mode)


# --- ops ---------------------------------------------------------------------------------


def test_every_op_has_an_evaluator():
    assert sorted(EVALUATORS) == sorted(OPS)


CONV_CASES = [
    # rank, in channels, out, kernel, strides, dilations, pads, groups, bias
    (1, 3, 4, (3,), (1,), (1,), ((1, 1),), 1, True),
    (1, 2, 3, (2,), (2,), (2,), ((2, 0),), 1, False),
    (2, 3, 4, (3, 2), (1, 1), (1, 1), ((0, 0), (0, 0)), 1, True),
    (2, 4, 6, (3, 3), (2, 1), (1, 2), ((1, 2), (0, 3)), 2, True),
    (2, 2, 2, (1, 1), (1, 1), (1, 1), ((0, 0), (0, 0)), 2, False),
    (3, 2, 3, (2, 3, 2), (1, 2, 1), (1, 1, 1), ((1, 0), (1, 1), (0, 1)), 1, True),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_matches_naive_cross_correlation(case):
    rank, ci, co, k, strides, dilations, pads, groups, bias = case
    x = rand(2, ci, *([7, 6, 5][:rank]))
    w = rand(co, ci // groups, *k)
    b = rand(co) if bias else None
    weights = {"W": w, **({"b": b} if bias else {})}
    attrs = {"strides": strides, "dilations": dilations, "pads": pads, "groups": groups}
    y = one_op("conv", x, attrs, weights)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, naive_conv(x, w, b, strides, dilations, pads, groups), rtol=1e-5, atol=1e-5)


TRANSPOSE_CASES = [
    # rank, ci, co, kernel, strides, dilations, pads, out_size
    (2, 3, 2, (3, 3), (2, 2), (1, 1), ((1, 1), (1, 1)), (7, 8)),
    (2, 2, 3, (2, 3), (1, 2), (1, 1), ((0, 0), (0, 0)), (5, 11)),
    (2, 2, 2, (3, 3), (1, 1), (2, 1), ((2, 2), (0, 1)), (4, 5)),
    (1, 2, 3, (3,), (2,), (1,), ((1, 1),), (8,)),
]


@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_conv_transpose_is_the_adjoint_of_conv(case):
    rank, ci, co, k, strides, dilations, pads, out_size = case
    w = rand(ci, co, *k)
    sizes = [
        (o + lo + hi - ((kk - 1) * d + 1)) // s + 1
        for o, (lo, hi), kk, d, s in zip(out_size, pads, k, dilations, strides)
    ]
    x = rand(2, ci, *sizes)
    b = rand(co)
    attrs = {"strides": strides, "dilations": dilations, "pads": pads, "output_size": out_size}
    y = one_op("conv_transpose", x, attrs, {"W": w, "b": b})
    np.testing.assert_allclose(
        y, naive_conv_transpose(x, w, b, strides, dilations, pads, out_size), rtol=1e-5, atol=1e-5
    )


POOL_CASES = [
    # ws, strides, pads, ignore_border
    ((2,), (2,), (0,), True),
    ((3,), (2,), (1,), True),
    ((2,), (2,), (0,), False),
    ((2, 2), (2, 2), (0, 0), True),
    ((3, 2), (2, 1), (1, 1), True),
    ((3, 3), (2, 2), (0, 0), False),
    ((2, 3, 2), (2, 2, 1), (1, 1, 0), True),
    ((2, 2, 2), (2, 2, 2), (0, 0, 0), False),
]


@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("case", POOL_CASES)
def test_pool_matches_naive_windows(case, mode):
    ws, strides, pads, ignore_border = case
    if mode == "average_inc_pad" and not ignore_border:
        pytest.skip("covered by average_exc_pad: a clipped window has no padding")
    x = rand(2, 3, *([7, 5, 6][: len(ws)]))
    attrs = {"mode": mode, "ws": ws, "strides": strides, "pads": pads, "ignore_border": ignore_border}
    y = one_op("pool", x, attrs)
    np.testing.assert_allclose(y, naive_pool(x, ws, strides, pads, mode, ignore_border), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("mode", ["max", "average"])
def test_global_pool(rank, mode):
    x = rand(2, 3, *([4, 3, 5][:rank]))
    ref = x.reshape(2, 3, -1).astype(np.float64)
    ref = ref.max(-1) if mode == "max" else ref.mean(-1)
    np.testing.assert_allclose(one_op("global_pool", x, {"mode": mode}), ref, rtol=1e-6, atol=1e-6)


def test_pad_crop_upsample_are_exact():
    x = rand(2, 3, 4, 5)
    y = one_op("pad", x, {"pads": ((1, 2), (0, 3))})
    assert y.shape == (2, 3, 7, 8)
    assert np.array_equal(y[:, :, 1:5, 0:5], x)
    y[:, :, 1:5, 0:5] = 0
    assert not y.any()
    assert np.array_equal(one_op("crop", x, {"crops": ((1, 0), (2, 1))}), x[:, :, 1:, 2:4])
    x1 = rand(2, 3, 4)
    assert np.array_equal(one_op("upsample", x1, {"factors": (2,)})[:, :, 1::2], x1)
    up = one_op("upsample", rand(1, 1, 2, 2, 2), {"factors": (1, 2, 3)})
    assert up.shape == (1, 1, 2, 4, 6)
    x3 = rand(1, 2, 2, 3, 2)
    assert np.array_equal(one_op("crop", x3, {"crops": ((0, 1), (1, 1), (0, 0))}), x3[:, :, :1, 1:2, :])


def test_dense_flatten_reshape_transpose():
    x = rand(2, 3, 4)
    w, b = rand(4, 5), rand(5)
    np.testing.assert_allclose(
        one_op("dense", x, {}, {"W": w, "b": b}), np.einsum("ntf,fo->nto", x, w) + b, rtol=1e-5
    )
    assert np.array_equal(one_op("flatten", x), x.reshape(2, 12))
    assert np.array_equal(one_op("reshape", x, {"shape": (6, 2)}), x.reshape(2, 6, 2))
    assert np.array_equal(one_op("transpose", x, {"perm": (0, 2, 1)}), x.transpose(0, 2, 1))


ACTIVATION_REFS = {
    "linear": lambda x: x,
    "relu": lambda x: np.where(x > 0, x, 0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "hard_sigmoid": lambda x: np.minimum(np.maximum(0.2 * x + 0.5, 0), 1),
    "softmax": lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
    "log_softmax": lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)),
    "softplus": lambda x: np.log(1 + np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "elu": lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1)),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)),
    "exp": np.exp,
    "leaky_relu": lambda x: np.where(x > 0, x, 0.7 * x),
    "thresholded_relu": lambda x: np.where(x > 0.7, x, 0),
}


@pytest.mark.parametrize("fn", sorted(ACTIVATION_REFS))
def test_activation(fn):
    x = rand(3, 2, 5) * 3
    y = one_op("activation", x, {"fn": fn, "alpha": 0.7, "theta": 0.7})
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, ACTIVATION_REFS[fn](x.astype(np.float64)), rtol=2e-6, atol=1e-6)


def test_softmax_axis_and_unknown_activation():
    x = rand(2, 3, 4)
    y = one_op("activation", x, {"fn": "softmax", "axis": 1})
    np.testing.assert_allclose(y.sum(1), 1, rtol=1e-6)
    with pytest.raises(LegacyconvError, match="activation must be one of"):
        activation("swish", x)


def test_prelu_and_scale_bias():
    x = rand(2, 3, 4, 5)
    alpha = rand(3, 1, 1)
    np.testing.assert_allclose(
        one_op("prelu", x, {}, {"alpha": alpha}), np.where(x > 0, x, alpha * x), rtol=1e-6
    )
    s, b = rand(3), rand(3)
    y = one_op("scale_bias", x, {"axes": (1,)}, {"scale": s, "bias": b})
    np.testing.assert_allclose(y, x * s[:, None, None] + b[:, None, None], rtol=1e-6)
    y = one_op("scale_bias", x, {"axes": (1, 3)}, {"bias": rand(3, 5)})
    assert y.shape == x.shape


@pytest.mark.parametrize("axis", [1, -1])
def test_batchnorm(axis):
    x = rand(4, 3, 5) if axis == 1 else rand(4, 5, 3)
    g, b, m = rand(3), rand(3), rand(3)
    v = np.abs(rand(3)) + 0.1
    shape = (1, 3, 1) if axis == 1 else (1, 1, 3)
    ref = (x - m.reshape(shape)) / np.sqrt(v.reshape(shape) + 1e-3) * g.reshape(shape) + b.reshape(shape)
    y = one_op("batchnorm", x, {"axis": axis, "epsilon": 1e-3}, {"gamma": g, "beta": b, "mean": m, "var": v})
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    # absent gamma / beta (Keras 2 scale=False / center=False)
    y = one_op("batchnorm", x, {"axis": axis, "epsilon": 1e-3}, {"mean": m, "var": v})
    np.testing.assert_allclose(
        y, (x - m.reshape(shape)) / np.sqrt(v.reshape(shape) + 1e-3), rtol=1e-5, atol=1e-6
    )
    inv = 1 / np.sqrt(v + 1e-3)
    y = one_op("batchnorm_inv_std", x, {"axis": axis}, {"gamma": g, "beta": b, "mean": m, "inv_std": inv})
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_lrn_matches_a_channel_loop():
    x = rand(2, 6, 3, 3)
    alpha, k, beta, n = 1e-2, 2.0, 0.75, 3
    y = one_op("lrn", x, {"alpha": alpha, "k": k, "beta": beta, "n": n})
    np.testing.assert_allclose(y, reference.lrn(x, alpha, k, beta, n), rtol=1e-5)


def run_merge(xs, attrs):
    g = Graph()
    names = [g.add("input", f"x{i}", attrs={"shape": x.shape[1:]}) for i, x in enumerate(xs)]
    g.add("merge", "m", names, attrs=attrs)
    g.outputs = ["m"]
    g.infer_shapes()
    return run_graph(g, {f"x{i}": x for i, x in enumerate(xs)}, ["m"])["m"]


def test_merge_modes():
    a, b, c = rand(2, 3, 4), rand(2, 3, 4), rand(2, 3, 4)
    np.testing.assert_allclose(run_merge([a, b, c], {"mode": "sum"}), a + b + c, rtol=1e-6)
    np.testing.assert_allclose(
        run_merge([a, b], {"mode": "sum", "coeffs": (1.0, -2.0)}), a - 2 * b, rtol=1e-6
    )
    np.testing.assert_allclose(run_merge([a, b, c], {"mode": "ave"}), (a + b + c) / 3, rtol=1e-6)
    assert np.array_equal(run_merge([a, b, c], {"mode": "max"}), np.max([a, b, c], axis=0))
    assert np.array_equal(run_merge([a, b], {"mode": "min"}), np.min([a, b], axis=0))
    np.testing.assert_allclose(run_merge([a, b], {"mode": "mul"}), a * b, rtol=1e-6)
    assert np.array_equal(run_merge([a, b], {"mode": "sub"}), a - b)
    assert np.array_equal(run_merge([a, b], {"mode": "concat", "axis": 1}), np.concatenate([a, b], 1))
    u, v = rand(3, 5), rand(3, 5)
    np.testing.assert_allclose(run_merge([u, v], {"mode": "dot"}), (u * v).sum(1, keepdims=True), rtol=1e-5)
    cos = (u * v).sum(1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
    np.testing.assert_allclose(run_merge([u, v], {"mode": "cos"}), cos[:, None], rtol=1e-5)


def test_embedding_repeat_slice():
    table = rand(10, 4)
    ids = np.array([[1, 0, 9], [3, 3, 2]], dtype=np.int32)
    assert np.array_equal(one_op("embedding", ids, {}, {"W": table}, dtype="int32"), table[ids])
    with pytest.raises(LegacyconvError, match="token ids must lie in"):
        one_op("embedding", ids + 1, {}, {"W": table}, dtype="int32")
    v = rand(2, 3)
    assert np.array_equal(one_op("repeat_vector", v, {"n": 4}), np.stack([v] * 4, 1))
    x = rand(2, 5, 3)
    assert np.array_equal(one_op("slice", x, {"axis": 1, "start": 1, "stop": 5, "step": 2}), x[:, 1:5:2])


# --- recurrent layers --------------------------------------------------------------------


def hsig(x):
    return np.clip(0.2 * x + 0.5, 0, 1)


def ref_rnn(cell, x, k, rk, b, units, go_backwards, mask=None):
    """Keras' step equations, written from the Keras 1.2.2 / 2.2.5 sources, gate by gate."""
    n, t, _ = x.shape
    h = np.zeros((n, units))
    c = np.zeros((n, units))
    outs = []
    steps = range(t - 1, -1, -1) if go_backwards else range(t)
    gate = lambda m, i: m[..., i * units : (i + 1) * units]  # noqa: E731
    for s in steps:
        xt = x[:, s].astype(np.float64)
        if cell == "simple":
            hn, cn = np.tanh(xt @ k + b + h @ rk), c
        elif cell == "lstm":
            i = hsig(xt @ gate(k, 0) + gate(b, 0) + h @ gate(rk, 0))
            f = hsig(xt @ gate(k, 1) + gate(b, 1) + h @ gate(rk, 1))
            cn = f * c + i * np.tanh(xt @ gate(k, 2) + gate(b, 2) + h @ gate(rk, 2))
            o = hsig(xt @ gate(k, 3) + gate(b, 3) + h @ gate(rk, 3))
            hn = o * np.tanh(cn)
        else:
            z = hsig(xt @ gate(k, 0) + gate(b, 0) + h @ gate(rk, 0))
            r = hsig(xt @ gate(k, 1) + gate(b, 1) + h @ gate(rk, 1))
            hh = np.tanh(xt @ gate(k, 2) + gate(b, 2) + (r * h) @ gate(rk, 2))
            hn, cn = z * h + (1 - z) * hh, c
        if mask is not None:
            hn = np.where(mask[:, s : s + 1], hn, h)
            cn = np.where(mask[:, s : s + 1], cn, c)
        h, c = hn, cn
        outs.append(h)
    return np.stack(outs, 1), h


@pytest.mark.parametrize("cell,gates", [("simple", 1), ("gru", 3), ("lstm", 4)])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_rnn_cells(cell, gates, go_backwards, return_sequences):
    units, feats = 3, 4
    x = rand(2, 5, feats)
    k, rk, b = rand(feats, gates * units), rand(units, gates * units), rand(gates * units)
    attrs = {
        "cell": cell,
        "units": units,
        "activation": "tanh",
        "recurrent_activation": "hard_sigmoid",
        "go_backwards": go_backwards,
        "return_sequences": return_sequences,
    }
    y = one_op("rnn", x, attrs, {"kernel": k, "recurrent_kernel": rk, "bias": b})
    seq, last = ref_rnn(cell, x, k, rk, b, units, go_backwards)
    np.testing.assert_allclose(y, seq if return_sequences else last, rtol=1e-5, atol=1e-6)


def test_masking_skips_steps_in_the_rnn():
    units, feats = 3, 2
    x = rand(2, 5, feats)
    x[0, 3] = 0.0
    x[1, 0] = 0.0
    k, rk, b = rand(feats, 4 * units), rand(units, 4 * units), rand(4 * units)
    g = Graph()
    g.add("input", "x", attrs={"shape": (5, feats)})
    g.add("masking", "mask", ["x"], attrs={"mask_value": 0.0})
    g.add("activation", "act", ["mask"], attrs={"fn": "linear"})
    attrs = {"cell": "lstm", "units": units, "return_sequences": True, "activation": "tanh"}
    g.add("rnn", "lstm", ["act"], attrs=attrs, weights={"kernel": k, "recurrent_kernel": rk, "bias": b})
    g.add("flatten", "flat", ["lstm"])
    g.outputs = ["flat"]
    out = run_graph(g, {"x": x})
    mask = np.any(x != 0, axis=-1)
    seq, _ = ref_rnn("lstm", x, k, rk, b, units, False, mask)
    np.testing.assert_allclose(out["lstm"], seq, rtol=1e-5, atol=1e-6)
    assert np.array_equal(out["lstm"][0, 3], out["lstm"][0, 2])
    assert np.all(out["lstm"][1, 0] == 0)


def test_embedding_mask_zero_masks_the_rnn():
    table = rand(6, 2)
    ids = np.array([[0, 2, 3, 0]], dtype=np.int32)
    k, rk, b = rand(2, 3), rand(3, 3), rand(3)
    g = Graph()
    g.add("input", "ids", attrs={"shape": (4,)}, dtype="int32")
    g.add("embedding", "emb", ["ids"], attrs={"mask_zero": True}, weights={"W": table})
    g.add(
        "rnn",
        "rnn",
        ["emb"],
        attrs={"cell": "simple", "units": 3},
        weights={"kernel": k, "recurrent_kernel": rk, "bias": b},
    )
    out = run_graph(g, {"ids": ids}, ["rnn"])["rnn"]
    _, last = ref_rnn("simple", table[ids], k, rk, b, 3, False, ids != 0)
    np.testing.assert_allclose(out, last, rtol=1e-5)


# --- the runner --------------------------------------------------------------------------


def test_runner_returns_requested_nodes_and_does_not_modify_inputs():
    g = Graph()
    g.add("input", "x", attrs={"shape": (3,)})
    g.add("activation", "r", ["x"], attrs={"fn": "relu"})
    g.add("dense", "d", ["r"], weights={"W": np.eye(3, dtype=np.float32)})
    g.add("merge", "s", ["r", "d"], attrs={"mode": "sum"})
    x = rand(2, 3)
    before = x.copy()
    out = run_graph(g, {"x": x}, ["s"])
    assert list(out) == ["s"]
    assert np.array_equal(out["s"], 2 * np.maximum(before, 0))
    assert np.array_equal(x, before)
    assert set(run_graph(g, {"x": x})) == {"x", "r", "d", "s"}


def test_runner_errors():
    g = Graph()
    g.add("input", "x", attrs={"shape": (3,)})
    g.add("activation", "r", ["x"], attrs={"fn": "relu"}, source="Keras-1 layer 'r' (Activation)")
    with pytest.raises(LegacyconvError, match="missing"):
        run_graph(g, {})
    with pytest.raises(LegacyconvError, match=r"expects batches of shape \(batch, \*\(3,\)\); got \(2, 4\)"):
        run_graph(g, {"x": rand(2, 4)})
    with pytest.raises(LegacyconvError, match="unknown node"):
        run_graph(g, {"x": rand(2, 3)}, ["nope"])
    g["r"].attrs["fn"] = "swish"
    with pytest.raises(LegacyconvError, match=r"Keras-1 layer 'r' \(Activation\): activation must be"):
        run_graph(g, {"x": rand(2, 3)})


@pytest.mark.parametrize("axis", [1, -1])
def test_batchnorm_with_the_batch_statistics(axis):
    x = rand(5, 3, 4) * 2 + 1
    g, b = rand(3), rand(3)
    shape = (1, 3, 1) if axis == 1 else (1, 1, 3)
    if axis == -1:
        x = rand(5, 4, 3) * 2 + 1
    axes = (0, 2) if axis == 1 else (0, 1)
    x64 = x.astype(np.float64)
    mean = x64.mean(axes, keepdims=True)
    var = ((x64 - mean) ** 2).mean(axes, keepdims=True)  # biased, as Theano's batch_normalization_train
    ref = (x64 - mean) / np.sqrt(var + 1e-3) * g.reshape(shape) + b.reshape(shape)
    y = one_op("batchnorm_batch", x, {"axis": axis, "epsilon": 1e-3}, {"gamma": g, "beta": b})
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
