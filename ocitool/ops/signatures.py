"""Where an image's signatures are, in every transport, and checking them (``verify-signature``).

**What is signed** is the digest of the manifest (or index) the image's name resolves to, as
cosign signs it. :func:`signing_target` resolves it: the one entry ``IMAGE`` names, its
descriptor's digest; ``.sig`` images, cosign's other companions and referrers are never
targets.

**Where signatures are** (:func:`find_signatures`):

* *OCI layouts and archives:* the index entry whose ``org.opencontainers.image.ref.name`` is the
  tag ``sha256-<hex>.sig`` (bare, or after a repository: ``repo:sha256-<hex>.sig``), and
  ``cosign save``'s form, entries annotated ``kind: dev.cosignproject.cosign/sigs`` (one image
  per layout); sigstore bundles are the manifests listed with a bundle's ``artifactType`` (or
  in a listed ``sha256-<hex>`` fallback index) whose ``subject`` is the image.
* *Registries:* the tag ``sha256-<hex>.sig`` of the image's repository; bundles through the
  referrers API, or the ``sha256-<hex>`` fallback index.
* *skopeo ``dir:``:* the ``signature-1``, ``signature-2``... files beside ``manifest.json``
  (:func:`dir_signatures`; ``manifest.json`` and the signature files are enough: no ``version``
  file or blob is needed). The signed digest is the SHA-256 of ``manifest.json``'s bytes.
* *The store:* an OCI layout beside it (:attr:`ocitool.image.source.Source.signature_layout`),
  so signatures never show among its images.

Each ``.sig`` layer is one signature; a signature that cannot be read (a missing or oversized
blob, a malformed ``.sig`` manifest) is still listed, with what went wrong, so a verification
reports it rather than hiding it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from ocitool._record import field, record, replace
from ocitool.errors import (
    InvalidReferenceError,
    NotAnImageError,
    OcitoolError,
    RegistryNotFoundError,
    SignatureError,
)
from ocitool.formats.detect import SourceLike, SourceSpec, open_source, parse_source
from ocitool.formats.oci.read import OCILayoutSource, index_entries
from ocitool.formats.registry.read import RegistrySource
from ocitool.image.lookup import find_entries, platform_image
from ocitool.image.source import Entry, ImageIndex, Selected, Source, SourceImage
from ocitool.model import mediatypes as mt
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest, digest_bytes
from ocitool.model.manifest import Index, Manifest
from ocitool.model.platform import Platform

if TYPE_CHECKING:
    from ocitool.ops.signing.keyless import KeylessPolicy, TrustedTime
    from ocitool.ops.signing.keys import PublicKey
    from ocitool.ops.signing.result import VerifyResult
    from ocitool.ops.signing.simplesign import SimpleSignature

__all__ = [
    "BUNDLE_ARTIFACT_TYPE",
    "FoundSignature",
    "KIND_ANNOTATION",
    "KIND_SIGS",
    "SIMPLE_SIGNING_MEDIA_TYPE",
    "SignatureCheck",
    "SignatureReport",
    "SignatureSummary",
    "SigningTarget",
    "dir_signatures",
    "find_signatures",
    "image_identity",
    "is_skopeo_dir_path",
    "opened_for_signatures",
    "reference_names",
    "refuse_platform_in_dir",
    "sig_tag",
    "signature_summary",
    "signing_target",
    "verify_signature",
]

SIMPLE_SIGNING_MEDIA_TYPE: Final = "application/vnd.dev.cosign.simplesigning.v1+json"
BUNDLE_ARTIFACT_TYPE: Final = "application/vnd.dev.sigstore.bundle.v0.3+json"
KIND_ANNOTATION: Final = "kind"
KIND_SIGS: Final = "dev.cosignproject.cosign/sigs"
_COSIGN_KINDS: Final = frozenset(
    {KIND_SIGS, "dev.cosignproject.cosign/atts", "dev.cosignproject.cosign/sboms"}
)
_COMPANION_TAG: Final = re.compile(r"(?:^|:)(sha256|sha512)-[0-9a-f]{64,128}(\.sig|\.att|\.sbom)?$")
_MAX_SIGNATURE_BLOB: Final = 4 << 20
_MAX_LAYERS: Final = 1024
_MAX_SIGNATURE_FILES: Final = 10_000
_SIMPLE: Final = "simplesigning-v1"
SourceArg = SourceLike | Source
_BUNDLE: Final = "bundle-v0.3"


def sig_tag(digest: Digest) -> str:
    """cosign's tag for the signatures of ``digest``: ``sha256-<hex>.sig``."""
    return f"{digest.algorithm}-{digest.encoded}.sig"


