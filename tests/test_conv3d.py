"""conv3d against real Theano 1.0.5 (golden) on every engine, and against the naive reference
(tests/reference.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import legacyconv
from legacyconv import LegacyconvError, conv3d

import reference
from golden import assert_matches_theano, cases

BACKENDS = ["numpy", "scipy", "tensorflow"]
CASES = cases("conv3d")


def naive_conv3d(x, w, mode, stride, dilation, groups, flip):
    return reference.conv(x, w, mode, stride, flip, dilation, groups)


def test_golden_file_has_the_cases():
    assert len(CASES) >= 3


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_theano(case, backend):
    assert_matches_theano(conv3d, case, backend=backend)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_naive_reference_agrees_with_theano(case):
    ref = naive_conv3d(*case["inputs"], case["kwargs"]["border_mode"], (1, 1, 1), (1, 1, 1), 1, True)
    np.testing.assert_allclose(ref, case["expected"], rtol=1e-5, atol=1e-5)


@st.composite
def conv3d_args(draw):
    groups = draw(st.integers(1, 2))
    cg = draw(st.integers(1, 2))
    og = draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(3))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(3))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(3))
    mode = draw(st.sampled_from(["valid", "full", "half"]) | st.tuples(*(st.integers(0, 2),) * 3))
    size = tuple(draw(st.integers(1, 5)) for _ in range(3))
    pads = (
        mode
        if isinstance(mode, tuple)
        else [
            {"valid": 0, "full": (k - 1) * d, "half": ((k - 1) * d + 1) // 2}[mode]
            for k, d in zip(kernel, dilation)
        ]
    )
    assume(all(n + 2 * p >= (k - 1) * d + 1 for n, p, k, d in zip(size, pads, kernel, dilation)))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    x = rng.standard_normal((2, groups * cg) + size)
    w = rng.standard_normal((groups * og, cg) + kernel)
    return x, w, mode, stride, dilation, groups, draw(st.booleans())


def _call(args, backend="numpy"):
    x, w, mode, stride, dilation, groups, flip = args
    return conv3d(
        x,
        w,
        border_mode=mode,
        subsample=stride,
        filter_flip=flip,
        filter_dilation=dilation,
        num_groups=groups,
        backend=backend,
    )


@settings(max_examples=40, deadline=None)
@given(conv3d_args())
def test_numpy_matches_naive_reference(args):
    np.testing.assert_allclose(_call(args), naive_conv3d(*args), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("backend", ["scipy", "tensorflow"])
@settings(max_examples=10, deadline=None)
@given(args=conv3d_args())
def test_other_engines_match_naive_reference(backend, args):
    np.testing.assert_allclose(_call(args, backend), naive_conv3d(*args), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_strided_views_not_modified(backend):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 6, 5, 7)).astype(np.float32)
    w = rng.standard_normal((4, 3, 2, 3, 2)).astype(np.float32)
    before_x, before_w = x.copy(), w.copy()
    view = x[:, :, ::-1, :, ::2]
    out = conv3d(view, w[:, :, :, ::-1], border_mode=(1, 0, 1), subsample=(2, 1, 1), backend=backend)
    assert out.dtype == np.float32
    ref = naive_conv3d(
        view.astype(np.float64), w[:, :, :, ::-1].astype(np.float64), (1, 0, 1), (2, 1, 1), (1, 1, 1), 1, True
    )
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(x, before_x)
    np.testing.assert_array_equal(w, before_w)


def test_mirror():
    assert legacyconv.nnet.conv3d is conv3d


X = np.ones((1, 2, 4, 4, 4))
W = np.ones((3, 2, 2, 2, 2))


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (
            (X[0], W),
            {},
            r"input must be a 5-d array \(batch, channels, depth, rows, cols\). Received: input.shape=\(2, 4, 4, 4\)",
        ),
        ((X, W[0]), {}, r"filters must be a 5-d array"),
        (
            (X, np.ones((3, 4, 2, 2, 2))),
            {},
            r"same stack size: input.shape=\(1, 2, 4, 4, 4\) has 2 channels, filters.shape=\(3, 4, 2, 2, 2\) expects 4",
        ),
        ((X, W), {"num_groups": 2}, r"number of filters must be divisible by num_groups"),
        ((X, np.ones((3, 2, 5, 2, 2))), {}, r"impossible output shape"),
        ((X, W), {"subsample": (1, 1)}, r"subsample must be a tuple of 3 positive integers"),
        ((X, W), {"border_mode": (1, 1)}, r"border_mode must be"),
        (
            (X, W),
            {"input_shape": (1, 2, 4, 4, 5)},
            r"input_shape=\(1, 2, 4, 4, 5\) but input.shape=\(1, 2, 4, 4, 4\)",
        ),
        ((X, W), {"backend": "torch"}, r"backend must be one of"),
    ],
)
def test_bad_arguments(args, kwargs, match):
    with pytest.raises(LegacyconvError, match=match):
        conv3d(*args, **kwargs)


@pytest.mark.parametrize("backend", ["numpy", "scipy", "tensorflow"])
def test_asymmetric_padding_beyond_theano_is_zero_padding(backend):
    """Theano raised NotImplementedError for asymmetric 3-D padding; legacyconv computes it
    (README, "Beyond Theano") as the valid convolution of the zero-padded input."""
    if backend == "tensorflow":
        pytest.importorskip("tensorflow")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4, 5, 3))
    w = rng.standard_normal((2, 3, 2, 3, 2))
    mode = ((1, 0), 2, (0, 3))
    padded = np.pad(x, ((0, 0), (0, 0), (1, 0), (2, 2), (0, 3)))
    got = legacyconv.conv3d(x, w, border_mode=mode, subsample=(1, 2, 2), backend=backend)
    expected = naive_conv3d(padded, w, "valid", (1, 2, 2), (1, 1, 1), 1, True)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
