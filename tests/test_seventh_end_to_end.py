"""Issue 22: a seventh provider is a spec folder, a provider module and a simulator provider
module, nothing else.

The seventh provider is ``tests/seventh/``: its spec (``specs/seventh/openapi.yaml``), the
library's provider module (``seventh_provider.py``) and the simulator's (``seventh_simulator.py``).
Its client and simulator models are generated from the spec in the session, with the project's
own generator (``conftest.seventh_generated``). Registered from outside the package, it runs
through ``parse``, ``get_status``, ``wait``, ``wait_async``, ``watch_many``, the tracker (a SQLite
file), Celery's poll task (a real ``redis-server``), the CLI (subprocesses that register it
first) and the simulator (real HTTP on 127.0.0.1), each asserting the states seen and the
outcome. The simulator's clock is frozen: a job moves to its next phase only when the test
advances it, so each sequence is exact however loaded the machine is. And no code of the project
outside ``tests/`` names it.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import docstatus
import pytest
from conftest import ROOT
from docstatus import JobStatus, ProviderConfig, State, WaitPolicy
from docstatus import _registry as library_providers

sim_module = pytest.importorskip("docstatus.simulator")
from docstatus.simulator import _providers as simulator_providers  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from _seventh_support import Seventh

STEP = 1.0  # simulated seconds per phase; the clock moves only when a test advances it
BOUND = 60  # seconds any subprocess or loop here may take before the test fails
FAST = WaitPolicy(timeout=60.0, initial_delay=0.05, min_delay=0.05, max_delay=0.2, jitter=0.0, durations=None)
_ENDS = ("succeeded", "failed")
HAPPY = ["queued", "running", "succeeded"]
FAILURE = ["queued", "running", "failed"]


@pytest.fixture(scope="module")
def seventh(seventh_generated: Seventh) -> Iterator[Seventh]:
    """The seventh provider, registered with the library and the simulator for this module."""
    library_providers.register(seventh_generated.provider)
    simulator_providers.register(seventh_generated.simulator)
    try:
        yield seventh_generated
    finally:
        simulator_providers.unregister("seventh")
        library_providers.unregister("seventh")


@pytest.fixture(scope="module")
def sim(seventh: Seventh) -> Iterator[Any]:
    with sim_module.Simulator() as server:
        server.clock.freeze()
        yield server


@pytest.fixture
def cfg(sim: Any) -> ProviderConfig:
    return ProviderConfig.from_env("seventh", sim.env())


class Stepper:
    """Advances the simulator's clock one phase once every job watched has shown one more state:
    each job is seen in each of its phases, in order (the clock is frozen in between)."""

    def __init__(self, sim: Any, refs: list[str]) -> None:
        self.sim = sim
        self.seen: dict[str, list[str]] = {ref: [] for ref in refs}

    def __call__(self, status: JobStatus) -> None:
        states = self.seen[status.ref]
        if states and states[-1] == status.provider_state:
            return
        states.append(status.provider_state)
        rounds = {len(s) for s in self.seen.values()}
        if len(rounds) == 1 and not all(s[-1] in _ENDS for s in self.seen.values()):
            self.sim.clock.advance(STEP)


def _shout(ref: str) -> str:
    """``ref`` with its id in upper case (the provider keeps ids in lower case)."""
    provider, _, job_id = ref.partition(":")
    return f"{provider}:{job_id.upper()}"


def _jobs(sim: Any) -> tuple[str, str]:
    return sim.create_job("seventh", "happy_path", step=STEP), sim.create_job("seventh", "failure", step=STEP)


# --- parse


def test_parse_maps_every_documented_state_and_keeps_an_unknown_one(seventh: Seventh) -> None:
    bodies = [
        ({"job_id": "J-1", "state": "queued", "percent": 0}, State.QUEUED, 0.0, None, ()),
        ({"job_id": "J-1", "state": "running", "percent": 40}, State.RUNNING, 0.4, None, ()),
        ({"job_id": "J-1", "state": "succeeded", "outputs": ["a.json", " "]}, State.SUCCEEDED, 1.0, None, ("a.json",)),
        ({"job_id": "J-1", "state": "failed", "message": "bad scan"}, State.FAILED, None, "bad scan", ()),
        ({"job_id": "J-1", "state": "paused"}, State.UNKNOWN, None, None, ()),
        ({"job_id": "J-1", "state": "RUNNING "}, State.RUNNING, None, None, ()),  # case and spaces folded
    ]
    for body, state, progress, error, outputs in bodies:
        for given in (body, json.dumps(body).encode()):  # a dict (the model path) and bytes (the fast path)
            status = docstatus.parse("seventh", given)
            assert (status.provider, status.job_id, status.state, status.provider_state) == (
                "seventh",
                "J-1",
                state,
                body["state"],
            )
            assert status.progress == progress
            assert (status.error and status.error.message) == error
            assert tuple(o.name for o in status.outputs) == outputs
            assert type(status.model).__module__ == "docstatus_seventh_client.models.job_status"
            assert JobStatus.from_dict(status.to_dict()) == status
    assert docstatus.parse("seventh", {"state": "queued"}, job_id="given").job_id == "given"
    with pytest.raises(docstatus.MalformedResponse, match="seventh"):
        docstatus.parse("seventh", {"job_id": "J-1", "state": "running", "percent": "half"})
    with pytest.raises(docstatus.MalformedResponse, match="seventh"):
        docstatus.parse("seventh", {"job_id": "J-1"})
    assert seventh.provider.STATES["queued"] is State.QUEUED
    with pytest.raises(TypeError):
        seventh.provider.STATES["paused"] = State.RUNNING  # frozen


# --- get_status (and the simulator's answers, through the library)


def test_get_status_follows_the_job_and_reads_the_specs_error_envelope(sim: Any, cfg: ProviderConfig) -> None:
    ref = sim.create_job("seventh", "happy_path", step=STEP)
    assert str(docstatus.parse_ref(_shout(ref))) == ref  # ids kept in lower case
    seen = []
    for _ in HAPPY:
        status = docstatus.get_status(_shout(ref), config=cfg)
        seen.append((status.state, status.progress, tuple(o.name for o in status.outputs)))
        sim.clock.advance(STEP)
    assert seen == [(State.QUEUED, 0.0, ()), (State.RUNNING, 0.5, ()), (State.SUCCEEDED, 1.0, ("out.json",))]
    assert status.ref == ref
    logged = [r for r in sim.requests if r.provider == "seventh" and r.job_id == ref.removeprefix("seventh:")]
    assert [(r.status, r.path) for r in logged] == [(200, f"/seventh/v2/jobs/{ref.removeprefix('seventh:')}")] * 3
    assert all(r.authorized for r in logged)  # the generated client's bearer scheme, from the spec

    failing = sim.create_job("seventh", "failure", step=STEP)
    sim.clock.advance(2 * STEP)
    failed = docstatus.get_status(failing, config=cfg)
    assert (failed.state, failed.error and failed.error.message) == (State.FAILED, "the input is not a document")
    with pytest.raises(docstatus.JobFailed, match="ended failed"):
        failed.raise_for_failure()

    odd = sim.create_job("seventh", "unknown_state", step=STEP)
    sim.clock.advance(5 * STEP)
    unknown = docstatus.get_status(odd, config=cfg)
    assert (unknown.state, unknown.provider_state) == (State.UNKNOWN, "paused")

    with pytest.raises(docstatus.JobNotFound, match="seventh has no job seventh:nope") as missing:
        docstatus.get_status("seventh:nope", config=cfg)
    assert missing.value.code == "not_found"
    wrong = ProviderConfig(provider=cfg.provider, base_url=cfg.base_url, token="not-the-token")
    with pytest.raises(docstatus.AuthenticationError) as denied:
        docstatus.get_status(ref, config=wrong)
    assert denied.value.code == "unauthorized"
    assert "not-the-token" not in str(denied.value)
    sim.inject(sim_module.Fault.rate_limit(retry_after=3), provider="seventh")
    with pytest.raises(docstatus.RateLimited) as limited:
        docstatus.get_status(ref, config=cfg)
    assert (limited.value.code, limited.value.retry_after) == ("rate_limited", 3.0)
    assert docstatus.get_status(ref, config=cfg).state is State.SUCCEEDED  # the fault was one answer


def test_a_missing_token_is_a_configuration_error_naming_the_variable(sim: Any) -> None:
    cfg = ProviderConfig.from_env("seventh", {"DOCSTATUS_SEVENTH_BASE_URL": sim.base_url("seventh")})
    with pytest.raises(docstatus.ConfigurationError, match="DOCSTATUS_SEVENTH_TOKEN"):
        docstatus.get_status("seventh:x", config=cfg)


# --- wait, wait_async, watch_many


def test_wait_sees_each_phase_and_returns_the_end(sim: Any, cfg: ProviderConfig) -> None:
    for script, states, end in (("happy_path", HAPPY, State.SUCCEEDED), ("failure", FAILURE, State.FAILED)):
        ref = sim.create_job("seventh", script, step=STEP)
        stepper = Stepper(sim, [ref])
        final = docstatus.wait(ref, config=cfg, policy=FAST, on_change=stepper)
        assert stepper.seen[ref] == states
        assert (final.ref, final.state, final.terminal) == (ref, end, True)


def test_wait_async_sees_each_phase_and_returns_the_end(sim: Any, cfg: ProviderConfig) -> None:
    ref = sim.create_job("seventh", "happy_path", step=STEP)
    stepper = Stepper(sim, [ref])
    final = asyncio.run(docstatus.wait_async(ref, config=cfg, policy=FAST, on_change=stepper))
    assert stepper.seen[ref] == HAPPY
    assert (final.state, [o.name for o in final.outputs]) == (State.SUCCEEDED, ["out.json"])


def test_watch_many_follows_every_job_to_its_end(sim: Any, cfg: ProviderConfig) -> None:
    happy, failing = _jobs(sim)
    stepper = Stepper(sim, [happy, failing])

    async def run() -> list[Any]:
        return [u async for u in docstatus.watch_many([happy, failing], config=cfg, policy=FAST, on_change=stepper)]

    updates = asyncio.run(run())
    assert stepper.seen == {happy: HAPPY, failing: FAILURE}
    finals = {u.ref: (u.final.state, u.error) for u in updates if u.done and u.final is not None}
    assert finals == {happy: (State.SUCCEEDED, None), failing: (State.FAILED, None)}


# --- the tracker


def test_the_tracker_runs_its_jobs_to_the_end_on_a_sqlite_file(sim: Any, cfg: ProviderConfig, tmp_path: Path) -> None:
    happy, failing = _jobs(sim)
    stepper = Stepper(sim, [happy, failing])
    db = tmp_path / "track.db"
    with docstatus.Tracker(db, config=cfg, policy=FAST) as tracker:
        added = tracker.add(_shout(happy), meta={"n": 1})
        assert added.ref == happy  # its canonical form
        tracker.add(failing)
        completions = tracker.run(on_change=stepper)
    assert stepper.seen == {happy: HAPPY, failing: FAILURE}
    assert {c.ref: (c.state, c.status and c.status.provider_state) for c in completions} == {
        happy: ("succeeded", "succeeded"),
        failing: ("failed", "failed"),
    }
    with docstatus.Tracker(db) as again:  # the stored refs read back through the registry
        jobs = {job.ref: job for job in again.list()}
        assert set(jobs) == {happy, failing}
        assert jobs[happy].status is not None
        assert jobs[happy].status.state is State.SUCCEEDED
        assert again.get(happy) is not None
        delivered = {c.ref: (c.state, c.status and c.status.provider, c.meta) for c in again.completions()}
        assert delivered == {happy: ("succeeded", "seventh", {"n": 1}), failing: ("failed", "seventh", {})}


# --- Celery's poll task


def test_celerys_poll_task_follows_the_job_to_its_outcome(
    sim: Any, seventh: Seventh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("celery")
    from _celery_support import redis_binary, redis_server  # noqa: PLC0415
    from celery import Celery  # noqa: PLC0415
    from docstatus import celery as dc  # noqa: PLC0415
    from docstatus._celery._task import first_message, run_step  # noqa: PLC0415
    from test_celery import FakeTask  # noqa: PLC0415

    if redis_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not on PATH under CI", pytrace=False)
        pytest.skip("redis-server is not on PATH (apt-get install redis-server)")
    for name, value in sim.env().items():  # the worker's configuration: from its environment
        monkeypatch.setenv(name, value)
    (tmp_path / "redis").mkdir()
    with redis_server(tmp_path / "redis") as server:
        app = Celery(f"seventh{time.monotonic_ns()}", broker=server.url)
        app.conf.broker_transport_options = {"visibility_timeout": 30}
        reg = dc.register(app, policy=FAST)
        ref = sim.create_job("seventh", "happy_path", step=STEP)
        message = first_message(ref, policy=FAST, deadline=60, key=None, on_done=None, on_error=None).to_dict()
        task = FakeTask(app)
        seen: list[str] = []
        nxt = message
        end = time.monotonic() + BOUND
        while (result := run_step(task, reg.runtime, nxt)) != "finished":
            assert result in ("polled", "early"), result
            assert time.monotonic() < end
            nxt, countdown = task.sent[-1]
            last = nxt["state"]["last"]
            if result == "polled" and (not seen or seen[-1] != last["provider_state"]):
                seen.append(last["provider_state"])
                sim.clock.advance(STEP)
            time.sleep(countdown)
        assert seen == HAPPY[:-1]  # the last poll's status is the outcome's
        outcome = reg.outcome(message["key"])
        assert outcome is not None
        assert outcome["ref"] == ref
        assert outcome["error"] is None
        assert (outcome["status"]["provider"], outcome["status"]["state"]) == ("seventh", "succeeded")
        assert outcome["status"]["outputs"] == [{"name": "out.json", "uri": None}]
        stored = json.dumps([json.loads(m) for m in reg.runtime.redis.lrange("celery", 0, -1)])
        assert sim.tokens["seventh"] not in stored


def test_a_celery_worker_that_registers_it_at_import_polls_it_to_the_end(
    sim: Any, seventh: Seventh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real worker process (``tests/seventh/seventh_celery_app.py``: registers the provider,
    then is the test app) takes the job from Redis, polls it once per phase (the clock moves once
    it polled) and sends its end to the ``on_done`` callback."""
    pytest.importorskip("celery")
    from _celery_support import Worker, deliveries, load_app, redis_binary, redis_server, wait_for  # noqa: PLC0415

    if redis_binary() is None:
        pytest.skip("redis-server is not on PATH (apt-get install redis-server)")
    import redis  # noqa: PLC0415

    (tmp_path / "redis").mkdir()
    with redis_server(tmp_path / "redis") as server:
        app = load_app(monkeypatch, server.url, {})
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
            env.update(sim.env(), DOCSTATUS_TEST_REDIS=server.url, DOCSTATUS_TEST_RATES="{}")
            worker = Worker(
                "seventh", seventh.env(env), tmp_path / "worker.log", concurrency=1, app="seventh_celery_app"
            )
            try:
                ready_by = time.monotonic() + 90.0  # a loaded machine starts a worker slowly
                while time.monotonic() < ready_by and not app.app.control.ping(timeout=1.0):
                    assert worker.proc.poll() is None, (tmp_path / "worker.log").read_text()
                    time.sleep(0.2)
                ref = sim.create_job("seventh", "happy_path", step=STEP)
                job_id = ref.removeprefix("seventh:")
                key = app.tracking.track(ref, on_done=app.done.s(), on_error=app.error.s(), deadline=90)
                r = redis.Redis.from_url(server.url)
                polls, end = 0, time.monotonic() + BOUND
                while polls < len(HAPPY) and time.monotonic() < end:  # the job moves once it was polled
                    now = sum(1 for q in sim.requests if q.job_id == job_id and q.outcome == "ok")
                    if now > polls:
                        polls = now
                        sim.clock.advance(STEP)
                    time.sleep(0.05)
                wait_for(r, {key}, BOUND)
                (delivered,) = [d for d in deliveries(r) if d["key"] == key]
            finally:
                worker.stop()
            assert (delivered["kind"], delivered["state"]) == ("done", "succeeded"), (
                tmp_path / "worker.log"
            ).read_text()
            outcome = app.tracking.outcome(key)
            assert outcome is not None
            assert (outcome["ref"], outcome["status"]["provider"], outcome["status"]["state"]) == (
                ref,
                "seventh",
                "succeeded",
            )
            assert polls >= len(HAPPY)  # one poll at least per phase: queued, running, succeeded
        finally:
            sys.modules.pop("_celery_app", None)


