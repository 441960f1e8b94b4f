"""``docstatus normalize`` on JSON Lines against a plain ``json.loads`` + ``json.dumps`` loop over
the same lines (issue 23, goal: >= 0.5x its speed).

Per provider, a file of realistic status bodies (mixed states), one per line. Both loops read
the file line by line and write one line per body to the same sink (a pipe drained by ``cat``),
in this process, timed in this process's CPU time (the machine is shared), best of repeats,
interleaved. For reference, the same as whole processes (wall time, startup included, stdout
block-buffered as usual: ``PYTHONUNBUFFERED`` unset).

Run: ``python bench/bench_normalize.py`` (or ``nox -s bench -- normalize``).
"""

from __future__ import annotations

import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

LINES = 20_000
ROUNDS = 7
PROVIDERS = ("artos", "sarvam", "sarvam_docai", "neurolinker", "aitronos", "markdown2pdf")
AITRONOS_ID = "org_1/vs_1/file_1"


def _uid(i: int) -> str:
    return f"{i:08x}-5b7d-4e8f-9a0b-1c2d3e4f5a6b"


_START = datetime(2025, 10, 15, 9, 49, 50, tzinfo=UTC)


def _when(i: int, later: int, *, fraction: bool = False) -> str:
    """A timestamp of job ``i``, ``later`` seconds after it started, as providers write them: in UTC,
    whole seconds or microseconds. Every job's are its own (jobs start 37.1 s apart), as in a real
    file: nothing along the way can profit from seeing the same text twice."""
    stamp = _START + timedelta(seconds=37.1 * i + later, microseconds=574754 if fraction else 0)
    return stamp.isoformat(timespec="microseconds" if fraction else "seconds").replace("+00:00", "Z")


def body(provider: str, i: int, rng: random.Random) -> dict[str, Any]:
    """A realistic status body of ``provider`` (as its status endpoint sends one)."""
    done = rng.random() < 0.4
    f = rng.random()
    if provider == "artos":
        return {
            "task_id": _uid(i),
            "status": "Ready" if done else rng.choice(["Pending", "Ingesting", "Generating"]),
            "progress": 100 if done else round(100 * f),
            "error": None,
        }
    if provider == "sarvam":
        return {
            "job_id": _uid(i),
            "job_state": "Completed" if done else "Running",
            "created_at": _when(i, 0, fraction=True),
            "updated_at": _when(i, 145, fraction=True),
            "storage_container_type": "Azure",
            "total_files": 1,
            "successful_files_count": int(done),
            "failed_files_count": 0,
            "error_message": "",
            "job_details": [
                {
                    "inputs": [{"file_name": "Invoice_20250101.pdf", "file_id": _uid(7)}],
                    "outputs": [{"file_name": "Invoice_20250101.zip", "file_id": _uid(8)}] if done else [],
                    "state": "Success" if done else "Processing",
                    "total_pages": 24,
                    "pages_processed": 24 if done else int(24 * f),
                    "pages_succeeded": 24 if done else int(24 * f),
                    "pages_failed": 0,
                    "error_message": "",
                    "error_code": None,
                    "page_errors": [],
                }
            ],
        }
    if provider == "sarvam_docai":
        return {
            "job_id": _uid(i),
            "status": "completed" if done else "running",
            "pipeline": "digitise",
            "usage": {
                "pages_total": 24,
                "pages_processed": 24 if done else int(24 * f),
                "pages_succeeded": 24 if done else int(24 * f),
                "pages_failed": 0,
            },
            "created_at": _when(i, 0),
            "updated_at": _when(i, 4),
        }
    if provider == "neurolinker":
        return {
            "success": True,
            "document_id": _uid(i),
            "request_id": _uid(3),
            "status": "completed" if done else "processing",
            "file_name": "Invoice_20250101.pdf",
            "file_type": "application/pdf",
            "file_size_bytes": 421050,
            "total_pages": 8,
            "user_uid": "r7N61XBJZBfUjpYocuUWSteuQF52",
            "started_at": _when(i, 0, fraction=True),
            "completed_at": _when(i, 145, fraction=True) if done else None,
            "results": {
                "storage_path": f"uploads/r7N61XBJZBfUjpYocuUWSteuQF52/{_uid(3)}/{_uid(i)}/",
                "cropped_images": [f"{_uid(k)}.png" for k in range(12)],
            }
            if done
            else None,
        }
    if provider == "aitronos":
        return {
            "status": "completed" if done else "processing",
            "progress_percent": 100 if done else round(100 * f),
            "current_step": None if done else "embedding",
            "error_message": None,
            "started_at": _when(i, 0),
            "completed_at": _when(i, 540) if done else None,
        }
    return {
        "id": _uid(i),
        "description": "Quarterly report Q3",
        "status": "Done" if done else "Processing",
        "status_meta": None if done else "Rendering pages",
        "progress": 1.0 if done else round(f, 2),
        "path": "https://api.markdown2pdf.ai/job/x/output" if done else None,
    }


