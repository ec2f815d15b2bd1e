"""One home per helper: each of these is defined exactly once, and nothing else re-implements it.

* the output primitive (temp file or directory, fsync, rename): ``ocitool/_io/output.py``;
* the descriptor walker (depth limit, opening an index's children): ``ocitool/image/walk.py``;
* the host platform (``OCITOOL_HOST_PLATFORM``, else the machine): ``model.platform.host_platform``;
* Go's ``path.Clean`` (``ocitool/_go/path.py``) and ``strings.ToLower`` (``ocitool/_go/strings.py``).

The checks read every module's syntax tree, so a second definition fails them wherever it is.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

import ocitool
from ocitool.model.config import ImageConfig
from ocitool.model.platform import Platform, host_architecture, host_os, host_platform

ROOT = Path(ocitool.__file__).parent
OUTPUT = "ocitool/_io/output.py"
WALK = "ocitool/image/walk.py"
PLATFORM = "ocitool/model/platform.py"
GO_HOMES = {"path.Clean": "ocitool/_go/path.py", "strings.ToLower": "ocitool/_go/strings.py"}


@dataclass(frozen=True)
class Function:
    module: str  # path relative to the repository, e.g. ocitool/_io/output.py
    name: str  # qualified within the module: Class.method
    node: ast.FunctionDef | ast.AsyncFunctionDef


@cache
def sources() -> dict[str, ast.Module]:
    return {
        str(p.relative_to(ROOT.parent)): ast.parse(p.read_text(encoding="utf-8"))
        for p in sorted(ROOT.rglob("*.py"))
    }


def functions(tree: ast.Module, module: str) -> Iterator[Function]:
    """Every function and method, with the code directly in it (nested functions apart)."""

    def visit(node: ast.AST, prefix: str) -> Iterator[Function]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                yield Function(module, name, child)
                yield from visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.")
            else:
                yield from visit(child, prefix)

    yield from visit(tree, "")


def own_nodes(fn: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, not those of functions defined inside it."""
    for child in ast.iter_child_nodes(fn):
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            yield child
            yield from own_nodes(child)


def dotted(node: ast.AST) -> str:
    """``os.replace`` for the expression ``os.replace``; '' for anything that is not a name path."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def imported_names(tree: ast.Module) -> dict[str, str]:
    """Local name -> what it is (``tempfile.mkstemp``, ``os``, ``platform``), from every import."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def calls(fn: ast.AST, names: dict[str, str]) -> Iterator[str]:
    """The resolved names of what ``fn`` calls (``os.replace``, ``tempfile.mkstemp``, ``.child``)."""
    for node in own_nodes(fn):
        if isinstance(node, ast.Call):
            path = dotted(node.func)
            if path:
                head, _, rest = path.partition(".")
                resolved = names.get(head, head)
                yield f"{resolved}.{rest}" if rest else resolved
            if isinstance(node.func, ast.Attribute):
                yield f".{node.func.attr}"


@cache
def all_functions() -> list[tuple[Function, dict[str, str]]]:
    out = []
    for module, tree in sources().items():
        names = imported_names(tree)
        out.extend((fn, names) for fn in functions(tree, module))
    return out


def where(found: object) -> str:
    return "\n".join(sorted(f"{f.module}: {f.name}" for f in found))  # type: ignore[attr-defined]


# -- the output primitive -------------------------------------------------------------------

RENAMES = {"os.replace", "os.rename", "os.renames", "shutil.move"}
NAMED_TEMPORARIES = {
    "tempfile.mkstemp",
    "tempfile.mkdtemp",
    "tempfile.mktemp",
    "tempfile.NamedTemporaryFile",
    "tempfile.TemporaryDirectory",
}
SYNCS = {"os.fsync", "os.fdatasync"}


def output_definitions() -> dict[str, list[Function]]:
    found: dict[str, list[Function]] = {"rename": [], "temporary": [], "sync": []}
    for fn, names in all_functions():
        called = set(calls(fn.node, names))
        if called & RENAMES:
            found["rename"].append(fn)
        if called & NAMED_TEMPORARIES:
            found["temporary"].append(fn)
        if called & SYNCS:
            found["sync"].append(fn)
    return found


def test_only_the_output_module_renames_temporaries_and_syncs() -> None:
    found = output_definitions()
    for kind, fns in found.items():
        outside = [f for f in fns if f.module != OUTPUT]
        assert not outside, (
            f"{kind} outside {OUTPUT} (use its output_file/output_dir/pending_file):\n{where(outside)}"
        )


def test_the_output_module_has_one_file_and_one_directory_primitive() -> None:
    found = output_definitions()
    assert {f.name for f in found["rename"]} == {"OutputFile.commit", "OutputDir.commit"}
    assert not found["temporary"]  # its own _create names temporaries, with their final mode
    output = [(f, names) for f, names in all_functions() if f.module == OUTPUT]
    naming = {f.name for f, names in output if "os.urandom" in set(calls(f.node, names))}
    creating = {f.name for f, names in output if "_create" in set(calls(f.node, names))}
    assert naming == {"_create"}
    assert creating == {"OutputFile.__init__", "OutputDir.__init__", "staging_dir"}


def test_a_second_rename_would_be_found() -> None:
    tree = ast.parse(
        "import os as o\nfrom tempfile import mkstemp as mk\n"
        "def save(p, data):\n    fd, tmp = mk(dir='.')\n    o.replace(tmp, p)\n"
    )
    [fn] = functions(tree, "ocitool/x.py")
    assert {"os.replace", "tempfile.mkstemp"} <= set(calls(fn.node, imported_names(tree)))


