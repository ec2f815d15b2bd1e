"""The public API is exactly the curated list in ``ocitool.__init__`` (as httpx checks its own)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import ocitool
from ocitool.errors import OcitoolError


def test_all_is_sorted_unique_and_importable() -> None:
    assert ocitool.__all__ == sorted(set(ocitool.__all__))
    for name in ocitool.__all__:
        assert hasattr(ocitool, name), name


def test_public_names_are_exactly_all() -> None:
    eager = {n for n, v in vars(ocitool).items() if not n.startswith("_") and not inspect.ismodule(v)}
    lazy = set(ocitool._LAZY)
    assert (eager - {"annotations", "importlib", "TYPE_CHECKING", "Any"}) | lazy == set(ocitool.__all__)
    # no public name is also a submodule's name: importing the submodule would hide it
    modules = {m.name for m in pkgutil.iter_modules(ocitool.__path__)}
    assert not modules & set(ocitool.__all__)


def test_lazy_names_resolve_to_their_modules() -> None:
    for name, module in ocitool._LAZY.items():
        value = getattr(ocitool, name)
        assert getattr(importlib.import_module(module), name) is value


def test_every_module_declares_all() -> None:
    for info in pkgutil.walk_packages(ocitool.__path__, "ocitool."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        assert isinstance(getattr(module, "__all__", None), list), info.name


def test_every_error_extends_a_builtin_too() -> None:
    errors = [getattr(ocitool, n) for n in ocitool.__all__ if n.endswith("Error")]
    assert OcitoolError in errors
    for cls in errors:
        assert issubclass(cls, OcitoolError)
        if cls is not OcitoolError:
            assert issubclass(cls, (ValueError, LookupError)), cls


def test_the_library_never_imports_the_cli() -> None:
    import ast
    from pathlib import Path

    root = Path(ocitool.__file__).parent
    for path in root.rglob("*.py"):
        if "cli" in path.relative_to(root).parts or path.name == "__main__.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("ocitool.cli"), path
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print":
                raise AssertionError(f"{path}: only the CLI prints")
