"""``docstatus normalize`` and ``docstatus status``.

- ``docstatus normalize PROVIDER [FILE|-] [--job-id ID] [--max-bytes N]``: status bodies you hold
  (a file, or stdin) -> one JobStatus JSON object per line. The input is JSON Lines, one JSON
  object, or a JSON array of them (one line per element), read in bounded memory: no single
  document or line may be over ``--max-bytes`` (default 16 MiB); see ``docstatus._cli_input``.
- ``docstatus status REF... [--format json|table] [--timeout S]``: fetch each job's status now
  (configuration from ``DOCSTATUS_<PROVIDER>_BASE_URL`` / ``_TOKEN``) and print it.

Both handle every job or document: one that cannot be handled is one line on stderr and the
others go on; so is each job that ended failed, partially succeeded or cancelled. The exit code is
the most serious outcome among them all (``docstatus._cli.combine``); a job in a state that is
not final counts as success (0): the command succeeded in reporting it.
"""

from __future__ import annotations

import argparse
import math
import os
import stat
import sys
from typing import IO, TYPE_CHECKING

from ._cli import (
    EXIT_MALFORMED,
    EXIT_OK,
    EXIT_USAGE,
    combine,
    command,
    emit,
    error_code,
    fail,
    internal_error,
    one_line,
    state_code,
)
from ._cli_input import DEFAULT_MAX_BYTES, NESTED, Document, documents, parse_size, place, size_text
from ._exceptions import DocstatusError
from ._registry import mapper, names
from ._secrets import mask
from ._text import json_for_humans

if TYPE_CHECKING:
    from ._status import JobStatus

_NORMALIZE_EPILOG = f"""\
input: JSON Lines (each line one body; a line holding an array gives one per element), or one
JSON object or array, pretty-printed or not. It is read as it comes, never whole: a JSON Lines
line, or the one document, may have at most --max-bytes (default {size_text(DEFAULT_MAX_BYTES)});
a longer line is an error for that line only, a longer document refuses the input (exit 3).

exit codes (the most serious outcome among the documents wins, in this order):
  70   internal error (a bug in docstatus: please report it)
  2    usage error (bad --job-id, unreadable FILE)
  3    a document is not JSON, is over --max-bytes, is nested too deeply, or is not the
       provider's documented status
  1    a body says the job failed, partially succeeded or was cancelled
  0    every body normalized, none of them a failure (queued, running, action_required,
       unknown and succeeded all count as 0)
  141  stdout was closed early (e.g. | head -1)
"""

_STATUS_EPILOG = """\
exit codes (the most serious outcome among the jobs wins, in this order):
  70   internal error (a bug in docstatus: please report it)
  2    usage or configuration error (bad REF, no token, a bad token, bad --timeout)
  4    authentication failed or job not found
  3    the provider's answer is malformed
  6    the provider or the network failed (429, 5xx, no answer, timeout)
  1    a job failed, partially succeeded or was cancelled
  0    every job reported, none of them a failure (queued, running, action_required, unknown
       and succeeded all count as 0)
  130  interrupted (Ctrl-C)
  141  stdout was closed early (e.g. | head -1)
"""


def _max_bytes(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of bytes > 0, optionally with K, M or G (e.g. 64M), not {text[:40]!r}"
        ) from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``normalize`` and ``status`` subcommands."""
    normalize = command(
        subparsers,
        "normalize",
        help="normalize status response bodies you already hold (file or stdin)",
        description=(
            "Read a provider's status response bodies (JSON Lines, one JSON object, or a JSON array of "
            "them) and print the normalized JobStatus JSON, one object per line."
        ),
        epilog=_NORMALIZE_EPILOG,
    )
    normalize.add_argument("provider", choices=names(), metavar="PROVIDER", help=", ".join(names()))
    normalize.add_argument("file", nargs="?", default="-", metavar="FILE", help="the body; '-' or absent: stdin")
    normalize.add_argument(
        "--job-id",
        help="the job id, for bodies that carry none (required where the provider's bodies never do): "
        "the id part of the provider's reference form, e.g. A/B/C for an id of three parts",
    )
    normalize.add_argument(
        "--max-bytes",
        type=_max_bytes,
        default=DEFAULT_MAX_BYTES,
        metavar="N",
        help=(
            "the largest JSON document, or JSON Lines line, accepted, in bytes; K, M, G suffixes allowed "
            f"(default: {DEFAULT_MAX_BYTES}, {size_text(DEFAULT_MAX_BYTES).split(' (')[0]})"
        ),
    )
    normalize.set_defaults(handler=_normalize)

    status = command(
        subparsers,
        "status",
        help="fetch and print the normalized status of jobs",
        description=(
            "Fetch each job's status now and print it. REF is <provider>:<id> (the id in as many "
            "'/'-separated parts as the provider's ids have). Configuration: DOCSTATUS_<PROVIDER>_BASE_URL and "
            "DOCSTATUS_<PROVIDER>_TOKEN."
        ),
        epilog=_STATUS_EPILOG,
        refs=True,
    )
    status.add_argument("--format", choices=("json", "table"), default="json", help="output (default: json)")
    status.add_argument("--timeout", type=float, metavar="SECONDS", help="per-request timeout (default: 30)")
    status.set_defaults(handler=_status)


def _ended(command: str, where: str, status: JobStatus) -> int:
    """The job's exit code; a stderr line when it ended without succeeding."""
    code = state_code(status.state)
    if code != EXIT_OK:
        why = f": {status.error.message}" if status.error is not None else ""
        fail(command, where, f"ended {status.state} ({status.provider_state}){why}")
    return code


