"""The drift check: generated/ and the extracted specs are exactly what generation produces.

Generation runs once per session (about 10 s) into a temporary folder; the committed files
are compared with it byte for byte. On a difference the test fails with a unified diff, file
by file. Fix: `nox -s generate`, then commit the result; never edit generated/ by hand.

Generation needs the pinned codegen tools (pyproject `[dependency-groups] codegen`) in the
Python running the tests: the dev venv and the nox `tests` session have them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType


def _load_generate() -> ModuleType:
    name = "docstatus_codegen_generate"  # the same key as tests/test_codegen.py: loaded once
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "codegen" / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generate()

TOOL_MODULES = {
    "openapi-python-client": "openapi_python_client",
    "datamodel-code-generator": "datamodel_code_generator",
    "openapi-spec-validator": "openapi_spec_validator",
}
HINT = "run `nox -s generate` and commit the result (generated/ is never edited by hand)"


def _missing_tools() -> list[str]:
    missing = [dist for dist, module in TOOL_MODULES.items() if importlib.util.find_spec(module) is None]
    if shutil.which("ruff", path=str(Path(sys.executable).parent)) is None and shutil.which("ruff") is None:
        missing.append("ruff")
    return missing


def _snapshot(root: Path) -> dict[Path, str]:
    return {rel: hashlib.sha256((root / rel).read_bytes()).hexdigest() for rel in gen.outputs(root)}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A root folder holding a fresh generation: ``specs/`` outputs and ``generated/``."""
    missing = _missing_tools()
    if missing:
        pytest.fail(
            f"cannot run the drift check: {', '.join(missing)} not installed next to {sys.executable}; "
            "install the `codegen` dependency group (pyproject.toml) or run `nox -s tests`"
        )
    before = _snapshot(ROOT)
    out = tmp_path_factory.mktemp("fresh-generation")
    try:
        gen.generate_all(out)
    except gen.GenerationError as exc:
        pytest.fail(f"generation failed: {exc}")
    assert _snapshot(ROOT) == before, "generating into a temporary folder changed the repository"
    return out


def test_codegen_tools_are_the_pinned_versions() -> None:
    manifest_tools = json.loads((ROOT / "generated" / "MANIFEST.json").read_text("utf-8"))["tools"]
    installed = gen.versions()
    assert installed == manifest_tools, (
        f"installed codegen tools {installed} differ from the ones generated/ was made with "
        f"{manifest_tools}: install the pinned `codegen` group, or regenerate on purpose"
    )


def test_generated_is_fresh(fresh: Path) -> None:
    problems = gen.diff_trees(fresh, ROOT)
    if problems:
        pytest.fail(
            f"{len(problems)} generated file(s) differ from a fresh generation; {HINT}.\n\n" + "\n".join(problems),
            pytrace=False,
        )


def test_fresh_generation_covers_every_provider(fresh: Path) -> None:
    for provider in gen.providers():
        assert (fresh / "generated" / f"docstatus_{provider}_client" / "py.typed").is_file()
        assert (fresh / "generated" / "docstatus_simulator_models" / f"{provider}.py").is_file()
        assert (fresh / "specs" / provider / "provenance.json").is_file()


# --- the check itself detects drift -----------------------------------------------------------------


@pytest.fixture
def committed_copy(tmp_path: Path) -> Path:
    """A copy of the repository's generated outputs, to damage."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "generated", root / "generated", ignore=shutil.ignore_patterns("__pycache__"))
    for rel in gen.outputs(ROOT):
        if rel.parts[0] == "specs":
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / rel, root / rel)
    return root


def _new_problems(fresh: Path, root: Path, baseline: list[str]) -> list[str]:
    return [p for p in gen.diff_trees(fresh, root) if p not in baseline]


def test_copy_matches_the_repository(fresh: Path, committed_copy: Path) -> None:
    assert gen.diff_trees(fresh, committed_copy) == gen.diff_trees(fresh, ROOT)
    assert gen.diff_trees(ROOT, committed_copy) == []


def test_detects_an_edited_generated_file(fresh: Path, committed_copy: Path) -> None:
    baseline = gen.diff_trees(fresh, ROOT)
    rel = Path("generated/docstatus_artos_client/models/task_status_response_status.py")
    target = committed_copy / rel
    target.write_text(target.read_text("utf-8").replace('READY = "Ready"', 'READY = "Done"'), "utf-8")
    (problem,) = _new_problems(fresh, committed_copy, baseline)
    assert f"--- committed/{rel}" in problem
    assert f"+++ regenerated/{rel}" in problem
    assert '-    READY = "Done"' in problem
    assert '+    READY = "Ready"' in problem


def test_detects_a_deleted_and_an_extra_file(fresh: Path, committed_copy: Path) -> None:
    baseline = gen.diff_trees(fresh, ROOT)
    deleted = Path("generated/docstatus_sarvam_client/models/doc_digitization_page_error.py")
    (committed_copy / deleted).unlink()
    extra = Path("generated/docstatus_sarvam_client/models/hand_written.py")
    (committed_copy / extra).write_text("X = 1\n", "utf-8")
    problems = _new_problems(fresh, committed_copy, baseline)
    assert sorted(problems) == sorted(
        [
            f"missing: {deleted} (generation writes it; it is not committed)",
            f"extra: {extra} (committed, but generation no longer writes it)",
        ]
    )


def test_detects_a_stale_extracted_spec(fresh: Path, committed_copy: Path) -> None:
    baseline = gen.diff_trees(fresh, ROOT)
    rel = Path("specs/markdown2pdf/openapi.yaml")
    target = committed_copy / rel
    target.write_text(target.read_text("utf-8").replace("- Processing\n", "- Working\n"), "utf-8")
    (problem,) = _new_problems(fresh, committed_copy, baseline)
    assert f"--- committed/{rel}" in problem
    assert "\n-      - Working\n" in problem
    assert "\n+      - Processing\n" in problem


def test_detects_a_stale_provenance(fresh: Path, committed_copy: Path) -> None:
    baseline = gen.diff_trees(fresh, ROOT)
    rel = Path("specs/neurolinker/provenance.json")
    target = committed_copy / rel
    target.write_text(target.read_text("utf-8").replace('"captured": "', '"captured": "x'), "utf-8")
    (problem,) = _new_problems(fresh, committed_copy, baseline)
    assert f"committed/{rel}" in problem


def test_pycache_is_not_drift(fresh: Path, committed_copy: Path) -> None:
    cache = committed_copy / "generated" / "docstatus_artos_client" / "__pycache__"
    cache.mkdir()
    (cache / "client.cpython-311.pyc").write_bytes(b"\0")
    assert gen.diff_trees(fresh, committed_copy) == gen.diff_trees(fresh, ROOT)
