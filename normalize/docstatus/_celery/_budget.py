"""One provider host's polling budget, shared by every Celery worker through Redis.

The rate itself is counted by ``limits`` (a moving window in Redis: never more than the host's
rate in any window, whichever worker polls). Around it, Redis keeps in one hash per host what
``watch_many``'s ``HostBudget`` keeps in memory, so that a 429 seen by one worker slows all of
them: the pause, the rate now, the epoch and the strikes of ``_waiting._aimd.Throttling``. The
rules that change them are ``_aimd``'s, the same functions ``HostBudget`` calls: each change reads
the hash, applies the rule and writes the result back in one transaction (``WATCH``/``MULTI``,
tried again when another worker changed the hash in between), so concurrent 429s of one epoch
halve the rate once. A read that the rule leaves unchanged (an answer while no decrease is in
force, a look at the pause) writes nothing: one round trip.

A throttled rate is applied through the limiter's cost: while the rate is ``limit / k``, each
poll costs ``k`` of the window's ``limit`` units. The window is the one ``limits`` counts, under
one key per host, so a change of rate never opens a fresh window (no burst on recovery).

What Redis holds is untrusted: a host's hash (or the limiter's window) that is not what
docstatus writes — a field that is not a number, a key of another type — is reset (the full
rate, no pause) with one log line naming the host, and the poll goes on.
"""

from __future__ import annotations

import math
from importlib import import_module
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from docstatus._secrets import logger
from docstatus._waiting._aimd import Throttling, floor, on_429, on_answer, recovered

from ._store import damaged, describe, reason

if TYPE_CHECKING:
    from collections.abc import Callable

    from docstatus._waiting._core import WaitPolicy

_T = TypeVar("_T")
#: A host paused longer than this (seconds) holds a damaged pause: no 429's hint is that long.
MAX_PAUSE: Final = 86400.0
#: Transactions tried at most for one change of a host's hash while other workers change it.
MAX_TRIES: Final = 64

#: Redis key prefix of everything docstatus keeps there (besides Celery's own keys).
PREFIX: Final = "docstatus:"

#: The fields of a host's hash: ``Throttling``'s, but its configured rate (the worker's) and
#: ``limit_seen`` (a shared budget without a configured rate keeps no rate, only its pauses).
_FIELDS: Final = ("current", "pause_until", "decreases", "decreased_at", "strikes")


