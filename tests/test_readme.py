"""The README keeps its word: the Guarantees section names, for each promise, tests that exist
(a renamed or deleted test cannot leave a promise unheld), and **every code block runs as written**.

Each block is one of:

- run here, against the simulator (the ``docstatus_sim`` fixture points ``DOCSTATUS_*`` at it) or
  a real server on 127.0.0.1, with only what a reader supplies given: the names a block leaves to
  its reader (``webhook_body``, ``key``, ``ship``), the files it reads (``body.json``), an
  environment variable it names, and a provider's documented server URL (or Redis's) standing
  for the local one;
- marked ``<!-- readme-test: run by tests/FILE.py -->`` on the line before it: every function
  in it is in that file, word for word, and runs there;
- marked ``<!-- readme-test: not run: REASON -->``: it needs the network, a clone or minutes, and
  says so.

``test_every_block_is_run_or_marked`` fails for a block that is none of these, so a new example
cannot go unrun.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import docstatus
import pytest
from _status_checks import body
from conftest import ROOT, Canned

if TYPE_CHECKING:
    from docstatus.simulator import Simulator

README = (ROOT / "README.md").read_text(encoding="utf-8")

#: The Sarvam job the README's examples name.
SARVAM_ID = "0e6d9a2c-4f1b-4c8e-9d3a-7b5e1f2c6a80"


def guarantees() -> list[tuple[str, list[str]]]:
    section = README.split("\n## Guarantees\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| promise")]
    out = []
    for row in rows:
        promise, held = row.strip("|").rsplit(" | ", 1)
        out.append((promise.strip(), re.findall(r"`([^`]+)`", held)))
    return out


def resolve(names: list[str]) -> list[tuple[str, str | None]]:
    """``(file, test or None)`` for each name: ``::test`` continues the last file named, and a bare
    file name is the one file of that name under tests/."""
    current = None
    out = []
    for name in names:
        path, _, test = name.partition("::")
        if path and "/" not in path:
            found = sorted((ROOT / "tests").rglob(path))
            assert len(found) == 1, f"{path!r} names {len(found)} files under tests/"
            path = str(found[0].relative_to(ROOT))
        current = path or current
        assert current is not None, f"{name!r} names no file"
        out.append((current, test or None))
    return out


def test_the_section_exists_and_every_promise_names_a_test():
    rows = guarantees()
    assert len(rows) >= 10
    for promise, names in rows:
        assert names, f"the promise {promise!r} names no test"


@pytest.mark.parametrize(("promise", "names"), guarantees(), ids=lambda v: v[:50] if isinstance(v, str) else "")
def test_every_test_named_exists(promise, names):
    for path, test in resolve(names):
        file = ROOT / path
        assert file.is_file(), f"{promise!r}: no file {path}"
        if test is not None:
            pattern = rf"^(async )?def {re.escape(test)}\("
            assert re.search(pattern, file.read_text(encoding="utf-8"), re.MULTILINE), f"{promise!r}: no {path}::{test}"


# --- the code blocks


@attrs.frozen
class Block:
    """One fenced code block: its language, code, the ``readme-test`` mark on the line before
    it (or ``None``), and its first line's number."""

    lang: str
    code: str
    mark: str | None
    line: int


