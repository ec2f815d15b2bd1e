"""Go's standard library as Docker prints with it: ``encoding/json`` text, ``fmt`` verbs,
``text/template``, ``tabwriter``, and the ``path``/``strings`` helpers. Private; no ocitool imports
above :mod:`ocitool.errors`.
"""

__all__: list[str] = []
