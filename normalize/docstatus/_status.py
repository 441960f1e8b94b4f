"""The common job-status type: one shape for every provider.

Its JSON form (``JobStatus.to_dict()``) is a published contract, version 1, with a JSON
Schema in ``specs/job-status.schema.json``. Field names are never renamed; fields may be added.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, cast

import attrs

from ._registry import BUILTIN, known, names
from ._registry import Provider as Provider  # noqa: PLC0414  # an explicit re-export: the registry defines it

if TYPE_CHECKING:
    from collections.abc import Callable

#: Every built-in provider, sorted (``docstatus._providers``; a provider registered there is
#: known too, but not listed here).
PROVIDERS: Final[tuple[Provider, ...]] = BUILTIN


class State(StrEnum):
    """A job's normalized state. ``str(state)`` is its JSON value."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIALLY_SUCCEEDED = "partially_succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: The job waits for the caller (e.g. a file upload); polling cannot move it on.
    ACTION_REQUIRED = "action_required"
    #: The provider sent a state docstatus does not know; ``provider_state`` has it.
    UNKNOWN = "unknown"

    @property
    def terminal(self) -> bool:
        """True for the states a job never leaves."""
        return self in _TERMINAL


_TERMINAL: Final = frozenset({State.SUCCEEDED, State.PARTIALLY_SUCCEEDED, State.FAILED, State.CANCELLED})
_FAILURES: Final = frozenset({State.PARTIALLY_SUCCEEDED, State.FAILED, State.CANCELLED})


#: The text each timestamp was just read from, by the ``id`` of the datetime read (``_common.utc``
#: notes it: ``noted``), so that ``_iso`` writes a timestamp as the provider sent it when that
#: text is already the form it writes (``_CANONICAL``, checked where it is used), without
#: formatting it again (``datetime.isoformat`` was most of a status's ``to_dict``). Each entry
#: holds its datetime, so the ``id`` is not reused while it is here, and is used only for that
#: very object (``is``); emptied when full.
_TEXTS: Final[dict[int, tuple[datetime, str]]] = {}
_TEXTS_MAX: Final = 256
#: The form ``_iso`` writes: whole seconds, or six digits of a fraction that is not zero, and Z.
_CANONICAL: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.(?!0{6})[0-9]{6})?Z")


