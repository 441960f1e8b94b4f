"""Jobs that start together (a burst: ``watch_many`` over thousands of jobs of one kind) on a
model that has not yet seen that kind: the first jobs to end are the shortest, and a model
learned from them alone would poll every job still running densely where the short ones ended,
again and again (25 requests a job against 16 without a model, for 3,000 jobs of ~30 s). A job
polls by a kind only if the kind was warm when the job was first seen, so a cold burst waits
exactly as without a model, while later jobs, and jobs under a model that came warm, use it.

The model and the ``Waiter`` are sans-IO: most of this runs on a simulated clock; one test goes
through ``watch_many`` and real HTTP to the simulator, its clock frozen and advanced."""

from __future__ import annotations

import heapq
import math
import random
from typing import TYPE_CHECKING, Any

import docstatus
import pytest
from docstatus import Durations, JobStatus, Pages, State, WaitPolicy
from docstatus._waiting._core import Action, Waiter, WaitState
from docstatus.simulator import Phase, Script

if TYPE_CHECKING:
    from docstatus.simulator import Simulator


def status(i: int, *, done: bool, pages: int | None = None) -> JobStatus:
    return JobStatus(
        provider="artos",
        job_id=f"j-{i}",
        state=State.SUCCEEDED if done else State.RUNNING,
        provider_state="Ready" if done else "Generating",
        pages=None if pages is None else Pages(total=pages),
    )


def burst(
    policy: WaitPolicy, durations: list[float], starts: list[float] | None = None, pages: int | None = None
) -> tuple[list[int], list[float]]:
    """Wait on every job at once (each started at ``starts[i]``, 0 by default) on one simulated
    clock, polls in time order: each job's requests and lag."""
    starts = starts or [0.0] * len(durations)
    polls, lags = [0] * len(durations), [0.0] * len(durations)
    heap: list[tuple[float, int]] = [(start, i) for i, start in enumerate(starts)]
    heapq.heapify(heap)
    waiters: dict[int, Waiter] = {}
    while heap:
        now, i = heapq.heappop(heap)
        waiter = waiters.get(i)
        if waiter is None:
            waiter = waiters[i] = Waiter.start(f"artos:j-{i}", policy, now, draw=random.Random(i).random)  # noqa: S311
        polls[i] += 1
        end = starts[i] + durations[i]
        step = waiter.on_status(status(i, done=now >= end, pages=pages), now)
        if step.action is Action.POLL:
            heapq.heappush(heap, (now + step.delay, i))
        else:
            assert step.action is Action.RETURN
            lags[i] = now - end
    return polls, lags


def spread(n: int, median: float = 30.0, sigma: float = 0.6, seed: int = 5) -> list[float]:
    rng = random.Random(seed)  # noqa: S311  # test data
    return [rng.lognormvariate(math.log(median), sigma) for _ in range(n)]


def seeded(median: float = 30.0, sigma: float = 0.3, n: int = 300) -> Durations:
    model, rng = Durations(), random.Random(4)  # noqa: S311
    for _ in range(n):
        model.record("artos", rng.lognormvariate(math.log(median), sigma))
    return model


@pytest.mark.parametrize("sigma", [0.3, 0.6])
def test_a_cold_burst_polls_exactly_as_without_a_model(sigma: float) -> None:
    durations = spread(400, sigma=sigma)
    model = Durations()
    with_model = burst(WaitPolicy(durations=model, timeout=3600), durations)
    without = burst(WaitPolicy(durations=None, timeout=3600), durations)
    assert model.samples("artos") > 100  # it learned from the burst (the jobs taught it)...
    assert with_model == without  # ...and no job of the burst polled by what its siblings taught
    # (before: 27 requests a job at sigma 0.3, 36 at 0.6, against 16.3 and 16.7)


def test_jobs_seen_after_a_burst_poll_by_what_it_taught() -> None:
    model = Durations()
    burst(WaitPolicy(durations=model, timeout=3600), spread(200, sigma=0.3))
    later = spread(200, sigma=0.3, seed=6)
    polls, lags = burst(WaitPolicy(durations=model, timeout=3600), later)
    base_polls, base_lags = burst(WaitPolicy(durations=None, timeout=3600), later)
    assert sum(polls) < 0.8 * sum(base_polls)  # about 10 requests a job against 16
    assert sum(lags) < 0.6 * sum(base_lags)


