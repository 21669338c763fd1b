import os
import sys

import pytest
from hypothesis import settings

sys.path.insert(0, os.path.dirname(__file__))

settings.register_profile("ci", deadline=None, print_blob=True)
settings.load_profile("ci")

# tests/data holds recording scripts that run in the Theano lab's Python, not here
# (data/lasagne/ holds users' Lasagne network files, which import lasagne: the mirror runs them)
collect_ignore_glob = ["data/*.py", "data/*/*.py"]


@pytest.fixture
def scratch_bytes(monkeypatch):
    """The bytes of every scratch request of the numpy engine during the test, in order."""
    from legacyconv.engines import numpy_gemm

    seen = []
    real_scratch = numpy_gemm.scratch

    def spy(shapes, dtype):
        arrays = real_scratch(shapes, dtype)
        seen.append(sum(a.nbytes for a in arrays))
        return arrays

    monkeypatch.setattr(numpy_gemm, "scratch", spy)
    return seen
