"""Where each provider is and how to authenticate: explicit in code, or from the environment.

Environment variables, ``PROVIDER`` in upper case (``ARTOS``, ``SARVAM``, ...):

- ``DOCSTATUS_<PROVIDER>_BASE_URL``: the API's base URL (default: the provider's documented server);
- ``DOCSTATUS_<PROVIDER>_TOKEN``: the credential (Sarvam: the ``api-subscription-key``;
  Artos, Neurolinker, Aitronos: the bearer token; markdown2pdf needs none).
"""

from __future__ import annotations

import os
from types import MappingProxyType
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

import attrs

from ._exceptions import ConfigurationError
from ._status import PROVIDERS, Provider

if TYPE_CHECKING:
    from collections.abc import Mapping

#: The servers each provider documents.
DEFAULT_BASE_URLS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "aitronos": "https://api.aitronos.com",
        "artos": "https://api.artosai.com",
        "markdown2pdf": "https://api.markdown2pdf.ai",
        "neurolinker": "https://neurolinker.api.ainexxo.com",
        "sarvam": "https://api.sarvam.ai",
    }
)

#: Providers whose status endpoint needs no credential.
NO_AUTH: Final = frozenset({"markdown2pdf"})

#: Seconds one status request may take, unless configured otherwise.
DEFAULT_TIMEOUT: Final = 30.0


def _check_url(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"base_url {value!r} is not an http(s) URL; set e.g. 'https://api.example.com'")


def _check_timeout(_instance: object, _attribute: attrs.Attribute[float], value: float) -> None:
    if not (value > 0 and value != float("inf")):
        raise ConfigurationError(f"timeout must be a finite number of seconds > 0, not {value!r}")


@attrs.frozen(kw_only=True)
class ProviderConfig:
    """How to reach one provider.

    Attributes:
        provider: The provider name.
        base_url: The API's base URL.
        token: The credential, or ``None``. Never shown in ``repr``.
        timeout: Seconds one request may take (finite).
    """

    provider: Provider
    base_url: str = attrs.field(validator=_check_url)
    token: str | None = attrs.field(default=None, repr=False)
    timeout: float = attrs.field(default=DEFAULT_TIMEOUT, validator=_check_timeout)

    @classmethod
    def from_env(cls, provider: str, environ: Mapping[str, str] | None = None) -> ProviderConfig:
        """Read ``DOCSTATUS_<PROVIDER>_BASE_URL`` and ``DOCSTATUS_<PROVIDER>_TOKEN``."""
        if provider not in PROVIDERS:
            raise ConfigurationError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
        env = os.environ if environ is None else environ
        prefix = f"DOCSTATUS_{provider.upper()}_"
        base_url = env.get(prefix + "BASE_URL") or DEFAULT_BASE_URLS[provider]
        token = env.get(prefix + "TOKEN") or None
        return cls(provider=provider, base_url=base_url.rstrip("/"), token=token)

    def require_token(self) -> str:
        """The token; ``ConfigurationError`` naming the variable to set when there is none."""
        if self.token is None:
            raise ConfigurationError(
                f"no credential for {self.provider}: pass ProviderConfig(token=...) or set "
                f"DOCSTATUS_{self.provider.upper()}_TOKEN"
            )
        return self.token
