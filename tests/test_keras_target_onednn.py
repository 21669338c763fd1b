"""The Keras target never hands oneDNN a convolution its CPU kernels compute wrong.

oneDNN (TensorFlow's default CPU path, on users' machines too) computes a convolution with one
input channel per group and unequal strides wrong: Conv2D returns uninitialised memory (row
stride 1, column stride >= 2, a kernel >= 2 wide, one output column, batch >= 2), Conv3D wrong
numbers (strides (1, 1, 2) or (2, 1, 2) with a kernel 2 wide on the last axis). The emitter runs
such a convolution at the gcd of its strides and subsamples exactly after it. Expected values:
the graph's NumPy evaluation (:func:`legacyconv.graph.numpy_runner.run_graph`, legacyconv's
Theano-exact ops), or, for the subsample's exactness, the input itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legacyconv.graph import Graph
from legacyconv.graph.numpy_runner import run_graph

pytest.importorskip("tensorflow")

from legacyconv.targets.keras import KerasRunner, emit, runner, save  # noqa: E402


def _one_op(op: str, in_shape: tuple[int, ...], attrs: dict, weights: dict) -> Graph:
    g = Graph(name=f"one_{op}")
    x = g.add("input", "x", attrs={"shape": in_shape})
    y = g.add(op, "y", [x], attrs=attrs, weights=weights, reference="layer01_y")
    g.outputs = [y]
    return g


def _assert_matches_numpy(g: Graph, x: np.ndarray, *, saved_to: str | None = None) -> None:
    """The node ``y`` read through the runner, and the model's own ``predict``, against NumPy."""
    want = run_graph(g, {"x": x})["y"]
    built = emit(g)
    tol = dict(rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(want).max())))
    got = KerasRunner(built).run({"x": x}, ["y"])["y"]
    np.testing.assert_allclose(got, want, **tol)
    rank = want.ndim
    nhwc = np.transpose(x, (0, *range(2, rank), 1)) if rank >= 4 else x
    predicted = built.model.predict(nhwc, verbose=0)
    if rank >= 4:
        predicted = np.transpose(predicted, (0, rank - 1, *range(1, rank - 1)))
    np.testing.assert_allclose(predicted, want, **tol)
    if saved_to is not None:  # what users run: the .keras file, loaded back
        save(built, saved_to)
        np.testing.assert_allclose(runner(saved_to).run({"x": x}, ["y"])["y"], want, **tol)


# (in_shape (channels, *spatial), W shape, attrs): configurations oneDNN computed wrong before
# the emitter took the strides apart (on the commit before the fix all but the dilated one failed)
ONE_CHANNEL_CASES = [
    # Conv2D: row stride 1, column stride >= 2, kernel >= 2 wide, one output column
    ((1, 3, 3), (2, 1, 1, 2), {"strides": (1, 2)}),
    ((1, 4, 3), (2, 1, 2, 2), {"strides": (1, 2)}),
    ((1, 5, 4), (2, 1, 3, 3), {"strides": (1, 2)}),
    ((1, 4, 2), (2, 1, 2, 2), {"strides": (1, 3)}),
    ((1, 5, 6), (2, 1, 3, 3), {"strides": (1, 4)}),
    # Conv3D (the tensorflow engine's regression cases, border modes written out as pads)
    ((1, 1, 1, 1), (2, 1, 1, 3, 2), {"strides": (2, 1, 2), "pads": ((0, 0), (2, 2), (1, 1))}),
    ((1, 1, 6, 1), (2, 1, 3, 3, 2), {"strides": (1, 1, 2), "pads": ((1, 1), (1, 1), (1, 1))}),
    (
        (1, 2, 6, 2),
        (2, 1, 1, 3, 2),
        {"strides": (1, 1, 2), "pads": ((0, 0), (2, 2), (2, 2)), "dilations": (1, 2, 2)},
    ),
    ((1, 5, 6, 1), (2, 1, 1, 1, 2), {"strides": (1, 1, 2), "pads": ((0, 0), (0, 0), (1, 1))}),
]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("case", range(len(ONE_CHANNEL_CASES)))
def test_one_input_channel_with_unequal_strides(case: int, bias: bool) -> None:
    in_shape, wshape, attrs = ONE_CHANNEL_CASES[case]
    rng = np.random.default_rng(case)
    weights = {"W": rng.standard_normal(wshape).astype(np.float32)}
    if bias:
        weights["b"] = rng.standard_normal(wshape[0]).astype(np.float32)
    g = _one_op("conv", in_shape, attrs, weights)
    _assert_matches_numpy(g, rng.standard_normal((2, *in_shape)).astype(np.float32))


