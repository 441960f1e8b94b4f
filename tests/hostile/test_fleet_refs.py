"""watch_many over real HTTP on 127.0.0.1: each ref is reported as the caller gave it, and one
job's failure, of whatever kind, stays with that job.

``watch_many`` used to report ``sarvam:898DFAD4-...`` as ``sarvam:898dfad4-...`` (a caller matching
updates to its own strings lost the job), and an exception that is not a ``DocstatusError`` from
its own HTTP poll ended the whole iteration.
"""

from __future__ import annotations

import threading
import traceback
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import docstatus
import pytest
from _rawserver import Conn, RawServer, answer
from _status_checks import body
from docstatus import DocstatusError, JobUpdate, ProviderConfig, WaitPolicy
from docstatus._refs import parse_ref

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from docstatus._refs import JobRef

pytestmark = pytest.mark.anyio

TOKEN = "fleet-token-0123456789"
IDS = ["898dfad4-0c1d-4a7e-9f6a-2d3b4c5d6e7f", "0e6d1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"]


def sarvam_server() -> tuple[RawServer, list[str]]:
    seen: list[str] = []
    lock = threading.Lock()

    def route(conn: Conn) -> None:
        job = conn.request.path.split("/")[-2]
        with lock:
            seen.append(job)
        answer(200, body("sarvam", "Completed", job_id=job.lower()))(conn)

    return RawServer(route, limit=30.0), seen


async def collect(stream: AsyncIterator[JobUpdate]) -> list[JobUpdate]:
    async with aclosing(stream) as updates:  # type: ignore[type-var]  # an async generator
        return [u async for u in updates]


async def test_refs_come_back_exactly_as_given_and_each_job_is_polled_once() -> None:
    upper, lower = f"sarvam:{IDS[0].upper()}", f"sarvam:{IDS[0]}"
    other = parse_ref(f"sarvam:{IDS[1]}")
    refs: list[str | JobRef] = [upper, other, upper, lower]
    server, seen = sarvam_server()
    with server:
        cfg = ProviderConfig(provider="sarvam", base_url=server.url, token=TOKEN)
        updates = await collect(docstatus.watch_many(refs, config=cfg, policy=WaitPolicy(timeout=10.0)))
    done = [u for u in updates if u.done]
    assert sorted(u.ref for u in done) == sorted([upper, lower, str(other)])  # each given string once
    by_ref = {u.ref: u for u in done}
    assert by_ref[upper].job == by_ref[lower].job == parse_ref(lower)
    assert by_ref[upper].final is not None
    assert by_ref[upper].final == by_ref[lower].final
    assert sorted(seen) == sorted(IDS)  # two spellings of one job: one request


async def test_an_unexpected_exception_in_the_fetch_layer_ends_only_its_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the fetch layer lets through for one job (here a RecursionError and an exception
    whose text holds the credential) ends that job with a DocstatusError that does not carry the
    text; the 200 others complete."""
    from docstatus._http import _status as http_status  # noqa: PLC0415  # what watch_many's poll calls

    real = http_status.fetch_async

    async def fetch(ref: JobRef, *args: Any) -> Any:
        if ref.job_id == "deep":
            raise RecursionError("maximum recursion depth exceeded")
        if ref.job_id == "leaky":
            raise UnicodeEncodeError("ascii", f"Bearer {TOKEN}", 0, 1, "not ascii")
        return await real(ref, *args)

    monkeypatch.setattr(http_status, "fetch_async", fetch)
    good = [f"artos:good-{i}" for i in range(200)]

    def route(conn: Conn) -> None:
        answer(200, body("artos", "Ready", task_id=conn.request.path.rsplit("/", 1)[1]))(conn)

    with RawServer(route, limit=30.0) as server:
        cfg = ProviderConfig(provider="artos", base_url=server.url, token=TOKEN)
        stream = docstatus.watch_many([*good, "artos:deep", "artos:leaky"], config=cfg, host_rate=None)
        ended = {u.ref: u for u in await collect(stream) if u.done}
    assert all(ended[r].final is not None for r in good)
    for ref, kind in (("artos:deep", "RecursionError"), ("artos:leaky", "UnicodeEncodeError")):
        error = ended[ref].error
        assert type(error) is DocstatusError
        assert kind in str(error)
        assert TOKEN not in "".join(traceback.format_exception(error))
        assert error.__cause__ is None


async def test_a_bug_in_your_own_poll_function_is_raised() -> None:
    """Documented: an exception that is not a DocstatusError from a poll function of your own is
    raised out of watch_many (the polls in flight are cancelled)."""

    async def poll(ref: JobRef, timeout: float) -> Any:
        raise KeyError(ref.job_id)

    with pytest.raises(KeyError):
        await collect(docstatus.watch_many(["artos:a", "artos:b"], poll=poll))
