"""Record what real Lasagne 0.2.dev1 on Theano 1.0.5 computes for one small network per case.

Run in the Lasagne lab (see ../shared/theano_lab/README.md), from the repository root:

    THEANO_FLAGS="floatX=float32,blas.ldflags=,cxx=g++,base_compiledir=/work/lab/cache-i11" \\
        /work/lab/lasagne/bin/python tests/data/record_lasagne_layers.py tests/data/lasagne_layers

It writes ``lasagne_layers.npz`` (``<case>/input``, ``<case>/param<i>`` in get_all_params order,
``<case>/output``) and ``lasagne_layers.json`` (every case: its code, input shapes, options).
A case's ``code`` is Python evaluated with ``inp`` (the InputLayer; ``inps`` for several inputs),
``L`` (``lasagne.layers``), ``nl`` (``lasagne.nonlinearities``) and ``F`` (reductions and
element-wise functions: Theano's here, NumPy's in the tests), so the same text builds the network
in the mirror. Parameters are set to random values (not the initial ones) before running.
"""

import json
import sys
import types

import numpy as np

try:
    import theano_lab_py311  # noqa: F401  (the lab's Python 3.11 shims)
except ImportError:
    pass
import lasagne
import lasagne.layers as L
import lasagne.nonlinearities as nl
import theano
import theano.tensor as T

F = types.SimpleNamespace(max=T.max, mean=T.mean, mul=T.mul, maximum=T.maximum, sqr=T.sqr)

