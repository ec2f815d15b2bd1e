"""The text ``--help`` ends with: what SOURCE and IMAGE accept (one text, shared by every
command) and a few examples of the command."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["SOURCE_IMAGE", "STORE_IMAGE", "epilog"]

SOURCE_IMAGE = """\
SOURCE is a path, its format read from its content (a docker save archive of any vintage, an OCI
layout or archive, a skopeo dir: copy, any of them compressed whole), or skopeo's syntax:
  docker-archive:PATH[:NAME|:@N]  oci:DIR[:REF]  oci-archive:PATH[:REF]  dir:PATH
IMAGE picks one image of SOURCE: a name as in RepoTags (alpine means
docker.io/library/alpine:latest), an OCI ref.name annotation as written, a full image ID or a
unique ID prefix (sha256:... or bare hex), or @N (the N-th image, from 0)."""

STORE_IMAGE = """\
IMAGE names an image of the store (--root DIR, default $OCITOOL_ROOT): NAME[:TAG] as docker
normalises it (alpine means docker.io/library/alpine:latest), a full image ID or a unique ID
prefix."""


def epilog(*examples: str, grammar: str = SOURCE_IMAGE) -> dict[str, Any]:
    """``add_parser`` keyword arguments for a command's help: ``grammar`` (what SOURCE and IMAGE
    accept), then ``examples`` (command lines after ``ocitool``), kept as written."""
    lines = "\n".join(f"  ocitool {example}" for example in examples)
    return {
        "epilog": f"{grammar}\n\nexamples:\n{lines}" if grammar else f"examples:\n{lines}",
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }
