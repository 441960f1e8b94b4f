"""Fetch a job's status over HTTP with the generated clients, and translate every outcome.

``get_status(ref)`` / ``get_status_async(ref)`` return a ``JobStatus``. The lower-level
``fetch_status`` / ``fetch_status_async`` return a ``FetchResult`` that also carries the HTTP
status and headers (e.g. a polling hint), for the waiting layer. All four take an optional
``httpx.Client`` / ``httpx.AsyncClient`` to reuse connections across calls and providers: the
credential is sent per request (never set on the shared client) and the request's timeout is
the configuration's.

Outcomes:

=====================================  ===========================================
answer                                 result
=====================================  ===========================================
200 with the documented body           ``JobStatus``
200 with any other body                ``MalformedResponse`` (raw body, truncated)
404, 410                               ``JobNotFound``
401, 403                               ``AuthenticationError``
400, 422, other 4xx                    ``BadRequest``
429                                    ``RateLimited`` (``retry_after`` in seconds)
5xx, 408, non-standard (e.g. 520)      ``ProviderServerError`` (``retry_after`` if sent)
1xx, other 2xx, 3xx                    ``ProviderError``
no answer (refused, dropped, timeout)  ``TransportError``
3xx (redirects are never followed)     ``ProviderError`` naming the ``Location``
a body over ``max_body`` bytes         ``MalformedResponse`` naming the limit (200)
=====================================  ===========================================

Every request has one **whole-request deadline**, ``ProviderConfig.timeout``: connecting,
sending, the headers and the body together (httpx's own timeouts are per read, so a server
that trickles a body would otherwise hold a request forever). The sync functions wait for the
request in a worker thread and give up at the deadline; the async ones cancel it. Bodies are
read incrementally and decoded (gzip, deflate) with bounded output, so neither an endless body
nor a compression bomb takes more than ``ProviderConfig.max_body`` bytes.

No exception but the ``DocstatusError`` tree leaves these functions, whatever the server sends:
deep JSON, invalid UTF-8, broken compression, protocol errors. Errors are raised without a
``__cause__``/``__context__``: httpx's exceptions hold the request, credential included, and
the generated client's hold the whole body. The credential is sent only to the configured
base URL's origin (redirects are not followed, even on a client that would), and a
``docstatus.InsecureCredentialWarning`` is emitted once when it would go over plain ``http://``
to a host other than this machine.

Provider error envelopes become the exception's ``code`` and message: Sarvam's and Aitronos's
``error.code``/``error.message``, markdown2pdf's 422 ``detail[].msg``, Sarvam Document AI's
RFC 7807 problem details ``detail`` (its ``title`` when there is no ``detail``). Credentials never appear
in messages or in kept bodies.
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
import json
import math
import os
import socket
import ssl
import sys
import threading
import time
import warnings
import zlib
from contextlib import suppress
from datetime import UTC
from email.utils import parsedate_to_datetime
from functools import cache, lru_cache, partial
from http import HTTPStatus
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urljoin, urlsplit

import attrs
import httpx

from ._common import Malformed
from ._config import ProviderConfig
from ._exceptions import (
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    DocstatusError,
    InsecureCredentialWarning,
    JobNotFound,
    MalformedResponse,
    ProviderError,
    ProviderServerError,
    RateLimited,
    TransportError,
)
from ._parse import _PARSE_ERRORS, MAX_TEXT, bounded
from ._providers import mapper
from ._refs import FORMS, JobRef, parse_ref
from ._secrets import remember, scrub, scrub_bytes
from ._status import Output
from ._text import clean_json

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from ._status import JobStatus


@attrs.frozen(kw_only=True)
class FetchResult:
    """One status answer, with what a poller needs besides the status.

    Attributes:
        status: The normalized ``JobStatus``.
        status_code: The HTTP status (200).
        headers: The response headers (case-insensitive).
        retry_after: Seconds the provider asked to wait before the next request
            (``Retry-After`` or ``retry-after-ms``), or ``None``.
    """

    status: JobStatus
    status_code: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    retry_after: float | None = None


@attrs.frozen
class _Operation:
    """How to call one provider's generated status operation.

    The credential (header, prefix, or none) is not here: it is the generated client's
    ``AUTH_SCHEMES``, from its spec's ``securitySchemes``/``security`` (see ``_credential``).
    """

    package: str
    args: Callable[[JobRef], dict[str, Any]]
    module_name: str = "api.status.get_status"

    @property
    def module(self) -> str:
        return f"{self.package}.{self.module_name}"

    @property
    def errors(self) -> str:
        return f"{self.package}.errors"


def _aitronos_args(ref: JobRef) -> dict[str, Any]:
    org, store, file = ref.parts
    return {"organization_id": org, "store_id": store, "file_id": file}


def _aitronos_sdk_args(ref: JobRef) -> dict[str, Any]:
    org, store, file = ref.parts
    return {"organization_id": org, "vector_store_id": store, "file_id": file}


def _job_id(ref: JobRef) -> dict[str, Any]:
    return {"job_id": ref.job_id}


def _document_id(ref: JobRef) -> dict[str, Any]:
    return {"document_id": ref.job_id}


#: Every provider's status operation is ``docstatus_<p>_client.api.status.get_status`` (the specs'
#: ``operationId: getStatus``, ``tags: [status]``); only the arguments differ.
_OPERATIONS: Final[Mapping[str, _Operation]] = MappingProxyType(
    {
        "artos": _Operation("docstatus_artos_client", _document_id),
        "sarvam": _Operation("docstatus_sarvam_client", _job_id),
        "sarvam_docai": _Operation("docstatus_sarvam_docai_client", _job_id),
        "neurolinker": _Operation("docstatus_neurolinker_client", _document_id),
        "aitronos": _Operation("docstatus_aitronos_client", _aitronos_args),
        "markdown2pdf": _Operation("docstatus_markdown2pdf_client", _job_id),
    }
)

#: Operations chosen by a ``ProviderConfig`` option instead: (provider, option, value) -> operation.
_VARIANTS: Final[Mapping[tuple[str, str, str], _Operation]] = MappingProxyType(
    {
        ("aitronos", "path", "vector-stores"): _Operation(
            "docstatus_aitronos_client", _aitronos_sdk_args, "api.status.get_status_vector_stores"
        ),
    }
)


def _operation(cfg: ProviderConfig) -> _Operation:
    for name, value in cfg.options:
        variant = _VARIANTS.get((cfg.provider, name, value))
        if variant is not None:
            return variant
    return _OPERATIONS[cfg.provider]


def _credential(cfg: ProviderConfig, op: _Operation) -> tuple[str, str] | None:
    """``(header, prefix)`` to send the token with, from the generated client's ``AUTH_SCHEMES``
    (its spec's security schemes: the first by default, else the one whose kind the ``auth``
    option names); ``None`` when the spec declares no authentication."""
    schemes = importlib.import_module(f"{op.package}.client").AUTH_SCHEMES
    if not schemes:
        return None
    wanted = dict(cfg.options).get("auth")
    for scheme in schemes:
        if wanted is None or scheme.kind == wanted:
            return scheme.header, scheme.prefix
    kinds = ", ".join(repr(s.kind) for s in schemes)
    raise ConfigurationError(f"{cfg.provider} documents no {wanted!r} authentication (its spec has {kinds})")


# --- one request. ``_Bound`` sends the generated operation's request (its ``_get_kwargs``)
# --- through the caller's (or a fresh) httpx client, or watch_many's aiohttp session, with the
# --- credential, never following redirects, reads the body incrementally under the size cap and
# --- the whole-request deadline, and hands back the complete response.


class _Deadline(Exception):
    """The whole-request deadline passed while the body was being read."""


@attrs.define
class _Bound:
    """Sends the generated operation's request (see above) and keeps what came back.

    Attributes:
        http: The httpx client to send with.
        base_url: The configured base URL, without a trailing ``/``.
        headers: Headers of the request, credential included (never shown in ``repr``).
        max_body: Bytes the decoded body may have.
        deadline: ``time.monotonic()`` by which the whole request must be done.
        last: The response, once the headers came (its body as far as it was read).
        truncated: True when the body was cut at ``max_body``.
        problem: Why the body could not be decoded (an unknown or broken content coding), or ``None``.
    """

    http: httpx.Client | httpx.AsyncClient | FleetSession = attrs.field(repr=False)
    base_url: str
    headers: dict[str, str] = attrs.field(repr=False)
    max_body: int
    deadline: float
    last: httpx.Response | _Answer | None = attrs.field(default=None, repr=False)
    truncated: bool = False
    problem: str | None = None
    streams: list[Any] = attrs.field(factory=list, repr=False)

    def _build(self, method: str, url: str, **kwargs: Any) -> httpx.Request:
        assert isinstance(self.http, httpx.Client | httpx.AsyncClient)
        left = max(self.deadline - time.monotonic(), 0.001)
        request = self.http.build_request(
            method,
            self.base_url + _no_dot_segments(url),
            headers=self.headers,
            timeout=httpx.Timeout(left),
            **kwargs,
        )
        if isinstance(self.http, httpx.Client):
            request.extensions["trace"] = self._trace
        return request

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook (sync): keep the connections this request opens, to abort them."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            self.streams.append(info.get("return_value"))

    def abort(self) -> None:
        """Shut down the connections this request opened: a worker thread blocked reading from a
        server that trickles wakes at once and ends (``close`` alone would not wake it)."""
        for stream in self.streams:
            sock: Any = getattr(stream, "get_extra_info", lambda _: None)("socket")
            with suppress(OSError, AttributeError):
                sock.shutdown(socket.SHUT_RDWR)

    def _start(self, response: httpx.Response) -> _Body:
        self.last = response
        return _Body.start(response, self.max_body)

    def _finish(self, response: httpx.Response, body: _Body) -> httpx.Response:
        self.truncated, self.problem = body.truncated, body.problem
        self.last = body.complete(response)
        return self.last

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        assert isinstance(self.http, httpx.Client)
        response = self.http.send(self._build(method, url, **kwargs), stream=True, follow_redirects=False)
        try:
            body = self._start(response)
            for chunk in response.iter_raw():
                if body.feed(chunk) or time.monotonic() > self.deadline:
                    break
        finally:
            response.close()
        if not body.truncated and time.monotonic() > self.deadline:
            raise _Deadline
        return self._finish(response, body)

    async def arequest(self, method: str, url: str, **kwargs: Any) -> httpx.Response | _Answer:
        if isinstance(self.http, FleetSession):
            return await self._fleet_request(self.http, method, url)
        assert isinstance(self.http, httpx.AsyncClient)
        response = await self.http.send(self._build(method, url, **kwargs), stream=True, follow_redirects=False)
        try:
            body = self._start(response)
            async for chunk in response.aiter_raw():
                if body.feed(chunk):
                    break
        finally:
            await response.aclose()
        return self._finish(response, body)

    async def _fleet_request(self, fleet: FleetSession, method: str, url: str) -> _Answer:
        """The same request through aiohttp (``watch_many``'s own session): no redirect, the raw
        body fed to ``_Body`` under the cap; the deadline is the caller's cancel scope."""
        import yarl  # noqa: PLC0415  # aiohttp's own URL type

        # encoded=True: the generated path is percent-encoded already (and "%2E%2E" stays a segment)
        target = yarl.URL(self.base_url + _no_dot_segments(url), encoded=True)
        async with fleet.session.request(method.upper(), target, headers=self.headers, allow_redirects=False) as raw:
            self.last = answer = _Answer(status_code=raw.status, headers=raw.headers, method=method, url=str(target))
            body = _Body.start(answer, self.max_body)
            if not body.truncated and body.problem is None:
                async for chunk in raw.content.iter_any():
                    if body.feed(chunk):
                        break
        self.truncated, self.problem = body.truncated, body.problem
        answer.content = body.content()
        return answer


@attrs.define
class _Answer:
    """A response read through aiohttp: what ``_Plan.answer`` reads, and an ``httpx.Response``
    of it (``to_httpx``) for the generated parser when the fast path declines."""

    status_code: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    method: str
    url: str
    content: bytes = attrs.field(default=b"", repr=False)

    def to_httpx(self) -> httpx.Response:
        headers = [
            (k, v)
            for k, v in self.headers.items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            self.status_code, headers=headers, content=self.content, request=httpx.Request(self.method, self.url)
        )


class FleetSession:
    """``watch_many``'s and the tracker's own HTTP session (asyncio only): aiohttp directly,
    because httpx's async pool collapses as its connections grow and its per-request work (URL
    parsing, cookies, models) costs more than the request (``bench/bench_wait.py``). The hardening
    is the same as on httpx: the whole-request deadline is ``fetch_status_async``'s cancel
    scope, no redirect is followed, bodies are read raw and decoded by ``_Body`` under the cap.
    Callers who pass their own ``httpx.AsyncClient`` keep httpx."""

    def __init__(self, connections: int | None = None) -> None:
        import aiohttp  # noqa: PLC0415

        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections or 100, limit_per_host=0, ssl=_ssl_context()),
            auto_decompress=False,  # _Body decodes, bounded
            timeout=aiohttp.ClientTimeout(total=None),  # the caller's cancel scope is the deadline
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self.session.close()


