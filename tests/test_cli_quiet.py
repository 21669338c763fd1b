"""The command line prints its own lines only: TensorFlow's start-up chatter stays out of
``legacyconv migrate/check`` unless ``--debug`` or the user's own ``TF_CPP_MIN_LOG_LEVEL``
asks for it, and on an error the one-sentence message is the only stderr line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from legacyconv.io import example_files

CHATTER = "I0000 00:00:1 port.cc:153] chatter written to fd 2 while tensorflow is imported"


def _run(args, cwd, env=None, **kwargs):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300, **kwargs
    )


@pytest.fixture
def fake_tensorflow(tmp_path):
    """A ``tensorflow`` package that writes to file descriptor 2 on import, as TF's C++ does
    before its logging starts (no environment variable reaches that)."""
    pkg = tmp_path / "fake" / "tensorflow"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(f"import os\nos.write(2, {(CHATTER + chr(10)).encode()!r})\n")
    return tmp_path / "fake"


QUIET = (
    "import os, sys\n"
    "from legacyconv.cli import _quiet_tensorflow\n"
    "_quiet_tensorflow(debug=sys.argv[1] == 'debug')\n"
    "import tensorflow\n"
    "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))\n"
)


def _pythonpath(*paths):
    return os.pathsep.join([*map(str, paths), *filter(None, [os.environ.get("PYTHONPATH")])])


def test_start_up_chatter_is_held_back(fake_tensorflow, tmp_path):
    result = _run(["-c", QUIET, "quiet"], tmp_path, {"PYTHONPATH": _pythonpath(fake_tensorflow)})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip() == "3"


@pytest.mark.parametrize(
    "mode, env, level", [("debug", {}, "None"), ("quiet", {"TF_CPP_MIN_LOG_LEVEL": "0"}, "0")]
)
def test_debug_or_the_users_log_level_let_it_through(fake_tensorflow, tmp_path, mode, env, level):
    result = _run(["-c", QUIET, mode], tmp_path, {"PYTHONPATH": _pythonpath(fake_tensorflow), **env})
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == CHATTER
    assert result.stdout.strip() == level


def test_real_migrate_and_check_print_their_own_lines_only(tmp_path):
    pytest.importorskip("tensorflow")
    files = example_files()
    model, reference = files["keras1_theano_lenet.h5"], files["keras1_theano_lenet_reference.npz"]
    env = {"PYTHONPATH": _pythonpath(Path(__file__).resolve().parent.parent)}

    result = _run(["-m", "legacyconv", "migrate", model, "-o", "lenet.keras"], tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("wrote lenet.keras: Keras 3 model") and result.stdout.count("\n") == 1

    ref = dict(np.load(reference))
    ref["input"] = ref["input"][:, :, :27, :27]  # fits the model in no layout: a bad input
    np.savez(tmp_path / "bad.npz", **ref)
    result = _run(["-m", "legacyconv", "check", "lenet.keras", "bad.npz"], tmp_path, env)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("legacyconv check: error: the reference input has shape")
