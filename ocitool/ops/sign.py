"""``sign`` and ``generate-key-pair``: write cosign-compatible signatures next to an image.

**Simple signing (the default, cosign ≤ 2's form).** Each signed manifest gets the image cosign
writes under the tag ``sha256-<hex>.sig``: an OCI manifest whose config is go-containerregistry's
near-empty config (``rootfs.diff_ids`` = the layer digests, one history entry per layer) and
whose layers are the simple signing payloads (:mod:`.signing.payload`), stored as they are, of
media type ``application/vnd.dev.cosign.simplesigning.v1+json``, each carrying its signature in
the annotation ``dev.cosignproject.cosign/signature``. A ``.sig`` that exists already keeps its
layers and gets one more, as cosign appends.

**Bundles (``fmt="bundle"``, cosign 3's default).** An OCI 1.1 referrer: ``artifactType``
``application/vnd.dev.sigstore.bundle.v0.3+json``, the empty config, one layer holding the v0.3
bundle whose DSSE envelope signs an in-toto statement naming the manifest digest, and
``subject`` = the signed manifest.

**Where they are written**, each atomically (a reader sees the old set or the new one):

* an OCI layout directory: blobs added, ``index.json`` replaced last (the ``.sig`` listed under
  its tag as ``org.opencontainers.image.ref.name``; a bundle referrer listed without a name);
* an OCI archive: rewritten whole beside itself and renamed over it (a tar compressed whole is
  written back uncompressed);
* a registry: blobs, then the manifest under its tag (bundles by digest, with the referrers
  fallback tag when the registry has no referrers API);
* the store: the OCI layout beside it (:attr:`~ocitool.image.source.Source.signature_layout`);
* a skopeo ``dir:`` copy: the next ``signature-N`` file (simple signing only), as skopeo does.

A legacy ``docker-archive`` has no place for another manifest: it is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from ocitool._go import json as gojson
from ocitool._io.files import DirView
from ocitool._io.output import atomic_write
from ocitool._record import record
from ocitool.errors import (
    InvalidDigestError,
    InvalidDocumentError,
    InvalidReferenceError,
    RegistryNotFoundError,
)
from ocitool.formats.oci.read import OCILayoutSource
from ocitool.formats.oci.write import LayoutWriter, OCIDirWriter, TarLayoutWriter
from ocitool.formats.registry.read import RegistrySource
from ocitool.image.source import Source
from ocitool.model import mediatypes as mt
from ocitool.model.descriptor import Descriptor
from ocitool.model.digest import Digest, digest_bytes
from ocitool.model.platform import Platform
from ocitool.ops.query import SourceArg
from ocitool.ops.signatures import (
    BUNDLE_ARTIFACT_TYPE,
    SIMPLE_SIGNING_MEDIA_TYPE,
    SigningTarget,
    dir_signatures,
    opened_for_signatures,
    refuse_platform_in_dir,
    sig_tag,
    signing_target,
)

if TYPE_CHECKING:
    from ocitool.ops.signing.keys import KeyPair, PrivateKey

__all__ = ["SIGNATURE_FORMATS", "SignedImage", "generate_key_pair", "sig_manifest", "sign"]

SIGNATURE_FORMATS: Final = ("simplesigning", "bundle")
_ZERO_TIME: Final = "0001-01-01T00:00:00Z"
_EMPTY_JSON: Final = b"{}"
_BUNDLE_CONTENT_ANNOTATION: Final = "dev.sigstore.bundle.content"
_BUNDLE_PREDICATE_ANNOTATION: Final = "dev.sigstore.bundle.predicateType"
_CREATED_ANNOTATION: Final = "org.opencontainers.image.created"


@record(frozen=True, slots=True)
class SignedImage:
    """One signature written: the signed manifest ``digest``, the ``docker_reference`` the
    payload claims (simple signing), the ``form`` (``simplesigning-v1``/``bundle-v0.3``), and
    ``where`` it was written (the tag, file or referrer digest)."""

    digest: Digest
    docker_reference: str
    form: str
    where: str


def _go_descriptor(
    media_type: str, data: bytes, annotations: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A descriptor in go-containerregistry's field order (mediaType, size, digest, annotations)."""
    out: dict[str, Any] = {"mediaType": media_type, "size": len(data), "digest": str(digest_bytes(data))}
    if annotations:
        out["annotations"] = dict(sorted(annotations.items()))
    return out


