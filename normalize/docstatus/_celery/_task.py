"""The Celery task that polls one job, and the Redis bookkeeping that makes it safe to run
on many workers (see ``docstatus.celery`` for the user-facing rules).

One job is one *chain* of messages: each message polls once (or waits for the budget, or for
its time) and sends the next, carrying the job's ``WaitState``. Step ``seq`` of a chain is
claimed in Redis before it runs (``docstatus:chain:<key>``: the step reached, who holds it and
until when), so a message delivered twice, or sent twice by a worker that died between sending
the next step and marking its own done, runs once; a step whose holder died is taken over once
its lease ends (at once when it is the same message, redelivered after a worker loss).

The outcome is written once (``SET NX`` of ``docstatus:outcome:<key>``): whatever runs later
reads it back, so a job is never delivered as a different outcome.

A chain's latest step is also kept in Redis until its job ends (``docstatus:pending``: key ->
message; ``docstatus:due``: key -> the wall time by which that step should have run). A worker
sweeps now and then (``sweep``): a step not claimed by its time plus a grace is sent again, so a
message the broker lost (one a worker had taken off the queue when Redis went away, say) cannot
lose its job; a copy that was not lost is dropped at its claim.

Your callback is confirmed, not assumed: it is sent linked to ``docstatus.delivered`` (on
success and on error), which marks the job delivered and forgets it. Until then the job waits
in ``docstatus:deliver-due``; a callback not confirmed within the delivery grace (default: the
visibility timeout plus the countdown cap, after Celery's own redelivery of a message a lost
worker held) is sent again by the sweep, with the same key and outcome, once the queue it went
to is empty (it may still be waiting there, behind a backlog) or after ``BACKLOG_WAIT`` graces. A callback message the
broker lost (taken off the queue just as Redis went away, say) cannot lose its job either.
Where ``register`` ran (the worker that runs your callback, usually), the confirmation does not
go through the broker at all: the callback message carries the key in a header, and the worker
records it in Redis itself once the callback has run (``docstatus.celery._delivery``).

*Fencing.* A step's holder checks, in Redis, that it still holds the step right before it polls
and before it writes what the poll found (and holds it on for the poll's own timeout): a worker
paused past its lease (SIGSTOP, a laptop asleep, a long wait for the rate budget) finds the step
taken over when it wakes, and then polls nothing and writes nothing.

*Stored values are untrusted.* Pending messages, outcomes and chains are read through
``_store``: an entry that is not what docstatus writes is dropped (or, where nothing was sent
yet, started over) with one log line naming its key; the sweep goes on with the others.
"""

from __future__ import annotations

import copy
import json
import os
import time
import uuid
from datetime import datetime
from importlib import import_module
from typing import TYPE_CHECKING, Any, Final

import attrs

from docstatus._secrets import logger
from docstatus._waiting._attempt import Attempt, JobTrace, error_outcome, host_key, host_of
from docstatus._waiting._core import Action, Step, Waiter, WaitPolicy, WaitState
from docstatus._waiting._durations import Durations
from docstatus._waiting._hooks import current as current_hooks
from docstatus._waiting._many import FINAL_GRACE
from docstatus._waiting._poll import Configs, fetch_poller, new_client, to_ref

from ._budget import PREFIX, SharedBudget
from ._fleet import SHARE_ENDS, SHARE_EVERY, Fleet
from ._store import Chain, damaged, describe, read_chain, read_json, read_outcome, reason, text
from ._url import masked

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from docstatus._exceptions import DocstatusError
    from docstatus._refs import JobRef

#: The version of the task's message form.
MESSAGE_VERSION: Final = 1
#: The task's name on your app.
TASK_NAME: Final = "docstatus.poll"
#: The task your callbacks are linked to: it confirms a delivery.
CONFIRM_NAME: Final = "docstatus.delivered"
#: Redis's default visibility timeout (kombu), used when the app's transport options give none.
DEFAULT_VISIBILITY_TIMEOUT: Final = 3600.0
#: The longest countdown of one message, whatever the visibility timeout.
MAX_COUNTDOWN: Final = 300.0
#: A wait for the rate budget up to this many seconds is slept in the task; a longer one is a
#: new message with that countdown.
IN_TASK_WAIT: Final = 1.0
#: How long outcomes, delivery marks and chains are kept in Redis after a job ends (seconds).
OUTCOME_TTL: Final = 7 * 24 * 3600
#: How long a task waits for Redis to come back before it gives the message back to the broker.
REDIS_OUTAGE: Final = 30.0
#: A poll task waits for the rate budget in itself this long at most, in all; then it sends the
#: step again as a message (no in-task wait comes near the lease).
IN_TASK_TOTAL: Final = 5.0
#: A holder holds its step on for its poll's timeout plus this margin (seconds) before it polls.
POLL_MARGIN: Final = 5.0
#: The header of your callback's message that names the job's key (see ``_delivery``).
HEADER: Final = "docstatus_key"
#: Publishing a step retries this long when the broker is unreachable.
PUBLISH_RETRY: Final = {"max_retries": 20, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2.0}

