"""Property tests over random small problems: the numpy engine, the scipy engine (auto, and
each of its FFT and direct paths) and the naive reference (tests/reference.py) all agree, for every
kind of border mode, stride, dilation, group count, flip and dtype; flipping and linearity
hold. The reference is the textbook definition, independent of legacyconv's code."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from legacyconv import conv2d, conv3d
from legacyconv.conv import prepare_conv
from legacyconv.engines import scipy_fft

from reference import conv as reference_conv
from reference import pads as reference_pads

CONV = {2: conv2d, 3: conv3d}
TOL = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-11}


# --- random problems -----------------------------------------------------------------------------


def border_modes(nd):
    per_axis = st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)))
    return st.one_of(
        st.sampled_from(["valid", "full", "half"]),
        st.integers(0, 3),
        st.tuples(*[st.integers(0, 3)] * nd),
        st.tuples(*[st.tuples(st.integers(0, 3), st.integers(0, 3))] * nd),
        st.tuples(*[per_axis] * nd),
    )


@st.composite
def problems(draw, nd):
    max_k = 4 if nd == 2 else 3
    max_extra = 7 if nd == 2 else 3
    groups = draw(st.integers(1, 3))
    cg, og, n = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    kernel = draw(st.tuples(*[st.integers(1, max_k)] * nd))
    dilation = draw(st.tuples(*[st.integers(1, 3)] * nd))
    subsample = draw(st.tuples(*[st.integers(1, 3)] * nd))
    border_mode = draw(border_modes(nd))
    pads = reference_pads(border_mode, kernel, dilation)
    spatial = []
    for k, d, (lo, hi) in zip(kernel, dilation, pads):
        smallest = max(1, (k - 1) * d + 1 - lo - hi)  # the padded input holds the dilated kernel
        spatial.append(draw(st.integers(smallest, smallest + max_extra)))
    assume(groups * cg * n * np.prod(spatial) <= 600)  # keep the reference loop fast
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64])))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, groups * cg, *spatial)).astype(dtype)
    w = rng.standard_normal((groups * og, cg, *kernel)).astype(dtype)
    kwargs = {
        "border_mode": border_mode,
        "subsample": subsample,
        "filter_flip": draw(st.booleans()),
        "filter_dilation": dilation,
        "num_groups": groups,
    }
    return x, w, kwargs


def close(got, expected, dtype, scale=None):
    """Per-dtype tolerance, absolute part scaled by the size of the terms summed."""
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)) if scale is None else scale)
    np.testing.assert_allclose(got, expected, rtol=TOL[dtype], atol=TOL[dtype] * scale)


def scipy_paths(x, w, nd, kwargs):
    """The scipy engine's paths forced on the validated problem: direct, and FFT with each
    formulation of the channel mixing (small problems pick the loop, so force the matmul)."""
    args = prepare_conv(x, w, nd, **kwargs)
    call = (args.x, args.w, args.pads, args.strides, args.dilations, args.groups)
    yield "direct", scipy_fft.correlate(*call, method="direct")
    yield "fft", scipy_fft.correlate(*call, method="fft")
    saved, scipy_fft._MATMUL_MIN = scipy_fft._MATMUL_MIN, 1
    try:
        yield "fft-matmul", scipy_fft.correlate(*call, method="fft")
    finally:
        scipy_fft._MATMUL_MIN = saved


def check_engines_agree(problem, nd):
    x, w, kwargs = problem
    expected = reference_conv(
        x,
        w,
        kwargs["border_mode"],
        kwargs["subsample"],
        kwargs["filter_flip"],
        kwargs["filter_dilation"],
        kwargs["num_groups"],
    )
    scale = float(
        np.max(
            reference_conv(
                np.abs(x),
                np.abs(w),
                kwargs["border_mode"],
                kwargs["subsample"],
                kwargs["filter_flip"],
                kwargs["filter_dilation"],
                kwargs["num_groups"],
            ),
            initial=0.0,
        )
    )
    by_numpy = CONV[nd](x, w, backend="numpy", **kwargs)
    by_scipy = CONV[nd](x, w, backend="scipy", **kwargs)
    for name, got in [("numpy", by_numpy), ("scipy", by_scipy), *scipy_paths(x, w, nd, kwargs)]:
        assert got.dtype == x.dtype, name
        assert got.shape == expected.shape, (name, got.shape, expected.shape)
        close(got, expected, x.dtype, scale)
    close(by_scipy, by_numpy, x.dtype, scale)


# --- properties ----------------------------------------------------------------------------------


@settings(max_examples=60)
@given(problems(2))
def test_2d_engines_agree_with_the_reference(problem):
    check_engines_agree(problem, 2)


@settings(max_examples=30)
@given(problems(3))
def test_3d_engines_agree_with_the_reference(problem):
    check_engines_agree(problem, 3)


@settings(max_examples=40)
@given(problems(2) | problems(3))
def test_no_flip_equals_flip_of_the_flipped_kernel(problem):
    x, w, kwargs = problem
    nd = x.ndim - 2
    flipped = w[(slice(None), slice(None)) + (slice(None, None, -1),) * nd]
    for backend in ("numpy", "scipy"):
        plain = CONV[nd](x, w, backend=backend, **{**kwargs, "filter_flip": False})
        twice = CONV[nd](x, flipped, backend=backend, **{**kwargs, "filter_flip": True})
        # the engine sees the same kernel values either way: the same bits come out
        np.testing.assert_array_equal(plain, twice)


@settings(max_examples=40)
@given(problems(2) | problems(3), st.floats(-3, 3), st.floats(-3, 3), st.integers(0, 2**32 - 1))
def test_linear_in_input_and_in_filters(problem, a, b, seed):
    x1, w1, kwargs = problem
    nd = x1.ndim - 2
    rng = np.random.default_rng(seed)
    x2 = rng.standard_normal(x1.shape).astype(x1.dtype)
    w2 = rng.standard_normal(w1.shape).astype(w1.dtype)
    dtype = x1.dtype
    for backend in ("numpy", "scipy"):

        def conv(x, w, backend=backend):
            return CONV[nd](x, w, backend=backend, **kwargs)

        y11, y21, y12 = conv(x1, w1), conv(x2, w1), conv(x1, w2)
        scale = (abs(a) + abs(b)) * max(np.abs(y11).max(), np.abs(y21).max(), np.abs(y12).max(), 1.0)
        mixed_x = (a * x1 + b * x2).astype(dtype)
        close(conv(mixed_x, w1), a * y11.astype(np.float64) + b * y21, dtype, 4 * scale)
        mixed_w = (a * w1 + b * w2).astype(dtype)
        close(conv(x1, mixed_w), a * y11.astype(np.float64) + b * y12, dtype, 4 * scale)
