"""``docstatus track``: jobs tracked durably in a SQLite file (``docstatus.Tracker``).

- ``docstatus track add REF... [--meta K=V]... [--deadline 2h]`` (``-`` reads refs from stdin,
  one per line): all or none; a ref already tracked is left as it is.
- ``docstatus track run [--once] [--json]``: poll until no tracked job is left active. On a
  terminal, a live count; otherwise (or with ``--json``) one completion JSON object per line,
  each with its idempotency ``key``, marked delivered once printed (a line may come again, with
  the same key and outcome, after a crash; lines from earlier runs not yet delivered come
  first). Stop it any time (Ctrl-C, SIGTERM, even ``kill -9``):
  the next run goes on where each job was.
- ``docstatus track ls [--state S] [--due-within D] [--after REF] [--limit N] [--json]``:
  streamed a page at a time in the order jobs were added (with ``--due-within``: the active jobs
  due within D, ``now`` for those due now, soonest due first), so ``ls | head`` answers at once
  on a million rows; ``docstatus track counts [--json]`` (jobs per state, from an index);
  ``docstatus track show REF``, ``docstatus track forget REF...``.

The database is ``--db``, else ``DOCSTATUS_TRACK_DB``, else ``track.db`` in the user's data
directory. ``track add`` creates the file, never a missing folder (exit 2 naming it; only the
default location's own folder is made); the other commands never create one (``run``: exit 2;
``ls``: nothing listed; ``show``/``forget``: 4). Credentials stay in the environment
(``DOCSTATUS_<PROVIDER>_TOKEN``), never in the database.

``track run`` ends with one stderr line: how many ended jobs it delivered, and how the whole
database stands (ended succeeded, ended otherwise, still active), since its exit code covers
only the jobs whose end it delivered (a run after a crash may end none while the database holds
failed jobs).

Exit codes, as for ``wait`` (the most serious outcome wins): 70 internal error; 2 usage or
configuration error, or the database cannot be used (corrupt, locked, read-only, written by a
newer docstatus, disk full: one line saying which); 4 authentication failed or job not found
(``show``/``forget``: REF is not tracked); 3 malformed responses until the deadline; 6 provider
or network failures until the deadline; 5 a job's deadline passed; 1 a job failed, partially
succeeded, was cancelled or waits for an action; 0 otherwise (``run --once``: jobs not ended yet
count 0); 130 interrupted; 141 stdout closed early. ``run``'s code covers the jobs that ended
in that run (see its last line for the others). A damaged row (a field that cannot be read) is
one stderr line naming its job: ``ls`` and ``show`` show what can be read, ``run`` skips it and
goes on with the others, and the code is then at least 2; a job whose saved waiting state alone
is damaged starts waiting over (one line too), which is not an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import re
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Self

from . import _cli, _cli_metrics
from ._cli import (
    EXIT_AUTH_OR_NOT_FOUND,
    EXIT_INTERRUPTED,
    EXIT_JOB_FAILED,
    EXIT_MALFORMED,
    EXIT_OK,
    EXIT_PROVIDER,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    combine,
    emit,
    error_code,
    fail,
    internal_error,
    say,
)
from ._exceptions import DocstatusError
from ._secrets import remember_environment
from ._text import clean, printable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from ._tracking import Completion, TrackedJob, Tracker

#: Jobs read before ``track ls`` prints its first line (its columns' width comes from them).
PAGE: Final = 500

#: The environment variable naming the database.
DB_ENV: Final = "DOCSTATUS_TRACK_DB"

_EPILOG = """\
database: --db, else $DOCSTATUS_TRACK_DB, else track.db in the user's data directory.
`track add` creates the file (never a missing folder); the other commands never do.

exit codes (the most serious outcome wins; `run`: of the jobs that run ended, not of
jobs ended before, e.g. by a run that crashed: its last stderr line counts the whole
database, and `docstatus track ls --state done` lists them):
  70   internal error (a bug in docstatus: please report it)
  2    usage or configuration error; the database cannot be used (not a docstatus
       database, corrupt, locked, read-only, newer schema, disk full, its folder
       missing) or holds a damaged row (named on stderr; the others go on)
  4    authentication failed or job not found (show/forget: REF is not tracked)
  3    the provider answered malformed responses until a job's deadline
  6    the provider or the network failed until a job's deadline
  5    a job's deadline passed
  1    a job failed, partially succeeded, was cancelled, or waits for an action
  0    otherwise
  130  interrupted (Ctrl-C); the next run goes on where each job was
  141  stdout was closed early