# KEYS[1] the chain; ARGV: seq, holder, now (ms), lease (ms), ttl (s).
# Returns {0, 0} step already done (drop), {1, ms} held by another (retry in ms), {2, 0} claimed,
# {3, 0} the chain's hash is damaged (its seq or until is not a number).
_CLAIM: Final = """
local k = KEYS[1]
local seq, holder, now, lease = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local cur = tonumber(redis.call('HGET', k, 'seq') or '-1')
local till = tonumber(redis.call('HGET', k, 'until') or '0')
if cur == nil or till == nil then return {3, 0} end
if cur > seq then return {0, 0} end
if cur == seq then
  local who = redis.call('HGET', k, 'holder')
  if who == '' then return {0, 0} end
  -- the same message (its task id, before the '|') redelivered after its worker was lost takes
  -- the step over at once; the new run's own holder then fences the old one out (_HOLDS)
  if who and string.match(who, '^[^|]*') ~= string.match(holder, '^[^|]*') and till > now then
    return {1, till - now}
  end
end
redis.call('HSET', k, 'seq', ARGV[1], 'holder', holder, 'until', tostring(now + lease))
redis.call('EXPIRE', k, tonumber(ARGV[5]))
return {2, 0}
"""

# KEYS[1] the chain; ARGV: seq, holder. Step `seq` is done (its successor, if any, was sent).
_DONE: Final = """
local k = KEYS[1]
local cur = tonumber(redis.call('HGET', k, 'seq') or '-1')
if cur == tonumber(ARGV[1]) and redis.call('HGET', k, 'holder') == ARGV[2] then
  redis.call('HSET', k, 'holder', '', 'until', '0')
end
return 1
"""


# KEYS[1] the chain; ARGV: seq, holder, now (ms), hold (ms). 1: `holder` still holds step `seq`
# (and now holds it for `hold` ms at least), 0: it does not (taken over, or done).
_HOLDS: Final = """
local k = KEYS[1]
if tonumber(redis.call('HGET', k, 'seq') or '-1') ~= tonumber(ARGV[1]) then return 0 end
if redis.call('HGET', k, 'holder') ~= ARGV[2] then return 0 end
local till = tonumber(redis.call('HGET', k, 'until') or '0') or 0
local want = tonumber(ARGV[3]) + tonumber(ARGV[4])
if want > till then redis.call('HSET', k, 'until', tostring(want)) end
return 1
"""


PENDING: Final = f"{PREFIX}pending"
DUE: Final = f"{PREFIX}due"
SWEEP_LOCK: Final = f"{PREFIX}sweep"


PENDING_SEQ: Final = f"{PREFIX}pending-seq"
DELIVER_DUE: Final = f"{PREFIX}deliver-due"
#: An unconfirmed callback is sent again after the delivery grace once its queue is empty, or
#: after this many graces whatever the queue holds.
BACKLOG_WAIT: Final = 4

# KEYS: pending, due, pending-seq; ARGV: key, seq, message, due. An older step never replaces a
# newer one (a step sent again while its successor is pending would hide the successor's loss);
# a pending seq that is not a number (damaged) is replaced.
_REMEMBER: Final = """
local cur = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '-1') or -1
if tonumber(ARGV[2]) < cur then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1
"""


def remember(redis: Any, message: Message, countdown: float) -> None:
    """Keep ``message`` as its chain's latest step, due ``countdown`` seconds from now (unless a
    later step of the chain is pending already)."""
    due = time.time() + max(0.0, countdown)
    redis.eval(
        _REMEMBER, 3, PENDING, DUE, PENDING_SEQ, message.key, message.seq, json.dumps(message.to_dict()), repr(due)
    )


def forget(redis: Any, key: str) -> None:
    """The job ended and its outcome went out: nothing of it is pending any more."""
    pipe = redis.pipeline(transaction=True)
    pipe.hdel(PENDING, key)
    pipe.hdel(PENDING_SEQ, key)
    pipe.zrem(DUE, key)
    pipe.zrem(DELIVER_DUE, key)
    pipe.execute()


# KEYS: pending, due, pending-seq, deliver-due; ARGV: key, seq. Forget the job's pending step if it
# is step `seq` or an older one (a later step stays: it is another message's to run).
_FORGET_STEP: Final = """
local cur = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '-1')
if cur ~= nil and cur > tonumber(ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
"""


