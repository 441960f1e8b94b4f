"""The simulator's state: jobs, armed faults, the request log, the clock. Thread-safe (the
server thread reads it while the test thread changes it)."""

from __future__ import annotations

import collections
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import attrs
from pydantic import ValidationError

from docstatus._refs import parse_ref

from . import _providers as providers
from ._faults import ArmedFault, Fault
from ._jobs import MAX_ADVANCE, Clock, Job, JobInfo, Script, check_seconds

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from ._render import ProviderSim

#: Most jobs one simulator holds (``reset()`` clears them).
MAX_JOBS: Final = 10_000
#: Longest job id ``create_job`` takes, in characters.
MAX_JOB_ID: Final = 1_000
#: Requests the log keeps (the oldest go first).
LOG_SIZE: Final = 10_000
#: Headers whose values the request log never keeps.
SECRET_HEADERS: Final = frozenset({"authorization", "api-subscription-key", "x-api-key", "cookie"})


@attrs.frozen(kw_only=True)
class RequestRecord:
    """One request to a provider endpoint (or an unknown path) the simulator answered or dropped.

    Attributes:
        at: When it arrived (clock time, aware UTC).
        method: The HTTP method.
        path: The path, as sent (percent-encoded), without the query.
        provider: The provider prefix it was sent to, or ``None`` (control or unknown path).
        job_id: The job id in the path, or ``None``.
        status: The status answered, or ``None`` when the connection was dropped.
        outcome: ``ok``, ``unauthorized``, ``bad_id``, ``not_found``, ``no_route``,
            ``method_not_allowed`` or ``fault:<kind>``.
        authorized: Whether the credential was right (``None`` when not checked).
        headers: The request headers, with credentials replaced by ``***``.
    """

    at: datetime
    method: str
    path: str
    provider: str | None
    job_id: str | None
    status: int | None
    outcome: str
    authorized: bool | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def ref(self) -> str | None:
        """The job reference asked about, or ``None``."""
        return None if self.provider is None or self.job_id is None else f"{self.provider}:{self.job_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "method": self.method,
            "path": self.path,
            "provider": self.provider,
            "job_id": self.job_id,
            "ref": self.ref,
            "status": self.status,
            "outcome": self.outcome,
            "authorized": self.authorized,
            "headers": dict(self.headers),
        }


