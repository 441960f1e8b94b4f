"""The credential never shows in the CLI's output: ``docstatus status`` and ``docstatus wait`` run
as real processes against a raw-socket server on 127.0.0.1 that echoes the credential it
receives (raw, as ``repr``, percent-encoded, in base64) in its body and its headers, with tokens
as users set them (a trailing newline from a file, spaces). The token, in any of those forms,
never appears on stdout or stderr; a token the configuration refuses is exit 2 in one line."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

import docstatus
import pytest
from _rawserver import Conn, RawServer, answer
from _status_checks import SARVAM_ID, body

if TYPE_CHECKING:
    from collections.abc import Callable

SECRET = "tok-SECRET-9f8e7d6c5b4a"
REFS = {"artos": "artos:document-uuid-456", "sarvam": f"sarvam:{SARVAM_ID}"}


def forms(token: str) -> list[str]:
    """Every form of ``token`` that must not be printed."""
    out = []
    for t in {token, token.strip()}:
        out += [
            t,
            repr(t),
            repr(t)[1:-1],
            json.dumps(t)[1:-1],
            quote(t, safe=""),
            quote_plus(t),
            base64.b64encode(t.encode()).decode(),
            base64.b64encode(f"Bearer {t}".encode()).decode(),
        ]
    return [f for f in out if len(f) >= 6]


def echoed(conn: Conn) -> str:
    """What the server reflects: every form of the credential it received, and all the headers."""
    headers = conn.request.headers
    sent = headers.get("authorization", "") or headers.get("api-subscription-key", "")
    token = sent.removeprefix("Bearer ")
    return " ".join([*forms(token), sent, repr(headers)])


def echo(provider: str, status: int, kind: str = "failed") -> Callable[[Conn], None]:
    """``status`` with a body and headers that reflect the credential; for 200, ``kind`` is a
    failed job whose error message is the echo, or a malformed body."""

    def run(conn: Conn) -> None:
        blob = echoed(conn)
        if status != 200:
            data: Any = {"detail": blob, "error": {"message": blob, "code": blob}}
        elif kind == "malformed":
            data = {"unexpected": blob}
        elif provider == "artos":
            data = body("artos", "Failed", error=blob)
        else:
            data = body("sarvam", "Failed", error_message=blob)
        headers = {"Content-Type": "application/json", "X-Echo": blob[:4000], "WWW-Authenticate": blob[:4000]}
        answer(status, data, headers)(conn)

    return run


def run_cli(args: list[str], provider: str, url: str, token: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    env[f"DOCSTATUS_{provider.upper()}_BASE_URL"] = url
    env[f"DOCSTATUS_{provider.upper()}_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "docstatus._cli", *args], capture_output=True, timeout=60, env=env, check=False
    )


def assert_no_token(result: subprocess.CompletedProcess[bytes], token: str) -> None:
    output = result.stdout + result.stderr
    text = output.decode("utf-8", "replace")
    for form in forms(token):
        assert form not in text, f"{form!r} printed: {text[:2000]}"
    assert b"Traceback" not in output


TOKENS = [
    pytest.param(SECRET, id="plain"),
    pytest.param(SECRET + "\n", id="trailing newline"),
    pytest.param(f"  {SECRET}\t", id="surrounding blanks"),
]
ANSWERS = [
    pytest.param(200, "failed", 1, id="200 failed job"),
    pytest.param(200, "malformed", 3, id="200 malformed"),
    pytest.param(401, "", 4, id="401"),
    pytest.param(404, "", 4, id="404"),
    pytest.param(500, "", 6, id="500"),
]


@pytest.mark.parametrize("provider", ["artos", "sarvam"])
@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize(("status", "kind", "code"), ANSWERS)
def test_status_never_prints_the_echoed_token(provider: str, token: str, status: int, kind: str, code: int) -> None:
    with RawServer(echo(provider, status, kind)) as server:
        result = run_cli(["status", REFS[provider]], provider, server.url, token)
        assert server.requests, "the request was made"
    assert result.returncode == code, result.stderr
    assert_no_token(result, token)
    if kind == "failed":  # the job's error message is the echo: printed, masked
        assert "***" in result.stdout.decode()


@pytest.mark.parametrize("provider", ["artos", "sarvam"])
@pytest.mark.parametrize(("status", "kind", "code"), ANSWERS)
def test_wait_never_prints_the_echoed_token(provider: str, status: int, kind: str, code: int) -> None:
    with RawServer(echo(provider, status, kind)) as server:
        result = run_cli(["wait", REFS[provider], "--timeout", "1.5"], provider, server.url, SECRET + "\n")
    assert result.returncode == code, result.stderr
    assert_no_token(result, SECRET)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("tok-SEC\nRET-9f8e7d6c", id="newline inside"),
        pytest.param("tok-SECRET-9f8e7d6c\x1b[2J", id="escape sequence"),
        pytest.param("tok-SÉCRET-9f8e7d6c", id="non-ASCII"),
        pytest.param("tok-SECRET-9f8e7d6c\u202e", id="bidi override"),
    ],
)
@pytest.mark.parametrize("command", ["status", "wait"])
def test_a_token_the_configuration_refuses_is_exit_2_in_one_line(command: str, token: str) -> None:
    with RawServer(echo("artos", 200)) as server:
        result = run_cli([command, REFS["artos"]], "artos", server.url, token)
        assert server.requests == []  # refused before sending anything
    assert result.returncode == 2, result.stderr
    assert result.stdout == b""
    err = result.stderr.decode("utf-8", "replace")
    assert len(err.splitlines()) == 1, err
    assert "DOCSTATUS_ARTOS_TOKEN" in err
    assert_no_token(result, token)
    for part in ("SEC", "RET-9f8e7d6c", "SÉCRET"):
        assert part not in err


# --- the fetch layer on its own (no CLI masking): where a leak would come from


def test_fetch_layer_scrubs_the_echoed_token_from_errors_and_statuses() -> None:
    """get_status in-process: str/repr of the error, its cause chain, its body, and the status
    JSON hold none of the token's forms except the one noted below."""
    import traceback  # noqa: PLC0415

    leaks = []
    for status, kind in ((200, "failed"), (200, "malformed"), (401, ""), (500, "")):
        with RawServer(echo("artos", status, kind)) as server:
            config = docstatus.ProviderConfig(provider="artos", base_url=server.url, token=SECRET)
            try:
                out = docstatus.get_status(REFS["artos"], config=config).to_json()
            except docstatus.DocstatusError as exc:
                out = "".join(traceback.format_exception(exc)) + repr(exc) + repr(getattr(exc, "body", b""))
        leaks += [(status, kind, f) for f in forms(SECRET) if f in out]
    assert [leak for leak in leaks if leak[2] != base64.b64encode(f"Bearer {SECRET}".encode()).decode()] == []


def test_fetch_layer_scrubs_base64_of_the_authorization_header() -> None:
    form = base64.b64encode(f"Bearer {SECRET}".encode()).decode()
    with RawServer(echo("artos", 401)) as server:
        config = docstatus.ProviderConfig(provider="artos", base_url=server.url, token=SECRET)
        with pytest.raises(docstatus.AuthenticationError) as info:
            docstatus.get_status(REFS["artos"], config=config)
    assert form not in str(info.value) + repr(info.value.body)
