"""The duration model (``docstatus.Durations``) and the schedule it drives in the sans-IO
``Waiter``: properties over any model, policy and sequence of answers (hypothesis), and what a
warm model does to requests and lag on a simulated clock."""

from __future__ import annotations

import contextlib
import json
import math
import pickle
import random
import sys
from typing import Any

import pytest
from docstatus import (
    Durations,
    JobStatus,
    Pages,
    ProviderServerError,
    RateLimited,
    State,
    TransportError,
    WaitPolicy,
)
from docstatus._waiting import _durations
from docstatus._waiting._core import Action, Step, Waiter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- helpers


def running(provider: str = "artos", *, pages: int | None = None, progress: float | None = None) -> JobStatus:
    return JobStatus(
        provider=provider,  # type: ignore[arg-type]
        job_id="j-1",
        state=State.RUNNING,
        provider_state="running",
        progress=progress,
        pages=None if pages is None else Pages(total=pages),
    )


def ended(provider: str = "artos", *, pages: int | None = None) -> JobStatus:
    return JobStatus(
        provider=provider,  # type: ignore[arg-type]
        job_id="j-1",
        state=State.SUCCEEDED,
        provider_state="done",
        progress=1.0,
        pages=None if pages is None else Pages(total=pages),
    )


def warm(kind: str = "artos", median: float = 30.0, sigma: float = 0.3, n: int = 60, seed: int = 1) -> Durations:
    model = Durations()
    rng = random.Random(seed)  # noqa: S311  # test data, not crypto
    for _ in range(n):
        model.record(kind, rng.lognormvariate(math.log(median), sigma))
    return model


def job(
    policy: WaitPolicy, duration: float, *, seed: int = 0, provider: str = "artos", pages: int | None = None
) -> tuple[int, float]:
    """(requests, lag) of one wait on a job of ``duration`` s, on a simulated clock."""
    waiter = Waiter.start(f"{provider}:j-1", policy, 0.0, draw=random.Random(seed).random)  # noqa: S311
    step, now, polls = waiter.first(), 0.0, 0
    while step.action is Action.POLL:
        now += step.delay
        polls += 1
        status = ended(provider, pages=pages) if now >= duration else running(provider, pages=pages)
        step = waiter.on_status(status, now)
    assert step.action is Action.RETURN
    return polls, now - duration


# --- kinds


def test_a_kind_is_the_provider_and_the_page_bucket_the_status_tells() -> None:
    kind = Durations.kind_of
    assert kind(running("artos")) == "artos"
    assert kind(running("neurolinker", pages=1)) == "neurolinker/pages=1"
    assert kind(running("neurolinker", pages=2)) == "neurolinker/pages=2"
    assert kind(running("sarvam", pages=10)) == kind(running("sarvam", pages=8)) == "sarvam/pages=8-11"
    assert kind(running("sarvam", pages=12)) == "sarvam/pages=12-15"
    assert kind(running("sarvam_docai", pages=1200)) == "sarvam_docai/pages=1024-1448"
    assert kind(running("sarvam", pages=0)) == "sarvam"  # no pages listed yet
    assert kind(running("sarvam", pages=10**40)) == "sarvam/pages=1073741824-"  # the last, open bucket


@given(st.integers(min_value=1, max_value=2**40))
def test_every_page_count_falls_in_the_bucket_its_kind_names(pages: int) -> None:
    name = Durations.kind_of(running("neurolinker", pages=pages))
    low, _, high = name.removeprefix("neurolinker/pages=").partition("-")
    assert int(low) <= pages
    assert high == "" or pages <= int(high) if "-" in name.split("=")[1] else pages == int(low)
    assert _durations._kind_key(name) == ("neurolinker", _durations._bucket(pages))  # the name reads back


@pytest.mark.parametrize(
    "name",
    ["", "nope", "artos/", "artos/pages=", "artos/pages=3-4", "neurolinker/pages=0", "sarvam/pages=2-1", "artos/x", 7],
)
def test_a_kind_that_is_not_one_is_refused(name: Any) -> None:
    with pytest.raises(ValueError, match="kind"):
        Durations().record(name, 1.0)


# --- learning


