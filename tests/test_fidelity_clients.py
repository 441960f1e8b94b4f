"""Issue 10: the providers as they really are, against a real HTTP server on 127.0.0.1.

- generated clients authenticate from their spec's ``security`` (``AUTH_SCHEMES``), and
  ``docstatus`` takes the credential from them (no header table of its own);
- every status operation is ``docstatus_<p>_client.api.status.get_status``;
- Sarvam: a non-UUID job id, and the documented 404 with the legacy error envelope;
- Aitronos: the ``X-API-Key`` scheme, the SDK's envelope and ``/vector-stores/`` path, by configuration;
- Neurolinker: ``results: null`` and the ``{data: {...}}`` envelope;
- markdown2pdf: the ``metadata`` output, ``resolve_outputs`` under fetch's hardening, a ``/v1`` prefix;
- ``parse(provider, model)`` with a generated model.
"""

from __future__ import annotations

import importlib
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docstatus
import httpx
import pytest
import yaml
from conftest import ROOT, SPECS, Canned, CannedServer
from docstatus import Output, ProviderConfig, State

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.anyio

MODES = ["sync", "async"]
PROVIDERS = ["aitronos", "artos", "markdown2pdf", "neurolinker", "sarvam"]
TOKEN = "key-SECRET-51c0de"
SARVAM_BODY: dict[str, Any] = {
    "job_id": "job_7Hq2xK9p",  # not a UUID: the SDK types job_id as str
    "job_state": "Running",
    "created_at": "2025-11-20T08:15:02Z",
    "updated_at": "2025-11-20T08:16:02Z",
    "storage_container_type": "Azure",
}
SARVAM_NOT_FOUND = {"error": {"message": "Job not found", "code": "invalid_request_error"}}
AITRONOS_ENVELOPE: dict[str, Any] = {
    "success": True,
    "message": "Processing status retrieved",
    "data": {
        "vector_store_file_id": "vsf_1",
        "file_id": "file_abc123def456",
        "vector_store_id": "vs_abc123",
        "status": "failed",
        "chunk_count": None,
        "embedding_model": "text-embedding-3-small",
        "error_message": "unsupported file type",
        "processing_started_at": "2025-06-15T10:00:05Z",
        "processing_completed_at": "2025-06-15T10:00:09Z",
        "added_at": "2025-06-15T10:00:00Z",
    },
}
AITRONOS_BARE = {"status": "processing", "progress_percent": 50, "current_step": "embedding"}
AITRONOS_REF = "aitronos:org_xyz789/vs_abc123/file_abc123def456"
NEURO_ID = "1d6986aa-80ac-4a4d-9009-5a323c9046b1"
NEURO_PENDING: dict[str, Any] = {
    "success": True,
    "document_id": NEURO_ID,
    "status": "pending",
    "results": None,
    "started_at": None,
    "completed_at": None,
}
M2P_ID = "5f0c2a7e-9d1b-4c3e-8f6a-2b7d9e4c1a03"


def _headers(server: CannedServer, index: int = -1) -> dict[str, str]:
    return {k.lower(): v for k, v in server.requests[index].headers.items()}


