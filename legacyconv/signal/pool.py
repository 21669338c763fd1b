"""Mirror of ``theano.tensor.signal.pool``: ``from legacyconv.signal import pool; pool.pool_2d(...)``."""

from ..pool import pool_2d
from ..pool3d import max_pool_2d_same_size, pool_3d

__all__ = ["max_pool_2d_same_size", "pool_2d", "pool_3d"]
