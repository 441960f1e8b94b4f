"""Two ways a tracker run saves work, against what it promises.

Group commit against ``kill -9``: a run queues each poll's waiting state and commits a group of
them at once (one transaction per loop turn, not one per poll). The promise at that boundary:
every poll's state is committed before the next poll of that job is made from it. So a ``kill
-9`` at any moment costs each job at most its one last poll (in flight, or answered but not
committed yet), and a restart goes on from the last state committed, never from an older one
and never counting a poll twice. The jobs poll again every few milliseconds (``Retry-After:
0``, ``min_delay`` 2 ms): faster than a group is committed, so a run that made a job's next
poll before its last one was committed would show it at once.

Parked jobs: a run that gives a job back to make room keeps it as it was held, and takes it
again without decoding its row only when nobody claimed it meanwhile; a job another run polled
in between is taken from its row.

Real ``Tracker`` processes (``test_tracker_scale.RUN``), a real SQLite file, a real HTTP server
on 127.0.0.1 counting every request per job, real SIGKILLs.
"""

from __future__ import annotations

import contextlib
import itertools
import signal
import sqlite3
import sys
import time
from typing import TYPE_CHECKING

import pytest
from test_tracker_scale import OTHER, TOKEN, Stub, _add, _run

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")

JOBS = 6
KILLS = 4
#: Polls by the server between two kills (each run polls at least this many times first).
POLLS_PER_RUN = 600
#: Every job polls again as soon as it may: the server says 0 s, the policy allows 2 ms.
FAST = {"initial_delay": 0.002, "min_delay": 0.002, "max_delay": 0.01, "jitter": 0.0, "timeout": 3600.0}


def _saved_polls(db: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(str(db))) as conn:
        return {ref.removeprefix("artos:"): polls for ref, polls in conn.execute("SELECT ref, polls FROM jobs")}


def _wait_for_requests(stub: Stub, count: int, limit: float = 120.0) -> None:
    start = time.monotonic()
    while len(stub.requests) < count and time.monotonic() - start < limit:
        time.sleep(0.01)


def test_kill_9_between_group_commits_loses_at_most_each_jobs_last_poll_and_replays_none(tmp_path: Path) -> None:
    """``KILLS`` SIGKILLs, each after ``POLLS_PER_RUN`` polls of a run: after each, every job's
    committed poll count is at most one behind what the server answered since the last kill
    (its last poll, in flight or not committed yet), never ahead of it, and never lower than
    it was (a restart goes on from the last state committed). Then the jobs end and a last run
    ends each of them once."""
    ended = {"now": False}

    def answer(job: str) -> tuple[str, float | None]:
        return ("Ready", None) if ended["now"] else ("Ingesting", 0.0)

    jobs = [f"g{i}" for i in range(JOBS)]
    db = tmp_path / "group.db"
    options = {"policy": FAST, "concurrency": JOBS, "host_concurrency": JOBS, "host_rate": None, "spread": 0.0}
    with Stub(answer) as stub:
        _add(stub, db, [f"artos:{job}" for job in jobs])
        saved = dict.fromkeys(jobs, 0)
        lag = dict.fromkeys(jobs, 0)  # polls the server answered that no committed state counts
        for kill in range(KILLS):
            proc = _run(stub, db, **options)
            try:
                _wait_for_requests(stub, (kill + 1) * POLLS_PER_RUN)
                assert proc.poll() is None, "the run stopped by itself"
                proc.send_signal(signal.SIGKILL)
                assert proc.wait(timeout=30) == -signal.SIGKILL
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=30)
            served = stub.counts()
            now = _saved_polls(db)
            for job in jobs:
                assert now[job] >= saved[job], (job, "went back to an older state", now[job], saved[job])
                behind = served.get(job, 0) - now[job]
                assert lag[job] <= behind <= lag[job] + 1, (
                    f"kill {kill + 1}: job {job} has {now[job]} polls committed and the server answered "
                    f"{served.get(job, 0)}; {lag[job]} were lost by the kills before, so at most one more "
                    "may be (a poll was made from a state not committed)"
                )
                saved[job], lag[job] = now[job], behind
        assert sum(saved.values()) >= KILLS * POLLS_PER_RUN // 2  # the runs did poll
        ended["now"] = True
        proc = _run(stub, db, **options)
        try:
            assert proc.wait(timeout=120) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    with contextlib.closing(sqlite3.connect(str(db))) as conn:
        rows = conn.execute("SELECT status, state FROM jobs").fetchall()
        outbox = conn.execute("SELECT count(*), count(DISTINCT ref) FROM outbox").fetchone()
    assert rows == [("done", "succeeded")] * JOBS
    assert tuple(outbox) == (JOBS, JOBS)  # each ended once


def test_a_job_given_back_and_polled_by_another_run_is_taken_again_from_its_row_not_from_memory(
    tmp_path: Path,
) -> None:
    """Two runs holding 40 jobs each over 100 jobs due at once, each job answering ``Retry-After:
    2`` three times, then ended: the runs give jobs back to make room all the time and take
    each other's. A run that took a job again from what it kept in memory, after the other run
    had polled it meanwhile, would poll it from a stale state: too soon, or once too often.
    Every job is polled exactly 4 times, each poll at least the hint after the one before, and
    its row counts the 4 polls."""
    counts: dict[str, int] = {}

    def answer(job: str) -> tuple[str, float | None]:
        counts[job] = counts.get(job, 0) + 1
        return ("Ingesting", 2.0) if counts[job] <= 3 else ("Ready", None)

    refs = [f"artos:back-{i:03d}" for i in range(100)]
    db = tmp_path / "shared.db"
    policy = {"initial_delay": 0.5, "min_delay": 0.5, "max_delay": 5.0, "jitter": 0.0, "timeout": 3600.0}
    options = {"policy": policy, "capacity": 40, "host_rate": None, "spread": 0.0, "refresh": 0.2}
    with Stub(answer) as stub:
        _add(stub, db, refs)
        a = _run(stub, db, TOKEN, **options)
        b = _run(stub, db, OTHER, **options)
        try:
            assert a.wait(timeout=300) == 0
            assert b.wait(timeout=300) == 0
        finally:
            for proc in (a, b):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=30)
        requests = list(stub.requests)
    times: dict[str, list[tuple[float, str]]] = {}
    for job, at, token in requests:
        times.setdefault(job, []).append((at, token))
    assert len(times) == len(refs)
    both = sum(1 for polls in times.values() if len({token for _, token in polls}) == 2)
    print(f"{both} of {len(refs)} jobs polled by both runs")
    assert both > 0  # the runs did take each other's jobs
    for job, polls in times.items():
        assert len(polls) == 4, (job, polls)
        gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(polls)]
        assert min(gaps) >= 1.9, (job, gaps)  # each from the state the poll before left
    with contextlib.closing(sqlite3.connect(str(db))) as conn:
        rows = conn.execute("SELECT status, polls FROM jobs").fetchall()
    assert rows == [("done", 4)] * len(refs)
