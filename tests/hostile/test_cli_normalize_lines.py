"""``docstatus normalize`` on JSON Lines, as a real process: what its faster per-line loop must
keep. Each line piped in is printed before the next arrives; a line nested too deeply is still
one clear line; a file's output is exactly each body's ``JobStatus.to_json()``."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from typing import TYPE_CHECKING

import docstatus
import pytest
from _status_checks import JOB_ID, STATE_FIELD, body
from docstatus._registry import mapper

if TYPE_CHECKING:
    from pathlib import Path

CLI = (sys.executable, "-m", "docstatus._cli")
EXIT_OK, EXIT_JOB_FAILED, EXIT_MALFORMED = 0, 1, 3
WAIT = 30.0  # seconds a line may take to come out on a loaded machine


def _read_line(proc: subprocess.Popen[bytes]) -> bytes:
    """One line of the child's stdout, or fail after WAIT seconds (it was held back)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], WAIT)
    assert ready, "no line came out while the input stayed open: the output was held back"
    return proc.stdout.readline()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="select on pipes")
def test_each_line_piped_in_is_printed_before_the_next_arrives() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout block-buffered, as usual
    proc = subprocess.Popen(
        [*CLI, "normalize", "artos"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        env=env,
    )
    assert proc.stdin is not None
    try:
        for state in ("Ingesting", "Generating", "Ready"):
            proc.stdin.write(json.dumps(body("artos", state)).encode() + b"\n")
            proc.stdin.flush()
            line = _read_line(proc)  # before the next line is even written
            assert json.loads(line)["provider_state"] == state
        proc.stdin.close()
        assert proc.wait(timeout=WAIT) == EXIT_OK
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_line_nested_too_deeply_is_one_clear_line_and_the_others_are_normalized(tmp_path: Path) -> None:
    good = json.dumps(body("artos", "Ready")).encode()
    path = tmp_path / "bodies.jsonl"
    path.write_bytes(b"\n".join([good, b'{"a":' * 100_000, good, b"{not json", good]) + b"\n")
    proc = subprocess.run([*CLI, "normalize", "artos", str(path)], capture_output=True, timeout=120, check=False)
    assert proc.returncode == EXIT_MALFORMED
    err = proc.stderr.decode().splitlines()
    assert len(err) == 2, err
    assert err[0].startswith(f"docstatus normalize: {path}: line 2: JSON nested too deeply"), err
    assert err[1].startswith(f"docstatus normalize: {path}: line 4: "), err
    assert "not JSON" in err[1], err
    assert "Traceback" not in proc.stderr.decode()
    assert len(proc.stdout.splitlines()) == 3


def _bodies(provider: str) -> list[dict[str, object]]:
    """Bodies of ``provider`` in each documented state, with a text that is not ASCII."""
    states = mapper(provider).STATES  # the documented values
    out = [body(provider, state) for state in states]
    text_field = {"artos": "error", "markdown2pdf": "status_meta", "sarvam": "error_message"}.get(provider)
    if text_field is not None:
        out.append(body(provider, next(iter(states)), **{text_field: "échec — 失败 \u2028 done"}))
    return out


@pytest.mark.parametrize("provider", sorted(STATE_FIELD))
def test_a_files_output_is_exactly_each_bodys_to_json(provider: str, tmp_path: Path) -> None:
    bodies = _bodies(provider)
    path = tmp_path / "bodies.jsonl"
    path.write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in bodies), encoding="utf-8")
    extra = ["--job-id", JOB_ID[provider]] if provider in JOB_ID else []
    proc = subprocess.run(
        [*CLI, "normalize", provider, str(path), *extra], capture_output=True, timeout=120, check=False
    )
    expected = [docstatus.parse(provider, b, job_id=JOB_ID.get(provider)) for b in bodies]
    lines = proc.stdout.decode("utf-8").split("\n")  # (not splitlines: a status may hold U+2028)
    assert lines == [*(s.to_json() for s in expected), ""], proc.stderr
    failed = any(s.state.terminal and s.state is not docstatus.State.SUCCEEDED for s in expected)
    assert proc.returncode == (EXIT_JOB_FAILED if failed else EXIT_OK), proc.stderr
