"""``docstatus track run`` killed with SIGKILL at random points, then restarted, against the
simulator on 127.0.0.1 (real processes, a real SQLite file on disk).

Promises checked: no job lost; each job ends once, with the simulator's final state; every
completion delivered (printed) with one key and one outcome however often it is printed; the
requests per job stay within a small factor of an uninterrupted run; a restart does not burst;
two runs on one database never poll one job at once; tracks added by other processes while a
run goes on are polled too; no credential in the database file.
"""

from __future__ import annotations

import collections
import http.server
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from docstatus import ProviderConfig, Tracker, WaitPolicy

if TYPE_CHECKING:
    import pathlib

    from conftest import CannedServer

sim_module = pytest.importorskip("docstatus.simulator")

PROVIDERS = ("artos", "neurolinker", "markdown2pdf", "aitronos")


def _env(sim: Any, db: pathlib.Path) -> dict[str, str]:
    return {**os.environ, **sim.env(), "DOCSTATUS_TRACK_DB": str(db), "PYTHONUNBUFFERED": "1"}


def _track(*args: str) -> list[str]:
    return [sys.executable, "-m", "docstatus._cli_track", "track", *args]


def _lines(path: pathlib.Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip().startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # the last line of a killed process may be cut
                continue
    return out


def _final_states(db: pathlib.Path) -> dict[str, dict[str, Any]]:
    tracker = Tracker(db)
    try:
        return {j.ref: j.to_dict() for j in tracker.list()}
    finally:
        tracker.close()


def test_kill_9_twenty_times_loses_nothing_and_never_changes_an_outcome(tmp_path: pathlib.Path) -> None:
    rng = random.Random(1234)  # noqa: S311
    with sim_module.Simulator() as sim:
        killed_refs, calm_refs = [], []
        for i in range(300):
            provider = PROVIDERS[i % len(PROVIDERS)]
            script = "failure" if i % 5 == 0 else "happy_path"
            ref = sim.create_job(provider, script, step=rng.uniform(1.0, 6.0))
            (calm_refs if i % 3 == 0 else killed_refs).append(ref)  # 200 killed, 100 calm
        killed_db, calm_db = tmp_path / "killed.db", tmp_path / "calm.db"
        add = subprocess.run(_track("add", *killed_refs, "--db", str(killed_db)), env=_env(sim, killed_db), check=False)
        assert add.returncode == 0
        add = subprocess.run(_track("add", *calm_refs, "--db", str(calm_db)), env=_env(sim, calm_db), check=False)
        assert add.returncode == 0
        run_args = ("run", "--json", "--host-rate", "500", "--concurrency", "64")
        calm_out = tmp_path / "calm.out"
        with calm_out.open("wb") as out:  # the uninterrupted run, at the same time, on the same server
            calm = subprocess.Popen(_track(*run_args, "--db", str(calm_db)), env=_env(sim, calm_db), stdout=out)
        outs: list[pathlib.Path] = []
        kills = 0
        while True:
            outs.append(tmp_path / f"killed-{len(outs)}.out")
            with outs[-1].open("wb") as out:
                proc = subprocess.Popen(_track(*run_args, "--db", str(killed_db)), env=_env(sim, killed_db), stdout=out)
            if kills == 20:  # the last one runs to the end
                assert proc.wait(timeout=60) in (0, 1)  # some jobs fail on purpose
                break
            time.sleep(rng.uniform(0.6, 1.5))
            if proc.poll() is not None:  # it ended on its own: every job is done already
                break
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=10) == -signal.SIGKILL
            kills += 1
        assert calm.wait(timeout=60) in (0, 1)
        requests = collections.Counter(r.ref for r in sim.requests)
        truth = {ref: sim.state_of(ref) for ref in killed_refs + calm_refs}

    assert kills == 20  # all of them while jobs were still active
    rows = _final_states(killed_db)
    assert sorted(rows) == sorted(killed_refs)  # none lost, none added
    for ref, row in rows.items():
        assert row["done"], ref
        assert row["status"]["provider_state"] == truth[ref], ref  # the simulator's final state
    printed: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for path in outs:
        for line in _lines(path):
            printed[line["key"]].append(line)
    assert set(printed) == {row["key"] for row in rows.values()}  # every completion delivered
    for key, lines in printed.items():
        assert all(line == lines[0] for line in lines), key  # printed again: same key, same outcome
    by_key = {row["key"]: row for row in rows.values()}
    for key, lines in printed.items():
        assert lines[0]["state"] == by_key[key]["state"]
    with Tracker(killed_db) as tracker:
        assert list(tracker.completions()) == []  # all marked delivered
        undelivered = tracker.store.query("SELECT count(*) FROM outbox WHERE delivered IS NULL")[0][0]
        assert undelivered == 0
        assert tracker.store.query("SELECT count(*) FROM outbox")[0][0] == len(killed_refs)
    killed_per_job = sum(requests[r] for r in killed_refs) / len(killed_refs)
    calm_per_job = sum(requests[r] for r in calm_refs) / len(calm_refs)
    print(f"requests per job: killed 20 times {killed_per_job:.2f}, uninterrupted {calm_per_job:.2f}")
    assert killed_per_job <= 2.0 * calm_per_job
    redelivered = sum(len(v) - 1 for v in printed.values())
    print(f"completions printed again after a kill: {redelivered} of {len(printed)}")
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("killed.db"))
    for token in sim_module.DEFAULT_TOKENS.values():
        assert token.encode() not in data


