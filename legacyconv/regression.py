"""Prove a migration: run the new model on the legacy inputs and compare, node by node.

A *reference* is an ``.npz`` with the legacy ``input`` batch (``input_<node>`` per input of a
multi-input model), the legacy ``output`` (``output_<node>`` for further outputs) and, optionally,
per-layer outputs ``layerNN_<layer name>`` (channels-first, as Theano computed them).

:func:`check` runs the migrated model through its target's *runner*
(:class:`legacyconv.targets.keras.KerasRunner`; the ONNX target has the same interface): the
sidecar ``legacyconv migrate`` wrote maps every graph node with a legacy reference to the model
layer holding it and the exact permutation between the layouts, so every array is compared in
the legacy layout, in topological order (the first diverging node is the first row out of
tolerance), for any rank (1-D, 3-D, recurrent outputs) and any number of inputs and outputs.
A ``.keras`` file without a sidecar (or an in-memory ``keras.Model``) is compared the older way:
``layerNN_<name>`` against the layer of that name, NCHW references transposed to NHWC where the
shapes say so.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ._errors import LegacyconvError, LegacyconvTypeError
from ._tf import import_keras
from .io._atomic import PathLike

__all__ = [
    "DEFAULT_ATOL",
    "DEFAULT_RTOL",
    "TOLERANCE_SCALES",
    "CheckReport",
    "CheckRow",
    "check",
    "check_reference",
    "load_reference",
]

#: Default tolerances: float32 arithmetic summed in a different order than Theano's.
DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-5

#: How ``atol`` is scaled: 'element' (as given) or 'layer' (times ``max(1, max|reference|)`` of
#: each compared array, for networks whose activations are far from 1, e.g. Caffe-scale ones).
TOLERANCE_SCALES = ("element", "layer")

_LAYER_KEY = re.compile(r"layer(\d+)_(.+)")


@dataclass
class CheckRow:
    """The comparison of one reference array with the model.

    ``max_rel`` is the largest ``|model - reference| / |reference|`` over the elements with
    ``|reference| > atol * scale`` (elsewhere the absolute error is what counts); an element passes
    when ``|model - reference| <= atol * scale + rtol * |reference|``, where ``scale`` is 1, or
    ``max(1, max|reference|)`` of the whole array with ``tolerance_scale='layer'``; a NaN or Inf
    passes only against the same value at the same position (``nonfinite_mismatched`` counts
    those that are not; they are included in ``mismatched``). ``status`` is ``'ok'``,
    ``'MISMATCH'`` or ``'skipped'`` (``note`` says why).
    """

    key: str
    layer: str | None
    shape: tuple[int, ...]
    max_abs: float = 0.0
    max_rel: float = 0.0
    mismatched: int = 0
    nonfinite_mismatched: int = 0
    size: int = 0
    status: str = "ok"
    note: str = ""
    scale: float = 1.0


@dataclass
class CheckReport:
    """What :func:`check` found: one :class:`CheckRow` per compared reference array."""

    model: str | None
    reference: str | None
    rows: list[CheckRow]
    rtol: float
    atol: float
    n_samples: int
    batch_size: int
    notes: list[str] = field(default_factory=list)
    tolerance_scale: str = "element"

    @property
    def passed(self) -> bool:
        """True if every compared array is within tolerance (skipped rows do not count)."""
        compared = [r for r in self.rows if r.status != "skipped"]
        return bool(compared) and all(r.status == "ok" for r in compared)

    @property
    def first_diverging(self) -> CheckRow | None:
        """The first row, in layer order, that is out of tolerance; None if all pass."""
        return next((r for r in self.rows if r.status == "MISMATCH"), None)

    def table(self) -> str:
        """The human-readable table the ``check`` command prints."""
        by_layer = self.tolerance_scale == "layer"
        head: tuple[str, ...] = ("reference", "model layer", "shape", "max abs err", "max rel err")
        head += ("atol x scale",) if by_layer else ()
        head += ("mismatched", "status")
        body = []
        for r in self.rows:
            scaled = (f"{self.atol * r.scale:.3g}",) if by_layer else ()
            if r.status == "skipped":
                body.append(
                    (
                        r.key,
                        r.layer or "-",
                        str(r.shape),
                        "-",
                        "-",
                        *("-",) * len(scaled),
                        "-",
                        f"skipped: {r.note}",
                    )
                )
                continue
            status = r.status + (f" ({r.note})" if r.note else "")
            body.append(
                (
                    r.key,
                    r.layer or "-",
                    str(r.shape),
                    f"{r.max_abs:.3g}",
                    f"{r.max_rel:.3g}",
                    *scaled,
                    f"{r.mismatched}/{r.size}",
                    status,
                )
            )
        rows = [head] + body
        widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
        lines += [f"note: {n}" for n in self.notes]
        first = self.first_diverging
        if first is not None:
            lines.append(
                f"first diverging: {first.key} (model layer {first.layer}): max abs err {first.max_abs:.3g}, "
                f"{first.mismatched} of {first.size} values out of tolerance"
            )
        verdict = "PASS" if self.passed else "FAIL"
        scale = " x max(1, max|reference|) of each layer" if by_layer else ""
        lines.append(f"{verdict}: rtol={self.rtol:g}, atol={self.atol:g}{scale}, {self.n_samples} samples")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable report (what ``check --json`` writes)."""
        first = self.first_diverging
        return {
            "passed": self.passed,
            "model": self.model,
            "reference": self.reference,
            "rtol": self.rtol,
            "atol": self.atol,
            "tolerance_scale": self.tolerance_scale,
            "n_samples": self.n_samples,
            "batch_size": self.batch_size,
            "first_diverging": first.key if first else None,
            "notes": list(self.notes),
            "rows": [dict(asdict(r), shape=list(r.shape)) for r in self.rows],
        }


