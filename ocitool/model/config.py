"""The image configuration as moby v28's ``image`` package models it.

:class:`ImageConfig` is moby's ``image.Image`` (with every ``V1Image`` field), read from a
config blob the way ``image.NewFromJSON`` reads it and written back the way
``Image.MarshalJSON`` writes it. The same JSON is an OCI image config, so OCI configs parse
too. Around it: :class:`ContainerConfig` (``container.Config``), :class:`HealthConfig`,
:class:`RootFS` with moby's ChainID (``layer.CreateChainID``), :class:`History`
(``ocispec.History``), :class:`ChildConfig` and :meth:`ImageConfig.new_child`
(``NewChildImage``), and :func:`validate_for_store` (the checks of ``store.Create``).

Decoding follows Go's ``encoding/json`` into those structs:

* object keys match field names exactly or, failing that, case-insensitively (``RootFS``
  fills ``rootfs``); keys no field claims are kept, in document order, as ``unknown``;
* ``null`` leaves a string, number or boolean at its zero value and makes a pointer, slice or
  map nil; ``null`` inside a string list or as a label value reads as ``""``;
* numbers for integer fields must be integer literals within int64;
* ``Cmd``, ``Entrypoint`` and ``Shell`` (``strslice.StrSlice``) take a string or an array;
* a wrong JSON type anywhere raises :class:`~ocitool.errors.InvalidConfigError` whose
  ``field`` is the JSON pointer of the offending value (``/config/Env/2``).

Where this deliberately differs from moby (each is stricter or documented on the member):
``rootfs.diff_ids`` entries must be valid sha256/sha512 digests (moby stores any string, so
its own store tests use bare hex); invalid UTF-8, a byte-order mark, ``NaN``/``Infinity`` and
numbers too large for a float are refused (Go replaces invalid UTF-8 and accepts huge numbers
in fields it skips); when one field is named twice (``rootfs`` and ``RootFS``) the last one
wins outright, where Go would merge two objects into one struct.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from ocitool import _record
from ocitool._go import json as _gojson
from ocitool._go.strings import simple_lower, simple_upper
from ocitool._io.jsondoc import load_json
from ocitool._record import field, record
from ocitool.errors import InvalidConfigError, InvalidDigestError, InvalidDocumentError
from ocitool.model.digest import Digest, digest_bytes
from ocitool.model.platform import Platform, host_architecture, host_os
from ocitool.model.timestamp import Timestamp

__all__ = [
    "DOCKER_VERSION",
    "EMPTY_LAYER_DIFF_ID",
    "OCI_CONFIG_FIELDS",
    "json_kind",
    "TYPE_LAYERS",
    "ChildConfig",
    "ContainerConfig",
    "HealthConfig",
    "History",
    "ImageConfig",
    "RootFS",
    "chain_id",
    "chain_ids",
    "validate_for_store",
]

TYPE_LAYERS: Final = "layers"
"""``image.TypeLayers``: the only rootfs type moby writes."""

EMPTY_LAYER_DIFF_ID: Final = Digest.parse(
    "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
)
"""``layer.DigestSHA256EmptyTar``: the DiffID of an empty tar (1024 zero bytes). A child whose
DiffID is this one adds no layer (``layer.IsEmpty``)."""

DOCKER_VERSION: Final = "28.3.0"
"""What :meth:`ImageConfig.new_child` writes as ``docker_version`` unless told otherwise
(moby writes ``dockerversion.Version``, its own release)."""

_BOM: Final = b"\xef\xbb\xbf"
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1


# --- Go-style JSON decoding helpers --------------------------------------------------------


def json_kind(value: Any) -> str:
    """A decoded JSON value's kind as JSON names it: null, boolean, number, string, array, object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _ptr(base: str, key: str | int) -> str:
    """Extend a JSON pointer (RFC 6901 escaping)."""
    return f"{base}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _fold(name: str) -> str:
    """Go's ``encoding/json`` key folding (``foldName``): ASCII letters upper-cased, other
    runes ``unicode.ToUpper(unicode.ToLower(r))`` with Go's simple one-rune mappings."""
    return "".join(ch.upper() if ch < "\x80" else simple_upper(simple_lower(ch)) for ch in name)


def _go_text(value: str) -> str:
    # json.loads keeps a lone surrogate escape (\ud800) as is; Go decodes it to U+FFFD.
    return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value


