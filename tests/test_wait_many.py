"""watch_many: many jobs, one budget per provider host, per-job outcomes, and clean cancellation."""

from __future__ import annotations

import asyncio
import collections
import gc
import itertools
import weakref
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import attrs
import docstatus
import pytest
from docstatus import (
    ActionRequired,
    ConfigurationError,
    DocstatusError,
    InvalidJobRef,
    JobNotFound,
    JobStatus,
    JobUpdate,
    RateLimited,
    State,
    WaitPolicy,
    WaitTimeout,
)
from docstatus._refs import parse_ref
from docstatus._waiting._aimd import FLOOR, MIN_RATE, RECOVERY
from docstatus._waiting._many import FINAL_GRACE, HORIZON, POLL_GRACE, HostBudget

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from docstatus._refs import JobRef

SARVAM = "5b1f0c9e-8c1d-4a7e-9f6a-2d3b4c5d6e7f"


@attrs.define
class Fleet:
    """Fake jobs on a fake clock: ``durations[ref]`` seconds each; ``script[ref]`` overrides answers."""

    now: float = 0.0
    durations: dict[str, float] = attrs.Factory(dict)
    script: dict[str, list[Any]] = attrs.Factory(dict)
    polls: list[tuple[float, str]] = attrs.Factory(list)
    sleeps: int = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps += 1
        self.now += seconds
        await asyncio.sleep(0)

    async def poll(self, ref: JobRef, timeout: float) -> JobStatus:
        assert timeout > 0
        key = str(ref)
        self.polls.append((self.now, key))
        answers = self.script.get(key)
        if answers:
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            if isinstance(answer, Exception):
                raise answer
            return answer  # type: ignore[no-any-return]
        done = self.now >= self.durations.get(key, 0.0)
        return JobStatus(
            provider=ref.provider,
            job_id=ref.job_id,
            state=State.SUCCEEDED if done else State.RUNNING,
            provider_state="done" if done else "running",
        )

    def run(self, refs: list[str], **kw: Any) -> AsyncIterator[JobUpdate]:
        return docstatus.watch_many(refs, poll=self.poll, clock=self.clock, sleep=self.sleep, **kw)


async def collect(stream: AsyncIterator[JobUpdate]) -> list[JobUpdate]:
    return [u async for u in stream]


def ends(updates: list[JobUpdate]) -> dict[str, JobUpdate]:
    done = [u for u in updates if u.done]
    assert len(done) == len({u.ref for u in done}), "one last update per job"
    return {u.ref: u for u in done}


# --- outcomes


@pytest.mark.anyio
async def test_every_job_ends_with_one_final_update_in_simulated_time() -> None:
    fleet = Fleet()
    refs = [f"artos:job-{i}" for i in range(300)]
    for i, ref in enumerate(refs):
        fleet.durations[ref] = 10.0 * i  # up to ~50 minutes
    # The backoff's lag bound, without a duration model (which polls a job sparsely where its
    # kind seldom ends: tests/test_durations.py)
    policy = docstatus.WaitPolicy(timeout=7200, durations=None)
    updates = await collect(fleet.run(refs, policy=policy, host_rate=None, host_concurrency=50))
    final = ends(updates)
    assert set(final) == set(refs)
    for ref, update in final.items():
        assert update.error is None
        assert update.final is not None
        assert update.final.state is State.SUCCEEDED
        seen_at = max(t for t, r in fleet.polls if r == ref)
        assert seen_at - fleet.durations[ref] <= 0.1 * fleet.durations[ref] + 1.0 + 1e-6
    assert all(not u.done for u in updates if u.status is not None and not u.status.terminal)
    fixed = sum(int(d) + 1 for d in fleet.durations.values())  # what a 1 s poller would send
    assert len(fleet.polls) < fixed / 10


