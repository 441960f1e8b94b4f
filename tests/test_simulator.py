"""The simulator itself: clock, scripts, faults, the HTTP control surface, routing, lifecycle
(bounded start and stop), the request log, and import costs."""

from __future__ import annotations

import email.utils
import json
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httpx
import pytest
from _simulator_support import PROVIDERS, auth_headers, fresh, job_id_of, serve, url_of
from conftest import tls
from docstatus._status import PROVIDERS as ALL_PROVIDERS  # the simulator serves every provider docstatus knows
from docstatus.simulator import (
    DEFAULT_TOKENS,
    MAX_ADVANCE,
    MAX_COUNT,
    MAX_DELAY,
    MAX_OFFSET,
    MAX_RETRY_AFTER,
    SCRIPTS,
    Clock,
    Fault,
    PageCounts,
    PageFailure,
    Phase,
    Script,
    Simulator,
    SimulatorError,
    script,
)
from docstatus.simulator._app import TRANSPORT_KEY, SimulatorApp
from docstatus.simulator._providers import PROVIDER_SIMS
from docstatus.simulator._state import State

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.anyio


def http_request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.request``: a new client and connection per call, with the shared TLS context
    (``conftest.tls``: a new one per call was most of this file's CPU time)."""
    return httpx.request(method, url, verify=tls(), **kwargs)


def http_get(url: str, **kwargs: Any) -> httpx.Response:
    return http_request("GET", url, **kwargs)


def http_post(url: str, **kwargs: Any) -> httpx.Response:
    return http_request("POST", url, **kwargs)


@pytest.fixture(scope="module")
def running_sim() -> Iterator[Simulator]:
    yield from serve()


@pytest.fixture
def sim(running_sim: Simulator) -> Iterator[Simulator]:
    yield from fresh(running_sim)


def control(sim: Simulator, method: str, path: str, body: Any = None) -> httpx.Response:
    return http_request(method, sim.url + path, json=body, timeout=5)


# --- clock


def _short_id(value: object) -> str:
    return value.__name__ if isinstance(value, type) else repr(value)[:24]


def test_clock_follows_real_time_by_default():
    clock = Clock()
    before = time.time()
    assert before - 1e-6 <= clock.now() <= time.time() + 1e-6  # read between two real-time readings
    assert not clock.frozen


def test_clock_advance_freeze_unfreeze_reset():
    clock = Clock()
    clock.freeze()
    now = clock.now()
    time.sleep(0.02)
    assert clock.now() == now  # frozen: real time does not move it
    assert clock.advance(10) == pytest.approx(now + 10)
    # Bounds measured around each call, not a fixed tolerance: a loaded machine may pause anywhere.
    before = time.monotonic()
    clock.unfreeze()  # no jump back or forward
    moved = clock.now() - (now + 10)
    assert -1e-6 <= moved <= time.monotonic() - before + 1e-6
    clock.reset()
    low = time.time()
    reset_now = clock.now()
    assert low - 1e-6 <= reset_now <= time.time() + 1e-6
    assert clock.datetime().tzinfo is not None


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (-1, ValueError),
        (-1e-9, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (float("-inf"), ValueError),
        (1e308, ValueError),  # issue 9: broke every later clock and job call until reset
        (MAX_ADVANCE * 1.000001, ValueError),
        (10**400, ValueError),  # an int too large for a float
        ("1", TypeError),
        (True, TypeError),
        (None, TypeError),
        ([1], TypeError),
    ],
    ids=_short_id,
)
def test_clock_only_moves_forward_by_bounded_seconds(bad, error):
    clock = Clock()
    clock.freeze()
    before = (clock.offset, clock.now())
    with pytest.raises(error, match="only moves forward"):
        clock.advance(bad)
    assert (clock.offset, clock.now()) == before  # state unchanged
    assert clock.advance(1) == before[1] + 1  # and it still works
    assert clock.datetime().year == time.gmtime(before[1] + 1).tm_year


def test_clock_advance_is_capped_in_total_and_every_date_stays_valid():
    clock = Clock()
    clock.freeze()
    start = clock.now()
    steps = round(MAX_OFFSET / MAX_ADVANCE)
    for _ in range(steps):
        clock.advance(MAX_ADVANCE)  # the largest single move is allowed, again and again
    assert clock.offset == pytest.approx(MAX_OFFSET)
    with pytest.raises(ValueError, match="reset"):
        clock.advance(MAX_ADVANCE)
    assert clock.offset == pytest.approx(MAX_OFFSET)  # unchanged by the refusal
    assert clock.datetime().year - time.gmtime(start).tm_year in (1000, 1001)  # a valid date, a thousand years on
    clock.reset()
    assert clock.offset == 0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"offset": 1e308}, ValueError),
        ({"offset": -1e308}, ValueError),
        ({"offset": float("nan")}, ValueError),
        ({"offset": MAX_OFFSET * 2}, ValueError),
        ({"offset": "5"}, TypeError),
        ({"offset": True}, TypeError),
        ({"frozen_at": float("inf")}, ValueError),
        ({"frozen_at": 1e308}, ValueError),
        ({"frozen_at": -1.0}, ValueError),
        ({"frozen_at": "now"}, TypeError),
    ],
)
def test_clock_fields_are_checked(kwargs, error):
    with pytest.raises(error, match="Clock"):
        Clock(**kwargs)


# --- scripts, phases


def test_script_timeline():
    s = Script(name="s", phases=[Phase(state="a", duration=1), Phase(state="b", duration=2), Phase(state="c")])
    assert [s.index_at(t) for t in (0, 0.99, 1, 2.99, 3, 1e9)] == [
        (0, 0),
        (0, 0),
        (1, 1),
        (1, 1),
        (2, 3),
        (2, 3),
    ]
    assert s.length == 3
    assert s.with_step(5).index_at(9.9) == (1, 5)
    zero = Script(name="z", phases=[Phase(state="a", duration=0), Phase(state="b")])
    assert zero.index_at(0) == (1, 0)