def load_reference(path: PathLike) -> dict[str, np.ndarray]:
    """Read a reference ``.npz`` (never unpickling) and check it: an ``input`` array with at least
    one sample, every array real-valued with one row per sample."""
    from .io.npz import read_npz
    from .io.weights import sniff_file

    where = os.fspath(path)
    kind = sniff_file(where, "reference")
    if kind != "npz":
        what = {"hdf5": "an HDF5 file", "empty": "empty", "pickle-or-npy": "a pickle or a single .npy array"}
        raise LegacyconvError(
            f"the reference {where} is {what.get(kind, 'not a zip')}, not an .npz with input and output arrays"
        )
    return check_reference(read_npz(where).arrays, f"the reference {where}")


def check_reference(arrays: Mapping[str, Any], where: str = "the reference") -> dict[str, np.ndarray]:
    """Check reference arrays (see :func:`load_reference`) and return them as a dict of ndarrays.

    A multi-input model's reference has ``input_<node>`` (or ``input_<i>``) arrays instead of
    ``input``.

    >>> check_reference({"input": np.zeros((0, 3)), "output": np.zeros((0, 2))})
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: the reference holds 0 samples: there is nothing to compare
    """
    refs = {str(k): np.asarray(v) for k, v in arrays.items()}
    inputs = [k for k in refs if k == "input" or k.startswith("input_")]
    if not inputs:
        raise LegacyconvError(f"{where} has no 'input' array; it holds {list(refs)[:20]}")
    for key, arr in refs.items():
        if arr.dtype.kind not in "biuf":
            kind = "complex" if arr.dtype.kind == "c" else "not numeric"
            raise LegacyconvError(
                f"{where}: array {key!r} has dtype {arr.dtype} ({kind}); reference values must be real numbers"
            )
    first = inputs[0]
    x = refs[first]
    n = x.shape[0] if x.ndim else 0
    if n == 0 or x.size == 0:
        raise LegacyconvError(f"{where} holds 0 samples: there is nothing to compare")
    for key, arr in refs.items():
        if key != first and (arr.ndim == 0 or arr.shape[0] != n):
            raise LegacyconvError(
                f"{where}: array {key!r} has shape {arr.shape}, but {first!r} holds {n} samples: "
                "every reference array must have one row per input sample"
            )
        if arr.size == 0:
            raise LegacyconvError(f"{where}: array {key!r} has shape {arr.shape}: no values to compare")
    return refs


