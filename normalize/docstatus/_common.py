"""Rules every provider mapping shares, written once.

- **States**: a provider's value is looked up in its frozen status table exactly, then with case
  and whitespace ignored (``"READY"``, ``"completed "``, ``"not started"``). Anything else maps to
  ``State.UNKNOWN`` with the raw value kept in ``provider_state``, and one warning per
  ``(provider, value)`` on the ``docstatus`` logger. Never an exception, never a guess.
- **Progress**: a fraction in ``[0, 1]`` or ``None``. Percentages are divided by 100; values
  outside the range are clamped; NaN is ``None``; ``1.0`` once the job succeeded.
- **Timestamps**: aware, in UTC. A naive timestamp is read as UTC; one that cannot be expressed
  in UTC (e.g. year 1 with a positive offset) is ``None``.
- **Text**: empty or whitespace-only strings are ``None``; an error whose message and code are
  both empty is "no error".
- **Types**: a field of the wrong JSON type raises ``Malformed``, which ``parse`` turns into
  ``docstatus.MalformedResponse`` naming the field.
"""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from ._secrets import logger
from ._status import ErrorInfo, State, new_error_info, noted

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_warned: set[tuple[str, str]] = set()
_warned_lock: Final = threading.Lock()


class Malformed(Exception):  # internal signal, turned into MalformedResponse
    """A field has a type the provider's documentation rules out (internal; never escapes)."""


def fold(value: str) -> str:
    """The key used for case- and whitespace-insensitive matching."""
    return "".join(value.split()).casefold()


def folded_table(table: Mapping[str, State]) -> Mapping[str, State]:
    """A provider table keyed by ``fold(value)``; refuses tables whose keys collide when folded."""
    folded = {fold(key): state for key, state in table.items()}
    if len(folded) != len(table):
        raise ValueError(f"status table has values that differ only in case or spaces: {sorted(table)}")
    return MappingProxyType(folded)


def lookups(
    provider: str, table: Mapping[str, State]
) -> tuple[Callable[[str], State], dict[str, State], dict[str, str]]:
    """The three lookups a provider module reads its ``STATES`` through: ``match(raw)``, which is
    ``match_state`` bound once to the provider, the table and the table keyed by ``fold(value)``;
    a plain dict of the table (the fast path's first lookup, made inline before ``match``); and
    each documented value as a key of itself (a status then holds that one string, not a copy
    per body)."""
    exact = dict(table)
    return partial(match_state, provider, exact, folded_table(table)), exact, {name: name for name in table}


def envelope_or(envelope: Any, plain: Any) -> Callable[[Mapping[str, Any]], Any]:
    """``from_dict`` for a provider that answers its status either plain or wrapped: a decoded 200
    body -> ``envelope``'s model when the body has ``data`` and no ``status``, else ``plain``'s."""

    def from_dict(data: Mapping[str, Any]) -> Any:
        return (envelope if "data" in data and "status" not in data else plain).from_dict(data)

    return from_dict


def match_state(provider: str, table: Mapping[str, State], folded: Mapping[str, State], raw: str) -> State:
    """Map a provider's state value ``raw``: exact, then folded, else ``UNKNOWN`` (warned once).
    A provider module calls it through ``lookups``' ``match``, which binds all but ``raw``."""
    state = table.get(raw)
    if state is not None:
        return state
    state = folded.get(fold(raw))
    if state is not None:
        return state
    key = (provider, raw)
    if key not in _warned:
        with _warned_lock:
            first = key not in _warned
            _warned.add(key)
        if first:
            logger.warning(
                "%s sent the state %r, which docstatus does not know; it is reported as 'unknown' "
                "(provider_state keeps the value). Please report it if it persists.",
                provider,
                raw,
            )
    return State.UNKNOWN


def reset_warnings() -> None:
    """Forget which unknown states were already warned about (for tests)."""
    with _warned_lock:
        _warned.clear()


def enum_value(value: Any, field: str) -> str:
    """The raw string of a generated enum member (known or unknown pseudo-member)."""
    raw = getattr(value, "value", value)
    if not isinstance(raw, str):
        raise Malformed(f"{field} is {type(raw).__name__}, not a string")
    return raw


def absent(value: Any) -> bool:
    """True for JSON null and for a generated model's ``UNSET`` (any provider's)."""
    return value is None or type(value).__name__ == "Unset"


# The helpers below test the common case first (parse speed matters: see bench/bench_parse.py).