#: Content codings docstatus asks for and decodes itself, under the size cap.
_ACCEPT_ENCODING: Final = "gzip, deflate"


@attrs.define
class _Body:
    """A response body read chunk by chunk: decoded (gzip/deflate) with bounded output, cut at
    ``cap`` bytes. Compression bombs stop at the cap, whatever their ratio."""

    cap: int
    decoders: list[Any] = attrs.Factory(list)
    parts: list[bytes] = attrs.Factory(list)
    size: int = 0
    truncated: bool = False
    problem: str | None = None

    @classmethod
    def start(cls, response: httpx.Response | _Answer, cap: int) -> _Body:
        """The body of ``response``, to be fed its raw chunks."""
        body = cls(cap)
        codings = [c.strip().lower() for c in response.headers.get("content-encoding", "").split(",")]
        for coding in reversed([c for c in codings if c and c != "identity"]):
            if coding in ("gzip", "x-gzip"):
                body.decoders.append(zlib.decompressobj(16 + zlib.MAX_WBITS))
            elif coding == "deflate":
                body.decoders.append(_Deflate())
            else:
                body.problem = f"content-encoding {coding!r} is not supported (docstatus asks for {_ACCEPT_ENCODING})"
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > cap and not body.decoders:
            body.truncated = True
        return body

    def feed(self, raw: bytes) -> bool:
        """Take the next raw chunk; True when reading should stop (cut at the cap, or undecodable)."""
        if self.truncated or self.problem is not None:
            return True
        data = [raw]
        try:
            for decoder in self.decoders:
                data = [out for piece in data for out in _inflate(decoder, piece, self.cap - self.size + 1)]
        except zlib.error as exc:
            self.problem = f"the compressed body does not decode ({exc})"
            return True
        for piece in data:
            self.size += len(piece)
            if self.size > self.cap:
                self.parts.append(piece[: len(piece) - (self.size - self.cap)])
                self.size = self.cap
                self.truncated = True
                return True
            self.parts.append(piece)
        return False

    def content(self) -> bytes:
        """The decoded body as far as it was read, made safe where it enters (``_text.clean_json``:
        a lone surrogate escape, which no UTF-8 writer takes once decoded, becomes U+FFFD); the
        fast mapping, the generated parser and every error read this, never the raw bytes."""
        data = b"".join(self.parts)
        self.parts = []
        return clean_json(data)

    def complete(self, response: httpx.Response) -> httpx.Response:
        """A response carrying the decoded body (as far as it was read), for the generated parser."""
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=self.content(),
            request=response.request,
        )