def _load_model(model: Any) -> tuple[Any, str | None]:
    if not isinstance(model, (str, os.PathLike)):
        import_keras()  # raises the install hint when TensorFlow is missing
        if not hasattr(model, "inputs") or not hasattr(model, "outputs"):
            raise LegacyconvError(
                f"model must be a Keras model or a path to a .keras file. Received: {type(model).__name__}"
            )
        return model, None
    path = os.fspath(model)
    if not os.path.lexists(path):
        raise LegacyconvError(f"no such model file: {path}")
    from .io.hdf5 import check_model_file

    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise LegacyconvError(f"the model {path} is empty, not a Keras model file")
    check_model_file(path)  # regular file, and no HDF5 link out of it: before Keras opens it
    from .io.keras_model import legacy_model_kind

    legacy = legacy_model_kind(path)
    if legacy is not None:  # Keras 3 refuses it, or runs it with unflipped kernels
        raise LegacyconvError(
            f"{path} is {legacy}, not a migrated model: run `legacyconv migrate` (or "
            "legacyconv.migrate_keras1) on it first, then check the .keras file it writes"
        )
    import_keras()  # raises the install hint when TensorFlow is missing
    from .keras.saving import load_model

    try:
        return load_model(path), path
    except Exception as exc:  # Keras raises many types for a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LegacyconvError(f"cannot load {path} as a Keras model: {first}") from None


def _fits(shape: tuple[Any, ...], wanted: tuple[Any, ...]) -> bool:
    return len(shape) == len(wanted) and all(w is None or s == w for s, w in zip(shape, wanted))


def _nchw_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[0],) + tuple(shape[2:]) + (shape[1],)


def _prepare_target(ref: np.ndarray, tensor: Any, layer: Any) -> tuple[tuple[int, ...] | None, str]:
    """How to bring ``ref`` to the layout of the model tensor, and a note saying so.

    Returns ``((0, 2, 3, 1), note)`` for an NCHW reference of an NHWC tensor, ``((h, w, c), note)``
    for the (C, H, W)-ordered flatten of an (H, W, C) map, ``(None, '')`` to compare as it is.
    """
    out_shape = tuple(tensor.shape)
    if ref.ndim == 4 and _fits(_nchw_shape(ref.shape), out_shape):
        return (0, 2, 3, 1), "NCHW reference transposed to NHWC"
    if _fits(ref.shape, out_shape):
        # a Flatten behind a Permute flattens the order the Permute made (legacyconv's own
        # migrations put the legacy order back that way); else it saw the NHWC map
        if type(layer).__name__ == "Flatten" and ref.ndim == 2 and not _after_permute(layer):
            in_shape = tuple(layer.input.shape)
            if len(in_shape) == 4 and None not in in_shape[1:]:
                hwc = tuple(int(v) for v in in_shape[1:])
                return hwc, "reference re-ordered from (C, H, W) to (H, W, C) flatten order"
        return None, ""
    raise _ShapeMismatch(f"reference shape {ref.shape} does not fit the model's {out_shape}")


def _after_permute(layer: Any) -> bool:
    try:
        return type(layer.input._keras_history.operation).__name__ == "Permute"
    except AttributeError:
        return False


class _ShapeMismatch(Exception):
    pass


def _reorder(batch: np.ndarray, how: tuple[int, ...] | None) -> np.ndarray:
    if how is None:
        return batch
    if len(how) == 4:
        return np.transpose(batch, how)
    # the migrated Flatten sees (H, W, C); the legacy one saw (C, H, W)
    h, w, c = how
    return batch.reshape(len(batch), c, h, w).transpose(0, 2, 3, 1).reshape(len(batch), -1)


