"""sarvamai 0.1.39 (Sarvam's official SDK) against the simulator, unchanged: the legacy
Document Intelligence status call and ``DocumentIntelligenceJob.wait_until_complete``, sync and
async, for every ready-made Sarvam script.

The SDK's waiter sleeps ``poll_interval`` with ``time.sleep`` (async: ``asyncio.sleep``) and
measures its timeout with ``time.time``: both are replaced by the simulator's frozen clock, so
each sleep moves the jobs on and no test sleeps for real.

Known SDK behaviour (asserted, not worked around):

- ``wait_until_complete`` ends only on ``Completed``, ``PartiallyCompleted`` and ``Failed``
  (document_intelligence/client.py:176): a job stuck in ``Accepted`` or in a state the SDK does
  not know is polled until the timeout, which is **off by default** (waits forever).
- An unknown job (404, documented since e386626) is a bare ``ApiError(status_code=404)``: the
  legacy client maps only 400/403/429/500/503 to typed errors (raw_client.py:442-508).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

sarvamai = pytest.importorskip("sarvamai", reason="the sdks dependency group (pip install sarvamai==0.1.39)")

from docstatus.simulator import SCRIPTS  # noqa: E402
from sarvamai import AsyncSarvamAI, SarvamAI, SarvamAIEnvironment  # noqa: E402
from sarvamai.core.api_error import ApiError  # noqa: E402
from sarvamai.document_intelligence import client as di_client  # noqa: E402
from sarvamai.document_intelligence.client import AsyncDocumentIntelligenceJob, DocumentIntelligenceJob  # noqa: E402

if TYPE_CHECKING:
    from docstatus.simulator import Simulator

#: script -> the job_state the SDK's waiter returns (None: it never returns; TimeoutError)
FINAL = {
    "happy_path": "Completed",
    "failure": "Failed",
    "partial_success": "PartiallyCompleted",
    "unknown_state": None,  # 'Paused' is not terminal for the SDK: polled until the timeout
    "stuck_accepted": None,  # Accepted forever: polled until the timeout
}


class SimTime:
    """A stand-in for the ``time`` module: the simulator's clock, slept by advancing it."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.sim.clock.now()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.sim.clock.advance(seconds)


@pytest.fixture
def sim(docstatus_sim: Simulator) -> Simulator:
    docstatus_sim.clock.freeze()
    return docstatus_sim


