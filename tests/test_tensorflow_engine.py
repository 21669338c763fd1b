"""backend='tensorflow': every golden (real Theano) conv2d/conv3d case, property tests against the
numpy engine, the routes TF's CPU kernels force (depthwise, unequal strides, stride with
dilation, 3-D groups and dilation), dtypes, and that TensorFlow is only imported on use."""

from __future__ import annotations

import functools
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import legacyconv
from legacyconv import LegacyconvError

import reference
from golden import assert_matches_theano, cases, tolerance

pytest.importorskip("tensorflow")

GOLDEN = cases("conv2d", "conv3d")
OPS = {"conv2d": legacyconv.conv2d, "conv3d": legacyconv.conv3d}


def _tol(dtype, expected):
    # TF sums in another order than Theano's BLAS: a float32 rounding-level difference.
    if np.dtype(dtype) == np.float32:
        scale = float(np.max(np.abs(expected))) if expected.size else 1.0
        return {"rtol": 1e-5, "atol": 1e-5 * max(scale, 1.0)}
    return tolerance(dtype, expected)


def test_golden_has_conv2d_and_conv3d_cases():
    assert sum(c["op"] == "conv2d" for c in GOLDEN) >= 140
    assert sum(c["op"] == "conv3d" for c in GOLDEN) >= 3


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
def test_matches_theano(case):
    fn = OPS[case["op"]]
    assert_matches_theano(fn, case, tol=_tol, backend="tensorflow")


# --------------------------------------------------------------------------- properties

MODES = st.one_of(
    st.sampled_from(["valid", "full", "half"]),
    st.integers(0, 3),
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
    st.tuples(
        st.tuples(st.integers(0, 3), st.integers(0, 3)), st.tuples(st.integers(0, 3), st.integers(0, 3))
    ),
)


def _compare(op, x, w, **kwargs):
    try:
        expected = op(x, w, **kwargs)
    except LegacyconvError:
        with pytest.raises(LegacyconvError):
            op(x, w, backend="tensorflow", **kwargs)
        assume(False)
    got = op(x, w, backend="tensorflow", **kwargs)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **_tol(got.dtype, expected))


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    groups=st.integers(1, 3),
    cg=st.integers(1, 3),
    og=st.integers(1, 3),
    mode=MODES,
    flip=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_conv2d_numpy_equals_tensorflow(data, groups, cg, og, mode, flip, dtype):
    rows, cols = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))
    kr, kc = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    strides = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    dilation = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal((data.draw(st.integers(1, 2)), groups * cg, rows, cols)).astype(dtype)
    w = rng.standard_normal((groups * og, cg, kr, kc)).astype(dtype)
    _compare(
        legacyconv.conv2d,
        x,
        w,
        border_mode=mode,
        subsample=strides,
        filter_dilation=dilation,
        filter_flip=flip,
        num_groups=groups,
    )


@settings(max_examples=25, deadline=None)
@given(
    data=st.data(),
    groups=st.integers(1, 2),
    cg=st.integers(1, 2),
    mode=st.one_of(st.sampled_from(["valid", "full", "half"]), st.integers(0, 2)),
)
def test_conv3d_numpy_equals_tensorflow(data, groups, cg, mode):
    spatial = data.draw(st.tuples(*[st.integers(1, 6)] * 3))
    kernel = data.draw(st.tuples(*[st.integers(1, 3)] * 3))
    strides = data.draw(st.tuples(*[st.integers(1, 2)] * 3))
    dilation = data.draw(st.tuples(*[st.integers(1, 2)] * 3))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal((1, groups * cg, *spatial)).astype(np.float32)
    w = rng.standard_normal((groups * 2, cg, *kernel)).astype(np.float32)
    _compare(
        legacyconv.conv3d,
        x,
        w,
        border_mode=mode,
        subsample=strides,
        filter_dilation=dilation,
        num_groups=groups,
    )


# oneDNN's Conv3D computed these wrong (max error ~1-6 on N(0, 1) data) before the tensorflow
# engine ran one input channel at equal strides: found by sweeping conv3d against the numpy engine.
CONV3D_ONEDNN = [
    # (groups, spatial, kernel, strides, dilation, border_mode)
    (1, (1, 1, 1), (1, 3, 2), (2, 1, 2), (1, 1, 1), "full"),
    (1, (1, 6, 1), (3, 3, 2), (1, 1, 2), (1, 1, 1), "half"),
    (1, (2, 6, 2), (1, 3, 2), (1, 1, 2), (1, 2, 2), "half"),
    (1, (5, 6, 1), (1, 1, 2), (1, 1, 2), (1, 1, 1), "half"),
    (2, (1, 3, 1), (3, 3, 2), (1, 1, 2), (2, 1, 1), "full"),
    (2, (3, 6, 1), (2, 1, 2), (2, 1, 2), (2, 1, 1), "full"),
    (3, (5, 6, 1), (3, 3, 2), (1, 1, 2), (1, 1, 1), "half"),
]


