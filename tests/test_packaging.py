"""Packaging promises: a light import, and README commands that CI really runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import legacyconv

ROOT = Path(__file__).resolve().parent.parent


def test_import_does_not_load_heavy_frameworks():
    code = (
        "import sys, legacyconv, legacyconv.nnet, legacyconv.nnet.conv;"
        "heavy = [m for m in ('tensorflow', 'keras', 'h5py', 'torch', 'jax') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|sh)\n(.*?)\n```", setup, re.S)


def test_readme_has_exactly_two_setup_commands():
    commands = _readme_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands), "each set-up command is one line a newcomer copies"


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = _readme_commands()[1]
    assert "pytest" in test_command
    assert test_command in [line.strip() for line in ci.splitlines()]


def test_ci_installs_the_tested_versions_and_runs_the_linters():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "-c constraints/tested.txt" in _readme_commands()[1]
    assert ci.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in ci
    for step in ('ruff" format --check', 'ruff" check', 'mypy"', "TF_ENABLE_ONEDNN_OPTS=$onednn"):
        assert step in ci, step


def test_tested_versions_pin_every_dependency_that_matters():
    lines = (ROOT / "constraints" / "tested.txt").read_text(encoding="utf-8").splitlines()
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", v) for v in pins.values()), pins
    names = {n.lower().replace("_", "-") for n in pins}
    wanted = "numpy scipy tensorflow keras h5py onnx onnxruntime tqdm pytest hypothesis ruff mypy ml-dtypes protobuf"
    assert set(wanted.split()) <= names
    assert "legacyconv" not in names


def test_extras():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    names = {re.split(r"[<>=\[]", d)[0] for d in extras["test"]}
    assert {"onnx", "onnxruntime", "ruff", "mypy", "tensorflow", "h5py"} <= names
    assert {re.split(r"[<>=]", d)[0] for d in extras["onnx"]} == {"onnx", "onnxruntime"}


def test_public_names():
    for name in legacyconv.__all__:
        assert hasattr(legacyconv, name), name
    assert legacyconv.__version__
