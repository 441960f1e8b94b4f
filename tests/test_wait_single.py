"""wait / watch and their async twins: the shells around the core, with an injected clock, fake
poll functions, and the real HTTP path against canned_server."""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import logging
import time
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import docstatus
import httpx
import pytest
from conftest import Canned, CannedServer
from docstatus import (
    ActionRequired,
    AuthenticationError,
    ConfigurationError,
    InvalidJobRef,
    JobNotFound,
    JobStatus,
    ProviderConfig,
    ProviderServerError,
    State,
    TransportError,
    WaitPolicy,
    WaitTimeout,
)
from docstatus._waiting import _single
from docstatus._waiting._poll import outcome

if TYPE_CHECKING:
    from docstatus._refs import JobRef

TOKEN = "secret-token-abc123"
RUNNING = {"task_id": "doc-1", "status": "Generating", "progress": 40}
READY = {"task_id": "doc-1", "status": "Ready", "progress": 100}


@attrs.define
class FakeTime:
    """A clock that moves only when slept on; records the sleeps."""

    now: float = 0.0
    sleeps: list[float] = attrs.Factory(list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)


@attrs.define
class Job:
    """A fake job at artos that runs ``duration`` seconds of ``time``, answering through ``poll``."""

    time: FakeTime
    duration: float
    polls: list[float] = attrs.Factory(list)
    progress: bool = False

    def status(self) -> JobStatus:
        t = self.time.now
        if t >= self.duration:
            return JobStatus(
                provider="artos", job_id="doc-1", state=State.SUCCEEDED, provider_state="Ready", progress=1.0
            )
        return JobStatus(
            provider="artos",
            job_id="doc-1",
            state=State.RUNNING,
            provider_state="Generating",
            progress=t / self.duration if self.progress else None,
        )

    def poll(self, ref: JobRef, timeout: float) -> JobStatus:
        assert str(ref) == "artos:doc-1"
        assert timeout > 0
        self.polls.append(self.time.now)
        return self.status()

    async def apoll(self, ref: JobRef, timeout: float) -> JobStatus:
        return self.poll(ref, timeout)


def spy_clients(monkeypatch: pytest.MonkeyPatch) -> list[httpx.AsyncClient]:
    """Record every httpx.AsyncClient the async shells open."""
    clients: list[httpx.AsyncClient] = []
    real = _single.new_async_client

    def spy(connections: int | None = None) -> httpx.AsyncClient:
        clients.append(real(connections))
        return clients[-1]

    monkeypatch.setattr(_single, "new_async_client", spy)
    return clients


def config(server: CannedServer, **kw: Any) -> ProviderConfig:
    return ProviderConfig(provider="artos", base_url=server.base_url, token=TOKEN, **kw)


# --- sync: the rules through the shell


def test_wait_returns_the_final_status_after_an_hour_of_simulated_time() -> None:
    t = FakeTime()
    job = Job(t, duration=3600.0)
    final = docstatus.wait("artos:doc-1", poll=job.poll, clock=t.clock, sleep=t.sleep, timeout=7200)
    assert final.state is State.SUCCEEDED
    assert t.now >= 3600.0
    assert t.now - 3600.0 <= 0.1 * 3600 + 1  # seen within 10 % of the duration + 1 s
    assert len(job.polls) < 3601 / 3  # far fewer than a 1 s poller
    assert sum(t.sleeps) == pytest.approx(t.now)


def test_wait_never_returns_a_status_that_is_not_final() -> None:
    t = FakeTime()
    job = Job(t, duration=1e9)
    with pytest.raises(WaitTimeout) as caught:
        docstatus.wait("artos:doc-1", poll=job.poll, clock=t.clock, sleep=t.sleep, timeout=30)
    assert t.now == pytest.approx(30.0)
    assert job.polls[-1] == pytest.approx(30.0)  # the last poll is made at the deadline
    error = caught.value
    assert error.ref == "artos:doc-1"
    assert error.last_status is not None
    assert error.last_status.state is State.RUNNING
    assert error.timeout == 30


def test_watch_yields_each_change_once_and_ends_with_the_final_status() -> None:
    t = FakeTime()
    job = Job(t, duration=20.0, progress=True)
    seen = list(docstatus.watch("artos:doc-1", poll=job.poll, clock=t.clock, sleep=t.sleep))
    assert seen[-1].state is State.SUCCEEDED
    assert all(not s.terminal for s in seen[:-1])
    assert all(a != b for a, b in itertools.pairwise(seen))
    assert len(job.polls) >= len(seen)


def test_watch_skips_repeated_statuses_and_on_change_sees_the_same() -> None:
    t = FakeTime()
    job = Job(t, duration=50.0)  # no progress: every running status is the same
    changes: list[JobStatus] = []
    seen = list(docstatus.watch("artos:doc-1", poll=job.poll, clock=t.clock, sleep=t.sleep, on_change=changes.append))
    assert [s.state for s in seen] == [State.RUNNING, State.SUCCEEDED]
    assert changes == seen
    assert len(job.polls) > 2


