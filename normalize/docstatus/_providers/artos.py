"""Artos: ``TaskStatusResponse`` of ``GET /api/v1/documents/status/{document_id}``.

Pending -> queued; Ingesting, Generating -> running (``step`` is that word); Ready ->
succeeded; Failed -> failed with its ``error``. ``progress`` is a percentage (documented as
"reserved for future use"): divided by 100 when present. No timestamps, pages or outputs.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from docstatus_artos_client.models.task_status_response import TaskStatusResponse

from docstatus._common import (
    enum_value,
    error_info,
    finish_progress,
    fold,
    from_percent,
    lookups,
    pick_job_id,
)
from docstatus._providers._kit import Demo, as_given, one_model, status_operation
from docstatus._status import JobStatus, State, new_status

if TYPE_CHECKING:
    from collections.abc import Mapping

PROVIDER: Final = "artos"
#: The reference form: one id, kept as given.
FORM: Final = "artos:<document_id>"
ID_PARTS: Final = 1
canonical_id: Final = as_given
DEFAULT_BASE_URL: Final = "https://api.artosai.com"
OPTIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType({})
CLIENT: Final = "docstatus_artos_client"
operation: Final = status_operation(CLIENT, "document_id")
ACTION_GRACE: Final = 0.0
NOT_FOUND_GRACE: Final = 0.0
DEMO: Final = Demo(script="happy_path", step=3.0, shows="succeeds after Ingesting and Generating", ends=State.SUCCEEDED)
#: Every 200 body parses into one model.
MODEL, MODELS, from_dict = one_model(TaskStatusResponse)
#: The body field holding the job id (``parse(..., job_id=)`` fills it in when absent).
ID_FIELD: Final = "task_id"
#: Documented ``status`` values -> ``State``.
STATES: Final[Mapping[str, State]] = MappingProxyType(
    {
        "Pending": State.QUEUED,
        "Ingesting": State.RUNNING,
        "Generating": State.RUNNING,
        "Ready": State.SUCCEEDED,
        "Failed": State.FAILED,
    }
)
_match, _EXACT, _NAMES = lookups(PROVIDER, STATES)  # see lookups
#: States whose name is also the step under way, by folded value -> documented spelling.
_STEPS: Final = MappingProxyType({"ingesting": "Ingesting", "generating": "Generating"})
_STEPS_EXACT: Final = {"Ingesting": "Ingesting", "Generating": "Generating"}  # the fast path's first lookup


def normalize(model: TaskStatusResponse, *, job_id: str | None = None) -> JobStatus:
    """Map a parsed Artos status; ``job_id`` is used only when ``task_id`` is empty."""
    raw = enum_value(model.status, "status")
    state = _match(raw)
    step = _STEPS.get(fold(raw)) if state is State.RUNNING else None
    return JobStatus(
        provider=PROVIDER,
        job_id=pick_job_id(model.task_id, job_id, "task_id"),
        state=state,
        provider_state=raw,
        progress=finish_progress(state, from_percent(model.progress, "progress")),
        step=step,
        error=error_info(None, model.error, "error"),
        model=model,
    )


def fast(data: Mapping[str, Any], job_id: str | None, model: Any) -> JobStatus | None:
    """``normalize`` read from the decoded JSON (``parse``'s fast path); ``None`` where the model
    path must decide."""
    raw = data["status"]
    if type(raw) is not str or "task_id" not in data:
        return None
    state = _EXACT.get(raw) or _match(raw)
    return new_status(
        provider=PROVIDER,
        job_id=pick_job_id(data["task_id"], job_id, "task_id"),
        state=state,
        provider_state=_NAMES.get(raw, raw),
        progress=finish_progress(state, from_percent(data.get("progress"), "progress")),
        step=(_STEPS_EXACT.get(raw) or _STEPS.get(fold(raw))) if state is State.RUNNING else None,
        error=error_info(None, data.get("error"), "error"),
        model=model,
    )
