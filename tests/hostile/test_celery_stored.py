"""docstatus.celery reads what Redis holds as untrusted, with a real redis-server, a real Celery
worker (subprocess, prefork) and the simulator, all on 127.0.0.1.

Redis is shared: another program, an operator's ``redis-cli`` or a damaged append-only file can
leave anything under docstatus's keys. One damaged entry — a pending step whose saved
``WaitState`` has fields of the wrong types, one that is not JSON, a chain, an outcome or a
host's rate budget that is not what docstatus writes — is dropped or started over with one log
line naming its key, and never stops a sweep or a poll: every other job is delivered.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("celery")
sim_module = pytest.importorskip("docstatus.simulator")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _celery_support import Worker, deliveries, load_app, redis_binary, redis_server, wait_for, worker_env  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

if redis_binary() is None:
    if os.environ.get("CI"):
        pytest.fail("redis-server is not on PATH under CI (.ci/run installs it)", pytrace=False)
    pytest.skip("redis-server is not on PATH (apt-get install redis-server)", allow_module_level=True)

RATES = {"neurolinker": 200.0}


@pytest.fixture
def app_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield lambda url: load_app(monkeypatch, url, RATES)
    sys.modules.pop("_celery_app", None)


def _queued_keys(r: Any) -> dict[bytes, str]:
    """The poll messages in the broker's queue: raw message -> its job's key."""
    found = {}
    for raw in r.lrange("celery", 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == "docstatus.poll":
            args = json.loads(base64.b64decode(message["body"]))[0]
            found[raw] = args[0]["key"]
    return found


def _damaged_steps(template: dict[str, Any]) -> dict[str, bytes]:
    """Pending entries that are not docstatus.poll messages, by key: wrong types in the saved
    WaitState (which WaitState.from_dict met with a TypeError, an AttributeError or an
    OverflowError, not a ValueError), not JSON, JSON of another form, nested too deep."""
    state = template["state"]

    def step(key: str, **fields: Any) -> bytes:
        return json.dumps({**template, "key": key, "state": {**state, **fields}}).encode()

    not_a_status = {
        "provider": "neurolinker",
        "job_id": "x",
        "state": "running",
        "provider_state": "x",
        "error": "boom",
    }
    return {
        "damaged:error-type-is-a-list": step(
            "damaged:error-type-is-a-list", last_error={"type": ["X"], "message": "m"}
        ),
        "damaged:last-status-error-is-text": step("damaged:last-status-error-is-text", last=not_a_status),
        "damaged:started-too-large": step("damaged:started-too-large", started=10**400),
        "damaged:not-json": b"\xff{not json",
        "damaged:a-list": b"[1, 2, 3]",
        "damaged:deep": b"[" * 100_000 + b"]" * 100_000,
    }


def test_damaged_entries_in_redis_are_dropped_or_started_over_and_every_other_job_is_delivered(
    tmp_path: Path, app_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis  # noqa: PLC0415
    from docstatus._waiting._attempt import host_key as _host_key  # noqa: PLC0415
    from docstatus._waiting._poll import Configs, to_ref  # noqa: PLC0415

    with sim_module.Simulator() as sim, redis_server(tmp_path) as server:
        app = app_module(server.url)
        r = redis.Redis.from_url(server.url)
        refs = [sim.create_job("neurolinker", "happy_path", step=0.3) for _ in range(8)]
        keys = {app.tracking.track(ref, on_done=app.done.s(), deadline=120): ref for ref in refs}
        order = list(keys)
        # The broker loses four of the eight first steps (taken off the queue as Redis went away,
        # say): only the sweep can send them again, after the damaged entries below.
        lost = set(order[:4])
        for raw, key in _queued_keys(r).items():
            if key in lost:
                r.lrem("celery", 1, raw)
        assert not lost & set(_queued_keys(r).values())
        template = json.loads(r.hget("docstatus:pending", order[0]))
        damaged = _damaged_steps(template)
        for key, raw in damaged.items():
            r.hset("docstatus:pending", key, raw)
            r.zadd("docstatus:due", {key: 1.0})  # due long ago: the sweep meets them first
        # A chain whose step is not a number, an outcome that is not JSON (nothing was sent for
        # it yet: the job is polled again), and the provider host's budget with a pause that is
        # not a number (every poll of that host reads it).
        r.hset(f"docstatus:chain:{order[4]}", mapping={"seq": "abc", "holder": "", "until": "soon"})
        r.set(f"docstatus:outcome:{order[5]}", b"{not json")
        # A pending step number that is not a number, and a claim on a callback that is not
        # docstatus's (no expiry): the next step is kept, the callback runs.
        r.hset("docstatus:pending-seq", order[6], "x")
        r.set(f"docstatus:callback:{order[7]}", "not-a-copy-of-it")
        for name, value in sim.env().items():
            monkeypatch.setenv(name, value)
        host = _host_key(to_ref(refs[0]), Configs.of(None))
        r.hset(f"docstatus:host:{host}", mapping={"pause_until": "soon", "current": "[]"})

        worker = Worker("s0", worker_env(sim, server.url, json.dumps(RATES)), tmp_path / "s0.log")
        try:
            wait_for(r, set(keys), 60)
        finally:
            worker.stop()
        log = (tmp_path / "s0.log").read_text(errors="replace")
        got = collections.Counter(d["key"] for d in deliveries(r))
        left = {k.decode() for k in r.hkeys("docstatus:pending")}
        truth = {ref: sim.state_of(ref) for ref in refs}
        states = {d["key"]: d["state"] for d in deliveries(r)}

    missing = set(keys) - set(got)
    assert not missing, f"{len(missing)} jobs never delivered (lost ones: {len(missing & lost)}):\n{log[-3000:]}"
    assert all(n == 1 for n in got.values()), got
    assert all(states[key] == truth[ref] for key, ref in keys.items())
    assert not set(damaged) & left, "a damaged pending entry was kept"
    for key in damaged:
        assert f"dropped the pending step of {key!r}" in log, key
    assert f"the chain of {order[4]!r} in Redis was damaged" in log
    assert f"the recorded outcome of {order[5]!r} in Redis is damaged" in log
    assert "the rate budget of " in log
    assert "Traceback" not in log


def test_a_message_with_a_damaged_state_is_dropped_by_the_worker_that_gets_it(tmp_path: Path, app_module: Any) -> None:
    """The same damage arriving as a message (a producer of another version, a hand-written
    message): the worker drops it with a log line, the task does not fail, and the next
    message is polled as usual."""
    import redis  # noqa: PLC0415

    with sim_module.Simulator() as sim, redis_server(tmp_path) as server:
        app = app_module(server.url)
        r = redis.Redis.from_url(server.url)
        good = sim.create_job("neurolinker", "happy_path", step=0.3)
        template = _first(app, good)
        for raw in _damaged_steps(template).values():
            try:
                body = json.loads(raw)
            except (ValueError, RecursionError):
                body = raw.decode("latin-1")
            app.tracking.task.apply_async(args=(body,))
        key = app.tracking.track(good, on_done=app.done.s(), deadline=60)
        worker = Worker("m0", worker_env(sim, server.url, json.dumps(RATES)), tmp_path / "m0.log")
        try:
            wait_for(r, {key}, 40)
        finally:
            worker.stop()
        log = (tmp_path / "m0.log").read_text(errors="replace")
        got = [d["key"] for d in deliveries(r)]

    assert got == [key], log[-3000:]
    assert log.count("docstatus.poll: dropped a malformed message") == len(_damaged_steps(template)), log[-3000:]
    assert "raised unexpected" not in log


def _first(app: Any, ref: str) -> dict[str, Any]:
    from docstatus._celery._task import first_message  # noqa: PLC0415

    message = first_message(
        ref,
        policy=app.tracking.runtime.policy,
        deadline=60,
        key=f"template-{time.time_ns()}",
        on_done=None,
        on_error=None,
    )
    return message.to_dict()
