"""The seventh provider, simulated: a provider module defined outside the package.

It is what ``docstatus/simulator/_providers/<name>.py`` is for a built-in provider, for the
small provider of ``specs/seventh/openapi.yaml`` (issue 22's fixture): ``SIM`` (its routes,
auth, default token, ids, error and status bodies) and ``SCRIPTS``. Its bodies are built from
the pydantic models generated from that spec (``seventh_simulator_models``, which the tests
generate before importing this module). Register it with
``docstatus.simulator._providers.register(module)``.

Where the fixture spec leaves a choice: every error (401, 404, the faults' statuses) is its
``ErrorEnvelope``; a phase's ``progress`` is served as ``percent`` (whole), its ``error`` as
``message``, its ``outputs`` as ``outputs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import seventh_simulator_models as models
from docstatus.simulator._jobs import Phase
from docstatus.simulator._render import ProviderSim, model_answer
from docstatus.simulator._scripts import ready, scripts, unknown_state

if TYPE_CHECKING:
    from docstatus.simulator._render import Answer, At, Headers

#: The error code of each status the simulator may answer with.
CODES = {401: "unauthorized", 404: "not_found", 429: "rate_limited"}


class Seventh(ProviderSim):
    name = "seventh"
    route = ("v2", "jobs", None)
    token = "sim-seventh-token"
    not_found_text = "no job {id}"
    model = models.JobStatus
    state_field = "state"

    def error(self, status: int, message: str, headers: Headers = ()) -> Answer:
        code = CODES.get(status, "server_error" if status >= 500 else "client_error")
        body = models.ErrorEnvelope(error=models.ErrorDetail(code=code, message=message))
        return model_answer(status, body, headers)

    def values(self, at: At) -> dict[str, Any]:
        phase = at.phase
        values: dict[str, Any] = {"job_id": at.job.job_id, "state": phase.state, "message": phase.error}
        if phase.progress is not None:
            values["percent"] = round(phase.progress * 100)
        if phase.outputs:
            values["outputs"] = list(phase.outputs)
        return values


SIM = Seventh()

_QUEUED, _RUNNING = Phase(state="queued", progress=0.0), Phase(state="running", progress=0.5)
SCRIPTS = scripts(
    ready(
        "happy_path",
        "queued, running (50 %), succeeded with a file",
        _QUEUED,
        _RUNNING,
        Phase(state="succeeded", progress=1.0, outputs=("out.json",)),
    ),
    ready(
        "failure",
        "queued, running, failed with a message",
        _QUEUED,
        _RUNNING,
        Phase(state="failed", progress=0.5, error="the input is not a document"),
    ),
    unknown_state("paused", _QUEUED, _RUNNING),
)
