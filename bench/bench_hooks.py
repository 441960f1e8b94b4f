"""The cost of the hooks on ``watch_many`` (issue 22): jobs per second over real HTTP to the
simulator on 127.0.0.1 (jobs already ended: one status request each), each run in a fresh
process, in one bench run:

- ``off``: ``set_hooks([])``, the baseline;
- ``default, no SDK``: the default hooks (logging, not at DEBUG, and OpenTelemetry's API with no
  SDK configured);
- ``SDK, batch``: the OpenTelemetry SDK configured globally (a ``BatchSpanProcessor`` into an
  ``InMemorySpanExporter``, an ``InMemoryMetricReader``), the default hooks;
- ``SDK, simple`` (``--simple``): the same with a ``SimpleSpanProcessor`` (a span exported as it ends);
- ``before`` (``--before PATH``): the code of another checkout (its ``normalize/``), default hooks.

The rows alternate, ``--repeats`` times; min and median of jobs/s are printed, with the ratios of
each row's min and median to ``off``'s (the issue's targets: >= 0.97 without an SDK, >= 0.85 with it).
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

MODES = ("off", "default", "sdk")
LABELS = {
    "off": "off (set_hooks([]))",
    "default": "default, no SDK",
    "sdk": "SDK, batch",
    "simple": "SDK, simple",
    "before": "before (--before)",
}


def one(mode: str, jobs: int, base_url: str, token: str) -> float:
    import docstatus  # noqa: PLC0415

    if mode == "off":
        docstatus.set_hooks([])
    elif mode in ("sdk", "simple"):
        from opentelemetry import metrics, trace  # noqa: PLC0415
        from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: PLC0415
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor  # noqa: PLC0415
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: PLC0415

        tp = TracerProvider()
        exporter = InMemorySpanExporter()
        tp.add_span_processor(SimpleSpanProcessor(exporter) if mode == "simple" else BatchSpanProcessor(exporter))
        trace.set_tracer_provider(tp)
        metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
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

    rate = asyncio.run(run())
    if mode in ("sdk", "simple"):
        tp.force_flush()
        spans = len(exporter.get_finished_spans())
        assert spans >= 2 * jobs, f"{spans} spans for {jobs} jobs: the SDK recorded nothing"
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--simple", action="store_true", help="also a row with a SimpleSpanProcessor")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", default=None)
    parser.add_argument("--child", default=None)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(args.child, args.jobs, args.url, os.environ.get("DOCSTATUS_BENCH_TOKEN", ""))))
        return
    from docstatus.simulator import Simulator  # noqa: PLC0415

    with Simulator() as sim:
        refs = [sim.create_job("artos", "happy_path", step=0.0) for _ in range(args.jobs)]
        sim.clock.advance(10)
        modes = (*MODES, *(("simple",) if args.simple else ()), *(("before",) if args.before else ()))
        rows: dict[str, list[float]] = {m: [] for m in modes}
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
                ]
                env["DOCSTATUS_BENCH_TOKEN"] = token  # not in argv
                out = subprocess.run(cmd, input="\n".join(refs), capture_output=True, text=True, env=env, check=True)
                rows[mode].append(float(out.stdout.strip().splitlines()[-1]))
    base_min, base_med = min(rows["off"]), statistics.median(rows["off"])
    print(f"watch_many over {args.jobs} ended jobs (one request each), {args.repeats} runs per row, alternating\n")
    print("| hooks | min jobs/s | median jobs/s | min / off | median / off |")
    print("|---|---|---|---|---|")
    for mode, values in rows.items():
        low, med = min(values), statistics.median(values)
        print(f"| {LABELS[mode]} | {low:.0f} | {med:.0f} | {low / base_min:.3f} | {med / base_med:.3f} |")


if __name__ == "__main__":
    main()
