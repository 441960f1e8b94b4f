"""The generated clients and ``docstatus.get_status`` against the simulator: every ready-made
script phase by phase, and every fault for every provider (sync and async)."""

from __future__ import annotations

import importlib
import time
from typing import TYPE_CHECKING, Any

import anyio
import docstatus
import httpx
import pytest
from _simulator_support import (
    PROVIDER_SCRIPTS,
    PROVIDERS,
    client_call,
    client_call_async,
    fresh,
    job_id_of,
    serve,
)
from docstatus import ProviderConfig, State
from docstatus.simulator import SCRIPTS, Fault, Simulator

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.anyio

MODES = ["sync", "async"]

#: The normalized state each ready-made script ends in.
FINAL_STATE = {
    "happy_path": State.SUCCEEDED,
    "failure": State.FAILED,
    "partial_success": State.PARTIALLY_SUCCEEDED,
    "stuck_accepted": State.ACTION_REQUIRED,
    "unknown_state": State.UNKNOWN,
}
STATE_FIELD = {"sarvam": "job_state"}


@pytest.fixture(scope="module")
def running_sim() -> Iterator[Simulator]:
    yield from serve()


@pytest.fixture
def sim(running_sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    """Reset, frozen clock, and docstatus's environment pointed at the simulator."""
    for name, value in running_sim.env().items():
        monkeypatch.setenv(name, value)
    yield from fresh(running_sim)


async def get_status(mode: str, ref: str, **kwargs: Any) -> docstatus.JobStatus:
    if mode == "sync":
        return docstatus.get_status(ref, **kwargs)
    return await docstatus.get_status_async(ref, **kwargs)


async def call_client(mode: str, sim: Simulator, provider: str, job_id: str, **kwargs: Any) -> Any:
    if mode == "sync":
        return client_call(sim, provider, job_id, **kwargs)
    return await client_call_async(sim, provider, job_id, **kwargs)


def provider_state(parsed: Any, provider: str) -> Any:
    return getattr(parsed, STATE_FIELD.get(provider, "status"))


# --- every script, phase by phase


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("provider", "script"), PROVIDER_SCRIPTS)
async def test_generated_client_follows_every_phase(sim, provider, script, mode):
    phases = SCRIPTS[provider][script].phases
    ref = sim.create_job(provider, script, step=5)
    for index, phase in enumerate(phases):
        response = await call_client(mode, sim, provider, job_id_of(ref))
        assert response.status_code == 200
        state = provider_state(response.parsed, provider)
        assert state.value == phase.state
        assert getattr(state, "is_unknown", False) is phase.off_spec
        if index < len(phases) - 1:
            sim.clock.advance(5)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("provider", "script"), PROVIDER_SCRIPTS)
async def test_get_status_follows_every_phase(sim, provider, script, mode):
    phases = SCRIPTS[provider][script].phases
    ref = sim.create_job(provider, script, step=5)
    states = []
    for index, phase in enumerate(phases):
        status = await get_status(mode, ref)
        assert status.ref == ref
        assert status.provider_state == phase.state
        assert status.terminal is (status.state.terminal)
        states.append(status.state)
        if index < len(phases) - 1:
            assert not status.terminal, f"{ref} ended before its last phase"
            sim.clock.advance(5)
    assert states[-1] is FINAL_STATE[script]
    assert sim.state_of(ref) == phases[-1].state


async def test_sarvam_partial_success_details(sim):
    ref = sim.create_job("sarvam", "partial_success")
    sim.clock.advance(60)
    status = docstatus.get_status(ref)
    assert status.state is State.PARTIALLY_SUCCEEDED
    assert status.pages is not None
    assert (status.pages.total, status.pages.processed, status.pages.succeeded, status.pages.failed) == (
        4,
        4,
        3,
        1,
    )
    assert [(e.page, e.code) for e in status.pages.errors] == [(3, "PAGE_PROCESSING_FAILED")]
    assert status.error is not None
    assert status.error.message == "1 of 4 pages failed"
    assert [o.name for o in status.outputs] == ["output.zip"]
    assert status.created_at is not None
    assert status.updated_at is not None
    assert (status.updated_at - status.created_at).total_seconds() == pytest.approx(4.0, abs=1e-3)
    with pytest.raises(docstatus.JobFailed):
        status.raise_for_failure()


async def test_sarvam_running_progress_from_pages(sim):
    ref = sim.create_job("sarvam", "happy_path")
    sim.clock.advance(2)
    assert docstatus.get_status(ref).progress == pytest.approx(0.5)
    sim.clock.advance(2)
    assert docstatus.get_status(ref).progress == pytest.approx(0.75)


