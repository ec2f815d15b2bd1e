"""The parser of Go's ``text/template/parse``: template text to a tree of nodes.

:class:`Parser` is Go 1.24's recursive-descent parser over :class:`~.lex.Lexer`: pipelines with
declarations and assignments, commands, field chains, ``if``/``else if``/``range``/``with``/
``else with``, ``break``/``continue`` inside ``range``, ``define``/``template``/``block``,
parenthesised pipelines (at most 10,000 deep) and every literal but complex numbers (number
constants are typed as Go types them: int64, uint64 and float64 at once where exact).
Functions must be known at parse time. Each node's ``str()`` is Go's ``String()`` of it, which
error messages quote. Raises :class:`TemplateError` with Go's message, e.g.
``template: NAME:LINE: unexpected "}" in operand``.
"""

from __future__ import annotations

from typing import Final, NoReturn

import ocitool._go.template.lex as lex
from ocitool._go.strconv import (
    InvalidSyntaxError,
    parse_float,
    parse_int,
    parse_uint,
    quote,
    unquote,
    unquote_char,
)
from ocitool.errors import OcitoolError

__all__ = [
    "ActionNode",
    "BoolNode",
    "BranchNode",
    "BreakNode",
    "ChainNode",
    "CommandNode",
    "CommentNode",
    "ContinueNode",
    "DotNode",
    "ElseNode",
    "EndNode",
    "FieldNode",
    "IdentifierNode",
    "IfNode",
    "ListNode",
    "NilNode",
    "Node",
    "NumberNode",
    "Parser",
    "PipeNode",
    "RangeNode",
    "StringNode",
    "TemplateError",
    "TemplateNode",
    "TextNode",
    "VariableNode",
    "WithNode",
]


class TemplateError(OcitoolError, ValueError):
    """A template failed to parse or to execute.

    ``str()`` is Go's error text, e.g. ``template: :1: unexpected "}" in operand`` or
    ``template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"``; docker
    prefixes it with ``template parsing error: ``. ``line`` is the 1-based line of the
    fault; ``column`` (execution errors only) is Go's 0-based byte offset within that line.
    ``output`` holds what execution had written before it failed (Go leaves it in the writer).
    """

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        output: str = "",
    ) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.output = output


class Node:
    """A node of the tree: its offset in the text (``pos``) and, where Go records it, ``line``."""

    __slots__ = ("line", "pos")

    def __init__(self, pos: int, line: int = 0) -> None:
        self.pos = pos
        self.line = line


class ListNode(Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.nodes: list[Node] = []

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


class TextNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text

    def __str__(self) -> str:
        return self.text


class CommentNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text

    def __str__(self) -> str:
        return "{{" + self.text + "}}"


class PipeNode(Node):
    __slots__ = ("cmds", "decl", "is_assign")

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos, line)
        self.is_assign = False
        self.decl: list[VariableNode] = []
        self.cmds: list[CommandNode] = []

    def __str__(self) -> str:
        s = ""
        if self.decl:
            s = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return s + " | ".join(str(c) for c in self.cmds)


class ActionNode(Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, line: int, pipe: PipeNode) -> None:
        super().__init__(pos, line)
        self.pipe = pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


