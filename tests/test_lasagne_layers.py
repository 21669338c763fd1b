"""Every layer class of the mirror against real Lasagne 0.2.dev1 on Theano 1.0.5.

``tests/data/lasagne_layers.{npz,json}`` were recorded by ``tests/data/record_lasagne_layers.py``
in the Lasagne lab: one small network per case, random parameters, its output. The same case
code builds the network in the mirror; the output must match (float32 tolerances of
../shared/legacy_models/README.md; exactly for layers that only move values). Cases Lasagne could
not record on a CPU (the cuDNN / cuda-convnet / CorrMM stand-ins) are checked against the CPU
layers they must equal, and the layers' errors against Lasagne's rules.
"""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest

import legacyconv.lasagne as mirror
from legacyconv import LegacyconvError
from legacyconv.lasagne import layers as L
from legacyconv.lasagne import nonlinearities as nl

DATA = Path(__file__).parent / "data"
META = json.loads((DATA / "lasagne_layers.json").read_text())
CASES = {c["name"]: c for c in META["cases"]}
F = types.SimpleNamespace(max=np.max, mean=np.mean, mul=np.multiply, maximum=np.maximum, sqr=np.square)
EXACT_PREFIXES = (
    "maxpool",
    "upscale",
    "featurepool",
    "featurewta",
    "dropout",
    "spatial_dropout",
    "gaussian_noise",
    "flatten",
    "reshape",
    "dimshuffle",
    "pad_",
    "slice_",
    "concat_",
    "merge_max",
    "embedding",
    "globalpool_max",
)


@pytest.fixture(scope="module")
def recorded():
    with np.load(DATA / "lasagne_layers.npz") as npz:
        return {k: npz[k] for k in npz.files}


def build(case):
    inps = [L.InputLayer([None] + s[1:]) for s in case["input_shapes"]]
    env = {"L": L, "nl": nl, "F": F, "np": np, "inp": inps[0], "inps": inps}
    return eval(case["code"], env), inps


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_matches_lasagne(name, recorded):
    case = CASES[name]
    net, inps = build(case)
    params = L.get_all_params(net)
    assert [list(p.shape) for p in params] == [p["shape"] for p in case["params"]]
    assert [p.name for p in params] == [p["name"] for p in case["params"]]
    L.set_all_param_values(net, [recorded[f"{name}/param{i}"] for i in range(len(params))])
    xs = [recorded[f"{name}/input{i}"] for i in range(len(inps))]
    before = [x.copy() for x in xs]
    got = L.get_output(net, dict(zip(inps, xs)), deterministic=case["deterministic"])
    want = recorded[f"{name}/output"]
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    declared = L.get_output_shape(net, {i: x.shape for i, x in zip(inps, xs)})
    assert tuple(declared) == want.shape
    if name.startswith(EXACT_PREFIXES):
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(want).max())))
    for x, b in zip(xs, before):
        assert np.array_equal(x, b)  # inputs never modified


def test_every_layer_class_is_covered():
    covered = set()
    for case in META["cases"]:
        net, _ = build(case)
        covered |= {type(lay).__name__ for lay in L.get_all_layers(net)}
    classes = {n for n in L.__all__ if n[0].isupper() and n not in ("Layer", "MergeLayer")}
    aliases = {"Deconv2DLayer", "Deconv3DLayer"}  # the same classes as TransposedConv2D/3DLayer
    assert classes - aliases - covered == set()


# --------------------------------------------------------------------------- GPU modules on the CPU


