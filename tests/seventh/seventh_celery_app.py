"""The test Celery app (``tests/_celery_app.py``) with the seventh provider registered at import:
what a user's worker module does for a provider of their own (``celery -A seventh_celery_app
worker``; ``seventh_provider`` and its generated client on the worker's path)."""

from __future__ import annotations

import seventh_provider
from docstatus import _registry

_registry.register(seventh_provider)

from _celery_app import app, done, error, tracking  # noqa: E402  # after the provider is registered

__all__ = ["app", "done", "error", "tracking"]