def _args(provider: str, path: Path) -> list[str]:
    return ["normalize", provider, str(path), *(["--job-id", AITRONOS_ID] if provider == "aitronos" else [])]


def _baseline(path: Path, out: Any) -> float:
    """The plain loop: each line decoded and encoded again, written out. CPU seconds."""
    start = time.process_time()
    write, loads, dumps = out.write, json.loads, json.dumps
    with path.open("rb") as lines:
        for line in lines:
            write(dumps(loads(line)) + "\n")
    out.flush()
    return time.process_time() - start


def _normalize(provider: str, path: Path, out: Any) -> float:
    """``docstatus normalize`` in this process (``main``), its stdout the same sink. CPU seconds."""
    from docstatus._cli import main  # noqa: PLC0415

    saved, sys.stdout = sys.stdout, out
    try:
        start = time.process_time()
        code = main(_args(provider, path))
        elapsed = time.process_time() - start
    finally:
        sys.stdout = saved
    assert code in (0, 1), code  # 1: some bodies say the job failed
    return elapsed


_PLAIN = (
    "import json, sys\n"
    "for line in open(sys.argv[1], 'rb'):\n"
    "    sys.stdout.write(json.dumps(json.loads(line)) + '\\n')\n"
)


def _process(argv: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - start


def main() -> int:
    print(f"Python {platform.python_version()}, {platform.machine()}, docstatus bench_normalize\n")
    rng = random.Random(1)
    sink = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert sink.stdin is not None
    out = open(sink.stdin.fileno(), "w", encoding="utf-8", closefd=False)  # noqa: SIM115  # closed below
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for provider in PROVIDERS:
            path = Path(folder) / f"{provider}.jsonl"
            with path.open("w", encoding="utf-8") as f:
                for i in range(LINES):
                    f.write(json.dumps(body(provider, i, rng)) + "\n")
            _normalize(provider, path, out)  # warm: imports, the provider's module
            base = ours = float("inf")
            for _ in range(ROUNDS):
                base = min(base, _baseline(path, out))
                ours = min(ours, _normalize(provider, path, out))
            cli = [sys.executable, "-m", "docstatus._cli", *_args(provider, path)]
            plain = [sys.executable, "-c", _PLAIN, str(path)]
            wall_base = min(_process(plain) for _ in range(3))
            wall_ours = min(_process(cli) for _ in range(3))
            size = path.stat().st_size / LINES
            rows.append((provider, size, LINES / base, LINES / ours, base / ours, wall_base / wall_ours))
    out.close()
    sink.stdin.close()
    sink.wait()
    print(
        f"### `docstatus normalize` JSON Lines vs a `json.loads` + `json.dumps` loop ({LINES:,} lines per "
        f"provider; lines/s of CPU, best of {ROUNDS}, interleaved)",
        "",
        "| provider | bytes/line | loads+dumps loop | normalize | ratio (goal >= 0.5) "
        "| as processes (wall, startup in) |",
        "|---|---:|---:|---:|---:|---:|",
        sep="\n",
    )
    for provider, size, base_rate, our_rate, ratio, wall in rows:
        verdict = "met" if ratio >= 0.5 else "MISSED"
        rates = f"{base_rate:,.0f} | {our_rate:,.0f}"
        print(f"| {provider} | {size:.0f} | {rates} | **{ratio:.2f}x** {verdict} | {wall:.2f}x |")
    print(
        "\nBoth write to a pipe drained by `cat`. normalize's line: read and split (`_cli_input`), `parse` of the "
        "line's bytes on its fast path (bench_parse), its line written by `JobStatus.to_json()` (directly: no "
        "dict, no encoder), the mask, the write."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
