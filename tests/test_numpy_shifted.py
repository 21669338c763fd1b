"""The numpy engine's stride-1 paths: GEMMs over flat-shifted views of the padded input, in
three layouts (``numpy_gemm._correlate_shifted``, ``_correlate_rows``,
``_correlate_channels_last``). Expected values come from the naive reference (tests/reference.py)
and from real Theano 1.0.5 (golden); each path is forced on where the default thresholds would
choose another, and a spy proves it ran."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import legacyconv
from legacyconv import conv2d, conv3d, workspace_limit
from legacyconv.engines import _winograd, numpy_gemm

import reference
from golden import assert_matches_theano, cases

RUNNERS = {"images": "_correlate_shifted", "rows": "_correlate_rows", "channels": "_correlate_channels_last"}
LAYOUTS = list(RUNNERS)


@contextlib.contextmanager
def shifted_path(force: bool = True, layout: str = "images", min_k: int = 1):
    """Count the calls of the shifted path of ``layout`` (image-major, row or channels-last);
    ``force``: take it wherever strides are 1, folding kernel axes into the contraction
    until it is ``min_k`` long."""
    calls = []
    real = getattr(numpy_gemm, RUNNERS[layout])

    def spy(*args, **kwargs):
        calls.append(args[-2:])  # (folded axes, images per chunk)
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(numpy_gemm, RUNNERS[layout], spy)
        if force:
            mp.setattr(numpy_gemm, "_SHIFTED_MIN_K", min_k)
            mp.setattr(numpy_gemm, "_cheapest_layout", lambda *args: layout)
        yield calls


@contextlib.contextmanager
def routes():
    """The layouts the default thresholds of the direct method ran, in call order (im2col
    records nothing); F(2x2, 3x3), which would take some of these 3x3 layers first, is off
    (tests/test_numpy_winograd.py checks its own thresholds)."""
    ran = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_winograd, "plan", lambda *args: None)
        for layout, name in RUNNERS.items():
            real = getattr(numpy_gemm, name)

            def spy(*args, _real=real, _layout=layout, **kwargs):
                ran.append(_layout)
                return _real(*args, **kwargs)

            mp.setattr(numpy_gemm, name, spy)
        yield ran


GOLDEN = [
    c
    for c in cases("conv2d", "conv3d")
    if "error" not in c and all(s == 1 for s in (c["kwargs"].get("subsample") or (1,)))
]


def test_golden_has_stride_one_cases():
    assert len(GOLDEN) >= 50


@pytest.mark.parametrize("fold", ["none", "all"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
def test_forced_shifted_path_matches_theano(case, layout, fold):
    fn = {"conv2d": legacyconv.conv2d, "conv3d": legacyconv.conv3d}[case["op"]]
    w = case["inputs"][1]
    min_k = 1 if fold == "none" else max(1, w[0].size)  # all kernel axes: one shifted copy per offset
    with shifted_path(layout=layout, min_k=min_k) as calls:
        assert_matches_theano(fn, case)
    x, w = case["inputs"][:2]
    runs = x.size > 0 and w.size > 0 and case["expected"].size > 0 and any(k > 1 for k in w.shape[2:])
    assert bool(calls) == runs


@settings(max_examples=120, deadline=None)
@given(
    layout=st.sampled_from(LAYOUTS),
    nd=st.sampled_from([1, 2, 3]),
    n=st.integers(1, 3),
    cg=st.integers(1, 4),
    groups=st.integers(1, 3),
    og=st.integers(1, 3),
    data=st.data(),
)
def test_shifted_path_equals_the_reference(layout, nd, n, cg, groups, og, data):
    spatial = tuple(data.draw(st.integers(1, 9 if nd < 3 else 6)) for _ in range(nd))
    kernel = tuple(data.draw(st.integers(1, 4)) for _ in range(nd))
    dil = tuple(data.draw(st.integers(1, 2)) for _ in range(nd))
    pads = tuple((data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))) for _ in range(nd))
    grid = [s + lo + hi for s, (lo, hi) in zip(spatial, pads)]
    if any(g < (k - 1) * d + 1 for g, k, d in zip(grid, kernel, dil)) or all(k == 1 for k in kernel):
        return
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, cg * groups, *spatial))
    w = rng.standard_normal((og * groups, cg, *kernel))
    # small column blocks: several per image, ragged ends, and each image's output rows alone
    block = data.draw(st.sampled_from([4, 16, 64, numpy_gemm._SHIFTED_BLOCK]))
    # fold the last `fold` kernel axes into the contraction (shifted copies, cropped to the
    # output in the channels-last layout)
    fold = data.draw(st.integers(0, nd))
    min_k = cg * math.prod(kernel[nd - fold :])
    with shifted_path(layout=layout, min_k=min_k) as calls, pytest.MonkeyPatch.context() as mp:
        mp.setattr(numpy_gemm, "_SHIFTED_BLOCK", block)
        got = numpy_gemm.correlate(x, w, pads, (1,) * nd, dil, groups)
    assert len(calls) == 1
    # the row layout folds every axis but the first, whatever the contraction's length
    assert calls[0][0] == nd - 1 if layout == "rows" else calls[0][0] <= fold
    expected = reference.correlate(x, w, pads, (1,) * nd, dil, groups)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("groups", [1, 2])
def test_chunks_of_images_under_the_workspace_limit(groups, layout, scratch_bytes):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 32, 16, 16))
    w = rng.standard_normal((16, 32 // groups, 3, 3))
    with shifted_path(layout=layout) as calls:
        whole = conv2d(x, w, border_mode="half", num_groups=groups)
        assert max(scratch_bytes) > 2**20  # unchunked, more than the limit below
        scratch_bytes.clear()
        with workspace_limit(2**20):
            chunked = conv2d(x, w, border_mode="half", num_groups=groups)
    assert calls[0][1] == 7 and 1 <= calls[1][1] < 7  # (folded, images): whole batch, then chunks
    assert 0 < max(scratch_bytes) <= 2**20
    np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-12)
    expected = reference.conv(x, w, "half", num_groups=groups)
    np.testing.assert_allclose(whole, expected, rtol=1e-10, atol=1e-10)


def test_one_image_over_the_limit_takes_im2col():
    x = np.ones((1, 64, 128, 128), np.float32)  # 17 MB of shifted copies
    w = np.ones((8, 64, 3, 3), np.float32)
    with routes() as ran, workspace_limit(2**20):
        out = conv2d(x, w, border_mode="valid")
    assert ran == [] and np.all(out == 64 * 9)


def test_default_thresholds_route_large_stride_one_layers():
    """The layers each path is for take it by default: large GEMMs the row layout, other
    large images the image-major grid, small images (whose padded grid is much larger than
    their output) the channels-last layout; strided and 1x1 convolutions, and small images
    whose GEMMs are large, take im2col."""
    rng = np.random.default_rng(2)
    routed = {
        ((2, 64, 20, 20), (8, 64, 3, 3), "half", (1, 1)): "images",
        ((1, 8, 120, 120), (2, 8, 15, 15), "full", (1, 1)): "images",  # 148^2 grid, 134^2 outputs
        ((2, 16, 10, 12, 12), (4, 16, 3, 3, 3), "half", (1, 1, 1)): "channels",
        # LeNet's conv2: 144 cells, 64 outputs
        ((4, 20, 12, 12), (50, 20, 5, 5), "valid", (1, 1)): "channels",
        ((1, 128, 28, 28), (128, 128, 3, 3), "half", (1, 1)): "rows",  # GEMMs of 38 M multiply-adds
        ((1, 32, 8, 24, 24), (64, 32, 3, 3, 3), "half", (1, 1, 1)): "rows",
        # GEMMs of 38 M multiply-adds, but only 49 columns an image wide: im2col's span the batch
        ((2, 512, 7, 7), (512, 512, 3, 3), "half", (1, 1)): None,
        # small grids: the channels-last layout's GEMMs ((2, 64, 7, 7): 0.25 ms, im2col 0.23)
        ((2, 64, 7, 7), (64, 64, 3, 3), "half", (1, 1)): "channels",
        ((32, 64, 14, 14), (64, 64, 3, 3), "half", (1, 1)): "channels",
        ((2, 128, 7, 7), (128, 128, 3, 3), "half", (1, 1)): None,  # a 9x9 grid, nothing folded
        # every kernel axis folded: few outputs take it, many stay on im2col
        ((4, 16, 14, 14), (32, 16, 3, 3), "valid", (1, 1)): "channels",
        ((4, 16, 12, 12), (128, 16, 3, 3), "half", (1, 1)): None,
        ((2, 64, 20, 20), (8, 64, 3, 3), "half", (2, 2)): None,
        ((2, 64, 20, 20), (8, 64, 1, 1), "valid", (1, 1)): None,
        # grouped: im2col would copy every group's columns (counted for one group, they sent
        # (32, 64, 28, 28) * 64 in 2 groups to im2col at 16.6 ms, 12.2 ms on this layout)
        ((2, 64, 20, 20), (16, 32, 3, 3), "half", (1, 1)): "images",
        ((4, 256, 14, 14), (64, 32, 3, 3), "half", (1, 1)): "images",
        # small grids too: each group's channels-last GEMMs are narrow
        ((8, 256, 14, 14), (256, 32, 3, 3), "half", (1, 1)): "images",
    }
    for (xs, ws, mode, sub), expected in routed.items():
        x = rng.standard_normal(xs)
        w = rng.standard_normal(ws)
        groups = xs[1] // ws[1]
        fn = conv3d if len(xs) == 5 else conv2d
        with routes() as ran:
            got = fn(x, w, border_mode=mode, subsample=sub, num_groups=groups)
        assert ran == ([expected] if expected else []), (xs, ws, mode, sub)
        ref = reference.conv(x, w, mode, sub, num_groups=groups)
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)


def test_small_layers_take_channels_last_before_winograd():
    """F(2x2, 3x3) would take these 3x3 layers (64 channels; square images this small have too
    few input channels for it, see the test after this one); on grids of at most
    ``_SMALL_GRID`` cells with few outputs the channels-last layout runs instead, and on larger
    ones, or with many outputs, F(2x2, 3x3)."""
    rng = np.random.default_rng(5)
    ran = []
    real = _winograd.correlate
    for size, n_out, small in [((5, 50), 64, True), ((20, 20), 64, False), ((5, 50), 256, False)]:
        x = rng.standard_normal((8, 64, *size))
        w = rng.standard_normal((n_out, 64, 3, 3))
        assert _winograd.plan(x.shape, (3, 3), ((1, 1), (1, 1)), (1, 1), (1, 1), n_out, 1, x.dtype)
        ran.clear()
        with shifted_path(force=False, layout="channels") as calls, pytest.MonkeyPatch.context() as mp:
            mp.setattr(_winograd, "correlate", lambda *args: ran.append(1) or real(*args))
            got = conv2d(x, w, border_mode="half")
        assert (len(calls), len(ran)) == ((1, 0) if small else (0, 1)), (size, n_out)
        np.testing.assert_allclose(got, reference.conv(x, w, "half"), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("size", "channels", "n_out"), [(14, 128, 256), (14, 160, 320), (18, 96, 192)])
def test_small_images_with_few_input_channels_take_the_direct_method(size, channels, n_out):
    # GoogLeNet's 14x14 3x3 layers (4a-4e) among them: F(2x2, 3x3) was 3-14% slower there
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, channels, size, size))
    w = rng.standard_normal((n_out, channels, 3, 3))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_winograd, "correlate", lambda *args: pytest.fail("F(2x2, 3x3) ran"))
        got = conv2d(x, w, border_mode="half")
    np.testing.assert_allclose(got, reference.conv(x, w, "half"), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_non_finite_values_land_where_the_direct_sum_puts_them(layout):
    """Off-grid columns of the shifted GEMMs read the next row's and next image's cells:
    Inf and NaN there must not reach a kept output."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 9, 8))
    x[0, 1, 2, -1] = np.inf  # last column: the wrap of row 2 reads it for row 3's first output
    x[1, 2, -1, -1] = np.nan  # last cell of image 1: the wrap into image 2 reads it
    x[2, 0, 0, 0] = -np.inf
    w = rng.standard_normal((5, 4, 3, 2))
    w[0, 0, 0, 0] = 0.0  # Inf * 0 = NaN in the direct sum
    for mode in ["valid", "half", "full", ((0, 2), (1, 0))]:
        with shifted_path(layout=layout) as calls:
            got = conv2d(x, w, border_mode=mode, filter_flip=False)
        assert calls
        ref = reference.conv(x, w, mode, filter_flip=False)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(ref))
        np.testing.assert_array_equal(np.isneginf(got), np.isneginf(ref))
        finite = np.isfinite(ref)
        np.testing.assert_allclose(got[finite], ref[finite], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_inputs_not_modified_and_result_not_scratch(layout):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 64, 20, 20)).astype(np.float32)
    w = rng.standard_normal((8, 64, 3, 3)).astype(np.float32)
    x0, w0 = x.copy(), w.copy()
    with shifted_path(layout=layout) as calls:
        a = conv2d(x, w, border_mode="half")
        b = conv2d(x, w, border_mode="half")
    assert len(calls) == 2 and not np.shares_memory(a, b)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_padding_is_zero_whatever_the_kept_scratch_held(layout):
    """The kept scratch is reused: a call on NaNs leaves NaNs in it, and the next call's
    padding cells (only those are zeroed, not the whole buffer) must still read zero."""
    rng = np.random.default_rng(5)
    w = rng.standard_normal((8, 64, 3, 3))
    x = rng.standard_normal((2, 64, 20, 20))
    with shifted_path(layout=layout) as calls:
        assert np.isnan(conv2d(np.full((3, 64, 22, 22), np.nan), w, border_mode="valid")).all()
        got = conv2d(x, w, border_mode="full")
    assert len(calls) == 2
    np.testing.assert_allclose(got, reference.conv(x, w, "full"), rtol=1e-10, atol=1e-10)