@attrs.define
class _Deflate:
    """``Content-Encoding: deflate``: zlib-wrapped as RFC 9110 says, or raw deflate as some send."""

    inner: Any = attrs.Factory(zlib.decompressobj)
    first: bool = True

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self.first:
            self.first = False
            try:
                return bytes(self.inner.decompress(data, max_length))
            except zlib.error:
                self.inner = zlib.decompressobj(-zlib.MAX_WBITS)
        return bytes(self.inner.decompress(data, max_length))

    @property
    def unconsumed_tail(self) -> bytes:
        return bytes(self.inner.unconsumed_tail)


def _inflate(decoder: Any, data: bytes, limit: int) -> Iterator[bytes]:
    """Decompress ``data`` in pieces of at most 64 kB, stopping once ``limit`` bytes came out."""
    produced = 0
    while data and produced < limit:
        out = decoder.decompress(data, 65536)
        produced += len(out)
        if out:
            yield out
        data = decoder.unconsumed_tail
        if not out and not data:
            break


def _no_dot_segments(path: str) -> str:
    """Percent-encode ``.``/``..`` path segments (ids such as ``..``), which URL normalization
    would otherwise resolve into a request for another endpoint."""
    if "/." not in path:
        return path
    return "/".join({".": "%2E", "..": "%2E%2E"}.get(part, part) for part in path.split("/"))


@attrs.frozen
class _Session:
    """What the generated ``_build_response`` reads of its ``Client``: only whether to raise on
    an undocumented status (never: docstatus translates every status itself)."""

    raise_on_unexpected_status: bool = False


# --- public API


def fetch_status(
    ref: str | JobRef, *, config: ProviderConfig | None = None, client: httpx.Client | None = None
) -> FetchResult:
    """Fetch one job's status; see the module docstring for what each answer becomes.

    The whole request (connecting, sending, the headers and the body) ends within the
    configuration's ``timeout``, whatever the server does: past it, ``TransportError``.

    Args:
        ref: A job reference (``"artos:<id>"``, ...) or a ``JobRef``.
        config: Where and how to reach the provider; default ``ProviderConfig.from_env``.
        client: An ``httpx.Client`` to send the request with (kept open); default a fresh one,
            closed after the request. Its redirect setting is not used: docstatus never
            follows a redirect (the credential stays with the configured origin).
    """
    if client is not None and not isinstance(client, httpx.Client):
        raise TypeError(
            f"fetch_status takes an httpx.Client, not {type(client).__name__}; "
            "with an httpx.AsyncClient, use fetch_status_async / get_status_async"
        )
    return fetch(ref, config, client)


def fetch(
    ref: str | JobRef, config: ProviderConfig | None, client: httpx.Client | None, timeout: float | None = None
) -> FetchResult:
    """``fetch_status``, within ``timeout`` when it is shorter than the configuration's."""
    plan = _Plan.of(ref, config, timeout)
    owned = client is None
    http = httpx.Client(verify=_ssl_context()) if client is None else client
    bound = plan.bound(http)
    outcome = _in_worker(
        bound,
        f"docstatus-fetch {plan.job}",
        partial(plan.send, bound),
        close=http.close if owned else None,
    )
    if isinstance(outcome, _Deadline):
        raise _timeout_error(plan)
    return plan.result(outcome, bound)


def _in_worker(bound: _Bound, name: str, call: Callable[[], Any], *, close: Callable[[], None] | None = None) -> Any:
    """Run ``call`` (one sync request through ``bound``) in a worker thread, so that the caller's
    wait ends at ``bound.deadline`` whatever the server does. Returns what it returned, the
    exception it raised (to be translated outside any handler), or a ``_Deadline`` when the
    deadline came first: the connections the request opened are then shut, so the worker ends
    too (one reused from the caller's pool ends at its next read past the deadline). ``close``
    runs in the worker when it is done."""
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

    threading.Thread(target=run, name=name, daemon=True).start()
    if not done.wait(max(0.0, bound.deadline - time.monotonic())):
        bound.abort()
        return _Deadline()
    return box[0]


