"""docstatus.Tracker and WaitState: in-process, with a fake poll function and real SQLite files."""

from __future__ import annotations

import asyncio
import json
import math
import random
import sqlite3
import time
from typing import TYPE_CHECKING, Any

import attrs
import docstatus
import pytest
from docstatus import (
    Completion,
    InvalidJobRef,
    JobStatus,
    RateLimited,
    State,
    Tracker,
    TrackerError,
    WaitPolicy,
    WaitState,
)
from docstatus._cli_track import main as track_main
from docstatus._refs import parse_ref
from docstatus._waiting._core import RESUME_SPREAD, Action, Waiter

if TYPE_CHECKING:
    import pathlib

    from docstatus._refs import JobRef

FAST = WaitPolicy(initial_delay=0.05, min_delay=0.02, max_delay=0.2, timeout=30)


def _status(ref: JobRef, state: State, progress: float | None = None) -> JobStatus:
    return JobStatus(
        provider=ref.provider, job_id=ref.job_id, state=state, provider_state=state.value, progress=progress
    )


class Jobs:
    """Fake jobs: each ends ``polls_to_end[ref]`` polls in with ``end[ref]`` (default succeeded)."""

    def __init__(self, polls_to_end: int = 3, end: dict[str, State] | None = None) -> None:
        self.polls_to_end = polls_to_end
        self.end = end or {}
        self.polls: dict[str, int] = {}

    async def poll(self, ref: JobRef, timeout: float) -> JobStatus:
        key = str(ref)
        n = self.polls[key] = self.polls.get(key, 0) + 1
        if n >= self.polls_to_end:
            return _status(ref, self.end.get(key, State.SUCCEEDED))
        return _status(ref, State.RUNNING, progress=n / 10)


def _tracker(path: pathlib.Path, jobs: Jobs, **options: Any) -> Tracker:
    options.setdefault("policy", FAST)
    options.setdefault("spread", 0.05)
    return Tracker(path / "t.db", poll=jobs.poll, **options)


# --- WaitState: the waiting state as a value


def _waiter_after_polls(now: float) -> Waiter:
    ref = parse_ref("artos:a")
    waiter = Waiter.start("artos:a", WaitPolicy(timeout=600), 0.0, draw=lambda: 0.5)
    waiter.on_status(_status(ref, State.RUNNING, 0.1), 1.0)
    waiter.on_error(RateLimited("slow down", retry_after=7.0, provider="artos", ref="artos:a"), 3.0)
    waiter.on_status(_status(ref, State.RUNNING, 0.3), now)
    return waiter


def test_wait_state_round_trips_through_json_and_is_versioned() -> None:
    waiter = _waiter_after_polls(10.0)
    state = waiter.snapshot(10.0, 1_000_000.0)
    text = json.dumps(state.to_dict(), allow_nan=False)  # JSON-safe: no NaN, no objects
    data = json.loads(text)
    assert data["v"] == 1
    assert WaitState.from_dict(data) == state
    assert state.deadline == pytest.approx(1_000_000.0 - 10.0 + 600.0)
    assert state.polls == 3
    assert state.due == pytest.approx(1_000_000.0 + waiter.delay)  # type: ignore[operator]
    assert state.last is not None
    assert state.last["progress"] == 0.3
    with pytest.raises(ValueError, match="newer"):
        WaitState.from_dict({**data, "v": 2})
    with pytest.raises(ValueError, match="finite"):
        WaitState.from_dict({**data, "deadline": "soon"})
    with pytest.raises(ValueError, match="last_error"):
        WaitState.from_dict({**data, "last_error": {"type": "JobNotFound", "message": "x"}})


