"""Every ```python block of migration_guide/*.md runs, in order, one namespace per chapter,
in a temporary working directory: the guide cannot drift from the code. Blocks assert what
they claim; a block that raises fails its chapter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parent.parent / "migration_guide"
CHAPTERS = sorted(GUIDE.glob("*.md"))
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    return [(text[: m.start()].count("\n") + 2, m.group(1)) for m in _BLOCK.finditer(text)]


def test_guide_has_an_index_and_chapters():
    assert (GUIDE / "README.md").exists()
    assert len(CHAPTERS) >= 2


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_chapter_runs(chapter, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"guide_{chapter.stem}"}
    blocks = python_blocks(chapter)
    if chapter.name != "README.md":
        assert blocks, f"{chapter.name} has no runnable example"
    for line, code in blocks:
        exec(compile(code, f"{chapter.name}:{line}", "exec"), namespace)


def test_index_links_every_chapter():
    index = (GUIDE / "README.md").read_text(encoding="utf-8")
    for chapter in CHAPTERS:
        if chapter.name != "README.md":
            assert f"({chapter.name})" in index, f"README.md does not link {chapter.name}"
