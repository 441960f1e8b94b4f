"""Job references: one plain, storable string per job, ``<provider>:<id>``.

==============  =============================================
provider        form
==============  =============================================
aitronos        ``aitronos:<org_id>/<store_id>/<file_id>``
artos           ``artos:<document_id>``
markdown2pdf    ``markdown2pdf:<job_id>``
neurolinker     ``neurolinker:<document_id>``
sarvam          ``sarvam:<job_id>``
sarvam_docai    ``sarvam_docai:<job_id>``
==============  =============================================

Sarvam job ids are UUIDs in practice ("Job identifier (UUID)"), and a UUID in any spelling
``uuid.UUID`` reads (upper case, no hyphens, braces, ``urn:uuid:``) is kept in its canonical
lower-case hyphenated form, so the same job always has the same reference. Any other id is
kept as given: Sarvam's SDK types the id as a plain string and the spec no longer says
``format: uuid`` (specs/sarvam/patches.yaml), so the server, not docstatus, decides.
"""

from __future__ import annotations

import contextlib
import uuid
from types import MappingProxyType
from typing import Final

import attrs

from ._exceptions import InvalidJobRef
from ._status import PROVIDERS, Provider

FORMS: Final = MappingProxyType(
    {
        "aitronos": "aitronos:<org_id>/<store_id>/<file_id>",
        "artos": "artos:<document_id>",
        "markdown2pdf": "markdown2pdf:<job_id>",
        "neurolinker": "neurolinker:<document_id>",
        "sarvam": "sarvam:<job_id>",
        "sarvam_docai": "sarvam_docai:<job_id>",
    }
)


#: Each provider name as a key of itself: a ``JobRef`` holds this one string, not the copy that
#: splitting its reference made (tens of bytes per job when thousands are watched).
_NAMES: Final = {name: name for name in FORMS}

#: The longest reference accepted, in characters: far above any provider's ids, far below what
#: a URL may carry (httpx refuses URLs over 64 KiB).
MAX_REF_LENGTH: Final = 1024


def _bad_chars(text: str) -> bool:
    """True when ``text`` holds whitespace or a character that does not print."""
    if text.isascii():  # the common case, at C speed: of ASCII whitespace only " " prints
        return " " in text or not text.isprintable()
    return any(c.isspace() or not c.isprintable() for c in text)


@attrs.frozen
class JobRef:
    """A parsed job reference. ``str(ref)`` gives the string form back.

    Attributes:
        provider: The provider name.
        job_id: The id as the provider's status endpoint takes it (for Aitronos
            ``org_id/store_id/file_id``).
    """

    provider: Provider
    job_id: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.job_id}"

    @property
    def parts(self) -> tuple[str, ...]:
        """The id's path parts: three for Aitronos (org, store, file), else one."""
        return tuple(self.job_id.split("/")) if self.provider == "aitronos" else (self.job_id,)


def parse_ref(text: str) -> JobRef:
    """Parse ``<provider>:<id>``; raise ``InvalidJobRef`` naming the expected form."""
    if not isinstance(text, str):
        raise InvalidJobRef(f"a job reference is a string like 'artos:<document_id>', not {type(text).__name__}")
    if len(text) > MAX_REF_LENGTH:
        raise InvalidJobRef(
            f"job reference {text[:40]!r}... is {len(text)} characters long; references have at most "
            f"{MAX_REF_LENGTH} (e.g. 'artos:<document_id>')"
        )
    given, sep, job_id = text.partition(":")
    provider = _NAMES.get(given) if sep else None
    if provider is None:
        known = ", ".join(FORMS.values())
        raise InvalidJobRef(f"job reference {text!r} does not start with a known provider; expected one of: {known}")
    form = FORMS[provider]
    if not job_id or _bad_chars(job_id):
        raise InvalidJobRef(
            f"job reference {text!r} has an empty id or one with spaces/control characters; expected {form}"
        )
    if provider == "aitronos":
        parts = job_id.split("/")
        if len(parts) != 3 or not all(parts):
            raise InvalidJobRef(f"job reference {text!r} needs three non-empty parts; expected {form}")
    elif "/" in job_id:
        raise InvalidJobRef(f"job reference {text!r} has a '/' in its id; expected {form}")
    if provider == "sarvam":
        with contextlib.suppress(ValueError):  # not a UUID: kept as given
            job_id = str(uuid.UUID(job_id))
    return JobRef(provider, job_id)  # type: ignore[arg-type]  # checked against FORMS above


def format_ref(provider: str, *parts: str) -> str:
    """Build a reference string: ``format_ref("aitronos", org, store, file)``,
    ``format_ref("artos", document_id)``. The result parses back with ``parse_ref``."""
    if provider not in PROVIDERS:
        raise InvalidJobRef(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    wanted = 3 if provider == "aitronos" else 1
    if len(parts) != wanted or any(not isinstance(p, str) or "/" in p for p in parts):
        need = "three non-empty parts" if wanted == 3 else "one part"
        raise InvalidJobRef(
            f"format_ref({provider!r}, ...) needs {need}, none holding '/' (got {len(parts)}); "
            f"expected {FORMS[provider]}"
        )
    return str(parse_ref(f"{provider}:{'/'.join(parts)}"))
