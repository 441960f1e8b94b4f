"""Sarvam (Document Digitization, the legacy API), simulated:
``GET /doc-digitization/job/v1/{job_id}/status`` with the ``api-subscription-key`` header.

Where its spec is silent: it documents no 404 (it lists 400, 403, 429, 500, 503 for every
endpoint), so an unknown job id gets 404 with its error envelope (code
``invalid_request_error``, the closest code its enum has), because answering a well-formed
UUID with 400 would call a valid request malformed (and docstatus would raise ``BadRequest``
instead of ``JobNotFound``). A missing or wrong key gets the documented 403
``invalid_api_key_error``. Any id is a job id (a plain string in the spec); a UUID in any
spelling is stored canonical, as ``docstatus.parse_ref`` stores it.

A phase's ``pages`` are served as ``job_details[0]`` (with ``page_errors``), its ``outputs``
as that detail's outputs, its ``error``/``error_code`` as the error fields.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from docstatus_simulator_models import sarvam as models  # type: ignore[import-untyped,unused-ignore]

from docstatus.simulator._jobs import PageCounts, PageFailure, Phase
from docstatus.simulator._render import ProviderSim, as_datetime, derived_id, model_answer
from docstatus.simulator._scripts import ready, scripts, unknown_state

if TYPE_CHECKING:
    from docstatus.simulator._render import Answer, At, Headers

_CODES: Final = MappingProxyType(
    {
        400: "invalid_request_error",
        403: "invalid_api_key_error",
        404: "invalid_request_error",
        429: "rate_limit_exceeded_error",
        500: "internal_server_error",
        503: "high_load_error",
    }
)
_DETAIL_STATE: Final = MappingProxyType(
    {
        "Pending": "Pending",
        "Running": "Running",
        "Completed": "Success",
        "PartiallyCompleted": "PartialSuccess",
        "Failed": "Failed",
    }
)


class Sarvam(ProviderSim):
    name = "sarvam"
    route = ("doc-digitization", "job", "v1", None, "status")
    auth = "header"
    auth_header = "api-subscription-key"
    token = "sim-sarvam-key"  # noqa: S105  # a fake credential: what the simulator accepts
    auth_status = 403
    auth_headers = ()
    auth_texts = MappingProxyType(
        {"missing": "Missing api-subscription-key header", "wrong": "Invalid API subscription key provided"}
    )
    not_found_text = "Job {id} not found"
    model = models.DocDigitizationJobStatusResponse
    state_field = "job_state"

    def canonical_id(self, job_id: str) -> str:
        job_id = super().canonical_id(job_id)
        try:
            return str(uuid.UUID(job_id))
        except ValueError:
            return job_id

    def error(self, status: int, message: str, headers: Headers = ()) -> Answer:
        details = models.DocDigitizationErrorDetails(
            message=message,
            code=_CODES.get(status, "internal_server_error"),
            request_id=f"{datetime.now(UTC):%Y%m%d}_{uuid.uuid4()}",
        )
        return model_answer(status, models.DocDigitizationErrorMessage(error=details), headers)

    def values(self, at: At) -> dict[str, Any]:
        job = at.job
        phase = at.phase
        state = phase.state
        values: dict[str, Any] = {
            "job_id": job.job_id,  # a plain string in the spec (specs/sarvam/NOTES.md)
            "job_state": state,
            "created_at": as_datetime(job.created_at),
            "updated_at": as_datetime(at.start),
            "storage_container_type": "Azure",
            "total_files": 1,
            "successful_files_count": 1 if state in ("Completed", "PartiallyCompleted") else 0,
            "failed_files_count": 1 if state == "Failed" else 0,
            "error_message": phase.error or "",
        }
        pages = phase.pages
        if pages is not None:
            detail: dict[str, Any] = {
                "inputs": [{"file_name": "document.pdf", "file_id": str(derived_id("file:" + job.seed))}],
                "outputs": [
                    {"file_name": name, "file_id": str(derived_id(f"output:{job.seed}:{i}"))}
                    for i, name in enumerate(phase.outputs)
                ],
                "state": _DETAIL_STATE.get(state, "Running"),
                "total_pages": pages.total,
                "pages_processed": pages.processed,
                "pages_succeeded": pages.succeeded,
                "pages_failed": pages.failed,
                "error_message": phase.error or "",
                "error_code": phase.error_code,
            }
            if pages.errors:
                detail["page_errors"] = [
                    {"page_number": e.page, "error_code": e.code, "error_message": e.message} for e in pages.errors
                ]
            values["job_details"] = [detail]
        return values


SIM = Sarvam()


def _pages(processed: int, succeeded: int, failed: int = 0, errors: tuple[PageFailure, ...] = ()) -> PageCounts:
    return PageCounts(total=4, processed=processed, succeeded=succeeded, failed=failed, errors=errors)


_ALL_BAD = tuple(
    PageFailure(page=n, code="PAGE_PROCESSING_FAILED", message=f"Page {n} could not be read") for n in range(1, 5)
)
_PENDING, _RUNNING = Phase(state="Pending", pages=_pages(0, 0)), Phase(state="Running", pages=_pages(2, 2))
SCRIPTS = scripts(
    ready(
        "happy_path",
        "Pending, Running (2 then 3 of 4 pages), Completed with an output",
        _PENDING,
        _RUNNING,
        Phase(state="Running", pages=_pages(3, 3)),
        Phase(state="Completed", pages=_pages(4, 4), outputs=("output.zip",)),
    ),
    ready(
        "failure",
        "Pending, Running, Failed: every page failed",
        _PENDING,
        Phase(state="Running", pages=_pages(2, 0, 2, _ALL_BAD[:2])),
        Phase(
            state="Failed",
            pages=_pages(4, 0, 4, _ALL_BAD),
            error="All pages failed to process",
            error_code="ALL_PAGES_FAILED",
        ),
    ),
    ready(
        "partial_success",
        "Pending, Running, PartiallyCompleted: page 3 failed, 3 of 4 succeeded",
        _PENDING,
        _RUNNING,
        Phase(
            state="PartiallyCompleted",
            pages=_pages(4, 3, 1, _ALL_BAD[2:3]),
            error="1 of 4 pages failed",
            error_code="PARTIAL_FAILURE",
            outputs=("output.zip",),
        ),
    ),
    ready("stuck_accepted", "Accepted forever: the job waits for its file upload", Phase(state="Accepted")),
    unknown_state("Paused", _PENDING, _RUNNING, pages=_pages(2, 2)),
)
