"""One poll attempt: the one place every driver of waiting polls through.

``wait``/``watch`` and their async twins (``_single``), ``watch_many``'s fleet (``_many``, also
the ``Tracker``'s dispatcher) and the Celery task (``docstatus._celery._task``) each decide *when*
to poll their own way; *what one poll is* lives here, once:

1. call the poll function with the request timeout (``Attempt.call``, or ``Attempt.call_async``
   under an outer time limit), turning what it raised into the attempt's error: a
   ``DocstatusError`` as it is, an overrun of the outer limit as ``abandoned`` (a
   ``TransportError``), and, for docstatus's own HTTP poll (``own``), any other exception as a
   ``DocstatusError`` naming its type (logged with its traceback, masked);
2. classify the outcome (``outcome_of``: ``ok``, ``rate_limited``, ``server_error``, ...);
3. update the host's budget (``charge``: a 429, or a 5xx with a hint, throttles it; any other
   answer counts as one) — a ``Budget`` is ``HostBudget`` in memory or Celery's ``SharedBudget``
   in Redis;
4. settle the job: hand the outcome to its sans-IO ``Waiter``, which returns the next ``Step``;
5. report the attempt to the hooks (``_hooks``), with the job's state before and after.

Package-internal interface (what the drivers use; documented here, not public API):

- ``Attempt(job=..., waiter=..., timeout=..., trace=..., budget=..., epoch=..., url=...)``,
  then ``result, error = attempt.call(poll, own=..., abandon=...)`` or
  ``await attempt.call_async(poll, limit, guard, own=...)``, then
  ``step = attempt.conclude(result, error, now)``;
- ``JobTrace.start(hooks, job, host)`` when waiting on a job starts (``None`` without hooks;
  ``JobTrace.begin(hooks.live(), ...)`` for jobs started together, the hooks asked once),
  ``trace.end(step_or_error)`` / ``trace.release()`` when it ends or is let go;
- ``host_key(ref, configs)``: the budget key of a job's host; ``settle``, ``abandoned``.
"""

from __future__ import annotations

import time
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import urlsplit

import attrs

from docstatus import _exceptions as errors
from docstatus._secrets import logger, mask

from ._core import Action, Step, Waiter
from ._hooks import AttemptRecord, Hooks, JobRecord
from ._poll import outcome

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from contextlib import AbstractContextManager

    from docstatus._refs import JobRef

    from ._core import WaitPolicy
    from ._poll import Configs


class Budget(Protocol):
    """A host's polling budget as an attempt updates it (``HostBudget``; Celery's ``SharedBudget``).
    ``epoch`` is what the budget handed out when the poll started (its rate decreases so far).
    Both apply the rules of ``_aimd`` (``on_answer``, ``on_429``), each to its own copy of the state."""

    def answered(self, epoch: int) -> None: ...

    def throttle(self, now: float, hint: float | None, policy: WaitPolicy, epoch: int) -> None: ...


def host_key(ref: JobRef, configs: Configs | None) -> str:
    """The budget key of ``ref``'s host: ``"<provider> <host:port>"`` (the provider alone for a
    poll function of your own)."""
    if configs is None:
        return ref.provider
    return f"{ref.provider} {urlsplit(configs.for_ref(ref).base_url).netloc}"


def host_of(key: str) -> str | None:
    """The ``host:port`` of a ``host_key`` (``None`` for a poll function of your own)."""
    return key.partition(" ")[2] or None


def outcome_of(error: errors.DocstatusError | None) -> str:
    """The outcome class of an attempt (one of ``_hooks.OUTCOMES``)."""
    if error is None:
        return "ok"
    for cls, name in _CLASSES:
        if isinstance(error, cls):
            return name
    return "error"


_CLASSES: Final = (
    (errors.RateLimited, "rate_limited"),
    (errors.ProviderServerError, "server_error"),
    (errors.TransportError, "transport"),
    (errors.MalformedResponse, "malformed"),
    (errors.JobNotFound, "not_found"),
    (errors.AuthenticationError, "auth"),
    (errors.BadRequest, "bad_request"),
    (errors.ConfigurationError, "config"),
)


def charge(budget: Budget, error: errors.DocstatusError | None, now: float, policy: WaitPolicy, epoch: int) -> None:
    """Update ``budget`` with one poll's outcome: a 429 (or a 5xx with a hint) throttles the
    host; any other answer of the host counts as one (a transport failure, no answer, neither)."""
    if error is None:
        budget.answered(epoch)
    elif isinstance(error, errors.RateLimited) or (
        isinstance(error, errors.ProviderServerError) and error.retry_after is not None
    ):
        budget.throttle(now, error.retry_after, policy, epoch)
    elif isinstance(error, errors.ProviderError):
        budget.answered(epoch)


def settle(waiter: Waiter, now: float, result: Any, error: errors.DocstatusError | None) -> Step:
    """Hand one poll's outcome to ``waiter``: its ``error``, else what the poll function
    returned (a ``JobStatus`` or a ``FetchResult``-like object, whose hint is read)."""
    if error is not None:
        return waiter.on_error(error, now)
    status, hint = outcome(result)
    return waiter.on_status(status, now, retry_after=hint)


