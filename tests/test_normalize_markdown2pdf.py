"""markdown2pdf: mapping rows and edge cases (its page has no example body)."""

from __future__ import annotations

import pytest
from _status_checks import M2P_ID, body, parse
from docstatus import JobFailed, Output, State


def test_realistic_done_body():
    status = parse(
        "markdown2pdf",
        {
            "id": M2P_ID,
            "description": "Quarterly report",
            "status": "Done",
            "status_meta": "PDF ready",
            "progress": 1,
            "path": "https://api.markdown2pdf.ai/output/1d6986aa.pdf",
        },
    )
    assert status.job_id == M2P_ID
    assert status.state is State.SUCCEEDED
    assert status.step == "PDF ready"
    assert status.error is None
    # `path` is the URL of the output's metadata (SDKs read {"url": ...} from it): one output "metadata"
    assert status.outputs == (Output(name="metadata", uri="https://api.markdown2pdf.ai/output/1d6986aa.pdf"),)


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        # specs/markdown2pdf/page.md L94-101, schema Status: enum Not Started, Processing, Done, Error
        # (no prose on the values); SDK markdown2pdf-python 0.2.0 client.py L97: "Done" = finished
        ("Not Started", State.QUEUED),  # L98
        ("Processing", State.RUNNING),  # L99
        ("Done", State.SUCCEEDED),  # L100; the SDK then reads `path`
        ("Error", State.FAILED),  # L101: the only documented value that is neither progress nor success
        ("not started", State.QUEUED),
        ("NotStarted", State.QUEUED),
        ("NOT  STARTED", State.QUEUED),
        ("done", State.SUCCEEDED),
    ],
)
def test_states(raw, state):
    assert parse("markdown2pdf", body("markdown2pdf", raw)).state is state


def test_error_message_comes_from_status_meta():
    status = parse("markdown2pdf", body("markdown2pdf", "Error", status_meta="LaTeX compilation failed"))
    assert status.error is not None
    assert status.error.message == "LaTeX compilation failed"
    assert status.step == "LaTeX compilation failed"


def test_status_meta_is_no_error_while_running():
    status = parse("markdown2pdf", body("markdown2pdf", "Processing", status_meta="Rendering", progress=0.3))
    assert status.error is None
    assert status.step == "Rendering"
    assert status.progress == 0.3


@pytest.mark.parametrize("meta", ["", None])
def test_error_without_meta_has_no_message(meta):
    status = parse("markdown2pdf", body("markdown2pdf", "Error", status_meta=meta))
    assert status.error is None
    assert status.step is None


@pytest.mark.parametrize(("given", "expected"), [(0, 0.0), (0.42, 0.42), (-0.5, 0.0), (1.5, 1.0), (42, 1.0)])
def test_progress_is_a_fraction_clamped(given, expected):
    assert parse("markdown2pdf", body("markdown2pdf", "Processing", progress=given)).progress == expected


@pytest.mark.parametrize("path", [None, ""])
def test_no_path_no_output(path):
    assert parse("markdown2pdf", body("markdown2pdf", "Done", path=path)).outputs == ()


def test_uppercase_uuid_is_normalized():
    status = parse("markdown2pdf", body("markdown2pdf", "Done", id=M2P_ID.upper()))
    assert status.job_id == M2P_ID


# --- what the documented states promise a caller (specs/markdown2pdf/page.md L94-101: Not Started,
# Processing, Done, Error; README: "raise_for_failure(): JobFailed for failed / partial / cancelled")


def test_error_is_a_failure_that_ended():
    # L101 "Error": a job in error has ended and did not produce the document
    status = parse("markdown2pdf", body("markdown2pdf", "Error", status_meta="LaTeX compilation failed"))
    assert status.state.value == "failed"
    assert status.terminal
    with pytest.raises(JobFailed, match="LaTeX compilation failed") as caught:
        status.raise_for_failure()
    assert caught.value.status is status


def test_done_is_success_with_the_path():
    # L100 "Done"; SDK markdown2pdf-python 0.2.0 client.py L97-102: on "Done" it GETs `path` (the metadata)
    status = parse("markdown2pdf", body("markdown2pdf", "Done", path="https://api.markdown2pdf.ai/output/x.pdf"))
    assert (status.state.value, status.terminal, status.progress) == ("succeeded", True, 1.0)
    assert status.raise_for_failure() is status
    assert [o.uri for o in status.outputs] == ["https://api.markdown2pdf.ai/output/x.pdf"]


@pytest.mark.parametrize("raw", ["Not Started", "Processing"])
def test_not_started_and_processing_have_not_ended(raw):
    # L98, L99
    status = parse("markdown2pdf", body("markdown2pdf", raw))
    assert not status.terminal
    assert status.raise_for_failure() is status
