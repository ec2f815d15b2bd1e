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
from ocitool._io.tarscan import DEFAULT_MAX_MEMBERS
from ocitool.cli import EXIT_CHECK_FAILED, EXIT_OK, UsageError, platform_flag
from ocitool.cli.progress import progress_bar
from ocitool.cli.render import epilog

__all__ = ["register"]


def _cmd_verify(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.ops.verify import verify

    with progress_bar(err, quiet=args.quiet) as bar:
        report = verify(args.source, progress=bar)
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
    from ocitool.ops.validate import validate

    report = validate(args.source)
    if args.format == "json":
        out.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        for problem in report.errors:
            out.write(f"{problem}\n")
        state = "OK" if report.ok else f"{len(report.errors)} error(s)"
        out.write(f"{report.source}: {report.documents} document(s) validated: {state}\n")
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def _image_and_target(args: argparse.Namespace, target: str) -> tuple[str | None, str]:
    """``SOURCE [IMAGE] TARGET``: the IMAGE (positional, or ``--image``, not both) and TARGET."""
    rest: list[str] = args.rest
    if len(rest) > 2:
        raise UsageError(f"{args.verb} takes SOURCE [IMAGE] {target}, not {len(rest) + 1} arguments")
    image = rest[0] if len(rest) == 2 else None
    if image is not None and args.image:
        raise UsageError(f"{args.verb}: IMAGE given twice ({image!r} and --image {args.image!r})")
    return image or args.image, rest[-1]


def _cmd_unpack(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.ops.unpack import unpack

    image, target = _image_and_target(args, "DIR")
    with progress_bar(err, quiet=args.quiet) as bar:
        result = unpack(
            args.source,
            target,
            platform=platform_flag(args.platform),
            image=image,
            devices=args.devices,
            max_members=args.max_members,
            progress=bar,
            verify=args.verify,
        )
    for name in result.skipped_devices:
        err.write(f"skipped device node {name} (use --devices)\n")
    for name in result.skipped_xattrs:
        err.write(f"could not set extended attribute {name}\n")
    out.write(f"{result.image_id}: {result.entries} entries unpacked to {result.target}\n")
    return EXIT_OK


def _cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.ops.unpack import export

    image, target = _image_and_target(args, "OUT.tar")
    with progress_bar(err, quiet=args.quiet) as bar:
        image_id = export(
            args.source,
            target,
            platform=platform_flag(args.platform),
            image=image,
            max_members=args.max_members,
            progress=bar,
            verify=args.verify,
        )
    # The tar may be on stdout (``-``, ``/dev/stdout``): the note must not land in it.
    (err if is_stdout(target) else out).write(f"{image_id}: exported to {target}\n")
    return EXIT_OK


def _positive(value: str) -> int:
    n = int(value)
    if n <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return n


_EXAMPLES = {
    "unpack": (
        "unpack image.tar ./rootfs",
        "unpack image.tar myapp:1.0 ./rootfs",
        "unpack --platform linux/arm64 oci:./layout:v1 ./rootfs",
    ),
    "export": (
        "export image.tar rootfs.tar",
        "export oci-archive:./image.tar @1 rootfs.tar",
        "export image.tar myapp:1.0 - | tar -t",
    ),
}


def register(sub: Any) -> None:
    """Add verify, validate, unpack and export to the ``ocitool`` parser."""
    p = sub.add_parser(
        "verify",
        help="check every blob's digest and size, diff IDs and consistency",
        **epilog("verify image.tar", "verify --format json oci:./layout", "verify dir:./copy"),
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars on the terminal")
    p.add_argument("source", metavar="SOURCE")
    p.set_defaults(handler=_cmd_verify)

    p = sub.add_parser(
        "validate",
        help="validate every JSON document against the OCI and Docker schemas",
        **epilog("validate image.tar", "validate --format json ./layout"),
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("source", metavar="SOURCE")
    p.set_defaults(handler=_cmd_validate)

    for name, helptext in (
        ("unpack", "unpack an image's merged root filesystem to a new directory"),
        ("export", "write an image's merged root filesystem as one tar"),
    ):
        target = "DIR" if name == "unpack" else "OUT.tar|-"
        p = sub.add_parser(
            name,
            help=helptext,
            usage=f"ocitool {name} [options] SOURCE [IMAGE] {target}",
            **epilog(*_EXAMPLES[name]),
        )
        p.add_argument("--platform", help="the image of this platform (os/arch[/variant])")
        p.add_argument("--image", help="which image of the source (name, ID, or @N); as IMAGE")
        p.add_argument(
            "--max-members",
            type=_positive,
            default=DEFAULT_MAX_MEMBERS,
            help="per-layer member limit",
        )
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars on the terminal")
        p.add_argument(
            "--no-verify",
            dest="verify",
            action="store_false",
            help="do not check layer bytes against their digests and diff IDs (faster; trusts the source)",
        )
        if name == "unpack":
            p.add_argument("--devices", action="store_true", help="create device nodes (root only)")
            p.add_argument("source", metavar="SOURCE")
            p.add_argument("rest", metavar="[IMAGE] DIR", nargs="+", help="IMAGE: name, ID or @N")
            p.set_defaults(handler=_cmd_unpack, verb=name)
        else:
            p.add_argument("source", metavar="SOURCE")
            p.add_argument(
                "rest", metavar="[IMAGE] OUT.tar|-", nargs="+", help="IMAGE: name, ID or @N; - is stdout"
            )
            p.set_defaults(handler=_cmd_export, verb=name)
