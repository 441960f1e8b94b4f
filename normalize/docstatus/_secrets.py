"""The one masker: every spelling of a credential, and every place it is hidden from.

A credential may come back from a server inside text (an echoed header in an error body, a
state field), and from there reach a message, a kept body, a status, a database row, a queue
message, a log line or the CLI's output. Each of those goes through ``scrub`` (the credentials of
the request at hand, however short) or ``mask`` (every credential this process knows of at
least ``MASK_MIN`` characters: configured ones and ``DOCSTATUS_*_TOKEN`` values), and both hide
the same list of spellings (``forms``): as it is and stripped, repr-, ascii- and JSON-escaped,
percent-encoded (``quote`` and ``quote_plus``), and base64 of it alone, of ``Bearer <it>`` and
inside any longer text (its three alignments).

Log records of the ``docstatus`` logger (``logger``) are masked by a filter on that logger, so
a provider's text that carries a credential (an unknown state echoing it) never reaches a log
handler in clear, and neither does a formatted traceback.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Final
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from collections.abc import Iterable

#: What a credential is replaced with.
MASK: Final = "***"

#: Credentials shorter than this are not masked in logs and CLI output (masking a few characters
#: would mangle every line); ``scrub`` of one request's own credential masks any length.
MASK_MIN: Final = 6

_known: set[str] = set()
_known_lock: Final = threading.Lock()
_snapshot: tuple[str, ...] = ()


@lru_cache(maxsize=256)
def forms(token: str) -> tuple[str, ...]:
    """Every spelling of ``token`` that may show up in text, longest first (empty ones left out)."""
    found: set[str] = set()
    for value in {token, token.strip()}:
        if not value:
            continue
        raw = value.encode("utf-8", "surrogateescape")
        found.update(
            {
                value,
                repr(value)[1:-1],
                ascii(value)[1:-1],
                repr(raw)[2:-1],
                json.dumps(value)[1:-1],
                json.dumps(value, ensure_ascii=False)[1:-1],
                quote(value, safe=""),
                quote_plus(value, safe=""),
                base64.b64encode(raw).decode(),
                base64.b64encode(b"Bearer " + raw).decode(),
            }
        )
        # In base64 of a longer text, the token lands at one of three alignments: the characters
        # that encode the token alone (its first and last group may mix with its neighbours).
        for shift in range(3):
            encoded = base64.b64encode(b"\0" * shift + raw).decode()
            core = encoded[4 if shift else 0 : -4]
            if len(core) >= 8:
                found.add(core)
    return tuple(sorted((f for f in found if f), key=len, reverse=True))


def scrub(text: str, tokens: Iterable[str | None]) -> str:
    """``text`` with every spelling of each of ``tokens`` replaced by ``***``."""
    for token in tokens:
        if token:
            for form in forms(token):
                if form in text:
                    text = text.replace(form, MASK)
    return text


@lru_cache(maxsize=256)
def _byte_forms(token: str) -> tuple[bytes, ...]:
    """``forms(token)`` in UTF-8 (made once per token: every answer of a poll is scrubbed)."""
    return tuple(form.encode("utf-8", "surrogateescape") for form in forms(token))


_MASK_BYTES: Final = MASK.encode()


def scrub_bytes(body: bytes, tokens: Iterable[str | None]) -> bytes:
    """``body`` with every spelling of each of ``tokens`` (UTF-8) replaced by ``***``."""
    for token in tokens:
        if token:
            for encoded in _byte_forms(token):
                body = body.replace(encoded, _MASK_BYTES)  # cheaper than `in` first (the same object when absent)
    return body


def remember(token: str | None) -> None:
    """Note a credential in use, so that ``mask`` (logs, CLI output) hides it."""
    global _snapshot  # noqa: PLW0603  # one tuple read without the lock by every log record
    if token and len(token.strip()) >= MASK_MIN and token not in _known:
        with _known_lock:
            _known.add(token)
            _snapshot = tuple(sorted(_known))


def remember_environment() -> None:
    """Note every ``DOCSTATUS_*_TOKEN`` value of the environment (the CLI does, at start)."""
    for name, value in list(os.environ.items()):
        if name.startswith("DOCSTATUS_") and name.endswith("_TOKEN"):
            remember(value)


def known() -> tuple[str, ...]:
    """The credentials ``mask`` hides."""
    return _snapshot


def mask(text: str) -> str:
    """``text`` with every credential this process knows of (``remember``) replaced by ``***``."""
    tokens = _snapshot
    return scrub(text, tokens) if tokens else text


class _MaskRecords(logging.Filter):
    """Masks each record of the ``docstatus`` logger: its message, traceback and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        tokens = _snapshot
        if not tokens:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: logging reports it
            return True
        masked = scrub(message, tokens)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, tokens)
            # A formatter of its own (JSON logging, an error tracker) would format exc_info again,
            # unmasked: the masked text is all that goes on (the standard formatter prints it).
            record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, tokens)
        return True


#: The ``docstatus`` logger, whose records are masked (every module logs through it).
logger: Final = logging.getLogger("docstatus")
logger.addFilter(_MaskRecords())
