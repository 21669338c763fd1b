"""Record small extra Keras-on-Theano models for layers the shared zoo does not cover.

Run in a Theano lab venv (../shared/theano_lab/README.md); it builds the models of the Keras that is
installed (Keras 1.2.2 -> ``k1x_*``, Keras 2.2.5 -> ``k2x_*``) into ``tests/data/keras_extra/``::

    export KERAS_BACKEND=theano THEANO_FLAGS="floatX=float32,blas.ldflags=,cxx=g++,base_compiledir=/work/lab/cache-F"
    /work/lab/keras1/bin/python tests/data/record_keras_extra.py tests/data/keras_extra
    /work/lab/keras2/bin/python tests/data/record_keras_extra.py tests/data/keras_extra

Each model is saved, recorded and reloaded by ``keras_lab.finish`` (not trained: random weights,
random biases), exactly like the shared zoo; ``k1x_sequential_merge`` (two inputs) is recorded by its
own function and belongs in ``tests/data/keras_multi_input/``.
"""

import json
import os
import sys

sys.dont_write_bytecode = True
LAB = os.environ.get("THEANO_LAB", "/work/shared/theano_lab")
sys.path.insert(0, LAB)
import keras_lab  # noqa: E402  (applies the Python 3.11 shims, then imports keras)
import numpy as np  # noqa: E402
from forked import run_forked  # noqa: E402
from keras import backend as K  # noqa: E402
from keras_lab import KERAS1, finish, keras, reset_uids  # noqa: E402

SEEDS = {
    "k1x_seq": 8101,
    "k1x_volume": 8102,
    "k1x_masked_rnn": 8103,
    "k1x_bn_mode2": 8104,
    "k1x_dense_family": 8105,
    "k1x_sequential_merge": 8106,
    "k2x_seq": 8201,
    "k2x_volume": 8202,
    "k2x_image": 8203,
    "k2x_nested": 8204,
}


