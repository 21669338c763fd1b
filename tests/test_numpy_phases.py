"""The numpy engine's strided im2col copies read their taps from a phase split of the input
(``numpy_gemm._split_phases``; phase p of a stride-s axis holds the cells p, p + s, ...; every
axis split, or the last alone), in all
three places that build im2col columns: the per-image im2col path and the merged path of
``correlate``, and ``correlate_weight_grad``. Expected values come from real Theano 1.0.5
(golden) and from the naive reference (tests/reference.py); the split is forced on or off, and
a spy proves which ran."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import legacyconv
from legacyconv import workspace_limit
from legacyconv.engines import numpy_gemm
from legacyconv.nnet import abstract_conv as ac

import reference
from golden import assert_matches_theano, cases, tolerance

# the merged path (several images per GEMM) or one GEMM per image; the weight gradient has one
PATHS = ["merged", "per_image"]
# every axis split, the last alone, or no split (the direct strided copies)
SPLITS = ["all", "last", "direct"]


@contextlib.contextmanager
def phase_split(split: str | None = "all", path: str | None = None):
    """Record the phase-split shapes; ``split``: force one of SPLITS for every call whose last
    axis is strided, or leave the default (None); ``path``: force ``correlate``'s merged or
    per-image im2col path."""
    calls = []
    real = numpy_gemm._split_phases

    def spy(dst, x, strides):
        calls.append(dst.shape)
        return real(dst, x, strides)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(numpy_gemm, "_split_phases", spy)
        if split is not None:
            mp.setattr(numpy_gemm, "_SPLIT_MIN_TAPS_PER_PHASE", 10**9 if split == "direct" else 0)
            mp.setattr(numpy_gemm, "_SPLIT_ALL_TAPS_PER_PHASE", 0 if split == "all" else 10**9)
            mp.setattr(numpy_gemm, "_SPLIT_MIN_ROW", 0)
        if path == "merged":
            mp.setattr(numpy_gemm, "_MERGE_BELOW", 10**9)
        elif path == "per_image":
            mp.setattr(numpy_gemm, "_MERGE_BELOW", 0)
            mp.setattr(numpy_gemm, "_MERGE_BELOW_LARGE_K", 0)
        yield calls


def _strided(c):
    return "error" not in c and any(s > 1 for s in (c["kwargs"].get("subsample") or (1,)))


GOLDEN_CONV = [c for c in cases("conv2d", "conv3d") if _strided(c)]
GOLDEN_GRAD = [
    c
    for c in cases(
        "conv2d_grad_wrt_weights", "conv3d_grad_wrt_weights", source="theano_abstract_conv_reference"
    )
    if _strided(c) and "note" not in c
]
GRAD_OPS = {
    "conv2d_grad_wrt_weights": ac.conv2d_grad_wrt_weights,
    "conv3d_grad_wrt_weights": ac.conv3d_grad_wrt_weights,
}


def test_golden_has_strided_cases():
    assert len(GOLDEN_CONV) >= 40 and len(GOLDEN_GRAD) >= 20
    # the split is of the last axis: enough cases stride it, and some stride the others alone
    last = [c["kwargs"]["subsample"][-1] > 1 for c in GOLDEN_CONV + GOLDEN_GRAD]
    assert sum(last) >= 30 and not all(last)


def _computes(x, w, expected) -> bool:
    return x.size > 0 and w.size > 0 and expected.size > 0


def _split_shape(x_shape, strides, split):
    """The phase split's shape, written out: (n, C, *whole axes, *strides, *ceil(size / stride))."""
    first = 0 if split == "all" else len(strides) - 1
    sizes = x_shape[2:]
    ceil = [-(-sizes[a] // strides[a]) for a in range(first, len(strides))]
    return (*x_shape[: 2 + first], *strides[first:], *ceil)


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", GOLDEN_CONV, ids=[c["name"] for c in GOLDEN_CONV])
def test_strided_conv_matches_theano(case, path, split):
    fn = {"conv2d": legacyconv.conv2d, "conv3d": legacyconv.conv3d}[case["op"]]
    with phase_split(split, path) as calls:
        assert_matches_theano(fn, case)
    x, w = case["inputs"][:2]
    last_strided = case["kwargs"]["subsample"][-1] > 1  # else the rows are contiguous already
    assert bool(calls) == (split != "direct" and last_strided and _computes(x, w, case["expected"]))


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("case", GOLDEN_GRAD, ids=[f"{c['name']}-{c['floatX']}" for c in GOLDEN_GRAD])
def test_strided_weight_grad_matches_theano(case, split):
    # Theano accumulated a float32 input into a float32 buffer and returned it as float64
    mixed = len({a.dtype for a in case["inputs"]}) > 1
    tol = (lambda dtype, expected: tolerance(np.float32, expected)) if mixed else None
    with phase_split(split) as calls:
        assert_matches_theano(GRAD_OPS[case["op"]], case, tol=tol, backend="numpy")
    x, y = case["inputs"][:2]
    computes = x.size > 0 and y.size > 0 and case["expected"].size > 0
    assert bool(calls) == (split != "direct" and case["kwargs"]["subsample"][-1] > 1 and computes)


def _problem(data, nd):
    """A random strided problem: (x, w, pads, strides, dilations, groups), or None if it has
    no output or no stride above 1."""
    n, cg, groups, og = (data.draw(st.integers(1, 3)) for _ in range(4))
    spatial = tuple(data.draw(st.integers(1, 11 if nd < 3 else 7)) for _ in range(nd))
    kernel = tuple(data.draw(st.integers(1, 5)) for _ in range(nd))
    strides = tuple(data.draw(st.integers(1, 4)) for _ in range(nd))
    dil = tuple(data.draw(st.integers(1, 2)) for _ in range(nd))
    pads = tuple((data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))) for _ in range(nd))
    grid = [s + lo + hi for s, (lo, hi) in zip(spatial, pads)]
    if any(g < (k - 1) * d + 1 for g, k, d in zip(grid, kernel, dil)) or all(t == 1 for t in strides):
        return None
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, cg * groups, *spatial))
    w = rng.standard_normal((og * groups, cg, *kernel))
    return x, w, pads, strides, dil, groups


