"""Artos: mapping rows, the documentation example, and edge cases."""

from __future__ import annotations

import pytest
from _status_checks import body, parse, spec_examples
from docstatus import State


def test_documentation_example():
    (example,) = spec_examples("artos")
    status = parse("artos", example)
    assert status.job_id == "document-uuid-456"
    assert status.state is State.RUNNING
    assert status.provider_state == "Generating"
    assert status.step == "Generating"
    assert status.progress is None
    assert status.error is None
    assert status.pages is None
    assert status.outputs == ()
    assert status.ref == "artos:document-uuid-456"


@pytest.mark.parametrize(
    ("raw", "state", "step"),
    [
        # specs/artos/page.md L73-78, TaskStatusResponse.status, "Current processing status":
        ("Pending", State.QUEUED, None),  # L73: not started
        ("Ingesting", State.RUNNING, "Ingesting"),  # L74: a processing step
        ("Generating", State.RUNNING, "Generating"),  # L75; L7 "a document being generated"
        ("Ready", State.SUCCEEDED, None),  # L76: the document is ready
        ("Failed", State.FAILED, None),  # L77; L86 error: "Error message if status is Failed"
        ("INGESTING", State.RUNNING, "Ingesting"),
        ("generating ", State.RUNNING, "Generating"),
        ("READY", State.SUCCEEDED, None),
    ],
)
def test_states_and_steps(raw, state, step):
    status = parse("artos", body("artos", raw))
    assert (status.state, status.step, status.provider_state) == (state, step, raw)


def test_failed_carries_its_error():
    status = parse("artos", body("artos", "Failed", error="Template not found", progress=40))
    assert status.terminal
    assert status.error is not None
    assert status.error.code is None
    assert status.error.message == "Template not found"
    assert status.progress == 0.4


@pytest.mark.parametrize("error", ["", "   ", None])
def test_empty_error_is_no_error(error):
    assert parse("artos", body("artos", "Failed", error=error)).error is None


@pytest.mark.parametrize(
    ("progress", "expected"),
    [(None, None), (0, 0.0), (45, 0.45), (100, 1.0), (-20, 0.0), (180, 1.0)],
)
def test_progress_is_a_fraction_of_the_percentage(progress, expected):
    assert parse("artos", body("artos", "Generating", progress=progress)).progress == expected


@pytest.mark.parametrize("progress", [None, 0, 30])
def test_ready_is_always_progress_one(progress):
    assert parse("artos", body("artos", "Ready", progress=progress)).progress == 1.0


def test_missing_optional_fields():
    status = parse("artos", {"task_id": "d", "status": "Pending"})
    assert status.state is State.QUEUED
    assert status.progress is None
    assert status.error is None
    assert status.created_at is None
