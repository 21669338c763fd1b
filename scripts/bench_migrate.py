"""Time ``legacyconv migrate`` and ``check`` on a ResNet50-sized Keras-1 model at 224x224.

The model is written here as Keras 1.2.2's ``model.save()`` would have: a functional ``Model``
config (``keras.applications.resnet50`` of Keras 1.2.2 with ``dim_ordering='th'``: ZeroPadding,
Convolution2D, BatchNormalization mode 0, Activation, MaxPooling2D, 16 residual blocks with
``merge(mode='sum')``, AveragePooling2D, Flatten, Dense) and an HDF5 file of random weights in
Keras-1 layout (Theano kernels, BN ``running_std`` holding the variance), with h5py. So ``migrate``
runs the real path: file → Keras-1 frontend → graph → Keras target → ``.keras`` with sidecar.

Reported: migrate seconds (graph, emit, save) and its peak memory (in a fresh process, so the
numbers are migrate's own), and ``check`` throughput against plain ``model.predict`` of the same
migrated model in the same run (interleaved, medians). The ONNX column: the same file migrated to
``.onnx`` and run by ONNX Runtime (CPU provider, 2 threads, NCHW input as it is) against
``model.predict`` of the Keras model (2 threads), interleaved in the same run. The reference for the timing is the
model's own output (its correctness is what tests/test_migrate_zoo.py proves).

Usage: python scripts/bench_migrate.py [--images 16] [--batch 8] [--repeats 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


# --------------------------------------------------------------------------- the Keras-1 model file
class _Keras1Builder:
    def __init__(self, rng: np.random.Generator) -> None:
        self.layers: list[dict] = []
        self.weights: dict[str, list[tuple[str, np.ndarray]]] = {}
        self.rng = rng
        self.channels: dict[str, int] = {}

    def add(self, cls: str, name: str, inbound: list[str], channels: int, weights=(), **cfg) -> str:
        cfg = {"name": name, **cfg}
        nodes = [[[src, 0, 0] for src in inbound]] if inbound else []
        self.layers.append({"name": name, "class_name": cls, "config": cfg, "inbound_nodes": nodes})
        self.weights[name] = list(weights)
        self.channels[name] = channels
        return name

    def conv(self, name: str, x: str, n: int, k: int, strides=(1, 1), border="valid") -> str:
        c = self.channels[x]
        w = (self.rng.standard_normal((n, c, k, k)) * np.sqrt(2.0 / (c * k * k))).astype(np.float32)
        b = (self.rng.standard_normal(n) * 0.01).astype(np.float32)
        return self.add(
            "Convolution2D",
            name,
            [x],
            n,
            [(f"{name}_W", w), (f"{name}_b", b)],
            nb_filter=n,
            nb_row=k,
            nb_col=k,
            border_mode=border,
            subsample=list(strides),
            dim_ordering="th",
            activation="linear",
            bias=True,
            init="glorot_uniform",
        )

    def bn(self, name: str, x: str) -> str:
        c = self.channels[x]
        arrays = [
            (f"{name}_gamma", (1 + 0.1 * self.rng.standard_normal(c)).astype(np.float32)),
            (f"{name}_beta", (0.1 * self.rng.standard_normal(c)).astype(np.float32)),
            (f"{name}_running_mean", (0.1 * self.rng.standard_normal(c)).astype(np.float32)),
            (f"{name}_running_std", (1 + 0.5 * self.rng.random(c)).astype(np.float32)),  # the variance
        ]
        return self.add(
            "BatchNormalization", name, [x], c, arrays, axis=1, mode=0, epsilon=1e-3, momentum=0.99
        )

    def relu(self, name: str, x: str) -> str:
        return self.add("Activation", name, [x], self.channels[x], activation="relu")


def _block(
    m: _Keras1Builder,
    x: str,
    filters: tuple[int, int, int],
    stage: int,
    block: str,
    conv: bool,
    strides=(2, 2),
) -> str:
    f1, f2, f3 = filters
    base = f"res{stage}{block}_branch"
    bnb = f"bn{stage}{block}_branch"
    s = strides if conv else (1, 1)
    y = m.relu(f"{base}2a_relu", m.bn(f"{bnb}2a", m.conv(f"{base}2a", x, f1, 1, s)))
    y = m.relu(f"{base}2b_relu", m.bn(f"{bnb}2b", m.conv(f"{base}2b", y, f2, 3, border="same")))
    y = m.bn(f"{bnb}2c", m.conv(f"{base}2c", y, f3, 1))
    shortcut = m.bn(f"{bnb}1", m.conv(f"{base}1", x, f3, 1, s)) if conv else x
    merged = m.add("Merge", f"res{stage}{block}", [y, shortcut], f3, mode="sum", concat_axis=-1)
    return m.relu(f"res{stage}{block}_relu", merged)


def write_resnet50_keras1(path: str, size: int = 224, seed: int = 0) -> int:
    """Write a Keras-1.2.2-style ResNet50 ``model.save()`` file; return the parameter count."""
    import h5py

    m = _Keras1Builder(np.random.default_rng(seed))
    x = m.add("InputLayer", "input_1", [], 3, batch_input_shape=[None, 3, size, size], input_dtype="float32")
    x = m.add("ZeroPadding2D", "zeropadding2d_1", [x], 3, padding=[3, 3], dim_ordering="th")
    x = m.relu("conv1_relu", m.bn("bn_conv1", m.conv("conv1", x, 64, 7, (2, 2))))
    x = m.add(
        "MaxPooling2D",
        "maxpool1",
        [x],
        64,
        pool_size=[3, 3],
        strides=[2, 2],
        border_mode="valid",
        dim_ordering="th",
    )
    for stage, filters, blocks, strides in (
        (2, (64, 64, 256), "abc", (1, 1)),
        (3, (128, 128, 512), "abcd", (2, 2)),
        (4, (256, 256, 1024), "abcdef", (2, 2)),
        (5, (512, 512, 2048), "abc", (2, 2)),
    ):
        for block in blocks:
            x = _block(m, x, filters, stage, block, conv=block == "a", strides=strides)
    x = m.add(
        "AveragePooling2D",
        "avg_pool",
        [x],
        2048,
        pool_size=[7, 7],
        strides=[7, 7],
        border_mode="valid",
        dim_ordering="th",
    )
    x = m.add("Flatten", "flatten_1", [x], 2048)
    w = (m.rng.standard_normal((2048, 1000)) * np.sqrt(1.0 / 2048)).astype(np.float32)
    m.add(
        "Dense",
        "fc1000",
        [x],
        1000,
        [("fc1000_W", w), ("fc1000_b", np.zeros(1000, np.float32))],
        output_dim=1000,
        activation="softmax",
        bias=True,
    )
    config = {
        "class_name": "Model",
        "config": {
            "name": "resnet50",
            "layers": m.layers,
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [["fc1000", 0, 0]],
        },
    }
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"1.2.2"
        f.attrs["model_config"] = json.dumps(config).encode()
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = np.array([layer["name"].encode() for layer in m.layers])
        for layer in m.layers:
            g = mw.create_group(layer["name"])
            g.attrs["weight_names"] = np.array([n.encode() for n, _ in m.weights[layer["name"]]])
            for n, arr in m.weights[layer["name"]]:
                g.create_dataset(n, data=arr)
    return sum(int(a.size) for ws in m.weights.values() for _, a in ws)


# --------------------------------------------------------------------------- migrate, in a fresh process
_MIGRATE = """
import json, resource, sys, time
t0 = time.perf_counter()
from legacyconv.frontends import load_graph
graph = load_graph(sys.argv[1])
t1 = time.perf_counter()
from legacyconv.targets.keras import emit, save
t_tf = time.perf_counter()
import tensorflow  # noqa: F401  (import time reported apart)
t2 = time.perf_counter()
built = emit(graph)
t3 = time.perf_counter()
save(built, sys.argv[2], force=True)
t4 = time.perf_counter()
print(json.dumps({"graph_s": t1 - t0, "tf_import_s": t2 - t_tf, "emit_s": t3 - t2, "save_s": t4 - t3,
                  "nodes": len(graph.nodes), "layers": len(built.model.layers),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", metavar="DIR", help="keep the model files in DIR")
    args = parser.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="bench_migrate_")
    os.makedirs(work, exist_ok=True)
    h5 = os.path.join(work, "resnet50_keras1.h5")
    out = os.path.join(work, "resnet50.keras")
    t = time.perf_counter()
    n_params = write_resnet50_keras1(h5)
    print(
        f"wrote {h5}: Keras-1 ResNet50, {n_params / 1e6:.1f} M parameters, in {time.perf_counter() - t:.1f} s"
    )

    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _MIGRATE, h5, out], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t
    if proc.returncode:
        sys.exit(f"migrate failed:\n{proc.stderr[-3000:]}")
    mig = json.loads(proc.stdout.strip().splitlines()[-1])
    migrate_s = mig["graph_s"] + mig["emit_s"] + mig["save_s"]

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
    import keras

    from legacyconv.regression import check
    from legacyconv.targets.keras import KerasRunner

    model = keras.saving.load_model(out, compile=False)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((args.images, 3, 224, 224)).astype(np.float32)
    x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    y = model.predict(x_nhwc, batch_size=args.batch, verbose=0)
    ref = {"input": x, "output": y}
    runner = KerasRunner(out)  # check on a loaded model: the comparison's own throughput
    check(runner, ref, batch_size=args.batch, progress=False)  # warm-up (traces)
    t_predict, t_check, t_file = [], [], []
    for _ in range(args.repeats):  # interleaved
        t = time.perf_counter()
        model.predict(x_nhwc, batch_size=args.batch, verbose=0)
        t_predict.append(time.perf_counter() - t)
        time.sleep(0.15)
        t = time.perf_counter()
        report = check(runner, ref, batch_size=args.batch, progress=False)
        t_check.append(time.perf_counter() - t)
        time.sleep(0.15)
        assert report.passed, report.table()
    t = time.perf_counter()
    check(out, ref, batch_size=args.batch, progress=False)  # from the file: load + trace + compare
    t_file.append(time.perf_counter() - t)
    p, c = float(np.median(t_predict)), float(np.median(t_check))
    onnx = _onnx_column(h5, work, model, x, x_nhwc, y, args)
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| graph nodes / Keras layers | {mig['nodes']} / {mig['layers']} |")
    print(f"| migrate: read + graph | {mig['graph_s']:.2f} s |")
    print(f"| migrate: emit Keras model | {mig['emit_s']:.2f} s |")
    print(f"| migrate: save .keras + sidecar | {mig['save_s']:.2f} s |")
    print(f"| migrate total (without the {mig['tf_import_s']:.1f} s TensorFlow import) | {migrate_s:.2f} s |")
    print(f"| migrate process wall time (Python start, imports included) | {wall:.1f} s |")
    print(f"| migrate process peak RSS (TensorFlow included) | {mig['peak_rss_mb']:.0f} MB |")
    print(
        f"| model.predict, {args.images} images, batch {args.batch} (median of {args.repeats}) | {p:.2f} s ({args.images / p:.1f} img/s) |"
    )
    print(f"| check on the loaded model, same images | {c:.2f} s ({args.images / c:.1f} img/s) |")
    print(f"| check / predict | {c / p:.2f}x (target <= 1.2x) |")
    print(f"| check from the .keras file (load + trace + compare, once) | {t_file[0]:.2f} s |")
    print(f"| migrate to .onnx (read + graph + emit + full check_model + save) | {onnx['migrate_s']:.2f} s |")
    print(
        f"| ONNX Runtime, {args.images} images, batch {args.batch}, 2 threads (median of {args.repeats}) | "
        f"{onnx['onnx_s']:.2f} s ({args.images / onnx['onnx_s']:.1f} img/s) |"
    )
    print(f"| model.predict in the same interleaved run | {onnx['predict_s']:.2f} s |")
    print(f"| predict / ONNX Runtime | {onnx['predict_s'] / onnx['onnx_s']:.2f}x |")
    print(f"| max abs difference ONNX vs Keras on the output | {onnx['max_abs']:.2g} |")
    print(
        f"\npeak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
        "2 shared cores, numbers are noisy"
    )


def _onnx_column(h5: str, work: str, model, x, x_nhwc, y, args) -> dict:
    """Migrate ``h5`` to ONNX; time ONNX Runtime against ``model.predict`` (interleaved, medians)."""
    import onnxruntime as ort

    from legacyconv.targets.onnx import save as save_onnx
    from legacyconv.targets.onnx import to_onnx

    t = time.perf_counter()
    path = save_onnx(to_onnx(h5), os.path.join(work, "resnet50.onnx"), force=True)
    migrate_s = time.perf_counter() - t
    # the file as it is (inference outputs only: check's runner also exposes every layer)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 2, 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name, output = session.get_inputs()[0].name, session.get_outputs()[0].name

    def run() -> np.ndarray:
        outs = [session.run([output], {name: x[i : i + args.batch]})[0] for i in range(0, len(x), args.batch)]
        return np.concatenate(outs)

    out = run()  # warm-up
    t_onnx, t_predict = [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        model.predict(x_nhwc, batch_size=args.batch, verbose=0)
        t_predict.append(time.perf_counter() - t)
        time.sleep(0.15)
        t = time.perf_counter()
        run()
        t_onnx.append(time.perf_counter() - t)
        time.sleep(0.15)
    return {
        "migrate_s": migrate_s,
        "onnx_s": float(np.median(t_onnx)),
        "predict_s": float(np.median(t_predict)),
        "max_abs": float(np.abs(out - y).max()),
    }


if __name__ == "__main__":
    main()
