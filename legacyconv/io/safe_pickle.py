"""A restricted unpickler: NumPy arrays, scalars and builtin containers, and nothing that runs code.

A pickle names every class or function it needs as a *global* (``module.name``), and ordinary
unpickling imports and calls them: a pickle can run any code. :func:`safe_load` resolves globals
only through two registries and refuses every other one with a sentence naming it, before
anything is called:

* :data:`ALLOWED_GLOBALS`: functions and classes that only build data (NumPy's array, dtype and
  scalar reconstruction, builtin containers, ``_codecs.encode`` restricted to latin-1, which
  Python 3 pickles of NumPy arrays use);
* :data:`STAND_INS`: classes of other libraries (e.g. Theano's shared variables) replaced by
  plain classes of ours that only store the pickled state. Register more with
  :func:`register_stand_in`.

Python 2 pickles (the Lasagne model zoo) are read with ``encoding='latin1'``. Every array the
pickle builds is charged to a :class:`~legacyconv.io.limits.Budget` before its data is copied
(the limits of :mod:`legacyconv.io.limits`): a pickle that rebuilds one stored buffer into many
arrays cannot make legacyconv allocate more than the limits allow.

>>> import io, pickle
>>> import numpy as np
>>> data = pickle.dumps({"param values": [np.arange(3.0)], "mean value": np.ones(3)}, protocol=2)
>>> safe_load(io.BytesIO(data))["param values"][0]
array([0., 1., 2.])
>>> safe_load(io.BytesIO(b"cos\\nsystem\\n(S'touch pwned'\\ntR."))
Traceback (most recent call last):
...
legacyconv.io.safe_pickle.UnsafePickleError: the pickle asks for the global os.system, which legacyconv never loads: only NumPy arrays, NumPy scalars and builtin containers are allowed (anything else could run code). Nothing was executed.
"""

from __future__ import annotations

import codecs
import collections
import contextvars
import math
import os
import pickle
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from .._errors import LegacyconvError
from .limits import Budget, LimitError, ReadLimits

__all__ = [
    "ALLOWED_GLOBALS",
    "STAND_INS",
    "SafeUnpickler",
    "UnsafePickleError",
    "allow_global",
    "register_stand_in",
    "safe_load",
]


class UnsafePickleError(LegacyconvError):
    """The pickle asked for a global outside the allow-list; nothing was executed."""


def _latin1_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    # Python 3 pickles NumPy array data as _codecs.encode(text, 'latin1'); no other codec is needed
    if codecs.lookup(encoding).name != "iso8859-1" or not isinstance(obj, str):
        raise UnsafePickleError(
            f"the pickle calls _codecs.encode with encoding {encoding!r}; only 'latin1' (NumPy's array "
            "data) is allowed. Nothing was executed."
        )
    return codecs.encode(obj, encoding, errors)


@dataclass
class _Reading:
    """The budget of the pickle being read and how many arrays it has built."""

    budget: Budget
    arrays: int = 0


_READING: contextvars.ContextVar[_Reading | None] = contextvars.ContextVar("legacyconv_pickle", default=None)


def _charge(shape: Any, dtype: Any) -> None:
    reading = _READING.get()
    if reading is not None:
        reading.arrays += 1
        reading.budget.take(f"#{reading.arrays}", tuple(int(s) for s in shape), dtype, None)


class _BudgetedArray(np.ndarray):
    """What the pickle's ``_reconstruct`` builds: an ndarray whose ``__setstate__`` charges the
    budget before NumPy copies the data; turned back into plain ndarrays after loading."""

    def __setstate__(self, state: Any) -> None:
        shape, dtype = (state[1], state[2]) if len(state) == 5 else (state[0], state[1])
        _charge(shape, dtype)
        super().__setstate__(state)


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    if subtype is not np.ndarray:
        raise UnsafePickleError(
            f"the pickle rebuilds an array of class {subtype!r}; only numpy.ndarray is allowed. Nothing was executed."
        )
    if math.prod(int(n) for n in np.atleast_1d(shape)) > 0:  # pickles start from shape (0,)
        _charge(shape, dtype)
    multiarray = np._core.multiarray  # type: ignore[attr-defined]
    return multiarray._reconstruct(_BudgetedArray, shape, dtype)


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    _charge(shape, dtype)
    return np._core.numeric._frombuffer(buf, dtype, shape, order)  # type: ignore[attr-defined]


