"""Regenerate everything derived from ``specs/``: run by ``nox -s generate``.

For each provider folder in ``specs/`` this script

1. reads ``source.toml`` (where the page came from, and whether the spec is
   embedded in the page or written by hand);
2. for an embedded spec, extracts the OpenAPI document from ``page.md`` and
   applies ``patches.yaml`` (RFC 6902 operations, each with a ``why``), writing
   ``openapi.yaml``; a hand-written ``openapi.yaml`` is read as it is;
3. validates the document (openapi-spec-validator);
4. runs openapi-python-client with the templates in ``codegen/templates`` into
   ``generated/docstatus_<provider>_client`` (ruff pinned, run ``--isolated``
   so no parent configuration can change the bytes), failing on any warning;
   the spec's ``security``/``securitySchemes`` reach the templates as
   ``docstatus_auth.jinja`` (see ``auth_schemes``), so each client's credential
   defaults (header name, prefix, or none) come from its spec;
5. runs datamodel-code-generator on the same document into
   ``generated/docstatus_simulator_models/<provider>.py`` (pydantic models the
   offline simulator builds its responses with);
6. records provenance: ``specs/<provider>/provenance.json`` and
   ``generated/MANIFEST.json`` (tool versions and sha256 of every input).

``--check`` regenerates into a temporary directory and compares it with the
committed files, printing a unified diff and exiting 1 when anything differs.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from openapi_spec_validator import validate

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
TEMPLATES = ROOT / "codegen" / "templates"
PACKAGE_PREFIX = "docstatus_"
CLIENT_SUFFIX = "_client"
SIM_MODELS = "docstatus_simulator_models"
TOOLS = ("openapi-python-client", "ruff", "datamodel-code-generator", "openapi-spec-validator", "pyyaml")

_FENCE = re.compile(r"^(?P<fence>`{3,})ya?ml[^\n]*\n(?P<body>.*?)^(?P=fence)\s*$", re.MULTILINE | re.DOTALL)


class GenerationError(Exception):
    """Generation cannot go on; the message says which provider and why."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def providers() -> list[str]:
    return sorted(p.name for p in SPECS.iterdir() if (p / "source.toml").is_file())