async def fetch_status_async(
    ref: str | JobRef, *, config: ProviderConfig | None = None, client: httpx.AsyncClient | None = None
) -> FetchResult:
    """The async twin of ``fetch_status`` (takes an ``httpx.AsyncClient``); runs on asyncio or trio."""
    if client is not None and not isinstance(client, httpx.AsyncClient):
        raise TypeError(
            f"fetch_status_async takes an httpx.AsyncClient, not {type(client).__name__}; "
            "with an httpx.Client, use fetch_status / get_status"
        )
    return await fetch_async(ref, config, client)


async def fetch_async(
    ref: str | JobRef,
    config: ProviderConfig | None,
    client: httpx.AsyncClient | FleetSession | None,
    timeout: float | None = None,  # noqa: ASYNC109  # the request's own deadline: a cancel scope below
) -> FetchResult:
    """``fetch_status_async``, also through ``watch_many``'s own ``FleetSession``, within
    ``timeout`` when it is shorter than the configuration's."""
    import anyio  # noqa: PLC0415  # httpx's own dependency

    plan = _Plan.of(ref, config, timeout)
    owned = client is None
    http = httpx.AsyncClient(verify=_ssl_context()) if client is None else client
    bound = plan.bound(http)
    outcome: Any
    left = max(0.0, bound.deadline - time.monotonic())
    try:
        if isinstance(http, FleetSession):  # asyncio only: its own timeout costs less than anyio's
            async with asyncio.timeout(left):
                outcome = await plan.asend(bound)
        else:
            with anyio.fail_after(left):
                outcome = await plan.asend(bound)
    except TimeoutError:
        outcome = _Deadline()
    except Exception as exc:  # translated below, outside this handler
        outcome = exc
    finally:
        if owned:
            with anyio.CancelScope(shield=True):
                await http.aclose()
    return plan.result(outcome, bound)


def get_status(
    ref: str | JobRef, *, config: ProviderConfig | None = None, client: httpx.Client | None = None
) -> JobStatus:
    """The normalized status of one job, fetched now.

    ``ref`` is ``"<provider>:<id>"`` (see ``docstatus.parse_ref``) or a ``JobRef``. Configuration
    is ``config`` or, by default, the environment (``DOCSTATUS_<PROVIDER>_BASE_URL`` and
    ``DOCSTATUS_<PROVIDER>_TOKEN``). Raises a ``docstatus.DocstatusError`` subclass for every
    answer that is not a status (``JobNotFound``, ``AuthenticationError``, ``RateLimited``, ...),
    and ``TransportError`` when the whole request takes longer than the configured timeout.
    """
    return fetch_status(ref, config=config, client=client).status


async def get_status_async(
    ref: str | JobRef, *, config: ProviderConfig | None = None, client: httpx.AsyncClient | None = None
) -> JobStatus:
    """The async twin of ``get_status``."""
    return (await fetch_status_async(ref, config=config, client=client)).status


#: The longest wait a ``Retry-After`` may ask for, in seconds; longer hints are clamped to it.
MAX_RETRY_AFTER: Final = 86400.0


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP-date).

    ``headers`` must be case-insensitive (``httpx.Headers``) or use lower-case names. Returns
    ``None`` when there is no usable hint; a date in the past gives ``0.0``; a hint longer than
    ``MAX_RETRY_AFTER`` (one day) gives ``MAX_RETRY_AFTER``.
    """
    ms = headers.get("retry-after-ms")
    if ms is not None:
        seconds = _number(ms)
        if seconds is not None:
            return min(seconds / 1000.0, MAX_RETRY_AFTER)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return min(seconds, MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value.strip())
        if when.tzinfo is None:  # RFC 9110 dates are GMT; one without a zone is read as such
            when = when.replace(tzinfo=UTC)
        stamp = when.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    current = time.time() if now is None else now
    return min(max(0.0, stamp - current), MAX_RETRY_AFTER)


# --- helpers


@cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for the clients made here (building one costs ~70 ms; sharing is safe)."""
    return httpx.create_ssl_context()


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if value >= 0 and math.isfinite(value) else None


_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain"})
_warned_plain: set[tuple[str, str]] = set()


def _warn_plain_http(cfg: ProviderConfig) -> None:
    """Warn once per provider and host when a credential is about to go over plain HTTP to a
    host that is not this machine."""
    host = _remote_plain_host(cfg.base_url)
    if host is None or (cfg.provider, host) in _warned_plain:
        return
    _warned_plain.add((cfg.provider, host))
    warnings.warn(
        f"the {cfg.provider} credential is sent over plain http:// to {host}, readable on the way; "
        f"use an https:// base URL (DOCSTATUS_{cfg.provider.upper()}_BASE_URL)",
        InsecureCredentialWarning,
        stacklevel=4,
    )


