"""Makes the tracking databases of one schema version in ``tracker_v<N>/`` beside this script,
with the docstatus that wrote that version: ``closed.db`` (closed cleanly: all of it in the file)
and ``killed.db`` + ``killed.db-wal`` (the process ended without closing it: what the jobs did sits
in the ``-wal``). Version 1 was made with 6b6fea9 (the last before version 2), version 2 with
e367de2 (the last before version 3), version 3 with 94c1f2d (the last before version 4):

    git archive 94c1f2d normalize | tar -x -C /tmp/v3
    PYTHONPATH=/tmp/v3/normalize python tests/hostile/make_tracker_files.py 3 tests/hostile/tracker_v3

Each holds these jobs: ``artos:running-1`` (meta ``{"batch": 7}``, polled 3 times, running, its
last status's step ``step 3 of running-1``), ``artos:big-1`` (from version 2 on: polled 3
times, running, its last status's step 3,000 characters long: in the ``statuses`` table),
``artos:ends-ok`` (succeeded, delivered), ``artos:ends-failed`` (failed, its completion not
delivered) and ``artos:new-1`` (never polled). Every deadline is 2100-01-01.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

FAR = datetime(2100, 1, 1, tzinfo=UTC)


def make(path: Path, version: int, *, close: bool) -> None:
    import docstatus  # noqa: PLC0415
    from docstatus._tracking._store import SCHEMA_VERSION  # noqa: PLC0415

    assert version == SCHEMA_VERSION, f"run this with the docstatus that writes schema version {version}"
    big = version >= 2  # version 1's files were made with four jobs, before big-1 was added
    polls: dict[str, int] = {}

    async def poll(ref: docstatus.JobRef, timeout: float) -> docstatus.JobStatus:
        n = polls[str(ref)] = polls.get(str(ref), 0) + 1
        state = docstatus.State.RUNNING
        if ref.job_id.startswith("ends") and n >= 2:
            state = docstatus.State.SUCCEEDED if ref.job_id == "ends-ok" else docstatus.State.FAILED
        return docstatus.JobStatus(
            provider="artos",
            job_id=ref.job_id,
            state=state,
            provider_state=state.value,
            progress=1.0 if state is docstatus.State.SUCCEEDED else n / 10,
            step=f"step {n} of {ref.job_id}" + ("." * 3000 if ref.job_id == "big-1" else ""),
        )

    policy = docstatus.WaitPolicy(initial_delay=0.05, min_delay=0.05, max_delay=0.05, jitter=0.0, timeout=3600)
    tracker = docstatus.Tracker(path, poll=poll, policy=policy, spread=0.0)
    tracker.add("artos:running-1", meta={"batch": 7}, deadline=FAR)
    if big:
        tracker.add("artos:big-1", deadline=FAR)
    tracker.add_many(["artos:ends-ok", "artos:ends-failed"], deadline=FAR)
    for _ in range(3):
        time.sleep(0.1)
        tracker.run(once=True)
    expected = {"artos:running-1": 3, "artos:ends-ok": 2, "artos:ends-failed": 2} | ({"artos:big-1": 3} if big else {})
    assert polls == expected, polls
    ok = tracker.get("artos:ends-ok")
    assert ok is not None
    tracker.store.delivered(ok.key, time.time())
    tracker.add("artos:new-1", deadline=FAR)
    if close:
        tracker.close()
    else:
        sys.stdout.flush()
        os._exit(0)  # no close: no checkpoint


def main() -> None:
    version = int(sys.argv[1])
    if len(sys.argv) == 4:  # the child: one file
        make(Path(sys.argv[2]), version, close=sys.argv[3] == "close")
        return
    out = Path(sys.argv[2])
    for name in ("closed.db", "killed.db", "killed.db-wal", "killed.db-shm"):
        (out / name).unlink(missing_ok=True)
    for name, mode in (("closed.db", "close"), ("killed.db", "kill")):
        subprocess.run([sys.executable, __file__, str(version), str(out / name), mode], check=True)
    (out / "killed.db-shm").unlink()  # rebuilt from the -wal by whoever opens it
    assert sorted(p.name for p in out.glob("*.db*")) == ["closed.db", "killed.db", "killed.db-wal"]


if __name__ == "__main__":
    main()