@pytest.mark.anyio
async def test_each_job_gets_its_own_providers_graces_in_one_fleet() -> None:
    # specs/neurolinker/NOTES.md 17, specs/sarvam/NOTES.md 6: per provider by default
    fleet = Fleet()
    gone = JobNotFound("no such job", status_code=404)
    accepted = JobStatus(provider="sarvam", job_id=SARVAM, state=State.ACTION_REQUIRED, provider_state="Accepted")
    fleet.script = {
        "neurolinker:late": [gone, gone, gone, "done"],
        "artos:missing": [gone],
        f"sarvam:{SARVAM}": [accepted, accepted, "done"],
        "artos:waits": [JobStatus(provider="artos", job_id="waits", state=State.ACTION_REQUIRED, provider_state="X")],
    }
    fleet.script["neurolinker:late"][-1] = JobStatus(
        provider="neurolinker", job_id="late", state=State.SUCCEEDED, provider_state="completed"
    )
    fleet.script[f"sarvam:{SARVAM}"][-1] = JobStatus(
        provider="sarvam", job_id=SARVAM, state=State.SUCCEEDED, provider_state="Completed"
    )
    final = ends(await collect(fleet.run(list(fleet.script), timeout=120)))
    assert final["neurolinker:late"].final is not None
    assert final[f"sarvam:{SARVAM}"].final is not None
    assert isinstance(final["artos:missing"].error, JobNotFound)
    assert isinstance(final["artos:waits"].error, ActionRequired)
    polls = collections.Counter(ref for _t, ref in fleet.polls)
    assert (polls["neurolinker:late"], polls[f"sarvam:{SARVAM}"]) == (4, 3)
    assert polls["artos:missing"] == polls["artos:waits"] == 1


@pytest.mark.anyio
async def test_one_jobs_error_never_stops_the_others() -> None:
    fleet = Fleet()
    stuck = JobStatus(provider="sarvam", job_id=SARVAM, state=State.ACTION_REQUIRED, provider_state="Accepted")
    odd = JobStatus(provider="artos", job_id="odd", state=State.UNKNOWN, provider_state="Archived")
    fleet.script = {
        "artos:missing": [JobNotFound("no such job", status_code=404)],
        f"sarvam:{SARVAM}": [stuck],
        "artos:odd": [odd],
        "artos:slow": [RateLimited("429", retry_after=5.0), RateLimited("429", retry_after=5.0), "ok"],
    }
    fleet.script["artos:slow"][-1] = JobStatus(
        provider="artos", job_id="slow", state=State.SUCCEEDED, provider_state="Ready"
    )
    fleet.durations["artos:fine"] = 30.0
    refs = ["artos:missing", f"sarvam:{SARVAM}", "artos:odd", "artos:slow", "artos:fine"]
    final = ends(await collect(fleet.run(refs, timeout=120)))
    assert isinstance(final["artos:missing"].error, JobNotFound)
    assert isinstance(final[f"sarvam:{SARVAM}"].error, ActionRequired)
    timeout = final["artos:odd"].error
    assert isinstance(timeout, WaitTimeout)
    assert timeout.last_status == odd
    assert final["artos:slow"].final is not None
    assert final["artos:fine"].final is not None
    assert final["artos:fine"].final.state is State.SUCCEEDED
    assert fleet.now >= 120.0  # the unknown job was polled until its deadline


@pytest.mark.anyio
async def test_each_change_is_reported_once_and_the_hook_sees_it() -> None:
    fleet = Fleet()
    fleet.durations = {"artos:a": 5.0, "artos:b": 50.0}
    seen: list[JobStatus] = []
    updates = await collect(fleet.run(["artos:a", "artos:b"], on_change=seen.append))
    assert [u.status for u in updates] == seen
    by_ref = collections.defaultdict(list)
    for u in updates:
        by_ref[u.ref].append(u.status.state if u.status else None)
    assert by_ref["artos:a"] == [State.RUNNING, State.SUCCEEDED]
    assert by_ref["artos:b"] == [State.RUNNING, State.SUCCEEDED]


@pytest.mark.anyio
async def test_duplicate_refs_are_watched_once() -> None:
    fleet = Fleet()
    updates = await collect(fleet.run(["artos:a", "artos:a", "artos:b", "artos:a"]))
    assert sorted(ends(updates)) == ["artos:a", "artos:b"]
    assert sorted(r for _, r in fleet.polls) == ["artos:a", "artos:b"]


