"""docstatus's pytest plugin (entry point ``pytest11``: ``docstatus``).

Fixtures, working when the ``simulator`` extra (uvicorn, pydantic) is installed
(``pip install 'docstatus[simulator]'``):

- ``docstatus_simulator`` (session scope): a ``docstatus.simulator.Simulator`` started on
  127.0.0.1 on a free port for the test session, with ``DOCSTATUS_<PROVIDER>_BASE_URL`` and
  ``DOCSTATUS_<PROVIDER>_TOKEN`` set to it for the session (restored afterwards), so
  ``docstatus.get_status``, the CLI and the clients talk to it. Stopped at the end.
- ``docstatus_sim`` (function scope): the same simulator, reset before and after the test
  (no jobs, faults or logged requests; the clock back to real time).

Without the extra both fixtures still exist and fail the test that asks for one with
``pip install 'docstatus[simulator]'`` (rather than pytest's ``fixture not found``).

Example::

    def test_my_poller(docstatus_sim):
        ref = docstatus_sim.create_job(PROVIDER, "failure")   # any of docstatus.PROVIDERS
        docstatus_sim.clock.advance(60)           # the job has ended; no sleeping
        assert my_poller(ref) == "failed"

The plugin is loaded in every pytest run of a project that has docstatus installed, so
importing it costs nothing: the standard library and pytest only; the simulator is imported
when a test first asks for a fixture.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from docstatus.simulator import Simulator


def _extra_installed() -> bool:
    """True when uvicorn and pydantic can be imported (without importing them)."""
    for name in ("uvicorn", "pydantic"):
        try:
            if importlib.util.find_spec(name) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


if _extra_installed():

    @pytest.fixture(scope="session")
    def docstatus_simulator() -> Iterator[Simulator]:
        """The docstatus simulator for the test session, with docstatus's environment pointed at it."""
        from docstatus.simulator import Simulator  # noqa: PLC0415  # loaded only when a test asks

        sim = Simulator()
        sim.start()
        try:
            with pytest.MonkeyPatch.context() as patch:
                for name, value in sim.env().items():
                    patch.setenv(name, value)
                yield sim
        finally:
            sim.stop()

    @pytest.fixture
    def docstatus_sim(docstatus_simulator: Simulator) -> Iterator[Simulator]:
        """The session's simulator, reset before and after this test."""
        docstatus_simulator.reset()
        try:
            yield docstatus_simulator
        finally:
            docstatus_simulator.reset()

else:
    _MISSING = (
        "the docstatus_sim and docstatus_simulator fixtures need the 'simulator' extra "
        "(uvicorn, pydantic): pip install 'docstatus[simulator]'"
    )

    @pytest.fixture(scope="session")
    def docstatus_simulator() -> None:
        """Fails the test: the ``simulator`` extra is not installed."""
        pytest.fail(_MISSING, pytrace=False)

    @pytest.fixture
    def docstatus_sim() -> None:
        """Fails the test: the ``simulator`` extra is not installed."""
        pytest.fail(_MISSING, pytrace=False)
