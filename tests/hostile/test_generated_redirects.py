"""The generated clients keep their credential at home: whatever a server redirects to, and
whichever URL a caller asks for, the credential header goes only to the origin (scheme, host,
port) of the base URL.

httpx, following redirects, copies every header to the next hop and strips only
``Authorization`` (and keeps even that on an http->https upgrade of the same host), so
Sarvam's ``api-subscription-key`` followed any 3xx. The servers are raw sockets on 127.0.0.1
(tests/hostile/_rawserver.py); "another origin" is another port, or the same port under
another host name.
"""

from __future__ import annotations

import importlib
import socket
import uuid
from typing import TYPE_CHECKING, Any

import attrs
import httpx
import pytest
from _rawserver import Conn, RawServer, answer, redirect
from conftest import tls

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.anyio

MODES = ["sync", "async"]
REDIRECTS = [301, 302, 303, 307, 308]
CREDENTIAL_HEADERS = ("authorization", "api-subscription-key")


@attrs.frozen
class Provider:
    name: str
    operation: str
    args: dict[str, Any]
    token: str
    header: str  # the header the credential travels in (lower case)
    client_kwargs: dict[str, str] = attrs.Factory(dict)

    def __str__(self) -> str:
        return self.name

    def package(self) -> Any:
        return importlib.import_module(f"docstatus_{self.name}_client")

    def client(self, base_url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("verify_ssl", tls())  # the TLS context httpx builds by default, built once
        return self.package().AuthenticatedClient(base_url=base_url, token=self.token, **self.client_kwargs, **kwargs)

    def sent(self, headers: dict[str, str]) -> bool:
        """Whether a request with ``headers`` carried this provider's credential, correctly formed."""
        expected = self.token if self.header == "api-subscription-key" else f"Bearer {self.token}"
        return headers.get(self.header) == expected

    async def call(self, client: Any, mode: str) -> Any:
        op = importlib.import_module(f"docstatus_{self.name}_client.{self.operation}")
        if mode == "sync":
            with client:
                return op.sync_detailed(**self.args, client=client)
        async with client:
            return await op.asyncio_detailed(**self.args, client=client)


PROVIDERS = [
    Provider(
        "artos",
        "api.status.get_status",
        {"document_id": "document-uuid-456"},
        "artos-TOKEN-9f1c7e",
        "authorization",
    ),
    Provider(
        "sarvam",
        "api.status.get_status",
        {"job_id": uuid.UUID("1aa6e189-c206-46c3-a70b-76acbb8ebbaf")},
        "sarvam-KEY-4b2d8a",
        "api-subscription-key",
        {"prefix": "", "auth_header_name": "api-subscription-key"},
    ),
    Provider(
        "neurolinker",
        "api.status.get_status",
        {"document_id": "1d6986aa-80ac-4a4d-9009-5a323c9046b1"},
        "nl_live_TOKEN_77ab",
        "authorization",
    ),
    Provider(
        "aitronos",
        "api.status.get_status",
        {"organization_id": "org_x", "store_id": "vs_y", "file_id": "file_z"},
        "atr_sk_TOKEN_c41e",
        "authorization",
    ),
]

# Not a status any spec documents: the generated client returns it with ``parsed=None``.
LANDED = 418


def leaked(server: RawServer, token: str) -> list[dict[str, str]]:
    """The requests ``server`` received that carried a credential header or the token anywhere."""
    return [
        r.headers
        for r in server.requests
        if any(h in r.headers for h in CREDENTIAL_HEADERS) or any(token in v for v in r.headers.values())
    ]


def moved_or(elsewhere: Callable[[Conn], None], *, prefix: str = "/moved") -> Callable[[Conn], None]:
    """Answers ``LANDED`` on paths under ``prefix``, and runs ``elsewhere`` for every other path."""
    landed = answer(LANDED, b"")

    def run(conn: Conn) -> None:
        (landed if conn.request.path.startswith(prefix) else elsewhere)(conn)

    return run


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
@pytest.mark.parametrize("status", REDIRECTS)
async def test_cross_origin_redirect_gets_no_credential(provider: Provider, status: int, mode: str) -> None:
    with (
        RawServer(answer(LANDED, b"")) as other,
        RawServer(redirect(other.url + "/steal", status)) as home,
    ):
        response = await provider.call(provider.client(home.url, follow_redirects=True), mode)
        assert response.status_code == LANDED  # the redirect was followed ...
        assert [r.path for r in other.requests] == ["/steal"]
        assert leaked(other, provider.token) == []  # ... without the credential
        assert provider.sent(home.requests[0].headers)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
@pytest.mark.parametrize("status", REDIRECTS)
async def test_same_origin_redirect_keeps_the_credential(provider: Provider, status: int, mode: str) -> None:
    with RawServer(moved_or(redirect("/moved/here", status))) as home:
        response = await provider.call(provider.client(home.url, follow_redirects=True), mode)
    assert response.status_code == LANDED
    assert [r.path for r in home.requests][1:] == ["/moved/here"]
    assert all(provider.sent(r.headers) for r in home.requests)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
async def test_absolute_same_origin_redirect_keeps_the_credential(provider: Provider, mode: str) -> None:
    where: list[str] = []
    with RawServer(moved_or(lambda conn: redirect(where[0] + "/moved", 307)(conn))) as home:
        where.append(home.url)
        await provider.call(provider.client(home.url, follow_redirects=True), mode)
    assert [r.path for r in home.requests][1:] == ["/moved"]
    assert all(provider.sent(r.headers) for r in home.requests)


def _localhost_is_loopback() -> bool:
    try:
        return "127.0.0.1" in {a[4][0] for a in socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)}
    except OSError:
        return False


