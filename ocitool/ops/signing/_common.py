"""Helpers shared by the signing modules: strict base64, bounded JSON documents with typed field
access, RFC 8785 canonical JSON, and the hash algorithms signatures use.

Every fault becomes a :class:`~ocitool.errors.SignatureError` naming the file (``path``), the
field (a JSON pointer) and the format (``form``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any, Final

from cryptography.hazmat.primitives import hashes

from ocitool._io.jsondoc import load_json
from ocitool.errors import InvalidDocumentError, SignatureError, UnsupportedSignatureError

__all__ = [
    "HASHES",
    "Doc",
    "b64decode",
    "b64encode",
    "canonical_json",
    "load_document",
]

#: Hash algorithms by the names sigstore and Rekor use for them (lowercase).
HASHES: Final[Mapping[str, type[hashes.HashAlgorithm]]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

_URLSAFE: Final = str.maketrans("-_", "+/")


def b64encode(data: bytes) -> str:
    """Standard base64 with padding, as Go's ``base64.StdEncoding`` and ``encoding/json`` write it."""
    return base64.b64encode(data).decode("ascii")


def b64decode(
    text: object, *, what: str, path: str | None = None, form: str | None = None, lenient: bool = False
) -> bytes:
    """Decode standard base64 strictly (Go's ``StdEncoding``: CR and LF are skipped, nothing else).

    ``lenient`` also takes the URL-safe alphabet and missing padding, as protobuf's JSON mapping
    does for ``bytes`` fields (sigstore bundles). Raises SignatureError naming ``what``.
    """
    if not isinstance(text, str):
        raise SignatureError(
            f"expected a base64 string, got {type(text).__name__}", path=path, field=what, form=form
        )
    cleaned = text.replace("\r", "").replace("\n", "")
    if lenient:
        cleaned = cleaned.translate(_URLSAFE)
        cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise SignatureError("not valid base64", path=path, field=what, form=form) from None


def load_document(data: bytes, *, path: str, form: str) -> Doc:
    """Parse a bounded JSON document (4 MiB, depth 64) whose top level is an object."""
    try:
        doc = load_json(data, path=path)
    except InvalidDocumentError as exc:
        raise SignatureError(exc.message, path=path, field=exc.field, form=form) from None
    return Doc(_as_object(doc, path=path, pointer="", form=form), path=path, pointer="", form=form)


def _as_object(value: Any, *, path: str, pointer: str, form: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        got = "null" if value is None else type(value).__name__
        raise SignatureError(f"expected a JSON object, got {got}", path=path, field=pointer or "/", form=form)
    return value


class Doc:
    """A JSON object inside a document, with typed accessors that raise SignatureError naming the
    field's JSON pointer. ``get_*`` return None for an absent (or null) optional field."""

    __slots__ = ("form", "path", "pointer", "raw")

    def __init__(self, raw: Mapping[str, Any], *, path: str, pointer: str, form: str) -> None:
        self.raw = raw
        self.path = path
        self.pointer = pointer
        self.form = form

    def where(self, key: str) -> str:
        return f"{self.pointer}/{key}"

    def error(self, message: str, key: str | None = None) -> SignatureError:
        return SignatureError(
            message, path=self.path, field=self.where(key) if key else self.pointer or "/", form=self.form
        )

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def require_keys(self, allowed: Sequence[str], required: Sequence[str] = ()) -> None:
        """Refuse keys outside ``allowed`` and absent keys in ``required`` (strict formats)."""
        for key in self.raw:
            if key not in allowed:
                raise self.error(f"unexpected field {key!r}")
        for key in required:
            if key not in self.raw:
                raise self.error("missing", key)

    def _value(self, key: str, required: bool) -> Any:
        value = self.raw.get(key)
        if value is None and required:
            raise self.error("missing" if key not in self.raw else "is null", key)
        return value

    def obj(self, key: str) -> Doc:
        value = self._value(key, True)
        return Doc(
            _as_object(value, path=self.path, pointer=self.where(key), form=self.form),
            path=self.path,
            pointer=self.where(key),
            form=self.form,
        )

    def get_obj(self, key: str) -> Doc | None:
        return self.obj(key) if self.has(key) else None

    def text(self, key: str) -> str:
        value = self._value(key, True)
        if not isinstance(value, str):
            raise self.error(f"expected a string, got {type(value).__name__}", key)
        return value

    def get_text(self, key: str) -> str | None:
        return self.text(key) if self.has(key) else None

    def integer(self, key: str) -> int:
        """An integer, also from a decimal string (protobuf's JSON mapping writes int64 as strings)."""
        value = self._value(key, True)
        if isinstance(value, bool):
            raise self.error("expected an integer, got bool", key)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit() and len(value) <= 20:
            return int(value)
        raise self.error(f"expected an integer, got {value!r:.40}", key)

    def blob(self, key: str, *, lenient: bool = True) -> bytes:
        return b64decode(
            self._value(key, True), what=self.where(key), path=self.path, form=self.form, lenient=lenient
        )

    def get_blob(self, key: str, *, lenient: bool = True) -> bytes | None:
        return self.blob(key, lenient=lenient) if self.has(key) else None

    def objs(self, key: str, *, required: bool = False) -> list[Doc]:
        """The objects of an array field (an absent field is an empty list unless ``required``)."""
        value = self._value(key, required)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(f"expected an array, got {type(value).__name__}", key)
        return [
            Doc(
                _as_object(v, path=self.path, pointer=f"{self.where(key)}/{i}", form=self.form),
                path=self.path,
                pointer=f"{self.where(key)}/{i}",
                form=self.form,
            )
            for i, v in enumerate(value)
        ]


def _jcs_string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch < " ":
            short = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch)
            out.append(short if short is not None else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) canonical JSON of strings, integers, booleans, null, lists and objects, as
    Rekor signs its entries (``jsoncanonicalizer.Transform``): keys sorted by UTF-16 code units,
    no whitespace, ECMAScript string escaping. Integers must be exact in a double (|n| <= 2**53);
    floats are refused (nothing signed here holds one). Raises UnsupportedSignatureError."""
    parts: list[str] = []
    stack: list[Any] = [value]
    # An explicit stack (strings are emitted verbatim when popped as _Raw) keeps deep input
    # from exhausting Python's recursion limit.
    while stack:
        item = stack.pop()
        if isinstance(item, _Raw):
            parts.append(item.text)
        elif item is None:
            parts.append("null")
        elif item is True:
            parts.append("true")
        elif item is False:
            parts.append("false")
        elif isinstance(item, int):
            if abs(item) > 2**53:
                raise UnsupportedSignatureError(f"integer {item} is not exact in canonical JSON")
            parts.append(str(item))
        elif isinstance(item, str):
            parts.append(_jcs_string(item))
        elif isinstance(item, Mapping):
            keys = sorted(item, key=lambda k: str(k).encode("utf-16-be"))
            pending: list[Any] = [_Raw("{")]
            for i, k in enumerate(keys):
                pending.append(_Raw(("," if i else "") + _jcs_string(str(k)) + ":"))
                pending.append(item[k])
            pending.append(_Raw("}"))
            stack.extend(reversed(pending))
        elif isinstance(item, Sequence) and not isinstance(item, (bytes, bytearray)):
            pending = [_Raw("[")]
            for i, v in enumerate(item):
                if i:
                    pending.append(_Raw(","))
                pending.append(v)
            pending.append(_Raw("]"))
            stack.extend(reversed(pending))
        else:
            raise UnsupportedSignatureError(f"cannot canonicalize a {type(item).__name__}")
    return "".join(parts).encode("utf-8")


class _Raw:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text
