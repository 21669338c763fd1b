"""Mirror of ``theano.tensor.signal``: porting is ``theano.tensor.signal`` -> ``legacyconv.signal``."""

from . import pool

__all__ = ["pool"]
