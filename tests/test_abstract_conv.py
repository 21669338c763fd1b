"""The rest of ``theano.tensor.nnet.abstract_conv`` and ``nnet.conv3d2d`` against real Theano
1.0.5 (tests/data/theano_abstract_conv_reference.*, recorded by tests/data/record_abstract_conv.py)
on every engine; the gradients as exact adjoints of conv2d/conv3d and against the naive
reference (tests/reference.py); bilinear upsampling against the interpolation it stands for."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import legacyconv
from legacyconv import LegacyconvError
from legacyconv.nnet import abstract_conv as ac
from legacyconv.nnet import conv3d2d

import reference
from golden import assert_matches_theano, cases, shape_function_cases, tolerance

DATA = "theano_abstract_conv_reference"
BACKENDS = ["numpy", "scipy", "tensorflow"]
POSITIONAL = [
    "input_shape",
    "filter_shape",
    "border_mode",
    "subsample",
    "filter_flip",
    "filter_dilation",
    "num_groups",
]


def _positional(x, w, **kwargs):
    """abstract_conv.conv2d called positionally, in Theano's order, as the recorded call was."""
    names = POSITIONAL[: max(POSITIONAL.index(k) for k in kwargs) + 1]
    return ac.conv2d(x, w, *(kwargs[n] for n in names))


ENGINE_OPS = {
    "conv2d_grad_wrt_inputs": ac.conv2d_grad_wrt_inputs,
    "conv2d_grad_wrt_weights": ac.conv2d_grad_wrt_weights,
    "conv3d_grad_wrt_inputs": ac.conv3d_grad_wrt_inputs,
    "conv3d_grad_wrt_weights": ac.conv3d_grad_wrt_weights,
    "causal_conv1d": ac.causal_conv1d,
    "separable_conv3d": ac.separable_conv3d,
    "bilinear_upsampling": ac.bilinear_upsampling,
    "conv3d2d": conv3d2d.conv3d,
}
ENGINE_CASES = cases(*ENGINE_OPS, source=DATA)
OTHER_CASES = cases("abstract_conv2d_positional", "frac_bilinear_upsampling", source=DATA)
KERNEL_CASES = cases("bilinear_kernel_1D", "bilinear_kernel_2D", source=DATA)


def _ids(cs):
    return [f"{c['name']}-{c['floatX']}" for c in cs]


# --------------------------------------------------------------------------- golden


def test_recording_covers_every_function_both_dtypes_and_errors():
    everything = ENGINE_CASES + OTHER_CASES + KERNEL_CASES
    ops = {c["op"] for c in everything}
    assert ops == set(ENGINE_OPS) | {
        "abstract_conv2d_positional",
        "frac_bilinear_upsampling",
        "bilinear_kernel_1D",
        "bilinear_kernel_2D",
    }
    for op in ops:
        assert {c["floatX"] for c in everything if c["op"] == op} == {"float32", "float64"}, op
    errors = {c["op"] for c in everything if "error" in c}
    assert {"conv2d_grad_wrt_inputs", "conv2d_grad_wrt_weights", "bilinear_upsampling", "conv3d2d"} <= errors


def _call_engine_op(op):
    fn = ENGINE_OPS[op]
    if op == "bilinear_upsampling":
        return lambda x, backend, **kw: fn(x, **kw, backend=backend)
    return fn


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ENGINE_CASES, ids=_ids(ENGINE_CASES))
def test_matches_theano(case, backend):
    if "note" in case:  # Theano's Python code returned garbage for an inconsistent call
        with pytest.raises(LegacyconvError, match="output_grad has the wrong shape"):
            ENGINE_OPS[case["op"]](*case["inputs"], **case["kwargs"], backend=backend)
        return
    if "error" in case and case["error"]["type"] == "NotImplementedError":
        with pytest.raises(NotImplementedError):
            ENGINE_OPS[case["op"]](*case["inputs"], **case["kwargs"], backend=backend)
        return
    mixed = len({a.dtype for a in case["inputs"]}) > 1
    # Theano's Python code accumulated a float32 output_grad/input into a float32 buffer, then
    # returned it as float64: float64-typed, float32-rounded. legacyconv computes in float64.
    tol = (lambda dtype, expected: tolerance(np.float32, expected)) if mixed else None
    assert_matches_theano(_call_engine_op(case["op"]), case, tol=tol, backend=backend)