def sig_manifest(layers: Sequence[Mapping[str, Any]]) -> tuple[bytes, bytes]:
    """(config, manifest) of a ``.sig`` image with ``layers`` (descriptor objects, JSON shape),
    as go-containerregistry writes cosign's: the config names each layer's digest as a diff ID
    (the payloads are stored uncompressed) with one empty history entry per layer."""
    config = {
        "architecture": "",
        "created": _ZERO_TIME,
        "history": [{"created": _ZERO_TIME} for _ in layers],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [str(layer["digest"]) for layer in layers]},
        "config": {},
    }
    raw_config = gojson.dumps(config).encode("utf-8")
    manifest = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": _go_descriptor(mt.OCI_CONFIG, raw_config),
        "layers": [dict(layer) for layer in layers],
    }
    return raw_config, gojson.dumps(manifest).encode("utf-8")


def _existing_layers(raw: bytes | None, where: str) -> list[dict[str, Any]]:
    """The layers of an existing ``.sig`` manifest, as they are."""
    if raw is None:
        return []
    try:
        layers = json.loads(raw).get("layers") or []
    except (ValueError, AttributeError):
        raise InvalidDocumentError("the existing .sig manifest is not a JSON object", path=where) from None
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        raise InvalidDocumentError(
            "the existing .sig manifest's layers are malformed", path=where, field="/layers"
        )
    return layers


# -- destinations ------------------------------------------------------------------------------


