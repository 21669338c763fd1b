"""pool_2d against real Theano 1.0.5 (golden) on every backend, and against the naive loop
reference (tests/reference.py) written from Theano's definition (``Pool.out_shape`` and ``Pool.perform``)."""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import legacyconv
from legacyconv import LegacyconvError
from legacyconv.engines import numpy_gemm
from legacyconv.pool import pool_2d
from legacyconv.signal import pool as signal_pool

from golden import cases, tolerance
from reference import pool as naive_pool

BACKENDS = ["numpy", "scipy", "tensorflow"]
MODES = ["max", "sum", "average_inc_pad", "average_exc_pad"]
CASES = cases("pool_2d")


# --------------------------------------------------------------------------- golden


def test_golden_file_has_the_cases():
    assert len(CASES) >= 28
    assert {c["kwargs"]["mode"] for c in CASES} == set(MODES)
    assert {c["kwargs"]["ignore_border"] for c in CASES} == {True, False}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_theano(case, backend):
    (x,) = case["inputs"]
    before = x.copy()
    out = pool_2d(x, **case["kwargs"], backend=backend)
    assert out.dtype == case["dtype"]
    assert out.shape == case["expected"].shape
    np.testing.assert_allclose(out, case["expected"], **tolerance(out.dtype, case["expected"]))
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_naive_reference_agrees_with_theano(case):
    # The reference used by the property tests is itself checked against Theano.
    (x,) = case["inputs"]
    k = case["kwargs"]
    ref = naive_pool(x, k["ws"], k["ignore_border"], k["stride"], k["pad"], k["mode"])
    np.testing.assert_allclose(ref, case["expected"], rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- properties


@st.composite
def pool_args(draw, max_size=7):
    ws = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = draw(st.none() | st.tuples(st.integers(1, 4), st.integers(1, 4)))
    ignore_border = draw(st.booleans())
    pad = (0, 0)
    if ignore_border:
        pad = (draw(st.integers(0, ws[0] - 1)), draw(st.integers(0, ws[1] - 1)))
    mode = draw(st.sampled_from(MODES))
    lead = draw(st.sampled_from([(), (2,), (1, 3), (2, 1, 2)]))
    shape = lead + (draw(st.integers(1, max_size)), draw(st.integers(1, max_size)))
    seed = draw(st.integers(0, 2**31 - 1))
    x = np.random.default_rng(seed).standard_normal(shape)
    return x, ws, ignore_border, stride, pad, mode


@settings(max_examples=60, deadline=None)
@given(pool_args())
def test_numpy_matches_naive_reference(args):
    x, ws, ignore_border, stride, pad, mode = args
    out = pool_2d(x, ws, ignore_border, stride, pad, mode)
    ref = naive_pool(x, ws, ignore_border, stride, pad, mode)
    assert out.shape == ref.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(pool_args(max_size=6))
def test_tensorflow_matches_naive_reference(args):
    x, ws, ignore_border, stride, pad, mode = args
    out = pool_2d(x, ws, ignore_border, stride, pad, mode, backend="tensorflow")
    ref = naive_pool(x, ws, ignore_border, stride, pad, mode)
    assert out.shape == ref.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", MODES)
def test_float32_and_strided_views(mode, backend):
    x = np.random.default_rng(1).standard_normal((2, 3, 9, 11)).astype(np.float32)
    view = x[:, ::-1, 1::2, ::-1]  # non-contiguous, negative strides
    before = x.copy()
    out = pool_2d(view, (3, 2), True, (2, 1), (1, 1), mode, backend=backend)
    ref = naive_pool(view, (3, 2), True, (2, 1), (1, 1), mode)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(x, before)


# --------------------------------------------------------------------------- Theano specifics


def test_ignore_border_none_warns_and_means_false():
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    with pytest.warns(UserWarning, match="ignore_border"):
        out = pool_2d(x, (2, 2))
    assert out.shape == (1, 1, 3, 3)
    np.testing.assert_array_equal(out, pool_2d(x, (2, 2), ignore_border=False))


def test_explicit_ignore_border_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pool_2d(np.ones((4, 4)), (2, 2), ignore_border=True)


def test_ceil_mode_example():
    # 5x5, ws=2: Theano keeps the clipped last row/column; averages divide by the clipped size.
    x = np.arange(25.0).reshape(5, 5)
    np.testing.assert_array_equal(
        pool_2d(x, (2, 2), False, mode="average_inc_pad")[2],
        [(20 + 21) / 2, (22 + 23) / 2, 24.0],
    )
    assert pool_2d(x, (3, 3), False, (2, 2)).shape == (2, 2)  # windows at 0, 2 cover the end
    assert pool_2d(np.ones((6, 6)), (3, 3), False, (2, 2)).shape == (3, 3)


def test_padding_is_never_the_max_and_average_divisors():
    x = -np.ones((1, 1, 2, 2))
    assert np.all(pool_2d(x, (2, 2), True, (1, 1), (1, 1), "max") == -1)
    inc = pool_2d(x, (2, 2), True, (2, 2), (1, 1), "average_inc_pad")
    exc = pool_2d(x, (2, 2), True, (2, 2), (1, 1), "average_exc_pad")
    np.testing.assert_array_equal(inc, np.full((1, 1, 2, 2), -0.25))  # one cell of four
    np.testing.assert_array_equal(exc, np.full((1, 1, 2, 2), -1.0))


def test_image_smaller_than_window_with_ignore_border_is_empty():
    assert pool_2d(np.ones((2, 3, 1, 5)), (2, 2), True).shape == (2, 3, 0, 2)


@pytest.mark.parametrize("shape", [(5, 6), (3, 5, 6), (2, 2, 2, 5, 6)])
def test_any_rank_pools_the_last_two_axes(shape):
    x = np.random.default_rng(2).standard_normal(shape)
    out = pool_2d(x, (2, 3), False, mode="average_exc_pad")
    assert out.shape == shape[:-2] + (3, 2)
    np.testing.assert_allclose(out, naive_pool(x, (2, 3), False, None, (0, 0), "average_exc_pad"))


@pytest.mark.parametrize("backend", ["numpy", "tensorflow"])
def test_integer_input_keeps_dtype_truncates_and_wraps(backend):
    x = np.array([[[-3, -2, 5], [4, -4, 7]]], dtype=np.int8)  # (1, 2, 3)
    avg = pool_2d(x, (2, 2), False, mode="average_exc_pad", backend=backend)
    assert avg.dtype == np.int8
    # Theano assigned np.average into an int array: -5 / 4 truncates toward zero to -1
    np.testing.assert_array_equal(avg, [[[-1, 6]]])
    big = np.full((1, 2, 2), 100, dtype=np.int8)
    total = pool_2d(big, (2, 2), True, mode="sum", backend=backend)
    np.testing.assert_array_equal(total, np.array([[[400]]]).astype(np.int8))  # wraps to -112
    mx = pool_2d(x, (1, 2), False, backend=backend)
    np.testing.assert_array_equal(mx, [[[-2, 5], [4, 7]]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_float16_in_float16_out(backend):
    x = np.random.default_rng(3).standard_normal((2, 6, 6)).astype(np.float16)
    out = pool_2d(x, (2, 2), True, mode="average_inc_pad", backend=backend)
    assert out.dtype == np.float16
    np.testing.assert_allclose(
        out,
        naive_pool(x.astype(np.float64), (2, 2), True, None, (0, 0), "average_inc_pad"),
        rtol=2e-3,
        atol=2e-3,
    )


NAN_DATA = Path(__file__).parent / "data" / "theano_pool_nan.npz"  # tests/data/record_pool_nan.py
NAN_META = json.loads(str(np.load(NAN_DATA)["meta"]))


@pytest.mark.parametrize("backend", ["numpy", "scipy", "tensorflow"])
@pytest.mark.parametrize("case", NAN_META["cases"], ids=[c["name"] for c in NAN_META["cases"]])
def test_max_keeps_nan_only_in_the_first_cell_like_theano(case, backend):
    """Theano 1.0.5's C code: running maximum from the window's first image cell, ``a > collector``."""
    if backend == "tensorflow":
        pytest.importorskip("tensorflow")
    data = np.load(NAN_DATA)
    x, expected = data[case["input"]], data[case["name"]]
    x0 = x.copy()
    stride = None if case["stride"] is None else tuple(case["stride"])
    got = pool_2d(x, tuple(case["ws"]), case["ignore_border"], stride, tuple(case["pad"]), backend=backend)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)  # NaN where Theano had NaN, exact elsewhere
    np.testing.assert_array_equal(x, x0)


def test_recorded_nan_cases_have_nan_in_later_cells():
    data = np.load(NAN_DATA)
    np.testing.assert_array_equal(data["issue"], [[[[np.nan, 3.0]]]])
    assert np.isnan(data["x"]).mean() > 0.15


@pytest.mark.parametrize("backend", ["numpy", "tensorflow"])
def test_float16_and_all_nan_windows(backend):
    if backend == "tensorflow":
        pytest.importorskip("tensorflow")
    x = np.array([[np.nan, np.nan, 1, np.nan], [np.nan, np.nan, np.nan, 2]], np.float16)
    got = pool_2d(x, (2, 2), True, backend=backend)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, [[np.nan, 2]])


def test_deprecated_names_and_aliases():
    x = np.random.default_rng(4).standard_normal((1, 7, 7))
    expected = pool_2d(x, (3, 3), True, (2, 2), (1, 1))
    with pytest.warns(DeprecationWarning, match="ds"):
        with pytest.warns(DeprecationWarning, match="st"):
            with pytest.warns(DeprecationWarning, match="padding"):
                old = pool_2d(x, ignore_border=True, ds=(3, 3), st=(2, 2), padding=(1, 1))
    np.testing.assert_array_equal(old, expected)
    np.testing.assert_array_equal(
        pool_2d(x, (3, 3), True, mode="max_deterministic"), pool_2d(x, (3, 3), True)
    )


def test_mirrors():
    assert signal_pool.pool_2d is pool_2d
    assert legacyconv.pool_2d is pool_2d


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, r"ws \(the pooling window size\) must be given"),
        ({"ws": (2, 2), "ds": (2, 2)}, r"ws only .*Received: ws=\(2, 2\), ds=\(2, 2\)"),
        ({"ws": (2, 2), "stride": (1, 1), "st": (1, 1)}, r"stride only"),
        ({"ws": (2, 2), "pad": (1, 1), "padding": (1, 1)}, r"pad only"),
        ({"ws": (0, 2)}, r"ws must be a tuple of 2 positive integers. Received: ws=\(0, 2\)"),
        ({"ws": (2, 2, 2)}, r"ws must be a tuple of 2"),
        ({"ws": (2, 2), "stride": (2, 0)}, r"stride must be a tuple of 2 positive integers"),
        ({"ws": (2, 2), "pad": (-1, 0), "ignore_border": True}, r"pad must be a tuple of 2 integers >= 0"),
        (
            {"ws": (2, 2), "pad": (1, 0), "ignore_border": False},
            r"pad requires ignore_border=True.*pad=\(1, 0\)",
        ),
        (
            {"ws": (2, 3), "pad": (2, 0), "ignore_border": True},
            r"pad must be smaller than ws.*pad=\(2, 0\), ws=\(2, 3\)",
        ),
        ({"ws": (2, 2), "mode": "average"}, r"mode must be one of .*Received: mode='average'"),
        (
            {"ws": (2, 2), "ignore_border": 1},
            r"ignore_border must be True or False. Received: ignore_border=1",
        ),
        ({"ws": (2, 2), "backend": "torch"}, r"backend must be one of .*Received: backend='torch'"),
    ],
)
def test_bad_arguments(kwargs, match):
    kwargs = {"ignore_border": True, **kwargs}
    with pytest.raises(LegacyconvError, match=match):
        pool_2d(np.ones((1, 1, 4, 4)), **kwargs)


