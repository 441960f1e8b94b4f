"""Text a provider controls is made safe once, where it enters, and every path after it holds:

- a lone UTF-16 surrogate spelled in a JSON body (valid JSON that ``json.loads`` accepts and no
  UTF-8 writer takes) becomes U+FFFD where the body is decoded, so stdout, SQLite, Redis and log
  files all take every status (``docstatus._text``);
- control characters and escape sequences from a provider never reach a terminal raw: live bars,
  tables, stderr lines and ``track ls`` show them escaped; JSON output stays JSON;
- a credential a server echoes into provider text never reaches a log line (``docstatus._secrets``).

Real servers on 127.0.0.1 (raw sockets), real CLI processes, a real pseudo-terminal.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import select
import sqlite3
import subprocess
import sys
import time
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import docstatus
import pytest
from _rawserver import Conn, RawServer, answer
from _status_checks import AITRONOS_ID, body
from docstatus import ProviderConfig
from docstatus._fetch import FleetSession, fetch_async

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = pytest.mark.anyio

TOKEN = "tok-TEXT-7c1d2e3f4a"
#: Raw JSON text: lone high and low surrogates, a valid pair (an emoji), and an escaped backslash
#: followed by "ud800" (six plain characters, not an escape).
POISON = rb"bad \ud800 and \uDC00, fine \ud83d\ude00 and \\ud800"
#: What it becomes.
CLEAN = "bad \ufffd and \ufffd, fine \U0001f600 and \\ud800"
MODES = ["sync", "async", "fleet"]


def failed_body(task_id: str) -> bytes:
    return b'{"task_id": "%s", "status": "Failed", "error": "%s"}' % (task_id.encode(), POISON)


def per_path(answers: dict[str, bytes]) -> Callable[[Conn], None]:
    """Answers each job's status path with its body (a 200), by the id at the end of the path."""

    def run(conn: Conn) -> None:
        job = conn.request.path.rstrip("/").rsplit("/", 1)[-1]
        answer(200, answers[job])(conn)

    return run


def cli(args: list[str], env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    clean_env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "docstatus._cli", *args],
        capture_output=True,
        timeout=120,
        env={**clean_env, **(env or {})},
        check=False,
        **kwargs,
    )


def artos_env(url: str) -> dict[str, str]:
    return {"DOCSTATUS_ARTOS_BASE_URL": url, "DOCSTATUS_ARTOS_TOKEN": TOKEN}


def encodable(text: str) -> None:
    text.encode("utf-8")  # raises UnicodeEncodeError on a lone surrogate


# --- made safe where bodies are decoded


async def fetched(mode: str, raw: bytes) -> docstatus.JobStatus:
    """The status of ``artos:doc-1`` from a raw server answering ``raw``, through one transport."""
    with RawServer(answer(200, raw)) as server:
        cfg = ProviderConfig(provider="artos", base_url=server.url, token=TOKEN)
        if mode == "sync":
            return docstatus.get_status("artos:doc-1", config=cfg)
        if mode == "async":
            return await docstatus.get_status_async("artos:doc-1", config=cfg)
        session = FleetSession(2)
        try:
            return (await fetch_async("artos:doc-1", cfg, session)).status
        finally:
            await session.aclose()


@pytest.mark.parametrize("mode", MODES)
async def test_a_lone_surrogate_in_a_body_becomes_u_fffd_on_every_transport(mode: str) -> None:
    status = await fetched(mode, failed_body("doc-1"))
    assert status.error is not None
    assert status.error.message == CLEAN
    encodable(status.to_json())
    encodable(status.model.error)  # the generated model, built from the same safe body
    assert docstatus.JobStatus.from_dict(json.loads(status.to_json())) == status


def test_parse_makes_every_input_form_safe() -> None:
    raw = failed_body("doc-1")
    decoded = json.loads(raw)  # a caller's own json.loads keeps the lone surrogates
    assert "\ud800" in decoded["error"]
    for given in (raw, raw.decode(), bytearray(raw), decoded):
        status = docstatus.parse("artos", given)
        assert status.error is not None
        assert status.error.message == CLEAN, type(given)
        encodable(status.to_json())
    # A model the caller parsed with the generated client itself is made safe too.
    from docstatus_artos_client.models import TaskStatusResponse  # noqa: PLC0415

    status = docstatus.parse("artos", TaskStatusResponse.from_dict(decoded))
    assert status.error is not None
    assert status.error.message == CLEAN


