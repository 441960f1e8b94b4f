"""``docstatus normalize`` against hostile input, as a real process fed through a pipe: hundreds of
MB of junk or of JSON Lines stay in bounded memory and time, deep nesting is one line and exit 3,
never a traceback. Peak memory is the child's own ``ru_maxrss`` (``os.wait4``)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB: Linux")

MB = 1 << 20
PEAK_BOUND_MB = 200  # generous: the streaming reader peaks at ~40 MB; reading whole input took 430-700 MB here
TIME_BOUND = 90.0
EXIT_MALFORMED = 3


def normalize(feed: Callable[[IO[bytes]], None], *args: str) -> tuple[int, float, float, str]:
    """Run ``docstatus normalize artos ARGS`` with ``feed`` writing its stdin; return (exit code,
    peak RSS in MB, seconds, stderr)."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as peak_file:
        # Through a small wrapper: on Linux a child spawned straight from this (large) test
        # process starts with this process's peak RSS as its own ru_maxrss.
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRAPPER, peak_file.name, *CLI, "normalize", "artos", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        start = time.monotonic()

        def writer() -> None:
            assert proc.stdin is not None
            try:
                feed(proc.stdin)
                proc.stdin.close()
            except OSError:  # the CLI stopped reading (refused the input): fine
                pass

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > TIME_BOUND:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                pytest.fail(f"docstatus normalize still running after {TIME_BOUND} s")
            time.sleep(0.02)
        elapsed = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        thread.join(10)
        with contextlib.suppress(OSError):
            proc.stdin.close()  # type: ignore[union-attr]
        err.seek(0)
        peak_kib = int(peak_file.read() or 0)
        del usage  # the wrapper's own, not the CLI's
        return proc.returncode, peak_kib / 1024, elapsed, err.read().decode("utf-8", "replace")


CLI = (sys.executable, "-m", "docstatus._cli")

#: Runs argv[2:] as its child and writes that child's peak RSS (KiB) to the file argv[1].
_WRAPPER = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def repeat(chunk: bytes, total: int) -> Callable[[IO[bytes]], None]:
    def feed(stdin: IO[bytes]) -> None:
        for _ in range(total // len(chunk)):
            stdin.write(chunk)

    return feed


def test_200_mb_of_junk_without_newlines_is_refused_in_bounded_memory():
    code, peak, seconds, err = normalize(repeat(b"\x00junk" * (MB // 5), 200 * MB))
    assert code == EXIT_MALFORMED, err
    assert err == (
        "docstatus normalize: stdin: line 1: the line is over the limit of 16 MiB (16777216 bytes) per JSON "
        "document or line; raise it with --max-bytes\n"
    )
    assert peak < PEAK_BOUND_MB, f"peak RSS {peak:.0f} MB"
    assert seconds < TIME_BOUND


def test_200_mb_of_junk_lines_is_one_error_per_line_in_bounded_memory():
    line = b"x" * (64 * 1024 - 1) + b"\n"
    code, peak, _, err = normalize(repeat(line * 16, 200 * MB))
    assert code == EXIT_MALFORMED
    lines = err.splitlines()
    assert len(lines) == 200 * 16
    assert lines[0].startswith("docstatus normalize: stdin: line 1: artos status body is malformed: not JSON")
    assert lines[-1].startswith(f"docstatus normalize: stdin: line {200 * 16}: ")
    assert "Traceback" not in err
    assert peak < PEAK_BOUND_MB, f"peak RSS {peak:.0f} MB"


def test_30_mb_of_json_lines_are_normalized_one_at_a_time():
    # 300 lines of 100 kB, each a valid body padded with 33,000 empty lists: held whole, they
    # would be millions of Python objects.
    record = {"task_id": "document-uuid-456", "status": "Ready", "pad": [[]] * 33_000}
    line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
    code, peak, seconds, err = normalize(repeat(line, 300 * len(line)))
    assert code == 0, err
    assert err == ""
    assert peak < PEAK_BOUND_MB, f"peak RSS {peak:.0f} MB"
    assert seconds < TIME_BOUND


def test_one_document_of_100_mb_is_refused_at_the_limit():
    def feed(stdin: IO[bytes]) -> None:
        stdin.write(b"[\n")
        item = b'  {"task_id": "document-uuid-456", "status": "Ready"},\n'
        block = item * (MB // len(item))
        for _ in range(100):
            stdin.write(block)

    code, peak, seconds, err = normalize(feed)
    assert code == EXIT_MALFORMED
    assert err == (
        "docstatus normalize: stdin: the input is over the limit of 16 MiB (16777216 bytes) per JSON document "
        "or line; raise it with --max-bytes\n"
    )
    assert peak < PEAK_BOUND_MB, f"peak RSS {peak:.0f} MB"
    assert seconds < TIME_BOUND


def test_max_bytes_raises_the_limit():
    item = b'{"task_id": "document-uuid-456", "status": "Ready", "step": "' + b"s" * 300 + b'"}'

    def feed(stdin: IO[bytes]) -> None:
        stdin.write(item + b"\n")

    assert normalize(feed, "--max-bytes", "300")[0] == EXIT_MALFORMED
    code, _, _, err = normalize(feed, "--max-bytes", "1K")
    assert code == 0, err


NESTED = [
    pytest.param(b"[" * 100_000, id="100k ["),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="100k [] balanced"),
    pytest.param(b'{"a":' * 100_000, id="100k {a:"),
    pytest.param(b"[\n" + b"[" * 100_000 + b"\n", id="pretty array, nested element"),
    pytest.param(b'{"task_id": "d", "status": "Ready"}\n' + b"[" * 100_000 + b"\n", id="json lines, nested line"),
]


@pytest.mark.parametrize("data", NESTED)
def test_deeply_nested_json_is_exit_3_with_one_clear_line(data):
    code, _, _, err = normalize(lambda stdin: stdin.write(data))
    assert code == EXIT_MALFORMED
    assert "Traceback" not in err
    problems = [line for line in err.splitlines() if "nested too deeply" in line]
    assert len(problems) == 1, err
    assert len(err.splitlines()) == 1, err
    assert problems[0].startswith("docstatus normalize: stdin")
