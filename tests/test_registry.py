"""The provider registry (``docstatus._registry``): a provider is one module, and a provider
registered from outside the package works everywhere the built-in ones do, without another
module knowing its name.

The provider registered here, ``seventh``, is issue 22's fixture (``tests/seventh/``): its
own spec, its client generated from it in the session (``conftest.seventh_generated``), and its
module ``seventh_provider.py``, whose ids are kept in lower case, a rule no built-in has.
Requests go to a real HTTP server on 127.0.0.1 (``tests/test_seventh_end_to_end.py`` runs it
everywhere else, against the simulator).
"""

from __future__ import annotations

import asyncio
import types
from typing import TYPE_CHECKING, Any

import docstatus
import pytest
from conftest import Canned
from docstatus import InvalidJobRef, JobRef, JobStatus, ProviderConfig, State, WaitPolicy
from docstatus._refs import FORMS
from docstatus._registry import BUILTIN, known, load, names, register, unregister

if TYPE_CHECKING:
    from collections.abc import Iterator

    from _seventh_support import Seventh
    from conftest import CannedServer

TOKEN = "tok-seventh-5b1e"


def _seventh(seventh_generated: Seventh) -> types.ModuleType:
    """A copy of the seventh provider's module (``tests/seventh/seventh_provider.py``), for a
    test to change."""
    module = types.ModuleType("seventh_provider")
    module.__dict__.update(vars(seventh_generated.provider))
    return module


@pytest.fixture
def seventh(seventh_generated: Seventh) -> Iterator[types.ModuleType]:
    module = seventh_generated.provider
    register(module)
    try:
        yield module
    finally:
        unregister("seventh")


def body(job_id: str, state: str) -> dict[str, Any]:
    return {"job_id": job_id, "state": state, "percent": None}


def test_register_refuses_a_built_in_name_a_bad_name_and_a_module_that_lacks_a_name(
    seventh_generated: Seventh,
) -> None:
    module = _seventh(seventh_generated)
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
    assert FORMS["seventh"] == "seventh:<job_id>"
    assert docstatus.DEFAULT_BASE_URLS["seventh"] == "https://api.seventh.invalid"
    assert "seventh" in docstatus.DEFAULT_BASE_URLS
    unregister("seventh")
    assert not known("seventh")
    assert load("seventh") is None
    assert "seventh" not in FORMS
    with pytest.raises(InvalidJobRef, match="does not start with a known provider"):
        docstatus.parse_ref("seventh:a")


def test_a_registered_provider_s_references_follow_its_module(seventh: types.ModuleType) -> None:
    ref = docstatus.parse_ref("seventh:Job-1")
    assert ref == JobRef("seventh", "job-1")  # its canonical_id: lower case
    assert ref.parts == ("job-1",)
    assert docstatus.format_ref("seventh", "A") == "seventh:a"
    with pytest.raises(InvalidJobRef, match=r"has a '/' in its id; expected seventh:<job_id>"):
        docstatus.parse_ref("seventh:a/b")
    with pytest.raises(InvalidJobRef, match=r"needs one part, none holding '/' \(got 2\)"):
        docstatus.format_ref("seventh", "a", "b")
    with pytest.raises(InvalidJobRef, match=r"seventh:<job_id>"):
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

    parsed = docstatus.parse("seventh", body("s-i", "running"))
    assert (parsed.provider, parsed.job_id, parsed.state, parsed.provider_state) == (
        "seventh",
        "s-i",
        State.RUNNING,
        "running",
    )
    assert JobStatus.from_dict(parsed.to_dict()) == parsed

    canned_server.reply(Canned(200, body("s-i", "succeeded")))
    status = docstatus.get_status("seventh:S-I", config=cfg)
    assert (status.provider, status.job_id, status.state) == ("seventh", "s-i", State.SUCCEEDED)
    seen = canned_server.requests[-1]
    assert seen.path == "/v2/jobs/s-i"  # its operation, with the canonical id
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"  # the generated client's AUTH_SCHEMES

    canned_server.reply(Canned(200, body("s-i", "running")), Canned(200, body("s-i", "succeeded")))
    policy = WaitPolicy(timeout=30.0, initial_delay=0.2, min_delay=0.05, durations=None)
    assert docstatus.wait("seventh:s-i", config=cfg, policy=policy).state is State.SUCCEEDED

    canned_server.reply(Canned(404, {"error": {"code": "not_found", "message": "no job s-i"}}))
    with pytest.raises(docstatus.JobNotFound, match=r"seventh has no job seventh:s-i") as missing:
        docstatus.get_status("seventh:s-i", config=cfg)
    assert missing.value.code == "not_found"  # the spec's error envelope


def test_watch_many_polls_a_registered_provider_through_its_own_session(
    seventh: types.ModuleType,
    canned_server: CannedServer,
) -> None:
    cfg = ProviderConfig(provider="seventh", base_url=canned_server.base_url, token=TOKEN)  # type: ignore[arg-type]
    canned_server.reply(Canned(200, body("s-i", "succeeded")))
    policy = WaitPolicy(timeout=30.0, durations=None)

    async def run() -> list[Any]:
        return [u async for u in docstatus.watch_many(["seventh:s-i", "seventh:S-I"], config=cfg, policy=policy)]

    updates = asyncio.run(run())
    finals = {u.ref: u.final for u in updates if u.done}
    assert set(finals) == {"seventh:s-i", "seventh:S-I"}  # each string as given, polled as one job
    assert all(s is not None and s.state is State.SUCCEEDED and s.provider == "seventh" for s in finals.values())
    assert len(canned_server.requests) == 1
