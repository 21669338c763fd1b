"""``lasagne.utils`` in NumPy: the shared-variable stand-in and the small helpers layers use.

Parameters of the mirror are :class:`SharedParam` objects: a NumPy array with Theano's
``get_value``/``set_value``, so that code written for ``theano.shared`` keeps working.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._errors import LegacyconvError, LegacyconvTypeError

__all__ = [
    "SharedParam",
    "as_tuple",
    "check_count",
    "check_nonlinearity",
    "create_param",
    "floatX",
    "int_types",
    "sequence_arg",
    "unique",
]

#: The integer types Lasagne accepts for sizes.
int_types = (numbers.Integral, np.integer)

#: Lasagne ran with ``floatX=float32``; the mirror does too.
FLOATX = np.dtype(np.float32)


def floatX(arr: Any) -> np.ndarray:
    """``lasagne.utils.floatX``: ``arr`` as a float32 array.

    >>> floatX([1, 2]).dtype
    dtype('float32')
    """
    return np.asarray(arr, dtype=FLOATX)


class SharedParam:
    """A parameter: a NumPy array with ``theano.shared``'s ``get_value``/``set_value``.

    ``set_value`` keeps the shape and dtype (Theano refused a new shape for a parameter whose
    layer was built for the old one; Lasagne's ``set_all_param_values`` checked it first).

    >>> p = SharedParam(np.zeros((2, 3), np.float32), name="fc.W")
    >>> p.set_value(np.ones((2, 3)))
    >>> p.get_value().sum(), p.get_value().dtype, p
    (np.float32(6.0), dtype('float32'), SharedParam(name='fc.W', shape=(2, 3), dtype=float32))
    """

    def __init__(self, value: Any, name: str | None = None) -> None:
        self._value = np.array(value, copy=True)
        self.name = name

    def get_value(self, borrow: bool = False, return_internal_type: bool = False) -> np.ndarray:
        """The value; a copy unless ``borrow=True``."""
        return self._value if borrow else self._value.copy()

    def set_value(self, new_value: Any, borrow: bool = False) -> None:
        """Replace the value by ``new_value`` (same shape; cast to the parameter's dtype)."""
        arr = np.asarray(new_value)
        if arr.shape != self._value.shape:
            raise LegacyconvError(
                f"parameter {self.name!r} has shape {self._value.shape}; the new value has shape {arr.shape}"
            )
        if not np.can_cast(arr.dtype, self._value.dtype, casting="same_kind"):
            raise LegacyconvError(
                f"parameter {self.name!r} is {self._value.dtype}; a {arr.dtype} value cannot be stored in it"
            )
        self._value = np.array(arr, dtype=self._value.dtype, copy=True)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    def __repr__(self) -> str:
        return f"SharedParam(name={self.name!r}, shape={self._value.shape}, dtype={self._value.dtype})"


def create_param(spec: Any, shape: Iterable[int], name: str | None = None) -> SharedParam:
    """``lasagne.utils.create_param``: a :class:`SharedParam` from an initializer, an array or
    an existing parameter (shared between layers, as Lasagne allowed).

    >>> create_param(np.ones(3), (3,), "b").get_value()
    array([1., 1., 1.])
    >>> create_param(lambda shape: np.zeros(shape, np.float32), (2, 2), "W").shape
    (2, 2)
    """
    shape = tuple(shape)
    if any(d is None or d <= 0 for d in shape):
        raise LegacyconvError(
            f"cannot create parameter {name!r} with a non-positive or unknown dimension: shape={shape}"
        )
    if isinstance(spec, SharedParam):
        if spec.ndim != len(shape):
            raise LegacyconvError(
                f"cannot initialize parameter {name!r}: the given parameter has {spec.ndim} dimensions, "
                f"should be {len(shape)}"
            )
        if spec.name is None:
            spec.name = name
        return spec
    what = "the provided"
    if callable(spec):
        spec = spec(shape)
        what = "the value returned by the provided callable"
    if isinstance(spec, (numbers.Number, np.generic)):
        spec = np.asarray(spec)
    if not isinstance(spec, np.ndarray):
        raise LegacyconvError(
            f"cannot initialize parameter {name!r}: {what} spec is a {type(spec).__name__}, "
            "not a NumPy array, a number, a callable or a parameter"
        )
    if spec.shape != shape:
        raise LegacyconvError(
            f"cannot initialize parameter {name!r}: {what} array has shape {spec.shape}, should be {shape}"
        )
    return SharedParam(spec, name)


def as_tuple(x: Any, n: int, t: Any = None) -> tuple[Any, ...]:
    """``lasagne.utils.as_tuple``: ``x`` repeated ``n`` times, or ``x`` checked to have ``n`` items.

    >>> as_tuple(3, 2), as_tuple((1, 2), 2)
    ((3, 3), (1, 2))
    """
    try:
        x = tuple(x)
    except TypeError:
        x = (x,) * n
    if len(x) != n:
        raise LegacyconvError(f"expected a single value or an iterable of length {n}. Received: {x!r}")
    if t is not None and not all(isinstance(v, t) and not isinstance(v, bool) for v in x):
        raise LegacyconvError(f"expected {n} integers. Received: {x!r}")
    return x


def check_count(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``, or an error naming ``name`` (Lasagne checked none of
    these: a float or a string failed deep inside, at the first use).

    >>> check_count(4, "num_units")
    4
    >>> check_count(1.5, "num_units")
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvTypeError: num_units must be an integer. Received: num_units=1.5
    """
    if not isinstance(value, int_types) or isinstance(value, bool):
        raise LegacyconvTypeError(f"{name} must be an integer. Received: {name}={value!r}")
    if value < minimum:
        raise LegacyconvError(f"{name} must be >= {minimum}. Received: {name}={value!r}")
    return int(value)


def check_nonlinearity(nonlinearity: Any) -> Callable[..., Any]:
    """A layer's ``nonlinearity``: the function itself, the identity for None."""
    from .nonlinearities import identity

    if nonlinearity is None:
        return identity
    if not callable(nonlinearity):
        hint = f" (lasagne.nonlinearities.{nonlinearity}?)" if isinstance(nonlinearity, str) else ""
        raise LegacyconvTypeError(
            f"nonlinearity must be a function such as lasagne.nonlinearities.rectify, or None{hint}. "
            f"Received: nonlinearity={nonlinearity!r}"
        )
    return nonlinearity


def sequence_arg(value: Any, name: str) -> tuple[Any, ...]:
    """``tuple(value)``, or an error naming ``name`` when ``value`` is not a sequence."""
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise LegacyconvTypeError(f"{name} must be a tuple or a list. Received: {name}={value!r}")
    return tuple(value)


def unique(items: Iterable[Any]) -> list[Any]:
    """The items in order, each once (by identity, like Lasagne's ``utils.unique``)."""
    seen: set[int] = set()
    out = []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


def callable_name(fn: Callable[..., Any] | None) -> str:
    """A readable name for a nonlinearity or merge function (for messages and reprs)."""
    if fn is None:
        return "None"
    return getattr(fn, "__name__", type(fn).__name__)
