"""How a provider's ready-made scripts are written (each provider module defines its ``SCRIPTS``).

Every provider has these three; some have more (see ``SCRIPTS[provider]`` or ``GET /_sim/scripts``):

==================  =========================================================================
name                what the job does
==================  =========================================================================
happy_path          queued, runs with progress, succeeds with outputs
failure             queued, runs, fails with the provider's error fields
unknown_state       runs, then sits in a state the provider's spec does not list (served
                    off-spec on purpose)
==================  =========================================================================

Others in use: ``partial_success`` (some pages fail), ``stuck_accepted`` (accepted forever:
the job waits for its input), ``rejected`` (refused before processing).

Each phase lasts ``DEFAULT_STEP`` seconds unless ``script(..., step=)`` says otherwise.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from ._jobs import Phase, Script

if TYPE_CHECKING:
    from collections.abc import Mapping

#: The scripts every provider has.
REQUIRED: Final = ("happy_path", "failure", "unknown_state")


def ready(name: str, description: str, *phases: Phase) -> Script:
    """A ready-made script: ``phases`` in order, the last forever."""
    return Script(name=name, description=description, phases=phases)


def unknown_state(state: str, *before: Phase, **last: Any) -> Script:
    """``unknown_state``: the phases ``before``, then ``state``, which the provider's spec does
    not list (served off-spec on purpose), with ``last`` the rest of that phase's fields."""
    shown = ", ".join(phase.state for phase in before)
    return ready(
        "unknown_state",
        f"{shown}, then {state!r} (not in the spec)",
        *before,
        Phase(state=state, off_spec=True, **last),
    )


def scripts(*made: Script) -> Mapping[str, Script]:
    """A provider's ``SCRIPTS``: name -> script, in the order given, read-only."""
    return MappingProxyType({script.name: script for script in made})
