"""docstatus.celery's workers learn where jobs end, and share it through Redis: a real
redis-server, real Celery workers (subprocesses, prefork), the simulator and a TCP proxy that
cuts Redis away, all on 127.0.0.1.

Promises: jobs of one kind ended on worker A warm a worker B started later (B polls a new job
of that kind on the warm schedule, with fewer requests than a cold one, counted at the
simulator); workers ending jobs at once add each sample to the fleet's model once (its count is
the jobs ended, whatever the conflicts, and an exchange whose answer was lost is not added
again); a damaged value in Redis is replaced with one log line for the fleet; Redis away while a
worker shares fails no step and loses no sample; the worker's model replaces only the process's
shared default; the value is small and holds no credential and no provider text.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("celery")
sim_module = pytest.importorskip("docstatus.simulator")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _celery_support import Worker, deliveries, load_app, redis_binary, redis_server, wait_for, worker_env  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

if redis_binary() is None:
    if os.environ.get("CI"):
        pytest.fail("redis-server is not on PATH under CI (.ci/run installs it)", pytrace=False)
    pytest.skip("redis-server is not on PATH (apt-get install redis-server)", allow_module_level=True)

# Each in-process test registers docstatus.poll on an app of its own.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Task name 'docstatus.poll' is already registered"),
    pytest.mark.filterwarnings("ignore:Task name 'docstatus.delivered' is already registered"),
]

RATES = {"neurolinker": 200.0}
KEY = "docstatus:durations"
KIND = "neurolinker/pages=8-11"  # the simulator's neurolinker jobs report 8 pages, no progress
#: The seconds each phase of a simulated job lasts: pending, processing, completed at 2 * STEP.
STEP = 2.0
KIND_NAME = re.compile(r"^[a-z_0-9]+(/pages=[0-9]+(-[0-9]*)?)?$")


@pytest.fixture
def app_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield lambda url: load_app(monkeypatch, url, RATES)
    sys.modules.pop("_celery_app", None)


def _fleet_samples(r: Any, kind: str = KIND) -> int:
    raw = r.get(KEY)
    if raw is None:
        return 0
    entry = json.loads(raw)["kinds"].get(kind)
    return 0 if entry is None else int(entry["samples"])


def _requests_per_job(sim: Any, refs: list[str]) -> list[int]:
    ids = {ref.split(":", 1)[1]: ref for ref in refs}
    counts = dict.fromkeys(refs, 0)
    for q in sim.requests:
        if q.provider == "neurolinker" and q.job_id in ids:
            counts[ids[q.job_id]] += 1
    return [counts[ref] for ref in refs]


def _run_jobs(sim: Any, app: Any, r: Any, n: int, workers: list[Worker], seconds: float = 90) -> list[str]:
    """``n`` jobs of ``KIND`` tracked at once, until every one is delivered; their refs."""
    refs = [sim.create_job("neurolinker", "happy_path", step=STEP) for _ in range(n)]
    keys = {app.tracking.track(ref, on_done=app.done.s(), deadline=60) for ref in refs}
    wait_for(r, keys, seconds, supervise=workers)
    assert keys <= {d["key"] for d in deliveries(r)}, "not every job was delivered"
    return refs


def _ready(app: Any, workers: list[Worker], seconds: float = 60) -> None:
    """Until every worker answers a ping (so that the jobs a test creates next are polled from
    their start, not found ended at a first poll that came late)."""
    names = {f"{w.name}@127.0.0.1" for w in workers}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        replies = app.app.control.ping(destination=sorted(names), timeout=1.0) or []
        if names <= {name for reply in replies for name in reply}:
            return
    pytest.fail(f"the workers did not answer within {seconds:g} s")


def _stop_together(workers: list[Worker]) -> None:
    """A warm shutdown of every worker at once, as a supervisor asks (SIGTERM to each main
    process): their pool processes add what they have not shared yet at the same moment."""
    for worker in workers:
        with contextlib.suppress(ProcessLookupError):
            worker.proc.send_signal(signal.SIGTERM)
    for worker in workers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.proc.wait(30)
        worker.stop()  # (stopped already: only pool processes left behind, if any, are killed)


def _wait_until(check: Any, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.2)
    return bool(check())


def test_jobs_ended_on_one_worker_warm_a_worker_started_later(
    tmp_path: Path, app_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis  # noqa: PLC0415

    with sim_module.Simulator() as sim, redis_server(tmp_path) as server:
        app = app_module(server.url)
        r = redis.Redis.from_url(server.url)
        env = worker_env(sim, server.url, json.dumps(RATES))
        for name, value in sim.env().items():
            monkeypatch.setenv(name, value)
        a = Worker("a", env, tmp_path / "a.log", concurrency=1)  # one process: its 32 ends make one exchange
        b = None
        try:
            _ready(app, [a])
            cold = _run_jobs(sim, app, r, 4, [a])  # A knows nothing yet: the backoff's schedule
            assert _fleet_samples(r) == 0  # and has shared nothing yet (4 ends, well within 30 s)
            _run_jobs(sim, app, r, 28, [a])  # the 32nd job A ends: A adds its samples to Redis
            assert _wait_until(lambda: _fleet_samples(r) >= 32, 30), f"A shared {_fleet_samples(r)} samples, not 32"
            b = Worker("b", env, tmp_path / "b.log", concurrency=1)
            _ready(app, [b])
            a.stop()  # B alone polls the new jobs; it never saw a job of the kind end
            warm = _run_jobs(sim, app, r, 4, [b])
            log_b = (tmp_path / "b.log").read_text(errors="replace")
        finally:
            a.stop()
            if b is not None:
                b.stop()
        cold_counts, warm_counts = _requests_per_job(sim, cold), _requests_per_job(sim, warm)
        raw = r.get(KEY)
        assert raw is not None
        _check_value_is_clean(raw, sim, cold + warm)
    print(f"requests per job of {2 * STEP:g} s: cold (A) {cold_counts}, warm (B, from Redis) {warm_counts}")
    # B polled its jobs before any of them ended: the schedule it followed was the fleet's.
    assert statistics.mean(warm_counts) <= statistics.mean(cold_counts) - 1, (cold_counts, warm_counts)
    assert "durations" not in log_b, log_b[-3000:]  # no exchange failed, nothing damaged


def _check_value_is_clean(raw: bytes, sim: Any, refs: list[str]) -> None:
    """The fleet's value: kinds made of a provider and page numbers, numbers, no credential, no
    reference, no provider text; about 4 kB a kind at most."""
    text = raw.decode()
    data = json.loads(text)
    assert set(data) == {"v", "bins", "kinds"}
    assert data["kinds"], "no kind in the value"
    assert all(KIND_NAME.match(kind) for kind in data["kinds"]), list(data["kinds"])
    for entry in data["kinds"].values():
        assert set(entry) == {"samples", "weights", "seconds"}
        assert all(isinstance(x, int | float) for pair in entry["weights"] for x in pair)
    assert len(text) <= 4500 * len(data["kinds"]) + 200, len(text)
    secrets = [*sim.tokens.values(), *sim_module.DEFAULT_TOKENS.values()]
    provider_text = ["pending", "processing", "completed", "page-1.png", "neurolinker:"]
    for needle in [*secrets, *provider_text, *(ref.split(":", 1)[1] for ref in refs)]:
        assert needle not in text, needle


def test_workers_replace_a_damaged_value_with_one_line_and_add_each_sample_once(
    tmp_path: Path, app_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers (four pool processes) start on a damaged value, all finding it at their first
    step: one log line for the fleet; then they end jobs at once, and stop at once: the fleet's
    count is the jobs ended."""
    import redis  # noqa: PLC0415

    jobs = 60
    with sim_module.Simulator() as sim, redis_server(tmp_path) as server:
        app = app_module(server.url)
        r = redis.Redis.from_url(server.url)
        r.set(KEY, b"\xff{not a model at all")  # another program's, or a damaged append-only file
        env = worker_env(sim, server.url, json.dumps(RATES))
        for name, value in sim.env().items():
            monkeypatch.setenv(name, value)
        workers = [Worker(name, env, tmp_path / f"{name}.log", concurrency=2) for name in ("a", "b")]
        try:
            _ready(app, workers)
            refs = [sim.create_job("neurolinker", "happy_path", step=STEP) for _ in range(jobs)]
            keys = {app.tracking.track(ref, on_done=app.done.s(), deadline=120) for ref in refs}
            wait_for(r, keys, 120, supervise=workers)
            assert keys <= {d["key"] for d in deliveries(r)}, "not every job was delivered"
        finally:
            _stop_together(workers)
        shared = _fleet_samples(r)
        polls = sorted(_requests_per_job(sim, refs))
        logs = "".join((tmp_path / f"{name}.log").read_text(errors="replace") for name in ("a", "b"))
    lines = [line for line in logs.splitlines() if "durations" in line]
    print(f"{jobs} jobs ended on 4 pool processes: {shared} samples in Redis; requests per job {polls}")
    print("\n".join(lines))
    assert len(lines) == 1, logs[-3000:]  # one line for the fleet, naming the key and why
    assert "the jobs' durations in Redis ('docstatus:durations') were damaged (not JSON" in lines[0]
    assert polls[0] >= 2  # each job was seen running before it ended: each one taught its duration
    assert shared == jobs, logs[-3000:]  # every job's sample, once


