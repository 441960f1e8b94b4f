"""What the tracker does with the file it is given, decided before it writes anything: real
SQLite files on disk, made by other programs (real child processes, some killed before they
closed the file), and by the docstatus that wrote schema version 1; the CLI in real processes.

Promises checked:

- another program's SQLite database (its own tables; ``user_version`` 1, -1 or 0; in rollback
  or WAL mode; closed, or with its content still in a ``-wal`` because it was killed; with an
  application id of its own), a file that is not SQLite, a truncated one: refused with a clear
  ``TrackerError`` (``reason`` ``corrupt``), ``track add``/``run``/``ls`` exit 2 with one line,
  and every file in the folder is byte for byte as it was — no journal mode changed, no
  migration, no ``-wal``/``-shm`` left behind;
- an empty file is an empty database: docstatus makes it its own;
- a version 1 file made by the docstatus before version 2 (closed, or killed with everything in
  its ``-wal``) is migrated: every job, meta, status and undelivered completion kept, and runs
  go on with it; so is a version 2 file, and a version 3 file (it gets the ``learned`` table of
  version 4, empty: its first run starts cold and saves what it learns there);
- ``--db`` in a folder that does not exist: exit 2 naming it, nothing created (the default
  location makes its own folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from docstatus import Durations, JobStatus, State, Tracker, TrackerError, WaitPolicy
from docstatus._tracking._store import APPLICATION_ID, SCHEMA_VERSION

if TYPE_CHECKING:
    from docstatus._refs import JobRef

V1 = Path(__file__).parent / "tracker_v1"
V2 = Path(__file__).parent / "tracker_v2"
V3 = Path(__file__).parent / "tracker_v3"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    return subprocess.run(
        [sys.executable, "-m", "docstatus._cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, "PYTHONIOENCODING": "utf-8", **(env or {})},
        check=False,
    )


def _folder(path: Path) -> dict[str, str]:
    """Every file in ``path``'s folder, by name, with a digest of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir())}


_OTHER_PROGRAM = """
import os, sqlite3, sys
path, version, app = sys.argv[1], int(sys.argv[2]), int(sys.argv[4])
wal, kill, tables = sys.argv[3] == "1", sys.argv[5] == "1", sys.argv[6] == "1"
conn = sqlite3.connect(path)
if wal:
    conn.execute("PRAGMA journal_mode = WAL")
if tables:
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    conn.execute("CREATE TABLE jobs (ref TEXT PRIMARY KEY, what TEXT)")  # a name docstatus uses too
    conn.executemany("INSERT INTO notes (body) VALUES (?)", [("note %d" % i,) for i in range(200)])
conn.execute("PRAGMA user_version = %d" % version)
if app:
    conn.execute("PRAGMA application_id = %d" % app)
conn.commit()
if kill:
    os._exit(0)  # killed before it closed the file: in WAL mode, its content stays in the -wal
conn.close()
"""


def _other_program(path: Path, *, version: int, wal: bool = False, app: int = 0, kill: bool = False) -> None:
    flags = ["1" if wal else "0", str(app), "1" if kill else "0", "1"]
    subprocess.run([sys.executable, "-c", _OTHER_PROGRAM, str(path), str(version), *flags], check=True, timeout=60)


