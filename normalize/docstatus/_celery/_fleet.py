"""Where jobs end, learned by the whole fleet: each worker's duration model, shared through one
Redis key.

Each worker process keeps a model of its own (``Fleet.local``, a ``Durations``, made after the
fork), which every step it runs polls by and learns from (in place of ``Durations.shared()``,
the default ``WaitPolicy.durations``; a model of the caller's own, or ``None``, is used as
given and not shared). The fleet's model is ``KEY`` (``docstatus:durations``), in
``Durations.to_dict()``'s JSON form.

- *A worker that starts* takes the fleet's model as its own at its first step, before it polls:
  a new worker is as warm as the fleet at once.
- *After a step that ended a job*, once ``every`` seconds (30) have passed since the worker's
  last exchange with Redis or ``ends`` jobs (32) have ended since, it adds what it learned since
  to the fleet's model and takes the result back::

      WATCH KEY; fleet = Durations.from_dict(GET KEY) (or an empty model)
      fleet.merge(unsent)                      # unsent: what local.drain() gave, not yet added
      MULTI; SET KEY fleet; SET MARK seq; EXEC  # retried (TRIES) when another worker wrote
      local.adopt(fleet)

  A worker that stops (Celery's ``worker_process_shutdown``) adds what it has not yet added.
- *Each sample is added once*, whatever fails. Samples drained from the local model stay in
  ``unsent`` until a transaction that adds them commits. ``MARK``
  (``docstatus:durations:by:<this process's token>``: a number, kept a day, or a minute after
  a stopping worker's last exchange) is written in the same transaction: an exchange whose
  answer was lost (the connection dropped after ``EXEC``) is known to have committed, or not,
  at the next try, which adds the samples again only if it did not.
- *Redis away*: the exchange fails, and is tried again after the first step ``every`` seconds
  later; the samples stay in the local model (and in ``unsent``), and the step that tried is not
  failed (the caller logs one warning line).
- *What Redis holds is read as untrusted*: a value that is not a ``Durations`` (not JSON, another
  version or bins' layout, a key of another type, more than ``MAX_STORED``) is replaced by the
  fleet's model as this worker last saw it plus what it learned since, with one log line
  naming the key (written by the worker whose replacement committed: one line per damaged value
  for the fleet).

The value holds kinds (a provider's name and a page-count bucket, never provider text), sample
counts and weights, and each kind's quantiles: about 4 kB a kind, at most ``MAX_KINDS`` kinds
(no more than 6 providers x 62 buckets are made). No credential, no reference, no key.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from importlib import import_module
from typing import Any, Final

from docstatus._secrets import logger
from docstatus._waiting._durations import MAX_STORED, Durations, Exchange

from ._budget import PREFIX
from ._store import damaged, describe, read_json, reason

#: The fleet's duration model (``Durations.to_dict()``'s JSON form).
KEY: Final = f"{PREFIX}durations"
#: Per worker process: the number of its last exchange that committed.
MARKS: Final = f"{PREFIX}durations:by:"
#: A worker exchanges its model with the fleet's at most this often (seconds)...
SHARE_EVERY: Final = 30.0
#: ...unless this many jobs ended on it since its last exchange.
SHARE_ENDS: Final = 32
#: Transactions tried per exchange while other workers write the key in between.
TRIES: Final = 8
#: Seconds a worker's ``MARK`` is kept after its exchange (a day: the next exchange, which reads
#: it, comes sooner)...
MARK_TTL: Final = 24 * 3600
#: ...or after the exchange of a worker that stops (only that exchange's own retries read it).
LAST_MARK_TTL: Final = 60


def _number(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


class Fleet:
    """One worker process's side of the fleet's duration model (see the module docstring).

    Attributes:
        local: The model every step of this process polls by and learns from.
        every: Seconds between two exchanges with Redis at most (unless ``ends`` ended).
        ends: Jobs ended since the last exchange that make one due at once.
        conflicts: Transactions that another worker's write made fail (retried), for tests.
    """

    __slots__ = (
        "_count",
        "_ends",
        "_joined",
        "_lock",
        "_next",
        "_pending",
        "_seq",
        "_shared",
        "_token",
        "conflicts",
        "ends",
        "every",
        "local",
    )

    def __init__(self, *, every: float = SHARE_EVERY, ends: int = SHARE_ENDS) -> None:
        self._shared = Exchange()  # with the fleet's model in Redis
        self.local = self._shared.local
        self.every = every
        self.ends = ends
        self.conflicts = 0
        self._ends = 0
        self._joined = False
        self._next = 0.0  # on the monotonic clock
        self._token = uuid.uuid4().hex
        self._seq = 0
        self._pending: int | None = None  # an exchange whose outcome is not known
        self._lock = threading.Lock()  # one exchange at a time
        self._count = threading.Lock()

    def ended(self) -> None:
        """A step of this process ended a job."""
        with self._count:
            self._ends += 1

    def due(self, now: float, *, joining: bool = False) -> bool:
        """An exchange is due at ``now`` (``joining``: only the first one, before any poll)."""
        if not self._joined:
            return now >= self._next
        if joining:
            return False
        owed = self._ends > 0 or self._pending is not None  # learned, or an exchange that failed
        return self._ends >= self.ends or (owed and now >= self._next)

    def unsent(self) -> bool:
        """Something learned here is not known to be in the fleet's model yet."""
        return self._ends > 0 or self._pending is not None or bool(self._shared.unsent.kinds)

    def share(self, redis: Any, now: float, *, last: bool = False) -> bool:
        """Exchange this process's model with the fleet's (see the module docstring): ``True``
        once done, ``False`` if another thread of the process is exchanging, or every try met
        another worker's write (the samples stay for the next exchange). Redis's errors are
        raised (the samples stay too). ``last``: the process stops (its mark is kept briefly)."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            self._next = now + self.every  # after a failure too: Redis away is asked again later
            with self._count:
                self._ends = 0
            return self._exchange(redis, LAST_MARK_TTL if last else MARK_TTL)
        finally:
            self._lock.release()

    def _exchange(self, redis: Any, mark_ttl: int) -> bool:
        mark = MARKS + self._token
        if self._pending is not None:  # the last exchange's answer was lost: did it commit?
            if _number(redis.get(mark)) == self._pending:
                self._shared.unsent = Durations()
            self._pending = None
        self._shared.stage()
        self._seq += 1
        seq = self._pending = self._seq
        watch_error = import_module("redis").exceptions.WatchError
        for attempt in range(TRIES):
            try:
                fleet, why = self._transaction(redis, mark, seq, mark_ttl)
            except watch_error:
                self.conflicts += 1
                time.sleep(random.uniform(0.0, 0.005 * 2**attempt))  # noqa: S311  # jitter, not a secret
                continue
            self._shared.done(fleet)
            self._pending = None
            self._joined = True
            if why is not None:
                logger.error(
                    "docstatus.poll: the jobs' durations in Redis (%s) were damaged (%s); they are replaced "
                    "by what this worker knew of them plus what it learned since (%d samples)",
                    describe(KEY),
                    why,
                    fleet.total(),
                )
            return True
        logger.warning(
            "docstatus.poll: could not add this worker's job durations to Redis's (%s): other workers wrote it "
            "%d times in a row; they are added at the next exchange",
            describe(KEY),
            TRIES,
        )
        return False

    def _transaction(self, redis: Any, mark: str, seq: int, mark_ttl: int) -> tuple[Durations, str | None]:
        """One try: the fleet's model after it, and why the value it replaced was damaged."""
        with redis.pipeline(transaction=True) as pipe:
            pipe.watch(KEY)
            read, why = _read(pipe)
            # Nothing to add, or an earlier try committed (its answer was lost): take the fleet's.
            if read is not None and (not self._shared.unsent.kinds or _number(pipe.get(mark)) == seq):
                return read, None
            fleet = self._shared.merged(read)  # damaged: what this worker last saw of the fleet's, plus its own
            value = json.dumps(fleet.to_dict(), separators=(",", ":"))
            pipe.multi()
            pipe.set(KEY, value)
            pipe.set(mark, str(seq), ex=mark_ttl)
            pipe.execute()
        return fleet, why


def _read(pipe: Any) -> tuple[Durations | None, str | None]:
    """The fleet's model (an empty one when there is none yet), or ``None`` and why it is
    damaged."""
    try:
        size = int(pipe.strlen(KEY))
        if size > MAX_STORED:
            return None, f"it is {size} bytes long, more than {MAX_STORED}"
        raw = pipe.get(KEY)
    except import_module("redis").exceptions.ResponseError as exc:
        if not damaged(exc):
            raise
        return None, reason(exc)
    if raw is None:
        return Durations(), None
    try:
        return Durations.from_dict(read_json(raw)), None
    except ValueError as exc:
        return None, reason(exc)
