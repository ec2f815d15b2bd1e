"""The unpacked size of a layer, as Docker reports it after ``docker load``.

Docker's overlay2 driver measures a layer by walking its diff directory
(``directory.Size``): the sizes of regular files, each hardlinked file once, plus each
symlink's length (the length of its target); directories, whiteouts (0/0 character devices)
and empty files add nothing. The vfs driver counts regular files only (symlinks excluded), so
a daemon on vfs reports slightly less for images with symlinks.

An uncompressed layer is measured from its tar headers alone (member data is seeked over). A
compressed layer must be decompressed once; the result is cached by diff ID under the user's
cache directory (``$OCITOOL_CACHE_DIR``, else platformdirs' user cache dir), written atomically,
so a second call reads no layer bytes.

The cache must not lie, so:

* an entry is written only when the decompressed stream's digest equals the layer's diff ID:
  an archive that claims a diff ID for other bytes can never plant a size for that diff ID;
* entries live under a format version (``unpacked-size/v2/``) and hold the version, the diff ID
  and the size plus a checksum of those three; an entry that is stale (another version),
  truncated, edited or moved to another diff ID's file is ignored and the size measured again.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from typing import IO, Final

import platformdirs

from ocitool._io.output import atomic_write
from ocitool.compression import Compression
from ocitool.errors import DigestMismatchError, InvalidArchiveError
from ocitool.image.source import Layer
from ocitool.model.digest import Digest, VerifyingReader

__all__ = ["cache_dir", "tar_unpacked_size", "unpacked_size"]

_WHITEOUT_PREFIX: Final = ".wh."
# The cache's format version: bump it whenever what an entry means or holds changes.
_CACHE_VERSION: Final = "v2"
_CHUNK: Final = 1 << 20


def cache_dir() -> str:
    """Where derived facts are cached: ``$OCITOOL_CACHE_DIR`` or the user cache directory."""
    return os.environ.get("OCITOOL_CACHE_DIR") or platformdirs.user_cache_dir("ocitool")


def tar_unpacked_size(stream: IO[bytes], *, label: str = "", seekable: bool = False) -> int:
    """The overlay2 size of a layer tar read from ``stream``.

    With ``seekable`` the tar is read by seeking (headers only); otherwise it is streamed.
    The last entry for a path wins, as when extracting.
    """
    sizes: dict[str, int] = {}
    try:
        with tarfile.open(fileobj=stream, mode="r:" if seekable else "r|") as tar:
            for info in tar:
                name = os.path.normpath("/" + info.name)
                base = os.path.basename(name)
                if base.startswith(_WHITEOUT_PREFIX):
                    sizes.pop(name, None)
                    continue
                if info.isreg():
                    sizes[name] = info.size
                elif info.issym():
                    sizes[name] = len(info.linkname.encode("utf-8", "surrogateescape"))
                else:
                    # Hardlinks share their target's inode: counted once, with the target.
                    # Directories, devices and fifos add nothing.
                    sizes[name] = 0
    except (tarfile.TarError, EOFError) as exc:
        raise InvalidArchiveError(f"layer is not a readable tar: {exc}", path=label) from None
    return sum(sizes.values())


def _cache_path(diff_id: Digest) -> str:
    return os.path.join(cache_dir(), "unpacked-size", _CACHE_VERSION, diff_id.algorithm, diff_id.encoded)


def _entry_body(diff_id: Digest, size: int) -> str:
    return f"ocitool unpacked-size {_CACHE_VERSION}\n{diff_id}\n{size}\n"


def _entry(diff_id: Digest, size: int) -> str:
    body = _entry_body(diff_id, size)
    return body + hashlib.sha256(body.encode("ascii")).hexdigest() + "\n"


def _cached(diff_id: Digest) -> int | None:
    try:
        with open(_cache_path(diff_id), encoding="ascii") as fh:
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
    if size < 0 or text != _entry(diff_id, size):
        return None  # stale, edited, or another diff ID's entry
    return size


def _store(diff_id: Digest, size: int) -> None:
    path = _cache_path(diff_id)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, _entry(diff_id, size).encode("ascii"))
    except OSError:
        pass  # the cache is an optimisation: an unwritable cache directory is not an error


def unpacked_size(layer: Layer) -> int:
    """The layer's overlay2 size (see module docstring). Raises BlobNotFoundError when absent."""
    if layer.compression is Compression.NONE:
        with layer.open_blob(buffered=False) as fh:
            return tar_unpacked_size(fh, label=layer.blobs.where(layer.digest), seekable=True)
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
