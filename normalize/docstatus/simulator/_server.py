"""``Simulator``: the app served by uvicorn in a background thread, and the Python control API."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Final, Self

from docstatus._refs import parse_ref

from . import _providers as providers
from ._app import TRANSPORT_KEY, SimulatorApp
from ._state import State

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Iterable, Mapping
    from types import TracebackType

    import uvicorn

    from ._faults import Fault
    from ._jobs import Clock, JobInfo, Script
    from ._state import RequestRecord

#: Seconds ``start()`` waits for the server to listen, and ``stop()`` for it to end, by default.
DEFAULT_TIMEOUT: Final = 10.0


class SimulatorError(RuntimeError):
    """The simulator could not start or stop."""


def _protocol_class() -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, handing the app each connection's transport (for drop/truncate)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol  # noqa: PLC0415  # uvicorn loads on start

    class _Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            inner = self.app

            async def app(scope: Any, receive: Any, send: Any) -> None:
                scope[TRANSPORT_KEY] = transport
                await inner(scope, receive, send)

            self.app = app

    return _Protocol


class Simulator:
    """Every simulated provider's status endpoints on one local HTTP server, with scripted jobs.

    Use it as a context manager (or ``start()``/``stop()``)::

        with Simulator() as sim:
            ref = sim.create_job(provider, "failure", step=1.0)  # provider: a name in SCRIPTS
            os.environ.update(sim.env())          # or ProviderConfig(base_url=sim.base_url(...))
            sim.clock.advance(5)                  # no sleeping
            docstatus.get_status(ref)

    Every provider is served under ``/<provider>`` at its documented path, so
    ``DOCSTATUS_<PROVIDER>_BASE_URL=<url>/<provider>`` points the clients at it; the HTTP
    control surface is under ``/_sim/``. The server binds ``host`` (127.0.0.1 by default)
    and ``port`` (0: a free port; ``port`` tells which after ``start()``).

    Attributes:
        host: The address served.
        state: Jobs, faults, request log and clock.
        app: The ASGI application (mountable in another ASGI server).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: Mapping[str, str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.host = host
        self._port = port
        self.state = State(clock=clock, tokens=tokens)
        self.app = SimulatorApp(self.state)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<Simulator {where}, {len(self.state.jobs())} jobs>"

    # --- lifecycle

    @property
    def running(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The port served (the real one once started with port 0)."""
        return self._port

    @property
    def url(self) -> str:
        """``http://<host>:<port>``, the simulator's root."""
        if not self.running:
            raise SimulatorError("the simulator is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    def base_url(self, provider: str) -> str:
        """The base URL to give a provider's client: ``<url>/<provider>``."""
        if not providers.known(provider):
            raise ValueError(f"unknown provider {provider!r}; expected one of {providers.expected()}")
        return f"{self.url}/{provider}"

    @property
    def tokens(self) -> Mapping[str, str]:
        """The credential each provider accepts (none for a provider without auth)."""
        return self.state.tokens

    def env(self) -> dict[str, str]:
        """``DOCSTATUS_<PROVIDER>_BASE_URL`` and ``DOCSTATUS_<PROVIDER>_TOKEN`` for every provider."""
        env: dict[str, str] = {}
        for provider in providers.names():
            env[f"DOCSTATUS_{provider.upper()}_BASE_URL"] = self.base_url(provider)
            token = self.tokens.get(provider)
            if token is not None:
                env[f"DOCSTATUS_{provider.upper()}_TOKEN"] = token
        return env

    def start(self, *, timeout: float = DEFAULT_TIMEOUT) -> Self:
        """Serve in a background thread; return once listening (``SimulatorError`` after ``timeout``)."""
        try:
            import uvicorn  # noqa: PLC0415  # the simulator extra loads only when a server starts
        except ModuleNotFoundError as exc:
            raise SimulatorError(
                f"serving the simulator needs the 'simulator' extra ({exc.name} is not installed): "
                "pip install 'docstatus[simulator]'"
            ) from exc

        with self._lock:
            if self._server is not None:
                raise SimulatorError(f"the simulator is running already at {self.url}")
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only then (else ~40 ms Nagle stalls).
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            try:
                sock.bind((self.host, self._port))
            except OSError as exc:
                sock.close()
                raise SimulatorError(f"cannot listen on {self.host}:{self._port}: {exc}") from exc
            config = uvicorn.Config(
                self.app,
                http=_protocol_class(),
                ws="none",
                lifespan="off",
                interface="asgi3",
                log_config=None,
                log_level="warning",
                access_log=False,
                proxy_headers=False,
                server_header=False,
                timeout_keep_alive=5,
                timeout_graceful_shutdown=3,
            )
            server = uvicorn.Server(config)
            self.app.stopping.clear()
            thread = threading.Thread(
                target=server.run, kwargs={"sockets": [sock]}, name="docstatus-simulator", daemon=True
            )
            self._server, self._thread, self._socket = server, thread, sock
            self._port = sock.getsockname()[1]
            thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive():
                self._cleanup()
                raise SimulatorError(f"the simulator's server thread ended while starting on {self.host}")
            if time.monotonic() > deadline:
                self.stop(timeout=2.0)
                raise SimulatorError(f"the simulator did not start listening within {timeout:g} s")
            time.sleep(0.005)
        return self

    def stop(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Stop serving: slow answers end, connections close, the thread is joined. Idempotent."""
        with self._lock:
            server, thread = self._server, self._thread
            if server is None or thread is None:
                return
            self.app.stopping.set()
            server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(2.0)
        alive = thread.is_alive()
        self._cleanup()
        if alive:
            raise SimulatorError(f"the simulator's server thread did not end within {timeout:g} s")

    def _cleanup(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close()
            self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        return self.start() if not self.running else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- control API

    @property
    def clock(self) -> Clock:
        """The simulated clock: ``advance(seconds)``, ``freeze()``, ``unfreeze()``."""
        return self.state.clock

    def create_job(
        self,
        provider: str,
        script: str | Script = "happy_path",
        *,
        job_id: str | None = None,
        step: float | None = None,
        faults: Iterable[Fault] = (),
    ) -> str:
        """Create a job that starts ``script`` now; return its reference (``"<provider>:<id>"``).

        Args:
            provider: The provider that serves it.
            script: A ready-made script's name (see ``SCRIPTS[provider]``) or a ``Script``.
            job_id: The id to use, in the provider's form (parts joined by ``/`` where its
                path has more than one); default a fresh one.
            step: Seconds each phase lasts (overrides the script's durations).
            faults: Faults for this job's requests only, served before any other.

        Raises ``ValueError`` for an unknown provider or script, an id the provider would not
        have, or a script whose phase does not fit the provider's spec.
        """
        return self.state.create_job(provider, script, job_id=job_id, step=step, faults=faults).ref

    def inject(self, fault: Fault, *, provider: str | None = None, ref: str | None = None) -> None:
        """Arm ``fault`` for one job (``ref``), one provider's requests, or every provider's (neither)."""
        self.state.add_fault(fault, provider=provider, ref=ref)

    def on_submit(self, provider: str, script: str | Script = "happy_path", *, step: float | None = None) -> None:
        """The script the jobs created by ``provider``'s submission endpoints follow from now on
        (its routes of kind ``submit``; default ``happy_path``; ``reset()`` restores it).
        Find the job with ``jobs`` or ``requests``."""
        self.state.on_submit(provider, script, step=step)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.state.clear_faults()

    @property
    def faults(self) -> list[dict[str, Any]]:
        """The armed faults, with how many requests each still applies to."""
        return self.state.faults()

    @property
    def jobs(self) -> list[JobInfo]:
        """Every job with its state now."""
        return self.state.jobs()

    def job(self, ref: str) -> JobInfo:
        """One job with its state now (``KeyError`` when the simulator has none)."""
        return self.state.info(self.state.job(str(parse_ref(ref))))

    def state_of(self, ref: str) -> str:
        """The provider-native state of a job now."""
        return self.job(ref).state

    @property
    def requests(self) -> list[RequestRecord]:
        """Requests answered so far (credentials redacted), oldest first."""
        return self.state.requests()

    def reset(self) -> None:
        """Forget every job, fault and request (a request still being answered, e.g. under a
        ``slow`` fault, is not logged when it ends); the clock goes back to real time."""
        self.state.reset()