@pytest.mark.parametrize("case", OTHER_CASES, ids=_ids(OTHER_CASES))
def test_positional_conv2d_and_frac_upsampling_match_theano(case):
    fn = _positional if case["op"] == "abstract_conv2d_positional" else ac.frac_bilinear_upsampling
    assert_matches_theano(fn, case)


@pytest.mark.parametrize("case", KERNEL_CASES, ids=_ids(KERNEL_CASES))
def test_bilinear_kernels_match_theano_exactly(case):
    fn = ac.bilinear_kernel_1D if case["op"] == "bilinear_kernel_1D" else ac.bilinear_kernel_2D
    out = fn(**case["kwargs"], dtype=case["floatX"])
    assert out.dtype == case["dtype"]
    np.testing.assert_array_equal(out, case["expected"])


SHAPE_CASES = shape_function_cases(DATA)


@pytest.mark.parametrize("call", SHAPE_CASES, ids=[f"{c['fn']}-{i}" for i, c in enumerate(SHAPE_CASES)])
def test_shape_helpers_match_theano(call):
    fn = getattr(ac, call["fn"])
    if "error" in call:
        expected = NotImplementedError if call["error"]["type"] == "NotImplementedError" else LegacyconvError
        with pytest.raises(expected):
            fn(*call["args"])
    else:
        assert fn(*call["args"]) == call["result"]


# Malformed arguments to the shape helpers. Theano checked none of these: it raised Python's
# own TypeError, IndexError or ZeroDivisionError from inside, or (a subsample shorter than the
# image's axes) returned a shape with too few axes.
MALFORMED_SHAPE_ARGS = [
    (ac.get_conv_shape_1axis, (8, 3, "valid", 0), r"\(subsample, dilation\) must hold integers >= 1"),
    (ac.get_conv_shape_1axis, (8, 3, "same", 1), "border_mode must be 'valid'"),
    (
        ac.get_conv_shape_1axis,
        (8.0, 3, "valid", 1),
        r"\(image_shape, kernel_shape\) must be a tuple of integers",
    ),
    (ac.get_conv_output_shape, ((2, 3, 8, 8), (4, 3, 3, 3), "valid", (1,)), "subsample must have 2 entries"),
    (
        ac.get_conv_output_shape,
        ((2, 3, 8, 8), (4, 3, 3, 3), "valid", (0, 1)),
        "subsample must hold integers >= 1",
    ),
    (
        ac.get_conv_output_shape,
        ((2, 3, 8, 8), (4, 3, 3, 3), "valid", 2),
        "subsample must be a tuple of integers",
    ),
    (ac.get_conv_output_shape, ((2, 3, 8, 8), (4, 3, 3, 3), "valid", None), "subsample must be a tuple"),
    (ac.get_conv_output_shape, ((2, 3, 8, 8), (4, 3, 3, 3), "valid", ("a", 1)), "subsample must be a tuple"),
    (ac.get_conv_output_shape, ((2, 3, 8, 8), (4, 3, 3, 3), "same", (1, 1)), "border_mode must be 'valid'"),
    (ac.get_conv_output_shape, ((2, 3, 8, 8), (4, 3, 3, 3), (1,), (1, 1)), "border_mode must be 'valid'"),
    (ac.get_conv_output_shape, ((2, 3, 8, 8), (4, 3, 3, 3), 1.5, (1, 1)), "border_mode must be 'valid'"),
    (
        ac.get_conv_output_shape,
        ((2, 3, 8, 8), (4, 3, 3, 3), "valid", (1, 1), (0, 1)),
        "filter_dilation must hold",
    ),
    (
        ac.get_conv_output_shape,
        ((2, 3, 8, 8), (4, 3, 3), "valid", (1, 1)),
        "kernel_shape must have at least 4",
    ),
    (ac.get_conv_output_shape, ((8, 8), (4, 3, 3, 3), "valid", (1,)), "image_shape must be .batch, channels"),
    (
        ac.get_conv_output_shape,
        ((2, 3, -8, 8), (4, 3, 3, 3), "valid", (1, 1)),
        "image_shape must hold integers >= 0",
    ),
    (
        ac.get_conv_output_shape,
        ((2, 3, 8.0, 8), (4, 3, 3, 3), "valid", (1, 1)),
        "image_shape must be a tuple",
    ),
    (
        ac.get_conv_gradweights_shape,
        ((2, 3, 8, 8), (2, 4, 6), "valid", (1, 1)),
        "top_shape must have at least 4",
    ),
    (
        ac.get_conv_gradweights_shape,
        ((2, 3, 8, 8), (2, 4, 6, 6), "valid", (1, 1, 1)),
        "subsample must have 2",
    ),
    (ac.get_conv_gradinputs_shape, ((4, 3, 3, 3), (2, 4, 6, 6), "valid", (1, 0)), "subsample must hold"),
    (
        ac.get_conv_gradinputs_shape,
        ((4, 3, 3, 3), (2, 4, 6, 6), ("half",), (1, 1)),
        "border_mode must be 'valid'",
    ),
]


