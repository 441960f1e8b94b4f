"""``docstatus wait`` and ``docstatus demo`` driven as a user would: a real subprocess against the
simulator (in this process), with a pipe or a pseudo-terminal as stdout, and Ctrl-C."""

from __future__ import annotations

import itertools
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest
from docstatus.simulator import Fault

if TYPE_CHECKING:
    from docstatus.simulator import Simulator

STEP = 0.3  # real seconds per phase: every job here ends within ~2 s
BOUND = 60  # seconds any command here may take before the test fails


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "docstatus._cli", *args],
        capture_output=True,
        text=True,
        timeout=BOUND,
        env=env,
        check=False,
    )


def lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


# --- JSON lines (stdout not a terminal) and exit codes


def test_jobs_that_succeed_exit_0_with_one_json_line_per_change(docstatus_sim: Simulator) -> None:
    refs = [docstatus_sim.create_job(p, "happy_path", step=STEP) for p in ("artos", "sarvam", "aitronos")]
    result = run("wait", *refs)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    seen = lines(result.stdout)
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for item in seen:
        by_ref.setdefault(f"{item['provider']}:{item['job_id']}", []).append(item)
    assert set(by_ref) == set(refs)
    for items in by_ref.values():
        assert items[-1]["state"] == "succeeded"
        assert items[-1]["terminal"] is True
        assert all(a != b for a, b in itertools.pairwise(items))  # changes only
        assert all(not i["terminal"] for i in items[:-1])


def test_json_lines_are_written_as_they_happen(docstatus_sim: Simulator) -> None:
    docstatus_sim.clock.freeze()  # the job moves only when the test says (a loaded machine starts the CLI late)
    ref = docstatus_sim.create_job("artos", "happy_path", step=1.0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "docstatus._cli", "wait", ref],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert proc.poll() is None  # still waiting: the line was not held back
        assert first["terminal"] is False
        docstatus_sim.clock.advance(60)  # now the job ends
        assert proc.wait(timeout=BOUND) == 0
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(
    ("script", "provider", "code", "said"),
    [
        ("failure", "artos", 1, "ended failed"),
        ("partial_success", "sarvam", 1, "ended partially_succeeded"),
        ("stuck_accepted", "sarvam", 1, "waits for you"),
    ],
)
def test_jobs_that_do_not_succeed_exit_1(
    docstatus_sim: Simulator, script: str, provider: str, code: int, said: str
) -> None:
    ref = docstatus_sim.create_job(provider, script, step=STEP)
    result = run("wait", ref, "--action-grace", "0")  # a stuck Accepted is said at once
    assert result.returncode == code
    assert_clean(result)
    assert result.stderr.startswith(f"docstatus wait: {ref}: ")
    assert said in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_timeout_exits_5(docstatus_sim: Simulator) -> None:
    ref = docstatus_sim.create_job("artos", "unknown_state", step=STEP)
    start = time.monotonic()
    result = run("wait", ref, "--timeout", "2")
    assert result.returncode == 5
    assert_clean(result)
    assert "did not end within its deadline of 2 s" in result.stderr
    assert time.monotonic() - start < 2 + 15  # the deadline, one last request, start-up


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault.error(500, count=10_000), 6),
        (Fault.drop(count=10_000), 6),
        (Fault.html(200, count=10_000), 3),
    ],
)
def test_a_provider_failing_until_the_deadline_exits_6_or_3(docstatus_sim: Simulator, fault: Fault, code: int) -> None:
    ref = docstatus_sim.create_job("artos", "happy_path", step=STEP)
    docstatus_sim.inject(fault, ref=ref)
    result = run("wait", ref, "--timeout", "2")
    assert result.returncode == code
    assert_clean(result)
    assert "the last poll failed" in result.stderr


def test_not_found_exits_4_and_wins_over_a_success(docstatus_sim: Simulator) -> None:
    good = docstatus_sim.create_job("artos", "happy_path", step=STEP)
    result = run("wait", good, "artos:no-such-document")
    assert result.returncode == 4
    assert_clean(result)
    assert "artos:no-such-document" in result.stderr
    assert any(item["state"] == "succeeded" for item in lines(result.stdout))  # the other job still ended