# KEYS[1] the sweep lock; ARGV: this sweep's token, lock (ms). 1: the lock is this sweep's (held
# on for `lock` ms; taken again if it ran out meanwhile), 0: another sweep holds it now.
_SWEEPING: Final = """
local who = redis.call('GET', KEYS[1])
if who and who ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


def sweep(task: Any, runtime: Runtime, grace: float, *, limit: int = 1000) -> int:
    """Send again every pending step that nobody claimed within ``grace`` seconds of its time
    (at most ``limit`` a sweep; one sweep at a time over all workers). Returns how many.

    Each entry is looked at on its own: one that is damaged is dropped (or its chain started
    over) with a log line naming its key, one that fails otherwise is logged and looked at again
    later, and the sweep goes on. Before each entry the sweep checks that it still holds the
    lock (fencing, as a step's holder does): one whose worker was paused past its lock while
    another sweep began stops."""
    r = runtime.redis
    lock = max(1, int(grace * 500))
    token = uuid.uuid4().hex
    if not r.set(SWEEP_LOCK, token, nx=True, px=lock):
        return 0  # another worker swept within the last half grace
    now = time.time()

    def sweeping() -> bool:
        return bool(r.eval(_SWEEPING, 1, SWEEP_LOCK, token, lock))

    resent = 0
    for raw_key in r.zrangebyscore(DUE, "-inf", now - grace, start=0, num=limit):
        if not sweeping():
            break
        key = text(raw_key)
        try:
            resent += _sweep_step(task, runtime, key, now)
        except _redis_errors():
            raise  # Redis away: the next sweep tries again
        except Exception:
            logger.exception(
                "docstatus.poll: the sweep could not look at the step of %s; it looks again later", describe(key)
            )
            r.zadd(DUE, {key: now})
    if resent:
        logger.warning("docstatus.poll: sent %d step(s) again that no worker had claimed in time", resent)
    return resent + _sweep_deliveries(task, runtime, now, limit, sweeping=sweeping)


def _sweep_step(task: Any, runtime: Runtime, key: str, now: float) -> int:
    r = runtime.redis
    raw = r.hget(PENDING, key)
    if raw is None:
        r.zrem(DUE, key)
        return 0
    message = _pending(r, key, raw)
    if message is None:
        return 0
    chain = _chain(r, key)
    if chain is not None and (
        chain.seq > message.seq or (chain.seq == message.seq and (chain.held(now * 1000) or chain.holder == ""))
    ):
        r.zadd(DUE, {key: now})  # running, or moved on: look again later
        return 0
    _send(task, runtime, message, 0.0)  # never claimed (lost), or its holder died
    return 1


def _chain(redis: Any, key: str) -> Chain | None:
    """The chain of ``key`` (``None``: no step claimed yet). A damaged one is deleted, so that
    its pending step starts it over."""
    name = f"{PREFIX}chain:{key}"
    try:
        return read_chain(redis.hgetall(name))
    except ValueError as exc:
        why = reason(exc)
    except _response_error() as exc:
        if not damaged(exc):
            raise
        why = reason(exc)
    logger.error(
        "docstatus.poll: the chain of %s in Redis was damaged (%s); it starts over at its pending step",
        describe(key),
        why,
    )
    redis.delete(name)
    return None


def _pending(redis: Any, key: str, raw: bytes) -> Message | None:
    """The pending message ``raw`` of ``key``; one that is not a docstatus.poll message (wrong
    types, another version, not JSON) is forgotten with a log line naming its key (``None``)."""
    try:
        return Message.from_dict(read_json(raw))
    except ValueError as exc:
        logger.error(  # noqa: TRY400  # no traceback: the reason is the message
            "docstatus.poll: dropped the pending step of %s: it is not a docstatus.poll message (%s)",
            describe(key),
            reason(exc),
        )
        forget(redis, key)
        return None


def _sweep_deliveries(
    task: Any, runtime: Runtime, now: float, limit: int, *, sweeping: Callable[[], bool] = lambda: True
) -> int:
    """Send again every callback not confirmed by its due time (see the module's docstring)."""
    r = runtime.redis
    again = 0
    backlog: dict[str, int] = {}
    for raw_key, due in r.zrangebyscore(DELIVER_DUE, "-inf", now, start=0, num=limit, withscores=True):
        if not sweeping():
            break
        key = text(raw_key)
        try:
            again += _sweep_delivery(task, runtime, key, float(due), now, backlog)
        except _redis_errors():
            raise
        except Exception:
            logger.exception(
                "docstatus.poll: the sweep could not look at the callback of %s; it looks again later", describe(key)
            )
            r.zadd(DELIVER_DUE, {key: now + runtime.delivery_grace})
    if again:
        logger.warning("docstatus.poll: sent %d callback(s) again that had not run in time", again)
    return again


def _sweep_delivery(task: Any, runtime: Runtime, key: str, due: float, now: float, backlog: dict[str, int]) -> int:
    r = runtime.redis
    stored, raw = r.get(f"{PREFIX}outcome:{key}"), r.hget(PENDING, key)
    if r.exists(f"{PREFIX}delivered:{key}") or stored is None or raw is None:
        forget(r, key)  # confirmed meanwhile, or nothing left to send
        return 0
    message = _pending(r, key, raw)
    if message is None:
        return 0
    try:
        outcome = read_outcome(stored)
    except ValueError as exc:
        logger.error(  # noqa: TRY400  # no traceback: the reason is the message
            "docstatus.poll: the recorded outcome of %s in Redis is damaged (%s); its callback, sent before "
            "with the outcome it had then, is not sent again",
            describe(key),
            reason(exc),
        )
        forget(r, key)
        return 0
    callback = _callback_of(message, outcome)
    if callback is None:  # nothing to send (a pending step and an outcome that do not match)
        forget(r, key)
        return 0
    queue = _queue_of(task, callback)
    if queue not in backlog:
        backlog[queue] = int(r.llen(queue)) if queue else 0
    if backlog[queue] and now - due < BACKLOG_WAIT * runtime.delivery_grace:
        return 0  # its queue has not drained: the callback may be waiting there, not lost
    r.zadd(DELIVER_DUE, {key: now + runtime.delivery_grace})
    _publish_callback(task, message, outcome)
    return 1


def _queue_of(task: Any, callback: Any) -> str:
    """The broker queue (a Redis list) your callback is routed to."""
    options = dict(callback.get("options") or {}) if isinstance(callback, dict) else {}
    try:
        return str(task.app.amqp.router.route(options, callback["task"], (), {})["queue"].name)
    except Exception:  # an unusual router: count it as drained (at worst a duplicate, same outcome)
        return ""


def confirm(runtime: Runtime, key: str) -> None:
    """Your callback for ``key`` ran (recorded by the worker that ran it, or by the
    ``docstatus.delivered`` task linked to it where ``register`` did not run)."""
    r = runtime.redis
    r.set(f"{PREFIX}delivered:{key}", "1", ex=OUTCOME_TTL)
    forget(r, key)


def forget_step(redis: Any, key: str, seq: int) -> None:
    """Forget the job's pending step if it is step ``seq`` or an older one."""
    redis.eval(_FORGET_STEP, 4, PENDING, DUE, PENDING_SEQ, DELIVER_DUE, key, seq)


class _Redeliver(Exception):  # not an error: the message goes back to the broker
    """Redis stayed unreachable: give the message back (it is redelivered, then deduplicated)."""


@attrs.frozen(kw_only=True)
class Message:
    """One step of a job's chain, as carried in a Celery message (JSON-safe, no credential).

    Attributes:
        key: The idempotency key of this tracking (given to your callbacks).
        seq: The step's number in the chain.
        state: The job's ``WaitState`` (its deadline is absolute, on the wall clock).
        on_done: Your signature for a final status (a dict, as Celery serializes one), or ``None``.
        on_error: Your signature for an end without a final status, or ``None``.
    """

    key: str
    seq: int
    state: WaitState
    on_done: Mapping[str, Any] | None = None
    on_error: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": MESSAGE_VERSION,
            "key": self.key,
            "seq": self.seq,
            "state": self.state.to_dict(),
            "on_done": None if self.on_done is None else dict(self.on_done),
            "on_error": None if self.on_error is None else dict(self.on_error),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Message:
        """``ValueError`` for another version or a malformed message."""
        if not isinstance(data, dict) or data.get("v") != MESSAGE_VERSION:
            raise ValueError(f"not a docstatus.poll message of version {MESSAGE_VERSION}")
        key, seq = data.get("key"), data.get("seq")
        if not isinstance(key, str) or not key or isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise ValueError("a docstatus.poll message needs a key (string) and a seq (whole number)")
        for name in ("on_done", "on_error"):
            if data.get(name) is not None and not isinstance(data[name], dict):
                raise ValueError(f"a docstatus.poll message's {name} must be a signature or null")
        try:  # untrusted (a message, or a step kept in Redis): any failure to read it is a ValueError
            state = WaitState.from_dict(data.get("state") or {})
            to_ref(state.ref)
        except ValueError:
            raise
        except Exception as exc:  # a value of the wrong type can raise anything in there
            raise ValueError(f"a docstatus.poll message's state is malformed ({type(exc).__name__}: {exc})") from None
        return cls(key=key, seq=seq, state=state, on_done=data.get("on_done"), on_error=data.get("on_error"))


def deadline_of(deadline: float | datetime | None, now: float, default: float) -> float:
    """An absolute wall-clock deadline: ``deadline`` seconds from ``now`` (a number), at
    ``deadline`` (an aware ``datetime``), or ``default`` seconds from now (``None``)."""
    if deadline is None:
        return now + default
    if isinstance(deadline, datetime):
        if deadline.tzinfo is None:
            raise ValueError("track(deadline=...): give an aware datetime (with a tzinfo), or seconds from now")
        return deadline.timestamp()
    if isinstance(deadline, bool) or not isinstance(deadline, int | float) or not deadline > 0:
        raise ValueError(f"track(deadline=...) must be seconds > 0 or an aware datetime, not {deadline!r}")
    return now + float(deadline)


def first_message(
    ref: str | JobRef,
    *,
    policy: WaitPolicy,
    deadline: float | datetime | None,
    key: str | None,
    on_done: Mapping[str, Any] | None,
    on_error: Mapping[str, Any] | None,
) -> Message:
    """The first message of a job's chain (the ref is checked here: ``InvalidJobRef``)."""
    job = to_ref(ref)
    now = time.time()
    end = deadline_of(deadline, now, policy.timeout)
    if end <= now:
        raise ValueError("track(deadline=...) is in the past")
    waiter = Waiter.start(str(job), attrs.evolve(policy, timeout=end - now), now)
    return Message(
        key=key if key is not None else f"{job}@{uuid.uuid4().hex}",
        seq=0,
        state=waiter.snapshot(now, now),
        on_done=on_done,
        on_error=on_error,
    )


@attrs.define
class Runtime:
    """What one worker process keeps between tasks (made after the fork, per process).

    Attributes:
        redis_url: Where docstatus keeps its state (a Redis URL).
        policy: The ``WaitPolicy`` (its timeout is replaced by each message's deadline).
        rates: Polls per second per provider (``None``: no limit), shared by every worker.
        max_countdown: The longest countdown of a message (below the visibility timeout).
        lease: Seconds a step is held by the worker running it before another may take it over.
        delivery_grace: Seconds after which a callback not yet confirmed is sent again.
        share_every: Seconds between two exchanges of a worker's duration model with the
            fleet's at most (see ``_fleet``)...
        share_ends: ...unless this many jobs ended on the worker since its last one.
    """

    redis_url: str = attrs.field(repr=masked)
    policy: WaitPolicy
    rates: Mapping[str, float | None]
    default_rate: float | None
    max_countdown: float
    lease: float
    delivery_grace: float = 3600.0
    share_every: float = SHARE_EVERY
    share_ends: int = SHARE_ENDS
    _pid: int = attrs.field(default=-1, repr=False)
    _fleet: Fleet | None = attrs.field(default=None, repr=False)
    _redis: Any = attrs.field(default=None, repr=False)
    _limiter: Any = attrs.field(default=None, repr=False)
    _client: Any = attrs.field(default=None, repr=False)
    _configs: Configs | None = attrs.field(default=None, repr=False)
    _budgets: dict[str, SharedBudget] = attrs.field(factory=dict, repr=False)
    _scripts: dict[str, Any] = attrs.field(factory=dict, repr=False)

    def _fresh(self) -> None:
        """Redis (and the rate limiter, on the same connection pool) for this process."""
        if self._pid == os.getpid():
            return
        redis = import_module("redis")  # the celery extra
        limits_storage = import_module("limits.storage")
        limits_strategies = import_module("limits.strategies")

        self._redis = redis.Redis.from_url(self.redis_url, socket_timeout=10, socket_connect_timeout=5)
        # limits on redis-py's pool: every URL form redis-py takes (a Unix socket too) works for both.
        storage = limits_storage.RedisStorage("redis://", connection_pool=self._redis.connection_pool)
        self._limiter = limits_strategies.MovingWindowRateLimiter(storage)
        self._client = None
        self._configs = None
        self._budgets = {}
        # The worker's duration model, shared with the fleet's: in place of the process's
        # shared one only (a model of the caller's own, or None, is used as given).
        shared = self.policy.durations is Durations.shared()
        self._fleet = Fleet(every=self.share_every, ends=self.share_ends) if shared else None
        self._scripts = {
            "claim": self._redis.register_script(_CLAIM),
            "done": self._redis.register_script(_DONE),
            "holds": self._redis.register_script(_HOLDS),
        }
        self._pid = os.getpid()

    @property
    def redis(self) -> Any:
        self._fresh()
        return self._redis

    @property
    def durations(self) -> Durations | None:
        """The duration model the steps of this process poll by and learn from: the worker's
        own, shared with the fleet's, where the policy has the process's shared one (the
        default); else the policy's."""
        self._fresh()
        return self._fleet.local if self._fleet is not None else self.policy.durations

    def ended(self) -> None:
        """A step of this process ended a job (its duration is in ``durations``)."""
        if self._fleet is not None and self._pid == os.getpid():
            self._fleet.ended()

    def share_durations(self, *, joining: bool = False, flush: bool = False) -> None:
        """Exchange the worker's duration model with the fleet's in Redis when one is due
        (``joining``: only the first, before the first poll; ``flush``: now, if anything learned
        here is not in the fleet's yet). Never raises: Redis away, the samples stay here."""
        self._fresh()
        fleet = self._fleet
        if fleet is None:
            return
        now = time.monotonic()
        if not (fleet.unsent() if flush else fleet.due(now, joining=joining)):
            return
        try:
            fleet.share(self._redis, now, last=flush)
        except Exception as exc:  # sharing never fails a step
            logger.warning(  # no traceback: the reason is the message
                "docstatus.poll: could not exchange the jobs' durations with Redis (%s: %s); this worker keeps "
                "what it learned and tries again in %g s",
                type(exc).__name__,
                reason(exc),
                fleet.every,
            )

    def _poller(self) -> Configs:
        self._fresh()
        if self._configs is None:
            self._client = new_client()
            self._configs = Configs.of(None)  # each worker reads its own configuration (environment)
        return self._configs

    def budget(self, job: JobRef) -> SharedBudget:
        key = host_key(job, self._poller())
        budget = self._budgets.get(key)
        if budget is None:
            rate = self.rates.get(job.provider, self.default_rate)
            budget = SharedBudget(redis=self._redis, limiter=self._limiter, key=key, rate=rate)
            self._budgets[key] = budget
        return budget

    def claim(self, message: Message, holder: str, ttl: float) -> tuple[int, float]:
        """Claim step ``message.seq`` for ``holder``: ``(2, 0)`` claimed, ``(1, s)`` held by
        another for ``s`` more seconds, ``(0, 0)`` done already (drop it). A damaged chain is
        started over at this step, with a log line."""
        self._fresh()
        name = f"{PREFIX}chain:{message.key}"
        for _ in range(2):
            now_ms = int(time.time() * 1000)
            try:
                code, wait_ms = self._scripts["claim"](
                    keys=[name], args=[message.seq, holder, now_ms, int(self.lease * 1000), max(60, int(ttl))]
                )
            except _response_error() as exc:
                if not damaged(exc):
                    raise
                code, wait_ms, why = 3, 0, reason(exc)
            else:
                why = "its seq or until is not a number"
            if int(code) != 3:
                return int(code), int(wait_ms) / 1000.0
            logger.error(
                "docstatus.poll: the chain of %s in Redis was damaged (%s); it starts over at step %d",
                describe(message.key),
                why,
                message.seq,
            )
            self._redis.delete(name)
        return 0, 0.0  # damaged again at once: drop this copy (the sweep sends the pending step again)

    def holds(self, message: Message, holder: str, hold: float) -> bool:
        """``holder`` still holds step ``message.seq`` (the fencing check right before a poll,
        and before writing what it found); if so it now holds it ``hold`` seconds at least."""
        self._fresh()
        now_ms = int(time.time() * 1000)
        return bool(
            self._scripts["holds"](
                keys=[f"{PREFIX}chain:{message.key}"], args=[message.seq, holder, now_ms, int(hold * 1000)]
            )
        )

    def done(self, message: Message, holder: str) -> None:
        self._fresh()
        self._scripts["done"](keys=[f"{PREFIX}chain:{message.key}"], args=[message.seq, holder])

    def poll(self, job: JobRef, timeout: float) -> Any:
        return fetch_poller(self._poller(), self._client)(job, timeout)

    def url(self, job: JobRef) -> str:
        """The status URL of ``job`` (no credential), for hooks."""
        return self._poller().url(job)


def _error_dict(error: DocstatusError) -> dict[str, Any]:
    return {"type": type(error).__name__, "message": str(error)}


def run_step(task: Any, runtime: Runtime, raw: Any) -> str:
    """One execution of the poll task; returns what it did (for logs and tests)."""
    try:
        message = Message.from_dict(raw)
    except ValueError as exc:
        logger.error("docstatus.poll: dropped a malformed message: %s", reason(exc))  # noqa: TRY400  # no traceback: the reason is the message
        return "malformed"
    started = time.monotonic()
    while True:
        try:
            done = _step(task, runtime, message)
        except _redis_errors() as exc:
            if time.monotonic() - started > REDIS_OUTAGE:
                raise _Redeliver(f"Redis unreachable for {REDIS_OUTAGE:g} s: {type(exc).__name__}") from None
            logger.warning("docstatus.poll: Redis unreachable (%s); retrying", type(exc).__name__)
            time.sleep(1.0)
        else:
            runtime.share_durations()  # after the step's own work: it never delays or fails it
            return done


def _redis_errors() -> tuple[type[BaseException], ...]:
    redis = import_module("redis")
    kombu_exceptions = import_module("kombu.exceptions")

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, kombu_exceptions.OperationalError)


def _response_error() -> type[BaseException]:
    return import_module("redis").exceptions.ResponseError  # type: ignore[no-any-return]


#: A stored outcome was damaged and the job's callback had been sent with the one it had: the
#: job is forgotten (``_stored_outcome``).
_GONE: Final = "gone"


def _step(task: Any, runtime: Runtime, message: Message) -> str:
    # This run of the message: its task id (a redelivered copy has the same one, and may take the
    # step over at once) and a nonce of its own, so the fencing check tells the two runs apart.
    holder = f"{task.request.id or uuid.uuid4().hex}|{uuid.uuid4().hex[:12]}"
    state = message.state
    wall = time.time()
    ttl = max(0.0, state.deadline - wall) + OUTCOME_TTL
    code, wait = runtime.claim(message, holder, ttl)
    if code == 0:
        return "duplicate"
    if code == 1:  # another worker holds this step: look again when its lease ends
        _send(task, runtime, message, min(wait + 0.1, runtime.max_countdown))
        return "held"
    stored = _stored_outcome(runtime, message.key)
    if stored == _GONE:
        runtime.done(message, holder)
        return "damaged"
    if isinstance(stored, dict):  # an earlier run of this chain ended it: deliver that outcome
        _deliver(task, runtime, message, stored)
        runtime.done(message, holder)
        return "delivered"
    runtime.share_durations(joining=True)  # a worker's first step: the fleet's model, before it polls
    try:
        policy = attrs.evolve(
            runtime.policy, timeout=max(1e-3, state.deadline - state.started), durations=runtime.durations
        )
        # Both clocks read at one moment: the wall clock read before the claim (its Redis round
        # trips, a pause) would move the job's start and deadline later at every step.
        now, wall = time.monotonic(), time.time()
        waiter = Waiter.restore(state, policy, now, wall)
        job = to_ref(state.ref)
    except Exception as exc:  # a state that passed from_dict but cannot be resumed
        logger.error(  # noqa: TRY400  # no traceback: the reason is the message
            "docstatus.poll: dropped step %d of %s: its wait state cannot be resumed (%s: %s)",
            message.seq,
            describe(message.key),
            type(exc).__name__,
            reason(exc),
        )
        forget_step(runtime.redis, message.key, message.seq)
        runtime.done(message, holder)
        return "malformed"
    if waiter.due is not None and waiter.due - now > 0.05:  # a capped countdown: not due yet
        return "early" if _forward(task, runtime, message, state, holder, waiter.due - now) else "superseded"
    budget = runtime.budget(job)
    waiting_since = time.monotonic()
    for _ in range(1000):  # bounded in time too: IN_TASK_TOTAL seconds in all
        wall = time.time()
        wait, epoch = budget.acquire(wall)
        if wait == 0:
            break
        left = waiter.deadline - time.monotonic()
        if wait > left + FINAL_GRACE:  # the budget cannot start it by its deadline (+ grace)
            if left <= 0:
                return _finish(task, runtime, message, holder, waiter.last, _timed_out(waiter, job, budget, state))
            wait = left  # look again at the deadline, as watch_many does
        if wait > IN_TASK_WAIT or time.monotonic() - waiting_since + wait > IN_TASK_TOTAL:
            return "budget" if _forward(task, runtime, message, state, holder, wait) else "superseded"
        time.sleep(max(0.01, wait))
    else:
        return "budget" if _forward(task, runtime, message, state, holder, IN_TASK_WAIT) else "superseded"
    timeout = waiter.request_timeout if waiter.request_timeout is not None else waiter.policy.request_timeout
    # Fencing: the step is still this worker's right before it polls (a pause past the lease, in
    # the wait above or anywhere before, may have let another worker take it over), and stays
    # this worker's while the poll runs.
    if not runtime.holds(message, holder, max(runtime.lease, timeout + POLL_MARGIN)):
        return _superseded(message)
    step = _poll_once(runtime, budget, waiter, job, epoch, message, timeout)
    if step.warning is not None:
        logger.warning(step.warning)
    if step.action is Action.POLL:
        now, wall = time.monotonic(), time.time()
        snapshot = waiter.snapshot(now, wall)
        return "polled" if _forward(task, runtime, message, snapshot, holder, step.delay) else "superseded"
    if step.action is Action.RETURN:
        runtime.ended()
        return _finish(task, runtime, message, holder, step.status, None)
    assert step.error is not None
    return _finish(task, runtime, message, holder, waiter.last, step.error)


def _superseded(message: Message) -> str:
    logger.warning(
        "docstatus.poll: step %d of %s was taken over by another worker (this one was paused past its lease); "
        "this one polls nothing and writes nothing",
        message.seq,
        describe(message.key),
    )
    return "superseded"


def _stored_outcome(runtime: Runtime, key: str) -> dict[str, Any] | str | None:
    """The job's recorded outcome, or ``None``. A damaged one (not what docstatus writes) is
    deleted and the job started over (``None``) when nothing was sent yet; once its callback was
    sent with the outcome it had, the job is forgotten instead (``_GONE``): it is never sent
    again with another outcome. Either way, one log line names the key."""
    r = runtime.redis
    name = f"{PREFIX}outcome:{key}"
    raw = r.get(name)
    if raw is None:
        return None
    try:
        return read_outcome(raw)
    except ValueError as exc:
        why = reason(exc)
    if r.exists(f"{PREFIX}sent:{key}", f"{PREFIX}delivered:{key}"):
        logger.error(
            "docstatus.poll: the recorded outcome of %s in Redis is damaged (%s); its callback was sent before "
            "with the outcome it had then, so the job is not polled or sent again",
            describe(key),
            why,
        )
        forget(r, key)
        return _GONE
    logger.error(
        "docstatus.poll: the recorded outcome of %s in Redis is damaged (%s); the job is polled again",
        describe(key),
        why,
    )
    r.delete(name)
    return None


def _trace(job: JobRef, budget: SharedBudget, state: WaitState) -> JobTrace | None:
    """What the hooks get of this step's job: its start is not reported here (it was, if
    anywhere, by the step that began it), its end is, from when its waiting started."""
    return JobTrace.resumed(current_hooks(), job, host_of(budget.key), started=state.started)


def _timed_out(waiter: Waiter, job: JobRef, budget: SharedBudget, state: WaitState) -> DocstatusError:
    """The job's deadline passed while its host's budget held its poll back: its end, told to the hooks."""
    error = waiter.timeout_error()
    trace = _trace(job, budget, state)
    if trace is not None:
        trace.end(error_outcome(error))
    return error


def _poll_once(
    runtime: Runtime, budget: SharedBudget, waiter: Waiter, job: JobRef, epoch: int, message: Message, timeout: float
) -> Step:
    attempt = Attempt(
        job=job,
        waiter=waiter,
        timeout=timeout,
        trace=_trace(job, budget, message.state),
        budget=budget,
        epoch=epoch,
        host=host_of(budget.key),
        url=runtime.url,
    )
    result, error = attempt.call(runtime.poll, own=True, abandon=True)
    return attempt.conclude(result, error, time.monotonic(), budget_now=time.time())  # the shared budget: wall clock


def _send(task: Any, runtime: Runtime, message: Message, countdown: float) -> None:
    """Send ``message`` (kept as pending first: if the send or the broker loses it, a sweep sends it again)."""
    remember(runtime.redis, message, countdown)
    task.apply_async(args=(message.to_dict(),), countdown=max(0.0, countdown), retry=True, retry_policy=PUBLISH_RETRY)


def _forward(task: Any, runtime: Runtime, message: Message, state: WaitState, holder: str, delay: float) -> bool:
    """Send the chain's next step (``delay`` seconds from now, capped), then mark this one done;
    nothing (``False``) if the step is no longer this worker's."""
    if not runtime.holds(message, holder, runtime.lease):
        _superseded(message)
        return False
    nxt = attrs.evolve(message, seq=message.seq + 1, state=state)
    _send(task, runtime, nxt, min(max(0.0, delay), runtime.max_countdown))
    runtime.done(message, holder)
    return True


def _finish(
    task: Any, runtime: Runtime, message: Message, holder: str, status: Any, error: DocstatusError | None
) -> str:
    """Write the job's outcome once (an earlier one wins), deliver it, mark the step done;
    nothing if the step is no longer this worker's."""
    if not runtime.holds(message, holder, runtime.lease):
        return _superseded(message)
    outcome: dict[str, Any] = {
        "key": message.key,
        "ref": message.state.ref,
        "status": None if status is None else status.to_dict(),
        "error": None if error is None else _error_dict(error),
        "finished_at": time.time(),
    }
    r = runtime.redis
    name = f"{PREFIX}outcome:{message.key}"
    for _ in range(2):  # a damaged earlier outcome is deleted (when nothing was sent), then ours goes in
        if r.set(name, json.dumps(outcome), nx=True, ex=OUTCOME_TTL):
            break
        stored = _stored_outcome(runtime, message.key)
        if stored == _GONE:
            runtime.done(message, holder)
            return "damaged"
        if isinstance(stored, dict):
            outcome = stored
            break
    _deliver(task, runtime, message, outcome)
    runtime.done(message, holder)
    return "finished"


def _callback_of(message: Message, outcome: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return message.on_done if outcome["error"] is None else message.on_error


def _deliver(task: Any, runtime: Runtime, message: Message, outcome: Mapping[str, Any]) -> None:
    """Send the outcome to your signature once; the sweep sends it again if it is not confirmed
    within the delivery grace (a copy lost by the broker, or a worker lost before sending)."""
    r = runtime.redis
    key = message.key
    if r.exists(f"{PREFIX}delivered:{key}"):
        forget(r, key)
        return
    if _callback_of(message, outcome) is None:
        if outcome["error"] is not None:
            logger.warning(
                "docstatus.poll: waiting on %s ended without a final status (%s) and no on_error was given",
                message.state.ref,
                outcome["error"]["type"],
            )
        confirm(runtime, key)
        return
    pipe = r.pipeline(transaction=True)
    pipe.zrem(DUE, key)  # no step is due any more: the delivery is
    pipe.hset(PENDING, key, json.dumps(message.to_dict()))  # what the sweep sends again
    pipe.zadd(DELIVER_DUE, {key: time.time() + runtime.delivery_grace}, nx=True)
    pipe.set(f"{PREFIX}sent:{key}", "1", nx=True, ex=OUTCOME_TTL)
    if not pipe.execute()[3]:
        return  # sent by an earlier run of this step: the sweep sends it again if it never ran
    _publish_callback(task, message, outcome)


def _publish_callback(task: Any, message: Message, outcome: Mapping[str, Any]) -> None:
    signature = import_module("celery").signature
    callback = _callback_of(message, outcome)
    assert callback is not None
    args = (outcome["status"], message.key) if outcome["error"] is None else (dict(outcome), message.key)
    confirmed = signature(CONFIRM_NAME, args=(message.key,), immutable=True, app=task.app)
    yours = signature(copy.deepcopy(dict(callback)), app=task.app)
    yours.link(confirmed)  # added to your own links, if your signature has any
    yours.link_error(confirmed)
    # The key in a header: a worker where register ran records the delivery itself (no broker
    # message), drops the link above, and drops a copy of a callback that already ran.
    headers = {**dict(yours.options.get("headers") or {}), HEADER: message.key}
    # Retried here, each try with a task id of its own: a try that reached Redis just as it went
    # away is a copy that the worker receiving it can tell from the next try's (see _delivery).
    interval, tries = float(PUBLISH_RETRY["interval_start"]), int(PUBLISH_RETRY["max_retries"]) + 1
    for attempt in range(tries):
        try:
            yours.apply_async(args=args, headers=headers, task_id=str(uuid.uuid4()), retry=False)
        except _redis_errors():
            if attempt == tries - 1:
                raise
            time.sleep(interval)
            interval = min(float(PUBLISH_RETRY["interval_max"]), interval + float(PUBLISH_RETRY["interval_step"]))
        else:
            return
