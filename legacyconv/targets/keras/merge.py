"""``merge`` as stock Keras 3 merge layers. Inputs are brought to the first input's layout; a
concatenation axis is mapped through it. Weighted sums (Lasagne's ``coeffs``) scale each input
with a ``Rescaling`` first.
"""

from __future__ import annotations

from typing import Any

from ..._errors import LegacyconvError
from ...graph import Node
from ._context import KerasBuild, Perm, emits

__all__: list[str] = []

_ELEMENTWISE = {
    "sum": "Add",
    "mul": "Multiply",
    "ave": "Average",
    "max": "Maximum",
    "min": "Minimum",
    "sub": "Subtract",
}


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
        axes = node.attrs.get("axes", 1)
        if axes not in (1, -1, (1, 1), [1, 1], (-1, -1), [-1, -1]):
            raise LegacyconvError(
                f"{node.source or node.name}: merge {mode!r} with axes={axes!r} is not supported"
            )
        layer = b.layers.Dot(axes=1, normalize=mode == "cos", name=b.name(node))
        return layer(xs), perm
    if mode not in _ELEMENTWISE:
        raise LegacyconvError(f"{node.source or node.name}: merge mode {mode!r} is not supported")
    if mode == "sub" and len(xs) != 2:
        raise LegacyconvError(f"{node.source or node.name}: merge 'sub' takes two inputs, got {len(xs)}")
    coeffs = node.attrs.get("coeffs")
    if mode == "sum" and coeffs is not None:
        xs = [
            x if float(c) == 1.0 else b.layers.Rescaling(float(c), name=b.name(node, f"coeff{i}"))(x)
            for i, (x, c) in enumerate(zip(xs, coeffs))
        ]
    return getattr(b.layers, _ELEMENTWISE[mode])(name=b.name(node))(xs), perm
