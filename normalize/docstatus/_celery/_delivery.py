"""Your callbacks' deliveries, recorded by the worker that runs them (where ``register`` ran).

docstatus sends your callback with the job's key in a message header (``HEADER``). Three Celery
signal handlers, connected by ``register`` in every process that imports your app, use it:

- ``task_received`` (the worker's main process, as the message arrives from the broker): a copy
  of a callback that already ran for that key (Celery's own redelivery of a message whose
  acknowledgement Redis lost in a restart, say), or another copy of it while one is on its way
  (a publish retried across a Redis restart, a copy the sweep sent again), is dropped before it
  runs: discarded as a revoked task is (acknowledged, not run; docstatus sends every copy with a
  task id of its own, so only that copy is discarded). The first copy to arrive holds the
  callback for ``delivery_grace``, and its delivery due time moves to ``now + delivery_grace``: a
  message a worker holds (prefetched, or left by a worker lost with its connection) comes back
  from Celery after the visibility timeout, so the sweep sends nothing again before that.
- ``task_prerun``: the ``docstatus.delivered`` link is dropped from the request (the worker
  records the delivery itself, so nothing needs to go through the broker after the callback).
- ``task_postrun``: the callback ran (it succeeded, failed for good, or ignored itself; not a
  retry): the delivery is recorded in Redis at once, retrying for ``CONFIRM_PATIENCE`` seconds
  while Redis is away (a restart), before the message is acknowledged.

A worker where ``register`` did not run keeps the link: the ``docstatus.delivered`` task records
the delivery then (one more broker message). Each handler fails open: if Redis cannot be asked,
the callback runs (at least once beats never).
"""

from __future__ import annotations

import threading
import time
from importlib import import_module
from typing import TYPE_CHECKING, Any, Final

from docstatus._secrets import logger

from ._budget import PREFIX
from ._store import damaged, describe, reason
from ._task import CONFIRM_NAME, DELIVER_DUE, HEADER, _redis_errors, confirm

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._task import Runtime

#: How long the worker that ran a callback retries recording it while Redis is away (seconds).
CONFIRM_PATIENCE: Final = 60.0
#: The states after which a callback counts as run (not ``RETRY``: its retry runs it again).
_RAN: Final = frozenset({"SUCCESS", "FAILURE", "IGNORED"})

