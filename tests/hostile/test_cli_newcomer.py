"""What a new user trips over, as real processes: options anywhere among a subcommand's
arguments (``docstatus normalize aitronos --job-id ID body.json``, where the missing-``--job-id``
error invites it, was "unrecognized arguments"), ``docstatus --version`` and
``docstatus.__version__``, and ``docstatus.celery`` after a plain ``import docstatus``."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import warnings
from typing import TYPE_CHECKING

import docstatus
import pytest
from _rawserver import RawServer, answer
from _status_checks import AITRONOS_ID, body

if TYPE_CHECKING:
    from pathlib import Path

TOKEN = "tok-NEWCOMER-3a7c55"
REFS = ("artos:document-uuid-456", "artos:document-uuid-789")


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    return subprocess.run(
        [sys.executable, "-m", "docstatus._cli", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**base, **(env or {})},
        cwd=cwd,
        check=False,
    )


def statuses(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


# --- options anywhere among the arguments, every subcommand


def test_the_job_id_goes_where_the_error_invites_it(tmp_path):
    """Without --job-id the error says to pass it; passing it right after PROVIDER, or after FILE,
    or first, works."""
    (tmp_path / "body.json").write_text(json.dumps(body("aitronos", "processing")))
    missing = run_cli("normalize", "aitronos", "body.json", cwd=tmp_path)
    assert missing.returncode == 2
    advice = re.search(r"pass (--job-id) (\S+)$", missing.stderr.strip())
    assert advice is not None, missing.stderr
    for args in (
        ["normalize", "aitronos", "--job-id", AITRONOS_ID, "body.json"],
        ["normalize", "aitronos", "body.json", "--job-id", AITRONOS_ID],
        ["normalize", "--job-id", AITRONOS_ID, "aitronos", "body.json"],
        ["normalize", "--max-bytes", "1M", "aitronos", "--job-id", AITRONOS_ID, "body.json"],
    ):
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 0, (args, result.stderr)
        (status,) = statuses(result.stdout)
        assert status["job_id"] == AITRONOS_ID


@pytest.fixture
def server_env():
    with RawServer(answer(200, body("artos", "Ready", task_id="document-uuid-456"))) as server:
        yield {"DOCSTATUS_ARTOS_BASE_URL": server.url, "DOCSTATUS_ARTOS_TOKEN": TOKEN}


def test_status_takes_options_between_its_refs(server_env):
    result = run_cli("status", REFS[0], "--format", "table", REFS[1], "--timeout", "20", env=server_env)
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert rows[0].startswith("REF")
    assert [row.split()[0] for row in rows[1:]] == list(REFS)


def test_wait_takes_options_between_its_refs(server_env):
    result = run_cli("wait", REFS[0], "--timeout", "30", REFS[1], "--json", env=server_env)
    assert result.returncode == 0, result.stderr
    assert len(statuses(result.stdout)) == 2


def test_every_track_action_takes_its_options_anywhere(server_env, tmp_path):
    db = str(tmp_path / "jobs.db")
    add = run_cli("track", "add", REFS[0], "--db", db, REFS[1], "--deadline", "1h", env=server_env)
    assert add.returncode == 0, add.stderr
    assert "2 added" in add.stderr
    listed = run_cli("track", "ls", "--json", "--db", db, env=server_env)
    assert listed.returncode == 0, listed.stderr
    assert sorted(job["ref"] for job in statuses(listed.stdout)) == list(REFS)
    shown = run_cli("track", "show", "--db", db, REFS[0], env=server_env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["ref"] == REFS[0]
    ran = run_cli("track", "run", "--json", "--db", db, "--concurrency", "4", env=server_env)
    assert ran.returncode == 0, ran.stderr
    assert sorted(end["ref"] for end in statuses(ran.stdout)) == list(REFS)
    forgot = run_cli("track", "forget", REFS[0], "--db", db, REFS[1], env=server_env)
    assert forgot.returncode == 0, forgot.stderr
    assert run_cli("track", "ls", "--db", db, "--json", env=server_env).stdout == ""


def test_track_takes_its_database_before_the_action_too(server_env, tmp_path):
    """``docstatus track --db X ls`` (as ``git -C X log``): the database given before the action
    serves it; one given after the action wins; the environment's only when neither is given."""
    db, other = str(tmp_path / "jobs.db"), str(tmp_path / "other.db")
    add = run_cli("track", "--db", db, "add", REFS[0], env=server_env)
    assert add.returncode == 0, add.stderr
    assert os.path.exists(db)  # noqa: PTH110  # a plain check, Path is for type hints here
    listed = run_cli("track", "--db", db, "ls", "--json", env={**server_env, "DOCSTATUS_TRACK_DB": other})
    assert listed.returncode == 0, listed.stderr
    assert [job["ref"] for job in statuses(listed.stdout)] == [REFS[0]]
    later = run_cli("track", "--db", db, "ls", "--db", other, env=server_env)
    assert later.returncode == 0, later.stderr  # an empty list: nothing is tracked there
    assert f"no tracking database at {other}" in later.stderr


