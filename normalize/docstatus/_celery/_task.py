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
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
import uuid
from datetime import datetime
from importlib import import_module
from typing import TYPE_CHECKING, Any, Final

import attrs

from docstatus._exceptions import DocstatusError, ProviderError, ProviderServerError, RateLimited
from docstatus._waiting._core import Action, Step, Waiter, WaitPolicy, WaitState
from docstatus._waiting._many import FINAL_GRACE, _host_key
from docstatus._waiting._poll import Configs, fetch_poller, new_client, to_ref
from docstatus._waiting._single import abandoned, settle

from ._budget import PREFIX, SharedBudget

if TYPE_CHECKING:
    from collections.abc import Mapping

    from docstatus._refs import JobRef

logger: Final = logging.getLogger("docstatus")

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
#: Publishing a step retries this long when the broker is unreachable.
PUBLISH_RETRY: Final = {"max_retries": 20, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2.0}

# KEYS[1] the chain; ARGV: seq, holder, now (ms), lease (ms), ttl (s).
# Returns {0, 0} step already done (drop), {1, ms} held by another (retry in ms), {2, 0} claimed.
_CLAIM: Final = """
local k = KEYS[1]
local seq, holder, now, lease = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local cur = tonumber(redis.call('HGET', k, 'seq') or '-1')
if cur > seq then return {0, 0} end
if cur == seq then
  local who = redis.call('HGET', k, 'holder')
  local till = tonumber(redis.call('HGET', k, 'until') or '0')
  if who == '' then return {0, 0} end
  if who and who ~= holder and till > now then return {1, till - now} end
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


PENDING: Final = f"{PREFIX}pending"
DUE: Final = f"{PREFIX}due"
SWEEP_LOCK: Final = f"{PREFIX}sweep"


PENDING_SEQ: Final = f"{PREFIX}pending-seq"
DELIVER_DUE: Final = f"{PREFIX}deliver-due"
#: An unconfirmed callback is sent again after the delivery grace once its queue is empty, or
#: after this many graces whatever the queue holds.
BACKLOG_WAIT: Final = 4

# KEYS: pending, due, pending-seq; ARGV: key, seq, message, due. An older step never replaces a
# newer one (a step sent again while its successor is pending would hide the successor's loss).
_REMEMBER: Final = """
local cur = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '-1')
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


def sweep(task: Any, runtime: Runtime, grace: float, *, limit: int = 1000) -> int:
    """Send again every pending step that nobody claimed within ``grace`` seconds of its time
    (at most ``limit`` a sweep; one sweep at a time over all workers). Returns how many."""
    r = runtime.redis
    if not r.set(SWEEP_LOCK, "1", nx=True, px=max(1, int(grace * 500))):
        return 0  # another worker swept within the last half grace
    now = time.time()
    resent = 0
    for raw_key in r.zrangebyscore(DUE, "-inf", now - grace, start=0, num=limit):
        key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
        raw = r.hget(PENDING, key)
        if raw is None:
            r.zrem(DUE, key)
            continue
        message = _pending(r, key, raw)
        if message is None:
            continue
        chain = r.hgetall(f"{PREFIX}chain:{key}")
        seq = int(chain.get(b"seq", b"-1"))
        held = chain.get(b"holder", b"") != b"" and int(chain.get(b"until", b"0")) > now * 1000
        if seq > message.seq or (seq == message.seq and (held or chain.get(b"holder") == b"")):
            r.zadd(DUE, {key: now})  # running, or moved on: look again later
            continue
        _send(task, runtime, message, 0.0)  # never claimed (lost), or its holder died
        resent += 1
    if resent:
        logger.warning("docstatus.poll: sent %d step(s) again that no worker had claimed in time", resent)
    return resent + _sweep_deliveries(task, runtime, now, limit)


def _pending(redis: Any, key: str, raw: bytes) -> Message | None:
    """The pending message ``raw`` of ``key``; a malformed one is forgotten (``None``)."""
    try:
        return Message.from_dict(json.loads(raw))
    except ValueError:
        forget(redis, key)
        return None


def _sweep_deliveries(task: Any, runtime: Runtime, now: float, limit: int) -> int:
    """Send again every callback not confirmed by its due time (see the module's docstring)."""
    r = runtime.redis
    again = 0
    backlog: dict[str, int] = {}
    for raw_key, due in r.zrangebyscore(DELIVER_DUE, "-inf", now, start=0, num=limit, withscores=True):
        key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
        stored, raw = r.get(f"{PREFIX}outcome:{key}"), r.hget(PENDING, key)
        if r.exists(f"{PREFIX}delivered:{key}") or stored is None or raw is None:
            forget(r, key)  # confirmed meanwhile, or nothing left to send
            continue
        message = _pending(r, key, raw)
        if message is None:
            continue
        outcome = json.loads(stored)
        queue = _queue_of(task, _callback_of(message, outcome))
        if queue not in backlog:
            backlog[queue] = int(r.llen(queue))
        if backlog[queue] and now - due < BACKLOG_WAIT * runtime.delivery_grace:
            continue  # its queue has not drained: the callback may be waiting there, not lost
        r.zadd(DELIVER_DUE, {key: now + runtime.delivery_grace})
        _publish_callback(task, message, outcome)
        again += 1
    if again:
        logger.warning("docstatus.poll: sent %d callback(s) again that had not run in time", again)
    return again