def test_ready_made_scripts():
    assert set(SCRIPTS) == set(ALL_PROVIDERS)
    for provider, scripts in SCRIPTS.items():
        assert {"happy_path", "failure", "unknown_state"} <= set(scripts), provider
        assert [p.off_spec for p in scripts["unknown_state"].phases][-1] is True
        assert not any(p.off_spec for name, s in scripts.items() if name != "unknown_state" for p in s.phases)
    assert {"partial_success", "stuck_accepted"} <= set(SCRIPTS["sarvam"])
    assert [p.state for p in SCRIPTS["sarvam"]["stuck_accepted"].phases] == ["Accepted"]
    assert script("artos", "failure", step=0.5).phases[0].duration == 0.5
    with pytest.raises(ValueError, match="ready-made: happy_path"):
        script("artos", "partial_success")
    with pytest.raises(ValueError, match="unknown provider"):
        script("nope")


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Script(name="x", phases=[]), "no phases"),
        (lambda: Phase(state="a", progress=1.5), "fraction"),
        (lambda: Phase(state="a", duration=-1), "duration must be finite seconds from 0"),
        (lambda: Phase(state="a", duration=1e308), "duration must be finite seconds from 0"),
        (lambda: Phase(state="a", duration=float("inf")), "duration must be finite seconds from 0"),
        (lambda: Phase(state="a", duration=MAX_ADVANCE + 1), "duration must be finite seconds from 0"),
        (lambda: Phase(state="a", duration="2"), "duration must be a number"),
        (lambda: Phase(state="a", duration=True), "duration must be a number"),
        (lambda: Phase(state="a", progress=float("nan")), "fraction"),
        (lambda: Phase(state="a", progress=True), "fraction"),
        (
            lambda: Script(name="x", phases=[Phase(state="a", duration=MAX_ADVANCE)] * 11 + [Phase(state="b")]),
            "more than",
        ),
        (lambda: Phase(state="a", outputs="file.pdf"), "not the string"),
        (lambda: PageCounts(total=2, processed=3), "processed <= total"),
        (lambda: PageCounts(total=2, processed=2, succeeded=2, failed=1), "succeeded \\+ failed"),
        (lambda: PageCounts(total=-1), "integer from 0 to"),
        (lambda: PageCounts(total=10**7), "integer from 0 to"),
        (lambda: PageCounts(total=True), "integer from 0 to"),
    ],
)
def test_values_are_checked(build, match):
    with pytest.raises((ValueError, TypeError), match=match):
        build()


def test_create_job_errors(sim):
    with pytest.raises(ValueError, match="unknown provider"):
        sim.create_job("nope")
    with pytest.raises(ValueError, match="no script 'partial_success'"):
        sim.create_job("artos", "partial_success")
    with pytest.raises(ValueError, match="UUIDs"):
        sim.create_job("markdown2pdf", job_id="not-a-uuid")
    assert sim.create_job("sarvam", job_id="not-a-uuid") == "sarvam:not-a-uuid"  # a plain string in the spec
    with pytest.raises(ValueError, match="org_id/store_id/file_id"):
        sim.create_job("aitronos", job_id="only-one-part")
    with pytest.raises(ValueError, match="without '/'"):
        sim.create_job("artos", job_id="a/b")
    sim.create_job("artos", job_id="mine")
    with pytest.raises(ValueError, match="exists already"):
        sim.create_job("artos", job_id="mine")
    with pytest.raises(TypeError, match="Fault values"):
        sim.create_job("artos", faults=["429"])  # type: ignore[list-item]


def test_a_state_the_spec_does_not_list_needs_off_spec(sim):
    with pytest.raises(ValueError, match=r"States the spec lists: Pending, Ingesting, Generating, Ready, Failed"):
        sim.create_job("artos", Script(name="typo", phases=[Phase(state="Readyy")]))
    with pytest.raises(ValueError, match="is documented"):
        sim.create_job("artos", Script(name="x", phases=[Phase(state="Ready", off_spec=True)]))
    ref = sim.create_job("artos", Script(name="x", phases=[Phase(state="Readyy", off_spec=True)]))
    assert (
        http_get(url_of(sim, "artos", job_id_of(ref)), headers=auth_headers(sim, "artos")).json()["status"] == "Readyy"
    )


def test_phase_fields_are_validated_by_the_generated_model(sim):
    with pytest.raises(ValueError, match="storage_container_type"):
        sim.create_job(
            "sarvam",
            Script(name="x", phases=[Phase(state="Running", fields={"storage_container_type": "S3"})]),
        )
    ref = sim.create_job(
        "sarvam",
        Script(name="x", phases=[Phase(state="Running", fields={"storage_container_type": "Google"})]),
    )
    body = http_get(url_of(sim, "sarvam", job_id_of(ref)), headers=auth_headers(sim, "sarvam")).json()
    assert body["storage_container_type"] == "Google"


def test_custom_script_with_pages_and_outputs(sim):
    custom = Script(
        name="two_pages",
        phases=[
            Phase(state="Running", duration=1, pages=PageCounts(total=2, processed=1, succeeded=1)),
            Phase(
                state="PartiallyCompleted",
                pages=PageCounts(
                    total=2,
                    processed=2,
                    succeeded=1,
                    failed=1,
                    errors=[PageFailure(page=2, code="X", message="bad")],
                ),
                outputs=["a.md"],
            ),
        ],
    )
    ref = sim.create_job("sarvam", custom)
    sim.clock.advance(1)
    body = http_get(url_of(sim, "sarvam", job_id_of(ref)), headers=auth_headers(sim, "sarvam")).json()
    detail = body["job_details"][0]
    assert detail["state"] == "PartialSuccess"
    assert detail["page_errors"] == [{"page_number": 2, "error_code": "X", "error_message": "bad"}]
    assert [o["file_name"] for o in detail["outputs"]] == ["a.md"]
    assert sim.job(ref).state == "PartiallyCompleted"
    assert sim.job(ref).phase == 1


