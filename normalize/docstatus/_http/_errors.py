"""Answers and failures -> ``DocstatusError``: one wording for every transport.

=====================================  ===========================================
answer                                 error
=====================================  ===========================================
404, 410                               ``JobNotFound``
401, 403                               ``AuthenticationError``
400, 422, other 4xx                    ``BadRequest``
429                                    ``RateLimited`` (``retry_after`` in seconds)
5xx, 408, non-standard (e.g. 520)      ``ProviderServerError`` (``retry_after`` if sent)
1xx, other 2xx, 3xx                    ``ProviderError`` (a 3xx names its ``Location``)
200 that is not a status               ``MalformedResponse`` (the body, truncated)
a body over ``max_body`` bytes         ``MalformedResponse`` naming the limit
no answer (refused, dropped, timeout)  ``TransportError`` saying what happened and what to do
=====================================  ===========================================

Error envelopes become the exception's ``code`` and message, whichever shape the provider's
spec gives them: an ``error`` object (``code``/``message``), a validation error's
``detail[].msg``, RFC 7807 problem details (``detail``, else ``title``), or a plain
``code``/``message``. What went wrong on the way is read from the exception and its causes
(the OS and TLS errors under httpx's and aiohttp's own), never from the library's text, and
said the same way whichever transport sent the request. The credential is scrubbed from every
message, kept body and status by ``_secrets``, the one masker.
"""

from __future__ import annotations

import json
import math
import os
import socket
import ssl
import time
from datetime import UTC
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import attrs

from docstatus import _exceptions as errors
from docstatus import _secrets
from docstatus._refs import FORMS
from docstatus._status import JobStatus

from ._transport import Deadline

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from docstatus._config import ProviderConfig
    from docstatus._refs import JobRef

    from ._transport import Answer


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


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if value >= 0 and math.isfinite(value) else None


def scrub(text: str, cfg: ProviderConfig) -> str:
    """``text`` with the configuration's credential masked (``_secrets``, the one masker)."""
    return _secrets.scrub(text, (cfg.token,))


def scrub_body(body: bytes | None, cfg: ProviderConfig) -> bytes | None:
    """``body`` with the configuration's credential masked (``_secrets``, the one masker)."""
    return body if body is None else _secrets.scrub_bytes(body, (cfg.token,))


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


