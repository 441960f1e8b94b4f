"""aitronos-sdk 5.0.0 (Aitronos's official SDK) against the simulator, unchanged:
``vector_store_files.get_processing_status`` (``/v1/organizations/{org}/vector-stores/{vs}/files/
{file}/status``, the ``{success, message, data}`` envelope), sync and async, with ``x-api-key``
alone (the SDK always sends it) and with a Bearer ``token=`` too, for every ready-made script.

The SDK has no waiting helper: the tests poll as its users do, on the simulator's clock.
Known SDK behaviour (asserted): every error but 422 is a bare ``ApiError`` (raw_client.py:
286-300), so an unknown file is ``ApiError(status_code=404)`` with the ``FILE_NOT_IN_STORE``
envelope as its body; ``status`` is a plain string, so a state the SDK does not document
(``archived``) comes back as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

pytest.importorskip("aitronos", reason="the sdks dependency group (pip install aitronos-sdk==5.0.0)")

from aitronos import Aitronos, AsyncAitronos
from aitronos.core.api_error import ApiError
from docstatus.simulator import SCRIPTS

if TYPE_CHECKING:
    from docstatus.simulator import Simulator

SCRIPT_NAMES = list(SCRIPTS["aitronos"])
TERMINAL = {"completed", "failed"}


@pytest.fixture
def sim(docstatus_sim: Simulator) -> Simulator:
    docstatus_sim.clock.freeze()
    return docstatus_sim


def parts(ref: str) -> tuple[str, str, str]:
    org, store, file = ref.split(":", 1)[1].split("/")
    return org, store, file


@pytest.mark.parametrize("with_token", [False, True], ids=["x-api-key", "x-api-key+bearer"])
@pytest.mark.parametrize("script", SCRIPT_NAMES)
def test_status_follows_every_phase(sim, script, with_token):
    token = sim.tokens["aitronos"]
    client = Aitronos(api_key=token, token=token if with_token else None, base_url=sim.base_url("aitronos"))
    ref = sim.create_job("aitronos", script, step=5)
    org, store, file = parts(ref)
    for phase in SCRIPTS["aitronos"][script].phases:
        answer = client.vector_store_files.get_processing_status(org, store, file)
        assert answer.success is True
        assert answer.data.status == phase.state
        assert (answer.data.file_id, answer.data.vector_store_id) == (file, store)
        assert answer.data.added_at is not None
        sim.clock.advance(5)
    assert answer.data.status == SCRIPTS["aitronos"][script].phases[-1].state
    if answer.data.status == "failed":
        assert answer.data.error_message
    if answer.data.status == "completed":
        assert answer.data.processing_completed_at is not None


@pytest.mark.parametrize("script", SCRIPT_NAMES)
def test_polling_until_the_end(sim, script):
    """What the SDK's users write (no helper): poll every 2 s until completed or failed."""
    client = Aitronos(api_key=sim.tokens["aitronos"], base_url=sim.base_url("aitronos"))
    org, store, file = parts(sim.create_job("aitronos", script))
    for _ in range(30):
        status = client.vector_store_files.get_processing_status(org, store, file).data.status
        if status in TERMINAL:
            break
        sim.clock.advance(2)
    last = SCRIPTS["aitronos"][script].phases[-1].state
    assert status == last  # 'archived' (unknown_state) never ends such a loop: it ran out of tries


@pytest.mark.anyio
@pytest.mark.parametrize("script", SCRIPT_NAMES)
async def test_async_status(sim, script):
    client = AsyncAitronos(api_key=sim.tokens["aitronos"], base_url=sim.base_url("aitronos"))
    org, store, file = parts(sim.create_job("aitronos", script))
    sim.clock.advance(600)
    answer = await client.vector_store_files.get_processing_status(org, store, file)
    assert answer.data.status == SCRIPTS["aitronos"][script].phases[-1].state


def test_errors_are_bare_api_errors(sim):
    token = sim.tokens["aitronos"]
    client = Aitronos(api_key=token, base_url=sim.base_url("aitronos"))
    with pytest.raises(ApiError) as raised:
        client.vector_store_files.get_processing_status("org_x", "vs_y", "file_nope")
    assert raised.value.status_code == 404
    assert raised.value.body["error"]["code"] == "FILE_NOT_IN_STORE"
    org, store, file = parts(sim.create_job("aitronos"))
    for wrong in (
        Aitronos(api_key="wrong", base_url=sim.base_url("aitronos")),
        Aitronos(api_key=token, token="wrong", base_url=sim.base_url("aitronos")),
    ):
        with pytest.raises(ApiError) as raised:
            wrong.vector_store_files.get_processing_status(org, store, file)
        assert raised.value.status_code == 401
        assert raised.value.body["error"]["code"] == "INVALID_ACCESS_TOKEN"