def _queue_of(task: Any, callback: Any) -> str:
    """The broker queue (a Redis list) your callback is routed to."""
    options = dict(callback.get("options") or {}) if isinstance(callback, dict) else {}
    try:
        return str(task.app.amqp.router.route(options, callback["task"], (), {})["queue"].name)
    except Exception:  # an unusual router: count it as drained (at worst a duplicate, same outcome)
        return ""


def confirm(runtime: Runtime, key: str) -> None:
    """Your callback for ``key`` ran (the ``docstatus.delivered`` task, linked to it)."""
    r = runtime.redis
    r.set(f"{PREFIX}delivered:{key}", "1", ex=OUTCOME_TTL)
    forget(r, key)


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
        return cls(
            key=key,
            seq=seq,
            state=WaitState.from_dict(data.get("state") or {}),
            on_done=data.get("on_done"),
            on_error=data.get("on_error"),
        )


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
    """

    redis_url: str
    policy: WaitPolicy
    rates: Mapping[str, float | None]
    default_rate: float | None
    max_countdown: float
    lease: float
    delivery_grace: float = 3600.0
    _pid: int = -1
    _redis: Any = None
    _limiter: Any = None
    _client: Any = None
    _configs: Configs | None = None
    _budgets: dict[str, SharedBudget] = attrs.Factory(dict)
    _scripts: dict[str, Any] = attrs.Factory(dict)

    def _fresh(self) -> None:
        if self._pid == os.getpid():
            return
        redis = import_module("redis")  # the celery extra
        limits_storage = import_module("limits.storage")
        limits_strategies = import_module("limits.strategies")

        self._redis = redis.Redis.from_url(self.redis_url, socket_timeout=10, socket_connect_timeout=5)
        self._limiter = limits_strategies.MovingWindowRateLimiter(limits_storage.storage_from_string(self.redis_url))
        self._client = new_client()
        self._configs = Configs.of(None)  # each worker reads its own configuration (environment)
        self._budgets = {}
        self._scripts = {
            "claim": self._redis.register_script(_CLAIM),
            "done": self._redis.register_script(_DONE),
        }
        self._pid = os.getpid()

    @property
    def redis(self) -> Any:
        self._fresh()
        return self._redis

    def budget(self, job: JobRef) -> SharedBudget:
        self._fresh()
        assert self._configs is not None
        key = _host_key(job, self._configs)
        budget = self._budgets.get(key)
        if budget is None:
            rate = self.rates.get(job.provider, self.default_rate)
            budget = SharedBudget(redis=self._redis, limiter=self._limiter, key=key, rate=rate)
            self._budgets[key] = budget
        return budget

    def claim(self, message: Message, holder: str, ttl: float) -> tuple[int, float]:
        self._fresh()
        now_ms = int(time.time() * 1000)
        code, wait_ms = self._scripts["claim"](
            keys=[f"{PREFIX}chain:{message.key}"],
            args=[message.seq, holder, now_ms, int(self.lease * 1000), max(60, int(ttl))],
        )
        return int(code), int(wait_ms) / 1000.0

    def done(self, message: Message, holder: str) -> None:
        self._fresh()
        self._scripts["done"](keys=[f"{PREFIX}chain:{message.key}"], args=[message.seq, holder])

    def poll(self, job: JobRef, timeout: float) -> Any:
        self._fresh()
        assert self._configs is not None
        return fetch_poller(self._configs, self._client)(job, timeout)


def _error_dict(error: DocstatusError) -> dict[str, Any]:
    return {"type": type(error).__name__, "message": str(error)}


def run_step(task: Any, runtime: Runtime, raw: Any) -> str:
    """One execution of the poll task; returns what it did (for logs and tests)."""
    try:
        message = Message.from_dict(raw)
    except ValueError as exc:
        logger.error("docstatus.poll: dropped a malformed message: %s", exc)  # noqa: TRY400  # no traceback: the reason is the message
        return "malformed"
    started = time.monotonic()
    while True:
        try:
            return _step(task, runtime, message)
        except _redis_errors() as exc:
            if time.monotonic() - started > REDIS_OUTAGE:
                raise _Redeliver(f"Redis unreachable for {REDIS_OUTAGE:g} s: {type(exc).__name__}") from None
            logger.warning("docstatus.poll: Redis unreachable (%s); retrying", type(exc).__name__)
            time.sleep(1.0)


def _redis_errors() -> tuple[type[BaseException], ...]:
    redis = import_module("redis")
    kombu_exceptions = import_module("kombu.exceptions")

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, kombu_exceptions.OperationalError)


def _step(task: Any, runtime: Runtime, message: Message) -> str:
    holder = str(task.request.id or uuid.uuid4().hex)
    state = message.state
    wall = time.time()
    ttl = max(0.0, state.deadline - wall) + OUTCOME_TTL
    code, wait = runtime.claim(message, holder, ttl)
    if code == 0:
        return "duplicate"
    if code == 1:  # another worker holds this step: look again when its lease ends
        _send(task, runtime, message, min(wait + 0.1, runtime.max_countdown))
        return "held"
    stored = runtime.redis.get(f"{PREFIX}outcome:{message.key}")
    if stored is not None:  # an earlier run of this chain ended it: deliver that outcome
        _deliver(task, runtime, message, json.loads(stored))
        runtime.done(message, holder)
        return "delivered"
    policy = attrs.evolve(runtime.policy, timeout=max(1e-3, state.deadline - state.started))
    now = time.monotonic()
    waiter = Waiter.restore(state, policy, now, wall)
    if waiter.due is not None and waiter.due - now > 0.05:  # a capped countdown: not due yet
        _forward(task, runtime, message, state, holder, waiter.due - now)
        return "early"
    job = to_ref(state.ref)
    budget = runtime.budget(job)
    for _ in range(int(10 * IN_TASK_WAIT / 0.02) + 2):  # bounded: each wait is >= 0.02 s
        wall = time.time()
        wait, seq = budget.acquire(wall)
        if wait == 0:
            break
        left = waiter.deadline - time.monotonic()
        if wait > left + FINAL_GRACE:  # the budget cannot start it by its deadline (+ grace)
            if left <= 0:
                return _finish(task, runtime, message, holder, waiter.last, waiter.timeout_error())
            wait = left  # look again at the deadline, as watch_many does
        if wait > IN_TASK_WAIT:
            _forward(task, runtime, message, state, holder, wait)
            return "budget"
        time.sleep(wait)
    else:
        _forward(task, runtime, message, state, holder, IN_TASK_WAIT)
        return "budget"
    step = _poll_once(runtime, budget, waiter, job, seq, message)
    if step.warning is not None:
        logger.warning(step.warning)
    if step.action is Action.POLL:
        now, wall = time.monotonic(), time.time()
        _forward(task, runtime, message, waiter.snapshot(now, wall), holder, step.delay)
        return "polled"
    if step.action is Action.RETURN:
        return _finish(task, runtime, message, holder, step.status, None)
    assert step.error is not None
    return _finish(task, runtime, message, holder, waiter.last, step.error)


def _poll_once(runtime: Runtime, budget: SharedBudget, waiter: Waiter, job: JobRef, seq: int, message: Message) -> Step:
    timeout = waiter.request_timeout if waiter.request_timeout is not None else waiter.policy.request_timeout
    result: Any = None
    error: DocstatusError | None = None
    try:
        result = runtime.poll(job, timeout)
    except DocstatusError as exc:
        error = exc
    except TimeoutError:
        error = abandoned(job, timeout)
    except Exception as exc:  # docstatus's own HTTP poll: a bug, but it ends this job only
        logger.exception("docstatus.poll: polling %s failed unexpectedly", message.state.ref)
        error = DocstatusError(
            f"polling {job} failed with an unexpected {type(exc).__name__} (a bug in docstatus: please report it)"
        )
    wall = time.time()
    if error is None:
        budget.answered(seq)
    elif isinstance(error, RateLimited) or (isinstance(error, ProviderServerError) and error.retry_after is not None):
        budget.throttle(wall, error.retry_after, waiter.policy, seq)
    elif isinstance(error, ProviderError):
        budget.answered(seq)
    return settle(waiter, time.monotonic(), result, error)


def _send(task: Any, runtime: Runtime, message: Message, countdown: float) -> None:
    """Send ``message`` (kept as pending first: if the send or the broker loses it, a sweep sends it again)."""
    remember(runtime.redis, message, countdown)
    task.apply_async(args=(message.to_dict(),), countdown=max(0.0, countdown), retry=True, retry_policy=PUBLISH_RETRY)


def _forward(task: Any, runtime: Runtime, message: Message, state: WaitState, holder: str, delay: float) -> None:
    """Send the chain's next step (``delay`` seconds from now, capped), then mark this one done."""
    nxt = attrs.evolve(message, seq=message.seq + 1, state=state)
    _send(task, runtime, nxt, min(max(0.0, delay), runtime.max_countdown))
    runtime.done(message, holder)


def _finish(
    task: Any, runtime: Runtime, message: Message, holder: str, status: Any, error: DocstatusError | None
) -> str:
    """Write the job's outcome once (an earlier one wins), deliver it, mark the step done."""
    outcome = {
        "key": message.key,
        "ref": message.state.ref,
        "status": None if status is None else status.to_dict(),
        "error": None if error is None else _error_dict(error),
        "finished_at": time.time(),
    }
    r = runtime.redis
    name = f"{PREFIX}outcome:{message.key}"
    if not r.set(name, json.dumps(outcome), nx=True, ex=OUTCOME_TTL):
        stored = r.get(name)
        if stored is not None:
            outcome = json.loads(stored)
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
    yours.apply_async(args=args, retry=True, retry_policy=PUBLISH_RETRY)