#: How deep a pickle's containers may nest: weight pickles nest a few levels (a dict of lists
#: of arrays); Python's unpickler builds any depth without recursing, walking it would not.
MAX_NESTING = 64


def _plain(obj: Any, depth: int = 0) -> Any:
    """``obj`` with every budgeted array turned back into a plain ndarray (containers rebuilt)."""
    if isinstance(obj, _BudgetedArray):
        return obj.view(np.ndarray)
    if not isinstance(obj, (list, tuple, dict)):
        return obj
    if depth >= MAX_NESTING:
        raise LegacyconvError(
            f"the pickle nests containers more than {MAX_NESTING} levels deep (or holds a container "
            "inside itself); a pickle of weights nests a few"
        )
    if isinstance(obj, list):
        return [_plain(v, depth + 1) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_plain(v, depth + 1) for v in obj)
    out = collections.OrderedDict() if isinstance(obj, collections.OrderedDict) else {}
    for k, v in obj.items():
        out[k] = _plain(v, depth + 1)
    return out


def _numpy_globals() -> dict[tuple[str, str], Any]:
    multiarray = np._core.multiarray  # type: ignore[attr-defined]
    out: dict[tuple[str, str], Any] = {}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        out[(mod, "_reconstruct")] = _reconstruct
        out[(mod, "scalar")] = multiarray.scalar
    for mod in ("numpy", "numpy.core.numeric", "numpy._core.numeric"):
        out[(mod, "ndarray")] = np.ndarray
        out[(mod, "dtype")] = np.dtype
    for mod in ("numpy.core.numeric", "numpy._core.numeric"):  # arrays pickled with protocol 5
        out[(mod, "_frombuffer")] = _frombuffer
    return out


def _sized(cls: type) -> Any:
    """``bytes``/``bytearray`` that refuse a size (``bytes(10**12)`` would allocate it)."""

    def build(*args: Any) -> Any:
        if args and isinstance(args[0], int):
            raise UnsafePickleError(
                f"the pickle asks for {cls.__name__}({args[0]}), a buffer of a given size; only "
                f"{cls.__name__} of stored data is allowed. Nothing was executed."
            )
        return cls(*args)

    return build


def _builtin_globals() -> dict[tuple[str, str], Any]:
    # containers and scalars only; no constructor that can allocate more than the file holds
    # (range is left out: list(range(10**12)) would)
    out: dict[tuple[str, str], Any] = {}
    for mod in ("builtins", "__builtin__"):
        for obj in (set, frozenset, list, dict, tuple, complex, int, float, bool, str, slice):
            out[(mod, obj.__name__)] = obj
        out[(mod, "bytes")] = _sized(bytes)
        out[(mod, "bytearray")] = _sized(bytearray)
    out[("__builtin__", "unicode")] = str
    out[("__builtin__", "long")] = int
    out[("collections", "OrderedDict")] = collections.OrderedDict
    out[("_codecs", "encode")] = _latin1_encode
    return out


#: ``(module, name)`` -> the object a pickle gets for that global: data constructors only.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {**_numpy_globals(), **_builtin_globals()}

#: ``(module, name)`` -> a stand-in class of ours that takes the pickled state without running
#: the original class's code (empty until a loader registers some).
STAND_INS: dict[tuple[str, str], type] = {}


def allow_global(module: str, name: str, obj: Any) -> None:
    """Allow the global ``module.name`` and resolve it to ``obj`` (which must only build data)."""
    ALLOWED_GLOBALS[(module, name)] = obj


