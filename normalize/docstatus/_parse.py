"""``parse(provider, body)``: a status response the caller already holds -> ``JobStatus``.

For webhook bodies, queue messages and stored responses. The body goes through the same
generated model (``Model.from_dict``) and the same provider mapping as ``get_status``. A model
the caller already parsed with the provider's generated client (``response.parsed``) is
mapped as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, overload

import attrs

from ._common import Malformed, shared
from ._exceptions import ConfigurationError, InvalidJobRef, MalformedResponse
from ._refs import parse_ref
from ._registry import _loaded, known, mapper, names
from ._status import JobStatus, _model_builder
from ._text import clean_json, clean_tree

if TYPE_CHECKING:
    from collections.abc import Callable

#: What parsing a model or mapping it may raise on a body that is not the documented one.
_PARSE_ERRORS = (Malformed, KeyError, ValueError, TypeError, AttributeError, OverflowError, RecursionError)

Body = bytes | bytearray | memoryview | str | Mapping[str, Any] | Any


def parse(provider: str, body: Body, *, job_id: str | None = None) -> JobStatus:  # noqa: PLR0915  # one flat function: parse speed matters (bench/bench_parse.py)
    """Normalize one status response body of ``provider``.

    Args:
        provider: One of ``docstatus.PROVIDERS`` (or a registered provider).
        body: The response body: JSON as ``bytes``/``str``, the decoded JSON object, or the
            model the provider's generated client parsed it into (e.g. ``response.parsed`` of
            ``docstatus_<provider>_client.api.status.get_status.sync_detailed``).
        job_id: The job's id, used when the body carries none. Where a provider's bodies never
            do (its module's ``ID_FIELD`` is ``None``) it is required, in the id part of its
            reference form; otherwise the body's own id wins and ``job_id`` fills in only a
            missing or empty one.

    Returns:
        The normalized ``JobStatus`` (its ``model`` is the generated client's model).

    Raises:
        MalformedResponse: the body is not valid JSON, not an object, or not the documented
            status (missing or mistyped fields); ``.body`` holds it, truncated.
        ConfigurationError: ``provider`` is not a known provider.
        InvalidJobRef: ``job_id`` is not a valid id for the provider, or is missing where the
            body carries none.
    """
    m = _loaded.get(provider)  # a provider's module, once loaded (the common case: one lookup)
    if m is None:
        if not known(provider):
            raise ConfigurationError(f"unknown provider {provider!r}; expected one of {', '.join(names())}")
        m = mapper(provider)
    if job_id is not None:
        job_id = _checked_job_id(provider, job_id) if isinstance(job_id, str) else parse_ref(job_id).job_id
    elif m.ID_FIELD is None:
        form = m.FORM.partition(":")[2]
        raise InvalidJobRef(
            f"{provider} status bodies carry no job id: pass parse({provider!r}, body, job_id='{form}')"
        )

    given: Any = body  # narrowed by type() below, which mypy does not follow
    kind = type(given)
    if kind is bytes or kind is str or kind is bytearray or kind is memoryview:
        # A copy (theirs may change), made safe where it enters (``_text``: lone surrogates -> U+FFFD).
        source: bytes | str = clean_json(given if kind is bytes or kind is str else bytes(given))
        try:
            data: Any = json_loads(source)
        except (ValueError, TypeError, RecursionError) as exc:
            raise _malformed(provider, body, f"not JSON ({_one_line(exc)})") from exc
        if type(data) is dict:
            if job_id is not None:
                data = _with_id(m, data, job_id)
            # The fast path: the mapping reads the decoded JSON directly, and the generated model
            # is built from the body (kept as ``model``) only if ``status.model`` is asked for. It declines (None,
            # or an exception) whatever it is not sure of; the model path below then decides, so
            # the outcome (status or error) is always the model path's.
            try:
                status = m.fast(data, job_id, source)
            except Exception:  # declined: the model path below gives the outcome
                status = None
            if status is not None:
                return status if len(source) <= MAX_TEXT else bounded(status)
    elif isinstance(body, m.MODELS):
        try:
            return bounded(_encodable(m.normalize(body, job_id=job_id)))
        except InvalidJobRef:
            raise
        except _PARSE_ERRORS as exc:
            raise _malformed(provider, _model_dict(body), _reason(exc)) from exc
    elif _is_generated_model(body):
        raise ConfigurationError(
            f"parse({provider!r}, ...) got a {type(body).__module__}.{type(body).__qualname__}, which is not a "
            f"{provider} status model; expected one of {', '.join(c.__name__ for c in m.MODELS)} from "
            f"{m.CLIENT}, or the body as JSON"
        )
    elif isinstance(body, Mapping):
        data = clean_tree(body)  # made safe where it enters, as a body's bytes are
    else:
        try:
            data = json.loads(clean_json(given))
        except (ValueError, TypeError, RecursionError) as exc:
            raise _malformed(provider, body, f"not JSON ({_one_line(exc)})") from exc
    if not isinstance(data, Mapping):
        raise _malformed(provider, body, f"expected a JSON object, got {_json_type(data)}")
    data = _with_id(m, data, job_id)
    try:
        return bounded(m.normalize(m.from_dict(data), job_id=job_id))
    except InvalidJobRef:
        raise
    except _PARSE_ERRORS as exc:
        raise _malformed(provider, body, _reason(exc)) from exc


def parser(provider: str, job_id: str | None = None) -> Callable[[Body], JobStatus]:
    """``lambda body: parse(provider, body, job_id=job_id)`` for many bodies of one provider
    (``docstatus normalize``), the same status or the same error for each: ``provider`` and
    ``job_id`` are checked here, once (``ConfigurationError``, ``InvalidJobRef`` as ``parse``
    raises them), and a body of bytes goes straight to the fast path, the same one, made safe the
    same way (``clean_json``). Whatever that path does not map is ``parse``'s to decide."""
    m = mapper(provider)
    if job_id is not None:
        job_id = _checked_job_id(provider, job_id)
    elif m.ID_FIELD is None:
        return lambda body: parse(provider, body, job_id=job_id)  # parse says what is missing
    fast, with_id, given_id = m.fast, job_id is not None and m.ID_FIELD is not None, job_id

    def one(body: Body) -> JobStatus:
        if type(body) is bytes:
            source = clean_json(body)
            try:
                data = json_loads(source)
            except (ValueError, TypeError, RecursionError):
                data = None  # parse says why
            if type(data) is dict:
                if with_id:
                    data = _with_id(m, data, given_id)
                try:
                    status = fast(data, given_id, source)
                except Exception:  # declined: parse gives the outcome
                    status = None
                if status is not None:
                    return status if len(source) <= MAX_TEXT else bounded(status)
        return parse(provider, body, job_id=given_id)

    return one


#: ``json.loads``' own scanner (the same options: its default decoder's, in C where this Python has
#: it), which reads one value at an index; ``decode`` wraps it in two regular-expression matches.
_scan: Final[Callable[[str, int], tuple[Any, int]]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # set in its __init__; typeshed leaves it out
#: JSON's whitespace: what may follow the value.
_JSON_SPACE: Final = " \t\n\r"
#: The first bytes after which ``json.loads`` reads bytes as something else than plain UTF-8.
_NOT_PLAIN: Final = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def json_loads(source: bytes | str) -> Any:
    """``json.loads(source)``: the same value or the same error, faster for the common body
    (UTF-8 bytes without a byte-order mark, the value from the first byte on), which skips its
    encoding detection and whitespace matching. Anything else, or any error, is ``json.loads``'
    to read or to word (it reads it again)."""
    # (0, an int: ``b"\x00" in`` would first raise and clear a TypeError. ASCII has no byte-order mark.)
    if type(source) is bytes and 0 not in source[:4] and (source.isascii() or not source.startswith(_NOT_PLAIN)):
        text = source.decode("utf-8", "surrogatepass")  # as json.loads decodes it, the same error
        try:
            value, end = _scan(text, 0)
        except (StopIteration, ValueError, RecursionError):
            return json.loads(source)
        if end == len(text) or not text[end:].strip(_JSON_SPACE):
            return value
    return json.loads(source)


#: The most characters one provider text keeps in a ``JobStatus`` (its id, state, step, error code
#: and message, page error texts, output names and URIs); a longer one is cut (``bounded``). Real
#: ones are far shorter; a body can only hold a longer one if it is longer itself.
MAX_TEXT: Final = 64 * 1024


@overload
def _cut(value: str) -> str: ...
@overload
def _cut(value: str | None) -> str | None: ...
def _cut(value: str | None) -> str | None:
    if value is None or len(value) <= MAX_TEXT:
        return value
    cut = len(value) - MAX_TEXT
    return f"{value[:MAX_TEXT]}… ({cut} characters cut)"


def bounded(status: JobStatus) -> JobStatus:
    """``status`` with every provider text cut to ``MAX_TEXT`` characters (``status`` itself when
    none is longer): a provider's text is untrusted in size too, and a waiting job, a database
    row or a queue message holds its status."""
    error, pages, outputs = status.error, status.pages, status.outputs
    texts = [status.job_id, status.provider_state, status.step]
    if error is not None:
        texts += [error.code, error.message]
    if pages is not None:
        texts += [t for e in pages.errors for t in (e.code, e.message)]
    texts += [t for o in outputs for t in (o.name, o.uri)]
    if all(t is None or len(t) <= MAX_TEXT for t in texts):
        return status
    changes: dict[str, Any] = {
        "job_id": _cut(status.job_id),
        "provider_state": _cut(status.provider_state),
        "step": _cut(status.step),
        "outputs": tuple(attrs.evolve(o, name=_cut(o.name), uri=_cut(o.uri)) for o in outputs),
    }
    if error is not None:
        changes["error"] = attrs.evolve(error, code=_cut(error.code), message=_cut(error.message))
    if pages is not None:
        changes["pages"] = attrs.evolve(
            pages, errors=tuple(attrs.evolve(e, code=_cut(e.code), message=_cut(e.message)) for e in pages.errors)
        )
    return attrs.evolve(status, **changes)


def _encodable(status: JobStatus) -> JobStatus:
    """``status``, or a copy whose texts lose their lone surrogates: a model the caller parsed
    with a generated client (whose ``response.json()`` keeps them) has not been made safe yet."""
    try:
        status.to_json().encode()
    except UnicodeEncodeError:
        return attrs.evolve(JobStatus.from_dict(clean_tree(status.to_dict())), model=status.model)
    return status


def _with_id(m: Any, data: Any, job_id: str | None) -> Any:
    """``data`` with ``job_id`` filled in where the body's id field is missing or empty."""
    if job_id is not None and m.ID_FIELD is not None and data.get(m.ID_FIELD) in (None, ""):
        return {**data, m.ID_FIELD: job_id}
    return data


def build_model(provider: str, source: bytes | str, job_id: str) -> Any:
    """The generated model of a body the fast path mapped (``JobStatus.model``). ``job_id`` is
    the status's: the body's own, or the one ``parse`` filled in where the body had none."""
    m = mapper(provider)
    return m.from_dict(_with_id(m, json.loads(source), job_id))


_model_builder[:] = [build_model]  # JobStatus.model builds a kept body's model with it


def _is_generated_model(body: Any) -> bool:
    module = type(body).__module__
    return module.startswith("docstatus_") and "_client." in module and hasattr(body, "to_dict")


def _model_dict(model: Any) -> Any:
    try:
        return model.to_dict()
    except Exception:  # only for the kept body of an error
        return repr(model)


@lru_cache(maxsize=1024)
def _checked_job_id(provider: str, job_id: str) -> str:
    """The id as ``parse_ref`` accepts it; the caller's own string when that is unchanged (a
    status then shares it, not a copy of it)."""
    return shared(parse_ref(f"{provider}:{job_id}").job_id, job_id)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"required field {exc.args[0]!r} is missing"
    if isinstance(exc, Malformed):
        return _one_line(exc)
    return f"{type(exc).__name__}: {_one_line(exc)}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__


def raw_bytes(body: Any) -> bytes | str | None:
    """The body as kept on a ``MalformedResponse`` (a decoded object is re-encoded as JSON)."""
    if body is None or isinstance(body, bytes | str):
        return body
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    try:
        return json.dumps(body, default=repr)
    except (TypeError, ValueError, RecursionError):
        return repr(body)


def expected(provider: str) -> str:
    """Where a user can read what ``provider``'s status response holds: the generated model(s)
    that read it, by the import path an installed docstatus has (``help()`` shows its fields)."""
    return " or ".join(f"{model.__module__.split('.')[0]}.models.{model.__name__}" for model in mapper(provider).MODELS)


def _malformed(provider: str, body: Any, reason: str) -> MalformedResponse:
    return MalformedResponse(
        f"{provider} status body is malformed: {reason}; expected the documented status response, "
        f"as the generated model {expected(provider)} reads it",
        provider=provider,
        body=raw_bytes(body),
    )
