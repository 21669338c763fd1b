"""The engine contract: every engine module implements every op of ``legacyconv.engines.OPS``
with the same signature, ``get_op`` is the one dispatch with the one "backend X has no op Y"
error, and engines never import the public op modules (they receive validated arrays)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

import legacyconv
from legacyconv import LegacyconvError
from legacyconv.engines import BACKENDS, OPS, get_engine, get_op

import reference

ENGINES = Path(legacyconv.__file__).parent / "engines"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", OPS)
def test_every_engine_implements_every_op_with_the_same_signature(backend, op):
    fn = get_op(backend, op)
    expected = inspect.signature(getattr(get_engine("numpy"), op))
    params = inspect.signature(fn).parameters.values()
    # an engine may add its own keyword-only options (scipy: method=), nothing else
    contract = [p.name for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert contract == list(expected.parameters)
    assert all(
        p.default is not inspect.Parameter.empty for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY
    )
    assert fn.__doc__


def test_unknown_backend_and_op_and_a_missing_op_are_one_error(monkeypatch):
    with pytest.raises(LegacyconvError, match=r"backend must be one of .*Received: backend='cuda'"):
        get_op("cuda", "correlate")
    with pytest.raises(LegacyconvError, match=r"backend 'numpy' has no op 'conv4d'"):
        get_op("numpy", "conv4d")
    monkeypatch.delattr(get_engine("scipy"), "pool2d")
    with pytest.raises(LegacyconvError, match=r"backend 'scipy' has no op 'pool2d'.*implements correlate, "):
        legacyconv.pool_2d(np.ones((2, 2)), (2, 2), ignore_border=True, backend="scipy")


def test_public_ops_reject_an_unknown_backend_before_looking_at_the_data():
    for call in (
        lambda: legacyconv.conv2d_transpose(None, None, None, backend="gpu"),
        lambda: legacyconv.pool_2d(None, backend="gpu"),
        lambda: legacyconv.nnet.abstract_conv.bilinear_upsampling(None, 2, backend="gpu"),
    ):
        with pytest.raises(LegacyconvError, match="backend must be one of"):
            call()


@pytest.mark.parametrize("path", sorted(ENGINES.glob("*.py")), ids=lambda p: p.name)
def test_engines_import_no_public_op_module(path):
    """Engines receive validated arrays and plans: importing pool.py, transpose.py, conv.py, ...
    back would tie them to the validation layer (and make cycles)."""
    allowed = {"_config", "_errors", "_params", "_pool_plan", "_tf", "_threads", "layouts"}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 2:
            assert (node.module or "").split(".")[0] in allowed, f"{path.name} imports ..{node.module}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_separable_matmul_agrees_with_the_definition(backend):
    rng = np.random.default_rng(0)
    planes = rng.standard_normal((3, 4, 5))
    a_rows, a_cols = rng.standard_normal((6, 4)), rng.standard_normal((7, 5))
    out = get_op(backend, "separable_matmul")(planes, a_rows, a_cols)
    expected = np.stack([a_rows @ p @ a_cols.T for p in planes])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_input_and_weight_grads_of_the_correlation_agree_with_the_reference(backend):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((6, 2, 3, 2))
    pads, strides, dilations = ((1, 0), (2, 1)), (2, 1), (1, 2)
    y = rng.standard_normal(reference.correlate(x, w, pads, strides, dilations, 2).shape)
    gi = get_op(backend, "correlate_input_grad")(y, w, (7, 6), pads, strides, dilations, 2)
    gw = get_op(backend, "correlate_weight_grad")(x, y, (3, 2), pads, strides, dilations, 2)
    mode = tuple(pads)
    np.testing.assert_allclose(
        gi, reference.conv_transpose(y, w, (7, 6), mode, strides, dilations, 2, False), rtol=1e-10, atol=1e-10
    )
    np.testing.assert_allclose(
        gw,
        reference.conv_weight_grad(x, y, (3, 2), mode, strides, dilations, 2, False),
        rtol=1e-10,
        atol=1e-10,
    )


def test_non_finite_data_goes_to_the_numpy_engine_unless_the_engine_places_it_exactly():
    finite, nan = np.ones(3), np.array([1.0, np.nan])
    numpy_module = get_engine("numpy").__name__
    assert get_op("tensorflow", "correlate", finite).__module__ == get_engine("tensorflow").__name__
    assert get_op("tensorflow", "correlate", finite, nan).__module__ == numpy_module
    assert get_op("scipy", "correlate", nan).__module__ == get_engine("scipy").__name__  # direct sums
    assert get_op("scipy", "correlate_input_grad", nan).__module__ == numpy_module
    assert get_op("tensorflow", "pool2d", nan).__module__ == get_engine("tensorflow").__name__
    for backend in BACKENDS:
        assert set(get_engine(backend).NON_FINITE_EXACT) <= set(OPS)
