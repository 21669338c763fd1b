"""The Keras 3 target: a graph becomes a channels-last ``keras.Model`` of stock layers only.

One emitter per graph op (``@emits("conv")`` in ``conv.py``, ``pool.py``, ``shape.py``,
``activation.py``, ``norm.py``, ``merge.py``, ``dense.py``, ``recurrent.py``), the lazy layout
in ``_context.py``, the build in ``build.py``, files in ``saving.py``, the runner ``check``
uses in ``runner.py``. Nothing is imported from TensorFlow until :func:`emit` runs.
"""

from __future__ import annotations

from ._context import EMITTERS, emits
from .build import INPUT_LAYOUTS, KerasMigration, emit, unsupported_ops
from .runner import Binding, KerasRunner
from .saving import SIDECAR_MEMBER, export_savedmodel, read_sidecar, save

__all__ = [
    "EMITTERS",
    "INPUT_LAYOUTS",
    "SIDECAR_MEMBER",
    "Binding",
    "KerasMigration",
    "KerasRunner",
    "emit",
    "emits",
    "export_savedmodel",
    "read_sidecar",
    "runner",
    "save",
    "supported_ops",
    "unsupported_ops",
]


def runner(source: object) -> KerasRunner:
    """A :class:`KerasRunner` for a ``.keras`` file or an in-memory :class:`KerasMigration`."""
    return KerasRunner(source)


def supported_ops() -> list[str]:
    """The graph ops this target emits, sorted."""
    from .build import _load_emitters

    _load_emitters()
    return sorted(EMITTERS)
