"""Where jobs end, learned by every run on one tracking database: the duration model kept in the
file, so a restarted run is as warm as the runs before it.

The model is the ``learned`` table's ``durations`` row (schema 4), in ``Durations.to_dict()``'s
JSON form. A run whose policy has the process's shared model (``Durations.shared()``, the
default ``WaitPolicy.durations``) polls by a model of its Tracker's own (``Learned.local``) and
exchanges it with the file's; a model of the caller's own, or ``None``, is used as given, and
the file's is neither read nor written.

- *When a run starts*, before its first poll, it takes the file's model as its own.
- *Every* ``ends`` *jobs ended* by the run (32), and *when it stops* (done, ``stop``, an error),
  it adds what it learned since to the file's model and takes the result back, in one
  ``BEGIN IMMEDIATE`` transaction::

      stored = Durations.from_dict(the row) (or an empty model)
      stored.merge(unsent)                  # unsent: what local.drain() gave, not yet written
      write stored; COMMIT
      local.adopt(stored)

  Runs on one file (in one process or several) each add their own samples: none overwrites
  another's, and each sample is added once (drained samples stay in ``unsent`` until the
  transaction that writes them commits; a transaction that fails writes nothing).
- *A write that fails* (a full disk, a file locked past the busy timeout) is one warning line;
  the run goes on and the samples are added at the next exchange.
- *What the file holds is read as untrusted*: a value that is not a ``Durations`` (not text,
  not JSON, another version or bins' layout, wrong types, more than ``MAX_STORED``) is one
  warning line naming it; the run starts cold (an empty model) and the value is replaced, in
  the same transaction, by what this run knew of the file's model plus what it learned since.

The value holds kinds (a provider's name and a page-count bucket, never provider text), sample
counts and weights: about 4 kB a kind. No credential, no ref, no status.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Final

from docstatus._secrets import logger
from docstatus._text import loads
from docstatus._waiting._durations import MAX_STORED, Durations, Exchange

if TYPE_CHECKING:
    from ._store import Store

#: The ``learned`` row that holds the duration model.
NAME: Final = "durations"
#: A run adds what it learned to the file's model once this many of its jobs ended since.
SHARE_ENDS: Final = 32


def _why(exc: BaseException) -> str:
    said = str(exc) or type(exc).__name__
    return repr(said[:200])[1:-1]


class Learned:
    """A Tracker's side of the duration model kept in its file (see the module docstring).

    Attributes:
        local: The model the Tracker's runs poll by and learn from.
        ends: Jobs ended since the last exchange that make one due.
    """

    __slots__ = ("_ended", "_shared", "ends", "local")

    def __init__(self, *, ends: int = SHARE_ENDS) -> None:
        self._shared = Exchange()  # with the file's model
        self.local = self._shared.local
        self.ends = ends
        self._ended = 0

    def ended(self, count: int = 1) -> bool:
        """``count`` jobs of a run ended: True when an exchange is due."""
        self._ended += count
        return self._ended >= self.ends

    def exchange(self, store: Store) -> bool:
        """Add what was learned since the last exchange to the file's model and take the result
        as ``local`` (one transaction): True once done; False (one warning line) when the file
        refused the write (the samples stay for the next exchange). Never raises a
        ``TrackerError``."""
        from ._store import TrackerError  # noqa: PLC0415  # _store imports nothing of this module's

        store.flush()  # the run's own writes first, their errors its own (they stop it)
        self._ended = 0
        shared = self._shared
        shared.stage()
        try:
            with store.write() as conn:
                head = conn.execute("SELECT typeof(value), length(value) FROM learned WHERE name = ?", (NAME,))
                read, why = self._read(head.fetchone(), store)
                learned = bool(shared.unsent.kinds)
                stored = shared.merged(read)  # damaged: what this Tracker last saw of the file's, plus its own
                if learned or why is not None:
                    value = json.dumps(stored.to_dict(), separators=(",", ":"))
                    conn.execute(
                        "INSERT INTO learned (name, value, updated) VALUES (?, ?, ?) "
                        "ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated = excluded.updated",
                        (NAME, value, time.time()),
                    )
        except TrackerError as exc:
            logger.warning(
                "tracking database %s: the jobs' durations could not be saved (%s); this run keeps what it learned "
                "and saves it at the next try",
                store.path,
                exc.reason,
            )
            return False
        shared.done(stored)
        if why is not None:
            logger.warning(
                "tracking database %s: its stored job durations (table learned, row %r) cannot be read (%s); "
                "the run starts without them, and they are replaced by what this run learned (%d samples)",
                store.path,
                NAME,
                why,
                stored.total(),
            )
        return True

    @staticmethod
    def _read(head: tuple[str, int] | None, store: Store) -> tuple[Durations | None, str | None]:
        """The file's model (an empty one when there is none yet), or ``None`` and why it is
        damaged; ``head`` is the row's value's type and length."""
        if head is None:
            return Durations(), None
        kind, size = head
        if kind != "text":
            return None, f"its value is {kind}, not text"
        if size > MAX_STORED:
            return None, f"it is {size} characters long, more than {MAX_STORED}"
        (raw,) = store.conn.execute("SELECT value FROM learned WHERE name = ?", (NAME,)).fetchone()
        try:
            data = loads(raw)
        except (ValueError, TypeError) as exc:
            return None, f"not JSON ({type(exc).__name__}: {_why(exc)})"
        try:
            return Durations.from_dict(data), None
        except ValueError as exc:
            return None, _why(exc)