@pytest.mark.anyio
async def test_no_refs_no_updates() -> None:
    assert await collect(Fleet().run([])) == []


@pytest.mark.anyio
async def test_bad_refs_and_configuration_raise_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = Fleet()
    with pytest.raises(InvalidJobRef):
        await collect(fleet.run(["artos:a", "bogus"]))
    monkeypatch.delenv("DOCSTATUS_SARVAM_TOKEN", raising=False)
    monkeypatch.setenv("DOCSTATUS_ARTOS_TOKEN", "t")
    with pytest.raises(ConfigurationError, match="DOCSTATUS_SARVAM_TOKEN"):
        await collect(docstatus.watch_many(["artos:a", f"sarvam:{SARVAM}"]))
    assert fleet.polls == []


@pytest.mark.anyio
async def test_bad_budgets_are_refused() -> None:
    fleet = Fleet()
    with pytest.raises(ValueError, match="concurrency"):
        await collect(fleet.run(["artos:a"], concurrency=0))
    with pytest.raises(ValueError, match="host_rate"):
        await collect(fleet.run(["artos:a"], host_rate=0.0))
    with pytest.raises(TypeError, match="clock"):
        await collect(docstatus.watch_many(["artos:a"], poll=fleet.poll, clock=fleet.clock))


# --- budgets


@pytest.mark.anyio
async def test_concurrency_is_bounded_in_total_and_per_host() -> None:
    inflight: collections.Counter[str] = collections.Counter()
    peaks: collections.Counter[str] = collections.Counter()

    async def poll(ref: JobRef, timeout: float) -> JobStatus:
        inflight["all"] += 1
        inflight[ref.provider] += 1
        for key in ("all", ref.provider):
            peaks[key] = max(peaks[key], inflight[key])
        await asyncio.sleep(0.005)
        inflight["all"] -= 1
        inflight[ref.provider] -= 1
        return JobStatus(provider=ref.provider, job_id=ref.job_id, state=State.SUCCEEDED, provider_state="x")

    refs = [f"artos:a{i}" for i in range(40)] + [f"markdown2pdf:m{i}" for i in range(40)]
    updates = await collect(docstatus.watch_many(refs, poll=poll, concurrency=6, host_concurrency=4, host_rate=None))
    assert len(ends(updates)) == 80
    assert peaks["all"] == 6  # used, and never more
    assert peaks["artos"] <= 4
    assert peaks["markdown2pdf"] <= 4


@pytest.mark.anyio
async def test_the_request_rate_per_host_is_bounded() -> None:
    fleet = Fleet()
    refs = [f"artos:a{i}" for i in range(60)]
    await collect(fleet.run(refs, host_rate=10.0, host_concurrency=5))
    starts = sorted(t for t, _ in fleet.polls)
    assert starts[-1] >= (60 - 5) / 10.0 - 1e-9
    for t in starts:
        in_window = sum(1 for s in starts if t <= s < t + 1.0)
        assert in_window <= 10 + 5  # the rate, plus one burst


@pytest.mark.anyio
async def test_hosts_do_not_share_a_rate() -> None:
    fleet = Fleet()
    refs = [f"artos:a{i}" for i in range(20)] + [f"markdown2pdf:m{i}" for i in range(20)]
    await collect(fleet.run(refs, host_rate=10.0, host_concurrency=1))
    last = {p: max(t for t, r in fleet.polls if r.startswith(p)) for p in ("artos", "markdown2pdf")}
    assert last["artos"] == pytest.approx(1.9)  # 20 at 10/s each, side by side
    assert last["markdown2pdf"] == pytest.approx(1.9)


