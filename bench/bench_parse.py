"""How fast ``docstatus.parse`` is, as ratios measured in one run (absolute times on a shared
machine mean little).

1. ``parse(provider, body)`` per realistic payload, against ``json.loads`` of the same bytes
   (target <= 2.2x, on the minimum and on the median of the repeats), with the share of each
   stage: ``json.loads``, docstatus's mapping read from the decoded JSON, and (not part of
   ``parse``: built on first access of ``status.model``) the generated client's ``from_dict``.
2. The same Sarvam payload parsed the way the official ``sarvamai`` SDK parses its status
   response (``DocumentIntelligence.get_status``: ``parse_obj_as(DocDigitizationJobStatusResponse,
   response.json())``), as the peer (target: docstatus >= 30x faster). Skipped when ``sarvamai``
   is not installed.
3. ``python -c "import docstatus"`` against ``python -c "import httpx"`` (median of N fresh
   interpreters; target <= 0.5x), and ``from sarvamai import SarvamAI`` for reference.

Run: ``python bench/bench_parse.py`` (or ``nox -s bench -- parse``).
"""

from __future__ import annotations

import importlib.util
import json
import platform
import statistics
import subprocess
import sys
import time
import timeit
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

REPEAT = 15
TARGET = 2.2
IMPORT_RUNS = 21

SARVAM_ID = "5b1f0c9e-8c1d-4a7e-9f6a-2d3b4c5d6e7f"

#: One realistic status body per provider (from the documentation examples where they exist).
PAYLOADS: dict[str, dict[str, Any]] = {
    "artos": {
        "task_id": "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
        "status": "Generating",
        "progress": 40,
        "error": None,
    },
    "sarvam": {
        "job_id": SARVAM_ID,
        "job_state": "PartiallyCompleted",
        "created_at": "2025-10-15T09:49:50.574754Z",
        "updated_at": "2025-10-15T09:52:15.622575Z",
        "storage_container_type": "Azure",
        "total_files": 1,
        "successful_files_count": 0,
        "failed_files_count": 0,
        "error_message": "",
        "job_details": [
            {
                "inputs": [{"file_name": "Invoice_20250101.pdf", "file_id": "b2c4e6f8-1a3b-4c5d-8e9f-0a1b2c3d4e5f"}],
                "outputs": [{"file_name": "Invoice_20250101.zip", "file_id": "c3d5f7a9-2b4c-4d6e-9f0a-1b2c3d4e5f6a"}],
                "state": "PartialSuccess",
                "total_pages": 24,
                "pages_processed": 24,
                "pages_succeeded": 21,
                "pages_failed": 3,
                "error_message": "3 of 24 pages failed",
                "error_code": "PARTIAL_PAGE_FAILURE",
                "page_errors": [
                    {
                        "page_number": 3,
                        "error_code": "OCR_FAILED",
                        "error_message": "Could not read the page",
                    },
                    {"page_number": 7, "error_code": "TIMEOUT", "error_message": "Page processing timed out"},
                    {
                        "page_number": 19,
                        "error_code": "UNSUPPORTED_CONTENT",
                        "error_message": "Handwriting only",
                    },
                ],
            }
        ],
    },
    # Sarvam Document AI: the Jobs & Errors guide's status response (specs/sarvam_docai/page.md), running
    "sarvam_docai": {
        "job_id": "019fb81e-2543-70bd-a737-b5a2d62a3bb7",
        "status": "running",
        "pipeline": "digitise",
        "usage": {"pages_total": 24, "pages_processed": 9, "pages_succeeded": 9, "pages_failed": 0},
        "created_at": "2026-07-31T12:20:11Z",
        "updated_at": "2026-07-31T12:20:15Z",
    },
    "neurolinker": {
        "success": True,
        "document_id": "1d6986aa-80ac-4a4d-9009-5a323c9046b1",
        "request_id": "2c83d7c8-7ff5-42f3-a276-9d5a86785167",
        "status": "completed",
        "file_name": "Invoice_20250101.pdf",
        "file_type": "application/pdf",
        "file_size_bytes": 421050,
        "total_pages": 8,
        "user_uid": "r7N61XBJZBfUjpYocuUWSteuQF52",
        "started_at": "2025-10-15T09:49:50.574754Z",
        "completed_at": "2025-10-15T09:52:15.622575Z",
        "results": {
            "storage_path": "uploads/r7N61XBJZBfUjpYocuUWSteuQF52/2c83d7c8-7ff5-42f3-a276-9d5a86785167/"
            "1d6986aa-80ac-4a4d-9009-5a323c9046b1/",
            "cropped_images": [
                "545f62ed-497b-4bef-9240-79af6ed6f00d.png",
                "0d2a4c60-a235-44d4-a289-f9ff3395136b.png",
                "67d9cbe2-f410-4cbb-8fb3-9faa00868f30.png",
                "b532f90a-a9c9-4123-b282-b400ec6cb4c4.png",
                "663008a7-bd8f-4542-9a57-1acdc438e65e.png",
                "7674cdf4-cd0a-4847-b6b7-72389d641321.png",
                "63b3d37a-119e-43ac-80f0-04bb3d96b02f.png",
                "d08a2c04-ffed-45a2-bc36-cfb71d0ecee0.png",
                "0d676032-bdc1-420e-92f6-09d08e7b567d.png",
                "d16bfe5b-c610-492a-a142-926be951ad4c.png",
                "6d6d214d-f17a-4068-ad30-69c1b03243db.png",
                "db26ebe5-54b2-4a7e-abcd-1eb0b285f59c.png",
            ],
        },
        "document_page_url": "https://neurolinker.ainexxo.com/job/2c83d7c8-7ff5-42f3-a276-9d5a86785167/"
        "extractions/1d6986aa-80ac-4a4d-9009-5a323c9046b1",
    },
    "aitronos": {
        "status": "processing",
        "progress_percent": 50,
        "current_step": "embedding",
        "error_message": None,
        "started_at": "2025-06-15T10:00:05Z",
        "completed_at": None,
    },
    "markdown2pdf": {
        "id": "1d6986aa-80ac-4a4d-9009-5a323c9046b1",
        "description": "Quarterly report Q3",
        "status": "Processing",
        "status_meta": "Rendering pages",
        "progress": 0.65,
        "path": None,
    },
}
JOB_IDS = {"aitronos": "org_xyz789/vs_abc123/file_abc123def456"}