def number(value: Any, field: str) -> float | None:
    """A JSON number, or ``None`` for null/absent; other types are malformed."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if value is None or kind.__name__ == "Unset":
        return None
    if kind is int or (isinstance(value, int | float) and not isinstance(value, bool)):
        try:
            return float(value)
        except OverflowError:  # an integer beyond float range
            return math.inf if value > 0 else -math.inf
    raise Malformed(f"{field} is {kind.__name__}, not a number")


def integer(value: Any, field: str) -> int | None:
    """A JSON integer (``3.0`` counts), or ``None`` for null/absent; others are malformed."""
    kind = type(value)
    if kind is int:
        return value  # type: ignore[no-any-return]
    if absent(value):
        return None
    if kind is float and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise Malformed(f"{field} is {kind.__name__}, not an integer")


def count(value: Any, field: str) -> int | None:
    """A page count: an integer >= 0, ``None`` when absent or negative (unknowable)."""
    n = value if type(value) is int else integer(value, field)
    return n if n is not None and n >= 0 else None


def clamp(fraction: float | None) -> float | None:
    """Clamp a fraction into ``[0, 1]``; NaN and ``None`` give ``None``."""
    if fraction is None or math.isnan(fraction):
        return None
    if fraction <= 0.0:
        return 0.0
    if fraction >= 1.0:
        return 1.0
    return fraction


def from_percent(value: Any, field: str) -> float | None:
    """A percentage (0-100) as a fraction in ``[0, 1]``; out-of-range values are clamped."""
    n = number(value, field)
    return None if n is None else clamp(n / 100.0)


def from_fraction(value: Any, field: str) -> float | None:
    """A fraction as given, clamped into ``[0, 1]``."""
    return clamp(number(value, field))


def finish_progress(state: State, progress: float | None) -> float | None:
    """``1.0`` once succeeded, else the progress as computed."""
    return 1.0 if state is State.SUCCEEDED else progress


def text(value: Any, field: str) -> str | None:
    """A string, or ``None`` for null/absent/empty/whitespace-only; other types are malformed."""
    if type(value) is str or isinstance(value, str):
        return value if value and not value.isspace() else None
    if absent(value):
        return None
    raise Malformed(f"{field} is {type(value).__name__}, not a string")


def required_text(value: Any, field: str) -> str:
    """A non-empty string the mapping cannot do without (e.g. a job id)."""
    if isinstance(value, str) and value and not value.isspace():
        return value
    if isinstance(value, str):
        raise Malformed(f"{field} is empty")
    raise Malformed(f"{field} is {type(value).__name__}, not a string")


def shared(value: str, given: str | None) -> str:
    """``value``, as the caller's own string ``given`` when the two are equal: a status then
    shares its job reference's string instead of holding a copy decoded from each body."""
    return given if given is not None and value == given else value


def pick_job_id(body_id: Any, given: str | None, field: str) -> str:
    """The job id: the body's own, else the one the caller gave; never empty (``shared``)."""
    if isinstance(body_id, str) and body_id and not body_id.isspace():
        return shared(body_id, given)
    if given is not None:
        return given
    if isinstance(body_id, str):
        raise Malformed(f"{field} is empty (parse(..., job_id=...) supplies one)")
    return required_text(body_id, field)


def error_info(code: Any, message: Any, field: str) -> ErrorInfo | None:
    """An ``ErrorInfo``, or ``None`` when both are empty; a code alone becomes the message too."""
    if code is None and (message is None or message == ""):
        return None
    code_s = text(code, f"{field} code")
    message_s = text(message, f"{field} message")
    if message_s is None:
        if code_s is None:
            return None
        message_s = code_s
    return new_error_info(code=code_s, message=message_s)


def _parse_timestamp(value: str, field: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    # RFC 3339 allows lower-case 't'/'z' and leap seconds; fromisoformat takes neither.
    fixed = value.strip().upper().replace(":60", ":59", 1)
    try:
        return datetime.fromisoformat(fixed)
    except ValueError:
        raise Malformed(f"{field} is not an ISO 8601 timestamp: {value[:64]!r}") from None


def iso_stamp(value: Any) -> datetime | None:
    """A timestamp field as the generated model parses it (``datetime.fromisoformat`` of a
    string; absent or null is ``None``), then as ``utc`` maps it. Raises on anything else (the
    fast path declines, see ``parse``)."""
    if value is None:
        return None
    if type(value) is not str:
        raise TypeError(value)
    stamp = datetime.fromisoformat(value)
    return noted(stamp, value) if stamp.tzinfo is UTC else utc(stamp, "")


def utc(value: Any, field: str) -> datetime | None:
    """An aware UTC datetime from a datetime or an ISO 8601 string (naive is read as UTC)."""
    stamp: datetime
    if type(value) is str:  # the common case first: an ISO 8601 string in UTC
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            pass  # empty, blank, RFC 3339's lower case or leap second: the general path below
        else:
            if stamp.tzinfo is UTC:
                return noted(stamp, value)
    if type(value) is datetime:
        stamp = value
    else:
        if absent(value):
            return None
        if isinstance(value, str):
            if not value or value.isspace():
                return None
            stamp = _parse_timestamp(value, field)
        elif isinstance(value, datetime):
            stamp = value
        else:
            raise Malformed(f"{field} is {type(value).__name__}, not a timestamp")
    tz = stamp.tzinfo
    if tz is UTC:
        return stamp
    if tz is None:
        return stamp.replace(tzinfo=UTC)
    try:
        return stamp.astimezone(UTC)
    except OverflowError:
        return None
