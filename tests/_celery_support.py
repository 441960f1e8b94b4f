"""Real ``redis-server`` and real Celery workers for the docstatus.celery tests and bench.

``redis-server`` is found on PATH. When it is missing the tests skip with the reason, except
under CI (``CI`` set), where ``.ci/run`` installs it: there a missing binary fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    import pytest

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """One ``redis-server`` in ``directory`` (restartable on the same address and data): on
    127.0.0.1 (a free port), or on a Unix socket only (``unix=True``: ``redis.sock`` in
    ``directory``, no TCP port)."""

    def __init__(self, directory: Path, *, appendonly: bool = False, unix: bool = False) -> None:
        self.directory = directory
        self.unix = unix
        self.port = 0 if unix else free_port()
        self.appendonly = appendonly
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_once = False

    @property
    def socket_path(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def url(self) -> str:
        """The URL in redis-py's form (``unix:///...`` for a socket)."""
        return f"unix://{self.socket_path}?db=0" if self.unix else f"redis://127.0.0.1:{self.port}/0"

    @property
    def broker_url(self) -> str:
        """The URL in Celery's broker form (kombu's ``redis+socket:///...`` for a socket)."""
        return f"redis+socket://{self.socket_path}" if self.unix else self.url

    def start(self) -> RedisServer:
        """Start it and wait until *this* process answers. A free port can be taken by another
        test worker between ``free_port()`` and the bind: the answer is then another server's,
        so the server's own pid is compared, and a first start moves to another port."""
        for _ in range(5):
            if self._start_once():
                return self
            if self.unix or self.started_once:
                break
            self.port = free_port()
        raise RuntimeError(f"redis-server could not bind {self.url}")

    def _start_once(self) -> bool:
        binary = redis_binary()
        assert binary is not None
        args = [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ]
        if self.unix:
            args += ["--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        if self.appendonly:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        self.proc = proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc.poll() is not None:  # its port was taken (or another failure)
                self.proc = None
                return False
            with contextlib.suppress(OSError), self._connect() as s:
                s.sendall(b"INFO server\r\n")
                answer = b""
                while b"process_id:" not in answer or not answer.endswith(b"\r\n\r\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
                if f"process_id:{proc.pid}\r\n".encode() in answer:
                    self.started_once = True
                    return True
            time.sleep(0.05)
        proc.kill()
        proc.wait(5)
        self.proc = None
        raise RuntimeError("redis-server did not answer within 10 s")

    def _connect(self) -> socket.socket:
        if not self.unix:
            return socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(0.5)
        try:
            s.connect(str(self.socket_path))
        except OSError:
            s.close()
            raise
        return s

    def kill(self) -> None:
        """SIGKILL: a crash (with ``appendfsync always``, every write it acknowledged is on disk)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        """SIGTERM: redis-server flushes its append-only file and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


@contextlib.contextmanager
def redis_server(directory: Path, *, appendonly: bool = False, unix: bool = False) -> Iterator[RedisServer]:
    server = RedisServer(directory, appendonly=appendonly, unix=unix).start()
    try:
        yield server
    finally:
        server.stop()


#: Every worker started in this process, so that none outlives its test (``kill_leftovers``).
_STARTED: list[Worker] = []


def kill_leftovers() -> None:
    """SIGKILL every worker a test started and left running (a failed assertion before its
    ``stop()``): orphaned workers would keep polling and load the machine for the other tests."""
    while _STARTED:
        worker = _STARTED.pop()
        if worker.proc.poll() is None:
            worker.kill()


class Worker:
    """``celery -A _celery_app worker`` (or another ``app`` module) in its own process group (so a
    kill takes its children)."""

    def __init__(
        self, name: str, env: Mapping[str, str], log: Path, *, concurrency: int = 2, app: str = "_celery_app"
    ) -> None:
        self.name = name
        self.app = app
        self.log = log
        self.env = env
        self.concurrency = concurrency
        self.restarts = 0
        _STARTED.append(self)
        self.proc = self._start("wb")

    def restart_if_exited(self) -> bool:
        """Start it again if it exited, as a process supervisor would (systemd's
        ``Restart=always``); True if it did."""
        if self.proc.poll() is None:
            return False
        with contextlib.suppress(ProcessLookupError):  # its pool processes, if any are left
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.restarts += 1
        self.proc = self._start("ab")
        return True

    def _start(self, mode: str) -> subprocess.Popen[bytes]:
        env, concurrency, name = self.env, self.concurrency, self.name
        with self.log.open(mode) as out:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    self.app,
                    "worker",
                    "--concurrency",
                    str(concurrency),
                    "--pool",
                    "prefork",
                    "--loglevel",
                    "WARNING",
                    "--hostname",
                    f"{name}@127.0.0.1",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=HERE,
                env={**env, "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def pause(self) -> None:
        """SIGSTOP to the worker and its pool processes (a machine asleep, a VM paused)."""
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT: the paused worker goes on where it was."""
        os.killpg(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL to the worker and its pool processes (a lost machine)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGCONT)  # a paused worker cannot stop
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):  # pool processes left behind
            os.killpg(self.proc.pid, signal.SIGKILL)


def worker_env(sim: Any, redis_url: str, rates: str = "{}", **settings: str) -> dict[str, str]:
    """The environment of a worker of ``_celery_app``; ``settings``: more ``DOCSTATUS_TEST_*``
    variables (``lease="3"`` is ``DOCSTATUS_TEST_LEASE=3``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    more = {f"DOCSTATUS_TEST_{name.upper()}": value for name, value in settings.items()}
    return {**env, **sim.env(), "DOCSTATUS_TEST_REDIS": redis_url, "DOCSTATUS_TEST_RATES": rates, **more}


def load_app(monkeypatch: pytest.MonkeyPatch, url: str, rates: Mapping[str, float], **settings: str) -> Any:
    """The test app (tests/_celery_app.py) imported afresh in this process for Redis at ``url``
    (the caller pops ``_celery_app`` from ``sys.modules`` afterwards)."""
    monkeypatch.setenv("DOCSTATUS_TEST_REDIS", url)
    monkeypatch.setenv("DOCSTATUS_TEST_RATES", json.dumps(dict(rates)))
    for name, value in settings.items():
        monkeypatch.setenv(f"DOCSTATUS_TEST_{name.upper()}", value)
    sys.modules.pop("_celery_app", None)
    import _celery_app  # noqa: PLC0415

    return _celery_app


def deliveries(r: Any) -> list[dict[str, Any]]:
    """Every run of a callback that completed (see tests/_celery_app.py), oldest first."""
    return sorted((json.loads(x) for x in r.hvals("test:deliveries")), key=lambda d: d["at"])


def supervise(workers: Sequence[Worker], seconds: float) -> None:
    """Let ``seconds`` pass, starting again any worker that exits (as its supervisor would)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for worker in workers:
            worker.restart_if_exited()
        time.sleep(0.2)


def wait_for(r: Any, keys: set[str], seconds: float, supervise: Sequence[Worker] = ()) -> None:
    """Until every key is delivered (or ``seconds`` pass); a worker in ``supervise`` that exited
    is started again, as its process supervisor would."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if keys <= {d["key"] for d in deliveries(r)}:
            return
        for worker in supervise:
            worker.restart_if_exited()
        time.sleep(0.5)
