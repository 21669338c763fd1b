"""How the Lasagne mirror spends memory without changing a bit: a convolution layer's bias and
nonlinearity work in the engine's fresh result (legacyconv.lasagne.layers._epilogue), and
``get_output`` lets each intermediate output go once its last consumer has run. Expected values
are Theano's formulas written out in NumPy here (``0.5 * (x + |x|)`` for ``rectify``)."""

from __future__ import annotations

import weakref
from unittest import mock

import numpy as np
import pytest

from legacyconv.lasagne import layers as L
from legacyconv.lasagne import nonlinearities as nl
from legacyconv.lasagne.layers import _epilogue
from legacyconv.lasagne.layers._epilogue import bias_nonlinearity

RNG = np.random.default_rng(2026)


def special_values(shape, dtype):
    """Random values with NaN, both infinities, signed zeros, tiny and overflowing ones."""
    x = RNG.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    big = np.finfo(dtype).max
    values = [np.nan, np.inf, -np.inf, 0.0, -0.0, big, -big, np.finfo(dtype).tiny]
    count = min(len(values), flat.size // 2)
    flat[RNG.choice(flat.size, count, replace=False)] = values[:count]
    return x


def rectify_reference(s):
    with np.errstate(over="ignore", invalid="ignore"):
        return (np.abs(s) + s) * s.dtype.type(0.5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias_shape", [None, (1, 6, 1, 1), (1, 6, 5, 7), (1, 1, 1, 1)])
@pytest.mark.parametrize("block_bytes", [1, 200, 2**18])
def test_rectify_in_place_is_theanos_formula_bit_for_bit(dtype, bias_shape, block_bytes):
    out = special_values((3, 6, 5, 7), dtype)
    bias = None if bias_shape is None else special_values(bias_shape, dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        s = out if bias is None else out + bias
    expected = rectify_reference(s)
    with np.errstate(over="ignore"):
        unfused = nl.rectify(s.copy())
    bias_before = None if bias is None else bias.copy()
    with mock.patch.object(_epilogue, "_BLOCK_BYTES", block_bytes):  # one plane a block, some, all
        got = bias_nonlinearity(out, bias, nl.rectify, owned=True)
    assert got is out and got.dtype == dtype
    np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))  # the bits, NaN's too
    np.testing.assert_array_equal(got.view(np.uint8), unfused.view(np.uint8))
    if bias is not None:
        np.testing.assert_array_equal(bias, bias_before)


@pytest.mark.parametrize("nonlinearity", [nl.linear, nl.sigmoid, nl.tanh, nl.LeakyRectify(0.1)])
def test_other_nonlinearities_take_the_bias_in_place_and_run_as_before(nonlinearity):
    out = special_values((2, 4, 3, 3), np.float32)
    bias = RNG.standard_normal((1, 4, 1, 1)).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        expected = nonlinearity(out + bias)
        got = bias_nonlinearity(out, bias, nonlinearity, owned=True)
    np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))


@pytest.mark.parametrize(
    ("out_dtype", "bias", "owned"),
    [
        (np.float32, np.ones((1, 4, 1, 1), np.float32), False),  # someone else holds it
        (np.float32, np.ones((1, 4, 1, 1), np.float64), True),  # the sum is float64
        (np.float32, np.ones((2, 4, 1, 1), np.float32), True),  # not one bias for the batch
        (np.float16, np.ones((1, 4, 1, 1), np.float16), True),  # Theano's relu computes in float32
        (np.float32, np.ones((1, 4, 3, 1), np.float32), True),  # the sum would be larger
    ],
)
def test_results_it_may_not_write_are_left_alone(out_dtype, bias, owned):
    out = RNG.standard_normal((2, 4, 1, 3)).astype(out_dtype)
    before = out.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        expected = nl.rectify(out + bias)
    got = bias_nonlinearity(out, bias, nl.rectify, owned=owned)
    assert got is not out
    np.testing.assert_array_equal(out, before)
    np.testing.assert_array_equal(got, expected)


def test_a_non_contiguous_or_read_only_result_is_left_alone():
    base = RNG.standard_normal((2, 4, 6, 6)).astype(np.float32)
    for out in (base[:, :, ::2], np.lib.stride_tricks.as_strided(base, writeable=False)):
        before = out.copy()
        got = bias_nonlinearity(out, None, nl.rectify, owned=True)
        np.testing.assert_array_equal(out, before)
        np.testing.assert_array_equal(got, rectify_reference(before))


def test_conv_layer_works_in_the_engines_result_and_leaves_its_input_and_params():
    l_in = L.InputLayer((None, 3, 9, 9))
    conv = L.Conv2DLayer(l_in, 8, 3, pad="same", nonlinearity=nl.rectify)
    conv.b.set_value(RNG.standard_normal(8).astype(np.float32))
    x = RNG.standard_normal((2, 3, 9, 9)).astype(np.float32)
    x_before, w_before, b_before = x.copy(), conv.W.get_value().copy(), conv.b.get_value().copy()
    results = []
    convolve = conv.convolve
    with mock.patch.object(
        conv, "convolve", side_effect=lambda *a, **k: results.append(convolve(*a, **k)) or results[-1]
    ):
        got = conv.get_output_for(x)
    assert got is results[0]  # worked in place
    unfused = rectify_reference(convolve(x) + b_before[None, :, None, None])
    np.testing.assert_array_equal(got, unfused)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(conv.W.get_value(), w_before)
    np.testing.assert_array_equal(conv.b.get_value(), b_before)


def test_get_output_lets_intermediates_go_after_their_last_consumer():
    # in -> a -> b -> c, and a also into the concat at the end: a lives until then, b does not
    l_in = L.InputLayer((None, 4))
    a = L.DenseLayer(l_in, 4)
    b = L.DenseLayer(a, 4)
    c = L.DenseLayer(b, 4)
    d = L.DenseLayer(c, 4)
    cat = L.ConcatLayer([a, d, a])
    refs = {}
    alive_in_d = {}
    for layer in (a, b, c, d):
        original = layer.get_output_for

        def spy(inp, _layer=layer, _original=original, **kwargs):
            if _layer is d:
                alive_in_d.update((name, ref() is not None) for name, ref in refs.items())
            result = _original(inp, **kwargs)
            refs[_layer.name or id(_layer)] = weakref.ref(result)
            return result

        layer.get_output_for = spy
    for name, layer in zip("abcd", (a, b, c, d)):
        layer.name = name
    x = RNG.standard_normal((2, 4)).astype(np.float32)
    out = L.get_output(cat, x, deterministic=True)
    # while d runs: a still has a consumer (the concat), b's only consumer (c) has run
    assert alive_in_d == {"a": True, "b": False, "c": True}
    a_out, d_out = L.get_output([a, d], x, deterministic=True)
    np.testing.assert_array_equal(out, np.concatenate([a_out, d_out, a_out], axis=1))


def test_get_output_takes_any_iterable_of_layers():
    l_in = L.InputLayer((None, 3))
    a = L.DenseLayer(l_in, 2)
    b = L.DenseLayer(a, 2)
    x = np.ones((2, 3), np.float32)
    expected = L.get_output([b, a], x)
    for layers in (iter([b, a]), (b, a), {"b": b, "a": a}.values()):
        got = L.get_output(layers, x)
        assert isinstance(got, list) and len(got) == 2
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g, e)