def noted(stamp: datetime, text: str) -> datetime:
    """``stamp``, an instant in UTC just read from ``text``, with ``text`` noted for ``_iso``."""
    if len(_TEXTS) >= _TEXTS_MAX:
        _TEXTS.clear()
    _TEXTS[id(stamp)] = (stamp, text)
    return stamp


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is UTC:  # how parse gives them: no conversion, and "+00:00" is its end
        seen = _TEXTS.get(id(value))
        if seen is not None and seen[0] is value and _CANONICAL.fullmatch(seen[1]) is not None:
            return seen[1]
        return f"{value.isoformat()[:-6]}Z"
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _from_iso(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@attrs.frozen(kw_only=True)
class ErrorInfo:
    """Why a job failed.

    Attributes:
        code: The provider's error code, or ``None``.
        message: What went wrong, in the provider's words (never empty).
    """

    code: str | None = None
    message: str


@attrs.frozen(kw_only=True)
class PageError:
    """One page that failed.

    Attributes:
        page: The page number as the provider counts it, or ``None``.
        code: The provider's error code, or ``None``.
        message: The provider's message, or ``None``.
    """

    page: int | None = None
    code: str | None = None
    message: str | None = None


@attrs.frozen(kw_only=True)
class Pages:
    """Page metrics, for providers that report them.

    Attributes:
        total: Pages in the input, or ``None`` when unknown.
        processed: Pages processed so far, or ``None``.
        succeeded: Pages that succeeded, or ``None``.
        failed: Pages that failed, or ``None``.
        errors: One ``PageError`` per failed page the provider described.
    """

    total: int | None = None
    processed: int | None = None
    succeeded: int | None = None
    failed: int | None = None
    errors: tuple[PageError, ...] = ()


@attrs.frozen(kw_only=True)
class Output:
    """A file, path or URL the job produced.

    Attributes:
        name: A name for it (file name, result key), or ``None``.
        uri: Where it is (URL or provider storage path), or ``None``.
    """

    name: str | None = None
    uri: str | None = None


#: The errors ``raise_for_failure`` raises, ``(JobFailed, ActionRequired)``, each built as
#: ``cls(message, status=status)``. ``docstatus._exceptions`` (whose errors carry a status) puts
#: them here when it loads (with the package, always before any status exists), so that this
#: module imports nothing and the two make no circle.
_status_errors: list[tuple[Callable[..., Exception], Callable[..., Exception]]] = []

#: Builds the generated model from a body ``parse`` kept: ``(provider, body, job_id) -> model``.
#: ``docstatus._parse`` puts its ``build_model`` here when it loads (with the package, always
#: before any status exists), so that this module imports nothing above it.
_model_builder: list[Callable[[str, bytes | str, str], Any]] = []


@attrs.frozen(kw_only=True)
class JobStatus:
    """The status of one job at one provider, in one shape for all providers.

    Attributes:
        provider: Which provider reported it.
        job_id: The provider's job id (``a/b/c`` where its ids have parts: the provider
            module's ``ID_PARTS``).
        state: The normalized ``State``.
        provider_state: The provider's own state value, exactly as sent.
        progress: Fraction done in ``[0, 1]``, or ``None`` when it cannot be known;
            ``1.0`` once succeeded.
        step: The provider's current step or sub-status text, or ``None``.
        created_at: When the job was created (aware, UTC), or ``None``.
        started_at: When processing started (aware, UTC), or ``None``.
        updated_at: When the provider last updated the job (aware, UTC), or ``None``.
        completed_at: When the job ended (aware, UTC), or ``None``.
        error: Why the job failed, or ``None``.
        pages: Page metrics, or ``None`` when the provider reports none.
        outputs: Files, paths and URLs the job produced.
        model: The typed model of the generated client this status was mapped from
            (``None`` when rebuilt from JSON). Not part of the JSON form or equality.
    """

    provider: Provider
    job_id: str
    state: State
    provider_state: str
    progress: float | None = None
    step: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    error: ErrorInfo | None = None
    pages: Pages | None = None
    outputs: tuple[Output, ...] = ()
    # The model, or the body as received (``bytes``/``str``, kept by ``parse``), from which
    # ``model`` builds the model on first access. Never compared, hashed or shown.
    _model: Any = attrs.field(default=None, eq=False, repr=False, alias="model")

    @property
    def model(self) -> Any:
        """The typed model of the generated client this status was mapped from (``None`` when
        rebuilt from JSON); after ``parse``, built from the body on first access."""
        model = self._model
        kind = type(model)
        if (kind is bytes or kind is str) and _model_builder:
            try:
                built = _model_builder[0](self.provider, model, self.job_id)
            except Exception:  # bytes someone passed as the model: theirs, as given
                return model
            object.__setattr__(self, "_model", built)  # once: later reads get this same object
            return built
        return model

    @property
    def terminal(self) -> bool:
        """True when the job has ended (succeeded, partially succeeded, failed or cancelled)."""
        return self.state in _TERMINAL

    @property
    def ref(self) -> str:
        """The job reference string (``<provider>:<id>``) of this job."""
        return f"{self.provider}:{self.job_id}"

    def raise_for_failure(self) -> JobStatus:
        """Raise ``JobFailed`` for failed, partially succeeded and cancelled jobs, and
        ``ActionRequired`` when the job waits for the caller; else return ``self``."""
        if self.state in _FAILURES:
            detail = f": {self.error.message}" if self.error else ""
            failed = _status_errors[0][0]
            raise failed(f"job {self.ref} ended {self.state} ({self.provider_state}){detail}", status=self)
        if self.state is State.ACTION_REQUIRED:
            action_required = _status_errors[0][1]
            raise action_required(
                f"job {self.ref} is {self.provider_state}: it waits for you (e.g. an upload), "
                "polling will not move it on",
                status=self,
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, version 1: its JSON Schema is at ``docstatus.job_status_schema_path()``."""
        pages, error = self.pages, self.error
        created, started, updated, completed = self.created_at, self.started_at, self.updated_at, self.completed_at
        return {
            "provider": self.provider,
            "job_id": self.job_id,
            "state": self.state.value,
            "provider_state": self.provider_state,
            "terminal": self.state in _TERMINAL,
            "progress": self.progress,
            "step": self.step,
            "created_at": None if created is None else _iso(created),
            "started_at": None if started is None else _iso(started),
            "updated_at": None if updated is None else _iso(updated),
            "completed_at": None if completed is None else _iso(completed),
            "error": None if error is None else {"code": error.code, "message": error.message},
            "pages": None
            if pages is None
            else {
                "total": pages.total,
                "processed": pages.processed,
                "succeeded": pages.succeeded,
                "failed": pages.failed,
                "errors": [{"page": e.page, "code": e.code, "message": e.message} for e in pages.errors],
            },
            "outputs": [{"name": o.name, "uri": o.uri} for o in self.outputs],
        }

    def to_json(self) -> str:
        """``to_dict()`` as compact JSON, one line."""
        try:
            return _json_form(self)
        except _Unusual:  # a value of a type the parsers never give (built by hand): json decides
            return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobStatus:
        """Rebuild a status from its JSON form (``model`` is ``None``); ``ValueError`` naming the
        field for anything that is not that form (a stored row is read as untrusted, its texts
        made encodable: lone surrogates become U+FFFD)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a JobStatus JSON form is an object, not {type(data).__name__}")  # noqa: TRY004
        provider = data.get("provider")
        if not known(provider):
            raise ValueError(f"JobStatus.provider must be one of {', '.join(names())}, not {provider!r}")
        provider = cast("Provider", provider)
        try:
            state = State(str(data.get("state")))
        except ValueError:
            raise ValueError(f"JobStatus.state must be one of {', '.join(State)}, not {data.get('state')!r}") from None
        progress = data.get("progress")
        if progress is not None and (
            isinstance(progress, bool) or not isinstance(progress, int | float) or not 0 <= progress <= 1
        ):
            raise ValueError(f"JobStatus.progress must be null or a number in [0, 1], not {progress!r}")
        error = data.get("error")
        if error is not None and not isinstance(error, Mapping):
            raise ValueError("JobStatus.error must be null or an object")
        pages = data.get("pages")
        if pages is not None and not isinstance(pages, Mapping):
            raise ValueError("JobStatus.pages must be null or an object")
        outputs = data.get("outputs", ())
        if not isinstance(outputs, list | tuple) or not all(isinstance(o, Mapping) for o in outputs):
            raise ValueError("JobStatus.outputs must be a list of objects")
        return cls(
            provider=provider,
            job_id=_text("job_id", data.get("job_id"), required=True),  # type: ignore[arg-type]
            state=state,
            provider_state=_text("provider_state", data.get("provider_state"), required=True),  # type: ignore[arg-type]
            progress=None if progress is None else float(progress),
            step=_text("step", data.get("step")),
            created_at=_when("created_at", data.get("created_at")),
            started_at=_when("started_at", data.get("started_at")),
            updated_at=_when("updated_at", data.get("updated_at")),
            completed_at=_when("completed_at", data.get("completed_at")),
            error=None
            if error is None
            else ErrorInfo(
                code=_text("error.code", error.get("code")),
                message=_text("error.message", error.get("message"), required=True),  # type: ignore[arg-type]
            ),
            pages=None if pages is None else _pages(pages),
            outputs=tuple(
                Output(name=_text("outputs.name", o.get("name")), uri=_text("outputs.uri", o.get("uri")))
                for o in outputs
            ),
        )


def _text(name: str, value: object, *, required: bool = False) -> str | None:
    """A text field of a JSON form: a string (lone surrogates -> U+FFFD), or ``None`` when allowed."""
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValueError(f"JobStatus.{name} must be a string{'' if required else ' or null'}, not {value!r:.80}")  # noqa: TRY004  # one error type for a bad value
    if value.isascii():
        return value
    from ._text import clean  # noqa: PLC0415  # only for text that is not ASCII

    return clean(value)


def _when(name: str, value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"JobStatus.{name} must be an ISO 8601 string or null, not {value!r:.80}")  # noqa: TRY004  # as above
    try:
        return _from_iso(value)
    except ValueError:
        raise ValueError(f"JobStatus.{name} must be an ISO 8601 string or null, not {value!r:.80}") from None


def _count(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"JobStatus.pages.{name} must be a whole number or null, not {value!r:.80}")  # noqa: TRY004  # as above
    return value


def _pages(data: Mapping[str, Any]) -> Pages:
    errors = data.get("errors", ())
    if not isinstance(errors, list | tuple) or not all(isinstance(e, Mapping) for e in errors):
        raise ValueError("JobStatus.pages.errors must be a list of objects")
    return Pages(
        total=_count("total", data.get("total")),
        processed=_count("processed", data.get("processed")),
        succeeded=_count("succeeded", data.get("succeeded")),
        failed=_count("failed", data.get("failed")),
        errors=tuple(
            PageError(
                page=_count("errors.page", e.get("page")),
                code=_text("pages.errors.code", e.get("code")),
                message=_text("pages.errors.message", e.get("message")),
            )
            for e in errors
        ),
    )


def shed(status: JobStatus, body: int, items: int) -> JobStatus:
    """``status`` as a waiting job keeps it: without the body it holds for a lazy ``model`` when
    that body is over ``body`` bytes (its ``model`` is then ``None``), and with at most ``items``
    outputs and page errors (the first ones); ``status`` itself when it is within both."""
    kept = status._model  # noqa: SLF001  # this module's own representation
    kind = type(kept)
    pages, outputs = status.pages, status.outputs
    heavy = (kind is bytes or kind is str) and len(kept) > body
    many = len(outputs) > items or (pages is not None and len(pages.errors) > items)
    if not (heavy or many):
        return status
    changes: dict[str, Any] = {}
    if heavy:
        changes["model"] = None
    if many:
        changes["outputs"] = outputs[:items]
        if pages is not None:
            changes["pages"] = attrs.evolve(pages, errors=pages.errors[:items])
    return attrs.evolve(status, **changes)


class _Unusual(Exception):  # a signal inside to_json, never shown
    """A value ``_json_form`` does not write itself (``json.dumps`` of ``to_dict()`` then does)."""


#: json's own string writer (``ensure_ascii=False``, in C where this Python has it): what
#: ``json.dumps`` writes a string with.
_quote: Final = json.encoder.encode_basestring


def _json_text(value: object) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return _quote(value)
    raise _Unusual


def _json_count(value: object) -> str:
    if value is None:
        return "null"
    if type(value) is int:
        return int.__repr__(value)
    raise _Unusual


def _json_stamp(value: datetime) -> str:
    return f'"{_iso(value)}"'  # digits, "-", ":", ".", "T", "Z": nothing to escape (None: see the caller)


def _json_form(status: JobStatus) -> str:
    """``json.dumps(status.to_dict(), separators=(",", ":"), ensure_ascii=False)``, the same text
    written directly (about half the time: no dict, no encoder walking one); ``_Unusual`` for a
    value of another type than the parsers give (a float that is not finite, an int subclass...).
    tests/test_status_json.py holds the two to the same text."""
    state, progress, error, pages, outputs = status.state, status.progress, status.error, status.pages, status.outputs
    step, created, started, updated, completed = (
        status.step,
        status.created_at,
        status.started_at,
        status.updated_at,
        status.completed_at,
    )
    if progress is None:
        progress_text = "null"
    elif type(progress) is float and progress - progress == 0.0:  # finite
        progress_text = float.__repr__(progress)
    else:
        raise _Unusual
    if error is None:
        error_text = "null"
    else:
        error_text = f'{{"code":{_json_text(error.code)},"message":{_json_text(error.message)}}}'
    if pages is None:
        pages_text = "null"
    else:
        page_errors = pages.errors
        errors = (
            ""
            if page_errors == ()  # (no generator for none)
            else ",".join(
                f'{{"page":{_json_count(e.page)},"code":{_json_text(e.code)},"message":{_json_text(e.message)}}}'
                for e in page_errors
            )
        )
        pages_text = (
            f'{{"total":{_json_count(pages.total)},"processed":{_json_count(pages.processed)},'
            f'"succeeded":{_json_count(pages.succeeded)},"failed":{_json_count(pages.failed)},"errors":[{errors}]}}'
        )
    outputs_text = (
        "" if outputs == () else ",".join(f'{{"name":{_json_text(o.name)},"uri":{_json_text(o.uri)}}}' for o in outputs)
    )
    return (
        f'{{"provider":{_json_text(status.provider)},"job_id":{_json_text(status.job_id)},'
        f'"state":{_json_text(state.value)},"provider_state":{_json_text(status.provider_state)},'
        f'"terminal":{"true" if state in _TERMINAL else "false"},"progress":{progress_text},'
        f'"step":{"null" if step is None else _json_text(step)},'
        f'"created_at":{"null" if created is None else _json_stamp(created)},'
        f'"started_at":{"null" if started is None else _json_stamp(started)},'
        f'"updated_at":{"null" if updated is None else _json_stamp(updated)},'
        f'"completed_at":{"null" if completed is None else _json_stamp(completed)},'
        f'"error":{error_text},"pages":{pages_text},"outputs":[{outputs_text}]}}'
    )


def _fast_init(cls: type) -> Any:
    """A function building ``cls`` with the same keyword arguments and defaults as its
    ``__init__``, storing each slot directly (faster than attrs' frozen ``__init__``, which
    goes through ``object.__setattr__``). Only for classes without validators, converters,
    factories or ``__attrs_post_init__`` (checked here). ``parse``'s fast path uses it."""
    fields = attrs.fields(cls)
    for f in fields:
        if f.validator is not None or f.converter is not None or isinstance(f.default, type(attrs.Factory(list))):
            raise TypeError(f"{cls.__name__}.{f.name}: the fast constructor cannot run validators or factories")
    if hasattr(cls, "__attrs_post_init__"):
        raise TypeError(f"{cls.__name__} has __attrs_post_init__")
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    params, body = [], []
    for i, f in enumerate(fields):
        namespace[f"set{i}"] = cls.__dict__[f.name].__set__
        if f.default is attrs.NOTHING:
            params.append(f.alias)
        else:
            namespace[f"default{i}"] = f.default
            params.append(f"{f.alias}=default{i}")
        body.append(f"    set{i}(self, {f.alias})")
    code = f"def build(*, {', '.join(params)}):\n    self = new(cls)\n" + "\n".join(body) + "\n    return self\n"
    exec(code, namespace)  # noqa: S102  # made of the field names above, nothing else
    return namespace["build"]


#: ``JobStatus(...)``, ``Output(...)``, ``ErrorInfo(...)``, ``PageError(...)``, ``Pages(...)``, faster: the same
#: keyword arguments, the same result under ``==`` (see ``_fast_init``).
new_status: Final[Callable[..., JobStatus]] = _fast_init(JobStatus)
new_output: Final[Callable[..., Output]] = _fast_init(Output)
new_error_info: Final[Callable[..., ErrorInfo]] = _fast_init(ErrorInfo)
new_page_error: Final[Callable[..., PageError]] = _fast_init(PageError)
new_pages: Final[Callable[..., Pages]] = _fast_init(Pages)
