"""Cross-channel LRN (legacyconv._lrn.cross_channel_lrn), the arithmetic of the Lasagne mirror's
LocalResponseNormalization2DLayer and of the graph runner's 'lrn' op, against tests/reference.py.
Real Lasagne's outputs of two LRN layers are checked in tests/test_lasagne_networks.py."""

from __future__ import annotations

import contextlib
import tracemalloc

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from legacyconv import LegacyconvError, _lrn
from legacyconv._lrn import cross_channel_lrn
from legacyconv.graph import Graph
from legacyconv.graph.numpy_runner import run_graph
from legacyconv.lasagne import layers as L

import reference

DTYPES = [np.float16, np.float32, np.float64]


@st.composite
def lrn_args(draw):
    spatial = draw(st.lists(st.integers(1, 5), min_size=0, max_size=2))
    shape = (draw(st.integers(0, 3)), draw(st.integers(1, 9)), *spatial)
    n = draw(st.sampled_from([1, 3, 5, 7, 9, 11]))
    alpha = draw(st.sampled_from([1e-4, 2e-5, 0.02, 0.5, 1.0]))
    k = draw(st.sampled_from([0.5, 1.0, 2.0]))
    beta = draw(st.sampled_from([0.75, 0.75, 0.5, 1.0, 0.6]))
    return shape, n, alpha, k, beta, draw(st.sampled_from(DTYPES)), draw(st.integers(0, 2**31 - 1))


