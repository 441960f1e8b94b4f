"""markdown2pdf: ``JobStatus`` of ``GET /job/{job_id}/status``.

Not Started -> queued; Processing -> running; Done -> succeeded; Error -> failed, its message
from ``status_meta``. ``progress`` is already a fraction (clamped); ``status_meta`` -> step;
``path`` -> one output named ``"metadata"``: on Done, ``path`` is the URL of the output's
metadata, whose GET answers ``{"url": <the PDF's URL>}`` (both official SDKs read it so; see
specs/markdown2pdf/NOTES.md); ``docstatus.resolve_outputs`` turns it into the PDF's URL. No
timestamps or pages.
"""

from __future__ import annotations

import json
import re
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from docstatus_markdown2pdf_client.models.job_status import JobStatus as M2PJobStatus
from docstatus_markdown2pdf_client.models.output_metadata import OutputMetadata

from docstatus._common import (
    Malformed,
    enum_value,
    error_info,
    finish_progress,
    from_fraction,
    lookups,
    shared,
    text,
)
from docstatus._providers._kit import Demo, as_given, one_model, status_operation
from docstatus._status import JobStatus, Output, State, new_output, new_status

if TYPE_CHECKING:
    from collections.abc import Mapping

PROVIDER: Final = "markdown2pdf"
#: The reference form: one id, kept as given (not checked as a UUID).
FORM: Final = "markdown2pdf:<job_id>"
ID_PARTS: Final = 1
canonical_id: Final = as_given
DEFAULT_BASE_URL: Final = "https://api.markdown2pdf.ai"
OPTIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType({})
CLIENT: Final = "docstatus_markdown2pdf_client"
operation: Final = status_operation(CLIENT, "job_id")
ACTION_GRACE: Final = 0.0
NOT_FOUND_GRACE: Final = 0.0
DEMO: Final = Demo(script="failure", step=3.0, shows="fails: the LaTeX does not compile", ends=State.FAILED)
#: Every 200 body parses into one model.
MODEL, MODELS, from_dict = one_model(M2PJobStatus)
#: The body field holding the job id (``parse(..., job_id=)`` fills it in when absent).
ID_FIELD: Final = "id"
#: Documented ``status`` values -> ``State``.
STATES: Final[Mapping[str, State]] = MappingProxyType(
    {
        "Not Started": State.QUEUED,
        "Processing": State.RUNNING,
        "Done": State.SUCCEEDED,
        "Error": State.FAILED,
    }
)
_match, _EXACT, _NAMES = lookups(PROVIDER, STATES)  # see lookups
#: The name of the output whose URI is the metadata URL (``path``), not the file
#: (``resolve_output`` reads what it answers).
METADATA: Final = "metadata"


def resolve_output(content: bytes) -> Output:
    """The file the metadata URL's answer names: ``{"url": <the PDF's URL>}``, as both official
    SDKs read it -> ``Output(name="pdf", uri=<the PDF's URL>)`` (``docstatus.resolve_outputs``
    GETs the URL). ``Malformed`` with the reason for any other answer."""
    try:
        url = OutputMetadata.from_dict(json.loads(content)).url
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        why = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise Malformed(f"the output metadata is not {{'url': ...}} ({type(exc).__name__}: {why})") from None
    if isinstance(url, str) and url.strip():
        return Output(name="pdf", uri=url.strip())
    raise Malformed("the output metadata has no 'url' string")


def normalize(model: M2PJobStatus, *, job_id: str | None = None) -> JobStatus:  # noqa: ARG001  # one signature for all
    """Map a parsed markdown2pdf status (the body always carries its ``id``; ``job_id`` is unused)."""
    raw = enum_value(model.status, "status")
    state = _match(raw)
    meta = text(model.status_meta, "status_meta")
    path = text(model.path, "path")
    return JobStatus(
        provider=PROVIDER,
        job_id=str(model.id),
        state=state,
        provider_state=raw,
        progress=finish_progress(state, from_fraction(model.progress, "progress")),
        step=meta,
        error=error_info(None, meta, "status_meta") if state is State.FAILED else None,
        outputs=() if path is None else (Output(name=METADATA, uri=path),),
        model=model,
    )


#: An id whose ``str(UUID(id))`` is itself (what the model path reports as the job id).
_CANONICAL_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def fast(data: Mapping[str, Any], job_id: str | None, model: Any) -> JobStatus | None:
    """``normalize`` read from the decoded JSON (``parse``'s fast path); ``None`` where the model
    path must decide."""
    raw, body_id = data["status"], data["id"]
    if type(raw) is not str or type(body_id) is not str or _CANONICAL_UUID.fullmatch(body_id) is None:
        return None
    state = _EXACT.get(raw) or _match(raw)
    meta = text(data.get("status_meta"), "")
    path = text(data.get("path"), "")
    return new_status(
        provider=PROVIDER,
        job_id=shared(body_id, job_id),
        state=state,
        provider_state=_NAMES.get(raw, raw),
        progress=finish_progress(state, from_fraction(data.get("progress"), "")),
        step=meta,
        error=error_info(None, meta, "") if state is State.FAILED else None,
        outputs=() if path is None else (new_output(name=METADATA, uri=path),),
        model=model,
    )
