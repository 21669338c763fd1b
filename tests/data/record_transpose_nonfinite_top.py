"""Record what real Theano 1.0.5 (CorrMM_gradInputs / Corr3dMM_gradInputs, C code) computes for
the gradient wrt the inputs when the output gradient (the "top") holds Inf and NaN and the filters
are finite: the numpy engine's output-phase path must put NaN and Inf exactly there.

Run in the Keras-1 lab venv (Theano 1.0.5 on Python 3.11, see shared/theano_lab/README.md)::

    THEANO_FLAGS="floatX=float32,blas.ldflags=,cxx=g++,base_compiledir=/work/lab/cache-tconv" \
        /work/lab/keras1/bin/python tests/data/record_transpose_nonfinite_top.py \
        tests/data/theano_transpose_nonfinite_top

Writes ``PREFIX.npz``: for each case ``NAME_y``, ``NAME_w``, ``NAME_out``, and ``PREFIX.json``
(the cases: name, rank, output shape, keyword arguments as Theano took them).
"""

import json
import sys

import numpy as np
import theano
import theano.tensor as T
from theano.tensor.nnet.abstract_conv import conv2d_grad_wrt_inputs, conv3d_grad_wrt_inputs

CASES = [
    # name, top shape, filter shape, input shape, kwargs
    ("k4_s2_pad1", (2, 3, 5, 6), (3, 2, 4, 4), (2, 2, 10, 12), {"border_mode": 1, "subsample": [2, 2]}),
    ("k3_s2_half", (1, 4, 4, 5), (4, 3, 3, 3), (1, 3, 7, 9), {"border_mode": "half", "subsample": [2, 2]}),
    ("k3_s1_full", (2, 2, 6, 5), (2, 3, 3, 2), (2, 3, 4, 4), {"border_mode": "full"}),
    ("k3_s2_groups", (1, 4, 4, 4), (4, 1, 3, 3), (1, 2, 9, 9), {"subsample": [2, 2], "num_groups": 2}),
    ("3d_k3_s1_half", (1, 2, 4, 5, 4), (2, 3, 3, 3, 3), (1, 3, 4, 5, 4), {"border_mode": "half"}),
]


def main(prefix):
    rng = np.random.default_rng(20261202)
    arrays, cases = {}, []
    for name, ys, ws, xs, kwargs in CASES:
        nd = len(ys) - 2
        y = rng.standard_normal(ys).astype(np.float32)
        flat = y.reshape(-1)
        idx = rng.choice(flat.size, size=3, replace=False)
        flat[idx] = [np.inf, -np.inf, np.nan]
        w = rng.standard_normal(ws).astype(np.float32)
        w.reshape(-1)[rng.integers(w.size)] = 0.0  # Inf * 0 = NaN where that weight meets the Inf
        call = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
        tensor = T.tensor4 if nd == 2 else T.tensor5
        grad = conv2d_grad_wrt_inputs if nd == 2 else conv3d_grad_wrt_inputs
        yt, wt = tensor("y"), tensor("w")
        f = theano.function([yt, wt], grad(yt, wt, xs, filter_shape=ws, **call))
        out = f(y, w)
        arrays[name + "_y"], arrays[name + "_w"], arrays[name + "_out"] = y, w, out
        cases.append({"name": name, "nd": nd, "input_shape": list(xs), "kwargs": kwargs})
    np.savez_compressed(prefix + ".npz", **arrays)
    with open(prefix + ".json", "w") as f:
        json.dump({"theano": theano.__version__, "cases": cases}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
