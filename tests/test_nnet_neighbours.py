"""nnet.neighbours against real Theano 1.0.5 (tests/data/theano_nnet_reference.*) and the loop that
Theano's docstring gives as the definition."""

from __future__ import annotations

import numpy as np
import pytest

from legacyconv import LegacyconvError
from legacyconv._errors import LegacyconvTypeError
from legacyconv.nnet import images2neibs, neibs2images

from golden import assert_matches_theano, cases

SOURCE = "theano_nnet_reference"


def exact(dtype, expected):
    return {"rtol": 0, "atol": 0}


def images2neibs_call(x, neib_shape, neib_step=None, mode="valid"):
    return images2neibs(x, neib_shape, neib_step, mode)


def _ids(cs):
    return [c["name"] for c in cs]


I2N = cases("images2neibs", source=SOURCE)
N2I = cases("neibs2images", source=SOURCE)


@pytest.mark.parametrize("case", I2N, ids=_ids(I2N))
def test_images2neibs_matches_theano(case):
    assert_matches_theano(images2neibs_call, case, tol=exact)


@pytest.mark.parametrize("case", N2I, ids=_ids(N2I))
def test_neibs2images_matches_theano(case):
    assert_matches_theano(neibs2images, case, tol=exact)


def naive_images2neibs(x, shape, step, mode):
    """The docstring's loop; zero outside the image for 'half'/'full', wrap for 'wrap_centered'."""
    n, s, h, w = x.shape
    c, d = shape
    shift = {"valid": (0, 0), "ignore_borders": (0, 0), "half": (c // 2, d // 2), "full": (c - 1, d - 1)}
    if mode == "wrap_centered":
        gc, gd = -(-h // step[0]), -(-w // step[1])
        sh = (c // 2, d // 2)
    else:
        sh = shift[mode]
        gc = (h + 2 * sh[0] - c) // step[0] + 1
        gd = (w + 2 * sh[1] - d) // step[1] + 1
    rows = []
    for i in range(n):
        for j in range(s):
            for a in range(gc):
                for b in range(gd):
                    patch = np.zeros((c, d), x.dtype)
                    for u in range(c):
                        for v in range(d):
                            r, q = a * step[0] + u - sh[0], b * step[1] + v - sh[1]
                            if mode == "wrap_centered":
                                r, q = r % h, q % w
                            if 0 <= r < h and 0 <= q < w:
                                patch[u, v] = x[i, j, r, q]
                    rows.append(patch.ravel())
    return np.array(rows).reshape(-1, c * d)


@pytest.mark.parametrize(
    "mode, hw, shape, step",
    [
        ("valid", (6, 9), (2, 3), (2, 3)),
        ("valid", (7, 8), (3, 2), (2, 3)),
        ("ignore_borders", (7, 9), (2, 2), (2, 2)),
        ("ignore_borders", (7, 9), (3, 4), (2, 1)),
        ("half", (7, 8), (3, 3), (1, 1)),
        ("half", (6, 8), (2, 4), (2, 2)),
        ("full", (5, 6), (2, 3), (1, 1)),
        ("wrap_centered", (5, 6), (3, 5), (2, 2)),
        ("wrap_centered", (5, 6), (5, 3), (1, 4)),
    ],
)
def test_images2neibs_against_the_docstring_loop(mode, hw, shape, step):
    x = np.random.default_rng(2).integers(-50, 50, size=(2, 3) + hw).astype(np.int16)
    np.testing.assert_array_equal(
        images2neibs(x, shape, step, mode), naive_images2neibs(x, shape, step, mode)
    )


@pytest.mark.parametrize("mode", ["valid", "ignore_borders"])
def test_round_trip(mode):
    x = np.random.default_rng(3).standard_normal((2, 3, 6, 8))
    back = neibs2images(images2neibs(x, (2, 4), mode=mode), (2, 4), x.shape, mode)
    np.testing.assert_array_equal(back, x)


def test_ignore_borders_round_trip_zeroes_the_border():
    x = np.random.default_rng(4).standard_normal((1, 2, 7, 9))
    back = neibs2images(images2neibs(x, (2, 2), mode="ignore_borders"), (2, 2), x.shape, "ignore_borders")
    np.testing.assert_array_equal(back[..., :6, :8], x[..., :6, :8])
    assert not back[..., 6, :].any() and not back[..., :, 8].any()


def test_errors():
    x = np.zeros((1, 1, 7, 8))
    with pytest.raises(
        LegacyconvTypeError, match=r"neib_shape\[0\]=2, neib_step\[0\]=2 and ten4.shape\[2\]=7"
    ):
        images2neibs(x, (2, 2))
    with pytest.raises(TypeError, match="odd patch sizes"):
        images2neibs(x, (2, 3), mode="wrap_centered")
    with pytest.raises(LegacyconvError, match=r"neib_step must be positive\. Received: neib_step=\(0, 1\)"):
        images2neibs(x, (1, 1), (0, 1))
    with pytest.raises(LegacyconvError, match="mode must be one of"):
        images2neibs(x, (1, 1), mode="same")
    with pytest.raises(LegacyconvError, match=r"ten4 must be a 4-d array.*\(7, 8\)"):
        images2neibs(x[0, 0], (1, 1))
    with pytest.raises(LegacyconvError, match="'valid' and 'ignore_borders' only"):
        neibs2images(np.zeros((4, 9)), (3, 3), (1, 1, 6, 6), "half")
    with pytest.raises(LegacyconvError, match="neibs hold 160 values, original_shape=.* needs 288"):
        neibs2images(np.zeros((40, 4)), (2, 2), (2, 3, 6, 8))


def test_results_never_alias_the_input():
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    neibs = images2neibs(x, (1, 1))
    assert not np.shares_memory(neibs, x)
    back = neibs2images(neibs, (1, 1), x.shape)
    assert not np.shares_memory(back, neibs)
    np.testing.assert_array_equal(back, x)


def test_ragged_neib_shape_is_named():
    # np.asarray's ValueError for a ragged list came from inside
    with pytest.raises(
        LegacyconvError, match=r"neib_shape must be 2 integers. Received: neib_shape=\[\[1, 2\], \[3\]\]"
    ):
        images2neibs(np.ones((1, 1, 4, 4)), [[1, 2], [3]])
