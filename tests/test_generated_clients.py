"""The generated provider clients against a real HTTP server on 127.0.0.1.

Every test runs for the five providers, and every request test runs twice: through
``sync_detailed`` and through ``asyncio_detailed``. The server is ``canned_server``
(tests/conftest.py): it answers what a test scripts and records what it received, so
paths and auth headers are checked on the server's side of a real socket.
"""

from __future__ import annotations

import copy
import datetime
import enum
import importlib
import json
import uuid
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import attrs
import httpx
import pytest
import yaml
from conftest import SPECS, Canned, CannedServer, tls
from openapi_schema_validator import (
    OAS30Validator,
    OAS31Validator,
    oas30_format_checker,
    oas31_format_checker,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

pytestmark = pytest.mark.anyio

MODES = ("sync", "async")


def _spec(provider: str) -> dict[str, Any]:
    return yaml.safe_load((SPECS / provider / "openapi.yaml").read_text("utf-8"))


def _page_path(provider: str) -> dict[str, Any]:
    """The status path of the provider's page: the spec's first (Aitronos has a second, its SDK's)."""
    path: dict[str, Any] = next(iter(_spec(provider)["paths"].values()))
    return path


def _ok_content(provider: str) -> dict[str, Any]:
    path = _page_path(provider)
    return path["get"]["responses"]["200"]["content"]["application/json"]


def _doc_examples(provider: str) -> list[dict[str, Any]]:
    """The 200 example bodies the provider's own documentation shows (kept in the spec)."""
    content = _ok_content(provider)
    if "example" in content:
        return [content["example"]]
    return [e["value"] for e in content.get("examples", {}).values()]


# Sarvam's page shows no response body, only the schema. This body is written to be
# realistic (one input file, a failed page) and is checked against the spec's schema
# with jsonschema in test_built_examples_validate_against_the_spec.
SARVAM_EXAMPLE: dict[str, Any] = {
    "job_id": "1aa6e189-c206-46c3-a70b-76acbb8ebbaf",
    "job_state": "PartiallyCompleted",
    "created_at": "2025-11-20T08:15:02.113Z",
    "updated_at": "2025-11-20T13:46:40+05:30",
    "storage_container_type": "Azure",
    "total_files": 1,
    "successful_files_count": 0,
    "failed_files_count": 0,
    "error_message": "",
    "job_details": [
        {
            "inputs": [{"file_name": "invoice.pdf", "file_id": "in-0001"}],
            "outputs": [{"file_name": "invoice.md", "file_id": "out-0001"}],
            "state": "PartialSuccess",
            "total_pages": 3,
            "pages_processed": 3,
            "pages_succeeded": 2,
            "pages_failed": 1,
            "error_message": "",
            "error_code": None,
            "page_errors": [{"page_number": 2, "error_code": "page_unreadable", "error_message": "Page 2 is blank"}],
        }
    ],
}

# markdown2pdf's page shows no response body either: realistic, validated the same way.
MARKDOWN2PDF_EXAMPLE: dict[str, Any] = {
    "id": "5f0c2a7e-9d1b-4c3e-8f6a-2b7d9e4c1a03",
    "description": "Quarterly report",
    "status": "Processing",
    "status_meta": "Rendering page 3 of 8",
    "progress": 0.375,
    "path": None,
}

SARVAM_JOB = SARVAM_EXAMPLE["job_id"]  # a plain string: the spec has no format: uuid (patches.yaml)


@attrs.frozen(kw_only=True)
class Case:
    """One provider's generated client and the facts its documentation gives.

    Attributes:
        provider: provider name (folder in specs/).
        operation: the operation module, relative to the package.
        args: path parameters of one call.
        path: the request path the server must see for ``args``.
        auth: "bearer", "api-key" or "none".
        token: a credential in the provider's documented shape.
        model: class name of the 200 body.
        enum_field: the field holding the status enum.
        unknown: a status value the spec does not list.
        examples: 200 bodies (the documentation's own where it has one).
        required: a required field of the 200 body.
        wrong_types: field -> a wrongly typed value the parser checks.
    """

    provider: str
    operation: str
    args: dict[str, Any]
    path: str
    auth: str
    token: str
    model: str
    enum_field: str
    unknown: str
    examples: list[dict[str, Any]]
    required: str
    wrong_types: dict[str, Any]

    @property
    def package(self) -> str:
        return f"docstatus_{self.provider}_client"

    def module(self, name: str = "") -> ModuleType:
        return importlib.import_module(f"{self.package}{'.' + name if name else ''}")

    def op(self) -> ModuleType:
        return self.module(self.operation)

    def model_class(self) -> type[Any]:
        return getattr(self.module("models"), self.model)

    def client(self, base_url: str, **kwargs: Any) -> Any:
        """A client authenticated the way the provider documents it (with the shared TLS context
        httpx builds by default: ``conftest.tls``)."""
        kwargs.setdefault("verify_ssl", tls())
        pkg = self.module()
        if self.auth == "none":
            return pkg.Client(base_url=base_url, **kwargs)
        # No header name or prefix: each client's defaults come from its spec's security.
        return pkg.AuthenticatedClient(base_url=base_url, token=self.token, **kwargs)

    def __str__(self) -> str:
        return self.provider


CASES = [
    Case(
        provider="artos",
        operation="api.status.get_status",
        args={"document_id": "document-uuid-456"},
        path="/api/v1/documents/status/document-uuid-456",
        auth="bearer",
        token="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJvcmciOiJ0ZXN0In0.c2lnbmF0dXJlLXNlY3JldA",
        model="TaskStatusResponse",
        enum_field="status",
        unknown="Archived",
        examples=_doc_examples("artos"),
        required="task_id",
        wrong_types={"status": 3},
    ),
    Case(
        provider="sarvam",
        operation="api.status.get_status",
        args={"job_id": SARVAM_JOB},
        path=f"/doc-digitization/job/v1/{SARVAM_JOB}/status",
        auth="api-key",
        token="sk_test_5f2b8c3e0d1a4f6e9b7c",
        model="DocDigitizationJobStatusResponse",
        enum_field="job_state",
        unknown="Archived",
        examples=[SARVAM_EXAMPLE],
        required="created_at",
        wrong_types={"created_at": 1732090502, "job_details": "none"},
    ),
    Case(
        provider="neurolinker",
        operation="api.status.get_status",
        args={"document_id": "1d6986aa-80ac-4a4d-9009-5a323c9046b1"},
        path="/v1/document-status/1d6986aa-80ac-4a4d-9009-5a323c9046b1",
        auth="bearer",
        token="nl_live_7Hq2xK9pLw4ZsT1v",
        model="DocumentStatusResponse",
        enum_field="status",
        unknown="archived",
        examples=_doc_examples("neurolinker"),
        required="document_id",
        wrong_types={"status": None, "results": ["a", "b", "c"]},
    ),
    Case(
        provider="aitronos",
        operation="api.status.get_status",
        args={"organization_id": "org_x", "store_id": "vs_y", "file_id": "file_z"},
        path="/v1/organizations/org_x/stores/vs_y/files/file_z/status",
        auth="bearer",
        token="atr_sk_3c9d1e7f2a8b4c6d",
        model="FileProcessingStatus",
        enum_field="status",
        unknown="archived",
        examples=_doc_examples("aitronos"),
        required="status",
        wrong_types={"status": ["processing"]},
    ),
    Case(
        provider="markdown2pdf",
        operation="api.status.get_status",
        args={"job_id": "5f0c2a7e-9d1b-4c3e-8f6a-2b7d9e4c1a03"},
        path="/job/5f0c2a7e-9d1b-4c3e-8f6a-2b7d9e4c1a03/status",
        auth="none",
        token="",
        model="JobStatus",
        enum_field="status",
        unknown="Archived",
        examples=[MARKDOWN2PDF_EXAMPLE],
        required="id",
        wrong_types={"id": 42, "status": {"name": "Done"}},
    ),
]
AUTHENTICATED = [c for c in CASES if c.auth != "none"]
BY_NAME = {c.provider: c for c in CASES}


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def fetch(case: Case, client: Any, mode: str, **args: Any) -> Any:
    """One call of the case's operation, sync or async, closing the client afterwards."""
    op = case.op()
    call_args = {**case.args, **args}
    if mode == "sync":
        with client:
            return op.sync_detailed(**call_args, client=client)
    async with client:
        return await op.asyncio_detailed(**call_args, client=client)


async def fetch_one(case: Case, server: CannedServer, mode: str, answer: Canned, **kwargs: Any) -> Any:
    server.reply(answer)
    return await fetch(case, case.client(server.base_url, **kwargs), mode)


def json_bytes(body: Any) -> bytes:
    """What ``Canned`` sends for a JSON body."""
    return json.dumps(body).encode()


def _field(model: Any, key: str) -> Any:
    """The value of JSON key ``key`` on a generated model (``type`` is ``type_`` there)."""
    names = {f.name for f in attrs.fields(type(model))}
    for name in (key, f"{key}_"):
        if name in names:
            return getattr(model, name)
    return model.additional_properties[key]


def assert_matches(value: Any, expected: Any, where: str) -> None:
    """Assert a parsed value carries exactly what the JSON ``expected`` says, typed."""
    if isinstance(expected, dict):
        assert attrs.has(type(value)), f"{where}: {value!r} is not a model"
        for key, sub in expected.items():
            assert_matches(_field(value, key), sub, f"{where}.{key}")
    elif isinstance(value, datetime.datetime):
        assert value.tzinfo is not None, f"{where}: {value!r} lost its offset"
        assert value == datetime.datetime.fromisoformat(expected), where
        assert value.utcoffset() == datetime.datetime.fromisoformat(expected).utcoffset(), where
    elif isinstance(value, enum.Enum):
        assert value.value == expected, where
        assert value.is_unknown is False, where
    elif isinstance(value, uuid.UUID):
        assert value == uuid.UUID(expected), where
    elif isinstance(expected, list):
        assert isinstance(value, list), where
        assert len(value) == len(expected), where
        for i, (v, e) in enumerate(zip(value, expected, strict=True)):
            assert_matches(v, e, f"{where}[{i}]")
    else:
        assert value == expected, f"{where}: {value!r} != {expected!r}"
        assert type(value) is type(expected), f"{where}: {type(value)} is not {type(expected)}"


def _validator(provider: str, schema_name: str) -> Any:
    spec = _spec(provider)
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    if spec["openapi"].startswith("3.0"):
        return OAS30Validator(schema, format_checker=oas30_format_checker)
    return OAS31Validator(schema, format_checker=oas31_format_checker)


# --- the bodies used here are what the spec describes ----------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_examples_validate_against_the_spec(case: Case) -> None:
    """Page examples (artos, neurolinker, aitronos) and built ones (sarvam, markdown2pdf)."""
    assert case.examples, f"{case.provider}: no 200 example"
    validator = _validator(case.provider, case.model)
    for example in case.examples:
        errors = [e.message for e in validator.iter_errors(example)]
        assert errors == [], f"{case.provider}: {errors}"


def test_doc_examples_are_the_pages() -> None:
    # The examples come from the documentation, not from this test file.
    assert BY_NAME["artos"].examples == [
        {"task_id": "document-uuid-456", "status": "Generating", "progress": None, "error": None}
    ]
    assert [e["status"] for e in BY_NAME["aitronos"].examples] == ["processing", "completed"]
    assert BY_NAME["neurolinker"].examples[0]["document_id"] == "1d6986aa-80ac-4a4d-9009-5a323c9046b1"
    assert len(BY_NAME["neurolinker"].examples[0]["results"]["cropped_images"]) == 12


# --- 200 with the documented body ----------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_documented_200_parses_into_the_typed_model(case: Case, mode: str, canned_server) -> None:
    for example in case.examples:
        response = await fetch_one(case, canned_server, mode, Canned(200, example))
        assert response.status_code == HTTPStatus.OK
        assert isinstance(response.status_code, HTTPStatus)
        assert response.content == json_bytes(example)
        assert isinstance(response.parsed, case.model_class())
        assert_matches(response.parsed, example, case.provider)
        assert response.parsed.additional_properties == {}


async def test_artos_example_fields(mode: str, canned_server) -> None:
    case = BY_NAME["artos"]
    models = case.module("models")
    parsed = (await fetch_one(case, canned_server, mode, Canned(200, case.examples[0]))).parsed
    assert parsed.task_id == "document-uuid-456"
    assert parsed.status is models.TaskStatusResponseStatus.GENERATING
    assert parsed.progress is None  # null, not UNSET
    assert parsed.error is None


async def test_sarvam_timestamps_are_aware_and_nested_models_typed(mode: str, canned_server) -> None:
    case = BY_NAME["sarvam"]
    models = case.module("models")
    parsed = (await fetch_one(case, canned_server, mode, Canned(200, SARVAM_EXAMPLE))).parsed
    assert parsed.job_id == SARVAM_JOB
    assert parsed.created_at == datetime.datetime(2025, 11, 20, 8, 15, 2, 113000, tzinfo=datetime.UTC)
    assert parsed.updated_at.utcoffset() == datetime.timedelta(hours=5, minutes=30)
    assert parsed.job_state is models.DocDigitizationJobState.PARTIALLYCOMPLETED
    (detail,) = parsed.job_details
    assert isinstance(detail, models.DocDigitizationJobDetail)
    assert detail.state is models.DocDigitizationJobDetailState.PARTIALSUCCESS
    assert detail.page_errors[0].page_number == 2
    assert detail.error_code is None


async def test_neurolinker_and_aitronos_timestamps(mode: str, canned_server) -> None:
    nl = (
        await fetch_one(BY_NAME["neurolinker"], canned_server, mode, Canned(200, BY_NAME["neurolinker"].examples[0]))
    ).parsed
    assert nl.started_at == datetime.datetime(2025, 10, 15, 9, 49, 50, 574754, tzinfo=datetime.UTC)
    assert nl.completed_at - nl.started_at == datetime.timedelta(seconds=145, microseconds=47821)
    assert nl.results.cropped_images[0] == "545f62ed-497b-4bef-9240-79af6ed6f00d.png"
    processing, completed = BY_NAME["aitronos"].examples
    ai = (await fetch_one(BY_NAME["aitronos"], canned_server, mode, Canned(200, processing))).parsed
    assert ai.started_at == datetime.datetime(2025, 6, 15, 10, 0, 5, tzinfo=datetime.UTC)
    assert ai.completed_at is None
    assert ai.current_step == "embedding"
    assert ai.progress_percent == 50
    done = (await fetch_one(BY_NAME["aitronos"], canned_server, mode, Canned(200, completed))).parsed
    assert done.completed_at == datetime.datetime(2025, 6, 15, 10, 2, 30, tzinfo=datetime.UTC)
    assert done.current_step is None
    assert done.progress_percent == 100


# --- documented error statuses ---------------------------------------------------------------------

SARVAM_ERRORS = {
    400: "invalid_request_error",
    403: "invalid_api_key_error",
    429: "rate_limit_exceeded_error",
    500: "internal_server_error",
    503: "high_load_error",
}


@pytest.mark.parametrize(("status", "code"), sorted(SARVAM_ERRORS.items()))
async def test_sarvam_documented_errors(status: int, code: str, mode: str, canned_server) -> None:
    case = BY_NAME["sarvam"]
    models = case.module("models")
    body = {"error": {"message": f"status {status} happened", "code": code, "request_id": "20251120_ab12"}}
    response = await fetch_one(case, canned_server, mode, Canned(status, body))
    assert response.status_code == status
    assert isinstance(response.status_code, HTTPStatus)
    assert isinstance(response.parsed, models.DocDigitizationErrorMessage)
    assert response.parsed.error.code is models.DocDigitizationErrorCode(code)
    assert response.parsed.error.code.is_unknown is False
    assert response.parsed.error.message == f"status {status} happened"
    assert response.parsed.error.request_id == "20251120_ab12"


async def test_sarvam_error_with_a_new_code_still_parses(mode: str, canned_server) -> None:
    case = BY_NAME["sarvam"]
    body = {"error": {"message": "slow down", "code": "concurrency_limit_error"}}
    parsed = (await fetch_one(case, canned_server, mode, Canned(429, body))).parsed
    assert parsed.error.code.is_unknown is True
    assert parsed.error.code.value == "concurrency_limit_error"


def _aitronos_404() -> dict[str, Any]:
    path = _page_path("aitronos")
    return path["get"]["responses"]["404"]["content"]["application/json"]["examples"]["fileNotInStore"]["value"]


async def test_aitronos_404_is_the_pages_envelope(mode: str, canned_server) -> None:
    case = BY_NAME["aitronos"]
    models = case.module("models")
    body = _aitronos_404()
    response = await fetch_one(case, canned_server, mode, Canned(404, body))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert isinstance(response.parsed, models.ErrorEnvelope)
    assert_matches(response.parsed, body, "aitronos 404")
    error = response.parsed.error
    assert error.code == "FILE_NOT_IN_STORE"
    assert error.type_ == "client_error"
    assert error.status == 404
    assert error.details["store_id"] == "vs_abc123"
    assert error.timestamp == datetime.datetime(2025, 6, 15, 10, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(("status", "code"), [(401, "UNAUTHORIZED"), (403, "FORBIDDEN")])
async def test_aitronos_auth_errors_use_the_envelope(status: int, code: str, mode: str, canned_server) -> None:
    case = BY_NAME["aitronos"]
    body = {"success": False, "error": {"code": code, "message": "Not allowed", "status": status}}
    response = await fetch_one(case, canned_server, mode, Canned(status, body))
    assert response.status_code == status
    assert isinstance(response.parsed, case.module("models").ErrorEnvelope)
    assert response.parsed.success is False
    assert response.parsed.error.code == code
    assert response.parsed.error.status == status


async def test_markdown2pdf_422_validation_error(mode: str, canned_server) -> None:
    case = BY_NAME["markdown2pdf"]
    models = case.module("models")
    body = {"detail": [{"loc": ["path", "job_id"], "msg": "value is not a valid uuid", "type": "type_error.uuid"}]}
    response = await fetch_one(case, canned_server, mode, Canned(422, body))
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert isinstance(response.parsed, models.HTTPValidationError)
    (item,) = response.parsed.detail
    assert item.loc == ["path", "job_id"]
    assert item.msg == "value is not a valid uuid"
    assert item.type_ == "type_error.uuid"


@pytest.mark.parametrize(
    ("provider", "status", "body"),
    [
        ("markdown2pdf", 404, b""),
        ("markdown2pdf", 404, {"detail": "Not Found"}),
        ("artos", 404, b""),
        ("artos", 500, b""),
        ("artos", 500, b"<html>Internal Server Error</html>"),
    ],
)
async def test_documented_statuses_without_a_body_parse_to_none(
    provider: str, status: int, body: Any, mode: str, canned_server
) -> None:
    response = await fetch_one(BY_NAME[provider], canned_server, mode, Canned(status, body))
    assert response.status_code == status
    assert response.parsed is None
    assert response.content == (body if isinstance(body, bytes) else json_bytes(body))


@pytest.mark.parametrize("status", [401, 404])
async def test_neurolinker_undocumented_statuses(status: int, mode: str, canned_server) -> None:
    case = BY_NAME["neurolinker"]
    body = {"success": False, "error": "Document not found"}
    response = await fetch_one(case, canned_server, mode, Canned(status, body))
    assert response.status_code == status
    assert response.parsed is None
    assert response.content == json_bytes(body)
    errors = case.module("errors")
    with pytest.raises(errors.UnexpectedStatus) as info:
        await fetch_one(case, canned_server, mode, Canned(status, body), raise_on_unexpected_status=True)
    assert info.value.status_code == status
    assert info.value.content == json_bytes(body)


# --- unknown enum value ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_unknown_status_value_is_kept(case: Case, mode: str, canned_server) -> None:
    body = {**case.examples[0], case.enum_field: case.unknown}
    parsed = (await fetch_one(case, canned_server, mode, Canned(200, body))).parsed
    value = getattr(parsed, case.enum_field)
    enum_class = type(getattr(case.model_class().from_dict(case.examples[0]), case.enum_field))
    assert isinstance(value, enum_class)
    assert value.is_unknown is True
    assert value.value == case.unknown
    assert str(value) == case.unknown
    assert value not in list(enum_class)  # the spec's members are unchanged
    assert parsed.to_dict()[case.enum_field] == case.unknown
    again = case.model_class().from_dict(parsed.to_dict())
    assert getattr(again, case.enum_field).value == case.unknown
    assert again.to_dict() == parsed.to_dict()
    # a listed value is not unknown
    assert all(member.is_unknown is False for member in enum_class)


# --- non-standard status -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_nonstandard_status_520(case: Case, mode: str, canned_server) -> None:
    body = b"<html><body>520: Web server is returning an unknown error</body></html>"
    answer = Canned(520, body, headers={"Content-Type": "text/html"})
    response = await fetch_one(case, canned_server, mode, answer)
    assert response.status_code == 520
    assert not isinstance(response.status_code, HTTPStatus)
    assert response.parsed is None
    assert response.content == body
    errors = case.module("errors")
    with pytest.raises(errors.UnexpectedStatus) as info:
        await fetch_one(case, canned_server, mode, answer, raise_on_unexpected_status=True)
    assert info.value.status_code == 520
    assert info.value.content == body


# --- malformed bodies --------------------------------------------------------------------------------


def _malformed(case: Case) -> list[tuple[str, Canned]]:
    example = case.examples[0]
    missing = {k: v for k, v in example.items() if k != case.required}
    found = [
        ("not-json", Canned(200, b'{"status": "Generating",')),
        ("empty", Canned(200, b"")),
        ("json-array", Canned(200, [example])),
        ("json-scalar", Canned(200, b"42")),
        ("json-null", Canned(200, b"null")),
        ("missing-required", Canned(200, missing)),
        (
            "html-200",
            Canned(
                200,
                b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body>Back soon</body></html>",
                headers={"Content-Type": "text/html; charset=utf-8"},
            ),
        ),
    ]
    found += [(f"wrong-type-{k}", Canned(200, {**example, k: v})) for k, v in case.wrong_types.items()]
    return found


MALFORMED = [pytest.param(case, answer, id=f"{case}-{name}") for case in CASES for name, answer in _malformed(case)]


@pytest.mark.parametrize(("case", "answer"), MALFORMED)
async def test_malformed_body_raises_malformed_response(case: Case, answer: Canned, mode: str, canned_server) -> None:
    errors = case.module("errors")
    with pytest.raises(Exception) as info:  # the type is asserted right below
        await fetch_one(case, canned_server, mode, answer)
    exc = info.value
    assert type(exc) is errors.MalformedResponse, f"{type(exc).__name__}: {exc}"
    assert exc.status_code == 200
    body = answer.body if isinstance(answer.body, bytes) else json_bytes(answer.body)
    assert exc.content == body
    assert exc.reason
    assert "200" in str(exc)
    assert exc.__cause__ is not None


@pytest.mark.parametrize(
    ("provider", "status", "body"),
    [
        ("sarvam", 503, b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"),
        ("sarvam", 429, {"error": "rate limited"}),
        ("aitronos", 404, b""),
        ("aitronos", 401, {"success": False}),
        ("markdown2pdf", 422, {"detail": "job_id is not a uuid"}),
    ],
)
async def test_malformed_error_body_keeps_its_status(
    provider: str, status: int, body: Any, mode: str, canned_server
) -> None:
    case = BY_NAME[provider]
    with pytest.raises(case.module("errors").MalformedResponse) as info:
        await fetch_one(case, canned_server, mode, Canned(status, body, headers={"Content-Type": "text/html"}))
    assert info.value.status_code == status
    assert info.value.content == (body if isinstance(body, bytes) else json_bytes(body))


def test_malformed_response_message_is_bounded() -> None:
    errors = BY_NAME["artos"].module("errors")
    exc = errors.MalformedResponse(200, b"x" * 10_000, "JSONDecodeError: nope")
    assert len(str(exc)) < 400
    assert "first 200 of 10000 bytes" in str(exc)
    assert exc.content == b"x" * 10_000


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_json_array_of_pairs_is_malformed(case: Case, canned_server) -> None:
    pairs = [[k, v] for k, v in case.examples[0].items()]
    with pytest.raises(case.module("errors").MalformedResponse):
        await fetch_one(case, canned_server, "sync", Canned(200, pairs))


@pytest.mark.parametrize(
    ("provider", "key", "value"),
    [("neurolinker", "started_at", "yesterday"), ("aitronos", "completed_at", "2025-13-45T99:00:00Z")],
)
async def test_unparsable_nullable_timestamp_is_malformed(provider: str, key: str, value: Any, canned_server) -> None:
    case = BY_NAME[provider]
    with pytest.raises(case.module("errors").MalformedResponse):
        await fetch_one(case, canned_server, "sync", Canned(200, {**case.examples[0], key: value}))


@pytest.mark.xfail(
    strict=True,
    reason="generated models keep str/int/bool/float fields as sent, unchecked "
    "(openapi-python-client's primitive property templates have no construct step)",
)
@pytest.mark.parametrize(
    ("provider", "key", "value"),
    [("artos", "task_id", 456), ("neurolinker", "success", "yes"), ("aitronos", "progress_percent", "fifty")],
)
async def test_wrong_primitive_type_is_malformed(provider: str, key: str, value: Any, canned_server) -> None:
    case = BY_NAME[provider]
    with pytest.raises(case.module("errors").MalformedResponse):
        await fetch_one(case, canned_server, "sync", Canned(200, {**case.examples[0], key: value}))


# --- auth -------------------------------------------------------------------------------------------------


def _headers(server: CannedServer) -> dict[str, str]:
    assert server.requests, "the server received nothing"
    return {k.lower(): v for k, v in server.requests[-1].headers.items()}


def assert_documented_auth(case: Case, server: CannedServer) -> None:
    headers = _headers(server)
    if case.auth == "bearer":
        assert headers["authorization"] == f"Bearer {case.token}"
        assert "api-subscription-key" not in headers
    elif case.auth == "api-key":
        assert headers["api-subscription-key"] == case.token
        assert "authorization" not in headers
    else:
        assert "authorization" not in headers
        assert "api-subscription-key" not in headers


def test_tokens_have_the_documented_shape() -> None:
    assert BY_NAME["artos"].token.count(".") == 2  # a JWT
    assert BY_NAME["neurolinker"].token.startswith("nl_")


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_auth_is_sent_as_documented(case: Case, mode: str, canned_server) -> None:
    await fetch_one(case, canned_server, mode, Canned(200, case.examples[0]))
    assert len(canned_server.requests) == 1
    assert canned_server.requests[0].method == "GET"
    assert_documented_auth(case, canned_server)


@pytest.mark.parametrize("case", AUTHENTICATED, ids=str)
async def test_own_httpx_client_still_sends_the_token(case: Case, mode: str, canned_server) -> None:
    canned_server.reply(Canned(200, case.examples[0]))
    client = case.client("http://unused.invalid")
    if mode == "sync":
        client.set_httpx_client(httpx.Client(base_url=canned_server.base_url))
    else:
        client.set_async_httpx_client(httpx.AsyncClient(base_url=canned_server.base_url))
    response = await fetch(case, client, mode)
    assert response.status_code == HTTPStatus.OK
    assert_documented_auth(case, canned_server)


@pytest.mark.parametrize("case", AUTHENTICATED, ids=str)
async def test_with_headers_keeps_the_token(case: Case, mode: str, canned_server) -> None:
    canned_server.reply(Canned(200, case.examples[0]))
    client = case.client(canned_server.base_url).with_headers({"X-Trace": "t-1"})
    await fetch(case, client, mode)
    assert_documented_auth(case, canned_server)
    assert _headers(canned_server)["x-trace"] == "t-1"


def _reachable_texts(case: Case, client: Any, response: Any, raised: list[BaseException]) -> list[str]:
    things: list[Any] = [
        client,
        client.with_headers({"X-A": "b"}),
        client.with_timeout(httpx.Timeout(5.0)),
        client.with_cookies({"c": "d"}),
        client.get_httpx_client(),
        client.get_async_httpx_client(),
        response,
        response.parsed,
        response.headers,
        *raised,
    ]
    return [text for thing in things for text in (repr(thing), str(thing))]


@pytest.mark.parametrize("case", AUTHENTICATED, ids=str)
async def test_token_never_shown(case: Case, canned_server) -> None:
    client = case.client(canned_server.base_url)
    assert "token" not in repr(client)
    canned_server.reply(Canned(200, case.examples[0]))
    response = await fetch(case, client, "sync")
    raised: list[BaseException] = []
    for answer in (Canned(520, b"oops"), Canned(200, b"not json")):
        strict = case.client(canned_server.base_url, raise_on_unexpected_status=True)
        canned_server.reply(answer)
        with pytest.raises(Exception) as info:
            await fetch(case, strict, "sync")
        raised.append(info.value)
    assert {type(e).__name__ for e in raised} == {"UnexpectedStatus", "MalformedResponse"}
    for text in _reachable_texts(case, client, response, raised):
        assert case.token not in text, text
    # the token is there, just not shown
    assert client.token == case.token


def test_sarvam_key_not_in_httpx_client_headers_repr() -> None:
    case = BY_NAME["sarvam"]
    client = case.client("http://127.0.0.1:9")
    assert case.token not in repr(client.get_httpx_client().headers)


@pytest.mark.parametrize("case", [c for c in CASES if c.auth == "bearer"], ids=str)
def test_bearer_token_not_in_httpx_client_headers_repr(case: Case) -> None:
    client = case.client("http://127.0.0.1:9")
    assert case.token not in repr(client.get_httpx_client().headers)
    assert case.token not in repr(client.get_async_httpx_client().headers)


# --- the credential stays at its origin (real sockets: tests/hostile/test_generated_redirects.py) -------


def _credential(case: Case) -> tuple[str, str]:
    """(header, value) the case's credential travels as."""
    if case.auth == "api-key":
        return "api-subscription-key", case.token
    return "authorization", f"Bearer {case.token}"


class Recorder:
    """An httpx.MockTransport handler: answers ``script[url]`` (a redirect target, or 418), records
    each request's URL and headers."""

    def __init__(self, script: dict[str, str] | None = None) -> None:
        self.script = script or {}
        self.seen: list[tuple[str, dict[str, str]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.seen.append((url, {k.lower(): v for k, v in request.headers.items()}))
        if url in self.script:
            return httpx.Response(307, headers={"Location": self.script[url]})
        return httpx.Response(418)

    def carried(self, case: Case) -> list[tuple[str, bool]]:
        """Each URL requested, and whether it carried the case's credential."""
        name, value = _credential(case)
        return [(url, headers.get(name) == value) for url, headers in self.seen]


def _mocked(case: Case, base_url: str, rec: Recorder, **kwargs: Any) -> Any:
    """The case's client over an httpx.MockTransport answering with ``rec``."""
    return case.client(base_url, httpx_args={"transport": httpx.MockTransport(rec)}, **kwargs)


async def _get(client: Any, mode: str, url: str, **kwargs: Any) -> httpx.Response:
    if mode == "sync":
        return client.get_httpx_client().get(url, **kwargs)
    return await client.get_async_httpx_client().get(url, **kwargs)


@pytest.mark.parametrize("case", AUTHENTICATED, ids=str)
async def test_https_upgrade_of_the_same_host_is_another_origin(case: Case, mode: str) -> None:
    """httpx keeps Authorization on http://h -> https://h (``_is_https_redirect``); that is another
    origin (scheme and port differ), so the credential stays off it."""
    rec = Recorder({"http://api.example/x": "https://api.example/x"})
    client = _mocked(case, "http://api.example", rec, follow_redirects=True)
    assert (await _get(client, mode, "/x")).status_code == 418
    assert rec.carried(case) == [("http://api.example/x", True), ("https://api.example/x", False)]
    assert all(not ({"authorization", "api-subscription-key"} & set(h)) for _, h in rec.seen[1:])


@pytest.mark.parametrize("case", AUTHENTICATED, ids=str)
async def test_default_port_written_out_is_the_same_origin(case: Case, mode: str) -> None:
    rec = Recorder({"https://api.example/x": "https://API.example:443/y"})
    client = _mocked(case, "https://api.example", rec, follow_redirects=True)
    await _get(client, mode, "/x")
    assert [carried for _, carried in rec.carried(case)] == [True, True]


@pytest.mark.parametrize("case", AUTHENTICATED, ids=str)
async def test_next_request_sent_by_hand_to_another_origin_has_no_credential(case: Case, mode: str) -> None:
    """Without follow_redirects, httpx still builds ``next_request`` with the headers copied;
    sending it through the client strips the credential."""
    rec = Recorder({"http://api.example/x": "http://elsewhere.example/y"})
    client = _mocked(case, "http://api.example", rec)
    first = await _get(client, mode, "/x")
    assert first.next_request is not None
    if mode == "sync":
        client.get_httpx_client().send(first.next_request)
    else:
        await client.get_async_httpx_client().send(first.next_request)
    assert rec.carried(case) == [("http://api.example/x", True), ("http://elsewhere.example/y", False)]


@pytest.mark.parametrize("case", AUTHENTICATED, ids=str)
async def test_a_callers_own_header_to_another_origin_is_kept(case: Case, mode: str) -> None:
    """Only this client's credential is taken off; a header the caller sets with another value
    (e.g. for another API on the same httpx client) goes where the caller sends it."""
    name, _ = _credential(case)
    rec = Recorder()
    client = _mocked(case, "http://api.example", rec)
    await _get(client, mode, "http://other.example/z", headers={name: "theirs"})
    assert rec.seen[0][1][name] == "theirs"


@pytest.mark.parametrize("case", AUTHENTICATED, ids=str)
async def test_per_request_auth_override_is_not_overwritten_at_home(case: Case, mode: str) -> None:
    rec = Recorder()
    client = _mocked(case, "http://api.example", rec)
    await _get(client, mode, "/x", auth=None)
    assert rec.carried(case) == [("http://api.example/x", False)]


@pytest.mark.parametrize("case", AUTHENTICATED, ids=str)
def test_guard_hook_is_installed_once_and_callers_hooks_kept(case: Case) -> None:
    seen: list[str] = []
    http = httpx.Client(
        base_url="http://api.example",
        transport=httpx.MockTransport(Recorder()),
        event_hooks={"request": [lambda r: seen.append(str(r.url))]},
    )
    first = case.client("http://unused.invalid").set_httpx_client(http)
    case.client("http://unused.invalid").set_httpx_client(http)
    first.set_httpx_client(http)
    hooks = http.event_hooks["request"]
    assert len(hooks) == 2
    assert hooks[-1].__self__ is http.auth  # the guard of the auth in force, run last
    http.get("/x")
    assert seen == ["http://api.example/x"]
    assert case.token not in repr(http.event_hooks)
    assert case.token not in repr(http.auth)


@pytest.mark.parametrize("case", AUTHENTICATED, ids=str)
def test_own_httpx_client_without_base_url_uses_the_clients(case: Case) -> None:
    rec = Recorder()
    client = case.client("http://api.example").set_httpx_client(httpx.Client(transport=httpx.MockTransport(rec)))
    client.get_httpx_client().get("http://api.example/x")
    client.get_httpx_client().get("http://other.example/x")
    assert rec.carried(case) == [("http://api.example/x", True), ("http://other.example/x", False)]


# --- timeouts -----------------------------------------------------------------------------------------


def _all_finite(timeout: httpx.Timeout) -> bool:
    return all(t is not None and 0 < t < 600 for t in (timeout.connect, timeout.read, timeout.write, timeout.pool))


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("kind", ["Client", "AuthenticatedClient"])
def test_default_timeout_is_finite(case: Case, kind: str) -> None:
    cls = getattr(case.module(), kind)
    client = cls(base_url="http://127.0.0.1:9") if kind == "Client" else cls(base_url="http://127.0.0.1:9", token="t")
    assert _all_finite(client.get_httpx_client().timeout)
    assert _all_finite(client.get_async_httpx_client().timeout)


async def test_timeout_is_enforced(mode: str) -> None:
    """A server that never answers ends in httpx.TimeoutException, not a hang."""
    import socket  # noqa: PLC0415

    case = BY_NAME["artos"]
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        client = case.client(f"http://127.0.0.1:{port}", timeout=httpx.Timeout(0.3))
        with pytest.raises(httpx.TimeoutException):
            await fetch(case, client, mode)


# --- paths -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_request_path_is_the_documented_one(case: Case, mode: str, canned_server) -> None:
    await fetch_one(case, canned_server, mode, Canned(200, case.examples[0]))
    assert canned_server.requests[-1].path == case.path


NASTY = "a/b c?d#e%f&g=h"
QUOTED = quote(NASTY, safe="")


@pytest.mark.parametrize(
    ("provider", "args", "path"),
    [
        ("artos", {"document_id": NASTY}, f"/api/v1/documents/status/{QUOTED}"),
        ("neurolinker", {"document_id": NASTY}, f"/v1/document-status/{QUOTED}"),
        ("markdown2pdf", {"job_id": NASTY}, f"/job/{QUOTED}/status"),
        (
            "aitronos",
            {"organization_id": "org/1", "store_id": "vs 2", "file_id": "file?3"},
            "/v1/organizations/org%2F1/stores/vs%202/files/file%3F3/status",
        ),
    ],
)
async def test_ids_are_url_quoted(provider: str, args: dict[str, str], path: str, mode: str, canned_server) -> None:
    case = BY_NAME[provider]
    canned_server.reply(Canned(520, b""))  # undocumented for all five: parsed None, no body needed
    await fetch(case, case.client(canned_server.base_url), mode, **args)
    assert canned_server.requests[-1].path == path
    assert QUOTED == "a%2Fb%20c%3Fd%23e%25f%26g%3Dh"


def test_sarvam_job_id_is_a_plain_string_parameter() -> None:
    # specs/sarvam/patches.yaml removes `format: uuid`: the SDK types job_id as str.
    import inspect  # noqa: PLC0415

    op = BY_NAME["sarvam"].op()
    assert inspect.signature(op.sync_detailed).parameters["job_id"].annotation in ("str", str)


@pytest.mark.parametrize("bad_id", ["..", "."])
async def test_dot_segment_ids_stay_in_their_segment(bad_id: str, canned_server) -> None:
    case = BY_NAME["artos"]
    canned_server.reply(Canned(404, b""))
    await fetch(case, case.client(canned_server.base_url), "sync", document_id=bad_id)
    assert canned_server.requests[-1].path.startswith("/api/v1/documents/status/")
    assert canned_server.requests[-1].path != "/api/v1/documents/status/"


# --- every documented status is handled, none crashes ---------------------------------------------


def _documented_statuses(provider: str) -> list[int]:
    path = _page_path(provider)
    return sorted(int(s) for s in path["get"]["responses"])


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_documented_status_is_parsed_by_the_client(case: Case) -> None:
    """The operation module has a branch for each status in the spec (no silent None)."""
    import inspect  # noqa: PLC0415

    source = inspect.getsource(case.op()._parse_response)
    for status in _documented_statuses(case.provider):
        assert f"response.status_code == {status}" in source


def _deep(body: dict[str, Any], mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copied = copy.deepcopy(body)
    mutate(copied)
    return copied


async def test_sarvam_nested_malformed_page_error(mode: str, canned_server) -> None:
    case = BY_NAME["sarvam"]
    body = _deep(SARVAM_EXAMPLE, lambda b: b["job_details"][0]["page_errors"][0].pop("page_number"))
    with pytest.raises(case.module("errors").MalformedResponse) as info:
        await fetch_one(case, canned_server, mode, Canned(200, body))
    assert "page_number" in info.value.reason
