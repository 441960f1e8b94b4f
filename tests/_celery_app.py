"""The Celery app the docstatus.celery tests and bench run workers of (``celery -A _celery_app worker``).

Configured from the environment: ``DOCSTATUS_TEST_REDIS`` (broker and state), and
``DOCSTATUS_TEST_RATES`` (JSON: polls per second per provider). The callbacks record every
delivery in Redis (``test:deliveries``), so a test can count them per key.
"""

from __future__ import annotations

import json
import os
import time

import docstatus.celery
import redis
from celery import Celery
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
)

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client  # noqa: PLW0603  # one client per worker process
    if _client is None:
        _client = redis.Redis.from_url(URL)
    return _client


#: A callback that writes to a store (here Redis) retries while the store is down, as a user's
#: own callback should (with acks_late, a failed task is acknowledged and its delivery gone).
_CALLBACK = {
    "acks_late": True,
    "ignore_result": True,
    "autoretry_for": (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError),
    "retry_kwargs": {"max_retries": 120, "countdown": 0.5},
}


@app.task(name="test.done", **_CALLBACK)
def done(status: dict, key: str) -> None:
    record = {"key": key, "kind": "done", "state": status["provider_state"], "at": time.time()}
    _redis().rpush("test:deliveries", json.dumps(record))


@app.task(name="test.error", **_CALLBACK)
def error(outcome: dict, key: str) -> None:
    record = {"key": key, "kind": "error", "state": outcome["error"]["type"], "at": time.time()}
    _redis().rpush("test:deliveries", json.dumps(record))