# -- the descriptor walker ------------------------------------------------------------------


def test_only_the_walker_opens_an_index_s_children() -> None:
    opening = [
        f for f, names in all_functions() if ".child" in set(calls(f.node, names)) and f.module != WALK
    ]
    assert not opening, f"index children opened outside {WALK} (use walk()):\n{where(opening)}"


def test_one_depth_limit_for_descriptor_trees() -> None:
    limits = []
    for module, tree in sources().items():
        layer = module.split("/")[1]
        if layer in ("_go", "_io", "errors.py", "compression.py"):
            continue  # below the model: cannot walk descriptors (JSON and template depths)
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                if isinstance(target, ast.Name) and re.search("depth", target.id, re.I):
                    limits.append(f"{module}: {target.id}")
    assert limits == [f"{WALK}: MAX_DEPTH"]


# -- the host platform ----------------------------------------------------------------------


def test_one_function_reads_the_host() -> None:
    readers = []
    for fn, names in all_functions():
        called = set(calls(fn.node, names))
        env = any(
            (isinstance(n, ast.Name) and n.id == "HOST_PLATFORM_ENV")
            or (isinstance(n, ast.Constant) and n.value == "OCITOOL_HOST_PLATFORM")
            for n in own_nodes(fn.node)
        ) and bool(called & {"os.environ.get", "os.getenv"})
        machine = bool(called & {"platform.machine", "platform.system", "platform.uname", "os.uname"})
        if env or machine:
            readers.append(fn)
    assert [(f.module, f.name) for f in readers] == [(PLATFORM, "host_platform")]


def test_only_the_platform_module_asks_the_machine() -> None:
    offenders = []
    for module, tree in sources().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name == "platform" for a in node.names):
                offenders.append(module)
            if isinstance(node, ast.ImportFrom) and node.module == "platform":
                offenders.append(module)
            if isinstance(node, ast.Attribute) and dotted(node) == "sys.platform":
                offenders.append(module)
    assert set(offenders) <= {PLATFORM}, offenders


def test_the_host_override_is_honoured_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCITOOL_HOST_PLATFORM", "linux/riscv64")
    assert host_platform() == Platform("linux", "riscv64")
    assert (host_os(), host_architecture()) == ("linux", "riscv64")
    assert ImageConfig().base_img_arch() == "riscv64" and ImageConfig().operating_system() == "linux"
    assert Platform.parse("linux").architecture == "riscv64"  # a lone OS takes the host's arch
    monkeypatch.setenv("OCITOOL_HOST_PLATFORM", "windows/arm64")
    assert ImageConfig().operating_system() == "windows" and ImageConfig().base_img_arch() == "arm64"


# -- Go's path.Clean and strings.ToLower ----------------------------------------------------

GO_HELPERS = {
    # Named for what they do (go_path_clean, path_clean, clean, ...), or doing it: Go's
    # ToLower maps U+0130 to a plain "i", which no other lowercasing in the package does.
    "path.Clean": re.compile(r"^(go_?)?(path_?)?clean$"),
    "strings.ToLower": re.compile(r"^(go_?)?(strings_?)?(to_?)?lower$"),
}


def takes_an_argument(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A string helper takes a string: properties and argument-less methods are not ones."""
    args = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
    return bool([a for a in args if a not in ("self", "cls")] or fn.args.vararg)


def go_definitions(helper: str, fns: list[Function] | None = None) -> set[tuple[str, str]]:
    pattern = GO_HELPERS[helper]
    found = set()
    for fn in [f for f, _ in all_functions()] if fns is None else fns:
        named = pattern.match(fn.node.name.strip("_").lower())
        turkish_i = helper == "strings.ToLower" and any(
            isinstance(n, ast.Constant) and n.value == "\u0130" for n in own_nodes(fn.node)
        )
        if (named or turkish_i) and takes_an_argument(fn.node):
            found.add((fn.module, fn.name))
    return found


@pytest.mark.parametrize("helper", sorted(GO_HELPERS))
def test_go_helpers_have_one_home(helper: str) -> None:
    home = GO_HOMES[helper]
    found = go_definitions(helper)
    stray = sorted((m, n) for m, n in found if m != home)
    assert not stray, f"Go {helper} defined outside {home}: {stray}"
    named = sorted(n for m, n in found if GO_HELPERS[helper].match(n.strip("_").lower()))
    assert len(named) == 1, f"{home} should define {helper} once: {named}"


def test_go_helper_finder_sees_a_copy() -> None:
    tree = ast.parse(
        "def _go_path_clean(p):\n    return p\n"
        "def clean(p):\n    return p\n"
        "def fold(s):\n    return ''.join('i' if c == '\\u0130' else c.lower() for c in s)\n"
        "def ToLower(s):\n    return s.lower()\n"
        "def _clean_name(p):\n    return p\n"
        "class Scan:\n    @property\n    def clean(self):\n        return True\n"
    )
    fns = list(functions(tree, "ocitool/x.py"))
    assert go_definitions("path.Clean", fns) == {
        ("ocitool/x.py", "_go_path_clean"),
        ("ocitool/x.py", "clean"),
    }
    assert go_definitions("strings.ToLower", fns) == {("ocitool/x.py", "fold"), ("ocitool/x.py", "ToLower")}
