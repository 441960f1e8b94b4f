"""The provider registry (``docstatus._providers``): a provider is one module, and a provider
registered from outside the package works everywhere the built-in ones do, without another
module knowing its name.

The provider registered here, ``seventh``, is built in the test from pieces of the Artos
module and its generated client (no spec of its own: that is the simulator's and codegen's
part), with ids of two parts kept in lower case, so that its rules differ from every
built-in's. Requests go to a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import types
from typing import TYPE_CHECKING, Any

import attrs
import docstatus
import pytest
from conftest import Canned
from docstatus import InvalidJobRef, JobRef, JobStatus, ProviderConfig, State, WaitPolicy
from docstatus._providers import BUILTIN, known, load, names, register, unregister
from docstatus._refs import FORMS

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from conftest import CannedServer

TOKEN = "tok-seventh-5b1e"


def _seventh() -> types.ModuleType:
    """A provider module defining everything ``ProviderModule`` names."""
    artos: Any = load("artos")

    def normalize(model: Any, *, job_id: str | None = None) -> JobStatus:
        return attrs.evolve(artos.normalize(model, job_id=job_id), provider="seventh")

    def fast(data: Mapping[str, Any], job_id: str | None, model: Any) -> JobStatus | None:
        status = artos.fast(data, job_id, model)
        return None if status is None else attrs.evolve(status, provider="seventh")

    def operation(ref: JobRef, options: Mapping[str, str]) -> tuple[str, dict[str, Any]]:  # the protocol's
        return f"{artos.CLIENT}.api.status.get_status", {"document_id": ref.job_id.replace("/", "--")}

    module = types.ModuleType("seventh_provider")
    module.__dict__.update(
        PROVIDER="seventh",
        FORM="seventh:<shelf>/<item>",
        ID_PARTS=2,
        canonical_id=str.lower,
        DEFAULT_BASE_URL="https://seventh.invalid",
        OPTIONS={},
        CLIENT=artos.CLIENT,
        operation=operation,
        ACTION_GRACE=0.0,
        NOT_FOUND_GRACE=0.0,
        DEMO=None,
        MODEL=artos.MODEL,
        MODELS=artos.MODELS,
        ID_FIELD=artos.ID_FIELD,
        STATES=artos.STATES,
        from_dict=artos.from_dict,
        normalize=normalize,
        fast=fast,
    )
    return module


@pytest.fixture
def seventh() -> Iterator[types.ModuleType]:
    module = _seventh()
    register(module)
    try:
        yield module
    finally:
        unregister("seventh")


def body(job_id: str, state: str) -> dict[str, Any]:
    return {"task_id": job_id, "status": state, "progress": None, "error": None}


def test_register_refuses_a_built_in_name_a_bad_name_and_a_module_that_lacks_a_name() -> None:
    module = _seventh()
    module.PROVIDER = "artos"
    with pytest.raises(ValueError, match="'artos' is a built-in provider"):
        register(module)
    for bad in ("Seventh", "sev:enth", "", "_x", "sev enth"):
        module.PROVIDER = bad
        with pytest.raises(ValueError, match="lower-case ASCII"):
            register(module)
    module.PROVIDER = "seventh"
    del module.operation
    with pytest.raises(TypeError, match="does not define operation"):
        register(module)
    assert not known("seventh")
    assert load("artos").PROVIDER == "artos"  # type: ignore[union-attr]


def test_a_registered_provider_is_known_and_the_built_ins_stay_as_they_are(seventh: types.ModuleType) -> None:
    assert known("seventh")
    assert load("seventh") is seventh
    assert names() == tuple(sorted((*BUILTIN, "seventh")))
    assert docstatus.PROVIDERS == BUILTIN  # the public tuple lists the built-ins only
    assert FORMS["seventh"] == "seventh:<shelf>/<item>"
    assert docstatus.DEFAULT_BASE_URLS["seventh"] == "https://seventh.invalid"
    assert "seventh" in docstatus.DEFAULT_BASE_URLS
    unregister("seventh")
    assert not known("seventh")
    assert load("seventh") is None
    assert "seventh" not in FORMS
    with pytest.raises(InvalidJobRef, match="does not start with a known provider"):
        docstatus.parse_ref("seventh:a/b")


def test_a_registered_provider_s_references_follow_its_module(seventh: types.ModuleType) -> None:
    ref = docstatus.parse_ref("seventh:Shelf-1/ITEM-2")
    assert ref == JobRef("seventh", "shelf-1/item-2")  # its canonical_id: lower case
    assert ref.parts == ("shelf-1", "item-2")
    assert docstatus.format_ref("seventh", "A", "b") == "seventh:a/b"
    with pytest.raises(InvalidJobRef, match=r"needs two non-empty parts; expected seventh:<shelf>/<item>"):
        docstatus.parse_ref("seventh:only-one")
    with pytest.raises(InvalidJobRef, match=r"needs two non-empty parts, none holding '/' \(got 1\)"):
        docstatus.format_ref("seventh", "a")
    with pytest.raises(InvalidJobRef, match=r"seventh:<shelf>/<item>"):
        docstatus.parse_ref("nope:x")  # the forms listed include the registered one


def test_a_registered_provider_is_configured_parsed_fetched_and_waited_on(
    seventh: types.ModuleType,
    canned_server: CannedServer,
) -> None:
    env = {"DOCSTATUS_SEVENTH_BASE_URL": canned_server.base_url, "DOCSTATUS_SEVENTH_TOKEN": TOKEN}
    cfg = ProviderConfig.from_env("seventh", env)
    assert (cfg.provider, cfg.base_url, cfg.token) == ("seventh", canned_server.base_url, TOKEN)
    with pytest.raises(docstatus.ConfigurationError, match="seventh has no option 'path'"):
        ProviderConfig(provider="seventh", base_url=canned_server.base_url, options={"path": "x"})  # type: ignore[arg-type]

    parsed = docstatus.parse("seventh", body("s/i", "Generating"))
    assert (parsed.provider, parsed.job_id, parsed.state, parsed.step) == (
        "seventh",
        "s/i",
        State.RUNNING,
        "Generating",
    )
    assert JobStatus.from_dict(parsed.to_dict()) == parsed

    canned_server.reply(Canned(200, body("s/i", "Ready")))
    status = docstatus.get_status("seventh:S/I", config=cfg)
    assert (status.provider, status.job_id, status.state) == ("seventh", "s/i", State.SUCCEEDED)
    seen = canned_server.requests[-1]
    assert seen.path == "/api/v1/documents/status/s--i"  # its operation's arguments
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"  # the generated client's AUTH_SCHEMES

    canned_server.reply(Canned(200, body("s/i", "Ingesting")), Canned(200, body("s/i", "Ready")))
    policy = WaitPolicy(timeout=30.0, initial_delay=0.2, min_delay=0.05, durations=None)
    assert docstatus.wait("seventh:s/i", config=cfg, policy=policy).state is State.SUCCEEDED

    canned_server.reply(Canned(404, {"detail": "not found"}))
    with pytest.raises(docstatus.JobNotFound, match=r"seventh has no job seventh:s/i"):
        docstatus.get_status("seventh:s/i", config=cfg)


def test_watch_many_polls_a_registered_provider_through_its_own_session(
    seventh: types.ModuleType,
    canned_server: CannedServer,
) -> None:
    cfg = ProviderConfig(provider="seventh", base_url=canned_server.base_url, token=TOKEN)  # type: ignore[arg-type]
    canned_server.reply(Canned(200, body("s/i", "Ready")))
    policy = WaitPolicy(timeout=30.0, durations=None)

    async def run() -> list[Any]:
        return [u async for u in docstatus.watch_many(["seventh:s/i", "seventh:S/I"], config=cfg, policy=policy)]

    updates = asyncio.run(run())
    finals = {u.ref: u.final for u in updates if u.done}
    assert set(finals) == {"seventh:s/i", "seventh:S/I"}  # each string as given, polled as one job
    assert all(s is not None and s.state is State.SUCCEEDED and s.provider == "seventh" for s in finals.values())
    assert len(canned_server.requests) == 1
