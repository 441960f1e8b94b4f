"""docstatus.celery with real Celery workers (subprocesses, prefork, concurrency 2), a real
redis-server and the simulator, all on 127.0.0.1.

Scaled for CI on a 2-core machine: 400 jobs (``DOCSTATUS_TEST_CELERY_JOBS=2000`` for the
issue's 2,000) on 3 workers, one of them killed with SIGKILL (process group: the worker and its
pool) mid-run; 150 jobs across a Redis restart. Promises: every job completed with the
simulator's final state and delivered to its callback once per idempotency key (a redelivery,
if any, with the same outcome); the request rate at the simulator, summed over every worker,
within the configured budget; no token in any Redis key or value; nothing acknowledged lost
when Redis restarts (appendonly).
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
from _celery_support import Worker, redis_binary, redis_server, worker_env  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

if redis_binary() is None:
    if os.environ.get("CI"):
        pytest.fail("redis-server is not on PATH under CI (.ci/run installs it)", pytrace=False)
    pytest.skip("redis-server is not on PATH (apt-get install redis-server)", allow_module_level=True)

RATES = {"artos": 60.0, "neurolinker": 200.0}
JOBS = int(os.environ.get("DOCSTATUS_TEST_CELERY_JOBS", "400"))
#: The longest time, in seconds, from a worker taking a slot of the shared budget to its request
#: reaching the simulator, on a loaded 2-core machine (CI runs three test workers beside these).
SKEW = 0.1


@pytest.fixture
def app_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The test app (tests/_celery_app.py) imported afresh for this test's Redis."""

    def load(url: str) -> Any:
        monkeypatch.setenv("DOCSTATUS_TEST_REDIS", url)
        monkeypatch.setenv("DOCSTATUS_TEST_RATES", json.dumps(RATES))
        sys.modules.pop("_celery_app", None)
        import _celery_app  # noqa: PLC0415

        return _celery_app

    yield load
    sys.modules.pop("_celery_app", None)


def _deliveries(r: Any) -> list[dict[str, Any]]:
    return [json.loads(x) for x in r.lrange("test:deliveries", 0, -1)]


def _wait_for(r: Any, keys: set[str], seconds: float, supervise: Sequence[Worker] = ()) -> None:
    """Until every key is delivered (or ``seconds`` pass); a worker in ``supervise`` that exited
    is started again, as its process supervisor would."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if keys <= {d["key"] for d in _deliveries(r)}:
            return
        for worker in supervise:
            worker.restart_if_exited()
        time.sleep(0.5)


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
    for d in _deliveries(r):
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
        refs = []
        for i in range(JOBS):
            provider = "artos" if i % 2 else "neurolinker"
            refs.append(sim.create_job(provider, "failure" if i % 7 == 0 else "happy_path", step=0.5 + (i % 5) * 0.3))
        started = time.monotonic()
        keys = {app.tracking.track(ref, on_done=app.done.s(), on_error=app.error.s(), deadline=90): ref for ref in refs}
        r = redis.Redis.from_url(server.url)
        # Mid-run: the kill comes once a tenth of the jobs are delivered (at most 4 s in), so
        # most are still under way however fast this machine is (a fixed 4 s saw 220 of 400 done).
        kill_by = time.monotonic() + 4.0
        while time.monotonic() < kill_by and len(_deliveries(r)) < len(refs) // 10:
            time.sleep(0.1)
        done_before = len(_deliveries(r))
        assert done_before < len(refs) // 2
        workers[0].kill()
        _wait_for(r, set(keys), 50)
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


def test_a_redis_restart_loses_no_acknowledged_job(tmp_path: Path, app_module: Any) -> None:
    import redis  # noqa: PLC0415

    with sim_module.Simulator() as sim, redis_server(tmp_path, appendonly=True) as server:
        app = app_module(server.url)
        env = worker_env(sim, server.url, json.dumps(RATES))
        workers = [Worker(f"r{i}", env, tmp_path / f"r{i}.log") for i in range(2)]
        refs = [sim.create_job("neurolinker", "happy_path", step=1.0 + (i % 4) * 0.5) for i in range(150)]
        keys = {app.tracking.track(ref, on_done=app.done.s(), deadline=90): ref for ref in refs}  # acknowledged
        time.sleep(2.0)
        server.stop()  # SIGTERM: the append-only file is flushed
        time.sleep(1.5)
        server.start()  # same port, same directory
        r = redis.Redis.from_url(server.url)
        # Celery's consumer may exit on a broker restart ("Unrecoverable error: AttributeError(
        # 'NoneType' object has no attribute 'hostname')": kombu's Redis transport races its own
        # reconnect, seen once in CI); workers run under a supervisor, which starts them again.
        # 90 s: a crashed consumer's unacknowledged messages come back only after the
        # visibility timeout, and the sweeps re-send what the broker lost after theirs.
        _wait_for(r, set(keys), 90, supervise=workers)
        for w in workers:
            w.stop()
        truth = {ref: sim.state_of(ref) for ref in refs}
        _check_delivered_once(r, keys, truth)
