"""``docstatus.Tracker``: track jobs durably in a SQLite file, across restarts and crashes.

How it works:

- ``add`` writes a row (idempotent on the canonical ref) with a fresh idempotency ``key``.
- ``run`` / ``run_async`` leases jobs (``BEGIN IMMEDIATE``: two runs never take the same job;
  a lease expires after ``lease`` seconds, at once when its run's process is dead on this
  host) and waits on them with ``watch_many``'s dispatcher: the same sans-IO ``Waiter``, the
  same per-host budgets. After every poll the job's ``WaitState`` is written (only while the
  lease is still this run's; the last status only when it changed), so a restart goes on where
  each job was: same backoff, same deadline, and the polls that fell due meanwhile spread over
  each job's own interval (``Waiter.resume``), not a burst.
- Leases and pauses: each claim of a job bumps its ``lease_gen`` (a fencing number), and every
  write checks it. A heartbeat thread, with its own connection, renews the leases (and the
  run's delivery claims) every third of ``lease``, so a callback that blocks the event loop (up
  to ``STALL_LIMIT``) does not let them lapse, nor lets another run deliver the same completion
  meanwhile. Right before each poll's request, the run checks on the wall clock that its
  leases were confirmed less than two thirds of ``lease`` ago; if not (the process was paused:
  SIGSTOP, a laptop asleep), it renews them first and drops every job another run took
  meanwhile, without polling it. So two runs never poll one job at once, except a poll that was
  already under way when its run was paused.
- A job ends once: the transaction that marks it done also writes its outbox row (its outcome,
  never changed after). A run whose lease was lost writes nothing.
- Delivery is at least once: ``on_done`` callbacks (and ``completions()``) get each outbox row,
  and it is marked delivered only after they returned. A crash in between delivers it again,
  with the same ``key`` and the same outcome: make your callback idempotent on ``key``.
- Damaged rows (the file was edited, or damaged on disk): every stored value is read as
  untrusted. A job whose ref, name, key, meta, added time or deadline cannot be read is
  skipped by a run (one warning naming it; the row is left as it is, ``Tracker.skipped``); one
  whose saved waiting state or last status cannot be read starts waiting over, with its own
  deadline; an outbox row whose outcome cannot be read is not delivered (one warning; left as
  it is). ``get`` and ``list`` return such rows with ``TrackedJob.damaged`` naming each field
  that could not be read.

- Where jobs end: with the default policy (the process's shared ``Durations``), runs poll by a
  duration model kept in the file (``learned`` table): a run starts from the one the runs before
  it saved, and adds what it learned every ``SHARE_ENDS`` jobs ended and when it stops, in one
  transaction, so runs on one file add up their samples (see ``_learned``). A model of your own
  in the policy, or ``None``, is used as given and the file's is left alone.

Time: a running wait uses the event loop's monotonic clock; what is written is on the wall
clock (``time.time()``), so deadlines are absolute: a restart, however late, never extends one.
Leases are on the wall clock too: the hosts sharing a file must agree on the time to well
within a third of ``lease``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import math
import os
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Self

import attrs

from docstatus._exceptions import (
    ActionRequired,
    AuthenticationError,
    DocstatusError,
    JobNotFound,
    WaitTimeout,
)
from docstatus._refs import parse_ref
from docstatus._secrets import logger
from docstatus._status import JobStatus
from docstatus._text import clean, clean_tree, loads, printable
from docstatus._waiting._core import RESUME_SPREAD, Action, UnknownState, Waiter, WaitPolicy, WaitState, read_last
from docstatus._waiting._durations import Durations

from ._learned import Learned
from ._store import INLINE_LIMIT, JOB_ROWS, Store, TrackerError, dumps, owner_id

if TYPE_CHECKING:
    import builtins
    import random as _random
    import sqlite3
    from collections.abc import Callable, Iterable, Iterator

    import httpx

    from docstatus._config import ProviderConfig
    from docstatus._refs import JobRef
    from docstatus._waiting._core import Step
    from docstatus._waiting._hooks import Hooks
    from docstatus._waiting._many import Fleet, FleetJob
    from docstatus._waiting._poll import AsyncPollFn, Configs

#: Seconds a run's lease on a job lasts without renewal (renewed every third of it).
DEFAULT_LEASE: Final = 30.0
#: The most jobs a run holds in memory at once, per poll it may have in flight (``concurrency``):
#: its window, unless ``capacity`` is given (4,096 at the default concurrency of 32).
WINDOW_PER_SLOT: Final = 128
#: Seconds ahead a run takes the jobs that fall due (and keeps a polled job whose next poll is due
#: within it); a job whose next poll is further off goes back to its row, its lease let go.
DEFAULT_HORIZON: Final = 10.0
#: Rows a run leases and restores at most in one go (the dispatcher runs between two such batches,
#: so the first poll of a restart waits for one batch, not for every job).
CLAIM_BATCH: Final = 256
#: Seconds the dispatcher gets between two batches of a claim (its first polls start meanwhile).
FILL_PAUSE: Final = 0.001
#: Seconds between two looks at the database for jobs to take (new ones, or a dead run's).
DEFAULT_REFRESH: Final = 1.0
#: Seconds a run's writes wait in one open transaction at most before they are committed
#: (group commit: see ``Store``); they are committed sooner before any callback runs.
GROUP_WINDOW: Final = 0.01
#: Deferred writes of a run committed together at most.
GROUP_MAX: Final = 1000
#: Rows per query of ``Tracker.scan`` (keyset pages: no read transaction stays open between them).
PAGE: Final = 500
#: Seconds the heartbeat keeps a run's leases alive while its event loop shows no sign of life
#: (a callback that blocks it); past that the leases lapse and other runs may take the jobs.
STALL_LIMIT: Final = 600.0

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

#: The fields of a row a run needs to poll its job: one that cannot be read is skipped.
NEEDED: Final = ("ref", "name", "key", "meta", "added", "deadline")


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


def _text_of(name: str, value: object, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not optional and not value):
        raise ValueError(f"Completion.{name} must be a{'' if optional else ' non-empty'} string, not {value!r:.80}")
    return clean(value)


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
        """Read ``to_dict()``'s form back; ``ValueError`` naming the field for anything else (a
        stored outcome is read as untrusted; its texts made encodable)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a Completion is a JSON object, not {type(data).__name__}")  # noqa: TRY004
        status = data.get("status")
        if status is not None:
            try:
                status = JobStatus.from_dict(status)
            except ValueError as exc:
                raise ValueError(f"Completion.status is not a JobStatus JSON object: {exc}") from None
        meta = data.get("meta")
        if meta is None:
            meta = {}
        elif not isinstance(meta, Mapping) or not all(isinstance(k, str) for k in meta):
            raise ValueError("Completion.meta must be a JSON object")
        finished = data.get("finished", 0.0)
        if isinstance(finished, bool) or not isinstance(finished, int | float) or not math.isfinite(finished):
            raise ValueError(f"Completion.finished must be a finite number, not {finished!r:.80}")
        return cls(
            key=_text_of("key", data.get("key")),  # type: ignore[arg-type]
            ref=_text_of("ref", data.get("ref")),  # type: ignore[arg-type]
            name=_text_of("name", data.get("name")),  # type: ignore[arg-type]
            state=_text_of("state", data.get("state")),  # type: ignore[arg-type]
            status=status,
            error=_text_of("error", data.get("error"), optional=True),
            cause=_text_of("cause", data.get("cause"), optional=True),
            message=_text_of("message", data.get("message"), optional=True),
            meta=clean_tree(dict(meta)),
            finished=float(finished),
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
        damaged: The fields of its row that could not be read, each with why (empty for a
            whole row). Such a field has a stand-in value: ``{}``, ``None``, NaN for a time,
            0 for ``polls``, the text as stored for ``ref``, ``name``, ``key`` and ``state``.
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
    damaged: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def status(self) -> JobStatus | None:
        """The final status once done, else the last one seen, or ``None``."""
        if self.completion is not None:
            return self.completion.status
        return None if self.wait is None else self.wait.last_status

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``docstatus track show`` / ``ls --json``); ``damaged`` only when the
        row is; a time that cannot be read is ``null``."""
        status = self.status
        data = {
            "ref": self.ref,
            "name": self.name,
            "key": self.key,
            "state": self.state,
            "done": self.done,
            "meta": dict(self.meta),
            "added": _number(self.added),
            "deadline": _number(self.deadline),
            "next_due": None if self.done else _number(self.next_due),
            "polls": self.polls,
            "status": None if status is None else status.to_dict(),
            "completion": None if self.completion is None else self.completion.to_dict(),
        }
        if self.damaged:
            data["damaged"] = dict(self.damaged)
        return data


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


# --- stored rows, read as untrusted


def _why(exc: BaseException) -> str:
    return printable(str(exc) or type(exc).__name__, 200)


def _stored_text(value: object) -> str:
    """A stored text field as a ``str`` (a number or bytes where a text belongs: shown as it is)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _stored_json(value: object) -> Any:
    """A stored JSON column; ``ValueError`` when it is not JSON text (or is nested too deeply)."""
    if not isinstance(value, str | bytes):
        raise ValueError(f"not JSON text but a stored {type(value).__name__}")  # noqa: TRY004
    try:
        return loads(value)
    except ValueError as exc:
        raise ValueError(f"not valid JSON ({_why(exc)})") from None


