"""``validate``: every JSON document of a source against the JSON Schemas in ``schemas/``.

Documents and their schemas: ``oci-layout`` (image-layout), ``index.json`` and stored indexes
(OCI image-index, or Docker's manifest list), stored manifests (OCI image-manifest or Docker
schema2), configs (OCI config, or the Docker image config), and a docker-save's
``manifest.json`` and ``repositories``. Manifests that ocitool synthesises for archives that store
none are not documents of the source and are not validated. Layers are never read.

Every document is loaded with the limits of :mod:`ocitool._io.jsondoc` (4 MiB, depth 64) first.
Each error names the file and the JSON pointer of the offending field. The OCI schemas are
draft-04 and refer to each other by file name; references are resolved to the local files only
(nothing is fetched).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from ocitool._io.jsondoc import load_json
from ocitool._io.schemas import schema_dir
from ocitool._record import field, record
from ocitool.errors import InvalidDocumentError, OcitoolError
from ocitool.formats.detect import SourceLike, open_source
from ocitool.image.source import ImageIndex, Source, SourceImage
from ocitool.model import mediatypes as mt
from ocitool.model.config import json_kind

if TYPE_CHECKING:  # jsonschema takes ~40 ms to import: only `validate` itself pays for it
    import jsonschema
    from referencing import Resource

__all__ = [
    "SCHEMAS",
    "ValidationIssue",
    "ValidationReport",
    "validate",
    "validate_document",
    "validate_source",
]

SCHEMAS: Final = {
    "oci-layout": "image-layout-schema.json",
    mt.OCI_INDEX: "image-index-schema.json",
    mt.OCI_MANIFEST: "image-manifest-schema.json",
    mt.OCI_CONFIG: "config-schema.json",
    mt.DOCKER_MANIFEST: "docker-manifest-v2-2.json",
    mt.DOCKER_MANIFEST_LIST: "docker-manifest-list.json",
    mt.DOCKER_CONFIG: "docker-image-config.json",
    "docker-save-manifest": "docker-save-manifest.json",
    "docker-repositories": "docker-repositories.json",
}


@record(frozen=True, slots=True)
class ValidationIssue:
    """One schema violation: the file, the JSON pointer of the field, the schema, the reason."""

    file: str
    pointer: str
    schema: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"File": self.file, "Pointer": self.pointer, "Schema": self.schema, "Message": self.message}

    def __str__(self) -> str:
        return f"{self.file}: {self.pointer or '/'}: {self.message} ({self.schema})"


@record
class ValidationReport:
    """The result of :func:`validate`; ``ok`` only without errors."""

    source: str
    documents: int = 0
    errors: list[ValidationIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "Source": self.source,
            "OK": self.ok,
            "Documents": self.documents,
            "Errors": [e.to_json() for e in self.errors],
        }


def _retrieve(uri: str) -> Resource[Any]:
    from referencing import Resource
    from referencing.jsonschema import DRAFT4

    # The OCI schemas' ids place siblings under several bases: resolve by file name, locally.
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    path = schema_dir() / name
    if not path.is_file() or "/" in name:
        raise LookupError(f"unknown schema {uri}")
    return Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT4)


@cache
def _validator(schema_name: str) -> jsonschema.protocols.Validator:
    import jsonschema
    from referencing import Registry

    schema = json.loads((schema_dir() / schema_name).read_text())
    registry: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    return cls(schema, registry=registry)


def _pointer(path: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _json_term(value: Any) -> str:
    """A value as a reader of JSON calls it: short scalars written out (``null``, ``"x"``,
    ``3``), arrays and objects by kind."""
    if isinstance(value, (list, dict)):
        return "an empty " + json_kind(value) if not value else "an " + json_kind(value)
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else f"a {json_kind(value)}"


def _words(err: Any) -> str:
    """A jsonschema error in JSON's words (``null``, ``array``, ``"name"``), never Python's
    (``None``, ``'array'``, ``{'a': 1}``)."""
    kind, want, got = err.validator, err.validator_value, err.instance
    if kind == "type":
        wanted = " or ".join(want) if isinstance(want, list) else str(want)
        return f"{_json_term(got)} is not of type {wanted}"
    if kind == "required":
        missing = [name for name in want if isinstance(got, dict) and name not in got]
        return "missing required property " + ", ".join(json.dumps(m) for m in missing or want)
    if kind == "enum":
        return f"{_json_term(got)} is not one of " + ", ".join(json.dumps(v) for v in want)
    if kind == "const":
        return f"{_json_term(got)} is not {json.dumps(want)}"
    if kind == "pattern":
        return f"{_json_term(got)} does not match the pattern {json.dumps(want)}"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = {"minimum": "less than", "maximum": "greater than"}.get(kind, "beyond")
        return f"{_json_term(got)} is {bound} the {kind} {json.dumps(want)}"
    if kind in ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"):
        return f"{_json_term(got)} breaks {kind} {json.dumps(want)}"
    if kind == "additionalProperties" and isinstance(got, dict):
        props = err.schema.get("properties", {})
        extra = [k for k in got if k not in props]
        return "unexpected property " + ", ".join(json.dumps(k) for k in extra)
    if kind in ("oneOf", "anyOf"):
        return f"{_json_term(got)} matches none of the allowed shapes"
    if kind == "not":
        return f"{_json_term(got)} is not allowed here"
    if kind == "format":
        return f"{_json_term(got)} is not a valid {want}"
    return f"{_json_term(got)} fails the schema's {kind} rule"


def validate_document(data: bytes, schema_name: str, *, file: str) -> list[ValidationIssue]:
    """Schema errors of one document (``data``, read from ``file``) against ``schema_name``
    (a file of ``schemas/``); a document that is not JSON, too large or too deep is one error."""
    try:
        doc = load_json(data, path=file)
    except InvalidDocumentError as exc:
        return [ValidationIssue(file, exc.field or "", schema_name, exc.message)]
    validator = _validator(schema_name)
    issues = [
        ValidationIssue(file, _pointer(err.absolute_path), schema_name, _words(err))
        for err in validator.iter_errors(doc)
    ]
    return sorted(issues, key=lambda i: i.pointer)


def _documents(source: Source, report: ValidationReport) -> Iterator[tuple[str, bytes, str]]:
    """(file, bytes, schema file) for every document of ``source``."""
    view = getattr(source, "view", None)
    transport = getattr(source, "transport", "")
    if view is not None:
        if view.exists("oci-layout"):
            yield view.where("oci-layout"), view.read("oci-layout"), SCHEMAS["oci-layout"]
        if view.exists("index.json"):
            yield view.where("index.json"), view.read("index.json"), SCHEMAS[mt.OCI_INDEX]
        if transport == "docker-archive":
            if view.exists("manifest.json"):
                yield view.where("manifest.json"), view.read("manifest.json"), SCHEMAS["docker-save-manifest"]
            if view.exists("repositories"):
                yield view.where("repositories"), view.read("repositories"), SCHEMAS["docker-repositories"]
    try:
        entries = source.entries
    except OcitoolError as exc:
        if not any(e.file == exc.path for e in report.errors):
            report.errors.append(
                ValidationIssue(str(exc.path or ""), getattr(exc, "field", None) or "", "", exc.message)
            )
        return
    seen: set[str] = set()
    stack: list[SourceImage | ImageIndex] = [e.node for e in entries if e.node is not None]
    while stack:
        node = stack.pop()
        if str(node.digest) in seen:
            continue
        seen.add(str(node.digest))
        stored = transport != "docker-archive" or node.blobs.has(node.digest)
        try:
            if isinstance(node, ImageIndex):
                schema = SCHEMAS.get(node.descriptor.media_type)
                if stored and schema:
                    yield node.where, node.raw_manifest, schema
                if len(seen) < 4096:
                    stack.extend(img for _, img in node.walk() if img is not None)
                continue
            schema = SCHEMAS.get(node.descriptor.media_type)
            if stored and schema:
                yield node.where, node.raw_manifest, schema
            cfg = node.manifest.config
            cfg_schema = SCHEMAS.get(cfg.media_type)
            if cfg_schema and cfg.media_type in (mt.OCI_CONFIG, mt.DOCKER_CONFIG):
                yield node.blobs.where(cfg.digest), node.raw_config, cfg_schema
        except OcitoolError as exc:
            report.errors.append(
                ValidationIssue(
                    str(exc.path or node.where), getattr(exc, "field", None) or "", "", exc.message
                )
            )


def validate_source(source: Source, *, label: str = "") -> ValidationReport:
    """Validate every JSON document of an opened source (see the module doc)."""
    report = ValidationReport(source=label)
    done: set[str] = set()
    for file, data, schema in _documents(source, report):
        if file in done:
            continue
        done.add(file)
        report.documents += 1
        report.errors.extend(validate_document(data, schema, file=file))
    return report


def validate(source: SourceLike) -> ValidationReport:
    """Validate the SOURCE ``source`` (a string or a path). Raises OcitoolError only when it
    cannot be opened."""
    with open_source(source) as src:
        return validate_source(src, label=os.fspath(source))
