"""The status request: a ref -> its provider's module -> the generated operation -> a ``Request``
-> the answer -> a ``FetchResult`` (or the ``DocstatusError`` for what happened).

The provider module names the generated operation and its arguments (``operation``); the
generated client builds the request's path (``_get_kwargs``) and is the reference parser
(``_build_response``); the credential is sent as its spec declares (``AUTH_SCHEMES``), only to
the configured base URL. A documented 200 body goes through the provider's fast mapping
(``parse``'s: the decoded JSON read directly, the generated model built from the body on first
access); any other answer, or a body the fast mapping declines, through the generated parser.
Both give the same status: the fast mapping declines whatever it is not sure of.
"""

from __future__ import annotations

import ipaddress
import time
import warnings
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import attrs

from docstatus._common import Malformed
from docstatus._config import ProviderConfig, auth_schemes
from docstatus._exceptions import ConfigurationError, InsecureCredentialWarning
from docstatus._parse import _PARSE_ERRORS, MAX_TEXT, bounded, json_loads
from docstatus._refs import JobRef, parse_ref
from docstatus._registry import imported, mapper
from docstatus._secrets import remember

from ._errors import (
    error_for_status,
    failure,
    malformed,
    parse_retry_after,
    scrub_body,
    scrubbed_status,
    too_large,
    translate_malformed,
)
from ._httpx import exchange, exchange_async
from ._transport import ACCEPT_ENCODING, Answer, Request, no_dot_segments

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx

    from docstatus._registry import ProviderModule
    from docstatus._status import JobStatus

    from ._aiohttp import FleetSession


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


def fetch(
    ref: str | JobRef, config: ProviderConfig | None, client: httpx.Client | None, timeout: float | None = None
) -> FetchResult:
    """``docstatus.fetch_status``, within ``timeout`` when it is shorter than the configuration's."""
    plan = Plan.of(ref, config, timeout)
    outcome, closed = exchange(client, plan.request())
    return plan.result(outcome, closed=closed)


async def fetch_async(
    ref: str | JobRef,
    config: ProviderConfig | None,
    client: httpx.AsyncClient | FleetSession | None,
    timeout: float | None = None,  # noqa: ASYNC109  # the request's own deadline: the transport's cancel scope
) -> FetchResult:
    """``docstatus.fetch_status_async``, also through ``watch_many``'s own ``FleetSession``, within
    ``timeout`` when it is shorter than the configuration's."""
    plan = Plan.of(ref, config, timeout)
    outcome, closed = await exchange_async(client, plan.request())
    return plan.result(outcome, closed=closed)


@attrs.frozen
class _Session:
    """What the generated ``_build_response`` reads of its ``Client``: only whether to raise on
    an undocumented status (never: docstatus translates every status itself)."""

    raise_on_unexpected_status: bool = False


def status_url(ref: JobRef, config: ProviderConfig) -> str:
    """The URL of ``ref`` (a canonical ``JobRef``)'s status request under ``config`` (no
    credential: those go in headers), for hooks: only the operation's path, no request built."""
    module, args = mapper(ref.provider).operation(ref, dict(config.options))
    return _url(config, imported(module)._get_kwargs(**args))  # noqa: SLF001  # the generated request's path


def _url(config: ProviderConfig, kwargs: dict[str, Any]) -> str:
    """The URL of a generated operation's request (``kwargs``: its ``_get_kwargs``) at ``config``'s server."""
    return config.base_url.rstrip("/") + no_dot_segments(kwargs["url"])


def _credential(provider: str, wanted: str | None) -> tuple[str, str] | None:
    """``(header, prefix)`` to send the token with, from the generated client's ``AUTH_SCHEMES``
    (its spec's security schemes: the first by default, else the one whose kind the ``auth``
    option names, ``wanted``); ``None`` when the spec declares no authentication."""
    schemes = auth_schemes(provider)
    if not schemes:
        return None
    for scheme in schemes:
        if wanted is None or scheme.kind == wanted:
            return scheme.header, scheme.prefix
    kinds = ", ".join(repr(s.kind) for s in schemes)
    raise ConfigurationError(f"{provider} documents no {wanted!r} authentication (its spec has {kinds})")