def timings(*fns: Callable[[], object]) -> list[list[float]]:
    """Seconds per call of each function, REPEAT timings each, each long enough to be
    measurable, taken in turns so that a burst of load on the shared machine hits all alike."""
    timers = [timeit.Timer(fn) for fn in fns]
    numbers = [max(timer.autorange()[0], 1000) for timer in timers]
    runs: list[list[float]] = [[] for _ in fns]
    for _ in range(REPEAT):
        for i, (timer, number) in enumerate(zip(timers, numbers, strict=True)):
            runs[i].append(timer.timeit(number) / number)
    return runs


def per_call(*fns: Callable[[], object]) -> list[float]:
    """The best of REPEAT timings of each function (see ``timings``)."""
    return [min(run) for run in timings(*fns)]


def parse_table() -> list[str]:
    import docstatus  # noqa: PLC0415
    from docstatus._registry import mapper  # noqa: PLC0415

    rows = [
        "| provider | bytes | json.loads | mapping (from the dict) | model on access (`from_dict`) | parse (min) "
        "| parse / json.loads, min | median | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for provider, payload in PAYLOADS.items():
        raw = json.dumps(payload).encode()
        job_id = JOB_IDS.get(provider)
        m = mapper(provider)
        data = json.loads(raw)
        reference = m.normalize(m.from_dict(data), job_id=job_id)
        status = docstatus.parse(provider, raw, job_id=job_id)  # warm up (imports)
        assert status == reference, provider  # the same output as the model path
        assert status.to_json() == reference.to_json(), provider
        assert status.model.to_dict() == reference.model.to_dict(), provider
        t_json, t_map, t_model, t_parse = timings(
            lambda raw=raw: json.loads(raw),
            lambda m=m, data=data, job_id=job_id: m.fast(data, job_id, None),
            lambda m=m, data=data: m.from_dict(data),
            lambda p=provider, raw=raw, job_id=job_id: docstatus.parse(p, raw, job_id=job_id),
        )
        ratio = min(t_parse) / min(t_json)
        ratio_median = statistics.median(t_parse) / statistics.median(t_json)
        ok = "ok" if max(ratio, ratio_median) <= TARGET else "MISSED"
        rows.append(
            f"| {provider} | {len(raw)} | 1.00x | {min(t_map) / min(t_json):.2f}x | {min(t_model) / min(t_json):.2f}x "
            f"| {min(t_parse) * 1e6:.1f} µs | **{ratio:.2f}x** | {ratio_median:.2f}x | <= {TARGET}x {ok} |"
        )
    rows.append("")
    rows.append(
        "`mapping` is docstatus's provider mapping read from the decoded JSON, `model on access` the "
        "generated model's `from_dict` (not part of `parse`: `status.model` builds it from the kept body "
        "on first access, plus a `json.loads`), each as a multiple of `json.loads`, measured on warm "
        "objects. Ratios are of the minimum and of the median of the repeats. The output is checked "
        "equal (`==`, `to_json()`, `model.to_dict()`) to the model path's before timing."
    )
    return rows


def peer_table() -> list[str]:
    if importlib.util.find_spec("sarvamai") is None:
        return ["sarvamai is not installed: the peer comparison is skipped (`pip install sarvamai`)."]
    from importlib.metadata import version  # noqa: PLC0415

    import docstatus  # noqa: PLC0415

    # Exactly what sarvamai's DocumentIntelligence.get_status does with the bytes it received
    # (sarvamai/document_intelligence/raw_client.py): httpx's response.json(), i.e. json.loads
    # of the content, then parse_obj_as(DocDigitizationJobStatusResponse, ...).
    from sarvamai.core.pydantic_utilities import parse_obj_as  # noqa: PLC0415
    from sarvamai.types.doc_digitization_job_status_response import (  # noqa: PLC0415
        DocDigitizationJobStatusResponse,
    )

    raw = json.dumps(PAYLOADS["sarvam"]).encode()

    def sdk() -> object:
        return parse_obj_as(type_=DocDigitizationJobStatusResponse, object_=json.loads(raw))

    sdk()  # warm up
    t_json, t_parse, t_sdk = per_call(lambda: json.loads(raw), lambda: docstatus.parse("sarvam", raw), sdk)
    speedup = t_sdk / t_parse
    return [
        f"| Sarvam status, {len(raw)} bytes | per call | / json.loads |",
        "|---|---:|---:|",
        f"| json.loads | {t_json * 1e6:.1f} µs | 1.00x |",
        f"| docstatus.parse | {t_parse * 1e6:.1f} µs | {t_parse / t_json:.2f}x |",
        f"| sarvamai {version('sarvamai')} `get_status` parsing | {t_sdk * 1e6:.1f} µs | {t_sdk / t_json:.2f}x |",
        "",
        f"docstatus is **{speedup:.1f}x** faster than the SDK's parsing "
        f"(target >= 30x: {'ok' if speedup >= 30 else 'MISSED'}).",
    ]


def import_table() -> list[str]:
    statements = {
        "import docstatus": "import docstatus",
        "import httpx": "import httpx",
        "from sarvamai import SarvamAI": "from sarvamai import SarvamAI",
    }
    if importlib.util.find_spec("sarvamai") is None:
        statements.pop("from sarvamai import SarvamAI")
    times: dict[str, list[float]] = {name: [] for name in statements}
    for code in statements.values():  # warm the file system caches once
        subprocess.run([sys.executable, "-c", code], check=True)
    for _ in range(IMPORT_RUNS):  # interleaved, so machine noise hits all alike
        for name, code in statements.items():
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    base = medians["import httpx"]
    rows = [
        f"| fresh interpreter, median of {IMPORT_RUNS} | wall time | / import httpx | target |",
        "|---|---:|---:|---|",
    ]
    for name, median in medians.items():
        ratio = median / base
        target = ""
        if name == "import docstatus":
            target = f"<= 0.5x {'ok' if ratio <= 0.5 else 'MISSED'}"
        rows.append(f"| `{name}` | {median * 1e3:.0f} ms | **{ratio:.2f}x** | {target} |")
    return rows


def main() -> int:
    print(f"Python {platform.python_version()} on {platform.machine()} (a shared 2-core machine); {REPEAT} repeats.\n")
    print("### parse vs json.loads\n")
    print("\n".join(parse_table()))
    print("\n### Sarvam: docstatus vs the official SDK\n")
    print("\n".join(peer_table()))
    print("\n### import cost\n")
    print("\n".join(import_table()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
