"""Aitronos, simulated: both path families (the page's
``/v1/organizations/{org}/stores/{store}/files/{file}/status``, bare body; the SDK's
``/vector-stores/``, ``{success, message, data}`` envelope) and both credentials
(``Authorization: Bearer`` and ``X-API-Key``, the same token).

Where its page is silent: a missing credential gets 401 with its ``ErrorEnvelope`` (code
``AUTHENTICATION_REQUIRED``), a wrong one 401 ``INVALID_ACCESS_TOKEN``; an unknown file 404
``FILE_NOT_IN_STORE`` as on its page. Job ids are ``org_id/store_id/file_id``. A phase's
``progress`` is served as a whole percentage, its ``step`` as ``current_step``, its ``error``
as ``error_message``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from docstatus_simulator_models import aitronos as models  # type: ignore[import-untyped,unused-ignore]

from docstatus.simulator._jobs import Phase
from docstatus.simulator._render import ProviderSim, Route, as_datetime, build, derived_id, model_answer
from docstatus.simulator._scripts import ready, scripts, unknown_state

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import BaseModel

    from docstatus.simulator._jobs import Job
    from docstatus.simulator._render import Answer, At, AuthProblem, Headers

_CODES: Final = MappingProxyType(
    {
        400: "INVALID_REQUEST",
        401: "AUTHENTICATION_REQUIRED",
        403: "FORBIDDEN",
        404: "NOT_FOUND",
        429: "RATE_LIMIT_EXCEEDED",
        500: "INTERNAL_ERROR",
        502: "BAD_GATEWAY",
        503: "SERVICE_UNAVAILABLE",
    }
)


class Aitronos(ProviderSim):
    name = "aitronos"
    route = ("v1", "organizations", None, "stores", None, "files", None, "status")
    token = "sim-aitronos-token"  # noqa: S105  # a fake credential: what the simulator accepts
    model = models.FileProcessingStatus
    waiting = frozenset({"pending", "queued"})
    ended = frozenset({"completed", "failed"})
    extra_routes = (
        Route(
            kind="status",
            segments=("v1", "organizations", None, "vector-stores", None, "files", None, "status"),
            variant="vector-stores",
            source="aitronos-sdk 5.0.0 vector_store_files/raw_client.py:271-275",
        ),
    )
    id_placeholder = "{org}/{store}/{file}"

    def check_auth(self, headers: Mapping[str, str], token: str | None) -> tuple[bool, Answer | None]:
        """Bearer or ``X-API-Key`` (the SDK sends ``x-api-key``, plus Bearer with ``token=``): at
        least one, and every one sent right."""
        sent: list[str] = []
        bearer = headers.get("authorization")
        if bearer is not None:
            scheme, _, credential = bearer.partition(" ")
            sent.append(credential.strip() if scheme.lower() == "bearer" else "")
        key = headers.get("x-api-key")
        if key is not None:
            sent.append(key.strip())
        if not any(sent):
            return False, self.unauthorized("missing")
        if token is None or any(s != token for s in sent):
            return False, self.unauthorized("wrong")
        return True, None

    def render(self, job: Job, now: float, *, base: str = "", variant: str = "") -> Answer:
        if variant != "vector-stores":
            return super().render(job, now, base=base, variant=variant)
        return model_answer(200, self.envelope(job, job.at(now)[0]))

    def envelope(self, job: Job, index: int) -> BaseModel:
        """The SDK's body: ``{success, message, data}``, ``data`` with every field the SDK requires."""
        at = self.at(job, index, variant="vector-stores")
        phase = at.phase
        _org, store, file = job.job_id.split("/")
        values: dict[str, Any] = {
            "vector_store_file_id": "vsf_" + derived_id("vsf:" + job.seed).hex[:16],
            "file_id": file,
            "vector_store_id": store,
            "status": phase.state,
            "chunk_count": 12 if phase.state == "completed" else None,
            "embedding_model": "text-embedding-3-small",
            "error_message": phase.error,
            "processing_started_at": self.started_at(at),
            "processing_completed_at": self.completed_at(at),
            "added_at": as_datetime(job.created_at),
        }
        data = build(models.ProcessingStatusData, values, "status", off_spec=phase.off_spec)
        envelope: BaseModel
        if not phase.off_spec:
            envelope = models.ProcessingStatusEnvelope(success=True, message="Processing status retrieved", data=data)
            return envelope
        envelope = models.ProcessingStatusEnvelope.model_construct(  # deliberately off-spec, in data.status only
            _fields_set={"success", "message", "data"}, success=True, message="Processing status retrieved", data=data
        )
        return envelope

    def new_job_id(self) -> str:
        return f"org_simulator/vs_simulator/file_{uuid.uuid4().hex[:16]}"

    def canonical_id(self, job_id: str) -> str:
        parts = job_id.split("/") if isinstance(job_id, str) else []
        if len(parts) != 3 or not all(parts) or any(c.isspace() or not c.isprintable() for c in job_id):
            raise ValueError(f"Aitronos job ids are 'org_id/store_id/file_id', not {job_id!r}")
        return job_id

    def _envelope(
        self,
        status: int,
        code: str,
        message: str,
        system_message: str,
        details: Mapping[str, Any] | None = None,
        headers: Headers = (),
    ) -> Answer:
        body = models.ErrorBody(
            code=code,
            message=message,
            system_message=system_message,
            type="client_error" if status < 500 else "server_error",
            status=status,
            details=models.ErrorDetails(**(details or {})),
            trace_id=str(uuid.uuid4()),
            timestamp=datetime.now(UTC).replace(microsecond=0),
        )
        return model_answer(status, models.ErrorEnvelope(success=False, error=body), headers)

    def unauthorized(self, problem: AuthProblem) -> Answer:
        if problem == "missing":
            return self._envelope(
                401, "AUTHENTICATION_REQUIRED", "Authentication is required.", "No bearer token or API key was sent"
            )
        return self._envelope(
            401,
            "INVALID_ACCESS_TOKEN",
            "Your session is invalid or has expired.",
            "The bearer token or API key is not valid",
        )

    def not_found(self, job_id: str) -> Answer:
        parts = job_id.split("/")
        store, file = (parts[-2] if len(parts) > 1 else ""), parts[-1]
        return self._envelope(
            404,
            "FILE_NOT_IN_STORE",
            "We couldn't find the requested resource.",
            "File not found in this store",
            {"file_id": file, "store_id": store},
        )

    def error(self, status: int, message: str, headers: Headers = ()) -> Answer:
        code = _CODES.get(status, "SERVER_ERROR" if status >= 500 else "CLIENT_ERROR")
        return self._envelope(status, code, message, message, None, headers)

    def values(self, at: At) -> dict[str, Any]:
        phase = at.phase
        values: dict[str, Any] = {
            "status": phase.state,
            "current_step": phase.step,
            "error_message": phase.error,
            "started_at": self.started_at(at),
            "completed_at": self.completed_at(at),
        }
        if phase.progress is not None:
            values["progress_percent"] = round(phase.progress * 100)
        return values


SIM = Aitronos()

_PENDING = Phase(state="pending", progress=0.0)
SCRIPTS = scripts(
    ready(
        "happy_path",
        "pending, queued, processing (chunking 30 %, embedding 60 %), completed",
        _PENDING,
        Phase(state="queued", progress=0.0),
        Phase(state="processing", progress=0.3, step="chunking"),
        Phase(state="processing", progress=0.6, step="embedding"),
        Phase(state="completed", progress=1.0),
    ),
    ready(
        "failure",
        "pending, processing (parsing), failed with an error message",
        _PENDING,
        Phase(state="processing", progress=0.2, step="parsing"),
        Phase(state="failed", progress=0.2, error="Could not extract text: the file is encrypted"),
    ),
    unknown_state("archived", _PENDING, Phase(state="processing", progress=0.5, step="embedding")),
)
