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
M2P_ID = "1d6986aa-80ac-4a4d-9009-5a323c9046b1"
AITRONOS_ID = "org_xyz789/vs_abc123/file_abc123def456"

#: Each provider's state field, and the smallest body its spec accepts (state filled in by ``body``).
STATE_FIELD = {
    "artos": "status",
    "sarvam": "job_state",
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
    "neurolinker": {"success": True, "document_id": "1d6986aa-80ac-4a4d-9009-5a323c9046b1"},
    "aitronos": {},
    "markdown2pdf": {"id": M2P_ID},
}
#: The job id ``parse`` needs (Aitronos bodies carry none).
JOB_ID = {"aitronos": AITRONOS_ID}


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
    assert status.terminal is status.state.terminal
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
    paths = spec(provider)["paths"]
    (path,) = paths.values()
    op: dict[str, Any] = path["get"]
    return op


def spec_examples(provider: str) -> list[Any]:
    """The 200 response examples the provider's spec embeds (from its documentation page)."""
    media = status_operation(provider)["responses"]["200"]["content"]["application/json"]
    found = [media["example"]] if "example" in media else []
    found += [e["value"] for e in media.get("examples", {}).values()]
    return found


def documented_states(provider: str) -> list[str]:
    """The enum of the state field in the provider's 200 schema."""
    components = spec(provider)["components"]["schemas"]
    media = status_operation(provider)["responses"]["200"]["content"]["application/json"]
    model = components[media["schema"]["$ref"].rsplit("/", 1)[1]]
    prop = model["properties"][STATE_FIELD[provider]]
    if "$ref" in prop:
        prop = components[prop["$ref"].rsplit("/", 1)[1]]
    states: list[str] = prop["enum"]
    return states