def check(
    model: Any,
    reference: PathLike | dict[str, np.ndarray],
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    batch_size: int = 256,
    progress: bool | None = None,
    tolerance_scale: str = "element",
) -> CheckReport:
    """Run ``model`` on the reference inputs and compare with the legacy outputs.

    Parameters
    ----------
    model : path, Migration, runner or keras.Model
        A file written by ``legacyconv migrate`` (``.keras``: loaded with Keras' safe mode, no
        code runs), the :class:`legacyconv.migrate.Migration` :func:`legacyconv.migrate.migrate`
        returned, a target runner, or a plain ``keras.Model`` (compared by layer names).
    reference : path or dict of arrays
        ``input``, ``output`` and optionally ``layerNN_<layer name>`` arrays (see the module
        docstring); a path is read with :func:`load_reference`.
    rtol, atol : float, optional
        An element passes when ``|model - reference| <= atol + rtol * |reference|``.
    batch_size : int, optional
        Samples per forward pass.
    progress : bool or None, optional
        Show a tqdm progress bar; ``None`` shows it when stderr is a terminal and tqdm is
        installed.
    tolerance_scale : {'element', 'layer'}, optional
        'layer' judges each array's errors against its own scale: an element passes when
        ``|model - reference| <= atol * max(1, max|reference|) + rtol * |reference|`` (the
        maximum over the whole reference array). Use it for networks whose activations reach
        hundreds (Caffe-converted models), where float32 rounding alone exceeds a fixed ``atol``.

    Returns
    -------
    CheckReport
        ``report.passed``, ``report.first_diverging`` and ``report.table()``.

    Raises
    ------
    LegacyconvError
        An unreadable model or reference, inputs that do not fit the model, or nothing to
        compare. A mismatch is not an error: it is in the report.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise LegacyconvError(f"batch_size must be a positive integer. Received: batch_size={batch_size!r}")
    if not (isinstance(tolerance_scale, str) and tolerance_scale in TOLERANCE_SCALES):
        raise LegacyconvError(
            f"tolerance_scale must be one of {{'element', 'layer'}}. Received: tolerance_scale={tolerance_scale!r}"
        )
    for name, value in (("rtol", rtol), ("atol", atol)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise LegacyconvError(f"{name} must be a finite number >= 0. Received: {name}={value!r}")
    ref_path = None
    if isinstance(reference, (str, os.PathLike)):
        ref_path = os.fspath(reference)
        refs = load_reference(reference)
    elif isinstance(reference, Mapping):
        refs = check_reference(reference)
    else:
        raise LegacyconvTypeError(
            "reference must be a path to an .npz file or a dict of arrays. "
            f"Received: reference of type {type(reference).__name__}"
        )
    runner, model_path = _runner_for(model)
    if runner is None:
        return _check_keras_model(model, refs, ref_path, rtol, atol, batch_size, progress, tolerance_scale)
    return _check_runner(
        runner, model_path, refs, ref_path, rtol, atol, batch_size, progress, tolerance_scale
    )


def _runner_for(model: Any) -> tuple[Any, str | None]:
    """The target runner for ``model``, or ``(None, path)`` for the layer-name comparison."""
    if hasattr(model, "run") and hasattr(model, "nodes") and hasattr(model, "inputs"):
        return model, getattr(model, "path", None)
    if hasattr(model, "runner") and hasattr(model, "built"):  # a Migration
        return model.runner(), None
    if not isinstance(model, (str, os.PathLike)):
        return None, None
    path = os.fspath(model)
    if not os.path.lexists(path):
        raise LegacyconvError(f"no such model file: {path}")
    from .targets import TARGETS

    target = next((t for t in TARGETS.values() if path.endswith(t.extensions)), None)
    if target is None:
        return None, path  # the layer-name comparison loads it (and says what is wrong with it)
    if target.name == "keras":
        from .io.hdf5 import check_model_file
        from .targets.keras import read_sidecar

        check_model_file(path)  # regular file, and no HDF5 link out of it: before anything opens it
        if read_sidecar(path) is None:
            return None, path
    module = target.load()
    try:
        return module.runner(path), path
    except LegacyconvError:
        raise
    except Exception as exc:  # frameworks raise many types for a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LegacyconvError(f"cannot load {path} as a {target.name} model: {first}") from None


def _feeds(runner: Any, refs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The reference input arrays by input node: ``input`` (one input), ``input_<node>`` or
    ``input_<i>`` (the i-th model input)."""
    feeds = {}
    for i, b in enumerate(runner.inputs):
        for key in (f"input_{b.node}", f"input_{i}", "input" if i == 0 else ""):
            if key in refs:
                feeds[b.node] = np.asarray(refs[key])
                break
        else:
            raise LegacyconvError(
                f"the reference has no array for the model input {b.node!r} (expected 'input' for a "
                f"single input, 'input_<node>' or 'input_<i>' per input); it holds {sorted(refs)}"
            )
        want = tuple(b.shape[1:]) if b.shape else None
        got = feeds[b.node].shape[1:]
        if want is not None and (
            len(got) != len(want) or any(w is not None and g != w for g, w in zip(got, want))
        ):
            raise LegacyconvError(
                f"the reference input has shape {feeds[b.node].shape}; the model input {b.node!r} of the "
                f"legacy model takes (batch, *{want})"
            )
    sizes = {len(v) for v in feeds.values()}
    if len(sizes) != 1:
        raise LegacyconvError(f"the reference inputs hold different numbers of samples: {sorted(sizes)}")
    return feeds


