"""The simulated providers: one module per provider in this folder, and their registry.

A provider module (``docstatus.simulator._providers.<name>`` for a built-in one) holds
everything the simulator knows about that provider and defines:

- ``SIM``: an instance of its ``ProviderSim`` subclass (``docstatus.simulator._render``): its
  name, routes, auth and default token, ids, error bodies and status bodies (built from its
  generated pydantic models, ``docstatus_simulator_models.<name>``);
- ``SCRIPTS``: its ready-made scripts, name -> ``Script`` (``docstatus.simulator._scripts``
  helps write them), with at least ``happy_path``, ``failure`` and ``unknown_state``.

The built-in providers are the library's (``BUILTIN``, read in one place below); each module
loads on first use (a ``SimulatorApp`` loads them all when it is made). ``register(module)``
adds a provider defined outside the package (for example the one a test builds from a small
spec): the simulator then serves it like the others (``/<name>/...``, its token in
``Simulator.tokens`` and ``env()``, its scripts in ``SCRIPTS``, jobs, faults, the request
log). A built-in name cannot be registered.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Protocol, TypeVar

import attrs

# The one place the simulator reads the library's provider names: the library's registry.
from docstatus._registry import BUILTIN
from docstatus.simulator._jobs import Script
from docstatus.simulator._render import ProviderSim
from docstatus.simulator._scripts import REQUIRED

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "BUILTIN",
    "DEFAULT_TOKENS",
    "PROVIDER_SIMS",
    "SCRIPTS",
    "Simulated",
    "SimulatedProvider",
    "expected",
    "known",
    "load",
    "load_all",
    "names",
    "register",
    "script",
    "served_by",
    "unregister",
]

#: What a registered provider's name may be: its URL prefix and the ``<P>`` of ``DOCSTATUS_<P>_...``.
NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")


class SimulatedProvider(Protocol):
    """What a provider module defines (see the module docstring)."""

    SIM: ProviderSim
    SCRIPTS: Mapping[str, Script]


@attrs.frozen(kw_only=True)
class Simulated:
    """A provider the simulator serves, as its module defined it (checked once).

    Attributes:
        sim: Its ``ProviderSim`` (the module's ``SIM``).
        scripts: Its ready-made scripts (the module's ``SCRIPTS``, copied read-only).
        module: The module.
    """

    sim: ProviderSim
    scripts: Mapping[str, Script]
    module: object


_lock = threading.RLock()
_builtin: dict[str, Simulated] = {}
_registered: dict[str, Simulated] = {}
#: ``prefix -> ((leading segments, provider), ...)`` of the providers also served under another's
#: prefix (``ProviderSim.also_under``), built on the first request; ``None`` after a change.
_mounts: dict[str, tuple[tuple[tuple[str, ...], ProviderSim], ...]] | None = None


def load(name: str) -> Simulated | None:
    """A simulated provider (its module loaded on first use), or ``None`` for an unknown name."""
    found = _registered.get(name) or _builtin.get(name)
    if found is None and name in BUILTIN:
        found = _checked(importlib.import_module(f"{__name__}.{name}"), name)
        with _lock:
            found = _builtin.setdefault(name, found)
    return found


def load_all() -> None:
    """Load every provider's module now (a server does, so its first request does not)."""
    _mount()


def names() -> tuple[str, ...]:
    """Every provider the simulator serves: the built-in ones, then the registered ones."""
    return (*BUILTIN, *_registered)


def known(name: str) -> bool:
    """True when the simulator serves ``name``."""
    return name in BUILTIN or name in _registered


def expected() -> str:
    """The names, for a message: ``"a, b, c"``."""
    return ", ".join(names())


def served_by(prefix: str, rest: Sequence[str]) -> ProviderSim | None:
    """The provider a request to ``/<prefix>/<rest...>`` is for: one served under another's
    prefix (``ProviderSim.also_under``) when ``rest`` starts with its segments, else the
    provider named ``prefix``; ``None`` when there is none."""
    mounts = _mounts if _mounts is not None else _mount()
    for leading, sim in mounts.get(prefix, ()):
        if tuple(rest[: len(leading)]) == leading:
            return sim
    return _sim(prefix)


def _mount() -> dict[str, tuple[tuple[tuple[str, ...], ProviderSim], ...]]:
    global _mounts  # noqa: PLW0603  # the registry's one cache, dropped on every change
    with _lock:
        if _mounts is None:
            mounts: dict[str, list[tuple[tuple[str, ...], ProviderSim]]] = {}
            for sim in filter(None, map(_sim, names())):
                for under, leading in sim.also_under:
                    mounts.setdefault(under, []).append((leading, sim))
            _mounts = {prefix: tuple(found) for prefix, found in mounts.items()}
        return _mounts


def register(module: object) -> None:
    """Serve the provider ``module`` defines (``SIM`` and ``SCRIPTS``, see the module docstring).

    Registering the same module again does nothing. ``ValueError`` for a built-in name, a name
    another module is registered under, a name that cannot be a URL prefix (lower-case
    letters, digits, ``_``), or scripts without ``happy_path``, ``failure`` and
    ``unknown_state``; ``TypeError`` when ``SIM`` is not a ``ProviderSim`` or ``SCRIPTS`` not
    a mapping of ``Script`` values.
    """
    sim = getattr(module, "SIM", None)
    if not isinstance(sim, ProviderSim):
        raise TypeError(f"a simulated provider module defines SIM, a ProviderSim; {module!r} does not")
    name = getattr(sim, "name", None)
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"a simulated provider's name is lower-case letters, digits and '_', not {name!r}")
    if name in BUILTIN:
        raise ValueError(f"{name!r} is a built-in provider of the simulator; register another name")
    checked = _checked(module, name)
    global _mounts  # noqa: PLW0603  # the registry's one cache, dropped on every change
    with _lock:
        if _registered.setdefault(name, checked).module is not module:
            raise ValueError(f"another module is registered as the simulated provider {name!r}; unregister it first")
        _mounts = None


def unregister(name: str) -> None:
    """Stop serving a registered provider (its jobs stay until ``reset()``); built-in ones stay."""
    if name in BUILTIN:
        raise ValueError(f"{name!r} is a built-in provider of the simulator; it cannot be unregistered")
    global _mounts  # noqa: PLW0603  # the registry's one cache, dropped on every change
    with _lock:
        _registered.pop(name, None)
        _mounts = None


def _checked(module: object, name: str) -> Simulated:
    sim = getattr(module, "SIM", None)
    if not isinstance(sim, ProviderSim) or sim.name != name:
        raise ValueError(f"the simulated provider module for {name!r} does not define SIM serving {name!r}")
    scripts = getattr(module, "SCRIPTS", None)
    if not isinstance(scripts, Mapping) or not all(isinstance(s, Script) for s in scripts.values()):
        raise TypeError(f"the simulated provider {name!r} defines SCRIPTS, a mapping of name -> Script")
    missing = [required for required in REQUIRED if required not in scripts]
    if missing:
        raise ValueError(f"the simulated provider {name!r} has no script {', '.join(missing)}; it needs each")
    return Simulated(sim=sim, scripts=MappingProxyType(dict(scripts)), module=module)


def _sim(name: str) -> ProviderSim | None:
    found = load(name)
    return None if found is None else found.sim


def _scripts(name: str) -> Mapping[str, Script] | None:
    found = load(name)
    return None if found is None else found.scripts


def _token(name: str) -> str | None:
    found = load(name)
    return None if found is None else found.sim.token


_V = TypeVar("_V")


class _Live(Mapping[str, _V]):
    """A read-only view over the providers served now: ``name -> get(name)``, leaving out the
    names ``get`` has nothing for (``None``)."""

    def __init__(self, get: Callable[[str], _V | None], what: str) -> None:
        self._get = get
        self._what = what

    def __getitem__(self, name: str) -> _V:
        value = self._get(name) if isinstance(name, str) else None
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name in names() if self._get(name) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"<{self._what}: {dict(self)!r}>"


#: The simulated providers, by name (``ProviderSim`` instances).
PROVIDER_SIMS: Final[Mapping[str, ProviderSim]] = _Live(_sim, "simulated providers")
#: Ready-made scripts: provider -> name -> ``Script``.
SCRIPTS: Final[Mapping[str, Mapping[str, Script]]] = _Live(_scripts, "ready-made scripts")
#: The fake credential each provider accepts, unless configured otherwise (none for a provider
#: without auth).
DEFAULT_TOKENS: Final[Mapping[str, str]] = _Live(_token, "default tokens")


def script(provider: str, name: str = "happy_path", *, step: float | None = None) -> Script:
    """A ready-made script; ``step`` sets how many seconds each phase lasts."""
    scripts = SCRIPTS.get(provider)
    if scripts is None:
        raise ValueError(f"unknown provider {provider!r}; expected one of {expected()}")
    if name not in scripts:
        raise ValueError(f"{provider} has no script {name!r}; ready-made: {', '.join(scripts)}")
    found = scripts[name]
    return found if step is None else found.with_step(step)