# --- faults


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Fault.rate_limit(count=0), "count"),
        (lambda: Fault.rate_limit(-1), "retry_after"),
        (lambda: Fault.rate_limit(1e308), "retry_after"),
        (lambda: Fault.rate_limit(MAX_RETRY_AFTER + 1, form="http-date"), "retry_after"),
        (lambda: Fault.rate_limit(float("nan")), "retry_after"),
        (lambda: Fault.rate_limit(retry_after=True), "retry_after"),  # type: ignore[arg-type]
        (lambda: Fault.error(503, retry_after=float("inf")), "retry_after"),
        (lambda: Fault.rate_limit(count=True), "count"),  # type: ignore[arg-type]
        (lambda: Fault.rate_limit(count=MAX_COUNT + 1), "count"),
        (lambda: Fault.rate_limit(count=2.0), "count"),  # type: ignore[arg-type]
        (lambda: Fault.error(status=True), "does not fit"),  # type: ignore[arg-type]
        (lambda: Fault.slow(delay=True), "delay"),  # type: ignore[arg-type]
        (lambda: Fault.slow(float("nan")), "delay"),
        (lambda: Fault.slow(1e308), "delay"),
        (lambda: Fault.rate_limit(1, form="date"), "retry_after_form"),  # type: ignore[arg-type]
        (lambda: Fault.error(200), "does not fit"),
        (lambda: Fault.error(600), "does not fit"),
        (lambda: Fault.slow(0), "delay"),
        (lambda: Fault.slow(MAX_DELAY + 1), "delay"),
        (lambda: Fault(kind="explode"), "unknown fault kind"),  # type: ignore[arg-type]
        (lambda: Fault(kind="drop", delay=1), "only a slow fault"),
        (lambda: Fault.html(100), "does not fit"),
    ],
)
def test_faults_are_checked(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_inject_errors(sim):
    with pytest.raises(ValueError, match="unknown provider"):
        sim.inject(Fault.drop(), provider="nope")
    ref = sim.create_job("artos")
    with pytest.raises(ValueError, match="is not a sarvam job"):
        sim.inject(Fault.drop(), provider="sarvam", ref=ref)
    with pytest.raises(TypeError):
        sim.inject("drop")  # type: ignore[arg-type]


def test_slow_fault_answers_after_its_delay(sim):
    ref = sim.create_job("markdown2pdf")
    sim.inject(Fault.slow(0.3), ref=ref)
    started = time.monotonic()
    response = http_get(url_of(sim, "markdown2pdf", job_id_of(ref)), timeout=5)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_truncated_body_declares_more_than_it_sends(sim):
    ref = sim.create_job("artos")
    sim.inject(Fault.truncated(), ref=ref)
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as conn:
        path = url_of(sim, "artos", job_id_of(ref)).split(str(sim.port), 1)[1]
        token = sim.tokens["artos"]
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    )
    assert head.startswith(b"HTTP/1.1 200")
    assert 0 < len(body) < length


