"""Go's ``text/template`` (Go 1.24), split as Go splits it: :mod:`.lex` and :mod:`.parse`
(``text/template/parse``), :mod:`.funcs` (the predefined functions and typed calls) and
:mod:`.exec` (execution and the :class:`Template` API).

Parse once, execute many times::

    tmpl = Template.parse("{{range .}}{{.Name}} {{end}}", funcs={...})
    text = tmpl.execute(data)

Data is in the value model of :mod:`ocitool._go.values`. Supported: text and ``{{ }}``
actions with ``{{-``/``-}}`` trim markers, comments, pipelines, field chains, variables,
``if``/``else if``/``else``, ``range`` (slices, maps in sorted key order, integers, ``else``,
``break``, ``continue``), ``with``/``else with``, ``define``/``template``/``block``,
parenthesised pipelines, every literal but complex numbers, and the builtins
``and or not len index slice eq ne lt le gt ge print printf println html js urlquery``.
Known differences from Go: complex constants and the ``call`` builtin are not supported, and
the Go type names in some error messages are approximations. Errors raise
:class:`TemplateError` (an :class:`~ocitool.errors.OcitoolError` and ``ValueError``) with Go's
message text.
"""

from ocitool._go.template.exec import Template, go_format_value
from ocitool._go.template.funcs import CallError, Func
from ocitool._go.template.parse import TemplateError

__all__ = ["CallError", "Func", "Template", "TemplateError", "go_format_value"]
