#!/usr/bin/env python3
"""Time legacyconv's engines against TensorFlow and a bare GEMM, in one process.

For each case (float32, 2 threads everywhere), the columns are timed interleaved (A B C ... A B
C ...), with a pause between libraries (OpenBLAS threads spin after a GEMM and slow the next
library down), and the median of the repeats is reported:

- ``numpy``: ``legacyconv.conv2d(..., backend='numpy')`` on NCHW data, output allocated per call;
- ``scipy``: ``backend='scipy'``;
- ``tf_engine``: ``backend='tensorflow'`` (layout conversions included);
- ``tf``: a bare ``tf.nn.conv2d`` on pre-converted NHWC data with the flipped HWIO kernel;
- ``gemm``: a bare ``np.matmul`` of the im2col GEMM shape ``(O, C*kh*kw) @ (C*kh*kw, N*oh*ow)``
  (per group), preallocated output: what the numpy engine would cost with free im2col;
- ``loop``: the per-plane ``scipy.signal.convolve2d`` loop Theano's Python code ran; it is far
  too slow for the big cases, so a slice of the output planes is timed and scaled linearly by
  the number of planes (the loop's cost is linear in it). Marked ``(scaled)``.

Prints a table (ms, GFLOP/s, ratios) and writes JSON (``--json``); with ``--runs`` or
``--apart``, the medians over the runs, then issue 15's speed targets (``TARGETS``), met or
missed on those medians. ``--memory`` instead measures the peak extra memory of one numpy-engine
call on (64, 256, 28, 28) * (256, 256, 3, 3) 'half' with ``/usr/bin/time -v``, against the same
process without the call.

A second table times the rest of the family (conv2d_transpose, conv3d, pool_2d) on every
engine against the closest bare TensorFlow op on pre-converted data; a third strided layers of
common networks (the numpy engine's phase split) against ``tf.nn.conv2d`` on pre-padded data;
a fourth the ops of issue 13 (the gradients, causal_conv1d, conv3d2d, bilinear upsampling) the
same way: the gradients against ``Conv2DBackpropInput``/``Conv2DBackpropFilter`` (and their 3-D
twins) with 'VALID' padding on pre-padded data, bilinear upsampling against ``tf.image.resize``.

    python scripts/bench_conv.py [--repeats 7] [--cases 0,2] [--no-family] [--no-strided] [--no-new-ops] [--json bench_conv.json]
    python scripts/bench_conv.py --memory
    python scripts/bench_conv.py --runs 3        # three processes, medians of the three
    python scripts/bench_conv.py --burst 20      # steady state: 20 calls back to back
    python scripts/bench_conv.py --runs 3 --apart  # TensorFlow's columns in processes of their own

By default every timed call follows a pause, so that it finds the caches and the threads as a
call on its own does. ``--burst N`` times a column called over and over instead (a layer in a
long run): on the 2-core VMs of these machines both libraries reach their speed only after
about 20 ms of back-to-back calls (2x2 max pooling of (32, 64, 56, 56), NumPy engine and
``tf.nn.max_pool2d`` alike: 4-5 ms for the first calls, 2.0-2.4 ms from the fifth or so on;
spinning both cores first did not shorten it), so the second call of a pair is no steadier
than the first. A pause as short as 20 ms already does it: the numpy engine's LeNet conv1 took
1.09 ms back to back and 2.1-2.2 ms after 20, 50 or 150 ms of sleep, with no page faults; its
GEMMs took twice as long, and its few Python steps four times.

The TensorFlow columns share the process, and that costs the numpy column some paused calls:
after a TensorFlow op with two intra-op threads, 7 to 13 in 40 numpy-engine calls that follow a
pause longer than OpenBLAS's spin (about 0.1 s) took 3-4 times as long (see the README,
"TensorFlow beside the numpy engine"). A median of 7 can land on them: LeNet conv2's numpy cell
was 12.0 and 12.5 ms in two of three runs on 2026-12-03, 3.55 in the third. Timing TensorFlow's
columns in a child process instead did not help: later that day its numpy cell was 12.5 and 12.9
ms in two of three runs that way, conv2d_transpose's 18.4 and 18.6 (9.4 in a clean run), and 13
to 21 in 40 calls were slow after a TensorFlow op in another process, 6 to 10 after one in this
process. Bursts (``--burst 20``) are no cure: in two pairs of runs, alternating, the numpy
engine took 1.58-1.63 times the bare GEMM on (8, 64, 56, 56) * (64, 64, 3, 3) with TensorFlow
ops in the process and 1.06-1.11 without them, on LeNet's conv2 1.58-1.61 and 1.35. A TensorFlow
process that ran one op and then stayed idle left 1-2 in 40 calls slow, as none did. ``--no-tf``
times the other columns without TensorFlow anywhere. ``--apart`` runs each run as two processes,
the other columns with ``--no-tf``, then the TensorFlow columns alone (``APART_GAP`` seconds
after the last TensorFlow process), and merges them: the ratios then compare each library alone,
timed minutes rather than seconds apart, so the machine's slow phases are no longer shared
column by column.

On machines whose environment sets ``OPENBLAS_CORETYPE`` (and ``OPENBLAS_L2_SIZE``) for old
OpenBLAS builds, NumPy's OpenBLAS runs AVX2 kernels on an AVX-512 CPU; the printed "OpenBLAS
kernels" line says which. To compare with TensorFlow on the CPU's own kernels, unset both for
the benchmark command alone: ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python ...``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "2"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.signal  # noqa: E402

import legacyconv  # noqa: E402
from legacyconv._params import explicit_pads, normalize_border_mode  # noqa: E402

CASES = [
    # (input shape, filter shape, border_mode, subsample, num_groups)
    ((64, 1, 28, 28), (20, 1, 5, 5), "valid", (1, 1), 1),
    ((64, 20, 12, 12), (50, 20, 5, 5), "valid", (1, 1), 1),
    ((8, 64, 56, 56), (64, 64, 3, 3), "half", (1, 1), 1),
    ((8, 256, 28, 28), (256, 256, 3, 3), "half", (1, 1), 1),
    ((16, 3, 227, 227), (96, 3, 11, 11), "valid", (4, 4), 1),
    ((16, 256, 28, 28), (128, 256, 1, 1), "valid", (1, 1), 1),
    ((4, 8, 128, 128), (8, 8, 15, 15), "full", (1, 1), 1),
]
PAUSE = 0.15

# The rest of the family (issue 4): (label, builder). Each builder returns the columns and the
# GFLOP count (None for pooling). 'tf' is the closest bare TensorFlow op on pre-converted data.
FAMILY = [
    "conv2d_transpose (8,64,28,28)->(8,32,56,56) k4 s2 pad1",
    "conv3d (4,16,16,32,32)*(32,16,3,3,3) half",
    "pool_2d max (32,64,56,56) ws2 ignore_border",
    "pool_2d max (32,64,55,55) ws2 ceil mode (ignore_border=False)",
    "pool_2d average_exc_pad (32,64,56,56) ws3 s2 pad1",
]

# Strided layers of common networks (the numpy engine's phase split, issue 15), each against a
# bare tf.nn.conv2d on pre-padded NHWC data: (input shape, filter shape, padding, stride)
STRIDED = [
    ((16, 64, 56, 56), (128, 64, 3, 3), 1, 2),  # ResNet-style 3x3 s2 downsampling: last axis split
    ((8, 32, 64, 64), (64, 32, 5, 5), 2, 2),  # 5x5 s2: last axis split
    ((8, 3, 224, 224), (64, 3, 7, 7), 3, 2),  # ResNet/GoogLeNet conv1 7x7 s2: every axis split
    ((32, 64, 28, 28), (128, 64, 3, 3), 1, 2),  # 3x3 s2 on rows of 14: direct copies
]
STRIDED_LABELS = [f"{xs}*{ws} pad {p} s{s}" for xs, ws, p, s in STRIDED]

# The ops of issue 13, each against the closest bare TensorFlow op on pre-converted data.
NEW_OPS = [
    "conv2d_grad_wrt_inputs (16,128,14,14)->(16,64,28,28) k3 s2 half",
    "conv2d_grad_wrt_weights (16,64,28,28),(16,128,14,14) k3 s2 half",
    "conv2d_grad_wrt_weights (32,64,28,28),(32,64,28,28) k3 half",
    "conv3d_grad_wrt_inputs (4,32,16,32,32)->(4,16,16,32,32) k3 half",
    "conv3d_grad_wrt_weights (4,16,16,32,32),(4,32,16,32,32) k3 half",
    "causal_conv1d (16,64,1024)*(64,64,3) dilation 2",
    "conv3d2d (4,16,16,32,32)*(32,3,16,3,3) valid",
    "bilinear_upsampling (8,64,32,32) ratio 2",
    "frac_bilinear_upsampling (8,64,32,32) 3/2",
    "softmax (256,1000)",
    "sigmoid (32,64,56,56)",
    "softplus (32,64,56,56)",
    "batch_normalization_train spatial (32,64,56,56)",
    "batch_normalization_test spatial (32,64,56,56)",
    "images2neibs (64,3,64,64) 8x8 step 4",
    "pool_3d max (8,16,16,56,56) ws2",
    "pool_3d average_inc_pad (8,16,16,56,56) ws2",
]


# The ratios each table prints: (numerator, denominator) columns, where both were timed.
ROW_RATIOS = [
    ("numpy", "gemm"),
    ("loop", "numpy"),
    ("numpy", "tf"),
    ("loop", "scipy"),
    ("scipy", "tf"),
    ("tf_engine", "tf"),
]
TABLE_RATIOS = [("numpy", "tf"), ("scipy", "tf"), ("tensorflow", "tf")]
# Columns that run TensorFlow ops (--only-tf times these alone; --apart times them in their own process).
TF_COLUMNS = ("tf_engine", "tensorflow", "tf")


def _small_kernel_stride1(case) -> bool:
    return case[3] == (1, 1) and case[1][2:] in ((3, 3), (5, 5))


def _not_sent_to_scipy(case) -> bool:
    """False for the large stride-1 kernels (11x11 and up) the README sends to backend='scipy'."""
    return case[3] != (1, 1) or min(case[1][2:]) < 11


# Issue 15's speed targets, each on the median of 3 runs: (table, ratio, bound, the cases of
# the table it covers, what they are). Memory is --memory's verdict.
TARGETS = [
    ("rows", "numpy/tf", 1.15, _small_kernel_stride1, "3x3 and 5x5 stride 1"),
    ("rows", "numpy/gemm", 1.3, _not_sent_to_scipy, "every conv2d case but 15x15 (backend='scipy')"),
    ("family", "numpy/tf", 1.5, None, "conv2d_transpose, conv3d, pool_2d"),
]


def target_verdicts(medians: dict) -> list:
    """Issue 15's targets (``TARGETS``) on the median rows of ``medians``: one dict per target
    and case it covers, with the ``ratio`` (None where a column was not timed) and ``met``.

    >>> rows = [{"case": case_label(CASES[1]), "ratios": {"numpy/gemm": 1.31, "numpy/tf": 1.1}}]
    >>> [(v["target"], v["met"]) for v in target_verdicts({"rows": rows})]
    [('numpy/tf <= 1.15', True), ('numpy/gemm <= 1.3', False)]
    """
    cases = {case_label(c): c for c in CASES}
    verdicts = []
    for table, ratio, bound, covers, what in TARGETS:
        for row in medians.get(table) or []:
            if covers is not None and not covers(cases[row["case"]]):
                continue
            value = row["ratios"].get(ratio)
            verdicts.append(
                {
                    "target": f"{ratio} <= {bound}",
                    "cases": what,
                    "case": row["case"],
                    "ratio": value,
                    "met": None if value is None else value <= bound,
                }
            )
    return verdicts


def print_verdicts(verdicts: list, runs: int) -> None:
    """Print :func:`target_verdicts`, grouped by target, and how many were met."""
    note = "" if runs >= 3 else f"; these are medians of {runs} (the issue asks for 3)"
    print(f"\n=== issue 15's targets (ratios to 3 decimals{note}) ===")
    heading = None
    for v in verdicts:
        if (v["target"], v["cases"]) != heading:
            heading = (v["target"], v["cases"])
            print(f"{v['target']}, {v['cases']}:")
        if v["met"] is None:
            print(f"    not timed       {v['case']}")
        else:
            print(f"    {'met' if v['met'] else 'MISSED':<7} {v['ratio']:>7.3f}  {v['case']}")
    timed = [v for v in verdicts if v["met"] is not None]
    print(
        f"met {sum(v['met'] for v in timed)} of {len(timed)} timed ({len(verdicts) - len(timed)} not timed)"
    )


def ratios(ms: dict, pairs: list) -> dict:
    """``{"a/b": ms[a] / ms[b]}`` for the ``pairs`` whose columns are both in ``ms``.

    >>> ratios({"numpy": 3.0, "tf": 2.0, "gemm": 1.5}, ROW_RATIOS)
    {'numpy/gemm': 2.0, 'numpy/tf': 1.5}
    """
    return {f"{a}/{b}": ms[a] / ms[b] for a, b in pairs if a in ms and b in ms}


def tf_columns(cols: dict) -> dict:
    """The columns of ``cols`` that run TensorFlow ops (``--only-tf``)."""
    return {name: fn for name, fn in cols.items() if name in TF_COLUMNS}


def _have(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def blas_kernels() -> str:
    """The OpenBLAS builds loaded in this process and the CPU kernel each one runs, e.g.
    ``numpy: Haswell``. OPENBLAS_CORETYPE (set on some of these machines for old OpenBLAS builds)
    forces AVX2 kernels on an AVX-512 CPU: unset it, with OPENBLAS_L2_SIZE, for the command."""
    import ctypes

    found = []
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted(
                {line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line}
            )
    except OSError:
        return "unknown (no /proc/self/maps)"
    for path in paths:
        lib = ctypes.CDLL(path)
        for symbol in (
            "scipy_openblas_get_corename64_",
            "scipy_openblas_get_corename",
            "openblas_get_corename",
        ):
            fn = getattr(lib, symbol, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                owner = "numpy" if "numpy" in path else "scipy" if "scipy" in path else path
                found.append(f"{owner}: {fn().decode()}")
                break
    forced = os.environ.get("OPENBLAS_CORETYPE")
    note = f" (OPENBLAS_CORETYPE={forced} forces it)" if forced else ""
    return (", ".join(found) or "none found") + note


def case_label(case) -> str:
    xs, ws, mode, sub, groups = case
    extra = f" s{sub[0]}" if sub != (1, 1) else ""
    extra += f" g{groups}" if groups != 1 else ""
    return f"{xs}*{ws} {mode}{extra}"


def flops(out_shape, ws, groups) -> float:
    return 2.0 * np.prod(out_shape, dtype=float) * ws[1] * ws[2] * ws[3]


def make_columns(case, with_tf: bool, with_tf_engine: bool, with_scipy: bool):
    """Return {name: zero-argument callable} for one case, and the output shape."""
    xs, ws, mode, sub, groups = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs, dtype=np.float32)
    w = rng.standard_normal(ws, dtype=np.float32)
    out = legacyconv.conv2d(x, w, border_mode=mode, subsample=sub, num_groups=groups)
    cols: dict = {
        "numpy": lambda: legacyconv.conv2d(x, w, border_mode=mode, subsample=sub, num_groups=groups),
    }
    if with_scipy:
        cols["scipy"] = lambda: legacyconv.conv2d(
            x, w, border_mode=mode, subsample=sub, num_groups=groups, backend="scipy"
        )
    k = ws[1] * ws[2] * ws[3]
    p = out.shape[0] * out.shape[2] * out.shape[3]
    a = rng.standard_normal((groups, ws[0] // groups, k), dtype=np.float32)
    b = rng.standard_normal((groups, k, p), dtype=np.float32)
    c = np.empty((groups, ws[0] // groups, p), np.float32)
    cols["gemm"] = lambda: np.matmul(a, b, out=c)
    if with_tf_engine:
        cols["tf_engine"] = lambda: legacyconv.conv2d(
            x, w, border_mode=mode, subsample=sub, num_groups=groups, backend="tensorflow"
        )
    if with_tf:
        import tensorflow as tf

        pads = explicit_pads(normalize_border_mode(mode, 2), ws[2:], (1, 1))
        x_nhwc = tf.constant(np.ascontiguousarray(x.transpose(0, 2, 3, 1)))
        w_hwio = tf.constant(np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(2, 3, 1, 0)))
        padding = [[0, 0], list(pads[0]), list(pads[1]), [0, 0]]
        if all(q == (0, 0) for q in pads):
            padding = "VALID"
        cols["tf"] = lambda: tf.nn.conv2d(x_nhwc, w_hwio, strides=(1, *sub, 1), padding=padding).numpy()
    cols["loop"] = _plane_loop(x, w, mode, sub, groups)
    return cols, out.shape


def _plane_loop(x, w, mode, sub, groups):
    """Theano's Python path: one scipy.signal.convolve2d per (image, filter, channel) plane.
    Times the first image and at most 2 filters; returns (callable, scale factor)."""
    pads = explicit_pads(normalize_border_mode(mode, 2), w.shape[2:], (1, 1))
    n_f = min(2, w.shape[0])
    xp = np.pad(x[:1], ((0, 0), (0, 0), pads[0], pads[1]))

    def run():
        for f in range(n_f):
            acc = None
            for c in range(w.shape[1]):
                plane = scipy.signal.convolve2d(xp[0, c], w[f, c], mode="valid")[:: sub[0], :: sub[1]]
                acc = plane if acc is None else acc + plane

    scale = x.shape[0] * w.shape[0] / n_f
    return run, scale


def time_case(case, repeats, with_tf, with_tf_engine, with_scipy, burst=1, only_tf=False):
    cols, out_shape = make_columns(case, with_tf, with_tf_engine, with_scipy)
    loop_fn, loop_scale = cols.pop("loop")
    if only_tf:
        cols = tf_columns(cols)
    result = _time_columns(cols, repeats, burst)
    if only_tf:
        return result, flops(out_shape, case[1], case[4])
    loop_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        loop_fn()
        loop_times.append(time.perf_counter() - t0)
    result["loop"] = statistics.median(loop_times) * 1e3 * loop_scale
    return result, flops(out_shape, case[1], case[4])


def main_table(args) -> int:
    with_tf = not args.no_tf and _have("tensorflow")
    if with_tf:  # before any TF op runs: the thread pools are fixed at the first one
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(2)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    with_scipy = _engine_available("scipy") and not args.no_scipy
    with_tf_engine = with_tf and _engine_available("tensorflow")
    if args.cases == "none":
        selected = []
    else:
        selected = [CASES[int(i)] for i in args.cases.split(",")] if args.cases else CASES
    print(
        f"threads: OpenBLAS/OMP=2, TF intra=2 inter=1; repeats={args.repeats}; numpy {np.__version__}; "
        + (f"bursts of {args.burst} calls" if args.burst > 1 else "each call after a pause")
    )
    print(f"OpenBLAS kernels: {blas_kernels()}")
    if with_tf:
        print(f"tensorflow {tf.__version__}")
    rows = []
    header = f"{'case':<44} {'column':<10} {'ms':>9} {'GFLOP/s':>8}"
    print(header)
    for case in selected:
        res, fl = time_case(case, args.repeats, with_tf, with_tf_engine, with_scipy, args.burst, args.only_tf)
        label = case_label(case)
        for name, ms in res.items():
            note = " (scaled)" if name == "loop" else ""
            print(f"{label:<44} {name:<10} {ms:>9.2f} {fl / ms / 1e6:>8.1f}{note}")
        row_ratios = ratios(res, ROW_RATIOS)
        print(f"{'':<44} ratios: " + ", ".join(f"{k}={v:.2f}" for k, v in row_ratios.items()))
        rows.append({"case": label, "gflop": fl / 1e9, "ms": res, "ratios": row_ratios})
    if rows and "numpy/tf" in rows[0]["ratios"]:
        med = statistics.median(r["ratios"]["numpy/tf"] for r in rows)
        print(f"median numpy/tf over the cases: {med:.2f}")
    family = main_family(args, with_tf) if not args.no_family else []
    strided = main_strided(args, with_tf) if not args.no_strided else []
    new_ops = main_new_ops(args, with_tf) if not args.no_new_ops else []
    if args.json:
        with open(args.json, "w") as fh:
            tables = {"rows": rows, "family": family, "strided": strided, "new_ops": new_ops}
            json.dump({"threads": 2, "repeats": args.repeats, "burst": args.burst, **tables}, fh, indent=1)
        print(f"wrote {args.json}")
    return 0


def family_columns(index: int, with_tf: bool):
    """Columns {name: callable} and GFLOP for FAMILY[index]."""
    rng = np.random.default_rng(0)
    cols: dict = {}
    gflop = None
    tf = None
    if with_tf:
        import tensorflow as tf
    if index == 0:
        y = rng.standard_normal((8, 64, 28, 28), dtype=np.float32)
        w = rng.standard_normal((64, 32, 4, 4), dtype=np.float32)
        kw = {"output_shape": (8, 32, 56, 56), "border_mode": 1, "input_dilation": (2, 2)}
        for backend in ("numpy", "scipy", "tensorflow"):
            cols[backend] = lambda b=backend: legacyconv.conv2d_transpose(y, w, **kw, backend=b)
        gflop = 2 * 8 * 28 * 28 * 64 * 32 * 16 / 1e9
        if tf is not None:
            y_t = tf.constant(np.ascontiguousarray(y.transpose(0, 2, 3, 1)))
            w_t = tf.constant(legacyconv.layouts.theano_transpose_kernel_to_tf(w))
            cols["tf"] = lambda: tf.nn.conv2d_transpose(
                y_t, w_t, (8, 56, 56, 32), 2, padding=[[0, 0], [1, 1], [1, 1], [0, 0]]
            ).numpy()
    elif index == 1:
        x = rng.standard_normal((4, 16, 16, 32, 32), dtype=np.float32)
        w = rng.standard_normal((32, 16, 3, 3, 3), dtype=np.float32)
        for backend in ("numpy", "scipy", "tensorflow"):
            cols[backend] = lambda b=backend: legacyconv.conv3d(x, w, border_mode="half", backend=b)
        gflop = 2 * 4 * 32 * 16 * 32 * 32 * 16 * 27 / 1e9
        if tf is not None:
            xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1), (1, 1))).transpose(0, 2, 3, 4, 1)
            x_t = tf.constant(np.ascontiguousarray(xp))
            w_t = tf.constant(legacyconv.layouts.theano_kernel3d_to_tf(w))
            cols["tf"] = lambda: tf.nn.conv3d(x_t, w_t, (1, 1, 1, 1, 1), "VALID").numpy()
    else:
        size = 55 if index == 3 else 56
        x = rng.standard_normal((32, 64, size, size), dtype=np.float32)
        kw = [
            {"ws": (2, 2), "ignore_border": True, "mode": "max"},
            {"ws": (2, 2), "ignore_border": False, "mode": "max"},
            {"ws": (3, 3), "ignore_border": True, "stride": (2, 2), "pad": (1, 1), "mode": "average_exc_pad"},
        ][index - 2]
        for backend in ("numpy", "tensorflow"):
            cols[backend] = lambda b=backend: legacyconv.pool_2d(x, **kw, backend=b)
        if tf is not None:
            x_t = tf.constant(np.ascontiguousarray(x.transpose(0, 2, 3, 1)))
            if index == 2:
                cols["tf"] = lambda: tf.nn.max_pool2d(x_t, 2, 2, "VALID").numpy()
            elif index == 3:  # TF 'SAME' equals Theano's ceil mode for max on this size
                cols["tf"] = lambda: tf.nn.max_pool2d(x_t, 2, 2, "SAME").numpy()
            else:  # closest TF op; its window geometry differs from Theano's (see the guide)
                cols["tf"] = lambda: tf.nn.avg_pool2d(x_t, 3, 2, "SAME").numpy()
    return cols, gflop


def main_family(args, with_tf: bool) -> list:
    return _table("family case", "the family cases", FAMILY, family_columns, args, with_tf)


def new_op_columns(index: int, with_tf: bool):
    """Columns {name: callable} and GFLOP for NEW_OPS[index]."""
    from legacyconv.nnet import abstract_conv as ac
    from legacyconv.nnet import conv3d2d

    rng = np.random.default_rng(0)
    cols: dict = {}
    gflop = None
    tf = None
    if with_tf:
        import tensorflow as tf

    def nhwc(a):
        return tf.constant(np.ascontiguousarray(np.moveaxis(a, 1, -1)))

    if index in (0, 1, 2):
        stride, n = ((2, 2), 16) if index < 2 else ((1, 1), 32)
        out_c = 128 if index < 2 else 64
        x = rng.standard_normal((n, 64, 28, 28), dtype=np.float32)
        w = rng.standard_normal((out_c, 64, 3, 3), dtype=np.float32)
        top = legacyconv.get_conv_output_shape(x.shape, w.shape, "half", stride)
        y = rng.standard_normal(top, dtype=np.float32)
        kw = {"border_mode": "half", "subsample": stride}
        for backend in ("numpy", "tensorflow"):
            if index == 0:
                cols[backend] = lambda b=backend: ac.conv2d_grad_wrt_inputs(y, w, x.shape, **kw, backend=b)
            else:
                cols[backend] = lambda b=backend: ac.conv2d_grad_wrt_weights(x, y, w.shape, **kw, backend=b)
        gflop = 2 * np.prod(top) * 64 * 9 / 1e9
        if tf is not None:
            y_t = nhwc(y)
            w_t = tf.constant(legacyconv.layouts.theano_kernel_to_tf(w))
            if index == 0:  # the padded input's gradient, then the crop
                cols["tf"] = lambda: tf.raw_ops.Conv2DBackpropInput(
                    input_sizes=[n, 30, 30, 64],
                    filter=w_t,
                    out_backprop=y_t,
                    strides=[1, *stride, 1],
                    padding="VALID",
                )[:, 1:29, 1:29, :].numpy()
            else:
                x_t = nhwc(
                    np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))[
                        :, :, : 28 + 2 - (stride[0] - 1), : 28 + 2 - (stride[1] - 1)
                    ]
                )
                cols["tf"] = lambda: tf.raw_ops.Conv2DBackpropFilter(
                    input=x_t,
                    filter_sizes=[3, 3, 64, out_c],
                    out_backprop=y_t,
                    strides=[1, *stride, 1],
                    padding="VALID",
                ).numpy()
    elif index in (3, 4):
        x = rng.standard_normal((4, 16, 16, 32, 32), dtype=np.float32)
        w = rng.standard_normal((32, 16, 3, 3, 3), dtype=np.float32)
        y = rng.standard_normal((4, 32, 16, 32, 32), dtype=np.float32)
        for backend in ("numpy", "tensorflow"):
            if index == 3:
                cols[backend] = lambda b=backend: ac.conv3d_grad_wrt_inputs(
                    y, w, x.shape, border_mode="half", backend=b
                )
            else:
                cols[backend] = lambda b=backend: ac.conv3d_grad_wrt_weights(
                    x, y, w.shape, border_mode="half", backend=b
                )
        gflop = 2 * 4 * 32 * 16 * 32 * 32 * 16 * 27 / 1e9
        if tf is not None:
            y_t = nhwc(y)
            if index == 3:
                w_t = tf.constant(legacyconv.layouts.theano_kernel3d_to_tf(w))
                cols["tf"] = lambda: tf.raw_ops.Conv3DBackpropInputV2(
                    input_sizes=[4, 18, 34, 34, 16],
                    filter=w_t,
                    out_backprop=y_t,
                    strides=[1, 1, 1, 1, 1],
                    padding="VALID",
                )[:, 1:17, 1:33, 1:33, :].numpy()
            else:
                x_t = nhwc(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1), (1, 1))))
                cols["tf"] = lambda: tf.raw_ops.Conv3DBackpropFilterV2(
                    input=x_t,
                    filter_sizes=[3, 3, 3, 16, 32],
                    out_backprop=y_t,
                    strides=[1, 1, 1, 1, 1],
                    padding="VALID",
                ).numpy()
    elif index == 5:
        x = rng.standard_normal((16, 64, 1024), dtype=np.float32)
        w = rng.standard_normal((64, 64, 3), dtype=np.float32)
        for backend in ("numpy", "tensorflow"):
            cols[backend] = lambda b=backend: ac.causal_conv1d(x, w, w.shape, filter_dilation=2, backend=b)
        gflop = 2 * 16 * 64 * 1024 * 64 * 3 / 1e9
        if tf is not None:
            x_t = nhwc(np.pad(x, ((0, 0), (0, 0), (4, 0))))
            w_t = tf.constant(np.ascontiguousarray(w[:, :, ::-1].transpose(2, 1, 0)))
            cols["tf"] = lambda: tf.nn.conv1d(x_t, w_t, 1, "VALID", dilations=2).numpy()
    elif index == 6:
        s_ = rng.standard_normal((4, 16, 16, 32, 32), dtype=np.float32)  # (batch, time, in, rows, cols)
        f_ = rng.standard_normal((32, 3, 16, 3, 3), dtype=np.float32)
        for backend in ("numpy", "tensorflow"):
            cols[backend] = lambda b=backend: conv3d2d.conv3d(s_, f_, backend=b)
        gflop = 2 * 4 * 14 * 32 * 30 * 30 * 16 * 27 / 1e9
        if tf is not None:
            x_t = tf.constant(np.ascontiguousarray(s_.transpose(0, 1, 3, 4, 2)))
            w_t = tf.constant(np.ascontiguousarray(f_[:, ::-1, :, ::-1, ::-1].transpose(1, 3, 4, 2, 0)))
            cols["tf"] = lambda: tf.nn.conv3d(x_t, w_t, (1, 1, 1, 1, 1), "VALID").numpy()
    elif index in (7, 8):
        x = rng.standard_normal((8, 64, 32, 32), dtype=np.float32)
        if index == 7:
            for backend in ("numpy", "tensorflow"):
                cols[backend] = lambda b=backend: ac.bilinear_upsampling(x, 2, backend=b)
            size = 64
        else:
            cols["numpy"] = lambda: ac.frac_bilinear_upsampling(x, (3, 2))
            size = 48
        if tf is not None:
            x_t = nhwc(x)
            cols["tf"] = lambda: tf.image.resize(x_t, (size, size), method="bilinear").numpy()
    elif index in (9, 10, 11):
        from legacyconv import nnet

        x = rng.standard_normal((256, 1000) if index == 9 else (32, 64, 56, 56), dtype=np.float32)
        ours, theirs = {
            9: ("softmax", "nn.softmax"),
            10: ("sigmoid", "math.sigmoid"),
            11: ("softplus", "math.softplus"),
        }[index]
        cols["numpy"] = lambda: getattr(nnet, ours)(x)
        if tf is not None:
            x_t = tf.constant(x)
            fn = getattr(getattr(tf, theirs.split(".")[0]), theirs.split(".")[1])
            cols["tf"] = lambda: fn(x_t).numpy()
    elif index in (12, 13):
        from legacyconv.nnet import bn

        x = rng.standard_normal((32, 64, 56, 56), dtype=np.float32)
        g, b = np.ones(64, np.float32), np.zeros(64, np.float32)
        mean, var = np.zeros(64, np.float32), np.ones(64, np.float32)
        if index == 12:
            cols["numpy"] = lambda: bn.batch_normalization_train(x, g, b, "spatial")
        else:
            cols["numpy"] = lambda: bn.batch_normalization_test(x, g, b, mean, var, "spatial")
        if tf is not None:
            x_t = nhwc(x)

            def tf_bn():
                m, v = tf.nn.moments(x_t, axes=[0, 1, 2]) if index == 12 else (mean, var)
                return tf.nn.batch_normalization(x_t, m, v, b, g, 1e-4).numpy()

            cols["tf"] = tf_bn
    elif index == 14:
        from legacyconv.nnet import neighbours

        x = rng.standard_normal((64, 3, 64, 64), dtype=np.float32)
        cols["numpy"] = lambda: neighbours.images2neibs(x, (8, 8), (4, 4))
        if tf is not None:
            x_t = nhwc(x)
            cols["tf"] = lambda: tf.image.extract_patches(
                x_t, [1, 8, 8, 1], [1, 4, 4, 1], [1, 1, 1, 1], "VALID"
            ).numpy()
    else:
        x = rng.standard_normal((8, 16, 16, 56, 56), dtype=np.float32)
        mode = "max" if index == 15 else "average_inc_pad"
        for backend in ("numpy", "tensorflow"):
            cols[backend] = lambda b=backend: legacyconv.pool_3d(x, (2, 2, 2), True, mode=mode, backend=b)
        if tf is not None:
            x_t = nhwc(x)
            op = tf.nn.max_pool3d if index == 15 else tf.nn.avg_pool3d
            cols["tf"] = lambda: op(x_t, 2, 2, "VALID").numpy()
    return cols, gflop


def strided_columns(index: int, with_tf: bool):
    """Columns {name: callable} and GFLOP for STRIDED[index]."""
    xs, ws, pad, stride = STRIDED[index]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs, dtype=np.float32)
    w = rng.standard_normal(ws, dtype=np.float32)
    kw = {"border_mode": (pad, pad), "subsample": (stride, stride)}
    cols: dict = {}
    for backend in ("numpy", "tensorflow"):
        cols[backend] = lambda b=backend: legacyconv.conv2d(x, w, **kw, backend=b)
    out = legacyconv.get_conv_output_shape(xs, ws, (pad, pad), (stride, stride))
    gflop = flops(out, ws, 1) / 1e9
    if with_tf:
        import tensorflow as tf

        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))).transpose(0, 2, 3, 1)
        x_t = tf.constant(np.ascontiguousarray(xp))
        w_t = tf.constant(np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(2, 3, 1, 0)))
        cols["tf"] = lambda: tf.nn.conv2d(x_t, w_t, strides=(1, stride, stride, 1), padding="VALID").numpy()
    return cols, gflop


def main_strided(args, with_tf: bool) -> list:
    return _table("strided layer", "the strided layers", STRIDED_LABELS, strided_columns, args, with_tf)


def main_new_ops(args, with_tf: bool) -> list:
    return _table("issue 13 op", "the issue 13 ops", NEW_OPS, new_op_columns, args, with_tf)


def _table(title: str, what: str, labels: list, columns, args, with_tf: bool) -> list:
    """Time ``columns(index, with_tf)`` for every label; print ms, GFLOP/s and ratios to 'tf'."""
    width = max(len(label) for label in labels) + 2
    rows = []
    print(f"\n{title:<{width}} {'column':<11} {'ms':>9} {'GFLOP/s':>8}")
    for index, label in enumerate(labels):
        cols, gflop = columns(index, with_tf)
        if args.no_scipy:
            cols.pop("scipy", None)
        if not with_tf:  # --no-tf: no TensorFlow op in the process, the engine's neither
            cols.pop("tensorflow", None)
        if args.only_tf:
            cols = tf_columns(cols)
        res = _time_columns(cols, args.repeats, args.burst)
        for name, ms in res.items():
            rate = f"{gflop / ms * 1e3:>8.1f}" if gflop else f"{'-':>8}"
            print(f"{label:<{width}} {name:<11} {ms:>9.2f} {rate}")
        row_ratios = ratios(res, TABLE_RATIOS)
        print(f"{'':<{width}} ratios: " + ", ".join(f"{k}={v:.2f}" for k, v in row_ratios.items()))
        rows.append({"case": label, "ms": res, "ratios": row_ratios})
    if rows and all("numpy/tf" in r["ratios"] for r in rows):
        med = statistics.median(r["ratios"]["numpy/tf"] for r in rows)
        print(f"median numpy/tf over {what}: {med:.2f}")
    return rows


def _time_columns(cols: dict, repeats: int, burst: int = 1) -> dict:
    """Median ms of each column, timed interleaved after one warm-up call each, with a pause
    after each call; with ``burst`` > 1, each timing is a burst of that many calls of the
    column back to back (then the pause), and counts the median of its last ``burst // 2``."""
    times: dict = {name: [] for name in cols}
    for fn in cols.values():
        fn()
        time.sleep(PAUSE)
    for _ in range(repeats):
        for name, fn in cols.items():
            calls = []
            for _ in range(burst):
                t0 = time.perf_counter()
                fn()
                calls.append(time.perf_counter() - t0)
            times[name].append(statistics.median(calls[len(calls) - max(1, burst // 2) :]))
            time.sleep(PAUSE)
    return {name: statistics.median(ts) * 1e3 for name, ts in times.items()}


def _engine_available(name: str) -> bool:
    try:
        legacyconv.conv2d(np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 2, 2), np.float32), backend=name)
        return True
    except (ImportError, ModuleNotFoundError):
        return False


def memory_probe(run: bool) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 256, 28, 28), dtype=np.float32)
    w = rng.standard_normal((256, 256, 3, 3), dtype=np.float32)
    if run:
        out = legacyconv.conv2d(x, w, border_mode="half")
        print(f"output {out.nbytes / 2**20:.0f} MiB")


