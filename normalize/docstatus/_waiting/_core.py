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
- **Where jobs end** (``WaitPolicy.durations``, a ``Durations``: on by default, one model per
  process). Once about ten jobs of a kind (provider and page-count bucket) have ended, a job of
  that kind is polled where such jobs end, in place of the backoff: sparsely while it is
  unlikely to end (within ``max_delay``), densely where it is likely to (never closer than
  ``lag_target``), and with the backoff again past the latest durations (and after an error).
  A server hint, the deadline, a grace's end and progress still come first. A job that ends
  teaches the model the time its wait took (see ``_durations``). A job is polled by a kind only
  if the kind was warm when the job was first seen (``Waiter.warm``): jobs that start together
  never poll by what their own siblings taught (the first to end, the shortest), so a burst on
  a cold model waits exactly as without one.
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
  raised at once, except a 404 within the not-found grace (below).
- **States.** Terminal states return the status (failed ones too: call
  ``status.raise_for_failure()``); ``action_required`` raises ``ActionRequired``, at once unless
  within the action grace (below); ``unknown`` keeps polling with one warning
  (``WaitPolicy(unknown="raise")``: raises ``UnknownState``).
- **Graces** (counted from the start of the wait; ``None`` in the policy means the provider's
  default, its module's ``ACTION_GRACE`` / ``NOT_FOUND_GRACE``, 0 for most):
  ``action_required`` is polled through like ``queued`` until ``action_grace`` seconds have
  passed (a provider may answer it right after a job is created, before the job needs anything),
  and a 404 (``JobNotFound``) is retried like a transient error until ``not_found_grace`` seconds
  have passed, as long as no status has been received (a provider may not know a job it has
  just been given); each provider module says why its graces are what they are. A backoff sleep
  is cut so that a poll falls at the grace's end; a server hint is not. The deadline still comes
  first: a grace that outlasts it ends in ``WaitTimeout`` (its ``__cause__`` the tolerated
  ``JobNotFound``, if any).
"""

from __future__ import annotations

import enum
import itertools
import math
import random as _random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from docstatus._exceptions import (
    ActionRequired,
    DocstatusError,
    JobNotFound,
    MalformedResponse,
    ProviderServerError,
    RateLimited,
    TransportError,
    WaitTimeout,
)
from docstatus._refs import parse_ref
from docstatus._registry import load
from docstatus._status import JobStatus, State, shed
from docstatus._text import clean

from ._durations import BUCKETS, Durations
from ._stored import read_stored

if TYPE_CHECKING:
    from collections.abc import Callable

#: Two progress rates "agree" (the job moves steadily) when they differ by at most this fraction.
STEADY: Final = 0.25

#: Errors that waiting retries within the deadline; every other error ends the wait at once.
TRANSIENT: Final = (RateLimited, ProviderServerError, TransportError, MalformedResponse)

#: The longest a poll that fell due while nobody waited is put off when waiting resumes
#: (``Waiter.resume``): overdue polls spread over up to this many seconds.
RESUME_SPREAD: Final = 30.0

#: The version of ``WaitState.to_dict()``'s form.
WAIT_STATE_VERSION: Final = 1

#: What a waiting job keeps of its last status (for ``WaitTimeout.last_status`` and its last
#: update) is bounded: the body it came from (for its lazy ``model``) only up to ``KEEP_BODY``
#: bytes (``status.model`` is ``None`` beyond), and at most ``KEEP_ITEMS`` outputs and page errors
#: (the first ones). A status that ends the wait is handed over whole.
KEEP_BODY: Final = 64 * 1024
KEEP_ITEMS: Final = 1000

#: Slack when comparing the clock with a grace's end (a poll scheduled at the end may land a
#: rounding error short of it).
_EPSILON: Final = 1e-6


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
            duration. ``None`` lets backoff grow to ``max_delay`` regardless. (Where a model
            knows a job's kind, ``durations`` decides instead: see there.)
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
        action_grace: Seconds from the start of the wait during which an ``action_required``
            state is polled through (as ``queued`` is) before it raises ``ActionRequired``.
            ``None`` (the default): the provider's own, its module's ``ACTION_GRACE`` (30 s
            where ``action_required`` is also the first answer for a new job; 0 for the others).
            A number applies to every provider; ``0`` raises at once.
        not_found_grace: Seconds from the start of the wait during which a 404
            (``JobNotFound``) is retried as a transient error, as long as no status has been
            received (a job the provider has just been given may not be visible yet).
            ``None`` (the default): the provider's own, its module's ``NOT_FOUND_GRACE`` (30 s
            where a new job may not be visible at once; 0 for the others). A number applies to
            every provider; ``0`` raises at once.
            ``get_status`` is not affected: it raises ``JobNotFound`` at once.
        durations: What waiting learns about how long jobs take, and uses to poll where a job
            will end (a ``Durations``): by default the one model every wait of the process
            shares (``Durations.shared()``); ``None`` waits without one (the backoff above,
            always). Once jobs of a kind (provider and page-count bucket) have ended about ten
            times, a job of that kind is polled sparsely while it is unlikely to end (sleeps
            up to ``max_delay``, past the ``lag_ratio`` bound: a job that ends far earlier than
            its kind is seen within ``max_delay``), densely where it is likely to, and with the
            backoff past its kind's latest durations and after an error. A server hint, the
            deadline, a grace's end, ``min_delay`` and the job's progress still come first.
            A job polls by a kind only if the kind was warm when the job was first seen: jobs
            started together do not poll by what the first of them to end (the shortest)
            taught, so a burst on a cold model waits exactly as with ``None``.
        lag_target: Where a model says a job is likely to end, polls come no closer than this
            (seconds); they come closer than the backoff's.
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
    action_grace: float | None = attrs.field(default=None, validator=_optional_non_negative)
    not_found_grace: float | None = attrs.field(default=None, validator=_optional_non_negative)
    durations: Durations | None = attrs.field(
        factory=Durations.shared, validator=attrs.validators.optional(attrs.validators.instance_of(Durations))
    )
    lag_target: float = attrs.field(default=1.0, validator=_positive)

    def action_grace_for(self, provider: str) -> float:
        """The action grace (seconds) for a job of ``provider``."""
        if self.action_grace is not None:
            return self.action_grace
        module = load(provider)
        return 0.0 if module is None else module.ACTION_GRACE

    def not_found_grace_for(self, provider: str) -> float:
        """The not-found grace (seconds) for a job of ``provider``."""
        if self.not_found_grace is not None:
            return self.not_found_grace
        module = load(provider)
        return 0.0 if module is None else module.NOT_FOUND_GRACE

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


def duration(seconds: float) -> str:
    """``seconds`` for a message: ``45 s``, ``0.25 s``; from a minute on, whole seconds and the
    two largest units: ``3600 s (1 h)``, ``9000 s (2 h 30 min)``, ``187200 s (2 d 4 h)``."""
    if not math.isfinite(seconds) or seconds < 60:
        return f"{round(seconds, 3 if seconds < 10 else 1):g} s" if math.isfinite(seconds) else f"{seconds} s"
    whole = rest = round(seconds)
    parts: list[str] = []
    for name, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count or parts:
            parts.append(f"{count} {name}")
        if len(parts) == 2:
            break
    return f"{whole} s ({' '.join(p for p in parts if not p.startswith('0 '))})"


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
        last: The last status received (as a waiting job keeps it: ``KEEP_BODY``, ``KEEP_ITEMS``),
            or ``None``.
        whole: ``hash`` of the last status as received when ``last`` keeps less of it (the next
            status is compared with that, not with what was kept), else ``None``.
        last_error: The error of the last poll if it failed, else ``None``.
        final: True once the last poll (at the deadline) has been scheduled.
        warned: True once the unknown-state warning was given.
        marks: The first sightings of the last three progress values while the job runs, for
            the progress-based delay, flat: ``(time, progress, time, progress, ...)`` (one tuple,
            not one per pair: a job's waiting state is kept small). ``samples`` pairs them.
        hint: The server's hint (seconds) on the last answer, or ``None``.
        delay: The last delay scheduled (seconds), or ``None`` before the first answer.
        due: When the next poll is due (the caller's clock), or ``None`` before the first answer.
        request_timeout: The next poll's request timeout, or ``None`` before the first answer.
        warm: The kinds of the job's provider whose duration model was warm when the job was
            first seen (``Durations.warm_kinds``, bits), the only ones it polls by; ``None``
            before the first status.
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
    whole: int | None = None
    last_error: DocstatusError | None = None
    final: bool = False
    warned: bool = False
    marks: tuple[float, ...] = ()
    hint: float | None = None
    delay: float | None = None
    due: float | None = None
    request_timeout: float | None = None
    warm: int | None = None

    @property
    def samples(self) -> tuple[tuple[float, float], ...]:
        """``marks`` as ``(time, progress)`` pairs, oldest first."""
        marks = self.marks
        return tuple(zip(marks[::2], marks[1::2], strict=True))

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

    # --- the serializable state (``WaitState``): stop waiting here, go on elsewhere or later

    def snapshot(self, now: float, wall: float) -> WaitState:
        """This waiter's state as a ``WaitState``, its times on the wall clock.

        ``now`` is the caller's clock and ``wall`` the wall clock (``time.time()``) at the same
        moment: every time is moved by ``wall - now``, so the value means the same thing in any
        process on any machine whose wall clock is right.
        """
        shift = wall - now
        last_error, last_not_found = self._stored_errors()
        return WaitState(
            ref=self.ref,
            started=self.started + shift,
            deadline=self.deadline + shift,
            polls=self.polls,
            streak=self.streak,
            errors=self.errors,
            final=self.final,
            warned=self.warned,
            samples=tuple((t + shift, p) for t, p in self.samples),
            last=None if self.last is None else self.last.to_dict(),
            last_error=last_error,
            last_not_found=last_not_found,
            hint=self.hint,
            delay=self.delay,
            due=None if self.due is None else self.due + shift,
            request_timeout=self.request_timeout,
            warm=self.warm,
        )

    def _stored_errors(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """``last_error`` and ``last_not_found`` as a stored state keeps them (a 404 within the
        not-found grace is the second; any other error the first)."""
        error = self.last_error
        if error is None:
            return None, None
        if isinstance(error, JobNotFound):
            return None, {"message": str(error), "status_code": error.status_code, "code": error.code}
        return {
            "type": type(error).__name__,
            "message": str(error),
            "retry_after": getattr(error, "retry_after", None),
            "status_code": getattr(error, "status_code", None),
        }, None

    def state_dict(self, now: float, wall: float) -> dict[str, Any]:
        """``snapshot(now, wall).to_dict()`` with ``"last": None`` (a saved state keeps its last
        status elsewhere), made directly: after every poll of a tracked job, without the
        ``WaitState`` and the copy of the status that would be dropped. The same value
        (``tests/test_tracker.py`` compares the two)."""
        shift = wall - now
        last_error, last_not_found = self._stored_errors()
        marks = self.marks
        return _state_form(
            ref=self.ref,
            started=self.started + shift,
            deadline=self.deadline + shift,
            polls=self.polls,
            streak=self.streak,
            errors=self.errors,
            final=self.final,
            warned=self.warned,
            samples=[[marks[i] + shift, marks[i + 1]] for i in range(0, len(marks), 2)],
            last=None,
            last_error=last_error,
            last_not_found=last_not_found,
            hint=self.hint,
            delay=self.delay,
            due=None if self.due is None else self.due + shift,
            request_timeout=self.request_timeout,
            warm=self.warm,
        )

    @classmethod
    def restore(
        cls,
        state: WaitState,
        policy: WaitPolicy,
        now: float,
        wall: float,
        *,
        draw: Callable[[], float] = _random.random,
        last: JobStatus | None = None,
    ) -> Waiter:
        """A waiter that goes on from ``state`` (``snapshot``'s inverse): ``now`` is the caller's
        clock and ``wall`` the wall clock at the same moment. The deadline stays the one in
        ``state``: resuming never extends it. ``last``: its last status, read already (kept
        apart from ``state``, whose ``last`` is then ``None``)."""
        shift = now - wall
        if last is None and state.last is not None:
            last = JobStatus.from_dict(state.last)
        kept = None if last is None else shed(last, KEEP_BODY, KEEP_ITEMS)
        warm = state.warm
        if warm is None and last is not None:  # a state from before ``warm``: the model as it is
            warm = 0 if policy.durations is None else policy.durations.warm_kinds(last.provider)
        return cls(
            ref=state.ref,
            policy=policy,
            started=state.started + shift,
            deadline=state.deadline + shift,
            draw=draw,
            polls=state.polls,
            streak=state.streak,
            errors=state.errors,
            last=kept,
            whole=None if kept is last else hash(last),
            last_error=_error_from(state.ref, state.last_error) or _not_found_from(state.ref, state.last_not_found),
            final=state.final,
            warned=state.warned,
            marks=tuple(x for t, p in state.samples for x in (t + shift, p)),
            hint=state.hint,
            delay=state.delay,
            due=None if state.due is None else state.due + shift,
            request_timeout=state.request_timeout,
            warm=warm,
        )

    def resume(self, now: float, *, spread: float = RESUME_SPREAD) -> Step:
        """The step that goes on from a restored state: the next poll when it is due.

        A poll that fell due while nobody waited (the process was stopped or killed) is not made
        at once: it comes after a random part of ``min(spread, the job's last delay)``. Each job
        is then polled at most one of its own intervals late, and the polls that are overdue on a
        restart spread over those intervals, at about the rate they had before, not as a burst.
        Never past the deadline. A waiter that never polled gets ``first()``'s poll, spread the
        same way over ``min(spread, initial_delay)``.
        """
        if self.due is not None and self.due > now:
            delay = self.due - now
        else:
            last = self.delay if self.polls and self.delay is not None else self.policy.initial_delay
            delay = min(spread, last) * self.draw()
        delay = max(0.0, min(delay, self.deadline - now))
        remaining = max(0.0, self.deadline - now)
        return Step(action=Action.POLL, delay=delay, request_timeout=self._request_timeout(remaining, delay))

    def on_status(self, status: JobStatus, now: float, *, retry_after: float | None = None) -> Step:
        """A poll answered with ``status`` at ``now``; ``retry_after`` is the server's hint, if any."""
        self.polls += 1
        self.errors = 0
        self.last_error = None
        self.hint = retry_after
        previous = self.last
        if self.warm is None:  # the first status: the kinds this job may poll by, for good
            durations = self.policy.durations
            self.warm = 0 if durations is None else durations.warm_kinds(status.provider)
        moved = previous is None or previous.state is not status.state or previous.step != status.step
        self.streak = 1 if moved else self.streak + 1
        if self.whole is None:
            changed = status if status != previous else None
        else:  # what was kept is less than what came: compare with what came
            changed = status if hash(status) != self.whole else None
        if status.terminal:
            self._ended(previous, now)
            self.last, self.whole = status, None
            return Step(action=Action.RETURN, status=status, changed=changed)
        kept = self.last = shed(status, KEEP_BODY, KEEP_ITEMS)  # what a waiting job keeps is bounded
        self.whole = None if kept is status or kept == status else hash(status)
        until = None
        if status.state is State.ACTION_REQUIRED:
            grace = self.policy.action_grace_for(self.provider)
            if now - self.started >= grace - _EPSILON:
                return Step(action=Action.RAISE, error=self._action_required(status, now, grace), changed=changed)
            until = self.started + grace  # polled through, as queued, until the grace ends
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
        return self._schedule(now, retry_after, changed, warning, until)

    def on_error(self, error: DocstatusError, now: float) -> Step:
        """A poll failed at ``now`` with ``error`` (a ``DocstatusError``)."""
        self.polls += 1
        self.streak += 1
        self.errors += 1
        if isinstance(error, JobNotFound) and self.last is None:
            grace = self.policy.not_found_grace_for(self.provider)
            if now - self.started < grace - _EPSILON:  # not visible yet: retried within the grace
                self.last_error = error
                self.hint = None
                return self._schedule(now, None, None, None, self.started + grace)
            if grace > 0:
                error.add_note(
                    f"docstatus retried this 404 for {now - self.started:.1f} s "
                    f"(WaitPolicy.not_found_grace: {grace:g} s) before giving up"
                )
        if not isinstance(error, TRANSIENT):
            return Step(action=Action.RAISE, error=error)
        self.last_error = error
        hint = error.retry_after if isinstance(error, RateLimited | ProviderServerError) else None
        self.hint = hint
        return self._schedule(now, hint, None, None)

    @property
    def provider(self) -> str:
        """The provider of the job (the part of ``ref`` before the first colon)."""
        return self.ref.partition(":")[0]

    def timeout_error(self, now: float | None = None) -> WaitTimeout:
        """The ``WaitTimeout`` for this wait as it stands (its ``__cause__``: the last poll's error).

        Its message and ``timeout`` give the deadline this job had, ``deadline - started``
        (the Tracker's and Celery's jobs have their own, not ``policy.timeout``); given ``now``,
        a wait that ends well past its deadline (resumed after it, or a last poll that took
        long) also says how long ago waiting on the job started.
        """
        last = self.last
        if last is None:
            seen = "no status was received"
        else:
            progress = "" if last.progress is None else f", {last.progress:.0%}"
            seen = f"it was last {last.state} ({last.provider_state}{progress})"
        failed = "" if self.last_error is None else f"; the last poll failed: {self.last_error}"
        deadline = round(max(0.0, self.deadline - self.started), 3)
        late = ""
        if now is not None:
            waited = now - self.started
            if waited - deadline > max(1.0, 0.1 * deadline):
                late = f" (waiting on it started {duration(waited)} ago)"
        error = WaitTimeout(
            f"job {self.ref} did not end within its deadline of {duration(deadline)}{late}: {seen}{failed}; "
            "wait again later with the same reference, or give a longer deadline",
            ref=self.ref,
            last_status=last,
            timeout=deadline,
        )
        if self.last_error is not None:
            error.__cause__ = self.last_error
            error.__suppress_context__ = True
        return error

    # --- internals

    def _action_required(self, status: JobStatus, now: float, grace: float) -> ActionRequired:
        if grace <= 0:
            return ActionRequired(
                f"job {self.ref} is {status.provider_state}: it waits for you (e.g. an upload or a "
                "start call), so waiting cannot help; do that, then wait again",
                status=status,
            )
        return ActionRequired(
            f"job {self.ref} is still {status.provider_state} {now - self.started:.0f} s after waiting "
            f"started (WaitPolicy.action_grace: {grace:g} s): it waits for you (e.g. an upload or a start "
            "call); do that, then wait again (if you did, it is only slow: wait with a longer action_grace)",
            status=status,
        )

    def _schedule(
        self,
        now: float,
        hint: float | None,
        changed: JobStatus | None,
        warning: str | None,
        until: float | None = None,
    ) -> Step:
        if self.final or now >= self.deadline:
            return Step(action=Action.RAISE, error=self.timeout_error(now), changed=changed, warning=warning)
        delay = self._delay(hint, now)
        if until is not None and hint is None and now + delay > until:  # a poll at the grace's end
            delay = max(self.policy.min_delay, until - now)
        remaining = self.deadline - now
        if delay >= remaining:
            delay = remaining
            self.final = True
        request_timeout = self._request_timeout(remaining, delay)
        self.delay, self.due, self.request_timeout = delay, now + delay, request_timeout
        return Step(
            action=Action.POLL,
            delay=delay,
            request_timeout=request_timeout,
            changed=changed,
            warning=warning,
        )

    def _request_timeout(self, remaining: float, delay: float) -> float:
        return max(self.policy.request_timeout, remaining - delay)

    def _delay(self, hint: float | None, now: float) -> float:
        policy = self.policy
        if hint is not None:
            return policy.clamp_hint(hint)
        durations, last = policy.durations, self.last
        model = None  # where the jobs of this kind end, if that was known before this job (and no error)
        if durations is not None and last is not None and self.errors == 0 and self.warm:
            model = durations.delay(last, now - self.started, policy.lag_target, policy.jitter, self.draw, self.warm)
        if model is not None:
            delay = min(policy.max_delay, max(policy.min_delay, model))
        else:
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

    def _ended(self, previous: JobStatus | None, now: float) -> None:
        """The job was seen ended at ``now``: teach the policy's model how long it took (from
        the start of the wait to between the answer before and this one), under the kind of its
        last status before the end. A job ended at its first poll teaches nothing."""
        durations = self.policy.durations
        if durations is not None and previous is not None and self.due is not None and self.delay is not None:
            durations.ended(previous, self.started, self.due - self.delay, now)

    def _track(self, status: JobStatus, now: float) -> None:
        """Keep the first sightings of the last three progress values of the running job."""
        progress = status.progress
        marks = self.marks
        if status.state is not State.RUNNING or progress is None or not 0 <= progress < 1:
            if marks:
                self.marks = ()
        elif not marks or progress < marks[-1]:
            self.marks = (now, progress)
        elif progress > marks[-1]:
            self.marks = (*marks[-4:], now, progress)

    def _eta(self, now: float) -> tuple[float | None, bool]:
        """Seconds the job needs to finish at its last observed rate, and whether that rate is
        steady (the two last rates agree within ``STEADY``); ``(None, False)`` without a rate."""
        marks = self.marks
        if len(marks) < 4:
            return None, False
        t1, p1, t2, p2 = marks[-4:]
        if t2 <= t1 or p2 <= p1:  # a restored state is checked, but never divide by a rate of 0
            return None, False
        rate = (p2 - p1) / (t2 - t1)
        eta = (1.0 - p2) / rate - (now - t2)
        steady = False
        if len(marks) == 6:
            t0, p0 = marks[0], marks[1]
            if t1 > t0:
                before = (p1 - p0) / (t1 - t0)
                steady = abs(before - rate) <= STEADY * max(before, rate)
        return eta, steady


# --- the serializable waiting state of one job


def _finite(name: str, value: object, *, optional: bool = False, low: float | None = None) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"WaitState.{name} must be a finite number, not {value!r:.80}")
    if low is not None and value < low:
        raise ValueError(f"WaitState.{name} must be >= {low:g}, not {value!r}")
    return float(value)


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"WaitState.{name} must be a whole number >= 0, not {value!r}")
    return value


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"WaitState.{name} must be true or false, not {value!r}")  # noqa: TRY004  # one error type for a bad value
    return value


