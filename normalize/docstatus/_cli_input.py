"""The input of ``docstatus normalize``, read in bounded memory.

The input is JSON Lines, one JSON document (an object, or an array of them), possibly
pretty-printed, over several lines. Which one is decided from the first line or two, without
reading the rest:

- the first non-blank line is a whole JSON value, or is not JSON at all: **JSON Lines**. Each
  non-blank line is one document (a line holding an array gives one per element), read one line
  at a time; a line that is not JSON, nested too deeply or longer than the limit is an error for
  that line only, and the next lines are read on.
- the first line is the start of a JSON value that goes on (``{``, ``[``, ``{"a": {``...), and the
  second non-blank line is not a whole JSON value: **one document**, read up to the limit; over
  it, the whole input is refused. An array's elements are decoded one at a time.

No more than ``limit`` bytes of input (plus one read buffer) are held at any time.
"""

from __future__ import annotations

import json
import re
from typing import IO, TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator

#: The largest single JSON document, or line of JSON Lines, unless ``--max-bytes`` says otherwise.
DEFAULT_MAX_BYTES: Final = 16 * 1024 * 1024

#: Bytes read at a time while skipping the rest of a line that is over the limit.
_DRAIN: Final = 1 << 16

_WS: Final = re.compile(r"[ \t\n\r]*")
_DECODER: Final = json.JSONDecoder()


class Document(NamedTuple):
    """One document of the input.

    Attributes:
        where: Where it is (``"line 3"``, ``"line 1: element 2"``, ``"element 4"``; a bare
            number ``n`` is ``"line n"``, spelled out only when a message needs it: ``place``),
            or ``None`` for the only document of an input that is one JSON object.
        data: What ``parse`` gets: a JSON Lines line that starts with ``{`` as its bytes,
            undecoded (``parse`` decodes them on its fast path; if they are nested too deeply,
            its ``MalformedResponse`` has a ``RecursionError`` as its cause: say ``NESTED``),
            the decoded object (a ``dict``) of an array's element or of the one document, the
            raw bytes of what is not JSON (``parse`` then says why), or any other JSON value
            re-encoded (``parse`` then says what it got); ``None`` with ``problem``.
        problem: Why the document cannot be read at all (over the limit, nested too deeply).
    """

    where: str | int | None
    data: Any
    problem: str | None = None


def place(document: Document) -> str | None:
    """Where ``document`` is, spelled out (``"line 3"``), or ``None`` (the only document)."""
    where = document.where
    return f"line {where}" if type(where) is int else where  # type: ignore[return-value]  # int or str | None


def size_text(limit: int) -> str:
    """``limit`` bytes for a message: ``16 MiB (16777216 bytes)``."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit} ({limit} bytes)"
    return f"{limit} bytes"


def parse_size(text: str) -> int:
    """``--max-bytes``: a whole number of bytes, optionally with K, M or G (binary: KiB, MiB, GiB)."""
    match = re.fullmatch(r"\s*(\d{1,15})\s*(?:([KMG])(?:i?B)?|B)?\s*", text, re.IGNORECASE)
    if match is None:
        raise ValueError(text)
    value = int(match.group(1)) << {None: 0, "K": 10, "M": 20, "G": 30}[(match.group(2) or "").upper() or None]
    if value < 1:
        raise ValueError(text)
    return value


def too_large(what: str, limit: int) -> str:
    return f"{what} is over the limit of {size_text(limit)} per JSON document or line; raise it with --max-bytes"


#: What is said of a document nested too deeply to decode.
NESTED: Final = "JSON nested too deeply to decode (hundreds of levels of [ or {)"


def _doc(where: str | None, value: Any) -> Document:
    if isinstance(value, dict):
        return Document(where, value)
    try:
        return Document(where, json.dumps(value).encode())
    except (ValueError, RecursionError):
        return Document(where, None, NESTED)


class _Lines:
    """Lines of a binary stream, each at most ``limit`` bytes (a longer one comes back as
    ``None`` after its rest was skipped), with their numbers; blank lines are skipped."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.number = 0

    def next(self) -> tuple[int, bytes | None] | None:
        """The next non-blank line as (number, bytes or ``None`` when over the limit); ``None`` at the end."""
        while True:
            line = self.stream.readline(self.limit + 1)
            if not line:
                return None
            self.number += 1
            if len(line) > self.limit and not (len(line) == self.limit + 1 and line.endswith(b"\n")):
                _over(self.stream, line)
                return self.number, None
            if not line.isspace():  # (no stripped copy just to see it is blank)
                return self.number, line


def _over(stream: IO[bytes], line: bytes) -> None:
    """Skip the rest of ``line``, which is over the limit."""
    while not line.endswith(b"\n"):
        line = stream.readline(_DRAIN)
        if not line:
            break


def _probe(line: bytes) -> str:
    """``"whole"`` when ``line`` is a JSON value by itself, ``"start"`` when it is the start of
    one that goes on past the line's end, else ``"bad"``."""
    try:
        json.loads(line)
    except RecursionError:
        return "start"
    except json.JSONDecodeError as exc:
        return "start" if exc.pos >= len(exc.doc.rstrip()) else "bad"
    except ValueError:  # not UTF-8
        return "bad"
    return "whole"


