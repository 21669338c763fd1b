"""``scripts/bench_conv.py`` times TensorFlow's columns in a process of their own: the process
timing the numpy engine never imports TensorFlow, and the TensorFlow columns still come back."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "scripts", "bench_conv.py")

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is None, reason="the TensorFlow columns need tensorflow"
)

# Runs the benchmark's main() on LeNet's conv1 alone, once, then says whether TensorFlow was imported.
PROBE = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("bench_conv", sys.argv[1])
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
sys.argv = [sys.argv[1], "--cases", "0", "--no-family", "--no-strided", "--no-new-ops", "--no-scipy",
            "--repeats", "1", *sys.argv[2:]]
status = bench.main()
print("exit", status, "tensorflow imported here:", "tensorflow" in sys.modules)
"""


def _run(*options: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, SCRIPT, *options],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _ms(out: str, column: str) -> float:
    row = re.search(rf"^\(64, 1, 28, 28\)\*\(20, 1, 5, 5\) valid\s+{column}\s+([0-9.]+)", out, re.M)
    assert row, f"no {column} row in:\n{out}"
    return float(row.group(1))


def test_tensorflow_columns_run_in_a_process_of_their_own():
    out = _run()
    assert "tensorflow imported here: False" in out
    assert "in a process of its own" in out
    for column in ("numpy", "gemm", "tf_engine", "tf"):
        assert _ms(out, column) > 0
    assert re.search(r"numpy/tf=[0-9.]+", out)


def test_one_process_keeps_them_beside_the_others():
    out = _run("--one-process")
    assert "tensorflow imported here: True" in out
    assert "in this process" in out
    assert _ms(out, "tf") > 0
