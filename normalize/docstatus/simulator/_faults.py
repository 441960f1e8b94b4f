"""Faults on demand: answers a real provider (or the network in front of it) sometimes gives.

A ``Fault`` is served to the next ``count`` matching status requests, then it is used up, so a
test always ends. Build one with the class methods::

    Fault.rate_limit(retry_after=2)                      # 429, Retry-After: 2
    Fault.rate_limit(retry_after=2, form="http-date")    # 429, Retry-After: <HTTP-date>
    Fault.error(503, retry_after=1)                      # 500, 503, 520, 404, ...
    Fault.slow(delay=1.5)                                # answers after 1.5 s (bounded)
    Fault.drop()                                         # closes the connection, no answer
    Fault.truncated()                                    # Content-Length larger than sent, then close
    Fault.html(502)                                      # an HTML error page, status 200 or 502
"""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

import attrs

from ._jobs import finite, is_number

FaultKind = Literal["rate_limit", "error", "slow", "drop", "truncate", "html"]
RetryAfterForm = Literal["seconds", "http-date"]

#: Every fault kind.
FAULT_KINDS: Final[tuple[str, ...]] = get_args(FaultKind)
#: Longest delay a slow fault may have, in seconds (it also ends when the simulator stops).
MAX_DELAY: Final = 60.0
#: Most requests one fault may apply to.
MAX_COUNT: Final = 1_000_000
#: Largest ``retry_after`` a fault may send, in seconds (about 31.7 years: far enough to test
#: a client's clamp, near enough that the HTTP-date form is still a valid date).
MAX_RETRY_AFTER: Final = 1e9
#: Statuses each fault kind may serve (inclusive); the others keep the normal answer's (200).
_STATUS_RANGES: Final = {"rate_limit": (429, 429), "error": (400, 599), "html": (200, 599)}


@attrs.frozen(kw_only=True)
class Fault:
    """One fault, served to the next ``count`` matching status requests.

    Attributes:
        kind: ``rate_limit`` (429), ``error`` (a 4xx/5xx or non-standard status with the
            provider's error body), ``slow`` (the normal answer after ``delay`` seconds),
            ``drop`` (the connection closes without an answer), ``truncate`` (the normal
            answer's headers, then half its body, then the connection closes), ``html`` (an
            HTML error page).
        count: How many requests it applies to (1 to ``MAX_COUNT``).
        status: The HTTP status served (429 for ``rate_limit``; 200 for ``slow``, ``drop``
            and ``truncate``, which keep the normal answer's).
        retry_after: Seconds to send in ``Retry-After`` (0 to ``MAX_RETRY_AFTER``), or ``None``
            for no header.
        retry_after_form: ``"seconds"`` (``Retry-After: 2``) or ``"http-date"``
            (``Retry-After: Wed, 21 Oct 2026 07:28:00 GMT``, rounded up to the second).
        delay: Seconds a ``slow`` fault waits before answering (0 < delay <= ``MAX_DELAY``).
    """

    kind: FaultKind
    count: int = 1
    status: int = 200
    retry_after: float | None = None
    retry_after_form: RetryAfterForm = "seconds"
    delay: float = 0.0

    def __attrs_post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if not isinstance(self.count, int) or isinstance(self.count, bool) or not 1 <= self.count <= MAX_COUNT:
            raise ValueError(f"a fault's count must be an integer from 1 to {MAX_COUNT}, not {self.count!r}")
        if self.retry_after is not None and not (
            is_number(self.retry_after) and finite(self.retry_after) and 0 <= self.retry_after <= MAX_RETRY_AFTER
        ):
            raise ValueError(
                f"retry_after must be finite seconds from 0 to {MAX_RETRY_AFTER:g}, or None, not {self.retry_after!r}"
            )
        if self.retry_after_form not in get_args(RetryAfterForm):
            raise ValueError(f"retry_after_form must be 'seconds' or 'http-date', not {self.retry_after_form!r}")
        low, high = _STATUS_RANGES.get(self.kind, (200, 200))
        if not isinstance(self.status, int) or isinstance(self.status, bool) or not low <= self.status <= high:
            raise ValueError(f"status {self.status!r} does not fit a {self.kind} fault")
        if self.kind == "slow":
            if not (is_number(self.delay) and finite(self.delay) and 0 < self.delay <= MAX_DELAY):
                raise ValueError(f"a slow fault's delay must be > 0 and <= {MAX_DELAY:g} seconds, not {self.delay!r}")
        elif self.delay:
            raise ValueError(f"only a slow fault has a delay, not a {self.kind} fault")

    @classmethod
    def rate_limit(cls, retry_after: float | None = 1.0, *, form: RetryAfterForm = "seconds", count: int = 1) -> Fault:
        """429 with ``Retry-After`` in seconds or as an HTTP-date (``None``: no header)."""
        return cls(kind="rate_limit", status=429, retry_after=retry_after, retry_after_form=form, count=count)

    @classmethod
    def error(
        cls,
        status: int = 500,
        *,
        retry_after: float | None = None,
        form: RetryAfterForm = "seconds",
        count: int = 1,
    ) -> Fault:
        """An error status with the provider's error body: 500, 503, a non-standard 520, ..."""
        return cls(kind="error", status=status, retry_after=retry_after, retry_after_form=form, count=count)

    @classmethod
    def slow(cls, delay: float, *, count: int = 1) -> Fault:
        """The normal answer, after ``delay`` seconds (past a client's timeout, to test it)."""
        return cls(kind="slow", delay=delay, count=count)

    @classmethod
    def drop(cls, *, count: int = 1) -> Fault:
        """Close the connection without answering."""
        return cls(kind="drop", count=count)

    @classmethod
    def truncated(cls, *, count: int = 1) -> Fault:
        """Send the normal answer's headers and half its body, then close the connection."""
        return cls(kind="truncate", count=count)

    @classmethod
    def html(cls, status: int = 502, *, count: int = 1) -> Fault:
        """An HTML error page (as a proxy or CDN sends), with status 200 or 502 (or another)."""
        return cls(kind="html", status=status, count=count)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the control API's fault object): every attribute, by its name."""
        return attrs.asdict(self)


@attrs.define
class ArmedFault:
    """A fault waiting to be served, and where.

    Attributes:
        fault: The fault.
        provider: Only requests to this provider (``None``: any provider).
        job_id: Only requests for this job (``None``: any job of ``provider``).
        remaining: Requests it still applies to.
    """

    fault: Fault
    provider: str | None
    job_id: str | None
    remaining: int

    def matches(self, provider: str, job_id: str | None) -> bool:
        if self.provider is not None and self.provider != provider:
            return False
        return self.job_id is None or self.job_id == job_id

    def to_dict(self) -> dict[str, Any]:
        scope = "all" if self.provider is None else self.provider
        if self.job_id is not None:
            scope = f"{self.provider}:{self.job_id}"
        return {**self.fault.to_dict(), "scope": scope, "remaining": self.remaining}


HTML_PAGE: Final = (
    "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\n"
    "<body><center><h1>{status} {reason}</h1></center><hr><center>nginx</center></body></html>\n"
)
