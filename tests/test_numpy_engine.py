"""The numpy engine's behaviour beyond Theano's cases: memory bounds, strided views, dtypes,
empty batches, immutability. Expected values come from the naive reference (tests/reference.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import legacyconv
from legacyconv import conv2d, conv3d, workspace_limit
from legacyconv.engines import numpy_gemm

import reference


def naive_conv2d(x, w, pads, strides=(1, 1), dil=(1, 1), groups=1, flip=True):
    return reference.correlate(x, w[:, :, ::-1, ::-1] if flip else w, pads, strides, dil, groups)


RNG = np.random.default_rng(0)


def test_chunked_workspace_gives_identical_results():
    x = RNG.standard_normal((9, 6, 40, 37)).astype(np.float32)
    w = RNG.standard_normal((6, 3, 4, 3)).astype(np.float32)
    kwargs = {
        "border_mode": ((2, 1), (0, 3)),
        "subsample": (2, 1),
        "filter_dilation": (1, 2),
        "num_groups": 2,
    }
    whole = conv2d(x, w, **kwargs)
    per_image = 3 * 2 * 4 * 3 * whole.shape[2] * whole.shape[3] * 4
    assert per_image * 9 > 2**20  # the 1 MiB limit below really splits the batch
    with workspace_limit(2**20):
        chunked = conv2d(x, w, **kwargs)
    np.testing.assert_array_equal(whole, chunked)
    expected = naive_conv2d(x, w, ((2, 1), (0, 3)), (2, 1), (1, 2), 2)
    np.testing.assert_allclose(whole, expected, rtol=1e-4, atol=1e-4)


def test_row_chunking_when_one_image_exceeds_the_limit():
    x = RNG.standard_normal((2, 16, 70, 64))
    w = RNG.standard_normal((4, 16, 5, 5))
    images, rows = numpy_gemm.im2col_plan(x.shape, (5, 5), (70, 64), 8)
    with workspace_limit(2**20):
        images, rows = numpy_gemm.im2col_plan(x.shape, (5, 5), (70, 64), 8)
        assert images == 1 and rows < 70
        chunked = conv2d(x, w, border_mode="half")
    np.testing.assert_allclose(chunked, conv2d(x, w, border_mode="half"), rtol=1e-12, atol=1e-12)
    ref = naive_conv2d(x[:1, :, :12, :12], w, ((2, 2), (2, 2)))
    np.testing.assert_allclose(conv2d(x[:1, :, :12, :12], w, border_mode="half"), ref, rtol=1e-10, atol=1e-10)


def test_per_image_gemm_path_equals_reference():
    # 68x62 outputs, 18 multiply-adds each: one GEMM per image (and group)
    x = RNG.standard_normal((2, 4, 70, 64))
    w = RNG.standard_normal((6, 2, 3, 3))
    assert 68 * 62 >= numpy_gemm._MERGE_BELOW and 2 * 9 < numpy_gemm._MERGE_MIN_K
    out = conv2d(x, w, num_groups=2)
    np.testing.assert_allclose(out, naive_conv2d(x, w, ((0, 0), (0, 0)), groups=2), rtol=1e-12, atol=1e-12)


def test_workspace_buffer_respects_the_limit(scratch_bytes):
    x = RNG.standard_normal((64, 8, 20, 20)).astype(np.float32)
    w = RNG.standard_normal((4, 8, 3, 3)).astype(np.float32)
    whole = conv2d(x, w, border_mode="half")
    assert scratch_bytes[-1] > 2**20  # unchunked, the columns need more than the limit below
    with workspace_limit(2**20):
        chunked = conv2d(x, w, border_mode="half")
    assert scratch_bytes[-1] <= 2**20
    np.testing.assert_allclose(chunked, whole, rtol=1e-6, atol=1e-5)


def test_kept_scratch_is_bounded_and_released():
    from legacyconv import _config

    with workspace_limit(2**21):
        small = _config.scratch([(1000,)], np.dtype(np.float64))[0]
        assert _config._local.buffer.nbytes <= 2**21
        big = _config.scratch([(2**20,)], np.dtype(np.float64))[0]  # 8 MiB: over the limit
        assert big.shape == (2**20,) and _config._local.buffer.nbytes <= 2**21
        assert not np.shares_memory(small, big)
    assert getattr(_config._local, "buffer", None) is None  # changing the limit releases it
    a, b = _config.scratch([(3, 5), (7,)], np.dtype(np.float32))
    a.fill(1.0)
    b.fill(2.0)
    assert (a == 1.0).all() and (b == 2.0).all()


def test_results_do_not_alias_the_kept_scratch():
    x = RNG.standard_normal((2, 3, 6, 6))
    w = RNG.standard_normal((4, 3, 3, 3))
    first = conv2d(x, w, border_mode="half")
    kept = first.copy()
    conv2d(x * 2, w, border_mode="full")  # reuses the scratch buffer
    np.testing.assert_array_equal(first, kept)


@pytest.mark.parametrize(
    "make_view",
    [
        lambda a: np.asfortranarray(a),
        lambda a: a[:, :, ::-1, ::-1],
        lambda a: a[::-1, ::-1],
        lambda a: np.repeat(a, 2, axis=3)[..., ::2],
        lambda a: np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 1, 3)), 3, 1),
    ],
    ids=["fortran", "neg-spatial", "neg-batch-chan", "step2", "nhwc-view"],
)
def test_strided_views(make_view):
    x = RNG.standard_normal((3, 4, 7, 6))
    w = RNG.standard_normal((5, 4, 3, 2))
    xv, wv = make_view(x), make_view(w)
    assert not (xv.flags.c_contiguous and wv.flags.c_contiguous)
    out = conv2d(xv, wv, border_mode=(1, (0, 2)), subsample=(2, 1))
    ref = naive_conv2d(np.ascontiguousarray(xv), np.ascontiguousarray(wv), ((1, 1), (0, 2)), (2, 1))
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_inputs_not_modified_and_not_aliased():
    x = RNG.standard_normal((2, 3, 5, 5)).astype(np.float32)
    w = RNG.standard_normal((3, 3, 1, 1)).astype(np.float32)
    x0, w0 = x.copy(), w.copy()
    x.flags.writeable = False
    w.flags.writeable = False
    out = conv2d(x, w)  # the 1x1 path reads the input directly
    assert not np.shares_memory(out, x)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


def test_pointwise_fast_path_equals_reference():
    x = RNG.standard_normal((3, 6, 4, 5))
    w = RNG.standard_normal((4, 3, 1, 1))
    np.testing.assert_allclose(
        conv2d(x, w, num_groups=2), naive_conv2d(x, w, ((0, 0), (0, 0)), groups=2), rtol=1e-12
    )


def test_depthwise_small_group_path_equals_reference():
    x = RNG.standard_normal((2, 6, 7, 7))
    w = RNG.standard_normal((12, 1, 3, 3))  # depthwise, multiplier 2
    np.testing.assert_allclose(
        conv2d(x, w, num_groups=6, border_mode="half"),
        naive_conv2d(x, w, ((1, 1), (1, 1)), groups=6),
        rtol=1e-12,
    )


@pytest.mark.parametrize("n", [0])
def test_empty_batch(n):
    out = conv2d(np.zeros((n, 3, 5, 5), np.float32), np.zeros((2, 3, 3, 3), np.float32), border_mode="full")
    assert out.shape == (0, 2, 7, 7) and out.dtype == np.float32
    assert conv3d(np.zeros((0, 1, 3, 3, 3)), np.zeros((2, 1, 2, 2, 2))).shape == (0, 2, 2, 2, 2)


def test_zero_filters_and_zero_channels():
    assert conv2d(np.ones((2, 3, 5, 5)), np.ones((0, 3, 3, 3))).shape == (2, 0, 3, 3)
    out = conv2d(np.ones((2, 0, 5, 5)), np.ones((4, 0, 3, 3)))
    assert out.shape == (2, 4, 3, 3) and not out.any()


@pytest.mark.parametrize(
    "xdt, wdt, expected",
    [
        (np.float32, np.float32, np.float32),
        (np.float64, np.float32, np.float64),
        (np.float32, np.float64, np.float64),
        (np.float16, np.float16, np.float16),
        (np.float16, np.float32, np.float32),
        (np.int64, np.int64, np.float64),
        (np.int32, np.float32, np.float32),
        (np.uint8, np.float64, np.float64),
        (np.bool_, np.bool_, np.float64),
    ],
)
def test_output_dtype(xdt, wdt, expected):
    x = (np.arange(2 * 2 * 4 * 4) % 3).reshape(2, 2, 4, 4).astype(xdt)
    w = (np.arange(3 * 2 * 2 * 2) % 2).reshape(3, 2, 2, 2).astype(wdt)
    out = conv2d(x, w)
    assert out.dtype == expected
    np.testing.assert_array_equal(out, naive_conv2d(x, w, ((0, 0), (0, 0))))  # small integers: exact


def test_float16_is_accumulated_in_float32():
    x = np.full((1, 1, 1, 4096), 1.0, np.float16)
    w = np.full((1, 1, 1, 4096), 1.0, np.float16)
    # float16 accumulation would stall at 2048; float32 accumulation reaches 4096 exactly
    assert conv2d(x, w)[0, 0, 0, 0] == 4096


def test_non_finite_values_propagate_like_the_direct_sum():
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = np.inf
    w = np.ones((1, 1, 3, 3))
    w[0, 0, 0, 0] = 0.0
    out = conv2d(x, w, border_mode="half")
    ref = naive_conv2d(np.where(np.isinf(x), np.inf, x), w, ((1, 1), (1, 1)))
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(out), np.isinf(ref))
    assert np.isnan(out).sum() == 1 and np.isinf(out).sum() == 8


def test_nnet_mirror_is_the_same_function():
    # abstract_conv.conv2d has its own positional order (tests/test_abstract_conv.py)
    assert legacyconv.nnet.conv2d is legacyconv.conv2d


@pytest.mark.parametrize("groups", [1, 2])
def test_merged_small_image_path_equals_reference(groups):
    # 8x8 outputs: below numpy_gemm._MERGE_BELOW, several images share one GEMM
    x = RNG.standard_normal((5, 4, 9, 10))
    w = RNG.standard_normal((6, 4 // groups, 3, 2))
    pads = ((1, 0), (0, 2))
    assert 8 * 11 < numpy_gemm._MERGE_BELOW
    out = conv2d(x, w, border_mode=pads, num_groups=groups, filter_dilation=(1, 2))
    np.testing.assert_allclose(
        out, naive_conv2d(x, w, pads, dil=(1, 2), groups=groups), rtol=1e-12, atol=1e-12
    )
    with workspace_limit(2**20):  # chunks of one image share no state
        x_big = RNG.standard_normal((40, 16, 12, 12))  # 175 KB per image: 5 images per chunk
        w_big = RNG.standard_normal((8, 16 // groups, 3, 3))
        chunked = conv2d(x_big, w_big, border_mode="half", num_groups=groups)
    np.testing.assert_allclose(
        chunked[:2], naive_conv2d(x_big[:2], w_big, ((1, 1), (1, 1)), groups=groups), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        chunked[-2:], naive_conv2d(x_big[-2:], w_big, ((1, 1), (1, 1)), groups=groups), rtol=1e-12, atol=1e-12
    )


def test_merged_path_chunks_to_the_cache_where_enough_images_fit():
    """Chunks of about _MERGED_CHUNK_BYTES of columns and results, unless that would leave
    fewer than _MERGED_CHUNK_MIN_IMAGES images a chunk (AlexNet's first layer: 5.1 MB an image)."""
    rng = np.random.default_rng(7)
    cases = [
        # 14x14 outputs of 576 taps and 128 results: 551,936 bytes an image, 30 in 16 MiB
        (rng.standard_normal((40, 64, 28, 28), dtype=np.float32), (128, 64, 3, 3), 1, 2, [30, 10]),
        # 55x55 outputs of 363 taps and 8 results, and the phase split: 5,112,908 bytes an image, 3 in 16 MiB
        (rng.standard_normal((5, 3, 227, 227), dtype=np.float32), (8, 3, 11, 11), 0, 4, [5]),
    ]
    seen: list[int] = []
    real = numpy_gemm._fill_cols

    def spy(buf, xs, *args, **kwargs):
        seen.append(len(xs))
        return real(buf, xs, *args, **kwargs)

    for x, w_shape, pad, stride, chunks in cases:
        w = rng.standard_normal(w_shape, dtype=np.float32)
        pads = ((pad, pad), (pad, pad))
        seen.clear()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(numpy_gemm, "_fill_cols", spy)
            got = numpy_gemm.correlate(x, w, pads, (stride, stride), (1, 1), 1)
        assert seen == chunks, (x.shape, seen)
        expected = reference.correlate(
            x.astype(np.float64), w.astype(np.float64), pads, (stride, stride), (1, 1), 1
        )
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 1),
    st.booleans(),
    st.sampled_from(["max", "sum", "average_exc_pad", "average_inc_pad"]),
    st.integers(0, 2**32 - 1),
)
def test_pool2d_in_blocks_of_planes_matches_the_reference(ws, stride, pad, ignore_border, mode, seed):
    """pool2d pools a block of planes at a time (a 4 KiB block here: many blocks, a ragged
    last one); NaN lands where Theano's first-cell rule (first_cell_nan) puts it."""
    from legacyconv import pool_2d
    from legacyconv._pool_plan import first_cell_nan, pool_plan

    pad = min(pad, ws - 1)
    if pad:
        ignore_border = True
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 7, 9, 8)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    x0 = x.copy()
    old = numpy_gemm._POOL_BLOCK_BYTES
    numpy_gemm._POOL_BLOCK_BYTES = 4096
    try:
        got = pool_2d(x, (ws, ws), ignore_border, (stride, stride), (pad, pad), mode)
    finally:
        numpy_gemm._POOL_BLOCK_BYTES = old
    np.testing.assert_array_equal(x, x0)
    if mode == "max":
        expected = reference.pool(
            np.where(np.isnan(x), -np.inf, x), (ws, ws), ignore_border, (stride, stride), (pad, pad), mode
        )
        nan = first_cell_nan(
            x, pool_plan(x.shape[-2:], (ws, ws), ignore_border, (stride, stride), (pad, pad), mode)
        )
        if nan is not None:
            expected[nan] = np.nan
    else:
        with np.errstate(invalid="ignore"):
            expected = reference.pool(x, (ws, ws), ignore_border, (stride, stride), (pad, pad), mode)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@settings(max_examples=120, deadline=None)
