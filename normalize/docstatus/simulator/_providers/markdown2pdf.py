"""markdown2pdf, simulated: ``GET /job/{job_id}/status`` without auth, its older ``/v1/markdown``
paths, submission (``POST /markdown``), the output metadata URL and the PDF itself.

Where its spec is silent: an unknown job (or a path no route serves) gets 404 with an empty body
(its spec: ``content: {}``); a job id that is not a UUID gets the documented 422
``HTTPValidationError``; fault bodies are ``{"message": "..."}`` (the API Gateway shape its
spec comes from). A phase's ``progress`` is served as a fraction, its ``error`` (else its
``step``) as ``status_meta``, and its ``outputs`` make ``path`` the absolute metadata URL.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any, Final

from docstatus_simulator_models import markdown2pdf as models  # type: ignore[import-untyped,unused-ignore]

from docstatus.simulator._jobs import Phase
from docstatus.simulator._render import Answer, ProviderSim, Route, json_answer, model_answer
from docstatus.simulator._scripts import ready, scripts, unknown_state

if TYPE_CHECKING:
    from docstatus.simulator._render import At, Headers, SimRequest

#: The PDF the simulator serves for every Done job (one blank page, valid PDF 1.4).
SMALL_PDF: Final = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

_SDK: Final = "markdown2pdf-python 0.2.0 markdown/client.py"


class Markdown2pdf(ProviderSim):
    name = "markdown2pdf"
    route = ("job", None, "status")
    auth = None
    model = models.JobStatus
    extra_routes = (
        Route(kind="submit", segments=("markdown",), method="POST", source=f"{_SDK}:39 (POST /markdown)"),
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
        detail = models.ValidationError(loc=loc, msg=msg, type=kind)
        return model_answer(422, models.HTTPValidationError(detail=[detail]))

    def not_found(self, job_id: str) -> Answer:  # noqa: ARG002  # the body names no id
        return Answer(status=404, body=b"", content_type=None)

    def no_route(self, path: str) -> Answer:  # noqa: ARG002  # its documented 404 has no body
        return self.not_found("")

    def error(self, status: int, message: str, headers: Headers = ()) -> Answer:
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
            return model_answer(200, models.OutputMetadata(url=url)), "ok"
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


SIM = Markdown2pdf()

_NOT_STARTED = Phase(state="Not Started", progress=0.0)
SCRIPTS = scripts(
    ready(
        "happy_path",
        "Not Started, Processing (50 %), Done with the PDF's path",
        _NOT_STARTED,
        Phase(state="Processing", progress=0.5, step="Rendering PDF"),
        Phase(state="Done", progress=1.0, outputs=("document.pdf",)),
    ),
    ready(
        "failure",
        "Not Started, Processing, Error (status_meta says why)",
        _NOT_STARTED,
        Phase(state="Processing", progress=0.4, step="Rendering PDF"),
        Phase(state="Error", progress=0.4, error="LaTeX compilation failed: undefined control sequence"),
    ),
    unknown_state("Cancelled", _NOT_STARTED, Phase(state="Processing", progress=0.5)),
)