def test_a_body_without_surrogates_is_not_copied() -> None:
    from docstatus._text import clean_json  # noqa: PLC0415

    body_bytes = b'{"a": "caf\\u00e9 \\\\ud800"}'
    assert clean_json(body_bytes) is body_bytes


#: Surrogates written raw, not as escapes, which ``json.loads`` decodes all the same (it reads bytes
#: with ``surrogatepass``): lone ones spelled in UTF-8 (as CESU-8 and WTF-8 write them), and lone
#: ones in a UTF-16 or UTF-32 body; a real character beside them stays.
RAW_TEXT = "bad \ud800 and \udc00, fine \U0001f600"
RAW_CLEAN = "bad \ufffd and \ufffd, fine \U0001f600"
RAW_ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32", "utf-32-le"]


def raw_body(task_id: str, encoding: str) -> bytes:
    text = json.dumps({"task_id": task_id, "status": "Failed", "error": RAW_TEXT}, ensure_ascii=False)
    return text.encode(encoding, "surrogatepass")


@pytest.mark.parametrize("encoding", RAW_ENCODINGS)
@pytest.mark.parametrize("mode", MODES)
async def test_a_surrogate_written_raw_in_a_body_becomes_u_fffd_on_every_transport(mode: str, encoding: str) -> None:
    assert "\ud800" in json.loads(raw_body("doc-1", encoding))["error"]  # what json alone gives
    status = await fetched(mode, raw_body("doc-1", encoding))
    assert status.error is not None
    assert status.error.message == RAW_CLEAN
    encodable(status.to_json())
    encodable(status.model.error)


@pytest.mark.parametrize("encoding", RAW_ENCODINGS)
def test_parse_and_stored_values_make_a_surrogate_written_raw_u_fffd(encoding: str) -> None:
    from docstatus._text import loads  # noqa: PLC0415  # how stored rows and queue messages are read

    raw = raw_body("doc-1", encoding)
    for given in (raw, bytearray(raw), memoryview(raw)):
        status = docstatus.parse("artos", given)
        assert status.error is not None
        assert status.error.message == RAW_CLEAN, type(given)
        encodable(status.to_json())
        encodable(status.model.error)
    assert loads(raw)["error"] == RAW_CLEAN