def test_a_job_that_ends_teaches_the_model_under_the_kind_of_its_last_status() -> None:
    model = Durations()
    policy = WaitPolicy(durations=model, jitter=0.0)
    waiter = Waiter.start("sarvam:j-1", policy, 0.0)
    waiter.first()
    waiter.on_status(running("sarvam"), 0.0)  # no pages yet
    step = waiter.on_status(running("sarvam", pages=10), 1.0)
    waiter.on_status(ended("sarvam", pages=10), 1.0 + step.delay)
    assert model.kinds == ("sarvam/pages=8-11",)
    assert model.samples("sarvam/pages=8-11") == pytest.approx(1.0)
    # between the answer before (1 s) and the one that saw the end
    assert 1.0 <= model.quantile("sarvam/pages=8-11", 0.5) <= 1.0 + step.delay  # type: ignore[operator]


def test_a_job_seen_ended_at_its_first_poll_or_waited_on_without_a_model_teaches_nothing() -> None:
    model = Durations()
    waiter = Waiter.start("artos:j-1", WaitPolicy(durations=model), 0.0)
    waiter.first()
    assert waiter.on_status(ended(), 0.5).action is Action.RETURN
    assert model.kinds == ()
    off = Waiter.start("artos:j-1", WaitPolicy(durations=None), 0.0)
    off.on_status(running(), 0.0)
    off.on_status(ended(), 1.0)
    assert Durations.shared().kinds == ()


def test_times_that_contradict_each_other_teach_nothing() -> None:
    model = Durations()
    model.ended(running(), 10.0, 5.0, 20.0)  # the answer before came before the start
    model.ended(running(), 0.0, 30.0, 20.0)  # ... or after the end
    model.ended(running(), 0.0, 1.0, math.nan)
    model.ended(running(), 0.0, 1.0, 100.0)  # the end known too roughly (between 1 s and 100 s)
    assert model.kinds == ()
    model.ended(running(), 0.0, 9.0, 11.0)
    assert model.quantile("artos", 0.5) == pytest.approx(10.0, rel=0.15)


@pytest.mark.parametrize("bad", [math.nan, -1.0, math.inf, -math.inf, "3", None, True, 10**400])
def test_record_refuses_a_time_that_is_not_one(bad: Any) -> None:
    with pytest.raises(ValueError, match="duration"):
        Durations().record("artos", bad)


def test_the_quantiles_follow_the_samples_and_then_a_change_of_the_jobs() -> None:
    model = warm("artos", median=30.0, sigma=0.3, n=400)
    assert model.quantile("artos", 0.5) == pytest.approx(30.0, rel=0.06)
    assert model.quantile("artos", 0.9) == pytest.approx(30.0 * math.exp(1.2816 * 0.3), rel=0.1)
    rng = random.Random(2)  # noqa: S311
    for _ in range(300):  # the jobs now take twice as long: three half-lives later, the model says so
        model.record("artos", rng.lognormvariate(math.log(60.0), 0.3))
    assert model.quantile("artos", 0.5) == pytest.approx(60.0, rel=0.1)


def test_outliers_barely_move_the_window() -> None:
    model = warm("artos", median=30.0, n=200)
    before = model.quantile("artos", 0.5), model.quantile("artos", 0.9)
    for wild in (0.0, 1e-9, 1e12, 86400.0 * 365):
        model.record("artos", wild)
    after = model.quantile("artos", 0.5), model.quantile("artos", 0.9)
    assert after[0] == pytest.approx(before[0], rel=0.05)
    assert after[1] == pytest.approx(before[1], rel=0.1)


# --- the schedule on a simulated clock


def test_a_warm_model_makes_fewer_requests_on_short_jobs_and_less_lag_on_long_ones() -> None:
    def fleet(median: float, model: Durations | None) -> tuple[float, float]:
        policy = WaitPolicy(durations=model, timeout=20 * median)
        rng = random.Random(5)  # noqa: S311
        runs = [job(policy, rng.lognormvariate(math.log(median), 0.3), seed=i) for i in range(60)]
        return sum(r for r, _ in runs) / len(runs), sum(lag for _, lag in runs) / len(runs)

    short_cold, short_warm = fleet(3.0, None), fleet(3.0, warm("artos", median=3.0))
    assert short_warm[0] < 0.7 * short_cold[0]  # about 2.4 requests against 4.5
    assert short_warm[1] < 1.2  # and the end is still seen within about a second
    long_cold, long_warm = fleet(300.0, None), fleet(300.0, warm("artos", median=300.0))
    assert long_warm[1] < 0.25 * long_cold[1]  # about 2 s of lag against 16 s


