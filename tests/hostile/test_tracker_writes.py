"""What the tracker writes per poll when a provider's status is large: a real server on
127.0.0.1 (raw sockets) answers every poll of a running Neurolinker job with the same status of
20,000 outputs (its ``results.cropped_images``: about 2 MB, made of short texts, so no cut of a
long provider text makes it smaller), and ``Tracker.run_async`` polls it in a child process that
counts the bytes it writes (``wchar`` in ``/proc/self/io``: every ``write`` to the database file
and its ``-wal``, checkpoints included).

Promises checked: the status is written once, when it changes; each poll that brings the same
status writes a few KiB (its small ``WaitState``), not the status again; ``track show`` has the
whole status, and a restarted run goes on from it without writing it again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _rawserver import Conn, RawServer, answer
from docstatus import Tracker

pytestmark = pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs /proc/<pid>/io (Linux)")

DOCUMENT = "1d6986aa-80ac-4a4d-9009-5a323c9046b1"
REF = f"neurolinker:{DOCUMENT}"
IMAGES = [f"crops/page-{i // 10:04d}/figure-{i % 10:02d}-{'x' * 40}.png" for i in range(20_000)]

_CHILD = r"""
import asyncio, json, sys
import docstatus

def written():
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("wchar:"))

policy = docstatus.WaitPolicy(initial_delay=0.1, min_delay=0.1, max_delay=0.1, jitter=0.0, lag_ratio=None,
                              use_progress=False, timeout=3600)
tracker = docstatus.Tracker(sys.argv[1], policy=policy, host_rate=None, spread=0.0)

async def main():
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(float(sys.argv[2]), stop.set)
    before = written()
    await tracker.run_async(stop=stop)
    print(json.dumps({"written": written() - before}))

asyncio.run(main())
tracker.close()
"""


def _run(db: Path, server: RawServer, seconds: float) -> int:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")},
        "DOCSTATUS_NEUROLINKER_BASE_URL": server.url,
        "DOCSTATUS_NEUROLINKER_TOKEN": "tok-WRITES-1a2b3c4d",
    }
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(db), str(seconds)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    written: int = json.loads(result.stdout.splitlines()[-1])["written"]
    return written


def test_a_large_status_is_written_once_not_at_every_poll(tmp_path: Path) -> None:
    body: dict[str, Any] = {
        "success": True,
        "document_id": DOCUMENT,
        "status": "processing",
        "results": {"cropped_images": IMAGES},
    }
    polls: list[str] = []

    def running(conn: Conn) -> None:
        polls.append(conn.request.path)
        answer(200, body)(conn)

    db = tmp_path / "t.db"
    with Tracker(db) as tracker:
        tracker.add(REF)
    with RawServer(running, limit=300) as server:
        first = _run(db, server, 6.0)
        first_polls = len(polls)
        second = _run(db, server, 6.0)  # a restart: the same status again at every poll
        second_polls = len(polls) - first_polls
    with Tracker(db) as tracker:
        job = tracker.get(REF)
        assert job is not None
        assert job.status is not None
        assert [o.name for o in job.status.outputs] == IMAGES  # track show has it whole
        # (a poll in flight when a run stopped reached the server, not the database)
        assert first_polls + second_polls - 2 <= job.polls <= first_polls + second_polls
        size = len(json.dumps(job.status.to_dict()))
    per_poll_first = (first - size) / max(1, first_polls - 1)
    per_poll_second = second / max(1, second_polls)
    print(
        f"{size / 1e6:.1f} MB status: first run {first_polls} polls, {first / 1e6:.2f} MB written "
        f"({per_poll_first / 1024:.1f} KiB per poll past the first); restarted run {second_polls} polls, "
        f"{second / 1e6:.2f} MB written ({per_poll_second / 1024:.1f} KiB per poll)"
    )
    assert size > 1_500_000
    # Five polls or more each (a loaded machine made 9 in 4 s): fewer than five, rewriting the
    # status each time, could stay under the bounds below.
    assert first_polls >= 5
    assert second_polls >= 5
    # The status once (into the -wal, and maybe once more by a checkpoint into the file), then a
    # few KiB per poll; every poll rewriting it would be >= 1.5 MB each.
    assert first <= 3 * size + 64 * 1024 * first_polls
    assert second <= 64 * 1024 * second_polls
