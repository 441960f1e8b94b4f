"""Shared by the simulator tests: per-provider facts (paths, auth headers, clients) and fixtures."""

from __future__ import annotations

import importlib
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docstatus.simulator import SCRIPTS, Simulator

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
PROVIDERS = ("aitronos", "artos", "markdown2pdf", "neurolinker", "sarvam")

#: Each provider's documented status path (OpenAPI template).
OPERATION = {
    "aitronos": "/v1/organizations/{organization_id}/stores/{store_id}/files/{file_id}/status",
    "artos": "/api/v1/documents/status/{document_id}",
    "markdown2pdf": "/job/{job_id}/status",
    "neurolinker": "/v1/document-status/{document_id}",
    "sarvam": "/doc-digitization/job/v1/{job_id}/status",
}

#: (module, function arguments) of each generated client's status operation.
CLIENT_OP = {
    "aitronos": "docstatus_aitronos_client.api.status.get_status",
    "artos": "docstatus_artos_client.api.status.get_status",
    "markdown2pdf": "docstatus_markdown2pdf_client.api.status.get_status",
    "neurolinker": "docstatus_neurolinker_client.api.status.get_status",
    "sarvam": "docstatus_sarvam_client.api.status.get_status",
}

#: Every (provider, ready-made script) pair.
PROVIDER_SCRIPTS = [(p, s) for p in PROVIDERS for s in SCRIPTS[p]]


def job_id_of(ref: str) -> str:
    return ref.split(":", 1)[1]


def path_params(provider: str, job_id: str) -> dict[str, str]:
    """The status operation's path parameters for a job id."""
    if provider == "aitronos":
        org, store, file = job_id.split("/")
        return {"organization_id": org, "store_id": store, "file_id": file}
    key = {"artos": "document_id", "neurolinker": "document_id"}.get(provider, "job_id")
    return {key: job_id}


def auth_headers(sim: Simulator, provider: str, token: str | None = None) -> dict[str, str]:
    """The headers that authenticate to the simulated provider (``token`` overrides the right one)."""
    token = sim.tokens.get(provider) if token is None else token
    if provider == "markdown2pdf" or token is None:
        return {}
    if provider == "sarvam":
        return {"api-subscription-key": token}
    return {"Authorization": f"Bearer {token}"}


def url_of(sim: Simulator, provider: str, job_id: str) -> str:
    path = OPERATION[provider].format(**path_params(provider, job_id))
    return sim.base_url(provider) + path


def client_for(sim: Simulator, provider: str, token: str | None = None, **kwargs: Any) -> Any:
    """A generated client pointed at the simulator (authenticated unless markdown2pdf)."""
    package = importlib.import_module(f"docstatus_{provider}_client")
    token = sim.tokens.get(provider) if token is None else token
    kwargs.setdefault("verify_ssl", False)  # plain http: skip loading CA certificates (~70 ms a client)
    if provider == "markdown2pdf":
        return package.Client(base_url=sim.base_url(provider), **kwargs)
    if provider == "sarvam":
        return package.AuthenticatedClient(
            base_url=sim.base_url(provider),
            token=token,
            prefix="",
            auth_header_name="api-subscription-key",
            **kwargs,
        )
    return package.AuthenticatedClient(base_url=sim.base_url(provider), token=token, **kwargs)


def client_args(provider: str, job_id: str) -> dict[str, Any]:
    """Keyword arguments of the generated status operation for a job id."""
    args: dict[str, Any] = path_params(provider, job_id)
    if provider == "sarvam":
        args["job_id"] = uuid.UUID(job_id)
    return args


def client_call(sim: Simulator, provider: str, job_id: str, **kwargs: Any) -> Any:
    """``sync_detailed`` of the generated status operation against the simulator."""
    op = importlib.import_module(CLIENT_OP[provider])
    with client_for(sim, provider, **kwargs) as client:
        return op.sync_detailed(**client_args(provider, job_id), client=client)


async def client_call_async(sim: Simulator, provider: str, job_id: str, **kwargs: Any) -> Any:
    op = importlib.import_module(CLIENT_OP[provider])
    async with client_for(sim, provider, **kwargs) as client:
        return await op.asyncio_detailed(**client_args(provider, job_id), client=client)


def serve() -> Iterator[Simulator]:
    """A started simulator, stopped afterwards (for a module-scoped fixture)."""
    with Simulator() as sim:
        yield sim


def fresh(sim: Simulator) -> Iterator[Simulator]:
    """``sim`` reset, with a frozen clock (tests move it with ``advance``); reset afterwards."""
    sim.reset()
    sim.clock.freeze()
    try:
        yield sim
    finally:
        sim.reset()
