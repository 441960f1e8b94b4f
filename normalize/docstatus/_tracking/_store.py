"""The tracker's database: stdlib ``sqlite3`` in WAL mode, one file, no server.

Tables (schema version in ``PRAGMA user_version``; ``MIGRATIONS[n]`` takes version ``n`` to
``n + 1``, each in one transaction, so every release can read every older file):

- ``jobs``: one row per tracked job, by canonical ref: the string given, its idempotency
  ``key``, ``meta`` (JSON), ``added``, ``deadline`` (wall clock), ``status`` (``active`` or
  ``done``), ``state`` (the last state seen, or how it ended), ``next_due``, ``wait`` (the
  ``WaitState`` JSON, persisted after every poll), ``outcome`` (JSON, once done), and the lease
  (``owner``, ``lease_until``) of the ``track run`` that polls it.
- ``outbox``: one row per finished job, written in the transaction that ends the job and never
  changed after: ``key``, ``ref``, ``outcome``; ``delivered`` is set only after every callback
  returned (a delivery in progress holds a claim, ``claim_owner`` / ``claim_until``).

Concurrency: every write that picks rows (claims) is ``BEGIN IMMEDIATE``, so two processes never
pick the same row; every write about a job checks that the writer still holds its lease and
that the job is still active, so a run that lost its lease cannot overwrite anything, and a job
ends once, with one outcome.

Durability: WAL with ``synchronous=NORMAL``: a committed transaction survives the process being
killed (``kill -9``); on power loss the last transactions may be lost, never the file's
consistency. No credential is ever written: rows hold refs, statuses and error messages (with
configured tokens scrubbed once more, belt and braces), never a configuration.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from docstatus._exceptions import DocstatusError
from docstatus._secrets import scrub

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

#: The schema version this docstatus writes.
SCHEMA_VERSION: Final = 1

#: ``MIGRATIONS[n]`` takes a file from schema version ``n`` to ``n + 1``.
MIGRATIONS: Final[tuple[str, ...]] = (
    """
    CREATE TABLE jobs (
        ref TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        key TEXT NOT NULL UNIQUE,
        meta TEXT NOT NULL,
        added REAL NOT NULL,
        deadline REAL NOT NULL,
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'done')),
        state TEXT NOT NULL DEFAULT 'new',
        next_due REAL NOT NULL,
        polls INTEGER NOT NULL DEFAULT 0,
        wait TEXT,
        outcome TEXT,
        owner TEXT,
        lease_until REAL,
        updated REAL NOT NULL
    );
    CREATE INDEX jobs_due ON jobs (status, next_due);
    CREATE INDEX jobs_state ON jobs (state);
    CREATE TABLE outbox (
        key TEXT PRIMARY KEY,
        ref TEXT NOT NULL,
        outcome TEXT NOT NULL,
        created REAL NOT NULL,
        delivered REAL,
        attempts INTEGER NOT NULL DEFAULT 0,
        claim_owner TEXT,
        claim_until REAL
    );
    CREATE INDEX outbox_pending ON outbox (delivered, created);
    """,
)

#: Seconds a statement waits for another process's write lock before the database counts as locked.
BUSY_TIMEOUT: Final = 30.0


class TrackerError(DocstatusError):
    """The tracker's database cannot be used: ``reason`` is ``corrupt``, ``locked``,
    ``readonly``, ``newer`` (written by a newer docstatus), ``full`` (the disk is full, or refused
    a write: a quota, a file size limit, a failing disk) or ``open``
    (the file cannot be opened). Nothing was lost: what was committed before stays.

    Attributes:
        reason: One of the words above.
        path: The database file.
    """

    def __init__(self, message: str, *, reason: str, path: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.path = path


#: SQLite's (extended) error names for a write the disk refused: full (``ENOSPC``), or a write
#: that failed otherwise (``EFBIG`` past a file size limit, ``EDQUOT`` over a quota, ``EIO``),
#: which SQLite reports as a disk I/O error, not as full.
_FULL_NAMES: Final = frozenset({"SQLITE_FULL", "SQLITE_IOERR_WRITE", "SQLITE_IOERR_SHMSIZE"})


def _reason(exc: sqlite3.Error) -> str:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return "locked"
    if "readonly" in text or "read-only" in text:
        return "readonly"
    if "full" in text or getattr(exc, "sqlite_errorname", None) in _FULL_NAMES:
        return "full"
    if "unable to open" in text:
        return "open"
    if isinstance(exc, sqlite3.DatabaseError) and (
        "not a database" in text or "malformed" in text or "corrupt" in text
    ):
        return "corrupt"
    return "error"


_ADVICE: Final = {
    "locked": "another process holds its write lock for too long; try again",
    "readonly": "the file or its folder is read-only; give a writable --db / DOCSTATUS_TRACK_DB",
    "full": "the disk is full or refused a write (quota, file size limit, failing disk); free space and run "
    "again (nothing committed is lost)",
    "open": "the file cannot be opened or created; check the path and its folder",
    "corrupt": "the file is not a docstatus tracking database, or it is damaged; restore it or use another",
    "error": "the database failed",
}


def tracker_error(path: str, exc: sqlite3.Error) -> TrackerError:
    reason = _reason(exc)
    return TrackerError(
        f"tracking database {path}: {_ADVICE[reason]} (sqlite: {type(exc).__name__}: {exc})",
        reason=reason,
        path=path,
    )


def owner_id() -> str:
    """This process's name as a lease owner: ``host:pid:nonce``."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def _dead(owner: str) -> bool:
    """True when ``owner`` is a process on this host that no longer runs (its leases are void)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    """True when ``pid`` is a zombie (killed, not yet reaped by its parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
        return stat.rpartition(b")")[2].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


class Store:
    """One connection to a tracking database (open with ``Store.open``)."""

    def __init__(self, path: str, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn

    @classmethod
    def open(cls, path: str, *, busy_timeout: float = BUSY_TIMEOUT) -> Store:
        """Open (creating it and its folder when missing) and migrate to ``SCHEMA_VERSION``."""
        try:
            Path(path).resolve().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TrackerError(
                f"tracking database {path}: cannot create its folder ({type(exc).__name__})", reason="open", path=path
            ) from None
        try:
            conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise tracker_error(path, exc) from None
        store = cls(path, conn)
        try:
            with store.errors():
                conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise TrackerError(  # noqa: TRY301  # not an sqlite3 error: errors() lets it through
                        f"tracking database {path} has schema version {version}, written by a newer docstatus "
                        f"(this one reads up to {SCHEMA_VERSION}); upgrade docstatus to use it",
                        reason="newer",
                        path=path,
                    )
                if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    raise TrackerError(  # noqa: TRY301
                        f"tracking database {path}: the file holds tables that are not docstatus's; "
                        "give another --db / DOCSTATUS_TRACK_DB",
                        reason="corrupt",
                        path=path,
                    )
                conn.execute("PRAGMA journal_mode = WAL").fetchone()  # only once the file is known to be ours
                conn.execute("PRAGMA synchronous = NORMAL")
                if version < SCHEMA_VERSION:
                    store._migrate()
                else:
                    conn.execute("SELECT count(*) FROM jobs").fetchone()  # a damaged file fails here
        except BaseException:
            conn.close()
            raise
        return store

    def _migrate(self) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise TrackerError(  # noqa: TRY301
                    f"tracking database {self.path}: the file holds tables that are not docstatus's; "
                    "give another --db / DOCSTATUS_TRACK_DB",
                    reason="corrupt",
                    path=self.path,
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """``sqlite3`` errors as ``TrackerError``."""
        try:
            yield
        except sqlite3.Error as exc:
            raise tracker_error(self.path, exc) from None

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction (the write lock first: no two pickers race)."""
        with self.errors():
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self.errors():
            cursor = self.conn.execute(sql, params)
            cursor.row_factory = sqlite3.Row
            return list(cursor.fetchall())

    # --- jobs

    def insert(self, row: dict[str, Any]) -> bool:
        """Add a job unless its ref is tracked already; True when added."""
        with self.write() as conn:
            cursor = conn.execute(
                "INSERT INTO jobs (ref, name, key, meta, added, deadline, next_due, updated) "
                "VALUES (:ref, :name, :key, :meta, :added, :deadline, :next_due, :added) "
                "ON CONFLICT (ref) DO NOTHING",
                row,
            )
            return cursor.rowcount == 1

    def insert_many(self, rows: Iterable[dict[str, Any]]) -> int:
        """Add jobs in one transaction; how many were new."""
        added = 0
        with self.write() as conn:
            for row in rows:
                cursor = conn.execute(
                    "INSERT INTO jobs (ref, name, key, meta, added, deadline, next_due, updated) "
                    "VALUES (:ref, :name, :key, :meta, :added, :deadline, :next_due, :added) "
                    "ON CONFLICT (ref) DO NOTHING",
                    row,
                )
                added += cursor.rowcount
        return added

    def delete(self, ref: str) -> bool:
        """Forget a job and its undelivered completion; True when it was tracked."""
        with self.write() as conn:
            row = conn.execute("SELECT key FROM jobs WHERE ref = ?", (ref,)).fetchone()
            if row is None:
                return False
            conn.execute("DELETE FROM jobs WHERE ref = ?", (ref,))
            conn.execute("DELETE FROM outbox WHERE key = ?", (row[0],))
            return True

    def dead_owners(self, now: float) -> list[str]:
        """Owners of live leases that are processes of this host that no longer run."""
        owners = self.query(
            "SELECT DISTINCT owner FROM jobs WHERE owner IS NOT NULL AND lease_until >= ? "
            "UNION SELECT DISTINCT claim_owner FROM outbox WHERE claim_owner IS NOT NULL AND claim_until >= ?",
            (now, now),
        )
        return [r[0] for r in owners if _dead(r[0])]

    def claim(self, owner: str, limit: int, now: float, lease: float, *, due_by: float | None) -> list[sqlite3.Row]:
        """Lease up to ``limit`` active jobs no live run holds (soonest due first; with
        ``due_by``, only those due by then), in one transaction."""
        if limit <= 0:
            return []
        dead = self.dead_owners(now)
        marks = ",".join("?" * len(dead)) or "NULL"
        due = "" if due_by is None else " AND next_due <= ?"
        params: list[Any] = [now, *dead]
        if due_by is not None:
            params.append(due_by)
        with self.write() as conn:
            free = f"(owner IS NULL OR lease_until < ? OR owner IN ({marks})){due}"  # "?" placeholders only
            columns = "ref, name, key, meta, added, deadline, next_due, wait"
            sql = f"SELECT {columns} FROM jobs WHERE status = 'active' AND {free} ORDER BY next_due LIMIT ?"  # noqa: S608
            cursor = conn.execute(sql, [*params, limit])
            cursor.row_factory = sqlite3.Row
            rows = list(cursor.fetchall())
            conn.executemany(
                "UPDATE jobs SET owner = ?, lease_until = ? WHERE ref = ?",
                [(owner, now + lease, r["ref"]) for r in rows],
            )
        return rows

    def renew(self, owner: str, refs: Sequence[str], until: float) -> set[str]:
        """Extend the leases ``owner`` still holds; the refs it no longer holds."""
        lost: set[str] = set()
        with self.write() as conn:
            for ref in refs:
                cursor = conn.execute(
                    "UPDATE jobs SET lease_until = ? WHERE ref = ? AND owner = ? AND status = 'active'",
                    (until, ref, owner),
                )
                if cursor.rowcount != 1:
                    lost.add(ref)
        return lost

    def release(self, owner: str, refs: Sequence[str]) -> None:
        """Give up leases (another run may take the jobs at once)."""
        with self.write() as conn:
            conn.executemany(
                "UPDATE jobs SET owner = NULL, lease_until = NULL WHERE ref = ? AND owner = ?",
                [(ref, owner) for ref in refs],
            )

    def save(self, owner: str, ref: str, *, state: str, wait: str, next_due: float, polls: int, now: float) -> bool:
        """Persist one poll's waiting state; False when ``owner`` no longer holds the job."""
        with self.errors():
            cursor = self.conn.execute(
                "UPDATE jobs SET state = ?, wait = ?, next_due = ?, polls = ?, updated = ? "
                "WHERE ref = ? AND owner = ? AND status = 'active'",
                (state, wait, next_due, polls, now, ref, owner),
            )
            return cursor.rowcount == 1

    def finish(
        self,
        owner: str,
        ref: str,
        key: str,
        *,
        state: str,
        wait: str,
        outcome: str,
        polls: int,
        now: float,
        lease: float | None,
    ) -> bool:
        """End a job with ``outcome`` and write its outbox row, in one transaction; False (and
        nothing written) when ``owner`` no longer holds it or it ended already. With ``lease``,
        the outbox row is claimed by ``owner`` for that many seconds, to deliver it at once."""
        with self.write() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET status = 'done', state = ?, wait = ?, outcome = ?, polls = ?, updated = ?, "
                "owner = NULL, lease_until = NULL WHERE ref = ? AND owner = ? AND status = 'active'",
                (state, wait, outcome, polls, now, ref, owner),
            )
            if cursor.rowcount != 1:
                return False
            conn.execute(
                "INSERT INTO outbox (key, ref, outcome, created, claim_owner, claim_until) VALUES (?, ?, ?, ?, ?, ?)",
                (key, ref, outcome, now, None if lease is None else owner, None if lease is None else now + lease),
            )
            return True

    # --- outbox

    def claim_outbox(self, owner: str, limit: int, now: float, lease: float) -> list[sqlite3.Row]:
        """Claim up to ``limit`` undelivered completions no live delivery holds, oldest first."""
        dead = self.dead_owners(now)
        marks = ",".join("?" * len(dead)) or "NULL"
        with self.write() as conn:
            free = f"(claim_owner IS NULL OR claim_until < ? OR claim_owner = ? OR claim_owner IN ({marks}))"
            sql = f"SELECT key, ref, outcome FROM outbox WHERE delivered IS NULL AND {free} ORDER BY created LIMIT ?"  # noqa: S608
            cursor = conn.execute(sql, [now, owner, *dead, limit])
            cursor.row_factory = sqlite3.Row
            rows = list(cursor.fetchall())
            conn.executemany(
                "UPDATE outbox SET claim_owner = ?, claim_until = ?, attempts = attempts + 1 WHERE key = ?",
                [(owner, now + lease, r["key"]) for r in rows],
            )
        return rows

    def delivered(self, key: str, now: float) -> None:
        """Mark a completion delivered (after every callback returned)."""
        with self.write() as conn:
            conn.execute(
                "UPDATE outbox SET delivered = ?, claim_owner = NULL, claim_until = NULL "
                "WHERE key = ? AND delivered IS NULL",
                (now, key),
            )

    def unclaim_all(self, owner: str) -> None:
        """Give up every delivery claim of ``owner``."""
        with self.write() as conn:
            conn.execute("UPDATE outbox SET claim_owner = NULL, claim_until = NULL WHERE claim_owner = ?", (owner,))

    def unclaim(self, owner: str, keys: Sequence[str]) -> None:
        with self.write() as conn:
            conn.executemany(
                "UPDATE outbox SET claim_owner = NULL, claim_until = NULL WHERE key = ? AND claim_owner = ?",
                [(k, owner) for k in keys],
            )


def dumps(value: Any, secrets: Iterable[str] = ()) -> str:
    """Compact JSON with every spelling of each of ``secrets`` replaced by ``***`` (the one masker)."""
    return scrub(json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False), secrets)
