"""signal.pool.pool_3d / max_pool_2d_same_size, signal.downsample.max_pool_2d and signal.conv.conv2d
against real Theano 1.0.5 (tests/data/theano_nnet_reference.*) and independent NumPy references."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from legacyconv import LegacyconvError, pool_2d
from legacyconv.signal import conv, downsample, pool

from golden import assert_matches_theano, cases, tight_tolerance, tolerance
from reference import conv as reference_conv
from reference import pool_3d as naive_pool_3d

SOURCE = "theano_nnet_reference"


def _ids(cs):
    return [c["name"] for c in cs]


POOL3D = cases("pool_3d", source=SOURCE)
SAME = cases("max_pool_2d_same_size", source=SOURCE)
OLD = cases("max_pool_2d", source=SOURCE)
SCONV = cases("signal_conv2d", source=SOURCE)


@pytest.mark.parametrize("case", POOL3D, ids=_ids(POOL3D))
def test_pool_3d_matches_theano(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_matches_theano(pool.pool_3d, case, tol=tight_tolerance)


@pytest.mark.parametrize("case", SAME, ids=_ids(SAME))
def test_max_pool_2d_same_size_matches_theano(case):
    assert_matches_theano(pool.max_pool_2d_same_size, case, tol=lambda d, e: {"rtol": 0, "atol": 0})


@pytest.mark.parametrize("case", OLD, ids=_ids(OLD))
def test_downsample_max_pool_2d_matches_theano(case):
    """Recorded as Theano 1.0.5's pool_2d(ds=, st=, padding=): what Theano 0.8's alias called."""
    assert_matches_theano(downsample.max_pool_2d, case, tol=tight_tolerance)


@pytest.mark.parametrize("case", SCONV, ids=_ids(SCONV))
def test_signal_conv2d_matches_theano(case):
    assert_matches_theano(conv.conv2d, case, tol=tolerance)


@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize(
    "ws, stride, pad, ignore_border",
    [
        ((2, 2, 2), (2, 2, 2), (0, 0, 0), True),
        ((3, 2, 2), (2, 1, 3), (0, 0, 0), False),
        ((3, 3, 2), (1, 2, 2), (1, 2, 1), True),
        ((2, 3, 3), (3, 3, 2), (0, 0, 0), False),
    ],
)
def test_pool_3d_against_every_window(ws, stride, pad, ignore_border, mode):
    x = np.random.default_rng(5).standard_normal((2, 3, 5, 7, 6))
    out = pool.pool_3d(x, ws, ignore_border, stride, pad, mode)
    np.testing.assert_allclose(
        out, naive_pool_3d(x, ws, stride, pad, ignore_border, mode), rtol=1e-13, atol=1e-13
    )


def test_pool_3d_integer_average_truncates_and_keeps_dtype():
    x = np.arange(2 * 3 * 4, dtype=np.int32).reshape(2, 3, 4)
    out = pool.pool_3d(x, (2, 2, 3), ignore_border=False, mode="average_inc_pad")
    assert out.dtype == np.int32
    np.testing.assert_array_equal(
        out, np.trunc(naive_pool_3d(x, (2, 2, 3), (2, 2, 3), (0, 0, 0), False, "average_inc_pad"))
    )


@pytest.mark.parametrize("backend", ["scipy", "tensorflow"])
def test_pool_3d_backends_agree_with_numpy(backend):
    pytest.importorskip("tensorflow") if backend == "tensorflow" else None
    x = np.random.default_rng(6).standard_normal((2, 3, 6, 7, 8)).astype(np.float32)
    for mode in ("max", "average_exc_pad"):
        ref = pool.pool_3d(x, (2, 3, 2), True, (1, 2, 2), (1, 1, 0), mode)
        out = pool.pool_3d(x, (2, 3, 2), True, (1, 2, 2), (1, 1, 0), mode, backend=backend)
        np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)


def test_pool_3d_errors_and_warnings():
    x = np.zeros((1, 4, 4, 4))
    with pytest.raises(LegacyconvError, match="pad requires ignore_border=True"):
        pool.pool_3d(x, (2, 2, 2), False, pad=(1, 0, 0))
    with pytest.raises(LegacyconvError, match="pad must be smaller than ws"):
        pool.pool_3d(x, (2, 2, 2), True, pad=(2, 0, 0))
    with pytest.raises(LegacyconvError, match=r"at least 3 dimensions.*\(4, 4\)"):
        pool.pool_3d(x[0, 0], (2, 2, 2), True)
    with pytest.raises(LegacyconvError, match="ws .* must be given"):
        pool.pool_3d(x, ignore_border=True)
    with pytest.raises(LegacyconvError, match="give ws only"):
        pool.pool_3d(x, (2, 2, 2), True, ds=(2, 2, 2))
    with pytest.raises(LegacyconvError, match="ws must be a tuple of 3"):
        pool.pool_3d(x, (2, 2), True)
    with pytest.warns(UserWarning, match="ignore_border"):
        pool.pool_3d(x, (2, 2, 2))
    with pytest.warns(DeprecationWarning, match="'ds' is deprecated"):
        pool.pool_3d(x, ds=(2, 2, 2), ignore_border=True)


def test_max_pool_2d_same_size_independent():
    x = np.array([[[1.0, 5.0, 5.0, 2.0, 9.0], [5.0, 0.0, 5.0, 7.0, 9.0], [8.0, 8.0, 1.0, 1.0, 9.0]]])
    out = pool.max_pool_2d_same_size(x, (2, 2))
    # ties keep every maximal cell; the last row and column (no full window) become zeros
    expected = np.array([[[0.0, 5.0, 0.0, 0.0, 0.0], [5.0, 0.0, 0.0, 7.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]]])
    np.testing.assert_array_equal(out, expected)


def test_downsample_max_pool_2d_is_pool_2d_under_the_old_names():
    x = np.random.default_rng(7).standard_normal((2, 3, 7, 8))
    for args in [((2, 2), False, None, (0, 0), "max"), ((3, 2), True, (2, 1), (1, 1), "average_exc_pad")]:
        np.testing.assert_array_equal(downsample.max_pool_2d(x, *args), pool_2d(x, *args))
    with pytest.warns(UserWarning, match="max_pool_2d\\(\\) will have the parameter ignore_border"):
        downsample.max_pool_2d(x, (2, 2))


def test_signal_conv2d_shapes_and_independent_values():
    rng = np.random.default_rng(8)
    im, k = rng.standard_normal((6, 5)), rng.standard_normal((2, 3))
    full = reference_conv(im[None, None], k[None, None], "full")[0, 0]  # true convolution
    np.testing.assert_allclose(conv.conv2d(im, k, border_mode="full"), full, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(conv.conv2d(im, k), full[1:6, 2:5], rtol=1e-13, atol=1e-13)
    assert conv.conv2d(np.stack([im] * 3), k).shape == (3, 5, 3)
    assert conv.conv2d(im, np.stack([k] * 4), subsample=(2, 1)).shape == (4, 3, 3)
    assert conv.conv2d(np.stack([im] * 3), np.stack([k] * 4)).shape == (3, 4, 5, 3)
    with pytest.raises(LegacyconvError, match=r"input must be 2-d .* or 3-d"):
        conv.conv2d(im[None, None], k)
    with pytest.raises(LegacyconvError, match="shape hint does not match"):
        conv.conv2d(im, k, image_shape=(6, 4), filter_shape=(2, 3))
