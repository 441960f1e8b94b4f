"""Without the ``otel`` extra (no ``opentelemetry`` importable), waiting works, the default hooks
are logging only, and asking for ``OpenTelemetryHook`` names the extra to install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docstatus.simulator import Simulator

CHILD = """
import json, sys
sys.modules["opentelemetry"] = None  # as if the otel extra were not installed
import docstatus
from docstatus import instrumentation
names = [type(h).__name__ for h in instrumentation.default_hooks()]
status = docstatus.wait(sys.argv[1], timeout=30)
try:
    instrumentation.OpenTelemetryHook
except ImportError as exc:
    missing = str(exc)
print(json.dumps({"hooks": names, "state": status.state.value, "missing": missing,
                  "loaded": sorted(m for m in sys.modules if m.startswith("opentelemetry") and sys.modules[m])}))
"""


def test_waiting_without_opentelemetry_logs_only_and_names_the_extra(docstatus_sim: Simulator) -> None:
    ref = docstatus_sim.create_job("artos", "happy_path", step=0.1)
    docstatus_sim.clock.advance(60)
    env = {**os.environ, **docstatus_sim.env()}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, ref], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["hooks"] == ["LoggingHook"]
    assert out["state"] == "succeeded"
    assert "pip install 'docstatus[otel]'" in out["missing"]
    assert out["loaded"] == []
