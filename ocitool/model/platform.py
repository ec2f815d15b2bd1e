"""Platforms (``os/arch[/variant]``): parsing, formatting, normalising and matching.

The behaviour follows containerd's ``platforms`` package at the version moby v28 vendors
(``github.com/containerd/platforms`` v1.0.0-rc.1) and moby v28.3.0's
``OnlyPlatformWithFallback`` (``daemon/images/image.go``), rule for rule, quirks included:

* :meth:`Platform.parse` is containerd ``Parse``: ``os``, ``arch``, ``os/arch``,
  ``os/arch/variant``, with the ``os(osversion)`` form for the first component.
* :func:`format_platform` (and ``str(p)``) is ``Format``; :func:`format_all` is ``FormatAll``.
* :func:`normalize` is ``Normalize``.
* :func:`new_matcher`, :func:`ordered`, :func:`any_of`, :data:`ALL_PLATFORMS`, :func:`only` and
  :func:`only_strict` are ``NewMatcher``, ``Ordered``, ``Any``, ``All``, ``Only`` and
  ``OnlyStrict``; every one of them is a :class:`MatchComparer` (``match`` and ``less``).
* :func:`only_platform_with_fallback` is moby's ``OnlyPlatformWithFallback``.

Where containerd consults the running machine (``runtime.GOOS``/``GOARCH`` and the ARM CPU
variant) this module consults :func:`host_platform`, which the environment variable
``OCITOOL_HOST_PLATFORM`` (:data:`HOST_PLATFORM_ENV`) overrides.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol, TypeVar, overload, runtime_checkable

from ocitool._go import path as gopath
from ocitool._go import strconv as gostrconv
from ocitool._go import strings as gostrings
from ocitool._record import field, record, replace
from ocitool.errors import InvalidPlatformError

__all__ = [
    "ALL_PLATFORMS",
    "HOST_PLATFORM_ENV",
    "MatchComparer",
    "Matcher",
    "Platform",
    "any_of",
    "default_matcher",
    "format_all",
    "format_platform",
    "host_architecture",
    "host_os",
    "host_platform",
    "runs_on_linux",
    "matches",
    "new_matcher",
    "normalize",
    "only",
    "only_platform_with_fallback",
    "only_strict",
    "ordered",
    "parse_all",
    "sort_matching",
]

_T = TypeVar("_T")

#: Environment variable that overrides :func:`host_platform`. Its value is ``os/arch`` or
#: ``os/arch/variant`` (``os(osversion)/arch`` also works), parsed like a specifier and then
#: normalised, e.g. ``linux/arm/v6`` or ``linux/arm64``. Empty or unset means "detect".
HOST_PLATFORM_ENV: Final = "OCITOOL_HOST_PLATFORM"


@record(frozen=True, slots=True)
class Platform:
    """An OCI platform. JSON keys and their order follow ``ocispec.Platform``."""

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = field(default=())

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Platform:
        feats = doc.get("os.features") or ()
        return cls(
            os=str(doc.get("os", "")),
            architecture=str(doc.get("architecture", "")),
            variant=str(doc.get("variant", "") or ""),
            os_version=str(doc.get("os.version", "") or ""),
            os_features=tuple(str(f) for f in feats),
        )

    @classmethod
    def parse(cls, spec: str) -> Platform:
        """Parse a platform specifier exactly as containerd's ``platforms.Parse``.

        Accepted forms: ``os``, ``arch``, ``os/arch`` and ``os/arch/variant``, where ``os`` may be
        written ``os(osversion)`` (e.g. ``windows(10.0.17763)/amd64``). Components must match
        ``[A-Za-z0-9_.-]+`` (the ``os`` name ``[A-Za-z0-9_-]+``); os, arch and variant are
        lowercased and normalised, ``macos`` becomes ``darwin``.

        The result is *not* fully normalised; containerd keeps some variants out of it:

        * ``os/arch``: ``arm`` (and ``armhf``) gets no variant although it means ``arm/v7``.
        * ``os/arch/variant``: ``arm64`` with a variant that normalises away (``v8``, ``8``,
          ``v8.0``) comes back as ``arm64/v8``.
        * a lone known OS name (``linux``) takes the host's architecture (and, for ``arm``, its
          variant unless that is ``v7``); a lone known architecture (``aarch64``) takes the
          host's OS. Anything else alone is an error.

        Raises :class:`~ocitool.errors.InvalidPlatformError` for wildcards, bad characters, empty
        components, more than three components, or a lone unknown word.
        """
        return _parse(spec, host_platform)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        return out

    def __str__(self) -> str:
        """containerd ``Format``: ``os/arch[/variant]``, ``unknown`` when ``os`` is empty."""
        return format_platform(self)


# ---------------------------------------------------------------------------------------------
# The platform database (containerd database.go).

# From Go's go/build/syslist.go, as containerd lists them.
_KNOWN_OS: Final = frozenset({
    "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux",
    "nacl", "netbsd", "openbsd", "plan9", "solaris", "windows", "zos",
})  # fmt: skip
_KNOWN_ARCH: Final = frozenset({
    "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le", "loong64",
    "mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "riscv", "riscv64",
    "s390", "s390x", "sparc", "sparc64", "wasm",
})  # fmt: skip


def _normalize_os(os_name: str) -> str:
    if os_name == "":
        # containerd substitutes runtime.GOOS; the host platform plays that part here.
        return host_platform().os
    os_name = gostrings.to_lower(os_name)
    return "darwin" if os_name == "macos" else os_name


def _normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    arch, variant = gostrings.to_lower(arch), gostrings.to_lower(variant)
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", ("" if variant == "v1" else variant)
    if arch in ("aarch64", "arm64"):
        if variant in ("8", "v8", "v8.0"):
            variant = ""
        elif variant in ("9", "9.0", "v9.0"):
            variant = "v9"
        return "arm64", variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        if variant in ("", "7"):
            variant = "v7"
        elif variant in ("5", "6", "8"):
            variant = "v" + variant
        return "arm", variant
    return arch, variant


def normalize(p: Platform) -> Platform:
    """containerd ``Normalize``: the canonical form of ``p``.

    * ``os``: lowercased, ``macos`` → ``darwin``; empty → the host OS.
    * architecture and variant (both lowercased first):

      ========================= =====================================================
      ``i386``                  ``386``, variant dropped
      ``x86_64``/``x86-64``     ``amd64``; variant ``v1`` dropped, others kept
      ``aarch64``/``arm64``     ``arm64``; ``8``/``v8``/``v8.0`` dropped,
                                ``9``/``9.0``/``v9.0`` → ``v9``, others kept
      ``armhf``                 ``arm/v7`` (any variant replaced)
      ``armel``                 ``arm/v6`` (any variant replaced)
      ``arm``                   empty or ``7`` → ``v7``; ``5``/``6``/``8`` → ``v5``/``v6``/``v8``
      anything else             unchanged apart from lowercasing
      ========================= =====================================================

    ``os_version`` and ``os_features`` are kept as they are. Idempotent.
    """
    os_name = _normalize_os(p.os)
    arch, variant = _normalize_arch(p.architecture, p.variant)
    if (os_name, arch, variant) == (p.os, p.architecture, p.variant):
        return p
    return replace(p, os=os_name, architecture=arch, variant=variant)


# ---------------------------------------------------------------------------------------------
# Parsing and formatting (containerd platforms.go).

# Kept in Go's anchored spelling for error messages; always applied with fullmatch, so Python's
# "$ also matches before a final newline" never comes into play.
_SPECIFIER_PATTERN: Final = r"^[A-Za-z0-9_.-]+$"
_OS_AND_VERSION_PATTERN: Final = r"^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.-]*)\))?$"
_SPECIFIER_RE: Final = re.compile(_SPECIFIER_PATTERN)
_OS_AND_VERSION_RE: Final = re.compile(_OS_AND_VERSION_PATTERN)


class _ParseFailure(Exception):
    """Internal: a specifier is invalid for the stated reason."""


def _parse_specifier(spec: str, host: Callable[[], Platform]) -> Platform:
    if "*" in spec:
        raise _ParseFailure("wildcards not yet supported")
    # Go: strings.SplitN(spec, "/", 4). At most four parts; a fourth is always an error.
    parts = spec.split("/", 3)
    os_name = os_version = ""
    for i, part in enumerate(parts):
        if i == 0:
            m = _OS_AND_VERSION_RE.fullmatch(part)
            if m is None:
                raise _ParseFailure(
                    f"{part!r} is an invalid OS component: OSAndVersion specifier component "
                    f"must match {_OS_AND_VERSION_PATTERN!r}"
                )
            os_name = _normalize_os(m.group(1))
            os_version = m.group(2) or ""
        elif _SPECIFIER_RE.fullmatch(part) is None:
            raise _ParseFailure(
                f"{part!r} is an invalid component: platform specifier component "
                f"must match {_SPECIFIER_PATTERN!r}"
            )

    if len(parts) == 1:
        if os_name in _KNOWN_OS:
            here = host()
            # containerd: GOARCH, plus the CPU variant only for arm and only when not v7.
            variant = here.variant if here.architecture == "arm" and here.variant != "v7" else ""
            return Platform(os_name, here.architecture, variant, os_version)
        # Go normalises the whole first part here, "(version)" and all, so "amd64(1)" fails below.
        arch, variant = _normalize_arch(parts[0], "")
        if arch == "arm" and variant == "v7":
            variant = ""
        if arch in _KNOWN_ARCH:
            return Platform(host().os, arch, variant, os_version)
        raise _ParseFailure("unknown operating system or architecture")
    if len(parts) == 2:
        arch, variant = _normalize_arch(parts[1], "")
        if arch == "arm" and variant == "v7":
            variant = ""
        return Platform(os_name, arch, variant, os_version)
    if len(parts) == 3:
        arch, variant = _normalize_arch(parts[1], parts[2])
        if arch == "arm64" and variant == "":
            variant = "v8"
        return Platform(os_name, arch, variant, os_version)
    raise _ParseFailure("cannot parse platform specifier")


def _parse(spec: str, host: Callable[[], Platform]) -> Platform:
    try:
        return _parse_specifier(spec, host)
    except _ParseFailure as exc:
        raise InvalidPlatformError(spec, str(exc)) from None


def parse_all(specs: Iterable[str]) -> list[Platform]:
    """containerd ``ParseAll``: :meth:`Platform.parse` each specifier, failing on the first bad one."""
    return [Platform.parse(s) for s in specs]


def format_platform(p: Platform) -> str:
    """containerd ``Format``: ``os/arch[/variant]``; ``unknown`` when ``os`` is empty.

    Like Go's ``path.Join``, empty components are skipped and the result is path-cleaned, so
    odd values format oddly (``os="linux", architecture=""`` → ``linux``). The platform is not
    normalised first: ``linux/arm64/v8`` stays as it is.
    """
    if p.os == "":
        return "unknown"
    return gopath.join(p.os, p.architecture, p.variant)


def format_all(p: Platform) -> str:
    """containerd ``FormatAll``: :func:`format_platform` with ``os(os_version)`` when there is one."""
    if p.os == "":
        return "unknown"
    if p.os_version:
        return gopath.join(f"{p.os}({p.os_version})", p.architecture, p.variant)
    return gopath.join(p.os, p.architecture, p.variant)


# ---------------------------------------------------------------------------------------------
# The host platform.


def _arch_from_machine(machine: str) -> tuple[str, str]:
    """Map ``uname -m`` to a Go architecture and CPU variant (containerd getCPUVariantFromArch)."""
    m = gostrings.to_lower(machine)
    if m in ("x86_64", "amd64", "x86-64"):
        return "amd64", ""
    if m in ("i386", "i486", "i586", "i686", "x86"):
        return "386", ""
    if m in ("aarch64", "arm64"):
        return "arm64", ""
    if m == "aarch64_be":
        return "arm64be", ""
    if m.startswith("armv") and len(m) >= 5:
        # "armv7l" -> v7. containerd accepts v3..v8 and calls anything else "unknown".
        digit = m[4]
        return "arm", (f"v{digit}" if digit in "345678" else "unknown")
    if m == "loongarch64":
        return "loong64", ""
    if m == "mips64el":
        return "mips64le", ""
    if m == "mipsel":
        return "mipsle", ""
    return m, ""


def host_platform(*, machine: str | None = None) -> Platform:
    """The platform of this machine, normalised; plays containerd's ``DefaultSpec`` role.

    The OS is always ``linux`` (ocitool targets Linux container engines) and the architecture
    comes from ``platform.machine()`` mapped to Go's names, with the ARM variant for 32-bit
    ARM (``armv6l`` → ``arm/v6``, ``armv7l`` → ``arm/v7``). ``arm64`` has no variant once
    normalised.

    Overrides, most specific first:

    * ``machine``: use this ``uname -m`` string instead of ``platform.machine()``;
    * the environment variable ``OCITOOL_HOST_PLATFORM`` (:data:`HOST_PLATFORM_ENV`), e.g.
      ``linux/arm/v6``: must have an explicit ``os/arch`` (a lone word would need the host to
      resolve itself) and raises :class:`~ocitool.errors.InvalidPlatformError` when it does not
      parse.

    The environment is read on every call, so tests can set it with ``monkeypatch.setenv``.
    """
    if machine is None:
        override = os.environ.get(HOST_PLATFORM_ENV, "")
        if override:
            return normalize(_parse(override, _no_host_for_env))
        machine = os.uname().machine  # what platform.machine() reads, without loading it
    arch, variant = _arch_from_machine(machine)
    return normalize(Platform("linux", arch, variant))


def runs_on_linux() -> bool:
    """Whether this process runs on Linux (``sys.platform``), for the host's own conventions
    (the XDG directories); images' platforms are :func:`host_platform`'s business."""
    return sys.platform.startswith("linux")


def host_os() -> str:
    """The host's OS as moby's ``runtime.GOOS`` fills defaults: :func:`host_platform`'s."""
    return host_platform().os