def test_bad_inputs():
    with pytest.raises(LegacyconvError, match=r"at least 2 dimensions.*input.shape=\(4,\)"):
        pool_2d(np.ones(4), (2, 2), True)
    with pytest.raises(TypeError, match=r"input.dtype=bool"):
        pool_2d(np.ones((4, 4), bool), (2, 2), True)
    with pytest.raises(TypeError, match=r"input.dtype=complex128"):
        pool_2d(np.ones((4, 4), complex), (2, 2), True)
    with pytest.raises(
        LegacyconvError, match=r"ignore_border=False needs images with at least one row.*\(0, 4\)"
    ):
        pool_2d(np.ones((0, 4)), (2, 2), False)


@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
def test_threaded_pooling_equals_one_thread(monkeypatch, mode):
    x = np.random.default_rng(5).standard_normal((8, 64, 40, 41)).astype(np.float32)
    kwargs = {"ws": (3, 2), "ignore_border": True, "stride": (2, 2), "pad": (1, 1), "mode": mode}
    monkeypatch.setenv("LEGACYCONV_NUM_THREADS", "1")
    one = pool_2d(x, **kwargs)
    monkeypatch.setenv("LEGACYCONV_NUM_THREADS", "3")  # 512 planes of 21x21: split in 3
    three = pool_2d(x, **kwargs)
    np.testing.assert_array_equal(one, three)
    # the last planes (another thread's share) against the naive loop of this file
    np.testing.assert_allclose(three[-1, -2:], naive_pool(x[-1, -2:], **kwargs), rtol=1e-6, atol=1e-6)


