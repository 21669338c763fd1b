"""Record what real Theano 1.0.5 (CorrMM, C code) computes with non-finite filters and inputs.

Run in the Keras-1 lab venv (Theano 1.0.5 on Python 3.11, see shared/theano_lab/README.md)::

    THEANO_FLAGS="floatX=float32,blas.ldflags=,cxx=g++,base_compiledir=/work/lab/cache-i14" \
        /work/lab/keras1/bin/python tests/data/record_nonfinite.py tests/data/theano_nonfinite

Writes ``PREFIX.npz`` (inputs and outputs) and ``PREFIX.json`` (the cases: op, kwargs, keys).
"""

import json
import sys

import numpy as np
import theano
import theano.tensor as T
from theano.tensor.nnet import conv2d, conv2d_transpose


def nonfinite_filters(rng, shape, kinds):
    w = rng.standard_normal(shape).astype(np.float32)
    flat = w.reshape(-1)
    idx = rng.choice(flat.size, size=len(kinds), replace=False)
    for i, kind in zip(idx, kinds):
        flat[i] = {"inf": np.inf, "-inf": -np.inf, "nan": np.nan}[kind]
    return w


def main(prefix):
    rng = np.random.default_rng(20261202)
    arrays, cases = {}, []
    x4, w4 = T.tensor4("x"), T.tensor4("w")

    conv_cases = [
        ("conv2d/half/pm_inf", (2, 3, 7, 8), (4, 3, 3, 3), ["inf", "-inf", "inf"], {"border_mode": "half"}),
        ("conv2d/half/nan", (1, 2, 6, 6), (2, 2, 3, 3), ["nan"], {"border_mode": "half"}),
        ("conv2d/full/inf", (1, 2, 5, 6), (2, 2, 3, 2), ["inf", "-inf"], {"border_mode": "full"}),
        (
            "conv2d/pads_stride/inf",
            (1, 2, 9, 7),
            (3, 2, 3, 3),
            ["-inf", "inf"],
            {"border_mode": [2, 1], "subsample": [2, 2]},
        ),
        (
            "conv2d/half/dilated/inf",
            (1, 1, 9, 9),
            (1, 1, 3, 3),
            ["inf"],
            {"border_mode": "half", "filter_dilation": [2, 2]},
        ),
        (
            "conv2d/valid/inf_input",
            (1, 2, 6, 6),
            (2, 2, 3, 3),
            [],
            {"border_mode": "half", "input_inf": True},
        ),
    ]
    for name, xs, ws, kinds, kwargs in conv_cases:
        kwargs = dict(kwargs)
        x = rng.standard_normal(xs).astype(np.float32)
        if kwargs.pop("input_inf", False):
            x[0, 0, 2, 3] = np.inf
            x[0, 1, 4, 1] = -np.inf
        w = nonfinite_filters(rng, ws, kinds)
        call = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
        f = theano.function([x4, w4], conv2d(x4, w4, **call))
        out = f(x, w)
        key = name.replace("/", "_")
        arrays[key + "_x"], arrays[key + "_w"], arrays[key + "_out"] = x, w, out
        cases.append(
            {
                "name": name,
                "op": "conv2d",
                "kwargs": kwargs,
                "inputs": [key + "_x", key + "_w"],
                "output": key + "_out",
            }
        )

    transpose_cases = [
        (
            "conv2d_transpose/stride2/pm_inf",
            (1, 2, 4, 4),
            (2, 3, 3, 3),
            ["inf", "-inf"],
            (1, 3, 9, 9),
            {"input_dilation": [2, 2]},
        ),
        (
            "conv2d_transpose/stride2_half/nan_inf",
            (2, 2, 4, 5),
            (2, 2, 3, 3),
            ["nan", "inf"],
            (2, 2, 7, 9),
            {"input_dilation": [2, 2], "border_mode": "half"},
        ),
        (
            "conv2d_transpose/stride3/inf",
            (1, 1, 3, 3),
            (1, 2, 2, 2),
            ["-inf"],
            (1, 2, 8, 8),
            {"input_dilation": [3, 3]},
        ),
        (
            "conv2d_transpose/full/inf",
            (1, 2, 6, 6),
            (2, 1, 3, 3),
            ["inf", "inf"],
            (1, 1, 4, 4),
            {"border_mode": "full"},
        ),
    ]
    for name, ys, ws, kinds, out_shape, kwargs in transpose_cases:
        y = rng.standard_normal(ys).astype(np.float32)
        w = nonfinite_filters(rng, ws, kinds)
        call = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
        f = theano.function([x4, w4], conv2d_transpose(x4, w4, out_shape, **call))
        out = f(y, w)
        key = name.replace("/", "_")
        arrays[key + "_x"], arrays[key + "_w"], arrays[key + "_out"] = y, w, out
        cases.append(
            {
                "name": name,
                "op": "conv2d_transpose",
                "kwargs": kwargs,
                "output_shape": list(out_shape),
                "inputs": [key + "_x", key + "_w"],
                "output": key + "_out",
            }
        )

    for c in cases:
        out = arrays[c["output"]]
        c["nan"], c["posinf"], c["neginf"] = (
            int(np.isnan(out).sum()),
            int(np.isposinf(out).sum()),
            int(np.isneginf(out).sum()),
        )
    np.savez(prefix + ".npz", **arrays)
    meta = {
        "theano": theano.__version__,
        "numpy": np.__version__,
        "flags": str(theano.config.floatX) + ", cxx=" + str(theano.config.cxx),
        "recorded_by": "tests/data/record_nonfinite.py",
        "cases": cases,
    }
    with open(prefix + ".json", "w") as fh:
        json.dump(meta, fh, indent=1)
    for c in cases:
        print(c["name"], c["nan"], c["posinf"], c["neginf"])


if __name__ == "__main__":
    main(sys.argv[1])
