#!/usr/bin/env python3
"""Time the Lasagne mirror's ``get_output`` on a GoogLeNet against the same network migrated to
Keras 3 (``model.predict``), in one process.

The network is the model zoo's BVLC GoogLeNet layout (Lasagne/Recipes ``modelzoo/googlenet.py``:
cuDNN convolutions with ``flip_filters=False``, ceil-mode max pooling, nine inception modules,
global average pooling, a 1000-way dense softmax), written out as a user's ``build_model()``
file and run unchanged by :mod:`legacyconv.lasagne`, with random weights (``--no-lrn`` leaves
out its two LRN layers). Inputs: ``--batch`` images of
``--size`` x ``--size``, float32. Timings are interleaved (mirror, Keras, mirror, ...) and the
median of ``--repeats`` is reported after one warm-up run each, with the page faults of each run
(where the platform counts them); the outputs are compared. Fresh arrays' page faults once cost
the mirror about 15% here; the README's "Memory in whole networks" says what removed them.

    python scripts/bench_lasagne.py [--batch 8] [--size 224] [--repeats 3] [--backend numpy]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

GOOGLENET = """
from lasagne.layers import InputLayer, DenseLayer, ConcatLayer, NonlinearityLayer, GlobalPoolLayer
from lasagne.layers.dnn import Conv2DDNNLayer as ConvLayer
from lasagne.layers.dnn import MaxPool2DDNNLayer as PoolLayerDNN
from lasagne.layers import MaxPool2DLayer as PoolLayer
from lasagne.layers import LocalResponseNormalization2DLayer as LRNLayer
from lasagne.nonlinearities import softmax, linear

LRN = {lrn}


def inception(name, incoming, nfilters):
    pool_proj, n1x1, n3x3r, n3x3, n5x5r, n5x5 = nfilters
    net = {{}}
    net["pool"] = PoolLayerDNN(incoming, pool_size=3, stride=1, pad=1)
    net["pool_proj"] = ConvLayer(net["pool"], pool_proj, 1, flip_filters=False)
    net["1x1"] = ConvLayer(incoming, n1x1, 1, flip_filters=False)
    net["3x3_reduce"] = ConvLayer(incoming, n3x3r, 1, flip_filters=False)
    net["3x3"] = ConvLayer(net["3x3_reduce"], n3x3, 3, pad=1, flip_filters=False)
    net["5x5_reduce"] = ConvLayer(incoming, n5x5r, 1, flip_filters=False)
    net["5x5"] = ConvLayer(net["5x5_reduce"], n5x5, 5, pad=2, flip_filters=False)
    net["output"] = ConcatLayer([net["1x1"], net["3x3"], net["5x5"], net["pool_proj"]])
    return {{name + "/" + k: v for k, v in net.items()}}


