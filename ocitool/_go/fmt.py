"""Go's ``fmt`` printing of values: ``Sprint``, ``Sprintln``, ``Sprintf`` and the ``%v`` forms.

Values are the model of :mod:`ocitool._go.values`. Reproduces Go 1.24's output byte for byte:
every verb (``v T t b c d o O q x X U e E f F g G s p``), the flags ``+ - # 0`` and space,
widths and precisions (``*`` and explicit ``[n]`` argument indexes included), and the error
notations (``%!d(string=x)``, ``%!v(MISSING)``, ``%!(EXTRA ...)``, ``%!(NOVERB)``,
``%!(BADINDEX)``...). ``%v`` prints slices ``[a b]``, maps ``map[k:v]`` in sorted key order,
structs ``{a b}`` (``%+v`` with names, ``%#v`` Go syntax), a nil interface ``<nil>``, typed nil
slices ``[]`` and maps ``map[]``. Never raises for any argument.

Known difference from Go: pointers nested inside printed values (which Go prints as addresses)
print as their contents, and a func prints ``0x0``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from ocitool._go.strconv import can_backquote, format_float, is_print, quote, quote_rune
from ocitool._go.strings import to_bytes
from ocitool._go.values import (
    NO_VALUE,
    GoNil,
    GoStruct,
    go_type,
    is_int,
    is_object,
    is_slice,
    object_fields,
    sorted_items,
)

__all__ = ["sprint", "sprint_indirect", "sprintf", "sprintln"]

_NO_ARG: Final[Any] = object()  # bad_verb without an operand (Go prints %!v(<nil>))


class _Printer:
    """Go's ``fmt.pp``: one Sprint/Sprintf/Sprintln call's state."""

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.clear_flags()
        self.reordered = False
        self.good_arg_num = True

    def clear_flags(self) -> None:
        self.plus = self.minus = self.sharp = self.space = self.zero = False
        self.plus_v = self.sharp_v = False
        self.wid = self.prec = 0
        self.wid_present = self.prec_present = False

    def text(self) -> str:
        return "".join(self.buf)

    # -- padding (fmt.fmt) --

    def write_padding(self, n: int) -> None:
        if n > 0:
            self.buf.append(("0" if self.zero and not self.minus else " ") * n)

    def pad(self, s: str) -> None:
        if not self.wid_present or self.wid == 0:
            self.buf.append(s)
            return
        width = self.wid - len(s)
        if not self.minus:
            self.write_padding(width)
            self.buf.append(s)
        else:
            self.buf.append(s)
            self.write_padding(width)

    def truncate(self, s: str) -> str:
        if self.prec_present:
            return s[: self.prec]
        return s

    # -- primitives --

    def fmt_bool(self, v: bool, verb: str) -> None:
        if verb in "tv":
            self.pad("true" if v else "false")
        else:
            self.bad_verb(verb, v)

    def fmt_integer(self, v: int, base: int, verb: str, upper: bool) -> None:
        negative = v < 0
        u = -v if negative else v
        prec = 0
        if self.prec_present:
            prec = self.prec
            if prec == 0 and u == 0:
                old = self.zero
                self.zero = False
                self.write_padding(self.wid)
                self.zero = old
                return
        elif self.zero and not self.minus and self.wid_present:
            prec = self.wid
            if negative or self.plus or self.space:
                prec -= 1
        if base == 10:
            digits = str(u)
        elif base == 16:
            digits = format(u, "X" if upper else "x")
        elif base == 8:
            digits = format(u, "o")
        else:
            digits = format(u, "b")
        if len(digits) < prec:
            digits = "0" * (prec - len(digits)) + digits
        if self.sharp:
            if base == 2:
                digits = "0b" + digits
            elif base == 8:
                if not digits.startswith("0"):
                    digits = "0" + digits
            elif base == 16:
                digits = ("0X" if upper else "0x") + digits
        if verb == "O":
            digits = "0o" + digits
        if negative:
            digits = "-" + digits
        elif self.plus:
            digits = "+" + digits
        elif self.space:
            digits = " " + digits
        old = self.zero
        self.zero = False
        self.pad(digits)
        self.zero = old

    def fmt_rune_char(self, v: int) -> str:
        if v < 0 or v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
            return "\ufffd"
        return chr(v)

    def fmt_int(self, v: int, verb: str) -> None:
        if verb in "vd":
            self.fmt_integer(v, 10, verb, False)
        elif verb == "b":
            self.fmt_integer(v, 2, verb, False)
        elif verb in "oO":
            self.fmt_integer(v, 8, verb, False)
        elif verb == "x":
            self.fmt_integer(v, 16, verb, False)
        elif verb == "X":
            self.fmt_integer(v, 16, verb, True)
        elif verb == "c":
            self.pad(self.fmt_rune_char(v))
        elif verb == "q":
            r = self.fmt_rune_char(v)
            self.pad(quote_rune(r, ascii_only=self.plus))
        elif verb == "U":
            self.fmt_unicode(v)
        else:
            self.bad_verb(verb, v)

    def fmt_unicode(self, v: int) -> None:
        prec = 4
        if self.prec_present and self.prec > 4:
            prec = self.prec
        s = "U+" + format(v & 0xFFFFFFFFFFFFFFFF, "X").rjust(prec, "0")
        if self.sharp and 0 <= v <= 0x10FFFF and is_print(self.fmt_rune_char(v)):
            s += " '" + chr(v) + "'"
        old = self.zero
        self.zero = False
        self.pad(s)
        self.zero = old

    def fmt_float(self, v: float, verb: str) -> None:
        if verb == "v":
            self.fmt_float_with(v, "g", -1)
        elif verb in "bgGxX":
            self.fmt_float_with(v, verb, -1)
        elif verb in "feEF":
            self.fmt_float_with(v, verb, 6)
        else:
            self.bad_verb(verb, v)

    def fmt_float_with(self, v: float, verb: str, prec: int) -> None:
        if self.prec_present:
            prec = self.prec
        num = format_float(v, verb, prec)
        if num[0] not in "+-":
            num = "+" + num
        if self.space and num[0] == "+" and not self.plus:
            num = " " + num[1:]
        if num[1] in "IN":
            old = self.zero
            self.zero = False
            if num[1] == "N" and not self.space and not self.plus:
                num = num[1:]
            self.pad(num)
            self.zero = old
            return
        if self.sharp and verb != "b":
            num = self._sharp_float(num, verb, prec)
        if self.plus or num[0] != "+":
            if self.zero and not self.minus and self.wid_present and self.wid > len(num):
                self.buf.append(num[0])
                self.write_padding(self.wid - len(num))
                self.buf.append(num[1:])
                return
            self.pad(num)
            return
        self.pad(num[1:])

    @staticmethod
    def _sharp_float(num: str, verb: str, prec: int) -> str:
        # The '#' flag keeps a decimal point and, for %g, the trailing zeros.
        digits = 0
        if verb in "vgGx":
            digits = 6 if prec == -1 else prec
        tail = ""
        has_point = False
        saw_nonzero = False
        for i in range(1, len(num)):
            ch = num[i]
            if ch == ".":
                has_point = True
            elif ch in "pP" or (ch in "eE" and verb not in "xX"):
                num, tail = num[:i], num[i:]
                break
            else:
                if ch != "0":
                    saw_nonzero = True
                if saw_nonzero:
                    digits -= 1
        if not has_point:
            if len(num) == 2 and num[1] == "0":
                digits -= 1
            num += "."
        if digits > 0:
            num += "0" * digits
        return num + tail

    def fmt_string(self, v: str, verb: str) -> None:
        if verb == "v":
            if self.sharp_v:
                self.fmt_q(v)
            else:
                self.pad(self.truncate(v))
        elif verb == "s":
            self.pad(self.truncate(v))
        elif verb in "xX":
            self.fmt_sx(to_bytes(v), verb == "X")
        elif verb == "q":
            self.fmt_q(v)
        else:
            self.bad_verb(verb, v)

    def fmt_q(self, s: str) -> None:
        s = self.truncate(s)
        if self.sharp and can_backquote(s):
            self.pad("`" + s + "`")
        else:
            self.pad(quote(s, ascii_only=self.plus))

    def fmt_sx(self, b: bytes, upper: bool) -> None:
        length = len(b)
        if self.prec_present and self.prec < length:
            length = self.prec
        width = 2 * length
        if width > 0:
            if self.space:
                if self.sharp:
                    width *= 2
                width += length - 1
            elif self.sharp:
                width += 2
        else:
            if self.wid_present:
                self.write_padding(self.wid)
            return
        if self.wid_present and self.wid > width and not self.minus:
            self.write_padding(self.wid - width)
        prefix = "0X" if upper else "0x"
        out = []
        if self.sharp:
            out.append(prefix)
        for i in range(length):
            if self.space and i > 0:
                out.append(" ")
                if self.sharp:
                    out.append(prefix)
            h = format(b[i], "02x")
            out.append(h.upper() if upper else h)
        self.buf.append("".join(out))
        if self.wid_present and self.wid > width and self.minus:
            self.write_padding(self.wid - width)

    # -- errors --

    def bad_verb(self, verb: str, arg: Any = _NO_ARG) -> None:
        self.buf.append("%!" + verb + "(")
        if arg is _NO_ARG or arg is None or arg is NO_VALUE:
            self.buf.append("<nil>")
        else:
            self.buf.append(go_type(arg) + "=")
            self.print_arg(arg, "v")
        self.buf.append(")")

    # -- values --

    def print_arg(self, arg: Any, verb: str) -> None:
        if arg is None:
            if verb in "Tv":
                self.pad("<nil>")
            else:
                self.bad_verb(verb)
            return
        if verb == "T":
            self.pad(self.truncate(go_type(arg)))
            return
        if verb == "p":
            self.bad_verb(verb, arg)
            return
        self.print_value(arg, verb, 0)

    def print_value(self, v: Any, verb: str, depth: int) -> None:
        if v is NO_VALUE:
            if depth == 0:
                self.buf.append("<invalid reflect.Value>")
            elif verb == "v":
                self.buf.append("<nil>")
            else:
                self.bad_verb(verb)
            return
        if v is None:
            self.buf.append("interface {}(nil)" if self.sharp_v else "<nil>")
            return
        if isinstance(v, bool):
            self.fmt_bool(v, verb)
        elif isinstance(v, int):
            self.fmt_int(v, verb)
        elif isinstance(v, float):
            self.fmt_float(v, verb)
        elif isinstance(v, str):
            self.fmt_string(v, verb)
        elif isinstance(v, GoNil):
            self.print_nil(v, verb)
        elif isinstance(v, GoStruct):
            self.print_struct(v, go_type(v), list(v.items()), verb, depth)
        elif isinstance(v, Mapping):
            self.print_map(v, verb, depth)
        elif is_slice(v):
            if self.sharp_v:
                self.buf.append(go_type(v) + "{")
                sep = ", "
            else:
                self.buf.append("[")
                sep = " "
            for i, item in enumerate(v):
                if i:
                    self.buf.append(sep)
                self.print_value(item, verb, depth + 1)
            self.buf.append("}" if self.sharp_v else "]")
        elif is_object(v):
            fields = [(k, f) for k, f in object_fields(v).items() if not callable(f)]
            if depth == 0:
                self.buf.append("&")
            self.print_struct(v, go_type(v).lstrip("*"), fields, verb, depth + 1)
        elif callable(v):
            # A func prints as its address in Go, which no Python value reproduces.
            if verb == "v":
                self.pad("0x0")
            else:
                self.bad_verb(verb, v)
        else:
            # Anything else prints through its str(), as a fmt.Stringer would.
            self.fmt_string(str(v), verb if verb in "vsxXq" else "v")

    def print_nil(self, v: GoNil, verb: str) -> None:
        if v.kind == "pointer":
            if verb == "v":
                if self.sharp_v:
                    self.buf.append(f"({v.type_name})(nil)")
                else:
                    self.pad("<nil>")
            elif verb in "bodxX":
                self.fmt_int(0, verb)
            elif verb == "p":
                self.pad("0x0")
            else:
                self.bad_verb(verb, v)
        elif self.sharp_v:
            self.buf.append(v.type_name + "(nil)")
        else:
            self.buf.append("[]" if v.kind == "slice" else "map[]")

    def print_map(self, m: Mapping[Any, Any], verb: str, depth: int) -> None:
        if self.sharp_v:
            self.buf.append(go_type(m) + "{")
        else:
            self.buf.append("map[")
        for i, (k, val) in enumerate(sorted_items(m)):
            if i:
                self.buf.append(", " if self.sharp_v else " ")
            self.print_value(k, verb, depth + 1)
            self.buf.append(":")
            self.print_value(val, verb, depth + 1)
        self.buf.append("}" if self.sharp_v else "]")

    def print_struct(
        self, v: Any, type_name: str, fields: list[tuple[str, Any]], verb: str, depth: int
    ) -> None:
        if self.sharp_v:
            self.buf.append(type_name)
        self.buf.append("{")
        for i, (name, val) in enumerate(fields):
            if i:
                self.buf.append(", " if self.sharp_v else " ")
            if self.plus_v or self.sharp_v:
                self.buf.append(f"{name}:")
            self.print_value(val, verb, depth + 1)
        self.buf.append("}")

    # -- entry points --

    def do_print(self, args: Sequence[Any]) -> None:
        prev_string = False
        for i, arg in enumerate(args):
            is_string = isinstance(arg, str)
            if i > 0 and not is_string and not prev_string:
                self.buf.append(" ")
            self.print_arg(arg, "v")
            prev_string = is_string

    def do_println(self, args: Sequence[Any]) -> None:
        for i, arg in enumerate(args):
            if i > 0:
                self.buf.append(" ")
            self.print_arg(arg, "v")
        self.buf.append("\n")

    def do_printf(self, fmt: str, args: Sequence[Any]) -> None:
        end = len(fmt)
        arg_num = 0
        after_index = False
        self.reordered = False
        i = 0
        while i < end:
            self.good_arg_num = True
            lasti = i
            while i < end and fmt[i] != "%":
                i += 1
            if i > lasti:
                self.buf.append(fmt[lasti:i])
            if i >= end:
                break
            i += 1
            self.clear_flags()
            simple_done = False
            while i < end:
                c = fmt[i]
                if c == "#":
                    self.sharp = True
                elif c == "0":
                    self.zero = not self.minus
                elif c == "+":
                    self.plus = True
                elif c == "-":
                    self.minus = True
                    self.zero = False
                elif c == " ":
                    self.space = True
                else:
                    if "a" <= c <= "z" and arg_num < len(args):
                        if c == "v":
                            self.sharp_v, self.sharp = self.sharp, False
                            self.plus_v, self.plus = self.plus, False
                        self.print_arg(args[arg_num], c)
                        arg_num += 1
                        i += 1
                        simple_done = True
                    break
                i += 1
            if simple_done:
                continue

            arg_num, i, after_index = self._arg_number(arg_num, fmt, i, len(args))

            if i < end and fmt[i] == "*":
                i += 1
                self.wid, self.wid_present, arg_num = self._int_from_arg(args, arg_num)
                if not self.wid_present:
                    self.buf.append("%!(BADWIDTH)")
                if self.wid < 0:
                    self.wid = -self.wid
                    self.minus = True
                    self.zero = False
                after_index = False
            else:
                self.wid, self.wid_present, i = _parsenum(fmt, i, end)
                if after_index and self.wid_present:
                    self.good_arg_num = False

            if i + 1 < end and fmt[i] == ".":
                i += 1
                if after_index:
                    self.good_arg_num = False
                arg_num, i, after_index = self._arg_number(arg_num, fmt, i, len(args))
                if i < end and fmt[i] == "*":
                    i += 1
                    self.prec, self.prec_present, arg_num = self._int_from_arg(args, arg_num)
                    if self.prec < 0:
                        self.prec = 0
                        self.prec_present = False
                    if not self.prec_present:
                        self.buf.append("%!(BADPREC)")
                    after_index = False
                else:
                    self.prec, self.prec_present, i = _parsenum(fmt, i, end)
                    if not self.prec_present:
                        self.prec = 0
                        self.prec_present = True

            if not after_index:
                arg_num, i, after_index = self._arg_number(arg_num, fmt, i, len(args))

            if i >= end:
                self.buf.append("%!(NOVERB)")
                break

            verb = fmt[i]
            i += 1
            if verb == "%":
                self.buf.append("%")
            elif not self.good_arg_num:
                self.buf.append(f"%!{verb}(BADINDEX)")
            elif arg_num >= len(args):
                self.buf.append(f"%!{verb}(MISSING)")
            else:
                if verb == "v":
                    self.sharp_v, self.sharp = self.sharp, False
                    self.plus_v, self.plus = self.plus, False
                self.print_arg(args[arg_num], verb)
                arg_num += 1

        if not self.reordered and arg_num < len(args):
            self.clear_flags()
            self.buf.append("%!(EXTRA ")
            for j, arg in enumerate(args[arg_num:]):
                if j:
                    self.buf.append(", ")
                if arg is None:
                    self.buf.append("<nil>")
                else:
                    self.buf.append(go_type(arg) + "=")
                    self.print_arg(arg, "v")
            self.buf.append(")")

    def _arg_number(self, arg_num: int, fmt: str, i: int, nargs: int) -> tuple[int, int, bool]:
        if len(fmt) <= i or fmt[i] != "[":
            return arg_num, i, False
        self.reordered = True
        index, wid, ok = _parse_arg_number(fmt[i:])
        if ok and 0 <= index < nargs:
            return index, i + wid, True
        self.good_arg_num = False
        return arg_num, i + wid, ok

    @staticmethod
    def _int_from_arg(args: Sequence[Any], arg_num: int) -> tuple[int, bool, int]:
        num, ok, new = 0, False, arg_num
        if arg_num < len(args):
            a = args[arg_num]
            if is_int(a):
                num, ok = a, True
            new = arg_num + 1
            if num > 1_000_000 or num < -1_000_000:
                num, ok = 0, False
        return num, ok, new


def _parsenum(s: str, start: int, end: int) -> tuple[int, bool, int]:
    num, isnum, i = 0, False, start
    while i < end and "0" <= s[i] <= "9":
        if num > 1_000_000 or num < -1_000_000:
            return 0, False, end
        num = num * 10 + ord(s[i]) - 48
        isnum = True
        i += 1
    return num, isnum, i


def _parse_arg_number(fmt: str) -> tuple[int, int, bool]:
    if len(fmt) < 3:
        return 0, 1, False
    for i in range(1, len(fmt)):
        if fmt[i] == "]":
            width, ok, newi = _parsenum(fmt, 1, i)
            if not ok or newi != i:
                return 0, i + 1, False
            return width - 1, i + 1, True
    return 0, 1, False


def sprint(*args: Any) -> str:
    """``fmt.Sprint``: operands printed with ``%v``, spaces between non-string operands."""
    p = _Printer()
    p.do_print(args)
    return p.text()


def sprintln(*args: Any) -> str:
    """``fmt.Sprintln``: operands printed with ``%v``, space separated, newline terminated."""
    p = _Printer()
    p.do_println(args)
    return p.text()


def sprintf(fmt: str, *args: Any) -> str:
    """``fmt.Sprintf`` with Go's verbs, flags, widths, precisions and error notations."""
    p = _Printer()
    p.do_printf(fmt, args)
    return p.text()


def sprint_indirect(v: Any) -> str:
    """``fmt.Sprint`` of what ``v`` points to: a :class:`~ocitool._go.values.TemplateObject`
    prints as its struct (``{a b}``, no ``&``), anything else as :func:`sprint` does."""
    if not is_object(v):
        return sprint(v)
    p = _Printer()
    fields = [(k, f) for k, f in object_fields(v).items() if not callable(f)]
    p.print_struct(v, go_type(v).lstrip("*"), fields, "v", 1)
    return p.text()