def _check_finite(doc: Any, *, path: str | None) -> None:
    """Refuse NaN and infinities: Go's scanner rejects the literals Python's json accepts."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            raise InvalidConfigError(
                "not valid JSON: NaN, Infinity or a number out of float range", path=path
            )
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


@record(frozen=True, slots=True)
class _Ctx:
    """What error reporting needs while decoding one document."""

    path: str | None

    def error(self, message: str, pointer: str) -> InvalidConfigError:
        return InvalidConfigError(message, path=self.path, field=pointer or None)

    def type_error(self, value: Any, go_type: str, pointer: str) -> InvalidConfigError:
        return self.error(f"cannot unmarshal {json_kind(value)} into Go value of type {go_type}", pointer)


_Decoder = Callable[[_Ctx, Any, str], Any]


class _Fields:
    """A Go struct's JSON fields: name -> decoder, plus the folded-name index Go matches with."""

    __slots__ = ("decoders", "folded", "go_type")

    def __init__(self, go_type: str, decoders: dict[str, _Decoder]) -> None:
        self.go_type = go_type
        self.decoders = decoders
        self.folded = {_fold(name): name for name in decoders}

    def decode(self, ctx: _Ctx, doc: Any, pointer: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(decoded known fields by JSON name, unknown members in document order)."""
        if not isinstance(doc, dict):
            raise ctx.type_error(doc, self.go_type, pointer)
        values: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        for key, value in doc.items():
            name = key if key in self.decoders else self.folded.get(_fold(key))
            if name is None:
                unknown[key] = value
            else:
                values[name] = self.decoders[name](ctx, value, _ptr(pointer, key))
        return values, unknown


def _d_str(ctx: _Ctx, value: Any, pointer: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ctx.type_error(value, "string", pointer)
    return _go_text(value)


def _d_bool(ctx: _Ctx, value: Any, pointer: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ctx.type_error(value, "bool", pointer)
    return value


def _d_int64(ctx: _Ctx, value: Any, pointer: str) -> int:
    if value is None:
        return 0
    if isinstance(value, float):
        # Python reads 1.0 and 1e3 as floats; Go's ParseInt refuses those literals outright.
        raise ctx.error(f"cannot unmarshal number {value!r} into Go value of type int64", pointer)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.type_error(value, "int64", pointer)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ctx.error(f"number {value} overflows int64", pointer)
    return value


def _d_opt_int64(ctx: _Ctx, value: Any, pointer: str) -> int | None:
    return None if value is None else _d_int64(ctx, value, pointer)


def _d_str_list(ctx: _Ctx, value: Any, pointer: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ctx.type_error(value, "[]string", pointer)
    return [_d_str(ctx, item, _ptr(pointer, i)) for i, item in enumerate(value)]


def _d_strslice(ctx: _Ctx, value: Any, pointer: str) -> list[str] | None:
    # strslice.StrSlice.UnmarshalJSON: an array of strings, else a single string.
    if isinstance(value, str):
        return [_go_text(value)]
    if value is not None and not isinstance(value, list):
        raise ctx.type_error(value, "strslice.StrSlice (a string or an array of strings)", pointer)
    return _d_str_list(ctx, value, pointer)


def _d_str_map(ctx: _Ctx, value: Any, pointer: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ctx.type_error(value, "map[string]string", pointer)
    return {_go_text(k): _d_str(ctx, v, _ptr(pointer, k)) for k, v in value.items()}


def _d_set(ctx: _Ctx, value: Any, pointer: str) -> list[str] | None:
    """A ``map[string]struct{}`` (Volumes, ExposedPorts): the keys; members must be objects."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ctx.type_error(value, "map[string]struct {}", pointer)
    keys: dict[str, None] = {}
    for k, v in value.items():
        if v is not None and not isinstance(v, dict):
            raise ctx.type_error(v, "struct {}", _ptr(pointer, k))
        keys[_go_text(k)] = None
    return list(keys)


def _d_timestamp(ctx: _Ctx, value: Any, pointer: str) -> Timestamp | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ctx.error("Time.UnmarshalJSON: input is not a JSON string", pointer)
    try:
        return Timestamp.parse(value)
    except InvalidDocumentError as exc:
        raise ctx.error(exc.message, pointer) from None


def _d_diff_ids(ctx: _Ctx, value: Any, pointer: str) -> list[Digest]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ctx.type_error(value, "[]layer.DiffID", pointer)
    out: list[Digest] = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ctx.type_error(item, "layer.DiffID (a digest string)", _ptr(pointer, i))
        try:
            out.append(Digest.parse(item))
        except InvalidDigestError as exc:
            raise ctx.error(f"invalid diff ID: {exc.message}", _ptr(pointer, i)) from None
    return out


# --- HealthConfig --------------------------------------------------------------------------


@record(frozen=True, slots=True)
class HealthConfig:
    """``container.HealthConfig`` (= docker-image-spec ``HealthcheckConfig``).

    Durations are integer nanoseconds, as in the JSON. ``test`` is ``[]`` to inherit,
    ``["NONE"]`` to disable, ``["CMD", ...]`` or ``["CMD-SHELL", cmd]``. ``unknown`` holds
    members Go would drop; it takes no part in hashing.
    """

    test: tuple[str, ...] = ()
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0
    unknown: dict[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def from_json(cls, doc: Any, *, path: str | None = None, pointer: str = "") -> HealthConfig:
        """Decode a Healthcheck object (``null`` is the zero one); InvalidConfigError names
        the bad member's pointer."""
        decoded = _d_health(_Ctx(path), doc, pointer)
        return decoded if decoded is not None else cls()

    def to_json(self, *, keep_unknown: bool = True) -> dict[str, Any]:
        """Go's encoding: every field is omitempty, in struct order Test, Interval, Timeout,
        StartPeriod, StartInterval, Retries; then ``unknown`` when ``keep_unknown``."""
        out: dict[str, Any] = {}
        if self.test:
            out["Test"] = list(self.test)
        for name, value in (
            ("Interval", self.interval),
            ("Timeout", self.timeout),
            ("StartPeriod", self.start_period),
            ("StartInterval", self.start_interval),
            ("Retries", self.retries),
        ):
            if value:
                out[name] = value
        if keep_unknown:
            out.update(self.unknown)
        return out


_HEALTH_FIELDS: Final = _Fields(
    "container.HealthConfig",
    {
        "Test": _d_str_list,
        "Interval": _d_int64,
        "Timeout": _d_int64,
        "StartPeriod": _d_int64,
        "StartInterval": _d_int64,
        "Retries": _d_int64,
    },
)


def _d_health(ctx: _Ctx, value: Any, pointer: str) -> HealthConfig | None:
    if value is None:
        return None
    v, unknown = _HEALTH_FIELDS.decode(ctx, value, pointer)
    return HealthConfig(
        test=tuple(v.get("Test") or ()),
        interval=v.get("Interval", 0),
        timeout=v.get("Timeout", 0),
        start_period=v.get("StartPeriod", 0),
        start_interval=v.get("StartInterval", 0),
        retries=v.get("Retries", 0),
        unknown=unknown,
    )


# --- ContainerConfig -----------------------------------------------------------------------

# container.Config in struct order: (JSON name, decoder, zero value, omitempty).
_CONFIG_SPEC: Final[tuple[tuple[str, _Decoder, Any, bool], ...]] = (
    ("Hostname", _d_str, "", False),
    ("Domainname", _d_str, "", False),
    ("User", _d_str, "", False),
    ("AttachStdin", _d_bool, False, False),
    ("AttachStdout", _d_bool, False, False),
    ("AttachStderr", _d_bool, False, False),
    ("ExposedPorts", _d_set, None, True),
    ("Tty", _d_bool, False, False),
    ("OpenStdin", _d_bool, False, False),
    ("StdinOnce", _d_bool, False, False),
    ("Env", _d_str_list, None, False),
    ("Cmd", _d_strslice, None, False),
    ("Healthcheck", _d_health, None, True),
    ("ArgsEscaped", _d_bool, False, True),
    ("Image", _d_str, "", False),
    ("Volumes", _d_set, None, False),
    ("WorkingDir", _d_str, "", False),
    ("Entrypoint", _d_strslice, None, False),
    ("NetworkDisabled", _d_bool, False, True),
    ("MacAddress", _d_str, "", True),
    ("OnBuild", _d_str_list, None, False),
    ("Labels", _d_str_map, None, False),
    ("StopSignal", _d_str, "", True),
    ("StopTimeout", _d_opt_int64, None, True),
    ("Shell", _d_strslice, None, True),
)
_CONFIG_FIELDS: Final = _Fields("container.Config", {name: dec for name, dec, _, _ in _CONFIG_SPEC})

# dockerspec.DockerOCIImageConfig as `docker image inspect` prints it (API v1.50, Engine v28):
# the embedded ocispec.ImageConfig (image-spec v1.1) first -- User, ExposedPorts, Env,
# Entrypoint, Cmd, Volumes, WorkingDir, Labels, StopSignal, ArgsEscaped -- then the embedded
# DockerOCIImageConfigExt -- Healthcheck, OnBuild, Shell. Every one of them is omitempty.
OCI_CONFIG_FIELDS: Final = (
    "User",
    "ExposedPorts",
    "Env",
    "Entrypoint",
    "Cmd",
    "Volumes",
    "WorkingDir",
    "Labels",
    "StopSignal",
    "ArgsEscaped",
    "Healthcheck",
    "OnBuild",
    "Shell",
)


def _empty(value: Any) -> bool:
    """Go's omitempty test for the kinds container.Config uses (a pointer is empty only if nil)."""
    if value is None or value is False or value == "":
        return True
    return isinstance(value, (list, dict)) and not value


class ContainerConfig:
    """moby's ``container.Config`` (an image's ``config`` / ``container_config``).

    Built from the JSON object (a mapping) with Go's decoding rules; ``raw`` is that mapping
    as given, so members no field claims survive (also listed in ``unknown``). Instances are
    treated as immutable: derive changed copies with :meth:`updated`. Two configs are equal
    when they encode to the same JSON (:meth:`to_json`).
    """

    __slots__ = ("_raw", "_unknown", "_v")

    def __init__(
        self, raw: Mapping[str, Any] | None = None, *, path: str | None = None, pointer: str = ""
    ) -> None:
        """Decode ``raw`` (``None`` is Go's zero Config). InvalidConfigError names the bad member
        by its JSON pointer, prefixed with ``pointer`` (where this object sits in its document)."""
        ctx = _Ctx(path)
        if raw is not None and not isinstance(raw, Mapping):
            raise ctx.type_error(raw, "container.Config", pointer)
        self._raw: dict[str, Any] = {} if raw is None else dict(raw)
        values, self._unknown = _CONFIG_FIELDS.decode(ctx, self._raw, pointer)
        self._v: dict[str, Any] = {name: values.get(name, zero) for name, _, zero, _ in _CONFIG_SPEC}

    @classmethod
    def from_dict(
        cls, raw: Mapping[str, Any] | None, *, path: str | None = None, pointer: str = ""
    ) -> ContainerConfig:
        """Same as the constructor; reads better at call sites."""
        return cls(raw, path=path, pointer=pointer)

    # --- raw access ---------------------------------------------------------------------

    @property
    def raw(self) -> dict[str, Any]:
        """The JSON object this config was built from (do not mutate it)."""
        return self._raw

    @property
    def unknown(self) -> dict[str, Any]:
        """Members no container.Config field claims, in document order."""
        return dict(self._unknown)

    # --- typed accessors ----------------------------------------------------------------

    @property
    def hostname(self) -> str:
        return str(self._v["Hostname"])

    @property
    def domainname(self) -> str:
        return str(self._v["Domainname"])

    @property
    def user(self) -> str:
        return str(self._v["User"])

    @property
    def attach_stdin(self) -> bool:
        return bool(self._v["AttachStdin"])

    @property
    def attach_stdout(self) -> bool:
        return bool(self._v["AttachStdout"])

    @property
    def attach_stderr(self) -> bool:
        return bool(self._v["AttachStderr"])

    @property
    def exposed_ports(self) -> list[str]:
        """Port keys such as ``80/tcp``, sorted (Go's map order when encoding)."""
        return sorted(self._v["ExposedPorts"] or ())

    @property
    def tty(self) -> bool:
        return bool(self._v["Tty"])

    @property
    def open_stdin(self) -> bool:
        return bool(self._v["OpenStdin"])

    @property
    def stdin_once(self) -> bool:
        return bool(self._v["StdinOnce"])

    @property
    def env(self) -> list[str]:
        """``KEY=value`` entries in order; ``[]`` when absent or null."""
        return list(self._v["Env"] or ())

    @property
    def cmd(self) -> list[str] | None:
        """The command; ``None`` when absent or null (which differs from ``[]`` on output)."""
        value = self._v["Cmd"]
        return None if value is None else list(value)

    @property
    def healthcheck(self) -> HealthConfig | None:
        value: HealthConfig | None = self._v["Healthcheck"]
        return value

    @property
    def args_escaped(self) -> bool:
        return bool(self._v["ArgsEscaped"])

    @property
    def image(self) -> str:
        return str(self._v["Image"])

    @property
    def volumes(self) -> list[str]:
        """Volume paths, sorted."""
        return sorted(self._v["Volumes"] or ())

    @property
    def working_dir(self) -> str:
        return str(self._v["WorkingDir"])

    @property
    def entrypoint(self) -> list[str] | None:
        """The entrypoint; ``None`` when absent or null."""
        value = self._v["Entrypoint"]
        return None if value is None else list(value)

    @property
    def network_disabled(self) -> bool:
        return bool(self._v["NetworkDisabled"])

    @property
    def mac_address(self) -> str:
        return str(self._v["MacAddress"])

    @property
    def on_build(self) -> list[str]:
        return list(self._v["OnBuild"] or ())

    @property
    def labels(self) -> dict[str, str]:
        """Labels with keys sorted; ``{}`` when absent or null."""
        return dict(sorted((self._v["Labels"] or {}).items()))

    @property
    def stop_signal(self) -> str:
        return str(self._v["StopSignal"])

    @property
    def stop_timeout(self) -> int | None:
        value: int | None = self._v["StopTimeout"]
        return value

    @property
    def shell(self) -> list[str]:
        return list(self._v["Shell"] or ())

    # --- encoding -----------------------------------------------------------------------

    @staticmethod
    def _encode(name: str, value: Any, keep_unknown: bool) -> Any:
        if value is None:
            return None
        if name in ("ExposedPorts", "Volumes"):
            return {key: {} for key in sorted(value)}
        if name == "Labels":
            return dict(sorted(value.items()))
        if name == "Healthcheck":
            return value.to_json(keep_unknown=keep_unknown)
        if isinstance(value, list):
            return list(value)
        return value

    def to_json(self, *, keep_unknown: bool = True) -> dict[str, Any]:
        """The object Go's ``json.Marshal(container.Config)`` writes: struct field order, Go's
        omitempty (nil ``Env``/``Cmd``/``Volumes``/``Labels`` are ``null``, never dropped), map
        keys sorted. ``unknown`` members follow, in document order, when ``keep_unknown``."""
        out: dict[str, Any] = {}
        for name, _, _, omitempty in _CONFIG_SPEC:
            value = self._v[name]
            if omitempty and _empty(value):
                continue
            out[name] = self._encode(name, value, keep_unknown)
        if keep_unknown:
            out.update(self._unknown)
        return out

    def to_oci_json(self) -> dict[str, Any]:
        """The ``Config`` object of ``docker image inspect`` (API v1.50): the fields of
        ``dockerspec.DockerOCIImageConfig`` in its order, each omitted when empty."""
        out: dict[str, Any] = {}
        for name in OCI_CONFIG_FIELDS:
            value = self._v[name]
            if not _empty(value):
                out[name] = self._encode(name, value, False)
        return out

    def updated(self, changes: Mapping[str, Any]) -> ContainerConfig:
        """A copy with members replaced by JSON values keyed by Go field name (``{"Cmd": [...]}``).

        A member that names the same field under another spelling is dropped, so the change
        is the one that counts. The result is decoded afresh (InvalidConfigError as usual).
        """
        raw = dict(self._raw)
        for key, value in changes.items():
            target = _fold(key)
            for existing in [k for k in raw if _fold(k) == target]:
                del raw[existing]
            raw[key] = value
        return ContainerConfig(raw)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContainerConfig):
            return NotImplemented
        return self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return f"ContainerConfig({self.to_json()!r})"


def _d_container_config(ctx: _Ctx, value: Any, pointer: str) -> ContainerConfig:
    # V1Image.ContainerConfig is a struct, not a pointer: null leaves it at the zero Config.
    if value is None:
        return ContainerConfig()
    if not isinstance(value, dict):
        raise ctx.type_error(value, "container.Config", pointer)
    return ContainerConfig(value, path=ctx.path, pointer=pointer)


def _d_container_config_ptr(ctx: _Ctx, value: Any, pointer: str) -> ContainerConfig | None:
    return None if value is None else _d_container_config(ctx, value, pointer)


# --- RootFS and ChainIDs -------------------------------------------------------------------


def chain_ids(diff_ids: Iterable[Digest | str]) -> list[Digest]:
    """The ChainID of every prefix of ``diff_ids``, as moby's ``layer.CreateChainID``.

    ``chain(1) = diff_id(1)``; ``chain(n) = sha256(str(chain(n-1)) + " " + str(diff_id(n)))``.
    ``result[i] == chain_id(diff_ids[: i + 1])``. Strings are parsed as digests first.
    """
    out: list[Digest] = []
    for item in diff_ids:
        diff_id = Digest.parse(item)
        out.append(diff_id if not out else digest_bytes(f"{out[-1]} {diff_id}".encode("ascii")))
    return out


def chain_id(diff_ids: Iterable[Digest | str]) -> Digest | None:
    """The ChainID of the top layer, or ``None`` for no layers (moby's empty ChainID)."""
    ids = chain_ids(diff_ids)
    return ids[-1] if ids else None


@record(slots=True)
class RootFS:
    """moby's ``image.RootFS``: ``type`` (``layers``) and the layers' DiffIDs, bottom first.

    The default is ``NewRootFS()``: type ``layers``, no layers. ``unknown`` holds members Go
    would drop.
    """

    type: str = TYPE_LAYERS
    diff_ids: list[Digest] = field(default_factory=list)
    unknown: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, doc: Any, *, path: str | None = None, pointer: str = "") -> RootFS:
        """Decode a rootfs object; every DiffID must be a valid digest (InvalidConfigError
        with the entry's pointer otherwise, e.g. ``/rootfs/diff_ids/3``)."""
        v, unknown = _ROOTFS_FIELDS.decode(_Ctx(path), doc, pointer)
        return cls(type=v.get("type", ""), diff_ids=v.get("diff_ids", []), unknown=unknown)

    def append(self, diff_id: Digest | str) -> None:
        """Add a layer on top (``RootFS.Append``)."""
        self.diff_ids.append(Digest.parse(diff_id))

    def clone(self) -> RootFS:
        """An independent copy (``RootFS.Clone``)."""
        return RootFS(type=self.type, diff_ids=list(self.diff_ids), unknown=dict(self.unknown))

    def chain_id(self) -> Digest | None:
        """The top layer's ChainID, ``None`` without layers (``RootFS.ChainID`` off Windows)."""
        return chain_id(self.diff_ids)

    def chain_ids(self) -> list[Digest]:
        """The ChainID after each layer, bottom first."""
        return chain_ids(self.diff_ids)

    def to_json(self, *, keep_unknown: bool = True) -> dict[str, Any]:
        """``{"type": ..., "diff_ids": [...]}``; ``diff_ids`` is omitempty in moby's struct."""
        out: dict[str, Any] = {"type": self.type}
        if self.diff_ids:
            out["diff_ids"] = [str(d) for d in self.diff_ids]
        if keep_unknown:
            out.update(self.unknown)
        return out


