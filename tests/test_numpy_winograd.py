"""The numpy engine's F(2x2, 3x3) path for stride-1 3x3 correlations
(``legacyconv/engines/_winograd.py``). Expected values come from the naive reference
(tests/reference.py), from real Theano 1.0.5 (golden) and from the direct method for NaN, Inf
and values too large for the transforms; the path is forced on where the default thresholds
would not take it, and a spy proves it ran."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import legacyconv
import legacyconv.lasagne as mirror
from legacyconv import conv2d, workspace_limit
from legacyconv.engines import _winograd, numpy_gemm

import reference
from golden import assert_matches_theano, cases


@contextlib.contextmanager
def winograd(force: bool = True, block_cells: int | None = None):
    """Record the image blocks :func:`_winograd.correlate` ran and the blocks it left to the
    direct method; ``force``: take it on every 3x3 stride-1 layer, whatever its size (also
    those the channels-last layout takes first)."""
    calls: list[tuple[int, list]] = []
    real = _winograd.correlate

    def spy(x, w, pads, out, images, groups=1):
        left = real(x, w, pads, out, images, groups)
        calls.append((images, left))
        return left

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_winograd, "correlate", spy)
        if force:
            mp.setattr(_winograd, "_MIN_CHANNELS", 1)
            mp.setattr(_winograd, "_MIN_SAVED_PER_PAIR", -(2**62))
            mp.setattr(_winograd, "_MAX_IMAGE_CELLS", 2**62)
            mp.setattr(_winograd, "_MAX_WORK_RATIO", 2.0**62)
            mp.setattr(_winograd, "_SMALL_IMAGE_MIN_CHANNELS", ())
            mp.setattr(numpy_gemm, "_channels_last_first", lambda *args: False)
        if block_cells is not None:
            mp.setattr(_winograd, "_BLOCK_CELLS", block_cells)
        yield calls


def direct(x, w, pads, groups=1):
    """The engine's direct method on the same arguments (no F(2x2, 3x3))."""
    n, k = x.shape[0], w.shape[0]
    out_sp = tuple(s + lo + hi - 2 for s, (lo, hi) in zip(x.shape[2:], pads))
    out = np.empty((n, groups, k // groups, out_sp[0] * out_sp[1]), x.dtype)
    wm = np.ascontiguousarray(w).reshape(groups, k // groups, -1)
    return numpy_gemm._correlate_direct(x, wm, (3, 3), pads, (1, 1), (1, 1), out_sp, out)


def test_kernel_transform_is_g_w_gt():
    """Against G g G^T written out from Lavin and Gray's paper, in float64."""
    g_mat = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    rng = np.random.default_rng(0)
    for shape in [(1, 1), (3, 5), (7, 2000)]:  # the last spans several chunks
        w = rng.standard_normal((*shape, 3, 3))
        expected = np.einsum("ai,kcij,bj->abkc", g_mat, w, g_mat).reshape(16, *shape)
        np.testing.assert_allclose(_winograd.transform_kernel(w), expected, rtol=1e-15, atol=1e-15)
        w32 = w.astype(np.float32)
        got = _winograd.transform_kernel(w32)
        exact = np.einsum("ai,kcij,bj->abkc", g_mat, w32.astype(np.float64), g_mat).reshape(16, *shape)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, exact.astype(np.float32))  # rounded once


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 4),
    c=st.integers(1, 5),
    k=st.integers(1, 5),
    groups=st.integers(1, 3),
    h=st.integers(1, 9),
    w_=st.integers(1, 9),
    pads=st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
    block_cells=st.sampled_from([1, 30, 100, 10**6]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_equals_the_reference(n, c, k, groups, h, w_, pads, block_cells, dtype, seed):
    """Odd and even output sizes, asymmetric and large padding, blocks of one image to all of
    them with a ragged last block, both dtypes, ``c`` input and ``k`` output channels per group."""
    pads = ((pads[0], pads[1]), (pads[2], pads[3]))
    if h + sum(pads[0]) < 3 or w_ + sum(pads[1]) < 3:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c * groups, h, w_)).astype(dtype)
    w = rng.standard_normal((k * groups, c, 3, 3)).astype(dtype)
    with winograd(block_cells=block_cells) as calls:
        got = numpy_gemm.correlate(x, w, pads, (1, 1), (1, 1), groups)
    assert len(calls) == 1 and calls[0][1] == []
    expected = reference.correlate(x, w, pads, (1, 1), (1, 1), groups)
    assert got.dtype == dtype and got.shape == expected.shape
    for g in range(groups):  # each group's error within the bound of its own channels
        ins, outs = slice(g * c, (g + 1) * c), slice(g * k, (g + 1) * k)
        bound = error_bound(x[:, ins], w[outs], pads, got[:, outs].shape)
        assert np.all(np.abs(got[:, outs] - expected[:, outs]) <= bound)


