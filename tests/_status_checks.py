"""Shared by the normalization tests: every JobStatus a test produces goes through ``check``,
which validates it against specs/job-status.schema.json and the invariants of the contract."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import docstatus
import yaml
from docstatus import JobStatus, State
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
SCHEMA: dict[str, Any] = json.loads((SPECS / "job-status.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)

SARVAM_ID = "5b1f0c9e-8c1d-4a7e-9f6a-2d3b4c5d6e7f"
#: The id of the example in Sarvam's Jobs & Errors guide (specs/sarvam_docai/page.md L135).
SARVAM_DOCAI_ID = "019fb81e-2543-70bd-a737-b5a2d62a3bb7"
M2P_ID = "1d6986aa-80ac-4a4d-9009-5a323c9046b1"
AITRONOS_ID = "org_xyz789/vs_abc123/file_abc123def456"

#: Each provider's state field, and the smallest body its spec accepts (state filled in by ``body``).
STATE_FIELD = {
    "artos": "status",
    "sarvam": "job_state",
    "sarvam_docai": "status",
    "neurolinker": "status",
    "aitronos": "status",
    "markdown2pdf": "status",
}
_MINIMAL: dict[str, dict[str, Any]] = {
    "artos": {"task_id": "document-uuid-456"},
    "sarvam": {
        "job_id": SARVAM_ID,
        "created_at": "2025-10-15T09:49:50Z",
        "updated_at": "2025-10-15T09:52:15Z",
        "storage_container_type": "Azure",
    },
    "sarvam_docai": {"job_id": SARVAM_DOCAI_ID},
    "neurolinker": {"success": True, "document_id": "1d6986aa-80ac-4a4d-9009-5a323c9046b1"},
    "aitronos": {},
    "markdown2pdf": {"id": M2P_ID},
}
#: The job id ``parse`` needs (Aitronos bodies carry none).
JOB_ID = {"aitronos": AITRONOS_ID}

#: What each provider's documentation says each of its states means, written out here by hand
#: from the captured pages (``specs/<provider>/page.md``, the same text as
#: ``shared/provider-docs/<provider>.md``), never read from the mapping modules under test.
#: Each row cites the text it rests on.
DOCUMENTED: dict[str, dict[str, State]] = {
    "artos": {
        # artos page L7: "Poll the status of a document being generated"; L73-77: the enum
        # Pending, Ingesting, Generating, Ready, Failed ("Current processing status", L78).
        "Pending": State.QUEUED,  # L73 "Pending": not started yet
        "Ingesting": State.RUNNING,  # L74 "Ingesting": a processing step
        "Generating": State.RUNNING,  # L75 "Generating": "a document being generated" (L7)
        "Ready": State.SUCCEEDED,  # L76 "Ready": the generated document is ready
        "Failed": State.FAILED,  # L77 "Failed"; L86 error: "Error message if status is Failed"
    },
    "sarvam": {
        # sarvam page L12-18, "**Job States:**" (also in the spec's description, L43-53)
        # L13 "`Accepted`: Job created, awaiting file upload": the caller must upload
        "Accepted": State.ACTION_REQUIRED,
        "Pending": State.QUEUED,  # L14 "`Pending`: File uploaded, waiting to start"
        "Running": State.RUNNING,  # L15 "`Running`: Processing in progress"
        "Completed": State.SUCCEEDED,  # L16 "`Completed`: All pages processed successfully"
        # L17 "`PartiallyCompleted`: Some pages succeeded, some failed"
        "PartiallyCompleted": State.PARTIALLY_SUCCEEDED,
        "Failed": State.FAILED,  # L18 "`Failed`: All pages failed or job-level error"
    },
    "sarvam_docai": {
        # sarvam_docai page.md L119-129 (Sarvam's "Jobs & Errors" guide, "Job states"); terminal
        # set L17/L84/L129: "completed, partially_completed, failed, and rejected"
        "pending": State.QUEUED,  # L120 "Job created, queued for processing"
        "running": State.RUNNING,  # L121 "Job is being processed"
        "completed": State.SUCCEEDED,  # L122 "All pages processed successfully"
        "partially_completed": State.PARTIALLY_SUCCEEDED,  # L123 "Some pages succeeded, some failed"
        "failed": State.FAILED,  # L124 "All pages failed or a job-level error occurred"
        # L125 "Job rejected before processing (e.g. validation or entitlement)": terminal (L129),
        # nothing produced, nobody cancelled it: a failure
        "rejected": State.FAILED,
        # L127 "Split and Classify jobs report accepted when created and completed when finished":
        # created and submitted by one call (L106), not terminal, nothing for the caller to do
        "accepted": State.QUEUED,
    },
    "neurolinker": {
        # neurolinker page L21-22, field `status`: "Overall status: 'processing', 'completed',
        # 'failed', or 'pending'" (of "the extraction of a specific document", L3)
        "pending": State.QUEUED,  # L22 'pending': the extraction has not started
        "processing": State.RUNNING,  # L22 'processing': the extraction is under way
        "completed": State.SUCCEEDED,  # L22 'completed'; L62 example: "completed" with completed_at and results
        "failed": State.FAILED,  # L22 'failed'
    },
    "aitronos": {
        # aitronos page (one line): "Returns the processing status of a file including progress
        # percentage, current step, and any error messages. Use this endpoint to poll for
        # processing completion"; examples "200 OK — Processing" and "200 OK — Completed".
        # specs/aitronos/NOTES.md row 4: seen `processing`, `completed`; assumed `pending`,
        # `queued`, `failed` (aitronos-sdk 5.0.0: "pending, processing, completed, failed").
        "pending": State.QUEUED,  # NOTES row 4 (SDK's list): before processing
        "queued": State.QUEUED,  # NOTES row 4: assumed, "no source at all"; waiting, by its name
        # page example "200 OK — Processing" (progress_percent 50, current_step "embedding")
        "processing": State.RUNNING,
        "completed": State.SUCCEEDED,  # page example "200 OK — Completed" (progress_percent 100, completed_at set)
        "failed": State.FAILED,  # NOTES row 4: "implied by error_message ('any error messages')" and the SDK's list
    },
    "markdown2pdf": {
        # markdown2pdf page L94-101, schema `Status`: enum Not Started, Processing, Done, Error;
        # no prose describes the values. SDK markdown2pdf-python 0.2.0 (client.py L97) treats
        # `status == "Done"` as finished and then reads `path` (the result).
        "Not Started": State.QUEUED,  # L98 "Not Started"
        "Processing": State.RUNNING,  # L99 "Processing"
        "Done": State.SUCCEEDED,  # L100 "Done"; SDK: "Done" means the document is ready at `path`
        "Error": State.FAILED,  # L101 "Error": the one documented value that is neither progress nor success
    },
}

#: The states a job never leaves (README: "raises WaitTimeout rather than return a status that
#: is not final"; job-status.schema.json: terminal is true exactly for these), written out.
TERMINAL_STATES = frozenset({"succeeded", "partially_succeeded", "failed", "cancelled"})
#: Every state of the contract (job-status.schema.json, properties.state.enum), written out.
ALL_STATES = frozenset(
    {
        "queued",
        "running",
        "succeeded",
        "partially_succeeded",
        "failed",
        "cancelled",
        "action_required",
        "unknown",
    }
)


def body(provider: str, state: str, **fields: Any) -> dict[str, Any]:
    """The minimal valid body of ``provider`` in ``state``, plus ``fields``."""
    return {**_MINIMAL[provider], STATE_FIELD[provider]: state, **fields}


def check(status: JobStatus) -> JobStatus:
    """Assert the JSON form validates against the published schema and the invariants hold."""
    assert isinstance(status, JobStatus)
    data = status.to_dict()
    errors = sorted(VALIDATOR.iter_errors(data), key=str)
    assert not errors, f"{data} does not satisfy job-status.schema.json: {[e.message for e in errors]}"
    assert set(data) == set(SCHEMA["properties"]), "JSON keys differ from the schema's properties"
    assert status.state.value in ALL_STATES
    assert status.terminal is (status.state.value in TERMINAL_STATES)
    assert data["terminal"] is (data["state"] in TERMINAL_STATES)
    if status.progress is not None:
        assert 0.0 <= status.progress <= 1.0
    if status.state is State.SUCCEEDED:
        assert status.progress == 1.0
    for name in ("created_at", "started_at", "updated_at", "completed_at"):
        value = getattr(status, name)
        assert value is None or (value.tzinfo is not None and value.utcoffset() == timedelta(0)), name
    assert status.job_id
    if status.error is not None:
        assert status.error.message
    assert JobStatus.from_dict(json.loads(status.to_json())) == status
    return status


def parse(provider: str, raw: Any, **kwargs: Any) -> JobStatus:
    """``docstatus.parse`` (with the Aitronos job id when needed), checked."""
    if provider in JOB_ID and "job_id" not in kwargs:
        kwargs["job_id"] = JOB_ID[provider]
    return check(docstatus.parse(provider, raw, **kwargs))


def spec(provider: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((SPECS / provider / "openapi.yaml").read_text())
    return loaded


def status_operation(provider: str) -> dict[str, Any]:
    """The status operation of the provider's captured page: the spec's first path (a spec may
    add others after it, e.g. another path an SDK calls for the same status)."""
    paths = spec(provider)["paths"]
    op: dict[str, Any] = next(iter(paths.values()))["get"]
    return op


def spec_examples(provider: str) -> list[Any]:
    """The 200 response examples the provider's spec embeds (from its documentation page)."""
    media = status_operation(provider)["responses"]["200"]["content"]["application/json"]
    found = [media["example"]] if "example" in media else []
    found += [e["value"] for e in media.get("examples", {}).values()]
    return found


def status_schema_ref(provider: str) -> dict[str, str]:
    """``{"$ref": ...}`` of the bare status body in the 200 schema: the schema itself, or, where
    a spec also allows an envelope (``anyOf``), the alternative that has the state field."""
    components = spec(provider)["components"]["schemas"]
    media = status_operation(provider)["responses"]["200"]["content"]["application/json"]
    schema = media["schema"]
    for option in [schema, *schema.get("anyOf", [])]:
        if "$ref" in option:
            model = components[option["$ref"].rsplit("/", 1)[1]]
            if STATE_FIELD[provider] in model.get("properties", {}):
                return {"$ref": option["$ref"]}
    raise AssertionError(f"{provider}: no 200 schema with a {STATE_FIELD[provider]!r} property")


def documented_states(provider: str) -> list[str]:
    """The enum of the state field in the provider's 200 schema."""
    components = spec(provider)["components"]["schemas"]
    model = components[status_schema_ref(provider)["$ref"].rsplit("/", 1)[1]]
    prop = model["properties"][STATE_FIELD[provider]]
    if "$ref" in prop:
        prop = components[prop["$ref"].rsplit("/", 1)[1]]
    states: list[str] = prop["enum"]
    return states
