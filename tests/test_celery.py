"""docstatus.celery against a real redis-server on 127.0.0.1 and the simulator, one step at a
time in this process (the worker-process tests are in tests/hostile/test_celery_workers.py).

redis-server missing: skipped with the reason, except under CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("celery")
sim_module = pytest.importorskip("docstatus.simulator")

import docstatus.celery as dc  # noqa: E402
from _celery_support import redis_binary, redis_server  # noqa: E402
from celery import Celery  # noqa: E402
from docstatus import ProviderConfig, WaitPolicy  # noqa: E402
from docstatus._celery._budget import SharedBudget  # noqa: E402
from docstatus._celery._task import Message, run_step  # noqa: E402
from docstatus._waiting._many import FLOOR, RECOVERY  # noqa: E402
from docstatus._waiting._poll import to_ref  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# Each test registers docstatus.poll on an app of its own, in one process.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Task name 'docstatus.poll' is already registered"),
    pytest.mark.filterwarnings("ignore:Task name 'docstatus.delivered' is already registered"),
]

if redis_binary() is None:
    if os.environ.get("CI"):
        pytest.fail("redis-server is not on PATH under CI (.ci/run installs it)", pytrace=False)
    pytest.skip("redis-server is not on PATH (apt-get install redis-server)", allow_module_level=True)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with sim_module.Simulator() as server:
        yield server


@pytest.fixture
def env(sim: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in sim.env().items():
        monkeypatch.setenv(name, value)


class FakeTask:
    """The poll task as one execution sees it: a request id, apply_async recorded, the app."""

    def __init__(self, app: Celery, request_id: str = "req-1") -> None:
        self.app = app
        self.request = SimpleNamespace(id=request_id)
        self.sent: list[tuple[dict[str, Any], float]] = []

    def apply_async(self, *, args: tuple[dict[str, Any]], countdown: float, **_: Any) -> None:
        self.sent.append((args[0], countdown))


def _app(redis_url: str, **kwargs: Any) -> tuple[Celery, dc.Registration]:
    app = Celery(f"t{time.monotonic_ns()}", broker=redis_url)
    app.conf.broker_transport_options = {"visibility_timeout": 30}
    policy = kwargs.pop("policy", WaitPolicy(initial_delay=0.2, min_delay=0.2, max_delay=1.0))
    return app, dc.register(app, policy=policy, **kwargs)


def _message(reg: dc.Registration, ref: str, **kwargs: Any) -> dict[str, Any]:
    from docstatus._celery._task import first_message  # noqa: PLC0415

    return first_message(ref, policy=reg.runtime.policy, on_done=None, on_error=None, key=None, **kwargs).to_dict()


def test_missing_extra_names_it() -> None:
    code = "import sys; sys.modules['celery'] = None\ntry:\n import docstatus.celery\nexcept ImportError as e: print(e)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'docstatus[celery]'" in out
    assert "celery" in out


def test_register_refuses_a_countdown_at_or_over_the_visibility_timeout(redis_url: str) -> None:
    app = Celery("cap", broker=redis_url)
    app.conf.broker_transport_options = {"visibility_timeout": 10}
    with pytest.raises(ValueError, match="visibility_timeout"):
        dc.register(app, max_countdown=10)
    reg = dc.register(app)
    assert reg.runtime.max_countdown < 10
    assert dc.register(app) is reg  # registering again: the same task
    assert app.tasks[dc.TASK_NAME].acks_late
    assert app.tasks[dc.TASK_NAME].reject_on_worker_lost
    with pytest.raises(ValueError, match="Redis URL"):
        dc.register(Celery("amqp", broker="amqp://127.0.0.1//"))


def test_a_long_delay_is_a_chain_of_capped_countdowns_that_do_not_poll_early(
    redis_url: str, sim: Any, env: None
) -> None:
    app, reg = _app(redis_url, max_countdown=0.5, policy=WaitPolicy(initial_delay=3.0, min_delay=0.2, lag_ratio=None))
    ref = sim.create_job("artos", "happy_path", step=30)
    task = FakeTask(app)
    before = len(sim.requests)
    assert run_step(task, reg.runtime, _message(reg, ref, deadline=60)) == "polled"
    assert len(sim.requests) == before + 1
    ((nxt, countdown),) = task.sent
    assert countdown == pytest.approx(0.5)  # the waiting core said ~3 s: capped
    assert nxt["seq"] == 1
    assert nxt["state"]["due"] - time.time() > 1.5
    time.sleep(0.5)
    task2 = FakeTask(app, "req-2")
    assert run_step(task2, reg.runtime, nxt) == "early"  # not due: forwarded, not polled
    assert len(sim.requests) == before + 1
    assert task2.sent[0][1] <= 0.5
    assert task2.sent[0][0]["state"] == nxt["state"]  # the waiting state is carried unchanged


def test_a_step_delivered_twice_runs_once_and_an_outcome_is_never_replaced(redis_url: str, sim: Any, env: None) -> None:
    app, reg = _app(redis_url)
    ref = sim.create_job("artos", "happy_path", step=0.2)
    message = _message(reg, ref, deadline=60)
    first, again = FakeTask(app, "a"), FakeTask(app, "b")
    assert run_step(first, reg.runtime, message) == "polled"
    assert run_step(again, reg.runtime, message) == "duplicate"  # same step, other delivery
    assert again.sent == []
    time.sleep(1.0)  # the job ends
    nxt = first.sent[0][0]
    done = FakeTask(app, "c")
    while True:  # follow the chain to its end (bounded by the deadline)
        result = run_step(done, reg.runtime, nxt)
        if result == "finished":
            break
        assert result in ("polled", "early")
        nxt = done.sent[-1][0]
        time.sleep(done.sent[-1][1])
    outcome = reg.outcome(message["key"])
    assert outcome is not None
    assert outcome["status"]["state"] == "succeeded"
    requests = len(sim.requests)
    # An old step delivered again: dropped; the last step again (its worker lost): delivers the
    # recorded outcome, never a new one.
    assert run_step(FakeTask(app, "d"), reg.runtime, message) == "duplicate"
    assert run_step(FakeTask(app, "c"), reg.runtime, nxt) == "duplicate"
    forked = json.loads(json.dumps(nxt))
    forked["seq"] = nxt["seq"] + 5  # a stray later step (a chain forked by a lost worker)
    assert run_step(FakeTask(app, "e"), reg.runtime, forked) == "delivered"
    assert len(sim.requests) == requests  # no poll for it
    assert reg.outcome(message["key"]) == outcome


def test_a_step_held_by_a_live_worker_is_retried_after_its_lease_and_the_same_message_takes_over(
    redis_url: str, sim: Any, env: None
) -> None:
    app, reg = _app(redis_url, lease=5.0)
    ref = sim.create_job("artos", "happy_path", step=30)
    message = Message.from_dict(_message(reg, ref, deadline=60))
    assert reg.runtime.claim(message, "worker-a", 60) == (2, 0.0)  # worker a runs it and dies
    other = FakeTask(app, "worker-b")
    assert run_step(other, reg.runtime, message.to_dict()) == "held"
    assert 4.0 < other.sent[0][1] <= 5.2  # looked at again when a's lease ends
    assert other.sent[0][0]["seq"] == message.seq
    # the same message redelivered after its worker was lost (same request id): taken over now
    assert run_step(FakeTask(app, "worker-a"), reg.runtime, message.to_dict()) == "polled"


def test_the_deadline_in_the_message_holds_in_any_worker(redis_url: str, sim: Any, env: None) -> None:
    app, reg = _app(redis_url)
    ref = sim.create_job("artos", "happy_path", step=60)
    message = _message(reg, ref, deadline=1.0)
    message["on_error"] = dict(app.signature("test.error"))
    task = FakeTask(app)
    assert run_step(task, reg.runtime, message) == "polled"
    time.sleep(1.1)
    nxt = task.sent[0][0]
    while (result := run_step(task, reg.runtime, nxt)) != "finished":
        nxt = task.sent[-1][0]
        assert result in ("polled", "early")
        assert nxt["state"]["deadline"] == message["state"]["deadline"]
        assert time.time() < message["state"]["deadline"] + 3
    outcome = reg.outcome(message["key"])
    assert outcome is not None
    assert outcome["error"]["type"] == "WaitTimeout"
    assert outcome["status"]["state"] in ("queued", "running")
    queued = [json.loads(m) for m in reg.runtime.redis.lrange("celery", 0, -1)]
    errors = [m for m in queued if m["headers"]["task"] == "test.error"]
    assert len(errors) == 1  # on_error sent once, with the key


def test_one_workers_429_pauses_and_slows_every_worker_then_recovers(redis_url: str) -> None:
    import redis  # noqa: PLC0415
    from limits.storage import storage_from_string  # noqa: PLC0415
    from limits.strategies import MovingWindowRateLimiter  # noqa: PLC0415

    policy = WaitPolicy()
    workers = [
        SharedBudget(
            redis=redis.Redis.from_url(redis_url),
            limiter=MovingWindowRateLimiter(storage_from_string(redis_url)),
            key="artos test:1",
            rate=20.0,
        )
        for _ in range(2)
    ]
    a, b = workers
    now = time.time()
    wait, seq = a.acquire(now)
    assert wait == 0
    a.throttle(now, 2.0, policy, seq)  # a's poll met a 429 with Retry-After: 2
    wait, _ = b.acquire(now + 0.1)
    assert 1.8 < wait <= 1.91  # b is paused too (Redis keeps the time to ~0.1 ms)
    assert b.current(now + 0.1) == pytest.approx(10.0)  # and halved
    a.throttle(now + 0.2, 2.0, policy, seq)  # a 429 to a poll sent before the decrease: once per window
    assert b.current(now + 0.2) == pytest.approx(10.0)
    later = now + 2.5
    wait, seq2 = b.acquire(later)
    assert wait == 0
    b.answered(seq2)  # each answer adds 10 % of the limit back
    assert a.current(later) == pytest.approx(12.0)
    for _ in range(10):
        a.throttle(later, None, policy, a.acquire(later + 10)[1] or 10**6)
    assert a.current(later) >= max(1.0, FLOOR * 20) - 1e-9  # never below the floor
    assert a.current(later + RECOVERY + 0.1) == pytest.approx(20.0)  # RECOVERY s later: the limit


def test_the_rate_is_shared_by_every_worker(redis_url: str) -> None:
    import redis  # noqa: PLC0415
    from limits.storage import storage_from_string  # noqa: PLC0415
    from limits.strategies import MovingWindowRateLimiter  # noqa: PLC0415

    workers = [
        SharedBudget(
            redis=redis.Redis.from_url(redis_url),
            limiter=MovingWindowRateLimiter(storage_from_string(redis_url)),
            key="sarvam shared:1",
            rate=10.0,
        )
        for _ in range(3)
    ]
    now = time.time()
    granted = sum(1 for i in range(30) if workers[i % 3].acquire(now)[0] == 0)
    assert granted == 10  # ten in the window, whichever worker asks


def test_no_token_goes_into_a_message_or_redis(redis_url: str, sim: Any, env: None) -> None:
    app, reg = _app(redis_url)
    ref = sim.create_job("artos", "happy_path", step=0.2)
    task = FakeTask(app)
    message = _message(reg, ref, deadline=30)
    run_step(task, reg.runtime, message)
    dumped = json.dumps([message, *[m for m, _ in task.sent]])
    r = reg.runtime.redis
    stored = [str(r.dump(k)) for k in r.scan_iter("*")] + [str(k) for k in r.scan_iter("*")]
    for token in sim_module.DEFAULT_TOKENS.values():
        assert token not in dumped
        assert all(token not in s for s in stored)
    assert any("docstatus:" in s for s in stored)  # the scan saw docstatus's keys


def test_track_validates_the_ref_and_deadline_before_sending(redis_url: str) -> None:
    from docstatus import InvalidJobRef  # noqa: PLC0415

    app, _ = _app(redis_url)
    with pytest.raises(InvalidJobRef):
        dc.track("nope:", app=app)
    with pytest.raises(ValueError, match="deadline"):
        dc.track("artos:abc", deadline=-1, app=app)
    key = dc.track("artos:abc", deadline=5, app=app, key="my-key")
    assert key == "my-key"
    assert ProviderConfig  # configuration stays in the workers: track needs no token


def test_a_step_the_broker_lost_is_sent_again_by_a_sweep_and_only_that_one(redis_url: str, sim: Any, env: None) -> None:
    """A message lost on its way (a worker took it off the queue as Redis went away) would end
    its chain: the step stays pending in Redis, and a sweep sends it again after the grace; a
    step that a worker holds, or that is not due yet, is left alone; one sweep at a time."""
    from docstatus._celery._task import (  # noqa: PLC0415
        DUE,
        PENDING,
        PENDING_SEQ,
        SWEEP_LOCK,
        forget,
        remember,
        sweep,
    )

    app, reg = _app(redis_url)
    r = reg.runtime.redis
    r.delete(PENDING, DUE, SWEEP_LOCK, PENDING_SEQ)
    lost = Message.from_dict(_message(reg, sim.create_job("artos", "happy_path", step=30), deadline=60))
    remember(r, lost, 0.0)  # kept, then "sent" and lost: never claimed
    held = Message.from_dict(_message(reg, sim.create_job("artos", "happy_path", step=30), deadline=60))
    remember(r, held, 0.0)
    assert reg.runtime.claim(held, "w1", 60)[0] == 2  # a worker runs it now (its lease: 30 s)
    later = Message.from_dict(_message(reg, sim.create_job("artos", "happy_path", step=30), deadline=60))
    remember(r, later, 30.0)  # due in 30 s: not late yet

    sweeper = FakeTask(app, "sweeper")
    assert sweep(sweeper, reg.runtime, grace=0.3) == 0  # nothing is late by 0.3 s yet
    r.delete(SWEEP_LOCK)
    time.sleep(0.5)
    assert sweep(sweeper, reg.runtime, grace=0.3) == 1
    assert [sent["key"] for sent, _ in sweeper.sent] == [lost.key]
    assert sweeper.sent[0][0]["seq"] == lost.seq
    assert sweep(FakeTask(app, "other"), reg.runtime, grace=0.3) == 0  # swept just now: locked
    # The copy sent again runs once; a late copy of the original is then a duplicate.
    assert run_step(FakeTask(app, "w2"), reg.runtime, sweeper.sent[0][0]) == "polled"
    assert run_step(FakeTask(app, "w3"), reg.runtime, lost.to_dict()) == "duplicate"
    # A step sent again (held by another worker) never hides its successor: the older one is not kept.
    nxt = Message.from_dict({**lost.to_dict(), "seq": lost.seq + 1})
    remember(r, nxt, 0.0)
    remember(r, lost, 0.0)
    assert Message.from_dict(json.loads(r.hget(PENDING, lost.key))).seq == lost.seq + 1
    forget(r, later.key)
    assert r.hget(PENDING, later.key) is None


def test_a_callback_is_confirmed_by_its_link_and_one_the_broker_lost_is_sent_again(
    redis_url: str, sim: Any, env: None
) -> None:
    """Sent once (a rerun of the final step sends nothing new), linked to docstatus.delivered on
    success and on error; lost (deleted from the queue here), it is sent again with the same key
    and outcome once the delivery grace passes; confirmed, the job is forgotten."""
    from docstatus._celery._task import (  # noqa: PLC0415
        BACKLOG_WAIT,
        CONFIRM_NAME,
        DELIVER_DUE,
        DUE,
        PENDING,
        SWEEP_LOCK,
        sweep,
    )

    app, reg = _app(redis_url, delivery_grace=0.5)
    r = reg.runtime.redis
    r.delete("celery", SWEEP_LOCK, PENDING, DUE, DELIVER_DUE)
    message = _message(reg, sim.create_job("artos", "happy_path", step=0.1), deadline=30)
    message["on_done"] = dict(app.signature("test.done").set(link=app.signature("test.yours")))
    key = message["key"]
    time.sleep(0.5)  # the job ends before the first poll
    final = FakeTask(app, "final")
    assert run_step(final, reg.runtime, message) == "finished"

    def callbacks() -> list[dict[str, Any]]:
        queued = [json.loads(m) for m in r.lrange("celery", 0, -1)]
        return [m for m in queued if m["headers"]["task"] == "test.done"]

    (sent,) = callbacks()
    args, _, embed = json.loads(base64.b64decode(sent["body"]))
    assert args[1] == key
    assert args[0]["state"] == "succeeded"
    assert [x["task"] for x in embed["callbacks"]] == ["test.yours", CONFIRM_NAME]  # yours kept
    assert [(x["task"], x["args"]) for x in embed["errbacks"]] == [(CONFIRM_NAME, [key])]  # confirmed on failure too
    assert embed["callbacks"][1]["args"] == [key]
    assert r.zscore(DELIVER_DUE, key) is not None
    assert run_step(FakeTask(app, "final"), reg.runtime, message) == "duplicate"
    stray = {**message, "seq": 3}  # a stray later step of the chain: delivers the outcome again?
    assert run_step(FakeTask(app, "stray"), reg.runtime, stray) == "delivered"
    assert len(callbacks()) == 1  # not sent twice by a rerun
    assert sweep(FakeTask(app, "s"), reg.runtime, grace=0.2) == 0  # not due yet
    time.sleep(0.6)
    r.delete(SWEEP_LOCK)
    assert sweep(FakeTask(app, "s"), reg.runtime, grace=0.2) == 0  # due, but still queued: not lost
    r.delete("celery", SWEEP_LOCK)  # the broker lost it
    assert sweep(FakeTask(app, "s"), reg.runtime, grace=0.2) == 1
    (again,) = callbacks()
    assert again["body"] == sent["body"]  # same status, same key
    # Behind a queue that never drains, it is sent again after BACKLOG_WAIT graces all the same.
    r.delete(SWEEP_LOCK)
    assert sweep(FakeTask(app, "s"), reg.runtime, grace=0.2) == 0
    time.sleep(0.5 * (1 + BACKLOG_WAIT) + 0.2)  # its due time, then the backlog wait
    r.delete(SWEEP_LOCK)
    assert sweep(FakeTask(app, "s"), reg.runtime, grace=0.2) == 1
    assert len(callbacks()) == 2
    app.tasks[CONFIRM_NAME](key)  # the callback ran: its link confirms it
    assert r.exists(f"docstatus:delivered:{key}")
    assert r.zscore(DELIVER_DUE, key) is None
    assert r.hget(PENDING, key) is None
    r.delete(SWEEP_LOCK)
    time.sleep(0.6)
    assert sweep(FakeTask(app, "s"), reg.runtime, grace=0.2) == 0
    assert reg.outcome(key)["status"]["state"] == "succeeded"  # type: ignore[index]


def test_register_takes_each_redis_url_form_and_refuses_the_others_naming_why(tmp_path: Path, env: None) -> None:
    """redis://, rediss:// and a Unix socket (redis-py's unix:// form, or the broker's kombu
    form redis+socket://, used when no redis_url is given) are taken; Sentinel, Cluster, a
    failover list, another scheme, a port or database that is not a number are refused at
    register, with a message that never shows the URL's password."""
    with redis_server(tmp_path, unix=True) as server:
        app = Celery("sock", broker=server.broker_url)  # redis+socket:///.../redis.sock
        reg = dc.register(app)
        assert reg.runtime.redis_url == f"unix://{server.socket_path}?db=0"
        assert reg.runtime.redis.ping()  # the state over the socket
        now = time.time()
        budget = reg.runtime.budget(to_ref("artos:x"))
        assert budget.acquire(now)[0] == 0  # and the rate limiter, on the same connection pool
    for url in ("redis://h:6380/2", "rediss://:pw@h:6380/0?ssl_cert_reqs=required", "unix:///run/redis.sock?db=3"):
        assert dc.register(Celery(f"ok{time.monotonic_ns()}", broker=url)).runtime.redis_url == url
    secret = "hunter2-not-shown"
    refused = {
        f"sentinel://:{secret}@h:26379": "Sentinel",
        f"redis+sentinel://:{secret}@h:26379/mymaster": "Sentinel",
        f"redis+cluster://:{secret}@h:7000": "Cluster",
        f"redis://:{secret}@a:6379;redis://:{secret}@b:6379": "list of broker URLs",
        f"amqp://guest:{secret}@h//": "Redis URL",
        f"redis://:{secret}@h:port/0": "not a valid Redis URL",
        f"redis://:{secret}@h:6379/zero": "must be a number",
        f"redis://:{secret}@h:6379/0?socket_timeout=soon": "socket_timeout",
        "unix://": "names no socket",
    }
    for url, why in refused.items():
        with pytest.raises(ValueError, match=why) as caught:
            dc.register(Celery(f"no{time.monotonic_ns()}", broker=url))
        assert secret not in str(caught.value), url
        with pytest.raises(ValueError, match=why) as caught:
            dc.register(Celery(f"no{time.monotonic_ns()}", broker="redis://127.0.0.1:1/0"), redis_url=url)
        assert secret not in str(caught.value)
        assert "redis_url" in str(caught.value)
    reg = dc.register(Celery(f"pw{time.monotonic_ns()}", broker=f"redis://:{secret}@127.0.0.1:1/0"))
    assert secret not in repr(reg)  # the registration's repr shows the URL with its password masked
    assert ":**@127.0.0.1:1/0" in repr(reg)


