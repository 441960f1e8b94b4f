"""How long jobs take, learned from the jobs already seen, and the schedule that polls where a
job will end. Sans-IO: no clock, no I/O, no threads of its own; the caller gives the times.

**Kinds.** Jobs are grouped by what their status tells before they end (``kind_of``): the
provider, and the page count when the status reports one, in half-octave buckets (1, 2, 3,
4-5, 6-7, 8-11, 12-15, 16-22, 23-31, 32-45, ...: durations that grow with pages differ by at
most ~1.41x within a bucket). The page count is ``pages.total`` as the provider's module maps
it (``_providers/``): a provider whose statuses report no size has one kind (its ``step`` is a
phase of a job, not a kind of job), and a job may change kind once, when its status first
reports a page count.

Each provider has one status operation, so the operation adds nothing. Kinds are named
``"<provider>"`` or ``"<provider>/pages=<low>-<high>"`` (``"<provider>/pages=8-11"``); there
are at most ``BUCKETS + 1`` per provider, and none is made of provider text.

**The model** (per kind): a histogram of the time from the start of a wait to the end of the
job, over log-spaced bins (``PER_OCTAVE`` a doubling, about 9 % wide each, from ``LOW`` = 1/8 s
to ``LOW * 2 ** OCTAVES``, about 6 days; shorter and longer times count in the end bins). Each
sample is spread over the bins around it (a Gaussian of ``KERNEL`` bins) and weighs
``2 ** (1 / HALF_LIFE)`` times the one before: the model follows a change of the jobs within
about ``HALF_LIFE`` samples, and one wild value is one sample among a hundred at an end of the
range. A kind's size is fixed (``BINS`` numbers, ~3 kB, whatever it has seen); a model keeps at
most ``MAX_KINDS`` kinds. A kind is used once its samples weigh ``WARM``; before that, waiting
is exactly what it is without a model.

**Only a model that was warm before the job.** A job is scheduled by a kind only if that kind
was already warm when the job was first seen (``warm_kinds`` at its first status; the caller
keeps the answer, ``Waiter.warm``). Jobs that start together teach the model nothing but their
shortest durations at first (the first to end are the shortest: the longer ones are still
running, unseen), so a model learned from a job's own siblings would poll every job of a burst
densely where the short ones ended, again and again as the latest ending moves on (a cold
burst of 3,000 jobs of ~30 s made 25 polls a job against 16 without a model). A job of a burst
is polled as without a model; jobs seen later, or under a model that came warm (a tracker's
file, the Celery fleet's Redis, ``record``), use it.

**The schedule** (``Durations.delay``). The hazard ``h(t)``, the chance per second that a job
still running at ``t`` ends now (read from the histogram mixed with a small log-uniform prior,
``PRIOR``: a job may end anywhere), sets how densely to poll: ``sqrt(h / (2 * w))`` polls a
second, where ``w`` is what a request is worth in seconds of lag (``worth``). That is the rate
at which one more request saves as much lag as it costs (the classic answer to "when should a
thing that fails at a random time be inspected"), and it is never above one poll per
``WaitPolicy.lag_target``. So polls are sparse while a job is unlikely to end (before the
early quantiles), dense where it is likely to (sparser the wider the spread), and past the
``LATE`` quantile the caller goes back to its backoff. The next poll falls where the expected
count of polls since now reaches one (give or take the policy's jitter, so that a fleet does
not poll in step).
"""

from __future__ import annotations

import math
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Final

from docstatus._registry import known, names

from ._stored import read_stored

if TYPE_CHECKING:
    from collections.abc import Callable

    from docstatus._status import JobStatus

