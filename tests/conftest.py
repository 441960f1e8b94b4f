"""Shared fixtures: a real HTTP server on 127.0.0.1 that answers what a test scripts."""

from __future__ import annotations

import functools
import http.server
import json
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def pytest_configure() -> None:
    """Let subprocesses start with SIGINT as a terminal's foreground process has it.

    The Ctrl-C tests send SIGINT to CLI subprocesses. A test run started in the background
    (``nohup``, ``cmd &`` in a script, some CI runners) inherits SIGINT *ignored*, and so would
    every subprocess: Python then installs no KeyboardInterrupt handler, the CLI never sees the
    Ctrl-C, and each of those tests waits out its bound (a minute) and fails. A Python handler
    here is reset to the default in every child, as in a terminal.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@functools.cache
def tls() -> ssl.SSLContext:
    """One TLS context, the one httpx builds by default, for the many clients tests make.

    ``httpx.get()``, ``httpx.Client()`` and the generated clients build a new one per call or
    client unless given one: about 40 ms of CPU each, which was most of the CPU time of the files
    that make a client per request or per test (their URLs are http://, so nothing else changes).
    """
    import httpx  # noqa: PLC0415  # only for the tests that use it

    return httpx.create_ssl_context()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _fresh_durations() -> Iterator[None]:
    """Each test starts with the process's shared duration model empty (cold): what one test's
    jobs teach it must not change how another test's jobs are polled."""
    from docstatus._waiting._durations import Durations  # noqa: PLC0415  # after the test's imports

    Durations.shared().clear()
    yield
    Durations.shared().clear()


@pytest.fixture(autouse=True)
def _no_worker_outlives_its_test() -> Iterator[None]:
    """A Celery worker a test started is killed after it, even when the test failed before it
    stopped the worker."""
    yield
    support = sys.modules.get("_celery_support")
    if support is not None:
        support.kill_leftovers()


@attrs.define
class Canned:
    """One scripted answer.

    Attributes:
        status: HTTP status to send (any int, e.g. 520).
        body: bytes sent as is; a dict/list is sent as JSON.
        headers: extra response headers.
        drop: close the connection without answering.
    """

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = attrs.Factory(dict)
    drop: bool = False


@attrs.define
class Seen:
    """A request the server received."""

    method: str
    path: str
    headers: dict[str, str]


@attrs.define
class CannedServer:
    """A threaded HTTP server on 127.0.0.1 answering from a queue of ``Canned``.

    Attributes:
        base_url: ``http://127.0.0.1:<port>``.
        requests: every request received, in order.
        answers: answers to give, in order; the last one repeats once the queue is down to one.
    """

    base_url: str
    requests: list[Seen] = attrs.Factory(list)
    answers: list[Canned] = attrs.Factory(list)

    def reply(self, *answers: Canned) -> None:
        self.answers[:] = list(answers)

    def next_answer(self) -> Canned:
        if not self.answers:
            return Canned(status=500, body=b"no answer scripted")
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def _handler(server_state: CannedServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  # quiet
            return

        def do_GET(self) -> None:
            server_state.requests.append(Seen(self.command, self.path, dict(self.headers.items())))
            answer = server_state.next_answer()
            if answer.drop:
                self.close_connection = True
                self.connection.close()
                return
            body = answer.body
            if not isinstance(body, bytes):
                body = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
            self.send_response_only(answer.status, "Whatever")
            headers = {"Content-Type": "application/json", **answer.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class _QuietServer(http.server.ThreadingHTTPServer):
    """No traceback on stderr when a test drops or aborts a connection on purpose."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


@pytest.fixture
def canned_server() -> Iterator[CannedServer]:
    """A real HTTP server on 127.0.0.1, stopped after the test."""
    state = CannedServer(base_url="")
    httpd = _QuietServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="canned-server", daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def seventh_generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Issue 22's seventh provider (``tests/seventh/``): its client and simulator models generated
    from its spec once per session (per test worker), both its modules imported, not registered
    (``_seventh_support.Seventh``)."""
    import _seventh_support  # noqa: PLC0415  # only for the tests that use it

    seventh = _seventh_support.load(tmp_path_factory.mktemp("seventh"))
    yield seventh
    _seventh_support.unload(seventh)
