"""The simulator as a plain ASGI application (no framework).

Routes:

- ``/<provider>/<the provider's documented status path>``: every simulated provider's status
  endpoint (and the other paths its module serves), e.g. ``GET /<provider>/job/{job_id}/status``;
- ``/_sim/...``: the control surface, JSON in and out (see ``CONTROL_ROUTES``).

Dropping a connection and truncating a body need the socket: the simulator's own server
(``Simulator.start()``) hands the app its transport in the scope. Served by another ASGI
server, those two faults end the response by raising instead (the server then answers 500,
or closes a response already started).
"""

from __future__ import annotations

import asyncio
import contextlib
import decimal
import email.utils
import json
import math
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any, Final, TypeVar
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import _providers as providers
from ._faults import HTML_PAGE, Fault, FaultKind, RetryAfterForm
from ._jobs import DEFAULT_STEP, PageCounts, PageFailure, Phase, Script
from ._render import Answer, ProviderSim, Route, SimRequest, json_answer
from ._state import RequestRecord, State, redact

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: The scope key under which the simulator's server passes the connection's transport.
TRANSPORT_KEY: Final = "docstatus.transport"
#: The ASGI scope key holding the simulator's reset count when the request arrived.
_ARRIVED: Final = "docstatus.arrived"
#: Largest control request body accepted, in bytes.
MAX_BODY: Final = 1 << 20
#: Seconds to wait for a connection to close after the simulator closed it.
CLOSE_WAIT: Final = 5.0

CONTROL_ROUTES: Final = (
    ("GET", "/_sim", "what is served: providers, base paths, tokens, scripts, clock"),
    ("GET", "/_sim/jobs", "every job with its current state"),
    ("POST", "/_sim/jobs", "create a job: {provider, script?, job_id?, step?, faults?} -> {ref, job}"),
    ("GET", "/_sim/faults", "armed faults and how many requests each still applies to"),
    ("POST", "/_sim/faults", "arm a fault: {kind, count?, status?, retry_after?, ..., provider?, ref?}"),
    ("DELETE", "/_sim/faults", "disarm every fault"),
    ("GET", "/_sim/clock", "the clock: {now, frozen, offset}"),
    ("POST", "/_sim/clock/advance", "move the clock: {seconds}"),
    ("POST", "/_sim/clock/freeze", "stop real time from moving the clock"),
    ("POST", "/_sim/clock/unfreeze", "follow real time again"),
    ("GET", "/_sim/requests", "the request log (credentials redacted)"),
    ("POST", "/_sim/reset", "forget every job, fault and request; clock back to real time"),
    ("GET", "/_sim/scripts", "ready-made scripts per provider"),
)


# --- control-surface input (JSON), checked by pydantic and turned into the Python API's values