def test_dropped_connection_sends_nothing(sim):
    sim.inject(Fault.drop(), provider="neurolinker")
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as conn:
        conn.sendall(b"GET /neurolinker/v1/document-status/x HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.recv(65536) == b""


def test_html_fault(sim):
    ref = sim.create_job("sarvam")
    sim.inject(Fault.html(200), ref=ref)
    response = http_get(url_of(sim, "sarvam", job_id_of(ref)), headers=auth_headers(sim, "sarvam"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html"
    assert response.text.startswith("<!DOCTYPE html>")


# --- routing


def test_unknown_paths_and_methods(sim):
    response = http_get(sim.url + "/nope/x")
    assert response.status_code == 404
    assert "/_sim/" in response.json()["detail"]
    response = http_get(sim.url + "/artos/api/v1/documents/x", headers=auth_headers(sim, "artos"))
    assert response.status_code == 404
    ref = sim.create_job("artos")
    response = http_post(url_of(sim, "artos", job_id_of(ref)), headers=auth_headers(sim, "artos"))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert [r.outcome for r in sim.requests] == ["no_route", "no_route", "method_not_allowed"]


def test_ids_are_percent_decoded_per_segment(sim):
    ref = sim.create_job("aitronos", job_id="org_1/vs_2/file_%3F")
    assert job_id_of(ref) == "org_1/vs_2/file_%3F"
    encoded = sim.base_url("aitronos") + "/v1/organizations/org_1/stores/vs_2/files/file_%253F/status"
    assert http_get(encoded, headers=auth_headers(sim, "aitronos")).status_code == 200
    artos = sim.create_job("artos", job_id="a?b#c%d")
    response = http_get(
        sim.base_url("artos") + "/api/v1/documents/status/a%3Fb%23c%25d", headers=auth_headers(sim, "artos")
    )
    assert response.json()["task_id"] == job_id_of(artos)


def test_sarvam_ids_match_in_any_case(sim):
    ref = sim.create_job("sarvam")
    upper = job_id_of(ref).upper()
    url = sim.base_url("sarvam") + f"/doc-digitization/job/v1/{upper}/status"
    assert http_get(url, headers=auth_headers(sim, "sarvam")).status_code == 200


def test_app_is_plain_asgi_without_a_server():
    sim = Simulator()
    ref = sim.create_job("artos")
    transport = httpx.ASGITransport(app=sim.app)

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.get(
                f"/artos/api/v1/documents/status/{job_id_of(ref)}",
                headers={"Authorization": f"Bearer {DEFAULT_TOKENS['artos']}"},
            )

    import anyio  # noqa: PLC0415

    response = anyio.run(go)
    assert response.status_code == 200
    assert response.json()["status"] == "Pending"


async def test_drop_outside_its_own_server_raises():
    state = State()
    state.add_fault(Fault.drop())
    app = SimulatorApp(state)
    scope = {"type": "http", "method": "GET", "path": "/artos/api/v1/documents/status/x", "headers": []}
    assert TRANSPORT_KEY not in scope

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("nothing must be sent")

    with pytest.raises(RuntimeError, match="own server"):
        await app(scope, receive, send)


# --- control surface over HTTP


def test_control_index_and_scripts(sim):
    index = control(sim, "GET", "/_sim").json()
    assert set(index["providers"]) == set(ALL_PROVIDERS)
    assert index["providers"]["sarvam"]["status_path"] == "/sarvam/doc-digitization/job/v1/{id}/status"
    assert index["providers"]["aitronos"]["status_path"].endswith("/files/{file}/status")
    assert index["providers"]["markdown2pdf"]["token"] is None
    assert index["clock"]["frozen"] is True
    scripts = control(sim, "GET", "/_sim/scripts").json()
    assert set(scripts["sarvam"]) == set(SCRIPTS["sarvam"])


def test_control_create_job_advance_and_list(sim):
    response = control(sim, "POST", "/_sim/jobs", {"provider": "sarvam", "script": "partial_success", "step": 1})
    assert response.status_code == 201
    ref = response.json()["ref"]
    assert response.json()["job"]["state"] == "Pending"
    assert control(sim, "POST", "/_sim/clock/advance", {"seconds": 5}).status_code == 200
    jobs = control(sim, "GET", "/_sim/jobs").json()["jobs"]
    assert [(j["ref"], j["state"], j["phase"], j["phases"]) for j in jobs] == [(ref, "PartiallyCompleted", 2, 3)]
    body = http_get(url_of(sim, "sarvam", job_id_of(ref)), headers=auth_headers(sim, "sarvam")).json()
    assert body["job_state"] == "PartiallyCompleted"


def test_control_custom_script_and_job_faults(sim):
    response = control(
        sim,
        "POST",
        "/_sim/jobs",
        {
            "provider": "aitronos",
            "job_id": "org_a/vs_b/file_c",
            "script": {
                "name": "mine",
                "phases": [
                    {"state": "processing", "progress": 0.25, "step": "chunking", "duration": 3},
                    {"state": "completed", "progress": 1.0},
                ],
            },
            "faults": [{"kind": "rate_limit", "retry_after": 7, "retry_after_form": "seconds"}],
        },
    )
    assert response.status_code == 201, response.text
    ref = response.json()["ref"]
    assert ref == "aitronos:org_a/vs_b/file_c"
    url = url_of(sim, "aitronos", job_id_of(ref))
    first = http_get(url, headers=auth_headers(sim, "aitronos"))
    assert (first.status_code, first.headers["retry-after"]) == (429, "7")
    assert http_get(url, headers=auth_headers(sim, "aitronos")).json()["progress_percent"] == 25


def test_control_faults(sim):
    response = control(sim, "POST", "/_sim/faults", {"kind": "error", "status": 520, "count": 2, "provider": "artos"})
    assert response.status_code == 201
    assert response.json()["faults"] == [
        {
            "kind": "error",
            "count": 2,
            "status": 520,
            "retry_after": None,
            "retry_after_form": "seconds",
            "delay": 0.0,
            "scope": "artos",
            "remaining": 2,
        }
    ]
    ref = sim.create_job("artos")
    assert http_get(url_of(sim, "artos", job_id_of(ref)), headers=auth_headers(sim, "artos")).status_code == 520
    assert control(sim, "GET", "/_sim/faults").json()["faults"][0]["remaining"] == 1
    assert control(sim, "DELETE", "/_sim/faults").json() == {"faults": []}
    assert http_get(url_of(sim, "artos", job_id_of(ref)), headers=auth_headers(sim, "artos")).status_code == 200
    response = control(sim, "POST", "/_sim/faults", {"kind": "slow", "delay": 0.1, "ref": ref})
    assert response.json()["faults"][0]["scope"] == ref


def test_control_clock_freeze_and_unfreeze(sim):
    assert control(sim, "POST", "/_sim/clock/unfreeze").json()["frozen"] is False
    assert control(sim, "POST", "/_sim/clock/freeze").json()["frozen"] is True
    before = control(sim, "GET", "/_sim/clock").json()
    time.sleep(0.05)
    assert control(sim, "GET", "/_sim/clock").json()["now"] == before["now"]
    after = control(sim, "POST", "/_sim/clock/advance", {"seconds": 2.5}).json()
    assert after["offset"] == pytest.approx(before["offset"] + 2.5)
    assert sim.clock.now() == pytest.approx(sim.clock.frozen_at + after["offset"])


def test_a_request_still_answered_at_a_reset_is_not_logged_after_it(sim):
    """``reset`` forgets every request, also one still being answered: a slow answer that ends
    after the reset (the next test's, under the pytest plugin) is not logged there."""
    ref = sim.create_job("artos")
    sim.inject(Fault.slow(delay=1.0), ref=ref)
    answers: list[int] = []

    def slow_get() -> None:
        answers.append(http_get(url_of(sim, "artos", job_id_of(ref)), headers=auth_headers(sim, "artos")).status_code)

    thread = threading.Thread(target=slow_get)
    thread.start()
    deadline = time.monotonic() + 5
    while sim.faults and time.monotonic() < deadline:  # until the request has taken its fault
        time.sleep(0.01)
    sim.reset()
    thread.join(timeout=10)
    assert answers == [404]  # answered after the reset, which forgot the job
    assert sim.requests == []
    after = url_of(sim, "artos", "after-the-reset")
    http_get(after, headers=auth_headers(sim, "artos"))
    assert [r.path for r in sim.requests] == [httpx.URL(after).path]


def test_control_requests_log_and_reset(sim):
    ref = sim.create_job("sarvam")
    http_get(url_of(sim, "sarvam", job_id_of(ref)), headers=auth_headers(sim, "sarvam"))
    http_get(url_of(sim, "sarvam", job_id_of(ref)), headers=auth_headers(sim, "sarvam", token="wrong-key"))
    log = control(sim, "GET", "/_sim/requests").json()["requests"]
    assert [(r["ref"], r["status"], r["outcome"], r["authorized"]) for r in log] == [
        (ref, 200, "ok", True),
        (ref, 403, "unauthorized", False),
    ]
    assert {r["headers"]["api-subscription-key"] for r in log} == {"***"}
    assert "wrong-key" not in json.dumps(log)
    assert control(sim, "POST", "/_sim/reset").json() == {"reset": True}
    assert control(sim, "GET", "/_sim/jobs").json() == {"jobs": []}
    assert control(sim, "GET", "/_sim/requests").json() == {"requests": []}  # control requests are not logged


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "needle"),
    [
        ("GET", "/_sim/nope", None, 404, "no control route"),
        ("PUT", "/_sim/jobs", {}, 405, "not allowed"),
        ("POST", "/_sim/jobs", {"provider": "artos", "colour": "red"}, 422, "extra_forbidden"),
        ("POST", "/_sim/jobs", {"provider": "nope"}, 400, "unknown provider"),
        ("POST", "/_sim/jobs", {"provider": "artos", "script": "nope"}, 400, "no script"),
        ("POST", "/_sim/faults", {"kind": "slow", "delay": 1000}, 400, "delay"),
        ("POST", "/_sim/faults", {"kind": "drop", "ref": "bad"}, 400, "known provider"),
        ("POST", "/_sim/clock/advance", {"seconds": -1}, 400, "only moves forward"),
    ],
)
def test_control_errors(sim, method, path, body, status, needle):
    response = control(sim, method, path, body)
    assert response.status_code == status
    assert needle in json.dumps(response.json())


def test_control_body_must_be_json_and_bounded(sim):
    response = http_post(sim.url + "/_sim/jobs", content=b"{not json")
    assert response.status_code == 400
    assert "not JSON" in response.json()["detail"]
    response = http_post(sim.url + "/_sim/jobs", content=b" " * (1 << 20 + 1))
    assert response.status_code == 413


# --- hostile control input: every endpoint refuses bad values with a JSON 400/422, changes
# nothing, and every later call still works (issue 9: POST /_sim/clock/advance {"seconds": 1e308}
# answered 500 to every later clock and job call until reset)

_TEN_YEARS_PHASES = [{"state": "Pending", "duration": MAX_ADVANCE}] * 11 + [{"state": "Ready"}]

#: (path, JSON body or raw bytes, status, a word the error names). A raw body is bytes.
_BAD_CONTROL = [
    # clock
    ("/_sim/clock/advance", {"seconds": 1e308}, 400, "ten years"),
    ("/_sim/clock/advance", {"seconds": 1e20}, 400, "ten years"),
    ("/_sim/clock/advance", {"seconds": MAX_ADVANCE + 1}, 400, "ten years"),
    ("/_sim/clock/advance", {"seconds": 10**400}, 422, "seconds"),  # not a float
    ("/_sim/clock/advance", {"seconds": -1}, 400, "only moves forward"),
    ("/_sim/clock/advance", b'{"seconds": Infinity}', 422, "finite_number"),
    ("/_sim/clock/advance", b'{"seconds": -Infinity}', 422, "finite_number"),
    ("/_sim/clock/advance", b'{"seconds": NaN}', 422, "finite_number"),
    ("/_sim/clock/advance", b'{"seconds": 1e999}', 422, "finite_number"),
    ("/_sim/clock/advance", {"seconds": "5"}, 422, "seconds"),
    ("/_sim/clock/advance", {"seconds": True}, 422, "seconds"),
    ("/_sim/clock/advance", {"seconds": None}, 422, "seconds"),
    ("/_sim/clock/advance", {"seconds": [1]}, 422, "seconds"),
    ("/_sim/clock/advance", {}, 422, "missing"),
    ("/_sim/clock/advance", [], 422, "model_type"),
    ("/_sim/clock/advance", None, 422, "missing"),  # no body at all reads as {}
    ("/_sim/clock/advance", {"seconds": 1, "minutes": 2}, 422, "extra_forbidden"),
    ("/_sim/clock/advance", b"{seconds: 1}", 400, "not JSON"),
    ("/_sim/clock/advance", b'{"seconds": ' + b"9" * 5000 + b"}", 400, "not JSON"),
    ("/_sim/clock/advance", b"[" * 100_000, 400, "nested too deeply"),
    ("/_sim/clock/advance", b'{"seconds": 1}\xff', 400, "not JSON"),
    # jobs
    ("/_sim/jobs", {"provider": "neurolinker", "step": 1e308}, 400, "step"),
    ("/_sim/jobs", {"provider": "neurolinker", "step": -1}, 400, "step"),
    ("/_sim/jobs", {"provider": "neurolinker", "step": "2"}, 422, "step"),
    ("/_sim/jobs", {"provider": "neurolinker", "step": True}, 422, "step"),
    ("/_sim/jobs", b'{"provider": "neurolinker", "step": NaN}', 422, "step"),
    ("/_sim/jobs", {}, 422, "provider"),
    ("/_sim/jobs", {"provider": 5}, 422, "provider"),
    ("/_sim/jobs", {"provider": "artos", "job_id": 123}, 422, "job_id"),
    ("/_sim/jobs", {"provider": "artos", "job_id": "x" * 5000}, 400, "at most"),
    ("/_sim/jobs", {"provider": "artos", "job_id": ""}, 400, "non-empty"),
    ("/_sim/jobs", {"provider": "artos", "job_id": "a\x00b"}, 400, "control characters"),
    ("/_sim/jobs", {"provider": "artos", "script": {"phases": []}}, 422, "phases"),
    ("/_sim/jobs", {"provider": "artos", "script": 5}, 422, "script"),
    (
        "/_sim/jobs",
        {"provider": "neurolinker", "script": {"phases": [{"state": "pending", "duration": 1e308}]}},
        400,
        "duration",
    ),
    ("/_sim/jobs", {"provider": "artos", "script": {"phases": _TEN_YEARS_PHASES}}, 400, "hundred years"),
    ("/_sim/jobs", {"provider": "artos", "script": {"phases": [{"state": "Ready", "progress": 2}]}}, 400, "fraction"),
    (
        "/_sim/jobs",
        b'{"provider": "artos", "script": {"phases": [{"state": "Ready", "progress": NaN}]}}',
        422,
        "progress",
    ),
    (
        "/_sim/jobs",
        {"provider": "sarvam", "script": {"phases": [{"state": "Running", "pages": {"total": -1}}]}},
        400,
        "total",
    ),
    (
        "/_sim/jobs",
        {"provider": "sarvam", "script": {"phases": [{"state": "Running", "pages": {"total": 10**7}}]}},
        400,
        "total",
    ),
    (
        "/_sim/jobs",
        {"provider": "sarvam", "script": {"phases": [{"state": "Running", "pages": {"total": 1.5}}]}},
        422,
        "total",
    ),
    ("/_sim/jobs", {"provider": "artos", "faults": [{"kind": "rate_limit", "retry_after": 1e308}]}, 400, "retry_after"),
    ("/_sim/jobs", {"provider": "artos", "faults": "rate_limit"}, 422, "faults"),
    # faults
    ("/_sim/faults", {"kind": "rate_limit", "retry_after": 1e308}, 400, "retry_after"),
    ("/_sim/faults", {"kind": "rate_limit", "retry_after": 1e308, "retry_after_form": "http-date"}, 400, "retry_after"),
    ("/_sim/faults", {"kind": "error", "retry_after": MAX_RETRY_AFTER * 2}, 400, "retry_after"),
    ("/_sim/faults", {"kind": "rate_limit", "retry_after": -1}, 400, "retry_after"),
    ("/_sim/faults", {"kind": "rate_limit", "retry_after": "2"}, 422, "retry_after"),
    ("/_sim/faults", {"kind": "rate_limit", "retry_after": True}, 422, "retry_after"),
    ("/_sim/faults", b'{"kind": "rate_limit", "retry_after": Infinity}', 422, "retry_after"),
    ("/_sim/faults", {"kind": "rate_limit", "retry_after_form": "date"}, 422, "retry_after_form"),
    ("/_sim/faults", {"kind": "rate_limit", "count": 0}, 400, "count"),
    ("/_sim/faults", {"kind": "rate_limit", "count": -5}, 400, "count"),
    ("/_sim/faults", {"kind": "rate_limit", "count": MAX_COUNT + 1}, 400, "count"),
    ("/_sim/faults", {"kind": "rate_limit", "count": 10**30}, 400, "count"),
    ("/_sim/faults", {"kind": "rate_limit", "count": 2.0}, 422, "count"),
    ("/_sim/faults", {"kind": "rate_limit", "count": "3"}, 422, "count"),
    ("/_sim/faults", {"kind": "rate_limit", "count": True}, 422, "count"),
    ("/_sim/faults", {"kind": "slow", "delay": 1e308}, 400, "delay"),
    ("/_sim/faults", {"kind": "slow", "delay": -1}, 400, "delay"),
    ("/_sim/faults", {"kind": "slow", "delay": True}, 422, "delay"),
    ("/_sim/faults", b'{"kind": "slow", "delay": NaN}', 422, "delay"),
    ("/_sim/faults", {"kind": "drop", "delay": 1}, 400, "only a slow fault"),
    ("/_sim/faults", {"kind": "error", "status": 1000}, 400, "does not fit"),
    ("/_sim/faults", {"kind": "error", "status": "500"}, 422, "status"),
    ("/_sim/faults", {"kind": "explode"}, 422, "kind"),
    ("/_sim/faults", {}, 422, "kind"),
    ("/_sim/faults", {"kind": "drop", "provider": 5}, 422, "provider"),
    ("/_sim/faults", {"kind": "drop", "provider": "nope"}, 400, "unknown provider"),
    ("/_sim/faults", {"kind": "drop", "ref": "artos:"}, 400, "expected artos:<document_id>"),
]


def _snapshot(sim: Simulator) -> dict[str, Any]:
    return {path: control(sim, "GET", path).json() for path in ("/_sim/clock", "/_sim/jobs", "/_sim/faults")}


def _post(sim: Simulator, path: str, body: Any) -> httpx.Response:
    if isinstance(body, bytes):
        return http_post(sim.url + path, content=body, timeout=5)
    if body is None:
        return http_post(sim.url + path, timeout=5)
    return control(sim, "POST", path, body)


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"), _BAD_CONTROL, ids=[str(i) for i in range(len(_BAD_CONTROL))]
)
def test_control_refuses_bad_input_and_changes_nothing(sim, path, body, status, needle):
    ref = sim.create_job("neurolinker", step=1.0)  # a provider whose bodies carry dates
    before = _snapshot(sim)
    response = _post(sim, path, body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert detail
    assert needle in json.dumps(detail)
    assert _snapshot(sim) == before  # nothing changed
    # and every later call still works
    moved = control(sim, "POST", "/_sim/clock/advance", {"seconds": 1.5})
    assert moved.status_code == 200
    assert moved.json()["offset"] == pytest.approx(before["/_sim/clock"]["offset"] + 1.5)
    created = control(sim, "POST", "/_sim/jobs", {"provider": "neurolinker", "step": 1.0})
    assert created.status_code == 201
    for job in (ref, created.json()["ref"]):
        answer = http_get(url_of(sim, "neurolinker", job_id_of(job)), headers=auth_headers(sim, "neurolinker"))
        assert answer.status_code == 200
    assert control(sim, "GET", "/_sim/jobs").status_code == 200


def test_control_clock_advance_at_the_limits(sim):
    ref = sim.create_job("neurolinker", step=1.0)
    start = sim.clock.now()
    steps = round(MAX_OFFSET / MAX_ADVANCE)
    for _ in range(steps):
        assert control(sim, "POST", "/_sim/clock/advance", {"seconds": MAX_ADVANCE}).status_code == 200
    refused = control(sim, "POST", "/_sim/clock/advance", {"seconds": 1})
    assert refused.status_code == 400
    assert "reset" in refused.json()["detail"]
    clock = control(sim, "GET", "/_sim/clock").json()
    assert clock["offset"] == pytest.approx(MAX_OFFSET)
    assert int(clock["now"][:4]) - time.gmtime(start).tm_year in (1000, 1001)
    body = http_get(url_of(sim, "neurolinker", job_id_of(ref)), headers=auth_headers(sim, "neurolinker")).json()
    assert body["status"] == "completed"
    created = control(sim, "POST", "/_sim/jobs", {"provider": "neurolinker", "step": MAX_ADVANCE})
    assert created.status_code == 201
    assert control(sim, "POST", "/_sim/reset").status_code == 200
    assert control(sim, "GET", "/_sim/clock").json()["offset"] == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"provider": "neurolinker", "step": 1e308}, ValueError, "step"),
        ({"provider": "neurolinker", "step": float("nan")}, ValueError, "step"),
        ({"provider": "neurolinker", "step": -1}, ValueError, "step"),
        ({"provider": "neurolinker", "step": "1"}, TypeError, "step"),
        ({"provider": "neurolinker", "step": True}, TypeError, "step"),
        ({"provider": "artos", "job_id": 5}, TypeError, "job_id"),
        ({"provider": "artos", "job_id": "x" * 5000}, ValueError, "at most"),
        ({"provider": "artos", "step": MAX_ADVANCE + 1}, ValueError, "step"),
    ],
    ids=lambda v: repr(v)[:40] if isinstance(v, dict) else None,
)
def test_python_api_refuses_bad_input_and_changes_nothing(sim, kwargs, error, match):
    sim.create_job("neurolinker")
    before = (sim.clock.offset, sim.jobs, sim.faults)
    with pytest.raises(error, match=match):
        sim.create_job(**kwargs)
    assert (sim.clock.offset, sim.jobs, sim.faults) == before


