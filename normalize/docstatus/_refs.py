"""Job references: one plain, storable string per job, ``<provider>:<id>``.

Each provider module says its form (``FORM``, e.g. ``"<provider>:<document_id>"``; ``FORMS`` maps
every provider to it), how many ``/``-separated non-empty parts its ids have (``ID_PARTS``: an id
of one part holds no ``/``) and the stored form of an id (``canonical_id``: e.g. a UUID in its
canonical spelling, so the same job always has the same reference). The README lists the forms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import attrs

from ._exceptions import InvalidJobRef
from ._registry import View, _loaded, known, load, names

if TYPE_CHECKING:
    from ._status import Provider

#: Every provider's reference form, by provider (read-only; read from each provider module).
FORMS: Final = View("FORM")

#: The longest reference accepted, in characters: far above any provider's ids, far below what
#: a URL may carry (httpx refuses URLs over 64 KiB).
MAX_REF_LENGTH: Final = 1024

#: How a count of id parts is said in messages.
_PARTS: Final = {1: "one part", 2: "two non-empty parts", 3: "three non-empty parts", 4: "four non-empty parts"}


def _bad_chars(text: str) -> bool:
    """True when ``text`` holds whitespace or a character that does not print."""
    if text.isascii():  # the common case, at C speed: of ASCII whitespace only " " prints
        return " " in text or not text.isprintable()
    return any(c.isspace() or not c.isprintable() for c in text)


def _parts(count: int) -> str:
    return _PARTS.get(count) or f"{count} non-empty parts"


@attrs.frozen
class JobRef:
    """A parsed job reference. ``str(ref)`` gives the string form back.

    Attributes:
        provider: The provider name.
        job_id: The id as the provider's status endpoint takes it (``a/b/c`` where its ids
            have parts).
    """

    provider: Provider
    job_id: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.job_id}"

    @property
    def parts(self) -> tuple[str, ...]:
        """The id's path parts: as many as the provider's ids have (``ID_PARTS``), else one."""
        module = load(self.provider)
        return tuple(self.job_id.split("/")) if module is not None and module.ID_PARTS > 1 else (self.job_id,)


def parse_ref(text: str) -> JobRef:
    """Parse ``<provider>:<id>``; raise ``InvalidJobRef`` naming the expected form."""
    if not isinstance(text, str):
        raise InvalidJobRef(f"a job reference is a string like '<provider>:<id>', not {type(text).__name__}")
    if len(text) > MAX_REF_LENGTH:
        raise InvalidJobRef(
            f"job reference {text[:40]!r}... is {len(text)} characters long; references have at most "
            f"{MAX_REF_LENGTH} (e.g. '<provider>:<id>')"
        )
    given, sep, job_id = text.partition(":")
    module = (_loaded.get(given) or load(given)) if sep else None
    if module is None:
        raise InvalidJobRef(
            f"job reference {text!r} does not start with a known provider; expected one of: {', '.join(FORMS.values())}"
        )
    form = module.FORM
    if not job_id or _bad_chars(job_id):
        raise InvalidJobRef(
            f"job reference {text!r} has an empty id or one with spaces/control characters; expected {form}"
        )
    wanted = module.ID_PARTS
    if wanted > 1:
        parts = job_id.split("/")
        if len(parts) != wanted or not all(parts):
            raise InvalidJobRef(f"job reference {text!r} needs {_parts(wanted)}; expected {form}")
    elif "/" in job_id:
        raise InvalidJobRef(f"job reference {text!r} has a '/' in its id; expected {form}")
    return JobRef(module.PROVIDER, module.canonical_id(job_id))  # type: ignore[arg-type]  # a known provider


def format_ref(provider: str, *parts: str) -> str:
    """Build a reference string from a provider and its id's parts (one part for most; as many
    as the provider's ids have: its module's ``ID_PARTS``). The result parses back with
    ``parse_ref``."""
    module = load(provider) if known(provider) else None
    if module is None:
        raise InvalidJobRef(f"unknown provider {provider!r}; expected one of {', '.join(names())}")
    wanted = module.ID_PARTS
    if len(parts) != wanted or any(not isinstance(p, str) or "/" in p for p in parts):
        raise InvalidJobRef(
            f"format_ref({provider!r}, ...) needs {_parts(wanted)}, none holding '/' (got {len(parts)}); "
            f"expected {module.FORM}"
        )
    return str(parse_ref(f"{provider}:{'/'.join(parts)}"))
