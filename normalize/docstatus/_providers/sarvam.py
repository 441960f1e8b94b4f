"""Sarvam: ``DocDigitizationJobStatusResponse`` of ``GET /doc-digitization/job/v1/{job_id}/status``.

Accepted -> action_required (the page: "Job created, awaiting file upload"); Pending -> queued;
Running -> running; Completed -> succeeded; PartiallyCompleted -> partially_succeeded; Failed ->
failed.

``Accepted`` is also what ``/start`` answers and what the SDK's waiter polls through, so waiting
does not raise ``ActionRequired`` on it at once: it polls through it for
``WaitPolicy.action_grace`` (by default ``ACTION_GRACE`` below, 30 s from the start of the
wait; see ``specs/sarvam/NOTES.md`` row 6). The mapping here stays the documented one.

Pages are summed over ``job_details`` (``None`` when there are none); progress is
processed/total when total > 0; every detail's ``page_errors`` is kept. The error is the
job-level ``error_message``, else the first detail with an error code or message. Outputs are
``job_details[].outputs`` (name = the output's ``file_name``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from docstatus_sarvam_client.models.doc_digitization_job_status_response import (
    DocDigitizationJobStatusResponse,
)
from docstatus_sarvam_client.types import Unset

from docstatus._common import (
    Malformed,
    absent,
    clamp,
    count,
    enum_value,
    error_info,
    finish_progress,
    integer,
    lookups,
    pick_job_id,
    shared,
    text,
    utc,
)
from docstatus._providers._kit import Demo, one_model, status_operation
from docstatus._status import (
    ErrorInfo,
    JobStatus,
    Output,
    PageError,
    Pages,
    State,
    new_output,
    new_page_error,
    new_pages,
    new_status,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

PROVIDER: Final = "sarvam"
#: The reference form: one id (a UUID in practice, kept canonical: ``canonical_id``).
FORM: Final = "sarvam:<job_id>"
ID_PARTS: Final = 1
DEFAULT_BASE_URL: Final = "https://api.sarvam.ai"
OPTIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType({})
CLIENT: Final = "docstatus_sarvam_client"
operation: Final = status_operation(CLIENT, "job_id")
#: ``Accepted`` (``action_required``) is polled through for this long from the start of a wait:
#: ``/start`` answers it, and the SDK's waiter polls through it (``specs/sarvam/NOTES.md`` row 6).
ACTION_GRACE: Final = 30.0
NOT_FOUND_GRACE: Final = 0.0
DEMO: Final = Demo(
    script="partial_success",
    step=4.0,
    shows="3 of 4 pages succeed: partially succeeded",
    ends=State.PARTIALLY_SUCCEEDED,
    ready=("happy_path", "failure", "partial_success", "stuck_accepted"),
)


def canonical_id(job_id: str) -> str:
    """The stored form of a job id. Ids are UUIDs in practice ("Job identifier (UUID)"), and a
    UUID in any spelling ``uuid.UUID`` reads (upper case, no hyphens, braces, ``urn:uuid:``) is
    kept in its canonical lower-case hyphenated form, so the same job always has the same
    reference. Any other id is kept as given: the SDK types the id as a plain string and the spec
    no longer says ``format: uuid`` (specs/sarvam/patches.yaml), so the server, not docstatus,
    decides."""
    try:
        return str(uuid.UUID(job_id))
    except ValueError:  # not a UUID: kept as given
        return job_id


#: Every 200 body parses into one model.
MODEL, MODELS, from_dict = one_model(DocDigitizationJobStatusResponse)
#: The body field holding the job id (``parse(..., job_id=)`` fills it in when absent).
ID_FIELD: Final = "job_id"
#: Documented ``job_state`` values -> ``State``.
STATES: Final[Mapping[str, State]] = MappingProxyType(
    {
        "Accepted": State.ACTION_REQUIRED,
        "Pending": State.QUEUED,
        "Running": State.RUNNING,
        "Completed": State.SUCCEEDED,
        "PartiallyCompleted": State.PARTIALLY_SUCCEEDED,
        "Failed": State.FAILED,
    }
)
_match, _EXACT, _NAMES = lookups(PROVIDER, STATES)  # see lookups


def normalize(model: DocDigitizationJobStatusResponse, *, job_id: str | None = None) -> JobStatus:
    """Map a parsed Sarvam status (the body's ``job_id`` wins; ``job_id`` stands in for a blank one)."""
    raw = enum_value(model.job_state, "job_state")
    state = _match(raw)
    details = () if absent(model.job_details) else model.job_details
    if not isinstance(details, list | tuple):
        raise Malformed(f"job_details is {type(details).__name__}, not an array")

    pages: Pages | None = None
    progress: float | None = None
    error: ErrorInfo | None = error_info(None, model.error_message, "error_message")
    outputs: list[Output] = []
    if details:
        total = processed = succeeded = failed = 0
        page_errors: list[PageError] = []
        for detail in details:
            total += count(detail.total_pages, "job_details[].total_pages") or 0
            processed += count(detail.pages_processed, "job_details[].pages_processed") or 0
            succeeded += count(detail.pages_succeeded, "job_details[].pages_succeeded") or 0
            failed += count(detail.pages_failed, "job_details[].pages_failed") or 0
            if not isinstance(detail.page_errors, Unset):
                page_errors.extend(
                    PageError(
                        page=integer(e.page_number, "page_errors[].page_number"),
                        code=text(e.error_code, "page_errors[].error_code"),
                        message=text(e.error_message, "page_errors[].error_message"),
                    )
                    for e in detail.page_errors
                )
            if error is None:
                error = error_info(detail.error_code, detail.error_message, "job_details[].error")
            for o in detail.outputs:
                name = text(o.file_name, "job_details[].outputs[].file_name")
                if name is not None:
                    outputs.append(Output(name=name))
        pages = Pages(
            total=total,
            processed=processed,
            succeeded=succeeded,
            failed=failed,
            errors=tuple(page_errors),
        )
        if total > 0:
            progress = 1.0 if processed >= total else clamp(processed / total)

    return JobStatus(
        provider=PROVIDER,
        job_id=pick_job_id(model.job_id, job_id, "job_id"),
        state=state,
        provider_state=raw,
        progress=finish_progress(state, progress),
        created_at=utc(model.created_at, "created_at"),
        updated_at=utc(model.updated_at, "updated_at"),
        error=error,
        pages=pages,
        outputs=tuple(outputs),
        model=model,
    )


def _files_ok(files: Any) -> bool:
    """``inputs``/``outputs`` as the model requires them: a list of objects with both fields."""
    if type(files) is not list:
        return False
    for f in files:  # noqa: SIM110  # a loop: all() over a generator costs 0.3 µs more, twice per body
        if type(f) is not dict or "file_name" not in f or "file_id" not in f:
            return False
    return True


def fast(data: Mapping[str, Any], job_id: str | None, model: Any) -> JobStatus | None:
    """``normalize`` read from the decoded JSON (``parse``'s fast path); ``None`` where the model
    path must decide."""
    raw = data["job_state"]
    created, updated = data["created_at"], data["updated_at"]
    if (
        type(raw) is not str
        or type(data["storage_container_type"]) is not str
        or type(created) is not str
        or type(updated) is not str
    ):
        return None
    body_id = data["job_id"]
    details = data.get("job_details", ())
    if type(details) is not list and details != ():
        return None
    state = _EXACT.get(raw) or _match(raw)
    pages: Pages | None = None
    progress: float | None = None
    error: ErrorInfo | None = error_info(None, data.get("error_message"), "error_message")
    outputs: list[Output] = []
    if details:
        total = processed = succeeded = failed = 0
        page_errors: list[PageError] = []
        for detail in details:
            if (
                type(detail) is not dict
                or type(detail["state"]) is not str
                or not _files_ok(detail["inputs"])
                or not _files_ok(detail["outputs"])
            ):
                return None
            total += count(detail.get("total_pages"), "") or 0
            processed += count(detail.get("pages_processed"), "") or 0
            succeeded += count(detail.get("pages_succeeded"), "") or 0
            failed += count(detail.get("pages_failed"), "") or 0
            errors = detail.get("page_errors", ())
            if type(errors) is not list and errors != ():
                return None
            for e in errors:
                if type(e) is not dict:
                    return None
                page_errors.append(
                    new_page_error(
                        page=integer(e["page_number"], ""),
                        code=text(e["error_code"], ""),
                        message=text(e["error_message"], ""),
                    )
                )
            if error is None:
                error = error_info(detail.get("error_code"), detail.get("error_message"), "")
            for o in detail["outputs"]:
                name = text(o["file_name"], "")
                if name is not None:
                    outputs.append(new_output(name=name))
        pages = new_pages(
            total=total, processed=processed, succeeded=succeeded, failed=failed, errors=tuple(page_errors)
        )
        if total > 0:
            progress = 1.0 if processed >= total else clamp(processed / total)
    return new_status(
        provider=PROVIDER,
        job_id=shared(pick_job_id(body_id, None, "job_id"), job_id),
        state=state,
        provider_state=_NAMES.get(raw, raw),
        progress=finish_progress(state, progress),
        created_at=utc(datetime.fromisoformat(created), ""),
        updated_at=utc(datetime.fromisoformat(updated), ""),
        error=error,
        pages=pages,
        outputs=tuple(outputs),
        model=model,
    )