@pytest.mark.parametrize(
    ("retry_after", "form", "header"),
    [
        (7, "seconds", "7"),
        (0, "seconds", "0"),
        (0.5, "seconds", "0.5"),
        (2.0, "seconds", "2"),
        (1234567, "seconds", "1234567"),  # once rendered "1.23457e+06"
        (1e-7, "seconds", "0.0000001"),
        (MAX_RETRY_AFTER, "seconds", "1000000000"),
    ],
)
def test_retry_after_is_served_in_plain_decimal(sim, retry_after, form, header):
    ref = sim.create_job("artos")
    sim.inject(Fault.rate_limit(retry_after, form=form), ref=ref)
    response = http_get(url_of(sim, "artos", job_id_of(ref)), headers=auth_headers(sim, "artos"))
    assert (response.status_code, response.headers["retry-after"]) == (429, header)


def test_largest_retry_after_as_http_date_is_a_valid_date(sim):
    ref = sim.create_job("artos")
    sim.inject(Fault.rate_limit(MAX_RETRY_AFTER, form="http-date"), ref=ref)
    response = http_get(url_of(sim, "artos", job_id_of(ref)), headers=auth_headers(sim, "artos"))
    assert response.status_code == 429
    when = email.utils.parsedate_to_datetime(response.headers["retry-after"])
    assert when.timestamp() - time.time() == pytest.approx(MAX_RETRY_AFTER, abs=3600)


