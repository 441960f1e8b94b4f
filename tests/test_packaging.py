"""What `pip install docstatus` gets: the packages pyproject lists, and a wheel built from them.

The wheel is built once per module with pip (hatchling comes from the package index through
build isolation unless it is importable here). When pip cannot reach an index the wheel tests
are skipped, saying so; any other build failure fails.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import packages_distributions
from typing import TYPE_CHECKING

import pytest
from conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
LISTED = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
PROVIDERS = sorted(p.parent.name for p in (ROOT / "specs").glob("*/source.toml"))
GENERATED = sorted(d.name for d in (ROOT / "generated").iterdir() if d.is_dir() and d.name.startswith("docstatus_"))
BUILD_TIMEOUT = 300

# pip's ways of saying it could not reach a package index.
OFFLINE = re.compile(
    r"NewConnectionError|Network is unreachable|Temporary failure in name resolution|"
    r"Name or service not known|No route to host|Connection refused|ConnectTimeoutError|"
    r"ProxyError|Could not find a version that satisfies the requirement hatchling|"
    r"No matching distribution found for hatchling",
)


def test_every_generated_package_is_listed() -> None:
    listed_generated = sorted(p.removeprefix("generated/") for p in LISTED if p.startswith("generated/"))
    assert listed_generated == GENERATED, "pyproject [tool.hatch.build.targets.wheel] packages vs generated/"


def test_every_listed_package_exists() -> None:
    for package in LISTED:
        assert (ROOT / package / "__init__.py").is_file(), package
    assert "normalize/docstatus" in LISTED
    assert len(LISTED) == len(set(LISTED))


def test_one_client_per_provider() -> None:
    assert sorted([*(f"docstatus_{p}_client" for p in PROVIDERS), "docstatus_simulator_models"]) == GENERATED


def _build(out: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-w", str(out)]
    if importlib.util.find_spec("hatchling") is not None:
        cmd.append("--no-build-isolation")  # no index needed
    cmd.append(str(ROOT))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    out = tmp_path_factory.mktemp("wheel")
    try:
        proc = _build(out)
    except subprocess.TimeoutExpired:
        pytest.fail(f"building the wheel took more than {BUILD_TIMEOUT} s")
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        offline = OFFLINE.search(output)
        if offline:
            pytest.skip(f"pip cannot reach a package index to get hatchling ({offline.group(0)})")
        pytest.fail(f"pip wheel failed (exit {proc.returncode}):\n{output}")
    (built,) = out.glob("docstatus-*.whl")
    with zipfile.ZipFile(built) as zf:
        yield zf


def _dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    (path,) = [n for n in wheel.namelist() if re.fullmatch(rf"docstatus-[^/]+\.dist-info/{name}", n)]
    return wheel.read(path).decode("utf-8")


def test_wheel_holds_the_hand_written_package(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    source = sorted(p.relative_to(ROOT / "normalize").as_posix() for p in (ROOT / "normalize/docstatus").rglob("*.py"))
    assert source
    assert set(source) <= names
    assert "docstatus/py.typed" in names


@pytest.mark.parametrize("provider", PROVIDERS)
def test_wheel_holds_each_client_typed(wheel: zipfile.ZipFile, provider: str) -> None:
    names = set(wheel.namelist())
    package = f"docstatus_{provider}_client"
    source = {p.relative_to(ROOT / "generated").as_posix() for p in (ROOT / "generated" / package).rglob("*.py")}
    assert f"{package}/__init__.py" in source
    assert source <= names
    assert f"{package}/py.typed" in names


def test_wheel_holds_the_simulator_models(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "docstatus_simulator_models/__init__.py" in names
    for provider in PROVIDERS:
        assert f"docstatus_simulator_models/{provider}.py" in names


def test_wheel_holds_nothing_else(wheel: zipfile.ZipFile) -> None:
    tops = {n.split("/")[0] for n in wheel.namelist()}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert len(dist_info) == 1
    assert tops - dist_info == {"docstatus", *GENERATED}
    assert not [n for n in wheel.namelist() if "__pycache__" in n or n.endswith((".pyc", ".orig", ".rej"))]


def test_wheel_console_script(wheel: zipfile.ZipFile) -> None:
    entry_points = _dist_info(wheel, "entry_points.txt")
    section = entry_points.split("[console_scripts]", 1)[1].split("\n[", 1)[0]
    assert "docstatus = docstatus._cli:main" in section.splitlines()


def test_wheel_entry_points_name_modules_it_holds(wheel: zipfile.ZipFile) -> None:
    """An entry point to a module the wheel lacks breaks the console script, or every pytest run."""
    names = set(wheel.namelist())
    targets = re.findall(r"^\S+ = ([\w.]+):?\w*$", _dist_info(wheel, "entry_points.txt"), re.MULTILINE)
    assert targets
    for module in targets:
        path = module.replace(".", "/")
        assert f"{path}.py" in names or f"{path}/__init__.py" in names, f"entry point module {module} not in wheel"


def test_wheel_metadata(wheel: zipfile.ZipFile) -> None:
    metadata = _dist_info(wheel, "METADATA")
    assert re.search(r"^Name: docstatus$", metadata, re.MULTILINE)
    assert re.search(r"^Requires-Python: >=3\.11$", metadata, re.MULTILINE)
    requires = re.findall(r"^Requires-Dist: ([A-Za-z0-9_.-]+)", metadata, re.MULTILINE)
    for needed in ("attrs", "httpx", "platformdirs"):
        assert needed in requires
    assert "python-dateutil" not in requires  # nothing imports it
    assert re.search(r"^Provides-Extra: simulator$", metadata, re.MULTILINE)
    assert re.search(r"^Provides-Extra: celery$", metadata, re.MULTILINE)


@pytest.mark.parametrize(
    ("output", "offline"),
    [
        (
            "ERROR: Could not find a version that satisfies the requirement hatchling>=1.25 (from versions: none)",
            True,
        ),
        ("WARNING: Retrying ... NewConnectionError('<...>: Failed to establish a new connection')", True),
        ("ValueError: Unable to determine which files to ship inside the wheel", False),
        ("ERROR: Could not find a version that satisfies the requirement httpx>=0.27", False),
    ],
)
def test_offline_detection(output: str, offline: bool) -> None:
    """Only 'no index' skips the wheel tests; a broken build fails them."""
    assert bool(OFFLINE.search(output)) is offline


# --- the JobStatus JSON Schema ships inside the package (issue 10)


def test_wheel_holds_the_job_status_schema_as_a_file(wheel: zipfile.ZipFile) -> None:
    """A copy of specs/job-status.schema.json (the source tree's symlink is followed), not a link."""
    info = wheel.getinfo("docstatus/job-status.schema.json")
    assert (info.external_attr >> 16) & 0o170000 != 0o120000  # not stored as a symlink
    assert wheel.read(info) == (ROOT / "specs" / "job-status.schema.json").read_bytes()


def test_source_tree_schema_is_the_specs_file() -> None:
    """The package holds a symlink to the one schema file: there is one copy to edit."""
    link = ROOT / "normalize" / "docstatus" / "job-status.schema.json"
    assert link.is_symlink()
    assert link.resolve() == (ROOT / "specs" / "job-status.schema.json").resolve()


def test_schema_path_is_exposed_and_readable() -> None:
    """The installed package (editable here) answers with a readable path to the same schema."""
    import json  # noqa: PLC0415

    import docstatus  # noqa: PLC0415

    path = docstatus.job_status_schema_path()
    assert path.is_file()
    schema = json.loads(path.read_text("utf-8"))
    assert schema == json.loads((ROOT / "specs" / "job-status.schema.json").read_text("utf-8"))
    assert "$schema" in schema


#: Runtime dependencies no module imports by name, and why they are listed all the same.
NOT_IMPORTED = {"sniffio": "httpcore retries `import sniffio` on every async lock when it is missing"}


@pytest.mark.parametrize("requirement", PYPROJECT["project"]["dependencies"])
def test_every_runtime_dependency_is_imported_or_says_why_not(requirement: str) -> None:
    dist = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
    if dist.replace("-", "_") in NOT_IMPORTED:
        return
    # The import names the installed distribution provides (python-dateutil: dateutil).
    names = [top for top, dists in packages_distributions().items() if dist in {d.lower() for d in dists}]
    assert names, f"{dist} is not installed here"
    alternatives = "|".join(re.escape(n) for n in names)
    pattern = re.compile(rf"^\s*(import|from)\s+({alternatives})\b", re.MULTILINE)
    sources = [*(ROOT / "normalize" / "docstatus").rglob("*.py"), *(ROOT / "generated").rglob("*.py")]
    users = [p for p in sources if pattern.search(p.read_text("utf-8"))]
    assert users, f"{requirement} is a runtime dependency that no module imports: drop it"
