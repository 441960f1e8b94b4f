"""The sans-IO core of waiting: every rule, decided from statuses, errors, hints and a number clock."""

from __future__ import annotations

import random

import pytest
from docstatus import (
    ActionRequired,
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    JobNotFound,
    JobStatus,
    MalformedResponse,
    ProviderError,
    ProviderServerError,
    RateLimited,
    State,
    TransportError,
    UnknownState,
    WaitPolicy,
    WaitTimeout,
)
from docstatus._waiting._core import Action, Waiter

REF = "artos:doc-1"
# No jitter, no lag bound, no progress: the bare backoff, for exact numbers.
BARE = WaitPolicy(jitter=0.0, lag_ratio=None, use_progress=False)


def status(state: State = State.RUNNING, *, progress: float | None = None, step: str | None = None) -> JobStatus:
    return JobStatus(
        provider="artos", job_id="doc-1", state=state, provider_state=str(state), progress=progress, step=step
    )


def waiter(policy: WaitPolicy = BARE, now: float = 0.0) -> Waiter:
    return Waiter.start(REF, policy, now, draw=lambda: 0.0)


# --- first step, terminal states, other states


def test_the_first_step_polls_at_once() -> None:
    step = waiter().first()
    assert step.action is Action.POLL
    assert step.delay == 0.0
    assert step.request_timeout >= BARE.request_timeout


@pytest.mark.parametrize("state", [State.SUCCEEDED, State.PARTIALLY_SUCCEEDED, State.FAILED, State.CANCELLED])
def test_terminal_states_return_the_status(state: State) -> None:
    final = status(state)
    step = waiter().on_status(final, 1.0)
    assert step.action is Action.RETURN
    assert step.status is final
    assert step.changed is final


def test_action_required_raises_at_once_with_the_status() -> None:
    s = status(State.ACTION_REQUIRED)
    step = waiter().on_status(s, 1.0)
    assert step.action is Action.RAISE
    assert isinstance(step.error, ActionRequired)
    assert step.error.status is s
    assert REF in str(step.error)
    assert step.changed is s


def test_unknown_keeps_polling_with_one_warning() -> None:
    w = waiter()
    first = w.on_status(status(State.UNKNOWN), 0.0)
    assert first.action is Action.POLL
    assert first.warning is not None
    assert REF in first.warning
    second = w.on_status(status(State.UNKNOWN), 1.0)
    assert second.action is Action.POLL
    assert second.warning is None


def test_unknown_raises_at_once_when_the_policy_says_so() -> None:
    s = status(State.UNKNOWN)
    step = waiter(WaitPolicy(unknown="raise")).on_status(s, 0.0)
    assert step.action is Action.RAISE
    assert isinstance(step.error, UnknownState)
    assert step.error.status is s


def test_queued_and_running_keep_polling() -> None:
    w = waiter()
    assert w.on_status(status(State.QUEUED), 0.0).action is Action.POLL
    assert w.on_status(status(State.RUNNING), 1.0).action is Action.POLL


def test_changed_is_reported_only_when_the_status_differs() -> None:
    w = waiter()
    a = status(State.RUNNING, progress=0.1)
    assert w.on_status(a, 0.0).changed is a
    assert w.on_status(status(State.RUNNING, progress=0.1), 1.0).changed is None
    b = status(State.RUNNING, progress=0.2)
    assert w.on_status(b, 2.0).changed is b


# --- delays: hints, backoff, jitter, lag bound, progress


def test_backoff_starts_short_and_grows_to_the_cap() -> None:
    w = waiter(WaitPolicy(jitter=0.0, lag_ratio=None, use_progress=False, max_delay=5.0, timeout=1e6))
    delays = [w.on_status(status(), float(i)).delay for i in range(8)]
    assert delays == [1.0, 1.5, 2.25, 3.375, 5.0, 5.0, 5.0, 5.0]