"""

_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS: Final = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``15m``, ``2h``, ``1.5d``."""
    match = _DURATION.match(text.lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"must be a duration like 90, 90s, 15m, 2h or 1d, not {text[:40]!r}")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not (seconds > 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"must be a duration > 0, not {text[:40]!r}")
    return seconds


def parse_due_within(text: str) -> float:
    """``now`` (or ``0``): due now; else a duration (``parse_duration``)."""
    if text.strip().lower() in ("now", "0", "0s"):
        return 0.0
    try:
        return parse_duration(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"must be now, or a duration like 90s, 15m, 2h or 1d, not {text[:40]!r}"
        ) from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, not {text[:40]!r}")
    return value


def _lease(text: str) -> float:
    """``--lease``: a finite number of seconds > 0."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, not {text[:40]!r}")
    return seconds


def _meta_item(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"must be KEY=VALUE, not {text[:40]!r}")
    return key, value


def default_db() -> str:
    """``$DOCSTATUS_TRACK_DB``, else ``track.db`` in the user's data directory."""
    env = os.environ.get(DB_ENV, "").strip()
    if env:
        return env
    from platformdirs import user_data_dir  # noqa: PLC0415  # only when no database is named

    return str(Path(user_data_dir("docstatus", appauthor=False)) / "track.db")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``track`` and its subcommands."""
    db_help = f"the database (default: ${DB_ENV}, else the user data directory)"
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: an action without --db keeps the one given before it (`track --db X ls`)
    common.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help=db_help)
    raw = argparse.RawDescriptionHelpFormatter
    track = subparsers.add_parser(
        "track",
        help="track jobs durably (SQLite): add, run, ls, counts, show, forget",
        description="Track jobs in a database file; `track run` polls them and survives restarts and crashes.",
        epilog=_EPILOG,
        formatter_class=raw,
    )
    track.add_argument("--db", metavar="PATH", help=db_help)
    sub = track.add_subparsers(dest="track_command", required=True, metavar="ACTION")

    def action(
        name: str, handler: Callable[[argparse.Namespace], int], summary: str, description: str | None = None
    ) -> argparse.ArgumentParser:
        parser = sub.add_parser(
            name, parents=[common], help=summary, description=description, epilog=_EPILOG, formatter_class=raw
        )
        parser.set_defaults(handler=handler)
        return parser

    add = action("add", _add, "track jobs (idempotent)")
    add.add_argument("refs", nargs="+", metavar="REF", help="job reference, or - to read them from stdin")
    add.add_argument("--meta", action="append", type=_meta_item, default=[], metavar="K=V", help="kept with each job")
    add.add_argument("--deadline", type=parse_duration, metavar="D", help="from now: 90s, 15m, 2h, 1d (default 1h)")

    run = action(
        "run",
        _run,
        "poll until no job is left",
        "Poll the tracked jobs until none is left active. The exit code covers the jobs this run "
        "ended; the last stderr line counts the whole database (ended succeeded, ended otherwise, active).",
    )
    run.add_argument("--once", action="store_true", help="poll each job that is due once, then stop")
    run.add_argument("--json", action="store_true", help="one completion JSON line per job that ends")
    run.add_argument("--concurrency", type=int, default=32, metavar="N", help="polls in flight (default 32)")
    run.add_argument("--host-rate", type=float, default=10.0, metavar="R", help="polls per second per host (10)")
    run.add_argument("--lease", type=_lease, default=30.0, metavar="S", help=argparse.SUPPRESS)
    run.add_argument("--capacity", type=_count, metavar="N", help=argparse.SUPPRESS)  # jobs held in memory at most
    _cli_metrics.add_options(run)

    ls = action(
        "ls",
        _ls,
        "list tracked jobs",
        "List tracked jobs, a page at a time (the first line comes at once however many there are): "
        "in the order they were added, or with --due-within soonest due first.",
    )
    ls.add_argument("--state", metavar="S", help="active, done, or a state (running, succeeded, timed_out, ...)")
    ls.add_argument(
        "--due-within",
        type=parse_due_within,
        metavar="D",
        help="only active jobs whose next poll is due within D (now, 90s, 15m, 2h), soonest due first",
    )
    ls.add_argument("--after", metavar="REF", help="start after this job (the last one of the page before)")
    ls.add_argument("--limit", type=_count, metavar="N", help="at most N jobs")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")

    counts = action("counts", _counts, "how many jobs in each state")
    counts.add_argument("--json", action="store_true", help="one JSON object")

    show = action("show", _show, "one job as JSON")
    show.add_argument("ref", metavar="REF")

    forget = action("forget", _forget, "stop tracking jobs")
    forget.add_argument("refs", nargs="+", metavar="REF")


# --- outcomes


def completion_code(completion: Completion) -> int:
    """The exit code one job's end stands for (``wait``'s rule)."""
    from . import _exceptions  # noqa: PLC0415

    state = completion.state
    if state == "succeeded":
        return EXIT_OK
    if completion.error is None or state == "action_required":
        return EXIT_JOB_FAILED
    if state == "timed_out":
        if completion.cause is None:
            return EXIT_TIMEOUT
        return EXIT_MALFORMED if completion.cause == "MalformedResponse" else EXIT_PROVIDER
    cls = getattr(_exceptions, completion.error, None)
    if isinstance(cls, type) and issubclass(cls, DocstatusError):
        return error_code(cls.__new__(cls))
    return EXIT_PROVIDER


def _db_path(args: argparse.Namespace, *, create: bool) -> str | None:
    """The database's path; ``None`` when it does not exist and ``create`` is false. The default
    location gets its folder made; a path given never does (``Tracker`` then says it is missing)."""
    given = args.db or os.environ.get(DB_ENV, "").strip()
    path = given or default_db()
    if Path(path).exists():
        return path
    if not given and create:
        with contextlib.suppress(OSError):  # else Tracker says what is wrong with it
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    if not create and Path(path).absolute().parent.is_dir():
        return None
    return path  # created by Tracker, or refused with a TrackerError naming the missing folder


def _open(args: argparse.Namespace, *, create: bool = False, **options: Any) -> Tracker | None:
    """The tracker on the database, or ``None`` (``create`` false) when the file does not exist."""
    from ._tracking import Tracker  # noqa: PLC0415

    path = _db_path(args, create=create)
    return None if path is None else Tracker(path, **options)


def _missing(args: argparse.Namespace) -> str:
    path = args.db or os.environ.get(DB_ENV, "").strip() or default_db()
    return f"no tracking database at {path} (`docstatus track add` creates it)"


def _damaged(command: str, job: Any) -> None:
    """One line naming a damaged row's job and what could not be read."""
    from ._tracking._tracker import damage_line  # noqa: PLC0415

    fail(command, job.name or job.ref, f"its row is damaged ({damage_line(job)}); shown as far as it can be read")


