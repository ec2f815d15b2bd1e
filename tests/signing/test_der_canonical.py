"""The DER reader and RFC 8785 canonical JSON."""

from __future__ import annotations

import pytest

from ocitool.errors import UnsupportedSignatureError
from ocitool.ops.signing import _der
from ocitool.ops.signing._common import b64decode, canonical_json


def test_der_reads_nested_structures() -> None:
    tlv = _der.parse(bytes.fromhex("300802010106032a0304"), "x")
    one, oid = tlv.children("x")
    assert one.integer("i") == 1
    assert oid.oid("o") == "1.2.3.4"
    assert _der.parse(bytes.fromhex("0603550403"), "cn").oid("cn") == "2.5.4.3"
    assert _der.parse(bytes.fromhex("020200ff"), "i").integer("i") == 255
    assert _der.parse(bytes.fromhex("0201ff"), "i").integer("i") == -1


@pytest.mark.parametrize(
    ("hex_", "message"),
    [
        ("30", "truncated"),
        ("3004020101", "truncated"),
        ("308100", "not minimally encoded"),
        ("3080", "indefinite"),
        ("3f0100", "multi-octet"),
        ("30850000000000", "too large"),
        ("02020001", "not minimally encoded"),
        ("020100" + "00", "trailing"),
    ],
)
def test_der_refuses_non_der(hex_: str, message: str) -> None:
    with pytest.raises(_der.DerError, match=message):
        tlv = _der.parse(bytes.fromhex(hex_), "x")
        tlv.integer("x")


def test_generalized_time() -> None:
    text = b"20240102030405.25Z"
    t = _der.parse(b"\x18" + bytes([len(text)]) + text, "t").generalized_time("t")
    assert t.isoformat() == "2024-01-02T03:04:05.250000+00:00"
    for bad in (b"20240102030405", b"2024010203040Z", b"20241302030405Z", b"20240102030405.50Z"):
        with pytest.raises(_der.DerError):
            _der.parse(b"\x18" + bytes([len(bad)]) + bad, "t").generalized_time("t")


def test_canonical_json_rfc8785() -> None:
    assert canonical_json({"b": 1, "a": [True, None, "x"]}) == b'{"a":[true,null,"x"],"b":1}'
    # keys sort by UTF-16 code units: U+1F600 (D83D DE00) before U+E000
    assert canonical_json({"\ue000": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\ue000":1}'.encode()
    assert canonical_json('a"\\\n\x01é</') == '"a\\"\\\\\\n\\u0001é</"'.encode()
    deep: object = 1
    for _ in range(10_000):
        deep = [deep]
    assert canonical_json(deep) == b"[" * 10_000 + b"1" + b"]" * 10_000
    with pytest.raises(UnsupportedSignatureError):
        canonical_json(1.5)
    with pytest.raises(UnsupportedSignatureError):
        canonical_json(2**60)


def test_base64_is_strict_unless_lenient() -> None:
    assert b64decode("aGk=", what="x") == b"hi"
    assert b64decode("aG\nk=", what="x") == b"hi"
    assert b64decode("aGk", what="x", lenient=True) == b"hi"
    assert b64decode("-_8", what="x", lenient=True) == b"\xfb\xff"
    for bad in ("aGk", "aG k=", "a", "-_8=", "é"):
        with pytest.raises(ValueError):
            b64decode(bad, what="x")