def _stored_time(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"not a time (seconds since the epoch) but {printable(repr(value), 60)}")
    return float(value)


def read_wait(wait: object, last: object) -> WaitState:
    """A job's saved ``WaitState`` (its ``wait`` column, without the last status) and its last
    status (the ``last`` column, ``None`` when there is none); ``ValueError`` when either cannot
    be read. A ``wait`` still holding its last status (a file written before schema version 2,
    never migrated) is read as it is."""
    data = _wait_data(wait)
    if last is not None:
        data["last"] = _last_data(last)
    return WaitState.from_dict(data)


def read_saved(wait: object, last: object) -> tuple[WaitState, JobStatus | None]:
    """What ``read_wait`` reads, for a run that goes on from it: the state without its last
    status, and that status read once, as a ``JobStatus`` (``read_wait`` reads it, writes it
    back as JSON into the state, and ``Waiter.restore`` would read that again). ``ValueError``
    when either cannot be read, as for ``read_wait``."""
    if last is None:  # none, or still in ``wait`` (a file written before schema version 2)
        return read_wait(wait, None), None
    data = _wait_data(wait)
    raw = _last_data(last)
    data["last"] = None
    return WaitState.from_dict(data), read_last(raw)


def _wait_data(wait: object) -> dict[str, Any]:
    """A stored ``wait`` column decoded: a JSON object (``WaitState.from_dict`` checks it)."""
    data = _stored_json(wait)
    if not isinstance(data, dict):
        raise ValueError(f"not a WaitState but a JSON {type(data).__name__}")  # noqa: TRY004
    return data


def _last_data(last: object) -> Any:
    """A stored ``last`` column decoded (``read_last`` checks it)."""
    try:
        return _stored_json(last)
    except ValueError as exc:
        raise ValueError(f"its last status is {exc}") from None


def read_job(row: Mapping[str, Any] | sqlite3.Row) -> TrackedJob:
    """A ``jobs`` row as a ``TrackedJob``, whatever it holds: each field that cannot be read is
    named in ``damaged`` and gets a stand-in value. Never raises."""
    damaged: dict[str, str] = {}
    ref = _stored_text(row["ref"])
    why = _bad_ref(row["ref"])
    if why is not None:
        damaged["ref"] = why
    texts = {}
    for name in ("name", "key", "state"):
        value = row[name]
        texts[name] = _stored_text(value)
        if not isinstance(value, str) or not value:
            damaged[name] = f"not a non-empty text but {printable(repr(value), 60)}"
    meta: Mapping[str, Any] = {}
    try:
        meta = _stored_json(row["meta"])
        if not isinstance(meta, dict) or not all(isinstance(k, str) for k in meta):
            raise ValueError(f"not a JSON object but a JSON {type(meta).__name__}")  # noqa: TRY301
    except ValueError as exc:
        meta = {}
        damaged["meta"] = _why(exc)
    times = {}
    for name in ("added", "deadline", "next_due"):
        try:
            times[name] = _stored_time(row[name])
        except ValueError as exc:
            times[name] = math.nan
            damaged[name] = _why(exc)
    polls = row["polls"]
    if isinstance(polls, bool) or not isinstance(polls, int) or polls < 0:
        damaged["polls"] = f"not a count but {printable(repr(polls), 60)}"
        polls = 0
    wait = None
    if row["wait"] is not None:
        try:
            side = _get(row, "side_last")
            wait = read_wait(row["wait"], side if side is not None else _get(row, "last"))
        except ValueError as exc:
            damaged["wait"] = _why(exc)
    done = row["status"] == "done"
    completion = None
    if row["outcome"] is not None:
        try:
            completion = Completion.from_dict(_stored_json(row["outcome"]))
        except ValueError as exc:
            damaged["outcome"] = _why(exc)
    elif done:
        damaged["outcome"] = "missing: the job is done but its outcome is not stored"
    owner = row["owner"]
    return TrackedJob(
        ref=ref,
        name=texts["name"],
        key=texts["key"],
        state=texts["state"],
        done=done,
        meta=meta,
        added=times["added"],
        deadline=times["deadline"],
        next_due=times["next_due"],
        polls=polls,
        wait=wait,
        completion=completion,
        owner=owner if isinstance(owner, str) else None,
        damaged=damaged,
    )


def _sort_key(value: object) -> tuple[int, Any]:
    """A stored value's place in SQLite's order: NULL, then numbers, then texts, then blobs."""
    if value is None:
        return (0, 0)
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, value)


