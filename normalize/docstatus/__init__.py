"""docstatus: typed clients, one normalized job status, and correct waiting for document-AI APIs.

Everything public is importable from here; modules whose names start with ``_`` are private.
Provider clients and the HTTP machinery load on first use, so ``import docstatus`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._config import DEFAULT_BASE_URLS, ProviderConfig
from ._exceptions import (
    ActionRequired,
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    DocstatusError,
    InsecureCredentialWarning,
    InvalidJobRef,
    JobFailed,
    JobNotFound,
    MalformedResponse,
    ProviderError,
    ProviderServerError,
    RateLimited,
    TransportError,
    WaitTimeout,
)
from ._refs import JobRef, format_ref, parse_ref
from ._status import PROVIDERS, ErrorInfo, JobStatus, Output, PageError, Pages, Provider, State

if TYPE_CHECKING:
    from . import celery  # noqa: F401  # `docstatus.celery` typed for checkers; loaded on first use
    from ._fetch import (
        FetchResult,
        fetch_status,
        fetch_status_async,
        get_status,
        get_status_async,
        parse_retry_after,
        resolve_outputs,
        resolve_outputs_async,
    )
    from ._parse import parse
    from ._schema import job_status_schema_path
    from ._tracking import Completion, TrackedJob, Tracker, TrackerError, WaitState
    from ._waiting import (
        Durations,
        JobUpdate,
        UnknownState,
        WaitPolicy,
        wait,
        wait_async,
        watch,
        watch_async,
        watch_many,
    )
    from ._waiting._hooks import AttemptRecord, Hook, JobRecord, set_hooks

# name -> private module that defines it; imported on first attribute access.
_LAZY = {
    "parse": "._parse",
    "get_status": "._fetch",
    "get_status_async": "._fetch",
    "fetch_status": "._fetch",
    "fetch_status_async": "._fetch",
    "FetchResult": "._fetch",
    "parse_retry_after": "._fetch",
    "resolve_outputs": "._fetch",
    "resolve_outputs_async": "._fetch",
    "job_status_schema_path": "._schema",
    "Durations": "._waiting",
    "JobUpdate": "._waiting",
    "UnknownState": "._waiting",
    "WaitPolicy": "._waiting",
    "wait": "._waiting",
    "wait_async": "._waiting",
    "watch": "._waiting",
    "watch_async": "._waiting",
    "watch_many": "._waiting",
    "Completion": "._tracking",
    "TrackedJob": "._tracking",
    "Tracker": "._tracking",
    "TrackerError": "._tracking",
    "WaitState": "._tracking",
    "AttemptRecord": "._waiting._hooks",
    "Hook": "._waiting._hooks",
    "JobRecord": "._waiting._hooks",
    "set_hooks": "._waiting._hooks",
}


#: The distribution whose version ``docstatus.__version__`` is.
_DISTRIBUTION = "docstatus"


def __getattr__(name: str) -> Any:
    import importlib  # noqa: PLC0415  # lazy on purpose: keeps `import docstatus` cheap

    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module, __name__), name)
    elif name == "__version__":
        value = _version()
    elif name == "celery":  # `docstatus.celery.register(...)` after a plain `import docstatus`
        try:
            value = importlib.import_module(".celery", __name__)
        except ImportError as exc:  # an attribute that is not there: hasattr() says False, the message says why
            raise AttributeError(str(exc)) from None
    else:
        raise AttributeError(f"module 'docstatus' has no attribute {name!r}")
    globals()[name] = value
    return value


def _version() -> str:
    """The installed distribution's version (``importlib.metadata``, read on first use: it scans
    the import path); ``"0+unknown"`` when docstatus runs from a source tree that is not installed."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415  # only when asked for

    try:
        return version(_DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_BASE_URLS",
    "PROVIDERS",
    "ActionRequired",
    "AttemptRecord",
    "AuthenticationError",
    "BadRequest",
    "Completion",
    "ConfigurationError",
    "DocstatusError",
    "Durations",
    "ErrorInfo",
    "FetchResult",
    "Hook",
    "InsecureCredentialWarning",
    "InvalidJobRef",
    "JobFailed",
    "JobNotFound",
    "JobRecord",
    "JobRef",
    "JobStatus",
    "JobUpdate",
    "MalformedResponse",
    "Output",
    "PageError",
    "Pages",
    "Provider",
    "ProviderConfig",
    "ProviderError",
    "ProviderServerError",
    "RateLimited",
    "State",
    "TrackedJob",
    "Tracker",
    "TrackerError",
    "TransportError",
    "UnknownState",
    "WaitPolicy",
    "WaitState",
    "WaitTimeout",
    "fetch_status",
    "fetch_status_async",
    "format_ref",
    "get_status",
    "get_status_async",
    "job_status_schema_path",
    "parse",
    "parse_ref",
    "parse_retry_after",
    "resolve_outputs",
    "resolve_outputs_async",
    "set_hooks",
    "wait",
    "wait_async",
    "watch",
    "watch_async",
    "watch_many",
]
