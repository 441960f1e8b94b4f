"""One HTTP request and its answer, whatever sends it: the interface every transport implements.

A transport (``_httpx``: sync and async httpx; ``_aiohttp``: ``watch_many``'s ``FleetSession``)
takes a ``Request`` and either gives back an ``Answer`` or raises: ``Deadline`` when the
request's whole-request deadline passed (connecting, sending, the headers and the body
together), else what its library raised (``_errors.what_failed`` words it). Every transport:

- sends the request's headers as given (the credential among them, only ever to the request's
  own URL) and **never follows a redirect** (a 3xx is an answer like any other);
- reads the body raw and incrementally, decoding it (gzip, deflate) with bounded output, and
  stops at ``max_body`` bytes (``Answer.truncated``), so neither an endless body nor a
  compression bomb takes more; a content coding it cannot decode is ``Answer.problem``;
- hands the body over made safe where it enters (``_text.clean_json``): every later reader (the
  fast mapping, the generated parser, error messages) reads that, never the raw bytes.
"""

from __future__ import annotations

import zlib
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs

from docstatus._text import clean_json

if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterator, Mapping

    import httpx

#: Content codings docstatus asks for and decodes itself, under the size cap.
ACCEPT_ENCODING: Final = "gzip, deflate"

#: Headers that describe the raw body, dropped once the body is decoded.
_RAW_BODY_HEADERS: Final = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class Deadline(Exception):  # a signal between a transport and its caller, never shown
    """The request's whole-request deadline passed before its answer was complete."""


@attrs.frozen(kw_only=True)
class Request:
    """One request to send.

    Attributes:
        url: The absolute URL, its path percent-encoded already (``no_dot_segments`` applied).
        headers: The headers to send, credential included (never shown in ``repr``).
        max_body: Bytes the decoded body may have; reading stops there.
        deadline: ``time.monotonic()`` by which the whole request must be done.
        label: What the request is for, e.g. ``"fetch <ref>"`` (names the worker thread of a
            sync transport).
        method: The HTTP method.
    """

    url: str
    headers: Mapping[str, str] = attrs.field(repr=False)
    max_body: int
    deadline: float
    label: str
    method: str = "GET"


@attrs.define
class Answer:
    """What came back: the status, the headers (case-insensitive) and the body, decoded as far as
    it was read (under ``max_body``) and made safe (``_text.clean_json``).

    Attributes:
        status_code: The HTTP status.
        headers: The response headers (without those of the raw body's encoding where the
            transport drops them).
        content: The decoded body, as far as it was read.
        truncated: True when the body was cut at ``max_body``.
        problem: Why the body could not be decoded (an unknown or broken content coding), or ``None``.
        method: The request's method.
        url: The request's URL.
    """

    status_code: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    content: bytes = attrs.field(default=b"", repr=False)
    truncated: bool = False
    problem: str | None = None
    method: str = "GET"
    url: str = ""

    def to_httpx(self) -> httpx.Response:
        """An ``httpx.Response`` of this answer, for the generated parser (``_build_response``)."""
        import httpx  # noqa: PLC0415  # loaded already: the generated clients are httpx's

        headers = [(k, v) for k, v in _items(self.headers) if k.lower() not in _RAW_BODY_HEADERS]
        return httpx.Response(
            self.status_code, headers=headers, content=self.content, request=httpx.Request(self.method, self.url)
        )


def _items(headers: Mapping[str, str]) -> Any:
    multi = getattr(headers, "multi_items", None)  # httpx.Headers: every header, repeated ones too
    return multi() if multi is not None else headers.items()


def decoded_headers(headers: Mapping[str, str]) -> httpx.Headers:
    """``headers`` without those of the raw body (the body handed over is decoded), as ``httpx.Headers``."""
    import httpx  # noqa: PLC0415  # as above

    return httpx.Headers([(k, v) for k, v in _items(headers) if k.lower() not in _RAW_BODY_HEADERS])


class Transport(Protocol):
    """Sends one request and waits for its answer (sync)."""

    @property
    def closed(self) -> bool:
        """True when the client the caller gave (``client=...``) is closed, so that a request
        cannot be sent (the error then says so)."""

    def send(self, request: Request) -> Answer:
        """The answer; ``Deadline`` when ``request.deadline`` passed first; else what the library raised."""