# (name, input shape(s), code, options)
CASES = [
    # convolutions
    ("conv1d_same", (2, 3, 9), "L.Conv1DLayer(inp, 4, 3, pad='same')", {}),
    ("conv1d_int_stride", (2, 3, 10), "L.Conv1DLayer(inp, 4, 4, stride=2, pad=2, nonlinearity=None)", {}),
    (
        "conv1d_full_untied_noflip",
        (2, 4, 7),
        "L.Conv1DLayer(inp, 2, 3, pad='full', untie_biases=True, flip_filters=False, nonlinearity=nl.tanh)",
        {},
    ),
    ("conv1d_groups", (2, 4, 8), "L.Conv1DLayer(inp, 6, 3, num_groups=2, nonlinearity=None)", {}),
    ("conv2d_valid", (2, 3, 7, 8), "L.Conv2DLayer(inp, 4, (3, 2), nonlinearity=None)", {}),
    (
        "conv2d_full_stride",
        (2, 3, 7, 8),
        "L.Conv2DLayer(inp, 4, (2, 3), stride=(2, 3), pad='full', nonlinearity=None)",
        {},
    ),
    ("conv2d_same", (2, 3, 7, 8), "L.Conv2DLayer(inp, 5, (5, 3), pad='same')", {}),
    (
        "conv2d_int_pad_noflip",
        (2, 3, 7, 8),
        "L.Conv2DLayer(inp, 4, 3, stride=2, pad=1, flip_filters=False, nonlinearity=None)",
        {},
    ),
    (
        "conv2d_tuple_pad_untied",
        (2, 3, 6, 7),
        "L.Conv2DLayer(inp, 4, (3, 3), pad=(1, 2), untie_biases=True, nonlinearity=None)",
        {},
    ),
    (
        "conv2d_groups",
        (2, 4, 6, 6),
        "L.Conv2DLayer(inp, 6, 3, num_groups=2, flip_filters=False, nonlinearity=None)",
        {},
    ),
    ("conv2d_no_bias", (2, 3, 6, 6), "L.Conv2DLayer(inp, 4, 3, b=None, nonlinearity=nl.leaky_rectify)", {}),
    ("conv3d_same", (2, 2, 5, 6, 4), "L.Conv3DLayer(inp, 3, 3, pad='same', nonlinearity=None)", {}),
    (
        "conv3d_stride_full",
        (2, 2, 5, 6, 4),
        "L.Conv3DLayer(inp, 3, (2, 3, 2), stride=(1, 2, 2), pad='full', flip_filters=False, nonlinearity=None)",
        {},
    ),
    (
        "dilated_conv2d",
        (2, 3, 11, 10),
        "L.DilatedConv2DLayer(inp, 4, (3, 2), dilation=(2, 3), nonlinearity=None)",
        {},
    ),
    ("tconv2d_stride", (2, 3, 4, 5), "L.TransposedConv2DLayer(inp, 4, 3, stride=2, nonlinearity=None)", {}),
    (
        "tconv2d_crop_same_flip",
        (2, 3, 4, 5),
        "L.TransposedConv2DLayer(inp, 2, (3, 5), crop='same', flip_filters=True, nonlinearity=None)",
        {},
    ),
    (
        "tconv2d_crop_full",
        (2, 3, 6, 6),
        "L.TransposedConv2DLayer(inp, 2, 3, crop='full', nonlinearity=None)",
        {},
    ),
    (
        "tconv2d_output_size",
        (2, 3, 4, 4),
        "L.TransposedConv2DLayer(inp, 2, 3, stride=2, crop=1, output_size=8, nonlinearity=None)",
        {},
    ),
    (
        "tconv2d_untied",
        (2, 3, 4, 4),
        "L.Deconv2DLayer(inp, 2, 2, stride=(2, 1), crop=(0, 1), untie_biases=True, nonlinearity=None)",
        {},
    ),
    (
        "tconv3d_stride",
        (2, 2, 3, 4, 3),
        "L.TransposedConv3DLayer(inp, 3, 2, stride=2, crop=0, nonlinearity=None)",
        {},
    ),
    # pooling
    ("maxpool1d", (2, 3, 9), "L.MaxPool1DLayer(inp, 3, stride=2, pad=1)", {}),
    (
        "pool1d_avg_border",
        (2, 3, 9),
        "L.Pool1DLayer(inp, 2, ignore_border=False, mode='average_inc_pad')",
        {},
    ),
    ("maxpool2d_ceil", (2, 3, 7, 8), "L.MaxPool2DLayer(inp, (3, 2), stride=(2, 1), ignore_border=False)", {}),
    ("pool2d_sum", (2, 3, 7, 8), "L.Pool2DLayer(inp, 2, mode='sum')", {}),
    (
        "pool2d_inc_pad",
        (2, 3, 7, 8),
        "L.Pool2DLayer(inp, 3, stride=2, pad=(1, 2), mode='average_inc_pad')",
        {},
    ),
    ("pool2d_exc_pad", (2, 3, 7, 8), "L.Pool2DLayer(inp, 3, stride=2, pad=1, mode='average_exc_pad')", {}),
    (
        "maxpool3d_pad",
        (2, 2, 5, 6, 7),
        "L.MaxPool3DLayer(inp, (2, 3, 3), stride=(1, 2, 2), pad=(1, 1, 1))",
        {},
    ),
    ("pool3d_exc_pad", (2, 2, 5, 6, 7), "L.Pool3DLayer(inp, 3, stride=2, pad=1, mode='average_exc_pad')", {}),
    (
        "pool3d_inc_border",
        (2, 2, 5, 6, 7),
        "L.Pool3DLayer(inp, 2, ignore_border=False, mode='average_inc_pad')",
        {},
    ),
    ("globalpool_mean", (2, 3, 4, 5), "L.GlobalPoolLayer(inp)", {}),
    ("globalpool_max_3d", (2, 3, 2, 4, 5), "L.GlobalPoolLayer(inp, pool_function=F.max)", {}),
    ("upscale1d_dilate", (2, 3, 4), "L.Upscale1DLayer(inp, 3, mode='dilate')", {}),
    ("upscale2d_repeat", (2, 3, 3, 4), "L.Upscale2DLayer(inp, (2, 3))", {}),
    ("upscale2d_dilate", (2, 3, 3, 4), "L.Upscale2DLayer(inp, 2, mode='dilate')", {}),
    ("upscale3d_repeat", (2, 2, 2, 3, 2), "L.Upscale3DLayer(inp, (1, 2, 3))", {}),
    ("featurepool", (2, 6, 3), "L.FeaturePoolLayer(inp, 3)", {}),
    ("featurewta", (2, 6, 3), "L.FeatureWTALayer(inp, 2)", {}),
    # dense
    ("dense", (3, 2, 3, 4), "L.DenseLayer(inp, 5, nonlinearity=nl.sigmoid)", {}),
    ("dense_leading2", (3, 2, 3, 4), "L.DenseLayer(inp, 5, num_leading_axes=2, nonlinearity=None)", {}),
    (
        "dense_leading_neg",
        (3, 2, 3, 4),
        "L.DenseLayer(inp, 5, num_leading_axes=-1, b=None, nonlinearity=None)",
        {},
    ),
    ("nin", (2, 3, 4, 5), "L.NINLayer(inp, 4, nonlinearity=None)", {}),
    ("nin_untied", (2, 3, 4, 5), "L.NINLayer(inp, 4, untie_biases=True)", {}),
    ("embedding", (2, 5), "L.EmbeddingLayer(inp, 7, 3)", {"int_input": 7}),
    # normalization
    ("batchnorm_det", (4, 3, 5, 5), "L.BatchNormLayer(inp, epsilon=1e-3)", {}),
    ("batchnorm_batchstats", (4, 3, 5, 5), "L.BatchNormLayer(inp)", {"deterministic": False}),
    ("batchnorm_axes0_no_affine", (6, 4), "L.BatchNormLayer(inp, axes=0, beta=None, gamma=None)", {}),
    ("batch_norm_helper", (2, 3, 6, 6), "L.batch_norm(L.Conv2DLayer(inp, 4, 3, name='c'))", {}),
    (
        "lrn",
        (2, 7, 4, 4),
        "L.LocalResponseNormalization2DLayer(inp, alpha=0.3, k=1.5, beta=0.6, n=3)",
        {"scale": 3.0},
    ),
    ("lrn_default", (2, 6, 3, 3), "L.LocalResponseNormalization2DLayer(inp)", {"scale": 20.0}),
    ("standardization", (2, 3, 4, 5), "L.StandardizationLayer(inp)", {}),
    ("instance_norm", (2, 3, 4, 5), "L.instance_norm(L.Conv2DLayer(inp, 4, 3))", {}),
    ("layer_norm", (3, 6), "L.layer_norm(L.DenseLayer(inp, 4))", {}),
    # special
    ("bias_auto", (2, 3, 4, 5), "L.BiasLayer(inp)", {}),
    ("bias_shared", (2, 3, 4, 5), "L.BiasLayer(inp, shared_axes=(0, 2))", {}),
    ("scale", (2, 3, 4, 5), "L.ScaleLayer(inp, shared_axes=(0, 1))", {}),
    (
        "standardize",
        (2, 3, 4),
        "L.standardize(inp, np.array([1.0, -2.0, 0.5], np.float32), np.array([2.0, 0.5, 4.0], np.float32))",
        {},
    ),
    ("expression", (2, 3, 4), "L.ExpressionLayer(inp, lambda x: x * 2 + 1)", {}),
    (
        "expression_auto",
        (2, 6, 4),
        "L.ExpressionLayer(inp, lambda x: x[:, ::2] ** 2, output_shape='auto')",
        {},
    ),
    ("prelu_auto", (2, 3, 4, 5), "L.ParametricRectifierLayer(inp)", {}),
    ("prelu_all", (2, 3, 4), "L.ParametricRectifierLayer(inp, shared_axes='all')", {}),
    ("prelu_helper", (2, 3, 5, 5), "L.prelu(L.Conv2DLayer(inp, 4, 3), shared_axes=(0, 2, 3))", {}),
    # noise (deterministic)
    ("dropout", (2, 3, 4), "L.DropoutLayer(inp, p=0.3)", {}),
    ("spatial_dropout", (2, 3, 4, 4), "L.spatial_dropout(inp, p=0.5)", {}),
    ("gaussian_noise", (2, 3), "L.GaussianNoiseLayer(inp, sigma=1.0)", {}),
    # shape
    ("flatten3", (2, 3, 4, 5), "L.FlattenLayer(inp, outdim=3)", {}),
    ("reshape", (2, 3, 4, 5), "L.ReshapeLayer(inp, ([0], -1, [1]))", {}),
    ("dimshuffle", (2, 1, 4, 5), "L.DimshuffleLayer(inp, (0, 3, 'x', 2))", {}),
    ("pad_int_val", (2, 3, 4, 5), "L.PadLayer(inp, 2, val=1.5)", {}),
    ("pad_batch_ndim1", (2, 3, 4), "L.PadLayer(inp, [1, (0, 2)], batch_ndim=1)", {}),
    ("slice_int", (2, 3, 4, 5), "L.SliceLayer(inp, 1, axis=2)", {}),
    ("slice_step", (2, 6, 4), "L.SliceLayer(inp, slice(None, None, -2), axis=1)", {}),
    # merge
    ("concat_axis_last", [(2, 3, 4), (2, 3, 2)], "L.ConcatLayer(inps, axis=-1)", {}),
    (
        "concat_cropping",
        [(2, 3, 5, 6), (2, 2, 4, 7)],
        "L.ConcatLayer(inps, axis=1, cropping=[None, None, 'center', 'upper'])",
        {},
    ),
    ("sum_coeffs", [(2, 3, 4), (2, 3, 4), (2, 3, 4)], "L.ElemwiseSumLayer(inps, coeffs=[1, -0.5, 2.0])", {}),
    (
        "merge_max_cropping",
        [(2, 3, 5), (2, 3, 4)],
        "L.ElemwiseMergeLayer(inps, F.maximum, cropping=[None, None, 'lower'])",
        {},
    ),
    ("merge_mul", [(2, 3), (2, 3)], "L.ElemwiseMergeLayer(inps, F.mul)", {}),
]