@pytest.mark.parametrize("groups, spatial, kernel, strides, dilation, mode", CONV3D_ONEDNN)
def test_conv3d_one_input_channel_unequal_strides(groups, spatial, kernel, strides, dilation, mode):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, groups, *spatial)).astype(np.float32)
    w = rng.standard_normal((groups * 2, 1, *kernel)).astype(np.float32)
    kwargs = dict(border_mode=mode, subsample=strides, filter_dilation=dilation, num_groups=groups)
    expected = legacyconv.conv3d(x, w, **kwargs)  # the numpy engine, golden-tested against Theano
    got = legacyconv.conv3d(x, w, backend="tensorflow", **kwargs)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5 * max(1.0, np.abs(expected).max()))


# --------------------------------------------------------------------------- targeted routes

ROUTES = [
    # (channels, multiplier or None for a dense kernel, groups, strides, dilation, border_mode)
    (3, 2, 3, (1, 1), (1, 1), "half"),  # depthwise, multiplier 2
    (4, 1, 4, (2, 2), (1, 1), ((1, 0), (2, 1))),  # depthwise, strided, asymmetric padding
    (4, 1, 4, (2, 3), (1, 1), "full"),  # depthwise, unequal strides
    (4, 1, 4, (1, 1), (2, 3), "half"),  # depthwise, dilated
    (2, 3, 2, (2, 3), (2, 2), 1),  # depthwise, strided and dilated
    (6, None, 3, (2, 2), (2, 1), "half"),  # grouped, strided and dilated
    (3, None, 1, (3, 2), (2, 3), "full"),  # dense, strided and dilated
    (3, None, 1, (1, 1), (1, 1), 5),  # padding wider than the kernel
]


