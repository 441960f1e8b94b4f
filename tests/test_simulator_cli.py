"""``docstatus simulate`` as a user runs it: a real process, its printed exports and job refs
used by docstatus, stopped with Ctrl-C (SIGINT) or SIGTERM."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import docstatus
import pytest
from docstatus import ProviderConfig, State
from docstatus._cli import build_parser
from docstatus._status import PROVIDERS

if TYPE_CHECKING:
    from collections.abc import Iterator

READY_LINES = 2 * len(PROVIDERS) + 2  # ready job refs printed: 2 per provider, 2 more for Sarvam


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "docstatus._cli", "simulate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_banner(proc: subprocess.Popen[str], timeout: float = 20.0) -> list[str]:
    """Lines printed until the last ready job ref (bounded by ``timeout``)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    while data.count(b"\n#   ") < READY_LINES or not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        assert left > 0, f"no banner within {timeout} s: {data!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk, f"the process ended: {proc.wait(5)}, {proc.stderr.read() if proc.stderr else ''}"
            data += chunk
    return data.decode().splitlines()


def stop(proc: subprocess.Popen[str], sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the simulator did not stop within 15 s")
    return proc.returncode, err


@pytest.fixture
def simulate() -> Iterator[subprocess.Popen[str]]:
    proc = start("--step", "0.5")
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def parse_banner(lines: list[str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    env = {}
    refs = []
    for line in lines:
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value
        elif line.startswith("#   "):
            ref, script = line.split()[1:3]
            refs.append((ref, script.strip("()")))
    return env, refs


def test_simulate_prints_exports_and_refs_that_work_then_stops_on_ctrl_c(simulate):
    lines = read_banner(simulate)
    assert lines[0].startswith("# docstatus simulator at http://127.0.0.1:")
    env, refs = parse_banner(lines)
    assert sorted(k for k in env if k.endswith("_BASE_URL")) == [f"DOCSTATUS_{p.upper()}_BASE_URL" for p in PROVIDERS]
    assert "DOCSTATUS_MARKDOWN2PDF_TOKEN" not in env
    assert len(refs) == READY_LINES
    assert {ref.split(":")[0] for ref, _ in refs} == set(PROVIDERS)
    time.sleep(3)  # every ready job has ended (phases of 0.5 s)
    expected = {
        "happy_path": State.SUCCEEDED,
        "failure": State.FAILED,
        "partial_success": State.PARTIALLY_SUCCEEDED,
        "stuck_accepted": State.ACTION_REQUIRED,
    }
    for ref, script in refs:
        config = ProviderConfig.from_env(ref.split(":")[0], environ=env)
        assert docstatus.get_status(ref, config=config).state is expected[script], ref
    code, err = stop(simulate, signal.SIGINT)
    assert code == 0
    assert "stopped" in err
    assert "Traceback" not in err


def test_simulate_stops_on_sigterm(simulate):
    read_banner(simulate)
    code, err = stop(simulate, signal.SIGTERM)
    assert code == 0
    assert "stopped" in err


def test_docstatus_status_works_with_the_printed_exports(simulate):
    env, refs = parse_banner(read_banner(simulate))
    ref = next(r for r, s in refs if r.startswith("artos:") and s == "happy_path")
    out = subprocess.run(
        [sys.executable, "-m", "docstatus._cli", "status", ref],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    printed = json.loads(out.stdout)
    assert f"{printed['provider']}:{printed['job_id']}" == ref
    stop(simulate, signal.SIGINT)


def test_port_taken_is_exit_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        out = subprocess.run(
            [sys.executable, "-m", "docstatus._cli", "simulate", "--port", str(taken.getsockname()[1])],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert out.returncode == 2
    assert "cannot listen" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(("args", "needle"), [(["--step", "0"], "--step"), (["--port", "70000"], "--port")])
def test_bad_arguments_are_exit_2(args, needle):
    out = subprocess.run(
        [sys.executable, "-m", "docstatus._cli", "simulate", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    assert needle in out.stderr


def test_without_the_extra_it_says_what_to_install():
    code = "import sys; sys.modules['pydantic'] = None\nfrom docstatus._cli import main\nsys.exit(main(['simulate']))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2
    assert "pip install 'docstatus[simulator]'" in out.stderr
    assert "Traceback" not in out.stderr


def test_help_lists_simulate_without_loading_the_simulator():
    parser = build_parser()
    args = parser.parse_args(["simulate", "--port", "8123", "--host", "127.0.0.1"])
    assert (args.port, args.host, args.step) == (8123, "127.0.0.1", 5.0)
    code = (
        "import sys\nfrom docstatus._cli import build_parser\nbuild_parser()\n"
        "print(sorted(m for m in ('docstatus.simulator', 'uvicorn', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_simulate_into_a_reader_that_stops_early_exits_141_quietly() -> None:
    """`docstatus simulate | head -1` where the reader is gone before the banner: stop, no traceback.

    The reader's end of the pipe is closed before the simulator starts, so writing the banner
    fails for sure (a reader closing after the banner was written would leave nothing to fail).
    """
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "docstatus._cli", "simulate"], stdout=write_end, stderr=subprocess.PIPE
        )
    finally:
        os.close(write_end)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, err) == (141, b"")
