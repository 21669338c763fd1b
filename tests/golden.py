"""Load the outputs recorded from real Theano 1.0.5 (tests/data/theano_reference.* and the
other ``*_reference.{json,npz}`` pairs in the same format; see tests/data/README.md for their
origin and format)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from legacyconv import LegacyconvError

DATA = Path(__file__).parent / "data"


def as_tuples(value):
    """JSON lists back to the tuples Theano was called with, recursively."""
    if isinstance(value, list):
        return tuple(as_tuples(v) for v in value)
    return value


@cache
def _load(source: str = "theano_reference"):
    meta = json.loads((DATA / f"{source}.json").read_text())
    arrays = np.load(DATA / f"{source}.npz", allow_pickle=False)
    return meta, {k: arrays[k] for k in arrays.files}


def cases(*ops: str, source: str = "theano_reference") -> list[dict]:
    """Golden cases of the given ops, each with 'inputs' (arrays), 'kwargs' (tuples restored),
    and either 'expected' + 'dtype' (a list of each for ops returning several arrays) or
    'error'. ``source`` names the recording (``theano_nnet_reference`` for the nnet/signal
    extras)."""
    meta, arrays = _load(source)
    out = []
    for case in meta["cases"]:
        if case["op"] not in ops:
            continue
        item = {
            "name": case["name"],
            "op": case["op"],
            "kwargs": {k: as_tuples(v) for k, v in case["kwargs"].items()},
            "inputs": [arrays[k] for k in case["inputs"]],
            "floatX": case.get("floatX"),
        }
        if "note" in case:  # legacyconv deliberately differs from Theano here (the note says why)
            item["note"] = case["note"]
        if "error" in case:
            item["error"] = case["error"]
        elif "outputs" in case:
            item["expected"] = [arrays[k] for k in case["outputs"]]
            item["dtype"] = [np.dtype(d) for d in case["output_dtypes"]]
        else:
            item["expected"] = arrays[case["output"]]
            item["dtype"] = np.dtype(case["output_dtype"])
        out.append(item)
    return out


def output_shape_cases() -> list[dict]:
    return _load()[0]["output_shapes"]


def shape_function_cases(source: str) -> list[dict]:
    """Recorded calls of Theano's pure-Python shape helpers: 'fn', 'args' (tuples restored)
    and 'result' (tuples restored) or 'error'."""
    return [
        {**c, "args": as_tuples(c["args"]), **({"result": as_tuples(c["result"])} if "result" in c else {})}
        for c in _load(source)[0]["shape_functions"]
    ]


def tolerance(dtype: np.dtype, expected: np.ndarray) -> dict:
    """assert_allclose tolerances for a comparison with Theano: rtol per dtype, and an atol
    scaled to the output's magnitude (sums of many terms cancel to near zero)."""
    scale = float(np.max(np.abs(expected))) if expected.size else 1.0
    if np.dtype(dtype) == np.float32:
        return {"rtol": 1e-5, "atol": 2e-6 * max(scale, 1.0)}
    return {"rtol": 1e-12, "atol": 1e-12 * max(scale, 1.0)}


def tight_tolerance(dtype: np.dtype, expected: np.ndarray) -> dict:
    """Tolerances for elementwise ops and reductions recorded in the input's dtype: float32
    2e-6 relative, float64 1e-12, with an atol scaled to the largest finite output (values that
    cancel to near zero, e.g. normalised activations or relu with a small alpha)."""
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(float(finite.max()) if finite.size else 1.0, 1.0)
    if np.dtype(dtype) == np.float32:
        return {"rtol": 2e-6, "atol": 2e-6 * scale}
    return {"rtol": 1e-12, "atol": 1e-12 * scale}


def assert_matches_theano(fn, case: dict, *, tol=None, error_match: str | None = None, **kwargs) -> None:
    """Call ``fn(*inputs, **case kwargs, **kwargs)`` on a golden case and assert Theano's
    outcome: its dtype, shape and values (``tol(dtype, expected)`` gives the tolerances,
    :func:`tolerance` by default), or an error where Theano raised. Inputs stay unchanged."""
    originals = [a.copy() for a in case["inputs"]]
    if "error" in case:
        with pytest.raises(LegacyconvError, match=error_match):
            fn(*case["inputs"], **case["kwargs"], **kwargs)
    else:
        out = fn(*case["inputs"], **case["kwargs"], **kwargs)
        assert out.dtype == case["dtype"]
        assert out.shape == case["expected"].shape
        np.testing.assert_allclose(out, case["expected"], **(tol or tolerance)(out.dtype, case["expected"]))
    for before, after in zip(originals, case["inputs"]):
        np.testing.assert_array_equal(before, after)