def extract_openapi(page: str, provider: str) -> dict[str, Any]:
    """Return the one OpenAPI document embedded in a documentation page."""
    found = [
        doc
        for m in _FENCE.finditer(page)
        if isinstance(doc := yaml.safe_load(m.group("body")), dict) and "openapi" in doc
    ]
    if len(found) != 1:
        raise GenerationError(
            f"{provider}: expected exactly one fenced yaml block with an 'openapi' key in page.md, "
            f"found {len(found)}; fix the page capture or mark the spec 'handwritten' in source.toml"
        )
    return found[0]


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise GenerationError(f"patch path {path!r} must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def apply_patches(doc: dict[str, Any], patches: list[dict[str, Any]], provider: str) -> dict[str, Any]:
    """Apply RFC 6902 add/replace/remove operations; every one must say why."""
    for number, op in enumerate(patches, 1):
        where = f"{provider}: patches.yaml operation {number}"
        if not str(op.get("why", "")).strip():
            raise GenerationError(f"{where} has no 'why': every correction of a provider's spec is explained")
        *parents, last = _pointer(op["path"])
        target: Any = doc
        for part in parents:
            try:
                target = target[int(part)] if isinstance(target, list) else target[part]
            except (KeyError, IndexError, ValueError) as exc:
                raise GenerationError(f"{where}: path {op['path']!r} does not exist in the page's spec") from exc
        kind = op.get("op")
        missing = (isinstance(target, dict) and last not in target) or (
            isinstance(target, list) and not (last.isdigit() and int(last) < len(target))
        )
        if kind in {"remove", "replace"} and missing:
            raise GenerationError(f"{where}: {kind} of missing {op['path']!r}; the page changed, review the patch")
        if kind == "remove":
            del target[int(last) if isinstance(target, list) else last]
        elif kind in ("add", "replace"):
            if isinstance(target, list):
                index = len(target) if last == "-" else int(last)
                if kind == "add":
                    target.insert(index, op["value"])
                else:
                    target[index] = op["value"]
            else:
                target[last] = op["value"]
        else:
            raise GenerationError(f"{where}: unsupported op {kind!r} (use add, replace or remove)")
    return doc


def dump_yaml(doc: dict[str, Any], header: str) -> str:
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    return header + body


def load_spec(provider: str, out_root: Path) -> tuple[Path, dict[str, Any]]:
    """Produce ``specs/<provider>/openapi.yaml`` under ``out_root``; return its path and provenance."""
    folder = SPECS / provider
    source = tomllib.loads((folder / "source.toml").read_text("utf-8"))
    page = (folder / "page.md").read_bytes()
    provenance: dict[str, Any] = {
        "provider": provider,
        "source_url": source["url"],
        "captured": source["captured"],
        "spec": source["spec"],
        "page_sha256": sha256(page),
    }
    out_dir = out_root / "specs" / provider
    out_dir.mkdir(parents=True, exist_ok=True)
    if source["spec"] == "embedded":
        doc = extract_openapi(page.decode("utf-8"), provider)
        patch_file = folder / "patches.yaml"
        if patch_file.is_file():
            patch_bytes = patch_file.read_bytes()
            provenance["patches_sha256"] = sha256(patch_bytes)
            doc = apply_patches(doc, yaml.safe_load(patch_bytes) or [], provider)
        text = dump_yaml(
            doc,
            f"# GENERATED by `nox -s generate` from specs/{provider}/page.md"
            + (" and patches.yaml" if patch_file.is_file() else "")
            + ". Do not edit: change the page capture or patches.yaml.\n",
        )
        spec_path = out_dir / "openapi.yaml"
        spec_path.write_text(text, "utf-8")
    elif source["spec"] == "handwritten":
        spec_path = folder / "openapi.yaml"
        text = spec_path.read_text("utf-8")
        doc = yaml.safe_load(text)
    else:
        raise GenerationError(f"{provider}: source.toml 'spec' must be 'embedded' or 'handwritten'")
    try:
        validate(doc)
    except Exception as exc:  # the validator raises several unrelated types
        raise GenerationError(f"{provider}: openapi.yaml is not a valid OpenAPI document: {exc}") from exc
    provenance["openapi_sha256"] = sha256(text.encode("utf-8"))
    (out_dir / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n", "utf-8")
    return spec_path, provenance


def auth_schemes(doc: dict[str, Any], provider: str) -> list[dict[str, str]]:
    """The ways a spec lets a client authenticate, in the order of its ``security`` list.

    Each is ``{"name", "kind", "header", "prefix"}``: an ``apiKey`` scheme ``in: header`` is
    ``kind="api_key"``, its ``name`` the header, no prefix; an ``http`` ``bearer`` scheme is
    ``kind="bearer"``, ``Authorization: Bearer <token>``. The top-level ``security`` applies to
    every operation; an operation may not declare its own (one client, one set of credentials).
    The first entry is the generated ``AuthenticatedClient``'s default; ``security: []`` or none
    gives no entry (the API needs no credential).
    """
    declared = ((doc.get("components") or {}).get("securitySchemes")) or {}
    for path, item in (doc.get("paths") or {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "security" in operation and operation["security"] != doc.get("security"):
                where = f"{provider}: {method.upper()} {path}"
                raise GenerationError(f"{where} declares its own 'security'; declare it once, at the top level")
    schemes: list[dict[str, str]] = []
    for requirement in doc.get("security") or []:
        for name in requirement:
            scheme = declared.get(name)
            if not isinstance(scheme, dict):
                raise GenerationError(f"{provider}: security names {name!r}, which securitySchemes does not define")
            if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                entry = {"name": name, "kind": "api_key", "header": str(scheme["name"]), "prefix": ""}
            elif scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
                entry = {"name": name, "kind": "bearer", "header": "Authorization", "prefix": "Bearer"}
            else:
                raise GenerationError(
                    f"{provider}: security scheme {name!r} ({scheme.get('type')}) is not supported by the templates "
                    "(an apiKey in a header, or http bearer)"
                )
            if entry not in schemes:
                schemes.append(entry)
    return schemes


def auth_template(schemes: list[dict[str, str]]) -> str:
    """``docstatus_auth.jinja``: the spec's schemes as a Jinja list the client template imports."""
    return "{# written by codegen/generate.py from the spec's security; not a template to edit #}\n" + (
        "{% set schemes = " + json.dumps(schemes, sort_keys=True) + " %}\n"
    )


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, check=False)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise GenerationError(f"{what} failed (exit {proc.returncode}):\n{output}")
    return output


def _ruff() -> str:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        raise GenerationError("ruff is not installed next to this Python; run through `nox -s generate`")
    return ruff


def generate_client(provider: str, spec_path: Path, out_generated: Path, work: Path) -> None:
    package = f"{PACKAGE_PREFIX}{provider}{CLIENT_SUFFIX}"
    ruff = _ruff()
    config = work / f"{provider}-config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "package_name_override": package,
                "project_name_override": package.replace("_", "-"),
                "post_hooks": [
                    f"{ruff} check --isolated --no-cache --fix-only --extend-select=I --quiet .",
                    f"{ruff} format --isolated --no-cache --quiet .",
                ],
            }
        ),
        "utf-8",
    )
    target = out_generated / package
    templates = work / f"{provider}-templates"
    shutil.rmtree(templates, ignore_errors=True)
    shutil.copytree(TEMPLATES, templates)
    doc = yaml.safe_load(spec_path.read_text("utf-8"))
    (templates / "docstatus_auth.jinja").write_text(auth_template(auth_schemes(doc, provider)), "utf-8")
    output = _run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(spec_path),
            "--meta",
            "none",
            "--config",
            str(config),
            "--custom-template-path",
            str(templates),
            "--output-path",
            str(target),
            "--overwrite",
            "--fail-on-warning",
        ],
        f"openapi-python-client for {provider}",
        cwd=work,
    )
    if "warning" in output.lower() or "error" in output.lower():
        raise GenerationError(f"openapi-python-client reported problems for {provider}:\n{output}")
    (target / "py.typed").write_text("", "utf-8")