def test_the_schedule_is_sparse_before_the_window_and_dense_in_it() -> None:
    model = warm("artos", median=600.0, sigma=0.2, n=300)
    policy = WaitPolicy(durations=model, jitter=0.0, timeout=7200)
    waiter = Waiter.start("artos:j-1", policy, 0.0)
    waiter.first()
    now, delays = 0.0, []
    while now < 1500:
        step = waiter.on_status(running(), now)
        delays.append((now, step.delay))
        now += step.delay
    early = [d for t, d in delays if t < 250]  # before the 1 % quantile (~370 s)
    likely = [d for t, d in delays if 500 <= t <= 700]
    assert early
    assert min(early) >= 20.0  # no backoff from 1 s: a handful of polls up to max_delay apart
    assert all(d <= policy.max_delay for _, d in delays)
    assert likely
    assert max(likely) < 10.0  # dense where such jobs end
    assert min(likely) >= policy.lag_target
    late = [d for t, d in delays if t > 1300]  # past the 0.99 quantile (~960 s): the backoff again
    assert late
    assert max(late) > 20.0


def test_an_error_goes_back_to_the_backoff() -> None:
    model = warm("artos", median=30.0)
    waiter = Waiter.start("artos:j-1", WaitPolicy(durations=model, jitter=0.0), 0.0)
    twin = Waiter.start("artos:j-1", WaitPolicy(durations=None, jitter=0.0), 0.0)
    for w in (waiter, twin):
        w.first()
        w.on_status(running(), 0.0)
    error = TransportError("dropped", provider="artos", ref="artos:j-1")
    assert waiter.on_error(error, 25.0).delay == twin.on_error(error, 25.0).delay


def test_the_shared_model_learns_from_every_wait_of_the_process() -> None:
    policy = WaitPolicy(timeout=600)  # the default: the shared model
    assert policy.durations is Durations.shared()
    for i in range(12):
        job(policy, 20.0 + i % 3, seed=i)
    assert Durations.shared().samples("artos") == pytest.approx(12.0, rel=0.15)
    cold = job(WaitPolicy(durations=None, timeout=600), 21.0)
    warm_ = job(policy, 21.0)
    assert warm_[0] < cold[0]


# --- properties


KINDS = ("artos", "neurolinker/pages=8-11", "sarvam")


@st.composite
def models(draw: st.DrawFn) -> Durations:
    """A model with any samples (maybe none, maybe too few) for a few kinds."""
    model = Durations()
    for kind in KINDS:
        samples = draw(st.lists(st.floats(min_value=0.0, max_value=1e7, allow_nan=False), max_size=40))
        if draw(st.booleans()):
            samples = samples + [draw(st.floats(min_value=0.5, max_value=3600.0))] * draw(st.integers(0, 40))
        for seconds in samples:
            model.record(kind, seconds)
    return model


@st.composite
def policies(draw: st.DrawFn, durations: Durations | None) -> WaitPolicy:
    min_delay = draw(st.floats(min_value=0.01, max_value=2.0))
    return WaitPolicy(
        timeout=draw(st.floats(min_value=1.0, max_value=20000.0)),
        initial_delay=draw(st.floats(min_value=0.05, max_value=10.0)),
        multiplier=draw(st.floats(min_value=1.0, max_value=3.0)),
        max_delay=draw(st.floats(min_value=min_delay, max_value=600.0)),
        jitter=draw(st.floats(min_value=0.0, max_value=0.9)),
        lag_ratio=draw(st.none() | st.floats(min_value=0.0, max_value=1.0)),
        min_delay=min_delay,
        max_hint=draw(st.floats(min_value=min_delay, max_value=1000.0)),
        use_progress=draw(st.booleans()),
        lag_target=draw(st.floats(min_value=0.01, max_value=100.0)),
        durations=durations,
    )


#: One answer: (seconds the request took, what came back, hint).
ANSWER = st.tuples(
    st.floats(min_value=0.0, max_value=30.0),
    st.sampled_from(["running", "pages", "progress", "queued", "transient", "429", "ended"]),
    st.none() | st.floats(min_value=0.0, max_value=2000.0),
    st.floats(min_value=0.0, max_value=1.0),
)