def _spec(provider: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((SPECS / provider / "openapi.yaml").read_text("utf-8"))
    return loaded


async def _get(mode: str, ref: str, **kwargs: Any) -> docstatus.JobStatus:
    if mode == "sync":
        return docstatus.get_status(ref, **kwargs)
    return await docstatus.get_status_async(ref, **kwargs)


async def _resolve(mode: str, status: docstatus.JobStatus, **kwargs: Any) -> tuple[Output, ...]:
    if mode == "sync":
        return docstatus.resolve_outputs(status, **kwargs)
    return await docstatus.resolve_outputs_async(status, **kwargs)


async def _call(mode: str, provider: str, client: Any, **args: Any) -> Any:
    op = importlib.import_module(f"docstatus_{provider}_client.api.status.get_status")
    if mode == "sync":
        with client:
            return op.sync_detailed(**args, client=client)
    async with client:
        return await op.asyncio_detailed(**args, client=client)


# --- item 1: credentials from the spec ----------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_auth_schemes_are_the_specs_security(provider: str) -> None:
    spec = _spec(provider)
    declared = spec.get("components", {}).get("securitySchemes", {})
    expected = []
    for requirement in spec.get("security") or []:
        for name in requirement:
            scheme = declared[name]
            if scheme["type"] == "apiKey":
                expected.append((name, "api_key", scheme["name"], ""))
            else:
                expected.append((name, "bearer", "Authorization", "Bearer"))
    client = importlib.import_module(f"docstatus_{provider}_client.client")
    assert [(s.name, s.kind, s.header, s.prefix) for s in client.AUTH_SCHEMES] == expected
    if expected:
        default = client.AuthenticatedClient(base_url="https://x.invalid", token="t")
        assert (default.auth_header_name, default.prefix) == expected[0][2:]


def test_the_expected_schemes_per_provider() -> None:
    kinds = {
        p: [(s.kind, s.header) for s in importlib.import_module(f"docstatus_{p}_client.client").AUTH_SCHEMES]
        for p in PROVIDERS
    }
    assert kinds == {
        "aitronos": [("bearer", "Authorization"), ("api_key", "X-API-Key")],
        "artos": [("bearer", "Authorization")],
        "markdown2pdf": [],
        "neurolinker": [("bearer", "Authorization")],
        "sarvam": [("api_key", "api-subscription-key")],
    }


@pytest.mark.parametrize("mode", MODES)
async def test_sarvam_client_sends_its_key_by_default(mode: str, canned_server: CannedServer) -> None:
    """The README's first try: AuthenticatedClient(base_url, token=key) with nothing else."""
    from docstatus_sarvam_client import AuthenticatedClient  # noqa: PLC0415

    canned_server.reply(Canned(200, SARVAM_BODY))
    client = AuthenticatedClient(base_url=canned_server.base_url, token=TOKEN)
    response = await _call(mode, "sarvam", client, job_id="job_7Hq2xK9p")
    headers = _headers(canned_server)
    assert headers["api-subscription-key"] == TOKEN
    assert "authorization" not in headers
    assert canned_server.requests[-1].path == "/doc-digitization/job/v1/job_7Hq2xK9p/status"
    assert response.parsed.job_id == "job_7Hq2xK9p"


@pytest.mark.parametrize("mode", MODES)
async def test_aitronos_client_api_key_scheme(mode: str, canned_server: CannedServer) -> None:
    from docstatus_aitronos_client import AuthenticatedClient  # noqa: PLC0415
    from docstatus_aitronos_client.client import AUTH_SCHEMES  # noqa: PLC0415

    (api_key,) = [s for s in AUTH_SCHEMES if s.kind == "api_key"]
    canned_server.reply(Canned(200, AITRONOS_BARE))
    client = AuthenticatedClient(
        base_url=canned_server.base_url, token=TOKEN, auth_header_name=api_key.header, prefix=api_key.prefix
    )
    await _call(mode, "aitronos", client, organization_id="o", store_id="s", file_id="f")
    headers = _headers(canned_server)
    assert headers["x-api-key"] == TOKEN
    assert "authorization" not in headers


def test_fetch_has_no_header_table_of_its_own() -> None:
    """The credential's header and prefix come from the generated clients' ``AUTH_SCHEMES``
    only: no provider module and no HTTP module holds a table of its own."""
    import docstatus._fetch  # noqa: PLC0415
    from docstatus import _http, _providers, _registry  # noqa: PLC0415

    for provider in docstatus.PROVIDERS:
        module = _registry.mapper(provider)
        assert not hasattr(module, "auth_header")
        name, _ = module.operation(docstatus.parse_ref(f"{provider}:{'/'.join(['x'] * module.ID_PARTS)}"), {})
        assert name == f"{module.CLIENT}.api.status.get_status"
    sources = [Path(docstatus._fetch.__file__), *Path(_http.__file__).parent.glob("*.py")]
    sources += Path(_providers.__file__).parent.glob("*.py")
    assert len(sources) > 10
    for path in sources:
        source = path.read_text("utf-8")
        assert "api-subscription-key" not in source, path
        assert '"Bearer ' not in source, path


def _generate() -> Any:
    name = "docstatus_codegen_generate"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "codegen" / "generate.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_codegen_auth_schemes_refuses_what_templates_cannot_send() -> None:
    gen = _generate()
    basic = {"components": {"securitySchemes": {"b": {"type": "http", "scheme": "basic"}}}, "security": [{"b": []}]}
    with pytest.raises(gen.GenerationError, match="not supported"):
        gen.auth_schemes(basic, "acme")
    with pytest.raises(gen.GenerationError, match="does not define"):
        gen.auth_schemes({"security": [{"nope": []}]}, "acme")
    own = {"security": [], "paths": {"/a": {"get": {"security": [{"x": []}]}}}}
    with pytest.raises(gen.GenerationError, match="its own 'security'"):
        gen.auth_schemes(own, "acme")
    assert gen.auth_schemes({"security": []}, "acme") == []
    cookie = {"components": {"securitySchemes": {"c": {"type": "apiKey", "in": "query", "name": "k"}}}}
    with pytest.raises(gen.GenerationError, match="not supported"):
        gen.auth_schemes({**cookie, "security": [{"c": []}]}, "acme")


# --- item 2: one operation name ------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_status_operation_is_api_status_get_status(provider: str) -> None:
    op = importlib.import_module(f"docstatus_{provider}_client.api.status.get_status")
    for name in ("sync", "sync_detailed", "asyncio", "asyncio_detailed"):
        assert callable(getattr(op, name))
    assert next(iter(_spec(provider)["paths"].values()))["get"]["operationId"] == "getStatus"


# --- items 3, 4: Sarvam --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_sarvam_non_uuid_id_is_fetched_and_parsed(mode: str, canned_server: CannedServer) -> None:
    canned_server.reply(Canned(200, SARVAM_BODY))
    cfg = ProviderConfig(provider="sarvam", base_url=canned_server.base_url, token=TOKEN)
    status = await _get(mode, "sarvam:job_7Hq2xK9p", config=cfg)
    assert (status.job_id, status.state) == ("job_7Hq2xK9p", State.RUNNING)
    assert canned_server.requests[-1].path == "/doc-digitization/job/v1/job_7Hq2xK9p/status"
    assert _headers(canned_server)["api-subscription-key"] == TOKEN


@pytest.mark.parametrize("mode", MODES)
async def test_sarvam_404_is_documented_and_parsed(mode: str, canned_server: CannedServer) -> None:
    from docstatus_sarvam_client import AuthenticatedClient  # noqa: PLC0415
    from docstatus_sarvam_client.models import DocDigitizationErrorMessage  # noqa: PLC0415

    assert "404" in _spec("sarvam")["paths"]["/doc-digitization/job/v1/{job_id}/status"]["get"]["responses"]
    canned_server.reply(Canned(404, SARVAM_NOT_FOUND))
    client = AuthenticatedClient(base_url=canned_server.base_url, token=TOKEN)
    response = await _call(mode, "sarvam", client, job_id="nope")
    assert isinstance(response.parsed, DocDigitizationErrorMessage)
    assert response.parsed.error.message == "Job not found"
    assert response.parsed.error.code.value == "invalid_request_error"

    canned_server.reply(Canned(404, SARVAM_NOT_FOUND))
    cfg = ProviderConfig(provider="sarvam", base_url=canned_server.base_url, token=TOKEN)
    with pytest.raises(docstatus.JobNotFound) as caught:
        await _get(mode, "sarvam:nope", config=cfg)
    assert caught.value.code == "invalid_request_error"
    assert "Job not found" in str(caught.value)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_documented_error_body_has_a_typed_parser(provider: str) -> None:
    """Each status a spec documents with a JSON body is a branch of the generated operation, on every path."""
    spec = _spec(provider)
    client = importlib.import_module(f"docstatus_{provider}_client")
    for path, item in spec["paths"].items():
        module = "get_status" if item["get"]["operationId"] == "getStatus" else "get_status_vector_stores"
        source = Path(importlib.import_module(f"{client.__name__}.api.status.{module}").__file__ or "").read_text()
        for code, response in item["get"]["responses"].items():
            if (response.get("content") or {}).get("application/json"):
                assert f"response.status_code == {code}" in source, (provider, path, code)


# --- item 5: Aitronos ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_aitronos_api_key_by_configuration(mode: str, canned_server: CannedServer) -> None:
    canned_server.reply(Canned(200, AITRONOS_BARE))
    cfg = ProviderConfig(provider="aitronos", base_url=canned_server.base_url, token=TOKEN, options={"auth": "api_key"})
    status = await _get(mode, AITRONOS_REF, config=cfg)
    assert status.state is State.RUNNING
    headers = _headers(canned_server)
    assert headers["x-api-key"] == TOKEN
    assert "authorization" not in headers
    assert (
        canned_server.requests[-1].path
        == "/v1/organizations/org_xyz789/stores/vs_abc123/files/file_abc123def456/status"
    )


@pytest.mark.parametrize("mode", MODES)
async def test_aitronos_bearer_is_the_default(mode: str, canned_server: CannedServer) -> None:
    canned_server.reply(Canned(200, AITRONOS_BARE))
    cfg = ProviderConfig(provider="aitronos", base_url=canned_server.base_url, token=TOKEN)
    await _get(mode, AITRONOS_REF, config=cfg)
    headers = _headers(canned_server)
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert "x-api-key" not in headers


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", ["stores", "vector-stores"])
async def test_aitronos_envelope_on_either_path(mode: str, path: str, canned_server: CannedServer) -> None:
    canned_server.reply(Canned(200, AITRONOS_ENVELOPE))
    options = {"path": path, "auth": "api_key"}
    cfg = ProviderConfig(provider="aitronos", base_url=canned_server.base_url, token=TOKEN, options=options)
    status = await _get(mode, AITRONOS_REF, config=cfg)
    assert canned_server.requests[-1].path == (
        f"/v1/organizations/org_xyz789/{path}/vs_abc123/files/file_abc123def456/status"
    )
    assert status.state is State.FAILED
    assert status.error is not None
    assert status.error.message == "unsupported file type"
    assert status.started_at is not None
    assert status.started_at.isoformat() == "2025-06-15T10:00:05+00:00"
    assert status.completed_at is not None


@pytest.mark.parametrize("mode", MODES)
async def test_aitronos_bare_body_on_the_sdk_path(mode: str, canned_server: CannedServer) -> None:
    canned_server.reply(Canned(200, AITRONOS_BARE))
    cfg = ProviderConfig(
        provider="aitronos", base_url=canned_server.base_url, token=TOKEN, options={"path": "vector-stores"}
    )
    status = await _get(mode, AITRONOS_REF, config=cfg)
    assert (status.state, status.progress, status.step) == (State.RUNNING, 0.5, "embedding")


def test_aitronos_envelope_through_parse_and_a_broken_envelope_is_malformed() -> None:
    status = docstatus.parse("aitronos", AITRONOS_ENVELOPE, job_id="o/s/f")
    assert status.state is State.FAILED
    broken = {**AITRONOS_ENVELOPE, "data": {"status": ["failed"]}}
    with pytest.raises(docstatus.MalformedResponse):
        docstatus.parse("aitronos", broken, job_id="o/s/f")


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"auth": "basic"}, "not one of"),
        ({"path": "files"}, "not one of"),
        ({"colour": "red"}, "no option 'colour'"),
    ],
)
def test_aitronos_options_are_checked(options: dict[str, str], needle: str) -> None:
    with pytest.raises(docstatus.ConfigurationError, match=needle):
        ProviderConfig(provider="aitronos", base_url="https://api.aitronos.com", options=options)


