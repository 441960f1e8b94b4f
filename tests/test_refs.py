"""Job references (``docstatus.parse_ref``, ``format_ref``, ``JobRef``; normalize/docstatus/_refs.py).

Expected values are written out here from the README's table of reference forms
(``artos:<id>``, ``sarvam:<uuid>``, ``neurolinker:<id>``, ``aitronos:<org_id>/<store_id>/<file_id>``,
``markdown2pdf:<id>``), never read from ``_refs.FORMS``.
"""

from __future__ import annotations

import uuid

import attrs
import docstatus
import pytest
from docstatus import InvalidJobRef, JobRef, format_ref, parse_ref
from hypothesis import given, settings
from hypothesis import strategies as st

UUID = "0e6d9c1a-5b7f-4c2e-9d3a-8f1b2c4d6e7f"

#: The form each provider's error message must name (README, "Job references are plain strings").
EXPECTED_FORM = {
    "aitronos": "aitronos:<org_id>/<store_id>/<file_id>",
    "artos": "artos:<document_id>",
    "markdown2pdf": "markdown2pdf:<job_id>",
    "neurolinker": "neurolinker:<document_id>",
    "sarvam": "sarvam:<job_id>",
    "sarvam_docai": "sarvam_docai:<job_id>",
}
SINGLE_PART = ("artos", "markdown2pdf", "neurolinker", "sarvam", "sarvam_docai")

#: The longest reference accepted (``_refs.MAX_REF_LENGTH``, written out).
MAX_REF_LENGTH = 1024


# --- valid forms


@pytest.mark.parametrize(
    ("text", "provider", "job_id", "parts"),
    [
        ("artos:document-uuid-456", "artos", "document-uuid-456", ("document-uuid-456",)),
        ("artos:AbC_123", "artos", "AbC_123", ("AbC_123",)),  # ids keep their case
        ("neurolinker:doc_8f2a", "neurolinker", "doc_8f2a", ("doc_8f2a",)),
        ("markdown2pdf:" + UUID, "markdown2pdf", UUID, (UUID,)),
        ("markdown2pdf:job-1", "markdown2pdf", "job-1", ("job-1",)),  # not checked as a UUID
        ("sarvam:" + UUID, "sarvam", UUID, (UUID,)),
        # specs/sarvam_docai/NOTES.md row 4: a plain string, kept exactly as given (no canonical UUID)
        ("sarvam_docai:" + UUID, "sarvam_docai", UUID, (UUID,)),
        ("sarvam_docai:" + UUID.upper(), "sarvam_docai", UUID.upper(), (UUID.upper(),)),
        ("sarvam_docai:job_7", "sarvam_docai", "job_7", ("job_7",)),
        ("aitronos:org_1/vs_2/file_3", "aitronos", "org_1/vs_2/file_3", ("org_1", "vs_2", "file_3")),
        ("artos:a:b", "artos", "a:b", ("a:b",)),  # the provider ends at the first colon
        ("artos:dokument-ü", "artos", "dokument-ü", ("dokument-ü",)),  # printable non-ASCII: kept, encoded on fetch
        ("artos:x", "artos", "x", ("x",)),
    ],
)
def test_valid_forms(text, provider, job_id, parts):
    ref = parse_ref(text)
    assert isinstance(ref, JobRef)
    assert (ref.provider, ref.job_id, ref.parts) == (provider, job_id, parts)
    assert str(ref) == text


@pytest.mark.parametrize(
    "written",
    [
        UUID.upper(),
        UUID.replace("-", ""),
        UUID.replace("-", "").upper(),
        "{" + UUID + "}",
        "urn:uuid:" + UUID,
    ],
)
def test_sarvam_ids_are_canonical_lowercase_uuids(written):
    ref = parse_ref("sarvam:" + written)
    assert ref.job_id == UUID
    assert str(ref) == "sarvam:" + UUID


def test_jobref_is_a_frozen_value():
    ref = parse_ref("artos:abc")
    assert ref == JobRef("artos", "abc")
    assert hash(ref) == hash(JobRef("artos", "abc"))
    assert parse_ref("sarvam:" + UUID.upper()) == parse_ref("sarvam:" + UUID)
    assert ref != parse_ref("neurolinker:abc")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ref.job_id = "other"  # type: ignore[misc]