@pytest.mark.anyio
async def test_a_429_from_one_job_pauses_every_job_of_that_host_only() -> None:
    fleet = Fleet()
    artos = [f"artos:a{i}" for i in range(10)]
    m2p = [f"markdown2pdf:m{i}" for i in range(10)]
    for ref in artos + m2p:
        fleet.durations[ref] = 60.0
    fleet.script["artos:a0"] = [RateLimited("429", retry_after=20.0)]
    fleet.script["artos:a0"].append(fleet.script["artos:a0"][0])  # keep answering... then:
    fleet.script["artos:a0"][-1] = JobStatus(
        provider="artos", job_id="a0", state=State.SUCCEEDED, provider_state="Ready"
    )
    await collect(fleet.run(artos + m2p, host_rate=100.0, policy=WaitPolicy(jitter=0.0)))
    t429 = next(t for t, r in fleet.polls if r == "artos:a0")
    paused = [(t, r) for t, r in fleet.polls if t429 < t < t429 + 20.0]
    assert paused, "the other host went on"
    assert all(r.startswith("markdown2pdf") for _, r in paused)
    resumed = [t for t, r in fleet.polls if r.startswith("artos") and t > t429]
    assert min(resumed) >= t429 + 20.0


@pytest.mark.anyio
async def test_a_throttled_host_is_polled_slower_then_recovers_within_a_few_answers() -> None:
    fleet = Fleet()
    refs = [f"artos:a{i}" for i in range(40)]
    for ref in refs:
        fleet.durations[ref] = 600.0
    fleet.script["artos:a0"] = [
        RateLimited("429", retry_after=1.0),
        JobStatus(provider="artos", job_id="a0", state=State.SUCCEEDED, provider_state="Ready"),
    ]
    policy = WaitPolicy(jitter=0.0, initial_delay=0.5, lag_ratio=None, max_delay=0.5, use_progress=False)
    await collect(fleet.run(refs, host_rate=8.0, host_concurrency=1, policy=policy, timeout=900))
    t429 = next(t for t, r in fleet.polls if r == "artos:a0")
    after = sorted(t for t, _ in fleet.polls if t > t429)
    assert after[0] >= t429 + 1.0  # the pause
    gaps = [b - a for a, b in itertools.pairwise(after[:6])]
    assert 1 / 8.0 < gaps[0] <= 1 / 4.0 + 1e-9  # halved (4 per second, and each answer adds back)...
    assert all(b < a for a, b in itertools.pairwise(gaps[:5]))  # ...faster with each answer...

    def rate(start: float, seconds: float) -> float:
        return sum(1 for t, _ in fleet.polls if start <= t < start + seconds) / seconds

    assert rate(t429 + 3.0, 60.0) == pytest.approx(8.0, rel=0.05)  # ...back to the limit within 2 s


def test_host_budget_lowers_the_rate_once_per_window_and_raises_it_per_answer() -> None:
    policy = WaitPolicy()
    host = HostBudget(key="artos x", concurrency=4, rate=10.0)
    seqs = [host.take(100.0) for _ in range(4)]  # four polls in flight
    host.throttle(100.1, 3.0, policy, seqs[0])
    assert host.pause_until == pytest.approx(103.1)
    assert host.current == 5.0
    for seq in seqs[1:]:  # the same burst of 429s, to polls sent before the decrease: no more
        host.throttle(100.2, 3.0, policy, seq)
    assert host.current == 5.0
    assert host.ready_at(101.0) >= 103.1
    host.answered(seqs[0])  # an answer to a poll of the old window raises nothing
    assert host.current == 5.0
    late = host.take(103.1)
    host.throttle(103.2, None, policy, late)  # a new window: lowered again (no hint: a backoff pause)
    assert host.current == 2.5
    assert host.pause_until > 103.2
    for _ in range(50):  # every new window halves, down to the floor, not to nothing
        host.throttle(103.3, 0.0, policy, host.take(103.3))
    assert host.current == max(MIN_RATE, FLOOR * 10.0)
    answers = 0
    while host.current != 10.0:
        host.answered(host.take(104.0))
        answers += 1
    assert answers == 9  # from the floor to the limit: + INCREASE * limit per answer
    assert host.decreased_at is None


