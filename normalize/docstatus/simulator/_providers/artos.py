"""Artos, simulated: ``GET /api/v1/documents/status/{document_id}`` with a Bearer token.

Where its spec is silent: a missing or wrong token gets 401 ``{"detail": "..."}`` (the FastAPI
shape, the defaults of ``ProviderSim``); its spec documents a 404 and a 500 without a body, and
both send the same ``{"detail": ...}`` (a body where the spec shows none is not a
contradiction). A phase's ``progress`` is served as a whole percentage, its ``error`` as
``error``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docstatus_simulator_models import artos as models  # type: ignore[import-untyped,unused-ignore]

from docstatus.simulator._jobs import Phase
from docstatus.simulator._render import ProviderSim
from docstatus.simulator._scripts import ready, scripts, unknown_state

if TYPE_CHECKING:
    from docstatus.simulator._render import At


class Artos(ProviderSim):
    name = "artos"
    route = ("api", "v1", "documents", "status", None)
    token = "sim-artos-token"  # noqa: S105  # a fake credential: what the simulator accepts
    model = models.TaskStatusResponse

    def values(self, at: At) -> dict[str, Any]:
        phase = at.phase
        return {
            "task_id": at.job.job_id,
            "status": phase.state,
            "progress": None if phase.progress is None else round(phase.progress * 100),
            "error": phase.error,
        }


SIM = Artos()

_PENDING, _INGESTING = Phase(state="Pending"), Phase(state="Ingesting")
SCRIPTS = scripts(
    ready(
        "happy_path",
        "Pending, Ingesting, Generating, Ready",
        _PENDING,
        _INGESTING,
        Phase(state="Generating"),
        Phase(state="Ready"),
    ),
    ready(
        "failure",
        "Pending, Ingesting, Failed with an error",
        _PENDING,
        _INGESTING,
        Phase(state="Failed", error="Template rendering failed: section 'Summary' has no source"),
    ),
    unknown_state("Archived", _PENDING, _INGESTING),
)