# ------------------------------------------------- numpy engine: blocks, dtypes, NaN


def _theano_max(x, ws, ignore_border, stride, pad):
    """Theano's 'max' from the naive loop: NaNs skipped, then NaN where the window's first image
    cell (row ``max(o * stride - pad, 0)``, likewise for columns) is NaN."""
    expected = naive_pool(np.where(np.isnan(x), -np.inf, x), ws, ignore_border, stride, pad, "max")
    firsts = [np.maximum(np.arange(n) * s - p, 0) for n, s, p in zip(expected.shape[-2:], stride, pad)]
    first = x[..., firsts[0][:, None], firsts[1][None, :]]
    expected[np.isnan(first)] = np.nan
    return expected


@st.composite
def engine_pool_args(draw):
    ws = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    ignore_border = draw(st.booleans())
    pad = (0, 0)
    if ignore_border:
        pad = (draw(st.integers(0, ws[0] - 1)), draw(st.integers(0, ws[1] - 1)))
    shape = (
        draw(st.integers(1, 3)),
        draw(st.integers(1, 4)),
        draw(st.integers(1, 9)),
        draw(st.integers(1, 9)),
    )
    return (
        ws,
        ignore_border,
        stride,
        pad,
        draw(st.sampled_from(MODES)),
        shape,
        draw(st.integers(0, 2**31 - 1)),
    )


