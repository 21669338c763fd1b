"""Record what the Theano tutorial's LeNet5 (DeepLearningTutorials ``code/convolutional_mlp.py``:
``LeNetConvPoolLayer``, ``mlp.HiddenLayer``, ``logistic_sgd.LogisticRegression``) computes in
real Theano 1.0.5, for chapter 10 of the migration guide.

Runs in the Theano lab (see /work/shared/theano_lab/README.md)::

    THEANO_FLAGS="floatX=float32,blas.ldflags=,cxx=g++,base_compiledir=$PWD/.cache" \\
        /work/lab/keras1/bin/python migration_guide/data/record_lenet5_tutorial.py migration_guide/data

The network is built exactly as ``evaluate_lenet5`` builds it (``nkerns=[20, 50]``, 28x28
inputs, ``numpy.random.RandomState(23455)`` drawing the weights in the tutorial's order), for a
batch of 5 inputs. Untrained, the tutorial's biases and its ``LogisticRegression`` weights are
zeros; so that every layer matters, they are then filled from ``RandomState(1234)``:
``b0 (20,), b1 (50,), b2 (500,)`` uniform(-0.5, 0.5), ``W3 (500, 10)`` uniform(-0.3, 0.3),
``b3 (10,)`` uniform(-0.5, 0.5). The inputs are ``RandomState(0).uniform(0, 1, (5, 784))``.
Everything is recorded with ``floatX`` float32 and float64 (keys ``float32/...``,
``float64/...``): the input and every layer's output. The weights are not stored: the chapter
draws them with the same NumPy calls (``RandomState`` streams never change).
"""

from __future__ import annotations

import json
import os
import sys

import numpy

sys.path.insert(0, "/work/shared/theano_lab")
try:
    import py311_shims  # noqa: F401
except ImportError:
    pass

import theano  # noqa: E402
import theano.tensor as T  # noqa: E402
from theano.tensor.nnet import conv2d  # noqa: E402
from theano.tensor.signal import pool  # noqa: E402

BATCH = 5
NKERNS = [20, 50]


class LeNetConvPoolLayer:
    """The tutorial's class, verbatim but for the docstrings."""

    def __init__(self, rng, input, filter_shape, image_shape, poolsize=(2, 2)):
        assert image_shape[1] == filter_shape[1]
        self.input = input
        fan_in = numpy.prod(filter_shape[1:])
        fan_out = filter_shape[0] * numpy.prod(filter_shape[2:]) // numpy.prod(poolsize)
        W_bound = numpy.sqrt(6.0 / (fan_in + fan_out))
        self.W = theano.shared(
            numpy.asarray(
                rng.uniform(low=-W_bound, high=W_bound, size=filter_shape), dtype=theano.config.floatX
            ),
            borrow=True,
        )
        b_values = numpy.zeros((filter_shape[0],), dtype=theano.config.floatX)
        self.b = theano.shared(value=b_values, borrow=True)
        conv_out = conv2d(input=input, filters=self.W, filter_shape=filter_shape, input_shape=image_shape)
        pooled_out = pool.pool_2d(input=conv_out, ds=poolsize, ignore_border=True)
        self.output = T.tanh(pooled_out + self.b.dimshuffle("x", 0, "x", "x"))
        self.params = [self.W, self.b]


class HiddenLayer:
    def __init__(self, rng, input, n_in, n_out, W=None, b=None, activation=T.tanh):
        self.input = input
        if W is None:
            W_values = numpy.asarray(
                rng.uniform(
                    low=-numpy.sqrt(6.0 / (n_in + n_out)),
                    high=numpy.sqrt(6.0 / (n_in + n_out)),
                    size=(n_in, n_out),
                ),
                dtype=theano.config.floatX,
            )
            if activation == theano.tensor.nnet.sigmoid:
                W_values *= 4
            W = theano.shared(value=W_values, name="W", borrow=True)
        if b is None:
            b_values = numpy.zeros((n_out,), dtype=theano.config.floatX)
            b = theano.shared(value=b_values, name="b", borrow=True)
        self.W = W
        self.b = b
        lin_output = T.dot(input, self.W) + self.b
        self.output = lin_output if activation is None else activation(lin_output)
        self.params = [self.W, self.b]


class LogisticRegression:
    def __init__(self, input, n_in, n_out):
        self.W = theano.shared(
            value=numpy.zeros((n_in, n_out), dtype=theano.config.floatX), name="W", borrow=True
        )
        self.b = theano.shared(value=numpy.zeros((n_out,), dtype=theano.config.floatX), name="b", borrow=True)
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]
        self.input = input


def record(dtype):
    theano.config.floatX = dtype
    rng = numpy.random.RandomState(23455)
    x = T.matrix("x")
    layer0_input = x.reshape((BATCH, 1, 28, 28))
    layer0 = LeNetConvPoolLayer(
        rng,
        input=layer0_input,
        image_shape=(BATCH, 1, 28, 28),
        filter_shape=(NKERNS[0], 1, 5, 5),
        poolsize=(2, 2),
    )
    layer1 = LeNetConvPoolLayer(
        rng,
        input=layer0.output,
        image_shape=(BATCH, NKERNS[0], 12, 12),
        filter_shape=(NKERNS[1], NKERNS[0], 5, 5),
        poolsize=(2, 2),
    )
    layer2_input = layer1.output.flatten(2)
    layer2 = HiddenLayer(rng, input=layer2_input, n_in=NKERNS[1] * 4 * 4, n_out=500, activation=T.tanh)
    layer3 = LogisticRegression(input=layer2.output, n_in=500, n_out=10)

    fill = numpy.random.RandomState(1234)
    for shared, low in ((layer0.b, 0.5), (layer1.b, 0.5), (layer2.b, 0.5), (layer3.W, 0.3), (layer3.b, 0.5)):
        shape = shared.get_value().shape
        shared.set_value(numpy.asarray(fill.uniform(-low, low, size=shape), dtype=dtype))

    inputs = numpy.asarray(numpy.random.RandomState(0).uniform(0, 1, (BATCH, 784)), dtype=dtype)
    f = theano.function([x], [layer0.output, layer1.output, layer2.output, layer3.p_y_given_x, layer3.y_pred])
    outs = f(inputs)
    names = ["layer0", "layer1", "layer2", "p_y_given_x", "y_pred"]
    return {f"{dtype}/input": inputs, **{f"{dtype}/{n}": numpy.asarray(o) for n, o in zip(names, outs)}}


def main(outdir):
    arrays = {}
    for dtype in ("float32", "float64"):
        arrays.update(record(dtype))
    os.makedirs(outdir, exist_ok=True)
    numpy.savez_compressed(os.path.join(outdir, "lenet5_tutorial_theano.npz"), **arrays)
    meta = {
        "generator": f"migration_guide/data/record_lenet5_tutorial.py; Theano {theano.__version__}, "
        f"cxx={theano.config.cxx!r}, numpy {numpy.__version__}",
        "network": "DeepLearningTutorials convolutional_mlp.py evaluate_lenet5, nkerns=[20, 50], batch 5",
        "seeds": {"weights": 23455, "biases_and_logistic": 1234, "input": 0},
        "arrays": {k: [list(v.shape), str(v.dtype)] for k, v in arrays.items()},
    }
    with open(os.path.join(outdir, "lenet5_tutorial_theano.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
    print(meta["arrays"])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
