"""The one place provider text is made safe.

Every string docstatus gets from a provider (a status body, an error body, a header) or from a
stored row is untrusted. Two rules, each written once, here:

- **Encodable everywhere** (``clean``, ``clean_json``, ``loads``): JSON may spell a lone UTF-16
  surrogate (``"bad \\ud800"``), which ``json.loads`` accepts and no UTF-8 writer takes (stdout,
  SQLite, Redis, a log file). Where a body is decoded, each lone surrogate becomes U+FFFD
  (``REPLACEMENT``), the same character a UTF-8 decoder puts for bytes it cannot read. A valid
  surrogate pair (an emoji spelled ``\\ud83d\\ude00``) is kept. A surrogate written raw, which
  ``json`` decodes too (it reads bytes with ``surrogatepass``: a surrogate spelled in UTF-8, or
  a lone one in UTF-16 or UTF-32), becomes U+FFFD as well. Nothing else changes: the bytes of a
  body with no lone surrogate are returned as they are (the same object), and the common body
  (ASCII, no backslash) costs a few checks in C, no scan in Python.
- **Harmless on a terminal** (``printable``): C0 and C1 control characters (ESC, so CSI and OSC
  sequences; CR; backspace; BEL), Unicode format characters (the bidi overrides and isolates,
  zero-width characters) and surrogates are shown escaped (``\\x1b``, ``\\u202e``), whitespace
  is collapsed to single spaces, and the line is cut to a limit. Every human-readable output
  (stderr lines, live bars, tables, ``track ls``) goes through it; JSON output stays JSON (its
  encoder escapes control characters itself).
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Final, overload

#: What a lone surrogate becomes.
REPLACEMENT: Final = "\ufffd"

_RAW_SURROGATE: Final = re.compile("[\ud800-\udfff]")

# In JSON text: an escaped backslash (kept: what follows it is not an escape), a high surrogate
# escape with its low partner (kept: a valid pair), or a lone high or low surrogate escape.
_ESCAPES_B: Final = re.compile(
    rb"(\\\\)|\\u[dD][89abAB][0-9a-fA-F]{2}(\\u[dD][c-fC-F][0-9a-fA-F]{2})?|\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_ESCAPES_S: Final = re.compile(
    r"(\\\\)|\\u[dD][89abAB][0-9a-fA-F]{2}(\\u[dD][c-fC-F][0-9a-fA-F]{2})?|\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
#: UTF-16 byte-order marks (UTF-32's begin with one of them too).
_WIDE_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
#: A surrogate spelled in UTF-8 (as CESU-8 and WTF-8 write them), which ``json`` decodes (it reads
#: bytes with ``surrogatepass``) and no UTF-8 writer takes; and what it becomes: U+FFFD in UTF-8.
_UTF8_SURROGATE: Final = re.compile(rb"\xed[\xa0-\xbf][\x80-\xbf]")
_REPLACEMENT_UTF8: Final = REPLACEMENT.encode()
_ED: Final = 0xED
_BACKSLASH: Final = ord("\\")
_HINT_B: Final = re.compile(rb"\\u[dD][89a-fA-F]")
_HINT_S: Final = re.compile(r"\\u[dD][89a-fA-F]")


def _fix_b(match: re.Match[bytes]) -> bytes:
    if match.group(1) is not None or match.group(2) is not None:
        return match.group(0)
    return b"\\ufffd"


def _fix_s(match: re.Match[str]) -> str:
    if match.group(1) is not None or match.group(2) is not None:
        return match.group(0)
    return "\\ufffd"


def clean(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (``text`` itself when it has none)."""
    if text.isascii() or _RAW_SURROGATE.search(text) is None:
        return text
    return _RAW_SURROGATE.sub(REPLACEMENT, text)


@overload
def clean_json(raw: bytes) -> bytes: ...
@overload
def clean_json(raw: str) -> str: ...
def clean_json(raw: bytes | str) -> bytes | str:
    """JSON text whose decoded strings every UTF-8 writer takes: each lone surrogate escape
    (``\\ud800``) becomes ``\\ufffd``, and a ``str`` loses its raw lone surrogates too. Returns
    ``raw`` itself when there is nothing to change (the common case costs one scan)."""
    if isinstance(raw, bytes):
        # (An int is looked for in bytes, not a bytes: ``b"x" in raw`` first tries the needle as
        # an int, and raises and clears a TypeError, which costs more than the search.)
        if raw.isascii():  # no byte-order mark, no raw surrogate: UTF-16/32 of ASCII has a NUL up front
            if 0 in raw[:4] and _wide(raw):
                return _from_wide(raw)
        else:
            head = raw[:4]
            if (0 in head or head[:2] in _WIDE_BOMS) and _wide(raw):
                return _from_wide(raw)
            if _ED in raw and _UTF8_SURROGATE.search(raw) is not None:
                raw = _UTF8_SURROGATE.sub(_REPLACEMENT_UTF8, raw)
        if _BACKSLASH not in raw or _HINT_B.search(raw) is None:
            return raw
        fixed = _ESCAPES_B.sub(_fix_b, raw)
        return raw if fixed == raw else fixed
    text = clean(raw)
    if "\\u" not in text or _HINT_S.search(text) is None:
        return text
    fixed_text = _ESCAPES_S.sub(_fix_s, text)
    return text if fixed_text == text else fixed_text


