"""Content descriptors (OCI ``Descriptor``), shared by OCI and Docker documents."""

from __future__ import annotations

import binascii
from typing import Any

from ocitool._record import field, record
from ocitool.errors import InvalidDocumentError, OcitoolError
from ocitool.model.digest import Digest
from ocitool.model.platform import Platform

__all__ = ["Descriptor"]


@record(frozen=True, slots=True)
class Descriptor:
    """A typed pointer to content: media type, digest and size, plus optional metadata.

    JSON keys and their order follow ``ocispec.Descriptor`` (mediaType, digest, size, urls,
    annotations, data, platform, artifactType). ``data`` is the decoded embedded content.
    """

    media_type: str
    digest: Digest
    size: int
    urls: tuple[str, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    data: bytes | None = None
    platform: Platform | None = None
    artifact_type: str = ""

    @classmethod
    def from_dict(cls, doc: Any, *, path: str = "", field_path: str = "") -> Descriptor:
        """Parse a descriptor object. Raises InvalidDocumentError naming ``field_path``."""
        if not isinstance(doc, dict):
            raise InvalidDocumentError("descriptor is not a JSON object", path=path, field=field_path or "/")
        try:
            digest = Digest.parse(doc.get("digest"))
        except OcitoolError as exc:
            raise InvalidDocumentError(str(exc), path=path, field=f"{field_path}/digest") from None
        size = doc.get("size", 0)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidDocumentError(
                f"size {size!r} is not a non-negative integer", path=path, field=f"{field_path}/size"
            )
        media_type = doc.get("mediaType", "")
        if not isinstance(media_type, str):
            raise InvalidDocumentError(
                "mediaType is not a string", path=path, field=f"{field_path}/mediaType"
            )
        annotations = doc.get("annotations") or {}
        if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
        ):
            raise InvalidDocumentError(
                "annotations must map strings to strings", path=path, field=f"{field_path}/annotations"
            )
        urls = doc.get("urls") or []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise InvalidDocumentError(
                "urls must be a list of strings", path=path, field=f"{field_path}/urls"
            )
        platform = doc.get("platform")
        if platform is not None and not isinstance(platform, dict):
            raise InvalidDocumentError("platform is not an object", path=path, field=f"{field_path}/platform")
        data: bytes | None = None
        if doc.get("data") is not None:
            try:
                import base64  # only descriptors with embedded data need it

                data = base64.b64decode(str(doc["data"]), validate=True)
            except (binascii.Error, ValueError):
                raise InvalidDocumentError(
                    "data is not base64", path=path, field=f"{field_path}/data"
                ) from None
        return cls(
            media_type=media_type,
            digest=digest,
            size=size,
            urls=tuple(urls),
            annotations=dict(annotations),
            data=data,
            platform=Platform.from_dict(platform) if platform else None,
            artifact_type=str(doc.get("artifactType", "") or ""),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": str(self.digest),
            "size": self.size,
        }
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(sorted(self.annotations.items()))
        if self.data is not None:
            import base64

            out["data"] = base64.b64encode(self.data).decode()
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        return out
