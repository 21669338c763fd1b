"""Mirror of ``theano.tensor.signal``: porting is ``theano.tensor.signal`` -> ``legacyconv.signal``."""

from . import conv, downsample, pool

__all__ = ["conv", "downsample", "pool"]
