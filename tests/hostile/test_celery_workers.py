"""docstatus.celery with real Celery workers (subprocesses, prefork, concurrency 2), a real
redis-server and the simulator, all on 127.0.0.1.

Scaled for CI on a 2-core machine: 400 jobs (``DOCSTATUS_TEST_CELERY_JOBS=2000`` for the
issue's 2,000) on 3 workers, one of them killed with SIGKILL (process group: the worker and its
pool) mid-run; 300 jobs across 2 Redis restarts (``DOCSTATUS_TEST_CELERY_RESTART_JOBS`` and
``DOCSTATUS_TEST_CELERY_RESTARTS`` for more). Promises: every job completed with the simulator's
final state and delivered to its callback once per idempotency key (a redelivery, if any, with
the same outcome); the request rate at the simulator, summed over every worker, within the
configured budget; no token in any Redis key or value; nothing acknowledged lost when Redis
restarts (appendonly), no callback that ran sent again, and no worker exiting.
"""

from __future__ import annotations

import collections
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("celery")
sim_module = pytest.importorskip("docstatus.simulator")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _celery_support import (  # noqa: E402
    Worker,
    deliveries,
    load_app,
    redis_binary,
    redis_server,
    supervise,
    wait_for,
    worker_env,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

if redis_binary() is None:
    if os.environ.get("CI"):
        pytest.fail("redis-server is not on PATH under CI (.ci/run installs it)", pytrace=False)
    pytest.skip("redis-server is not on PATH (apt-get install redis-server)", allow_module_level=True)

RATES = {"artos": 60.0, "neurolinker": 200.0}
JOBS = int(os.environ.get("DOCSTATUS_TEST_CELERY_JOBS", "400"))
#: The longest time, in seconds, from a worker taking a slot of the shared budget to its request
#: reaching the simulator, on a loaded 2-core machine (CI runs four test workers beside these).
SKEW = 0.1


@pytest.fixture
def app_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The test app (tests/_celery_app.py) imported afresh for this test's Redis."""
    yield lambda url: load_app(monkeypatch, url, RATES)
    sys.modules.pop("_celery_app", None)


def _most_in_window(times: list[float], width: float) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > width:
            start += 1
        best = max(best, end - start + 1)
    return best


def _check_delivered_once(r: Any, keys: dict[str, str], truth: dict[str, str]) -> int:
    """Every key delivered, each with the simulator's final state; returns the redeliveries."""
    by_key: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for d in deliveries(r):
        by_key[d["key"]].append(d)
    assert set(by_key) == set(keys)  # every job delivered, none invented
    for key, ref in keys.items():
        got = by_key[key]
        assert all(d["state"] == got[0]["state"] for d in got), key  # never a different outcome
        assert got[0]["kind"] == "done", (ref, got)
        assert got[0]["state"] == truth[ref], ref
    return sum(len(v) - 1 for v in by_key.values())


def test_workers_share_the_budget_survive_a_sigkill_and_deliver_every_job_once(tmp_path: Path, app_module: Any) -> None:
    import redis  # noqa: PLC0415

    with sim_module.Simulator() as sim, redis_server(tmp_path) as server:
        app = app_module(server.url)
        env = worker_env(sim, server.url, json.dumps(RATES))
        workers = [Worker(f"w{i}", env, tmp_path / f"w{i}.log") for i in range(3)]
        # The jobs start once every worker answers (workers start slowly on a loaded machine, and
        # the kill must come mid-run, not before the first poll).
        ready_by = time.monotonic() + 90.0
        while time.monotonic() < ready_by and len(app.app.control.ping(timeout=1.0)) < len(workers):
            time.sleep(0.2)
        refs = []
        for i in range(JOBS):
            provider = "artos" if i % 2 else "neurolinker"
            # Phases of 3 to 7 s (a job ends 9 s after it is made at the earliest): the jobs outlast
            # a test process a loaded machine starves for seconds (with phases of 0.5 to 1.7 s, CI
            # saw 393 of 400 delivered before the kill; with 1 to 3 s, 300).
            refs.append(sim.create_job(provider, "failure" if i % 7 == 0 else "happy_path", step=3.0 + (i % 5) * 1.0))
        started = time.monotonic()
        keys = {app.tracking.track(ref, on_done=app.done.s(), on_error=app.error.s(), deadline=90): ref for ref in refs}
        r = redis.Redis.from_url(server.url)
        # Mid-run: the kill comes once the simulator has answered polls for half as many jobs as
        # there are (first polls, long before any job can end), so most are still under way
        # however fast or loaded this machine is (a fixed 4 s saw 220 of 400 done; waiting for a
        # tenth of the deliveries, which lag behind on a loaded machine, saw 277 and 393).
        kill_by = time.monotonic() + 30.0
        while time.monotonic() < kill_by and len(sim.requests) < len(refs) // 2:
            time.sleep(0.05)
        done_before = len(deliveries(r))
        assert done_before < len(refs) // 2
        workers[0].kill()
        wait_for(r, set(keys), 50)
        elapsed = time.monotonic() - started
        for w in workers[1:]:
            w.stop()
        truth = {ref: sim.state_of(ref) for ref in refs}
        requests = [q for q in sim.requests if q.provider is not None]
        stored = [str(k) + str(r.dump(k)) for k in r.scan_iter("*")]
        redelivered = _check_delivered_once(r, keys, truth)

    print(
        f"{JOBS} jobs, 3 workers, one SIGKILLed with {done_before} delivered: {elapsed:.1f} s, "
        f"{len(requests) / len(refs):.2f} req/job"
    )
    print(f"callbacks sent again after the kill: {redelivered}")
    assert redelivered <= 4  # only a worker lost between sending a callback and marking it
    artos = sorted(q.at.timestamp() for q in requests if q.provider == "artos")
    most = _most_in_window(artos, 1.0)
    print(f"artos: at most {most} requests in any 1 s window (budget {RATES['artos']:g}/s)")
    # Counted at the server: a request reaches it up to SKEW after its worker took the slot, so a
    # window of w seconds there holds what the budget allowed over w + SKEW seconds.
    assert most <= RATES["artos"] * (1.0 + SKEW)
    assert _most_in_window(artos, 3.0) <= RATES["artos"] * (3.0 + SKEW)
    per_job = collections.Counter(q.job_id for q in requests)
    assert max(per_job.values()) <= 40  # no job polled in a loop
    for token in sim_module.DEFAULT_TOKENS.values():
        assert all(token not in s for s in stored)


#: The Redis-restart test: jobs and restarts (CI: 300 and 2; DOCSTATUS_TEST_CELERY_RESTART_JOBS and
#: DOCSTATUS_TEST_CELERY_RESTARTS measure more, e.g. 1000 and 6).
RESTART_JOBS = int(os.environ.get("DOCSTATUS_TEST_CELERY_RESTART_JOBS", "300"))
RESTARTS = int(os.environ.get("DOCSTATUS_TEST_CELERY_RESTARTS", "2"))
#: DOCSTATUS_TEST_CELERY_REDIS_CRASH=1: Redis is killed (SIGKILL) rather than stopped (its
#: append-only file is written with appendfsync always: nothing it acknowledged is lost).
CRASH = os.environ.get("DOCSTATUS_TEST_CELERY_REDIS_CRASH") == "1"


def test_redis_restarts_lose_no_job_send_no_callback_twice_and_stop_no_worker(tmp_path: Path, app_module: Any) -> None:
    """Redis (append-only) restarted while jobs finish and callbacks run: every job delivered,
    none twice (a callback that ran is never sent again: its run is recorded by the worker that
    ran it, not through the broker; a copy that arrives later, or a second copy of one publish,
    is dropped), and no worker exits (celery 5.7.0's did at every restart; the extra excludes it).
    Workers run under a supervisor all the same, as they should; here it must have nothing to do."""
    import redis  # noqa: PLC0415

    with sim_module.Simulator() as sim, redis_server(tmp_path, appendonly=True) as server:
        app = app_module(server.url)
        env = worker_env(sim, server.url, json.dumps(RATES))
        workers = [Worker(f"r{i}", env, tmp_path / f"r{i}.log") for i in range(2)]
        refs = [sim.create_job("neurolinker", "happy_path", step=0.5 + (i % 10) * 0.4) for i in range(RESTART_JOBS)]
        keys = {app.tracking.track(ref, on_done=app.done.s(), deadline=300): ref for ref in refs}  # acknowledged
        r = redis.Redis.from_url(server.url)
        started = time.monotonic()
        during = []
        for n in range(RESTARTS):
            # Each restart comes while callbacks are running: once a share of the jobs are
            # delivered (or 20 s on), so that the restarts fall between the first delivery and
            # the last however fast this machine is.
            share = (n + 1) * len(keys) // (RESTARTS + 2)
            end = time.monotonic() + 20
            while time.monotonic() < end and len(deliveries(r)) < share:
                supervise(workers, 0.1)
            during.append(len(deliveries(r)))
            if CRASH:
                server.kill()
            else:
                server.stop()  # SIGTERM: the append-only file is flushed
            time.sleep(1.5)
            server.start()  # same port, same directory
            supervise(workers, 1.0)
        wait_for(r, set(keys), 120, supervise=workers)
        delivered_at = time.monotonic()
        # A callback sent again comes after the delivery grace (the visibility timeout, kombu's
        # restore scan and the countdown cap: 17 s here): wait that long after the last one.
        grace = app.tracking.runtime.delivery_grace
        supervise(workers, grace + 5)
        exits = sum(w.restarts for w in workers)
        for w in workers:
            w.stop()
        truth = {ref: sim.state_of(ref) for ref in refs}
        runs = collections.Counter(d["key"] for d in deliveries(r))
        # Every run that got as far as its store write, completed or not (a run whose write went
        # through but whose answer a restart lost fails, and is rightly run again): for the record.
        writes = collections.Counter(json.loads(x)["key"] for x in r.lrange("test:attempts", 0, -1))
        logs = "".join((tmp_path / f"r{i}.log").read_text(errors="replace") for i in range(2))
        again = sum(runs.values()) - len(runs)
        print(
            f"{RESTART_JOBS} jobs, {RESTARTS} Redis {'crashes' if CRASH else 'restarts'} "
            f"({during} delivered before each), "
            f"{len(runs)} delivered within {delivered_at - started:.0f} s: {again} callbacks run twice "
            f"({1000 * again / RESTART_JOBS:.1f} per 1,000 jobs), {exits} worker exits; "
            f"store writes beyond one per job: {sum(writes.values()) - len(writes)}"
        )
        assert set(runs) == set(keys), f"{len(set(keys) - set(runs))} of {len(keys)} jobs not delivered"
        assert _check_delivered_once(r, keys, truth) == again == 0
    assert exits == 0, "a worker exited at a Redis restart:\n" + "\n".join(
        line for line in logs.splitlines() if "Unrecoverable" in line
    )