def test_dnn_layers_equal_the_cpu_layers():
    from legacyconv.lasagne.layers import corrmm, cuda_convnet, dnn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
    inp = L.InputLayer((None, 3, 9, 8))
    ref = L.Conv2DLayer(inp, 16, 3, stride=2, pad=1, flip_filters=False)
    w = rng.standard_normal((16, 3, 3, 3)).astype(np.float32)
    for cls in (dnn.Conv2DDNNLayer, corrmm.Conv2DMMLayer, cuda_convnet.Conv2DCCLayer):
        layer = cls(inp, 16, 3, stride=2, pad=1)  # flip_filters defaults to False on the GPU layers
        layer.W.set_value(w)
        ref.W.set_value(w)
        np.testing.assert_array_equal(L.get_output(layer, x), L.get_output(ref, x))
    pooled = L.get_output(L.MaxPool2DLayer(inp, 3, stride=2), x)
    np.testing.assert_array_equal(L.get_output(dnn.MaxPool2DDNNLayer(inp, 3, stride=2), x), pooled)
    ceil = L.get_output(L.MaxPool2DLayer(inp, 3, stride=2, ignore_border=False), x)
    np.testing.assert_array_equal(L.get_output(cuda_convnet.MaxPool2DCCLayer(inp, 3, stride=2), x), ceil)
    with pytest.raises(NotImplementedError, match="ignore_border=False"):
        dnn.Pool2DDNNLayer(inp, 2, ignore_border=False)
    with pytest.raises(NotImplementedError, match="c01b"):
        cuda_convnet.Conv2DCCLayer(inp, 16, 3, dimshuffle=False)
    bn = dnn.batch_norm_dnn(L.Conv2DLayer(inp, 4, 3, name="c"))
    assert [type(lay).__name__ for lay in L.get_all_layers(bn)][-2:] == [
        "BatchNormDNNLayer",
        "NonlinearityLayer",
    ]
    vol = L.InputLayer((None, 2, 4, 5, 6))
    xv = rng.standard_normal((1, 2, 4, 5, 6)).astype(np.float32)
    np.testing.assert_array_equal(
        L.get_output(dnn.Pool3DDNNLayer(vol, 2, mode="average_exc_pad"), xv),
        L.get_output(L.Pool3DLayer(vol, 2, mode="average_exc_pad"), xv),
    )
    assert dnn.Conv3DDNNLayer(vol, 2, 3).flip_filters is False
    # cuDNN's deprecated mode name 'average' is 'average_inc_pad' (Theano's dnn_pool)
    avg = dnn.Pool2DDNNLayer(inp, 3, stride=1, pad=1, mode="average")
    ref_avg = L.Pool2DLayer(inp, 3, stride=1, pad=1, mode="average_inc_pad")
    np.testing.assert_array_equal(L.get_output(avg, x), L.get_output(ref_avg, x))


# --------------------------------------------------------------------------- Lasagne's argument rules


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda i: L.Conv2DLayer(i, 4, 2, pad="same"), NotImplementedError, "odd filter size"),
        (lambda i: L.Conv2DLayer(i, 5, 3, num_groups=2), LegacyconvError, r"num_groups \(here: 2\) must"),
        (lambda i: L.Conv1DLayer(i, 4, 3), LegacyconvError, "expected 3 input dimensions"),
        (lambda i: L.DilatedConv2DLayer(i, 4, 3, pad=1), NotImplementedError, "add a PadLayer"),
        (
            lambda i: L.DilatedConv2DLayer(i, 4, 3, flip_filters=True),
            NotImplementedError,
            "flip_filters=False",
        ),
        (lambda i: L.Pool3DLayer(i, 2), LegacyconvError, "expected 5 input dimensions"),
        (lambda i: L.LocalResponseNormalization2DLayer(i, n=4), NotImplementedError, "odd n"),
        (lambda i: L.DenseLayer(i, 3, num_leading_axes=4), LegacyconvError, "no trailing axes"),
        (lambda i: L.ReshapeLayer(i, (-1, -1)), LegacyconvError, "multiple -1"),
        (lambda i: L.ReshapeLayer(i, ([0], 5)), LegacyconvError, "total size mismatches"),
        (lambda i: L.DimshuffleLayer(i, (0, 1, 2)), LegacyconvError, "collapse dimension 3 of size 6"),
        (lambda i: L.Upscale2DLayer(i, 0), LegacyconvError, "scale factor must be >= 1"),
        (lambda i: L.ElemwiseSumLayer([i, i], coeffs=[1, 2, 3]), LegacyconvError, "3 coeffs for 2 incomings"),
        (
            lambda i: L.ConcatLayer([i, L.InputLayer((None, 3, 5, 5))]).output_shape,
            LegacyconvError,
            "same except in the concatenation axis",
        ),
        (
            lambda i: L.Conv2DLayer(i, 4, 3, W=np.zeros((4, 3, 2, 2))),
            LegacyconvError,
            r"has shape \(4, 3, 2, 2\), should be \(4, 3, 3, 3\)",
        ),
    ],
)
def test_lasagne_argument_errors(make, error, match):
    with pytest.raises(error, match=match):
        make(L.InputLayer((None, 3, 5, 6)))