def _guard(command: str, args: argparse.Namespace, body: Any) -> int:
    """Run ``body(args)``; a ``DocstatusError`` (a ``TrackerError`` too) is one line and its code."""
    from ._tracking import TrackerError  # noqa: PLC0415

    try:
        code: int = body(args)
    except TrackerError as exc:
        fail(command, exc.path, exc)
        return EXIT_USAGE
    except DocstatusError as exc:
        fail(command, getattr(exc, "ref", None) or "track", exc)
        return error_code(exc)
    return code


def _add(args: argparse.Namespace) -> int:
    return _guard("track add", args, _add_body)


class _Refused(Exception):
    """Some refs given to ``track add`` do not parse: none is added (each was said)."""


def _parses(command: str, ref: str, codes: list[int]) -> bool:
    """True when ``ref`` parses; else says why, for ``command``, and adds its exit code to ``codes``."""
    from ._refs import parse_ref  # noqa: PLC0415

    try:
        parse_ref(ref)
    except DocstatusError as exc:
        fail(command, ref, exc)
        codes.append(error_code(exc))
        return False
    return True


def _add_body(args: argparse.Namespace) -> int:
    bad: list[int] = []
    for key, value in args.meta:  # an argument that was not UTF-8 (kept as lone surrogates by Python)
        if not (key + value).isascii() and clean(key + value) != key + value:
            fail("track add", "--meta", f"{printable(key)}=... is not valid UTF-8 text; give UTF-8 keys and values")
            bad.append(EXIT_USAGE)
    for ref in args.refs:  # refs given as arguments are checked before the file is opened (or made)
        if ref != "-":
            _parses("track add", ref, bad)
    given = 0

    def refs() -> Iterator[str]:
        """The refs, read as they come (stdin too: never all in memory); every bad one is said,
        and then none is added (the transaction is rolled back)."""
        nonlocal given
        for arg in args.refs:
            if arg != "-":
                if not bad:
                    given += 1
                    yield arg
                continue
            for line in sys.stdin:
                ref = line.strip()
                if not ref or not _parses("track add", ref, bad):
                    continue
                if not bad:
                    given += 1
                    yield ref
        if bad:
            raise _Refused

    if bad:
        with contextlib.suppress(_Refused):
            for _ in refs():  # every bad ref read from stdin is said too; nothing is added
                pass
        return combine(bad)
    opened = _open(args, create=True)
    assert opened is not None
    with opened as tracker:
        try:
            added = tracker.add_many(refs(), meta=dict(args.meta) or None, deadline=args.deadline)
        except _Refused:
            return combine(bad)
    say(f"docstatus track add: {added} added, {given - added} already tracked ({tracker.path})")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    return _guard("track run", args, _run_body)


