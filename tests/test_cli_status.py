"""``docstatus normalize`` and ``docstatus status``: in-process through ``main([...])`` and as a
real subprocess (``python -m docstatus._cli``)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from _status_checks import AITRONOS_ID, M2P_ID, SARVAM_ID, body, check
from conftest import Canned
from docstatus import JobStatus, State
from docstatus._cli import (
    EXIT_AUTH_OR_NOT_FOUND,
    EXIT_INTERNAL,
    EXIT_JOB_FAILED,
    EXIT_MALFORMED,
    EXIT_OK,
    EXIT_OUTPUT_CLOSED,
    EXIT_PROVIDER,
    EXIT_USAGE,
    main,
)

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


def test_normalize_prints_every_element_it_can_and_exits_with_the_most_serious_code(tmp_path, capsys):
    path = tmp_path / "bodies.json"
    path.write_text(json.dumps([body("artos", "Ready"), {"status": "Ready"}, body("artos", "Failed")]))
    assert main(["normalize", "artos", str(path)]) == EXIT_MALFORMED  # 3 (malformed) wins over 1 (failed)
    captured = capsys.readouterr()
    assert [s.state for s in statuses(captured.out)] == [State.SUCCEEDED, State.FAILED]
    errors = captured.err.splitlines()
    assert len(errors) == 2
    assert f"{path}: line 1: element 1: " in errors[0]
    assert "'task_id' is missing" in errors[0]
    assert errors[1].startswith(f"docstatus normalize: {path}: line 1: element 2: ended failed (Failed)")


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


def test_status_table_of_a_failed_job_exits_1(env, capsys):
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
        == EXIT_JOB_FAILED
    )
    captured = capsys.readouterr()
    assert captured.err == f"docstatus status: markdown2pdf:{M2P_ID}: ended failed (Error): LaTeX failed\n"
    lines = captured.out.splitlines()
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


def test_status_continues_after_a_failure_and_exits_with_the_most_serious_code(env, capsys):
    env.reply(Canned(404, b""), Canned(200, body("artos", "Ready")))
    assert main(["status", "artos:gone", "not-a-ref", "artos:document-uuid-456"]) == EXIT_USAGE  # 2 wins over 4
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


# --- exit codes: the most serious outcome wins; a job reported while not ended is 0


@pytest.mark.parametrize(
    ("provider", "raw", "code"),
    [
        ("artos", "Failed", EXIT_JOB_FAILED),
        ("markdown2pdf", "Error", EXIT_JOB_FAILED),
        ("sarvam", "PartiallyCompleted", EXIT_JOB_FAILED),
        ("sarvam", "Completed", EXIT_OK),
        ("artos", "Ingesting", EXIT_OK),  # running: reported, not ended
        ("neurolinker", "pending", EXIT_OK),  # queued
        ("sarvam", "Accepted", EXIT_OK),  # action_required: not final, the command reported it
        ("artos", "Teleporting", EXIT_OK),  # unknown
    ],
)
def test_status_and_normalize_exit_code_of_one_job(env, capsys, monkeypatch, provider, raw, code):
    document = body(provider, raw)
    env.reply(Canned(200, document))
    refs = {
        "artos": "artos:document-uuid-456",
        "sarvam": f"sarvam:{SARVAM_ID}",
        "neurolinker": "neurolinker:doc-1",
        "markdown2pdf": f"markdown2pdf:{M2P_ID}",
    }
    assert main(["status", refs[provider]]) == code
    captured = capsys.readouterr()
    assert len(statuses(captured.out)) == 1
    # "ended failed (...)" for a failure; the warning about an unknown state, once per process
    unknown = [line for line in captured.err.splitlines() if "does not know" in line]
    assert len(captured.err.splitlines()) == (code != EXIT_OK) + len(unknown)
    assert len(unknown) <= (raw == "Teleporting")

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(document).encode())))
    assert main(["normalize", provider]) == code  # the same body, offline: the same code
    captured = capsys.readouterr()
    assert len(statuses(captured.out)) == 1
    assert len(captured.err.splitlines()) == (code != EXIT_OK)


def test_status_severity_across_jobs(env, capsys):
    env.reply(
        Canned(200, body("artos", "Failed")),
        Canned(503, b""),
        Canned(200, body("artos", "Ready")),
    )
    assert main(["status", "artos:a", "artos:b", "artos:c"]) == EXIT_PROVIDER  # 6 wins over 1 and 0
    captured = capsys.readouterr()
    assert [s.state for s in statuses(captured.out)] == [State.FAILED, State.SUCCEEDED]  # all three asked
    assert len(env.requests) == 3
    assert len(captured.err.splitlines()) == 2


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_status_bad_timeout_is_a_usage_error_before_any_request(env, capsys, value):
    assert main(["status", "artos:a", "--timeout", value]) == EXIT_USAGE
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("docstatus status: --timeout: must be a finite number")
    assert env.requests == []


def test_status_internal_error_is_one_line_and_the_other_jobs_go_on(env, capsys, monkeypatch):
    import docstatus._fetch  # noqa: PLC0415

    real = docstatus._fetch.get_status

    def broken(ref, **kwargs):
        if ref.job_id == "boom":
            raise KeyError(f"a message holding {TOKEN}")
        return real(ref, **kwargs)

    monkeypatch.setattr(docstatus._fetch, "get_status", broken)
    env.reply(Canned(200, body("artos", "Ready")))
    assert main(["status", "artos:boom", "artos:document-uuid-456"]) == EXIT_INTERNAL
    captured = capsys.readouterr()
    assert [s.state for s in statuses(captured.out)] == [State.SUCCEEDED]
    (line,) = captured.err.splitlines()
    assert line.startswith("docstatus status: artos:boom: internal error (KeyError); this is a bug in docstatus")
    assert TOKEN not in captured.err
    assert "a message holding" not in captured.err  # the exception's text is never shown


def test_an_exception_escaping_a_command_is_one_line_exit_70(capsys, monkeypatch):
    import docstatus._cli_status  # noqa: PLC0415

    def broken(_args):
        raise RuntimeError(f"secret {TOKEN}")

    monkeypatch.setattr(docstatus._cli_status, "_normalize", broken)
    assert main(["normalize", "artos"]) == EXIT_INTERNAL
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "docstatus normalize: internal error (RuntimeError); this is a bug in docstatus, "
        "please report it with the command that caused it\n"
    )


def test_help_documents_the_exit_codes_of_status_and_normalize():
    for command, lines in (
        ("status", ("1    a job failed, partially succeeded or was cancelled", "70   internal error")),
        ("normalize", ("--max-bytes N", "default 16 MiB (16777216 bytes)", "141  stdout was closed early")),
    ):
        proc = run(command, "--help")
        assert proc.returncode == EXIT_OK
        text = proc.stdout.decode()
        for line in lines:
            assert line in text, (command, line)


# --- normalize's input: JSON Lines line by line, one document capped


def stdin_of(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_normalize_json_lines_go_on_after_a_bad_line(monkeypatch, capsys):
    good = json.dumps(body("artos", "Ready")).encode()
    long_line = json.dumps(body("artos", "Ready", step="x" * 500)).encode()
    data = b"\n".join([good, b"not json", b"", long_line, b'{"status": "Ready"}', good]) + b"\n"
    stdin_of(monkeypatch, data)
    assert main(["normalize", "artos", "--max-bytes", "200"]) == EXIT_MALFORMED
    captured = capsys.readouterr()
    assert [s.state for s in statuses(captured.out)] == [State.SUCCEEDED, State.SUCCEEDED]
    errors = captured.err.splitlines()
    assert len(errors) == 3
    assert errors[0].startswith("docstatus normalize: stdin: line 2: ")
    assert "not JSON" in errors[0]
    assert errors[1] == (
        "docstatus normalize: stdin: line 4: the line is over the limit of 200 bytes per JSON document or line; "
        "raise it with --max-bytes"
    )
    assert errors[2].startswith("docstatus normalize: stdin: line 5: ")
    assert "'task_id' is missing" in errors[2]


def test_normalize_a_pretty_printed_object_and_array(monkeypatch, capsys):
    stdin_of(monkeypatch, json.dumps(body("artos", "Ingesting", progress=30), indent=2).encode())
    assert main(["normalize", "artos"]) == EXIT_OK
    assert [s.progress for s in statuses(capsys.readouterr().out)] == [0.3]

    # a one-element array whose second line is a whole JSON value is still one document
    stdin_of(monkeypatch, b"[\n" + json.dumps(body("artos", "Ready")).encode() + b"\n]\n")
    assert main(["normalize", "artos"]) == EXIT_OK
    assert [s.state for s in statuses(capsys.readouterr().out)] == [State.SUCCEEDED]

    bodies = [body("sarvam", s) for s in ("Running", "Failed", "Completed")]
    stdin_of(monkeypatch, json.dumps(bodies, indent=2).encode())
    assert main(["normalize", "sarvam"]) == EXIT_JOB_FAILED
    captured = capsys.readouterr()
    assert [s.state for s in statuses(captured.out)] == [State.RUNNING, State.FAILED, State.SUCCEEDED]
    assert captured.err.startswith("docstatus normalize: stdin: element 1: ended failed (Failed)")


def test_normalize_a_broken_pretty_printed_array_prints_the_elements_before_the_break(monkeypatch, capsys):
    text = json.dumps([body("artos", "Ready"), body("artos", "Ingesting")], indent=2)
    stdin_of(monkeypatch, text[:-10].encode())  # cut inside the second element
    assert main(["normalize", "artos"]) == EXIT_MALFORMED
    captured = capsys.readouterr()
    assert [s.state for s in statuses(captured.out)] == [State.SUCCEEDED]
    (line,) = captured.err.splitlines()
    assert line.startswith("docstatus normalize: stdin: element 1: not JSON (")


def test_normalize_one_document_over_the_limit_is_refused_naming_the_limit(monkeypatch, capsys):
    bodies = [body("artos", "Ready")] * 40
    stdin_of(monkeypatch, json.dumps(bodies, indent=2).encode())
    assert main(["normalize", "artos", "--max-bytes", "1K"]) == EXIT_MALFORMED
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "docstatus normalize: stdin: the input is over the limit of 1 KiB (1024 bytes) per JSON document or line; "
        "raise it with --max-bytes\n"
    )
    stdin_of(monkeypatch, json.dumps(bodies, indent=2).encode())
    assert main(["normalize", "artos", "--max-bytes", "64K"]) == EXIT_OK
    assert len(statuses(capsys.readouterr().out)) == 40


@pytest.mark.parametrize("value", ["0", "-5", "ten", "1T", "1.5M", ""])
def test_normalize_bad_max_bytes_is_a_usage_error(capsys, value):
    with pytest.raises(SystemExit) as info:
        main(["normalize", "artos", "--max-bytes", value])
    assert info.value.code == EXIT_USAGE
    assert "--max-bytes: must be a whole number of bytes > 0" in capsys.readouterr().err


def test_normalize_bad_job_id_is_said_once_before_reading(monkeypatch, capsys):
    stdin_of(monkeypatch, b"\n".join([json.dumps(body("aitronos", "processing")).encode()] * 50))
    assert main(["normalize", "aitronos", "--job-id", "not/enough"]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("docstatus normalize: --job-id: ")


def test_normalize_into_a_reader_that_stops_early_exits_141_quietly(tmp_path):
    """`docstatus normalize big.jsonl | head -1`: no traceback, no "Exception ignored", exit 141."""
    path = tmp_path / "many.jsonl"
    path.write_text((json.dumps(body("artos", "Ready")) + "\n") * 20_000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "docstatus._cli", "normalize", "artos", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(b'{"provider":"artos"')
        proc.stdout.close()  # as head does after its first line
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == EXIT_OUTPUT_CLOSED
    assert err == b""
