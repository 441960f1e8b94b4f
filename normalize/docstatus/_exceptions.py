"""The exceptions docstatus raises. Catch ``DocstatusError`` for all of them.

Exception tree::

    DocstatusError
    ├── ConfigurationError ........ missing or bad settings (base URL, token, provider name)
    │   └── InvalidJobRef ......... a job reference string that does not parse (also a ValueError)
    ├── ProviderError ............. the provider answered, but not with a job status
    │   ├── BadRequest ............ 400 / 422: the provider rejected the request itself
    │   ├── AuthenticationError ... 401 / 403: credentials missing, wrong, or not allowed
    │   ├── JobNotFound ........... 404: no such job for these credentials
    │   ├── RateLimited ........... 429: slow down; ``retry_after`` seconds when the provider said
    │   ├── ProviderServerError ... 5xx and non-standard statuses (e.g. 520)
    │   └── MalformedResponse ..... a body that is not the documented status (raw body kept, truncated)
    ├── TransportError ............ no HTTP answer: connection refused or dropped, timeout
    ├── JobFailed ................. ``JobStatus.raise_for_failure()`` on failed, partial or cancelled
    ├── ActionRequired ............ the job waits for the caller (e.g. an upload): waiting cannot help
    └── WaitTimeout ............... the deadline passed before the job ended (``last_status`` kept)

Messages say what happened, to which job, and what to do; they never contain credentials.

Warnings: ``InsecureCredentialWarning`` (a ``UserWarning``), once per provider and host, when a
credential is about to be sent over plain ``http://`` to a host other than this machine.
"""

from __future__ import annotations

from ._status import JobStatus, _status_errors

#: Raw bodies kept on errors are cut to this many bytes.
BODY_LIMIT = 2048


def truncate(body: bytes | str | None, limit: int = BODY_LIMIT) -> bytes | None:
    """The first ``limit`` bytes of a body (``None`` stays ``None``)."""
    if body is None:
        return None
    data = body.encode("utf-8", "replace") if isinstance(body, str) else bytes(body)
    return data[:limit]


class DocstatusError(Exception):
    """Base class of every error docstatus raises."""


class InsecureCredentialWarning(UserWarning):
    """A credential is about to go over plain ``http://`` to a host other than this machine."""


class ConfigurationError(DocstatusError):
    """Settings are missing or wrong (no token, bad base URL, unknown provider)."""


class InvalidJobRef(ConfigurationError, ValueError):
    """A job reference string does not have the form ``<provider>:<id>``."""


class ProviderError(DocstatusError):
    """The provider answered with something other than a job status.

    Attributes:
        provider: Provider name, or ``None`` when not known.
        ref: The job reference asked about, or ``None``.
        status_code: HTTP status of the answer, or ``None`` (e.g. a body parsed offline).
        code: The provider's error code from its error envelope, if any.
        body: The raw body, truncated to ``BODY_LIMIT`` bytes, or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        ref: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        body: bytes | str | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.ref = ref
        self.status_code = status_code
        self.code = code
        self.body = truncate(body)


class BadRequest(ProviderError):
    """400 or 422: the provider rejected the request (e.g. a malformed job id)."""


class AuthenticationError(ProviderError):
    """401 or 403: the credentials are missing, wrong, or not allowed to see this job."""


class JobNotFound(ProviderError):
    """404: the provider knows no such job (for these credentials)."""


class RateLimited(ProviderError):
    """429: too many requests.

    Attributes:
        retry_after: Seconds the provider asked to wait (from ``Retry-After`` or
            ``retry-after-ms``), or ``None`` when it gave no hint.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        provider: str | None = None,
        ref: str | None = None,
        status_code: int | None = 429,
        code: str | None = None,
        body: bytes | str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, ref=ref, status_code=status_code, code=code, body=body)
        self.retry_after = retry_after


class ProviderServerError(ProviderError):
    """5xx or a non-standard status (e.g. 520): the provider failed; retrying may help.

    Attributes:
        retry_after: Seconds the provider asked to wait (``Retry-After`` or ``retry-after-ms``,
            e.g. on a 503), or ``None`` when it gave no hint.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        provider: str | None = None,
        ref: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        body: bytes | str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, ref=ref, status_code=status_code, code=code, body=body)
        self.retry_after = retry_after


class MalformedResponse(ProviderError):
    """The body is not a status the provider documents (bad JSON, missing or mistyped fields)."""


class TransportError(DocstatusError):
    """No HTTP answer: the connection failed or dropped, or the request timed out.

    Attributes:
        provider: Provider name.
        ref: The job reference asked about, or ``None``.
    """

    def __init__(self, message: str, *, provider: str | None = None, ref: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.ref = ref


class _StatusError(DocstatusError):
    def __init__(self, message: str, *, status: JobStatus) -> None:
        super().__init__(message)
        self.status = status


class JobFailed(_StatusError):
    """The job ended failed, partially succeeded or cancelled.

    Attributes:
        status: The final ``JobStatus`` (its ``error`` and ``pages`` say what went wrong).
    """


class ActionRequired(_StatusError):
    """The job waits for something only the caller can do (e.g. upload the file).

    Attributes:
        status: The ``JobStatus`` that says so.
    """


class WaitTimeout(DocstatusError, TimeoutError):
    """The deadline passed before the job reached a final state.

    Attributes:
        ref: The job reference, to resume waiting later.
        last_status: The last ``JobStatus`` seen, or ``None`` if no poll succeeded.
        timeout: The deadline, in seconds, that passed.
    """

    def __init__(self, message: str, *, ref: str, last_status: JobStatus | None, timeout: float) -> None:
        super().__init__(message)
        self.ref = ref
        self.last_status = last_status
        self.timeout = timeout


_status_errors.append((JobFailed, ActionRequired))  # what ``JobStatus.raise_for_failure`` raises