FOREIGN = {
    "user_version-1": {"version": 1},
    "user_version--1": {"version": -1},
    "user_version-0-with-tables": {"version": 0},
    "user_version-1-wal": {"version": 1, "wal": True},
    "user_version-1-wal-killed": {"version": 1, "wal": True, "kill": True},
    "user_version-0-wal-killed": {"version": 0, "wal": True, "kill": True},
    "application-id-of-its-own": {"version": 0, "app": 0x12345678},
}


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_another_programs_database_is_refused_and_left_byte_for_byte(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "theirs.db"
    _other_program(path, **FOREIGN[kind])
    before = _folder(tmp_path)
    if FOREIGN[kind].get("kill"):
        assert "theirs.db-wal" in before  # the content is in the -wal: reading it must not recover it
    with pytest.raises(TrackerError) as caught:
        Tracker(path)
    assert caught.value.reason == "corrupt"
    assert "not a docstatus tracking database" in str(caught.value)
    assert "left as it is" in str(caught.value)
    assert _folder(tmp_path) == before  # no byte changed, no -wal/-shm/-journal left behind
    for args in (["add", "artos:x"], ["run"], ["ls"]):
        result = _cli("track", *args, "--db", str(path))
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert "not a docstatus tracking database" in result.stderr
        assert "Traceback" not in result.stderr
    assert _folder(tmp_path) == before
    with sqlite3.connect(path) as conn:  # and the other program still has all of it
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (200,)
        assert conn.execute("PRAGMA user_version").fetchone() == (FOREIGN[kind]["version"],)


def _v2_file(path: Path, jobs: int = 300) -> bytes:
    with Tracker(path) as tracker:
        tracker.add_many([f"artos:j{i}" for i in range(jobs)], meta={"pad": "x" * 200})
    return path.read_bytes()


@pytest.mark.parametrize(
    "content",
    ["not-sqlite", "header-only", "first-page", "half-of-a-v1-file", "half-of-a-v2-file"],
)
def test_a_file_that_is_not_a_whole_tracking_database_is_refused_and_left_as_it_is(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "t.db"
    if content == "not-sqlite":
        data = b"#!/bin/sh\necho this is a shell script, not a database\n" * 50
    elif content == "header-only":
        data = (V1 / "closed.db").read_bytes()[:60]
    elif content == "first-page":
        data = (V1 / "closed.db").read_bytes()[:4096]
    elif content == "half-of-a-v1-file":
        whole = (V1 / "closed.db").read_bytes()
        data = whole[: len(whole) // 2]
    else:
        whole = _v2_file(tmp_path / "whole.db")
        (tmp_path / "whole.db").unlink()
        data = whole[: len(whole) // 2]
    path.write_bytes(data)
    before = _folder(tmp_path)
    with pytest.raises(TrackerError) as caught:
        Tracker(path)
    assert caught.value.reason == "corrupt", caught.value
    assert _folder(tmp_path) == before
    result = _cli("track", "add", "artos:x", "--db", str(path))
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert _folder(tmp_path) == before


def test_an_empty_file_becomes_a_tracking_database(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    path.touch()
    assert _cli("track", "add", "artos:e1", "--db", str(path)).returncode == 0
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    with Tracker(path) as tracker:
        assert [j.ref for j in tracker.list()] == ["artos:e1"]


# --- a version 1 file, made by the docstatus before version 2


def _poll_to_the_end(seen: dict[str, int]) -> Any:
    async def poll(ref: JobRef, timeout: float) -> JobStatus:
        seen[str(ref)] = seen.get(str(ref), 0) + 1
        return JobStatus(provider="artos", job_id=ref.job_id, state=State.SUCCEEDED, provider_state="Ready")

    return poll


@pytest.mark.parametrize("made", ["closed", "killed"])
def test_a_version_1_file_is_migrated_and_its_jobs_go_on(tmp_path: Path, made: str) -> None:
    for source in V1.glob(f"{made}.db*"):
        shutil.copyfile(source, tmp_path / source.name.replace(made, "t"))
    path = tmp_path / "t.db"
    if made == "killed":  # its schema is in the -wal only: the file itself holds an empty one
        with sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True) as conn:
            assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    with Tracker(path) as tracker:
        jobs = {j.ref: j for j in tracker.list()}
        version = tracker.store.query("PRAGMA user_version")[0][0]
        app = tracker.store.query("PRAGMA application_id")[0][0]
        assert (version, app) == (SCHEMA_VERSION, APPLICATION_ID)
        assert sorted(jobs) == ["artos:ends-failed", "artos:ends-ok", "artos:new-1", "artos:running-1"]
        assert not any(j.damaged for j in jobs.values())
        running = jobs["artos:running-1"]
        assert (running.state, running.done, running.polls, dict(running.meta)) == ("running", False, 3, {"batch": 7})
        assert running.status is not None
        assert running.status.step == "step 3 of running-1"  # moved to its own column, kept
        assert jobs["artos:ends-ok"].completion is not None
        assert jobs["artos:ends-ok"].completion.state == "succeeded"
        assert jobs["artos:new-1"].state == "new"
        (pending,) = tracker.completions()  # the one left undelivered in version 1
        assert (pending.ref, pending.state) == ("artos:ends-failed", "failed")
        assert pending.status is not None
        assert pending.status.step == "step 2 of ends-failed"
    seen: dict[str, int] = {}
    policy = WaitPolicy(initial_delay=0.05, min_delay=0.02, timeout=60)
    with Tracker(path, poll=_poll_to_the_end(seen), policy=policy, spread=0.0) as tracker:
        done = tracker.run()
        assert sorted(c.ref for c in done) == ["artos:new-1", "artos:running-1"]
        assert next(c for c in done if c.ref == "artos:running-1").meta == {"batch": 7}
        assert tracker.totals() == {"succeeded": 3, "not_succeeded": 1, "active": 0}
    assert seen == {"artos:new-1": 1, "artos:running-1": 1}


@pytest.mark.parametrize("made", ["closed", "killed"])
def test_a_version_2_file_is_migrated_with_its_indexes_and_its_jobs_go_on(tmp_path: Path, made: str) -> None:
    """A file the last release wrote (schema 2, made by e367de2: see make_tracker_files.py)
    gets version 3's indexes (the free and leased rows, paging, counts) in one transaction,
    and every job, large status and undelivered completion in it goes on."""
    for source in V2.glob(f"{made}.db*"):
        shutil.copyfile(source, tmp_path / source.name.replace(made, "t"))
    path = tmp_path / "t.db"
    with Tracker(path) as tracker:
        version = tracker.store.query("PRAGMA user_version")[0][0]
        indexes = {r[0] for r in tracker.store.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert version == SCHEMA_VERSION == 4
        assert {"jobs_free", "jobs_leased", "jobs_state", "jobs_added", "outbox_claims"} <= indexes
        assert "jobs_due" not in indexes
        jobs = {j.ref: j for j in tracker.list()}
        assert sorted(jobs) == ["artos:big-1", "artos:ends-failed", "artos:ends-ok", "artos:new-1", "artos:running-1"]
        assert not any(j.damaged for j in jobs.values())
        big = jobs["artos:big-1"].status
        assert big is not None
        assert big.step == "step 3 of big-1" + "." * 3000  # from the statuses table, kept
        assert [j.ref for j in tracker.scan("running")] == ["artos:running-1", "artos:big-1"]
        assert tracker.counts() == {"running": 2, "succeeded": 1, "failed": 1, "new": 1}
        (pending,) = tracker.completions()
        assert (pending.ref, pending.state) == ("artos:ends-failed", "failed")
    seen: dict[str, int] = {}
    policy = WaitPolicy(initial_delay=0.05, min_delay=0.02, timeout=60)
    with Tracker(path, poll=_poll_to_the_end(seen), policy=policy, spread=0.0) as tracker:
        done = tracker.run()
        assert sorted(c.ref for c in done) == ["artos:big-1", "artos:new-1", "artos:running-1"]
        assert tracker.totals() == {"succeeded": 4, "not_succeeded": 1, "active": 0}
        assert tracker.store.query("SELECT count(*) FROM statuses")[0][0] == 0  # an ended job's is in its outcome
    assert seen == {"artos:big-1": 1, "artos:new-1": 1, "artos:running-1": 1}


@pytest.mark.parametrize("made", ["closed", "killed"])
def test_a_version_3_file_is_migrated_with_a_table_for_the_duration_model_and_its_jobs_go_on(
    tmp_path: Path, made: str
) -> None:
    """A file the last release wrote (schema 3, made by 94c1f2d: see make_tracker_files.py)
    gets version 4's ``learned`` table (empty) in one transaction, and every job, large status
    and undelivered completion in it goes on; the next run that learns a duration saves it there."""
    for source in V3.glob(f"{made}.db*"):
        shutil.copyfile(source, tmp_path / source.name.replace(made, "t"))
    path = tmp_path / "t.db"
    with Tracker(path) as tracker:
        version = tracker.store.query("PRAGMA user_version")[0][0]
        assert version == SCHEMA_VERSION == 4
        assert tracker.store.query("SELECT count(*) FROM learned")[0][0] == 0
        indexes = {r[0] for r in tracker.store.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"jobs_free", "jobs_leased", "jobs_state", "jobs_added", "outbox_claims"} <= indexes
        jobs = {j.ref: j for j in tracker.list()}
        assert sorted(jobs) == ["artos:big-1", "artos:ends-failed", "artos:ends-ok", "artos:new-1", "artos:running-1"]
        assert not any(j.damaged for j in jobs.values())
        big = jobs["artos:big-1"].status
        assert big is not None
        assert big.step == "step 3 of big-1" + "." * 3000
        (pending,) = tracker.completions()
        assert (pending.ref, pending.state) == ("artos:ends-failed", "failed")
    seen: dict[str, int] = {}

    async def poll(ref: JobRef, timeout: float) -> JobStatus:  # running at its first poll here, then done
        n = seen[str(ref)] = seen.get(str(ref), 0) + 1
        state = State.RUNNING if n == 1 else State.SUCCEEDED
        return JobStatus(provider="artos", job_id=ref.job_id, state=state, provider_state=state.value)

    policy = WaitPolicy(initial_delay=0.05, min_delay=0.02, timeout=60)  # the process's shared model
    with Tracker(path, poll=poll, policy=policy, spread=0.0) as tracker:
        done = tracker.run()
        assert sorted(c.ref for c in done) == ["artos:big-1", "artos:new-1", "artos:running-1"]
        assert tracker.totals() == {"succeeded": 4, "not_succeeded": 1, "active": 0}
        (raw,) = tracker.store.query("SELECT value FROM learned WHERE name = 'durations'")[0]
    assert seen == {"artos:big-1": 2, "artos:new-1": 2, "artos:running-1": 2}
    stored = Durations.from_dict(json.loads(raw))
    assert stored.kinds == ("artos",)
    assert json.loads(raw)["kinds"]["artos"]["samples"] == 3  # the three jobs this run saw end


# --- the path


def test_a_db_in_a_folder_that_does_not_exist_is_exit_2_naming_it_and_creates_nothing(tmp_path: Path) -> None:
    typo = tmp_path / "typo-folder" / "deeper" / "t.db"
    for args in (["add", "artos:x"], ["run"], ["ls"], ["show", "artos:x"]):
        result = _cli("track", *args, "--db", str(typo))
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert str(typo) in result.stderr
        assert "Traceback" not in result.stderr
    result = _cli("track", "add", "artos:x", env={"DOCSTATUS_TRACK_DB": str(typo)})
    assert result.returncode == 2
    assert f"its folder {typo.parent} does not exist" in result.stderr
    assert sorted(tmp_path.iterdir()) == []  # no folder, no file
    with pytest.raises(TrackerError) as caught:
        Tracker(typo)
    assert caught.value.reason == "open"
    assert sorted(tmp_path.iterdir()) == []


def test_only_track_add_creates_a_database_and_the_default_location_makes_its_folder(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    result = _cli("track", "run", "--db", str(db))
    assert result.returncode == 2
    assert "no tracking database at" in result.stderr
    assert _cli("track", "ls", "--db", str(db)).returncode == 0
    assert not db.exists()
    data = tmp_path / "xdg-data"
    env = {"XDG_DATA_HOME": str(data), "HOME": str(tmp_path)}
    assert _cli("track", "add", "artos:x", env=env).returncode == 0
    (made,) = tmp_path.rglob("track.db")  # <data dir>/docstatus/track.db (XDG_DATA_HOME on Linux)
    assert made.parent.name == "docstatus"
    started = time.monotonic()
    listed = _cli("track", "ls", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert time.monotonic() - started < 60
    assert '"artos:x"' in listed.stdout
