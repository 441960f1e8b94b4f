"""The two graces of waiting (issue 10): Sarvam's ``Accepted`` is polled through for
``WaitPolicy.action_grace`` (specs/sarvam/NOTES.md row 6), and a Neurolinker 404 is retried for
``WaitPolicy.not_found_grace`` while no status has been seen (specs/neurolinker/NOTES.md row 17).

The core on a number clock; the sync, async and fleet drivers with fake poll functions; and the
same over real HTTP against ``canned_server`` on 127.0.0.1 (time injected, requests real).
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import TYPE_CHECKING, Any

import attrs
import docstatus
import pytest
from _status_checks import SARVAM_ID, body
from conftest import Canned, CannedServer
from docstatus import (
    ActionRequired,
    JobNotFound,
    JobStatus,
    ProviderConfig,
    RateLimited,
    State,
    WaitPolicy,
    WaitTimeout,
)
from docstatus._registry import mapper
from docstatus._waiting._core import Action, Waiter, WaitState
from docstatus.simulator import Fault

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from docstatus import JobUpdate
    from docstatus._refs import JobRef
    from docstatus.simulator import Simulator

NEURO = "neurolinker:doc-7"
SARVAM = f"sarvam:{SARVAM_ID}"
TOKEN = "nl_grace_token_123"


def accepted() -> JobStatus:
    return JobStatus(provider="sarvam", job_id=SARVAM_ID, state=State.ACTION_REQUIRED, provider_state="Accepted")


def sarvam(state: State, raw: str) -> JobStatus:
    return JobStatus(provider="sarvam", job_id=SARVAM_ID, state=state, provider_state=raw)


def neuro(state: State = State.RUNNING, raw: str = "processing") -> JobStatus:
    return JobStatus(provider="neurolinker", job_id="doc-7", state=state, provider_state=raw)


def not_found() -> JobNotFound:
    return JobNotFound("neurolinker: job doc-7 not found (404)", provider="neurolinker", ref=NEURO, status_code=404)


def run_core(waiter: Waiter, answer: Any, *, until: float = 10_000.0) -> tuple[Any, list[float]]:
    """Drive ``waiter`` from t=0 with ``answer(t)`` (a status or an error) until it ends; the
    final step and the poll times."""
    step, now, times = waiter.first(), 0.0, []
    while now < until:
        now += step.delay
        times.append(now)
        got = answer(now)
        step = waiter.on_error(got, now) if isinstance(got, Exception) else waiter.on_status(got, now)
        if step.action is not Action.POLL:
            return step, times
    raise AssertionError("the wait did not end")


# --- the policy


def test_the_graces_are_per_provider_by_default_and_global_when_set() -> None:
    policy = WaitPolicy()
    assert (policy.action_grace, policy.not_found_grace) == (None, None)
    assert policy.action_grace_for("sarvam") == mapper("sarvam").ACTION_GRACE == 30.0
    assert policy.not_found_grace_for("neurolinker") == mapper("neurolinker").NOT_FOUND_GRACE == 30.0
    for provider in ("artos", "aitronos", "markdown2pdf", "sarvam_docai", "neurolinker"):
        assert policy.action_grace_for(provider) == 0.0
    for provider in ("artos", "aitronos", "markdown2pdf", "sarvam_docai", "sarvam"):
        assert policy.not_found_grace_for(provider) == 0.0
    given = WaitPolicy(action_grace=5.0, not_found_grace=0.0)
    assert given.action_grace_for("artos") == given.action_grace_for("sarvam") == 5.0
    assert given.not_found_grace_for("neurolinker") == 0.0


@pytest.mark.parametrize("value", [-1.0, math.inf, math.nan])
@pytest.mark.parametrize("name", ["action_grace", "not_found_grace"])
def test_a_grace_must_be_a_finite_number_of_seconds(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=name):
        WaitPolicy(**{name: value})


# --- action_required (Sarvam Accepted), sans-IO


def test_sarvam_accepted_is_polled_through_then_the_job_runs_and_ends() -> None:
    def answer(t: float) -> JobStatus:
        if t < 12:
            return accepted()
        return sarvam(State.RUNNING, "Running") if t < 40 else sarvam(State.SUCCEEDED, "Completed")

    step, times = run_core(Waiter.start(SARVAM, WaitPolicy(), 0.0, draw=lambda: 0.0), answer)
    assert step.action is Action.RETURN
    assert step.status.state is State.SUCCEEDED
    assert sum(1 for t in times if t < 12) >= 3  # Accepted was polled, not raised


def test_sarvam_stuck_in_accepted_raises_action_required_at_the_end_of_the_grace() -> None:
    step, times = run_core(Waiter.start(SARVAM, WaitPolicy(), 0.0, draw=lambda: 0.0), lambda _t: accepted())
    assert step.action is Action.RAISE
    assert isinstance(step.error, ActionRequired)
    assert step.error.status.provider_state == "Accepted"
    assert times[-1] == pytest.approx(30.0)  # the last backoff is cut to fall on the grace's end
    assert all(t < 30.0 - 1e-6 for t in times[:-1])
    message = str(step.error)
    assert "waits for you" in message
    assert "action_grace" in message
    assert SARVAM in message


def test_a_sarvam_grace_with_a_bare_backoff_still_ends_on_time() -> None:
    # No lag bound: the backoff reaches 60 s, and is cut at the grace's end all the same.
    policy = WaitPolicy(jitter=0.0, lag_ratio=None, use_progress=False, initial_delay=8.0, multiplier=4.0)
    step, times = run_core(Waiter.start(SARVAM, policy, 0.0), lambda _t: accepted())
    assert isinstance(step.error, ActionRequired)
    assert times == pytest.approx([0.0, 8.0, 30.0])


@pytest.mark.parametrize(
    ("ref", "policy"),
    [
        (SARVAM, WaitPolicy(action_grace=0.0)),  # turned off
        ("artos:doc-1", WaitPolicy()),  # not Sarvam: no grace by default
    ],
)
def test_without_a_grace_action_required_raises_at_once(ref: str, policy: WaitPolicy) -> None:
    step = Waiter.start(ref, policy, 0.0).on_status(accepted(), 0.0)
    assert step.action is Action.RAISE
    assert isinstance(step.error, ActionRequired)
    assert "action_grace" not in str(step.error)


def test_a_global_action_grace_applies_to_any_provider() -> None:
    waiter = Waiter.start("artos:doc-1", WaitPolicy(action_grace=5.0), 0.0, draw=lambda: 0.0)
    assert waiter.on_status(accepted(), 0.0).action is Action.POLL
    assert waiter.on_status(accepted(), 4.9).action is Action.POLL
    assert isinstance(waiter.on_status(accepted(), 5.0).error, ActionRequired)


def test_the_action_grace_counts_from_the_start_of_the_wait() -> None:
    waiter = Waiter.start(SARVAM, WaitPolicy(), 100.0, draw=lambda: 0.0)
    assert waiter.on_status(sarvam(State.RUNNING, "Running"), 100.0).action is Action.POLL
    assert waiter.on_status(accepted(), 129.0).action is Action.POLL
    assert isinstance(waiter.on_status(accepted(), 130.0).error, ActionRequired)


def test_a_deadline_before_the_action_grace_is_a_wait_timeout_with_the_accepted_status() -> None:
    step, times = run_core(Waiter.start(SARVAM, WaitPolicy(timeout=10.0), 0.0, draw=lambda: 0.0), lambda _t: accepted())
    assert step.action is Action.RAISE
    assert isinstance(step.error, WaitTimeout)
    assert step.error.last_status == accepted()
    assert times[-1] == pytest.approx(10.0)


# --- 404 (Neurolinker), sans-IO


def test_a_neurolinker_404_is_retried_within_the_grace_and_the_job_then_ends() -> None:
    def answer(t: float) -> Any:
        if t < 7:
            return not_found()
        return neuro() if t < 20 else neuro(State.SUCCEEDED, "completed")

    step, times = run_core(Waiter.start(NEURO, WaitPolicy(), 0.0, draw=lambda: 0.0), answer)
    assert step.action is Action.RETURN
    assert step.status.state is State.SUCCEEDED
    assert sum(1 for t in times if t < 7) >= 3


def test_a_404_past_the_grace_raises_job_not_found_saying_how_long_it_was_retried() -> None:
    step, times = run_core(Waiter.start(NEURO, WaitPolicy(), 0.0, draw=lambda: 0.0), lambda _t: not_found())
    assert step.action is Action.RAISE
    assert isinstance(step.error, JobNotFound)
    assert times[-1] == pytest.approx(30.0)  # a poll falls on the grace's end, and that 404 is final
    assert 5 <= len(times) <= 40
    assert any("not_found_grace" in note for note in step.error.__notes__)


def test_a_404_after_a_status_raises_at_once_even_within_the_grace() -> None:
    waiter = Waiter.start(NEURO, WaitPolicy(), 0.0, draw=lambda: 0.0)
    assert waiter.on_status(neuro(), 0.0).action is Action.POLL
    step = waiter.on_error(not_found(), 1.0)
    assert step.action is Action.RAISE
    assert isinstance(step.error, JobNotFound)


@pytest.mark.parametrize(
    ("ref", "policy"),
    [
        (NEURO, WaitPolicy(not_found_grace=0.0)),  # turned off
        ("artos:doc-1", WaitPolicy()),  # not Neurolinker: no grace by default
        (SARVAM, WaitPolicy()),
    ],
)
def test_without_a_grace_a_404_raises_at_once(ref: str, policy: WaitPolicy) -> None:
    step = Waiter.start(ref, policy, 0.0).on_error(not_found(), 0.0)
    assert step.action is Action.RAISE
    assert isinstance(step.error, JobNotFound)
    assert not getattr(step.error, "__notes__", [])


def test_a_global_not_found_grace_applies_to_any_provider() -> None:
    waiter = Waiter.start("artos:doc-1", WaitPolicy(not_found_grace=3.0), 0.0, draw=lambda: 0.0)
    assert waiter.on_error(not_found(), 0.0).action is Action.POLL
    assert waiter.on_error(not_found(), 2.9).action is Action.POLL
    assert isinstance(waiter.on_error(not_found(), 3.0).error, JobNotFound)


def test_a_deadline_within_the_404_grace_is_a_timeout_caused_by_the_404() -> None:
    policy = WaitPolicy(timeout=10.0)
    step, times = run_core(Waiter.start(NEURO, policy, 0.0, draw=lambda: 0.0), lambda _t: not_found())
    assert isinstance(step.error, WaitTimeout)
    assert isinstance(step.error.__cause__, JobNotFound)
    assert step.error.last_status is None
    assert "not found" in str(step.error)
    assert times[-1] == pytest.approx(10.0)


# --- the tolerated 404 in WaitState (the tracker's and Celery's saved state)


def test_a_tolerated_404_survives_the_wait_state_and_the_window_is_not_extended() -> None:
    waiter = Waiter.start(NEURO, WaitPolicy(), 0.0, draw=lambda: 0.0)
    waiter.on_error(not_found(), 0.0)
    waiter.on_error(not_found(), 1.0)
    data = json.loads(json.dumps(waiter.snapshot(1.0, 5_000.0).to_dict(), allow_nan=False))
    assert data["v"] == 1
    assert data["last_error"] is None
    assert data["last_not_found"]["status_code"] == 404
    state = WaitState.from_dict(data)
    # Another process, 20 s later on the wall clock, whose monotonic clock reads 900.
    restored = Waiter.restore(state, WaitPolicy(), 900.0, 5_020.0, draw=lambda: 0.0)
    assert restored.snapshot(900.0, 5_020.0) == attrs.evolve(state)
    assert isinstance(restored.timeout_error().__cause__, JobNotFound)
    assert restored.on_error(not_found(), 900.0).action is Action.POLL  # wall 5 020: 21 s into the window
    assert isinstance(restored.on_error(not_found(), 909.5).error, JobNotFound)  # wall 5 029.5: past it


def test_a_wait_state_without_a_tolerated_404_keeps_the_v1_form() -> None:
    waiter = Waiter.start("artos:a", WaitPolicy(), 0.0)
    waiter.on_error(RateLimited("429", retry_after=2.0), 1.0)
    data = waiter.snapshot(1.0, 100.0).to_dict()
    assert "last_not_found" not in data  # older readers see exactly the form they know
    assert WaitState.from_dict(data).last_not_found is None


@pytest.mark.parametrize(
    "bad",
    [
        "404",
        {"status_code": 404},
        {"message": "x", "status_code": "404"},
        {"message": "x", "status_code": True},
        {"message": "x", "code": 7},
    ],
)
def test_a_malformed_tolerated_404_is_refused(bad: Any) -> None:
    data = WaitState(ref=NEURO, started=0.0, deadline=60.0).to_dict()
    with pytest.raises(ValueError, match="last_not_found"):
        WaitState.from_dict({**data, "last_not_found": bad})
    with pytest.raises(ValueError, match="last_not_found"):
        WaitState.from_dict(
            {**data, "last_not_found": {"message": "x"}, "last_error": {"type": "TransportError", "message": "y"}}
        )


# --- the drivers (sync, async, watch_many) with fake polls and a fake clock


@attrs.define
class Script:
    """Answers from ``answers`` (the last repeats), on a fake clock moved by the sleeps."""

    answers: list[Any]
    now: float = 0.0
    polls: list[float] = attrs.Factory(list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)

    def poll(self, _ref: JobRef, _timeout: float) -> JobStatus:
        self.polls.append(self.now)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, JobStatus)
        return answer

    async def apoll(self, ref: JobRef, timeout: float) -> JobStatus:
        return self.poll(ref, timeout)

    def wait(self, ref: str) -> JobStatus:
        return docstatus.wait(ref, poll=self.poll, clock=self.clock, sleep=self.sleep)

    async def wait_async(self, ref: str) -> JobStatus:
        return await docstatus.wait_async(ref, poll=self.apoll, clock=self.clock, sleep=self.asleep)

    async def many(self, ref: str) -> JobUpdate:
        stream: AsyncIterator[JobUpdate] = docstatus.watch_many(
            [ref], poll=self.apoll, clock=self.clock, sleep=self.asleep
        )
        updates = [u async for u in stream]
        return updates[-1]


def _finish(script: Script, ref: str, mode: str) -> Any:
    """Run ``script`` under ``mode``: the final status, or the error it ended with."""
    try:
        if mode == "sync":
            return script.wait(ref)
        if mode == "async":
            return asyncio.run(script.wait_async(ref))
        last = asyncio.run(script.many(ref))
    except docstatus.DocstatusError as exc:
        return exc
    assert last.done
    return last.error if last.error is not None else last.final


MODES = ["sync", "async", "many"]


@pytest.mark.parametrize("mode", MODES)
def test_drivers_poll_through_404s_then_return_the_final_status(mode: str) -> None:
    script = Script([not_found(), not_found(), neuro(), neuro(State.SUCCEEDED, "completed")])
    got = _finish(script, NEURO, mode)
    assert isinstance(got, JobStatus)
    assert got.state is State.SUCCEEDED
    assert len(script.polls) == 4


@pytest.mark.parametrize("mode", MODES)
def test_drivers_end_a_404_past_the_grace_with_job_not_found(mode: str) -> None:
    script = Script([not_found()])
    got = _finish(script, NEURO, mode)
    assert isinstance(got, JobNotFound)
    assert script.polls[-1] == pytest.approx(30.0, abs=0.01)


@pytest.mark.parametrize("mode", MODES)
def test_drivers_poll_through_sarvam_accepted_then_return(mode: str) -> None:
    script = Script([accepted(), accepted(), sarvam(State.QUEUED, "Pending"), sarvam(State.SUCCEEDED, "Completed")])
    got = _finish(script, SARVAM, mode)
    assert isinstance(got, JobStatus)
    assert got.state is State.SUCCEEDED


@pytest.mark.parametrize("mode", MODES)
def test_drivers_end_a_job_stuck_in_accepted_with_action_required(mode: str) -> None:
    script = Script([accepted()])
    got = _finish(script, SARVAM, mode)
    assert isinstance(got, ActionRequired)
    assert script.polls[-1] == pytest.approx(30.0, abs=0.01)


# --- over real HTTP (canned_server on 127.0.0.1): sync, async, watch_many


def _neuro_config(server: CannedServer) -> ProviderConfig:
    return ProviderConfig(provider="neurolinker", base_url=server.base_url, token=TOKEN)


def _sarvam_config(server: CannedServer) -> ProviderConfig:
    return ProviderConfig(provider="sarvam", base_url=server.base_url, token=TOKEN)


def _over_http(server: CannedServer, ref: str, config: ProviderConfig, mode: str) -> Any:
    """Wait on ``ref`` against ``server`` under ``mode`` with a fake clock (real requests)."""
    clock = Script([])
    try:
        if mode == "sync":
            return docstatus.wait(ref, config=config, clock=clock.clock, sleep=clock.sleep)
        if mode == "async":
            return asyncio.run(docstatus.wait_async(ref, config=config, clock=clock.clock, sleep=clock.asleep))

        async def many() -> list[JobUpdate]:
            stream = docstatus.watch_many([ref], config=config, clock=clock.clock, sleep=clock.asleep)
            return [u async for u in stream]

        last = asyncio.run(many())[-1]
    except docstatus.DocstatusError as exc:
        return exc
    assert last.done
    return last.error if last.error is not None else last.final


NEURO_404 = Canned(404, {"detail": "Not Found"})


@pytest.mark.parametrize("mode", MODES)
def test_over_http_404_404_running_done_returns_the_final_status(canned_server: CannedServer, mode: str) -> None:
    canned_server.reply(
        NEURO_404,
        NEURO_404,
        Canned(200, body("neurolinker", "processing", document_id="doc-7")),
        Canned(200, body("neurolinker", "completed", document_id="doc-7")),
    )
    got = _over_http(canned_server, NEURO, _neuro_config(canned_server), mode)
    assert isinstance(got, JobStatus), got
    assert got.state is State.SUCCEEDED
    assert got.provider_state == "completed"
    assert len(canned_server.requests) == 4
    assert all(r.path.endswith("/v1/document-status/doc-7") for r in canned_server.requests)
    canned_server.reply(NEURO_404)
    with pytest.raises(JobNotFound):  # get_status is not a wait: a 404 raises at once
        docstatus.get_status(NEURO, config=_neuro_config(canned_server))
    assert len(canned_server.requests) == 5


@pytest.mark.parametrize("mode", MODES)
def test_over_http_a_404_past_the_window_raises_job_not_found(canned_server: CannedServer, mode: str) -> None:
    canned_server.reply(NEURO_404)
    got = _over_http(canned_server, NEURO, _neuro_config(canned_server), mode)
    assert isinstance(got, JobNotFound)
    assert got.status_code == 404
    assert TOKEN not in str(got)
    assert 5 <= len(canned_server.requests) <= 40


@pytest.mark.parametrize("mode", MODES)
def test_over_http_sarvam_accepted_then_runs(canned_server: CannedServer, mode: str) -> None:
    canned_server.reply(
        Canned(200, body("sarvam", "Accepted")),
        Canned(200, body("sarvam", "Accepted")),
        Canned(200, body("sarvam", "Running")),
        Canned(200, body("sarvam", "Completed")),
    )
    got = _over_http(canned_server, SARVAM, _sarvam_config(canned_server), mode)
    assert isinstance(got, JobStatus), got
    assert got.state is State.SUCCEEDED
    assert len(canned_server.requests) == 4


@pytest.mark.parametrize("mode", MODES)
def test_over_http_sarvam_stuck_in_accepted_raises_action_required(canned_server: CannedServer, mode: str) -> None:
    canned_server.reply(Canned(200, body("sarvam", "Accepted")))
    got = _over_http(canned_server, SARVAM, _sarvam_config(canned_server), mode)
    assert isinstance(got, ActionRequired)
    assert got.status.provider_state == "Accepted"
    assert 5 <= len(canned_server.requests) <= 40


# --- against the offline simulator (its clock frozen and moved by the waiter's sleeps)


def test_against_the_simulator_a_neurolinker_404_after_submission_is_waited_out(docstatus_sim: Simulator) -> None:
    sim = docstatus_sim
    sim.clock.freeze()
    ref = sim.create_job("neurolinker", "happy_path", step=10.0)
    sim.inject(Fault.error(404, count=2), ref=ref)
    config = ProviderConfig(
        provider="neurolinker", base_url=sim.base_url("neurolinker"), token=sim.tokens.get("neurolinker")
    )
    final = docstatus.wait(ref, config=config, clock=sim.clock.now, sleep=sim.clock.advance)
    assert final.state is State.SUCCEEDED
    answers = [r.status for r in sim.requests if r.ref == ref]
    assert answers[:3] == [404, 404, 200]
    sim.inject(Fault.error(404, count=1000), ref=ref)  # from now on the job is unknown: ends at the window's end
    start = sim.clock.now()
    with pytest.raises(JobNotFound):
        docstatus.wait(ref, config=config, clock=sim.clock.now, sleep=sim.clock.advance)
    assert sim.clock.now() - start == pytest.approx(30.0, abs=0.5)
