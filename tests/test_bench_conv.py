"""``scripts/bench_conv.py --apart``: each run as two processes, the TensorFlow columns timed
alone after the others, merged with the ratios computed again from the merged columns."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "scripts", "bench_conv.py")


@pytest.fixture(scope="module")
def bench():
    saved = {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    try:  # the script sets its thread counts at import: keep them out of this process's environment
        spec = importlib.util.spec_from_file_location("bench_conv", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return module


def test_merge_apart_takes_tensorflow_from_its_own_process(bench):
    others = {
        "rows": [
            {"case": "c", "ms": {"numpy": 3.0, "gemm": 1.5, "loop": 30.0}, "ratios": {"numpy/gemm": 2.0}}
        ],
        "family": [{"case": "f", "ms": {"numpy": 8.0}, "ratios": {}}],
        "strided": [],
        "new_ops": [],
    }
    tf_alone = {
        # its numpy column would be the one TensorFlow slowed: never taken
        "rows": [{"case": "c", "ms": {"numpy": 99.0, "tf_engine": 2.5, "tf": 2.0}, "ratios": {}}],
        "family": [{"case": "f", "ms": {"tensorflow": 6.0, "tf": 4.0}, "ratios": {}}],
        "strided": [],
        "new_ops": [],
    }
    merged = bench.merge_apart(others, tf_alone)
    row = merged["rows"][0]
    assert row["ms"] == {"numpy": 3.0, "gemm": 1.5, "loop": 30.0, "tf_engine": 2.5, "tf": 2.0}
    assert row["ratios"] == {"numpy/gemm": 2.0, "loop/numpy": 10.0, "numpy/tf": 1.5, "tf_engine/tf": 1.25}
    assert merged["family"][0]["ratios"] == {"numpy/tf": 2.0, "tensorflow/tf": 1.5}
    assert others["rows"][0]["ratios"] == {"numpy/gemm": 2.0}  # the inputs are left as they were


def test_merge_apart_refuses_different_cases(bench):
    one = {"rows": [{"case": "a", "ms": {"numpy": 1.0}, "ratios": {}}]}
    other = {"rows": [{"case": "b", "ms": {"tf": 1.0}, "ratios": {}}]}
    with pytest.raises(RuntimeError, match="different cases"):
        bench.merge_apart(one, other)
    with pytest.raises(RuntimeError, match="1 and 0 cases of rows"):
        bench.merge_apart(one, {"rows": []})


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="needs tensorflow")
def test_apart_runs_the_two_processes_and_merges_them(tmp_path):
    out = tmp_path / "medians.json"
    argv = ["--apart", "--cases", "0", "--no-family", "--no-strided", "--no-new-ops", "--no-scipy"]
    done = subprocess.run(
        [sys.executable, SCRIPT, *argv, "--repeats", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "tensorflow" in done.stdout  # the second process's header names it
    row = json.loads(out.read_text())["rows"][0]
    assert set(row["ms"]) == {"numpy", "gemm", "loop", "tf_engine", "tf"}
    assert all(ms > 0 for ms in row["ms"].values())
    assert row["ratios"]["numpy/tf"] == pytest.approx(row["ms"]["numpy"] / row["ms"]["tf"])
