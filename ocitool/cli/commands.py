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
from typing import Any, TextIO

from ocitool._go import json as _gojson
from ocitool._go.template import TemplateError
from ocitool._go.values import NIL_MAP, NIL_POINTER, NIL_SLICE, GoDuration, GoNil, GoStruct, go_generic
from ocitool.cli import bool_flag, render
from ocitool.cli.render import Template, epilog, render_table
from ocitool.engineapi.filters import ImageFilters
from ocitool.engineapi.summary import HistoryResponseItem, InspectResponse, Summary
from ocitool.errors import ArtifactError, OcitoolError
from ocitool.image.source import Source
from ocitool.model.platform import Platform
from ocitool.model.timestamp import Timestamp
from ocitool.ops import query

__all__ = ["register", "render_history"]

# docker/cli's defaults: an image without a creation time (Go's zero time) shows N/A.
_CREATED = "{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}"
_IMAGES_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t" + _CREATED + "\t{{.Size}}"
_IMAGES_TABLE_DIGESTS = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t" + _CREATED + "\t{{.Size}}"
_IMAGES_HEADERS = {
    "ID": "IMAGE ID",
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "Digest": "DIGEST",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "Size": "SIZE",
    "Containers": "CONTAINERS",
    "VirtualSize": "VIRTUAL SIZE",
    "SharedSize": "SHARED SIZE",
    "UniqueSize": "UNIQUE SIZE",
}
# docker v28's inspect exits 64 (EX_USAGE) on a format that does not parse.
EXIT_TEMPLATE = 64
_HISTORY_TABLE = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
_HISTORY_HEADERS = {
    "ID": "IMAGE",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "CreatedBy": "CREATED BY",
    "Size": "SIZE",
    "Comment": "COMMENT",
}
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


def _platform(value: str | None) -> Platform | None:
    return Platform.parse(value) if value else None


# -- inspect --------------------------------------------------------------------------------


# InspectResponse's Go fields, in order, with their json tags where they differ and the
# fields tagged omitempty: the typed struct the docker CLI runs templates against first.
_INSPECT_FIELDS = (
    "ID",
    "RepoTags",
    "RepoDigests",
    "Parent",
    "Comment",
    "Created",
    "Container",
    "ContainerConfig",
    "DockerVersion",
    "Author",
    "Config",
    "Architecture",
    "Variant",
    "Os",
    "OsVersion",
    "Size",
    "VirtualSize",
    "GraphDriver",
    "RootFS",
    "Metadata",
    "Descriptor",
    "Manifests",
)
_INSPECT_OMITEMPTY = (
    "Created",
    "Container",
    "ContainerConfig",
    "Variant",
    "OsVersion",
    "VirtualSize",
    "Descriptor",
    "Manifests",
)
_INSPECT_ZERO: dict[str, Any] = {
    "Created": "",
    "Container": "",
    "ContainerConfig": NIL_POINTER,
    "Variant": "",
    "OsVersion": "",
    "VirtualSize": 0,
    "Descriptor": NIL_POINTER,
    "Manifests": NIL_SLICE,
}


class _GoTime:
    """A Go ``time.Time`` in a template: prints as ``Time.String()``, marshals as RFC 3339."""

    def __init__(self, text: str) -> None:
        self.ts = Timestamp.parse(text)

    def __str__(self) -> str:
        return self.ts.go_string()

    def template_json(self) -> str:
        return self.ts.rfc3339nano()


# DockerOCIImageConfig's fields (all omitempty) and the zero value each type prints as.
_CONFIG_ZERO: dict[str, Any] = {
    "User": "",
    "ExposedPorts": NIL_MAP,
    "Env": NIL_SLICE,
    "Entrypoint": NIL_SLICE,
    "Cmd": NIL_SLICE,
    "Volumes": NIL_MAP,
    "WorkingDir": "",
    "Labels": NIL_MAP,
    "StopSignal": "",
    "ArgsEscaped": False,
    "Healthcheck": NIL_POINTER,
    "OnBuild": NIL_SLICE,
    "Shell": NIL_SLICE,
}
_HEALTH_FIELDS = ("Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries")
_HEALTH_ZERO: dict[str, Any] = {
    "Test": NIL_SLICE,
    "Interval": 0,
    "Timeout": 0,
    "StartPeriod": 0,
    "StartInterval": 0,
    "Retries": 0,
}


def _health_value(field: str, value: Any) -> Any:
    # Interval, Timeout, StartPeriod and StartInterval are time.Duration: "30s", not 30000000000.
    return value if field in ("Test", "Retries") or not isinstance(value, int) else GoDuration(value)