def test_the_saved_state_a_run_writes_is_the_snapshot_without_its_last_status() -> None:
    """``Waiter.state_dict`` (what a run saves after each poll, made directly) is exactly
    ``snapshot().to_dict()`` with ``last`` null, in every state a waiter can be in."""
    from docstatus import JobNotFound  # noqa: PLC0415

    ref = parse_ref("artos:a")
    fresh = Waiter.start("artos:a", WaitPolicy(timeout=60), 0.0)
    erred = _waiter_after_polls(10.0)
    erred.on_error(RateLimited("429 from artos", retry_after=2.0, status_code=429), 11.0)
    missing = Waiter.start("artos:a", WaitPolicy(timeout=60, not_found_grace=30), 0.0)
    missing.on_error(JobNotFound("404 from artos", status_code=404, code="gone"), 1.0)
    late = Waiter.start("artos:a", WaitPolicy(timeout=5), 0.0)
    for t in (1.0, 3.0, 4.5, 4.9):
        late.on_status(_status(ref, State.QUEUED), t)
    for waiter in (fresh, _waiter_after_polls(10.0), erred, missing, late):
        expected = waiter.snapshot(12.5, 1_000_000.0).to_dict()
        expected["last"] = None
        got = waiter.state_dict(12.5, 1_000_000.0)
        assert got == expected
        assert list(got) == list(expected)  # the same text once encoded
        assert WaitState.from_dict(json.loads(json.dumps(got))) == attrs.evolve(
            waiter.snapshot(12.5, 1_000_000.0), last=None
        )


def test_a_run_reads_a_saved_state_as_read_wait_does_its_last_status_once() -> None:
    """``read_saved`` (a run's restore: the last status read once, as a ``JobStatus``) gives the
    waiter ``read_wait`` gives, and refuses what it refuses, for every form a row may hold."""
    from docstatus._tracking._tracker import read_saved, read_wait  # noqa: PLC0415

    waiter = _waiter_after_polls(10.0)
    whole = waiter.snapshot(10.0, 1_000_000.0).to_dict()
    wait = json.dumps({**whole, "last": None})
    last = json.dumps(whole["last"])
    before_v2 = json.dumps(whole)  # a file never migrated: the last status inside ``wait``
    cases = [
        (wait, last),
        (wait, None),
        (wait, "null"),
        (before_v2, None),
        (before_v2, last),
        (wait, "{not json"),
        (wait, "[1, 2]"),
        (wait, json.dumps({**whole["last"], "state": "nope"})),
        ("{not json", last),
        (json.dumps({**whole, "last": None, "polls": -1}), last),
        ("[]", last),
    ]
    policy = WaitPolicy(timeout=600)
    for saved, status in cases:
        try:
            expected = Waiter.restore(read_wait(saved, status), policy, 5.0, 1_000_001.0)
        except ValueError:
            with pytest.raises(ValueError):  # noqa: PT012  # one of the two reads raises
                state, seen = read_saved(saved, status)
                Waiter.restore(state, policy, 5.0, 1_000_001.0, last=seen)
            continue
        state, seen = read_saved(saved, status)
        got = Waiter.restore(state, policy, 5.0, 1_000_001.0, last=seen)
        assert got.last == expected.last
        assert got.whole == expected.whole
        assert got.snapshot(5.0, 1_000_001.0) == expected.snapshot(5.0, 1_000_001.0)


def test_restore_keeps_the_wall_clock_deadline_and_the_backoff() -> None:
    waiter = _waiter_after_polls(10.0)
    state = waiter.snapshot(10.0, 1_000_000.0)
    # Another process, 100 s later on the wall clock, whose monotonic clock reads 500.
    restored = Waiter.restore(state, WaitPolicy(timeout=600), 500.0, 1_000_100.0, draw=lambda: 0.5)
    assert restored.deadline == pytest.approx(500.0 + (state.deadline - 1_000_100.0))  # not extended
    assert (restored.polls, restored.streak, restored.samples and len(restored.samples)) == (
        waiter.polls,
        waiter.streak,
        len(waiter.samples),
    )
    assert restored.snapshot(500.0, 1_000_100.0) == state
    # The same next step from both: the waiter goes on as if never stopped.
    ref = parse_ref("artos:a")
    a = waiter.on_status(_status(ref, State.RUNNING, 0.5), 20.0)
    b = restored.on_status(_status(ref, State.RUNNING, 0.5), 410.0)  # the same moment: wall 1_000_010
    assert a.action is b.action is Action.POLL
    assert a.delay == pytest.approx(b.delay)


def test_a_restored_transient_error_is_the_timeout_cause() -> None:
    ref = parse_ref("artos:a")
    waiter = Waiter.start("artos:a", WaitPolicy(timeout=60), 0.0)
    waiter.on_status(_status(ref, State.RUNNING), 1.0)
    waiter.on_error(RateLimited("429 from artos", retry_after=2.0), 2.0)
    state = WaitState.from_dict(json.loads(json.dumps(waiter.snapshot(2.0, 500.0).to_dict())))
    restored = Waiter.restore(state, WaitPolicy(timeout=60), 0.0, 500.0)
    error = restored.timeout_error()
    assert isinstance(error.__cause__, RateLimited)
    assert error.__cause__.retry_after == 2.0


