"""``track run`` after a crash: its exit code covers the jobs it ended itself, so a last line
says how the whole database stands. Real CLI processes (one killed with SIGKILL) polling a real
server on 127.0.0.1 (raw sockets).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

from _rawserver import Conn, RawServer, answer

if TYPE_CHECKING:
    from pathlib import Path


def _env(server: RawServer, db: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    return {
        **clean,
        "DOCSTATUS_ARTOS_BASE_URL": server.url,
        "DOCSTATUS_ARTOS_TOKEN": "tok-SUMMARY-0a1b2c3d",
        "DOCSTATUS_TRACK_DB": str(db),
        "PYTHONUNBUFFERED": "1",
    }


def _track(*args: str) -> list[str]:
    return [sys.executable, "-m", "docstatus._cli", "track", *args]


def test_a_run_after_a_crash_says_how_the_whole_database_stands(tmp_path: Path) -> None:
    release = threading.Event()

    def jobs(conn: Conn) -> None:
        job = conn.request.path.rstrip("/").rsplit("/", 1)[-1]
        status = "Failed" if job.startswith("f-") else "Ready" if release.is_set() else "Pending"
        answer(
            200, {"task_id": job, "status": status, "progress": None, "error": "broken" if status == "Failed" else None}
        )(conn)

    db = tmp_path / "t.db"
    refs = ["artos:f-1", "artos:f-2", "artos:f-3", "artos:s-1", "artos:s-2"]
    with RawServer(jobs, limit=300) as server:
        env = _env(server, db)
        assert subprocess.run(_track("add", *refs), env=env, check=False).returncode == 0
        out = tmp_path / "first.out"
        with out.open("wb") as sink:
            first = subprocess.Popen(_track("run", "--json"), env=env, stdout=sink, stderr=subprocess.DEVNULL)
            end = time.monotonic() + 60
            while len(out.read_bytes().splitlines()) < 3 and time.monotonic() < end:
                time.sleep(0.05)
            first.send_signal(signal.SIGKILL)  # the crash: the failed jobs ended, the run is gone
            assert first.wait(timeout=30) == -signal.SIGKILL
        assert len(out.read_bytes().splitlines()) == 3
        release.set()
        second = subprocess.run(
            _track("run", "--json"), env=env, capture_output=True, text=True, timeout=120, check=False
        )
    assert second.returncode == 0, second.stderr  # it ended only the two that succeeded
    assert len(second.stdout.splitlines()) == 2
    last = second.stderr.splitlines()[-1]
    assert last.startswith("docstatus track run: this run delivered 2 ended jobs (the exit code covers these)"), last
    assert "holds 2 ended succeeded, 3 ended otherwise, 0 active" in last, last
    assert "docstatus track ls --state done" in last


def test_track_run_help_says_what_its_exit_code_covers() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "docstatus._cli", "track", "run", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "The exit code covers the jobs this run ended" in text
    assert "the last stderr line counts the whole database" in text