async def test_sarvam_stuck_in_accepted_stays_there(sim):
    ref = sim.create_job("sarvam", "stuck_accepted")
    for _ in range(3):
        status = docstatus.get_status(ref)
        assert status.state is State.ACTION_REQUIRED
        assert status.pages is None
        sim.clock.advance(3600)
    with pytest.raises(docstatus.ActionRequired):
        status.raise_for_failure()


async def test_happy_path_outputs_and_timestamps(sim):
    refs = {p: sim.create_job(p, "happy_path") for p in PROVIDERS}
    sim.clock.advance(600)
    neuro = docstatus.get_status(refs["neurolinker"])
    assert [o.name for o in neuro.outputs][:2] == ["storage_path", "page-1.png"]
    assert neuro.outputs[-1].name == "document_page_url"
    assert neuro.pages is not None
    assert neuro.pages.total == 8
    assert neuro.started_at is not None
    assert neuro.completed_at is not None
    assert (neuro.completed_at - neuro.started_at).total_seconds() == pytest.approx(2.0, abs=1e-3)
    m2p = docstatus.get_status(refs["markdown2pdf"])
    assert m2p.outputs[0].uri is not None
    # the metadata URL, absolute on the simulator; resolve_outputs follows it to the PDF it serves
    assert m2p.outputs[0].uri == f"{sim.base_url('markdown2pdf')}/job/{refs['markdown2pdf'][13:]}/output"
    (pdf,) = docstatus.resolve_outputs(m2p)
    assert pdf.uri is not None
    assert pdf.uri.endswith("/document.pdf")
    assert httpx.get(pdf.uri).content.startswith(b"%PDF-")
    aitronos = docstatus.get_status(refs["aitronos"])
    assert aitronos.progress == 1.0
    assert aitronos.completed_at is not None


async def test_failure_errors(sim):
    refs = {p: sim.create_job(p, "failure") for p in PROVIDERS}
    sim.clock.advance(600)
    expected = {
        "artos": "Template rendering failed: section 'Summary' has no source",
        "aitronos": "Could not extract text: the file is encrypted",
        "markdown2pdf": "LaTeX compilation failed: undefined control sequence",
        "sarvam": "All pages failed to process",
        "neurolinker": None,  # its body has no error field
    }
    for provider, ref in refs.items():
        status = docstatus.get_status(ref)
        assert status.state is State.FAILED
        assert (status.error.message if status.error else None) == expected[provider]


async def test_running_steps_and_progress(sim):
    refs = {p: sim.create_job(p, "happy_path") for p in ("aitronos", "markdown2pdf", "artos")}
    sim.clock.advance(6.5)  # aitronos: 4th phase (embedding, 60 %); others: last phase
    aitronos = docstatus.get_status(refs["aitronos"])
    assert (aitronos.state, aitronos.step, aitronos.progress) == (State.RUNNING, "embedding", 0.6)
    sim.reset()
    ref = sim.create_job("markdown2pdf", "happy_path")
    sim.clock.advance(2)
    m2p = docstatus.get_status(ref)
    assert (m2p.state, m2p.step, m2p.progress) == (State.RUNNING, "Rendering PDF", 0.5)
    artos = sim.create_job("artos", "happy_path")
    sim.clock.advance(4)
    assert docstatus.get_status(artos).step == "Generating"


# --- every fault, every provider


def _config(sim: Simulator, provider: str, timeout: float = 5.0) -> ProviderConfig:
    return ProviderConfig(
        provider=provider,  # type: ignore[arg-type]
        base_url=sim.base_url(provider),
        token=sim.tokens.get(provider),
        timeout=timeout,
    )


FAULTS = {
    "429-seconds": Fault.rate_limit(3),
    "429-http-date": Fault.rate_limit(3, form="http-date"),
    "500": Fault.error(500),
    "503-retry-after": Fault.error(503, retry_after=2),
    "520": Fault.error(520),
    "slow": Fault.slow(5.0),  # far past the client's 0.3 s timeout, so a loaded machine cannot blur the two
    "drop": Fault.drop(),
    "truncate": Fault.truncated(),
    "html-200": Fault.html(200),
    "html-502": Fault.html(502),
}