def test_resume_spreads_overdue_polls_over_their_own_interval() -> None:
    waiter = _waiter_after_polls(10.0)
    state = waiter.snapshot(10.0, 1000.0)
    assert state.delay is not None
    delays = []
    rng = random.Random(7)  # noqa: S311
    for _ in range(200):
        restored = Waiter.restore(state, WaitPolicy(timeout=600), 0.0, 1000.0 + 60.0, draw=rng.random)  # 60 s late
        step = restored.resume(0.0)
        delays.append(step.delay)
    assert all(0 <= d <= min(RESUME_SPREAD, state.delay) for d in delays)
    assert max(delays) - min(delays) > 0.5 * state.delay  # spread, not all at once
    # Not overdue: the poll comes when it was due.
    restored = Waiter.restore(state, WaitPolicy(timeout=600), 0.0, 1000.0)
    assert restored.resume(0.0).delay == pytest.approx(state.due - 1000.0)  # type: ignore[operator]


def test_resume_never_sleeps_past_the_deadline() -> None:
    waiter = _waiter_after_polls(10.0)
    state = waiter.snapshot(10.0, 1000.0)
    late = state.deadline - 0.01
    restored = Waiter.restore(state, WaitPolicy(timeout=600), 0.0, late, draw=lambda: 0.99)
    assert restored.resume(0.0).delay <= 0.01 + 1e-9


# --- the table


def test_add_is_idempotent_and_refuses_bad_refs(tmp_path: pathlib.Path) -> None:
    with _tracker(tmp_path, Jobs()) as tracker:
        first = tracker.add("artos:abc", meta={"batch": 1}, deadline=60)
        again = tracker.add("artos:abc", meta={"batch": 2}, deadline=999)
        assert again == first  # nothing changed, not even meta or deadline
        assert first.meta == {"batch": 1}
        assert first.deadline == pytest.approx(first.added + 60)
        assert first.state == "new"
        with pytest.raises(InvalidJobRef, match="known provider"):
            tracker.add("nope:1")
        with pytest.raises(InvalidJobRef):
            tracker.add_many(["artos:ok1", "artos:"])
        assert tracker.get("artos:ok1") is None  # all or none
        assert [j.ref for j in tracker.list()] == ["artos:abc"]
        assert tracker.forget("artos:abc") is True
        assert tracker.forget("artos:abc") is False
        assert tracker.get("artos:abc") is None


def test_deadline_forms(tmp_path: pathlib.Path) -> None:
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    with _tracker(tmp_path, Jobs()) as tracker:
        when = datetime.now(UTC) + timedelta(hours=2)
        assert tracker.add("artos:d1", deadline=when).deadline == pytest.approx(when.timestamp())
        with pytest.raises(ValueError, match="aware"):
            tracker.add("artos:d2", deadline=datetime(2030, 1, 1))  # noqa: DTZ001
        for bad in (0, -1, math.inf, math.nan, True):
            with pytest.raises(ValueError, match="deadline"):
                tracker.add("artos:d3", deadline=bad)
        with pytest.raises(TypeError, match="JSON"):
            tracker.add("artos:d4", meta={"x": object()})


def test_run_polls_to_the_end_and_delivers_each_once(tmp_path: pathlib.Path) -> None:
    jobs = Jobs(end={"artos:f": State.FAILED})
    seen: list[Completion] = []
    with _tracker(tmp_path, jobs, on_done=seen.append) as tracker:
        tracker.add_many(["artos:a", "artos:f", "neurolinker:n"])
        done = tracker.run()
        assert sorted(c.ref for c in done) == ["artos:a", "artos:f", "neurolinker:n"]
        assert seen == done
        assert {c.ref: c.state for c in done}["artos:f"] == "failed"
        assert {c.key for c in done} == {j.key for j in tracker.list()}
        assert all(j.done and j.polls == 3 for j in tracker.list())
        assert list(tracker.completions()) == []  # all delivered
        assert tracker.run() == []  # nothing left: returns at once


