"""The simulator's answers conform to each provider's spec in specs/, checked by schemathesis.

Two kinds of checks, for every provider:

- targeted: every phase of every ready-made script, missing and wrong credentials, unknown and
  malformed ids, and the faults a spec documents (Sarvam's 429/500/503, Artos's 500) are fetched
  from the running simulator and validated with ``case.validate_response`` (status code, content
  type, body schema, headers);
- generated: schemathesis draws requests from each spec (random ids) and validates every answer.

Where a spec documents nothing, the simulator's choice is asserted instead (and recorded in
each provider's module, ``docstatus.simulator._providers.<provider>``): Artos 401, Neurolinker 401 and 404.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
import yaml
from _simulator_support import (
    OPERATION,
    PROVIDER_SCRIPTS,
    PROVIDERS,
    SPECS,
    auth_headers,
    fresh,
    job_id_of,
    path_params,
    serve,
)
from docstatus.simulator import SCRIPTS, Fault, Simulator
from hypothesis import HealthCheck, settings
from schemathesis.core.failures import FailureGroup

if TYPE_CHECKING:
    from collections.abc import Iterator

SCHEMAS = {p: schemathesis.openapi.from_path(SPECS / p / "openapi.yaml") for p in PROVIDERS}
DOCUMENTED = {
    p: {
        int(code)
        for code in yaml.safe_load((SPECS / p / "openapi.yaml").read_text())["paths"][OPERATION[p]]["get"]["responses"]
    }
    for p in PROVIDERS
}
#: Statuses the simulator serves that a spec does not document (its recorded choices).
UNDOCUMENTED_CHOICES = {"artos": {401}, "neurolinker": {401, 404}}
#: schemathesis's positive_data_acceptance expects a schema-valid id to be accepted (2xx/404);
#: markdown2pdf's spec types job_id as a plain string but documents a 422 for it, so the
#: simulator rejects ids that are not UUIDs (its JobStatus.id is a UUID) with that 422.
STRICTER_IDS = {"markdown2pdf"}


@pytest.fixture(scope="module")
def running_sim() -> Iterator[Simulator]:
    yield from serve()


@pytest.fixture
def sim(running_sim: Simulator) -> Iterator[Simulator]:
    yield from fresh(running_sim)


def operation(provider: str) -> Any:
    return SCHEMAS[provider][OPERATION[provider]]["GET"]


def call(sim: Simulator, provider: str, job_id: str, headers: dict[str, str] | None = None) -> tuple[Any, Any]:
    case = operation(provider).Case(
        path_parameters=path_params(provider, job_id),
        headers=auth_headers(sim, provider) if headers is None else headers,
    )
    return case, case.call(base_url=sim.base_url(provider))


def conforms(case: Any, response: Any) -> None:
    """Validate with every schemathesis check; the failure message is schemathesis's report."""
    try:
        case.validate_response(response)
    except FailureGroup as exc:
        pytest.fail(str(exc), pytrace=False)


def test_documented_statuses_are_read_from_the_specs():
    assert {
        "aitronos": {200, 401, 403, 404},
        "artos": {200, 404, 500},
        "markdown2pdf": {200, 404, 422},
        "neurolinker": {200},
        "sarvam": {200, 400, 403, 404, 429, 500, 503},  # 404 documented since e386626
    } == DOCUMENTED


@pytest.mark.parametrize(("provider", "script"), PROVIDER_SCRIPTS)
def test_every_phase_of_every_script_conforms(sim, provider, script):
    phases = SCRIPTS[provider][script].phases
    ref = sim.create_job(provider, script, step=10)
    seen = []
    for index, phase in enumerate(phases):
        case, response = call(sim, provider, job_id_of(ref))
        assert response.status_code == 200
        body = response.json()
        state = body["job_state" if provider == "sarvam" else "status"]
        assert state == phase.state
        seen.append(state)
        if phase.off_spec:
            # the deliberate off-spec case: the body breaks the spec in its state, and only there
            with pytest.raises(FailureGroup) as failed:
                case.validate_response(response)
            assert "Response violates schema" in str(failed.value)
            assert repr(phase.state) in str(failed.value) or phase.state in str(failed.value)
        else:
            conforms(case, response)
        if index < len(phases) - 1:
            sim.clock.advance(10)
    assert seen == [p.state for p in phases]


