"""Poll jobs on your Celery workers, with Redis: ``pip install 'docstatus[celery]'``.

::

    from celery import Celery
    import docstatus.celery

    app = Celery("proj", broker="redis://127.0.0.1:6379/0")
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    docstatus.celery.register(app, host_rate=10)     # or per provider: {"<provider>": 10, ...}

    @app.task
    def on_done(status: dict, key: str) -> None: ...        # the JobStatus as a dict (JobStatus.from_dict), the key

    key = docstatus.celery.track(ref, on_done=on_done.s(), deadline=3600)   # ref: "<provider>:<id>"

``register`` adds one task, ``docstatus.poll``, to *your* app (docstatus makes no app of its
own); start workers as usual (``celery -A proj worker``). Each message polls one job once, then
sends the next with the waiting core's delay as its countdown, carrying the job's ``WaitState``
(attempt, backoff, last status, hint and the absolute wall-clock deadline) — so any worker can
take the next poll, and the deadline holds across workers. On a final status your ``on_done``
signature is called with ``(status, key)`` (the JobStatus as a dict); when waiting ends without one (the deadline,
``ActionRequired``, ``JobNotFound``, ...) ``on_error`` gets ``(outcome, key)``, where
``outcome`` holds ``error`` (``type``, ``message``) and the last ``status`` (or ``None``).

**One budget per provider host, for every worker.** ``host_rate`` polls per second per
provider are counted in Redis by ``limits`` (a moving window), whichever worker polls. A 429 (or
a 5xx with ``Retry-After``) seen by any worker pauses that host for all of them and halves its
rate, which climbs back with each answer by the same rules as ``watch_many``'s (``_waiting/_aimd.py``;
the shared state is in ``_celery/_budget.py``).

**Where jobs end, learned by the fleet.** Each worker process polls by a duration model of its
own (in place of ``Durations.shared()``, the default ``WaitPolicy.durations``) and learns from
the jobs its steps end; the fleet shares one model in Redis (``docstatus:durations``). A worker
takes the fleet's model at its first step, so a new worker polls on the warm schedule at once;
after a job ends it adds what it learned (at most every 30 s, or every 32 jobs ended) and takes
the fleet's back, in a transaction retried when another worker wrote in between; a stopping
worker adds what is left. Each sample is added once, even when Redis goes away mid-exchange (the
samples stay on the worker, and nothing fails); a value in Redis that is not a model is replaced
with one log line. It holds kinds, counts and weights (about 4 kB a kind): no credential, no
provider text. A policy with a ``Durations`` of your own is used as given, and not shared;
``durations=None`` turns the model off (see ``_celery/_fleet.py``).

**Celery's traps, and what docstatus does about them.**

- *Countdowns and the visibility timeout.* The Redis broker keeps a message reserved by a
  worker (a countdown is held in the worker's memory) and redelivers it when the visibility
  timeout passes. No countdown is longer than ``max_countdown`` (default: a third of the
  app's ``visibility_timeout``, at most 300 s): a longer wait is a chain of shorter messages
  that poll only when the job is due.
- *Duplicate delivery.* Every step of a job's chain is claimed in Redis before it runs; a step
  delivered twice runs once, and a job is delivered under one outcome only (written once with
  ``SET NX`` under its key; a later run reads it back).
- *Worker loss.* The task is ``acks_late`` with ``reject_on_worker_lost``: a message whose
  worker died is redelivered, and its step is taken over (at once if the same message comes
  back, else after ``lease`` seconds).
- *Credentials.* Messages and Redis hold references, wait states, statuses and keys, never a
  token: each worker reads its own configuration (``DOCSTATUS_<PROVIDER>_TOKEN``, ...).
- *Delivery* is confirmed, and a callback that ran is not sent again. The worker that runs
  your callback (where ``register`` ran: import your app there) records in Redis that it ran,
  before the message is acknowledged, retrying while Redis restarts; a copy that arrives after
  it ran (Celery's own redelivery of a message whose acknowledgement a Redis restart lost), or
  while another copy is on its way, is dropped before it runs. A callback that has not run
  within ``delivery_grace`` of being sent or received (lost by the broker, or with its worker)
  is sent again, with the same key and the same outcome. On a worker where ``register`` did not
  run, the callback is confirmed by the ``docstatus.delivered`` task linked to it, at least
  once. Make the callback idempotent on the key all the same: a callback that fails after its
  own write (its store's answer lost) is run again, and so is one that a worker holds longer
  than the visibility timeout (Celery redelivers it). Its own failures are yours to retry
  (``autoretry_for``).
- *A worker paused past its lease* (SIGSTOP, a machine asleep, a long wait for the rate budget)
  checks its claim in Redis right before it polls and before it writes: a step another worker
  took over meanwhile is neither polled nor written by the first.
- *What Redis holds is read as untrusted*: a pending step, chain, outcome or rate budget that is
  not what docstatus writes is dropped (or, where nothing was sent yet, started over) with one
  log line naming its key; the sweep and the other jobs go on.
- Redis is the queue and the state: run it with persistence (``appendonly yes``) so a restart
  loses no job that ``track`` accepted. A clean restart (SIGTERM, ``SHUTDOWN``) writes
  everything; after a crash of Redis itself, what it wrote in the last second is lost with the
  default ``appendfsync everysec`` (``appendfsync always`` loses nothing acknowledged).
- *URLs*: ``redis://``, ``rediss://`` (TLS) and a Unix socket (``unix:///path/redis.sock?db=N``, or
  the broker's ``redis+socket:///path/redis.sock``); Sentinel and Cluster are refused at
  ``register``, as is any URL docstatus cannot use, with a message that never shows its password.
- *Supervise your workers* (systemd ``Restart=always``, Kubernetes, ``celery multi`` under
  systemd): a worker can exit for reasons of its own, and celery 5.7.0's exits at every Redis
  restart (the ``celery`` extra excludes it; ``register`` logs a warning if it finds it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

try:
    import celery as _celery_module  # type: ignore[import-not-found,import-untyped,unused-ignore]
    import limits as _limits_module  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: F401
    import redis as _redis_module  # type: ignore[import-not-found,import-untyped,unused-ignore]
except ImportError as exc:  # pragma: no cover - exercised in a venv without the extra
    raise ImportError(
        f"docstatus.celery needs the 'celery' extra ({exc.name} is missing): pip install 'docstatus[celery]'"
    ) from exc

import attrs

from docstatus._celery import _delivery, _url
from docstatus._celery._budget import PREFIX, SharedBudget
from docstatus._celery._store import describe, read_outcome, reason
from docstatus._celery._task import (
    CONFIRM_NAME,
    DEFAULT_VISIBILITY_TIMEOUT,
    MAX_COUNTDOWN,
    MESSAGE_VERSION,
    TASK_NAME,
    Message,
    Runtime,
    confirm,
    first_message,
    remember,
    run_step,
    sweep,
)
from docstatus._secrets import logger
from docstatus._waiting._core import WaitPolicy, WaitState

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from celery import Celery, Task  # type: ignore[import-not-found,import-untyped,unused-ignore]

    from docstatus._refs import JobRef

__all__ = [
    "MESSAGE_VERSION",
    "TASK_NAME",
    "Message",
    "Registration",
    "SharedBudget",
    "WaitState",
    "outcome",
    "register",
    "track",
]

_REGISTERED: dict[int, Registration] = {}


@attrs.define
class Registration:
    """docstatus's task on one Celery app (``register``'s result).

    Attributes:
        app: Your Celery app.
        task: The ``docstatus.poll`` task.
        runtime: The worker-side settings (Redis URL, policy, rates, countdown cap, lease).
    """

    app: Any
    task: Any
    runtime: Runtime

    def track(
        self,
        ref: str | JobRef,
        *,
        on_done: Any = None,
        on_error: Any = None,
        deadline: float | datetime | None = None,
        key: str | None = None,
    ) -> str:
        """``docstatus.celery.track`` on this app."""
        message = first_message(
            ref,
            policy=self.runtime.policy,
            deadline=deadline,
            key=key,
            on_done=None if on_done is None else dict(on_done),
            on_error=None if on_error is None else dict(on_error),
        )
        remember(self.runtime.redis, message, 0.0)  # first: a message the broker loses is sent again
        self.task.apply_async(args=(message.to_dict(),), retry=True)
        return message.key

    def outcome(self, key: str) -> dict[str, Any] | None:
        """``docstatus.celery.outcome`` on this app."""
        raw = self.runtime.redis.get(f"{PREFIX}outcome:{key}")
        if raw is None:
            return None
        try:
            return read_outcome(raw)
        except ValueError as exc:
            raise ValueError(
                f"the recorded outcome of {describe(key)} in Redis is damaged ({reason(exc)}): it is not what "
                "docstatus writes (another program may share the Redis database)"
            ) from None


def register(
    app: Celery,
    *,
    redis_url: str | None = None,
    host_rate: float | Mapping[str, float | None] | None = 10.0,
    policy: WaitPolicy | None = None,
    max_countdown: float | None = None,
    lease: float = 30.0,
    sweep_grace: float | None = None,
    delivery_grace: float | None = None,
) -> Registration:
    """Add the ``docstatus.poll`` task to your Celery ``app`` (call it where the app is made,
    so workers and callers both register it). Registering the same app again gives the same
    registration.

    Args:
        app: Your Celery app (its broker should be Redis for the visibility-timeout rules).
        redis_url: Where docstatus keeps budgets, step claims and outcomes (default: the app's
            broker URL, when it is Redis): ``redis://``, ``rediss://``, ``unix:///path?db=N`` or
            ``redis+socket:///path``. ``ValueError`` at once for a URL it cannot use.
        host_rate: Polls per second per provider host, shared by every worker: one number for
            every provider, or per provider name (``None``: no limit; 429s still pause).
        policy: The ``WaitPolicy`` (its ``timeout`` is the default deadline of ``track``). Its
            default ``durations`` (``Durations.shared()``) is replaced, in each worker process,
            by a model of the worker's own that the fleet shares in Redis (see above); a
            ``Durations`` of your own is used as given, and not shared; ``None``: no model.
        max_countdown: The longest countdown of one message (default: a third of the app's
            ``visibility_timeout``, at most 300 s). Must be below the visibility timeout.
        lease: Seconds one worker holds a job's step before another may take it over (longer
            than one poll takes).
        sweep_grace: A job's step that no worker claimed this many seconds after its time is
            sent again by a worker's sweep (default: ``max_countdown``): a message the broker
            lost cannot lose its job. Workers sweep every half grace (at most every 60 s).
        delivery_grace: Your callback, not confirmed as run this many seconds after it was
            sent or last received by a worker, is sent again (default: the visibility timeout,
            plus kombu's restore scan period ``unacked_restore_interval *
            unacked_restore_throttle``, plus ``max_countdown``, so that Celery's own
            redelivery of a message held by a lost worker comes first).
    """
    existing = _REGISTERED.get(id(app))
    if existing is not None and existing.app is app:
        return existing
    url = _redis_url(app, redis_url)
    options = app.conf.broker_transport_options or {}
    visibility = float(options.get("visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT))
    # kombu restores a lost worker's messages in a scan every interval * throttle seconds.
    restore = float(options.get("unacked_restore_interval", 10)) * float(options.get("unacked_restore_throttle", 10))
    cap = min(MAX_COUNTDOWN, visibility / 3) if max_countdown is None else float(max_countdown)
    if not 0 < cap < visibility:
        raise ValueError(
            f"max_countdown ({cap:g} s) must be > 0 and below the broker's visibility_timeout ({visibility:g} s), "
            "or a countdown held by a worker is delivered twice"
        )
    if isinstance(host_rate, int | float) or host_rate is None:
        rates: dict[str, float | None] = {}
        default = None if host_rate is None else float(host_rate)
    else:
        rates = {k: None if v is None else float(v) for k, v in host_rate.items()}
        default = None
    for name, rate in [*rates.items(), ("host_rate", default)]:
        if rate is not None and not rate > 0:
            raise ValueError(f"docstatus.celery.register: the rate of {name} must be > 0 or None, not {rate!r}")
    runtime = Runtime(
        redis_url=url,
        policy=policy if policy is not None else WaitPolicy(),
        rates=rates,
        default_rate=default,
        max_countdown=cap,
        lease=lease,
        delivery_grace=visibility + restore + cap if delivery_grace is None else float(delivery_grace),
    )
    if not runtime.delivery_grace > 0:
        raise ValueError(f"docstatus.celery.register: delivery_grace must be > 0, not {delivery_grace!r}")

    @app.task(  # type: ignore[untyped-decorator,misc,unused-ignore]  # celery is untyped
        name=TASK_NAME,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        acks_on_failure_or_timeout=False,
        ignore_result=True,
        serializer="json",
        shared=False,  # this app's task: Celery shares tasks with every app finalized later by default
    )
    def poll(self: Task, message: dict[str, Any]) -> str:
        return _run(self, runtime, message)

    @app.task(  # type: ignore[untyped-decorator,misc,unused-ignore]  # celery is untyped
        name=CONFIRM_NAME,
        acks_late=True,
        ignore_result=True,
        serializer="json",
        shared=False,  # this app's task: Celery shares tasks with every app finalized later by default
        autoretry_for=(_redis_module.exceptions.ConnectionError, _redis_module.exceptions.TimeoutError),
        retry_kwargs={"max_retries": 60, "countdown": 1.0},
    )
    def delivered(key: str) -> None:  # linked to your callback: it ran
        confirm(runtime, key)

    grace = cap if sweep_grace is None else float(sweep_grace)
    if not grace > 0:
        raise ValueError(f"docstatus.celery.register: sweep_grace must be > 0, not {sweep_grace!r}")
    app.steps["worker"].add(_sweeper(poll, runtime, grace))
    registration = Registration(app=app, task=poll, runtime=runtime)
    _REGISTERED[id(app)] = registration
    _delivery.connect(_runtime_of)
    _connect_flush()
    _warn_of_known_bad_celery()
    return registration


_flush_connected: list[bool] = []


def _connect_flush() -> None:
    """A worker process that stops adds what it learned of the jobs' durations to the fleet's
    model (Celery's ``worker_process_shutdown`` in a pool process, ``worker_shutdown`` in a
    worker without one); once per process."""
    if _flush_connected:
        return
    _flush_connected.append(True)
    from celery import signals  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: PLC0415

    signals.worker_process_shutdown.connect(_flush, weak=False)
    signals.worker_shutdown.connect(_flush, weak=False)


def _flush(**_: Any) -> None:
    for registration in list(_REGISTERED.values()):
        registration.runtime.share_durations(flush=True)


def _runtime_of(app: Any) -> Runtime | None:
    found = _REGISTERED.get(id(app))
    return found.runtime if found is not None and found.app is app else None


def _redis_url(app: Any, given: str | None) -> str:
    """The redis-py URL of ``given``, else of the app's broker (see ``_celery/_url.py``)."""
    broker = app.conf.broker_url
    url = given if given is not None else broker
    if not isinstance(url, str) or not url:
        raise ValueError(
            f"docstatus.celery.register needs a Redis URL: give redis_url=..., or use a Redis broker ({_url.SUPPORTED})"
        )
    try:
        url = _url.redis_url(url)
        _redis_module.ConnectionPool.from_url(url)  # redis-py's own checks (its query options), no connection
    except ValueError as exc:
        said = str(exc) if str(exc).startswith("docstatus.celery") else f"{_url.masked(url)} ({exc})"
        source = "redis_url" if given is not None else "the app's broker_url (give redis_url=... to use another)"
        raise ValueError(f"docstatus.celery.register: {source} is not a Redis URL it can use: {said}") from None
    return url