@attrs.define
class Plan:
    """One status request, prepared: the job, its configuration, its provider's module and the
    generated operation with its arguments."""

    job: JobRef
    cfg: ProviderConfig
    provider: ProviderModule
    module: Any
    args: dict[str, Any]
    auth: tuple[str, str] | None
    timeout: float

    @classmethod
    def of(cls, ref: str | JobRef, config: ProviderConfig | None, timeout: float | None = None) -> Plan:
        """``timeout``: a shorter whole-request deadline than the configuration's (a wait's last poll)."""
        job = parse_ref(str(ref) if isinstance(ref, JobRef) else ref)
        cfg = ProviderConfig.from_env(job.provider) if config is None else config
        if cfg.provider != job.provider:
            raise ConfigurationError(
                f"the configuration is for {cfg.provider}, but the job {job} is at {job.provider}; "
                f"pass ProviderConfig(provider={job.provider!r}, ...)"
            )
        provider = mapper(job.provider)
        options = dict(cfg.options)
        module, args = provider.operation(job, options)
        auth = _credential(cfg.provider, options.get("auth"))
        if auth is not None:
            remember(cfg.require_token())  # masked in every log line and CLI output from now on
            _warn_plain_http(cfg)
        limit = cfg.timeout if timeout is None else min(cfg.timeout, timeout)
        return cls(job, cfg, provider, imported(module), args, auth, limit)

    def request(self) -> Request:
        """The generated operation's request (its ``_get_kwargs``), with the credential, to send now."""
        headers = {"Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING}
        if self.auth is not None and self.cfg.token is not None:
            header, prefix = self.auth
            headers[header] = f"{prefix} {self.cfg.token}" if prefix else self.cfg.token
        kwargs = self.module._get_kwargs(**self.args)  # noqa: SLF001  # the generated request, sent our way
        return Request(
            url=_url(self.cfg, kwargs),
            headers=headers,
            max_body=self.cfg.max_body,
            deadline=time.monotonic() + self.timeout,
            label=f"fetch {self.job}",
            method=kwargs["method"].upper(),
        )

    def result(self, outcome: Answer | Exception, *, closed: bool) -> FetchResult:
        """The ``FetchResult`` of what the request gave, or raise what it raised, translated.
        Errors are raised outside any ``except`` block and without a cause: the causes hold the
        request (with its credential) or the server's body. ``closed``: the caller's client is closed."""
        if isinstance(outcome, Exception):
            error = failure(self.job, self.cfg, outcome, self.timeout, closed=closed)
            if error is None:
                raise outcome
            raise error
        answer = outcome
        try:
            fast = self._fast(answer)
            response = None if fast is not None else self._parsed(answer)
        except Exception as exc:  # translated below, outside this handler
            problem = exc
        else:
            return fast if fast is not None else _translate(self.job, self.cfg, self.provider, response, answer)
        parse_error = self._parse_error(problem, answer, closed=closed)
        if parse_error is None:
            raise problem
        raise parse_error

    def _parsed(self, answer: Answer) -> Any:
        """The generated operation's own parse of the answer (its ``_build_response``)."""
        return self.module._build_response(client=_Session(), response=answer.to_httpx())  # noqa: SLF001  # the generated parse

    def _fast(self, answer: Answer) -> FetchResult | None:
        """A documented 200 body through the provider's fast mapping; ``None`` where it declines."""
        if answer.status_code != 200 or answer.truncated or answer.problem is not None:
            return None
        content = answer.content
        m = self.provider
        try:
            data = json_loads(content)  # parse's decode: the same value or error as json.loads, faster
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
        if cfg.token and scrub_body(content, cfg) != content:
            status = scrubbed_status(status, cfg, content)  # the server echoed the credential into it
        headers = answer.headers
        return FetchResult(status=status, status_code=200, headers=headers, retry_after=parse_retry_after(headers))

    def _parse_error(self, exc: Exception, answer: Answer, *, closed: bool) -> Exception | None:
        """The docstatus error for what parsing ``answer`` raised."""
        errors: Any = imported(f"{self.provider.CLIENT}.errors")
        if isinstance(exc, errors.MalformedResponse):
            return translate_malformed(self.job, self.cfg, exc, answer)
        if isinstance(exc, RecursionError):  # JSON nested too deep to decode
            if answer.status_code != 200:
                return error_for_status(self.job, self.cfg, answer.status_code, answer.content, answer.headers, None)
            return malformed(self.job, self.cfg, "the JSON is nested too deeply to decode", answer.content)
        return failure(self.job, self.cfg, exc, self.timeout, closed=closed)


def _translate(job: JobRef, cfg: ProviderConfig, m: ProviderModule, response: Any, answer: Answer) -> FetchResult:
    """The generated parser's response -> ``FetchResult``, or the error it stands for."""
    status_code = int(response.status_code)
    headers: Mapping[str, str] = response.headers
    if status_code != 200:
        raise error_for_status(job, cfg, status_code, response.content, headers, response.parsed)
    if answer.truncated:
        raise too_large(job, cfg, response.content)
    if answer.problem is not None:
        raise malformed(job, cfg, answer.problem, response.content)
    parsed = response.parsed
    if not isinstance(parsed, m.MODELS):
        raise malformed(job, cfg, "no status model", response.content)
    if response.content.lstrip()[:1] != b"{":  # e.g. an array of pairs, which dict() accepts
        raise malformed(job, cfg, "expected a JSON object", response.content)
    try:
        status = bounded(m.normalize(parsed, job_id=job.job_id))
    except _PARSE_ERRORS as exc:
        reason = str(exc) if isinstance(exc, Malformed) else f"{type(exc).__name__}: {exc}"
        error = malformed(job, cfg, reason, response.content)
    else:
        if cfg.token and scrub_body(response.content, cfg) != response.content:
            status = scrubbed_status(status, cfg, response.content)  # the server echoed the credential into it
        return FetchResult(
            status=status, status_code=status_code, headers=headers, retry_after=parse_retry_after(headers)
        )
    raise error


_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain"})
_warned_plain: set[tuple[str, str]] = set()


def _warn_plain_http(cfg: ProviderConfig) -> None:
    """Warn once per provider and host when a credential is about to go over plain HTTP to a
    host that is not this machine."""
    host = _remote_plain_host(cfg.base_url)
    if host is None or (cfg.provider, host) in _warned_plain:
        return
    warnings.warn(
        f"the {cfg.provider} credential is sent over plain http:// to {host}, readable on the way; "
        f"use an https:// base URL (DOCSTATUS_{cfg.provider.upper()}_BASE_URL)",
        InsecureCredentialWarning,
        stacklevel=4,
    )
    _warned_plain.add((cfg.provider, host))  # after: a warning made an error stops every request, not the first


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