def _stored_due(value: object, wall: float) -> float:
    """A claimed row's ``next_due``; one that is not a time (damaged) is due now."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return wall


def _bad_ref(value: object) -> str | None:
    """Why a stored ref cannot be polled, or ``None``."""
    if not isinstance(value, str):
        return f"not a text but a stored {type(value).__name__}"
    try:
        canonical = str(parse_ref(value))
    except (ValueError, DocstatusError) as exc:
        return _why(exc)
    if canonical != value:  # docstatus stores the canonical form: a run would not find it again
        return f"not in its canonical form ({printable(canonical, 120)})"
    return None


def _get(row: Mapping[str, Any] | sqlite3.Row, name: str) -> Any:
    try:
        return row[name]
    except (KeyError, IndexError):
        return None


def _claimed(row: Mapping[str, Any]) -> tuple[JobRef, str, str, dict[str, Any], float, float] | None:
    """What a run needs of a claimed row (``NEEDED``: its ref, name, key, meta, added time and
    deadline), when all of it can be read; else ``None`` (``read_job`` says what cannot). The
    fast path of the checks ``read_job`` makes, for every job a run takes."""
    ref, name, key, meta_text = row["ref"], row["name"], row["key"], row["meta"]
    if not (isinstance(ref, str) and isinstance(name, str) and name and isinstance(key, str) and key):
        return None
    if not isinstance(meta_text, str):
        return None
    try:
        job = parse_ref(ref)
        meta = {} if meta_text == "{}" else loads(meta_text)  # most jobs have none: no decoder for those
    except (ValueError, DocstatusError):
        return None
    if str(job) != ref or not isinstance(meta, dict) or not all(isinstance(k, str) for k in meta):
        return None
    added, deadline = row["added"], row["deadline"]
    for value in (added, deadline):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return None
    return job, name, key, meta, float(added), float(deadline)


def damage_line(job: TrackedJob, fields: Iterable[str] | None = None) -> str:
    """What is damaged in ``job``'s row, as one phrase: ``meta: not valid JSON (...); ...``."""
    names = job.damaged if fields is None else [f for f in fields if f in job.damaged]
    return "; ".join(f"{name}: {job.damaged[name]}" for name in names)


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
    """Jobs tracked durably in a SQLite file (WAL; the file is created when missing, never its
    folder; a file that is not a docstatus tracking database is refused and left as it is).

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
        capacity: The most jobs a run holds in memory at once (default ``WINDOW_PER_SLOT`` times
            ``concurrency``). It does not limit how many jobs a run serves: a run takes the jobs
            due soonest, gives back each one whose next poll is more than ``horizon`` away, and
            takes the next ones as they fall due.
        horizon: Seconds ahead a run takes the jobs that fall due (see ``capacity``).
        refresh: Seconds between two looks at the database for jobs to take.
        spread: The longest a poll that fell due while no run held the job is put off.
        rng: Random source of the jitter.

    Attributes:
        durations: The duration model runs poll by (see the module docstring): the one kept in
            the file, or the policy's own (``None``: none).
        skipped: The jobs runs of this ``Tracker`` skipped because their rows are damaged, by
            ref (as stored), each with why (see the module docstring).
        undeliverable: The completions not delivered because their stored outcome is damaged,
            by key (as stored), each with why.
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
        capacity: int | None = None,
        horizon: float = DEFAULT_HORIZON,
        refresh: float = DEFAULT_REFRESH,
        spread: float = RESUME_SPREAD,
        rng: _random.Random | None = None,
    ) -> None:
        if concurrency < 1 or host_concurrency < 1 or (capacity is not None and capacity < 1):
            raise ValueError("Tracker: concurrency, host_concurrency and capacity must be at least 1")
        for name, value in (("lease", lease), ("refresh", refresh), ("horizon", horizon)):
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
        self.window = capacity if capacity is not None else WINDOW_PER_SLOT * concurrency
        self.horizon = horizon
        self.refresh = refresh
        self.spread = spread
        self._rng = rng
        self.skipped: dict[str, str] = {}
        self.undeliverable: dict[str, str] = {}
        self.store = Store.open(self.path)
        # The duration model kept in the file: in place of the process's shared one only (a
        # model of the caller's own, or None, is used as given, and the file's is not touched).
        self._learned = Learned() if self.policy.durations is Durations.shared() else None

    @property
    def durations(self) -> Durations | None:
        """The duration model this Tracker's runs poll by and learn from: its own, kept in the
        file (read when a run starts, added to every ``SHARE_ENDS`` jobs ended and when it
        stops), where the policy has the process's shared one (the default); else the policy's."""
        return self.policy.durations if self._learned is None else self._learned.local

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
        ``InvalidJobRef`` and none is added); how many were not tracked before. ``refs`` is read
        as it comes (a generator of a million refs is never held in memory at once)."""
        now = time.time()
        end = _deadline(deadline, self.policy, now)
        meta_text = _meta(meta)

        # Keys: 32 hex digits, a random half per call and a count (unique, and in order within a
        # call: SQLite appends them to the key index instead of writing all over it).
        prefix = os.urandom(8).hex()

        def rows() -> Iterator[dict[str, Any]]:
            row: dict[str, Any] = {"meta": meta_text, "added": now, "deadline": end, "next_due": now}
            for count, given in enumerate(refs):
                job = parse_ref(given) if isinstance(given, str) else given
                row["ref"] = str(job)
                row["name"] = given if isinstance(given, str) else str(given)
                row["key"] = f"dst_{prefix}{count:016x}"
                yield row  # one dict, read by sqlite3 before the next is made

        return self.store.insert_many(rows())

    def get(self, ref: str | JobRef) -> TrackedJob | None:
        """The tracked job, or ``None`` (``InvalidJobRef`` when ``ref`` does not parse). A
        damaged row is returned too, with ``damaged`` naming what could not be read."""
        key = str(parse_ref(ref) if isinstance(ref, str) else ref)
        rows = self.store.query(f"{JOB_ROWS} WHERE ref = ?", (key,))
        return read_job(rows[0]) if rows else None

    def list(self, state: str | None = None) -> builtins.list[TrackedJob]:
        """Tracked jobs in the order they were added; ``state``: ``active``, ``done``, or one
        of ``STATE_FILTERS`` (``running``, ``succeeded``, ``timed_out``, ...). Damaged rows are
        listed too, with ``damaged`` naming what could not be read. All in one list: with many
        jobs, ``scan`` streams them instead."""
        return [*self.scan(state)]

    def scan(
        self, state: str | None = None, *, due_within: float | None = None, after: str | JobRef | None = None
    ) -> Iterator[TrackedJob]:
        """Tracked jobs one by one, read a page at a time (``PAGE`` rows per query, each found
        in an index: the first comes at once however many are tracked, and memory does not grow
        with them): in the order they were added, or with ``due_within`` (seconds; 0 for those
        due now) only the active jobs whose next poll is due within that, soonest due first.
        ``state`` as for ``list``; ``after``: start after that job (the last one of an earlier
        page; ``InvalidJobRef`` when it does not parse, nothing when it is not tracked)."""
        if state is not None and state not in STATE_FILTERS:
            raise ValueError(f"Tracker.scan: state must be one of {', '.join(STATE_FILTERS)}, not {state!r}")
        if due_within is not None and not (due_within >= 0 and math.isfinite(due_within)):
            raise ValueError(f"Tracker.scan: due_within must be a finite number of seconds >= 0, not {due_within!r}")
        order = "added" if due_within is None else "next_due"
        ranges: builtins.list[tuple[str, builtins.list[Any], str]]  # where, its parameters, the index to read
        if due_within is not None:
            if state == "done":
                return
            due: builtins.list[Any] = [time.time() + due_within]
            extra, more = ("", []) if state in (None, "active") else (" AND jobs.state = ?", [state])
            ranges = [
                (
                    f"jobs.status = 'active' AND jobs.owner IS NULL AND jobs.next_due <= ?{extra}",
                    [*due, *more],
                    "jobs_free",
                ),
                (
                    f"jobs.owner IS NOT NULL AND jobs.status = 'active' AND jobs.next_due <= ?{extra}",
                    [*due, *more],
                    "jobs_leased",
                ),
            ]
        elif state is None:
            ranges = [("jobs.status = ?", ["active"], "jobs_added"), ("jobs.status = ?", ["done"], "jobs_added")]
        elif state in ("active", "done"):
            ranges = [("jobs.status = ?", [state], "jobs_added")]
        else:
            ranges = [
                ("jobs.state = ? AND jobs.status = ?", [state, status], "jobs_state") for status in ("active", "done")
            ]
        start = None
        if after is not None:
            key = str(parse_ref(after) if isinstance(after, str) else after)
            rows = self.store.query(f"SELECT rowid, {order} FROM jobs WHERE ref = ?", (key,))  # noqa: S608
            if not rows:
                return
            start = (rows[0][1], rows[0][0])
        streams = [
            self.store.pages(where, params, order, PAGE, start=start, index=index) for where, params, index in ranges
        ]
        if len(streams) == 1:
            merged: Iterator[sqlite3.Row] = streams[0]
        else:  # in the index's order: SQLite's (numbers before texts before blobs), then rowid
            merged = heapq.merge(*streams, key=lambda r: (_sort_key(r[order]), r["rowid"]))
        for row in merged:
            yield read_job(row)

    def counts(self) -> dict[str, int]:
        """How many jobs are in each state."""
        counted: dict[str, int] = {}
        for (_, state), n in self.store.counts().items():
            counted[state] = counted.get(state, 0) + n
        return counted

    def totals(self) -> dict[str, int]:
        """How the tracked jobs stand: ``succeeded`` (ended so), ``not_succeeded`` (ended
        otherwise: failed, timed out, ...) and ``active`` (not ended yet)."""
        totals = {"succeeded": 0, "not_succeeded": 0, "active": 0}
        for (done, state), n in self.store.counts().items():
            totals["active" if not done else "succeeded" if state == "succeeded" else "not_succeeded"] += n
        return totals

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

    def _outcome(self, row: sqlite3.Row, owner: str, skip: set[int]) -> Completion | None:
        """An outbox row's completion, or ``None`` (said once, its claim given up, its rowid
        added to ``skip``) when it cannot be read."""
        try:
            completion = Completion.from_dict(_stored_json(row["outcome"]))
            if completion.key != row["key"]:
                raise ValueError(f"it names another key ({printable(completion.key, 60)})")  # noqa: TRY301
        except ValueError as exc:
            where = f"{_stored_text(row['ref'])} (key {_stored_text(row['key'])})"
            why = _why(exc)
            self.undeliverable[_stored_text(row["key"])] = why
            logger.warning(
                "the completion of tracked job %s cannot be read (its stored outcome: %s); it is not delivered "
                "and left as it is",
                where,
                why,
            )
            skip.add(row["rowid"])
            self.store.unclaim_rows(owner, [row["rowid"]])
            return None
        return completion

    def completions(self) -> Iterator[Completion]:
        """The completions not yet delivered, oldest first. Each is marked delivered when you
        ask for the next one (the body of your ``for`` loop returned); leaving the loop early
        (or a crash) leaves the one in hand undelivered: it comes again, with the same key. One
        whose stored outcome cannot be read is skipped (a warning names it). Each is claimed
        for ``lease`` seconds: one kept in hand longer may be handed to another consumer too."""
        owner = owner_id()
        skip: set[int] = set()
        while True:
            rows = self.store.claim_outbox(owner, 1, time.time(), self.lease, skip=skip)
            if not rows:
                return
            row = rows[0]
            completion = self._outcome(row, owner, skip)
            if completion is None:
                continue
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

    def deliver_pending(self, owner: str | None = None, *, skip: set[int] | None = None) -> None:
        """Deliver the completions left undelivered (by a crash, or a failed callback); one
        whose stored outcome cannot be read is skipped (a warning names it, ``undeliverable``
        has it; ``skip`` collects the rowids of those)."""
        if not self.callbacks:
            return
        owner = owner_id() if owner is None else owner
        skip = set() if skip is None else skip
        while True:
            rows = self.store.claim_outbox(owner, 100, time.time(), self.lease, skip=skip)
            if not rows:
                return
            for index, row in enumerate(rows):
                completion = self._outcome(row, owner, skip)
                if completion is None:
                    continue
                try:
                    self.deliver(completion)
                except BaseException:
                    self.store.unclaim(owner, [r["key"] for r in rows[index:]])
                    raise

    # --- running

    def run(
        self, *, once: bool = False, on_change: Callable[[JobStatus], None] | None = None, collect: bool = True
    ) -> builtins.list[Completion]:
        """``run_async`` in a fresh event loop."""
        return asyncio.run(self.run_async(once=once, on_change=on_change, collect=collect))

    async def run_async(
        self,
        *,
        once: bool = False,
        stop: asyncio.Event | None = None,
        on_change: Callable[[JobStatus], None] | None = None,
        on_complete: Callable[[Completion], None] | None = None,
        collect: bool = True,
    ) -> builtins.list[Completion]:
        """Poll the tracked jobs until none is left active (or ``stop`` is set); the
        completions this run made, in order (with ``collect=False``: none are kept, and the
        list is empty; use ``on_done`` or ``on_complete`` then, so memory does not grow with
        the jobs that end).

        Scheduling: the run holds in memory only the jobs due within ``horizon`` (and those
        queued for their host's budget or in flight), at most ``capacity`` of them, taken from
        the due index soonest due first; a job whose next poll is further off goes back to its
        row (its waiting state is there) and its lease is let go, and the run takes it again
        when it falls due. So one run serves any number of jobs, several runs share them (each
        takes what is due next), and a job due sooner than one the run holds displaces it.

        First delivers the completions left undelivered, if there are callbacks. ``once``: poll
        each job that is due now once (due when the run starts), in due order, as fast as the
        budgets allow, write its state, and return. ``on_change`` gets every status that
        differs from the job's one before; ``on_complete`` each completion this run makes
        (after the callbacks and the delivery mark). A callback's exception stops the run and
        is raised (its completion stays undelivered: it comes again); so is a ``TrackerError``
        (a full disk: nothing committed is lost) or a ``ConfigurationError`` (a job's provider
        has no token). A damaged row is skipped (a warning names it, and ``skipped`` has it);
        the other jobs go on.
        """
        from docstatus._waiting._many import Fleet  # noqa: PLC0415
        from docstatus._waiting._poll import Configs  # noqa: PLC0415
        from docstatus._waiting._single import random_source  # noqa: PLC0415

        loop = asyncio.get_running_loop()
        owner = owner_id()
        self.store.check_writable()  # a read-only file, or one locked for good: said before any request
        learned = self._learned
        policy = self.policy
        if learned is not None:  # the file's model, before the first poll (a damaged one: a warning)
            learned.exchange(self.store)
            policy = attrs.evolve(policy, durations=learned.local)
        configs = None if self._poll is not None else Configs.of(self._config)
        fleet, owned = Fleet.open(  # the tracker runs on asyncio: watch_many's own session by default
            poll=self._poll,
            configs=configs,
            client=self._client,
            policy=policy,
            clock=loop.time,
            concurrency=self.concurrency,
            on_change=on_change,
            keep_open=True,
        )
        session = _Session(
            tracker=self,
            policy=policy,
            owner=owner,
            fleet=fleet,
            configs=configs,
            once=once,
            draw=random_source(self._rng),
            on_complete=on_complete,
            wake=asyncio.Event(),
            collect=collect,
            started=time.time(),
            calm_at=fleet.clock(),
            report=on_change is not None,
        )
        fleet.on_step = session.on_step
        fleet.before_poll = session.before_poll
        dispatcher: asyncio.Task[None] | None = None
        stopper = None if stop is None else loop.create_task(_relay(stop, session.wake))
        heartbeat = _Heartbeat(session, self.store.sibling(), loop)
        store = self.store
        try:
            heartbeat.start()
            self.deliver_pending(owner, skip=session.skip_outbox)
            store.on_defer = session.deferred
            dispatcher = loop.create_task(fleet.run(None), name="docstatus-tracker")
            await session.loop(dispatcher, stop)
        finally:
            heartbeat.stop()
            fleet.close()
            tasks = [t for t in (dispatcher, *fleet.tasks) if t is not None]
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)
            if stopper is not None:
                stopper.cancel()
            session.close()
            if owned is not None:
                await owned.aclose()
        return session.done