_FENCE = re.compile(
    r"^(?:<!-- readme-test: (?P<mark>.*?) -->\n)?```(?P<lang>[\w-]*)\n(?P<code>.*?)^```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def blocks() -> list[Block]:
    return [
        Block(m["lang"], m["code"], m["mark"], README.count("\n", 0, m.start("code")) + 1)
        for m in _FENCE.finditer(README)
    ]


#: The one block each test below runs, by a line only that block has.
USE_IT = 'status = docstatus.parse("sarvam", webhook_body)'
CONFIG = 'token=os.environ["MY_ARTOS_KEY"]'
TYPED_CLIENT = "from docstatus_sarvam_client.api.status import get_status"
TRACKER = "tracker.on_done(lambda done: ship(done.key, done.state, done.meta))"
TRACK_CLI = "docstatus track run"
CELERY_APP = "docstatus.celery.register(app"
CELERY_TRACK = 'key = docstatus.celery.track("artos:abc"'
CLI = "docstatus normalize sarvam body.json"
PYTEST_PLUGIN = "def test_my_poller(docstatus_sim):"
OBSERVE = "docstatus.set_hooks([*default_hooks(), Printer()])"
RUN_HERE = (USE_IT, CONFIG, TYPED_CLIENT, TRACKER, TRACK_CLI, CELERY_APP, CELERY_TRACK, CLI, PYTEST_PLUGIN, OBSERVE)


def block(claim: str) -> Block:
    """The one block holding ``claim``."""
    found = [b for b in blocks() if claim in b.code]
    assert len(found) == 1, f"{len(found)} README blocks hold {claim!r}"
    return found[0]


def test_every_block_is_run_or_marked():
    seen = blocks()
    assert len(seen) >= 12, "the block parser lost blocks"
    assert README.count("```") == 2 * len(seen), "a fence the parser does not read (an indented one?)"
    for b in seen:
        where = f"README.md line {b.line} ({b.lang})"
        claims = [c for c in RUN_HERE if c in b.code]
        if b.mark is None:
            assert len(claims) == 1, f"{where}: no test runs it; run it in tests/test_readme.py, or mark it"
            continue
        assert not claims, f"{where} is marked ({b.mark}) but also run here"
        kind, _, rest = b.mark.partition(":")
        if kind == "not run":
            assert len(rest.strip()) >= 20, f"{where}: say why it is not run"
        else:
            assert kind.startswith("run by "), f"{where}: unknown mark {b.mark!r}"
            file = ROOT / kind.removeprefix("run by ").strip()
            assert file.is_file(), f"{where}: {file} does not exist"
            source = file.read_text(encoding="utf-8")
            functions = [n for n in ast.parse(b.code).body if isinstance(n, ast.FunctionDef)]
            assert functions, f"{where}: marked as run by {file.name}, but defines no test"
            for node in functions:
                assert node.name.startswith("test_"), f"{where}: {node.name} is not a test"
                segment = ast.get_source_segment(b.code, node)
                assert segment is not None
                assert segment in source, f"{where}: {node.name} is not in {file.name} word for word"
    for claim in RUN_HERE:
        block(claim)  # each test below runs exactly one block


def run_python(code: str, namespace: dict[str, Any] | None = None, *, name: str = "README.md") -> dict[str, Any]:
    """Run a block as a module would (a fresh namespace holding only what the reader supplies)."""
    scope: dict[str, Any] = {"__name__": name.removesuffix(".py"), **(namespace or {})}
    exec(compile(code, name, "exec"), scope)  # noqa: S102  # the README's own example
    return scope


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a shell block: this one (the simulator's DOCSTATUS_* when a test has it),
    with this Python's ``docstatus`` first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]), **extra}


def run_shell(code: str, cwd: Path, env: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    """Each command line of a shell block, in ``bash``, as a reader pastes it: exit 0 each."""
    results = []
    for line in code.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        result = subprocess.run(
            ["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, f"{line!r} exited {result.returncode}: {result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
        results.append(result)
    return results


def ended_jobs(sim: Simulator, *refs: tuple[str, str]) -> None:
    """The README's jobs, ended (their scripts run through on the simulated clock)."""
    for provider, job_id in refs:
        sim.create_job(provider, "happy_path", job_id=job_id, step=1.0)
    sim.clock.advance(600)


def test_the_first_example_runs_as_written(docstatus_sim, capsys):
    ended_jobs(docstatus_sim, ("artos", "document-uuid-456"), ("sarvam", SARVAM_ID))
    webhook_body = json.dumps(body("sarvam", "Running", job_id=SARVAM_ID)).encode()
    scope = run_python(block(USE_IT).code, {"webhook_body": webhook_body})
    assert scope["status"].state is docstatus.State.SUCCEEDED
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("succeeded ")
    assert json.loads(printed[0].split(" ", 2)[2])["job_id"] == SARVAM_ID
    ends = [line for line in printed[1:] if "done=True" in line]
    assert len(ends) == 2, printed
    for ref in ("artos:document-uuid-456", f"sarvam:{SARVAM_ID}"):
        assert any(f"ref='{ref}'" in line and "error=None" in line for line in ends), printed


def test_the_config_example_runs_as_written(docstatus_sim, monkeypatch, tmp_path):
    """``config=`` alone reaches the server: the environment names no Artos server or token."""
    ended_jobs(docstatus_sim, ("artos", "document-uuid-456"))
    for name in ("DOCSTATUS_ARTOS_BASE_URL", "DOCSTATUS_ARTOS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MY_ARTOS_KEY", docstatus_sim.tokens["artos"])
    monkeypatch.chdir(tmp_path)
    code = block(CONFIG).code.replace(docstatus.DEFAULT_BASE_URLS["artos"], docstatus_sim.base_url("artos"))
    scope = run_python(code)
    assert scope["status"].state is docstatus.State.SUCCEEDED
    assert len(docstatus_sim.requests) == 2
    scope["tracker"].close()
    assert (tmp_path / "jobs.db").is_file()


def test_the_typed_client_example_runs_as_written(canned_server):
    """The README's typed-client example, run against a 127.0.0.1 server in place of Sarvam's:
    nothing but ``key`` given (it imports docstatus itself)."""
    canned_server.reply(Canned(200, body("sarvam", "Running", job_id=SARVAM_ID)))
    code = block(TYPED_CLIENT).code.replace("https://api.sarvam.ai", canned_server.base_url)
    scope = run_python(code, {"key": "k-README-1"})
    seen = canned_server.requests[0]
    assert seen.headers.get("api-subscription-key") == "k-README-1"
    assert "authorization" not in {k.lower() for k in seen.headers}
    assert seen.path == f"/doc-digitization/job/v1/{SARVAM_ID}/status"
    status = scope["status"]
    assert isinstance(status, docstatus.JobStatus)
    assert status.state is docstatus.State.RUNNING


def test_the_tracker_example_runs_as_written(docstatus_sim, monkeypatch, tmp_path):
    ended_jobs(docstatus_sim, ("artos", "abc"))
    monkeypatch.chdir(tmp_path)
    shipped: list[tuple[str, str, dict[str, Any]]] = []
    scope = run_python(block(TRACKER).code, {"ship": lambda *args: shipped.append(args)})
    scope["tracker"].close()
    assert len(shipped) == 1
    key, state, meta = shipped[0]
    assert (state, meta) == ("succeeded", {"order": 42})
    assert key.startswith("dst_")


def test_the_track_commands_run_as_written(docstatus_sim, tmp_path):
    ended_jobs(docstatus_sim, ("artos", "abc"), ("sarvam", SARVAM_ID))
    env = cli_env(DOCSTATUS_TRACK_DB=str(tmp_path / "track.db"))
    add, run, listed = run_shell(block(TRACK_CLI).code, tmp_path, env)
    assert "2 added" in add.stderr
    ends = [json.loads(line) for line in run.stdout.splitlines()]
    assert sorted(e["ref"] for e in ends) == ["artos:abc", f"sarvam:{SARVAM_ID}"]
    assert {e["state"] for e in ends} == {"succeeded"}
    assert all(e["key"] for e in ends)
    shown = listed.stdout[listed.stdout.index("{") :]  # `ls --state running` lists none; then `show`
    assert json.loads(shown)["ref"] == "artos:abc"


def test_the_cli_commands_run_as_written(docstatus_sim, tmp_path):
    ended_jobs(docstatus_sim, ("artos", "abc"), ("sarvam", SARVAM_ID))
    (tmp_path / "body.json").write_text(json.dumps(body("sarvam", "Running", job_id=SARVAM_ID)))
    (tmp_path / "aitronos.json").write_text(json.dumps(body("aitronos", "processing")))
    normalize, status, wait, aitronos, version = run_shell(block(CLI).code, tmp_path, cli_env())
    assert json.loads(normalize.stdout)["state"] == "running"
    assert [json.loads(line)["state"] for line in status.stdout.splitlines()] == ["succeeded", "succeeded"]
    assert json.loads(wait.stdout.splitlines()[-1])["state"] == "succeeded"  # JSON lines: not a terminal
    assert json.loads(aitronos.stdout)["job_id"] == "org_1/store_2/file_3"
    assert version.stdout == f"docstatus {docstatus.__version__}\n"


def test_the_pytest_plugin_example_runs_as_written(docstatus_sim):
    scope = run_python(block(PYTEST_PLUGIN).code, name="test_readme_example.py")
    scope["test_my_poller"](docstatus_sim)
    assert [r.status for r in docstatus_sim.requests] == [429, 200]


@pytest.mark.filterwarnings("ignore:Task name 'docstatus.poll' is already registered")
@pytest.mark.filterwarnings("ignore:Task name 'docstatus.delivered' is already registered")
def test_the_celery_example_runs_as_written(docstatus_sim, tmp_path, monkeypatch):
    """The app module block is ``proj.py``, a worker runs it (``celery -A proj worker``, as the
    README says), and the ``# anywhere`` block tracks a job from this process: ``ship`` runs on
    the worker with the JobStatus as a dict."""
    pytest.importorskip("celery")
    from _celery_support import redis_binary, redis_server  # noqa: PLC0415  # celery's extra only here

    if redis_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not on PATH under CI (.ci/run installs it)", pytrace=False)
        pytest.skip("redis-server is not on PATH (apt-get install redis-server)")
    ended_jobs(docstatus_sim, ("artos", "abc"))
    with redis_server(tmp_path) as redis:
        app = block(CELERY_APP).code.replace("redis://127.0.0.1:6379/0", redis.url)
        (tmp_path / "proj.py").write_text(app, encoding="utf-8")
        log = tmp_path / "worker.log"
        env = cli_env(PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "proj", "worker", "--pool", "solo", "--loglevel", "INFO"],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        monkeypatch.syspath_prepend(str(tmp_path))
        try:
            scope = run_python(block(CELERY_TRACK).code, name="anywhere.py")
            key = scope["key"]
            deadline = time.monotonic() + 120
            shipped = re.compile(r"Task proj\.ship\[[-\w]+\] succeeded")
            while not shipped.search(log.read_text("utf-8", "replace")):
                assert worker.poll() is None, log.read_text("utf-8", "replace")
                assert time.monotonic() < deadline, log.read_text("utf-8", "replace")
                time.sleep(0.2)
        finally:
            worker.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(20)
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)
            sys.modules.pop("proj", None)
    printed = log.read_text("utf-8", "replace")
    assert key in printed  # ship's print: the key it was given...
    assert "WARNING/MainProcess] succeeded" in printed  # ...and the state read from the dict


def test_the_sdk_examples_are_the_tested_ones_word_for_word():
    """The README's SDK snippets are the test functions of tests/test_sdk_readme.py, verbatim."""
    source = (ROOT / "tests" / "test_sdk_readme.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    tests = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
    assert len(tests) >= 4
    for node in tests:
        segment = ast.get_source_segment(source, node)
        assert segment is not None
        assert segment in README, f"the README does not show {node.name} as tested"


def test_the_observe_example_runs_as_written(docstatus_sim, tmp_path):
    """In a process of its own (the SDK's tracer provider is set once per process): the reader's
    hook prints each attempt and the job's end, the console exporter a GET span under the job's."""
    ended_jobs(docstatus_sim, ("artos", "document-uuid-456"))
    script = tmp_path / "observe.py"
    script.write_text(block(OBSERVE).code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], env=cli_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("artos:document-uuid-456 ok 200 ")
    assert lines[1].startswith("artos:document-uuid-456 succeeded ")
    spans = json.loads("[" + "".join(lines[2:]).replace("}{", "},{") + "]")
    by_name = {span["name"]: span for span in spans}
    assert by_name["GET"]["parent_id"] == by_name["docstatus.job"]["context"]["span_id"]
    assert by_name["GET"]["attributes"]["http.response.status_code"] == 200
    assert docstatus_sim.tokens["artos"] not in result.stdout