# --- the CLI, in subprocesses that register the provider first

_LAUNCH = (
    "import seventh_provider, docstatus._registry as p; p.register(seventh_provider); "
    "from docstatus._cli import main; raise SystemExit(main())"
)


def _cli_env(seventh: Seventh, sim: Any, **extra: str) -> dict[str, str]:
    env = seventh.env()
    env.update(sim.env())
    env.update(extra)
    return env


def _cli(seventh: Seventh, sim: Any, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _LAUNCH, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_cli_env(seventh, sim),
        timeout=BOUND,
        check=False,
    )


def _follow(proc: subprocess.Popen[str], on_line: Callable[[dict[str, Any]], None]) -> int:
    assert proc.stdout is not None
    for line in proc.stdout:
        on_line(json.loads(line))
    return proc.wait(timeout=BOUND)


def test_the_cli_status_normalize_and_wait_take_the_registered_provider(seventh: Seventh, sim: Any) -> None:
    ref = sim.create_job("seventh", "happy_path", step=STEP)
    status = _cli(seventh, sim, "status", ref)
    assert status.returncode == 0, status.stderr
    assert (json.loads(status.stdout)["provider"], json.loads(status.stdout)["state"]) == ("seventh", "queued")

    body = json.dumps({"job_id": "j", "state": "running", "percent": 25})
    normalized = _cli(seventh, sim, "normalize", "seventh", stdin=body)
    assert normalized.returncode == 0, normalized.stderr
    assert (json.loads(normalized.stdout)["state"], json.loads(normalized.stdout)["progress"]) == ("running", 0.25)

    seen: list[str] = []

    def advance(line: dict[str, Any]) -> None:
        seen.append(line["provider_state"])
        if not line["terminal"]:
            sim.clock.advance(STEP)  # the job moves once the CLI said where it was

    with subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, "wait", "--json", ref],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_cli_env(seventh, sim),
    ) as proc:
        try:
            assert _follow(proc, advance) == 0
        finally:
            proc.kill()
    assert seen == HAPPY

    failing = sim.create_job("seventh", "failure", step=STEP)
    sim.clock.advance(2 * STEP)
    failed = _cli(seventh, sim, "wait", "--json", failing)
    assert failed.returncode == 1
    assert json.loads(failed.stdout.splitlines()[-1])["state"] == "failed"
    assert "ended failed" in failed.stderr
    assert sim.tokens["seventh"] not in failed.stdout + failed.stderr