class AsyncTransport(Protocol):
    """Sends one request and awaits its answer (async)."""

    @property
    def closed(self) -> bool:
        """As ``Transport.closed``."""

    async def send(self, request: Request) -> Answer:
        """As ``Transport.send``."""


@cache
def ssl_context() -> ssl.SSLContext:
    """One TLS context for every client docstatus makes (building one costs ~70 ms; sharing is
    safe): httpx's, which honours ``SSL_CERT_FILE``/``SSL_CERT_DIR``."""
    import httpx  # noqa: PLC0415  # only when a client is made

    return httpx.create_ssl_context()


def no_dot_segments(path: str) -> str:
    """Percent-encode ``.``/``..`` path segments (ids such as ``..``), which URL normalization
    would otherwise resolve into a request for another endpoint."""
    if "/." not in path:
        return path
    return "/".join({".": "%2E", "..": "%2E%2E"}.get(part, part) for part in path.split("/"))


@attrs.define
class Body:
    """A response body read chunk by chunk: decoded (gzip/deflate) with bounded output, cut at
    ``cap`` bytes. Compression bombs stop at the cap, whatever their ratio."""

    cap: int
    decoders: list[Any] = attrs.Factory(list)
    parts: list[bytes] = attrs.Factory(list)
    size: int = 0
    truncated: bool = False
    problem: str | None = None

    @classmethod
    def start(cls, headers: Mapping[str, str], cap: int) -> Body:
        """The body of an answer with ``headers``, to be fed its raw chunks."""
        body = cls(cap)
        encoding = headers.get("content-encoding")
        codings = [c.strip().lower() for c in encoding.split(",")] if encoding else []  # none: the common case
        for coding in reversed([c for c in codings if c and c != "identity"]):
            if coding in ("gzip", "x-gzip"):
                body.decoders.append(zlib.decompressobj(16 + zlib.MAX_WBITS))
            elif coding == "deflate":
                body.decoders.append(_Deflate())
            else:
                body.problem = f"content-encoding {coding!r} is not supported (docstatus asks for {ACCEPT_ENCODING})"
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > cap and not body.decoders:
            body.truncated = True
        return body

    def feed(self, raw: bytes) -> bool:
        """Take the next raw chunk; True when reading should stop (cut at the cap, or undecodable)."""
        if self.truncated or self.problem is not None:
            return True
        data = [raw]
        try:
            for decoder in self.decoders:
                data = [out for piece in data for out in _inflate(decoder, piece, self.cap - self.size + 1)]
        except zlib.error as exc:
            self.problem = f"the compressed body does not decode ({exc})"
            return True
        for piece in data:
            self.size += len(piece)
            if self.size > self.cap:
                self.parts.append(piece[: len(piece) - (self.size - self.cap)])
                self.size = self.cap
                self.truncated = True
                return True
            self.parts.append(piece)
        return False

    def content(self) -> bytes:
        """The decoded body as far as it was read, made safe where it enters (``_text.clean_json``:
        a lone surrogate escape, which no UTF-8 writer takes once decoded, becomes U+FFFD)."""
        data = b"".join(self.parts)
        self.parts = []
        return clean_json(data)

    def answer(self, status_code: int, headers: Mapping[str, str], request: Request) -> Answer:
        """The ``Answer`` of what was read."""
        return Answer(
            status_code=status_code,
            headers=headers,
            content=self.content(),
            truncated=self.truncated,
            problem=self.problem,
            method=request.method,
            url=request.url,
        )


@attrs.define
class _Deflate:
    """``Content-Encoding: deflate``: zlib-wrapped as RFC 9110 says, or raw deflate as some send."""

    inner: Any = attrs.Factory(zlib.decompressobj)
    first: bool = True

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self.first:
            self.first = False
            try:
                return bytes(self.inner.decompress(data, max_length))
            except zlib.error:
                self.inner = zlib.decompressobj(-zlib.MAX_WBITS)
        return bytes(self.inner.decompress(data, max_length))

    @property
    def unconsumed_tail(self) -> bytes:
        return bytes(self.inner.unconsumed_tail)


def _inflate(decoder: Any, data: bytes, limit: int) -> Iterator[bytes]:
    """Decompress ``data`` in pieces of at most 64 kB, stopping once ``limit`` bytes came out."""
    produced = 0
    while data and produced < limit:
        out = decoder.decompress(data, 65536)
        produced += len(out)
        if out:
            yield out
        data = decoder.unconsumed_tail
        if not out and not data:
            break
