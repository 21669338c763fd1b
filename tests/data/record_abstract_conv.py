"""Record what real Theano 1.0.5 computed for the rest of ``theano.tensor.nnet.abstract_conv``
(gradients, causal_conv1d, separable_conv3d, bilinear upsampling, the shape helpers, the
positional order of ``abstract_conv.conv2d``) and for ``theano.tensor.nnet.conv3d2d.conv3d``.

Runs in the Theano lab (see /work/shared/theano_lab/README.md)::

    KERAS_BACKEND=theano THEANO_FLAGS="floatX=float32,blas.ldflags=,cxx=,base_compiledir=$PWD/.cache" \\
        /work/lab/keras1/bin/python tests/data/record_abstract_conv.py tests/data

``cxx=`` (no C compiler) runs Theano's own Python implementations (``AbstractConv*.perform``,
the code that defines these ops; no graph optimizer, which would look for a C implementation),
as the first golden set was recorded; with ``cxx=g++`` every
new stride/padding combination compiles a CorrMM module and the run takes an hour.

and writes ``theano_abstract_conv_reference.{npz,json}`` in the format of
``theano_reference.*`` (tests/data/README.md). Every case runs in float32 and float64 with
``theano.config.floatX`` set to that dtype (bilinear kernels are built in floatX). Cases run in
a forked child each, so that a crash of Theano's C code is recorded instead of ending the run.
Extra JSON key ``shape_functions``: calls of the pure-Python shape helpers with Theano's answer.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import tempfile
import traceback

import numpy as np

sys.path.insert(0, "/work/shared/theano_lab")
try:  # the lab's Python 3.11 shims (idempotent)
    import py311_shims  # noqa: F401
except ImportError:
    pass

import theano  # noqa: E402
import theano.tensor as T  # noqa: E402
from theano.tensor.nnet import abstract_conv as ac  # noqa: E402
from theano.tensor.nnet import conv3d2d  # noqa: E402

SEED = 20261202


def tensor(dtype, ndim):
    return T.TensorType(dtype, (False,) * ndim)()


def run_in_child(fn):
    """fn() in a forked child: ('ok', value) or ('error', {type, message})."""
    fd, path = tempfile.mkstemp()
    os.close(fd)
    pid = os.fork()
    if pid == 0:
        try:
            result = ("ok", fn())
        except BaseException as exc:  # noqa: BLE001 - record whatever Theano raised
            msg = (str(exc).strip().splitlines() or [""])[0]
            result = ("error", {"type": type(exc).__name__, "message": msg[:300]})
            if os.environ.get("RECORD_DEBUG"):
                traceback.print_exc()
        with open(path, "wb") as f:
            pickle.dump(result, f)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    try:
        if os.WIFSIGNALED(status):
            return "error", {"type": "killed", "message": f"killed by signal {os.WTERMSIG(status)}"}
        with open(path, "rb") as f:
            return pickle.load(f)
    finally:
        os.unlink(path)


def to_json(value):
    if isinstance(value, tuple):
        return [to_json(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


class Recorder:
    def __init__(self):
        self.cases = []
        self.arrays = {}
        self.counts = {}

    def add(self, op, build, inputs, kwargs, dtype, note=None):
        """build(*symbolic_inputs) -> symbolic output; inputs are NumPy arrays. ``note``: why
        legacyconv deliberately differs from what Theano's Python implementation did here."""
        n = self.counts.get(op, 0)
        self.counts[op] = n + 1
        name = f"{op}/{n}"

        def compute():
            theano.config.floatX = dtype
            sym = [tensor(a.dtype, a.ndim) for a in inputs]
            mode = None if theano.config.cxx else theano.compile.Mode(linker="py", optimizer=None)
            f = theano.function(sym, build(*sym), on_unused_input="ignore", mode=mode)
            return np.asarray(f(*inputs))

        status, value = run_in_child(compute)
        case = {"name": name, "op": op, "floatX": dtype, "kwargs": to_json(kwargs), "inputs": []}
        if note:
            case["note"] = note
        for i, a in enumerate(inputs):
            key = f"{name}::in{i}"
            self.arrays[key] = a
            case["inputs"].append(key)
        if status == "ok":
            self.arrays[f"{name}::out"] = value
            case["output"] = f"{name}::out"
            case["output_dtype"] = str(value.dtype)
        else:
            case["error"] = value
        self.cases.append(case)
        print(name, dtype, case.get("error", value.shape if status == "ok" else ""), flush=True)