@pytest.mark.parametrize("fn, args, message", MALFORMED_SHAPE_ARGS)
def test_shape_helpers_name_the_malformed_argument(fn, args, message):
    with pytest.raises(LegacyconvError, match=message):
        fn(*args)


def test_shape_helpers_keep_what_theano_computed_with():
    # None for unknown sizes, per-axis names and pairs, outputs that come out negative
    assert ac.get_conv_output_shape((None, 3, 8, None), (4, 3, 3, 3), ("half", (1, 0)), (1, 2)) == (
        None,
        4,
        8,
        None,
    )
    assert ac.get_conv_output_shape((2, 3, 2, 2), (4, 3, 5, 5), "valid", (1, 1)) == (2, 4, -2, -2)
    assert ac.get_conv_output_shape((2, 3, 8, 8), (4, 3, 3, 3), None, (1, 1)) == (2, 4, None, None)


def test_abstract_conv2d_eighth_positional_is_filter_dilation():
    x, w = np.ones((1, 1, 7, 7)), np.ones((1, 1, 3, 3))
    out = ac.conv2d(x, w, None, None, "valid", (1, 1), True, (3, 3))
    assert out.shape == (1, 1, 1, 1) and out[0, 0, 0, 0] == 9.0
    # nnet.conv2d keeps its own order, where the 8th is the deprecated image_shape
    with pytest.warns(DeprecationWarning):
        assert legacyconv.nnet.conv2d(x, w, None, None, "valid", (1, 1), True, (1, 1, 7, 7)).shape == (
            1,
            1,
            5,
            5,
        )


# --------------------------------------------------------------------------- adjoints


