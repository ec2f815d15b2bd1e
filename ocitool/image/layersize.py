"""The unpacked size of a layer, as Docker reports it after ``docker load``.

Docker's overlay2 driver measures a layer by walking its diff directory
(``directory.Size``): the sizes of regular files, each hardlinked file once, plus each
symlink's length (the length of its target); directories, whiteouts (0/0 character devices)
and empty files add nothing. The vfs driver counts regular files only (symlinks excluded), so
a daemon on vfs reports slightly less for images with symlinks.

Layers are read as Go's ``archive/tar`` reads them (:mod:`ocitool._io.tarscan`). An uncompressed
layer is measured from its tar headers alone (member data is seeked over, headers read with
``pread``). A compressed layer must be decompressed once. Both results are cached under the
user's cache directory (``$OCITOOL_CACHE_DIR``, else platformdirs' user cache dir), written
atomically, so a second call reads no layer bytes.

The cache must not lie, so:

* a size is cached **by diff ID** only when it was computed while the decompressed stream was
  hashed and found equal to the layer's diff ID: an archive that claims a diff ID for other
  bytes can never plant a size for that diff ID;
* a header-only size (an uncompressed layer: nothing is hashed) is cached **by the identity of
  the file holding it**: device, inode, size, modification and change times in nanoseconds,
  and the layer's offset and length in the file. A crafted archive can only describe its own bytes,
  and a file that changes gets a new key. Files without a name (the decompressed spool of an
  archive compressed whole) are not cached, as their inode may be reused;
* entries live under a format version (``unpacked-size/v2/``) and hold the version, their key
  and the size plus a checksum of those three; an entry that is stale (another version),
  truncated, edited or moved to another key's file is ignored and the size measured again.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import stat
import weakref
from typing import IO, Final

from ocitool._io.files import SectionReader
from ocitool._io.output import atomic_write
from ocitool._io.tarscan import TarReader
from ocitool.compression import Compression
from ocitool.errors import DigestMismatchError
from ocitool.image.source import Layer
from ocitool.model.digest import Digest, VerifyingReader
from ocitool.model.platform import runs_on_linux

__all__ = ["cache_dir", "tar_unpacked_size", "unpacked_size"]

_WHITEOUT_PREFIX: Final = ".wh."
# The cache's format version: bump it whenever what an entry means or holds changes.
_CACHE_VERSION: Final = "v2"
_CHUNK: Final = 1 << 20


def cache_dir() -> str:
    """Where derived facts are cached: ``$OCITOOL_CACHE_DIR`` or the user cache directory."""
    env = os.environ.get("OCITOOL_CACHE_DIR")
    if env:
        return env
    return _user_cache_dir(os.environ.get("XDG_CACHE_HOME"), os.environ.get("HOME"))


@functools.lru_cache(maxsize=4)
def _user_cache_dir(xdg_cache_home: str | None, home: str | None) -> str:
    # Keyed by what it depends on, so it is asked once per run, not once per layer. On Linux it
    # is the XDG base directory rule, which platformdirs applies too; platformdirs (with pathlib
    # and urllib) is loaded only for the other systems' rules.
    if runs_on_linux() and home:
        base = (xdg_cache_home or "").strip() or os.path.join(home, ".cache")
        return os.path.join(base, "ocitool")
    import platformdirs

    return platformdirs.user_cache_dir("ocitool")


def tar_unpacked_size(stream: IO[bytes], *, label: str = "", seekable: bool = False) -> int:
    """The overlay2 size of a layer tar read from ``stream``.

    A regular file (or a window of one) is read by ``pread``, headers only; any other stream
    is read in order (``seekable`` is accepted for callers that say so; the scanner decides).
    The last entry for a path wins, as when extracting. Raises InvalidArchiveError naming
    ``label``.
    """
    sizes: dict[str, int] = {}
    for info in TarReader(stream, label=label):
        flag = info.type
        if flag == b"g":
            continue  # a PAX global header is not a file
        name = os.path.normpath("/" + info.name)
        base = os.path.basename(name)
        if base.startswith(_WHITEOUT_PREFIX):
            sizes.pop(name, None)
            continue
        if info.isreg():
            sizes[name] = info.size
        elif flag == b"2":
            sizes[name] = len(info.linkname.encode("utf-8", "surrogateescape"))
        else:
            # Hardlinks share their target's inode: counted once, with the target.
            # Directories, devices and fifos add nothing.
            sizes[name] = 0
    return sum(sizes.values())


def _cache_path(diff_id: Digest) -> str:
    return os.path.join(cache_dir(), "unpacked-size", _CACHE_VERSION, diff_id.algorithm, diff_id.encoded)


def _file_cache_path(key: str) -> str:
    name = hashlib.sha256(key.encode("ascii")).hexdigest()
    return os.path.join(cache_dir(), "unpacked-size", _CACHE_VERSION, "file", name)


def _entry(key: str, size: int) -> str:
    body = f"ocitool unpacked-size {_CACHE_VERSION}\n{key}\n{size}\n"
    return body + hashlib.sha256(body.encode("ascii")).hexdigest() + "\n"


# What this process has read or written, by the entry's path and the entry file's identity: an
# archive of many images sharing a layer reads the entry once, not once per image, and an entry
# replaced or removed since (another process, a user) is read again.
_MEMO: dict[str, tuple[tuple[int, int, int, int], int]] = {}


def _identity(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _read_entry(path: str, key: str) -> int | None:
    ident = _identity(path)
    if ident is None:
        return None
    known = _MEMO.get(path)
    if known is not None and known[0] == ident:
        return known[1]
    try:
        with open(path, encoding="ascii") as fh:
            text = fh.read(4096)
    except (OSError, ValueError):
        return None
    lines = text.split("\n")
    if len(lines) != 5 or lines[4] != "":
        return None
    try:
        size = int(lines[2])
    except ValueError:
        return None
    if size < 0 or text != _entry(key, size):
        return None  # stale, edited, or another key's entry
    _MEMO[path] = (ident, size)
    return size


def _write_entry(path: str, key: str, size: int) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, _entry(key, size).encode("ascii"))
    except OSError:
        pass  # the cache is an optimisation: an unwritable cache directory is not an error


def _cached(diff_id: Digest) -> int | None:
    return _read_entry(_cache_path(diff_id), str(diff_id))


def _store(diff_id: Digest, size: int) -> None:
    _write_entry(_cache_path(diff_id), str(diff_id), size)


def _file_key(fh: IO[bytes]) -> str | None:
    """The identity of the bytes ``fh`` reads: ``dev:ino:size:mtime_ns:ctime_ns:offset:length`` of a named
    regular file (or a window of one), or None when they have no stable identity."""
    raw: object = fh
    if isinstance(raw, SectionReader):
        fd, offset, length = raw.window()
    elif isinstance(raw, io.FileIO):
        fd, offset, length = raw.fileno(), 0, -1
    else:
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_nlink == 0:
        return None  # an unlinked spool: its inode may be reused for other bytes
    if length < 0:
        length = st.st_size
    # ctime too: a rewrite that restores the old size and mtime (utime) still changes it.
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{offset}:{length}"


# Each open source's answers, by blob digest: the images of one archive share layers, and one
# lookup per layer and run is enough (a source's blobs do not change while it is open).
_BY_SOURCE: weakref.WeakKeyDictionary[object, dict[Digest, int]] = weakref.WeakKeyDictionary()


def unpacked_size(layer: Layer) -> int:
    """The layer's overlay2 size (see module docstring). Raises BlobNotFoundError when absent."""
    try:
        known = _BY_SOURCE.setdefault(layer.blobs, {})
    except TypeError:  # blobs that cannot be weakly referenced: no per-source memo
        known = {}
    size = known.get(layer.digest)
    if size is None:
        size = known[layer.digest] = _unpacked_size(layer)
    return size


def _unpacked_size(layer: Layer) -> int:
    if layer.compression is Compression.NONE:
        with layer.open_blob(buffered=False) as fh:
            key = _file_key(fh)
            if key is not None and (cached := _read_entry(_file_cache_path(key), key)) is not None:
                return cached
            size = tar_unpacked_size(fh, label=layer.blobs.where(layer.digest), seekable=True)
        if key is not None:
            _write_entry(_file_cache_path(key), key, size)
        return size
    cached = _cached(layer.diff_id)
    if cached is not None:
        return cached
    where = layer.blobs.where(layer.digest)
    try:
        with layer.open_uncompressed() as fh:
            checked = VerifyingReader(fh, layer.diff_id, path=where)
            size = tar_unpacked_size(checked, label=where)  # type: ignore[arg-type]
            while checked.read(_CHUNK):  # the end-of-archive blocks are part of the diff ID too
                pass
    except DigestMismatchError:
        # The bytes are not the diff ID's: answer for these bytes, and cache nothing under a
        # diff ID they do not have.
        with layer.open_uncompressed() as fh:
            return tar_unpacked_size(fh, label=where)
    _store(layer.diff_id, size)
    return size