@pytest.mark.parametrize("provider", sorted(docstatus.PROVIDERS))
def test_refs_share_one_provider_string(provider):
    """A ref holds its provider's one name string, not the copy that splitting the reference
    made: thousands of watched refs then cost no provider string each."""
    job_id = "org/store/file" if provider == "aitronos" else "abc"
    first, second = parse_ref(f"{provider}:{job_id}"), parse_ref(f"{provider}:{job_id}")  # built at run time
    assert first.provider == provider
    assert first.provider is second.provider
    assert first.provider is parse_ref(f"{provider}:x{job_id}").provider


# --- what is refused, and how


def _refused(text: object) -> InvalidJobRef:
    with pytest.raises(InvalidJobRef) as caught:
        parse_ref(text)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize("provider", SINGLE_PART)
@pytest.mark.parametrize("job_id", ["a/b", "a/", "/a", "a/b/c", "org/store/file"])
def test_single_part_ids_refuse_a_slash(provider, job_id):
    # A '/' would go into the URL path as another segment.
    exc = _refused(f"{provider}:{job_id}")
    assert EXPECTED_FORM[provider] in str(exc)
    assert "'/'" in str(exc)


@pytest.mark.parametrize(
    "job_id",
    [
        "org/store",
        "org/store/file/extra",
        "org",
        "//",
        "/store/file",
        "org//file",
        "org/store/",
        "a/b/c/d/e",
    ],
)
def test_aitronos_needs_three_non_empty_parts(job_id):
    exc = _refused("aitronos:" + job_id)
    assert "three non-empty parts" in str(exc)
    assert "aitronos:<org_id>/<store_id>/<file_id>" in str(exc)


@pytest.mark.parametrize("provider", sorted(EXPECTED_FORM))
def test_empty_id_is_refused(provider):
    exc = _refused(provider + ":")
    assert EXPECTED_FORM[provider] in str(exc)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "artos",  # no colon
        ":abc",
        "nope:abc",
        "Artos:abc",  # provider names are lower case, exactly
        "ARTOS:abc",
        " artos:abc",  # surrounding whitespace is not stripped
        "artos :abc",
        "http://artos/abc",
    ],
)
def test_unknown_provider_lists_every_form(text):
    message = str(_refused(text))
    assert "known provider" in message
    for form in EXPECTED_FORM.values():
        assert form in message


@pytest.mark.parametrize(
    "job_id",
    [
        " abc",
        "abc ",
        "a b",
        "a\tb",
        "abc\n",
        "a\rb",
        "a\x00b",
        "a\x1b[31mb",
        "a\x7fb",
        "a\x85b",  # NEL
        "a\xa0b",  # no-break space
        "a\u200bb",  # zero-width space
        "a\u2028b",  # line separator
        "a\ud800b",  # a lone surrogate
    ],
)
@pytest.mark.parametrize("provider", ["artos", "neurolinker", "markdown2pdf", "aitronos"])
def test_whitespace_and_control_characters_are_refused(provider, job_id):
    text = f"{provider}:{job_id}" if provider != "aitronos" else f"aitronos:org/store/{job_id}"
    message = str(_refused(text))
    assert EXPECTED_FORM[provider] in message
    assert "spaces/control characters" in message
    assert message.isprintable()  # the message shows the ref escaped, never the raw character


@pytest.mark.parametrize("job_id", ["not-a-uuid", UUID[:-1], UUID + "0", "0e6d", "g" * 32, "Job_ABC"])
def test_sarvam_keeps_an_id_that_is_not_a_uuid_as_given(job_id):
    # The SDK types job_id as a plain string (specs/sarvam/patches.yaml): the server decides.
    ref = parse_ref("sarvam:" + job_id)
    assert ref.job_id == job_id
    assert str(ref) == "sarvam:" + job_id
    assert format_ref("sarvam", job_id) == str(ref)


@pytest.mark.parametrize("value", [None, 123, b"artos:abc", ["artos", "abc"], JobRef("artos", "abc")])
def test_a_reference_must_be_a_string(value):
    message = str(_refused(value))
    assert "string" in message
    assert type(value).__name__ in message


@pytest.mark.parametrize("provider", sorted(EXPECTED_FORM))
def test_length_is_bounded(provider):
    prefix = f"{provider}:"
    filler = "x" * (MAX_REF_LENGTH - len(prefix) - (4 if provider == "aitronos" else 0))
    longest = prefix + ("o/s/" + filler if provider == "aitronos" else filler)
    assert len(longest) == MAX_REF_LENGTH
    assert str(parse_ref(longest)) == longest
    exc = _refused(longest + "x" * (MAX_REF_LENGTH + 1 - len(longest)))
    assert str(MAX_REF_LENGTH) in str(exc)