def _windows(times: list[float], width: float) -> int:
    """The most of ``times`` (sorted) within any ``width`` seconds."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > width:
            start += 1
        best = max(best, end - start + 1)
    return best


def _until(done: Any, bound: float) -> None:
    """Wait until ``done()`` (checked every 0.1 s), at most ``bound`` seconds."""
    end = time.monotonic() + bound
    while not done() and time.monotonic() < end:
        time.sleep(0.1)


def test_a_restart_resumes_without_a_burst(tmp_path: pathlib.Path) -> None:
    jobs = 150
    with sim_module.Simulator() as sim:
        refs = [sim.create_job(PROVIDERS[i % 4], "happy_path", step=60.0) for i in range(jobs)]
        db = tmp_path / "burst.db"
        assert subprocess.run(_track("add", *refs, "--db", str(db)), env=_env(sim, db), check=False).returncode == 0
        run_args = ("run", "--json", "--host-rate", "1000", "--concurrency", "150", "--db", str(db))
        proc = subprocess.Popen(_track(*run_args), env=_env(sim, db), stdout=subprocess.DEVNULL)
        # Killed once every job was polled a few times and it ran steadily for 3 s more (waiting on
        # what happened, within bounds, not on fixed sleeps a loaded machine outruns).
        _until(lambda: len(sim.requests) > 3 * jobs, 60.0)
        time.sleep(3.0)
        proc.send_signal(signal.SIGKILL)
        killed_at = time.time()
        proc.wait(timeout=10)
        before = sorted(r.at.timestamp() for r in sim.requests)
        time.sleep(1.5)  # polls fall due while nobody runs
        proc = subprocess.Popen(_track(*run_args), env=_env(sim, db), stdout=subprocess.DEVNULL)
        try:
            _until(lambda: sum(1 for r in sim.requests if r.at.timestamp() > killed_at) >= 3 * jobs, 60.0)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        after = sorted(t for r in sim.requests if (t := r.at.timestamp()) > killed_at)
    assert len(before) > 3 * jobs  # it ran: every job polled a few times
    assert after  # and it resumed
    steady = [t for t in before if t > killed_at - 3.0]
    rate_before = len(steady) / 3.0
    burst_after = _windows(after[: 3 * jobs], 0.25)
    burst_before = _windows(steady, 0.25)
    first_second = sum(1 for t in after if t - after[0] <= 1.0)
    print(
        f"{jobs} jobs: {rate_before:.0f} requests/s in the 3 s before the kill (most in 0.25 s: {burst_before}); "
        f"after the restart most in 0.25 s: {burst_after}, in its first second: {first_second}"
    )
    # Measured: 35-52 in 0.25 s with the spread (the steady run before the kill: 42-45); 101 when
    # every overdue poll is made at once (RESUME_SPREAD = 0), as a restart from zero would. A
    # loaded machine bunches the steady polls too (up to 65 seen): the bound follows the steady
    # run's own bunching, and stays under the burst it must catch.
    assert burst_after <= min(0.6 * jobs, max(0.4 * jobs, 1.4 * burst_before))
    assert first_second <= 1.5 * rate_before + 10


class _Slow(http.server.BaseHTTPRequestHandler):
    """Artos statuses: Pending for 4 polls of a job, then Ready; 30 ms per answer; counts polls
    of one job in flight at once (``server.overlaps``)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    def do_GET(self) -> None:
        server: Any = self.server
        job = self.path.rstrip("/").rsplit("/", 1)[-1]
        with server.lock:
            server.inflight[job] += 1
            if server.inflight[job] > 1:
                server.overlaps.append(job)
            server.polls[job] += 1
            n = server.polls[job]
        time.sleep(0.03)
        with server.lock:
            server.inflight[job] -= 1
        body = json.dumps({"task_id": job, "status": "Ready" if n >= 4 else "Pending", "progress": None, "error": None})
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_two_runs_on_one_database_and_adds_from_another_process(tmp_path: pathlib.Path) -> None:
    httpd: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    httpd.daemon_threads = True
    httpd.lock, httpd.inflight, httpd.polls, httpd.overlaps = (
        threading.Lock(),
        collections.Counter(),
        collections.Counter(),
        [],
    )
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    db = tmp_path / "two.db"
    env = {
        **os.environ,
        "DOCSTATUS_ARTOS_BASE_URL": f"http://127.0.0.1:{httpd.server_address[1]}",
        "DOCSTATUS_ARTOS_TOKEN": "two-runs-secret-token",
        "DOCSTATUS_TRACK_DB": str(db),
    }
    try:
        first = [f"artos:job-{i:03d}" for i in range(80)]
        assert subprocess.run(_track("add", *first), env=env, check=False).returncode == 0
        run = _track("run", "--json", "--host-rate", "500")
        with (tmp_path / "a.out").open("wb") as a_out, (tmp_path / "b.out").open("wb") as b_out:
            a = subprocess.Popen(run, env=env, stdout=a_out)
            b = subprocess.Popen(run, env=env, stdout=b_out)
            time.sleep(1.0)
            later = [f"artos:late-{i:03d}" for i in range(20)]
            assert subprocess.run(_track("add", *later), env=env, check=False).returncode == 0  # while they run
            assert a.wait(timeout=60) == 0
            assert b.wait(timeout=60) == 0
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert httpd.overlaps == []  # no job polled by both at once
    rows = _final_states(db)
    assert sorted(rows) == sorted(first + later)
    assert all(r["done"] and r["state"] == "succeeded" for r in rows.values())
    keys = [line["key"] for name in ("a.out", "b.out") for line in _lines(tmp_path / name)]
    assert sorted(keys) == sorted(r["key"] for r in rows.values())  # each delivered once, by one of them
    assert max(httpd.polls.values()) <= 6
    raw = db.read_bytes() + ((tmp_path / "two.db-wal").read_bytes() if (tmp_path / "two.db-wal").exists() else b"")
    assert b"two-runs-secret-token" not in raw


