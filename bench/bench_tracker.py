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
   process opens the file and runs: the time to open it, to lease and enlist every job, to its
   first poll, and the polls made in the first second after all are enlisted. For reference, a fresh process running
   ``watch_many`` over the same 10,000 refs from a list: the time to its first poll.

4. **Writes per poll with large statuses.** One job whose status (its ``step`` text) is 1 kB,
   100 kB, 2 MB or 8 MiB, polled 30 times with the same status by ``Tracker.run_async`` (a poll
   function of its own: no server) in a child process that counts the bytes it writes
   (``wchar`` of ``/proc/self/io``: the database, its ``-wal``, checkpoints): the first poll
   writes the status, each later one only the small waiting state. Linux only.

Every measurement is repeated (fresh jobs and files each time, the two sides interleaved) and
reported as min and median. The simulator runs in its own process (in a thread of this one,
client and server would take turns on the GIL and measure that).

Run: ``python bench/bench_tracker.py`` (or ``nox -s bench -- tracker``). Needs the simulator extra.
"""

from __future__ import annotations

import asyncio
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
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
def enlist(self, row):
    real_enlist(self, row)
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
            ready = polls and (mode != "tracker" or len(enlisted) >= int(sys.argv[5]))
            if ready and time.perf_counter() - max(polls[0], enlisted[-1] if enlisted else 0) >= 1.0:
                break
        stop.set()
        if mode == "tracker":
            await runner
            tracker.close()
        else:
            runner.cancel()
    all_in = enlisted[-1] if enlisted else opened
    print(json.dumps({
        "open": opened - start,
        "enlisted": len(enlisted),
        "all_enlisted": all_in - start,
        "first_poll": polls[0] - start if polls else None,
        "polls_1s": sum(1 for p in polls if all_in <= p < all_in + 1.0),
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
                if mode == "tracker":
                    assert data["enlisted"] == RESTART_JOBS, data
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
        "| | open the file | lease + enlist all | first poll | polls in the 1st s after all enlisted |",
        "|---|---:|---:|---:|---:|",
        f"| `Tracker.run_async` | {cell('tracker', 'open')} | {cell('tracker', 'all_enlisted')} | "
        f"{cell('tracker', 'first_poll')} | {cell('tracker', 'polls_1s', 1.0, '')} |",
        f"| `watch_many` from a list (reference) | - | - | {cell('watch_many', 'first_poll')} | "
        f"{cell('watch_many', 'polls_1s', 1.0, '')} |",
        "",
        f"Tracker's first poll / watch_many's: **{tracker_first / wm_first:.2f}x** (medians). Before the "
        f"restarts, one `run(once=True)` pass polled each job once and wrote its `WaitState` ({once:.1f} s for "
        f"{RESTART_JOBS:,}, {RESTART_JOBS / once:,.0f} jobs/s); then {RESTART_POLICY.max_delay:g} s passed, so every "
        "job's next poll was overdue. Times from the moment the fresh process (imports done) opens the "
        "file; the tracker's first poll comes after all are enlisted (one pass over the table: the lease "
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

    policy = docstatus.WaitPolicy(initial_delay=0.01, min_delay=0.01, max_delay=0.01, jitter=0.0, lag_ratio=None,
                                  use_progress=False, timeout=3600)
    with tempfile.TemporaryDirectory() as folder:
        tracker = docstatus.Tracker(os.path.join(folder, "t.db"), poll=poll, policy=policy, spread=0.0)
        tracker.add("artos:big")
        await tracker.run_async(stop=stop)
        tracker.close()
    # seen[i]: written before poll i; the first poll's save lands between seen[0] and seen[1]
    print(json.dumps({"first": seen[1] - seen[0], "later": (seen[-1] - seen[1]) / (len(seen) - 2)}))

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


def main() -> int:
    print(f"Python {platform.python_version()}, {platform.machine()}, docstatus bench_tracker\n")
    server = Server()
    try:
        for section in (ended_jobs, short_jobs, restart, writes):
            start = time.perf_counter()
            print("\n".join(section(server)))
            print(f"\n({section.__name__}: {time.perf_counter() - start:.1f} s)\n", flush=True)
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
