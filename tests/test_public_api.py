"""The public namespace `docstatus`: `__all__` is the whole truth, and importing it stays cheap."""

from __future__ import annotations

import ast
import importlib
import json
import pathlib
import subprocess
import sys
import types

import docstatus
import pytest
from conftest import ROOT

INIT = ROOT / "normalize" / "docstatus" / "__init__.py"
# Names the module binds for its own machinery, not API.
PLUMBING = {"annotations", "TYPE_CHECKING", "Any"}


def _defined_in_init() -> set[str]:
    """Public names bound at the top level of docstatus/__init__.py, read from its source."""
    tree = ast.parse(INIT.read_text("utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return {n for n in names if not n.startswith("_")}


def test_init_is_the_file_imported() -> None:
    assert docstatus.__file__ is not None
    assert docstatus.__file__.endswith("__init__.py")


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps ``__all__`` in: CONSTANTS, then Classes, then functions."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[0].isupper() else (2, name)


def test_all_is_sorted_and_unique() -> None:
    assert list(docstatus.__all__) == sorted(docstatus.__all__, key=_isort_key)
    assert len(set(docstatus.__all__)) == len(docstatus.__all__)
    assert all(isinstance(n, str) and not n.startswith("_") for n in docstatus.__all__)


@pytest.mark.parametrize("name", docstatus.__all__)
def test_every_name_in_all_is_importable(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from docstatus import {name}", namespace)  # noqa: S102  # the import statement itself is the test
    assert namespace[name] is getattr(docstatus, name)
    assert not isinstance(namespace[name], types.ModuleType), f"{name} is a module, not API"


def test_every_public_name_defined_in_init_is_in_all() -> None:
    missing = _defined_in_init() - set(docstatus.__all__)
    assert not missing, f"public in docstatus/__init__.py but not in __all__: {sorted(missing)}"


def test_lazy_names_are_in_all() -> None:
    lazy = set(docstatus._LAZY)
    assert lazy <= set(docstatus.__all__)
    for name, module in docstatus._LAZY.items():
        assert module.startswith("._"), f"{name}: lazy modules are private ({module})"


def test_no_stray_public_attributes() -> None:
    """At run time too: every public attribute that is not plumbing is in __all__ (after lazy loads)."""
    for name in docstatus.__all__:
        getattr(docstatus, name)
    stray = {
        name
        for name, value in vars(docstatus).items()
        if not name.startswith("_") and name not in PLUMBING and not isinstance(value, types.ModuleType)
    } - set(docstatus.__all__)
    assert not stray, sorted(stray)


def test_dir_is_all() -> None:
    assert dir(docstatus) == sorted(docstatus.__all__)


@pytest.mark.parametrize("name", ["no_such_thing", "JobStatuses", "_LAZY_MISSING", "httpx"])
def test_unknown_attribute_raises_attribute_error(name: str) -> None:
    with pytest.raises(AttributeError, match=f"module 'docstatus' has no attribute '{name}'"):
        getattr(docstatus, name)
    assert not hasattr(docstatus, name)


def test_providers_are_the_six_sorted() -> None:
    # sarvam_docai: Sarvam's Document AI API (specs/sarvam_docai); sarvam stays the legacy API
    assert docstatus.PROVIDERS == ("aitronos", "artos", "markdown2pdf", "neurolinker", "sarvam", "sarvam_docai")
    assert tuple(sorted(docstatus.PROVIDERS)) == docstatus.PROVIDERS


def test_star_import_gives_all() -> None:
    namespace: dict[str, object] = {}
    exec("from docstatus import *", namespace)  # noqa: S102
    assert {k for k in namespace if k != "__builtins__"} == set(docstatus.__all__)


# --- `import docstatus` is cheap --------------------------------------------------------------------

PROBE = """
import json, sys
import docstatus
print(json.dumps(sorted(sys.modules)))
"""


@pytest.fixture(scope="module")
def modules_after_import() -> list[str]:
    """``sys.modules`` after ``import docstatus`` in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT / "tests",
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_import_loads_no_generated_client(modules_after_import: list[str]) -> None:
    loaded = [m for m in modules_after_import if m.startswith("docstatus_")]
    assert loaded == [], f"`import docstatus` imported generated code: {loaded}"


@pytest.mark.parametrize("heavy", ["httpx", "rich", "pydantic", "uvicorn", "dateutil", "yaml"])
def test_import_loads_no_heavy_dependency(modules_after_import: list[str], heavy: str) -> None:
    assert not [m for m in modules_after_import if m == heavy or m.startswith(f"{heavy}.")]


def test_probe_sees_the_same_package(modules_after_import: list[str]) -> None:
    # Sanity of the probe: it imported docstatus (this repository's), not nothing.
    assert "docstatus" in modules_after_import
    assert "docstatus._status" in modules_after_import
    spec = importlib.util.find_spec("docstatus")
    assert spec is not None
    # The tests run against an installed copy (nox) or the editable checkout (dev venv).
    assert spec.origin is not None
    assert pathlib.Path(spec.origin).read_bytes() == INIT.read_bytes()
