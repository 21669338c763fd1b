"""The three recorded Lasagne networks (tests/data/lasagne/) through the Keras target equal what
Lasagne computed on Theano, layer by layer, and load in plain Keras.

The graphs come from the ONNX tests' small test-only Lasagne translator (no Lasagne frontend
exists yet); they exercise what only Lasagne models have: LRN, ``BatchNormLayer``'s
``inv_std``, ``average_exc_pad`` with padding, ceil-mode pooling, dilated and transposed
convolutions, ``ElemwiseSumLayer`` coefficients, ``SliceLayer``, ``flip_filters=False``."""

from __future__ import annotations

import numpy as np
import pytest
from test_onnx_lasagne import DATA, MODELS, lasagne_graph

pytest.importorskip("tensorflow")

from legacyconv.regression import check  # noqa: E402
from legacyconv.targets.keras import emit, save  # noqa: E402


@pytest.mark.parametrize("name", MODELS)
def test_lasagne_network_through_keras_equals_theano(name: str, tmp_path) -> None:
    path = save(emit(lasagne_graph(name)), tmp_path / f"{name}.keras")
    with np.load(DATA / f"{name}_reference.npz") as data:
        refs = dict(data)
    report = check(path, refs, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(refs["output"]).max())))
    assert report.passed, report.table()
    assert {r.key for r in report.rows if r.status == "ok"} == set(refs) - {"input", "raw_input"}, (
        report.table()
    )