def test_the_waiting_state_is_persisted_after_every_poll(tmp_path: pathlib.Path) -> None:
    jobs = Jobs(polls_to_end=1000)
    states: list[int] = []

    async def main(tracker: Tracker) -> None:
        stop = asyncio.Event()

        def changed(status: JobStatus) -> None:
            job = tracker.get("artos:p")
            assert job is not None
            states.append(job.polls)
            if len(states) >= 3:
                stop.set()

        await tracker.run_async(stop=stop, on_change=changed)

    with _tracker(tmp_path, jobs) as tracker:
        tracker.add("artos:p")
        asyncio.run(main(tracker))
        job = tracker.get("artos:p")
        assert job is not None
        assert states[:3] == [1, 2, 3]  # each poll written before its change is reported
        assert states == list(range(1, len(states) + 1))
        assert job.wait is not None
        assert job.wait.polls == job.polls == jobs.polls["artos:p"]
        assert job.state == "running"
        assert job.owner is None  # the lease is given back on stop


def test_a_callback_that_raises_stops_the_run_and_the_completion_comes_again(tmp_path: pathlib.Path) -> None:
    calls: list[str] = []

    def flaky(completion: Completion) -> None:
        calls.append(completion.key)
        if len(calls) == 1:
            raise RuntimeError("callback down")

    with _tracker(tmp_path, Jobs(polls_to_end=1), on_done=flaky) as tracker:
        tracker.add("artos:c")
        with pytest.raises(RuntimeError, match="callback down"):
            tracker.run()
        job = tracker.get("artos:c")
        assert job is not None
        assert job.done  # ended once; only its delivery is pending
        assert tracker.run() == []  # delivers the pending completion first
        assert calls == [job.key, job.key]
        assert list(tracker.completions()) == []


def test_completions_iterator_marks_delivered_only_after_the_body_returned(tmp_path: pathlib.Path) -> None:
    with _tracker(tmp_path, Jobs(polls_to_end=1)) as tracker:
        tracker.add_many(["artos:i1", "artos:i2"])
        tracker.run()
        for completion in tracker.completions():
            first = completion
            break  # left early: not delivered
        again = list(tracker.completions())
        assert again[0].key == first.key
        assert again[0] == first  # same key, same outcome
        assert len(again) == 2
        assert list(tracker.completions()) == []


def test_a_run_that_lost_its_lease_writes_nothing(tmp_path: pathlib.Path) -> None:
    jobs = Jobs(polls_to_end=2)

    async def main(tracker: Tracker) -> list[Completion]:
        def steal(_status: JobStatus) -> None:  # another run takes the job mid-flight
            tracker.store.conn.execute("UPDATE jobs SET owner = 'elsewhere:1:x', lease_until = ?", (time.time() + 60,))

        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(1.0, stop.set)
        return await tracker.run_async(stop=stop, on_change=steal)

    with _tracker(tmp_path, jobs) as tracker:
        tracker.add("artos:l")
        assert asyncio.run(main(tracker)) == []
        job = tracker.get("artos:l")
        assert job is not None
        assert not job.done
        assert job.polls == 1  # the poll after the theft (which ended the job) was not written
        assert jobs.polls["artos:l"] == 2  # and the job was not polled again by this run
        assert tracker.store.query("SELECT count(*) FROM outbox")[0][0] == 0


def test_two_runs_in_one_process_never_hold_one_job(tmp_path: pathlib.Path) -> None:
    inflight: dict[str, int] = {}
    overlaps: list[str] = []
    polls: dict[str, int] = {}

    async def poll(ref: JobRef, timeout: float) -> JobStatus:
        key = str(ref)
        inflight[key] = inflight.get(key, 0) + 1
        if inflight[key] > 1:
            overlaps.append(key)
        await asyncio.sleep(0.01)
        inflight[key] -= 1
        n = polls[key] = polls.get(key, 0) + 1
        return _status(ref, State.SUCCEEDED if n >= 3 else State.RUNNING)

    async def main() -> list[list[Completion]]:
        a = Tracker(tmp_path / "t.db", poll=poll, policy=FAST, spread=0.05, capacity=25, host_rate=None)
        b = Tracker(tmp_path / "t.db", poll=poll, policy=FAST, spread=0.05, capacity=25, host_rate=None)
        a.add_many([f"artos:j{i}" for i in range(60)])
        return list(await asyncio.gather(a.run_async(), b.run_async()))

    done_a, done_b = asyncio.run(main())
    assert not overlaps
    keys = [c.key for c in done_a + done_b]
    assert len(keys) == len(set(keys)) == 60  # each ended once, by one of them
    assert done_a  # both took part (capacity 25 each)
    assert done_b


