"""The tracker's database on a hostile disk, in real child processes: a read-only file (as an
unprivileged user when the tests run as root, since root ignores file modes) and a full disk
(a file size limit, ``RLIMIT_FSIZE``, so every write past it fails as on a full disk).

Promises checked: a clear ``TrackerError`` with its documented ``reason``, exit code 2 from
``docstatus track add`` / ``track run`` with one line on stderr and no traceback, and nothing
lost: a read-only file is left byte for byte as it was; after a full disk the file is still
readable and holds everything committed before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from docstatus import Tracker, TrackerError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)"),
    # Python 3.12+ warns on fork() beside other threads (pytest-xdist's own): the fork is
    # deliberate (see _forked), and a child that hung on a lock would be killed at its timeout
    # and fail the test, not hang it.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning"),
]

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _nobody() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return 65534, 65534
    return entry.pw_uid, entry.pw_gid


def _forked(
    body: Callable[[], int], tmp: Path, *, drop: bool = False, fsize: int | None = None, timeout: float = 60.0
) -> tuple[int, str, str]:
    """Run ``body`` in a forked child (its return value is the exit code): with ``drop``, as
    the user ``nobody``; with ``fsize``, under that file size limit (SIGXFSZ ignored, so a
    write past it fails with EFBIG). Its exit code, stdout and stderr.

    A fork, not a new interpreter: ``nobody`` may not be able to read the interpreter's own
    files (a pyenv under /root), and what ``body`` needs is imported already."""
    out, err = tmp / "child.out", tmp / "child.err"
    out_fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err_fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            os.dup2(out_fd, 1)
            os.dup2(err_fd, 2)
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            if fsize is not None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                import resource  # noqa: PLC0415

                resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
            if drop:
                uid, gid = _nobody()
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            code = body()
        except BaseException:  # shown to the test, which then fails
            traceback.print_exc()
            code = 99
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    os.close(out_fd)
    os.close(err_fd)
    end = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > end:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the child did not end within {timeout} s: {err.read_text('utf-8', 'replace')}")
        time.sleep(0.02)
    return os.waitstatus_to_exitcode(status), out.read_text("utf-8"), err.read_text("utf-8")


def _warm_imports() -> None:
    """Import now what the CLI imports lazily (the child may not be able to read the files)."""
    import docstatus._cli_track  # noqa: PLC0415
    import docstatus._fetch  # noqa: PLC0415  # imported when a run makes its HTTP session
    import docstatus._refs  # noqa: PLC0415
    import docstatus._tracking._tracker  # noqa: PLC0415
    import docstatus._waiting._many  # noqa: PLC0415
    import docstatus._waiting._poll  # noqa: PLC0415
    import docstatus._waiting._single  # noqa: PLC0415, F401


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line(stderr: str, command: str, reason_text: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"docstatus {command}: "), stderr
    assert reason_text in lines[0], stderr
    assert "Traceback" not in stderr


# --- a read-only database


@pytest.fixture
def shared_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder ``nobody`` can reach when running as root (pytest's tmp_path is under a 0700
    folder); tmp_path otherwise."""
    if not ROOT:
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="docstatus-ro-"))
    try:
        folder.chmod(0o755)
        for parent in folder.parents:  # nobody must be able to walk down to it
            assert parent.stat().st_mode & stat.S_IXOTH, f"{parent} is not traversable by others"
        yield folder
    finally:
        for path in (folder, *folder.rglob("*")):
            with contextlib.suppress(OSError):
                path.chmod(0o700)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("folder_writable", [False, True], ids=["folder-read-only", "file-read-only"])
def test_a_read_only_database_is_a_clear_error_and_is_left_unchanged(
    shared_dir: Path, tmp_path: Path, folder_writable: bool
) -> None:
    from docstatus._cli_track import main as track_main  # noqa: PLC0415

    _warm_imports()
    folder = shared_dir / "ro"
    folder.mkdir()
    path = folder / "t.db"
    with Tracker(path) as tracker:
        tracker.add("artos:ro1", meta={"k": "v"})
    assert sorted(p.name for p in folder.iterdir()) == ["t.db"]  # WAL checkpointed and removed
    path.chmod(0o444)
    if folder_writable and ROOT:
        folder.chmod(0o777)  # nobody may create files next to it, not write the file
    elif not folder_writable:
        folder.chmod(0o555)
    before = _digest(path)

    def api() -> int:
        try:
            tracker = Tracker(path)
            tracker.add("artos:ro2")
        except TrackerError as exc:
            print(exc.reason)
            return 0
        return 1

    code, out, err = _forked(api, tmp_path, drop=ROOT)
    assert (code, out.strip()) == (0, "readonly"), err
    for argv in (["add", "artos:ro2"], ["run", "--once"]):
        code, out, err = _forked(lambda argv=argv: track_main(["track", *argv, "--db", str(path)]), tmp_path, drop=ROOT)
        assert code == 2, (argv, err)
        _one_line(err, f"track {argv[0]}", "read-only")
        assert out == ""
    assert _digest(path) == before
    folder.chmod(0o755)
    path.chmod(0o644)
    with Tracker(path) as tracker:
        assert [(j.ref, dict(j.meta)) for j in tracker.list()] == [("artos:ro1", {"k": "v"})]