def shape_calls():
    """Theano's pure-Python shape helpers (no compilation) with their answers."""
    calls = []

    def rec(fn, *args):
        try:
            result = {"result": to_json(getattr(ac, fn)(*args))}
        except Exception as exc:  # noqa: BLE001
            result = {"error": {"type": type(exc).__name__, "message": str(exc)[:300]}}
        calls.append({"fn": fn, "args": to_json(args), **result})

    for bm in ["valid", "full", "half", 1, (2, 1), ((1, 0), (2, 1))]:
        for sub in [(1, 1), (2, 2), (1, 3)]:
            for dil in [(1, 1), (2, 1)]:
                rec("get_conv_gradweights_shape", (2, 3, 11, 10), (2, 4, 7, 6), bm, sub, dil)
                rec("get_conv_gradinputs_shape", (4, 3, 3, 2), (2, 4, 7, 6), bm, sub, dil)
                rec("get_conv_gradinputs_shape", (4, 3, 3, 2), (2, 4, 7, 6), bm, sub, dil, 2)
    rec("get_conv_gradweights_shape", (2, 6, 11, 10), (2, 4, 7, 6), "valid", (1, 1), (1, 1), 2)
    rec("get_conv_gradweights_shape", (2, 3, 11, 10), (2, 4, 6, 6), "valid", (1, 1), (2, 2))
    rec("get_conv_gradweights_shape", (None, 3, 11, None), (2, None, 7, 6), "valid", (1, 1))
    rec("get_conv_gradinputs_shape", (4, 3, 3, 3), (None, 4, None, 6), "half", (1, 1))
    rec("get_conv_gradweights_shape", (2, 3, 11, 10), (2, 4, 7, 6), (-1, 0), (1, 1))
    rec("get_conv_gradinputs_shape", (4, 3, 3, 3), (2, 4, 7, 6), ((0, -1), 0), (1, 1))
    rec("get_conv_gradweights_shape", (2, 3, 9, 9, 9), (2, 4, 7, 7, 7), "valid", (1, 1, 1))
    rec("get_conv_gradinputs_shape", (4, 3, 3, 3, 3), (2, 4, 7, 7, 7), "full", (1, 1, 1))
    for mode in [
        "valid",
        "full",
        "half",
        2,
        (1, 2),
        ((1, 2), 0),
        ((1, 2), (3, 4)),
        (1, 2, 3),
        "same",
        -1,
        (1,),
        ((1, 2, 3), 0),
        ((-1, 2), 0),
        (1.5, 2),
    ]:
        rec("border_mode_to_pad", mode, 2, (3, 5))
    rec("border_mode_to_pad", (1, 2, 3), 3, (3, 5, 7))
    rec("border_mode_to_pad", "full", 3, (3, 5, 7))
    return calls


