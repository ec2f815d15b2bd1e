"""The house rules that keep the package's shape: imports flow one way down the layers, no module
imports itself back through others, and no module grows past what a reader can hold.

Every import counts, wherever it is written: at the top, inside a function, or under
``TYPE_CHECKING``. The layer list is the one in HELPER.md and docs/architecture.md.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

import ocitool

ROOT = Path(ocitool.__file__).parent

# Lowest first: a module may import from its own layer and the layers before it, never after.
# "ocitool" is the package itself, the curated public API; "cli" includes ``__main__``.
LAYERS = (
    "_record",
    "errors",
    "_go",
    "compression",
    "_io",
    "model",
    "image",
    "formats",
    "engineapi",
    "ops",
    "analysis",
    "store",
    "service",
    "ocitool",
    "cli",
)

MAX_LINES = 1500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


@cache
def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "ocitool"
    if parts[1] == "__main__":
        return "cli"
    return parts[1]


def imports(module: str) -> Iterator[tuple[str, int]]:
    """(imported ocitool module, line) for every import statement anywhere in ``module``."""
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "ocitool" or alias.name.startswith("ocitool."):
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target != "ocitool" and not target.startswith("ocitool."):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield (sub if sub in modules() else target), node.lineno


def test_every_module_belongs_to_a_layer() -> None:
    unknown = {m: layer_of(m) for m in modules() if layer_of(m) not in LAYERS}
    assert not unknown, f"modules outside the layer list (add the layer to LAYERS and the docs): {unknown}"


def upward_imports() -> list[str]:
    upward = []
    for module, path in modules().items():
        mine = LAYERS.index(layer_of(module))
        for target, line in imports(module):
            if LAYERS.index(layer_of(target)) > mine:
                upward.append(f"{path.name}:{line}: {module} -> {target}")
    return upward


def test_imports_only_go_down_the_layers() -> None:
    upward = upward_imports()
    assert not upward, "imports that go up the layer list:\n" + "\n".join(upward)


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph[node]:
                        found.append(frozenset(component))
    return found


def test_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}, "f": set()}
    assert sorted(map(sorted, _cycles(graph))) == [["a", "b", "c"], ["e"]]


def test_no_import_cycles() -> None:
    graph = {m: {t for t, _ in imports(m) if t in modules() and t != m} for m in modules()}
    cycles = _cycles(graph)
    assert not cycles, "import cycles (imports inside functions count):\n" + "\n".join(
        " <-> ".join(sorted(c)) for c in cycles
    )


def test_no_module_is_too_long() -> None:
    long = {}
    for path in modules().values():
        rel = str(path.relative_to(ROOT.parent))
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            long[rel] = lines
    assert not long, f"modules over {MAX_LINES} lines (split them by subsystem): {long}"


@pytest.mark.parametrize(
    ("source", "edges"),
    [
        ("import ocitool.model.digest\n", {"ocitool.model.digest"}),
        ("from ocitool.model import digest\n", {"ocitool.model.digest"}),
        ("from ocitool.model.digest import Digest\n", {"ocitool.model.digest"}),
        ("def f():\n    from ocitool.ops import convert\n", {"ocitool.ops.convert"}),
        ("if TYPE_CHECKING:\n    from ocitool.cli import main\n", {"ocitool.cli"}),
        ("from .digest import Digest\n", {"ocitool.model.digest"}),
        ("from . import digest\n", {"ocitool.model.digest"}),
        ("import os\n", set()),
    ],
)
def test_imports_are_read_wherever_they_are(
    source: str, edges: set[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _probe(source, monkeypatch, tmp_path)
    assert {t for t, _ in imports("ocitool.model.probe")} == edges
    upward = {e for e in edges if LAYERS.index(layer_of(e)) > LAYERS.index("model")}
    assert len(upward_imports()) == len(upward)


def _probe(source: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Pretend ``ocitool/model/probe.py`` holds ``source``."""
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    table = dict(modules())
    table["ocitool.model.probe"] = probe
    monkeypatch.setitem(globals(), "modules", lambda: table)


def test_every_command_module_is_in_the_one_command_table() -> None:
    from ocitool import cli

    registering = {
        module.rpartition(".")[2]
        for module, path in modules().items()
        if layer_of(module) == "cli"
        and any(isinstance(n, ast.FunctionDef) and n.name == "register" for n in parse(path).body)
    }
    assert registering == set(cli._COMMAND_MODULES) == set(cli.COMMAND_OWNERS.values())
