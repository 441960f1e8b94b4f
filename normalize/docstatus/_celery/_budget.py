"""One provider host's polling budget, shared by every Celery worker through Redis.

The rate itself is counted by ``limits`` (a moving window in Redis: never more than the host's
rate in any window, whichever worker polls). Around it, Redis keeps what ``watch_many``'s
``HostBudget`` keeps in memory, so that a 429 seen by one worker slows all of them:

- ``pause_until``: no poll of the host starts before it (a 429's hint, else a backoff);
- ``current``: the rate now. A 429 halves it (at most once per window: a 429 answering a poll
  sent before the last decrease lowers nothing more), never below ``max(MIN_RATE, FLOOR *
  limit)``; every answer to a poll sent after the last decrease adds ``INCREASE * limit`` back,
  and ``RECOVERY`` seconds without a decrease restore the limit in full.

A throttled rate is applied through the limiter's cost: while the rate is ``limit / k``, each
poll costs ``k`` of the window's ``limit`` units. The window is the one ``limits`` counts, under
one key per host, so a change of rate never opens a fresh window (no burst on recovery).

What Redis holds is untrusted: a host's hash (or the limiter's window) that is not what
docstatus writes — a field that is not a number, a key of another type — is reset (the full
rate, no pause) with one log line naming the host, and the poll goes on.
"""

from __future__ import annotations

import logging
import math
from importlib import import_module
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from docstatus._waiting._many import FLOOR, INCREASE, MIN_RATE, RECOVERY

from ._store import damaged, describe, reason

if TYPE_CHECKING:
    from collections.abc import Callable

    from docstatus._waiting._core import WaitPolicy

_T = TypeVar("_T")
#: A host paused longer than this (seconds) holds a damaged pause: no 429's hint is that long.
MAX_PAUSE: Final = 86400.0
logger: Final = logging.getLogger("docstatus")

#: Redis key prefix of everything docstatus keeps there (besides Celery's own keys).
PREFIX: Final = "docstatus:"

# KEYS[1] the host's hash; ARGV: now, limit, recovery. Restores the limit after RECOVERY seconds
# without a decrease; returns {pause_until, current} as strings.
_STATE: Final = """
local h = KEYS[1]
local now, limit, recovery = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local at = redis.call('HGET', h, 'decreased_at')
if at and now - tonumber(at) >= recovery then
  redis.call('HDEL', h, 'decreased_at')
  redis.call('HSET', h, 'current', ARGV[2])
end
local pause = redis.call('HGET', h, 'pause_until') or '0'
local current = redis.call('HGET', h, 'current') or ARGV[2]
if tonumber(pause) == nil or tonumber(current) == nil then
  return redis.error_reply('docstatus-damaged: a field of the host hash is not a number')
end
return {pause, current}
"""

# KEYS[1] the host's hash; ARGV: now, pause seconds, seq, limit, floor. A 429 to poll `seq`.
_THROTTLE: Final = """
local h = KEYS[1]
local now, pause, seq = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local limit, floor = tonumber(ARGV[4]), tonumber(ARGV[5])
local paused = tonumber(redis.call('HGET', h, 'pause_until') or '0')
if now + pause > paused then redis.call('HSET', h, 'pause_until', tostring(now + pause)) end
local at = redis.call('HGET', h, 'decreased_at')
local decreased = tonumber(redis.call('HGET', h, 'decreased') or '0')
if (not at) or seq > decreased then
  local current = tonumber(redis.call('HGET', h, 'current') or ARGV[4])
  current = math.max(floor, current / 2)
  redis.call('HSET', h, 'current', tostring(current), 'decreased', redis.call('HGET', h, 'sent') or '0',
             'decreased_at', tostring(now))
end
return 1
"""

