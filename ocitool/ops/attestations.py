"""BuildKit attestations: each platform's attestation manifest and its in-toto statements.

BuildKit stores an image's provenance and SBOM in the image's index, next to the platform
manifests: an *attestation manifest* is listed with platform ``unknown/unknown`` and the
annotations ``vnd.docker.reference.type: attestation-manifest`` and
``vnd.docker.reference.digest: <the platform manifest's digest>`` (``com.docker.reference.digest``
is read too, as buildx reads it). Its layers are in-toto statements, media type
``application/vnd.in-toto+json`` (or a DSSE envelope ``application/vnd.in-toto.*+dsse``), each
annotated ``in-toto.io/predicate-type``.

:func:`attestations` finds them in any source (OCI layouts and archives, docker archives that
keep an ``index.json`` (Docker 25+), ``docker://`` registries) and reads every
statement, verifying its digest and size as it is read. :class:`Attestations` then gives what
``docker buildx imagetools inspect --format '{{json .Provenance}}'`` and ``'{{json .SBOM}}'``
print, following buildx's loader (``util/imagetools/loader.go``):

* ``Provenance``: per platform ``{"SLSA": <predicate>}``, the first layer whose predicate type
  starts with ``https://slsa.dev/provenance/`` (v0.2 and v1);
* ``SBOM``: per platform ``{"SPDX": <predicate>, "AdditionalSPDXs": [...]}``, the layers of
  predicate type ``https://spdx.dev/Document`` in order;
* a map keyed by platform (``linux/arm/v6``, containerd's normalised form) when the image has
  more than one platform, else the one platform's value (``{}`` when there is none). Platforms
  without a provenance (or SBOM) are left out of the map.

Bad input raises a typed error naming the blob and the field: DigestMismatchError or
SizeMismatchError for a statement whose bytes are not those its descriptor names,
InvalidDocumentError for a statement that is not an in-toto statement (``/_type``,
``/predicateType``, ``/subject``, a DSSE ``/payload``) or whose predicate type differs from
its layer's annotation.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterator
from typing import Any, Final

from ocitool._go.values import GoMap, GoSlice, GoStruct, go_generic, json_value
from ocitool._io.jsondoc import expect_dict, load_json
from ocitool._io.output import output_dir
from ocitool._record import field, record
from ocitool.errors import (
    DigestMismatchError,
    InvalidDigestError,
    InvalidDocumentError,
    InvalidReferenceError,
    OcitoolError,
)
from ocitool.image.lookup import find_entries
from ocitool.image.source import Entry, ImageIndex, SourceImage
from ocitool.model import mediatypes as mt
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest
from ocitool.model.platform import format_platform, normalize
from ocitool.ops.query import SourceArg, opened

__all__ = [
    "ATTESTATION_MANIFEST",
    "AttestationStatement",
    "AttestationSummary",
    "Attestations",
    "IN_TOTO_MEDIA_TYPE",
    "PREDICATE_SPDX",
    "PREDICATE_TYPE_ANNOTATION",
    "REFERENCE_DIGEST_ANNOTATIONS",
    "REFERENCE_TYPE_ANNOTATION",
    "SLSA_PROVENANCE_PREFIX",
    "attestations",
    "attestations_of",
    "summarize",
]

REFERENCE_TYPE_ANNOTATION: Final = mt.ANNOTATION_DOCKER_REFERENCE_TYPE
ATTESTATION_MANIFEST: Final = mt.ATTESTATION_MANIFEST
REFERENCE_DIGEST_ANNOTATIONS: Final = mt.ANNOTATION_DOCKER_REFERENCE_DIGESTS  # buildx: the first present
PREDICATE_TYPE_ANNOTATION: Final = "in-toto.io/predicate-type"
IN_TOTO_MEDIA_TYPE: Final = "application/vnd.in-toto+json"
_DSSE_MEDIA_TYPE: Final = re.compile(r"application/vnd\.in-toto\..*\+dsse")
PREDICATE_SPDX: Final = "https://spdx.dev/Document"
SLSA_PROVENANCE_PREFIX: Final = "https://slsa.dev/provenance/"
_STATEMENT_TYPE_PREFIX: Final = "https://in-toto.io/Statement/"
# SBOMs of large images run to tens of megabytes; the 4 MiB limit of image documents is too low
MAX_STATEMENT_SIZE: Final = 256 << 20


def is_in_toto(media_type: str) -> bool:
    """Whether a layer of this media type holds an in-toto statement (plain or in DSSE)."""
    return media_type == IN_TOTO_MEDIA_TYPE or _DSSE_MEDIA_TYPE.fullmatch(media_type) is not None


@record(frozen=True)
class AttestationStatement:
    """One in-toto statement of an attestation manifest, read and checked.

    ``platform`` is the attested image's platform (``linux/amd64``), ``subject`` its manifest
    digest (from the index annotation), ``manifest`` the attestation manifest's digest and
    ``layer`` the statement's descriptor there. ``predicate_type`` is the layer's annotation
    (the statement's ``predicateType`` when the layer has none); ``statement`` is the parsed
    statement, ``payload`` its bytes (a DSSE envelope's payload, decoded).
    ``subject_named`` says whether the statement's own ``subject`` list names ``subject``:
    BuildKit's always do; buildx does not check it, nor does this module.
    """

    platform: str
    subject: Digest
    manifest: Digest
    layer: Descriptor
    predicate_type: str
    statement: dict[str, Any] = field(repr=False)
    payload: bytes = field(repr=False)
    subject_named: bool = True

    @property
    def predicate(self) -> Any:
        return self.statement.get("predicate")

    @property
    def kind(self) -> str:
        """``provenance``, ``sbom`` or ``other``."""
        if self.predicate_type.startswith(SLSA_PROVENANCE_PREFIX):
            return "provenance"
        if self.predicate_type == PREDICATE_SPDX:
            return "sbom"
        return "other"


@record(frozen=True)
class Attestations:
    """The attestations of one image or index (see the module docstring).

    ``platforms`` are the image platforms in sorted order (buildx's), ``images`` the manifest
    digest of each; ``statements`` are in index order, then layer order; ``missing`` are the
    manifests the index lists but the source does not hold (not read, not counted);
    ``orphans`` are the attestation manifests whose subject is no image of the index (buildx
    ignores them, and so do the shapes; a tool that rewrote the platform manifests without
    updating the annotations leaves these).
    """

    name: str
    digest: Digest
    platforms: tuple[str, ...]
    images: dict[str, Digest]
    statements: tuple[AttestationStatement, ...]
    missing: tuple[Descriptor, ...] = ()
    orphans: tuple[tuple[Digest, Digest], ...] = ()  # (attestation manifest, the subject it names)

    @property
    def multi_platform(self) -> bool:
        """Whether buildx prints maps keyed by platform (more than one platform)."""
        return len(self.platforms) > 1

    def predicate_types(self) -> list[str]:
        """The distinct predicate types, in order of first appearance."""
        return list(dict.fromkeys(s.predicate_type for s in self.statements))

    def for_platform(self, platform: str) -> list[AttestationStatement]:
        return [s for s in self.statements if s.platform == platform]

    # -- buildx's shapes, as Go values (ocitool._go.values) -------------------------------------

    def _provenance_stub(self, platform: str) -> GoStruct | None:
        for s in self.for_platform(platform):
            if s.kind == "provenance":
                return _stub({"SLSA": go_generic(s.predicate)}, "imagetools.provenanceStub")
        return None

    def _sbom_stub(self, platform: str) -> GoStruct | None:
        spdx = [s.predicate for s in self.for_platform(platform) if s.kind == "sbom"]
        if not spdx:
            return None
        return _stub(
            {
                "SPDX": go_generic(spdx[0]),
                "AdditionalSPDXs": GoSlice((go_generic(p) for p in spdx[1:]), elem_type="interface {}"),
            },
            "imagetools.sbomStub",
        )

    def provenance_value(self) -> Any:
        """``.Provenance`` as buildx's template sees it (a Go value)."""
        return self._shape(self._provenance_stub, "imagetools.provenanceStub")

    def sbom_value(self) -> Any:
        """``.SBOM`` as buildx's template sees it (a Go value)."""
        return self._shape(self._sbom_stub, "imagetools.sbomStub")

    def _shape(self, stub: Any, type_name: str) -> Any:
        if self.multi_platform:
            found = {p: s for p in self.platforms if (s := stub(p)) is not None}
            return GoMap(found, elem_type=type_name)
        for p in self.platforms:
            one = stub(p)
            if one is not None:
                return one
        return _stub({}, type_name)

    def provenance(self) -> Any:
        """``{{json .Provenance}}`` as decoded JSON (maps sorted by key, as Go writes them)."""
        return json_value(self.provenance_value())

    def sbom(self) -> Any:
        """``{{json .SBOM}}`` as decoded JSON."""
        return json_value(self.sbom_value())

    def template_data(self) -> GoStruct:
        """The dot of a ``--format`` template: ``Name``, ``Provenance`` and ``SBOM``."""
        return GoStruct(
            {"Name": self.name, "Provenance": self.provenance_value(), "SBOM": self.sbom_value()},
            type_name="imagetools.tplInput",
        )

    def to_json(self) -> dict[str, Any]:
        """``{"Provenance": ..., "SBOM": ...}``: each what ``{{json .Provenance}}`` /
        ``{{json .SBOM}}`` print."""
        return {"Provenance": self.provenance(), "SBOM": self.sbom()}

    def extract(self, directory: str | os.PathLike[str]) -> list[str]:
        """Write each statement to ``directory`` (absent or empty; created whole or not at
        all): ``<platform>/<kind>-<12 hex of the layer digest>.intoto.json`` (``linux_arm_v6``
        for ``linux/arm/v6``), the statement's bytes as stored (a DSSE envelope's payload,
        decoded). Returns the paths written, relative to ``directory``."""
        written: list[str] = []
        with output_dir(directory) as staging:
            for s in self.statements:
                folder = s.platform.replace("/", "_")
                name = f"{s.kind}-{s.layer.digest.encoded[:12]}.intoto.json"
                os.makedirs(os.path.join(staging, folder), exist_ok=True)
                with open(os.path.join(staging, folder, name), "wb") as fh:
                    fh.write(s.payload)
                written.append(f"{folder}/{name}")
        return written


def _stub(fields: dict[str, Any], type_name: str) -> GoStruct:
    # Go's omitempty on an ``any`` field drops only a nil interface, on a slice an empty one
    omit = [k for k, v in fields.items() if v is None or k == "AdditionalSPDXs"]
    return GoStruct(fields, type_name=type_name, omitempty=omit)


# -- reading ----------------------------------------------------------------------------------


def _reference_digest(listed: Descriptor, parent: ImageIndex | None) -> Digest | None:
    """The image an index entry attests (its reference annotation), or None for an image."""
    for key in REFERENCE_DIGEST_ANNOTATIONS:
        value = listed.annotations.get(key)
        if value is None:
            continue
        kind = listed.annotations.get(REFERENCE_TYPE_ANNOTATION, ATTESTATION_MANIFEST)
        try:
            digest = Digest.parse(value)
        except InvalidDigestError as exc:
            where = parent.where if parent is not None else ""
            raise InvalidDocumentError(
                f"manifest {listed.digest}: annotation {key} is not a digest ({exc.reason})",
                path=where,
                field=f"{_pointer(listed, parent)}/annotations/{key}",
            ) from None
        return digest if kind == ATTESTATION_MANIFEST else None
    return None


def _pointer(listed: Descriptor, parent: ImageIndex | None) -> str:
    if parent is not None:
        for i, d in enumerate(parent.index.manifests):
            if d.digest == listed.digest:
                return f"/manifests/{i}"
    return "/manifests/*"


def _platform_key(image: SourceImage) -> str:
    """buildx's key for an image: containerd's Format of the normalised platform (the index's,
    else the config's). A config that gives none (an artifact's ``{}``) keys it ``unknown``, as
    Format does an empty platform: attestations never attest such an image by platform."""
    try:
        return format_platform(normalize(image.platform))
    except OcitoolError:
        return "unknown"


def _walk(node: SourceImage | ImageIndex) -> Iterator[tuple[Descriptor, SourceImage | None]]:
    if isinstance(node, SourceImage):
        yield node.descriptor, node
    else:
        yield from node.walk()


def _read_statement(
    att: SourceImage, position: int, layer: Descriptor, platform: str, subject: Digest
) -> AttestationStatement:
    where = att.blobs.where(layer.digest)
    what = f"attestation manifest {att.digest} (for {platform}): in-toto statement, layer {position}"
    if layer.size > MAX_STATEMENT_SIZE:
        raise InvalidDocumentError(
            f"{what}: {layer.size} bytes, over the {MAX_STATEMENT_SIZE}-byte limit",
            path=att.where,
            field=f"/layers/{position}/size",
        )
    try:
        stored = att.blobs.read_document(layer, referenced_by=f"attestation manifest {att.digest}")
    except DigestMismatchError as exc:
        raise DigestMismatchError(exc.expected, exc.actual, path=exc.path, what=what) from None
    payload = stored
    if layer.media_type != IN_TOTO_MEDIA_TYPE:  # a DSSE envelope: the statement is its payload
        envelope = expect_dict(load_json(stored, path=where, max_size=MAX_STATEMENT_SIZE), path=where)
        encoded = envelope.get("payload")
        if not isinstance(encoded, str):
            raise InvalidDocumentError(
                f"{what}: DSSE envelope without a payload", path=where, field="/payload"
            )
        try:
            payload = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidDocumentError(
                f"{what}: payload is not base64", path=where, field="/payload"
            ) from None
    statement = expect_dict(load_json(payload, path=where, max_size=MAX_STATEMENT_SIZE), path=where)
    kind = statement.get("_type")
    if not isinstance(kind, str) or not kind.startswith(_STATEMENT_TYPE_PREFIX):
        raise InvalidDocumentError(f"{what}: not an in-toto statement", path=where, field="/_type")
    declared = statement.get("predicateType")
    if not isinstance(declared, str):
        raise InvalidDocumentError(
            f"{what}: predicateType is not a string", path=where, field="/predicateType"
        )
    annotated = layer.annotations.get(PREDICATE_TYPE_ANNOTATION)
    if annotated is not None and annotated != declared:
        raise InvalidDocumentError(
            f"{what}: predicate type {declared!r} differs from the layer's {PREDICATE_TYPE_ANNOTATION} "
            f"annotation {annotated!r}",
            path=where,
            field="/predicateType",
        )
    return AttestationStatement(
        platform=platform,
        subject=subject,
        manifest=att.digest,
        layer=layer,
        predicate_type=annotated if annotated is not None else declared,
        statement=statement,
        payload=payload,
        subject_named=_names_subject(statement, subject, what=what, where=where),
    )


def _names_subject(statement: dict[str, Any], subject: Digest, *, what: str, where: str) -> bool:
    subjects = statement.get("subject")
    if not isinstance(subjects, list):
        raise InvalidDocumentError(f"{what}: subject is not a list", path=where, field="/subject")
    named = False
    for i, entry in enumerate(subjects):
        digests = entry.get("digest") if isinstance(entry, dict) else None
        if not isinstance(digests, dict):
            raise InvalidDocumentError(
                f"{what}: subject without a digest", path=where, field=f"/subject/{i}/digest"
            )
        named = named or digests.get(subject.algorithm) == subject.encoded
    return named


def attestations_of(
    node: SourceImage | ImageIndex, *, name: str = "", subject: Digest | None = None
) -> Attestations:
    """The attestations of one image or index (an index's platform images and their
    attestation manifests; a single image has none of its own). Reads and verifies every
    in-toto layer of the attestation manifests of the index's images (with ``subject``, of
    that image only)."""
    parent = node if isinstance(node, ImageIndex) else None
    images: dict[str, Digest] = {}
    platform_of: dict[Digest, str] = {}
    attesting: list[tuple[Digest, SourceImage]] = []
    missing: list[Descriptor] = []
    for listed, image in _walk(node):
        attests = _reference_digest(listed, parent)
        if image is None:
            missing.append(listed)
        elif attests is not None:
            attesting.append((attests, image))
        else:
            platform = _platform_key(image)
            if platform not in images:  # buildx keeps one image per platform
                images[platform] = image.digest
                platform_of[image.digest] = platform
    statements: list[AttestationStatement] = []
    orphans: list[tuple[Digest, Digest]] = []
    for target, att in attesting:
        attested = platform_of.get(target)
        if attested is None:  # attests nothing this index holds: buildx ignores it too
            orphans.append((att.digest, target))
            continue
        if subject is not None and target != subject:
            continue
        for position, layer in enumerate(att.manifest.layers):
            if is_in_toto(layer.media_type):
                statements.append(_read_statement(att, position, layer, attested, target))
    return Attestations(
        name=name,
        digest=node.digest,
        platforms=tuple(sorted(images)),
        images=images,
        statements=tuple(statements),
        missing=tuple(missing),
        orphans=tuple(orphans),
    )


@record(frozen=True)
class AttestationSummary:
    """What ``analyze`` reports of one image's attestations: how many statements, their
    predicate types, the attestation manifests holding them, and whether every statement
    was read and matched its digest (``verified``; BuildKit attestations carry no signature).
    ``error`` says why not."""

    count: int
    predicate_types: tuple[str, ...]
    manifests: tuple[str, ...]
    verified: bool
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "count": self.count,
            "predicateTypes": list(self.predicate_types),
            "manifests": list(self.manifests),
            "verified": self.verified,
        }
        if self.error:
            doc["error"] = self.error
        return doc


def summarize(node: SourceImage | ImageIndex | None, image: SourceImage) -> AttestationSummary:
    """The attestations of ``image`` as found in ``node`` (the index holding it, or the image
    itself: none). Never raises for bad attestations: the error is in the summary."""
    if not isinstance(node, ImageIndex):
        return AttestationSummary(0, (), (), True)
    try:
        found = attestations_of(node, subject=image.digest)
    except OcitoolError as exc:
        return AttestationSummary(0, (), (), False, str(exc))
    manifests = tuple(dict.fromkeys(str(s.manifest) for s in found.statements))
    return AttestationSummary(len(found.statements), tuple(found.predicate_types()), manifests, True)


def _entry_name(entry: Entry) -> str:
    names = entry.repo_tags or entry.ref_names
    return names[0] if names else str(entry.descriptor.digest)


def attestations(source: SourceArg, image: str = "") -> Attestations:
    """The BuildKit attestations of the image or index ``image`` names in ``source`` (default:
    the source's only one; a registry reference names its own).

    Raises ImageNotFoundError, InvalidReferenceError (``image`` selects several, or none is
    named in a source of several), BlobNotFoundError, DigestMismatchError / SizeMismatchError
    (a statement or manifest whose bytes are not those named), InvalidDocumentError (a
    statement that is not one), RegistryError.
    """
    with opened(source, image) as (src, name):
        entries = [e for e in find_entries(src, name) if e.node is not None]
        targets = list({e.descriptor.digest: e for e in entries}.values())
        if len(targets) != 1:
            raise InvalidReferenceError(name or src.path, f"names {len(targets)} images; name one with IMAGE")
        entry = targets[0]
        assert entry.node is not None
        return attestations_of(entry.node, name=_entry_name(entry))