#: The version of ``Durations.to_dict()``'s form (it fixes the bins: ``LOW``, ``PER_OCTAVE``,
#: ``OCTAVES``).
DURATIONS_VERSION: Final = 1
#: Seconds: the first bin ends at ``LOW * 2 ** (1 / PER_OCTAVE)``; it holds every shorter time.
LOW: Final = 0.125
#: Bins per doubling of the time.
PER_OCTAVE: Final = 8
#: Doublings covered: up to ``LOW * 2 ** OCTAVES`` seconds (about 6 days); longer times count
#: in the last bin.
OCTAVES: Final = 22
#: Bins per kind.
BINS: Final = PER_OCTAVE * OCTAVES
#: A sample weighs half as much as one recorded this many samples later.
HALF_LIFE: Final = 100
#: The weight of samples (the newest weighing 1) from which a kind is used.
WARM: Final = 10.0
#: Past this quantile of a kind's durations, waiting goes back to its backoff.
LATE: Final = 0.995
#: The weight of the log-uniform prior mixed into every kind (a job may end anywhere).
PRIOR: Final = 0.001
#: Seconds of lag one request is worth for a kind whose median duration is 1 s (see ``worth``).
REQUEST_WORTH: Final = 1.5
#: How fast a request's worth falls as a kind's median duration grows (see ``worth``).
WORTH_EXPONENT: Final = 0.8
#: The standard deviation, in bins, of the Gaussian each sample is spread over.
KERNEL: Final = 1.5
#: The most kinds a model keeps (samples of further kinds are not recorded).
MAX_KINDS: Final = 1024
#: The longest stored form (``to_dict()`` as JSON) read back from a file or Redis: a kind is about
#: 4 kB at most, and a model has at most ``MAX_KINDS`` kinds. A longer one is damaged.
MAX_STORED: Final = MAX_KINDS * 8192
#: Page buckets: half-octaves up to ``2 ** (BUCKETS / 2)`` pages; more pages share the last.
BUCKETS: Final = 60

_G: Final = 2.0 ** (1.0 / HALF_LIFE)
_RESCALE: Final = 1e100
#: Bin edges: ``EDGES[b]`` starts bin ``b`` (``EDGES[0] = 0``), ``EDGES[BINS]`` ends the last.
EDGES: Final[tuple[float, ...]] = (0.0, *(LOW * math.pow(2.0, b / PER_OCTAVE) for b in range(1, BINS + 1)))
_WIDTHS: Final = tuple(EDGES[b + 1] - EDGES[b] for b in range(BINS))
_INVERSE_WIDTHS: Final = tuple(1.0 / w for w in _WIDTHS)
_LOG_LOW: Final = math.log2(LOW)
_LOW_BINS: Final = PER_OCTAVE * _LOG_LOW
_LOG2: Final = math.log2
_SPREAD: Final = math.ceil(4 * KERNEL)
_SQRT2: Final = math.sqrt(2.0)


def _bucket_of(pages: int) -> int:
    """The page bucket of ``pages >= 1``: ``floor(2 * log2(pages))``, at most ``BUCKETS``."""
    return min(BUCKETS, math.floor(2.0 * math.log2(pages)))


_SMALL: Final = (-1, *(_bucket_of(n) for n in range(1, 4096)))  # pages -> bucket, below 4096


def _bucket_range(bucket: int) -> tuple[int, int | None]:
    """The page counts of a bucket, ``(low, high)`` (``low > high``: a bucket no count falls
    in, such as 1); ``high`` is ``None`` for the last, open, one."""
    low = math.ceil(2.0 ** (bucket / 2))
    while low > 1 and _bucket(low - 1) >= bucket:  # the float edges, made exact
        low -= 1
    while _bucket(low) < bucket:
        low += 1
    if bucket >= BUCKETS:
        return low, None
    high = math.ceil(2.0 ** ((bucket + 1) / 2))
    while _bucket(high) > bucket:
        high -= 1
    while _bucket(high + 1) <= bucket:
        high += 1
    return low, high


def _bucket(pages: int | None) -> int:
    """The page bucket of a page count; ``-1`` for none (``None`` or below 1)."""
    if pages is None or pages < 1:
        return -1
    return _SMALL[pages] if pages < 4096 else _bucket_of(pages)


def _kind_name(key: tuple[str, int]) -> str:
    provider, bucket = key
    if bucket < 0:
        return provider
    low, high = _bucket_range(bucket)
    if high is None:
        return f"{provider}/pages={low}-"
    return f"{provider}/pages={low}" if low == high else f"{provider}/pages={low}-{high}"