def host_architecture() -> str:
    """The host's architecture as ``runtime.GOARCH`` names it: :func:`host_platform`'s."""
    return host_platform().architecture


def _no_host_for_env() -> Platform:
    raise _ParseFailure(f"{HOST_PLATFORM_ENV} must name both an OS and an architecture (os/arch)")


# ---------------------------------------------------------------------------------------------
# Windows OS version compatibility (containerd platform_windows_compat.go).

_WinVersion = tuple[int, int, int]  # (major, minor, build)
_NO_WINDOWS_VERSION: Final[_WinVersion] = (0, 0, 0)
_WS2022_BUILD: Final = 20348  # Windows Server 2022 (ltsc2022), first stable-ABI release.
# Stable-ABI LTSC releases, ascending.
_COMPAT_LTSC_RELEASES: Final = (_WS2022_BUILD,)


def _windows_os_version(version: str) -> _WinVersion:
    """containerd getWindowsOSVersion: ``major.minor.build[.…]``, else all zeros."""
    if version.count(".") < 2:
        return _NO_WINDOWS_VERSION
    major, _, rest = version.partition(".")
    minor, _, rest = rest.partition(".")
    build, _, _ = rest.partition(".")
    ma = gostrconv.parse_uint(major, 10, 8)
    mi = gostrconv.parse_uint(minor, 10, 8)
    bu = gostrconv.parse_uint(build, 10, 16)
    if ma is None or mi is None or bu is None:
        return _NO_WINDOWS_VERSION
    return ma, mi, bu


