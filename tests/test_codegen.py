"""Unit tests of codegen/generate.py, and of the provenance it records.

The generator is a script, not a package: it is loaded from its path. Running the full
generation is the drift check's job (tests/test_generated_fresh.py); these tests cover the
pieces, fast.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
import sys
import tomllib
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from conftest import ROOT, SPECS
from openapi_spec_validator import validate

if TYPE_CHECKING:
    from pathlib import Path
    from types import ModuleType

PROVIDERS = ["aitronos", "artos", "markdown2pdf", "neurolinker", "sarvam", "sarvam_docai"]
EMBEDDED = ["artos", "markdown2pdf", "sarvam"]
HANDWRITTEN = ["aitronos", "neurolinker"]


def _load_generate() -> ModuleType:
    name = "docstatus_codegen_generate"
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


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


MINIMAL = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {"/jobs": {"get": {"responses": {"200": {"description": "ok"}}}}},
}


def fenced(doc: Any, fence: str = "```", lang: str = "yaml") -> str:
    return f"{fence}{lang}\n{yaml.safe_dump(doc, sort_keys=False)}{fence}\n"


# --- which providers, which kind of spec ---------------------------------------------------------


def test_providers_are_the_six_spec_folders() -> None:
    assert gen.providers() == PROVIDERS
    assert gen.SPECS == SPECS


@pytest.mark.parametrize("provider", PROVIDERS)
def test_source_toml_says_how_the_spec_is_made(provider: str) -> None:
    source = tomllib.loads((SPECS / provider / "source.toml").read_text("utf-8"))
    assert source["provider"] == provider
    assert source["url"].startswith("https://")
    assert source["spec"] == ("embedded" if provider in EMBEDDED else "handwritten")


# --- extraction ---------------------------------------------------------------------------------------


def test_extract_finds_the_one_spec() -> None:
    page = "# Title\n\nSome prose.\n\n" + fenced({"not": "a spec"}) + fenced(MINIMAL) + "\nMore prose.\n"
    assert gen.extract_openapi(page, "acme") == MINIMAL


@pytest.mark.parametrize(("fence", "lang"), [("```", "yml"), ("````", "yaml"), ("```", "yaml title=spec")])
def test_extract_accepts_fence_variants(fence: str, lang: str) -> None:
    assert gen.extract_openapi(fenced(MINIMAL, fence, lang), "acme") == MINIMAL


def test_extract_ignores_other_languages() -> None:
    page = "```json\n" + json.dumps(MINIMAL) + "\n```\n" + fenced(MINIMAL)
    assert gen.extract_openapi(page, "acme") == MINIMAL


@pytest.mark.parametrize(
    ("page", "count"),
    [
        ("# No spec here\n\n```python\nprint(1)\n```\n", 0),
        (fenced({"info": {"title": "no openapi key"}}), 0),
        (fenced(["a", "list"]), 0),
        (fenced(MINIMAL) + "\n" + fenced({**MINIMAL, "openapi": "3.0.0"}), 2),
    ],
    ids=["none", "no-openapi-key", "yaml-list", "two"],
)
def test_extract_needs_exactly_one(page: str, count: int) -> None:
    with pytest.raises(gen.GenerationError) as info:
        gen.extract_openapi(page, "acme")
    message = str(info.value)
    assert message.startswith("acme:")
    assert f"found {count}" in message
    assert "handwritten" in message  # says what to do


@pytest.mark.parametrize("provider", EMBEDDED)
def test_committed_spec_is_the_pages_spec_plus_patches(provider: str) -> None:
    page = (SPECS / provider / "page.md").read_text("utf-8")
    doc = gen.extract_openapi(page, provider)
    patches = SPECS / provider / "patches.yaml"
    if patches.is_file():
        doc = gen.apply_patches(doc, yaml.safe_load(patches.read_text("utf-8")), provider)
    assert doc == yaml.safe_load((SPECS / provider / "openapi.yaml").read_text("utf-8"))


@pytest.mark.parametrize("provider", HANDWRITTEN)
def test_handwritten_pages_embed_no_spec(provider: str) -> None:
    # The reason they are marked "handwritten": there is nothing to extract.
    with pytest.raises(gen.GenerationError, match=f"^{provider}: .*found 0"):
        gen.extract_openapi((SPECS / provider / "page.md").read_text("utf-8"), provider)


# --- patches -------------------------------------------------------------------------------------------


def doc() -> dict[str, Any]:
    return {
        "info": {"title": "", "version": "1"},
        "paths": {"/a/{id}": {"get": {"parameters": [{"name": "id"}, {"name": "key"}]}}},
        "tags": ["x"],
    }


def test_patch_add_replace_remove() -> None:
    patches = [
        {"op": "replace", "path": "/info/title", "value": "Acme", "why": "empty on the page"},
        {"op": "add", "path": "/security", "value": [{"k": []}], "why": "declared, never applied"},
        {"op": "remove", "path": "/paths/~1a~1{id}/get/parameters/1", "why": "a credential"},
        {"op": "add", "path": "/tags/-", "value": "y", "why": "append"},
        {"op": "add", "path": "/tags/0", "value": "w", "why": "insert"},
        {"op": "replace", "path": "/tags/1", "value": "X", "why": "replace in a list"},
    ]
    original = doc()
    result = gen.apply_patches(copy.deepcopy(original), patches, "acme")
    assert result["info"]["title"] == "Acme"
    assert result["security"] == [{"k": []}]
    assert result["paths"]["/a/{id}"]["get"]["parameters"] == [{"name": "id"}]
    assert result["tags"] == ["w", "X", "y"]
    assert result["info"]["version"] == original["info"]["version"]


def test_pointer_unescapes_tilde_and_slash() -> None:
    patched = gen.apply_patches({"a/b": {"c~d": 1}}, [{"op": "remove", "path": "/a~1b/c~0d", "why": "w"}], "acme")
    assert patched == {"a/b": {}}


@pytest.mark.parametrize("why", [None, "", "   "])
def test_patch_without_why_fails(why: str | None) -> None:
    patch: dict[str, Any] = {"op": "replace", "path": "/info/title", "value": "T"}
    if why is not None:
        patch["why"] = why
    with pytest.raises(gen.GenerationError, match=r"^acme: patches.yaml operation 1 has no 'why'"):
        gen.apply_patches(doc(), [patch], "acme")


@pytest.mark.parametrize(
    ("op", "path"),
    [
        ("remove", "/paths/~1a~1{id}/get/parameters/5"),
        ("replace", "/info/summary"),
        ("remove", "/paths/~1b~1{id}/get"),
        ("add", "/components/schemas/X"),
        ("replace", "/paths/~1a~1{id}/get/parameters/9/name"),
    ],
)
def test_patch_whose_path_no_longer_exists_fails(op: str, path: str) -> None:
    patches = [
        {"op": "replace", "path": "/info/title", "value": "T", "why": "fine"},
        {"op": op, "path": path, "value": 1, "why": "the page had it once"},
    ]
    with pytest.raises(gen.GenerationError) as info:
        gen.apply_patches(doc(), patches, "sarvam")
    message = str(info.value)
    assert message.startswith("sarvam: patches.yaml operation 2")
    assert repr(path) in message


def test_patch_unsupported_op_fails() -> None:
    with pytest.raises(gen.GenerationError, match="unsupported op 'move'"):
        gen.apply_patches(doc(), [{"op": "move", "path": "/info/title", "why": "w", "from": "/x"}], "acme")


def test_patch_path_must_be_a_pointer() -> None:
    with pytest.raises(gen.GenerationError, match="must start with '/'"):
        gen.apply_patches(doc(), [{"op": "remove", "path": "info/title", "why": "w"}], "acme")


def test_every_committed_patch_says_why() -> None:
    for patches in SPECS.glob("*/patches.yaml"):
        for op in yaml.safe_load(patches.read_text("utf-8")):
            assert str(op.get("why", "")).strip(), f"{patches}: {op}"


# --- load_spec in a scratch specs/ folder -----------------------------------------------------------


@pytest.fixture
def scratch_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    specs = tmp_path / "in" / "specs"
    specs.mkdir(parents=True)
    monkeypatch.setattr(gen, "SPECS", specs)
    return specs


def _provider(specs: Path, name: str, page: str, spec: str = "embedded", patches: Any = None) -> None:
    folder = specs / name
    folder.mkdir()
    (folder / "source.toml").write_text(
        f'provider = "{name}"\nurl = "https://example.test/{name}"\ncaptured = "2026-11-22"\nspec = "{spec}"\n'
    )
    (folder / "page.md").write_text(page)
    if patches is not None:
        (folder / "patches.yaml").write_text(yaml.safe_dump(patches))


def test_load_spec_writes_spec_and_provenance(scratch_specs: Path, tmp_path: Path) -> None:
    patches = [{"op": "replace", "path": "/info/title", "value": "Acme API", "why": "nicer"}]
    _provider(scratch_specs, "acme", "# Acme\n\n" + fenced(MINIMAL), patches=patches)
    out = tmp_path / "out"
    spec_path, provenance = gen.load_spec("acme", out)
    assert spec_path == out / "specs" / "acme" / "openapi.yaml"
    text = spec_path.read_text("utf-8")
    assert text.startswith("# GENERATED by `nox -s generate` from specs/acme/page.md and patches.yaml")
    assert yaml.safe_load(text)["info"]["title"] == "Acme API"
    written = json.loads((out / "specs" / "acme" / "provenance.json").read_text("utf-8"))
    assert written == provenance
    assert provenance["openapi_sha256"] == sha256_file(spec_path)
    assert provenance["page_sha256"] == sha256_file(scratch_specs / "acme" / "page.md")
    assert provenance["patches_sha256"] == sha256_file(scratch_specs / "acme" / "patches.yaml")
    assert provenance["source_url"] == "https://example.test/acme"
    # the input folder is left alone
    assert not (scratch_specs / "acme" / "openapi.yaml").exists()


def test_load_spec_rejects_an_invalid_document(scratch_specs: Path, tmp_path: Path) -> None:
    broken = {"openapi": "3.1.0", "paths": {}}  # no info
    _provider(scratch_specs, "acme", fenced(broken))
    with pytest.raises(gen.GenerationError, match=r"^acme: openapi.yaml is not a valid OpenAPI document"):
        gen.load_spec("acme", tmp_path / "out")


def test_load_spec_rejects_an_unknown_kind(scratch_specs: Path, tmp_path: Path) -> None:
    _provider(scratch_specs, "acme", fenced(MINIMAL), spec="scraped")
    with pytest.raises(gen.GenerationError, match=r"^acme: source.toml 'spec' must be"):
        gen.load_spec("acme", tmp_path / "out")


def test_a_changed_page_breaks_a_stale_patch(scratch_specs: Path, tmp_path: Path) -> None:
    """Sarvam's real patches against its real page with the path renamed, as a re-capture might."""
    page = (SPECS / "sarvam" / "page.md").read_text("utf-8")
    assert page.count("/doc-digitization/job/v1/{job_id}/status:") == 1
    changed = page.replace("/doc-digitization/job/v1/{job_id}/status:", "/doc-digitization/job/v2/{job_id}/status:")
    _provider(
        scratch_specs,
        "sarvam",
        changed,
        patches=yaml.safe_load((SPECS / "sarvam" / "patches.yaml").read_text()),
    )
    with pytest.raises(gen.GenerationError) as info:
        gen.load_spec("sarvam", tmp_path / "out")
    message = str(info.value)
    assert message.startswith("sarvam: patches.yaml operation 1")
    assert "/paths/~1doc-digitization~1job~1v1~1{job_id}~1status/get/parameters/1" in message


