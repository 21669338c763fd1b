"""The numpy engine's input gradient (Theano's transposed convolution) on its three paths: as a
forward correlation (stride 1, where that runs F(2x2, 3x3) or one GEMM), by output phases
(finite kernels) and by one strided add per kernel offset (kernels with NaN or Inf, 3-D images
whose phase grids would be much larger than the top). Expected values come from the
naive scatter of tests/reference.py. Chunking (cache-sized chunks, the workspace limit) keeps the
order in which every output cell sums its leading kernel offsets; BLAS may round a column
differently in a GEMM of another width, so chunked results agree to rounding."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legacyconv import workspace_limit
from legacyconv.engines import numpy_gemm
from legacyconv.grads import conv2d_grad_wrt_inputs, conv3d_grad_wrt_inputs

import reference

RNG = np.random.default_rng(15)
DATA = Path(__file__).resolve().parent / "data"
NONFINITE_TOP = json.loads((DATA / "theano_transpose_nonfinite_top.json").read_text())["cases"]


def correlate_input_grad(y, w, out_spatial, pads, strides, dilations, groups):
    return numpy_gemm.correlate_input_grad(y, w, out_spatial, pads, strides, dilations, groups)


def expected(y, w, out_spatial, pads, strides, dilations, groups):
    # the reference takes the forward filters and flips them itself: give it the correlation kernel
    with np.errstate(invalid="ignore"):
        return reference.conv_transpose(
            y, w, out_spatial, pads, strides, dilations, groups, filter_flip=False
        )


def assert_non_finite_where(out, ref):
    """NaN, +Inf and -Inf in exactly the cells where ``ref`` has them."""
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    np.testing.assert_array_equal(np.isposinf(out), np.isposinf(ref))
    np.testing.assert_array_equal(np.isneginf(out), np.isneginf(ref))


@contextlib.contextmanager
def phase_grids_only():
    """The phase grids however wide their padding (tiny tops would otherwise take the offsets)."""
    with (
        mock.patch.object(numpy_gemm, "_PHASE_MAX_GROWTH", np.inf),
        mock.patch.object(numpy_gemm, "_input_grad_by_offsets", side_effect=AssertionError("offsets path")),
    ):
        yield


@st.composite
def problems(draw):
    """A random small input gradient: any rank 1-3, stride, dilation, uneven padding, groups,
    and output sizes that leave cells no top index reaches or crop reached ones."""
    nd = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2]))
    og, cg = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = tuple(draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd)))
    strides = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    dilations = tuple(draw(st.lists(st.integers(1, 2), min_size=nd, max_size=nd)))
    pads = tuple(
        (draw(st.integers(0, (k - 1) * d)), draw(st.integers(0, (k - 1) * d)))
        for k, d in zip(kernel, dilations)
    )
    top = tuple(draw(st.lists(st.integers(1, 6 if nd < 3 else 4), min_size=nd, max_size=nd)))
    out_spatial = []
    for t, k, s, d, (lo, hi) in zip(top, kernel, strides, dilations, pads):
        # the forward input sizes that give `top`: (t - 1) * s + dk - lo - hi, plus up to s - 1
        size = (t - 1) * s + (k - 1) * d + 1 - lo - hi + draw(st.integers(0, s - 1))
        out_spatial.append(max(size, 1))
    n = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    y = rng.standard_normal((n, og * groups) + top)
    w = rng.standard_normal((og * groups, cg) + kernel)
    return y, w, tuple(out_spatial), pads, strides, dilations, groups


@settings(max_examples=150, deadline=None)
@given(problems(), st.sampled_from([1, 200, 3000]))
def test_phase_grids_equal_the_reference_in_any_chunking(problem, chunk_bytes):
    y, w, out_spatial, pads, strides, dilations, groups = problem
    y_before, w_before = y.copy(), w.copy()
    with phase_grids_only():
        whole = correlate_input_grad(*problem)
        # tiny chunks: a few images, or rows of one image (the last rows first) per chunk
        with mock.patch.object(numpy_gemm, "_PHASE_CHUNK_BYTES", chunk_bytes):
            chunked = correlate_input_grad(*problem)
    np.testing.assert_allclose(whole, expected(*problem), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(chunked, whole, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(w, w_before)


@settings(max_examples=40, deadline=None)
@given(problems())
def test_both_paths_agree_in_float32(problem):
    y, w, out_spatial, pads, strides, dilations, groups = problem
    y32, w32 = y.astype(np.float32), w.astype(np.float32)
    with phase_grids_only():
        by_phases = correlate_input_grad(y32, w32, out_spatial, pads, strides, dilations, groups)
    by_offsets = numpy_gemm._input_grad_by_offsets(y32, w32, out_spatial, pads, strides, dilations, groups)
    assert by_phases.dtype == np.float32
    np.testing.assert_allclose(by_phases, by_offsets, rtol=2e-6, atol=2e-6)


def test_finite_kernels_take_the_phase_grids_and_non_finite_ones_the_offsets():
    y = RNG.standard_normal((2, 4, 5, 6))
    w = RNG.standard_normal((4, 3, 3, 3))
    args = ((10, 12), ((1, 1), (1, 1)), (2, 2), (1, 1), 1)
    with mock.patch.object(
        numpy_gemm, "_input_grad_by_offsets", wraps=numpy_gemm._input_grad_by_offsets
    ) as spy:
        correlate_input_grad(y, w, *args)
        assert spy.call_count == 0
        w[1, 2, 0, 1] = np.inf
        correlate_input_grad(y, w, *args)
        assert spy.call_count == 1


@contextlib.contextmanager
def spy_paths():
    """Mocks wrapping the forward correlation, F(2x2, 3x3) and the phase grids."""
    with (
        mock.patch.object(numpy_gemm, "correlate", wraps=numpy_gemm.correlate) as forward,
        mock.patch.object(
            numpy_gemm._winograd, "correlate", wraps=numpy_gemm._winograd.correlate
        ) as winograd,
        mock.patch.object(
            numpy_gemm, "_input_grad_by_phases", wraps=numpy_gemm._input_grad_by_phases
        ) as phases,
    ):
        yield forward, winograd, phases


@pytest.mark.parametrize(
    ("y_shape", "w_shape", "pads", "dilations", "groups", "route"),
    [
        # 3x3 stride 1 with 64 channels a group on 20x20 outputs: F(2x2, 3x3) forward
        ((2, 64, 20, 20), (64, 64, 3, 3), ((1, 1), (1, 1)), (1, 1), 1, "winograd"),
        ((2, 128, 20, 18), (128, 64, 3, 3), ((0, 2), (1, 0)), (1, 1), 1, "winograd"),
        ((2, 128, 20, 20), (128, 64, 3, 3), ((1, 1), (1, 1)), (1, 1), 2, "winograd"),
        # 1x1 stride 1: the forward GEMM
        ((2, 16, 5, 7), (16, 8, 1, 1), ((0, 0), (0, 0)), (1, 1), 1, "gemm"),
        ((2, 16, 5, 7), (16, 8, 1, 1), ((0, 0), (0, 0)), (1, 1), 4, "gemm"),
        # where the phases were the faster: small grids (channels-last forward), other kernels,
        # fewer channels, dilation
        ((2, 64, 8, 8), (64, 64, 3, 3), ((1, 1), (1, 1)), (1, 1), 1, "phases"),
        ((2, 64, 20, 20), (64, 64, 5, 5), ((2, 2), (2, 2)), (1, 1), 1, "phases"),
        ((2, 32, 20, 20), (32, 32, 3, 3), ((1, 1), (1, 1)), (1, 1), 1, "phases"),
        ((2, 64, 20, 20), (64, 64, 3, 3), ((1, 1), (1, 1)), (2, 2), 1, "phases"),
    ],
)
def test_stride_one_takes_the_forward_correlation_where_it_is_faster(
    y_shape, w_shape, pads, dilations, groups, route
):
    y = RNG.standard_normal(y_shape)
    w = RNG.standard_normal(w_shape)
    out_spatial = tuple(
        t + (k - 1) * d - lo - hi for t, k, d, (lo, hi) in zip(y_shape[2:], w_shape[2:], dilations, pads)
    )
    args = (out_spatial, pads, (1, 1), dilations, groups)
    y_before, w_before = y.copy(), w.copy()
    with spy_paths() as (forward, winograd, phases):
        out = correlate_input_grad(y, w, *args)
    assert (forward.called, winograd.called, phases.called) == {
        "winograd": (True, True, False),
        "gemm": (True, False, False),
        "phases": (False, False, True),
    }[route]
    np.testing.assert_allclose(out, expected(y, w, *args), rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(w, w_before)


def test_stride_one_as_a_correlation_in_float32():
    # the route taken for conv2d_transpose at stride 1 in float32: Theano's float32 rounding
    y = RNG.standard_normal((4, 64, 20, 20)).astype(np.float32)
    w = RNG.standard_normal((64, 96, 3, 3)).astype(np.float32)
    args = ((20, 20), ((1, 1), (1, 1)), (1, 1), (1, 1), 1)
    with spy_paths() as (_, winograd, phases):
        out = correlate_input_grad(y, w, *args)
    assert winograd.called and not phases.called
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected(y, w, *args), rtol=1e-4, atol=1e-4)


def test_non_finite_top_lands_where_the_definition_puts_it_as_a_correlation():
    # Inf and NaN in y on the stride-1 route: F(2x2, 3x3) leaves the block to the direct
    # forward method, whose products over the zero padding are zeros (the kernel is finite)
    y = RNG.standard_normal((2, 64, 20, 20))
    y[0, 1, 0, 3] = np.inf
    y[0, 5, 7, 19] = -np.inf
    y[1, 2, 19, 19] = np.nan
    w = RNG.standard_normal((64, 64, 3, 3))
    w[1, :, 1, 0] = 0.0  # Inf * 0 = NaN
    args = ((20, 20), ((1, 1), (1, 1)), (1, 1), (1, 1), 1)
    with spy_paths() as (forward, winograd, phases):
        out = correlate_input_grad(y, w, *args)
    assert forward.called and winograd.called and not phases.called
    ref = expected(y, w, *args)
    assert_non_finite_where(out, ref)
    assert np.isnan(out).any() and np.isposinf(out).any() and np.isneginf(out).any()
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)


def test_wide_phase_grids_take_the_offsets():
    # 3-D, a 1-pixel top and a 5x5x5 kernel: the padded middle axis would be 5 times the top
    y = RNG.standard_normal((2, 3, 2, 1, 2))
    w = RNG.standard_normal((3, 2, 5, 5, 5))
    args = ((6, 5, 6), ((0, 0),) * 3, (1, 1, 1), (1, 1, 1), 1)
    with mock.patch.object(
        numpy_gemm, "_input_grad_by_offsets", wraps=numpy_gemm._input_grad_by_offsets
    ) as spy:
        out = correlate_input_grad(y, w, *args)
        assert spy.call_count == 1
    np.testing.assert_allclose(out, expected(y, w, *args), rtol=1e-12, atol=1e-12)


def test_non_finite_top_lands_where_the_definition_puts_it():
    # Inf and NaN in y (finite kernel, phase path): Inf * 0 = NaN and Inf - Inf = NaN only in
    # the cells that the definition's products reach
    y = RNG.standard_normal((2, 4, 6, 5))
    y[0, 1, 2, 3] = np.inf
    y[1, 0, 0, 0] = -np.inf
    y[1, 2, 5, 4] = np.nan
    w = RNG.standard_normal((4, 2, 4, 3))
    w[0, 1, 1, 1] = 0.0
    args = ((12, 11), ((1, 2), (0, 1)), (2, 2), (1, 1), 2)
    out = correlate_input_grad(y, w, *args)
    ref = expected(y, w, *args)
    assert_non_finite_where(out, ref)
    assert np.isnan(out).any() and np.isinf(out).any()
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", NONFINITE_TOP, ids=lambda c: c["name"])
def test_non_finite_top_lands_where_theano_put_it(case):
    # recorded from real Theano 1.0.5 (tests/data/record_transpose_nonfinite_top.py)
    arrays = np.load(DATA / "theano_transpose_nonfinite_top.npz")
    y, w, expected = (arrays[f"{case['name']}_{k}"] for k in ("y", "w", "out"))
    grad = conv2d_grad_wrt_inputs if case["nd"] == 2 else conv3d_grad_wrt_inputs
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}
    offsets = mock.patch.object(numpy_gemm, "_input_grad_by_offsets", side_effect=AssertionError)
    with offsets:  # finite filters: the output-phase path
        out = grad(y, w, tuple(case["input_shape"]), **kwargs)
    assert out.shape == expected.shape and out.dtype == expected.dtype
    assert np.isnan(expected).any() and np.isinf(expected).any()
    assert_non_finite_where(out, expected)
    finite = np.isfinite(expected)
    np.testing.assert_allclose(out[finite], expected[finite], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("nd", [2, 3])
def test_workspace_limit_splits_one_image_into_rows(scratch_bytes, nd):
    top = (64, 64) if nd == 2 else (6, 16, 16)
    y = RNG.standard_normal((3, 8) + top).astype(np.float32)
    w = RNG.standard_normal((8, 4) + (3,) * nd).astype(np.float32)
    args = (tuple(2 * t for t in top), ((1, 1),) * nd, (2,) * nd, (1,) * nd, 2)
    whole = correlate_input_grad(y, w, *args)
    assert max(scratch_bytes) > 2**20  # unchunked, more than the limit below
    scratch_bytes.clear()
    offsets = mock.patch.object(numpy_gemm, "_input_grad_by_offsets", side_effect=AssertionError)
    adds = mock.patch.object(numpy_gemm, "_phase_adds", wraps=numpy_gemm._phase_adds)
    with workspace_limit(2**20), offsets, adds as spy_adds:  # still by phases, in rows
        chunked = correlate_input_grad(y, w, *args)
    assert scratch_bytes and max(scratch_bytes) <= 2**20
    assert not any(call.kwargs["only"] for call in spy_adds.call_args_list)  # chunks of rows
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(whole, expected(y, w, *args), rtol=1e-4, atol=1e-4)


def test_empty_batch_and_zero_channels():
    w = RNG.standard_normal((4, 3, 2, 2))
    out = correlate_input_grad(np.zeros((0, 4, 3, 3)), w, (6, 6), ((0, 0), (0, 0)), (2, 2), (1, 1), 1)
    assert out.shape == (0, 3, 6, 6)
    out = correlate_input_grad(
        np.zeros((2, 4, 3, 3)), np.zeros((4, 0, 2, 2)), (6, 6), ((0, 0), (0, 0)), (2, 2), (1, 1), 1
    )
    assert out.shape == (2, 0, 6, 6)
