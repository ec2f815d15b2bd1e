"""Docker image references: the distribution grammar and Docker's normalisation.

``alpine`` means ``docker.io/library/alpine:latest``; :func:`parse_normalized` applies that
rule (as ``reference.ParseNormalizedNamed``), :meth:`Reference.familiar` undoes it for display
(as ``reference.FamiliarString``), and :meth:`Reference.with_default_tag` adds ``latest`` (as
``reference.TagNameOnly``).
"""

from __future__ import annotations

import re
from typing import Final

from ocitool._record import record, replace
from ocitool.errors import InvalidReferenceError

__all__ = ["DEFAULT_DOMAIN", "Reference", "parse_normalized", "try_parse_normalized"]

DEFAULT_DOMAIN: Final = "docker.io"
_LEGACY_DOMAIN: Final = "index.docker.io"
_OFFICIAL_PREFIX: Final = "library/"
_NAME_MAX: Final = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_REFERENCE: Final = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$")
_HEX64: Final = re.compile(r"^[a-f0-9]{64}$")


@record(frozen=True, slots=True)
class Reference:
    """A fully qualified reference: ``domain/path[:tag][@digest]``."""

    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """``domain/path``, the repository."""
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    def familiar_name(self) -> str:
        """The repository as docker prints it: ``docker.io/library/`` dropped."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        path = self.path
        if path.startswith(_OFFICIAL_PREFIX) and "/" not in path[len(_OFFICIAL_PREFIX) :]:
            path = path[len(_OFFICIAL_PREFIX) :]
        return path

    def familiar(self) -> str:
        """The whole reference as docker prints it (``alpine:3.19``)."""
        out = self.familiar_name()
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    def with_default_tag(self) -> Reference:
        """``latest`` added when there is neither tag nor digest."""
        if self.tag or self.digest:
            return self
        return replace(self, tag="latest")


def _split_domain(name: str) -> tuple[str, str]:
    i = name.find("/")
    first = name[:i]
    if i == -1 or (not any(c in first for c in ".:") and first != "localhost" and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, name[i + 1 :]
    if domain == _LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = _OFFICIAL_PREFIX + remainder
    return domain, remainder


def parse_normalized(value: str) -> Reference:
    """Parse a reference as docker does for user input. Raises InvalidReferenceError."""
    if _HEX64.match(value):
        raise InvalidReferenceError(value, "cannot specify 64-byte hexadecimal strings")
    name_part = value.split("@", 1)[0]
    colon = name_part.rfind(":")
    if colon > name_part.rfind("/"):
        name_part = name_part[:colon]
    domain, remainder = _split_domain(name_part)
    if remainder.lower() != remainder:
        raise InvalidReferenceError(value, "repository name must be lowercase")
    rest = value[len(name_part) :]
    full = f"{domain}/{remainder}{rest}"
    m = _REFERENCE.match(full)
    if not m:
        raise InvalidReferenceError(value, "invalid reference format")
    if len(m.group(1)) > _NAME_MAX:
        raise InvalidReferenceError(value, f"repository name must not be more than {_NAME_MAX} characters")
    path = m.group(1)[len(domain) + 1 :]
    return Reference(domain=domain, path=path, tag=m.group(2) or "", digest=m.group(3) or "")


def try_parse_normalized(value: str) -> Reference | None:
    """:func:`parse_normalized`, or None when ``value`` is not a reference."""
    try:
        return parse_normalized(value)
    except InvalidReferenceError:
        return None
