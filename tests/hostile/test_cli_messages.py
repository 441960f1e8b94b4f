"""What a user reads points at what a user has, and the CLI's diagnostics are one line each.

- A malformed body's message names the generated model that reads the documented response, by
  the import path an installed docstatus has (it named ``specs/<provider>/openapi.yaml``, which
  a wheel does not ship); no public docstring points into ``specs/`` either.
- ``InsecureCredentialWarning`` in the CLI is one masked line, without a source path (it was
  Python's three-line warning with a site-packages path), however often the credential goes out.
- A base URL that does not parse is a configuration error (exit 2), not an internal error.
"""

from __future__ import annotations

import importlib
import json
import os
import pydoc
import re
import subprocess
import sys
import types

import docstatus
import pytest
from _rawserver import RawServer, answer
from _status_checks import AITRONOS_ID, body

TOKEN = "tok-MESSAGES-8d2f63"
REF = "artos:document-uuid-456"
MODEL_PATH = re.compile(r"\b(docstatus_\w+_client)\.models\.(\w+)\b")


def run_cli(*args: str, env: dict[str, str] | None = None, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_") and k != "PYTHONWARNINGS"}
    return subprocess.run(
        [sys.executable, "-m", "docstatus._cli", *args],
        input=stdin,
        capture_output=True,
        timeout=90,
        env={**base, **(env or {})},
        check=False,
    )


# --- messages and docstrings point at what an installed package has


def named_models(message: str) -> list[type]:
    """The classes a message names by import path (each must import)."""
    found = []
    for package, name in MODEL_PATH.findall(message):
        found.append(getattr(importlib.import_module(f"{package}.models"), name))
    return found


@pytest.mark.parametrize("provider", docstatus.PROVIDERS)
def test_a_malformed_body_names_the_model_to_read_not_a_file_of_the_repository(provider):
    job_id = AITRONOS_ID if provider == "aitronos" else None
    with pytest.raises(docstatus.MalformedResponse) as info:
        docstatus.parse(provider, b'{"not": "a status"}', job_id=job_id)
    message = str(info.value)
    assert "specs/" not in message
    assert "openapi" not in message
    models = named_models(message)
    assert models, message
    for model in models:
        assert isinstance(model, type)
        assert model.__module__.startswith(f"docstatus_{provider}_client.models.")
        assert callable(model.from_dict)  # what reads the documented response


def test_normalize_names_the_model_in_its_one_line():
    result = run_cli("normalize", "artos", stdin=b'{"status": 5}')
    assert result.returncode == 3
    line = result.stderr.decode()
    assert len(line.splitlines()) == 1
    assert "docstatus_artos_client.models.TaskStatusResponse" in line
    assert "specs/" not in line


def public_docs() -> str:
    """Every docstring ``help()`` shows for docstatus's public names (and its public modules)."""
    import docstatus.celery  # noqa: PLC0415  # public modules too
    import docstatus.pytest_plugin  # noqa: PLC0415
    import docstatus.simulator  # noqa: PLC0415

    parts = []
    for module in (docstatus, docstatus.celery, docstatus.simulator, docstatus.pytest_plugin):
        parts.append(pydoc.render_doc(module, renderer=pydoc.plaintext))
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            if isinstance(value, type | types.FunctionType):
                parts.append(pydoc.render_doc(value, renderer=pydoc.plaintext))
    return "\n".join(parts)


def test_no_public_docstring_points_into_the_repositorys_specs():
    docs = public_docs()
    assert "class JobStatus" in docs  # the probe read them
    assert "class WaitPolicy" in docs
    assert "specs/" not in docs


# --- InsecureCredentialWarning: one line in the CLI


def warning_env(server: RawServer, *, warnings: str | None) -> dict[str, str]:
    port = server.url.rsplit(":", 1)[1]
    # 0.0.0.0 reaches this machine's 127.0.0.1 on Linux, but is not loopback to the warning's
    # test: the credential "goes to another host", and nothing leaves the machine.
    env = {"DOCSTATUS_ARTOS_BASE_URL": f"http://0.0.0.0:{port}", "DOCSTATUS_ARTOS_TOKEN": TOKEN}
    if warnings is not None:
        env["PYTHONWARNINGS"] = warnings
    return env


@pytest.mark.parametrize("warnings", [None, "always", "default"], ids=["no-filter", "always", "default"])
@pytest.mark.parametrize("command", ["status", "wait"])
def test_a_credential_over_plain_http_is_one_warning_line(command, warnings):
    refs = [REF, "artos:document-uuid-789"]  # two requests: still one warning
    with RawServer(answer(200, body("artos", "Ready", task_id="document-uuid-456"))) as server:
        result = run_cli(command, *refs, "--timeout", "20", env=warning_env(server, warnings=warnings))
        assert len(server.requests) >= 2
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 0, err
    assert len(result.stdout.decode().splitlines()) >= 2
    (line,) = err.splitlines()  # the warning, and nothing else
    assert line == (
        "docstatus: warning: the artos credential is sent over plain http:// to 0.0.0.0, readable on the way; "
        "use an https:// base URL (DOCSTATUS_ARTOS_BASE_URL) (InsecureCredentialWarning)"
    )
    for leak in (".py", "site-packages", "warnings.warn", TOKEN):
        assert leak not in err


def test_a_credential_in_a_status_that_also_goes_over_plain_http_stays_masked():
    """The server echoes the token into the state: the one warning line and the output stay
    masked, and nothing else reaches stderr."""
    echoed = body("artos", "Ready", task_id="document-uuid-456", error=TOKEN)
    with RawServer(answer(200, echoed)) as server:
        result = run_cli("status", REF, env=warning_env(server, warnings="always"))
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    assert TOKEN not in out + err
    assert len(err.splitlines()) == 1
    assert err.startswith("docstatus: warning: ")
    assert json.loads(out)["state"] == "succeeded"


# --- a base URL that does not parse


@pytest.mark.parametrize("url", ["http://[::1", "http://[not-an-address]:80", "https://host:99999"])
@pytest.mark.parametrize("command", ["status", "wait"])
def test_a_base_url_that_does_not_parse_is_exit_2_in_one_line(command, url):
    result = run_cli(command, REF, env={"DOCSTATUS_ARTOS_BASE_URL": url, "DOCSTATUS_ARTOS_TOKEN": TOKEN})
    err = result.stderr.decode()
    assert result.returncode == 2, err  # it was 70: an UnboundLocalError inside ProviderConfig
    (line,) = err.splitlines()
    assert "is not an http(s) URL" in line
    assert "internal error" not in line
