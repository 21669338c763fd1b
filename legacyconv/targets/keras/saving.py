"""Write a migrated Keras model: the ``.keras`` file with its ``legacyconv.json`` sidecar member
(atomically), a TensorFlow SavedModel for serving, and reading the sidecar back.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from typing import Any

from ..._errors import LegacyconvError
from ...io._atomic import PathLike, atomic_write, check_output_dir
from .build import SIDECAR_FORMAT, KerasMigration

__all__ = ["SIDECAR_MEMBER", "export_savedmodel", "read_sidecar", "save"]

SIDECAR_MEMBER = "legacyconv.json"


def save(
    built: KerasMigration, path: PathLike, *, force: bool = False, inputs: Iterable[PathLike] = ()
) -> str:
    """Save ``built.model`` to ``path`` (``.keras``) with the sidecar member, atomically.

    Never overwrites ``inputs``; overwrites an existing ``path`` only with ``force``.
    """
    out = os.fspath(path)
    if not out.endswith(".keras"):
        raise LegacyconvError(
            f"the Keras target writes Keras 3's format: the output must end in .keras. Received: {out}"
        )

    def write(tmp: str) -> None:
        built.model.save(tmp)
        with zipfile.ZipFile(tmp, "a") as zf:
            zf.writestr(SIDECAR_MEMBER, json.dumps(built.sidecar, indent=1))

    return atomic_write(out, write, force=force, inputs=list(inputs), suffix=".keras")


def read_sidecar(path: PathLike) -> dict[str, Any] | None:
    """The sidecar of a ``.keras`` file written by legacyconv, or None if it has none (or is no zip)."""
    if not zipfile.is_zipfile(os.fspath(path)):
        return None
    try:
        with zipfile.ZipFile(os.fspath(path)) as zf:
            if SIDECAR_MEMBER not in zf.namelist():
                return None
            data = json.loads(zf.read(SIDECAR_MEMBER).decode("utf-8"))
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LegacyconvError(f"cannot read the legacyconv sidecar of {os.fspath(path)}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
        raise LegacyconvError(f"{os.fspath(path)}: the {SIDECAR_MEMBER} member is not a legacyconv sidecar")
    return data


def export_savedmodel(
    built: KerasMigration, directory: PathLike, *, force: bool = False, inputs: Iterable[PathLike] = ()
) -> str:
    """Export ``built.model`` as a TensorFlow SavedModel (``model.export``) into ``directory``.

    Written into a temporary sibling directory and renamed into place when complete; an existing
    directory is replaced only with ``force``.
    """
    out = check_output_dir(directory, force=force, inputs=inputs)
    parent = os.path.dirname(os.path.abspath(out))
    tmp = tempfile.mkdtemp(prefix=".savedmodel-", dir=parent)
    try:
        built.model.export(os.path.join(tmp, "model"), verbose=False)
        if os.path.exists(out):
            shutil.rmtree(out)
        os.replace(os.path.join(tmp, "model"), out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
