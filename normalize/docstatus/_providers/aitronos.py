"""Aitronos: ``FileProcessingStatus`` of
``GET /v1/organizations/{organization_id}/stores/{store_id}/files/{file_id}/status`` (the page),
or the envelope ``{success, message, data: {status, error_message, processing_started_at,
processing_completed_at, ...}}`` of aitronos-sdk 5.0.0 (on either path; see
specs/aitronos/NOTES.md rows 16-18).

pending, queued -> queued; processing -> running; completed -> succeeded; failed -> failed.
``progress_percent`` / 100 -> progress; ``current_step`` -> step; ``error_message`` -> error.
The envelope's ``data`` has no progress or step; its ``processing_started_at`` /
``processing_completed_at`` are the times. The body carries no ids: the job id
(``org_id/store_id/file_id``) must come from the caller (``get_status`` passes the
reference's; ``parse`` needs ``job_id=``).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from docstatus_aitronos_client.models.file_processing_status import FileProcessingStatus
from docstatus_aitronos_client.models.processing_status_envelope import ProcessingStatusEnvelope

from docstatus._common import (
    enum_value,
    envelope_or,
    error_info,
    finish_progress,
    from_percent,
    iso_stamp,
    lookups,
    text,
    utc,
)
from docstatus._exceptions import InvalidJobRef
from docstatus._providers._kit import Demo, as_given
from docstatus._status import JobStatus, State, new_status

if TYPE_CHECKING:
    from collections.abc import Mapping

    from docstatus._refs import JobRef

PROVIDER: Final = "aitronos"
#: The reference form: three ``/``-separated parts, kept as given.
FORM: Final = "aitronos:<org_id>/<store_id>/<file_id>"
ID_PARTS: Final = 3
canonical_id: Final = as_given
DEFAULT_BASE_URL: Final = "https://api.aitronos.com"
#: ``auth``: "bearer" (the page's samples) or "api_key" (``X-API-Key``: the SDK and the current
#: vector-store pages); ``path``: "stores" (the page's) or "vector-stores" (the SDK's). The first of
#: each is the default. See specs/aitronos/NOTES.md rows 16-18.
OPTIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"auth": ("bearer", "api_key"), "path": ("stores", "vector-stores")}
)
CLIENT: Final = "docstatus_aitronos_client"
ACTION_GRACE: Final = 0.0
NOT_FOUND_GRACE: Final = 0.0
DEMO: Final = Demo(
    script="happy_path",
    step=2.5,
    shows="throttled: three 429s with Retry-After, honoured",
    ends=State.SUCCEEDED,
    faults=(("rate_limit", MappingProxyType({"retry_after": 2, "count": 3})),),
)


def operation(ref: JobRef, options: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """The generated status operation and its arguments: the page's path, or the SDK's under
    ``path="vector-stores"``."""
    org, store, file = ref.job_id.split("/")
    if options.get("path") == "vector-stores":
        return f"{CLIENT}.api.status.get_status_vector_stores", {
            "organization_id": org,
            "vector_store_id": store,
            "file_id": file,
        }
    return f"{CLIENT}.api.status.get_status", {"organization_id": org, "store_id": store, "file_id": file}


MODEL: Final = FileProcessingStatus
#: Every model a 200 body parses into: the page's bare body, or the SDK's envelope.
MODELS: Final = (FileProcessingStatus, ProcessingStatusEnvelope)
#: The body has no id field.
ID_FIELD: Final = None
#: Documented ``status`` values -> ``State`` (see specs/aitronos/NOTES.md row 4).
STATES: Final[Mapping[str, State]] = MappingProxyType(
    {
        "pending": State.QUEUED,
        "queued": State.QUEUED,
        "processing": State.RUNNING,
        "completed": State.SUCCEEDED,
        "failed": State.FAILED,
    }
)
_match, _EXACT, _NAMES = lookups(PROVIDER, STATES)  # see lookups


#: A decoded 200 body -> its model: the envelope when it has ``data`` and no ``status``.
from_dict: Final = envelope_or(ProcessingStatusEnvelope, FileProcessingStatus)


def normalize(model: FileProcessingStatus | ProcessingStatusEnvelope, *, job_id: str | None = None) -> JobStatus:
    """Map a parsed Aitronos status; ``job_id`` (``org_id/store_id/file_id``) is required."""
    if not job_id:
        raise InvalidJobRef("an Aitronos status body carries no ids: pass job_id='<org_id>/<store_id>/<file_id>'")
    progress: float | None = None
    step: str | None = None
    if isinstance(model, ProcessingStatusEnvelope):  # the SDK's envelope: no progress or step
        data = model.data
        raw = enum_value(data.status, "data.status")
        state = _match(raw)
        started = utc(data.processing_started_at, "data.processing_started_at")
        completed = utc(data.processing_completed_at, "data.processing_completed_at")
        error = error_info(None, data.error_message, "data.error_message")
    else:
        raw = enum_value(model.status, "status")
        state = _match(raw)
        progress = from_percent(model.progress_percent, "progress_percent")
        step = text(model.current_step, "current_step")
        started = utc(model.started_at, "started_at")
        completed = utc(model.completed_at, "completed_at")
        error = error_info(None, model.error_message, "error_message")
    return JobStatus(
        provider=PROVIDER,
        job_id=job_id,
        state=state,
        provider_state=raw,
        progress=finish_progress(state, progress),
        step=step,
        started_at=started,
        completed_at=completed,
        error=error,
        model=model,
    )


def fast(data: Mapping[str, Any], job_id: str | None, model: Any) -> JobStatus | None:
    """``normalize`` read from the decoded JSON (``parse``'s fast path); ``None`` where the model
    path must decide."""
    if not job_id or ("data" in data and "status" not in data):
        return None  # no id (normalize raises), or the envelope
    raw = data["status"]
    if type(raw) is not str:
        return None
    state = _EXACT.get(raw) or _match(raw)
    return new_status(
        provider=PROVIDER,
        job_id=job_id,
        state=state,
        provider_state=_NAMES.get(raw, raw),
        progress=finish_progress(state, from_percent(data.get("progress_percent"), "")),
        step=text(data.get("current_step"), ""),
        started_at=iso_stamp(data.get("started_at")),
        completed_at=iso_stamp(data.get("completed_at")),
        error=error_info(None, data.get("error_message"), ""),
        model=model,
    )