def test_host_budget_recovers_in_full_after_a_quiet_spell() -> None:
    host = HostBudget(key="artos x", concurrency=2, rate=10.0)
    host.throttle(0.0, 1.0, WaitPolicy(), host.take(0.0))
    assert host.current == 5.0
    host.ready_at(RECOVERY - 0.1)
    assert host.current == 5.0
    host.ready_at(RECOVERY)
    assert host.current == 10.0


def test_host_budget_resumes_after_a_pause_without_a_burst() -> None:
    host = HostBudget(key="artos x", concurrency=8, rate=10.0)
    host.throttle(0.0, 2.0, WaitPolicy(), host.take(0.0))
    assert host.ready_at(0.0) == pytest.approx(2.0)  # one poll when the pause ends...
    host.take(2.0)
    assert host.ready_at(2.0) == pytest.approx(2.0 + 1 / host.current)  # ...then at the rate


def test_host_budget_without_a_rate_slows_to_half_the_pace_that_met_the_429() -> None:
    host = HostBudget(key="artos x", concurrency=4, rate=None)
    seq = 0
    for i in range(50):
        seq = host.take(i * 0.05)  # 20 polls per second
        host.done()
    host.throttle(3.0, 1.0, WaitPolicy(), seq)
    assert host.current == pytest.approx(10.0)
    for _ in range(6):
        host.answered(host.take(4.0))
    assert host.current is None  # unlimited again


@pytest.mark.anyio
async def test_sparse_429s_cost_little_throughput_on_a_fake_clock() -> None:
    fleet = Fleet()
    refs = [f"artos:j{i}" for i in range(500)]
    limited = RateLimited("429", retry_after=0.1)
    done = [JobStatus(provider="artos", job_id="x", state=State.SUCCEEDED, provider_state="Ready")]
    for i, ref in enumerate(refs):  # 8 % of first answers are 429
        fleet.script[ref] = [limited, *done] if i % 12 == 5 else list(done)
    policy = WaitPolicy(timeout=120.0, min_delay=0.1)
    final = ends(await collect(fleet.run(refs, host_rate=20.0, host_concurrency=4, policy=policy)))
    assert len(final) == 500
    assert all(u.final is not None for u in final.values())
    ideal = len(fleet.polls) / 20.0
    assert fleet.now < 2.0 * ideal  # the old rule (halve per 429, recover after 10 s) took > 10x


# --- deadlines that no pause or budget pushes back


# Deadlines nearer and farther than HORIZON: a job held by its host gets its expiry entry at
# once, or from the scan of the held jobs that runs every HORIZON / 2.
@pytest.mark.anyio
@pytest.mark.parametrize(("timeout", "max_hint"), [(3.0, 20.0), (HORIZON * 3 + 7, HORIZON * 20)])
async def test_a_huge_retry_after_cannot_push_a_job_past_its_deadline(timeout: float, max_hint: float) -> None:
    fleet = Fleet()
    refs = [f"artos:a{i}" for i in range(20)]
    for ref in refs:
        fleet.script[ref] = [RateLimited("429", retry_after=1e9)]
    policy = WaitPolicy(timeout=timeout, max_hint=max_hint)
    updates = await collect(fleet.run(refs, policy=policy, host_concurrency=4))
    final = ends(updates)
    assert set(final) == set(refs)
    polled = {r for _, r in fleet.polls}
    for ref, update in final.items():
        assert isinstance(update.error, WaitTimeout)
        if ref in polled:
            assert isinstance(update.error.__cause__, RateLimited)
        else:  # held by the pause from the first poll on: never polled, and it says so
            assert "no status was received" in str(update.error)
    assert fleet.now == pytest.approx(timeout)  # every job ended at its deadline, none waited out the pause
    assert all(t < timeout for t, _ in fleet.polls)
    assert len(fleet.polls) == 4  # one burst, then the host's pause held every job