def _read_states(reader: docstatus.Tracker, seen: dict[str, list[str]]) -> None:
    for ref, states in seen.items():
        job = reader.get(ref)
        state = job.status.provider_state if job is not None and job.status is not None else None
        if state is not None and (not states or states[-1] != state):
            states.append(state)


def test_the_cli_tracks_the_registered_provider(seventh: Seventh, sim: Any, tmp_path: Path) -> None:
    happy, failing = _jobs(sim)
    db = str(tmp_path / "track.db")
    added = _cli(seventh, sim, "track", "add", "--db", db, happy, failing)
    assert added.returncode == 0, added.stderr

    seen: dict[str, list[str]] = {happy: [], failing: []}
    with (
        docstatus.Tracker(db) as reader,
        subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, "track", "run", "--json", "--db", db],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_cli_env(seventh, sim),
        ) as proc,
    ):
        try:
            end, rounds = time.monotonic() + BOUND, 0
            while proc.poll() is None and time.monotonic() < end:  # the run's states, as it writes them
                _read_states(reader, seen)
                if {len(s) for s in seen.values()} == {rounds + 1} and not any(s[-1] in _ENDS for s in seen.values()):
                    sim.clock.advance(STEP)  # every job was seen in this phase: on to the next
                    rounds += 1
                time.sleep(0.02)
            out, err = proc.communicate(timeout=BOUND)
            _read_states(reader, seen)
        finally:
            proc.kill()
    assert proc.returncode == 1, err  # one job failed
    completions = {c["ref"]: c for c in map(json.loads, out.splitlines())}
    assert {ref: c["state"] for ref, c in completions.items()} == {happy: "succeeded", failing: "failed"}
    assert completions[happy]["status"]["outputs"] == [{"name": "out.json", "uri": None}]
    assert seen == {happy: HAPPY, failing: FAILURE}
    shown = _cli(seventh, sim, "track", "show", "--db", db, failing)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["status"]["error"]["message"] == "the input is not a document"