@lru_cache(maxsize=256)
def _remote_plain_host(base_url: str) -> str | None:
    """The host of a plain ``http://`` base URL that is not this machine, else ``None``."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.scheme != "http" or host in _LOOPBACK_NAMES:
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return host


@attrs.define
class _Plan:
    """One status request, prepared: the job, its configuration, and the generated operation."""

    job: JobRef
    cfg: ProviderConfig
    op: _Operation
    module: Any
    args: dict[str, Any]
    auth: tuple[str, str] | None
    timeout: float

    @classmethod
    def of(cls, ref: str | JobRef, config: ProviderConfig | None, timeout: float | None = None) -> _Plan:
        """``timeout``: a shorter whole-request deadline than the configuration's (a wait's last poll)."""
        job = parse_ref(str(ref) if isinstance(ref, JobRef) else ref)
        cfg = ProviderConfig.from_env(job.provider) if config is None else config
        if cfg.provider != job.provider:
            raise ConfigurationError(
                f"the configuration is for {cfg.provider}, but the job {job} is at {job.provider}; "
                f"pass ProviderConfig(provider={job.provider!r}, ...)"
            )
        op = _operation(cfg)
        auth = _credential(cfg, op)
        if auth is not None:
            remember(cfg.require_token())  # masked in every log line and CLI output from now on
            _warn_plain_http(cfg)
        limit = cfg.timeout if timeout is None else min(cfg.timeout, timeout)
        return cls(job, cfg, op, importlib.import_module(op.module), op.args(job), auth, limit)

    def bound(self, http: httpx.Client | httpx.AsyncClient | FleetSession) -> _Bound:
        headers = {"Accept": "application/json", "Accept-Encoding": _ACCEPT_ENCODING}
        if self.auth is not None and self.cfg.token is not None:
            header, prefix = self.auth
            headers[header] = f"{prefix} {self.cfg.token}" if prefix else self.cfg.token
        return _Bound(
            http,
            self.cfg.base_url.rstrip("/"),
            headers,
            self.cfg.max_body,
            time.monotonic() + self.timeout,
        )

    def send(self, bound: _Bound) -> FetchResult | Any:
        """Send the generated operation's request (its ``_get_kwargs``) through ``bound``; the
        answer as ``answer`` gives it."""
        return self.answer(bound.request(**self.module._get_kwargs(**self.args)), bound)  # noqa: SLF001  # the generated request, sent our way

    async def asend(self, bound: _Bound) -> FetchResult | Any:
        """The async twin of ``send``."""
        return self.answer(await bound.arequest(**self.module._get_kwargs(**self.args)), bound)  # noqa: SLF001  # as in send

    def answer(self, response: httpx.Response | _Answer, bound: _Bound) -> FetchResult | Any:
        """A documented 200 body straight through the provider's fast mapping (``parse``'s: the
        decoded JSON read directly, the generated model built from the body on first access);
        any other answer, or a body the fast mapping declines, through the generated
        ``_build_response`` as the operation itself would parse it (``result`` translates it).
        Both give the same status: the fast mapping declines whatever it is not sure of."""
        if response.status_code == 200 and not bound.truncated and bound.problem is None:
            fast = self._fast(response)
            if fast is not None:
                return fast
        if isinstance(response, _Answer):
            response = bound.last = response.to_httpx()
        return self.module._build_response(client=_Session(), response=response)  # noqa: SLF001  # the generated parse

    def _fast(self, response: httpx.Response | _Answer) -> FetchResult | None:
        content = response.content
        m = mapper(self.job.provider)
        try:
            data = json.loads(content)
        except (ValueError, RecursionError):
            return None
        if type(data) is not dict or (m.ID_FIELD is not None and data.get(m.ID_FIELD) in (None, "")):
            return None  # the generated path decides (its model keeps a missing or empty id as sent)
        try:
            status = m.fast(data, self.job.job_id, content)
        except Exception:  # declined: the generated path gives the outcome
            return None
        if status is None:
            return None
        if len(content) > MAX_TEXT:
            status = bounded(status)
        cfg = self.cfg
        if cfg.token and _scrub_body(content, cfg) != content:
            status = _scrubbed_status(status, cfg, content)  # the server echoed the credential into it
        headers = response.headers
        return FetchResult(status=status, status_code=200, headers=headers, retry_after=parse_retry_after(headers))

    def result(self, outcome: Any, bound: _Bound) -> FetchResult:
        """The ``FetchResult`` of what the request gave (``answer``), or raise what it raised,
        translated. Errors are raised outside any ``except`` block and without a cause: the
        causes hold the request (with its credential) or the server's body."""
        if isinstance(outcome, FetchResult):
            return outcome
        if isinstance(outcome, BaseException):
            error = self.error(outcome, bound)
            if error is None:
                raise outcome
            raise error
        return _translate(self.job, self.cfg, outcome, bound)

    def error(self, exc: BaseException, bound: _Bound) -> DocstatusError | None:
        """The docstatus error for what the request raised (``None``: not ours to translate)."""
        if isinstance(exc, _Deadline | httpx.TimeoutException):
            return _timeout_error(self)
        if isinstance(exc, _generated_malformed(self.op)):
            return _translate_malformed(self.job, self.cfg, exc, bound)
        if isinstance(exc, RecursionError) and bound.last is not None:  # JSON nested too deep to decode
            last = bound.last
            content = last.content if isinstance(last, _Answer) or hasattr(last, "_content") else b""
            if last.status_code != 200:
                return _error_for_status(self.job, self.cfg, last.status_code, content, last.headers, None)
            return _malformed(self.job, self.cfg, "the JSON is nested too deeply to decode", content)
        if isinstance(exc, httpx.InvalidURL) or _aiohttp_invalid_url(exc):
            return ConfigurationError(
                _scrub(
                    f"the status URL for {self.job} at {self.cfg.base_url} is not a valid URL; check the base URL "
                    "(its host: a name or an IP address) and the job id",
                    self.cfg,
                )
            )
        if isinstance(exc, Exception):  # httpx.RequestError and whatever else sending raised
            closed = isinstance(exc, RuntimeError) and getattr(bound.http, "is_closed", False) is True  # httpx's own
            return _transport_error(self.job, self.cfg, exc, closed=closed)
        return None  # KeyboardInterrupt, SystemExit, cancellation: not errors of the request


def _aiohttp_invalid_url(exc: BaseException) -> bool:
    aiohttp = sys.modules.get("aiohttp")  # loaded only when a FleetSession sent the request
    return aiohttp is not None and isinstance(exc, aiohttp.InvalidURL)


def _timeout_error(plan: _Plan) -> TransportError:
    cfg = plan.cfg
    return TransportError(
        f"the status request for {plan.job} to {cfg.provider} timed out after {plan.timeout:g} s (the whole "
        "request: connecting, sending, headers and body); retry later, or raise ProviderConfig(timeout=...)",
        provider=cfg.provider,
        ref=str(plan.job),
    )


def _generated_malformed(op: _Operation) -> type[Exception]:
    errors: Any = importlib.import_module(op.errors)
    cls: type[Exception] = errors.MalformedResponse
    return cls


def _scrub(text: str, cfg: ProviderConfig) -> str:
    return scrub(text, (cfg.token,))


def _scrub_body(body: bytes | None, cfg: ProviderConfig) -> bytes | None:
    return body if body is None else scrub_bytes(body, (cfg.token,))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


# --- what went wrong on the way: one wording for httpx (get_status, wait) and aiohttp (watch_many,
# --- the tracker), read from the exception and its causes, never the library's own text

#: TLS errors (``ssl.SSLError.reason``) that mean the server does not speak TLS at that address.
_NOT_TLS: Final = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "UNKNOWN_PROTOCOL", "HTTP_REQUEST"})
#: How far ``_causes`` follows a chain of causes.
_CHAIN_LIMIT: Final = 12


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it: ``__cause__``/``__context__``, and the OS or TLS error aiohttp
    keeps as an attribute (``os_error``, ``certificate_error``); bounded, no repeats."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < _CHAIN_LIMIT:
        current = todo.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        for name in ("certificate_error", "os_error"):
            inner = getattr(current, name, None)
            if isinstance(inner, BaseException):
                todo.append(inner)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return seen


