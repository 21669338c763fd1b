"""Make ``import lasagne`` resolve to the mirror, and import a user's network file under it."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType, TracebackType
from typing import Any

from .._errors import LegacyconvError

__all__ = ["MIRRORED_MODULES", "Installation", "install", "load_network"]

#: ``lasagne`` module path -> the mirror module that stands in for it.
MIRRORED_MODULES = {
    "lasagne": "legacyconv.lasagne",
    "lasagne.init": "legacyconv.lasagne.init",
    "lasagne.nonlinearities": "legacyconv.lasagne.nonlinearities",
    "lasagne.random": "legacyconv.lasagne.random",
    "lasagne.utils": "legacyconv.lasagne.utils",
    "lasagne.layers": "legacyconv.lasagne.layers",
    "lasagne.layers.base": "legacyconv.lasagne.layers.base",
    "lasagne.layers.conv": "legacyconv.lasagne.layers.conv",
    "lasagne.layers.dense": "legacyconv.lasagne.layers.dense",
    "lasagne.layers.embedding": "legacyconv.lasagne.layers.embedding",
    "lasagne.layers.helper": "legacyconv.lasagne.layers.helper",
    "lasagne.layers.input": "legacyconv.lasagne.layers.input",
    "lasagne.layers.merge": "legacyconv.lasagne.layers.merge",
    "lasagne.layers.noise": "legacyconv.lasagne.layers.noise",
    "lasagne.layers.normalization": "legacyconv.lasagne.layers.normalization",
    "lasagne.layers.pool": "legacyconv.lasagne.layers.pool",
    "lasagne.layers.shape": "legacyconv.lasagne.layers.shape",
    "lasagne.layers.special": "legacyconv.lasagne.layers.special",
    # GPU-only in Lasagne; computed on the CPU here, with their own defaults
    "lasagne.layers.dnn": "legacyconv.lasagne.layers.dnn",
    "lasagne.layers.corrmm": "legacyconv.lasagne.layers.corrmm",
    "lasagne.layers.cuda_convnet": "legacyconv.lasagne.layers.cuda_convnet",
}


def _owned(name: str) -> bool:
    return name == "lasagne" or name.startswith("lasagne.")


class Installation:
    """The mirror installed in ``sys.modules``; :meth:`uninstall` (or leaving the ``with``
    block) puts back whatever ``lasagne`` modules were there before."""

    def __init__(self) -> None:
        self._saved = {name: mod for name, mod in sys.modules.items() if _owned(name)}
        for name in self._saved:
            del sys.modules[name]
        for name, target in MIRRORED_MODULES.items():
            sys.modules[name] = importlib.import_module(target)
        self.active = True

    def uninstall(self) -> None:
        """Remove the mirror's ``lasagne`` entries and restore the previous ones."""
        if not self.active:
            return
        for name in [n for n in sys.modules if _owned(n)]:
            del sys.modules[name]
        sys.modules.update(self._saved)
        self.active = False

    def __enter__(self) -> Installation:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.uninstall()


def install() -> Installation:
    """Make ``import lasagne`` (and ``lasagne.layers``, ``lasagne.layers.dnn``,
    ``lasagne.nonlinearities``, ``lasagne.init`` …) import legacyconv's mirror.

    Called plainly, the mirror stays installed; used as a context manager, the previous
    ``lasagne`` modules (a real Lasagne, or none) come back on exit.

    >>> import sys
    >>> with install():
    ...     import lasagne.layers.dnn
    ...     lasagne.layers.dnn.Conv2DDNNLayer.__module__
    'legacyconv.lasagne.layers.dnn'
    >>> "lasagne" in sys.modules
    False
    """
    return Installation()


def _split_target(target: str) -> tuple[str, str]:
    path, sep, func = str(target).rpartition(":")
    if not sep or not path or not func.isidentifier():
        raise LegacyconvError(
            f"the network must be given as FILE.py:FUNCTION (e.g. models/vgg.py:build_model). Received: {target!r}"
        )
    return path, func


def import_network_file(path: str) -> ModuleType:
    """Execute the file at ``path`` as a module (the mirror must be installed)."""
    if not os.path.isfile(path):
        raise LegacyconvError(f"no such network file: {path}")
    name = "_legacyconv_network_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LegacyconvError(f"{path} cannot be imported as a Python module (expected a .py file)")
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)  # a network file may import its neighbours
    try:
        spec.loader.exec_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("theano", "lasagne"):
            raise LegacyconvError(
                f"{path} imports {exc.name!r}: legacyconv's mirror provides lasagne's layers, init, "
                "nonlinearities, random and utils modules (computed in NumPy) but not Theano or other "
                "Lasagne modules; remove that import from the network definition"
            ) from exc
        raise
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
    return module


def load_network(target: str, **kwargs: Any) -> Any:
    """Import a Lasagne network file under the mirror and call its builder.

    Parameters
    ----------
    target : str
        ``"path/to/file.py:build_model"``.
    **kwargs
        Passed to the builder.

    Returns
    -------
    object
        Exactly what the builder returned: usually the output layer, or a dict of layers
        (as the model-zoo Recipes return).

    Raises
    ------
    LegacyconvError
        A missing file or function, or a file importing Theano or a Lasagne module the mirror
        lacks. A layer class the mirror lacks raises NotImplementedError naming it.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "net.py")
    >>> _ = open(path, "w").write(
    ...     "from lasagne.layers import InputLayer, DenseLayer\\n"
    ...     "def build_model(units=3):\\n"
    ...     "    return DenseLayer(InputLayer((None, 4)), units)\\n")
    >>> load_network(path + ":build_model", units=5).output_shape
    (None, 5)
    """
    path, func = _split_target(target)
    with install():
        module = import_network_file(path)
        builder = getattr(module, func, None)
        if not callable(builder):
            found = sorted(
                n
                for n, v in vars(module).items()
                if callable(v) and getattr(v, "__module__", None) == module.__name__
            )
            raise LegacyconvError(f"{path} has no function {func!r}; it defines {found}")
        return builder(**kwargs)
