"""``ocitool build [-t NAME]... [-f Dockerfile] [--build-arg K=V]... [--no-cache] [-o DEST]
CONTEXT``: Docker 20.10's classic builder for Dockerfiles without ``RUN``, into the ``--root``
store (:func:`ocitool.service.build.build`). Prints what ``DOCKER_BUILDKIT=0 docker build``
prints, line by line as it goes.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from ocitool.cli import EXIT_OK, EXIT_USAGE
from ocitool.cli.render import epilog

__all__ = ["register"]


def _pairs(values: list[str] | None, flag: str, err: TextIO) -> dict[str, str | None] | None:
    out: dict[str, str | None] = {}
    for value in values or ():
        key, eq, rest = value.partition("=")
        if not key:
            err.write(f"Error: invalid argument {value!r} for {flag}\n")
            return None
        out[key] = rest if eq else None
    return out


def _cmd_build(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.model.platform import Platform
    from ocitool.service.build import build
    from ocitool.store.root import default_root

    build_args = _pairs(args.build_arg, "--build-arg", err)
    labels = _pairs(args.label, "--label", err)
    if build_args is None or labels is None:
        return EXIT_USAGE

    def log(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    result = build(
        args.context,
        root=getattr(args, "root", None) or default_root(),
        dockerfile=args.file,
        tags=args.tag or (),
        build_args=build_args,
        labels={k: v or "" for k, v in labels.items()},
        target=args.target,
        no_cache=args.no_cache,
        output=args.output,
        platform=Platform.parse(args.platform) if args.platform else None,
        log=None if args.quiet else log,
    )
    if args.quiet:
        out.write(str(result.image_id) + "\n")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``build`` to the ``ocitool`` parser."""
    p = sub.add_parser(
        "build",
        help="build an image from a Dockerfile without RUN (Docker 20.10's classic builder)",
        **epilog(
            "--root ./store build -t app:1 .",
            "build -f docker/Dockerfile --build-arg VERSION=1.2 -t app:1.2 .",
            "build --no-cache -o oci:./layout:app .",
            "build --target runtime -o docker-archive:app.tar:app:1 ./src",
            grammar="CONTEXT is a directory; DEST is any convert destination (oci:DIR[:REF], "
            "docker-archive:PATH[:NAME], ...)",
        ),
    )
    p.add_argument("-t", "--tag", action="append", metavar="NAME", help="name the image (repeatable)")
    p.add_argument("-f", "--file", metavar="PATH", help="the Dockerfile (default: CONTEXT/Dockerfile)")
    p.add_argument("--build-arg", action="append", metavar="K=V", help="a build argument (repeatable)")
    p.add_argument("--label", action="append", metavar="K=V", help="a label for the image (repeatable)")
    p.add_argument("--target", metavar="STAGE", help="build up to this stage")
    p.add_argument("--no-cache", action="store_true", help="do not use the build cache")
    p.add_argument("--platform", metavar="OS/ARCH", help="the platform of FROM scratch images")
    p.add_argument(
        "-o",
        "--output",
        metavar="DEST",
        help="write the image to DEST (any convert destination) instead of tagging",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image ID")
    p.add_argument("context", metavar="CONTEXT")
    p.set_defaults(handler=_cmd_build)