@st.composite
def problems(draw, nd):
    groups = draw(st.sampled_from([1, 2]))
    channels = groups * draw(st.integers(1, 2))
    n_out = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    mode = draw(
        st.one_of(
            st.sampled_from(["valid", "full", "half"]),
            st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2)) for _ in range(nd)]),
        )
    )
    size = tuple(draw(st.integers(1, 7)) for _ in range(nd))
    pads = reference.pads(mode, kernel, dilation)
    assume(all(s + lo + hi >= (k - 1) * d + 1 for s, (lo, hi), k, d in zip(size, pads, kernel, dilation)))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, channels, *size))
    w = rng.standard_normal((n_out, channels // groups, *kernel))
    kw = dict(
        border_mode=mode,
        subsample=stride,
        filter_flip=draw(st.booleans()),
        filter_dilation=dilation,
        num_groups=groups,
    )
    return x, w, kw, rng


FNS = {
    2: (legacyconv.conv2d, ac.conv2d_grad_wrt_inputs, ac.conv2d_grad_wrt_weights),
    3: (legacyconv.conv3d, ac.conv3d_grad_wrt_inputs, ac.conv3d_grad_wrt_weights),
}


def _check_adjoint(nd, problem, backend):
    x, w, kw, rng = problem
    conv, grad_inputs, grad_weights = FNS[nd]
    y_shape = conv(x, w, **kw).shape
    y = rng.standard_normal(y_shape)
    gi = grad_inputs(y, w, x.shape, **kw, backend=backend)
    gw = grad_weights(x, y, w.shape, **kw, backend=backend)
    assert gi.shape == x.shape and gw.shape == w.shape
    lhs = np.vdot(conv(x, w, **kw), y)
    np.testing.assert_allclose(np.vdot(x, gi), lhs, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.vdot(w, gw), lhs, rtol=1e-10, atol=1e-10)
    # and against the definitions, position by position
    args = (kw["border_mode"], kw["subsample"], kw["filter_dilation"], kw["num_groups"], kw["filter_flip"])
    np.testing.assert_allclose(gi, reference.conv_transpose(y, w, x.shape[2:], *args), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        gw, reference.conv_weight_grad(x, y, w.shape[2:], *args), rtol=1e-10, atol=1e-10
    )


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None)
@given(problem=problems(2))
def test_2d_gradients_are_the_adjoints_of_conv2d(backend, problem):
    _check_adjoint(2, problem, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=15, deadline=None)
@given(problem=problems(3))
def test_3d_gradients_are_the_adjoints_of_conv3d(backend, problem):
    _check_adjoint(3, problem, backend)


def test_float32_and_chunked_weight_gradient():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 16, 48, 40)).astype(np.float32)
    w = rng.standard_normal((4, 16, 3, 3)).astype(np.float32)
    y = rng.standard_normal(legacyconv.conv2d(x, w, border_mode="half").shape).astype(np.float32)
    whole = ac.conv2d_grad_wrt_weights(x, y, w.shape, border_mode="half")
    assert whole.dtype == np.float32
    with legacyconv.workspace_limit(2**20):  # an image's columns take 1.1 MiB: chunks of rows
        chunked = ac.conv2d_grad_wrt_weights(x, y, w.shape, border_mode="half")
    expected = reference.conv_weight_grad(x, y, (3, 3), "half", (1, 1), (1, 1), 1, True)
    np.testing.assert_allclose(whole, expected, rtol=1e-4, atol=2e-3)
    np.testing.assert_allclose(chunked, expected, rtol=1e-4, atol=2e-3)