def error_bound(x, w, pads, out_shape):
    """A bound on F(2x2, 3x3)'s rounding error at each output: 64 eps times the magnitude its
    arithmetic handles, the sum over input channels of the tile's 4x4 input patch magnitude
    times the largest kernel magnitude of the output channel (the transforms add at most 4
    inputs, 9 kernel taps / 4, and 9 products)."""
    n, _, out_h, out_w = out_shape
    th, tw = -(-out_h // 2), -(-out_w // 2)
    (top, bottom), (left, right) = pads
    xp = np.pad(np.abs(x.astype(np.float64)), ((0, 0), (0, 0), (top, bottom + 2), (left, right + 2)))
    patch = np.zeros((n, th, tw))
    for i in range(4):
        for j in range(4):
            patch += xp[:, :, i : i + 2 * th : 2, j : j + 2 * tw : 2].sum(1)
    w_max = np.abs(w.astype(np.float64)).reshape(w.shape[0], -1).max(1)
    tiles = patch[:, None] * w_max[None, :, None, None]
    per_output = np.repeat(np.repeat(tiles, 2, axis=2), 2, axis=3)[:, :, :out_h, :out_w]
    return 64 * np.finfo(x.dtype).eps * per_output


GOLDEN = [
    c
    for c in cases("conv2d")
    if "error" not in c
    and c["inputs"][1].ndim == 4
    and c["inputs"][1].shape[2:] == (3, 3)
    and all(s == 1 for s in (c["kwargs"].get("subsample") or (1,)))
    and all(d == 1 for d in (c["kwargs"].get("filter_dilation") or (1,)))
]


def test_golden_has_3x3_stride_one_cases():
    assert len(GOLDEN) >= 2  # the rest of Theano's recorded 3x3 layers are dilated
    assert any(c["kwargs"].get("num_groups", 1) > 1 for c in GOLDEN)


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
def test_forced_path_matches_theano(case):
    with winograd() as calls:
        assert_matches_theano(legacyconv.conv2d, case)
    x, w = case["inputs"][:2]
    assert bool(calls) == (x.size > 0 and w.size > 0 and case["expected"].size > 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_finite_and_huge_blocks_take_the_direct_method(dtype):
    """A block holding NaN, Inf or values whose transforms could overflow is computed by the
    direct method: the same bits as that method, NaN and Inf where the direct sum puts them;
    the other blocks stay on F(2x2, 3x3)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3, 6, 7)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    w[0, 0, 0, 0] = 0.0  # Inf * 0 = NaN in the direct sum
    x[1, 0, 2, 3] = np.inf
    x[3, 2, 5, 6] = np.nan
    x[4, 1, 0, 0] = np.finfo(dtype).max / 4  # finite, but its transforms may overflow
    pads = ((1, 1), (1, 1))
    with winograd(block_cells=1) as calls:
        got = numpy_gemm.correlate(x, w, pads, (1, 1), (1, 1), 1)
    assert calls == [(1, [(1, 2), (3, 4), (4, 5)])]
    for b in (1, 3, 4):
        np.testing.assert_array_equal(got[b], direct(x[b : b + 1], w, pads)[0])
    assert np.isnan(got[1]).any() and np.isinf(got[1]).any() and np.isnan(got[3]).any()
    ref = reference.correlate(x, w, pads, (1, 1), (1, 1), 1)
    for b in (0, 2):
        assert np.all(np.abs(got[b] - ref[b]) <= error_bound(x[b : b + 1], w, pads, got[b : b + 1].shape)[0])


def test_a_block_refused_in_one_group_takes_the_direct_method_in_every_group():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4, 6, 5)).astype(np.float32)
    w = rng.standard_normal((6, 2, 3, 3)).astype(np.float32)
    x[1, 3, 2, 2] = np.nan  # image 1, second group
    pads = ((1, 1), (1, 1))
    with winograd(block_cells=1) as calls:
        got = numpy_gemm.correlate(x, w, pads, (1, 1), (1, 1), 2)
    assert calls == [(1, [(1, 2)])]
    np.testing.assert_array_equal(got[1], direct(x[1:2], w, pads, groups=2)[0])  # both groups, the same bits
    assert np.isnan(got[1, 3:]).any() and not np.isnan(got[1, :3]).any()
    ref = reference.correlate(x, w, pads, (1, 1), (1, 1), 2)
    for b in (0, 2):
        for g in range(2):
            outs = slice(3 * g, 3 * g + 3)
            bound = error_bound(x[b : b + 1, 2 * g : 2 * g + 2], w[outs], pads, got[b : b + 1, outs].shape)
            assert np.all(np.abs(got[b : b + 1, outs] - ref[b : b + 1, outs]) <= bound)


def test_the_bound_scales_with_the_kernel():
    """Finite values whose sum of squares is finite too, but whose products with the kernel
    could overflow in the transforms, are refused: the bound is 144 C max|x| max|w|."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = (rng.standard_normal((2, 3, 3, 3)) * 1e15).astype(np.float32)
    x[1, 0, 3, 3] = 1e18  # sum of squares 1e36: finite; 144 * 3 * 1e18 * 3e15 * 2**10 is not
    with winograd(block_cells=1) as calls:
        got = numpy_gemm.correlate(x, w, ((1, 1), (1, 1)), (1, 1), (1, 1), 1)
    assert calls == [(1, [(1, 2)])]
    np.testing.assert_array_equal(got[1], direct(x[1:], w, ((1, 1), (1, 1)))[0])
    ref = reference.correlate(x[:1], w, ((1, 1), (1, 1)), (1, 1), (1, 1), 1)
    assert np.all(np.abs(got[:1] - ref) <= error_bound(x[:1], w, ((1, 1), (1, 1)), ref.shape))


def test_non_finite_kernel_takes_the_direct_method():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 5, 5))
    w = rng.standard_normal((2, 3, 3, 3))
    w[1, 2, 1, 1] = -np.inf
    with winograd() as calls:
        got = numpy_gemm.correlate(x, w, ((0, 0), (0, 0)), (1, 1), (1, 1), 1)
    assert calls == [(2, [(0, 2)])]
    np.testing.assert_array_equal(got, direct(x, w, ((0, 0), (0, 0))))
    assert np.isnan(got[:, 1]).all() or np.isinf(got[:, 1]).any()


