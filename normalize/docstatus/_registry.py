"""The provider registry: the providers docstatus knows, each one a module (``docstatus._providers.<name>``)
holding everything about it.

A leaf: it imports nothing from docstatus (``_status``, ``_refs`` and ``_config`` import it), and
no provider module until one is asked for, so ``import docstatus`` loads none of them.

- ``BUILTIN``: the built-in providers' names, sorted (``Provider`` is their ``Literal``): the
  only place they are listed. Each is the module ``docstatus._providers.<name>``, imported on
  first use (it imports its generated client).
- ``known(name)``, ``names()``: whether a name is a provider, and every provider's name
  (built-ins, then registered ones, sorted).
- ``load(name)``: the module of a provider (``None`` for a name that is not one); ``mapper(name)``
  for a name already checked (``LookupError`` naming the known ones otherwise).
- ``imported(path)``: ``importlib.import_module`` for the generated modules a poll uses.
- ``register(module)``: a package-internal extension point that adds a provider defined outside
  the package. From then on ``known``/``names``/``load`` answer for it, so ``parse_ref``,
  ``ProviderConfig``, ``parse``, ``get_status``, waiting, the tracker and the CLI accept it.
  A built-in name cannot be registered again; ``unregister(name)`` takes a registered one away.

What each provider module defines is ``ProviderModule``:

- its reference: ``FORM`` (e.g. ``"<name>:<document_id>"``), ``ID_PARTS`` (the ``/``-separated
  non-empty parts of an id), ``canonical_id(job_id)`` (the stored form of an id);
- how to reach it: ``DEFAULT_BASE_URL``; ``OPTIONS`` (option name -> allowed values, the first
  the default; an ``auth`` option picks one of the spec's security schemes by kind); ``CLIENT``
  (the generated package); ``operation(ref, options)`` -> ``(module path, keyword arguments)`` of
  the generated status operation to call. Whether a credential is needed, and how it is sent,
  is the generated client's ``AUTH_SCHEMES`` (from its spec), nothing else;
- how waiting treats it: ``ACTION_GRACE``, ``NOT_FOUND_GRACE`` (seconds from the start of a
  wait during which ``action_required`` is polled through, and a 404 is retried; 0 for none);
- what its status says: ``PROVIDER``, ``MODEL``, ``MODELS`` (every generated model a 200 body may
  parse into), ``ID_FIELD`` (the body field holding the job id, ``None`` when the body has none),
  ``STATES`` (documented value -> ``State``), ``from_dict(data)`` (a decoded 200 body -> one of
  ``MODELS``), ``normalize(model, *, job_id=None)`` and ``fast(data, job_id, model)`` (the same
  mapping read from the decoded JSON directly, ``parse``'s fast path, or ``None`` where it is not
  sure the model path would map the body the same way);
- ``DEMO``: what ``docstatus demo`` and ``docstatus simulate`` show of it (a ``_kit.Demo``), or ``None``;
- optionally ``METADATA`` and ``resolve_output(content)``: the name of an output whose URI is not
  the file but a URL whose answer says where the file is, and how that answer is read
  (``docstatus.resolve_outputs`` calls it).

What those modules share is in ``_kit`` (``Demo``, ``as_given``, ``status_operation``), which
``import docstatus`` does not load. ``View(name)`` is a read-only mapping of every provider to
one of its module's names (``_refs.FORMS``, ``docstatus.DEFAULT_BASE_URLS``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, cast, get_args

if TYPE_CHECKING:
    from collections.abc import Callable

Provider = Literal["aitronos", "artos", "markdown2pdf", "neurolinker", "sarvam", "sarvam_docai"]

#: The built-in providers, sorted.
BUILTIN: Final[tuple[Provider, ...]] = get_args(Provider)

_BUILTIN: Final = frozenset(BUILTIN)


class ProviderModule(Protocol):
    """What every provider module defines (see the module docstring)."""

    PROVIDER: str
    FORM: str
    ID_PARTS: int
    DEFAULT_BASE_URL: str
    OPTIONS: Mapping[str, tuple[str, ...]]
    CLIENT: str
    ACTION_GRACE: float
    NOT_FOUND_GRACE: float
    DEMO: Any  # a Demo (``_kit``), or None
    MODEL: Any
    MODELS: tuple[type, ...]
    ID_FIELD: str | None
    STATES: Mapping[str, Any]
    canonical_id: Callable[[str], str]
    operation: Callable[[Any, Mapping[str, str]], tuple[str, dict[str, Any]]]
    from_dict: Callable[[Mapping[str, Any]], Any]
    normalize: Callable[..., Any]
    fast: Callable[[Mapping[str, Any], str | None, Any], Any]


#: What a module must define to be registered (``DEMO`` may be ``None``).
REQUIRED: Final = tuple(name for name in ProviderModule.__annotations__)

#: Every provider module in use, by name: the built-ins imported so far and the registered ones.
_loaded: dict[str, ProviderModule] = {}
#: The providers registered from outside the package, by name.
_registered: dict[str, ProviderModule] = {}


def known(name: object) -> bool:
    """True when ``name`` is a provider (built-in or registered); never imports a module."""
    return isinstance(name, str) and (name in _BUILTIN or name in _registered)


def names() -> tuple[str, ...]:
    """Every provider's name, sorted: the built-ins and the registered ones."""
    return tuple(sorted({*BUILTIN, *_registered})) if _registered else BUILTIN