def test_a_leading_double_dash_still_ends_the_options():
    result = run_cli("status", "--", "-x")
    assert result.returncode == 2
    assert result.stderr.startswith("docstatus status: -x: ")  # read as a REF, refused as one


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["status"], "the following arguments are required: REF"),
        (["status", REFS[0], "--format", "xml"], "invalid choice: 'xml'"),
        (["normalize", "--job-id", "x"], "the following arguments are required: PROVIDER"),
        (["wait", REFS[0], "--no-such-option"], "unrecognized arguments: --no-such-option"),
    ],
)
def test_usage_errors_are_still_argparses_two_lines_and_exit_2(args, said):
    result = run_cli(*args)
    assert result.returncode == 2
    usage, error = result.stderr.strip().split("\n")[0], result.stderr.strip().splitlines()[-1]
    assert usage.startswith("usage: docstatus ")
    assert said in error


# --- the version


def test_version_is_the_installed_distributions():
    installed = importlib.metadata.version("docstatus")
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"docstatus {installed}\n"
    assert result.stderr == ""
    assert docstatus.__version__ == installed


def test_python_dash_m_docstatus_is_the_cli():
    """``python -m docstatus`` (an environment whose scripts are not on PATH) is ``docstatus``."""
    result = subprocess.run(
        [sys.executable, "-m", "docstatus", "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"docstatus {importlib.metadata.version('docstatus')}\n"


def test_the_version_is_read_only_when_asked_for():
    """``import docstatus`` stays cheap: importlib.metadata (a scan of the import path) is loaded
    by the first ``docstatus.__version__``, not by the import."""
    probe = (
        "import sys, docstatus\n"
        "before = 'importlib.metadata' in sys.modules\n"
        "version = docstatus.__version__\n"
        "print(before, 'importlib.metadata' in sys.modules, version)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split() == ["False", "True", importlib.metadata.version("docstatus")]


# --- docstatus.celery after `import docstatus`


def test_docstatus_celery_is_reachable_after_a_plain_import():
    pytest.importorskip("celery")
    probe = (
        "import sys, docstatus\n"
        "assert 'docstatus.celery' not in sys.modules\n"  # not loaded by the import...
        "print(docstatus.celery.register.__module__, docstatus.celery is sys.modules['docstatus.celery'])\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["docstatus.celery", "True"]  # ...but on first use


# --- warnings made errors (`python -W error`, PYTHONWARNINGS=error) are the run's choice, not a bug

PLAIN_HTTP = {"DOCSTATUS_ARTOS_BASE_URL": "http://example.invalid", "DOCSTATUS_ARTOS_TOKEN": TOKEN}


@pytest.mark.parametrize("command", [("status",), ("wait", "--timeout", "5"), ("track", "run")])
def test_a_warning_made_an_error_is_a_usage_error_that_says_so_not_a_bug(command, tmp_path):
    """Under ``PYTHONWARNINGS=error`` the plain-http credential warning stops the command with
    exit 2 and its own words (no token), not "internal error ... a bug in docstatus" (exit 70)."""
    env = {**PLAIN_HTTP, "PYTHONWARNINGS": "error", "DOCSTATUS_TRACK_DB": str(tmp_path / "t.db")}
    if command[0] == "track":
        assert run_cli("track", "add", REFS[0], env=env).returncode == 0
    result = run_cli(*command, *([] if command[0] == "track" else [REFS[0]]), env=env)
    assert "credential is sent over plain http:// to example.invalid" in result.stderr, result.stderr
    assert "InsecureCredentialWarning, an error in this process by -W or PYTHONWARNINGS" in result.stderr
    assert "bug in docstatus" not in result.stderr
    assert "Traceback" not in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert result.returncode == 2, result.stderr


def test_watch_many_under_warnings_as_errors_ends_the_job_with_a_configuration_error():
    """The library's fleet too: the job ends with a ``ConfigurationError`` in the warning's words
    (not "an unexpected InsecureCredentialWarning (a bug in docstatus)"); ``wait`` raises the
    warning itself, as any call does under ``-W error``."""
    host = "watch-many.example.invalid"  # a host of this test's own: the warning is once per host
    config = docstatus.ProviderConfig(provider="artos", base_url=f"http://{host}", token=TOKEN)

    async def updates() -> list[docstatus.JobUpdate]:
        return [u async for u in docstatus.watch_many(list(REFS), config=config, timeout=5)]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ended = asyncio.run(updates())
    assert sorted(u.ref for u in ended) == sorted(REFS)
    for update in ended:  # both jobs: a warning made an error is not spent by the first one
        assert update.done
        assert isinstance(update.error, docstatus.ConfigurationError), repr(update.error)
        assert f"plain http:// to {host}" in str(update.error)
        assert TOKEN not in str(update.error)
