"""CI rules over an :class:`~ocitool.analysis.analyze.Analysis`.

dive's three rules, with dive 0.13's defaults and ``.dive-ci`` keys and semantics:

=========================== ========== ==================================================
key                          default    fails when
=========================== ========== ==================================================
``lowestEfficiency``         ``0.9``    threshold > efficiency score (0..1)
``highestWastedBytes``       disabled   wasted bytes > threshold (``20MB``, ``1 KiB``, ...)
``highestUserWastedPercent`` ``0.1``    wasted / user bytes > threshold (0..1)
=========================== ========== ==================================================

and rules dive lacks, each disabled unless configured: ``maxImageSize`` (bytes, as dive's
``sizeBytes``), ``maxLayerCount``, ``forbiddenPaths`` (globs matched against every layer's
entries, since a secret deleted later still ships in its layer; ``default`` selects
:data:`DEFAULT_FORBIDDEN`), ``requiredLabels``, ``nonRootUser``, ``noSetuid`` and
``noWorldWritable`` (over the final root filesystem), ``allowedPlatforms``.

A value of ``""``, ``disabled``, ``off`` or ``false`` disables a rule, as in dive. The rules
file is YAML with a top-level ``rules`` mapping (dive's ``.dive-ci``). Bad values raise
InvalidDocumentError naming the file and the field (``/rules/KEY``).
"""

from __future__ import annotations

import enum
import fnmatch
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ocitool._record import field, record
from ocitool.analysis.analyze import Analysis, analyze
from ocitool.errors import InvalidDocumentError, InvalidPlatformError
from ocitool.formats.detect import SourceLike
from ocitool.model.platform import Platform
from ocitool.ops.progress import ProgressCallback

__all__ = [
    "CiResult",
    "DEFAULT_FORBIDDEN",
    "DEFAULT_RULES",
    "Finding",
    "RuleResult",
    "RuleStatus",
    "evaluate",
    "load_rules",
    "parse_bytes",
    "run_ci",
]

DEFAULT_RULES: dict[str, str] = {
    "lowestEfficiency": "0.9",
    "highestWastedBytes": "disabled",
    "highestUserWastedPercent": "0.1",
}
_EXTRA_KEYS = (
    "maxImageSize",
    "maxLayerCount",
    "forbiddenPaths",
    "requiredLabels",
    "nonRootUser",
    "noSetuid",
    "noWorldWritable",
    "allowedPlatforms",
)
RULE_KEYS: tuple[str, ...] = (*DEFAULT_RULES, *_EXTRA_KEYS)

# Private keys, dotenv files, package-manager caches.
DEFAULT_FORBIDDEN: tuple[str, ...] = (
    "*/id_rsa",
    "*/id_dsa",
    "*/id_ecdsa",
    "*/id_ed25519",
    "*.key",
    "*/.env",
    "*/.env.*",
    "/var/cache/apt/archives/*.deb",
    "/var/lib/apt/lists/*_Packages*",
    "/var/cache/apk/*",
    "/root/.cache/pip/*",
    "/root/.npm/_cacache/*",
    "/var/cache/yum/*",
    "/var/cache/dnf/*",
)

_DISABLED = ("", "disabled", "off", "false")


class RuleStatus(enum.Enum):
    PASSED = "PASS"
    FAILED = "FAIL"
    SKIPPED = "SKIP"


@record(frozen=True)
class Finding:
    """One offending item: an in-image path (with the layer it is in), or none for image-wide."""

    message: str
    path: str = ""
    layer: int | None = None


@record
class RuleResult:
    key: str
    configuration: str
    status: RuleStatus
    message: str = ""
    findings: list[Finding] = field(default_factory=list)


_BYTES = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*$")
_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "ki": 1024,
    "kib": 1024,
    "mi": 1024**2,
    "mib": 1024**2,
    "gi": 1024**3,
    "gib": 1024**3,
    "ti": 1024**4,
    "tib": 1024**4,
}


def parse_bytes(text: str) -> int:
    """A byte count as go-humanize's ``ParseBytes`` reads it (``20MB`` = 20·10⁶, ``1KiB`` = 1024).

    Raises ValueError for anything else.
    """
    m = _BYTES.match(text)
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"unhandled size name or bad number: {json.dumps(text)}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _disabled(value: object) -> bool:
    if value is False or value is None:
        return True
    return isinstance(value, str) and value.strip().lower() in _DISABLED


