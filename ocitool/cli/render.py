"""How the docker CLI renders: values (human sizes and durations, truncated IDs, ellipses, errors
in the daemon's words) and ``--format`` output (docker's template functions, the ``table``
directive, its tabwriter), and the end of every command's ``--help`` (:func:`epilog`).

Each function reproduces the Go code docker v28 uses (go-units, docker/cli's ``formatter``,
``templates`` and ``stringid``) so that output reads byte for byte as docker's does.

What docker adds to Go's ``text/template`` (``cli/templates`` and ``cli/command/formatter``),
and nothing more, is here:

* the template functions docker's ``templates.Parse`` registers: ``json`` (an encoder with
  HTML escaping off, trailing newline trimmed), ``split``, ``join``, ``title``, ``lower``,
  ``upper``, ``pad`` and ``truncate`` (:data:`DOCKER_FUNCS`), and the header functions that
  leave column names intact;
* :class:`Template`, Go's template with docker's functions by default, and the two-step run of
  ``docker image inspect --format`` (:meth:`Template.execute_with_fallback`);
* :class:`TabWriter`, docker's fork of ``text/tabwriter`` that measures display columns;
* the ``table`` directive and ``formatter.Context`` rendering (:func:`render_table`).

The Go engine itself is :mod:`ocitool._go.template` with :mod:`ocitool._go.values` (the data
model), :mod:`ocitool._go.fmt` and :mod:`ocitool._go.tabwriter`. Template errors are
:class:`~ocitool._go.template.TemplateError` with Go's text; docker prefixes it with
``template parsing error: ``.
"""

from __future__ import annotations

import argparse
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Self

from ocitool._go import json as _gojson
from ocitool._go import strings as _gostrings
from ocitool._go.runewidth import string_width
from ocitool._go.tabwriter import Writer
from ocitool._go.template import CallError, Func, TemplateError
from ocitool._go.template import Template as _GoTemplate
from ocitool._go.values import GoMap, GoNil, UnsupportedValueError, go_generic, json_value
from ocitool.errors import ImageNotFoundError, OcitoolError

__all__ = [
    "DOCKER_FUNCS",
    "SOURCE_IMAGE",
    "STORE_IMAGE",
    "TabWriter",
    "Template",
    "created_at_go",
    "created_since",
    "daemon_message",
    "history_created_since",
    "image_created_since",
    "ellipsis",
    "epilog",
    "human_duration",
    "human_size",
    "is_table_format",
    "prepare_format",
    "render_table",
    "rfc3339_local",
    "strip_table",
    "truncate_id",
]


# -- values (go-units, stringid, formatter.Ellipsis) --

_DECIMAL_UNITS: Final = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def human_size(size: float, precision: int = 3) -> str:
    """go-units ``HumanSizeWithPrecision``: decimal units, ``%.*g`` (``HumanSize`` is precision 4)."""
    unit = 0
    while size >= 1000.0 and unit < len(_DECIMAL_UNITS) - 1:
        size /= 1000.0
        unit += 1
    return f"{size:.{precision}g}{_DECIMAL_UNITS[unit]}"


