"""Scripted jobs: the clock, the phases of a job's timeline, and the job itself.

A ``Script`` is a sequence of ``Phase`` values, each a provider-native state (``"Running"``,
``"processing"``, ...) with what the provider reports in it (progress, step, page metrics,
error, outputs) and how long it lasts. A ``Job`` starts its script when it is created and
moves through it as the ``Clock`` moves; the last phase lasts forever.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypeGuard

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: Seconds each phase of a ready-made script lasts unless told otherwise.
DEFAULT_STEP: Final = 2.0
#: Most seconds one ``Clock.advance`` may move the clock (ten years), and longest phase.
MAX_ADVANCE: Final = 10 * 365.25 * 86_400
#: Most seconds the clock may be away from real time in all (a thousand years), so every
#: time it serves stays a valid date.
MAX_OFFSET: Final = 100 * MAX_ADVANCE
#: Most seconds a script may run before its last phase (a hundred years).
MAX_SCRIPT_LENGTH: Final = 10 * MAX_ADVANCE
#: Most pages a phase may report.
MAX_PAGES: Final = 1_000_000


def is_number(value: object) -> TypeGuard[float]:
    """True for an ``int`` or ``float`` that is not a ``bool``."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def finite(value: float) -> bool:
    """True when the number is finite as a float (an int too large for a float is not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_seconds(name: str, value: object, high: float) -> float:
    """``value`` as float seconds in ``[0, high]``: ``TypeError`` for a non-number (or a bool),
    ``ValueError`` for NaN, infinities, negatives and values over ``high``."""
    if not is_number(value):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__} {_shown(value)}")
    if not (finite(value) and 0 <= value <= high):
        raise ValueError(f"{name} must be finite seconds from 0 to {high:g}, not {_shown(value)}")
    return float(value)


def _duration(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    check_seconds(attribute.name, value, MAX_ADVANCE)


def _fraction(_instance: object, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    if value is not None and not (is_number(value) and finite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{attribute.name} must be a fraction in [0, 1] or None, not {value!r}")


def _offset(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not is_number(value):
        raise TypeError(f"Clock.{attribute.name} must be a number of seconds, not {type(value).__name__}")
    if not (finite(value) and abs(value) <= MAX_OFFSET):
        raise ValueError(f"Clock.{attribute.name} must be finite and within {MAX_OFFSET:g} s of 0, not {_shown(value)}")


def _frozen_at(_instance: object, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    if value is None:
        return
    if not is_number(value):
        raise TypeError(f"Clock.{attribute.name} must be a time in seconds or None, not {type(value).__name__}")
    if not (finite(value) and 0 <= value <= time.time() + MAX_OFFSET):
        raise ValueError(f"Clock.{attribute.name} must be a real time (seconds since the epoch), not {_shown(value)}")


def _failures(value: Iterable[PageFailure]) -> tuple[PageFailure, ...]:
    return tuple(value)


def _names(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError(f"outputs must be a sequence of names, not the string {value!r}")
    return tuple(value)


@attrs.define
class Clock:
    """The simulator's time, in seconds since the epoch.

    Real time by default; ``advance`` moves it forward without sleeping, and ``freeze`` stops
    real time from moving it (tests then move it only with ``advance``). Thread-safe. It never
    leaves the range of valid dates: one ``advance`` moves it at most ``MAX_ADVANCE`` seconds
    (ten years), and in all it stays within ``MAX_OFFSET`` (a thousand years) of real time;
    past either, ``advance`` raises ``ValueError`` and the clock does not move.

    Attributes:
        offset: Seconds added to real time (the sum of every ``advance``), at most
            ``MAX_OFFSET`` either way.
        frozen_at: The real time it was frozen at, or ``None`` when it follows real time.
    """

    offset: float = attrs.field(default=0.0, validator=_offset)
    frozen_at: float | None = attrs.field(default=None, validator=_frozen_at)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False, eq=False)

    def now(self) -> float:
        """The simulated time, seconds since the epoch."""
        with self._lock:
            base = time.time() if self.frozen_at is None else self.frozen_at
            return base + self.offset

    def datetime(self) -> datetime:
        """``now()`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), UTC)

    @property
    def frozen(self) -> bool:
        """True while real time does not move the clock."""
        return self.frozen_at is not None

    def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` forward without sleeping; return ``now()``.

        ``seconds`` is a number from 0 to ``MAX_ADVANCE`` (ten years): ``TypeError`` for
        another type (a bool too), ``ValueError`` for NaN, infinities, negatives, more than
        ``MAX_ADVANCE``, or a move that takes the clock more than ``MAX_OFFSET`` from real
        time (``reset()`` it). On an error the clock does not move.
        """
        if not is_number(seconds):
            raise TypeError(
                f"the clock only moves forward by a number of seconds, not {type(seconds).__name__} {_shown(seconds)}"
            )
        if not (finite(seconds) and 0 <= seconds <= MAX_ADVANCE):
            raise ValueError(
                f"the clock only moves forward, at most {MAX_ADVANCE:g} s (ten years) at once: "
                f"seconds must be finite, >= 0 and <= {MAX_ADVANCE:g}, not {_shown(seconds)}"
            )
        with self._lock:
            offset = self.offset + float(seconds)
            if offset > MAX_OFFSET:
                raise ValueError(
                    f"the clock would be {offset:g} s ahead of real time, more than {MAX_OFFSET:g} s "
                    "(a thousand years); reset() it"
                )
            self.offset = offset
        return self.now()

    def freeze(self) -> None:
        """Stop following real time; ``now()`` stays where it is until ``advance``."""
        with self._lock:
            if self.frozen_at is None:
                self.frozen_at = time.time()

    def unfreeze(self) -> None:
        """Follow real time again, from where the clock is now (it never jumps)."""
        with self._lock:
            if self.frozen_at is not None:
                self.offset -= time.time() - self.frozen_at
                self.frozen_at = None

    def reset(self) -> None:
        """Back to real time, no offset."""
        with self._lock:
            self.offset = 0.0
            self.frozen_at = None


@attrs.frozen(kw_only=True)
class PageFailure:
    """One page that failed (a provider's per-page errors).

    Attributes:
        page: The page number.
        code: The error code.
        message: What went wrong.
    """

    page: int
    code: str
    message: str


@attrs.frozen(kw_only=True)
class PageCounts:
    """Page metrics of a phase (a provider's page counts).

    Attributes:
        total: Pages in the input.
        processed: Pages processed so far.
        succeeded: Pages that succeeded.
        failed: Pages that failed.
        errors: One ``PageFailure`` per failed page described.
    """

    total: int
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    errors: tuple[PageFailure, ...] = attrs.field(default=(), converter=_failures)

    def __attrs_post_init__(self) -> None:
        for name in ("total", "processed", "succeeded", "failed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_PAGES:
                raise ValueError(f"PageCounts.{name} must be an integer from 0 to {MAX_PAGES}, not {value!r}")
        if self.succeeded + self.failed > self.processed or self.processed > self.total:
            raise ValueError(
                f"PageCounts: need succeeded + failed <= processed <= total, got {self.succeeded} + "
                f"{self.failed}, {self.processed}, {self.total}"
            )


def _fields(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen(kw_only=True)
class Phase:
    """One step of a job's timeline, in the provider's own terms.

    Attributes:
        state: The provider-native state, exactly as served (``"Running"``, ``"processing"``,
            ``"Not Started"``, ...). It must be one the provider's spec lists, unless ``off_spec``.
        duration: Seconds until the next phase, from 0 to ``MAX_ADVANCE`` (ten years); ignored
            for the last phase, which lasts forever.
        progress: Fraction done in ``[0, 1]``, served in the provider's unit (a percentage or
            a fraction), or ``None`` to leave it out.
        step: The current step, where the provider reports one.
        pages: Page metrics, where the provider reports them, or ``None``.
        error: The error message served in this phase, or ``None``.
        error_code: The error code, where the provider reports one, or ``None``.
        outputs: Names of the files produced (output files, images, a document's path).
        Which body field serves each one: the provider's module docstring
        (``docstatus.simulator._providers.<provider>``).
        off_spec: Serve ``state`` even though the spec does not list it. The body is then
            built with ``model_construct`` for that one field (every other field is still
            validated by the generated model): it is the deliberate off-spec case.
        fields: Top-level body fields to set or override, by their JSON name; validated by
            the provider's generated model like every other field.
    """

    state: str
    duration: float = attrs.field(default=DEFAULT_STEP, validator=_duration)
    progress: float | None = attrs.field(default=None, validator=_fraction)
    step: str | None = None
    pages: PageCounts | None = None
    error: str | None = None
    error_code: str | None = None
    outputs: tuple[str, ...] = attrs.field(default=(), converter=_names)
    off_spec: bool = False
    fields: Mapping[str, Any] = attrs.field(factory=dict, converter=_fields)


def _phases(value: Any) -> tuple[Phase, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Script:
    """A job's timeline: phases played one after another from the job's creation.

    Attributes:
        name: A short name (``"happy_path"``, ``"failure"``, or your own).
        phases: The phases, at least one; the last lasts forever. Those before it last
            ``MAX_SCRIPT_LENGTH`` seconds (a hundred years) at most in all.
        description: What the script shows.
    """

    name: str
    phases: tuple[Phase, ...] = attrs.field(converter=_phases)
    description: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.phases:
            raise ValueError(f"script {self.name!r} has no phases; give at least one Phase")
        for phase in self.phases:
            if not isinstance(phase, Phase):
                raise TypeError(f"script {self.name!r}: phases must be Phase values, not {type(phase).__name__}")
        if self.length > MAX_SCRIPT_LENGTH:
            raise ValueError(
                f"script {self.name!r} runs {self.length:g} s before its last phase, more than "
                f"{MAX_SCRIPT_LENGTH:g} s (a hundred years)"
            )

    def with_step(self, seconds: float) -> Script:
        """The same script with every phase lasting ``seconds``."""
        return attrs.evolve(self, phases=tuple(attrs.evolve(p, duration=seconds) for p in self.phases))

    @property
    def length(self) -> float:
        """Seconds from the start until the last phase begins."""
        return sum(p.duration for p in self.phases[:-1])

    def index_at(self, elapsed: float) -> tuple[int, float]:
        """``(phase index, seconds since the start when it began)`` after ``elapsed`` seconds."""
        start = 0.0
        for index, phase in enumerate(self.phases[:-1]):
            if elapsed < start + phase.duration:
                return index, start
            start += phase.duration
        return len(self.phases) - 1, start


@attrs.frozen(kw_only=True)
class Job:
    """A simulated job.

    Attributes:
        provider: The provider that serves it.
        job_id: Its id, as the provider's status endpoint takes it (an id of more than one
            path part joined by ``/``: ``org/store/file``).
        script: Its timeline.
        created_at: Clock time (seconds since the epoch) it was created and its script began.
        seed: Stable per-job text used to derive ids in bodies (request ids, file ids).
    """

    provider: str
    job_id: str
    script: Script
    created_at: float
    seed: str

    @property
    def ref(self) -> str:
        """The job reference string, ``<provider>:<id>``."""
        return f"{self.provider}:{self.job_id}"

    def at(self, now: float) -> tuple[int, Phase, float]:
        """``(index, phase, clock time it began)`` at clock time ``now``."""
        index, start = self.script.index_at(max(0.0, now - self.created_at))
        return index, self.script.phases[index], self.created_at + start

    def phase_start(self, index: int) -> float:
        """Clock time phase ``index`` begins."""
        return self.created_at + sum(p.duration for p in self.script.phases[:index])


@attrs.frozen(kw_only=True)
class JobInfo:
    """A job as the control surface lists it.

    Attributes:
        ref: The job reference.
        provider: The provider.
        script: The script's name.
        state: The provider-native state now.
        phase: Index of the current phase.
        phases: Number of phases.
        created_at: When it was created (clock time, aware UTC).
    """

    ref: str
    provider: str
    script: str
    state: str
    phase: int
    phases: int
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every attribute, by its name (``created_at`` in RFC 3339, ``Z``)."""
        return {**attrs.asdict(self), "created_at": self.created_at.isoformat().replace("+00:00", "Z")}
