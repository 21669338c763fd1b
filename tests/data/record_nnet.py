"""Record Theano 1.0.5's activations, batch norm, neighbours, extra pooling and signal conv.

Runs in the Theano lab venv (``/work/lab/keras1/bin/python``, see ``shared/theano_lab``); it
starts itself once per ``floatX`` (float32, then float64) so that every float32 case was computed
with ``floatX=float32`` and every float64 case with ``floatX=float64``, as the legacy code ran::

    THEANO_FLAGS="blas.ldflags=,cxx=g++,base_compiledir=/tmp/theano-cache" \\
        /work/lab/keras1/bin/python tests/data/record_nnet.py tests/data/theano_nnet_reference

writes ``theano_nnet_reference.npz`` + ``.json`` in the format of ``theano_reference.json``
(``name/op/kwargs/inputs/output|outputs|error``; see ``tests/data/README.md``).
"""

import json
import os
import subprocess
import sys
import traceback
import warnings

import numpy as np

SEED = 20261202


def tuples(kwargs):
    """JSON lists back to the tuples Theano was called with."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}


def child(floatx, prefix):
    import theano
    import theano.tensor as T
    from theano.tensor import nnet
    from theano.tensor.nnet import bn, neighbours
    from theano.tensor.signal import conv as sconv
    from theano.tensor.signal import pool

    assert theano.config.floatX == floatx
    warnings.simplefilter("ignore")
    rng = np.random.RandomState(SEED + (0 if floatx == "float32" else 1))
    dt = np.dtype(floatx)
    arrays = {}
    cases = []

    def sym(a):
        return T.TensorType(str(a.dtype), tuple(bool(s == 1) for s in a.shape))()

    def record(name, op, fn, inputs, kwargs=None, sym_kwargs=None):
        """fn(*symbolic inputs, **kwargs, **sym_kwargs) compiled and run on inputs."""
        name = f"{floatx}/{name}"
        kwargs = dict(kwargs or {})
        case = {"name": name, "op": op, "floatX": floatx, "kwargs": kwargs, "inputs": []}
        for i, a in enumerate(inputs):
            key = f"{name}::in{i}"
            arrays[key] = a
            case["inputs"].append(key)
        try:
            syms = [sym(a) for a in inputs]
            out = fn(*syms, **dict(kwargs, **(sym_kwargs or {})))
            f = theano.function(syms, out, on_unused_input="ignore")
            res = f(*inputs)
        except Exception as exc:  # noqa: BLE001 - recording what Theano raised
            msg = str(exc).strip().splitlines()
            case["error"] = {"type": type(exc).__name__, "message": msg[0] if msg else ""}
            cases.append(case)
            return
        if isinstance(res, list) and isinstance(out, (tuple, list)):
            case["outputs"] = []
            for j, r in enumerate(res):
                key = f"{name}::out{j}"
                arrays[key] = np.asarray(r)
                case["outputs"].append(key)
            case["output_dtypes"] = [str(np.asarray(r).dtype) for r in res]
        else:
            res = res[0] if isinstance(res, list) else res
            key = f"{name}::out"
            arrays[key] = np.asarray(res)
            case["output"] = key
            case["output_dtype"] = str(np.asarray(res).dtype)
        cases.append(case)

    def randn(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(dt)

    # ---- activations --------------------------------------------------------------------
    special = np.array(
        [
            -np.inf,
            -800,
            -746,
            -745.5,
            -745,
            -744,
            -710,
            -709.5,
            -709,
            -708,
            -200,
            -104,
            -103.5,
            -103,
            -102,
            -89,
            -88.5,
            -88,
            -87.5,
            -31,
            -30,
            -29,
            -5,
            -3.4,
            -3,
            -1.7,
            -1,
            -0.5,
            -1e-8,
            0,
            1e-8,
            0.5,
            1,
            1.7,
            3,
            3.4,
            5,
            6,
            7,
            13.9,
            14,
            14.1,
            15,
            15.1,
            15.9,
            16,
            16.1,
            18.9,
            19,
            19.1,
            29,
            30,
            31,
            100,
            710,
            np.inf,
            np.nan,
        ],
        dtype=np.float64,
    ).astype(dt)
    tensor = randn(2, 3, 4, 5, scale=6.0)
    unary = {
        "sigmoid": nnet.sigmoid,
        "ultra_fast_sigmoid": nnet.ultra_fast_sigmoid,
        "hard_sigmoid": nnet.hard_sigmoid,
        "softplus": nnet.softplus,
        "softsign": nnet.softsign,
        "selu": nnet.selu,
    }
    for op, fn in unary.items():
        record(f"{op}/special", op, fn, [special])
        record(f"{op}/tensor", op, fn, [tensor])
    for alpha in (0, 0.1, 0.01, 1.5, -0.5):
        record(f"relu/special/{alpha}", "relu", nnet.relu, [special], {"alpha": alpha})
        record(f"relu/tensor/{alpha}", "relu", nnet.relu, [tensor], {"alpha": alpha})
    record("relu/alpha_array", "relu", nnet.relu, [tensor, randn(5).__abs__()])
    for alpha in (1, 0.5, 2.0):
        record(f"elu/special/{alpha}", "elu", nnet.elu, [special], {"alpha": alpha})
        record(f"elu/tensor/{alpha}", "elu", nnet.elu, [tensor], {"alpha": alpha})
    if floatx == "float32":  # integer inputs take upgrade_to_float's dtype (floatX=float32 as Keras ran)
        for idt in ("int8", "int32", "uint8", "int64"):
            ints = np.array([-100, -20, -3, -1, 0, 1, 2, 3, 17, 20, 100], dtype=idt)
            if idt == "uint8":
                ints = np.abs(ints).astype(idt)
            for op, fn in dict(unary, relu=nnet.relu, elu=nnet.elu).items():
                record(f"{op}/{idt}", op, fn, [ints])
            record(f"relu/{idt}/0.1", "relu", nnet.relu, [ints], {"alpha": 0.1})

    # softmax and friends
    logits = randn(4, 7, scale=3.0)
    logits[1] += 500.0  # large values: max subtraction keeps them finite
    logits[2, 3] = -1000.0
    for op, fn in (("softmax", nnet.softmax), ("logsoftmax", nnet.logsoftmax)):
        record(f"{op}/2d", op, fn, [logits])
        record(f"{op}/1d", op, fn, [randn(6)])
        record(f"{op}/3d", op, fn, [randn(2, 3, 4)])
        record(f"{op}/4d", op, fn, [randn(2, 3, 4, 5)])
        record(f"{op}/column", op, fn, [randn(5, 1)])
        record(f"{op}/int", op, fn, [np.arange(6, dtype=np.int32).reshape(2, 3)])
        record(f"{op}/0d", op, fn, [np.array(1.5, dtype=dt)])

    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs = (probs / probs.sum(1, keepdims=True)).astype(dt) * dt.type(0.98) + dt.type(0.02 / 7)
    onehot = np.eye(7, dtype=dt)[[0, 3, 6, 2]]
    cce = nnet.categorical_crossentropy
    record("categorical_crossentropy/onehot", "categorical_crossentropy", cce, [probs, onehot])
    soft_t = (rng.dirichlet(np.ones(7), size=4)).astype(dt)
    record("categorical_crossentropy/soft", "categorical_crossentropy", cce, [probs, soft_t])
    p3 = np.abs(randn(2, 3, 4)) + dt.type(0.1)
    t3 = np.abs(randn(2, 3, 4))
    record("categorical_crossentropy/3d", "categorical_crossentropy", cce, [p3, t3])
    for idt in ("int32", "int64"):
        idx = np.array([0, 3, 6, 2], dtype=idt)
        record(f"categorical_crossentropy/{idt}", "categorical_crossentropy", cce, [probs, idx])
    record(
        "categorical_crossentropy/negative_index",
        "categorical_crossentropy",
        cce,
        [probs, np.array([0, -1, 6, 2], dtype=np.int64)],
    )
    record(
        "categorical_crossentropy/index_out_of_range",
        "categorical_crossentropy",
        cce,
        [probs, np.array([0, 7, 6, 2], dtype=np.int64)],
    )
    record(
        "categorical_crossentropy/int8_targets",
        "categorical_crossentropy",
        cce,
        [probs, np.array([0, 3, 6, 2], dtype=np.int8)],
    )
    record(
        "categorical_crossentropy/rank_mismatch",
        "categorical_crossentropy",
        cce,
        [probs, np.zeros((4, 7, 1), dtype=dt)],
    )
    record(
        "categorical_crossentropy/1hot_3d_coding",
        "categorical_crossentropy",
        cce,
        [p3, np.zeros((2, 3), dtype=np.int64)],
    )
    out = (rng.uniform(0.01, 0.99, size=(3, 5))).astype(dt)
    tgt = (rng.uniform(size=(3, 5)) > 0.5).astype(dt)
    record("binary_crossentropy/hard", "binary_crossentropy", nnet.binary_crossentropy, [out, tgt])
    record(
        "binary_crossentropy/soft",
        "binary_crossentropy",
        nnet.binary_crossentropy,
        [out, rng.uniform(size=(3, 5)).astype(dt)],
    )
    record(
        "binary_crossentropy/saturated",
        "binary_crossentropy",
        nnet.binary_crossentropy,
        [np.array([0.0, 1.0, 0.5, 1e-30], dtype=dt), np.array([0.0, 1.0, 1.0, 1.0], dtype=dt)],
    )
    z = np.concatenate([special[np.isfinite(special)], randn(20, scale=10)])
    ztgt = rng.uniform(size=z.shape).astype(dt)
    record(
        "sigmoid_binary_crossentropy/special",
        "sigmoid_binary_crossentropy",
        nnet.sigmoid_binary_crossentropy,
        [z, ztgt],
    )
    record(
        "sigmoid_binary_crossentropy/tensor",
        "sigmoid_binary_crossentropy",
        nnet.sigmoid_binary_crossentropy,
        [tensor, (tensor > 0).astype(dt)],
    )

    # ---- batch normalisation ------------------------------------------------------------
    x4 = randn(4, 3, 5, 6, scale=2.0) + dt.type(1.5)
    x2 = randn(8, 5, scale=3.0) - dt.type(2.0)
    for mode in ("low_mem", "high_mem"):
        mean = x4.mean(axis=(0, 2, 3), keepdims=True).astype(dt)
        std = (x4.std(axis=(0, 2, 3), keepdims=True) + 0.1).astype(dt)
        g = randn(1, 3, 1, 1)
        b = randn(1, 3, 1, 1)
        record(
            f"batch_normalization/{mode}",
            "batch_normalization",
            bn.batch_normalization,
            [x4, g, b, mean, std],
            {"mode": mode},
        )
        record(
            f"batch_normalization/{mode}/full",
            "batch_normalization",
            bn.batch_normalization,
            [x2, randn(8, 5), randn(8, 5), randn(8, 5), np.abs(randn(8, 5)) + dt.type(0.5)],
            {"mode": mode},
        )
    record(
        "batch_normalization/bad_mode",
        "batch_normalization",
        bn.batch_normalization,
        [x2, randn(1, 5), randn(1, 5), randn(1, 5), np.abs(randn(1, 5)) + 1],
        {"mode": "fast"},
    )

    def params(x, axes):
        keep = [i for i in range(x.ndim) if i not in axes]
        return tuple(x.shape[i] for i in keep)

    train_axes = [
        ("per-activation", x4, (0,)),
        ("spatial", x4, (0, 2, 3)),
        ([0, 2], x4, (0, 2)),
        ([1, 3], x4, (1, 3)),
        ("per-activation", x2, (0,)),
        ([1], x2, (1,)),
    ]
    for k, (axes, x, ax) in enumerate(train_axes):
        shp = params(x, ax)
        full = tuple(1 if i in ax else s for i, s in enumerate(x.shape))
        g, b = randn(*shp) + dt.type(1), randn(*shp)
        rm, rv = randn(*shp), np.abs(randn(*shp)) + dt.type(0.5)
        kw = {"axes": axes}
        record(
            f"batch_normalization_train/{k}",
            "batch_normalization_train",
            bn.batch_normalization_train,
            [x, g, b],
            kw,
        )
        record(
            f"batch_normalization_train/{k}/running",
            "batch_normalization_train",
            lambda x, g, b, rm, rv, **kw: bn.batch_normalization_train(
                x, g, b, running_mean=rm, running_var=rv, **kw
            ),
            [x, g, b, rm, rv],
            dict(kw, epsilon=1e-3, running_average_factor=0.3),
        )
        record(
            f"batch_normalization_train/{k}/full_params",
            "batch_normalization_train",
            lambda x, g, b, rm, rv, **kw: bn.batch_normalization_train(
                x, g, b, running_mean=rm, running_var=rv, **kw
            ),
            [x, g.reshape(full), b.reshape(full), rm.reshape(full), rv.reshape(full)],
            kw,
        )
        record(
            f"batch_normalization_test/{k}",
            "batch_normalization_test",
            bn.batch_normalization_test,
            [x, g, b, rm, rv],
            kw,
        )
        record(
            f"batch_normalization_test/{k}/full_params",
            "batch_normalization_test",
            bn.batch_normalization_test,
            [x, g.reshape(full), b.reshape(full), rm.reshape(full), rv.reshape(full)],
            dict(kw, epsilon=1e-2),
        )
    g3, b3 = randn(3), randn(3)
    bad = [
        ("epsilon", [x4, g3, b3], {"axes": "spatial", "epsilon": 1e-6}),
        ("axes_name", [x4, g3, b3], {"axes": "per-channel"}),
        ("axes_empty", [x4, g3, b3], {"axes": []}),
        ("axes_range", [x4, g3, b3], {"axes": [0, 4]}),
        ("gamma_ndim", [x4, randn(3, 5), b3], {"axes": "spatial"}),
    ]
    for label, inputs, kw in bad:
        record(
            f"batch_normalization_train/error/{label}",
            "batch_normalization_train",
            bn.batch_normalization_train,
            inputs,
            kw,
        )
        record(
            f"batch_normalization_test/error/{label}",
            "batch_normalization_test",
            bn.batch_normalization_test,
            inputs + [g3, np.abs(g3) + 1],
            kw,
        )
    record(
        "batch_normalization_train/error/running_mean_only",
        "batch_normalization_train",
        lambda x, g, b, rm: bn.batch_normalization_train(x, g, b, "spatial", running_mean=rm),
        [x4, g3, b3, g3],
    )
    record(
        "batch_normalization_train/error/running_ndim",
        "batch_normalization_train",
        lambda x, g, b, rm, rv: bn.batch_normalization_train(
            x, g, b, "spatial", running_mean=rm, running_var=rv
        ),
        [x4, g3, b3, randn(1, 3), g3],
    )
    record(
        "batch_normalization_test/error/mean_ndim",
        "batch_normalization_test",
        bn.batch_normalization_test,
        [x4, g3, b3, randn(1, 3), g3],
        {"axes": "spatial"},
    )
    record(
        "batch_normalization_test/error/shape",
        "batch_normalization_test",
        bn.batch_normalization_test,
        [x4, randn(4), randn(4), randn(4), randn(4)],
        {"axes": "spatial"},
    )

    # ---- neighbours ---------------------------------------------------------------------
    img = randn(2, 3, 7, 8)
    neib_cases = [
        ((7, 8), (2, 2), None),
        ((6, 8), (2, 2), None),
        ((7, 8), (3, 3), (1, 1)),
        ((7, 8), (3, 2), (2, 3)),
        ((7, 8), (1, 1), None),
        ((7, 8), (3, 3), None),
        ((7, 8), (3, 5), (1, 1)),
        ((7, 8), (2, 3), (3, 2)),
        ((5, 5), (5, 5), None),
        ((4, 6), (4, 3), (2, 2)),
        ((7, 8), (5, 3), (4, 5)),
    ]
    for mode in ("valid", "ignore_borders", "wrap_centered", "half", "full"):
        for k, (hw, shape, step) in enumerate(neib_cases):
            kw = {"neib_shape": list(shape), "mode": mode}
            if step is not None:
                kw["neib_step"] = list(step)
            record(
                f"images2neibs/{mode}/{k}",
                "images2neibs",
                lambda x, neib_shape, neib_step=None, mode="valid": neighbours.images2neibs(
                    x, tuple(neib_shape), None if neib_step is None else tuple(neib_step), mode
                ),
                [img[:, :, : hw[0], : hw[1]].copy()],
                kw,
            )
    for label, kw in (
        ("zero_step", {"neib_shape": [2, 2], "neib_step": [0, 1], "mode": "valid"}),
        ("zero_shape", {"neib_shape": [0, 2], "mode": "ignore_borders"}),
        ("bigger_than_image", {"neib_shape": [9, 2], "mode": "valid"}),
        ("bigger_than_image_ib", {"neib_shape": [9, 2], "mode": "ignore_borders"}),
        ("bad_mode", {"neib_shape": [2, 2], "mode": "same"}),
    ):
        record(
            f"images2neibs/error/{label}",
            "images2neibs",
            lambda x, neib_shape, neib_step=None, mode="valid": neighbours.images2neibs(
                x, tuple(neib_shape), None if neib_step is None else tuple(neib_step), mode
            ),
            [img],
            kw,
        )
    record(
        "images2neibs/error/3d",
        "images2neibs",
        lambda x, neib_shape: neighbours.images2neibs(x, tuple(neib_shape)),
        [img[0]],
        {"neib_shape": [2, 2]},
    )
    record(
        "images2neibs/int",
        "images2neibs",
        lambda x, neib_shape: neighbours.images2neibs(x, tuple(neib_shape)),
        [np.arange(2 * 1 * 4 * 6, dtype=np.int32).reshape(2, 1, 4, 6)],
        {"neib_shape": [2, 3]},
    )
    for k, (shape, orig, mode) in enumerate(
        [
            ((2, 2), (2, 3, 6, 8), "valid"),
            ((3, 2), (2, 3, 6, 8), "valid"),
            ((1, 4), (1, 2, 3, 8), "valid"),
            ((2, 2), (2, 3, 7, 9), "ignore_borders"),
            ((3, 3), (2, 3, 8, 7), "ignore_borders"),
            ((2, 2), (2, 3, 6, 8), "ignore_borders"),
        ]
    ):
        n = orig[0] * orig[1] * (orig[2] // shape[0]) * (orig[3] // shape[1])
        neibs = randn(n, shape[0] * shape[1])
        record(
            f"neibs2images/{mode}/{k}",
            "neibs2images",
            lambda nb, neib_shape, original_shape, mode: neighbours.neibs2images(
                nb, tuple(neib_shape), tuple(original_shape), mode
            ),
            [neibs],
            {"neib_shape": list(shape), "original_shape": list(orig), "mode": mode},
        )
    for label, shape, orig, mode, n in (
        ("half", (3, 3), (1, 1, 6, 6), "half", 4),
        ("full", (2, 2), (1, 1, 4, 4), "full", 4),
        ("wrap_centered", (3, 3), (1, 1, 6, 6), "wrap_centered", 4),
        ("valid_wrong_rows", (2, 2), (2, 3, 6, 8), "valid", 40),
        ("valid_not_multiple", (2, 2), (1, 1, 5, 4), "valid", 5),
        ("ignore_borders_wrong_rows", (2, 2), (2, 3, 7, 9), "ignore_borders", 40),
    ):
        record(
            f"neibs2images/error/{label}",
            "neibs2images",
            lambda nb, neib_shape, original_shape, mode: neighbours.neibs2images(
                nb, tuple(neib_shape), tuple(original_shape), mode
            ),
            [randn(n, shape[0] * shape[1])],
            {"neib_shape": list(shape), "original_shape": list(orig), "mode": mode},
        )

    # ---- pooling ------------------------------------------------------------------------
    vol = randn(2, 3, 5, 6, 7)
    pool3_cases = [
        ((2, 2, 2), None, (0, 0, 0)),
        ((3, 2, 3), None, (0, 0, 0)),
        ((2, 3, 2), (1, 2, 3), (0, 0, 0)),
        ((3, 3, 3), (2, 2, 2), (1, 1, 2)),
        ((2, 2, 2), (1, 1, 1), (1, 0, 1)),
        ((1, 1, 1), (2, 3, 1), (0, 0, 0)),
        ((5, 4, 3), (3, 3, 3), (0, 0, 0)),
        ((3, 3, 3), (1, 1, 1), (2, 1, 0)),
    ]
    for mode in ("max", "sum", "average_inc_pad", "average_exc_pad"):
        for ib in (True, False):
            for k, (ws, st, pad) in enumerate(pool3_cases):
                if any(pad) and not ib:
                    continue
                kw = {"ws": list(ws), "ignore_border": ib, "mode": mode, "pad": list(pad)}
                if st is not None:
                    kw["stride"] = list(st)
                record(
                    f"pool_3d/{mode}/{ib}/{k}",
                    "pool_3d",
                    lambda x, **kw: pool.pool_3d(x, **tuples(kw)),
                    [vol],
                    kw,
                )

    def p3(x, **kw):
        return pool.pool_3d(x, **tuples(kw))

    record("pool_3d/3d_input", "pool_3d", p3, [vol[0, 0]], {"ws": [2, 2, 3], "ignore_border": False})
    record(
        "pool_3d/4d_input",
        "pool_3d",
        p3,
        [vol[0]],
        {"ws": [2, 3, 2], "ignore_border": True, "mode": "average_exc_pad"},
    )
    record("pool_3d/6d_input", "pool_3d", p3, [vol[None]], {"ws": [2, 2, 2], "ignore_border": True})
    record(
        "pool_3d/int",
        "pool_3d",
        p3,
        [np.arange(60, dtype=np.int32).reshape(1, 3, 4, 5)],
        {"ws": [2, 2, 2], "ignore_border": False, "mode": "average_inc_pad"},
    )
    record(
        "pool_3d/deprecated_names",
        "pool_3d",
        p3,
        [vol],
        {"ds": [2, 2, 2], "st": [1, 2, 1], "padding": [1, 1, 0], "ignore_border": True, "mode": "sum"},
    )
    record("pool_3d/default_ignore_border", "pool_3d", p3, [vol], {"ws": [2, 2, 2]})
    for label, kw, x in (
        ("pad_needs_ignore_border", {"ws": [2, 2, 2], "pad": [1, 1, 1], "ignore_border": False}, vol),
        ("pad_ge_ws", {"ws": [2, 2, 2], "pad": [2, 0, 0], "ignore_border": True}, vol),
        ("2d_input", {"ws": [2, 2, 2], "ignore_border": True}, vol[0, 0, 0]),
        ("no_ws", {"ignore_border": True}, vol),
        ("bad_mode", {"ws": [2, 2, 2], "ignore_border": True, "mode": "min"}, vol),
        ("ws_and_ds", {"ws": [2, 2, 2], "ds": [2, 2, 2], "ignore_border": True}, vol),
    ):
        record(f"pool_3d/error/{label}", "pool_3d", p3, [x], kw)
    # NaN: Theano's C code kept the running max with `a > collector` from the window's first
    # image cell, so a NaN survives only as that first cell
    nan_vol = randn(2, 3, 5, 6, 7)
    nan_vol[rng.uniform(size=nan_vol.shape) < 0.2] = np.nan
    nan_vol[0, 0, 0] = np.nan  # a NaN first depth plane
    nan_vol[0, 1, :, 0] = np.nan  # NaN first rows
    for k, (ws, st, pad, ib) in enumerate(
        [
            ((2, 2, 2), None, (0, 0, 0), True),
            ((2, 2, 2), None, (0, 0, 0), False),
            ((3, 2, 3), (1, 2, 2), (0, 0, 0), False),
            ((3, 3, 2), (2, 1, 2), (1, 1, 1), True),
            ((2, 3, 3), (1, 1, 1), (1, 2, 0), True),
        ]
    ):
        kw = {"ws": list(ws), "ignore_border": ib, "pad": list(pad)}
        if st is not None:
            kw["stride"] = list(st)
        record(f"pool_3d/nan/{k}", "pool_3d", p3, [nan_vol], kw)
    nan_img = randn(2, 3, 6, 8)
    nan_img[rng.uniform(size=nan_img.shape) < 0.2] = np.nan
    record(
        "max_pool_2d_same_size/nan",
        "max_pool_2d_same_size",
        lambda x, patch_size: pool.max_pool_2d_same_size(x, tuple(patch_size)),
        [nan_img],
        {"patch_size": [2, 2]},
    )
    ties = np.floor(randn(2, 3, 6, 7) * 2)
    for k, (x, ps) in enumerate(
        [
            (randn(2, 3, 6, 8), (2, 2)),
            (randn(2, 3, 7, 9), (2, 3)),
            (ties, (2, 2)),
            (ties, (3, 3)),
            (randn(3, 5, 4), (2, 2)),
            (randn(2, 3, 6, 8), (1, 1)),
        ]
    ):
        record(
            f"max_pool_2d_same_size/{k}",
            "max_pool_2d_same_size",
            lambda x, patch_size: pool.max_pool_2d_same_size(x, tuple(patch_size)),
            [x],
            {"patch_size": list(ps)},
        )
    # what Theano 0.8's signal.downsample.max_pool_2d (= pool.pool_2d with ds/st/padding) did
    img2 = randn(2, 3, 7, 8)
    for mode in ("max", "sum", "average_inc_pad", "average_exc_pad"):
        for k, (ds, ib, st, padding) in enumerate(
            [
                ((2, 2), False, None, (0, 0)),
                ((3, 2), True, (2, 1), (1, 1)),
                ((3, 3), False, (2, 2), (0, 0)),
                ((2, 3), True, None, (0, 0)),
            ]
        ):
            kw = {"ds": list(ds), "ignore_border": ib, "padding": list(padding), "mode": mode}
            if st is not None:
                kw["st"] = list(st)
            record(
                f"max_pool_2d/{mode}/{k}",
                "max_pool_2d",
                lambda x, **kw: pool.pool_2d(x, **tuples(kw)),
                [img2],
                kw,
            )

    # ---- signal.conv.conv2d -------------------------------------------------------------
    def sc(x, w, **kw):
        return sconv.conv2d(x, w, **tuples(kw))

    im3, im2 = randn(3, 9, 8), randn(9, 8)
    f3, f2 = randn(4, 3, 2), randn(3, 2)
    for mode in ("valid", "full"):
        for sub in ((1, 1), (2, 1), (2, 3)):
            for label, x, w in (("2d2d", im2, f2), ("3d2d", im3, f2), ("2d3d", im2, f3), ("3d3d", im3, f3)):
                record(
                    f"signal_conv2d/{label}/{mode}/{sub[0]}{sub[1]}",
                    "signal_conv2d",
                    sc,
                    [x, w],
                    {"border_mode": mode, "subsample": list(sub)},
                )
    record(
        "signal_conv2d/hints",
        "signal_conv2d",
        sc,
        [im3, f3],
        {"image_shape": [3, 9, 8], "filter_shape": [4, 3, 2]},
    )
    record(
        "signal_conv2d/hints_2d",
        "signal_conv2d",
        sc,
        [im2, f2],
        {"image_shape": [9, 8], "filter_shape": [3, 2], "border_mode": "full"},
    )
    record(
        "signal_conv2d/error/hint_mismatch",
        "signal_conv2d",
        sc,
        [im3, f3],
        {"image_shape": [3, 9, 7], "filter_shape": [4, 3, 2]},
    )
    record("signal_conv2d/error/half", "signal_conv2d", sc, [im3, f3], {"border_mode": "half"})
    record("signal_conv2d/error/4d", "signal_conv2d", sc, [im3[None], f3])
    record("signal_conv2d/error/kernel_too_big", "signal_conv2d", sc, [randn(2, 3), f2])

    np.savez_compressed(prefix + ".npz", **arrays)
    with open(prefix + ".json", "w") as fh:
        json.dump(cases, fh)


def dedupe(arrays, cases):
    """Store each distinct array once (many cases share their inputs); rewrite the cases' keys."""
    seen, kept, rename = {}, {}, {}
    for key in sorted(arrays):
        a = np.array(arrays[key], order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
        sig = (a.dtype.str, a.shape, a.tobytes())
        if sig not in seen:
            seen[sig] = key
            kept[key] = a
        rename[key] = seen[sig]
    for case in cases:
        for field in ("inputs", "outputs"):
            if field in case:
                case[field] = [rename[k] for k in case[field]]
        if "output" in case:
            case["output"] = rename[case["output"]]
    return kept


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return
    out = (
        sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "theano_nnet_reference")
    )
    import theano  # noqa: F401 - version of the lab (imported in the parent only for the record)

    arrays, cases = {}, []
    for floatx in ("float32", "float64"):
        flags = [
            f for f in os.environ.get("THEANO_FLAGS", "").split(",") if f and not f.startswith("floatX=")
        ]
        env = dict(os.environ, THEANO_FLAGS=",".join(flags + ["floatX=" + floatx]))
        part = out + ".part-" + floatx
        subprocess.check_call([sys.executable, __file__, "--child", floatx, part], env=env)
        with np.load(part + ".npz") as data:
            arrays.update({k: data[k] for k in data.files})
        with open(part + ".json") as fh:
            cases.extend(json.load(fh))
        os.remove(part + ".npz")
        os.remove(part + ".json")
    arrays = dedupe(arrays, cases)
    meta = {
        "generator": f"Theano {theano.__version__} (C implementations compiled with g++), numpy {np.__version__}, Python {sys.version.split()[0]}; "
        "tests/data/record_nnet.py",
        "seed": SEED,
        "cases": cases,
    }
    np.savez_compressed(out + ".npz", **arrays)
    with open(out + ".json", "w") as fh:
        json.dump(meta, fh, indent=1)
    print(f"{len(cases)} cases ({sum('error' in c for c in cases)} errors), {len(arrays)} arrays")


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.exit(1)
