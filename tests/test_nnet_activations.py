"""nnet activations and cross-entropies against real Theano 1.0.5 (tests/data/theano_nnet_reference.*,
recorded by tests/data/record_nnet.py with floatX equal to the input's float dtype)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from legacyconv import LegacyconvError, nnet
from legacyconv._errors import LegacyconvTypeError

from golden import assert_matches_theano, cases, tight_tolerance

SOURCE = "theano_nnet_reference"
ELEMENTWISE = ("sigmoid", "ultra_fast_sigmoid", "hard_sigmoid", "softplus", "softsign", "relu", "elu", "selu")
LOSSES = ("categorical_crossentropy", "binary_crossentropy", "sigmoid_binary_crossentropy")


def _ids(cs):
    return [c["name"] for c in cs]


ACTIVATION_CASES = cases(*ELEMENTWISE, "softmax", "logsoftmax", source=SOURCE)
LOSS_CASES = cases(*LOSSES, source=SOURCE)


@pytest.mark.parametrize("case", ACTIVATION_CASES + LOSS_CASES, ids=_ids(ACTIVATION_CASES + LOSS_CASES))
def test_matches_theano(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert_matches_theano(getattr(nnet, case["op"]), case, tol=tight_tolerance)


SATURATING = [c for c in cases("sigmoid", "softplus", source=SOURCE) if "/tensor" not in c["name"]]


@pytest.mark.parametrize("case", SATURATING, ids=_ids(SATURATING))
def test_saturation_branches_are_exact(case):
    """Where Theano's C code returned a constant or x itself, the result is bit-identical."""
    x = case["inputs"][0]
    dtype = case["dtype"]
    if x.dtype.kind in "iu":
        lo, hi = -30.0, 30.0
    else:
        table = {
            "sigmoid": {4: (-88.0, 15.0), 8: (-709.0, 19.0)},
            "softplus": {4: (-103.0, 14.0), 8: (-745.0, 16.0)},
        }
        lo, hi = table[case["op"]][dtype.itemsize]
    mask = (x < lo) | (x > hi)
    assert mask.any()
    out = getattr(nnet, case["op"])(x)
    np.testing.assert_array_equal(out[mask], case["expected"][mask])
    expected_hi = 1.0 if case["op"] == "sigmoid" else x[x > hi].astype(dtype)
    np.testing.assert_array_equal(out[x > hi], np.broadcast_to(expected_hi, out[x > hi].shape))
    assert np.all(out[x < lo] == 0)


def test_sigmoid_limits_per_dtype():
    # float64: exactly 1 only above 19; float32: above 15 (Theano's C-code constants)
    assert nnet.sigmoid(np.float64(18.99)) < 1.0
    assert nnet.sigmoid(np.float64(19.01)) == 1.0
    assert nnet.sigmoid(np.float32(15.01)) == np.float32(1.0)
    assert nnet.softplus(np.float64(16.5)) == 16.5
    assert nnet.softplus(np.float64(15.5)) != 15.5


@pytest.mark.parametrize(
    "dtype, expected",
    [
        ("float32", "float32"),
        ("float64", "float64"),
        ("float16", "float16"),
        ("int8", "float32"),
        ("uint16", "float32"),
        ("int32", "float64"),
        ("int64", "float64"),
        ("bool", "float32"),
    ],
)
@pytest.mark.parametrize("op", ELEMENTWISE)
def test_result_dtype_is_theanos_upgrade_to_float(op, dtype, expected):
    x = np.array([0, 1, 1, 0]).astype(dtype)
    assert getattr(nnet, op)(x).dtype == np.dtype(expected)


