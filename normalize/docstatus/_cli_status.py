"""``docstatus normalize`` and ``docstatus status``.

- ``docstatus normalize PROVIDER [FILE|-] [--job-id ID]``: status bodies you hold (a file, or
  stdin) -> one JobStatus JSON object per line. The input is one JSON object, a JSON array of
  them (one line per element), or JSON Lines.
- ``docstatus status REF... [--format json|table] [--timeout S]``: fetch each job's status now
  (configuration from ``DOCSTATUS_<PROVIDER>_BASE_URL`` / ``_TOKEN``) and print it.

Errors are one line on stderr (no traceback); the exit code is the first failure's (see
``docstatus._cli``).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from ._cli import EXIT_AUTH_OR_NOT_FOUND, EXIT_MALFORMED, EXIT_OK, EXIT_PROVIDER, EXIT_USAGE
from ._exceptions import (
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    DocstatusError,
    JobNotFound,
    MalformedResponse,
)
from ._status import PROVIDERS

if TYPE_CHECKING:
    import argparse

    from ._status import JobStatus


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``normalize`` and ``status`` subcommands."""
    normalize = subparsers.add_parser(
        "normalize",
        help="normalize status response bodies you already hold (file or stdin)",
        description=(
            "Read a provider's status response body (one JSON object, a JSON array of them, or "
            "JSON Lines) and print the normalized JobStatus JSON, one object per line."
        ),
    )
    normalize.add_argument("provider", choices=PROVIDERS, metavar="PROVIDER", help=", ".join(PROVIDERS))
    normalize.add_argument("file", nargs="?", default="-", metavar="FILE", help="the body; '-' or absent: stdin")
    normalize.add_argument(
        "--job-id",
        help="the job id when the body carries none (required for aitronos: ORG_ID/STORE_ID/FILE_ID)",
    )
    normalize.set_defaults(handler=_normalize)

    status = subparsers.add_parser(
        "status",
        help="fetch and print the normalized status of jobs",
        description=(
            "Fetch each job's status now and print it. REF is <provider>:<id>, e.g. artos:<document_id>, "
            "aitronos:<org_id>/<store_id>/<file_id>. Configuration: DOCSTATUS_<PROVIDER>_BASE_URL and "
            "DOCSTATUS_<PROVIDER>_TOKEN."
        ),
    )
    status.add_argument("refs", nargs="+", metavar="REF", help="job reference")
    status.add_argument("--format", choices=("json", "table"), default="json", help="output (default: json)")
    status.add_argument("--timeout", type=float, metavar="SECONDS", help="per-request timeout (default: 30)")
    status.set_defaults(handler=_status)


def exit_code(exc: DocstatusError) -> int:
    """The exit code for an error (the table in ``docstatus._cli``)."""
    if isinstance(exc, ConfigurationError | BadRequest):
        return EXIT_USAGE
    if isinstance(exc, MalformedResponse):
        return EXIT_MALFORMED
    if isinstance(exc, AuthenticationError | JobNotFound):
        return EXIT_AUTH_OR_NOT_FOUND
    return EXIT_PROVIDER


def _fail(command: str, where: str, message: object) -> None:
    print(f"docstatus {command}: {where}: {' '.join(str(message).split())}", file=sys.stderr)


# --- normalize


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:  # noqa: PTH123  # a CLI path, opened once
        return f.read()


def _documents(raw: bytes) -> list[Any] | None:
    """The bodies in the input: a JSON object, an array of them, or JSON Lines; ``None`` when the
    input is not JSON at all (``parse`` then reports it with the raw bytes)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        lines = [line for line in raw.splitlines() if line.strip()]
        if len(lines) < 2:
            return None
        try:
            return [json.loads(line) for line in lines]
        except (ValueError, RecursionError):
            return None
    return data if isinstance(data, list) else [raw]


def _normalize(args: argparse.Namespace) -> int:
    from ._parse import parse  # noqa: PLC0415  # loads the generated clients: only when used

    where = "stdin" if args.file == "-" else args.file
    if args.provider == "aitronos" and args.job_id is None:
        _fail("normalize", where, "aitronos bodies carry no job id: pass --job-id ORG_ID/STORE_ID/FILE_ID")
        return EXIT_USAGE
    try:
        raw = _read(args.file)
    except OSError as exc:
        _fail("normalize", where, f"cannot read: {exc.strerror or exc}")
        return EXIT_USAGE
    documents = _documents(raw)
    if documents is None:
        documents = [raw]
    lines: list[str] = []
    for i, document in enumerate(documents):
        label = where if len(documents) == 1 and document is raw else f"{where}: element {i}"
        try:
            lines.append(parse(args.provider, document, job_id=args.job_id).to_json())
        except DocstatusError as exc:
            _fail("normalize", label, exc)
            return exit_code(exc)
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


# --- status


def _status(args: argparse.Namespace) -> int:
    import attrs  # noqa: PLC0415
    import httpx  # noqa: PLC0415  # heavy: only when fetching

    from ._config import ProviderConfig  # noqa: PLC0415
    from ._fetch import get_status  # noqa: PLC0415
    from ._refs import parse_ref  # noqa: PLC0415

    code = EXIT_OK
    rows: list[tuple[str, JobStatus]] = []
    with httpx.Client() as client:
        for text in args.refs:
            try:
                ref = parse_ref(text)
                config = ProviderConfig.from_env(ref.provider)
                if args.timeout is not None:
                    config = attrs.evolve(config, timeout=args.timeout)
                status = get_status(ref, config=config, client=client)
            except DocstatusError as exc:
                _fail("status", text, exc)
                code = code or exit_code(exc)
                continue
            if args.format == "json":
                sys.stdout.write(status.to_json() + "\n")
                sys.stdout.flush()
            else:
                rows.append((text, status))
    if args.format == "table" and rows:
        sys.stdout.write(_table(rows))
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
    cells = [header, *[tuple(" ".join(c.split())[:60] for c in row) for row in body]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n" for row in cells)


def _when(status: JobStatus) -> str:
    data = status.to_dict()
    return str(data["updated_at"] or data["completed_at"] or "-")
