"""Property tests: bodies generated from each spec's 200 schema always parse, and the result
satisfies the contract; arbitrary JSON either parses or raises MalformedResponse, nothing else.

The properties over JSON also hold ``parse``'s fast path to the model path
(``same_on_both_paths``, the promise of tests/test_perf_parse_fast_path.py): generating the
bodies is most of this suite's CPU time, so each generated body is checked by both oracles
instead of being generated twice."""

from __future__ import annotations

import copy
import json
import logging
import uuid
from typing import Any

import docstatus
import pytest
from _status_checks import DOCUMENTED, JOB_ID, STATE_FIELD, check, spec, status_schema_ref
from docstatus import PROVIDERS
from docstatus._parse import parser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

ALL = sorted(PROVIDERS)
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FORMATS = {"uuid": st.uuids().map(str)}
#: Providers whose id field is a free string (may be blank in a spec-valid body).
ID_FIELD = {
    "artos": "task_id",
    "neurolinker": "document_id",
    "sarvam": "job_id",
    "sarvam_docai": "job_id",
}  # sarvam: e386626
_OPENAPI_ONLY = ("example", "examples", "xml", "externalDocs", "discriminator", "readOnly", "writeOnly")


def json_schema(provider: str, *, open_state: bool = False) -> dict[str, Any]:
    """The 200 schema of ``provider``'s spec as a self-contained JSON Schema: ``$ref``s inlined,
    OpenAPI 3.0 ``nullable`` turned into a ``null`` type, OpenAPI-only keywords dropped. With
    ``open_state``, the state field takes any string (to reach unknown states)."""
    components = spec(provider)["components"]["schemas"]

    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = convert(components[node["$ref"].rsplit("/", 1)[1]])
            extra = {k: convert(v) for k, v in node.items() if k != "$ref" and k not in _OPENAPI_ONLY}
            return {**target, **extra}
        out = {k: convert(v) for k, v in node.items() if k not in _OPENAPI_ONLY and k != "nullable"}
        if node.get("nullable") is True:
            if "type" in out:
                types = out["type"] if isinstance(out["type"], list) else [out["type"]]
                out["type"] = [*types, "null"]
            else:
                out = {"anyOf": [out, {"type": "null"}]}
        if "properties" in node and not isinstance(node["properties"], dict):
            raise AssertionError(node)
        return out

    schema = convert(status_schema_ref(provider))  # the bare body (an envelope some specs allow is not generated)
    if open_state:
        schema["properties"][STATE_FIELD[provider]] = {"type": "string"}
    return schema


def test_schema_conversion_handles_nullable_and_refs():
    artos = json_schema("artos")
    assert artos["properties"]["progress"]["type"] == ["integer", "null"]
    assert artos["properties"]["status"]["enum"] == ["Pending", "Ingesting", "Generating", "Ready", "Failed"]
    sarvam = json_schema("sarvam")
    detail = sarvam["properties"]["job_details"]["items"]
    assert detail["properties"]["page_errors"]["items"]["required"] == [
        "page_number",
        "error_code",
        "error_message",
    ]
    assert "$ref" not in json.dumps(sarvam)
    assert "nullable" not in json.dumps(json_schema("markdown2pdf"))


def _parse(provider: str, raw: Any) -> docstatus.JobStatus:
    return docstatus.parse(provider, raw, job_id=JOB_ID.get(provider))


def _outcome_on_one_path(provider: str, body: Any, job_id: str | None) -> tuple[str, Any]:
    try:
        status = docstatus.parse(provider, body, job_id=job_id)
    except docstatus.DocstatusError as exc:
        return ("error", (type(exc), str(exc)))
    model = status.model
    return ("status", (status, status.to_json(), type(model), model.to_dict()))


def same_on_both_paths(provider: str, raw: bytes, job_id: str | None) -> None:
    """``parse``'s fast path (the bytes: the mapping read from the decoded JSON, the model built on
    first access) gives exactly what the model path (the decoded dict, through the generated
    model's ``from_dict``) gives: the same status (``==``, ``to_json()``), model, or error."""
    fast = _outcome_on_one_path(provider, raw, job_id)
    try:
        decoded = json.loads(raw)
    except ValueError:
        return
    if not isinstance(decoded, dict):
        return  # only an object has a model path to compare with
    reference = _outcome_on_one_path(provider, decoded, job_id)
    assert fast == reference
    assert _outcome_of_parser(provider, raw, job_id) == fast  # docstatus normalize's per-line parse


def _outcome_of_parser(provider: str, body: Any, job_id: str | None) -> tuple[str, Any]:
    try:
        status = parser(provider, job_id)(body)
    except docstatus.DocstatusError as exc:
        return ("error", (type(exc), str(exc)))
    model = status.model
    return ("status", (status, status.to_json(), type(model), model.to_dict()))


# --- oracles written independently of the code under test

_SPEC_VALIDATORS: dict[str, Draft202012Validator] = {}


def spec_violations(provider: str, value: Any) -> list[str]:
    """Why ``value`` is not a body the provider's spec allows (any state string allowed: an
    undocumented state is ``unknown``, not malformed), checked with jsonschema; [] when it is."""
    if provider not in _SPEC_VALIDATORS:
        _SPEC_VALIDATORS[provider] = Draft202012Validator(
            json_schema(provider, open_state=True), format_checker=Draft202012Validator.FORMAT_CHECKER
        )
    return [e.message for e in _SPEC_VALIDATORS[provider].iter_errors(value)]