def documents(stream: IO[bytes], limit: int = DEFAULT_MAX_BYTES) -> Iterator[Document]:
    """The documents of ``stream`` (JSON Lines, or one JSON document), in order, reading at most
    ``limit`` bytes of it into memory at a time."""
    lines = _Lines(stream, limit)
    first = lines.next()
    if first is None:
        yield Document(None, b"")  # nothing at all: parse says it is not JSON
        return
    pending = [first]
    head = first[1]
    if head is not None and _probe(head) == "start":
        second = lines.next()
        following = None if second is None else second[1]
        if second is not None:
            if following is None:
                yield Document(None, None, too_large("the input", limit))
                return
            pending.append(second)
        if following is None or _only_brackets(head) or _probe(following) != "whole":
            yield from _one_document(stream, b"".join(line for _, line in pending if line is not None), limit)
            return
    for number, line in pending:
        yield from _line(number, line, limit)
    # The steady state: _Lines.next's work inlined (this loop is most of the command's reading
    # cost, bench/bench_normalize.py).
    readline, number, most = stream.readline, lines.number, limit + 1
    while True:
        line = readline(most)
        if not line:
            return
        number += 1
        if len(line) >= most and not (len(line) == most and line.endswith(b"\n")):
            _over(stream, line)
            yield from _line(number, None, limit)
            continue
        if line[0] == _BRACE:
            # The common line, an object: its bytes, undecoded, for parse to decode once on its
            # fast path (several times faster than mapping a decoded dict through the generated
            # model). What parse then says of a line that is not JSON is what it said when _line
            # passed it on; one nested too deeply is parse's MalformedResponse caused by a
            # RecursionError, which the command reports as NESTED. Its place is its number,
            # spelled out only if a message needs it.
            yield Document(number, line)
        elif not line.isspace():
            yield from _line(number, line, limit)


def _only_brackets(line: bytes) -> bool:
    """``[``, ``{``, ``[{``...: the first line of a pretty-printed document, never a JSON Lines record."""
    return not line.translate(None, b"[{ \t\r\n")


_BRACE: Final = ord("{")


def _line(number: int, line: bytes | None, limit: int) -> Iterator[Document]:
    where = f"line {number}"
    if line is None:
        yield Document(where, None, too_large("the line", limit))
        return
    try:
        data = json.loads(line)
    except RecursionError:
        yield Document(where, None, NESTED)
        return
    except ValueError:
        yield Document(where, line)  # parse says what is wrong with it
        return
    if type(data) is dict:
        # An object: its bytes, which parse decodes again on its fast path (the mapping reads
        # the JSON directly), several times faster than mapping a decoded dict through the
        # generated model. Decoded once here all the same, so that what is not an object, or
        # nested too deeply, is told apart as before.
        yield Document(where, line)
        return
    if isinstance(data, list):
        for i, element in enumerate(data):
            yield _doc(f"{where}: element {i}", element)
    else:
        yield _doc(where, data)


def _one_document(stream: IO[bytes], start: bytes, limit: int) -> Iterator[Document]:
    """One JSON document: ``start`` and the rest of ``stream``, at most ``limit`` bytes in all."""
    chunks = [start]
    size = len(start)
    while size <= limit:
        chunk = stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        yield Document(None, None, too_large("the input", limit))
        return
    raw = b"".join(chunks)
    del chunks
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    except (UnicodeDecodeError, LookupError):
        yield Document(None, raw)  # parse says it is not JSON
        return
    at = _skip(text, 0)
    if not text.startswith("[", at):
        yield _whole(text, raw)
        return
    del raw
    yield from _elements(text, at + 1)


def _skip(text: str, at: int) -> int:
    """The index of the first character at or after ``at`` that is not JSON whitespace."""
    match = _WS.match(text, at)
    return at if match is None else match.end()


def _whole(text: str, raw: bytes) -> Document:
    try:
        return _doc(None, json.loads(text))
    except RecursionError:
        return Document(None, None, NESTED)
    except ValueError:
        return Document(None, raw)


def _elements(text: str, at: int) -> Iterator[Document]:
    """The elements of the array that starts before ``text[at]``, decoded one at a time."""
    i = 0
    at = _skip(text, at)
    if text.startswith("]", at):
        at += 1
    else:
        while True:
            try:
                value, at = _DECODER.raw_decode(text, at)
            except RecursionError:
                yield Document(f"element {i}", None, NESTED)
                return
            except json.JSONDecodeError as exc:
                yield Document(f"element {i}", None, f"not JSON ({exc.msg} at character {exc.pos})")
                return
            yield _doc(f"element {i}", value)
            i += 1
            at = _skip(text, at)
            if text.startswith(",", at):
                at = _skip(text, at + 1)
                continue
            if text.startswith("]", at):
                at += 1
                break
            yield Document(f"element {i - 1}", None, f"not JSON (expected ',' or ']' after it, at character {at})")
            return
    at = _skip(text, at)
    if at < len(text):
        yield Document(None, None, f"not JSON (extra data after the array at character {at})")
