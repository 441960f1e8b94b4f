"""A ``track run`` paused past its lease, and a callback that blocks past it: two real runs share
one database and poll a real server on 127.0.0.1 (raw sockets), which tells them apart by their
tokens and counts every request each sends for each job.

Promises checked (the README's "two runs never poll one job at once"):

- a run stopped with SIGSTOP for longer than its lease, while the other run takes its jobs over,
  sends not a single poll after SIGCONT on a job the other run holds (before each poll it
  checks its lease, renewing first when the wall clock says it may have lapsed);
- a run whose ``on_done`` callback blocks the event loop for longer than the lease keeps its
  leases and its delivery claim (a heartbeat thread renews them): a run started meanwhile takes
  none of its jobs and does not deliver that completion too, and the run goes on polling once
  the callback returns;
- no job is ever polled by both runs at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import attrs
import pytest
from _rawserver import Conn, RawServer, answer

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs SIGSTOP (POSIX)")

TOKENS = {"tok-PAUSE-run-a-4d5e6f": "A", "tok-PAUSE-run-b-7a8b9c": "B"}
LEASE = 5.0


@attrs.define
class Seen:
    """One request: which run sent it, for which job, when it came and when it was answered."""

    who: str
    job: str
    came: float
    left: float = 0.0


@attrs.define(eq=False)
class Jobs:
    """Artos statuses: every job ``Pending``, but ``trigger`` ``Ready`` once ``release`` is set."""

    requests: list[Seen] = attrs.Factory(list)
    inflight: dict[str, int] = attrs.Factory(dict)
    overlaps: list[str] = attrs.Factory(list)
    lock: threading.Lock = attrs.Factory(threading.Lock)
    release: threading.Event = attrs.Factory(threading.Event)

    def __call__(self, conn: Conn) -> None:
        job = conn.request.path.rstrip("/").rsplit("/", 1)[-1]
        token = conn.request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        seen = Seen(who=TOKENS.get(token, "?"), job=job, came=time.time())
        with self.lock:
            self.requests.append(seen)
            self.inflight[job] = self.inflight.get(job, 0) + 1
            if self.inflight[job] > 1:
                self.overlaps.append(job)
        try:
            conn.pause(0.02)
            ready = job == "trigger" and self.release.is_set()
            body = {"task_id": job, "status": "Ready" if ready else "Pending", "progress": None, "error": None}
            answer(200, body)(conn)
        finally:
            with self.lock:
                self.inflight[job] -= 1
            seen.left = time.time()

    def polled(self, who: str, since: float = 0.0) -> dict[str, int]:
        with self.lock:
            out: dict[str, int] = {}
            for seen in self.requests:
                if seen.who == who and seen.came >= since:
                    out[seen.job] = out.get(seen.job, 0) + 1
            return out


def _env(server: RawServer, db: Path, token: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    return {
        **clean,
        "DOCSTATUS_ARTOS_BASE_URL": server.url,
        "DOCSTATUS_ARTOS_TOKEN": token,
        "DOCSTATUS_TRACK_DB": str(db),
        "PYTHONUNBUFFERED": "1",
    }


def _track(*args: str) -> list[str]:
    return [sys.executable, "-m", "docstatus._cli", "track", *args]


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def _stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGCONT)
            proc.send_signal(signal.SIGKILL)
    for proc in procs:
        proc.wait(timeout=30)


def _first_polls(jobs: Jobs, who: str) -> dict[str, float]:
    first: dict[str, float] = {}
    for seen in jobs.requests:
        if seen.who == who and seen.job not in first:
            first[seen.job] = seen.came
    return first


def _polls_after_the_other_took_over(jobs: Jobs) -> list[Seen]:
    """A's requests on a job after B's first request on it."""
    taken = _first_polls(jobs, "B")
    return [s for s in jobs.requests if s.who == "A" and s.job in taken and s.came >= taken[s.job]]


def test_a_run_paused_past_its_lease_polls_nothing_it_lost(tmp_path: Path) -> None:
    names = [f"p-{i:02d}" for i in range(40)]
    jobs = Jobs()
    db = tmp_path / "t.db"
    run = ("run", "--json", "--lease", str(LEASE), "--host-rate", "1000", "--concurrency", "64")
    token_a, token_b = list(TOKENS)
    with RawServer(jobs, limit=600) as server:
        added = subprocess.run(
            _track("add", *(f"artos:{n}" for n in names)), check=False, env=_env(server, db, token_a)
        )
        assert added.returncode == 0
        a = subprocess.Popen(_track(*run), env=_env(server, db, token_a), stdout=subprocess.DEVNULL)
        b = None
        try:
            _until(lambda: set(jobs.polled("A")) == set(names), 60, "run A polls every job")
            b = subprocess.Popen(_track(*run), env=_env(server, db, token_b), stdout=subprocess.DEVNULL)
            time.sleep(2 * LEASE)
            assert jobs.polled("B") == {}  # A holds them all, and renews its leases
            a.send_signal(signal.SIGSTOP)
            stopped = time.time()
            _until(lambda: set(jobs.polled("B", since=stopped)) == set(names), 60, "run B takes every job over")
            a.send_signal(signal.SIGCONT)
            woke = time.time()
            time.sleep(3 * LEASE)  # A's polls were all due long ago: it would send them at once
            assert a.poll() is None  # A runs on (it has nothing to poll)
        finally:
            _stop(a, *([b] if b is not None else []))
    after = jobs.polled("A", since=woke)
    late = _polls_after_the_other_took_over(jobs)
    print(
        f"A's polls after SIGCONT: {sum(after.values())}; B's in the same time: "
        f"{sum(jobs.polled('B', since=woke).values())}; A's polls on jobs B had taken: {len(late)}"
    )
    assert after == {}
    assert late == []  # (a request A had sent before it stopped came before B took the job)
    assert jobs.overlaps == []


_BLOCKING_RUN = """
import sys, time
import docstatus