def test_wrong_credentials_exit_4_without_showing_them(docstatus_sim: Simulator) -> None:
    ref = docstatus_sim.create_job("artos", "happy_path", step=STEP)
    env = {**os.environ, "DOCSTATUS_ARTOS_TOKEN": "wrong-token-4f9a2"}
    result = run("wait", ref, env=env)
    assert result.returncode == 4
    assert_clean(result)
    assert "wrong-token-4f9a2" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["wait", "nosuchprovider:123"],
        ["wait", "artos:"],
        ["wait", "artos:x", "--timeout", "0"],
        ["wait", "artos:x", "--timeout", "-5"],
        ["wait", "artos:x", "--timeout", "nan"],
        ["wait", "artos:x", "--timeout", "inf"],
    ],
)
def test_usage_errors_exit_2_in_one_line(docstatus_sim: Simulator, args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert_clean(result)
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert docstatus_sim.requests == []  # refused before any request


def test_a_missing_token_exits_2_before_any_request(docstatus_sim: Simulator) -> None:
    ref = docstatus_sim.create_job("artos", "happy_path", step=STEP)
    env = {k: v for k, v in os.environ.items() if k != "DOCSTATUS_ARTOS_TOKEN"}
    result = run("wait", ref, env=env)
    assert result.returncode == 2
    assert "DOCSTATUS_ARTOS_TOKEN" in result.stderr
    assert docstatus_sim.requests == []


def test_help_documents_the_exit_codes() -> None:
    result = run("wait", "--help")
    assert result.returncode == 0
    for line in ("0    every job succeeded", "5    timeout", "130  interrupted"):
        assert line in result.stdout


# --- Ctrl-C


def test_ctrl_c_exits_130_without_a_traceback(docstatus_sim: Simulator) -> None:
    ref = docstatus_sim.create_job("artos", "happy_path", step=600.0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "docstatus._cli", "wait", ref],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["state"] == "queued"  # it is waiting now
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=BOUND)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.strip() == "docstatus: interrupted"
    seen = len(docstatus_sim.requests)
    time.sleep(1.5)
    assert len(docstatus_sim.requests) == seen  # nothing polls on


# --- a terminal: live progress bars


def run_in_terminal(
    args: list[str], *, interrupt_when: bytes | None = None, env: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """Run the CLI with a pseudo-terminal as stdout and stderr; SIGINT once ``interrupt_when``
    shows up in the output. Returns (exit code, everything written)."""
    controller, terminal = pty.openpty()
    env = {**(env or os.environ), "COLUMNS": "160", "LINES": "40", "TERM": "xterm-256color"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "docstatus._cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env=env,
    )
    os.close(terminal)
    output = b""
    interrupted = False
    deadline = time.monotonic() + BOUND
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the terminal closed: the process ended
                    break
                if not chunk:
                    break
                output += chunk
            if interrupt_when is not None and not interrupted and interrupt_when in output:
                proc.send_signal(signal.SIGINT)
                interrupted = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=BOUND)
    finally:
        proc.kill()
        proc.wait()
        os.close(controller)
    return code, output


def test_a_terminal_gets_live_progress_bars_not_json(docstatus_sim: Simulator) -> None:
    refs = [
        docstatus_sim.create_job("aitronos", "happy_path", step=STEP),
        docstatus_sim.create_job("markdown2pdf", "failure", step=STEP),
    ]
    code, output = run_in_terminal(["wait", *refs])
    text = output.decode("utf-8", "replace")
    assert code == 1
    assert "Traceback" not in text
    assert "succeeded" in text
    assert "failed" in text
    assert "aitronos:org_" in text  # the row labels
    assert '{"provider"' not in text  # no JSON on a terminal
    assert "\x1b[" in text  # drawn with terminal codes


def test_json_on_a_terminal_when_asked(docstatus_sim: Simulator) -> None:
    ref = docstatus_sim.create_job("artos", "happy_path", step=STEP)
    code, output = run_in_terminal(["wait", "--json", ref])
    assert code == 0
    rows = [json.loads(line) for line in output.decode().splitlines() if line.startswith("{")]
    assert rows[-1]["state"] == "succeeded"


def test_ctrl_c_on_the_live_display_exits_130_and_restores_the_terminal(docstatus_sim: Simulator) -> None:
    ref = docstatus_sim.create_job("artos", "happy_path", step=600.0)
    code, output = run_in_terminal(["wait", ref], interrupt_when=b"queued")
    text = output.decode("utf-8", "replace")
    assert code == 130
    assert "Traceback" not in text
    assert "docstatus: interrupted" in text
    assert "\x1b[?25h" in text  # the cursor is shown again


# --- the demo