def test_jitter_shortens_delays_by_at_most_its_fraction() -> None:
    policy = WaitPolicy(jitter=0.3, lag_ratio=None, use_progress=False, max_delay=4.0, timeout=1e6)
    w = Waiter.start(REF, policy, 0.0, draw=random.Random(7).random)  # noqa: S311  # jitter, not crypto
    delays = [w.on_status(status(), float(i)).delay for i in range(40)]
    tail = delays[10:]  # at the cap
    assert all(4.0 * 0.7 <= d <= 4.0 for d in tail)
    assert len(set(tail)) > 5  # actually random


def test_a_state_or_step_change_restarts_the_backoff() -> None:
    w = waiter(WaitPolicy(jitter=0.0, lag_ratio=None, use_progress=False, timeout=1e6))
    for i in range(5):
        w.on_status(status(State.QUEUED), float(i))
    assert w.on_status(status(State.QUEUED), 5.0).delay > 5.0
    assert w.on_status(status(State.RUNNING), 6.0).delay == 1.0
    assert w.on_status(status(State.RUNNING), 7.0).delay == 1.5
    assert w.on_status(status(State.RUNNING, step="embedding"), 8.0).delay == 1.0


def test_the_lag_bound_caps_backoff_at_a_fraction_of_the_time_waited() -> None:
    policy = WaitPolicy(jitter=0.0, use_progress=False, lag_ratio=0.1, max_delay=60.0, timeout=1e6)
    w = waiter(policy)
    now = 0.0
    for _ in range(60):
        step = w.on_status(status(), now)
        assert step.delay <= 0.1 * now + policy.initial_delay + 1e-9
        now += step.delay
    assert step.delay > 5.0  # it still grows with the time waited


def test_a_server_hint_wins_over_backoff() -> None:
    w = waiter()
    assert w.on_status(status(), 0.0, retry_after=7.0).delay == 7.0
    for i in range(10):  # backoff grows...
        w.on_status(status(), 10.0 + i)
    assert w.on_status(status(), 30.0, retry_after=0.5).delay == 0.5  # ...a shorter hint still wins


def test_the_hint_is_reread_on_every_response() -> None:
    w = waiter()
    assert w.on_status(status(), 0.0, retry_after=4.0).delay == 4.0
    assert w.on_status(status(), 4.0).delay == BARE.backoff(1)  # no hint this time: backoff
    assert w.on_status(status(), 6.0, retry_after=2.0).delay == 2.0


def test_retry_after_zero_means_soon_not_the_default() -> None:
    policy = WaitPolicy(min_delay=0.2, initial_delay=5.0, jitter=0.0)
    step = waiter(policy).on_status(status(), 0.0, retry_after=0.0)
    assert step.delay == pytest.approx(0.2)


def test_hints_are_clamped_to_the_configured_bounds() -> None:
    policy = WaitPolicy(max_hint=30.0, min_delay=0.5)
    w = waiter(policy)
    assert w.on_status(status(), 0.0, retry_after=10_000.0).delay == 30.0
    assert w.on_status(status(), 1.0, retry_after=0.01).delay == 0.5
    assert w.on_status(status(), 2.0, retry_after=float("inf")).delay == 30.0


def test_hints_on_429_and_5xx_errors_are_used() -> None:
    w = waiter()
    assert w.on_error(RateLimited("slow down", retry_after=3.0), 0.0).delay == 3.0
    assert w.on_error(ProviderServerError("503", status_code=503, retry_after=2.0), 3.0).delay == 2.0


def test_steady_progress_sleeps_half_the_time_left() -> None:
    w = waiter(WaitPolicy(jitter=0.0, max_delay=60.0))
    w.on_status(status(progress=0.0), 0.0)
    w.on_status(status(progress=0.1), 4.0)
    step = w.on_status(status(progress=0.2), 8.0)  # 10 % per 4 s, twice: 32 s to go
    assert step.delay == pytest.approx(16.0)  # half of it
    assert step.delay > 0.1 * 8.0 + 1.0  # past the lag bound: the rate is steady
    step = w.on_status(status(progress=0.6), 24.0)
    assert step.delay == pytest.approx(8.0)
    step = w.on_status(status(progress=0.95), 38.0)  # 2 s to go: no later than that
    assert step.delay == pytest.approx(2.0)


