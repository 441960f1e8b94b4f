"""get_status / fetch_status (sync and async) against a real HTTP server on 127.0.0.1, for every
provider and every outcome; environment configuration; secrets never shown."""

from __future__ import annotations

import contextlib
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import docstatus
import httpx
import pytest
from _status_checks import AITRONOS_ID, M2P_ID, SARVAM_DOCAI_ID, SARVAM_ID, body, check
from conftest import Canned
from docstatus import ProviderConfig, State

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.anyio

TOKEN = "tok-SECRET-7f3a9c"
ALL = ["aitronos", "artos", "markdown2pdf", "neurolinker", "sarvam", "sarvam_docai"]
REFS = {
    "artos": "artos:document-uuid-456",
    "sarvam": f"sarvam:{SARVAM_ID}",
    "sarvam_docai": f"sarvam_docai:{SARVAM_DOCAI_ID}",
    "neurolinker": "neurolinker:1d6986aa-80ac-4a4d-9009-5a323c9046b1",
    "aitronos": f"aitronos:{AITRONOS_ID}",
    "markdown2pdf": f"markdown2pdf:{M2P_ID}",
}
PATHS = {
    "artos": "/api/v1/documents/status/document-uuid-456",
    "sarvam": f"/doc-digitization/job/v1/{SARVAM_ID}/status",
    "sarvam_docai": f"/doc-ai/v1/job/{SARVAM_DOCAI_ID}/status",
    "neurolinker": "/v1/document-status/1d6986aa-80ac-4a4d-9009-5a323c9046b1",
    "aitronos": "/v1/organizations/org_xyz789/stores/vs_abc123/files/file_abc123def456/status",
    "markdown2pdf": f"/job/{M2P_ID}/status",
}
RUNNING = {
    "artos": "Generating",
    "sarvam": "Running",
    "sarvam_docai": "running",
    "neurolinker": "processing",
    "aitronos": "processing",
    "markdown2pdf": "Processing",
}
MODES = ["sync", "async"]


def config(provider: str, base_url: str, **kwargs: Any) -> ProviderConfig:
    token = None if provider == "markdown2pdf" else TOKEN
    return ProviderConfig(provider=provider, base_url=base_url, token=token, **kwargs)


async def fetch(mode: str, ref: str, **kwargs: Any) -> docstatus.FetchResult:
    if mode == "sync":
        return docstatus.fetch_status(ref, **kwargs)
    return await docstatus.fetch_status_async(ref, **kwargs)


async def get(mode: str, ref: str, **kwargs: Any) -> docstatus.JobStatus:
    if mode == "sync":
        return check(docstatus.get_status(ref, **kwargs))
    return check(await docstatus.get_status_async(ref, **kwargs))


def assert_no_secret(exc: BaseException) -> None:
    assert TOKEN not in str(exc)
    assert TOKEN not in repr(exc)
    assert TOKEN.encode() not in (getattr(exc, "body", None) or b"")


# --- success


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ALL)
async def test_status_for_every_provider(canned_server, provider, mode):
    canned_server.reply(Canned(200, body(provider, RUNNING[provider])))
    status = await get(mode, REFS[provider], config=config(provider, canned_server.base_url))
    assert status.provider == provider
    assert status.state is State.RUNNING
    assert status.ref == REFS[provider]
    (seen,) = canned_server.requests
    assert seen.method == "GET"
    assert seen.path == PATHS[provider]
    headers = {k.lower(): v for k, v in seen.headers.items()}
    if provider in ("sarvam", "sarvam_docai"):  # specs/sarvam*/openapi.yaml ApiKeyAuth, no prefix
        assert headers["api-subscription-key"] == TOKEN
        assert "authorization" not in headers
    elif provider == "markdown2pdf":
        assert "authorization" not in headers
        assert "api-subscription-key" not in headers
    else:
        assert headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("mode", MODES)