@settings(max_examples=120, deadline=None)
@given(
    nd=st.sampled_from([1, 2, 3]),
    path=st.sampled_from(PATHS),
    split=st.sampled_from(["all", "last"]),
    data=st.data(),
)
def test_split_correlation_equals_the_reference(nd, path, split, data):
    problem = _problem(data, nd)
    if problem is None:
        return
    x, w, pads, strides, dil, groups = problem
    with phase_split(split, path) as calls:
        got = numpy_gemm.correlate(x, w, pads, strides, dil, groups)
    if strides[-1] == 1:  # the direct copies' rows are contiguous: nothing to split
        assert calls == []
    else:  # each phase is ceil(size / stride) long; a shorter phase's last cell is never read
        assert calls == [_split_shape(x.shape, strides, split)]
    np.testing.assert_allclose(
        got, reference.correlate(x, w, pads, strides, dil, groups), rtol=1e-10, atol=1e-10
    )


@settings(max_examples=60, deadline=None)
@given(nd=st.sampled_from([1, 2, 3]), split=st.sampled_from(["all", "last"]), data=st.data())
def test_split_weight_grad_equals_the_reference(nd, split, data):
    problem = _problem(data, nd)
    if problem is None:
        return
    x, w, pads, strides, dil, groups = problem
    out_sp = reference.correlate(x, w, pads, strides, dil, groups).shape
    y = np.random.default_rng(0).standard_normal(out_sp)
    with phase_split(split) as calls:
        got = numpy_gemm.correlate_weight_grad(x, y, w.shape[2:], pads, strides, dil, groups)
    assert calls == ([_split_shape(x.shape, strides, split)] if strides[-1] > 1 else [])
    expected = reference.conv_weight_grad(x, y, w.shape[2:], pads, strides, dil, groups, False)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_default_split_by_taps_per_phase_and_row_length():
    """By default the split runs where the kernel has at least two taps per stride cell and
    the output rows are at least _SPLIT_MIN_ROW (24) cells long, over every axis from seven taps
    per cell (_SPLIT_ALL_TAPS_PER_PHASE) and over the last alone below: every axis for AlexNet's
    11x11 stride 4 and a 7x7 stride 2, the last for a 5x5 or 3x3 stride 2 on long rows; no
    split for a 2x2 or 1x1 stride 2 (each cell read once, or not at all), a 3x3 stride 3 or a
    3x3 stride 2 with rows of 20."""
    rng = np.random.default_rng(0)
    for size, kernel, stride, split in [
        (103, 11, 4, "all"),  # rows of 24, 7.6 taps per stride cell
        (55, 7, 2, "all"),  # 25, 12.25
        (53, 5, 2, "last"),  # 25, 6.25
        (51, 3, 2, "last"),  # 25
        (51, 2, 2, "direct"),
        (51, 1, 2, "direct"),
        (75, 3, 3, "direct"),  # 25
        (41, 3, 2, "direct"),  # 20
    ]:
        x = rng.standard_normal((2, 3, size, size)).astype(np.float32)
        w = rng.standard_normal((4, 3, kernel, kernel)).astype(np.float32)
        with phase_split(None) as calls:
            got = legacyconv.conv2d(x, w, subsample=(stride, stride), filter_flip=False)
        expected_calls = [] if split == "direct" else [_split_shape(x.shape, (stride, stride), split)]
        assert calls == expected_calls, (size, kernel, stride)
        expected = reference.correlate(x, w, ((0, 0), (0, 0)), (stride, stride), (1, 1), 1)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("split", ["all", "last"])
