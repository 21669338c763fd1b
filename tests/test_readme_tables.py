"""The README's supported-layer and emitter tables are the registries' (scripts/readme_tables.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_tables_are_current() -> None:
    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "scripts" / "readme_tables.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    block = mod.readme_block((ROOT / "README.md").read_text(encoding="utf8"))
    assert block == mod.tables(), "README.md tables are stale: run python scripts/readme_tables.py --write"
