"""Every path takes its proxy from the environment the same way: ``wait``/``get_status`` (httpx)
and ``watch_many``/the tracker (docstatus's own aiohttp session) alike.

The "proxy" is a raw server on 127.0.0.1 that answers the request itself, and the provider's
host (``artos.proxied.invalid``) does not resolve: a request reaches an answer only through the
proxy. ``watch_many`` ignored ``HTTP_PROXY`` (it went to the host directly and failed), while
``wait`` honoured it.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from typing import TYPE_CHECKING

import docstatus
import pytest
from _rawserver import RawServer, answer
from _status_checks import body

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

HOST = "artos.proxied.invalid"
REF = "artos:doc-through-proxy"
TOKEN = "tok-PROXIED-71c4"


def _config() -> docstatus.ProviderConfig:
    return docstatus.ProviderConfig(provider="artos", base_url=f"http://{HOST}", token=TOKEN, timeout=5.0)


def _watch(config: docstatus.ProviderConfig, timeout: float = 10) -> list[docstatus.JobUpdate]:
    async def run() -> list[docstatus.JobUpdate]:
        return [u async for u in docstatus.watch_many([REF], config=config, timeout=timeout)]

    return asyncio.run(run())


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[RawServer]:
    done = json.dumps(body("artos", "Ready", task_id="doc-through-proxy")).encode()
    with RawServer(answer(200, done, {"Content-Type": "application/json"})) as server:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("NO_PROXY", "")
        monkeypatch.setenv("no_proxy", "")
        monkeypatch.setenv("HTTP_PROXY", server.url)
        yield server


@pytest.mark.filterwarnings("ignore::docstatus.InsecureCredentialWarning")
def test_wait_watch_many_and_the_tracker_all_go_through_the_environments_proxy(
    proxy: RawServer, tmp_path: Path
) -> None:
    config = _config()
    status = docstatus.wait(REF, config=config, timeout=10)
    assert status.state is docstatus.State.SUCCEEDED
    (update,) = _watch(config)
    assert update.done
    assert update.error is None, update.error
    assert update.status is not None
    assert update.status.state is docstatus.State.SUCCEEDED
    with docstatus.Tracker(tmp_path / "t.db", config=config) as tracker:
        tracker.add(REF)
        (done,) = tracker.run()
        assert done.state == "succeeded"
    # Each went to the proxy in proxy form (the absolute URL), naming the provider's host.
    assert len(proxy.requests) == 3
    for request in proxy.requests:
        assert request.path == f"http://{HOST}/api/v1/documents/status/doc-through-proxy"
        assert request.headers["host"] == HOST


@pytest.mark.filterwarnings("ignore::docstatus.InsecureCredentialWarning")
def test_no_proxy_sends_both_paths_to_the_host_directly(proxy: RawServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", f"{HOST},example.org")
    monkeypatch.setenv("no_proxy", f"{HOST},example.org")
    config = _config()
    with pytest.raises(docstatus.TransportError):
        docstatus.get_status(REF, config=config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (update,) = _watch(config, timeout=1.5)
    assert isinstance(update.error, (docstatus.TransportError, docstatus.WaitTimeout)), update.error
    assert proxy.requests == []