def test_the_saved_model_computes_it_right_and_names_the_output_after_the_node(tmp_path) -> None:
    rng = np.random.default_rng(7)
    in_shape, wshape, attrs = ONE_CHANNEL_CASES[2]
    g = _one_op("conv", in_shape, attrs, {"W": rng.standard_normal(wshape).astype(np.float32)})
    built = emit(g)
    assert built.sidecar["nodes"][-1]["layer"] == "y"
    assert built.model.get_layer("y") is built.model.layers[-1]
    _assert_matches_numpy(
        g, rng.standard_normal((2, *in_shape)).astype(np.float32), saved_to=str(tmp_path / "m.keras")
    )


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_the_subsample_keeps_every_value_bit_for_bit(rank: int) -> None:
    """A 1-wide kernel of weight 1 copies its input: the strided output is the input's every
    ``s``-th cell, NaN, infinities and extremes included (a size-1 MaxPooling is not: TensorFlow's
    turns NaN and -inf into -3.4e38)."""
    strides = {1: (3,), 2: (1, 2), 3: (2, 1, 3)}[rank]
    spatial = {1: (10,), 2: (3, 7), 3: (3, 2, 7)}[rank]
    values = np.array([np.nan, np.inf, -np.inf, 0.0, 3.4e38, -3.4e38, 1.5, -2.0], np.float32)
    x = np.resize(values, (2, 1, *spatial))
    g = _one_op("conv", x.shape[1:], {"strides": strides}, {"W": np.ones((1, 1) + (1,) * rank, np.float32)})
    got = KerasRunner(emit(g)).run({"x": x}, ["y"])["y"]
    want = x[(slice(None), slice(None), *(slice(None, None, s) for s in strides))]
    np.testing.assert_array_equal(got, want)


@st.composite
def _one_channel_convs(draw: st.DrawFn) -> tuple[Graph, np.ndarray]:
    rank = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 2))
    strides = tuple(draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank)))
    if rank > 1 and len(set(strides)) == 1:
        strides = (*strides[:-1], strides[-1] % 3 + 1)  # unequal
    elif rank == 1 and strides[0] == 1:
        strides = (2,)  # a Conv1D runs as a Conv2D with strides (1, s)
    kernel = tuple(draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank)))
    dilations = tuple(draw(st.lists(st.integers(1, 2), min_size=rank, max_size=rank)))
    pads = tuple(tuple(draw(st.lists(st.integers(0, 1), min_size=2, max_size=2))) for _ in range(rank))
    span = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    spatial = tuple(draw(st.integers(max(1, s - lo - hi), s + 4)) for s, (lo, hi) in zip(span, pads))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    weights = {"W": rng.standard_normal((2 * groups, 1, *kernel)).astype(np.float32)}
    if draw(st.booleans()):
        weights["b"] = rng.standard_normal(2 * groups).astype(np.float32)
    attrs = {"strides": strides, "dilations": dilations, "pads": pads, "groups": groups}
    g = _one_op("conv", (groups, *spatial), attrs, weights)
    return g, rng.standard_normal((2, groups, *spatial)).astype(np.float32)


@settings(max_examples=30, deadline=None)
@given(_one_channel_convs())
def test_one_channel_convs_with_unequal_strides_sweep(case: tuple[Graph, np.ndarray]) -> None:
    g, x = case
    _assert_matches_numpy(g, x)


# conv_transpose with one input or output channel and unequal strides, strides larger than the
# kernel included (Keras' 'valid' transposed output then has n * s rows, more than the adjoint)
TRANSPOSE_CASES = [
    ((1, 2), (1, 1, 2), {"strides": (3,), "output_size": (5,)}),
    ((1, 2), (1, 3, 2), {"strides": (3,), "output_size": (6,)}),
    ((1, 3, 1), (1, 1, 1, 2), {"strides": (1, 2), "output_size": (3, 2)}),
    ((3, 1, 3), (3, 1, 1, 2), {"strides": (2, 3), "output_size": (2, 9)}),
    ((1, 2, 2), (1, 3, 2, 2), {"strides": (1, 3), "pads": ((0, 1), (1, 0)), "output_size": (2, 4)}),
    ((1, 2, 2), (1, 2, 2, 1), {"strides": (3, 1), "output_size": (6, 2)}),  # extended past the adjoint
]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("case", range(len(TRANSPOSE_CASES)))
def test_one_channel_conv_transpose_with_unequal_strides(case: int, bias: bool) -> None:
    in_shape, wshape, attrs = TRANSPOSE_CASES[case]
    rng = np.random.default_rng(100 + case)
    weights = {"W": rng.standard_normal(wshape).astype(np.float32)}
    if bias:
        weights["b"] = rng.standard_normal(wshape[1]).astype(np.float32)
    g = _one_op("conv_transpose", in_shape, attrs, weights)
    _assert_matches_numpy(g, rng.standard_normal((2, *in_shape)).astype(np.float32))
