"""Waiting on one job: ``wait``/``watch`` (sync) and ``wait_async``/``watch_async``.

These are thin shells around the sans-IO ``Waiter`` (see ``_core``): they sleep, poll, and hand
what happened back to it. What the sync and async loops share (which poll comes next, what an
outcome means, when the wait is over) is ``_Loop``; each loop only sleeps and polls its own way.
Everything time-related is injectable: ``clock`` (monotonic seconds) and ``sleep``, so a test
can run an hour of waiting in milliseconds.

The async loop runs each poll under an outer timeout: its request timeout (the provider
configuration's own, when shorter, for docstatus's HTTP poll) plus ``POLL_GRACE``; a poll that
overruns it is abandoned and counts as a ``TransportError``, retried within the deadline.
"""

from __future__ import annotations

import math
import time
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Final

import attrs

from docstatus._secrets import logger

from ._attempt import Attempt, JobTrace, host_key, host_of
from ._core import Action, Step, Waiter, WaitPolicy
from ._hooks import current as _current_hooks
from ._poll import (
    Configs,
    fetch_poller,
    fetch_poller_async,
    new_async_client,
    new_client,
    to_ref,
)

if TYPE_CHECKING:
    import random as _random
    from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator

    import httpx

    from docstatus._config import ProviderConfig
    from docstatus._exceptions import DocstatusError
    from docstatus._refs import JobRef
    from docstatus._status import JobStatus

    from ._poll import AsyncPollFn, PollFn

#: Extra seconds an async poll may take past its request timeout before it is abandoned.
POLL_GRACE: Final = 1.0

#: ``(changed status or None, final status or None)``: what one step of the loop produced.
_Tick = tuple["JobStatus | None", "JobStatus | None"]


def resolve_policy(policy: WaitPolicy | None, timeout: float | None) -> WaitPolicy:
    """``policy`` (default ``WaitPolicy()``) with ``timeout`` when one is given."""
    policy = WaitPolicy() if policy is None else policy
    return policy if timeout is None else attrs.evolve(policy, timeout=timeout)


def max_polls(policy: WaitPolicy) -> int:
    """An upper bound on the polls of one wait: every sleep but the last lasts ``min_delay`` or
    more. Guards the loops against a clock that does not move."""
    return math.ceil(policy.timeout / policy.min_delay) + 3


def _configs(job: JobRef, poll: object, config: ProviderConfig | None) -> Configs | None:
    """The configurations docstatus's own HTTP poll uses (``None`` with a poll function of your
    own); a bad configuration for ``job`` raises now, before any request."""
    if poll is not None:
        return None
    configs = Configs.of(config)
    configs.for_ref(job)
    return configs


def random_source(rng: _random.Random | None) -> Callable[[], float]:
    """``rng.random``, or the ``random`` module's."""
    if rng is None:
        import random  # noqa: PLC0415

        return random.random
    return rng.random


@attrs.define
class _Loop:
    """What the sync and async loops of one wait share: the next poll, and its outcome.

    Attributes:
        job: The job (its canonical ``JobRef``).
        waiter: The job's ``Waiter``.
        step: The step it is on.
        left: Polls left before the loop gives up (``max_polls``: a clock that never moves).
        trace: What the hooks keep of the job (``None``: no hooks).
        host: The provider host polled (``host:port``; ``None``: a poll function of your own).
        url: The status URL of the job, for the hooks (``None``: a poll function of your own).

    ``start`` makes it, with every attribute.
    """

    job: JobRef
    waiter: Waiter
    step: Step
    left: int
    trace: JobTrace | None
    host: str | None
    url: Callable[[JobRef], str] | None

    @classmethod
    def start(
        cls, job: JobRef, policy: WaitPolicy, now: float, draw: Callable[[], float], configs: Configs | None
    ) -> _Loop:
        waiter = Waiter.start(str(job), policy, now, draw=draw)
        host = None if configs is None else host_of(host_key(job, configs))
        trace = JobTrace.start(_current_hooks(), job, host)
        return cls(
            job=job,
            waiter=waiter,
            step=waiter.first(),
            left=max_polls(policy),
            trace=trace,
            host=host,
            url=None if configs is None else configs.url,
        )

    def attempts(self) -> Iterator[tuple[float, Attempt]]:
        """The polls to make, each ``(seconds to sleep first, its attempt)``, until the wait is over:
        hand each outcome to ``report`` before asking for the next. Ends when the wait ends with
        its final status; raises the error it ended with, or ``WaitTimeout`` when the bound on
        polls is spent."""
        while True:
            if self.left <= 0:
                raise self.waiter.timeout_error()
            self.left -= 1
            step = self.step
            yield (
                step.delay,
                Attempt(
                    job=self.job,
                    waiter=self.waiter,
                    timeout=step.request_timeout,
                    trace=self.trace,
                    host=self.host,
                    url=self.url,
                ),
            )
            if self._over():
                return

    def report(self, now: float, attempt: Attempt, result: Any, error: DocstatusError | None) -> _Tick:
        """A poll's outcome at ``now``: what to yield (the changed status, the final status)."""
        step = self.step = attempt.conclude(result, error, now)
        if step.warning is not None:
            logger.warning(step.warning)
        return step.changed, step.status

    def _over(self) -> bool:
        """True when the wait has ended with its final status; raises the error it ended with."""
        step = self.step
        if step.action is Action.RAISE:
            assert step.error is not None
            raise step.error
        return step.action is Action.RETURN

    def close(self) -> None:
        """The wait is over: a job whose end the hooks did not get was let go (the caller left)."""
        if self.trace is not None:
            self.trace.release()


