"""Reading what docstatus.celery keeps in Redis, as untrusted input.

Redis is shared: another program, an operator's ``redis-cli``, an older docstatus or a damaged
append-only file can leave anything under docstatus's keys. Every stored value is read through
one of these functions, which raise ``ValueError`` (and nothing else) for a value that is not
what docstatus writes; the callers drop or start over the one entry, log one line naming its
key (``describe``), and go on with the rest.
"""

from __future__ import annotations

import math
from importlib import import_module
from typing import Any, Final

import attrs

from docstatus._status import JobStatus
from docstatus._text import loads

#: A key is shown in a log line up to this many characters.
SHOWN_KEY: Final = 120


def describe(key: str | bytes) -> str:
    """A key for a log line: ``repr`` (control characters escaped), at most ``SHOWN_KEY`` characters."""
    text = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
    return repr(text[:SHOWN_KEY] + ("…" if len(text) > SHOWN_KEY else ""))


def reason(exc: BaseException) -> str:
    """Why a stored value was refused, for a log line (its text, escaped and cut short)."""
    said = str(exc) or type(exc).__name__
    return repr(said[:200])[1:-1]


def damaged(exc: BaseException) -> bool:
    """``exc`` (from redis-py) says a stored value has the wrong type or form: a key of another
    type (``WRONGTYPE``), a field that is not a number, or a script that met one. Not for the
    errors of a Redis that refuses (read-only replica, no permission, out of memory)."""
    said = str(exc)
    return type(exc) is import_module("redis.exceptions").ResponseError and any(
        mark in said
        for mark in ("WRONGTYPE", "not an integer", "not a valid float", "user_script", "docstatus-damaged")
    )


def text(raw: bytes | str) -> str:
    """A Redis key or member as text (what docstatus writes is UTF-8)."""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def read_json(raw: bytes | str | None) -> Any:
    """``json.loads`` that raises ``ValueError`` only (a value nested too deep, say, included)."""
    if raw is None:
        raise ValueError("nothing is stored")
    try:
        return loads(raw)  # the one reader of untrusted JSON: texts made encodable, no NaN
    except (ValueError, TypeError) as exc:  # JSONDecodeError, UnicodeDecodeError are ValueErrors
        raise ValueError(f"not JSON ({type(exc).__name__}: {exc})"[:200]) from None


def read_outcome(raw: bytes | str | None) -> dict[str, Any]:
    """A job's recorded outcome (``key``, ``ref``, ``status``, ``error``, ``finished_at``)."""
    data = read_json(raw)
    if not isinstance(data, dict):
        raise ValueError(f"an outcome is a JSON object, not {type(data).__name__}")  # noqa: TRY004  # one error type for a bad stored value
    for name in ("key", "ref"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise ValueError(f"an outcome's {name} must be a non-empty string")
    finished = data.get("finished_at")
    if isinstance(finished, bool) or not isinstance(finished, int | float) or not _finite(finished):
        raise ValueError("an outcome's finished_at must be a number")
    status, error = data.get("status"), data.get("error")
    if status is not None:
        if not isinstance(status, dict):
            raise ValueError("an outcome's status must be a JobStatus JSON object or null")
        try:
            JobStatus.from_dict(dict(status))
        except Exception as exc:  # untrusted: any failure to read it means damaged
            raise ValueError(f"an outcome's status is not a JobStatus ({type(exc).__name__})") from None
    if error is not None and (
        not isinstance(error, dict)
        or not isinstance(error.get("type"), str)
        or not isinstance(error.get("message"), str)
    ):
        raise ValueError("an outcome's error must hold a type and a message (strings), or be null")
    if status is None and error is None:
        raise ValueError("an outcome holds neither a final status nor an error")
    return data


@attrs.frozen(kw_only=True)
class Chain:
    """A job's chain, as ``docstatus:chain:<key>`` holds it.

    Attributes:
        seq: The step reached (-1: none).
        holder: Who holds it (``""``: done, ``None``: nobody claimed it).
        until: Wall-clock milliseconds until which the holder holds it.
    """

    seq: int
    holder: str | None
    until: int

    def held(self, now_ms: float) -> bool:
        """A worker holds the step now."""
        return bool(self.holder) and self.until > now_ms


def read_chain(fields: dict[bytes, bytes]) -> Chain:
    """The chain from its hash (``HGETALL``); an empty hash is a chain with no step yet."""
    try:
        seq = int(fields.get(b"seq", b"-1"))
        until = int(fields.get(b"until", b"0"))
        holder_raw = fields.get(b"holder")
        holder = None if holder_raw is None else holder_raw.decode("utf-8")
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"a chain's seq, holder or until is malformed ({type(exc).__name__})") from None
    if seq < -1:
        raise ValueError("a chain's seq is negative")
    return Chain(seq=seq, holder=holder, until=until)


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False
