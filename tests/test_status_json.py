"""``JobStatus.to_json()`` is ``json.dumps(to_dict(), separators=(",", ":"), ensure_ascii=False)``,
byte for byte, for every status: the parsers' (written directly, ``_status._json_form``) and any a
caller builds by hand (values of other types go through ``json`` itself). A timestamp a provider
sent is written as ``_iso`` formats its instant, whether or not its text was noted on the way in
(``_status.noted``). No timing here: speed is ``nox -s bench`` (bench_normalize, bench_parse)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import docstatus
from docstatus import PROVIDERS, JobStatus, State
from docstatus._common import iso_stamp, utc
from docstatus._status import _TEXTS, _TEXTS_MAX, ErrorInfo, Output, PageError, Pages, _iso
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Text a provider may send: any code point, lone surrogates, controls and bidi characters included.
TEXT = st.text(st.characters(codec=None), max_size=12) | st.sampled_from(["", "é", "\x1b[31m", "\u202e", '"\\'])
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8)), None])
STAMPS = st.none() | st.builds(lambda d, z: d.replace(tzinfo=z), st.datetimes(), ZONES)
#: Values of the declared types, and of others a caller may put in by hand.
ODD = st.booleans() | st.integers() | st.floats() | st.sampled_from([float("nan"), float("inf"), -0.0, 1e-300])
COUNTS = st.none() | st.integers(min_value=-(2**70), max_value=2**70) | st.booleans()


def _dumps(status: JobStatus) -> tuple[str, Any]:
    try:
        return ("text", json.dumps(status.to_dict(), separators=(",", ":"), ensure_ascii=False))
    except Exception as exc:  # the same failure is the promise too
        return ("error", type(exc))


def _to_json(status: JobStatus) -> tuple[str, Any]:
    try:
        return ("text", status.to_json())
    except Exception as exc:  # as above
        return ("error", type(exc))


OUTPUTS = st.builds(Output, name=st.none() | TEXT, uri=st.none() | TEXT)
STATUSES = st.builds(
    JobStatus,
    provider=st.sampled_from(PROVIDERS),
    job_id=TEXT,
    state=st.sampled_from(list(State)),
    provider_state=TEXT,
    progress=st.none() | st.floats(min_value=0, max_value=1) | ODD,
    step=st.none() | TEXT,
    created_at=STAMPS,
    started_at=STAMPS,
    updated_at=STAMPS,
    completed_at=STAMPS,
    error=st.none() | st.builds(ErrorInfo, code=st.none() | TEXT, message=TEXT),
    pages=st.none()
    | st.builds(
        Pages,
        total=COUNTS,
        processed=COUNTS,
        succeeded=COUNTS,
        failed=COUNTS,
        errors=st.lists(
            st.builds(PageError, page=COUNTS, code=st.none() | TEXT, message=st.none() | TEXT), max_size=3
        ).map(tuple),
    ),
    outputs=st.lists(OUTPUTS, max_size=3).map(tuple) | st.lists(OUTPUTS, max_size=2),  # a list too, by hand
)


@SETTINGS
@given(STATUSES)
def test_to_json_is_json_dumps_of_to_dict_for_every_status(status: JobStatus) -> None:
    assert _to_json(status) == _dumps(status)


@SETTINGS
@given(st.datetimes(timezones=st.just(UTC)), st.data())
def test_a_timestamp_is_written_as_its_instant_formats_whatever_text_it_was_read_from(
    when: datetime, data: Any
) -> None:
    plain = when.isoformat()
    forms = [
        plain,
        plain.replace("+00:00", "Z"),
        when.isoformat(timespec="microseconds").replace("+00:00", "Z"),  # ".000000" where plain has none
        when.isoformat(sep=" ", timespec="milliseconds"),
        when.replace(tzinfo=None).isoformat(timespec="seconds") + "Z",  # a different instant when it had a fraction
        f"{when.year:04}{when.month:02}{when.day:02}T{when.hour:02}{when.minute:02}{when.second:02}Z",  # basic
    ]
    text = data.draw(st.sampled_from(forms))
    for read in (utc(text, "at"), iso_stamp(text)):
        assert read is not None
        expected = read.astimezone(UTC).isoformat().replace("+00:00", "Z")
        assert _iso(read) == expected, text
    # Another text of the same instant noted later: the form written is still the instant's own.
    other = data.draw(st.sampled_from(forms))
    read = utc(other, "at")
    assert read is not None
    assert _iso(read) == read.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_the_noted_texts_stay_bounded() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(3 * _TEXTS_MAX):
        utc((start + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"), "at")
        assert len(_TEXTS) <= _TEXTS_MAX


def test_parsed_statuses_write_the_same_line_both_ways() -> None:
    body = {
        "job_id": "j\u202e\x07é\ud800",
        "status": "failed",
        "pipeline": "p",
        "error": {"message": "x\x1b"},
        "usage": {"pages_total": 3, "pages_processed": 1},
        "created_at": "2026-07-31T12:20:11+02:00",
        "updated_at": "2026-07-31T12:20:15.5Z",
    }
    status = docstatus.parse("sarvam_docai", json.dumps(body))
    assert _to_json(status) == _dumps(status)
    assert status.to_dict()["created_at"] == "2026-07-31T10:20:11Z"
    assert status.to_dict()["updated_at"] == "2026-07-31T12:20:15.500000Z"
    assert "\ud800" not in status.to_json()  # made safe where it entered


def test_a_noted_text_is_written_only_when_it_is_already_the_instants_own_form() -> None:
    for text, written in (
        ("2026-07-31T12:20:11.000000Z", "2026-07-31T12:20:11Z"),  # a zero fraction is not written
        ("2026-07-31T12:20:11.500Z", "2026-07-31T12:20:11.500000Z"),
        ("2026-07-31 12:20:11Z", "2026-07-31T12:20:11Z"),
        ("20260731T122011Z", "2026-07-31T12:20:11Z"),
        ("2026-07-31T12:20:11+00:00", "2026-07-31T12:20:11Z"),
        ("2026-07-31T12:20:11.574754Z", "2026-07-31T12:20:11.574754Z"),
    ):
        for read in (utc(text, "at"), iso_stamp(text)):
            assert _iso(read) == written, text
