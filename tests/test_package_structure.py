"""The package's shape: no import loops, no settings passed through the environment, one chooser.

Read from the source with `ast`, so function-local imports (and those only type checkers read)
count as much as a module's own: no module imports, by any route, a module that imports it back.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import REPO_ROOT

PACKAGE = "performanceplatform.collector"
PACKAGE_ROOT = REPO_ROOT / "performanceplatform" / "collector"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = modules()


def imported_by(name: str, path: Path) -> Iterator[str]:
    """The package's modules `name` imports, anywhere in it: `from a.b import c` is `a.b.c` when
    that is a module, else `a.b`."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package_parts = name.split(".") if is_package else name.split(".")[:-1]
                package_parts = package_parts[: len(package_parts) - node.level + 1]
                base = ".".join([*package_parts, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target in MODULES and target != name:
                yield target


GRAPH = {name: sorted(set(imported_by(name, path))) for name, path in MODULES.items()}


def cycles() -> list[list[str]]:
    """Every import loop (Tarjan's strongly connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in GRAPH[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            visit(module)
    return found


def test_the_walk_sees_the_package_and_its_function_local_imports() -> None:
    assert f"{PACKAGE}.ga.data_api" in MODULES and f"{PACKAGE}.backdrop.sink" in MODULES
    # `source_for` imports the sources inside the function: the walk must see it.
    assert f"{PACKAGE}.ga.data_api" in GRAPH[f"{PACKAGE}.ga.sources"]
    assert f"{PACKAGE}.ga.core_reporting" in GRAPH[f"{PACKAGE}.ga.sources"]


def test_no_module_imports_a_module_that_imports_it_back() -> None:
    assert cycles() == []


def test_a_loop_would_be_found() -> None:
    GRAPH[f"{PACKAGE}.ga.data_api"] = [*GRAPH[f"{PACKAGE}.ga.data_api"], f"{PACKAGE}.ga.sources"]
    try:
        assert [f"{PACKAGE}.ga.data_api", f"{PACKAGE}.ga.sources"] in cycles()
    finally:
        GRAPH[f"{PACKAGE}.ga.data_api"].remove(f"{PACKAGE}.ga.sources")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_writes_the_environment(name: str) -> None:
    # Settings reach collectors through the run context, never through os.environ.
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    writes = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AugAssign | ast.AnnAssign) else []
        if isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            if isinstance(target, ast.Subscript) and ast.unparse(target.value) in ("os.environ", "environ"):
                writes.append(ast.unparse(node))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            called = ast.unparse(node.func)
            if called in ("os.putenv", "os.unsetenv") or (
                ast.unparse(node.func.value) in ("os.environ", "environ")
                and node.func.attr in ("update", "setdefault", "pop", "popitem", "clear", "__setitem__")
            ):
                writes.append(ast.unparse(node))
    assert writes == []


def test_the_source_is_chosen_in_one_place() -> None:
    # Only ga.sources looks at whether an id is a GA4 property.
    choosers = [
        name for name, path in MODULES.items()
        if "properties/" in path.read_text(encoding="utf-8") and "startswith" in path.read_text(encoding="utf-8")
        and name.startswith(f"{PACKAGE}.ga") and not name.startswith(f"{PACKAGE}.ga.data_api")
    ]
    assert choosers == [f"{PACKAGE}.ga.sources"]


def test_every_module_the_walk_found_can_be_found_by_python() -> None:
    missing = [name for name in MODULES if importlib.util.find_spec(name) is None]
    assert missing == []