def build_model():
    net = {{}}
    net["input"] = InputLayer((None, 3, None, None))
    net["conv1/7x7_s2"] = ConvLayer(net["input"], 64, 7, stride=2, pad=3, flip_filters=False)
    x = net["pool1/3x3_s2"] = PoolLayer(net["conv1/7x7_s2"], pool_size=3, stride=2, ignore_border=False)
    if LRN:
        x = net["pool1/norm1"] = LRNLayer(x, alpha=0.00002, k=1)
    net["conv2/3x3_reduce"] = ConvLayer(x, 64, 1, flip_filters=False)
    x = net["conv2/3x3"] = ConvLayer(net["conv2/3x3_reduce"], 192, 3, pad=1, flip_filters=False)
    if LRN:
        x = net["conv2/norm2"] = LRNLayer(x, alpha=0.00002, k=1)
    x = net["pool2/3x3_s2"] = PoolLayer(x, pool_size=3, stride=2, ignore_border=False)
    for name, nf in (("inception_3a", [32, 64, 96, 128, 16, 32]), ("inception_3b", [64, 128, 128, 192, 32, 96])):
        net.update(inception(name, x, nf))
        x = net[name + "/output"]
    x = net["pool3/3x3_s2"] = PoolLayer(x, pool_size=3, stride=2, ignore_border=False)
    for name, nf in (
        ("inception_4a", [64, 192, 96, 208, 16, 48]),
        ("inception_4b", [64, 160, 112, 224, 24, 64]),
        ("inception_4c", [64, 128, 128, 256, 24, 64]),
        ("inception_4d", [64, 112, 144, 288, 32, 64]),
        ("inception_4e", [128, 256, 160, 320, 32, 128]),
    ):
        net.update(inception(name, x, nf))
        x = net[name + "/output"]
    x = net["pool4/3x3_s2"] = PoolLayer(x, pool_size=3, stride=2, ignore_border=False)
    for name, nf in (("inception_5a", [128, 256, 160, 320, 32, 128]), ("inception_5b", [128, 384, 192, 384, 48, 128])):
        net.update(inception(name, x, nf))
        x = net[name + "/output"]
    net["pool5/7x7_s1"] = GlobalPoolLayer(x)
    net["loss3/classifier"] = DenseLayer(net["pool5/7x7_s1"], num_units=1000, nonlinearity=linear)
    net["prob"] = NonlinearityLayer(net["loss3/classifier"], nonlinearity=softmax)
    return net
"""


def _minor_faults() -> int | None:
    """This process's minor page faults so far, or None where the platform does not count them."""
    try:
        import resource
    except ImportError:  # not on Unix
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", default="numpy", choices=("numpy", "scipy", "tensorflow"))
    parser.add_argument("--no-lrn", action="store_true", help="leave out the two LRN layers")
    args = parser.parse_args(argv)

    import legacyconv.lasagne as mirror
    from legacyconv.frontends.lasagne import graph_from_network
    from legacyconv.lasagne import layers as L
    from legacyconv.targets.keras import emit

    folder = Path(tempfile.mkdtemp())
    (folder / "googlenet.py").write_text(GOOGLENET.format(lrn=not args.no_lrn))
    mirror.random.set_rng(np.random.RandomState(0))
    net = mirror.load_network(f"{folder / 'googlenet.py'}:build_model")
    rng = np.random.default_rng(1)
    x = (rng.random((args.batch, 3, args.size, args.size)) * 255 - 117).astype(np.float32)

    graph = graph_from_network(net, input_shape=(3, args.size, args.size))
    model = emit(graph).model
    x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    runs = {
        "mirror get_output": lambda: L.get_output(net["prob"], x, deterministic=True, backend=args.backend),
        "keras predict": lambda: model.predict(x_nhwc, batch_size=args.batch, verbose=0),
    }
    outputs = {name: fn() for name, fn in runs.items()}  # warm-up
    times: dict[str, list[float]] = {name: [] for name in runs}
    faults: dict[str, list[int]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            before = _minor_faults()
            dt, _ = _timed(fn)
            times[name].append(dt)
            if before is not None:
                faults[name].append(_minor_faults() - before)
            time.sleep(0.2)
    np.testing.assert_allclose(outputs["mirror get_output"], outputs["keras predict"], rtol=1e-3, atol=1e-5)
    print(
        f"GoogLeNet ({L.count_params(net['prob'])} parameters, {len(L.get_all_layers(net['prob']))} layers), "
        f"batch {args.batch}, {args.size}x{args.size}, float32, mirror backend {args.backend!r}, "
        f"median of {args.repeats} (all runs in ms)"
    )
    keras_ms = statistics.median(times["keras predict"]) * 1000
    for name, ts in times.items():
        ms = statistics.median(ts) * 1000
        print(f"  {name:30s} {ms:9.0f} ms  ({ms / keras_ms:.2f} x Keras)   {[round(t * 1000) for t in ts]}")
        if faults[name]:
            print(f"  {'':30s} page faults a run: {statistics.median(faults[name]):.0f}")
    print("  outputs agree (rtol 1e-3)")


if __name__ == "__main__":
    main()