def test_stride_ambiguity_is_resolved_by_input_shape():
    w = np.ones((1, 1, 3, 3))
    g = np.ones((1, 1, 2, 2))
    five = ac.conv2d_grad_wrt_inputs(g, w, (1, 1, 5, 5), subsample=(2, 2))
    six = ac.conv2d_grad_wrt_inputs(g, w, (1, 1, 6, 6), subsample=(2, 2))
    assert five.shape == (1, 1, 5, 5) and six.shape == (1, 1, 6, 6)
    np.testing.assert_array_equal(six[..., :5, :5], five)  # the extra row/column only gets zeros
    assert not six[..., 5, :].any() and not six[..., :, 5].any()
    assert ac.get_conv_gradinputs_shape((1, 1, 3, 3), (1, 1, 2, 2), "valid", (2, 2)) == (1, 1, None, None)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: ac.conv2d_grad_wrt_inputs(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), (5, 5)),
            LegacyconvError,
            r"input_shape must be \(batch, channels, rows, cols\)",
        ),
        (
            lambda: ac.conv2d_grad_wrt_inputs(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), (1, 1, None, 5)),
            LegacyconvError,
            "input_shape must be",
        ),
        (
            lambda: ac.conv2d_grad_wrt_inputs(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), (1, 1, 6, 5)),
            LegacyconvError,
            r"input_shape is inconsistent with the output_grad.*consistent with the output_grad: \(5, 5\)",
        ),
        (
            lambda: ac.conv2d_grad_wrt_inputs(np.ones((1, 2, 3, 3)), np.ones((1, 1, 3, 3)), (1, 1, 5, 5)),
            LegacyconvError,
            "output_grad and filters must agree",
        ),
        (
            lambda: ac.conv2d_grad_wrt_inputs(
                np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), (1, 1, 5, 5), unshared=True
            ),
            NotImplementedError,
            "unshared",
        ),
        (
            lambda: ac.conv2d_grad_wrt_weights(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), (1, 1, None, 3)),
            LegacyconvError,
            "filter_shape must be",
        ),
        (
            lambda: ac.conv2d_grad_wrt_weights(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), (1, 1, 2, 2)),
            LegacyconvError,
            r"output_grad has the wrong shape.*gives \(1, 1, 4, 4\)",
        ),
        (
            lambda: ac.conv2d_grad_wrt_weights(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), (2, 1, 3, 3)),
            LegacyconvError,
            "filter_shape does not match",
        ),
        (
            lambda: ac.conv2d_grad_wrt_weights(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), (1, 1, 7, 3)),
            LegacyconvError,
            "larger than the padded input",
        ),
        (
            lambda: ac.conv2d_grad_wrt_weights(
                np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), (1, 1, 3, 3), input_shape=(1, 1, 5, 6)
            ),
            LegacyconvError,
            "shape hint does not match",
        ),
        (
            lambda: ac.conv2d_grad_wrt_weights(
                np.ones((1, 3, 5, 5)), np.ones((1, 2, 3, 3)), (2, None, 3, 3), num_groups=2
            ),
            LegacyconvError,
            "divisible by num_groups",
        ),
        (
            lambda: ac.conv2d_grad_wrt_weights(
                np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), (1, 1, 3, 3), unshared=True
            ),
            NotImplementedError,
            "unshared",
        ),
        (
            lambda: ac.conv3d_grad_wrt_weights(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), (1, 1, 3, 3)),
            LegacyconvError,
            "input must be a 5-d array",
        ),
        (
            lambda: ac.causal_conv1d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 2)), (1, 1, 2)),
            LegacyconvError,
            "Input should be 3D",
        ),
        (
            lambda: ac.causal_conv1d(np.ones((1, 1, 5)), np.ones((1, 1, 2)), None),
            LegacyconvError,
            "filter_shape must be a tuple of 3",
        ),
        (
            lambda: ac.causal_conv1d(np.ones((1, 1, 5)), np.ones((1, 1, 2)), (1, 1, 3)),
            LegacyconvError,
            "shape hint does not match",
        ),
        (
            lambda: ac.bilinear_upsampling(np.ones((1, 1, 2, 2)), ratio=1.5),
            LegacyconvError,
            "ratio must be a positive integer",
        ),
        (
            lambda: ac.bilinear_upsampling(np.ones((1, 1, 2, 2)), 2, batch_size=3),
            LegacyconvError,
            "batch_size does not match",
        ),
        (lambda: ac.bilinear_upsampling(np.ones((1, 2, 2)), 2), LegacyconvError, "input must be a 4-d array"),
        (
            lambda: ac.frac_bilinear_upsampling(np.ones((1, 1, 2, 2)), [3, 2]),
            LegacyconvError,
            "frac_ratio must be a tuple",
        ),
        (
            lambda: ac.frac_bilinear_upsampling(np.ones((1, 1, 2, 2)), (3, 0)),
            LegacyconvError,
            "positive integers",
        ),
        (
            lambda: conv3d2d.conv3d(np.ones((1, 2, 3, 4, 4)), np.ones((1, 1, 2, 2, 2))),
            LegacyconvError,
            "same number of channels",
        ),
        (
            lambda: conv3d2d.conv3d(np.ones((1, 2, 3, 4, 4)), np.ones((1, 1, 3, 2, 2)), border_mode="same"),
            NotImplementedError,
            "same",
        ),
        (
            lambda: conv3d2d.conv3d(np.ones((1, 2, 3, 4, 4)), np.ones((1, 1, 3, 2, 2)), border_mode=1),
            LegacyconvError,
            "border_mode must be one of",
        ),
        (lambda: ac.border_mode_to_pad(((1, 2, 3), 0), 2, (3, 3)), NotImplementedError, "Asymmetric padding"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_inputs_are_not_modified():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    y = rng.standard_normal((2, 3, 4, 4))
    before = [a.copy() for a in (x, w, y)]
    ac.conv2d_grad_wrt_inputs(y, w, x.shape)
    ac.conv2d_grad_wrt_weights(x, y, w.shape)
    ac.bilinear_upsampling(x, 3)
    for a, b in zip((x, w, y), before):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- others


@pytest.mark.parametrize("ratio", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("backend", BACKENDS)
def test_bilinear_is_clamped_linear_interpolation(ratio, backend):
    """Output pixel j interpolates the input at (j - (ratio - 1) // 2) / ratio, clamped to the
    image; checked with np.interp, independently of the transposed convolution."""
    rng = np.random.default_rng(ratio)
    x = rng.standard_normal((2, 3, 5, 4))
    out = ac.bilinear_upsampling(x, ratio, backend=backend)

    def along(a, axis):
        n = a.shape[axis]
        src = np.clip((np.arange(n * ratio) - (ratio - 1) // 2) / ratio, 0, n - 1)
        return np.apply_along_axis(lambda v: np.interp(src, np.arange(n), v), axis, a)

    np.testing.assert_allclose(out, along(along(x, 2), 3), rtol=1e-12, atol=1e-12)


def test_bilinear_keeps_float32_and_integers_become_float64():
    assert ac.bilinear_upsampling(np.ones((1, 1, 2, 2), np.float32), 2).dtype == np.float32
    out = ac.bilinear_upsampling(np.ones((1, 1, 2, 2), np.int64), 2)
    assert out.dtype == np.float64 and np.all(out == 1)


@pytest.mark.parametrize(
    "mode", ["valid", "full", "half", ("full", "valid", "valid"), ("half", "full", "full")]
)
@pytest.mark.parametrize("tf", [1, 2, 3])
def test_conv3d2d_is_a_flipped_3d_convolution(mode, tf):
    rng = np.random.default_rng(tf)
    s = rng.standard_normal((2, 5, 3, 6, 5))
    f = rng.standard_normal((4, tf, 3, 3, 2))
    modes = (mode,) * 3 if isinstance(mode, str) else mode
    expected = np.zeros(0)
    pads = [reference.pads(m, (k,), (1,))[0] for m, k in zip((modes[0], modes[1], modes[1]), (tf, 3, 2))]
    expected = reference.correlate(
        s.transpose(0, 2, 1, 3, 4),
        f.transpose(0, 2, 1, 3, 4)[:, :, ::-1, ::-1, ::-1],
        pads,
        (1, 1, 1),
        (1, 1, 1),
        1,
    ).transpose(0, 2, 1, 3, 4)
    np.testing.assert_allclose(conv3d2d.conv3d(s, f, border_mode=mode), expected, rtol=1e-12, atol=1e-12)


def test_causal_conv1d_only_sees_the_past():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 12))
    w = rng.standard_normal((3, 2, 3))
    out = ac.causal_conv1d(x, w, w.shape, filter_dilation=2)
    assert out.shape == (1, 3, 12)
    x2 = x.copy()
    x2[..., 7:] = 100.0  # the future changes: outputs up to t = 6 do not
    np.testing.assert_array_equal(ac.causal_conv1d(x2, w, w.shape, filter_dilation=2)[..., :7], out[..., :7])
    expected = reference.conv(x[..., None], w[..., None], ((4, 0), (0, 0)), (1, 1), True, (2, 1), 1)[..., 0]
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_top_level_mirrors():
    assert ac.conv3d is legacyconv.conv3d
    assert ac.conv2d_transpose is legacyconv.conv2d_transpose
    assert legacyconv.nnet.conv3d2d.conv3d is conv3d2d.conv3d
    # theano.tensor.nnet's own re-exports
    assert legacyconv.nnet.abstract_conv2d is ac.conv2d
    assert legacyconv.nnet.conv2d_grad_wrt_inputs is ac.conv2d_grad_wrt_inputs


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ratio", [2, 3])
def test_bilinear_puts_nan_and_inf_where_theanos_transposed_convolutions_do(backend, ratio):
    """Non-finite input: the result is the two transposed convolutions of the definition
    (tests/reference.py), so a NaN or Inf reaches only the outputs its kernel taps reach."""
    rng = np.random.default_rng(ratio)
    x = rng.standard_normal((1, 2, 5, 4))
    x[0, 0, 2, 1] = np.nan
    x[0, 1, 0, 3] = np.inf
    out = ac.bilinear_upsampling(x, ratio, backend=backend)
    ext = np.pad(x.reshape(2, 5, 4), ((0, 0), (1, 1), (1, 1)), mode="edge")[:, None]
    kern = ac.bilinear_kernel_1D(ratio)
    pad = 2 * ratio - (ratio - 1) // 2 - 1
    rows = reference.conv_transpose(
        ext, kern[None, None, :, None], (5 * ratio, 6), ((pad, pad), (0, 0)), (ratio, 1), (1, 1), 1, True
    )
    both = reference.conv_transpose(
        rows,
        kern[None, None, None, :],
        (5 * ratio, 4 * ratio),
        ((0, 0), (pad, pad)),
        (1, ratio),
        (1, 1),
        1,
        True,
    )
    expected = both.reshape(out.shape)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(out), np.isinf(expected))
    assert 0 < np.isnan(out).sum() < out.size // 4
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", ["scipy", "tensorflow"])
def test_non_finite_gradients_take_theanos_arithmetic_on_every_backend(backend):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 2, 6, 6))
    w = rng.standard_normal((3, 2, 3, 3))
    y = rng.standard_normal((2, 3, 3, 3))
    x[0, 1, 0, 0] = np.inf
    y[1, 2, 1, 1] = np.nan
    kw = dict(border_mode="half", subsample=(2, 2))
    for fn, args in (
        (ac.conv2d_grad_wrt_inputs, (y, w, x.shape)),
        (ac.conv2d_grad_wrt_weights, (x, y, w.shape)),
    ):
        np.testing.assert_array_equal(fn(*args, **kw, backend=backend), fn(*args, **kw))


