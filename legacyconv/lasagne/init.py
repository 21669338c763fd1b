"""``lasagne.init``: initializers drawing from :func:`legacyconv.lasagne.random.get_rng`.

They only set initial values (a network whose weights are then loaded does not depend on them);
given the same NumPy random state they draw the same numbers as Lasagne.

>>> import numpy as np
>>> Constant(0.5)((2,))
array([0.5, 0.5], dtype=float32)
>>> GlorotUniform()((8, 4, 3, 3)).dtype
dtype('float32')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import LegacyconvError
from .random import get_rng
from .utils import floatX

__all__ = [
    "Constant",
    "Glorot",
    "GlorotNormal",
    "GlorotUniform",
    "He",
    "HeNormal",
    "HeUniform",
    "Initializer",
    "Normal",
    "Orthogonal",
    "Sparse",
    "Uniform",
]


class Initializer:
    """Base class: calling an initializer with a shape returns a float32 array."""

    def __call__(self, shape: tuple[int, ...]) -> np.ndarray:
        return self.sample(shape)

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError("Initializer is abstract: use a subclass such as GlorotUniform.")


class Normal(Initializer):
    def __init__(self, std: float = 0.01, mean: float = 0.0) -> None:
        self.std = std
        self.mean = mean

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        return floatX(get_rng().normal(self.mean, self.std, size=shape))


class Uniform(Initializer):
    def __init__(self, range: Any = 0.01, std: float | None = None, mean: float = 0.0) -> None:
        if std is not None:
            a, b = mean - np.sqrt(3) * std, mean + np.sqrt(3) * std
        else:
            try:
                a, b = range
            except TypeError:
                a, b = -range, range
        self.range = (a, b)

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        return floatX(get_rng().uniform(low=self.range[0], high=self.range[1], size=shape))


class _FanScaled(Initializer):
    """An ``initializer`` class (Normal, Uniform) with a standard deviation from the fans."""

    def __init__(self, initializer: Any, gain: Any = 1.0, c01b: bool = False) -> None:
        self.initializer = initializer
        self.gain = np.sqrt(2) if gain == "relu" else gain
        self.c01b = c01b

    def std(self, shape: tuple[int, ...]) -> Any:
        raise NotImplementedError("use Glorot or He")

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        if self.c01b and len(shape) != 4:
            raise LegacyconvError(f"c01b=True needs a 4-d shape. Received: {shape}")
        return self.initializer(std=self.gain * self.std(shape)).sample(shape)


class Glorot(_FanScaled):
    """std = gain * sqrt(2 / ((fan_in + fan_out) * receptive field))."""

    def std(self, shape: tuple[int, ...]) -> Any:
        if self.c01b:
            n1, n2, field = shape[0], shape[3], shape[1] * shape[2]
        else:
            if len(shape) < 2:
                raise LegacyconvError(
                    f"Glorot initialisation needs a shape of length >= 2. Received: {shape}"
                )
            n1, n2, field = shape[0], shape[1], int(np.prod(shape[2:]))
        return np.sqrt(2.0 / ((n1 + n2) * field))


class GlorotNormal(Glorot):
    def __init__(self, gain: Any = 1.0, c01b: bool = False) -> None:
        super().__init__(Normal, gain, c01b)


class GlorotUniform(Glorot):
    def __init__(self, gain: Any = 1.0, c01b: bool = False) -> None:
        super().__init__(Uniform, gain, c01b)


class He(_FanScaled):
    """std = gain * sqrt(1 / fan_in)."""

    def std(self, shape: tuple[int, ...]) -> Any:
        if self.c01b:
            fan_in = int(np.prod(shape[:3]))
        elif len(shape) == 2:
            fan_in = shape[0]
        elif len(shape) > 2:
            fan_in = int(np.prod(shape[1:]))
        else:
            raise LegacyconvError(f"He initialisation needs a shape of length >= 2. Received: {shape}")
        return np.sqrt(1.0 / fan_in)


class HeNormal(He):
    def __init__(self, gain: Any = 1.0, c01b: bool = False) -> None:
        super().__init__(Normal, gain, c01b)


class HeUniform(He):
    def __init__(self, gain: Any = 1.0, c01b: bool = False) -> None:
        super().__init__(Uniform, gain, c01b)


class Constant(Initializer):
    def __init__(self, val: float = 0.0) -> None:
        self.val = val

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        return floatX(np.ones(shape) * self.val)


class Sparse(Initializer):
    def __init__(self, sparsity: float = 0.1, std: float = 0.01) -> None:
        self.sparsity = sparsity
        self.std = std

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        if len(shape) != 2:
            raise LegacyconvError(f"the sparse initializer needs a 2-d shape. Received: {shape}")
        w = floatX(np.zeros(shape))
        n_inputs, n_outputs = shape
        size = int(self.sparsity * n_inputs)
        for k in range(n_outputs):
            indices = np.arange(n_inputs)
            get_rng().shuffle(indices)
            w[indices[:size], k] = floatX(get_rng().normal(0.0, self.std, size=size))
        return w


class Orthogonal(Initializer):
    def __init__(self, gain: Any = 1.0) -> None:
        self.gain = np.sqrt(2) if gain == "relu" else gain

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        if len(shape) < 2:
            raise LegacyconvError(
                f"orthogonal initialisation needs a shape of length >= 2. Received: {shape}"
            )
        flat_shape = (shape[0], int(np.prod(shape[1:])))
        a = get_rng().normal(0.0, 1.0, flat_shape)
        u, _, v = np.linalg.svd(a, full_matrices=False)
        q = u if u.shape == flat_shape else v
        return floatX(self.gain * q.reshape(shape))