# --- lifecycle, env, log


def test_env_points_every_provider_at_the_simulator(sim):
    env = sim.env()
    for provider in PROVIDERS:
        assert env[f"DOCSTATUS_{provider.upper()}_BASE_URL"] == f"{sim.url}/{provider}"
    assert "DOCSTATUS_MARKDOWN2PDF_TOKEN" not in env
    assert env["DOCSTATUS_SARVAM_TOKEN"] == DEFAULT_TOKENS["sarvam"]


def test_custom_tokens():
    with Simulator(tokens={"artos": "custom"}) as sim:
        ref = sim.create_job("artos")
        url = url_of(sim, "artos", job_id_of(ref))
        assert http_get(url, headers={"Authorization": "Bearer custom"}).status_code == 200
        assert http_get(url, headers={"Authorization": f"Bearer {DEFAULT_TOKENS['artos']}"}).status_code == 401
    with pytest.raises(ValueError, match="unknown providers"):
        Simulator(tokens={"nope": "x"})


def test_start_stop_restart_and_errors():
    sim = Simulator()
    with pytest.raises(SimulatorError, match="not running"):
        _ = sim.url
    sim.start(timeout=10)
    first = sim.port
    assert first > 0
    assert repr(sim).startswith(f"<Simulator http://127.0.0.1:{first}")
    with pytest.raises(SimulatorError, match="running already"):
        sim.start()
    sim.stop()
    sim.stop()  # idempotent
    assert not sim.running
    with pytest.raises(httpx.ConnectError):
        http_get(f"http://127.0.0.1:{first}/_sim", timeout=2)
    with sim:  # restarts on the same port it was given
        assert http_get(sim.url + "/_sim").status_code == 200


