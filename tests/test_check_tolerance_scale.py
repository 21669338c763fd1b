"""check(tolerance_scale='layer') and `legacyconv check --tolerance-scale layer`: errors judged
against each layer's own scale, for networks with Caffe-scale activations."""

from __future__ import annotations

import numpy as np
import pytest

from legacyconv import LegacyconvError
from legacyconv.cli import main
from legacyconv.regression import check, layer_scale

keras = pytest.importorskip("tensorflow").keras

N = 6


@pytest.fixture(scope="module")
def caffe_scale():
    """A dense layer with activations in the hundreds and its 'legacy' reference: the exact
    float64 product (an independent NumPy computation) with float32-like rounding noise of
    2e-6 of the layer's scale, as a port summing in another order shows."""
    rng = np.random.default_rng(11)
    w = rng.normal(0, 10, (8, 10)).astype(np.float32)
    x = rng.normal(0, 30, (N, 8)).astype(np.float32)
    inputs = keras.Input((8,), name="input")
    out = keras.layers.Dense(10, use_bias=False, name="fc")(inputs)
    model = keras.Model(inputs, out)
    model.get_layer("fc").set_weights([w])
    exact = x.astype(np.float64) @ w.astype(np.float64)
    scale = np.abs(exact).max()
    assert scale > 300  # Caffe-scale
    noisy = exact + 2e-6 * scale * rng.choice([-1.0, 1.0], exact.shape)
    return model, {"input": x, "layer01_fc": noisy.astype(np.float32), "output": noisy.astype(np.float32)}


def test_correct_port_fails_per_element_but_passes_per_layer(caffe_scale):
    model, ref = caffe_scale
    assert not check(model, ref, progress=False).passed  # atol=1e-5 is below float32 rounding here
    report = check(model, ref, progress=False, tolerance_scale="layer")
    assert report.passed, report.table()
    row = report.rows[0]
    assert row.scale == pytest.approx(np.abs(ref["layer01_fc"]).max())
    assert "atol x scale" in report.table()
    assert "max(1, max|reference|) of each layer" in report.table()
    assert report.to_dict()["tolerance_scale"] == "layer"


@pytest.mark.parametrize("relative_error", [1e-2, 5e-2])
def test_wrong_port_fails_per_layer(caffe_scale, relative_error):
    model, ref = caffe_scale
    wrong = dict(ref)
    bad = ref["layer01_fc"].copy()
    bad[2, 3] += relative_error * np.abs(bad).max()  # one value off by >= 1e-2 of the scale
    wrong["layer01_fc"] = wrong["output"] = bad
    report = check(model, wrong, progress=False, tolerance_scale="layer")
    assert not report.passed
    assert report.first_diverging.key == "layer01_fc"
    assert report.first_diverging.mismatched == 1


def test_layer_scale_is_at_least_one_and_ignores_nonfinite():
    assert layer_scale(np.array([0.001, -0.5])) == 1.0
    assert layer_scale(np.array([np.inf, -250.0])) == 250.0
    assert layer_scale(np.zeros((0, 3))) == 1.0


def test_bad_tolerance_scale(caffe_scale):
    model, ref = caffe_scale
    with pytest.raises(
        LegacyconvError, match="tolerance_scale must be one of .*Received: tolerance_scale='model'"
    ):
        check(model, ref, tolerance_scale="model")


def test_cli_flag(caffe_scale, tmp_path, capsys):
    model, ref = caffe_scale
    model_path = tmp_path / "m.keras"
    model.save(model_path)
    ref_path = tmp_path / "ref.npz"
    np.savez(ref_path, **ref)
    assert main(["check", str(model_path), str(ref_path)]) == 1
    capsys.readouterr()
    assert main(["check", str(model_path), str(ref_path), "--tolerance-scale", "layer"]) == 0
    assert "atol x scale" in capsys.readouterr().out