# Arguments Lasagne did not check: they failed deep inside at the first use (a float count in
# NumPy's random initialiser, a string nonlinearity when called, a negative pad width in
# np.pad), or, for a float scale factor, repeated each pixel once and gave a wrong output.
@pytest.mark.parametrize(
    "make, error, match",
    [
        (
            lambda i: L.Conv2DLayer(i, 1.5, 3),
            TypeError,
            r"num_filters must be an integer. Received: num_filters=1.5",
        ),
        (lambda i: L.Conv2DLayer(i, 0, 3), LegacyconvError, r"num_filters must be >= 1"),
        (lambda i: L.Conv2DLayer(i, 4, True), LegacyconvError, "expected 2 integers"),
        (lambda i: L.DenseLayer(i, "10"), TypeError, "num_units must be an integer"),
        (lambda i: L.NINLayer(i, None), TypeError, "num_units must be an integer"),
        (lambda i: L.DenseLayer(i, 4, nonlinearity="relu"), TypeError, r"nonlinearity must be a function"),
        (lambda i: L.NonlinearityLayer(i, "rectify"), TypeError, r"lasagne.nonlinearities.rectify\?"),
        (lambda i: L.InputLayer(5), TypeError, "shape must be a tuple or a list. Received: shape=5"),
        (lambda i: L.InputLayer((None, 3, 5.0)), LegacyconvError, "shape must hold integers"),
        (lambda i: L.ReshapeLayer(i, None), TypeError, "shape must be a tuple or a list"),
        (lambda i: L.DimshuffleLayer(i, 0), TypeError, "pattern must be a tuple or a list"),
        (lambda i: L.FlattenLayer(i, "2"), TypeError, "outdim must be an integer"),
        (lambda i: L.FlattenLayer(i, 0), LegacyconvError, "outdim must be >= 1"),
        (lambda i: L.PadLayer(i, -1), LegacyconvError, "width must be an integer >= 0"),
        (lambda i: L.PadLayer(i, (1, 2, 3)), LegacyconvError, r"at most 2\). Received: width=\(1, 2, 3\)"),
        (lambda i: L.PadLayer(i, [(1, -1), 0]), LegacyconvError, "width must be an integer >= 0"),
        (lambda i: L.PadLayer(i, 1.5), LegacyconvError, "width must be an integer >= 0"),
        (lambda i: L.Upscale2DLayer(i, 1.5), TypeError, r"scale_factor must be an integer or 2 integers"),
    ],
)
def test_arguments_lasagne_left_unchecked(make, error, match):
    with pytest.raises(error, match=match) as info:
        make(L.InputLayer((None, 3, 5, 6)))
    assert isinstance(info.value, LegacyconvError)


def test_reshape_to_a_wrong_size_at_run_time_says_so():
    layer = L.ReshapeLayer(L.InputLayer((None, 3, 5, 6)), (-1, 7, 13), name="r")  # batch unknown
    with pytest.raises(LegacyconvError, match=r"ReshapeLayer 'r': an input of shape \(2, 3, 5, 6\) cannot"):
        L.get_output(layer, np.ones((2, 3, 5, 6), np.float32))


