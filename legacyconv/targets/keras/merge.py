"""``merge`` as stock Keras 3 merge layers. Inputs are brought to the first input's layout; a
concatenation axis is mapped through it. Weighted sums (Lasagne's ``coeffs``) scale each input
with a ``Rescaling`` first.
"""

from __future__ import annotations

from typing import Any

from ...graph import Node
from ._context import KerasBuild, Perm, emits, refuses

__all__: list[str] = []

_ELEMENTWISE = {
    "sum": "Add",
    "mul": "Multiply",
    "ave": "Average",
    "max": "Maximum",
    "min": "Minimum",
    "sub": "Subtract",
}


@refuses("merge")
def _merge_refusal(node: Node) -> str | None:
    mode = node.attrs["mode"]
    if mode in ("dot", "cos") and node.attrs.get("axes", 1) not in (
        1,
        -1,
        (1, 1),
        [1, 1],
        (-1, -1),
        [-1, -1],
    ):
        return f"merge {mode!r} with axes={node.attrs['axes']!r} is not supported"
    if mode not in (*_ELEMENTWISE, "concat", "dot", "cos"):
        return f"merge mode {mode!r} is not supported"
    if mode == "sub" and len(node.inputs) != 2:
        return f"merge 'sub' takes two inputs, got {len(node.inputs)}"
    return None


@emits("merge")
def emit_merge(b: KerasBuild, node: Node) -> tuple[Any, Perm]:
    """``merge`` → Add / Multiply / Average / Maximum / Minimum / Subtract / Concatenate / Dot."""
    mode = node.attrs["mode"]
    _, perm = b.held(node.inputs[0])
    xs = [b.get(name, perm) for name in node.inputs]
    if mode == "concat":
        axis = perm.index(int(node.attrs.get("axis", -1)) % len(perm))
        return b.layers.Concatenate(axis=axis, name=b.name(node))(xs), perm
    if mode in ("dot", "cos"):
        layer = b.layers.Dot(axes=1, normalize=mode == "cos", name=b.name(node))
        return layer(xs), perm
    coeffs = node.attrs.get("coeffs")
    if mode == "sum" and coeffs is not None:
        xs = [
            x if float(c) == 1.0 else b.layers.Rescaling(float(c), name=b.name(node, f"coeff{i}"))(x)
            for i, (x, c) in enumerate(zip(xs, coeffs))
        ]
    return getattr(b.layers, _ELEMENTWISE[mode])(name=b.name(node))(xs), perm
