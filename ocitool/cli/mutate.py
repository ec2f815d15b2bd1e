"""crane's verbs: ``append``, ``mutate``, ``flatten``, ``rebase`` (:mod:`ocitool.ops.builder.verbs`).

SOURCE and DEST are any transport convert reads and writes, ``store:NAME`` for an image of the
``--root`` store (as a source and as a destination), and, for ``append``'s SOURCE, ``scratch``
(write ``./scratch`` for a file of that name). Each verb prints the digest of what it wrote.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

from ocitool.cli import EXIT_OK, UsageError, add_registry_flags, platform_flag, registry_options
from ocitool.cli.render import SOURCE_IMAGE, epilog

if TYPE_CHECKING:
    from ocitool.service.verbs import VerbOptions, WrittenImage

# The service (and with it the read path, the builder and convert) is imported by the handlers:
# --help loads none of it.

__all__ = ["register"]

_SCRATCH = "scratch"

_GRAMMAR = """\
SOURCE and DEST: any transport (docker-archive:PATH[:NAME], oci:DIR[:REF], oci-archive:PATH[:REF],
docker://HOST/REPO[:TAG], a path for SOURCE), store:NAME for the --root store, and for append's
SOURCE the keyword scratch (./scratch names a file). An index gives the image of --platform (else
the host's); --all-platforms transforms every platform's image and rebuilds the index."""


def _options(args: argparse.Namespace) -> VerbOptions:
    from ocitool.service.verbs import VerbOptions

    return VerbOptions(
        root=getattr(args, "root", None),
        platform=platform_flag(args.platform),
        all_platforms=args.all_platforms,
        src_registry=registry_options(args, "src"),
        dest_registry=registry_options(args, "dest"),
    )


def _print(written: list[WrittenImage], out: TextIO) -> int:
    for w in written:
        out.write(f"{w.digest} {w.name}\n" if w.name else f"{w.digest}\n")
    return EXIT_OK


# -- append ------------------------------------------------------------------------------------


def _cmd_append(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.service.verbs import append_image

    written = append_image(
        None if args.source == _SCRATCH else args.source,
        args.layers,
        args.destination,
        image=args.image,
        set_base_annotations=args.set_base_image_annotations,
        options=_options(args),
    )
    return _print(written, out)


# -- mutate ------------------------------------------------------------------------------------


def _pairs(values: list[str], flag: str, *, empty_ok: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise UsageError(f"ocitool mutate: {flag} {value!r}: expected KEY=VALUE")
        if not val and not empty_ok:
            raise UsageError(f"ocitool mutate: {flag} {key!r}: the value is empty")
        out.pop(key, None)
        out[key] = val
    return out


def _words(value: str | None, flag: str) -> list[str] | None:
    """A JSON array of strings, or crane's comma-separated form."""
    if value is None:
        return None
    if value.lstrip().startswith("["):
        try:
            doc = json.loads(value)
        except json.JSONDecodeError as exc:
            raise UsageError(f"ocitool mutate: {flag}: not a JSON array: {exc.msg}") from None
        if not isinstance(doc, list) or not all(isinstance(w, str) for w in doc):
            raise UsageError(f"ocitool mutate: {flag}: a JSON array of strings is expected")
        return doc
    return value.split(",")


def _cmd_mutate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.ops.builder.verbs import Mutation
    from ocitool.service.verbs import mutate_image

    env = _pairs(args.env, "--env", empty_ok=True)
    mutation = Mutation(
        env=[f"{k}={v}" for k, v in env.items()],
        labels=_pairs(args.label, "--label", empty_ok=False),
        annotations=_pairs(args.annotation, "--annotation", empty_ok=False),
        user=args.user,
        workdir=args.workdir,
        exposed_ports=[p for value in args.exposed_ports for p in value.split(",") if p],
        entrypoint=_words(args.entrypoint, "--entrypoint"),
        cmd=_words(args.cmd, "--cmd"),
        platform=platform_flag(args.set_platform),
    )

    return _print(
        mutate_image(args.source, mutation, args.destination, image=args.image, options=_options(args)), out
    )


# -- flatten -----------------------------------------------------------------------------------


def _cmd_flatten(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.service.verbs import flatten_image

    return _print(flatten_image(args.source, args.destination, image=args.image, options=_options(args)), out)


# -- rebase ------------------------------------------------------------------------------------


def _cmd_rebase(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.service.verbs import rebase_image

    written = rebase_image(
        args.source, args.old_base, args.new_base, args.destination, image=args.image, options=_options(args)
    )
    return _print(written, out)


# -- registration ------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser) -> None:
    plat = p.add_mutually_exclusive_group()
    plat.add_argument("--platform", help="of an index, the image of this platform (os/arch[/variant])")
    plat.add_argument(
        "--all-platforms", action="store_true", help="transform every platform's image, rebuild the index"
    )
    p.add_argument("--image", default="", metavar="IMAGE", help="the image of a multi-image SOURCE")
    add_registry_flags(p, sides=True)


def register(sub: Any) -> None:
    """Add ``append``, ``mutate``, ``flatten`` and ``rebase``."""
    p = sub.add_parser(
        "append",
        help="add layers (directories or tars) to an image or to scratch",
        description="One layer per LAYER (a directory, or a tar, plain or compressed), one history "
        "entry each; the layers are written reproducibly (see the README).",
        **epilog(
            "append --platform linux/arm64 scratch oci:./out:app ./rootfs",
            "append docker-archive:base.tar:base:1 store:app:1 ./app.tar.gz",
            "append --set-base-image-annotations oci:./base:1 docker://127.0.0.1:5000/app:1 ./dist",
            grammar=f"{SOURCE_IMAGE}\n\n{_GRAMMAR}",
        ),
    )
    _common(p)
    p.add_argument(
        "--set-base-image-annotations",
        action="store_true",
        help="write org.opencontainers.image.base.digest and .name",
    )
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("destination", metavar="DEST")
    p.add_argument("layers", metavar="LAYER", nargs="+")
    p.set_defaults(handler=_cmd_append)

    p = sub.add_parser(
        "mutate",
        help="edit an image's config and annotations (crane mutate)",
        description="Layers and history are untouched. --entrypoint clears Cmd; --entrypoint and --cmd "
        'take a JSON array (["/bin/sh","-c"]) or a comma-separated list.',
        **epilog(
            "mutate --env PATH=/app/bin --label org.example.team=infra oci:./in:1 oci:./out:1",
            "mutate --entrypoint '[\"/app\"]' --cmd=--serve store:app:1 store:app:2",
            "mutate --all-platforms --annotation org.example.id=1 oci-archive:multi.tar oci:./multi",
            grammar=f"{SOURCE_IMAGE}\n\n{_GRAMMAR}",
        ),
    )
    _common(p)
    p.add_argument("-e", "--env", action="append", default=[], metavar="K=V", help="set a variable")
    p.add_argument("-l", "--label", action="append", default=[], metavar="K=V", help="set a label")
    p.add_argument("-a", "--annotation", action="append", default=[], metavar="K=V", help="set an annotation")
    p.add_argument("-u", "--user", help="set the user")
    p.add_argument("-w", "--workdir", help="set the working directory")
    p.add_argument(
        "--exposed-ports",
        action="append",
        default=[],
        metavar="PORT[/PROTO]",
        help="expose ports (comma list)",
    )
    p.add_argument("--entrypoint", help="set the entrypoint (clears Cmd)")
    p.add_argument("--cmd", help="set Cmd")
    p.add_argument("--set-platform", metavar="OS/ARCH[/VARIANT]", help="set the config's platform")
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("destination", metavar="DEST")
    p.set_defaults(handler=_cmd_mutate)

    p = sub.add_parser(
        "flatten",
        help="squash an image's layers into one (crane flatten)",
        description="One layer of the merged filesystem, whiteouts applied; one history entry "
        "'ocitool flatten <old manifest digest>' with the old history as its comment.",
        **epilog(
            "flatten oci:./in:1 oci:./flat:1",
            "flatten --all-platforms oci-archive:multi.tar oci-archive:flat.tar",
            grammar=f"{SOURCE_IMAGE}\n\n{_GRAMMAR}",
        ),
    )
    _common(p)
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("destination", metavar="DEST")
    p.set_defaults(handler=_cmd_flatten)

    p = sub.add_parser(
        "rebase",
        help="move an image onto a new base (crane rebase)",
        description="OLD's layers must be SOURCE's bottom layers (by diff ID), else nothing is "
        "written. NEW's layers and history replace them; the base annotations name NEW.",
        **epilog(
            "rebase --old-base oci:./base:1 --new-base oci:./base:2 oci:./app:1 oci:./app:2",
            "rebase --old-base store:base:1 --new-base store:base:2 store:app:1 store:app:2",
            grammar=f"{SOURCE_IMAGE}\n\n{_GRAMMAR}",
        ),
    )
    _common(p)
    p.add_argument("--old-base", required=True, metavar="OLD", help="the base SOURCE was built on")
    p.add_argument("--new-base", required=True, metavar="NEW", help="the base to put under it")
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("destination", metavar="DEST")
    p.set_defaults(handler=_cmd_rebase)