def _as_text(value: object) -> str:
    if value is True:
        return "true"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def rule_lines(text: str | None) -> dict[str, int]:
    """The line (from 1) of each key of a rules file's ``rules`` mapping, for messages; empty
    when ``text`` is None or not YAML."""
    import yaml

    if text is None:
        return {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "rules" and isinstance(value, yaml.MappingNode):
                lines.update((str(k.value), k.start_mark.line + 1) for k, _ in value.value)
    return lines


def _where(path: str, line: int | None) -> str:
    return f"{path or 'rules'}:{line}" if line else path or "rules"


def load_rules(text: str | None, *, path: str = "") -> dict[str, object]:
    """The rule configuration: dive's defaults overridden by the ``rules`` mapping of a
    ``.dive-ci`` YAML document (``text``). Raises InvalidDocumentError for malformed YAML, a
    ``rules`` that is not a mapping, or an unknown key; its message is one line naming the
    file and line (``rules.yaml:3: ...``)."""
    import yaml

    config: dict[str, object] = dict(DEFAULT_RULES)
    if text is None:
        return config
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InvalidDocumentError(
            f"{path or 'rules'}{line}: rules file is not valid YAML: {problem}", path=path
        ) from None
    if doc is None:
        return config
    rules = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(rules, dict):
        raise InvalidDocumentError(f"{path}: rules file needs a 'rules' mapping", path=path, field="/rules")
    lines = rule_lines(text)
    for key, value in rules.items():
        if key not in RULE_KEYS:
            raise InvalidDocumentError(
                f"{_where(path, lines.get(str(key)))}: unknown rule {json.dumps(str(key))}"
                f" (known: {', '.join(RULE_KEYS)})",
                path=path,
                field=f"/rules/{key}",
            )
        config[str(key)] = value
    return config


def _bad(
    path: str, key: str, value: object, why: str, lines: Mapping[str, int] | None = None
) -> InvalidDocumentError:
    given = json.dumps(value, ensure_ascii=False, default=str)
    return InvalidDocumentError(
        f"{_where(path, (lines or {}).get(key))}: invalid {key} config value, given {given}: {why}",
        path=path,
        field=f"/rules/{key}",
    )


def _ratio(path: str, key: str, value: object, lines: Mapping[str, int] | None) -> float:
    try:
        number = float(str(value))
    except ValueError:
        raise _bad(path, key, value, "not a number", lines) from None
    if not 0 <= number <= 1:
        raise _bad(path, key, value, "outside allowed range (0-1)", lines)
    return number


def _list(path: str, key: str, value: object, lines: Mapping[str, int] | None) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v) for v in value]
    raise _bad(path, key, value, "expected a string or a list of strings", lines)


def _glob_hit(pattern: str, path: str) -> bool:
    if "/" not in pattern:
        return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, "/" + pattern.lstrip("/"))


def _is_root(user: str) -> bool:
    name = user.split(":", 1)[0].strip()
    return name in ("", "root", "0")


def evaluate(
    analysis: Analysis,
    config: Mapping[str, object],
    *,
    path: str = "",
    lines: Mapping[str, int] | None = None,
) -> list[RuleResult]:
    """Evaluate every configured rule, dive's three first (in dive's order), then ours.

    Raises InvalidDocumentError (naming ``path``, the key's line from ``lines`` when known,
    and the field) for an invalid value; every value is checked before any rule runs.
    """
    checks: list[tuple[str, str, Any]] = []
    for key in RULE_KEYS:
        value = config.get(key, "disabled")
        if _disabled(value):
            checks.append((key, "disabled", None))
            continue
        parsed: Any
        if key in ("lowestEfficiency", "highestUserWastedPercent"):
            parsed = _ratio(path, key, value, lines)
        elif key in ("highestWastedBytes", "maxImageSize"):
            try:
                parsed = parse_bytes(str(value))
            except ValueError as exc:
                raise _bad(path, key, value, str(exc), lines) from None
        elif key == "maxLayerCount":
            if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
                raise _bad(path, key, value, "expected a non-negative integer", lines)
            parsed = int(value)
        elif key in ("nonRootUser", "noSetuid", "noWorldWritable"):
            if value is not True and str(value).strip().lower() not in ("true", "on", "yes", "enabled"):
                raise _bad(path, key, value, "expected true or false", lines)
            parsed = True
        elif key == "forbiddenPaths":
            parsed = []
            for pattern in _list(path, key, value, lines):
                parsed.extend(DEFAULT_FORBIDDEN if pattern == "default" else (pattern,))
        elif key == "allowedPlatforms":
            try:
                parsed = [Platform.parse(p) for p in _list(path, key, value, lines)]
            except InvalidPlatformError as exc:
                raise _bad(path, key, value, str(exc), lines) from None
        else:
            parsed = _list(path, key, value, lines)
        checks.append((key, _as_text(value), parsed))
    return [_run(analysis, key, conf, parsed) for key, conf, parsed in checks]


