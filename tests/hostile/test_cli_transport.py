"""A request that gets no usable HTTP answer reads the same on both transports — httpx
(``get_status``, ``wait``, ``docstatus status``) and aiohttp (``watch_many``, the tracker,
``docstatus wait``) — and says what happened and what to do in docstatus's own words: never a
library's text ("ssl:default", "[Errno 111]", "ClientConnectorError", "bytearray(b'...')").

Every case meets real sockets on 127.0.0.1: a closed port, a server that resets, one that
closes without answering or in the middle of its answer, garbage, a TLS server whose certificate
is not trusted (and, with ``SSL_CERT_FILE``, is), a server that does not speak TLS at an
``https://`` URL, and a host name the system's resolver refuses without asking a DNS server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

import docstatus
import pytest
from _rawserver import Conn, RawServer, garbage
from _status_checks import body
from docstatus import ProviderConfig
from docstatus._fetch import FleetSession, fetch_async

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

pytestmark = pytest.mark.anyio

TOKEN = "tok-TRANSPORT-51c9e2"
REF = "artos:document-uuid-456"
READY = body("artos", "Ready", task_id="document-uuid-456")
#: Words of the libraries and the OS that a message must not carry.
FOREIGN = (
    "ssl:default",
    "Errno",
    "errno",
    "aiohttp",
    "httpx",
    "httpcore",
    "h11",
    "Connector",
    "ClientOS",
    "RemoteProtocolError",
    "ServerDisconnected",
    "ContentLengthError",
    "ReadError",
    "ConnectError",
    "[SSL",
    "_ssl.c",
    "Bad status line",
    "bytearray",
    "Traceback",
)


# --- servers that misbehave at the connection level


def reset(conn: Conn) -> None:
    """RST instead of an answer (SO_LINGER 0 then close)."""
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.sock.close()


def hang_up(conn: Conn) -> None:
    """Close the connection after reading the request, answering nothing."""
    conn.sock.shutdown(socket.SHUT_RDWR)


def cut_short(conn: Conn) -> None:
    """Headers promising 100 bytes, 4 of them, then close."""
    conn.send(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a"')
    conn.sock.shutdown(socket.SHUT_RDWR)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TlsServer:
    """TLS on 127.0.0.1 with a certificate of its own (``plain``: no TLS at all, an HTTP 400 to
    whatever comes): each connection gets ``data`` once its request head is read."""

    def __init__(self, cert: Path | None, key: Path | None, data: bytes) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.context: ssl.SSLContext | None = None
        if cert is not None and key is not None:
            self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.context.load_cert_chain(cert, key)
        self.data = data
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(5)
        with contextlib.suppress(OSError), sock:
            if self.context is None:
                sock.recv(4096)
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            with self.context.wrap_socket(sock, server_side=True) as tls:
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                tls.sendall(self.data)

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (no authority any client trusts)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not on PATH: it makes the test certificate (apt-get install openssl)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def http_answer(data: dict[str, Any]) -> bytes:
    payload = json.dumps(data).encode()
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )


@contextlib.contextmanager
def serving(case: str, certificate: tuple[Path, Path]) -> Iterator[str]:
    """The base URL of a server that misbehaves as ``case`` says."""
    behaviours: dict[str, Callable[[Conn], None]] = {
        "reset": reset,
        "hang-up": hang_up,
        "cut-short": cut_short,
        "not-http": garbage(),
    }
    if case == "refused":
        yield f"http://127.0.0.1:{closed_port()}"
    elif case == "name":
        # glibc refuses a name with "!" before asking any DNS server: a real resolver failure,
        # on this machine only.
        yield "http://no!such-host"
    elif case in ("untrusted", "not-tls"):
        server = TlsServer(*(certificate if case == "untrusted" else (None, None)), http_answer(READY))
        try:
            yield server.url
        finally:
            server.close()
    else:
        with RawServer(behaviours[case]) as raw:
            yield raw.url


#: Each case: what the message says happened, and a piece of what it says to do.
CASES = {
    "refused": (r"the connection was refused by 127\.0\.0\.1:\d+ \(nothing listens there\)", "that the server is up"),
    "name": (r"the host name no!such-host could not be resolved", "DNS"),
    "reset": (r"the connection to 127\.0\.0\.1:\d+ was reset before the answer was complete", "try again later"),
    "hang-up": (r"127\.0\.0\.1:\d+ closed the connection without answering", "try again later"),
    "cut-short": (r"127\.0\.0\.1:\d+ closed the connection in the middle of its answer", "try again later"),
    "not-http": (r"127\.0\.0\.1:\d+ gave no valid HTTP answer", "right scheme (http:// or https://)"),
    "untrusted": (
        r"the TLS certificate of 127\.0\.0\.1:\d+ is not trusted \(self-signed certificate\)",
        "SSL_CERT_FILE",
    ),
    "not-tls": (r"the TLS handshake with 127\.0\.0\.1:\d+ failed: the server does not speak TLS there", "http://"),
}


async def on_each_transport(url: str) -> dict[str, docstatus.TransportError]:
    """The error of one status request to ``url`` on httpx (sync and async) and aiohttp."""
    config = ProviderConfig(provider="artos", base_url=url, token=TOKEN, timeout=10)
    errors: dict[str, docstatus.TransportError] = {}
    with pytest.raises(docstatus.TransportError) as sync:
        await asyncio.to_thread(docstatus.get_status, REF, config=config)
    errors["httpx"] = sync.value
    with pytest.raises(docstatus.TransportError) as async_:
        await docstatus.get_status_async(REF, config=config)
    errors["httpx-async"] = async_.value
    session = FleetSession(4)  # what watch_many and the tracker send through
    try:
        with pytest.raises(docstatus.TransportError) as fleet:
            await fetch_async(REF, config, session)
    finally:
        await session.aclose()
    errors["aiohttp"] = fleet.value
    return errors


@pytest.mark.filterwarnings("ignore::docstatus.InsecureCredentialWarning")  # "no!such-host" is not this machine
@pytest.mark.parametrize("case", list(CASES))
async def test_a_transport_failure_reads_the_same_on_both_transports_in_our_own_words(case, certificate):
    said, todo = CASES[case]
    with serving(case, certificate) as url:
        errors = await on_each_transport(url)
    messages = {name: str(error) for name, error in errors.items()}
    assert len(set(messages.values())) == 1, messages  # one wording, whatever sent it
    message = messages["httpx"]
    assert re.search(rf"^the status request for {REF} to artos failed: {said}; ", message), message
    assert todo in message
    assert f"the base URL is {url}" in message
    for word in FOREIGN:
        assert word not in message, f"{word!r} in {message!r}"
    assert TOKEN not in message
    for error in errors.values():
        assert error.__cause__ is None  # the library's exception holds the request, credential and all
        assert error.provider == "artos"
        assert error.ref == REF


def test_the_advice_for_an_untrusted_certificate_works(certificate, tmp_path):
    """Giving the certificate to SSL_CERT_FILE, as the message says, makes `status` (httpx) and
    `wait` (aiohttp) reach the server."""
    cert, _ = certificate
    server = TlsServer(*certificate, http_answer(READY))
    try:
        env = {"DOCSTATUS_ARTOS_BASE_URL": server.url, "DOCSTATUS_ARTOS_TOKEN": TOKEN}
        for command in ("status", "wait"):
            refused = run_cli(command, REF, "--timeout", "3", env=env)
            assert refused.returncode == 6, refused.stderr
            assert "give its certificate to SSL_CERT_FILE" in refused.stderr
            trusted = run_cli(command, REF, "--timeout", "10", env={**env, "SSL_CERT_FILE": str(cert)})
            assert trusted.returncode == 0, trusted.stderr
            assert '"state":"succeeded"' in trusted.stdout
    finally:
        server.close()


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_") and k != "SSL_CERT_FILE"}
    return subprocess.run(
        [sys.executable, "-m", "docstatus._cli", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**base, **env},
        check=False,
    )


@pytest.mark.parametrize("case", ["refused", "reset", "not-http"])
def test_status_and_wait_say_the_same_in_one_line(case, certificate):
    """``docstatus status`` (httpx) and ``docstatus wait`` (aiohttp) against the same server: one
    line each, the same words for what happened, no library's text (wait said "ssl:default")."""
    said, _ = CASES[case]
    with serving(case, certificate) as url:
        env = {"DOCSTATUS_ARTOS_BASE_URL": url, "DOCSTATUS_ARTOS_TOKEN": TOKEN}
        status = run_cli("status", REF, env=env)
        waited = run_cli("wait", REF, "--timeout", "2", env=env)
    whats = []
    for result in (status, waited):
        assert result.returncode == 6, result.stderr  # the provider or the network failed
        (line,) = result.stderr.splitlines()
        found = re.search(rf"failed: ({said}); ", line)
        assert found is not None, line
        whats.append(found[1])
        for word in FOREIGN:
            assert word not in line, f"{word!r} in {line!r}"
        assert TOKEN not in line
    assert whats[0] == whats[1]
    assert waited.stderr.startswith(f"docstatus wait: {REF}: job {REF} did not end within its deadline of 2 s: ")
