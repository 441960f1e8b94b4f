"""docstatus.celery against watch_many in-process, on the same simulator jobs.

For 1, 2 and 4 Celery workers (prefork, concurrency 2): jobs per second (jobs / time until the
last callback) and requests per job, as ratios against ``watch_many`` in this process on jobs
of the same scripts, min and median of the repeats; and the time until every job is delivered
after one of two workers is killed (SIGKILL), against the same run without a kill. Needs the
``celery`` extra and ``redis-server`` on PATH (else it says so and exits 0).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

JOBS = int(os.environ.get("BENCH_CELERY_JOBS", "200"))
REPEATS = int(os.environ.get("BENCH_CELERY_REPEATS", "2"))
STEP = 0.6


def _jobs(sim: object) -> list[str]:
    sim.reset()  # type: ignore[attr-defined]  # fresh jobs, and an empty request log (it keeps the last 10,000)
    return [sim.create_job("neurolinker", "happy_path", step=STEP + (i % 4) * 0.2) for i in range(JOBS)]  # type: ignore[attr-defined]


def _in_process(sim: object) -> tuple[float, float]:
    import docstatus  # noqa: PLC0415
    from _celery_app import POLICY  # noqa: PLC0415

    refs = _jobs(sim)
    before = len(sim.requests)  # type: ignore[attr-defined]

    async def run() -> None:
        async for _ in docstatus.watch_many(refs, policy=POLICY, timeout=120, host_rate=None, concurrency=64):
            pass

    started = time.monotonic()
    asyncio.run(run())
    elapsed = time.monotonic() - started
    return JOBS / elapsed, (len(sim.requests) - before) / JOBS  # type: ignore[attr-defined]


def _celery(sim: object, app: object, redis_url: str, workers: list[object], kill: bool = False) -> tuple[float, float]:
    import redis  # noqa: PLC0415

    r = redis.Redis.from_url(redis_url)
    r.delete("test:deliveries")
    refs = _jobs(sim)
    before = len(sim.requests)  # type: ignore[attr-defined]
    started = time.monotonic()
    keys = {app.tracking.track(ref, on_done=app.done.s(), deadline=120) for ref in refs}  # type: ignore[attr-defined]
    if kill:
        time.sleep(1.5)
        workers[0].kill()  # type: ignore[attr-defined]
    end = time.monotonic() + 120
    while time.monotonic() < end and r.hlen("test:deliveries") < len(keys):
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    return JOBS / elapsed, (len(sim.requests) - before) / JOBS  # type: ignore[attr-defined]


def main() -> int:
    try:
        import celery  # noqa: F401, PLC0415
    except ImportError:
        print("skipped: needs the celery extra (pip install 'docstatus[celery]')")
        return 0
    from _celery_support import Worker, redis_binary, redis_server, worker_env  # noqa: PLC0415

    if redis_binary() is None:
        print("skipped: redis-server is not on PATH")
        return 0
    from docstatus.simulator import Simulator  # noqa: PLC0415

    rows = []
    with tempfile.TemporaryDirectory() as tmp, Simulator() as sim, redis_server(Path(tmp)) as server:
        os.environ["DOCSTATUS_TEST_REDIS"] = server.url
        os.environ.update(sim.env())
        import _celery_app as app  # noqa: PLC0415

        base = [_in_process(sim) for _ in range(REPEATS)]
        base_rate = statistics.median(b[0] for b in base)
        base_req = statistics.median(b[1] for b in base)
        print(f"watch_many in-process: {base_rate:.0f} jobs/s, {base_req:.2f} requests/job ({JOBS} jobs)")
        env = worker_env(sim, server.url, json.dumps({}))
        for count in (1, 2, 4):
            workers = [Worker(f"b{count}-{i}", env, Path(tmp) / f"b{count}-{i}.log") for i in range(count)]
            time.sleep(3.0)  # the workers start
            runs = [_celery(sim, app, server.url, workers) for _ in range(REPEATS)]
            for w in workers:
                w.stop()
            rates = [rate / base_rate for rate, _ in runs]
            reqs = [req / base_req for _, req in runs]
            rows.append((count, min(rates), statistics.median(rates), min(reqs), statistics.median(reqs)))
        print("| workers | jobs/s vs watch_many (min, median) | requests/job vs watch_many (min, median) |")
        print("|---|---|---|")
        for count, rmin, rmed, qmin, qmed in rows:
            print(f"| {count} | {rmin:.2f}x, {rmed:.2f}x | {qmin:.2f}x, {qmed:.2f}x |")
        times = {}
        for kill in (False, True):
            workers = [Worker(f"k{kill:d}-{i}", env, Path(tmp) / f"k{kill:d}-{i}.log") for i in range(2)]
            time.sleep(3.0)
            started = time.monotonic()
            _, req = _celery(sim, app, server.url, workers, kill=kill)
            times[kill] = (time.monotonic() - started, req)
            for w in workers:
                w.stop()
        print(
            f"2 workers, one SIGKILLed 1.5 s in: all delivered in {times[True][0]:.1f} s vs {times[False][0]:.1f} s "
            f"without a kill (+{times[True][0] - times[False][0]:.1f} s; visibility timeout {app.VISIBILITY:g} s); "
            f"requests/job {times[True][1] / base_req:.2f}x vs {times[False][1] / base_req:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