def _check_runner(
    runner: Any,
    model_path: str | None,
    refs: dict[str, np.ndarray],
    ref_path: str | None,
    rtol: float,
    atol: float,
    batch_size: int,
    progress: bool | None,
    tolerance_scale: str = "element",
) -> CheckReport:
    feeds = _feeds(runner, refs)
    n = len(next(iter(feeds.values())))
    notes = ["compared in the legacy layout through the model's legacyconv sidecar (exact permutations)"]
    if getattr(runner, "batch_dependent", False) and n > batch_size:
        notes.append(
            f"the model normalises with batch statistics: all {n} reference samples run as one batch "
            f"(not batches of {batch_size}); a reference recorded in smaller batches cannot be reproduced"
        )
        batch_size = n
    used = (
        {f"input_{b.node}" for b in runner.inputs}
        | {f"input_{i}" for i in range(len(runner.inputs))}
        | {"input"}
    )
    # (row, reference array, node) in topological order, then the model outputs
    probes: list[tuple[CheckRow, np.ndarray, str]] = []
    rows: list[CheckRow] = []

    def add(key: str, binding: Any) -> None:
        ref = np.asarray(refs[key])
        row = CheckRow(key, binding.layer, tuple(ref.shape), size=int(ref.size))
        rows.append(row)
        used.add(key)
        want = tuple(binding.shape[1:]) if binding.shape else None
        if want is not None and (
            len(ref.shape) - 1 != len(want)
            or any(w is not None and r != w for r, w in zip(ref.shape[1:], want))
        ):
            row.status, row.note = (
                "MISMATCH",
                f"reference shape {ref.shape} does not fit the node's (batch, *{want})",
            )
            row.mismatched, row.max_abs, row.max_rel = row.size, math.inf, math.inf
            return
        if list(binding.perm) != sorted(binding.perm):
            row.note = f"the model holds it transposed by {tuple(binding.perm)}"
        if tolerance_scale == "layer":
            row.scale = layer_scale(ref)
        probes.append((row, ref, binding.node))

    for b in runner.nodes:
        if b.reference and b.reference in refs and b.reference not in used and b.reference != "output":
            add(b.reference, b)
    for i, b in enumerate(runner.outputs):
        for key in ("output" if i == 0 else "", f"output_{b.node}"):
            if key in refs and key not in used:
                add(key, b)
    for key in sorted(k for k in refs if k not in used and k not in {"input"}):
        note = (
            "no node of the model reproduces it"
            if _LAYER_KEY.fullmatch(key)
            else "not an input, output or layerNN_ array"
        )
        rows.append(CheckRow(key, None, tuple(np.shape(refs[key])), status="skipped", note=note))
    if not probes and not any(r.status == "MISMATCH" for r in rows):
        raise LegacyconvError(
            "nothing to compare: the reference has no 'output' array and none of its layerNN_<name> "
            "arrays is the reference of a node of the model"
        )
    names = list(dict.fromkeys(node for _, _, node in probes))

    def compare(start: int, stop: int) -> None:
        outs = runner.run({k: v[start:stop] for k, v in feeds.items()}, names) if names else {}
        for row, ref, node in probes:
            _accumulate(row, outs[node], ref[start:stop], rtol, atol * row.scale)

    _in_batches(n, batch_size, progress, compare, [row for row, _, _ in probes])
    return CheckReport(
        model_path, ref_path, rows, float(rtol), float(atol), n, batch_size, notes, tolerance_scale
    )