@pytest.mark.parametrize("provider", [p for p in PROVIDERS if p != "markdown2pdf"])
@pytest.mark.parametrize("credential", ["missing", "wrong"])
def test_missing_or_wrong_credentials(sim, provider, credential):
    ref = sim.create_job(provider, "happy_path")
    headers = {} if credential == "missing" else auth_headers(sim, provider, token="not-the-token")
    case, response = call(sim, provider, job_id_of(ref), headers)
    expected = {"sarvam": 403}.get(provider, 401)
    assert response.status_code == expected
    body = response.json()
    if expected in DOCUMENTED[provider]:
        conforms(case, response)
    else:
        assert expected in UNDOCUMENTED_CHOICES[provider]
        assert isinstance(body["detail"], str)
        assert body["detail"]
    if provider == "sarvam":
        assert body["error"]["code"] == "invalid_api_key_error"
    if provider == "aitronos":
        code = "AUTHENTICATION_REQUIRED" if credential == "missing" else "INVALID_ACCESS_TOKEN"
        assert body["success"] is False
        assert body["error"]["code"] == code
        assert body["error"]["status"] == 401


def test_bearer_scheme_is_case_insensitive_and_other_schemes_are_refused(sim):
    ref = sim.create_job("artos", "happy_path")
    token = sim.tokens["artos"]
    _, ok = call(sim, "artos", job_id_of(ref), {"Authorization": f"bearer {token}"})
    assert ok.status_code == 200
    _, basic = call(sim, "artos", job_id_of(ref), {"Authorization": f"Basic {token}"})
    assert basic.status_code == 401
    _, sarvam_bearer = call(sim, "sarvam", "5b1f0c9e-8c1d-4a7e-9f6a-2d3b4c5d6e7f", auth_headers(sim, "artos"))
    assert sarvam_bearer.status_code == 403