@pytest.mark.parametrize("channels, mult, groups, strides, dilation, mode", ROUTES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_routes(channels, mult, groups, strides, dilation, mode, dtype):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, channels, 11, 10)).astype(dtype)
    if mult is None:
        w = rng.standard_normal((2 * groups, channels // groups, 3, 2)).astype(dtype)
    else:
        w = rng.standard_normal((channels * mult, 1, 3, 2)).astype(dtype)
    kwargs = dict(border_mode=mode, subsample=strides, filter_dilation=dilation, num_groups=groups)
    expected = legacyconv.conv2d(x, w, **kwargs)
    got = legacyconv.conv2d(x, w, backend="tensorflow", **kwargs)
    assert got.dtype == dtype and got.flags.c_contiguous
    np.testing.assert_allclose(got, expected, **_tol(dtype, expected))


def test_depthwise_against_naive_loop():
    """Independent reference: Theano's grouped convolution (tests/reference.py)."""
    rng = np.random.default_rng(8)
    channels, mult = 2, 3
    x = rng.standard_normal((1, channels, 5, 6))
    w = rng.standard_normal((channels * mult, 1, 2, 3))
    got = legacyconv.conv2d(x, w, num_groups=channels, filter_flip=False, backend="tensorflow")
    expected = reference.conv(x, w, "valid", (1, 1), False, (1, 1), channels)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_float32_stays_float32_and_float16_comes_back():
    x = np.ones((1, 2, 4, 4), np.float32)
    assert legacyconv.conv2d(x, np.ones((1, 2, 3, 3), np.float32), backend="tensorflow").dtype == np.float32
    out = legacyconv.conv2d(x.astype(np.float16), np.ones((1, 2, 3, 3), np.float16), backend="tensorflow")
    assert out.dtype == np.float16 and np.all(out == 18)
    out = legacyconv.conv2d(x.astype(np.int32), np.ones((1, 2, 3, 3)), backend="tensorflow")
    assert out.dtype == np.float64 and np.all(out == 18)


def test_non_contiguous_inputs_are_not_modified():
    rng = np.random.default_rng(9)
    base = rng.standard_normal((2, 3, 8, 9)).astype(np.float32)
    x = base[:, ::-1, ::2, 1:]  # negative and step strides
    w = np.asfortranarray(rng.standard_normal((4, 3, 2, 2)).astype(np.float32))
    x0, w0 = x.copy(), w.copy()
    got = legacyconv.conv2d(x, w, border_mode="half", backend="tensorflow")
    np.testing.assert_allclose(got, legacyconv.conv2d(x0, w0, border_mode="half"), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


def test_engine_1d_and_empty_axes():
    from legacyconv.engines import numpy_gemm
    from legacyconv.engines import tensorflow as tf_engine

    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 4, 9))
    w = rng.standard_normal((6, 2, 3))
    args = (((2, 1),), (2,), (2,), 2)
    np.testing.assert_allclose(
        tf_engine.correlate(x, w, *args), numpy_gemm.correlate(x, w, *args), rtol=1e-10
    )
    out = legacyconv.conv2d(np.zeros((0, 2, 5, 5)), np.ones((3, 2, 3, 3)), backend="tensorflow")
    assert out.shape == (0, 3, 3, 3)
    out = legacyconv.conv2d(
        np.ones((1, 0, 5, 5)), np.ones((2, 0, 3, 3)), border_mode="full", backend="tensorflow"
    )
    assert out.shape == (1, 2, 7, 7) and not out.any()
    out = legacyconv.conv3d(np.ones((1, 0, 4, 4, 4)), np.ones((2, 0, 3, 3, 3)), backend="tensorflow")
    assert out.shape == (1, 2, 2, 2, 2) and not out.any()


def test_4d_engine_call_is_not_implemented():
    from legacyconv.engines import tensorflow as tf_engine

    with pytest.raises(NotImplementedError, match="4-d one is not implemented"):
        tf_engine.correlate(
            np.ones((1, 1, 2, 2, 2, 2)), np.ones((1, 1, 1, 1, 1, 1)), ((0, 0),) * 4, (1,) * 4, (1,) * 4, 1
        )


# --------------------------------------------------------------------------- explicit padding
# tf.raw_ops.Conv2D(padding='EXPLICIT') returns uninitialised memory under oneDNN on some CPUs
# for one input channel, row stride 1, column stride >= 2 (issue 9): the engine pads itself.


ENGINE_OPS = {
    "conv2d": legacyconv.conv2d,
    "conv3d": legacyconv.conv3d,
    "separable_conv2d": legacyconv.separable_conv2d,
    "conv2d_transpose": legacyconv.conv2d_transpose,
    "pool_2d": legacyconv.pool_2d,
}
ENGINE_CASES = [c for c in cases(*ENGINE_OPS) if "error" not in c]


@pytest.mark.parametrize("case", ENGINE_CASES, ids=[c["name"] for c in ENGINE_CASES])
def test_golden_inputs_tensorflow_equals_numpy(case):
    """Issue 9's acceptance: the engines agree to rtol 2e-5 (float32) / 1e-10 (float64), with an
    absolute floor at that fraction of the output's largest magnitude (sums that cancel)."""
    fn = ENGINE_OPS[case["op"]]
    expected = fn(*case["inputs"], **case["kwargs"])
    got = fn(*case["inputs"], **case["kwargs"], backend="tensorflow")
    assert got.dtype == expected.dtype and got.shape == expected.shape
    rel = 2e-5 if expected.dtype == np.float32 else 1e-10
    scale = max(float(np.max(np.abs(expected))), 1.0) if expected.size else 1.0
    np.testing.assert_allclose(got, expected, rtol=rel, atol=rel * scale)


def test_one_channel_explicit_padding_repro():
    x = np.arange(1, 7, dtype=np.float32).reshape(2, 1, 3, 1)
    w = np.ones((1, 1, 1, 2), np.float32)
    out = legacyconv.conv2d(x, w, border_mode=(0, (1, 0)), subsample=(1, 2), backend="tensorflow")
    # Theano 1.0.5: the left zero column and the pixel under the kernel's second tap.
    np.testing.assert_array_equal(out, x)


def _rel(dtype):
    return {"rtol": 2e-5 if np.dtype(dtype) == np.float32 else 1e-10}


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    op=st.sampled_from(["conv2d", "separable_conv2d", "conv2d_transpose"]),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_one_channel_strided_explicit_padding_sweep(data, op, dtype):
    rows, cols = data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7))
    kr, kc = data.draw(st.integers(1, 3)), data.draw(st.integers(2, 3))
    strides = data.draw(st.sampled_from([(1, 2), (1, 3), (2, 1), (3, 1), (2, 3)]))
    pads = data.draw(st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2))] * 2))
    assume(any(p != (0, 0) for p in pads))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    n = data.draw(st.integers(1, 3))
    w = rng.standard_normal((data.draw(st.integers(1, 2)), 1, kr, kc)).astype(dtype)
    if op == "conv2d":
        x = rng.standard_normal((n, 1, rows, cols)).astype(dtype)
        call = functools.partial(legacyconv.conv2d, x, w, border_mode=pads, subsample=strides)
    elif op == "separable_conv2d":
        x = rng.standard_normal((n, 1, rows, cols)).astype(dtype)
        pw = rng.standard_normal((2, w.shape[0], 1, 1)).astype(dtype)
        call = functools.partial(
            legacyconv.separable_conv2d, x, w, pw, 1, border_mode=pads, subsample=strides
        )
    else:
        x = rng.standard_normal((n, w.shape[0], rows, cols)).astype(dtype)
        out_rows = (rows - 1) * strides[0] + kr - sum(pads[0]) + data.draw(st.integers(0, strides[0] - 1))
        out_cols = (cols - 1) * strides[1] + kc - sum(pads[1]) + data.draw(st.integers(0, strides[1] - 1))
        assume(out_rows >= 1 and out_cols >= 1)
        call = functools.partial(
            legacyconv.conv2d_transpose,
            x,
            w,
            (out_rows, out_cols),
            border_mode=pads,
            input_dilation=strides,
        )
    try:
        expected = call()
    except LegacyconvError:
        with pytest.raises(LegacyconvError):
            call(backend="tensorflow")
        return
    got = call(backend="tensorflow")
    assert got.dtype == expected.dtype and got.shape == expected.shape
    scale = max(float(np.max(np.abs(expected))), 1.0) if expected.size else 1.0
    np.testing.assert_allclose(got, expected, **_rel(dtype), atol=_rel(dtype)["rtol"] * scale)


