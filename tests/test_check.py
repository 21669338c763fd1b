"""check(): per-layer comparison of a Keras model with channels-first legacy reference outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from legacyconv import LegacyconvError
from legacyconv.regression import check, load_reference

keras = pytest.importorskip("tensorflow").keras

N = 5


@pytest.fixture(scope="module")
def model():
    inputs = keras.Input((6, 6, 2), name="input")
    x = keras.layers.Conv2D(3, 3, name="conv", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = keras.layers.Dense(4, name="dense", activation="softmax")(x)
    m = keras.Model(inputs, x)
    rng = np.random.default_rng(0)
    m.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in m.get_weights()])
    return m


@pytest.fixture(scope="module")
def reference(model):
    """Legacy-style reference: NCHW input and NCHW / (C, H, W)-flattened layer outputs."""
    rng = np.random.default_rng(1)
    x_nhwc = rng.standard_normal((N, 6, 6, 2)).astype(np.float32)
    probe = keras.Model(
        model.inputs[0], [model.get_layer(n).output for n in ("conv", "pool", "flat", "dense")]
    )
    conv, pool, _, dense = (np.asarray(t) for t in probe(x_nhwc))
    return {
        "input": x_nhwc.transpose(0, 3, 1, 2).copy(),
        "layer00_conv": conv.transpose(0, 3, 1, 2).copy(),
        "layer01_pool": pool.transpose(0, 3, 1, 2).copy(),
        "layer02_flat": pool.transpose(0, 3, 1, 2).reshape(N, -1).copy(),  # Theano flattened (C, H, W)
        "layer03_dense": dense,
        "output": dense,
    }


def test_passes_with_transposes_and_flatten_reorder(model, reference):
    report = check(model, reference, progress=False)
    assert report.passed
    assert [r.key for r in report.rows] == [
        "layer00_conv",
        "layer01_pool",
        "layer02_flat",
        "layer03_dense",
        "output",
    ]
    assert all(r.status == "ok" for r in report.rows)
    rows = {r.key: r for r in report.rows}
    assert rows["layer00_conv"].shape == (N, 4, 4, 3)  # reported in NHWC, like the model
    assert "re-ordered" in rows["layer02_flat"].note
    assert rows["output"].max_abs < 1e-6
    assert any("NCHW" in n for n in report.notes)
    assert report.first_diverging is None
    assert "PASS" in report.table()


def test_first_diverging_layer_is_reported(model, reference):
    bad = dict(reference)
    bad["layer01_pool"] = reference["layer01_pool"].copy()
    bad["layer01_pool"][3, 2, 1, 0] += 0.01
    report = check(model, bad, progress=False)
    assert not report.passed
    first = report.first_diverging
    assert first.key == "layer01_pool" and first.mismatched == 1
    assert first.max_abs == pytest.approx(0.01, rel=1e-3)
    assert [r.status for r in report.rows] == ["ok", "MISMATCH", "ok", "ok", "ok"]
    table = report.table()
    assert "first diverging: layer01_pool" in table and "FAIL" in table
    d = report.to_dict()
    json.dumps(d)
    assert d["passed"] is False and d["first_diverging"] == "layer01_pool"


def test_tolerances_decide(model, reference):
    bad = dict(reference, output=reference["output"] * (1 + 1e-3))
    assert not check(model, bad, progress=False).passed
    assert check(model, bad, rtol=2e-3, progress=False).passed


def test_batches_give_the_same_answer(model, reference):
    whole = check(model, reference, batch_size=256, progress=False)
    pieces = check(model, reference, batch_size=2, progress=False)
    for a, b in zip(whole.rows, pieces.rows):
        # TF may pick other kernels for other batch sizes: equal up to float32 rounding
        assert (a.key, a.mismatched) == (b.key, b.mismatched)
        assert b.max_abs == pytest.approx(a.max_abs, abs=1e-5)
    assert pieces.batch_size == 2 and pieces.n_samples == N


def test_progress_bar_goes_to_stderr(model, reference, capsys):
    pytest.importorskip("tqdm")
    check(model, reference, batch_size=2, progress=True)
    captured = capsys.readouterr()
    assert "5/5" in captured.err and captured.out == ""


def test_unknown_layers_are_skipped_and_nhwc_input_used_as_is(model, reference):
    ref = {
        "input": reference["input"].transpose(0, 2, 3, 1),
        "layer07_gone": np.zeros((N, 3)),
        "output": reference["output"],
    }
    report = check(model, ref, progress=False)
    assert report.passed and not report.notes
    assert report.rows[0].status == "skipped" and "no layer named 'gone'" in report.rows[0].note


def test_shape_mismatch_is_a_mismatch(model, reference):
    report = check(model, dict(reference, layer00_conv=np.zeros((N, 3, 5, 5))), progress=False)
    assert report.rows[0].status == "MISMATCH" and "does not fit" in report.rows[0].note
    assert not report.passed


@pytest.mark.parametrize(
    "ref, match",
    [
        ({"output": np.zeros((N, 4))}, "no 'input' array"),
        ({"input": np.zeros((N, 3, 6, 6)), "output": np.zeros((N, 4))}, "fits the model input"),
        ({"input": np.zeros((N, 2, 6, 6))}, "nothing to compare"),
    ],
)
def test_bad_reference(model, ref, match):
    with pytest.raises(LegacyconvError, match=match):
        check(model, ref, progress=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"batch_size": 0}, "batch_size"), ({"rtol": -1.0}, "rtol"), ({"atol": float("nan")}, "atol")],
)
def test_bad_arguments(model, reference, kwargs, match):
    with pytest.raises(LegacyconvError, match=match):
        check(model, reference, progress=False, **kwargs)


def test_model_and_reference_files(model, reference, tmp_path):
    path = tmp_path / "m.keras"
    model.save(path)
    np.savez(tmp_path / "ref.npz", **reference)
    report = check(str(path), tmp_path / "ref.npz", progress=False)
    assert report.passed and report.model == str(path)
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(LegacyconvError, match="cannot load .*bad.keras as a Keras model"):
        check(tmp_path / "bad.keras", reference, progress=False)
    with pytest.raises(LegacyconvError, match="model must be a Keras model"):
        check(np.zeros(3), reference, progress=False)
    with pytest.raises(LegacyconvError, match="no such model file"):
        check(tmp_path / "none.keras", reference, progress=False)
    np.savez(tmp_path / "short.npz", input=np.zeros((N, 2, 6, 6)), output=np.zeros((N - 1, 4)))
    with pytest.raises(LegacyconvError, match="one row per input sample"):
        load_reference(tmp_path / "short.npz")


# --------------------------------------------------------------------------- non-finite values


def _with_output(reference, change):
    ref = {k: v.copy() for k, v in reference.items()}
    change(ref["output"])
    return ref


@pytest.mark.parametrize(
    "change, bad",
    [
        (lambda out: out.fill(np.nan), N * 4),  # all NaN against a finite model
        (lambda out: out.__setitem__((0, 0), np.inf), 1),
        (lambda out: out.__setitem__((1, slice(None)), -np.inf), 4),
    ],
)
def test_non_finite_reference_against_a_finite_model_fails(model, reference, change, bad):
    report = check(model, _with_output(reference, change), progress=False)
    row = next(r for r in report.rows if r.key == "output")
    assert not report.passed
    assert row.status == "MISMATCH" and row.nonfinite_mismatched == bad and row.mismatched >= bad
    assert row.max_abs == np.inf and f"{bad} NaN/Inf placed differently" in row.note
    assert "FAIL" in report.table()


def test_non_finite_values_pass_only_where_both_agree(model, reference):
    from legacyconv.regression import CheckRow, _accumulate

    def compare(out, ref):
        row = CheckRow("k", None, (4,), size=4)
        _accumulate(row, np.array(out, np.float32), np.array(ref, np.float32), 1e-5, 1e-5)
        return row.mismatched, row.nonfinite_mismatched

    nan, inf = np.nan, np.inf
    assert compare([nan, inf, -inf, 1.0], [nan, inf, -inf, 1.0]) == (0, 0)
    assert compare([nan, inf, -inf, 1.0], [1.0, inf, -inf, 1.0]) == (1, 1)  # NaN in the model only
    assert compare([1.0, inf, -inf, 1.0], [nan, inf, -inf, 1.0]) == (1, 1)  # NaN in the reference only
    assert compare([nan, -inf, -inf, 1.0], [nan, inf, -inf, 1.0]) == (1, 1)  # Inf of the other sign
    assert compare([nan, inf, 3e38, 1.0], [nan, inf, -inf, 1.0]) == (1, 1)  # Inf against a finite value
    assert compare([nan, inf, -inf, 2.0], [nan, inf, -inf, 1.0]) == (1, 0)  # a finite mismatch


@pytest.mark.parametrize(
    "ref, match",
    [
        ({"input": np.zeros((0, 2, 6, 6)), "output": np.zeros((0, 4))}, "holds 0 samples"),
        (
            {"input": np.zeros((N, 2, 6, 6)), "output": np.zeros((N, 4), np.complex64)},
            r"complex64 \(complex\)",
        ),
        ({"input": np.zeros((N, 2, 6, 6)), "output": np.full((N, 4), "1.0")}, r"\(not numeric\)"),
        ({"input": np.zeros((N, 2, 6, 6)), "output": np.zeros((N, 0))}, "no values to compare"),
    ],
)
def test_empty_complex_and_text_references_are_errors(model, ref, match):
    with pytest.raises(LegacyconvError, match=match):
        check(model, ref, progress=False)
