"""Record Theano 1.0.5's max pooling of inputs holding NaN (tests/data/theano_pool_nan.npz).

Theano's C code (what users ran) keeps the running maximum with ``a > collector``, starting
from the first image cell of the (clipped) window: a NaN survives only when it is that first
cell. Run in the Theano lab (see tests/data/README.md):

    KERAS_BACKEND=theano THEANO_FLAGS="floatX=float32,blas.ldflags=,cxx=g++,base_compiledir=..." \
        /work/lab/keras1/bin/python tests/data/record_pool_nan.py tests/data/theano_pool_nan.npz
"""

import json
import sys

import numpy as np
import theano
import theano.tensor as T
from theano.tensor.signal.pool import pool_2d

CASES = [
    # name, ws, ignore_border, stride, pad
    ("issue", (2, 2), True, None, (0, 0)),
    ("ceil", (2, 2), False, None, (0, 0)),
    ("ceil_stride", (3, 2), False, (2, 3), (0, 0)),
    ("overlap", (3, 3), True, (1, 1), (0, 0)),
    ("pad", (3, 3), True, (2, 2), (1, 1)),
    ("pad_asym_stride", (2, 3), True, (1, 2), (1, 2)),
    ("pad_overlap", (3, 2), True, (1, 1), (2, 1)),
]


def inputs(rng):
    issue = np.array([[[[np.nan, 1, 1, np.nan], [2, 3, 2, 3]]]], np.float32)
    x = rng.standard_normal((2, 3, 7, 8)).astype(np.float32)
    x[rng.random(x.shape) < 0.2] = np.nan
    x[0, 0, 0, :] = np.nan  # whole first row: first cells of the top windows
    x[1, 2, :, 0] = np.nan
    return issue, x


def main(path):
    rng = np.random.default_rng(20261202)
    issue, x = inputs(rng)
    xs = T.tensor4("x")
    arrays, meta = {"issue_input": issue, "x": x}, []
    for name, ws, ignore_border, stride, pad in CASES:
        fn = theano.function(
            [xs], pool_2d(xs, ws=ws, ignore_border=ignore_border, stride=stride, pad=pad, mode="max")
        )
        source = "issue_input" if name == "issue" else "x"
        arrays[name] = fn(arrays[source])
        meta.append(dict(name=name, input=source, ws=ws, ignore_border=ignore_border, stride=stride, pad=pad))
    arrays["meta"] = np.array(json.dumps({"theano": theano.__version__, "cases": meta}))
    np.savez_compressed(path, **arrays)
    print(f"wrote {path}: {len(meta)} cases; issue case -> {arrays['issue'].tolist()}")


if __name__ == "__main__":
    main(sys.argv[1])