def test_real_sarvam_page_loads(tmp_path: Path) -> None:
    spec_path, provenance = gen.load_spec("sarvam", tmp_path)
    assert spec_path.read_bytes() == (SPECS / "sarvam" / "openapi.yaml").read_bytes()
    assert provenance == json.loads((SPECS / "sarvam" / "provenance.json").read_text("utf-8"))


# --- provenance and manifest match the files --------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_provenance_hashes_are_the_files(provider: str) -> None:
    folder = SPECS / provider
    provenance = json.loads((folder / "provenance.json").read_text("utf-8"))
    source = tomllib.loads((folder / "source.toml").read_text("utf-8"))
    assert provenance["provider"] == provider
    assert provenance["source_url"] == source["url"]
    assert provenance["captured"] == source["captured"]
    assert provenance["spec"] == source["spec"]
    assert provenance["page_sha256"] == sha256_file(folder / "page.md")
    assert provenance["openapi_sha256"] == sha256_file(folder / "openapi.yaml")
    if (folder / "patches.yaml").is_file():
        assert provenance["patches_sha256"] == sha256_file(folder / "patches.yaml")
    else:
        assert "patches_sha256" not in provenance


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_spec_is_valid_openapi(provider: str) -> None:
    document = yaml.safe_load((SPECS / provider / "openapi.yaml").read_text("utf-8"))
    validate(document)
    # one status endpoint per provider; Aitronos also has its SDK's path (specs/aitronos/NOTES.md)
    assert len(document["paths"]) == (2 if provider == "aitronos" else 1)
    for item in document["paths"].values():
        assert item["get"]["tags"] == ["status"]
        assert item["get"]["operationId"].startswith("getStatus")