_ROOTFS_FIELDS: Final = _Fields("image.RootFS", {"type": _d_str, "diff_ids": _d_diff_ids})


def _d_rootfs(ctx: _Ctx, value: Any, pointer: str) -> RootFS | None:
    if value is None:
        return None
    v, unknown = _ROOTFS_FIELDS.decode(ctx, value, pointer)
    return RootFS(type=v.get("type", ""), diff_ids=v.get("diff_ids", []), unknown=unknown)


# --- History -------------------------------------------------------------------------------


@record(slots=True)
class History:
    """One ``history`` entry (moby's ``image.History`` = ``ocispec.History``).

    ``empty_layer`` marks an entry that added no layer; every other entry owns the next
    DiffID in ``rootfs.diff_ids``.
    """

    created: Timestamp | None = None
    created_by: str = ""
    author: str = ""
    comment: str = ""
    empty_layer: bool = False
    unknown: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(
        cls,
        author: str,
        comment: str,
        created_by: str,
        empty_layer: bool,
        *,
        created: Timestamp | None = None,
    ) -> History:
        """``image.NewHistory``: an entry stamped with ``created`` or else the current UTC time."""
        return cls(
            created=created if created is not None else Timestamp.now(),
            created_by=created_by,
            author=author,
            comment=comment,
            empty_layer=empty_layer,
        )

    @classmethod
    def from_json(cls, doc: Any, *, path: str | None = None, pointer: str = "") -> History:
        """Decode one entry (``null`` is the zero entry); InvalidConfigError names bad members."""
        return _d_history(_Ctx(path), doc, pointer)

    def to_json(self, *, keep_unknown: bool = True) -> dict[str, Any]:
        """``ocispec.History`` order, all omitempty: created, created_by, author, comment,
        empty_layer. Raises InvalidDocumentError for a ``created`` Go cannot encode."""
        out: dict[str, Any] = {}
        if self.created is not None:
            out["created"] = self.created.to_json()
        if self.created_by:
            out["created_by"] = self.created_by
        if self.author:
            out["author"] = self.author
        if self.comment:
            out["comment"] = self.comment
        if self.empty_layer:
            out["empty_layer"] = True
        if keep_unknown:
            out.update(self.unknown)
        return out