def test_the_deadline_is_wall_clock_and_a_late_run_does_not_extend_it(tmp_path: pathlib.Path) -> None:
    jobs = Jobs(polls_to_end=10_000)
    with _tracker(tmp_path, jobs) as tracker:
        tracker.add("artos:late", deadline=0.3)
        time.sleep(0.4)  # nobody ran before the deadline
        started = time.monotonic()
        (completion,) = tracker.run()
        assert time.monotonic() - started < 2.0
        assert completion.state == "timed_out"
        assert completion.error == "WaitTimeout"
        assert jobs.polls["artos:late"] == 1  # one last poll, then the end


# --- the database file


def test_a_newer_schema_is_refused_and_left_as_it_is(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "t.db"
    Tracker(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    before = path.read_bytes()
    with pytest.raises(TrackerError, match="newer docstatus") as caught:
        Tracker(path)
    assert caught.value.reason == "newer"
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"this is not a database at all" * 100, "corrupt"), (None, "corrupt")],
    ids=["garbage", "foreign-tables"],
)
def test_a_file_that_is_not_ours_is_refused(tmp_path: pathlib.Path, content: bytes | None, reason: str) -> None:
    path = tmp_path / "t.db"
    if content is None:
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE mine (x)")
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    with pytest.raises(TrackerError) as caught:
        Tracker(path)
    assert caught.value.reason == reason
    assert path.read_bytes() == before


# A read-only database and a full disk: tests/hostile/test_tracker_disk.py (real child processes).


def test_a_locked_database_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "t.db"
    Tracker(path).close()
    from docstatus._tracking._store import Store  # noqa: PLC0415

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = Store.open(str(path), busy_timeout=0.2)
        with pytest.raises(TrackerError) as caught:
            store.insert_many([])
        assert caught.value.reason == "locked"
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_public_names() -> None:
    for name in ("Tracker", "TrackerError", "TrackedJob", "Completion", "WaitState"):
        assert name in docstatus.__all__
    assert issubclass(TrackerError, docstatus.DocstatusError)


# --- the CLI, called in this process


