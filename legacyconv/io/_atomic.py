"""Safe output files: never overwrite without ``force``, never touch an input, never leave half a file.

Every writer in legacyconv goes through :func:`atomic_write`: the data is written to a temporary
file in the destination's directory (so the final ``os.replace`` is a rename on one file system)
and only renamed over the destination once it is complete. An error while writing removes the
temporary file and leaves any existing destination as it was.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable
from typing import Union

from .._errors import LegacyconvError

__all__ = ["PathLike", "atomic_write", "check_output_dir", "check_output_path", "describe_os_error"]

PathLike = Union[str, "os.PathLike[str]"]


def _same_file(a: str, b: str) -> bool:
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b) or os.path.abspath(a) == os.path.abspath(b)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _mode_for(out: str) -> int:
    """The permission bits of the file being replaced, else a new file's (mkstemp's are private)."""
    try:
        st = os.stat(out)
    except OSError:
        return 0o666 & ~_umask()
    return stat.S_IMODE(st.st_mode)


def check_output_path(path: PathLike, *, force: bool = False, inputs: Iterable[PathLike] = ()) -> str:
    """Return ``path`` as a string after checking that writing it is allowed.

    Raises :class:`LegacyconvError` if ``path`` is one of ``inputs`` (an input is never
    modified, even with ``force``), if it exists and ``force`` is false (a dangling symlink
    counts as existing), if it is a directory or not a regular file, or if its directory does
    not exist or cannot be written.

    >>> check_output_path("out.npz", inputs=["in.npz"])
    'out.npz'
    >>> check_output_path("in.npz", inputs=["in.npz"])
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: the output in.npz is also an input; legacyconv never modifies its inputs, choose another output path
    """
    out = os.fspath(path)
    for given in inputs:
        if _same_file(out, os.fspath(given)):
            raise LegacyconvError(
                f"the output {out} is also an input; legacyconv never modifies its inputs, "
                "choose another output path"
            )
    if os.path.isdir(out):
        raise LegacyconvError(f"the output {out} is a directory; give a file name")
    directory = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(directory):
        raise LegacyconvError(f"cannot write {out}: the directory {directory} does not exist")
    if os.path.lexists(out) and not force:
        dangling = " (a symlink to nothing)" if not os.path.exists(out) else ""
        raise LegacyconvError(
            f"the output {out} already exists{dangling}; use --force (force=True) to overwrite it"
        )
    if os.path.exists(out) and not os.path.isfile(out):
        raise LegacyconvError(
            f"the output {out} is not a regular file (a FIFO, socket or device); give a file name"
        )
    try:  # a real probe: permissions, read-only mounts and a full disk all show here, before any work
        fd, probe = tempfile.mkstemp(prefix=f".{os.path.basename(out)}.", suffix=".probe", dir=directory)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise LegacyconvError(f"cannot write {out}: {exc.strerror or exc} in {directory}") from None
    return out


def check_output_dir(
    path: PathLike, *, force: bool = False, inputs: Iterable[PathLike] = (), others: Iterable[PathLike] = ()
) -> str:
    """Return ``path`` as a string after checking that a directory output (a SavedModel) may be
    written there: not one of ``inputs`` nor of the run's ``others`` outputs, existing only with
    ``force`` and then as a directory, in a directory that can be written. Checked before any
    output of the run is written, so that a refused directory leaves nothing behind.

    >>> check_output_dir("served", others=["served"])
    Traceback (most recent call last):
    ...
    legacyconv._errors.LegacyconvError: the output served is also another output of this run; choose another directory
    """
    out = os.fspath(path)
    for given in inputs:
        if os.path.realpath(out) == os.path.realpath(os.fspath(given)):
            raise LegacyconvError(f"the output {out} is also an input; choose another directory")
    for other in others:
        if os.path.realpath(out) == os.path.realpath(os.fspath(other)):
            raise LegacyconvError(
                f"the output {out} is also another output of this run; choose another directory"
            )
    if os.path.exists(out) and not force:
        raise LegacyconvError(f"{out} exists; pass force=True (--force) to replace it")
    if os.path.exists(out) and not os.path.isdir(out):
        raise LegacyconvError(f"{out} exists and is not a directory")
    parent = os.path.dirname(os.path.abspath(out))
    check_output_path(os.path.join(parent, ".legacyconv_probe"), force=True)
    return out


def atomic_write(
    path: PathLike,
    write: Callable[[str], None],
    *,
    force: bool = False,
    inputs: Iterable[PathLike] = (),
    suffix: str = ".tmp",
) -> str:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, then rename it to ``path``.

    ``suffix`` is the temporary file's ending, for writers that insist on one (Keras wants
    ``.keras``). Nothing is left behind if ``write`` raises (or a signal handler raises, as the
    command line's do for SIGINT, SIGTERM and SIGHUP); an existing ``path`` is only replaced
    when ``force`` is true and the new file is complete, and keeps its permission bits.

    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> out = atomic_write(os.path.join(d, "a.txt"), lambda tmp: open(tmp, "w").write("hi"))
    >>> open(out).read(), sorted(os.listdir(d))
    ('hi', ['a.txt'])
    """
    inputs = list(inputs)
    out = check_output_path(path, force=force, inputs=inputs)
    directory = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(out)}.", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        try:
            write(tmp)
        except OSError as exc:  # a full disk, a quota: say so in a sentence, not a libhdf5 dump
            raise LegacyconvError(f"cannot write {out}: {describe_os_error(exc)}") from None
        os.chmod(tmp, _mode_for(out))  # after writing: a writer may have re-created the file
        # check again: the output may have appeared while we were writing
        check_output_path(out, force=force, inputs=inputs)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return out


def describe_os_error(exc: OSError) -> str:
    """The system's words for an OSError, also when a library (libhdf5) wrapped them in a long message.

    >>> describe_os_error(OSError("Can't write data (file write failed: time = ..., errno = 28, "
    ...                           "error message = 'No space left on device', buf = 0x5, total write size = 8)"))
    'No space left on device'
    """
    if exc.strerror:
        return exc.strerror
    text = " ".join(str(exc).split())
    found = re.search(r"error message = '([^']{1,100})'", text)
    if found:
        return found.group(1)
    return text if len(text) <= 120 else text[:117] + "..."