def _check_keras_model(
    model: Any,
    refs: dict[str, np.ndarray],
    ref_path: str | None,
    rtol: float,
    atol: float,
    batch_size: int,
    progress: bool | None,
    tolerance_scale: str = "element",
) -> CheckReport:
    """The layer-name comparison of a Keras model without a sidecar (shapes decide the layout)."""
    if "input" not in refs:
        raise LegacyconvError(f"the reference has no 'input' array; it holds {list(refs)}")
    keras_model, model_path = _load_model(model)
    keras = import_keras()

    if len(keras_model.inputs) != 1:
        raise LegacyconvError(
            f"check compares single-input models; this model has {len(keras_model.inputs)} inputs"
        )
    x = np.asarray(refs["input"])
    notes: list[str] = []
    in_shape = tuple(keras_model.inputs[0].shape)
    if _fits(x.shape[1:], in_shape[1:]):
        pass
    elif x.ndim == 4 and _fits(_nchw_shape(x.shape)[1:], in_shape[1:]):
        x = np.transpose(x, (0, 2, 3, 1))
        notes.append("the reference input is NCHW; it was transposed to the model's NHWC input")
    else:
        raise LegacyconvError(
            f"the reference input has shape {x.shape}, which fits the model input {in_shape} neither "
            "as it is nor transposed from NCHW to NHWC"
        )

    def order(key: str) -> tuple[int, int, str]:
        m = _LAYER_KEY.fullmatch(key)
        return (0, int(m.group(1)), key) if m else (1, 0, key)

    layers = {layer.name: layer for layer in keras_model.layers}
    rows: list[CheckRow] = []
    probes: list[tuple[CheckRow, np.ndarray, tuple[int, ...] | None]] = []
    tensors = []
    for key in sorted((k for k in refs if k != "input"), key=order):
        ref = np.asarray(refs[key])
        m = _LAYER_KEY.fullmatch(key)
        if m:
            layer = layers.get(m.group(2))
            if layer is None:
                rows.append(
                    CheckRow(
                        key,
                        None,
                        ref.shape,
                        status="skipped",
                        note=f"no layer named {m.group(2)!r} in the model",
                    )
                )
                continue
            tensor, lname = layer.output, layer.name
        elif key == "output":
            layer, tensor, lname = None, keras_model.outputs[0], "(model output)"
        else:
            rows.append(
                CheckRow(key, None, ref.shape, status="skipped", note="not an output or layerNN_ array")
            )
            continue
        row = CheckRow(key, lname, ref.shape, size=int(ref.size))
        rows.append(row)
        try:
            how, note = _prepare_target(ref, tensor, layer)
        except _ShapeMismatch as exc:
            row.status, row.note = "MISMATCH", str(exc)
            row.mismatched = row.size
            row.max_abs = row.max_rel = math.inf
            continue
        row.note = note
        row.shape = _nchw_shape(ref.shape) if how is not None and len(how) == 4 else ref.shape
        if tolerance_scale == "layer":
            row.scale = layer_scale(ref)
        probes.append((row, ref, how))
        tensors.append(tensor)
    if not probes and not any(r.status == "MISMATCH" for r in rows):
        raise LegacyconvError(
            "nothing to compare: the reference has no 'output' array and none of its layerNN_<name> "
            "arrays names a layer of the model"
        )

    n = x.shape[0]
    if probes:
        probe = keras.Model(keras_model.inputs[0], tensors)
        dtype = np.dtype(keras_model.inputs[0].dtype or "float32")

        def compare(start: int, stop: int) -> None:
            outs = probe(x[start:stop].astype(dtype, copy=False), training=False)
            if not isinstance(outs, (list, tuple)):
                outs = [outs]
            for (row, ref, how), out in zip(probes, outs):
                _accumulate(row, np.asarray(out), _reorder(ref[start:stop], how), rtol, atol * row.scale)

        _in_batches(n, batch_size, progress, compare, [row for row, _, _ in probes])
    return CheckReport(
        model_path, ref_path, rows, float(rtol), float(atol), n, batch_size, notes, tolerance_scale
    )


