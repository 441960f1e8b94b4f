"""Every poll is observable through OpenTelemetry (issue 22), with the real SDK.

The hook uses the OpenTelemetry API only; these tests give it the SDK's ``TracerProvider`` (an
``InMemorySpanExporter``) and ``MeterProvider`` (an ``InMemoryMetricReader``) and check, for
``wait``, ``watch_many``, a ``Tracker`` run and the Celery task against the simulator on
127.0.0.1: one span per job, one CLIENT span per attempt (as many as the requests the server
received) under it, HTTP semantic-convention attributes, and metrics. One test runs against a
raw server that echoes the credential everywhere it can and finds it in no attribute.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

import docstatus
import pytest
from _rawserver import Conn, RawServer, answer
from _status_checks import body
from docstatus import ProviderConfig, Tracker, WaitPolicy
from docstatus.instrumentation import LoggingHook, OpenTelemetryHook, set_hooks

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

if TYPE_CHECKING:
    from collections.abc import Iterator

    from docstatus.simulator import Simulator

POLICY = WaitPolicy(timeout=600.0, initial_delay=1.0, min_delay=0.2, max_delay=5.0, durations=None)


class Otel:
    """The SDK wired to the hook: finished spans and metric points, in memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.hook = OpenTelemetryHook(tracer_provider, MeterProvider(metric_readers=[self.reader]))

    def spans(self) -> list[Any]:
        return list(self.exporter.get_finished_spans())

    def jobs(self) -> list[Any]:
        return [s for s in self.spans() if s.name == "docstatus.job"]

    def attempts(self) -> list[Any]:
        return [s for s in self.spans() if s.kind is SpanKind.CLIENT]

    def points(self) -> dict[str, list[Any]]:
        data = self.reader.get_metrics_data()
        out: dict[str, list[Any]] = {}
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
        return out

    def total(self, name: str, **attrs: Any) -> float:
        points = self.points().get(name, [])
        chosen = [p for p in points if all(p.attributes.get(k) == v for k, v in attrs.items())]
        return sum(getattr(p, "value", None) if hasattr(p, "value") else p.count for p in chosen)


@pytest.fixture
def otel() -> Iterator[Otel]:
    found = Otel()
    set_hooks([found.hook])
    try:
        yield found
    finally:
        set_hooks(None)


@pytest.fixture
def sim(docstatus_sim: Simulator) -> Simulator:
    docstatus_sim.clock.freeze()
    return docstatus_sim


def config(sim: Simulator, provider: str) -> ProviderConfig:
    return ProviderConfig(provider=provider, base_url=sim.base_url(provider), token=sim.tokens.get(provider))  # type: ignore[arg-type]


def wait_sim(sim: Simulator, ref: str) -> docstatus.JobStatus:
    """``wait`` on the simulator's frozen clock (``sleep`` advances it)."""
    return docstatus.wait(ref, policy=POLICY, config=config(sim, "artos"), clock=sim.clock.now, sleep=sim.clock.advance)


def check_tree(otel: Otel, sim: Simulator, jobs: int, outcome: str = "succeeded") -> list[Any]:
    """Every attempt span is the child of its job's span, in its trace, with HTTP attributes."""
    job_spans = otel.jobs()
    assert len(job_spans) == jobs
    by_id = {s.context.span_id: s for s in job_spans}
    attempts = otel.attempts()
    assert attempts, "no attempt span"
    for span in attempts:
        assert span.parent is not None
        assert span.parent.span_id in by_id, "an attempt span outside its job's span"
        assert span.context.trace_id == by_id[span.parent.span_id].context.trace_id
        attrs = span.attributes
        assert attrs["http.request.method"] == "GET"
        assert attrs["server.address"] == "127.0.0.1"
        assert isinstance(attrs["server.port"], int)
        assert attrs["url.full"].startswith("http://127.0.0.1:")
        assert attrs["docstatus.outcome"] in docstatus.instrumentation.OUTCOMES
        assert span.end_time >= span.start_time
    for span in job_spans:
        assert span.attributes["docstatus.outcome"] == outcome
    assert otel.total("docstatus.poll.attempts") == len(attempts)
    assert otel.total("docstatus.poll.duration") == len(attempts)  # one latency sample per attempt
    assert otel.total("docstatus.jobs.active") == 0  # every job that started ended
    assert otel.total("docstatus.job.duration", **{"docstatus.outcome": outcome}) == jobs
    return attempts


