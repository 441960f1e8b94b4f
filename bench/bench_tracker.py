"""How the durable tracker (``docstatus.Tracker``) compares with ``watch_many`` in-process, as
ratios measured in one run against the simulator (absolute times on a shared machine mean little).

1. **Throughput, ended jobs.** 600 simulator jobs that have already ended (one status request
   each): ``watch_many`` over the refs against ``Tracker``: ``add_many`` into a fresh file, then
   ``run_async`` to the end (each poll persisted, each end written with its outbox row, each
   completion delivered to an ``on_done`` callback and marked delivered). Jobs per second and
   requests per job. Goal: tracker >= 0.5x watch_many's jobs per second.
2. **Short jobs, several polls each.** 300 fresh simulator jobs (``happy_path``, phases of 0.3 s:
   about a second each) under one fast ``WaitPolicy``: the same comparison, where every poll but
   the last is a ``WaitState`` written to the file. Jobs per second (bounded by the jobs' own
   lifetimes here) and requests per job.
3. **Restart with 10,000 tracked jobs.** 10,000 long-running simulator jobs added, one pass of
   ``run(once=True)`` (each polled once, its ``WaitState`` written), then the run stops; a fresh
   process opens the file and runs: the time to open it, to its first poll, and the polls made
   in the first second after it (a run takes the jobs a batch at a time, soonest due first, as
   they fall due: it never leases all of them before it polls). For reference, a fresh process
   running ``watch_many`` over the same 10,000 refs from a list: the same times.

4. **Writes per poll with large statuses.** One job whose status (its ``step`` text) is 1 kB,
   100 kB, 2 MB or 8 MiB, polled 30 times with the same status by ``Tracker.run_async`` (a poll
   function of its own: no server) in a child process that counts the bytes it writes
   (``wchar`` of ``/proc/self/io``: the database, its ``-wal``, checkpoints): the first poll
   writes the status, each later one only the small waiting state. Linux only.

5. **Many jobs in one file** (``DOCSTATUS_BENCH_JOBS``, default 1,000,000): ``track add -`` of
   that many refs (seconds, peak RSS), the file's bytes per job, then on that file (every job
   overdue, half with a saved waiting state): a restart's first poll, ``track ls --state running
   | head`` and ``track counts``. Against a stub server of its own (a process answering Artos
   statuses with ``Retry-After``, recording when each job was polled).
6. **``track run --once`` on 100,000 due jobs**: every one polled, once.
7. **One run over many jobs** (``DOCSTATUS_BENCH_RUN_JOBS``, default 100,000), mixed lengths (1,
   2 or 3 polls, ``Retry-After: 5`` between): ``Tracker.run_async`` against ``watch_many`` with
   the same budgets: polls per second, the lateness of each poll against its due time (p50, p99,
   max, measured by the server), peak RSS.

Every measurement is repeated (fresh jobs and files each time, the two sides interleaved) and
reported as min and median. The simulator runs in its own process (in a thread of this one,
client and server would take turns on the GIL and measure that).

Run: ``python bench/bench_tracker.py`` (or ``nox -s bench -- tracker``); ``--only full_run --budgets none``
runs one section with one budget (``--help``). Needs the simulator extra.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import docstatus
from docstatus import ProviderConfig, Tracker, WaitPolicy

PROVIDERS = ("aitronos", "artos", "markdown2pdf", "neurolinker", "sarvam")
ENDED_JOBS = 600
SHORT_JOBS = 300
SHORT_STEP = 0.3
RESTART_JOBS = 10_000
CONCURRENCY = 32
REPEATS = 3
#: One policy for both sides of section 2 (fast, so the jobs' lifetimes dominate).
SHORT_POLICY = WaitPolicy(initial_delay=0.2, min_delay=0.1, max_delay=1.0, timeout=60)
#: The policy of the restart section (the default's delays: a restart finds polls overdue).
RESTART_POLICY = WaitPolicy(initial_delay=1.0, min_delay=0.5, max_delay=5.0, timeout=3600)

#: The simulator, in its own process, creating jobs on request: each stdin line is
#: ``{"n": N, "script": S, "step": T}``, answered by one line with the refs. The listening socket
#: is made with ``proto=IPPROTO_TCP`` so asyncio turns Nagle's algorithm off (see bench_wait.py).
_SERVER = r"""
import json, socket, sys
from docstatus.simulator import Simulator, _server

class TcpSockets:
    def __getattr__(self, name):
        return getattr(socket, name)

    @staticmethod
    def socket(family=-1, type=-1, proto=-1, fileno=None):
        if type == socket.SOCK_STREAM and proto in (-1, 0):
            proto = socket.IPPROTO_TCP
        return socket.socket(family, type, proto, fileno)

providers = sys.argv[1].split(",")
sim = Simulator()
real, _server.socket = _server.socket, TcpSockets()
try:
    sim.start()
finally:
    _server.socket = real
urls = {p: sim.base_url(p) for p in providers}
print(json.dumps({"urls": urls, "tokens": dict(sim.tokens)}), flush=True)
for line in sys.stdin:  # until the benchmark closes stdin
    ask = json.loads(line)
    if ask.get("reset"):
        sim.reset()  # the simulator holds at most 10,000 jobs
    refs = [sim.create_job(providers[i % len(providers)], ask["script"], step=ask["step"]) for i in range(ask["n"])]
    print(json.dumps(refs), flush=True)
