"""nnet.bn against real Theano 1.0.5 (tests/data/theano_nnet_reference.*) and an independent NumPy formula."""

from __future__ import annotations

import numpy as np
import pytest

from legacyconv import LegacyconvError
from legacyconv.nnet import bn

from golden import assert_matches_theano, cases, tight_tolerance

SOURCE = "theano_nnet_reference"


def train(x, gamma, beta, running_mean=None, running_var=None, *rest, **kwargs):
    """The recording passed running_mean/var (and a positional 'spatial' in two error cases)."""
    if rest or (running_var is None and running_mean is not None):
        kwargs.setdefault("axes", "spatial")
    return bn.batch_normalization_train(
        x, gamma, beta, running_mean=running_mean, running_var=running_var, **kwargs
    )


def _ids(cs):
    return [c["name"] for c in cs]


SINGLE = cases("batch_normalization", "batch_normalization_test", source=SOURCE)
TRAIN = cases("batch_normalization_train", source=SOURCE)


@pytest.mark.parametrize("case", SINGLE, ids=_ids(SINGLE))
def test_single_output_ops_match_theano(case):
    assert_matches_theano(getattr(bn, case["op"]), case, tol=tight_tolerance)


@pytest.mark.parametrize("case", TRAIN, ids=_ids(TRAIN))
def test_train_matches_theano(case):
    ins = case["inputs"]
    if len(ins) == 4:  # running_mean alone (an error case)
        ins = ins[:3] + [ins[3], None]
    originals = [a.copy() for a in ins if a is not None]
    if "error" in case:
        with pytest.raises(LegacyconvError):
            train(*ins, **case["kwargs"])
        return
    outs = train(*ins, **case["kwargs"])
    assert len(outs) == len(case["expected"])
    for out, exp, dtype in zip(outs, case["expected"], case["dtype"]):
        assert out.dtype == dtype
        assert out.shape == exp.shape
        np.testing.assert_allclose(out, exp, **tight_tolerance(dtype, exp))
    for before, after in zip(originals, [a for a in ins if a is not None]):
        np.testing.assert_array_equal(before, after)


def test_train_independent_formula():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3, 4, 2)) * 3 + 1
    g, b = rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    out, mean, invstd, new_rm, new_rv = bn.batch_normalization_train(
        x, g, b, "spatial", 1e-3, 0.25, running_mean=rm, running_var=rv
    )
    axes = (0, 2, 3)
    mu, var = x.mean(axis=axes), x.var(axis=axes)
    shape = (1, 3, 1, 1)
    ref = (x - mu.reshape(shape)) / np.sqrt(var.reshape(shape) + 1e-3) * g.reshape(shape) + b.reshape(shape)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mean, mu, rtol=1e-13)
    np.testing.assert_allclose(invstd, 1 / np.sqrt(var + 1e-3), rtol=1e-13)
    m = 5 * 4 * 2
    np.testing.assert_allclose(new_rm, 0.75 * rm + 0.25 * mu, rtol=1e-13)
    np.testing.assert_allclose(new_rv, 0.75 * rv + 0.25 * var * m / (m - 1), rtol=1e-13)
    test_out = bn.batch_normalization_test(x, g, b, mu, var, "spatial", 1e-3)
    np.testing.assert_allclose(test_out, out, rtol=1e-12, atol=1e-12)


def test_epsilon_is_checked_after_rounding_to_the_dtype():
    x = np.ones((4, 3), np.float32)
    with pytest.raises(LegacyconvError, match="epsilon must be at least 1e-5"):
        bn.batch_normalization_train(x, np.ones(3, np.float32), np.zeros(3, np.float32), epsilon=1e-5)
    bn.batch_normalization_train(x.astype(np.float64), np.ones(3), np.zeros(3), epsilon=1e-5)
    # a NumPy scalar or a 0-d array is a number, as Theano's as_tensor_variable took it
    for eps in (np.float32(1e-3), np.array(1e-3), 1):
        bn.batch_normalization_train(x, np.ones(3, np.float32), np.zeros(3, np.float32), epsilon=eps)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"axes": "per-channel"}, "axes must be 'per-activation', 'spatial'"),
        ({"axes": ()}, "at least one normalization axis"),
        ({"axes": (0, 4)}, r"axes should be less than ndim \(<4\)"),
        # NumPy's 'duplicate value in axis' and int()'s errors came from inside
        ({"axes": (0, 0)}, r"axes must hold distinct axis numbers. Received: axes=\(0, 0\)"),
        ({"axes": ("a", 2)}, "axes must hold distinct axis numbers"),
        ({"axes": [[0, 2], [3]]}, "axes must hold distinct axis numbers"),
        ({"axes": "spatial", "epsilon": "1e-4"}, "epsilon must be a number. Received: epsilon='1e-4'"),
        ({"axes": "spatial", "epsilon": np.ones(2)}, "epsilon must be a number"),
    ],
)
def test_axes_errors(kwargs, match):
    x = np.zeros((2, 3, 4, 5))
    with pytest.raises(LegacyconvError, match=match):
        bn.batch_normalization_train(x, np.ones(3), np.zeros(3), **kwargs)


def test_parameter_shape_errors_name_the_argument():
    x = np.zeros((2, 3, 4, 5))
    with pytest.raises(
        LegacyconvError, match=r"gamma must have the shape .* \(3,\)\. Received: gamma.shape=\(4,\)"
    ):
        bn.batch_normalization_test(x, np.ones(4), np.zeros(4), np.zeros(4), np.ones(4), "spatial")
    with pytest.raises(LegacyconvError, match=r"gamma must have shape \(1, 3, 1, 1\)"):
        bn.batch_normalization_train(x, np.ones((2, 3, 1, 1)), np.zeros((2, 3, 1, 1)), "spatial")
    with pytest.raises(LegacyconvError, match=r"mean must broadcast against inputs"):
        bn.batch_normalization(x, 1.0, 0.0, np.zeros(4), 1.0)
    with pytest.raises(LegacyconvError, match="mode must be one of"):
        bn.batch_normalization(x, 1.0, 0.0, 0.0, 1.0, mode="fast")