@pytest.mark.anyio
@pytest.mark.parametrize(("timeout", "rate"), [(10.0, 2.0), (HORIZON * 3 + 7, 0.2)])
async def test_jobs_starved_by_the_rate_budget_end_on_time(timeout: float, rate: float) -> None:
    fleet = Fleet()
    refs = [f"artos:a{i}" for i in range(100)]
    for ref in refs:
        fleet.durations[ref] = 1e6
    policy = WaitPolicy(timeout=timeout)
    updates = await collect(fleet.run(refs, policy=policy, host_rate=rate, host_concurrency=2))
    final = ends(updates)
    assert set(final) == set(refs)
    assert all(isinstance(u.error, WaitTimeout) for u in final.values())
    assert fleet.now <= timeout + FINAL_GRACE + 1e-9
    assert max(t for t, _ in fleet.polls) <= timeout + FINAL_GRACE + 1e-9
    never = [u for u in final.values() if u.status is None]
    assert never  # 100 jobs at 2 per second: most were never polled, and say so
    assert all(u.error is not None and u.error.last_status is None for u in never)  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_the_last_poll_at_the_deadline_is_made_when_the_budget_allows() -> None:
    fleet = Fleet()
    fleet.durations["artos:a"] = 1e6
    await collect(fleet.run(["artos:a"], policy=WaitPolicy(timeout=50.0)))
    assert max(t for t, _ in fleet.polls) == pytest.approx(50.0)


@pytest.mark.anyio
async def test_a_poll_that_overruns_is_abandoned_within_the_deadline() -> None:
    async def poll(ref: JobRef, timeout: float) -> JobStatus:
        await asyncio.sleep(3600)
        raise AssertionError  # pragma: no cover

    policy = WaitPolicy(timeout=0.5, request_timeout=0.2)
    loop = asyncio.get_running_loop()
    start = loop.time()
    updates = await collect(docstatus.watch_many(["artos:a", "artos:b"], poll=poll, policy=policy))
    assert loop.time() - start < 0.5 + FINAL_GRACE + 0.5 + POLL_GRACE + 1.0
    for update in ends(updates).values():
        assert isinstance(update.error, WaitTimeout)
        assert "abandoned" in str(update.error.__cause__)


# --- refs as given


@pytest.mark.anyio
async def test_each_ref_is_reported_as_given_and_spellings_of_one_job_are_polled_once() -> None:
    fleet = Fleet()
    upper = f"sarvam:{SARVAM.upper()}"
    lower = f"sarvam:{SARVAM}"
    parsed = parse_ref("artos:x")
    refs: list[str | JobRef] = [upper, "artos:a", upper, lower, parsed, "artos:x"]
    fleet.durations = {lower: 5.0}
    updates = await collect(docstatus.watch_many(refs, poll=fleet.poll, clock=fleet.clock, sleep=fleet.sleep))
    final = ends(updates)
    assert sorted(final) == sorted([upper, lower, "artos:a", "artos:x"])  # each string once, as given
    assert final[upper].job == final[lower].job == parse_ref(lower)
    assert [u.status for u in updates if u.ref == upper] == [u.status for u in updates if u.ref == lower]
    assert final[upper].final is not None
    assert sorted(r for _, r in fleet.polls if r != lower) == ["artos:a", "artos:x"]  # one job each


# --- errors stay with their job


@pytest.mark.parametrize(
    "error",
    [
        ConfigurationError("bad settings for this one"),
        InvalidJobRef("a ref the poll function refused"),
        WaitTimeout("an inner wait gave up", ref="artos:bad", last_status=None, timeout=1.0),
        DocstatusError("something else"),
    ],
    ids=lambda e: type(e).__name__,
)
@pytest.mark.anyio
async def test_any_docstatus_error_from_a_poll_ends_only_its_job(error: DocstatusError) -> None:
    fleet = Fleet()
    refs = [f"artos:a{i}" for i in range(30)]
    fleet.script["artos:bad"] = [error]
    final = ends(await collect(fleet.run([*refs, "artos:bad"])))
    assert final["artos:bad"].error is error
    assert all(final[r].final is not None for r in refs)


# --- leaving early, failures, cancellation