@pytest.fixture
def sim_time(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> SimTime:
    fake = SimTime(sim)
    monkeypatch.setattr(di_client, "time", fake)
    return fake


def environment(sim: Simulator) -> SarvamAIEnvironment:
    url = sim.base_url("sarvam")
    return SarvamAIEnvironment(base=url, production=url, creative=url)


def client(sim: Simulator, key: str | None = None) -> SarvamAI:
    return SarvamAI(api_subscription_key=key or sim.tokens["sarvam"], environment=environment(sim))


def job_id(ref: str) -> str:
    return ref.split(":", 1)[1]


@pytest.mark.parametrize("script", list(FINAL))
def test_get_status_follows_every_phase(sim, script):
    from docstatus.simulator import SCRIPTS  # noqa: PLC0415

    phases = SCRIPTS["sarvam"][script].phases
    ref = sim.create_job("sarvam", script, step=5)
    sdk = client(sim)
    seen = []
    for _ in phases:
        status = sdk.document_intelligence.get_status(job_id(ref))
        assert status.job_id == job_id(ref)
        seen.append(status.job_state)
        sim.clock.advance(5)
    assert seen == [p.state for p in phases]


@pytest.mark.parametrize("script", list(FINAL))
def test_wait_until_complete(sim, sim_time, script):
    ref = sim.create_job("sarvam", script)
    job = DocumentIntelligenceJob(client=client(sim).document_intelligence, job_id=job_id(ref))
    final = FINAL[script]
    if final is None:
        with pytest.raises(TimeoutError, match="did not complete within 600"):
            job.wait_until_complete(timeout=600)
        assert sum(sim_time.sleeps) >= 600 - 1e-6
        return
    status = job.wait_until_complete()
    assert status.job_state == final
    assert sim_time.sleeps  # it polled (2 s apart, on the simulator's clock)
    assert set(sim_time.sleeps) == {2.0}
    if final == "PartiallyCompleted":
        metrics = job.get_page_metrics()
        assert metrics is not None
        assert (metrics["pages_succeeded"], metrics["pages_failed"]) == (3, 1)


@pytest.mark.anyio
@pytest.mark.parametrize("script", list(FINAL))
async def test_async_wait_until_complete(sim, script, monkeypatch):
    real_sleep = asyncio.sleep
    slept: list[float] = []

    async def sleep(seconds: float, *args: Any, **kwargs: Any) -> Any:
        if seconds > 0:  # the SDK's poll interval; zero-sleeps are the event loop's own
            slept.append(seconds)
            sim.clock.advance(seconds)
        return await real_sleep(0, *args, **kwargs)

    # the async waiter imports asyncio inside the function and reads time.time from the module
    monkeypatch.setattr(asyncio, "sleep", sleep)
    monkeypatch.setattr(di_client, "time", SimTime(sim))
    ref = sim.create_job("sarvam", script)
    sdk = AsyncSarvamAI(api_subscription_key=sim.tokens["sarvam"], environment=environment(sim))
    job = AsyncDocumentIntelligenceJob(client=sdk.document_intelligence, job_id=job_id(ref))
    final = FINAL[script]
    if final is None:
        with pytest.raises(TimeoutError):
            await job.wait_until_complete(timeout=120)
        assert sum(slept) >= 120 - 1e-6  # float sums of 2.0
        return
    status = await job.wait_until_complete()
    assert status.job_state == final


def test_unknown_job_is_a_bare_api_error_404(sim):
    with pytest.raises(ApiError) as raised:
        client(sim).document_intelligence.get_status("0b7e6a57-1b9e-4e6f-8a2f-3d9c1f0e2a11")
    assert type(raised.value) is ApiError  # not a typed error: the legacy client maps no 404
    assert raised.value.status_code == 404
    assert raised.value.body["error"]["code"] == "invalid_request_error"


def test_wrong_key_is_the_documented_403(sim):
    from sarvamai.errors import ForbiddenError  # noqa: PLC0415

    ref = sim.create_job("sarvam")
    with pytest.raises(ForbiddenError) as raised:
        client(sim, key="not-the-key").document_intelligence.get_status(job_id(ref))
    assert raised.value.body["error"]["code"] == "invalid_api_key_error"


def test_a_job_id_that_is_not_a_uuid(sim):
    ref = sim.create_job("sarvam", job_id="job-0042", step=0)
    assert client(sim).document_intelligence.get_status(job_id(ref)).job_state == "Completed"


@pytest.mark.skipif("sarvam_docai" not in SCRIPTS, reason="no sarvam_docai provider in this tree")
@pytest.mark.parametrize("script", sorted(SCRIPTS.get("sarvam_docai", {})))
def test_doc_ai_get_status_on_the_same_base_url(sim, script):
    """sarvamai's /doc-ai/v1 client on the one Sarvam base URL; it has no waiting helper."""
    ref = sim.create_job("sarvam_docai", script)
    sim.clock.advance(600)
    status = client(sim).doc_ai.get_status(job_id(ref))
    assert status.status == SCRIPTS["sarvam_docai"][script].phases[-1].state


def test_doc_ai_unknown_job_is_the_sdks_not_found_error(sim):
    from sarvamai.errors import NotFoundError  # noqa: PLC0415

    if "sarvam_docai" not in SCRIPTS:
        pytest.skip("no sarvam_docai provider in this tree")
    with pytest.raises(NotFoundError) as raised:
        client(sim).doc_ai.get_status("no-such-job")
    assert raised.value.body["detail"] == "Job not found"
