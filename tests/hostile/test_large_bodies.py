"""Large bodies cost bounded memory: a waiting job keeps its last status, not the body it came
from (over ``KEEP_BODY``), and a provider text in a status keeps at most ``MAX_TEXT`` characters.

A real server on 127.0.0.1 answers multi-MB bodies (under the 8 MiB cap); ``watch_many`` runs in a
child process that reports its own peak resident memory (``VmHWM``), so nothing else of the test
run counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import docstatus
import pytest
from _rawserver import RawServer, answer
from docstatus import ProviderConfig
from docstatus._parse import MAX_TEXT
from docstatus._waiting._core import KEEP_BODY

MiB = 1024 * 1024
TOKEN = "tok-LARGE-1a2b3c4d"


def running_with_long_error(size: int, task_id: str = "doc-0") -> bytes:
    """A job still running whose error text (a provider's, untrusted) is ``size`` characters."""
    return json.dumps({"task_id": task_id, "status": "Generating", "error": "e" * size}).encode()


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    import docstatus
    from docstatus import ProviderConfig, WaitPolicy

    def hwm():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM"):
                return int(line.split()[1]) * 1024

    async def main(url, jobs):
        cfg = ProviderConfig(provider="artos", base_url=url, token=sys.argv[3])
        refs = [f"artos:doc-{i}" for i in range(jobs)]
        policy = WaitPolicy(timeout=20, initial_delay=1, max_delay=60, jitter=0)  # one poll each, with time to spare
        base = hwm()
        ended = 0
        async for update in docstatus.watch_many(refs, config=cfg, policy=policy, host_rate=None):
            if update.done:
                ended += 1
                assert isinstance(update.error, docstatus.WaitTimeout), update.error
                assert update.status is None or update.status.model is None  # None: never answered in time
        print(ended, hwm() - base)

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


def test_waiting_jobs_with_multi_mb_bodies_keep_bounded_memory() -> None:
    """120 jobs answering 4 MiB bodies, each polled once or more: kept whole (the body for a lazy
    model, plus its 4 MiB text) they held about 1.2 GB; bounded, what grows is the polls in flight
    (the host's concurrency, 8 by default) and a few kB per job."""
    jobs, size = 120, 4 * MiB
    with RawServer(answer(200, running_with_long_error(size)), limit=120) as server:
        result = subprocess.run(
            [sys.executable, "-c", CHILD, server.url, str(jobs), TOKEN],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        polls = len(server.requests)
    assert result.returncode == 0, result.stderr
    ended, grown = map(int, result.stdout.split())
    assert ended == jobs
    assert polls >= jobs  # every job was sent its big body at least once
    assert grown < 300 * MiB, f"peak grew {grown / MiB:.0f} MiB"


def test_a_provider_text_is_cut_at_max_text_and_a_waiting_status_sheds_a_large_body() -> None:
    data = running_with_long_error(3 * MAX_TEXT)
    status = docstatus.parse("artos", data)
    assert status.error is not None
    assert len(status.error.message) < MAX_TEXT + 40
    assert status.error.message.endswith(f"… ({2 * MAX_TEXT} characters cut)")
    assert status.model is not None  # parse keeps what it was given: the caller holds the status
    with RawServer(answer(200, data)) as server:
        cfg = ProviderConfig(provider="artos", base_url=server.url, token=TOKEN)
        fetched = docstatus.get_status("artos:doc-0", config=cfg)
        assert fetched == status
        with pytest.raises(docstatus.WaitTimeout) as info:
            docstatus.wait("artos:doc-0", config=cfg, timeout=1.0)
    assert len(data) > KEEP_BODY
    last = info.value.last_status
    assert last == status
    assert last is not None
    assert last.model is None  # what the waiting job kept: the status, not its body


def test_a_final_status_keeps_its_model_whatever_its_size() -> None:
    final = json.dumps({"task_id": "doc-0", "status": "Failed", "error": "x" * (2 * KEEP_BODY)}).encode()
    with RawServer(answer(200, final)) as server:
        cfg = ProviderConfig(provider="artos", base_url=server.url, token=TOKEN)
        status = docstatus.wait("artos:doc-0", config=cfg, timeout=10)
    assert status.state is docstatus.State.FAILED
    assert status.model is not None
    assert status.model.error == "x" * (2 * KEEP_BODY)  # the model has the body as sent