def test_normalize_writes_a_surrogate_written_raw_as_u_fffd(tmp_path: Path) -> None:
    lines = [json.dumps(body("artos", "Pending", task_id="doc-0")).encode(), raw_body("doc-1", "utf-8")]
    (tmp_path / "bodies.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    result = cli(["normalize", "artos", str(tmp_path / "bodies.jsonl")])
    assert result.returncode == 1, result.stderr  # doc-1 failed: 1, not 70
    out = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert [o["job_id"] for o in out] == ["doc-0", "doc-1"]
    assert out[1]["error"]["message"] == RAW_CLEAN
    assert "internal error" not in result.stderr.decode("utf-8")


def test_status_and_wait_report_every_job_after_a_poisoned_one(tmp_path: Path) -> None:
    ready = json.dumps(body("artos", "Ready", task_id="doc-2")).encode()
    with RawServer(per_path({"doc-1": failed_body("doc-1"), "doc-2": ready})) as server:
        env = artos_env(server.url)
        status = cli(["status", "artos:doc-1", "artos:doc-2"], env)
        waited = cli(["wait", "--json", "--timeout", "10", "artos:doc-1", "artos:doc-2"], env)
    for result in (status, waited):
        assert result.returncode == 1, result.stderr  # doc-1 failed: 1, not 70
        lines = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
        assert {line["job_id"] for line in lines} == {"doc-1", "doc-2"}
        assert [line["error"]["message"] for line in lines if line["job_id"] == "doc-1"][-1] == CLEAN
        err = result.stderr.decode("utf-8")
        assert "internal error" not in err
        assert len(err.splitlines()) == 1, err  # one line: doc-1 ended failed


def test_normalize_reports_every_line_after_a_poisoned_one(tmp_path: Path) -> None:
    lines = [
        json.dumps(body("artos", "Pending", task_id="doc-0")).encode(),
        failed_body("doc-1"),
        json.dumps(body("artos", "Ready", task_id="doc-2")).encode(),
    ]
    (tmp_path / "bodies.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    result = cli(["normalize", "artos", str(tmp_path / "bodies.jsonl")])
    assert result.returncode == 1, result.stderr
    out = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert [o["job_id"] for o in out] == ["doc-0", "doc-1", "doc-2"]
    assert out[1]["error"]["message"] == CLEAN


def test_the_tracker_ends_a_poisoned_job_and_every_run_after_it_reads_it(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    with RawServer(answer(200, failed_body("doc-1"))) as server:
        env = {**artos_env(server.url), "DOCSTATUS_TRACK_DB": db}
        assert cli(["track", "add", "artos:doc-1"], env).returncode == 0
        ran = cli(["track", "run", "--json"], env)
        assert ran.returncode == 1, ran.stderr  # the job failed; the run did not crash
        (done,) = [json.loads(line) for line in ran.stdout.decode("utf-8").splitlines()]
        assert done["status"]["error"]["message"] == CLEAN
        again = cli(["track", "run"], env)
        assert again.returncode == 0, again.stderr  # nothing left, nothing jammed
    shown = cli(["track", "show", "artos:doc-1"], {"DOCSTATUS_TRACK_DB": db})
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["completion"]["status"]["error"]["message"] == CLEAN
    with sqlite3.connect(db) as conn:  # the row as SQLite holds it: valid UTF-8 text
        (outcome,) = conn.execute("SELECT outcome FROM jobs").fetchone()
    assert "\ufffd" in json.loads(outcome)["status"]["error"]["message"]


def test_track_add_refuses_meta_that_no_writer_takes(tmp_path: Path) -> None:
    """An argument that is not valid UTF-8 (Python keeps its bytes as lone surrogates) is a usage
    error naming the option, not an internal error."""
    argv: list[str | bytes] = [sys.executable, "-m", "docstatus._cli", "track", "add", "--db", str(tmp_path / "t.db")]
    result = subprocess.run(
        [*argv, "--meta", b"k=\xff", "artos:doc-1"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert b"--meta" in result.stderr
    assert len(result.stderr.splitlines()) == 1


# --- neutralized for humans


OSC_TITLE = "\x1b]0;pwned\x07"
CURSOR_QUERY = "\x1b[6n"
BIDI = "\u202e"


def test_wait_live_bars_show_provider_escape_sequences_escaped() -> None:
    """A real pseudo-terminal: the live display runs, and the provider's OSC (window title),
    cursor-position query, bidi override and backspace never reach it raw."""
    step = f"{OSC_TITLE}{CURSOR_QUERY}step{BIDI}x\x08y"
    answers = {
        "f1": body("aitronos", f"{CURSOR_QUERY}{OSC_TITLE}odd", current_step=step),
    }

    def run(conn: Conn) -> None:
        answer(200, answers["f1"])(conn)

    with RawServer(run) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
        env.update(
            {
                "DOCSTATUS_AITRONOS_BASE_URL": server.url,
                "DOCSTATUS_AITRONOS_TOKEN": TOKEN,
                "TERM": "xterm-256color",
                "COLUMNS": "200",
                "PYTHONIOENCODING": "utf-8",
            }
        )
        main, child = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "docstatus._cli", "wait", f"aitronos:{AITRONOS_ID}", "--timeout", "2"],
            stdin=child,
            stdout=child,
            stderr=subprocess.PIPE,
            env=env,
        )
        os.close(child)
        screen = b""
        end = time.monotonic() + 60
        while time.monotonic() < end:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                screen += chunk
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=30)
        err = proc.stderr.read() if proc.stderr else b""
        os.close(main)
    assert code == 5, err  # timed out, as the state never ends
    assert b"\x1b[" in screen  # it was the live display (rich draws with its own sequences)
    for raw in (OSC_TITLE, CURSOR_QUERY, BIDI, "\x08"):
        assert raw.encode() not in screen, raw
        assert raw.encode() not in err, raw
    assert b"\\x1b" in screen  # shown, escaped


def test_status_table_and_stderr_show_provider_text_escaped() -> None:
    failed = json.dumps(body("artos", "Failed", task_id="doc-1", error=f"no{OSC_TITLE}pe{BIDI}\rX")).encode()
    with RawServer(answer(200, failed)) as server:
        result = cli(["status", "--format", "table", "artos:doc-1"], artos_env(server.url))
    assert result.returncode == 1
    for stream in (result.stdout, result.stderr):
        for raw in (OSC_TITLE, BIDI, "\r"):
            assert raw.encode() not in stream
    assert b"\\x1b]0;pwned\\x07" in result.stdout
    assert b"\\u202e" in result.stderr


def test_track_ls_shows_a_stored_rows_text_escaped(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    assert cli(["track", "add", "--db", db, "artos:doc-1"]).returncode == 0
    with sqlite3.connect(db) as conn:  # a row another program (or a damaged file) wrote
        conn.execute("UPDATE jobs SET state = ?", (f"running{OSC_TITLE}{BIDI}",))
    result = cli(["track", "ls", "--db", db])
    assert result.returncode == 0, result.stderr
    assert OSC_TITLE.encode() not in result.stdout
    assert BIDI.encode() not in result.stdout
    assert b"running\\x1b]0;pwned\\x07\\u202e" in result.stdout
    listed = cli(["track", "ls", "--json", "--db", db])  # JSON stays JSON: the value as stored
    assert json.loads(listed.stdout)["state"] == f"running{OSC_TITLE}{BIDI}"


# --- no credential in a log line


def test_a_token_echoed_into_an_unknown_state_never_reaches_a_log_line() -> None:
    log = logging.getLogger("docstatus")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log.addHandler(handler)

    def echo_state(conn: Conn) -> None:
        sent = conn.request.headers["authorization"]  # "Bearer <token>", echoed as the state
        answer(200, body("artos", f"weird {sent} state", task_id="doc-1"))(conn)

    try:
        with RawServer(echo_state) as server:
            cfg = ProviderConfig(provider="artos", base_url=server.url, token=TOKEN)
            status = docstatus.get_status("artos:doc-1", config=cfg)
    finally:
        log.removeHandler(handler)
    assert status.state is docstatus.State.UNKNOWN
    assert TOKEN not in status.provider_state
    text = stream.getvalue()
    assert "does not know" in text  # the warning was logged ...
    assert TOKEN not in text  # ... masked
    assert "***" in text


def test_a_logged_traceback_is_masked_too() -> None:
    from docstatus._secrets import remember  # noqa: PLC0415

    remember(TOKEN)
    log = logging.getLogger("docstatus")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    log.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"the server said {TOKEN!r}")  # noqa: TRY301
        except RuntimeError:
            log.exception("polling failed for %s", f"Bearer {TOKEN}")
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert "RuntimeError" in text
    assert "Traceback" in text
    assert TOKEN not in text


def test_the_cli_prints_a_log_warning_as_one_masked_line() -> None:
    def echo_state(conn: Conn) -> None:
        sent = conn.request.headers["authorization"]
        answer(200, body("artos", f"weird {sent}{OSC_TITLE} state", task_id="doc-1"))(conn)

    with RawServer(echo_state) as server:
        result = cli(["status", "artos:doc-1"], artos_env(server.url))
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode("utf-8")
    assert TOKEN not in err
    assert TOKEN.encode() not in result.stdout
    (line,) = err.splitlines()
    assert line.startswith("docstatus: warning: ")
    assert OSC_TITLE not in line


async def test_watch_many_updates_carry_safe_text() -> None:
    with RawServer(answer(200, failed_body("doc-1"))) as server:
        cfg = ProviderConfig(provider="artos", base_url=server.url, token=TOKEN)
        async with aclosing(docstatus.watch_many(["artos:doc-1"], config=cfg, timeout=10)) as updates:
            finals = [u async for u in updates if u.done]
    (update,) = finals
    assert update.status is not None
    assert update.status.error is not None
    assert update.status.error.message == CLEAN


def _json_outcome(call: Any, raw: Any) -> tuple[str, Any]:
    try:
        return "value", call(raw)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError: both ValueError
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("encoding", RAW_ENCODINGS)
def test_stored_json_reads_as_json_loads_reads_it_in_every_encoding(encoding: str) -> None:
    """``_text.loads`` (stored rows, queue messages) decodes what ``json.loads`` decodes and
    refuses what it refuses, with the same error (it keeps one decoder instead of one a call)."""
    from docstatus._text import loads  # noqa: PLC0415

    def reference(raw: Any) -> Any:
        return json.loads(raw, parse_constant=lambda name: pytest.fail(f"{name} decoded"))

    value = {"a": [1, 2.5, None, True], "b": "caf\u00e9 \U0001f600", "c": {}}
    text = json.dumps(value, ensure_ascii=False)
    cases: list[Any] = [
        text,
        text.encode(encoding),
        "\ufeff" + text,  # a str with a byte-order mark: json refuses it
        b"\xff" + text.encode(encoding),  # bytes that do not decode
        text.encode(encoding)[:-1],  # cut short
        "[1, 2",
        b"",
        "",
    ]
    for raw in cases:
        assert _json_outcome(loads, raw) == _json_outcome(reference, raw), (encoding, raw)
        assert _json_outcome(loads, raw) == _json_outcome(loads, bytearray(raw) if isinstance(raw, bytes) else raw)
    for constant in ("NaN", b"[Infinity]", "-Infinity"):
        with pytest.raises(ValueError, match="RFC 8259 has no NaN or Infinity"):
            loads(constant)
