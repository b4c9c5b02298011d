"""The folder layout is the architecture (README "Layout"); these checks keep it so.

Imports are read from the source (``if TYPE_CHECKING:`` blocks excepted, function-
local imports included), so a shortcut through the layers fails here, not in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "pyketi"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PKG.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(module: str) -> set[tuple[str, str]]:
    """(module imported, name imported or "") for every runtime import of ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    found: set[tuple[str, str]] = set()
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.update((alias.name, "") for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(parent + ([base] if base else []))
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    found.add((sub, "") if sub in MODULES else (base, alias.name))
            visit(child)

    visit(tree)
    return found


def pyketi_imports(module: str) -> set[str]:
    return {m for m, _ in imports(module) if m == "pyketi" or m.startswith("pyketi.")}


def under(prefix: str) -> list[str]:
    return sorted(m for m in MODULES if m == prefix or m.startswith(prefix + "."))


@pytest.mark.parametrize("module", under("pyketi.api"))
def test_api_builds_no_queries(module):
    """HTTP handlers parse and render; reads go through ``db.queries``, changes
    through ``operations``."""
    sql = {name for m, name in imports(module) if m == "sqlalchemy"}
    assert not sql & {"select", "update", "delete", "insert", "func", "text"}, module


@pytest.mark.parametrize("module", under("pyketi.db"))
def test_db_does_not_reach_up(module):
    assert not {m for m in pyketi_imports(module)
                if m.startswith(("pyketi.api", "pyketi.operations", "pyketi.executors"))}, module


@pytest.mark.parametrize("module", under("pyketi.placement") + ["pyketi.shapes", "pyketi.units",
                                                                "pyketi.node_paths"])
def test_pure_modules_do_no_io(module):
    """Allocation math and JSON shapes: no database, nodes or HTTP."""
    banned = ("pyketi.api", "pyketi.db", "pyketi.executors", "pyketi.operations")
    assert not {m for m in pyketi_imports(module) if m.startswith(banned)}, module
    assert not {m for m, _ in imports(module) if m.startswith(("sqlalchemy", "aiohttp"))}, module


@pytest.mark.parametrize("module", under("pyketi.operations.steps"))
def test_steps_see_only_the_executor(module):
    """Steps get a StepContext; the database is the runner's business."""
    assert not {m for m in pyketi_imports(module)
                if m.startswith(("pyketi.db", "pyketi.api"))}, module
    assert not {m for m in pyketi_imports(module) if m.startswith("pyketi.operations.")
                and not m.startswith(("pyketi.operations.steps", "pyketi.operations.record"))}


@pytest.mark.parametrize("module", under("pyketi.operations") + under("pyketi.db")
                         + under("pyketi.executors"))
def test_lower_layers_do_not_import_http(module):
    assert not {m for m in pyketi_imports(module) if m.startswith("pyketi.api")}, module


def test_engine_and_runner_do_not_import_the_runtime():
    for module in ("pyketi.operations.engine", "pyketi.operations.runner"):
        assert "pyketi.operations.runtime" not in pyketi_imports(module), module


def test_no_import_cycle_in_operations():
    graph = {m: {i for i in pyketi_imports(m) if i in MODULES and i.startswith("pyketi.operations")}
             for m in under("pyketi.operations")}
    done: set[str] = set()

    def walk(node: str, path: list[str]) -> None:
        if node in path:
            cycle = path[path.index(node):] + [node]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            if nxt != "pyketi.operations":   # the package __init__ imports nothing
                walk(nxt, path + [node])
        done.add(node)

    for module in sorted(graph):
        walk(module, [])


def test_every_package_is_installed():
    """pyproject lists packages one by one: a new folder must be listed or the wheel lacks it."""
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    packages = {module_name(p.parent / "__init__.py") for p in PKG.rglob("__init__.py")}
    assert packages <= listed, sorted(packages - listed)
