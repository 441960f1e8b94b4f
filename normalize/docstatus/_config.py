"""Where each provider is and how to authenticate: explicit in code, or from the environment.

Environment variables, ``PROVIDER`` being the provider's name in upper case (a ``_`` in it kept):

- ``DOCSTATUS_<PROVIDER>_BASE_URL``: the API's base URL (default: the server the provider
  documents, its module's ``DEFAULT_BASE_URL``);
- ``DOCSTATUS_<PROVIDER>_TOKEN``: the credential, sent as the provider's spec declares it (the
  generated client's ``AUTH_SCHEMES``: a bearer token, an API key header); a provider whose spec
  declares no authentication needs none;
- ``DOCSTATUS_<PROVIDER>_<OPTION>``: each option the provider's module lists in ``OPTIONS``, e.g.
  ``DOCSTATUS_<PROVIDER>_AUTH=api_key`` (an ``auth`` option picks one of the spec's schemes).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, cast
from urllib.parse import SplitResult, urlsplit

import attrs

from ._exceptions import ConfigurationError
from ._registry import View, imported, known, load, mapper, names

if TYPE_CHECKING:
    from ._status import Provider

#: The server each provider documents, by provider (read-only; read from each provider module).
DEFAULT_BASE_URLS: Final[Mapping[str, str]] = View("DEFAULT_BASE_URL")


def auth_schemes(provider: str) -> tuple[Any, ...]:
    """How ``provider`` takes a credential: the security schemes its spec declares (its generated
    client's ``AUTH_SCHEMES``, each with a ``kind``, ``header`` and ``prefix``), the first the
    default; ``()`` when it needs none. The one source of whether a token is needed."""
    schemes: tuple[Any, ...] = imported(f"{mapper(provider).CLIENT}.client").AUTH_SCHEMES
    return schemes


#: Seconds one status request may take, unless configured otherwise: connecting, sending, and
#: reading the headers and the whole body, together.
DEFAULT_TIMEOUT: Final = 30.0

#: Bytes a status response body may have (after decompression), unless configured otherwise.
#: The documented status bodies are a few kB; a job of thousands of pages stays far below.
DEFAULT_MAX_BODY: Final = 8 * 1024 * 1024


def _check_url(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise ConfigurationError(
            f"base_url must be a string like 'https://api.example.com', not {type(value).__name__}"
        )
    parts: SplitResult | None
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018  # raises ValueError for a port that is not a number in range
    except ValueError:  # e.g. an unclosed IPv6 bracket, a port out of range
        parts = host = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not host
        or len(value) > 2048
        or any(not (" " < c <= "~") for c in value)
    ):
        raise ConfigurationError(
            f"base_url {value[:100]!r} is not an http(s) URL of printable ASCII; set e.g. 'https://api.example.com'"
        )
    if parts.username is not None or parts.password is not None:
        # The URL appears in messages: a credential in it would leak. Say so without echoing it.
        raise ConfigurationError(
            f"base_url for {parts.scheme}://{host} carries a user name or password; "
            "pass the credential as ProviderConfig(token=...) or DOCSTATUS_<PROVIDER>_TOKEN"
        )


def _clean_token(value: object) -> str | None:
    """Surrounding whitespace stripped (a token read from a file keeps its newline); empty is none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"token must be a string or None, not {type(value).__name__}")
    return value.strip() or None


def _check_token(instance: ProviderConfig, _attribute: attrs.Attribute[str | None], value: str | None) -> None:
    # Never show the token itself: say what is wrong with it and where.
    if value is None:
        return
    for i, char in enumerate(value):
        if not (" " <= char <= "~"):
            kind = "a control character" if char.isascii() or not char.isprintable() else "a non-ASCII character"
            raise ConfigurationError(
                f"the {instance.provider} token has {kind} at position {i} (of {len(value)}); HTTP headers carry "
                f"printable ASCII only: check DOCSTATUS_{instance.provider.upper()}_TOKEN or ProviderConfig(token=...)"
            )


def _check_max_body(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"max_body must be a whole number of bytes >= 1, not {value!r}")


