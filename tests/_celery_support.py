"""Real ``redis-server`` and real Celery workers for the docstatus.celery tests and bench.

``redis-server`` is found on PATH. When it is missing the tests skip with the reason, except
under CI (``CI`` set), where ``.ci/run`` installs it: there a missing binary fails.
"""

from __future__ import annotations

import contextlib
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
    from collections.abc import Iterator, Mapping

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """One ``redis-server`` on 127.0.0.1, in ``directory`` (restartable on the same port and data)."""

    def __init__(self, directory: Path, *, appendonly: bool = False) -> None:
        self.directory = directory
        self.port = free_port()
        self.appendonly = appendonly
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
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
        if self.appendonly:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer within 10 s")

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
def redis_server(directory: Path, *, appendonly: bool = False) -> Iterator[RedisServer]:
    server = RedisServer(directory, appendonly=appendonly).start()
    try:
        yield server
    finally:
        server.stop()


class Worker:
    """``celery -A _celery_app worker`` in its own process group (so a kill takes its children)."""

    def __init__(self, name: str, env: Mapping[str, str], log: Path, *, concurrency: int = 2) -> None:
        self.name = name
        self.log = log
        self.env = env
        self.concurrency = concurrency
        self.restarts = 0
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
                    "_celery_app",
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

    def kill(self) -> None:
        """SIGKILL to the worker and its pool processes (a lost machine)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):  # pool processes left behind
            os.killpg(self.proc.pid, signal.SIGKILL)


def worker_env(sim: Any, redis_url: str, rates: str = "{}") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSTATUS_")}
    return {**env, **sim.env(), "DOCSTATUS_TEST_REDIS": redis_url, "DOCSTATUS_TEST_RATES": rates}
