"""``docker://`` references in skopeo's grammar, and where their registry answers.

``docker://HOST[:PORT]/REPO[:TAG|@DIGEST]`` names an image in a registry. The part after
``docker://`` is normalised as docker normalises user input (:func:`ocitool.model.reference.
parse_normalized`): no host means Docker Hub (``docker.io/library/alpine``), no tag means
``latest``. As in skopeo (containers/image ``docker.newReference``) a reference may carry a tag
or a digest, not both.
"""

from __future__ import annotations

import ipaddress
from typing import Final

from ocitool._record import record, replace
from ocitool.errors import InvalidReferenceError
from ocitool.formats.registry import TRANSPORT_PREFIX
from ocitool.model.digest import Digest
from ocitool.model.reference import DEFAULT_DOMAIN, parse_normalized

__all__ = [
    "DOCKER_HUB_API_HOST",
    "TRANSPORT_PREFIX",
    "RegistryReference",
    "api_host",
    "is_loopback",
    "parse_registry_reference",
]

# Docker Hub's name in references is docker.io; its API lives on another host
# (moby registry.DefaultV2Registry).
DOCKER_HUB_API_HOST: Final = "registry-1.docker.io"


@record(frozen=True, slots=True)
class RegistryReference:
    """An image in a registry: ``registry`` (``host[:port]``, ``docker.io`` for Docker Hub),
    ``repository`` (``library/alpine``), and a ``tag`` or a ``digest``."""

    registry: str
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def reference(self) -> str:
        """What ``/v2/<name>/manifests/<reference>`` takes: the digest, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def name(self) -> str:
        """``registry/repository``."""
        return f"{self.registry}/{self.repository}"

    def with_tag(self, tag: str) -> RegistryReference:
        return replace(self, tag=tag, digest="")

    def with_digest(self, digest: str) -> RegistryReference:
        return replace(self, tag="", digest=str(Digest.parse(digest)))

    def __str__(self) -> str:
        if self.digest:
            return f"{TRANSPORT_PREFIX}{self.name}@{self.digest}"
        return f"{TRANSPORT_PREFIX}{self.name}:{self.tag or 'latest'}"


def parse_registry_reference(text: str) -> RegistryReference:
    """Parse ``docker://HOST[:PORT]/REPO[:TAG|@DIGEST]`` (the prefix may be left out).

    Raises InvalidReferenceError for anything off docker's grammar, for a tag together with a
    digest (skopeo refuses those too), and for a digest whose algorithm ocitool cannot check.
    """
    body = text[len(TRANSPORT_PREFIX) :] if text.startswith(TRANSPORT_PREFIX) else text
    if text.startswith(TRANSPORT_PREFIX) and body.startswith("/"):
        raise InvalidReferenceError(text, "docker: references take no leading '/' after docker://")
    if not body:
        raise InvalidReferenceError(text, "docker: needs an image name")
    ref = parse_normalized(body)
    if ref.tag and ref.digest:
        raise InvalidReferenceError(text, "references with both a tag and a digest are not supported")
    if ref.digest:
        try:
            Digest.parse(ref.digest)
        except ValueError as exc:
            raise InvalidReferenceError(text, str(exc)) from None
    return RegistryReference(
        registry=ref.domain,
        repository=ref.path,
        tag=ref.tag or ("" if ref.digest else "latest"),
        digest=ref.digest,
    )


def api_host(registry: str) -> str:
    """The ``host[:port]`` that serves ``/v2/`` for ``registry`` (Docker Hub's differs)."""
    return DOCKER_HUB_API_HOST if registry == DEFAULT_DOMAIN else registry


def _hostname(registry: str) -> str:
    if registry.startswith("["):
        return registry[1 : registry.find("]")]
    return registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry


def is_loopback(registry: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1: docker lets these speak plain http without a flag
    (moby's default insecure registries)."""
    host = _hostname(registry)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
