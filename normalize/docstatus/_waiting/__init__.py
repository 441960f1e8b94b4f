"""Waiting for jobs to end (private; the public names are re-exported by ``docstatus``).

- ``_core``: the sans-IO decisions (``WaitPolicy``, ``Waiter``, ``Step``).
- ``_durations``: how long jobs of each kind take (``Durations``), and where to poll them.
- ``_poll``: the I/O boundary (poll functions; the default one over ``docstatus.fetch_status``).
- ``_single``: ``wait``/``watch`` and their async twins, for one job (one shared loop body,
  ``_Loop``, with a thin sync and a thin async driver).
- ``_many``: ``watch_many``, many jobs with shared per-host budgets: deadlines no pause or budget
  pushes back, AIMD rate adaptation after 429s, refs reported as given, errors kept per job.
"""

from __future__ import annotations

from ._core import UnknownState, WaitPolicy
from ._durations import Durations
from ._many import JobUpdate, watch_many
from ._single import wait, wait_async, watch, watch_async

__all__ = [
    "Durations",
    "JobUpdate",
    "UnknownState",
    "WaitPolicy",
    "wait",
    "wait_async",
    "watch",
    "watch_async",
    "watch_many",
]