_LAUNCH_SIMULATED = (
    "import seventh_provider, seventh_simulator, docstatus._registry as p, docstatus.simulator._providers as s; "
    "p.register(seventh_provider); s.register(seventh_simulator); "
    "from docstatus._cli import main; raise SystemExit(main())"
)


def _simulate(seventh: Seventh, launch: str) -> tuple[dict[str, str], dict[str, str], subprocess.Popen[bytes]]:
    """``docstatus simulate`` started by ``launch``: its exports, its ready jobs (ref -> script),
    and the process, serving."""
    proc = subprocess.Popen(
        [sys.executable, "-c", launch, "simulate", "--step", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=seventh.env(),
    )
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    banner = os.read(fd, 1 << 16)  # the banner comes in one flush: wait for it, then for any rest
    end = time.monotonic() + BOUND
    while banner and time.monotonic() < end and select.select([fd], [], [], 1.0)[0]:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        banner += chunk
    exports: dict[str, str] = {}
    ready: dict[str, str] = {}
    for line in banner.decode().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            exports[name] = value
        elif line.startswith("#   "):
            ref, script = line.removeprefix("#   ").split()
            ready[ref] = script.strip("()")
    return exports, ready, proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=BOUND)
    finally:
        proc.kill()
    assert proc.returncode == 0, err.decode()


