"""``docstatus track run --metrics-port N`` (issue 22): the run's metrics for Prometheus, scraped
over HTTP for real from a ``docstatus track run`` subprocess polling the simulator on 127.0.0.1;
refused with exit 2 and what to install when the packages are missing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING

import pytest
from _celery_support import free_port

pytest.importorskip("opentelemetry.exporter.prometheus")
pytest.importorskip("prometheus_client")

if TYPE_CHECKING:
    from pathlib import Path

    from docstatus.simulator import Simulator


def _env(sim: Simulator, db: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOCSTATUS_", "OTEL_"))}
    return {**clean, **sim.env(), "DOCSTATUS_TRACK_DB": str(db), "PYTHONUNBUFFERED": "1", **extra}


def _track(*args: str) -> list[str]:
    return [sys.executable, "-m", "docstatus._cli", "track", *args]


def _scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            return str(answer.read().decode())
    except OSError:
        return None


def test_track_run_serves_its_poll_metrics_for_prometheus_with_no_token(
    docstatus_sim: Simulator, tmp_path: Path
) -> None:
    sim = docstatus_sim
    token = sim.tokens.get("artos")
    assert token
    refs = [sim.create_job("artos", "happy_path", step=3.0) for _ in range(3)]  # a run of ~10 s
    env = _env(sim, tmp_path / "t.db")
    assert subprocess.run(_track("add", *refs), env=env, capture_output=True, check=False, timeout=60).returncode == 0
    port = free_port()
    run = subprocess.Popen(
        _track("run", "--json", "--metrics-port", str(port)),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    body = None
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and run.poll() is None:  # bounded: the run's own deadline is 1 h
            body = _scrape(port)
            if body is not None and "docstatus_poll_attempts_total{" in body:
                break
            time.sleep(0.2)
    finally:
        out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err.decode()[-2000:]
    assert body is not None, "nothing answered on the metrics port while the run went on"
    attempts = [line for line in body.splitlines() if line.startswith("docstatus_poll_attempts_total{")]
    assert attempts, body[-3000:]
    assert all('docstatus_provider="artos"' in line for line in attempts)
    assert all('server_address="127.0.0.1"' in line for line in attempts)
    assert "docstatus_poll_duration_seconds_bucket{" in body
    assert token not in body
    assert all(ref.split(":", 1)[1] not in body for ref in refs), "a job's ref in a metric"
    assert len(out.splitlines()) == len(refs)


def test_metrics_port_without_the_packages_is_refused_before_any_poll(docstatus_sim: Simulator, tmp_path: Path) -> None:
    sim = docstatus_sim
    ref = sim.create_job("artos", "happy_path", step=0.1)
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "prometheus_client.py").write_text(  # this interpreter without prometheus_client
        "raise ModuleNotFoundError(\"No module named 'prometheus_client'\", name='prometheus_client')\n"
    )
    env = _env(sim, tmp_path / "t.db")
    assert subprocess.run(_track("add", ref), env=env, capture_output=True, check=False, timeout=60).returncode == 0
    before = len(sim.requests)
    env["PYTHONPATH"] = os.pathsep.join([str(shadow), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run(
        _track("run", "--metrics-port", str(free_port())),
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--metrics-port" in done.stderr
    assert "pip install 'docstatus[prometheus]'" in done.stderr
    assert "prometheus_client" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(sim.requests) == before, "the run polled"


def test_metrics_port_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    env["DOCSTATUS_TRACK_DB"] = str(tmp_path / "t.db")
    done = subprocess.run(
        _track("run", "--metrics-port", "70000"), env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 2
    assert "not a TCP port" in done.stderr