def test_one_progress_rate_only_ever_makes_the_next_poll_sooner() -> None:
    w = waiter(WaitPolicy(jitter=0.0, lag_ratio=None))
    for i in range(6):
        w.on_status(status(progress=0.0), float(i))  # backoff grows
    step = w.on_status(status(progress=0.9), 10.0)  # 90 % in 10 s: 1.1 s to go
    assert step.delay == pytest.approx(10.0 / 9.0)
    slow = waiter(WaitPolicy(jitter=0.0, lag_ratio=None))
    slow.on_status(status(progress=0.0), 0.0)
    assert slow.on_status(status(progress=0.01), 10.0).delay == 1.5  # 990 s to go: backoff


def test_unsteady_progress_keeps_the_lag_bound() -> None:
    policy = WaitPolicy(jitter=0.0, lag_ratio=0.1)
    w = waiter(policy)
    w.on_status(status(progress=0.0), 0.0)
    w.on_status(status(progress=0.3), 2.0)  # fast...
    step = w.on_status(status(progress=0.35), 12.0)  # ...then slow: not steady
    assert step.delay <= 0.1 * 12.0 + 1.0


def test_steady_progress_delays_are_capped_and_can_be_turned_off() -> None:
    w = waiter(WaitPolicy(jitter=0.0, max_delay=60.0))
    for i, p in enumerate((0.0, 0.001, 0.002)):
        step = w.on_status(status(progress=p), 10.0 * i)
    assert step.delay == 60.0
    off = waiter(WaitPolicy(jitter=0.0, use_progress=False))
    for i, p in enumerate((0.0, 0.001, 0.002)):
        step = off.on_status(status(progress=p), 10.0 * i)
    assert step.delay == pytest.approx(2.25)  # the third backoff


def test_an_overdue_estimate_falls_back_to_backoff_not_to_hammering() -> None:
    w = waiter(WaitPolicy(jitter=0.0, lag_ratio=None))
    w.on_status(status(progress=0.0), 0.0)
    w.on_status(status(progress=0.5), 1.0)
    w.on_status(status(progress=0.9), 2.0)  # due at ~2.25 s
    delays = [w.on_status(status(progress=0.9), 10.0 + i).delay for i in range(3)]  # stuck at 90 %
    assert delays == [3.375, 5.0625, 7.59375]  # the backoff goes on (4th to 6th poll of this state)


def test_progress_that_does_not_move_falls_back_to_backoff() -> None:
    w = waiter(WaitPolicy(jitter=0.0, lag_ratio=None))
    assert w.on_status(status(progress=0.3), 0.0).delay == 1.0
    assert w.on_status(status(progress=0.3), 1.0).delay == 1.5


# --- errors


@pytest.mark.parametrize(
    "error",
    [
        RateLimited("429"),
        ProviderServerError("500", status_code=500),
        ProviderServerError("520", status_code=520),
        TransportError("refused"),
        TransportError("timed out"),
        MalformedResponse("html", status_code=200, body=b"<html>"),
    ],
)
def test_transient_errors_are_retried_with_backoff(error: Exception) -> None:
    w = waiter()
    step = w.on_error(error, 0.0)  # type: ignore[arg-type]
    assert step.action is Action.POLL
    assert step.delay == 1.0
    assert w.on_error(error, 1.0).delay == 1.5  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError("401", status_code=401),
        AuthenticationError("403", status_code=403),
        JobNotFound("404", status_code=404),
        BadRequest("400", status_code=400),
        ConfigurationError("no token"),
        ProviderError("302", status_code=302),
    ],
)
def test_errors_waiting_cannot_fix_raise_at_once(error: Exception) -> None:
    step = waiter().on_error(error, 0.0)  # type: ignore[arg-type]
    assert step.action is Action.RAISE
    assert step.error is error