def test_no_credential_reaches_the_database_even_when_the_server_echoes_it(
    tmp_path: pathlib.Path, canned_server: CannedServer
) -> None:
    from conftest import Canned  # noqa: PLC0415

    token = "echoed-secret-token-123"
    canned_server.reply(
        Canned(status=503, body=f"upstream said: bad key {token}", headers={"Content-Type": "text/plain"}),
        Canned(body={"task_id": "t", "status": "Processing", "progress": 0.5, "error": f"key {token} seen"}),
        Canned(body={"task_id": "t", "status": "Failed", "progress": None, "error": f"auth {token} revoked"}),
    )
    config = ProviderConfig(provider="artos", base_url=canned_server.base_url, token=token)
    db = tmp_path / "secret.db"
    policy = WaitPolicy(initial_delay=0.05, min_delay=0.02, timeout=20)
    with Tracker(db, config=config, policy=policy, spread=0.0) as tracker:
        tracker.add("artos:t")
        (done,) = tracker.run()
    assert done.state == "failed"
    assert len(canned_server.requests) == 3
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("secret.db"))
    assert token.encode() not in raw
    assert b"revoked" in raw  # the row is there, the token is not


CRASHING_CALLBACK = """
import os, signal, sys, json
import docstatus

async def poll(ref, timeout):
    failed = docstatus.State.FAILED
    return docstatus.JobStatus(provider=ref.provider, job_id=ref.job_id, state=failed, provider_state="Failed")

def on_done(completion):
    with open(sys.argv[2], "a") as out:
        out.write(json.dumps(completion.to_dict()) + chr(10))
    if sys.argv[3] == "crash":
        os.kill(os.getpid(), signal.SIGKILL)  # after the callback's work, before it is marked delivered

tracker = docstatus.Tracker(sys.argv[1], poll=poll, on_done=on_done, spread=0.0)
tracker.add("artos:crashy")
tracker.run()
"""


def test_a_crash_between_the_callback_and_the_delivery_mark_delivers_again_the_same(tmp_path: pathlib.Path) -> None:
    script = tmp_path / "crashing.py"
    script.write_text(CRASHING_CALLBACK, "utf-8")
    db, seen = tmp_path / "crash.db", tmp_path / "seen.jsonl"
    first = subprocess.run([sys.executable, str(script), str(db), str(seen), "crash"], check=False, timeout=60)
    assert first.returncode == -signal.SIGKILL
    second = subprocess.run([sys.executable, str(script), str(db), str(seen), "calm"], check=False, timeout=60)
    assert second.returncode == 0
    deliveries = [json.loads(line) for line in seen.read_text("utf-8").splitlines()]
    assert len(deliveries) == 2
    assert deliveries[0] == deliveries[1]  # the same key and the same outcome
    assert deliveries[0]["state"] == "failed"
    with Tracker(db) as tracker:
        assert list(tracker.completions()) == []
