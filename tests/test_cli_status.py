"""``docstatus normalize`` and ``docstatus status``: in-process through ``main([...])`` and as a
real subprocess (``python -m docstatus._cli``)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from _status_checks import AITRONOS_ID, SARVAM_ID, body, check
from conftest import Canned
from docstatus import JobStatus, State
from docstatus._cli import EXIT_AUTH_OR_NOT_FOUND, EXIT_MALFORMED, EXIT_OK, EXIT_PROVIDER, EXIT_USAGE, main

TOKEN = "tok-CLI-SECRET-42"


def run(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "docstatus._cli", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def statuses(out: str) -> list[JobStatus]:
    return [check(JobStatus.from_dict(json.loads(line))) for line in out.splitlines()]


# --- normalize


def test_normalize_one_object_from_stdin_subprocess():
    proc = run("normalize", "artos", stdin=json.dumps(body("artos", "Ingesting", progress=30)).encode())
    assert proc.returncode == EXIT_OK, proc.stderr
    (status,) = statuses(proc.stdout.decode())
    assert (status.state, status.step, status.progress) == (State.RUNNING, "Ingesting", 0.3)
    assert proc.stderr == b""


def test_normalize_array_file_gives_one_line_per_element(tmp_path, capsys):
    path = tmp_path / "bodies.json"
    path.write_text(json.dumps([body("sarvam", "Running"), body("sarvam", "Completed"), body("sarvam", "Accepted")]))
    assert main(["normalize", "sarvam", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert [s.state for s in statuses(out)] == [State.RUNNING, State.SUCCEEDED, State.ACTION_REQUIRED]
    assert all(s.job_id == SARVAM_ID for s in statuses(out))


def test_normalize_json_lines(tmp_path, capsys):
    path = tmp_path / "bodies.jsonl"
    path.write_text("\n".join(json.dumps(body("neurolinker", s)) for s in ("pending", "processing", "completed")))
    assert main(["normalize", "neurolinker", str(path)]) == EXIT_OK
    assert [s.state for s in statuses(capsys.readouterr().out)] == [
        State.QUEUED,
        State.RUNNING,
        State.SUCCEEDED,
    ]


def test_normalize_empty_array_prints_nothing(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"[]")))
    assert main(["normalize", "artos"]) == EXIT_OK
    assert capsys.readouterr().out == ""


def test_normalize_aitronos_with_job_id(tmp_path, capsys):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(body("aitronos", "processing", progress_percent=50)))
    assert main(["normalize", "aitronos", str(path), "--job-id", AITRONOS_ID]) == EXIT_OK
    (status,) = statuses(capsys.readouterr().out)
    assert status.ref == f"aitronos:{AITRONOS_ID}"
    assert status.progress == 0.5


def test_normalize_aitronos_without_job_id_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(body("aitronos", "processing")))
    assert main(["normalize", "aitronos", str(path)]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--job-id" in captured.err


@pytest.mark.parametrize(
    ("stdin", "fragment"),
    [
        (b"not json at all", "not JSON"),
        (b"", "not JSON"),
        (b'{"task_id": "d"}', "'status' is missing"),
        (b'"Ready"', "got a string"),
        (b'{"task_id": "d", "status": "Ready", "progress": "half"}', "progress is str"),
    ],
)
def test_normalize_malformed_input_subprocess(stdin, fragment):
    proc = run("normalize", "artos", "-", stdin=stdin)
    assert proc.returncode == EXIT_MALFORMED
    assert proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1, err
    assert err.startswith("docstatus normalize: stdin: ")
    assert fragment in err
    assert "Traceback" not in err


def test_normalize_malformed_element_names_it_and_prints_nothing(tmp_path, capsys):
    path = tmp_path / "bodies.json"
    path.write_text(json.dumps([body("artos", "Ready"), {"status": "Ready"}, body("artos", "Failed")]))
    assert main(["normalize", "artos", str(path)]) == EXIT_MALFORMED
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{path}: element 1: " in captured.err
    assert len(captured.err.splitlines()) == 1


def test_normalize_missing_file(tmp_path, capsys):
    assert main(["normalize", "artos", str(tmp_path / "nope.json")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "cannot read" in err
    assert len(err.splitlines()) == 1


def test_normalize_unknown_provider_is_rejected_by_argparse(capsys):
    with pytest.raises(SystemExit) as info:
        main(["normalize", "textract"])
    assert info.value.code == EXIT_USAGE


# --- status


@pytest.fixture
def env(monkeypatch, canned_server):
    for p in ("aitronos", "artos", "markdown2pdf", "neurolinker", "sarvam"):
        monkeypatch.setenv(f"DOCSTATUS_{p.upper()}_BASE_URL", canned_server.base_url)
        monkeypatch.setenv(f"DOCSTATUS_{p.upper()}_TOKEN", TOKEN)
    return canned_server


def test_status_json_lines(env, capsys):
    env.reply(Canned(200, body("artos", "Ready")), Canned(200, body("sarvam", "Running")))
    assert main(["status", "artos:document-uuid-456", f"sarvam:{SARVAM_ID}"]) == EXIT_OK
    captured = capsys.readouterr()
    assert [s.state for s in statuses(captured.out)] == [State.SUCCEEDED, State.RUNNING]
    assert captured.err == ""
    assert [r.path for r in env.requests] == [
        "/api/v1/documents/status/document-uuid-456",
        f"/doc-digitization/job/v1/{SARVAM_ID}/status",
    ]


def test_status_table(env, capsys):
    env.reply(
        Canned(200, body("aitronos", "processing", progress_percent=40, current_step="embedding")),
        Canned(200, body("markdown2pdf", "Error", status_meta="LaTeX failed")),
    )
    assert (
        main(
            [
                "status",
                f"aitronos:{AITRONOS_ID}",
                "markdown2pdf:1d6986aa-80ac-4a4d-9009-5a323c9046b1",
                "--format",
                "table",
            ]
        )
        == EXIT_OK
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["REF", "STATE", "PROVIDER", "STATE", "PROGRESS", "STEP", "UPDATED", "ERROR"]
    assert lines[1].split()[:5] == [f"aitronos:{AITRONOS_ID}", "running", "processing", "40%", "embedding"]
    assert "failed" in lines[2]
    assert lines[2].rstrip().endswith("LaTeX failed")
    assert len(lines) == 3


@pytest.mark.parametrize(
    ("answer", "code", "fragment"),
    [
        (Canned(404, b""), EXIT_AUTH_OR_NOT_FOUND, "has no job"),
        (Canned(401, {"detail": f"bad key {TOKEN}"}), EXIT_AUTH_OR_NOT_FOUND, "refused the credentials"),
        (Canned(422, b""), EXIT_USAGE, "rejected the status request"),
        (Canned(429, b"", {"Retry-After": "5"}), EXIT_PROVIDER, "retry after 5 s"),
        (Canned(503, b""), EXIT_PROVIDER, "retrying later may help"),
        (Canned(200, b"<html>"), EXIT_MALFORMED, "not a job status"),
        (Canned(drop=True), EXIT_PROVIDER, "failed"),
    ],
)
def test_status_errors_are_one_line_with_their_exit_code(env, capsys, answer, code, fragment):
    env.reply(answer)
    assert main(["status", "artos:doc-1"]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("docstatus status: artos:doc-1: ")
    assert fragment in line
    assert TOKEN not in captured.err


def test_status_continues_after_a_failure_and_exits_with_the_first_code(env, capsys):
    env.reply(Canned(404, b""), Canned(200, body("artos", "Ready")))
    assert main(["status", "artos:gone", "not-a-ref", "artos:document-uuid-456"]) == EXIT_AUTH_OR_NOT_FOUND
    captured = capsys.readouterr()
    assert [s.state for s in statuses(captured.out)] == [State.SUCCEEDED]
    errors = captured.err.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("docstatus status: artos:gone:")
    assert errors[1].startswith("docstatus status: not-a-ref:")


def test_status_timeout_option(capsys, monkeypatch):
    import socket  # noqa: PLC0415

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    try:
        monkeypatch.setenv("DOCSTATUS_ARTOS_BASE_URL", f"http://127.0.0.1:{sock.getsockname()[1]}")
        monkeypatch.setenv("DOCSTATUS_ARTOS_TOKEN", TOKEN)
        assert main(["status", "artos:doc-1", "--timeout", "0.2"]) == EXIT_PROVIDER
    finally:
        sock.close()
    assert "timed out after 0.2 s" in capsys.readouterr().err


def test_status_missing_token_subprocess(canned_server):
    proc = run(
        "status",
        "neurolinker:doc-1",
        env={"DOCSTATUS_NEUROLINKER_BASE_URL": canned_server.base_url, "DOCSTATUS_NEUROLINKER_TOKEN": ""},
    )
    assert proc.returncode == EXIT_USAGE
    assert b"DOCSTATUS_NEUROLINKER_TOKEN" in proc.stderr
    assert b"Traceback" not in proc.stderr
    assert canned_server.requests == []


def test_status_subprocess_never_prints_the_token(canned_server):
    canned_server.reply(
        Canned(403, {"error": {"message": f"key {TOKEN} not allowed", "code": "invalid_api_key_error"}})
    )
    proc = run(
        "status",
        f"sarvam:{SARVAM_ID}",
        env={"DOCSTATUS_SARVAM_BASE_URL": canned_server.base_url, "DOCSTATUS_SARVAM_TOKEN": TOKEN},
    )
    assert proc.returncode == EXIT_AUTH_OR_NOT_FOUND
    assert TOKEN.encode() not in proc.stderr + proc.stdout
    assert b"key *** not allowed" in proc.stderr
    assert canned_server.requests[0].headers.get("api-subscription-key") == TOKEN
