"""Sessions for docstatus. `nox` alone runs lint, typecheck and tests.

- generate: regenerate specs/*/openapi.yaml (embedded ones) and generated/ from specs/.
- drift:    fail with a diff when generated/ is stale (also a test inside `tests`).
- tests:    the test suite against the package as `pip install .` gives it.
- lint / typecheck: ruff, and mypy (strict on hand-written code, and on generated/).
- bench:    benchmarks, reported as ratios against baselines measured in the same run.
- demo:     the simulator plus live waiting on jobs of every provider.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import nox

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHONS = nox.project.python_versions(PYPROJECT)


def _pyenv_versions() -> None:
    """Make pyenv's installed Pythons visible to nox.

    pyenv's ``python3.12`` shim answers only for the versions selected (``pyenv global``), so
    nox would skip every other installed version. Select the newest installed patch release of
    each classifier version, unless the caller chose with ``PYENV_VERSION`` already.
    """
    pyenv = shutil.which("pyenv")
    if pyenv is None or os.environ.get("PYENV_VERSION"):
        return
    listed = subprocess.run(  # noqa: S603  # pyenv from PATH, fixed arguments
        [pyenv, "versions", "--bare"], capture_output=True, text=True, check=False
    ).stdout
    chosen = []
    for version in PYTHONS:
        patches = [v for v in listed.split() if v.startswith(version + ".") and v.removeprefix(version + ".").isdigit()]
        if patches:
            chosen.append(max(patches, key=lambda v: int(v.rsplit(".", 1)[1])))
    if chosen:
        os.environ["PYENV_VERSION"] = ":".join(chosen)


_pyenv_versions()
CODEGEN = nox.project.dependency_groups(PYPROJECT, "codegen")
TEST = nox.project.dependency_groups(PYPROJECT, "test")

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
# Pythons are never downloaded (the machines reach package registries only). A version from
# the classifiers that is not installed is skipped on a developer's machine (nox's summary says
# so) and fails the run in CI, where every one must run.
nox.options.download_python = "never"
nox.options.error_on_missing_interpreters = bool(os.environ.get("CI"))


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate every provider client (and the simulator's models) from specs/."""
    session.install(*CODEGEN)
    session.run("python", "codegen/generate.py", *session.posargs)


@nox.session
def drift(session: nox.Session) -> None:
    """Regenerate into a temporary folder and diff against the committed output."""
    session.install(*CODEGEN)
    session.run("python", "codegen/generate.py", "--check")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite (including the drift check) against a real install."""
    # The extras too: tests/test_celery*.py run real Celery workers (redis-server from .ci/run).
    # Compiled on install: the suite starts many Python subprocesses (the CLI, Celery workers),
    # and each would otherwise compile its imports from source, about a second each, until one
    # of them had written the cache (uv compiles nothing by default; pip does).
    session.install(".[simulator,celery,prometheus]", *TEST, *CODEGEN, env={"UV_COMPILE_BYTECODE": "1"})
    # Four pytest-xdist workers: most tests wait on servers, subprocesses and clocks, not the
    # CPU, so four share two cores well. Measured on a shared 2-core machine, Python 3.11: three
    # workers 7.1 min (6.5 with work stealing), four 5.1, six 4.9 (and their extra load makes
    # the timing-sensitive tests flakier). Work stealing (--dist=worksteal, pyproject's addopts)
    # keeps every worker busy to the end. Give -n yourself to change it (-n 0: one process).
    args = list(session.posargs)
    if not any(a.startswith(("-n", "--numprocesses")) for a in args):
        args = ["-n", "4", *args]
    # Bytecode may be written (PYTHONDONTWRITEBYTECODE unset, also when the caller's environment
    # sets it): each pytest process (the xdist workers, pytester's runs) rewrites the asserts of
    # every test module and of every plugin's package (hypothesis, schemathesis, docstatus...:
    # about 470 modules, 5 s of CPU per process) and can keep the result only in __pycache__.
    # In the checkout that is tests/__pycache__ (git ignores it).
    session.run("pytest", *args, env={"PYTHONDONTWRITEBYTECODE": None})


@nox.session
def lint(session: nox.Session) -> None:
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the hand-written package and on every generated package."""
    session.install(".[simulator,celery,prometheus]", *nox.project.dependency_groups(PYPROJECT, "typecheck"))
    session.run("mypy", "normalize/docstatus", "codegen", "noxfile.py")
    generated = sorted(d.path for d in os.scandir("generated") if d.is_dir() and d.name.startswith("docstatus_"))
    session.run("mypy", "--strict", *generated)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks, as ratios against baselines measured in the same run."""
    session.install(".[simulator,celery,prometheus]", *nox.project.dependency_groups(PYPROJECT, "bench"))
    session.run("python", "bench/run.py", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Start the simulator and wait on scripted jobs of every provider, live."""
    session.install(".[simulator]")
    session.run("docstatus", "demo", *session.posargs)