def test_wait_calls_the_progress_hook_per_change() -> None:
    t = FakeTime()
    job = Job(t, duration=10.0, progress=True)
    changes: list[JobStatus] = []
    final = docstatus.wait("artos:doc-1", poll=job.poll, clock=t.clock, sleep=t.sleep, on_change=changes.append)
    assert changes[-1] == final
    assert len(changes) >= 2


def test_a_transient_error_streak_is_retried_then_succeeds() -> None:
    t = FakeTime()
    answers: list[Any] = [
        docstatus.RateLimited("429", retry_after=4.0),
        ProviderServerError("HTTP 520", status_code=520),
        TransportError("connection refused"),
        docstatus.MalformedResponse("html", status_code=200),
        JobStatus(provider="artos", job_id="doc-1", state=State.SUCCEEDED, provider_state="Ready"),
    ]

    def poll(ref: JobRef, timeout: float) -> JobStatus:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    policy = WaitPolicy(jitter=0, lag_ratio=None)
    final = docstatus.wait("artos:doc-1", poll=poll, clock=t.clock, sleep=t.sleep, policy=policy)
    assert final.state is State.SUCCEEDED
    assert t.sleeps[0] == 4.0  # the 429's Retry-After
    assert t.sleeps[1:] == [1.5, 2.25, 3.375]  # then backoff, counting every failed poll


@pytest.mark.parametrize(
    "error",
    [JobNotFound("no such job", status_code=404), AuthenticationError("bad token", status_code=401)],
)
def test_permanent_errors_raise_at_once(error: Exception) -> None:
    t = FakeTime()
    calls = []

    def poll(ref: JobRef, timeout: float) -> JobStatus:
        calls.append(ref)
        raise error

    with pytest.raises(type(error)) as caught:
        docstatus.wait("artos:doc-1", poll=poll, clock=t.clock, sleep=t.sleep)
    assert caught.value is error
    assert len(calls) == 1
    assert t.sleeps == []


def test_action_required_raises_at_once() -> None:
    t = FakeTime()
    stuck = JobStatus(provider="sarvam", job_id="x", state=State.ACTION_REQUIRED, provider_state="Accepted")
    with pytest.raises(ActionRequired) as caught:
        docstatus.wait("artos:doc-1", poll=lambda _ref, _timeout: stuck, clock=t.clock, sleep=t.sleep)
    assert caught.value.status == stuck
    assert t.sleeps == []


def test_unknown_polls_on_with_one_warning_until_the_deadline(caplog: pytest.LogCaptureFixture) -> None:
    t = FakeTime()
    odd = JobStatus(provider="artos", job_id="doc-1", state=State.UNKNOWN, provider_state="Archived")
    calls = []

    def poll(ref: JobRef, timeout: float) -> JobStatus:
        calls.append(t.now)
        return odd

    with caplog.at_level(logging.WARNING, logger="docstatus"), pytest.raises(WaitTimeout) as caught:
        docstatus.wait("artos:doc-1", poll=poll, clock=t.clock, sleep=t.sleep, timeout=60)
    assert caught.value.last_status == odd
    assert len(calls) > 3
    warnings = [r for r in caplog.records if "Archived" in r.getMessage()]
    assert len(warnings) == 1


def test_unknown_raises_at_once_when_asked() -> None:
    t = FakeTime()
    odd = JobStatus(provider="artos", job_id="doc-1", state=State.UNKNOWN, provider_state="Archived")
    with pytest.raises(docstatus.UnknownState):
        docstatus.wait(
            "artos:doc-1",
            poll=lambda _ref, _timeout: odd,
            clock=t.clock,
            sleep=t.sleep,
            policy=WaitPolicy(unknown="raise"),
        )
    assert t.sleeps == []


def test_a_clock_that_never_moves_still_ends() -> None:
    calls = []

    def poll(ref: JobRef, timeout: float) -> JobStatus:
        calls.append(1)
        return JobStatus(provider="artos", job_id="doc-1", state=State.RUNNING, provider_state="Generating")

    policy = WaitPolicy(timeout=10.0, min_delay=0.5)
    with pytest.raises(WaitTimeout):
        docstatus.wait("artos:doc-1", poll=poll, clock=lambda: 0.0, sleep=lambda _s: None, policy=policy)
    assert len(calls) <= 10.0 / 0.5 + 3


