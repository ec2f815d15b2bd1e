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
"""

from __future__ import annotations

import os
import tarfile
from typing import IO, Final

import platformdirs

from ocitool._io.output import atomic_write
from ocitool.compression import Compression
from ocitool.errors import InvalidArchiveError
from ocitool.image.source import Layer
from ocitool.model.digest import Digest

__all__ = ["cache_dir", "tar_unpacked_size", "unpacked_size"]

_WHITEOUT_PREFIX: Final = ".wh."


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
    return os.path.join(cache_dir(), "unpacked-size", diff_id.algorithm, diff_id.encoded)


def _cached(diff_id: Digest) -> int | None:
    try:
        with open(_cache_path(diff_id), encoding="ascii") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def _store(diff_id: Digest, size: int) -> None:
    path = _cache_path(diff_id)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, str(size).encode("ascii"))
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
    with layer.open_uncompressed() as fh:
        size = tar_unpacked_size(fh, label=layer.blobs.where(layer.digest))
    _store(layer.diff_id, size)
    return size
