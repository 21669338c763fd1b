"""Weight files: reading (.npz named/positional, Keras-1 HDF5), safety, atomic writes, Keras-1 geometry."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legacyconv import LegacyconvError
from legacyconv.frontends import load_graph
from legacyconv.io import (
    ArrayInfo,
    UnsupportedLayerError,
    WeightFile,
    atomic_write,
    load_weights,
    save_weights,
)
from legacyconv.io.keras1 import conv_pads_keras1, pool_geometry_keras1

h5py = pytest.importorskip("h5py")

EXAMPLES = Path(__file__).resolve().parents[1] / "legacyconv" / "examples"
LENET = EXAMPLES / "keras1_theano_lenet.h5"


# --------------------------------------------------------------------------- helpers


def write_keras1(path, layers, weights, input_shape=(1, 8, 8), version=b"1.2.2"):
    """Write an HDF5 file laid out as Keras 1.2.2's model.save() wrote it.

    ``layers`` is a list of (class_name, config); ``weights`` maps layer name -> list of
    (weight name, array).
    """
    configs = []
    for i, (cls, cfg) in enumerate(layers):
        cfg = dict(cfg)
        if i == 0:
            cfg["batch_input_shape"] = [None, *input_shape]
        configs.append({"class_name": cls, "config": cfg})
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = version
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": configs}).encode()
        mw = f.create_group("model_weights")
        names = [cfg["name"] for _, cfg in layers]
        mw.attrs["layer_names"] = np.array([n.encode() for n in names])
        for name in names:
            g = mw.create_group(name)
            ws = weights.get(name, [])
            g.attrs["weight_names"] = np.array([w.encode() for w, _ in ws])
            for wname, arr in ws:
                g.create_dataset(wname, data=arr)
    return path


def conv_cfg(name, nb_filter, r, c, border="valid", subsample=(1, 1), **extra):
    cfg = dict(
        name=name,
        nb_filter=nb_filter,
        nb_row=r,
        nb_col=c,
        border_mode=border,
        subsample=list(subsample),
        dim_ordering="th",
        activation="linear",
        bias=True,
    )
    cfg.update(extra)
    return cfg


def listing(directory):
    return sorted(os.listdir(directory))


# --------------------------------------------------------------------------- the real Keras-1 file


def test_real_keras1_model_roles_and_arrays():
    wf = load_weights(LENET)
    assert wf.format == "keras1-hdf5"
    assert wf.keras1 is not None and wf.keras1.keras_version == "1.2.2"
    assert "theano" in wf.source and "dim_ordering 'th'" in wf.source
    with h5py.File(LENET, "r") as f:  # independent read of the same datasets
        for name, arr in wf.arrays.items():
            layer, weight = name.split("/")
            np.testing.assert_array_equal(arr, f["model_weights"][layer][weight][()])
    assert list(wf.arrays) == [
        "convolution2d_1/convolution2d_1_W",
        "convolution2d_1/convolution2d_1_b",
        "convolution2d_2/convolution2d_2_W",
        "convolution2d_2/convolution2d_2_b",
        "dense_1/dense_1_W",
        "dense_1/dense_1_b",
        "dense_2/dense_2_W",
        "dense_2/dense_2_b",
    ]
    info = wf.info
    assert info["convolution2d_1/convolution2d_1_W"] == ArrayInfo(
        "conv_kernel", "theano", "convolution2d_1", True
    )
    assert info["convolution2d_2/convolution2d_2_b"].role == "bias"
    # dense_1 follows Flatten of the (12, 6, 6) map; dense_2 follows dense_1
    assert info["dense_1/dense_1_W"].feature_shape == (12, 6, 6)
    assert info["dense_2/dense_2_W"].role == "dense_kernel"
    assert info["dense_2/dense_2_W"].feature_shape is None


def test_real_keras1_layer_shapes_match_the_reference_outputs():
    ref = np.load(EXAMPLES / "keras1_theano_lenet_reference.npz")
    layers = load_weights(LENET).keras1.layers
    keys = sorted(k for k in ref.files if k.startswith("layer"))
    assert [k.split("_", 1)[1] for k in keys] == [layer.name for layer in layers]
    for key, layer in zip(keys, layers):
        assert layer.output_shape == ref[key].shape[1:], key
    assert load_graph(LENET)["convolution2d_2/conv"].attrs["pads"] == ((1, 1), (1, 1))


def test_summary_and_dict_describe_the_file():
    wf = load_weights(LENET)
    text = wf.summary()
    for piece in (
        "Keras 1.2.2",
        "convolution2d_2",
        "MaxPooling2D",
        "(12, 6, 6)",
        "conv kernel (filter_flip=True)",
    ):
        assert piece in text
    d = wf.to_dict()
    json.dumps(d)  # serialisable
    assert d["layers"][0]["output_shape"] == [6, 24, 24]
    assert d["arrays"][4]["feature_shape"] == [12, 6, 6]


# --------------------------------------------------------------------------- npz


def test_positional_npz_is_ordered_by_index(tmp_path):
    arrays = [np.full((i + 1,), i, np.float32) for i in range(12)]
    np.savez(tmp_path / "p.npz", *arrays)
    wf = load_weights(tmp_path / "p.npz")
    assert wf.format == "npz-positional"
    assert list(wf.arrays) == [f"arr_{i}" for i in range(12)]  # arr_10 after arr_9
    for i, arr in enumerate(wf.arrays.values()):
        np.testing.assert_array_equal(arr, arrays[i])


def test_named_npz_and_unknown_roles(tmp_path):
    np.savez(tmp_path / "n.npz", W=np.ones((2, 3, 3, 3)), b=np.zeros(2))
    wf = load_weights(tmp_path / "n.npz")
    assert wf.format == "npz"
    assert wf.info["W"].role == "unknown"
    assert wf.info["b"].layout == "any"
    assert any("spec" in n for n in wf.notes)


def test_object_npz_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, W=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(LegacyconvError, match="pickled Python objects.*never unpickles"):
        load_weights(path)


def test_pickle_of_arrays_is_read_by_the_restricted_unpickler(tmp_path):
    path = tmp_path / "params.pkl"
    path.write_bytes(pickle.dumps([np.ones(3)]))
    wf = load_weights(path)
    assert wf.format == "pickle-positional"
    assert np.array_equal(wf.arrays["arr_0"], np.ones(3))


def test_pickle_of_other_objects_is_refused(tmp_path):
    path = tmp_path / "params.pkl"
    path.write_bytes(pickle.dumps([np.ones(3), LegacyconvError("x")]))
    with pytest.raises(
        LegacyconvError, match="global legacyconv._errors.LegacyconvError.*Nothing was executed"
    ):
        load_weights(path)


@pytest.mark.parametrize("cut", [10, 200])
def test_truncated_npz(tmp_path, cut):
    good = tmp_path / "good.npz"
    np.savez(good, W=np.ones((4, 3, 5, 5)))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(good.read_bytes()[:cut])
    with pytest.raises(LegacyconvError, match="bad.npz"):
        load_weights(bad)


def test_truncated_hdf5(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(LENET.read_bytes()[:3000])
    with pytest.raises(LegacyconvError, match="not a readable HDF5 file \\(truncated or corrupt\\)"):
        load_weights(bad)


@pytest.mark.parametrize(
    "content, match",
    [(b"", "is empty"), (b"hello world, not weights", "neither an .npz"), (None, "no such file")],
)
def test_not_a_weight_file(tmp_path, content, match):
    path = tmp_path / "x.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(LegacyconvError, match=match):
        load_weights(path)


def test_directory_is_not_a_weight_file(tmp_path):
    with pytest.raises(LegacyconvError, match="directory"):
        load_weights(tmp_path)


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("ext", [".npz", ".h5"])
def test_save_round_trip(tmp_path, ext):
    rng = np.random.default_rng(0)
    arrays = {"conv/W": rng.standard_normal((3, 2, 3, 3)).astype(np.float32), "file": np.arange(4.0)}
    info = {"conv/W": ArrayInfo("conv_kernel", "tf", "conv", False), "file": ArrayInfo("bias", "any")}
    out = save_weights(WeightFile(None, "npz", "test", arrays, info), tmp_path / f"w{ext}")
    back = load_weights(out)
    assert list(back.arrays) == list(arrays)
    for k in arrays:
        assert np.array_equal(back.arrays[k], arrays[k]) and back.arrays[k].dtype == arrays[k].dtype
    if ext == ".h5":
        assert back.format == "legacyconv-hdf5"
        assert back.info["conv/W"] == ArrayInfo("conv_kernel", "tf", "conv", False)
    assert listing(tmp_path) == [f"w{ext}"]


def test_save_refuses_existing_output_and_input(tmp_path):
    wf = WeightFile(None, "npz", "t", {"a": np.ones(2)})
    out = tmp_path / "w.npz"
    out.write_bytes(b"old")
    with pytest.raises(LegacyconvError, match="already exists.*--force"):
        save_weights(wf, out)
    assert out.read_bytes() == b"old"
    save_weights(wf, out, force=True)
    assert np.array_equal(np.load(out)["a"], np.ones(2))
    src = load_weights(out)
    before = out.read_bytes()
    with pytest.raises(LegacyconvError, match="also an input"):
        save_weights(src, out, force=True)
    assert out.read_bytes() == before
    with pytest.raises(LegacyconvError, match="must end in .npz, .h5 or .hdf5"):
        save_weights(wf, tmp_path / "w.txt")
    assert listing(tmp_path) == ["w.npz"]


def test_atomic_write_failure_leaves_nothing(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"keep me")

    def boom(tmp):
        Path(tmp).write_bytes(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, boom, force=True)
    assert target.read_bytes() == b"keep me"
    assert listing(tmp_path) == ["out.bin"]
    with pytest.raises(LegacyconvError, match="does not exist"):
        atomic_write(tmp_path / "nodir" / "x", lambda tmp: None)


def test_nonfinite_values_are_reported(tmp_path):
    np.savez(tmp_path / "n.npz", a=np.array([1.0, np.nan, np.inf]), b=np.ones(2))
    wf = load_weights(tmp_path / "n.npz")
    assert wf.nonfinite() == {"a": 2}
    assert "NO: 2 NaN/Inf" in wf.summary()


def test_import_does_not_load_h5py_or_tensorflow():
    code = (
        "import legacyconv, legacyconv.io, legacyconv.convert, legacyconv.cli, sys; "
        "import legacyconv.migrate, legacyconv.regression; "
        "print('h5py' in sys.modules, 'tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- other HDF5 files


def test_weights_only_and_generic_hdf5(tmp_path):
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"conv"])
        g = f.create_group("conv")
        g.attrs["weight_names"] = np.array([b"conv_W", b"conv_b"])
        g["conv_W"] = np.ones((2, 1, 3, 3))
        g["conv_b"] = np.zeros(2)
    wf = load_weights(path)
    assert wf.format == "keras1-weights-hdf5"
    assert list(wf.arrays) == ["conv/conv_W", "conv/conv_b"]
    assert wf.info["conv/conv_W"].role == "unknown"

    path2 = tmp_path / "g.h5"
    with h5py.File(path2, "w") as f:
        f.attrs["keras_version"] = b"2.1.0"
        f["a/b"] = np.ones((2, 2))
    wf2 = load_weights(path2)
    assert wf2.format == "hdf5" and "Keras 2.1.0" in wf2.source
    empty = tmp_path / "e.h5"
    h5py.File(empty, "w").close()
    with pytest.raises(LegacyconvError, match="without any datasets"):
        load_weights(empty)


def test_unsupported_layer_is_named_with_its_class(tmp_path):
    rng = np.random.default_rng(1)
    path = write_keras1(
        tmp_path / "m.h5",
        [
            ("Convolution2D", conv_cfg("conv_a", 2, 3, 3)),
            ("LocallyConnected2D", {"name": "lc_1", "nb_filter": 2}),
        ],
        {
            "conv_a": [("conv_a_W", rng.standard_normal((2, 1, 3, 3))), ("conv_a_b", np.zeros(2))],
            "lc_1": [("lc_1_W", np.ones((4, 2)))],
        },
    )
    wf = load_weights(path)  # inspecting still works
    assert wf.info["conv_a/conv_a_W"].role == "unknown"  # the model did not translate: no roles
    assert wf.info["conv_a/conv_a_b"].role == "bias"
    assert any("'lc_1' (LocallyConnected2D)" in n for n in wf.notes)
    assert "cannot migrate" in wf.summary()
    with pytest.raises(UnsupportedLayerError, match="layer 'lc_1' \\(LocallyConnected2D\\) is not supported"):
        load_graph(path)


def test_weight_shape_mismatch_and_missing_weight(tmp_path):
    path = write_keras1(
        tmp_path / "m.h5",
        [("Convolution2D", conv_cfg("c", 4, 3, 3))],
        {"c": [("c_W", np.ones((4, 2, 3, 3))), ("c_b", np.zeros(4))]},
    )
    with pytest.raises(
        LegacyconvError, match=r"the kernel W has shape \(4, 2, 3, 3\).*expect \(4, 1, 3, 3\)"
    ):
        load_graph(path)
    path = write_keras1(
        tmp_path / "m2.h5",
        [("Convolution2D", conv_cfg("c", 4, 3, 3))],
        {"c": [("c_W", np.ones((4, 1, 3, 3)))]},
    )
    with pytest.raises(LegacyconvError, match="should have 2 weight array"):
        load_graph(path)


def test_tf_dim_ordering_is_refused(tmp_path):
    path = write_keras1(
        tmp_path / "m.h5",
        [
            (
                "MaxPooling2D",
                {
                    "name": "p",
                    "pool_size": [2, 2],
                    "strides": None,
                    "border_mode": "valid",
                    "dim_ordering": "tf",
                },
            )
        ],
        {},
    )
    with pytest.raises(UnsupportedLayerError, match="dim_ordering='tf'"):
        load_graph(path)


@pytest.mark.parametrize(
    "padding, pads",
    [
        ([1, 2], ((1, 1), (2, 2))),
        ([1, 2, 3, 4], ((1, 2), (3, 4))),
        ({"top_pad": 2, "right_pad": 1}, ((2, 0), (0, 1))),
    ],
)
def test_zero_padding_forms(tmp_path, padding, pads):
    path = write_keras1(
        tmp_path / "m.h5", [("ZeroPadding2D", {"name": "z", "padding": padding, "dim_ordering": "th"})], {}
    )
    node = load_graph(path)["z"]
    assert node.attrs["pads"] == pads
    assert node.shape == (None, 1, 8 + sum(pads[0]), 8 + sum(pads[1]))


# --------------------------------------------------------------------------- Keras-1 geometry


def naive_conv1d_positions(n, k, pads, s, d):
    """Start index (in unpadded coordinates) of every window of a strided, padded 1-D conv."""
    dk = (k - 1) * d + 1
    size = n + pads[0] + pads[1]
    return [i - pads[0] for i in range(0, size - dk + 1, s)]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 20), k=st.integers(1, 6), s=st.integers(1, 4), d=st.integers(1, 3))
def test_conv_same_pads_reproduce_theano_half_then_keras1_crop(n, k, s, d):
    dk = (k - 1) * d + 1
    half = dk // 2
    # Keras 1 on Theano: 'half', then for even kernels keep the first ceil(n / s) outputs
    theano = naive_conv1d_positions(n, k, (half, half), s, d)
    if not theano:
        return
    expected = theano[: -(-n // s)] if k % 2 == 0 else theano
    pads = conv_pads_keras1(n, k, "same", s, d)
    assert naive_conv1d_positions(n, k, pads, s, d) == expected
    assert pads[1] >= 0 and pads[0] == half


@pytest.mark.parametrize(
    "n, pool, mode, stride, expected",
    [
        (12, 2, "valid", 2, (0, 6, 0)),
        (13, 2, "valid", 2, (0, 6, 0)),
        (12, 2, "same", 2, (1, 7, 1)),  # Theano pad 1 -> 7 windows, Keras 1 keeps ceil(12/2) = 6
        (13, 2, "same", 2, (1, 7, 0)),
        (7, 3, "same", 2, (1, 4, 0)),  # odd pool > 2: pad = pool - 2
        (8, 3, "same", 1, (1, 8, 0)),
        (9, 4, "same", 3, (3, 4, 1)),  # even pool: pad = pool - 1
        (5, 1, "same", 1, (0, 5, 0)),
    ],
)
def test_pool_geometry(n, pool, mode, stride, expected):
    assert pool_geometry_keras1(n, pool, mode, stride) == expected


def test_geometry_errors():
    with pytest.raises(LegacyconvError, match="border_mode must be one of"):
        conv_pads_keras1(5, 3, "half", 1, 1)
    with pytest.raises(LegacyconvError, match="needs a known input size"):
        conv_pads_keras1(None, 4, "same", 2, 1)
    assert conv_pads_keras1(None, 4, "same", 1, 1) == (2, 1)
    assert conv_pads_keras1(10, 3, "full", 1, 2) == (4, 4)


@pytest.mark.parametrize(
    "version, backend, expected",
    [
        (b"1.2.2", None, "a Keras 1.2.2 model"),
        (b"2.2.5", b"theano", "a Keras 2.2.5 model saved with the Theano backend"),
        (b"2.2.5", b"tensorflow", None),  # Keras 3 reads Keras 2 files of TensorFlow as they are
        (b"3.1.0", b"tensorflow", None),
        (b"two", b"theano", None),  # not a version: Keras says what it makes of it
    ],
)
def test_legacy_model_kind(tmp_path, version, backend, expected):
    from legacyconv.io.keras_model import legacy_model_kind

    path = write_keras1(tmp_path / "m.h5", [("Convolution2D", conv_cfg("c", 2, 3, 3))], {}, version=version)
    if backend is not None:
        with h5py.File(path, "a") as f:
            f.attrs["backend"] = backend
    assert legacy_model_kind(str(path)) == expected
    with h5py.File(tmp_path / "weights.h5", "w") as f:  # a weights-only file: no model to refuse
        f.attrs["keras_version"] = b"1.2.2"
        f.attrs["layer_names"] = np.array([b"c"])
    assert legacy_model_kind(str(tmp_path / "weights.h5")) is None
    (tmp_path / "m.keras").write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    assert legacy_model_kind(str(tmp_path / "m.keras")) is None