def test_the_cli_simulate_serves_the_registered_provider_to_the_cli(seventh: Seventh, sim: Any) -> None:
    exports, ready, proc = _simulate(seventh, _LAUNCH_SIMULATED)
    try:
        seventh_ready = {ref: script for ref, script in ready.items() if ref.startswith("seventh:")}
        assert sorted(seventh_ready.values()) == ["failure", "happy_path"]  # its DEMO.ready
        assert exports["DOCSTATUS_SEVENTH_TOKEN"] == "sim-seventh-token"
        (failing,) = (ref for ref, script in seventh_ready.items() if script == "failure")
        env = seventh.env(exports)
        env["PATH"] = os.environ["PATH"]
        waited = subprocess.run(
            [sys.executable, "-c", _LAUNCH, "wait", "--json", failing],
            capture_output=True,
            text=True,
            env=env,
            timeout=BOUND,
            check=False,
        )
    finally:
        _stop(proc)
    assert waited.returncode == 1, waited.stderr
    assert json.loads(waited.stdout.splitlines()[-1])["state"] == "failed"


def test_simulate_and_demo_leave_out_a_provider_the_simulator_does_not_serve(seventh: Seventh) -> None:
    """Registered with the library alone, the seventh provider has no simulated endpoint: the
    demo and ``simulate`` go on without it (they ended with an internal error, exit 70)."""
    exports, ready, proc = _simulate(seventh, _LAUNCH)
    _stop(proc)
    assert ready
    assert not any(ref.startswith("seventh:") for ref in ready)
    assert "DOCSTATUS_SEVENTH_BASE_URL" not in exports