@record(frozen=True, slots=True)
class FoundSignature:
    """One signature as found: its ``form`` (``simplesigning-v1`` or ``bundle-v0.3``), where it
    is (``where``: the file, tag or blob, for people), and its content: ``simple`` (a ``.sig``
    layer or ``signature-N`` file) or ``bundle`` (a bundle's bytes), or ``problem`` when it could
    not be read."""

    form: str
    where: str
    simple: SimpleSignature | None = None
    bundle: bytes | None = None
    problem: OcitoolError | None = None

    def identity(self) -> tuple[str, bytes, str]:
        """What makes two finds the same signature (a ``.sig`` listed twice in one layout)."""
        if self.simple is not None:
            return (self.form, self.simple.payload, json.dumps(dict(self.simple.annotations), sort_keys=True))
        return (self.form, self.bundle or b"", self.where if self.bundle is None else "")


@record(frozen=True, slots=True)
class SigningTarget:
    """What a signature of an image signs: the manifest (or index) ``descriptor`` and the names
    the source gives the image (``names``: repo tags, then ref names), from which a
    ``docker-reference`` is taken. ``children`` are an index's manifests (``--recursive``)."""

    descriptor: Descriptor
    names: tuple[str, ...] = ()
    children: tuple[Descriptor, ...] = ()

    @property
    def digest(self) -> Digest:
        return self.descriptor.digest


def _is_companion(entry: Entry) -> bool:
    """A ``.sig``/``.att`` image, a referrers fallback index, or a referrer: not a target."""
    if entry.descriptor.annotations.get(KIND_ANNOTATION) in _COSIGN_KINDS:
        return True
    if any(_COMPANION_TAG.search(name) for name in (*entry.ref_names, *entry.repo_tags)):
        return True
    node = entry.node
    if isinstance(node, SourceImage):
        try:
            return node.manifest.subject is not None or any(
                layer.media_type == SIMPLE_SIGNING_MEDIA_TYPE for layer in node.manifest.layers
            )
        except OcitoolError:
            return False
    if isinstance(node, ImageIndex):
        try:
            return node.index.subject is not None
        except OcitoolError:
            return False
    return False


def _companion_descriptor(desc: Descriptor) -> bool:
    name = desc.annotations.get(mt.ANNOTATION_REF_NAME, "")
    return bool(
        desc.annotations.get(KIND_ANNOTATION) in _COSIGN_KINDS
        or (name and _COMPANION_TAG.search(name))
        or desc.artifact_type
    )


class _WithoutCompanions(Source):
    """A layout's entries without its signatures and listed referrers, which are not opened: a
    malformed ``.sig`` must not make the image it signs unreadable."""

    def __init__(self, layout: OCILayoutSource) -> None:
        self.layout = layout
        self.transport = layout.transport
        self.path = layout.path
        self.blobs = layout.blobs

    def _load_entries(self) -> list[Entry]:
        self.layout.check_layout_file()
        index = self.layout.read_index()
        kept = replace(index, manifests=tuple(d for d in index.manifests if not _companion_descriptor(d)))
        return index_entries(self.blobs, kept, label=self.path, where=self.layout.view.where("index.json"))


