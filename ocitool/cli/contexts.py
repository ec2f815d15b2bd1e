"""docker/cli's formatter contexts for inspect, images and history: what ``{{.Field}}`` means
in their ``--format`` templates, the typed ``InspectResponse`` struct docker runs an inspect
template against first, and the default tables.

The Go template engine (:mod:`ocitool.cli.template`) is loaded only when a template runs: the
default ``images`` table and ``-q`` are written without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ocitool._go import json as _gojson
from ocitool._go.values import NIL_MAP, NIL_POINTER, NIL_SLICE, GoDuration, GoNil, GoStruct
from ocitool.cli import render
from ocitool.model.timestamp import Timestamp

if TYPE_CHECKING:
    from ocitool.engineapi.summary import HistoryResponseItem, Summary

__all__ = [
    "IMAGES_HEADERS",
    "IMAGES_TABLE",
    "IMAGES_TABLE_DIGESTS",
    "HistoryRow",
    "ImageRow",
    "all_ascii",
    "fast_image_table",
    "image_rows",
    "render_history",
    "render_images",
    "typed_inspect",
]

# docker/cli's defaults: an image without a creation time (Go's zero time) shows N/A.
_CREATED = "{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}"
IMAGES_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t" + _CREATED + "\t{{.Size}}"
IMAGES_TABLE_DIGESTS = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t" + _CREATED + "\t{{.Size}}"
IMAGES_HEADERS = {
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
_HISTORY_TABLE = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
_HISTORY_HEADERS = {
    "ID": "IMAGE",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "CreatedBy": "CREATED BY",
    "Size": "SIZE",
    "Comment": "COMMENT",
}


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


def typed_inspect(doc: dict[str, Any]) -> GoStruct:
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


class ImageRow:
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


def image_rows(summaries: Sequence[Summary], *, trunc: bool) -> list[ImageRow]:
    rows: list[ImageRow] = []
    for s in summaries:
        if not s.repo_tags:
            rows.append(ImageRow(s, "<none>", "<none>", "<none>", trunc))
            continue
        by_repo: dict[str, list[str]] = {}
        for tag in s.repo_tags:
            repo, _, t = tag.rpartition(":")
            if not repo or "/" in t:
                repo, t = tag, "<none>"
            by_repo.setdefault(repo, []).append(t)
        for repo in sorted(by_repo):
            rows.extend(ImageRow(s, repo, t, "<none>", trunc) for t in by_repo[repo])
    return rows


def all_ascii(rows: Sequence[ImageRow]) -> bool:
    return all(r.repo.isascii() and r.tag.isascii() for r in rows)


def fast_image_table(rows: Sequence[ImageRow], *, quiet: bool) -> str:
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


class HistoryRow:
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


def render_history(items: Sequence[HistoryResponseItem], fmt: str | None, *, trunc: bool, human: bool) -> str:
    """``docker history`` output for ``items`` in ``fmt`` (table by default)."""
    from ocitool.cli.template import render_table

    rows = [HistoryRow(i, trunc=trunc, human=human) for i in items]
    # With -H=false the CREATED column holds RFC 3339 times, and docker titles it so.
    headers = _HISTORY_HEADERS if human else {**_HISTORY_HEADERS, "CreatedSince": "CREATED AT"}
    return render_table(_HISTORY_TABLE if fmt in (None, "", "table") else fmt, rows, headers)


def render_images(rows: Sequence[ImageRow], fmt: str) -> str:
    """``docker images`` output of ``rows`` in ``fmt``. Raises ``TemplateError``."""
    from ocitool.cli.template import render_table

    return render_table(fmt, rows, IMAGES_HEADERS)
