"""get_status / fetch_status, wait and watch_many against hostile servers written from raw sockets
(tests/hostile/_rawserver.py): every answer gives a typed docstatus error within the deadline and
in bounded memory, and the credential never leaks, never leaves its origin."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
import traceback
import tracemalloc
import warnings
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import docstatus
import httpx
import pytest
from _rawserver import (
    Conn,
    RawServer,
    answer,
    big_body,
    echo_headers,
    endless_body,
    garbage,
    gzip_bomb,
    huge_headers,
    redirect,
    slow_body,
    slow_headers,
)
from _status_checks import AITRONOS_ID, M2P_ID, SARVAM_ID, body
from docstatus import ProviderConfig, WaitPolicy
from docstatus._fetch import FleetSession, fetch_async

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.anyio

TOKEN = "tok-HOSTILE-5e2b91"
ALL = ["aitronos", "artos", "markdown2pdf", "neurolinker", "sarvam"]
AUTHED = [p for p in ALL if p != "markdown2pdf"]
REFS = {
    "artos": "artos:document-uuid-456",
    "sarvam": f"sarvam:{SARVAM_ID}",
    "neurolinker": "neurolinker:1d6986aa-80ac-4a4d-9009-5a323c9046b1",
    "aitronos": f"aitronos:{AITRONOS_ID}",
    "markdown2pdf": f"markdown2pdf:{M2P_ID}",
}
#: sync and async with httpx (a caller's client, or a fresh one); "fleet": watch_many's own
#: session, which sends through aiohttp directly (docstatus._fetch.FleetSession).
MODES = ["sync", "async", "fleet"]
MiB = 1024 * 1024


def config(provider: str, url: str, **kwargs: Any) -> ProviderConfig:
    token = None if provider == "markdown2pdf" else kwargs.pop("token", TOKEN)
    return ProviderConfig(provider=provider, base_url=url, token=token, **kwargs)


async def get(mode: str, ref: str, **kwargs: Any) -> docstatus.JobStatus:
    if mode == "sync":
        return docstatus.get_status(ref, **kwargs)
    if mode == "fleet":
        session = FleetSession(4)
        try:
            return (await fetch_async(ref, kwargs.pop("config"), session)).status
        finally:
            await session.aclose()
    return await docstatus.get_status_async(ref, **kwargs)


def secret_free(exc: BaseException) -> None:
    """The token is nowhere in the error: message, repr, kept body, or the formatted traceback
    with its whole cause/context chain (what a log handler or Sentry would record)."""
    text = "".join(traceback.format_exception(exc))
    for where in (str(exc), repr(exc), text, repr(getattr(exc, "body", b""))):
        assert TOKEN not in where
    assert exc.__cause__ is None or isinstance(exc.__cause__, docstatus.DocstatusError)


# --- deadlines: the whole request, whatever the server trickles


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "behaviour",
    [slow_body(b'{"task_id": "x", "status": "Generating"}', every=0.3), slow_headers(every=0.2)],
    ids=["slow-body", "slow-headers"],
)
async def test_a_trickling_server_cannot_hold_a_request_past_its_timeout(mode, behaviour):
    with RawServer(behaviour) as server:
        started = time.monotonic()
        with pytest.raises(docstatus.TransportError, match=r"timed out after 1 s") as info:
            await get(mode, REFS["artos"], config=config("artos", server.url, timeout=1.0))
        elapsed = time.monotonic() - started
        # The sync worker thread that sent the request ends too (while the server still trickles),
        # not hours later.
        assert mode != "sync" or workers_end_within(0.5)
    assert 0.9 < elapsed < 2.0, elapsed  # httpx's per-read timeouts alone never fire here
    secret_free(info.value)


def workers_end_within(seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not [t for t in threading.enumerate() if t.name.startswith("docstatus-fetch")]:
            return True
        time.sleep(0.02)
    return False


def test_sync_wait_keeps_its_deadline_against_a_trickling_server():
    with RawServer(slow_body(b'{"task_id": "x", "status": "Generating"}', every=0.3)) as server:
        started = time.monotonic()
        with pytest.raises(docstatus.WaitTimeout) as info:
            docstatus.wait(REFS["artos"], config=config("artos", server.url, timeout=1.0), timeout=2.5)
        elapsed = time.monotonic() - started
    assert elapsed < 2.5 + 1.0 + 0.75, elapsed  # the deadline, plus at most one request timeout
    assert isinstance(info.value.__cause__, docstatus.TransportError)
    secret_free(info.value)


async def test_async_wait_and_watch_many_keep_their_deadline_against_a_trickling_server():
    with RawServer(slow_body(b'{"task_id": "x", "status": "Generating"}', every=0.3)) as server:
        cfg = config("artos", server.url, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(docstatus.WaitTimeout):
            await docstatus.wait_async(REFS["artos"], config=cfg, timeout=2.5)
        assert time.monotonic() - started < 2.5 + 1.0 + 0.75
        started = time.monotonic()
        refs = [f"artos:job-{i}" for i in range(20)]
        async with aclosing(docstatus.watch_many(refs, config=cfg, timeout=2.5)) as updates:
            ended = [u async for u in updates if u.done]
        elapsed = time.monotonic() - started
    assert sorted(u.ref for u in ended) == sorted(refs)
    assert all(isinstance(u.error, docstatus.WaitTimeout) for u in ended)
    assert elapsed < 2.5 + 1.0 + 1.5, elapsed


async def test_cancelling_an_async_request_stops_it_at_once():
    with RawServer(slow_body(b'{"task_id": "x", "status": "Generating"}', every=0.3)) as server:
        task = asyncio.create_task(docstatus.get_status_async(REFS["artos"], config=config("artos", server.url)))
        await asyncio.sleep(0.5)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 0.5


# --- memory: endless, huge and compressed bodies stop at max_body


def peak_while(run: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("behaviour", "expect"),
    [
        (endless_body(), "larger than max_body=1048576"),
        (big_body(100 * MiB), "larger than max_body=1048576"),
        (gzip_bomb(200 * MiB), "larger than max_body=1048576"),
    ],
    ids=["endless-chunked", "100MB-content-length", "gzip-bomb-200MB"],
)
def test_bodies_over_max_body_stop_there_in_bounded_memory(behaviour, expect):
    with RawServer(behaviour) as server:
        cfg = config("artos", server.url, timeout=10, max_body=MiB)
        caught: list[BaseException] = []

        def run() -> None:
            try:
                docstatus.get_status(REFS["artos"], config=cfg)
            except docstatus.MalformedResponse as exc:
                caught.append(exc)

        started = time.monotonic()
        peak = peak_while(run)
        elapsed = time.monotonic() - started
    assert caught, "expected MalformedResponse"
    assert expect in str(caught[0])
    assert "ProviderConfig(max_body=...)" in str(caught[0])
    assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB"
    assert elapsed < 5, elapsed


@pytest.mark.parametrize("mode", ["async", "fleet"])
@pytest.mark.parametrize(
    "behaviour", [endless_body(), big_body(100 * MiB), gzip_bomb(200 * MiB)], ids=["endless", "100MB", "gzip-bomb"]
)
async def test_the_async_paths_cap_the_body_too(mode, behaviour):
    with RawServer(behaviour) as server, pytest.raises(docstatus.MalformedResponse, match="max_body=65536"):
        await get(mode, REFS["artos"], config=config("artos", server.url, max_body=65536))


@pytest.mark.parametrize("mode", MODES)
async def test_a_gzip_body_under_the_cap_is_decoded(mode):
    data = gzip.compress(b'{"task_id": "document-uuid-456", "status": "Ready"}')
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    with RawServer(answer(200, data, headers)) as server:
        status = await get(mode, REFS["artos"], config=config("artos", server.url))
        assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"
    assert status.state is docstatus.State.SUCCEEDED


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("data", "encoding", "expect"),
    [
        (b"\x1f\x8b\x08\x00garbage-not-gzip", "gzip", "does not decode"),
        (b"{}", "br", "content-encoding 'br' is not supported"),
    ],
    ids=["broken-gzip", "unasked-brotli"],
)
async def test_bodies_that_do_not_decode_are_malformed(mode, data, encoding, expect):
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
    with (
        RawServer(answer(200, data, headers)) as server,
        pytest.raises(docstatus.MalformedResponse, match=expect) as info,
    ):
        await get(mode, REFS["artos"], config=config("artos", server.url))
    secret_free(info.value)


# --- bodies and heads that break parsers


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ALL)
async def test_deeply_nested_json_is_malformed_not_recursion_error(provider, mode):
    with (
        RawServer(answer(200, b"[" * 100_000 + b"]" * 100_000)) as server,
        pytest.raises(docstatus.MalformedResponse) as info,
    ):
        await get(mode, REFS[provider], config=config(provider, server.url))
    assert info.value.provider == provider
    assert info.value.status_code == 200
    secret_free(info.value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("status", "error"),
    [(429, docstatus.RateLimited), (500, docstatus.ProviderServerError), (404, docstatus.JobNotFound)],
)
async def test_deeply_nested_json_in_an_error_body_keeps_the_status_class(mode, status, error):
    with RawServer(answer(status, b"{" * 50_000)) as server, pytest.raises(error) as info:
        await get(mode, REFS["sarvam"], config=config("sarvam", server.url))
    assert info.value.status_code == status
    secret_free(info.value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "data",
    [b'{"task_id": "\xff\xfe", "status": "Generating"}', b"\xff" * 100, b"", b"null", b'"Completed"'],
    ids=["invalid-utf8-in-string", "invalid-utf8", "empty", "null", "a-string"],
)
async def test_undecodable_200_bodies_are_malformed(mode, data):
    with RawServer(answer(200, data)) as server, pytest.raises(docstatus.MalformedResponse) as info:
        await get(mode, REFS["artos"], config=config("artos", server.url))
    secret_free(info.value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("behaviour", [huge_headers(), garbage()], ids=["2MB-header", "not-http"])
async def test_broken_heads_are_transport_errors(mode, behaviour):
    with RawServer(behaviour) as server:
        started = time.monotonic()
        with pytest.raises(docstatus.TransportError) as info:
            await get(mode, REFS["artos"], config=config("artos", server.url, timeout=5))
        assert time.monotonic() - started < 5
    assert "no valid HTTP answer" in str(info.value)
    assert "400, message=" not in str(info.value)  # aiohttp words its parser's errors as a 400: not said
    secret_free(info.value)


@pytest.mark.parametrize("mode", MODES)
async def test_retry_after_is_clamped_to_one_day(mode):
    with RawServer(answer(429, b"{}", {"Retry-After": "1e9"})) as server, pytest.raises(docstatus.RateLimited) as info:
        await get(mode, REFS["artos"], config=config("artos", server.url))
    assert info.value.retry_after == 86400.0


# --- credentials


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", AUTHED)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_not_followed_so_the_credential_stays_home(provider, status, mode):
    """httpx strips only Authorization on a cross-origin redirect; Sarvam's api-subscription-key
    would follow. docstatus follows no redirect, even on a client that is set to."""
    with RawServer(answer(200, b"{}")) as elsewhere, RawServer(redirect(elsewhere.url + "/steal", status)) as home:
        cfg = config(provider, home.url)
        if mode == "sync":
            with httpx.Client(follow_redirects=True) as client, pytest.raises(docstatus.ProviderError) as info:
                docstatus.get_status(REFS[provider], config=cfg, client=client)
        elif mode == "async":
            async with httpx.AsyncClient(follow_redirects=True) as client:
                with pytest.raises(docstatus.ProviderError) as info:
                    await docstatus.get_status_async(REFS[provider], config=cfg, client=client)
        else:
            with pytest.raises(docstatus.ProviderError) as info:
                await get(mode, REFS[provider], config=cfg)
        assert elsewhere.requests == []
        assert len(home.requests) == 1
    assert info.value.status_code == status
    assert "/steal" in str(info.value)
    secret_free(info.value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [200, 401, 500])
async def test_a_body_and_headers_echoing_the_token_leak_nowhere(mode, status):
    with RawServer(echo_headers(status)) as server:
        with pytest.raises(docstatus.DocstatusError) as info:
            await get(mode, REFS["sarvam"], config=config("sarvam", server.url))
        assert server.requests[0].headers["api-subscription-key"] == TOKEN
    secret_free(info.value)
    assert b"***" in info.value.body


@pytest.mark.parametrize("mode", MODES)
async def test_a_status_echoing_the_token_is_scrubbed(mode):
    def failed_with_echo(conn: Conn) -> None:
        auth = conn.request.headers["authorization"]
        answer(200, body("artos", "Failed", task_id="document-uuid-456", error=f"bad key {auth}"))(conn)

    with RawServer(failed_with_echo) as server:
        status = await get(mode, REFS["artos"], config=config("artos", server.url))
    assert status.error is not None
    assert status.error.message == "bad key Bearer ***"
    assert TOKEN not in status.to_json()


@pytest.mark.parametrize("mode", MODES)
async def test_a_one_character_token_echoed_into_a_status_keeps_the_status_whole(mode):
    """Scrubbing replaces the token in text values only, never in the JSON's structure."""

    def failed_with_echo(conn: Conn) -> None:
        auth = conn.request.headers["authorization"]
        answer(200, body("artos", "Failed", task_id="document-uuid-456", progress=50, error=auth))(conn)

    with RawServer(failed_with_echo) as server:
        status = await get(mode, REFS["artos"], config=config("artos", server.url, token="t"))
    assert status.state is docstatus.State.FAILED
    assert status.error is not None
    assert status.error.message == "Bearer ***"