def answer(waiter: Waiter, now: float, what: str, hint: float | None, x: float) -> Step:
    if what == "transient":
        return waiter.on_error(ProviderServerError("502", provider="artos", ref=waiter.ref, retry_after=hint), now)
    if what == "429":
        return waiter.on_error(RateLimited("429", provider="artos", ref=waiter.ref, retry_after=hint), now)
    provider = waiter.provider
    if what == "ended":
        return waiter.on_status(ended(provider), now, retry_after=hint)
    if what == "queued":
        queued = JobStatus(provider=provider, job_id="j-1", state=State.QUEUED, provider_state="queued")  # type: ignore[arg-type]
        return waiter.on_status(queued, now, retry_after=hint)
    pages = 10 if what == "pages" else None
    progress = min(0.99, x) if what == "progress" else None
    return waiter.on_status(running(provider, pages=pages, progress=progress), now, retry_after=hint)


def drive(
    policy: WaitPolicy, script: list[tuple[float, str, float | None, float]], seed: int, ref: str = "artos:j-1"
) -> list[tuple[float, str, float | None, Step]]:
    """Run a waiter through ``script``; each answer arrives its request time after the poll was
    due. Returns (when, what, hint, step) per answer."""
    waiter = Waiter.start(ref, policy, 0.0, draw=random.Random(seed).random)  # noqa: S311
    step, now, out = waiter.first(), 0.0, []
    for took, what, hint, x in script:
        if step.action is not Action.POLL:
            break
        now += step.delay + took
        step = answer(waiter, now, what, hint, x)
        out.append((now, what, hint, step))
    return out


@PROPERTIES
@given(st.data(), models(), st.lists(ANSWER, max_size=60), st.integers(0, 2**32), st.sampled_from(KINDS))
def test_never_a_poll_after_the_deadline(
    data: st.DataObject, model: Durations, script: list[Any], seed: int, kind: str
) -> None:
    policy = data.draw(policies(model))
    ref = {"artos": "artos:j-1", "sarvam": "sarvam:j-1"}.get(kind, "neurolinker:j-1")
    for now, _, _, step in drive(policy, script, seed, ref):
        if step.action is Action.POLL:
            assert step.delay >= 0
            assert now + step.delay <= policy.timeout + 1e-6


@PROPERTIES
@given(st.data(), models(), st.lists(ANSWER, max_size=60), st.integers(0, 2**32))
def test_never_a_poll_inside_a_retry_after(data: st.DataObject, model: Durations, script: list[Any], seed: int) -> None:
    policy = data.draw(policies(model))
    for now, what, hint, step in drive(policy, script, seed):
        if step.action is Action.POLL and hint is not None and what != "ended":
            # the hint, as clamped by the policy (at most max_hint), unless the deadline comes first
            assert step.delay == pytest.approx(min(policy.clamp_hint(hint), policy.timeout - now))


@PROPERTIES
@given(
    st.floats(min_value=1.0, max_value=5000.0),
    st.floats(min_value=0.05, max_value=1.5),
    st.floats(min_value=0.05, max_value=120.0),
    st.floats(min_value=0.0, max_value=0.9),
    st.lists(st.floats(min_value=0.0, max_value=20000.0), min_size=1, max_size=40),
    st.integers(0, 2**32),
)
def test_the_model_never_polls_more_often_than_the_lag_target_asks(
    median: float, sigma: float, lag_target: float, jitter: float, times: list[float], seed: int
) -> None:
    model = warm("artos", median=median, sigma=sigma, n=40, seed=seed)
    draw = random.Random(seed).random  # noqa: S311
    for waited in times:
        delay = model.delay(running(), waited, lag_target, jitter, draw)
        assert delay is None or delay >= lag_target
    # and in a waiter, whatever its bounds: never closer than the lag target (or max_delay, or
    # min_delay if larger), unless the deadline or a hint cuts the sleep
    policy = WaitPolicy(durations=model, lag_target=lag_target, jitter=jitter, timeout=30000.0, use_progress=False)
    waiter = Waiter.start("artos:j-1", policy, 0.0, draw=draw)
    waiter.first()
    now = 0.0
    for _ in range(300):
        modelled = model.delay(running(), now, lag_target, 0.0, lambda: 0.5) is not None
        step = waiter.on_status(running(), now)
        if modelled:
            assert step.delay >= min(max(lag_target, policy.min_delay), policy.max_delay) - 1e-9
        now += step.delay


