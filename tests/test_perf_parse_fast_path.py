"""``parse``'s fast path (the mapping read from the decoded JSON, the model built on first access)
gives exactly what the model path gives: the same status (``==``, ``to_json()``), the same model,
the same error. The model path is ``parse`` of the decoded dict (a ``Mapping`` body goes through
the generated model's ``from_dict`` and ``normalize``). No timing here: speed is ``nox -s bench``."""

from __future__ import annotations

import copy
import json
import logging
import pickle
from typing import Any

import attrs
import docstatus
import pytest
from _status_checks import JOB_ID
from docstatus import PROVIDERS
from docstatus._status import ErrorInfo, JobStatus, Output, PageError, Pages, new_output, new_pages, new_status
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from test_parse_properties import FORMATS, JSON, SETTINGS, json_schema

ALL = sorted(PROVIDERS)


@pytest.fixture(autouse=True)
def _quiet_unknown_state_warnings(caplog):
    caplog.set_level(logging.ERROR, logger="docstatus")


def _outcome(provider: str, body: Any, job_id: str | None) -> tuple[str, Any]:
    try:
        status = docstatus.parse(provider, body, job_id=job_id)
    except docstatus.DocstatusError as exc:
        return ("error", (type(exc), str(exc)))
    model = status.model
    return ("status", (status, status.to_json(), type(model), model.to_dict()))


def assert_same(provider: str, raw: bytes, job_id: str | None) -> None:
    fast = _outcome(provider, raw, job_id)
    try:
        decoded = json.loads(raw)
    except ValueError:
        return
    if not isinstance(decoded, dict):
        return  # only an object has a model path to compare with
    reference = _outcome(provider, decoded, job_id)
    assert fast == reference


@pytest.mark.parametrize("provider", ALL)
@pytest.mark.parametrize("open_state", [False, True], ids=["documented-states", "any-state"])
def test_generated_bodies_map_the_same_on_both_paths(provider, open_state):
    @SETTINGS
    @given(from_schema(json_schema(provider, open_state=open_state), custom_formats=FORMATS))
    def prop(body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        assert_same(provider, raw, JOB_ID.get(provider))
        assert_same(provider, raw, "job-1")

    prop()


@pytest.mark.parametrize("provider", ALL)
def test_one_field_replaced_gives_the_same_outcome_on_both_paths(provider):
    @SETTINGS
    @given(from_schema(json_schema(provider), custom_formats=FORMATS), st.data())
    def prop(body: dict[str, Any], data: st.DataObject) -> None:
        mutated = copy.deepcopy(body)
        key = data.draw(st.sampled_from(sorted(mutated)))
        mutated[key] = data.draw(JSON)
        assert_same(provider, json.dumps(mutated).encode(), JOB_ID.get(provider))

    prop()


@pytest.mark.parametrize("provider", ALL)
def test_arbitrary_json_gives_the_same_outcome_on_both_paths(provider):
    @SETTINGS
    @given(JSON)
    def prop(value: Any) -> None:
        assert_same(provider, json.dumps(value).encode(), JOB_ID.get(provider))

    prop()


def test_the_model_is_built_once_on_first_access_and_the_status_stays_frozen_and_hashable():
    raw = b'{"task_id": "t-1", "status": "Generating", "progress": 40, "error": null}'
    status = docstatus.parse("artos", raw)
    assert status._model == raw  # kept as received, not yet a model
    other = docstatus.parse("artos", raw)
    assert status == other
    assert hash(status) == hash(other)
    model = status.model
    assert type(model).__name__ == "TaskStatusResponse"
    assert status.model is model  # built once
    assert status == other  # the model is never compared
    assert hash(status) == hash(other)
    assert "TaskStatusResponse" not in repr(status)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        status.state = docstatus.State.FAILED  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(other)).model.to_dict() == model.to_dict()  # noqa: S301  # our own bytes
    assert attrs.evolve(other, step="x").model.to_dict() == model.to_dict()


def test_bytearray_and_memoryview_bodies_are_copied_before_they_are_kept():
    raw = bytearray(b'{"task_id": "t-1", "status": "Ready"}')
    status = docstatus.parse("artos", raw)
    raw[:] = b"garbage"
    assert status.model.status.value == "Ready"


def test_the_fast_constructors_build_what_the_classes_build():
    kwargs: dict[str, Any] = {
        "provider": "sarvam",
        "job_id": "j",
        "state": docstatus.State.FAILED,
        "provider_state": "Failed",
        "progress": 0.5,
        "error": ErrorInfo(message="m"),
        "pages": Pages(total=3, errors=(PageError(page=1),)),
        "outputs": (Output(name="a"),),
    }
    assert new_status(**kwargs) == JobStatus(**kwargs)
    assert repr(new_status(**kwargs)) == repr(JobStatus(**kwargs))
    assert new_status(provider="artos", job_id="j", state="queued", provider_state="Pending") == JobStatus(
        provider="artos", job_id="j", state="queued", provider_state="Pending"
    )
    assert new_output(name="a") == Output(name="a")
    assert new_pages(total=1) == Pages(total=1)
