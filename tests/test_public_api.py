"""The public API is exactly the curated list in ``ocitool.__init__`` (as httpx checks its own)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import ocitool
from ocitool.errors import OcitoolError
from tests import peers


def test_all_is_sorted_unique_and_importable() -> None:
    assert ocitool.__all__ == sorted(set(ocitool.__all__))
    for name in ocitool.__all__:
        assert hasattr(ocitool, name), name


def test_public_names_are_exactly_all() -> None:
    eager = {n for n, v in vars(ocitool).items() if not n.startswith("_") and not inspect.ismodule(v)}
    lazy = set(ocitool._lazy_table())
    assert (eager - {"annotations", "importlib", "TYPE_CHECKING", "Any"}) | lazy == set(ocitool.__all__)
    # no public name is also a submodule's name: importing the submodule would hide it
    modules = {m.name for m in pkgutil.iter_modules(ocitool.__path__)}
    assert not modules & set(ocitool.__all__)


def test_lazy_names_resolve_to_their_modules() -> None:
    for name, module in ocitool._lazy_table().items():
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


VERBS = (
    "analyze",
    "convert",
    "diff",
    "export",
    "history",
    "image_tree",
    "images",
    "inspect",
    "manifests",
    "open_source",
    "raw_config",
    "raw_manifest",
    "run_ci",
    "unpack",
    "validate",
    "verify",
)


def test_the_verbs_are_functions() -> None:
    for name in VERBS:
        assert name in ocitool.__all__, name
        assert inspect.isfunction(getattr(ocitool, name)), name


def test_all_names_only_what_exists() -> None:
    for name in ocitool.__all__:
        value = getattr(ocitool, name)
        assert not inspect.ismodule(value), name
        assert value.__module__.startswith("ocitool."), name
    with pytest.raises(AttributeError):
        ocitool.no_such_name  # noqa: B018
    assert "no_such_name" not in dir(ocitool) and set(ocitool.__all__) <= set(dir(ocitool))


def test_the_lazy_table_is_the_type_checking_block() -> None:
    import ast
    from pathlib import Path

    tree = ast.parse(Path(ocitool.__file__).read_text())
    guarded = [n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING"]
    assert len(guarded) == 1  # one table
    names = {a.asname or a.name for imp in guarded[0].body for a in getattr(imp, "names", [])}
    assert names == set(ocitool._lazy_table()) and names <= set(ocitool.__all__)
    assert "convert" in names and "Analysis" in names


def test_import_stays_light() -> None:
    """``import ocitool`` loads none of the lazily loaded modules (nor jsonschema or sqlite3):
    the CLI pays for what a command uses only."""
    import subprocess
    import sys

    heavy = sorted(set(ocitool._lazy_table().values()) | {"jsonschema", "sqlite3", "ocitool.cli"})
    code = f"import sys, ocitool; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_one_or_many_sources_and_names(tmp_path: Path) -> None:
    src = peers.fixture("docker/two-images.tar")
    many = ocitool.images([str(src)])
    assert many and ocitool.images(str(src)) == many == ocitool.images(src)
    assert ocitool.image_tree(src) == ocitool.image_tree([str(src)])
    names = [r.repo_tags[0] for r in many if r.repo_tags]
    assert [r.id for r in ocitool.inspect(src, names[0])] == [
        r.id for r in ocitool.inspect(str(src), [names[0]])
    ]
    assert ocitool.history(src, names[0]) == ocitool.history(str(src), names[0])
    assert ocitool.ImageFilters.parse("dangling=false") == ocitool.ImageFilters.parse(["dangling=false"])
    assert ocitool.verify(src).ok and ocitool.validate(src).ok
    first = ocitool.inspect(src)[0]
    assert ocitool.export(src, tmp_path / "fs.tar", image=first.id) == first.id
    assert (tmp_path / "fs.tar").stat().st_size > 0