def main(outdir):
    rng = np.random.RandomState(SEED)
    rec = Recorder()

    def rand(*shape, dtype="float64"):
        return rng.standard_normal(shape).astype(dtype)

    for dtype in ["float32", "float64"]:
        # ---- conv2d gradients -----------------------------------------------------------
        configs = []
        for bm in ["valid", "full", "half", (1, 2), ((1, 0), (2, 1))]:
            for sub in [(1, 1), (2, 2), (3, 2)]:
                configs.append((bm, sub, (1, 1), True, 1))
        configs += [
            ("valid", (1, 1), (2, 1), False, 1),
            ("half", (2, 1), (2, 2), True, 2),
            ("full", (1, 2), (1, 2), False, 2),
            ((1, 0), (2, 2), (2, 1), True, 1),
            ("valid", (2, 2), (1, 1), False, 2),
        ]
        for bm, sub, dil, flip, groups in configs:
            kw = dict(border_mode=bm, subsample=sub, filter_dilation=dil, filter_flip=flip, num_groups=groups)
            for rows, cols in [(8, 7), (9, 8)]:  # with a stride, both may give the same output
                imshp = (1, 2, rows, cols)
                kshp = (4, 2 // groups, 3, 2)
                top = ac.get_conv_output_shape(imshp, kshp, bm, sub, dil)
                w = rand(*kshp, dtype=dtype)
                g = rand(*top, dtype=dtype)
                x = rand(*imshp, dtype=dtype)
                rec.add(
                    "conv2d_grad_wrt_inputs",
                    lambda g_, w_, imshp=imshp, kw=kw: ac.conv2d_grad_wrt_inputs(g_, w_, imshp, **kw),
                    [g, w],
                    dict(input_shape=imshp, **kw),
                    dtype,
                )
                rec.add(
                    "conv2d_grad_wrt_weights",
                    lambda x_, g_, kshp=kshp, kw=kw: ac.conv2d_grad_wrt_weights(x_, g_, kshp, **kw),
                    [x, g],
                    dict(filter_shape=kshp, **kw),
                    dtype,
                )
        # errors: an input_shape / filter_shape the convolution would not map to output_grad
        g = rand(1, 3, 7, 7, dtype=dtype)
        w = rand(3, 2, 3, 3, dtype=dtype)
        rec.add(
            "conv2d_grad_wrt_inputs",
            lambda g_, w_: ac.conv2d_grad_wrt_inputs(g_, w_, (1, 2, 12, 9)),
            [g, w],
            dict(input_shape=(1, 2, 12, 9)),
            dtype,
        )
        rec.add(
            "conv2d_grad_wrt_inputs",
            lambda g_, w_: ac.conv2d_grad_wrt_inputs(g_, w_, (1, 2, 18, 18), subsample=(2, 2)),
            [g, w],
            dict(input_shape=(1, 2, 18, 18), subsample=(2, 2)),
            dtype,
        )
        x = rand(1, 2, 9, 9, dtype=dtype)
        rec.add(
            "conv2d_grad_wrt_weights",
            lambda x_, g_: ac.conv2d_grad_wrt_weights(x_, g_, (3, 2, 4, 4)),
            [x, g],
            dict(filter_shape=(3, 2, 4, 4)),
            dtype,
            note="Theano's Python implementation returned an array for this inconsistent call "
            "(a 4x4 kernel gives a 6x6 output, output_grad is 7x7); its C implementation raised "
            "'CorrMM shape inconsistency'; legacyconv raises",
        )
        rec.add(
            "conv2d_grad_wrt_weights",
            lambda x_, g_: ac.conv2d_grad_wrt_weights(x_, g_, (3, 2, 3, 3), subsample=(2, 2)),
            [x, g],
            dict(filter_shape=(3, 2, 3, 3), subsample=(2, 2)),
            dtype,
        )
        # ---- conv3d gradients -----------------------------------------------------------
        for bm, sub, dil, flip in [
            ("valid", (1, 1, 1), (1, 1, 1), True),
            ("half", (2, 1, 2), (1, 1, 1), False),
            ("full", (1, 1, 1), (2, 1, 1), True),
            ((1, 0, 2), (2, 2, 1), (1, 2, 1), True),
        ]:
            kw = dict(border_mode=bm, subsample=sub, filter_dilation=dil, filter_flip=flip)
            imshp = (1, 2, 5, 6, 4)
            kshp = (3, 2, 2, 3, 2)
            top = ac.get_conv_output_shape(imshp, kshp, bm, sub, dil)
            w, g, x = rand(*kshp, dtype=dtype), rand(*top, dtype=dtype), rand(*imshp, dtype=dtype)
            rec.add(
                "conv3d_grad_wrt_inputs",
                lambda g_, w_, imshp=imshp, kw=kw: ac.conv3d_grad_wrt_inputs(g_, w_, imshp, **kw),
                [g, w],
                dict(input_shape=imshp, **kw),
                dtype,
            )
            rec.add(
                "conv3d_grad_wrt_weights",
                lambda x_, g_, kshp=kshp, kw=kw: ac.conv3d_grad_wrt_weights(x_, g_, kshp, **kw),
                [x, g],
                dict(filter_shape=kshp, **kw),
                dtype,
            )
        # ---- causal_conv1d --------------------------------------------------------------
        for sub, dil, flip, groups in [(1, 1, True, 1), (2, 1, False, 1), (1, 3, True, 2), (3, 2, True, 1)]:
            kshp = (4, 2 // groups, 3)
            x, w = rand(2, 2, 11, dtype=dtype), rand(*kshp, dtype=dtype)
            kw = dict(
                filter_shape=kshp, subsample=sub, filter_dilation=dil, filter_flip=flip, num_groups=groups
            )
            rec.add("causal_conv1d", lambda x_, w_, kw=kw: ac.causal_conv1d(x_, w_, **kw), [x, w], kw, dtype)
        # ---- separable_conv3d -----------------------------------------------------------
        for bm, sub, dil, flip in [
            ("valid", (1, 1, 1), (1, 1, 1), True),
            ("half", (2, 1, 1), (1, 1, 1), False),
            ((1, 0, 1), (1, 2, 1), (1, 1, 2), True),
        ]:
            x = rand(1, 2, 5, 6, 4, dtype=dtype)
            dw = rand(4, 1, 2, 3, 2, dtype=dtype)
            pw = rand(3, 4, 1, 1, 1, dtype=dtype)
            kw = dict(num_channels=2, border_mode=bm, subsample=sub, filter_dilation=dil, filter_flip=flip)
            rec.add(
                "separable_conv3d",
                lambda x_, d_, p_, kw=kw: ac.separable_conv3d(x_, d_, p_, **kw),
                [x, dw, pw],
                kw,
                dtype,
            )
        # ---- abstract_conv.conv2d, positional -------------------------------------------
        x = rand(1, 4, 9, 8, dtype=dtype)
        for args, w in [
            ((None, None, "valid", (1, 1), True, (2, 2)), rand(3, 4, 3, 2, dtype=dtype)),
            ((None, None, "half", (2, 1), False, (1, 2), 2), rand(4, 2, 3, 2, dtype=dtype)),
            (((1, 4, 9, 8), (4, 2, 3, 2), 1, (1, 1), True, (1, 1), 2), rand(4, 2, 3, 2, dtype=dtype)),
        ]:
            names = [
                "input_shape",
                "filter_shape",
                "border_mode",
                "subsample",
                "filter_flip",
                "filter_dilation",
                "num_groups",
            ]
            rec.add(
                "abstract_conv2d_positional",
                lambda x_, w_, args=args: ac.conv2d(x_, w_, *args),
                [x, w],
                dict(zip(names, args)),
                dtype,
            )
        # ---- bilinear -------------------------------------------------------------------
        x = rand(1, 2, 5, 4, dtype=dtype)
        for ratio in [1, 2, 3, 4]:
            for one_d in [True, False]:
                kw = dict(ratio=ratio, use_1D_kernel=one_d)
                rec.add(
                    "bilinear_upsampling", lambda x_, kw=kw: ac.bilinear_upsampling(x_, **kw), [x], kw, dtype
                )
        for fr in [(3, 2), (2, 1), (4, 2), (5, 3), ((3, 2), (4, 3))]:
            kw = dict(frac_ratio=fr, use_1D_kernel=False)
            rec.add("bilinear_upsampling", lambda x_, kw=kw: ac.bilinear_upsampling(x_, **kw), [x], kw, dtype)
        for kw in [dict(ratio=2, frac_ratio=(3, 2)), dict(), dict(frac_ratio=(3, 2))]:
            rec.add("bilinear_upsampling", lambda x_, kw=kw: ac.bilinear_upsampling(x_, **kw), [x], kw, dtype)
        for fr in [(3, 2), ((2, 1), (5, 3))]:
            rec.add(
                "frac_bilinear_upsampling",
                lambda x_, fr=fr: ac.frac_bilinear_upsampling(x_, fr),
                [x],
                dict(frac_ratio=fr),
                dtype,
            )
        for ratio, normalize in [(1, True), (2, True), (3, False), (4, True)]:
            kw = dict(ratio=ratio, normalize=normalize)
            rec.add("bilinear_kernel_1D", lambda kw=kw: ac.bilinear_kernel_1D(**kw), [], kw, dtype)
        for ratio, normalize in [(2, True), ((2, 3), True), ((3, 1), False)]:
            kw = dict(ratio=ratio, normalize=normalize)
            rec.add("bilinear_kernel_2D", lambda kw=kw: ac.bilinear_kernel_2D(**kw), [], kw, dtype)
        # ---- conv3d2d -------------------------------------------------------------------
        for bm, tf in [
            ("valid", 3),
            ("full", 3),
            ("half", 3),
            ("half", 2),
            ("valid", 1),
            (("full", "valid", "valid"), 2),
            (("half", "full", "full"), 3),
            (("valid", "half", "half"), 2),
            (("valid", "full", "valid"), 2),
        ]:
            s = rand(1, 4, 2, 5, 6, dtype=dtype)
            f = rand(3, tf, 2, 3, 2, dtype=dtype)
            rec.add(
                "conv3d2d",
                lambda s_, f_, bm=bm: conv3d2d.conv3d(s_, f_, border_mode=bm),
                [s, f],
                dict(border_mode=bm),
                dtype,
            )
        s, f = rand(1, 4, 2, 5, 6, dtype=dtype), rand(3, 2, 2, 3, 2, dtype=dtype)
        rec.add(
            "conv3d2d",
            lambda s_, f_: conv3d2d.conv3d(s_, f_, (1, 4, 2, 5, 6), (3, 2, 2, 3, 2), "full"),
            [s, f],
            dict(signals_shape=(1, 4, 2, 5, 6), filters_shape=(3, 2, 2, 3, 2), border_mode="full"),
            dtype,
        )
    # mixed dtypes: the result follows NumPy's promotion
    g, w = rand(1, 3, 7, 7, dtype="float32"), rand(3, 2, 3, 3, dtype="float64")
    rec.add(
        "conv2d_grad_wrt_inputs",
        lambda g_, w_: ac.conv2d_grad_wrt_inputs(g_, w_, (1, 2, 9, 9)),
        [g, w],
        dict(input_shape=(1, 2, 9, 9)),
        "float32",
    )
    x = rand(1, 2, 9, 9, dtype="float64")
    rec.add(
        "conv2d_grad_wrt_weights",
        lambda x_, g_: ac.conv2d_grad_wrt_weights(x_, g_, (3, 2, 3, 3)),
        [x, g],
        dict(filter_shape=(3, 2, 3, 3)),
        "float32",
    )

    meta = {
        "generator": f"tests/data/record_abstract_conv.py; Theano {theano.__version__} "
        f"({'C implementations, cxx=' + theano.config.cxx if theano.config.cxx else 'Python implementations (no C compiler)'}), "
        f"numpy {np.__version__}",
        "seed": SEED,
        "cases": rec.cases,
        "shape_functions": shape_calls(),
    }
    os.makedirs(outdir, exist_ok=True)
    np.savez_compressed(os.path.join(outdir, "theano_abstract_conv_reference.npz"), **rec.arrays)
    with open(os.path.join(outdir, "theano_abstract_conv_reference.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
    print(len(rec.cases), "cases,", len(meta["shape_functions"]), "shape calls")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
