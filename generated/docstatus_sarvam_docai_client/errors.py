"""Contains shared errors types that can be raised from API functions"""


class UnexpectedStatus(Exception):
    """Raised by api functions when the response status an undocumented status and Client.raise_on_unexpected_status is True"""

    def __init__(self, status_code: int, content: bytes):
        self.status_code = status_code
        self.content = content

        super().__init__(
            f"Unexpected status code: {status_code}\n\nResponse content:\n{content.decode(errors='ignore')}"
        )


class MalformedResponse(Exception):
    """Raised by api functions when a response body cannot be parsed into the documented model.

    Attributes:
        status_code: The HTTP status of the response.
        content: The raw body, whole.
        reason: What the parser could not accept.
    """

    def __init__(self, status_code: int, content: bytes, reason: str):
        self.status_code = status_code
        self.content = content
        self.reason = reason
        shown = content[:200].decode(errors="replace")
        more = f" (first 200 of {len(content)} bytes)" if len(content) > 200 else ""
        super().__init__(
            f"Malformed response body for status {status_code}: {reason}; body{more}: {shown!r}"
        )


__all__ = ["MalformedResponse", "UnexpectedStatus"]