def abandoned(job: JobRef, limit: float) -> errors.TransportError:
    """The error of a poll that overran its outer timeout ``limit`` and was abandoned."""
    return errors.TransportError(
        f"the status poll for {job} took longer than {limit:g} s and was abandoned; it is retried within the deadline",
        provider=job.provider,
        ref=str(job),
    )


def unexpected(job: JobRef, exc: Exception) -> errors.DocstatusError:
    """The error of docstatus's own poll that raised something other than a ``DocstatusError``
    (its text is not kept: it may hold server data or a credential; the traceback is logged, masked).
    A warning made an error in this process (``-W error``, ``PYTHONWARNINGS``) is no bug: it is a
    ``ConfigurationError`` (docstatus's own ``InsecureCredentialWarning`` keeps its text)."""
    if isinstance(exc, Warning):
        said = str(exc) if isinstance(exc, errors.InsecureCredentialWarning) else "a warning"
        return errors.ConfigurationError(
            f"polling {job} stopped: {said} ({type(exc).__name__}, an error in this process by -W or "
            "PYTHONWARNINGS); waiting on this job stops"
        )
    logger.error("polling %s failed unexpectedly", job, exc_info=exc)
    return errors.DocstatusError(
        f"polling {job} failed with an unexpected {type(exc).__name__} (a bug in docstatus: please report it); "
        "waiting on this job stops"
    )


def job_outcome(step: Step) -> str:
    """How a job ended, for ``JobRecord.outcome``: its final state, or its error's kind."""
    if step.action is Action.RETURN and step.status is not None:
        return step.status.state.value
    return error_outcome(step.error)


def error_outcome(error: errors.DocstatusError | None) -> str:
    """The ``JobRecord.outcome`` of an end by ``error``."""
    if isinstance(error, errors.WaitTimeout):
        return "timed_out"
    if isinstance(error, errors.ActionRequired):
        return "action_required"
    if isinstance(error, errors.JobNotFound):
        return "not_found"
    if isinstance(error, errors.AuthenticationError):
        return "auth_failed"
    return "error"


@attrs.define(slots=True, eq=False)
class JobTrace:
    """What the hooks keep of one job being waited on (only when there are hooks).

    Attributes:
        hooks: The hooks it reports to.
        record: Its ``JobRecord`` at the start.
        values: Each hook's value for it (what ``job_started`` returned).
        clock: ``time.monotonic()`` when it started (for ``elapsed``).
        ended: Its end was reported (it is reported once).
        url: Its status URL, masked, once an attempt made it (``""``: it has none).
    """

    hooks: Hooks
    record: JobRecord
    values: tuple[Any, ...]
    clock: float
    ended: bool = False
    url: str | None = None

    def url_of(self, job: JobRef, make: Callable[[JobRef], str] | None) -> str | None:
        """The job's status URL, masked, made once (``make``: the driver's URL function)."""
        url = self.url
        if url is None:
            url = ""
            if make is not None:
                try:
                    url = mask(make(job))
                except Exception:  # no URL: the hooks get none
                    url = ""
            self.url = url
        return url or None

    @classmethod
    def start(
        cls, hooks: Hooks | None, job: JobRef, host: str | None, *, started: float | None = None
    ) -> JobTrace | None:
        """Report that waiting on ``job`` starts (``started``: when it did, wall clock; default now)."""
        return cls.begin(None if hooks is None else hooks.live(), job, host, started=started)

    @classmethod
    def begin(
        cls, live: Hooks | None, job: JobRef, host: str | None, *, started: float | None = None
    ) -> JobTrace | None:
        """As ``start``, with the hooks enabled now already asked for (``Hooks.live()``: the jobs
        a driver starts together ask once; ``None``: none is, the job costs nothing)."""
        hooks = live
        if hooks is None:
            return None
        now, wall = time.monotonic(), time.time()
        if started is not None:
            now -= max(0.0, wall - started)
            wall = started
        record = JobRecord(provider=job.provider, host=host, ref=mask(str(job)), started=wall)
        return cls(hooks=hooks, record=record, values=hooks.job_started(record), clock=now)

    @classmethod
    def resumed(cls, hooks: Hooks | None, job: JobRef, host: str | None, *, started: float) -> JobTrace | None:
        """A job waited on since ``started`` (wall clock) whose start was not reported in this
        process (a Celery step): its attempts and its end are reported, each hook's value is
        ``None`` (``OpenTelemetryHook`` then makes the job's span at its end, from ``started``)."""
        if hooks is None:
            return None
        hooks = hooks.live()
        if hooks is None:
            return None
        now, wall = time.monotonic(), time.time()
        record = JobRecord(provider=job.provider, host=host, ref=mask(str(job)), started=started)
        return cls(hooks=hooks, record=record, values=(None,) * len(hooks.hooks), clock=now - max(0.0, wall - started))

    def end(self, outcome: str, *, final: bool = True) -> None:
        """Report the job's end (once)."""
        if self.ended:
            return
        self.ended = True
        record = attrs.evolve(self.record, outcome=outcome, elapsed=time.monotonic() - self.clock, final=final)
        self.hooks.job_ended(record, self.values)

    def release(self) -> None:
        """This process stops waiting on the job without an end (``outcome="released"``)."""
        self.end("released", final=False)