class _Destination:
    """Where signatures are written: blobs plus a tagged ``.sig`` or an untagged referrer."""

    label: str

    def existing_sig(self, tag: str) -> bytes | None:
        raise NotImplementedError

    def put_blob(self, data: bytes) -> None:
        raise NotImplementedError

    def put_manifest(self, raw: bytes, *, tag: str | None, artifact_type: str = "") -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Publish what was put."""

    def abort(self) -> None:
        """Drop what was put."""


class _LayoutDestination(_Destination):
    """An OCI layout directory (new or existing) or an OCI archive (rewritten)."""

    def __init__(self, path: str, *, archive: OCILayoutSource | None = None) -> None:
        self.label = f"{'oci-archive' if archive else 'oci'}:{path}"
        self.source = archive
        self.writer: LayoutWriter
        self.old: list[Descriptor] = []
        if archive is None:
            self.writer = OCIDirWriter(path)  # locks an existing layout until finish/abort
            if os.path.exists(os.path.join(path, "index.json")):
                self.source = OCILayoutSource(DirView(path), transport="oci", path=path)
        else:
            self.writer = TarLayoutWriter(path)
            self.old = list(archive.read_index().manifests)
            view = archive.view
            for name in view.names():
                parts = name.split("/")
                if len(parts) != 3 or parts[0] != "blobs":
                    continue
                try:
                    digest = Digest.parse(f"{parts[1]}:{parts[2]}")
                except InvalidDigestError:
                    continue  # not a blob: a stray file is not carried over
                self.writer.put_copy(
                    digest, view.size(name), partial(view.open, name), where=view.where(name)
                )
        self.new: list[Descriptor] = []

    def existing_sig(self, tag: str) -> bytes | None:
        if self.source is None:
            return None
        pending = [d for d in self.new if d.annotations.get(mt.ANNOTATION_REF_NAME) == tag]
        for desc in pending or self.source.read_index().manifests:
            if desc.annotations.get(mt.ANNOTATION_REF_NAME) == tag:
                if desc.data is not None:
                    return desc.data
                return self.source.blobs.read_document(desc, referenced_by=f"{self.label}:{tag}")
        return None

    def put_blob(self, data: bytes) -> None:
        self.writer.put_bytes(data)

    def put_manifest(self, raw: bytes, *, tag: str | None, artifact_type: str = "") -> None:
        self.writer.put_bytes(raw)
        annotations = {mt.ANNOTATION_REF_NAME: tag} if tag else {}
        # The descriptor keeps the bytes, so a second signature of the same run appends to them.
        desc = Descriptor(
            mt.OCI_MANIFEST,
            digest_bytes(raw),
            len(raw),
            annotations=annotations,
            data=raw,
            artifact_type=artifact_type,
        )
        self.new = [d for d in self.new if not (tag and d.annotations.get(mt.ANNOTATION_REF_NAME) == tag)]
        self.new.append(desc)

    def _listed(self) -> list[Descriptor]:
        return [
            Descriptor(
                d.media_type, d.digest, d.size, annotations=d.annotations, artifact_type=d.artifact_type
            )
            for d in self.new
        ]

    def finish(self) -> None:
        manifests = self._listed()
        if isinstance(self.writer, TarLayoutWriter):
            taken = {d.annotations.get(mt.ANNOTATION_REF_NAME) for d in manifests} - {None}
            kept = [d for d in self.old if d.annotations.get(mt.ANNOTATION_REF_NAME) not in taken]
            manifests = kept + [d for d in manifests if d not in kept]
        self.writer.commit(manifests)

    def abort(self) -> None:
        self.writer.abort()


class _RegistryDestination(_Destination):
    def __init__(self, source: RegistrySource) -> None:
        self.client = source.client
        self.repository = source.ref.repository
        self.label = f"docker://{source.ref.registry}/{self.repository}"

    def existing_sig(self, tag: str) -> bytes | None:
        try:
            return self.client.get_manifest(
                self.repository, tag, accept=(mt.OCI_MANIFEST, mt.DOCKER_MANIFEST)
            ).raw
        except RegistryNotFoundError:
            return None

    def put_blob(self, data: bytes) -> None:
        self.client.push_blob(self.repository, digest_bytes(data), len(data), data)

    def put_manifest(self, raw: bytes, *, tag: str | None, artifact_type: str = "") -> None:
        self.client.put_manifest(self.repository, tag or str(digest_bytes(raw)), raw, mt.OCI_MANIFEST)


def _destination(source: Source) -> _Destination:
    if source.signature_layout is not None:
        if not source.signatures_writable:
            raise InvalidReferenceError(
                source.path, "a Docker data root is read-only: cannot sign its images"
            )
        return _LayoutDestination(source.signature_layout)
    if isinstance(source, RegistrySource):
        return _RegistryDestination(source)
    if isinstance(source, OCILayoutSource):
        if source.transport == "oci":
            return _LayoutDestination(source.path)
        return _LayoutDestination(source.path, archive=source)
    if source.transport == "docker-archive":
        raise InvalidReferenceError(
            source.path,
            "a docker-archive cannot hold signatures (a cosign .sig is another manifest, which "
            "docker save's format has no place for); convert it first: ocitool convert SOURCE oci:DIR:NAME",
        )
    raise InvalidReferenceError(source.path, f"cannot write signatures into a {source.transport} source")


# -- signing -----------------------------------------------------------------------------------


def _docker_reference(target: SigningTarget, reference: str | None, where: str) -> str:
    from ocitool.ops.signatures import reference_names
    from ocitool.ops.signing.payload import claimed_identity

    if reference:
        return claimed_identity(reference)
    for name in reference_names(target.names):
        try:
            return claimed_identity(name)
        except InvalidReferenceError:
            continue
    raise InvalidReferenceError(
        where, "cannot tell the image's repository (it has no name like REPO:TAG): give --reference REPO"
    )


def _sign_simple(
    dest: _Destination,
    digest: Digest,
    docker_reference: str,
    key: PrivateKey,
    optional: Mapping[str, str] | None,
) -> SignedImage:
    from ocitool.ops.signing.simplesign import sign_image

    tag = sig_tag(digest)
    signature = sign_image(digest, docker_reference, key, optional=optional)
    layers = _existing_layers(dest.existing_sig(tag), f"{dest.label}:{tag}")
    layer = _go_descriptor(SIMPLE_SIGNING_MEDIA_TYPE, signature.payload, signature.annotations)
    if layer not in layers:
        layers.append(layer)
    config, manifest = sig_manifest(layers)
    dest.put_blob(signature.payload)
    dest.put_blob(config)
    dest.put_manifest(manifest, tag=tag)
    return SignedImage(digest, docker_reference, "simplesigning-v1", f"{dest.label}:{tag}")


def bundle_manifest(subject: Descriptor, bundle: bytes, *, created: str) -> bytes:
    """The OCI 1.1 referrer cosign 3 pushes for an image signature bundle."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "artifactType": BUNDLE_ARTIFACT_TYPE,
        "config": _go_descriptor(mt.OCI_EMPTY, _EMPTY_JSON),
        "layers": [_go_descriptor(BUNDLE_ARTIFACT_TYPE, bundle)],
        "subject": {"mediaType": subject.media_type, "size": subject.size, "digest": str(subject.digest)},
        "annotations": {
            _BUNDLE_CONTENT_ANNOTATION: "dsse-envelope",
            _BUNDLE_PREDICATE_ANNOTATION: "https://sigstore.dev/cosign/sign/v1",
            _CREATED_ANNOTATION: created,
        },
    }
    return gojson.dumps(manifest).encode("utf-8")


