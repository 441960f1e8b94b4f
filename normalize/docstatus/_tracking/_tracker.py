"""``docstatus.Tracker``: track jobs durably in a SQLite file, across restarts and crashes.

How it works:

- ``add`` writes a row (idempotent on the canonical ref) with a fresh idempotency ``key``.
- ``run`` / ``run_async`` leases jobs (``BEGIN IMMEDIATE``: two runs never take the same job;
  a lease expires after ``lease`` seconds, at once when its run's process is dead on this
  host) and waits on them with ``watch_many``'s dispatcher: the same sans-IO ``Waiter``, the
  same per-host budgets. After every poll the job's ``WaitState`` is written (only while the
  lease is still this run's), so a restart goes on where each job was: same backoff, same
  deadline, and the polls that fell due meanwhile spread over each job's own interval
  (``Waiter.resume``), not a burst.
- A job ends once: the transaction that marks it done also writes its outbox row (its outcome,
  never changed after). A run whose lease was lost writes nothing.
- Delivery is at least once: ``on_done`` callbacks (and ``completions()``) get each outbox row,
  and it is marked delivered only after they returned. A crash in between delivers it again,
  with the same ``key`` and the same outcome: make your callback idempotent on ``key``.

Time: a running wait uses the event loop's monotonic clock; what is written is on the wall
clock (``time.time()``), so deadlines are absolute: a restart, however late, never extends one.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import math
import time
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Self

import attrs

from docstatus._exceptions import (
    ActionRequired,
    AuthenticationError,
    DocstatusError,
    JobNotFound,
    WaitTimeout,
)
from docstatus._refs import parse_ref
from docstatus._secrets import logger as _secrets_logger
from docstatus._status import JobStatus
from docstatus._waiting._core import RESUME_SPREAD, Action, UnknownState, Waiter, WaitPolicy, WaitState

from ._store import Store, TrackerError, dumps, owner_id

if TYPE_CHECKING:
    import random as _random
    import sqlite3
    from collections.abc import Callable, Iterable, Iterator, Mapping

    import httpx

    from docstatus._config import ProviderConfig
    from docstatus._fetch import FleetSession
    from docstatus._refs import JobRef
    from docstatus._waiting._core import Step
    from docstatus._waiting._many import _Fleet, _Job
    from docstatus._waiting._poll import AsyncPollFn, Configs

logger: Final = _secrets_logger()  # the docstatus logger, its records masked

#: Seconds a run's lease on a job lasts without renewal (renewed every third of it).
DEFAULT_LEASE: Final = 30.0
#: Jobs one run holds at most.
DEFAULT_CAPACITY: Final = 10_000
#: Seconds between two looks at the database for jobs to take (new ones, or a dead run's).
DEFAULT_REFRESH: Final = 1.0

#: The states ``list(state=...)`` knows: how a job stands, or how it ended.
ACTIVE_STATES: Final = ("new", "queued", "running", "unknown")
ENDED_STATES: Final = (
    "succeeded",
    "partially_succeeded",
    "failed",
    "cancelled",
    "action_required",
    "timed_out",
    "not_found",
    "auth_failed",
    "error",
)
STATE_FILTERS: Final = ("active", "done", *ACTIVE_STATES, *ENDED_STATES)


def _error_state(error: DocstatusError) -> str:
    if isinstance(error, WaitTimeout):
        return "timed_out"
    if isinstance(error, ActionRequired):
        return "action_required"
    if isinstance(error, UnknownState):
        return "unknown"
    if isinstance(error, JobNotFound):
        return "not_found"
    if isinstance(error, AuthenticationError):
        return "auth_failed"
    return "error"


@attrs.frozen(kw_only=True)
class Completion:
    """A tracked job's end, as delivered to ``on_done`` and by ``completions()``.

    Attributes:
        key: The idempotency key: the same for every delivery of this job's end (a job that is
            forgotten and added again gets a new one).
        ref: The canonical job reference.
        name: The reference as it was added.
        state: ``succeeded``, ``partially_succeeded``, ``failed``, ``cancelled``, or why waiting
            stopped: ``timed_out``, ``action_required``, ``unknown``, ``not_found``,
            ``auth_failed``, ``error``.
        status: The final status (or the last one seen when waiting stopped), or ``None``.
        error: The class name of the error that stopped waiting (``WaitTimeout``, ...), or ``None``.
        cause: The class name of the last poll's error when the deadline came, or ``None``.
        message: The error's message, or ``None``.
        meta: What was given to ``add(meta=...)``.
        finished: When it ended (wall clock, seconds since the epoch).
    """

    key: str
    ref: str
    name: str
    state: str
    status: JobStatus | None = None
    error: str | None = None
    cause: str | None = None
    message: str | None = None
    meta: Mapping[str, Any] = attrs.field(factory=dict)
    finished: float = 0.0

    @property
    def succeeded(self) -> bool:
        """True when the job ended succeeded."""
        return self.state == "succeeded"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (also what the outbox keeps)."""
        return {
            "key": self.key,
            "ref": self.ref,
            "name": self.name,
            "state": self.state,
            "status": None if self.status is None else self.status.to_dict(),
            "error": self.error,
            "cause": self.cause,
            "message": self.message,
            "meta": dict(self.meta),
            "finished": self.finished,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Completion:
        status = data.get("status")
        return cls(
            key=data["key"],
            ref=data["ref"],
            name=data["name"],
            state=data["state"],
            status=None if status is None else JobStatus.from_dict(status),
            error=data.get("error"),
            cause=data.get("cause"),
            message=data.get("message"),
            meta=data.get("meta") or {},
            finished=float(data.get("finished", 0.0)),
        )


@attrs.frozen(kw_only=True)
class TrackedJob:
    """One tracked job as the database has it.

    Attributes:
        ref: The canonical job reference.
        name: The reference as it was added.
        key: Its idempotency key.
        state: The last state seen (``new`` before the first poll), or how it ended (see
            ``Completion.state``).
        done: True once it ended.
        meta: What was given to ``add(meta=...)``.
        added: When it was added (wall clock).
        deadline: When waiting on it ends, whatever happens (wall clock).
        next_due: When its next poll is due (wall clock).
        polls: Polls answered so far.
        wait: Its waiting state (``None`` before the first poll).
        completion: How it ended, once done.
        owner: The run holding its lease, or ``None``.
    """

    ref: str
    name: str
    key: str
    state: str
    done: bool
    meta: Mapping[str, Any]
    added: float
    deadline: float
    next_due: float
    polls: int
    wait: WaitState | None = None
    completion: Completion | None = None
    owner: str | None = None

    @property
    def status(self) -> JobStatus | None:
        """The final status once done, else the last one seen, or ``None``."""
        if self.completion is not None:
            return self.completion.status
        return None if self.wait is None else self.wait.last_status

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``docstatus track show`` / ``ls --json``)."""
        status = self.status
        return {
            "ref": self.ref,
            "name": self.name,
            "key": self.key,
            "state": self.state,
            "done": self.done,
            "meta": dict(self.meta),
            "added": self.added,
            "deadline": self.deadline,
            "next_due": None if self.done else self.next_due,
            "polls": self.polls,
            "status": None if status is None else status.to_dict(),
            "completion": None if self.completion is None else self.completion.to_dict(),
        }


def _job_from_row(row: sqlite3.Row) -> TrackedJob:
    wait = None
    if row["wait"] is not None:
        with contextlib.suppress(ValueError, TypeError):
            wait = WaitState.from_dict(json.loads(row["wait"]))
    completion = None if row["outcome"] is None else Completion.from_dict(json.loads(row["outcome"]))
    return TrackedJob(
        ref=row["ref"],
        name=row["name"],
        key=row["key"],
        state=row["state"],
        done=row["status"] == "done",
        meta=json.loads(row["meta"]),
        added=row["added"],
        deadline=row["deadline"],
        next_due=row["next_due"],
        polls=row["polls"],
        wait=wait,
        completion=completion,
        owner=row["owner"],
    )


def _deadline(value: float | datetime | None, policy: WaitPolicy, now: float) -> float:
    if value is None:
        return now + policy.timeout
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("Tracker.add: give deadline as an aware datetime (e.g. with tzinfo=UTC), not a naive one")
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float) or not (value > 0 and math.isfinite(value)):
        raise ValueError(f"Tracker.add: deadline must be seconds > 0 from now or an aware datetime, not {value!r}")
    return now + float(value)


def _meta(meta: Mapping[str, Any] | None) -> str:
    if meta is None:
        return "{}"
    if not isinstance(meta, dict) or not all(isinstance(k, str) for k in meta):
        raise TypeError("Tracker.add: meta must be a dict with string keys")
    try:
        text = json.dumps(meta, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"Tracker.add: meta must be JSON-serializable ({exc})") from None
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: no UTF-8 writer (SQLite, JSON lines) takes it
            raise TypeError(
                f"Tracker.add: meta holds text that is not valid Unicode (a lone surrogate, {exc.object[exc.start]!r}, "
                "e.g. bytes decoded with surrogateescape); give str values that encode as UTF-8"
            ) from None
    return text


class Tracker:
    """Jobs tracked durably in a SQLite file (WAL; created when missing).

    ``add`` jobs, then ``run`` (or ``await run_async()``) to poll them until none is left (or
    ``stop`` is set); ``get``, ``list`` and ``forget`` read and change the table; ``on_done``
    callbacks and ``completions()`` deliver each job's end at least once, with a stable
    ``Completion.key``. Several processes may use one file at once: runs lease jobs, so no two
    poll one job at once, and a job ends once with one outcome.

    Args:
        path: The database file.
        policy: The ``WaitPolicy`` of every job (its ``timeout`` is the default deadline of ``add``).
        config: Provider configurations (else from the environment, as for ``watch_many``).
        client: An ``httpx.AsyncClient`` to poll with (kept open).
        poll: Your own async poll function ``poll(ref, timeout)`` instead of HTTP.
        on_done: A callback, or several, called with each ``Completion``.
        concurrency, host_concurrency, host_rate: ``watch_many``'s budgets.
        lease: Seconds a run's lease on a job lasts without renewal.
        capacity: Jobs one run holds at most (the rest are left to other runs, or taken later).
        refresh: Seconds between two looks at the database for jobs to take.
        spread: The longest a poll that fell due while no run held the job is put off.
        rng: Random source of the jitter.
    """

    def __init__(
        self,
        path: str | Any,
        *,
        policy: WaitPolicy | None = None,
        config: ProviderConfig | Iterable[ProviderConfig] | None = None,
        client: httpx.AsyncClient | None = None,
        poll: AsyncPollFn | None = None,
        on_done: Callable[[Completion], Any] | Iterable[Callable[[Completion], Any]] | None = None,
        concurrency: int = 32,
        host_concurrency: int = 8,
        host_rate: float | None = 10.0,
        lease: float = DEFAULT_LEASE,
        capacity: int = DEFAULT_CAPACITY,
        refresh: float = DEFAULT_REFRESH,
        spread: float = RESUME_SPREAD,
        rng: _random.Random | None = None,
    ) -> None:
        if concurrency < 1 or host_concurrency < 1 or capacity < 1:
            raise ValueError("Tracker: concurrency, host_concurrency and capacity must be at least 1")
        for name, value in (("lease", lease), ("refresh", refresh)):
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"Tracker: {name} must be a finite number of seconds > 0, not {value!r}")
        if not (spread >= 0 and math.isfinite(spread)):
            raise ValueError(f"Tracker: spread must be a finite number of seconds >= 0, not {spread!r}")
        self.path = str(path)
        self.policy = policy if policy is not None else WaitPolicy()
        self._config = config
        self._client = client
        self._poll = poll
        self.callbacks: builtins.list[Callable[[Completion], Any]] = []
        if callable(on_done):
            self.callbacks.append(on_done)
        elif on_done is not None:
            self.callbacks.extend(on_done)
        self.concurrency = concurrency
        self.host_concurrency = host_concurrency
        self.host_rate = host_rate
        self.lease = lease
        self.capacity = capacity
        self.refresh = refresh
        self.spread = spread
        self._rng = rng
        self.store = Store.open(self.path)

    def __repr__(self) -> str:
        return f"<Tracker {self.path}>"

    def close(self) -> None:
        """Close the database connection."""
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the table

    def add(
        self, ref: str | JobRef, *, meta: Mapping[str, Any] | None = None, deadline: float | datetime | None = None
    ) -> TrackedJob:
        """Track a job (``InvalidJobRef`` when ``ref`` does not parse). Adding a ref that is
        tracked changes nothing (even its meta or deadline) and returns it as it is.

        ``deadline``: seconds from now, or an aware ``datetime``; default ``policy.timeout``
        from now. ``meta``: a JSON-serializable dict, given back in its ``Completion``."""
        self.add_many([ref], meta=meta, deadline=deadline)
        job = self.get(ref)
        assert job is not None
        return job

    def add_many(
        self,
        refs: Iterable[str | JobRef],
        *,
        meta: Mapping[str, Any] | None = None,
        deadline: float | datetime | None = None,
    ) -> int:
        """Track many jobs in one transaction (all or none: a ref that does not parse raises
        ``InvalidJobRef`` before any is added); how many were not tracked before."""
        now = time.time()
        end = _deadline(deadline, self.policy, now)
        meta_text = _meta(meta)
        rows = []
        for given in refs:
            job = parse_ref(given) if isinstance(given, str) else given
            rows.append(
                {
                    "ref": str(job),
                    "name": given if isinstance(given, str) else str(given),
                    "key": f"dst_{uuid.uuid4().hex}",
                    "meta": meta_text,
                    "added": now,
                    "deadline": end,
                    "next_due": now,
                }
            )
        return self.store.insert_many(rows)

    def get(self, ref: str | JobRef) -> TrackedJob | None:
        """The tracked job, or ``None`` (``InvalidJobRef`` when ``ref`` does not parse)."""
        key = str(parse_ref(ref) if isinstance(ref, str) else ref)
        rows = self.store.query("SELECT * FROM jobs WHERE ref = ?", (key,))
        return _job_from_row(rows[0]) if rows else None

    def list(self, state: str | None = None) -> builtins.list[TrackedJob]:
        """Tracked jobs in the order they were added; ``state``: ``active``, ``done``, or one
        of ``STATE_FILTERS`` (``running``, ``succeeded``, ``timed_out``, ...)."""
        if state is None:
            rows = self.store.query("SELECT * FROM jobs ORDER BY added, rowid")
        elif state in ("active", "done"):
            rows = self.store.query("SELECT * FROM jobs WHERE status = ? ORDER BY added, rowid", (state,))
        elif state in STATE_FILTERS:
            rows = self.store.query("SELECT * FROM jobs WHERE state = ? ORDER BY added, rowid", (state,))
        else:
            raise ValueError(f"Tracker.list: state must be one of {', '.join(STATE_FILTERS)}, not {state!r}")
        return [_job_from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """How many jobs are in each state."""
        return {r[0]: r[1] for r in self.store.query("SELECT state, count(*) FROM jobs GROUP BY state")}

    def forget(self, ref: str | JobRef) -> bool:
        """Stop tracking a job (and drop its undelivered completion); True when it was tracked.
        A run holding it stops polling it at its next poll."""
        return self.store.delete(str(parse_ref(ref) if isinstance(ref, str) else ref))

    # --- delivery

    def on_done(self, callback: Callable[[Completion], Any]) -> Callable[[Completion], Any]:
        """Add a callback for each job's end (usable as a decorator). Called at least once per
        job, with the same ``Completion.key`` every time; make it idempotent on that key."""
        self.callbacks.append(callback)
        return callback

    def completions(self) -> Iterator[Completion]:
        """The completions not yet delivered, oldest first. Each is marked delivered when you
        ask for the next one (the body of your ``for`` loop returned); leaving the loop early
        (or a crash) leaves the one in hand undelivered: it comes again, with the same key."""
        owner = owner_id()
        while True:
            rows = self.store.claim_outbox(owner, 1, time.time(), self.lease)
            if not rows:
                return
            row = rows[0]
            completion = Completion.from_dict(json.loads(row["outcome"]))
            try:
                yield completion
            except GeneratorExit:
                self.store.unclaim(owner, [row["key"]])
                raise
            self.store.delivered(row["key"], time.time())

    def deliver(self, completion: Completion) -> None:
        """Call every callback with ``completion``, then mark it delivered."""
        for callback in self.callbacks:
            callback(completion)
        self.store.delivered(completion.key, time.time())

    def deliver_pending(self, owner: str | None = None) -> None:
        """Deliver the completions left undelivered (by a crash, or a failed callback)."""
        if not self.callbacks:
            return
        owner = owner_id() if owner is None else owner
        while True:
            rows = self.store.claim_outbox(owner, 100, time.time(), self.lease)
            if not rows:
                return
            for index, row in enumerate(rows):
                try:
                    self.deliver(Completion.from_dict(json.loads(row["outcome"])))
                except BaseException:
                    self.store.unclaim(owner, [r["key"] for r in rows[index:]])
                    raise

    # --- running

    def run(
        self, *, once: bool = False, on_change: Callable[[JobStatus], None] | None = None
    ) -> builtins.list[Completion]:
        """``run_async`` in a fresh event loop."""
        return asyncio.run(self.run_async(once=once, on_change=on_change))

    async def run_async(
        self,
        *,
        once: bool = False,
        stop: asyncio.Event | None = None,
        on_change: Callable[[JobStatus], None] | None = None,
        on_complete: Callable[[Completion], None] | None = None,
    ) -> builtins.list[Completion]:
        """Poll the tracked jobs until none is left active (or ``stop`` is set); the
        completions this run made, in order.

        First delivers the completions left undelivered, if there are callbacks. ``once``: poll
        each job that is due now once, write its state, and return. ``on_change`` gets every
        status that differs from the job's one before; ``on_complete`` each completion this run
        makes (after the callbacks and the delivery mark). A callback's exception stops the run
        and is raised (its completion stays undelivered: it comes again); so is a
        ``TrackerError`` (a full disk: nothing committed is lost) or a ``ConfigurationError``
        (a job's provider has no token).
        """
        from docstatus._waiting._many import _config_timeout, _Fleet  # noqa: PLC0415
        from docstatus._waiting._poll import Configs, fetch_poller_async, new_fleet_client  # noqa: PLC0415
        from docstatus._waiting._single import random_source  # noqa: PLC0415

        loop = asyncio.get_running_loop()
        owner = owner_id()
        poll = self._poll
        configs: Configs | None = None
        owned: FleetSession | None = None
        cap = None
        if poll is None:
            configs = Configs.of(self._config)
            if self._client is None:  # watch_many's own session (aiohttp): the tracker runs on asyncio
                owned = new_fleet_client(self.concurrency)
                poll = fetch_poller_async(configs, owned)
            else:
                poll = fetch_poller_async(configs, self._client)
            cap = _config_timeout(configs)
        fleet = _Fleet(
            poll=poll,
            policy=self.policy,
            clock=loop.time,
            sleep=None,
            concurrency=self.concurrency,
            on_change=on_change,
            updates=asyncio.Queue(),
            own=cap is not None,
            cap=cap,
            keep_open=True,
        )
        session = _Session(
            tracker=self,
            owner=owner,
            fleet=fleet,
            configs=configs,
            once=once,
            draw=random_source(self._rng),
            on_complete=on_complete,
            wake=asyncio.Event(),
        )
        fleet.on_step = session.on_step
        dispatcher: asyncio.Task[None] | None = None
        stopper = None if stop is None else loop.create_task(_relay(stop, session.wake))
        try:
            self.deliver_pending(owner)
            dispatcher = loop.create_task(fleet.run(None), name="docstatus-tracker")
            await session.loop(dispatcher, stop)
        finally:
            fleet.close()
            tasks = [t for t in (dispatcher, *fleet.tasks) if t is not None]
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)
            if stopper is not None:
                stopper.cancel()
            with contextlib.suppress(TrackerError):
                self.store.release(owner, builtins.list(session.held))
                self.store.unclaim_all(owner)
            if owned is not None:
                await owned.aclose()
        return session.done


async def _relay(stop: asyncio.Event, wake: asyncio.Event) -> None:
    await stop.wait()
    wake.set()


@attrs.define(eq=False)
class _Session:
    """One run: the jobs it holds, and what it does after each of their steps."""

    tracker: Tracker
    owner: str
    fleet: _Fleet
    configs: Configs | None
    once: bool
    draw: Callable[[], float]
    on_complete: Callable[[Completion], None] | None
    wake: asyncio.Event
    held: dict[str, tuple[_Job, str, Mapping[str, Any]]] = attrs.Factory(dict)
    done: builtins.list[Completion] = attrs.Factory(list)
    renewed: float = -math.inf

    def secrets(self) -> builtins.list[str]:
        """The configured tokens, scrubbed from whatever is written."""
        if self.configs is None:
            return []
        tokens = [c.token for c in (*self.configs.cache.values(), *self.configs.given.values())]
        return [t for t in tokens if t]

    async def loop(self, dispatcher: asyncio.Task[None], stop: asyncio.Event | None) -> None:
        tracker, fleet, store = self.tracker, self.fleet, self.tracker.store
        claimed_once = False
        while True:
            if fleet.failure is not None:
                raise fleet.failure
            if dispatcher.done():
                dispatcher.result()
                raise RuntimeError("internal error: the tracker's dispatcher ended early")
            if stop is not None and stop.is_set():
                return
            while not fleet.updates.empty():  # the JobUpdate stream is not used here
                fleet.updates.get_nowait()
            wall = time.time()
            if self.held and wall - self.renewed >= tracker.lease / 3:
                for ref in store.renew(self.owner, builtins.list(self.held), wall + tracker.lease):
                    self._drop(ref)
                self.renewed = wall
            if not (self.once and claimed_once):
                room = tracker.capacity - len(self.held)
                rows = store.claim(self.owner, room, wall, tracker.lease, due_by=wall if self.once else None)
                claimed_once = True
                if rows:
                    self.renewed = wall
                for row in rows:
                    self.enlist(row)
            if not self.held:
                if self.once:
                    return
                if not store.query("SELECT 1 FROM jobs WHERE status = 'active' LIMIT 1"):
                    tracker.deliver_pending(self.owner)
                    return
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), tracker.refresh)

    def enlist(self, row: sqlite3.Row) -> None:
        """Wait on a claimed job, from where its saved state was."""
        tracker, fleet = self.tracker, self.fleet
        ref = parse_ref(row["ref"])
        if self.configs is not None:
            try:
                self.configs.for_ref(ref)
            except DocstatusError:
                tracker.store.release(self.owner, [row["ref"]])
                raise
        state = None
        if row["wait"] is not None:
            try:
                state = WaitState.from_dict(json.loads(row["wait"]))
            except (ValueError, TypeError) as exc:
                logger.warning(
                    "tracked job %s: its saved waiting state cannot be read (%s); waiting starts over", ref, exc
                )
        if state is None:
            state = WaitState(ref=row["name"], started=row["added"], deadline=row["deadline"])
        else:
            state = attrs.evolve(state, deadline=row["deadline"])
        now, wall = fleet.clock(), time.time()
        waiter = Waiter.restore(state, tracker.policy, now, wall, draw=self.draw)
        step = waiter.resume(now, spread=tracker.spread)
        host = fleet.host(ref, self.configs, tracker.host_concurrency, tracker.host_rate)
        meta = json.loads(row["meta"])
        job = fleet.add(ref, [row["name"]], waiter, step, now + step.delay, host, expiry=now + step.delay)
        self.held[row["ref"]] = (job, row["key"], meta)

    def _drop(self, ref: str) -> None:
        entry = self.held.pop(ref, None)
        if entry is not None:
            self.fleet.drop(entry[0])
            self.wake.set()

    def on_step(self, job: _Job, step: Step) -> None:
        """After each of a held job's steps: persist it, or end it (and deliver its end)."""
        ref = str(job.ref)
        entry = self.held.get(ref)
        if entry is None:
            self.fleet.drop(job)
            return
        _, key, _meta = entry
        store, waiter = self.tracker.store, job.waiter
        now, wall = self.fleet.clock(), time.time()
        secrets = self.secrets()
        snapshot = waiter.snapshot(now, wall)
        wait = dumps(snapshot.to_dict(), secrets)
        if step.action is Action.POLL:
            seen = "new" if waiter.last is None else waiter.last.state.value
            due = wall if snapshot.due is None else snapshot.due
            if not store.save(self.owner, ref, state=seen, wait=wait, next_due=due, polls=waiter.polls, now=wall):
                self._drop(ref)  # forgotten, or another run took it: nothing more from this one
            elif self.once:
                self._drop(ref)
                store.release(self.owner, [ref])
            return
        completion = self._completion(job, step, key, wall)
        outcome = dumps(completion.to_dict(), secrets)
        completion = Completion.from_dict(json.loads(outcome))
        self.held.pop(ref, None)
        self.wake.set()
        ended = store.finish(
            self.owner,
            ref,
            key,
            state=completion.state,
            wait=wait,
            outcome=outcome,
            polls=waiter.polls,
            now=wall,
            lease=self.tracker.lease if self.tracker.callbacks else None,
        )
        if not ended:
            return
        self.done.append(completion)
        if self.tracker.callbacks:
            try:
                self.tracker.deliver(completion)
            except BaseException:
                store.unclaim(self.owner, [completion.key])
                raise
        if self.on_complete is not None:
            self.on_complete(completion)

    def _completion(self, job: _Job, step: Step, key: str, wall: float) -> Completion:
        meta = self.held[str(job.ref)][2]
        name = job.names[0]
        if step.action is Action.RETURN:
            status = step.status
            assert status is not None
            return Completion(
                key=key, ref=str(job.ref), name=name, state=status.state.value, status=status, meta=meta, finished=wall
            )
        error = step.error
        assert error is not None
        cause = error.__cause__
        return Completion(
            key=key,
            ref=str(job.ref),
            name=name,
            state=_error_state(error),
            status=job.waiter.last,
            error=type(error).__name__,
            cause=type(cause).__name__ if isinstance(cause, DocstatusError) else None,
            message=str(error),
            meta=meta,
            finished=wall,
        )