def layer_scale(ref: np.ndarray) -> float:
    """``max(1, max|ref|)`` over the finite values of ``ref``: what ``tolerance_scale='layer'``
    multiplies ``atol`` by.

    >>> layer_scale(np.array([0.5, -300.0])), layer_scale(np.array([0.1, np.nan]))
    (300.0, 1.0)
    """
    finite = np.abs(ref[np.isfinite(ref)]) if ref.size else ref
    return max(1.0, float(finite.max())) if finite.size else 1.0


def _in_batches(n: int, batch_size: int, progress: bool | None, compare: Any, rows: list[CheckRow]) -> None:
    """Call ``compare(start, stop)`` batch by batch (with the progress bar), then mark the rows
    with values out of tolerance."""
    bar = _progress_bar(n, progress)
    try:
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            compare(start, stop)
            if bar is not None:
                bar.update(stop - start)
    finally:
        if bar is not None:
            bar.close()
    for row in rows:
        if row.mismatched:
            row.status = "MISMATCH"
        if row.nonfinite_mismatched:
            why = f"{row.nonfinite_mismatched} NaN/Inf placed differently"
            row.note = f"{row.note}; {why}" if row.note else why


def _accumulate(row: CheckRow, out: np.ndarray, ref: np.ndarray, rtol: float, atol: float) -> None:
    """Compare one batch and add it to ``row``: the one place where an element passes or fails.

    Finite pairs pass when ``|out - ref| <= atol + rtol * |ref|``; a non-finite value on either
    side passes only against the same value at the same position (NaN against NaN, +Inf
    against +Inf, -Inf against -Inf), and a non-finite mismatch makes ``max_abs`` infinite.
    """
    a = out.astype(np.float64)
    b = ref.astype(np.float64)
    if a.shape != b.shape:
        row.mismatched += int(b.size)
        row.max_abs = row.max_rel = math.inf
        row.note = f"model output shape {a.shape} differs from the reference {b.shape}"
        return
    finite = np.isfinite(a) & np.isfinite(b)
    with np.errstate(invalid="ignore", over="ignore"):
        same_nonfinite = (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))
        diff = np.where(finite, np.abs(a - b), 0.0)
        diff = np.where(np.isnan(diff), np.inf, diff)
        bad = finite & (diff > atol + rtol * np.abs(b))
        big = finite & (np.abs(b) > atol)
        rel = diff[big] / np.abs(b[big])
    nonfinite_bad = int(np.count_nonzero(~finite & ~same_nonfinite))
    row.mismatched += int(np.count_nonzero(bad)) + nonfinite_bad
    row.nonfinite_mismatched += nonfinite_bad
    if nonfinite_bad:
        row.max_abs = row.max_rel = math.inf
    if diff.size:
        row.max_abs = max(row.max_abs, float(diff.max()))
    if rel.size:
        row.max_rel = max(row.max_rel, float(rel.max()))


def _progress_bar(total: int, progress: bool | None) -> Any:
    if progress is None:
        progress = sys.stderr.isatty()
        if progress:
            try:
                import tqdm  # noqa: F401
            except ImportError:
                progress = False
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        raise ImportError('the progress bar needs tqdm: pip install "legacyconv[progress]"') from None
    return tqdm(total=total, unit="sample", desc="check", file=sys.stderr)
