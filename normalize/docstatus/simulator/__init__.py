"""An offline simulator of the providers' status endpoints, for tests and demos.

Needs the ``simulator`` extra (``pip install 'docstatus[simulator]'``: uvicorn, pydantic)::

    from docstatus.simulator import Fault, Simulator

    with Simulator() as sim:                          # 127.0.0.1, a free port
        ref = sim.create_job(provider, "happy_path", step=1.0)  # provider: a name in SCRIPTS
        sim.inject(Fault.rate_limit(retry_after=2), ref=ref)
        sim.clock.advance(3)                          # move jobs on without sleeping
        ...

Point docstatus (or any client) at it with ``sim.env()`` (``DOCSTATUS_<P>_BASE_URL`` =
``<url>/<provider>`` and the fake tokens it accepts). ``docstatus simulate`` runs it in the
foreground; the pytest fixture ``docstatus_sim`` gives one per test session.

Each provider's simulation is one module, ``docstatus.simulator._providers.<provider>`` (its
routes, auth, ids, error and status bodies, default token and ready-made scripts); the
registry there also serves a provider defined outside the package (``register(module)``).
"""

# ruff: noqa: E402  # the extra is checked (with an install hint) before the modules that need it load
from __future__ import annotations

#: What to install when the ``simulator`` extra is missing.
INSTALL_HINT = "pip install 'docstatus[simulator]'"

try:
    import pydantic  # noqa: F401  # the extra's first need: every body is a pydantic model
except ModuleNotFoundError as _missing:
    raise ModuleNotFoundError(
        f"docstatus.simulator needs the 'simulator' extra ({_missing.name} is not installed): {INSTALL_HINT}",
        name=_missing.name,
    ) from _missing

from ._app import CONTROL_ROUTES, SimulatorApp
from ._faults import FAULT_KINDS, MAX_COUNT, MAX_DELAY, MAX_RETRY_AFTER, Fault
from ._jobs import (
    DEFAULT_STEP,
    MAX_ADVANCE,
    MAX_OFFSET,
    MAX_SCRIPT_LENGTH,
    Clock,
    Job,
    JobInfo,
    PageCounts,
    PageFailure,
    Phase,
    Script,
)
from ._providers import DEFAULT_TOKENS, SCRIPTS, script
from ._server import Simulator, SimulatorError
from ._state import RequestRecord

__all__ = [
    "CONTROL_ROUTES",
    "DEFAULT_STEP",
    "DEFAULT_TOKENS",
    "FAULT_KINDS",
    "INSTALL_HINT",
    "MAX_ADVANCE",
    "MAX_COUNT",
    "MAX_DELAY",
    "MAX_OFFSET",
    "MAX_RETRY_AFTER",
    "MAX_SCRIPT_LENGTH",
    "SCRIPTS",
    "Clock",
    "Fault",
    "Job",
    "JobInfo",
    "PageCounts",
    "PageFailure",
    "Phase",
    "RequestRecord",
    "Script",
    "Simulator",
    "SimulatorApp",
    "SimulatorError",
    "script",
]