def keras1_models():
    from keras.layers import (
        GRU,
        LSTM,
        Activation,
        AtrousConvolution1D,
        AveragePooling1D,
        BatchNormalization,
        Convolution1D,
        Convolution2D,
        Convolution3D,
        Cropping1D,
        Cropping3D,
        Dense,
        Embedding,
        Flatten,
        GaussianDropout,
        GaussianNoise,
        GlobalAveragePooling3D,
        GlobalMaxPooling3D,
        Input,
        Masking,
        MaxPooling1D,
        MaxPooling3D,
        RepeatVector,
        Reshape,
        SimpleRNN,
        SpatialDropout1D,
        UpSampling1D,
        UpSampling3D,
        ZeroPadding1D,
        ZeroPadding3D,
        merge,
    )
    from keras.models import Model, Sequential

    def seq(name, out, rng, seed):
        m = Sequential()
        m.add(ZeroPadding1D(padding=(1, 2), input_shape=(10, 6), name="pad1d"))
        m.add(Cropping1D(cropping=(2, 1), name="crop1d"))
        m.add(UpSampling1D(length=2, name="up1d"))
        m.add(
            AtrousConvolution1D(
                5, 3, atrous_rate=2, border_mode="same", activation="softsign", name="atrous1d"
            )
        )
        m.add(MaxPooling1D(pool_length=3, stride=2, border_mode="same", name="maxpool_same3"))
        m.add(AveragePooling1D(pool_length=2, stride=1, border_mode="same", name="avgpool_same"))
        m.add(Convolution1D(6, 2, border_mode="full", activation="hard_sigmoid", name="conv_full"))
        m.add(SpatialDropout1D(0.3, name="sdrop1d"))
        m.add(Masking(0.0, name="mask"))
        m.add(SimpleRNN(5, return_sequences=True, go_backwards=True, name="srnn_back"))
        m.add(GRU(4, consume_less="cpu", name="gru_cpu"))
        m.add(RepeatVector(3, name="repeat"))
        m.add(Reshape((-1,), name="flat_by_reshape"))
        m.add(GaussianNoise(0.5, name="noise"))
        m.add(Dense(4, activation="softplus", name="out"))
        finish(
            m,
            name,
            out,
            rng,
            seed=seed,
            train=False,
            covers=[
                "ZeroPadding1D/Cropping1D/UpSampling1D; AtrousConvolution1D same; MaxPooling1D same pool 3; "
                "AveragePooling1D same; Convolution1D full; SpatialDropout1D; Masking; SimpleRNN go_backwards; "
                "GRU consume_less=cpu (per-gate weights); RepeatVector; Reshape(-1); "
                "GaussianNoise; softsign/hard_sigmoid/softplus activations"
            ],
        )

    def volume(name, out, rng, seed):
        inp = Input(shape=(2, 6, 7, 8), name="vol")
        x = ZeroPadding3D(padding=(1, 0, 2), name="pad3d")(inp)
        x = Convolution3D(4, 2, 3, 2, border_mode="valid", subsample=(2, 1, 1), name="conv3d_s211")(x)
        x = UpSampling3D(size=(1, 2, 1), name="up3d")(x)
        x = Cropping3D(cropping=((1, 0), (0, 2), (1, 1)), name="crop3d")(x)
        x = MaxPooling3D(pool_size=(3, 2, 2), strides=(1, 2, 2), border_mode="valid", name="max3d")(x)
        a = GlobalMaxPooling3D(name="gmax3d")(x)
        b = GlobalAveragePooling3D(name="gavg3d")(x)
        ab = merge([a, b], mode="concat", name="m_cat")
        h = Dense(5, activation="tanh", name="fc")(ab)
        h = GaussianDropout(0.3, name="gdrop")(h)
        h2 = Dense(5, name="fc2")(h)
        h = merge([h, h2], mode="concat", name="m_cat2")
        h = Activation("softmax", name="soft")(h)
        finish(
            Model(inp, [h]),
            name,
            out,
            rng,
            seed=seed,
            train=False,
            covers=[
                "ZeroPadding3D; Convolution3D subsample (2,1,1); UpSampling3D; Cropping3D; MaxPooling3D with "
                "strides; GlobalMax/AveragePooling3D; GaussianDropout (merge dot/cos are not recorded: Theano's "
                "BatchedDot needs a system BLAS the lab does not link)"
            ],
        )

    def masked_rnn(name, out, rng, seed):
        m = Sequential()
        m.add(Embedding(4, 5, input_length=9, mask_zero=True, name="embed_mask"))
        m.add(LSTM(4, consume_less="gpu", return_sequences=True, name="lstm_gpu"))
        m.add(GRU(3, consume_less="mem", go_backwards=True, name="gru_mem_back"))
        m.add(Dense(2, name="out"))
        finish(
            m,
            name,
            out,
            rng,
            seed=seed,
            train=False,
            covers=[
                "Embedding mask_zero=True (ids below 4: many zeros) masking an LSTM (consume_less=gpu) and a "
                "GRU (consume_less=mem, go_backwards)"
            ],
        )

    def bn_mode2(name, out, rng, seed):
        m = Sequential()
        m.add(Convolution2D(4, 3, 3, border_mode="same", input_shape=(3, 6, 5), name="conv"))
        m.add(BatchNormalization(mode=2, axis=1, name="bn2_images"))
        m.add(Flatten(name="flat"))
        m.add(Dense(6, name="fc"))
        m.add(BatchNormalization(mode=2, axis=-1, epsilon=0.01, name="bn2_dense"))
        m.add(Dense(3, activation="softmax", name="out"))
        finish(
            m,
            name,
            out,
            rng,
            seed=seed,
            train=False,
            covers=[
                "BatchNormalization mode=2 (the batch's own statistics, in inference too) on images (axis=1) "
                "and on a Dense output (axis=-1, epsilon=0.01)"
            ],
        )

    def dense_family(name, out, rng, seed):
        from keras.layers import Highway, MaxoutDense, TimeDistributedDense

        m = Sequential()
        m.add(Highway(activation="tanh", input_shape=(6,), name="highway"))
        m.add(MaxoutDense(5, nb_feature=3, name="maxout"))
        m.add(RepeatVector(4, name="repeat"))
        m.add(TimeDistributedDense(3, activation="relu", name="tdd"))
        m.add(Flatten(name="flat"))
        m.add(Dense(2, activation="sigmoid", name="out"))
        finish(
            m,
            name,
            out,
            rng,
            seed=seed,
            train=False,
            covers=["Keras-1 Highway (tanh), MaxoutDense (nb_feature=3), TimeDistributedDense (relu)"],
        )

    def sequential_merge(name, out, rng, seed):
        # Keras 1's Sequential([Merge([branch, ...]), ...]): one input per branch, which keras_lab's
        # single-input recorder does not handle: recorded here (input_0, input_1, layerNN_*, output)
        from keras.layers import Merge
        from keras.models import load_model

        left = Sequential()
        left.add(Dense(5, input_dim=4, activation="tanh", name="l_fc"))
        right = Sequential()
        right.add(Convolution2D(2, 3, 3, border_mode="same", input_shape=(1, 5, 5), name="r_conv"))
        right.add(Flatten(name="r_flat"))
        m = Sequential()
        m.add(Merge([left, right], mode="concat", name="joined"))
        m.add(Dense(3, name="fc"))
        m.add(Activation("softmax", name="soft"))
        keras_lab.randomise(m, rng)
        files, saved_with = keras_lab.save_model(m, name, out)
        xs = [rng.normal(0, 1, (4,) + tuple(s[1:])).astype("float32") for s in m.input_shape]
        f = K.function(list(m.inputs) + [K.learning_phase()], [layer.output for layer in m.layers])
        arrays = {f"input_{i}": x for i, x in enumerate(xs)}
        for i, (layer, value) in enumerate(zip(m.layers, f(xs + [0]))):
            arrays[f"layer{i:02d}_{layer.name}"] = value
        arrays["output"] = m.predict(xs)
        np.savez(os.path.join(out, name + "_reference.npz"), **arrays)
        again = load_model(os.path.join(out, files[0])).predict(xs)
        assert np.array_equal(again, arrays["output"]), "the reload does not reproduce the output"
        meta = {
            "keras": keras.__version__,
            "backend": K.backend(),
            "model_class": "Sequential",
            "saved_with": saved_with,
            "files": files + [name + "_reference.npz", name + "_reference.json"],
            "input_shape": [list(s[1:]) for s in m.input_shape],
            "layer_classes": [{"name": layer.name, "class": type(layer).__name__} for layer in m.layers],
            "recorded": list(arrays),
            "covers": [
                "Keras-1 Sequential whose first layer is Merge([Sequential, Sequential], mode='concat')"
            ],
            "reload_check": f"reloaded with Keras {keras.__version__}: predict() reproduced exactly",
        }
        with open(os.path.join(out, name + "_reference.json"), "w") as fh:
            json.dump(meta, fh, indent=1)
        print(f"{name:<24} {len(m.layers)} layers, {len(arrays)} arrays, reload exact", flush=True)

    return {
        "k1x_sequential_merge": sequential_merge,
        "k1x_seq": seq,
        "k1x_volume": volume,
        "k1x_masked_rnn": masked_rnn,
        "k1x_bn_mode2": bn_mode2,
        "k1x_dense_family": dense_family,
    }


