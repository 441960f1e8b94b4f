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
=====================================  ===========================================

Provider error envelopes become the exception's ``code`` and message: Sarvam's and Aitronos's
``error.code``/``error.message``, markdown2pdf's 422 ``detail[].msg``. Credentials never appear
in messages or in kept bodies.
"""

from __future__ import annotations

import importlib
import json
import math
import time
from datetime import UTC
from email.utils import parsedate_to_datetime
from functools import cache
from http import HTTPStatus
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

import attrs
import httpx

from ._common import Malformed
from ._config import NO_AUTH, ProviderConfig
from ._exceptions import (
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    JobNotFound,
    MalformedResponse,
    ProviderError,
    ProviderServerError,
    RateLimited,
    TransportError,
)
from ._parse import _PARSE_ERRORS
from ._providers import mapper
from ._refs import FORMS, JobRef, parse_ref

if TYPE_CHECKING:
    import ssl
    from collections.abc import Awaitable, Callable, Mapping

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
    """How to call one provider's generated status operation."""

    module: str
    errors: str
    args: Callable[[JobRef], dict[str, Any]]
    auth_header: str | None
    auth_prefix: str


def _aitronos_args(ref: JobRef) -> dict[str, Any]:
    org, store, file = ref.parts
    return {"organization_id": org, "store_id": store, "file_id": file}


_OPERATIONS: Final[Mapping[str, _Operation]] = MappingProxyType(
    {
        "artos": _Operation(
            "docstatus_artos_client.api.documents.get_document_status",
            "docstatus_artos_client.errors",
            lambda ref: {"document_id": ref.job_id},
            "Authorization",
            "Bearer ",
        ),
        "sarvam": _Operation(
            "docstatus_sarvam_client.api.subpackage_document_intelligence.get_status",
            "docstatus_sarvam_client.errors",
            lambda ref: {"job_id": UUID(ref.job_id)},
            "api-subscription-key",
            "",
        ),
        "neurolinker": _Operation(
            "docstatus_neurolinker_client.api.default.get_document_status",
            "docstatus_neurolinker_client.errors",
            lambda ref: {"document_id": ref.job_id},
            "Authorization",
            "Bearer ",
        ),
        "aitronos": _Operation(
            "docstatus_aitronos_client.api.default.get_file_processing_status",
            "docstatus_aitronos_client.errors",
            _aitronos_args,
            "Authorization",
            "Bearer ",
        ),
        "markdown2pdf": _Operation(
            "docstatus_markdown2pdf_client.api.default.get_job_job_id_status",
            "docstatus_markdown2pdf_client.errors",
            lambda ref: {"job_id": ref.job_id},
            None,
            "",
        ),
    }
)


# --- the generated operations call ``client.get_httpx_client().request(method=, url=)``; these
# --- stand-ins send that request through the caller's (or a fresh) httpx client instead.