def _data(shape, dtype, seed, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


@contextlib.contextmanager
def _blocks(block_bytes, image_bytes):
    """cross_channel_lrn's blocks: whole images up to ``block_bytes`` together, and images over
    ``image_bytes`` in blocks of ``block_bytes`` of their positions."""
    old = _lrn._BLOCK_BYTES, _lrn._IMAGE_BYTES
    _lrn._BLOCK_BYTES, _lrn._IMAGE_BYTES = block_bytes, image_bytes
    try:
        yield
    finally:
        _lrn._BLOCK_BYTES, _lrn._IMAGE_BYTES = old


@settings(max_examples=150, deadline=None)
@given(lrn_args(), st.sampled_from([1, 3, -1, -4]))
@example(((2, 9), 11, 1.0, 2.0, 0.6, np.float32, 0), 1)  # powf's result was 3 ulps off here
def test_matches_lasagne_sums_and_the_float64_definition(args, block):
    shape, n, alpha, k, beta, dtype, seed = args
    x = _data(shape, dtype, seed)
    before = x.copy()
    # blocks of 1 or 3 positions of one image (every channel), or of 1 or 4 whole images
    if block > 0:
        blocks = _blocks(block * shape[1] * x.itemsize, 0)
    else:
        blocks = _blocks(-block * max(1, x[:1].nbytes), _lrn._IMAGE_BYTES)
    with blocks:
        got = cross_channel_lrn(x, alpha, k, beta, n)
    assert got.dtype == x.dtype and got.shape == x.shape
    np.testing.assert_array_equal(x, before)  # the input is not modified
    # Lasagne's sums, term by term, and the correctly rounded power: the same bits
    np.testing.assert_array_equal(got, reference.lrn(x, alpha, k, beta, n, in_dtype=True))
    rtol = {np.float16: 5e-3, np.float32: 2e-6, np.float64: 1e-13}[dtype]
    np.testing.assert_allclose(got, reference.lrn(x, alpha, k, beta, n), rtol=rtol, atol=0)


@pytest.mark.parametrize("threads", [1, 3])
def test_blocks_do_not_change_the_bits(threads, monkeypatch):
    x = _data((7, 12, 6, 5), np.float32, 1, scale=40.0)
    whole = cross_channel_lrn(x, 2e-5, 1.0, 0.75, 5)
    np.testing.assert_array_equal(whole, reference.lrn(x, 2e-5, 1.0, 0.75, 5, in_dtype=True))
    monkeypatch.setenv("LEGACYCONV_NUM_THREADS", str(threads))  # blocks shared out, or not
    one_position = 12 * 4
    for blocks in (
        _blocks(one_position, 0),
        _blocks(7 * one_position, 0),
        _blocks(x[:1].nbytes, _lrn._IMAGE_BYTES),  # one image per block
    ):
        with blocks:
            np.testing.assert_array_equal(cross_channel_lrn(x, 2e-5, 1.0, 0.75, 5), whole)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_large_image_runs_in_bounded_memory(threads, monkeypatch):
    monkeypatch.setenv("LEGACYCONV_NUM_THREADS", str(threads))
    x = _data((1, 16, 128, 128), np.float32, 7)  # one 1 MiB image
    block = 2**16
    with _blocks(block, block):  # the image is larger than a block: blocks of its positions
        tracemalloc.start()
        try:
            got = cross_channel_lrn(x, 1e-3, 2.0, 0.75, 5)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    # the output and, for each thread, the terms (a block and its padding channels), two
    # float64 blocks (4 blocks) and NumPy's casting buffers; all at once, the image alone
    # would take 6.3 times itself
    assert peak < got.nbytes + 8 * block * threads, (peak, got.nbytes)
    np.testing.assert_array_equal(got, cross_channel_lrn(x, 1e-3, 2.0, 0.75, 5))


def test_power_075_is_correctly_rounded_where_powf_is_not():
    # scales whose float32 powf result is 1 ulp off the correctly rounded one exist; on those the
    # result must still equal x / CR(scale ** 0.75) (x = 1, k = scale, alpha = 0: the scale is k)
    rng = np.random.default_rng(3)
    ks = (1 + rng.random(20000) * 1000).astype(np.float32)
    correct = (ks.astype(np.float64) ** 0.75).astype(np.float32)
    powf = ks ** np.float32(0.75)
    off = ks[powf != correct]
    assert off.size  # else this test checks nothing on this libm
    for kk in off[:5]:
        got = cross_channel_lrn(np.ones((1, 1), np.float32), 0.0, float(kk), 0.75, 1)
        want = np.float32(1) / (np.float64(kk) ** 0.75).astype(np.float32)
        assert got[0, 0] == want, kk


def test_non_finite_values_spread_to_the_neighbouring_channels_only():
    x = _data((2, 9, 3, 3), np.float32, 2)
    x[0, 4, 1, 1] = np.nan
    x[1, 0, 0, 0] = np.inf
    got = cross_channel_lrn(x, 1e-2, 2.0, 0.75, 3)
    want = reference.lrn(x, 1e-2, 2.0, 0.75, 3, in_dtype=True)
    np.testing.assert_array_equal(got, want)  # NaN where the reference has NaN, the rest equal
    assert np.isnan(got[0, 3:6, 1, 1]).all() and not np.isnan(got[0, [2, 6], 1, 1]).any()
    assert np.isnan(got[1, 0, 0, 0]) and got[1, 1, 0, 0] == 0 and np.isfinite(got[1, 2, 0, 0])


def test_views_and_empty_batches():
    x = _data((5, 4, 3, 6), np.float32, 4)
    view = x.transpose(0, 1, 3, 2)[::2]  # not contiguous
    np.testing.assert_array_equal(
        cross_channel_lrn(view, 1e-3, 1.0, 0.75, 3),
        reference.lrn(np.ascontiguousarray(view), 1e-3, 1.0, 0.75, 3, in_dtype=True),
    )
    assert cross_channel_lrn(np.ones((0, 3, 2, 2), np.float32), 1e-3, 1.0, 0.75, 3).shape == (0, 3, 2, 2)


@pytest.mark.parametrize(
    "x, n, message",
    [
        (np.ones((1, 3, 2, 2), np.int64), 5, r"floating-point input.*dtype int64, shape \(1, 3, 2, 2\)"),
        (np.ones((1, 3, 2, 2), bool), 5, r"floating-point input.*dtype bool"),
        (np.ones((3,), np.float32), 5, r"\(batch, channels, \.\.\.\) input.*shape \(3,\)"),
        (np.ones((1, 3, 2, 2), np.float32), 4, r"odd n >= 1.*n=4"),
        (np.ones((1, 3, 2, 2), np.float32), 0, r"odd n >= 1.*n=0"),
    ],
)
def test_errors(x, n, message):
    with pytest.raises(LegacyconvError, match=message):
        cross_channel_lrn(x, 1e-4, 2.0, 0.75, n)


def test_the_mirror_layer_and_the_graph_op_share_it():
    x = _data((2, 6, 4, 4), np.float32, 6)
    want = reference.lrn(x, 1e-2, 2.0, 0.75, 3, in_dtype=True)
    layer = L.LocalResponseNormalization2DLayer(
        L.InputLayer((None, 6, 4, 4)), alpha=1e-2, k=2.0, beta=0.75, n=3
    )
    np.testing.assert_array_equal(layer.get_output_for(x), want)
    g = Graph()
    g.add("input", "x", attrs={"shape": x.shape[1:]})
    g.add("lrn", "y", ["x"], attrs={"alpha": 1e-2, "k": 2.0, "beta": 0.75, "n": 3})
    g.outputs = ["y"]
    g.infer_shapes()
    np.testing.assert_array_equal(run_graph(g, {"x": x}, ["y"])["y"], want)