def test_other_providers_take_no_options() -> None:
    with pytest.raises(docstatus.ConfigurationError, match="no option 'auth'"):
        ProviderConfig(provider="sarvam", base_url="https://api.sarvam.ai", options={"auth": "bearer"})


def test_options_from_the_environment_and_hashable() -> None:
    env = {"DOCSTATUS_AITRONOS_AUTH": "api_key", "DOCSTATUS_AITRONOS_PATH": "vector-stores"}
    cfg = ProviderConfig.from_env("aitronos", env)
    assert dict(cfg.options) == {"auth": "api_key", "path": "vector-stores"}
    assert hash(cfg) == hash(ProviderConfig.from_env("aitronos", env))
    assert ProviderConfig.from_env("aitronos", {}).options == ()


# --- item 6: Neurolinker -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("wrapped", [False, True])
async def test_neurolinker_null_results_and_envelope(mode: str, wrapped: bool, canned_server: CannedServer) -> None:
    canned_server.reply(Canned(200, {"data": NEURO_PENDING} if wrapped else NEURO_PENDING))
    cfg = ProviderConfig(provider="neurolinker", base_url=canned_server.base_url, token=TOKEN)
    status = await _get(mode, f"neurolinker:{NEURO_ID}", config=cfg)
    assert (status.job_id, status.state, status.outputs) == (NEURO_ID, State.QUEUED, ())