@PROPERTIES
@given(
    st.data(),
    st.lists(ANSWER, max_size=60),
    st.integers(0, 2**32),
    st.integers(0, 9),
    st.sampled_from(["empty", "few", "other kinds"]),
)
def test_cold_start_is_exactly_the_schedule_without_a_model(
    data: st.DataObject, script: list[Any], seed: int, few: int, how: str
) -> None:
    model = Durations()
    if how == "few":  # fewer samples than WARM
        for i in range(few):
            model.record("artos", 5.0 + i)
    elif how == "other kinds":
        model = warm("neurolinker/pages=8-11", n=50)
        model.merge(warm("sarvam", n=50))
    policy = data.draw(policies(model))
    script = [s for s in script if s[1] != "ended"]  # a job that ends would teach the model
    with_model = drive(policy, script, seed)
    without = drive(WaitPolicy(**{**_fields(policy), "durations": None}), script, seed)
    assert [(n, _seen(s)) for n, _, _, s in with_model] == [(n, _seen(s)) for n, _, _, s in without]


def _seen(step: Step) -> tuple[Any, ...]:
    """A step as a caller sees it (errors compared by type and message)."""
    error = step.error
    return (step.action, step.delay, step.request_timeout, step.status, step.changed, step.warning) + (
        (None,) if error is None else (type(error), str(error))
    )


def _fields(policy: WaitPolicy) -> dict[str, Any]:
    import attrs  # noqa: PLC0415

    return attrs.asdict(policy, recurse=False)


@PROPERTIES
@given(
    st.lists(
        st.tuples(
            st.sampled_from(KINDS),
            st.floats(allow_nan=True, allow_infinity=True) | st.integers(min_value=-(10**30), max_value=10**30),
        ),
        max_size=300,
    )
)
def test_the_model_stays_small_whatever_it_is_fed(samples: list[tuple[str, float]]) -> None:
    model = Durations()
    for kind, seconds in samples:
        try:
            model.record(kind, seconds)
        except ValueError:
            assert not (isinstance(seconds, float | int) and 0 <= seconds < math.inf)
        model.ended(running(), 0.0, float(abs(hash(seconds)) % 100), float(abs(hash(kind)) % 200))
    for kind in model.kinds:
        model.delay(running(), 1.0, 1.0, 0.2, random.random)  # makes a plan
        assert 0 < model.samples(kind) <= _durations._most_weight(10**9) + 1e-6
    _assert_small(model)


def test_a_flood_of_one_kind_and_of_every_kind_stays_bounded() -> None:
    model = Durations()
    for i in range(20000):
        model.record("artos", 1e6 if i % 2 else 1e-3)
    for provider in ("artos", "sarvam", "neurolinker", "sarvam_docai", "aitronos", "markdown2pdf"):
        for pages in [*range(1, 5000, 7), 10**12, 2**62]:
            model.ended(running(provider, pages=pages), 0.0, 1.0, 2.0)
    assert len(model.kinds) <= 6 * (_durations.BUCKETS + 2)
    assert model.samples("artos") <= _durations._most_weight(20000) + 1e-6
    _assert_small(model)


def _assert_small(model: Durations) -> None:
    """<= 64 kB per kind: in memory (its arrays and plans) and in its JSON form."""
    form = model.to_dict()
    for name, entry in form["kinds"].items():
        assert len(json.dumps(entry)) <= 64 * 1024, name
    for kind in model._kinds.values():
        size = sys.getsizeof(kind.weights) + sys.getsizeof(kind.fresh)
        for plan in kind.plans.values():
            if plan is not None:
                size += (
                    sys.getsizeof(plan.counts) + sys.getsizeof(plan.rates) + 24 * (len(plan.counts) + len(plan.rates))
                )
        assert size <= 64 * 1024
        assert len(kind.plans) <= 2
    assert len(model._kinds) <= _durations.MAX_KINDS


# --- the JSON form


@PROPERTIES
@given(models())
def test_to_dict_and_from_dict_round_trip(model: Durations) -> None:
    form = model.to_dict()
    text = json.dumps(form, allow_nan=False)  # JSON-safe
    back = Durations.from_dict(json.loads(text))
    assert back.to_dict() == form
    for kind in model.kinds:
        assert back.samples(kind) == pytest.approx(model.samples(kind))
        for waited in (0.0, 1.0, 10.0, 100.0, 1000.0):
            status = running(kind.split("/")[0], pages=10 if "pages" in kind else None)
            assert back.delay(status, waited, 1.0, 0.0, lambda: 0.5) == pytest.approx(
                model.delay(status, waited, 1.0, 0.0, lambda: 0.5)
            )


