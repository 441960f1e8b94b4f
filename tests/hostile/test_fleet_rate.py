"""watch_many's per-host rate adaptation against a real HTTP server on 127.0.0.1 that answers 429
(``Retry-After: 0.1``) to one request in twelve (8 %), with several polls in flight per host.

Before the AIMD rule every 429 halved the host's rate down to 0.2 polls per second and it came
back only after 10 s without one: 2 of 2,000 jobs were reported in 120 s. Now a burst of 429s
lowers the rate once, each answer raises it back, and sparse 429s cost their pauses and little
more. The assertions are on counts and ratios, with bounds generous enough for a loaded machine.
"""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import aclosing

import docstatus
import pytest
from _rawserver import Conn, RawServer, answer
from docstatus import ProviderConfig, WaitPolicy

pytestmark = pytest.mark.anyio

JOBS = 150
EVERY = 12  # one request in twelve is a 429


class SparseLimiter:
    """Answers each job's status as done, except every ``EVERY``-th request: 429, Retry-After 0.1."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.served = 0
        self.limited = 0

    def __call__(self, conn: Conn) -> None:
        with self.lock:
            self.served += 1
            limited = self.served % EVERY == 5
            self.limited += limited
        if limited:
            answer(429, {"detail": "slow down"}, {"Content-Type": "application/json", "Retry-After": "0.1"})(conn)
        else:
            job = conn.request.path.rsplit("/", 1)[1]
            answer(200, {"task_id": job, "status": "Ready"})(conn)


@pytest.mark.parametrize("host_rate", [50.0, None], ids=["host_rate=50", "no_host_rate"])
async def test_sparse_429s_do_not_collapse_a_hosts_throughput(host_rate: float | None) -> None:
    limiter = SparseLimiter()
    refs = [f"artos:job-{i}" for i in range(JOBS)]
    policy = WaitPolicy(timeout=30.0, min_delay=0.1)  # Retry-After 0.1 pauses the host 0.1 s
    with RawServer(limiter, limit=60.0) as server:
        config = ProviderConfig(provider="artos", base_url=server.url, token="fleet-token-0123456789", timeout=5.0)
        start = time.monotonic()
        updates = docstatus.watch_many(
            refs, config=config, policy=policy, host_rate=host_rate, host_concurrency=4, concurrency=16
        )
        async with asyncio.timeout(25), aclosing(updates) as stream:  # type: ignore[type-var]
            ended = {u.ref: u async for u in stream if u.done}
        elapsed = time.monotonic() - start
    assert set(ended) == set(refs)  # every job reported...
    assert all(u.final is not None for u in ended.values())  # ...done, none starved into a timeout
    assert limiter.limited >= JOBS // EVERY  # the 429s did come
    throughput = limiter.served / elapsed
    # About 30 requests per second here (50 at most, less the 0.1 s pauses); the old rule gave ~2.
    assert throughput >= 12.0, f"{limiter.served} requests in {elapsed:.1f} s"
    assert elapsed < 20.0