class _In(BaseModel):
    """Control input: JSON types as written (strict: no ``"5"`` for 5, no ``true`` for 1, no
    NaN or infinities), no unknown fields. Ranges are checked by the Python API's values
    (``Fault``, ``Phase``, ``Clock.advance``): a wrong type or shape answers 422, a value out
    of range 400, and neither changes the state."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class PageFailureIn(_In):
    page: int
    code: str
    message: str


class PagesIn(_In):
    total: int
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    errors: list[PageFailureIn] = Field(default_factory=list)


class PhaseIn(_In):
    state: str
    duration: float = DEFAULT_STEP
    progress: float | None = None
    step: str | None = None
    pages: PagesIn | None = None
    error: str | None = None
    error_code: str | None = None
    outputs: list[str] = Field(default_factory=list)
    off_spec: bool = False
    fields: dict[str, Any] = Field(default_factory=dict)

    def to_phase(self) -> Phase:
        pages = self.pages
        return Phase(
            state=self.state,
            duration=self.duration,
            progress=self.progress,
            step=self.step,
            pages=None
            if pages is None
            else PageCounts(
                total=pages.total,
                processed=pages.processed,
                succeeded=pages.succeeded,
                failed=pages.failed,
                errors=tuple(PageFailure(page=e.page, code=e.code, message=e.message) for e in pages.errors),
            ),
            error=self.error,
            error_code=self.error_code,
            outputs=tuple(self.outputs),
            off_spec=self.off_spec,
            fields=self.fields,
        )


class ScriptIn(_In):
    name: str = "custom"
    description: str = ""
    phases: list[PhaseIn] = Field(min_length=1)

    def to_script(self) -> Script:
        return Script(name=self.name, description=self.description, phases=[p.to_phase() for p in self.phases])


_DEFAULT_STATUS: Final = {"rate_limit": 429, "error": 500, "html": 502}


class FaultIn(_In):
    kind: FaultKind
    count: int = 1
    status: int | None = None
    retry_after: float | None = None
    retry_after_form: RetryAfterForm = "seconds"
    delay: float = 0.0

    def to_fault(self) -> Fault:
        status = _DEFAULT_STATUS.get(self.kind, 200) if self.status is None else self.status
        return Fault(
            kind=self.kind,
            count=self.count,
            status=status,
            retry_after=self.retry_after,
            retry_after_form=self.retry_after_form,
            delay=self.delay,
        )


class FaultPostIn(FaultIn):
    provider: str | None = None
    ref: str | None = None


class JobIn(_In):
    provider: str
    script: str | ScriptIn = "happy_path"
    job_id: str | None = None
    step: float | None = None
    faults: list[FaultIn] = Field(default_factory=list)


class AdvanceIn(_In):
    seconds: float


_M = TypeVar("_M", bound=_In)


class _BadRequestError(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail


class _NoTransportError(RuntimeError):
    """A drop or truncate fault outside the simulator's own server."""


def retry_after_value(seconds: float, form: RetryAfterForm) -> str:
    """The ``Retry-After`` value: delay-seconds in plain decimal (``7``, ``0.5``, ``1000000000``,
    never an exponent), or an HTTP-date of real time + seconds (rounded up)."""
    if form == "http-date":
        return email.utils.formatdate(math.ceil(time.time() + seconds), usegmt=True)
    if float(seconds).is_integer():
        return str(int(seconds))
    return format(decimal.Decimal(repr(float(seconds))), "f")


_HOST: Final = re.compile(r"(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")


def _origin(scope: Scope) -> str:
    """``http://<host>`` the client reached (its ``Host`` header when well formed, else the
    server's address), for the absolute URLs some bodies carry (status and metadata URLs)."""
    host = _headers(scope).get("host", "")
    if not _HOST.fullmatch(host):
        server = scope.get("server") or ("127.0.0.1", None)
        address, port = str(server[0]), server[1]
        address = f"[{address}]" if ":" in address else address
        host = address if port is None else f"{address}:{port}"
    return f"http://{host}"


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


async def send_answer(send: Send, answer: Answer) -> None:
    """Send a whole answer."""
    headers = [(b"content-length", str(len(answer.body)).encode())]
    if answer.content_type is not None:
        headers.append((b"content-type", answer.content_type.encode()))
    headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers)
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            return


