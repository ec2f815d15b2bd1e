"""From what the user typed to an opened :class:`~ocitool.image.source.Source`.

A source is ``TRANSPORT:PATH[:SUFFIX]`` in skopeo's grammar (``docker-archive:PATH[:NAME|:@N]``,
``oci:DIR[:REF]``, ``oci-archive:PATH[:REF]``, ``dir:PATH``, ``docker://HOST/REPO[:TAG|@DIGEST]``,
a registry, with the options of :func:`~ocitool.formats.registry.read.using_registry_options`)
or a bare path whose format is
detected from its content: a directory holding an OCI layout, a skopeo ``dir:`` or an unpacked
docker save; a file holding a tar, itself maybe compressed whole (gzip, zstd, xz, bzip2).
"""

from __future__ import annotations

import os
import stat
from typing import Final

from ocitool._io.files import DirView, FileView
from ocitool._io.tarindex import TarView
from ocitool._record import record
from ocitool.compression import SNIFF_SIZE, Compression, describe, is_tar_header, open_decompressed, sniff
from ocitool.errors import InvalidReferenceError, NotAnImageError
from ocitool.formats.dir.read import SkopeoDirSource, is_skopeo_dir
from ocitool.formats.docker.read import DockerArchiveSource, is_docker_archive
from ocitool.formats.oci.read import OCILayoutSource, is_oci_layout
from ocitool.formats.registry import TRANSPORT_PREFIX
from ocitool.image.source import Source

__all__ = ["REGISTRY_TRANSPORT", "TRANSPORTS", "SourceLike", "SourceSpec", "open_source", "parse_source"]

TRANSPORTS: Final = ("docker-archive", "oci", "oci-archive", "dir")
REGISTRY_TRANSPORT: Final = "docker"
"""``docker://HOST[:PORT]/REPO[:TAG|@DIGEST]``: an image in a registry (the spec's path is the
whole reference, its image suffix empty)."""

SourceLike = str | os.PathLike[str]
"""A SOURCE as the user gives it: a string in skopeo's grammar, or a path (``pathlib.Path``)."""


@record(frozen=True)
class SourceSpec:
    """A parsed SOURCE: transport ('' to detect), path, and the image suffix ('' for none)."""

    transport: str
    path: str
    image: str = ""


def parse_source(text: SourceLike) -> SourceSpec:
    """Split ``TRANSPORT:PATH[:SUFFIX]``; a string with no known transport prefix is a path,
    and so is a path object (``pathlib.Path("oci:x")`` names a file called ``oci:x``).

    As in skopeo, the path ends at the first ``:`` after the transport (paths with colons need
    the bare form). A bare ``x.tar:name`` carries its image too: it splits at the last ``:``
    when the whole string is not an existing path and the part before it is (the name may
    have a tag: ``x.tar:repo:tag`` splits after ``x.tar``).
    """
    if not isinstance(text, str):
        return SourceSpec("", os.fspath(text))
    transport, sep, rest = text.partition(":")
    if text.startswith(TRANSPORT_PREFIX):
        # docker://HOST/REPO[:TAG|@DIGEST]: the whole reference names the image
        return SourceSpec(REGISTRY_TRANSPORT, text)
    if sep and transport in TRANSPORTS:
        if not rest:
            raise InvalidReferenceError(text, f"{transport}: needs a path")
        if transport == "dir":
            return SourceSpec(transport, rest)
        path, _, image = rest.partition(":")
        if not path:
            raise InvalidReferenceError(text, f"{transport}: needs a path")
        return SourceSpec(transport, path, image)
    return _bare(text)


def _bare(text: str) -> SourceSpec:
    """A bare path, or ``PATH:IMAGE`` when the whole is no path and ``PATH`` is: split at the
    last ``:`` with an existing path before it, so an IMAGE may carry a tag (``x.tar:a/b:1``)."""
    if os.path.lexists(text):
        return SourceSpec("", text)
    end = len(text)
    while (colon := text.rfind(":", 0, end)) > 0:
        path, image = text[:colon], text[colon + 1 :]
        if image and os.path.lexists(path):
            return SourceSpec("", path, image)
        end = colon
    return SourceSpec("", text)


def _tar_view(path: str) -> TarView:
    with open(path, "rb") as fh:
        head = fh.read(512)
    comp = sniff(head[:SNIFF_SIZE])
    if comp is Compression.NONE:
        if not is_tar_header(head):
            raise NotAnImageError(path, describe(path) or "not a tar archive")
    else:
        with open(path, "rb") as raw, open_decompressed(raw, comp, path=path) as stream:
            if not is_tar_header(stream.read(512)):
                raise NotAnImageError(path, f"{comp.value}-compressed, but not a tar inside")
    return TarView(path)


def open_source(spec: SourceSpec | SourceLike) -> Source:
    """Open a source for reading. Raises NotAnImageError, FileNotFoundError-like OcitoolErrors.

    The result holds files open: use it as a context manager.
    """
    if not isinstance(spec, SourceSpec):
        spec = parse_source(spec)
    if spec.transport == REGISTRY_TRANSPORT:
        from ocitool.formats.registry.read import open_registry_source  # the HTTP client, on use

        return open_registry_source(spec.path)
    path = spec.path
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise NotAnImageError(path, "no such file or directory") from None
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        # A FIFO, socket or device would block or never end: only files and directories are read.
        raise NotAnImageError(path, "not a regular file or directory")
    view: FileView = DirView(path) if stat.S_ISDIR(mode) else _tar_view(path)
    try:
        return _open_view(view, spec)
    except BaseException:
        view.close()
        raise


def _open_view(view: FileView, spec: SourceSpec) -> Source:
    path = spec.path
    transport = spec.transport
    is_dir = isinstance(view, DirView)
    if transport == "dir":
        if not is_skopeo_dir(view):
            raise NotAnImageError(path, "no skopeo dir: manifest.json and version")
        return SkopeoDirSource(view, path=path)
    if transport in ("oci", "oci-archive"):
        if not view.exists("index.json"):
            raise NotAnImageError(path, "no index.json: not an OCI layout")
        return OCILayoutSource(view, transport="oci" if is_dir else "oci-archive", path=path)
    if transport == "docker-archive":
        if not is_docker_archive(view):
            raise NotAnImageError(path, "no manifest.json or repositories: not a docker archive")
        return DockerArchiveSource(view, path=path)
    # Detection: Docker 25+ saves hold an OCI layout too; manifest.json carries their tags.
    if is_skopeo_dir(view):
        return SkopeoDirSource(view, path=path)
    if is_docker_archive(view):
        return DockerArchiveSource(view, path=path)
    if is_oci_layout(view) or view.exists("index.json"):
        return OCILayoutSource(view, transport="oci" if is_dir else "oci-archive", path=path)
    detail = "a directory" if is_dir else "a tar with no manifest.json, repositories or index.json"
    raise NotAnImageError(path, detail)