async def test_fetch_result_keeps_status_code_headers_and_hint(canned_server, mode):
    canned_server.reply(Canned(200, body("artos", "Pending"), headers={"Retry-After": "12", "X-Trace": "t1"}))
    result = await fetch(mode, REFS["artos"], config=config("artos", canned_server.base_url))
    assert result.status_code == 200
    assert result.headers["x-trace"] == "t1"
    assert result.retry_after == 12.0
    assert check(result.status).state is State.QUEUED
    assert TOKEN not in repr(result)


@pytest.mark.parametrize("mode", MODES)
async def test_base_url_with_a_path_prefix_and_trailing_slash(canned_server, mode):
    canned_server.reply(Canned(200, body("artos", "Ready")))
    await get(mode, REFS["artos"], config=config("artos", canned_server.base_url + "/proxy/"))
    assert canned_server.requests[0].path == "/proxy" + PATHS["artos"]


# --- every error class


def envelope(provider: str, status: int, message: str = "went wrong", code: str | None = None) -> Any:
    if provider == "sarvam":
        return {"error": {"message": message, "code": code or "internal_server_error", "request_id": "r1"}}
    if provider == "sarvam_docai":  # RFC 7807 problem details (specs/sarvam_docai/NOTES.md row 12)
        return {"type": "about:blank", "title": "Error", "status": status, "detail": message}
    if provider == "aitronos":
        return {
            "success": False,
            "error": {"code": code or "SOME_ERROR", "message": message, "status": status},
        }
    if provider == "markdown2pdf" and status == 422:
        return {"detail": [{"loc": ["path", "job_id"], "msg": message, "type": code or "uuid_parsing"}]}
    return {"detail": message}


ERROR_CASES = [
    (404, docstatus.JobNotFound),
    (410, docstatus.JobNotFound),
    (401, docstatus.AuthenticationError),
    (403, docstatus.AuthenticationError),
    (400, docstatus.BadRequest),
    (422, docstatus.BadRequest),
    (409, docstatus.BadRequest),
    (429, docstatus.RateLimited),
    (500, docstatus.ProviderServerError),
    (502, docstatus.ProviderServerError),
    (503, docstatus.ProviderServerError),
    (520, docstatus.ProviderServerError),
    (408, docstatus.ProviderServerError),
    (302, docstatus.ProviderError),
    (204, docstatus.ProviderError),
]


# The canned server takes ~0.5 s to stop, so the larger matrices loop inside one test per
# (provider, mode); each assertion names its case.


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ALL)
async def test_error_statuses_with_an_envelope(canned_server, provider, mode):
    for code, cls in ERROR_CASES:
        message = f"the provider says no ({code}), key {TOKEN} rejected"
        canned_server.reply(Canned(code, envelope(provider, code, message)))
        with pytest.raises(cls) as info:
            await get(mode, REFS[provider], config=config(provider, canned_server.base_url))
        exc = info.value
        case = f"{provider} HTTP {code}"
        assert type(exc) is cls, case
        assert exc.status_code == code, case
        assert exc.provider == provider, case
        assert exc.ref == REFS[provider], case
        assert REFS[provider] in str(exc), case
        if code not in (302, 204):
            assert "the provider says no" in str(exc), case
            if provider != "markdown2pdf":  # no credential configured there, so nothing to hide
                assert "key *** rejected" in str(exc), case
        if provider != "markdown2pdf":
            assert_no_secret(exc)
        assert not isinstance(exc.__cause__, docstatus.DocstatusError), case


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ALL)
async def test_error_statuses_with_a_non_json_or_empty_body(canned_server, provider, mode):
    for raw in (b"<html>nginx</html>", b""):
        for code, cls in ERROR_CASES:
            if code in (302, 204):
                continue
            canned_server.reply(Canned(code, raw, headers={"Content-Type": "text/html"}))
            with pytest.raises(cls) as info:
                await get(mode, REFS[provider], config=config(provider, canned_server.base_url))
            case = f"{provider} HTTP {code} {raw!r}"
            assert type(info.value) is cls, case
            assert info.value.body == raw, case
            assert f"(HTTP {code});" in str(info.value), case
            assert info.value.code is None, case