# --- the simulator


def test_the_simulator_serves_its_scripts_and_names_it_in_its_environment(sim: Any, seventh: Seventh) -> None:
    assert list(sim_module.SCRIPTS["seventh"]) == ["happy_path", "failure", "unknown_state"]
    env = sim.env()
    assert env["DOCSTATUS_SEVENTH_BASE_URL"] == sim.base_url("seventh")
    assert env["DOCSTATUS_SEVENTH_TOKEN"] == sim.tokens["seventh"] == seventh.simulator.SIM.token
    with pytest.raises(ValueError, match="does not fit the seventh spec"):
        sim.create_job("seventh", sim_module.Script(name="odd", phases=[sim_module.Phase(state="Queued")]))


# --- nothing else names it


def test_no_code_of_the_project_outside_tests_names_the_seventh_provider() -> None:
    """The library, the simulator, the generator and its inputs and outputs, the benchmarks and
    the build files: none names it (the README may point at ``tests/seventh/`` as an example)."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    code = ("normalize/", "codegen/", "specs/", "generated/", "bench/", "pyproject.toml", "noxfile.py")
    read = [ROOT / f for f in files if f.startswith(code) and (ROOT / f).is_file()]
    assert len(read) > 100  # the reader sees the library, the simulator, codegen, specs, generated/
    assert {"_cli.py", "_server.py", "generate.py", "pyproject.toml"} <= {p.name for p in read}
    naming = [p.relative_to(ROOT).as_posix() for p in read if b"seventh" in p.read_bytes().lower()]
    assert naming == []
