#!/usr/bin/env python3
"""Print the seed article's Theano results next to what legacyconv computes, as the article
printed them (rounded to int), and say whether every number matches. Exit 1 on any mismatch.

    python scripts/reproduce_article.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import legacyconv  # noqa: E402

from article import article_blocks  # noqa: E402

EXAMPLES = [
    ("5x5 arange * 3x3 ones, m[None, None] and w[None, None]", 0),
    ("(2, 3, 5, 5) arange * (1, 3, 3, 3) ones", 1),
    ("(2, 1, 3, 3) arange * (3, 1, 1, 1) ones", 4),
]


def main() -> int:
    blocks = article_blocks()
    ok = True
    for title, index in EXAMPLES:
        block = blocks[index]
        m = block["m_arr"].astype(np.float32)
        w = block["w_arr"].astype(np.float32)
        if m.ndim == 2:
            m, w = m[None, None], w[None, None]
        print(f"=== {title}")
        for mode in ("full", "valid"):
            ours = legacyconv.nnet.conv.conv2d(m, w, border_mode=mode).round().astype(int)
            theirs = block[("theano", mode)]
            same = ours.shape == theirs.shape and bool(np.array_equal(ours, theirs))
            ok &= same
            print(
                f"{mode}: legacyconv {ours.shape}  |  article (real Theano) {theirs.shape}  ->  "
                f"{'identical' if same else 'DIFFERENT'}"
            )
            print(_side_by_side(ours, theirs))
    print("=== stack size (2, 3, 5, 5) * (1, 1, 3, 3)")
    try:
        legacyconv.conv2d(np.zeros((2, 3, 5, 5), np.float32), np.ones((1, 1, 3, 3), np.float32))
        print("no error: DIFFERENT from Theano")
        ok = False
    except legacyconv.LegacyconvError as exc:
        print(f"LegacyconvError: {exc}")
        print("article (real Theano): ValueError: GpuDnnConv images and kernel must have the same stack size")
    print("\nall results identical to the article" if ok else "\nMISMATCH with the article")
    return 0 if ok else 1


def _side_by_side(a: np.ndarray, b: np.ndarray) -> str:
    left = np.array2string(a.reshape(-1, a.shape[-1])).splitlines()
    right = np.array2string(b.reshape(-1, b.shape[-1])).splitlines()
    width = max(len(line) for line in left)
    return "\n".join(f"  {a_line:<{width}}    {b_line}" for a_line, b_line in zip(left, right))


if __name__ == "__main__":
    sys.exit(main())