def test_neurolinker_envelope_through_parse() -> None:
    done = {**NEURO_PENDING, "status": "completed", "results": {"storage_path": "uploads/x/"}}
    status = docstatus.parse("neurolinker", {"data": done})
    assert status.state is State.SUCCEEDED
    assert status.outputs == (Output(name="storage_path", uri="uploads/x/"),)
    with pytest.raises(docstatus.MalformedResponse):
        docstatus.parse("neurolinker", {"data": {**done, "results": ["not", "an", "object"]}})


# --- item 7: markdown2pdf ------------------------------------------------------------------------------


def _m2p_done(path: str) -> dict[str, Any]:
    return {"id": M2P_ID, "status": "Done", "progress": 1, "path": path}


def test_markdown2pdf_path_is_the_metadata_output() -> None:
    status = docstatus.parse("markdown2pdf", _m2p_done("https://api.markdown2pdf.ai/output/x/metadata"))
    assert status.outputs == (Output(name="metadata", uri="https://api.markdown2pdf.ai/output/x/metadata"),)


@pytest.mark.parametrize("mode", MODES)
async def test_resolve_outputs_gets_the_pdf_url_without_credentials(mode: str, canned_server: CannedServer) -> None:
    pdf = "https://cdn.markdown2pdf.ai/x.pdf"
    status = docstatus.parse("markdown2pdf", _m2p_done(f"{canned_server.base_url}/output/{M2P_ID}/metadata?v=1"))
    canned_server.reply(Canned(200, {"url": pdf}))
    cfg = ProviderConfig(provider="markdown2pdf", base_url="https://api.markdown2pdf.ai", token=TOKEN)
    assert await _resolve(mode, status, config=cfg) == (Output(name="pdf", uri=pdf),)
    seen = canned_server.requests[-1]
    assert seen.path == f"/output/{M2P_ID}/metadata?v=1"
    assert TOKEN not in str(seen.headers)


