"""The ``docstatus`` command. Each subcommand lives in its own private module
(``_cli_<name>.py``) exposing ``register(subparsers)``; this module dispatches, and holds the exit
codes and the one rule that turns outcomes into an exit code. This docstring is the reference the
README's table copies.

Exit codes:

====  ==========================================================================================
0     success: every job or document reported, none failed (see "per command" below)
1     a job failed, partially succeeded or was cancelled (``wait``: or waits for an action)
2     usage or configuration error (bad arguments, bad reference, no token or a bad token)
3     malformed input or response (``normalize``: input not JSON, over ``--max-bytes``, nested
      too deeply, or not the provider's documented status)
4     authentication failed or job not found
5     timeout: a deadline passed before the jobs ended (``wait``)
6     the provider or the network failed (``wait``: until the deadline)
70    internal error: a bug in docstatus (one line on stderr naming the exception type; please
      report it). Never a traceback.
130   interrupted (Ctrl-C)
141   stdout was closed early (e.g. ``docstatus normalize ... | head -1``): the command stops
      quietly, nothing on stderr, as a program killed by SIGPIPE would
====  ==========================================================================================

Per command:

- ``status``, ``normalize`` and ``wait``: every job (every document for ``normalize``) is
  handled; one that cannot be does not stop the others. Each problem is one line on stderr, and
  the exit code is the most serious outcome among them all, in this order: 70, 2, 4, 3, 6, 5, 1,
  0 (``combine``, ``error_code``, ``state_code``). A job reported in a state that is not final
  (queued, running, action_required, unknown) by ``status`` or ``normalize`` counts as 0: the
  command succeeded in reporting it. ``wait`` waits until jobs end, so for it a job that waits
  for an action is 1 and one not ended at the deadline is 5; a bad REF or configuration makes
  ``wait`` say every such REF and wait on none (exit 2).
- ``normalize`` reads JSON Lines one line at a time, or one JSON document (object or array,
  possibly pretty-printed) of at most ``--max-bytes`` (default 16 MiB); a line over the limit is
  an error for that line, a document over it refuses the input (exit 3, naming the limit and the
  option). See ``docstatus._cli_input``.
- ``demo`` deliberately shows a failure and a partial success: it exits 0 when every job ended
  as its script intends (including the failed and the partially succeeded one), 1 when some job
  ended otherwise (or not at all), 2 when the ``simulator`` extra is missing, 130 on Ctrl-C.
- ``simulate`` exits 0 when stopped with Ctrl-C or SIGTERM (the normal end of a foreground
  server), 2 when the extra is missing or the address cannot be served.

Every message is one line on stderr (argparse's usage errors: its usage line and one error line):
whitespace collapsed, control and format characters escaped (``docstatus._text.printable``: no
terminal escape sequence from a provider gets through), long references shortened, and no
credential: the values of ``DOCSTATUS_*_TOKEN`` of ``MASK_MIN`` (6) characters or more, and every
credential a request used, are masked as ``***`` in everything the CLI prints, stdout included,
in every spelling ``docstatus._secrets.forms`` lists (as they are, stripped, escaped,
percent-encoded, in base64, also of ``Bearer <token>``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import warnings
from typing import TYPE_CHECKING, Any, Final

from . import _exceptions as errors
from ._secrets import mask, remember_environment
from ._status import State
from ._text import LINE_LIMIT, json_for_humans, printable

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_USAGE = 2
EXIT_MALFORMED = 3
EXIT_AUTH_OR_NOT_FOUND = 4
EXIT_TIMEOUT = 5
EXIT_PROVIDER = 6
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
EXIT_OUTPUT_CLOSED = 141

#: Exit codes from the most to the least serious: the first one any job has is the command's.
SEVERITY: Final = (
    EXIT_INTERNAL,
    EXIT_USAGE,
    EXIT_AUTH_OR_NOT_FOUND,
    EXIT_MALFORMED,
    EXIT_PROVIDER,
    EXIT_TIMEOUT,
    EXIT_JOB_FAILED,
    EXIT_OK,
)

#: The states a job ends in without succeeding: exit code 1.
_FAILED_STATES: Final = frozenset({State.FAILED, State.PARTIALLY_SUCCEEDED, State.CANCELLED})

#: Subcommand modules, in the order ``--help`` lists them.
SUBCOMMANDS = ("_cli_status", "_cli_wait", "_cli_track", "_cli_simulate")

#: A reference or file name in a message is cut to this many characters.
WHERE_LIMIT: Final = 120


# --- outcomes -> exit codes (the one rule for status, normalize and wait)


def error_code(error: BaseException) -> int:
    """The exit code of an error that stopped handling one job or document."""
    if isinstance(error, errors.ConfigurationError | errors.BadRequest):
        return EXIT_USAGE
    if isinstance(error, errors.AuthenticationError | errors.JobNotFound):
        return EXIT_AUTH_OR_NOT_FOUND
    if isinstance(error, errors.MalformedResponse):
        return EXIT_MALFORMED
    if isinstance(error, errors.WaitTimeout):
        cause = error.__cause__
        if isinstance(cause, errors.DocstatusError):  # the polls were failing when the deadline came
            return EXIT_MALFORMED if isinstance(cause, errors.MalformedResponse) else EXIT_PROVIDER
        return EXIT_TIMEOUT
    if isinstance(error, errors.ActionRequired | errors.JobFailed):
        return EXIT_JOB_FAILED
    if isinstance(error, errors.DocstatusError):
        return EXIT_PROVIDER
    if isinstance(error, Warning):  # made an error by `-W error` or PYTHONWARNINGS: the run's own choice
        return EXIT_USAGE
    return EXIT_INTERNAL


def state_code(state: State) -> int:
    """The exit code of a job reported in ``state``: 1 when it ended without succeeding, else 0
    (succeeded, or not ended: the command succeeded in reporting it)."""
    return EXIT_JOB_FAILED if state in _FAILED_STATES else EXIT_OK


def combine(codes: Iterable[int]) -> int:
    """The most serious of ``codes`` (``SEVERITY`` order); ``EXIT_OK`` for none."""
    present = set(codes)
    return next((code for code in SEVERITY if code in present), EXIT_OK)


# --- output


def one_line(text: object, limit: int = LINE_LIMIT) -> str:
    """``text`` as one line a terminal shows as it is (``docstatus._text.printable``), credentials
    masked first (a token cut at the limit, or holding two spaces, would show in part)."""
    try:
        shown = mask(str(text))
    except Exception:  # an object that cannot even be shown: printable says so
        return printable(text, limit)
    return printable(shown, limit)


def shorten(where: str, limit: int = WHERE_LIMIT) -> str:
    """A reference or path for a message: one line, its head and tail when longer than ``limit``."""
    if len(where) <= limit:
        return one_line(where)
    return f"{one_line(where[: limit - 30])}…({len(where)} chars)…{one_line(where[-8:])}"


def say(line: str) -> None:
    """Print one line on stderr, tokens masked; a closed stderr is ignored."""
    with contextlib.suppress(OSError, ValueError):
        print(mask(line), file=sys.stderr, flush=True)


def fail(command: str, where: str, message: object) -> None:
    """One line on stderr: ``docstatus COMMAND: WHERE: MESSAGE``."""
    say(f"docstatus {command}: {shorten(where)}: {one_line(message)}")


def emit(line: str) -> None:
    """Write one line on stdout (tokens masked; C1 controls and bidi characters as JSON escapes,
    ``docstatus._text.json_for_humans``) and flush it, so pipes see it at once."""
    sys.stdout.write(json_for_humans(mask(line)) + "\n")
    sys.stdout.flush()


def _output_closed() -> int:
    """stdout's reader went away: point stdout at /dev/null so nothing complains at exit."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_OUTPUT_CLOSED