marks = sys.argv[2]

def on_done(completion):
    with open(marks, "a") as out:
        out.write("blocked %r\\n" % time.time())
    time.sleep(float(sys.argv[3]))  # the event loop is blocked all this time
    with open(marks, "a") as out:
        out.write("returned %r\\n" % time.time())

tracker = docstatus.Tracker(sys.argv[1], on_done=on_done, lease=float(sys.argv[4]), host_rate=None, concurrency=64)
tracker.run()
"""


def test_a_callback_that_blocks_past_the_lease_keeps_the_runs_leases(tmp_path: Path) -> None:
    names = ["trigger", *(f"b-{i:02d}" for i in range(30))]
    jobs = Jobs()
    db, marks, b_out = tmp_path / "t.db", tmp_path / "marks.txt", tmp_path / "b.out"
    lease, block = 5.0, 15.0
    token_a, token_b = list(TOKENS)
    with RawServer(jobs, limit=600) as server:
        refs = [f"artos:{n}" for n in names]
        added = subprocess.run(_track("add", *refs), check=False, env=_env(server, db, token_a))
        assert added.returncode == 0
        argv = [sys.executable, "-c", _BLOCKING_RUN, str(db), str(marks), str(block), str(lease)]
        a = subprocess.Popen(argv, env=_env(server, db, token_a), stdout=subprocess.DEVNULL)
        b = None
        try:
            _until(lambda: set(jobs.polled("A")) == set(names), 60, "run A polls every job")
            jobs.release.set()  # the trigger ends at A's next poll of it: A's callback blocks
            _until(lambda: marks.exists() and "blocked" in marks.read_text(), 60, "A's callback starts")
            time.sleep(1.5 * lease)  # A's leases and its delivery claim would have lapsed by now
            run_b = ("run", "--json", "--lease", str(lease), "--host-rate", "1000", "--concurrency", "64")
            with b_out.open("wb") as out:
                b = subprocess.Popen(_track(*run_b), env=_env(server, db, token_b), stdout=out)
            _until(lambda: "returned" in marks.read_text(), block + 60, "A's callback returns")
            returned = float(marks.read_text().split("returned ")[1].split()[0])
            time.sleep(2 * lease)
        finally:
            _stop(a, *([b] if b is not None else []))
    taken = jobs.polled("B")
    late = _polls_after_the_other_took_over(jobs)
    print(
        f"B's polls on A's jobs while A's callback blocked {block:g} s: {sum(taken.values())}; "
        f"A's after: {len(late)}; completions B delivered: {len(b_out.read_bytes().splitlines())}"
    )
    assert late == []  # A never polled a job B had taken
    assert taken == {}  # B took none: A's leases stayed alive while its callback ran
    assert b_out.read_bytes() == b""  # nor did B deliver the completion A's callback had in hand
    assert jobs.polled("A", since=returned)  # and A went on polling after it
    assert jobs.overlaps == []