def _windows_host_and_container_compat(host: _WinVersion, ctr: _WinVersion) -> bool:
    """containerd checkWindowsHostAndContainerCompat."""
    if host[0] != ctr[0] or host[1] != ctr[1]:
        return False
    if host[2] < _WS2022_BUILD:
        # Before the stable ABI, process isolation needs the very same build.
        return host[2] == ctr[2]
    supported = 0
    for release in reversed(_COMPAT_LTSC_RELEASES):
        if host[2] >= release:
            supported = release
            break
    return supported <= ctr[2] <= host[2]


def _windows_version_matches(want: _WinVersion, candidate_version: str) -> bool:
    """containerd windowsVersionMatcher.Match: no version on either side matches anything."""
    if want == _NO_WINDOWS_VERSION or candidate_version == "":
        return True
    return _windows_host_and_container_compat(want, _windows_os_version(candidate_version))


# ---------------------------------------------------------------------------------------------
# Matchers (containerd platforms.go NewMatcher, compare.go).


@runtime_checkable
class Matcher(Protocol):
    """Something that decides whether a platform is acceptable (containerd ``Matcher``)."""

    def match(self, platform: Platform, /) -> bool:
        """True when ``platform`` is acceptable."""
        ...


@runtime_checkable
class MatchComparer(Matcher, Protocol):
    """A :class:`Matcher` that also ranks platforms (containerd ``MatchComparer``).

    ``less(a, b)`` is True when ``a`` is preferred to ``b``. It is a strict weak order, so a
    stable sort by it (see :func:`sort_matching`) puts the best candidate first.
    """

    def less(self, a: Platform, b: Platform, /) -> bool:
        """True when ``a`` should be chosen before ``b``."""
        ...


