"""The cost of the hooks on ``watch_many`` (issue 22): jobs per second over real HTTP to the
simulator on 127.0.0.1 (jobs already ended: one status request each), in one run:

- ``before``: the code without hooks (``--before PATH``: a checkout's ``normalize/``, e.g. main
  before issue 22), in a subprocess;
- ``default, no SDK``: this checkout's default hooks (logging, and OpenTelemetry's API with no
  SDK configured);
- ``no hooks``: ``set_hooks([])``;
- ``SDK, in-memory``: the OpenTelemetry SDK with an in-memory span exporter and metric reader.

Each row alternates with the others, ``--repeats`` times; min and median of jobs/s are printed,
with each row's ratio to ``before`` (the issue's targets: >= 0.97 without an SDK, >= 0.85 with it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

MODES = ("default", "none", "sdk")


def one(mode: str, jobs: int, base_url: str, token: str) -> float:
    import docstatus  # noqa: PLC0415

    if mode == "none":
        docstatus.set_hooks([])
    elif mode == "sdk":
        from docstatus.instrumentation import LoggingHook, OpenTelemetryHook  # noqa: PLC0415
        from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: PLC0415
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: PLC0415
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: PLC0415

        tp = TracerProvider()
        tp.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
        mp = MeterProvider(metric_readers=[InMemoryMetricReader()])
        docstatus.set_hooks([LoggingHook(), OpenTelemetryHook(tp, mp)])
    from docstatus import ProviderConfig, WaitPolicy  # noqa: PLC0415

    refs = sys.stdin.read().split()
    cfg = ProviderConfig(provider="artos", base_url=base_url, token=token)

    async def run() -> float:
        start = time.perf_counter()
        n = 0
        async for update in docstatus.watch_many(
            refs[:jobs],
            config=cfg,
            policy=WaitPolicy(timeout=600, durations=None),
            host_rate=None,
            concurrency=32,
            host_concurrency=32,
        ):
            n += update.done
        assert n == jobs
        return jobs / (time.perf_counter() - start)

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", default=None)
    parser.add_argument("--child", default=None)
    parser.add_argument("--url", default="")
    parser.add_argument("--token", default="")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(args.child, args.jobs, args.url, args.token)))
        return
    from docstatus.simulator import Simulator  # noqa: PLC0415

    with Simulator() as sim:
        refs = [sim.create_job("artos", "happy_path", step=0.0) for _ in range(args.jobs)]
        sim.clock.advance(10)
        rows = {m: [] for m in (*(("before",) if args.before else ()), *MODES)}
        for _ in range(args.repeats):
            for mode in list(rows):
                env = dict(os.environ)
                if mode == "before":
                    env["PYTHONPATH"] = args.before  # the old code: no hooks to set
                url, token = sim.base_url("artos"), sim.tokens.get("artos") or ""
                cmd = [
                    sys.executable,
                    __file__,
                    "--child",
                    mode,
                    "--jobs",
                    str(args.jobs),
                    "--url",
                    url,
                    "--token",
                    token,
                ]
                out = subprocess.run(cmd, input="\n".join(refs), capture_output=True, text=True, env=env, check=True)
                rows[mode].append(float(out.stdout.strip().splitlines()[-1]))
    base = statistics.median(rows["before"]) if "before" in rows else None
    print("| mode | min jobs/s | median jobs/s | median / before |")
    print("|---|---|---|---|")
    for mode, values in rows.items():
        med = statistics.median(values)
        ratio = f"{med / base:.3f}" if base else "-"
        print(f"| {mode} | {min(values):.0f} | {med:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
