"""``fetch_status`` maps a 200 body with the provider's fast mapping (``parse``'s) and builds the
generated model only when asked; any other answer, or a body the fast mapping declines, goes
through the generated ``_build_response``. Both must give the same outcome: the same status
(``==``, ``to_json()``), the same model, the same error and message. Checked here against a real
HTTP server on 127.0.0.1 serving spec-generated bodies, one field replaced by any JSON, and
arbitrary JSON; the reference is the same request with the fast mapping switched off. No timing
here: speed is ``nox -s bench``."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import docstatus
import pytest
from conftest import Canned, CannedServer
from docstatus._http import _status as http_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from test_fetch import ALL, REFS, TOKEN, config
from test_parse_properties import FORMATS, JSON, json_schema

FEW = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(autouse=True)
def _quiet_unknown_state_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="docstatus")


def _outcome(provider: str, server: CannedServer) -> tuple[str, Any]:
    try:
        result = docstatus.fetch_status(REFS[provider], config=config(provider, server.base_url))
    except docstatus.DocstatusError as exc:
        return ("error", (type(exc), str(exc), getattr(exc, "body", None)))
    status = result.status
    model = status.model
    return ("status", (status, status.to_json(), type(model), model.to_dict(), result.retry_after))


def assert_same(provider: str, server: CannedServer, body: bytes, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Same outcome on both paths; True when the fast path gave it."""
    server.reply(Canned(200, body))
    taken: list[bool] = []
    real = http_status.Plan._fast

    def spy(self: Any, response: Any) -> Any:
        result = real(self, response)
        taken.append(result is not None)
        return result

    with monkeypatch.context() as patched:
        patched.setattr(http_status.Plan, "_fast", spy)
        fast = _outcome(provider, server)
    with monkeypatch.context() as patched:
        patched.setattr(http_status.Plan, "_fast", lambda self, response: None)  # noqa: ARG005
        reference = _outcome(provider, server)
    assert fast == reference
    return taken == [True]


@pytest.mark.parametrize("provider", ALL)
def test_spec_bodies_and_one_field_replaced_fetch_the_same_on_both_paths(
    provider: str, canned_server: CannedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: set[bool] = set()

    @FEW
    @given(from_schema(json_schema(provider, open_state=True), custom_formats=FORMATS), st.data())
    def prop(body: dict[str, Any], data: st.DataObject) -> None:
        seen.add(assert_same(provider, canned_server, json.dumps(body).encode(), monkeypatch))
        mutated = copy.deepcopy(body)
        mutated[data.draw(st.sampled_from(sorted(mutated)))] = data.draw(JSON)
        seen.add(assert_same(provider, canned_server, json.dumps(mutated).encode(), monkeypatch))

    prop()
    assert seen == {True, False}  # the fast path gave some outcomes and declined others


@pytest.mark.parametrize("provider", ALL)
def test_arbitrary_json_fetches_the_same_on_both_paths(
    provider: str, canned_server: CannedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    @FEW
    @given(JSON)
    def prop(value: Any) -> None:
        assert_same(provider, canned_server, json.dumps(value).encode(), monkeypatch)

    prop()


def test_a_status_echoing_the_token_is_scrubbed_on_the_fast_path_too(canned_server: CannedServer) -> None:
    from _status_checks import body  # noqa: PLC0415

    canned_server.reply(Canned(200, body("artos", "Failed", error=f"bad token {TOKEN}")))
    result = docstatus.fetch_status(REFS["artos"], config=config("artos", canned_server.base_url))
    assert TOKEN not in result.status.to_json()
    assert result.status.error is not None
    assert "***" in result.status.error.message
