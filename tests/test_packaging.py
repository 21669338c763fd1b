"""Packaging promises: a light import, and README commands that CI really runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

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
    assert test_command in ci.splitlines()


def test_public_names():
    for name in legacyconv.__all__:
        assert hasattr(legacyconv, name), name
    assert legacyconv.__version__
