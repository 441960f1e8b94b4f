"""The tracker keeps what it learned about how long jobs take in its SQLite file: real files on
disk, ``docstatus track`` in real processes, the simulator on 127.0.0.1.

Promises: a restarted run is warm (a ``track run`` in a new process starts from the model the
runs before it saved: it polls a new job of a learned kind where the kind ends, with fewer
requests than a cold run, and the file's model adds up both runs' samples); a damaged stored
model (not JSON, another version, wrong types, not text) is one warning line naming it, the run
goes on cold and replaces it; two runs on one file at once each add their samples, none lost
or counted twice; a model of the caller's own is used as given (the file's neither read into
it nor written from it), and ``durations=None`` writes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from docstatus import Durations, JobStatus, State, Tracker, WaitPolicy
from docstatus import simulator as sim_module
from docstatus._waiting._durations import WARM

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from docstatus._refs import JobRef

KIND = "neurolinker/pages=8-11"  # the simulator's neurolinker jobs report 8 pages, no progress
#: The seconds each phase of a simulated job lasts: pending, processing, completed at 2 * STEP.
STEP = 4.0


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with sim_module.Simulator() as server:
        yield server


def _track(sim: Any, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **sim.env()}
    return subprocess.run(
        [sys.executable, "-m", "docstatus._cli", "track", *args, "--db", str(db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _stored(db: Path) -> str | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT value FROM learned WHERE name = 'durations'").fetchone()
    return None if row is None else str(row[0])


def _stored_samples(db: Path, kind: str = KIND) -> int:
    raw = _stored(db)
    if raw is None:
        return 0
    entry = json.loads(raw)["kinds"].get(kind)
    return 0 if entry is None else int(entry["samples"])


def _requests(sim: Any, refs: list[str]) -> dict[str, list[float]]:
    """The times (epoch seconds) of each job's status requests, oldest first."""
    ids = {ref.split(":", 1)[1]: ref for ref in refs}
    times: dict[str, list[float]] = {ref: [] for ref in refs}
    for q in sim.requests:
        if q.provider == "neurolinker" and q.job_id in ids:
            times[ids[q.job_id]].append(q.at.timestamp())
    return times


def _run(sim: Any, db: Path, n: int) -> tuple[list[str], dict[str, list[float]], float]:
    """``n`` jobs of ``KIND``, added and run to their end by ``track`` in new processes; their
    refs, their requests' times, and when they were made (epoch seconds)."""
    made = time.time()
    refs = [sim.create_job("neurolinker", "happy_path", step=STEP) for _ in range(n)]
    added = _track(sim, db, "add", *refs)
    assert added.returncode == 0, added.stderr
    ran = _track(sim, db, "run")
    assert ran.returncode == 0, ran.stderr
    assert "durations" not in ran.stderr, ran.stderr  # nothing damaged, no save failed
    return refs, _requests(sim, refs), made


def test_a_restarted_track_run_starts_warm_from_the_duration_model_in_its_file(tmp_path: Path, sim: Any) -> None:
    db = tmp_path / "t.db"
    cold_refs, cold, _ = _run(sim, db, 16)  # a first run: no model yet, the backoff's schedule
    learned = _stored_samples(db)
    assert learned >= WARM, f"the first run saved {learned} samples of {KIND}"  # its jobs taught the file
    model = Durations.from_dict(json.loads(_stored(db) or "{}"))
    median = model.quantile(KIND, 0.5)
    assert median is not None
    assert STEP < median < 2 * STEP + 3.0, median  # each job ends 2 * STEP after it is made
    warm_refs, warm, made = _run(sim, db, 4)  # a new process, which never saw a job of the kind end
    cold_counts = [len(cold[r]) for r in cold_refs]
    warm_counts = [len(warm[r]) for r in warm_refs]
    second = [times[1] - made for times in warm.values() if len(times) > 1]
    gaps = [times[1] - times[0] for times in cold.values() if len(times) > 1]
    print(f"median {median:.2f} s; requests per job: cold {cold_counts}, warm {warm_counts}")
    print(f"cold: first to second poll {[round(g, 2) for g in gaps]}; warm: second poll {second} s after made")
    # The warm run polled its jobs by the file's model: its second poll (the first the model
    # places: a job's kind is known from its first status) aimed where the kind ends, not after
    # the backoff's first delay (WaitPolicy.initial_delay, 1 s, + a tenth of the time waited: the
    # cold run's came 0.9-1.6 s after its first here), and no more requests than the cold run,
    # which waits exactly as without a model (its jobs start together: tests/test_durations_burst.py).
    # A loaded machine only makes the second poll later.
    assert statistics.mean(warm_counts) <= statistics.mean(cold_counts), (cold_counts, warm_counts)
    assert len(second) == len(warm_refs), warm
    assert min(second) >= 0.6 * median, (second, median)
    # the file's model adds up both runs' samples (the second run's own, from its 4 jobs)
    assert learned + 1 <= _stored_samples(db) <= learned + 4


# --- a damaged stored model

DAMAGED = {
    "not-json": "{not json",
    "another-version": json.dumps({"v": 99, "bins": {}, "kinds": {}}),
    "wrong-types": json.dumps(
        {"v": 1, "bins": {"low": 0.125, "per_octave": 8, "octaves": 22}, "kinds": {KIND: {"samples": "many"}}}
    ),
    "a-list": "[1, 2, 3]",
}


def _quick_poll(seen: dict[str, int], answer: float = 0.0) -> Any:
    """Jobs running at their first poll, ended at the next: each teaches one sample. Each
    answer takes ``answer`` seconds."""

    async def poll(ref: JobRef, timeout: float) -> JobStatus:
        await asyncio.sleep(answer)
        n = seen[str(ref)] = seen.get(str(ref), 0) + 1
        state = State.RUNNING if n == 1 else State.SUCCEEDED
        return JobStatus(provider="artos", job_id=ref.job_id, state=state, provider_state=state.value)

    return poll