def _typed_config(config: dict[str, Any]) -> GoStruct:
    typed: dict[str, Any] = {}
    for field, zero in _CONFIG_ZERO.items():
        value = config.get(field)
        if value is None:
            value = zero
        elif field in ("ExposedPorts", "Volumes"):
            # map[string]struct{}: each value is an empty struct, printed "{}"
            value = {k: GoStruct() for k in value}
        elif field == "Healthcheck":
            value = GoStruct(
                {f: _health_value(f, value.get(f, _HEALTH_ZERO[f])) for f in _HEALTH_FIELDS},
                type_name="v1.HealthcheckConfig",
                omitempty=_HEALTH_FIELDS,
            )
        typed[field] = value
    return GoStruct(typed, type_name="v1.DockerOCIImageConfig", omitempty=tuple(_CONFIG_ZERO))


def _typed_inspect(doc: dict[str, Any]) -> GoStruct:
    """The InspectResponse as the Go struct the docker CLI first runs templates against."""
    values = {("ID" if k == "Id" else k): v for k, v in doc.items()}
    typed: dict[str, Any] = {}
    for key in _INSPECT_FIELDS:
        value: Any = values.get(key, _INSPECT_ZERO.get(key))
        if key == "Config":
            value = _typed_config(value) if isinstance(value, dict) else NIL_POINTER
        elif key == "RootFS":
            value = GoStruct(
                {"Type": value.get("Type", ""), "Layers": value.get("Layers")},
                type_name="image.RootFS",
                omitempty=("Type", "Layers"),
            )
        elif key == "GraphDriver":
            data = value.get("Data")
            value = GoStruct(
                {
                    # map[string]string: nil prints "map[]", as Go does
                    "Data": GoNil("map", "map[string]string") if data is None else data,
                    "Name": value.get("Name", ""),
                },
                type_name="storage.DriverData",
            )
        elif key == "Metadata":
            value = GoStruct({"LastTagTime": _GoTime(value["LastTagTime"])}, type_name="image.Metadata")
        typed[key] = value
    return GoStruct(
        typed, type_name="image.InspectResponse", omitempty=_INSPECT_OMITEMPTY, json_names={"ID": "Id"}
    )