@attrs.define
class _Bound:
    """Sends the generated operation's request: absolute URL, auth header, timeout, kept response."""

    http: httpx.Client | httpx.AsyncClient
    base_url: str
    headers: dict[str, str]
    timeout: httpx.Timeout
    last: httpx.Response | None = None

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        assert isinstance(self.http, httpx.Client)
        self.last = self.http.request(
            method,
            self.base_url + _no_dot_segments(url),
            headers=self.headers,
            timeout=self.timeout,
            **kwargs,
        )
        return self.last

    async def arequest(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        assert isinstance(self.http, httpx.AsyncClient)
        self.last = await self.http.request(
            method,
            self.base_url + _no_dot_segments(url),
            headers=self.headers,
            timeout=self.timeout,
            **kwargs,
        )
        return self.last


def _no_dot_segments(path: str) -> str:
    """Percent-encode ``.``/``..`` path segments (ids such as ``..``), which URL normalization
    would otherwise resolve into a request for another endpoint."""
    if "/." not in path:
        return path
    return "/".join({".": "%2E", "..": "%2E%2E"}.get(part, part) for part in path.split("/"))


@attrs.define
class _AsyncFacade:
    bound: _Bound

    def request(self, method: str, url: str, **kwargs: Any) -> Awaitable[httpx.Response]:
        return self.bound.arequest(method, url, **kwargs)


@attrs.define
class _Session:
    """Quacks like the generated ``Client``/``AuthenticatedClient`` for one request."""

    bound: _Bound
    raise_on_unexpected_status: bool = False

    def get_httpx_client(self) -> _Bound:
        return self.bound

    def get_async_httpx_client(self) -> _AsyncFacade:
        return _AsyncFacade(self.bound)


# --- public API


def fetch_status(
    ref: str | JobRef, *, config: ProviderConfig | None = None, client: httpx.Client | None = None
) -> FetchResult:
    """Fetch one job's status; see the module docstring for what each answer becomes.

    Args:
        ref: A job reference (``"artos:<id>"``, ...) or a ``JobRef``.
        config: Where and how to reach the provider; default ``ProviderConfig.from_env``.
        client: An ``httpx.Client`` to send the request with (kept open); default a fresh one,
            closed after the request.
    """
    job, cfg, op = _prepare(ref, config)
    module = importlib.import_module(op.module)
    owned = client is None
    http = httpx.Client(verify=_ssl_context()) if client is None else client
    bound = _bound(http, cfg, op)
    try:
        try:
            response = module.sync_detailed(**op.args(job), client=_Session(bound))
        except httpx.RequestError as exc:
            raise _transport_error(job, cfg, exc) from exc
        except _generated_malformed(op) as exc:
            raise _translate_malformed(job, cfg, exc, bound.last) from exc
    finally:
        if owned:
            http.close()
    return _translate(job, cfg, response)


async def fetch_status_async(
    ref: str | JobRef, *, config: ProviderConfig | None = None, client: httpx.AsyncClient | None = None
) -> FetchResult:
    """The async twin of ``fetch_status`` (takes an ``httpx.AsyncClient``)."""
    job, cfg, op = _prepare(ref, config)
    module = importlib.import_module(op.module)
    owned = client is None
    http = httpx.AsyncClient(verify=_ssl_context()) if client is None else client
    bound = _bound(http, cfg, op)
    try:
        try:
            response = await module.asyncio_detailed(**op.args(job), client=_Session(bound))
        except httpx.RequestError as exc:
            raise _transport_error(job, cfg, exc) from exc
        except _generated_malformed(op) as exc:
            raise _translate_malformed(job, cfg, exc, bound.last) from exc
    finally:
        if owned:
            await http.aclose()
    return _translate(job, cfg, response)


def get_status(
    ref: str | JobRef, *, config: ProviderConfig | None = None, client: httpx.Client | None = None
) -> JobStatus:
    """The normalized status of one job, fetched now.

    ``ref`` is ``"<provider>:<id>"`` (see ``docstatus.parse_ref``) or a ``JobRef``. Configuration
    is ``config`` or, by default, the environment (``DOCSTATUS_<PROVIDER>_BASE_URL`` and
    ``DOCSTATUS_<PROVIDER>_TOKEN``). Raises a ``docstatus.DocstatusError`` subclass for every
    answer that is not a status (``JobNotFound``, ``AuthenticationError``, ``RateLimited``, ...).
    """
    return fetch_status(ref, config=config, client=client).status


async def get_status_async(
    ref: str | JobRef, *, config: ProviderConfig | None = None, client: httpx.AsyncClient | None = None
) -> JobStatus:
    """The async twin of ``get_status``."""
    return (await fetch_status_async(ref, config=config, client=client)).status


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP-date).

    ``headers`` must be case-insensitive (``httpx.Headers``) or use lower-case names. Returns
    ``None`` when there is no usable hint; a date in the past gives ``0.0``.
    """
    ms = headers.get("retry-after-ms")
    if ms is not None:
        seconds = _number(ms)
        if seconds is not None:
            return seconds / 1000.0
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; one without a zone is read as such
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


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


def _prepare(ref: str | JobRef, config: ProviderConfig | None) -> tuple[JobRef, ProviderConfig, _Operation]:
    job = parse_ref(str(ref) if isinstance(ref, JobRef) else ref)
    cfg = ProviderConfig.from_env(job.provider) if config is None else config
    if cfg.provider != job.provider:
        raise ConfigurationError(
            f"the configuration is for {cfg.provider}, but the job {job} is at {job.provider}; "
            f"pass ProviderConfig(provider={job.provider!r}, ...)"
        )
    if job.provider not in NO_AUTH:
        cfg.require_token()
    return job, cfg, _OPERATIONS[job.provider]


def _bound(http: httpx.Client | httpx.AsyncClient, cfg: ProviderConfig, op: _Operation) -> _Bound:
    headers = {"Accept": "application/json"}
    if op.auth_header is not None and cfg.token is not None:
        headers[op.auth_header] = op.auth_prefix + cfg.token
    return _Bound(http, cfg.base_url.rstrip("/"), headers, httpx.Timeout(cfg.timeout))


def _generated_malformed(op: _Operation) -> type[Exception]:
    errors: Any = importlib.import_module(op.errors)
    cls: type[Exception] = errors.MalformedResponse
    return cls


def _scrub(text: str, cfg: ProviderConfig) -> str:
    if cfg.token:
        text = text.replace(cfg.token, "***")
    return text


def _scrub_body(body: bytes | None, cfg: ProviderConfig) -> bytes | None:
    if body is None or not cfg.token:
        return body
    return body.replace(cfg.token.encode("utf-8", "replace"), b"***")


def _transport_error(job: JobRef, cfg: ProviderConfig, exc: httpx.RequestError) -> TransportError:
    if isinstance(exc, httpx.TimeoutException):
        what = f"timed out after {cfg.timeout:g} s ({type(exc).__name__})"
        todo = "retry later, or raise ProviderConfig(timeout=...)"
    else:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        what = f"failed: {detail}"
        env = f"DOCSTATUS_{cfg.provider.upper()}_BASE_URL"
        todo = f"check the network and the base URL ({cfg.base_url}; {env})"
    return TransportError(
        _scrub(f"the status request for {job} to {cfg.provider} {what}; {todo}", cfg),
        provider=cfg.provider,
        ref=str(job),
    )


def _translate_malformed(
    job: JobRef, cfg: ProviderConfig, exc: Exception, response: httpx.Response | None
) -> ProviderError:
    """The generated client could not parse the body into its model (for any status)."""
    status_code = int(getattr(exc, "status_code", 0) or 0)
    content: bytes = getattr(exc, "content", b"") or b""
    reason = str(getattr(exc, "reason", "")) or type(exc).__name__
    if status_code != 200:
        headers = response.headers if response is not None else httpx.Headers()
        return _error_for_status(job, cfg, status_code, content, headers, None)
    return _malformed(job, cfg, reason, content)


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


def _translate(job: JobRef, cfg: ProviderConfig, response: Any) -> FetchResult:
    status_code = int(response.status_code)
    headers: Mapping[str, str] = response.headers
    if status_code != 200:
        raise _error_for_status(job, cfg, status_code, response.content, headers, response.parsed)
    m = mapper(job.provider)
    parsed = response.parsed
    if not isinstance(parsed, m.MODEL):
        raise _malformed(job, cfg, "no status model", response.content)
    if response.content.lstrip()[:1] != b"{":  # e.g. an array of pairs, which dict() accepts
        raise _malformed(job, cfg, "expected a JSON object", response.content)
    try:
        status = m.normalize(parsed, job_id=job.job_id)
    except _PARSE_ERRORS as exc:
        reason = str(exc) if isinstance(exc, Malformed) else f"{type(exc).__name__}: {exc}"
        raise _malformed(job, cfg, reason, response.content) from exc
    return FetchResult(status=status, status_code=status_code, headers=headers, retry_after=parse_retry_after(headers))


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
    if isinstance(det, str):
        return None, _str(det)
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