def _run_body(args: argparse.Namespace) -> int:
    if args.concurrency < 1 or not (args.host_rate > 0 and math.isfinite(args.host_rate)):
        fail("track run", "--concurrency/--host-rate", "must be at least 1 / a number > 0")
        return EXIT_USAGE
    if not _cli_metrics.serve("track run", args):  # --metrics-port: refused, or served from here on
        return EXIT_USAGE
    json_lines = args.json or not sys.stdout.isatty()
    codes: list[int] = []
    progress: _Progress | None = None

    def ended(completion: Completion) -> None:
        """The run's delivery: printed, then marked delivered (a crash in between prints it again)."""
        code = completion_code(completion)
        codes.append(code)
        if json_lines:
            emit(json.dumps(completion.to_dict(), separators=(",", ":"), ensure_ascii=False))
        elif progress is not None:
            progress.ended(completion)
        if code != EXIT_OK:
            why = completion.message or (completion.status and completion.status.provider_state) or ""
            fail("track run", completion.name, f"ended {completion.state}" + (f": {why}" if why else ""))

    options = {
        "concurrency": args.concurrency,
        "host_rate": args.host_rate,
        "lease": args.lease,
        "capacity": args.capacity,
        "on_done": ended,
    }
    opened = _open(args, **options)
    if opened is None:
        fail("track run", "--db", _missing(args))
        return EXIT_USAGE
    with opened as tracker:
        if not json_lines:
            progress = _Progress(tracker.totals()["active"])

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal.SIGTERM, stop.set)
            await tracker.run_async(once=args.once, stop=stop, collect=False)  # each end printed, none kept

        if progress is not None:
            with progress:
                asyncio.run(main())
        else:
            asyncio.run(main())
        _summary(tracker, len(codes), args)
        if tracker.skipped or tracker.undeliverable:
            codes.append(EXIT_USAGE)
    return combine(codes)


def _summary(tracker: Tracker, ended: int, args: argparse.Namespace) -> None:
    """The run's last line: the ends it delivered (its own, and those an earlier run left
    undelivered), and how the whole database stands."""
    totals = tracker.totals()
    where = f" --db {shlex.quote(tracker.path)}" if args.db else ""
    skipped, undeliverable = len(tracker.skipped), len(tracker.undeliverable)
    say(
        f"docstatus track run: this run delivered {ended} ended job{'s' if ended != 1 else ''} (the exit code "
        f"covers these); {tracker.path} holds {totals['succeeded']} ended succeeded, {totals['not_succeeded']} ended "
        f"otherwise, {totals['active']} active"
        + (f" ({skipped} of them skipped: their rows are damaged, named above)" if skipped else "")
        + (f", {undeliverable} completion(s) not delivered: damaged, named above" if undeliverable else "")
        + f"; list them: docstatus track ls{where} --state done (or active)"
    )


class _Progress:
    """A live count on the terminal, a line per job that does not succeed."""

    def __init__(self, total: int) -> None:
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("tracking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=False
        )
        self.task = self.progress.add_task("", total=total or None)

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def ended(self, completion: Completion) -> None:
        self.progress.advance(self.task)
        if completion.succeeded:
            self.progress.console.print(f"{printable(completion.name)}: succeeded", markup=False, highlight=False)


def _ls(args: argparse.Namespace) -> int:
    return _guard("track ls", args, _ls_body)


