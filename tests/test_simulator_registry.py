"""The simulator's providers: one module each, a registry, and a provider from outside the package.

The seventh provider (``tests/seventh/``: a small spec, the pydantic models generated from it
with the generator ``generated/`` comes from, and a provider module) is registered and served
like a built-in one, over real HTTP."""

from __future__ import annotations

import ast
import importlib
import re
import sys
import types
from typing import TYPE_CHECKING, Any

import docstatus
import httpx
import pytest
from conftest import ROOT
from docstatus.simulator import DEFAULT_TOKENS, SCRIPTS, Fault, Phase, Script, Simulator
from docstatus.simulator import _providers as providers
from docstatus.simulator._render import ProviderSim

if TYPE_CHECKING:
    from collections.abc import Iterator

SIMULATOR = ROOT / "normalize" / "docstatus" / "simulator"


@pytest.fixture
def seventh(seventh_generated: Any) -> Iterator[types.ModuleType]:
    """The seventh provider's simulator module (its models generated from its spec once per
    session: ``conftest.seventh_generated``), registered for one test."""
    module: types.ModuleType = seventh_generated.simulator
    providers.register(module)
    yield module
    providers.unregister("seventh")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_provider_registered_from_outside_the_package_is_served_like_a_built_in_one(seventh):
    models = sys.modules["seventh_simulator_models"]
    with Simulator() as sim, httpx.Client(timeout=30) as client:
        sim.clock.freeze()
        assert providers.names() == (*docstatus.PROVIDERS, "seventh")
        assert sim.tokens["seventh"] == DEFAULT_TOKENS["seventh"] == "sim-seventh-token"
        assert list(SCRIPTS["seventh"]) == ["happy_path", "failure", "unknown_state"]
        env = sim.env()
        assert env["DOCSTATUS_SEVENTH_BASE_URL"] == sim.base_url("seventh") == f"{sim.url}/seventh"
        assert env["DOCSTATUS_SEVENTH_TOKEN"] == "sim-seventh-token"

        ref = sim.create_job("seventh", "happy_path", step=1.0)
        job_id = ref.removeprefix("seventh:")
        url = f"{sim.base_url('seventh')}/v2/jobs/{job_id}"
        seen = []
        for _ in SCRIPTS["seventh"]["happy_path"].phases:
            answer = client.get(url, headers=_bearer("sim-seventh-token"))
            assert answer.status_code == 200
            body = models.JobStatus.model_validate_json(answer.content)  # the generated model reads it back
            assert body.job_id == job_id
            seen.append((body.state, body.percent))
            sim.clock.advance(1.0)
        assert seen == [("queued", 0), ("running", 50), ("succeeded", 100)]
        assert body.outputs == ["out.json"]
        assert sim.jobs[0].state == "succeeded"

        missing = client.get(url)
        wrong = client.get(url, headers=_bearer("not-the-token"))
        unknown = client.get(f"{sim.base_url('seventh')}/v2/jobs/nope", headers=_bearer("sim-seventh-token"))
        for answer, status, code in (
            (missing, 401, "unauthorized"),
            (wrong, 401, "unauthorized"),
            (unknown, 404, "not_found"),
        ):
            assert answer.status_code == status
            assert models.ErrorEnvelope.model_validate_json(answer.content).error.code == code
        assert unknown.json()["error"]["message"] == "no job nope"

        sim.inject(Fault.rate_limit(retry_after=3), provider="seventh")
        limited = client.get(url, headers=_bearer("sim-seventh-token"))
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
        assert models.ErrorEnvelope.model_validate_json(limited.content).error.code == "rate_limited"

        odd = sim.create_job("seventh", "unknown_state", step=1.0)
        sim.clock.advance(5)
        off_spec = client.get(
            f"{sim.base_url('seventh')}/v2/jobs/{odd.removeprefix('seventh:')}", headers=_bearer("sim-seventh-token")
        )
        assert off_spec.json()["state"] == "paused"  # served off-spec on purpose, as for a built-in one

        described = client.get(f"{sim.url}/_sim").json()["providers"]["seventh"]
        assert described["status_path"] == "/seventh/v2/jobs/{id}"
        assert described["token"] == "sim-seventh-token"
        assert described["auth"] == "Authorization: Bearer <token>"
        assert described["scripts"] == ["happy_path", "failure", "unknown_state"]
        logged = [r for r in sim.requests if r.provider == "seventh"]
        assert [r.outcome for r in logged][-4:] == ["unauthorized", "not_found", "fault:rate_limit", "ok"]
        assert all("sim-seventh-token" not in str(r.to_dict()) for r in logged)


def test_a_script_that_does_not_fit_the_registered_providers_spec_is_refused(seventh):
    with Simulator() as sim:
        with pytest.raises(ValueError, match=r"does not fit the seventh spec.*queued, running, succeeded, failed"):
            sim.create_job("seventh", Script(name="odd", phases=[Phase(state="Queued")]))
        with pytest.raises(ValueError, match="seventh has no script 'partial_success'"):
            sim.create_job("seventh", "partial_success")


