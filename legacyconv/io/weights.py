"""What a weight file holds: its arrays, and for each one its role and the layout it is in.

:func:`load_weights` reads ``.npz`` files (named arrays, or Lasagne's positional ``arr_0, arr_1, …``)
and HDF5 files (a Keras model saved by ``model.save()``, Keras-1 ``save_weights()`` files, files
legacyconv wrote, any other HDF5) into a :class:`WeightFile`; :func:`save_weights` writes one as
``.npz`` or HDF5, atomically. The file format is recognised from its first bytes, not its name.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import LegacyconvError
from ._atomic import PathLike, atomic_write

if TYPE_CHECKING:
    from ..frontends.weights import KerasModelSummary
    from .limits import ReadLimits

__all__ = ["LAYOUTS", "ROLES", "ArrayInfo", "WeightFile", "load_weights", "save_weights"]

#: The roles an array can have, with what converting it between layouts does.
ROLES = {
    "conv_kernel": "2-D convolution kernel: Theano (out, in, rows, cols) <-> TF HWIO (rows, cols, in, out), "
    "flipped when the Theano call used filter_flip=True",
    "depthwise_kernel": "depthwise kernel of Theano's separable_conv2d <-> TF (rows, cols, in, multiplier)",
    "pointwise_kernel": "pointwise kernel of Theano's separable_conv2d <-> TF (1, 1, in, out)",
    "dense_kernel": "dense kernel (in, out); rows re-ordered when it follows a flatten of a feature map",
    "bias": "bias vector (unchanged)",
    "keep": "copied unchanged",
    "unknown": "unknown: a spec must give the role",
}
#: 'theano' = channels-first Theano/Keras-1 layout, 'tf' = channels-last TensorFlow/Keras 3
#: layout, 'any' = the same in both (biases), 'unknown' = the file does not say.
LAYOUTS = ("theano", "tf", "any", "unknown")

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass(frozen=True)
class ArrayInfo:
    """Role and layout of one array, and the Theano call arguments that matter for converting it.

    ``filter_flip`` (conv kernels) is the ``filter_flip`` of the Theano call that used the kernel;
    ``feature_shape`` (dense kernels) is the ``(channels, rows, cols)`` feature map that was
    flattened in front of the dense layer, or ``None`` when the input was not a flattened map.
    """

    role: str = "unknown"
    layout: str = "unknown"
    layer: str | None = None
    filter_flip: bool = True
    feature_shape: tuple[int, ...] | None = None

    def describe(self) -> str:
        """A short human description of the role, as ``inspect`` prints it.

        >>> ArrayInfo("conv_kernel", "theano", filter_flip=True).describe()
        'conv kernel (filter_flip=True)'
        >>> ArrayInfo("dense_kernel", "theano", feature_shape=(12, 6, 6)).describe()
        'dense kernel after flatten of (12, 6, 6)'
        """
        if self.role in ("conv_kernel", "depthwise_kernel"):
            return f"{self.role.replace('_', ' ')} (filter_flip={self.filter_flip})"
        if self.role == "dense_kernel" and self.feature_shape is not None:
            return f"dense kernel after flatten of {tuple(self.feature_shape)}"
        if self.role == "unknown":
            return "unknown (needs a spec)"
        return self.role.replace("_", " ")


@dataclass
class WeightFile:
    """The arrays of a weight file, in file order, with an :class:`ArrayInfo` for each.

    ``format`` is one of ``'npz'``, ``'npz-positional'`` (Lasagne's ``arr_0, arr_1, …``),
    ``'keras1-hdf5'`` (a full Keras-1 model), ``'keras1-weights-hdf5'``, ``'legacyconv-hdf5'``
    or ``'hdf5'`` (``'keras2-hdf5'``: a Keras 2 model); ``source`` says in words where the arrays
    come from. ``keras1`` holds the layer table of a Keras model file (made by its frontend).

    >>> wf = WeightFile(None, "npz", "example", {"b": np.zeros(3, np.float32)})
    >>> wf.info["b"].role, wf.info["b"].layout
    ('keep', 'any')
    """

    path: str | None
    format: str
    source: str
    arrays: dict[str, np.ndarray]
    info: dict[str, ArrayInfo] = field(default_factory=dict)
    keras1: KerasModelSummary | None = None
    notes: list[str] = field(default_factory=list)
    #: what else the file holds besides the arrays (a model-zoo pickle's 'synset words', 'mean value' …)
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, arr in self.arrays.items():
            if name not in self.info:
                self.info[name] = _default_info(arr)

    def nonfinite(self) -> dict[str, int]:
        """Number of NaN/Inf values per array, for the arrays that have any."""
        counts = {}
        for name, arr in self.arrays.items():
            if arr.dtype.kind in "fc":
                bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
                if bad:
                    counts[name] = bad
        return counts

    def summary(self) -> str:
        """The table ``legacyconv inspect`` prints: one line per array."""
        lines = [f"file:   {self.path}", f"format: {self.format}", f"source: {self.source}"]
        if self.keras1 is not None:
            lines += ["", self.keras1.summary()]
        bad = self.nonfinite()
        rows = [("array", "shape", "dtype", "role", "layout", "finite")]
        for name, arr in self.arrays.items():
            info = self.info[name]
            finite = f"NO: {bad[name]} NaN/Inf" if name in bad else "yes"
            rows.append((name, str(arr.shape), str(arr.dtype), info.describe(), info.layout, finite))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines.append("")
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines += [f"note: {n}" for n in self.notes]
        if bad:
            lines.append(f"warning: {len(bad)} array(s) hold non-finite values (NaN or Inf)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description (no array data)."""
        bad = self.nonfinite()
        return {
            "path": self.path,
            "format": self.format,
            "source": self.source,
            "notes": list(self.notes),
            "extras": {key: describe_extra(value) for key, value in self.extras.items()},
            "layers": self.keras1.to_dict()["layers"] if self.keras1 is not None else None,
            "arrays": [
                {
                    "name": name,
                    "shape": list(arr.shape),
                    "dtype": str(arr.dtype),
                    "role": self.info[name].role,
                    "layout": self.info[name].layout,
                    "layer": self.info[name].layer,
                    "filter_flip": self.info[name].filter_flip,
                    "feature_shape": _list_or_none(self.info[name].feature_shape),
                    "nonfinite": bad.get(name, 0),
                }
                for name, arr in self.arrays.items()
            ],
        }

    def replace(self, **changes: Any) -> WeightFile:
        """A copy with some fields replaced (arrays are shared, not copied)."""
        return dataclasses.replace(self, **changes)


def describe_extra(value: Any) -> str:
    """``'array (3,) float64'``, ``'list of 10'``, ``'str'``: what an extra entry is, for reports."""
    if isinstance(value, np.ndarray):
        return f"array {value.shape} {value.dtype}"
    if isinstance(value, (list, tuple, dict)):
        return f"{type(value).__name__} of {len(value)}"
    return type(value).__name__


def _list_or_none(value: Any) -> Any:
    return None if value is None else list(value)


def _default_info(arr: np.ndarray) -> ArrayInfo:
    # A vector is the same in every layout; anything else needs the file or a spec to say.
    if arr.ndim <= 1:
        return ArrayInfo("keep", "any")
    return ArrayInfo("unknown", "unknown")


def sniff_file(path: str, what: str = "weight file") -> str:
    """``'hdf5'``, ``'npz'`` (any zip), ``'pickle-or-npy'``, ``'empty'`` or ``'unknown'``, from the
    first bytes of a regular file (anything else is refused: a FIFO would block)."""
    from .inputs import check_input_file

    check_input_file(path, what)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise LegacyconvError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head.startswith(_HDF5_MAGIC):
        return "hdf5"
    if head[:4] in _ZIP_MAGICS:
        return "npz"
    if head[:1] == b"\x80" or head[:6] == b"\x93NUMPY":
        return "pickle-or-npy"
    if not head:
        return "empty"
    return "unknown"


def _is_npy(path: str) -> bool:
    with open(path, "rb") as fh:
        return fh.read(6) == b"\x93NUMPY"


def load_weights(path: PathLike, *, limits: ReadLimits | None = None) -> WeightFile:
    """Read a weight file (``.npz``, HDF5 or a pickle of arrays) without ever running code from it.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.npz`` written by ``numpy.savez`` (named arrays, or Lasagne's positional
        ``arr_0, arr_1, …``), a Keras HDF5 model or Keras-1 weights file, or an HDF5 file written by
        legacyconv. HDF5 needs ``h5py`` (``pip install "legacyconv[hdf5]"``). A pickle (the Lasagne
        model zoo's ``{'param values': [...], ...}``, a list or a dict of arrays) is read by the
        restricted unpickler of :mod:`legacyconv.io.safe_pickle`: only NumPy arrays, scalars and
        builtin containers; anything else is refused before it can run.
    limits : ReadLimits, optional
        How much the file may make legacyconv allocate (see :mod:`legacyconv.io.limits`);
        default: the innermost ``read_limits()`` context, the environment, or 4 GiB in all.

    Returns
    -------
    WeightFile
        The arrays in file order (positional arrays by their index), with roles and layouts
        as far as the file says: in a Keras model file each layer's translator gives its arrays'
        roles (:mod:`legacyconv.frontends.weights`); a bare ``.npz`` says
        nothing about arrays of two or more dimensions (give a spec to ``convert_weights``).

    Raises
    ------
    LegacyconvError
        If the file is missing, not a regular file, truncated, corrupt, not a weight file, holds
        pickled objects other than arrays (object arrays in an .npz, or a pickle asking for any
        other class or function, are refused: unpickling them could run arbitrary code), links
        or stores data outside itself (HDF5 external links, external storage, virtual
        datasets), or declares more than the limits allow (checked before anything is read).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> np.savez(path, np.ones((2, 3, 5, 5), np.float32), np.zeros(2, np.float32))
    >>> wf = load_weights(path)
    >>> wf.format, list(wf.arrays), wf.arrays["arr_0"].shape
    ('npz-positional', ['arr_0', 'arr_1'], (2, 3, 5, 5))
    """
    from .inputs import as_path

    path = as_path(path, "path")
    kind = sniff_file(path)
    if kind == "npz":
        from .npz import read_npz

        return read_npz(path, limits)
    if kind == "hdf5":
        from .hdf5 import read_hdf5

        return read_hdf5(path, limits)
    if kind == "pickle-or-npy" and not _is_npy(path):
        from .pickled import read_pickle

        return read_pickle(path, limits)
    if kind == "unknown" and path.lower().endswith((".pkl", ".pickle")):  # protocol 0/1 pickles
        from .pickled import read_pickle

        return read_pickle(path, limits)
    if kind == "pickle-or-npy":
        raise LegacyconvError(
            f"{path} is a single .npy array, not a weight file legacyconv reads: save the arrays with numpy.savez"
        )
    if kind == "empty":
        raise LegacyconvError(f"{path} is empty, not a weight file (expected .npz or HDF5)")
    raise LegacyconvError(
        f"{path} is neither an .npz (zip) nor an HDF5 file: its first bytes are not a known signature"
    )


def save_weights(
    weights: WeightFile, path: PathLike, *, force: bool = False, inputs: Iterable[PathLike] = ()
) -> str:
    """Write ``weights`` to ``path`` atomically, as ``.npz`` or HDF5 (``.h5``/``.hdf5``).

    The file is written to a temporary file next to ``path`` and renamed when complete. An
    existing ``path`` is only replaced with ``force=True``; the file the weights were read from
    is never overwritten, nor any of ``inputs`` (a spec, say). ``.npz`` files hold the arrays only (under their names); HDF5 files
    also record each array's role and layout, so :func:`load_weights` reads them back.

    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> save_weights(WeightFile(None, "npz", "demo", {"b": np.ones(2)}), out) == out
    True
    >>> list(np.load(out).keys())
    ['b']
    """
    out = os.fspath(path)
    ext = os.path.splitext(out)[1].lower()
    inputs = ([weights.path] if weights.path else []) + list(inputs)
    if ext == ".npz":
        from .npz import write_npz

        return atomic_write(out, lambda tmp: write_npz(weights, tmp), force=force, inputs=inputs)
    if ext in (".h5", ".hdf5"):
        from .hdf5 import write_hdf5

        return atomic_write(out, lambda tmp: write_hdf5(weights, tmp), force=force, inputs=inputs)
    raise LegacyconvError(
        f"the output file name must end in .npz, .h5 or .hdf5 (the format follows the name). Received: {out}"
    )
