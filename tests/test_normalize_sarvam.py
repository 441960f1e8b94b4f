"""Sarvam: mapping rows, page metrics, errors and outputs (its page has no example body)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from _status_checks import SARVAM_ID, body, parse
from docstatus import ActionRequired, ErrorInfo, JobFailed, Output, PageError, State, WaitPolicy
from docstatus._waiting._core import Action, Waiter


def detail(state="Running", **fields):
    return {
        "inputs": [{"file_name": "scan.pdf", "file_id": "in-1"}],
        "outputs": [],
        "state": state,
        **fields,
    }


REALISTIC = {
    "job_id": SARVAM_ID,
    "job_state": "PartiallyCompleted",
    "created_at": "2025-10-15T09:49:50.574754Z",
    "updated_at": "2025-10-15T09:52:15.622575Z",
    "storage_container_type": "Azure",
    "total_files": 1,
    "successful_files_count": 0,
    "failed_files_count": 0,
    "error_message": "",
    "job_details": [
        {
            "inputs": [{"file_name": "Invoice_20250101.pdf", "file_id": "f1"}],
            "outputs": [{"file_name": "Invoice_20250101.md", "file_id": "o1"}],
            "state": "PartialSuccess",
            "total_pages": 12,
            "pages_processed": 12,
            "pages_succeeded": 10,
            "pages_failed": 2,
            "error_message": "2 pages failed",
            "error_code": "PAGE_ERRORS",
            "page_errors": [
                {"page_number": 3, "error_code": "OCR_FAILED", "error_message": "Could not read the page"},
                {"page_number": 7, "error_code": "TIMEOUT", "error_message": "Page processing timed out"},
            ],
        }
    ],
}


def test_realistic_partial_body():
    status = parse("sarvam", REALISTIC)
    assert status.job_id == SARVAM_ID
    assert status.state is State.PARTIALLY_SUCCEEDED
    assert status.terminal
    assert status.progress == 1.0
    assert status.created_at == datetime(2025, 10, 15, 9, 49, 50, 574754, tzinfo=UTC)
    assert status.updated_at == datetime(2025, 10, 15, 9, 52, 15, 622575, tzinfo=UTC)
    pages = status.pages
    assert pages is not None
    assert (pages.total, pages.processed, pages.succeeded, pages.failed) == (12, 12, 10, 2)
    assert pages.errors == (
        PageError(page=3, code="OCR_FAILED", message="Could not read the page"),
        PageError(page=7, code="TIMEOUT", message="Page processing timed out"),
    )
    assert status.error == ErrorInfo(code="PAGE_ERRORS", message="2 pages failed")
    assert status.outputs == (Output(name="Invoice_20250101.md"),)


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        # specs/sarvam/page.md L12-18, "**Job States:**"
        ("Accepted", State.ACTION_REQUIRED),  # L13 "Job created, awaiting file upload": the caller must act
        ("Pending", State.QUEUED),  # L14 "File uploaded, waiting to start"
        ("Running", State.RUNNING),  # L15 "Processing in progress"
        ("Completed", State.SUCCEEDED),  # L16 "All pages processed successfully"
        ("PartiallyCompleted", State.PARTIALLY_SUCCEEDED),  # L17 "Some pages succeeded, some failed"
        ("Failed", State.FAILED),  # L18 "All pages failed or job-level error"
        ("partially completed", State.PARTIALLY_SUCCEEDED),
        ("completed ", State.SUCCEEDED),
    ],
)
def test_states(raw, state):
    assert parse("sarvam", body("sarvam", raw)).state is state


def test_accepted_is_action_required_not_terminal():
    status = parse("sarvam", body("sarvam", "Accepted"))
    assert not status.terminal
    assert status.pages is None
    assert status.progress is None


def test_pages_are_summed_over_details():
    status = parse(
        "sarvam",
        body(
            "sarvam",
            "Running",
            job_details=[
                detail(total_pages=10, pages_processed=4, pages_succeeded=4, pages_failed=0),
                detail(total_pages=6, pages_processed=2, pages_succeeded=1, pages_failed=1),
            ],
        ),
    )
    pages = status.pages
    assert pages is not None
    assert (pages.total, pages.processed, pages.succeeded, pages.failed) == (16, 6, 5, 1)
    assert status.progress == pytest.approx(6 / 16)


def test_zero_total_pages_gives_unknown_progress():
    status = parse("sarvam", body("sarvam", "Running", job_details=[detail(total_pages=0)]))
    assert status.progress is None
    assert status.pages is not None
    assert status.pages.total == 0


def test_missing_page_counts_default_to_zero():
    status = parse("sarvam", body("sarvam", "Pending", job_details=[detail("Pending")]))
    assert status.pages is not None
    assert (status.pages.total, status.pages.processed) == (0, 0)
    assert status.progress is None


def test_negative_counts_and_overshoot_are_clamped():
    status = parse(
        "sarvam",
        body("sarvam", "Running", job_details=[detail(total_pages=4, pages_processed=9, pages_failed=-2)]),
    )
    assert status.progress == 1.0
    assert status.pages is not None
    assert status.pages.failed == 0


def test_completed_is_progress_one_even_with_zero_pages():
    assert parse("sarvam", body("sarvam", "Completed", job_details=[detail("Success")])).progress == 1.0


def test_job_level_error_wins():
    status = parse(
        "sarvam",
        body(
            "sarvam",
            "Failed",
            error_message="Input file is password protected",
            job_details=[detail("Failed", error_code="E_FILE", error_message="bad file")],
        ),
    )
    assert status.error == ErrorInfo(code=None, message="Input file is password protected")


def test_first_failing_detail_when_no_job_level_error():
    status = parse(
        "sarvam",
        body(
            "sarvam",
            "Failed",
            error_message="",
            job_details=[
                detail("Success", error_message="", error_code=None),
                detail("Failed", error_code="E_OCR", error_message=""),
                detail("Failed", error_code="E_LATER", error_message="later"),
            ],
        ),
    )
    assert status.error == ErrorInfo(code="E_OCR", message="E_OCR")


def test_empty_errors_are_no_error():
    status = parse(
        "sarvam",
        body("sarvam", "Completed", error_message="", job_details=[detail("Success", error_message="")]),
    )
    assert status.error is None


def test_outputs_across_details():
    status = parse(
        "sarvam",
        body(
            "sarvam",
            "Completed",
            job_details=[
                detail("Success", outputs=[{"file_name": "a.md", "file_id": "1"}]),
                detail(
                    "Success",
                    outputs=[{"file_name": "b.md", "file_id": "2"}, {"file_name": "", "file_id": "3"}],
                ),
            ],
        ),
    )
    assert status.outputs == (Output(name="a.md"), Output(name="b.md"))


def test_unknown_storage_type_and_detail_state_are_tolerated():
    status = parse(
        "sarvam",
        body("sarvam", "Running", storage_container_type="S3", job_details=[detail("Retrying")]),
    )
    assert status.state is State.RUNNING
    assert status.model.storage_container_type.is_unknown


def test_naive_timestamps_are_utc():
    status = parse("sarvam", body("sarvam", "Running", created_at="2025-10-15T09:49:50"))
    assert status.created_at == datetime(2025, 10, 15, 9, 49, 50, tzinfo=UTC)


# --- what the documented job states promise a caller (specs/sarvam/page.md L12-18; README:
# "raise_for_failure(): JobFailed for failed / partial / cancelled", "action_required (Sarvam
# Accepted) raises ActionRequired")


def test_partially_completed_is_a_failure_that_ended():
    # L17 "`PartiallyCompleted`: Some pages succeeded, some failed": the job has ended, and not well
    status = parse("sarvam", REALISTIC)
    assert status.state.value == "partially_succeeded"
    assert status.terminal
    with pytest.raises(JobFailed) as caught:
        status.raise_for_failure()
    assert caught.value.status is status
    assert "PartiallyCompleted" in str(caught.value)


def test_failed_is_a_failure_that_ended_with_the_job_level_error():
    # L18 "`Failed`: All pages failed or job-level error"
    status = parse("sarvam", body("sarvam", "Failed", error_message="Input file is password protected"))
    assert status.state.value == "failed"
    assert status.terminal
    with pytest.raises(JobFailed, match="Input file is password protected"):
        status.raise_for_failure()


def test_accepted_waits_for_the_caller():
    # L13 "`Accepted`: Job created, awaiting file upload": not ended, and it will not move by itself
    status = parse("sarvam", body("sarvam", "Accepted"))
    assert status.state.value == "action_required"
    assert not status.terminal
    with pytest.raises(ActionRequired):
        status.raise_for_failure()


@pytest.mark.parametrize("details", [[], [detail("Pending")]])  # the create example; the /start example
def test_accepted_is_polled_through_while_waiting_for_the_sarvam_grace(details):
    # NOTES row 6: /start answers Accepted (its file listed, its detail Pending) and the SDK's
    # waiter polls through it; the status stays action_required, waiting waits 30 s for it to move
    status = parse("sarvam", body("sarvam", "Accepted", job_details=details))
    assert status.state is State.ACTION_REQUIRED
    waiter = Waiter.start(f"sarvam:{SARVAM_ID}", WaitPolicy(), 0.0, draw=lambda: 0.0)
    assert waiter.on_status(status, 0.0).action is Action.POLL
    assert waiter.on_status(status, 29.0).action is Action.POLL
    step = waiter.on_status(status, 30.0)
    assert isinstance(step.error, ActionRequired)
    assert step.error.status is status


@pytest.mark.parametrize("raw", ["Pending", "Running"])
def test_pending_and_running_have_not_ended(raw):
    # L14 "File uploaded, waiting to start", L15 "Processing in progress"
    status = parse("sarvam", body("sarvam", raw))
    assert not status.terminal
    assert status.raise_for_failure() is status


def test_completed_is_success():
    # L16 "`Completed`: All pages processed successfully"
    status = parse("sarvam", body("sarvam", "Completed"))
    assert (status.state.value, status.terminal, status.progress) == ("succeeded", True, 1.0)
    assert status.raise_for_failure() is status
