"""watch_many's own session sends through aiohttp directly (``docstatus._fetch.FleetSession``),
so tests/hostile/test_fleet_*.py, the watch_many cases of test_hostile_fetch.py (which pass no
client) and its "fleet" mode hold the guarantees on that path; wait_async and callers' clients
keep httpx (wait_async runs on trio too). No timing here."""

from __future__ import annotations

import asyncio

import aiohttp
import httpx
from docstatus._fetch import FleetSession
from docstatus._waiting import _many
from docstatus._waiting._poll import new_async_client, new_fleet_client


def test_the_fleet_session_is_aiohttp_and_the_single_wait_client_is_httpx():
    async def make() -> tuple[object, object, object]:
        fleet, single = new_fleet_client(8), new_async_client()
        try:
            return fleet, fleet.session, single._transport
        finally:
            await fleet.aclose()
            await single.aclose()

    fleet, session, single = asyncio.run(make())
    assert isinstance(fleet, FleetSession)
    assert isinstance(session, aiohttp.ClientSession)
    assert session.auto_decompress is False  # docstatus decodes, under the size cap
    assert isinstance(session.cookie_jar, aiohttp.DummyCookieJar)
    assert isinstance(single, httpx.AsyncHTTPTransport)
    assert _many.new_fleet_client is new_fleet_client  # what watch_many makes when given no client