@pytest.mark.parametrize("path", PATHS)
def test_split_is_chunked_within_the_workspace_limit(path, split):
    """Under a 1 MiB limit the images come in chunks, each split into phases of its own, and no
    scratch array (columns, phases) outgrows the limit."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((12, 4, 40, 40)).astype(np.float32)
    w = rng.standard_normal((8, 4, 7, 7)).astype(np.float32)
    pads, strides = ((3, 2), (3, 2)), (3, 3)
    sizes = []
    real_scratch = numpy_gemm.scratch

    def scratch(shapes, dtype):
        sizes.append(sum(int(np.prod(s)) for s in shapes) * np.dtype(dtype).itemsize)
        return real_scratch(shapes, dtype)

    with phase_split(split, path) as calls, workspace_limit(2**20), pytest.MonkeyPatch.context() as mp:
        mp.setattr(numpy_gemm, "scratch", scratch)
        got = numpy_gemm.correlate(x, w, pads, strides, (1, 1), 1)
    assert len(calls) > 1 and sum(c[0] for c in calls) == 12
    assert max(sizes) <= 2**20
    np.testing.assert_allclose(got, reference.correlate(x, w, pads, strides, (1, 1), 1), rtol=1e-4, atol=1e-4)


def test_row_chunks_read_the_input_directly():
    """Where one image's columns need chunks of rows, no split is made (it would be repeated
    for every chunk); the result is the same."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 16, 96, 96)).astype(np.float32)
    w = rng.standard_normal((4, 16, 5, 5)).astype(np.float32)
    pads = ((2, 2), (2, 2))  # one image's columns: 16 * 25 * 48 * 48 * 4 bytes = 3.7 MB
    with phase_split("all", "per_image") as calls, workspace_limit(2**20):
        got = numpy_gemm.correlate(x, w, pads, (2, 2), (1, 1), 1)
    assert calls == []
    np.testing.assert_allclose(got, reference.correlate(x, w, pads, (2, 2), (1, 1), 1), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("split", ["all", "last"])
@pytest.mark.parametrize("path", PATHS)
def test_stale_scratch_is_never_read(path, split):
    """The phase split's unwritten cells (a phase shorter than its axis) and the padding cells
    hold what an earlier call left in the scratch buffer: with that buffer full of NaNs, a call
    on finite data whose phases are ragged must give the finite answer."""
    rng = np.random.default_rng(3)
    (junk,) = numpy_gemm.scratch([(2**20,)], np.dtype(np.float64))
    junk.fill(np.nan)
    x = rng.standard_normal((4, 3, 29, 27))
    w = rng.standard_normal((5, 3, 4, 4))
    args = (((1, 2), (2, 1)), (3, 2), (1, 1), 1)
    with phase_split(split, path) as calls:
        got = numpy_gemm.correlate(x, w, *args)
    # 29 = 3 * 9 + 2 and 27 = 2 * 13 + 1 cells: phases one cell short
    assert calls == [(4, 3, 3, 2, 10, 14) if split == "all" else (4, 3, 29, 2, 14)]
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, reference.correlate(x, w, *args), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("split", ["all", "last"])
@pytest.mark.parametrize("path", PATHS)
def test_nonfinite_inputs_land_where_the_direct_sum_puts_them(path, split):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 2, 19, 17))
    x[0, 0, 4, 4], x[1, 1, 10, 0], x[2, 0, 12, 8] = np.nan, np.inf, -np.inf  # cells some tap reads
    w = rng.standard_normal((3, 2, 5, 3))
    args = (((2, 1), (0, 2)), (3, 2), (1, 2), 1)
    with phase_split(split, path) as calls:
        got = numpy_gemm.correlate(x, w, *args)
    assert calls
    expected = reference.correlate(x, w, *args)
    assert np.isnan(expected).any() and np.isinf(expected).any()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(got[np.isinf(expected)], expected[np.isinf(expected)])
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-10, atol=1e-10)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 16, 16)).astype(np.float32)
    w = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    x0, w0 = x.copy(), w.copy()
    with phase_split("all") as calls:
        legacyconv.conv2d(x, w, subsample=(2, 2), border_mode="half")
    assert calls
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


@pytest.mark.parametrize("split", ["all", "last"])
def test_split_reads_non_contiguous_inputs(split):
    """The split copies from any strided view: a channels-last array seen as NCHW, and one
    reversed along its last axis."""
    rng = np.random.default_rng(6)
    nhwc = rng.standard_normal((3, 30, 29, 4))
    for x in (nhwc.transpose(0, 3, 1, 2), nhwc.transpose(0, 3, 1, 2)[..., ::-1]):
        assert not x.flags.c_contiguous
        w = rng.standard_normal((5, 4, 5, 5))
        args = (((2, 2), (1, 3)), (2, 3), (1, 1), 1)
        with phase_split(split) as calls:
            got = numpy_gemm.correlate(x, w, *args)
        assert len(calls) == 1
        np.testing.assert_allclose(got, reference.correlate(x, w, *args), rtol=1e-10, atol=1e-10)