def test_wait_makes_one_span_per_poll_under_the_jobs_span_and_counts_them(sim: Simulator, otel: Otel) -> None:
    ref = sim.create_job("artos", "happy_path", step=10)
    status = docstatus.wait(
        ref, policy=POLICY, config=config(sim, "artos"), clock=sim.clock.now, sleep=sim.clock.advance
    )
    assert status.state.value == "succeeded"
    attempts = check_tree(otel, sim, 1)
    assert len(attempts) == len(sim.requests)  # one span per request the server received
    assert attempts[-1].attributes["http.response.status_code"] == 200
    assert attempts[-1].attributes["docstatus.state.after"] == "succeeded"
    assert ref.split(":", 1)[1] in attempts[-1].attributes["url.full"]


def test_wait_async_reports_like_wait(sim: Simulator, otel: Otel) -> None:
    ref = sim.create_job("sarvam", "happy_path", step=10)

    async def run() -> docstatus.JobStatus:
        async def sleep(seconds: float) -> None:
            sim.clock.advance(seconds)

        return await docstatus.wait_async(
            ref, policy=POLICY, config=config(sim, "sarvam"), clock=sim.clock.now, sleep=sleep
        )

    assert asyncio.run(run()).state.value == "succeeded"
    assert len(check_tree(otel, sim, 1)) == len(sim.requests)


def test_watch_many_reports_each_job_and_its_errors(sim: Simulator, otel: Otel) -> None:
    refs = [sim.create_job("artos", "happy_path", step=10) for _ in range(3)]
    missing = "artos:no-such-document"

    async def run() -> list[docstatus.JobUpdate]:
        async def sleep(seconds: float) -> None:
            sim.clock.advance(seconds)

        return [
            u
            async for u in docstatus.watch_many(
                [*refs, missing],
                policy=POLICY,
                config=config(sim, "artos"),
                clock=sim.clock.now,
                sleep=sleep,
                host_rate=None,
            )
            if u.done
        ]

    done = asyncio.run(run())
    assert len(done) == 4
    jobs = otel.jobs()
    assert sorted(s.attributes["docstatus.outcome"] for s in jobs) == ["not_found", *["succeeded"] * 3]
    assert len(otel.attempts()) == len(sim.requests)
    failed = [s for s in otel.attempts() if s.attributes["docstatus.outcome"] == "not_found"]
    assert len(failed) == 1
    assert failed[0].attributes["http.response.status_code"] == 404
    assert failed[0].attributes["error.type"] == "JobNotFound"
    assert otel.total("docstatus.poll.errors", **{"error.type": "JobNotFound"}) == 1
    assert otel.total("docstatus.jobs.active") == 0


def test_a_429_is_counted_and_its_hint_recorded(sim: Simulator, otel: Otel) -> None:
    from docstatus.simulator import Fault  # noqa: PLC0415

    ref = sim.create_job("artos", "happy_path", step=10)
    sim.inject(Fault.rate_limit(retry_after=2, count=1))
    wait_sim(sim, ref)
    limited = [s for s in otel.attempts() if s.attributes.get("http.response.status_code") == 429]
    assert len(limited) == 1
    assert limited[0].attributes["docstatus.retry_after"] == 2.0
    assert limited[0].attributes["docstatus.outcome"] == "rate_limited"
    assert otel.total("docstatus.poll.rate_limited") == 1


def test_a_tracker_run_reports_every_job_it_ends(docstatus_sim: Simulator, otel: Otel, tmp_path: Any) -> None:
    sim = docstatus_sim
    refs = [sim.create_job("artos", "happy_path", step=0.3) for _ in range(3)]
    tracker = Tracker(
        tmp_path / "t.db",
        config=config(sim, "artos"),
        policy=WaitPolicy(timeout=60, initial_delay=0.2, min_delay=0.2, max_delay=0.5, durations=None),
    )
    for ref in refs:
        tracker.add(ref)
    completions = tracker.run()
    assert sorted(c.state for c in completions) == ["succeeded"] * 3
    check_tree(otel, sim, 3)