def _address(url: str) -> tuple[str, str]:
    """``(host, "host:port")`` of a URL, as messages name them (an IPv6 host in brackets)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    shown = f"[{host}]" if ":" in host else host
    return shown, f"{shown}:{port}"


def _first(causes: list[BaseException], kind: type[BaseException] | tuple[type[BaseException], ...]) -> Any:
    """The deepest cause of ``kind`` (aiohttp's wrappers subclass the OS and TLS errors they wrap,
    without their details), or ``None``."""
    return next((c for c in reversed(causes) if isinstance(c, kind)), None)


def _named(causes: list[BaseException], *names: str) -> bool:
    """True when a cause's class (or one of its bases) has one of ``names`` (library classes,
    matched without importing the library: aiohttp loads only with watch_many)."""
    return any(base.__name__ in names for c in causes for base in type(c).__mro__)


def _what_failed(exc: BaseException, url: str, *, closed: bool = False) -> tuple[str, str]:
    """What happened to a request to ``url`` that got no usable HTTP answer, and what to do: the
    same words whichever transport sent it. ``closed``: the caller's client was closed."""
    causes = _causes(exc)
    host, where = _address(url)
    if closed:
        return (
            f"it was not sent to {where}, as the httpx client given (client=...) is closed",
            "pass an open client, or none (docstatus then opens its own)",
        )
    check = "check the base URL's host and port"
    retry = (
        "try again later (wait, watch_many and the tracker retry it until the deadline); "
        "if it goes on, check the base URL"
    )
    verify = _first(causes, ssl.SSLCertVerificationError)
    if verify is not None:
        reason = " ".join(str(getattr(verify, "verify_message", "") or "").split())[:200]
        return (
            f"the TLS certificate of {where} is not trusted" + (f" ({reason})" if reason else ""),
            f"{check}; if the server's certificate comes from an authority of your own (a proxy's, a "
            "self-signed one), give its certificate to SSL_CERT_FILE",
        )
    tls = _first(causes, ssl.SSLError)
    if tls is not None or _named(causes, "ClientSSLError"):
        if tls is not None and getattr(tls, "reason", None) in _NOT_TLS:
            return (
                f"the TLS handshake with {where} failed: the server does not speak TLS there",
                f"{check}, and its scheme (http:// for a server without TLS)",
            )
        return f"the TLS handshake with {where} failed", f"{check}, and its scheme (https:// or http://)"
    if _first(causes, UnicodeError) is not None:  # IDNA: a label too long, a character not allowed
        return f"the host name {host} is not a valid host name", "check the base URL's host"
    if _first(causes, socket.gaierror) is not None:
        return f"the host name {host} could not be resolved", "check the base URL's host, and this machine's DNS"
    if _first(causes, ConnectionRefusedError) is not None:
        return f"the connection was refused by {where} (nothing listens there)", f"{check}, and that the server is up"
    if _first(causes, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)) is not None:
        return f"the connection to {where} was reset before the answer was complete", retry
    if _named(causes, "ServerDisconnectedError") or (
        isinstance(exc, httpx.RemoteProtocolError) and not any(type(c).__module__.startswith("h11") for c in causes)
    ):  # httpcore's own "Server disconnected without sending a response", with no h11 error under it
        return f"{where} closed the connection without answering", retry
    if _named(causes, "ContentLengthError") or "complete message body" in str(exc):  # h11: body cut short
        return f"{where} closed the connection in the middle of its answer", retry
    if isinstance(exc, httpx.RemoteProtocolError) or _named(
        causes, "ClientResponseError", "ClientPayloadError", "HttpProcessingError"
    ):
        return (
            f"{where} gave no valid HTTP answer",
            "check that the base URL points at the provider's API, with the right scheme (http:// or https://) "
            "and port",
        )
    os_error = _first(causes, OSError)
    if os_error is not None and isinstance(getattr(os_error, "errno", None), int):
        why = os.strerror(os_error.errno).lower()
        return f"could not connect to {where} ({why})", f"{check}, and this machine's network"
    if isinstance(exc, httpx.ConnectError) or _named(causes, "ClientConnectorError"):
        return f"could not connect to {where}", f"{check}, and this machine's network"
    if isinstance(exc, httpx.NetworkError) or _named(causes, "ClientConnectionError", "ClientOSError"):
        return f"the connection to {where} broke off", retry
    return f"the request to {where} failed unexpectedly ({type(exc).__name__})", "check the network and the base URL"


def _transport_error(
    job: JobRef,
    cfg: ProviderConfig,
    exc: BaseException,
    *,
    request: str = "status request",
    url: str | None = None,
    closed: bool = False,
) -> TransportError:
    """The ``TransportError`` of a request (to ``url``, default the base URL) that got no usable
    HTTP answer: what happened and what to do, in docstatus's words (``_what_failed``)."""
    what, todo = _what_failed(exc, url or cfg.base_url, closed=closed)
    env = f"DOCSTATUS_{cfg.provider.upper()}_BASE_URL"
    return TransportError(
        _scrub(
            f"the {request} for {job} to {cfg.provider} failed: {what}; {todo} (the base URL is {cfg.base_url}: "
            f"ProviderConfig(base_url=...) or {env})",
            cfg,
        ),
        provider=cfg.provider,
        ref=str(job),
    )


def _translate_malformed(job: JobRef, cfg: ProviderConfig, exc: Exception, bound: _Bound) -> ProviderError:
    """The generated client could not parse the body into its model (for any status)."""
    status_code = int(getattr(exc, "status_code", 0) or 0)
    content: bytes = getattr(exc, "content", b"") or b""
    reason = str(getattr(exc, "reason", "")) or type(exc).__name__
    if status_code != 200:
        headers = bound.last.headers if bound.last is not None else httpx.Headers()
        return _error_for_status(job, cfg, status_code, content, headers, None)
    if bound.truncated:
        return _too_large(job, cfg, content)
    return _malformed(job, cfg, bound.problem or reason, content)


def _too_large(job: JobRef, cfg: ProviderConfig, content: bytes) -> MalformedResponse:
    return _malformed(
        job,
        cfg,
        f"the body is larger than max_body={cfg.max_body} bytes (reading stopped there); if such bodies are "
        "expected, raise ProviderConfig(max_body=...)",
        content,
    )


def _malformed(job: JobRef, cfg: ProviderConfig, reason: str, content: bytes) -> MalformedResponse:
    reason = " ".join(reason.split())[:300]
    return MalformedResponse(
        _scrub(
            f"{cfg.provider} answered HTTP 200 for {job} with a body that is not a job status: {reason}; "
            f"check the base URL ({cfg.base_url}) points at the {cfg.provider} API",
            cfg,
        ),
        provider=cfg.provider,
        ref=str(job),
        status_code=200,
        body=_scrub_body(content, cfg),
    )