def _ls_body(args: argparse.Namespace) -> int:
    from ._tracking._tracker import STATE_FILTERS  # noqa: PLC0415

    if args.state is not None and args.state not in STATE_FILTERS:
        fail("track ls", "--state", f"must be one of {', '.join(STATE_FILTERS)}")
        return EXIT_USAGE
    opened = _open(args)
    if opened is None:
        say(f"docstatus track ls: {_missing(args)}")
        return EXIT_OK
    damaged = False
    with opened as tracker:
        jobs: Iterator[TrackedJob] = tracker.scan(args.state, due_within=args.due_within, after=args.after)
        if args.limit is not None:
            jobs = itertools.islice(jobs, args.limit)
        first = list(itertools.islice(jobs, PAGE))  # the columns' width comes from the first page
        width = max([len(printable(job.name)) for job in first] + [3])
        if not args.json:
            emit(f"{'REF':<{width}}  {'STATE':<19}  POLLS  NEXT")
        now = time.time()
        for job in itertools.chain(first, jobs):
            if job.damaged:
                _damaged("track ls", job)
                damaged = True
            if args.json:
                emit(json.dumps(job.to_dict(), separators=(",", ":"), ensure_ascii=False))
                continue
            nxt = "-" if job.done else _ago(job.next_due - now)
            # a row's text shown as it is, never run
            emit(f"{printable(job.name):<{width}}  {printable(job.state):<19}  {job.polls:>5}  {nxt}")
    return EXIT_USAGE if damaged else EXIT_OK


def _counts(args: argparse.Namespace) -> int:
    return _guard("track counts", args, _counts_body)


def _counts_body(args: argparse.Namespace) -> int:
    opened = _open(args)
    if opened is None:
        say(f"docstatus track counts: {_missing(args)}")
        return EXIT_OK
    with opened as tracker:
        counts = tracker.counts()
        totals = tracker.totals()
    if args.json:
        emit(json.dumps({"states": counts, **totals}, separators=(",", ":"), ensure_ascii=False))
        return EXIT_OK
    width = max([len(printable(state)) for state in counts] + [5])
    emit(f"{'STATE':<{width}}  JOBS")
    for state, count in sorted(counts.items()):
        emit(f"{printable(state):<{width}}  {count}")
    emit(f"{totals['active']} active, {totals['succeeded']} ended succeeded, {totals['not_succeeded']} ended otherwise")
    return EXIT_OK


def _ago(seconds: float) -> str:
    if math.isnan(seconds):
        return "?"
    if seconds <= 0:
        return "due"
    if seconds < 120:
        return f"in {seconds:.0f}s"
    if seconds < 7200:
        return f"in {seconds / 60:.0f}m"
    return f"in {seconds / 3600:.0f}h"


def _show(args: argparse.Namespace) -> int:
    return _guard("track show", args, _show_body)


def _show_body(args: argparse.Namespace) -> int:
    opened = _open(args)
    if opened is None:
        fail("track show", args.ref, f"not tracked: {_missing(args)}")
        return EXIT_AUTH_OR_NOT_FOUND
    with opened as tracker:
        job = tracker.get(args.ref)
    if job is None:
        fail("track show", args.ref, "not tracked")
        return EXIT_AUTH_OR_NOT_FOUND
    if job.damaged:
        _damaged("track show", job)
    emit(json.dumps(job.to_dict(), indent=2, ensure_ascii=False))
    return EXIT_USAGE if job.damaged else EXIT_OK


def _forget(args: argparse.Namespace) -> int:
    return _guard("track forget", args, _forget_body)


def _forget_body(args: argparse.Namespace) -> int:
    codes: list[int] = []
    opened = _open(args)
    if opened is None:
        for ref in args.refs:
            fail("track forget", ref, f"not tracked: {_missing(args)}")
        return EXIT_AUTH_OR_NOT_FOUND
    with opened as tracker:
        for ref in args.refs:
            if not _parses("track forget", ref, codes):
                continue
            if not tracker.forget(ref):
                fail("track forget", ref, "not tracked")
                codes.append(EXIT_AUTH_OR_NOT_FOUND)
    return combine(codes)


# --- standalone entry point (``python -m docstatus._cli_track track ...``), with ``docstatus``'s guards


def main(argv: Sequence[str] | None = None) -> int:
    """``docstatus track ...`` without the ``docstatus`` dispatcher (same guards and exit codes)."""
    parser = argparse.ArgumentParser(prog="docstatus")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register(sub)
    remember_environment()  # as the dispatcher does: tokens masked in all output
    args = parser.parse_args(argv)
    try:
        with _cli.one_line_diagnostics():
            code: int = args.handler(args)
    except KeyboardInterrupt:
        say("docstatus: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _cli._output_closed()  # noqa: SLF001
    except Exception as exc:
        internal_error(args.command, None, exc)
        return error_code(exc)
    return code


if __name__ == "__main__":
    sys.exit(main())