def test_inputs_not_modified_views_and_result_not_scratch():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((6, 9, 10, 4)).astype(np.float32)
    x = base.transpose(0, 3, 1, 2)[::2]  # a non-contiguous (3, 4, 9, 10) view
    w = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
    before, wb = base.copy(), w.copy()
    with winograd(block_cells=50) as calls:
        got = numpy_gemm.correlate(x, w, ((1, 0), (2, 1)), (1, 1), (1, 1), 1)
        again = numpy_gemm.correlate(x + 1, w, ((1, 0), (2, 1)), (1, 1), (1, 1), 1)
    assert len(calls) == 2
    np.testing.assert_array_equal(base, before)
    np.testing.assert_array_equal(w, wb)
    assert not np.shares_memory(got, again)
    ref = reference.correlate(x, w, ((1, 0), (2, 1)), (1, 1), (1, 1), 1)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_default_thresholds():
    """Taken on the layers where it was measured faster, not elsewhere."""
    f32 = np.dtype(np.float32)
    half = ((1, 1), (1, 1))
    one = (1, 1)
    taken = [
        ((8, 64, 56, 56), 64),
        ((8, 256, 28, 28), 256),
        ((8, 512, 14, 14), 512),
        ((4, 512, 14, 14), 512),  # 2960 multiply-adds saved per channel pair
        ((8, 192, 14, 14), 192),  # enough input channels for 14x14 outputs
        ((8, 128, 18, 18), 256),  # ... and for 18x18
        ((8, 96, 20, 20), 128),
    ]
    for shape, k in taken:
        assert _winograd.plan(shape, (3, 3), half, one, one, k, 1, f32) is not None, shape
    # CaffeNet's grouped conv4 and conv5, two groups of 192 channels on 13x13, 10 crops
    assert _winograd.plan((10, 384, 13, 13), (3, 3), half, one, one, 384, 2, f32) is not None
    assert _winograd.plan((10, 384, 13, 13), (3, 3), half, one, one, 256, 2, f32) is not None
    assert _winograd.plan((8, 64, 56, 56), (3, 3), half, one, one, 64, 1, np.dtype(np.float64)) == 1
    not_taken = [
        ((8, 32, 56, 56), (3, 3), half, one, one, 32, 1, f32),  # few channels
        ((8, 64, 112, 112), (3, 3), half, one, one, 64, 1, f32),  # large planes
        ((2, 512, 7, 7), (3, 3), half, one, one, 512, 1, f32),  # the kernel transform dominates
        ((2, 256, 14, 14), (3, 3), half, one, one, 256, 1, f32),  # 1480 saved per channel pair
        ((64, 128, 7, 7), (3, 3), half, one, one, 128, 1, f32),  # 400 of 441 multiply-adds kept
        ((8, 96, 14, 14), (3, 3), half, one, one, 208, 1, f32),  # GoogLeNet's 4a: few inputs for 14x14
        ((8, 160, 14, 14), (3, 3), half, one, one, 320, 1, f32),
        ((8, 64, 14, 14), (3, 3), half, one, one, 64, 1, f32),
        ((8, 96, 18, 18), (3, 3), half, one, one, 192, 1, f32),  # ... and for 18x18
        ((8, 64, 56, 56), (3, 3), half, (2, 2), one, 64, 1, f32),
        ((8, 64, 56, 56), (3, 3), half, one, (2, 2), 64, 1, f32),
        ((8, 64, 56, 56), (3, 3), half, one, one, 64, 2, f32),  # 32 channels a group
        ((8, 64, 56, 56), (5, 5), half, one, one, 64, 1, f32),
        ((8, 64, 16, 56, 56), (3, 3, 3), (*half, (1, 1)), (1, 1, 1), (1, 1, 1), 64, 1, f32),
        ((8, 64, 56, 56), (3, 3), half, one, one, 64, 1, np.dtype(np.float16)),
    ]
    for args in not_taken:
        assert _winograd.plan(*args) is None, args