def human_duration(seconds_float: float) -> str:
    """go-units ``HumanDuration``."""
    seconds = int(seconds_float)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = int(seconds_float / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    # d.Round(time.Hour): halves round away from zero.
    hours = (
        int((seconds_float + 1800) // 3600) if seconds_float >= 0 else int(-((-seconds_float + 1800) // 3600))
    )
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds_float / 3600) // 24 // 365} years"


def created_since(created_unix: int, now: float | None = None) -> str:
    """``"<duration> ago"`` as docker's images and history tables print it."""
    now = time.time() if now is None else now
    return human_duration(now - created_unix) + " ago"


# time.Unix(GO_ZERO_UNIX, 0) is Go's zero time (0001-01-01 UTC): an image whose config says
# "0001-01-01T00:00:00Z" (reproducible builds) has it as its Created.
GO_ZERO_UNIX: Final = -62135596800


def image_created_since(created_unix: int, now: float | None = None) -> str:
    """The ``CreatedSince`` of a ``docker images`` row: ``""`` for Go's zero time (the default
    table then prints ``N/A``), else :func:`created_since`."""
    return "" if created_unix == GO_ZERO_UNIX else created_since(created_unix, now)


def history_created_since(created_unix: int, now: float | None = None) -> str:
    """The ``CreatedSince`` of a ``docker history`` row: ``N/A`` at or before the Unix epoch."""
    return "N/A" if created_unix <= 0 else created_since(created_unix, now)


def _local(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC).astimezone()


def _year(dt: datetime) -> str:
    # Go pads the year to four digits ("0001" for the zero time); strftime's %Y does not.
    return f"{dt.year:04d}"


def created_at_go(created_unix: int) -> str:
    """Go's ``time.Unix(t, 0).String()`` in the local zone: ``2006-01-02 15:04:05 -0700 MST``."""
    dt = _local(created_unix)
    name = dt.tzname() or dt.strftime("%z")
    return _year(dt) + dt.strftime("-%m-%d %H:%M:%S %z ") + name


def rfc3339_local(created_unix: int) -> str:
    """Go's ``time.Unix(t, 0).Format(time.RFC3339)`` in the local zone."""
    dt = _local(created_unix)
    offset = dt.utcoffset()
    if offset is not None and offset.total_seconds() == 0:
        return _year(dt) + dt.strftime("-%m-%dT%H:%M:%SZ")
    text = _year(dt) + dt.strftime("-%m-%dT%H:%M:%S%z")
    return text[:-2] + ":" + text[-2:]


def truncate_id(image_id: str) -> str:
    """docker's ``stringid.TruncateID``: drop ``algorithm:``, keep 12 characters."""
    if ":" in image_id:
        image_id = image_id.split(":", 1)[1]
    return image_id[:12]


def _rune_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def ellipsis(text: str, max_width: int) -> str:
    """docker/cli's ``formatter.Ellipsis``: cut to ``max_width`` display columns with ``…``."""
    if max_width <= 0:
        return ""
    if max_width == 1:
        return text[:1]
    if len(text.encode()) == len(text):
        return text if len(text) <= max_width else text[: max_width - 1] + "…"
    widths = []
    total = 0
    for ch in text:
        total += _rune_width(ch)
        widths.append(total)
    if total <= max_width:
        return text
    for i in range(len(widths) - 1):
        if widths[i] <= max_width - 1 < widths[i + 1]:
            return text[: i + 1] + "…"
    return text


def daemon_message(exc: OcitoolError) -> str:
    """An error of a store command as the daemon words it: ``No such image: alpine:latest``."""
    if isinstance(exc, ImageNotFoundError):
        return f"No such image: {exc.ref}"
    return str(exc)


# -- docker's template functions (cli/templates/templates.go) --


def _fn_json(v: Any) -> str:
    # docker's json func: an Encoder with HTML escaping off, trailing newline trimmed;
    # an encoding error leaves the buffer empty.
    try:
        return _gojson.dumps(json_value(v), escape_html=False).strip()
    except UnsupportedValueError:
        return ""


def _fn_join(elems: Any, sep: str) -> str:
    if isinstance(elems, GoNil):
        return ""
    return sep.join(elems)


def _fn_pad(source: str, prefix: int, suffix: int) -> str:
    # padWithSpace: nothing to pad in an empty string.
    if source == "":
        return source
    if prefix < 0 or suffix < 0:
        raise CallError("strings: negative Repeat count")
    return " " * prefix + source + " " * suffix


def _fn_truncate(source: str, length: int) -> str:
    # truncateWithLength: a byte slice of the string, as Go's source[:length].
    b = _gostrings.to_bytes(source)
    if len(b) < length:
        return source
    if length < 0:
        raise CallError(f"runtime error: slice bounds out of range [:{length}]")
    return _gostrings.from_bytes(b[:length])


DOCKER_FUNCS: Final[Mapping[str, Func]] = {
    "json": Func(_fn_json, ("any",)),
    "split": Func(_gostrings.split, ("string", "string")),
    "join": Func(_fn_join, ("[]string", "string")),
    "title": Func(_gostrings.title, ("string",)),
    "lower": Func(_gostrings.to_lower, ("string",)),
    "upper": Func(_gostrings.to_upper, ("string",)),
    "pad": Func(_fn_pad, ("string", "int", "int")),
    "truncate": Func(_fn_truncate, ("string", "int")),
}
"""The functions docker's ``templates.Parse`` adds to Go's builtins, with their Go signatures."""


def _identity(v: str, *_: Any) -> str:
    return v


# docker's templates.HeaderFunctions: the header row keeps column names intact.
_HEADER_FUNCS: Final[Mapping[str, Func]] = {
    "json": Func(_identity, ("string",)),
    "split": Func(_identity, ("string", "string")),
    "join": Func(_identity, ("string", "string")),
    "title": Func(_identity, ("string",)),
    "lower": Func(_identity, ("string",)),
    "upper": Func(_identity, ("string",)),
    "truncate": Func(_identity, ("string", "int")),
}


class Template(_GoTemplate):
    """A Go template as docker parses it: Go's builtins plus :data:`DOCKER_FUNCS`."""

    __slots__ = ()

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        name: str = "",
        funcs: Mapping[str, Callable[..., Any] | Func] | None = None,
        docker_funcs: bool = True,
    ) -> Self:
        """Parse ``text`` as docker's ``templates.Parse`` does (Go's ``Parse`` with docker's
        functions; without them when ``docker_funcs`` is false). ``funcs`` are added last and
        may replace any function. Raises :class:`TemplateError` with Go's message.
        """
        table: dict[str, Callable[..., Any] | Func] = dict(DOCKER_FUNCS) if docker_funcs else {}
        table.update(funcs or {})
        return super().parse(text, name=name, funcs=table)

    def execute_with_fallback(self, typed: Any, raw: Any) -> str:
        """Execute as ``docker image inspect`` does (``TemplateInspector.Inspect``).

        ``typed`` mirrors the Go struct; when executing against it fails, the template runs
        again with ``missingkey=error`` against ``raw``, the decoded JSON document, typed
        as docker's ``UseNumber`` decoder types it (see :func:`~ocitool._go.values.go_generic`).
        The error of that second run, if any, is raised; docker prints it after ``template
        parsing error: ``.
        """
        try:
            return self.execute(typed)
        except TemplateError:
            return self.execute(go_generic(raw, use_number=True), missingkey="error")