sim.stop()
"""


class Server:
    """The simulator process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(  # this interpreter, a fixed script
            [sys.executable, "-c", _SERVER, ",".join(PROVIDERS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        served = json.loads(self.proc.stdout.readline())
        self.urls: dict[str, str] = served["urls"]
        self.tokens: dict[str, str] = served["tokens"]

    def jobs(self, n: int, *, script: str = "happy_path", step: float, reset: bool = False) -> list[str]:
        """``n`` fresh jobs (``reset``: forget every earlier one first)."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        ask = {"n": n, "script": script, "step": step, "reset": reset}
        self.proc.stdin.write(json.dumps(ask) + "\n")
        self.proc.stdin.flush()
        refs: list[str] = json.loads(self.proc.stdout.readline())
        return refs

    def configs(self) -> list[ProviderConfig]:
        return [
            ProviderConfig(provider=p, base_url=url, token=self.tokens.get(p))  # type: ignore[arg-type]
            for p, url in self.urls.items()
        ]

    def close(self) -> None:
        self.proc.communicate(timeout=30)  # closes stdin: the simulator stops


def _client(counter: list[int]) -> Any:
    """An httpx client that counts the requests it sends."""
    import httpx  # noqa: PLC0415

    async def count(request: httpx.Request) -> None:  # noqa: ARG001
        counter[0] += 1

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    return httpx.AsyncClient(limits=limits, timeout=30.0, event_hooks={"request": [count]})


async def _watch_many(server: Server, refs: list[str], policy: WaitPolicy | None) -> tuple[float, int]:
    """Seconds to see every job end, and requests sent."""
    counter = [0]
    async with _client(counter) as client:
        start = time.perf_counter()
        ended = 0
        async for update in docstatus.watch_many(
            refs,
            policy=policy,
            config=server.configs(),
            client=client,
            concurrency=CONCURRENCY,
            host_concurrency=CONCURRENCY,
            host_rate=None,
        ):
            ended += update.done
        elapsed = time.perf_counter() - start
    assert ended == len(refs), (ended, len(refs))
    return elapsed, counter[0]


async def _tracker(server: Server, refs: list[str], policy: WaitPolicy | None, folder: Path) -> tuple[float, int]:
    """Seconds to add every job to a fresh file and run to the last delivered completion, and
    requests sent."""
    counter = [0]
    delivered: list[str] = []
    async with _client(counter) as client:
        start = time.perf_counter()
        tracker = Tracker(
            folder / "t.db",
            policy=policy,
            config=server.configs(),
            client=client,
            on_done=lambda c: delivered.append(c.key),
            concurrency=CONCURRENCY,
            host_concurrency=CONCURRENCY,
            host_rate=None,
            spread=0.0,
        )
        try:
            tracker.add_many(refs)
            done = await tracker.run_async()
            elapsed = time.perf_counter() - start
            left = tracker.counts()
        finally:
            tracker.close()
    assert len(done) == len(delivered) == len(refs), (len(done), len(delivered), len(refs))
    assert set(left) <= {"succeeded", "failed"}, left
    return elapsed, counter[0]


def _compare(server: Server, make_refs: Any, policy: WaitPolicy | None) -> dict[str, tuple[list[float], list[int]]]:
    results: dict[str, tuple[list[float], list[int]]] = {"watch_many": ([], []), "tracker": ([], [])}
    with tempfile.TemporaryDirectory(prefix="bench-tracker-") as tmp:
        for repeat in range(REPEATS):  # interleaved, so drift on the shared machine hits both
            for name in results:
                refs = make_refs()
                if name == "watch_many":
                    elapsed, requests = asyncio.run(_watch_many(server, refs, policy))
                else:
                    folder = Path(tmp) / f"{repeat}"
                    folder.mkdir()
                    elapsed, requests = asyncio.run(_tracker(server, refs, policy, folder))
                results[name][0].append(len(refs) / elapsed)
                results[name][1].append(requests)
    return results


def _table(title: str, jobs: int, results: dict[str, tuple[list[float], list[int]]], goal: bool) -> list[str]:
    base = statistics.median(results["watch_many"][0])
    out = [
        title,
        "",
        "| how | jobs/s min | jobs/s median | requests/job (median) | median / watch_many |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (rates, requests) in results.items():
        ratio = statistics.median(rates) / base
        mark = ""
        if goal and name == "tracker":
            mark = " met" if ratio >= 0.5 else " NOT met"
        label = "`watch_many`" if name == "watch_many" else "`Tracker` (add + run, every poll persisted)"
        out.append(
            f"| {label} | {min(rates):,.0f} | {statistics.median(rates):,.0f} | "
            f"{statistics.median(requests) / jobs:.2f} | **{ratio:.2f}x**{mark} |"
        )
    return out


def ended_jobs(server: Server) -> list[str]:
    def make() -> list[str]:
        refs = server.jobs(ENDED_JOBS, step=0.001)
        time.sleep(0.05)  # every phase has passed: one status request each
        return refs

    asyncio.run(_watch_many(server, make()[:100], None))  # warm up both paths
    with tempfile.TemporaryDirectory(prefix="bench-tracker-") as tmp:
        asyncio.run(_tracker(server, make()[:100], None, Path(tmp)))
    results = _compare(server, make, None)
    return [
        *_table(
            f"### Throughput: {ENDED_JOBS:,} ended simulator jobs (one GET each), concurrency {CONCURRENCY}, "
            f"{REPEATS} interleaved repeats",
            ENDED_JOBS,
            results,
            goal=True,
        ),
        "",
        "The tracker's time includes `add_many` into a fresh file, and for each job: the lease, the "
        "transaction that ends it with its outbox row, the `on_done` call and the delivery mark. "
        "Goal: >= 0.5x watch_many's jobs per second.",
    ]


def short_jobs(server: Server) -> list[str]:
    results = _compare(server, lambda: server.jobs(SHORT_JOBS, step=SHORT_STEP), SHORT_POLICY)
    return [
        *_table(
            f"### Short jobs: {SHORT_JOBS} fresh simulator jobs (`happy_path`, {SHORT_STEP} s phases), "
            f"{REPEATS} interleaved repeats",
            SHORT_JOBS,
            results,
            goal=False,
        ),
        "",
        f"One `WaitPolicy` for both (initial {SHORT_POLICY.initial_delay} s, max {SHORT_POLICY.max_delay} s): "
        "jobs per second are bounded by the jobs' own lifetimes; requests per job should match, since "
        "the tracker waits with the same `Waiter` and writes its state after each poll.",
    ]


# --- 3. restart

_RESTART_CHILD = r"""
import asyncio, json, sys, time
t_import = time.perf_counter()
import httpx
import docstatus
from docstatus import ProviderConfig, Tracker, WaitPolicy
from docstatus._tracking import _tracker as tracking

mode, db, served = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
policy = WaitPolicy(**json.loads(sys.argv[4]))
configs = [ProviderConfig(provider=p, base_url=u, token=served["tokens"].get(p)) for p, u in served["urls"].items()]
polls = []
enlisted = []

async def count(request):
    polls.append(time.perf_counter())

real_enlist = tracking._Session.enlist
def enlist(self, *args):
    real_enlist(self, *args)
    enlisted.append(time.perf_counter())
tracking._Session.enlist = enlist

async def main():
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(limits=limits, timeout=30.0, event_hooks={"request": [count]}) as client:
        stop = asyncio.Event()
        start = time.perf_counter()
        if mode == "tracker":
            tracker = Tracker(db, policy=policy, config=configs, client=client, concurrency=32, host_rate=None)
            opened = time.perf_counter()
            runner = asyncio.ensure_future(tracker.run_async(stop=stop))
        else:
            refs = json.loads(open(db).read())
            opened = time.perf_counter()

            async def drain():
                async for _ in docstatus.watch_many(refs, policy=policy, config=configs, client=client,
                                                    concurrency=32, host_rate=None):
                    if stop.is_set():
                        return
            runner = asyncio.ensure_future(drain())
        until = time.perf_counter() + 30
        while time.perf_counter() < until:
            await asyncio.sleep(0.01)
            if polls and time.perf_counter() - polls[0] >= 1.0:
                break
        stop.set()
        if mode == "tracker":
            await runner
            tracker.close()
        else:
            runner.cancel()
    first = polls[0] if polls else opened
    print(json.dumps({
        "open": opened - start,
        "enlisted": len(enlisted),
        "first_poll": polls[0] - start if polls else None,
        "polls_1s": sum(1 for p in polls if first <= p < first + 1.0),
    }))

asyncio.run(main())
"""


def _prepare(server: Server, db: Path, refs: list[str]) -> float:
    """Track ``refs`` in ``db`` and poll each once (``run(once=True)``); seconds that pass took."""

    async def once() -> float:
        counter = [0]
        async with _client(counter) as client:
            tracker = Tracker(
                db,
                policy=RESTART_POLICY,
                config=server.configs(),
                client=client,
                concurrency=CONCURRENCY,
                host_concurrency=CONCURRENCY,
                host_rate=None,
                spread=0.0,
            )
            try:
                tracker.add_many(refs)
                start = time.perf_counter()
                await tracker.run_async(once=True)
                elapsed = time.perf_counter() - start
                assert tracker.counts().get("new", 0) == 0, tracker.counts()
            finally:
                tracker.close()
        assert counter[0] == len(refs), counter
        return elapsed

    return asyncio.run(once())


def restart(server: Server) -> list[str]:
    refs = server.jobs(RESTART_JOBS, step=3600.0, reset=True)  # running for the whole bench
    served = json.dumps({"urls": server.urls, "tokens": server.tokens})
    policy = json.dumps(
        {
            "initial_delay": RESTART_POLICY.initial_delay,
            "min_delay": RESTART_POLICY.min_delay,
            "max_delay": RESTART_POLICY.max_delay,
            "timeout": RESTART_POLICY.timeout,
        }
    )
    runs: dict[str, list[dict[str, Any]]] = {"tracker": [], "watch_many": []}
    with tempfile.TemporaryDirectory(prefix="bench-tracker-") as tmp:
        db = Path(tmp) / "t.db"
        once = _prepare(server, db, refs)
        listing = Path(tmp) / "refs.json"
        listing.write_text(json.dumps(refs), "utf-8")
        time.sleep(RESTART_POLICY.max_delay)  # the "downtime": every job's next poll is overdue
        for _ in range(REPEATS):
            for mode, target in (("tracker", db), ("watch_many", listing)):
                result = subprocess.run(  # this interpreter, a fixed script
                    [sys.executable, "-c", _RESTART_CHILD, mode, str(target), served, policy, str(RESTART_JOBS)],
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=True,
                )
                data = json.loads(result.stdout.strip().splitlines()[-1])
                runs[mode].append(data)
            time.sleep(RESTART_POLICY.max_delay)  # overdue again before the next restart

    def cell(mode: str, key: str, scale: float = 1000.0, unit: str = " ms") -> str:
        values = [r[key] for r in runs[mode]]
        return f"{min(values) * scale:,.0f}{unit} / {statistics.median(values) * scale:,.0f}{unit}"

    tracker_first = statistics.median([r["first_poll"] for r in runs["tracker"]])
    wm_first = statistics.median([r["first_poll"] for r in runs["watch_many"]])
    return [
        f"### Restart: a fresh process resumes {RESTART_JOBS:,} tracked jobs (min / median of {REPEATS})",
        "",
        "| | open the file | first poll | polls in the 1st s after it |",
        "|---|---:|---:|---:|",
        f"| `Tracker.run_async` | {cell('tracker', 'open')} | "
        f"{cell('tracker', 'first_poll')} | {cell('tracker', 'polls_1s', 1.0, '')} |",
        f"| `watch_many` from a list (reference) | - | {cell('watch_many', 'first_poll')} | "
        f"{cell('watch_many', 'polls_1s', 1.0, '')} |",
        "",
        f"Tracker's first poll / watch_many's: **{tracker_first / wm_first:.2f}x** (medians). Before the "
        f"restarts, one `run(once=True)` pass polled each job once and wrote its `WaitState` ({once:.1f} s for "
        f"{RESTART_JOBS:,}, {RESTART_JOBS / once:,.0f} jobs/s); then {RESTART_POLICY.max_delay:g} s passed, so every "
        "job's next poll was overdue. Times from the moment the fresh process (imports done) opens the "
        "file; the tracker's first poll comes after its first batch is leased and restored (256 jobs: one "
        "transaction, then a `Waiter.restore` per row), and its overdue polls spread over each job's own "
        "interval (`Waiter.resume`), whereas watch_many starts every job from zero (backoff, deadline and "
        "history lost). The last column is capped by what one process polls per second on this machine "
        "for both, so it shows no burst beyond that, not the spread itself (tests/hostile/test_tracker_kill.py "
        "checks the spread).",
    ]


# --- 4. writes per poll

WRITE_SIZES = (1_000, 100_000, 2_000_000, 8 * 1024 * 1024)
WRITE_POLLS = 30

_WRITES_CHILD = r"""
import asyncio, json, os, sys, tempfile
import docstatus

size, polls = int(sys.argv[1]), int(sys.argv[2])
step = "s" * size
seen = []

def written():
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("wchar:"))

async def main():
    stop = asyncio.Event()

    async def poll(ref, timeout):
        seen.append(written())
        if len(seen) > polls:
            stop.set()
        state = docstatus.State.RUNNING
        return docstatus.JobStatus(provider="artos", job_id=ref.job_id, state=state, provider_state="Pending",
                                   progress=0.4, step=step)

    # 50 ms apart: each poll's write is committed (within GROUP_WINDOW, 10 ms) before the next poll
    policy = docstatus.WaitPolicy(initial_delay=0.05, min_delay=0.05, max_delay=0.05, jitter=0.0, lag_ratio=None,
                                  use_progress=False, timeout=3600)
    with tempfile.TemporaryDirectory() as folder:
        tracker = docstatus.Tracker(os.path.join(folder, "t.db"), poll=poll, policy=policy, spread=0.0)
        tracker.add("artos:big")
        await tracker.run_async(stop=stop)
        tracker.close()
    # seen[i]: written before poll i. A poll's save is committed a few ms after it (group commit),
    # the first one (the whole status) maybe after the next poll began: each later poll's bytes are
    # the median of the steps from the third poll on, the first poll's what the whole run wrote more.
    steps = sorted(b - a for a, b in zip(seen[2:], seen[3:]))
    later = steps[len(steps) // 2]
    print(json.dumps({"first": seen[-1] - seen[0] - later * (len(seen) - 2), "later": later}))

asyncio.run(main())
"""


def writes(server: Server) -> list[str]:  # noqa: ARG001  # a section's signature
    if not Path("/proc/self/io").exists():
        return ["### Writes per poll", "", "(skipped: needs /proc/self/io, Linux)"]
    out = [
        f"### Writes per poll: one job, the same status at each of {WRITE_POLLS} polls (bytes written by the process)",
        "",
        "| status size | first poll (writes the status) | each later poll (same status) |",
        "|---:|---:|---:|",
    ]
    for size in WRITE_SIZES:
        result = subprocess.run(  # this interpreter, a fixed script
            [sys.executable, "-c", _WRITES_CHILD, str(size), str(WRITE_POLLS)],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        data = json.loads(result.stdout.strip().splitlines()[-1])
        out.append(f"| {size / 1e6:,.3f} MB | {data['first'] / 1e6:,.3f} MB | {data['later'] / 1024:,.1f} KiB |")
    out += [
        "",
        "A status up to 2,048 characters stays in the job's row; a larger one has a table of its own, "
        "written only when it changes (SQLite rewrites a whole row, its overflow pages too, at any "
        "update: before, every poll of a 2 MB status wrote about 4 MB).",
    ]
    return out


# --- 5. many jobs: a run that holds only what is due soon

#: Jobs of the scale sections (``DOCSTATUS_BENCH_JOBS`` changes it): ``track add``, the file's
#: bytes per job, a restart's first poll, ``ls | head``.
SCALE_JOBS = int(os.environ.get("DOCSTATUS_BENCH_JOBS", "1000000"))
#: Jobs of the full run, the tracker against watch_many (``DOCSTATUS_BENCH_RUN_JOBS``).
RUN_JOBS = int(os.environ.get("DOCSTATUS_BENCH_RUN_JOBS", "50000"))
#: Seconds a restarted run polls on after its first poll (its memory with every job tracked).
HOLD = 10.0
#: The host budget (polls/s) of the full run's second comparison: below what either side can do.
RUN_BUDGET = 800.0
#: Repeats of the full run (each side).
RUN_REPEATS = int(os.environ.get("DOCSTATUS_BENCH_RUN_REPEATS", "1"))
#: The host budgets of the full run (``None``: none, the CPU binds); ``--budgets`` changes them.
RUN_BUDGETS: list[float | None] = [None, RUN_BUDGET]
#: Due jobs of ``track run --once``.
ONCE_JOBS = 100_000
#: Seconds between two polls of a job of the full run (its server's ``Retry-After``).
RUN_HINT = 5.0
#: The full run's policy: the hint decides every delay (no jitter), the deadline far off.
RUN_POLICY = {"initial_delay": 1.0, "min_delay": 0.5, "max_delay": 30.0, "jitter": 0.0, "timeout": 86400.0}

#: Artos statuses on 127.0.0.1, in a process of its own (asyncio, HTTP/1.1 keep-alive): job
#: ``m<i>-<k>`` answers ``Ingesting`` with ``Retry-After: <hint>`` until its k-th poll, then
#: ``Ready``; any other job ``Pending`` with ``Retry-After: 1800``. It keeps, per ``m`` job, its
#: polls and when its next one is due, and the lateness of every poll (a first poll is due at
#: ``t0``, a later one ``hint`` seconds after the one before): ``GET /_reset?n=N&t0=T&hint=H``
#: starts over, ``GET /_stats`` answers the figures as JSON.
_STUB = r"""
import asyncio, json, sys, time
from array import array
from urllib.parse import parse_qs, urlsplit

state = {"n": 0, "t0": 0.0, "hint": 5.0}
polls = array("H")
due = array("d")
late = array("d")
other = {"count": 0, "first": None}
totals = {"extra": 0, "first_done": 0.0, "last": 0.0}

def reset(query):
    global polls, due, late
    n = int(query["n"][0])
    state.update(n=n, t0=float(query["t0"][0]), hint=float(query["hint"][0]))
    polls, due, late = array("H", bytes(2 * n)), array("d", [state["t0"]]) * n, array("d")
    other.update(count=0, first=None)
    totals.update(extra=0, first_done=0.0, last=0.0)

def stats():
    ordered = sorted(late)
    def pct(p):
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else None
    m = [i for i in range(state["n"]) if polls[i] == 0]
    return {"polls": len(late), "never": len(m), "extra": totals["extra"], "p50": pct(0.5), "p99": pct(0.99),
            "max": ordered[-1] if ordered else None,
            "first_done": totals["first_done"] - state["t0"],
            "last": totals["last"] - state["t0"], "other": other["count"], "other_first": other["first"]}

def answer(job, now):
    if job.startswith("m"):
        i, k = (int(x) for x in job[1:].split("-"))
        n = polls[i] = polls[i] + 1
        if n > k:
            totals["extra"] += 1
        late.append(now - due[i])
        totals["last"] = now
        if n == 1:
            totals["first_done"] = max(totals["first_done"], now)
        if n >= k:
            return "Ready", None
        due[i] = now + state["hint"]
        return "Ingesting", state["hint"]
    other["count"] += 1
    if other["first"] is None:
        other["first"] = now
    return "Pending", 1800.0

class Proto(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4:]
            target = head.split(" ", 2)[1]
            now = time.time()
            extra = b""
            if target.startswith("/_reset"):
                reset(parse_qs(urlsplit(target).query))
                body = b"{}"
            elif target.startswith("/_stats"):
                body = json.dumps(stats()).encode()
            else:
                job = target.rstrip("/").rsplit("/", 1)[-1]
                status, hint = answer(job, now)
                body = ('{"task_id":"%s","status":"%s","progress":null,"error":null}' % (job, status)).encode()
                if hint is not None:
                    extra = b"Retry-After: %g\r\n" % hint
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra
                                 + b"Content-Length: %d\r\n\r\n" % len(body) + body)

async def main():
    server = await asyncio.get_running_loop().create_server(Proto, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the bench closes stdin

asyncio.run(main())
"""

#: The full run in a process of its own: ``Tracker.run_async`` on a file, or ``watch_many`` over
#: the refs of a file (one a line), both with the same budgets and policy; prints the seconds.
_RUNNER = r"""
import asyncio, json, signal, sys, time
import docstatus

mode, path, url, options = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
policy = docstatus.WaitPolicy(**options.pop("policy"))
config = docstatus.ProviderConfig(provider="artos", base_url=url, token="tok-bench")

async def main():
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    start = time.time()
    if mode == "tracker":
        tracker = docstatus.Tracker(path, config=config, policy=policy, **options)
        try:
            await tracker.run_async(stop=stop, collect=False)
        finally:
            tracker.close()
    else:
        with open(path) as lines:
            refs = [line.strip() for line in lines]
        ended = 0
        async for update in docstatus.watch_many(refs, config=config, policy=policy, **options):
            ended += update.done
        assert ended == len(refs), (ended, len(refs))
    print(json.dumps({"start": start, "end": time.time()}))

asyncio.run(main())
"""


class Stub:
    """The stub server process (``_STUB``)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(  # this interpreter, a fixed script
            [sys.executable, "-c", _STUB], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}"

    def get(self, target: str) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + target, timeout=120) as answer:  # noqa: S310  # our own stub on 127.0.0.1
            data: dict[str, Any] = json.loads(answer.read())
            return data

    def reset(self, n: int, t0: float, hint: float = RUN_HINT) -> None:
        self.get(f"/_reset?n={n}&t0={t0!r}&hint={hint!r}")

    def close(self) -> None:
        self.proc.communicate(timeout=30)


def _env(stub: Stub, db: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    return {
        **clean,
        "DOCSTATUS_ARTOS_BASE_URL": stub.url,
        "DOCSTATUS_ARTOS_TOKEN": "tok-bench",
        "DOCSTATUS_TRACK_DB": str(db),
    }


def _hwm(pid: int, seen: int = 0) -> int:
    """A live process's peak RSS so far (bytes: ``VmHWM`` of ``/proc/<pid>/status``), or ``seen``
    when it cannot be read. Not ``ru_maxrss``: Linux counts in a child's the RSS its parent had
    when it forked (the bench holds a million refs), so every child would read as large."""
    status = Path(f"/proc/{pid}/status")
    with contextlib.suppress(OSError, ValueError, StopIteration), status.open(encoding="ascii") as f:
        return max(seen, int(next(line for line in f if line.startswith("VmHWM:")).split()[1]) * 1024)
    return seen


def _measured(
    argv: list[str], env: dict[str, str], *, stdin: str | None = None, timeout: float, ok: tuple[int, ...] = (0,)
) -> tuple[float, int, str]:
    """Run ``argv`` (``stdin`` written to it): its seconds, peak RSS (bytes, ``_hwm`` read every
    20 ms while it runs) and stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(  # this interpreter, fixed arguments
            argv, env=env, stdin=subprocess.PIPE, stdout=out, stderr=err
        )
        assert proc.stdin is not None
        feeder = threading.Thread(target=_feed, args=(proc.stdin, stdin or ""), daemon=True)
        feeder.start()
        deadline = start + timeout
        peak = 0
        while True:  # bounded by ``timeout``
            peak = _hwm(proc.pid, peak)
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                raise TimeoutError(f"{argv[3:6]} took over {timeout:g} s")
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        feeder.join(timeout=30)
        out.seek(0)
        err.seek(0)
        if proc.returncode not in ok:
            raise RuntimeError(f"{argv[3:6]} exited {proc.returncode}: {err.read()[-2000:].decode(errors='replace')}")
        return elapsed, peak, out.read().decode()


def _feed(pipe: Any, text: str) -> None:
    with contextlib.suppress(BrokenPipeError), pipe:
        pipe.write(text.encode())


def _track(*args: str) -> list[str]:
    return [sys.executable, "-m", "docstatus._cli", "track", *args]


def _db_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def _first_poll(stub: Stub, db: Path, options: dict[str, Any]) -> tuple[float, float, int, int]:
    """A fresh process runs ``Tracker.run_async`` on ``db``: seconds from the process's start,
    and from the moment it opens the file, to the stub's first request; then it polls on for
    ``HOLD`` seconds: its peak RSS, and the polls it made."""
    stub.reset(0, time.time())
    started = time.time()
    proc = subprocess.Popen(  # this interpreter, a fixed script
        [sys.executable, "-c", _RUNNER, "tracker", str(db), stub.url, json.dumps(options)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    first = None
    for _ in range(3000):  # bounded: 60 s
        first = stub.get("/_stats")["other_first"]
        if first is not None:
            break
        time.sleep(0.02)
    peak = 0
    for _ in range(int(HOLD / 0.05)):  # polling on: the run's memory with every job of the file tracked
        peak = _hwm(proc.pid, peak)
        time.sleep(0.05)
    polled = stub.get("/_stats")["other"]
    peak = _hwm(proc.pid, peak)
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait(timeout=60)
    assert first is not None, "no poll within 60 s"
    opened = json.loads(out.strip().splitlines()[-1])["start"]
    return first - started, first - opened, peak, polled


def _ls_head(db: Path) -> tuple[float, float, int]:
    """``track ls --state running | head``: seconds to its first line, seconds it took to end
    once its reader left (after 10 lines), its peak RSS."""
    env = {**os.environ, "DOCSTATUS_TRACK_DB": str(db)}
    start = time.perf_counter()
    proc = subprocess.Popen(  # this interpreter, fixed arguments
        _track("ls", "--state", "running"), env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    first = time.perf_counter() - start
    for _ in range(9):
        proc.stdout.readline()
    peak = _hwm(proc.pid)  # it is blocked on the full pipe: what it holds to print the first lines
    proc.stdout.close()
    closed = time.perf_counter()
    proc.wait(timeout=120)
    return first, time.perf_counter() - closed, peak


def _mb(value: float) -> str:
    return f"{value / 1e6:,.0f} MB"


def _stat(values: list[float], fmt: str = "{:,.2f}") -> str:
    return f"{fmt.format(min(values))} / {fmt.format(statistics.median(values))}"


def scale_file(server: Server) -> list[str]:  # noqa: ARG001  # a section's signature
    """``track add`` of ``SCALE_JOBS`` refs, the file's bytes per job, a restart's first poll,
    ``ls --state running | head`` and ``counts`` on that file."""
    stub = Stub()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-tracker-") as tmp:
            db = Path(tmp) / "scale.db"
            refs = "\n".join(f"artos:r{i:07d}" for i in range(SCALE_JOBS))
            add_s, add_rss, _ = _measured(
                _track("add", "-", "--deadline", "1d"), _env(stub, db), stdin=refs, timeout=900
            )
            del refs
            size = _db_bytes(db)
            # half the jobs polled before (a saved waiting state and last status, as a run writes
            # them), all of them overdue: a restart after an outage
            wait = json.dumps(
                {"v": 1, "ref": "artos:x", "started": 1e9, "deadline": 4e9, "polls": 1, "streak": 1, "errors": 0}
            )
            last = json.dumps({"provider": "artos", "job_id": "x", "state": "queued", "provider_state": "Pending"})
            with contextlib.closing(sqlite3.connect(str(db))) as conn, conn:
                conn.execute(
                    "UPDATE jobs SET state = 'queued', polls = 1, wait = ?, last = ? WHERE rowid % 2 = 0", (wait, last)
                )
                conn.execute("UPDATE jobs SET state = 'running' WHERE rowid % 4 = 0")
            restarts = [_first_poll(stub, db, {"policy": RUN_POLICY, "host_rate": None}) for _ in range(REPEATS)]
            lists = [_ls_head(db) for _ in range(REPEATS)]
            counts = []
            for _ in range(REPEATS):
                took, _, out = _measured(_track("counts", "--json"), _env(stub, db), timeout=300)
                counts.append(took)
            states = json.loads(out)["states"]
            assert sum(states.values()) == SCALE_JOBS, states
    finally:
        stub.close()
    first_open = statistics.median([r[1] for r in restarts])
    return [
        f"### {SCALE_JOBS:,} tracked jobs in one file (min / median of {REPEATS} where repeated)",
        "",
        "| measure | figure | goal |",
        "|---|---:|---|",
        f"| `track add -` of {SCALE_JOBS:,} refs (stdin) | {add_s:,.1f} s, peak RSS {_mb(add_rss)} | "
        f"<= 60 s for 1,000,000{' (met)' if add_s * 1e6 / SCALE_JOBS <= 60 else ' (NOT met)'} |",
        f"| the file, per job (never polled) | {size / SCALE_JOBS:,.0f} bytes ({_mb(size)}) | reported |",
        f"| restart: process start -> first poll | {_stat([r[0] for r in restarts])} s | |",
        f"| restart: file opened -> first poll | {_stat([r[1] for r in restarts])} s | "
        f"<= 1 s{' (met)' if first_open <= 1.0 else ' (NOT met)'} |",
        f"| the restarted run, polling for {HOLD:g} s: peak RSS | {_mb(statistics.median([r[2] for r in restarts]))} "
        f"({statistics.median([r[3] for r in restarts]):,.0f} polls) | <= 300 MB"
        f"{' (met)' if statistics.median([r[2] for r in restarts]) <= 300e6 else ' (NOT met)'} |",
        f"| `track ls --state running \\| head`: first line | {_stat([x[0] for x in lists])} s | at once |",
        f"| ... ends after `head` left | {_stat([x[1] for x in lists])} s, peak RSS "
        f"{_mb(statistics.median([x[2] for x in lists]))} | |",
        f"| `track counts` | {_stat(counts)} s | |",
        "",
        "Half the jobs carry a saved waiting state (written with SQL as a run writes it), every one "
        "overdue: a restart after an outage. The restart is `Tracker.run_async` in a fresh process; it "
        "polls once it has leased and restored its first batch (256 jobs), not all it will hold.",
    ]


def once(server: Server) -> list[str]:  # noqa: ARG001  # a section's signature
    """``track run --once`` on ``ONCE_JOBS`` due jobs: every one polled once."""
    stub = Stub()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-tracker-") as tmp:
            db = Path(tmp) / "once.db"
            refs = "\n".join(f"artos:m{i}-3" for i in range(ONCE_JOBS))
            _measured(_track("add", "-"), _env(stub, db), stdin=refs, timeout=600)
            stub.reset(ONCE_JOBS, time.time())
            took, rss, _ = _measured(
                _track("run", "--once", "--host-rate", "1000000", "--concurrency", str(CONCURRENCY)),
                _env(stub, db),
                timeout=900,
            )
            stats = stub.get("/_stats")
    finally:
        stub.close()
    every = stats["polls"] == ONCE_JOBS and stats["never"] == 0
    return [
        f"### `track run --once` on {ONCE_JOBS:,} due jobs",
        "",
        f"Polled {stats['polls']:,} times, {ONCE_JOBS - stats['never']:,} of {ONCE_JOBS:,} jobs, "
        f"in {took:,.1f} s ({ONCE_JOBS / took:,.0f} jobs/s), peak RSS {_mb(rss)}: "
        f"**{'every due job once (met)' if every else 'NOT met'}** (it stopped at 10,000 before).",
    ]


def _full(stub: Stub, mode: str, path: Path, n: int, budget: float | None) -> dict[str, Any]:
    options = {
        "policy": RUN_POLICY,
        "concurrency": CONCURRENCY,
        "host_concurrency": CONCURRENCY,
        "host_rate": budget,
    }
    if mode == "tracker":
        options["spread"] = 0.0
    stub.reset(n, time.time())
    took, rss, _ = _measured(
        [sys.executable, "-c", _RUNNER, mode, str(path), stub.url, json.dumps(options)],
        _env(stub, path),
        timeout=max(1800, n // 100),  # a million jobs: over 30 minutes a side on 2 cores
    )
    stats = stub.get("/_stats")
    assert stats["never"] == 0, stats
    assert stats["extra"] == 0, stats
    return {**stats, "seconds": took, "rss": rss}


def full_run(server: Server) -> list[str]:  # noqa: ARG001  # a section's signature
    """``RUN_JOBS`` jobs of mixed lengths (1, 2 or 3 polls, ``RUN_HINT`` s apart), all due at
    the start: ``Tracker.run_async`` (added by ``track add`` first) against ``watch_many``,
    without a host budget (the CPU binds), then with ``RUN_BUDGET`` (the budget binds)."""
    n = RUN_JOBS
    polls = sum(1 + i % 3 for i in range(n))
    stub = Stub()
    results: dict[tuple[float | None, str], list[dict[str, Any]]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-tracker-") as tmp:
            listing = Path(tmp) / "refs.txt"
            refs = "\n".join(f"artos:m{i}-{1 + i % 3}" for i in range(n))
            listing.write_text(refs, "utf-8")
            for budget in RUN_BUDGETS:
                for repeat in range(RUN_REPEATS):  # interleaved
                    results.setdefault((budget, "watch_many"), []).append(_full(stub, "watch_many", listing, n, budget))
                    db = Path(tmp) / f"run-{repeat}.db"
                    _measured(_track("add", "-", "--deadline", "1d"), _env(stub, db), stdin=refs, timeout=900)
                    results.setdefault((budget, "tracker"), []).append(_full(stub, "tracker", db, n, budget))
                    for old in Path(tmp).glob("run-*"):
                        old.unlink()
    finally:
        stub.close()

    def rate(r: dict[str, Any]) -> float:
        return float(r["polls"]) / float(r["last"])

    out = [
        f"### One run over {n:,} jobs of mixed lengths ({polls:,} polls), all due at the start "
        f"(min / median of {RUN_REPEATS})",
        "",
        "| host budget | how | polls/s | p50 lateness | p99 lateness | max lateness | peak RSS | "
        "polls/s / watch_many | p99 / watch_many |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (budget, name), runs in results.items():
        base = results[(budget, "watch_many")]
        base_rate = statistics.median([rate(r) for r in base])
        base_p99 = statistics.median([r["p99"] for r in base])
        label = "`watch_many`" if name == "watch_many" else "`Tracker.run_async` (every poll persisted)"
        ratio = statistics.median([rate(r) for r in runs]) / base_rate
        late = statistics.median([r["p99"] for r in runs]) / base_p99
        marks = ("", "")
        if name == "tracker":
            marks = (" met" if ratio >= 0.8 else " NOT met", " met" if late <= 1.2 else " NOT met")
        shown = "none" if budget is None else f"{budget:g}/s"
        out.append(
            f"| {shown} | {label} | {_stat([rate(r) for r in runs], '{:,.0f}')} | "
            f"{_stat([r['p50'] for r in runs])} s | {_stat([r['p99'] for r in runs])} s | "
            f"{_stat([r['max'] for r in runs])} s | {_mb(statistics.median([r['rss'] for r in runs]))} | "
            f"**{ratio:.2f}x**{marks[0]} | **{late:.2f}x**{marks[1]} |"
        )
    out += [
        "",
        f"Each job answers `Retry-After: {RUN_HINT:g}` until its last poll (1, 2 or 3), so every poll has a due "
        "time: a job's first at the start, each later one the hint after the one before; lateness is the "
        "poll's time minus its due time, measured by the server (from the moment the process is started: "
        "its start-up counts). Both sides: concurrency "
        f"{CONCURRENCY} (and per host), every job polled exactly as often (checked). Without a budget the CPU "
        "binds (what a poll costs each side); with one, the budget does (as with a real provider). "
        "Goals: polls/s >= 0.8x watch_many, p99 lateness <= 1.2x watch_many.",
    ]
    return out


SECTIONS = (ended_jobs, short_jobs, restart, writes, scale_file, once, full_run)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="The tracker against watch_many, as ratios from one run.")
    parser.add_argument(
        "--only", nargs="+", choices=[s.__name__ for s in SECTIONS], help="run only these sections (default: all)"
    )
    parser.add_argument(
        "--budgets",
        nargs="+",
        default=None,
        help=f"the full run's host budgets, polls/s or 'none' (default: none {RUN_BUDGET:g})",
    )
    args = parser.parse_args(argv)
    if args.budgets is not None:
        RUN_BUDGETS[:] = [None if b == "none" else float(b) for b in args.budgets]
    print(f"Python {platform.python_version()}, {platform.machine()}, docstatus bench_tracker\n")
    server = Server()
    try:
        for section in SECTIONS:
            if args.only and section.__name__ not in args.only:
                continue
            start = time.perf_counter()
            print("\n".join(section(server)))
            print(f"\n({section.__name__}: {time.perf_counter() - start:.1f} s)\n", flush=True)
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