#: The errors a ``WaitState`` can carry as its last poll's error (the ones waiting retries).
_ERRORS: Final[dict[str, type[DocstatusError]]] = {cls.__name__: cls for cls in TRANSIENT}


def _error_from(ref: str, data: Mapping[str, Any] | None) -> DocstatusError | None:
    """The last poll's error rebuilt from its ``WaitState`` form (type, message, hint)."""
    if data is None:
        return None
    cls = _ERRORS[data["type"]]
    provider = ref.partition(":")[0] or None
    message = str(data["message"])
    if cls is TransportError:
        return TransportError(message, provider=provider, ref=ref)
    if cls is RateLimited or cls is ProviderServerError:
        return cls(
            message,
            retry_after=data.get("retry_after"),
            provider=provider,
            ref=ref,
            status_code=data.get("status_code"),
        )
    return MalformedResponse(message, provider=provider, ref=ref, status_code=data.get("status_code"))


def _not_found_from(ref: str, data: Mapping[str, Any] | None) -> JobNotFound | None:
    """The 404 retried within the not-found grace, rebuilt from its ``WaitState`` form."""
    if data is None:
        return None
    return JobNotFound(
        str(data["message"]),
        provider=ref.partition(":")[0] or None,
        ref=ref,
        status_code=data.get("status_code"),
        code=data.get("code"),
    )


