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

try:  # the API's proxy for a meter provider not set yet (no public name)
    from opentelemetry.metrics._internal import _ProxyMeterProvider
except ImportError:  # pragma: no cover  # another API version: only NoOpMeterProvider is known as no-op
    _ProxyMeterProvider = metrics.NoOpMeterProvider  # type: ignore[misc,assignment]

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


class _Job:
    """What the hook keeps of one job: its span and context (``None`` when tracing is off), the
    attributes every attempt span of it shares, and its metric labels' start."""

    __slots__ = ("address", "attributes", "context", "provider", "span", "tracing")

    def __init__(self, span: Any, attributes: dict[str, Any], provider: str, *, tracing: bool) -> None:
        self.span = span
        self.tracing = tracing  # attempt spans are made (under ``context``; ``None``: the current one)
        self.context = None if span is None else trace.set_span_in_context(span)
        self.attributes = {"http.request.method": "GET", **attributes}
        self.address = attributes.get("server.address")
        self.provider = provider


#: The API's own tracer and meter providers, which record nothing (no SDK configured).
_NO_OP_TRACERS: Final = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_NO_OP_METERS: Final = (_ProxyMeterProvider, metrics.NoOpMeterProvider)


class OpenTelemetryHook:
    """Spans and metrics for every job and poll attempt (see the module docstring).

    Args:
        tracer_provider: The ``TracerProvider`` to use (default: the global one, set by the
            application; none set: no-op).
        meter_provider: The ``MeterProvider`` to use (default: the global one).

    While neither provider is more than the API's no-op (no SDK configured, the default), the
    hook is not ``enabled``: jobs cost nothing per attempt. The global providers are looked up
    when waiting on each job starts, so an SDK configured after docstatus was imported is used
    from the next job on.
    """

    wants_url = True

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        version = _version()
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
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
        #: Metric labels by (provider, address, outcome, error type): made once each.
        self.labels: dict[tuple[str, str | None, str, str | None], dict[str, Any]] = {}

    def enabled(self) -> bool:
        """A tracer or meter provider other than the API's no-op is in use (asked when waiting on a
        job starts; once for the jobs a ``watch_many`` starts together)."""
        if self._tracing():
            return True
        meter = metrics.get_meter_provider() if self.meter_provider is None else self.meter_provider
        return not isinstance(meter, _NO_OP_METERS)

    def _tracing(self) -> bool:
        provider = trace.get_tracer_provider() if self.tracer_provider is None else self.tracer_provider
        return not isinstance(provider, _NO_OP_TRACERS)

    def job_started(self, job: JobRecord) -> Any:
        attributes = self._job_attributes(job)
        span = None
        if self._tracing():
            span = self.tracer.start_span(
                "docstatus.job", kind=SpanKind.INTERNAL, start_time=int(job.started * 1e9), attributes=attributes
            )
        self.active.add(1, self._labels(job.provider, None, None, None))
        return _Job(span, attributes, job.provider, tracing=span is not None)

    def _labels(self, provider: str, address: str | None, outcome: str | None, error: str | None) -> dict[str, Any]:
        key = (provider, address, outcome or "", error)
        labels = self.labels.get(key)
        if labels is None:
            labels = {"docstatus.provider": provider}
            if outcome is not None:
                labels["docstatus.outcome"] = outcome
            if address is not None:
                labels["server.address"] = address
            if error is not None:
                labels["error.type"] = error
            if len(self.labels) < 4096:  # bounded: providers x hosts x outcomes is small
                self.labels[key] = labels
        return labels

    def attempt(self, attempt: AttemptRecord, job: Any) -> None:
        if job is None:  # a job whose start was not reported here (a Celery step)
            job = _Job(None, self._job_attributes(attempt), attempt.provider, tracing=self._tracing())
        if job.tracing:
            attributes = dict(job.attributes)
            attributes["docstatus.outcome"] = attempt.outcome
            if attempt.method != "GET":
                attributes["http.request.method"] = attempt.method
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
                context=job.context,
                kind=SpanKind.CLIENT,
                start_time=attempt.started,
                attributes=attributes,
            )
            if attempt.error_type is not None:
                span.set_status(Status(StatusCode.ERROR))
            span.end(end_time=attempt.started + int(attempt.duration * 1e9))
        labels = self._labels(job.provider, job.address, attempt.outcome, None)
        self.attempts.add(1, labels)
        self.latency.record(attempt.duration, labels)
        if attempt.error_type is not None:
            self.errors.add(1, self._labels(job.provider, job.address, attempt.outcome, attempt.error_type))
        if attempt.status_code == 429:
            self.rate_limited.add(1, labels)

    def job_ended(self, job: JobRecord, value: Any) -> None:
        if value is None:  # its start was not reported in this process (a Celery step): its span from its start
            span = None
            if self._tracing():
                span = self.tracer.start_span(
                    "docstatus.job",
                    kind=SpanKind.INTERNAL,
                    start_time=int(job.started * 1e9),
                    attributes=self._job_attributes(job),
                )
        else:
            span = value.span
            self.active.add(-1, self._labels(job.provider, None, None, None))
        if span is not None:
            span.set_attribute("docstatus.outcome", job.outcome or "released")
            if job.outcome in _FAILED:
                span.set_status(Status(StatusCode.ERROR))
                span.set_attribute("error.type", job.outcome or "error")
            span.end()
        if job.final and job.elapsed is not None:
            self.to_end.record(job.elapsed, self._labels(job.provider, None, job.outcome or "error", None))

    @staticmethod
    def _job_attributes(job: JobRecord) -> dict[str, Any]:
        attributes: dict[str, Any] = {"docstatus.provider": job.provider, "docstatus.job.ref": job.ref}
        address, port = _split(job.host)
        if address is not None:
            attributes["server.address"] = address
        if port is not None:
            attributes["server.port"] = port
        return attributes