def register_stand_in(module: str, name: str, cls: type) -> None:
    """Resolve the class ``module.name`` to ``cls``, a plain class of ours: unpickling creates it
    with ``cls.__new__`` and hands it the pickled state (``__setstate__`` or ``__dict__``), so
    none of the original class's code runs.

    >>> class SharedStandIn:
    ...     pass
    >>> register_stand_in("theano.tensor.sharedvar", "TensorSharedVariable", SharedStandIn)
    >>> STAND_INS[("theano.tensor.sharedvar", "TensorSharedVariable")] is SharedStandIn
    True
    >>> del STAND_INS[("theano.tensor.sharedvar", "TensorSharedVariable")]
    """
    if not isinstance(cls, type):
        raise LegacyconvError(f"a stand-in must be a class. Received: {cls!r}")
    STAND_INS[(module, name)] = cls


def _refuse(module: str, name: str) -> UnsafePickleError:
    return UnsafePickleError(
        f"the pickle asks for the global {module}.{name}, which legacyconv never loads: only NumPy "
        "arrays, NumPy scalars and builtin containers are allowed (anything else could run code). "
        "Nothing was executed."
    )


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    # copyreg._reconstructor, limited to stand-ins built on object (protocol 0/1 pickles)
    if cls not in STAND_INS.values() or base is not object:
        raise UnsafePickleError(
            f"the pickle rebuilds {getattr(cls, '__name__', cls)!r} on {getattr(base, '__name__', base)!r} "
            "with copyreg._reconstructor; only registered stand-ins built on object are allowed. "
            "Nothing was executed."
        )
    return object.__new__(cls)


class SafeUnpickler(pickle.Unpickler):
    """:class:`pickle.Unpickler` that resolves globals through the registries only."""

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key in ALLOWED_GLOBALS:
            return ALLOWED_GLOBALS[key]
        if key in STAND_INS:
            return STAND_INS[key]
        if key in (("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor")) and STAND_INS:
            return _reconstructor
        raise _refuse(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(
            "the pickle refers to a persistent object, which legacyconv never loads. Nothing was executed."
        )


def safe_load(
    file: str | os.PathLike[str] | IO[bytes], *, encoding: str = "latin1", limits: ReadLimits | None = None
) -> Any:
    """Unpickle ``file`` (a path or a binary file object) with :class:`SafeUnpickler`.

    Parameters
    ----------
    file : path or binary file
    encoding : str, optional
        How Python 2 ``str`` objects are decoded: ``'latin1'`` (the default) reads NumPy arrays
        and text written by Python 2.
    limits : ReadLimits, optional
        How much its arrays may take together (:mod:`legacyconv.io.limits`); default: the
        innermost ``read_limits()`` context, the environment, or 4 GiB.

    Raises
    ------
    UnsafePickleError
        The pickle asks for anything outside :data:`ALLOWED_GLOBALS` and :data:`STAND_INS`
        (the message names it); nothing was executed.
    LimitError
        Its arrays declare more than the limits allow (each checked before its data is copied).
    LegacyconvError
        The file is missing, truncated or not a pickle.
    """
    where = f"{os.fspath(file)}: " if isinstance(file, (str, os.PathLike)) else ""
    token = _READING.set(_Reading(Budget(where[:-2] or "the pickle", limits)))
    try:
        if isinstance(file, (str, os.PathLike)):
            with open(file, "rb") as fh:
                return _plain(SafeUnpickler(fh, encoding=encoding).load())
        return _plain(SafeUnpickler(file, encoding=encoding).load())
    except LimitError:
        raise
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{where}{exc}") from None
    except LegacyconvError as exc:
        raise LegacyconvError(f"{where}{exc}") from None
    except FileNotFoundError:
        raise LegacyconvError(f"no such file: {os.fspath(file)}") from None  # type: ignore[arg-type]
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        AttributeError,
        UnicodeDecodeError,
    ) as exc:
        raise LegacyconvError(
            f"{where}not a readable pickle of arrays: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        _READING.reset(token)
