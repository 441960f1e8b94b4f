"""``parse``'s fast path (the mapping read from the decoded JSON, the model built on first access)
gives exactly what the model path gives: the same status (``==``, ``to_json()``), the same model,
the same error. The model path is ``parse`` of the decoded dict (a ``Mapping`` body goes through
the generated model's ``from_dict`` and ``normalize``). No timing here: speed is ``nox -s bench``.

Generated bodies are held to this promise (``same_on_both_paths``) by the properties of
tests/test_parse_properties.py, on the same bodies as its own oracle (generating them is the
costly part, done once there): bodies from each spec (documented and any state), with one field
replaced by any JSON, and arbitrary JSON."""

from __future__ import annotations

import json
import pickle
from typing import Any

import attrs
import docstatus
import pytest
from docstatus._status import ErrorInfo, JobStatus, Output, PageError, Pages, new_output, new_pages, new_status


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


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "\\u00e9", "b": [1, 2.5, null]}',
        b'\xef\xbb\xbf{"a": 1}',  # UTF-8 with a byte-order mark: json reads it as utf-8-sig
        '{"a": "é"}'.encode("utf-16"),
        '{"a": "é"}'.encode("utf-16-le"),
        '{"a": "é"}'.encode("utf-32"),
        b'{"a": "\xff"}',  # not UTF-8
        b'{"a": "\xed\xa0\x80"}',  # a lone surrogate in UTF-8 bytes (surrogatepass)
        b'{"a": 1} x',
        b"",
        b"  ",
        b"[1]",
        b'{"a": 1}\n',  # a JSON Lines line
        b'{"a": 1} \t\r\n ',
        b' {"a": 1}',  # a value after whitespace
        b'{"a": 1}\x0c',  # whitespace to str.isspace, not to JSON
        b'{"a": 1}\xc2\xa0',
        b'{"a": 1}{"b": 2}',
        b'{"a": [1, 2}',
        b'{"a": NaN, "b": -Infinity}',
        b'{"a": "\x01"}',  # a raw control character in a string
        b"\xef\xbb\xbf",
        '{"a": 1}',
        '\ufeff{"a": 1}',  # a str with a byte-order mark: json refuses it
    ],
)
def test_parse_decodes_a_body_as_json_loads_does(raw: bytes | str) -> None:
    from docstatus._parse import json_loads  # noqa: PLC0415

    def outcome(load: Any) -> tuple[str, Any]:
        try:
            return ("value", load(raw))
        except ValueError as exc:
            return ("error", (type(exc), str(exc)))

    assert outcome(json_loads) == outcome(json.loads)
