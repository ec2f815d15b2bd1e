"""``ocitool attestations SOURCE [IMAGE]``: BuildKit's provenance and SBOM attestations.

Without ``--format``, a table (PLATFORM, PREDICATE TYPE, DIGEST, SIZE: one row per in-toto
statement); ``--format json`` prints ``{"Provenance": ..., "SBOM": ...}``, each as
``docker buildx imagetools inspect --format '{{json .Provenance}}'`` / ``'{{json .SBOM}}'``
print it; any other ``--format`` is a Go template over ``.Name``, ``.Provenance`` and ``.SBOM``
(with buildx's ``json`` function). ``--extract DIR`` writes the statements there.
The registry flags are added by :mod:`ocitool.cli`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TextIO

from ocitool.cli import EXIT_OK
from ocitool.cli.render import epilog, human_size

if TYPE_CHECKING:
    from ocitool.ops.attestations import Attestations

__all__ = ["register"]


def _go_json(value: Any) -> str:
    """buildx's template ``json``: ``json.MarshalIndent(v, "", "  ")`` (HTML-escaped)."""
    from ocitool._go import json as gojson
    from ocitool._go.values import json_value

    return gojson.dumps(json_value(value), indent="  ")


def _table(found: Attestations, out: TextIO) -> None:
    rows = [("PLATFORM", "PREDICATE TYPE", "DIGEST", "SIZE")]
    rows += [
        (s.platform, s.predicate_type, str(s.layer.digest), human_size(s.layer.size))
        for s in found.statements
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:3])]
        out.write("   ".join([*cells, row[3]]).rstrip() + "\n")


def _warn(found: Attestations, err: TextIO) -> None:
    for desc in found.missing:
        err.write(f"warning: {desc.digest} is listed by the index but not in the source: not read\n")
    for manifest, subject in found.orphans:
        err.write(
            f"warning: attestation manifest {manifest} attests {subject}, which the index does not list\n"
        )
    for s in found.statements:
        if not s.subject_named:
            err.write(
                f"warning: statement {s.layer.digest} ({s.platform}): its subject does not name {s.subject}\n"
            )


def _cmd_attestations(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.ops.attestations import attestations  # the readers: only when the command runs

    found = attestations(args.source, args.image or "")
    _warn(found, err)
    if args.extract:
        for path in found.extract(args.extract):
            out.write(f"{args.extract.rstrip('/')}/{path}\n")
        return EXIT_OK
    if not args.format:
        _table(found, out)
        if not found.statements:
            err.write(f"no attestations found for {found.name}\n")
        return EXIT_OK
    if args.format == "json":
        out.write(_go_json({"Provenance": found.provenance_value(), "SBOM": found.sbom_value()}) + "\n")
        return EXIT_OK
    from ocitool._go.template import Template

    text = Template.parse(args.format, funcs={"json": _go_json}).execute(found.template_data())
    out.write(text + "\n")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``attestations`` to the ``ocitool`` parser."""
    p = sub.add_parser(
        "attestations",
        help="show an image's BuildKit attestations (SLSA provenance, SPDX SBOM)",
        **epilog(
            "attestations oci:./layout:v1",
            "attestations --format json image.tar",
            "attestations --format '{{json .Provenance}}' docker://127.0.0.1:5000/app:1",
            "attestations --extract ./statements oci:./layout:v1",
        ),
    )
    p.add_argument(
        "--format",
        metavar="FORMAT",
        help="json (the imagetools shape of .Provenance and .SBOM) or a Go template "
        "over .Name, .Provenance and .SBOM; default: a table",
    )
    p.add_argument("--extract", metavar="DIR", help="write the in-toto statements to DIR (absent or empty)")
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("image", metavar="IMAGE", nargs="?")
    p.set_defaults(handler=_cmd_attestations)
