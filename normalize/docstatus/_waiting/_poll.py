"""The I/O boundary of waiting: a *poll function* fetches one job's status.

A poll function is called as ``poll(ref, timeout)`` with a ``JobRef`` and the seconds the
request may take, and returns (or, for the async shells, resolves to) either a ``JobStatus`` or
an object with a ``status`` (``JobStatus``) and ``headers`` or ``retry_after`` — such as the
``FetchResult`` of ``docstatus.fetch_status``, whose hints then steer the delay. It raises a
``docstatus.DocstatusError`` when the poll fails (``RateLimited``, ``TransportError``, ...).

By default waiting polls with ``docstatus.fetch_status`` (``fetch_status_async``) through one
``httpx`` client; tests and benchmarks pass their own function.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from docstatus._config import ProviderConfig, auth_schemes
from docstatus._exceptions import ConfigurationError
from docstatus._refs import JobRef, parse_ref
from docstatus._status import JobStatus

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping

    import httpx

    from docstatus._http._aiohttp import FleetSession

#: ``poll(ref, timeout)`` -> ``JobStatus`` or a ``FetchResult``-like object.
PollFn: TypeAlias = "Callable[[JobRef, float], Any]"
#: The async twin: ``await poll(ref, timeout)``.
AsyncPollFn: TypeAlias = "Callable[[JobRef, float], Awaitable[Any]]"


def to_ref(ref: str | JobRef) -> JobRef:
    """A ``JobRef`` from a reference string (``InvalidJobRef`` when it does not parse) or a ``JobRef``."""
    return ref if isinstance(ref, JobRef) else parse_ref(ref)


def outcome(result: Any) -> tuple[JobStatus, float | None]:
    """``(status, retry_after)`` from what a poll function returned."""
    if isinstance(result, JobStatus):
        return result, None
    status = getattr(result, "status", None)
    if not isinstance(status, JobStatus):
        raise TypeError(
            "a poll function must return a JobStatus or an object with a JobStatus `status` "
            f"(like docstatus.FetchResult), not {type(result).__name__}"
        )
    hint = getattr(result, "retry_after", None)
    headers = getattr(result, "headers", None)
    # A FetchResult without a hint had no hint header: skip reading the headers again.
    if headers is not None and (hint is not None or not hasattr(result, "retry_after")):
        return status, retry_after(headers)
    return status, None if hint is None else float(hint)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``Retry-After``. An HTTP-date is measured from
    the response's own ``Date`` when it has one, so the two hosts' clocks need not agree."""
    if headers.get("retry-after-ms") is None and headers.get("retry-after") is None:
        return None
    from docstatus._http._errors import parse_retry_after  # noqa: PLC0415  # loaded with the transport, already in use

    return parse_retry_after(headers, now=_server_time(headers.get("date")))


def _server_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value.strip()).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


@attrs.define
class Configs:
    """Provider configurations for a set of jobs: given, else read from the environment once.

    Attributes:
        given: Configurations passed in, by provider.
        cache: Configurations in use, by provider.
    """

    given: Mapping[str, ProviderConfig]
    cache: dict[str, ProviderConfig] = attrs.Factory(dict)

    @classmethod
    def of(cls, config: ProviderConfig | Mapping[str, ProviderConfig] | Iterable[ProviderConfig] | None) -> Configs:
        if config is None:
            return cls({})
        if isinstance(config, ProviderConfig):
            return cls({config.provider: config})
        if hasattr(config, "items"):
            return cls(dict(config.items()))
        return cls({c.provider: c for c in config})

    def for_ref(self, ref: JobRef) -> ProviderConfig:
        """The configuration for ``ref``'s provider; ``ConfigurationError`` when it cannot work
        (a missing token, a configuration for another provider)."""
        cfg = self.cache.get(ref.provider)
        if cfg is not None:
            return cfg
        cfg = self.given.get(ref.provider)
        if cfg is None:
            cfg = ProviderConfig.from_env(ref.provider)
        if cfg.provider != ref.provider:
            raise ConfigurationError(
                f"the configuration given for {ref.provider} is for {cfg.provider}; "
                f"pass ProviderConfig(provider={ref.provider!r}, ...)"
            )
        if auth_schemes(ref.provider):
            cfg.require_token()
        self.cache[ref.provider] = cfg
        return cfg

    def url(self, ref: JobRef) -> str:
        """The URL of ``ref``'s status request (no credential: those go in headers), for hooks."""
        from docstatus._http._status import status_url  # noqa: PLC0415  # loaded with the transport, already in use

        return status_url(ref, self.for_ref(ref))


def fetch_poller(configs: Configs, client: httpx.Client) -> PollFn:
    """A poll function over ``docstatus.fetch_status`` and one ``httpx.Client``."""
    from docstatus._http._status import fetch  # noqa: PLC0415  # heavy: only when polling for real

    def poll(ref: JobRef, timeout: float) -> Any:
        return fetch(ref, configs.for_ref(ref), client, timeout)

    return poll


def fetch_poller_async(configs: Configs, client: httpx.AsyncClient | FleetSession) -> AsyncPollFn:
    """An async poll function over ``docstatus.fetch_status_async`` and one ``httpx.AsyncClient``
    (or ``watch_many``'s own ``FleetSession``)."""
    from docstatus._http._status import fetch_async  # noqa: PLC0415

    async def poll(ref: JobRef, timeout: float) -> Any:  # noqa: ASYNC109  # the request's own timeout
        return await fetch_async(ref, configs.for_ref(ref), client, timeout)

    return poll


def new_client(connections: int | None = None) -> httpx.Client:
    """A fresh ``httpx.Client`` with docstatus's shared TLS context."""
    from docstatus._http._httpx import new_client  # noqa: PLC0415  # heavy: only when polling for real

    return new_client(connections)


def new_async_client(connections: int | None = None) -> httpx.AsyncClient:
    """A fresh ``httpx.AsyncClient`` with docstatus's shared TLS context (any event loop
    anyio runs: asyncio or trio)."""
    from docstatus._http._httpx import new_async_client  # noqa: PLC0415

    return new_async_client(connections)


def new_fleet_client(connections: int | None = None) -> FleetSession:
    """``watch_many``'s own session (asyncio only): aiohttp directly, behind docstatus's fetch
    (see ``docstatus._http._aiohttp``); callers' own clients stay httpx."""
    from docstatus._http._aiohttp import new_session  # noqa: PLC0415

    return new_session(connections)