@pytest.mark.parametrize("mode", MODES)
async def test_a_token_read_from_a_file_loses_its_newline(mode):
    with RawServer(answer(200, body("artos", "Generating", task_id="document-uuid-456"))) as server:
        await get(mode, REFS["artos"], config=config("artos", server.url, token=f"  {TOKEN}\n"))
        assert server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("token", [f"{TOKEN}é", f"{TOKEN}\x00x", f"{TOKEN}\nx", f"{TOKEN}\u2028x", f"{TOKEN}\x7f"])
def test_tokens_that_cannot_be_a_header_are_refused_without_showing_them(token, monkeypatch):
    with pytest.raises(docstatus.ConfigurationError, match="DOCSTATUS_ARTOS_TOKEN") as info:
        ProviderConfig(provider="artos", base_url="https://api.artosai.com", token=token)
    secret_free(info.value)
    if "\x00" in token:
        return  # the environment cannot hold a NUL
    monkeypatch.setenv("DOCSTATUS_ARTOS_TOKEN", token)
    with pytest.raises(docstatus.ConfigurationError) as info:
        docstatus.get_status(REFS["artos"])
    secret_free(info.value)


def test_a_credential_in_the_base_url_is_refused_without_showing_it():
    with pytest.raises(docstatus.ConfigurationError, match="user name or password") as info:
        ProviderConfig(provider="artos", base_url=f"https://user:{TOKEN}@api.artosai.com")
    secret_free(info.value)