@pytest.mark.parametrize("cache_bytes", [4 * 2**20, 0])
def test_upsampling_operators_are_kept_read_only_and_repeat_their_results(cache_bytes, monkeypatch):
    """Kept operators (or, above the size bound, rebuilt ones) are read-only, and a call that
    reuses them gives the bits of the first call (the interpolation itself: the test above)."""
    from legacyconv import upsampling

    monkeypatch.setattr(upsampling, "_OPERATOR_CACHE_BYTES", cache_bytes)
    upsampling._cached_integer_operator.cache_clear()
    upsampling._cached_frac_operator.cache_clear()
    x = np.random.default_rng(7).standard_normal((2, 3, 5, 6)).astype(np.float32)
    first = [ac.bilinear_upsampling(x, 2), ac.frac_bilinear_upsampling(x, (3, 2))]
    again = [ac.bilinear_upsampling(x, 2), ac.frac_bilinear_upsampling(x, (3, 2))]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    ops = [
        upsampling._integer_operator(5, 2, 3, np.dtype(np.float32)),
        upsampling._frac_operator(6, 3, 2, np.dtype(np.float32)),
    ]
    assert not any(op.flags.writeable for op in ops)
    kept = (
        upsampling._cached_integer_operator.cache_info().currsize
        + upsampling._cached_frac_operator.cache_info().currsize
    )
    assert (kept > 0) == (cache_bytes > 0)