NONLINEARITIES = [
    "sigmoid",
    "softmax",
    "tanh",
    "ScaledTanH(2.0, 0.5)",
    "rectify",
    "leaky_rectify",
    "very_leaky_rectify",
    "LeakyRectify(0.2)",
    "elu",
    "selu",
    "SELU(2.0, 0.5)",
    "softplus",
    "linear",
]
for i, name in enumerate(NONLINEARITIES):
    CASES.append((f"nonlinearity_{i:02d}", (3, 8), f"L.NonlinearityLayer(inp, nl.{name})", {"scale": 20.0}))


def main(out_prefix):
    rng = np.random.RandomState(20260)
    lasagne.random.set_rng(np.random.RandomState(7))
    arrays, meta = {}, []
    for name, shapes, code, opts in CASES:
        multi = isinstance(shapes, list)
        shape_list = shapes if multi else [shapes]
        int_input = opts.get("int_input")
        inps = [
            L.InputLayer((None,) + tuple(s[1:]), input_var=T.imatrix() if int_input else None)
            for s in shape_list
        ]
        env = {"L": L, "nl": nl, "F": F, "np": np, "inp": inps[0], "inps": inps}
        net = eval(code, env)
        params = lasagne.layers.get_all_params(net)
        values = [rng.normal(0, 0.5, p.get_value().shape).astype(np.float32) for p in params]
        for p, v in zip(params, values):
            if p.name and p.name.endswith("inv_std"):
                v[...] = np.abs(v) + 0.5
        lasagne.layers.set_all_param_values(net, values)
        if int_input:
            xs = [rng.randint(0, int_input, s).astype(np.int32) for s in shape_list]
        else:
            xs = [(rng.normal(0, 1, s) * opts.get("scale", 1.0)).astype(np.float32) for s in shape_list]
        det = opts.get("deterministic", True)
        out = lasagne.layers.get_output(net, {i: x for i, x in zip(inps, xs)}, deterministic=det)
        fn = theano.function([], out)
        y = np.asarray(fn())
        for i, x in enumerate(xs):
            arrays[f"{name}/input{i}"] = x
        for i, v in enumerate(values):
            arrays[f"{name}/param{i}"] = v
        arrays[f"{name}/output"] = y
        meta.append(
            {
                "name": name,
                "code": code,
                "input_shapes": [list(s) for s in shape_list],
                "deterministic": det,
                "params": [{"name": p.name, "shape": list(p.get_value().shape)} for p in params],
                "output_shape": list(y.shape),
                "output_dtype": str(y.dtype),
            }
        )
        print(name, y.shape, y.dtype)
    np.savez_compressed(out_prefix + ".npz", **arrays)
    with open(out_prefix + ".json", "w") as fh:
        json.dump(
            {
                "recorded_with": {
                    "lasagne": lasagne.__version__,
                    "theano": theano.__version__,
                    "numpy": np.__version__,
                    "floatX": theano.config.floatX,
                },
                "script": "tests/data/record_lasagne_layers.py",
                "cases": meta,
            },
            fh,
            indent=1,
        )


if __name__ == "__main__":
    main(sys.argv[1])