def main_memory() -> int:
    def max_rss(run: bool) -> float:
        cmd = [
            "/usr/bin/time",
            "-v",
            sys.executable,
            __file__,
            "--memory-probe" if run else "--memory-baseline",
        ]
        err = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
        line = next(ln for ln in err.splitlines() if "Maximum resident set size" in ln)
        return int(line.split(":")[1]) / 1024  # MiB

    base, full = max_rss(False), max_rss(True)
    limit = legacyconv.get_workspace_limit() / 2**20
    out_mib = 64 * 256 * 28 * 28 * 4 / 2**20
    print(f"max RSS without the call {base:.0f} MiB, with it {full:.0f} MiB: extra {full - base:.0f} MiB")
    print(f"bound: workspace limit {limit:.0f} MiB + output {out_mib:.0f} MiB = {limit + out_mib:.0f} MiB")
    print("within bound" if full - base <= limit + out_mib else "OVER the bound")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cases", help="comma-separated case indices (default: all; 'none' for none)")
    parser.add_argument("--json", help="write the results to this JSON file")
    parser.add_argument("--no-tf", action="store_true", help="skip TensorFlow even if installed")
    parser.add_argument(
        "--no-scipy",
        action="store_true",
        help="skip the scipy engine's column (its long FFT calls slow the columns timed after them)",
    )
    parser.add_argument("--no-family", action="store_true", help="skip the transpose/conv3d/pool table")
    parser.add_argument("--no-strided", action="store_true", help="skip the table of strided layers")
    parser.add_argument("--no-new-ops", action="store_true", help="skip the table of issue 13's ops")
    parser.add_argument("--memory", action="store_true", help="measure peak extra memory instead")
    parser.add_argument(
        "--burst",
        type=int,
        default=1,
        help="time each column as N calls back to back, the median of the last N // 2 (steady state)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="run the whole benchmark this many times, each in a new process, and print the medians",
    )
    parser.add_argument(
        "--apart",
        action="store_true",
        help="each run in two processes, the TensorFlow columns after the others instead of "
        "interleaved with them (TensorFlow ops slow the numpy engine's calls: see the docstring)",
    )
    parser.add_argument("--only-tf", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory-probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory-baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe or args.memory_baseline:
        memory_probe(args.memory_probe)
        return 0
    if args.memory:
        return main_memory()
    if args.runs > 1 or args.apart:
        return main_runs(args)
    return main_table(args)


def _without_options(argv: list[str], names: tuple[str, ...]) -> list[str]:
    """``argv`` without the options ``names`` and their values (``--name v`` or ``--name=v``).

    >>> _without_options(["--runs", "3", "--repeats", "3", "--json=a"], ("--runs", "--json"))
    ['--repeats', '3']
    """
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in names:
            skip = True
        elif not arg.startswith(tuple(f"{n}=" for n in names)):
            kept.append(arg)
    return kept


# --apart: seconds between a TensorFlow process and the next run's (the slowdown it leaves
# lasted at least 2 s after an op; an idle TensorFlow process that had run one op slowed 1-2 in
# 40 later calls, as good as none)
APART_GAP = 10.0


def _run_json(argv: list, path: str) -> dict:
    """Run this script with ``argv`` in a new process writing JSON to ``path``; return it."""
    subprocess.run([sys.executable, __file__, *argv, "--json", path], check=True)
    with open(path) as f:
        return json.load(f)


def merge_apart(others: dict, tf_alone: dict) -> dict:
    """One run's results from its two processes under ``--apart``: every case's columns from
    both (the TensorFlow columns from ``tf_alone``), and the ratios computed again from them.

    >>> a = {"rows": [{"case": "c", "ms": {"numpy": 3.0, "gemm": 1.5}, "ratios": {}}], "family": []}
    >>> b = {"rows": [{"case": "c", "ms": {"tf": 2.0}, "ratios": {}}], "family": []}
    >>> merge_apart(a, b)["rows"][0]["ratios"]
    {'numpy/gemm': 2.0, 'numpy/tf': 1.5}
    """
    merged = dict(others)
    for table in ("rows", "family", "strided", "new_ops"):
        pairs = ROW_RATIOS if table == "rows" else TABLE_RATIOS
        mine, theirs = others.get(table) or [], tf_alone.get(table) or []
        if len(mine) != len(theirs):
            raise RuntimeError(f"the two processes timed {len(mine)} and {len(theirs)} cases of {table}")
        rows = []
        for row, tf_row in zip(mine, theirs):
            if row["case"] != tf_row["case"]:
                raise RuntimeError(
                    f"the two processes timed different cases: {row['case']} and {tf_row['case']}"
                )
            ms = {**row["ms"], **tf_columns(tf_row["ms"])}
            rows.append({**row, "ms": ms, "ratios": ratios(ms, pairs)})
        merged[table] = rows
    return merged


def main_runs(args) -> int:
    """Run this script ``args.runs`` times, each in a new process writing JSON, then print the
    median over the runs of every column and ratio of every case."""
    import tempfile

    results = []
    argv = _without_options(sys.argv[1:], ("--runs", "--json"))  # --json gets the medians
    argv = [a for a in argv if a != "--apart"]
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            print(f"--- run {run + 1} of {args.runs}", flush=True)
            if not args.apart:
                results.append(_run_json(argv, os.path.join(tmp, f"run{run}.json")))
                continue
            if run:  # the last TensorFlow process's ops slow numpy calls for seconds after
                time.sleep(APART_GAP)
            others = _run_json([*argv, "--no-tf"], os.path.join(tmp, f"run{run}.json"))
            tf_alone = _run_json([*argv, "--only-tf"], os.path.join(tmp, f"run{run}tf.json"))
            results.append(merge_apart(others, tf_alone))
    medians: dict = {"runs": args.runs, "threads": results[0]["threads"]}
    print(f"\n=== medians over {args.runs} runs (each the median of {args.repeats} repeats) ===")
    for table in ("rows", "family", "strided", "new_ops"):
        rows = []
        for i, row in enumerate(results[0].get(table) or []):
            same = [r[table][i] for r in results]
            med = {
                "case": row["case"],
                "ms": {k: statistics.median(r["ms"][k] for r in same) for k in row["ms"]},
                "ratios": {k: statistics.median(r["ratios"][k] for r in same) for k in row["ratios"]},
            }
            rows.append(med)
            cells = "  ".join(f"{k} {v:.2f}" for k, v in med["ms"].items())
            ratio_cells = "  ".join(f"{k}={v:.2f}" for k, v in med["ratios"].items())
            print(f"{row['case']}\n    ms: {cells}\n    ratios: {ratio_cells}")
        medians[table] = rows
    medians["targets"] = target_verdicts(medians)
    print_verdicts(medians["targets"], args.runs)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(medians, f, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
