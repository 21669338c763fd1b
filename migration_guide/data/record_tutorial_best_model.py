"""Write what the Theano tutorial's ``logistic_sgd.py`` saved as ``best_model.pkl`` (its trained
``LogisticRegression``, pickled with ``pickle.dump(classifier, f)``), with fixed weights, and
record the classifier's predictions from real Theano 1.0.5, for chapter 10 of the migration guide.

Runs in the Theano lab (see /work/shared/theano_lab/README.md)::

    THEANO_FLAGS="floatX=float32,blas.ldflags=,cxx=g++,base_compiledir=$PWD/.cache" \\
        /work/lab/keras1/bin/python migration_guide/data/record_tutorial_best_model.py migration_guide/data

The class lives in a module named ``logistic_sgd`` (as in the tutorial), so the pickle names the
global ``logistic_sgd.LogisticRegression``. ``W (784, 10)`` and ``b (10,)`` are drawn from
``RandomState(1)``, uniform(-0.1, 0.1); the inputs are ``RandomState(0).uniform(0, 1, (5, 784))``.
Writes ``tutorial_best_model.pkl`` and ``tutorial_best_model_theano.npz`` (``input``,
``p_y_given_x``, ``y_pred``).
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile

import numpy

sys.path.insert(0, "/work/shared/theano_lab")
try:
    import py311_shims  # noqa: F401
except ImportError:
    pass

import theano  # noqa: E402

LOGISTIC_SGD = """
import numpy
import theano
import theano.tensor as T


class LogisticRegression(object):
    def __init__(self, input, n_in, n_out):
        self.W = theano.shared(value=numpy.zeros((n_in, n_out), dtype=theano.config.floatX), name="W", borrow=True)
        self.b = theano.shared(value=numpy.zeros((n_out,), dtype=theano.config.floatX), name="b", borrow=True)
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]
        self.input = input
"""


def main(outdir):
    module_dir = tempfile.mkdtemp()
    with open(os.path.join(module_dir, "logistic_sgd.py"), "w") as fh:
        fh.write(LOGISTIC_SGD)
    sys.path.insert(0, module_dir)
    import theano.tensor as T
    from logistic_sgd import LogisticRegression

    x = T.matrix("x")
    classifier = LogisticRegression(input=x, n_in=28 * 28, n_out=10)
    rng = numpy.random.RandomState(1)
    classifier.W.set_value(numpy.asarray(rng.uniform(-0.1, 0.1, (784, 10)), dtype=theano.config.floatX))
    classifier.b.set_value(numpy.asarray(rng.uniform(-0.1, 0.1, (10,)), dtype=theano.config.floatX))
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "tutorial_best_model.pkl"), "wb") as f:
        pickle.dump(classifier, f)
    inputs = numpy.asarray(numpy.random.RandomState(0).uniform(0, 1, (5, 784)), dtype=theano.config.floatX)
    predict = theano.function([x], [classifier.p_y_given_x, classifier.y_pred])
    p, y = predict(inputs)
    numpy.savez(os.path.join(outdir, "tutorial_best_model_theano.npz"), input=inputs, p_y_given_x=p, y_pred=y)
    print(p.shape, y)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
