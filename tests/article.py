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

        def flush():
            if key is not None and any(line.strip() for line in lines):
                parsed[key] = _parse_value("\n".join(lines))

        for line in raw.splitlines():
            stripped = line.strip()
            if stripped in _HEADERS:
                flush()
                library, key, lines = _HEADERS[stripped], None, []
            elif stripped in ("full:", "valid:"):
                flush()
                key, lines = (library, stripped[:-1]), []
            elif stripped in ("m_arr =", "w_arr ="):
                flush()
                key, lines = stripped[:5], []
            else:
                lines.append(line)
        flush()
        blocks.append(parsed)
    return blocks