def test_port_in_use_is_an_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SimulatorError, match="cannot listen"):
            Simulator(port=taken.getsockname()[1]).start()


def test_stop_ends_slow_answers_at_once():
    sim = Simulator().start()
    ref = sim.create_job("markdown2pdf")
    sim.inject(Fault.slow(MAX_DELAY), ref=ref)
    result: dict[str, Any] = {}

    def request() -> None:
        try:
            result["status"] = http_get(url_of(sim, "markdown2pdf", job_id_of(ref)), timeout=30).status_code
        except httpx.HTTPError as exc:
            result["error"] = exc

    thread = threading.Thread(target=request)
    thread.start()
    deadline = time.monotonic() + 5
    while not sim.requests and time.monotonic() < deadline:  # the slow request is logged only when it ends
        if sim.faults == []:
            break
        time.sleep(0.01)
    started = time.monotonic()
    sim.stop(timeout=10)
    thread.join(10)
    assert time.monotonic() - started < 3.0
    assert not thread.is_alive()
    assert result.get("status") == 503 or "error" in result
    assert [r.outcome for r in sim.requests] == ["fault:slow:abandoned"]


def test_request_log_is_bounded(monkeypatch):
    monkeypatch.setattr("docstatus.simulator._state.LOG_SIZE", 3)
    with Simulator() as sim:
        for _ in range(5):
            http_get(sim.url + "/nope")
        assert len(sim.requests) == 3


