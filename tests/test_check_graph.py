"""check() on graphs: the migrated model runs through the target runner and every node with a
legacy reference is compared in the legacy layout (sidecar permutations, no shape guessing), in
topological order, for several inputs and outputs and for 1-D, 3-D and recurrent outputs.

The references are computed here by the graph's NumPy evaluation (legacyconv's Theano-exact ops),
then perturbed to make a chosen node diverge."""

from __future__ import annotations

import numpy as np
import pytest

from legacyconv import LegacyconvError
from legacyconv.cli import EXIT_MISMATCH, EXIT_OK, main
from legacyconv.graph import Graph
from legacyconv.graph.numpy_runner import run_graph

pytest.importorskip("tensorflow")

from legacyconv.regression import check  # noqa: E402
from legacyconv.targets.keras import KerasRunner, emit, save  # noqa: E402

RNG = np.random.default_rng(7)


def _w(*shape: int) -> np.ndarray:
    return (RNG.standard_normal(shape) * 0.5).astype(np.float32)


def _graph() -> Graph:
    """Two inputs (an image, a sequence) and three outputs (a volume-free image, a vector, a sequence)."""
    g = Graph(name="two_in_three_out")
    img = g.add("input", "img", attrs={"shape": (2, 7, 6)}, reference="layer00_img")
    seq = g.add("input", "seq", attrs={"shape": (5, 3)}, reference="layer01_seq")
    c = g.add(
        "conv",
        "c",
        [img],
        attrs={"pads": ((1, 1), (1, 1))},
        weights={"W": _w(4, 2, 3, 3), "b": _w(4)},
        reference="layer02_c",
    )
    p = g.add(
        "pool",
        "p",
        [c],
        attrs={"ws": (2, 2), "strides": (2, 2), "ignore_border": False},
        reference="layer03_p",
    )
    f = g.add("flatten", "f", [p], reference="layer04_f")
    r = g.add(
        "rnn",
        "r",
        [seq],
        attrs={
            "cell": "lstm",
            "units": 4,
            "activation": "tanh",
            "recurrent_activation": "hard_sigmoid",
            "return_sequences": True,
        },
        weights={"kernel": _w(3, 16), "recurrent_kernel": _w(4, 16), "bias": _w(16)},
        reference="layer05_r",
    )
    t = g.add("transpose", "t", [r], attrs={"perm": (0, 2, 1)})
    c1 = g.add("conv", "c1", [t], weights={"W": _w(3, 4, 2)}, reference="layer06_c1")
    last = g.add("global_pool", "gp", [c1], attrs={"mode": "max"}, reference="layer07_gp")
    m = g.add(
        "merge",
        "m",
        [f, g.add("dense", "d", [last], weights={"W": _w(3, 48)}, reference="layer08_d")],
        attrs={"mode": "sum"},
        reference="layer09_m",
    )
    g.outputs = [c, m, r]
    g.validate()
    return g


@pytest.fixture(scope="module")
def graph() -> Graph:
    return _graph()


@pytest.fixture(scope="module")
def reference(graph: Graph) -> dict[str, np.ndarray]:
    feeds = {"img": _w(3, 2, 7, 6), "seq": _w(3, 5, 3)}
    values = run_graph(graph, feeds)
    refs = {"input_img": feeds["img"], "input_seq": feeds["seq"]}
    for node in graph.nodes.values():
        if node.reference:
            refs[node.reference] = values[node.name]
    refs["output"] = values["c"]
    refs["output_m"] = values["m"]
    refs["output_r"] = values["r"]
    return refs


@pytest.fixture(scope="module")
def saved(graph: Graph, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("check") / "g.keras"
    return save(emit(graph), path)


def test_every_reference_passes_in_topological_order(saved: str, reference: dict) -> None:
    report = check(saved, reference, progress=False)
    assert report.passed, report.table()
    keys = [r.key for r in report.rows]
    assert keys == [
        "layer00_img",
        "layer01_seq",
        "layer02_c",
        "layer03_p",
        "layer04_f",
        "layer05_r",
        "layer06_c1",
        "layer07_gp",
        "layer08_d",
        "layer09_m",
        "output",
        "output_m",
        "output_r",
    ]
    assert all(r.status == "ok" for r in report.rows)
    rows = {r.key: r for r in report.rows}
    assert rows["layer02_c"].note == "the model holds it transposed by (0, 2, 3, 1)"
    assert rows["layer06_c1"].shape == (3, 3, 4)  # a 1-D conv output, legacy (N, C, T)
    assert rows["layer05_r"].shape == (3, 5, 4)  # recurrent sequences


def test_first_diverging_node(saved: str, reference: dict) -> None:
    bad = dict(reference)
    bad["layer06_c1"] = reference["layer06_c1"].copy()
    bad["layer06_c1"][1, 2, 0] += 0.5
    bad["layer09_m"] = reference["layer09_m"] + 1.0
    report = check(saved, bad, progress=False)
    assert not report.passed
    assert report.first_diverging is not None and report.first_diverging.key == "layer06_c1"
    assert report.first_diverging.mismatched == 1
    assert {r.key for r in report.rows if r.status == "MISMATCH"} == {"layer06_c1", "layer09_m"}


def test_in_memory_runner_and_unknown_keys(graph: Graph, reference: dict) -> None:
    extra = dict(reference, layer99_gone=reference["output"], notes=reference["output"])
    report = check(KerasRunner(emit(graph, input_layout="nchw")), extra, progress=False)
    assert report.passed
    skipped = {r.key: r.note for r in report.rows if r.status == "skipped"}
    assert skipped == {
        "layer99_gone": "no node of the model reproduces it",
        "notes": "not an input, output or layerNN_ array",
    }


def test_bad_inputs_are_refused(saved: str, reference: dict) -> None:
    no_seq = {k: v for k, v in reference.items() if k != "input_seq"}
    with pytest.raises(LegacyconvError, match="no array for the model input 'seq'"):
        check(saved, no_seq, progress=False)
    wrong = dict(reference, input_img=reference["input_img"].transpose(0, 2, 3, 1))
    with pytest.raises(
        LegacyconvError, match=r"the model input 'img' of the legacy model takes \(batch, \*\(2, 7, 6\)\)"
    ):
        check(saved, wrong, progress=False)
    shape = dict(reference, layer04_f=reference["layer04_f"][:, :5])
    report = check(saved, shape, progress=False)
    row = next(r for r in report.rows if r.key == "layer04_f")
    assert row.status == "MISMATCH" and "does not fit" in row.note


def test_cli_exit_codes(saved: str, reference: dict, tmp_path) -> None:
    np.savez(tmp_path / "ok.npz", **reference)
    assert main(["check", saved, str(tmp_path / "ok.npz")]) == EXIT_OK
    bad = dict(reference, layer03_p=reference["layer03_p"] * 2)
    np.savez(tmp_path / "bad.npz", **bad)
    assert main(["check", saved, str(tmp_path / "bad.npz")]) == EXIT_MISMATCH
