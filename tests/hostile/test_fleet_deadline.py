"""Deadlines that nothing pushes back, over real HTTP on 127.0.0.1: a 429 whose ``Retry-After``
says 1e9 seconds, and a poll that never returns because the layer below ignores its own timeout.

``watch_many`` used to honour the host's pause past the job's deadline (``WaitPolicy(timeout=3,
max_hint=20)`` raised ``WaitTimeout`` after 20.2 s), and let its own HTTP poll run without an
outer timeout. Each job now ends by its deadline + ``FINAL_GRACE`` + one request timeout +
``POLL_GRACE``; the bounds below add a second of slack for a loaded machine.
"""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import docstatus
import pytest
from _rawserver import RawServer, answer
from docstatus import ProviderConfig, RateLimited, TransportError, WaitPolicy, WaitTimeout
from docstatus._waiting._many import FINAL_GRACE
from docstatus._waiting._single import POLL_GRACE

if TYPE_CHECKING:
    from docstatus._refs import JobRef

pytestmark = pytest.mark.anyio

TOKEN = "fleet-token-0123456789"
REQUEST_TIMEOUT = 1.0  # the provider configuration's own
SLACK = 1.0


def config(url: str) -> ProviderConfig:
    return ProviderConfig(provider="artos", base_url=url, token=TOKEN, timeout=REQUEST_TIMEOUT)


def bound(timeout: float) -> float:
    return timeout + FINAL_GRACE + REQUEST_TIMEOUT + POLL_GRACE + SLACK


async def test_a_retry_after_of_1e9_ends_every_waiter_at_its_deadline() -> None:
    """watch_many, wait_async and wait (in a thread), side by side against a server that answers
    every request 429 with ``Retry-After: 1e9``: each ends with ``WaitTimeout`` at its deadline."""
    forever = answer(429, {"detail": "go away"}, {"Content-Type": "application/json", "Retry-After": "1e9"})
    policy = WaitPolicy(timeout=3.0, max_hint=20.0)
    refs = [f"artos:job-{i}" for i in range(6)]
    with RawServer(forever, limit=60.0) as server:
        cfg = config(server.url)

        async def fleet() -> tuple[float, dict[str, docstatus.JobUpdate]]:
            start = time.monotonic()
            async with aclosing(docstatus.watch_many(refs, config=cfg, policy=policy, host_concurrency=2)) as s:  # type: ignore[type-var]
                ended = {u.ref: u async for u in s if u.done}
            return time.monotonic() - start, ended

        async def single_async() -> tuple[float, BaseException]:
            start = time.monotonic()
            with pytest.raises(WaitTimeout) as caught:
                await docstatus.wait_async("artos:alone-async", config=cfg, policy=policy)
            return time.monotonic() - start, caught.value

        def single_sync() -> tuple[float, BaseException]:
            start = time.monotonic()
            with pytest.raises(WaitTimeout) as caught:
                docstatus.wait("artos:alone-sync", config=cfg, policy=policy)
            return time.monotonic() - start, caught.value

        async with asyncio.timeout(30):  # the old watch_many took 20.2 s
            (t_fleet, ended), (t_async, e_async), (t_sync, e_sync) = await asyncio.gather(
                fleet(), single_async(), asyncio.to_thread(single_sync)
            )
    assert set(ended) == set(refs)
    for update in ended.values():
        assert isinstance(update.error, WaitTimeout)
    assert any(isinstance(u.error.__cause__, RateLimited) for u in ended.values() if u.error is not None)
    for elapsed in (t_fleet, t_async, t_sync):
        assert 3.0 - 0.05 <= elapsed <= bound(3.0)
    assert isinstance(e_async.__cause__, RateLimited)
    assert isinstance(e_sync.__cause__, RateLimited)


async def test_watch_many_abandons_its_own_http_poll_when_the_layer_below_overruns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """docstatus's own fetch, made to ignore its timeout for one job (it sleeps an hour): the outer
    guard abandons it, the job ends with ``WaitTimeout`` caused by that, and the others finish."""
    from docstatus._http import _status as http_status  # noqa: PLC0415  # what watch_many's poll calls

    real = http_status.fetch_async
    hung: list[str] = []

    async def fetch(ref: JobRef, *args: Any) -> Any:
        if ref.job_id == "hung":
            hung.append(str(ref))
            await asyncio.sleep(3600)
        return await real(ref, *args)

    monkeypatch.setattr(http_status, "fetch_async", fetch)
    refs = [f"artos:job-{i}" for i in range(20)]
    done = answer(200, {"task_id": "x", "status": "Ready"})
    policy = WaitPolicy(timeout=2.0, initial_delay=0.2)
    with RawServer(done, limit=60.0) as server:
        start = time.monotonic()
        stream = docstatus.watch_many([*refs, "artos:hung"], config=config(server.url), policy=policy)
        async with asyncio.timeout(20), aclosing(stream) as updates:  # type: ignore[type-var]
            ended = {u.ref: u async for u in updates if u.done}
        elapsed = time.monotonic() - start
    assert hung
    assert all(ended[r].final is not None for r in refs)
    error = ended["artos:hung"].error
    assert isinstance(error, WaitTimeout)
    assert isinstance(error.__cause__, TransportError)
    assert "abandoned" in str(error.__cause__)
    assert elapsed <= bound(2.0)


async def test_wait_async_abandons_its_own_http_poll_at_the_configurations_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same for ``wait_async``: its guard is the configuration's request timeout + grace, not
    the whole time left (which would let a hung first poll run to the deadline)."""
    from docstatus._http import _status as http_status  # noqa: PLC0415  # what watch_many's poll calls

    calls = threading.Event()

    async def fetch(ref: JobRef, *args: Any) -> Any:
        calls.set()
        await asyncio.sleep(3600)

    monkeypatch.setattr(http_status, "fetch_async", fetch)
    start = time.monotonic()
    async with asyncio.timeout(20):
        with pytest.raises(WaitTimeout) as caught:
            await docstatus.wait_async("artos:hung", config=config("http://127.0.0.1:9"), timeout=4.0)
    elapsed = time.monotonic() - start
    assert calls.is_set()
    assert "abandoned" in str(caught.value.__cause__)
    assert f"{REQUEST_TIMEOUT + POLL_GRACE:g} s" in str(caught.value.__cause__)
    assert elapsed <= bound(4.0)
