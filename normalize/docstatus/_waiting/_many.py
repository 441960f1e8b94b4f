"""``watch_many``: wait on many jobs at once, sharing one polite budget per provider host.

One dispatcher (an asyncio task) keeps every job's next poll time in a heap; when a poll is
due it goes to its host's queue, and polls start while three budgets allow:

- ``concurrency``: polls in flight in total;
- per host (a provider at one base URL), ``host_concurrency`` polls in flight and ``host_rate``
  polls per second (a token bucket that allows bursts of ``host_concurrency``);
- a 429 (or a 5xx with ``Retry-After``) from any job pauses every job of that host for the hint
  (clamped like any hint to ``[min_delay, max_hint]``; without a hint, a backoff).

**Rate adaptation (AIMD**, written once in ``_aimd``, for Celery's shared budget too**).** A
429 also lowers the host's rate, at most once per window: the rate is halved (from the
configured ``host_rate``, or from the pace that met the 429 when there is none), but a 429
answering a poll that was sent before the last decrease lowers nothing more, so a burst of
429s to the polls already in flight counts once. The rate never goes below
``max(MIN_RATE, FLOOR * limit)`` (nor above the limit; the pauses still honour every hint).
Every poll sent after the last decrease that gets an answer other than a 429 adds
``INCREASE * limit`` back, and ``RECOVERY`` seconds without a decrease restore the limit in
full: a halved rate is back after about five answers, from the floor after about nine, so
sparse 429s (a few percent of answers) cost a few pauses, not the host's throughput.

**Deadlines first.** Every job has ``wait``'s deadline, which no pause or budget pushes back:
each job's timing (hints, backoff, deadline, states) is the sans-IO ``Waiter``'s, exactly as
for ``wait``, and its last poll is due at the deadline. A job whose poll has not started by
then, because its host is paused by a 429 or its budget is spent, gets ``FINAL_GRACE`` seconds
more to start it; when its host cannot start it by then (a pause or the rate says so) it ends
at the deadline, else at the end of the grace, with ``WaitTimeout`` (its ``__cause__`` the last
poll's error) and no further request. Every poll runs under an outer timeout of its request
timeout (the provider configuration's own, when shorter) plus ``POLL_GRACE``, whatever the
poll function or the transport does. So every job ends by its deadline + ``FINAL_GRACE`` +
one request timeout + ``POLL_GRACE``.

**Refs.** Each string given is reported under that same string (``JobUpdate.ref``; a
``JobRef`` given is reported as ``str(ref)``), with the parsed, canonical ``JobRef`` in
``JobUpdate.job``. The same string given twice is reported once. Two strings that name one
job (e.g. a UUID in upper and in lower case, where the provider keeps ids canonical) are
polled as one job, and each string gets every update of it.

**Errors.** One job's error never stops the others: every ``DocstatusError`` a poll raises is
that job's (retried within its deadline when transient, else its last update's ``error``). An
exception that is not a ``DocstatusError``, from docstatus's own HTTP poll, ends that job only,
with a ``DocstatusError`` naming the exception's type (its text is not kept, as it may hold
server data or a credential). From a poll function of your own it is a bug in that function and
``watch_many`` raises it, as it raises an exception from ``on_change``; the polls in flight are
cancelled.

A job costs one ``Waiter`` and its last status while it waits, not a task, so ten thousand jobs
are cheap. Time is the event loop's unless ``clock`` and ``sleep`` are given: then time is
virtual, for tests and benchmarks — only the dispatcher sleeps, and only while no poll is in
flight, so a fake clock advanced by ``sleep`` runs hours in milliseconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections import deque
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Final

import attrs

from docstatus._refs import JobRef
from docstatus._secrets import logger

from ._aimd import Throttling, on_429, on_answer, recovered
from ._attempt import Attempt, JobTrace, error_outcome, host_key, host_of
from ._core import Action, Step, Waiter, WaitPolicy
from ._hooks import current as _current_hooks
from ._poll import Configs, fetch_poller_async, new_fleet_client, to_ref
from ._single import POLL_GRACE, max_polls, random_source, resolve_policy

if TYPE_CHECKING:
    import random as _random
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

    import httpx

    from docstatus._config import ProviderConfig
    from docstatus._exceptions import DocstatusError
    from docstatus._http._aiohttp import FleetSession
    from docstatus._status import JobStatus

    from ._hooks import Hooks
    from ._poll import AsyncPollFn

#: Seconds past its deadline a job's last poll may still start, when its host's budget allows.
FINAL_GRACE: Final = 0.5
#: A job waiting for its host's budget gets an expiry entry once its deadline is this many
#: seconds away or less; the waiting jobs are looked over every half of it for that.
HORIZON: Final = 60.0


@attrs.frozen(kw_only=True)
class JobUpdate:
    """One event of ``watch_many``: a job's status changed, or waiting on it ended.

    Attributes:
        ref: The job reference exactly as you gave it (``str(ref)`` for a ``JobRef``), so you
            can match updates to your own strings.
        status: The job's latest ``JobStatus`` (``None`` if no poll has succeeded).
        done: True for the job's last update: it ended (``status`` is final) or waiting on it
            stopped (``error``).
        error: Why waiting stopped without a final status (``WaitTimeout``, ``ActionRequired``,
            ``JobNotFound``, ``AuthenticationError``, ...), else ``None``.
        job: The parsed, canonical ``JobRef`` (``str(job)`` may differ from ``ref``, e.g. a
            UUID id in lower case). Two refs naming one job have the same ``job``.
    """

    ref: str
    status: JobStatus | None
    done: bool = False
    error: DocstatusError | None = None
    job: JobRef

    @property
    def final(self) -> JobStatus | None:
        """The final status when the job ended, else ``None``."""
        if self.done and self.error is None and self.status is not None and self.status.terminal:
            return self.status
        return None


@attrs.define(eq=False)
class FleetJob:
    """A job being watched: what a job costs while it waits (with its ``Waiter`` and one heap
    entry), so it is kept small.

    Attributes:
        ref: The canonical ``JobRef`` (what is polled).
        name: The caller's (first) string for it.
        waiter: Its sans-IO ``Waiter``.
        host: Its host's budget.
        timeout: Its next poll's request timeout (seconds).
        aliases: The caller's other strings for the same job (each reported too), usually none.
        expiry: When it ends at the latest, if later than its waiter's deadline (a job resumed
            after its deadline still gets its last poll), else ``None``.
        epoch: Its host's rate decreases before its poll in flight (or last poll) was sent: a
            small number shared with the host, not one number per poll.
        inflight: A poll of it is under way.
        ended: Its last update was given.
        expiring: It has an entry in the fleet's expiry heap (it once waited for its host's
            budget); at most one, so that heap never holds more entries than jobs.
        due: When its next poll is due: its key in the poll heap, which holds the jobs
            themselves (ordered by ``due``; no entry tuple and tie-break number per job).
        trace: What the hooks keep of it (``None`` without hooks).
    """

    ref: JobRef
    name: str
    waiter: Waiter
    host: HostBudget
    timeout: float
    aliases: tuple[str, ...] = ()
    expiry: float | None = None
    epoch: int = 0
    inflight: bool = False
    ended: bool = False
    expiring: bool = False
    due: float = 0.0
    trace: JobTrace | None = None

    def __lt__(self, other: FleetJob) -> bool:
        return self.due < other.due

    @property
    def names(self) -> tuple[str, ...]:
        """Every string the caller gave for it, the first one first."""
        return (self.name, *self.aliases)

    @property
    def ends(self) -> float:
        """When it ends at the latest when its poll has not started (before ``FINAL_GRACE``)."""
        return self.waiter.deadline if self.expiry is None else self.expiry  # kept only when later


@attrs.define(eq=False)
class HostBudget:
    """The shared budget of one provider host: its concurrency and token bucket here, its
    throttling after a 429 by the rules of ``_aimd`` (state in ``throttling``).

    Attributes:
        key: ``"<provider> <host:port>"``.
        concurrency: Polls in flight at most.
        rate: Polls per second at most when not throttled (``None``: no limit).
        throttling: The rate now, the pause, the epoch (rate decreases so far: a poll is sent in
            the epoch of the decreases before it), the 429s in a row (``_aimd.Throttling``).
        inflight: Polls in flight now.
        tokens: Polls the token bucket allows now (up to ``concurrency``: the burst).
        stamp: When ``tokens`` was last refilled (the refill restarts when a pause ends).
        observed: Recent seconds between polls (an average), to size the rate after a 429
            when there is no configured rate.
        last_start: When the last poll started.
        ready: Jobs due and waiting for this host's budget, in order (ended ones are skipped).
    """

    key: str
    concurrency: int
    rate: float | None
    throttling: Throttling = attrs.field(init=False)
    inflight: int = 0
    tokens: float = 0.0
    stamp: float = -math.inf
    observed: float | None = None
    last_start: float | None = None
    ready: deque[FleetJob] = attrs.Factory(deque)

    def __attrs_post_init__(self) -> None:
        self.throttling = Throttling.start(self.rate)
        self.tokens = float(self.concurrency)

    @property
    def current(self) -> float | None:
        """The rate now (lower after a 429); ``None``: no limit."""
        return self.throttling.current

    @property
    def pause_until(self) -> float:
        """No poll starts before this time (set by a 429)."""
        return self.throttling.pause_until

    @property
    def decreased_at(self) -> float | None:
        """When the rate was last lowered, while it is below its limit, else ``None``."""
        return self.throttling.decreased_at

    @property
    def strikes(self) -> int:
        """429s in a row."""
        return self.throttling.strikes

    def free(self) -> bool:
        """True when a poll may start as far as concurrency goes."""
        return self.inflight < self.concurrency

    def ready_at(self, now: float) -> float:
        """The earliest time the next poll may start, as far as pauses and the rate go."""
        state = self.throttling = recovered(self.throttling, now)
        self._refill(now)
        at = state.pause_until
        current = state.current
        if current is not None and self.tokens < 1.0 - 1e-9:
            at = max(at, max(now, self.stamp) + (1.0 - self.tokens) / current)
        return at

    def take(self, now: float) -> int:
        """A poll starts now; its epoch (for ``throttle`` and ``answered``)."""
        self._refill(now)
        self.tokens -= 1.0
        if self.last_start is not None:
            gap = max(0.0, now - self.last_start)
            self.observed = gap if self.observed is None else 0.8 * self.observed + 0.2 * gap
        self.last_start = now
        self.inflight += 1
        return self.throttling.decreases

    def done(self) -> None:
        """A poll ended."""
        self.inflight -= 1

    def answered(self, epoch: int) -> None:
        """A poll sent in ``epoch`` got an answer that was not a 429 (``_aimd.on_answer``)."""
        self.throttling = on_answer(self.throttling, epoch)

    def throttle(self, now: float, hint: float | None, policy: WaitPolicy, epoch: int) -> None:
        """A poll sent in ``epoch`` got a 429 (or a 5xx with a hint) at ``now`` (``_aimd.on_429``;
        without a configured rate, the pace that met it is that of the recent polls)."""
        pace = 1.0 / self.observed if self.observed else float(self.concurrency)
        state = self.throttling = on_429(self.throttling, now, hint, policy, epoch, pace)
        # Resume after the pause with at most one poll, then at the rate: no burst into a host
        # that just said 429.
        self._refill(now)
        if state.pause_until > self.stamp:
            assert state.current is not None
            self.tokens = min(1.0, self.tokens + (state.pause_until - self.stamp) * state.current)
            self.stamp = state.pause_until
        else:
            self.tokens = min(self.tokens, 1.0)

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            current = self.throttling.current
            if current is None:
                self.tokens = float(self.concurrency)
            else:
                self.tokens = min(float(self.concurrency), self.tokens + (now - self.stamp) * current)
            self.stamp = now


@attrs.define(eq=False)
class Fleet:
    """The dispatcher and the polls of one ``watch_many`` (or of a ``Tracker`` run: the
    package-internal interface the tracker uses is ``Fleet.open``, ``host``, ``add``, ``drop``,
    ``close``, ``release``, the ``on_step`` and ``before_poll`` hooks, and ``clock``).

    Each poll is one ``Attempt`` (``_attempt``): the budget, the waiter and the hooks
    (``hooks``: the process's, read when the fleet is made) are updated there.

    ``own``: the poll is docstatus's HTTP poll (an unexpected exception from it ends one job,
    and ``cap`` gives each provider configuration's own request timeout, for the outer guard).
    ``keep_open``: ``run`` goes on with no job left, for jobs ``add``-ed later, until ``close()``.
    ``on_step``: called with each job and each step its waiter decides (after every poll, and
    for a deadline that passes with no poll), before anything else is done with it; it may
    ``drop`` the job. ``before_poll``: called with each job right before its poll's request is
    made; when it returns False no request is made and the job is dropped (as by ``drop``).

    The interface a caller that adds and drops jobs while ``run`` goes on (the tracker) uses:
    ``host``, ``add``, ``drop``, ``next_poll``, ``close``, the ``on_step`` and ``before_poll``
    hooks, and ``clock``. A dropped job costs nothing once dropped: its heap entry is swept out
    (``_sweep``) once dropped entries are most of the heap.
    """

    poll: AsyncPollFn
    policy: WaitPolicy
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[Any]] | None
    concurrency: int
    on_change: Callable[[JobStatus], None] | None
    updates: asyncio.Queue[JobUpdate | None]
    own: bool = False
    cap: Callable[[JobRef], float] | None = None
    keep_open: bool = False
    on_step: Callable[[FleetJob, Step], None] | None = None
    before_poll: Callable[[FleetJob], bool] | None = None
    hooks: Hooks | None = attrs.Factory(_current_hooks)
    url: Callable[[JobRef], str] | None = None
    traced: set[FleetJob] = attrs.Factory(set)
    closed: bool = False
    pending: int = 0
    inflight: int = 0
    heap: list[FleetJob] = attrs.Factory(list)
    expiries: list[tuple[float, int, bool, FleetJob]] = attrs.Factory(list)
    dead: int = 0
    stale: int = 0
    scan_at: float = -math.inf
    counter: itertools.count[int] = attrs.Factory(itertools.count)
    hosts: list[HostBudget] = attrs.Factory(list)
    by_key: dict[str, HostBudget] = attrs.Factory(dict)
    tasks: set[asyncio.Task[None]] = attrs.Factory(set)
    wakeup: asyncio.Future[None] | None = None
    failure: BaseException | None = None

    @classmethod
    def open(
        cls,
        *,
        poll: AsyncPollFn | None,
        configs: Configs | None,
        client: httpx.AsyncClient | None,
        policy: WaitPolicy,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[Any]] | None = None,
        concurrency: int,
        on_change: Callable[[JobStatus], None] | None,
        keep_open: bool = False,
    ) -> tuple[Fleet, FleetSession | None]:
        """A fleet that polls with ``poll`` (a function of your own), or, when it is ``None``,
        with docstatus's HTTP poll under ``configs`` over ``client`` (kept open) or over a
        session of its own: returned too, for the caller to close once the fleet is done."""
        owned: FleetSession | None = None
        cap: Callable[[JobRef], float] | None = None
        url: Callable[[JobRef], str] | None = None
        if poll is None:
            assert configs is not None
            poll, owned = _http_poll(configs, client, concurrency)
            cap, url = _config_timeout(configs), configs.url
        fleet = cls(
            poll=poll,
            policy=policy,
            clock=clock,
            sleep=sleep,
            concurrency=concurrency,
            on_change=on_change,
            updates=asyncio.Queue(),
            own=cap is not None,
            cap=cap,
            keep_open=keep_open,
            url=url,
        )
        return fleet, owned

    def enlist(
        self,
        jobs: dict[JobRef, list[str]],
        configs: Configs | None,
        host_concurrency: int,
        host_rate: float | None,
        draw: Callable[[], float],
        start: float,
    ) -> None:
        """Start waiting on ``jobs`` at ``start``: each gets a ``Waiter`` and its host's budget.

        ``jobs`` is emptied once read (the jobs then cost only their own state)."""
        policy = self.policy
        deadline = start + policy.timeout  # one float for all: a job's state is kept small
        live = None if self.hooks is None else self.hooks.live()  # asked once: the jobs start together
        for ref, names in jobs.items():
            waiter = Waiter(ref=names[0], policy=policy, started=start, deadline=deadline, draw=draw)
            host = self.host(ref, configs, host_concurrency, host_rate)
            self.add(ref, names, waiter, waiter.first(), start, host, asked=True, live=live)
        jobs.clear()

    def host(self, ref: JobRef, configs: Configs | None, concurrency: int, rate: float | None) -> HostBudget:
        """The budget of ``ref``'s host (a new one for a host not seen yet)."""
        key = host_key(ref, configs)
        host = self.by_key.get(key)
        if host is None:
            host = self.by_key[key] = HostBudget(key=key, concurrency=concurrency, rate=rate)
            self.hosts.append(host)
        return host

    def add(
        self,
        ref: JobRef,
        names: Iterable[str],
        waiter: Waiter,
        step: Step,
        due: float,
        host: HostBudget,
        *,
        expiry: float | None = None,
        asked: bool = False,
        live: Hooks | None = None,
    ) -> FleetJob:
        """Wait on one more job (also while ``run`` goes on): its next poll is ``step``, at
        ``due``; it ends at its waiter's deadline, or at ``expiry`` when that is later (a job
        resumed after its deadline still gets its last poll). ``asked``: the hooks were asked
        already which are enabled now (``live``, from ``Hooks.live()``: jobs that start
        together ask once); else they are asked here."""
        if not asked and self.hooks is not None:
            live = self.hooks.live()
        self.pending += 1
        name, *aliases = names
        job = FleetJob(
            ref=ref,
            name=name,
            waiter=waiter,
            host=host,
            timeout=step.request_timeout,
            aliases=tuple(aliases) if aliases else (),
            expiry=expiry if expiry is not None and expiry > waiter.deadline else None,
            due=due,
        )
        if live is not None:
            job.trace = JobTrace.begin(live, ref, host_of(host.key))
            if job.trace is not None:
                self.traced.add(job)
        heapq.heappush(self.heap, job)
        self._wake()
        return job

    def drop(self, job: FleetJob) -> None:
        """Stop waiting on ``job`` without an update (its state lives on elsewhere)."""
        if not job.ended:
            waiting = self.next_poll(job) is not None
            job.ended = True
            self.pending -= 1
            self._forget(job)
            if waiting:
                self._sweep()
            self._untrace(job, None)
            self._wake()

    def next_poll(self, job: FleetJob) -> float | None:
        """When ``job``'s next poll is due (the fleet's clock), while it waits for that time;
        ``None`` once it is due (queued for its host's budget), in flight, or ended."""
        if job.ended or job.inflight or job.due <= self.clock():
            return None
        return job.due

    def _sweep(self) -> None:
        """One more job dropped from the poll heap: once dropped jobs are most of it, rebuild it
        without them (so a caller that drops many waiting jobs does not keep them alive)."""
        self.stale += 1
        if self.stale > 1024 and self.stale * 2 > len(self.heap):
            self.heap[:] = [job for job in self.heap if not job.ended]  # in place: ``run`` holds the list
            heapq.heapify(self.heap)
            self.stale = 0

    def _untrace(self, job: FleetJob, error: DocstatusError | None) -> None:
        """``job`` ended (``error``: how), or was dropped (``None`` and no end): tell the hooks."""
        trace = job.trace
        if trace is not None:
            self.traced.discard(job)
            if not trace.ended:
                if job.ended and error is not None:
                    trace.end(error_outcome(error))
                else:
                    trace.release()

    def release(self) -> None:
        """The run is over: every job still watched is let go (``released``, for the hooks)."""
        for job in list(self.traced):
            self._untrace(job, None)

    def close(self) -> None:
        """End ``run`` (a dispatcher kept open with ``keep_open``); the jobs still watched are
        let go (``release``)."""
        self.closed = True
        self.release()
        self._wake()

    async def run(self, limit: int | None) -> None:
        """Dispatch polls until every job is done (or a poll function or hook fails); with
        ``keep_open``, until ``close()``. ``limit`` bounds the rounds (``None``: no bound)."""
        loop = asyncio.get_running_loop()
        try:
            for _ in itertools.count() if limit is None else range(limit):
                if self.failure is not None or self.closed or (self.pending == 0 and not self.keep_open):
                    return
                now = self.clock()
                heap = self.heap
                due: list[FleetJob] = []
                while heap and heap[0].due <= now:
                    job = heapq.heappop(heap)
                    if job.ended:  # dropped while it waited
                        self.stale = max(0, self.stale - 1)
                    else:
                        job.host.ready.append(job)
                        due.append(job)
                wake = self._start_polls(loop, now)
                self._watch(due, now)
                self._expire(now)
                if self.pending == 0 and not self.keep_open:
                    return
                next_time = min(
                    heap[0].due if heap else math.inf,
                    self.expiries[0][0] if self.expiries else math.inf,
                    wake,
                    self.scan_at if any(host.ready for host in self.hosts) else math.inf,
                )
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
        busy = [h for h in self.hosts if _has_ready(h)]
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
                job.epoch = host.take(now)
                job.inflight = True
                self.inflight += 1
                task = loop.create_task(self._poll(job))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
                if _has_ready(host):
                    still.append(host)
            busy = still
        return wake

    def _watch(self, due: list[FleetJob], now: float) -> None:
        """Give each job that waits for its host's budget (it fell due and could not start) an
        entry in the expiry heap once its deadline is ``HORIZON`` away or less, unless it has
        one: the ones that just fell due, and every ``HORIZON / 2`` all that wait.

        Only such a job can miss its deadline: every other one is in the poll heap, where its
        waiter never schedules a poll past its deadline (the last one falls on it), or in
        flight, where the answer ends it. So a job costs no expiry entry unless it waits for its
        host near its deadline, and an ended job is not kept alive by one (``_forget``)."""
        horizon = now + HORIZON
        if now >= self.scan_at:
            self.scan_at = now + HORIZON / 2
            due = [job for host in self.hosts for job in host.ready]
        for job in due:
            if not (job.inflight or job.ended or job.expiring) and job.ends <= horizon:
                job.expiring = True
                heapq.heappush(self.expiries, (job.ends, next(self.counter), False, job))

    def _forget(self, job: FleetJob) -> None:
        """``job`` ended: once most expiry entries belong to ended jobs, sweep them out."""
        if job.expiring:
            self.dead += 1
            if self.dead > 1024 and self.dead * 2 > len(self.expiries):
                self.expiries = [entry for entry in self.expiries if not entry[3].ended]
                heapq.heapify(self.expiries)
                self.dead = 0

    def _expire(self, now: float) -> None:
        """End the jobs whose deadline has come and whose poll has not started: at once when
        their host cannot start it within ``FINAL_GRACE``, else once the grace is over."""
        expiries = self.expiries
        while expiries and expiries[0][0] <= now:
            _, _, graced, job = heapq.heappop(expiries)
            if job.ended:
                self.dead = max(0, self.dead - 1)
                continue
            if job.inflight:
                job.expiring = False  # an answer after the deadline ends it (the waiter says so)
                continue
            end_of_grace = job.waiter.deadline + FINAL_GRACE
            if graced or job.host.ready_at(now) > end_of_grace:
                job.expiring = False  # this entry is gone
                error = job.waiter.timeout_error(now)
                if self.on_step is not None:
                    self.on_step(job, Step(action=Action.RAISE, error=error))
                self._end(job, error)
            else:
                heapq.heappush(expiries, (end_of_grace, next(self.counter), True, job))

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

    def _limit(self, job: FleetJob) -> float:
        timeout = job.timeout
        if self.cap is not None:
            timeout = min(timeout, self.cap(job.ref))
        return timeout + POLL_GRACE

    async def _poll(self, job: FleetJob) -> None:
        host = job.host
        try:
            if self.before_poll is not None and not self.before_poll(job):
                self.drop(job)  # no request: the hook's veto
                return
            attempt = Attempt(
                job=job.ref,
                waiter=job.waiter,
                timeout=job.timeout,
                trace=job.trace,
                budget=host,
                epoch=job.epoch,
                host=None if job.trace is None else host_of(host.key),
                url=self.url,
            )
            result, error = await attempt.call_async(self.poll, self._limit(job), asyncio.timeout, own=self.own)
            step = attempt.conclude(result, error, self.clock())
            job.inflight = False
            self._after(job, step)
        except Exception as exc:  # a poll function or hook failed: watch_many raises it
            if self.failure is None:
                self.failure = exc
        finally:
            job.inflight = False
            host.done()
            self.inflight -= 1
            self._wake()

    def _after(self, job: FleetJob, step: Step) -> None:
        if self.on_step is not None:
            self.on_step(job, step)
            if job.ended:  # dropped by the hook
                return
        if step.warning is not None:
            logger.warning(step.warning)
        if step.changed is not None and self.on_change is not None:
            self.on_change(step.changed)
        if step.action is Action.POLL:
            if step.changed is not None:
                self.updates.put_nowait(JobUpdate(ref=job.name, status=step.changed, job=job.ref))
                for name in job.aliases:
                    self.updates.put_nowait(JobUpdate(ref=name, status=step.changed, job=job.ref))
            job.timeout = step.request_timeout
            due = job.waiter.due  # the waiter's own float (the same instant), not one more per job
            job.due = self.clock() + step.delay if due is None else due
            heapq.heappush(self.heap, job)
            return
        self._end(job, step.error if step.action is Action.RAISE else None)

    def _end(self, job: FleetJob, error: DocstatusError | None) -> None:
        """The job's last update, under each of its names."""
        job.ended = True
        self.pending -= 1
        self._forget(job)
        self._untrace(job, error)
        status = job.waiter.last
        for name in job.names:
            self.updates.put_nowait(JobUpdate(ref=name, status=status, done=True, error=error, job=job.ref))


def _has_ready(host: HostBudget) -> bool:
    """True when ``host`` has a job waiting (ended ones at the front are dropped)."""
    ready = host.ready
    while ready and ready[0].ended:
        ready.popleft()
    return bool(ready)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _group(refs: Iterable[str | JobRef]) -> dict[JobRef, list[str]]:
    """The jobs to poll, each with the distinct strings the caller gave for it, in order."""
    jobs: dict[JobRef, list[str]] = {}
    seen: set[str] = set()
    for given in refs:
        job = to_ref(given)
        name = str(given) if isinstance(given, JobRef) else given
        if name in seen:
            continue
        seen.add(name)
        jobs.setdefault(job, []).append(name)
    return jobs


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
    ``JobNotFound``, ...). No pause or budget pushes a job past its deadline: each ends by its
    deadline + ``FINAL_GRACE`` (0.5 s) + one request timeout + ``POLL_GRACE`` (1 s).

    One job's error never stops the others: any ``DocstatusError`` from a poll is that job's
    own. An exception of another kind from docstatus's own HTTP poll ends that job alone (with a
    ``DocstatusError``); from your own ``poll`` function, or from ``on_change``, it is raised
    out of ``watch_many``, which then cancels its polls. Bad refs and bad configuration (e.g. a
    token missing from the environment) raise before any request.

    Each string in ``refs`` is reported under that same string (``JobUpdate.ref``), once per
    event, with the canonical ``JobRef`` in ``JobUpdate.job``; a string given twice is reported
    once. Two strings naming one job (``<provider>:898DFAD4-...`` and ``<provider>:898dfad4-...``,
    where the provider keeps UUID ids canonical) are polled as one, and both get every update.

    Polls share budgets: ``concurrency`` in flight in total; per provider host
    ``host_concurrency`` in flight and ``host_rate`` per second (``None``: no limit); a 429 from
    any job pauses every job of that host for its hint and lowers the host's rate, at most once
    per window, which then climbs back with each answer (see the ``_many`` module docstring).

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
        on_change: Called with each status that differs from the job's one before (once per
            job, however many strings name it).
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
    jobs = _group(refs)
    configs: Configs | None = None
    if poll is None:
        configs = Configs.of(config)
        for job in jobs:
            configs.for_ref(job)  # bad configuration raises now, before any request
    if not jobs:
        return
    loop = asyncio.get_running_loop()
    now = clock if clock is not None else loop.time
    start = now()  # the deadline counts from here, before the client (and httpx) loads
    fleet, owned = Fleet.open(
        poll=poll,
        configs=configs,
        client=client,
        policy=resolved,
        clock=now,
        sleep=sleep,
        concurrency=concurrency,
        on_change=on_change,
    )
    updates = fleet.updates
    names = sum(len(n) for n in jobs.values())
    limit = len(jobs) * (max_polls(resolved) + 2) * 3 + 1000
    fleet.enlist(jobs, configs, host_concurrency, host_rate, random_source(rng), start)
    dispatcher = loop.create_task(fleet.run(limit), name="docstatus-watch-many")
    try:
        for _ in range(names * (max_polls(resolved) + 2) * 3 + 1000):
            update = await updates.get()
            if update is None:
                break
            yield update
            update = None  # not kept while the next one is awaited: the caller decides what lives
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
        fleet.release()
        if owned is not None:
            await owned.aclose()


def _http_poll(
    configs: Configs, client: httpx.AsyncClient | None, concurrency: int
) -> tuple[Callable[[JobRef, float], Awaitable[Any]], FleetSession | None]:
    """The poll function over the caller's client, or over a session of our own (returned, to close)."""
    if client is not None:
        return fetch_poller_async(configs, client), None
    owned = new_fleet_client(concurrency)
    return fetch_poller_async(configs, owned), owned


def _config_timeout(configs: Configs) -> Callable[[JobRef], float]:
    """Each job's provider configuration's own request timeout."""

    def cap(ref: JobRef) -> float:
        return configs.for_ref(ref).timeout

    return cap