def test_public_conv2d_takes_it_by_default_and_matches_the_reference():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 64, 20, 20))
    w = rng.standard_normal((64, 64, 3, 3))
    with winograd(force=False) as calls:
        got = conv2d(x, w, border_mode="half")
    assert calls == [(4, [])]  # 121 phase-plane cells an image: 4 images reach 512
    np.testing.assert_allclose(got, reference.conv(x, w, "half"), rtol=1e-10, atol=1e-10)


def test_blocks_fit_the_workspace_limit():
    shape, k = (8, 256, 28, 28), 256
    f32 = np.dtype(np.float32)
    args = ((3, 3), ((1, 1), (1, 1)), (1, 1), (1, 1), k, 1, f32)
    images = _winograd.plan(shape, *args)
    per_image = 28 * (256 + 256) * 15 * 15 * 4
    assert images is not None and images * per_image <= legacyconv.get_workspace_limit()
    with workspace_limit(2**20):  # one image's work arrays take 12.9 MB
        assert _winograd.plan(shape, *args) is None


LASAGNE = Path(__file__).parent / "data" / "lasagne"


@pytest.mark.parametrize(
    "name, key", [("vgg_bn_cnn", "prob"), ("block_net", None), ("tiny_caffenet", "prob")]
)
def test_real_lasagne_networks_with_every_3x3_layer_on_it(name, key):
    """The real Lasagne networks through the mirror, F(2x2, 3x3) forced on every 3x3 stride-1
    layer: every layer within the tolerances of ../shared/legacy_models/README.md of what
    Lasagne on Theano computed."""
    net = mirror.load_network(f"{LASAGNE / name}.py:build_model")
    out = net[key] if key else net
    mirror.load_params(out, LASAGNE / f"{name}_params.npz")
    ref = np.load(LASAGNE / f"{name}_reference.npz")
    layers = mirror.layers.get_all_layers(out)
    with winograd() as calls:
        outputs = mirror.layers.get_output(layers, ref["input"], deterministic=True)
    checked = 0
    for k in ref.files:
        if k.startswith("layer"):
            got, expected = outputs[int(k[5:7])], ref[k]
            atol = 1e-5 * max(1.0, float(np.abs(expected).max()))
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=atol, err_msg=k)
            checked += 1
    assert checked >= 5
    has_3x3 = any(
        type(layer).__name__.startswith("Conv2D")
        and tuple(layer.filter_size) == (3, 3)
        and tuple(layer.stride) == (1, 1)
        for layer in layers
    )
    assert bool(calls) == has_3x3 and all(left == [] for _, left in calls)