UNKNOWN_IDS = {
    "aitronos": "org_x/vs_y/file_nope",
    "artos": "no-such-document",
    "markdown2pdf": "0b7e6a57-1b9e-4e6f-8a2f-3d9c1f0e2a11",
    "neurolinker": "no-such-document",
    "sarvam": "0b7e6a57-1b9e-4e6f-8a2f-3d9c1f0e2a11",
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_unknown_job(sim, provider):
    case, response = call(sim, provider, UNKNOWN_IDS[provider])
    assert response.status_code == 404
    if 404 in DOCUMENTED[provider]:
        conforms(case, response)
    else:
        assert 404 in UNDOCUMENTED_CHOICES[provider]
    if provider in ("artos", "neurolinker"):
        assert response.json() == {"detail": "Document not found"}
    if provider == "aitronos":
        error = response.json()["error"]
        assert error["code"] == "FILE_NOT_IN_STORE"
        assert error["details"] == {"file_id": "file_nope", "store_id": "vs_y"}
        assert set(error) == {
            "code",
            "message",
            "system_message",
            "type",
            "status",
            "details",
            "trace_id",
            "timestamp",
        }
    if provider == "markdown2pdf":
        assert response.content == b""
    if provider == "sarvam":  # the documented 404: the legacy error envelope (specs/sarvam/NOTES.md row 4)
        error = response.json()["error"]
        assert error["code"] == "invalid_request_error"
        assert error["message"] == f"Job {UNKNOWN_IDS[provider]} not found"


def test_malformed_ids_get_the_documented_error(sim):
    case, response = call(sim, "markdown2pdf", "not-a-uuid")
    assert response.status_code == 422
    conforms(case, response)
    assert response.json()["detail"][0]["loc"] == ["path", "job_id"]


def test_a_sarvam_id_that_is_not_a_uuid_is_a_plain_string(sim):
    """The spec types job_id as a string (e386626): any id is looked up, none is a 400."""
    case, response = call(sim, "sarvam", "not-a-uuid")
    assert response.status_code == 404
    conforms(case, response)
    ref = sim.create_job("sarvam", job_id="job-0042")
    case, response = call(sim, "sarvam", job_id_of(ref))
    assert response.status_code == 200
    assert response.json()["job_id"] == "job-0042"
    conforms(case, response)


DOCUMENTED_FAULTS = [
    ("sarvam", Fault.rate_limit(3), "rate_limit_exceeded_error"),
    ("sarvam", Fault.error(500), "internal_server_error"),
    ("sarvam", Fault.error(503, retry_after=2), "high_load_error"),
    ("artos", Fault.error(500), None),
]


@pytest.mark.parametrize(("provider", "fault", "code"), DOCUMENTED_FAULTS, ids=lambda v: getattr(v, "kind", v))
def test_faults_the_spec_documents_conform(sim, provider, fault, code):
    ref = sim.create_job(provider, "happy_path")
    sim.inject(fault, ref=ref)
    case, response = call(sim, provider, job_id_of(ref))
    assert response.status_code == fault.status
    # not_a_server_error flags every 5xx by design; the rest of the checks must pass
    checks = [c for c in _all_checks() if c.__name__ != "not_a_server_error"]
    try:
        case.validate_response(response, checks=checks)
    except FailureGroup as exc:
        pytest.fail(str(exc), pytrace=False)
    if code is not None:
        assert response.json()["error"]["code"] == code


def _all_checks() -> list[Any]:
    from schemathesis.checks import CHECKS, load_all_checks  # noqa: PLC0415

    load_all_checks()
    return list(CHECKS.get_all())


def test_every_served_status_is_documented_or_a_recorded_choice(sim):
    """Across the targeted requests of this module, no provider answered an unexpected status."""
    for provider in PROVIDERS:
        ref = sim.create_job(provider, "happy_path")
        for headers in (auth_headers(sim, provider), {}, auth_headers(sim, provider, token="x")):
            for job_id in (job_id_of(ref), UNKNOWN_IDS[provider]):
                call(sim, provider, job_id, headers)
    served: dict[str, set[int]] = {}
    for record in sim.requests:
        served.setdefault(record.provider, set()).add(record.status)
    for provider in PROVIDERS:
        allowed = DOCUMENTED[provider] | UNDOCUMENTED_CHOICES.get(provider, set())
        assert served[provider] <= allowed, provider
        assert 200 in served[provider]


# --- generated requests: schemathesis draws path parameters from each spec


def _generated(provider: str) -> Any:
    @SCHEMAS[provider].parametrize()
    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def test(case: Any, running_sim: Simulator) -> None:
        headers = auth_headers(running_sim, provider)
        from schemathesis.specs.openapi.checks import (  # noqa: PLC0415
            positive_data_acceptance,
            status_code_conformance,
        )

        excluded = []
        if provider in UNDOCUMENTED_CHOICES:
            excluded.append(status_code_conformance)
        if provider in STRICTER_IDS:
            excluded.append(positive_data_acceptance)
        response = case.call(base_url=running_sim.base_url(provider), headers=headers)
        if case.method.upper() != "GET":  # schemathesis also tries methods the spec does not list
            assert response.status_code == 405
            assert response.headers["allow"] == ["GET"]
        else:
            assert response.status_code in DOCUMENTED[provider] | UNDOCUMENTED_CHOICES.get(provider, set())
        try:
            case.validate_response(
                response, headers=headers, excluded_checks=excluded, transport_kwargs={"headers": headers}
            )
        except FailureGroup as exc:
            pytest.fail(str(exc), pytrace=False)
        if response.status_code == 200:  # only a job the simulator has can answer 200
            assert json.loads(response.content)

    return test


test_generated_aitronos = _generated("aitronos")
test_generated_artos = _generated("artos")
test_generated_markdown2pdf = _generated("markdown2pdf")
test_generated_neurolinker = _generated("neurolinker")
test_generated_sarvam = _generated("sarvam")


# --- sarvam_docai (the sixth provider) and Aitronos's SDK path: same checks, their own helpers

DOCAI_SPEC = SPECS / "sarvam_docai" / "openapi.yaml"
DOCAI_PATH = "/doc-ai/v1/job/{job_id}/status"
VS_PATH = "/v1/organizations/{organization_id}/vector-stores/{vector_store_id}/files/{file_id}/status"


def _docai() -> Any:
    return schemathesis.openapi.from_path(DOCAI_SPEC)[DOCAI_PATH]["GET"]


needs_docai = pytest.mark.skipif("sarvam_docai" not in SCRIPTS, reason="no sarvam_docai provider in this tree")


@needs_docai
@pytest.mark.parametrize("script", sorted(SCRIPTS.get("sarvam_docai", {})))
def test_sarvam_docai_every_phase_conforms(sim, script):
    phases = SCRIPTS["sarvam_docai"][script].phases
    ref = sim.create_job("sarvam_docai", script, step=10)
    for phase in phases:
        case = _docai().Case(
            path_parameters={"job_id": job_id_of(ref)}, headers={"api-subscription-key": "sim-sarvam-key"}
        )
        response = case.call(base_url=sim.base_url("sarvam_docai"))
        assert response.json()["status"] == phase.state
        if phase.off_spec:
            with pytest.raises(FailureGroup):
                case.validate_response(response)
        else:
            conforms(case, response)
        sim.clock.advance(10)


@needs_docai
@pytest.mark.parametrize(
    ("headers", "job", "status"), [({}, True, 403), ({"api-subscription-key": "x"}, True, 403), (None, False, 404)]
)
def test_sarvam_docai_errors_conform(sim, headers, job, status):
    ref = sim.create_job("sarvam_docai") if job else "sarvam_docai:no-such-job"
    case = _docai().Case(
        path_parameters={"job_id": job_id_of(ref)},
        headers={"api-subscription-key": sim.tokens["sarvam_docai"]} if headers is None else headers,
    )
    response = case.call(base_url=sim.base_url("sarvam_docai"))
    assert response.status_code == status
    assert response.headers["content-type"] == ["application/problem+json"]
    conforms(case, response)


@needs_docai
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@schemathesis.openapi.from_path(DOCAI_SPEC).parametrize()
def test_generated_sarvam_docai(case, running_sim):
    headers = {"api-subscription-key": running_sim.tokens["sarvam_docai"]}
    response = case.call(base_url=running_sim.base_url("sarvam_docai"), headers=headers)
    if case.method.upper() != "GET":
        assert response.status_code == 405
        return
    assert response.status_code in (200, 403, 404)  # 403: a key schemathesis generated itself
    try:
        case.validate_response(response, headers=headers, transport_kwargs={"headers": headers})
    except FailureGroup as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.mark.parametrize("auth", ["bearer", "x-api-key"])
@pytest.mark.parametrize("script", sorted(SCRIPTS["aitronos"]))
def test_aitronos_vector_stores_path_conforms(sim, script, auth):
    op = SCHEMAS["aitronos"][VS_PATH]["GET"]
    token = sim.tokens["aitronos"]
    headers = {"Authorization": f"Bearer {token}"} if auth == "bearer" else {"X-API-Key": token}
    ref = sim.create_job("aitronos", script, step=10)
    org, store, file = job_id_of(ref).split("/")
    for phase in SCRIPTS["aitronos"][script].phases:
        case = op.Case(
            path_parameters={"organization_id": org, "vector_store_id": store, "file_id": file}, headers=headers
        )
        response = case.call(base_url=sim.base_url("aitronos"))
        assert response.json()["data"]["status"] == phase.state
        if phase.off_spec:
            with pytest.raises(FailureGroup):
                case.validate_response(response)
        else:
            conforms(case, response)
        sim.clock.advance(10)
