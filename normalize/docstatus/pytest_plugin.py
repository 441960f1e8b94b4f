"""docstatus's pytest plugin (entry point ``pytest11``: ``docstatus``).

Loaded by pytest in every project that has docstatus installed, so importing it costs nothing:
it imports only the standard library and pytest, and it defines its fixtures only when the
``simulator`` extra (uvicorn, pydantic) is installed (``pip install 'docstatus[simulator]'``).
"""

from __future__ import annotations

import importlib.util


def _extra_installed() -> bool:
    """True when uvicorn and pydantic can be imported (without importing them)."""
    for name in ("uvicorn", "pydantic"):
        try:
            if importlib.util.find_spec(name) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True
