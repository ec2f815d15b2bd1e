"""Every file and directory ocitool writes goes through here: outputs that appear whole or not at all.

Callers ask for *an output at PATH*; how it gets there is this module's business, by what PATH is:

* ``-``: standard output, written in place as a stream (``save -o -``, ``export IMG -``).
* A FIFO or a character device (also through a symlink, ``/dev/stdout``): opened and written in
  place as a stream. Nothing atomic is promised there: a reader sees bytes as they are written.
* A symlink to anything else is followed: its target is replaced atomically as below and the
  link stays; a dangling link creates its target.
* A regular file or a new path: written under a temporary name in its directory (so the rename
  stays on one file system), fsynced, given its mode and renamed over PATH; the directory is
  then fsynced so the rename survives a crash.

Errors name PATH as the user gave it, never a temporary name: :class:`~ocitool.errors.OutputError`
(``cannot write /x/out.tar: No such file or directory``), also a FileNotFoundError or
PermissionError for those causes. :func:`output_target` says which case PATH is.

A directory is built under a temporary name beside PATH and renamed into place
at the end (a rename replaces an empty directory). On any failure, KeyboardInterrupt included,
the temporary file or directory is removed and PATH is left as it was.

* :func:`output_file` and :func:`output_dir`: an output at a path known up front. Used as
  context managers (commit when the block ends without error, discard otherwise), or held and
  finished with ``commit()``/``discard()`` when the work spans several calls.
* :func:`pending_file`: a file whose name is only known once it is complete (content-addressed
  blobs: the digest names it); ``commit(path)`` names it, leaving the block discards it.
* :func:`atomic_write`: a whole file from bytes.
* :func:`staging_dir` and :func:`remove_tree`: a private scratch directory for pending files, and
  the removal that also clears read-only directories (unpacked images have them).
  :func:`staging_for` is the scratch directory for an output's parts (beside the target, or in
  the system's temporary directory when the output streams); :func:`spooled` copies a stream
  (stdin) to a scratch file for readers that need to seek.

Modes are applied as ``open(2)`` applies them: minus the process umask (temporaries are created
with their final mode, never widened later). ``sync=False`` skips the
fsyncs (still atomic, not durable: for caches and bulk fills that are rebuilt when lost).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Final, TypeVar

from ocitool.errors import OutputError, OutputNotFoundError, OutputPermissionError

__all__ = [
    "STDOUT",
    "OutputDir",
    "OutputFile",
    "StreamOutput",
    "atomic_write",
    "file_lock",
    "fsync_dir",
    "output_dir",
    "output_file",
    "pending_file",
    "output_target",
    "is_stdout",
    "remove_tree",
    "spooled",
    "staging_dir",
    "staging_for",
]

STDOUT: Final = "-"
"""The output path that means standard output."""

_TMP: Final = ".tmp-"
_ATTEMPTS: Final = 100
_FILE_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW

_CHUNK: Final = 1 << 20

PathArg = str | os.PathLike[str]
_T = TypeVar("_T")


def _cannot_write(path: str, exc: OSError) -> OutputError:
    """``exc`` (about ``path`` or a temporary beside it) as an error naming only ``path``."""
    shown = "stdout" if path == STDOUT else path
    reason = exc.strerror or str(exc)
    if isinstance(exc, FileNotFoundError):
        return OutputNotFoundError(shown, exc.errno, reason)
    if isinstance(exc, PermissionError):
        return OutputPermissionError(shown, exc.errno, reason)
    return OutputError(shown, exc.errno, reason)


def output_target(path: PathArg) -> tuple[str, bool]:
    """Where an output at ``path`` goes and whether it streams: ``("-", True)`` for stdout;
    ``(path, True)`` for a FIFO or character device (symlinks to one included, kept as given so
    ``/dev/stdout`` opens the process's own stdout); else ``(file, False)`` with symlinks
    resolved (a dangling link gives its target). Raises OutputError when ``path`` cannot be
    examined (a file as a directory component, a symlink loop)."""
    text = os.fspath(path)
    if text == STDOUT:
        return STDOUT, True
    absolute = os.path.abspath(text)
    try:
        st: os.stat_result | None = os.stat(absolute)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _cannot_write(text, exc) from None
    if st is not None and (stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
        return absolute, True
    if os.path.islink(absolute):
        return os.path.realpath(absolute), False
    return absolute, False


def _create(directory: str, prefix: str, make: Callable[[str], _T]) -> tuple[_T, str]:
    """``make(name)`` for an unused random ``name`` in ``directory`` (``make`` must fail with
    FileExistsError when the name is taken), as ``mkstemp`` does; but ``make`` gives the mode,
    so the kernel applies the umask (and a directory's default ACL) as for any new file."""
    for _ in range(_ATTEMPTS):
        name = os.path.join(directory, f"{prefix}{os.urandom(6).hex()}")
        try:
            return make(name), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary name", directory)


def fsync_dir(path: PathArg) -> None:
    """fsync a directory so that a rename inside it survives a crash (best effort)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def remove_tree(path: PathArg) -> None:
    """Remove ``path`` and everything below it, also through directories without write or
    search permission (an unpacked image may hold them). Never raises."""
    import shutil  # with bz2 and lzma: loaded by the commands that remove trees

    def onerror(func: object, p: str, exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(p), 0o700)
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, 0o700)
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)

    with contextlib.suppress(OSError):
        shutil.rmtree(path, onerror=onerror)


def _temp_prefix(path: str) -> str:
    """Temporaries are hidden and say what they will become: ``.tmp-NAME-XXXXXXXX``."""
    return f"{_TMP}{os.path.basename(path)}-"


class OutputFile:
    """A file being written under a temporary name; see :func:`output_file` and :func:`pending_file`.

    ``file`` is open for binary writing. :meth:`commit` flushes, fsyncs, sets the mode and renames
    it to its final path; :meth:`discard` removes it. Both are idempotent, and whichever runs
    first wins. As a context manager it yields ``file`` and commits when the block ends without an
    error (a pending file, whose name is not known, is discarded instead unless the block
    committed it), and discards on any exception.
    """

    def __init__(self, path: str | None, directory: str, *, prefix: str, mode: int, sync: bool) -> None:
        self.path = path
        self.shown = path  # the path named in errors: the one the user gave
        self.sync = sync
        fd, self.name = _create(directory, prefix, lambda name: os.open(name, _FILE_FLAGS, mode))
        self._done = False
        try:
            self.file: IO[bytes] = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            os.unlink(self.name)
            raise

    def close(self) -> None:
        """Flush and (with ``sync``) fsync the content; the file stays under its temporary name."""
        if self.file.closed:
            return
        try:
            self.file.flush()
            if self.sync:
                os.fsync(self.file.fileno())
        finally:
            self.file.close()

    def commit(self, path: PathArg | None = None, *, sync_dir: bool = True) -> None:
        """Publish the file at ``path`` (default: the path given at creation), replacing what is
        there. ``sync_dir=False``
        leaves the directory's fsync to the caller (many blobs into one directory). Raises OSError;
        the temporary file is removed then."""
        if self._done:
            return
        target = os.fspath(path) if path is not None else self.path
        if target is None:
            raise ValueError("a pending file needs a path to commit to")
        try:
            self.close()
            os.replace(self.name, target)
        except OSError as exc:
            self.discard()
            raise _cannot_write(self.shown if path is None and self.shown else target, exc) from None
        except BaseException:
            self.discard()
            raise
        self._done = True
        if self.sync and sync_dir:
            fsync_dir(os.path.dirname(os.path.abspath(target)))

    def discard(self) -> None:
        """Remove the temporary file. Never raises."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.name)

    def __enter__(self) -> IO[bytes]:
        return self.file

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None or self.path is None:
            self.discard()
        else:
            self.commit()


def is_stdout(path: PathArg) -> bool:
    """Whether an output at ``path`` lands on this process's stdout (``-``, ``/dev/stdout``, or
    the very file stdout is): the CLI then sends its own messages to stderr."""
    text = os.fspath(path)
    if text == STDOUT:
        return True
    try:
        st, out = os.stat(text), os.fstat(1)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino)


class StreamOutput:
    """An output written in place as a stream: stdout, a FIFO or a character device (see
    :func:`output_file`). Same interface as :class:`OutputFile`: :meth:`commit` flushes and closes,
    :meth:`discard` closes (what was written stays written: a stream cannot be taken back)."""

    def __init__(self, path: str, shown: str) -> None:
        self.path = path
        self.name = path
        self._shown = shown
        self._done = False
        if path == STDOUT:  # text already printed goes first
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stdout.flush()
        try:
            fd = os.dup(1) if path == STDOUT else os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_NOCTTY)
        except OSError as exc:
            raise _cannot_write(shown, exc) from None
        self.file: IO[bytes] = os.fdopen(fd, "wb")

    def close(self) -> None:
        """Flush and close (stdout itself stays open: this is a duplicate of it)."""
        if not self.file.closed:
            try:
                self.file.flush()
            finally:
                self.file.close()

    def commit(self, path: PathArg | None = None, *, sync_dir: bool = True) -> None:
        """Flush and close. Raises OSError (BrokenPipeError when the reader went away)."""
        if self._done:
            return
        self._done = True
        self.close()

    def discard(self) -> None:
        """Close, dropping what is still buffered. Never raises."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError, ValueError):
            self.file.close()

    def __enter__(self) -> IO[bytes]:
        return self.file

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.discard()
        else:
            self.commit()


def output_file(path: PathArg, *, mode: int = 0o644, sync: bool = True) -> OutputFile | StreamOutput:
    """An output file at ``path`` (see the module docstring for what each kind of path gets):
    a regular file is written under a temporary name in its (resolved) directory and published
    by rename; stdout (``-``), a FIFO or a device is written in place.
    ``with output_file(p) as fh: fh.write(...)``.

    Raises OutputError (an OutputNotFoundError when the directory is absent) naming ``path``
    before anything is written; commit errors are OutputErrors too.
    """
    shown = os.fspath(path)
    target, streams = output_target(path)
    if streams:
        return StreamOutput(target, shown)
    try:
        out = OutputFile(target, os.path.dirname(target), prefix=_temp_prefix(target), mode=mode, sync=sync)
    except OSError as exc:
        raise _cannot_write(shown, exc) from None
    out.shown = shown
    return out


def pending_file(directory: PathArg, *, mode: int = 0o644, sync: bool = True) -> OutputFile:
    """A file in ``directory`` whose final name is decided once it is written (a blob named by
    its digest): ``commit(path)`` publishes it; anything else removes it."""
    return OutputFile(None, os.fspath(directory), prefix=_TMP, mode=mode, sync=sync)


def atomic_write(path: PathArg, data: bytes, *, mode: int = 0o600, sync: bool = True) -> None:
    """Write ``data`` as the file ``path``: readers see the old file or the whole new one
    (moby's ``ioutils.AtomicWriteFile``). Raises OSError."""
    with output_file(path, mode=mode, sync=sync) as fh:
        fh.write(data)


class OutputDir:
    """A directory being built under a temporary name beside its path; see :func:`output_dir`.

    ``name`` is the directory to fill. :meth:`commit` fsyncs it and renames it to the path (which
    must be absent or an empty directory); :meth:`discard` removes it with everything in it. As a
    context manager it yields ``name``, commits on success and discards on any exception.
    """

    def __init__(self, path: str, *, mode: int | None, sync: bool) -> None:
        self.path = path
        self.sync = sync
        dir_mode = 0o700 if mode is None else mode
        try:
            _, self.name = _create(os.path.dirname(path), _temp_prefix(path), lambda n: os.mkdir(n, dir_mode))
        except OSError as exc:
            raise _cannot_write(path, exc) from None
        self._done = False

    def commit(self) -> None:
        """Rename the directory into place. Raises OSError (the directory is removed then)."""
        if self._done:
            return
        try:
            if self.sync:
                fsync_dir(self.name)
            os.rename(self.name, self.path)
        except OSError as exc:
            self.discard()
            raise _cannot_write(self.path, exc) from None
        except BaseException:
            self.discard()
            raise
        self._done = True
        if self.sync:
            fsync_dir(os.path.dirname(self.path))

    def discard(self) -> None:
        """Remove the directory and its content. Never raises."""
        if not self._done:
            self._done = True
            remove_tree(self.name)

    def __enter__(self) -> str:
        return self.name

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.discard()
        else:
            self.commit()


def output_dir(path: PathArg, *, mode: int | None = 0o755, sync: bool = True) -> OutputDir:
    """An output directory at ``path``, built beside it and renamed into place (see the module
    docstring). ``mode=None`` leaves it private (0700) for the caller to set.

    Raises OSError (FileNotFoundError when the parent is absent) before anything is written.
    """
    return OutputDir(os.path.abspath(os.fspath(path)), mode=mode, sync=sync)


def staging_dir(directory: PathArg, *, prefix: str = _TMP) -> str:
    """A new private directory in ``directory`` for pending files; the caller removes it with
    :func:`remove_tree` once its files are committed or dropped."""
    return _create(os.fspath(directory), prefix, lambda n: os.mkdir(n, 0o700))[1]


def staging_for(path: PathArg) -> str:
    """A new private scratch directory for the parts of an output at ``path`` (blobs an archive
    is assembled from): beside the target, so nothing crosses file systems, or in the system's
    temporary directory when the output streams. The caller removes it with :func:`remove_tree`.
    Raises OutputError naming ``path`` (not the scratch name)."""
    import tempfile

    target, streams = output_target(path)
    directory = tempfile.gettempdir() if streams else os.path.dirname(target)
    try:
        return staging_dir(directory)
    except OSError as exc:
        raise _cannot_write(os.fspath(path), exc) from None


@contextmanager
def spooled(stream: IO[bytes], *, name: str = "stdin") -> Iterator[str]:
    """Copy ``stream`` (stdin) to a private scratch file in the system's temporary directory
    for readers that need to seek, and yield its path; the file is removed when the block ends,
    on any exception (KeyboardInterrupt included) too."""
    import shutil
    import tempfile

    scratch = staging_dir(tempfile.gettempdir())
    try:
        path = os.path.join(scratch, name)
        with os.fdopen(os.open(path, _FILE_FLAGS, 0o600), "wb") as fh:
            shutil.copyfileobj(stream, fh, _CHUNK)
        yield path
    finally:
        remove_tree(scratch)


@contextmanager
def file_lock(path: str, *, shared: bool = False) -> Iterator[None]:
    """Hold ``flock`` on ``path`` (created if missing) for the duration of the block.

    Exclusive by default; ``shared`` for readers. Blocks until the lock is free.
    """
    import fcntl  # only the store locks: not loaded by ``import ocitool``

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
