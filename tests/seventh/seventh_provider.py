"""Seventh (a test fixture, not a real provider): ``JobStatus`` of ``GET /v2/jobs/{job_id}``.

What ``docstatus/_providers/<name>.py`` is for a built-in provider, for the small provider of
``specs/seventh/openapi.yaml`` (issue 22's fixture): everything docstatus needs to know about
it, in one module, from the client generated from that spec (``docstatus_seventh_client``,
which the tests generate with ``codegen/generate.py`` before importing this module). Register
it with ``docstatus._registry.register(module)``.

queued -> queued; running -> running; succeeded -> succeeded; failed -> failed with its
``message``. ``percent`` is a whole percentage: divided by 100. Each of ``outputs`` is an output
of that name (the spec says no more: no URI is guessed). Ids are case-insensitive here, kept
in lower case (``canonical_id``), a rule no built-in provider has. No timestamps or pages.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from docstatus._common import (
    Malformed,
    absent,
    enum_value,
    error_info,
    finish_progress,
    from_percent,
    lookups,
    pick_job_id,
    text,
)
from docstatus._providers._kit import Demo, status_operation
from docstatus._status import JobStatus, Output, State, new_output, new_status
from docstatus_seventh_client.models.job_status import JobStatus as SeventhStatus

if TYPE_CHECKING:
    from collections.abc import Mapping

PROVIDER: Final = "seventh"
#: The reference form: one id, case-insensitive, kept in lower case.
FORM: Final = "seventh:<job_id>"
ID_PARTS: Final = 1
canonical_id: Final = str.lower
DEFAULT_BASE_URL: Final = "https://api.seventh.invalid"
OPTIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType({})
CLIENT: Final = "docstatus_seventh_client"
operation: Final = status_operation(CLIENT, "job_id")
ACTION_GRACE: Final = 0.0
NOT_FOUND_GRACE: Final = 0.0
DEMO: Final = Demo(script="happy_path", step=1.0, shows="succeeds after running, with a file", ends=State.SUCCEEDED)
MODEL: Final = SeventhStatus
#: Every model a 200 body parses into.
MODELS: Final = (SeventhStatus,)
#: A decoded 200 body -> its model (raises on a body that is not the documented one).
from_dict: Final = SeventhStatus.from_dict
#: The body field holding the job id (``parse(..., job_id=)`` fills it in when absent).
ID_FIELD: Final = "job_id"
#: Documented ``state`` values -> ``State``.
STATES: Final[Mapping[str, State]] = MappingProxyType(
    {
        "queued": State.QUEUED,
        "running": State.RUNNING,
        "succeeded": State.SUCCEEDED,
        "failed": State.FAILED,
    }
)
_match, _EXACT, _NAMES = lookups(PROVIDER, STATES)  # see lookups


def _outputs(names: Any) -> tuple[Output, ...]:
    if absent(names):
        return ()
    if not isinstance(names, list):
        raise Malformed(f"outputs is {type(names).__name__}, not an array")
    return tuple(Output(name=name) for item in names if (name := text(item, "outputs[]")) is not None)


def normalize(model: SeventhStatus, *, job_id: str | None = None) -> JobStatus:
    """Map a parsed Seventh status; ``job_id`` is used only when the body's is empty."""
    raw = enum_value(model.state, "state")
    state = _match(raw)
    return JobStatus(
        provider=PROVIDER,  # type: ignore[arg-type]  # a registered provider: not in the built-ins' Literal
        job_id=pick_job_id(model.job_id, job_id, "job_id"),
        state=state,
        provider_state=raw,
        progress=finish_progress(state, from_percent(model.percent, "percent")),
        error=error_info(None, model.message, "message"),
        outputs=_outputs(model.outputs),
        model=model,
    )


def fast(data: Mapping[str, Any], job_id: str | None, model: Any) -> JobStatus | None:
    """``normalize`` read from the decoded JSON (``parse``'s fast path); ``None`` where the model
    path must decide."""
    raw = data["state"]
    names = data.get("outputs")
    if type(raw) is not str or "job_id" not in data or not (names is None or type(names) is list):
        return None
    if names and not all(type(name) is str for name in names):
        return None
    state = _EXACT.get(raw) or _match(raw)
    return new_status(
        provider=PROVIDER,
        job_id=pick_job_id(data["job_id"], job_id, "job_id"),
        state=state,
        provider_state=_NAMES.get(raw, raw),
        progress=finish_progress(state, from_percent(data.get("percent"), "percent")),
        error=error_info(None, data.get("message"), "message"),
        outputs=tuple(new_output(name=name) for name in names or () if name and not name.isspace()),
        model=model,
    )
