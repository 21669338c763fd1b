"""The seed article (Theano conv2d vs scipy.signal.fftconvolve), reproduced exactly.

Expected values are parsed from the article's own printed output (tests/article.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.signal

import legacyconv

from article import ARTICLE, article_blocks

BLOCKS = article_blocks()
ENGINES = ["numpy", "scipy"]
APIS = {
    "modern": lambda m, w, mode, backend: legacyconv.conv2d(m, w, border_mode=mode, backend=backend),
    "legacy": lambda m, w, mode, backend: legacyconv.nnet.conv.conv2d(
        m, w, border_mode=mode, backend=backend
    ),
}


def _arrays(block):
    m = block["m_arr"].astype(np.float32)
    w = block["w_arr"].astype(np.float32)
    return m, w


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("backend", ENGINES)
@pytest.mark.parametrize("block_index", [0, 1, 4])
@pytest.mark.parametrize("mode", ["full", "valid"])
def test_theano_results(api, backend, block_index, mode):
    block = BLOCKS[block_index]
    m, w = _arrays(block)
    if m.ndim == 2:  # the article's m[None, None, :, :]
        m, w = m[None, None], w[None, None]
    out = APIS[api](m, w, mode, backend)
    assert out.dtype == np.float32
    expected = block[("theano", mode)]
    np.testing.assert_array_equal(out.round().astype(int), expected)


@pytest.mark.parametrize("block_index, shapes_index", [(1, 2), (4, 5)])
def test_theano_shapes(block_index, shapes_index):
    m, w = _arrays(BLOCKS[block_index])
    for mode in ("full", "valid"):
        assert legacyconv.conv2d(m, w, border_mode=mode).shape == BLOCKS[shapes_index][("theano", mode)]


def test_article_quotes_the_stack_size_error():
    assert "images and kernel must have the same stack size" in ARTICLE.read_text(encoding="utf-8")


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("backend", ENGINES)
@pytest.mark.parametrize("mode", ["full", "valid"])
def test_stack_size_error(api, backend, mode):
    m = np.arange(2 * 3 * 5 * 5).reshape((2, 3, 5, 5)).astype(np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    pattern = (
        r"images and kernel must have the same stack size: input\.shape=\(2, 3, 5, 5\) has 3 "
        r"channels, filters\.shape=\(1, 1, 3, 3\) expects 1"
    )
    with pytest.raises(legacyconv.LegacyconvError, match=pattern):
        APIS[api](m, w, mode, backend)
    with pytest.raises(ValueError, match="same stack size"):  # Theano raised ValueError too
        APIS[api](m, w, mode, backend)


# What scipy.signal.fftconvolve does with the same 4-D arrays: the article's point is that it
# convolves over batch and channel axes too, so it is not conv2d.


@pytest.mark.parametrize("block_index", [0, 1, 4])
def test_fftconvolve_full(block_index):
    m, w = _arrays(BLOCKS[block_index])
    got = scipy.signal.fftconvolve(m, w, "full").round().astype(int)
    np.testing.assert_array_equal(got, BLOCKS[block_index][("scipy", "full")])


@pytest.mark.parametrize("block_index", [0, 1])
def test_fftconvolve_valid(block_index):
    m, w = _arrays(BLOCKS[block_index])
    got = scipy.signal.fftconvolve(m, w, "valid").round().astype(int)
    np.testing.assert_array_equal(got, BLOCKS[block_index][("scipy", "valid")])


def test_fftconvolve_is_not_conv2d_on_4d_arrays():
    m, w = _arrays(BLOCKS[1])
    full = scipy.signal.fftconvolve(m, w, "full")
    assert full.shape == BLOCKS[2][("scipy", "full")] == (2, 5, 7, 7)
    assert legacyconv.conv2d(m, w, border_mode="full").shape == (2, 1, 7, 7)
    # Only 'valid' over a kernel spanning all channels coincides with Theano's result.
    np.testing.assert_allclose(scipy.signal.fftconvolve(m, w, "valid"), legacyconv.conv2d(m, w), rtol=1e-5)


def test_fftconvolve_stack_mismatch_shapes():
    m = np.arange(2 * 3 * 5 * 5).reshape((2, 3, 5, 5)).astype(np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    assert scipy.signal.fftconvolve(m, w, "full").shape == BLOCKS[3][("scipy", "full")]
    assert scipy.signal.fftconvolve(m, w, "valid").shape == BLOCKS[3][("scipy", "valid")]


def test_fftconvolve_valid_error():
    """The article's SciPy raised for 'valid' on (2,1,3,3) * (3,1,1,1). The same shape check,
    with the same words, still guards scipy.signal.convolve; SciPy's newer fftconvolve treats
    length-1 axes as broadcast axes instead and returns a (2,1,3,3) array, which is still not
    Theano's (2,3,3,3) result."""
    m, w = _arrays(BLOCKS[4])
    message = BLOCKS[4][("scipy", "valid")]
    assert message.startswith("ValueError: ")
    with pytest.raises(ValueError, match=re.escape(message[len("ValueError: ") :])):
        scipy.signal.convolve(m, w, "valid")
    try:
        modern = scipy.signal.fftconvolve(m, w, "valid")
    except ValueError as exc:  # the SciPy of the article
        assert str(exc) == message[len("ValueError: ") :]
    else:
        assert modern.shape != legacyconv.conv2d(m, w).shape == BLOCKS[5][("theano", "valid")]
    assert scipy.signal.fftconvolve(m, w, "full").shape == BLOCKS[5][("scipy", "full")]