@contextlib.contextmanager
def small_blocks(nbytes, threads):
    """The numpy engine's pooling blocks of ``nbytes`` input, on ``threads`` threads."""
    old, old_threads = numpy_gemm._POOL_BLOCK_BYTES, os.environ.get("LEGACYCONV_NUM_THREADS")
    numpy_gemm._POOL_BLOCK_BYTES = nbytes
    os.environ["LEGACYCONV_NUM_THREADS"] = str(threads)
    try:
        yield
    finally:
        numpy_gemm._POOL_BLOCK_BYTES = old
        if old_threads is None:
            del os.environ["LEGACYCONV_NUM_THREADS"]
        else:
            os.environ["LEGACYCONV_NUM_THREADS"] = old_threads


@settings(max_examples=80, deadline=None)
@given(engine_pool_args(), st.sampled_from([np.float32, np.float64]), st.booleans(), st.integers(1, 3))
def test_numpy_engine_blocks_match_the_reference(args, dtype, view, threads):
    """The numpy engine pools a few planes per block (many blocks, a ragged last one, claimed by
    1-3 threads): sliding windows for the windows inside the image, the clipped ones apart, the
    NaN screen and Theano's first-cell NaNs, on C-contiguous and strided inputs."""
    ws, ignore_border, stride, pad, mode, shape, seed = args
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x[rng.random(shape) < 0.05] = np.nan
    x[rng.random(shape) < 0.03] = np.inf
    x[rng.random(shape) < 0.03] = -np.inf
    if view:  # rows and columns swapped: not C-contiguous
        x = np.swapaxes(x, -1, -2)
    x0 = x.copy()
    with small_blocks(3 * x.shape[-1] * x.shape[-2] * 8, threads):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow/invalid warning from unused windows
            got = pool_2d(x, ws, ignore_border, stride, pad, mode)
    np.testing.assert_array_equal(x, x0)
    if mode == "max":
        expected = _theano_max(x.astype(np.float64), ws, ignore_border, stride, pad)
    else:
        with np.errstate(invalid="ignore"):
            expected = naive_pool(x, ws, ignore_border, stride, pad, mode)
    assert got.dtype == dtype and got.shape == expected.shape
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


@settings(max_examples=40, deadline=None)
@given(engine_pool_args(), st.sampled_from([np.int8, np.uint8, np.int16]))
@example(((3, 2), True, (2, 2), (1, 0), "average_exc_pad", (1, 2, 5, 4), 0), np.int8)  # 2-row clipped windows
def test_numpy_engine_integers_match_the_reference(args, dtype):
    """Integer inputs near their limits: window sums never overflow in the accumulator (then
    wrap on the way back to the input dtype), averages truncate toward zero, as Theano's did."""
    ws, ignore_border, stride, pad, mode, shape, seed = args
    info = np.iinfo(dtype)
    x = np.random.default_rng(seed).integers(info.min, info.max, shape, endpoint=True).astype(dtype)
    with small_blocks(2 * x.shape[-1] * x.shape[-2] * 8, 2):
        got = pool_2d(x, ws, ignore_border, stride, pad, mode)
    exact = naive_pool(x.astype(np.float64), ws, ignore_border, stride, pad, mode)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.trunc(exact).astype(np.int64).astype(dtype))


def test_numpy_engine_sliding_windows_across_rows_raise_no_warning():
    """The sliding passes also reduce windows that straddle two rows (never kept): huge finite
    values there overflow, yet the call is silent and exact."""
    x = np.zeros((2, 4, 3), np.float32)
    x[:, :, 0] = x[:, :, 2] = 3e38  # column 2 is in no window; it and the next row's column 0 overflow
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = pool_2d(x, (1, 2), True, (1, 2), mode="sum")
    np.testing.assert_array_equal(got, np.full((2, 4, 1), 3e38, np.float32))
