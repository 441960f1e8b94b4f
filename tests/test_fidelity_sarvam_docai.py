"""Sarvam Document AI against a real HTTP server on 127.0.0.1: the generated client authenticates
from its spec and parses every documented body (200 and the RFC 7807 problem details, sent as
``application/problem+json``), and docstatus turns each error into its exception with the
problem's ``detail`` as the message (specs/sarvam_docai/NOTES.md rows 2, 11-13)."""

from __future__ import annotations

from typing import Any

import docstatus
import docstatus_sarvam_docai_client as client_pkg
import pytest
from _status_checks import SARVAM_DOCAI_ID, check
from conftest import Canned
from docstatus import ProviderConfig, State
from docstatus_sarvam_docai_client.api.status import get_status
from docstatus_sarvam_docai_client.client import AUTH_SCHEMES
from docstatus_sarvam_docai_client.models import DocAiErrorModel, DocAiJobStatus, DocAiJobStatusResponse

pytestmark = pytest.mark.anyio

KEY = "sk-docai-SECRET-41c2"
REF = f"sarvam_docai:{SARVAM_DOCAI_ID}"
PATH = f"/doc-ai/v1/job/{SARVAM_DOCAI_ID}/status"
PROBLEM = {"Content-Type": "application/problem+json"}
MODES = ["sync", "async"]

#: The guide's status response (specs/sarvam_docai/page.md L133-146).
COMPLETED = {
    "job_id": SARVAM_DOCAI_ID,
    "status": "completed",
    "pipeline": "digitise",
    "usage": {"pages_total": 1, "pages_processed": 1, "pages_succeeded": 1, "pages_failed": 0},
    "created_at": "2026-07-31T12:20:11Z",
    "updated_at": "2026-07-31T12:20:15Z",
}
NOT_FOUND = {
    "type": "about:blank",
    "title": "Not Found",
    "status": 404,
    "detail": "Job not found",  # page.md L94
}