def blank_id(provider: str, value: Any) -> bool:
    """A spec-valid body whose free-string id is blank: documented MalformedResponse ("is empty")."""
    field = ID_FIELD.get(provider)
    return (
        field is not None and isinstance(value, dict) and isinstance(value.get(field), str) and not value[field].strip()
    )


def _fold(text: str) -> str:
    return "".join(text.split()).casefold()


def expected_state(provider: str, raw: str) -> docstatus.State:
    """The documented state of ``raw`` (DOCUMENTED, cited in _status_checks.py), matched without
    regard to case and whitespace, else ``unknown``."""
    for documented, state in DOCUMENTED[provider].items():
        if _fold(documented) == _fold(raw):
            return state
    return docstatus.State.UNKNOWN


def assert_malformed_is_honest(provider: str, exc: docstatus.MalformedResponse, value: Any, raw: bytes) -> None:
    """A MalformedResponse is raised only for a body the spec does not allow, and describes it."""
    assert exc.provider == provider
    assert exc.status_code is None
    assert exc.body == raw[:2048]
    message = str(exc)
    assert message.strip()
    assert "\n" not in message
    assert len(message) < 1000
    assert provider in message
    if value is _NOT_JSON:
        return
    assert spec_violations(provider, value) or blank_id(provider, value), (
        f"MalformedResponse ({message}) for a body the {provider} spec allows: {value!r}"
    )


def assert_status_is_honest(provider: str, status: docstatus.JobStatus, value: Any) -> None:
    """A parsed status satisfies the contract and says what the body said."""
    check(status)
    assert status.provider == provider
    assert isinstance(value, dict)
    raw_state = value[STATE_FIELD[provider]]
    assert status.provider_state == raw_state
    assert status.state is expected_state(provider, raw_state)
    if provider == "aitronos":
        assert status.job_id == JOB_ID["aitronos"]
    elif provider == "sarvam":  # a plain string in the spec since e386626; a UUID comes back canonical
        body_id = value["job_id"]
        try:
            canonical = str(uuid.UUID(body_id))
        except ValueError:
            canonical = body_id
        assert status.job_id in (canonical, body_id)
    elif provider in ID_FIELD:
        assert status.job_id == value[ID_FIELD[provider]]
    else:
        body_id = value["id"]
        assert uuid.UUID(status.job_id) == uuid.UUID(body_id)
        assert status.job_id == str(uuid.UUID(body_id))  # canonical form


_NOT_JSON = object()


def outcome_of(provider: str, raw: bytes) -> None:
    """Parse ``raw`` and hold whichever outcome to its oracle; any other exception fails."""
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = _NOT_JSON
    try:
        status = _parse(provider, raw)
    except docstatus.MalformedResponse as exc:
        assert_malformed_is_honest(provider, exc, value, raw)
        return
    assert value is not _NOT_JSON, "bytes that are not JSON parsed into a status"
    assert_status_is_honest(provider, status, value)


@pytest.fixture(autouse=True)
def _quiet_unknown_state_warnings(caplog):
    caplog.set_level(logging.ERROR, logger="docstatus")


@pytest.mark.parametrize("provider", ALL)
@pytest.mark.parametrize("open_state", [False, True], ids=["documented-states", "any-state"])
def test_generated_bodies_always_parse_into_valid_statuses(provider, open_state):
    @SETTINGS
    @given(from_schema(json_schema(provider, open_state=open_state), custom_formats=FORMATS))
    def prop(body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        same_on_both_paths(provider, raw, JOB_ID.get(provider))
        same_on_both_paths(provider, raw, "job-1")
        if provider in ID_FIELD and not str(body.get(ID_FIELD[provider], "x")).strip():
            # A blank id: the status could not say which job it is (documented MalformedResponse)
            # unless the caller names the job.
            with pytest.raises(docstatus.MalformedResponse, match="is empty"):
                _parse(provider, raw)
            status = check(docstatus.parse(provider, raw, job_id="job-1"))
            assert status.job_id == "job-1"
            return
        assert not spec_violations(provider, body)  # the oracle agrees the generated body is valid
        status = _parse(provider, raw)
        assert_status_is_honest(provider, status, body)
        if not open_state:
            assert status.state is not docstatus.State.UNKNOWN
        assert check(_parse(provider, body)) == status  # the dict path agrees with the bytes path

    prop()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@pytest.mark.parametrize("provider", ALL)
def test_arbitrary_json_parses_or_is_malformed(provider):
    @SETTINGS
    @given(JSON)
    def prop(value: Any) -> None:
        raw = json.dumps(value).encode()
        outcome_of(provider, raw)
        same_on_both_paths(provider, raw, JOB_ID.get(provider))

    prop()


@pytest.mark.parametrize("provider", ALL)
def test_one_field_replaced_by_arbitrary_json_parses_or_is_malformed(provider):
    @SETTINGS
    @given(from_schema(json_schema(provider), custom_formats=FORMATS), st.data())
    def prop(body: dict[str, Any], data: st.DataObject) -> None:
        mutated = copy.deepcopy(body)
        key = data.draw(st.sampled_from(sorted(mutated)))
        mutated[key] = data.draw(JSON)
        raw = json.dumps(mutated).encode()
        outcome_of(provider, raw)
        same_on_both_paths(provider, raw, JOB_ID.get(provider))

    prop()


@pytest.mark.parametrize("provider", ALL)
def test_arbitrary_bytes_parse_or_are_malformed(provider):
    @SETTINGS
    @given(st.binary(max_size=64))
    def prop(raw: bytes) -> None:
        outcome_of(provider, raw)

    prop()
