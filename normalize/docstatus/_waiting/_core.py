"""The sans-IO core of waiting: it decides what happens next, and does no I/O itself.

A ``Waiter`` holds one job's waiting state. The shells (``wait``/``watch``, their async twins,
``watch_many``) ask it what to do, do that (sleep, poll), and report back what happened:

- ``waiter.first()`` -> poll now;
- ``waiter.on_status(status, now, retry_after=...)`` after a status answer;
- ``waiter.on_error(error, now)`` after a failed poll.

Each returns a ``Step``: ``POLL`` after sleeping ``delay`` seconds (a request may then take up to
``request_timeout``), ``RETURN`` the final status, or ``RAISE`` an error. The clock is the
caller's (``now`` is any monotonic number of seconds), so tests run hours of simulated time in
milliseconds.

Rules (the ``WaitPolicy`` attributes name the knobs):

- **Delay.** A server hint (``Retry-After`` seconds or date, ``retry-after-ms``, on a status or on
  a 429/5xx) wins, re-read on every response and clamped to ``[min_delay, max_hint]``:
  ``Retry-After: 0`` means ``min_delay``, not the default. Otherwise capped exponential backoff
  with jitter: ``initial_delay * multiplier**n``, capped at ``max_delay``, minus up to ``jitter``
  of itself, where ``n`` counts the polls since the state or step last changed — and never
  longer than ``lag_ratio`` of the time waited so far plus ``initial_delay``, so the end of a job
  is seen within about ``lag_ratio`` of its duration (+ ``initial_delay``).
- **Progress.** When the job's progress moves, the next poll comes sooner if the job should be
  done sooner at its observed rate; once three readings show a steady rate, waiting sleeps half
  the time the job should still need (within ``[min_delay, max_delay]``, and past the lag
  bound), so a steadily progressing job is seen as it ends with few polls, and an estimate off
  by up to 2x costs no lag. An overdue estimate falls back to backoff.
- **Deadline first.** Nothing is slept past the deadline: the last sleep is cut to the time left
  and one last poll is made at the deadline. If that poll does not end the wait, ``WaitTimeout``
  (with the last status, the ref and, as its ``__cause__``, the last poll's error if it failed).
- **Errors.** ``RateLimited``, ``ProviderServerError`` (5xx, non-standard statuses),
  ``TransportError`` (timeouts, refused or dropped connections) and ``MalformedResponse`` are
  retried within the deadline; anything else (401/403/404, bad requests, bad configuration) is
  raised at once.
- **States.** Terminal states return the status (failed ones too: call
  ``status.raise_for_failure()``); ``action_required`` raises ``ActionRequired`` at once; ``unknown``
  keeps polling with one warning (``WaitPolicy(unknown="raise")``: raises ``UnknownState``).
"""

from __future__ import annotations

import enum
import math
import random as _random
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from docstatus._exceptions import (
    ActionRequired,
    DocstatusError,
    MalformedResponse,
    ProviderServerError,
    RateLimited,
    TransportError,
    WaitTimeout,
)
from docstatus._status import State

if TYPE_CHECKING:
    from collections.abc import Callable

    from docstatus._status import JobStatus

#: Two progress rates "agree" (the job moves steadily) when they differ by at most this fraction.
STEADY: Final = 0.25

#: Errors that waiting retries within the deadline; every other error ends the wait at once.
TRANSIENT: Final = (RateLimited, ProviderServerError, TransportError, MalformedResponse)


class UnknownState(DocstatusError):  # named like ActionRequired, JobFailed
    """The job reports a state docstatus does not know, and the policy says to stop
    (``WaitPolicy(unknown="raise")``; by default waiting goes on until the deadline).

    Attributes:
        status: The ``JobStatus`` (``state`` is ``unknown``; ``provider_state`` has the raw value).
    """

    def __init__(self, message: str, *, status: JobStatus) -> None:
        super().__init__(message)
        self.status = status


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"WaitPolicy.{attribute.name} must be a finite number > 0, not {value!r}")


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"WaitPolicy.{attribute.name} must be a finite number >= 0, not {value!r}")


