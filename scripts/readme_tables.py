"""Print (or ``--write``) the README's migration tables, generated from the registries.

* legacy layer classes × Keras 1 / Keras 2: the frontends' translator registry
  (:func:`legacyconv.frontends.supported_layers`);
* graph op → stock Keras 3 layers: the Keras target's emitters (the first line of each emitter's
  docstring).

The README holds them between ``<!-- tables:migrate -->`` markers; ``tests/test_readme_tables.py``
fails when they are stale. Usage: ``python scripts/readme_tables.py [--write]``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- tables:migrate -->", "<!-- /tables:migrate -->"


def tables() -> str:
    from legacyconv.frontends import supported_layers
    from legacyconv.targets.keras import EMITTERS, supported_ops

    k1, k2 = set(supported_layers(1)), set(supported_layers(2))
    lines = ["| legacy layer class | Keras 1.x (Theano) | Keras 2.0–2.2 (Theano) |", "|---|:-:|:-:|"]
    for name in sorted(k1 | k2, key=str.lower):
        lines.append(f"| `{name}` | {'yes' if name in k1 else ''} | {'yes' if name in k2 else ''} |")
    lines += ["", "| graph op | stock Keras 3 layers |", "|---|---|"]
    for op in supported_ops():
        doc = (EMITTERS[op].__doc__ or "").strip().split("\n\n")[0]
        doc = " ".join(doc.split())
        doc = re.sub(rf"^``{op}``\s*(→|:)\s*", "", doc)
        lines.append(f"| `{op}` | {doc} |")
    return "\n".join(lines)


def readme_block(text: str) -> str | None:
    """The generated block currently in the README text, or None."""
    m = re.search(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), text, flags=re.S)
    return m.group(1).rstrip("\n") if m else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the block in README.md")
    args = parser.parse_args()
    block = tables()
    if not args.write:
        print(block)
        return
    text = README.read_text(encoding="utf8")
    if readme_block(text) is None:
        sys.exit(f"README.md has no {BEGIN} ... {END} block")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    README.write_text(text[:start] + "\n" + block + "\n" + text[end:], encoding="utf8")


if __name__ == "__main__":
    main()