def test_bad_refs_and_configuration_raise_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidJobRef):
        docstatus.wait("nosuch:1")
    monkeypatch.delenv("DOCSTATUS_ARTOS_TOKEN", raising=False)
    with pytest.raises(ConfigurationError, match="DOCSTATUS_ARTOS_TOKEN"):
        docstatus.watch("artos:doc-1")  # at the call, not at the first next()
    with pytest.raises(ConfigurationError):
        docstatus.wait("artos:doc-1", config=ProviderConfig(provider="sarvam", base_url="http://x", token="t"))


# --- sync over HTTP (canned_server): hints from headers, errors translated, no secrets


def test_wait_over_http_honours_retry_after_on_429_and_on_200(canned_server: CannedServer) -> None:
    canned_server.reply(
        Canned(429, {"detail": "slow down"}, headers={"Retry-After": "3"}),
        Canned(200, RUNNING, headers={"retry-after-ms": "2500"}),
        Canned(503, b"", headers={"Retry-After": "0"}),
        Canned(200, READY),
    )
    t = FakeTime()
    policy = WaitPolicy(jitter=0.0, min_delay=0.25)
    final = docstatus.wait("artos:doc-1", config=config(canned_server), clock=t.clock, sleep=t.sleep, policy=policy)
    assert final.state is State.SUCCEEDED
    assert t.sleeps == [3.0, 2.5, 0.25]
    assert len(canned_server.requests) == 4
    assert canned_server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_an_http_date_hint_is_measured_from_the_response_date(canned_server: CannedServer) -> None:
    server_now = time.time() - 3600  # the server's clock is an hour behind ours
    canned_server.reply(
        Canned(
            429,
            b"",
            headers={
                "Date": email.utils.formatdate(server_now, usegmt=True),
                "Retry-After": email.utils.formatdate(server_now + 20, usegmt=True),
            },
        ),
        Canned(200, READY),
    )
    t = FakeTime()
    # the 429 goes through docstatus.RateLimited (measured against our clock: 0); a 200's hint
    # goes through the response headers, measured against the response's Date
    docstatus.wait("artos:doc-1", config=config(canned_server), clock=t.clock, sleep=t.sleep)
    canned_server.reply(
        Canned(
            200,
            RUNNING,
            headers={
                "Date": email.utils.formatdate(server_now, usegmt=True),
                "Retry-After": email.utils.formatdate(server_now + 20, usegmt=True),
            },
        ),
        Canned(200, READY),
    )
    t2 = FakeTime()
    docstatus.wait("artos:doc-1", config=config(canned_server), clock=t2.clock, sleep=t2.sleep)
    assert t2.sleeps == [pytest.approx(20.0, abs=1.0)]


def test_a_failing_provider_ends_in_a_timeout_caused_by_its_error_without_secrets(
    canned_server: CannedServer, caplog: pytest.LogCaptureFixture
) -> None:
    canned_server.reply(Canned(500, {"error": f"boom {TOKEN}"}))
    t = FakeTime()
    with caplog.at_level(logging.DEBUG), pytest.raises(WaitTimeout) as caught:
        docstatus.wait("artos:doc-1", config=config(canned_server), clock=t.clock, sleep=t.sleep, timeout=20)
    error = caught.value
    assert isinstance(error.__cause__, ProviderServerError)
    assert error.last_status is None
    assert 3 <= len(canned_server.requests) <= 20
    assert TOKEN not in str(error)
    assert TOKEN not in str(error.__cause__)
    assert TOKEN not in caplog.text


def test_404_over_http_raises_job_not_found_after_one_request(canned_server: CannedServer) -> None:
    canned_server.reply(Canned(404, b""))
    t = FakeTime()
    with pytest.raises(JobNotFound):
        docstatus.wait("artos:doc-1", config=config(canned_server), clock=t.clock, sleep=t.sleep)
    assert len(canned_server.requests) == 1


def test_a_given_client_is_used_and_left_open(canned_server: CannedServer) -> None:
    canned_server.reply(Canned(200, READY))
    with httpx.Client() as client:
        docstatus.wait("artos:doc-1", config=config(canned_server), client=client)
        assert not client.is_closed


def test_a_dropped_connection_is_retried(canned_server: CannedServer) -> None:
    canned_server.reply(Canned(drop=True), Canned(200, READY))
    t = FakeTime()
    final = docstatus.wait("artos:doc-1", config=config(canned_server), clock=t.clock, sleep=t.sleep)
    assert final.state is State.SUCCEEDED
    assert len(canned_server.requests) == 2


# --- async


@pytest.mark.anyio
async def test_wait_async_with_an_injected_clock() -> None:
    t = FakeTime()
    job = Job(t, duration=300.0)
    final = await docstatus.wait_async("artos:doc-1", poll=job.apoll, clock=t.clock, sleep=t.asleep, timeout=900)
    assert final.state is State.SUCCEEDED
    assert t.now - 300.0 <= 31.0


