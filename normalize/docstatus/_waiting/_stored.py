"""Reading back a value docstatus wrote (a ``WaitState``, a ``Durations``) from where it was
stored or sent: a database row, a queue message, a file. Such a value is read as untrusted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

_T = TypeVar("_T")


def read_stored(
    kind: str, data: object, read: Callable[[Mapping[str, Any]], _T], unforeseen: tuple[type[Exception], ...]
) -> _T:
    """``read(data)``, whose checks raise ``ValueError`` for what they foresee; ``ValueError``
    too for ``data`` that is not a JSON object, and for an ``unforeseen`` error from a shape no
    check foresaw (``kind`` names the value in the message)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"a {kind} is a JSON object, not {type(data).__name__}")  # noqa: TRY004  # one error type
    try:
        return read(data)
    except unforeseen as exc:
        raise ValueError(f"not a {kind}: {type(exc).__name__}: {exc}") from None
