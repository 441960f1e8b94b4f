"""``docstatus wait`` and ``docstatus demo``.

- ``docstatus wait REF... [--timeout S] [--json]``: wait until every job ends. On a terminal, a
  live progress bar per job (state, step, progress); with ``--json`` or when stdout is not a
  terminal, one JobStatus JSON line per change. Errors are one line each on stderr.
- ``docstatus demo``: start the simulator in this process, create a scripted job at every
  provider (each provider module's ``DEMO``: one throttled with 429s, one partially succeeding,
  one failing, ...), and wait on them with the same display.

Exit codes of ``wait`` (the most serious outcome among the jobs wins, in this order, the rule
``docstatus._cli.combine`` shares with ``status`` and ``normalize``): 70 internal error, 2 usage
or configuration error, 4 authentication failed or job not found, 3 malformed responses until the
deadline, 6 provider or network failures until the deadline, 5 timeout, 1 some job failed,
partially succeeded, was cancelled or waits for an action, 0 every job succeeded; 130 Ctrl-C; 141
stdout closed early.

Exit codes of ``demo``: 0 when every job ended as its script intends (one of them fails and one
partially succeeds, on purpose), 1 when some job ended otherwise or not at all, 2 without the
``simulator`` extra, 130 Ctrl-C.
"""

from __future__ import annotations

import asyncio
import math
import sys
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Final, Protocol, Self, cast

from ._cli import EXIT_JOB_FAILED, EXIT_OK, EXIT_USAGE, combine, command, emit, error_code, fail
from ._exceptions import ActionRequired, AuthenticationError, DocstatusError, JobNotFound, WaitTimeout
from ._status import State
from ._text import printable

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable, Sequence
    from types import TracebackType

    from ._config import ProviderConfig
    from ._providers._kit import Demo
    from ._refs import JobRef
    from ._status import JobStatus, Provider
    from ._waiting import JobUpdate, WaitPolicy

DEFAULT_TIMEOUT: Final = 3600.0

_EPILOG = """\
exit codes (the most serious outcome among the jobs wins, in this order):
  70   internal error (a bug in docstatus: please report it)
  2    usage or configuration error (bad REF, no token)
  4    authentication failed or job not found
  3    the provider answered malformed responses until the deadline
  6    the provider or the network failed until the deadline
  5    timeout: a job had not ended at the deadline
  1    a job failed, partially succeeded, was cancelled, or waits for an action
  0    every job succeeded
  130  interrupted (Ctrl-C)
  141  stdout was closed early (e.g. | head -1)
"""

_DEMO_EPILOG = """\
exit codes:
  0    every job ended as its script intends: the failure fails and the partial success
       partially succeeds, on purpose
  1    some job ended otherwise, or not at all
  2    the simulator extra is not installed
  130  interrupted (Ctrl-C)
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``wait`` and ``demo`` subcommands."""
    wait = command(
        subparsers,
        "wait",
        help="wait until jobs end, with live progress",
        description=(
            "Poll each job until it ends (rate limits, server errors and timeouts are retried "
            "within the deadline; Retry-After is honoured). On a terminal: a live progress bar "
            "per job. With --json, or when stdout is not a terminal: one JobStatus JSON line per "
            "change. REF is <provider>:<id>; configuration from DOCSTATUS_<PROVIDER>_BASE_URL and "
            "DOCSTATUS_<PROVIDER>_TOKEN."
        ),
        epilog=_EPILOG,
        refs=True,
    )
    wait.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"deadline in seconds for every job (default: {DEFAULT_TIMEOUT:g})",
    )
    for flag, what in (
        ("--action-grace", "how long a job that waits for an action (e.g. an upload) is polled through"),
        ("--not-found-grace", "how long a 404 before any status is retried"),
    ):
        wait.add_argument(
            flag, type=float, metavar="S", help=f"{what}, in seconds (default: per provider, see WaitPolicy; 0: off)"
        )
    wait.add_argument("--json", action="store_true", help="one JobStatus JSON line per change instead of progress bars")
    wait.set_defaults(handler=_wait)

    demo = command(
        subparsers,
        "demo",
        help="run the simulator and wait on jobs of every provider, live (needs docstatus[simulator])",
        description=(
            "Start the offline simulator in this process, create a scripted job at every provider "
            "(one throttled with 429s, one partial success, one failure, ...), and wait on them with "
            "the live display. Takes about 15 seconds; no network, no keys."
        ),
        epilog=_DEMO_EPILOG,
    )
    demo.add_argument("--json", action="store_true", help="one JobStatus JSON line per change instead of progress bars")
    demo.set_defaults(handler=_demo)


# --- outcomes


def outcome_code(update: JobUpdate) -> int:
    """The exit code one job's last update stands for: waiting ends in a final state, so any
    state but succeeded is 1; an error has ``error_code``'s."""
    error = update.error
    if error is None:
        status = update.status
        return EXIT_OK if status is not None and status.state is State.SUCCEEDED else EXIT_JOB_FAILED
    return error_code(error)


# --- displays