def _optional_non_negative(_instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"WaitPolicy.{attribute.name} must be None or a finite number >= 0, not {value!r}")


def _fraction(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 <= value < 1:
        raise ValueError(f"WaitPolicy.{attribute.name} must be in [0, 1), not {value!r}")


def _at_least_one(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value >= 1 and math.isfinite(value)):
        raise ValueError(f"WaitPolicy.{attribute.name} must be a finite number >= 1, not {value!r}")


@attrs.frozen(kw_only=True)
class WaitPolicy:
    """How to wait. Every time is in seconds; the defaults suit jobs of seconds to an hour.

    Attributes:
        timeout: The deadline, counted from the start of the wait. Always finite.
        initial_delay: The first backoff delay (after the first poll).
        multiplier: Each backoff delay is this many times the previous one...
        max_delay: ...up to this cap. Also caps a delay computed from the job's progress.
        jitter: Each backoff delay is shortened by a random fraction of itself, up to this
            (so fleets of waiters do not poll in lockstep). ``0`` for none.
        lag_ratio: A backoff sleep is at most this fraction of the time waited so far, plus
            ``initial_delay``: the end of a job is seen within about this fraction of its
            duration. ``None`` lets backoff grow to ``max_delay`` regardless.
        min_delay: The shortest sleep between two polls, whatever a hint says
            (``Retry-After: 0`` means this).
        max_hint: The longest sleep a server hint (``Retry-After``) can impose.
        use_progress: Use the job's progress: a poll is made sooner when the job should be done
            by then at its observed rate, and once three readings show a steady rate, waiting
            sleeps half the time it should still need (up to ``max_delay``, past the
            ``lag_ratio`` bound).
        unknown: What an ``unknown`` state does: ``"poll"`` goes on (one warning per wait),
            ``"raise"`` stops at once with ``UnknownState``.
        request_timeout: The shortest time a poll may take even at the deadline (the last
            poll gets this much; a provider configuration's own timeout still applies).
    """

    timeout: float = attrs.field(default=3600.0, validator=_positive)
    initial_delay: float = attrs.field(default=1.0, validator=_positive)
    multiplier: float = attrs.field(default=1.5, validator=_at_least_one)
    max_delay: float = attrs.field(default=60.0, validator=_positive)
    jitter: float = attrs.field(default=0.2, validator=_fraction)
    lag_ratio: float | None = attrs.field(default=0.1, validator=_optional_non_negative)
    min_delay: float = attrs.field(default=0.2, validator=_positive)
    max_hint: float = attrs.field(default=300.0, validator=_positive)
    use_progress: bool = True
    unknown: Literal["poll", "raise"] = attrs.field(default="poll", validator=attrs.validators.in_(("poll", "raise")))
    request_timeout: float = attrs.field(default=5.0, validator=_positive)

    def backoff(self, attempt: int, u: float = 0.0) -> float:
        """The backoff delay after ``attempt`` (0-based) polls, with jitter draw ``u`` in [0, 1)."""
        base = self.initial_delay * self.multiplier ** min(attempt, 200)
        base = min(self.max_delay, base)
        return max(self.min_delay, base * (1.0 - self.jitter * u))

    def clamp_hint(self, seconds: float) -> float:
        """A server hint, kept within ``[min_delay, max_hint]``."""
        if not math.isfinite(seconds):
            return self.max_hint
        return min(self.max_hint, max(self.min_delay, seconds))


class Action(enum.Enum):
    """What a shell does next."""

    POLL = "poll"
    RETURN = "return"
    RAISE = "raise"


@attrs.frozen(kw_only=True)
class Step:
    """One decision of the core.

    Attributes:
        action: ``POLL`` (after ``delay``), ``RETURN`` ``status``, or ``RAISE`` ``error``.
        delay: Seconds to sleep before the poll (``POLL`` only).
        request_timeout: Seconds the poll may take (``POLL`` only).
        status: The final status (``RETURN``).
        error: The error to raise (``RAISE``).
        changed: The status just received when it differs from the one before (report it to
            progress hooks and watchers before acting), else ``None``.
        warning: A message to log at WARNING, or ``None``.
    """

    action: Action
    delay: float = 0.0
    request_timeout: float = 0.0
    status: JobStatus | None = None
    error: DocstatusError | None = None
    changed: JobStatus | None = None
    warning: str | None = None


@attrs.define
class Waiter:
    """One job's waiting state; see the module docstring for the rules.

    Attributes:
        ref: The job reference string (for messages and ``WaitTimeout.ref``).
        policy: The ``WaitPolicy``.
        started: When the wait started, on the caller's clock.
        deadline: ``started + policy.timeout``.
        draw: Draws jitter in ``[0, 1)``.
        polls: Polls answered so far (statuses and errors).
        streak: Polls since the state or step last changed, that one included (the backoff
            exponent is one less: a job that moves on, e.g. from queued to running, is polled
            closely again).
        errors: Consecutive failed polls.
        last: The last status received, or ``None``.
        last_error: The error of the last poll if it failed, else ``None``.
        final: True once the last poll (at the deadline) has been scheduled.
        warned: True once the unknown-state warning was given.
        samples: ``(time, progress)`` of the first sightings of the last three progress values
            while the job runs, for the progress-based delay.
    """

    ref: str
    policy: WaitPolicy
    started: float
    deadline: float
    draw: Callable[[], float] = _random.random
    polls: int = 0
    streak: int = 0
    errors: int = 0
    last: JobStatus | None = None
    last_error: DocstatusError | None = None
    final: bool = False
    warned: bool = False
    samples: tuple[tuple[float, float], ...] = ()

    @classmethod
    def start(
        cls,
        ref: str,
        policy: WaitPolicy,
        now: float,
        *,
        draw: Callable[[], float] = _random.random,
    ) -> Waiter:
        """A waiter whose deadline is ``now + policy.timeout``; ``draw`` gives jitter in [0, 1)."""
        return cls(ref=ref, policy=policy, started=now, deadline=now + policy.timeout, draw=draw)

    def first(self) -> Step:
        """The first step: poll now."""
        return Step(action=Action.POLL, delay=0.0, request_timeout=self._request_timeout(0.0, 0.0))

    def on_status(self, status: JobStatus, now: float, *, retry_after: float | None = None) -> Step:
        """A poll answered with ``status`` at ``now``; ``retry_after`` is the server's hint, if any."""
        self.polls += 1
        self.errors = 0
        self.last_error = None
        previous = self.last
        moved = previous is None or previous.state is not status.state or previous.step != status.step
        self.streak = 1 if moved else self.streak + 1
        changed = status if status != previous else None
        self.last = status
        if status.terminal:
            return Step(action=Action.RETURN, status=status, changed=changed)
        if status.state is State.ACTION_REQUIRED:
            error = ActionRequired(
                f"job {self.ref} is {status.provider_state}: it waits for you (e.g. an upload or a "
                "start call), so waiting cannot help; do that, then wait again",
                status=status,
            )
            return Step(action=Action.RAISE, error=error, changed=changed)
        warning = None
        if status.state is State.UNKNOWN:
            if self.policy.unknown == "raise":
                unknown = UnknownState(
                    f"job {self.ref} reports the state {status.provider_state!r}, which docstatus does "
                    'not know; stopped because WaitPolicy(unknown="raise") (the default "poll" waits on)',
                    status=status,
                )
                return Step(action=Action.RAISE, error=unknown, changed=changed)
            if not self.warned:
                self.warned = True
                warning = (
                    f"job {self.ref} reports the state {status.provider_state!r}, which docstatus does "
                    "not know; polling on until it ends or the deadline passes"
                )
        self._track(status, now)
        return self._schedule(now, retry_after, changed, warning)

    def on_error(self, error: DocstatusError, now: float) -> Step:
        """A poll failed at ``now`` with ``error`` (a ``DocstatusError``)."""
        self.polls += 1
        self.streak += 1
        self.errors += 1
        if not isinstance(error, TRANSIENT):
            return Step(action=Action.RAISE, error=error)
        self.last_error = error
        hint = error.retry_after if isinstance(error, RateLimited | ProviderServerError) else None
        return self._schedule(now, hint, None, None)

    def timeout_error(self) -> WaitTimeout:
        """The ``WaitTimeout`` for this wait as it stands (its ``__cause__``: the last poll's error)."""
        last = self.last
        if last is None:
            seen = "no status was received"
        else:
            progress = "" if last.progress is None else f", {last.progress:.0%}"
            seen = f"it was last {last.state} ({last.provider_state}{progress})"
        failed = "" if self.last_error is None else f"; the last poll failed: {self.last_error}"
        error = WaitTimeout(
            f"job {self.ref} did not end within {self.policy.timeout:g} s: {seen}{failed}; "
            f"wait again later with the same reference, or give a longer timeout",
            ref=self.ref,
            last_status=last,
            timeout=self.policy.timeout,
        )
        if self.last_error is not None:
            error.__cause__ = self.last_error
            error.__suppress_context__ = True
        return error

    # --- internals

    def _schedule(self, now: float, hint: float | None, changed: JobStatus | None, warning: str | None) -> Step:
        if self.final or now >= self.deadline:
            return Step(action=Action.RAISE, error=self.timeout_error(), changed=changed, warning=warning)
        delay = self._delay(hint, now)
        remaining = self.deadline - now
        if delay >= remaining:
            delay = remaining
            self.final = True
        return Step(
            action=Action.POLL,
            delay=delay,
            request_timeout=self._request_timeout(remaining, delay),
            changed=changed,
            warning=warning,
        )

    def _request_timeout(self, remaining: float, delay: float) -> float:
        return max(self.policy.request_timeout, remaining - delay)

    def _delay(self, hint: float | None, now: float) -> float:
        policy = self.policy
        if hint is not None:
            return policy.clamp_hint(hint)
        delay = policy.backoff(max(0, self.streak - 1), self.draw())
        if policy.lag_ratio is not None:
            bound = policy.lag_ratio * max(0.0, now - self.started) + policy.initial_delay
            delay = max(policy.min_delay, min(delay, bound))
        if self.errors == 0 and policy.use_progress:
            eta, steady = self._eta(now)
            if eta is not None and eta > 0:
                sooner = max(policy.min_delay, min(delay, eta))  # never later than it should end
                if steady:  # a steady rate: sleep half the time left (safe if the estimate is 2x off)
                    return min(policy.max_delay, max(sooner, eta / 2))
                return sooner
        return delay

    def _track(self, status: JobStatus, now: float) -> None:
        """Keep the first sightings of the last three progress values of the running job."""
        progress = status.progress
        if status.state is not State.RUNNING or progress is None or not 0 <= progress < 1:
            self.samples = ()
        elif not self.samples or progress < self.samples[-1][1]:
            self.samples = ((now, progress),)
        elif progress > self.samples[-1][1]:
            self.samples = (*self.samples[-2:], (now, progress))

    def _eta(self, now: float) -> tuple[float | None, bool]:
        """Seconds the job needs to finish at its last observed rate, and whether that rate is
        steady (the two last rates agree within ``STEADY``); ``(None, False)`` without a rate."""
        samples = self.samples
        if len(samples) < 2:
            return None, False
        (t1, p1), (t2, p2) = samples[-2], samples[-1]
        if t2 <= t1:
            return None, False
        rate = (p2 - p1) / (t2 - t1)
        eta = (1.0 - p2) / rate - (now - t2)
        steady = False
        if len(samples) == 3:
            t0, p0 = samples[0]
            if t1 > t0:
                before = (p1 - p0) / (t1 - t0)
                steady = abs(before - rate) <= STEADY * max(before, rate)
        return eta, steady