def _translate(job: JobRef, cfg: ProviderConfig, response: Any, bound: _Bound) -> FetchResult:
    status_code = int(response.status_code)
    headers: Mapping[str, str] = response.headers
    if status_code != 200:
        raise _error_for_status(job, cfg, status_code, response.content, headers, response.parsed)
    if bound.truncated:
        raise _too_large(job, cfg, response.content)
    if bound.problem is not None:
        raise _malformed(job, cfg, bound.problem, response.content)
    m = mapper(job.provider)
    parsed = response.parsed
    if not isinstance(parsed, m.MODELS):
        raise _malformed(job, cfg, "no status model", response.content)
    if response.content.lstrip()[:1] != b"{":  # e.g. an array of pairs, which dict() accepts
        raise _malformed(job, cfg, "expected a JSON object", response.content)
    try:
        status = bounded(m.normalize(parsed, job_id=job.job_id))
    except _PARSE_ERRORS as exc:
        reason = str(exc) if isinstance(exc, Malformed) else f"{type(exc).__name__}: {exc}"
        error = _malformed(job, cfg, reason, response.content)
    else:
        if cfg.token and _scrub_body(response.content, cfg) != response.content:
            status = _scrubbed_status(status, cfg, response.content)  # the server echoed the credential into it
        return FetchResult(
            status=status, status_code=status_code, headers=headers, retry_after=parse_retry_after(headers)
        )
    raise error


#: The fields of a status's JSON form that hold provider text, the job id included (a body's own
#: id wins over the ref's); the others are docstatus's own: provider, state, timestamps.
_TEXT_FIELDS: Final = ("job_id", "provider_state", "step", "error", "pages", "outputs")


def _scrubbed_status(status: JobStatus, cfg: ProviderConfig, content: bytes) -> JobStatus:
    """``status`` with the credential replaced by ``***`` in every provider text it carries, and
    its ``model`` built from the body with the credential replaced too."""
    from ._status import JobStatus  # noqa: PLC0415  # only on this rare path

    def scrubbed(value: Any) -> Any:  # text values only: keys, numbers and the JSON's shape stay
        if isinstance(value, str):
            return _scrub(value, cfg)
        if isinstance(value, dict):
            return {k: scrubbed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrubbed(v) for v in value]
        return value

    data = status.to_dict()
    for name in _TEXT_FIELDS:
        data[name] = scrubbed(data[name])
    return attrs.evolve(JobStatus.from_dict(data), model=_scrub_body(content, cfg))


def _envelope(parsed: Any, content: bytes) -> tuple[str | None, str | None]:
    """``(code, message)`` from a provider error body: typed model first, else the raw JSON."""
    error = getattr(parsed, "error", None)
    if error is not None and hasattr(error, "message"):  # Sarvam, Aitronos
        code = getattr(error, "code", None)
        return _str(getattr(code, "value", code)), _str(error.message)
    detail = getattr(parsed, "detail", None)
    if isinstance(detail, list):  # markdown2pdf 422 (HTTPValidationError)
        msgs = [_str(getattr(d, "msg", None)) for d in detail]
        code = _str(getattr(detail[0], "type_", None)) if detail else None
        return code, "; ".join(m for m in msgs if m) or None
    try:
        data = json.loads(content) if content else None
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    err = data.get("error")
    if isinstance(err, dict):
        return _str(err.get("code") or err.get("type")), _str(err.get("message"))
    if isinstance(err, str):
        return None, _str(err)
    det = data.get("detail")
    if isinstance(det, str) or isinstance(data.get("title"), str):  # RFC 7807 problem details
        kind = data.get("type")
        return (None if kind == "about:blank" else _str(kind)), _str(det) or _str(data.get("title"))
    if isinstance(det, list):
        msgs = [_str(d.get("msg")) for d in det if isinstance(d, dict)]
        return None, "; ".join(m for m in msgs if m) or None
    return _str(data.get("code")), _str(data.get("message"))


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())[:300]
    return None


def _error_for_status(
    job: JobRef,
    cfg: ProviderConfig,
    status_code: int,
    content: bytes,
    headers: Mapping[str, str],
    parsed: Any,
) -> ProviderError:
    code, message = _envelope(parsed, content)
    said = f"HTTP {status_code}" + (f": {message}" if message else "")
    p, env = cfg.provider, f"DOCSTATUS_{cfg.provider.upper()}"
    kwargs: dict[str, Any] = {
        "provider": p,
        "ref": str(job),
        "status_code": status_code,
        "code": code,
        "body": _scrub_body(content, cfg),
    }
    build: Callable[..., ProviderError]
    if status_code in (404, 410):
        build = JobNotFound
        text = (
            f"{p} has no job {job} ({said}); check the id, and that the credentials belong to "
            "the account that created it"
        )
    elif status_code in (401, 403):
        build = AuthenticationError
        text = f"{p} refused the credentials for {job} ({said}); check {env}_TOKEN or ProviderConfig(token=...)"
    elif status_code == 429:
        retry_after = parse_retry_after(headers)
        build = RateLimited
        kwargs["retry_after"] = retry_after
        wait = f"retry after {retry_after:g} s" if retry_after is not None else "slow down and retry later"
        text = f"{p} rate-limited the status request for {job} ({said}); {wait}"
    elif status_code >= 500 or status_code == 408 or not _standard(status_code):
        build = ProviderServerError
        kwargs["retry_after"] = parse_retry_after(headers)
        text = f"{p} failed to answer for {job} ({said}); retrying later may help"
    elif 400 <= status_code < 500:
        build = BadRequest
        text = f"{p} rejected the status request for {job} ({said}); the id should have the form {FORMS[p]}"
    else:
        build = ProviderError
        where = headers.get("location")
        text = f"{p} answered the status request for {job} with an unexpected HTTP {status_code}" + (
            f" (to {where}); check the base URL ({cfg.base_url})" if where else "; expected 200"
        )
    return build(_scrub(text, cfg), **kwargs)


def _standard(status_code: int) -> bool:
    try:
        HTTPStatus(status_code)
    except ValueError:
        return False
    return True


# --- outputs whose URI is a metadata URL (markdown2pdf): resolved to the file's URL


def _send_in_thread(bound: _Bound, path: str, name: str) -> Any:
    """GET ``path`` through ``bound`` in a worker thread; the response, what it raised, or
    ``_Deadline`` when the whole-request deadline passed (the connections are then shut)."""
    box: list[Any] = []
    done = threading.Event()

    def send() -> None:
        try:
            box.append(bound.request("GET", path))
        except BaseException as exc:  # carried to the caller's thread
            box.append(exc)
        finally:
            done.set()

    threading.Thread(target=send, name=name, daemon=True).start()
    if not done.wait(max(0.0, bound.deadline - time.monotonic())):
        bound.abort()
        return _Deadline()
    return box[0]