async def _relay(stop: asyncio.Event, wake: asyncio.Event) -> None:
    await stop.wait()
    wake.set()


class _Held(NamedTuple):
    """A job a run holds: its place in the dispatcher, and its lease."""

    job: FleetJob
    key: str
    meta: Mapping[str, Any]
    gen: int
    rowid: int
    side: bool  # its last status is in the statuses table (large), not in its row
    due: float  # when its next poll is due as its row says (wall clock): its place in the due order


@attrs.define(eq=False)
class _Session:
    """One run: the jobs it holds, their leases, and what it does after each of their steps.

    ``held`` is changed by the event loop only, under ``lock`` (the heartbeat thread reads it
    under that lock); it holds at most ``tracker.window`` jobs (see ``fill``). ``parked``: as
    many again at most, the jobs given back to make room, each as it was held (the event loop
    only; see ``enlist``). ``unsaved``: the jobs held whose last poll's state is queued, not
    committed yet (``before_poll`` commits it before their next poll). ``valid_until``
    (wall clock): every lease held was confirmed in the database until at least then. ``lost``:
    leases a renewal found taken by another run (or the job ended or forgotten), each
    ``(ref, gen)``, for the loop to drop. ``started``: when the run started (wall clock; with
    ``once``, the jobs due by then are the ones it polls). ``calm_at``: the last time (the
    fleet's clock) the run found no job overdue in the database; overdue polls are spread from
    there (see ``enlist``). ``backlog_due`` (wall clock): when the soonest due of the jobs the
    last claim left in the database for lack of room is due (``inf``: none was left); a polled
    job due after it, and after the next claim, goes back to its row with its save while the
    window is full (see ``on_step``). ``ended``: the completions written in the open group, delivered
    by ``settle`` once it is committed. ``report``: statuses are reported (``on_change``), each
    after its poll's state is committed.
    """

    tracker: Tracker
    policy: WaitPolicy
    owner: str
    fleet: Fleet
    configs: Configs | None
    once: bool
    draw: Callable[[], float]
    on_complete: Callable[[Completion], None] | None
    wake: asyncio.Event
    collect: bool = True
    started: float = 0.0
    calm_at: float = 0.0
    report: bool = False
    backlog_due: float = math.inf
    lapsed_at: float = -math.inf
    held: dict[str, _Held] = attrs.Factory(dict)
    parked: dict[str, _Held] = attrs.Factory(dict)
    unsaved: set[str] = attrs.Factory(set)
    tokens: tuple[int, builtins.list[str]] = attrs.Factory(lambda: (-1, []))  # (len(Configs.cache), its tokens)
    ended: builtins.list[Completion] = attrs.Factory(list)
    claim_wanted: bool = True
    done: builtins.list[Completion] = attrs.Factory(list)
    lock: threading.Lock = attrs.Factory(threading.Lock)
    renewing: threading.Lock = attrs.Factory(threading.Lock)
    valid_until: float = -math.inf
    lost: set[tuple[str, int]] = attrs.Factory(set)
    alive: float = attrs.Factory(time.monotonic)
    failure: BaseException | None = None
    skip: set[int] = attrs.Factory(set)
    skip_outbox: set[int] = attrs.Factory(set)

    @property
    def batch(self) -> int:
        """Rows one claim takes at most."""
        return max(1, min(CLAIM_BATCH, self.tracker.window // 4))

    def secrets(self) -> builtins.list[str]:
        """The configured tokens, scrubbed from whatever is written (read again only when a
        provider's configuration was added: ``Configs.cache`` only grows)."""
        configs = self.configs
        if configs is None:
            return []
        seen, tokens = self.tokens
        if seen != len(configs.cache):
            found = [c.token for c in (*configs.cache.values(), *configs.given.values())]
            seen, tokens = len(configs.cache), [t for t in found if t]
            self.tokens = (seen, tokens)
        return tokens

    # --- leases

    def leases(self) -> builtins.list[tuple[str, int]]:
        with self.lock:
            return [(ref, entry.gen) for ref, entry in self.held.items()]

    def renew(self, store: Store, *, if_stale: bool = False) -> None:
        """Renew every lease held and every delivery claim (one transaction); note the leases
        lost. From the heartbeat thread (its own connection) or the loop (``if_stale``: only if
        no renewal confirmed them meanwhile)."""
        lease = self.tracker.lease
        with self.renewing:
            if if_stale and self.fresh():
                return
            start = time.time()
            leases = self.leases()
            lost = store.renew(self.owner, leases, start + lease, claims=bool(self.tracker.callbacks))
            with self.lock:
                self.lost.update((ref, gen) for ref, gen in leases if ref in lost)
                self.valid_until = start + lease

    def fresh(self) -> bool:
        """True when the leases held were confirmed less than two thirds of ``lease`` ago."""
        return time.time() < self.valid_until - self.tracker.lease / 3

    def collect_lost(self) -> None:
        """Drop the jobs whose lease a renewal found lost (on the loop)."""
        if not self.lost:
            return
        with self.lock:
            lost, self.lost = self.lost, set()
        for ref, gen in lost:
            entry = self.held.get(ref)
            if entry is not None and entry.gen == gen:
                self._drop(ref)

    def before_poll(self, job: FleetJob) -> bool:
        """Right before a poll's request: False (no request) unless this run still holds the
        job's lease, renewing the leases first when the wall clock says they may have lapsed
        (the process was paused, or its loop blocked)."""
        self.alive = time.monotonic()
        ref = str(job.ref)
        entry = self.held.get(ref)
        if entry is None or entry.job is not job:
            return False
        if ref in self.unsaved:  # its last poll's state is not committed yet: no poll from it before
            self.commit()
        if not self.fresh():
            self.renew(self.tracker.store, if_stale=True)
        self.collect_lost()
        return self.held.get(ref) is entry

    # --- the loop

    async def loop(self, dispatcher: asyncio.Task[None], stop: asyncio.Event | None) -> None:
        """Commit and deliver what the polls wrote (within ``GROUP_WINDOW``), and take the jobs
        that fall due: when room for a batch frees up, and every ``refresh``."""
        tracker = self.tracker
        next_claim = -math.inf
        while True:
            self._check(dispatcher)
            self.settle()
            if stop is not None and stop.is_set():
                return
            if self.claim_wanted or time.monotonic() >= next_claim:
                self.claim_wanted = False
                next_claim = time.monotonic() + tracker.refresh
                claimed = await self.fill(dispatcher, stop)
                if stop is not None and stop.is_set():
                    self.settle()
                    return
                if not self.held and not claimed and not self.ended and not self.tracker.store.deferred:
                    if self.once:
                        return
                    if not self._active_left():
                        tracker.deliver_pending(self.owner, skip=self.skip_outbox)
                        return
            self.wake.clear()
            timeout = max(0.0, next_claim - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)

    def deferred(self) -> None:
        """The store queued a write: the loop flushes it within ``GROUP_WINDOW``."""
        asyncio.get_running_loop().call_later(GROUP_WINDOW, self.wake.set)

    def close(self) -> None:
        """The run is over: what it wrote stays (an end not delivered yet is delivered by the
        next run), its leases and delivery claims are given up."""
        store = self.tracker.store
        store.on_defer = None
        with contextlib.suppress(TrackerError):
            store.flush()
        store.deferred.clear()
        store.take_results()
        learned = self.tracker._learned  # noqa: SLF001  # the run's own Tracker
        if learned is not None:
            learned.exchange(store)  # what this run learned, into the file's model
        with contextlib.suppress(TrackerError):
            store.release(self.owner, self.leases())
            store.unclaim_all(self.owner)

    def commit(self) -> None:
        """Flush the deferred writes, and act on their results: a job whose save found its lease
        gone is dropped; an end written is queued for delivery (``ended``)."""
        store = self.tracker.store
        store.flush()
        self.unsaved.clear()
        ends = 0
        for kind, ok, tag in store.take_results():
            if kind == "finish":
                if ok:
                    self.ended.append(tag)
                    ends += 1
            elif not ok:  # forgotten, or another run took it: nothing more from this one
                ref, gen = tag
                entry = self.held.get(ref)
                if entry is not None and entry.gen == gen:
                    self._drop(ref)
        learned = self.tracker._learned  # noqa: SLF001  # the run's own Tracker
        if ends and learned is not None and learned.ended(ends):
            learned.exchange(store)  # after the writes that ended them: every ``ends`` jobs

    def settle(self) -> None:
        """Commit the deferred writes, then deliver the ends they held: the callbacks of each,
        then one mark for those delivered. A callback that raises stops the run: the ends before
        it are marked delivered, the others stay undelivered (they come again)."""
        store = self.tracker.store
        self.commit()
        if not self.ended:
            return
        ended, self.ended = self.ended, []
        callbacks = self.tracker.callbacks
        delivered: builtins.list[str] = []
        if callbacks:
            try:
                for completion in ended:
                    for callback in callbacks:
                        callback(completion)
                    delivered.append(completion.key)
            except BaseException:
                store.delivered_many(delivered, time.time())
                store.unclaim(self.owner, [c.key for c in ended[len(delivered) :]])
                raise
            store.defer_delivered(delivered, time.time())  # written with the next writes
        for completion in ended:
            if self.collect:
                self.done.append(completion)
            if self.on_complete is not None:
                self.on_complete(completion)

    def _check(self, dispatcher: asyncio.Task[None]) -> None:
        """Raise what stopped the dispatcher or the heartbeat; drop what the run lost."""
        self.alive = time.monotonic()
        fleet = self.fleet
        if fleet.failure is not None:
            raise fleet.failure
        if self.failure is not None:
            raise self.failure
        if dispatcher.done():
            dispatcher.result()
            raise RuntimeError("internal error: the tracker's dispatcher ended early")
        while not fleet.updates.empty():  # the JobUpdate stream is not used here
            fleet.updates.get_nowait()
        self.collect_lost()

    async def fill(self, dispatcher: asyncio.Task[None], stop: asyncio.Event | None) -> bool:
        """Take the jobs that fall due, a batch at a time, until the window is full or no more
        is due (the dispatcher runs between two batches); True when any was taken."""
        taken = False
        for _ in range(self.tracker.window // self.batch + 2):  # bounded: a full window, and a batch or two more
            count = self.claim_batch()
            taken = taken or count > 0
            if count < self.batch:
                break
            await asyncio.sleep(FILL_PAUSE)  # the polls of what is held get going (a restart's first one)
            self._check(dispatcher)
            if stop is not None and stop.is_set():
                break
        return taken

    def claim_batch(self) -> int:
        """One claim: up to ``batch`` of the jobs no run holds that are due soonest (due within
        ``horizon``; with ``once``, due when the run started). When the window is full, a job
        this run holds and waits on (not due yet) is given back for each job of the database
        due before it, so the run always holds the ones due first. How many were taken."""
        tracker, store, fleet = self.tracker, self.tracker.store, self.fleet
        wall, now = time.time(), fleet.clock()
        due_by = self.started if self.once else wall + tracker.horizon
        lapsed = wall >= self.lapsed_at  # held jobs whose lease lapsed: looked for every refresh
        if lapsed:
            self.lapsed_at = wall + tracker.refresh
        room = tracker.window - len(self.held)
        evict: builtins.list[str] = []
        peeked = room < self.batch
        if not peeked:
            take = self.batch
        else:  # the window is (nearly) full: what is due, to give back held jobs due later
            dues = store.peek(self.batch, wall, due_by=due_by, skip=self.skip, lapsed=lapsed)
            if not dues or dues[0] > wall:
                self.calm_at = now  # nothing overdue waits in the database
            take = min(room, len(dues))
            if take < len(dues):
                for due, ref in self._waiting_latest(len(dues) - take):
                    if take >= len(dues) or dues[take] >= due:
                        break
                    evict.append(ref)
                    take += 1
            # what stays in the database for lack of room: due no sooner than this
            self.backlog_due = dues[take] if take < len(dues) else dues[-1] if len(dues) >= self.batch else math.inf
            if take <= 0:
                return 0
        with self.renewing:  # no renewal between the claim and the jobs held: it would miss them
            rows = store.claim(self.owner, take, wall, tracker.lease, due_by=due_by, skip=self.skip, lapsed=lapsed)
            if rows and not self.held:
                self.valid_until = wall + tracker.lease
            if not peeked and (not rows or _stored_due(rows[0]["next_due"], wall) > wall):
                self.calm_at = now
            if not peeked and len(rows) < take:  # every job due by ``due_by`` is held: no backlog
                self.backlog_due = math.inf
            live = None if fleet.hooks is None or not rows else fleet.hooks.live()  # asked once: they start together
            for row in rows:
                self.enlist(row, live)
        over = len(self.held) - tracker.window
        if over > 0:
            self._give_back(evict[:over])
        return len(rows)

    def _waiting_latest(self, count: int) -> builtins.list[tuple[float, str]]:
        """Up to ``count`` of the jobs held that wait for their next poll (not due yet, not in
        flight), each with when its row says it is due, the latest first."""
        now = self.fleet.clock()
        waiting = (  # ``Fleet.next_poll`` is not None, inline: this reads every job held
            (entry.due, ref)
            for ref, entry in self.held.items()
            if not (job := entry.job).ended and not job.inflight and job.due > now
        )
        return heapq.nlargest(count, waiting)

    def _give_back(self, refs: Iterable[str]) -> None:
        """Let go of held jobs that wait for their next poll: their rows hold their waiting
        state already (written after their last poll, or as they were claimed). Each is kept in
        ``parked`` (the oldest forgotten past ``window`` of them), so that claiming it again
        needs no decoding when nobody claimed it meanwhile (see ``enlist``)."""
        leases = []
        for ref in refs:
            entry = self._drop(ref, wake=False)
            if entry is not None:
                leases.append((ref, entry.gen))
                self._park(ref, entry)
        self.tracker.store.release(self.owner, leases)

    def _park(self, ref: str, entry: _Held) -> None:
        """Keep a job given back in ``parked`` (the oldest forgotten past ``window`` of them)."""
        parked = self.parked
        parked[ref] = entry
        if len(parked) > self.tracker.window:
            del parked[next(iter(parked))]

    def _active_left(self) -> bool:
        """True when an active job is left that this run did not skip as damaged."""
        rows = self.tracker.store.query("SELECT rowid FROM jobs WHERE status = 'active' LIMIT ?", (len(self.skip) + 1,))
        return any(r[0] not in self.skip for r in rows)

    def enlist(self, row: Mapping[str, Any], live: Hooks | None) -> None:
        """Wait on a claimed job, from where its saved state was (a damaged row: skipped, or
        its waiting started over); ``live``: the hooks enabled for the jobs of its claim
        (``Hooks.live()``, asked once for them, as ``watch_many`` asks for the jobs it starts).

        Its next poll comes when its saved state says. One that is overdue (it fell due while
        no run held it) is spread, as ``Waiter.resume`` says, over up to ``spread`` seconds (its
        own interval when shorter) counted from ``calm_at``, the last time the run saw nothing
        overdue: after a restart, the polls that fell due meanwhile come at about the pace they
        had, not as a burst; a backlog the run is still working through (the spread over) is
        polled at once, soonest due first, as the budgets allow. With ``once``, no spread.

        A job this run gave back (``parked``) whose row nobody claimed since (its ``key`` and
        ``rowid`` the same, its ``lease_gen`` one more than the one this run let go) holds what
        its waiter holds: that waiter goes on, nothing of the row is decoded again."""
        tracker, fleet = self.tracker, self.fleet
        text = row["ref"]
        parked = self.parked.pop(text, None) if isinstance(text, str) else None
        now, wall = fleet.clock(), time.time()
        if (
            parked is not None
            and parked.gen + 1 == row["lease_gen"]
            and parked.key == row["key"]
            and parked.rowid == row["rowid"]
        ):
            ref, names, waiter = parked.job.ref, parked.job.names, parked.job.waiter
            key, meta, side = parked.key, parked.meta, parked.side
        else:
            restored = self._restore(row, now, wall)
            if restored is None:
                return
            ref, names, waiter, key, meta, side = restored
        stored_due = _stored_due(row["next_due"], wall)
        if waiter.due is not None and waiter.due > now:  # not due yet: polled when due
            step = waiter.resume(now, spread=0.0)
            at = now + step.delay
        else:
            step = waiter.resume(now, spread=0.0 if self.once else tracker.spread)
            at = self.calm_at + step.delay
            if at <= now:  # no spread left: in due order (its true due, in the past, is its heap key)
                at = min(now, now - (wall - stored_due))
        host = fleet.host(ref, self.configs, tracker.host_concurrency, tracker.host_rate)
        old = self.held.get(text)
        if old is not None:  # claimed again by this run (its lease had lapsed, nobody took it)
            fleet.drop(old.job)
        job = fleet.add(ref, names, waiter, step, at, host, expiry=max(at, now), asked=True, live=live)
        with self.lock:
            self.held[text] = _Held(job, key, meta, row["lease_gen"], row["rowid"], side, stored_due)

    def _restore(
        self, row: Mapping[str, Any], now: float, wall: float
    ) -> tuple[JobRef, tuple[str, ...], Waiter, str, dict[str, Any], bool] | None:
        """A claimed row's job, decoded: its ref, names, waiter (from its saved state, or a fresh
        one when that cannot be read), key, meta and whether its last status is in
        ``statuses``; ``None`` for a row that cannot be polled (skipped)."""
        claimed = _claimed(row)
        if claimed is None:
            self._skip(row)
            return None
        ref, name, key, meta, added, deadline = claimed
        text = row["ref"]
        if self.configs is not None:
            try:
                self.configs.for_ref(ref)
            except DocstatusError:
                self.tracker.store.release(self.owner, [(text, row["lease_gen"])])
                raise
        side = _get(row, "side_last")
        state = status = None
        if row["wait"] is not None:
            try:
                state, status = read_saved(row["wait"], side if side is not None else _get(row, "last"))
            except ValueError as exc:
                logger.warning(
                    "tracked job %s: its saved waiting state cannot be read (%s); waiting starts over",
                    text,
                    _why(exc),
                )
        if state is None:
            state = WaitState(ref=name, started=added, deadline=deadline)
        else:
            state = attrs.evolve(state, deadline=deadline)
        waiter = Waiter.restore(state, self.policy, now, wall, draw=self.draw, last=status)
        return ref, (name,), waiter, key, meta, side is not None

    def _skip(self, row: Mapping[str, Any]) -> None:
        """A claimed row a run cannot poll: said once, left as it is, its lease given up."""
        tracker = self.tracker
        job_row = read_job(row)
        damage = damage_line(job_row, NEEDED) or "it cannot be read"
        self.skip.add(row["rowid"])
        tracker.skipped[job_row.ref] = damage
        logger.warning(
            "tracked job %s cannot be polled: its row is damaged (%s); skipped and left as it is "
            "(fix the row, or `docstatus track forget` the job)",
            printable(job_row.ref, 200),
            damage,
        )
        tracker.store.release_rows(self.owner, [row["rowid"]])

    def _drop(self, ref: str, *, wake: bool = True) -> _Held | None:
        with self.lock:
            entry = self.held.pop(ref, None)
        if entry is not None:
            self.fleet.drop(entry.job)
            if wake:
                self._room()
        return entry

    def _room(self) -> None:
        """A job left the window: claim (wake the loop) when a whole batch fits again, or none
        is held."""
        if not self.held or len(self.held) + self.batch <= self.tracker.window:
            self.claim_wanted = True
            self.wake.set()

    def on_step(self, job: FleetJob, step: Step) -> None:
        """After each of a held job's steps: persist it (and give it back when its next poll is
        beyond ``horizon``, or with ``once``), or end it (and deliver its end)."""
        self.alive = time.monotonic()
        ref = str(job.ref)
        entry = self.held.get(ref)
        if entry is None or entry.job is not job:
            self.fleet.drop(job)
            return
        store, waiter = self.tracker.store, job.waiter
        now, wall = self.fleet.clock(), time.time()
        secrets = self.secrets()
        data = waiter.state_dict(now, wall)  # its last status in its own column, written only when it changed
        wait = dumps(data, secrets)
        if step.action is Action.POLL:
            seen = "new" if waiter.last is None else waiter.last.state.value
            due = wall if data["due"] is None else data["due"]
            # The status as it came (a waiting job keeps a bounded copy in memory; the row holds it whole)
            last = None if step.changed is None else dumps(step.changed.to_dict(), secrets)
            give_back = self.once or due > wall + self.tracker.horizon
            # A backlog waits in the database, due before this job: while the window has no room
            # for a batch, a job whose next poll is further off than the next claim (``refresh``)
            # goes back to its row with this save (one statement), instead of being held until
            # that claim gives it back to make room (a release of its own). One due sooner stays
            # held, as before: it is polled before a claim would weigh it against the backlog.
            park = (
                not give_back
                and due > self.backlog_due
                and due > wall + self.tracker.refresh
                and len(self.held) + self.batch > self.tracker.window
            )
            give_back = give_back or park
            store.defer_save(
                (ref, entry.gen),
                self.owner,
                ref,
                entry.gen,
                state=seen,
                wait=wait,
                last=last,
                side=entry.side,
                next_due=due,
                polls=waiter.polls,
                now=wall,
                release=give_back,
                rowid=entry.rowid,
            )
            side = entry.side if last is None else len(last) > INLINE_LIMIT
            if give_back:
                self._drop(ref)  # back to its row (its lease let go when the write is flushed)
                if park:  # as its row will be once the save is flushed
                    self._park(ref, entry._replace(side=side, due=due))
            else:
                with self.lock:
                    self.held[ref] = entry._replace(side=side, due=due)
                self.unsaved.add(ref)
            self._flush_if(report=step.changed is not None)
            return
        completion = self._completion(job, step, entry, wall)
        outcome = dumps(completion.to_dict(), secrets)
        completion = Completion.from_dict(loads(outcome))
        with self.lock:  # not dropped from the dispatcher: it reports the end (on_change, its update)
            self.held.pop(ref, None)
        self._room()
        store.defer_finish(
            completion,
            self.owner,
            ref,
            entry.gen,
            entry.key,
            state=completion.state,
            wait=wait,
            outcome=outcome,
            polls=waiter.polls,
            now=wall,
            lease=self.tracker.lease if self.tracker.callbacks else None,
            side=entry.side,
            rowid=entry.rowid,
        )
        self._flush_if(report=True)  # its last update follows

    def _flush_if(self, *, report: bool) -> None:
        """Commit the deferred writes now when a status is about to be reported (``on_change``:
        committed before reported), or when the loop is late (a write waits no longer than
        ``GROUP_WINDOW``, nor more than ``GROUP_MAX`` of them)."""
        store = self.tracker.store
        since = store.deferred_since
        late = since is not None and time.monotonic() - since > GROUP_WINDOW
        if (self.report and report) or late or len(store.deferred) >= GROUP_MAX:
            self.commit()

    def _completion(self, job: FleetJob, step: Step, entry: _Held, wall: float) -> Completion:
        name = job.names[0]
        if step.action is Action.RETURN:
            status = step.status
            assert status is not None
            return Completion(
                key=entry.key,
                ref=str(job.ref),
                name=name,
                state=status.state.value,
                status=status,
                meta=entry.meta,
                finished=wall,
            )
        error = step.error
        assert error is not None
        cause = error.__cause__
        return Completion(
            key=entry.key,
            ref=str(job.ref),
            name=name,
            state=_error_state(error),
            status=job.waiter.last,
            error=type(error).__name__,
            cause=type(cause).__name__ if isinstance(cause, DocstatusError) else None,
            message=str(error),
            meta=entry.meta,
            finished=wall,
        )


class _Heartbeat:
    """Renews a run's leases every third of ``lease`` from a thread with its own connection,
    so a callback that blocks the event loop does not let them lapse (for up to
    ``STALL_LIMIT`` seconds without a sign of life from the loop)."""

    def __init__(self, session: _Session, store: Store, loop: asyncio.AbstractEventLoop) -> None:
        self.session = session
        self.store = store
        self.loop = loop
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="docstatus-tracker-heartbeat", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=self.store.busy_timeout + 5.0)
        if not self.thread.is_alive():
            self.store.close()

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the run is over
            self.loop.call_soon_threadsafe(self.session.wake.set)

    def _beat(self) -> None:
        session = self.session
        period = session.tracker.lease / 3
        try:
            while not self.stopping.wait(period):
                if time.monotonic() - session.alive > STALL_LIMIT:
                    continue  # the loop is stuck: its leases lapse, other runs may take the jobs
                session.renew(self.store)
                if session.lost:
                    self._wake()
        except BaseException as exc:  # a full disk, a locked file: the run stops with it
            session.failure = exc
            self._wake()
        finally:
            if self.stopping.is_set():
                self.store.close()