@given(
    nd=st.sampled_from([1, 2, 3]),
    path=st.sampled_from(["merged", "per_image", "rows"]),
    grad=st.booleans(),
    data=st.data(),
)
def test_unpadded_columns_in_one_copy_equal_the_reference(nd, path, grad, data):
    # an unpadded input whose strided copies read x directly: the columns are one strided view
    n, cg, groups, og = (data.draw(st.integers(1, 3)) for _ in range(4))
    spatial = tuple(data.draw(st.integers(1, 12 if nd < 3 else 7)) for _ in range(nd))
    kernel = tuple(data.draw(st.integers(1, 4)) for _ in range(nd))
    strides = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    dil = tuple(data.draw(st.integers(1, 2)) for _ in range(nd))
    if any(s < (k - 1) * d + 1 for s, k, d in zip(spatial, kernel, dil)):
        return
    if all(k == 1 for k in kernel + strides):  # the GEMM itself: no columns
        return
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, cg * groups, *spatial))
    w = rng.standard_normal((og * groups, cg, *kernel))
    pads = ((0, 0),) * nd
    views = []
    real = numpy_gemm._column_view
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(numpy_gemm, "_column_view", lambda *a: views.append(a[5]) or real(*a))
        mp.setattr(numpy_gemm, "_SPLIT_MIN_TAPS_PER_PHASE", 10**9)  # no phase split
        mp.setattr(numpy_gemm, "_shifted_plan", lambda *a: None)  # im2col at stride 1 too
        mp.setattr(numpy_gemm._winograd, "plan", lambda *a: None)
        mp.setattr(numpy_gemm, "_MERGE_BELOW", 10**9 if path == "merged" else 0)
        mp.setattr(numpy_gemm, "_MERGE_BELOW_LARGE_K", 10**9 if path == "merged" else 0)
        if path == "rows":  # chunks of output rows: the view starts past the first row
            mp.setattr(numpy_gemm, "im2col_plan", lambda shape, kernel, out_sp, *a, **k: (1, 1))
        if grad:
            y = rng.standard_normal(reference.correlate(x, w, pads, strides, dil, groups).shape)
            got = numpy_gemm.correlate_weight_grad(x, y, kernel, pads, strides, dil, groups)
            expected = reference.conv_weight_grad(x, y, kernel, pads, strides, dil, groups, False)
        else:
            got = numpy_gemm.correlate(x, w, pads, strides, dil, groups)
            expected = reference.correlate(x, w, pads, strides, dil, groups)
    out_rows = (y if grad else expected).shape[2]
    # the columns came from the view alone, from each output row in turn when chunked by rows
    assert sorted(set(views)) == (list(range(out_rows)) if path == "rows" else [0])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_column_view_refuses_to_reach_past_the_input():
    x = np.zeros((1, 2, 9, 9))
    view = numpy_gemm._column_view(x, (3, 3), (4, 7), (2, 1), (1, 1), 0, False)
    assert view.shape == (1, 2, 3, 3, 4, 7) and not view.flags.writeable
    assert view[0, 1, 2, 1, 3, 6] is not None and np.shares_memory(view, x)
    with pytest.raises(ValueError, match="reach"):  # 5 rows of stride 2 need 11 > 9 cells
        numpy_gemm._column_view(x, (3, 3), (5, 7), (2, 1), (1, 1), 0, False)
    with pytest.raises(ValueError, match="reach"):  # from output row 1, 4 rows need 9 + 2
        numpy_gemm._column_view(x, (3, 3), (4, 7), (2, 1), (1, 1), 1, False)