def _wide(raw: bytes) -> bool:
    """True when ``json.loads`` reads ``raw`` as UTF-16 or UTF-32 (it detects them from the first bytes)."""
    return json.detect_encoding(raw).startswith(("utf-16", "utf-32"))


def _from_wide(raw: bytes) -> bytes:
    """A body ``json.loads`` would read as UTF-16 or UTF-32, as UTF-8 JSON made safe like any
    other (decoded as ``json`` decodes it, lone surrogates kept, then made U+FFFD); as it is when
    it does not decode (``json`` then refuses it)."""
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    except (UnicodeDecodeError, LookupError):
        return raw
    return clean_json(text.removeprefix("\ufeff")).encode("utf-8", "surrogatepass")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


#: ``loads``'s decoder, made once (``json.loads`` with an option makes one at every call).
_DECODER: Final = json.JSONDecoder(parse_constant=_no_constant)


def loads(raw: bytes | bytearray | str) -> Any:
    """``json.loads`` of untrusted JSON (a stored row, a queue message): strings made encodable
    (``clean_json``); ``NaN``/``Infinity``, which ``json`` accepts and no writer of docstatus's
    writes, and JSON nested too deeply to decode are ``ValueError``."""
    data = clean_json(bytes(raw) if isinstance(raw, bytearray) else raw)
    try:
        if isinstance(data, str):
            if data.startswith("\ufeff"):  # as ``json.loads`` says it
                raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", data, 0)
            return _DECODER.decode(data)
        return _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))
    except RecursionError:
        raise ValueError("JSON nested too deeply to decode") from None


_JSON_UNSAFE: Final = re.compile("[\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_for_humans(line: str) -> str:
    """A JSON text whose C1 controls, DEL and bidi/zero-width format characters are written as
    ``\\uXXXX`` escapes: the same JSON value, which no terminal acts on (``json`` escapes only
    C0 itself; they can stand only inside strings, where an escape means the same character)."""
    if line.isascii() and "\x7f" not in line:
        return line
    return _JSON_UNSAFE.sub(_json_escape, line)


def clean_tree(value: Any) -> Any:
    """A decoded JSON value (dicts, lists, strings, numbers) with every string ``clean`` — keys
    too. Returns ``value`` itself when nothing changes."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        changed = False
        out = {}
        for key, item in value.items():
            new_key = clean(key) if isinstance(key, str) else key
            new_item = clean_tree(item)
            changed = changed or new_key is not key or new_item is not item
            out[new_key] = new_item
        return out if changed else value
    if isinstance(value, list | tuple):
        items = [clean_tree(item) for item in value]
        if any(new is not old for new, old in zip(items, value, strict=True)):
            return items if isinstance(value, list) else tuple(items)
        return value
    return value


# --- for humans


#: Unicode categories shown escaped: controls (C0, C1: ESC, CR, backspace, BEL), format characters
#: (bidi overrides and isolates, zero-width characters) and surrogates.
_UNSAFE: Final = frozenset({"Cc", "Cf", "Cs"})


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


#: A line shown to a person is cut to this many characters unless told otherwise.
LINE_LIMIT: Final = 2000


def printable(text: object, limit: int = LINE_LIMIT) -> str:
    """``text`` as one line a terminal shows as it is: whitespace collapsed, control, format and
    surrogate characters escaped (no escape sequence reaches the terminal), cut to ``limit``."""
    try:
        raw = str(text)
    except Exception:  # an object that cannot even be shown
        raw = f"<{type(text).__name__} that cannot be shown>"
    words = " ".join(raw.split())
    if not (words.isascii() and words.isprintable()):
        words = "".join(_escape(c) if _unsafe(c) else c for c in words)
    if len(words) > limit:
        words = words[: limit - 1] + "…"
    return words
