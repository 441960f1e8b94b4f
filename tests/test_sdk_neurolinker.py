"""neurolinker-sdk 0.2.2 (Neurolinker's official SDK) against the simulator, unchanged:
``extraction.status.document`` and ``extraction.status.request``, and its only waiting helper,
``extraction.wait_for_request`` (polling ``/v1/request-status/{id}``), sync and async, for every
ready-made Neurolinker script.

``neurolinker_sdk.polling`` sleeps with ``time.sleep``/``asyncio.sleep`` and keeps its deadline
with ``time.time``: both are replaced by the simulator's frozen clock (the SDK's module
attributes only), so the suite never sleeps.

Known SDK bugs (asserted):

- ``DEFAULT_TERMINAL_STATES`` is ``{"completed", "failed", "pending"}`` (polling.py:9):
  ``wait_for_request`` returns at once while the request is still ``pending``, for every script.
  With the terminal set docstatus uses (``completed``, ``failed``), the same polling loop reaches
  each script's end, shown below with the SDK's own ``wait_for_terminal_status``.
- A 404 is tolerated for the whole wait (polling.py:49, no grace window): an unknown request
  ends in ``TimeoutError`` after ``timeout_s`` (600 s by default), never in a not-found error.
- A state outside that set (the ``unknown_state`` script's ``cancelled``) is polled until the
  timeout.
"""

from __future__ import annotations

import asyncio
import types
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("neurolinker_sdk", reason="the sdks dependency group (pip install neurolinker-sdk==0.2.2)")

from docstatus.simulator import SCRIPTS
from neurolinker_sdk import AsyncNeuroLinker, NeuroLinker, polling
from neurolinker_sdk.errors import NeuroLinkerAPIError
from neurolinker_sdk.extraction.helpers import extract_status

if TYPE_CHECKING:
    from docstatus.simulator import Simulator

SCRIPT_NAMES = list(SCRIPTS["neurolinker"])
#: script -> the state its last phase serves
LAST = {name: SCRIPTS["neurolinker"][name].phases[-1].state for name in SCRIPT_NAMES}


@pytest.fixture
def sim(docstatus_sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Simulator:
    """The session's simulator, frozen; the SDK's polling module sleeps on its clock."""
    docstatus_sim.clock.freeze()
    clock = docstatus_sim.clock
    real_sleep = asyncio.sleep

    async def async_sleep(seconds: float) -> None:
        clock.advance(seconds)
        await real_sleep(0)

    fake_time = types.SimpleNamespace(time=clock.now, sleep=clock.advance)
    monkeypatch.setattr(polling, "time", fake_time)
    monkeypatch.setattr(polling, "asyncio", types.SimpleNamespace(sleep=async_sleep))
    return docstatus_sim


def sdk(sim: Simulator, token: str | None = None, **kwargs: Any) -> NeuroLinker:
    return NeuroLinker(token=token or sim.tokens["neurolinker"], base_url=sim.base_url("neurolinker"), **kwargs)


def ids(sdk_client: NeuroLinker, sim: Simulator, ref: str) -> tuple[str, str]:
    """(document id, request id) of a simulated job (the request id from its status body)."""
    document_id = ref.split(":", 1)[1]
    return document_id, sdk_client.extraction.status.document(document_id)["request_id"]


@pytest.mark.parametrize("script", SCRIPT_NAMES)
def test_document_and_request_status_follow_every_phase(sim, script):
    phases = SCRIPTS["neurolinker"][script].phases
    client = sdk(sim)
    ref = sim.create_job("neurolinker", script, step=5)
    document_id, request_id = ids(client, sim, ref)
    for phase in phases:
        document = client.extraction.status.document(document_id)
        request = client.extraction.status.request(request_id)
        assert document["status"] == phase.state
        assert request["success"] is True
        assert request["data"]["status"] == phase.state  # the {data: {...}} envelope
        assert extract_status(request) == phase.state  # read by the SDK's own helper
        assert client.extraction.extract_document_ids(request) == [document_id]
        sim.clock.advance(5)


@pytest.mark.parametrize("script", SCRIPT_NAMES)
def test_wait_for_request_returns_at_pending_the_sdk_bug(sim, script):
    client = sdk(sim)
    document_id, request_id = ids(client, sim, sim.create_job("neurolinker", script))
    result = client.extraction.wait_for_request(request_id)
    assert extract_status(result) == "pending"  # not the end: 'pending' is in the SDK's terminal set
    assert sim.state_of(f"neurolinker:{document_id}") == "pending"


@pytest.mark.parametrize("script", SCRIPT_NAMES)
def test_the_sdk_polling_loop_with_the_right_terminal_set_reaches_the_end(sim, script):
    client = sdk(sim)
    _, request_id = ids(client, sim, sim.create_job("neurolinker", script))

    def wait() -> dict[str, Any]:
        return polling.wait_for_terminal_status(
            fetch_status=lambda: client.extraction.status.request(request_id),
            extract_status=extract_status,
            timeout_s=600,
            poll_interval_s=2.0,
            poll_max_interval_s=10.0,
            terminal_states=frozenset({"completed", "failed"}),
        )

    if LAST[script] in ("completed", "failed"):
        assert extract_status(wait()) == LAST[script]
    else:  # 'cancelled': not terminal for the SDK, polled until the deadline
        with pytest.raises(TimeoutError, match="after 600"):
            wait()


def test_an_unknown_request_is_polled_until_the_timeout(sim):
    client = sdk(sim)
    started = sim.clock.now()
    with pytest.raises(TimeoutError, match="request no-such-request after 600"):
        client.extraction.wait_for_request("no-such-request")
    assert sim.clock.now() - started >= 600
    assert {r.status for r in sim.requests} == {404}
    with pytest.raises(NeuroLinkerAPIError) as raised:
        client.extraction.status.request("no-such-request")
    assert raised.value.status_code == 404


def test_unknown_document_and_wrong_token(sim):
    client = sdk(sim)
    with pytest.raises(NeuroLinkerAPIError) as raised:
        client.extraction.status.document("no-such-document")
    assert raised.value.status_code == 404
    ref = sim.create_job("neurolinker")
    with pytest.raises(NeuroLinkerAPIError) as raised:
        sdk(sim, token="nl_wrong").extraction.status.document(ref.split(":", 1)[1])
    assert raised.value.status_code == 401


@pytest.mark.anyio
@pytest.mark.parametrize("script", SCRIPT_NAMES)
async def test_async_status_and_waiting(sim, script):
    client = AsyncNeuroLinker(token=sim.tokens["neurolinker"], base_url=sim.base_url("neurolinker"))
    document_id = sim.create_job("neurolinker", script).split(":", 1)[1]
    request_id = (await client.extraction.status.document(document_id))["request_id"]
    assert extract_status(await client.extraction.wait_for_request(request_id)) == "pending"  # the SDK bug
    waited = polling.wait_for_terminal_status_async(
        fetch_status=lambda: client.extraction.status.request(request_id),
        extract_status=extract_status,
        timeout_s=600,
        poll_interval_s=2.0,
        poll_max_interval_s=10.0,
        terminal_states=frozenset({"completed", "failed"}),
    )
    if LAST[script] in ("completed", "failed"):
        assert extract_status(await waited) == LAST[script]
        assert (await client.extraction.status.document(document_id))["status"] == LAST[script]
    else:
        with pytest.raises(TimeoutError):
            await waited
