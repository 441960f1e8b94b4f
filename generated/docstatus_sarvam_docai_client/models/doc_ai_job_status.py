from enum import StrEnum
from typing import Any


class DocAiJobStatus(StrEnum):
    """Values the spec lists. A value it does not list parses to a pseudo-member whose
    ``value`` is the raw string and whose ``is_unknown`` is True."""

    ACCEPTED = "accepted"
    COMPLETED = "completed"
    FAILED = "failed"
    PARTIALLY_COMPLETED = "partially_completed"
    PENDING = "pending"
    REJECTED = "rejected"
    RUNNING = "running"

    def __str__(self) -> str:
        return str(self.value)

    @property
    def is_unknown(self) -> bool:
        """True when the provider sent a value the spec does not list."""
        return self._name_ not in type(self).__members__

    @classmethod
    def _missing_(cls, value: Any) -> "DocAiJobStatus | None":
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = "UNKNOWN_VALUE"
        member._value_ = value
        return member
