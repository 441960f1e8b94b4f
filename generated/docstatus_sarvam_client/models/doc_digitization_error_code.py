from enum import StrEnum
from typing import Any


class DocDigitizationErrorCode(StrEnum):
    """Values the spec lists. A value it does not list parses to a pseudo-member whose
    ``value`` is the raw string and whose ``is_unknown`` is True."""

    HIGH_LOAD_ERROR = "high_load_error"
    INSUFFICIENT_QUOTA_ERROR = "insufficient_quota_error"
    INTERNAL_SERVER_ERROR = "internal_server_error"
    INVALID_API_KEY_ERROR = "invalid_api_key_error"
    INVALID_REQUEST_ERROR = "invalid_request_error"
    RATE_LIMIT_EXCEEDED_ERROR = "rate_limit_exceeded_error"

    def __str__(self) -> str:
        return str(self.value)

    @property
    def is_unknown(self) -> bool:
        """True when the provider sent a value the spec does not list."""
        return self._name_ not in type(self).__members__

    @classmethod
    def _missing_(cls, value: Any) -> "DocDigitizationErrorCode | None":
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = "UNKNOWN_VALUE"
        member._value_ = value
        return member