class TabWriter(Writer):
    """docker's fork of ``text/tabwriter`` (``cli/command/formatter/tabwriter``): cells are
    measured in display columns (go-runewidth's ``StringWidth``) unless ``width`` is given
    (``len`` is upstream Go's rune count). Arguments as :class:`~ocitool._go.tabwriter.Writer`.
    """

    __slots__ = ()

    def __init__(self, *args: Any, width: Callable[[str], int] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, width=width or string_width, **kwargs)

    @classmethod
    def docker(cls, **kwargs: Any) -> Self:
        """The writer docker's tables use: ``NewWriter(out, 10, 1, 3, ' ', 0)``."""
        return cls(10, 1, 3, " ", 0, **kwargs)


# -- docker's formatter.Context: table and custom formats --


def is_table_format(fmt: str) -> bool:
    """Whether docker treats ``fmt`` as a table format (it starts with ``table``)."""
    return fmt.startswith("table")


def strip_table(fmt: str) -> str:
    """``fmt`` without docker's ``table`` directive and the spaces around the rest."""
    if is_table_format(fmt):
        fmt = fmt[len("table") :]
    return fmt.strip(" ")


def prepare_format(fmt: str) -> str:
    """The template text docker parses for ``--format fmt`` (``Context.preFormat``).

    Drops a ``table`` prefix, turns the format ``json`` into ``{{json .}}``, trims spaces and
    replaces the two-character sequences ``\\t`` and ``\\n`` with a tab and a newline.
    """
    if not is_table_format(fmt) and fmt == "json":
        fmt = "{{json .}}"
    return strip_table(fmt).replace("\\t", "\t").replace("\\n", "\n")


def _header_label(name: str) -> str:
    last = name.split(".")[-1]
    return last.replace("-", " ").replace("_", " ")


def render_table(
    fmt: str,
    rows: Iterable[Any],
    headers: Mapping[str, str],
    *,
    funcs: Mapping[str, Callable[..., Any]] | None = None,
) -> str:
    """Render ``rows`` with ``--format fmt`` exactly as docker's ``formatter.Context.Write``.

    Each row executes the template and ends with a newline. For a table format the header
    row comes first: the same template executed against a map of ``headers`` (field name
    to column title, with a ``Label`` method) using docker's header functions (``json``,
    ``upper``... return their argument); a header error is ignored, keeping the text
    written before it. Header and rows then go through :meth:`TabWriter.docker`.
    Raises :class:`TemplateError` when the format does not parse or a row fails.
    """
    text = prepare_format(fmt)
    tmpl = Template.parse(text, funcs=funcs)
    body: list[str] = []
    for row in rows:
        body.append(tmpl.execute(row))
        body.append("\n")
    if not is_table_format(fmt):
        return "".join(body)
    header_ctx = GoMap(
        headers, elem_type="string", methods={"Label": _header_label}, type_name="formatter.SubHeaderContext"
    )
    try:
        header = tmpl.execute(header_ctx, funcs=_HEADER_FUNCS)
    except TemplateError as e:
        header = e.output
    tw = TabWriter.docker()
    tw.write(header)
    tw.write("\n")
    tw.write("".join(body))
    tw.flush()
    return tw.getvalue()


# -- help: what SOURCE and IMAGE accept (one text, shared by every command), and examples --

SOURCE_IMAGE = """\
SOURCE is a path, its format read from its content (a docker save archive of any vintage, an OCI
layout or archive, a skopeo dir: copy, any of them compressed whole), or skopeo's syntax:
  docker-archive:PATH[:NAME|:@N]  oci:DIR[:REF]  oci-archive:PATH[:REF]  dir:PATH
IMAGE picks one image of SOURCE: a name as in RepoTags (alpine means
docker.io/library/alpine:latest), an OCI ref.name annotation as written, a full image ID or a
unique ID prefix (sha256:... or bare hex), or @N (the N-th image, from 0)."""

STORE_IMAGE = """\
IMAGE names an image of the store (--root DIR, default $OCITOOL_ROOT): NAME[:TAG] as docker
normalises it (alpine means docker.io/library/alpine:latest), a full image ID or a unique ID
prefix."""


def epilog(*examples: str, grammar: str = SOURCE_IMAGE) -> dict[str, Any]:
    """``add_parser`` keyword arguments for a command's help: ``grammar`` (what SOURCE and IMAGE
    accept), then ``examples`` (command lines after ``ocitool``), kept as written."""
    lines = "\n".join(f"  ocitool {example}" for example in examples)
    return {
        "epilog": f"{grammar}\n\nexamples:\n{lines}" if grammar else f"examples:\n{lines}",
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }
