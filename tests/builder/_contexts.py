"""Build contexts for the build tests, written into a directory from a compact description.

An entry is ``(path, kind, arg, mode)``: ``file`` (arg: bytes), ``dir``, ``symlink`` (arg:
target), ``hardlink`` (arg: an earlier path), ``fifo``, ``socket``; ``mode`` (optional) is
applied with chmod (not to symlinks); ``owner`` entries (``(path, "owner", (uid, gid))``)
chown what exists (the CLI sends uid/gid 0 whatever they are).
"""

from __future__ import annotations

import io
import os
import socket
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Entry = tuple[Any, ...]


def make_context(root: Path, entries: Iterable[Entry]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    sockets: list[socket.socket] = []
    for entry in entries:
        path, kind = entry[0], entry[1]
        arg = entry[2] if len(entry) > 2 else None
        mode = entry[3] if len(entry) > 3 else None
        p = root / path
        p.parent.mkdir(parents=True, exist_ok=True)
        if kind == "file":
            p.write_bytes(arg or b"")
        elif kind == "dir":
            p.mkdir(exist_ok=True)
        elif kind == "symlink":
            os.symlink(arg, p)
        elif kind == "hardlink":
            os.link(root / arg, p)
        elif kind == "fifo":
            os.mkfifo(p)
        elif kind == "socket":
            s = socket.socket(socket.AF_UNIX)
            s.bind(str(p))
            sockets.append(s)
        elif kind == "owner":
            os.chown(p, *arg, follow_symlinks=False)
        else:
            raise ValueError(kind)
        if mode is not None:
            os.chmod(p, mode)
    for s in sockets:
        s.close()
    return root


def small_tar(members: Iterable[tuple[str, bytes]]) -> bytes:
    """A tar of regular files (for ``ADD x.tar``)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1_600_000_000
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()