QUICK = {"initial_delay": 0.05, "min_delay": 0.02, "timeout": 60}


@pytest.mark.parametrize("damage", [*DAMAGED, "a-blob"])
def test_a_damaged_stored_model_is_one_warning_and_the_run_goes_on_cold_and_replaces_it(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "t.db"
    Tracker(db).close()  # the file, schema 4
    value: Any = b"\x00\xff" if damage == "a-blob" else DAMAGED[damage]
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO learned (name, value, updated) VALUES ('durations', ?, 0)", (value,))
    seen: dict[str, int] = {}
    with (
        caplog.at_level(logging.WARNING, logger="docstatus"),
        Tracker(db, poll=_quick_poll(seen), policy=WaitPolicy(**QUICK), spread=0.0) as tracker,
    ):
        tracker.add_many([f"artos:j{i}" for i in range(5)])
        done = tracker.run()
        assert len(done) == 5
        assert tracker.durations is not None
        assert tracker.durations.samples("artos") > 0
    lines = [r.getMessage() for r in caplog.records if "durations" in r.getMessage()]
    assert len(lines) == 1, lines
    assert str(db) in lines[0]
    assert "learned" in lines[0]
    stored = json.loads(_stored(db) or "{}")
    assert Durations.from_dict(stored).kinds == ("artos",)  # replaced: this run's samples only
    assert stored["kinds"]["artos"]["samples"] == 5


def test_a_damaged_stored_model_does_not_stop_track_run(tmp_path: Path, sim: Any) -> None:
    db = tmp_path / "t.db"
    refs = [sim.create_job("neurolinker", "happy_path", step=0.3) for _ in range(3)]
    assert _track(sim, db, "add", *refs).returncode == 0
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO learned (name, value, updated) VALUES ('durations', '{not json', 0)")
    ran = _track(sim, db, "run")
    assert ran.returncode == 0, ran.stderr
    lines = [line for line in ran.stderr.splitlines() if "durations" in line]
    assert len(lines) == 1, ran.stderr
    assert "cannot be read" in lines[0]
    assert Durations.from_dict(json.loads(_stored(db) or "{}"))  # readable again


# --- several runs on one file


def test_two_trackers_on_one_file_each_add_their_samples_and_none_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "t.db"
    recorded: dict[int, int] = {}  # samples each model learned, by model (counted, not changed)
    learn = Durations._add  # where every sample goes in

    def counting(self: Durations, key: tuple[str, int], seconds: float) -> None:
        recorded[id(self)] = recorded.get(id(self), 0) + 1
        learn(self, key, seconds)

    monkeypatch.setattr(Durations, "_add", counting)
    refs = [f"artos:j{i}" for i in range(120)]
    with Tracker(db) as tracker:
        tracker.add_many(refs)
    seen: dict[str, int] = {}
    # each run holds 8 jobs at most: both take jobs as the other ends them
    policy = WaitPolicy(**QUICK)
    trackers = [Tracker(db, poll=_quick_poll(seen, 0.01), policy=policy, spread=0.0, capacity=8) for _ in range(2)]
    done: list[list[Any]] = [[], []]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            done[i] = trackers[i].run()
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for tracker in trackers:
        tracker.close()
    assert not errors, errors
    assert sorted(c.ref for c in done[0] + done[1]) == sorted(refs)  # each job ended once
    assert done[0], [len(d) for d in done]  # both runs ended jobs
    assert done[1], [len(d) for d in done]
    assert set(seen.values()) == {2}  # each job running at its first poll, ended at its second
    mine = [recorded.get(id(t.durations), 0) for t in trackers]
    # Each ended job taught its run one sample, unless its end was seen too long after the poll
    # before (more than 2 s: a job given back and taken again on a loaded machine).
    assert all(mine), mine
    assert sum(mine) >= 0.8 * len(refs), mine
    assert _stored_samples(db, "artos") == sum(mine)  # every run's samples, each once


# --- the caller's own model, or none


def _seed(db: Path, samples: int) -> str:
    Tracker(db).close()
    seed = Durations()
    for _ in range(samples):
        seed.record("artos", 30.0)
    value = json.dumps(seed.to_dict())
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO learned (name, value, updated) VALUES ('durations', ?, 0)", (value,))
    return value


def test_a_model_of_the_callers_own_is_used_as_given_and_the_files_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    value = _seed(db, 20)
    mine = Durations()
    seen: dict[str, int] = {}
    with Tracker(db, poll=_quick_poll(seen), policy=WaitPolicy(durations=mine, **QUICK), spread=0.0) as tracker:
        tracker.add_many([f"artos:j{i}" for i in range(5)])
        assert len(tracker.run()) == 5
        assert tracker.durations is mine
    assert mine.samples("artos") == pytest.approx(5, rel=0.1)  # this run's, not the file's 20
    assert mine.quantile("artos", 0.5) is not None
    assert (mine.quantile("artos", 0.5) or 99) < 5  # not the file's 30 s jobs
    assert _stored(db) == value  # not written


def test_no_model_writes_nothing_to_the_file(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    seen: dict[str, int] = {}
    with Tracker(db, poll=_quick_poll(seen), policy=WaitPolicy(durations=None, **QUICK), spread=0.0) as tracker:
        tracker.add_many([f"artos:j{i}" for i in range(5)])
        assert len(tracker.run()) == 5
        assert tracker.durations is None
    assert _stored(db) is None