def generate_sim_models(provider: str, spec_path: Path, out_generated: Path) -> None:
    package = out_generated / SIM_MODELS
    package.mkdir(parents=True, exist_ok=True)
    target = package / f"{provider}.py"
    _run(
        [
            sys.executable,
            "-m",
            "datamodel_code_generator",
            "--input",
            str(spec_path),
            "--input-file-type",
            "openapi",
            "--output",
            str(target),
            "--output-model-type",
            "pydantic_v2.BaseModel",
            "--target-python-version",
            "3.11",
            "--use-standard-collections",
            "--use-union-operator",
            "--use-schema-description",
            "--field-constraints",
            "--enum-field-as-literal",
            "all",
            "--disable-timestamp",
            "--custom-file-header",
            f'"""Pydantic models of specs/{provider}/openapi.yaml, for the simulator.\n\n'
            'GENERATED by `nox -s generate` (datamodel-code-generator); do not edit."""',
            "--no-formatters",
        ],
        f"datamodel-code-generator for {provider}",
    )
    # Format once more with the pinned ruff, isolated, so the bytes never depend on
    # a parent folder's configuration.
    for step in (["check", "--fix-only", "--extend-select=I"], ["format"]):
        _run([_ruff(), *step, "--isolated", "--no-cache", "--quiet", str(target)], f"ruff for {provider}")


def versions() -> dict[str, str]:
    return {tool: importlib.metadata.version(tool) for tool in TOOLS}


