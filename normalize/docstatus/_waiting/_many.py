"""``watch_many``: wait on many jobs at once, sharing one polite budget per provider host.

One dispatcher (an asyncio task) keeps every job's next poll time in a heap; when a poll is
due it goes to its host's queue, and polls start while three budgets allow:

- ``concurrency``: polls in flight in total;
- per host (a provider at one base URL), ``host_concurrency`` polls in flight and ``host_rate``
  polls per second (a token bucket that allows bursts of ``host_concurrency``);
- a 429 (or a 5xx with ``Retry-After``) from any job pauses every job of that host for the hint
  (or a backoff), and halves the host's rate; the rate doubles back every ``RECOVERY`` seconds
  without another 429.

Each job's own timing (hints, backoff, deadline, states) is the sans-IO ``Waiter``'s, exactly as
for ``wait``. A job costs one ``Waiter`` and its last status while it waits, not a task, so ten
thousand jobs are cheap. Time is the event loop's unless ``clock`` and ``sleep`` are given: then
time is virtual, for tests and benchmarks — only the dispatcher sleeps, and only while no poll is
in flight, so a fake clock advanced by ``sleep`` runs hours in milliseconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections import deque
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import attrs

from docstatus._exceptions import DocstatusError, ProviderServerError, RateLimited, TransportError

from ._core import Action, Step, Waiter, WaitPolicy
from ._poll import Configs, fetch_poller_async, new_async_client, outcome, to_ref
from ._single import POLL_GRACE, _random_source, max_polls, resolve_policy

if TYPE_CHECKING:
    import random as _random
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

    import httpx

    from docstatus._config import ProviderConfig
    from docstatus._refs import JobRef
    from docstatus._status import JobStatus

    from ._poll import AsyncPollFn

logger: Final = logging.getLogger("docstatus")

#: Seconds without a 429 after which a throttled host's rate doubles (up to its limit).
RECOVERY: Final = 10.0
#: The slowest a throttled host is ever polled, in requests per second.
MIN_RATE: Final = 0.2


@attrs.frozen(kw_only=True)
class JobUpdate:
    """One event of ``watch_many``: a job's status changed, or waiting on it ended.

    Attributes:
        ref: The job reference, as a string.
        status: The job's latest ``JobStatus`` (``None`` if no poll has succeeded).
        done: True for the job's last update: it ended (``status`` is final) or waiting on it
            stopped (``error``).
        error: Why waiting stopped without a final status (``WaitTimeout``, ``ActionRequired``,
            ``JobNotFound``, ``AuthenticationError``, ...), else ``None``.
    """

    ref: str
    status: JobStatus | None
    done: bool = False
    error: DocstatusError | None = None

    @property
    def final(self) -> JobStatus | None:
        """The final status when the job ended, else ``None``."""
        if self.done and self.error is None and self.status is not None and self.status.terminal:
            return self.status
        return None


@attrs.define(eq=False)
class _Job:
    """A job being watched: its ref, its waiter, its host, and the step it is on."""

    ref: JobRef
    waiter: Waiter
    host: HostBudget
    step: Step


@attrs.define(eq=False)
class HostBudget:
    """The shared budget of one provider host.

    Attributes:
        key: ``"<provider> <host:port>"``.
        concurrency: Polls in flight at most.
        rate: Polls per second at most when not throttled (``None``: no limit).
        current: The rate now (lower after a 429); ``None``: no limit.
        inflight: Polls in flight now.
        tat: The token bucket's theoretical arrival time (GCRA).
        pause_until: No poll starts before this time (set by a 429's hint).
        throttled_at: When the rate was last lowered or raised after a 429, or ``None``.
        strikes: 429s in a row (the pause's backoff exponent when there is no hint).
        observed: Recent seconds between polls (an average), to size the rate after a 429
            when there is no configured rate.
        last_start: When the last poll started.
        limit_seen: The rate at which the last 429 came, for hosts without a configured rate.
        ready: Jobs due and waiting for this host's budget, in order.
    """

    key: str
    concurrency: int
    rate: float | None
    current: float | None = None
    inflight: int = 0
    tat: float = -math.inf
    pause_until: float = -math.inf
    throttled_at: float | None = None
    strikes: int = 0
    observed: float | None = None
    last_start: float | None = None
    limit_seen: float | None = None
    ready: deque[_Job] = attrs.Factory(deque)

    def __attrs_post_init__(self) -> None:
        self.current = self.rate

    def free(self) -> bool:
        """True when a poll may start as far as concurrency goes."""
        return self.inflight < self.concurrency

    def ready_at(self, now: float) -> float:
        """The earliest time the next poll may start, as far as pauses and the rate go."""
        self._recover(now)
        at = self.pause_until
        if self.current is not None:
            tolerance = (self.concurrency - 1) / self.current
            at = max(at, self.tat - tolerance)
        return at

    def take(self, now: float) -> None:
        """A poll starts now."""
        if self.current is not None:
            self.tat = max(self.tat, now) + 1.0 / self.current
        if self.last_start is not None:
            gap = max(0.0, now - self.last_start)
            self.observed = gap if self.observed is None else 0.8 * self.observed + 0.2 * gap
        self.last_start = now
        self.inflight += 1

    def done(self) -> None:
        """A poll ended."""
        self.inflight -= 1

    def succeeded(self) -> None:
        """A poll got an answer that was not a 429."""
        self.strikes = 0

    def throttle(self, now: float, hint: float | None, policy: WaitPolicy) -> None:
        """A poll got a 429 (or a 5xx with a hint): pause every poll, and slow down."""
        self.strikes += 1
        pause = policy.clamp_hint(hint) if hint is not None else policy.backoff(self.strikes - 1)
        self.pause_until = max(self.pause_until, now + pause)
        rate = self.current
        if rate is None:  # no configured limit: go at half the pace that met the 429
            pace = 1.0 / self.observed if self.observed else float(self.concurrency)
            self.limit_seen = pace
            rate = pace
        self.current = max(MIN_RATE, rate / 2.0)
        self.tat = max(self.tat, self.pause_until)
        self.throttled_at = now

    def _recover(self, now: float) -> None:
        if self.throttled_at is None or now - self.throttled_at < RECOVERY or self.current is None:
            return
        self.current *= 2.0
        self.throttled_at = now
        ceiling = self.rate if self.rate is not None else self.limit_seen
        if ceiling is None or self.current >= ceiling:
            self.current = self.rate
            self.throttled_at = None


def _host_key(ref: JobRef, configs: Configs | None) -> str:
    if configs is None:
        return ref.provider
    return f"{ref.provider} {urlsplit(configs.for_ref(ref).base_url).netloc}"


@attrs.define(eq=False)
class _Fleet:
    """The dispatcher and the polls of one ``watch_many`` (``guard``: abandon a poll that takes
    longer than its request timeout; off for docstatus's own HTTP poll, which times out itself)."""

    poll: AsyncPollFn
    policy: WaitPolicy
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[Any]] | None
    concurrency: int
    on_change: Callable[[JobStatus], None] | None
    updates: asyncio.Queue[JobUpdate | None]
    guard: bool = True
    pending: int = 0
    inflight: int = 0
    heap: list[tuple[float, int, _Job]] = attrs.Factory(list)
    counter: itertools.count[int] = attrs.Factory(itertools.count)
    hosts: list[HostBudget] = attrs.Factory(list)
    tasks: set[asyncio.Task[None]] = attrs.Factory(set)
    wakeup: asyncio.Future[None] | None = None
    failure: BaseException | None = None

    def enlist(
        self,
        jobs: list[JobRef],
        configs: Configs | None,
        host_concurrency: int,
        host_rate: float | None,
        draw: Callable[[], float],
    ) -> None:
        """Start waiting on ``jobs`` now: each gets a ``Waiter`` and its host's budget."""
        hosts: dict[str, HostBudget] = {}
        start = self.clock()
        for ref in jobs:
            key = _host_key(ref, configs)
            host = hosts.get(key)
            if host is None:
                host = hosts[key] = HostBudget(key=key, concurrency=host_concurrency, rate=host_rate)
                self.hosts.append(host)
            waiter = Waiter.start(str(ref), self.policy, start, draw=draw)
            self.pending += 1
            job = _Job(ref=ref, waiter=waiter, host=host, step=waiter.first())
            heapq.heappush(self.heap, (start, next(self.counter), job))

    async def run(self, limit: int) -> None:
        """Dispatch polls until every job is done (or a poll function or hook fails)."""
        loop = asyncio.get_running_loop()
        try:
            for _ in range(limit):
                if self.pending == 0 or self.failure is not None:
                    return
                now = self.clock()
                heap = self.heap
                while heap and heap[0][0] <= now:
                    job = heapq.heappop(heap)[2]
                    job.host.ready.append(job)
                next_time = heap[0][0] if heap else math.inf
                next_time = min(next_time, self._start_polls(loop, now))
                await self._idle(loop, None if next_time == math.inf else max(0.0, next_time - now))
            self.failure = RuntimeError("internal error: watch_many's dispatcher did not end within its bound")
        except Exception as exc:
            if self.failure is None:
                self.failure = exc
        finally:
            self.updates.put_nowait(None)

    def _start_polls(self, loop: asyncio.AbstractEventLoop, now: float) -> float:
        """Start every poll the budgets allow, one per host in turn; return when to look again."""
        wake = math.inf
        busy = [h for h in self.hosts if h.ready]
        while busy and self.inflight < self.concurrency:
            still: list[HostBudget] = []
            for host in busy:
                if self.inflight >= self.concurrency:
                    break
                if not host.free():
                    continue
                at = host.ready_at(now)
                if at > now:
                    wake = min(wake, at)
                    continue
                job = host.ready.popleft()
                host.take(now)
                self.inflight += 1
                task = loop.create_task(self._poll(job))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
                if host.ready:
                    still.append(host)
            busy = still
        return wake

    async def _idle(self, loop: asyncio.AbstractEventLoop, delay: float | None) -> None:
        """Wait ``delay`` seconds (``None``: no limit) or until a poll ends.

        With an injected ``sleep`` time is virtual: it moves only when no poll is in flight
        (``sleep`` is awaited then, and nothing can end it early), else this waits for a poll.
        """
        if delay == 0.0:
            await asyncio.sleep(0)
            return
        if self.sleep is not None and self.inflight == 0 and delay is not None:
            await self.sleep(delay)
            return
        wakeup: asyncio.Future[None] = loop.create_future()
        self.wakeup = wakeup
        handle = None
        if delay is not None and self.sleep is None:
            handle = loop.call_later(delay, _resolve, wakeup)
        try:
            await wakeup
        finally:
            self.wakeup = None
            if handle is not None:
                handle.cancel()

    def _wake(self) -> None:
        if self.wakeup is not None:
            _resolve(self.wakeup)

    async def _poll(self, job: _Job) -> None:
        waiter, host, policy = job.waiter, job.host, self.policy
        try:
            step = job.step
            limit = step.request_timeout + POLL_GRACE
            try:
                if self.guard:
                    async with asyncio.timeout(limit):
                        result = await self.poll(job.ref, step.request_timeout)
                else:  # docstatus's own HTTP poll: its requests time out by themselves
                    result = await self.poll(job.ref, step.request_timeout)
            except TimeoutError as exc:
                if isinstance(exc, DocstatusError):
                    raise
                error = TransportError(
                    f"the status poll for {job.ref} took longer than {limit:g} s and was abandoned; "
                    "it is retried within the deadline",
                    provider=job.ref.provider,
                    ref=str(job.ref),
                )
                step = waiter.on_error(error, self.clock())
            except DocstatusError as exc:
                now = self.clock()
                if isinstance(exc, RateLimited) or (
                    isinstance(exc, ProviderServerError) and exc.retry_after is not None
                ):
                    host.throttle(now, exc.retry_after, policy)
                step = waiter.on_error(exc, now)
            else:
                status, hint = outcome(result)
                host.succeeded()
                step = waiter.on_status(status, self.clock(), retry_after=hint)
            self._after(job, step)
        except Exception as exc:  # a poll function or hook failed: watch_many raises it
            if self.failure is None:
                self.failure = exc
        finally:
            host.done()
            self.inflight -= 1
            self._wake()

    def _after(self, job: _Job, step: Step) -> None:
        if step.warning is not None:
            logger.warning(step.warning)
        if step.changed is not None and self.on_change is not None:
            self.on_change(step.changed)
        ref = job.waiter.ref
        if step.action is Action.POLL:
            if step.changed is not None:
                self.updates.put_nowait(JobUpdate(ref=ref, status=step.changed))
            job.step = step
            heapq.heappush(self.heap, (self.clock() + step.delay, next(self.counter), job))
            return
        self.pending -= 1
        error = step.error if step.action is Action.RAISE else None
        self.updates.put_nowait(JobUpdate(ref=ref, status=job.waiter.last, done=True, error=error))


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def watch_many(
    refs: Iterable[str | JobRef],
    *,
    timeout: float | None = None,  # noqa: ASYNC109  # the deadline of every job, as in `wait`
    policy: WaitPolicy | None = None,
    config: ProviderConfig | Iterable[ProviderConfig] | None = None,
    client: httpx.AsyncClient | None = None,
    poll: AsyncPollFn | None = None,
    concurrency: int = 32,
    host_concurrency: int = 8,
    host_rate: float | None = 10.0,
    on_change: Callable[[JobStatus], None] | None = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], Awaitable[Any]] | None = None,
    rng: _random.Random | None = None,
) -> AsyncIterator[JobUpdate]:
    """Wait on many jobs at once; yield a ``JobUpdate`` each time one changes or ends (asyncio).

    Every job gets ``wait``'s rules (hints, backoff, a deadline ``timeout`` counted from the
    start, transient errors retried, states), and one last update with ``done=True``: its final
    status, or the error that stopped waiting on it (``WaitTimeout``, ``ActionRequired``,
    ``JobNotFound``, ...). One job's error never stops the others. Duplicate refs are watched
    once. Bad refs and bad configuration raise before any request.

    Polls share budgets: ``concurrency`` in flight in total; per provider host
    ``host_concurrency`` in flight and ``host_rate`` per second (``None``: no limit); a 429 from
    any job pauses and slows every job of that host, which then recovers.

    Leaving the ``async for`` early: close the iterator (``contextlib.aclosing``) so the polls in
    flight are cancelled at once (otherwise that happens when it is garbage-collected).

    Args:
        refs: Job references (``"<provider>:<id>"``) or ``JobRef`` values.
        timeout: The deadline in seconds (overrides ``policy.timeout``; default 3600).
        policy: The ``WaitPolicy`` of every job.
        config: Provider configurations (one, or several for several providers); the others
            come from the environment.
        client: An ``httpx.AsyncClient`` to poll with (kept open); default a fresh one sized
            for ``concurrency``.
        poll: Your own async poll function ``poll(ref, timeout)`` instead of HTTP.
        concurrency: Polls in flight at most, in total.
        host_concurrency: Polls in flight at most per provider host.
        host_rate: Polls per second at most per provider host (``None``: no limit).
        on_change: Called with each status that differs from the job's one before.
        clock: Monotonic seconds; give it with ``sleep`` (default: the event loop's).
        sleep: ``await sleep(seconds)``. Given, time is virtual (simulated): ``sleep`` is awaited
            only while no poll is in flight, and must move ``clock`` on by ``seconds``.
        rng: Random source of the jitter.
    """
    if (clock is None) != (sleep is None):
        raise TypeError("watch_many: give both clock and sleep, or neither")
    if concurrency < 1 or host_concurrency < 1:
        raise ValueError("watch_many: concurrency and host_concurrency must be at least 1")
    if host_rate is not None and not (host_rate > 0 and math.isfinite(host_rate)):
        raise ValueError(f"watch_many: host_rate must be a finite number > 0 or None, not {host_rate!r}")
    resolved = resolve_policy(policy, timeout)
    jobs = list(dict.fromkeys(to_ref(r) for r in refs))
    configs: Configs | None = None
    if poll is None:
        configs = Configs.of(config)
        for job in jobs:
            configs.for_ref(job)  # bad configuration raises now, before any request
    if not jobs:
        return
    loop = asyncio.get_running_loop()
    owned: httpx.AsyncClient | None = None
    guard = poll is not None
    if poll is None:
        assert configs is not None
        if client is None:
            client = owned = new_async_client(concurrency)
        poll = fetch_poller_async(configs, client)
    updates: asyncio.Queue[JobUpdate | None] = asyncio.Queue()
    fleet = _Fleet(
        poll=poll,
        policy=resolved,
        clock=clock if clock is not None else loop.time,
        sleep=sleep,
        concurrency=concurrency,
        on_change=on_change,
        updates=updates,
        guard=guard,
    )
    fleet.enlist(jobs, configs, host_concurrency, host_rate, _random_source(rng))
    limit = len(jobs) * (max_polls(resolved) + 2) * 3 + 1000
    dispatcher = loop.create_task(fleet.run(limit), name="docstatus-watch-many")
    try:
        for _ in range(limit):
            update = await updates.get()
            if update is None:
                break
            yield update
        if fleet.failure is not None:
            raise fleet.failure
        while not updates.empty():  # updates queued after the last poll ended
            update = updates.get_nowait()
            if update is not None:
                yield update
    finally:
        dispatcher.cancel()
        for task in list(fleet.tasks):
            task.cancel()
        with suppress(asyncio.CancelledError):
            await asyncio.gather(dispatcher, *fleet.tasks, return_exceptions=True)
        if owned is not None:
            await owned.aclose()
