"""Neurolinker: ``DocumentStatusResponse`` of ``GET /v1/document-status/{document_id}``.

pending -> queued; processing -> running; completed -> succeeded; failed -> failed.
``pages.total`` is ``total_pages`` (``pages`` is ``None`` without it). Outputs: the results'
``storage_path`` (name ``"storage_path"``), each of ``cropped_images`` (name = the file name; the
documentation does not say where they are stored, so no URI is guessed) and
``document_page_url`` (name ``"document_page_url"``). Progress is unknowable until completed.
The body has no error field: a failed document has ``error`` ``None``. ``results`` may be
``null`` (no outputs from it). The same status wrapped as ``{"data": {...}}`` (which
neurolinker-sdk 0.2.2 also accepts) is unwrapped.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from docstatus_neurolinker_client.models.document_status_envelope import DocumentStatusEnvelope
from docstatus_neurolinker_client.models.document_status_response import DocumentStatusResponse
from docstatus_neurolinker_client.types import Unset

from docstatus._common import (
    Malformed,
    absent,
    count,
    enum_value,
    envelope_or,
    finish_progress,
    iso_stamp,
    lookups,
    pick_job_id,
    text,
    utc,
)
from docstatus._providers._kit import Demo, as_given, status_operation
from docstatus._status import JobStatus, Output, Pages, State, new_output, new_pages, new_status

if TYPE_CHECKING:
    from collections.abc import Mapping

PROVIDER: Final = "neurolinker"
#: The reference form: one id, kept as given.
FORM: Final = "neurolinker:<document_id>"
ID_PARTS: Final = 1
canonical_id: Final = as_given
DEFAULT_BASE_URL: Final = "https://neurolinker.api.ainexxo.com"
OPTIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType({})
CLIENT: Final = "docstatus_neurolinker_client"
operation: Final = status_operation(CLIENT, "document_id")
ACTION_GRACE: Final = 0.0
#: A 404 is retried for this long from the start of a wait, until a status comes: the provider
#: may not know a job it has just been given, and its SDK polls through 404s after submission
#: (``specs/neurolinker/NOTES.md`` row 17).
NOT_FOUND_GRACE: Final = 30.0
DEMO: Final = Demo(
    script="happy_path",
    step=3.5,
    shows="one 503 and one dropped connection, retried",
    ends=State.SUCCEEDED,
    faults=(("error", MappingProxyType({"status": 503})), ("drop", MappingProxyType({}))),
)
MODEL: Final = DocumentStatusResponse
#: Every model a 200 body parses into: the bare status, or the status under ``data``.
MODELS: Final = (DocumentStatusResponse, DocumentStatusEnvelope)
#: The body field holding the job id (``parse(..., job_id=)`` fills it in when absent).
ID_FIELD: Final = "document_id"
#: Documented ``status`` values -> ``State``.
STATES: Final[Mapping[str, State]] = MappingProxyType(
    {
        "pending": State.QUEUED,
        "processing": State.RUNNING,
        "completed": State.SUCCEEDED,
        "failed": State.FAILED,
    }
)
_match, _EXACT, _NAMES = lookups(PROVIDER, STATES)  # see lookups


#: A decoded 200 body -> its model: the envelope when it has ``data`` and no ``status``.
from_dict: Final = envelope_or(DocumentStatusEnvelope, DocumentStatusResponse)


def normalize(model: DocumentStatusResponse | DocumentStatusEnvelope, *, job_id: str | None = None) -> JobStatus:
    """Map a parsed Neurolinker status; ``job_id`` is used only when ``document_id`` is empty."""
    envelope = model
    if isinstance(model, DocumentStatusEnvelope):
        model = model.data
    raw = enum_value(model.status, "status")
    state = _match(raw)
    total = count(model.total_pages, "total_pages")

    outputs: list[Output] = []
    results = model.results
    if results is not None and not isinstance(results, Unset):
        storage_path = text(results.storage_path, "results.storage_path")
        if storage_path is not None:
            outputs.append(Output(name="storage_path", uri=storage_path))
        images = results.cropped_images
        if not absent(images):
            if not isinstance(images, list):
                raise Malformed(f"results.cropped_images is {type(images).__name__}, not an array")
            for image in images:
                name = text(image, "results.cropped_images[]")
                if name is not None:
                    outputs.append(Output(name=name))
    page_url = text(model.document_page_url, "document_page_url")
    if page_url is not None:
        outputs.append(Output(name="document_page_url", uri=page_url))

    return JobStatus(
        provider=PROVIDER,
        job_id=pick_job_id(model.document_id, job_id, "document_id"),
        state=state,
        provider_state=raw,
        progress=finish_progress(state, None),
        started_at=utc(model.started_at, "started_at"),
        completed_at=utc(model.completed_at, "completed_at"),
        pages=None if total is None else Pages(total=total),
        outputs=tuple(outputs),
        model=envelope,
    )


def fast(data: Mapping[str, Any], job_id: str | None, model: Any) -> JobStatus | None:
    """``normalize`` read from the decoded JSON (``parse``'s fast path); ``None`` where the model
    path must decide."""
    if "data" in data and "status" not in data:
        return None  # the envelope
    raw = data["status"]
    if type(raw) is not str or "success" not in data or "document_id" not in data:
        return None
    state = _EXACT.get(raw) or _match(raw)
    total = count(data.get("total_pages"), "total_pages")
    outputs: list[Output] = []
    results = data.get("results")
    if results is not None:
        if type(results) is not dict:
            return None
        storage_path = text(results.get("storage_path"), "")
        if storage_path is not None:
            outputs.append(new_output(name="storage_path", uri=storage_path))
        images = results.get("cropped_images")
        if images is not None:
            if type(images) is not list:
                return None
            for image in images:
                if type(image) is str and image and not image.isspace():  # text(), inlined
                    outputs.append(new_output(name=image))
                elif text(image, "") is not None:  # a str subclass: never from json.loads
                    return None
    page_url = text(data.get("document_page_url"), "")
    if page_url is not None:
        outputs.append(new_output(name="document_page_url", uri=page_url))
    return new_status(
        provider=PROVIDER,
        job_id=pick_job_id(data["document_id"], job_id, "document_id"),
        state=state,
        provider_state=_NAMES.get(raw, raw),
        progress=finish_progress(state, None),
        started_at=iso_stamp(data.get("started_at")),
        completed_at=iso_stamp(data.get("completed_at")),
        pages=None if total is None else new_pages(total=total),
        outputs=tuple(outputs),
        model=model,
    )