@pytest.mark.parametrize("mode", MODES)
async def test_resolve_outputs_relative_path_and_untouched_outputs(mode: str, canned_server: CannedServer) -> None:
    status = docstatus.parse("markdown2pdf", _m2p_done("/output/meta"))
    canned_server.reply(Canned(200, {"url": "https://cdn.example/x.pdf"}))
    cfg = ProviderConfig(provider="markdown2pdf", base_url=canned_server.base_url + "/v1/markdown")
    assert await _resolve(mode, status, config=cfg) == (Output(name="pdf", uri="https://cdn.example/x.pdf"),)
    assert canned_server.requests[-1].path == "/output/meta"
    running = docstatus.parse("neurolinker", NEURO_PENDING)
    assert (
        await _resolve(mode, running, config=ProviderConfig(provider="neurolinker", base_url="https://x.invalid")) == ()
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("answer", "error", "needle"),
    [
        (Canned(302, b"", {"Location": "https://evil.example/x"}), docstatus.ProviderError, "evil.example"),
        (Canned(200, {"nope": 1}), docstatus.MalformedResponse, "url"),
        (Canned(200, b"<html>"), docstatus.MalformedResponse, "url"),
        (Canned(200, {"url": "x" * 5000}), docstatus.MalformedResponse, "max_body"),
        (Canned(404, b""), docstatus.JobNotFound, "404"),
        (Canned(503, b""), docstatus.ProviderServerError, "503"),
    ],
    ids=["redirect", "no-url", "html", "too-large", "404", "503"],
)
async def test_resolve_outputs_hardening(
    mode: str, answer: Canned, error: type[Exception], needle: str, canned_server: CannedServer
) -> None:
    status = docstatus.parse("markdown2pdf", _m2p_done(f"{canned_server.base_url}/meta"))
    canned_server.reply(answer)
    cfg = ProviderConfig(provider="markdown2pdf", base_url=canned_server.base_url, max_body=1000)
    with pytest.raises(error) as caught:
        await _resolve(mode, status, config=cfg)
    assert needle in str(caught.value)
    assert len(canned_server.requests) == 1  # a redirect is not followed


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections on 127.0.0.1 and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        sock.close()


