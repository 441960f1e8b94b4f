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

Provider error envelopes become the exception's ``code`` and message: an ``error`` object's
``code``/``message``, a validation error's ``detail[].msg``, RFC 7807 problem details' ``detail``
(its ``title`` when there is no ``detail``). Credentials never appear in messages or in kept bodies.

The machinery is ``docstatus._http`` (one transport interface, with httpx and aiohttp
implementations; answers -> errors; outputs); this module is its public face.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from ._http._aiohttp import FleetSession
from ._http._errors import MAX_RETRY_AFTER, parse_retry_after
from ._http._outputs import resolve_outputs, resolve_outputs_async
from ._http._status import FetchResult, fetch, fetch_async

if TYPE_CHECKING:
    from ._config import ProviderConfig
    from ._refs import JobRef
    from ._status import JobStatus

__all__ = [  # FleetSession, fetch, fetch_async: re-exported for the modules and tests that name them here
    "MAX_RETRY_AFTER",
    "FetchResult",
    "FleetSession",
    "fetch",
    "fetch_async",
    "fetch_status",
    "fetch_status_async",
    "get_status",
    "get_status_async",
    "parse_retry_after",
    "resolve_outputs",
    "resolve_outputs_async",
]


def fetch_status(
    ref: str | JobRef, *, config: ProviderConfig | None = None, client: httpx.Client | None = None
) -> FetchResult:
    """Fetch one job's status; see the module docstring for what each answer becomes.

    The whole request (connecting, sending, the headers and the body) ends within the
    configuration's ``timeout``, whatever the server does: past it, ``TransportError``.

    Args:
        ref: A job reference (``"<provider>:<id>"``) or a ``JobRef``.
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