@pytest.mark.parametrize("mode", MODES)
async def test_sarvam_envelope_code_and_message(canned_server, mode):
    canned_server.reply(
        Canned(
            429,
            envelope("sarvam", 429, "Rate limit exceeded", "rate_limit_exceeded_error"),
            {"Retry-After": "3"},
        )
    )
    with pytest.raises(docstatus.RateLimited) as info:
        await get(mode, REFS["sarvam"], config=config("sarvam", canned_server.base_url))
    assert info.value.code == "rate_limit_exceeded_error"
    assert "Rate limit exceeded" in str(info.value)
    assert info.value.retry_after == 3.0


@pytest.mark.parametrize("mode", MODES)
async def test_sarvam_unknown_error_code_is_kept(canned_server, mode):
    canned_server.reply(Canned(403, envelope("sarvam", 403, "Quota gone", "brand_new_error")))
    with pytest.raises(docstatus.AuthenticationError) as info:
        await get(mode, REFS["sarvam"], config=config("sarvam", canned_server.base_url))
    assert info.value.code == "brand_new_error"


@pytest.mark.parametrize("mode", MODES)
async def test_aitronos_documented_404_envelope(canned_server, mode):
    doc_404 = {
        "success": False,
        "error": {
            "code": "FILE_NOT_IN_STORE",
            "message": "We couldn't find the requested resource.",
            "system_message": "File not found in this store",
            "type": "client_error",
            "status": 404,
            "details": {"file_id": "file_abc123def456", "store_id": "vs_abc123"},
            "trace_id": "abc-123-def",
            "timestamp": "2025-06-15T10:00:00Z",
        },
    }
    canned_server.reply(Canned(404, doc_404))
    with pytest.raises(docstatus.JobNotFound) as info:
        await get(mode, REFS["aitronos"], config=config("aitronos", canned_server.base_url))
    assert info.value.code == "FILE_NOT_IN_STORE"
    assert "We couldn't find the requested resource." in str(info.value)


@pytest.mark.parametrize("mode", MODES)
async def test_markdown2pdf_validation_error_messages(canned_server, mode):
    detail = {
        "detail": [
            {"loc": ["path", "job_id"], "msg": "Input should be a valid UUID", "type": "uuid_parsing"},
            {"loc": ["query", 0], "msg": "second problem", "type": "value_error"},
        ]
    }
    canned_server.reply(Canned(422, detail))
    with pytest.raises(docstatus.BadRequest) as info:
        await get(mode, REFS["markdown2pdf"], config=config("markdown2pdf", canned_server.base_url))
    assert info.value.code == "uuid_parsing"
    assert "Input should be a valid UUID; second problem" in str(info.value)


# --- Retry-After


RETRY_AFTER_CASES = [
    ({"Retry-After": "7"}, 7.0),
    ({"Retry-After": "0.5"}, 0.5),
    ({"retry-after-ms": "1500"}, 1.5),
    ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),
    ({"Retry-After": "soon"}, None),
    ({"Retry-After": "-4"}, None),
    ({}, None),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ALL)
async def test_rate_limited_retry_after(canned_server, provider, mode):
    for headers, expected in RETRY_AFTER_CASES:
        canned_server.reply(Canned(429, b"", headers))
        with pytest.raises(docstatus.RateLimited) as info:
            await get(mode, REFS[provider], config=config(provider, canned_server.base_url))
        assert info.value.retry_after == expected, headers
        assert info.value.status_code == 429
        assert ("retry after" in str(info.value)) is (expected is not None), headers


@pytest.mark.parametrize("mode", MODES)
async def test_rate_limited_retry_after_http_date(canned_server, mode):
    when = datetime.now(UTC) + timedelta(seconds=120)
    canned_server.reply(Canned(429, b"", {"Retry-After": format_datetime(when, usegmt=True)}))
    with pytest.raises(docstatus.RateLimited) as info:
        await get(mode, REFS["artos"], config=config("artos", canned_server.base_url))
    assert info.value.retry_after is not None
    assert 100 <= info.value.retry_after <= 121


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", [500, 503, 520])
async def test_server_error_keeps_retry_after(canned_server, code, mode):
    canned_server.reply(Canned(code, envelope("sarvam", code, "High load", "high_load_error"), {"Retry-After": "30"}))
    with pytest.raises(docstatus.ProviderServerError) as info:
        await get(mode, REFS["sarvam"], config=config("sarvam", canned_server.base_url))
    assert info.value.retry_after == 30.0
    assert info.value.code == "high_load_error"