def test_plain_http_to_another_host_warns_once():
    with RawServer(answer(200, body("artos", "Generating", task_id="document-uuid-456"))) as server:
        port = server.url.rsplit(":", 1)[1]
        # 0.0.0.0 reaches this machine on Linux, but is not loopback to the warning's test.
        cfg = config("artos", f"http://0.0.0.0:{port}")
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            docstatus.get_status(REFS["artos"], config=cfg)
            docstatus.get_status(REFS["artos"], config=cfg)
        assert [w.category for w in record] == [docstatus.InsecureCredentialWarning]
        assert "plain http:// to 0.0.0.0" in str(record[0].message)
        assert TOKEN not in str(record[0].message)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            docstatus.get_status(REFS["artos"], config=config("artos", server.url))  # loopback: no warning


# --- refs


@pytest.mark.parametrize("mode", MODES)
async def test_a_70000_character_ref_is_an_invalid_job_ref(mode):
    with pytest.raises(docstatus.InvalidJobRef, match="at most 1024"):
        await get(mode, "artos:" + "a" * 70_000, config=config("artos", "http://127.0.0.1:9"))


# --- one poisoned job in a fleet


async def test_one_poisoned_job_does_not_stop_a_fleet():
    good = [f"artos:good-{i}" for i in range(200)]

    def route(conn: Conn) -> None:
        job = conn.request.path.rsplit("/", 1)[1]
        if job == "poison":
            answer(200, b"[" * 100_000)(conn)
        else:
            answer(200, body("artos", "Ready", task_id=job))(conn)

    with RawServer(route) as server:
        policy = WaitPolicy(timeout=3, initial_delay=0.2)
        updates = docstatus.watch_many(
            [*good, "artos:poison"], config=config("artos", server.url), policy=policy, host_rate=None
        )
        async with aclosing(updates) as stream:
            ended = {u.ref: u async for u in stream if u.done}
    assert set(ended) == {*good, "artos:poison"}
    assert all(ended[r].final is not None and ended[r].final.state == "succeeded" for r in good)
    poisoned = ended["artos:poison"]
    assert isinstance(poisoned.error, docstatus.WaitTimeout)
    assert isinstance(poisoned.error.__cause__, docstatus.MalformedResponse)
