"""``OpenTelemetryHook``: spans and metrics through the OpenTelemetry API only (``docstatus[otel]``).

Importing this module needs ``opentelemetry-api``; the application configures the SDK (or not:
then every call is the API's no-op). Per job a span ``docstatus.job`` (from the start of waiting
to its end); per attempt a CLIENT span named after the HTTP method, its child, with the HTTP
semantic-convention attributes ``http.request.method``, ``server.address``, ``server.port``,
``url.full`` (masked; credentials are sent in headers, never in the URL),
``http.response.status_code`` and ``error.type``, and ``docstatus.*`` ones (provider, ref,
outcome class, states before and after, retry-after). A Celery step's attempt span is a child of
the context current in the task (its job span is made at the job's end, from its start).

Metrics (meter ``docstatus``): ``docstatus.poll.attempts`` and ``docstatus.poll.errors``
(counters by provider, ``server.address`` and outcome class / ``error.type``),
``docstatus.poll.rate_limited`` (429s), ``docstatus.poll.duration`` (histogram, s),
``docstatus.jobs.active`` (up-down counter of jobs waited on in this process) and
``docstatus.job.duration`` (histogram of the time to the end, s, by provider and outcome). No
metric has a ref or any other per-job attribute.
"""

from __future__ import annotations

from typing import Any, Final

from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

# The records are ``_hooks.AttemptRecord`` / ``_hooks.JobRecord``; not imported, even for typing:
# ``_hooks`` loads this module (no import cycle).
AttemptRecord = Any
JobRecord = Any

#: The instrumentation scope's name.
SCOPE: Final = "docstatus"
#: Job outcomes that are errors of waiting (the job span's status is then ERROR).
_FAILED: Final = frozenset({"timed_out", "action_required", "not_found", "auth_failed", "error"})


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415  # once per hook

    try:
        return version("docstatus")
    except PackageNotFoundError:
        return "0+unknown"


def _split(host: str | None) -> tuple[str | None, int | None]:
    if not host:
        return None, None
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit():
        return name.strip("[]"), int(port)
    return host, None


class OpenTelemetryHook:
    """Spans and metrics for every job and poll attempt (see the module docstring).

    Args:
        tracer_provider: The ``TracerProvider`` to use (default: the global one, set by the
            application; none set: no-op).
        meter_provider: The ``MeterProvider`` to use (default: the global one).
    """

    wants_url = True

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        version = _version()
        self.tracer = trace.get_tracer(SCOPE, version, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, version, meter_provider=meter_provider)
        self.attempts = meter.create_counter(
            "docstatus.poll.attempts", unit="{attempt}", description="Status poll attempts, by outcome class"
        )
        self.errors = meter.create_counter(
            "docstatus.poll.errors", unit="{attempt}", description="Status poll attempts that failed, by error class"
        )
        self.rate_limited = meter.create_counter(
            "docstatus.poll.rate_limited", unit="{response}", description="Status polls answered 429"
        )
        self.latency = meter.create_histogram(
            "docstatus.poll.duration", unit="s", description="Duration of one status poll attempt"
        )
        self.active = meter.create_up_down_counter(
            "docstatus.jobs.active", unit="{job}", description="Jobs being waited on in this process"
        )
        self.to_end = meter.create_histogram(
            "docstatus.job.duration", unit="s", description="Time from the start of waiting to the job's end"
        )

    def job_started(self, job: JobRecord) -> Any:
        span = self.tracer.start_span(
            "docstatus.job",
            kind=SpanKind.INTERNAL,
            start_time=int(job.started * 1e9),
            attributes=self._job_attributes(job),
        )
        self.active.add(1, {"docstatus.provider": job.provider})
        return span, trace.set_span_in_context(span)

    def attempt(self, attempt: AttemptRecord, job: Any) -> None:
        address, port = _split(attempt.host)
        attributes: dict[str, Any] = {
            "http.request.method": attempt.method,
            "docstatus.provider": attempt.provider,
            "docstatus.job.ref": attempt.ref,
            "docstatus.outcome": attempt.outcome,
        }
        if address is not None:
            attributes["server.address"] = address
        if port is not None:
            attributes["server.port"] = port
        if attempt.url is not None:
            attributes["url.full"] = attempt.url
        if attempt.status_code is not None:
            attributes["http.response.status_code"] = attempt.status_code
        if attempt.error_type is not None:
            attributes["error.type"] = attempt.error_type
        if attempt.retry_after is not None:
            attributes["docstatus.retry_after"] = attempt.retry_after
        if attempt.state_before is not None:
            attributes["docstatus.state.before"] = attempt.state_before
        if attempt.state_after is not None:
            attributes["docstatus.state.after"] = attempt.state_after
        span = self.tracer.start_span(
            attempt.method,
            context=None if job is None else job[1],
            kind=SpanKind.CLIENT,
            start_time=attempt.started,
            attributes=attributes,
        )
        if attempt.error_type is not None:
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=attempt.started + int(attempt.duration * 1e9))
        labels: dict[str, Any] = {"docstatus.provider": attempt.provider, "docstatus.outcome": attempt.outcome}
        if address is not None:
            labels["server.address"] = address
        self.attempts.add(1, labels)
        self.latency.record(attempt.duration, labels)
        if attempt.error_type is not None:
            self.errors.add(1, {**labels, "error.type": attempt.error_type})
        if attempt.status_code == 429:
            self.rate_limited.add(1, labels)

    def job_ended(self, job: JobRecord, value: Any) -> None:
        if value is None:  # its start was not reported in this process (a Celery step): its span from its start
            span = self.tracer.start_span(
                "docstatus.job",
                kind=SpanKind.INTERNAL,
                start_time=int(job.started * 1e9),
                attributes=self._job_attributes(job),
            )
        else:
            span = value[0]
            self.active.add(-1, {"docstatus.provider": job.provider})
        span.set_attribute("docstatus.outcome", job.outcome or "released")
        if job.outcome in _FAILED:
            span.set_status(Status(StatusCode.ERROR))
            span.set_attribute("error.type", job.outcome or "error")
        if job.final and job.elapsed is not None:
            self.to_end.record(job.elapsed, {"docstatus.provider": job.provider, "docstatus.outcome": job.outcome})
        span.end()

    @staticmethod
    def _job_attributes(job: JobRecord) -> dict[str, Any]:
        attributes: dict[str, Any] = {"docstatus.provider": job.provider, "docstatus.job.ref": job.ref}
        address, port = _split(job.host)
        if address is not None:
            attributes["server.address"] = address
        if port is not None:
            attributes["server.port"] = port
        return attributes
