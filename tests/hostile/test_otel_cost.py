"""What the default hooks cost when nothing would record (issue 22): with ``opentelemetry-api``
installed but no SDK configured and the ``docstatus`` logger not at DEBUG, a job is not traced
at all (no attempt record, no URL, no span); an SDK the application configures later is used
from the next job on. In a fresh Python process: the OpenTelemetry global providers can be set
only once per process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("opentelemetry.sdk")

SCRIPT = r"""
import json, logging
import docstatus
from docstatus import ProviderConfig, WaitPolicy
from docstatus._waiting import _hooks
from docstatus._waiting._attempt import Attempt
from docstatus.simulator import Simulator

calls = {"attempt": 0, "url": 0, "job_started": 0}
for name in ("attempt", "job_started"):
    real = getattr(_hooks.Hooks, name)
    def counted(self, *args, _real=real, _name=name):
        calls[_name] += 1
        return _real(self, *args)
    setattr(_hooks.Hooks, name, counted)
out = {}
with Simulator() as sim:
    sim.clock.freeze()
    cfg = ProviderConfig(provider="artos", base_url=sim.base_url("artos"), token=sim.tokens.get("artos"))
    policy = WaitPolicy(timeout=600.0, initial_delay=1.0, min_delay=0.2, max_delay=5.0, durations=None)

    from docstatus._waiting._poll import Configs
    cfg_url = Configs.url
    Configs.url = lambda self, ref: (calls.__setitem__("url", calls["url"] + 1), cfg_url(self, ref))[1]

    def wait_one():
        ref = sim.create_job("artos", "happy_path", step=1.0)
        return docstatus.wait(ref, policy=policy, config=cfg, clock=sim.clock.now, sleep=sim.clock.advance)

    wait_one()
    out["requests_off"] = len(sim.requests)
    out["off"] = dict(calls)

    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # after docstatus made its hooks
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    before = len(sim.requests)
    wait_one()
    out["requests_on"] = len(sim.requests) - before
    out["spans"] = sorted(s.name for s in exporter.get_finished_spans())
    out["on"] = dict(calls)
print(json.dumps(out))
"""


def test_no_sdk_and_no_debug_log_trace_no_attempt_and_a_later_sdk_is_used_from_the_next_job() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["requests_off"] >= 2, "the job was polled more than once"
    assert out["off"] == {"attempt": 0, "url": 0, "job_started": 0}, out
    polled = out["requests_on"]
    assert polled >= 2
    assert out["on"]["job_started"] == 1
    assert out["on"]["attempt"] == polled
    assert out["on"]["url"] == 1, "the status URL is made once per job"
    assert out["spans"].count("GET") == polled
    assert out["spans"].count("docstatus.job") == 1
