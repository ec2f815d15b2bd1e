"""``ocitool referrers SOURCE [IMAGE]``: the manifests whose ``subject`` is the image.

A table (DIGEST, ARTIFACT TYPE, SIZE, ANNOTATIONS) or ``--format json`` (the descriptors as
the referrers API lists them). The registry flags are added by :mod:`ocitool.cli.registry`.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from ocitool._go import json as _gojson
from ocitool.cli import EXIT_OK
from ocitool.cli.render import epilog, human_size

__all__ = ["register"]


def _annotations(annotations: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(annotations.items()))


def _cmd_referrers(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.ops.referrers import referrers

    found = referrers(args.source, args.image or "", artifact_type=args.artifact_type)
    if args.format == "json":
        out.write(_gojson.dumps([d.to_json() for d in found], indent="    ") + "\n")
        return EXIT_OK
    rows = [("DIGEST", "ARTIFACT TYPE", "SIZE", "ANNOTATIONS")]
    rows += [(str(d.digest), d.artifact_type, human_size(d.size), _annotations(d.annotations)) for d in found]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:3])]
        out.write("   ".join([*cells, row[3]]).rstrip() + "\n")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``referrers`` to the ``ocitool`` parser."""
    p = sub.add_parser(
        "referrers",
        help="list the manifests that refer to an image (signatures, SBOMs)",
        **epilog(
            "referrers oci:./layout:v1",
            "referrers --format json docker://127.0.0.1:5000/app:1",
            "referrers --artifact-type application/vnd.dev.sigstore.bundle.v0.3+json oci:./layout:v1",
        ),
    )
    p.add_argument("--format", choices=("table", "json"), default="table", help="table (default) or json")
    p.add_argument("--artifact-type", metavar="TYPE", help="only referrers of this artifact type")
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("image", metavar="IMAGE", nargs="?")
    p.set_defaults(handler=_cmd_referrers)