def signing_target(source: Source, image: str = "", *, platform: Platform | None = None) -> SigningTarget:
    """The manifest ``image`` names in ``source`` (with no name, the one image it holds,
    signatures and referrers aside). With ``platform``, the manifest of that platform in the
    index it names, chosen as ``--platform`` chooses everywhere
    (:func:`~ocitool.image.lookup.platform_image`; a single image must match it); the target
    keeps the index's names and has no children then.

    Raises ImageNotFoundError, InvalidReferenceError (the name selects several images),
    PlatformNotFoundError (no image of ``platform``: it names the platform and the source).
    """
    if isinstance(source, RegistrySource):
        entries = list(source.entries)
    else:
        entries = find_entries(
            _WithoutCompanions(source) if isinstance(source, OCILayoutSource) else source, image
        )
        if not image:
            entries = [e for e in entries if not _is_companion(e)]
    digests = list(dict.fromkeys(e.descriptor.digest for e in entries))
    if len(digests) != 1:
        what = image or source.path
        raise InvalidReferenceError(what, f"names {len(digests)} images; name one with IMAGE")
    chosen = [e for e in entries if e.descriptor.digest == digests[0]]
    names: list[str] = []
    for entry in chosen:
        names.extend(entry.repo_tags)
        names.extend(entry.ref_names)
    if isinstance(source, RegistrySource):
        names.insert(0, source.ref.name)
    if platform is not None:
        where = f"{source.transport}:{source.path}" + (f" ({image})" if image else "")
        picked = platform_image(chosen[0], platform, path=where)
        return SigningTarget(picked.descriptor, tuple(dict.fromkeys(names)))
    node = chosen[0].node
    children: tuple[Descriptor, ...] = ()
    if isinstance(node, ImageIndex):
        children = tuple(d for d in node.index.manifests if mt.is_manifest(d.media_type))
    return SigningTarget(chosen[0].descriptor, tuple(dict.fromkeys(names)), children)


# -- reading -----------------------------------------------------------------------------------


def _read_blob(source: Source, desc: Descriptor, *, referenced_by: str) -> bytes:
    if desc.size > _MAX_SIGNATURE_BLOB:
        raise SignatureError(
            f"blob {desc.digest} is {desc.size} bytes, over the {_MAX_SIGNATURE_BLOB}-byte signature limit",
            path=referenced_by,
        )
    return source.blobs.read_document(desc, referenced_by=referenced_by)


def _sig_manifest(source: Source, desc: Descriptor, where: str) -> Iterator[FoundSignature]:
    """The signatures (layers) of one ``.sig`` manifest."""
    from ocitool.ops.signing.simplesign import SimpleSignature

    try:
        if not mt.is_manifest(desc.media_type):
            raise SignatureError(f"a .sig must be an image manifest, not {desc.media_type!r}", path=where)
        raw = _read_blob(source, desc, referenced_by=where)
        manifest = Manifest.from_bytes(raw, path=where, media_type=desc.media_type)
        if len(manifest.layers) > _MAX_LAYERS:
            raise SignatureError(
                f"{len(manifest.layers)} layers, over the limit of {_MAX_LAYERS}", path=where
            )
    except OcitoolError as exc:
        yield FoundSignature(_SIMPLE, where, problem=exc)
        return
    for i, layer in enumerate(manifest.layers, 1):
        at = f"{where} layer {i}"
        if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE:
            yield FoundSignature(
                _SIMPLE,
                at,
                problem=SignatureError(f"not a simple signing layer: {layer.media_type!r}", path=at),
            )
            continue
        try:
            payload = _read_blob(source, layer, referenced_by=at)
        except OcitoolError as exc:
            yield FoundSignature(_SIMPLE, at, problem=exc)
            continue
        yield FoundSignature(_SIMPLE, at, simple=SimpleSignature(payload, dict(layer.annotations)))


def _bundle_manifest(source: Source, desc: Descriptor, where: str) -> Iterator[FoundSignature]:
    """The bundle layers of one sigstore bundle referrer."""
    try:
        raw = _read_blob(source, desc, referenced_by=where)
        manifest = Manifest.from_bytes(raw, path=where, media_type=desc.media_type)
        layers = [layer for layer in manifest.layers if layer.media_type == BUNDLE_ARTIFACT_TYPE]
        if not layers:
            raise SignatureError(f"no layer of media type {BUNDLE_ARTIFACT_TYPE}", path=where)
    except OcitoolError as exc:
        yield FoundSignature(_BUNDLE, where, problem=exc)
        return
    for layer in layers[:_MAX_LAYERS]:
        try:
            yield FoundSignature(_BUNDLE, where, bundle=_read_blob(source, layer, referenced_by=where))
        except OcitoolError as exc:
            yield FoundSignature(_BUNDLE, where, problem=exc)


def _layout_sig_descriptors(source: OCILayoutSource, digest: Digest) -> list[tuple[Descriptor, str]]:
    tag = sig_tag(digest)
    out: list[tuple[Descriptor, str]] = []
    for desc in source.read_index().manifests:
        name = desc.annotations.get(mt.ANNOTATION_REF_NAME, "")
        if name == tag or name.endswith(":" + tag):
            out.append((desc, f"{source.transport}:{source.path}:{name}"))
        elif desc.annotations.get(KIND_ANNOTATION) == KIND_SIGS:
            out.append((desc, f"{source.transport}:{source.path}@{desc.digest} (cosign save)"))
    return out


