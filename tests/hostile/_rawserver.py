"""A hostile HTTP server written from raw sockets, on 127.0.0.1, for the tests in this folder.

Each connection reads one request head and then runs a *behaviour*: a function that writes
whatever it likes to the socket — a slow trickle, an endless body, garbage, a redirect. Every
behaviour is bounded: it stops when the client goes away, when the server is closed, or after
``RawServer.limit`` seconds, so no test can hang on the server.

    with RawServer(slow_body(b'{"a": 1}', every=0.5)) as server:
        get_status("artos:x", config=ProviderConfig(provider="artos", base_url=server.url, ...))
        server.requests  # every request head received, parsed
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Self

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable

Behaviour = "Callable[[Conn], None]"


class Gone(Exception):
    """The client closed the connection, or the server is stopping."""


@attrs.define
class Request:
    """One request head the server received."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names


@attrs.define(eq=False)
class Conn:
    """One client connection, as a behaviour sees it."""

    sock: socket.socket
    request: Request
    server: RawServer

    def send(self, data: bytes) -> None:
        """Write ``data``; ``Gone`` when the client left, the server stops or time is up."""
        if self.server.stopping.is_set() or time.monotonic() > self.server.started + self.server.limit:
            raise Gone
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise Gone from exc

    def pause(self, seconds: float) -> None:
        """Sleep, waking early (``Gone``) when the server stops."""
        if self.server.stopping.wait(seconds):
            raise Gone


@attrs.define(eq=False)
class RawServer:
    """Serves ``behaviour`` (a function of a ``Conn``) to every connection, on 127.0.0.1.

    Attributes:
        behaviour: What to do with each connection after reading its request head.
        limit: Seconds after which every behaviour stops writing.
        requests: The request heads received, in order.
    """

    behaviour: Callable[[Conn], None]
    limit: float = 30.0
    requests: list[Request] = attrs.Factory(list)
    stopping: threading.Event = attrs.Factory(threading.Event)
    started: float = attrs.Factory(time.monotonic)
    listener: socket.socket | None = None
    threads: list[threading.Thread] = attrs.Factory(list)
    conns: list[socket.socket] = attrs.Factory(list)

    @property
    def url(self) -> str:
        assert self.listener is not None
        host, port = self.listener.getsockname()
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        prepare = getattr(self.behaviour, "prepare", None)  # work a behaviour does once, before serving
        if prepare is not None:
            prepare()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.started = time.monotonic()
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self.threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        assert self.listener is not None
        with contextlib.suppress(OSError):  # wakes the accept loop now (Linux), not at its next timeout
            self.listener.shutdown(socket.SHUT_RDWR)
        for conn in list(self.conns):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for thread in self.threads:
            thread.join(timeout=5)
        self.listener.close()

    def _accept(self) -> None:
        assert self.listener is not None
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.conns.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(5)
        try:
            while not self.stopping.is_set():  # keep-alive: one behaviour per request
                request = _read_head(sock)
                if request is None:
                    return
                self.requests.append(request)
                self.behaviour(Conn(sock, request, self))
        except (Gone, OSError):
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.close()


def _read_head(sock: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
        if len(data) > 1_000_000:
            return None
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    line, *fields = head.split("\r\n")
    method, path, _ = line.split(" ", 2)
    headers = {}
    for field in fields:
        name, _, value = field.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Request(method, path, headers)


# --- behaviours


def answer(status: int = 200, body: bytes | Any = b"", headers: dict[str, str] | None = None) -> Callable[[Conn], None]:
    """A well-formed answer with ``Content-Length`` (``body`` that is not bytes is sent as JSON)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    def run(conn: Conn) -> None:
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(data)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {"Content-Type": "application/json"}).items())
        conn.send(head.encode("latin-1") + b"\r\n" + data)

    return run


def slow_body(body: bytes, *, every: float = 0.5) -> Callable[[Conn], None]:
    """Headers at once, then the body one byte every ``every`` seconds (per-read timeouts never fire)."""

    def run(conn: Conn) -> None:
        conn.send(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        for i in range(len(body)):
            conn.pause(every)
            conn.send(body[i : i + 1])

    return run


def slow_headers(*, every: float = 0.3) -> Callable[[Conn], None]:
    """The status line and headers one byte at a time, forever (slowloris)."""

    def run(conn: Conn) -> None:
        head = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 100_000
        for i in range(len(head)):
            conn.send(head[i : i + 1])
            conn.pause(every)

    return run


def endless_body(*, chunk: int = 65536) -> Callable[[Conn], None]:
    """A chunked 200 body that never ends, as fast as the client reads."""

    def run(conn: Conn) -> None:
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        piece = b"%x\r\n" % chunk + b'{"a":' + b" " * (chunk - 5) + b"\r\n"
        while True:
            conn.send(piece)

    return run


def big_body(size: int) -> Callable[[Conn], None]:
    """A 200 with a declared ``Content-Length`` of ``size`` bytes, sent in full if read."""

    def run(conn: Conn) -> None:
        conn.send(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode())
        block = b" " * 65536
        sent = 0
        while sent < size:
            n = min(len(block), size - sent)
            conn.send(block[:n])
            sent += n

    return run


def huge_headers(size: int = 2_000_000) -> Callable[[Conn], None]:
    """A 200 whose one header line is ``size`` bytes long."""

    def run(conn: Conn) -> None:
        conn.send(b"HTTP/1.1 200 OK\r\nX-Big: ")
        block = b"a" * 65536
        for _ in range(size // len(block)):
            conn.send(block)
        conn.send(b"\r\nContent-Length: 2\r\n\r\n{}")

    return run


def garbage() -> Callable[[Conn], None]:
    """Bytes that are not HTTP at all."""
    return lambda conn: conn.send(b"\x00\xffSSH-2.0-not-http\r\n\r\n\x00\x01")


@functools.cache
def _gzipped_spaces(size: int) -> bytes:
    return gzip.compress(b'{"a": "' + b" " * size + b'"}', compresslevel=9, mtime=0)


@attrs.frozen
class _GzipBomb:
    size: int

    def prepare(self) -> None:
        _gzipped_spaces(self.size)

    def __call__(self, conn: Conn) -> None:
        data = _gzipped_spaces(self.size)
        conn.send(
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )


def gzip_bomb(size: int) -> Callable[[Conn], None]:
    """A 200 whose gzip-encoded body inflates to ``size`` bytes of spaces inside a JSON object.

    Compressed once per size and process, when a ``RawServer`` serving it starts (200 MiB takes
    a second, and the uncompressed bytes must not count in a test's memory measurement): tests
    name the bomb in ``parametrize``, which every pytest-xdist worker collects."""
    return _GzipBomb(size)


def redirect(location: str, status: int = 302) -> Callable[[Conn], None]:
    return answer(status, b"", {"Location": location})


def echo_headers(status: int = 200) -> Callable[[Conn], None]:
    """Answers with the request's headers in the body and in a response header (a server that
    reflects the credential back)."""

    def run(conn: Conn) -> None:
        body = json.dumps({"error": {"message": repr(conn.request.headers)}, "echo": conn.request.headers}).encode()
        header = {"Content-Type": "application/json", "X-Echo": repr(conn.request.headers)}
        answer(status, body, header)(conn)

    return run