# KEYS: delivered mark, claim, deliver-due; ARGV: key, task id, due, hold (ms). 1: the callback
# for `key` ran already; 2: another copy (another task id) holds it; 0: this copy holds it now (for
# `hold` ms), and its delivery is due at `due` at the earliest. A claim without an expiry is not
# docstatus's (damaged): it is replaced.
_RECEIVED: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
local held = redis.call('GET', KEYS[2])
if held and held ~= ARGV[2] and redis.call('PTTL', KEYS[2]) > 0 then return 2 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
local due = redis.call('ZSCORE', KEYS[3], ARGV[1])
if due and (tonumber(due) or 0) < tonumber(ARGV[3]) then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1]) end
return 0
"""


_connected = threading.Lock()
_lookup: list[Callable[[Any], Runtime | None]] = []


def connect(lookup: Callable[[Any], Runtime | None]) -> None:
    """Connect the handlers (once per process); ``lookup(app)`` is the app's ``Runtime``, or
    ``None`` where ``register`` did not run on it."""
    with _connected:
        if _lookup:
            return
        _lookup.append(lookup)
        signals = import_module("celery.signals")
        signals.task_received.connect(_on_received, weak=False)
        signals.task_prerun.connect(_on_prerun, weak=False)
        signals.task_postrun.connect(_on_postrun, weak=False)


def _runtime(app: Any) -> Runtime | None:
    return _lookup[0](app) if _lookup and app is not None else None


def _key(headers: Any) -> str | None:
    key = headers.get(HEADER) if isinstance(headers, dict) else None
    return key if isinstance(key, str) and key else None


def received(runtime: Runtime, key: str, task_id: str) -> int:
    """The callback for ``key`` arrived at a worker as task ``task_id``: ``1`` if it ran already,
    ``2`` if another copy holds it (drop this one either way); ``0``: run it (this copy holds it
    for ``delivery_grace``, and its delivery is not due before then)."""
    r = runtime.redis
    due = repr(time.time() + runtime.delivery_grace)
    hold = max(1, int(runtime.delivery_grace * 1000))
    names = (f"{PREFIX}delivered:{key}", f"{PREFIX}callback:{key}", DELIVER_DUE)
    try:
        return int(r.eval(_RECEIVED, 3, *names, key, task_id, due, hold))
    except import_module("redis").exceptions.ResponseError as exc:
        if not damaged(exc):
            raise
        logger.error(  # noqa: TRY400  # no traceback: the reason is the message
            "docstatus: the claim on the callback for %s in Redis was damaged (%s); it is replaced",
            describe(key),
            reason(exc),
        )
        r.delete(names[1])
        return int(r.eval(_RECEIVED, 3, *names, key, task_id, due, hold))


def _on_received(request: Any = None, **_: Any) -> None:
    key = _key(getattr(request, "request_dict", None))
    runtime = _runtime(getattr(getattr(request, "task", None), "app", None)) if key is not None else None
    if key is None or runtime is None:
        return
    try:
        verdict = received(runtime, key, str(request.id))
    except _redis_errors() as exc:  # fail open: it runs
        logger.warning(
            "docstatus: could not check the callback for %s in Redis (%s); it runs", describe(key), type(exc).__name__
        )
        return
    if verdict:
        logger.warning(
            "docstatus: dropped a copy of the callback for %s (task %s): %s",
            describe(key),
            request.id,
            "it already ran" if verdict == 1 else "another copy of it is on its way",
        )
        # Discarded before it runs, and acknowledged, as Celery does with a revoked task.
        import_module("celery.worker.state").revoked.add(request.id)


def _task_key(task: Any) -> str | None:
    """The key in the running task's headers (Celery keeps custom headers in ``request.headers``,
    and as attributes of the request)."""
    request = getattr(task, "request", None)
    return _key(getattr(request, "headers", None)) or _key({HEADER: getattr(request, HEADER, None)})


def _ours(signature: Any, key: str) -> bool:
    return (
        isinstance(signature, dict)
        and signature.get("task") == CONFIRM_NAME
        and list(signature.get("args") or []) == [key]
    )


def _on_prerun(task: Any = None, **_: Any) -> None:
    key = _task_key(task)
    if key is None or _runtime(getattr(task, "app", None)) is None:
        return
    request = task.request
    for name in ("callbacks", "errbacks"):
        links = getattr(request, name, None)
        if links:
            setattr(request, name, [s for s in links if not _ours(s, key)] or None)


def _on_postrun(task: Any = None, state: Any = None, **_: Any) -> None:
    key = _task_key(task)
    runtime = _runtime(getattr(task, "app", None)) if key is not None else None
    if key is None or runtime is None or state not in _RAN:
        return
    record(runtime, key)


def record(runtime: Runtime, key: str, patience: float = CONFIRM_PATIENCE) -> bool:
    """Record that the callback for ``key`` ran, retrying while Redis is away (up to
    ``patience`` seconds); ``False`` (and a log line) if it could not."""
    end = time.monotonic() + patience
    while True:
        try:
            confirm(runtime, key)
        except _redis_errors() as exc:
            if time.monotonic() >= end:
                logger.error(  # noqa: TRY400  # the reason is the message
                    "docstatus: could not record that the callback for %s ran (Redis unreachable for %g s: %s); "
                    "it may be sent again",
                    describe(key),
                    patience,
                    type(exc).__name__,
                )
                return False
            time.sleep(0.5)
        else:
            return True
