"""NaN and Inf: placed as Theano 1.0.5's CorrMM placed them, on every engine; and the API's
size and byte-order guarantees.

``tests/data/theano_nonfinite.{npz,json}`` were recorded from real Theano (C code, CorrMM) by
``tests/data/record_nonfinite.py``: ``conv2d`` with ±Inf and NaN filters in padded modes, and
``conv2d_transpose`` with non-finite filters and strides.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from legacyconv import LegacyconvError, conv2d, conv2d_transpose, pool_2d
from legacyconv.engines import BACKENDS

DATA = Path(__file__).resolve().parent / "data"
META = json.loads((DATA / "theano_nonfinite.json").read_text())
ARRAYS = np.load(DATA / "theano_nonfinite.npz")


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _run(case, backend):
    x, w = (ARRAYS[k] for k in case["inputs"])
    kwargs = {k: _tuples(v) for k, v in case["kwargs"].items()}
    if case["op"] == "conv2d":
        return conv2d(x, w, backend=backend, **kwargs)
    return conv2d_transpose(x, w, tuple(case["output_shape"]), backend=backend, **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", META["cases"], ids=lambda c: c["name"])
def test_non_finite_placement_is_theanos(case, backend):
    if backend == "tensorflow":
        pytest.importorskip("tensorflow")
    expected = ARRAYS[case["output"]]
    out = _run(case, backend)
    assert out.shape == expected.shape and out.dtype == expected.dtype
    assert int(np.isnan(expected).sum()) == case["nan"]  # the recording itself
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(out), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(out), np.isneginf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(out[finite], expected[finite], rtol=1e-4, atol=1e-4)


def test_the_recording_has_non_finite_values_in_padding():
    # conv2d 'half' with ±Inf filters: Theano multiplied the padding zeros (0 * Inf = NaN)
    case = next(c for c in META["cases"] if c["name"] == "conv2d/half/pm_inf")
    assert case["nan"] > 0 and case["posinf"] > 0 and case["neginf"] > 0


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda x, w: conv2d(x, w, border_mode=10**12),
            r"conv2d output would have shape \(1, 1, 2000000000002",
        ),
        (lambda x, w: conv2d(x, w, border_mode=(10**6, (0, 10**7))), "more than this machine's"),
        (
            lambda x, w: conv2d_transpose(x, w, (10**7, 10**7), input_dilation=(2500000, 2500000)),
            r"conv2d_transpose output would have shape \(1, 1, 10000000, 10000000\)",
        ),
    ],
)
def test_absurd_sizes_are_refused_before_allocation(call, match):
    x = np.ones((1, 1, 4, 4), np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    with pytest.raises(LegacyconvError, match=match) as info:
        call(x, w)
    assert "input.shape=(1, 1, 4, 4)" in str(info.value) and "filters.shape=(1, 1, 3, 3)" in str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_results_are_native_byte_order(backend):
    if backend == "tensorflow":
        pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 6)).astype(">f4")
    w = rng.standard_normal((2, 3, 3, 3)).astype(">f8")
    pooled = pool_2d(x, (2, 2), ignore_border=True, backend="numpy" if backend == "scipy" else backend)
    assert pooled.dtype == np.float32 and pooled.dtype.isnative
    np.testing.assert_array_equal(pooled, x.astype("=f4").reshape(2, 3, 3, 2, 3, 2).max(axis=(3, 5)))
    out = conv2d(x, w, backend=backend)
    assert out.dtype == np.float64 and out.dtype.isnative
    assert x.dtype == ">f4"  # the input is not modified
