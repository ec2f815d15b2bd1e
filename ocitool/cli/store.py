"""The store's commands: ``load``, ``save``, ``squash``, ``tag``, ``rmi``, ``image prune``,
``import``, ``system df`` (``--root``, default ``$OCITOOL_ROOT``). Each handler calls one
:class:`ocitool.service.service.ImageService` method and renders what the docker v28 CLI prints.
``inspect``, ``images`` and ``history`` read a store through :mod:`ocitool.cli.commands`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ocitool._go import json as _gojson
from ocitool._io.output import STDOUT, spooled
from ocitool.cli import EXIT_ERROR, platform_flag, render
from ocitool.cli.progress import progress_bar
from ocitool.cli.render import STORE_IMAGE, epilog
from ocitool.errors import OcitoolError

if TYPE_CHECKING:
    from ocitool.service.service import ImageService

__all__ = ["register"]


def _service(args: argparse.Namespace) -> ImageService:
    # The service, the store and sqlite are loaded when a command runs, not for --help.
    from ocitool.service.service import ImageService
    from ocitool.store.root import default_root

    return ImageService(getattr(args, "root", None) or default_root())


# -- store commands -------------------------------------------------------------------------


def _cmd_load(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    source = args.input or args.source
    if source and source != STDOUT:
        return _load(args, source, out, err)
    # ``docker load`` habits: ``ocitool load < x.tar``, ``cat x.tar | ocitool load``.
    if sys.stdin is None or sys.stdin.isatty():
        err.write("Error: requested load from stdin, but stdin is empty: give -i FILE or SOURCE\n")
        return 125
    # The readers index the archive, so stdin is spooled once to a private scratch file.
    with spooled(sys.stdin.buffer) as path:
        if os.path.getsize(path) == 0:
            err.write("Error: requested load from stdin, but stdin is empty\n")
            return EXIT_ERROR
        try:
            return _load(args, path, out, err)
        except OcitoolError as exc:
            _name_stdin(exc, path)
            raise


def _load(args: argparse.Namespace, source: str, out: TextIO, err: TextIO) -> int:
    with progress_bar(err, quiet=args.quiet) as bar:
        result = _service(args).load(source, platform=platform_flag(args.platform), progress=bar)
    for line in result.lines:
        out.write(line + "\n")
    return 0


def _name_stdin(exc: OcitoolError, spool: str) -> None:
    """Errors about the spooled copy name stdin, never the scratch file."""
    exc.message = exc.message.replace(spool, "stdin")
    if exc.path is not None:
        exc.path = exc.path.replace(spool, "stdin")
    exc.args = (exc.message,)


def _cmd_save(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    output = args.output
    if not output:
        # As docker: stdout unless it is a terminal.
        if os.isatty(1):
            err.write("Error: cowardly refusing to save to a terminal. Use the -o flag or redirect\n")
            return EXIT_ERROR
        output = STDOUT
    if output == STDOUT and args.format == "oci":
        err.write("Error: --format oci writes a directory: give -o DIR\n")
        return 125
    with progress_bar(err) as bar:
        _service(args).save(args.images, f"{args.format}:{output}", progress=bar)
    return 0


def _cmd_squash(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    new_id = _service(args).squash(args.image, args.parent or "", tag=args.tag or "")
    out.write(f"{new_id}\n")
    return 0


def _cmd_tag(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        _service(args).tag(args.source, args.target)
    except OcitoolError as exc:
        err.write(f"Error: {render.daemon_message(exc)}\n")
        return 1
    return 0


def _cmd_rmi(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    results = _service(args).rmi(args.images, force=args.force, prune=not args.no_prune)
    failed = False
    for res in results:
        for rec in res.records:
            out.write(f"Untagged: {rec.untagged}\n" if rec.untagged else f"Deleted: {rec.deleted}\n")
        if res.error is not None:
            failed = True
            err.write(f"Error: {render.daemon_message(res.error)}\n")
    return 1 if failed else 0


def _cmd_prune(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.engineapi import filters

    if not args.force:
        warning = (
            "WARNING! This will remove all images without at least one container associated to them."
            if args.all
            else "WARNING! This will remove all dangling images."
        )
        out.write(f"{warning}\nAre you sure you want to continue? [y/N] ")
        out.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            err.write("Error: image prune has been cancelled\n")
            return 1
    report = _service(args).prune(
        all_images=args.all, filters=filters.ImageFilters.parse(args.filter, allowed=filters.PRUNE_FILTERS)
    )
    if report.images_deleted:
        out.write("Deleted Images:\n")
        for d in report.images_deleted:
            out.write(f"untagged: {d.untagged}\n" if d.untagged else f"deleted: {d.deleted}\n")
        out.write("\n")
    out.write(f"Total reclaimed space: {render.human_size(report.space_reclaimed, 4)}\n")
    return 0


def _cmd_import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    service = _service(args)
    kwargs: dict[str, Any] = {
        "ref": args.reference or "",
        "changes": args.change,
        "message": args.message or "",
        "platform": platform_flag(args.platform),
    }
    if args.file == "-":
        image_id = service.import_image(sys.stdin.buffer, **kwargs)
    else:
        with open(args.file, "rb") as fh:
            image_id = service.import_image(fh, **kwargs)
    out.write(f"{image_id}\n")
    return 0


_DF_TABLE = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
_DF_HEADERS = {
    "Type": "TYPE",
    "TotalCount": "TOTAL",
    "Active": "ACTIVE",
    "Size": "SIZE",
    "Reclaimable": "RECLAIMABLE",
}


class _DfRow:
    def __init__(self, kind: str, total: int, active: int, size: int, reclaimable: int) -> None:
        self.kind, self.total, self.active, self.size, self.reclaimable = (
            kind,
            total,
            active,
            size,
            reclaimable,
        )

    def template_fields(self) -> dict[str, Any]:
        rec = render.human_size(self.reclaimable, 4)
        if self.size > 0:
            rec = f"{rec} ({self.reclaimable * 100 // self.size}%)"
        return {
            "Type": self.kind,
            "TotalCount": str(self.total),
            "Active": str(self.active),
            "Size": render.human_size(self.size, 4),
            "Reclaimable": rec,
        }

    def template_json(self) -> _gojson.RawJSON:
        return _gojson.RawJSON(_gojson.dumps(dict(sorted(self.template_fields().items()))))


def _cmd_df(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    usage = _service(args).disk_usage()
    used = sum(s.size - s.shared_size for s in usage.images if s.containers > 0)
    rows = [
        _DfRow(
            "Images",
            len(usage.images),
            sum(1 for s in usage.images if s.containers > 0),
            usage.layers_size,
            usage.layers_size - used,
        ),
        _DfRow("Containers", 0, 0, 0, 0),
        _DfRow("Local Volumes", 0, 0, 0, 0),
        _DfRow("Build Cache", 0, 0, 0, 0),
    ]
    fmt = args.format or _DF_TABLE
    from ocitool.cli.template import render_table

    out.write(render_table(fmt, rows, _DF_HEADERS))
    return 0


def _group_help(parser: argparse.ArgumentParser) -> Any:
    """The handler of a command group given no subcommand: its help on stdout, exit 0 (as
    ``docker image`` does)."""

    def show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        parser.print_help(out)
        return 0

    return show


def register(sub: Any) -> None:
    """Add the store commands to the ``ocitool`` parser."""
    p = sub.add_parser(
        "load",
        help="load images from an archive or layout into the store (docker load)",
        **epilog(
            "load -i image.tar",
            "load --root ./store oci:./layout:v1",
            "load --platform linux/arm64 oci-archive:./multi.tar",
        ),
    )
    p.add_argument(
        "-i", "--input", help="the archive to read (any SOURCE the readers read; default: stdin, as docker)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars on the terminal")
    p.add_argument("--platform", help="of a multi-platform index, load this platform's image")
    p.add_argument("source", metavar="SOURCE", nargs="?")
    p.set_defaults(handler=_cmd_load)

    p = sub.add_parser(
        "save",
        help="save images from the store to an archive or layout (docker save)",
        **epilog(
            "save -o image.tar alpine myapp:1.0",
            "save --format oci -o ./layout myapp:1.0",
            grammar=STORE_IMAGE,
        ),
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="write to this file, - for stdout (or directory for oci; default: stdout unless a terminal)",
    )
    p.add_argument(
        "--format",
        choices=("docker-archive", "oci-archive", "oci"),
        default="docker-archive",
        help="docker-archive (default: as docker save), oci-archive or oci",
    )
    p.add_argument("images", metavar="IMAGE", nargs="+")
    p.set_defaults(handler=_cmd_save)

    p = sub.add_parser(
        "squash",
        help="merge an image's layers above its parent into one (SquashImage)",
        **epilog("squash -t myapp:flat myapp:1.0", "squash --parent alpine myapp:1.0", grammar=STORE_IMAGE),
    )
    p.add_argument("--parent", metavar="IMAGE", help="keep this image's layers (default: squash all)")
    p.add_argument("-t", "--tag", metavar="NAME[:TAG]", help="tag the squashed image")
    p.add_argument("image", metavar="IMAGE")
    p.set_defaults(handler=_cmd_squash)

    p = sub.add_parser(
        "tag",
        help="create a tag TARGET that refers to SOURCE (docker tag)",
        **epilog(
            "tag myapp:1.0 myapp:latest",
            "tag sha256:ccb96aa3e4f8 registry.example/app:1",
            grammar=STORE_IMAGE,
        ),
    )
    p.add_argument("source", metavar="SOURCE_IMAGE")
    p.add_argument("target", metavar="TARGET_IMAGE")
    p.set_defaults(handler=_cmd_tag)

    p = sub.add_parser(
        "rmi",
        help="remove images (docker rmi)",
        **epilog("rmi myapp:1.0", "rmi -f ccb96aa3e4f8 alpine", grammar=STORE_IMAGE),
    )
    p.add_argument("-f", "--force", action="store_true", help="force removal of the image")
    p.add_argument("--no-prune", action="store_true", help="do not delete untagged parents")
    p.add_argument("images", metavar="IMAGE", nargs="+")
    p.set_defaults(handler=_cmd_rmi)

    p = sub.add_parser(
        "image",
        help="manage images (prune)",
        **epilog("image prune -f", "image prune -a --filter until=24h", grammar=""),
    )
    p.set_defaults(handler=_group_help(p))
    isub = p.add_subparsers(dest="image_command", metavar="COMMAND", parser_class=type(p))
    q = isub.add_parser(
        "prune",
        help="remove unused images (docker image prune)",
        **epilog("image prune -f", "image prune -a -f --filter label=stage=build", grammar=""),
    )
    q.add_argument(
        "-a", "--all", action="store_true", help="remove all unused images, not just dangling ones"
    )
    q.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    q.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE", help="until, label")
    q.set_defaults(handler=_cmd_prune)

    p = sub.add_parser(
        "import",
        help="create an image from a rootfs tarball (docker import)",
        **epilog(
            "import rootfs.tar myapp:1.0",
            "import -c 'CMD [\"/bin/sh\"]' - myapp:1.0 < rootfs.tar",
            grammar="",
        ),
    )
    p.add_argument("-c", "--change", action="append", default=[], help="apply a Dockerfile instruction")
    p.add_argument("-m", "--message", help="commit message for the imported image")
    p.add_argument("--platform", help="set the platform (default: this host)")
    p.add_argument("file", metavar="FILE|-")
    p.add_argument("reference", metavar="REPOSITORY[:TAG]", nargs="?")
    p.set_defaults(handler=_cmd_import)

    p = sub.add_parser(
        "system",
        help="store-wide information (df)",
        **epilog("system df", "system df --format json", grammar=""),
    )
    p.set_defaults(handler=_group_help(p))
    ssub = p.add_subparsers(dest="system_command", metavar="COMMAND", parser_class=type(p))
    q = ssub.add_parser(
        "df",
        help="show disk usage (docker system df)",
        **epilog("system df", "system df --format json", "--root ./store system df", grammar=""),
    )
    q.add_argument("--format", help="table (default), json, or a Go template")
    q.set_defaults(handler=_cmd_df)