def _kind_key(name: object) -> tuple[str, int]:
    """The key of a kind's name (``_kind_name``'s inverse); ``ValueError`` for any other text."""
    if not isinstance(name, str):
        raise ValueError(f"a kind is a string such as '<provider>/pages=6-8', not {type(name).__name__}")  # noqa: TRY004  # one error type for a bad value
    provider, _, pages = name.partition("/")
    if not known(provider):
        raise ValueError(f"kind {name!r:.80} does not start with a provider ({', '.join(names())})")
    if not pages and "/" not in name:
        return provider, -1
    low_text, _, _high = pages.removeprefix("pages=").partition("-")
    if pages.startswith("pages=") and low_text.isdigit() and len(low_text) < 12:
        key = provider, _bucket(int(low_text))
        if key[1] >= 0 and _kind_name(key) == name:  # the exact name of a bucket
            return key
    raise ValueError(f"kind {name!r:.80} is not '<provider>' or '<provider>/pages=<low>-<high>' of a page bucket")


def kind_of(status: JobStatus) -> str:
    """The kind of the job ``status`` is about (see the module docstring):
    ``"<provider>"`` or ``"<provider>/pages=<low>-<high>"``."""
    pages = status.pages
    return _kind_name((status.provider, _bucket(None if pages is None else pages.total)))


class _Plan:
    """A kind's schedule for one lag target: the expected count of polls ``counts[b]`` from 0 s
    to ``EDGES[b]`` and the rate of polls ``rates[b]`` within bin ``b``; ``late`` is the time
    past which the caller backs off."""

    __slots__ = ("counts", "late", "rates")

    def __init__(self, counts: list[float], rates: list[float], late: float) -> None:
        self.counts = counts
        self.rates = rates
        self.late = late


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / _SQRT2))


def _kernel(offset: float) -> tuple[tuple[int, float], ...]:
    """A sample ``offset`` bins into its bin, spread over the bins around: ``(bin - its bin,
    mass)`` pairs of a Gaussian of ``KERNEL`` bins, the masses adding up to 1."""
    pairs = []
    for k in range(-_SPREAD, _SPREAD + 1):
        mass = _phi((k + 1 - offset) / KERNEL) - _phi((k - offset) / KERNEL)
        pairs.append((k, mass))
    total = sum(m for _, m in pairs)
    return tuple((k, m / total) for k, m in pairs)


#: The kernels of samples at 16 offsets within a bin (a sample's offset is rounded to 1/32 bin).
_KERNELS: Final = tuple(_kernel((i + 0.5) / 16) for i in range(16))


