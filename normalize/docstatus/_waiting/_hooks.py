"""Hooks on every poll attempt and every job: what ``docstatus.instrumentation`` makes public.

Every driver of waiting (``wait``/``watch`` and their async twins, ``watch_many``, the
``Tracker``, the Celery task) polls through one attempt (``_attempt``), and the attempt reports
to the hooks set here: per attempt an ``AttemptRecord`` (provider, host, ref, HTTP status,
duration, outcome class, retry-after, state before and after), per job a ``JobRecord`` when
waiting on it starts and when it ends.

A hook is any object with the three methods of ``Hook``. ``job_started`` returns the hook's own
value for that job (an OpenTelemetry span, say: ``None`` is fine), which comes back with each of
its attempts and with its end. Hooks are process-wide (``set_hooks``); by default they are a
``LoggingHook`` (``docstatus`` logger, DEBUG per attempt and per job, nothing at INFO) and, when
``opentelemetry-api`` is installed (``docstatus[otel]``), an ``OpenTelemetryHook``.

Nothing secret is in a record: refs are masked with the one masker (``docstatus._secrets``),
the URL holds no credential (credentials are sent in headers) and is masked too. A hook that
raises is logged once per hook and then left alone (it never fails a poll).

What a hook costs when it would do nothing: a hook may define ``enabled()`` (``LoggingHook``: its
logger is enabled for DEBUG; ``OpenTelemetryHook``: a tracer or meter provider other than the
API's no-op is set, globally or given). It is asked once when waiting on each job starts (once
for the jobs one ``watch_many`` starts together, at one instant); a job
no hook is enabled for is not traced at all (no record built, no URL formatted, no span, no
lock: the attempt only settles the job). A provider set or a logger turned to DEBUG later is
seen from the next job on.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

import attrs

from docstatus._secrets import logger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

#: The outcome classes of an attempt (``AttemptRecord.outcome``): ``ok`` (a status answer), or
#: the kind of error the poll met.
OUTCOMES: Final = (
    "ok",
    "rate_limited",
    "server_error",
    "transport",
    "malformed",
    "not_found",
    "auth",
    "bad_request",
    "config",
    "error",
)


@attrs.frozen(kw_only=True)
class AttemptRecord:
    """One poll attempt, as the hooks see it (no credential in any field).

    Attributes:
        provider: The job's provider (its name in the registry, as in its refs).
        host: The provider host polled (``"host:port"``), or ``None`` for a poll function of
            your own.
        ref: The job reference (``"<provider>:<id>"``), masked.
        method: The HTTP method (``"GET"``).
        url: The status URL polled, masked, when a hook asked for it (``Hook.wants_url``) and
            docstatus's own HTTP poll made the request; else ``None``.
        status_code: The HTTP status of the answer (an error's, when it had one), else ``None``.
        started: When the attempt started (wall clock, nanoseconds since the epoch).
        duration: Seconds the attempt took (monotonic).
        outcome: The outcome class: one of ``OUTCOMES``.
        error_type: The error's class name (``"RateLimited"``, ...), or ``None`` for a status.
        retry_after: The server's hint (seconds) on the answer or the error, else ``None``.
        state_before: The job's state before the attempt (``"queued"``, ...; ``None``: no status yet).
        state_after: Its state after the attempt (the same when the poll failed).
    """

    provider: str
    host: str | None
    ref: str
    method: str = "GET"
    url: str | None = None
    status_code: int | None
    started: int
    duration: float
    outcome: str
    error_type: str | None = None
    retry_after: float | None = None
    state_before: str | None = None
    state_after: str | None = None


@attrs.frozen(kw_only=True)
class JobRecord:
    """A job whose waiting starts or ends, as the hooks see it (no credential in any field).

    Attributes:
        provider: The job's provider.
        host: Its provider host (``"host:port"``), or ``None`` for a poll function of your own.
        ref: The job reference, masked.
        started: When waiting on it started (wall clock, seconds since the epoch; for a job
            resumed by a tracker run or a Celery step, when that run or its first step started
            waiting on it).
        outcome: At the end: the final state (``"succeeded"``, ...), the error's kind
            (``"timed_out"``, ``"action_required"``, ``"not_found"``, ``"auth_failed"``,
            ``"error"``) or ``"released"`` (this process stopped waiting without an end: the
            caller left, a tracker run gave its lease up). ``None`` at the start.
        elapsed: At the end, seconds from ``started`` (the time to the end); ``None`` at the start.
        final: True when the job ended (a final status or an error that ends waiting), False
            at the start and for ``"released"``.
    """

    provider: str
    host: str | None
    ref: str
    started: float
    outcome: str | None = None
    elapsed: float | None = None
    final: bool = False


@runtime_checkable
class Hook(Protocol):
    """What a hook defines (``set_hooks``). Each method is called on the thread or event loop
    that polls, so it should be quick; it must not raise (a hook that raises is logged once and
    ignored from then on). ``wants_url`` (optional attribute, default False): the hook reads
    ``AttemptRecord.url`` (built once per job). ``enabled`` (optional method, default: always
    enabled): whether the hook would record anything for a job starting now; asked once per job,
    it lets a job that no hook records cost nothing per attempt."""

    def job_started(self, job: JobRecord) -> Any:
        """Waiting on a job starts; returns the hook's own value for it (or ``None``)."""

    def attempt(self, attempt: AttemptRecord, job: Any) -> None:
        """One poll attempt ended; ``job`` is what ``job_started`` returned."""

    def job_ended(self, job: JobRecord, value: Any) -> None:
        """Waiting on a job ended (``job.outcome`` says how); ``value`` is what ``job_started``
        returned."""


class LoggingHook:
    """The default hook: a DEBUG record on the ``docstatus`` logger per attempt and per job,
    with the record's fields in ``extra`` (``docstatus_attempt`` / ``docstatus_job``: a dict),
    masked like every record of that logger. Nothing is logged at INFO or above."""

    wants_url = False

    def __init__(self, log: logging.Logger | None = None) -> None:
        self.log = log if log is not None else logger

    def enabled(self) -> bool:
        """Its logger is enabled for DEBUG (asked once per job)."""
        return self.log.isEnabledFor(logging.DEBUG)

    def job_started(self, job: JobRecord) -> Any:
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug("waiting on %s starts", job.ref, extra={"docstatus_job": attrs.asdict(job)}, stacklevel=2)

    def attempt(self, attempt: AttemptRecord, job: Any) -> None:  # noqa: ARG002  # the Hook protocol's signature
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug(
                "polled %s: %s (HTTP %s) in %.3f s, %s -> %s",
                attempt.ref,
                attempt.outcome,
                attempt.status_code,
                attempt.duration,
                attempt.state_before,
                attempt.state_after,
                extra={"docstatus_attempt": attrs.asdict(attempt)},
            )

    def job_ended(self, job: JobRecord, value: Any) -> None:  # noqa: ARG002  # the Hook protocol's signature
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug(
                "waiting on %s ended: %s after %.3f s",
                job.ref,
                job.outcome,
                job.elapsed or 0.0,
                extra={"docstatus_job": attrs.asdict(job)},
            )


class Hooks:
    """The hooks in use, called as one (package-internal: drivers call ``current()``)."""

    __slots__ = ("broken", "checks", "hooks", "parts", "wants_url")

    def __init__(self, hooks: Sequence[Hook], broken: set[int] | None = None) -> None:
        self.hooks = tuple(hooks)
        self.wants_url = any(getattr(h, "wants_url", False) for h in self.hooks)
        #: ``id()`` of the hooks that raised (shared with ``live``'s parts: a broken hook is
        #: broken for every job).
        self.broken: set[int] = set() if broken is None else broken
        self.checks = tuple(getattr(h, "enabled", None) for h in self.hooks)
        #: The parts of these hooks made by ``live``, by which hooks are enabled.
        self.parts: dict[tuple[bool, ...], Hooks] = {}

    def live(self) -> Hooks | None:
        """The hooks enabled for a job starting now (``None``: none, the job is not traced):
        these hooks, or a part of them (made once per combination)."""
        hooks, checks = self.hooks, self.checks
        if len(hooks) == 1:  # the common cases, without a tuple
            return self if self._on(hooks[0], checks[0]) else None
        key = tuple([self._on(hook, check) for hook, check in zip(hooks, checks, strict=True)])
        if False not in key:
            return self
        if True not in key:
            return None
        part = self.parts.get(key)
        if part is None:
            chosen = [hook for hook, on in zip(self.hooks, key, strict=True) if on]
            part = self.parts[key] = Hooks(chosen, self.broken)
        return part

    def job_started(self, job: JobRecord) -> tuple[Any, ...]:
        values = []
        for hook in self.hooks:
            value = None
            if id(hook) not in self.broken:
                try:
                    value = hook.job_started(job)
                except Exception:
                    self._broke(hook)
            values.append(value)
        return tuple(values)

    def attempt(self, attempt: AttemptRecord, values: tuple[Any, ...] | None) -> None:
        for i, hook in enumerate(self.hooks):
            if id(hook) not in self.broken:
                try:
                    hook.attempt(attempt, None if values is None else values[i])
                except Exception:
                    self._broke(hook)

    def job_ended(self, job: JobRecord, values: tuple[Any, ...] | None) -> None:
        for i, hook in enumerate(self.hooks):
            if id(hook) not in self.broken:
                try:
                    hook.job_ended(job, None if values is None else values[i])
                except Exception:
                    self._broke(hook)

    def _on(self, hook: Hook, check: Callable[[], object] | None) -> bool:
        if id(hook) in self.broken:
            return False
        if check is None:
            return True
        try:
            return bool(check())
        except Exception:
            self._broke(hook)
            return False

    def _broke(self, hook: Hook) -> None:
        self.broken.add(id(hook))
        logger.exception(
            "docstatus: the hook %s raised; it is not called again in this process (fix it, then set_hooks again)",
            type(hook).__name__,
        )


_lock: Final = threading.Lock()
_current: Hooks | None = None
_set = False


def default_hooks() -> list[Hook]:
    """The hooks in use unless ``set_hooks`` says otherwise: a ``LoggingHook``, and an
    ``OpenTelemetryHook`` when ``opentelemetry-api`` is installed."""
    hooks: list[Hook] = [LoggingHook()]
    try:
        from ._otel import OpenTelemetryHook  # noqa: PLC0415  # only with the otel extra

        hooks.append(OpenTelemetryHook())
    except ImportError:
        pass
    return hooks


def set_hooks(hooks: Iterable[Hook] | None) -> None:
    """Set the hooks every wait of this process reports to (replacing the ones before; an empty
    list: none at all, the cheapest; ``None``: back to ``default_hooks()``). Waits already
    running keep the hooks they started with for the jobs they hold."""
    global _current, _set  # one process-wide setting, read once per job
    chosen = None if hooks is None else list(hooks)
    for hook in chosen or ():
        if not isinstance(hook, Hook):
            raise TypeError(
                f"set_hooks: {type(hook).__name__} is not a hook (it needs job_started, attempt and job_ended)"
            )
    with _lock:
        if chosen is None:
            _current, _set = None, False
        else:
            _current, _set = (Hooks(chosen) if chosen else None), True


def get_hooks() -> tuple[Hook, ...]:
    """The hooks in use."""
    hooks = current()
    return () if hooks is None else hooks.hooks


def current() -> Hooks | None:
    """The hooks in use (``None``: none), made from ``default_hooks()`` on first use."""
    global _current, _set
    if _set:
        return _current
    with _lock:
        if not _set:
            _current, _set = Hooks(default_hooks()), True
        return _current
