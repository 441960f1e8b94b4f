"""Neurolinker, simulated: ``GET /v1/document-status/{document_id}`` with a Bearer token, and
``GET /v1/request-status/{request_id}`` (the request a document belongs to, as its SDK reads).

Where its spec is silent (it documents no error at all): a missing or wrong token gets 401, an
unknown document 404, both ``{"detail": "..."}`` (the FastAPI shape, the defaults of
``ProviderSim``). A phase's ``pages.total`` is served as ``total_pages``, its ``outputs`` as
``results.cropped_images``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docstatus_simulator_models import neurolinker as models  # type: ignore[import-untyped,unused-ignore]

from docstatus.simulator._jobs import PageCounts, Phase
from docstatus.simulator._render import ProviderSim, Route, derived_id, json_answer
from docstatus.simulator._scripts import ready, scripts, unknown_state

if TYPE_CHECKING:
    from docstatus.simulator._jobs import Job
    from docstatus.simulator._render import Answer, At, SimRequest


def _request_id(job: Job) -> str:
    """A job's request id (stable per job)."""
    return str(derived_id("request:" + job.seed))


class Neurolinker(ProviderSim):
    name = "neurolinker"
    route = ("v1", "document-status", None)
    token = "nl_sim_token"  # noqa: S105  # a fake credential: what the simulator accepts
    model = models.DocumentStatusResponse
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


SIM = Neurolinker()

_EIGHT = PageCounts(total=8)
_PENDING, _PROCESSING = Phase(state="pending", pages=_EIGHT), Phase(state="processing", pages=_EIGHT)
SCRIPTS = scripts(
    ready(
        "happy_path",
        "pending, processing, completed with results",
        _PENDING,
        _PROCESSING,
        Phase(state="completed", pages=_EIGHT, outputs=("page-1.png", "page-2.png", "page-3.png")),
    ),
    ready(
        "failure",
        "pending, processing, failed (the body has no error field)",
        _PENDING,
        _PROCESSING,
        Phase(state="failed", pages=_EIGHT),
    ),
    unknown_state("cancelled", _PENDING, _PROCESSING, pages=_EIGHT),
)
