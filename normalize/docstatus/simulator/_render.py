"""What each simulated provider answers: routes, auth, ids, error bodies and status bodies.

Every status body and every documented error body is an instance of the provider's generated
pydantic model (``docstatus_simulator_models.<provider>``), built with validation and dumped
with ``model_dump_json(exclude_unset=True)``, so the bodies cannot drift from ``specs/``. The
one exception is on purpose: a ``Phase(off_spec=True)`` serves a state the spec does not
list; its body is validated with a documented state first, then only the state is swapped in
with ``model_construct``.

Choices where a spec is silent (undocumented statuses):

- Artos 401 and Neurolinker 401/404: ``{"detail": "..."}`` JSON (the FastAPI shape; Artos's
  spec documents a 404 and a 500 without a body, Neurolinker's documents no error at all).
  Artos's 404 and 500 send the same ``{"detail": ...}`` (a body where the spec shows none
  is not a contradiction).
- Sarvam documents no 404 (its spec lists 400, 403, 429, 500, 503 for every endpoint): an
  unknown job id gets 404 with Sarvam's error envelope (code ``invalid_request_error``, the
  closest code its enum has), because answering a well-formed UUID with 400 would call a
  valid request malformed (and docstatus would raise ``BadRequest`` instead of
  ``JobNotFound``). A job id that is not a UUID gets the documented 400
  ``invalid_request_error``; a missing or wrong key the documented 403 ``invalid_api_key_error``.
- Aitronos: 401 with its ``ErrorEnvelope`` (code ``AUTHENTICATION_REQUIRED`` when no token
  was sent, ``INVALID_ACCESS_TOKEN`` when it is wrong); 404 ``FILE_NOT_IN_STORE`` as on its
  page.
- markdown2pdf: 404 with an empty body (its spec: ``content: {}``); a job id that is not a
  UUID gets the documented 422 ``HTTPValidationError``; fault bodies are
  ``{"message": "..."}`` (the API Gateway shape its spec comes from).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, get_args, get_origin

import attrs
from docstatus_simulator_models import aitronos as m_aitronos  # type: ignore[import-untyped,unused-ignore]
from docstatus_simulator_models import artos as m_artos  # type: ignore[import-untyped,unused-ignore]
from docstatus_simulator_models import (
    markdown2pdf as m_markdown2pdf,  # type: ignore[import-untyped,unused-ignore]
)
from docstatus_simulator_models import (
    neurolinker as m_neurolinker,  # type: ignore[import-untyped,unused-ignore]
)
from docstatus_simulator_models import sarvam as m_sarvam  # type: ignore[import-untyped,unused-ignore]
from pydantic import BaseModel, RootModel

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from docstatus._status import Provider

    from ._jobs import Job, Phase

AuthProblem = Literal["missing", "wrong"]

#: The fake credential each provider accepts, unless configured otherwise.
DEFAULT_TOKENS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "aitronos": "sim-aitronos-token",
        "artos": "sim-artos-token",
        "neurolinker": "nl_sim_token",
        "sarvam": "sim-sarvam-key",
    }
)

_NS: Final = uuid.UUID("6b1d8c1e-5f0a-4c52-9d0e-2f7c6a1b9e30")


@attrs.frozen(kw_only=True)
class At:
    """A job in one phase of its script, for rendering.

    Attributes:
        job: The job.
        index: The phase's index.
        phase: The phase.
        start: Clock time the phase began.
    """

    job: Job
    index: int
    phase: Phase
    start: float


@attrs.frozen(kw_only=True)
class Answer:
    """An HTTP answer.

    Attributes:
        status: The status code.
        body: The body bytes.
        content_type: The ``Content-Type``, or ``None`` to send none.
        headers: Extra headers.
    """

    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def json_answer(status: int, data: Any, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    """A JSON answer from plain data (not a provider body)."""
    return Answer(status=status, body=json.dumps(data, separators=(",", ":")).encode(), headers=headers)


def model_answer(status: int, model: BaseModel, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    """A JSON answer from a generated model (only the fields that were set)."""
    return Answer(status=status, body=model.model_dump_json(exclude_unset=True).encode(), headers=headers)


def _dt(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _literal_values(annotation: Any) -> tuple[str, ...]:
    if isinstance(annotation, type) and issubclass(annotation, RootModel):
        annotation = annotation.model_fields["root"].annotation
    if get_origin(annotation) is not Literal:
        raise TypeError(f"{annotation!r} is not a Literal enum")
    return tuple(str(v) for v in get_args(annotation))


def states_of(model: type[BaseModel], field: str) -> tuple[str, ...]:
    """The states a generated model's enum field lists (from its ``Literal``)."""
    return _literal_values(model.model_fields[field].annotation)