def assert_get_status_error(name: str, exc: BaseException, provider: str, ref: str) -> None:
    assert isinstance(exc, docstatus.DocstatusError)
    assert ref in str(exc)
    for token in Simulator().tokens.values():
        assert token not in str(exc)
    if name.startswith("429"):
        assert isinstance(exc, docstatus.RateLimited)
        assert exc.status_code == 429
        if name == "429-seconds":
            assert exc.retry_after == 3.0
        else:  # an HTTP-date: rounded up to the second, read against the real clock
            assert exc.retry_after is not None
            assert 1.0 <= exc.retry_after <= 4.0
        if provider == "sarvam":
            assert exc.code == "rate_limit_exceeded_error"
    elif name in ("500", "503-retry-after", "520", "html-502"):
        assert isinstance(exc, docstatus.ProviderServerError)
        assert exc.status_code == {"500": 500, "503-retry-after": 503, "520": 520, "html-502": 502}[name]
        assert exc.retry_after == (2.0 if name == "503-retry-after" else None)
        if provider == "sarvam" and name == "503-retry-after":
            assert exc.code == "high_load_error"
        if provider == "aitronos" and name == "500":
            assert exc.code == "INTERNAL_ERROR"
    elif name in ("slow", "drop", "truncate"):
        assert isinstance(exc, docstatus.TransportError)
        if name == "slow":
            assert "timed out" in str(exc)
    elif name == "html-200":
        assert isinstance(exc, docstatus.MalformedResponse)
        assert exc.status_code == 200
        assert exc.body is not None
        assert exc.body.startswith(b"<!DOCTYPE html>")
    else:
        pytest.fail(f"no expectation for {name}")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(FAULTS))
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_get_status_translates_every_fault(sim, provider, name, mode):
    ref = sim.create_job(provider, "happy_path")
    sim.inject(FAULTS[name], ref=ref)
    config = _config(sim, provider, timeout=0.3 if name == "slow" else 5.0)
    started = time.monotonic()
    with pytest.raises(docstatus.DocstatusError) as caught:
        await get_status(mode, ref, config=config)
    assert time.monotonic() - started < 3.0  # the slow answer (5 s) was not waited for
    assert_get_status_error(name, caught.value, provider, ref)
    # the fault was used up: the next request is answered normally
    assert (await get_status(mode, ref, config=config)).provider_state == sim.state_of(ref)
    # a slow request abandoned by its client is logged when the server notices: wait for it
    deadline = time.monotonic() + 5.0
    while len(sim.requests) < 2 and time.monotonic() < deadline:
        await anyio.sleep(0.01)
    outcomes = sorted(r.outcome for r in sim.requests)
    assert len(outcomes) == 2
    assert outcomes[0].startswith(f"fault:{FAULTS[name].kind}")
    assert outcomes[-1] == "ok"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(FAULTS))
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_generated_client_sees_every_fault(sim, provider, name, mode):
    ref = sim.create_job(provider, "happy_path")
    job_id = job_id_of(ref)
    fault = FAULTS[name]
    sim.inject(fault, provider=provider)
    errors = importlib.import_module(f"docstatus_{provider}_client.errors")
    kwargs: dict[str, Any] = {}
    if name == "slow":
        kwargs["timeout"] = httpx.Timeout(0.3)
    if name in ("slow", "drop", "truncate"):
        expected: type[BaseException] = {
            "slow": httpx.TimeoutException,
            "drop": httpx.RemoteProtocolError,
            "truncate": httpx.RemoteProtocolError,
        }[name]
        with pytest.raises(expected):
            await call_client(mode, sim, provider, job_id, **kwargs)
    elif name == "html-200":
        with pytest.raises(errors.MalformedResponse) as caught:
            await call_client(mode, sim, provider, job_id)
        assert caught.value.status_code == 200
    else:
        response = await call_client(mode, sim, provider, job_id)
        assert int(response.status_code) == fault.status
        if fault.retry_after is not None:
            assert "retry-after" in response.headers
        if provider == "sarvam" and fault.status in (429, 500, 503):  # documented: a typed envelope
            assert response.parsed is not None
            assert (
                response.parsed.error.code.value
                == {
                    429: "rate_limit_exceeded_error",
                    500: "internal_server_error",
                    503: "high_load_error",
                }[fault.status]
            )
    response = await call_client(mode, sim, provider, job_id)
    assert response.status_code == 200