def test_nonlinearities_outside_the_recorded_range():
    """Beyond the recorded cases: Theano's float32 saturation branches (recorded in
    tests/data/theano_nnet_reference.*: sigmoid exactly 1 above 15 and 0 below -88, softplus
    ``x`` above 14 and 0 below -103), which Lasagne inherited by calling Theano."""
    x = np.array([-100.0, -31.0, 0.0, 16.0, 100.0], np.float32)
    np.testing.assert_array_equal(nl.sigmoid(x)[[0, 2, 3, 4]], np.array([0, 0.5, 1, 1], np.float32))
    assert 0 < nl.sigmoid(x)[1] < 1e-13  # not clamped to 0 at -30
    y = np.array([-104.0, 15.0, 100.0], np.float32)
    np.testing.assert_array_equal(nl.softplus(y), np.array([0, 15, 100], np.float32))
    with pytest.raises(LegacyconvError, match="softmax"):
        nl.softmax(np.zeros((1, 2, 3), np.float32))
    assert nl.identity is nl.linear


def test_param_tags_and_shared_params():
    inp = L.InputLayer((None, 3, 5, 5))
    bn = L.BatchNormLayer(inp)
    assert [bn.params[p] for p in bn.get_params()] == [
        {"trainable"},
        {"trainable", "regularizable"},
        {"batch_norm_stat"},
        {"batch_norm_stat"},
    ]
    assert bn.get_params(trainable=True) == [bn.beta, bn.gamma]
    assert bn.get_params(regularizable=False, trainable=False) == [bn.mean, bn.inv_std]
    a = L.Conv2DLayer(inp, 3, 3, pad=1)
    b = L.Conv2DLayer(a, 3, 3, pad=1, W=a.W)  # weight sharing, as Lasagne allowed
    assert L.get_all_params(b) == [a.W, a.b, b.b]
    s = L.standardize(inp, np.zeros(3, np.float32), np.ones(3, np.float32))
    assert L.get_all_params(s, trainable=True) == []


def test_import_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, legacyconv.lasagne, legacyconv.lasagne.layers.dnn;"
        "print(','.join(m for m in ('tensorflow', 'keras', 'h5py', 'theano', 'lasagne') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert mirror.__version__ == "0.2.dev1"


@pytest.mark.parametrize(
    "make, draw",
    [
        # Lasagne's formulas, drawn from the same RandomState (an independent restatement)
        (
            lambda: mirror.init.GlorotUniform(),
            lambda r, s: r.uniform(-1, 1, s) * np.sqrt(3 * 2.0 / ((4 + 3) * 9)),
        ),
        (
            lambda: mirror.init.GlorotNormal("relu"),
            lambda r, s: r.normal(0, np.sqrt(2) * np.sqrt(2.0 / (7 * 9)), s),
        ),
        (lambda: mirror.init.HeNormal(), lambda r, s: r.normal(0, np.sqrt(1.0 / 27), s)),
        (lambda: mirror.init.HeUniform(gain=2.0), lambda r, s: r.uniform(-1, 1, s) * 2 * np.sqrt(3.0 / 27)),
        (lambda: mirror.init.Normal(0.5, 1.0), lambda r, s: r.normal(1.0, 0.5, s)),
        (lambda: mirror.init.Constant(0.25), lambda r, s: np.full(s, 0.25)),
    ],
)
def test_initializers_draw_lasagnes_numbers(make, draw):
    shape = (4, 3, 3, 3)
    mirror.random.set_rng(np.random.RandomState(5))
    try:
        got = make()(shape)
    finally:
        mirror.random.set_rng(np.random)
    want = draw(np.random.RandomState(5), shape)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=1e-6, atol=1e-7)
    with pytest.raises(LegacyconvError, match="c01b=True needs a 4-d shape"):
        mirror.init.GlorotUniform(c01b=True)((3, 3))
