"""``docstatus simulate``: the offline simulator in the foreground.

``docstatus simulate [--port N] [--host 127.0.0.1] [--step SECONDS]`` serves every provider's
status endpoint (see ``docstatus.simulator``), prints the ``export`` lines that point docstatus
at it (base URLs and the fake tokens it accepts) and a few ready job references per provider,
then serves until Ctrl-C or SIGTERM.

Exit codes: 0 when stopped with Ctrl-C (SIGINT) or SIGTERM, the normal way to end a
foreground server (also while it is starting); 2 when the ``simulator`` extra is not installed or the address
cannot be served (e.g. the port is taken).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, Final

from ._cli import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from .simulator import Simulator

#: Seconds each phase of the ready jobs lasts, unless ``--step`` says otherwise.
CLI_STEP: Final = 5.0


def ready_jobs() -> list[tuple[str, str]]:
    """The ready jobs created at start: ``(provider, script)`` pairs, each provider's
    ``DEMO.ready`` scripts (its module's)."""
    from ._cli_wait import demo_jobs  # noqa: PLC0415  # imports every provider module: only when serving

    return [(provider, script) for provider, demo in demo_jobs() for script in demo.ready]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``simulate`` subcommand."""
    simulate = subparsers.add_parser(
        "simulate",
        help="serve the offline simulator of every provider in the foreground",
        description=(
            "Serve every provider's status endpoint with scripted jobs on one local HTTP server, "
            "print the environment variables that point docstatus at it and a few ready job "
            "references, and serve until Ctrl-C (exit 0). Needs: pip install 'docstatus[simulator]'."
        ),
    )
    simulate.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    simulate.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    simulate.add_argument(
        "--step",
        type=float,
        default=CLI_STEP,
        metavar="SECONDS",
        help=f"seconds each phase of the ready jobs lasts (default: {CLI_STEP:g})",
    )
    simulate.set_defaults(handler=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    try:
        from .simulator import Simulator, SimulatorError  # noqa: PLC0415  # the extra loads only here
    except ImportError as exc:
        print(
            f"docstatus simulate: the simulator needs the 'simulator' extra ({exc.name or exc} is missing): "
            "pip install 'docstatus[simulator]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not 0 <= args.port <= 65535:
        print(f"docstatus simulate: --port must be 0-65535, not {args.port}", file=sys.stderr)
        return EXIT_USAGE
    if not args.step > 0 or args.step == float("inf"):
        print(
            f"docstatus simulate: --step must be a finite number of seconds > 0, not {args.step}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        print(
            f"docstatus simulate: warning: serving on {args.host}, not only this machine; the simulator "
            "has no real authentication",
            file=sys.stderr,
        )
    stop = threading.Event()
    with _signals_set(stop):  # before starting: a signal from now on stops it cleanly
        sim = Simulator(host=args.host, port=args.port)
        try:
            sim.start()
        except SimulatorError as exc:
            print(f"docstatus simulate: {exc}", file=sys.stderr)
            return EXIT_USAGE
        try:
            for line in _banner(sim, args.step):
                print(line)
            sys.stdout.flush()
            while not stop.wait(0.2):
                pass
        except KeyboardInterrupt:  # SIGINT when the handler could not be set (not the main thread)
            pass
        finally:
            sim.stop()
    print("docstatus simulate: stopped", file=sys.stderr)
    return EXIT_OK


def _banner(sim: Simulator, step: float) -> Iterator[str]:
    yield f"# docstatus simulator at {sim.url} (Ctrl-C stops it); paste these lines into your shell:"
    for name, value in sim.env().items():
        yield f"export {name}={value}"
    yield f"# Ready jobs (each phase lasts {step:g} s, from now). Control API: {sim.url}/_sim"
    for provider, script in ready_jobs():
        ref = sim.create_job(provider, script, step=step)
        yield f"#   {ref}  ({script})"


@contextlib.contextmanager
def _signals_set(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` (main thread only); the previous handlers come back after."""

    def handler(_signum: int, _frame: Any) -> None:
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
