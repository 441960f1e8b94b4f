"""What provider modules share about being one (the registry, ``docstatus._registry``, says
what a provider module defines). Imported by the provider modules, not by ``import docstatus``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


@attrs.frozen(kw_only=True)
class Demo:
    """What ``docstatus demo`` shows of a provider, and the jobs ``docstatus simulate`` makes ready.

    Attributes:
        script: The simulator script of the demo's job.
        step: Seconds each phase of that job lasts.
        shows: What the job shows, in a few words (printed after it ends).
        ends: The state the job ends in (a ``State`` value) when all goes as scripted.
        faults: Faults the simulator injects for this provider: ``(name, arguments)`` pairs, each
            ``docstatus.simulator.Fault.<name>(**arguments)``.
        ready: The scripts of the ready jobs ``docstatus simulate`` prints for this provider.
    """

    script: str
    step: float
    shows: str
    ends: str
    faults: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    ready: tuple[str, ...] = ("happy_path", "failure")


def as_given(job_id: str) -> str:
    """A provider's ``canonical_id`` where ids are kept exactly as given."""
    return job_id


def status_operation(client: str, argument: str) -> Callable[[Any, Mapping[str, str]], tuple[str, dict[str, Any]]]:
    """A provider's ``operation`` where it has one status operation, ``<client>.api.status.get_status``
    (the specs' ``operationId: getStatus``, ``tags: [status]``), taking the job id as ``argument``."""
    module = f"{client}.api.status.get_status"

    def operation(ref: Any, options: Mapping[str, str]) -> tuple[str, dict[str, Any]]:  # noqa: ARG001  # one signature for all
        return module, {argument: ref.job_id}

    return operation


def one_model(model: Any) -> tuple[Any, tuple[type, ...], Callable[[Mapping[str, Any]], Any]]:
    """A provider's ``MODEL``, ``MODELS`` and ``from_dict`` where every 200 body parses into one
    generated model, ``model``: ``from_dict`` is its own (it raises on a body that is not the
    documented one)."""
    return model, (model,), model.from_dict