class Display(Protocol):
    """Shows the jobs: ``changed`` per status change (the progress hook), ``ended`` once per job."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def changed(self, status: JobStatus) -> None: ...

    def ended(self, update: JobUpdate) -> None: ...


class JsonLines:
    """One JobStatus JSON line per change on stdout, flushed at once."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return

    def changed(self, status: JobStatus) -> None:
        emit(status.to_json())

    def ended(self, update: JobUpdate) -> None:  # noqa: ARG002  # the JSON lines show changes only
        return


_STYLES: Final = {
    State.QUEUED: "cyan",
    State.RUNNING: "blue",
    State.SUCCEEDED: "bold green",
    State.PARTIALLY_SUCCEEDED: "bold yellow",
    State.FAILED: "bold red",
    State.CANCELLED: "bold red",
    State.ACTION_REQUIRED: "bold magenta",
    State.UNKNOWN: "yellow",
}


def _label(ref: str, width: int = 34) -> str:
    if len(ref) <= width:
        return ref
    keep = width - 1
    return ref[: keep - 8] + "…" + ref[-8:]


def _ended_as(update: JobUpdate) -> tuple[str, str]:
    """(text, style) of a job's end for the state column."""
    error = update.error
    if error is None:
        status = update.status
        state = status.state if status is not None else State.UNKNOWN
        return state.value, _STYLES[state]
    if isinstance(error, WaitTimeout):
        return "timed out", "bold red"
    if isinstance(error, ActionRequired):
        return "action required", "bold magenta"
    if isinstance(error, JobNotFound):
        return "not found", "bold red"
    if isinstance(error, AuthenticationError):
        return "auth failed", "bold red"
    return "error", "bold red"


class LiveBars:
    """A live progress bar per job (rich): ref, state, bar, percent, step, elapsed time."""

    def __init__(self, refs: Sequence[str], *, title: str | None = None) -> None:
        from rich.console import Console  # noqa: PLC0415  # rich loads only for the live display
        from rich.markup import escape  # noqa: PLC0415
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415
        from rich.table import Column  # noqa: PLC0415

        self.console = Console()
        self.title = title
        self.progress = Progress(
            TextColumn("{task.fields[label]}", table_column=Column(no_wrap=True)),
            TextColumn("{task.fields[state]}", table_column=Column(width=20, no_wrap=True)),
            BarColumn(bar_width=28),
            TextColumn("{task.fields[percent]}", table_column=Column(width=4, justify="right")),
            TextColumn("{task.fields[step]}", table_column=Column(max_width=40, no_wrap=True)),
            TimeElapsedColumn(),
            console=self.console,
            refresh_per_second=8,
            expand=False,
        )
        self.rows = {
            ref: self.progress.add_task(
                "", total=None, label=escape(printable(_label(ref))), state="[dim]waiting[/]", percent="", step=""
            )
            for ref in refs
        }

    def __enter__(self) -> Self:
        if self.title:
            self.console.print(self.title)
        self.progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()

    def changed(self, status: JobStatus) -> None:
        row = self.rows.get(status.ref)
        if row is None:
            return
        from rich.markup import escape  # noqa: PLC0415

        style = _STYLES[status.state]
        shown = status.state.value
        if status.state is State.UNKNOWN:
            shown = f"unknown ({status.provider_state})"
        self.progress.update(
            row,
            total=None if status.progress is None else 1.0,
            completed=status.progress or 0.0,
            state=f"[{style}]{escape(printable(shown, 60))}[/]",  # provider text: no escape sequence gets through
            percent="" if status.progress is None else f"{status.progress:.0%}",
            step=escape(printable(status.step or "", 200)),
        )

    def ended(self, update: JobUpdate) -> None:
        row = self.rows.get(update.ref)
        if row is None:
            return
        from rich.markup import escape  # noqa: PLC0415

        text, style = _ended_as(update)
        status = update.status
        done = 1.0 if status is not None and status.state is State.SUCCEEDED else (status and status.progress) or 0.0
        self.progress.update(row, total=1.0, completed=done, state=f"[{style}]{escape(text)}[/]")
        self.progress.stop_task(row)


def make_display(refs: Sequence[str], *, json_lines: bool, title: str | None = None) -> Display:
    """JSON lines when asked or when stdout is not a terminal, else live bars."""
    if json_lines or not sys.stdout.isatty():
        return JsonLines()
    return LiveBars(refs, title=title)


# --- running


async def run_jobs(
    refs: Sequence[str],
    display: Display,
    *,
    policy: WaitPolicy,
    config: Iterable[ProviderConfig] | None = None,
    **options: Any,
) -> dict[str, JobUpdate]:
    """Wait on ``refs`` with ``watch_many``, showing them on ``display``; each job's last update."""
    from ._waiting import watch_many  # noqa: PLC0415

    ends: dict[str, JobUpdate] = {}
    with display:
        updates = watch_many(refs, policy=policy, config=config, on_change=display.changed, **options)
        async with aclosing(updates) as stream:  # type: ignore[type-var]  # an async generator
            async for update in stream:
                if update.done:
                    ends[update.ref] = update
                    display.ended(update)
    return ends