def build(model: type[BaseModel], values: Mapping[str, Any], state_field: str, *, off_spec: bool) -> BaseModel:
    """``model(**values)``, validated; with ``off_spec`` the state alone is set unvalidated."""
    if not off_spec:
        return model(**values)
    raw = values[state_field]
    documented = states_of(model, state_field)
    if raw in documented:
        raise ValueError(f"state {raw!r} is documented; off_spec=True is only for a state the spec does not list")
    checked = model(**{**values, state_field: documented[0]})
    annotation = model.model_fields[state_field].annotation
    state: Any = raw
    if isinstance(annotation, type) and issubclass(annotation, RootModel):
        state = annotation.model_construct(root=raw)  # deliberately off-spec: see the module docstring
    data = {name: getattr(checked, name) for name in checked.model_fields_set}
    data[state_field] = state
    return model.model_construct(_fields_set=set(checked.model_fields_set), **data)  # deliberately off-spec


class ProviderSim:
    """One simulated provider. Subclasses fill in the class attributes and the hooks."""

    name: ClassVar[Provider]
    #: Path segments after the provider prefix; ``None`` marks an id segment.
    route: ClassVar[tuple[str | None, ...]]
    #: ``"bearer"``, ``"header"`` (the key in ``auth_header``) or ``None``.
    auth: ClassVar[str | None] = "bearer"
    auth_header: ClassVar[str] = "authorization"
    model: ClassVar[type[BaseModel]]
    state_field: ClassVar[str] = "status"
    #: States before processing starts (for ``started_at``).
    waiting: ClassVar[frozenset[str]] = frozenset()
    #: States a job ends in (for ``completed_at``).
    ended: ClassVar[frozenset[str]] = frozenset()

    @property
    def states(self) -> tuple[str, ...]:
        """The states the provider's spec lists."""
        return states_of(self.model, self.state_field)

    def match(self, segments: Sequence[str]) -> str | None:
        """The job id if ``segments`` (after the prefix) are this provider's status path."""
        if len(segments) != len(self.route):
            return None
        ids: list[str] = []
        for want, got in zip(self.route, segments, strict=True):
            if want is None:
                if not got:
                    return None
                ids.append(got)
            elif want != got:
                return None
        return "/".join(ids)

    def path(self, job_id: str) -> str:
        """The status path of a job, under the provider prefix (unquoted)."""
        ids = iter(job_id.split("/"))
        return "/" + "/".join(next(ids, "{id}") if part is None else part for part in self.route)

    def new_job_id(self) -> str:
        return str(uuid.uuid4())

    def canonical_id(self, job_id: str) -> str:
        """The id as stored; ``ValueError`` when the provider would never have such a job."""
        if not job_id or "/" in job_id or any(c.isspace() or not c.isprintable() for c in job_id):
            raise ValueError(
                f"{self.name} job id {job_id!r} must be non-empty, without '/', spaces or control characters"
            )
        return job_id

    def check_auth(self, headers: Mapping[str, str], token: str | None) -> tuple[bool, Answer | None]:
        """``(authorized, error answer or None)``."""
        if self.auth is None:
            return True, None
        sent = headers.get(self.auth_header)
        if self.auth == "bearer" and sent is not None:
            scheme, _, credential = sent.partition(" ")
            sent = credential.strip() if scheme.lower() == "bearer" else ""
        if not sent:
            return False, self.unauthorized("missing")
        if token is None or sent != token:
            return False, self.unauthorized("wrong")
        return True, None

    def reject_id(self, job_id: str) -> Answer | None:  # noqa: ARG002  # hook: the default rejects none
        """The answer to an id the provider rejects before looking it up, else ``None``."""
        return None

    def unauthorized(self, problem: AuthProblem) -> Answer:
        text = "Not authenticated" if problem == "missing" else "Invalid or expired token"
        return json_answer(401, {"detail": text}, (("www-authenticate", "Bearer"),))

    def not_found(self, job_id: str) -> Answer:  # noqa: ARG002  # the body names no id
        return json_answer(404, {"detail": "Document not found"})

    def error(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
        """An error answer in the provider's style (for faults)."""
        return json_answer(status, {"detail": message}, headers)

    def values(self, at: At) -> dict[str, Any]:
        raise NotImplementedError

    def body(self, job: Job, now: float) -> BaseModel:
        """The status body of ``job`` at clock time ``now``, as the generated model."""
        index, _, _ = job.at(now)
        return self.phase_body(job, index)

    def phase_body(self, job: Job, index: int) -> BaseModel:
        """The status body of ``job`` in phase ``index``, as the generated model."""
        phase = job.script.phases[index]
        values = self.values(At(job=job, index=index, phase=phase, start=job.phase_start(index)))
        values.update(phase.fields)
        return build(self.model, values, self.state_field, off_spec=phase.off_spec)

    def render(self, job: Job, now: float) -> Answer:
        return model_answer(200, self.body(job, now))

    # helpers for subclasses

    def started_at(self, at: At) -> datetime | None:
        for i, phase in enumerate(at.job.script.phases[: at.index + 1]):
            if phase.state not in self.waiting:
                return _dt(at.job.phase_start(i))
        return None

    def completed_at(self, at: At) -> datetime | None:
        return _dt(at.start) if at.phase.state in self.ended else None


class Artos(ProviderSim):
    name = "artos"
    route = ("api", "v1", "documents", "status", None)
    model = m_artos.TaskStatusResponse

    def values(self, at: At) -> dict[str, Any]:
        job = at.job
        phase = at.phase
        return {
            "task_id": job.job_id,
            "status": phase.state,
            "progress": None if phase.progress is None else round(phase.progress * 100),
            "error": phase.error,
        }


class Neurolinker(ProviderSim):
    name = "neurolinker"
    route = ("v1", "document-status", None)
    model = m_neurolinker.DocumentStatusResponse
    waiting = frozenset({"pending"})
    ended = frozenset({"completed", "failed"})

    def values(self, at: At) -> dict[str, Any]:
        job = at.job
        phase = at.phase
        request_id = str(uuid.uuid5(_NS, "request:" + job.seed))
        values: dict[str, Any] = {
            "success": True,
            "document_id": job.job_id,
            "request_id": request_id,
            "status": phase.state,
            "file_name": "document.pdf",
            "file_type": "application/pdf",
            "file_size_bytes": 421050,
            "user_uid": "simUser0001",
            "started_at": self.started_at(at),
            "completed_at": self.completed_at(at),
        }
        if phase.pages is not None:
            values["total_pages"] = phase.pages.total
        if phase.state == "completed" or phase.outputs:
            values["results"] = {
                "storage_path": f"uploads/simUser0001/{request_id}/{job.job_id}/",
                "cropped_images": list(phase.outputs),
            }
        if phase.state == "completed":
            values["document_page_url"] = (
                f"https://simulator.invalid/neurolinker/job/{request_id}/extractions/{job.job_id}"
            )
        return values


class Markdown2pdf(ProviderSim):
    name = "markdown2pdf"
    route = ("job", None, "status")
    auth = None
    model = m_markdown2pdf.JobStatus

    def canonical_id(self, job_id: str) -> str:
        try:
            return str(uuid.UUID(job_id))
        except (ValueError, AttributeError, TypeError) as exc:
            raise ValueError(f"markdown2pdf job ids are UUIDs, not {job_id!r}") from exc

    def reject_id(self, job_id: str) -> Answer | None:
        try:
            uuid.UUID(job_id)
        except ValueError:
            detail = m_markdown2pdf.ValidationError(
                loc=["path", "job_id"],
                msg="Input should be a valid UUID",
                type="uuid_parsing",
            )
            return model_answer(422, m_markdown2pdf.HTTPValidationError(detail=[detail]))
        return None

    def not_found(self, job_id: str) -> Answer:  # noqa: ARG002  # the body names no id
        return Answer(status=404, body=b"", content_type=None)

    def error(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
        return json_answer(status, {"message": message}, headers)

    def values(self, at: At) -> dict[str, Any]:
        job = at.job
        phase = at.phase
        values: dict[str, Any] = {
            "id": uuid.UUID(job.job_id),
            "status": phase.state,
            "status_meta": phase.error if phase.error is not None else phase.step,
            "path": None,
        }
        if phase.progress is not None:
            values["progress"] = phase.progress
        if phase.outputs:
            values["path"] = f"https://simulator.invalid/markdown2pdf/{job.job_id}/{phase.outputs[0]}"
        return values


_SARVAM_CODES: Final = MappingProxyType(
    {
        400: "invalid_request_error",
        403: "invalid_api_key_error",
        404: "invalid_request_error",
        429: "rate_limit_exceeded_error",
        500: "internal_server_error",
        503: "high_load_error",
    }
)
_SARVAM_DETAIL_STATE: Final = MappingProxyType(
    {
        "Pending": "Pending",
        "Running": "Running",
        "Completed": "Success",
        "PartiallyCompleted": "PartialSuccess",
        "Failed": "Failed",
    }
)


class Sarvam(ProviderSim):
    name = "sarvam"
    route = ("doc-digitization", "job", "v1", None, "status")
    auth = "header"
    auth_header = "api-subscription-key"
    model = m_sarvam.DocDigitizationJobStatusResponse
    state_field = "job_state"

    def canonical_id(self, job_id: str) -> str:
        try:
            return str(uuid.UUID(job_id))
        except (ValueError, AttributeError, TypeError) as exc:
            raise ValueError(f"Sarvam job ids are UUIDs, not {job_id!r}") from exc

    def _envelope(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
        request_id = f"{datetime.now(UTC):%Y%m%d}_{uuid.uuid4()}"
        details = m_sarvam.DocDigitizationErrorDetails(
            message=message,
            code=_SARVAM_CODES.get(status, "internal_server_error"),
            request_id=request_id,
        )
        return model_answer(status, m_sarvam.DocDigitizationErrorMessage(error=details), headers)

    def unauthorized(self, problem: AuthProblem) -> Answer:
        text = (
            "Missing api-subscription-key header" if problem == "missing" else "Invalid API subscription key provided"
        )
        return self._envelope(403, text)

    def reject_id(self, job_id: str) -> Answer | None:
        try:
            uuid.UUID(job_id)
        except ValueError:
            return self._envelope(400, f"Invalid job_id {job_id[:100]!r}: it must be a UUID")
        return None

    def not_found(self, job_id: str) -> Answer:
        return self._envelope(404, f"Job {job_id} not found")

    def error(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
        return self._envelope(status, message, headers)

    def values(self, at: At) -> dict[str, Any]:
        job = at.job
        phase = at.phase
        start = at.start
        state = phase.state
        values: dict[str, Any] = {
            "job_id": job.job_id,  # a plain string in the spec (specs/sarvam/NOTES.md)
            "job_state": state,
            "created_at": _dt(job.created_at),
            "updated_at": _dt(start),
            "storage_container_type": "Azure",
            "total_files": 1,
            "successful_files_count": 1 if state in ("Completed", "PartiallyCompleted") else 0,
            "failed_files_count": 1 if state == "Failed" else 0,
            "error_message": phase.error or "",
        }
        pages = phase.pages
        if pages is not None:
            file_id = str(uuid.uuid5(_NS, "file:" + job.seed))
            detail: dict[str, Any] = {
                "inputs": [{"file_name": "document.pdf", "file_id": file_id}],
                "outputs": [
                    {"file_name": name, "file_id": str(uuid.uuid5(_NS, f"output:{job.seed}:{i}"))}
                    for i, name in enumerate(phase.outputs)
                ],
                "state": _SARVAM_DETAIL_STATE.get(state, "Running"),
                "total_pages": pages.total,
                "pages_processed": pages.processed,
                "pages_succeeded": pages.succeeded,
                "pages_failed": pages.failed,
                "error_message": phase.error or "",
                "error_code": phase.error_code,
            }
            if pages.errors:
                detail["page_errors"] = [
                    {"page_number": e.page, "error_code": e.code, "error_message": e.message} for e in pages.errors
                ]
            values["job_details"] = [detail]
        return values


_AITRONOS_CODES: Final = MappingProxyType(
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
    model = m_aitronos.FileProcessingStatus
    waiting = frozenset({"pending", "queued"})
    ended = frozenset({"completed", "failed"})

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
        headers: tuple[tuple[str, str], ...] = (),
    ) -> Answer:
        body = m_aitronos.ErrorBody(
            code=code,
            message=message,
            system_message=system_message,
            type="client_error" if status < 500 else "server_error",
            status=status,
            details=m_aitronos.ErrorDetails(**(details or {})),
            trace_id=str(uuid.uuid4()),
            timestamp=datetime.now(UTC).replace(microsecond=0),
        )
        return model_answer(status, m_aitronos.ErrorEnvelope(success=False, error=body), headers)

    def unauthorized(self, problem: AuthProblem) -> Answer:
        if problem == "missing":
            return self._envelope(
                401, "AUTHENTICATION_REQUIRED", "Authentication is required.", "No bearer token was sent"
            )
        return self._envelope(
            401,
            "INVALID_ACCESS_TOKEN",
            "Your session is invalid or has expired.",
            "The bearer token is not valid",
        )

    def not_found(self, job_id: str) -> Answer:
        _org, store, file = job_id.split("/")
        return self._envelope(
            404,
            "FILE_NOT_IN_STORE",
            "We couldn't find the requested resource.",
            "File not found in this store",
            {"file_id": file, "store_id": store},
        )

    def error(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
        code = _AITRONOS_CODES.get(status, "SERVER_ERROR" if status >= 500 else "CLIENT_ERROR")
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


#: The simulated providers, by name.
PROVIDER_SIMS: Final[Mapping[str, ProviderSim]] = MappingProxyType(
    {sim.name: sim for sim in (Aitronos(), Artos(), Markdown2pdf(), Neurolinker(), Sarvam())}
)
