"""Waiting against the offline simulator over real HTTP: every ready-made script and every fault
ends bounded in requests and time, with the documented outcome.

The waiter's clock is the simulator's (frozen; ``sleep`` advances it), so minutes of job time pass
in milliseconds while every poll is a real request to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import math
import time
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import docstatus
import pytest
from docstatus import (
    ActionRequired,
    AuthenticationError,
    JobFailed,
    JobNotFound,
    MalformedResponse,
    ProviderConfig,
    ProviderServerError,
    RateLimited,
    State,
    TransportError,
    UnknownState,
    WaitPolicy,
    WaitTimeout,
)
from docstatus.simulator import SCRIPTS, Fault

if TYPE_CHECKING:
    from collections.abc import Iterator

    from docstatus.simulator import Simulator

PROVIDERS = ("aitronos", "artos", "markdown2pdf", "neurolinker", "sarvam")
STEP = 10.0  # simulated seconds per phase
#: The state each ready-made script ends in (None: it does not end).
ENDS = {
    "happy_path": State.SUCCEEDED,
    "failure": State.FAILED,
    "partial_success": State.PARTIALLY_SUCCEEDED,
    "stuck_accepted": None,
    "unknown_state": None,
}
POLICY = WaitPolicy(timeout=600.0)


@pytest.fixture
def sim(docstatus_sim: Simulator) -> Iterator[Simulator]:
    docstatus_sim.clock.freeze()
    return docstatus_sim


def config(sim: Simulator, provider: str, **kw: Any) -> ProviderConfig:
    return ProviderConfig(
        provider=provider,  # type: ignore[arg-type]
        base_url=sim.base_url(provider),
        token=kw.pop("token", sim.tokens.get(provider)),
        **kw,
    )


def wait(sim: Simulator, ref: str, **kw: Any) -> docstatus.JobStatus:
    kw.setdefault("policy", POLICY)
    kw.setdefault("config", config(sim, ref.split(":", 1)[0]))
    return docstatus.wait(ref, clock=sim.clock.now, sleep=sim.clock.advance, **kw)


def polls_for(duration: float) -> int:
    """A generous bound on the polls a job of ``duration`` seconds needs under the 10 % lag bound
    (delays grow to about a tenth of the time waited: ~10 ln(1 + duration / 10) polls)."""
    return int(10 * math.log(1 + duration / 10)) + 15


def requests_for(sim: Simulator, ref: str) -> list[Any]:
    return [r for r in sim.requests if r.ref == ref]


# --- every ready-made script


@pytest.mark.parametrize(("provider", "name"), [(p, s) for p in PROVIDERS for s in SCRIPTS[p]])
def test_every_script_ends_as_documented(sim: Simulator, provider: str, name: str) -> None:
    ref = sim.create_job(provider, name, step=STEP)
    start = sim.clock.now()
    ends = ENDS[name]
    if ends is not None:
        final = wait(sim, ref)
        assert final.state is ends
        assert final.ref == ref
        phases = len(SCRIPTS[provider][name].phases)
        duration = (phases - 1) * STEP
        lag = sim.clock.now() - start - duration
        assert 0 <= lag <= 0.1 * duration + 1.0 + 0.5  # + the request's own time
        if ends is not State.SUCCEEDED:
            with pytest.raises(JobFailed):
                final.raise_for_failure()
    elif name == "stuck_accepted":  # polled through for Sarvam's action grace, then raised (specs/sarvam/NOTES.md 6)
        with pytest.raises(ActionRequired) as caught:
            wait(sim, ref)
        assert caught.value.status.provider_state == "Accepted"
        grace = POLICY.action_grace_for("sarvam")
        assert grace > 0
        assert sim.clock.now() - start == pytest.approx(grace, abs=0.5)
        assert 2 <= len(requests_for(sim, ref)) <= polls_for(grace)
    else:  # unknown_state: polled on until the deadline
        with pytest.raises(WaitTimeout) as caught:
            wait(sim, ref, timeout=120.0)
        assert caught.value.last_status is not None
        assert caught.value.last_status.state is State.UNKNOWN
        assert sim.clock.now() - start == pytest.approx(120.0, abs=1.0)
        assert 5 <= len(requests_for(sim, ref)) <= 120 / POLICY.min_delay


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_unknown_state_raises_at_once_when_asked(sim: Simulator, provider: str) -> None:
    ref = sim.create_job(provider, "unknown_state", step=STEP)
    sim.clock.advance(10 * STEP)
    with pytest.raises(UnknownState):
        wait(sim, ref, policy=WaitPolicy(unknown="raise"))
    assert len(requests_for(sim, ref)) == 1


def test_the_sarvam_partial_success_keeps_its_page_errors(sim: Simulator) -> None:
    ref = sim.create_job("sarvam", "partial_success", step=STEP)
    final = wait(sim, ref)
    assert final.state is State.PARTIALLY_SUCCEEDED
    assert final.pages is not None
    assert final.pages.failed == 1
    assert [e.page for e in final.pages.errors] == [3]


# --- every fault


#: fault -> (the error each faulty answer becomes, or None when the answer is a status).
TRANSIENT_FAULTS = {
    "429 seconds": (Fault.rate_limit(retry_after=5, count=2), RateLimited),
    "429 http-date": (Fault.rate_limit(retry_after=3, form="http-date", count=1), RateLimited),
    "429 no hint": (Fault.rate_limit(retry_after=None, count=2), RateLimited),
    "500": (Fault.error(500, count=2), ProviderServerError),
    "503 with hint": (Fault.error(503, retry_after=2, count=2), ProviderServerError),
    "520": (Fault.error(520, count=2), ProviderServerError),
    "slow": (Fault.slow(delay=1.0, count=2), TransportError),
    "drop": (Fault.drop(count=2), TransportError),
    "truncated": (Fault.truncated(count=2), TransportError),
    "html 200": (Fault.html(200, count=2), MalformedResponse),
    "html 502": (Fault.html(502, count=2), ProviderServerError),
}


@pytest.mark.parametrize("fault", list(TRANSIENT_FAULTS))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_transient_faults_are_retried_and_the_job_still_ends(sim: Simulator, provider: str, fault: str) -> None:
    armed, _ = TRANSIENT_FAULTS[fault]
    ref = sim.create_job(provider, "happy_path", step=STEP)
    sim.inject(armed, ref=ref)
    start, real = sim.clock.now(), time.monotonic()
    final = wait(sim, ref, config=config(sim, provider, timeout=0.3))
    assert final.state is State.SUCCEEDED
    seen = requests_for(sim, ref)
    faulty = [r for r in seen if r.outcome.startswith("fault:")]
    assert len(faulty) == armed.count
    duration = (len(SCRIPTS[provider]["happy_path"].phases) - 1) * STEP
    assert len(seen) <= armed.count + polls_for(duration)  # bounded
    assert sim.clock.now() - start <= duration + 0.1 * duration + 1.0 + 10.0  # + the faults' waits
    assert time.monotonic() - real < 10.0  # no real waiting but the slow answers' own time
    if armed.retry_after:
        first = faulty[0].at.timestamp()
        after = next(r.at.timestamp() for r in seen if r.at.timestamp() > first)
        assert after - first >= armed.retry_after - 1.0  # the hint was honoured (dates: 1 s resolution)


@pytest.mark.parametrize("fault", list(TRANSIENT_FAULTS))
def test_a_fault_that_never_ends_gives_a_timeout_caused_by_it(sim: Simulator, fault: str) -> None:
    armed, error = TRANSIENT_FAULTS[fault]
    if armed.kind == "slow":
        forever = Fault.slow(delay=1.0, count=1000)
    else:
        forever = Fault(
            kind=armed.kind,
            status=armed.status,
            retry_after=armed.retry_after,
            retry_after_form=armed.retry_after_form,
            count=1000,
        )
    ref = sim.create_job("artos", "happy_path", step=STEP)
    sim.inject(forever, ref=ref)
    start = sim.clock.now()
    timeout = 5.0 if armed.kind == "slow" else 60.0
    with pytest.raises(WaitTimeout) as caught:
        wait(sim, ref, config=config(sim, "artos", timeout=0.2), timeout=timeout)
    assert isinstance(caught.value.__cause__, error)
    assert caught.value.last_status is None
    assert sim.clock.now() - start <= timeout + 0.5
    assert 2 <= len(requests_for(sim, ref)) <= timeout / POLICY.min_delay + 3


@pytest.mark.parametrize("provider", PROVIDERS)
def test_not_found_and_bad_credentials_raise_at_once(sim: Simulator, provider: str) -> None:
    ref = sim.create_job(provider, "happy_path", step=STEP)
    sim.inject(Fault.error(404), ref=ref)
    # Neurolinker retries a 404 by default (specs/neurolinker/NOTES.md 17: tests/test_waiting_grace.py)
    policy = WaitPolicy(timeout=600.0, not_found_grace=0.0) if provider == "neurolinker" else POLICY
    with pytest.raises(JobNotFound):
        wait(sim, ref, policy=policy)
    assert len(requests_for(sim, ref)) == 1
    if provider == "markdown2pdf":
        return  # no credentials to get wrong
    with pytest.raises(AuthenticationError) as caught:
        wait(sim, ref, config=config(sim, provider, token="wrong-token-value"))
    assert "wrong-token-value" not in str(caught.value)
    assert len(requests_for(sim, ref)) == 2


def test_a_job_the_simulator_never_had_is_not_found(sim: Simulator) -> None:
    with pytest.raises(JobNotFound):
        wait(sim, "artos:no-such-document")
    assert len(sim.requests) == 1


# --- async, and many jobs at once over real time


@pytest.mark.anyio
async def test_wait_async_against_the_simulator(sim: Simulator) -> None:
    ref = sim.create_job("sarvam", "happy_path", step=STEP)
    sim.inject(Fault.rate_limit(retry_after=4), ref=ref)

    async def sleep(seconds: float) -> None:
        sim.clock.advance(seconds)
        await asyncio.sleep(0)

    final = await docstatus.wait_async(
        ref, config=config(sim, "sarvam"), clock=sim.clock.now, sleep=sleep, policy=POLICY
    )
    assert final.state is State.SUCCEEDED


@pytest.mark.anyio
async def test_watch_many_over_the_simulator_in_real_time(docstatus_sim: Simulator) -> None:
    sim = docstatus_sim  # the clock follows real time
    jobs = {
        sim.create_job(p, s, step=0.3): expected
        for p in PROVIDERS
        for s, expected in (("happy_path", State.SUCCEEDED), ("failure", State.FAILED))
    }
    partial = sim.create_job("sarvam", "partial_success", step=0.3)
    jobs[partial] = State.PARTIALLY_SUCCEEDED
    sim.inject(Fault.rate_limit(retry_after=1), provider="aitronos")  # the first aitronos poll
    configs = [config(sim, p, timeout=2.0) for p in PROVIDERS]
    policy = WaitPolicy(timeout=30.0, initial_delay=0.1, min_delay=0.05)
    changes: list[docstatus.JobStatus] = []
    stream = docstatus.watch_many(  # one poll in flight per host: none is under way when the 429 comes
        list(jobs), config=configs, policy=policy, on_change=changes.append, host_concurrency=1
    )
    async with aclosing(stream) as updates:  # type: ignore[type-var]  # an async generator
        final = {u.ref: u async for u in updates if u.done}
    assert {ref: u.final.state for ref, u in final.items() if u.final} == jobs
    assert all(u.error is None for u in final.values())
    throttled = next(r for r in sim.requests if r.status == 429)
    t429 = throttled.at.timestamp()
    aitronos_after = [r.at.timestamp() for r in sim.requests if r.provider == "aitronos" and r.at > throttled.at]
    assert aitronos_after
    assert min(aitronos_after) - t429 >= 0.9  # every aitronos job waited out the one 429
    others = [r for r in sim.requests if r.provider != "aitronos" and t429 < r.at.timestamp() < t429 + 0.9]
    assert others  # the other providers went on meanwhile
    assert {c.ref for c in changes} == set(jobs)