class _Entry(Protocol):
    """One or more consecutive entries of an ordered platform vector."""

    def position(self, normalized: Platform, os_version: str) -> int | None:
        """Offset of the first entry matching the candidate (given normalised), or None."""
        ...


class _PlatformMatcher:
    """containerd ``NewMatcher``: equality of normalised os/arch/variant, plus Windows versions."""

    __slots__ = ("_platform", "_windows")

    def __init__(self, platform: Platform) -> None:
        self._platform = normalize(platform)
        # containerd tests the raw os here, so "Windows" (capitalised) gets no version check.
        self._windows = _windows_os_version(platform.os_version) if platform.os == "windows" else None

    def position(self, normalized: Platform, os_version: str) -> int | None:
        p = self._platform
        if (normalized.os, normalized.architecture, normalized.variant) != (
            p.os,
            p.architecture,
            p.variant,
        ):
            return None
        if self._windows is not None and not _windows_version_matches(self._windows, os_version):
            return None
        return 0

    def match(self, platform: Platform) -> bool:
        return self.position(normalize(platform), platform.os_version) is not None

    def less(self, a: Platform, b: Platform) -> bool:
        # Not in containerd (its matcher has no Less); the order of a one-platform Ordered.
        return self.match(a) and not self.match(b)

    def __repr__(self) -> str:
        return f"new_matcher({format_all(self._platform)!r})"


