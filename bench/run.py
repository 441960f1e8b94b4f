"""Run every benchmark (``bench/bench_*.py``), each in its own process, and print its table.

Every benchmark reports ratios against a baseline measured in the same run: absolute
times on a shared 2-core machine mean little. ``python bench/run.py parse`` runs only
``bench_parse.py``; the topics: ``celery``, ``normalize`` (``docstatus normalize`` on JSON Lines),
``hooks`` (what the default hooks and the OpenTelemetry SDK cost ``watch_many``), ``parse``,
``tracker``, ``wait`` (throughput, request economy, where jobs end and what the
duration model costs, memory).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = set(argv)
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        topic = script.stem.removeprefix("bench_")
        if wanted and topic not in wanted:
            continue
        print(f"\n## {topic}\n", flush=True)
        if subprocess.run([sys.executable, str(script)], check=False).returncode != 0:
            failed.append(topic)
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