def load(name: str) -> ProviderModule | None:
    """The module of provider ``name`` (a built-in one imported on first use), or ``None`` when
    ``name`` is not a provider."""
    module = _loaded.get(name) if isinstance(name, str) else None
    if module is None and name in _BUILTIN:
        module = _loaded[name] = cast("ProviderModule", importlib.import_module(f"docstatus._providers.{name}"))
    return module


def mapper(name: str) -> ProviderModule:
    """The module of provider ``name``, a name the caller has checked (``known``);
    ``LookupError`` naming the providers otherwise."""
    module = load(name)
    if module is None:
        raise LookupError(f"unknown provider {name!r}; expected one of {', '.join(names())}")
    return module


def imported(path: str) -> Any:
    """``importlib.import_module(path)``, taking a module already imported straight from
    ``sys.modules`` (every poll asks for its generated operation and client module; the import
    machinery costs about 0.5 us a call even then). A module removed from ``sys.modules`` is
    imported again, as ``import_module`` would."""
    return sys.modules.get(path) or importlib.import_module(path)


def register(module: Any) -> None:
    """Add the provider ``module`` defines (its ``PROVIDER`` is the name); see the module docstring.

    Raises:
        ValueError: the name is a built-in provider's, or not lower-case ASCII letters, digits
            and ``_`` starting with a letter (it is part of references and variable names).
        TypeError: the module lacks a name ``ProviderModule`` lists.
    """
    name = getattr(module, "PROVIDER", None)
    if not isinstance(name, str) or not (name.isascii() and name.isidentifier() and name.islower()) or name[0] == "_":
        raise ValueError(f"a provider's name is lower-case ASCII letters, digits and '_', not {name!r}")
    if name in _BUILTIN:
        raise ValueError(f"{name!r} is a built-in provider; it cannot be registered again")
    missing = [attribute for attribute in REQUIRED if not hasattr(module, attribute)]
    if missing:
        raise TypeError(f"provider module {name!r} does not define {', '.join(missing)}")
    _registered[name] = _loaded[name] = cast("ProviderModule", module)


def unregister(name: str) -> None:
    """Take a registered provider away (a built-in one stays)."""
    if name in _registered:
        del _registered[name]
        _loaded.pop(name, None)


class View(Mapping[str, Any]):
    """A read-only mapping of every provider's name to one name its module defines (e.g.
    ``View("FORM")``), read from the registry on each access: a module is imported only when
    its value is read."""

    __slots__ = ("_attribute",)

    def __init__(self, attribute: str) -> None:
        self._attribute = attribute

    def __getitem__(self, name: str) -> Any:
        module = load(name)
        if module is None:
            raise KeyError(name)
        return getattr(module, self._attribute)

    def __contains__(self, name: object) -> bool:
        return known(name)

    def __iter__(self) -> Iterator[str]:
        return iter(names())

    def __len__(self) -> int:
        return len(names())

    def __repr__(self) -> str:
        return repr(dict(self))
