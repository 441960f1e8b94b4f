"""watch_many's own client sends through httpx-aiohttp (so tests/hostile/test_fleet_*.py and the
watch_many cases of test_hostile_fetch.py, which pass no client, hold the guarantees on that
path); wait_async keeps httpx's own transport (it runs on trio too). No timing here."""

from __future__ import annotations

import asyncio

import httpx
from docstatus._waiting import _many
from docstatus._waiting._poll import new_async_client, new_fleet_client
from httpx_aiohttp import AiohttpTransport


def test_the_fleet_client_sends_through_aiohttp_and_the_single_wait_client_does_not():
    async def make() -> tuple[object, object]:
        fleet, single = new_fleet_client(8), new_async_client()
        try:
            return fleet._transport, single._transport
        finally:
            await fleet.aclose()
            await single.aclose()

    fleet, single = asyncio.run(make())
    assert isinstance(fleet, AiohttpTransport)
    assert isinstance(single, httpx.AsyncHTTPTransport)
    assert _many.new_fleet_client is new_fleet_client  # what watch_many makes when given no client
