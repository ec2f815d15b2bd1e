"""The checking and unpacking commands: verify, validate, unpack, export.

``verify`` and ``validate`` exit 0 when all is well, 2 when they ran and found problems (each
printed), and 1 when the input cannot be read at all.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

# Functions imported from their modules: ocitool/__init__ may export functions named like the
# modules (ocitool.ops.verify, ocitool.ops.unpack), which shadow the submodule attributes.
from ocitool._io.output import is_stdout
from ocitool.cli import EXIT_CHECK_FAILED, EXIT_OK
from ocitool.model.platform import Platform
from ocitool.ops.unpack import DEFAULT_MAX_MEMBERS, export, unpack
from ocitool.ops.validate import validate
from ocitool.ops.verify import verify

__all__ = ["register"]


def _cmd_verify(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    report = verify(args.source)
    if args.format == "json":
        out.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        for problem in report.problems:
            out.write(f"{problem}\n")
        for note in report.notes:
            out.write(f"note: {note}\n")
        state = "OK" if report.ok else f"{len(report.problems)} problem(s)"
        counts = f"{report.images} image(s), {report.blobs} blob(s), {report.bytes} bytes"
        out.write(f"{report.source}: {counts}: {state}\n")
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def _cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    report = validate(args.source)
    if args.format == "json":
        out.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        for problem in report.errors:
            out.write(f"{problem}\n")
        state = "OK" if report.ok else f"{len(report.errors)} error(s)"
        out.write(f"{report.source}: {report.documents} document(s) validated: {state}\n")
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def _cmd_unpack(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    result = unpack(
        args.source,
        args.dir,
        platform=Platform.parse(args.platform) if args.platform else None,
        image=args.image,
        devices=args.devices,
        max_members=args.max_members,
        verify=args.verify,
    )
    for name in result.skipped_devices:
        err.write(f"skipped device node {name} (use --devices)\n")
    for name in result.skipped_xattrs:
        err.write(f"could not set extended attribute {name}\n")
    out.write(f"{result.image_id}: {result.entries} entries unpacked to {result.target}\n")
    return EXIT_OK


def _cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    image_id = export(
        args.source,
        args.out,
        platform=Platform.parse(args.platform) if args.platform else None,
        image=args.image,
        max_members=args.max_members,
        verify=args.verify,
    )
    # The tar may be on stdout (``-``, ``/dev/stdout``): the note must not land in it.
    (err if is_stdout(args.out) else out).write(f"{image_id}: exported to {args.out}\n")
    return EXIT_OK


def _positive(value: str) -> int:
    n = int(value)
    if n <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return n


def register(sub: Any) -> None:
    """Add verify, validate, unpack and export to the ``ocitool`` parser."""
    p = sub.add_parser("verify", help="check every blob's digest and size, diff IDs and consistency")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("source", metavar="SOURCE")
    p.set_defaults(handler=_cmd_verify)

    p = sub.add_parser("validate", help="validate every JSON document against the OCI and Docker schemas")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("source", metavar="SOURCE")
    p.set_defaults(handler=_cmd_validate)

    for name, helptext in (
        ("unpack", "unpack an image's merged root filesystem to a new directory"),
        ("export", "write an image's merged root filesystem as one tar"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--platform", help="the image of this platform (os/arch[/variant])")
        p.add_argument("--image", help="which image of the source (name, ID, or @N)")
        p.add_argument(
            "--max-members",
            type=_positive,
            default=DEFAULT_MAX_MEMBERS,
            help="per-layer member limit",
        )
        p.add_argument(
            "--no-verify",
            dest="verify",
            action="store_false",
            help="do not check layer bytes against their digests and diff IDs (faster; trusts the source)",
        )
        if name == "unpack":
            p.add_argument("--devices", action="store_true", help="create device nodes (root only)")
            p.add_argument("source", metavar="SOURCE")
            p.add_argument("dir", metavar="DIR")
            p.set_defaults(handler=_cmd_unpack)
        else:
            p.add_argument("source", metavar="SOURCE")
            p.add_argument("out", metavar="OUT.tar")
            p.set_defaults(handler=_cmd_export)