def test_cli_add_ls_show_forget(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.db")
    assert track_main(["track", "add", "--db", db, "artos:x1", "artos:x2", "--meta", "k=v", "--deadline", "2h"]) == 0
    assert "2 added, 0 already tracked" in capsys.readouterr().err
    assert track_main(["track", "add", "--db", db, "artos:x1", "bogus:1"]) == 2
    assert "bogus:1" in capsys.readouterr().err
    assert track_main(["track", "ls", "--db", db, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["ref"] for r in rows] == ["artos:x1", "artos:x2"]
    assert rows[0]["meta"] == {"k": "v"}
    assert rows[0]["deadline"] - rows[0]["added"] == pytest.approx(7200)
    assert track_main(["track", "ls", "--db", db, "--state", "nonsense"]) == 2
    capsys.readouterr()
    assert track_main(["track", "show", "--db", db, "artos:x2"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "new"
    assert track_main(["track", "forget", "--db", db, "artos:x2", "artos:nothere"]) == 4
    assert track_main(["track", "show", "--db", db, "artos:x2"]) == 4


def test_cli_database_errors_exit_2(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 1000)
    assert track_main(["track", "ls", "--db", str(bad)]) == 2
    assert "not a docstatus tracking database" in capsys.readouterr().err


def test_cli_db_from_the_environment(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "env.db"
    monkeypatch.setenv("DOCSTATUS_TRACK_DB", str(db))
    assert track_main(["track", "add", "artos:e1"]) == 0
    assert db.exists()


# --- stored values read as untrusted, leases fenced


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"key": 5}, "key"),
        ({"ref": ""}, "ref"),
        ({"state": None}, "state"),
        ({"status": {"provider": "nobody"}}, "status"),
        ({"message": ["x"]}, "message"),
        ({"meta": [1]}, "meta"),
        ({"finished": "today"}, "finished"),
        ({"finished": math.inf}, "finished"),
    ],
)
def test_completion_from_dict_names_the_malformed_field(change: dict[str, Any], field: str) -> None:
    good = Completion(key="dst_1", ref="artos:a", name="artos:a", state="failed", message="m", meta={"k": "v"})
    assert Completion.from_dict(json.loads(json.dumps(good.to_dict()))) == good
    with pytest.raises(ValueError, match=f"Completion.{field}"):
        Completion.from_dict({**good.to_dict(), **change})
    with pytest.raises(ValueError, match="JSON object"):
        Completion.from_dict([good.to_dict()])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "row",
    [
        {"ref": 5, "name": None, "key": b"\xff", "state": 3.5, "meta": None, "added": "x", "deadline": None},
        {"meta": "[" * 5000, "wait": "{", "outcome": "null", "polls": True, "next_due": math.nan},
        {"wait": '{"v": 1}', "last": "[]", "outcome": '{"key": "k"}', "status": "done", "owner": 7},
        {"ref": "sarvam:898DFAD4-1234-4ABC-8DEF-0123456789AB", "meta": '{"a": "\\ud800"}'},
    ],
)
def test_read_job_never_raises_and_names_what_it_could_not_read(row: dict[str, Any]) -> None:
    from docstatus._tracking._tracker import read_job  # noqa: PLC0415

    base = {
        "ref": "artos:a",
        "name": "artos:a",
        "key": "dst_1",
        "state": "new",
        "status": "active",
        "meta": "{}",
        "added": 1.0,
        "deadline": 2.0,
        "next_due": 1.0,
        "polls": 0,
        "wait": None,
        "last": None,
        "outcome": None,
        "owner": None,
    }
    job = read_job({**base, **row})
    assert job.damaged
    assert set(job.damaged) <= {*base, "outcome"}
    assert all(isinstance(why, str) and why for why in job.damaged.values())
    json.dumps(job.to_dict(), allow_nan=False)  # JSON: a time that cannot be read is null
    assert all(isinstance(value, str) for value in (job.ref, job.name, job.key, job.state))


def test_every_claim_bumps_the_lease_generation_and_a_stale_holder_writes_nothing(tmp_path: pathlib.Path) -> None:
    from docstatus._tracking._store import Store  # noqa: PLC0415

    with _tracker(tmp_path, Jobs()) as tracker:
        tracker.add("artos:g")
    store = Store.open(str(tmp_path / "t.db"))
    try:
        now = time.time()
        (first,) = store.claim("host:1:a", 10, now, 0.5, due_by=None)
        assert first["lease_gen"] == 1
        # The lease lapses; another run takes the job; then the first one's lease lapses again
        # and it claims the job back: each claim has its own generation.
        (second,) = store.claim("host:2:b", 10, now + 1.0, 0.5, due_by=None)
        assert second["lease_gen"] == 2
        (third,) = store.claim("host:1:a", 10, now + 2.0, 30.0, due_by=None)
        assert third["lease_gen"] == 3
        common = {
            "state": "running",
            "wait": "{}",
            "last": None,
            "side": False,
            "next_due": now,
            "polls": 1,
            "now": now,
        }
        assert not store.save("host:1:a", "artos:g", 1, **common)  # the first claim's: fenced
        assert not store.save("host:2:b", "artos:g", 2, **common)
        assert store.renew("host:1:a", [("artos:g", 1)], now + 60) == {"artos:g"}
        assert store.renew("host:1:a", [("artos:g", 3)], now + 60) == set()
        assert store.save("host:1:a", "artos:g", 3, **common)
        assert not store.finish(
            "host:1:a", "artos:g", 1, "k", state="failed", wait="{}", outcome="{}", polls=1, now=now, lease=None
        )
    finally:
        store.close()


def test_totals_count_ended_succeeded_ended_otherwise_and_active(tmp_path: pathlib.Path) -> None:
    jobs = Jobs(polls_to_end=1, end={"artos:t2": State.FAILED, "artos:t3": State.CANCELLED})
    with _tracker(tmp_path, jobs) as tracker:
        tracker.add_many(["artos:t1", "artos:t2", "artos:t3"])
        tracker.run()
        tracker.add("artos:t4")
        assert tracker.totals() == {"succeeded": 1, "not_succeeded": 2, "active": 1}
        assert tracker.counts() == {"succeeded": 1, "failed": 1, "cancelled": 1, "new": 1}