def test_demo_runs_on_a_machine_with_nothing_configured() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    start = time.monotonic()
    result = run("demo", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert_clean(result)
    finals = {item["provider"]: item["state"] for item in lines(result.stdout) if item["terminal"]}
    assert finals == {
        "artos": "succeeded",
        "sarvam": "partially_succeeded",
        "sarvam_docai": "succeeded",
        "aitronos": "succeeded",
        "neurolinker": "succeeded",
        "markdown2pdf": "failed",
    }
    assert "answered 3 requests with 429" in result.stderr
    assert time.monotonic() - start < 40  # about 15 s


def test_ctrl_c_during_the_demo_exits_130_and_stops_the_simulator() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    code, output = run_in_terminal(["demo"], interrupt_when=b"running", env=env)
    text = output.decode("utf-8", "replace")
    assert code == 130
    assert "Traceback" not in text
    assert text.rstrip().endswith("docstatus: interrupted")


# --- exit codes shared with status and normalize; the demo's own rule


def test_wait_and_demo_help_document_their_exit_codes() -> None:
    wait = run("wait", "--help").stdout
    for line in ("70   internal error", "141  stdout was closed early"):
        assert line in wait
    demo = run("demo", "--help").stdout
    for line in ("0    every job ended as its script intends", "1    some job ended otherwise", "130  interrupted"):
        assert line in demo


def _demo_ends(states: dict[str, str]) -> tuple[list[str], dict[str, Any]]:
    """Refs in ``demo_jobs()`` order and each job's last update (its ``final`` status, as
    ``JobUpdate.final`` gives it), in the given raw provider states."""
    import types  # noqa: PLC0415

    import docstatus  # noqa: PLC0415
    from _status_checks import JOB_ID, body  # noqa: PLC0415
    from docstatus._cli_wait import demo_jobs  # noqa: PLC0415

    refs, ends = [], {}
    for provider, _ in demo_jobs():
        status = docstatus.parse(provider, body(provider, states[provider]), job_id=JOB_ID.get(provider))
        refs.append(status.ref)
        ends[status.ref] = types.SimpleNamespace(final=status if status.terminal else None)
    return refs, ends


AS_SCRIPTED = {
    "artos": "Ready",
    "sarvam": "PartiallyCompleted",
    "sarvam_docai": "completed",
    "aitronos": "completed",
    "neurolinker": "completed",
    "markdown2pdf": "Error",
}


def test_demo_exits_0_when_every_job_ends_as_scripted_failures_included(capsys: pytest.CaptureFixture[str]) -> None:
    from docstatus._cli_wait import _demo_summary  # noqa: PLC0415

    refs, ends = _demo_ends(AS_SCRIPTED)
    assert _demo_summary(refs, ends, throttled=3) == 0
    assert "did not end as scripted" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "change",
    [
        {"markdown2pdf": "Done"},  # the scripted failure succeeded
        {"sarvam": "Completed"},  # the scripted partial success succeeded fully
        {"artos": "Failed"},  # a scripted success failed
    ],
)
def test_demo_exits_1_when_a_job_ends_otherwise(capsys: pytest.CaptureFixture[str], change: dict[str, str]) -> None:
    from docstatus._cli_wait import _demo_summary  # noqa: PLC0415

    refs, ends = _demo_ends({**AS_SCRIPTED, **change})
    assert _demo_summary(refs, ends, throttled=3) == 1
    assert "docstatus demo: some job did not end as scripted" in capsys.readouterr().err


def test_demo_exits_1_when_a_job_has_no_final_status() -> None:
    from docstatus._cli_wait import _demo_summary  # noqa: PLC0415

    refs, ends = _demo_ends(AS_SCRIPTED)
    del ends[refs[0]]
    assert _demo_summary(refs, ends, throttled=3) == 1


def test_grace_options_are_checked(docstatus_sim: Simulator) -> None:
    ref = docstatus_sim.create_job("sarvam", "stuck_accepted", step=STEP)
    result = run("wait", ref, "--not-found-grace", "-1")
    assert result.returncode == 2
    assert_clean(result)
    assert "--action-grace/--not-found-grace" in result.stderr
    assert docstatus_sim.requests == []  # refused before any request


def test_wait_into_a_reader_that_stops_early_exits_141_quietly(docstatus_sim: Simulator) -> None:
    docstatus_sim.clock.freeze()  # the job moves only when the test says
    ref = docstatus_sim.create_job("artos", "happy_path", step=0.5)
    proc = subprocess.Popen(
        [sys.executable, "-m", "docstatus._cli", "wait", ref],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["terminal"] is False
        proc.stdout.close()  # the next change cannot be written
        docstatus_sim.clock.advance(60)  # and there is one: the job ends
        _, err = proc.communicate(timeout=BOUND)
    finally:
        proc.kill()
        proc.wait()
    assert (proc.returncode, err) == (141, b"")
