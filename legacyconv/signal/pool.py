"""Mirror of ``theano.tensor.signal.pool``: ``from legacyconv.signal import pool; pool.pool_2d(...)``."""

from ..pool import pool_2d

__all__ = ["pool_2d"]