@attrs.define
class SharedBudget:
    """The budget of one provider host (``"<provider> <host:port>"``), in Redis.

    Attributes:
        redis: A ``redis.Redis`` client (state, pauses, rate).
        limiter: A ``limits`` moving-window limiter on Redis storage, or ``None`` (no rate limit).
        key: The host's key.
        rate: Polls per second at most (``None``: no limit; 429 pauses still apply).
    """

    redis: Any
    limiter: Any
    key: str
    rate: float | None
    _item: Any = None

    def __attrs_post_init__(self) -> None:
        if self.rate is not None:
            item = import_module("limits").RateLimitItemPerSecond  # the celery extra

            # An integer number of polls per window of whole seconds: 2.5/s is 5 per 2 s.
            seconds = 1 if self.rate >= 1 else math.ceil(1 / self.rate)
            self._item = item(max(1, round(self.rate * seconds)), seconds)

    @property
    def hash_key(self) -> str:
        return f"{PREFIX}host:{self.key}"

    @property
    def limit(self) -> float:
        return self.rate if self.rate is not None else math.inf

    def _guarded(self, op: Callable[[], _T]) -> _T:
        """``op()``; if Redis says the host's state is damaged, reset it (log) and run it again."""
        try:
            return op()
        except (_Damaged, import_module("redis").exceptions.ResponseError) as exc:
            if not isinstance(exc, _Damaged) and not damaged(exc):
                raise
            logger.error(  # noqa: TRY400  # no traceback: the reason is the message
                "docstatus.poll: the rate budget of %s in Redis was damaged (%s); it starts over at the full rate",
                describe(self.key),
                reason(exc),
            )
            self.reset()
            return op()

    def reset(self) -> None:
        """Forget the host's state (pause, rate, epoch) and its limiter window."""
        self.redis.delete(self.hash_key)
        if self._item is not None:
            self.limiter.clear(self._item, self.key)

    def _state(self, raw: dict[Any, Any]) -> Throttling:
        """The host's ``Throttling`` from its hash (``HGETALL``); ``_Damaged`` if it is not what docstatus writes."""
        fields = {(k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k)): v for k, v in raw.items()}
        state = Throttling.start(self.rate)
        pause = fields.get("pause_until")
        at = fields.get("decreased_at")
        state = attrs.evolve(
            state,
            pause_until=-math.inf if pause is None else _number(pause),
            decreases=_count(fields.get("decreases", 0)),
            decreased_at=None if at is None else _number(at),
            strikes=_count(fields.get("strikes", 0)),
        )
        if self.rate is not None and "current" in fields:
            current, limit = _number(fields["current"]), self.rate
            low = floor(limit)
            if not low - 1e-9 <= current <= limit + 1e-9:  # AIMD keeps it there: any other rate is not ours
                raise _Damaged(f"a rate of {current!r} outside [{low:g}, {limit:g}]")
            state = attrs.evolve(state, current=current)
        return state

    def _change(self, rule: Callable[[Throttling], Throttling], *, look_first: bool) -> Throttling:
        """Apply ``rule`` to the host's state in Redis and return the result: read, apply, write
        back what changed in one transaction (tried again if another worker changed the hash
        meanwhile). ``look_first``: read without a transaction first, and write nothing when the
        rule changes nothing (one round trip)."""
        if look_first:
            state = self._state(self.redis.hgetall(self.hash_key))
            if rule(state) == state:
                return state
        watch_error = import_module("redis").exceptions.WatchError
        with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_TRIES):
                try:
                    pipe.watch(self.hash_key)
                    state = self._state(pipe.hgetall(self.hash_key))
                    new = rule(state)
                    if new != state:
                        pipe.multi()
                        _write(pipe, self.hash_key, state, new)
                        pipe.execute()
                except watch_error:
                    continue
                return new
        logger.error(
            "docstatus.poll: the rate budget of %s in Redis changed under %d concurrent updates in a row; "
            "this worker's update is left out (the others' stand)",
            describe(self.key),
            MAX_TRIES,
        )
        return state

    def acquire(self, now: float) -> tuple[float, int]:
        """Try to start a poll at wall-clock ``now``: ``(0, epoch)`` when it may start now
        (``epoch``, for ``throttle``/``answered``), else ``(seconds to wait, 0)``."""
        return self._guarded(lambda: self._acquire(now))

    def _acquire(self, now: float) -> tuple[float, int]:
        state = self._change(lambda s: recovered(s, now), look_first=True)
        if state.pause_until - now > MAX_PAUSE:
            raise _Damaged(f"a pause of {state.pause_until - now:.0f} s")
        if state.pause_until > now:
            return state.pause_until - now, 0
        if self.rate is not None:
            assert state.current is not None
            cost = max(1, round(self.rate / max(state.current, 1e-9)))
            if not self.limiter.hit(self._item, self.key, cost=cost):
                stats = self.limiter.get_window_stats(self._item, self.key)
                return max(0.02, min(float(stats.reset_time) - now, float(self._item.get_expiry()))), 0
        return 0.0, state.decreases

    def throttle(self, now: float, hint: float | None, policy: WaitPolicy, epoch: int) -> None:
        """A poll sent in ``epoch`` got a 429 (or a 5xx with a hint): ``_aimd.on_429`` for every
        worker (a shared budget without a configured rate keeps only the pause)."""
        self._guarded(lambda: self._change(lambda s: on_429(s, now, hint, policy, epoch, None), look_first=False))

    def answered(self, epoch: int) -> None:
        """A poll sent in ``epoch`` got an answer that was not a 429: ``_aimd.on_answer``."""
        self._guarded(lambda: self._change(lambda s: on_answer(s, epoch), look_first=True))

    def throttling(self, now: float) -> Throttling:
        """The host's state at ``now`` (its limit restored after a quiet spell), for tests and monitoring."""
        return self._guarded(lambda: self._change(lambda s: recovered(s, now), look_first=True))

    def current(self, now: float) -> float | None:
        """The rate now (``None`` without a limit), for tests and monitoring."""
        return self.throttling(now).current if self.rate is not None else None


def _write(pipe: Any, key: str, old: Throttling, new: Throttling) -> None:
    """Queue on ``pipe`` the fields of ``new`` that differ from ``old`` (a ``None`` one deleted)."""
    changed: dict[str, str] = {}
    gone: list[str] = []
    for name in _FIELDS:
        value = getattr(new, name)
        if value == getattr(old, name):
            continue
        if value is None:
            gone.append(name)
        else:
            changed[name] = repr(value)
    if changed:
        pipe.hset(key, mapping=changed)
    if gone:
        pipe.hdel(key, *gone)


class _Damaged(ValueError):
    """A value of the host's state read back from Redis is not a finite number >= 0."""


def _number(raw: Any) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise _Damaged(f"{raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise _Damaged(f"{raw!r} is not a finite number >= 0")
    return value


def _count(raw: Any) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise _Damaged(f"{raw!r} is not a count") from None
    if value < 0:
        raise _Damaged(f"{raw!r} is not a count >= 0")
    return value
