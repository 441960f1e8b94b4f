"""Sarvam Document AI: ``DocAiJobStatusResponse`` of ``GET /doc-ai/v1/job/{job_id}/status``.

pending -> queued; running -> running; completed -> succeeded; partially_completed ->
partially_succeeded; failed -> failed; rejected -> failed (rejected before processing: terminal,
nothing was produced); accepted (Split and Classify jobs, when created) -> queued. Choices and
sources: specs/sarvam_docai/NOTES.md.

``pages`` is ``usage`` (``None`` when the body has no usage or every count is absent); progress
is ``pages_processed / pages_total`` when the total is known and above 0, else the Split/Classify
``progress`` number (at most 1: a fraction; above 1: a percentage), else ``None``. ``phase``
(Split/Classify) is the ``step``. The body carries no error message and no outputs (those come
from the results and download-url endpoints), so ``error`` is ``None`` and ``outputs`` empty.
Timestamps are plain strings in the spec: one that is not ISO 8601 is ``None``, not a failure.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from docstatus_sarvam_docai_client.models.doc_ai_job_status_response import DocAiJobStatusResponse
from docstatus_sarvam_docai_client.types import Unset

from docstatus._common import (
    Malformed,
    clamp,
    count,
    enum_value,
    finish_progress,
    lookups,
    pick_job_id,
    text,
    utc,
)
from docstatus._providers._kit import Demo, as_given, one_model, status_operation
from docstatus._status import JobStatus, Pages, State, new_pages, new_status

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

PROVIDER: Final = "sarvam_docai"
#: The reference form: one id, kept exactly as given, a UUID in any spelling too
#: (specs/sarvam_docai/NOTES.md row 4: a plain string).
FORM: Final = "sarvam_docai:<job_id>"
ID_PARTS: Final = 1
canonical_id: Final = as_given
DEFAULT_BASE_URL: Final = "https://api.sarvam.ai"
OPTIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType({})
CLIENT: Final = "docstatus_sarvam_docai_client"
operation: Final = status_operation(CLIENT, "job_id")
ACTION_GRACE: Final = 0.0
NOT_FOUND_GRACE: Final = 0.0
DEMO: Final = Demo(
    script="happy_path", step=2.0, shows="Document AI: page counts as progress, completed", ends=State.SUCCEEDED
)
#: Every 200 body parses into one model.
MODEL, MODELS, from_dict = one_model(DocAiJobStatusResponse)
#: The body field holding the job id (``parse(..., job_id=)`` fills it in when absent).
ID_FIELD: Final = "job_id"
#: Documented ``status`` values -> ``State``.
STATES: Final[Mapping[str, State]] = MappingProxyType(
    {
        "pending": State.QUEUED,
        "running": State.RUNNING,
        "completed": State.SUCCEEDED,
        "partially_completed": State.PARTIALLY_SUCCEEDED,
        "failed": State.FAILED,
        "rejected": State.FAILED,
        "accepted": State.QUEUED,
    }
)
_match, _EXACT, _NAMES = lookups(PROVIDER, STATES)  # see lookups


def _stamp(value: Any, field: str) -> datetime | None:
    """A timestamp string as UTC; a string that is not ISO 8601 is ``None`` (the spec says only
    "string"); another JSON type is malformed."""
    try:
        return utc(value, field)
    except Malformed:
        if isinstance(value, str):
            return None
        raise


def _progress(value: Any) -> float | None:
    """The undocumented Split/Classify ``progress``: a number at most 1 is a fraction, above 1 a
    percentage; anything else (absent, text, an object) is unknown."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        fraction = float(value)
    except OverflowError:  # an integer beyond float range
        return 1.0 if value > 0 else 0.0
    return clamp(fraction if fraction <= 1.0 else fraction / 100.0)


def normalize(model: DocAiJobStatusResponse, *, job_id: str | None = None) -> JobStatus:
    """Map a parsed Document AI status; ``job_id`` is used only when the body's is empty."""
    raw = enum_value(model.status, "status")
    state = _match(raw)
    text(model.pipeline, "pipeline")  # strings in the spec, unused: checked, not mapped
    text(model.type_, "type")

    pages: Pages | None = None
    progress: float | None = None
    usage = model.usage
    if usage is not None and not isinstance(usage, Unset):
        total = count(usage.pages_total, "usage.pages_total")
        processed = count(usage.pages_processed, "usage.pages_processed")
        succeeded = count(usage.pages_succeeded, "usage.pages_succeeded")
        failed = count(usage.pages_failed, "usage.pages_failed")
        if (total, processed, succeeded, failed) != (None, None, None, None):
            pages = Pages(total=total, processed=processed, succeeded=succeeded, failed=failed)
        if total is not None and processed is not None and total > 0:
            progress = 1.0 if processed >= total else clamp(processed / total)
    if progress is None:
        progress = _progress(model.progress)
    phase = model.phase

    return JobStatus(
        provider=PROVIDER,
        job_id=pick_job_id(model.job_id, job_id, "job_id"),
        state=state,
        provider_state=raw,
        progress=finish_progress(state, progress),
        step=text(phase, "phase") if isinstance(phase, str) else None,
        created_at=_stamp(model.created_at, "created_at"),
        updated_at=_stamp(model.updated_at, "updated_at"),
        pages=pages,
        model=model,
    )


def fast(data: Mapping[str, Any], job_id: str | None, model: Any) -> JobStatus | None:
    """``normalize`` read from the decoded JSON (``parse``'s fast path); ``None`` where the model
    path must decide."""
    raw = data["status"]
    if type(raw) is not str or "job_id" not in data:
        return None
    state = _EXACT.get(raw) or _match(raw)
    text(data.get("pipeline"), "pipeline")
    text(data.get("type"), "type")
    pages: Pages | None = None
    progress: float | None = None
    if "usage" in data:
        usage = data["usage"]
        if type(usage) is not dict:
            return None
        total = count(usage.get("pages_total"), "")
        processed = count(usage.get("pages_processed"), "")
        succeeded = count(usage.get("pages_succeeded"), "")
        failed = count(usage.get("pages_failed"), "")
        if (total, processed, succeeded, failed) != (None, None, None, None):
            pages = new_pages(total=total, processed=processed, succeeded=succeeded, failed=failed)
        if total is not None and processed is not None and total > 0:
            progress = 1.0 if processed >= total else clamp(processed / total)
    if progress is None:
        progress = _progress(data.get("progress"))
    phase = data.get("phase")
    return new_status(
        provider=PROVIDER,
        job_id=pick_job_id(data["job_id"], job_id, "job_id"),
        state=state,
        provider_state=_NAMES.get(raw, raw),
        progress=finish_progress(state, progress),
        step=text(phase, "phase") if isinstance(phase, str) else None,
        created_at=_stamp(data.get("created_at"), "created_at"),
        updated_at=_stamp(data.get("updated_at"), "updated_at"),
        pages=pages,
        model=model,
    )