def test_a_damaged_recorded_outcome_is_a_clear_error_not_a_wrong_result(redis_url: str) -> None:
    _, reg = _app(redis_url)
    r = reg.runtime.redis
    r.set("docstatus:outcome:k-damaged", b"{not json")
    with pytest.raises(ValueError, match=r"recorded outcome of 'k-damaged' in Redis is damaged"):
        reg.outcome("k-damaged")
    r.set("docstatus:outcome:k-damaged", json.dumps({"key": "k", "ref": "artos:x", "status": None, "error": None}))
    with pytest.raises(ValueError, match="damaged"):
        reg.outcome("k-damaged")
    assert reg.outcome("k-never") is None


def test_a_step_taken_over_after_its_lease_is_no_longer_its_first_holders(redis_url: str, sim: Any, env: None) -> None:
    """The fencing check: a holder whose lease ended and whose step another worker claimed
    holds nothing; it forwards nothing (no next step sent, nothing marked)."""
    from docstatus._celery._task import PENDING_SEQ, _forward, remember  # noqa: PLC0415

    app, reg = _app(redis_url, lease=0.3)
    message = Message.from_dict(_message(reg, sim.create_job("artos", "happy_path", step=30), deadline=60))
    remember(reg.runtime.redis, message, 0.0)
    assert reg.runtime.claim(message, "worker-a", 60)[0] == 2
    assert reg.runtime.holds(message, "worker-a", 0.3)  # and holds it on
    assert reg.runtime.claim(message, "worker-b", 60)[0] == 1  # held: b waits
    time.sleep(0.7)
    assert reg.runtime.claim(message, "worker-b", 60)[0] == 2  # a's lease ended: b takes it over
    assert not reg.runtime.holds(message, "worker-a", 30)
    assert reg.runtime.holds(message, "worker-b", 30)
    task = FakeTask(app, "worker-a")
    assert not _forward(task, reg.runtime, message, message.state, "worker-a", 1.0)
    assert task.sent == []
    assert reg.runtime.redis.hget(PENDING_SEQ, message.key) == b"0"  # no later step remembered