# KEYS[1] the host's hash; ARGV: seq, limit, increase. An answer (not a 429) to poll `seq`.
_ANSWERED: Final = """
local h = KEYS[1]
local seq, limit, inc = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('HSET', h, 'strikes', '0')
local at = redis.call('HGET', h, 'decreased_at')
local decreased = tonumber(redis.call('HGET', h, 'decreased') or '0')
if at and seq > decreased then
  local current = tonumber(redis.call('HGET', h, 'current') or ARGV[2]) + inc * limit
  if current >= limit then
    redis.call('HDEL', h, 'decreased_at')
    current = limit
  end
  redis.call('HSET', h, 'current', tostring(current))
end
return 1
"""


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
    _scripts: dict[str, Any] = attrs.Factory(dict)

    def __attrs_post_init__(self) -> None:
        if self.rate is not None:
            from importlib import import_module  # noqa: PLC0415

            item = import_module("limits").RateLimitItemPerSecond  # the celery extra

            # An integer number of polls per window of whole seconds: 2.5/s is 5 per 2 s.
            seconds = 1 if self.rate >= 1 else math.ceil(1 / self.rate)
            self._item = item(max(1, round(self.rate * seconds)), seconds)
        for name, source in (("state", _STATE), ("throttle", _THROTTLE), ("answered", _ANSWERED)):
            self._scripts[name] = self.redis.register_script(source)

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
        """Forget the host's state (pause, rate, sequence) and its limiter window."""
        self.redis.delete(self.hash_key)
        if self._item is not None:
            self.limiter.clear(self._item, self.key)

    def acquire(self, now: float) -> tuple[float, int]:
        """Try to start a poll at wall-clock ``now``: ``(0, seq)`` when it may start now (``seq``
        numbers it, for ``throttle``/``answered``), else ``(seconds to wait, 0)``."""
        return self._guarded(lambda: self._acquire(now))

    def _acquire(self, now: float) -> tuple[float, int]:
        limit = self.rate if self.rate is not None else 1e9
        pause_s, current_s = self._scripts["state"](keys=[self.hash_key], args=[repr(now), repr(limit), RECOVERY])
        pause_until, current = _number(pause_s), _number(current_s)
        if pause_until - now > MAX_PAUSE:
            raise _Damaged(f"a pause of {pause_until - now:.0f} s")
        floor = min(limit, max(MIN_RATE, FLOOR * limit))
        if not floor - 1e-9 <= current <= limit + 1e-9:  # AIMD keeps it there: any other rate is not ours
            raise _Damaged(f"a rate of {current!r} outside [{floor:g}, {limit:g}]")
        if pause_until > now:
            return pause_until - now, 0
        if self.rate is not None:
            cost = max(1, round(self.rate / max(current, 1e-9)))
            if not self.limiter.hit(self._item, self.key, cost=cost):
                stats = self.limiter.get_window_stats(self._item, self.key)
                return max(0.02, min(float(stats.reset_time) - now, float(self._item.get_expiry()))), 0
        return 0.0, int(self.redis.hincrby(self.hash_key, "sent", 1))

    def throttle(self, now: float, hint: float | None, policy: WaitPolicy, seq: int) -> None:
        """Poll ``seq`` got a 429 (or a 5xx with a hint): pause the host for every worker and
        lower its rate, unless it was lowered since that poll was sent."""
        self._guarded(lambda: self._throttle(now, hint, policy, seq))

    def _throttle(self, now: float, hint: float | None, policy: WaitPolicy, seq: int) -> None:
        strikes = int(self.redis.hincrby(self.hash_key, "strikes", 1))
        pause = policy.clamp_hint(hint) if hint is not None else policy.backoff(strikes - 1)
        limit = self.rate if self.rate is not None else 1e9
        floor = min(limit, max(MIN_RATE, FLOOR * limit))
        self._scripts["throttle"](keys=[self.hash_key], args=[repr(now), repr(pause), seq, repr(limit), repr(floor)])

    def answered(self, seq: int) -> None:
        """Poll ``seq`` got an answer that was not a 429: raise a throttled rate."""
        limit = self.rate if self.rate is not None else 1e9
        self._guarded(lambda: self._scripts["answered"](keys=[self.hash_key], args=[seq, repr(limit), INCREASE]))

    def current(self, now: float) -> float | None:
        """The rate now (``None`` without a limit), for tests and monitoring."""
        if self.rate is None:
            return None
        rate = self.rate
        _, current = self._guarded(
            lambda: self._scripts["state"](keys=[self.hash_key], args=[repr(now), repr(rate), RECOVERY])
        )
        return _number(current)


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