def test_the_logging_hook_says_each_attempt_at_debug_only(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    set_hooks([LoggingHook()])
    try:
        ref = sim.create_job("artos", "happy_path", step=10)
        with caplog.at_level(logging.INFO, logger="docstatus"):
            docstatus.wait(
                ref, policy=POLICY, config=config(sim, "artos"), clock=sim.clock.now, sleep=sim.clock.advance
            )
        assert not [r for r in caplog.records if r.name == "docstatus"]  # quiet at INFO
        caplog.clear()
        ref = sim.create_job("artos", "happy_path", step=10)
        polls = len(sim.requests)
        with caplog.at_level(logging.DEBUG, logger="docstatus"):
            docstatus.wait(
                ref, policy=POLICY, config=config(sim, "artos"), clock=sim.clock.now, sleep=sim.clock.advance
            )
        attempts = [r for r in caplog.records if hasattr(r, "docstatus_attempt")]
        assert len(attempts) == len(sim.requests) - polls
        assert attempts[-1].docstatus_attempt["state_after"] == "succeeded"
        ends = [r for r in caplog.records if getattr(r, "docstatus_job", {}).get("outcome") == "succeeded"]
        assert len(ends) == 1
    finally:
        set_hooks(None)


# --- no credential anywhere

SECRET = "tok-OTEL-SECRET-5e4d3c2b1a"


def forms(token: str) -> list[str]:
    return [
        token,
        repr(token)[1:-1],
        json.dumps(token)[1:-1],
        quote(token, safe=""),
        quote_plus(token),
        base64.b64encode(token.encode()).decode(),
        base64.b64encode(f"Bearer {token}".encode()).decode(),
    ]


def echo(status: int):
    def run(conn: Conn) -> None:
        sent = conn.request.headers.get("authorization", "")
        blob = " ".join([*forms(sent.removeprefix("Bearer ")), sent, repr(conn.request.headers)])
        data: Any = body("artos", "Failed", error=blob) if status == 200 else {"detail": blob, "error": blob}
        headers = {"Content-Type": "application/json", "X-Echo": blob[:4000], "Retry-After": "1"}
        answer(status, data, headers)(conn)

    return run


@pytest.mark.parametrize("status", [200, 401, 429, 500])
def test_no_span_event_or_metric_attribute_holds_the_echoed_token(status: int, otel: Otel) -> None:
    with RawServer(echo(status)) as server:
        cfg = ProviderConfig(provider="artos", base_url=server.url, token=SECRET)
        policy = WaitPolicy(timeout=1.0, initial_delay=0.2, min_delay=0.2, max_delay=0.3, durations=None)
        with pytest.raises(docstatus.DocstatusError) if status != 200 else _nothing():
            docstatus.wait("artos:doc-1", policy=policy, config=cfg)
        assert server.requests
    spans = otel.spans()
    assert otel.attempts()
    assert otel.jobs()
    seen: list[str] = []
    for span in spans:
        seen += [span.name, repr(dict(span.attributes or {})), repr(span.status.description)]
        seen += [repr(e.attributes) + e.name for e in span.events]
    for points in otel.points().values():
        seen += [repr(dict(p.attributes)) for p in points]
    text = "\n".join(seen)
    for form in forms(SECRET):
        assert form not in text


class _nothing:  # noqa: N801  # a context manager that expects nothing
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# --- Celery


def test_the_celery_task_reports_its_attempts_and_the_jobs_end(
    docstatus_sim: Simulator, otel: Otel, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("celery")
    from _celery_support import redis_binary, redis_server  # noqa: PLC0415

    if redis_binary() is None:
        pytest.skip("redis-server is not on PATH")
    import docstatus.celery as dc  # noqa: PLC0415
    from celery import Celery  # noqa: PLC0415
    from docstatus._celery._task import first_message, run_step  # noqa: PLC0415

    sim = docstatus_sim
    for name, value in sim.env().items():
        monkeypatch.setenv(name, value)
    ref = sim.create_job("artos", "happy_path", step=0.3)
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        app = Celery("otel", broker=server.url)
        app.conf.broker_transport_options = {"visibility_timeout": 30}
        reg = dc.register(app, policy=WaitPolicy(initial_delay=0.2, min_delay=0.2, max_delay=0.5, durations=None))
        sent: list[dict[str, Any]] = []
        task = SimpleNamespace(
            app=app,
            request=SimpleNamespace(id="req-1"),
            apply_async=lambda *, args, **_: sent.append(args[0]),
        )
        message = first_message(ref, policy=reg.runtime.policy, on_done=None, on_error=None, key=None, deadline=60)
        raw = message.to_dict()
        result = ""
        for _ in range(200):  # bounded: a job of about a second, polled every 0.2-0.5 s
            result = run_step(task, reg.runtime, raw)
            if result == "finished":
                break
            raw = sent[-1]
            state = raw["state"]
            if state.get("due") is not None:
                import time  # noqa: PLC0415

                time.sleep(max(0.0, min(1.0, state["due"] - time.time())))
        assert result == "finished"
    attempts = otel.attempts()
    assert len(attempts) == len(sim.requests)
    assert all(a.attributes["server.address"] == "127.0.0.1" for a in attempts)
    jobs = otel.jobs()
    assert len(jobs) == 1
    assert jobs[0].attributes["docstatus.outcome"] == "succeeded"
    assert jobs[0].start_time <= min(a.start_time for a in attempts)
    assert otel.total("docstatus.job.duration", **{"docstatus.outcome": "succeeded"}) == 1


def test_a_celery_step_slowed_before_its_poll_moves_neither_the_jobs_start_nor_its_deadline(
    docstatus_sim: Simulator, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis paused (SIGSTOP) for 0.6 s while a step claims the job: the next step's wait state
    keeps the first one's start and deadline (the job span starts when waiting did, before its
    first attempt; resuming never extends the deadline)."""
    pytest.importorskip("celery")
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from _celery_support import redis_binary, redis_server  # noqa: PLC0415

    if redis_binary() is None:
        pytest.skip("redis-server is not on PATH")
    import docstatus.celery as dc  # noqa: PLC0415
    from celery import Celery  # noqa: PLC0415
    from docstatus._celery._task import first_message, run_step  # noqa: PLC0415

    sim = docstatus_sim
    for name, value in sim.env().items():
        monkeypatch.setenv(name, value)
    ref = sim.create_job("artos", "happy_path", step=30.0)  # still running after the steps below
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        app = Celery("otel-drift", broker=server.url)
        reg = dc.register(app, policy=WaitPolicy(initial_delay=0.2, min_delay=0.2, max_delay=0.2, durations=None))
        sent: list[dict[str, Any]] = []
        task = SimpleNamespace(
            app=app, request=SimpleNamespace(id="req-1"), apply_async=lambda *, args, **_: sent.append(args[0])
        )
        first = first_message(ref, policy=reg.runtime.policy, on_done=None, on_error=None, key=None, deadline=600)
        raw = first.to_dict()
        assert run_step(task, reg.runtime, raw) == "polled"
        raw = sent[-1]
        assert server.proc is not None
        pid = server.proc.pid
        os.kill(pid, signal.SIGSTOP)
        resume = threading.Timer(0.6, os.kill, (pid, signal.SIGCONT))
        resume.start()
        try:
            import time  # noqa: PLC0415

            time.sleep(max(0.0, min(1.0, raw["state"]["due"] - time.time())))
            assert run_step(task, reg.runtime, raw) == "polled"
        finally:
            resume.join(5)
            os.kill(pid, signal.SIGCONT)
        state = sent[-1]["state"]
    assert state["polls"] >= 2
    assert abs(state["started"] - first.state.started) < 0.1, "the job's start moved"
    assert abs(state["deadline"] - first.state.deadline) < 0.1, "the job's deadline moved"
