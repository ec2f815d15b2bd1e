"""``ocitool pull REF`` and ``ocitool push NAME``: docker's pull and push on the store
(``--root``, default ``$OCITOOL_ROOT``), printing docker's lines.

Without a terminal each layer's status is a line (``8ad090ae0631: Pull complete``), as the
docker CLI prints a daemon's progress stream when its output is not a terminal; on a terminal
(stderr) the same events are drawn as bars, one line per layer. ``-q`` prints the reference
only, as docker's.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from ocitool.cli import EXIT_ERROR, EXIT_OK, add_registry_flags, platform_flag, registry_options
from ocitool.cli.progress import progress_for
from ocitool.cli.render import STORE_IMAGE, epilog
from ocitool.errors import ImageNotFoundError, RegistryNotFoundError
from ocitool.ops.progress import Progress, ProgressCallback

if TYPE_CHECKING:
    from ocitool.service.service import ImageService

__all__ = ["register"]


def _service(args: argparse.Namespace) -> ImageService:
    # imported here: --help and other commands load no store, service or HTTP client
    from ocitool.service.service import ImageService
    from ocitool.store.root import default_root

    return ImageService(getattr(args, "root", None) or default_root())


@contextmanager
def _layer_lines(out: TextIO, err: TextIO, *, quiet: bool) -> Iterator[ProgressCallback | None]:
    """Where layer events go: bars on a terminal (stderr), else docker's status lines on
    ``out``; nothing with ``quiet``."""
    if quiet:
        yield None
        return
    renderer = progress_for(err)
    lock = threading.Lock()
    if renderer is not None:
        bars = renderer

        def draw(event: Progress) -> None:
            if event.item:
                bars(event)
            else:  # a line of the whole pull (``TAG: Pulling from REPO``): stdout, as without bars
                with lock:
                    out.write(f"{event.phase}\n")
                    out.flush()

        try:
            yield draw
        finally:
            renderer.close()
        return

    def line(event: Progress) -> None:
        if event.is_status:
            with lock:
                out.write(f"{event.item}: {event.phase}\n" if event.item else f"{event.phase}\n")
                out.flush()

    yield line


def _cmd_pull(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    service = _service(args)
    ref, default_tag = service.pull_reference(args.reference)
    if default_tag and not args.quiet:
        out.write("Using default tag: latest\n")
    try:
        with _layer_lines(out, err, quiet=args.quiet) as progress:
            result = service.pull(
                args.reference,
                platform=platform_flag(args.platform),
                options=registry_options(args),
                progress=progress,
            )
    except RegistryNotFoundError as exc:
        if exc.code != "MANIFEST_UNKNOWN":
            raise
        # docker's words (the registry's code and message, as distribution 2.8 words them)
        err.write(
            f"Error response from daemon: manifest for {ref} not found: manifest unknown: manifest unknown\n"
        )
        return EXIT_ERROR
    if not args.quiet:
        out.write(f"Digest: {result.digest}\n{result.status}\n")
    out.write(f"{result.reference}\n")
    return EXIT_OK


def _cmd_push(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    service = _service(args)
    ref, default_tag = service.push_reference(args.name)
    if default_tag and not args.quiet:
        out.write("Using default tag: latest\n")
    if not args.quiet:
        out.write(f"The push refers to repository [{ref.name}]\n")
        out.flush()
    try:
        with _layer_lines(out, err, quiet=args.quiet) as progress:
            result = service.push(args.name, options=registry_options(args), progress=progress)
    except ImageNotFoundError as exc:
        err.write(f"An image does not exist locally with the tag: {exc.ref}\n")
        return EXIT_ERROR
    if args.quiet:
        out.write(f"{result.reference}\n")
    else:
        out.write(f"{result.tag}: digest: {result.digest} size: {result.size}\n")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``pull`` and ``push`` to the ``ocitool`` parser."""
    p = sub.add_parser(
        "pull",
        help="pull an image from a registry into the store (docker pull)",
        **epilog(
            "--root ./store pull 127.0.0.1:5000/app:1.0",
            "pull --platform linux/arm64 127.0.0.1:5000/multi:v1",
            "pull --creds user:pass --cert-dir ./certs registry.example:5000/team/app@sha256:<hex>",
            grammar="REF is NAME[:TAG|@DIGEST] as docker takes it (no host: docker.io/library/...).",
        ),
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print the reference only")
    p.add_argument("--platform", help="of an index, this platform's image (default: the host's)")
    p.add_argument("reference", metavar="REF")
    add_registry_flags(p)
    p.set_defaults(handler=_cmd_pull)

    p = sub.add_parser(
        "push",
        help="push an image of the store to the registry its name names (docker push)",
        **epilog(
            "--root ./store push 127.0.0.1:5000/app:1.0",
            "push --creds user:pass registry.example:5000/team/app:2",
            grammar=STORE_IMAGE.replace("IMAGE names", "NAME names", 1),
        ),
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print the reference only")
    p.add_argument("name", metavar="NAME[:TAG]")
    add_registry_flags(p)
    p.set_defaults(handler=_cmd_push)
