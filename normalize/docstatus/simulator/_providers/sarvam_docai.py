"""Sarvam Document AI (the current API, ``/doc-ai/v1``), simulated:
``GET /doc-ai/v1/job/{job_id}/status`` with the ``api-subscription-key`` header.

Lowercase states, ``usage`` page counts, RFC 7807 problem details
(``application/problem+json``) for every error; the same ``api-subscription-key`` as the
legacy API, and served under the legacy API's prefix too (``/sarvam/doc-ai/v1/...``: one
Sarvam base URL serves both APIs, and the SDK calls both on it). Ids are kept as given
(``docstatus.parse_ref``). A phase's ``step`` makes the job a Split job (``type``, ``phase``,
``progress`` as the Jobs & Errors guide shows); its ``pages`` are served as ``usage``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from docstatus_simulator_models import sarvam_docai as models  # type: ignore[import-untyped,unused-ignore]

from docstatus.simulator._jobs import PageCounts, Phase
from docstatus.simulator._render import Answer, ProviderSim
from docstatus.simulator._scripts import ready, scripts, unknown_state

if TYPE_CHECKING:
    from docstatus.simulator._render import At, Headers


def _stamp(seconds: float) -> str:
    """RFC 3339, whole seconds, ``Z`` (the docs' example: ``2026-07-31T12:20:11Z``)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SarvamDocai(ProviderSim):
    name = "sarvam_docai"
    route = ("doc-ai", "v1", "job", None, "status")
    auth = "header"
    auth_header = "api-subscription-key"
    token = "sim-sarvam-key"  # noqa: S105  # a fake credential; one Sarvam subscription key serves both APIs
    auth_status = 403
    auth_headers = ()
    auth_texts = MappingProxyType(
        {"missing": "Missing api-subscription-key header", "wrong": "Invalid API subscription key"}
    )
    not_found_text = "Job not found"  # the docs' text names no id
    model = models.DocAiJobStatusResponse
    also_under = (("sarvam", ("doc-ai", "v1")),)

    def error(self, status: int, message: str, headers: Headers = ()) -> Answer:
        title = {403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}.get(status, "Error")
        if status >= 500:
            title = {503: "Service Unavailable"}.get(status, "Internal Server Error")
        body = models.DocAiErrorModel(type="about:blank", title=title, status=status, detail=message)
        return Answer(
            status=status,
            body=body.model_dump_json(exclude_none=True).encode(),
            content_type="application/problem+json",
            headers=headers,
        )

    def values(self, at: At) -> dict[str, Any]:
        job = at.job
        phase = at.phase
        values: dict[str, Any] = {
            "job_id": job.job_id,
            "status": phase.state,
            "pipeline": "digitise",
            "created_at": _stamp(job.created_at),
            "updated_at": _stamp(at.start),
        }
        pages = phase.pages
        # usage is always sent: optional in the spec, required by sarvamai 0.1.39's model
        # (types/doc_ai_job_status_response.py:26)
        values["usage"] = {}
        if phase.step is not None:  # a Split or Classify job: its own usage keys (Jobs & Errors guide)
            values.update(type="split", phase=phase.step, progress=phase.progress)
            if pages is not None:
                values["usage"] = {"pages_processed": pages.processed, "pages_source": pages.total}
        elif pages is not None:
            values["usage"] = {
                "pages_total": pages.total,
                "pages_processed": pages.processed,
                "pages_succeeded": pages.succeeded,
                "pages_failed": pages.failed,
            }
        return values


SIM = SarvamDocai()


def _pages(processed: int, succeeded: int, failed: int = 0) -> PageCounts:
    return PageCounts(total=4, processed=processed, succeeded=succeeded, failed=failed)


_PENDING, _RUNNING = Phase(state="pending", pages=_pages(0, 0)), Phase(state="running", pages=_pages(2, 2))
SCRIPTS = scripts(
    ready(
        "happy_path",
        "pending, running (2 then 3 of 4 pages), completed",
        _PENDING,
        _RUNNING,
        Phase(state="running", pages=_pages(3, 3)),
        Phase(state="completed", pages=_pages(4, 4)),
    ),
    ready(
        "failure",
        "pending, running, failed: every page failed",
        _PENDING,
        Phase(state="running", pages=_pages(2, 0, 2)),
        Phase(state="failed", pages=_pages(4, 0, 4)),
    ),
    ready(
        "partial_success",
        "pending, running, partially_completed: 3 of 4 pages succeeded",
        _PENDING,
        _RUNNING,
        Phase(state="partially_completed", pages=_pages(4, 3, 1)),
    ),
    ready(
        "rejected", "pending, then rejected before processing", _PENDING, Phase(state="rejected", pages=_pages(0, 0))
    ),
    ready(
        "stuck_accepted",
        "a Split job: accepted forever (type, phase and progress as the guide says)",
        Phase(state="accepted", step="splitting", progress=0.0, pages=PageCounts(total=4)),
    ),
    unknown_state("paused", _PENDING, _RUNNING, pages=_pages(2, 2)),
)
