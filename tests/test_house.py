"""The package's own layout: its modules import one another without a circle, and the library
core never imports the simulator. Read from the source (every import statement, those under
``TYPE_CHECKING`` and inside functions too), so a circle is caught before it bites at import."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from conftest import ROOT

if TYPE_CHECKING:
    import pathlib

SOURCE = ROOT / "normalize"
#: The modules that may import the simulator: the simulator itself, the CLI (``docstatus
#: simulate``, ``docstatus demo``) and the pytest plugin. The library core never does.
SIMULATOR_USERS = ("docstatus.simulator", "docstatus._cli", "docstatus.pytest_plugin")


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(SOURCE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in (SOURCE / "docstatus").rglob("*.py")}


def _owner(name: str) -> str | None:
    """The package module that ``name`` (a module, or a name in one) belongs to."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(_owner(target if target in MODULES else base) or "")
        elif isinstance(node, ast.Import):
            found.update(_owner(alias.name) or "" for alias in node.names)
    return found - {"", module}


GRAPH = {module: _imports(module) for module in MODULES}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def test_the_graph_is_read() -> None:
    """The reader sees the imports it judges (a reader that saw none would pass every test)."""
    assert "docstatus._status" in GRAPH["docstatus._exceptions"]
    assert "docstatus._exceptions" in GRAPH["docstatus._waiting._core"]
    assert "docstatus.simulator._render" in GRAPH["docstatus.simulator._state"]
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_itself_back() -> None:
    assert _circles(GRAPH) == []


def test_the_library_core_never_imports_the_simulator() -> None:
    offenders = {
        module: sorted(t for t in targets if t.startswith("docstatus.simulator"))
        for module, targets in GRAPH.items()
        if not module.startswith(SIMULATOR_USERS)
    }
    assert {m: t for m, t in offenders.items() if t} == {}
