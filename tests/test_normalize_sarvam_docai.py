"""Sarvam Document AI (``sarvam_docai``): every status-table row against the documentation's
words, the guide's example body, usage as pages and progress, the Split/Classify fields, and what
the spec leaves open (specs/sarvam_docai/NOTES.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import MappingProxyType

import docstatus
import pytest
from _status_checks import SARVAM_DOCAI_ID, body, parse, spec_examples
from docstatus import JobFailed, Pages, State
from docstatus._registry import mapper
from docstatus_sarvam_docai_client.models import DocAiJobStatusResponse

#: specs/sarvam_docai/page.md L133-146: the "Status response" of Sarvam's Jobs & Errors guide,
#: written out here (not read from the spec) so that the spec's example is checked too.
GUIDE_EXAMPLE = {
    "job_id": "019fb81e-2543-70bd-a737-b5a2d62a3bb7",
    "status": "completed",
    "pipeline": "digitise",
    "usage": {"pages_total": 1, "pages_processed": 1, "pages_succeeded": 1, "pages_failed": 0},
    "created_at": "2026-07-31T12:20:11Z",
    "updated_at": "2026-07-31T12:20:15Z",
}


def test_the_guides_example_body():
    status = parse("sarvam_docai", json.dumps(GUIDE_EXAMPLE).encode())
    assert status.provider == "sarvam_docai"
    assert status.job_id == "019fb81e-2543-70bd-a737-b5a2d62a3bb7"
    assert status.ref == "sarvam_docai:019fb81e-2543-70bd-a737-b5a2d62a3bb7"
    assert status.state is State.SUCCEEDED
    assert status.provider_state == "completed"
    assert status.terminal
    assert status.progress == 1.0
    assert status.pages == Pages(total=1, processed=1, succeeded=1, failed=0)
    assert status.created_at == datetime(2026, 7, 31, 12, 20, 11, tzinfo=UTC)
    assert status.updated_at == datetime(2026, 7, 31, 12, 20, 15, tzinfo=UTC)
    assert status.started_at is None
    assert status.completed_at is None  # not documented; never guessed from updated_at
    assert status.error is None
    assert status.outputs == ()
    assert status.step is None


def test_the_specs_example_is_the_guides():
    assert spec_examples("sarvam_docai") == [GUIDE_EXAMPLE]


@pytest.mark.parametrize(
    ("raw", "state", "terminal"),
    [
        # specs/sarvam_docai/page.md L119-129 (Jobs & Errors guide, "Job states")
        ("pending", State.QUEUED, False),  # L120 "Job created, queued for processing"
        ("running", State.RUNNING, False),  # L121 "Job is being processed"
        ("completed", State.SUCCEEDED, True),  # L122 "All pages processed successfully"
        ("partially_completed", State.PARTIALLY_SUCCEEDED, True),  # L123 "Some pages succeeded, some failed"
        ("failed", State.FAILED, True),  # L124 "All pages failed or a job-level error occurred"
        # L125 "Job rejected before processing (e.g. validation or entitlement)"; terminal (L129)
        ("rejected", State.FAILED, True),
        # L127 "Split and Classify jobs report accepted when created and completed when finished"
        ("accepted", State.QUEUED, False),
    ],
)
def test_every_documented_status(raw, state, terminal):
    status = parse("sarvam_docai", body("sarvam_docai", raw))
    assert status.state is state
    assert status.provider_state == raw
    assert status.terminal is terminal


def test_the_table_is_frozen_and_has_exactly_the_seven_documented_values():
    table = mapper("sarvam_docai").STATES
    assert isinstance(table, MappingProxyType)
    assert sorted(table) == [
        "accepted",
        "completed",
        "failed",
        "partially_completed",
        "pending",
        "rejected",
        "running",
    ]


def test_terminal_set_is_the_documented_one():
    # page.md L17, L84, L129: "Terminal statuses: completed, partially_completed, failed, rejected"
    terminal = {
        raw for raw in mapper("sarvam_docai").STATES if parse("sarvam_docai", body("sarvam_docai", raw)).terminal
    }
    assert terminal == {"completed", "partially_completed", "failed", "rejected"}


def test_accepted_does_not_make_waiting_raise():
    # NOTES row 5a: accepted is queued, not action_required (the job was created and submitted)
    status = parse("sarvam_docai", body("sarvam_docai", "accepted"))
    assert status.raise_for_failure() is status


@pytest.mark.parametrize("raw", ["rejected", "failed", "partially_completed"])
def test_failures_name_the_providers_value(raw):
    status = parse("sarvam_docai", body("sarvam_docai", raw))
    with pytest.raises(JobFailed, match=f"\\({raw}\\)"):
        status.raise_for_failure()


def test_case_and_spaces_are_ignored_and_unknown_is_kept():
    assert parse("sarvam_docai", body("sarvam_docai", "Partially_Completed ")).state is State.PARTIALLY_SUCCEEDED
    unknown = parse("sarvam_docai", body("sarvam_docai", "paused"))
    assert unknown.state is State.UNKNOWN
    assert unknown.provider_state == "paused"


def test_running_digitise_job_progress_from_usage():
    status = parse(
        "sarvam_docai",
        body(
            "sarvam_docai",
            "running",
            pipeline="extract",
            usage={"pages_total": 8, "pages_processed": 2, "pages_succeeded": 2, "pages_failed": 0},
            created_at="2026-07-31T12:20:11+05:30",
        ),
    )
    assert status.progress == 0.25
    assert status.pages == Pages(total=8, processed=2, succeeded=2, failed=0)
    assert status.created_at == datetime(2026, 7, 31, 6, 50, 11, tzinfo=UTC)


def test_partially_completed_keeps_the_page_counts():
    status = parse(
        "sarvam_docai",
        body(
            "sarvam_docai",
            "partially_completed",
            usage={"pages_total": 10, "pages_processed": 10, "pages_succeeded": 7, "pages_failed": 3},
        ),
    )
    assert status.state is State.PARTIALLY_SUCCEEDED
    assert status.progress == 1.0
    assert status.pages == Pages(total=10, processed=10, succeeded=7, failed=3)


@pytest.mark.parametrize(
    ("usage", "pages", "progress"),
    [
        (None, None, None),  # no usage at all
        ({}, None, None),  # every count absent
        ({"pages_total": None, "pages_processed": None}, None, None),  # SDK: Optional[int]
        ({"pages_total": 0, "pages_processed": 0}, Pages(total=0, processed=0), None),  # 0 pages: unknowable
        ({"pages_processed": 3}, Pages(processed=3), None),  # no total
        ({"pages_total": 4, "pages_processed": 9}, Pages(total=4, processed=9), 1.0),  # clamped
        ({"pages_total": -1, "pages_processed": 1}, Pages(processed=1), None),  # negative: unknown
    ],
)
def test_usage_edges(usage, pages, progress):
    fields = {} if usage is None else {"usage": usage}
    status = parse("sarvam_docai", body("sarvam_docai", "running", **fields))
    assert status.pages == pages
    assert status.progress == progress


@pytest.mark.parametrize(
    ("value", "progress"),
    [
        (0.4, 0.4),  # at most 1: a fraction (NOTES row 6)
        (1, 1.0),
        (40, 0.4),  # above 1: a percentage
        (250, 1.0),  # clamped
        (-3, 0.0),
        ("40%", None),  # not a number: unknown, not malformed (the type is undocumented)
        ({"done": 1, "total": 2}, None),
        (True, None),
        (None, None),
    ],
)
def test_split_classify_progress(value, progress):
    raw = body(
        "sarvam_docai",
        "accepted",
        type="split",
        phase="classifying",
        progress=value,
        usage={"pages_processed": 2, "pages_source": 5},
    )
    status = parse("sarvam_docai", raw)
    assert status.state is State.QUEUED
    assert status.progress == progress
    assert status.step == "classifying"
    assert status.pages == Pages(processed=2)
    assert status.model.usage.pages_source == 5  # the guide's Split/Classify count, kept on the model


def test_usage_progress_wins_over_the_progress_field():
    raw = body("sarvam_docai", "running", progress=90, usage={"pages_total": 4, "pages_processed": 1})
    assert parse("sarvam_docai", raw).progress == 0.25


@pytest.mark.parametrize("phase", [3, {"name": "split"}, ["a"], "", "   "])
def test_phase_that_is_not_text_is_no_step(phase):
    assert parse("sarvam_docai", body("sarvam_docai", "accepted", phase=phase)).step is None


@pytest.mark.parametrize("stamp", ["yesterday", "31/07/2026 12:20", ""])
def test_timestamp_strings_that_do_not_parse_are_none(stamp):
    # NOTES row 10: the spec says "string"; an unreadable one is dropped, the status still parses
    status = parse("sarvam_docai", body("sarvam_docai", "running", created_at=stamp, updated_at=stamp))
    assert status.created_at is None
    assert status.updated_at is None


def test_a_split_body_with_only_the_documented_split_fields_parses():
    # NOTES row 7: only job_id and status are required
    raw = {"job_id": "job-split-1", "status": "completed", "type": "classify", "usage": {"pages_processed": 4}}
    status = parse("sarvam_docai", raw)
    assert status.state is State.SUCCEEDED
    assert status.job_id == "job-split-1"
    assert status.progress == 1.0


def test_the_id_is_kept_exactly_as_given():
    # NOTES row 4: no UUID canonicalization (unlike sarvam)
    upper = SARVAM_DOCAI_ID.upper()
    assert parse("sarvam_docai", body("sarvam_docai", "running", job_id=upper)).job_id == upper
    assert docstatus.parse_ref(f"sarvam_docai:{upper}").job_id == upper


def test_a_generated_model_is_accepted():
    model = DocAiJobStatusResponse.from_dict(GUIDE_EXAMPLE)
    status = docstatus.parse("sarvam_docai", model)
    assert status.model is model
    assert status.state is State.SUCCEEDED


def test_a_legacy_body_is_not_a_document_ai_status():
    legacy = {
        "job_id": SARVAM_DOCAI_ID,
        "job_state": "Running",
        "created_at": "2025-10-15T09:49:50Z",
        "updated_at": "2025-10-15T09:52:15Z",
        "storage_container_type": "Azure",
    }
    with pytest.raises(docstatus.MalformedResponse, match="'status' is missing"):
        docstatus.parse("sarvam_docai", legacy)
    with pytest.raises(docstatus.MalformedResponse):
        docstatus.parse("sarvam", GUIDE_EXAMPLE)
