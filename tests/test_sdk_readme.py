# ruff: noqa: PLC0415  # the snippets import inside the test, as the README shows them
"""The README's "Test your own code offline" examples for the providers' own SDKs, exactly as
printed there (each test body below is the snippet; keep both identical): the lines that point
each SDK at the simulator of the ``docstatus_sim`` fixture, and one call."""

from __future__ import annotations

import pytest

for _sdk in ("sarvamai", "neurolinker_sdk", "markdown2pdf", "aitronos"):
    pytest.importorskip(_sdk, reason="the sdks dependency group")


def test_sarvamai(docstatus_sim):
    from sarvamai import SarvamAI, SarvamAIEnvironment

    url = docstatus_sim.base_url("sarvam")
    client = SarvamAI(
        api_subscription_key=docstatus_sim.tokens["sarvam"],
        environment=SarvamAIEnvironment(base=url, production=url, creative=url),
    )

    job_id = docstatus_sim.create_job("sarvam", "partial_success", step=0).split(":", 1)[1]
    assert client.document_intelligence.get_status(job_id).job_state == "PartiallyCompleted"


def test_neurolinker_sdk(docstatus_sim):
    from neurolinker_sdk import NeuroLinker

    client = NeuroLinker(token=docstatus_sim.tokens["neurolinker"], base_url=docstatus_sim.base_url("neurolinker"))

    document_id = docstatus_sim.create_job("neurolinker", "failure", step=0).split(":", 1)[1]
    assert client.extraction.status.document(document_id)["status"] == "failed"


def test_markdown2pdf_python(docstatus_sim):
    from markdown2pdf import MarkdownPDF

    client = MarkdownPDF(api_url=docstatus_sim.base_url("markdown2pdf"), poll_interval=0.01)

    docstatus_sim.on_submit("markdown2pdf", "happy_path", step=0)  # what POST /markdown starts
    assert client.convert("# Hello", return_bytes=True).startswith(b"%PDF")


def test_aitronos_sdk(docstatus_sim):
    from aitronos import Aitronos

    client = Aitronos(api_key=docstatus_sim.tokens["aitronos"], base_url=docstatus_sim.base_url("aitronos"))

    org, store, file = docstatus_sim.create_job("aitronos", step=0).split(":", 1)[1].split("/")
    assert client.vector_store_files.get_processing_status(org, store, file).data.status == "completed"