@pytest.mark.anyio
async def test_leaving_early_cancels_every_poll_and_leaves_nothing_running() -> None:
    calls: list[str] = []

    async def poll(ref: JobRef, timeout: float) -> JobStatus:
        calls.append(str(ref))
        await asyncio.sleep(0.01)
        return JobStatus(provider="artos", job_id=ref.job_id, state=State.RUNNING, provider_state=str(len(calls)))

    before = asyncio.all_tasks()
    policy = WaitPolicy(initial_delay=0.02, min_delay=0.02, lag_ratio=None, multiplier=1.0)
    stream = docstatus.watch_many([f"artos:a{i}" for i in range(20)], poll=poll, policy=policy, host_rate=None)
    async with aclosing(stream) as updates:  # type: ignore[type-var]  # an async generator
        got = 0
        async for _ in updates:
            got += 1
            if got == 30:
                break
    assert asyncio.all_tasks() == before
    seen = len(calls)
    await asyncio.sleep(0.1)
    assert len(calls) == seen


@pytest.mark.anyio
async def test_cancelling_the_consumer_leaves_nothing_running() -> None:
    started = asyncio.Event()

    async def poll(ref: JobRef, timeout: float) -> JobStatus:
        started.set()
        await asyncio.sleep(3600)
        raise AssertionError  # pragma: no cover

    async def consume() -> None:
        async for _ in docstatus.watch_many([f"artos:a{i}" for i in range(10)], poll=poll):
            pass  # pragma: no cover

    before = asyncio.all_tasks()
    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.all_tasks() == before


@pytest.mark.anyio
async def test_a_failing_hook_stops_watch_many_with_its_error() -> None:
    fleet = Fleet()
    fleet.durations = {f"artos:a{i}": 30.0 for i in range(5)}

    def hook(status: JobStatus) -> None:
        raise RuntimeError("hook broke")

    before = asyncio.all_tasks()
    with pytest.raises(RuntimeError, match="hook broke"):
        await collect(fleet.run(list(fleet.durations), on_change=hook))
    assert asyncio.all_tasks() == before


@pytest.mark.anyio
async def test_a_poll_function_bug_is_raised_not_retried() -> None:
    calls = []

    async def poll(ref: JobRef, timeout: float) -> JobStatus:
        calls.append(ref)
        raise KeyError("bug")

    with pytest.raises(KeyError, match="bug"):
        await collect(docstatus.watch_many(["artos:a"], poll=poll))
    assert len(calls) == 1


@pytest.mark.anyio
async def test_thousands_of_jobs_on_a_fake_clock() -> None:
    fleet = Fleet()
    refs = [f"artos:j{i}" for i in range(2_000)]
    for i, ref in enumerate(refs):
        fleet.durations[ref] = float(i % 600)
    updates = await collect(fleet.run(refs, host_rate=None, concurrency=256, host_concurrency=256))
    assert len(ends(updates)) == 2_000
    assert all(u.final is not None for u in updates if u.done)


@pytest.mark.anyio
async def test_an_ended_job_is_let_go_at_once_not_kept_until_its_deadline() -> None:
    """What a job holds (its waiter, its last status) is freed when it ends, while the others
    wait on: a fleet of long waits does not grow with the jobs that already ended."""
    fleet = Fleet()
    refs = [f"artos:quick{i}" for i in range(50)] + ["artos:later", "artos:slow"]
    fleet.durations["artos:later"] = 500.0
    fleet.durations["artos:slow"] = 1000.0
    seen: dict[str, weakref.ref[JobStatus]] = {}
    alive: list[str] | None = None
    async with aclosing(fleet.run(refs, policy=WaitPolicy(timeout=3600.0))) as stream:
        async for update in stream:
            if update.done and update.ref.startswith("artos:quick"):
                assert update.status is not None
                seen[update.ref] = weakref.ref(update.status)
            elif update.done and update.ref == "artos:later":  # long after the quick ones ended
                assert len(seen) == 50
                assert fleet.now < 1000.0  # the slow job still waits
                del update
                gc.collect()
                alive = [ref for ref, status in seen.items() if status() is not None]
                break
    assert alive == []  # nothing of an ended job was kept by the fleet