def test_no_explicit_padding_reaches_tensorflow(monkeypatch):
    """Every TF convolution the engine and the family call runs with padding='VALID'."""
    import tensorflow as tf

    seen = []

    def spy(owner, attr):
        original = getattr(owner, attr)

        def wrapper(*args, **kwargs):
            seen.append((attr, kwargs.get("padding")))
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, attr, wrapper)

    for owner, attr in [
        (tf.raw_ops, "Conv2D"),
        (tf.raw_ops, "DepthwiseConv2dNative"),
        (tf.nn, "depthwise_conv2d"),
        (tf.nn, "conv2d_transpose"),
        (tf.nn, "conv3d"),
        (tf.nn, "convolution"),
    ]:
        spy(owner, attr)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((1, 2, 7, 6)).astype(np.float32)
    pads = ((1, 0), (2, 1))
    legacyconv.conv2d(
        x, np.ones((2, 2, 2, 3), np.float32), border_mode=pads, subsample=(1, 2), backend="tensorflow"
    )
    legacyconv.conv2d(
        x, np.ones((4, 1, 2, 3), np.float32), border_mode=pads, num_groups=2, backend="tensorflow"
    )
    legacyconv.conv2d(
        x,
        np.ones((2, 1, 2, 3), np.float32),
        border_mode=1,
        num_groups=2,
        filter_dilation=(2, 1),
        backend="tensorflow",
    )
    legacyconv.conv2d_transpose(
        x,
        np.ones((2, 1, 3, 3), np.float32),
        (8, 10),
        border_mode=pads,
        input_dilation=(1, 2),
        backend="tensorflow",
    )
    legacyconv.conv3d(
        x[:, :, None], np.ones((2, 2, 1, 2, 2), np.float32), border_mode=(0, (1, 0), 2), backend="tensorflow"
    )
    assert {attr for attr, _ in seen} >= {
        "Conv2D",
        "DepthwiseConv2dNative",
        "depthwise_conv2d",
        "conv2d_transpose",
    }
    assert all(padding == "VALID" for _, padding in seen), seen


# --------------------------------------------------------------------------- lazy import


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_legacyconv_does_not_import_tensorflow():
    code = (
        "import sys, legacyconv, legacyconv.layouts, legacyconv.padding, legacyconv.engines\n"
        "import legacyconv.keras\n"
        "legacyconv.conv2d([[[[1.0]]]], [[[[2.0]]]])\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
        "assert 'keras' not in sys.modules, 'keras imported'\n"
        "print('ok')\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_missing_tensorflow_gives_the_install_hint():
    code = (
        "import sys\n"
        "sys.modules['tensorflow'] = None\n"
        "import numpy as np, legacyconv\n"
        "from legacyconv.keras.conv import to_keras_conv2d\n"
        "for call in (lambda: legacyconv.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), backend='tensorflow'),\n"
        "             lambda: to_keras_conv2d(np.ones((1, 1, 2, 2)))):\n"
        "    try:\n"
        "        call()\n"
        "    except ImportError as exc:\n"
        "        print(exc)\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        assert 'pip install "legacyconv[tf]"' in line