def keras2_models():
    from keras.layers import (
        GRU,
        LSTM,
        AlphaDropout,
        Average,
        AveragePooling1D,
        AveragePooling3D,
        Concatenate,
        Conv1D,
        Conv2D,
        Conv3D,
        Cropping1D,
        Cropping2D,
        Cropping3D,
        Dense,
        Flatten,
        GaussianNoise,
        GlobalAveragePooling2D,
        GlobalAveragePooling3D,
        GlobalMaxPooling1D,
        Input,
        LeakyReLU,
        MaxPooling3D,
        Minimum,
        Multiply,
        Permute,
        PReLU,
        ReLU,
        Reshape,
        SimpleRNN,
        Softmax,
        TimeDistributed,
        UpSampling1D,
        UpSampling3D,
        ZeroPadding1D,
        ZeroPadding2D,
        ZeroPadding3D,
    )
    from keras.models import Model, Sequential

    def seq(name, out, rng, seed):
        inp = Input(shape=(12, 4), name="series")
        x = ZeroPadding1D(padding=(2, 1), name="pad1d")(inp)
        x = Cropping1D(cropping=(1, 2), name="crop1d")(x)
        x = UpSampling1D(size=2, name="up1d")(x)
        x = Conv1D(6, 3, padding="same", strides=2, activation="relu", name="conv_same_s2")(x)
        x = AveragePooling1D(pool_size=3, strides=1, padding="same", name="avg_same")(x)
        g = GRU(5, return_sequences=True, name="gru")(x)
        s = SimpleRNN(5, return_sequences=True, go_backwards=True, activation="relu", name="srnn_back")(x)
        m = Minimum(name="min")([g, s])
        p = Multiply(name="mul")([g, s])
        t = TimeDistributed(Dense(4, activation="sigmoid"), name="td")(m)
        last = LSTM(4, go_backwards=True, recurrent_activation="sigmoid", name="lstm_back")(t)
        q = GlobalMaxPooling1D(name="gmax")(p)
        q = Dense(4, name="q")(q)
        y = Average(name="avg")([last, q])
        finish(
            Model(inp, y),
            name,
            out,
            rng,
            seed=seed,
            train=False,
            covers=[
                "ZeroPadding1D/Cropping1D/UpSampling1D; Conv1D same stride 2; AveragePooling1D same; GRU; "
                "SimpleRNN go_backwards relu; Minimum; Multiply; TimeDistributed(Dense); LSTM go_backwards "
                "sigmoid gates; GlobalMaxPooling1D; Average"
            ],
        )

    def volume(name, out, rng, seed):
        m = Sequential()
        m.add(ZeroPadding3D(padding=((1, 0), (0, 2), (1, 1)), input_shape=(2, 7, 6, 5), name="pad3d"))
        m.add(Conv3D(4, (2, 3, 2), strides=(2, 1, 2), padding="same", name="conv3d_same_even"))
        m.add(UpSampling3D(size=(2, 1, 2), name="up3d"))
        m.add(Cropping3D(cropping=((0, 1), (1, 0), (2, 1)), name="crop3d"))
        m.add(MaxPooling3D(pool_size=(2, 3, 2), strides=(1, 2, 2), padding="same", name="max3d_same"))
        m.add(AveragePooling3D(pool_size=(2, 2, 1), padding="valid", name="avg3d"))
        m.add(GlobalAveragePooling3D(name="gavg3d"))
        m.add(Dense(3, activation="softmax", name="out"))
        finish(
            m,
            name,
            out,
            rng,
            seed=seed,
            train=False,
            covers=[
                "ZeroPadding3D asymmetric; Conv3D same even kernel with strides; UpSampling3D; Cropping3D; "
                "MaxPooling3D same; AveragePooling3D; GlobalAveragePooling3D"
            ],
        )

    def image(name, out, rng, seed):
        m = Sequential()
        m.add(
            Conv2D(
                6,
                (3, 2),
                dilation_rate=(2, 1),
                padding="valid",
                use_bias=False,
                input_shape=(3, 11, 10),
                name="conv_dilated_nobias",
            )
        )
        m.add(LeakyReLU(0.1, name="leaky"))
        m.add(Conv2D(5, (2, 2), strides=(1, 2), padding="same", name="conv_same_even"))
        m.add(PReLU(shared_axes=[2, 3], name="prelu_shared"))
        m.add(ReLU(name="relu_layer"))
        m.add(AlphaDropout(0.2, name="adrop"))
        m.add(GaussianNoise(0.3, name="noise"))
        m.add(Permute((3, 1, 2), name="permute"))
        m.add(Reshape((-1, 5), name="reshape"))
        m.add(Softmax(axis=1, name="softmax_axis1"))
        m.add(Flatten(name="flat"))
        m.add(Dense(4, activation="selu", name="out"))
        finish(
            m,
            name,
            out,
            rng,
            seed=seed,
            train=False,
            covers=[
                "Conv2D dilation_rate valid without bias; LeakyReLU; Conv2D same even kernel stride (1,2); PReLU "
                "shared_axes; ReLU and Softmax layers; AlphaDropout; GaussianNoise; Permute; Reshape(-1); "
                "Flatten; selu"
            ],
        )

    def nested(name, out, rng, seed):
        tower = Sequential(name="tower")
        tower.add(Conv2D(4, (3, 3), padding="same", activation="relu", input_shape=(2, 8, 8), name="t_conv"))
        tower.add(GlobalAveragePooling2D(name="t_gap"))
        inner_in = Input(shape=(4,), name="h_in")
        head = Model(inner_in, Dense(3, activation="tanh", name="h_fc")(inner_in), name="head")
        inp = Input(shape=(2, 8, 8), name="pair")
        left = tower(inp)
        right = tower(
            Cropping2D(((1, 1), (2, 0)), name="crop")(ZeroPadding2D(((1, 1), (0, 2)), name="pad")(inp))
        )
        shared = Dense(4, name="shared_fc")
        merged = Concatenate(name="cat")([head(shared(left)), head(shared(right))])
        finish(
            Model(inp, merged),
            name,
            out,
            rng,
            seed=seed,
            train=False,
            covers=[
                "Keras 2 nested Sequential applied twice; nested functional Model applied twice; a Dense shared "
                "by two applications (_node1 keys); ZeroPadding2D / Cropping2D asymmetric; GlobalAveragePooling2D"
            ],
        )

    return {"k2x_seq": seq, "k2x_volume": volume, "k2x_image": image, "k2x_nested": nested}


def build_one(build, name, outdir):
    seed = SEEDS[name]
    np.random.seed(seed)  # noqa: NPY002  (Keras draws its initial weights from the global generator)
    reset_uids()
    build(name, outdir, np.random.RandomState(seed + 1), seed)


def main():
    outdir = sys.argv[1]
    only = sys.argv[2:]
    builders = keras1_models() if KERAS1 else keras2_models()
    failed = []
    for name, build in builders.items():
        if only and name not in only:
            continue
        err = run_forked(build_one, build, name, outdir)
        if err:
            print(f"{name:<24} {err}", flush=True)
            failed.append(name)
    if failed:
        sys.exit("failed: " + " ".join(failed))


if __name__ == "__main__":
    main()