def internal_error(command: str, where: str | None, exc: BaseException) -> None:
    """The last-resort line for an exception outside ``DocstatusError``: its type, never its
    message (it may hold a credential or a whole body)."""
    place = f"{shorten(where)}: " if where is not None else ""
    name = f"docstatus {command}" if command else "docstatus"
    if isinstance(exc, Warning):  # made an error by -W or PYTHONWARNINGS; docstatus's own text holds no body
        said = one_line(mask(str(exc))) if isinstance(exc, errors.InsecureCredentialWarning) else "a warning"
        say(f"{name}: {place}{said} ({type(exc).__name__}, an error in this process by -W or PYTHONWARNINGS)")
        return
    say(
        f"{name}: {place}internal error ({type(exc).__name__}); this is a bug in docstatus, "
        "please report it with the command that caused it"
    )


# --- dispatch


class Parser(argparse.ArgumentParser):
    """The CLI's argument parser: a subcommand takes its options anywhere among its positionals
    (``docstatus normalize PROVIDER --job-id ID body.json``, ``docstatus status REF --format table
    REF``), as a parser without subcommands of its own reads them intermixed
    (``parse_known_intermixed_args``). A parser with subcommands (``docstatus``, ``docstatus
    track``) reads its own part as usual and hands the rest to the subcommand's parser, which
    argparse makes of this same class; it refuses intermixed parsing on a parser with subcommands.
    """

    _intermixing = False

    def parse_known_args(  # type: ignore[override]  # typeshed overloads it; one signature is enough here
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._intermixing or self._subparsers is not None or (args and args[0] == "--"):
            # After a leading "--" all is positional anyway (and intermixed parsing would drop it).
            return super().parse_known_args(args, namespace)
        self._intermixing = True  # parse_known_intermixed_args calls this method again (Python < 3.13.1)
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


class _Version(argparse.Action):
    """``--version``: the installed distribution's version, read only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object, **__: object) -> None:
        from . import __version__  # noqa: PLC0415  # importlib.metadata: only for --version

        print(f"docstatus {__version__}")  # on stdout, as argparse's own version action prints
        parser.exit()


def command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    help: str,  # noqa: A002  # argparse's own name for it
    description: str,
    epilog: str,
    refs: bool = False,
) -> argparse.ArgumentParser:
    """Add subcommand ``name``, its ``epilog`` (exit codes, examples) printed as written; with
    ``refs``, its ``REF...`` arguments (``args.refs``)."""
    parser = subparsers.add_parser(
        name, help=help, description=description, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if refs:
        parser.add_argument("refs", nargs="+", metavar="REF", help="job reference")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="docstatus",
        description="Normalized job status for document-AI APIs: normalize, fetch, wait, simulate.",
        epilog=(
            "exit codes: 0 success, 1 a job failed, partially succeeded or was cancelled, 2 usage or "
            "configuration error, 3 malformed input or response, 4 authentication failed or job not "
            "found, 5 timeout, 6 provider or network failure, 70 internal error (a bug: please report "
            "it), 130 interrupted, 141 stdout closed early. Each command's --help says how it uses them."
        ),
    )
    parser.add_argument("--version", action=_Version, help="print docstatus's version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"docstatus.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"docstatus.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    remember_environment()  # DOCSTATUS_*_TOKEN values: masked in everything printed and logged
    with one_line_diagnostics():
        return _run(argv)


class _StderrLines(logging.Handler):
    """The ``docstatus`` logger's records, as the CLI's other messages: one line each on stderr,
    printable and masked (Python's last-resort handler would print them raw)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            say(f"docstatus: {record.levelname.lower()}: {one_line(record.getMessage())}")
        except Exception:  # a record that cannot be shown: logging's own rule, never an exception
            self.handleError(record)


@contextlib.contextmanager
def one_line_diagnostics() -> Iterator[None]:
    """While a command runs: warnings (``InsecureCredentialWarning``...) and the ``docstatus``
    logger's records at WARNING and above are one line each on stderr, like every other message
    of the CLI (no source path, no second line, no token, no control character)."""
    log = logging.getLogger("docstatus")
    handler = _StderrLines(logging.WARNING)
    log.addHandler(handler)
    propagate, log.propagate = log.propagate, False
    shown = warnings.showwarning

    def showwarning(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
        say(f"docstatus: warning: {one_line(message)} ({category.__name__})")

    warnings.showwarning = showwarning
    try:
        yield
    finally:
        warnings.showwarning = shown
        log.removeHandler(handler)
        log.propagate = propagate


def _run(argv: Sequence[str] | None) -> int:
    command = None
    try:
        args = build_parser().parse_args(argv)  # usage errors: argparse's two lines and exit 2
        command = args.command
        code: int = args.handler(args)
    except KeyboardInterrupt:
        say("docstatus: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout went away (`| head`): stop quietly
        return _output_closed()
    except Exception as exc:  # the last resort: never a traceback
        internal_error(command or "", None, exc)
        return error_code(exc)
    return code


if __name__ == "__main__":  # `python -m docstatus._cli`: run the imported module, whose state the subcommands share
    from docstatus._cli import main as _main

    sys.exit(_main())