_HISTORY_FIELDS: Final = _Fields(
    "ocispec.History",
    {
        "created": _d_timestamp,
        "created_by": _d_str,
        "author": _d_str,
        "comment": _d_str,
        "empty_layer": _d_bool,
    },
)


def _d_history(ctx: _Ctx, value: Any, pointer: str) -> History:
    if value is None:
        return History()
    v, unknown = _HISTORY_FIELDS.decode(ctx, value, pointer)
    return History(
        created=v.get("created"),
        created_by=v.get("created_by", ""),
        author=v.get("author", ""),
        comment=v.get("comment", ""),
        empty_layer=v.get("empty_layer", False),
        unknown=unknown,
    )


def _d_history_list(ctx: _Ctx, value: Any, pointer: str) -> list[History]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ctx.type_error(value, "[]image.History", pointer)
    return [_d_history(ctx, item, _ptr(pointer, i)) for i, item in enumerate(value)]


# --- ImageConfig ---------------------------------------------------------------------------

# image.Image's JSON fields, V1Image's first. V1Image.Parent is shadowed by Image.Parent (the
# shallower field wins in Go), so "parent" appears once.
_IMAGE_FIELDS: Final = _Fields(
    "image.Image",
    {
        "id": _d_str,
        "parent": _d_str,
        "comment": _d_str,
        "created": _d_timestamp,
        "container": _d_str,
        "container_config": _d_container_config,
        "docker_version": _d_str,
        "author": _d_str,
        "config": _d_container_config_ptr,
        "architecture": _d_str,
        "variant": _d_str,
        "os": _d_str,
        "Size": _d_int64,
        "rootfs": _d_rootfs,
        "history": _d_history_list,
        "os.version": _d_str,
        "os.features": _d_str_list,
    },
)