class CommandNode(Node):
    __slots__ = ("args",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.args: list[Node] = []

    def __str__(self) -> str:
        return " ".join("(" + str(a) + ")" if isinstance(a, PipeNode) else str(a) for a in self.args)


class IdentifierNode(Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident

    def __str__(self) -> str:
        return self.ident


class VariableNode(Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident.split(".")

    def __str__(self) -> str:
        return ".".join(self.ident)


class DotNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "."


class NilNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "nil"


class FieldNode(Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident[1:].split(".")

    def __str__(self) -> str:
        return "".join("." + i for i in self.ident)


class ChainNode(Node):
    __slots__ = ("field", "node")

    def __init__(self, pos: int, node: Node) -> None:
        super().__init__(pos)
        self.node = node
        self.field: list[str] = []

    def __str__(self) -> str:
        s = "(" + str(self.node) + ")" if isinstance(self.node, PipeNode) else str(self.node)
        return s + "".join("." + f for f in self.field)


class BoolNode(Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: bool) -> None:
        super().__init__(pos)
        self.value = value

    def __str__(self) -> str:
        return "true" if self.value else "false"


class NumberNode(Node):
    __slots__ = ("float64", "int64", "is_float", "is_int", "is_uint", "text", "uint64")

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text
        self.is_int = self.is_uint = self.is_float = False
        self.int64 = 0
        self.uint64 = 0
        self.float64 = 0.0

    def __str__(self) -> str:
        return self.text


class StringNode(Node):
    __slots__ = ("quoted", "text")

    def __init__(self, pos: int, quoted: str, text: str) -> None:
        super().__init__(pos)
        self.quoted = quoted
        self.text = text

    def __str__(self) -> str:
        return self.quoted


class EndNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{end}}"


class ElseNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{else}}"


class BranchNode(Node):
    __slots__ = ("else_list", "list", "pipe")
    keyword = ""

    def __init__(
        self, pos: int, line: int, pipe: PipeNode, lst: ListNode, else_list: ListNode | None
    ) -> None:
        super().__init__(pos, line)
        self.pipe = pipe
        self.list = lst
        self.else_list = else_list

    def __str__(self) -> str:
        s = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            s += "{{else}}" + str(self.else_list)
        return s + "{{end}}"


class IfNode(BranchNode):
    __slots__ = ()
    keyword = "if"


class RangeNode(BranchNode):
    __slots__ = ()
    keyword = "range"


class WithNode(BranchNode):
    __slots__ = ()
    keyword = "with"


class BreakNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{break}}"


class ContinueNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{continue}}"


class TemplateNode(Node):
    __slots__ = ("name", "pipe")

    def __init__(self, pos: int, line: int, name: str, pipe: PipeNode | None) -> None:
        super().__init__(pos, line)
        self.name = name
        self.pipe = pipe

    def __str__(self) -> str:
        if self.pipe is None:
            return "{{template " + quote(self.name) + "}}"
        return "{{template " + quote(self.name) + " " + str(self.pipe) + "}}"


_MAX_STACK_DEPTH: Final = 10000


def _is_empty_tree(n: Node | None) -> bool:
    if n is None:
        return True
    if isinstance(n, ListNode):
        return all(_is_empty_tree(c) for c in n.nodes)
    if isinstance(n, TextNode):
        return not n.text.strip(" \t\n\v\f\r\x85\xa0")
    return isinstance(n, CommentNode)