_CANONICAL_VARIANT_RE: Final = re.compile(r"v([1-9][0-9]*)")


class _VariantRun:
    """Entries ``arch/v{high}``, ``arch/v{high-1}``, …, ``arch/v{low}`` of a platform vector.

    containerd appends these one by one (amd64 down to v1, arm down to v5); the count comes from
    the requested variant, so a huge one (``amd64/v99999999999``) would make a huge vector. A run
    answers the same questions arithmetically instead.
    """

    __slots__ = ("_arch", "_high", "_low", "_os", "_windows")

    def __init__(self, base: Platform, high: int, low: int) -> None:
        self._os = normalize(base).os
        self._arch = base.architecture
        self._high = high
        self._low = low
        self._windows = _windows_os_version(base.os_version) if base.os == "windows" else None

    def position(self, normalized: Platform, os_version: str) -> int | None:
        if normalized.os != self._os or normalized.architecture != self._arch:
            return None
        if self._windows is not None and not _windows_version_matches(self._windows, os_version):
            return None
        if self._arch == "amd64" and normalized.variant == "":
            # Entry "amd64/v1" normalises to plain "amd64".
            number = 1
        else:
            m = _CANONICAL_VARIANT_RE.fullmatch(normalized.variant)
            if m is None:
                return None
            number = int(m.group(1))
        if not self._low <= number <= self._high:
            return None
        return self._high - number


def _less_by_rank(rank: Callable[[Platform], tuple[int, int] | None], a: Platform, b: Platform) -> bool:
    """Go walks the entries and answers at the first one matching either side: ``a`` is less
    exactly when its first match comes strictly before ``b``'s (or ``b`` matches nothing)."""
    ra = rank(a)
    if ra is None:
        return False
    rb = rank(b)
    return rb is None or ra < rb


def _rank(entries: tuple[_Entry, ...], platform: Platform) -> tuple[int, int] | None:
    """Index of the first entry matching ``platform`` (entry, offset within it), or None."""
    normalized = normalize(platform)
    for i, entry in enumerate(entries):
        pos = entry.position(normalized, platform.os_version)
        if pos is not None:
            return i, pos
    return None


class _OrderedComparer:
    """containerd ``Ordered``: matches any entry; earlier entries are preferred."""

    __slots__ = ("_entries",)

    def __init__(self, entries: tuple[_Entry, ...]) -> None:
        self._entries = entries

    @property
    def entry_count(self) -> int:
        return len(self._entries)

    def rank(self, platform: Platform) -> tuple[int, int] | None:
        return _rank(self._entries, platform)

    def match(self, platform: Platform) -> bool:
        return self.rank(platform) is not None

    def less(self, a: Platform, b: Platform) -> bool:
        return _less_by_rank(self.rank, a, b)

    def __repr__(self) -> str:
        return f"<ordered matcher of {len(self._entries)} entries>"