_KNOWN_BAD_CELERY: Final = {"5.7.0"}
_warned: list[bool] = []


def _warn_of_known_bad_celery() -> None:
    """Celery 5.7.0's worker exits at every Redis restart (see the module's docstring)."""
    version = str(getattr(_celery_module, "__version__", ""))
    if version in _KNOWN_BAD_CELERY and not _warned:
        _warned.append(True)
        logger.warning(
            "docstatus.celery: celery %s's worker exits (\"Unrecoverable error: AttributeError(... 'hostname')\") "
            "whenever the Redis broker restarts; install celery<5.7 (the docstatus[celery] extra excludes %s), "
            "or run every worker under a supervisor that starts it again",
            version,
            version,
        )


def _sweeper(task: Any, runtime: Runtime, grace: float) -> type:
    """A worker bootstep that sweeps for lost steps every half grace (see ``_task.sweep``), from a
    thread of its own: the worker's timer is cleared when the broker connection is lost, which
    is exactly when a sweep is needed."""
    import threading  # noqa: PLC0415

    from celery import bootsteps  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: PLC0415

    interval = min(60.0, max(0.5, grace / 2))

    def tick() -> None:
        try:
            sweep(task, runtime, grace)
        except Exception as exc:  # Redis away, say: the next tick tries again
            logger.warning(
                "docstatus.poll: a sweep for lost steps failed (%s: %s); the next one tries again",
                type(exc).__name__,
                reason(exc),
            )

    class DocstatusSweep(bootsteps.StartStopStep):  # type: ignore[misc,unused-ignore]  # celery is untyped
        def __init__(self, worker: Any, **kwargs: Any) -> None:
            super().__init__(worker, **kwargs)
            self.stopping = threading.Event()

        def start(self, worker: Any) -> None:  # noqa: ARG002  # celery's bootstep signature
            self.stopping.clear()
            threading.Thread(target=self.loop, name="docstatus-sweep", daemon=True).start()

        def loop(self) -> None:
            while not self.stopping.wait(interval):
                tick()

        def stop(self, worker: Any) -> None:  # noqa: ARG002  # celery's bootstep signature
            self.stopping.set()

    return DocstatusSweep


