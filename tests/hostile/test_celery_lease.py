"""A Celery worker paused past its lease polls nothing it lost: a real redis-server, real Celery
workers (subprocesses, prefork), a real SIGSTOP/SIGCONT, and the requests counted at the
simulator on 127.0.0.1.

Worker A claims two jobs' steps and waits in the task for the provider's budget (its host
paused, as a 429 seen by any worker pauses it); A is then stopped (SIGSTOP: a machine asleep, a
VM paused) for longer than its lease (3 s here). Worker B's sweep finds the steps unclaimed,
sends them again, and B polls both jobs to their end. When A wakes (SIGCONT) its wait is over
and it would poll: the fencing check (the claim, in Redis, right before the poll) finds the
steps taken over, and A polls nothing and writes nothing.
"""

from __future__ import annotations

import collections
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("celery")
sim_module = pytest.importorskip("docstatus.simulator")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _celery_support import Worker, deliveries, load_app, redis_binary, redis_server, wait_for, worker_env  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

if redis_binary() is None:
    if os.environ.get("CI"):
        pytest.fail("redis-server is not on PATH under CI (.ci/run installs it)", pytrace=False)
    pytest.skip("redis-server is not on PATH (apt-get install redis-server)", allow_module_level=True)

RATES = {"neurolinker": 200.0}
LEASE = 3.0


@pytest.fixture
def app_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield lambda url: load_app(monkeypatch, url, RATES, lease=str(LEASE))
    sys.modules.pop("_celery_app", None)


def test_a_worker_paused_past_its_lease_polls_nothing_it_lost(
    tmp_path: Path, app_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis  # noqa: PLC0415
    from docstatus._waiting._attempt import host_key as _host_key  # noqa: PLC0415
    from docstatus._waiting._poll import Configs, to_ref  # noqa: PLC0415

    with sim_module.Simulator() as sim, redis_server(tmp_path) as server:
        app = app_module(server.url)
        r = redis.Redis.from_url(server.url)
        env = worker_env(sim, server.url, json.dumps(RATES), lease=str(LEASE))
        refs = [sim.create_job("neurolinker", "happy_path", step=1.0) for _ in range(2)]
        for name, value in sim.env().items():
            monkeypatch.setenv(name, value)
        host = f"docstatus:host:{_host_key(to_ref(refs[0]), Configs.of(None))}"

        # The host stays paused (a pause under a second at a time: waited in the task) until A
        # is stopped.
        holding = threading.Event()
        holding.set()

        def hold() -> None:
            while holding.is_set():
                r.hset(host, "pause_until", repr(time.time() + 0.8))
                time.sleep(0.2)

        holder = threading.Thread(target=hold, daemon=True)
        holder.start()
        a = Worker("a", env, tmp_path / "a.log", concurrency=2)
        b = None
        try:
            keys = {app.tracking.track(ref, on_done=app.done.s(), deadline=120): ref for ref in refs}
            chains = [f"docstatus:chain:{key}" for key in keys]
            end = time.monotonic() + 60
            while time.monotonic() < end and not all(r.hget(c, "holder") for c in chains):
                time.sleep(0.05)
            assert all(r.hget(c, "holder") for c in chains), "worker A never claimed both steps"
            time.sleep(0.3)  # A is waiting for the budget in both tasks
            a.pause()
            holding.clear()
            holder.join(5)
            r.hdel(host, "pause_until")
            # A holds both steps still (stopped mid-step), and has polled nothing.
            assert all(r.hget(c, "seq") == b"0" and r.hget(c, "holder") for c in chains)
            assert not [q for q in sim.requests if q.provider == "neurolinker"]

            b = Worker("b", env, tmp_path / "b.log", concurrency=2)
            wait_for(r, set(keys), 90)  # B takes the steps over once A's lease ends, and ends both jobs
            assert {d["key"] for d in deliveries(r)} == set(keys), "worker B did not end both jobs"
            resumed = time.time()
            a.resume()
            time.sleep(6.0)  # A wakes, its waits end; every message it held is handled
        finally:
            holding.clear()
            a.stop()
            if b is not None:
                b.stop()
        after = [q for q in sim.requests if q.provider == "neurolinker" and q.at.timestamp() >= resumed]
        per_key = collections.Counter(d["key"] for d in deliveries(r))
        log_a = (tmp_path / "a.log").read_text(errors="replace")

    print(f"requests after A woke: {len(after)} (A had held {len(keys)} steps past its {LEASE:g} s lease)")
    assert after == [], f"{len(after)} polls after A woke, on jobs B had taken over:\n{log_a[-3000:]}"
    assert all(n == 1 for n in per_key.values()), per_key  # and nothing delivered twice
    assert log_a.count("was taken over by another worker") == len(keys), log_a[-3000:]
