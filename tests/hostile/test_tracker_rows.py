"""Damaged rows in a real tracking database on disk (edited with ``sqlite3`` as another tool or a
damaged disk would leave them), read by ``docstatus track ls/show/run`` in real processes polling
a real server on 127.0.0.1 (raw sockets), and by ``Tracker`` in this process.

Promises checked: no command exits 70 and no run stops; each damaged row is one clear line
naming its job; a run skips a job whose ref, name, key, meta, added time or deadline cannot be
read (never polls it, leaves its row as it is, exits 2 after ending the others), starts waiting
over for a job whose saved waiting state or last status cannot be read, does not deliver an
outbox row whose outcome cannot be read; ``ls`` and ``show`` show what can be read (``damaged``
names the rest); text that is not valid UTF-8 or that spells a lone surrogate is read with
U+FFFD, JSON nested too deeply is a damaged field, not a crash.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from _rawserver import Conn, RawServer, answer
from docstatus import Completion, Tracker, WaitState

if TYPE_CHECKING:
    from pathlib import Path

TOKEN = "tok-ROWS-5b6c7d8e9f"

#: Each damaged job: the SQL that damages it (``?`` is its ref), and the field ``damaged`` names.
SKIPPED = {
    "artos:bad-meta": ("UPDATE jobs SET meta = '{\"batch\": ' WHERE ref = ?", "meta"),
    "artos:deep-meta": ("UPDATE jobs SET meta = " + "'" + "[" * 100_000 + "]" * 100_000 + "' WHERE ref = ?", "meta"),
    "artos:bad-deadline": ("UPDATE jobs SET deadline = 'soon' WHERE ref = ?", "deadline"),
    "artos:bad-key": ("UPDATE jobs SET key = X'deadbeef' WHERE ref = ?", "key"),  # a blob, not a text
}
STARTED_OVER = {
    "artos:bad-wait": (
        'UPDATE jobs SET wait = \'{"v": 1, "ref": "artos:bad-wait", "started": "yesterday"}\' WHERE ref = ?',
        "wait",
    ),
    "artos:bad-last": ("UPDATE jobs SET wait = :wait WHERE ref = :ref", "wait"),
}
READABLE = {  # odd text, not damage: read with U+FFFD
    "artos:surrogate-meta": ('UPDATE jobs SET meta = \'{"note": "bad \\ud800 here"}\' WHERE ref = ?', None),
    "artos:bad-utf8": ("UPDATE jobs SET state = CAST(X'72756e6eff' AS TEXT) WHERE ref = ?", None),
}
HEALTHY = ["artos:ok-1", "artos:ok-2"]


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    return subprocess.run(
        [sys.executable, "-m", "docstatus._cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env={**clean, "PYTHONIOENCODING": "utf-8", **env},
        check=False,
    )


def _damage(db: Path, env: dict[str, str]) -> None:
    refs = [*SKIPPED, *STARTED_OVER, *READABLE, *HEALTHY, "artos:done-bad"]
    assert _cli(["track", "add", *refs], env).returncode == 0
    now = time.time()
    wait = WaitState(ref="artos:bad-last", started=now, deadline=now + 3600).to_dict()
    last = {"provider": "nobody"}  # not a JobStatus
    with sqlite3.connect(db) as conn:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'statuses'").fetchone():  # its own table
            conn.execute("INSERT INTO statuses (ref, last) VALUES ('artos:bad-last', ?)", (json.dumps(last),))
        else:  # schema version 1: inside the waiting state
            wait["last"] = last
        for ref, (sql, _) in {**SKIPPED, **STARTED_OVER, **READABLE}.items():
            conn.execute(sql, {"wait": json.dumps(wait), "ref": ref} if ":ref" in sql else (ref,))
        conn.execute(  # a done job whose outcome is damaged
            "UPDATE jobs SET status = 'done', state = 'succeeded', outcome = ? WHERE ref = 'artos:done-bad'",
            ('{"key": 5}',),
        )
        conn.execute(  # a job whose ref is no ref at all
            "INSERT INTO jobs (ref, name, key, meta, added, deadline, next_due, updated) "
            "VALUES ('no provider here', 'no provider here', 'dst_badref', '{}', ?, ?, ?, ?)",
            (now, now + 3600, now, now),
        )
        conn.execute(  # an undelivered completion whose outcome is damaged
            "INSERT INTO outbox (key, ref, outcome, created) VALUES ('dst_broken', 'artos:gone', '{broken', ?)", (now,)
        )


def _server() -> tuple[RawServer, Counter[str]]:
    polled: Counter[str] = Counter()

    def ready(conn: Conn) -> None:
        job = conn.request.path.rstrip("/").rsplit("/", 1)[-1]
        polled[job] += 1
        answer(200, {"task_id": job, "status": "Ready", "progress": None, "error": None})(conn)

    return RawServer(ready), polled


def test_damaged_rows_are_named_and_skipped_and_the_other_jobs_end(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    server, polled = _server()
    with server:
        env = {"DOCSTATUS_ARTOS_BASE_URL": server.url, "DOCSTATUS_ARTOS_TOKEN": TOKEN, "DOCSTATUS_TRACK_DB": str(db)}
        _damage(db, env)

        listed = _cli(["track", "ls"], env)
        assert listed.returncode == 2, listed.stderr
        assert len(listed.stdout.splitlines()) == 1 + 12  # every row, damaged or not
        lines = listed.stderr.splitlines()
        named = {ref for ref in [*SKIPPED, *STARTED_OVER, "artos:done-bad", "no provider here"] if ref in listed.stderr}
        assert len(named) == len(lines) == 8, listed.stderr  # one line per damaged row
        assert all("its row is damaged" in line for line in lines)
        assert "runn\ufffd" in listed.stdout  # not valid UTF-8 as stored: shown with U+FFFD

        as_json = _cli(["track", "ls", "--json"], env)
        assert as_json.returncode == 2
        rows = {row["ref"]: row for row in map(json.loads, as_json.stdout.splitlines())}
        for ref, (_, field) in {**SKIPPED, **STARTED_OVER}.items():
            assert field in rows[ref]["damaged"], rows[ref]
        assert "outcome" in rows["artos:done-bad"]["damaged"]
        assert rows["artos:bad-deadline"]["deadline"] is None
        assert "damaged" not in rows["artos:ok-1"]
        assert rows["artos:surrogate-meta"]["meta"] == {"note": "bad \ufffd here"}

        shown = _cli(["track", "show", "artos:deep-meta"], env)
        assert shown.returncode == 2
        assert "nested too deeply" in json.loads(shown.stdout)["damaged"]["meta"]
        assert len(shown.stderr.splitlines()) == 1

        ran = _cli(["track", "run", "--json", "--host-rate", "1000"], env)
        assert ran.returncode == 2, ran.stderr  # the damaged rows; never 70
        assert "Traceback" not in ran.stderr
        ended = {line["ref"]: line for line in map(json.loads, ran.stdout.splitlines())}
        assert sorted(ended) == sorted([*HEALTHY, *STARTED_OVER, *READABLE])
        assert all(line["state"] == "succeeded" for line in ended.values())
        assert ended["artos:surrogate-meta"]["meta"] == {"note": "bad \ufffd here"}
        for ref in [*SKIPPED, "no provider here"]:  # one line each, naming it, and never polled
            assert sum(ref in line and "cannot be polled" in line for line in ran.stderr.splitlines()) == 1, ref
            assert polled[ref.rpartition(":")[2]] == 0
        for ref in STARTED_OVER:
            assert sum(ref in line and "starts over" in line for line in ran.stderr.splitlines()) == 1
        assert sum("artos:gone" in line and "not delivered" in line for line in ran.stderr.splitlines()) == 1
        summary = ran.stderr.splitlines()[-1]
        assert "this run delivered 6 ended jobs" in summary, summary
        assert "holds 7 ended succeeded, 0 ended otherwise, 5 active (5 of them skipped" in summary, summary
        assert "1 completion(s) not delivered" in summary

        started = time.monotonic()
        again = _cli(["track", "run", "--json"], env)  # ends at once: only damaged rows are left
        assert again.returncode == 2, again.stderr
        assert again.stdout == ""
        assert time.monotonic() - started < 60
    with sqlite3.connect(db) as conn:  # the damaged rows are left as they were
        assert conn.execute("SELECT meta FROM jobs WHERE ref = 'artos:bad-meta'").fetchone() == ('{"batch": ',)
        assert conn.execute("SELECT deadline FROM jobs WHERE ref = 'artos:bad-deadline'").fetchone() == ("soon",)
        assert conn.execute("SELECT delivered FROM outbox WHERE key = 'dst_broken'").fetchone() == (None,)


def test_the_tracker_api_reads_damaged_rows_without_raising(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "t.db"
    env = {"DOCSTATUS_TRACK_DB": str(db)}
    _damage(db, env)
    delivered: list[Completion] = []
    with Tracker(db, on_done=delivered.append) as tracker:
        jobs = {job.ref: job for job in tracker.list()}
        assert len(jobs) == 12
        assert set(jobs["artos:bad-meta"].damaged) == {"meta"}
        assert jobs["artos:bad-meta"].meta == {}
        damaged = tracker.get("artos:bad-key")
        assert damaged is not None
        assert set(damaged.damaged) == {"key"}
        assert jobs["artos:bad-utf8"].state == "runn\ufffd"
        assert list(tracker.completions()) == []  # the damaged outbox row: skipped, with a warning
        tracker.deliver_pending()
        assert delivered == []
        assert "dst_broken" in tracker.undeliverable
    assert sum("artos:gone" in r.getMessage() for r in caplog.records) == 2  # once per call
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT delivered, claim_owner FROM outbox").fetchall() == [(None, None)]


@pytest.mark.parametrize(
    "field",
    [
        {"samples": "many"},
        {"polls": -3},
        {"last_error": {"type": "Exploded", "message": 1}},
        {"deadline": [1, 2]},
        {"ref": 7},
        {"request_timeout": "1e999"},
        {"last_error": "boom"},
        {"last": ["not", "a", "status"]},
        {"samples": [["t", None]]},
    ],
    ids=["samples", "polls", "last_error", "deadline", "ref", "request_timeout", "error-text", "last-list", "sample"],
)
def test_a_saved_waiting_state_with_wrong_types_starts_waiting_over(tmp_path: Path, field: dict[str, Any]) -> None:
    db = tmp_path / "t.db"
    server, polled = _server()
    with server:
        env = {"DOCSTATUS_ARTOS_BASE_URL": server.url, "DOCSTATUS_ARTOS_TOKEN": TOKEN, "DOCSTATUS_TRACK_DB": str(db)}
        assert _cli(["track", "add", "artos:w1", "artos:w2"], env).returncode == 0
        now = time.time()
        state = {**WaitState(ref="artos:w1", started=now, deadline=now + 60).to_dict(), **field}
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE jobs SET wait = ? WHERE ref = 'artos:w1'", (json.dumps(state),))
        ran = _cli(["track", "run", "--json"], env)
    assert ran.returncode == 0, ran.stderr
    assert sorted(json.loads(line)["ref"] for line in ran.stdout.splitlines()) == ["artos:w1", "artos:w2"]
    assert polled == {"w1": 1, "w2": 1}
    assert sum("artos:w1" in line and "starts over" in line for line in ran.stderr.splitlines()) == 1
