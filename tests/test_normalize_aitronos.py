"""Aitronos: mapping rows, the documentation examples, and edge cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from _status_checks import AITRONOS_ID, body, parse, spec_examples
from docstatus import State


def test_documentation_examples():
    processing, completed = spec_examples("aitronos")
    status = parse("aitronos", processing, job_id=AITRONOS_ID)
    assert status.job_id == AITRONOS_ID
    assert status.ref == f"aitronos:{AITRONOS_ID}"
    assert status.state is State.RUNNING
    assert status.progress == 0.5
    assert status.step == "embedding"
    assert status.error is None
    assert status.started_at == datetime(2025, 6, 15, 10, 0, 5, tzinfo=UTC)
    assert status.completed_at is None

    status = parse("aitronos", completed, job_id=AITRONOS_ID)
    assert status.state is State.SUCCEEDED
    assert status.terminal
    assert status.progress == 1.0
    assert status.step is None
    assert status.completed_at == datetime(2025, 6, 15, 10, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        # the page shows only "200 OK — Processing" and "200 OK — Completed"; the other three are
        # specs/aitronos/NOTES.md row 4 (aitronos-sdk 5.0.0: "pending, processing, completed, failed";
        # `queued` assumed, waiting by its name)
        ("pending", State.QUEUED),
        ("queued", State.QUEUED),
        ("processing", State.RUNNING),  # page example: progress_percent 50, current_step "embedding"
        ("completed", State.SUCCEEDED),  # page example: progress_percent 100, completed_at set
        ("failed", State.FAILED),  # NOTES row 4: implied by "any error messages"
        ("completed ", State.SUCCEEDED),
        ("Queued", State.QUEUED),
        ("FAILED", State.FAILED),
    ],
)
def test_states(raw, state):
    assert parse("aitronos", body("aitronos", raw)).state is state


def test_failed_with_error_message():
    status = parse(
        "aitronos", body("aitronos", "failed", error_message="Unsupported file type", current_step="parsing")
    )
    assert status.error is not None
    assert status.error.message == "Unsupported file type"
    assert status.step == "parsing"
    assert status.terminal


@pytest.mark.parametrize("message", ["", " ", None])
def test_empty_error_message_is_no_error(message):
    assert parse("aitronos", body("aitronos", "failed", error_message=message)).error is None


@pytest.mark.parametrize(("percent", "expected"), [(0, 0.0), (50, 0.5), (-3, 0.0), (140, 1.0), (None, None)])
def test_progress_percent(percent, expected):
    assert parse("aitronos", body("aitronos", "processing", progress_percent=percent)).progress == expected


def test_naive_and_offset_timestamps_become_utc():
    status = parse(
        "aitronos",
        body(
            "aitronos",
            "completed",
            started_at="2025-06-15T10:00:05",
            completed_at="2025-06-15T12:02:30+02:00",
        ),
    )
    assert status.started_at == datetime(2025, 6, 15, 10, 0, 5, tzinfo=UTC)
    assert status.completed_at == datetime(2025, 6, 15, 10, 2, 30, tzinfo=UTC)
    assert status.to_dict()["completed_at"] == "2025-06-15T10:02:30Z"


def test_empty_step_is_none():
    assert parse("aitronos", body("aitronos", "processing", current_step="")).step is None
