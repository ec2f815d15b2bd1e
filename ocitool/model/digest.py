"""Content digests as the OCI descriptor grammar defines them, and streaming hashing.

A :class:`Digest` is ``algorithm:encoded``. Parsing follows the image-spec grammar::

    digest              ::= algorithm ":" encoded
    algorithm           ::= algorithm-component (algorithm-separator algorithm-component)*
    algorithm-component ::= [a-z0-9]+
    algorithm-separator ::= [+._-]
    encoded             ::= [a-zA-Z0-9=_-]+

and, for the registered algorithms (``sha256``, ``sha512``), the encoded part must be lowercase
hex of the right length. Anything else raises :class:`~ocitool.errors.InvalidDigestError`; a
digest is never trusted as a path component until it has parsed (the encoded part cannot hold
``/`` or ``..``).
"""

from __future__ import annotations

import hashlib
import re
from typing import IO, Final

from ocitool._record import record
from ocitool.errors import (
    DigestMismatchError,
    InvalidDigestError,
    SizeMismatchError,
    UnsupportedAlgorithmError,
)

__all__ = [
    "SHA256",
    "SHA512",
    "Digest",
    "Digester",
    "VerifyingReader",
    "digest_bytes",
    "digest_stream",
    "verified_digest",
]

SHA256: Final = "sha256"
SHA512: Final = "sha512"

_HEX_LENGTH: Final = {SHA256: 64, SHA512: 128}
_GRAMMAR: Final = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_HEX: Final = re.compile(r"^[a-f0-9]+$")
_CHUNK: Final = 1 << 20


@record(frozen=True, order=True, slots=True)
class Digest:
    """A parsed, validated digest. ``str(d)`` is ``algorithm:encoded``."""

    algorithm: str
    encoded: str

    @classmethod
    def parse(cls, value: object) -> Digest:
        """Parse ``algorithm:encoded``.

        Raises InvalidDigestError for anything off the grammar (including non-strings), and
        UnsupportedAlgorithmError for a grammatical digest whose algorithm is not sha256/sha512.
        """
        if isinstance(value, Digest):
            return value
        if not isinstance(value, str):
            raise InvalidDigestError(repr(value), "not a string")
        if not _GRAMMAR.match(value):
            raise InvalidDigestError(value, "does not match algorithm:encoded")
        algorithm, encoded = value.split(":", 1)
        expected = _HEX_LENGTH.get(algorithm)
        if expected is None:
            raise UnsupportedAlgorithmError(value, algorithm)
        if len(encoded) != expected or not _HEX.match(encoded):
            raise InvalidDigestError(value, f"{algorithm} needs {expected} lowercase hex characters")
        return cls(algorithm, encoded)

    @classmethod
    def from_hex(cls, encoded: str, algorithm: str = SHA256) -> Digest:
        """Validate a bare hex string (as in legacy archives' directory names)."""
        return cls.parse(f"{algorithm}:{encoded}")

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.encoded}"

    def __repr__(self) -> str:
        return f"Digest({str(self)!r})"

    @property
    def hex(self) -> str:
        """The encoded part (an alias that reads better for the hex algorithms)."""
        return self.encoded

    def short(self, length: int = 12) -> str:
        """The first ``length`` hex characters, as docker's truncated IDs."""
        return self.encoded[:length]

    def hasher(self) -> Digester:
        """A fresh :class:`Digester` for this digest's algorithm."""
        return Digester(self.algorithm)


class Digester:
    """Incremental hashing that yields a :class:`Digest`."""

    __slots__ = ("_algorithm", "_hash", "size")

    def __init__(self, algorithm: str = SHA256) -> None:
        if algorithm not in _HEX_LENGTH:
            raise UnsupportedAlgorithmError(f"{algorithm}:", algorithm)
        self._algorithm = algorithm
        self._hash = hashlib.new(algorithm)
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)
        self.size += len(data)

    def digest(self) -> Digest:
        return Digest(self._algorithm, self._hash.hexdigest())


def digest_bytes(data: bytes, algorithm: str = SHA256) -> Digest:
    """The digest of ``data``."""
    d = Digester(algorithm)
    d.update(data)
    return d.digest()


def digest_stream(stream: IO[bytes], algorithm: str = SHA256) -> tuple[Digest, int]:
    """Hash ``stream`` to EOF in fixed-size chunks; returns (digest, size). Memory is constant."""
    d = Digester(algorithm)
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    readinto = getattr(stream, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buf)
            if not n:
                break
            d.update(view[:n])
        else:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            d.update(chunk)
    return d.digest(), d.size


def verified_digest(stream: object) -> Digest | None:
    """The digest a self-verifying reader checks as it is read to its end (its
    ``verified_digest``), looking through buffered wrappers (``raw``); None for a plain stream.
    A copy from such a reader need not hash the bytes a second time."""
    for _ in range(4):
        found = getattr(stream, "verified_digest", None)
        if isinstance(found, Digest):
            return found
        stream = getattr(stream, "raw", None)
        if stream is None:
            break
    return None


class VerifyingReader:
    """Wrap a stream; hash what passes through; check digest and size at EOF.

    Reading past the declared size raises SizeMismatchError at once; reaching EOF early or with
    the wrong digest raises SizeMismatchError / DigestMismatchError from the ``read`` that hits
    EOF, so a consumer that reads to the end cannot miss corruption.
    """

    def __init__(
        self, stream: IO[bytes], expected: Digest, size: int | None = None, *, path: str | None = None
    ) -> None:
        self._stream = stream
        self._expected = expected
        self._size = size
        self._path = path
        self._digester = expected.hasher()
        self._done = False

    @property
    def verified_digest(self) -> Digest:
        """What this reader checks at EOF (see :func:`verified_digest`)."""
        return self._expected

    def read(self, n: int = -1) -> bytes:
        if self._done:
            return b""
        data = self._stream.read(n) if n is not None and n >= 0 else self._stream.read()
        if data:
            self._digester.update(data)
            if self._size is not None and self._digester.size > self._size:
                raise SizeMismatchError(str(self._expected), self._size, self._digester.size, path=self._path)
            if n is None or n < 0:
                self._finish()
            return data
        self._finish()
        return b""

    def readable(self) -> bool:
        return True

    def _finish(self) -> None:
        self._done = True
        if self._size is not None and self._digester.size != self._size:
            raise SizeMismatchError(str(self._expected), self._size, self._digester.size, path=self._path)
        actual = self._digester.digest()
        if actual != self._expected:
            raise DigestMismatchError(str(self._expected), str(actual), path=self._path)

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> VerifyingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
