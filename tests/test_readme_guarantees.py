"""The README's Guarantees section names, for each promise, the tests that hold it: every name
must be a test that exists, so a renamed or deleted test cannot leave a promise unheld."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

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