def _run(a: Analysis, key: str, conf: str, t: Any) -> RuleResult:
    if t is None:
        return RuleResult(key, conf, RuleStatus.SKIPPED, "rule disabled")
    findings: list[Finding] = []
    message = ""
    if key == "lowestEfficiency":
        if t > a.efficiency:
            message = f"image efficiency is too low (efficiency={a.efficiency:2.2f} < threshold={conf})"
    elif key == "highestWastedBytes":
        if a.wasted_bytes > t:
            message = f"too many bytes wasted (wasted-bytes={a.wasted_bytes} > threshold={t})"
    elif key == "highestUserWastedPercent":
        p = a.user_wasted_percent
        if not math.isnan(p) and p > t:
            message = (
                "too many bytes wasted, relative to the user bytes added "
                f"(%-user-wasted-bytes={p:2.2f} > threshold={conf})"
            )
    elif key == "maxImageSize":
        if a.size_bytes > t:
            message = f"image is too large (size={a.size_bytes} > threshold={t})"
    elif key == "maxLayerCount":
        if len(a.layers) > t:
            message = f"too many layers (layers={len(a.layers)} > threshold={t})"
    elif key == "forbiddenPaths":
        for idx, entries in enumerate(a.layer_entries):
            for info in entries:
                if info.is_whiteout or info.is_dir:
                    continue
                full = "/" + info.path.lstrip("/")
                hit = next((p for p in t if _glob_hit(p, full)), None)
                if hit is not None:
                    findings.append(Finding(f"forbidden path {full} (matches {hit!r})", full, idx))
        if findings:
            message = f"{len(findings)} forbidden path(s) in the image's layers"
    elif key == "requiredLabels":
        missing = [label for label in t if label not in a.labels]
        if missing:
            message = "missing required label(s): " + ", ".join(missing)
            findings = [Finding(f"label {m} is missing") for m in missing]
    elif key == "nonRootUser":
        if _is_root(a.config_user):
            message = f"image runs as root (User={a.config_user!r})"
    elif key == "noSetuid":
        for full, info in sorted(a.final_files.items()):
            if not info.is_dir and info.perm & 0o6000:
                findings.append(Finding(f"setuid/setgid file {full} (mode {info.perm:04o})", full))
        if findings:
            message = f"{len(findings)} setuid/setgid file(s)"
    elif key == "noWorldWritable":
        for full, info in sorted(a.final_files.items()):
            symlink = info.type_flag == ord("2")
            if symlink or not info.perm & 0o002:
                continue
            if info.is_dir and info.perm & 0o1000:
                continue  # sticky directories such as /tmp are meant to be shared
            findings.append(Finding(f"world-writable {full} (mode {info.perm:04o})", full))
        if findings:
            message = f"{len(findings)} world-writable file(s) or directories"
    elif key == "allowedPlatforms":
        have = Platform.parse(a.platform)
        if not any(_platform_ok(want, have) for want in t):
            message = f"platform {a.platform} is not allowed (allowed: {conf})"
    return RuleResult(key, conf, RuleStatus.FAILED if message else RuleStatus.PASSED, message, findings)


def _platform_ok(want: Platform, have: Platform) -> bool:
    if (want.os, want.architecture) != (have.os, have.architecture):
        return False
    return not want.variant or want.variant == have.variant


@record
class CiResult:
    """The outcome of :func:`run_ci`: the analysis, each rule's result, and the rules file used."""

    analysis: Analysis
    results: list[RuleResult]
    rules_file: str | None

    @property
    def passed(self) -> bool:
        return not any(r.status is RuleStatus.FAILED for r in self.results)


def run_ci(
    source: SourceLike,
    image: str = "",
    *,
    platform: Platform | None = None,
    rules_file: str | None = None,
    overrides: Mapping[str, object] | None = None,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    verify: bool = True,
) -> CiResult:
    """Analyse an image and evaluate the rules of ``rules_file`` (dive's ``.dive-ci`` format;
    dive's defaults when None), with ``overrides`` (rule key -> value) applied last.

    The rules are loaded and validated before any layer is read. Raises InvalidDocumentError
    for a bad rules file or value, OSError when it cannot be read, and the readers' errors.
    """
    text = None
    if rules_file is not None:
        with open(rules_file, encoding="utf-8") as fh:
            text = fh.read(1 << 20)
    config = load_rules(text, path=rules_file or "")
    for key, value in (overrides or {}).items():
        if key not in RULE_KEYS:
            raise InvalidDocumentError(f"unknown rule {json.dumps(key)}", field=f"/rules/{key}")
        config[key] = value
    label = rules_file or "rules"
    # Validate before reading layers: a typo in the rules must not cost a full analysis.
    lines = {k: v for k, v in rule_lines(text).items() if k not in (overrides or {})}
    evaluate(_EMPTY, config, path=label, lines=lines)
    analysis = analyze(source, image, platform=platform, workers=workers, progress=progress, verify=verify)
    return CiResult(analysis, evaluate(analysis, config, path=label, lines=lines), rules_file)


_EMPTY = Analysis(
    source="",
    image_id="",
    platform="linux/amd64",
    layers=[],
    size_bytes=0,
    user_size_bytes=0,
    efficiency=1.0,
    wasted_bytes=0,
    user_wasted_percent=math.nan,
    inefficient=[],
    config_user="",
    labels={},
)
