"""Ready-made scripts, per provider.

==================  =========================================================================
name                what the job does
==================  =========================================================================
happy_path          queued, runs with progress, succeeds with outputs (every provider)
failure             queued, runs, fails with the provider's error fields (every provider)
unknown_state       runs, then sits in a state the provider's spec does not list (every
                    provider; served off-spec on purpose)
partial_success     Sarvam (both APIs): 3 of 4 pages succeed (``PartiallyCompleted``,
                    ``partially_completed``)
stuck_accepted      Sarvam: ``Accepted`` forever (the job waits for its file upload);
                    Sarvam Document AI: a Split job ``accepted`` forever
rejected            Sarvam Document AI: ``pending``, then ``rejected``
==================  =========================================================================

Each phase lasts ``DEFAULT_STEP`` seconds unless ``script(..., step=)`` says otherwise.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from docstatus._status import PROVIDERS

from ._jobs import PageCounts, PageFailure, Phase, Script

if TYPE_CHECKING:
    from collections.abc import Mapping

_IMAGES: Final = ("page-1.png", "page-2.png", "page-3.png")


def _artos() -> dict[str, Script]:
    return {
        "happy_path": Script(
            name="happy_path",
            description="Pending, Ingesting, Generating, Ready",
            phases=(
                Phase(state="Pending"),
                Phase(state="Ingesting"),
                Phase(state="Generating"),
                Phase(state="Ready"),
            ),
        ),
        "failure": Script(
            name="failure",
            description="Pending, Ingesting, Failed with an error",
            phases=(
                Phase(state="Pending"),
                Phase(state="Ingesting"),
                Phase(state="Failed", error="Template rendering failed: section 'Summary' has no source"),
            ),
        ),
        "unknown_state": Script(
            name="unknown_state",
            description="Pending, Ingesting, then 'Archived' (not in the spec)",
            phases=(Phase(state="Pending"), Phase(state="Ingesting"), Phase(state="Archived", off_spec=True)),
        ),
    }


def _sarvam() -> dict[str, Script]:
    def pages(processed: int, succeeded: int, failed: int = 0, errors: tuple[PageFailure, ...] = ()) -> PageCounts:
        return PageCounts(total=4, processed=processed, succeeded=succeeded, failed=failed, errors=errors)

    bad_page = PageFailure(page=3, code="PAGE_PROCESSING_FAILED", message="Page 3 could not be read")
    all_bad = tuple(
        PageFailure(page=n, code="PAGE_PROCESSING_FAILED", message=f"Page {n} could not be read") for n in range(1, 5)
    )
    return {
        "happy_path": Script(
            name="happy_path",
            description="Pending, Running (2 then 3 of 4 pages), Completed with an output",
            phases=(
                Phase(state="Pending", pages=pages(0, 0)),
                Phase(state="Running", pages=pages(2, 2)),
                Phase(state="Running", pages=pages(3, 3)),
                Phase(state="Completed", pages=pages(4, 4), outputs=("output.zip",)),
            ),
        ),
        "failure": Script(
            name="failure",
            description="Pending, Running, Failed: every page failed",
            phases=(
                Phase(state="Pending", pages=pages(0, 0)),
                Phase(state="Running", pages=pages(2, 0, 2, all_bad[:2])),
                Phase(
                    state="Failed",
                    pages=pages(4, 0, 4, all_bad),
                    error="All pages failed to process",
                    error_code="ALL_PAGES_FAILED",
                ),
            ),
        ),
        "partial_success": Script(
            name="partial_success",
            description="Pending, Running, PartiallyCompleted: page 3 failed, 3 of 4 succeeded",
            phases=(
                Phase(state="Pending", pages=pages(0, 0)),
                Phase(state="Running", pages=pages(2, 2)),
                Phase(
                    state="PartiallyCompleted",
                    pages=pages(4, 3, 1, (bad_page,)),
                    error="1 of 4 pages failed",
                    error_code="PARTIAL_FAILURE",
                    outputs=("output.zip",),
                ),
            ),
        ),
        "stuck_accepted": Script(
            name="stuck_accepted",
            description="Accepted forever: the job waits for its file upload",
            phases=(Phase(state="Accepted"),),
        ),
        "unknown_state": Script(
            name="unknown_state",
            description="Pending, Running, then 'Paused' (not in the spec)",
            phases=(
                Phase(state="Pending", pages=pages(0, 0)),
                Phase(state="Running", pages=pages(2, 2)),
                Phase(state="Paused", pages=pages(2, 2), off_spec=True),
            ),
        ),
    }


def _sarvam_docai() -> dict[str, Script]:
    def pages(processed: int, succeeded: int, failed: int = 0) -> PageCounts:
        return PageCounts(total=4, processed=processed, succeeded=succeeded, failed=failed)

    return {
        "happy_path": Script(
            name="happy_path",
            description="pending, running (2 then 3 of 4 pages), completed",
            phases=(
                Phase(state="pending", pages=pages(0, 0)),
                Phase(state="running", pages=pages(2, 2)),
                Phase(state="running", pages=pages(3, 3)),
                Phase(state="completed", pages=pages(4, 4)),
            ),
        ),
        "failure": Script(
            name="failure",
            description="pending, running, failed: every page failed",
            phases=(
                Phase(state="pending", pages=pages(0, 0)),
                Phase(state="running", pages=pages(2, 0, 2)),
                Phase(state="failed", pages=pages(4, 0, 4)),
            ),
        ),
        "partial_success": Script(
            name="partial_success",
            description="pending, running, partially_completed: 3 of 4 pages succeeded",
            phases=(
                Phase(state="pending", pages=pages(0, 0)),
                Phase(state="running", pages=pages(2, 2)),
                Phase(state="partially_completed", pages=pages(4, 3, 1)),
            ),
        ),
        "rejected": Script(
            name="rejected",
            description="pending, then rejected before processing",
            phases=(Phase(state="pending", pages=pages(0, 0)), Phase(state="rejected", pages=pages(0, 0))),
        ),
        "stuck_accepted": Script(
            name="stuck_accepted",
            description="a Split job: accepted forever (type, phase and progress as the guide says)",
            phases=(Phase(state="accepted", step="splitting", progress=0.0, pages=PageCounts(total=4)),),
        ),
        "unknown_state": Script(
            name="unknown_state",
            description="pending, running, then 'paused' (not in the spec)",
            phases=(
                Phase(state="pending", pages=pages(0, 0)),
                Phase(state="running", pages=pages(2, 2)),
                Phase(state="paused", pages=pages(2, 2), off_spec=True),
            ),
        ),
    }


def _neurolinker() -> dict[str, Script]:
    eight = PageCounts(total=8)
    return {
        "happy_path": Script(
            name="happy_path",
            description="pending, processing, completed with results",
            phases=(
                Phase(state="pending", pages=eight),
                Phase(state="processing", pages=eight),
                Phase(state="completed", pages=eight, outputs=_IMAGES),
            ),
        ),
        "failure": Script(
            name="failure",
            description="pending, processing, failed (the body has no error field)",
            phases=(
                Phase(state="pending", pages=eight),
                Phase(state="processing", pages=eight),
                Phase(state="failed", pages=eight),
            ),
        ),
        "unknown_state": Script(
            name="unknown_state",
            description="pending, processing, then 'cancelled' (not in the spec)",
            phases=(
                Phase(state="pending", pages=eight),
                Phase(state="processing", pages=eight),
                Phase(state="cancelled", pages=eight, off_spec=True),
            ),
        ),
    }


def _aitronos() -> dict[str, Script]:
    return {
        "happy_path": Script(
            name="happy_path",
            description="pending, queued, processing (chunking 30 %, embedding 60 %), completed",
            phases=(
                Phase(state="pending", progress=0.0),
                Phase(state="queued", progress=0.0),
                Phase(state="processing", progress=0.3, step="chunking"),
                Phase(state="processing", progress=0.6, step="embedding"),
                Phase(state="completed", progress=1.0),
            ),
        ),
        "failure": Script(
            name="failure",
            description="pending, processing (parsing), failed with an error message",
            phases=(
                Phase(state="pending", progress=0.0),
                Phase(state="processing", progress=0.2, step="parsing"),
                Phase(state="failed", progress=0.2, error="Could not extract text: the file is encrypted"),
            ),
        ),
        "unknown_state": Script(
            name="unknown_state",
            description="pending, processing, then 'archived' (not in the spec)",
            phases=(
                Phase(state="pending", progress=0.0),
                Phase(state="processing", progress=0.5, step="embedding"),
                Phase(state="archived", off_spec=True),
            ),
        ),
    }


def _markdown2pdf() -> dict[str, Script]:
    return {
        "happy_path": Script(
            name="happy_path",
            description="Not Started, Processing (50 %), Done with the PDF's path",
            phases=(
                Phase(state="Not Started", progress=0.0),
                Phase(state="Processing", progress=0.5, step="Rendering PDF"),
                Phase(state="Done", progress=1.0, outputs=("document.pdf",)),
            ),
        ),
        "failure": Script(
            name="failure",
            description="Not Started, Processing, Error (status_meta says why)",
            phases=(
                Phase(state="Not Started", progress=0.0),
                Phase(state="Processing", progress=0.4, step="Rendering PDF"),
                Phase(state="Error", progress=0.4, error="LaTeX compilation failed: undefined control sequence"),
            ),
        ),
        "unknown_state": Script(
            name="unknown_state",
            description="Not Started, Processing, then 'Cancelled' (not in the spec)",
            phases=(
                Phase(state="Not Started", progress=0.0),
                Phase(state="Processing", progress=0.5),
                Phase(state="Cancelled", off_spec=True),
            ),
        ),
    }


#: Ready-made scripts: provider -> name -> ``Script``.
SCRIPTS: Final[Mapping[str, Mapping[str, Script]]] = MappingProxyType(
    {
        name: scripts
        for name, scripts in {
            "aitronos": MappingProxyType(_aitronos()),
            "artos": MappingProxyType(_artos()),
            "markdown2pdf": MappingProxyType(_markdown2pdf()),
            "neurolinker": MappingProxyType(_neurolinker()),
            "sarvam": MappingProxyType(_sarvam()),
            "sarvam_docai": MappingProxyType(_sarvam_docai()),
        }.items()
        if name in PROVIDERS
    }
)
assert tuple(SCRIPTS) == PROVIDERS


def script(provider: str, name: str = "happy_path", *, step: float | None = None) -> Script:
    """A ready-made script; ``step`` sets how many seconds each phase lasts."""
    if provider not in SCRIPTS:
        raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    scripts = SCRIPTS[provider]
    if name not in scripts:
        raise ValueError(f"{provider} has no script {name!r}; ready-made: {', '.join(scripts)}")
    found = scripts[name]
    return found if step is None else found.with_step(step)