def test_a_provider_registered_after_the_simulator_starts_is_served_with_its_token(seventh):
    providers.unregister("seventh")
    try:
        with Simulator() as sim, httpx.Client(timeout=30) as client:
            assert "seventh" not in sim.tokens
            assert client.get(f"{sim.url}/seventh/v2/jobs/x").status_code == 404  # no such prefix yet
            with pytest.raises(ValueError, match="unknown provider 'seventh'"):
                sim.create_job("seventh")
            providers.register(seventh)
            ref = sim.create_job("seventh")
            answer = client.get(
                f"{sim.base_url('seventh')}/v2/jobs/{ref.removeprefix('seventh:')}",
                headers=_bearer(sim.tokens["seventh"]),
            )
            assert answer.status_code == 200
            assert answer.json()["state"] == "queued"
    finally:
        providers.register(seventh)


def test_unregistering_stops_serving_and_builtin_providers_stay(seventh):
    with Simulator() as sim, httpx.Client(timeout=30) as client:
        ref = sim.create_job("seventh")
        providers.unregister("seventh")
        try:
            gone = client.get(f"{sim.url}/seventh/v2/jobs/{ref.removeprefix('seventh:')}")
            assert gone.status_code == 404
            assert "no route" in gone.json()["detail"]
            assert "seventh" not in SCRIPTS
            assert "DOCSTATUS_SEVENTH_BASE_URL" not in sim.env()
        finally:
            providers.register(seventh)
    for name in docstatus.PROVIDERS:
        with pytest.raises(ValueError, match="built-in provider"):
            providers.unregister(name)


def _module(sim: Any, scripts: Any = None) -> types.ModuleType:
    module = types.ModuleType("made_up")
    module.SIM = sim  # type: ignore[attr-defined]
    module.SCRIPTS = SCRIPTS["artos"] if scripts is None else scripts  # type: ignore[attr-defined]
    return module


def test_registering_refuses_what_the_simulator_could_not_serve(seventh):
    artos = providers.PROVIDER_SIMS["artos"]

    class Renamed(type(artos)):  # type: ignore[misc]
        name = "artos"

    with pytest.raises(ValueError, match="'artos' is a built-in provider"):
        providers.register(_module(Renamed()))
    for bad in ("Seven", "_sim", "sev/enth", "", "7th", "a" * 65):

        class Bad(type(artos)):  # type: ignore[misc]
            name = bad

        with pytest.raises(ValueError, match="lower-case letters, digits and '_'"):
            providers.register(_module(Bad()))
    with pytest.raises(TypeError, match="defines SIM, a ProviderSim"):
        providers.register(types.ModuleType("empty"))

    class Other(type(artos)):  # type: ignore[misc]
        name = "other"

    with pytest.raises(ValueError, match="has no script failure, unknown_state"):
        providers.register(_module(Other(), {"happy_path": SCRIPTS["artos"]["happy_path"]}))
    with pytest.raises(TypeError, match="SCRIPTS, a mapping of name -> Script"):
        providers.register(_module(Other(), {"happy_path": "not a script"}))
    with pytest.raises(ValueError, match="another module is registered as the simulated provider 'seventh'"):
        providers.register(_module(type(seventh.SIM)()))
    providers.register(seventh)  # the same module again: nothing changes
    assert providers.names().count("seventh") == 1
    assert not providers.known("other")


def test_the_built_in_providers_are_the_librarys():
    assert providers.names() == docstatus.PROVIDERS == providers.BUILTIN
    assert sorted(providers.PROVIDER_SIMS) == sorted(SCRIPTS) == sorted(docstatus.PROVIDERS)
    for name in docstatus.PROVIDERS:
        module = importlib.import_module(f"docstatus.simulator._providers.{name}")
        assert isinstance(module.SIM, ProviderSim)
        assert module.SIM.name == name
        assert providers.PROVIDER_SIMS[name] is module.SIM
        assert dict(SCRIPTS[name]) == dict(module.SCRIPTS)


_NAMES = re.compile("|".join(sorted(docstatus.PROVIDERS, key=len, reverse=True)), re.IGNORECASE)


def test_no_simulator_module_outside_its_provider_folder_names_a_provider():
    """Everything about a provider lives in its module under ``simulator/_providers/``: no other
    simulator module names one (in code, strings or docstrings)."""
    outside = sorted(p for p in SIMULATOR.rglob("*.py") if "_providers" not in p.relative_to(SIMULATOR).parts)
    assert len(outside) >= 8  # the reader sees the modules it judges
    naming = {p.relative_to(SIMULATOR).as_posix(): sorted(set(_NAMES.findall(p.read_text("utf-8")))) for p in outside}
    assert {path: found for path, found in naming.items() if found} == {}


def test_the_simulator_reads_the_librarys_provider_names_in_one_place():
    """The six names come from the library once (the registry's ``BUILTIN``); no other simulator
    module imports them."""
    readers = set()
    for path in SIMULATOR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module in ("docstatus._status", "docstatus._registry", "docstatus")
                and any(a.name in ("PROVIDERS", "BUILTIN", "Provider") for a in node.names)
            ):
                readers.add(path.relative_to(SIMULATOR).as_posix())
    assert readers == {"_providers/__init__.py"}