def problem(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": "about:blank", "title": "Error", "status": status, "detail": detail, **extra}


async def call(mode: str, base_url: str, job_id: str = SARVAM_DOCAI_ID) -> Any:
    client = client_pkg.AuthenticatedClient(base_url=base_url, token=KEY)
    if mode == "sync":
        with client:
            return get_status.sync_detailed(job_id=job_id, client=client)
    async with client:
        return await get_status.asyncio_detailed(job_id=job_id, client=client)


def config(base_url: str) -> ProviderConfig:
    return ProviderConfig(provider="sarvam_docai", base_url=base_url, token=KEY)


async def get(mode: str, ref: str = REF, **kwargs: Any) -> docstatus.JobStatus:
    if mode == "sync":
        return check(docstatus.get_status(ref, **kwargs))
    return check(await docstatus.get_status_async(ref, **kwargs))


# --- the typed client alone, as the README shows it


def test_the_client_authenticates_as_the_spec_says():
    assert [(s.name, s.kind, s.header, s.prefix) for s in AUTH_SCHEMES] == [
        ("ApiKeyAuth", "api_key", "api-subscription-key", "")
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_typed_client_gets_and_parses_the_status(canned_server, mode):
    canned_server.reply(Canned(200, COMPLETED))
    response = await call(mode, canned_server.base_url)
    assert response.status_code == 200
    assert isinstance(response.parsed, DocAiJobStatusResponse)
    assert response.parsed.status is DocAiJobStatus.COMPLETED
    assert response.parsed.usage.pages_total == 1
    assert response.parsed.to_dict() == COMPLETED
    (seen,) = canned_server.requests
    assert seen.path == PATH
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["api-subscription-key"] == KEY  # no "Bearer", no Authorization header
    assert "authorization" not in headers


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", [403, 404, 429, 500, 503])
async def test_typed_client_parses_every_documented_problem_body(canned_server, mode, code):
    sent = NOT_FOUND if code == 404 else problem(code, f"said with {code}", instance="/doc-ai/v1/job/x/status")
    canned_server.reply(Canned(code, sent, PROBLEM))
    response = await call(mode, canned_server.base_url)
    assert int(response.status_code) == code
    assert isinstance(response.parsed, DocAiErrorModel)
    assert response.parsed.to_dict() == sent


@pytest.mark.parametrize("mode", MODES)
async def test_typed_client_keeps_validation_error_details(canned_server, mode):
    sent = problem(
        404, "Job not found", errors=[{"location": "path.job_id", "message": "no such job", "value": "x"}], trace="t1"
    )
    canned_server.reply(Canned(404, sent, PROBLEM))
    parsed = (await call(mode, canned_server.base_url)).parsed
    assert parsed.errors[0].location == "path.job_id"
    assert parsed.errors[0].value == "x"
    assert parsed.additional_properties == {"trace": "t1"}


@pytest.mark.parametrize("mode", MODES)
async def test_typed_client_sends_a_free_string_id_as_one_segment(canned_server, mode):
    canned_server.reply(Canned(200, {**COMPLETED, "job_id": "job a/b"}))
    response = await call(mode, canned_server.base_url, job_id="job a/b")
    assert response.parsed.job_id == "job a/b"
    assert canned_server.requests[0].path == "/doc-ai/v1/job/job%20a%2Fb/status"


# --- docstatus over the same server


@pytest.mark.parametrize("mode", MODES)
async def test_get_status_completed(canned_server, mode):
    canned_server.reply(Canned(200, COMPLETED))
    status = await get(mode, config=config(canned_server.base_url))
    assert status.state is State.SUCCEEDED
    assert status.ref == REF
    assert isinstance(status.model, DocAiJobStatusResponse)


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_job_is_job_not_found_with_the_problems_detail(canned_server, mode):
    canned_server.reply(Canned(404, NOT_FOUND, PROBLEM))
    with pytest.raises(docstatus.JobNotFound) as info:
        await get(mode, config=config(canned_server.base_url))
    exc = info.value
    assert exc.status_code == 404
    assert exc.provider == "sarvam_docai"
    assert exc.ref == REF
    assert "(HTTP 404: Job not found)" in str(exc)
    assert exc.code is None  # type about:blank says nothing more than the status
    assert b'"detail": "Job not found"' in exc.body


@pytest.mark.parametrize("mode", MODES)
async def test_problem_type_is_the_code_and_title_the_fallback_message(canned_server, mode):
    sent = {"type": "https://docs.sarvam.ai/errors/job-not-found", "title": "Job not found", "status": 404}
    canned_server.reply(Canned(404, sent, PROBLEM))
    with pytest.raises(docstatus.JobNotFound) as info:
        await get(mode, config=config(canned_server.base_url))
    assert info.value.code == "https://docs.sarvam.ai/errors/job-not-found"
    assert "(HTTP 404: Job not found)" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
async def test_rate_limited_with_retry_after(canned_server, mode):
    canned_server.reply(Canned(429, problem(429, "Too many requests"), {**PROBLEM, "Retry-After": "7"}))
    with pytest.raises(docstatus.RateLimited) as info:
        await get(mode, config=config(canned_server.base_url))
    assert info.value.retry_after == 7.0
    assert "Too many requests" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", [500, 503])
async def test_server_errors(canned_server, mode, code):
    canned_server.reply(Canned(code, problem(code, "Upstream unavailable"), {**PROBLEM, "Retry-After": "3"}))
    with pytest.raises(docstatus.ProviderServerError) as info:
        await get(mode, config=config(canned_server.base_url))
    assert info.value.status_code == code
    assert info.value.retry_after == 3.0
    assert "Upstream unavailable" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
async def test_forbidden_is_an_authentication_error_and_hides_the_key(canned_server, mode):
    canned_server.reply(Canned(403, problem(403, f"invalid key {KEY}"), PROBLEM))
    with pytest.raises(docstatus.AuthenticationError) as info:
        await get(mode, config=config(canned_server.base_url))
    assert "DOCSTATUS_SARVAM_DOCAI_TOKEN" in str(info.value)
    assert KEY not in str(info.value)
    assert KEY.encode() not in info.value.body


@pytest.mark.parametrize("mode", MODES)
async def test_configuration_from_the_environment(canned_server, monkeypatch, mode):
    monkeypatch.setenv("DOCSTATUS_SARVAM_DOCAI_BASE_URL", canned_server.base_url)
    monkeypatch.setenv("DOCSTATUS_SARVAM_DOCAI_TOKEN", KEY)
    canned_server.reply(Canned(200, {**COMPLETED, "status": "running"}))
    assert (await get(mode)).state is State.RUNNING
    headers = {k.lower(): v for k, v in canned_server.requests[0].headers.items()}
    assert headers["api-subscription-key"] == KEY


@pytest.mark.parametrize("mode", MODES)
async def test_legacy_body_from_the_docai_path_is_malformed(canned_server, mode):
    legacy = {"job_id": SARVAM_DOCAI_ID, "job_state": "Running", "created_at": "x", "updated_at": "y"}
    canned_server.reply(Canned(200, legacy))
    with pytest.raises(docstatus.MalformedResponse, match="sarvam_docai answered HTTP 200"):
        await get(mode, config=config(canned_server.base_url))


def test_default_server_is_sarvams():
    assert docstatus.ProviderConfig.from_env("sarvam_docai", {}).base_url == "https://api.sarvam.ai"