def _to_resolve(status: JobStatus, config: ProviderConfig | None) -> tuple[ProviderConfig, JobRef, list[int]]:
    cfg = ProviderConfig.from_env(status.provider) if config is None else config
    if cfg.provider != status.provider:
        raise ConfigurationError(
            f"the configuration is for {cfg.provider}, but the status is from {status.provider}; "
            f"pass ProviderConfig(provider={status.provider!r}, ...)"
        )
    metadata = mapper(status.provider).__dict__.get("METADATA")
    indexes = [i for i, o in enumerate(status.outputs) if metadata is not None and o.name == metadata and o.uri]
    return cfg, JobRef(status.provider, status.job_id), indexes


def _metadata_bound(
    cfg: ProviderConfig, job: JobRef, uri: str, http: httpx.Client | httpx.AsyncClient
) -> tuple[_Bound, str]:
    """A ``_Bound`` for GET ``uri`` (absolute, or relative to the base URL), with no credential."""
    url = urljoin(cfg.base_url.rstrip("/") + "/", uri)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise _malformed(job, cfg, f"the output metadata URL {uri[:200]!r} is not an http(s) URL", b"")
    headers = {"Accept": "application/json", "Accept-Encoding": _ACCEPT_ENCODING}
    bound = _Bound(http, f"{parts.scheme}://{parts.netloc}", headers, cfg.max_body, time.monotonic() + cfg.timeout)
    return bound, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _file_url(cfg: ProviderConfig, job: JobRef, bound: _Bound, outcome: Any) -> str:
    """The file URL from the metadata answer, or the docstatus error for what happened."""
    if isinstance(outcome, _Deadline | httpx.TimeoutException):
        raise TransportError(
            f"the output metadata request for {job} timed out after {cfg.timeout:g} s (the whole request); "
            "retry later, or raise ProviderConfig(timeout=...)",
            provider=cfg.provider,
            ref=str(job),
        )
    if isinstance(outcome, BaseException):
        if not isinstance(outcome, Exception):
            raise outcome
        raise _transport_error(job, cfg, outcome, request="output metadata request", url=bound.base_url)
    response: httpx.Response = outcome
    if response.status_code != 200:
        raise _error_for_status(job, cfg, response.status_code, response.content, response.headers, None)
    if bound.truncated:
        raise _too_large(job, cfg, response.content)
    if bound.problem is not None:
        raise _malformed(job, cfg, bound.problem, response.content)
    models: Any = importlib.import_module("docstatus_markdown2pdf_client.models")
    try:
        data = json.loads(response.content)
        url = models.OutputMetadata.from_dict(data).url
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        reason = f"the output metadata is not {{'url': ...}} ({type(exc).__name__}: {_one_line(exc)})"
        error = _malformed(job, cfg, reason, response.content)
    else:
        if isinstance(url, str) and url.strip():
            return url.strip()
        error = _malformed(job, cfg, "the output metadata has no 'url' string", response.content)
    raise error


def resolve_outputs(
    status: JobStatus, *, config: ProviderConfig | None = None, client: httpx.Client | None = None
) -> tuple[Output, ...]:
    """The status's outputs, with each metadata URL resolved to the file's URL.

    markdown2pdf's ``path`` (the ``Output`` named ``"metadata"``) is not the PDF but a URL whose
    GET answers ``{"url": <the PDF's URL>}``, as both official SDKs read it. This GETs each such
    URL (relative ones against the configured base URL) and returns the outputs with that one
    replaced by ``Output(name="pdf", uri=<the PDF's URL>)``; other outputs, and every output of
    the other providers, are returned as they are (no request).

    Each GET is hardened as ``get_status`` is: one whole-request deadline
    (``ProviderConfig.timeout``), the body capped at ``ProviderConfig.max_body``, no redirect
    followed (a 3xx is a ``ProviderError`` naming its ``Location``), and **no credential sent**
    (the metadata URL may be on another origin; markdown2pdf needs none).

    Args:
        status: A status from ``get_status``/``parse``/``wait``.
        config: Timeout, size cap and base URL; default ``ProviderConfig.from_env``.
        client: An ``httpx.Client`` to send with (kept open); default a fresh one.

    Raises:
        MalformedResponse: the answer is not ``{"url": "<string>"}``, or the metadata URL is not http(s).
        JobNotFound, ProviderServerError, ProviderError, TransportError: as for ``get_status``.
    """
    if client is not None and not isinstance(client, httpx.Client):
        raise TypeError(
            f"resolve_outputs takes an httpx.Client, not {type(client).__name__}; "
            "with an httpx.AsyncClient, use resolve_outputs_async"
        )
    cfg, job, indexes = _to_resolve(status, config)
    outputs = list(status.outputs)
    for i in indexes:
        owned = client is None
        http = httpx.Client(verify=_ssl_context()) if client is None else client
        try:
            bound, path = _metadata_bound(cfg, job, outputs[i].uri or "", http)
            outcome = _in_worker(bound, f"docstatus-outputs {job}", partial(bound.request, "GET", path))
            url = _file_url(cfg, job, bound, outcome)
        finally:
            if owned:
                http.close()
        outputs[i] = Output(name="pdf", uri=url)
    return tuple(outputs)


async def resolve_outputs_async(
    status: JobStatus, *, config: ProviderConfig | None = None, client: httpx.AsyncClient | None = None
) -> tuple[Output, ...]:
    """The async twin of ``resolve_outputs`` (takes an ``httpx.AsyncClient``)."""
    import anyio  # noqa: PLC0415  # httpx's own dependency

    if client is not None and not isinstance(client, httpx.AsyncClient | FleetSession):
        raise TypeError(
            f"resolve_outputs_async takes an httpx.AsyncClient, not {type(client).__name__}; "
            "with an httpx.Client, use resolve_outputs "
        )
    cfg, job, indexes = _to_resolve(status, config)
    outputs = list(status.outputs)
    for i in indexes:
        owned = client is None
        http = httpx.AsyncClient(verify=_ssl_context()) if client is None else client
        try:
            bound, path = _metadata_bound(cfg, job, outputs[i].uri or "", http)
            outcome: Any
            try:
                with anyio.fail_after(max(0.0, bound.deadline - time.monotonic())):
                    outcome = await bound.arequest("GET", path)
            except TimeoutError:
                outcome = _Deadline()
            except Exception as exc:  # translated below, outside this handler
                outcome = exc
        finally:
            if owned:
                with anyio.CancelScope(shield=True):
                    await http.aclose()
        outputs[i] = Output(name="pdf", uri=_file_url(cfg, job, bound, outcome))
    return tuple(outputs)
