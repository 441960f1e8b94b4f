"""The ``docstatus`` command. Each subcommand lives in its own private module
(``_cli_<name>.py``) exposing ``register(subparsers)``; this module only dispatches.

Exit codes (documented in the README):

====  ==========================================================
0     success (for ``wait``: every job succeeded)
1     some job failed, partially succeeded or was cancelled
2     usage or configuration error (bad arguments, bad reference, no token)
3     malformed input or response
4     authentication failed or job not found
5     timeout: a deadline passed before the jobs ended
6     the provider or the network failed (after retries)
130   interrupted (Ctrl-C)
====  ==========================================================
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_USAGE = 2
EXIT_MALFORMED = 3
EXIT_AUTH_OR_NOT_FOUND = 4
EXIT_TIMEOUT = 5
EXIT_PROVIDER = 6
EXIT_INTERRUPTED = 130

#: Subcommand modules, in the order ``--help`` lists them.
SUBCOMMANDS = ("_cli_status", "_cli_wait", "_cli_simulate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docstatus",
        description="Normalized job status for document-AI APIs: normalize, fetch, wait, simulate.",
    )
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
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        print("docstatus: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":
    sys.exit(main())
