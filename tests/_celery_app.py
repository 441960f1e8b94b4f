"""The Celery app the docstatus.celery tests and bench run workers of (``celery -A _celery_app worker``).

Configured from the environment: ``DOCSTATUS_TEST_REDIS`` (broker and state, any URL form
``register`` takes), ``DOCSTATUS_TEST_RATES`` (JSON: polls per second per provider),
``DOCSTATUS_TEST_VISIBILITY`` and ``DOCSTATUS_TEST_LEASE`` (seconds), ``DOCSTATUS_TEST_STATE_URL``
(``register``'s ``redis_url``; default: the broker's). The callbacks record every
run that completed in Redis (``test:deliveries``, a hash of run -> record), so a test can count
deliveries per key; every run, completed or not, is also in ``test:attempts``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

import docstatus.celery
import redis
from celery import Celery
from celery.signals import task_success
from docstatus import WaitPolicy

URL = os.environ.get("DOCSTATUS_TEST_REDIS", "redis://127.0.0.1:6379/0")
VISIBILITY = float(os.environ.get("DOCSTATUS_TEST_VISIBILITY", "12"))

app = Celery("docstatus_test", broker=URL)
app.conf.update(
    broker_transport_options={
        "visibility_timeout": VISIBILITY,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    },
    broker_connection_retry_on_startup=True,
    task_serializer="json",
    accept_content=["json"],
    worker_prefetch_multiplier=8,
    worker_hijack_root_logger=False,
    task_ignore_result=True,
)

POLICY = WaitPolicy(initial_delay=0.5, max_delay=2.0, min_delay=0.2, request_timeout=5.0)
tracking = docstatus.celery.register(
    app,
    host_rate=json.loads(os.environ.get("DOCSTATUS_TEST_RATES", "{}")) or 200.0,
    policy=POLICY,
    lease=float(os.environ.get("DOCSTATUS_TEST_LEASE", "30")),
    redis_url=os.environ.get("DOCSTATUS_TEST_STATE_URL") or None,  # default: the broker's URL
)

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client  # noqa: PLW0603  # one client per worker process
    if _client is None:
        _client = redis.Redis.from_url(tracking.runtime.redis_url)  # the broker URL, in redis-py's form
    return _client


#: A callback that writes to a store (here Redis) retries while the store is down, as a user's
#: own callback should (with acks_late, a failed task is acknowledged and its delivery gone).
_CALLBACK = {
    "acks_late": True,
    "ignore_result": True,
    "autoretry_for": (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError),
    "retry_kwargs": {"max_retries": 120, "countdown": 0.5},
}


def _record(task: Any, key: str, kind: str, state: str) -> dict[str, Any]:
    """What one run of a callback saw; the run also writes to the store (``test:attempts``)."""
    request = task.request
    record = {
        "key": key,
        "kind": kind,
        "state": state,
        "at": time.time(),
        "id": request.id,
        "retries": request.retries,
        "host": request.hostname,
        "redelivered": bool((request.delivery_info or {}).get("redelivered")),
        "run": uuid.uuid4().hex,
    }
    _redis().rpush("test:attempts", json.dumps(record))
    return record


@app.task(name="test.done", bind=True, **_CALLBACK)
def done(self: Any, status: dict, key: str) -> dict[str, Any]:
    return _record(self, key, "done", status["provider_state"])


@app.task(name="test.error", bind=True, **_CALLBACK)
def error(self: Any, outcome: dict, key: str) -> dict[str, Any]:
    return _record(self, key, "error", outcome["error"]["type"])


@task_success.connect
def _delivered(sender: Any = None, result: Any = None, **_: Any) -> None:
    """Every run of a callback that completed (``test:deliveries``, one entry per run, written
    once even if the write is retried): a run whose store write succeeded but which then failed
    (its reply lost as Redis went away) is not a delivery, and is rightly sent again."""
    if getattr(sender, "name", None) not in ("test.done", "test.error") or not isinstance(result, dict):
        return
    end = time.monotonic() + 60
    while True:
        try:
            _redis().hsetnx("test:deliveries", result["run"], json.dumps(result))
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            if time.monotonic() > end:
                raise
            time.sleep(0.5)
        else:
            return
