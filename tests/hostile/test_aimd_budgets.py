"""The rate adaptation after a 429 (AIMD) is one set of rules (``_waiting/_aimd.py``): the
in-memory budget of ``watch_many`` and the Redis budget shared by Celery workers, given the same
events, hold the same rate, pause and strikes; concurrent 429s of one epoch from several workers
halve the shared rate once and lose no strike; an answer while no decrease is in force writes
nothing to Redis. Against a real ``redis-server`` on 127.0.0.1.

redis-server missing: skipped with the reason, except under CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("celery")
redis = pytest.importorskip("redis")

from _celery_support import redis_binary, redis_server  # noqa: E402
from docstatus import WaitPolicy  # noqa: E402
from docstatus._celery._budget import SharedBudget  # noqa: E402
from docstatus._waiting._aimd import RECOVERY, floor, on_429  # noqa: E402
from docstatus._waiting._many import HostBudget  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

if redis_binary() is None:
    if os.environ.get("CI"):
        pytest.fail("redis-server is not on PATH under CI (.ci/run installs it)", pytrace=False)
    pytest.skip("redis-server is not on PATH (apt-get install redis-server)", allow_module_level=True)

#: High enough that the limiter's real-time window never refuses a poll of these tests (its
#: floor costs 10 units of 1000 a second), so only the AIMD rules decide.
RATE = 1000.0
POLICY = WaitPolicy(initial_delay=0.5, multiplier=2.0, jitter=0.0)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


def _shared(url: str, key: str, rate: float | None = RATE) -> SharedBudget:
    from limits.storage import storage_from_string  # noqa: PLC0415  # the celery extra
    from limits.strategies import MovingWindowRateLimiter  # noqa: PLC0415

    budget = SharedBudget(
        redis=redis.Redis.from_url(url), limiter=MovingWindowRateLimiter(storage_from_string(url)), key=key, rate=rate
    )
    budget.reset()
    return budget


def _seen(shared: SharedBudget, now: float) -> tuple[float | None, float, int, float | None]:
    """The shared budget's rate, pause, strikes and last decrease at ``now``, from Redis."""
    current = shared.current(now)
    raw = shared.redis.hgetall(shared.hash_key)
    pause = float(raw[b"pause_until"]) if b"pause_until" in raw else -math.inf
    at = float(raw[b"decreased_at"]) if b"decreased_at" in raw else None
    return current, pause, int(raw.get(b"strikes", 0)), at


def _held(host: HostBudget, now: float) -> tuple[float | None, float, int, float | None]:
    host.ready_at(now)  # the in-memory budget's look at the clock (restores the limit after a quiet spell)
    return host.current, host.pause_until, host.strikes, host.decreased_at


def test_the_in_memory_and_the_redis_budget_follow_the_same_aimd_rules(redis_url: str) -> None:
    host = HostBudget(key="artos same:1", concurrency=64, rate=RATE)
    shared = _shared(redis_url, "artos same:1")
    t0 = float(int(time.time()))

    def take(now: float) -> tuple[int, int]:
        wait, shared_epoch = shared.acquire(now)
        assert wait == 0, f"the shared budget held a poll back at {now - t0:+.2f} s"
        return host.take(now), shared_epoch

    def throttle(now: float, hint: float | None, epochs: tuple[int, int]) -> None:
        host.throttle(now, hint, POLICY, epochs[0])
        shared.throttle(now, hint, POLICY, epochs[1])

    def answered(epochs: tuple[int, int]) -> None:
        host.answered(epochs[0])
        shared.answered(epochs[1])

    def same(now: float, current: float | None = None) -> None:
        held = _held(host, now)
        assert _seen(shared, now) == held
        if current is not None:
            assert held[0] == pytest.approx(current)

    same(t0, RATE)
    a, b = take(t0), take(t0 + 0.01)  # two polls in flight
    throttle(t0 + 0.1, 1.0, a)  # a 429 with a hint: paused 1 s, halved
    same(t0 + 0.1, RATE / 2)
    throttle(t0 + 0.2, None, b)  # a 429 to a poll sent before the decrease: a backoff pause, no halving
    same(t0 + 0.2, RATE / 2)
    assert host.pause_until == pytest.approx(t0 + 0.2 + 1.0)  # the backoff after one strike
    assert host.strikes == 2
    answered(b)  # an answer to a poll of the old epoch: strikes end, nothing added
    same(t0 + 0.3, RATE / 2)
    t = host.pause_until + 0.01
    c = take(t)
    answered(c)  # an answer to a poll of the new epoch: + INCREASE * limit
    same(t, 0.6 * RATE)
    for _ in range(6):  # 429s of new epochs (hint 0: the shortest pause): down to the floor
        t += 0.3
        throttle(t, 0.0, take(t))
        same(t)
    assert host.current == floor(RATE)
    t += 0.25  # after the last pause
    old = take(t)
    for _ in range(10):  # answers of the new epoch climb back to the limit, which is then restored
        t += 0.3
        answered(take(t))
        same(t)
    assert host.current == RATE
    assert host.decreased_at is None
    answered(old)
    same(t, RATE)
    throttle(t + 0.1, 0.5, take(t + 0.1))  # one more decrease, then a quiet spell: the limit again
    same(t + 0.1 + RECOVERY - 0.01, RATE / 2)
    same(t + 0.1 + RECOVERY, RATE)