@attrs.frozen(kw_only=True)
class WaitState:
    """The waiting state of one job, as a small value: what a ``Waiter`` needs to go on where it
    was, in another process or after a restart (``Waiter.snapshot`` / ``Waiter.restore``).

    Every time is wall-clock seconds since the epoch (``time.time()``), so the value means the
    same in any process; a running waiter keeps its own monotonic clock, and only its snapshots
    are on the wall clock. The deadline is absolute: restoring never extends it.

    ``to_dict()`` gives a JSON-safe dict (plain numbers, strings, lists, ``None``), with
    ``"v"``, its form's version; ``from_dict`` reads it back and refuses any other version or
    a malformed value with ``ValueError``. No credential is part of it. Version rule: a key
    whose absence means what it meant before may be added within a version (it is written
    only when set, and a reader that does not know it ignores it and loses only what it
    carries); any other change of the form is a new version.

    Attributes:
        ref: The job reference.
        started: When waiting started.
        deadline: When waiting ends, whatever happens.
        polls: Polls answered so far (statuses and errors).
        streak: Polls since the state or step last changed (the backoff exponent is one less).
        errors: Consecutive failed polls.
        final: True once the last poll (at the deadline) is scheduled.
        warned: True once the unknown-state warning was given.
        samples: ``(time, progress)`` sightings for the progress-based delay.
        last: The last status's JSON form (``JobStatus.to_dict()``), or ``None``.
        last_error: The last poll's error, when it failed: ``type`` (a retried error's class
            name), ``message``, ``retry_after``, ``status_code``.
        last_not_found: The last poll's 404, when it was retried within the not-found grace:
            ``message``, ``status_code``, ``code`` (written only when set; added within v1).
        hint: The server's hint on the last answer (seconds), or ``None``.
        delay: The last delay scheduled (seconds), or ``None`` before the first answer.
        due: When the next poll is due, or ``None`` before the first answer.
        request_timeout: The next poll's request timeout (seconds), or ``None``.
        warm: The kinds the job polls by (``Waiter.warm``: bits, decided at its first status),
            or ``None`` (written only when set; added within v1: a state without it, with a
            status, polls by the kinds warm where it is restored).
    """

    ref: str
    started: float
    deadline: float
    polls: int = 0
    streak: int = 0
    errors: int = 0
    final: bool = False
    warned: bool = False
    samples: tuple[tuple[float, float], ...] = ()
    last: Mapping[str, Any] | None = None
    last_error: Mapping[str, Any] | None = None
    last_not_found: Mapping[str, Any] | None = None
    hint: float | None = None
    delay: float | None = None
    due: float | None = None
    request_timeout: float | None = None
    warm: int | None = None

    @property
    def last_status(self) -> JobStatus | None:
        """``last`` as a ``JobStatus``."""
        return None if self.last is None else JobStatus.from_dict(dict(self.last))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form, with ``"v": WAIT_STATE_VERSION``."""
        return _state_form(
            ref=self.ref,
            started=self.started,
            deadline=self.deadline,
            polls=self.polls,
            streak=self.streak,
            errors=self.errors,
            final=self.final,
            warned=self.warned,
            samples=[[t, p] for t, p in self.samples],
            last=None if self.last is None else dict(self.last),
            last_error=None if self.last_error is None else dict(self.last_error),
            last_not_found=None if self.last_not_found is None else dict(self.last_not_found),
            hint=self.hint,
            delay=self.delay,
            due=self.due,
            request_timeout=self.request_timeout,
            warm=self.warm,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WaitState:
        """Read ``to_dict()``'s form back; ``ValueError`` for another version or a bad value
        (whatever the value: a stored row or a queue message is read as untrusted)."""
        return read_stored("WaitState", data, cls._from_dict, (TypeError, AttributeError, KeyError, OverflowError))

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> WaitState:
        version = data.get("v")
        if version != WAIT_STATE_VERSION:
            raise ValueError(
                f"WaitState version {version!r} is not {WAIT_STATE_VERSION}, the one this docstatus reads"
                + (" (it was written by a newer docstatus)" if isinstance(version, int) and version > 1 else "")
            )
        ref = data.get("ref")
        if not isinstance(ref, str) or not ref:
            raise ValueError(f"WaitState.ref must be a non-empty string, not {ref!r:.80}")
        parse_ref(ref)  # InvalidJobRef, a ValueError, for a ref that does not parse
        samples = data.get("samples", [])
        if not isinstance(samples, list) or not all(isinstance(x, list) and len(x) == 2 for x in samples):
            raise ValueError("WaitState.samples must be a list of [time, progress] pairs")
        pairs = [(float(_finite("samples", t) or 0.0), float(_finite("samples", p) or 0.0)) for t, p in samples]
        for (t0, p0), (t1, p1) in itertools.pairwise(pairs):
            if not (t1 > t0 and p1 > p0):
                raise ValueError("WaitState.samples must rise in time and in progress, as waiting records them")
        if any(not 0 <= p < 1 for _, p in pairs):
            raise ValueError("WaitState.samples' progress must be in [0, 1)")
        status = read_last(data.get("last"))
        last = None if status is None else status.to_dict()  # checked, its texts made encodable
        last_error = data.get("last_error")
        if last_error is not None and (
            not isinstance(last_error, Mapping)
            or last_error.get("type") not in _ERRORS
            or not isinstance(last_error.get("message"), str)
        ):
            raise ValueError(f"WaitState.last_error must name one of {sorted(_ERRORS)} with a message, or be null")
        if last_error is not None:
            _finite("last_error.retry_after", last_error.get("retry_after"), optional=True, low=0.0)
            _status_code("last_error.status_code", last_error.get("status_code"))
        last_not_found = data.get("last_not_found")
        if last_not_found is not None and (
            not isinstance(last_not_found, Mapping)
            or not isinstance(last_not_found.get("message"), str)
            or not isinstance(last_not_found.get("code"), str | None)
            or last_error is not None
        ):
            raise ValueError(
                "WaitState.last_not_found must be a 404's message, status_code and code (and last_error null), or null"
            )
        if last_not_found is not None:
            _status_code("last_not_found.status_code", last_not_found.get("status_code"))
        return cls(
            ref=ref,
            started=_finite("started", data.get("started")),  # type: ignore[arg-type]
            deadline=_finite("deadline", data.get("deadline")),  # type: ignore[arg-type]
            polls=_count("polls", data.get("polls", 0)),
            streak=_count("streak", data.get("streak", 0)),
            errors=_count("errors", data.get("errors", 0)),
            final=_flag("final", data.get("final", False)),
            warned=_flag("warned", data.get("warned", False)),
            samples=tuple(
                (_finite("samples", t), _finite("samples", p))  # type: ignore[misc]
                for t, p in samples
            ),
            last=last,
            last_error=None if last_error is None else _clean_message(last_error),
            last_not_found=None if last_not_found is None else _clean_message(last_not_found),
            hint=_finite("hint", data.get("hint"), optional=True, low=0.0),
            delay=_finite("delay", data.get("delay"), optional=True, low=0.0),
            due=_finite("due", data.get("due"), optional=True),
            request_timeout=_finite("request_timeout", data.get("request_timeout"), optional=True, low=0.0),
            warm=_warm(data.get("warm")),
        )


def read_last(value: object) -> JobStatus | None:
    """A stored waiting state's last status (``WaitState.last``, or a tracked row's ``last``
    column decoded) as a ``JobStatus``; ``ValueError`` when it is neither a ``JobStatus`` JSON
    object nor null."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError("WaitState.last must be a JobStatus JSON object or null")  # noqa: TRY004  # a stored value: ValueError as for every field
    try:
        return JobStatus.from_dict(value)
    except ValueError as exc:
        raise ValueError(f"WaitState.last is not a JobStatus JSON object: {exc}") from None


