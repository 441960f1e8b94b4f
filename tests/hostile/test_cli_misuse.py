"""The CLI under ordinary misuse, as a real process: whatever the reference or the environment,
one line per problem on stderr, a documented exit code, never a traceback, never a terminal
escape sequence passed through."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from _rawserver import RawServer, answer
from _status_checks import body

DOCUMENTED = {0, 1, 2, 3, 4, 5, 6, 70, 130, 141}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    return subprocess.run(
        [sys.executable, "-m", "docstatus._cli", *args],
        capture_output=True,
        timeout=60,
        env={**base, **(env or {})},
        check=False,
    )


REFS = [
    pytest.param("artos:" + "a" * 70_000, id="70,000 characters"),
    pytest.param("artos:doc\x1b[2J\x1b]0;pwned\x07", id="terminal escapes"),
    pytest.param("artos:doc\x7f\x9b2J", id="DEL and 8-bit CSI"),
    pytest.param("artos:doc\u202eevil", id="bidi override"),
    pytest.param("artos:doc\nsecond line", id="newline"),
    pytest.param("artos:" + "é" * 5000, id="non-ASCII, long"),
    pytest.param("\udcff:x", id="lone surrogate"),
    pytest.param("aitronos:a/b", id="aitronos, too few parts"),
    pytest.param("nosuch:x", id="unknown provider"),
    pytest.param(":", id="colon only"),
]


@pytest.mark.parametrize("command", ["status", "wait"])
@pytest.mark.parametrize("ref", REFS)
def test_a_bad_reference_is_exit_2_in_one_clean_line(command: str, ref: str) -> None:
    with RawServer(answer(200, body("artos", "Ready"))) as server:
        env = {"DOCSTATUS_ARTOS_BASE_URL": server.url, "DOCSTATUS_ARTOS_TOKEN": "tok-misuse-123"}
        result = run_cli(command, ref, env=env)
        assert server.requests == []
    assert result.returncode == 2, result.stderr
    assert result.stdout == b""
    err = result.stderr.decode("utf-8", "replace")
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"docstatus {command}: ")
    assert "Traceback" not in err
    assert len(err) < 3000
    for raw in ("\x1b", "\x7f", "\x9b", "\x07", "\u202e"):
        assert raw not in err


def test_non_ascii_reference_that_parses_is_fetched_and_reported() -> None:
    with RawServer(answer(404, b"")) as server:
        env = {"DOCSTATUS_ARTOS_BASE_URL": server.url, "DOCSTATUS_ARTOS_TOKEN": "tok-misuse-123"}
        result = run_cli("status", "artos:dökument-ü", env=env)
    assert result.returncode in {2, 4}
    assert len(result.stderr.splitlines()) == 1
    assert b"Traceback" not in result.stderr


@pytest.mark.parametrize(
    "base_url",
    ["not a url", "ftp://example.com", "http://", "http://127.0.0.1:99999", "http://user:pw@127.0.0.1", "http://é.x"],
)
def test_a_bad_base_url_is_exit_2_in_one_line(base_url: str) -> None:
    result = run_cli(
        "status", "artos:doc", env={"DOCSTATUS_ARTOS_BASE_URL": base_url, "DOCSTATUS_ARTOS_TOKEN": "t" * 9}
    )
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert b"Traceback" not in result.stderr
    assert b"pw@" not in result.stderr


def test_many_bad_references_each_get_their_line_and_the_good_one_is_fetched() -> None:
    with RawServer(answer(200, body("artos", "Ready"))) as server:
        env = {"DOCSTATUS_ARTOS_BASE_URL": server.url, "DOCSTATUS_ARTOS_TOKEN": "tok-misuse-123"}
        result = run_cli("status", "artos:" + "a" * 70_000, "artos:document-uuid-456", "nosuch:x", env=env)
    assert result.returncode == 2
    assert len(result.stdout.splitlines()) == 1
    assert len(result.stderr.splitlines()) == 2


@pytest.mark.parametrize(
    "args",
    [
        ["normalize", "artos", "/nonexistent/file.json"],
        ["normalize", "artos", "/"],
        ["normalize", "artos", "--max-bytes", "lots"],
        ["status", "artos:x", "--timeout", "soon"],
        ["nosuchcommand"],
        [],
    ],
)
def test_usage_errors_never_show_a_traceback(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr
    assert result.returncode in DOCUMENTED