def test_parse_retry_after_directly():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC).timestamp()
    h = httpx.Headers
    assert docstatus.parse_retry_after(h({"Retry-After": "Thu, 01 Jan 2026 12:00:10 GMT"}), now=now) == 10.0
    assert docstatus.parse_retry_after(h({"Retry-After": "Wed, 31 Dec 2025 12:00:00 GMT"}), now=now) == 0.0
    assert docstatus.parse_retry_after(h({"RETRY-AFTER": " 5 "}), now=now) == 5.0
    assert docstatus.parse_retry_after(h({"Retry-After": "inf"}), now=now) is None
    assert docstatus.parse_retry_after(h({"Retry-After": "nan"}), now=now) is None
    assert docstatus.parse_retry_after(h({"Retry-After-Ms": "x", "Retry-After": "2"}), now=now) == 2.0
    assert docstatus.parse_retry_after(h({"Retry-After": "Thu, 01 Jan 2026 12:00:10"}), now=now) == 10.0
    assert docstatus.parse_retry_after(h({}), now=now) is None


# --- malformed 200 bodies


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ALL)
async def test_malformed_200(canned_server, provider, mode):
    for raw in (b"", b"not json", b"[1, 2]", b'{"unexpected": true}', b'{"status": 5, "job_state": 5}'):
        canned_server.reply(Canned(200, raw))
        with pytest.raises(docstatus.MalformedResponse) as info:
            await get(mode, REFS[provider], config=config(provider, canned_server.base_url))
        exc = info.value
        assert exc.status_code == 200, raw
        assert exc.body == raw, raw
        assert exc.provider == provider
        assert "not a job status" in str(exc), raw
        assert not isinstance(exc.__cause__, docstatus.DocstatusError), raw


@pytest.mark.parametrize("mode", MODES)
async def test_malformed_200_body_is_truncated_and_scrubbed(canned_server, mode):
    raw = b'{"task_id": "' + TOKEN.encode() + b'", "status": 1' + b" " * 5000 + b"}"
    canned_server.reply(Canned(200, raw))
    with pytest.raises(docstatus.MalformedResponse) as info:
        await get(mode, REFS["artos"], config=config("artos", canned_server.base_url))
    assert len(info.value.body or b"") == 2048
    assert_no_secret(info.value)


@pytest.mark.parametrize("mode", MODES)
async def test_mistyped_field_in_200_is_malformed(canned_server, mode):
    canned_server.reply(Canned(200, body("aitronos", "processing", progress_percent="half")))
    with pytest.raises(docstatus.MalformedResponse, match="progress_percent is str"):
        await get(mode, REFS["aitronos"], config=config("aitronos", canned_server.base_url))


# --- no answer


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections (kernel backlog) and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def refused_url() -> str:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("mode", MODES)
async def test_dropped_connection_is_transport_error(canned_server, mode):
    canned_server.reply(Canned(drop=True))
    for provider in ALL:
        with pytest.raises(docstatus.TransportError) as info:
            await get(mode, REFS[provider], config=config(provider, canned_server.base_url))
        assert info.value.provider == provider
        assert info.value.ref == REFS[provider]
        assert REFS[provider] in str(info.value)
        # No cause: httpx's exception holds the request, credential included. Said in our own
        # words, the same on every transport (tests/hostile/test_cli_messages.py has every case).
        assert info.value.__cause__ is None
        assert info.value.__context__ is None
        assert "closed the connection without answering" in str(info.value)
        assert "RemoteProtocolError" not in str(info.value)
        assert_no_secret(info.value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ALL)
async def test_timeout_is_transport_error(provider, mode):
    with silent_server() as url:
        started = time.monotonic()
        with pytest.raises(docstatus.TransportError, match=r"timed out after 0\.3 s") as info:
            await get(mode, REFS[provider], config=config(provider, url, timeout=0.3))
        assert time.monotonic() - started < 5
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert_no_secret(info.value)


