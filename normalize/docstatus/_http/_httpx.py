"""The transports over httpx: ``get_status``, ``wait`` and callers' own clients.

httpx's own timeouts are per read, so a server that trickles a body would hold a request
forever: the sync transport runs the request in a worker thread, waits for it until the
deadline, and then shuts the connections the request opened (the worker wakes at once and
ends); the async one runs it in a cancel scope (asyncio or trio). The credential goes on the
request, never on the client (a caller's client is shared across providers), and redirects are
never followed, whatever the client's setting.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from ._transport import Answer, Body, Deadline, Request, decoded_headers, ssl_context

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._transport import AsyncTransport


def new_client(connections: int | None = None) -> httpx.Client:
    """A fresh ``httpx.Client`` with docstatus's shared TLS context (``connections`` in its pool;
    default httpx's: 100, 20 kept alive)."""
    return httpx.Client(verify=ssl_context(), limits=_limits(connections))


def new_async_client(connections: int | None = None) -> httpx.AsyncClient:
    """A fresh ``httpx.AsyncClient`` with docstatus's shared TLS context (any event loop anyio
    runs: asyncio or trio)."""
    return httpx.AsyncClient(verify=ssl_context(), limits=_limits(connections))


def _limits(connections: int | None) -> httpx.Limits:
    if connections is None:
        return httpx.Limits(max_connections=100, max_keepalive_connections=20)
    return httpx.Limits(max_connections=connections, max_keepalive_connections=connections)


def _build(client: httpx.Client | httpx.AsyncClient, request: Request) -> httpx.Request:
    left = max(request.deadline - time.monotonic(), 0.001)
    return client.build_request(request.method, request.url, headers=request.headers, timeout=httpx.Timeout(left))


@attrs.define
class HttpxTransport:
    """Sends through an ``httpx.Client``, each request in a worker thread (see the module docstring).

    Attributes:
        client: The client to send with.
        close: Close the client once the request is done (a client of the transport's own).
    """

    client: httpx.Client = attrs.field(repr=False)
    close: bool = False

    @property
    def closed(self) -> bool:
        return self.client.is_closed

    def send(self, request: Request) -> Answer:
        """The answer; ``Deadline`` when the deadline came first (the request's connections are
        then shut, so the worker ends too: one reused from the caller's pool ends at its next read
        past the deadline); else what httpx raised, re-raised here."""
        streams: list[Any] = []
        outcome = _in_worker(
            request, lambda: self._send(request, streams), streams, close=self.client.close if self.close else None
        )
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[no-any-return]  # _send's Answer

    def _send(self, request: Request, streams: list[Any]) -> Answer:
        built = _build(self.client, request)

        def trace(event: str, info: dict[str, Any]) -> None:
            """httpcore's trace hook: keep the connections this request opens, to shut them."""
            if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
                streams.append(info.get("return_value"))

        built.extensions["trace"] = trace
        response = self.client.send(built, stream=True, follow_redirects=False)
        try:
            body = Body.start(response.headers, request.max_body)
            for chunk in response.iter_raw():
                if body.feed(chunk) or time.monotonic() > request.deadline:
                    break
        finally:
            response.close()
        if not body.truncated and time.monotonic() > request.deadline:
            raise Deadline
        return body.answer(response.status_code, decoded_headers(response.headers), request)


def _in_worker(
    request: Request, call: Callable[[], Any], streams: list[Any], *, close: Callable[[], None] | None = None
) -> Any:
    """Run ``call`` in a worker thread, so that the caller's wait ends at ``request.deadline``
    whatever the server does. Returns what it returned, the exception it raised, or a
    ``Deadline`` when the deadline came first (the connections in ``streams`` are then shut).
    ``close`` runs in the worker when it is done."""
    box: list[Any] = []
    done = threading.Event()

    def run() -> None:
        try:
            box.append(call())
        except BaseException as exc:  # carried to the caller's thread
            box.append(exc)
        finally:
            if close is not None:
                close()
            done.set()

    threading.Thread(target=run, name=f"docstatus-{request.label}", daemon=True).start()
    if not done.wait(max(0.0, request.deadline - time.monotonic())):
        for stream in streams:
            sock: Any = getattr(stream, "get_extra_info", lambda _: None)("socket")
            with suppress(OSError, AttributeError):
                sock.shutdown(socket.SHUT_RDWR)
        return Deadline()
    return box[0]


@attrs.define
class AsyncHttpxTransport:
    """Sends through an ``httpx.AsyncClient``, within a cancel scope of the deadline.

    Attributes:
        client: The client to send with.
    """

    client: httpx.AsyncClient = attrs.field(repr=False)

    @property
    def closed(self) -> bool:
        return self.client.is_closed

    async def send(self, request: Request) -> Answer:
        """The answer; ``Deadline`` when the deadline came first; else what httpx raised."""
        import anyio  # noqa: PLC0415  # httpx's own dependency

        try:
            with anyio.fail_after(max(0.0, request.deadline - time.monotonic())):
                return await self._send(request)
        except TimeoutError:
            raise Deadline from None

    async def _send(self, request: Request) -> Answer:
        response = await self.client.send(_build(self.client, request), stream=True, follow_redirects=False)
        try:
            body = Body.start(response.headers, request.max_body)
            async for chunk in response.aiter_raw():
                if body.feed(chunk):
                    break
        finally:
            await response.aclose()
        return body.answer(response.status_code, decoded_headers(response.headers), request)


def exchange(client: httpx.Client | None, request: Request) -> tuple[Answer | Exception, bool]:
    """Send ``request`` through ``client`` (default: a fresh client, closed after): ``(the answer
    or what sending raised, whether the caller's client is closed)``, for the caller to translate
    outside any ``except`` block."""
    transport = HttpxTransport(new_client() if client is None else client, close=client is None)
    outcome: Answer | Exception
    try:
        outcome = transport.send(request)
    except Exception as exc:  # translated by the caller, outside this handler
        outcome = exc
    return outcome, transport.closed


async def exchange_async(
    client: httpx.AsyncClient | AsyncTransport | None, request: Request
) -> tuple[Answer | Exception, bool]:
    """The async twin of ``exchange``: through an ``httpx.AsyncClient``, or any ``AsyncTransport``
    (``watch_many``'s ``FleetSession``)."""
    http = new_async_client() if client is None else client
    transport: AsyncTransport = AsyncHttpxTransport(http) if isinstance(http, httpx.AsyncClient) else http
    outcome: Answer | Exception
    try:
        outcome = await transport.send(request)
    except Exception as exc:  # translated by the caller, outside this handler
        outcome = exc
    finally:
        if client is None:
            import anyio  # noqa: PLC0415  # httpx's own dependency

            with anyio.CancelScope(shield=True):
                await http.aclose()  # type: ignore[union-attr]  # a client of our own: httpx's
    return outcome, transport.closed