def redact(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Headers with credential values replaced by ``***``."""
    return tuple((k, "***" if k.lower() in SECRET_HEADERS else v) for k, v in headers)


class Tokens(Mapping[str, str]):
    """The credential each provider accepts: the ones given, else each provider's default.
    Read when a request comes, so a provider registered later has its default too."""

    def __init__(self, given: Mapping[str, str]) -> None:
        self._given = MappingProxyType(dict(given))

    def __getitem__(self, name: str) -> str:
        token = self._given.get(name)
        if token is None:
            found = providers.load(name) if isinstance(name, str) else None
            token = None if found is None else found.sim.token
        if token is None:
            raise KeyError(name)
        return token

    def __iter__(self) -> Iterator[str]:
        defaults = providers.DEFAULT_TOKENS
        return iter({**dict.fromkeys(defaults), **dict.fromkeys(self._given)})

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return repr(dict(self))


class State:
    """Jobs, faults, request log and clock of one simulator."""

    def __init__(self, *, clock: Clock | None = None, tokens: Mapping[str, str] | None = None) -> None:
        self.clock = Clock() if clock is None else clock
        given = dict(tokens or {})
        unknown = {name for name in given if not providers.known(name)}
        if unknown:
            raise ValueError(f"tokens for unknown providers: {', '.join(sorted(unknown))}")
        self.tokens: Mapping[str, str] = Tokens(given)
        self._lock = threading.RLock()
        self._jobs: dict[tuple[str, str], Job] = {}
        self._faults: list[ArmedFault] = []
        self._log: collections.deque[RequestRecord] = collections.deque(maxlen=LOG_SIZE)
        #: Resets so far: a request records itself only if no reset came since it arrived.
        self.resets = 0
        self._submit: dict[str, tuple[str | Script, float | None]] = {}

    # jobs

    def create_job(
        self,
        provider: str,
        script: str | Script,
        *,
        job_id: str | None,
        step: float | None,
        faults: Iterable[Fault],
    ) -> Job:
        """Create a job that starts ``script`` now; see ``Simulator.create_job``, whose defaults are
        the only ones (every caller here says what it wants)."""
        sim = providers.PROVIDER_SIMS.get(provider)
        if sim is None:
            raise ValueError(f"unknown provider {provider!r}; expected one of {providers.expected()}")
        if step is not None:
            step = check_seconds("step", step, MAX_ADVANCE)
        if isinstance(script, str):
            script = providers.script(provider, script, step=step)
        elif isinstance(script, Script):
            script = script if step is None else script.with_step(step)
        else:
            raise TypeError(f"script must be a ready-made script's name or a Script, not {type(script).__name__}")
        if job_id is not None and not isinstance(job_id, str):
            raise TypeError(f"job_id must be a string or None, not {type(job_id).__name__}")
        if job_id is not None and len(job_id) > MAX_JOB_ID:
            raise ValueError(f"a job id has at most {MAX_JOB_ID} characters, not {len(job_id)}")
        job_id = sim.canonical_id(sim.new_job_id() if job_id is None else job_id)
        faults = list(faults)
        for fault in faults:
            if not isinstance(fault, Fault):
                raise TypeError(f"faults must be Fault values, not {type(fault).__name__}")
        with self._lock:
            if (provider, job_id) in self._jobs:
                raise ValueError(f"a job {provider}:{job_id} exists already")
            if len(self._jobs) >= MAX_JOBS:
                raise ValueError(f"the simulator holds {MAX_JOBS} jobs already; reset() it")
            job = Job(
                provider=sim.name,
                job_id=job_id,
                script=script,
                created_at=self.clock.now(),
                seed=uuid.uuid4().hex,
            )
            _check_script(sim, job)
            self._jobs[provider, job_id] = job
            for fault in faults:
                self._faults.append(ArmedFault(fault, provider, job_id, fault.count))
        return job

    def on_submit(self, provider: str, script: str | Script = "happy_path", *, step: float | None = None) -> None:
        """The script (and step) of the jobs that submissions to ``provider`` create from now on."""
        if not providers.known(provider):
            raise ValueError(f"unknown provider {provider!r}; expected one of {providers.expected()}")
        if isinstance(script, str):
            providers.script(provider, script)  # ValueError now, not at the submission
        elif not isinstance(script, Script):
            raise TypeError(f"script must be a ready-made script's name or a Script, not {type(script).__name__}")
        if step is not None:
            step = check_seconds("step", step, MAX_ADVANCE)
        with self._lock:
            self._submit[provider] = (script, step)

    def submit(self, provider: str) -> Job:
        """A job created by a submission endpoint, with the script ``on_submit`` set (default ``happy_path``)."""
        with self._lock:
            script, step = self._submit.get(provider, ("happy_path", None))
        return self.create_job(provider, script, job_id=None, step=step, faults=())

    def all_jobs(self, provider: str) -> list[Job]:
        """The jobs of one provider."""
        with self._lock:
            return [job for (p, _), job in self._jobs.items() if p == provider]

    def find(self, provider: str, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get((provider, job_id))

    def job(self, ref: str) -> Job:
        """The job of a reference; ``KeyError`` when there is none."""
        parsed = parse_ref(ref)
        found = self.find(parsed.provider, parsed.job_id)
        if found is None:
            raise KeyError(f"the simulator has no job {ref}")
        return found

    def info(self, job: Job) -> JobInfo:
        index, phase, _ = job.at(self.clock.now())
        return JobInfo(
            ref=job.ref,
            provider=job.provider,
            script=job.script.name,
            state=phase.state,
            phase=index,
            phases=len(job.script.phases),
            created_at=datetime.fromtimestamp(job.created_at, UTC),
        )

    def jobs(self) -> list[JobInfo]:
        with self._lock:
            jobs = list(self._jobs.values())
        return [self.info(job) for job in jobs]

    # faults

    def add_fault(self, fault: Fault, *, provider: str | None = None, ref: str | None = None) -> None:
        """Arm ``fault`` for one job (``ref``), one provider, or every provider (neither)."""
        if not isinstance(fault, Fault):
            raise TypeError(f"fault must be a Fault, not {type(fault).__name__}")
        job_id: str | None = None
        if ref is not None:
            parsed = parse_ref(ref)
            if provider is not None and provider != parsed.provider:
                raise ValueError(f"ref {ref} is not a {provider} job")
            provider, job_id = parsed.provider, parsed.job_id
        elif provider is not None and not providers.known(provider):
            raise ValueError(f"unknown provider {provider!r}; expected one of {providers.expected()}")
        with self._lock:
            self._faults.append(ArmedFault(fault, provider, job_id, fault.count))

    def take_fault(self, provider: str, job_id: str | None) -> Fault | None:
        """The fault to serve to a request (job faults first, then provider, then global), used once."""
        with self._lock:
            for rank in (0, 1, 2):
                for armed in self._faults:
                    level = 0 if armed.job_id is not None else 1 if armed.provider is not None else 2
                    if level == rank and armed.matches(provider, job_id):
                        armed.remaining -= 1
                        if armed.remaining <= 0:
                            self._faults.remove(armed)
                        return armed.fault
        return None

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [armed.to_dict() for armed in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # request log

    def record(self, record: RequestRecord, *, arrived: int) -> None:
        """Log a request answered (or abandoned), unless ``reset`` came since it arrived
        (``arrived``: ``resets`` then): a slow answer still running when one test resets the
        simulator is not logged into the next test's requests."""
        with self._lock:
            if arrived == self.resets:
                self._log.append(record)

    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def reset(self) -> None:
        """Forget every job, fault and request (requests still being answered are not logged
        when they end); the clock goes back to real time."""
        with self._lock:
            self.resets += 1
            self._jobs.clear()
            self._faults.clear()
            self._log.clear()
            self._submit.clear()
            self.clock.reset()


def _check_script(sim: ProviderSim, job: Job) -> None:
    """Render every phase once, so a script that does not fit the spec fails at creation."""
    for index, phase in enumerate(job.script.phases):
        try:
            sim.phase_body(job, index)
            for route in sim.routes:
                if route.kind == "status" and route.variant:
                    sim.render(job, job.phase_start(index), variant=route.variant)
        except (ValidationError, ValueError, TypeError) as exc:
            detail = " ".join(str(exc).split())[:500]
            raise ValueError(
                f"script {job.script.name!r} phase {index} ({phase.state!r}) does not fit the {job.provider} "
                f"spec: {detail}. States the spec lists: {', '.join(sim.states)}; use Phase(off_spec=True) "
                "to serve another on purpose"
            ) from exc