class _AnyComparer:
    """containerd ``Any``: matches any entry; matching platforms sort first, otherwise no order."""

    __slots__ = ("_entries",)

    def __init__(self, entries: tuple[_Entry, ...]) -> None:
        self._entries = entries

    def match(self, platform: Platform) -> bool:
        return _rank(self._entries, platform) is not None

    def less(self, a: Platform, b: Platform) -> bool:
        return self.match(a) and not self.match(b)

    def __repr__(self) -> str:
        return f"<any-of matcher of {len(self._entries)} entries>"


class _AllComparer:
    """containerd ``All``: matches everything, prefers nothing."""

    __slots__ = ()

    def match(self, platform: Platform) -> bool:
        return True

    def less(self, a: Platform, b: Platform) -> bool:
        return False

    def __repr__(self) -> str:
        return "ALL_PLATFORMS"


#: containerd ``All``: matches every platform and orders none before another.
ALL_PLATFORMS: Final[MatchComparer] = _AllComparer()


def new_matcher(platform: Platform) -> MatchComparer:
    """containerd ``NewMatcher``: exact match of the normalised os, architecture and variant.

    When ``platform.os`` is exactly ``windows`` the candidate's ``os_version`` must also be
    compatible with ``platform.os_version`` as a Windows host/container pair: same
    major.minor; before build 20348 (Windows Server 2022) the same build; from 20348 on any
    build from 20348 up to the host's. An empty or unparsable version on either side matches
    anything. ``os_features`` are ignored. ``less`` (an ocitool addition) puts matches first.
    """
    return _PlatformMatcher(platform)


def ordered(*platforms: Platform) -> MatchComparer:
    """containerd ``Ordered``: matches any of ``platforms``, preferring earlier ones."""
    return _OrderedComparer(tuple(_PlatformMatcher(p) for p in platforms))


def any_of(*platforms: Platform) -> MatchComparer:
    """containerd ``Any``: matches any of ``platforms``; matches sort before non-matches only."""
    return _AnyComparer(tuple(_PlatformMatcher(p) for p in platforms))


def _arm64_variant_table() -> dict[str, tuple[tuple[int, int], ...]]:
    """containerd arm64variantToVersion: for each arm64 variant, the (major, top minor) ranges it
    runs, best first. Arm v9.x is compatible with v8.(x+5), so v9.x ranges go on into v8."""
    table: dict[str, tuple[tuple[int, int], ...]] = {"v8": ((8, 0),), "v9": ((9, 0), (8, 5))}
    for minor in range(10):
        table[f"v8.{minor}"] = ((8, minor),)
    for minor in range(8):  # containerd stops at v9.7; v8 tops out at v8.9
        table[f"v9.{minor}"] = ((9, minor), (8, min(minor + 5, 9)))
    return table


_ARM64_VARIANT_VERSIONS: Final = _arm64_variant_table()


def _platform_vector(p: Platform) -> list[_Entry]:
    """containerd platformVector: what ``p`` (already normalised) runs, best first."""
    head = _PlatformMatcher(p)
    if p.architecture == "amd64":
        vector: list[_Entry] = [head]
        level = gostrconv.atoi(p.variant.removeprefix("v"))
        if level is not None and level > 1:
            vector.append(_VariantRun(p, level - 1, 1))
        vector.append(_PlatformMatcher(replace(p, architecture="386", variant="")))
        return vector
    if p.architecture == "arm":
        vector = [head]
        level = gostrconv.atoi(p.variant.removeprefix("v"))
        if level is not None and level > 5:
            vector.append(_VariantRun(p, level - 1, 5))
        return vector
    if p.architecture == "arm64":
        versions = _ARM64_VARIANT_VERSIONS.get(p.variant or "v8")
        if versions is None:
            # containerd resets the vector and breaks out before re-adding anything, so an
            # arm64 variant outside its table (v10, v8.10, foo) matches nothing at all.
            return []
        vector = []
        for major, top_minor in versions:
            for minor in range(top_minor, -1, -1):
                variant = f"v{major}.{minor}" if minor else f"v{major}"
                vector.append(_PlatformMatcher(replace(p, variant=variant)))
        # Every arm64 runs 32-bit arm up to v8 (and so, in turn, v7..v5).
        vector.extend(_platform_vector(replace(p, architecture="arm", variant="v8")))
        return vector
    return [head]