async def test_retry_after_forms(sim):
    ref = sim.create_job("artos", "happy_path")
    sim.inject(Fault.rate_limit(2.5), ref=ref)
    sim.inject(Fault.rate_limit(30, form="http-date"), ref=ref)
    response = client_call(sim, "artos", job_id_of(ref))
    assert response.headers["retry-after"] == "2.5"
    response = client_call(sim, "artos", job_id_of(ref))
    value = response.headers["retry-after"]
    assert value.endswith(" GMT")
    parsed = docstatus.parse_retry_after(response.headers)
    assert parsed is not None
    assert 29.0 <= parsed <= 31.0
    sim.inject(Fault.rate_limit(None), ref=ref)
    assert "retry-after" not in client_call(sim, "artos", job_id_of(ref)).headers


# --- fault scopes and counts


async def test_fault_count_bounds_it(sim):
    ref = sim.create_job("neurolinker", "happy_path")
    sim.inject(Fault.error(503, count=3), ref=ref)
    statuses = [client_call(sim, "neurolinker", job_id_of(ref)).status_code for _ in range(5)]
    assert statuses == [503, 503, 503, 200, 200]
    assert sim.faults == []


async def test_fault_scopes(sim):
    a1 = sim.create_job("artos", "happy_path")
    a2 = sim.create_job("artos", "happy_path")
    s1 = sim.create_job("sarvam", "happy_path")
    sim.inject(Fault.error(500), ref=a1)
    assert client_call(sim, "artos", job_id_of(a2)).status_code == 200  # another job: untouched
    assert client_call(sim, "artos", job_id_of(a1)).status_code == 500
    sim.inject(Fault.error(503), provider="artos")
    assert client_call(sim, "sarvam", job_id_of(s1)).status_code == 200  # another provider: untouched
    assert client_call(sim, "artos", job_id_of(a2)).status_code == 503
    sim.inject(Fault.error(520))  # every provider
    assert client_call(sim, "sarvam", job_id_of(s1)).status_code == 520
    assert client_call(sim, "artos", job_id_of(a1)).status_code == 200


async def test_job_faults_come_before_provider_faults(sim):
    ref = sim.create_job("aitronos", "happy_path", faults=[Fault.rate_limit(1)])
    sim.inject(Fault.error(500), provider="aitronos")
    assert client_call(sim, "aitronos", job_id_of(ref)).status_code == 429
    assert client_call(sim, "aitronos", job_id_of(ref)).status_code == 500
    assert client_call(sim, "aitronos", job_id_of(ref)).status_code == 200


async def test_faults_apply_to_unknown_jobs_of_the_provider(sim):
    sim.inject(Fault.error(503), provider="markdown2pdf")
    response = client_call(sim, "markdown2pdf", "0b7e6a57-1b9e-4e6f-8a2f-3d9c1f0e2a11")
    assert response.status_code == 503
    assert client_call(sim, "markdown2pdf", "0b7e6a57-1b9e-4e6f-8a2f-3d9c1f0e2a11").status_code == 404


# --- errors that are not faults, through get_status


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_unknown_job_is_job_not_found(sim, provider):
    ids = {
        "aitronos": "org_a/vs_b/file_c",
        "sarvam": "0b7e6a57-1b9e-4e6f-8a2f-3d9c1f0e2a11",
        "markdown2pdf": "0b7e6a57-1b9e-4e6f-8a2f-3d9c1f0e2a11",
    }
    ref = f"{provider}:{ids.get(provider, 'no-such-job')}"
    with pytest.raises(docstatus.JobNotFound) as caught:
        docstatus.get_status(ref)
    assert caught.value.status_code == 404
    if provider == "aitronos":
        assert caught.value.code == "FILE_NOT_IN_STORE"


@pytest.mark.parametrize("provider", ["aitronos", "artos", "neurolinker", "sarvam"])
async def test_wrong_token_is_authentication_error_without_the_token(sim, provider):
    ref = sim.create_job(provider, "happy_path")
    secret = "tok-WRONG-and-SECRET-1234"
    config = ProviderConfig(provider=provider, base_url=sim.base_url(provider), token=secret)  # type: ignore[arg-type]
    with pytest.raises(docstatus.AuthenticationError) as caught:
        docstatus.get_status(ref, config=config)
    assert caught.value.status_code == (403 if provider == "sarvam" else 401)
    assert secret not in str(caught.value)
    assert secret.encode() not in (caught.value.body or b"")
    assert all(secret not in value for r in sim.requests for _, value in r.headers)


async def test_markdown2pdf_malformed_id_is_bad_request(sim):
    with pytest.raises(docstatus.BadRequest) as caught:
        docstatus.get_status("markdown2pdf:not-a-uuid")
    assert caught.value.status_code == 422
    assert "valid UUID" in str(caught.value)