def test_a_burst_under_a_model_that_came_warm_polls_by_it() -> None:
    durations = spread(1000, sigma=0.3)
    polls, lags = burst(WaitPolicy(durations=seeded(), timeout=3600), durations)
    base_polls, base_lags = burst(WaitPolicy(durations=None, timeout=3600), durations)
    assert sum(polls) < 0.95 * sum(base_polls)  # about 14.4 requests a job against 16.3
    assert sum(lags) < 0.5 * sum(base_lags)  # about 0.6 s of lag against 2.1 s


def test_a_page_count_that_appears_later_uses_its_kind_only_if_it_was_warm_at_the_first_status() -> None:
    pages_kind = "artos/pages=8-11"
    warm = Durations()
    rng = random.Random(3)  # noqa: S311
    for _ in range(60):
        warm.record(pages_kind, rng.lognormvariate(math.log(30.0), 0.3))
    for model, polls_by_it in ((warm, True), (Durations(), False)):
        waiter = Waiter.start("artos:j-1", WaitPolicy(durations=model, jitter=0.0), 0.0)
        twin = Waiter.start("artos:j-1", WaitPolicy(durations=None, jitter=0.0), 0.0)
        for w in (waiter, twin):
            w.on_status(status(1, done=False), 0.0)  # no page count yet: kind "artos"
        if not polls_by_it:  # the kind warms while the job runs (its siblings end)
            for _ in range(60):
                model.record(pages_kind, rng.lognormvariate(math.log(30.0), 0.3))
        mine = waiter.on_status(status(1, done=False, pages=9), 2.0).delay
        theirs = twin.on_status(status(1, done=False, pages=9), 2.0).delay
        assert (mine != theirs) is polls_by_it, (mine, theirs)
        assert (mine > 5.0) is polls_by_it  # the model: sparse before the window (~20-40 s)


def test_what_a_job_may_poll_by_survives_its_state_and_a_warm_model_where_it_is_restored() -> None:
    cold, warm = Durations(), seeded()
    waiter = Waiter.start("artos:j-1", WaitPolicy(durations=cold, jitter=0.0), 0.0)
    waiter.on_status(status(1, done=False), 0.0)
    state = waiter.snapshot(5.0, 1000.0)
    assert state.to_dict()["warm"] == 0
    back = WaitState.from_dict(state.to_dict())
    policy = WaitPolicy(durations=warm, jitter=0.0)
    restored = Waiter.restore(back, policy, 5.0, 1000.0)  # a tracker or Celery worker whose model is warm
    fresh = Waiter.restore(back, WaitPolicy(durations=None, jitter=0.0), 5.0, 1000.0)
    assert restored.on_status(status(1, done=False), 6.0).delay == fresh.on_status(status(1, done=False), 6.0).delay
    # a state written before ``warm`` existed polls by the model as the restoring process has it
    old = {k: v for k, v in state.to_dict().items() if k != "warm"}
    assert Waiter.restore(WaitState.from_dict(old), policy, 5.0, 1000.0).warm == warm.warm_kinds("artos") == 1


@pytest.mark.parametrize("bad", [-1, True, 1.0, "1", 1 << 62])
def test_a_stored_warm_that_is_not_one_is_refused(bad: Any) -> None:
    data = WaitState(ref="artos:j-1", started=0.0, deadline=10.0).to_dict()
    with pytest.raises(ValueError, match=r"WaitState\.warm"):
        WaitState.from_dict({**data, "warm": bad})


@pytest.mark.anyio
async def test_watch_many_on_a_cold_model_makes_no_more_requests_than_without_one(docstatus_sim: Simulator) -> None:
    sim = docstatus_sim
    sim.clock.freeze()
    durations = spread(60, sigma=0.6)

    async def sleep(seconds: float) -> None:
        sim.clock.advance(seconds)

    async def run(model: Durations | None) -> int:
        sim.reset()
        sim.clock.freeze()
        refs = [
            sim.create_job(
                "artos",
                Script(
                    name="generating",
                    description="runs without progress, then is ready",
                    phases=(Phase(state="Generating", duration=d), Phase(state="Ready")),
                ),
            )
            for d in durations
        ]
        async for update in docstatus.watch_many(
            refs,
            policy=WaitPolicy(durations=model, timeout=3600),
            clock=sim.clock.now,
            sleep=sleep,
            rng=random.Random(7),  # noqa: S311
            host_rate=None,
            concurrency=64,
            host_concurrency=64,
        ):
            if update.done:
                assert update.status is not None
                assert update.status.state is State.SUCCEEDED
        return len(sim.requests)

    model = Durations()
    cold = await run(model)
    assert model.samples("artos") >= 30  # the jobs taught it
    assert cold <= await run(None)