@attrs.define(slots=True, eq=False)
class Attempt:
    """One poll of one job (see the module docstring for how drivers use it).

    Attributes:
        job: The job's canonical ``JobRef`` (what is polled).
        waiter: Its ``Waiter`` (settled by ``conclude``).
        timeout: The request timeout handed to the poll function (seconds).
        trace: The job's ``JobTrace`` (``None``: no hooks).
        budget: Its host's budget, updated by ``conclude`` (``None``: no budget, ``wait``).
        epoch: What the budget handed out when the poll started.
        host: The host polled (``"host:port"``), for the hooks.
        url: Gives the status URL, masked, when a hook wants it (docstatus's own HTTP poll).
        started: When the attempt started (monotonic; set by ``call``/``call_async``).
    """

    job: JobRef
    waiter: Waiter
    timeout: float
    trace: JobTrace | None = None
    budget: Budget | None = None
    epoch: int = 0
    host: str | None = None
    url: Callable[[JobRef], str] | None = None
    started: float = 0.0
    wall: int = 0

    def _begin(self) -> None:
        if self.trace is not None:
            self.wall = time.time_ns()
            self.started = time.perf_counter()

    def call(
        self, poll: Callable[[JobRef, float], Any], *, own: bool = False, abandon: bool = False
    ) -> tuple[Any, errors.DocstatusError | None]:
        """Call ``poll(job, timeout)`` here (sync): what it returned, or its error. ``own``:
        docstatus's own poll (another exception is this job's error); ``abandon``: a
        ``TimeoutError`` it raises is ``abandoned``. Anything else it raises propagates."""
        self._begin()
        try:
            return poll(self.job, self.timeout), None
        except errors.DocstatusError as exc:  # before TimeoutError: WaitTimeout is both
            return None, exc
        except TimeoutError:
            if not abandon:
                raise
            return None, abandoned(self.job, self.timeout)
        except Exception as exc:
            if not own:
                raise
            return None, unexpected(self.job, exc)

    async def call_async(
        self,
        poll: Callable[[JobRef, float], Awaitable[Any]],
        limit: float,
        guard: Callable[[float], AbstractContextManager[Any] | AbstractAsyncContextManager[Any]],
        *,
        own: bool = False,
    ) -> tuple[Any, errors.DocstatusError | None]:
        """``await poll(job, timeout)`` under ``guard(limit)`` (``asyncio.timeout`` or
        ``anyio.fail_after``): what it returned, or its error (an overrun is ``abandoned``).
        ``own`` as for ``call``."""
        self._begin()
        try:
            scope = guard(limit)
            if isinstance(scope, AbstractAsyncContextManager):  # asyncio.timeout
                async with scope:
                    return await poll(self.job, self.timeout), None
            with scope:  # anyio.fail_after
                return await poll(self.job, self.timeout), None
        except errors.DocstatusError as exc:  # before TimeoutError: WaitTimeout is both
            return None, exc
        except TimeoutError:
            return None, abandoned(self.job, limit)
        except Exception as exc:
            if not own:
                raise
            return None, unexpected(self.job, exc)

    def conclude(
        self, result: Any, error: errors.DocstatusError | None, now: float, *, budget_now: float | None = None
    ) -> Step:
        """The attempt's outcome at ``now`` (the waiter's clock): the budget updated (at
        ``budget_now`` on its own clock, default ``now``), the job settled (its next ``Step``),
        the hooks told."""
        waiter = self.waiter
        if self.budget is not None:
            charge(self.budget, error, now if budget_now is None else budget_now, waiter.policy, self.epoch)
        trace = self.trace
        if trace is None:
            return settle(waiter, now, result, error)
        duration = time.perf_counter() - self.started
        before = waiter.last
        step = settle(waiter, now, result, error)
        after = waiter.last
        code: int | None
        hint: float | None
        if error is None:
            code = getattr(result, "status_code", None)
            hint = waiter.hint
        else:
            code = getattr(error, "status_code", None)
            hint = getattr(error, "retry_after", None)
        url = trace.url_of(self.job, self.url) if trace.hooks.wants_url else None
        trace.hooks.attempt(
            AttemptRecord(
                provider=self.job.provider,
                host=self.host,
                ref=trace.record.ref,
                url=url,
                status_code=code if isinstance(code, int) else None,
                started=self.wall,
                duration=duration,
                outcome=outcome_of(error),
                error_type=None if error is None else type(error).__name__,
                retry_after=hint,
                state_before=None if before is None else before.state.value,
                state_after=None if after is None else after.state.value,
            ),
            trace.values,
        )
        if step.action is not Action.POLL:
            trace.end(job_outcome(step), final=True)
        return step