def test_a_model_pickles_as_its_json_form() -> None:
    model = warm("artos", n=30)
    back = pickle.loads(pickle.dumps(model))  # noqa: S301  # our own bytes
    assert back.to_dict() == model.to_dict()
    back.record("artos", 3.0)  # and it works (its lock was made again)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=30,
)


@PROPERTIES
@given(JSON)
def test_from_dict_raises_only_value_error_on_anything(value: Any) -> None:
    with contextlib.suppress(ValueError):  # any other exception fails the test
        Durations.from_dict(value)


def _valid() -> dict[str, Any]:
    return warm("artos", n=30).to_dict()


def _set(path: list[Any], value: Any) -> dict[str, Any]:
    form = _valid()
    target: Any = form
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return form


@pytest.mark.parametrize(
    ("form", "says"),
    [
        (_set(["v"], 2), "version"),
        (_set(["v"], value=True), "version"),
        (_set(["bins", "per_octave"], 4), "layout"),
        (_set(["kinds"], []), "kinds"),
        (_set(["kinds", "artos", "samples"], -1), "samples"),
        (_set(["kinds", "artos", "samples"], 1.5), "samples"),
        (_set(["kinds", "artos", "samples"], 1), "more than 1 samples weigh"),  # weights claim more
        (_set(["kinds", "artos", "weights"], [[0, math.nan]]), "weight"),
        (_set(["kinds", "artos", "weights"], [[0, -1.0]]), "weight"),
        (_set(["kinds", "artos", "weights"], [[0, math.inf]]), "weight"),
        (_set(["kinds", "artos", "weights"], [[_durations.BINS, 1.0]]), "bin"),
        (_set(["kinds", "artos", "weights"], [[True, 1.0]]), "bin"),
        (_set(["kinds", "artos", "weights"], [[0, 1.0, 2.0]]), "pairs"),
        (_set(["kinds", "artos", "weights"], [[0, 0.1]] * (_durations.BINS + 1)), "at most"),
        (_set(["kinds", "artos", "weights"], {"0": 1.0}), "weights"),
        (_set(["kinds", "nope"], {"samples": 1, "weights": []}), "kind"),
        (_set(["kinds", "artos"], "x"), "object"),
        ({"v": 1, "bins": _valid()["bins"], "kinds": {f"artos{i}": {} for i in range(2000)}}, "more than"),
        ([], "JSON object"),
    ],
)
def test_from_dict_refuses_a_bad_value_saying_what(form: Any, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Durations.from_dict(form)


# --- several processes


def test_drain_merge_adopt_share_a_fleets_samples_once() -> None:
    fleet = Durations()  # the shared value (in Redis, say)
    a, b = Durations(), Durations()
    for i in range(30):
        a.record("artos", 10.0 + i % 5)
        b.record("artos", 10.0 + i % 5)
    for worker in (a, b, a):  # each worker: drain what it learned, fold it in, take the fleet's back
        fleet.merge(worker.drain())
        worker.adopt(fleet)
    assert fleet.samples("artos") == pytest.approx(a.samples("artos")) == pytest.approx(b.samples("artos"))
    assert fleet.samples("artos") > 1.5 * warm("artos", n=30).samples("artos")  # both workers' samples
    again = Durations()
    again.merge(a.drain())  # nothing new since: nothing counted twice
    assert again.kinds == ()
    a.record("artos", 12.0)  # recorded after the adopt: kept on top, and drained next time
    assert a.samples("artos") == pytest.approx(fleet.samples("artos") * 2 ** (-1 / 100) + 1, rel=1e-6)
    assert a.drain().samples("artos") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="itself"):
        a.merge(a)


def test_the_policy_takes_only_a_model_or_none() -> None:
    with pytest.raises(TypeError):
        WaitPolicy(durations="shared")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lag_target"):
        WaitPolicy(lag_target=0.0)
    assert WaitPolicy().durations is Durations.shared()
    assert WaitPolicy(durations=None).durations is None


def test_the_model_repr_is_short() -> None:
    assert repr(warm("artos", n=12)) == "Durations(kinds=1, samples=12)"