@record(frozen=True, slots=True)
class ChildConfig:
    """``image.ChildConfig``: what a commit or build step adds to a parent image.

    ``diff_id`` ``None`` (or :data:`EMPTY_LAYER_DIFF_ID`) means the step added no layer.
    """

    container_id: str = ""
    author: str = ""
    comment: str = ""
    diff_id: Digest | None = None
    container_config: ContainerConfig = field(default_factory=ContainerConfig)
    config: ContainerConfig | None = None


@record(kw_only=True, slots=True)
class ImageConfig:
    """moby's ``image.Image``: an image config with every legacy ``V1Image`` field.

    Field names follow the JSON keys, except ``v1_id`` (JSON ``id``, the legacy V1 ID — the
    content-addressable ID is :attr:`id`) and ``size`` (JSON ``Size``). ``unknown`` holds
    top-level members no field claims, in document order. ``raw`` (the bytes as read) and
    ``doc`` (their parse) are kept by :meth:`from_json`; they, and ``computed_id`` (set by
    :meth:`clone`), take no part in equality.
    """

    v1_id: str = ""
    parent: str = ""
    comment: str = ""
    created: Timestamp | None = None
    container: str = ""
    container_config: ContainerConfig = field(default_factory=ContainerConfig)
    docker_version: str = ""
    author: str = ""
    config: ContainerConfig | None = None
    architecture: str = ""
    variant: str = ""
    os: str = ""
    size: int = 0
    rootfs: RootFS | None = None
    history: list[History] = field(default_factory=list)
    os_version: str = ""
    os_features: list[str] = field(default_factory=list)
    unknown: dict[str, Any] = field(default_factory=dict)
    raw: bytes | None = field(default=None, compare=False, repr=False)
    doc: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    computed_id: Digest | None = field(default=None, compare=False, repr=False)

    # --- reading ------------------------------------------------------------------------

    @classmethod
    def from_json(cls, raw: bytes | bytearray | memoryview, *, path: str = "") -> ImageConfig:
        """``image.NewFromJSON``: decode a config blob; ``path`` names it in errors.

        Raises InvalidConfigError when moby would refuse the blob — not JSON, not an object, a
        member of the wrong type (``field`` is its JSON pointer), or no ``rootfs`` (moby's
        "invalid image JSON, no RootFS key") — and, stricter than moby, when a DiffID is not
        a valid digest.
        """
        data = bytes(raw)
        where = path or None
        # Python's json detects a BOM and UTF-16/32 and decodes them; Go's scanner refuses
        # both (a NUL byte can never appear in UTF-8 JSON, so it marks UTF-16/32 too).
        if data.startswith(_BOM) or b"\x00" in data:
            raise InvalidConfigError("not valid JSON: byte-order mark or NUL byte", path=where)
        try:
            doc = load_json(data, path=path)
        except InvalidDocumentError as exc:
            raise InvalidConfigError(exc.message, path=where) from None
        _check_finite(doc, path=where)
        ctx = _Ctx(where)
        v, unknown = _IMAGE_FIELDS.decode(ctx, doc, "")
        if v.get("rootfs") is None:
            raise InvalidConfigError("invalid image JSON, no RootFS key", path=where, field="/rootfs")
        return cls(
            v1_id=v.get("id", ""),
            parent=v.get("parent", ""),
            comment=v.get("comment", ""),
            created=v.get("created"),
            container=v.get("container", ""),
            container_config=v.get("container_config") or ContainerConfig(),
            docker_version=v.get("docker_version", ""),
            author=v.get("author", ""),
            config=v.get("config"),
            architecture=v.get("architecture", ""),
            variant=v.get("variant", ""),
            os=v.get("os", ""),
            size=v.get("Size", 0),
            rootfs=v["rootfs"],
            history=v.get("history", []),
            os_version=v.get("os.version", ""),
            os_features=v.get("os.features") or [],
            unknown=unknown,
            raw=data,
            doc=doc,
        )

    @property
    def id(self) -> Digest:
        """The content-addressable image ID: sha256 of ``raw`` exactly as stored.

        After :meth:`clone` it is the ID given there. A config built in code (no ``raw``) has
        the ID of :meth:`marshal_json` as it stands now — what a store would assign.
        """
        if self.computed_id is not None:
            return self.computed_id
        if self.raw is not None:
            return digest_bytes(self.raw)
        return digest_bytes(self.marshal_json())

    # --- writing ------------------------------------------------------------------------

    def to_json(self, *, keep_unknown: bool = True) -> dict[str, Any]:
        """The top-level object ``Image.MarshalJSON`` writes, keys sorted bytewise.

        Go's omitempty applies except to ``created`` (``null`` when unset) and
        ``container_config`` (always present, a struct). With ``keep_unknown`` the members Go
        would drop — at the top level and inside config, rootfs, history and healthcheck —
        are kept. Raises InvalidDocumentError for a timestamp Go cannot encode.
        """
        out: dict[str, Any] = {}
        for key, value in (
            ("id", self.v1_id),
            ("parent", self.parent),
            ("comment", self.comment),
            ("container", self.container),
            ("docker_version", self.docker_version),
            ("author", self.author),
            ("architecture", self.architecture),
            ("variant", self.variant),
            ("os", self.os),
            ("Size", self.size),
            ("os.version", self.os_version),
        ):
            if value:
                out[key] = value
        out["created"] = None if self.created is None else self.created.to_json()
        out["container_config"] = self.container_config.to_json(keep_unknown=keep_unknown)
        if self.config is not None:
            out["config"] = self.config.to_json(keep_unknown=keep_unknown)
        if self.rootfs is not None:
            out["rootfs"] = self.rootfs.to_json(keep_unknown=keep_unknown)
        if self.history:
            out["history"] = [h.to_json(keep_unknown=keep_unknown) for h in self.history]
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if keep_unknown:
            out.update(self.unknown)
        # Go re-marshals a map[string]*json.RawMessage, which sorts keys by bytes; code point
        # order is the same order for UTF-8.
        return dict(sorted(out.items()))

    def marshal_json(self, *, keep_unknown: bool = True) -> bytes:
        """``Image.MarshalJSON``: compact, top-level keys sorted, values encoded as Go does.

        ``keep_unknown=False`` reproduces moby's bytes exactly (Go drops members its structs
        lack); the default keeps them.
        """
        return _gojson.dumps(self.to_json(keep_unknown=keep_unknown)).encode("utf-8")

    # --- moby's accessors ---------------------------------------------------------------

    def platform(self) -> Platform:
        """``Image.Platform``: the fields as stored, with no host defaults."""
        return Platform(
            os=self.os,
            architecture=self.architecture,
            variant=self.variant,
            os_version=self.os_version,
            os_features=tuple(self.os_features),
        )

    def operating_system(self, default: str | None = None) -> str:
        """``os``, or when empty ``default`` (else :func:`host_os`, moby's ``runtime.GOOS``)."""
        return self.os or (default if default is not None else host_os())

    def base_img_arch(self, default: str | None = None) -> str:
        """``architecture``, or when empty ``default`` (else :func:`host_architecture`)."""
        return self.architecture or (default if default is not None else host_architecture())

    def base_img_variant(self) -> str:
        """``variant`` as stored, with no default (moby avoids claiming a higher variant)."""
        return self.variant

    def run_config(self) -> ContainerConfig:
        """The ``config`` a container starts from; an empty one when the image has none."""
        return self.config if self.config is not None else ContainerConfig()

    def new_child(
        self,
        child: ChildConfig,
        os: str,
        *,
        docker_version: str = DOCKER_VERSION,
        created: Timestamp | None = None,
        default_arch: str | None = None,
    ) -> ImageConfig:
        """``image.NewChildImage``: the config of an image built on this one.

        A history entry (author, comment, ``created_by`` = the container config's Cmd joined
        by spaces, ``empty_layer`` when the child adds no layer) is appended to a copy of this
        history; the DiffID, unless empty, to a clone of the rootfs (a fresh ``layers`` one if
        there is none). ``created`` (default: now, UTC) stamps both the entry and the image.
        Architecture is :meth:`base_img_arch` (so an empty one becomes the host's, or
        ``default_arch``), variant/os.version/os.features are copied, ``os`` is as given.

        As in moby, ``parent``, ``comment``, ``size``, the V1 ``id`` and unknown members are
        not carried over: moby records the parent in store metadata (``SetParent``), not in
        the config. The result has no ``raw``; its :attr:`id` is that of its JSON.
        """
        empty = child.diff_id is None or child.diff_id == EMPTY_LAYER_DIFF_ID
        rootfs = self.rootfs.clone() if self.rootfs is not None else RootFS()
        if not empty and child.diff_id is not None:
            rootfs.append(child.diff_id)
        entry = History.new(
            child.author,
            child.comment,
            " ".join(child.container_config.cmd or ()),
            empty,
            created=created,
        )
        return ImageConfig(
            docker_version=docker_version,
            config=child.config,
            architecture=self.base_img_arch(default_arch),
            variant=self.base_img_variant(),
            os=os,
            container=child.container_id,
            container_config=child.container_config,
            author=child.author,
            created=entry.created,
            rootfs=rootfs,
            history=[*(_record.replace(h, unknown=dict(h.unknown)) for h in self.history), entry],
            os_features=list(self.os_features),
            os_version=self.os_version,
        )

    def clone(self, id: Digest | str) -> ImageConfig:
        """``image.Clone``: a copy whose rootfs is cloned, V1 ``id`` is ``str(id)`` and
        :attr:`id` is ``id``. Like moby, ``raw`` is carried over unchanged."""
        new_id = Digest.parse(id)
        return _record.replace(
            self,
            v1_id=str(new_id),
            rootfs=self.rootfs.clone() if self.rootfs is not None else None,
            history=[_record.replace(h, unknown=dict(h.unknown)) for h in self.history],
            os_features=list(self.os_features),
            unknown=dict(self.unknown),
            computed_id=new_id,
        )


