"""Observe every poll: hooks on each poll attempt and each job (logs, traces, metrics).

Every wait — ``wait``, ``wait_async``, ``watch``, ``watch_many``, a ``Tracker`` run, a Celery
worker's ``docstatus.poll`` task — polls through one attempt, which reports to the hooks of the
process:

- per attempt an ``AttemptRecord``: provider, host, ref (masked), HTTP status, duration,
  outcome class (``ok``, ``rate_limited``, ``server_error``, ``transport``, ...), retry-after,
  the job's state before and after;
- per job a ``JobRecord`` when waiting on it starts, and when it ends (its outcome and the time
  to its end).

By default the hooks are a ``LoggingHook`` (DEBUG records on the ``docstatus`` logger, fields in
``extra``; nothing at INFO) and, when ``opentelemetry-api`` is installed
(``pip install 'docstatus[otel]'``), an ``OpenTelemetryHook``: spans and metrics through the
OpenTelemetry API, which your application's SDK configuration exports (without one they cost
next to nothing). ``set_hooks([...])`` replaces them (``[]``: none; ``None``: the defaults).

A hook is any object with ``job_started(job) -> value``, ``attempt(attempt, value)`` and
``job_ended(job, value)`` (the ``Hook`` protocol). No record holds a credential.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docstatus._waiting._hooks import (
    OUTCOMES,
    AttemptRecord,
    Hook,
    JobRecord,
    LoggingHook,
    default_hooks,
    get_hooks,
    set_hooks,
)

if TYPE_CHECKING:
    from docstatus._waiting._otel import OpenTelemetryHook


def __getattr__(name: str) -> Any:
    if name == "OpenTelemetryHook":  # needs opentelemetry-api: loaded on first use
        try:
            from docstatus._waiting._otel import OpenTelemetryHook  # noqa: PLC0415
        except ImportError as exc:
            raise ImportError(
                "docstatus.instrumentation.OpenTelemetryHook needs the OpenTelemetry API: pip install 'docstatus[otel]'"
            ) from exc
        return OpenTelemetryHook
    raise AttributeError(f"module 'docstatus.instrumentation' has no attribute {name!r}")


__all__ = [
    "OUTCOMES",
    "AttemptRecord",
    "Hook",
    "JobRecord",
    "LoggingHook",
    "OpenTelemetryHook",
    "default_hooks",
    "get_hooks",
    "set_hooks",
]
