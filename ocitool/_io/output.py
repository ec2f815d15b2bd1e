"""Atomic file writes (temp file in the same directory, fsync, rename) and the root lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["atomic_write", "file_lock", "fsync_dir"]


def fsync_dir(path: str) -> None:
    """fsync a directory so that a rename inside it survives a crash."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes, *, mode: int = 0o600, sync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: readers see the old file or the whole new one.

    ``sync=False`` skips the fsyncs (for caches that are rebuilt when lost). Raises OSError.
    """
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync:
        fsync_dir(directory)


@contextmanager
def file_lock(path: str, *, shared: bool = False) -> Iterator[None]:
    """Hold ``flock`` on ``path`` (created if missing) for the duration of the block.

    Exclusive by default; ``shared`` for readers. Blocks until the lock is free.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
