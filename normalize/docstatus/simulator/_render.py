"""What every simulated provider shares: answers, routes, rendering from generated models.

A simulated provider is a ``ProviderSim`` subclass in its own module (``_providers/<name>.py``,
or one registered from outside the package): its routes, auth, ids, error bodies and status
bodies. Every status body and every documented error body is an instance of the provider's
generated pydantic model (``docstatus_simulator_models.<provider>``), built with validation
and dumped with ``model_dump_json(exclude_unset=True)``, so the bodies cannot drift from
``specs/``. The one exception is on purpose: a ``Phase(off_spec=True)`` serves a state the spec
does not list; its body is validated with a documented state first, then only the state is
swapped in with ``model_construct`` (``build``).

Where a provider's spec is silent (an undocumented status, an error without a body), its
module says what it answers and why. The defaults here are the FastAPI shape: ``{"detail":
"..."}`` JSON, 401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, Protocol, get_args, get_origin

import attrs
from pydantic import BaseModel, RootModel

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ._jobs import Clock, Job, Phase

AuthProblem = Literal["missing", "wrong"]
Headers = tuple[tuple[str, str], ...]

#: The namespace of the ids a body derives from a job's seed (``derived_id``).
ID_NAMESPACE: Final = uuid.UUID("6b1d8c1e-5f0a-4c52-9d0e-2f7c6a1b9e30")


def derived_id(text: str) -> uuid.UUID:
    """A UUID stable for ``text`` (a job's seed with what it names: ``"file:" + seed``)."""
    return uuid.uuid5(ID_NAMESPACE, text)


@attrs.frozen(kw_only=True)
class At:
    """A job in one phase of its script, for rendering.

    Attributes:
        job: The job.
        index: The phase's index.
        phase: The phase.
        start: Clock time the phase began.
        base: The URL of the provider's prefix the request came in under
            (``http://127.0.0.1:8000/<provider>``), for the URLs a body carries; ``""``
            when rendering outside a request (then ``https://simulator.invalid/<provider>``).
        variant: The route's variant (``""`` for the documented status path).
    """

    job: Job
    index: int
    phase: Phase
    start: float
    base: str = ""
    variant: str = ""


@attrs.frozen(kw_only=True)
class Answer:
    """An HTTP answer.

    Attributes:
        status: The status code.
        body: The body bytes.
        content_type: The ``Content-Type``, or ``None`` to send none.
        headers: Extra headers.
    """

    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: Headers = ()


RouteKind = Literal["status", "request_status", "submit", "output", "file"]


@attrs.frozen(kw_only=True)
class Route:
    """One path a simulated provider serves, after its ``/<provider>`` prefix.

    Attributes:
        kind: What it does: ``status`` (a job's status), ``request_status`` (the request a
            job belongs to), ``submit`` (creates a scripted job), ``output`` (a job's output
            metadata), ``file`` (a file the simulator serves).
        segments: Path segments; ``None`` marks an id segment.
        method: The one method it answers (others get 405).
        variant: Which family of the provider's paths (``""`` is the documented one), e.g.
            the family an SDK calls or an older prefix; the provider's hooks see it.
        source: Where the path comes from (spec, SDK file, docs page).
    """

    kind: RouteKind
    segments: tuple[str | None, ...]
    method: str = "GET"
    variant: str = ""
    source: str = ""

    def match(self, segments: Sequence[str]) -> str | None:
        """The ids in ``segments`` joined by ``/`` (``""`` for none) if they are this route's path."""
        if len(segments) != len(self.segments):
            return None
        ids: list[str] = []
        for want, got in zip(self.segments, segments, strict=True):
            if want is None:
                if not got:
                    return None
                ids.append(got)
            elif want != got:
                return None
        return "/".join(ids)

    def template(self) -> str:
        """The path as a template, ``/job/{id}/status``."""
        return "/" + "/".join("{id}" if s is None else s for s in self.segments)


class Jobs(Protocol):
    """What a provider's routes use of the simulator's state (``State`` is one): its clock and
    its jobs. The state builds on this module's providers, so they name only this."""

    clock: Clock

    def submit(self, provider: str) -> Job: ...

    def all_jobs(self, provider: str) -> list[Job]: ...

    def find(self, provider: str, job_id: str) -> Job | None: ...


@attrs.frozen(kw_only=True)
class SimRequest:
    """What a route other than ``status`` sees of the request and the simulator.

    Attributes:
        state: The simulator's state (jobs, clock, submission scripts).
        base: The URL of the provider's prefix the request came in under.
        body: The request body (``b""`` for a GET).
    """

    state: Jobs
    base: str
    body: bytes = b""


def json_answer(status: int, data: Any, headers: Headers = ()) -> Answer:
    """A JSON answer from plain data (not a provider body)."""
    return Answer(status=status, body=json.dumps(data, separators=(",", ":")).encode(), headers=headers)


def model_answer(status: int, model: BaseModel, headers: Headers = ()) -> Answer:
    """A JSON answer from a generated model (only the fields that were set)."""
    return Answer(status=status, body=model.model_dump_json(exclude_unset=True).encode(), headers=headers)


def as_datetime(seconds: float | None) -> datetime | None:
    """Clock time (seconds since the epoch) as an aware UTC datetime; ``None`` stays ``None``."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _literal_values(annotation: Any) -> tuple[str, ...]:
    if isinstance(annotation, type) and issubclass(annotation, RootModel):
        annotation = annotation.model_fields["root"].annotation
    if get_origin(annotation) is not Literal:
        raise TypeError(f"{annotation!r} is not a Literal enum")
    return tuple(str(v) for v in get_args(annotation))


def states_of(model: type[BaseModel], field: str) -> tuple[str, ...]:
    """The states a generated model's enum field lists (from its ``Literal``)."""
    return _literal_values(model.model_fields[field].annotation)


def build(model: type[BaseModel], values: Mapping[str, Any], state_field: str, *, off_spec: bool) -> BaseModel:
    """``model(**values)``, validated; with ``off_spec`` the state alone is set unvalidated."""
    if not off_spec:
        return model(**values)
    raw = values[state_field]
    documented = states_of(model, state_field)
    if raw in documented:
        raise ValueError(f"state {raw!r} is documented; off_spec=True is only for a state the spec does not list")
    checked = model(**{**values, state_field: documented[0]})
    annotation = model.model_fields[state_field].annotation
    state: Any = raw
    if isinstance(annotation, type) and issubclass(annotation, RootModel):
        state = annotation.model_construct(root=raw)  # deliberately off-spec: see the module docstring
    data = {name: getattr(checked, name) for name in checked.model_fields_set}
    data[state_field] = state
    return model.model_construct(_fields_set=set(checked.model_fields_set), **data)  # deliberately off-spec


class ProviderSim:
    """One simulated provider. Subclasses fill in the class attributes and the hooks.

    The defaults answer in the FastAPI shape: 401 ``{"detail": ...}`` with ``WWW-Authenticate:
    Bearer`` for a missing or wrong token, 404 ``{"detail": "Document not found"}``, and
    ``{"detail": ...}`` for every other error; a provider with another envelope overrides
    ``error`` (every error answer goes through it) and the texts.
    """

    #: The provider's name: its URL prefix (``/<name>``), its jobs' reference prefix.
    name: ClassVar[str]
    #: Path segments after the provider prefix; ``None`` marks an id segment.
    route: ClassVar[tuple[str | None, ...]]
    #: ``"bearer"``, ``"header"`` (the key in ``auth_header``) or ``None``.
    auth: ClassVar[str | None] = "bearer"
    auth_header: ClassVar[str] = "authorization"
    #: The fake credential accepted unless the simulator is given another; ``None`` for none.
    token: ClassVar[str | None] = None
    #: The status of an answer to a missing or wrong credential, its headers and texts.
    auth_status: ClassVar[int] = 401
    auth_headers: ClassVar[Headers] = (("www-authenticate", "Bearer"),)
    auth_texts: ClassVar[Mapping[AuthProblem, str]] = MappingProxyType(
        {"missing": "Not authenticated", "wrong": "Invalid or expired token"}
    )
    #: The 404 text of an unknown job; ``{id}`` stands for the id (its first 200 characters).
    not_found_text: ClassVar[str] = "Document not found"
    model: ClassVar[type[BaseModel]]
    state_field: ClassVar[str] = "status"
    #: States before processing starts (for ``started_at``).
    waiting: ClassVar[frozenset[str]] = frozenset()
    #: States a job ends in (for ``completed_at``).
    ended: ClassVar[frozenset[str]] = frozenset()
    #: Paths served besides the documented status path (SDK variants, submission, files).
    extra_routes: ClassVar[tuple[Route, ...]] = ()
    #: How ``GET /_sim`` shows a job id in the status path.
    id_placeholder: ClassVar[str] = "{id}"
    #: Other providers' prefixes this one is also served under: ``(prefix, leading segments)``,
    #: e.g. ``("other", ("v2",))`` serves ``/other/v2/...`` by this provider.
    also_under: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = ()

    @property
    def routes(self) -> tuple[Route, ...]:
        """Every path served: the documented status path first."""
        return (Route(kind="status", segments=self.route, source="spec"), *self.extra_routes)

    def find_route(self, segments: Sequence[str]) -> tuple[Route, str] | None:
        """``(route, ids)`` of the first route whose path ``segments`` (after the prefix) are."""
        for route in self.routes:
            ids = route.match(segments)
            if ids is not None:
                return route, ids
        return None

    def base(self, base: str) -> str:
        """``base``, or the placeholder host used outside a request."""
        return base or f"https://simulator.invalid/{self.name}"

    @property
    def states(self) -> tuple[str, ...]:
        """The states the provider's spec lists."""
        return states_of(self.model, self.state_field)

    def match(self, segments: Sequence[str]) -> str | None:
        """The job id if ``segments`` (after the prefix) are this provider's documented status path."""
        return self.routes[0].match(segments)

    def path(self, job_id: str) -> str:
        """The status path of a job, under the provider prefix (unquoted)."""
        ids = iter(job_id.split("/"))
        return "/" + "/".join(next(ids, "{id}") if part is None else part for part in self.route)

    def new_job_id(self) -> str:
        return str(uuid.uuid4())

    def canonical_id(self, job_id: str) -> str:
        """The id as stored; ``ValueError`` when the provider would never have such a job."""
        if not job_id or "/" in job_id or any(c.isspace() or not c.isprintable() for c in job_id):
            raise ValueError(
                f"{self.name} job id {job_id!r} must be non-empty, without '/', spaces or control characters"
            )
        return job_id

    def check_auth(self, headers: Mapping[str, str], token: str | None) -> tuple[bool, Answer | None]:
        """``(authorized, error answer or None)``."""
        if self.auth is None:
            return True, None
        sent = headers.get(self.auth_header)
        if self.auth == "bearer" and sent is not None:
            scheme, _, credential = sent.partition(" ")
            sent = credential.strip() if scheme.lower() == "bearer" else ""
        if not sent:
            return False, self.unauthorized("missing")
        if token is None or sent != token:
            return False, self.unauthorized("wrong")
        return True, None

    def reject_id(self, job_id: str) -> Answer | None:  # noqa: ARG002  # hook: the default rejects none
        """The answer to an id the provider rejects before looking it up, else ``None``."""
        return None

    def unauthorized(self, problem: AuthProblem) -> Answer:
        """The answer to a missing or wrong credential."""
        return self.error(self.auth_status, self.auth_texts[problem], self.auth_headers)

    def not_found(self, job_id: str) -> Answer:
        """The answer to an unknown job."""
        return self.error(404, self.not_found_text.format(id=job_id[:200]))

    def no_route(self, path: str) -> Answer:
        """The answer to a path under the prefix that no route serves."""
        paths = ", ".join(r.template() for r in self.routes)
        return self.error(404, f"no {self.name} endpoint at {path[:200]!r}; served: {paths}")

    def error(self, status: int, message: str, headers: Headers = ()) -> Answer:
        """An error answer in the provider's style (faults, auth, unknown jobs and paths)."""
        return json_answer(status, {"detail": message}, headers)

    def values(self, at: At) -> dict[str, Any]:
        """The status body's fields (by their JSON names) of a job in one phase."""
        raise NotImplementedError

    def body(self, job: Job, now: float, *, base: str = "", variant: str = "") -> BaseModel:
        """The status body of ``job`` at clock time ``now``, as the generated model."""
        index, _, _ = job.at(now)
        return self.phase_body(job, index, base=base, variant=variant)

    def at(self, job: Job, index: int, *, base: str = "", variant: str = "") -> At:
        phase = job.script.phases[index]
        return At(job=job, index=index, phase=phase, start=job.phase_start(index), base=base, variant=variant)

    def phase_body(self, job: Job, index: int, *, base: str = "", variant: str = "") -> BaseModel:
        """The status body of ``job`` in phase ``index``, as the generated model."""
        at = self.at(job, index, base=base, variant=variant)
        values = self.values(at)
        values.update(at.phase.fields)
        return build(self.model, values, self.state_field, off_spec=at.phase.off_spec)

    def render(self, job: Job, now: float, *, base: str = "", variant: str = "") -> Answer:
        return model_answer(200, self.body(job, now, base=base, variant=variant))

    def serve(self, route: Route, ids: str, request: SimRequest) -> tuple[Answer, str]:  # noqa: ARG002  # hook
        """The answer of a route other than ``status`` (``(answer, outcome)``); auth is checked."""
        return self.not_found(ids), "no_route"

    # helpers for subclasses

    def started_at(self, at: At) -> datetime | None:
        for i, phase in enumerate(at.job.script.phases[: at.index + 1]):
            if phase.state not in self.waiting:
                return as_datetime(at.job.phase_start(i))
        return None

    def completed_at(self, at: At) -> datetime | None:
        return as_datetime(at.start) if at.phase.state in self.ended else None