def _check_timeout(_instance: object, _attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0 < value < float("inf")):
        raise ConfigurationError(f"timeout must be a finite number of seconds > 0, not {value!r}")


def _to_options(value: object) -> tuple[tuple[str, str], ...]:
    """A mapping (or pairs) of option names to values, as sorted pairs (hashable, comparable)."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, tuple | list):
        pairs = list(value)
    else:
        raise ConfigurationError(f"options must be a mapping of names to values, not {type(value).__name__}")
    if not all(isinstance(pair, tuple | list) and len(pair) == 2 for pair in pairs):
        raise ConfigurationError("options must be a mapping of names to values, or (name, value) pairs")
    return tuple(sorted((pair[0], pair[1]) for pair in pairs))


def _check_options(
    instance: ProviderConfig,
    _attribute: attrs.Attribute[tuple[tuple[str, str], ...]],
    value: tuple[tuple[str, str], ...],
) -> None:
    if not value:
        return
    module = load(instance.provider)
    offered: Mapping[str, tuple[str, ...]] = {} if module is None else module.OPTIONS
    given = [name for name, _ in value]
    for name, choice in value:
        if name not in offered:
            allowed = ", ".join(offered) or "none"
            raise ConfigurationError(f"{instance.provider} has no option {name!r} (its options: {allowed})")
        if choice not in offered[name]:
            raise ConfigurationError(
                f"{instance.provider} option {name}={choice!r} is not one of {', '.join(map(repr, offered[name]))}"
            )
    if len(set(given)) != len(given):
        raise ConfigurationError(f"{instance.provider} options name one option twice: {given}")


@attrs.frozen(kw_only=True)
class ProviderConfig:
    """How to reach one provider.

    Attributes:
        provider: The provider name.
        base_url: The API's base URL.
        token: The credential, or ``None``. Never shown in ``repr``. Surrounding whitespace is
            stripped; control and non-ASCII characters are refused with ``ConfigurationError``
            (whose message does not contain the token).
        timeout: Seconds one request may take, whole: connecting, sending, the headers and the
            body together (finite).
        max_body: Bytes a response body may have after decompression; a larger one is a
            ``MalformedResponse`` naming this limit (default ``DEFAULT_MAX_BODY``, 8 MiB).
        options: Provider-specific choices, a mapping such as ``{"auth": "api_key"}``, kept as
            sorted ``(name, value)`` pairs; what each provider accepts is its module's
            ``OPTIONS`` (the first value of each is the default). An unknown name or value is a
            ``ConfigurationError``.
    """

    provider: Provider
    base_url: str = attrs.field(validator=_check_url)
    token: str | None = attrs.field(default=None, repr=False, converter=_clean_token, validator=_check_token)
    timeout: float = attrs.field(default=DEFAULT_TIMEOUT, validator=_check_timeout)
    max_body: int = attrs.field(default=DEFAULT_MAX_BODY, validator=_check_max_body)
    options: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_to_options, validator=_check_options)

    @classmethod
    def from_env(cls, provider: str, environ: Mapping[str, str] | None = None) -> ProviderConfig:
        """Read ``DOCSTATUS_<PROVIDER>_BASE_URL`` and ``DOCSTATUS_<PROVIDER>_TOKEN``."""
        module = load(provider) if known(provider) else None
        if module is None:
            raise ConfigurationError(f"unknown provider {provider!r}; expected one of {', '.join(names())}")
        env = os.environ if environ is None else environ
        prefix = f"DOCSTATUS_{provider.upper()}_"
        base_url = env.get(prefix + "BASE_URL") or module.DEFAULT_BASE_URL
        token = env.get(prefix + "TOKEN")
        options = {name: env[prefix + name.upper()] for name in module.OPTIONS if env.get(prefix + name.upper())}
        return cls(provider=cast("Provider", provider), base_url=base_url.rstrip("/"), token=token, options=options)

    def require_token(self) -> str:
        """The token; ``ConfigurationError`` naming the variable to set when there is none."""
        if self.token is None:
            raise ConfigurationError(
                f"no credential for {self.provider}: pass ProviderConfig(token=...) or set "
                f"DOCSTATUS_{self.provider.upper()}_TOKEN"
            )
        return self.token