def what_failed(exc: BaseException, url: str, *, closed: bool = False) -> tuple[str, str]:
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
        _is(exc, "httpx", "RemoteProtocolError") and not any(type(c).__module__.startswith("h11") for c in causes)
    ):  # httpcore's own "Server disconnected without sending a response", with no h11 error under it
        return f"{where} closed the connection without answering", retry
    if _named(causes, "ContentLengthError") or "complete message body" in str(exc):  # h11: body cut short
        return f"{where} closed the connection in the middle of its answer", retry
    if _is(exc, "httpx", "RemoteProtocolError") or _named(
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
    if _is(exc, "httpx", "ConnectError") or _named(causes, "ClientConnectorError"):
        return f"could not connect to {where}", f"{check}, and this machine's network"
    if _is(exc, "httpx", "NetworkError") or _named(causes, "ClientConnectionError", "ClientOSError"):
        return f"the connection to {where} broke off", retry
    return f"the request to {where} failed unexpectedly ({type(exc).__name__})", "check the network and the base URL"


def transport_error(
    job: JobRef,
    cfg: ProviderConfig,
    exc: BaseException,
    *,
    request: str = "status request",
    url: str | None = None,
    closed: bool = False,
) -> errors.TransportError:
    """The ``TransportError`` of a request (to ``url``, default the base URL) that got no usable
    HTTP answer: what happened and what to do, in docstatus's words (``what_failed``)."""
    what, todo = what_failed(exc, url or cfg.base_url, closed=closed)
    env = f"DOCSTATUS_{cfg.provider.upper()}_BASE_URL"
    return errors.TransportError(
        scrub(
            f"the {request} for {job} to {cfg.provider} failed: {what}; {todo} (the base URL is {cfg.base_url}: "
            f"ProviderConfig(base_url=...) or {env})",
            cfg,
        ),
        provider=cfg.provider,
        ref=str(job),
    )


def too_large(job: JobRef, cfg: ProviderConfig, content: bytes) -> errors.MalformedResponse:
    return malformed(
        job,
        cfg,
        f"the body is larger than max_body={cfg.max_body} bytes (reading stopped there); if such bodies are "
        "expected, raise ProviderConfig(max_body=...)",
        content,
    )


def malformed(job: JobRef, cfg: ProviderConfig, reason: str, content: bytes) -> errors.MalformedResponse:
    reason = " ".join(reason.split())[:300]
    return errors.MalformedResponse(
        scrub(
            f"{cfg.provider} answered HTTP 200 for {job} with a body that is not a job status: {reason}; "
            f"check the base URL ({cfg.base_url}) points at the {cfg.provider} API",
            cfg,
        ),
        provider=cfg.provider,
        ref=str(job),
        status_code=200,
        body=scrub_body(content, cfg),
    )


#: The fields of a status's JSON form that hold provider text, the job id included (a body's own
#: id wins over the ref's); the others are docstatus's own: provider, state, timestamps.
_TEXT_FIELDS: Final = ("job_id", "provider_state", "step", "error", "pages", "outputs")


def scrubbed_status(status: JobStatus, cfg: ProviderConfig, content: bytes) -> JobStatus:
    """``status`` with the credential replaced by ``***`` in every provider text it carries, and
    its ``model`` built from the body with the credential replaced too."""

    def scrubbed(value: Any) -> Any:  # text values only: keys, numbers and the JSON's shape stay
        if isinstance(value, str):
            return scrub(value, cfg)
        if isinstance(value, dict):
            return {k: scrubbed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrubbed(v) for v in value]
        return value

    data = status.to_dict()
    for name in _TEXT_FIELDS:
        data[name] = scrubbed(data[name])
    return attrs.evolve(JobStatus.from_dict(data), model=scrub_body(content, cfg))


def envelope(parsed: Any, content: bytes) -> tuple[str | None, str | None]:
    """``(code, message)`` from a provider error body: typed model first, else the raw JSON."""
    error = getattr(parsed, "error", None)
    if error is not None and hasattr(error, "message"):  # an error object: code and message
        code = getattr(error, "code", None)
        return _str(getattr(code, "value", code)), _str(error.message)
    detail = getattr(parsed, "detail", None)
    if isinstance(detail, list):  # a validation error (HTTPValidationError): detail[].msg
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


def error_for_status(
    job: JobRef,
    cfg: ProviderConfig,
    status_code: int,
    content: bytes,
    headers: Mapping[str, str],
    parsed: Any,
) -> errors.ProviderError:
    code, message = envelope(parsed, content)
    said = f"HTTP {status_code}" + (f": {message}" if message else "")
    p, env = cfg.provider, f"DOCSTATUS_{cfg.provider.upper()}"
    kwargs: dict[str, Any] = {
        "provider": p,
        "ref": str(job),
        "status_code": status_code,
        "code": code,
        "body": scrub_body(content, cfg),
    }
    build: Callable[..., errors.ProviderError]
    if status_code in (404, 410):
        build = errors.JobNotFound
        text = (
            f"{p} has no job {job} ({said}); check the id, and that the credentials belong to "
            "the account that created it"
        )
    elif status_code in (401, 403):
        build = errors.AuthenticationError
        text = f"{p} refused the credentials for {job} ({said}); check {env}_TOKEN or ProviderConfig(token=...)"
    elif status_code == 429:
        retry_after = parse_retry_after(headers)
        build = errors.RateLimited
        kwargs["retry_after"] = retry_after
        wait = f"retry after {retry_after:g} s" if retry_after is not None else "slow down and retry later"
        text = f"{p} rate-limited the status request for {job} ({said}); {wait}"
    elif status_code >= 500 or status_code == 408 or not _standard(status_code):
        build = errors.ProviderServerError
        kwargs["retry_after"] = parse_retry_after(headers)
        text = f"{p} failed to answer for {job} ({said}); retrying later may help"
    elif 400 <= status_code < 500:
        build = errors.BadRequest
        text = f"{p} rejected the status request for {job} ({said}); the id should have the form {FORMS[p]}"
    else:
        build = errors.ProviderError
        where = headers.get("location")
        text = f"{p} answered the status request for {job} with an unexpected HTTP {status_code}" + (
            f" (to {where}); check the base URL ({cfg.base_url})" if where else "; expected 200"
        )
    return build(scrub(text, cfg), **kwargs)


def _standard(status_code: int) -> bool:
    try:
        HTTPStatus(status_code)
    except ValueError:
        return False
    return True


def _is(exc: BaseException, library: str, *names: str) -> bool:
    """True when ``exc`` is one of ``library``'s exception classes ``names`` (or a subclass),
    matched without importing the library."""
    return any(c.__name__ in names and c.__module__.partition(".")[0] == library for c in type(exc).__mro__)


def timeout_error(
    job: JobRef, cfg: ProviderConfig, seconds: float, *, request: str = "status request"
) -> errors.TransportError:
    """The ``TransportError`` of a request whose whole-request deadline (``seconds``) passed."""
    if request == "status request":
        text = (
            f"the status request for {job} to {cfg.provider} timed out after {seconds:g} s (the whole "
            "request: connecting, sending, headers and body); retry later, or raise ProviderConfig(timeout=...)"
        )
    else:
        text = (
            f"the {request} for {job} timed out after {seconds:g} s (the whole request); "
            "retry later, or raise ProviderConfig(timeout=...)"
        )
    return errors.TransportError(text, provider=cfg.provider, ref=str(job))


def timed_out(exc: BaseException) -> bool:
    """True when a request raised this because its deadline passed (ours, or httpx's own timeout)."""
    return isinstance(exc, Deadline) or _is(exc, "httpx", "TimeoutException")


def failure(
    job: JobRef, cfg: ProviderConfig, exc: BaseException, seconds: float, *, closed: bool
) -> errors.DocstatusError | None:
    """The docstatus error for what sending a status request raised (``None``: not an error of
    the request, such as ``KeyboardInterrupt`` or a cancellation). ``closed``: the caller's
    client is closed (``Transport.closed``)."""
    if timed_out(exc):
        return timeout_error(job, cfg, seconds)
    if _is(exc, "httpx", "InvalidURL") or _is(exc, "aiohttp", "InvalidURL"):
        return errors.ConfigurationError(
            scrub(
                f"the status URL for {job} at {cfg.base_url} is not a valid URL; check the base URL "
                "(its host: a name or an IP address) and the job id",
                cfg,
            )
        )
    if isinstance(exc, Exception):  # httpx.RequestError, aiohttp.ClientError and whatever else sending raised
        return transport_error(job, cfg, exc, closed=closed and isinstance(exc, RuntimeError))
    return None


def translate_malformed(job: JobRef, cfg: ProviderConfig, exc: Exception, answer: Answer) -> errors.ProviderError:
    """The generated client could not parse the body into its model (for any status)."""
    status_code = int(getattr(exc, "status_code", 0) or 0)
    content: bytes = getattr(exc, "content", b"") or b""
    reason = str(getattr(exc, "reason", "")) or type(exc).__name__
    if status_code != 200:
        return error_for_status(job, cfg, status_code, content, answer.headers, None)
    if answer.truncated:
        return too_large(job, cfg, content)
    return malformed(job, cfg, answer.problem or reason, content)