# --- sync


def watch(
    ref: str | JobRef,
    *,
    timeout: float | None = None,
    policy: WaitPolicy | None = None,
    config: ProviderConfig | None = None,
    client: httpx.Client | None = None,
    poll: PollFn | None = None,
    on_change: Callable[[JobStatus], None] | None = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    rng: _random.Random | None = None,
) -> Iterator[JobStatus]:
    """Poll one job until it ends, yielding each ``JobStatus`` that differs from the one before.

    The last item is the final status (``succeeded``, ``partially_succeeded``, ``failed`` or
    ``cancelled``: check it with ``status.raise_for_failure()``). Raises ``WaitTimeout`` when the
    deadline passes first (with the last status and the ref), ``ActionRequired`` when the job
    waits for the caller (after ``WaitPolicy.action_grace``: by default the provider module's
    ``ACTION_GRACE``, 0 for most: at once), ``UnknownState`` for an unknown state under ``WaitPolicy(unknown="raise")``,
    and at once for errors waiting cannot fix (``AuthenticationError``, ``JobNotFound``,
    ``BadRequest``, ``ConfigurationError``) — except a 404 within ``WaitPolicy.not_found_grace``
    before any status (by default the provider module's ``NOT_FOUND_GRACE``), which is retried.
    Rate limits, server errors, timeouts, dropped connections and malformed bodies are retried
    within the deadline.

    Args:
        ref: ``"<provider>:<id>"`` or a ``JobRef``.
        timeout: The deadline in seconds (overrides ``policy.timeout``; default 3600).
        policy: Delays, deadline, and what unknown states do (``WaitPolicy``).
        config: The provider's configuration; default from the environment.
        client: An ``httpx.Client`` to poll with (kept open); default a fresh one.
        poll: Your own poll function ``poll(ref, timeout)`` instead of HTTP (see ``_poll``).
        on_change: Called with each status that differs from the one before.
        clock: Monotonic seconds (default ``time.monotonic``); pass it with ``sleep``.
        sleep: Sleeps that many seconds (default ``time.sleep``).
        rng: Random source of the jitter (default the ``random`` module's).
    """
    job = to_ref(ref)
    resolved = resolve_policy(policy, timeout)
    configs = _configs(job, poll, config)
    ticks = _ticks(
        job,
        resolved,
        poll,
        None if configs is None else (configs, client),
        clock or time.monotonic,
        sleep or time.sleep,
        random_source(rng),
    )
    return _changes(ticks, on_change)


def wait(
    ref: str | JobRef,
    *,
    timeout: float | None = None,
    policy: WaitPolicy | None = None,
    config: ProviderConfig | None = None,
    client: httpx.Client | None = None,
    poll: PollFn | None = None,
    on_change: Callable[[JobStatus], None] | None = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    rng: _random.Random | None = None,
) -> JobStatus:
    """Poll one job until it ends and return its final ``JobStatus``.

    Never returns a status that is not final. The arguments and the errors are ``watch``'s.
    """
    final: JobStatus | None = None
    for status in watch(
        ref,
        timeout=timeout,
        policy=policy,
        config=config,
        client=client,
        poll=poll,
        on_change=on_change,
        clock=clock,
        sleep=sleep,
        rng=rng,
    ):
        final = status
    if final is None or not final.terminal:  # pragma: no cover  # the loop only ends on a final status
        raise AssertionError("internal error: the wait ended without a final status")
    return final


def _changes(ticks: Iterator[_Tick], on_change: Callable[[JobStatus], None] | None) -> Iterator[JobStatus]:
    for changed, _final in ticks:
        if changed is not None:
            if on_change is not None:
                on_change(changed)
            yield changed