def test_a_redelivered_copy_takes_its_step_over_and_fences_out_the_run_it_replaced(
    redis_url: str, sim: Any, env: None
) -> None:
    """Two runs of one message (Celery restores a message whose worker was paused past the
    visibility timeout, with the same task id): the copy takes the step over at once, and the
    first run, waking, no longer holds it (the fencing check tells the runs apart by a nonce of
    each run's own, not by the task id)."""
    app, reg = _app(redis_url, lease=30)
    message = Message.from_dict(_message(reg, sim.create_job("artos", "happy_path", step=30), deadline=60))
    assert reg.runtime.claim(message, "task-1|run-a", 60)[0] == 2
    assert reg.runtime.claim(message, "task-2|run-c", 60)[0] == 1  # another message: held, it waits
    assert reg.runtime.claim(message, "task-1|run-b", 60)[0] == 2  # the same message again: at once
    assert reg.runtime.holds(message, "task-1|run-b", 30)
    assert not reg.runtime.holds(message, "task-1|run-a", 30)  # the paused first run polls nothing
    task = FakeTask(app, "task-1")
    from docstatus._celery._task import _forward  # noqa: PLC0415

    assert not _forward(task, reg.runtime, message, message.state, "task-1|run-a", 1.0)
    assert task.sent == []


