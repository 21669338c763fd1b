"""The scipy engine (``backend='scipy'``): every conv2d / legacy conv2d / conv3d case recorded
from real Theano 1.0.5, both of its paths (FFT and direct) forced on them, the NaN/Inf pattern
of non-finite data, strided views, immutability and batch chunking. Expected values come from
Theano (golden) or from the naive reference (tests/reference.py)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import scipy.fft

import legacyconv
from legacyconv import LegacyconvError, conv2d, conv3d, workspace_limit
from legacyconv.conv import prepare_conv
from legacyconv.engines import get_engine, scipy_fft

from golden import assert_matches_theano, cases, tolerance
from reference import correlate as naive_correlate
from reference import pads as theano_pads

OPS = {
    "conv2d": conv2d,
    "legacy_conv2d": legacyconv.nnet.conv.conv2d,
    "conv3d": conv3d,
}
CASES = cases(*OPS)
VALUE_CASES = [c for c in CASES if "error" not in c]
ERROR_CASES = [c for c in CASES if "error" in c]
RNG = np.random.default_rng(20240611)


def assert_same_nonfinite_pattern(got, expected):
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(expected))
    finite = np.isfinite(expected)
    tol = 1e-4 if got.dtype == np.float32 else 1e-10
    scale = max(1.0, float(np.abs(expected[finite]).max(initial=0.0)))
    np.testing.assert_allclose(got[finite], expected[finite], rtol=tol, atol=tol * scale)


# --- Theano's golden cases ---------------------------------------------------------------------


def test_engine_is_registered_and_lazy():
    assert get_engine("scipy") is scipy_fft
    assert {c["op"] for c in CASES} == set(OPS) and len(VALUE_CASES) >= 130 and ERROR_CASES


@pytest.mark.parametrize("case", VALUE_CASES, ids=[c["name"] for c in VALUE_CASES])
def test_matches_theano(case):
    assert_matches_theano(OPS[case["op"]], case, backend="scipy")


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c["name"] for c in ERROR_CASES])
def test_raises_where_theano_raised(case):
    with pytest.raises(LegacyconvError):
        OPS[case["op"]](*case["inputs"], backend="scipy", **case["kwargs"])


def _prepared(case):
    nd = 3 if case["op"] == "conv3d" else 2
    kwargs = dict(case["kwargs"])
    if case["op"] == "legacy_conv2d":
        kwargs["input_shape"] = kwargs.pop("image_shape")
    return prepare_conv(*case["inputs"], nd, **kwargs)


@pytest.mark.parametrize("method", ["fft", "direct"])
@pytest.mark.parametrize("case", VALUE_CASES, ids=[c["name"] for c in VALUE_CASES])
def test_each_path_matches_theano(case, method):
    args = _prepared(case)
    out = scipy_fft.correlate(
        args.x, args.w, args.pads, args.strides, args.dilations, args.groups, method=method
    )
    assert out.dtype == args.x.dtype == case["dtype"]
    np.testing.assert_allclose(out, case["expected"], **tolerance(out.dtype, case["expected"]))


def test_auto_uses_both_paths_on_the_golden_cases():
    picked = {
        scipy_fft.choose_method(a.x.shape, a.w.shape, a.pads, a.strides, a.dilations, a.groups)
        for a in map(_prepared, VALUE_CASES)
    }
    assert picked == {"fft", "direct"}


# --- the rule that picks the path ----------------------------------------------------------------


@pytest.mark.parametrize(
    "x_shape, w_shape, expected",
    [
        ((1, 1, 5, 5), (1, 1, 3, 3), "direct"),  # one tiny plane: FFT set-up costs more
        ((64, 20, 12, 12), (50, 20, 5, 5), "fft"),  # many channels: sums in the frequency domain
        ((4, 8, 128, 128), (8, 8, 15, 15), "fft"),  # big kernel
        ((2, 4, 8, 8, 8), (4, 4, 3, 3, 3), "fft"),
    ],
)
def test_cost_model_choice(x_shape, w_shape, expected):
    nd = len(x_shape) - 2
    args = ((1, 1),) * nd, (1,) * nd, (1,) * nd, 1
    seconds = scipy_fft.estimate_seconds(x_shape, w_shape, *args)
    assert set(seconds) == {"fft", "direct"} and all(t > 0 for t in seconds.values())
    assert scipy_fft.choose_method(x_shape, w_shape, *args) == expected


def test_unknown_method_is_rejected():
    x, w = np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2))
    with pytest.raises(
        LegacyconvError, match=r"method must be one of \{'auto', 'fft', 'direct'\}. Received: method='gemm'"
    ):
        scipy_fft.correlate(x, w, ((0, 0), (0, 0)), (1, 1), (1, 1), 1, method="gemm")


# --- NaN and infinity ------------------------------------------------------------------------------

NONFINITE = [
    # (x shape, w shape, pads, strides, dilations, groups)
    ((2, 3, 9, 8), (4, 3, 3, 3), ((2, 2), (2, 2)), (1, 1), (1, 1), 1),
    ((1, 4, 11, 10), (4, 2, 3, 2), ((1, 0), (2, 1)), (2, 3), (2, 1), 2),
    ((2, 8, 24, 24), (8, 8, 5, 5), ((4, 4), (4, 4)), (1, 1), (1, 1), 1),  # FFT-sized when finite
    ((1, 2, 5, 6, 5), (2, 2, 2, 3, 2), ((1, 1), (0, 2), (1, 0)), (1, 2, 1), (2, 1, 1), 1),
]


def _sprinkle(a, rng, values):
    a = a.copy()
    flat = a.reshape(-1)
    for v in values:
        flat[rng.integers(flat.size)] = v
    return a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spec", NONFINITE, ids=[str(s[0]) for s in NONFINITE])
@pytest.mark.parametrize("where", ["input", "filters", "both"])
def test_nonfinite_pattern_matches_the_definition(spec, where, dtype):
    x_shape, w_shape, pads, strides, dils, groups = spec
    rng = np.random.default_rng(zlib.crc32(repr((x_shape, where, np.dtype(dtype).name)).encode()))
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    if where in ("input", "both"):
        x = _sprinkle(x, rng, [np.nan, np.inf, -np.inf, np.inf])
    if where in ("filters", "both"):
        w = _sprinkle(w, rng, [np.inf, -np.inf])
    x_before, w_before = x.copy(), w.copy()
    expected = naive_correlate(x, w, pads, strides, dils, groups)
    assert not np.isfinite(expected).all()  # the case really exercises non-finite arithmetic
    for method in ("auto", "direct"):
        got = scipy_fft.correlate(x, w, pads, strides, dils, groups, method=method)
        assert got.dtype == dtype
        assert_same_nonfinite_pattern(got, expected)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(w, w_before)


def test_infinite_weight_times_padding_is_nan_like_the_numpy_engine():
    x = np.ones((1, 1, 3, 3), np.float32)
    w = np.zeros((1, 1, 3, 3), np.float32)
    w[0, 0, 0, 0] = np.inf
    got = conv2d(x, w, border_mode="full", filter_flip=False, backend="scipy")
    ref = conv2d(x, w, border_mode="full", filter_flip=False, backend="numpy")
    # Output (i, j) multiplies the infinite tap by padded input (i, j): inf where the padded
    # input is 1, NaN where it is a padding zero.
    expected = np.full((5, 5), np.nan, np.float32)
    expected[2:, 2:] = np.inf
    assert_same_nonfinite_pattern(got[0, 0], expected)
    assert_same_nonfinite_pattern(got, ref)


def test_dilation_never_multiplies_by_inserted_zeros():
    # With dilation 2, output 0 reads inputs 0, 2, 4: the infinity at input 1 sits between taps.
    x = np.ones((1, 1, 1, 5))
    x[0, 0, 0, 1] = np.inf
    w = np.ones((1, 1, 1, 3))
    got = scipy_fft.correlate(x, w, ((0, 0), (0, 0)), (1, 1), (1, 2), 1)
    np.testing.assert_array_equal(got[0, 0, 0], [3.0])
    x[0, 0, 0, 2] = np.nan
    assert np.isnan(scipy_fft.correlate(x, w, ((0, 0), (0, 0)), (1, 1), (1, 2), 1)).all()


def test_forced_fft_on_finite_data_equals_the_direct_path():
    x = RNG.standard_normal((2, 8, 24, 24))
    w = RNG.standard_normal((8, 8, 5, 5))
    args = ((4, 4), (4, 4)), (1, 1), (1, 1), 1
    np.testing.assert_allclose(
        scipy_fft.correlate(x, w, *args, method="fft"),
        scipy_fft.correlate(x, w, *args, method="direct"),
        rtol=1e-10,
        atol=1e-10,
    )


# --- layouts, dtypes, immutability ----------------------------------------------------------------


def _views(x):
    """The same values as ``x`` in awkward memory layouts."""
    yield "fortran", np.asfortranarray(x)
    big = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), x.dtype)
    big[..., ::2] = x
    yield "strided", big[..., ::2]
    rev = np.ascontiguousarray(x[..., ::-1, ::-1])
    yield "negative strides", rev[..., ::-1, ::-1]
    yield (
        "transposed",
        np.ascontiguousarray(x.transpose(1, 0, *range(2, x.ndim))).transpose(1, 0, *range(2, x.ndim)),
    )


@pytest.mark.parametrize("method", ["auto", "fft", "direct"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_awkward_layouts_give_the_same_result(method, dtype):
    x = RNG.standard_normal((2, 4, 9, 7)).astype(dtype)
    w = RNG.standard_normal((6, 2, 3, 2)).astype(dtype)
    args = ((1, 2), (0, 1)), (2, 1), (1, 2), 2
    expected = naive_correlate(x, w, *args)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for (xname, xv), (wname, wv) in zip(_views(x), _views(w)):
        assert not (xv.flags.c_contiguous and wv.flags.c_contiguous), (xname, wname)
        xb, wb = xv.copy(), wv.copy()
        got = scipy_fft.correlate(xv, wv, *args, method=method)
        assert got.dtype == dtype and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * 10, err_msg=f"{xname}/{wname}")
        np.testing.assert_array_equal(xv, xb)
        np.testing.assert_array_equal(wv, wb)


def test_public_api_with_views_and_mixed_dtypes():
    x = RNG.standard_normal((3, 2, 6, 8, 5)).astype(np.float32)[:, :, ::-1, ::2]
    w = RNG.standard_normal((2, 2, 2, 3, 2)).astype(np.float32)
    out = conv3d(x, w, border_mode="half", subsample=(1, 2, 1), backend="scipy")
    assert out.dtype == np.float32
    ref = naive_correlate(
        x, w[:, :, ::-1, ::-1, ::-1], theano_pads("half", (2, 3, 2), (1, 1, 1)), (1, 2, 1), (1, 1, 1), 1
    )
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    out64 = conv2d(RNG.integers(-3, 4, (2, 3, 7, 7)), RNG.standard_normal((2, 3, 3, 3)), backend="scipy")
    assert out64.dtype == np.float64


def test_one_dimensional_problems():
    x = RNG.standard_normal((2, 3, 17))
    w = RNG.standard_normal((4, 3, 4))
    for method in ("fft", "direct"):
        got = scipy_fft.correlate(x, w, ((2, 1),), (2,), (3,), 1, method=method)
        np.testing.assert_allclose(
            got, naive_correlate(x, w, ((2, 1),), (2,), (3,), 1), rtol=1e-12, atol=1e-12
        )


def test_empty_and_zero_channel_problems():
    w = np.ones((3, 0, 2, 2))
    got = scipy_fft.correlate(np.ones((2, 0, 4, 4)), w, ((0, 0), (0, 0)), (1, 1), (1, 1), 1)
    np.testing.assert_array_equal(got, np.zeros((2, 3, 3, 3)))
    assert conv2d(np.ones((0, 2, 5, 5)), np.ones((3, 2, 2, 2)), backend="scipy").shape == (0, 3, 4, 4)


@pytest.mark.parametrize("matmul_min", [1, 10**9], ids=["matmul", "loop"])
@pytest.mark.parametrize(
    "x_shape, w_shape, strides, groups",
    [
        ((4, 16, 10, 10), (16, 16, 3, 3), (1, 1), 1),  # the size where auto picks the matmul
        ((3, 8, 11, 9), (8, 4, 3, 2), (2, 3), 2),  # stride phases as extra channels
    ],
)
def test_both_channel_mixing_formulations(monkeypatch, x_shape, w_shape, strides, groups, matmul_min):
    x = RNG.standard_normal(x_shape)
    w = RNG.standard_normal(w_shape)
    args = ((1, 2), (2, 0)), strides, (1, 2), groups
    expected = naive_correlate(x, w, *args)
    monkeypatch.setattr(scipy_fft, "_MATMUL_MIN", matmul_min)
    for dtype, tol in [(np.float64, 1e-12), (np.float32, 1e-5)]:
        got = scipy_fft.correlate(x.astype(dtype), w.astype(dtype), *args, method="fft")
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * np.abs(expected).max())


# --- precision and memory -------------------------------------------------------------------------


def test_float32_fft_precision_on_a_larger_problem():
    x = RNG.standard_normal((2, 6, 40, 36)).astype(np.float32)
    w = RNG.standard_normal((5, 6, 9, 9)).astype(np.float32)
    args = ((8, 8), (8, 8)), (1, 1), (1, 1), 1
    got = scipy_fft.correlate(x, w, *args, method="fft")
    assert got.dtype == np.float32
    ref = naive_correlate(x, w, *args)
    np.testing.assert_allclose(got, ref, **tolerance(np.float32, ref))


class _SpyRfftn:
    """Wraps scipy.fft.rfftn and records (batch size, spectrum bytes) of every transform."""

    def __init__(self):
        self.real = scipy.fft.rfftn
        self.calls = []

    def __call__(self, a, *args, **kwargs):
        out = self.real(a, *args, **kwargs)
        self.calls.append((a.shape[0], out.nbytes))
        return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tiny_workspace_limit_chunks_the_batch(monkeypatch, dtype):
    x = RNG.standard_normal((20, 6, 30, 26)).astype(dtype)
    w = RNG.standard_normal((4, 3, 7, 5)).astype(dtype)
    args = ((3, 3), (2, 2)), (1, 1), (1, 1), 2
    spy = _SpyRfftn()
    monkeypatch.setattr(scipy.fft, "rfftn", spy)
    whole = scipy_fft.correlate(x, w, *args, method="fft")
    assert len(spy.calls) == 2  # weights, then the whole batch at once
    spy.calls.clear()
    with workspace_limit(2**20):
        chunked = scipy_fft.correlate(x, w, *args, method="fft")
    batches = [b for b, _ in spy.calls[1:]]
    assert len(batches) > 2 and sum(batches) == 20
    assert max(nbytes for _, nbytes in spy.calls[1:]) < 2**20 / 2  # spectrum + its mix
    # Same per-image transforms, same mixing formulation: the same bits.
    np.testing.assert_array_equal(chunked, whole)
    np.testing.assert_allclose(whole, naive_correlate(x, w, *args), **tolerance(dtype, whole))
