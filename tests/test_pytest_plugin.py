"""docstatus's pytest plugin, used as a user would: throwaway test modules run by pytester in a
fresh pytest process (the plugin loads through its ``pytest11`` entry point)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

pytest_plugins = ["pytester"]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


def test_entry_point_names_the_plugin():
    (ep,) = [ep for ep in entry_points(group="pytest11") if ep.name == "docstatus"]
    assert ep.value == "docstatus.pytest_plugin"


def test_user_creates_jobs_advances_the_clock_and_asserts_states(pytester):
    pytester.makepyfile(
        """
        import os

        import docstatus
        import pytest
        from docstatus import State
        from docstatus.simulator import Fault


        def test_env_points_docstatus_at_the_simulator(docstatus_sim):
            for provider in ("aitronos", "artos", "markdown2pdf", "neurolinker", "sarvam"):
                url = os.environ[f"DOCSTATUS_{provider.upper()}_BASE_URL"]
                assert url == f"{docstatus_sim.url}/{provider}"
            assert os.environ["DOCSTATUS_ARTOS_TOKEN"] == docstatus_sim.tokens["artos"]


        def test_a_job_moves_with_the_clock(docstatus_sim):
            docstatus_sim.clock.freeze()
            ref = docstatus_sim.create_job("sarvam", "partial_success", step=10)
            assert docstatus.get_status(ref).state is State.QUEUED
            docstatus_sim.clock.advance(10)
            assert docstatus.get_status(ref).state is State.RUNNING
            docstatus_sim.clock.advance(10)
            status = docstatus.get_status(ref)
            assert status.state is State.PARTIALLY_SUCCEEDED
            assert status.pages.failed == 1


        @pytest.mark.parametrize("provider", ["artos", "markdown2pdf"])
        def test_faults_reach_my_code(docstatus_sim, provider):
            ref = docstatus_sim.create_job(provider, "happy_path")
            docstatus_sim.inject(Fault.rate_limit(4), ref=ref)
            with pytest.raises(docstatus.RateLimited) as caught:
                docstatus.get_status(ref)
            assert caught.value.retry_after == 4
            assert docstatus.get_status(ref).state is State.QUEUED


        def test_each_test_starts_clean(docstatus_sim):
            assert docstatus_sim.jobs == []
            assert docstatus_sim.faults == []
            assert docstatus_sim.requests == []
            assert not docstatus_sim.clock.frozen
        """
    )
    result = run(pytester, "-v")
    result.assert_outcomes(passed=5)


def test_one_simulator_per_session_and_the_environment_is_restored(pytester):
    pytester.makeconftest(
        """
        import json
        import os

        os.environ["DOCSTATUS_ARTOS_BASE_URL"] = "https://original.example"
        os.environ.pop("DOCSTATUS_SARVAM_TOKEN", None)


        def pytest_unconfigure(config):
            seen = {k: os.environ.get(k) for k in ("DOCSTATUS_ARTOS_BASE_URL", "DOCSTATUS_SARVAM_TOKEN")}
            with open("env_after.json", "w") as f:
                json.dump(seen, f)
        """
    )
    pytester.makepyfile(
        test_one="""
        def test_a(docstatus_simulator):
            with open("urls.txt", "a") as f:
                f.write(docstatus_simulator.url + "\\n")
        """,
        test_two="""
        def test_b(docstatus_sim):
            with open("urls.txt", "a") as f:
                f.write(docstatus_sim.url + "\\n")
        """,
    )
    result = run(pytester)
    result.assert_outcomes(passed=2)
    urls = (pytester.path / "urls.txt").read_text().split()
    assert len(urls) == 2
    assert urls[0] == urls[1]
    after = json.loads((pytester.path / "env_after.json").read_text())
    assert after == {"DOCSTATUS_ARTOS_BASE_URL": "https://original.example", "DOCSTATUS_SARVAM_TOKEN": None}


def test_plugin_loads_nothing_heavy_until_a_fixture_is_used(pytester):
    pytester.makepyfile(
        """
        import sys


        def test_not_used():
            assert "docstatus.pytest_plugin" in sys.modules  # loaded by the entry point
            assert "docstatus.simulator" not in sys.modules
            assert "uvicorn" not in sys.modules
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_without_the_extra_the_fixtures_say_what_to_install(pytester):
    # a plugin given with -p loads before entry points: it hides uvicorn as if it were not installed
    pytester.makepyfile(
        hide_uvicorn="""
        import sys
        sys.modules["uvicorn"] = None
        """,
        test_user="""
        def test_needs_the_simulator(docstatus_sim):
            pass
        """,
    )
    result = run(pytester, "-p", "hide_uvicorn")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*need the 'simulator' extra*pip install 'docstatus?simulator?'"])  # ? : fnmatch's [ ]
    result.stdout.no_fnmatch_line("*fixture 'docstatus_sim' not found*")


def test_plugin_module_import_is_cheap_and_checks_the_extra():
    code = (
        "import sys, json\n"
        "import docstatus.pytest_plugin as plugin\n"
        "heavy = ('docstatus.simulator', 'uvicorn', 'pydantic', 'httpx')\n"
        "loaded = sorted(m for m in heavy if m in sys.modules)\n"
        "sys.modules['uvicorn'] = None\n"
        "print(json.dumps([loaded, hasattr(plugin, 'docstatus_sim'), plugin._extra_installed()]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == [[], True, False]


# --- without the simulator extra: both the import and the fixtures say what to install

#: Python that behaves as if pydantic and uvicorn were not installed (None in sys.modules makes
#: ``import`` raise ModuleNotFoundError and ``importlib.util.find_spec`` answer None).
_WITHOUT_EXTRA = "import sys\nsys.modules['pydantic'] = None\nsys.modules['uvicorn'] = None\n"


def test_importing_the_simulator_without_the_extra_says_what_to_install():
    code = _WITHOUT_EXTRA + (
        "try:\n"
        "    from docstatus.simulator import Simulator\n"
        "except ModuleNotFoundError as exc:\n"
        "    print(exc.name, '|', exc)\n"
        "import docstatus\n"  # docstatus itself needs no extra
        "print(docstatus.parse)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    first = out.stdout.splitlines()[0]
    assert first.startswith("pydantic |")
    assert "pip install 'docstatus[simulator]'" in first
    assert "Traceback" not in out.stderr
