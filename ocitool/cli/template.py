"""What docker adds to Go's ``text/template`` (``cli/templates`` and ``cli/command/formatter``),
and nothing more:

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
``template parsing error: ``. Commands import this module only when they execute a template.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Self

from ocitool._go import json as _gojson
from ocitool._go import strings as _gostrings
from ocitool._go.runewidth import string_width
from ocitool._go.tabwriter import Writer
from ocitool._go.template import CallError, Func, TemplateError
from ocitool._go.template import Template as _GoTemplate
from ocitool._go.values import GoMap, GoNil, UnsupportedValueError, go_generic, json_value

__all__ = [
    "DOCKER_FUNCS",
    "TabWriter",
    "Template",
    "is_table_format",
    "prepare_format",
    "render_table",
    "strip_table",
]


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