def _layout_bundle_descriptors(source: OCILayoutSource, digest: Digest) -> list[Descriptor]:
    """The bundle referrers of ``digest`` a layout lists: top-level manifests whose descriptor
    says ``artifactType`` bundle (as the image spec asks of layouts), and the manifests of the
    ``sha256-<hex>`` fallback index. Manifests that cannot be read are passed over: they are no
    bundle of this image. Only those are read, so a large layout costs one pass over its index."""
    fallback = f"{digest.algorithm}-{digest.encoded}"
    candidates: list[Descriptor] = []
    for desc in source.read_index().manifests:
        name = desc.annotations.get(mt.ANNOTATION_REF_NAME, "")
        if desc.artifact_type == BUNDLE_ARTIFACT_TYPE and mt.is_manifest(desc.media_type):
            candidates.append(desc)
        elif mt.is_index(desc.media_type) and (name == fallback or name.endswith(":" + fallback)):
            try:
                raw = _read_blob(source, desc, referenced_by=f"{source.path} index.json")
                listed = Index.from_bytes(raw, path=source.path, media_type=desc.media_type).manifests
            except OcitoolError:
                continue
            candidates.extend(d for d in listed if d.artifact_type in ("", BUNDLE_ARTIFACT_TYPE))
    out: list[Descriptor] = []
    for cand in candidates:
        try:
            raw = _read_blob(source, cand, referenced_by=f"{source.path} index.json")
            manifest = Manifest.from_bytes(raw, path=source.path, media_type=cand.media_type)
        except OcitoolError:
            continue
        kind = manifest.artifact_type or manifest.config.media_type
        if (
            manifest.subject is not None
            and manifest.subject.digest == digest
            and kind == BUNDLE_ARTIFACT_TYPE
        ):
            out.append(cand)
    return list({d.digest: d for d in out}.values())


def _registry_sig_descriptors(source: RegistrySource, digest: Digest) -> list[tuple[Descriptor, str]]:
    tag = sig_tag(digest)
    client, repository = source.client, source.ref.repository
    try:
        got = client.get_manifest(repository, tag)
    except RegistryNotFoundError:
        return []
    source.blobs.remember(got.digest, got.raw)
    where = f"docker://{source.ref.registry}/{repository}:{tag}"
    return [(Descriptor(got.media_type, got.digest, got.size), where)]


def _unique(found: Iterable[FoundSignature]) -> list[FoundSignature]:
    seen: set[tuple[str, bytes, str]] = set()
    out = []
    for sig in found:
        key = sig.identity()
        if key not in seen:
            seen.add(key)
            out.append(sig)
    return out


def find_signatures(source: Source, digest: Digest) -> list[FoundSignature]:
    """Every signature of the manifest ``digest`` that ``source`` holds, in the forms of the
    module notes: ``.sig`` layers first, then bundles. Raises RegistryError for a registry that
    fails; a signature that cannot be read is listed with its ``problem``."""
    found: list[FoundSignature] = []
    home = source.signature_layout
    if home is not None:
        if not os.path.isdir(home):
            return []
        with open_source(SourceSpec("oci", home)) as layout:
            return find_signatures(layout, digest)
    bundles: list[Descriptor] = []
    if isinstance(source, RegistrySource):
        sigs = _registry_sig_descriptors(source, digest)
        bundles = source.client.referrers(
            source.ref.repository, digest, artifact_type=BUNDLE_ARTIFACT_TYPE
        ).descriptors
    elif isinstance(source, OCILayoutSource):
        sigs = _layout_sig_descriptors(source, digest)
        bundles = _layout_bundle_descriptors(source, digest)
    elif source.transport == "dir" and os.path.isdir(source.path):
        signed, files = dir_signatures(source.path)
        return files if signed == digest else []
    else:
        sigs = []
    for desc, where in sigs:
        found.extend(_sig_manifest(source, desc, where))
    for desc in bundles:
        where = f"{source.transport}:{source.path}@{desc.digest} (referrer)"
        found.extend(_bundle_manifest(source, desc, where))
    return _unique(found)


# -- skopeo dir: -------------------------------------------------------------------------------


def is_skopeo_dir_path(spec: SourceSpec) -> bool:
    """Whether ``spec`` names a skopeo ``dir:`` copy: the ``dir`` transport, or a directory with
    a JSON-object ``manifest.json`` and no ``index.json`` (docker save's is an array)."""
    if spec.transport == "dir":
        return True
    if spec.transport or not os.path.isdir(spec.path):
        return False
    if os.path.exists(os.path.join(spec.path, "index.json")):
        return False
    try:
        with open(os.path.join(spec.path, "manifest.json"), "rb") as fh:
            head = fh.read(64).lstrip()
    except OSError:
        return False
    return head.startswith(b"{")


def _dir_manifest(path: str) -> tuple[bytes, Digest]:
    name = os.path.join(path, "manifest.json")
    try:
        with open(name, "rb") as fh:
            raw = fh.read(_MAX_SIGNATURE_BLOB + 1)
    except FileNotFoundError:
        raise NotAnImageError(path, "no manifest.json: not a skopeo dir: copy") from None
    if len(raw) > _MAX_SIGNATURE_BLOB:
        raise NotAnImageError(name, "manifest.json is over 4 MiB")
    return raw, digest_bytes(raw)


def dir_signatures(path: str) -> tuple[Digest, list[FoundSignature]]:
    """The digest of a skopeo ``dir:`` copy's ``manifest.json`` and its ``signature-N`` files
    (from 1, until the first absent one). Raises NotAnImageError without ``manifest.json``."""
    from ocitool.ops.signing.sigstore_json import parse_signature_file, signature_file_name

    _, digest = _dir_manifest(path)
    found: list[FoundSignature] = []
    for n in range(1, _MAX_SIGNATURE_FILES + 1):
        name = os.path.join(path, signature_file_name(n))
        try:
            with open(name, "rb") as fh:
                data = fh.read(_MAX_SIGNATURE_BLOB + 1)
        except FileNotFoundError:
            break
        try:
            simple = parse_signature_file(data, path=name).simple_signature(path=name)
        except SignatureError as exc:
            found.append(FoundSignature(_SIMPLE, name, problem=exc))
            continue
        found.append(FoundSignature(_SIMPLE, name, simple=simple))
    return digest, found


# -- verifying ---------------------------------------------------------------------------------


@record(frozen=True, slots=True)
class SignatureCheck:
    """One signature found and what its verification said."""

    found: FoundSignature
    result: VerifyResult


@record(frozen=True, slots=True)
class SignatureReport:
    """All the signatures of one image (``digest``, named ``name``) and their checks. ``ok``
    when at least one verified."""

    digest: Digest
    name: str
    checks: list[SignatureCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return any(c.result.ok for c in self.checks)


def _check(
    found: FoundSignature,
    verifier: PublicKey | KeylessPolicy,
    digest: Digest,
    trusted_time: TrustedTime | None,
    docker_reference: str | None,
) -> VerifyResult:
    from ocitool.ops.signing.bundle import verify_bundle
    from ocitool.ops.signing.result import SignatureForm, VerifyResult
    from ocitool.ops.signing.simplesign import verify_simple_signing

    form = SignatureForm(found.form)
    if found.problem is not None:
        problem = found.problem
        exc = (
            problem if isinstance(problem, SignatureError) else SignatureError(str(problem), path=found.where)
        )
        return VerifyResult.failed(form, exc)
    if found.simple is not None:
        return verify_simple_signing(
            found.simple,
            verifier,
            manifest_digest=digest,
            docker_reference=docker_reference,
            trusted_time=trusted_time,
            path=found.where,
        )
    assert found.bundle is not None
    return verify_bundle(found.bundle, verifier, digest=digest, trusted_time=trusted_time, path=found.where)


@contextmanager
def opened_for_signatures(
    source: SourceArg, image: str = ""
) -> Iterator[tuple[Source | None, str, SourceSpec]]:
    """(source, image, spec) for a SOURCE; the source is None for a skopeo ``dir:`` copy, which
    is read directly (its ``manifest.json`` and signature files)."""
    if isinstance(source, Source):
        yield source, image, SourceSpec(source.transport, source.path)
        return
    spec = parse_source(source)
    if spec.image and image and spec.image != image:
        raise InvalidReferenceError(os.fspath(source), f"names image {spec.image!r} and IMAGE {image!r}")
    if spec.transport != "docker" and is_skopeo_dir_path(spec):
        yield None, "", spec
        return
    with open_source(spec) as src:
        yield src, image or spec.image, spec


def verify_signature(
    source: SourceArg,
    image: str = "",
    *,
    key: PublicKey | KeylessPolicy,
    trusted_time: TrustedTime | None = None,
    docker_reference: str | None = None,
    platform: Platform | None = None,
) -> SignatureReport:
    """Check every signature of the image ``image`` names in ``source`` (see the module notes
    for where they are looked for) with ``key`` (a public key) or a keyless policy.

    ``trusted_time`` holds the Rekor keys and timestamp authorities that date keyless
    signatures; ``docker_reference``, when given, must be vouched for by each simple signing
    payload. ``platform`` checks the signatures of that platform's manifest in the index
    ``image`` names rather than the index's (see :func:`signing_target`). Returns a report
    listing each signature and its result (``report.ok``: at least one verified; no signature
    found leaves ``checks`` empty). Raises for unreadable input: NotAnImageError,
    ImageNotFoundError, InvalidReferenceError (also ``platform`` on a ``dir:`` copy, which holds
    one manifest), PlatformNotFoundError, RegistryError.
    """
    with opened_for_signatures(source, image) as (src, name, spec):
        if src is None:
            refuse_platform_in_dir(spec.path, platform)
            digest, found = dir_signatures(spec.path)
            label = f"dir:{spec.path}"
        else:
            target = signing_target(src, name, platform=platform)
            digest = target.digest
            found = find_signatures(src, digest)
            label = target.names[0] if target.names else f"{src.transport}:{src.path}"
        checks = [SignatureCheck(f, _check(f, key, digest, trusted_time, docker_reference)) for f in found]
    return SignatureReport(digest, label, checks)


def refuse_platform_in_dir(path: str, platform: Platform | None) -> None:
    """A ``dir:`` copy's signatures are those of its ``manifest.json``: ``--platform`` cannot
    pick another manifest there (InvalidReferenceError)."""
    if platform is not None:
        raise InvalidReferenceError(
            f"dir:{path}",
            f"--platform {platform}: a dir: copy's signatures sign its manifest.json alone",
        )


def reference_names(names: Sequence[str]) -> list[str]:
    """The names among ``names`` that are references (a repository, not a bare tag)."""
    return [n for n in names if "/" in n or (":" in n and not n.startswith(":"))]


# -- inspect's Identity ------------------------------------------------------------------------

_NOT_VERIFIED: Final = "signature not verified: no key was given (--verify-key)"


def _go_time(when: dt.datetime) -> str:
    """Go's time.Time JSON (RFC 3339, nanoseconds trimmed) of a UTC datetime."""
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}".rstrip("0")
    return text + "Z"


def _signature_identity(found: FoundSignature, result: VerifyResult | None) -> dict[str, Any]:
    """moby's ``SignatureIdentity`` of one signature: verified (Name, Timestamps, Signer,
    DockerReference, SignatureType), failed (``Error`` alone, as moby leaves the rest empty), or
    unchecked (what the signature claims, and a warning saying it was not verified)."""
    if result is not None and not result.ok:
        return {"Error": result.message}
    out: dict[str, Any] = {}
    if result is None:
        claimed = ""
        if found.simple is not None:
            from ocitool.ops.signing.payload import parse_payload

            try:
                claimed = parse_payload(found.simple.payload, path=found.where).docker_reference
            except SignatureError as exc:
                return {"Error": exc.message}
        elif found.problem is not None:
            return {"Error": str(found.problem)}
        if claimed:
            out["DockerReference"] = claimed
        out["SignatureType"] = found.form
        out["Warnings"] = [_NOT_VERIFIED]
        return out
    if result.signer is None and result.key_fingerprint:
        out["Name"] = result.key_fingerprint
    if result.timestamps:
        out["Timestamps"] = [
            {"Type": t.kind, "URI": t.uri, "Timestamp": _go_time(t.time)} for t in result.timestamps
        ]
    if result.docker_reference:
        out["DockerReference"] = result.docker_reference
    if result.signer is not None:
        out["Signer"] = result.signer.to_json()
    out["SignatureType"] = found.form
    if result.warnings:
        out["Warnings"] = list(result.warnings)
    return out


def _attestation_of(entry: Entry, image: SourceImage) -> Digest | None:
    """The digest of the BuildKit attestation manifest an index lists for ``image``."""
    node = entry.node
    if not isinstance(node, ImageIndex):
        return None
    for desc in node.index.manifests:
        notes = desc.annotations
        if notes.get(mt.ANNOTATION_DOCKER_REFERENCE_TYPE) != mt.ATTESTATION_MANIFEST:
            continue
        # buildx reads the first reference annotation present
        named = next((notes[k] for k in mt.ANNOTATION_DOCKER_REFERENCE_DIGESTS if k in notes), None)
        if named == str(image.digest):
            return desc.digest
    return None


@record(frozen=True, slots=True)
class SignatureSummary:
    """What ``analyze`` reports of an image's signatures, as :func:`image_identity` finds them
    (on the image manifest, its attestation manifest and the index it was chosen from): how
    many, their forms (``simplesigning-v1``, ``bundle-v0.3``), and ``verified`` (always false
    here: analyze takes no key; ``verify-signature`` checks them). ``error`` says why the
    lookup failed, if it did."""

    count: int
    forms: tuple[str, ...]
    unreadable: int = 0
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "count": self.count,
            "types": list(self.forms),
            "unreadable": self.unreadable,
            "verified": False,
        }
        if self.error:
            doc["error"] = self.error
        return doc


def signature_summary(source: Source, selected: Selected) -> SignatureSummary:
    """The signatures of the selected image (see :class:`SignatureSummary`). Never raises for
    the source's signatures: a failed lookup is the summary's ``error``."""
    try:
        identity = image_identity(source, selected)
    except OcitoolError as exc:
        return SignatureSummary(0, (), error=str(exc))
    found = identity.get("Signature", []) if identity else []
    forms = tuple(sorted({s["SignatureType"] for s in found if "SignatureType" in s}))
    return SignatureSummary(len(found), forms, unreadable=sum(1 for s in found if "Error" in s))


def image_identity(
    source: Source,
    selected: Selected,
    *,
    key: PublicKey | KeylessPolicy | None = None,
    trusted_time: TrustedTime | None = None,
) -> dict[str, Any] | None:
    """moby's ``Identity`` of an inspected image (``{"Signature": [...], "Pull": [...]}``, in
    moby's field order, each omitted when empty), or None when it has neither.

    Signatures are looked up, as moby does, on the image manifest and on its platform's
    attestation manifest, and also on the index the image was chosen from (what ``cosign sign``
    signs by default). With ``key`` each is verified; without, each says so in ``Warnings``.
    ``Pull`` lists the repositories a store recorded for the image
    (:meth:`~ocitool.image.source.Source.pull_identity`: ``pull`` and ``push``), as
    ``{"Repository": ...}``. ``Build`` is never set: see the README. Raises RegistryError."""
    out: dict[str, Any] = {}
    signatures = _signature_identities(source, selected, key, trusted_time)
    if signatures:
        out["Signature"] = signatures
    pulled = source.pull_identity(selected.image)
    if pulled:
        out["Pull"] = [{"Repository": repository} for repository in pulled]
    return out or None


def _signature_identities(
    source: Source,
    selected: Selected,
    key: PublicKey | KeylessPolicy | None,
    trusted_time: TrustedTime | None,
) -> list[dict[str, Any]]:
    """The ``SignatureIdentity`` of each signature of the image (see :func:`image_identity`)."""
    if source.signature_layout is not None and not os.path.isdir(source.signature_layout):
        return []  # a store that never signed (or a Docker data root): nothing to look up
    try:
        digests = [selected.image.digest]
    except OcitoolError:
        return []  # no manifest to be signed (a Docker data root's unpacked layers)
    attestation = _attestation_of(selected.entry, selected.image)
    if attestation is not None:
        digests.append(attestation)
    if selected.entry.descriptor.digest not in digests:
        digests.append(selected.entry.descriptor.digest)
    signatures: list[dict[str, Any]] = []
    for digest in digests:
        for found in find_signatures(source, digest):
            result = _check(found, key, digest, trusted_time, None) if key is not None else None
            signatures.append(_signature_identity(found, result))
    return signatures