@pytest.mark.anyio
async def test_wait_async_times_out_with_the_last_status() -> None:
    t = FakeTime()
    job = Job(t, duration=1e9)
    with pytest.raises(WaitTimeout) as caught:
        await docstatus.wait_async("artos:doc-1", poll=job.apoll, clock=t.clock, sleep=t.asleep, timeout=10)
    assert caught.value.last_status is not None
    assert job.polls[-1] == pytest.approx(10.0)


@pytest.mark.anyio
async def test_watch_async_yields_changes() -> None:
    t = FakeTime()
    job = Job(t, duration=12.0, progress=True)
    changes: list[JobStatus] = []
    seen = [
        s
        async for s in docstatus.watch_async(
            "artos:doc-1", poll=job.apoll, clock=t.clock, sleep=t.asleep, on_change=changes.append
        )
    ]
    assert seen[-1].terminal
    assert seen == changes


@pytest.mark.anyio
async def test_wait_async_over_http(canned_server: CannedServer) -> None:
    canned_server.reply(Canned(429, b"", headers={"Retry-After": "2"}), Canned(200, RUNNING), Canned(200, READY))
    t = FakeTime()
    final = await docstatus.wait_async(
        "artos:doc-1",
        config=config(canned_server),
        clock=t.clock,
        sleep=t.asleep,
        policy=WaitPolicy(jitter=0),
    )
    assert final.state is State.SUCCEEDED
    assert t.sleeps == [2.0, 1.0]


@pytest.mark.anyio
async def test_a_hung_poll_is_abandoned_and_retried_within_the_deadline() -> None:
    calls = []

    async def poll(ref: JobRef, timeout: float) -> JobStatus:
        calls.append(timeout)
        await anyio.sleep_forever()
        raise AssertionError  # pragma: no cover

    policy = WaitPolicy(timeout=0.2, request_timeout=0.05, min_delay=0.05)
    start = time.monotonic()
    with pytest.raises(WaitTimeout) as caught:
        await docstatus.wait_async("artos:doc-1", poll=poll, policy=policy)
    assert isinstance(caught.value.__cause__, TransportError)
    assert 1 <= len(calls) <= 3
    assert time.monotonic() - start < 10  # bounded: deadline + one request's grace each


@pytest.mark.anyio
async def test_cancelling_wait_async_leaves_nothing_running(canned_server: CannedServer) -> None:
    canned_server.reply(Canned(200, RUNNING))
    policy = WaitPolicy(initial_delay=0.05, min_delay=0.05, jitter=0.0, lag_ratio=None, multiplier=1.0)
    before = asyncio.all_tasks()
    task = asyncio.create_task(docstatus.wait_async("artos:doc-1", config=config(canned_server), policy=policy))
    for _ in range(200):
        if len(canned_server.requests) >= 3:
            break
        await asyncio.sleep(0.01)
    assert len(canned_server.requests) >= 3
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.all_tasks() == before
    seen = len(canned_server.requests)
    await asyncio.sleep(0.3)  # six poll intervals: no poll goes on in the background
    assert len(canned_server.requests) == seen


@pytest.mark.anyio
async def test_cancelling_a_poll_in_flight_closes_the_client(
    canned_server: CannedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    canned_server.reply(Canned(200, RUNNING))
    clients = spy_clients(monkeypatch)
    with anyio.move_on_after(0.3):
        await docstatus.wait_async("artos:doc-1", config=config(canned_server), timeout=60)
    assert len(clients) == 1
    assert clients[0].is_closed


@pytest.mark.anyio
async def test_leaving_watch_async_early_closes_its_client(
    canned_server: CannedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    canned_server.reply(Canned(200, RUNNING))
    clients = spy_clients(monkeypatch)
    stream = docstatus.watch_async("artos:doc-1", config=config(canned_server))
    async with aclosing(stream) as statuses:  # type: ignore[type-var]  # an async generator
        async for status in statuses:
            assert status.state is State.RUNNING
            break
    assert clients[0].is_closed


# --- what a poll function may return


def test_outcome_reads_statuses_fetch_results_and_header_bearing_objects() -> None:
    status = JobStatus(provider="artos", job_id="doc-1", state=State.RUNNING, provider_state="Generating")
    assert outcome(status) == (status, None)
    hinted = docstatus.FetchResult(
        status=status, status_code=200, headers=httpx.Headers({"Retry-After": "7"}), retry_after=7.0
    )
    assert outcome(hinted) == (status, 7.0)
    plain = docstatus.FetchResult(status=status, status_code=200, headers=httpx.Headers({}), retry_after=None)
    assert outcome(plain) == (status, None)

    @attrs.frozen
    class HeadersOnly:
        status: JobStatus
        headers: httpx.Headers

    assert outcome(HeadersOnly(status, httpx.Headers({"retry-after-ms": "1500"}))) == (status, 1.5)
    with pytest.raises(TypeError, match="poll function must return a JobStatus"):
        outcome({"state": "running"})
