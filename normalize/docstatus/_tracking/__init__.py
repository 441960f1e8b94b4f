"""Durable tracking of jobs (private; the public names are re-exported by ``docstatus``).

- ``_store``: the SQLite file (schema, migrations, leases, the outbox).
- ``_tracker``: ``Tracker``, which runs ``watch_many``'s dispatcher over the jobs it leases and
  persists each job's ``WaitState`` after every poll.
"""

from __future__ import annotations

from docstatus._waiting._core import WaitState

from ._store import SCHEMA_VERSION, TrackerError
from ._tracker import Completion, TrackedJob, Tracker

__all__ = ["SCHEMA_VERSION", "Completion", "TrackedJob", "Tracker", "TrackerError", "WaitState"]