def test_independent_formulas():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7)) * 4
    np.testing.assert_allclose(nnet.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(nnet.hard_sigmoid(x), np.clip(0.2 * x + 0.5, 0, 1), rtol=1e-14)
    np.testing.assert_allclose(nnet.relu(x, 0.3), np.where(x > 0, x, 0.3 * x), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(nnet.softsign(x), x / (1 + np.abs(x)), rtol=1e-15)
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(nnet.softmax(x), e / e.sum(1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(nnet.logsoftmax(x), np.log(e / e.sum(1, keepdims=True)), rtol=1e-13)
    # ultra_fast_sigmoid's piecewise tanh stays within 0.03 of sigmoid
    assert np.max(np.abs(nnet.ultra_fast_sigmoid(x) - nnet.sigmoid(x))) < 0.03
    p = nnet.sigmoid(x)
    t = (x > 0.5).astype(float)
    np.testing.assert_allclose(
        nnet.sigmoid_binary_crossentropy(x, t), nnet.binary_crossentropy(p, t), rtol=1e-10
    )


def test_relu_alpha_array_broadcasts_and_promotes():
    x = np.array([[-2.0, 3.0], [-1.0, -4.0]], np.float32)
    out = nnet.relu(x, np.array([0.5, 0.25]))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [[-1.0, 3.0], [-0.5, -1.0]])
    with pytest.raises(
        LegacyconvError, match=r"x and alpha must have shapes that broadcast.*\(2, 2\).*\(3,\)"
    ):
        nnet.relu(x, np.ones(3))


def test_softmax_vector_becomes_a_row_with_a_warning():
    with pytest.warns(UserWarning, match="one row"):
        out = nnet.softmax(np.array([1.0, 2.0]))
    assert out.shape == (1, 2)


@pytest.mark.parametrize("op", ["softmax", "logsoftmax"])
@pytest.mark.parametrize("x", [np.zeros((2, 3, 4)), np.zeros((2, 3), np.int32), np.float64(1.0)])
def test_softmax_rejects_what_theano_rejected(op, x):
    with pytest.raises(LegacyconvError, match="1-d or 2-d array of floats"):
        getattr(nnet, op)(x)


def test_categorical_crossentropy_errors():
    p = np.full((2, 3), 1 / 3)
    with pytest.raises(LegacyconvTypeError, match="int32 or int64"):
        nnet.categorical_crossentropy(p, np.array([0, 1], np.int8))
    with pytest.raises(TypeError, match="rank mismatch"):
        nnet.categorical_crossentropy(p, np.zeros((2, 3, 1)))
    with pytest.raises(LegacyconvError, match=r"one class index per row.*\(2, 3\).*\(3,\)"):
        nnet.categorical_crossentropy(p, np.array([0, 1, 2]))
    with pytest.raises(LegacyconvError, match=r"\[-3, 3\)"):
        nnet.categorical_crossentropy(p, np.array([0, 3]))


def test_inputs_are_not_modified():
    x = np.linspace(-40, 40, 12).reshape(3, 4)
    before = x.copy()
    for op in ELEMENTWISE + ("softmax", "logsoftmax"):
        getattr(nnet, op)(x)
    nnet.categorical_crossentropy(nnet.softmax(x), np.array([0, 1, 2]))
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda: nnet.binary_crossentropy(np.full((2, 3), 0.5), np.ones(2)),
            r"output and target must have shapes",
        ),
        (
            lambda: nnet.sigmoid_binary_crossentropy(np.zeros((2, 3)), np.ones((3, 2))),
            r"output\.shape=\(2, 3\)",
        ),
        (
            lambda: nnet.categorical_crossentropy(np.full((2, 3), 0.3), np.ones((2, 4))),
            r"true_dist\.shape=\(2, 4\)",
        ),
        (lambda: nnet.elu(np.zeros((2, 3)), np.ones(2)), r"x and alpha must have shapes that broadcast"),
    ],
)
def test_elementwise_inputs_that_do_not_broadcast_are_named(call, match):
    # NumPy raised 'operands could not be broadcast together' from inside the ufunc
    with pytest.raises(LegacyconvError, match=match):
        call()


def test_non_numeric_inputs_are_legacyconv_type_errors():
    for call in (
        lambda: nnet.sigmoid("x"),
        lambda: nnet.softmax(None),
        lambda: nnet.relu([[1.0], [2.0, 3.0]]),
    ):
        with pytest.raises(LegacyconvTypeError, match="x must"):
            call()