#: The providers whose page was captured into ../shared/provider-docs (sarvam_docai's page.md is
#: assembled from several Sarvam pages: specs/sarvam_docai/NOTES.md).
CAPTURED = ("aitronos", "artos", "markdown2pdf", "neurolinker", "sarvam")
#: The read-only folder of provider-page captures that CI lays beside the checkout. It is not in
#: the repository on purpose: it is the one copy of each page that nothing here edits or
#: regenerates (provenance.json's page_sha256 is recomputed from page.md by `nox -s generate`, so
#: it cannot catch an edit to page.md; only this comparison can).
SHARED_CAPTURES = ROOT.parent / "shared" / "provider-docs"


@pytest.mark.parametrize("provider", CAPTURED)
def test_captured_page_is_the_shared_capture(provider: str) -> None:
    """specs/<p>/page.md is byte for byte the provider page as captured in SHARED_CAPTURES."""
    if not SHARED_CAPTURES.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI lays the provider-page captures beside the checkout, but {SHARED_CAPTURES} is missing")
        pytest.skip(
            f"needs the provider-page captures in {SHARED_CAPTURES} (shared/provider-docs/ beside this "
            "checkout; CI lays it there, a plain clone has none) to check that specs/<provider>/page.md "
            "is the captured page byte for byte; nothing else in the repository can (see SHARED_CAPTURES)"
        )
    shared = SHARED_CAPTURES / f"{provider}.md"
    assert shared.is_file(), f"the capture folder {SHARED_CAPTURES} has no page for {provider}"
    assert (SPECS / provider / "page.md").read_bytes() == shared.read_bytes()