@pytest.mark.parametrize("mode", MODES)
async def test_resolve_outputs_whole_request_deadline(mode: str, silent_server: str) -> None:
    status = docstatus.parse("markdown2pdf", _m2p_done(f"{silent_server}/meta"))
    cfg = ProviderConfig(provider="markdown2pdf", base_url=silent_server, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(docstatus.TransportError, match="timed out"):
        await _resolve(mode, status, config=cfg)
    assert time.monotonic() - started < 3


def test_resolve_outputs_refuses_a_non_http_metadata_url() -> None:
    status = docstatus.parse("markdown2pdf", _m2p_done("file:///etc/passwd"))
    cfg = ProviderConfig(provider="markdown2pdf", base_url="https://api.markdown2pdf.ai")
    with pytest.raises(docstatus.MalformedResponse, match="not an http"):
        docstatus.resolve_outputs(status, config=cfg)


@pytest.mark.parametrize("mode", MODES)
async def test_markdown2pdf_v1_prefix_in_the_base_url(mode: str, canned_server: CannedServer) -> None:
    canned_server.reply(Canned(200, {"id": M2P_ID, "status": "Processing", "progress": 0.5}))
    cfg = ProviderConfig(provider="markdown2pdf", base_url=canned_server.base_url + "/v1/markdown")
    status = await _get(mode, f"markdown2pdf:{M2P_ID}", config=cfg)
    assert status.progress == 0.5
    assert canned_server.requests[-1].path == f"/v1/markdown/job/{M2P_ID}/status"


# --- item 8: parse() of a generated model --------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_parse_takes_the_typed_clients_model(mode: str, canned_server: CannedServer) -> None:
    from docstatus_sarvam_client import AuthenticatedClient  # noqa: PLC0415

    canned_server.reply(Canned(200, SARVAM_BODY))
    response = await _call(
        mode, "sarvam", AuthenticatedClient(base_url=canned_server.base_url, token=TOKEN), job_id="j"
    )
    status = docstatus.parse("sarvam", response.parsed)
    assert (status.provider, status.job_id, status.state) == ("sarvam", "job_7Hq2xK9p", State.RUNNING)
    assert status.model is response.parsed


def test_parse_refuses_another_providers_model() -> None:
    from docstatus_sarvam_client.models import DocDigitizationJobStatusResponse  # noqa: PLC0415

    model = DocDigitizationJobStatusResponse.from_dict(SARVAM_BODY)
    with pytest.raises(docstatus.ConfigurationError, match="not a artos status model"):
        docstatus.parse("artos", model)


def test_parse_of_an_envelope_model() -> None:
    from docstatus_neurolinker_client.models import DocumentStatusEnvelope  # noqa: PLC0415

    status = docstatus.parse("neurolinker", DocumentStatusEnvelope.from_dict({"data": NEURO_PENDING}))
    assert status.state is State.QUEUED


@pytest.mark.parametrize("mode", MODES)
async def test_resolve_outputs_takes_the_right_client_kind(mode: str) -> None:
    status = docstatus.parse("markdown2pdf", _m2p_done("https://a.invalid/m"))
    cfg = ProviderConfig(provider="markdown2pdf", base_url="https://a.invalid")
    if mode == "sync":
        async with httpx.AsyncClient() as wrong:
            with pytest.raises(TypeError, match="resolve_outputs_async"):
                docstatus.resolve_outputs(status, config=cfg, client=wrong)  # type: ignore[arg-type]
    else:
        with httpx.Client() as wrong_sync, pytest.raises(TypeError, match="resolve_outputs "):
            await docstatus.resolve_outputs_async(status, config=cfg, client=wrong_sync)  # type: ignore[arg-type]


# Minimal bodies of each documented error schema, as the provider sends them.
ERROR_BODIES: dict[str, Any] = {
    "DocDigitizationErrorMessage": {"error": {"message": "m", "code": "invalid_request_error", "request_id": "r"}},
    "ErrorEnvelope": {"success": False, "error": {"code": "FILE_NOT_IN_STORE", "message": "m", "status": 404}},
    "HTTPValidationError": {"detail": [{"loc": ["path", "job_id"], "msg": "bad", "type": "value_error"}]},
}


def _documented_errors() -> list[tuple[str, str, str, int, str]]:
    found = []
    for provider in PROVIDERS:
        for path, item in _spec(provider)["paths"].items():
            operation = item["get"]["operationId"]
            for code, response in item["get"]["responses"].items():
                media = (response.get("content") or {}).get("application/json")
                if int(code) >= 400 and media:
                    found.append((provider, path, operation, int(code), media["schema"]["$ref"].rsplit("/", 1)[1]))
    return found


DOCUMENTED_ERRORS = _documented_errors()
_ARGS = {
    "sarvam": {"job_id": "j1"},
    "markdown2pdf": {"job_id": "j1"},
    "artos": {"document_id": "d1"},
    "neurolinker": {"document_id": "d1"},
}


def test_the_documented_error_bodies_are_known() -> None:
    assert {schema for *_, schema in DOCUMENTED_ERRORS} == set(ERROR_BODIES)
    assert ("sarvam", 404) in {(p, c) for p, _, _, c, _ in DOCUMENTED_ERRORS}
    assert len([e for e in DOCUMENTED_ERRORS if e[0] == "aitronos"]) == 6  # 401/403/404 on both paths


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("provider", "path", "operation", "code", "schema"), DOCUMENTED_ERRORS, ids=lambda v: str(v)[:24]
)
async def test_every_documented_error_body_is_parsed_over_http(
    mode: str, provider: str, path: str, operation: str, code: int, schema: str, canned_server: CannedServer
) -> None:
    package = f"docstatus_{provider}_client"
    module = "get_status" if operation == "getStatus" else "get_status_vector_stores"
    op = importlib.import_module(f"{package}.api.status.{module}")
    pkg = importlib.import_module(package)
    client = pkg.AuthenticatedClient(base_url=canned_server.base_url, token=TOKEN)
    if provider == "aitronos":
        store = "store_id" if module == "get_status" else "vector_store_id"
        args = {"organization_id": "o", store: "s", "file_id": "f"}
    else:
        args = _ARGS[provider]
    canned_server.reply(Canned(code, ERROR_BODIES[schema]))
    if mode == "sync":
        with client:
            response = op.sync_detailed(**args, client=client)
    else:
        async with client:
            response = await op.asyncio_detailed(**args, client=client)
    model = getattr(importlib.import_module(f"{package}.models"), schema)
    assert int(response.status_code) == code
    assert isinstance(response.parsed, model)
    assert response.parsed.to_dict() == ERROR_BODIES[schema]
