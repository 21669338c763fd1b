"""Re-lay every weight of a file between Theano's layouts and TensorFlow's: :func:`convert_weights`.

What an array needs depends on what it is, and a bare ``.npz`` does not say: a *spec* (JSON, or
TOML on Python >= 3.11 or with ``tomli``) names each array's role and the Theano call arguments
that matter for it. Example (Lasagne's positional ``arr_0, arr_1, …``)::

    {
      "arrays": {
        "arr_0": {"role": "conv_kernel", "filter_flip": true},
        "arr_1": {"role": "bias"},
        "arr_2": {"role": "dense_kernel", "feature_shape": [6, 12, 12]},
        "arr_3": {"role": "bias"}
      }
    }

Entry keys: ``role`` (one of :data:`legacyconv.io.ROLES` except ``'unknown'``), ``filter_flip``
(conv and depthwise kernels, required: the ``filter_flip`` of the Theano call, Lasagne's
``flip_filters``; false for weights converted from Caffe, such as the Lasagne model zoo's),
``num_groups`` (conv kernels, checked), ``num_channels`` (depthwise kernels), ``feature_shape``
(a dense kernel that follows a flatten: the channels-first ``(channels, rows, cols)`` map that was
flattened; null otherwise; required, list or null, for the first dense kernel after a conv kernel),
``name`` (a new name in the output), ``layer`` (a note).
``legacyconv inspect FILE --spec-template json`` prints a spec to start from; the values it cannot
know are written as ``"FILL IN: ..."`` placeholders, which ``convert`` refuses until replaced.

Nothing is guessed: a wrong ``filter_flip`` mirrors every kernel, and a missing ``feature_shape``
leaves a dense kernel's rows in Theano's (C, H, W) order, which a channels-last model reads as
(H, W, C); both give wrong outputs without any error, so ``convert`` refuses to assume either. It
also refuses a file whose conv kernels are already in the target layout (the bias after a kernel
says which axis holds the output channels).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import layouts
from ._errors import LegacyconvError
from .io import ArrayInfo, WeightFile, load_weights
from .io._atomic import PathLike
from .io.inputs import read_input_bytes
from .io.limits import check_json_text, current_limits
from .io.names import check_array_name

__all__ = ["Spec", "convert_weights", "load_spec", "spec_template"]

Spec = dict[str, dict[str, Any]]

#: The prefix of the values ``spec_template`` cannot know; ``convert`` refuses them.
PLACEHOLDER = "FILL IN"

_WHY = {
    "filter_flip": "say true or false: it is the filter_flip of the Theano call that used the kernel "
    "(Lasagne's flip_filters; false for weights converted from Caffe, such as the Lasagne model zoo's); "
    "a wrong value mirrors every kernel and the outputs are wrong by the order of the activations",
    "feature_shape": "give the channels-first [channels, rows, cols] of the feature map that was flattened "
    "into this dense layer, or null if its input was not a flattened map (e.g. after global pooling); "
    "without it the rows stay in Theano's (C, H, W) order, which a channels-last model reads as (H, W, C): "
    "wrong outputs without any error",
}

_ENTRY_KEYS = {
    "role": str,
    "filter_flip": (bool, str),
    "num_groups": int,
    "num_channels": int,
    "feature_shape": (list, tuple, type(None), str),
    "name": str,
    "layer": str,
}
_TOP_KEYS = {"arrays", "version", "description"}
_SPEC_ROLES = ("conv_kernel", "depthwise_kernel", "pointwise_kernel", "dense_kernel", "bias", "keep")
_TARGETS = ("tf", "theano")


def _read_spec_file(path: str) -> Any:
    data = read_input_bytes(path, "spec", current_limits().max_text_bytes)
    check_json_text(data, f"the spec {path}")
    if path.lower().endswith(".toml"):
        try:
            import tomllib
        except ImportError:
            try:
                import tomli as tomllib  # type: ignore[no-redef]
            except ImportError:
                raise LegacyconvError(
                    f"the spec {path} is TOML, which needs Python >= 3.11 or `pip install tomli`; "
                    "or write the spec as JSON"
                ) from None
        try:
            return tomllib.loads(data.decode("utf8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise LegacyconvError(f"the spec {path} is not valid TOML: {exc}") from None
    try:
        return json.loads(data.decode("utf8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise LegacyconvError(f"the spec {path} is not valid JSON: {exc}") from None


def load_spec(spec: PathLike | Mapping[str, Any]) -> Spec:
    """Read and validate a spec (a ``.json``/``.toml`` path or an already parsed mapping).

    Returns ``{array name: entry}`` with validated entries. Raises :class:`LegacyconvError`
    naming the spec, the array and the key for anything malformed.

    >>> load_spec({"arrays": {"arr_0": {"role": "conv_kernel", "filter_flip": False}}})
    {'arr_0': {'role': 'conv_kernel', 'filter_flip': False}}
    >>> load_spec({"arrays": {"arr_0": {"role": "conv"}}})
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: spec: arrays.arr_0.role must be one of {conv_kernel, depthwise_kernel, pointwise_kernel, dense_kernel, bias, keep}. Received: 'conv'
    """
    where = "spec"
    if isinstance(spec, (str, os.PathLike)):
        where = f"spec {os.fspath(spec)}"
        spec = _read_spec_file(os.fspath(spec))
    if not isinstance(spec, Mapping):
        raise LegacyconvError(
            f"{where}: must be an object with an 'arrays' table. Received: {type(spec).__name__}"
        )
    unknown = set(spec) - _TOP_KEYS
    if unknown:
        raise LegacyconvError(
            f"{where}: unknown top-level keys {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}"
        )
    arrays = spec.get("arrays")
    if not isinstance(arrays, Mapping) or not arrays:
        raise LegacyconvError(f"{where}: needs a non-empty 'arrays' table mapping array names to entries")
    out: Spec = {}
    for name, entry in arrays.items():
        here = f"{where}: arrays.{str(name)[:60]}"
        if not isinstance(entry, Mapping):
            raise LegacyconvError(f"{here} must be a table of keys. Received: {entry!r}")
        bad = set(entry) - set(_ENTRY_KEYS)
        if bad:
            raise LegacyconvError(f"{here}: unknown keys {sorted(bad)}; allowed: {sorted(_ENTRY_KEYS)}")
        for key, value in entry.items():
            typ = _ENTRY_KEYS[key]
            if key in _WHY and isinstance(value, str):
                if value.startswith(PLACEHOLDER):
                    raise LegacyconvError(f"{here}.{key} is still the template's placeholder: {_WHY[key]}")
                raise LegacyconvError(f"{here}.{key} has the wrong type. Received: {key}={value!r}")
            if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):  # type: ignore[arg-type]
                raise LegacyconvError(f"{here}.{key} has the wrong type. Received: {key}={value!r}")
        role = entry.get("role")
        if role not in _SPEC_ROLES:
            raise LegacyconvError(
                f"{here}.role must be one of {{{', '.join(_SPEC_ROLES)}}}. Received: {role!r}"
            )
        fs = entry.get("feature_shape")
        if fs is not None and (
            role != "dense_kernel"
            or len(fs) < 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in fs)
        ):
            raise LegacyconvError(
                f"{here}.feature_shape must be the channels-first (channels, rows, cols) of positive "
                f"integers, for a dense_kernel only. Received: feature_shape={fs!r} with role={role!r}"
            )
        for key, roles in (
            ("filter_flip", ("conv_kernel", "depthwise_kernel")),
            ("num_groups", ("conv_kernel",)),
            ("num_channels", ("depthwise_kernel",)),
        ):
            if key in entry and role not in roles:
                raise LegacyconvError(
                    f"{here}.{key} only applies to {' and '.join(roles)} arrays, not {role}"
                )
        for key in ("num_groups", "num_channels"):
            if key in entry and entry[key] < 1:
                raise LegacyconvError(f"{here}.{key} must be a positive integer. Received: {entry[key]!r}")
        if "name" in entry:
            check_array_name(entry["name"], f"{here}.name")
        out[str(name)] = dict(entry)
    return out


def _apply_spec(weights: WeightFile, spec: Spec, where: str) -> dict[str, tuple[ArrayInfo, dict[str, Any]]]:
    missing = [n for n in spec if n not in weights.arrays]
    if missing:
        raise LegacyconvError(
            f"{where} names arrays that are not in {weights.path}: {missing}; the file holds {list(weights.arrays)}"
        )
    plan = {}
    after_conv = False  # a conv kernel came before, and no dense kernel since
    for name in weights.arrays:
        info = weights.info[name]
        entry = spec.get(name, {})
        if entry:
            _require_what_matters(name, entry, after_conv, where)
            fs = entry.get("feature_shape")
            info = ArrayInfo(
                role=entry["role"],
                layout=info.layout if info.layout != "any" else "unknown",
                layer=entry.get("layer", info.layer),
                filter_flip=entry.get("filter_flip", True),
                feature_shape=tuple(fs) if fs is not None else None,
            )
        if info.role in _CONV_ROLES:
            after_conv = True
        elif info.role == "dense_kernel":
            after_conv = False
        plan[name] = (info, entry)
    return plan


_CONV_ROLES = ("conv_kernel", "depthwise_kernel", "pointwise_kernel")


def _require_what_matters(name: str, entry: dict[str, Any], after_conv: bool, where: str) -> None:
    """Refuse a spec entry that leaves out what changes the numbers (see the module docstring)."""
    role = entry["role"]
    if role in ("conv_kernel", "depthwise_kernel") and "filter_flip" not in entry:
        raise LegacyconvError(f"{where}: arrays.{name} ({role}) needs filter_flip: {_WHY['filter_flip']}")
    if role == "dense_kernel" and after_conv and "feature_shape" not in entry:
        raise LegacyconvError(
            f"{where}: arrays.{name} is the first dense_kernel after a conv kernel and needs feature_shape: "
            f"{_WHY['feature_shape']}"
        )


def _check_source_layout(
    weights: WeightFile, plan: dict[str, tuple[ArrayInfo, dict[str, Any]]], to: str
) -> None:
    """Refuse conv kernels that are already in the ``to`` layout, told by the bias that follows
    them: its length is the output channels, axis 0 of a Theano kernel and the last axis of a
    TensorFlow one."""
    names = list(weights.arrays)
    for i, name in enumerate(names[:-1]):
        info, _ = plan[name]
        arr, nxt = weights.arrays[name], weights.arrays[names[i + 1]]
        if info.role != "conv_kernel" or info.layout != "unknown" or arr.ndim < 3 or nxt.ndim != 1:
            continue
        out_theano, out_tf = arr.shape[0], arr.shape[-1]
        source, out_source, out_target = (
            ("theano", out_theano, out_tf) if to == "tf" else ("tf", out_tf, out_theano)
        )
        if len(nxt) != out_source and len(nxt) == out_target:
            raise LegacyconvError(
                f"array {name!r} of shape {arr.shape} looks already in the {to} layout: the vector after it "
                f"({names[i + 1]!r}, {len(nxt)} values) matches its {'last' if to == 'tf' else 'first'} axis, "
                f"where the {to} layout keeps the output channels, not the {source} layout's; converting it "
                "again would scramble the kernel"
            )


def _convert_one(arr: np.ndarray, info: ArrayInfo, entry: Mapping[str, Any], to: str) -> np.ndarray:
    role = info.role
    if role in ("bias", "keep"):
        return arr
    if role == "conv_kernel":
        groups = entry.get("num_groups", 1)
        if to == "tf":
            return layouts.theano_kernel_to_tf(arr, info.filter_flip, num_groups=groups)
        return layouts.tf_kernel_to_theano(arr, info.filter_flip, num_groups=groups)
    if role == "depthwise_kernel":
        if to == "tf":
            if "num_channels" not in entry:
                raise LegacyconvError(
                    f"the spec must give num_channels for the depthwise_kernel of shape {arr.shape}: "
                    "(channels * multiplier, 1, rows, cols) alone cannot say how it splits"
                )
            return layouts.theano_depthwise_kernel_to_tf(
                arr, info.filter_flip, num_channels=entry["num_channels"]
            )
        return layouts.tf_depthwise_kernel_to_theano(arr, info.filter_flip)
    if role == "pointwise_kernel":
        return (
            layouts.theano_pointwise_kernel_to_tf(arr)
            if to == "tf"
            else layouts.tf_pointwise_kernel_to_theano(arr)
        )
    if role == "dense_kernel":
        if info.feature_shape is None:
            if arr.ndim != 2:
                raise LegacyconvError(f"a dense kernel must be 2-d (in, out). Received: shape {arr.shape}")
            return arr
        if to == "tf":
            return layouts.dense_kernel_theano_to_tf(arr, info.feature_shape)
        return layouts.dense_kernel_tf_to_theano(arr, info.feature_shape)
    raise LegacyconvError(f"unknown role {role!r}")


def convert_weights(
    weights: WeightFile | PathLike,
    *,
    to: str = "tf",
    spec: PathLike | Mapping[str, Any] | None = None,
) -> WeightFile:
    """Convert every array of a weight file to TensorFlow's layout (or back to Theano's).

    Parameters
    ----------
    weights : WeightFile or path
        What :func:`legacyconv.io.load_weights` returns, or a file to load.
    to : {'tf', 'theano'}, optional
        The target layout. ``'tf'``: Theano conv kernels ``(out, in, rows, cols)`` become HWIO,
        flipped when the Theano call used ``filter_flip=True``; the rows of a dense kernel that
        follows a flatten are re-ordered from ``(C, H, W)`` to ``(H, W, C)`` flatten order;
        biases are unchanged. ``'theano'`` is the exact inverse.
    spec : path or mapping, optional
        Roles and Theano call arguments per array (see the module docstring); needed for every
        array of two or more dimensions whose role the file does not record.

    Returns
    -------
    WeightFile
        The converted arrays under the same names (or the spec's ``name``), in the same order;
        save it with :func:`legacyconv.io.save_weights`. The input is not modified.

    Raises
    ------
    LegacyconvError
        An array without a role, a spec that does not fit the file, an array already in the
        target layout, or a shape that does not fit its role.

    Warns
    -----
    RuntimeWarning
        If any array holds NaN or Inf (converted as they are).

    Examples
    --------
    >>> wf = WeightFile(None, "npz-positional", "demo",
    ...                 {"arr_0": np.ones((4, 3, 5, 5), np.float32), "arr_1": np.zeros(4, np.float32)})
    >>> out = convert_weights(wf, spec={"arrays": {"arr_0": {"role": "conv_kernel", "filter_flip": True}}})
    >>> out.arrays["arr_0"].shape, out.info["arr_0"].layout
    ((5, 5, 3, 4), 'tf')
    """
    if not (isinstance(to, str) and to in _TARGETS):
        raise LegacyconvError(f"to must be one of {{'tf', 'theano'}}. Received: to={to!r}")
    if not isinstance(weights, WeightFile):
        from .io.inputs import as_path

        weights = load_weights(as_path(weights, "weights", " or a WeightFile"))
    where = "spec"
    parsed: Spec = {}
    if spec is not None:
        if isinstance(spec, (str, os.PathLike)):
            where = f"spec {os.fspath(spec)}"
        parsed = load_spec(spec)
    plan = _apply_spec(weights, parsed, where)

    _check_source_layout(weights, plan, to)
    unknown = [f"{n} {weights.arrays[n].shape}" for n, (info, _) in plan.items() if info.role == "unknown"]
    if unknown:
        raise LegacyconvError(
            f"{len(unknown)} array(s) of {weights.path or 'the weights'} have no known role ({', '.join(unknown)}); "
            "give a spec naming each one's role (start from: legacyconv inspect FILE --spec-template json)"
        )
    arrays: dict[str, np.ndarray] = {}
    info_out: dict[str, ArrayInfo] = {}
    for name, (info, entry) in plan.items():
        arr = weights.arrays[name]
        if info.layout == to and info.role not in ("bias", "keep"):
            raise LegacyconvError(
                f"array {name!r} ({info.describe()}) is already in the {to} layout; nothing to convert"
            )
        try:
            new = _convert_one(arr, info, entry, to)
        except LegacyconvError as exc:
            raise LegacyconvError(f"array {name!r} ({info.describe()}): {exc}") from None
        out_name = entry.get("name", name)
        if out_name in arrays:
            raise LegacyconvError(f"{where}: two arrays would be written as {out_name!r}")
        arrays[out_name] = new
        layout = {"bias": "any", "keep": info.layout}.get(info.role, to)
        info_out[out_name] = ArrayInfo(info.role, layout, info.layer, info.filter_flip, info.feature_shape)
    result = WeightFile(
        weights.path,
        weights.format if weights.format.startswith("npz") else "converted",
        f"converted to the {to} layout by legacyconv from {weights.path or 'in-memory weights'}",
        arrays,
        info_out,
    )
    bad = result.nonfinite()
    if bad:
        listing = ", ".join(f"{n} ({c})" for n, c in bad.items())
        warnings.warn(
            f"{len(bad)} array(s) hold non-finite values (NaN or Inf), converted as they are: {listing}",
            RuntimeWarning,
            stacklevel=2,
        )
    return result


def _guess(arr: np.ndarray, info: ArrayInfo, last_conv: np.ndarray | None) -> dict[str, Any]:
    """A template entry: what the file records, the role a shape suggests, placeholders for the
    rest. ``last_conv`` is the conv kernel before ``arr`` when no dense kernel came in between."""
    if info.role != "unknown":
        entry: dict[str, Any] = {"role": info.role}
        if info.role in ("conv_kernel", "depthwise_kernel"):
            entry["filter_flip"] = info.filter_flip
        if info.role == "dense_kernel":
            entry["feature_shape"] = list(info.feature_shape) if info.feature_shape else None
    elif arr.ndim in (3, 4, 5):
        entry = {
            "role": "conv_kernel",
            "filter_flip": f"{PLACEHOLDER}: true or false (Lasagne's flip_filters)",
        }
    elif arr.ndim == 2 and last_conv is not None:
        channels, rows = last_conv.shape[0], arr.shape[0]
        hint = (
            f"{PLACEHOLDER}: [channels, rows, cols] with channels * rows * cols = {rows} "
            f"(the conv kernel before it has {channels} filters), or null if not a flattened map"
        )
        entry = {"role": "dense_kernel", "feature_shape": hint}
    elif arr.ndim == 2:
        entry = {"role": "dense_kernel", "feature_shape": None}
    else:
        entry = {"role": "keep"}
    if info.layer:
        entry["layer"] = info.layer
    return entry


def _template_entries(weights: WeightFile) -> dict[str, dict[str, Any]]:
    entries = {}
    last_conv = None
    for name, arr in weights.arrays.items():
        entry = _guess(arr, weights.info[name], last_conv)
        if entry["role"] == "conv_kernel":
            last_conv = arr
        elif entry["role"] == "dense_kernel":
            last_conv = None
        entries[name] = entry
    return entries


def spec_template(weights: WeightFile | PathLike, fmt: str = "json") -> str:
    """A spec for ``weights`` to edit: the roles the file records, roles suggested by the shapes
    for the others, and ``"FILL IN: ..."`` placeholders for what only the user knows.

    Roles from shapes: 3-, 4- and 5-d arrays are conv kernels, 2-d arrays dense kernels,
    vectors ``keep``. Never guessed: ``filter_flip`` of a conv kernel (unless the file records
    it) and ``feature_shape`` of the first dense kernel after a conv kernel; ``convert`` refuses
    the placeholders until they are replaced.

    >>> wf = WeightFile(None, "npz-positional", "demo", {"arr_0": np.zeros((4, 3, 5, 5))})
    >>> print(spec_template(wf, "toml"))
    # legacyconv spec: check every role and replace every "FILL IN" value; a dense_kernel that
    # follows a flatten needs feature_shape = [channels, rows, cols] (the channels-first map).
    [arrays.arr_0]
    role = "conv_kernel"
    filter_flip = "FILL IN: true or false (Lasagne's flip_filters)"
    <BLANKLINE>
    """
    if not isinstance(weights, WeightFile):
        weights = load_weights(weights)
    entries = _template_entries(weights)
    if fmt == "json":
        doc = {
            "description": "legacyconv spec: check every role and replace every FILL IN value; a dense_kernel "
            "that follows a flatten needs feature_shape = [channels, rows, cols] (the channels-first map that "
            "was flattened), null otherwise",
            "arrays": entries,
        }
        return json.dumps(doc, indent=2)
    if fmt != "toml":
        raise LegacyconvError(f"fmt must be one of {{'json', 'toml'}}. Received: fmt={fmt!r}")
    lines = [
        '# legacyconv spec: check every role and replace every "FILL IN" value; a dense_kernel that',
        "# follows a flatten needs feature_shape = [channels, rows, cols] (the channels-first map).",
    ]
    for name, entry in entries.items():
        lines.append(f"[arrays.{json.dumps(name) if not name.replace('_', '').isalnum() else name}]")
        for key, value in entry.items():
            if value is None:
                lines.append(f"# {key} = [channels, rows, cols]")
            else:
                lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    return "\n".join(lines)
