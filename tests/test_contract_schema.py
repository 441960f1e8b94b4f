"""specs/job-status.schema.json: a valid Draft 2020-12 schema that matches JobStatus.to_dict()
exactly and rejects what breaks the contract."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import docstatus
import pytest
from _status_checks import ALL_STATES, SCHEMA, TERMINAL_STATES, VALIDATOR, check
from docstatus import ErrorInfo, JobStatus, Output, PageError, Pages, State
from jsonschema import Draft202012Validator

FULL = JobStatus(
    provider="sarvam",
    job_id="5b1f0c9e-8c1d-4a7e-9f6a-2d3b4c5d6e7f",
    state=State.PARTIALLY_SUCCEEDED,
    provider_state="PartiallyCompleted",
    progress=1.0,
    step="ocr",
    created_at=datetime(2025, 10, 15, 9, 49, 50, 574754, tzinfo=UTC),
    started_at=datetime(2025, 10, 15, 9, 50, tzinfo=UTC),
    updated_at=datetime(2025, 10, 15, 9, 52, tzinfo=UTC),
    completed_at=datetime(2025, 10, 15, 9, 52, 15, tzinfo=UTC),
    error=ErrorInfo(code="PAGE_ERRORS", message="2 pages failed"),
    pages=Pages(total=12, processed=12, succeeded=10, failed=2, errors=(PageError(page=3, code="X", message="y"),)),
    outputs=(Output(name="a.md"), Output(name="path", uri="https://x/y.pdf")),
)
GOOD = FULL.to_dict()


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_required_fields_are_exactly_the_json_form():
    assert sorted(SCHEMA["required"]) == sorted(SCHEMA["properties"]) == sorted(GOOD)


def test_enums_match_the_python_types():
    assert SCHEMA["properties"]["state"]["enum"] == [s.value for s in State]
    assert sorted(SCHEMA["properties"]["provider"]["enum"]) == sorted(docstatus.PROVIDERS)
    terminal = SCHEMA["allOf"][0]["if"]["properties"]["state"]["enum"]
    assert sorted(terminal) == sorted(TERMINAL_STATES)
    assert sorted(SCHEMA["properties"]["state"]["enum"]) == sorted(ALL_STATES)


@pytest.mark.parametrize("state", sorted(ALL_STATES))
def test_terminal_states_written_out(state):
    # README: wait returns only a final status; raise_for_failure: "failed / partial / cancelled"
    expected = {
        "queued": False,
        "running": False,
        "action_required": False,  # Sarvam Accepted: the job waits for the caller, it has not ended
        "unknown": False,
        "succeeded": True,
        "partially_succeeded": True,
        "failed": True,
        "cancelled": True,
    }[state]
    assert State(state).terminal is expected
    status = JobStatus(
        provider="artos",
        job_id="d",
        state=State(state),
        provider_state="x",
        progress=1.0 if state == "succeeded" else None,
    )
    assert status.terminal is expected
    assert status.to_dict()["terminal"] is expected
    assert not list(VALIDATOR.iter_errors(status.to_dict()))


def test_every_property_is_described():
    for name, prop in SCHEMA["properties"].items():
        target = SCHEMA["$defs"][prop["$ref"].rsplit("/", 1)[1]] if "$ref" in prop else prop
        assert target.get("description"), name


def test_full_status_validates_and_round_trips():
    check(FULL)
    minimal = JobStatus(provider="artos", job_id="d", state=State.UNKNOWN, provider_state="")
    check(minimal)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("progress",), 1.5),
        (("progress",), -0.1),
        (("progress",), 50),
        (("terminal",), False),
        (("state",), "done"),
        (("provider",), "textract"),
        (("job_id",), ""),
        (("created_at",), "2025-10-15T11:49:50+02:00"),
        (("created_at",), "2025-10-15T09:49:50"),
        (("created_at",), "yesterday"),
        (("error",), {"code": None, "message": ""}),
        (("error",), {"code": "", "message": "x"}),
        (("error",), "boom"),
        (("pages", "total"), -1),
        (("pages", "errors"), [{"page": "3", "code": None, "message": None}]),
        (("outputs",), [{"name": "a"}]),
        (("provider_state",), None),
    ],
)
def test_schema_rejects_contract_breaks(path, value):
    data = copy.deepcopy(GOOD)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert list(VALIDATOR.iter_errors(data)), f"{path}={value!r} was accepted"


@pytest.mark.parametrize("field", sorted(GOOD))
def test_schema_rejects_a_missing_field(field):
    data = copy.deepcopy(GOOD)
    del data[field]
    assert list(VALIDATOR.iter_errors(data))


def test_succeeded_needs_progress_one():
    data = {**GOOD, "state": "succeeded", "terminal": True, "progress": 0.5}
    assert list(VALIDATOR.iter_errors(data))
    data["progress"] = 1
    assert not list(VALIDATOR.iter_errors(data))


def test_non_terminal_state_must_not_be_terminal():
    data = {**GOOD, "state": "running", "terminal": True}
    assert list(VALIDATOR.iter_errors(data))


def test_added_fields_are_allowed_for_forward_compatibility():
    assert not list(VALIDATOR.iter_errors({**GOOD, "field_of_version_2": {"x": 1}}))