MANIFEST = json.loads((ROOT / "generated" / "MANIFEST.json").read_text("utf-8"))


def test_manifest_records_the_pinned_generator() -> None:
    assert MANIFEST["tools"]["openapi-python-client"] == "0.29.1"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    pins = dict(pin.split("==") for pin in pyproject["dependency-groups"]["codegen"])
    assert pins == MANIFEST["tools"], "pyproject's codegen pins and generated/MANIFEST.json disagree"


def test_manifest_hashes_are_the_files() -> None:
    assert sorted(MANIFEST["providers"]) == PROVIDERS
    for provider, entry in MANIFEST["providers"].items():
        assert entry["openapi"] == f"specs/{provider}/openapi.yaml"
        assert entry["openapi_sha256"] == sha256_file(ROOT / entry["openapi"])
        assert entry["client_package"] == f"docstatus_{provider}_client"
        assert (ROOT / "generated" / entry["client_package"] / "__init__.py").is_file()
        module = entry["simulator_models"].replace(".", "/") + ".py"
        assert (ROOT / "generated" / module).is_file()
    assert MANIFEST["templates_sha256"] == gen.templates_sha256()


def test_templates_hash_changes_with_a_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    for path in gen.TEMPLATES.rglob("*.jinja"):
        copy = templates / path.relative_to(gen.TEMPLATES)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(path.read_bytes())
    monkeypatch.setattr(gen, "TEMPLATES", templates)
    assert gen.templates_sha256() == MANIFEST["templates_sha256"]
    with (templates / "errors.py.jinja").open("a") as f:
        f.write("\n")
    assert gen.templates_sha256() != MANIFEST["templates_sha256"]


def test_generated_readme_lists_every_package() -> None:
    readme = (ROOT / "generated" / "README.md").read_text("utf-8")
    for provider, entry in MANIFEST["providers"].items():
        assert f"`{entry['client_package']}` | `specs/{provider}/openapi.yaml`" in readme
        assert entry["openapi_sha256"][:16] in readme