@pytest.mark.parametrize("mode", MODES)
async def test_connection_refused_is_transport_error(mode):
    url = refused_url()
    with pytest.raises(docstatus.TransportError, match=r"the connection was refused by 127\.0\.0\.1:") as info:
        await get(mode, REFS["neurolinker"], config=config("neurolinker", url))
    assert url in str(info.value)
    assert_no_secret(info.value)


# --- configuration


@pytest.mark.parametrize("mode", MODES)
async def test_configuration_from_the_environment(canned_server, monkeypatch, mode):
    for p in ALL:
        monkeypatch.delenv(f"DOCSTATUS_{p.upper()}_BASE_URL", raising=False)
        monkeypatch.delenv(f"DOCSTATUS_{p.upper()}_TOKEN", raising=False)
    for provider in ALL:
        monkeypatch.setenv(f"DOCSTATUS_{provider.upper()}_BASE_URL", canned_server.base_url + "/")
        if provider != "markdown2pdf":
            monkeypatch.setenv(f"DOCSTATUS_{provider.upper()}_TOKEN", TOKEN)
        canned_server.reply(Canned(200, body(provider, RUNNING[provider])))
        status = await get(mode, REFS[provider])
        assert status.state is State.RUNNING
        seen = canned_server.requests[-1]
        assert seen.path == PATHS[provider]
        assert (TOKEN in " ".join(seen.headers.values())) is (provider != "markdown2pdf")


@pytest.mark.parametrize("mode", MODES)
async def test_missing_token_fails_before_any_request(canned_server, monkeypatch, mode):
    for provider in ["aitronos", "artos", "neurolinker", "sarvam", "sarvam_docai"]:
        monkeypatch.setenv(f"DOCSTATUS_{provider.upper()}_BASE_URL", canned_server.base_url)
        monkeypatch.delenv(f"DOCSTATUS_{provider.upper()}_TOKEN", raising=False)
        with pytest.raises(docstatus.ConfigurationError, match=f"DOCSTATUS_{provider.upper()}_TOKEN"):
            await get(mode, REFS[provider])
    assert canned_server.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_config_for_another_provider_is_refused(canned_server, mode):
    with pytest.raises(docstatus.ConfigurationError, match="configuration is for sarvam"):
        await get(mode, REFS["artos"], config=config("sarvam", canned_server.base_url))
    assert canned_server.requests == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ref", ["textract:1", "artos:", "sarvam:a/b", "aitronos:a/b", "artos"])
async def test_bad_refs(ref, mode):
    with pytest.raises(docstatus.InvalidJobRef):
        await get(mode, ref)


@pytest.mark.parametrize("mode", MODES)
async def test_jobref_objects_are_accepted(canned_server, mode):
    canned_server.reply(Canned(200, body("artos", "Ready")))
    ref = docstatus.parse_ref(REFS["artos"])
    assert (await get(mode, ref, config=config("artos", canned_server.base_url))).state is State.SUCCEEDED


# --- caller-provided clients


def test_shared_sync_client_is_reused_and_never_gets_the_token(canned_server):
    canned_server.reply(
        Canned(200, body("artos", "Ready")),
        Canned(200, body("sarvam", "Running")),
        Canned(200, body("markdown2pdf", "Done")),
    )
    with httpx.Client(timeout=600) as client:
        a = check(docstatus.get_status(REFS["artos"], config=config("artos", canned_server.base_url), client=client))
        s = check(docstatus.get_status(REFS["sarvam"], config=config("sarvam", canned_server.base_url), client=client))
        m = check(
            docstatus.get_status(
                REFS["markdown2pdf"], config=config("markdown2pdf", canned_server.base_url), client=client
            )
        )
        assert not client.is_closed
        assert TOKEN not in " ".join(client.headers.values())
    assert (a.state, s.state, m.state) == (State.SUCCEEDED, State.RUNNING, State.SUCCEEDED)
    artos_h, sarvam_h, m2p_h = ({k.lower(): v for k, v in r.headers.items()} for r in canned_server.requests)
    assert artos_h["authorization"] == f"Bearer {TOKEN}"
    assert "api-subscription-key" not in artos_h
    assert sarvam_h["api-subscription-key"] == TOKEN
    assert "authorization" not in sarvam_h
    assert "authorization" not in m2p_h
    assert "api-subscription-key" not in m2p_h


