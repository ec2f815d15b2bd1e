"""``ocitool convert``: one call to :func:`ocitool.ops.convert.convert`, with a progress bar.

The bar is drawn on stderr only when stderr is a terminal, ``--quiet`` is not given and no
``CI`` variable is set; stdout gets one line per image written (its digest and names).
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from ocitool._io.output import is_stdout
from ocitool.cli import EXIT_OK, UsageError, add_registry_flags, platform_flag, registry_options
from ocitool.cli.progress import progress_for
from ocitool.cli.render import epilog
from ocitool.compression import Compression

__all__ = ["register"]

_COMPRESSIONS = {"gzip": Compression.GZIP, "zstd": Compression.ZSTD, "none": Compression.NONE}


def _cmd_convert(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.ops.convert import convert, parse_destination
    from ocitool.ops.recompress import Codec

    compress = _COMPRESSIONS[args.compress] if args.compress else None
    if args.level is not None:
        try:
            Codec(compress or Compression.GZIP, args.level)
        except ValueError as exc:
            raise UsageError(f"ocitool convert: --level: {exc}") from None
    bar = progress_for(err, quiet=args.quiet)
    try:
        result = convert(
            args.source,
            args.destination,
            all_platforms=args.all_platforms,
            platform=platform_flag(args.platform),
            compress=compress,
            level=args.level,
            tags=args.tag,
            legacy_docker=args.format == "docker-legacy",
            workers=args.workers,
            progress=bar,
            src_registry=registry_options(args, "src"),
            dest_registry=registry_options(args, "dest"),
        )
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        # An archive on stdout (``docker-archive:-``) keeps stdout to itself.
        notes = err if is_stdout(parse_destination(args.destination).path) else out
        for image in result.images:
            names = " ".join(image.names)
            notes.write(f"{image.digest}{' ' + names if names else ''}\n")
    return EXIT_OK


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def register(sub: Any) -> None:
    """Add ``convert`` and its alias ``copy`` (skopeo's name, also taking ``--all``)."""
    for name in ("convert", "copy"):
        _add(sub, name)


def _add(sub: Any, name: str) -> None:
    p = sub.add_parser(
        name,
        help="convert images between docker-archive, OCI layout, OCI archive and registries"
        if name == "convert"
        else "the same as convert (skopeo's name)",
        description="SOURCE: a path, docker-archive:PATH[:NAME|:@N], oci:DIR[:REF], oci-archive:PATH[:REF], "
        "dir:PATH, docker://HOST/REPO[:TAG|@DIGEST]. DESTINATION: oci:DIR[:REF], oci-archive:PATH[:REF], "
        "docker-archive:PATH[:NAME], docker://HOST/REPO[:TAG|@DIGEST].",
        **epilog(
            f"{name} image.tar oci:./layout:v1",
            f"{name} --compress zstd oci:./layout oci-archive:./image-zstd.tar",
            f"{name} --all-platforms oci-archive:./multi.tar docker://127.0.0.1:5000/multi:1",
            f"{name} --format docker-legacy oci:./layout:v1 docker-archive:./image.tar:myapp:1.0",
        ),
    )
    plat = p.add_mutually_exclusive_group()
    plat.add_argument("--platform", help="the image of this platform from an index (os/arch[/variant])")
    all_flags = ("--all-platforms", "--all") if name == "copy" else ("--all-platforms",)
    plat.add_argument(
        *all_flags, dest="all_platforms", action="store_true", help="keep multi-platform indexes whole"
    )
    p.add_argument(
        "--compress",
        choices=sorted(_COMPRESSIONS),
        help="recompress layers (default: gzip uncompressed layers for OCI, none for docker-archive)",
    )
    p.add_argument("--level", type=int, help="compression level (gzip 1-9, default 1; zstd 1-19, default 3)")
    p.add_argument(
        "--tag", action="append", default=[], metavar="NAME", help="name the (single) image NAME; repeatable"
    )
    p.add_argument(
        "--format",
        choices=("docker", "docker-legacy"),
        default="docker",
        help="docker-archive layout: Docker 25+ (default) or Docker 20.10's",
    )
    p.add_argument(
        "--workers", type=_positive, help="layers processed at once (default: the available cores)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no output")
    add_registry_flags(p, sides=True)
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("destination", metavar="DESTINATION")
    p.set_defaults(handler=_cmd_convert)