# --- the deadline


def test_the_last_sleep_is_sized_to_the_time_left_and_a_last_poll_is_made_at_the_deadline() -> None:
    policy = WaitPolicy(timeout=10.0, jitter=0.0, lag_ratio=None, use_progress=False)
    w = waiter(policy, now=100.0)
    now, polls = 100.0, 0
    step = w.first()
    while step.action is Action.POLL:
        now += step.delay
        assert now <= 110.0 + 1e-9  # never sleeps past the deadline
        polls += 1
        step = w.on_status(status(), now)
    assert now == pytest.approx(110.0)  # the last poll is at the deadline
    assert step.action is Action.RAISE
    assert isinstance(step.error, WaitTimeout)
    assert polls == 6  # at 0, 1, 2.5, 4.75, 8.125, then 10 (the 5.06 s sleep cut to 1.875 s)


def test_the_timeout_carries_the_last_status_the_ref_and_the_timeout() -> None:
    policy = WaitPolicy(timeout=5.0)
    w = waiter(policy)
    last = status(progress=0.4)
    w.on_status(last, 0.0)
    step = w.on_status(last, 5.0)
    error = step.error
    assert isinstance(error, WaitTimeout)
    assert isinstance(error, TimeoutError)
    assert error.ref == REF
    assert error.last_status == last
    assert error.timeout == 5.0
    assert "40%" in str(error)
    assert REF in str(error)


def test_a_poll_answered_after_the_deadline_ends_the_wait() -> None:
    w = waiter(WaitPolicy(timeout=5.0))
    step = w.on_status(status(), 7.0)  # the request itself took past the deadline
    assert isinstance(step.error, WaitTimeout)


def test_a_final_status_at_the_deadline_is_returned_not_a_timeout() -> None:
    w = waiter(WaitPolicy(timeout=5.0))
    w.on_status(status(), 4.9)
    step = w.on_status(status(State.SUCCEEDED, progress=1.0), 5.0)
    assert step.action is Action.RETURN


def test_a_timeout_after_failing_polls_names_the_last_error_as_its_cause() -> None:
    w = waiter(WaitPolicy(timeout=3.0))
    cause = ProviderServerError("HTTP 503", status_code=503)
    step = w.on_error(cause, 0.5)
    now = 0.5
    while step.action is Action.POLL:
        now += step.delay
        step = w.on_error(cause, now)
    error = step.error
    assert isinstance(error, WaitTimeout)
    assert error.__cause__ is cause
    assert error.last_status is None
    assert "HTTP 503" in str(error)


def test_a_success_after_errors_clears_the_cause() -> None:
    w = waiter(WaitPolicy(timeout=3.0))
    w.on_error(TransportError("refused"), 0.0)
    w.on_status(status(), 1.0)
    assert w.timeout_error().__cause__ is None


def test_request_timeout_is_the_time_left_or_the_floor() -> None:
    policy = WaitPolicy(timeout=100.0, request_timeout=5.0, jitter=0.0, lag_ratio=None)
    w = waiter(policy)
    step = w.on_status(status(), 0.0)
    assert step.request_timeout == pytest.approx(100.0 - step.delay)
    late = waiter(policy)
    late.on_status(status(), 0.0)
    step = late.on_status(status(), 99.0)  # 1 s left
    assert step.request_timeout == 5.0


# --- the policy itself


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timeout", 0.0),
        ("timeout", float("inf")),
        ("timeout", -1.0),
        ("initial_delay", 0.0),
        ("multiplier", 0.5),
        ("jitter", 1.0),
        ("min_delay", float("nan")),
        ("lag_ratio", -0.1),
        ("unknown", "ignore"),
    ],
)
def test_bad_policies_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        WaitPolicy(**{field: value})  # type: ignore[arg-type]


def test_the_default_deadline_is_finite() -> None:
    assert 0 < WaitPolicy().timeout < float("inf")
