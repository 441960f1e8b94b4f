"""The README keeps its word: the Guarantees section names, for each promise, tests that exist
(a renamed or deleted test cannot leave a promise unheld), and its examples run as written."""

from __future__ import annotations

import ast
import re

import docstatus
import pytest
from _status_checks import body
from conftest import ROOT, Canned

README = (ROOT / "README.md").read_text(encoding="utf-8")


def guarantees() -> list[tuple[str, list[str]]]:
    section = README.split("\n## Guarantees\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| promise")]
    out = []
    for row in rows:
        promise, held = row.strip("|").rsplit(" | ", 1)
        out.append((promise.strip(), re.findall(r"`([^`]+)`", held)))
    return out


def resolve(names: list[str]) -> list[tuple[str, str | None]]:
    """``(file, test or None)`` for each name: ``::test`` continues the last file named, and a bare
    file name is the one file of that name under tests/."""
    current = None
    out = []
    for name in names:
        path, _, test = name.partition("::")
        if path and "/" not in path:
            found = sorted((ROOT / "tests").rglob(path))
            assert len(found) == 1, f"{path!r} names {len(found)} files under tests/"
            path = str(found[0].relative_to(ROOT))
        current = path or current
        assert current is not None, f"{name!r} names no file"
        out.append((current, test or None))
    return out


def test_the_section_exists_and_every_promise_names_a_test():
    rows = guarantees()
    assert len(rows) >= 10
    for promise, names in rows:
        assert names, f"the promise {promise!r} names no test"


@pytest.mark.parametrize(("promise", "names"), guarantees(), ids=lambda v: v[:50] if isinstance(v, str) else "")
def test_every_test_named_exists(promise, names):
    for path, test in resolve(names):
        file = ROOT / path
        assert file.is_file(), f"{promise!r}: no file {path}"
        if test is not None:
            pattern = rf"^(async )?def {re.escape(test)}\("
            assert re.search(pattern, file.read_text(encoding="utf-8"), re.MULTILINE), f"{promise!r}: no {path}::{test}"


def test_the_typed_client_example_runs_as_written(canned_server):
    """The README's typed-client example, run against a 127.0.0.1 server in place of Sarvam's."""
    block = next(
        b for b in re.findall(r"```python\n(.*?)```", README, re.DOTALL) if "api.status import get_status" in b
    )
    job_id = "5b1f0c9e-8c1d-4a7e-9f6a-2d3b4c5d6e7f"
    canned_server.reply(Canned(200, body("sarvam", "Running", job_id=job_id)))
    code = block.replace("https://api.sarvam.ai", canned_server.base_url).replace("0e6d…", job_id)
    namespace: dict[str, object] = {"docstatus": docstatus, "key": "k-README-1"}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102  # the README's own example
    seen = canned_server.requests[0]
    assert seen.headers.get("api-subscription-key") == "k-README-1"
    assert "authorization" not in {k.lower() for k in seen.headers}
    assert seen.path == f"/doc-digitization/job/v1/{job_id}/status"
    status = namespace["status"]
    assert isinstance(status, docstatus.JobStatus)
    assert status.state is docstatus.State.RUNNING


def test_the_sdk_examples_are_the_tested_ones_word_for_word():
    """The README's SDK snippets are the test functions of tests/test_sdk_readme.py, verbatim."""
    source = (ROOT / "tests" / "test_sdk_readme.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    tests = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
    assert len(tests) >= 4
    for node in tests:
        segment = ast.get_source_segment(source, node)
        assert segment is not None
        assert segment in README, f"the README does not show {node.name} as tested"
