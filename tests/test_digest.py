from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocitool.errors import (
    DigestMismatchError,
    InvalidDigestError,
    OcitoolError,
    SizeMismatchError,
    UnsupportedAlgorithmError,
)
from ocitool.model.digest import Digest, VerifyingReader, digest_bytes, digest_stream, verified_digest

EMPTY = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_parse_and_format() -> None:
    d = Digest.parse(EMPTY)
    assert d.algorithm == "sha256"
    assert str(d) == EMPTY
    assert d.short() == "e3b0c44298fc"
    assert digest_bytes(b"") == d


def test_sha512() -> None:
    d = digest_bytes(b"abc", "sha512")
    assert str(d) == "sha512:" + hashlib.sha512(b"abc").hexdigest()
    assert Digest.parse(str(d)) == d


@pytest.mark.parametrize(
    "value",
    [
        "",
        "sha256",
        "sha256:",
        ":abc",
        "sha256:" + "A" * 64,  # registered algorithms need lowercase hex
        "sha256:" + "a" * 63,
        "sha256:" + "a" * 65,
        "sha256:../../etc/passwd",
        "sha256:" + "a" * 32 + "/" + "a" * 31,
        "SHA256:" + "a" * 64,
        "sha256:" + "g" * 64,
        "sha512:" + "a" * 64,
    ],
)
def test_invalid_digests_are_typed_errors(value: str) -> None:
    with pytest.raises(InvalidDigestError) as info:
        Digest.parse(value)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, OcitoolError)


def test_unknown_algorithm_is_distinct() -> None:
    with pytest.raises(UnsupportedAlgorithmError) as info:
        Digest.parse("md5:" + "a" * 32)
    assert info.value.algorithm == "md5"


def test_non_string_is_rejected() -> None:
    with pytest.raises(InvalidDigestError):
        Digest.parse(42)


@given(st.binary(max_size=4096))
def test_stream_hash_matches_hashlib(data: bytes) -> None:
    digest, size = digest_stream(io.BytesIO(data))
    assert size == len(data)
    assert digest.encoded == hashlib.sha256(data).hexdigest()


@given(st.text(max_size=80))
def test_parse_never_raises_anything_but_invalid_digest(text: str) -> None:
    try:
        d = Digest.parse(text)
    except InvalidDigestError:
        return
    assert str(d) == text
    assert "/" not in d.encoded and ".." not in d.encoded


def test_verifying_reader_accepts_good_content() -> None:
    data = b"hello" * 1000
    reader = VerifyingReader(io.BytesIO(data), digest_bytes(data), len(data))
    got = b""
    while chunk := reader.read(333):
        got += chunk
    assert got == data


def test_verifying_reader_rejects_wrong_digest() -> None:
    reader = VerifyingReader(io.BytesIO(b"evil"), digest_bytes(b"good"), 4)
    with pytest.raises(DigestMismatchError) as info:
        reader.read()
    assert info.value.digest == str(digest_bytes(b"good"))


def test_verifying_reader_rejects_long_and_short_content() -> None:
    with pytest.raises(SizeMismatchError):
        VerifyingReader(io.BytesIO(b"12345"), digest_bytes(b"1234"), 4).read(10)
    with pytest.raises(SizeMismatchError):
        VerifyingReader(io.BytesIO(b"123"), digest_bytes(b"123"), 4).read()


def test_verified_digest_sees_through_buffers_and_a_lying_source_still_fails(tmp_path: Path) -> None:
    from ocitool.errors import DigestMismatchError
    from ocitool.formats.oci.write import OCIDirWriter

    good = b"layer bytes" * 1000
    digest = digest_bytes(good)
    assert verified_digest(io.BytesIO(good)) is None
    reader = VerifyingReader(io.BytesIO(good), digest, len(good))
    assert verified_digest(reader) == digest
    assert verified_digest(io.BufferedReader(io.BytesIO(good))) is None

    # a self-verifying source is copied without a second hash, and its own check still stops a
    # wrong blob: nothing is published under the digest
    bad = bytearray(good)
    bad[5] ^= 1
    with OCIDirWriter(str(tmp_path / "layout")) as writer:
        with pytest.raises(DigestMismatchError):
            writer.put_copy(
                digest,
                len(good),
                lambda: VerifyingReader(io.BytesIO(bytes(bad)), digest, len(good)),
                where="test",
            )
        assert not writer.has(digest)
        writer.put_copy(
            digest, len(good), lambda: VerifyingReader(io.BytesIO(good), digest, len(good)), where="t"
        )
        assert writer.has(digest)
