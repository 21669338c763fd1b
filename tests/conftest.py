import os
import sys

from hypothesis import settings

sys.path.insert(0, os.path.dirname(__file__))

settings.register_profile("ci", deadline=None, print_blob=True)
settings.load_profile("ci")

# tests/data holds recording scripts that run in the Theano lab's Python, not here
# (data/lasagne/ holds users' Lasagne network files, which import lasagne: the mirror runs them)
collect_ignore_glob = ["data/*.py", "data/*/*.py"]
