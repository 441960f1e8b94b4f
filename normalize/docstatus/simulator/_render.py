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
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, Protocol, get_args, get_origin

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

from docstatus._status import PROVIDERS

try:  # the sixth provider (issue 10): served once its spec is generated and docstatus knows it
    from docstatus_simulator_models import (
        sarvam_docai as m_sarvam_docai,  # type: ignore[import-untyped,unused-ignore]
    )
except ImportError:  # pragma: no cover - a tree without specs/sarvam_docai
    m_sarvam_docai = None

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from docstatus._status import Provider

    from ._jobs import Clock, Job, Phase

AuthProblem = Literal["missing", "wrong"]

#: The fake credential each provider accepts, unless configured otherwise.
DEFAULT_TOKENS: Final[Mapping[str, str]] = MappingProxyType(
    {
        name: token
        for name, token in {
            "aitronos": "sim-aitronos-token",
            "artos": "sim-artos-token",
            "neurolinker": "nl_sim_token",
            "sarvam": "sim-sarvam-key",
            "sarvam_docai": "sim-sarvam-key",  # one Sarvam subscription key serves both APIs
        }.items()
        if name in PROVIDERS
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
        base: The URL of the provider's prefix the request came in under
            (``http://127.0.0.1:8000/markdown2pdf``), for the URLs a body carries; ``""``
            when rendering outside a request (then ``https://simulator.invalid/<provider>``).
        variant: The route's variant (``""`` for the documented status path).
    """

    job: Job
    index: int
    phase: Phase
    start: float
    base: str = ""
    variant: str = ""


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


RouteKind = Literal["status", "request_status", "submit", "output", "file"]


@attrs.frozen(kw_only=True)
class Route:
    """One path a simulated provider serves, after its ``/<provider>`` prefix.

    Attributes:
        kind: What it does: ``status`` (a job's status), ``request_status`` (Neurolinker's
            request), ``submit`` (creates a scripted job), ``output`` (markdown2pdf's metadata
            URL), ``file`` (a file the simulator serves).
        segments: Path segments; ``None`` marks an id segment.
        method: The one method it answers (others get 405).
        variant: Which family of the provider's paths (``""`` is the documented one):
            ``vector-stores`` (Aitronos SDK), ``v1`` (markdown2pdf's older prefix).
        source: Where the path comes from (spec, SDK file, docs page).
    """

    kind: RouteKind
    segments: tuple[str | None, ...]
    method: str = "GET"
    variant: str = ""
    source: str = ""

    def match(self, segments: Sequence[str]) -> str | None:
        """The ids in ``segments`` joined by ``/`` (``""`` for none) if they are this route's path."""
        if len(segments) != len(self.segments):
            return None
        ids: list[str] = []
        for want, got in zip(self.segments, segments, strict=True):
            if want is None:
                if not got:
                    return None
                ids.append(got)
            elif want != got:
                return None
        return "/".join(ids)

    def template(self) -> str:
        """The path as a template, ``/job/{id}/status``."""
        return "/" + "/".join("{id}" if s is None else s for s in self.segments)


class Jobs(Protocol):
    """What a provider's routes use of the simulator's state (``State`` is one): its clock and
    its jobs. The state builds on this module's providers, so they name only this."""

    clock: Clock

    def submit(self, provider: str) -> Job: ...

    def all_jobs(self, provider: str) -> list[Job]: ...

    def find(self, provider: str, job_id: str) -> Job | None: ...


@attrs.frozen(kw_only=True)
class SimRequest:
    """What a route other than ``status`` sees of the request and the simulator.

    Attributes:
        state: The simulator's state (jobs, clock, submission scripts).
        base: The URL of the provider's prefix the request came in under.
        body: The request body (``b""`` for a GET).
    """

    state: Jobs
    base: str
    body: bytes = b""


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
    #: Paths served besides the documented status path (SDK variants, submission, files).
    extra_routes: ClassVar[tuple[Route, ...]] = ()

    @property
    def routes(self) -> tuple[Route, ...]:
        """Every path served: the documented status path first."""
        return (Route(kind="status", segments=self.route, source="spec"), *self.extra_routes)

    def find_route(self, segments: Sequence[str]) -> tuple[Route, str] | None:
        """``(route, ids)`` of the first route whose path ``segments`` (after the prefix) are."""
        for route in self.routes:
            ids = route.match(segments)
            if ids is not None:
                return route, ids
        return None

    def base(self, base: str) -> str:
        """``base``, or the placeholder host used outside a request."""
        return base or f"https://simulator.invalid/{self.name}"

    @property
    def states(self) -> tuple[str, ...]:
        """The states the provider's spec lists."""
        return states_of(self.model, self.state_field)

    def match(self, segments: Sequence[str]) -> str | None:
        """The job id if ``segments`` (after the prefix) are this provider's documented status path."""
        return self.routes[0].match(segments)

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

    def body(self, job: Job, now: float, *, base: str = "", variant: str = "") -> BaseModel:
        """The status body of ``job`` at clock time ``now``, as the generated model."""
        index, _, _ = job.at(now)
        return self.phase_body(job, index, base=base, variant=variant)

    def at(self, job: Job, index: int, *, base: str = "", variant: str = "") -> At:
        phase = job.script.phases[index]
        return At(job=job, index=index, phase=phase, start=job.phase_start(index), base=base, variant=variant)

    def phase_body(self, job: Job, index: int, *, base: str = "", variant: str = "") -> BaseModel:
        """The status body of ``job`` in phase ``index``, as the generated model."""
        at = self.at(job, index, base=base, variant=variant)
        values = self.values(at)
        values.update(at.phase.fields)
        return build(self.model, values, self.state_field, off_spec=at.phase.off_spec)

    def render(self, job: Job, now: float, *, base: str = "", variant: str = "") -> Answer:
        return model_answer(200, self.body(job, now, base=base, variant=variant))

    def serve(self, route: Route, ids: str, request: SimRequest) -> tuple[Answer, str]:  # noqa: ARG002  # hook
        """The answer of a route other than ``status`` (``(answer, outcome)``); auth is checked."""
        return self.not_found(ids), "no_route"

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


def _request_id(job: Job) -> str:
    """A Neurolinker job's request id (stable per job)."""
    return str(uuid.uuid5(_NS, "request:" + job.seed))


class Neurolinker(ProviderSim):
    name = "neurolinker"
    route = ("v1", "document-status", None)
    model = m_neurolinker.DocumentStatusResponse
    waiting = frozenset({"pending"})
    ended = frozenset({"completed", "failed"})
    extra_routes = (
        Route(
            kind="request_status",
            segments=("v1", "request-status", None),
            source="neurolinker-sdk 0.2.2 extraction/status.py:20; docs request-status page",
        ),
    )

    def request_id(self, job: Job) -> str:
        return _request_id(job)

    def serve(self, route: Route, ids: str, request: SimRequest) -> tuple[Answer, str]:
        """``GET /v1/request-status/{request_id}``: the request of one simulated document.

        The body is ``{"success": true, "data": {...}}`` (the ``data`` envelope
        neurolinker-sdk's helpers read, extraction/helpers.py:56-61) holding the docs' fields;
        the request's ``status`` is its one document's state, ``pending`` included."""
        if route.kind != "request_status":
            return self.not_found(ids), "no_route"
        now = request.state.clock.now()
        job = next((j for j in request.state.all_jobs(self.name) if _request_id(j) == ids), None)
        if job is None:
            return json_answer(404, {"detail": "Request not found"}), "not_found"
        _, phase, _ = job.at(now)
        document = self.body(job, now).model_dump(mode="json", exclude_unset=True)
        state = phase.state
        data = {
            "request_id": ids,
            "status": state,
            "documents": [
                {
                    "document_id": job.job_id,
                    "filename": document.get("file_name", "document.pdf"),
                    "status": state,
                    "result": document.get("results"),
                }
            ],
            "total": 1,
            "completed": int(state == "completed"),
            "failed": int(state == "failed"),
            "processing": int(state not in self.ended),
            "job_page_url": f"https://simulator.invalid/neurolinker/job/{ids}",
            "total_size_bytes": document.get("file_size_bytes", 0),
            "started_at": document.get("started_at"),
            "completed_at": document.get("completed_at"),
        }
        return json_answer(200, {"success": True, "data": data}), "ok"

    def values(self, at: At) -> dict[str, Any]:
        job = at.job
        phase = at.phase
        request_id = _request_id(job)
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


#: The PDF the simulator serves for every Done markdown2pdf job (one blank page, valid PDF 1.4).
SMALL_PDF: Final = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

_M2P_SDK: Final = "markdown2pdf-python 0.2.0 markdown/client.py"


class Markdown2pdf(ProviderSim):
    name = "markdown2pdf"
    route = ("job", None, "status")
    auth = None
    model = m_markdown2pdf.JobStatus
    extra_routes = (
        Route(kind="submit", segments=("markdown",), method="POST", source=f"{_M2P_SDK}:39 (POST /markdown)"),
        Route(
            kind="submit",
            segments=("v1", "markdown"),
            method="POST",
            variant="v1",
            source="SDKs before 2025-08-05 (POST /v1/markdown); older docs overview",
        ),
        Route(
            kind="status",
            segments=("v1", "markdown", "job", None, "status"),
            variant="v1",
            source="older docs overview (/v1/markdown/job/{job_id}/status)",
        ),
        Route(kind="output", segments=("job", None, "output"), source="docs overview (/job/{job_id}/output)"),
        Route(kind="file", segments=("files", None, None), source="the simulator's own PDF download"),
    )

    def canonical_id(self, job_id: str) -> str:
        try:
            return str(uuid.UUID(job_id))
        except (ValueError, AttributeError, TypeError) as exc:
            raise ValueError(f"markdown2pdf job ids are UUIDs, not {job_id!r}") from exc

    def reject_id(self, job_id: str) -> Answer | None:
        try:
            uuid.UUID(job_id)
        except ValueError:
            return self._invalid(["path", "job_id"], "Input should be a valid UUID", "uuid_parsing")
        return None

    def _invalid(self, loc: list[str | int], msg: str, kind: str) -> Answer:
        detail = m_markdown2pdf.ValidationError(loc=loc, msg=msg, type=kind)
        return model_answer(422, m_markdown2pdf.HTTPValidationError(detail=[detail]))

    def not_found(self, job_id: str) -> Answer:  # noqa: ARG002  # the body names no id
        return Answer(status=404, body=b"", content_type=None)

    def error(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
        return json_answer(status, {"message": message}, headers)

    def status_url(self, base: str, job_id: str, variant: str) -> str:
        """The absolute status URL of a job (the submission's ``path``)."""
        return f"{base}/v1/markdown/job/{job_id}/status" if variant == "v1" else f"{base}/job/{job_id}/status"

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
        if phase.outputs:  # the metadata URL (specs/markdown2pdf/NOTES.md row 2): absolute, as the SDK GETs it as given
            values["path"] = f"{self.base(at.base)}/job/{job.job_id}/output"
        return values

    def serve(self, route: Route, ids: str, request: SimRequest) -> tuple[Answer, str]:
        if route.kind == "submit":
            return self._submit(route, request)
        job_id, _, name = ids.partition("/")
        try:
            job_id = self.canonical_id(job_id)
        except ValueError:
            return self.not_found(job_id), "not_found"
        job = request.state.find(self.name, job_id)
        if job is None:
            return self.not_found(job_id), "not_found"
        _, phase, _ = job.at(request.state.clock.now())
        if route.kind == "output":
            if not phase.outputs:
                detail = f"job {job_id} is {phase.state!r}, not Done: no output yet"
                return json_answer(409, {"detail": detail}), "early"
            url = f"{request.base}/files/{job_id}/{phase.outputs[0]}"
            return model_answer(200, m_markdown2pdf.OutputMetadata(url=url)), "ok"
        if name not in phase.outputs:
            return self.not_found(job_id), "not_found"
        return Answer(status=200, body=SMALL_PDF, content_type="application/pdf"), "ok"

    def _submit(self, route: Route, request: SimRequest) -> tuple[Answer, str]:
        """``POST /markdown``: a scripted job (``Simulator.on_submit``); the document is ignored."""
        try:
            payload = json.loads(request.body)
        except (ValueError, RecursionError):
            return self._invalid(["body"], "JSON decode error", "json_invalid"), "bad_request"
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            return self._invalid(["body", "data"], "Field required", "missing"), "bad_request"
        if not isinstance(data.get("text_body"), str):
            return self._invalid(["body", "data", "text_body"], "Input should be a valid string", "string_type"), (
                "bad_request"
            )
        job = request.state.submit(self.name)
        status = self.phase_body(job, 0, base=request.base)
        url = self.status_url(request.base, job.job_id, route.variant)
        body = status.model_copy(update={"path": url})
        return model_answer(200, body), "submitted"


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
        """Any id (a plain string in the spec); a UUID in any spelling becomes canonical, as
        ``docstatus.parse_ref`` stores it."""
        job_id = super().canonical_id(job_id)
        try:
            return str(uuid.UUID(job_id))
        except ValueError:
            return job_id

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

    def not_found(self, job_id: str) -> Answer:
        return self._envelope(404, f"Job {job_id[:200]} not found")

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


class SarvamDocai(ProviderSim):
    """Sarvam's current Document AI API (``/doc-ai/v1``): lowercase states, ``usage`` page
    counts, RFC 7807 problem details (``application/problem+json``) for every error; the same
    ``api-subscription-key`` as the legacy API. Ids are kept as given (``docstatus.parse_ref``)."""

    name = "sarvam_docai"
    route = ("doc-ai", "v1", "job", None, "status")
    auth = "header"
    auth_header = "api-subscription-key"
    model = BaseModel if m_sarvam_docai is None else m_sarvam_docai.DocAiJobStatusResponse

    def _problem(self, status: int, detail: str, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
        title = {403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}.get(status, "Error")
        if status >= 500:
            title = {503: "Service Unavailable"}.get(status, "Internal Server Error")
        body = m_sarvam_docai.DocAiErrorModel(type="about:blank", title=title, status=status, detail=detail)
        return Answer(
            status=status,
            body=body.model_dump_json(exclude_none=True).encode(),
            content_type="application/problem+json",
            headers=headers,
        )

    def unauthorized(self, problem: AuthProblem) -> Answer:
        text = "Missing api-subscription-key header" if problem == "missing" else "Invalid API subscription key"
        return self._problem(403, text)

    def not_found(self, job_id: str) -> Answer:  # noqa: ARG002  # the docs' text names no id
        return self._problem(404, "Job not found")

    def error(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
        return self._problem(status, message, headers)

    def values(self, at: At) -> dict[str, Any]:
        job = at.job
        phase = at.phase
        values: dict[str, Any] = {
            "job_id": job.job_id,
            "status": phase.state,
            "pipeline": "digitise",
            "created_at": _stamp(job.created_at),
            "updated_at": _stamp(at.start),
        }
        pages = phase.pages
        # usage is always sent: optional in the spec, required by sarvamai 0.1.39's model
        # (types/doc_ai_job_status_response.py:26)
        values["usage"] = {}
        if phase.step is not None:  # a Split or Classify job: its own usage keys (Jobs & Errors guide)
            values.update(type="split", phase=phase.step, progress=phase.progress)
            if pages is not None:
                values["usage"] = {"pages_processed": pages.processed, "pages_source": pages.total}
        elif pages is not None:
            values["usage"] = {
                "pages_total": pages.total,
                "pages_processed": pages.processed,
                "pages_succeeded": pages.succeeded,
                "pages_failed": pages.failed,
            }
        return values


def _stamp(seconds: float) -> str:
    """RFC 3339, whole seconds, ``Z`` (the docs' example: ``2026-07-31T12:20:11Z``)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    """Both path families (the page's ``/stores/``, bare body; the SDK's ``/vector-stores/``,
    ``{success, message, data}`` envelope) and both credentials (``Authorization: Bearer`` and
    ``X-API-Key``, the same token)."""

    name = "aitronos"
    route = ("v1", "organizations", None, "stores", None, "files", None, "status")
    model = m_aitronos.FileProcessingStatus
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
            "vector_store_file_id": "vsf_" + uuid.uuid5(_NS, "vsf:" + job.seed).hex[:16],
            "file_id": file,
            "vector_store_id": store,
            "status": phase.state,
            "chunk_count": 12 if phase.state == "completed" else None,
            "embedding_model": "text-embedding-3-small",
            "error_message": phase.error,
            "processing_started_at": self.started_at(at),
            "processing_completed_at": self.completed_at(at),
            "added_at": _dt(job.created_at),
        }
        data = build(m_aitronos.ProcessingStatusData, values, "status", off_spec=phase.off_spec)
        envelope: BaseModel
        if not phase.off_spec:
            envelope = m_aitronos.ProcessingStatusEnvelope(
                success=True, message="Processing status retrieved", data=data
            )
            return envelope
        envelope = m_aitronos.ProcessingStatusEnvelope.model_construct(  # deliberately off-spec, in data.status only
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
    {
        sim.name: sim
        for sim in (Aitronos(), Artos(), Markdown2pdf(), Neurolinker(), Sarvam(), SarvamDocai())
        if sim.name in PROVIDERS and sim.model is not BaseModel
    }
)