def templates_sha256() -> str:
    digest = hashlib.sha256()
    for path in sorted(TEMPLATES.rglob("*.jinja")):
        digest.update(path.relative_to(TEMPLATES).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def write_manifest(out_generated: Path, provenance: list[dict[str, Any]]) -> None:
    tool_versions = versions()
    manifest = {
        "generated_by": "nox -s generate (codegen/generate.py)",
        "tools": tool_versions,
        "templates_sha256": templates_sha256(),
        "providers": {
            p["provider"]: {
                "client_package": f"{PACKAGE_PREFIX}{p['provider']}{CLIENT_SUFFIX}",
                "simulator_models": f"{SIM_MODELS}.{p['provider']}",
                "openapi": f"specs/{p['provider']}/openapi.yaml",
                "openapi_sha256": p["openapi_sha256"],
            }
            for p in provenance
        },
    }
    (out_generated / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    rows = "\n".join(
        f"| `{PACKAGE_PREFIX}{p['provider']}{CLIENT_SUFFIX}` | `specs/{p['provider']}/openapi.yaml` "
        f"| `{p['openapi_sha256'][:16]}…` |"
        for p in provenance
    )
    tools = ", ".join(f"{k} {v}" for k, v in tool_versions.items())
    (out_generated / "README.md").write_text(
        f"""# generated/ — do not edit

Everything in this folder is written by `nox -s generate` (`codegen/generate.py`)
from `specs/` and `codegen/templates/`. Edits made by hand are overwritten, and the
drift check (`tests/test_generated_fresh.py`, part of `nox -s tests`) fails while
this folder differs from what generation produces.

Tools: {tools}. Full versions and hashes: `MANIFEST.json`.

| package | generated from | spec sha256 |
|---|---|---|
{rows}

`{SIM_MODELS}` holds pydantic models (datamodel-code-generator) of the same specs,
used by the offline simulator (`pip install docstatus[simulator]`).
""",
        "utf-8",
    )
    init = out_generated / SIM_MODELS / "__init__.py"
    init.write_text('"""Pydantic models of each provider\'s spec, for the simulator. GENERATED; do not edit."""\n')


def generate_all(out_root: Path) -> None:
    out_generated = out_root / "generated"
    out_generated.mkdir(parents=True, exist_ok=True)
    all_provenance = []
    with tempfile.TemporaryDirectory(prefix="docstatus-codegen-") as tmp:
        for provider in providers():
            spec_path, provenance = load_spec(provider, out_root)
            generate_client(provider, spec_path, out_generated, Path(tmp))
            generate_sim_models(provider, spec_path, out_generated)
            all_provenance.append(provenance)
    write_manifest(out_generated, all_provenance)


def outputs(root: Path) -> Iterator[Path]:
    """The files generation owns, relative to ``root``."""
    for path in sorted((root / "generated").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            yield path.relative_to(root)
    for provider in providers():
        source = tomllib.loads((SPECS / provider / "source.toml").read_text("utf-8"))
        yield Path("specs", provider, "provenance.json")
        if source["spec"] == "embedded":
            yield Path("specs", provider, "openapi.yaml")


def diff_trees(expected_root: Path, actual_root: Path) -> list[str]:
    """Unified diffs of every generated file that differs between two roots."""
    problems: list[str] = []
    expected = set(outputs(expected_root))
    actual = {p for p in outputs(actual_root) if (actual_root / p).exists()}
    for rel in sorted(expected | actual):
        want, have = expected_root / rel, actual_root / rel
        if not have.exists():
            problems.append(f"missing: {rel} (generation writes it; it is not committed)")
        elif not want.exists():
            problems.append(f"extra: {rel} (committed, but generation no longer writes it)")
        elif want.read_bytes() != have.read_bytes():
            diff = difflib.unified_diff(
                have.read_text("utf-8", "replace").splitlines(keepends=True),
                want.read_text("utf-8", "replace").splitlines(keepends=True),
                fromfile=f"committed/{rel}",
                tofile=f"regenerated/{rel}",
            )
            problems.append("".join(diff))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare a fresh generation with the committed files")
    args = parser.parse_args(argv)
    try:
        if args.check:
            with tempfile.TemporaryDirectory(prefix="docstatus-drift-") as tmp:
                generate_all(Path(tmp))
                problems = diff_trees(Path(tmp), ROOT)
            if problems:
                print("\n".join(problems))
                print(
                    f"\ngenerated output is stale or was edited by hand ({len(problems)} file(s)): "
                    "run `nox -s generate` and commit the result.",
                    file=sys.stderr,
                )
                return 1
            print("generated/ and specs/ are up to date.")
            return 0
        with tempfile.TemporaryDirectory(prefix="docstatus-gen-", dir=ROOT) as tmp:
            generate_all(Path(tmp))
            for provider in providers():
                for name in ("openapi.yaml", "provenance.json"):
                    produced = Path(tmp, "specs", provider, name)
                    if produced.exists():
                        shutil.copyfile(produced, SPECS / provider / name)
            shutil.rmtree(ROOT / "generated", ignore_errors=True)
            shutil.move(Path(tmp, "generated"), ROOT / "generated")
    except GenerationError as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 1
    print(f"generated {len(providers())} provider clients into generated/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