def test_without_a_rate_both_budgets_pause_alike(redis_url: str) -> None:
    """Without a configured rate the in-memory budget halves the pace it saw (the shared one has
    no pace to see and keeps no rate); the pauses and strikes are the same rules'."""
    host = HostBudget(key="artos free:1", concurrency=4, rate=None)
    shared = _shared(redis_url, "artos free:1", rate=None)
    t0 = float(int(time.time()))
    epochs = (host.take(t0), shared.acquire(t0)[1])
    for i, hint in enumerate((2.0, None, None, 0.0)):
        host.throttle(t0 + i, hint, POLICY, epochs[0])
        shared.throttle(t0 + i, hint, POLICY, epochs[1])
        assert _seen(shared, t0 + i)[1:3] == _held(host, t0 + i)[1:3]
    host.answered(epochs[0])
    shared.answered(epochs[1])
    assert _seen(shared, t0 + 5)[1:3] == _held(host, t0 + 5)[1:3]
    assert shared.current(t0 + 5) is None


def test_concurrent_429s_of_one_epoch_from_many_workers_halve_the_shared_rate_once(redis_url: str) -> None:
    workers = 8
    budgets = [_shared(redis_url, "sarvam burst:1") for _ in range(workers)]
    for _ in range(15):  # rounds: each a fresh host, eight workers' 429s to polls of one epoch at once
        budgets[0].reset()
        now = time.time()
        epochs = [b.acquire(now)[1] for b in budgets]
        gate = threading.Barrier(workers)
        failures: list[BaseException] = []

        def hit(
            budget: SharedBudget,
            epoch: int,
            i: int,
            now: float = now,
            gate: threading.Barrier = gate,
            failures: list[BaseException] = failures,
        ) -> None:
            try:
                gate.wait(timeout=30)
                budget.throttle(now + i * 0.001, 1.0, POLICY, epoch)
            except BaseException as exc:  # reported by the test thread
                failures.append(exc)

        pairs = enumerate(zip(budgets, epochs, strict=True))
        threads = [threading.Thread(target=hit, args=(b, e, i)) for i, (b, e) in pairs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not failures, failures
        current, pause, strikes, _ = _seen(budgets[0], now)
        assert current == RATE / 2  # halved once, not eight times
        assert strikes == workers  # no worker's 429 lost
        assert pause == pytest.approx(now + (workers - 1) * 0.001 + 1.0)  # the latest pause stands
        assert int(budgets[0].redis.hget(budgets[0].hash_key, "decreases")) == 1


def test_a_change_by_another_worker_between_read_and_write_is_not_lost(redis_url: str) -> None:
    mine, other = _shared(redis_url, "artos race:1"), _shared(redis_url, "artos race:1")
    now = time.time()
    calls = 0

    def rule(state: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:  # another worker's 429 lands after this one read the hash
            other.throttle(now, 1.0, POLICY, 0)
        return on_429(state, now, 1.0, POLICY, 0, None)

    mine._change(rule, look_first=False)  # the transaction itself, with a change in between
    assert calls == 2  # the transaction failed on the other's write and was tried again
    current, _, strikes, _ = _seen(mine, now)
    assert (current, strikes) == (RATE / 2, 2)  # one halving (same epoch), both strikes


def test_an_answer_while_no_decrease_is_in_force_writes_nothing_to_redis(redis_url: str) -> None:
    shared = _shared(redis_url, "artos quiet:1")
    now = time.time()
    epoch = shared.acquire(now)[1]
    r = shared.redis
    r.config_resetstat()
    for _ in range(20):
        shared.answered(epoch)
    stats = r.info("commandstats")
    writes = {name for name in stats if name.split("|")[0] in {"cmdstat_hset", "cmdstat_exec", "cmdstat_evalsha"}}
    assert not writes, stats  # one read each, no transaction, no script
    shared.throttle(now, 0.0, POLICY, epoch)
    r.config_resetstat()
    shared.answered(shared.acquire(now + 1)[1])  # an answer that raises a throttled rate: written
    assert r.info("commandstats")["cmdstat_exec"]["calls"] == 1
    assert shared.current(now + 1) == pytest.approx(0.6 * RATE)