# --- normalize


def _job_id_refused(provider: str, job_id: str | None, name: str) -> int | None:
    """The exit code when ``--job-id`` is missing where the provider's bodies carry no id, or is
    not an id of the provider (said on stderr); ``None`` when it is fine."""
    module = mapper(provider)
    if module.ID_FIELD is None and job_id is None:
        form = module.FORM.partition(":")[2].replace("<", "").replace(">", "").upper()
        fail("normalize", name, f"{provider} bodies carry no job id: pass --job-id {form}")
        return EXIT_USAGE
    if job_id is not None:
        from ._refs import parse_ref  # noqa: PLC0415

        try:
            parse_ref(f"{provider}:{job_id}")
        except DocstatusError as exc:
            fail("normalize", "--job-id", exc)
            return error_code(exc)
    return None


def _normalize(args: argparse.Namespace) -> int:
    from ._parse import parser  # noqa: PLC0415  # loads the generated clients: only when used
    from ._status import State  # noqa: PLC0415

    name = "stdin" if args.file == "-" else args.file
    refused = _job_id_refused(args.provider, args.job_id, name)
    if refused is not None:
        return refused
    try:
        stream = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: PTH123, SIM115
    except OSError as exc:
        fail("normalize", name, f"cannot read: {exc.strerror or exc}")
        return EXIT_USAGE
    code = EXIT_OK
    # The per-line loop is the command's cost (bench/bench_normalize.py): the place of a document
    # is spelled out only for a message, and output read from a regular file (which never
    # blocks) is flushed as its buffer fills and at the end, not line by line (a pipe or a
    # terminal still gets each line as soon as it is normalized).
    parse = parser(args.provider, args.job_id)  # checked above: raises nothing here
    codes = {state: state_code(state) for state in State}
    out = sys.stdout
    write = out.write
    each_line = not _regular(stream)
    try:
        for document in documents(stream, args.max_bytes):
            if document.problem is not None:
                fail("normalize", _where(name, document), document.problem)
                code = combine((code, EXIT_MALFORMED))
                continue
            try:
                status = parse(document.data)
            except DocstatusError as exc:  # a line's bytes nested too deeply: said as documents() says it
                fail("normalize", _where(name, document), NESTED if isinstance(exc.__cause__, RecursionError) else exc)
                code = combine((code, error_code(exc)))
                continue
            except Exception as exc:  # one bad document never stops the others
                internal_error("normalize", _where(name, document), exc)
                code = combine((code, error_code(exc)))
                continue
            write(json_for_humans(mask(status.to_json())) + "\n")  # emit(); for a file, flushed as it fills
            if each_line:
                out.flush()
            if codes[status.state] != EXIT_OK:
                code = combine((code, _ended("normalize", _where(name, document), status)))
        out.flush()
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        fail("normalize", name, f"cannot read: {exc.strerror or exc}")
        code = combine((code, EXIT_USAGE))
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    return code


def _where(name: str, document: Document) -> str:
    """Where a document is, for a message: the input's name and its place in it."""
    where = place(document)
    return name if where is None else f"{name}: {where}"


def _regular(stream: IO[bytes]) -> bool:
    """True when ``stream`` reads a regular file (reading never waits for a writer)."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # no file descriptor (a test's stream): a pipe
        return False


# --- status


def _status(args: argparse.Namespace) -> int:
    import attrs  # noqa: PLC0415
    import httpx  # noqa: PLC0415  # heavy: only when fetching

    from ._config import ProviderConfig  # noqa: PLC0415
    from ._fetch import get_status  # noqa: PLC0415
    from ._refs import parse_ref  # noqa: PLC0415

    timeout = args.timeout
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        fail("status", "--timeout", f"must be a finite number of seconds > 0, not {timeout:g}")
        return EXIT_USAGE
    code = EXIT_OK
    rows: list[tuple[str, JobStatus]] = []
    with httpx.Client() as client:
        for text in args.refs:
            try:
                ref = parse_ref(text)
                config = ProviderConfig.from_env(ref.provider)
                if timeout is not None:
                    config = attrs.evolve(config, timeout=timeout)
                status = get_status(ref, config=config, client=client)
            except DocstatusError as exc:
                fail("status", text, exc)
                code = combine((code, error_code(exc)))
                continue
            except Exception as exc:  # one bad job never stops the others
                internal_error("status", text, exc)
                code = combine((code, error_code(exc)))
                continue
            if args.format == "json":
                emit(status.to_json())
            else:
                rows.append((text, status))
            code = combine((code, _ended("status", text, status)))
    if args.format == "table" and rows:
        for line in _table(rows).splitlines():
            emit(line)
    return code


def _table(rows: list[tuple[str, JobStatus]]) -> str:
    header = ("REF", "STATE", "PROVIDER STATE", "PROGRESS", "STEP", "UPDATED", "ERROR")
    body = [
        (
            ref,
            s.state.value,
            s.provider_state,
            "-" if s.progress is None else f"{s.progress:.0%}",
            s.step or "-",
            _when(s),
            "-" if s.error is None else s.error.message,
        )
        for ref, s in rows
    ]
    cells = [header, *[tuple(one_line(c, limit=60) for c in row) for row in body]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n" for row in cells)


def _when(status: JobStatus) -> str:
    data = status.to_dict()
    return str(data["updated_at"] or data["completed_at"] or "-")
