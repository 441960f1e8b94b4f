"""The same classes of bug as the promises issue, where a review found them still open: provider
text in other encodings, a credential in the job id, stored values that pass a shallow check,
statuses with a great many items, a caller's own poll function, JSON output on a terminal, log
formatters of their own. Real servers on 127.0.0.1, real SQLite files, real CLI processes."""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from typing import TYPE_CHECKING, Any

import docstatus
import pytest
from _rawserver import Conn, RawServer, answer
from _status_checks import SARVAM_ID, body
from docstatus import ProviderConfig, Tracker, WaitPolicy, WaitState

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio

TOKEN = "tok-REVIEW-4d5e6f7a8b"
MiB = 1024 * 1024


def cli(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    return subprocess.run(
        [sys.executable, "-m", "docstatus._cli", *args],
        capture_output=True,
        timeout=120,
        env={**clean, "PYTHONIOENCODING": "utf-8", **(env or {})},
        check=False,
    )


# --- bodies in UTF-16 and UTF-32 (json.loads reads them too) are made safe like UTF-8 ones


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-16", "utf-32", "utf-32-be"])
def test_a_body_in_utf16_or_utf32_is_made_safe_too(encoding: str) -> None:
    raw = '{"task_id": "doc-1", "status": "Failed", "error": "bad \\ud800"}'.encode(encoding)
    status = docstatus.parse("artos", raw)
    assert status.error is not None
    assert status.error.message == "bad \ufffd"
    status.to_json().encode("utf-8")
    ready = json.dumps(body("artos", "Ready", task_id="doc-2")).encode()

    def run(conn: Conn) -> None:
        answer(200, raw if conn.request.path.endswith("/doc-1") else ready)(conn)

    with RawServer(run) as server:
        env = {"DOCSTATUS_ARTOS_BASE_URL": server.url, "DOCSTATUS_ARTOS_TOKEN": TOKEN}
        result = cli(["status", "artos:doc-1", "artos:doc-2"], env)
    assert result.returncode == 1, result.stderr  # doc-1 failed; both reported, not exit 70
    lines = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert [line["job_id"] for line in lines] == ["doc-1", "doc-2"]
    assert lines[0]["error"]["message"] == "bad \ufffd"


# --- a credential echoed into the job id is scrubbed like any other provider text


def test_a_token_echoed_into_the_job_id_is_scrubbed() -> None:
    def echo_id(conn: Conn) -> None:
        sent = conn.request.headers["authorization"].removeprefix("Bearer ")
        answer(200, body("artos", "Generating", task_id=sent))(conn)

    with RawServer(echo_id) as server:
        cfg = ProviderConfig(provider="artos", base_url=server.url, token=TOKEN)
        status = docstatus.get_status("artos:doc-1", config=cfg)
    assert TOKEN not in repr(status)
    assert TOKEN not in status.to_json()
    assert TOKEN not in repr(status.model)


# --- stored values that pass a shallow check


def test_a_waiting_state_whose_progress_does_not_rise_is_refused() -> None:
    now = time.time()
    state = {"v": 1, "ref": "artos:abc", "started": now, "deadline": now + 60}
    for samples in ([[now, 0.5], [now + 1, 0.5]], [[now + 1, 0.2], [now, 0.4]], [[now, 1.5]]):
        with pytest.raises(ValueError, match="samples"):
            WaitState.from_dict({**state, "samples": samples})


def _run_with_rows(tmp_path: Path, sql: str, params: tuple[Any, ...]) -> tuple[list[Any], dict[str, int]]:
    db = tmp_path / "t.db"
    with Tracker(db) as tracker:
        tracker.add_many(["artos:abc", "artos:def"], deadline=30)
    with sqlite3.connect(db) as conn:
        conn.execute(sql, params)

    def ready(conn: Conn) -> None:
        answer(200, body("artos", "Ready", task_id=conn.request.path.rsplit("/", 1)[-1]))(conn)

    with RawServer(ready) as server:
        cfg = ProviderConfig(provider="artos", base_url=server.url, token=TOKEN)
        with Tracker(db, config=[cfg], policy=WaitPolicy(timeout=30), spread=0.05) as tracker:
            done = tracker.run()
            counts = tracker.counts()
    return done, counts


def test_a_stored_waiting_state_that_would_divide_by_zero_starts_over(tmp_path: Path) -> None:
    now = time.time()
    wait = {
        "v": 1,
        "ref": "artos:abc",
        "started": now - 5,
        "deadline": now + 30,
        "polls": 2,
        "samples": [[now - 2, 0.5], [now - 1, 0.5]],
        "due": now,
        "delay": 1.0,
        "last": docstatus.JobStatus(
            provider="artos", job_id="abc", state=docstatus.State.RUNNING, provider_state="Generating", progress=0.5
        ).to_dict(),
    }
    done, counts = _run_with_rows(tmp_path, "UPDATE jobs SET wait = ? WHERE ref = 'artos:abc'", (json.dumps(wait),))
    assert sorted(c.ref for c in done) == ["artos:abc", "artos:def"]  # both ended: nothing stopped the run
    assert counts == {"succeeded": 2}


def test_a_stored_meta_with_nan_is_damaged_not_a_stopped_run(tmp_path: Path) -> None:
    done, counts = _run_with_rows(tmp_path, "UPDATE jobs SET meta = ? WHERE ref = 'artos:abc'", ('{"n": NaN}',))
    assert [c.ref for c in done] == ["artos:def"]  # the damaged one is skipped, the other ends
    assert counts.get("succeeded") == 1


# --- a status with a great many items: what a waiting job keeps is bounded in count too


def test_a_waiting_job_keeps_at_most_a_thousand_page_errors() -> None:
    from docstatus._waiting._core import KEEP_ITEMS  # noqa: PLC0415

    errors = [{"page_number": i + 1, "error_code": "E", "error_message": "e"} for i in range(5 * KEEP_ITEMS)]
    running = body(
        "sarvam",
        "Running",
        job_details=[
            {
                "inputs": [{"file_name": "a.pdf", "file_id": "f1"}],
                "outputs": [],
                "state": "Running",
                "total_pages": 6000,
                "pages_processed": 5000,
                "pages_succeeded": 0,
                "pages_failed": 5000,
                "page_errors": errors,
            }
        ],
    )
    with RawServer(answer(200, running)) as server:
        cfg = ProviderConfig(provider="sarvam", base_url=server.url, token=TOKEN)
        fetched = docstatus.get_status(f"sarvam:{SARVAM_ID}", config=cfg)
        assert fetched.pages is not None
        assert len(fetched.pages.errors) == 5 * KEEP_ITEMS  # what get_status returns is whole
        with pytest.raises(docstatus.WaitTimeout) as info:
            docstatus.wait(f"sarvam:{SARVAM_ID}", config=cfg, timeout=1.0)
    last = info.value.last_status
    assert last is not None
    assert last.pages is not None
    assert len(last.pages.errors) == KEEP_ITEMS


async def test_a_waiting_job_with_many_items_reports_a_change_only_when_it_changes() -> None:
    """What a waiting job keeps is less than what came (over ``KEEP_ITEMS``): the next status is
    still compared with what came, so the same status polled again is no change."""
    from docstatus._waiting._core import KEEP_ITEMS  # noqa: PLC0415

    errors = [{"page_number": i + 1, "error_code": "E", "error_message": "e"} for i in range(2 * KEEP_ITEMS)]
    detail = {
        "inputs": [{"file_name": "a.pdf", "file_id": "f1"}],
        "outputs": [],
        "state": "Running",
        "total_pages": 6000,
        "pages_processed": 2 * KEEP_ITEMS,
        "pages_succeeded": 0,
        "pages_failed": 2 * KEEP_ITEMS,
        "page_errors": errors,
    }
    running = body("sarvam", "Running", job_details=[detail])
    with RawServer(answer(200, running)) as server:
        cfg = ProviderConfig(provider="sarvam", base_url=server.url, token=TOKEN)
        policy = WaitPolicy(timeout=3, initial_delay=0.3, max_delay=0.3, durations=None)
        updates = [u async for u in docstatus.watch_many([f"sarvam:{SARVAM_ID}"], config=cfg, policy=policy)]
        polls = len(server.requests)
    assert polls >= 4
    assert [u.done for u in updates] == [False, True]  # one change (the first status), then the end


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    import docstatus
    from docstatus import ProviderConfig, WaitPolicy

    def hwm():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM"):
                return int(line.split()[1]) * 1024

    async def main(url, jobs):
        cfg = ProviderConfig(provider="sarvam", base_url=url, token=sys.argv[3])
        refs = [f"sarvam:{i:08x}-0000-4000-8000-000000000000" for i in range(jobs)]
        base = hwm()
        policy = WaitPolicy(timeout=30, initial_delay=30, durations=None)
        answered = 0
        async for update in docstatus.watch_many(refs, config=cfg, policy=policy, host_concurrency=1, host_rate=None):
            answered += update.status is not None and not update.done
            if answered == jobs:  # every job answered once and waiting: what they keep is all there
                break
        print(hwm() - base)

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


def test_many_waiting_jobs_with_huge_page_error_lists_keep_bounded_memory() -> None:
    """80 jobs whose running status lists 10,000 page errors (1 MB bodies), one poll in flight at a
    time: kept whole, each waiting job held about 3 MB (about 250 MB in all); bounded, a few
    hundred kB each."""
    errors = [
        {
            "page_number": i + 1,
            "error_code": f"E{i % 97}",
            "error_message": f"page {i + 1} could not be read (code {i})",
        }
        for i in range(10_000)
    ]
    running = body(
        "sarvam",
        "Running",
        job_details=[
            {
                "inputs": [{"file_name": "a.pdf", "file_id": "f1"}],
                "outputs": [],
                "state": "Running",
                "total_pages": 20_000,
                "pages_processed": 10_000,
                "pages_succeeded": 0,
                "pages_failed": 10_000,
                "page_errors": errors,
            }
        ],
    )
    with RawServer(answer(200, running), limit=120) as server:
        result = subprocess.run(
            [sys.executable, "-c", CHILD, server.url, "80", TOKEN],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    grown = int(result.stdout.split()[-1])
    assert grown < 100 * MiB, f"peak grew {grown / MiB:.0f} MiB"


# --- a caller's own poll function is an entry point of provider text too


def test_a_status_from_a_callers_poll_function_never_jams_the_tracker(tmp_path: Path) -> None:
    async def poll(ref: docstatus.JobRef, timeout: float) -> docstatus.JobStatus:
        return docstatus.JobStatus(
            provider="artos", job_id=ref.job_id, state=docstatus.State.SUCCEEDED, provider_state="done \ud800"
        )

    with Tracker(tmp_path / "t.db", poll=poll) as tracker:
        tracker.add("artos:abc")
        (done,) = tracker.run()
        assert done.status is not None
        assert done.status.provider_state == "done \ufffd"
        assert tracker.counts() == {"succeeded": 1}


# --- JSON output shown on a terminal: C1 controls and bidi characters as JSON escapes


def test_json_output_escapes_c1_controls_and_bidi_characters() -> None:
    odd = "x\x9b2J\u202egnp.exe\x7f"
    failed = json.dumps(body("artos", "Failed", task_id="doc-1", error=odd)).encode()
    with RawServer(answer(200, failed)) as server:
        result = cli(
            ["status", "artos:doc-1"], {"DOCSTATUS_ARTOS_BASE_URL": server.url, "DOCSTATUS_ARTOS_TOKEN": TOKEN}
        )
    assert result.returncode == 1
    for raw in ("\x9b", "\u202e", "\x7f"):
        assert raw.encode() not in result.stdout
    assert json.loads(result.stdout)["error"]["message"] == odd  # the same JSON value


# --- log formatters of their own get the masked traceback only


def test_a_formatter_that_formats_exc_info_itself_sees_no_token() -> None:
    from docstatus._secrets import remember  # noqa: PLC0415

    remember(TOKEN)

    class OwnFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            text = record.getMessage()
            if record.exc_info:  # as JSON loggers and error trackers do
                text += self.formatException(record.exc_info)
            return text + (record.exc_text or "")

    log = logging.getLogger("docstatus")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OwnFormatter())
    log.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"echoed {TOKEN}")  # noqa: TRY301
        except RuntimeError:
            log.exception("poll failed")
    finally:
        log.removeHandler(handler)
    assert "RuntimeError" in stream.getvalue()
    assert TOKEN not in stream.getvalue()


# --- the CLI refuses a bad --lease as a usage error; docstatus.celery is an attribute or not


def test_a_bad_lease_is_a_usage_error(tmp_path: Path) -> None:
    result = cli(["track", "run", "--lease", "0", "--db", str(tmp_path / "t.db")])
    assert result.returncode == 2
    assert b"--lease" in result.stderr
    assert b"internal error" not in result.stderr


def test_hasattr_docstatus_celery_is_false_without_the_extra() -> None:
    code = "import sys; sys.modules['celery'] = None; import docstatus; print(hasattr(docstatus, 'celery'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