@pytest.mark.skipif(not _localhost_is_loopback(), reason="localhost does not resolve to 127.0.0.1 here")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
async def test_same_port_under_another_host_name_is_another_origin(provider: Provider, mode: str) -> None:
    """http://localhost:P is not http://127.0.0.1:P, even when both reach the same socket."""
    ports: list[int] = []
    with RawServer(moved_or(lambda conn: redirect(f"http://localhost:{ports[0]}/moved", 302)(conn))) as home:
        ports.append(int(home.url.rsplit(":", 1)[1]))
        await provider.call(provider.client(home.url, follow_redirects=True), mode)
    first, *rest = home.requests
    assert provider.sent(first.headers)
    assert [r.path for r in rest] == ["/moved"]
    assert rest[0].headers["host"].startswith("localhost:")
    assert not any(h in rest[0].headers for h in CREDENTIAL_HEADERS)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
async def test_redirect_chain_that_leaves_and_comes_back(provider: Provider, mode: str) -> None:
    """home -> other -> home: the other origin gets nothing; back home, the credential is sent again."""
    where: list[str] = []
    with RawServer(lambda conn: redirect(where[0] + "/moved", 307)(conn)) as other:
        with RawServer(moved_or(redirect(other.url + "/hop", 302))) as home:
            where.append(home.url)
            response = await provider.call(provider.client(home.url, follow_redirects=True), mode)
        assert response.status_code == LANDED
        assert leaked(other, provider.token) == []
    assert [r.path for r in home.requests][1:] == ["/moved"]
    assert all(provider.sent(r.headers) for r in home.requests)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
@pytest.mark.parametrize("status", [302, 307])
async def test_own_following_httpx_client_keeps_the_credential_home(provider: Provider, status: int, mode: str) -> None:
    """set_httpx_client / set_async_httpx_client with a caller's client that follows redirects."""
    with (
        RawServer(answer(LANDED, b"")) as other,
        RawServer(redirect(other.url + "/steal", status)) as home,
    ):
        client = provider.client("http://unused.invalid")
        if mode == "sync":
            client.set_httpx_client(httpx.Client(base_url=home.url, follow_redirects=True))
        else:
            client.set_async_httpx_client(httpx.AsyncClient(base_url=home.url, follow_redirects=True))
        response = await provider.call(client, mode)
        assert response.status_code == LANDED
        assert provider.sent(home.requests[0].headers)
        assert [r.path for r in other.requests] == ["/steal"]
        assert leaked(other, provider.token) == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
async def test_absolute_url_to_another_origin_gets_no_credential(provider: Provider, mode: str) -> None:
    """A request the caller makes on the client's httpx client to an absolute foreign URL."""
    with RawServer(answer(LANDED, b"")) as other, RawServer(answer(LANDED, b"")) as home:
        client = provider.client(home.url)
        if mode == "sync":
            with client.get_httpx_client() as http:
                http.get("/here")
                http.get(other.url + "/there")
        else:
            async with client.get_async_httpx_client() as http:
                await http.get("/here")
                await http.get(other.url + "/there")
        assert provider.sent(home.requests[0].headers)
        assert [r.path for r in other.requests] == ["/there"]
        assert leaked(other, provider.token) == []
