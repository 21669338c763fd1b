"""Read the printed results of the seed article `theano_conv2d_vs_fftconvolve.md` (its text,
copied into tests/data/articles/), so that the tests compare against the article's own numbers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np

ARTICLE = Path(__file__).parent / "data" / "articles" / "theano_conv2d_vs_fftconvolve.md"
_HEADERS = {"Output for Theano.": "theano", "Output for scipy.": "scipy"}


def _parse_value(text: str):
    text = text.strip()
    if text.startswith("ValueError:"):
        return text
    if text.startswith("("):
        return ast.literal_eval(text)
    literal = re.sub(r"(?<=[\d.\]])\s+(?=[\[\d-])", ", ", text)
    return np.array(ast.literal_eval(literal))


def article_blocks() -> list[dict]:
    """Each ```txt block of the article as {'m_arr': ..., ('theano', 'full'): ..., ...}."""
    blocks = []
    for raw in re.findall(r"```txt\n(.*?)```", ARTICLE.read_text(encoding="utf-8"), re.S):
        parsed: dict = {}
        library, key, lines = None, None, []
        for line in raw.splitlines() + ["full:"]:  # a final header flushes the last section
            stripped = line.strip()
            header = stripped in _HEADERS or stripped in ("full:", "valid:", "m_arr =", "w_arr =")
            if not header:
                lines.append(line)
                continue
            if key is not None and any(text.strip() for text in lines):
                parsed[key] = _parse_value("\n".join(lines))
            lines = []
            if stripped in _HEADERS:
                library, key = _HEADERS[stripped], None
            elif stripped in ("full:", "valid:"):
                key = (library, stripped[:-1])
            else:
                key = stripped[:5]
        blocks.append(parsed)
    return blocks