def test_a_ref_of_70000_characters_is_refused_without_echoing_it():
    # issue 9: such a ref reached httpx and came out as a raw httpx.InvalidURL
    text = "artos:" + "a" * 70_000
    message = str(_refused(text))
    assert "70006" in message
    assert len(message) < 400


# --- error types


def test_invalid_job_ref_is_a_configuration_error_and_a_value_error():
    assert issubclass(InvalidJobRef, docstatus.ConfigurationError)
    assert issubclass(InvalidJobRef, docstatus.DocstatusError)
    assert issubclass(InvalidJobRef, ValueError)
    with pytest.raises(ValueError, match="known provider"):
        parse_ref("nope:x")
    with pytest.raises(docstatus.ConfigurationError, match="artos:<document_id>"):
        parse_ref("artos:")


# --- format_ref


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("artos", "document-uuid-456"), "artos:document-uuid-456"),
        (("neurolinker", "doc_1"), "neurolinker:doc_1"),
        (("markdown2pdf", UUID), "markdown2pdf:" + UUID),
        (("sarvam", UUID.upper()), "sarvam:" + UUID),  # canonical form
        (("aitronos", "org_1", "vs_2", "file_3"), "aitronos:org_1/vs_2/file_3"),
    ],
)
def test_format_ref(args, expected):
    assert format_ref(*args) == expected
    assert str(parse_ref(expected)) == expected


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("nope", "x"), "unknown provider"),
        (("Artos", "x"), "unknown provider"),
        (("artos",), "artos:<document_id>"),  # no id
        (("artos", "a", "b"), "'/'"),  # two parts for a one-part id
        (("aitronos", "org", "store"), "three non-empty parts"),
        (("aitronos", "org", "store", "file", "extra"), "three non-empty parts"),
        (("aitronos", "org", "", "file"), "three non-empty parts"),
        (("artos", "a b"), "spaces/control characters"),
        (("artos", "x" * 2000), str(MAX_REF_LENGTH)),
    ],
)
def test_format_ref_refuses(args, needle):
    with pytest.raises(InvalidJobRef) as caught:
        format_ref(*args)
    assert needle in str(caught.value)


@pytest.mark.parametrize(
    "parts", [("org/store", "file"), ("org", "store/file"), ("org/store/file",)], ids=["2a", "2b", "1"]
)
def test_format_ref_refuses_a_part_holding_a_slash(parts):
    with pytest.raises(InvalidJobRef):
        format_ref("aitronos", *parts)


# --- round trips

_ID_CHARS = st.characters(codec="utf-8", categories=("L", "N", "Pc", "Pd"))
_PART = st.text(_ID_CHARS, min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(provider=st.sampled_from(["artos", "neurolinker", "markdown2pdf"]), job_id=_PART)
def test_round_trip_single_part(provider, job_id):
    text = format_ref(provider, job_id)
    assert text == f"{provider}:{job_id}"
    ref = parse_ref(text)
    assert (ref.provider, ref.job_id, ref.parts) == (provider, job_id, (job_id,))
    assert format_ref(ref.provider, *ref.parts) == str(ref) == text
    assert parse_ref(str(ref)) == ref


@settings(max_examples=200, deadline=None)
@given(org=_PART, store=_PART, file=_PART)
def test_round_trip_aitronos(org, store, file):
    text = format_ref("aitronos", org, store, file)
    assert text == f"aitronos:{org}/{store}/{file}"
    ref = parse_ref(text)
    assert ref.parts == (org, store, file)
    assert format_ref("aitronos", *ref.parts) == str(ref) == text


@settings(max_examples=100, deadline=None)
@given(value=st.uuids(), upper=st.booleans(), hyphens=st.booleans())
def test_round_trip_sarvam(value, upper, hyphens):
    written = str(value) if hyphens else value.hex
    written = written.upper() if upper else written
    ref = parse_ref("sarvam:" + written)
    assert ref.job_id == str(value)
    assert uuid.UUID(ref.job_id) == value
    assert parse_ref(str(ref)) == ref
    assert format_ref("sarvam", *ref.parts) == str(ref)
