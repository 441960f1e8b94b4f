"""markdown2pdf-python 0.2.0 (markdown2pdf's official SDK) against the simulator, unchanged:
``MarkdownPDF.convert`` / ``AsyncMarkdownPDF.convert`` end to end: ``POST /markdown``, polling
the status URL the submission answers, the metadata URL (``{"url": ...}``) and the PDF, for
every ready-made markdown2pdf script.

The simulator answers absolute URLs (built from the request's ``Host`` and the ``/markdown2pdf``
prefix), so the SDK's ``urljoin`` keeps the prefix. The SDK sleeps ``poll_interval`` (3 s) with
``asyncio.sleep`` from its module: that name is replaced by one that moves the simulator's frozen
clock, so no test sleeps.

Known SDK behaviour (asserted): only ``Done`` ends the polling (client.py:97): an ``Error`` job,
or a state the SDK does not know, is polled ``MAX_DOC_GENERATION_POLLS`` (10) times and ends in
``Markdown2PDFException("Polling exceeded max attempts (10) ...")``, never saying it failed; a job
slower than 10 polls (30 s) fails the same way.
"""

from __future__ import annotations

import asyncio
import types
from typing import TYPE_CHECKING

import httpx
import pytest

pytest.importorskip("markdown2pdf", reason="the sdks dependency group (pip install markdown2pdf-python==0.2.0)")

from docstatus.simulator import SCRIPTS
from markdown2pdf import client as m2p_client
from markdown2pdf.client import AsyncMarkdownPDF, MarkdownPDF
from markdown2pdf.exceptions import Markdown2PDFException

if TYPE_CHECKING:
    from docstatus.simulator import Simulator

SCRIPT_NAMES = list(SCRIPTS["markdown2pdf"])


@pytest.fixture
def sim(docstatus_sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Simulator:
    docstatus_sim.clock.freeze()
    clock = docstatus_sim.clock
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await real_sleep(0)

    monkeypatch.setattr(m2p_client, "asyncio", types.SimpleNamespace(sleep=sleep, run=asyncio.run))
    return docstatus_sim


def the_job(sim: Simulator) -> str:
    (job,) = sim.jobs
    return job.ref


@pytest.mark.parametrize("script", SCRIPT_NAMES)
def test_convert(sim, script):
    sim.on_submit("markdown2pdf", script)
    converter = MarkdownPDF(api_url=sim.base_url("markdown2pdf"))
    if script == "happy_path":
        url = converter.convert("# Hello\n\nfrom the simulator")
        ref = the_job(sim)
        assert url == f"{sim.base_url('markdown2pdf')}/files/{ref.split(':', 1)[1]}/document.pdf"
        assert sim.state_of(ref) == "Done"
        paths = [r.path for r in sim.requests]
        assert paths[0] == "/markdown2pdf/markdown"
        assert paths[-2:] == [f"/markdown2pdf/job/{ref[13:]}/output", f"/markdown2pdf/files/{ref[13:]}/document.pdf"]
        assert httpx.get(url).content.startswith(b"%PDF-")
        return
    with pytest.raises(Markdown2PDFException, match=r"Polling exceeded max attempts \(10\)"):
        converter.convert("# Hello")
    assert sim.state_of(the_job(sim)) == SCRIPTS["markdown2pdf"][script].phases[-1].state
    assert sum(r.path.endswith("/status") for r in sim.requests) == 10


def test_convert_returns_the_pdf_bytes(sim, tmp_path):
    converter = MarkdownPDF(api_url=sim.base_url("markdown2pdf"))
    pdf = converter.convert("# Hello", return_bytes=True)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    target = tmp_path / "out.pdf"
    assert converter.convert("# Again", download_path=str(target)) == str(target)
    assert target.read_bytes() == pdf


@pytest.mark.anyio
@pytest.mark.parametrize("script", SCRIPT_NAMES)
async def test_async_convert(sim, script):
    sim.on_submit("markdown2pdf", script)
    converter = AsyncMarkdownPDF(api_url=sim.base_url("markdown2pdf"))
    if script == "happy_path":
        assert (await converter.convert("# Hello", return_bytes=True)).startswith(b"%PDF-")
    else:
        with pytest.raises(Markdown2PDFException, match="Polling exceeded"):
            await converter.convert("# Hello")
    assert sim.state_of(the_job(sim)) == SCRIPTS["markdown2pdf"][script].phases[-1].state


def test_a_slow_job_outlasts_the_sdks_ten_polls(sim):
    sim.on_submit("markdown2pdf", "happy_path", step=20)  # Done after 40 s; the SDK gives up after 30 s
    with pytest.raises(Markdown2PDFException, match="Polling exceeded"):
        MarkdownPDF(api_url=sim.base_url("markdown2pdf")).convert("# Hello")
    assert sim.state_of(the_job(sim)) == "Processing"


def test_the_v1_submission_path_and_its_status_path(sim):
    response = httpx.post(f"{sim.base_url('markdown2pdf')}/v1/markdown", json={"data": {"text_body": "# Hi"}})
    assert response.status_code == 200
    ref = the_job(sim)
    status_url = response.json()["path"]
    assert status_url == f"{sim.base_url('markdown2pdf')}/v1/markdown/job/{ref[13:]}/status"
    sim.clock.advance(60)
    done = httpx.get(status_url).json()
    assert done["status"] == "Done"
    assert httpx.get(httpx.get(done["path"]).json()["url"]).content.startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (b"not json", ["body"]),
        (b"[]", ["body", "data"]),
        (b'{"data": {"meta": {}}}', ["body", "data", "text_body"]),
        (b'{"data": {"text_body": 7}}', ["body", "data", "text_body"]),
    ],
)
def test_a_malformed_submission_is_a_422_and_creates_no_job(sim, body, loc):
    response = httpx.post(f"{sim.base_url('markdown2pdf')}/markdown", content=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    assert sim.jobs == []


def test_the_sdk_reports_a_malformed_submission(sim, monkeypatch):
    monkeypatch.setattr(m2p_client.httpx.AsyncClient, "post", _post_text_body_as_number)
    with pytest.raises(Markdown2PDFException, match="Initial request failed: 422"):
        MarkdownPDF(api_url=sim.base_url("markdown2pdf")).convert("# Hello")


_real_post = httpx.AsyncClient.post


async def _post_text_body_as_number(self: httpx.AsyncClient, url: str, **kwargs: object) -> httpx.Response:
    return await _real_post(self, url, json={"data": {"text_body": 7}})


def test_output_before_done_and_unknown_jobs(sim):
    ref = sim.create_job("markdown2pdf", "happy_path")
    base = sim.base_url("markdown2pdf")
    early = httpx.get(f"{base}/job/{ref[13:]}/output")
    assert early.status_code == 409
    assert "not Done" in early.json()["detail"]
    assert httpx.get(f"{base}/job/0b7e6a57-1b9e-4e6f-8a2f-3d9c1f0e2a11/output").status_code == 404
    assert httpx.get(f"{base}/files/{ref[13:]}/document.pdf").status_code == 404  # not Done yet
    assert httpx.get(f"{base}/files/not-a-uuid/document.pdf").status_code == 404
