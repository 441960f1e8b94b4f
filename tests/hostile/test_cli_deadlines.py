"""A job that times out is told with the deadline it had, on every path that waits: ``wait``,
``watch_many`` (its polls and its expiry path, for a job whose host is paused past its deadline),
the ``Tracker`` (whose jobs carry their own deadline, not ``WaitPolicy.timeout``'s 3600 s) and the
CLI. ``WaitTimeout.timeout`` is that deadline too. Real servers on 127.0.0.1, real processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from contextlib import aclosing
from datetime import UTC, datetime, timedelta

import docstatus
import pytest
from _rawserver import RawServer, answer
from _status_checks import body
from docstatus import ProviderConfig, Tracker, WaitPolicy, WaitTimeout

pytestmark = pytest.mark.anyio

TOKEN = "tok-DEADLINE-4b1e90"
REF = "artos:document-uuid-456"
#: Polls often, so a short deadline sees several; its ``timeout`` stays the default 3600 s.
POLICY = WaitPolicy(initial_delay=0.2, max_delay=0.5, min_delay=0.1, request_timeout=2.0)


def running() -> RawServer:
    """A job that never ends."""
    return RawServer(answer(200, body("artos", "Generating", task_id="document-uuid-456")))


def config(url: str) -> ProviderConfig:
    return ProviderConfig(provider="artos", base_url=url, token=TOKEN, timeout=2)


def said_deadline(message: str, seconds: str) -> None:
    assert f"did not end within its deadline of {seconds} s" in message, message
    assert "3600" not in message, message  # WaitPolicy.timeout's default: not this job's deadline
    assert TOKEN not in message


def test_wait_says_the_deadline_it_was_given():
    with running() as server, pytest.raises(WaitTimeout) as info:
        docstatus.wait(REF, timeout=1.5, policy=POLICY, config=config(server.url))
    said_deadline(str(info.value), "1.5")
    assert info.value.timeout == 1.5
    assert info.value.last_status is not None


async def test_watch_many_says_the_deadline_of_each_job():
    with running() as server:
        async with aclosing(docstatus.watch_many([REF], timeout=1.5, policy=POLICY, config=config(server.url))) as it:
            ends = [u async for u in it if u.done]
    (end,) = ends
    assert isinstance(end.error, WaitTimeout)
    said_deadline(str(end.error), "1.5")
    assert end.error.timeout == 1.5


async def test_watch_many_says_the_deadline_when_its_host_is_paused_past_it():
    """A 429 pausing the host for 5 minutes: the job's last poll cannot start, and it ends at its
    deadline through watch_many's expiry path (no request), its message the same."""
    with RawServer(answer(429, b"{}", {"Retry-After": "300", "Content-Type": "application/json"})) as server:
        started = time.monotonic()
        async with aclosing(docstatus.watch_many([REF], timeout=2, policy=POLICY, config=config(server.url))) as it:
            ends = [u async for u in it if u.done]
        took = time.monotonic() - started
        polls = len(server.requests)
    (end,) = ends
    assert isinstance(end.error, WaitTimeout)
    said_deadline(str(end.error), "2")
    assert end.error.timeout == 2
    assert isinstance(end.error.__cause__, docstatus.RateLimited)
    assert polls == 1  # the paused host was never asked again
    assert took < 2 + 10


def test_a_tracked_job_times_out_at_its_own_deadline_and_says_so(tmp_path):
    """``Tracker.add(deadline=2)`` under a policy whose timeout is 3600 s: the job ends after about
    2 s, and its completion says 2 s (it said 3600 s)."""
    done: list[docstatus.Completion] = []
    with running() as server, Tracker(tmp_path / "jobs.db", policy=POLICY, config=config(server.url)) as tracker:
        tracker.add(REF, deadline=2)
        tracker.on_done(done.append)
        started = time.monotonic()
        tracker.run()
        took = time.monotonic() - started
    (completion,) = done
    assert (completion.state, completion.error) == ("timed_out", "WaitTimeout")
    assert completion.message is not None
    said_deadline(completion.message, "2")
    assert 1.5 < took < 2 + 10


def test_a_deadline_given_as_a_datetime_is_said_in_seconds(tmp_path):
    done: list[docstatus.Completion] = []
    with running() as server, Tracker(tmp_path / "jobs.db", policy=POLICY, config=config(server.url)) as tracker:
        tracker.add(REF, deadline=datetime.now(UTC) + timedelta(seconds=2))
        tracker.on_done(done.append)
        tracker.run()
    (completion,) = done
    assert completion.message is not None
    assert re.search(r"did not end within its deadline of (1\.9\d*|2) s", completion.message), completion.message
    assert "3600" not in completion.message


def test_a_tracked_job_resumed_after_its_deadline_says_when_waiting_on_it_started(tmp_path):
    """Added with 1 s, run 3 s later (a run that was down): the deadline is 1 s, and the message
    says how long ago waiting on the job started, which is why it had no time left."""
    done: list[docstatus.Completion] = []
    with running() as server, Tracker(tmp_path / "jobs.db", policy=POLICY, config=config(server.url)) as tracker:
        tracker.add(REF, deadline=1)
        time.sleep(3)
        tracker.on_done(done.append)
        tracker.run()
    (completion,) = done
    assert completion.state == "timed_out"
    assert completion.message is not None
    said_deadline(completion.message, "1")
    match = re.search(r"\(waiting on it started ([\d.]+) s ago\)", completion.message)
    assert match is not None, completion.message
    assert float(match[1]) >= 3


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    return subprocess.run(
        [sys.executable, "-m", "docstatus._cli", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**base, **env},
        check=False,
    )


def test_track_run_says_the_deadline_the_job_was_added_with(tmp_path):
    with running() as server:
        env = {
            "DOCSTATUS_ARTOS_BASE_URL": server.url,
            "DOCSTATUS_ARTOS_TOKEN": TOKEN,
            "DOCSTATUS_TRACK_DB": str(tmp_path / "track.db"),
        }
        added = run_cli("track", "add", REF, "--deadline", "2s", env=env)
        assert added.returncode == 0, added.stderr
        result = run_cli("track", "run", env=env)
    assert result.returncode == 5, result.stderr
    line, summary = result.stderr.splitlines()  # the job's line, then the run's summary of the database
    said_deadline(line, "2")
    assert summary.startswith("docstatus track run: this run delivered 1 ended job")


def test_wait_says_the_deadline_given_with_timeout():
    with running() as server:
        env = {"DOCSTATUS_ARTOS_BASE_URL": server.url, "DOCSTATUS_ARTOS_TOKEN": TOKEN}
        result = run_cli("wait", REF, "--timeout", "2", env=env)
    assert result.returncode == 5, result.stderr
    (line,) = result.stderr.splitlines()
    said_deadline(line, "2")
