"""The read-only commands: inspect, images, history, manifests, config, manifest.

Each handler parses nothing itself (argparse did), calls one :mod:`ocitool.ops.query` function, and
renders the result the way the docker v28 CLI renders the same data. ``inspect``, ``images`` and
``history`` read archives, or with ``--root``/``--docker-root`` a store, through the same query
and the same rendering: only the source differs (and a store's errors use the daemon's words).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from ocitool.cli import bool_flag, platform_flag, render
from ocitool.cli.render import epilog
from ocitool.errors import ArtifactError, OcitoolError

if TYPE_CHECKING:
    from ocitool.image.source import Source
    from ocitool.ops import query

__all__ = ["register"]

# docker v28's inspect exits 64 (EX_USAGE) on a format that does not parse.
EXIT_TEMPLATE = 64
# A bare dot (``{{.}}``, ``json .``) may print every field, sizes included.
_BARE_DOT = re.compile(r"(?<![\w\]\)])\.(?![\w])")


def _needs_size(fmt: str | None) -> bool:
    """Whether output in ``fmt`` can show a size; only then are layer bytes read."""
    if fmt is None or fmt in ("", "json", "table"):
        return True
    return "Size" in fmt or bool(_BARE_DOT.search(fmt))


def _store_mode(args: argparse.Namespace) -> bool:
    """``--root``/``--docker-root`` switch inspect, images and history to a store."""
    return bool(getattr(args, "root", None) or getattr(args, "docker_root", None))


@contextmanager
def _store(args: argparse.Namespace) -> Iterator[Source | None]:
    """The store ``--docker-root`` or ``--root`` names, as a source open for the command, or
    None in archive mode. The store modules, and sqlite, are loaded only then."""
    if getattr(args, "docker_root", None):
        from ocitool.store.dockerroot import open_docker_root

        with open_docker_root(args.docker_root) as src:
            yield src
    elif getattr(args, "root", None):
        from ocitool.store.source import open_store

        with open_store(args.root) as src:
            yield src
    else:
        yield None


def _error(exc: OcitoolError, *, store: bool) -> str:
    return render.daemon_message(exc) if store else str(exc)


def _report(problems: Sequence[OcitoolError], err: TextIO, *, store: bool) -> int:
    """Print what a listing could not show: artifacts as notes, unreadable images as errors.
    The exit status: 1 when an image could not be read, else 0."""
    status = 0
    for problem in problems:
        if isinstance(problem, ArtifactError):
            err.write(f"Note: {problem}\n")
        else:
            err.write(f"Error: {_error(problem, store=store)}\n")
            status = 1
    return status


# -- inspect --------------------------------------------------------------------------------


def _cmd_inspect(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool._go import json as _gojson
    from ocitool.ops import query

    store = _store_mode(args)
    if store and args.all_platforms:
        err.write("Error: --all-platforms needs an archive SOURCE (a store holds one platform per image)\n")
        return 125
    fmt: str | None = args.format
    errors: list[OcitoolError] = []
    verify_key = None
    if args.verify_key:  # Identity's signatures checked with this key (cryptography loads only then)
        from ocitool.ops.signing.keys import load_public_key

        with open(args.verify_key, "rb") as fh:
            verify_key = load_public_key(fh.read(1 << 20), path=args.verify_key)
    with _store(args) as src:
        results = query.inspect(
            src or args.source,
            [args.source, *args.image] if src is not None else args.image,
            platform=platform_flag(args.platform),
            all_platforms=args.all_platforms,
            with_size=_needs_size(fmt),
            errors=errors,
            verify_key=verify_key,
        )
    docs = [r.to_json() for r in results]
    if fmt in (None, "", "json"):
        out.write(_gojson.dumps(docs, indent="    ") + "\n" if docs else "[]\n")
    else:
        from ocitool._go.template import TemplateError
        from ocitool.cli.contexts import typed_inspect
        from ocitool.cli.template import Template

        try:
            template = Template.parse(fmt)
        except TemplateError as exc:
            err.write(f"template parsing error: {exc}\n")
            return EXIT_TEMPLATE
        for doc in docs:
            raw = json.loads(_gojson.dumps(doc))
            try:
                out.write(template.execute_with_fallback(typed_inspect(doc), raw) + "\n")
            except TemplateError as exc:
                out.write("\n")  # docker flushes its (empty) inspect buffer before the error
                err.write(f"template parsing error: {exc}\n")
                return 1
    return _report(errors, err, store=store)


# -- images ---------------------------------------------------------------------------------


def _cmd_images(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.cli import contexts
    from ocitool.engineapi.filters import ImageFilters
    from ocitool.ops import query

    store = _store_mode(args)
    if store and args.sources:
        err.write("Error: images takes no SOURCE with --root/--docker-root\n")
        return 125
    if not store and not args.sources:
        # As ``docker images``: the store ``load`` fills by default.
        from ocitool.store.root import default_root

        args.root = default_root()
        store = True
    if store and args.tree:
        err.write("Error: --tree needs an archive SOURCE\n")
        return 125
    fmt: str | None = args.format
    if args.quiet:
        fmt = "{{.ID}}"
    problems: list[OcitoolError] = []
    if args.tree:
        out.write(_tree(query.image_tree(args.sources, errors=problems)))
        return _report(problems, err, store=store)
    filters = ImageFilters.parse(args.filter)
    with _store(args) as src:
        summaries = query.images(
            [src] if src is not None else args.sources,
            all_images=args.all,
            filters=filters,
            with_size=_needs_size(fmt),
            errors=problems,
        )
    rows = contexts.image_rows(summaries, trunc=not args.no_trunc, digests=args.digests)
    quiet = fmt == "{{.ID}}"
    if (quiet or (fmt in (None, "", "table") and not args.digests)) and contexts.all_ascii(rows):
        out.write(contexts.fast_image_table(rows, quiet=quiet))
        return _report(problems, err, store=store)
    if fmt in (None, "", "table"):
        fmt = contexts.IMAGES_TABLE_DIGESTS if args.digests else contexts.IMAGES_TABLE
    from ocitool._go.template import TemplateError

    try:
        out.write(contexts.render_images(rows, fmt))
    except TemplateError as exc:
        err.write(f"template parsing error: {exc}\n")
        return 1
    return _report(problems, err, store=store)


def _tree(trees: Sequence[query.ImageTree]) -> str:
    """``docker images --tree``: each image name, then its platform manifests below it."""
    rows: list[tuple[str, str, str, str]] = [("IMAGE", "ID", "DISK USAGE", "CONTENT SIZE")]
    for tree in trees:
        images = [m for m in tree.manifests if m.kind == "image"]
        usage = render.human_size(sum(m.unpacked_size for m in tree.manifests))
        content = render.human_size(sum(m.content_size for m in tree.manifests))
        for name in tree.names or ["<untagged>"]:
            rows.append((name, render.truncate_id(tree.digest), usage, content))
            for i, m in enumerate(images):
                branch = "└─ " if i == len(images) - 1 else "├─ "
                rows.append(
                    (
                        branch + str(m.platform),
                        render.truncate_id(m.id),
                        render.human_size(m.unpacked_size),
                        render.human_size(m.content_size),
                    )
                )
    widths = [max(len(row[c]) for row in rows) for c in range(4)]
    lines = []
    for row in rows:
        left = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        right = [row[2].rjust(widths[2]), row[3].rjust(widths[3])]
        lines.append("   ".join(left + right).rstrip() + "\n")
    return "".join(lines)


# -- history --------------------------------------------------------------------------------


def _cmd_history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool._go.template import TemplateError
    from ocitool.cli.contexts import render_history
    from ocitool.ops import query

    store = _store_mode(args)
    if store and args.image:
        err.write("Error: history takes one IMAGE in store mode\n")
        return 125
    fmt: str | None = args.format
    if args.quiet:
        fmt = "{{.ID}}"
    with _store(args) as src:
        try:
            items = query.history(
                src or args.source,
                args.source if src is not None else args.image or "",
                platform=platform_flag(args.platform),
                with_size=_needs_size(fmt),
            )
        except ArtifactError as exc:
            return _report([exc], err, store=store)
        except OcitoolError as exc:
            err.write(f"Error: {_error(exc, store=store)}\n")
            return 1
    try:
        text = render_history(items, fmt, trunc=not args.no_trunc, human=args.human)
    except TemplateError as exc:
        err.write(f"template parsing error: {exc}\n")
        return 1
    out.write(text)
    return 0


# -- manifests, config, manifest --------------------------------------------------------------


def _cmd_manifests(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool._go import json as _gojson
    from ocitool.ops import query

    fmt: str | None = args.format
    problems: list[OcitoolError] = []
    summaries = query.manifests(args.source, args.image or "", with_size=_needs_size(fmt), errors=problems)
    docs = [m.to_json() for m in summaries]
    if fmt in (None, "", "json"):
        out.write(_gojson.dumps(docs, indent="    ") + "\n" if docs else "[]\n")
        return _report(problems, err, store=False)
    from ocitool._go.values import go_generic
    from ocitool.cli.template import Template

    template = Template.parse(fmt)
    for doc in docs:
        out.write(template.execute(go_generic(doc, use_number=True)) + "\n")
    return _report(problems, err, store=False)


def _write_bytes(out: TextIO, data: bytes) -> None:
    buffer = getattr(out, "buffer", None)
    if buffer is not None:
        out.flush()
        buffer.write(data)
        buffer.flush()
    else:
        out.write(data.decode("utf-8", "surrogateescape"))


def _cmd_config(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.ops import query

    _write_bytes(out, query.raw_config(args.source, args.image or "", platform=platform_flag(args.platform)))
    return 0


def _cmd_manifest(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ocitool.ops import query

    _write_bytes(
        out, query.raw_manifest(args.source, args.image or "", platform=platform_flag(args.platform))
    )
    return 0


# -- registration ---------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add the archive-mode commands to the ``ocitool`` parser."""
    p = sub.add_parser(
        "inspect",
        help="show image details as docker image inspect does",
        **epilog(
            "inspect image.tar",
            "inspect --format '{{.Id}} {{json .Config.Cmd}}' image.tar myapp:1.0",
            "inspect --all-platforms oci:./layout:v1",
            "inspect --root ./store alpine",
        ),
    )
    plat = p.add_mutually_exclusive_group()
    plat.add_argument("--platform", help="the image of this platform (os/arch[/variant])")
    plat.add_argument("--all-platforms", action="store_true", help="one element per platform image")
    p.add_argument("-f", "--format", help="json (default) or a Go template")
    p.add_argument("--verify-key", metavar="PUB", help="verify the signatures Identity lists with this key")
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("image", metavar="IMAGE", nargs="*")
    p.set_defaults(handler=_cmd_inspect)

    p = sub.add_parser(
        "images",
        help="list images as docker images does",
        **epilog(
            "images image.tar other.tar",
            "images --format '{{.Repository}}:{{.Tag}} {{.Size}}' oci:./layout",
            "images --tree ./multiplatform-layout",
            "images --root ./store --filter dangling=true",
        ),
    )
    p.add_argument("-a", "--all", action="store_true", help="show intermediate images too")
    p.add_argument("--digests", action="store_true", help="show digests")
    p.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    p.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    p.add_argument(
        "-f",
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="dangling, label, before, since, reference",
    )
    p.add_argument("--format", help="table (default), json, or a Go template")
    p.add_argument("--tree", action="store_true", help="show each image's platform manifests")
    p.add_argument("sources", metavar="SOURCE", nargs="*")
    p.set_defaults(handler=_cmd_images)

    p = sub.add_parser(
        "history",
        help="show an image's history as docker history does",
        **epilog(
            "history image.tar",
            "history --no-trunc -H=false image.tar myapp:1.0",
            "history --format json oci-archive:./image.tar",
        ),
    )
    p.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    p.add_argument(
        "-H",
        "--human",
        type=bool_flag,
        default=True,
        metavar="BOOL",
        help="human-readable sizes and dates (default true)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    p.add_argument("--format", help="table (default), json, or a Go template")
    p.add_argument("--platform", help="the image of this platform")
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("image", metavar="IMAGE", nargs="?")
    p.set_defaults(handler=_cmd_history)

    p = sub.add_parser(
        "manifests",
        help="ManifestSummary of each manifest",
        **epilog(
            "manifests ./layout v1",
            "manifests --format '{{.ID}} {{.Kind}}' oci-archive:./image.tar",
        ),
    )
    p.add_argument("--format", help="json (default) or a Go template")
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("image", metavar="IMAGE", nargs="?")
    p.set_defaults(handler=_cmd_manifests)

    for name, handler, what in (("config", _cmd_config, "config"), ("manifest", _cmd_manifest, "manifest")):
        p = sub.add_parser(
            name,
            help=f"print the raw {what} bytes, unchanged",
            **epilog(
                f"{name} image.tar myapp:1.0 > {what}.json",
                f"{name} --platform linux/arm64 oci:./layout:v1",
            ),
        )
        p.add_argument("--platform", help="the image of this platform")
        p.add_argument("source", metavar="SOURCE")
        p.add_argument("image", metavar="IMAGE", nargs="?")
        p.set_defaults(handler=handler)