class SimulatorApp:
    """The ASGI application over one ``State``.

    Attributes:
        state: Jobs, faults, log and clock.
        stopping: Set when the server stops: slow answers end at once.
    """

    def __init__(self, state: State) -> None:
        self.state = state
        self.stopping = threading.Event()
        providers.load_all()  # here, not in the server thread at the first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        scope[_ARRIVED] = self.state.resets  # logged only if no reset comes before it ends
        raw = scope.get("raw_path") or scope.get("path", "/").encode()
        path = raw.decode("latin-1").split("?", 1)[0]
        segments = [unquote(s) for s in path.split("/")[1:]]
        first = segments[0] if segments else ""
        sim = None if first == "_sim" else providers.served_by(first, segments[1:])
        if first == "_sim":
            await self._control(scope, receive, send, segments[1:])
        elif sim is not None:
            await self._provider(scope, receive, send, path, sim, segments[1:])
        else:
            answer = json_answer(
                404,
                {
                    "detail": f"no route {path!r}; the simulator serves /<provider>/... "
                    f"({providers.expected()}) and /_sim/",
                },
            )
            self._record(scope, path, None, None, answer.status, "no_route")
            await send_answer(send, answer)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.stopping.set()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _record(
        self,
        scope: Scope,
        path: str,
        provider: str | None,
        job_id: str | None,
        status: int | None,
        outcome: str,
        authorized: bool | None = None,
    ) -> None:
        self.state.record(
            RequestRecord(
                at=self.state.clock.datetime(),
                method=str(scope.get("method", "")),
                path=path,
                provider=provider,
                job_id=job_id,
                status=status,
                outcome=outcome,
                authorized=authorized,
                headers=redact(_headers(scope).items()),
            ),
            arrived=scope[_ARRIVED],
        )

    # --- provider endpoints

    async def _provider(
        self, scope: Scope, receive: Receive, send: Send, path: str, sim: ProviderSim, rest: list[str]
    ) -> None:
        routed = await self._route(scope, receive, send, path, sim, rest)
        if routed is None:
            return
        route, job_id, body = routed
        if route.kind == "status":
            with contextlib.suppress(ValueError):  # an id the provider rejects is answered below
                job_id = sim.canonical_id(job_id)
        base = _origin(scope) + "/" + sim.name
        fault = self.state.take_fault(sim.name, job_id or None)
        if fault is None:
            answer, outcome, authorized = self._normal(scope, sim, route, job_id, body, base)
            self._record(scope, path, sim.name, job_id, answer.status, outcome, authorized)
            await send_answer(send, answer)
            return
        outcome = f"fault:{fault.kind}"
        headers: tuple[tuple[str, str], ...] = ()
        if fault.retry_after is not None:
            headers = (("retry-after", retry_after_value(fault.retry_after, fault.retry_after_form)),)
        if fault.kind in ("rate_limit", "error"):
            phrase = _phrase(fault.status)
            answer = sim.error(fault.status, f"{phrase} (simulated fault)", headers)
        elif fault.kind == "html":
            page = HTML_PAGE.format(status=fault.status, reason=_phrase(fault.status))
            answer = Answer(status=fault.status, body=page.encode(), content_type="text/html", headers=headers)
        elif fault.kind == "slow":
            if not await self._pause(fault.delay, receive):
                self._record(scope, path, sim.name, job_id, None, outcome + ":abandoned")
                if self.stopping.is_set():
                    await send_answer(send, sim.error(503, "the simulator is stopping"))
                return
            answer, _, authorized = self._normal(scope, sim, route, job_id, body, base)
            self._record(scope, path, sim.name, job_id, answer.status, outcome, authorized)
            await send_answer(send, answer)
            return
        elif fault.kind == "drop":
            self._record(scope, path, sim.name, job_id, None, outcome)
            await self._close(scope, receive)
            return
        else:  # truncate
            answer, _, _ = self._normal(scope, sim, route, job_id, body, base)
            self._record(scope, path, sim.name, job_id, answer.status, outcome)
            await self._truncate(scope, receive, send, answer)
            return
        self._record(scope, path, sim.name, job_id, answer.status, outcome)
        await send_answer(send, answer)

    async def _route(
        self, scope: Scope, receive: Receive, send: Send, path: str, sim: ProviderSim, rest: list[str]
    ) -> tuple[Route, str, bytes] | None:
        """``(route, ids, body)`` of a request to a provider; ``None`` once a 404, 405 or 413 is sent."""
        found = sim.find_route(rest)
        if found is None:
            answer = sim.no_route(path)
            self._record(scope, path, sim.name, None, answer.status, "no_route")
            await send_answer(send, answer)
            return None
        route, job_id = found
        if scope.get("method") != route.method:
            answer = json_answer(405, {"detail": "Method Not Allowed"}, (("allow", route.method),))
            self._record(scope, path, sim.name, job_id, 405, "method_not_allowed")
            await send_answer(send, answer)
            return None
        body = b""
        if route.method == "POST":
            try:
                body = await self._read_body(receive)
            except _BadRequestError as exc:
                answer = sim.error(exc.status, str(exc.detail))
                self._record(scope, path, sim.name, None, answer.status, "too_large")
                await send_answer(send, answer)
                return None
        return route, job_id, body

    def _normal(
        self, scope: Scope, sim: ProviderSim, route: Route, job_id: str, body: bytes, base: str
    ) -> tuple[Answer, str, bool | None]:
        """The answer without faults: auth, then id checks, then the job's body."""
        authorized, refused = sim.check_auth(_headers(scope), self.state.tokens.get(sim.name))
        checked = None if sim.auth is None else authorized
        if refused is not None:
            return refused, "unauthorized", checked
        if route.kind != "status":
            answer, outcome = sim.serve(route, job_id, SimRequest(state=self.state, base=base, body=body))
            return answer, outcome, checked
        rejected = sim.reject_id(job_id)
        if rejected is not None:
            return rejected, "bad_id", checked
        job = self.state.find(sim.name, job_id)
        if job is None:
            return sim.not_found(job_id), "not_found", checked
        return sim.render(job, self.state.clock.now(), base=base, variant=route.variant), "ok", checked

    async def _pause(self, seconds: float, receive: Receive) -> bool:
        """Sleep up to ``seconds``; ``False`` when the client left or the simulator stops first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        gone = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            while not self.stopping.is_set():
                left = deadline - loop.time()
                if left <= 0:
                    return True
                done, _ = await asyncio.wait({gone}, timeout=min(left, 0.05))
                if done:
                    return False
            return False
        finally:
            gone.cancel()

    async def _close(self, scope: Scope, receive: Receive) -> None:
        transport = scope.get(TRANSPORT_KEY)
        if transport is None:
            raise _NoTransportError("dropping a connection needs the simulator's own server (Simulator.start())")
        transport.close()
        try:
            await asyncio.wait_for(_wait_disconnect(receive), CLOSE_WAIT)
        except TimeoutError:
            return

    async def _truncate(self, scope: Scope, receive: Receive, send: Send, answer: Answer) -> None:
        declared = max(len(answer.body), 16)
        headers = [(b"content-length", str(declared).encode())]
        if answer.content_type is not None:
            headers.append((b"content-type", answer.content_type.encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body[: len(answer.body) // 2], "more_body": True})
        await self._close(scope, receive)

    # --- control surface

    async def _control(self, scope: Scope, receive: Receive, send: Send, rest: list[str]) -> None:
        """Answer a control request (not logged: the log is what clients sent to providers)."""
        method = str(scope.get("method", ""))
        route = "/" + "/".join(["_sim", *[r for r in rest if r]])
        try:
            body = await self._read_body(receive) if method in ("POST", "PUT") else b""
            status, data = self._dispatch(method, route, body)
        except _BadRequestError as exc:
            status, data = exc.status, {"detail": exc.detail}
        await send_answer(send, json_answer(status, data))

    async def _read_body(self, receive: Receive) -> bytes:
        """The request body; 413 past ``MAX_BODY`` (read on, up to 64 times that, so the client
        gets the answer instead of a reset connection)."""
        chunks: list[bytes] = []
        size = 0
        while size <= 64 * MAX_BODY:
            message = await receive()
            if message.get("type") == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= MAX_BODY:
                chunks.append(chunk)
            if not message.get("more_body"):
                break
        if size > MAX_BODY:
            raise _BadRequestError(413, f"control request bodies are limited to {MAX_BODY} bytes")
        return b"".join(chunks)

    def _dispatch(self, method: str, route: str, body: bytes) -> tuple[int, Any]:
        state = self.state
        routes = {(m, p) for m, p, _ in CONTROL_ROUTES}
        if (method, route) not in routes:
            if any(p == route for _, p, _ in CONTROL_ROUTES):
                raise _BadRequestError(405, f"{method} is not allowed on {route}")
            raise _BadRequestError(404, {"error": f"no control route {route!r}", "routes": _route_list()})
        try:
            if route == "/_sim":
                return 200, self.describe()
            if route == "/_sim/jobs":
                if method == "GET":
                    return 200, {"jobs": [j.to_dict() for j in state.jobs()]}
                job_in = _parse(JobIn, body)
                script = job_in.script if isinstance(job_in.script, str) else job_in.script.to_script()
                job = state.create_job(
                    job_in.provider,
                    script,
                    job_id=job_in.job_id,
                    step=job_in.step,
                    faults=[f.to_fault() for f in job_in.faults],
                )
                return 201, {"ref": job.ref, "job": state.info(job).to_dict()}
            if route == "/_sim/faults":
                if method == "GET":
                    return 200, {"faults": state.faults()}
                if method == "DELETE":
                    state.clear_faults()
                    return 200, {"faults": []}
                fault_in = _parse(FaultPostIn, body)
                fault = fault_in.to_fault()
                state.add_fault(fault, provider=fault_in.provider, ref=fault_in.ref)
                return 201, {"fault": fault.to_dict(), "faults": state.faults()}
            if route == "/_sim/clock/advance":
                state.clock.advance(_parse(AdvanceIn, body).seconds)
            elif route == "/_sim/clock/freeze":
                state.clock.freeze()
            elif route == "/_sim/clock/unfreeze":
                state.clock.unfreeze()
            elif route == "/_sim/requests":
                return 200, {"requests": [r.to_dict() for r in state.requests()]}
            elif route == "/_sim/reset":
                state.reset()
                return 200, {"reset": True}
            elif route == "/_sim/scripts":
                return 200, _scripts()
            return 200, self._clock()
        except (ValueError, TypeError, KeyError) as exc:
            raise _BadRequestError(400, str(exc).strip("'\"")) from exc

    def _clock(self) -> dict[str, Any]:
        clock = self.state.clock
        return {
            "now": clock.datetime().isoformat().replace("+00:00", "Z"),
            "frozen": clock.frozen,
            "offset": clock.offset,
        }

    def describe(self) -> dict[str, Any]:
        """What ``GET /_sim`` answers."""
        return {
            "providers": {
                name: {
                    "prefix": f"/{name}",
                    "status_path": f"/{name}{sim.path(sim.id_placeholder)}",
                    "token": self.state.tokens.get(name),
                    "auth": {
                        "bearer": "Authorization: Bearer <token>",
                        "header": f"{sim.auth_header}: <token>",
                    }.get(sim.auth or "", "none"),
                    "scripts": list(providers.SCRIPTS[name]),
                    "paths": [
                        {"method": r.method, "path": f"/{name}{r.template()}", "kind": r.kind, "source": r.source}
                        for r in sim.routes
                    ],
                }
                for name, sim in sorted(providers.PROVIDER_SIMS.items())
            },
            "clock": self._clock(),
            "routes": _route_list(),
        }


def _route_list() -> list[str]:
    return [f"{m} {p}: {what}" for m, p, what in CONTROL_ROUTES]


def _scripts() -> dict[str, Any]:
    return {p: {name: s.description for name, s in scripts.items()} for p, scripts in providers.SCRIPTS.items()}


def _parse(model: type[_M], body: bytes) -> _M:
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise _BadRequestError(400, f"the body is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise _BadRequestError(400, "the body is not JSON the simulator reads: nested too deeply") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _BadRequestError(
            422, [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        ) from exc


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return {520: "Web Server Returned an Unknown Error"}.get(status, "Unknown Error")
