"""Arguments of the wrong type or value at the public entry points (convert_weights,
load_weights, check, to_onnx, migrate_keras1, the layout helpers): each is a LegacyconvError
naming the argument (a LegacyconvTypeError for a wrong type), not Python's own TypeError or
AttributeError from inside, nor NumPy's 'truth value of an array is ambiguous'."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import legacyconv
from legacyconv import LegacyconvError, layouts
from legacyconv._errors import LegacyconvTypeError
from legacyconv.io import load_weights

EXAMPLES = Path(__file__).resolve().parents[1] / "legacyconv" / "examples"
LENET = EXAMPLES / "keras1_theano_lenet.h5"
REFERENCE = EXAMPLES / "keras1_theano_lenet_reference.npz"


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: legacyconv.convert_weights(3),
            LegacyconvTypeError,
            "weights must be a path .* or a WeightFile",
        ),
        (lambda: legacyconv.convert_weights(None), LegacyconvTypeError, "Received: weights of type NoneType"),
        (
            lambda: legacyconv.convert_weights(LENET, to=np.array(["tf"])),
            LegacyconvError,
            "to must be one of",
        ),
        (lambda: load_weights(1.5), LegacyconvTypeError, "path must be a path"),
        (lambda: layouts.nchw_to_nhwc([[1.0], [2.0, 3.0]]), LegacyconvTypeError, "x must be an array"),
        (
            lambda: legacyconv.migrate_keras1(LENET, input_layout=np.array(["nhwc"])),
            LegacyconvError,
            "input_layout must be one of",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_check_reference_must_be_a_path_or_arrays():
    for reference in (None, 3, [np.zeros(2)]):
        with pytest.raises(
            LegacyconvTypeError, match="reference must be a path to an .npz file or a dict of arrays"
        ):
            legacyconv.check(LENET, reference)
    with pytest.raises(LegacyconvError, match="tolerance_scale must be one of"):
        legacyconv.check(LENET, REFERENCE, tolerance_scale=np.array(["layer"]))


@pytest.mark.skipif(importlib.util.find_spec("onnx") is None, reason="needs onnx")
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"expose_layers": "yes"},
            LegacyconvError,
            "expose_layers must be True or False. Received: expose_layers='yes'",
        ),
        ({"unroll_rnn": 1}, LegacyconvError, "unroll_rnn must be True or False"),
        ({"check": None}, LegacyconvError, "check must be True or False"),
        ({"weights": 3}, LegacyconvTypeError, "weights must be a path"),
        ({"input_layout": np.array(["nchw"])}, LegacyconvError, "input_layout must be 'nchw'"),
    ],
)
def test_to_onnx_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        legacyconv.to_onnx(LENET, **kwargs)