def _sign_bundle(dest: _Destination, subject: Descriptor, key: PrivateKey) -> SignedImage:
    from ocitool.ops.signing.bundle import sign_image_bundle

    bundle = sign_image_bundle(subject.digest, key)
    created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raw = bundle_manifest(subject, bundle, created=created)
    dest.put_blob(_EMPTY_JSON)
    dest.put_blob(bundle)
    dest.put_manifest(raw, tag=None, artifact_type=BUNDLE_ARTIFACT_TYPE)
    return SignedImage(subject.digest, "", "bundle-v0.3", f"{dest.label}@{digest_bytes(raw)}")


def _sign_dir(
    path: str, key: PrivateKey, reference: str | None, optional: Mapping[str, str] | None
) -> SignedImage:
    from ocitool.ops.signing.payload import claimed_identity
    from ocitool.ops.signing.sigstore_json import signature_file, signature_file_name
    from ocitool.ops.signing.simplesign import sign_image

    digest, found = dir_signatures(path)
    if not reference:
        raise InvalidReferenceError(f"dir:{path}", "a dir: copy has no image name: give --reference REPO")
    docker_reference = claimed_identity(reference)
    signature = sign_image(digest, docker_reference, key, optional=optional)
    name = os.path.join(path, signature_file_name(len(found) + 1))
    if os.path.lexists(name):  # a gap or a concurrent writer: never overwrite a signature
        raise FileExistsError(17, "file exists", name)
    atomic_write(name, signature_file(signature), mode=0o644)
    return SignedImage(digest, docker_reference, "simplesigning-v1", name)


def sign(
    source: SourceArg,
    image: str = "",
    *,
    key: PrivateKey,
    reference: str | None = None,
    annotations: Mapping[str, str] | None = None,
    recursive: bool = False,
    fmt: str = "simplesigning",
    platform: Platform | None = None,
) -> list[SignedImage]:
    """Sign the image ``image`` names in ``source`` with ``key`` and write the signature next
    to it (see the module notes); returns what was written.

    ``reference`` is the ``docker-reference`` the payload claims (normalised to the repository
    as cosign writes it); by default the image's own name (a repo tag or a ref name naming a
    repository). ``annotations`` go into the payload's ``optional``. ``recursive`` also signs
    each manifest an index lists. ``fmt`` is ``simplesigning`` (a ``.sig``) or ``bundle`` (a
    sigstore bundle v0.3 referrer). ``platform`` signs that platform's manifest of the index
    ``image`` names instead of the index (the payload still claims the index's name; with
    ``recursive`` too, that manifest alone).

    Raises InvalidReferenceError (a docker-archive, no repository to claim, a read-only store,
    ``platform`` on a ``dir:`` copy), ImageNotFoundError, PlatformNotFoundError (naming the
    platform and the source), RegistryError, OutputError; nothing is written then.
    """
    if fmt not in SIGNATURE_FORMATS:
        raise ValueError(f"unknown signature format {fmt!r}: one of {', '.join(SIGNATURE_FORMATS)}")
    optional = dict(annotations) if annotations else None
    with opened_for_signatures(source, image) as (src, name, spec):
        if src is None:
            refuse_platform_in_dir(spec.path, platform)
            if fmt != "simplesigning":
                raise InvalidReferenceError(
                    f"dir:{spec.path}", "a dir: copy holds simple signing signatures only"
                )
            return [_sign_dir(spec.path, key, reference, optional)]
        target = signing_target(src, name, platform=platform)
        subjects = [target.descriptor, *(target.children if recursive else ())]
        dest = _destination(src)
        try:
            docker_reference = (
                _docker_reference(target, reference, f"{src.transport}:{src.path}")
                if fmt == "simplesigning"
                else ""
            )
            done = [
                _sign_simple(dest, s.digest, docker_reference, key, optional)
                if fmt == "simplesigning"
                else _sign_bundle(dest, s, key)
                for s in subjects
            ]
            dest.finish()
        except BaseException:
            dest.abort()
            raise
    return done


def generate_key_pair(password: bytes) -> KeyPair:
    """A new ECDSA P-256 key pair in cosign's format (see :func:`.signing.keys.generate_key_pair`);
    ``KeyPair.write(directory)`` writes ``cosign.key`` and ``cosign.pub``."""
    from ocitool.ops.signing.keys import generate_key_pair as generate

    return generate(password)