def _run(task: Any, runtime: Runtime, message: dict[str, Any]) -> str:
    from celery.exceptions import Reject  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: PLC0415

    from docstatus._celery._task import _Redeliver  # noqa: PLC0415

    try:
        return run_step(task, runtime, message)
    except _Redeliver as exc:
        raise Reject(str(exc), requeue=True) from None


def _registration(app: Celery | None) -> Registration:
    if app is None:
        from celery import current_app  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: PLC0415

        app = current_app._get_current_object()  # noqa: SLF001  # celery's proxy to the app
    found = _REGISTERED.get(id(app))
    if found is None or found.app is not app:
        raise RuntimeError(
            "docstatus.celery: call docstatus.celery.register(app, ...) on your Celery app first "
            "(where the app is made, so workers register it too)"
        )
    return found


def track(
    ref: str | JobRef,
    *,
    on_done: Any = None,
    on_error: Any = None,
    deadline: float | datetime | None = None,
    key: str | None = None,
    app: Celery | None = None,
) -> str:
    """Start polling ``ref`` on your workers; return its idempotency key.

    Args:
        ref: The job reference (``InvalidJobRef`` at once when it does not parse).
        on_done: A signature called as ``(status, key, *its own args)`` on a final status, ``status``
            the JobStatus as a dict (its JSON form: ``JobStatus.from_dict(status)``).
        on_error: A signature called as ``(outcome, key, ...)`` when waiting ends without a
            final status (``outcome["error"]`` says why; ``outcome["status"]``: the last one).
        deadline: Seconds from now, or an aware ``datetime`` (default: the policy's timeout).
        key: The idempotency key (default: a fresh one). Tracking again with the same key
            while it runs starts nothing new.
        app: The Celery app (default: the current app).
    """
    return _registration(app).track(ref, on_done=on_done, on_error=on_error, deadline=deadline, key=key)


def outcome(key: str, *, app: Celery | None = None) -> dict[str, Any] | None:
    """The recorded outcome of the tracking ``key`` (``key``, ``ref``, ``status``, ``error``,
    ``finished_at``), or ``None`` while it runs (kept 7 days)."""
    return _registration(app).outcome(key)