class Parser:
    """text/template/parse's recursive-descent parser over a shared lexer."""

    def __init__(
        self,
        name: str,
        text: str,
        funcs: frozenset[str],
        trees: dict[str, ListNode],
        lexer: lex.Lexer | None = None,
    ) -> None:
        self.name = name
        self.text = text
        self.funcs = funcs
        self.trees = trees
        self.lex = lexer or lex.Lexer(text, "break" not in funcs, "continue" not in funcs)
        self.token: list[lex.Item] = [lex.Item(lex.EOF, 0, "", 1)] * 3
        self.peek_count = 0
        self.vars: list[str] = ["$"]
        self.action_line = 0
        self.range_depth = 0
        self.stack_depth = 0
        self.root: ListNode | None = None

    # -- token plumbing --

    def next(self) -> lex.Item:
        if self.peek_count > 0:
            self.peek_count -= 1
        else:
            self.token[0] = self.lex.next_item()
        return self.token[self.peek_count]

    def backup(self) -> None:
        self.peek_count += 1

    def backup2(self, t1: lex.Item) -> None:
        self.token[1] = t1
        self.peek_count = 2

    def backup3(self, t2: lex.Item, t1: lex.Item) -> None:
        self.token[1] = t1
        self.token[2] = t2
        self.peek_count = 3

    def peek(self) -> lex.Item:
        if self.peek_count > 0:
            return self.token[self.peek_count - 1]
        self.peek_count = 1
        self.token[0] = self.lex.next_item()
        return self.token[0]

    def next_non_space(self) -> lex.Item:
        while True:
            token = self.next()
            if token.typ != lex.SPACE:
                return token

    def peek_non_space(self) -> lex.Item:
        token = self.next_non_space()
        self.backup()
        return token

    # -- errors --

    def errorf(self, msg: str) -> NoReturn:
        line = self.token[0].line
        raise TemplateError(f"template: {self.name}:{line}: {msg}", line=line)

    def expect(self, expected: int, context: str) -> lex.Item:
        token = self.next_non_space()
        if token.typ != expected:
            self.unexpected(token, context)
        return token

    def expect_one_of(self, e1: int, e2: int, context: str) -> lex.Item:
        token = self.next_non_space()
        if token.typ not in (e1, e2):
            self.unexpected(token, context)
        return token

    def unexpected(self, token: lex.Item, context: str) -> NoReturn:
        if token.typ == lex.ERROR:
            extra = ""
            if self.action_line != 0 and self.action_line != token.line:
                extra = f" in action started at {self.name}:{self.action_line}"
                if token.val.endswith(" action"):
                    extra = extra[len(" in action") :]
            self.errorf(f"{token}{extra}")
        self.errorf(f"unexpected {token} in {context}")

    # -- grammar --

    def parse(self) -> ListNode:
        root = ListNode(self.peek().pos)
        self.root = root
        while self.peek().typ != lex.EOF:
            if self.peek().typ == lex.LEFT_DELIM:
                delim = self.next()
                if self.next_non_space().typ == lex.DEFINE:
                    sub = Parser("definition", self.text, self.funcs, self.trees, self.lex)
                    sub.name = self.name
                    sub.parse_definition()
                    continue
                self.backup2(delim)
            n = self.text_or_action()
            if isinstance(n, (EndNode, ElseNode)):
                self.errorf(f"unexpected {n}")
            root.nodes.append(n)
        self.add(self.name, root)
        return root

    def add(self, name: str, root: ListNode) -> None:
        existing = self.trees.get(name)
        if existing is None or _is_empty_tree(existing):
            self.trees[name] = root
            return
        if not _is_empty_tree(root):
            self.errorf(f"template: multiple definition of template {quote(name)}")

    def parse_definition(self) -> None:
        context = "define clause"
        name_item = self.expect_one_of(lex.STRING, lex.RAW_STRING, context)
        try:
            tree_name = unquote(name_item.val)
        except InvalidSyntaxError:
            self.errorf("invalid syntax")
        self.expect(lex.RIGHT_DELIM, context)
        lst, end = self.item_list()
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add(tree_name, lst)

    def item_list(self) -> tuple[ListNode, Node]:
        lst = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != lex.EOF:
            n = self.text_or_action()
            if isinstance(n, (EndNode, ElseNode)):
                return lst, n
            lst.nodes.append(n)
        self.errorf("unexpected EOF")

    def text_or_action(self) -> Node:
        token = self.next_non_space()
        if token.typ == lex.TEXT:
            return TextNode(token.pos, token.val)
        if token.typ == lex.LEFT_DELIM:
            self.action_line = token.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        if token.typ == lex.COMMENT:
            return CommentNode(token.pos, token.val)
        self.unexpected(token, "input")

    def action(self) -> Node:
        token = self.next_non_space()
        typ = token.typ
        if typ == lex.BLOCK:
            return self.block_control()
        if typ == lex.BREAK:
            return self.break_control(token, "{{break}}", BreakNode)
        if typ == lex.CONTINUE:
            return self.break_control(token, "{{continue}}", ContinueNode)
        if typ == lex.ELSE:
            return self.else_control()
        if typ == lex.END:
            return EndNode(self.expect(lex.RIGHT_DELIM, "end").pos)
        if typ == lex.IF:
            return IfNode(*self.parse_control("if"))
        if typ == lex.RANGE:
            return RangeNode(*self.parse_control("range"))
        if typ == lex.TEMPLATE:
            return self.template_control()
        if typ == lex.WITH:
            return WithNode(*self.parse_control("with"))
        self.backup()
        token = self.peek()
        return ActionNode(token.pos, token.line, self.pipeline("command", lex.RIGHT_DELIM))

    def break_control(self, start: lex.Item, what: str, cls: type[Node]) -> Node:
        token = self.next_non_space()
        if token.typ != lex.RIGHT_DELIM:
            self.unexpected(token, what)
        if self.range_depth == 0:
            self.errorf(f"{what} outside {{{{range}}}}")
        return cls(start.pos, start.line)

    def pipeline(self, context: str, end: int) -> PipeNode:
        token = self.peek_non_space()
        pipe = PipeNode(token.pos, token.line)
        while True:  # declarations
            v = self.peek_non_space()
            if v.typ != lex.VARIABLE:
                break
            self.next()
            token_after = self.peek()
            nxt = self.peek_non_space()
            if nxt.typ in (lex.ASSIGN, lex.DECLARE):
                pipe.is_assign = nxt.typ == lex.ASSIGN
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val))
                self.vars.append(v.val)
            elif nxt.typ == lex.CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (lex.VARIABLE, lex.RIGHT_DELIM, lex.RIGHT_PAREN):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            elif token_after.typ == lex.SPACE:
                self.backup3(v, token_after)
            else:
                self.backup2(v)
            break
        while True:
            token = self.next_non_space()
            if token.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.typ in (
                lex.BOOL,
                lex.CHAR_CONSTANT,
                lex.COMPLEX,
                lex.DOT,
                lex.FIELD,
                lex.IDENTIFIER,
                lex.NUMBER,
                lex.NIL,
                lex.RAW_STRING,
                lex.STRING,
                lex.VARIABLE,
                lex.LEFT_PAREN,
            ):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(token, context)

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(c.args[0], (BoolNode, DotNode, NilNode, NumberNode, StringNode)):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def parse_control(self, context: str) -> tuple[int, int, PipeNode, ListNode, ListNode | None]:
        saved = len(self.vars)
        try:
            pipe = self.pipeline(context, lex.RIGHT_DELIM)
            if context == "range":
                self.range_depth += 1
            lst, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list: ListNode | None = None
            if isinstance(nxt, ElseNode):
                if context == "if" and self.peek().typ == lex.IF:
                    self.next()
                    else_list = ListNode(nxt.pos)
                    else_list.nodes.append(IfNode(*self.parse_control("if")))
                elif context == "with" and self.peek().typ == lex.WITH:
                    self.next()
                    else_list = ListNode(nxt.pos)
                    else_list.nodes.append(WithNode(*self.parse_control("with")))
                else:
                    else_list, nxt = self.item_list()
                    if not isinstance(nxt, EndNode):
                        self.errorf(f"expected end; found {nxt}")
            return pipe.pos, pipe.line, pipe, lst, else_list
        finally:
            del self.vars[saved:]

    def else_control(self) -> Node:
        peek = self.peek_non_space()
        if peek.typ in (lex.IF, lex.WITH):
            return ElseNode(peek.pos, peek.line)
        token = self.expect(lex.RIGHT_DELIM, "else")
        return ElseNode(token.pos, token.line)

    def template_name(self, token: lex.Item, context: str) -> str:
        if token.typ in (lex.STRING, lex.RAW_STRING):
            try:
                return unquote(token.val)
            except InvalidSyntaxError:
                self.errorf("invalid syntax")
        self.unexpected(token, context)

    def template_control(self) -> Node:
        context = "template clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe: PipeNode | None = None
        if self.next_non_space().typ != lex.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, lex.RIGHT_DELIM)
        return TemplateNode(token.pos, token.line, name, pipe)

    def block_control(self) -> Node:
        context = "block clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe = self.pipeline(context, lex.RIGHT_DELIM)
        sub = Parser(name, self.text, self.funcs, self.trees, self.lex)
        sub.name = self.name
        lst, end = sub.item_list()
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        sub.add(name, lst)
        return TemplateNode(token.pos, token.line, name, pipe)

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.typ == lex.SPACE:
                continue
            if token.typ in (lex.RIGHT_DELIM, lex.RIGHT_PAREN):
                self.backup()
            elif token.typ != lex.PIPE:
                self.unexpected(token, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == lex.FIELD:
            chain = ChainNode(self.peek().pos, node)
            while self.peek().typ == lex.FIELD:
                chain.field.append(self.next().val[1:])
            if isinstance(node, FieldNode):
                return FieldNode(chain.pos, str(chain))
            if isinstance(node, VariableNode):
                return VariableNode(chain.pos, str(chain))
            if isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
                self.errorf(f"unexpected . after term {quote(str(node))}")
            return chain
        return node

    def term(self) -> Node | None:
        token = self.next_non_space()
        typ = token.typ
        if typ == lex.IDENTIFIER:
            if token.val not in self.funcs:
                self.errorf(f"function {quote(token.val)} not defined")
            return IdentifierNode(token.pos, token.val)
        if typ == lex.DOT:
            return DotNode(token.pos)
        if typ == lex.NIL:
            return NilNode(token.pos)
        if typ == lex.VARIABLE:
            return self.use_var(token.pos, token.val)
        if typ == lex.FIELD:
            return FieldNode(token.pos, token.val)
        if typ == lex.BOOL:
            return BoolNode(token.pos, token.val == "true")
        if typ in (lex.CHAR_CONSTANT, lex.COMPLEX, lex.NUMBER):
            return self.new_number(token)
        if typ == lex.LEFT_PAREN:
            if self.stack_depth >= _MAX_STACK_DEPTH:
                self.errorf("max expression depth exceeded")
            self.stack_depth += 1
            try:
                return self.pipeline("parenthesized pipeline", lex.RIGHT_PAREN)
            finally:
                self.stack_depth -= 1
        if typ in (lex.STRING, lex.RAW_STRING):
            try:
                s = unquote(token.val)
            except InvalidSyntaxError:
                self.errorf("invalid syntax")
            return StringNode(token.pos, token.val, s)
        self.backup()
        return None

    def use_var(self, pos: int, name: str) -> Node:
        v = VariableNode(pos, name)
        if v.ident[0] in self.vars:
            return v
        self.errorf(f"undefined variable {quote(v.ident[0])}")

    def new_number(self, token: lex.Item) -> NumberNode:
        text = token.val
        n = NumberNode(token.pos, text)
        if token.typ == lex.CHAR_CONSTANT:
            body = text[1:]
            try:
                _, i, rune = unquote_char(body, 0, "'")
            except (InvalidSyntaxError, IndexError):
                self.errorf("invalid syntax")
            if body[i:] != "'" or rune is None:
                self.errorf(f"malformed character constant: {text}")
            n.int64 = n.uint64 = rune
            n.float64 = float(rune)
            n.is_int = n.is_uint = n.is_float = True
            return n
        if token.typ == lex.COMPLEX or text.endswith("i"):
            self.errorf(f"complex constant {text} is not supported")
        u = parse_uint(text, 0)
        if u is not None:
            n.is_uint, n.uint64 = True, u
        iv = parse_int(text, 0)
        if iv is not None:
            n.is_int, n.int64 = True, iv
            if iv == 0:
                n.is_uint, n.uint64 = True, u if u is not None else 0
        if n.is_int:
            n.is_float, n.float64 = True, float(n.int64)
        elif n.is_uint:
            n.is_float, n.float64 = True, float(n.uint64)
        else:
            f = parse_float(text)
            if f is not None:
                if not any(c in text for c in ".eEpP"):
                    self.errorf(f"integer overflow: {quote(text)}")
                n.is_float, n.float64 = True, f
                if f == int(f) and -(1 << 63) <= f < (1 << 63):
                    n.is_int, n.int64 = True, int(f)
                if f == int(f) and 0 <= f < (1 << 64):
                    n.is_uint, n.uint64 = True, int(f)
        if not (n.is_int or n.is_uint or n.is_float):
            self.errorf(f"illegal number syntax: {quote(text)}")
        return n
