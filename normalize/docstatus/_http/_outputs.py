"""``resolve_outputs``: outputs whose URI is not the file but a URL whose answer says where it is.

A provider module that reports such an output names it (``METADATA``) and reads the answer
(``resolve_output(content) -> Output``); this module does the GET, hardened as a status request
is, and hands the answer to that hook. Outputs of other providers are returned as they are.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urljoin, urlsplit

import httpx

from docstatus._common import Malformed
from docstatus._config import ProviderConfig
from docstatus._exceptions import ConfigurationError
from docstatus._refs import JobRef
from docstatus._registry import mapper

from ._aiohttp import FleetSession
from ._errors import error_for_status, malformed, timed_out, timeout_error, too_large, transport_error
from ._httpx import exchange, exchange_async
from ._transport import ACCEPT_ENCODING, Answer, Request, no_dot_segments

if TYPE_CHECKING:
    from docstatus._status import JobStatus, Output


#: What the request is, in messages.
_WHAT = "output metadata request"

#: The configuration, the job, and ``(index, URI)`` of each output to resolve.
_Targets: TypeAlias = "tuple[ProviderConfig, JobRef, list[tuple[int, str]]]"


def resolve_outputs(
    status: JobStatus, *, config: ProviderConfig | None = None, client: httpx.Client | None = None
) -> tuple[Output, ...]:
    """The status's outputs, with each metadata URL resolved to the file's URL.

    Some providers report, for a finished job, not the file but a URL whose GET answers where
    the file is (the output its provider module names ``METADATA``; the README says which).
    This GETs each such URL (relative ones against the configured base URL) and returns the
    outputs with that one replaced by the file the answer names (the provider module's
    ``resolve_output``); other outputs, and every output of the other providers, are returned
    as they are (no request).

    Each GET is hardened as ``get_status`` is: one whole-request deadline
    (``ProviderConfig.timeout``), the body capped at ``ProviderConfig.max_body``, no redirect
    followed (a 3xx is a ``ProviderError`` naming its ``Location``), and **no credential sent**
    (the metadata URL may be on another origin).

    Args:
        status: A status from ``get_status``/``parse``/``wait``.
        config: Timeout, size cap and base URL; default ``ProviderConfig.from_env``.
        client: An ``httpx.Client`` to send with (kept open); default a fresh one.

    Raises:
        MalformedResponse: the answer is not what the provider documents, or the metadata URL
            is not http(s).
        JobNotFound, ProviderServerError, ProviderError, TransportError: as for ``get_status``.
    """
    if client is not None and not isinstance(client, httpx.Client):
        raise TypeError(
            f"resolve_outputs takes an httpx.Client, not {type(client).__name__}; "
            "with an httpx.AsyncClient, use resolve_outputs_async"
        )
    cfg, job, targets = _to_resolve(status, config)
    outputs = list(status.outputs)
    for i, uri in targets:  # each request made just before it is sent: its deadline starts then
        outputs[i] = _file(cfg, job, uri, exchange(client, _metadata_request(cfg, job, uri))[0])
    return tuple(outputs)


async def resolve_outputs_async(
    status: JobStatus, *, config: ProviderConfig | None = None, client: httpx.AsyncClient | None = None
) -> tuple[Output, ...]:
    """The async twin of ``resolve_outputs`` (takes an ``httpx.AsyncClient``)."""
    if client is not None and not isinstance(client, httpx.AsyncClient | FleetSession):
        raise TypeError(
            f"resolve_outputs_async takes an httpx.AsyncClient, not {type(client).__name__}; "
            "with an httpx.Client, use resolve_outputs "
        )
    cfg, job, targets = _to_resolve(status, config)
    outputs = list(status.outputs)
    for i, uri in targets:
        outputs[i] = _file(cfg, job, uri, (await exchange_async(client, _metadata_request(cfg, job, uri)))[0])
    return tuple(outputs)


def _to_resolve(status: JobStatus, config: ProviderConfig | None) -> _Targets:
    """The configuration, the job, and the URI of each output to resolve (by its index)."""
    cfg = ProviderConfig.from_env(status.provider) if config is None else config
    if cfg.provider != status.provider:
        raise ConfigurationError(
            f"the configuration is for {cfg.provider}, but the status is from {status.provider}; "
            f"pass ProviderConfig(provider={status.provider!r}, ...)"
        )
    job = JobRef(status.provider, status.job_id)
    metadata = getattr(mapper(status.provider), "METADATA", None)
    if metadata is None:
        return cfg, job, []
    return cfg, job, [(i, o.uri) for i, o in enumerate(status.outputs) if o.name == metadata and o.uri]


def _metadata_request(cfg: ProviderConfig, job: JobRef, uri: str) -> Request:
    """GET ``uri`` (absolute, or relative to the base URL), with no credential."""
    url = urljoin(cfg.base_url.rstrip("/") + "/", uri)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise malformed(job, cfg, f"the output metadata URL {uri[:200]!r} is not an http(s) URL", b"")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Request(
        url=f"{parts.scheme}://{parts.netloc}" + no_dot_segments(path),
        headers={"Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING},
        max_body=cfg.max_body,
        deadline=time.monotonic() + cfg.timeout,
        label=f"outputs {job}",
    )


def _file(cfg: ProviderConfig, job: JobRef, uri: str, outcome: Answer | Exception) -> Output:
    """The file the metadata answer names, or the docstatus error for what happened."""
    if isinstance(outcome, Exception):
        if timed_out(outcome):
            raise timeout_error(job, cfg, cfg.timeout, request=_WHAT)
        parts = urlsplit(urljoin(cfg.base_url.rstrip("/") + "/", uri))
        raise transport_error(job, cfg, outcome, request=_WHAT, url=f"{parts.scheme}://{parts.netloc}")
    answer = outcome
    if answer.status_code != 200:
        raise error_for_status(job, cfg, answer.status_code, answer.content, answer.headers, None)
    if answer.truncated:
        raise too_large(job, cfg, answer.content)
    if answer.problem is not None:
        raise malformed(job, cfg, answer.problem, answer.content)
    hook: Any = mapper(job.provider)
    try:
        return hook.resolve_output(answer.content)  # type: ignore[no-any-return]  # the provider module's Output
    except Malformed as exc:
        reason = str(exc)
    raise malformed(job, cfg, reason, answer.content)
