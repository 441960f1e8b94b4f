"""The transport over aiohttp: ``watch_many``'s and the tracker's own session (asyncio only).

aiohttp directly, because httpx's async pool collapses as its connections grow and its
per-request work (URL parsing, cookies, models) costs more than the request
(``bench/bench_wait.py``). The hardening is the same as on httpx: the whole-request deadline is
a cancel scope, no redirect is followed, bodies are read raw and decoded by ``Body`` under the
cap, and the proxy comes from the environment as httpx takes it (``HTTP_PROXY``, ``HTTPS_PROXY``,
``ALL_PROXY``, ``NO_PROXY``, read when the session is made) -- not aiohttp's ``trust_env``, which
would also send ``~/.netrc`` credentials. Callers who pass their own ``httpx.AsyncClient`` keep httpx.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING

from ._transport import Body, Deadline, ssl_context

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ._transport import Answer, Request

#: How urllib (and httpx's rules, to the same effect) reads ``NO_PROXY`` for a host: present in
#: CPython's ``urllib.request`` on every platform, though typeshed does not declare it.
_bypass: Callable[[str, Mapping[str, str]], bool] = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]


class FleetSession:
    """``watch_many``'s and the tracker's own HTTP session (see the module docstring): an
    ``AsyncTransport``.

    Attributes:
        session: The ``aiohttp.ClientSession`` (its own connector, no cookies, no decompression:
            ``Body`` decodes, bounded; no ``trust_env``: the proxy is chosen per request, below).
    """

    def __init__(self, connections: int | None = None) -> None:
        import aiohttp  # noqa: PLC0415

        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections or 100, limit_per_host=0, ssl=ssl_context()),
            auto_decompress=False,  # Body decodes, bounded
            timeout=aiohttp.ClientTimeout(total=None),  # send's cancel scope is the deadline
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,  # no ~/.netrc credentials; the proxy is chosen here, as httpx does
        )
        self._proxies = {k: v for k, v in urllib.request.getproxies_environment().items() if v}
        self._proxy_for: dict[tuple[str, str], str | None] = {}

    def proxy(self, url: str) -> str | None:
        """The proxy a request to ``url`` goes through, from the environment as the session was
        made (the scheme's ``*_PROXY``, else ``ALL_PROXY``; none for a host ``NO_PROXY`` names)."""
        if not self._proxies:
            return None
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.netloc)
        if key not in self._proxy_for:
            host = parts.hostname or ""
            bypass = _bypass(host, self._proxies) or (parts.port is not None and _bypass(parts.netloc, self._proxies))
            chosen = None if bypass else self._proxies.get(parts.scheme) or self._proxies.get("all")
            if len(self._proxy_for) > 1024:  # bounded: hosts come from configuration, rarely many
                self._proxy_for.clear()
            self._proxy_for[key] = chosen
        return self._proxy_for[key]

    @property
    def closed(self) -> bool:
        """Never: docstatus's own session, not a client the caller gave (see ``Transport.closed``)."""
        return False

    async def aclose(self) -> None:
        await self.session.close()

    async def send(self, request: Request) -> Answer:
        """The answer; ``Deadline`` when the deadline came first; else what aiohttp raised."""
        try:
            async with asyncio.timeout(max(0.0, request.deadline - time.monotonic())):  # cheaper than anyio's
                return await self._send(request)
        except TimeoutError:
            raise Deadline from None

    async def _send(self, request: Request) -> Answer:
        import yarl  # noqa: PLC0415  # aiohttp's own URL type

        # encoded=True: the generated path is percent-encoded already (and "%2E%2E" stays a segment)
        target = yarl.URL(request.url, encoded=True)
        async with self.session.request(
            request.method, target, headers=request.headers, allow_redirects=False, proxy=self.proxy(request.url)
        ) as raw:
            body = Body.start(raw.headers, request.max_body)
            if not body.truncated and body.problem is None:
                async for chunk in raw.content.iter_any():
                    if body.feed(chunk):
                        break
            return body.answer(raw.status, raw.headers, request)


def new_session(connections: int | None = None) -> FleetSession:
    """A fresh ``FleetSession`` (asyncio only)."""
    return FleetSession(connections)