async def test_shared_async_client_is_reused(canned_server):
    canned_server.reply(Canned(200, body("neurolinker", "completed")))
    async with httpx.AsyncClient() as client:
        for _ in range(3):
            result = await docstatus.fetch_status_async(
                REFS["neurolinker"], config=config("neurolinker", canned_server.base_url), client=client
            )
            assert check(result.status).state is State.SUCCEEDED
        assert not client.is_closed
    assert len(canned_server.requests) == 3


def test_shared_client_uses_the_configured_timeout():
    with silent_server() as url, httpx.Client(timeout=600) as client:
        started = time.monotonic()
        with pytest.raises(docstatus.TransportError, match="timed out"):
            docstatus.get_status(REFS["artos"], config=config("artos", url, timeout=0.2), client=client)
        assert time.monotonic() - started < 5


def test_owned_client_is_closed(canned_server, monkeypatch):
    closed: list[bool] = []
    original = httpx.Client.close

    def spy(self: httpx.Client) -> None:
        closed.append(True)
        original(self)

    monkeypatch.setattr(httpx.Client, "close", spy)
    canned_server.reply(Canned(404, b""))
    with pytest.raises(docstatus.JobNotFound):
        docstatus.get_status(REFS["artos"], config=config("artos", canned_server.base_url))
    assert closed == [True]


def test_default_timeout_is_finite():
    cfg = ProviderConfig.from_env("artos", environ={})
    assert 0 < cfg.timeout < 120


@pytest.mark.parametrize("mode", MODES)
async def test_dot_segment_ids_stay_in_their_path_segment(canned_server, mode):
    canned_server.reply(Canned(404, b""))
    for ref, path in [
        ("artos:..", "/api/v1/documents/status/%2E%2E"),
        ("neurolinker:.", "/v1/document-status/%2E"),
        ("aitronos:org/../file", "/v1/organizations/org/stores/%2E%2E/files/file/status"),
    ]:
        provider = ref.partition(":")[0]
        with pytest.raises(docstatus.JobNotFound):
            await get(mode, ref, config=config(provider, canned_server.base_url))
        assert canned_server.requests[-1].path == path


@pytest.mark.parametrize("mode", MODES)
async def test_a_json_array_of_pairs_is_not_a_status(canned_server, mode):
    canned_server.reply(Canned(200, [["task_id", "d"], ["status", "Ready"]]))
    with pytest.raises(docstatus.MalformedResponse, match="expected a JSON object"):
        await get(mode, REFS["artos"], config=config("artos", canned_server.base_url))


async def test_a_client_of_the_other_kind_is_a_type_error_naming_the_right_function():
    async with httpx.AsyncClient() as aclient:
        with pytest.raises(TypeError, match="use fetch_status_async / get_status_async"):
            docstatus.get_status(REFS["artos"], config=config("artos", "http://127.0.0.1:9"), client=aclient)
    with httpx.Client() as client, pytest.raises(TypeError, match="use fetch_status / get_status"):
        await docstatus.get_status_async(REFS["artos"], config=config("artos", "http://127.0.0.1:9"), client=client)


@pytest.mark.parametrize("mode", MODES)
async def test_a_closed_client_is_a_transport_error(mode):
    cfg = config("artos", "http://127.0.0.1:9")
    if mode == "sync":
        client = httpx.Client()
        client.close()
        with pytest.raises(docstatus.TransportError, match="closed"):
            docstatus.get_status(REFS["artos"], config=cfg, client=client)
    else:
        aclient = httpx.AsyncClient()
        await aclient.aclose()
        with pytest.raises(docstatus.TransportError, match="closed"):
            await docstatus.get_status_async(REFS["artos"], config=cfg, client=aclient)
