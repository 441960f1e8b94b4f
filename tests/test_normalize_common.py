"""Rules shared by every provider: status tables, matching, unknown states, malformed bodies,
job ids, and the helpers of docstatus._common."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

import docstatus
import pytest
from _status_checks import (
    DOCUMENTED,
    JOB_ID,
    SARVAM_ID,
    STATE_FIELD,
    TERMINAL_STATES,
    body,
    check,
    documented_states,
    parse,
)
from docstatus import PROVIDERS, State
from docstatus import _common as common
from docstatus._registry import mapper

ALL = sorted(PROVIDERS)


@pytest.fixture(autouse=True)
def _fresh_warnings():
    common.reset_warnings()
    yield
    common.reset_warnings()


# --- status tables


# Expected states come from DOCUMENTED (_status_checks.py): each row written out by hand with
# the documentation text it rests on, never from the tables under test.

DOCUMENTED_ROWS = [(p, raw, state) for p in ALL for raw, state in DOCUMENTED[p].items()]


def test_documented_rows_cover_every_provider():
    assert sorted(DOCUMENTED) == ALL
    assert len(DOCUMENTED_ROWS) == 31  # 5 artos, 6 sarvam, 7 sarvam_docai, 4 neurolinker, 5 aitronos, 4 markdown2pdf


@pytest.mark.parametrize("provider", ALL)
def test_table_is_frozen_and_covers_exactly_the_documented_values(provider):
    table = mapper(provider).STATES
    assert isinstance(table, MappingProxyType)
    with pytest.raises(TypeError):
        table["new"] = State.RUNNING  # type: ignore[index]
    assert sorted(table) == sorted(documented_states(provider))  # the spec's enum
    assert sorted(table) == sorted(DOCUMENTED[provider])  # the page's list


@pytest.mark.parametrize("provider", ALL)
def test_table_is_the_documented_mapping(provider):
    assert dict(mapper(provider).STATES) == DOCUMENTED[provider]


@pytest.mark.parametrize(("provider", "raw", "state"), DOCUMENTED_ROWS)
def test_every_documented_state_maps_through_parse(provider, raw, state):
    status = parse(provider, body(provider, raw))
    assert status.state is state
    assert status.provider_state == raw
    assert status.provider == provider
    assert status.terminal is (state.value in TERMINAL_STATES)


@pytest.mark.parametrize(("provider", "raw", "state"), DOCUMENTED_ROWS)
def test_case_and_space_variants_match(provider, raw, state, caplog):
    expected = state
    variants = {raw.upper(), raw.lower(), f" {raw} ", f"{raw}\n", raw.swapcase()}
    if " " in raw:
        variants |= {raw.replace(" ", ""), raw.replace(" ", "  ")}
    with caplog.at_level(logging.WARNING, logger="docstatus"):
        for variant in sorted(variants):
            status = parse(provider, body(provider, variant))
            assert status.state is expected, variant
            assert status.provider_state == variant  # the raw value, exactly as sent
    assert not caplog.records


def test_folded_tables_refuse_colliding_keys():
    with pytest.raises(ValueError, match="differ only in case"):
        common.folded_table({"Done": State.SUCCEEDED, "DONE ": State.FAILED})


# --- unknown states


@pytest.mark.parametrize("provider", ALL)
@pytest.mark.parametrize("raw", ["Archived", "", "   ", "runn1ng", "Completed!", "Processing…"])
def test_unknown_state_is_unknown_with_raw_value_kept(provider, raw, caplog):
    with caplog.at_level(logging.WARNING, logger="docstatus"):
        status = parse(provider, body(provider, raw))
    assert status.state is State.UNKNOWN
    assert status.provider_state == raw
    assert not status.terminal
    assert status.progress is None or status.progress < 1.0 or provider == "markdown2pdf"
    (record,) = caplog.records
    assert record.name == "docstatus"
    assert record.levelno == logging.WARNING
    assert provider in record.getMessage()
    assert repr(raw) in record.getMessage()


def test_unknown_state_warns_once_per_provider_and_value(caplog):
    with caplog.at_level(logging.WARNING, logger="docstatus"):
        for _ in range(3):
            parse("artos", body("artos", "Archived"))
            parse("neurolinker", body("neurolinker", "Archived"))
            parse("artos", body("artos", "Queued"))
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert sum("'Archived'" in m and m.startswith("artos") for m in messages) == 1
    assert sum("'Archived'" in m and m.startswith("neurolinker") for m in messages) == 1
    assert sum("'Queued'" in m for m in messages) == 1


def test_unknown_state_never_guesses_running():
    status = parse("aitronos", body("aitronos", "embedding", progress_percent=40))
    assert status.state is State.UNKNOWN
    assert status.progress == 0.4  # what the provider said, kept


# --- malformed bodies


@pytest.mark.parametrize("provider", ALL)
@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"[]", "got an array"),
        (b'"Ready"', "got a string"),
        (b"42", "got a number"),
        (b"null", "got null"),
        (b"{}", "missing"),
    ],
)
def test_malformed_bodies_raise_malformed_response(provider, raw, fragment):
    with pytest.raises(docstatus.MalformedResponse, match=fragment) as info:
        docstatus.parse(provider, raw, job_id=JOB_ID.get(provider))
    err = info.value
    assert err.provider == provider
    assert err.body == raw[:2048]
    assert err.status_code is None
    assert "\n" not in str(err)
    assert isinstance(err, docstatus.ProviderError)
    assert not isinstance(err.__cause__, docstatus.DocstatusError)


@pytest.mark.parametrize(
    ("provider", "fields"),
    [
        ("artos", {"task_id": 5}),
        ("artos", {"status": 3}),
        ("artos", {"progress": "50"}),
        ("artos", {"progress": True}),
        ("artos", {"error": ["x"]}),
        ("sarvam", {"job_id": 5}),  # a string in the spec (no longer format: uuid, e386626)
        ("sarvam", {"created_at": "yesterday"}),
        ("sarvam", {"storage_container_type": 7}),
        ("sarvam", {"job_details": {"a": 1}}),
        ("sarvam", {"job_details": [{"state": "Running"}]}),
        ("sarvam", {"job_details": [{"inputs": [], "outputs": [], "state": "Running", "total_pages": "9"}]}),
        ("sarvam_docai", {"job_id": 5}),  # string (specs/sarvam_docai NOTES row 4)
        ("sarvam_docai", {"status": 3}),
        ("sarvam_docai", {"usage": [1]}),  # an object (row 9)
        ("sarvam_docai", {"usage": {"pages_total": "9"}}),  # integer or null (row 9)
        ("sarvam_docai", {"created_at": 1700000000}),  # a string (row 10)
        ("sarvam_docai", {"pipeline": 2}),  # a string (row 8)
        ("neurolinker", {"results": ["a"]}),
        ("neurolinker", {"results": {"cropped_images": "a.png"}}),
        ("neurolinker", {"total_pages": 2.5}),
        ("neurolinker", {"started_at": "soon"}),
        ("neurolinker", {"started_at": 1700000000}),
        ("aitronos", {"progress_percent": "fifty"}),
        ("aitronos", {"current_step": {"name": "x"}}),
        ("markdown2pdf", {"id": 12}),
        ("markdown2pdf", {"progress": "0.5"}),
        ("markdown2pdf", {"path": 3}),
    ],
)
def test_mistyped_fields_raise_malformed_response(provider, fields):
    state = next(iter(DOCUMENTED[provider]))
    raw = json.dumps(body(provider, state, **fields)).encode()
    with pytest.raises(docstatus.MalformedResponse, match="malformed") as info:
        docstatus.parse(provider, raw, job_id=JOB_ID.get(provider))
    assert info.value.body == raw


def test_malformed_body_is_truncated():
    raw = b'{"task_id": "x", "status": ' + b"9" * 5000 + b", }"
    with pytest.raises(docstatus.MalformedResponse) as info:
        docstatus.parse("artos", raw)
    assert info.value.body == raw[:2048]
    assert len(str(info.value)) < 600


def test_malformed_dict_body_is_kept_as_json():
    with pytest.raises(docstatus.MalformedResponse, match="'task_id' is missing") as info:
        docstatus.parse("artos", {"status": "Ready"})
    assert json.loads(info.value.body or b"") == {"status": "Ready"}


# --- inputs and ids


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview, str, dict])
def test_parse_accepts_bytes_str_and_dict(kind):
    data = {"task_id": "doc-1", "status": "Ready"}
    raw = json.dumps(data)
    arg = {bytes: raw.encode(), bytearray: bytearray(raw.encode()), memoryview: memoryview(raw.encode())}.get(
        kind, data if kind is dict else raw
    )
    status = parse("artos", arg)
    assert status.state is State.SUCCEEDED
    assert status.job_id == "doc-1"


def test_parse_does_not_mutate_a_dict_body():
    data = body("artos", "Ready")
    data.pop("task_id")
    before = dict(data)
    parse("artos", data, job_id="given-id")
    assert data == before


def test_unknown_provider_is_a_configuration_error():
    with pytest.raises(docstatus.ConfigurationError, match="unknown provider 'textract'"):
        docstatus.parse("textract", b"{}")


def test_aitronos_needs_a_job_id():
    with pytest.raises(docstatus.InvalidJobRef, match="job_id='<org_id>/<store_id>/<file_id>'"):
        docstatus.parse("aitronos", b'{"status": "completed"}')


@pytest.mark.parametrize("bad", ["", "org/store", "org/store/file/extra", "org store/s/f", "a//b"])
def test_aitronos_job_id_must_have_three_parts(bad):
    with pytest.raises(docstatus.InvalidJobRef):
        docstatus.parse("aitronos", b'{"status": "completed"}', job_id=bad)


def test_sarvam_body_id_is_kept_over_a_given_one():
    # the body always carries Sarvam's job_id (required in the spec); a given job_id does not replace it
    assert parse("sarvam", body("sarvam", "Running"), job_id="job-1").job_id == SARVAM_ID


@pytest.mark.parametrize(
    ("provider", "id_field", "given"),
    [
        ("artos", "task_id", "doc-9"),
        ("neurolinker", "document_id", "doc-9"),
        ("sarvam", "job_id", str(uuid.UUID(int=9))),
        ("sarvam_docai", "job_id", "job-9"),
        ("markdown2pdf", "id", str(uuid.UUID(int=9))),
    ],
)
def test_job_id_fills_in_a_missing_or_empty_body_id(provider, id_field, given):
    state = next(iter(DOCUMENTED[provider]))
    missing = body(provider, state)
    missing.pop(id_field)
    assert parse(provider, missing, job_id=given).job_id == given
    if provider in ("artos", "neurolinker", "sarvam_docai"):
        assert parse(provider, {**missing, id_field: ""}, job_id=given).job_id == given
        with pytest.raises(docstatus.MalformedResponse, match=f"{id_field} is empty"):
            docstatus.parse(provider, {**missing, id_field: "  "})
    with pytest.raises(docstatus.MalformedResponse, match=f"'{id_field}' is missing"):
        docstatus.parse(provider, missing)


def test_body_id_wins_over_the_given_one():
    assert parse("artos", body("artos", "Ready"), job_id="other").job_id == "document-uuid-456"


@pytest.mark.parametrize("provider", ALL)
def test_extra_fields_are_ignored_and_kept_on_the_model(provider):
    state = next(iter(DOCUMENTED[provider]))
    status = parse(provider, body(provider, state, brand_new_field={"x": [1, 2]}))
    assert status.model.additional_properties["brand_new_field"] == {"x": [1, 2]}


@pytest.mark.parametrize("provider", ALL)
def test_model_is_the_generated_model(provider):
    state = next(iter(DOCUMENTED[provider]))
    status = parse(provider, body(provider, state))
    assert type(status.model) is mapper(provider).MODEL
    assert type(status.model).__module__.startswith(f"docstatus_{provider}_client.models.")
    assert getattr(status.model, STATE_FIELD[provider]).value == state


# --- helpers of docstatus._common


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (0, 0.0),
        (50, 0.5),
        (100, 1.0),
        (-5, 0.0),
        (250, 1.0),
        (33.3, 0.333),
        (float("nan"), None),
    ],
)
def test_from_percent(value, expected):
    result = common.from_percent(value, "p")
    assert result == pytest.approx(expected) if expected is not None else result is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), (0, 0.0), (0.25, 0.25), (1, 1.0), (-0.1, 0.0), (1.7, 1.0), (float("inf"), 1.0)],
)
def test_from_fraction(value, expected):
    assert common.from_fraction(value, "p") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06-15T10:00:05Z", datetime(2025, 6, 15, 10, 0, 5, tzinfo=UTC)),
        ("2025-06-15T10:00:05", datetime(2025, 6, 15, 10, 0, 5, tzinfo=UTC)),
        ("2025-06-15 10:00:05", datetime(2025, 6, 15, 10, 0, 5, tzinfo=UTC)),
        ("2025-06-15T12:00:05+02:00", datetime(2025, 6, 15, 10, 0, 5, tzinfo=UTC)),
        ("2025-06-15t10:00:05z", datetime(2025, 6, 15, 10, 0, 5, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("2025-06-15T10:00:05.123456789Z", datetime(2025, 6, 15, 10, 0, 5, 123456, tzinfo=UTC)),
        (datetime(2025, 1, 1, 5), datetime(2025, 1, 1, 5, tzinfo=UTC)),  # noqa: DTZ001  # naive on purpose
        (datetime(2025, 1, 1, 5, tzinfo=timezone(timedelta(hours=-5))), datetime(2025, 1, 1, 10, tzinfo=UTC)),
        ("0001-01-01T00:00:00+05:00", None),  # not representable in UTC
        ("", None),
        (None, None),
    ],
)
def test_utc(value, expected):
    result = common.utc(value, "t")
    assert result == expected
    if result is not None:
        assert result.tzinfo is UTC


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01T00:00:00Z", 17, ["2025"]])
def test_utc_rejects_what_is_not_a_timestamp(value):
    with pytest.raises(common.Malformed, match="t is"):
        common.utc(value, "t")


def test_error_info_rules():
    assert common.error_info(None, "", "e") is None
    assert common.error_info("", "  ", "e") is None
    assert common.error_info(None, None, "e") is None
    info = common.error_info("E42", "", "e")
    assert info is not None
    assert (info.code, info.message) == ("E42", "E42")
    info = common.error_info("", "disk full", "e")
    assert info is not None
    assert (info.code, info.message) == (None, "disk full")


def test_count_treats_negative_as_unknown():
    assert common.count(-1, "c") is None
    assert common.count(3, "c") == 3
    assert common.count(3.0, "c") == 3
    with pytest.raises(common.Malformed):
        common.count(True, "c")


def test_check_helper_rejects_a_broken_status():
    broken = docstatus.JobStatus(provider="artos", job_id="x", state=State.SUCCEEDED, provider_state="Ready")
    with pytest.raises(AssertionError):
        check(broken)  # succeeded without progress 1.0 breaks the contract