def validate_for_store(
    config: ImageConfig | bytes,
    *,
    path: str = "",
    host: str | None = None,
    require_layers_type: bool = False,
) -> ImageConfig:
    """The checks moby's ``image.Store.Create`` makes before it accepts a config.

    Bytes are decoded with :meth:`ImageConfig.from_json` first. Then, as moby: a missing
    rootfs is "invalid image JSON, no RootFS key"; more history entries without
    ``empty_layer`` than DiffIDs is "too many non-empty layers in History section". When
    ``host`` names the daemon's OS, an image with layers whose :meth:`operating_system`
    differs from it (case-insensitively) is "operating system is not supported" (``CheckOS``).
    ``require_layers_type`` adds a check moby does not make: rootfs type must be ``layers``.
    Every failure is InvalidConfigError; the checked config is returned.
    """
    where = path or None
    image = config if isinstance(config, ImageConfig) else ImageConfig.from_json(config, path=path)
    rootfs = image.rootfs
    if rootfs is None:
        raise InvalidConfigError("invalid image JSON, no RootFS key", path=where, field="/rootfs")
    non_empty = sum(1 for h in image.history if not h.empty_layer)
    if non_empty > len(rootfs.diff_ids):
        raise InvalidConfigError("too many non-empty layers in History section", path=where, field="/history")
    if require_layers_type and rootfs.type != TYPE_LAYERS:
        raise InvalidConfigError(f"unsupported rootfs type {rootfs.type!r}", path=where, field="/rootfs/type")
    if host is not None and rootfs.diff_ids and image.operating_system(default=host).lower() != host.lower():
        raise InvalidConfigError("operating system is not supported", path=where, field="/os")
    return image
