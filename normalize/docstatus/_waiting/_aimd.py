"""The rate adaptation after a 429 (AIMD): the one place its rules are written.

Sans-IO: a ``Throttling`` value and pure functions that return the next one. ``watch_many``'s
``HostBudget`` keeps the value in memory; Celery's ``SharedBudget`` keeps it in a Redis hash
(read, apply the same function, write back in one transaction). Neither has a rule of its own.

The rules:

- **A 429** (or a 5xx with a hint) at ``now`` (``on_429``) pauses every poll of the host until
  ``now`` + the hint (clamped like any hint), else + a backoff after the 429s in a row
  (``strikes``); a later pause never shortens an earlier one.
- It also **halves the rate** (from the configured rate, or, for a host without one, from the
  pace that met the 429, which becomes the host's limit while it is throttled), never below
  ``floor(limit)``; at most once per *epoch*: a poll is sent in the epoch of the decreases
  before it, and a 429 to a poll of an earlier epoch than the host's (sent before the last
  decrease) lowers the rate no further, so a burst of 429s to the polls in flight counts once.
- **Every answer** other than a 429 (``on_answer``) ends the strikes, and, to a poll sent after
  the last decrease, adds ``INCREASE * limit`` back; reaching the limit restores it.
- ``RECOVERY`` seconds without a decrease (``recovered``) restore the limit in full.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

import attrs

if TYPE_CHECKING:
    from ._core import WaitPolicy

#: The fraction of a host's limit that each answer (not a 429) to a poll sent after the last
#: decrease adds back to a throttled rate.
INCREASE: Final = 0.1
#: Seconds without a decrease after which a throttled host's rate is back to its limit.
RECOVERY: Final = 5.0
#: A throttled host's rate never goes below ``max(MIN_RATE, FLOOR * limit)`` requests per second
#: (nor above the limit itself).
MIN_RATE: Final = 1.0
FLOOR: Final = 0.1


def floor(limit: float) -> float:
    """The lowest rate a host whose limit is ``limit`` is throttled to."""
    return min(limit, max(MIN_RATE, FLOOR * limit))


@attrs.frozen(kw_only=True)
class Throttling:
    """One host's throttling state: what the rules read and return.

    Attributes:
        rate: The configured rate (polls per second; ``None``: no limit). The rules never change it.
        current: The rate now (lower after a 429); ``None``: no limit.
        limit_seen: For a host without a configured rate, the pace that met the first 429 of a
            throttling (its limit while throttled), else ``None``.
        pause_until: No poll starts before this time.
        decreases: Rate decreases so far: the epoch a poll sent now is in.
        decreased_at: When the rate was last lowered, while it is below its limit, else ``None``.
        strikes: 429s in a row (the pause's backoff exponent when there is no hint).
    """

    rate: float | None
    current: float | None
    limit_seen: float | None = None
    pause_until: float = -math.inf
    decreases: int = 0
    decreased_at: float | None = None
    strikes: int = 0

    @classmethod
    def start(cls, rate: float | None) -> Throttling:
        """A host not throttled, at its configured ``rate``."""
        return cls(rate=rate, current=rate)

    @property
    def limit(self) -> float | None:
        """The rate the host goes back to: the configured one, or the pace that met the 429."""
        return self.rate if self.rate is not None else self.limit_seen


def on_429(
    state: Throttling, now: float, hint: float | None, policy: WaitPolicy, epoch: int, pace: float | None
) -> Throttling:
    """A poll sent in ``epoch`` got a 429 (or a 5xx with ``hint``) at ``now``.

    ``pace``: the host's polls per second lately, the limit a host without a configured rate takes
    (``None``: such a host keeps no rate, only its pauses)."""
    strikes = state.strikes + 1
    pause = policy.clamp_hint(hint) if hint is not None else policy.backoff(strikes - 1)
    state = attrs.evolve(state, strikes=strikes, pause_until=max(state.pause_until, now + pause))
    if state.decreased_at is not None and epoch < state.decreases:
        return state  # sent before the last decrease: the same epoch's 429s lower the rate once
    rate, limit_seen = state.current, state.limit_seen
    if rate is None:  # no configured limit: half the pace that met the 429
        if pace is None:
            return state
        rate = limit_seen = pace
    limit = state.rate if state.rate is not None else limit_seen
    assert limit is not None
    return attrs.evolve(
        state,
        current=max(floor(limit), rate / 2.0),
        limit_seen=limit_seen,
        decreases=state.decreases + 1,
        decreased_at=now,
    )


def on_answer(state: Throttling, epoch: int) -> Throttling:
    """A poll sent in ``epoch`` got an answer that was not a 429 (``state`` itself when nothing changes)."""
    if state.strikes:
        state = attrs.evolve(state, strikes=0)
    limit = state.limit
    if state.decreased_at is None or epoch < state.decreases or state.current is None or limit is None:
        return state
    current = state.current + INCREASE * limit
    return _restore(state) if current >= limit else attrs.evolve(state, current=current)


def recovered(state: Throttling, now: float) -> Throttling:
    """``state`` at ``now``: its limit back after ``RECOVERY`` seconds without a decrease
    (``state`` itself when nothing changes)."""
    if state.decreased_at is not None and now - state.decreased_at >= RECOVERY:
        return _restore(state)
    return state


def _restore(state: Throttling) -> Throttling:
    return attrs.evolve(state, current=state.rate, limit_seen=None, decreased_at=None)
