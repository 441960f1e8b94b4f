"""Neurolinker: mapping rows, the documentation example, and edge cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from _status_checks import body, parse, spec_examples
from docstatus import Output, Pages, State


def test_documentation_example():
    (example,) = spec_examples("neurolinker")
    status = parse("neurolinker", example)
    assert status.job_id == "1d6986aa-80ac-4a4d-9009-5a323c9046b1"
    assert status.state is State.SUCCEEDED
    assert status.progress == 1.0
    assert status.pages == Pages(total=8)
    assert status.started_at == datetime(2025, 10, 15, 9, 49, 50, 574754, tzinfo=UTC)
    assert status.completed_at == datetime(2025, 10, 15, 9, 52, 15, 622575, tzinfo=UTC)
    storage = example["results"]["storage_path"]
    assert status.outputs[0] == Output(name="storage_path", uri=storage)
    assert [o.name for o in status.outputs[1:-1]] == example["results"]["cropped_images"]
    assert all(o.uri is None for o in status.outputs[1:-1])
    assert status.outputs[-1] == Output(name="document_page_url", uri=example["document_page_url"])
    assert status.error is None


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        # specs/neurolinker/page.md L22, status: "Overall status: 'processing', 'completed', 'failed', or 'pending'"
        ("pending", State.QUEUED),
        ("processing", State.RUNNING),
        ("completed", State.SUCCEEDED),  # also the L62 example, with completed_at and results
        ("failed", State.FAILED),
        ("Completed", State.SUCCEEDED),
        ("PROCESSING\t", State.RUNNING),
    ],
)
def test_states(raw, state):
    assert parse("neurolinker", body("neurolinker", raw)).state is state


def test_pending_without_anything():
    status = parse("neurolinker", body("neurolinker", "pending", started_at=None, completed_at=None))
    assert status.pages is None
    assert status.progress is None
    assert status.outputs == ()
    assert status.started_at is None


@pytest.mark.parametrize(("total", "pages"), [(0, Pages(total=0)), (3, Pages(total=3)), (None, None)])
def test_total_pages(total, pages):
    fields = {} if total is None else {"total_pages": total}
    assert parse("neurolinker", body("neurolinker", "processing", **fields)).pages == pages


def test_empty_results():
    status = parse("neurolinker", body("neurolinker", "completed", results={}, document_page_url=""))
    assert status.outputs == ()


def test_extra_result_keys_stay_on_the_model():
    status = parse("neurolinker", body("neurolinker", "completed", results={"tables": [{"a": 1}]}))
    assert status.outputs == ()
    assert status.model.results.additional_properties == {"tables": [{"a": 1}]}


def test_naive_timestamp_is_utc():
    status = parse("neurolinker", body("neurolinker", "processing", started_at="2025-10-15T09:49:50"))
    assert status.started_at == datetime(2025, 10, 15, 9, 49, 50, tzinfo=UTC)