class Proxy:
    """A TCP forwarder on 127.0.0.1 to a Redis server, which a test can cut.

    ``cut_at(b"WATCH")``: the connection that sends a ``WATCH`` of the fleet's model is dropped
    before it reaches Redis; ``cut_after(b"EXEC")``: the ``EXEC`` of a transaction that writes
    it reaches Redis, and the connection is dropped before its answer comes back. After a cut,
    every new connection is refused (closed at once) until ``heal()``, or forwarded again
    (``refuse=False``)."""

    def __init__(self, port: int) -> None:
        self.target = ("127.0.0.1", port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.refusing = threading.Event()
        self.armed: tuple[bytes, bool, bool] | None = None  # (command, after, refuse)
        self.cuts = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cut_at(self, command: bytes, *, refuse: bool = True) -> None:
        self.armed = (command, False, refuse)

    def cut_after(self, command: bytes, *, refuse: bool = True) -> None:
        self.armed = (command, True, refuse)

    def heal(self) -> None:
        self.armed = None
        self.refusing.clear()

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.refusing.is_set():
                client.close()
                continue
            server = socket.create_connection(self.target, timeout=5)
            muted = threading.Event()
            threading.Thread(target=self._up, args=(client, server, muted), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, muted), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, muted: threading.Event) -> None:
        with contextlib.suppress(OSError):
            client.settimeout(0.2)
            while not self.stopping.is_set():
                try:
                    data = client.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                armed = self.armed
                if armed is not None and b"\r\n" + armed[0] + b"\r\n" in data and KEY.encode() in data:
                    with self.lock:
                        self.armed = None
                        self.cuts += 1
                    if armed[2]:
                        self.refusing.set()
                    if armed[1]:  # the command reaches Redis; its answer never comes back
                        muted.set()
                        server.sendall(data)
                        time.sleep(0.3)
                    break
                server.sendall(data)
        for sock in (client, server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _down(self, server: socket.socket, client: socket.socket, muted: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while not self.stopping.is_set():
                data = server.recv(65536)
                if not data or muted.is_set():
                    break
                client.sendall(data)


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[Any, Proxy]]:
    """A Redis server, and a proxy to it."""
    with redis_server(tmp_path) as server:
        proxy = Proxy(server.port)
        try:
            yield server, proxy
        finally:
            proxy.close()


# --- one worker process's steps, run here (the task faked: a request id and what it sends)


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    """The simulator, with this process's first poll made (its imports take longer than a job)."""
    from docstatus import get_status  # noqa: PLC0415

    with sim_module.Simulator() as server, pytest.MonkeyPatch.context() as patch:
        for name, value in server.env().items():  # what each worker reads (its environment)
            patch.setenv(name, value)
        get_status(server.create_job("neurolinker", "happy_path"))
        yield server


class FakeTask:
    def __init__(self, app: Any, request_id: str = "req-1") -> None:
        self.app = app
        self.request = type("Request", (), {"id": request_id})()
        self.sent: list[tuple[dict[str, Any], float]] = []

    def apply_async(self, *, args: tuple[dict[str, Any]], countdown: float, **_: Any) -> None:
        self.sent.append((args[0], countdown))


def _register(url: str, **policy: Any) -> Any:
    import docstatus.celery as dc  # noqa: PLC0415
    from celery import Celery  # noqa: PLC0415
    from docstatus import WaitPolicy  # noqa: PLC0415

    app = Celery(f"t{time.monotonic_ns()}", broker=url)
    app.conf.broker_transport_options = {"visibility_timeout": 30}
    return dc.register(app, policy=WaitPolicy(initial_delay=0.2, min_delay=0.2, max_delay=1.0, **policy))


def _job(sim: Any, reg: Any, *, before_end: Any = None) -> tuple[str, str]:
    """One job of ``KIND`` (it ends 1 s after it starts), polled step by step to its end;
    ``before_end()`` runs right before the step that sees it ended. Its key, and what that
    step returned."""
    from docstatus._celery._task import first_message, run_step  # noqa: PLC0415

    ref = sim.create_job("neurolinker", "happy_path", step=0.5)
    created = time.monotonic()
    message = first_message(ref, policy=reg.runtime.policy, deadline=30, key=None, on_done=None, on_error=None)
    task = FakeTask(reg.app)
    assert run_step(task, reg.runtime, message.to_dict()) == "polled"
    time.sleep(max(task.sent[-1][1], 1.2 - (time.monotonic() - created)))  # the job has ended
    if before_end is not None:
        before_end()
    return message.key, run_step(task, reg.runtime, task.sent[-1][0])


def test_redis_gone_as_a_worker_shares_fails_no_step_and_loses_no_sample(
    proxied: tuple[Any, Proxy], caplog: pytest.LogCaptureFixture, sim: Any
) -> None:
    import redis  # noqa: PLC0415

    server, proxy = proxied
    direct = redis.Redis.from_url(server.url)
    reg = _register(proxy.url)
    reg.runtime.share_ends = 1  # an exchange after every end
    with caplog.at_level(logging.WARNING, logger="docstatus"):
        key, result = _job(sim, reg, before_end=lambda: proxy.cut_at(b"WATCH"))
    assert proxy.cuts == 1  # Redis went away as the worker began to share, right after the step's writes
    assert result == "finished"  # the step did not fail
    assert direct.get(f"docstatus:outcome:{key}") is not None  # and wrote its outcome
    failed = [r.getMessage() for r in caplog.records if "durations" in r.getMessage()]
    assert len(failed) == 1, failed
    assert "could not exchange the jobs' durations with Redis (ConnectionError" in failed[0]
    local = reg.runtime.durations
    assert local.samples(KIND) == pytest.approx(1.0)  # kept here
    assert _fleet_samples(direct) == 0
    proxy.heal()
    _, result = _job(sim, reg)  # Redis is back: the next end shares both samples
    assert result == "finished"
    assert _fleet_samples(direct) == 2  # each once
    assert reg.runtime.durations is local
    assert local.samples(KIND) == pytest.approx(2.0, abs=0.02)


@pytest.mark.parametrize("refuse", [True, False], ids=["redis-gone-after", "redis-back-at-once"])
def test_an_exchange_whose_answer_was_lost_adds_its_samples_once(
    proxied: tuple[Any, Proxy], refuse: bool, sim: Any
) -> None:
    import redis  # noqa: PLC0415

    server, proxy = proxied
    direct = redis.Redis.from_url(server.url)
    reg = _register(proxy.url)
    reg.runtime.share_ends = 1
    _, result = _job(sim, reg, before_end=lambda: proxy.cut_after(b"EXEC", refuse=refuse))
    assert result == "finished"
    assert proxy.cuts == 1  # the EXEC committed; its answer never came back
    assert _fleet_samples(direct) == 1
    proxy.heal()
    _, result = _job(sim, reg)
    assert result == "finished"
    assert _fleet_samples(direct) == 2  # the first sample was not added again


def test_workers_exchanging_at_once_neither_lose_nor_double_count_a_sample(tmp_path: Path) -> None:
    import redis  # noqa: PLC0415
    from docstatus._celery._fleet import Fleet  # noqa: PLC0415

    workers, ends = 4, 40
    with redis_server(tmp_path) as server:
        fleets = [Fleet(ends=1) for _ in range(workers)]  # four worker processes, each sharing after every end
        start = threading.Barrier(workers)

        def work(fleet: Fleet) -> None:
            client = redis.Redis.from_url(server.url)
            start.wait(10)
            for i in range(ends):
                fleet.local.record(KIND, 2.0 + i % 7)  # a job of the kind ended on this worker
                fleet.ended()
                fleet.share(client, time.monotonic())
            for _ in range(20):  # the worker stops: it adds what is left
                if not fleet.unsent() or fleet.share(client, time.monotonic()):
                    break

        threads = [threading.Thread(target=work, args=(fleet,)) for fleet in fleets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        shared = _fleet_samples(redis.Redis.from_url(server.url))
    conflicts = sum(f.conflicts for f in fleets)
    print(f"{workers * ends} ends on {workers} workers: {shared} samples in Redis; {conflicts} transactions retried")
    assert shared == workers * ends


@pytest.mark.parametrize(
    "damage",
    ["not-json", "another-version", "a-list", "weights-over-count", "a-hash", "too-long"],
)
def test_a_damaged_value_is_replaced_with_one_log_line_naming_the_key(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    import redis  # noqa: PLC0415
    from docstatus._celery._fleet import MAX_STORED, Fleet  # noqa: PLC0415
    from docstatus._waiting._durations import Durations  # noqa: PLC0415

    with redis_server(tmp_path) as server:
        r = redis.Redis.from_url(server.url)
        other = Fleet()  # another worker shared 5 samples
        for _ in range(5):
            other.local.record(KIND, 3.0)
            other.ended()
        assert other.share(r, time.monotonic())
        fleet = Fleet()
        assert fleet.share(r, time.monotonic())  # this worker starts: it takes the fleet's model
        assert fleet.local.samples(KIND) > 4.9
        good = Durations()
        good.record(KIND, 3.0)
        value = good.to_dict()
        if damage == "not-json":
            r.set(KEY, b"\xff{")
        elif damage == "another-version":
            r.set(KEY, json.dumps({**value, "v": 99}))
        elif damage == "a-list":
            r.set(KEY, json.dumps([value]))
        elif damage == "weights-over-count":
            r.set(KEY, json.dumps({**value, "kinds": {KIND: {"samples": 1, "weights": [[40, 1e6]]}}}))
        elif damage == "a-hash":
            r.delete(KEY)
            r.hset(KEY, "kinds", "{}")
        else:
            r.set(KEY, b" " * (MAX_STORED + 1))
        for seconds in (3.0, 4.0, 5.0):
            fleet.local.record(KIND, seconds)
            fleet.ended()
        with caplog.at_level(logging.WARNING, logger="docstatus"):
            assert fleet.share(r, time.monotonic())
            fleet.local.record(KIND, 6.0)
            fleet.ended()
            assert fleet.share(r, time.monotonic())  # the next exchange finds it sound
        raw = r.get(KEY)
        assert raw is not None
        # replaced by the fleet's model as this worker saw it, plus what it learned since, once
        assert _fleet_samples(r) == 5 + 4
        assert Durations.from_dict(json.loads(raw)).samples(KIND) > 8.5
        assert fleet.local.samples(KIND) > 8.5  # and the worker keeps it all
    lines = [rec for rec in caplog.records if "durations" in rec.getMessage()]
    assert len(lines) == 1, [rec.getMessage() for rec in lines]
    assert lines[0].levelno == logging.ERROR
    assert "the jobs' durations in Redis ('docstatus:durations') were damaged" in lines[0].getMessage()


def test_the_workers_model_replaces_only_the_process_shared_default(tmp_path: Path, sim: Any) -> None:
    import redis  # noqa: PLC0415
    from docstatus._waiting._durations import Durations  # noqa: PLC0415

    with redis_server(tmp_path) as server:
        r = redis.Redis.from_url(server.url)
        before = Durations.shared().samples(KIND)
        default = _register(server.url)
        default.runtime.share_ends = 1
        assert default.runtime.policy.durations is Durations.shared()
        worker_model = default.runtime.durations
        assert worker_model is not None
        assert worker_model is not Durations.shared()
        assert _job(sim, default)[1] == "finished"
        assert worker_model.samples(KIND) == pytest.approx(1.0)  # the step learned into the worker's model
        assert Durations.shared().samples(KIND) == before  # not the process's
        assert _fleet_samples(r) == 1  # and shared it
        r.delete(KEY)

        own = Durations()
        mine = _register(server.url, durations=own)
        mine.runtime.share_ends = 1
        assert mine.runtime.durations is own
        assert _job(sim, mine)[1] == "finished"
        assert own.samples(KIND) == pytest.approx(1.0)  # the caller's model, as given
        assert r.get(KEY) is None  # and not shared: the caller's own to use

        none = _register(server.url, durations=None)
        assert none.runtime.durations is None
        assert _job(sim, none)[1] == "finished"
        assert r.get(KEY) is None
    assert Durations.shared().samples(KIND) == before
