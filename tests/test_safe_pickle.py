"""The restricted unpickler: arrays in, and nothing that could run code, ever."""

from __future__ import annotations

import io
import os
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from legacyconv import LegacyconvError
from legacyconv.cli import main
from legacyconv.io import load_weights
from legacyconv.io.safe_pickle import STAND_INS, UnsafePickleError, register_stand_in, safe_load

DATA = Path(__file__).parent / "data" / "lasagne"


class _Evil:
    """Unpickling this runs a shell command that creates a file (with an ordinary unpickler)."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


class _EvilOpen:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def _payloads(target):
    return {
        "os.system, protocol 0": b"cos\nsystem\n(S'touch " + str(target).encode() + b"'\ntR.",
        "os.system, protocol 2": pickle.dumps(_Evil(target), protocol=2),
        "os.system, protocol 5": pickle.dumps(_Evil(target), protocol=5),
        "builtins.open": pickle.dumps(_EvilOpen(target), protocol=2),
        "inside a model-zoo dict": pickle.dumps(
            {"param values": [np.ones(3, np.float32), _Evil(target)], "mean value": np.zeros(3)}, protocol=2
        ),
        "builtins.eval": b"cbuiltins\neval\n(S'open(" + repr(str(target)).encode() + b', "w")\'\ntR.',
        "__builtin__.__import__ (Python 2 name)": b"c__builtin__\n__import__\n(S'os'\ntR.",
        "numpy as a subtype": b"cnumpy.core.multiarray\n_reconstruct\n(cos\nsystem\n(I0\ntS'b'\ntR.",
    }


@pytest.mark.parametrize("kind", list(_payloads("x")))
def test_code_never_runs(tmp_path, kind):
    target = tmp_path / "pwned"
    data = _payloads(target)[kind]
    path = tmp_path / "evil.pkl"
    path.write_bytes(data)
    with pytest.raises(
        UnsafePickleError,
        match=r"asks for the global \S+, which legacyconv never loads.*Nothing was executed",
    ):
        safe_load(path)
    with pytest.raises(UnsafePickleError, match="Nothing was executed"):
        load_weights(path)
    assert main(["inspect", str(path)]) == 2
    assert not target.exists()


def test_the_message_names_the_global(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Evil(tmp_path / "x"), protocol=2))
    with pytest.raises(
        UnsafePickleError, match=r"evil.pkl: the pickle asks for the global (posix|os)\.system,"
    ):
        safe_load(path)
    with pytest.raises(UnsafePickleError, match="the global builtins.eval"):
        safe_load(io.BytesIO(_payloads("x")["builtins.eval"]))


def test_codecs_encode_only_latin1():
    data = b"c_codecs\nencode\n(Vabc\nVrot13\ntR."
    with pytest.raises(UnsafePickleError, match="encoding 'rot13'; only 'latin1'"):
        safe_load(io.BytesIO(data))
    assert safe_load(io.BytesIO(b"c_codecs\nencode\n(Vabc\nVlatin1\ntR.")) == b"abc"


def test_persistent_ids_and_reconstructor_are_refused():
    with pytest.raises(UnsafePickleError, match="persistent object"):
        safe_load(io.BytesIO(b"P1\n."))
    data = b"ccopy_reg\n_reconstructor\n(cos\nsystem\nc__builtin__\nobject\nNtR."
    with pytest.raises(UnsafePickleError, match="copy_reg._reconstructor"):
        safe_load(io.BytesIO(data))


def test_arrays_scalars_and_containers_load():
    obj = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "f": np.asfortranarray(np.ones((2, 2))),
        "s": np.float32(1.5),
        "i": np.int64(7),
        "t": (1, 2.0, "x", b"y", None, True, [1], {1, 2}, frozenset([3])),
        "c": np.array([1 + 2j]),
    }
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        got = safe_load(io.BytesIO(pickle.dumps(obj, protocol=protocol)))
        assert got["t"] == obj["t"] and got["s"] == obj["s"] and got["i"] == obj["i"]
        for k in ("a", "f", "c"):
            assert got[k].dtype == obj[k].dtype and np.array_equal(got[k], obj[k])


def test_python2_model_zoo_pickle():
    got = safe_load(DATA / "tiny_caffenet_py2.pkl")
    assert set(got) == {"param values", "synset words", "mean value"}
    assert all(isinstance(w, str) for w in got["synset words"])
    assert [v.dtype for v in got["param values"]] == [np.float32] * 12


def test_unreadable_pickles(tmp_path):
    path = tmp_path / "t.pkl"
    path.write_bytes(pickle.dumps([np.ones(100)], protocol=2)[:50])
    with pytest.raises(LegacyconvError, match="not a readable pickle of arrays"):
        safe_load(path)
    with pytest.raises(LegacyconvError, match="no such file"):
        safe_load(tmp_path / "missing.pkl")


def test_stand_in_registry(tmp_path):
    """A foreign class (here a fake theano.tensor.sharedvar.TensorSharedVariable) is refused,
    and loads as a registered stand-in of ours: its state, none of its code."""
    module = types.ModuleType("theano.tensor.sharedvar")

    class TensorSharedVariable:
        def __setstate__(self, state):  # the "foreign" code: must never run under safe_load
            raise AssertionError("foreign code ran")

    TensorSharedVariable.__module__ = module.__name__
    TensorSharedVariable.__qualname__ = "TensorSharedVariable"
    module.TensorSharedVariable = TensorSharedVariable
    fakes = {"theano": types.ModuleType("theano"), "theano.tensor": types.ModuleType("theano.tensor")}
    fakes[module.__name__] = module
    assert not set(fakes) & set(sys.modules)
    sys.modules.update(fakes)
    try:
        var = TensorSharedVariable()
        var.__dict__.update(name="W", container=np.ones((2, 2), np.float32))
        data = pickle.dumps(var, protocol=2)
    finally:
        for name in fakes:
            del sys.modules[name]
    with pytest.raises(UnsafePickleError, match="the global theano.tensor.sharedvar.TensorSharedVariable"):
        safe_load(io.BytesIO(data))

    class SharedStandIn:
        pass

    register_stand_in("theano.tensor.sharedvar", "TensorSharedVariable", SharedStandIn)
    try:
        got = safe_load(io.BytesIO(data))
    finally:
        del STAND_INS[("theano.tensor.sharedvar", "TensorSharedVariable")]
    assert type(got) is SharedStandIn and got.name == "W"
    assert np.array_equal(got.container, np.ones((2, 2), np.float32))
    with pytest.raises(LegacyconvError, match="a stand-in must be a class"):
        register_stand_in("m", "n", object())  # type: ignore[arg-type]


def test_inspect_and_convert_a_model_zoo_pickle(tmp_path, capsys):
    assert main(["inspect", str(DATA / "tiny_caffenet_py2.pkl")]) == 0
    out = capsys.readouterr().out
    assert "format: pickle-positional" in out and "arr_11" in out
    assert "'synset words' (list of 10)" in out and "'mean value' (array (3,) float64)" in out
    wf = load_weights(DATA / "tiny_caffenet.pkl")
    assert wf.extras["synset words"][:2] == ["airplane", "automobile"]
    spec = tmp_path / "spec.json"
    assert main(["inspect", str(DATA / "tiny_caffenet.pkl"), "--spec-template", "json"]) == 0
    text = capsys.readouterr().out
    assert (
        main(
            [
                "convert",
                str(DATA / "tiny_caffenet.pkl"),
                str(tmp_path / "o.npz"),
                "--spec",
                _write(spec, text),
            ]
        )
        == 2
    )
    assert "filter_flip is still the template's placeholder" in capsys.readouterr().err
    import json

    doc = json.loads(text)
    for entry in doc["arrays"].values():
        if entry["role"] == "conv_kernel":
            entry["filter_flip"] = False  # the model zoo's convolutions are Caffe's cross-correlations
        if isinstance(entry.get("feature_shape"), str):
            entry["feature_shape"] = [32, 3, 3]
    assert (
        main(
            [
                "convert",
                str(DATA / "tiny_caffenet.pkl"),
                str(tmp_path / "o.npz"),
                "--spec",
                _write(spec, json.dumps(doc)),
            ]
        )
        == 0
    )
    conv1 = load_weights(DATA / "tiny_caffenet.pkl").arrays["arr_0"]
    np.testing.assert_array_equal(np.load(tmp_path / "o.npz")["arr_0"], conv1.transpose(2, 3, 1, 0))


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_arrays_are_held_to_the_read_limits(tmp_path):
    """One stored buffer rebuilt into many arrays (memo references): each is charged before copying."""
    from legacyconv.io.limits import LimitError, read_limits

    big = np.zeros(1 << 18, np.float32)  # 1 MiB
    data = pickle.dumps({"param values": [big, big.copy(), big.copy()]}, protocol=2)
    path = tmp_path / "w.pkl"
    path.write_bytes(data)
    assert len(load_weights(path).arrays) == 3
    with read_limits(max_bytes="2 MiB"):
        with pytest.raises(LimitError, match=r"w.pkl: array '#3' declares shape \(262144,\) float32 = 1 MiB"):
            load_weights(path)
    # a hand-made pickle: a list of five arrays, all counted against one total
    one = pickle.dumps(big, protocol=2)
    payload = b"\x80\x02]q\x00(" + b"".join([one[2:-1]] * 5) + b"e."
    with read_limits(max_bytes="3 MiB"):
        with pytest.raises(LimitError, match="over the limit of 3 MiB for all arrays together"):
            safe_load(io.BytesIO(payload))
    assert len(safe_load(io.BytesIO(payload))) == 5


@pytest.mark.parametrize(
    "payload, match",
    [
        (
            b"cbuiltins\nbytearray\n(I1000000000000\ntR.",
            r"bytearray\(1000000000000\), a buffer of a given size",
        ),
        (b"cbuiltins\nbytes\n(I1000000000000\ntR.", r"bytes\(1000000000000\)"),
        (b"cbuiltins\nrange\n(I1000000000000\ntR.", "the global builtins.range"),
    ],
)
def test_constructors_that_allocate_are_refused(payload, match):
    with pytest.raises(UnsafePickleError, match=match):
        safe_load(io.BytesIO(payload))


def test_reconstruct_with_a_huge_shape_is_charged_first():
    from legacyconv.io.limits import LimitError

    payload = b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I1000000000000\ntS'f'\ntR."
    with pytest.raises(LimitError, match=r"declares shape \(1000000000000,\)"):
        safe_load(io.BytesIO(payload))


def test_inspect_json_lists_the_extras(capsys):
    import json

    assert main(["inspect", str(DATA / "tiny_caffenet.pkl"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["extras"] == {"synset words": "list of 10", "mean value": "array (3,) float64"}
    assert [a["name"] for a in doc["arrays"]] == [f"arr_{i}" for i in range(12)]


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x02" + b"]" * 200_000 + b"a" * 199_999 + b".",  # lists 200,000 deep
        b"\x80\x02]q\x00h\x00a.",  # a list inside itself
    ],
    ids=["deep", "cycle"],
)
def test_nesting_too_deep_to_walk_is_refused(data):
    # Python's unpickler builds these without recursing; walking them raised RecursionError,
    # which the command line reported as an internal error
    with pytest.raises(
        LegacyconvError, match=r"nests containers more than 64 levels deep \(or holds a container"
    ):
        safe_load(io.BytesIO(data))
    nested = [[[{"a": (np.ones(2),)}]]]  # a few levels, as weight pickles nest
    np.testing.assert_array_equal(
        safe_load(io.BytesIO(pickle.dumps(nested, protocol=2)))[0][0][0]["a"][0], np.ones(2)
    )