class _Kind:
    """One kind's histogram. ``weights[b]`` are scaled by ``scale`` (the newest sample weighs
    ``scale``); ``fresh`` holds the samples since the last ``Durations.drain`` the same way."""

    __slots__ = ("count", "fresh", "fresh_count", "plans", "scale", "since", "total", "warm", "weights")

    def __init__(self) -> None:
        self.weights = array("d", bytes(8 * BINS))
        self.fresh = array("d", bytes(8 * BINS))
        self.scale = 1.0
        self.total = 0.0  # sum(weights), kept as samples are added
        self.count = 0  # samples recorded (a whole number, for the decay of a merge)
        self.fresh_count = 0
        self.since = 0  # samples since the plans were made
        self.plans: dict[float, _Plan | None] = {}
        self.warm = False

    def weight(self) -> float:
        """The samples' weight, the newest weighing 1."""
        return self.total / self.scale

    def add(self, position: float) -> None:
        """A sample at ``position`` (in bins from 0: ``PER_OCTAVE * log2(seconds / LOW)``),
        spread over its neighbours (those beyond the first or last bin count in it)."""
        scale = self.scale = self.scale * _G
        if scale > _RESCALE:
            self._rescale()
            scale = self.scale
        center = min(max(position, 0.0), BINS - 1e-9)
        base = int(center)
        weights, fresh = self.weights, self.fresh
        for k, mass in _KERNELS[int((center - base) * 16)]:
            b = base + k
            b = 0 if b < 0 else (BINS - 1 if b >= BINS else b)
            weights[b] += mass * scale
            fresh[b] += mass * scale
        self.total += scale
        self.count += 1
        self.fresh_count += 1
        self._touched()

    def add_weights(self, weights: list[float], count: int) -> None:
        """Fold in another histogram (weights on the newest-weighs-1 scale) of ``count`` samples
        recorded after this kind's: this kind's weights decay by ``count`` samples first."""
        decay = _G ** -min(count, 100 * HALF_LIFE)
        scale = self.scale
        mine = self.weights
        self.weights = array("d", [m * decay + theirs * scale for m, theirs in zip(mine, weights, strict=True)])
        self.fresh = array("d", [mine * decay for mine in self.fresh])
        self.total = sum(self.weights)
        self.count += count
        self._touched()

    def _touched(self) -> None:
        self.since += 1
        weight = self.total / self.scale
        self.warm = weight >= WARM
        # Plans are remade after every sample while few, then every 1/8 of the weight (at
        # most every 32 samples): a new sample barely moves a kind that has many.
        if self.since >= weight / 8.0 or self.since >= 32:
            self.since = 0
            self.plans = {}

    def _rescale(self) -> None:
        scale = self.scale
        self.weights = array("d", [w / scale for w in self.weights])
        self.fresh = array("d", [w / scale for w in self.fresh])
        self.total /= scale
        self.scale = 1.0

    def plan(self, lag_target: float) -> _Plan | None:
        """The schedule for ``lag_target`` (made once per lag target until the next remake);
        ``None`` while the kind is not warm."""
        plans = self.plans
        if lag_target in plans:
            return plans[lag_target]
        plan = self._make_plan(lag_target) if self.warm else None
        if len(plans) >= 2:  # two policies at once; more only remake
            plans = self.plans = {}
        plans[lag_target] = plan
        return plan

    def _make_plan(self, lag_target: float) -> _Plan | None:
        cumulative = list(accumulate(self.weights))
        total = cumulative[-1]
        if not total > 0:
            return None
        self.total = total  # exact again
        own, prior = (1.0 - PRIOR) / total, PRIOR / BINS
        # P(not ended by EDGES[b]), the samples mixed with a log-uniform prior (which makes it
        # fall in every bin); 0 at the end of the last bin, kept just above for the logarithm
        survive = [1.0, *(1.0 - own * c - prior * b for b, c in enumerate(cumulative, start=1))]
        survive[-1] = survive[-2] * 1e-9
        factor = 0.5 / worth(_quantile(cumulative, 0.5))
        most = 1.0 / lag_target
        log, sqrt = math.log, math.sqrt
        # the hazard in each bin, log(S(start) / S(end)) / width, sets the rate of polls
        rates = [
            sqrt(log(before / after) * factor * inverse)
            for before, after, inverse in zip(survive[:-1], survive[1:], _INVERSE_WIDTHS, strict=True)
        ]
        rates = [rate if rate < most else most for rate in rates]  # noqa: FURB136  # min() costs a call per bin
        counts = [0.0, *accumulate(rate * width for rate, width in zip(rates, _WIDTHS, strict=True))]
        return _Plan(counts, rates, _quantile(cumulative, LATE))

    def quantile(self, q: float) -> float:
        """The ``q`` quantile of the samples (the prior left out)."""
        return _quantile(list(accumulate(self.weights)), q)


def _quantile(cumulative: list[float], q: float) -> float:
    """The ``q`` quantile of a histogram given as its running sums, interpolated within its
    bin (log-linearly; linearly in the first bin, which starts at 0 s)."""
    goal = q * cumulative[-1]
    b = min(BINS - 1, bisect_left(cumulative, goal))
    before = cumulative[b - 1] if b else 0.0
    part = min(1.0, max(0.0, (goal - before) / (cumulative[b] - before))) if cumulative[b] > before else 1.0
    if b == 0:
        return EDGES[1] * part
    return EDGES[b] * math.pow(EDGES[b + 1] / EDGES[b], part)


def worth(median: float) -> float:
    """Seconds of lag one request is worth for a kind whose median duration is ``median``:
    ``REQUEST_WORTH * (median / 1 s) ** -WORTH_EXPONENT`` (1.5 s at a 1-s median, 0.63 s at
    3 s, 0.1 s at 30 s, 0.016 s at 5 min, 0.002 s at an hour). Where a job is likely to end,
    polls then come about every 1.1 s (a 3-s kind) to 2.5 s (an hour-long one) at a spread of
    sigma = 0.3, sparser for a wider spread. Calibrated on the providers' own pollers (every
    2 s; every 3 s; every 2 s growing to 10 s, whatever the job) and on the goals of issue 23
    (``bench/bench_wait.py``): fewer requests than theirs on jobs of seconds, less lag than
    the growing one and far fewer requests than the fixed one on jobs of minutes to hours."""
    return REQUEST_WORTH * math.pow(max(median, LOW), -WORTH_EXPONENT)


