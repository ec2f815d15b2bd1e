"""Go's standard library as Docker prints with it, reproduced byte for byte. Private.

One module per Go package, in import order (each imports only those above it, the standard
library and :mod:`ocitool.errors`; nothing else of ocitool):

* :mod:`.strings` -- ``strings`` case mapping and ``Split``; Go strings as ``str`` with
  undecodable bytes escaped (``[]byte(s)``, ``string(b)``)
* :mod:`.strconv` -- ``Quote``/``Unquote``, ``ParseInt``/``ParseUint``/``Atoi``/``ParseFloat``,
  ``FormatFloat``, ``IsPrint``
* :mod:`.bufio` -- ``bufio.Scanner`` with ``ScanLines`` (the 64 KiB line limit)
* :mod:`.path` -- ``path.Clean``, ``path.Join`` and ``path.Match``
* :mod:`.regexp` -- ``regexp`` (RE2 syntax, matched in linear time)
* :mod:`.time` -- ``time.ParseDuration`` and ``Duration.String``
* :mod:`.json` -- ``encoding/json`` output
* :mod:`.values` -- Go values as Python values (``reflect``'s view: nils, structs, maps, slices)
* :mod:`.fmt` -- ``fmt.Sprint``/``Sprintf``/``Sprintln``
* :mod:`.runewidth` -- go-runewidth's display width
* :mod:`.tabwriter` -- ``text/tabwriter``
* :mod:`.template` -- ``text/template``: ``lex``, ``parse``, ``funcs``, ``exec``

docker's own layer (its template functions, ``table`` directive and tabwriter fork) lives in
:mod:`ocitool.cli.render`, not here.
"""

__all__: list[str] = []