def only(platform: Platform) -> MatchComparer:
    """containerd ``Only``: ``platform`` and what it can run, best first (after normalising).

    * ``amd64/vN`` also matches ``amd64/v(N-1)`` … ``amd64/v1`` (= plain ``amd64``), then ``386``.
    * ``arm/vN`` (N > 5) also matches ``arm/v(N-1)`` … ``arm/v5``; plain ``arm`` means ``arm/v7``.
    * ``arm64/v8.x`` matches ``arm64/v8.x`` … ``arm64/v8``; ``arm64/v9.x`` matches ``arm64/v9.x`` …
      ``arm64/v9``, then ``arm64/v8.(x+5)`` (at most v8.9) … ``arm64/v8``; every arm64 then
      matches ``arm/v8`` … ``arm/v5``. Plain ``arm64`` means ``arm64/v8``. An arm64 variant not
      in that table matches nothing, not even itself (as in containerd).
    * other architectures match only themselves. The OS (and Windows version) must agree.

    ``less`` prefers the earlier entry of that list.
    """
    return _OrderedComparer(tuple(_platform_vector(normalize(platform))))


def only_strict(platform: Platform) -> MatchComparer:
    """containerd ``OnlyStrict``: ``platform`` alone, compared after normalising both sides."""
    return ordered(normalize(platform))


class _FallbackMatcher:
    """moby ``onlyFallbackMatcher``."""

    __slots__ = ("_fallback_rank", "_only", "_requested")

    def __init__(self, platform: Platform) -> None:
        self._only = _OrderedComparer(tuple(_platform_vector(normalize(platform))))
        self._requested = normalize(platform)
        # Fallback-only matches rank after every entry of only()'s vector.
        self._fallback_rank = (self._only.entry_count, 0)

    def _fallback(self, other: Platform) -> bool:
        if other.variant != "":
            return False
        # Normalising adds a default variant (arm -> v7), which is what defeats only(); compare
        # without it.
        n = normalize(other)
        return (self._requested.os, self._requested.architecture) == (n.os, n.architecture)

    def rank(self, platform: Platform) -> tuple[int, int] | None:
        r = self._only.rank(platform)
        if r is None and self._fallback(platform):
            return self._fallback_rank
        return r

    def match(self, platform: Platform) -> bool:
        return self._only.match(platform) or self._fallback(platform)

    def less(self, a: Platform, b: Platform) -> bool:
        return _less_by_rank(self.rank, a, b)

    def __repr__(self) -> str:
        return f"only_platform_with_fallback({format_all(self._requested)!r})"


def only_platform_with_fallback(platform: Platform) -> MatchComparer:
    """moby ``OnlyPlatformWithFallback``: :func:`only`, plus images that give no variant.

    A candidate :func:`only` rejects still matches when its own ``variant`` is empty and its
    normalised OS and architecture equal those of the normalised ``platform`` (image configs
    often omit the variant: ``linux/arm/v6`` requested accepts an ``arm`` image, which
    :func:`only` reads as ``arm/v7``). OS versions are not compared in the fallback.

    moby's matcher has no ``less``; ocitool's ranks like :func:`only` and puts fallback-only
    matches after all of those and before non-matches.
    """
    return _FallbackMatcher(platform)


def default_matcher() -> MatchComparer:
    """containerd ``Default``: ``only(host_platform())``."""
    return only(host_platform())


def matches(requested: Platform, candidate: Platform) -> bool:
    """True when ``only(requested)`` accepts ``candidate`` (containerd's default resolution)."""
    return only(requested).match(candidate)


def _identity(p: Platform) -> Platform:
    return p


@overload
def sort_matching(comparer: MatchComparer, items: Iterable[Platform]) -> list[Platform]: ...
@overload
def sort_matching(
    comparer: MatchComparer, items: Iterable[_T], *, key: Callable[[_T], Platform]
) -> list[_T]: ...
def sort_matching(
    comparer: MatchComparer, items: Iterable[Any], *, key: Callable[[Any], Platform] | None = None
) -> list[Any]:
    """The items whose platform ``comparer`` matches, most preferred first.

    As containerd picks a manifest from an index: filter by ``match``, then a stable sort by
    ``less``, so equally good items keep their input order. ``key`` extracts the platform from
    an item (e.g. a descriptor); without it the items are platforms.
    """
    get = key if key is not None else _identity

    def compare(a: Any, b: Any) -> int:
        pa, pb = get(a), get(b)
        if comparer.less(pa, pb):
            return -1
        if comparer.less(pb, pa):
            return 1
        return 0

    kept = [item for item in items if comparer.match(get(item))]
    return sorted(kept, key=functools.cmp_to_key(compare))