def _most_weight(count: int) -> float:
    """The most ``count`` samples weigh, the newest weighing 1 (each older one ``1 / _G`` of the
    next): a stored kind that claims more was not made by a model."""
    return (1.0 - _G ** -min(count, 100 * HALF_LIFE)) / (1.0 - 1.0 / _G)


class Durations:
    """What docstatus has learned about how long jobs take, per kind of job, and where to poll.

    Every ``wait``/``watch_many`` of a process shares one (``Durations.shared()``, the default
    ``WaitPolicy.durations``): a job that ends teaches it the time its wait took (from the start
    of the wait to the answer that showed the end, less half the last interval between polls),
    under the kind its last status before the end showed (``kind_of``). A job seen ended at its
    first poll teaches nothing. Safe to share between threads.

    Its JSON form (``to_dict``/``from_dict``) is small (a few kB a kind) and versioned, so a
    model can be saved, shared between processes (``drain``, ``merge``, ``adopt``) and seeded
    (``record``).
    """

    __slots__ = ("__weakref__", "_kinds", "_lock", "_slots", "_warm")

    def __init__(self) -> None:
        self._kinds: dict[tuple[str, int], _Kind] = {}
        #: The same kinds by provider, then by page bucket + 1 (0: no pages): the poll's lookup.
        self._slots: dict[str, list[_Kind | None]] = {}
        #: ``warm_kinds`` by provider, as last worked out (emptied when a kind may have warmed).
        self._warm: dict[str, int] = {}
        self._lock = threading.Lock()

    def _set_kinds(self, kinds: dict[tuple[str, int], _Kind]) -> None:
        """Make ``kinds`` this model's (under the lock, or before it is shared)."""
        slots: dict[str, list[_Kind | None]] = {}
        for (provider, bucket), kind in kinds.items():
            slots.setdefault(provider, [None] * (BUCKETS + 2))[bucket + 1] = kind
        self._kinds, self._slots, self._warm = kinds, slots, {}

    def _new_kind(self, key: tuple[str, int]) -> _Kind | None:
        """A new kind in this model (under the lock), or ``None`` when it has ``MAX_KINDS``."""
        if len(self._kinds) >= MAX_KINDS:
            return None
        kind = self._kinds[key] = _Kind()
        self._slots.setdefault(key[0], [None] * (BUCKETS + 2))[key[1] + 1] = kind
        return kind

    @staticmethod
    def kind_of(status: JobStatus) -> str:
        """The kind of the job ``status`` is about: ``"<provider>"`` or
        ``"<provider>/pages=<low>-<high>"`` (see ``docstatus._waiting._durations``)."""
        return kind_of(status)

    @classmethod
    def shared(cls) -> Durations:
        """The model this process shares (``WaitPolicy().durations``)."""
        return _SHARED

    def __repr__(self) -> str:
        samples = sum(k.count for k in list(self._kinds.values()))
        return f"Durations(kinds={len(self._kinds)}, samples={samples})"

    def __getstate__(self) -> dict[str, Any]:
        return self.to_dict()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._lock = threading.Lock()
        self._set_kinds(Durations.from_dict(state)._kinds)  # noqa: SLF001  # its own class

    # --- learning

    def record(self, kind: str, seconds: float) -> None:
        """Learn that a job of ``kind`` (``kind_of``'s form) took ``seconds`` (from the start of
        its wait to its end). ``ValueError`` for a kind that is not one, or a time that is not a
        finite number >= 0."""
        key = _kind_key(kind)
        try:
            value = float(seconds) if not isinstance(seconds, bool) and isinstance(seconds, int | float) else -1.0
        except OverflowError:  # an int beyond float range
            value = math.inf
        if not 0 <= value < math.inf:
            raise ValueError(f"a job's duration is a finite number of seconds >= 0, not {seconds!r:.80}")
        self._add(key, value)

    def ended(self, status: JobStatus, started: float, seen: float, now: float) -> None:
        """A job whose last status before the end was ``status`` was seen ended at ``now``; its
        wait started at ``started`` and the answer before was at ``seen`` (one clock, any
        origin). Bad or contradictory times teach nothing (a clock that went back)."""
        if not started <= seen <= now < math.inf:
            return
        seconds = (seen + now) / 2.0 - started
        if now - seen > 0.5 * seconds + 2.0:  # the end is known too roughly to teach much
            return
        pages = status.pages
        self._add((status.provider, _bucket(None if pages is None else pages.total)), seconds)

    def _add(self, key: tuple[str, int], seconds: float) -> None:
        position = PER_OCTAVE * (math.log2(seconds) - _LOG_LOW) if seconds > 0 else 0.0
        with self._lock:
            kind = self._kinds.get(key) or self._new_kind(key)
            if kind is not None:
                warm = kind.warm
                kind.add(position)
                if kind.warm is not warm:
                    self._warm = {}

    # --- what it knows

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds with samples, sorted."""
        return tuple(sorted(_kind_name(k) for k in list(self._kinds)))

    def copy(self) -> Durations:
        """A model of its own with the same samples."""
        out = Durations()
        out.merge(self)
        return out

    def total(self) -> int:
        """The samples of every kind, as stored (``to_dict``'s counts, summed)."""
        return sum(int(entry["samples"]) for entry in self.to_dict()["kinds"].values())

    def samples(self, kind: str) -> float:
        """The weight of ``kind``'s samples (the newest weighing 1, each older one less): 0 for
        a kind never seen. A kind is used from ``WARM``."""
        found = self._kinds.get(_kind_key(kind))
        return 0.0 if found is None else found.weight()

    def quantile(self, kind: str, q: float) -> float | None:
        """The ``q`` quantile (``0 < q < 1``) of ``kind``'s durations in seconds, or ``None`` for
        a kind never seen."""
        if not 0 < q < 1:
            raise ValueError(f"a quantile is a number between 0 and 1, not {q!r}")
        found = self._kinds.get(_kind_key(kind))
        return None if found is None or not found.total > 0 else found.quantile(q)

    # --- the schedule

    def warm_kinds(self, provider: str) -> int:
        """The kinds of ``provider`` this model uses now, as a set of bits (bit 0: the kind
        without a page count, bit ``1 + b``: page bucket ``b``), for ``delay(warm=...)``: what a
        job's first status is given, so that the job is never scheduled by a kind that warmed
        while it ran, from its own siblings (see the module docstring)."""
        found = self._warm.get(provider)
        if found is None:
            slots = self._slots.get(provider)
            found = 0
            if slots is not None:
                for i, kind in enumerate(slots):
                    if kind is not None and kind.warm:
                        found |= 1 << i
            self._warm[provider] = found
        return found

    def delay(
        self,
        status: JobStatus,
        waited: float,
        lag_target: float,
        jitter: float,
        draw: Callable[[], float],
        warm: int = -1,
    ) -> float | None:
        """Seconds from now to the next poll of a job whose last status is ``status``, ``waited``
        seconds into its wait, or ``None`` where the model has nothing to say (a kind not yet
        warm, or not among ``warm``, the kinds that were warm when the job was first seen:
        ``warm_kinds``, all by default; past its ``LATE`` quantile, or beyond the bins): then
        the caller backs off as it would without a model. Never below ``lag_target``;
        ``jitter`` (a fraction, with one ``draw()`` in [0, 1)) moves the poll by up to half
        that fraction of a poll interval either way. The caller applies its own bounds
        (``min_delay``, ``max_delay``)."""
        slots = self._slots.get(status.provider)
        if slots is None:
            return None
        pages = status.pages
        total = None if pages is None else pages.total
        i = 0 if total is None or total < 1 else (1 + _SMALL[total] if total < 4096 else 1 + _bucket_of(total))
        kind = slots[i]
        if kind is None or not kind.warm or not (warm >> i) & 1:
            return None
        plan = kind.plans.get(lag_target) or kind.plan(lag_target)
        if plan is None or not waited < plan.late:
            return None
        b = int(_LOG2(waited) * PER_OCTAVE - _LOW_BINS) if waited > LOW else 0
        counts, rates = plan.counts, plan.rates
        goal = counts[b] + rates[b] * (waited - EDGES[b]) + 1.0 + jitter * (draw() - 0.5)
        j = bisect_right(counts, goal) - 1
        if j >= BINS:
            return None
        then = EDGES[j] + (goal - counts[j]) / rates[j] - waited
        return then if then > lag_target else lag_target  # noqa: FURB136  # max() costs a call per poll

    # --- the JSON form, and models of several processes

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form: ``{"v": DURATIONS_VERSION, "bins": {...the bins' layout...},
        "kinds": {kind: {"samples": n, "weights": [[bin, weight], ...]}}}``, weights on the
        scale where the newest sample weighs 1 (zero bins left out), plus each kind's median
        and 10 % and 90 % quantiles in seconds for people (ignored when read)."""
        kinds: dict[str, Any] = {}
        with self._lock:
            for key, kind in self._kinds.items():
                if not kind.total > 0:
                    continue
                scale = kind.scale
                kinds[_kind_name(key)] = {
                    "samples": kind.count,
                    "weights": [[b, w / scale] for b, w in enumerate(kind.weights) if w > 0],
                    "seconds": {f"p{round(100 * q)}": round(kind.quantile(q), 3) for q in (0.1, 0.5, 0.9)},
                }
        return {
            "v": DURATIONS_VERSION,
            "bins": {"low": LOW, "per_octave": PER_OCTAVE, "octaves": OCTAVES},
            "kinds": dict(sorted(kinds.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Durations:
        """Read ``to_dict()``'s form back (a stored or shared value is read as untrusted):
        ``ValueError`` for another version, another bins' layout or any malformed value."""
        return read_stored(
            "Durations", data, cls._from_dict, (TypeError, AttributeError, KeyError, OverflowError, IndexError)
        )

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> Durations:
        version = data.get("v")
        if version != DURATIONS_VERSION or isinstance(version, bool):
            raise ValueError(
                f"Durations version {version!r:.40} is not {DURATIONS_VERSION}, the one this docstatus reads"
            )
        layout = data.get("bins")
        if layout != {"low": LOW, "per_octave": PER_OCTAVE, "octaves": OCTAVES}:
            raise ValueError(f"Durations.bins {layout!r:.120} is not this docstatus's layout")
        kinds = data.get("kinds")
        if not isinstance(kinds, Mapping):
            raise ValueError("Durations.kinds must be an object of kind -> samples")  # noqa: TRY004  # one error type
        if len(kinds) > MAX_KINDS:
            raise ValueError(f"Durations.kinds has {len(kinds)} kinds, more than {MAX_KINDS}")
        model = cls()
        for name, entry in kinds.items():
            key = _kind_key(name)
            if not isinstance(entry, Mapping):
                raise ValueError(f"Durations.kinds[{name!r}] must be an object")  # noqa: TRY004
            count = entry.get("samples")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(f"Durations.kinds[{name!r}].samples must be a whole number >= 0, not {count!r:.40}")
            pairs = entry.get("weights")
            if not isinstance(pairs, list) or len(pairs) > BINS:
                raise ValueError(f"Durations.kinds[{name!r}].weights must be a list of at most {BINS} [bin, weight]")
            weights = [0.0] * BINS
            for pair in pairs:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ValueError(f"Durations.kinds[{name!r}].weights holds [bin, weight] pairs")
                b, w = pair
                if isinstance(b, bool) or not isinstance(b, int) or not 0 <= b < BINS:
                    raise ValueError(
                        f"Durations.kinds[{name!r}]: a bin is a whole number in [0, {BINS}), not {b!r:.40}"
                    )
                if isinstance(w, bool) or not isinstance(w, int | float) or not 0 <= w < math.inf:
                    raise ValueError(f"Durations.kinds[{name!r}]: a weight is a finite number >= 0, not {w!r:.40}")
                weights[b] += float(w)
            most = _most_weight(count)
            if sum(weights) > most * (1 + 1e-9) + 1e-9:
                raise ValueError(
                    f"Durations.kinds[{name!r}]: the weights add up to {sum(weights):.6g}, more than "
                    f"{count} samples weigh (at most {most:.6g}, the newest weighing 1)"
                )
            kind = model._kinds.get(key) or model._new_kind(key)
            if kind is None:  # more kinds than MAX_KINDS: refused above
                raise AssertionError
            kind.add_weights(weights, count)
            kind.fresh_count = 0
        model._warm = {}
        return model

    def merge(self, other: Durations) -> None:
        """Fold ``other``'s samples into this model, kind by kind, as if they were recorded
        after this model's (which weigh less for it, as ``HALF_LIFE`` says). For a fleet: each
        process merges what it ``drain``s into the shared value, and takes the result back."""
        if other is self:
            raise ValueError("a Durations cannot be merged into itself")
        with other._lock:
            theirs = [(key, list(kind.weights), kind.scale, kind.count) for key, kind in other._kinds.items()]
        with self._lock:
            for key, weights, scale, count in theirs:
                kind = self._kinds.get(key) or self._new_kind(key)
                if kind is not None:
                    kind.add_weights([w / scale for w in weights], count)
            self._warm = {}

    def drain(self) -> Durations:
        """The samples recorded (``record``, or jobs that ended) since the last ``drain``, as a
        model of their own; they stay in this one. What a process adds to a shared value."""
        out = Durations()
        with self._lock:
            for key, kind in self._kinds.items():
                if kind.fresh_count == 0:
                    continue
                fresh = out._new_kind(key)
                assert fresh is not None  # no more kinds than this model's
                fresh.add_weights([w / kind.scale for w in kind.fresh], kind.fresh_count)
                kind.fresh = array("d", bytes(8 * BINS))
                kind.fresh_count = 0
        return out

    def adopt(self, other: Durations) -> None:
        """Take ``other``'s samples as this model's (a fleet's model, into which this process
        merged what it drained), keeping on top those recorded here since the last ``drain``
        (still to be drained). ``other`` is left as it was."""
        if other is self:
            return
        with other._lock:
            theirs = [(key, list(kind.weights), kind.scale, kind.count) for key, kind in other._kinds.items()]
        with self._lock:
            kinds: dict[tuple[str, int], _Kind] = {}
            for key, weights, scale, count in theirs:
                kind = kinds[key] = _Kind()
                kind.add_weights([w / scale for w in weights], count)
            for key, mine in self._kinds.items():
                if mine.fresh_count == 0:
                    continue
                found = kinds.get(key)
                if found is None:
                    if len(kinds) >= MAX_KINDS:
                        continue
                    found = kinds[key] = _Kind()
                kind = found
                fresh = [w / mine.scale for w in mine.fresh]
                kind.add_weights(fresh, mine.fresh_count)
                kind.fresh = array("d", [w * kind.scale for w in fresh])
                kind.fresh_count = mine.fresh_count
            self._set_kinds(kinds)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._set_kinds({})


_SHARED: Final = Durations()


class Exchange:
    """One side of a duration model shared through a store (a tracker's file, the Celery fleet's
    Redis), sans-IO: the store's side does the reading and the writing in its own transaction.

    An exchange is ``stage()`` (what ``local`` learned joins what is not yet stored), then in
    the transaction ``merged(stored)`` (the value to write: the stored model, or, when it was
    damaged (``None``), what this side last saw of it, plus what is unsent), then, once the
    transaction committed, ``done(stored)``. A failed transaction keeps the unsent samples for the
    next one.

    Attributes:
        local: The model this side polls by and learns into.
        unsent: Samples drained from ``local`` not yet known to be stored.
        last: The stored model as this side last saw it.
    """

    __slots__ = ("last", "local", "unsent")

    def __init__(self) -> None:
        self.local = Durations()
        self.unsent = Durations()
        self.last = Durations()

    def stage(self) -> None:
        """Move what ``local`` learned since into ``unsent``."""
        drained = self.local.drain()
        if drained.kinds:
            self.unsent.merge(drained)

    def merged(self, stored: Durations | None) -> Durations:
        """The model to store: ``stored`` (``None``: damaged, then a copy of ``last``) with the
        unsent samples added."""
        out = self.last.copy() if stored is None else stored
        if self.unsent.kinds:
            out.merge(self.unsent)
        return out

    def done(self, stored: Durations) -> None:
        """``stored`` is in the store: nothing is unsent, and ``local`` polls by it."""
        self.unsent = Durations()
        self.last = stored
        self.local.adopt(stored)
