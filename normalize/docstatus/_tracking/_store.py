"""The tracker's database: stdlib ``sqlite3`` in WAL mode, one file, no server.

Tables (schema version in ``PRAGMA user_version``; ``MIGRATIONS[n]`` takes version ``n`` to
``n + 1``, each in one transaction, so every release can read every older file):

- ``jobs``: one row per tracked job, by canonical ref: the string given, its idempotency
  ``key``, ``meta`` (JSON), ``added``, ``deadline`` (wall clock), ``status`` (``active`` or
  ``done``), ``state`` (the last state seen, or how it ended), ``next_due``, ``wait`` (the
  ``WaitState`` JSON without its last status, written after every poll), ``last`` (the last
  status's JSON when it is ``INLINE_LIMIT`` characters or fewer, written only when it changed),
  ``outcome`` (JSON, once done), and the lease (``owner``, ``lease_until``, ``lease_gen``) of
  the ``track run`` that polls it.
- ``statuses``: an active job's last status when it is larger (``ref``, ``last``), in a table
  of its own, written only when it changed: a poll that brings the same status rewrites only
  the small ``jobs`` row (a few KiB to the ``-wal``), never the status, however large (SQLite
  rewrites a whole row, its overflow pages too, when one of its columns changes). A job's last
  status is in one of the two places; both are emptied when it ends (its outcome holds the
  final one).
- ``learned`` (version 4): what the runs learned that outlives them, one row per ``name``:
  ``durations``, the duration model (``Durations.to_dict()``'s JSON), read when a run starts
  and added to by every run (see ``_tracking/_learned.py``).
- ``outbox``: one row per finished job, written in the transaction that ends the job and never
  changed after: ``key``, ``ref``, ``outcome``; ``delivered`` is set only after every callback
  returned (a delivery in progress holds a claim, ``claim_owner`` / ``claim_until``).

Indexes (version 3): ``jobs_free`` (``next_due`` of the active jobs no run holds), the due index
runs claim from, soonest due first, without stepping over the jobs runs hold; ``jobs_leased``
(``owner, lease_until`` of the held ones: renewals, lapsed leases, runs that died);
``jobs_state`` (``state, status, added``) and ``jobs_added`` (``status, added``), which ``ls``
pages through in the order jobs were added and ``counts`` reads without touching a row;
``outbox_claims`` (the delivery claims held). Nothing reads a whole table: a run, ``ls``,
``show`` and ``counts`` cost about the same with ten jobs or ten million.

Ours or not: a file is used only once it is known to be a docstatus tracking database, decided
before anything is written to it (no journal mode, no migration, no ``-wal``/``-shm`` left
beside it): by ``PRAGMA application_id`` (``APPLICATION_ID``, set when the file is made and by
the migration to version 2), or, for a file made before it, by an exact comparison of its schema
with version 1's. Another program's SQLite file, a file that is not SQLite, and a damaged one are
refused with their bytes unchanged. A missing file is created, never a missing folder.

Concurrency: every write that picks rows (claims) is ``BEGIN IMMEDIATE``, so two processes never
pick the same row, and each claim of a job bumps its ``lease_gen`` (a fencing number); every
write about a job checks that the writer still holds that lease (owner and generation) and that
the job is still active, so a run that lost its lease cannot overwrite anything, and a job ends
once, with one outcome.

Durability: WAL with ``synchronous=NORMAL``: a committed transaction survives the process being
killed (``kill -9``); on power loss the last transactions may be lost, never the file's
consistency. No credential is ever written: rows hold refs, statuses and error messages (with
configured tokens scrubbed once more, belt and braces), never a configuration.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import shutil
import socket
import sqlite3
import stat
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, Final, ParamSpec

from docstatus._exceptions import DocstatusError
from docstatus._secrets import scrub
from docstatus._text import clean, loads

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

P = ParamSpec("P")

#: The schema version this docstatus writes.
SCHEMA_VERSION: Final = 4

#: ``PRAGMA application_id`` of a docstatus tracking database: "DSTK".
APPLICATION_ID: Final = 0x4453544B

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
    # 2: the last status out of the waiting state, written only when it changes: in the row when
    # small, in a table of its own when large (a done job's is in its outcome: ``_move_last``
    # moves them), a fencing number per lease, and the file marked as docstatus's.
    f"""
    CREATE TABLE statuses (
        ref TEXT PRIMARY KEY,
        last TEXT NOT NULL
    );
    ALTER TABLE jobs ADD COLUMN last TEXT;
    ALTER TABLE jobs ADD COLUMN lease_gen INTEGER NOT NULL DEFAULT 0;
    PRAGMA application_id = {APPLICATION_ID};
    """,
    # 3: indexes for a run that schedules from the database and for listings that page: ``ls
    # --state S`` in the order jobs were added, ``counts`` from an index alone, and the leased
    # rows (a run looks for dead owners at every claim) without reading the table.
    """
    DROP INDEX jobs_due;
    DROP INDEX jobs_state;
    CREATE INDEX jobs_state ON jobs (state, status, added);
    CREATE INDEX jobs_added ON jobs (status, added);
    CREATE INDEX jobs_free ON jobs (next_due) WHERE status = 'active' AND owner IS NULL;
    CREATE INDEX jobs_leased ON jobs (owner, lease_until) WHERE owner IS NOT NULL;
    CREATE INDEX outbox_claims ON outbox (claim_owner) WHERE claim_owner IS NOT NULL;
    """,
    # 4: what runs learn that outlives them, by name: the duration model (``durations``).
    """
    CREATE TABLE learned (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated REAL NOT NULL
    );
    """,
)


def _move_last(conn: sqlite3.Connection) -> None:
    """Version 2's data step: each active job's last status moves from its ``wait`` JSON to its
    ``last`` column, or to ``statuses`` when large (a done job's is dropped: its outcome has it).
    A ``wait`` that cannot be read is left as it is (the job starts waiting over when a run
    takes it)."""
    for row in fetch(conn, "SELECT rowid, ref, status, wait FROM jobs WHERE wait IS NOT NULL"):
        try:
            data = loads(row["wait"])
        except (ValueError, TypeError):
            continue
        if not isinstance(data, dict) or "last" not in data:
            continue
        last = data.pop("last")
        text = dumps(last) if isinstance(last, dict) and row["status"] == "active" else None
        inline = text if text is not None and len(text) <= INLINE_LIMIT else None
        conn.execute("UPDATE jobs SET wait = ?, last = ? WHERE rowid = ?", (dumps(data), inline, row["rowid"]))
        if text is not None and inline is None:
            conn.execute("INSERT OR REPLACE INTO statuses (ref, last) VALUES (?, ?)", (row["ref"], text))


#: Steps in Python run after ``MIGRATIONS[n]``, in its transaction.
DATA_STEPS: Final[dict[int, Callable[[sqlite3.Connection], None]]] = {1: _move_last}

#: Seconds a statement waits for another process's write lock before the database counts as locked.
BUSY_TIMEOUT: Final = 30.0

#: A file without ``APPLICATION_ID`` whose schema cannot be read from the main file alone (it
#: sits in its ``-wal``) is read from a private copy, up to this many bytes; a larger one is refused.
COPY_LIMIT: Final = 256 * 1024 * 1024

_MAGIC: Final = b"SQLite format 3\x00"

#: A last status of at most this many characters (JSON) is kept in its job's row; a larger one in
#: ``statuses`` (a row that spills onto overflow pages is rewritten whole at every update).
INLINE_LIMIT: Final = 2048

#: Bytes of SQLite page cache while jobs are added (``insert_many``).
INSERT_CACHE: Final = 64 * 1024 * 1024

#: Every column of ``jobs`` with its ``rowid``, and its large last status (``side_last``).
JOB_ROWS: Final = (
    "SELECT jobs.rowid AS rowid, jobs.*, statuses.last AS side_last FROM jobs LEFT JOIN statuses USING (ref)"
)


def job_rows(index: str) -> str:
    """``JOB_ROWS`` read through ``index`` (SQLite's planner, without statistics, may otherwise
    read a whole index and sort it)."""
    return JOB_ROWS.replace("FROM jobs ", f"FROM jobs INDEXED BY {index} ", 1)


#: Seconds a list of dead lease owners is reused.
DEAD_EVERY: Final = 1.0


class TrackerError(DocstatusError):
    """The tracker's database cannot be used: ``reason`` is ``corrupt`` (damaged, or not a
    docstatus tracking database: another program's, or not SQLite at all; it is left as it was),
    ``locked``, ``readonly``, ``newer`` (written by a newer docstatus), ``full`` (the disk is
    full, or refused a write: a quota, a file size limit, a failing disk) or ``open`` (the file
    cannot be opened, or its folder does not exist). Nothing was lost: what was committed
    before stays.

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


def _not_ours(path: str, what: str) -> TrackerError:
    return TrackerError(
        f"tracking database {path}: {what}, not a docstatus tracking database; it was left as it is: "
        "give another --db / DOCSTATUS_TRACK_DB",
        reason="corrupt",
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
        stat_line = Path(f"/proc/{pid}/stat").read_bytes()
        return stat_line.rpartition(b")")[2].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


# --- ours or not, decided before anything is written

#: A schema as ``sqlite_master`` lists it: (type, name, tbl_name, sql) rows, sorted.
Schema = tuple[tuple[Any, ...], ...]
_SCHEMA_SQL: Final = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"


def _statements(migration: str) -> list[str]:
    return [s for s in migration.split(";") if s.strip()]


@functools.cache
def expected_schema(version: int) -> Schema:
    """The schema a file of ``version`` made by docstatus has: ``MIGRATIONS[:version]`` run in memory."""
    conn = sqlite3.connect(":memory:")
    try:
        for migration in MIGRATIONS[:version]:
            for statement in _statements(migration):
                conn.execute(statement)
        return tuple(conn.execute(_SCHEMA_SQL).fetchall())
    finally:
        conn.close()


def _view(path: str) -> tuple[int, int, Schema]:
    """``user_version``, ``application_id`` and schema of the file as it stands on disk, read
    with ``immutable=1``: no lock, no ``-wal``/``-shm``, nothing written (a ``-wal``'s content is
    not seen)."""
    uri = Path(path).resolve().as_uri() + "?immutable=1"
    return _read_view(sqlite3.connect(uri, uri=True))


def _read_view(conn: sqlite3.Connection) -> tuple[int, int, Schema]:
    """``user_version``, ``application_id`` and schema read on ``conn``, which is then closed."""
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        return version, app, tuple(conn.execute(_SCHEMA_SQL).fetchall())
    finally:
        conn.close()


def _view_with_wal(path: str, wal: Path) -> tuple[int, int, Schema]:
    """As ``_view``, with what the ``-wal`` beside it holds: read from a private copy of both
    (SQLite would otherwise recover the ``-wal`` into the file, and leave ``-shm`` behind)."""
    with tempfile.TemporaryDirectory(prefix="docstatus-check-") as folder:
        copy = Path(folder) / "copy.db"
        shutil.copyfile(path, copy)
        shutil.copyfile(wal, f"{copy}-wal")
        return _read_view(sqlite3.connect(copy))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def judge(path: str) -> str:
    """Whether ``path`` may be used, read without writing anything: ``"new"`` (missing, or an
    empty database: docstatus makes it), ``"ours"`` (marked with ``APPLICATION_ID``) or ``"v1"``
    (made before the mark: exactly version 1's schema); else ``TrackerError``."""
    file = Path(path)
    try:
        info = file.stat()
    except FileNotFoundError:
        folder = file.absolute().parent
        if not folder.is_dir():
            raise TrackerError(
                f"tracking database {path}: its folder {folder} does not exist (docstatus creates the file, "
                "never a folder: check the path for a typo, or create the folder first)",
                reason="open",
                path=path,
            ) from None
        return "new"
    except OSError as exc:
        raise TrackerError(
            f"tracking database {path}: cannot be opened ({type(exc).__name__}: {exc.strerror})",
            reason="open",
            path=path,
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise _not_ours(path, "not a regular file")
    wal = Path(f"{path}-wal")
    if info.st_size == 0:
        if _size(wal) > 0:  # SQLite would delete that -wal: whoever wrote it is not told
            raise _not_ours(path, "an empty file with a -wal beside it")
        return "new"
    try:
        with file.open("rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise TrackerError(
            f"tracking database {path}: cannot be read ({type(exc).__name__}: {exc.strerror}); check its permissions",
            reason="readonly" if isinstance(exc, PermissionError) else "open",
            path=path,
        ) from None
    if len(header) < 100 or not header.startswith(_MAGIC):
        raise _not_ours(path, "not a SQLite database" if not header.startswith(_MAGIC) else "a truncated file")
    app = int.from_bytes(header[68:72], "big", signed=True)
    if app == APPLICATION_ID:
        return "ours"
    if app != 0:
        raise _not_ours(path, f"another program's SQLite database (application id {app:#x})")
    return _judge_unmarked(path, header, wal)


def _judge_unmarked(path: str, header: bytes, wal: Path) -> str:
    """A SQLite file without an application id: docstatus's version 1 (exactly its schema), an
    empty database, or not ours."""
    if _size(Path(f"{path}-journal")) > 0:
        raise _not_ours(path, "a SQLite database another program is writing (a -journal beside it)")
    try:
        version, app, schema = _view(path)
        if header[18] == 2 and not schema and version == 0 and _size(wal) > 0:  # all of it still in the -wal
            if _size(Path(path)) + _size(wal) > COPY_LIMIT:
                raise _not_ours(path, "a SQLite database whose content sits in a large -wal")
            version, app, schema = _view_with_wal(path, wal)
    except sqlite3.Error as exc:
        raise TrackerError(
            f"tracking database {path}: the file is damaged or not a docstatus tracking database; it was left "
            f"as it is: restore it or use another (sqlite: {type(exc).__name__}: {exc})",
            reason="corrupt",
            path=path,
        ) from None
    except OSError as exc:
        raise TrackerError(
            f"tracking database {path}: cannot be read ({type(exc).__name__}: {exc.strerror})",
            reason="open",
            path=path,
        ) from None
    if app == APPLICATION_ID:
        return "ours"
    if version == 0 and app == 0 and not schema:
        return "new"
    if version == 1 and app == 0 and schema == expected_schema(1):
        return "v1"
    tables = sorted(str(row[1]) for row in schema if row[0] == "table")
    listed = ", ".join(tables[:8]) + (", ..." if len(tables) > 8 else "")
    return _refuse(path, version, listed)


def _refuse(path: str, version: int, tables: str) -> str:
    what = f"another program's SQLite database (user_version {version}"
    raise _not_ours(path, what + (f", tables: {tables})" if tables else ")"))


def _lenient_text(raw: bytes) -> str:
    """A stored text that is not valid UTF-8 (written by another tool, or damaged), readable:
    each bad byte becomes U+FFFD."""
    return raw.decode("utf-8", "replace")


def fetch(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    """Rows of ``sql``; a text that is not valid UTF-8 is read with U+FFFD for its bad bytes
    (the fast path is tried first: such a text stops ``sqlite3``'s own decoding)."""
    try:
        cursor = conn.execute(sql, params)
        cursor.row_factory = sqlite3.Row
        return list(cursor.fetchall())
    except sqlite3.OperationalError as exc:
        if "decode" not in str(exc).lower():
            raise
    conn.text_factory = _lenient_text
    try:
        cursor = conn.execute(sql, params)
        cursor.row_factory = sqlite3.Row
        return list(cursor.fetchall())
    finally:
        conn.text_factory = str


def _in_write(
    step: Callable[Concatenate[Store, sqlite3.Connection, P], bool],
) -> Callable[Concatenate[Store, P], bool]:
    """``step(store, conn, ...)`` as a method that runs it in a ``write()`` transaction of its own."""

    @functools.wraps(step)
    def run(store: Store, /, *args: P.args, **options: P.kwargs) -> bool:
        with store.write() as conn:
            return step(store, conn, *args, **options)

    return run


class Store:
    """One connection to a tracking database (open with ``Store.open``).

    Deferred writes (group commit), for a run: ``defer_save`` and ``defer_finish`` queue a
    poll's writes, and ``flush`` runs every queued one in one short transaction, in order,
    noting each one's result (did the lease still hold?) in ``results``. The run flushes
    within ``GROUP_WINDOW``, before any callback of yours runs, and before it delivers an end;
    every other write (``write``: claims, releases, renewals) flushes first, so the order of
    writes is kept. No transaction stays open across an ``await`` (another connection in the
    same thread, e.g. a second run on the file, never waits on this one), a poll costs a
    statement instead of a commit, and a crash loses at most the last window's waiting states
    (those jobs go on from the state before), never an end that was delivered. ``on_defer`` is
    called when the queue stops being empty.
    """

    def __init__(self, path: str, conn: sqlite3.Connection, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path
        self.conn = conn
        self.busy_timeout = busy_timeout
        self.deferred: list[tuple[str, tuple[Any, ...], dict[str, Any], Any]] = []
        self.deferred_since: float | None = None
        self.results: list[tuple[str, bool, Any]] = []
        self.on_defer: Callable[[], None] | None = None
        self._dead: tuple[float, list[str]] = (-math.inf, [])

    @classmethod
    def open(cls, path: str, *, busy_timeout: float = BUSY_TIMEOUT) -> Store:
        """Open (creating the file when missing, never its folder) and migrate to
        ``SCHEMA_VERSION``; ``TrackerError`` (and nothing written) for a file that is not ours."""
        verdict = judge(path)
        store = cls._connect(path, busy_timeout)
        conn = store.conn
        try:
            with store.errors():
                if verdict == "new":
                    store.migrate()  # in rollback mode: the mark is in the file itself, not only in a -wal
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise TrackerError(  # noqa: TRY301  # not an sqlite3 error: errors() lets it through
                        f"tracking database {path} has schema version {version}, written by a newer docstatus "
                        f"(this one reads up to {SCHEMA_VERSION}); upgrade docstatus to use it",
                        reason="newer",
                        path=path,
                    )
                conn.execute("PRAGMA journal_mode = WAL").fetchone()  # only once the file is known to be ours
                conn.execute("PRAGMA synchronous = NORMAL")
                if version < SCHEMA_VERSION:
                    store.migrate()
                # A damaged file fails here: the first and last rows of each table are read (the
                # edges of their b-trees, which a cut file loses first), not every row (count(*) read
                # the whole table at every open: half a second for a million jobs, before ls's first
                # line). One min() or max() per query: SQLite seeks for it only when it is alone.
                for table in ("jobs", "outbox", "statuses", "learned"):
                    for edge in ("min", "max"):
                        conn.execute(f"SELECT {edge}(rowid) FROM {table}").fetchone()  # noqa: S608  # our names
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def _connect(cls, path: str, busy_timeout: float) -> Store:
        try:
            conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise tracker_error(path, exc) from None
        store = cls(path, conn, busy_timeout)
        try:
            with store.errors():
                conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        except BaseException:
            conn.close()
            raise
        return store

    def sibling(self) -> Store:
        """Another connection to the same (open, checked) file, for another thread."""
        store = self._connect(self.path, self.busy_timeout)
        with store.errors():
            store.conn.execute("PRAGMA synchronous = NORMAL")
        return store

    def migrate(self) -> None:
        """Take the file to ``SCHEMA_VERSION`` in one transaction, checking again under the write
        lock what it is (another process may have made or migrated it meanwhile)."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            app = conn.execute("PRAGMA application_id").fetchone()[0]
            if version > SCHEMA_VERSION or (app == APPLICATION_ID and version == SCHEMA_VERSION):
                conn.execute("ROLLBACK")
                return
            schema = tuple(conn.execute(_SCHEMA_SQL).fetchall())
            if app != APPLICATION_ID and not (0 <= version <= 1 and schema == expected_schema(version)):
                tables = ", ".join(sorted(str(r[1]) for r in schema if r[0] == "table"))
                _refuse(self.path, version, tables)
            for step in range(version, SCHEMA_VERSION):
                for statement in _statements(MIGRATIONS[step]):
                    conn.execute(statement)
                if step in DATA_STEPS:
                    DATA_STEPS[step](conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
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

    def _defer(self, kind: str, args: tuple[Any, ...], options: dict[str, Any], tag: Any) -> None:
        if not self.deferred:
            self.deferred_since = time.monotonic()
            if self.on_defer is not None:
                self.on_defer()
        self.deferred.append((kind, args, options, tag))

    def defer_save(self, tag: Any, *args: Any, **options: Any) -> None:
        """Queue ``save(*args, **options)``; its result, with ``tag``, goes to ``results``."""
        self._defer("save", args, options, tag)

    def defer_finish(self, tag: Any, *args: Any, **options: Any) -> None:
        """Queue ``finish(*args, **options)``; its result, with ``tag``, goes to ``results``.
        Deliver the end only once ``flush`` returned with it true."""
        self._defer("finish", args, options, tag)

    def defer_delivered(self, keys: Sequence[str], now: float) -> None:
        """Queue ``delivered_many(keys, now)`` (after every callback returned for each)."""
        if keys:
            self._defer("delivered", (list(keys), now), {}, None)

    def flush(self) -> None:
        """Run the queued writes in one transaction, in order; each one's ``(kind, ok, tag)``
        is appended to ``results``. On an error nothing of them is written (and it is raised)."""
        if not self.deferred:
            return
        ops, self.deferred, self.deferred_since = self.deferred, [], None
        results = []
        with self._transaction() as conn:
            for kind, args, options, tag in ops:
                if kind == "delivered":
                    self._delivered(conn, *args)
                    continue
                run = self._save if kind == "save" else self._finish
                results.append((kind, run(conn, *args, **options), tag))
        self.results.extend(results)

    def take_results(self) -> list[tuple[str, bool, Any]]:
        """The results of the flushed writes not taken yet."""
        results, self.results = self.results, []
        return results

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction (the write lock first: no two pickers race),
        after the deferred writes are flushed."""
        self.flush()
        with self._transaction() as conn:
            yield conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
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

    def check_writable(self) -> None:
        """``TrackerError`` (``readonly``, ``locked``, ...) unless the file takes a write: its
        header is written again with the same version, then rolled back (nothing changes)."""
        with self.errors():
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                conn.execute(f"PRAGMA user_version = {int(version)}")
            finally:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self.errors():
            return fetch(self.conn, sql, params)

    # --- jobs

    def insert(self, row: dict[str, Any]) -> bool:
        """Add a job unless its ref is tracked already; True when added."""
        return self.insert_many([row]) == 1

    def insert_many(self, rows: Iterable[dict[str, Any]]) -> int:
        """Add jobs in one transaction, read from ``rows`` as they come (never all in memory at
        once); how many were new. An exception raised by ``rows`` rolls every one back. The
        page cache is ``INSERT_CACHE`` meanwhile (a million refs in random order write all over
        the ref index), then back to SQLite's default."""
        with self.errors():
            self.conn.execute(f"PRAGMA cache_size = {-INSERT_CACHE // 1024}")
        try:
            with self.write() as conn:
                cursor = conn.executemany(
                    "INSERT INTO jobs (ref, name, key, meta, added, deadline, next_due, updated) "
                    "VALUES (:ref, :name, :key, :meta, :added, :deadline, :next_due, :added) "
                    "ON CONFLICT (ref) DO NOTHING",
                    rows,
                )
                return max(0, cursor.rowcount)
        finally:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("PRAGMA cache_size = -2000")

    def delete(self, ref: str) -> bool:
        """Forget a job and its undelivered completion; True when it was tracked."""
        with self.write() as conn:
            row = conn.execute("SELECT key FROM jobs WHERE ref = ?", (ref,)).fetchone()
            if row is None:
                return False
            conn.execute("DELETE FROM jobs WHERE ref = ?", (ref,))
            conn.execute("DELETE FROM statuses WHERE ref = ?", (ref,))
            conn.execute("DELETE FROM outbox WHERE key = ?", (row[0],))
            return True

    def dead_owners(self, now: float) -> list[str]:
        """Owners of leases (of jobs, or of deliveries) that are processes of this host that no
        longer run, found by stepping through the distinct owners in ``jobs_leased`` and
        ``outbox_claims`` (one index seek per run); the same list for ``DEAD_EVERY`` seconds."""
        cached_at, cached = self._dead
        if cached_at <= now < cached_at + DEAD_EVERY:
            return cached
        owners: set[str] = set()
        for table, column in (("jobs", "owner"), ("outbox", "claim_owner")):
            last = ""
            for _ in range(100_000):  # bounded: one run per step
                rows = self.query(
                    f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL AND {column} > ? "  # noqa: S608
                    f"ORDER BY {column} LIMIT 1",
                    (last,),
                )
                if not rows or not isinstance(rows[0][0], str):
                    break
                last = rows[0][0]
                owners.add(last)
        dead = sorted(owner for owner in owners if _dead(owner))
        self._dead = (now, dead)
        return dead

    def _due(
        self,
        conn: sqlite3.Connection,
        columns: str | None,
        limit: int,
        now: float,
        due_by: float,
        skip: set[int],
        *,
        lapsed: bool,
    ) -> list[sqlite3.Row]:
        """Up to ``limit`` active jobs no live run holds, due by ``due_by``, soonest due first (in
        the order they were added among those due at the same time), never the rows whose rowid
        is in ``skip``: from ``jobs_free`` (first the rows whose ``next_due`` is not a number,
        damaged: due now), and with ``lapsed`` the held ones whose lease lapsed or whose owner
        died (``jobs_leased``). ``columns``: what to read (``None``: ``JOB_ROWS``)."""

        def select(index: str) -> str:
            if columns is None:
                return job_rows(index)
            return f"SELECT {columns} FROM jobs INDEXED BY {index}"  # noqa: S608  # our own column and index names

        out: list[sqlite3.Row] = []
        for where, bound in (("jobs.next_due >= ''", []), ("jobs.next_due <= ?", [due_by])):
            want = limit - len(out)
            if want <= 0:
                break
            sql = (
                f"{select('jobs_free')} WHERE jobs.status = 'active' AND jobs.owner IS NULL AND {where} "
                "ORDER BY jobs.next_due, jobs.rowid LIMIT ?"
            )
            rows = fetch(conn, sql, [*bound, want + len(skip)])
            out.extend([r for r in rows if r["rowid"] not in skip][:want])
        if lapsed:
            dead = self.dead_owners(now)
            marks = ",".join("?" * len(dead)) or "NULL"
            sql = (
                f"{select('jobs_leased')} WHERE jobs.owner IS NOT NULL AND jobs.status = 'active' "
                f"AND (jobs.lease_until < ? OR jobs.owner IN ({marks})) "
                "AND (jobs.next_due <= ? OR jobs.next_due >= '') ORDER BY jobs.next_due, jobs.rowid LIMIT ?"
            )
            rows = fetch(conn, sql, [now, *dead, due_by, limit + len(skip)])
            out.extend(r for r in rows if r["rowid"] not in skip)
            out.sort(key=lambda r: (_due_time(r["next_due"]), r["rowid"]))
        return out[:limit]

    def peek(
        self, limit: int, now: float, *, due_by: float, skip: Iterable[int] = (), lapsed: bool = True
    ) -> list[float]:
        """When the next polls of up to ``limit`` jobs are due, for the jobs ``claim`` would take
        (soonest first; a damaged ``next_due`` as ``-inf``), read without taking the write lock."""
        if limit <= 0:
            return []
        with self.errors():
            rows = self._due(
                self.conn, "jobs.rowid AS rowid, jobs.next_due", limit, now, due_by, set(skip), lapsed=lapsed
            )
        return [_due_time(r["next_due"]) for r in rows]

    def claim(
        self,
        owner: str,
        limit: int,
        now: float,
        lease: float,
        *,
        due_by: float | None,
        skip: Iterable[int] = (),
        lapsed: bool = True,
    ) -> list[dict[str, Any]]:
        """Lease up to ``limit`` active jobs no live run holds (soonest due first, from the due
        index; with ``due_by``, only those due by then; never the rows whose rowid is in
        ``skip``; ``lapsed``: the held ones whose lease lapsed too), in one transaction. Each
        claim bumps the job's ``lease_gen``: the rows come with the new one (and every column,
        and ``rowid``)."""
        if limit <= 0:
            return []
        bound = math.inf if due_by is None else due_by
        with self.write() as conn:
            rows = self._due(conn, None, limit, now, bound, set(skip), lapsed=lapsed)
            claimed = [_with_gen(r) for r in rows]
            conn.executemany(
                "UPDATE jobs SET owner = ?, lease_until = ?, lease_gen = ? WHERE rowid = ?",
                [(owner, now + lease, r["lease_gen"], r["rowid"]) for r in claimed],
            )
        return claimed

    def renew(self, owner: str, leases: Sequence[tuple[str, int]], until: float, *, claims: bool = False) -> set[str]:
        """Extend the leases ``owner`` still holds (each ``(ref, lease_gen)``), and with
        ``claims`` its delivery claims too (a callback running long keeps its completion from
        being delivered by another run at the same time); the refs it no longer holds (another
        run claimed them since, or they ended or were forgotten). One statement when the rows
        ``owner`` holds in the database are exactly ``leases`` (found with the ``jobs_owner``
        index), else one per lease (a row it holds but did not name is left to lapse)."""
        wanted = set(leases)
        with self.write() as conn:
            rows = fetch(conn, "SELECT ref, lease_gen FROM jobs WHERE owner = ? AND status = 'active'", (owner,))
            have = {(r[0], r[1]) for r in rows}
            lost = {ref for ref, gen in wanted - have}
            if have <= wanted:
                conn.execute("UPDATE jobs SET lease_until = ? WHERE owner = ? AND status = 'active'", (until, owner))
            else:
                conn.executemany(
                    "UPDATE jobs SET lease_until = ? WHERE ref = ? AND owner = ? AND lease_gen = ? "
                    "AND status = 'active'",
                    [(until, ref, owner, gen) for ref, gen in wanted & have],
                )
            if claims:
                conn.execute(
                    "UPDATE outbox SET claim_until = ? WHERE delivered IS NULL AND claim_owner = ?", (until, owner)
                )
        return lost

    def release(self, owner: str, leases: Sequence[tuple[str, int]]) -> None:
        """Give up leases, each ``(ref, lease_gen)`` (another run may take the jobs at once)."""
        self._each(
            "UPDATE jobs SET owner = NULL, lease_until = NULL WHERE ref = ? AND owner = ? AND lease_gen = ?",
            [(ref, owner, gen) for ref, gen in leases],
        )

    def release_rows(self, owner: str, rowids: Sequence[int]) -> None:
        """Give up the leases of rows read by rowid (a damaged row whose ref cannot be trusted)."""
        self._each(
            "UPDATE jobs SET owner = NULL, lease_until = NULL WHERE rowid = ? AND owner = ?",
            [(rowid, owner) for rowid in rowids],
        )

    def _each(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """``sql`` once for each of ``rows`` (its parameters), in one write transaction; none
        when there are no rows."""
        if rows:
            with self.write() as conn:
                conn.executemany(sql, rows)

    def _save(
        self,
        conn: sqlite3.Connection,
        owner: str,
        ref: str,
        gen: int,
        *,
        state: str,
        wait: str,
        last: str | None,
        side: bool,
        next_due: float,
        polls: int,
        now: float,
        release: bool = False,
        rowid: int | None = None,
    ) -> bool:
        """Persist one poll's waiting state, and its last status when ``last`` is given (it
        changed): in the row when ``INLINE_LIMIT`` characters or fewer, else in ``statuses``
        (``side``: it is there now). With ``release``, the lease is given up in the same
        statement (the job goes back to its row: any run may take it when it falls due). False
        when ``owner`` no longer holds the job's lease ``gen``. ``rowid``: the row's, as claimed
        (found by it, not through the ref's index; the ref, owner and lease are checked all the
        same). ``save``: the same in a transaction of its own."""
        where = _row_where(rowid)
        sets = "state = ?, wait = ?, next_due = ?, polls = ?, updated = ?"
        if release:
            sets += ", owner = NULL, lease_until = NULL"
        params: tuple[Any, ...] = (state, wait, next_due, polls, now)
        if last is None or (len(last) <= INLINE_LIMIT and not side):
            sql = f"UPDATE jobs SET {sets} {where}"  # noqa: S608
            if last is not None:
                sql = f"UPDATE jobs SET {sets}, last = ? {where}"  # noqa: S608
                params = (*params, last)
            return bool(conn.execute(sql, (*params, *_row_key(rowid, ref, owner, gen))).rowcount == 1)
        inline = last if len(last) <= INLINE_LIMIT else None
        sql = f"UPDATE jobs SET {sets}, last = ? {where}"  # noqa: S608
        if conn.execute(sql, (*params, inline, *_row_key(rowid, ref, owner, gen))).rowcount != 1:
            return False
        if inline is None:
            conn.execute("INSERT OR REPLACE INTO statuses (ref, last) VALUES (?, ?)", (ref, last))
        else:
            conn.execute("DELETE FROM statuses WHERE ref = ?", (ref,))
        return True

    def _finish(
        self,
        conn: sqlite3.Connection,
        owner: str,
        ref: str,
        gen: int,
        key: str,
        *,
        state: str,
        wait: str,
        outcome: str,
        polls: int,
        now: float,
        lease: float | None,
        side: bool = True,
        rowid: int | None = None,
    ) -> bool:
        """End a job with ``outcome`` and write its outbox row, in one transaction; False (and
        nothing written) when ``owner`` no longer holds its lease ``gen`` or it ended already.
        With ``lease``, the outbox row is claimed by ``owner`` for that many seconds, to deliver
        it at once. Its last status is deleted (``side``: it may be in ``statuses``): the
        outcome holds the final one. ``rowid`` as for ``save``. ``finish``: the same in a
        transaction of its own."""
        cursor = conn.execute(
            "UPDATE jobs SET status = 'done', state = ?, wait = ?, last = NULL, outcome = ?, polls = ?, "  # noqa: S608
            f"updated = ?, owner = NULL, lease_until = NULL {_row_where(rowid)}",
            (state, wait, outcome, polls, now, *_row_key(rowid, ref, owner, gen)),
        )
        if cursor.rowcount != 1:
            return False
        if side:
            conn.execute("DELETE FROM statuses WHERE ref = ?", (ref,))
        conn.execute(
            "INSERT INTO outbox (key, ref, outcome, created, claim_owner, claim_until) VALUES (?, ?, ?, ?, ?, ?)",
            (key, ref, outcome, now, None if lease is None else owner, None if lease is None else now + lease),
        )
        return True

    save = _in_write(_save)
    finish = _in_write(_finish)

    def counts(self) -> dict[tuple[bool, str], int]:
        """How many jobs per (done, state), read from the ``jobs_state`` index alone."""
        rows = self.query("SELECT state, status, count(*) FROM jobs GROUP BY state, status")
        out: dict[tuple[bool, str], int] = {}
        for state, status, n in rows:
            key = (status == "done", state if isinstance(state, str) else str(state))
            out[key] = out.get(key, 0) + n
        return out

    def pages(
        self,
        where: str,
        params: Sequence[Any],
        order: str,
        size: int,
        *,
        start: tuple[Any, int] | None = None,
        index: str,
    ) -> Iterator[sqlite3.Row]:
        """Every row of ``JOB_ROWS`` matching ``where`` (the columns before ``order`` fixed by
        equalities, so an index gives ``order, rowid``), in that order, ``size`` rows per query
        (keyset paging: no query holds a read transaction while the rows are used, and each
        page starts where the last one stopped, found in the index, whatever the table's size).
        ``start``: begin after that ``(order value, rowid)``. ``index``: the index to read."""
        rows_sql = job_rows(index)
        ties = f"{rows_sql} WHERE {where} AND jobs.{order} = ? AND jobs.rowid > ? ORDER BY jobs.rowid LIMIT ?"
        after = f"{rows_sql} WHERE {where} AND jobs.{order} > ? ORDER BY jobs.{order}, jobs.rowid LIMIT ?"
        if start is None:
            rows = self.query(f"{rows_sql} WHERE {where} ORDER BY jobs.{order}, jobs.rowid LIMIT ?", [*params, size])
        else:
            rows = self._next_page(ties, after, params, start, size)
        while rows:
            yield from rows
            if len(rows) < size:
                return
            rows = self._next_page(ties, after, params, (rows[-1][order], rows[-1]["rowid"]), size)

    def _next_page(
        self, ties: str, after: str, params: Sequence[Any], start: tuple[Any, int], size: int
    ) -> list[sqlite3.Row]:
        key, rowid = start
        rows = self.query(ties, [*params, key, rowid, size])
        if len(rows) < size:
            rows += self.query(after, [*params, key, size - len(rows)])
        return rows

    # --- outbox

    def claim_outbox(
        self, owner: str, limit: int, now: float, lease: float, *, skip: Iterable[int] = ()
    ) -> list[sqlite3.Row]:
        """Claim up to ``limit`` undelivered completions no live delivery holds, oldest first
        (never the rows whose rowid is in ``skip``)."""
        dead = self.dead_owners(now)
        marks = ",".join("?" * len(dead)) or "NULL"
        with self.write() as conn:
            free = f"(claim_owner IS NULL OR claim_until < ? OR claim_owner = ? OR claim_owner IN ({marks}))"
            sql = f"SELECT rowid AS rowid, key, ref, outcome FROM outbox WHERE delivered IS NULL AND {free} ORDER BY created LIMIT ?"  # noqa: S608,E501
            skipped = set(skip)
            rows = [r for r in fetch(conn, sql, [now, owner, *dead, limit + len(skipped)]) if r["rowid"] not in skipped]
            rows = rows[:limit]
            conn.executemany(
                "UPDATE outbox SET claim_owner = ?, claim_until = ?, attempts = attempts + 1 WHERE rowid = ?",
                [(owner, now + lease, r["rowid"]) for r in rows],
            )
        return rows

    def delivered(self, key: str, now: float) -> None:
        """Mark a completion delivered (after every callback returned)."""
        self.delivered_many([key], now)

    def delivered_many(self, keys: Sequence[str], now: float) -> None:
        """Mark completions delivered (after every callback returned for each)."""
        if not keys:
            return
        with self.write() as conn:
            self._delivered(conn, keys, now)

    def _delivered(self, conn: sqlite3.Connection, keys: Sequence[str], now: float) -> None:
        conn.executemany(
            "UPDATE outbox SET delivered = ?, claim_owner = NULL, claim_until = NULL "
            "WHERE key = ? AND delivered IS NULL",
            [(now, key) for key in keys],
        )

    def unclaim_all(self, owner: str) -> None:
        """Give up every delivery claim of ``owner``."""
        with self.write() as conn:
            conn.execute("UPDATE outbox SET claim_owner = NULL, claim_until = NULL WHERE claim_owner = ?", (owner,))

    def unclaim(self, owner: str, keys: Sequence[str]) -> None:
        """Give up delivery claims by key."""
        self._each(
            "UPDATE outbox SET claim_owner = NULL, claim_until = NULL WHERE key = ? AND claim_owner = ?",
            [(k, owner) for k in keys],
        )

    def unclaim_rows(self, owner: str, rowids: Sequence[int]) -> None:
        """Give up delivery claims by rowid (a damaged row whose key cannot be trusted)."""
        self._each(
            "UPDATE outbox SET claim_owner = NULL, claim_until = NULL WHERE rowid = ? AND claim_owner = ?",
            [(rowid, owner) for rowid in rowids],
        )


def _row_where(rowid: int | None) -> str:
    """The ``WHERE`` of a write about one job that ``owner`` holds with lease ``gen`` (and that
    is still active): found by its ``rowid`` when given (no lookup in the ref's index), by its
    ref otherwise; its parameters are ``_row_key``'s."""
    if rowid is None:
        return "WHERE ref = ? AND owner = ? AND lease_gen = ? AND status = 'active'"
    return "WHERE rowid = ? AND ref = ? AND owner = ? AND lease_gen = ? AND status = 'active'"


def _row_key(rowid: int | None, ref: str, owner: str, gen: int) -> tuple[Any, ...]:
    return (ref, owner, gen) if rowid is None else (rowid, ref, owner, gen)


def _due_time(value: object) -> float:
    """A stored ``next_due`` as a time; one that is not a number (damaged) is due now: ``-inf``."""
    if isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value):
        return float(value)
    return -math.inf


def _with_gen(row: sqlite3.Row) -> dict[str, Any]:
    """A claimed row, with the lease generation its claim gives it (one more than before)."""
    data = dict(zip(row.keys(), tuple(row), strict=True))
    gen = data.get("lease_gen")
    data["lease_gen"] = gen + 1 if isinstance(gen, int) and not isinstance(gen, bool) else 1
    return data


#: ``dumps``'s encoder, made once (``json.dumps`` with options makes one at every call).
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dumps(value: Any, secrets: Iterable[str] = ()) -> str:
    """Compact JSON with every spelling of each of ``secrets`` replaced by ``***`` (the one masker),
    and every lone surrogate U+FFFD: a status from a poll function of the caller's own has not been
    made safe where a body is decoded, and SQLite takes only valid UTF-8."""
    text = _ENCODER.encode(value)
    return scrub(text if text.isascii() else clean(text), secrets)
