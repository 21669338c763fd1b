"""convert_weights: Keras-1 files and Lasagne-style positional .npz with a spec, checked against TF."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import legacyconv
from legacyconv import LegacyconvError
from legacyconv.convert import convert_weights, load_spec, spec_template
from legacyconv.io import WeightFile, load_weights, save_weights

EXAMPLES = Path(__file__).resolve().parents[1] / "legacyconv" / "examples"
LENET = EXAMPLES / "keras1_theano_lenet.h5"

pytest.importorskip("h5py")

try:
    import tomllib
except ImportError:  # Python < 3.11
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ImportError:
        tomllib = None


@pytest.fixture(scope="module")
def lenet():
    return load_weights(LENET)


@pytest.fixture(scope="module")
def positional(lenet, tmp_path_factory):
    """What a Lasagne project would have saved: np.savez(f, *params), same weights as the model."""
    path = tmp_path_factory.mktemp("lasagne") / "params.npz"
    np.savez(path, *lenet.arrays.values())
    return path


SPEC = {
    "arrays": {
        "arr_0": {"role": "conv_kernel", "filter_flip": True},
        "arr_1": {"role": "bias"},
        "arr_2": {"role": "conv_kernel", "filter_flip": True},
        "arr_3": {"role": "bias"},
        "arr_4": {"role": "dense_kernel", "feature_shape": [12, 6, 6]},
        "arr_5": {"role": "bias"},
        "arr_6": {"role": "dense_kernel"},
        "arr_7": {"role": "bias"},
    }
}

SPEC_TOML = """
[arrays.arr_0]
role = "conv_kernel"
filter_flip = true
[arrays.arr_1]
role = "bias"
[arrays.arr_2]
role = "conv_kernel"
filter_flip = true
[arrays.arr_3]
role = "bias"
[arrays.arr_4]
role = "dense_kernel"
feature_shape = [12, 6, 6]
[arrays.arr_6]
role = "dense_kernel"
"""


def test_keras1_file_to_tf_by_hand(lenet):
    out = convert_weights(lenet)
    w = lenet.arrays["convolution2d_1/convolution2d_1_W"]
    # Theano (out, in, rows, cols), flipped (true convolution) -> TF HWIO cross-correlation
    np.testing.assert_array_equal(
        out.arrays["convolution2d_1/convolution2d_1_W"], w[:, :, ::-1, ::-1].transpose(2, 3, 1, 0)
    )
    np.testing.assert_array_equal(out.arrays["dense_1/dense_1_b"], lenet.arrays["dense_1/dense_1_b"])
    np.testing.assert_array_equal(out.arrays["dense_2/dense_2_W"], lenet.arrays["dense_2/dense_2_W"])
    # the dense kernel after the flatten: same result on the same feature map, flattened each way
    fmap = np.random.default_rng(0).standard_normal((12, 6, 6))
    np.testing.assert_allclose(
        fmap.transpose(1, 2, 0).reshape(-1) @ out.arrays["dense_1/dense_1_W"],
        fmap.reshape(-1) @ lenet.arrays["dense_1/dense_1_W"],
        rtol=1e-10,
    )
    assert all(out.info[k].layout in ("tf", "any") for k in out.arrays)


def test_round_trip_is_exact_and_input_untouched(lenet):
    before = {k: v.copy() for k, v in lenet.arrays.items()}
    tf_weights = convert_weights(lenet, to="tf")
    back = convert_weights(tf_weights, to="theano")
    for k, v in before.items():
        assert np.array_equal(back.arrays[k], v)
        assert np.array_equal(lenet.arrays[k], v)
    with pytest.raises(LegacyconvError, match="already in the tf layout"):
        convert_weights(tf_weights, to="tf")
    with pytest.raises(LegacyconvError, match="already in the theano layout"):
        convert_weights(lenet, to="theano")


def _tf_forward_equals_theano(converted, theano_weights):
    """A TF forward pass with the converted weights equals legacyconv.conv2d on the Theano ones."""
    tf = pytest.importorskip("tensorflow")
    x = np.random.default_rng(3).standard_normal((2, 1, 28, 28)).astype(np.float32)
    w0, b0, w1, b1, w2, b2 = (theano_weights[f"arr_{i}"] for i in range(6))
    # Theano side: legacyconv.conv2d (verified against real Theano), channels-first
    h = np.maximum(legacyconv.conv2d(x, w0) + b0[:, None, None], 0)
    h = h.reshape(2, 6, 12, 2, 12, 2).max(axis=(3, 5))
    h = np.maximum(legacyconv.conv2d(h, w1, border_mode="half") + b1[:, None, None], 0)
    h = h.reshape(2, 12, 6, 2, 6, 2).max(axis=(3, 5))
    expected = np.maximum(h.reshape(2, -1) @ w2 + b2, 0)
    # TF side: tf.nn ops, channels-last, converted weights
    c = converted
    t = tf.nn.relu(tf.nn.conv2d(x.transpose(0, 2, 3, 1), c["arr_0"], 1, "VALID") + c["arr_1"])
    first_conv = np.asarray(t)
    t = tf.nn.max_pool2d(t, 2, 2, "VALID")
    t = tf.nn.relu(tf.nn.conv2d(t, c["arr_2"], 1, [[0, 0], [1, 1], [1, 1], [0, 0]]) + c["arr_3"])
    t = tf.nn.max_pool2d(t, 2, 2, "VALID")
    got = tf.nn.relu(tf.reshape(t, (2, -1)) @ c["arr_4"] + c["arr_5"]).numpy()
    conv_expected = np.maximum(legacyconv.conv2d(x, w0) + b0[:, None, None], 0).transpose(0, 2, 3, 1)
    np.testing.assert_allclose(first_conv, conv_expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_lasagne_positional_npz_with_json_spec_matches_tf(positional, tmp_path):
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(SPEC))
    converted = convert_weights(positional, spec=spec_path)
    assert converted.format == "npz-positional"
    out = save_weights(converted, tmp_path / "params_tf.npz")
    saved = dict(np.load(out))
    assert list(saved) == [f"arr_{i}" for i in range(8)]
    _tf_forward_equals_theano(saved, dict(np.load(positional)))


@pytest.mark.skipif(tomllib is None, reason="TOML needs Python >= 3.11 or tomli")
def test_lasagne_positional_npz_with_toml_spec(positional, tmp_path):
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(SPEC_TOML)
    toml_out = convert_weights(positional, spec=spec_path)
    json_out = convert_weights(positional, spec=SPEC)
    for k in json_out.arrays:
        assert np.array_equal(toml_out.arrays[k], json_out.arrays[k])


def test_positional_without_spec_names_the_arrays(positional):
    with pytest.raises(
        LegacyconvError, match=r"4 array\(s\).*no known role.*arr_0 \(6, 1, 5, 5\).*--spec-template"
    ):
        convert_weights(positional)


def test_filter_flip_false_and_renaming(positional):
    spec = {
        "arrays": {
            "arr_0": {"role": "conv_kernel", "filter_flip": False, "name": "conv1/kernel"},
            "arr_2": {"role": "keep"},
            "arr_4": {"role": "keep"},
            "arr_6": {"role": "keep"},
        }
    }
    out = convert_weights(positional, spec=spec)
    w = np.load(positional)["arr_0"]
    assert list(out.arrays)[0] == "conv1/kernel"
    np.testing.assert_array_equal(out.arrays["conv1/kernel"], w.transpose(2, 3, 1, 0))


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"arrays": {"arr_0": {"role": "conv"}}}, r"arrays.arr_0.role must be one of"),
        ({"arrays": {"arr_0": {"role": "conv_kernel", "flip": True}}}, r"unknown keys \['flip'\]"),
        ({"arrays": {"arr_0": {"role": "conv_kernel", "filter_flip": "yes"}}}, "wrong type"),
        ({"arrays": {"arr_9": {"role": "bias"}}}, r"names arrays that are not in .*\['arr_9'\]"),
        ({"arrays": {"arr_1": {"role": "bias", "feature_shape": [1, 2, 3]}}}, "for a dense_kernel only"),
        (
            {"arrays": {"arr_4": {"role": "dense_kernel", "feature_shape": [12, 5, 6]}}},
            "one row per flattened feature",
        ),
        ({"arrays": {"arr_1": {"role": "conv_kernel", "filter_flip": True}}}, r"array 'arr_1'.*4-d array"),
        ({"arrays": {}}, "non-empty 'arrays'"),
        ({"layers": {}}, "unknown top-level keys"),
        (
            {"arrays": {"arr_0": {"role": "bias", "name": "x"}, "arr_1": {"role": "bias", "name": "x"}}},
            "two arrays would be written as 'x'",
        ),
    ],
)
def test_bad_spec(positional, spec, match):
    full = {
        "arrays": {
            **{k: {"role": "keep"} for k in ("arr_0", "arr_2", "arr_4", "arr_6")},
            **spec.get("arrays", {}),
        }
    }
    if set(spec) != {"arrays"} or not spec["arrays"]:
        full = spec
    with pytest.raises(LegacyconvError, match=match):
        convert_weights(positional, spec=full)


def test_bad_spec_files(positional, tmp_path):
    bad = tmp_path / "spec.json"
    bad.write_text("{not json")
    with pytest.raises(LegacyconvError, match="spec.json is not valid JSON"):
        convert_weights(positional, spec=bad)
    with pytest.raises(LegacyconvError, match="cannot read the spec"):
        convert_weights(positional, spec=tmp_path / "missing.json")
    if tomllib is not None:
        badt = tmp_path / "spec.toml"
        badt.write_text("[arrays\nrole=")
        with pytest.raises(LegacyconvError, match="not valid TOML"):
            convert_weights(positional, spec=badt)


def test_nonfinite_weights_warn():
    wf = WeightFile(None, "npz", "t", {"w": np.array([[1.0, np.nan]]), "b": np.ones(2)})
    with pytest.warns(RuntimeWarning, match="non-finite.*w \\(1\\)"):
        out = convert_weights(wf, spec={"arrays": {"w": {"role": "dense_kernel"}}})
    assert np.isnan(out.arrays["w"][0, 1])


def test_bad_target():
    with pytest.raises(LegacyconvError, match="to must be one of"):
        convert_weights(WeightFile(None, "npz", "t", {"b": np.ones(2)}), to="pytorch")


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_spec_template_loads_back(lenet, positional, fmt):
    text = spec_template(positional, fmt)
    if fmt == "json":
        parsed = json.loads(text)["arrays"]
    elif tomllib is None:
        pytest.skip("no TOML reader")
    else:
        parsed = tomllib.loads(text)["arrays"]
    # the template never guesses what changes the numbers: convert refuses it until filled in
    with pytest.raises(
        LegacyconvError, match=r"arrays.arr_0.filter_flip is still the template's placeholder"
    ):
        load_spec({"arrays": parsed})
    assert parsed["arr_4"]["feature_shape"].startswith("FILL IN: [channels, rows, cols] with channels * rows")
    assert "= 432 (the conv kernel before it has 12 filters)" in parsed["arr_4"]["feature_shape"]
    assert (
        parsed["arr_6"]["feature_shape"] is None if fmt == "json" else "feature_shape" not in parsed["arr_6"]
    )
    assert parsed["arr_0"] == {
        "role": "conv_kernel",
        "filter_flip": "FILL IN: true or false (Lasagne's flip_filters)",
    }
    assert parsed["arr_4"]["role"] == "dense_kernel"
    # for a Keras-1 file the template carries the recorded roles, feature shape included
    spec = json.loads(spec_template(lenet, "json"))
    assert spec["arrays"]["dense_1/dense_1_W"]["feature_shape"] == [12, 6, 6]
    with pytest.raises(LegacyconvError, match="fmt must be one of"):
        spec_template(lenet, "yaml")


def test_depthwise_kernel_needs_num_channels_in_the_spec(tmp_path):
    rng = np.random.default_rng(3)
    dw = rng.standard_normal((6, 1, 3, 3)).astype(np.float32)  # 3 channels x multiplier 2
    path = tmp_path / "dw.npz"
    np.savez(path, dw)
    with pytest.raises(
        LegacyconvError, match=r"spec must give num_channels for the depthwise_kernel of shape \(6, 1, 3, 3\)"
    ):
        convert_weights(path, spec={"arrays": {"arr_0": {"role": "depthwise_kernel", "filter_flip": True}}})
    out = convert_weights(
        path, spec={"arrays": {"arr_0": {"role": "depthwise_kernel", "num_channels": 3, "filter_flip": True}}}
    )
    k = next(iter(out.arrays.values()))
    assert k.shape == (3, 3, 3, 2)
    # TF's depthwise output channel c * 2 + q comes from kernel[:, :, c, q]: Theano's filter c * 2 + q, flipped
    for c in range(3):
        for q in range(2):
            np.testing.assert_array_equal(k[:, :, c, q], dw[c * 2 + q, 0, ::-1, ::-1])


# --------------------------------------------------------------------------- nothing guessed (issue 11)


def test_conv_kernel_without_filter_flip_is_refused(positional):
    spec = {"arrays": {**SPEC["arrays"], "arr_2": {"role": "conv_kernel"}}}
    with pytest.raises(
        LegacyconvError, match=r"arrays.arr_2 \(conv_kernel\) needs filter_flip: say true or false.*Caffe"
    ):
        convert_weights(positional, spec=spec)


def test_dense_after_conv_without_feature_shape_is_refused(positional):
    spec = {"arrays": {**SPEC["arrays"], "arr_4": {"role": "dense_kernel"}}}
    with pytest.raises(
        LegacyconvError,
        match=r"arr_4 is the first dense_kernel after a conv kernel and needs feature_shape.*\(H, W, C\)",
    ):
        convert_weights(positional, spec=spec)
    # an explicit null says the input was not a flattened map: accepted, rows unchanged
    spec["arrays"]["arr_4"] = {"role": "dense_kernel", "feature_shape": None}
    out = convert_weights(positional, spec=spec)
    assert np.array_equal(out.arrays["arr_4"], np.load(positional)["arr_4"])


def test_placeholder_feature_shape_is_refused(positional):
    spec = {
        "arrays": {**SPEC["arrays"], "arr_4": {"role": "dense_kernel", "feature_shape": "FILL IN: [c, h, w]"}}
    }
    with pytest.raises(
        LegacyconvError, match=r"arrays.arr_4.feature_shape is still the template's placeholder"
    ):
        convert_weights(positional, spec=spec)


def test_file_already_in_the_target_layout_is_refused(positional, tmp_path):
    tf_weights = convert_weights(positional, spec=SPEC)
    again = tmp_path / "tf.npz"
    np.savez(again, *tf_weights.arrays.values())  # the converted file, saved positionally (layout forgotten)
    with pytest.raises(
        LegacyconvError, match=r"array 'arr_0' of shape \(5, 5, 1, 6\) looks already in the tf layout"
    ):
        convert_weights(again, spec=SPEC, to="tf")
    with pytest.raises(
        LegacyconvError, match=r"array 'arr_0' of shape \(6, 1, 5, 5\) looks already in the theano layout"
    ):
        convert_weights(positional, spec=SPEC, to="theano")
    back = convert_weights(again, spec=SPEC, to="theano")  # the right direction works, exactly
    for k, v in np.load(positional).items():
        assert np.array_equal(back.arrays[k], v)