def test_a_callback_copy_runs_only_if_no_other_copy_holds_it_and_it_never_ran(redis_url: str) -> None:
    """What a worker decides as a copy of a callback arrives (``_delivery.received``): the first
    copy runs (and holds it), the same copy again (Celery's redelivery) runs, another copy
    (another task id) does not; once the callback ran, no copy does. Its delivery is not due
    before the delivery grace from the time a worker received it."""
    from docstatus._celery._delivery import received  # noqa: PLC0415
    from docstatus._celery._task import DELIVER_DUE, confirm  # noqa: PLC0415

    _, reg = _app(redis_url, delivery_grace=30)
    r = reg.runtime.redis
    r.zadd(DELIVER_DUE, {"cb-key": time.time()})
    assert received(reg.runtime, "cb-key", "task-1") == 0
    assert r.zscore(DELIVER_DUE, "cb-key") > time.time() + 25
    assert received(reg.runtime, "cb-key", "task-1") == 0
    assert received(reg.runtime, "cb-key", "task-2") == 2
    confirm(reg.runtime, "cb-key")
    assert received(reg.runtime, "cb-key", "task-1") == 1
    assert received(reg.runtime, "cb-key", "task-3") == 1
    assert r.zscore(DELIVER_DUE, "cb-key") is None