# --- import costs


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return set(json.loads(out))


def test_import_docstatus_does_not_load_the_simulator():
    loaded = _modules_after("import docstatus")
    assert not {"docstatus.simulator", "uvicorn", "pydantic", "docstatus.pytest_plugin"} & loaded


def test_import_simulator_loads_uvicorn_only_on_start():
    loaded = _modules_after("import docstatus.simulator")
    assert "pydantic" in loaded
    assert "uvicorn" not in loaded
    loaded = _modules_after("from docstatus.simulator import Simulator\nSimulator().start().stop()")
    assert "uvicorn" in loaded


# --- every path a provider does not serve is a 404 (never a 500), odd ones included


def _raw_get(sim: Simulator, target: bytes, headers: bytes = b"") -> int:
    """The status of ``GET <target>`` sent as raw bytes (no client normalizes the path)."""
    with socket.create_connection((sim.host, sim.port), timeout=10) as conn:
        conn.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers + b"\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


_ODD_TAILS = (
    b"",
    b"/",
    b"/nope",
    b"/..",
    b"/../_sim",
    b"/%2e%2e/%2e%2e/_sim/reset",
    b"/%2F%2F",
    b"/%FF%FE%00",
    b"/%C3%BC/%E2%82%AC",
    b"/" + b"a" * 8000,
    b"/" + b"%41" * 2000,
    b"//v1//",
    b"/v1/organizations/o/stores/s/files/f",
    b"/v1/organizations/o/stores/s/files/f/status/extra",
    b"/v1/organizations/o/other-stores/s/files/f/status",
    b"/api/v1/documents/status",
    b"/doc-digitization/job/v1/status",
    b"/doc-ai/v1/job/status",
    b"/job/status",
    b"/v1/document-status",
    b"/v1/request-status",
    b"/files/x",
    b"/v1/markdown/job/x",
)


@pytest.mark.parametrize("provider", sorted(PROVIDER_SIMS))
def test_every_unmatched_path_is_a_404_never_a_500(sim, provider):
    sim.create_job(provider)
    before = len(sim.requests)
    sent = 0
    for tail in _ODD_TAILS:
        target = b"/" + provider.encode() + tail
        if PROVIDER_SIMS[provider].find_route([unquote(s) for s in target.decode("latin-1").split("/")[2:]]):
            continue  # a path this provider serves (e.g. Aitronos's own status path)
        assert _raw_get(sim, target) == 404, target[:120]
        sent += 1
    assert sent > 15
    logged = sim.requests[before:]
    assert len(logged) == sent  # each one in the request log, as a no_route
    assert {r.outcome for r in logged} == {"no_route"}
    # raw non-ASCII bytes are not HTTP/1.1 (RFC 9112 request-target): the server's parser
    # answers 400 before the simulator sees the request
    assert _raw_get(sim, b"/" + provider.encode() + b"/\xc3\xbc/\xe2\x82\xac") == 400


_ODD_IDS = ("..", "%2F", "%2E%2E%2F%2E%2E", "%00", "%C3%BC", "\xc3\xbc", "x" * 3000, "%25", "a%20b", "%0D%0A")


@pytest.mark.parametrize("provider", sorted(PROVIDER_SIMS))
def test_odd_ids_on_served_paths_are_client_errors(sim, provider):
    sim_ = PROVIDER_SIMS[provider]
    headers = b"".join(f"{k}: {v}\r\n".encode() for k, v in _auth(sim, provider).items())
    for route in sim_.routes:
        if route.method != "GET":
            continue
        for odd in _ODD_IDS:
            path = "/".join(odd if s is None else s for s in route.segments)
            status = _raw_get(sim, f"/{provider}/{path}".encode("latin-1"), headers)
            assert status in (400, 404, 409, 422), (provider, path[:80], status)
    assert all(r.status is not None and r.status < 500 for r in sim.requests)


def _auth(sim: Simulator, provider: str) -> dict[str, str]:
    token = sim.tokens.get(provider)
    if token is None:
        return {}
    if provider in ("sarvam", "sarvam_docai"):
        return {"api-subscription-key": token}
    return {"Authorization": f"Bearer {token}"}