def _ticks(
    job: JobRef,
    policy: WaitPolicy,
    poll: PollFn | None,
    http: tuple[Configs, httpx.Client | None] | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    rnd: Callable[[], float],
) -> Iterator[_Tick]:
    owned: httpx.Client | None = None
    loop: _Loop | None = None
    try:
        configs = None
        if poll is None:  # HTTP: the client opens here, when iteration starts, and closes below
            assert http is not None
            configs, client = http
            if client is None:
                client = owned = new_client()
            poll = fetch_poller(configs, client)
        loop = _Loop.start(job, policy, clock(), rnd, configs)
        for delay, attempt in loop.attempts():
            if delay > 0:
                sleep(delay)
            result, error = attempt.call(poll)
            yield loop.report(clock(), attempt, result, error)
    finally:
        if loop is not None:
            loop.close()
        if owned is not None:
            owned.close()


# --- async


def watch_async(
    ref: str | JobRef,
    *,
    timeout: float | None = None,
    policy: WaitPolicy | None = None,
    config: ProviderConfig | None = None,
    client: httpx.AsyncClient | None = None,
    poll: AsyncPollFn | None = None,
    on_change: Callable[[JobStatus], None] | None = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], Awaitable[Any]] | None = None,
    rng: _random.Random | None = None,
) -> AsyncIterator[JobStatus]:
    """The async twin of ``watch`` (``async for status in watch_async(ref)``); runs on asyncio or
    trio. ``clock`` defaults to the event loop's, ``sleep`` to ``anyio.sleep``. Cancelling the
    task that iterates stops the polling at once; close the iterator (``contextlib.aclosing``)
    when you leave the loop early, so the client it opened closes then too."""
    job = to_ref(ref)
    ticks = _aticks_for(job, timeout, policy, config, client, poll, clock, sleep, rng)
    return _achanges(ticks, on_change)


async def wait_async(
    ref: str | JobRef,
    *,
    timeout: float | None = None,  # noqa: ASYNC109  # the wait's deadline, as in `wait`
    policy: WaitPolicy | None = None,
    config: ProviderConfig | None = None,
    client: httpx.AsyncClient | None = None,
    poll: AsyncPollFn | None = None,
    on_change: Callable[[JobStatus], None] | None = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], Awaitable[Any]] | None = None,
    rng: _random.Random | None = None,
) -> JobStatus:
    """The async twin of ``wait``. Cancelling it stops at once and leaves nothing running."""
    job = to_ref(ref)
    ticks = _aticks_for(job, timeout, policy, config, client, poll, clock, sleep, rng)
    async with aclosing(ticks) as steps:
        async for changed, final in steps:
            if changed is not None and on_change is not None:
                on_change(changed)
            if final is not None:
                return final
    raise AssertionError("internal error: the wait ended without a final status")  # pragma: no cover


def _aticks_for(
    job: JobRef,
    timeout: float | None,
    policy: WaitPolicy | None,
    config: ProviderConfig | None,
    client: httpx.AsyncClient | None,
    poll: AsyncPollFn | None,
    clock: Callable[[], float] | None,
    sleep: Callable[[float], Awaitable[Any]] | None,
    rng: _random.Random | None,
) -> AsyncGenerator[_Tick, None]:
    resolved = resolve_policy(policy, timeout)
    configs = _configs(job, poll, config)
    if clock is None or sleep is None:
        import anyio  # noqa: PLC0415

        clock = clock or anyio.current_time
        sleep = sleep or anyio.sleep
    http = None if configs is None else (configs, client)
    return _aticks(job, resolved, poll, http, clock, sleep, random_source(rng))


async def _achanges(
    ticks: AsyncGenerator[_Tick, None], on_change: Callable[[JobStatus], None] | None
) -> AsyncIterator[JobStatus]:
    async with aclosing(ticks) as steps:
        async for changed, _final in steps:
            if changed is not None:
                if on_change is not None:
                    on_change(changed)
                yield changed


async def _aticks(
    job: JobRef,
    policy: WaitPolicy,
    poll: AsyncPollFn | None,
    http: tuple[Configs, httpx.AsyncClient | None] | None,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[Any]],
    rnd: Callable[[], float],
) -> AsyncGenerator[_Tick, None]:
    import anyio  # noqa: PLC0415

    owned: httpx.AsyncClient | None = None
    cap = math.inf  # a poll function of your own: its request timeout only
    loop: _Loop | None = None
    try:
        configs = None
        if poll is None:  # HTTP: the client opens here, when iteration starts, and closes below
            assert http is not None
            configs, client = http
            if client is None:
                client = owned = new_async_client()
            poll = fetch_poller_async(configs, client)
            cap = configs.for_ref(job).timeout  # the configuration's own request timeout
        loop = _Loop.start(job, policy, clock(), rnd, configs)
        for delay, attempt in loop.attempts():
            if delay > 0:
                await sleep(delay)
            limit = min(attempt.timeout, cap) + POLL_GRACE
            result, error = await attempt.call_async(poll, limit, anyio.fail_after)
            yield loop.report(clock(), attempt, result, error)
    finally:
        if loop is not None:
            loop.close()
        if owned is not None:
            with anyio.CancelScope(shield=True):
                await owned.aclose()
