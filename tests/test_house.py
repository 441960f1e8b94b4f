"""The package's own layout: its modules import one another without a circle, and the library
core never imports the simulator. Read from the source (every import statement, those under
``TYPE_CHECKING`` and inside functions too), so a circle is caught before it bites at import."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from typing import TYPE_CHECKING

from conftest import ROOT

if TYPE_CHECKING:
    import pathlib
    from collections.abc import Iterable

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


# --- every provider in its module: the rest of the library names none ------------------------

#: The built-in providers, as the registry lists them.
NAMES = ("aitronos", "artos", "markdown2pdf", "neurolinker", "sarvam", "sarvam_docai")
#: A provider's name as a word of the source (``Sarvam``, ``docstatus_artos_client``,
#: ``"sarvam_docai"``): in code, strings, docstrings and comments alike.
NAMING = re.compile(rf"(?<![a-z0-9])(?:{'|'.join(sorted(NAMES, key=len, reverse=True))})(?![a-z0-9])", re.IGNORECASE)


def _naming(paths: Iterable[pathlib.Path]) -> list[str]:
    """The modules among ``paths`` that name a provider, as paths below ``normalize/docstatus``."""
    return sorted(
        str(p.relative_to(SOURCE / "docstatus")) for p in paths if NAMING.search(p.read_text("utf-8")) is not None
    )


def test_the_names_are_the_registrys_and_the_counter_sees_them() -> None:
    """The six names are the registry's, and the counter finds them where they are (a counter
    that found none would pass the tests below)."""
    from docstatus._registry import BUILTIN  # noqa: PLC0415

    assert BUILTIN == NAMES
    providers = sorted((SOURCE / "docstatus" / "_providers").glob("[!_]*.py"))
    assert _naming(providers) == [f"_providers/{name}.py" for name in NAMES]
    assert NAMING.findall("Sarvam's `docstatus_artos_client` 'sarvam_docai' MARKDOWN2PDF") == [
        "Sarvam",
        "artos",
        "sarvam_docai",
        "MARKDOWN2PDF",
    ]
    assert NAMING.findall("partos artosx sarvamai") == []


def test_at_most_one_library_module_outside_the_provider_modules_names_a_provider() -> None:
    """Everything about a provider is in its module (``_providers/<name>.py``, listed by the
    registry ``_registry.py``, which names the built-in ones: the one module allowed); the
    simulator is counted on its own (below)."""
    library = [
        p for p in (SOURCE / "docstatus").rglob("*.py") if p.parent.name != "_providers" and "simulator" not in p.parts
    ]
    assert len(library) > 30
    naming = _naming(library)
    assert naming == ["_registry.py"], naming


def test_at_most_one_simulator_module_outside_its_per_provider_folder_names_a_provider() -> None:
    """The simulator keeps each provider in a module of its own, in a folder below it; of its
    modules directly in ``simulator/``, at most one names a provider."""
    top = sorted((SOURCE / "docstatus" / "simulator").glob("*.py"))
    assert len(top) >= 5
    naming = _naming(top)
    assert len(naming) <= 1, naming


def test_the_registry_imports_nothing_of_docstatus() -> None:
    """``_status``, ``_refs`` and ``_config`` import the registry: it imports none of the package
    (not even under ``TYPE_CHECKING``), so it can never close a circle."""
    assert GRAPH["docstatus._registry"] == set()
    assert "docstatus._registry" in GRAPH["docstatus._status"]


IMPORT_PROBE = """
import json, sys
import docstatus
docstatus.PROVIDERS, docstatus.DEFAULT_BASE_URLS, docstatus.Provider
print(json.dumps(sorted(sys.modules)))
"""


def test_import_docstatus_loads_no_provider_module_and_no_http_machinery() -> None:
    """``import docstatus`` (and reading ``PROVIDERS``) loads the registry, not a provider's module
    (each imports its generated client) nor ``_http``; the first use of a provider loads its own."""
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, timeout=60, check=False, cwd=SOURCE
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout)
    assert "docstatus._registry" in loaded
    heavy = [m for m in loaded if m.startswith(("docstatus._providers.", "docstatus._http", "docstatus._fetch"))]
    assert heavy == []
