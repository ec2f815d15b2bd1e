"""``--change`` for ``import`` and commits: moby's ``dockerfile.BuildFromConfig`` for the
instructions docker allows there (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME,
WORKDIR, STOPSIGNAL), applied to a :class:`~ocitool.model.config.ContainerConfig`.

Quoting follows the Dockerfile parser (``"…"``, ``'…'``, backslash escapes); JSON (exec) form
for CMD, ENTRYPOINT and VOLUME; shell form runs under ``/bin/sh -c``. Variables are not
expanded (no build args exist in an import).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence
from typing import Any

from ocitool.errors import InvalidConfigError
from ocitool.model.config import ContainerConfig

__all__ = ["ALLOWED_CHANGES", "apply_changes"]

ALLOWED_CHANGES = (
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "LABEL",
    "ONBUILD",
    "USER",
    "VOLUME",
    "WORKDIR",
    "STOPSIGNAL",
)


def _bad(change: str, reason: str) -> InvalidConfigError:
    return InvalidConfigError(f"invalid change {change!r}: {reason}", field="--change")


def _words(text: str, change: str) -> list[str]:
    """Split on unquoted whitespace, removing quotes and escapes (Dockerfile word rules)."""
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    quote = ""
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and quote == '"' and i + 1 < len(text):
                i += 1
                cur.append(text[i])
            else:
                cur.append(c)
        elif c in "\"'":
            quote = c
            in_word = True
        elif c == "\\" and i + 1 < len(text):
            i += 1
            cur.append(text[i])
            in_word = True
        elif c.isspace():
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
        else:
            cur.append(c)
            in_word = True
        i += 1
    if quote:
        raise _bad(change, "unterminated quote")
    if in_word:
        words.append("".join(cur))
    return words


def _pairs(rest: str, change: str, *, legacy_ok: bool) -> list[tuple[str, str]]:
    words = _words(rest, change)
    if not words:
        raise _bad(change, "needs at least one argument")
    if "=" not in words[0]:
        if not legacy_ok:
            raise _bad(change, "expected key=value")
        key, _sep, value = rest.strip().partition(" ")
        if not value.strip():
            raise _bad(change, "needs a value")
        return [(key, " ".join(_words(value.strip(), change)) if value.strip() else "")]
    out = []
    for w in words:
        key, sep, value = w.partition("=")
        if not sep or not key:
            raise _bad(change, f"expected key=value, got {w!r}")
        out.append((key, value))
    return out


def _exec_or_shell(rest: str) -> tuple[list[str], bool]:
    text = rest.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value, True
    return ["/bin/sh", "-c", text], False


def apply_changes(config: ContainerConfig, changes: Sequence[str]) -> ContainerConfig:
    """``config`` with each change applied in order. Raises InvalidConfigError (field
    ``--change``) for an instruction docker does not allow or cannot parse."""
    raw: dict[str, Any] = dict(config.to_json(keep_unknown=False))
    cmd_set = False
    for change in changes:
        text = change.strip()
        keyword, _, rest = text.partition(" ")
        if not keyword:
            continue
        kw = keyword.upper()
        rest = rest.strip()
        if kw not in ALLOWED_CHANGES:
            raise InvalidConfigError(f"{keyword} is not a valid change command", field="--change")
        if kw == "CMD":
            raw["Cmd"] = _exec_or_shell(rest)[0]
            cmd_set = True
        elif kw == "ENTRYPOINT":
            value, exec_form = _exec_or_shell(rest)
            raw["Entrypoint"] = None if exec_form and not value else value
            if not cmd_set:
                raw["Cmd"] = None
        elif kw == "ENV":
            env = list(raw.get("Env") or [])
            for key, val in _pairs(rest, change, legacy_ok=True):
                env = [e for e in env if e.split("=", 1)[0] != key] + [f"{key}={val}"]
            raw["Env"] = env
        elif kw == "LABEL":
            labels = dict(raw.get("Labels") or {})
            for key, val in _pairs(rest, change, legacy_ok=True):
                labels[key] = val
            raw["Labels"] = labels
        elif kw == "EXPOSE":
            ports = dict(raw.get("ExposedPorts") or {})
            for word in _words(rest, change):
                port, _, proto = word.partition("/")
                proto = (proto or "tcp").lower()
                lo, _, hi = port.partition("-")
                if not lo.isdigit() or (hi and not hi.isdigit()):
                    raise _bad(change, f"invalid port {word!r}")
                for p in range(int(lo), int(hi or lo) + 1):
                    ports[f"{p}/{proto}"] = {}
            raw["ExposedPorts"] = ports
        elif kw == "ONBUILD":
            trigger, _sep, expr = rest.partition(" ")
            if trigger.upper() in ("ONBUILD", "FROM", "MAINTAINER"):
                raise _bad(change, f"{trigger.upper()} isn't allowed as an ONBUILD trigger")
            raw["OnBuild"] = [*(raw.get("OnBuild") or []), f"{trigger.upper()} {expr}".strip()]
        elif kw == "USER":
            raw["User"] = rest
        elif kw == "VOLUME":
            value, exec_form = _exec_or_shell(rest)
            names = value if exec_form else _words(rest, change)
            vols = dict(raw.get("Volumes") or {})
            for v in names:
                if not v.strip():
                    raise _bad(change, "VOLUME specified can not be an empty string")
                vols[v.strip()] = {}
            raw["Volumes"] = vols
        elif kw == "WORKDIR":
            if not rest:
                raise _bad(change, "WORKDIR requires exactly one argument")
            base = raw.get("WorkingDir") or "/"
            raw["WorkingDir"] = posixpath.normpath(posixpath.join(base, rest))
        elif kw == "STOPSIGNAL":
            if not rest:
                raise _bad(change, "STOPSIGNAL requires exactly one argument")
            raw["StopSignal"] = rest
    return ContainerConfig(raw)
