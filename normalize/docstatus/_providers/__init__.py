"""One module per provider: a frozen status table and ``normalize(model) -> JobStatus``.

Each module defines ``PROVIDER``, ``MODEL`` (the generated client's 200 model), ``MODELS``
(every generated model a 200 body may parse into: ``MODEL`` and, where the spec accepts one, an
envelope around it), ``ID_FIELD`` (the body field holding the job id, ``None`` when the body has
none), ``STATES`` (documented value -> ``State``, a ``MappingProxyType``), ``from_dict(data)``
(a decoded 200 body -> one of ``MODELS``, as the generated operation parses it) and
``normalize(model, *, job_id=None)``, and ``fast(data, job_id, model)``: the same mapping read
from the decoded JSON directly (``parse``'s fast path), or ``None`` (or an exception) where it
is not sure the model path would map the body the same way. Modules are imported on first use (each imports its
generated client package).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from docstatus._status import JobStatus, State


class Mapper(Protocol):
    """What every provider module provides."""

    PROVIDER: str
    MODEL: Any
    MODELS: tuple[type, ...]
    ID_FIELD: str | None
    STATES: Mapping[str, State]
    from_dict: Callable[[Mapping[str, Any]], Any]
    normalize: Callable[..., JobStatus]
    fast: Callable[[Mapping[str, Any], str | None, Any], JobStatus | None]


_loaded: dict[str, Mapper] = {}


def mapper(provider: str) -> Mapper:
    """The mapping module of a provider (a name from ``PROVIDERS``; checked by the caller)."""
    module = _loaded.get(provider)
    if module is None:
        module = _loaded[provider] = cast("Mapper", importlib.import_module(f"{__name__}.{provider}"))
    return module