def _state_form(
    *,
    ref: str,
    started: float,
    deadline: float,
    polls: int,
    streak: int,
    errors: int,
    final: bool,
    warned: bool,
    samples: list[list[float]],
    last: dict[str, Any] | None,
    last_error: dict[str, Any] | None,
    last_not_found: dict[str, Any] | None,
    hint: float | None,
    delay: float | None,
    due: float | None,
    request_timeout: float | None,
    warm: int | None,
) -> dict[str, Any]:
    """The stored form of a waiting state (``WaitState.to_dict``; ``Waiter.state_dict`` makes it
    straight from a waiter): ``last_not_found`` and ``warm`` only when set."""
    data: dict[str, Any] = {
        "v": WAIT_STATE_VERSION,
        "ref": ref,
        "started": started,
        "deadline": deadline,
        "polls": polls,
        "streak": streak,
        "errors": errors,
        "final": final,
        "warned": warned,
        "samples": samples,
        "last": last,
        "last_error": last_error,
        "hint": hint,
        "delay": delay,
        "due": due,
        "request_timeout": request_timeout,
    }
    if last_not_found is not None:
        data["last_not_found"] = last_not_found
    if warm is not None:
        data["warm"] = warm
    return data


def _warm(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << (BUCKETS + 2):
        raise ValueError(
            f"WaitState.warm must be a whole number of {BUCKETS + 2} bits (the warm kinds), or null, not {value!r:.80}"
        )
    return value


def _status_code(name: str, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"WaitState.{name} must be a whole number or null, not {value!r:.80}")


def _clean_message(data: Mapping[str, Any]) -> dict[str, Any]:
    """An error's stored form, its message made encodable (lone surrogates -> U+FFFD)."""
    out = dict(data)
    out["message"] = clean(out["message"])
    return out
