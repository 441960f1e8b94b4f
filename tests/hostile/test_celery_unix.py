"""docstatus.celery with Redis on a Unix socket only (no TCP port): a real redis-server, real
Celery workers (subprocesses, prefork) and the simulator on 127.0.0.1.

``register(app, redis_url="unix:///...")`` was accepted, then every poll failed in the rate
limiter (``limits`` takes ``redis+unix://``, not ``unix://``). One Redis client (redis-py) now
reads every URL form ``register`` takes, and the limiter is built on its connection pool.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("celery")
sim_module = pytest.importorskip("docstatus.simulator")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _celery_support import Worker, deliveries, load_app, redis_binary, redis_server, wait_for, worker_env  # noqa: E402

if redis_binary() is None:
    if os.environ.get("CI"):
        pytest.fail("redis-server is not on PATH under CI (.ci/run installs it)", pytrace=False)
    pytest.skip("redis-server is not on PATH (apt-get install redis-server)", allow_module_level=True)

#: Low enough that the limiter has work to do: unlimited, 20 jobs polled every 0.5-2 s would
#: reach the simulator at 10 to 40 requests a second.
RATES = {"neurolinker": 5.0}
#: The longest spread of the time from a worker taking a budget slot to its request reaching the
#: simulator: up to a second or two for each pool process's first request on a loaded machine
#: (its HTTP client and provider client start then), so the rate is checked over 3 s windows.
SKEW = 2.0
WINDOW = 3.0


def _most_in_window(times: list[float], width: float) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > width:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("given", ["unix", "broker"])
def test_a_redis_on_a_unix_socket_serves_broker_state_and_rate_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    """``given="unix"``: ``redis_url="unix:///.../redis.sock?db=0"`` (redis-py's form) beside a
    ``redis+socket://`` broker; ``"broker"``: no ``redis_url``, the broker's ``redis+socket://``
    URL (kombu's form) is used for the state too. Every job is delivered and the provider's rate
    holds, counted at the simulator."""
    import redis  # noqa: PLC0415

    try:
        with sim_module.Simulator() as sim, redis_server(tmp_path, unix=True) as server:
            assert server.port == 0  # no TCP: only the socket reaches it
            state = {"state_url": server.url} if given == "unix" else {}
            app = load_app(monkeypatch, server.broker_url, RATES, **state)
            env = worker_env(sim, server.broker_url, json.dumps(RATES), **state)
            workers = [Worker(f"u{i}", env, tmp_path / f"u{i}.log") for i in range(2)]
            refs = [sim.create_job("neurolinker", "happy_path", step=3.0) for _ in range(20)]
            keys = {app.tracking.track(ref, on_done=app.done.s(), deadline=90): ref for ref in refs}
            r = redis.Redis(unix_socket_path=str(server.socket_path))
            try:
                wait_for(r, set(keys), 60)
            finally:
                for w in workers:
                    w.stop()
            logs = "".join((tmp_path / f"u{i}.log").read_text(errors="replace") for i in range(2))
            got = {d["key"]: d["state"] for d in deliveries(r)}
            truth = {key: sim.state_of(ref) for key, ref in keys.items()}
            times = sorted(q.at.timestamp() for q in sim.requests if q.provider == "neurolinker")
    finally:
        sys.modules.pop("_celery_app", None)

    assert got == truth, logs[-3000:]
    most = _most_in_window(times, WINDOW)
    budget = RATES["neurolinker"]
    print(f"{len(times)} requests through the limiter on the socket: at most {most} in any {WINDOW:g} s ({budget:g}/s)")
    assert len(times) > len(keys)  # every job polled, some while they ran: the limiter had work (the duration
    # model, warm after a few jobs, polls the later ones where they end: fewer than two polls each)
    assert most <= budget * (WINDOW + SKEW)
    assert "raised unexpected" not in logs