def test_a_sweep_that_lost_its_lock_to_another_sweep_stops(redis_url: str, sim: Any, env: None) -> None:
    """Fencing for the sweep: a sweep whose worker was paused past its lock, while another
    sweep took the lock, sends nothing more (here the other sweep takes it during the first send)."""
    from docstatus._celery._task import DUE, PENDING, PENDING_SEQ, SWEEP_LOCK, remember, sweep  # noqa: PLC0415

    app, reg = _app(redis_url)
    r = reg.runtime.redis
    r.delete(PENDING, DUE, SWEEP_LOCK, PENDING_SEQ)
    for _ in range(3):
        remember(r, Message.from_dict(_message(reg, sim.create_job("artos", "happy_path", step=5), deadline=60)), 0.0)
    time.sleep(0.5)

    class Paused(FakeTask):
        def apply_async(self, **kwargs: Any) -> None:
            super().apply_async(**kwargs)
            r.set(SWEEP_LOCK, "another-sweep", px=10_000)  # meanwhile, another worker's sweep began

    first = Paused(app, "sweeper")
    assert sweep(first, reg.runtime, grace=0.3) == 1
    assert len(first.sent) == 1
    r.delete(SWEEP_LOCK)
    second = FakeTask(app, "other")
    assert sweep(second, reg.runtime, grace=0.3) == 2  # the other two, by a sweep that holds the lock


def test_each_app_registered_in_one_process_runs_its_own_tasks(redis_url: str, tmp_path: Path) -> None:
    """Apps registered in one process (tenants, or tests): each app's poll and confirm tasks use
    its own Redis. Celery shares an ``app.task`` with every app finalized later unless told not
    to, and one of the earlier apps' tasks (bound to their Redis, picked in set order) then ran
    for the new app: here, with eight earlier apps, eight times in nine."""
    from docstatus._celery._task import CONFIRM_NAME  # noqa: PLC0415

    with redis_server(tmp_path) as other:
        earlier = [_app(other.url) for _ in range(8)]
        for app, _ in earlier:
            assert app.tasks[CONFIRM_NAME] is not None  # finalized: its tasks are made
        last, last_reg = _app(redis_url)
        for app, reg in [earlier[0], (last, last_reg)]:
            key = f"two-apps-{app.main}"
            app.tasks[CONFIRM_NAME](key)
            assert reg.runtime.redis.exists(f"docstatus:delivered:{key}"), app.main
        assert not earlier[0][1].runtime.redis.exists(f"docstatus:delivered:two-apps-{last.main}")