# --- a full disk


def _done_rows(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """What an ended job leaves, which nothing may change: its row and its outbox row."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        jobs = conn.execute("SELECT ref, key, state, outcome FROM jobs WHERE status = 'done' ORDER BY ref").fetchall()
        outbox = conn.execute("SELECT key, ref, outcome, delivered FROM outbox ORDER BY key").fetchall()
    return jobs, outbox


def test_a_full_disk_stops_the_run_with_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    from docstatus import JobStatus, State, WaitPolicy  # noqa: PLC0415

    path = tmp_path / "t.db"
    refs = [f"artos:j{i}" for i in range(300)]

    async def poll(ref: object, timeout: float) -> JobStatus:
        job_id = str(ref).partition(":")[2]
        state = State.SUCCEEDED if int(job_id[1:]) < 50 else State.RUNNING
        return JobStatus(provider="artos", job_id=job_id, state=state, provider_state=state.value, progress=0.5)

    fast = WaitPolicy(initial_delay=0.01, min_delay=0.01, max_delay=0.02, timeout=120)
    with Tracker(path, poll=poll, policy=fast, spread=0.0, host_rate=None) as tracker:
        tracker.add_many(refs)
        tracker.run(once=True)  # 50 end (outbox rows, not delivered: no callback), 250 polled once
        assert tracker.counts() == {"succeeded": 50, "running": 250}
    before = _done_rows(path)
    assert len(before[0]) == len(before[1]) == 50
    limit = path.stat().st_size + 64 * 1024  # the WAL (empty now) can grow by about that much

    def run() -> int:
        with Tracker(path, poll=poll, policy=fast, spread=0.0, host_rate=None) as tracker:
            try:
                tracker.run()
            except TrackerError as exc:
                print(exc.reason)
                return 0
        return 1

    started = time.monotonic()
    code, out, err = _forked(run, tmp_path, fsize=limit)
    assert (code, out.strip()) == (0, "full"), err
    assert time.monotonic() - started < 30
    assert _done_rows(path) == before  # what was committed stays, unchanged
    with Tracker(path) as tracker:  # readable, and writable again without the limit
        assert sorted(j.ref for j in tracker.list()) == sorted(refs)
        assert all(j.polls >= 1 for j in tracker.list())
        tracker.add("artos:after")
        assert sorted(c.key for c in tracker.completions()) == sorted(r[0] for r in before[1])


def test_track_run_on_a_full_disk_exits_2_with_one_line(tmp_path: Path) -> None:
    sim_module = pytest.importorskip("docstatus.simulator")
    path = tmp_path / "t.db"
    track = [sys.executable, "-m", "docstatus._cli_track", "track"]
    with sim_module.Simulator() as sim:
        ended = [sim.create_job("artos", "happy_path", step=0.001) for _ in range(20)]
        running = [sim.create_job("artos", "happy_path", step=600.0) for _ in range(280)]
        env = {**os.environ, **sim.env(), "DOCSTATUS_TRACK_DB": str(path)}
        time.sleep(0.1)
        assert subprocess.run([*track, "add", *ended, *running], env=env, check=False).returncode == 0
        first = subprocess.run(
            [*track, "run", "--once", "--host-rate", "1000"], env=env, capture_output=True, text=True, check=False
        )
        assert first.returncode == 0, first.stderr
        assert len(first.stdout.splitlines()) == 20  # the ended ones, delivered
        before = _done_rows(path)
        assert len(before[0]) == 20
        limit = path.stat().st_size + 64 * 1024
        limited = (
            "import resource, runpy, sys\n"
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"  # SIGXFSZ: ignored by Python
            "sys.argv = ['docstatus', 'track', 'run', '--json', '--host-rate', '1000']\n"
            "runpy.run_module('docstatus._cli_track', run_name='__main__')\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", limited], env=env, capture_output=True, text=True, timeout=60, check=False
        )
    assert result.returncode == 2, result.stderr
    _one_line(result.stderr, "track run", "the disk is full")
    assert result.stdout == ""  # no job ended in that run, none was printed twice
    assert _done_rows(path) == before
    with Tracker(path) as tracker:
        assert sorted(j.ref for j in tracker.list()) == sorted(ended + running)