def report(command: str, ends: dict[str, JobUpdate]) -> int:
    """One stderr line per job that did not succeed; the combined exit code."""
    codes = []
    for ref, update in ends.items():
        code = outcome_code(update)
        codes.append(code)
        if update.error is not None:
            fail(command, ref, update.error)
        elif code != EXIT_OK and update.status is not None:
            status = update.status
            why = f": {status.error.message}" if status.error is not None else ""
            fail(command, ref, f"ended {status.state} ({status.provider_state}){why}")
    return combine(codes)


def _wait(args: argparse.Namespace) -> int:
    from ._refs import parse_ref  # noqa: PLC0415
    from ._waiting import WaitPolicy  # noqa: PLC0415
    from ._waiting._poll import Configs  # noqa: PLC0415

    timeout = args.timeout
    if not (timeout > 0 and math.isfinite(timeout)):
        fail("wait", "--timeout", f"must be a finite number of seconds > 0, not {timeout:g}")
        return EXIT_USAGE
    try:
        policy = WaitPolicy(timeout=timeout, action_grace=args.action_grace, not_found_grace=args.not_found_grace)
    except ValueError as exc:
        fail("wait", "--action-grace/--not-found-grace", exc)
        return EXIT_USAGE
    refs: list[JobRef] = []
    configs = Configs.of(None)
    codes = []
    for text in args.refs:  # every bad REF is said, and none is waited on
        try:
            ref = parse_ref(text)
            configs.for_ref(ref)
        except DocstatusError as exc:
            fail("wait", text, exc)
            codes.append(error_code(exc))
            continue
        refs.append(ref)
    if codes:
        return combine(codes)
    names = list(dict.fromkeys(str(r) for r in refs))
    display = make_display(names, json_lines=args.json)
    ends = asyncio.run(run_jobs(names, display, policy=policy))
    return report("wait", ends)


# --- demo


def demo_jobs() -> list[tuple[str, Demo]]:
    """``(provider, what its demo job is)`` for every provider whose module has a ``DEMO`` and
    which the simulator serves: a provider registered with the library alone (no simulator
    module registered for it) has no endpoint to demonstrate, and is left out. Needs the
    simulator extra (``demo`` and ``simulate`` import it first)."""
    from ._registry import mapper, names  # noqa: PLC0415  # imports every provider module: only for the demo
    from .simulator import _providers as simulated  # noqa: PLC0415  # the extra: only for the demo

    jobs = [(name, mapper(name).DEMO) for name in names() if simulated.known(name)]
    return [(name, demo) for name, demo in jobs if demo is not None]


def _demo(args: argparse.Namespace) -> int:
    try:
        from .simulator import Fault, Simulator  # noqa: PLC0415
    except ImportError as exc:
        fail("demo", "simulator", f"needs the simulator extra: pip install 'docstatus[simulator]' ({exc})")
        return EXIT_USAGE
    from ._config import ProviderConfig  # noqa: PLC0415
    from ._waiting import WaitPolicy  # noqa: PLC0415

    jobs = demo_jobs()
    with Simulator() as sim:
        refs = [sim.create_job(provider, demo.script, step=demo.step) for provider, demo in jobs]
        for provider, demo in jobs:
            for fault, arguments in demo.faults:
                sim.inject(getattr(Fault, fault)(**arguments), provider=provider)
        configs = [
            ProviderConfig(provider=cast("Provider", p), base_url=sim.base_url(p), token=sim.tokens.get(p), timeout=5.0)
            for p, _ in jobs
        ]
        title = f"docstatus demo: {len(jobs)} providers, simulated at {sim.url} (Ctrl-C stops)"
        display = make_display(refs, json_lines=args.json, title=title)
        if isinstance(display, JsonLines):
            print(title, file=sys.stderr)
        ends = asyncio.run(run_jobs(refs, display, policy=WaitPolicy(timeout=60.0), config=configs))
        throttled = sum(1 for r in sim.requests if r.status == 429)
    return _demo_summary(refs, ends, throttled)


def _demo_summary(refs: Sequence[str], ends: dict[str, JobUpdate], throttled: int) -> int:
    """Say what each job showed; 0 when every job ended as scripted."""
    as_scripted = True
    out = sys.stderr
    for ref, (provider, demo) in zip(refs, demo_jobs(), strict=True):
        update = ends.get(ref)
        status = None if update is None else update.final
        ok = status is not None and status.state == demo.ends
        as_scripted = as_scripted and ok
        got = "no final status" if status is None else str(status.state)
        detail = ""
        if status is not None and status.pages is not None and status.pages.errors:
            err = status.pages.errors[0]
            detail = f" (page {err.page}: {printable(err.message, 200)})"
        elif status is not None and status.error is not None:
            detail = f" ({printable(status.error.message, 200)})"
        print(f"  {provider:<13} {got}{detail} - {demo.shows}", file=out)
    print(f"  the simulator answered {throttled} requests with 429; every job waited them out", file=out)
    if not as_scripted:
        print("docstatus demo: some job did not end as scripted (see above)", file=out)
        return EXIT_JOB_FAILED
    return EXIT_OK
