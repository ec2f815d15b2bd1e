"""A strict reader of ASN.1 DER, for the few structures ``cryptography`` does not parse for us:
RFC 3161 timestamp responses (CMS SignedData), Fulcio's UTF8String certificate extensions, and
the outer shape of a PKCS#8 private key.

Only DER is accepted: definite minimal lengths, single-octet tags (no high tag numbers). Every
fault raises :class:`DerError` (a ValueError) saying where; callers turn it into their own
typed error naming the file. Nothing recurses on input: callers walk one level at a time.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from ocitool._record import record

__all__ = [
    "BOOLEAN",
    "CONTEXT_0",
    "CONTEXT_1",
    "CONTEXT_PRIMITIVE_0",
    "GENERALIZED_TIME",
    "INTEGER",
    "NULL",
    "OCTET_STRING",
    "OID",
    "SEQUENCE",
    "SET",
    "UTF8_STRING",
    "DerError",
    "Tlv",
    "parse",
]

BOOLEAN: Final = 0x01
INTEGER: Final = 0x02
OCTET_STRING: Final = 0x04
NULL: Final = 0x05
OID: Final = 0x06
UTF8_STRING: Final = 0x0C
GENERALIZED_TIME: Final = 0x18
SEQUENCE: Final = 0x30
SET: Final = 0x31
CONTEXT_0: Final = 0xA0
CONTEXT_1: Final = 0xA1
CONTEXT_PRIMITIVE_0: Final = 0x80

_NAMES: Final = {
    BOOLEAN: "BOOLEAN",
    INTEGER: "INTEGER",
    OCTET_STRING: "OCTET STRING",
    NULL: "NULL",
    OID: "OBJECT IDENTIFIER",
    UTF8_STRING: "UTF8String",
    GENERALIZED_TIME: "GeneralizedTime",
    SEQUENCE: "SEQUENCE",
    SET: "SET",
    CONTEXT_0: "[0]",
    CONTEXT_1: "[1]",
    CONTEXT_PRIMITIVE_0: "[0] (primitive)",
}


class DerError(ValueError):
    """The bytes are not the DER structure expected."""


def _name(tag: int) -> str:
    return _NAMES.get(tag, f"tag 0x{tag:02x}")


@record(frozen=True, slots=True)
class Tlv:
    """One DER element: its tag octet, its content octets and its whole encoding (``raw``)."""

    tag: int
    content: bytes
    raw: bytes

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)

    def expect(self, tag: int, what: str) -> Tlv:
        """This element, if its tag is ``tag``; else DerError naming ``what``."""
        if self.tag != tag:
            raise DerError(f"{what}: expected {_name(tag)}, found {_name(self.tag)}")
        return self

    def children(self, what: str) -> list[Tlv]:
        """The elements inside a constructed element (one level)."""
        if not self.constructed:
            raise DerError(f"{what}: {_name(self.tag)} is not constructed")
        out: list[Tlv] = []
        offset = 0
        while offset < len(self.content):
            item, offset = _read(self.content, offset, what)
            out.append(item)
        return out

    def integer(self, what: str) -> int:
        self.expect(INTEGER, what)
        c = self.content
        if not c:
            raise DerError(f"{what}: empty INTEGER")
        if len(c) > 1 and ((c[0] == 0 and not c[1] & 0x80) or (c[0] == 0xFF and c[1] & 0x80)):
            raise DerError(f"{what}: INTEGER is not minimally encoded")
        return int.from_bytes(c, "big", signed=True)

    def oid(self, what: str) -> str:
        """The dotted form of an OBJECT IDENTIFIER."""
        self.expect(OID, what)
        c = self.content
        if not c or c[-1] & 0x80:
            raise DerError(f"{what}: truncated OBJECT IDENTIFIER")
        arcs: list[int] = []
        value = 0
        start = True
        for b in c:
            if start and b == 0x80:
                raise DerError(f"{what}: OBJECT IDENTIFIER arc is not minimally encoded")
            value = (value << 7) | (b & 0x7F)
            start = not b & 0x80
            if start:
                arcs.append(value)
                value = 0
        first = arcs[0]
        head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
        return ".".join(str(a) for a in head + arcs[1:])

    def octets(self, what: str) -> bytes:
        return self.expect(OCTET_STRING, what).content

    def utf8(self, what: str) -> str:
        self.expect(UTF8_STRING, what)
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError:
            raise DerError(f"{what}: UTF8String is not UTF-8") from None

    def boolean(self, what: str) -> bool:
        self.expect(BOOLEAN, what)
        if self.content not in (b"\x00", b"\xff"):
            raise DerError(f"{what}: BOOLEAN is not DER")
        return self.content == b"\xff"

    def generalized_time(self, what: str) -> dt.datetime:
        """A GeneralizedTime in DER form (``YYYYMMDDHHMMSS[.fff]Z``), as an aware UTC datetime."""
        self.expect(GENERALIZED_TIME, what)
        try:
            text = self.content.decode("ascii")
        except UnicodeDecodeError:
            raise DerError(f"{what}: GeneralizedTime is not ASCII") from None
        if len(text) < 15 or not text.endswith("Z") or not text[:14].isdigit():
            raise DerError(f"{what}: GeneralizedTime {text!r} is not YYYYMMDDHHMMSS[.f]Z")
        fraction = text[14:-1]
        micro = 0
        if fraction:
            digits = fraction[1:]
            if fraction[0] != "." or not digits.isdigit() or digits.endswith("0"):
                raise DerError(f"{what}: GeneralizedTime {text!r} has a malformed fraction")
            micro = int((digits + "000000")[:6])
        try:
            return dt.datetime(
                int(text[0:4]),
                int(text[4:6]),
                int(text[6:8]),
                int(text[8:10]),
                int(text[10:12]),
                int(text[12:14]),
                micro,
                tzinfo=dt.UTC,
            )
        except ValueError:
            raise DerError(f"{what}: GeneralizedTime {text!r} is not a valid time") from None


def _read(data: bytes, offset: int, what: str) -> tuple[Tlv, int]:
    start = offset
    if offset + 2 > len(data):
        raise DerError(f"{what}: truncated DER")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DerError(f"{what}: multi-octet DER tags are not supported")
    first = data[offset + 1]
    offset += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0:
            raise DerError(f"{what}: indefinite length (BER) is not DER")
        if count > 4:
            raise DerError(f"{what}: DER length of {count} octets is too large")
        if offset + count > len(data):
            raise DerError(f"{what}: truncated DER")
        length = int.from_bytes(data[offset : offset + count], "big")
        if length < 0x80 or data[offset] == 0:
            raise DerError(f"{what}: DER length is not minimally encoded")
        offset += count
    end = offset + length
    if end > len(data):
        raise DerError(f"{what}: truncated DER ({length} content octets declared, {len(data) - offset} left)")
    return Tlv(tag, data[offset:end], data[start:end]), end


def parse(data: bytes, what: str) -> Tlv:
    """``data`` as exactly one DER element (trailing bytes are an error)."""
    tlv, end = _read(data, 0, what)
    if end != len(data):
        raise DerError(f"{what}: {len(data) - end} trailing bytes after the DER element")
    return tlv