def _cmd_inspect(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
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
        results: list[InspectResponse] = query.inspect(
            src or args.source,
            [args.source, *args.image] if src is not None else args.image,
            platform=_platform(args.platform),
            all_platforms=args.all_platforms,
            with_size=_needs_size(fmt),
            errors=errors,
            verify_key=verify_key,
        )
    docs = [r.to_json() for r in results]
    if fmt in (None, "", "json"):
        out.write(_gojson.dumps(docs, indent="    ") + "\n" if docs else "[]\n")
    else:
        try:
            template = Template.parse(fmt)
        except TemplateError as exc:
            err.write(f"template parsing error: {exc}\n")
            return EXIT_TEMPLATE
        for doc in docs:
            raw = json.loads(_gojson.dumps(doc))
            try:
                out.write(template.execute_with_fallback(_typed_inspect(doc), raw) + "\n")
            except TemplateError as exc:
                out.write("\n")  # docker flushes its (empty) inspect buffer before the error
                err.write(f"template parsing error: {exc}\n")
                return 1
    return _report(errors, err, store=store)


# -- images ---------------------------------------------------------------------------------


class _ImageRow:
    """docker/cli's imageContext: what ``{{.Field}}`` means in ``docker images --format``."""

    template_type_name = "*formatter.imageContext"

    def __init__(self, summary: Summary, repo: str, tag: str, digest: str, trunc: bool) -> None:
        self.s = summary
        self.repo, self.tag, self.digest, self.trunc = repo, tag, digest, trunc

    def template_fields(self) -> dict[str, Any]:
        s = self.s
        return {
            "Containers": "N/A" if s.containers == -1 else str(s.containers),
            "CreatedAt": render.created_at_go(s.created),
            "CreatedSince": render.image_created_since(s.created),
            "Digest": self.digest,
            "ID": render.truncate_id(s.id) if self.trunc else s.id,
            "Repository": self.repo,
            "SharedSize": "N/A" if s.shared_size == -1 else render.human_size(s.shared_size, 4),
            "Size": render.human_size(s.size),
            "Tag": self.tag,
            "UniqueSize": "N/A" if s.shared_size == -1 else render.human_size(s.size - s.shared_size, 4),
            "VirtualSize": render.human_size(s.size, 4),
        }

    def template_json(self) -> _gojson.RawJSON:
        # docker/cli marshals a row context through a map: sorted keys, HTML-escaped.
        return _gojson.RawJSON(_gojson.dumps(dict(sorted(self.template_fields().items()))))


def _image_rows(summaries: Sequence[Summary], *, trunc: bool) -> list[_ImageRow]:
    rows: list[_ImageRow] = []
    for s in summaries:
        if not s.repo_tags:
            rows.append(_ImageRow(s, "<none>", "<none>", "<none>", trunc))
            continue
        by_repo: dict[str, list[str]] = {}
        for tag in s.repo_tags:
            repo, _, t = tag.rpartition(":")
            if not repo or "/" in t:
                repo, t = tag, "<none>"
            by_repo.setdefault(repo, []).append(t)
        for repo in sorted(by_repo):
            rows.extend(_ImageRow(s, repo, t, "<none>", trunc) for t in by_repo[repo])
    return rows


def _cmd_images(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
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
    rows = _image_rows(summaries, trunc=not args.no_trunc)
    quiet = fmt == "{{.ID}}"
    if (quiet or (fmt in (None, "", "table") and not args.digests)) and _ascii(rows):
        out.write(_fast_table(rows, quiet=quiet))
        return _report(problems, err, store=store)
    if fmt in (None, "", "table"):
        fmt = _IMAGES_TABLE_DIGESTS if args.digests else _IMAGES_TABLE
    try:
        out.write(render_table(fmt, rows, _IMAGES_HEADERS))
    except TemplateError as exc:
        err.write(f"template parsing error: {exc}\n")
        return 1
    return _report(problems, err, store=store)


def _ascii(rows: Sequence[_ImageRow]) -> bool:
    return all(r.repo.isascii() and r.tag.isascii() for r in rows)


def _fast_table(rows: Sequence[_ImageRow], *, quiet: bool) -> str:
    """The default ``docker images`` table (or ``-q``) without the template engine: the same
    text as ``render_table`` with docker's tabwriter (minwidth 10, padding 3), for stores
    with 100,000 images. For ASCII names only (width = length); store names are ASCII by the
    reference grammar."""
    if quiet:
        return "".join(f"{render.truncate_id(r.s.id) if r.trunc else r.s.id}\n" for r in rows)
    table = [("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE")]
    for r in rows:
        s = r.s
        table.append(
            (
                r.repo,
                r.tag,
                render.truncate_id(s.id) if r.trunc else s.id,
                render.image_created_since(s.created) or "N/A",
                render.human_size(s.size),
            )
        )
    widths = [max(10, max(len(row[c]) for row in table) + 3) for c in range(4)]
    return "".join(
        "".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + row[4] + "\n"
        for row in table
    )


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


class _HistoryRow:
    template_type_name = "*image.historyContext"

    def __init__(self, item: HistoryResponseItem, *, trunc: bool, human: bool) -> None:
        self.h, self.trunc, self.human = item, trunc, human

    def template_fields(self) -> dict[str, Any]:
        h = self.h
        created_at = render.rfc3339_local(h.created)
        created_by = h.created_by.replace("\t", " ")
        return {
            "Comment": h.comment,
            "CreatedAt": created_at,
            "CreatedBy": render.ellipsis(created_by, 45) if self.trunc else created_by,
            "CreatedSince": render.history_created_since(h.created) if self.human else created_at,
            "ID": render.truncate_id(h.id) if self.trunc else h.id,
            "Size": render.human_size(h.size) if self.human else str(h.size),
        }

    def template_json(self) -> _gojson.RawJSON:
        return _gojson.RawJSON(_gojson.dumps(dict(sorted(self.template_fields().items()))))


def _cmd_history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
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
                platform=_platform(args.platform),
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


def render_history(items: Sequence[HistoryResponseItem], fmt: str | None, *, trunc: bool, human: bool) -> str:
    """``docker history`` output for ``items`` in ``fmt`` (table by default)."""
    rows = [_HistoryRow(i, trunc=trunc, human=human) for i in items]
    # With -H=false the CREATED column holds RFC 3339 times, and docker titles it so.
    headers = _HISTORY_HEADERS if human else {**_HISTORY_HEADERS, "CreatedSince": "CREATED AT"}
    return render_table(_HISTORY_TABLE if fmt in (None, "", "table") else fmt, rows, headers)


# -- manifests, config, manifest --------------------------------------------------------------


def _cmd_manifests(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    fmt: str | None = args.format
    problems: list[OcitoolError] = []
    summaries = query.manifests(args.source, args.image or "", with_size=_needs_size(fmt), errors=problems)
    docs = [m.to_json() for m in summaries]
    if fmt in (None, "", "json"):
        out.write(_gojson.dumps(docs, indent="    ") + "\n" if docs else "[]\n")
        return _report(problems, err, store=False)
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
    _write_bytes(out, query.raw_config(args.source, args.image or "", platform=_platform(args.platform)))
    return 0


def _cmd_manifest(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    _write_bytes(out, query.raw_manifest(args.source, args.image or "", platform=_platform(args.platform)))
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
