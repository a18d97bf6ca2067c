"""Calibration: the parameter value that spends a target ε at a given δ, never more.

Each search first brackets the answer, stepping from a guess by the factor that ε ∝ 1/x
predicts (so a fair guess brackets in one or two evaluations), then narrows the bracket with
Brent's method on a log scale and returns a point on the side that *meets* the target. So the
answer always satisfies ε ≤ target and is within ``rtol`` (relative) of the optimal value.
Each evaluation is one accountant query, which evaluates only the Rényi orders that can still
give the smallest ε (see :mod:`dpkit.accounting._pruning`). A target that no value of the
parameter can reach raises :class:`~dpkit.errors.InfeasibleTargetError`, with the reachable
bound in the message.

ε is monotone in each searched parameter: non-increasing in the noise multiplier,
non-decreasing in the sample rate and in the number of compositions (each event's RDP is
monotone in them, and the conversion is monotone in the RDP curve).

``method`` (every search): ``"rdp"`` searches the RDP ε as above; ``"pld"`` the certified
PLD ε (:mod:`dpkit.accounting.pld`); ``"auto"`` (default) the smaller of both. A PLD search
starts from an estimate (for σ of DP-SGD the characteristic function's, else the RDP answer)
and takes secant steps on (log x, log ε) to relative tolerance
``max(rtol, 1e-3)`` (the PLD's own discretization slack is ~1e-3); every value it returns
was evaluated and meets the target with the certified PLD bound (max over the relation's
directions). The certified PLD ε is monotone up to its discretization slack, so "smallest"
and "largest" hold to that slack; "meets the target" holds exactly.

Cost of a PLD σ search (:func:`noise_multiplier`). DP-SGD (the steering direction is one
subsampled-Gaussian pair composed ≥ 2 times): the σ where the *exact* ε crosses the target
is estimated first by the characteristic function (:func:`_sgm_log_delta`, Zhu, Dong, Wang
2022; ~0.2 ms per σ, three or four σ), and the first certified evaluation is placed just
above it (by the certified bound's discretization slack): two PLD evaluations (one per
direction) when it lands within the tolerance (the usual case: the estimate is within
~1e-4 relative of the exact ε), three or four otherwise; "auto" adds one RDP query at the
answer (the RDP σ is searched only when that query shows it may be smaller). Otherwise (other pairs,
one composition, or when the estimate fails): an RDP search to 1 % (a handful of RDP
queries, ~0.2 ms each), one PLD evaluation (one direction) at its σ, a second at the
crossing that the RDP curve's log-log slope predicts, and the other direction at the
answer: three PLD evaluations when the prediction lands within half the tolerance, four
to six otherwise (more when the PLD σ lies far below the RDP σ, e.g. few steps). Nothing
certified depends on either estimate: they only choose where the PLD is evaluated. The
directions that only check feasibility are evaluated on a coarser grid first
(:class:`_PLDProbe`).
The target and δ are validated once, where they enter (the PLD directions are evaluated
by :func:`dpkit.accounting.pld.ledger.direction_epsilon`, which does not check δ; the
engine's planner still does once per grid pass, a known gap).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _validate as V
from ..errors import DPKitError, InfeasibleTargetError
from . import conversions as C
from . import pld as _pld
from .accountant import (
    AUTO_MAX_COMPOSITIONS,
    DEFAULT_ORDERS,
    Accountant,
    _check_auto,
    validate_method,
    validate_orders,
)
from .events import Event

__all__ = ["noise_multiplier", "sample_rate", "max_count", "search_decreasing"]

MIN_NOISE = 1e-3
MAX_NOISE = 1e8
#: The relative tolerance of every PLD search (at least): the PLD's discretization slack.
PLD_RTOL = 1e-3
#: The relative tolerance of the RDP search that starts a PLD search (its σ is a start only).
_RDP_START_RTOL = 1e-2
#: What a PLD search under ``method="auto"`` answers by falling back to the RDP answer (an
#: event without a pair, a problem outside the engine's validated ranges, a numerical limit);
#: under ``method="pld"`` these propagate.
_AUTO_FALLBACK = (DPKitError, ArithmeticError, ValueError, MemoryError)


def _epsilon_of(make_event: Callable[[float], Event], orders: np.ndarray, delta: float,
                count: int, memo: dict[float, float] | None = None) -> Callable[[float], float]:
    """x ↦ ε of make_event(x) composed ``count`` times, remembering values already computed
    (in ``memo`` when given: a search sharing it with a later one re-evaluates nothing)."""
    if memo is None:
        memo = {}

    def eps(x: float) -> float:
        v = memo.get(x)
        if v is None:
            acct = Accountant(orders).compose(make_event(x), count)
            v = memo[x] = acct._epsilon_details(delta).epsilon
        return v
    return eps


def search_decreasing(
    f: Callable[[float], float], target: float, lo: float, hi: float, *, rtol: float = 1e-6,
) -> float:
    """Smallest x in [lo, hi] with f(x) ≤ target, for f non-increasing; to ``rtol`` relative.

    Requires f(hi) ≤ target; returns lo if f(lo) ≤ target. Brent's method on log x finds the
    crossing to rtol/4, then the answer is moved up by rtol/4 (so it lies on the feasible side
    of the true crossing) and checked; the bracket's feasible end is the last resort.
    """
    if f(hi) > target:
        raise InfeasibleTargetError("search bracket does not contain a feasible point")
    if f(lo) <= target:
        return lo
    a, b = math.log(lo), math.log(hi)
    if b - a <= rtol:
        return hi
    step = 0.25 * math.log1p(rtol)

    def g(u: float) -> float:
        v = f(lo if u == a else hi if u == b else math.exp(u)) - target  # ends: exact x
        return v if math.isfinite(v) else 1e300

    from scipy import optimize  # imported here: it costs ~0.3 s, and only searches need it

    root = optimize.brentq(g, a, b, xtol=step, rtol=4 * np.finfo(float).eps, maxiter=200)
    for k in (1, 2, 4, 8):
        x = min(root + k * step, b)
        if f(math.exp(x)) <= target:
            return math.exp(x)
    return hi  # pragma: no cover - brentq's bracket guarantee makes this unreachable


def noise_multiplier(
    make_event: Callable[[float], Event],
    target_epsilon: float,
    delta: float,
    *,
    count: int = 1,
    orders: Any = None,
    rtol: float = 1e-6,
    bounds: tuple[float, float] = (MIN_NOISE, MAX_NOISE),
    initial: float | None = None,
    method: str = "auto",
) -> float:
    """Smallest noise multiplier σ with ε(make_event(σ) composed ``count`` times) ≤ target.

    The returned σ satisfies ε(σ) ≤ ``target_epsilon`` at ``delta`` (ε by ``method``, see
    the module docstring; "auto": the smaller of the RDP and PLD ε, so the σ found is the
    smaller of both searches') and is within ``rtol`` (PLD: ``max(rtol, 1e-3)``) of the
    smallest such σ in ``bounds``. Raises InfeasibleTargetError when even the largest σ in
    ``bounds`` cannot reach the target, PLDUnavailableError for ``method="pld"`` and an
    event without a dominating pair.
    """
    m = validate_method(method)
    target = V.positive(target_epsilon=target_epsilon)
    d = V.in_range(0.0, 1.0, low_open=True, high_open=True, delta=delta)
    n = V.integer(minimum=1, count=count)
    a = DEFAULT_ORDERS if orders is None else validate_orders(orders)
    return _noise_multiplier_by(m, make_event, target, d, n, a, rtol=rtol, bounds=bounds,
                                initial=initial)


def _noise_multiplier_by(
    method: str, make_event: Callable[[float], Event], target: float, d: float, n: int,
    a: np.ndarray, *, rtol: float = 1e-6, bounds: tuple[float, float] = (MIN_NOISE, MAX_NOISE),
    initial: float | None = None,
) -> float:
    """:func:`noise_multiplier` for a validated ``method`` and values.

    "pld" / "auto": when the steering direction is one subsampled-Gaussian pair composed
    ``n`` times (DP-SGD), the PLD search starts at the σ that the characteristic-function
    estimate predicts (:func:`_pld_noise_steered`; no RDP search unless "auto" needs the RDP
    σ). Otherwise the RDP search runs first to relative tolerance ``max(rtol, 1e-2)`` only
    (its σ starts the PLD search, and its evaluations give the RDP slope); the RDP σ to
    ``rtol`` is searched (sharing every evaluation) only when "auto" needs it: the PLD is
    unavailable or no better, or the PLD σ lies within that tolerance of the RDP one.
    """
    if method == "rdp":
        return _noise_multiplier(make_event, target, d, n, a, rtol=rtol, bounds=bounds,
                                 initial=initial)
    memo: dict[float, float] = {}

    def rdp_exact() -> float:  # the "rdp" answer, bit for bit (the memo only caches)
        return _noise_multiplier(make_event, target, d, n, a, rtol=rtol, bounds=bounds,
                                 initial=initial, memo=memo)

    steered = _pld_noise_steered(make_event, target, d, n, a, method, bounds, rtol, initial,
                                 memo, rdp_exact)
    if steered is not None:
        return steered
    coarse: float | None = None
    error: InfeasibleTargetError | None = None
    try:
        coarse = _noise_multiplier(make_event, target, d, n, a,
                                   rtol=max(rtol, _RDP_START_RTOL), bounds=bounds,
                                   initial=initial, memo=memo)
    except InfeasibleTargetError as exc:
        error = exc
    return _pld_noise(make_event, target, d, n, coarse, method, bounds, rtol, error,
                      _epsilon_of(make_event, a, d, n, memo), memo, rdp_exact)


def _noise_multiplier(
    make_event: Callable[[float], Event], target: float, d: float, n: int, a: np.ndarray, *,
    rtol: float = 1e-6, bounds: tuple[float, float] = (MIN_NOISE, MAX_NOISE),
    initial: float | None = None, memo: dict[float, float] | None = None,
) -> float:
    """:func:`noise_multiplier` on values already validated where they entered: target ε > 0,
    δ ∈ (0, 1), count n ≥ 1 and orders ``a`` (validated array). Nothing is re-checked here.
    ``memo``: the RDP ε already computed for these values (shared between searches)."""
    eps = _epsilon_of(make_event, a, d, n, memo)
    lo, hi = bounds
    x0 = min(max(initial if initial is not None else math.sqrt(lo * hi), lo), hi)
    a_, b_ = _bracket_decreasing(eps, target, lo, hi, x0)
    if eps(b_) > target:  # the bracket reached the largest σ allowed
        raise InfeasibleTargetError(
            f"target_epsilon={target:g} is unreachable at delta={d:g}: even noise_multiplier="
            f"{hi:g} gives epsilon={eps(hi):.6g}; raise the target or delta, or reduce the steps"
        )
    if a_ == b_:
        return b_
    return search_decreasing(eps, target, a_, b_, rtol=rtol)


def _bracket_decreasing(eps: Callable[[float], float], target: float, lo: float, hi: float,
                        x0: float) -> tuple[float, float]:
    """[a, b] ⊂ [lo, hi] with eps(a) > target ≥ eps(b), found from x0.

    Each step moves by the factor that ε ∝ 1/x predicts (3% past the target, clamped to
    [½, 2]), so a fair guess brackets in one or two evaluations. Returns (lo, lo) when even
    lo meets the target, and (a, hi) with eps(hi) > target when nothing in range does.
    """
    x, e = x0, eps(x0)
    if e <= target:
        while x > lo:
            y = max(lo, x * min(max(0.97 * e / target, 0.5), 0.97))
            ey = eps(y)
            if ey > target:
                return y, x
            x, e = y, ey
        return lo, lo
    while x < hi:
        y = min(hi, x * (2.0 if math.isinf(e) else min(max(1.03 * e / target, 1.03), 2.0)))
        ey = eps(y)
        if ey <= target:
            return x, y
        x, e = y, ey
    return x, hi


def sample_rate(
    make_event: Callable[[float], Event],
    target_epsilon: float,
    delta: float,
    *,
    count: int = 1,
    orders: Any = None,
    rtol: float = 1e-6,
    method: str = "auto",
) -> float:
    """Largest sample rate q in (0, 1] with ε(make_event(q) composed ``count`` times) ≤ target.

    ``method`` as in :func:`noise_multiplier` ("auto": the larger of the RDP and PLD rates;
    the PLD search to relative tolerance ``max(rtol, 1e-3)``)."""
    m = validate_method(method)
    target = V.positive(target_epsilon=target_epsilon)
    d = V.in_range(0.0, 1.0, low_open=True, high_open=True, delta=delta)
    n = V.integer(minimum=1, count=count)
    a = DEFAULT_ORDERS if orders is None else validate_orders(orders)
    if m == "rdp":
        return _rdp_sample_rate(make_event, target, d, n, a, rtol)
    q_rdp: float | None = None
    error: InfeasibleTargetError | None = None
    try:
        q_rdp = _rdp_sample_rate(make_event, target, d, n, a, rtol)
    except InfeasibleTargetError as exc:
        error = exc
    if q_rdp == 1.0 and m == "auto":
        return 1.0

    def dirs_of(y: float) -> _Dirs:  # y = 1/q: ε is decreasing in y
        ev = make_event(1.0 / y)
        return _pld.ledger_directions([(ev, n)], ev.relation)

    probe = _PLDProbe(dirs_of, d, target, m == "auto")
    try:
        if q_rdp is not None and m == "auto" and probe.steer(1.0 / q_rdp) > target:
            return q_rdp
        y0 = 1.0 / q_rdp if q_rdp is not None else 1e12
        found = _pld_smallest(probe, target, y0, 1.0, 1e12, max(rtol, PLD_RTOL), -1.0)
    except _AUTO_FALLBACK:
        if m == "auto":
            if q_rdp is not None:
                return q_rdp
            assert error is not None
            raise error from None
        raise
    if found is None:
        if m == "auto" and q_rdp is not None:
            return q_rdp
        raise InfeasibleTargetError(
            f"target_epsilon={target:g} is unreachable at delta={d:g} with the PLD bound: even "
            f"sample_rate=1e-12 gives epsilon={probe.value(1e12):.6g}")
    q_pld = 1.0 / found if found > 1.0 else 1.0
    return q_pld if q_rdp is None else max(q_pld, q_rdp)


def _rdp_sample_rate(make_event: Callable[[float], Event], target: float, d: float, n: int,
                     a: np.ndarray, rtol: float) -> float:
    """:func:`sample_rate` by RDP, on validated values."""
    eps = _epsilon_of(make_event, a, d, n)
    if eps(1.0) <= target:
        return 1.0
    lo = 1e-12
    if eps(lo) > target:
        raise InfeasibleTargetError(
            f"target_epsilon={target:g} is unreachable at delta={d:g}: even sample_rate={lo:g} "
            f"gives epsilon={eps(lo):.6g}"
        )
    # ε increasing in q  <=>  g(u) = ε(1/u) decreasing in u = 1/q
    u = search_decreasing(lambda v: eps(1.0 / v), target, 1.0, 1.0 / lo, rtol=rtol)
    return 1.0 / u


def max_count(
    event: Event, target_epsilon: float, delta: float, *, orders: Any = None,
    limit: int = 10**18, method: str = "auto",
) -> int:
    """Largest number of compositions T of ``event`` with ε ≤ target (at most ``limit``).

    RDP: the event's curve is evaluated once; each candidate T only rescales it, so this
    costs about 60 conversions. PLD ("pld", or "auto" which returns the larger of the RDP and
    PLD counts): the event's pairs are built once, each candidate T composes them T times
    (cost flat in T), found by secant steps on (log T, log ε) closed by bisection to the
    exact integer. Raises InfeasibleTargetError if even T = 1 exceeds the target.
    """
    m = validate_method(method)
    target = V.nonnegative(target_epsilon=target_epsilon)
    d = V.in_range(0.0, 1.0, low_open=True, high_open=True, delta=delta)
    a = DEFAULT_ORDERS if orders is None else validate_orders(orders)
    lim = V.integer(minimum=1, limit=limit)
    if m == "rdp":
        return _rdp_max_count(event, target, d, a, lim)
    t_rdp: int | None = None
    error: InfeasibleTargetError | None = None
    try:
        t_rdp = _rdp_max_count(event, target, d, a, lim)
    except InfeasibleTargetError as exc:
        error = exc
    cap = min(lim, AUTO_MAX_COMPOSITIONS) if m == "auto" else lim
    if m == "auto" and t_rdp is not None and t_rdp >= cap:
        return t_rdp
    try:
        t_pld = _pld_max_count(event, target, d, cap, t_rdp, m == "auto")
    except _AUTO_FALLBACK:
        if m == "auto":
            if t_rdp is not None:
                return t_rdp
            assert error is not None
            raise error from None
        raise
    if t_pld is None:
        if t_rdp is not None and m == "auto":
            return t_rdp
        if error is not None and m == "auto":
            raise error
        one = _PLDProbe(lambda _: _pld.ledger_directions([(event, 1)], event.relation), d,
                        target).value(1.0)
        raise InfeasibleTargetError(
            f"target_epsilon={target:g} is unreachable at delta={d:g}: a single composition "
            f"already costs epsilon={one:.6g} (PLD)")
    return t_pld if t_rdp is None else max(t_pld, t_rdp)


def _pld_max_count(event: Event, target: float, d: float, limit: int,
                   start: int | None, auto: bool = False) -> int | None:
    """Largest T ≤ limit with certified PLD ε(T compositions) ≤ target (None: not even T = 1).
    Starts at ``start`` (the RDP count); its answer T was checked feasible and T + 1 not
    (or T = limit)."""
    with _pld.quiet():
        base = _pld.ledger_directions([(event, 1)], event.relation)

    def dirs_of(t: float) -> _Dirs:
        n = int(t)
        return [[(p, c * n) for p, c in dd] for dd in base]

    probe = _PLDProbe(dirs_of, d, target, auto)
    if not probe.feasible(1.0):
        return None
    # lo: feasible by the first direction (checked on all of them before it is returned), hi:
    # infeasible (or past the limit); counts are tested as floats of exact integers
    lo, hi = 1, limit + 1
    pts: dict[float, float] = {1.0: probe.steer(1.0)}
    cand = start if start is not None and start > 1 else 2 + int(_predict(pts, target, 0.5)
                                                                 or 2)
    refuted = False  # once another direction refuted the steering one: decide on all
    while True:
        width = hi - lo
        stalls = 0
        while hi - lo > 1:
            cand = min(max(cand, lo + 1), hi - 1)
            e = pts[float(cand)] = probe.steer(float(cand))
            ok = probe.feasible(float(cand)) if refuted else e <= target
            if ok:
                lo = cand
            else:
                hi = cand
            stalls = stalls + 1 if hi - lo > width // 2 else 0
            width = hi - lo
            r = _predict(pts, target, 0.5)
            if r is not None and r > 32.0 * lo and hi > limit:
                r = 32.0 * lo  # far extrapolation: at most ×32 per step until bracketed
            if refuted or stalls >= 3 or r is None or not math.isfinite(r):
                # (after a refutation the steering direction's curve misleads: bisect)
                cand = lo + (hi - lo) // 2 if hi <= limit else 32 * lo
                stalls = 0
            elif ok:  # just below the crossing: test the next count up if that closes it
                cand = max(int(math.floor(r)), lo + 1)
            else:
                cand = min(int(math.floor(r)), hi - 1)
        if probe.feasible(float(lo)):
            return lo
        # refuted by another direction: lo is infeasible; search below it again
        pts[float(lo)] = probe.steer(float(lo))
        hi = lo
        lo = max((int(x) for x, v in pts.items() if v <= target and x < hi), default=1)
        while lo > 1 and not probe.feasible(float(lo)):  # (steer-feasible only)
            hi, lo = lo, max((int(x) for x, v in pts.items() if v <= target and x < lo),
                             default=1)
        cand = lo + (hi - lo) // 2
        refuted = True


def _rdp_max_count(event: Event, target: float, d: float, a: np.ndarray, limit: int) -> int:
    """:func:`max_count` by RDP, on validated values."""
    curve = event.rdp(a)

    def eps(t: int) -> float:
        with np.errstate(over="ignore"):  # t·ε(α) above 1e308 is ∞, an upper bound
            scaled = np.where(curve == 0.0, 0.0, curve * float(t))
        return C._rdp_to_epsilon(a, scaled, d).value

    e1 = eps(1)
    if e1 > target:
        raise InfeasibleTargetError(
            f"target_epsilon={target:g} is unreachable at delta={d:g}: a single composition "
            f"already costs epsilon={e1:.6g}"
        )
    if eps(limit) <= target:
        return limit
    lo, hi = 1, 2
    while eps(hi) <= target:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if eps(mid) <= target:
            lo = mid
        else:
            hi = mid
    return lo



# ------------------------------------------------------------------------ PLD searches
_Dirs = list[list[tuple[_pld.DominatingPair, int]]]
_Ordered = list[tuple[list[tuple[_pld.DominatingPair, int]], float]]


class _PLDProbe:
    """Certified PLD ε of a family x ↦ directions(x), evaluated lazily, direction by
    direction (memoized).

    :meth:`steer` is the largest ε of the directions computed so far (the first direction at
    first: for add/remove the remove direction, usually the larger); it steers the searches.
    :meth:`feasible` decides, computing the other directions only when needed: a point is
    feasible when *every* direction meets the target, i.e. the certified ε (their max) does.
    """

    def __init__(self, dirs_of: Callable[[float], _Dirs], delta: float, target: float,
                 auto: bool = False):
        self._dirs_of = dirs_of
        self._delta = delta
        self._target = target
        self._auto = auto  # refuse (DPKitError) what "auto" leaves to RDP
        self._memo: dict[float, tuple[_Ordered, list[float]]] = {}

    def _entry(self, x: float) -> tuple[_Ordered, list[float]]:
        got = self._memo.get(x)
        if got is None:
            with _pld.quiet():
                dirs = self._dirs_of(x)
            if self._auto:
                _check_auto(dirs, ("eps", self._delta))
            if _pld.is_blatant(dirs):
                got = self._memo[x] = ([(d, 0.0) for d in dirs], [math.inf])
            else:
                with _pld.quiet():
                    ordered = _pld.ledger.ordered_directions(dirs, self._delta)
                got = self._memo[x] = (ordered, [])
        return got

    def _next(self, x: float) -> bool:
        """Compute one more direction of x; False when all are computed.

        The directions come in the order of the accountant's relation bound
        (:func:`dpkit.accounting.pld.ledger.ordered_directions`: largest planning estimate
        first). The later ones only check feasibility (they seldom come near the target):
        each is evaluated on its coarser first-try grid when it has one, a certified upper
        bound too, and again at the default accuracy only if that bound exceeds the target
        (the smaller of two upper bounds is kept). With the same order and tries as
        :func:`~dpkit.accounting.pld.bounds.relation_epsilon_checked`, a point found feasible
        here has an accountant ε within the target too."""
        dirs, vals = self._entry(x)
        if len(vals) >= max(len(dirs), 1):
            return False
        if not dirs:
            vals.append(0.0)
            return True
        parts, check = dirs[len(vals)]
        with _pld.quiet():
            if vals and check > 0:
                e = _pld.ledger.direction_epsilon(parts, self._delta, accuracy=check)
                if not e <= self._target:
                    e = min(e, _pld.ledger.direction_epsilon(parts, self._delta))
            else:
                e = _pld.ledger.direction_epsilon(parts, self._delta)
        vals.append(math.inf if math.isnan(e) else e)
        return True

    def steer(self, x: float) -> float:
        _, vals = self._entry(x)
        if not vals:
            self._next(x)
        return max(vals)

    def feasible(self, x: float) -> bool:
        while self.steer(x) <= self._target:
            if not self._next(x):
                return True
        return False

    def value(self, x: float) -> float:
        """The certified ε of x (every direction)."""
        while self._next(x):
            pass
        return self.steer(x)


def _predict(points: dict[float, float], target: float, slope: float) -> float | None:
    """The x where log ε crosses log target, by the secant through the two evaluated points
    closest to the target on (log x, log ε), or one point and ``slope`` (None: no finite,
    positive value to start from)."""
    good = sorted(((x, e) for x, e in points.items() if 0.0 < e < math.inf),
                  key=lambda p: abs(math.log(p[1] / target)))
    if not good:
        return None
    (x1, e1) = good[0]
    k = slope
    if len(good) > 1:
        x2, e2 = good[1]
        if x2 != x1:
            k2 = (math.log(e2) - math.log(e1)) / (math.log(x2) - math.log(x1))
            if math.isfinite(k2) and k2 * slope > 0:  # the expected direction of change
                k = k2
    u = math.log(x1) + (math.log(target) - math.log(e1)) / k
    return math.exp(min(max(u, -700.0), 700.0))


def _pld_smallest(probe: _PLDProbe, target: float, x0: float, lo: float, hi: float,
                  rtol: float, slope: float = -1.0) -> float | None:
    """Smallest x in [lo, hi] with certified ε(x) ≤ target, ε non-increasing in x, from x0;
    None when even ``hi`` is infeasible.

    Secant steps on (log x, log ε) aimed at half ``rtol`` on the feasible side (one point and
    ``slope`` at first), bisection when they stall. Stops at a feasible point x when

    * it lies within ``rtol`` of an infeasible one (a bracket), or
    * ε(x) is so close to the target that x can be at most ``rtol`` above the crossing even
      if |d log ε / d log x| were half the secant's: log(target/ε(x)) ≤ |k|·rtol/2, or
    * x lies within ``rtol`` above the secant's crossing through two points within 25 % of
      the target, ε(x) within 2 % of it (log ε is smooth in log x: the secant is then
      accurate to ~1e-4).

    A candidate just past the last feasible point (or just short of the last infeasible one)
    is tried when the secant overshoots it, so a near miss closes the bracket in one step.
    The answer's feasibility is always checked on every direction: ε(answer) ≤ target.
    """
    pts: dict[float, float] = {}
    x = min(max(x0, lo), hi)
    stalls, best_gap = 0, math.inf
    for _ in range(100):
        if x not in pts:
            pts[x] = probe.steer(x)
        while True:  # decide on the points so far (a refuted candidate is re-decided)
            for y in pts:
                pts[y] = probe.steer(y)
            fs = [y for y, e in pts.items() if e <= target]
            ins = [y for y, e in pts.items() if e > target]
            feas = min(fs) if fs else None
            infeas = max(ins) if ins else None
            if infeas is not None and infeas >= hi:
                return None
            r = _predict(pts, target, slope)
            if feas is None:
                break
            k = abs(_local_slope(pts, target, slope))
            e_f = max(pts[feas], 1e-300)
            near = sum(1 for e in pts.values() if 0 < e < math.inf
                       and abs(math.log(e / target)) <= 0.25)
            done = (feas <= lo or (infeas is not None and feas <= infeas * (1.0 + rtol))
                    or math.log(target / e_f) <= 0.5 * k * rtol
                    or (r is not None and near >= 2 and feas <= r * (1.0 + rtol)
                        and math.log(target / e_f) <= 0.02))
            if not done:
                break
            if probe.feasible(feas):
                return feas
        a = infeas if infeas is not None else lo
        b = feas if feas is not None else hi
        gap = math.log(b / a) if a > 0 else math.inf
        stalls = 0 if gap < 0.5 * best_gap else stalls + 1
        best_gap = min(best_gap, gap)
        nxt = r * (1.0 + 0.5 * rtol) if r is not None else math.nan
        if r is not None and stalls < 3:
            if feas is not None and nxt >= b:  # overshoot: just below the feasible point
                nxt = b / (1.0 + 0.9 * rtol)
            elif infeas is not None and nxt <= a:  # just above the infeasible point
                nxt = a * (1.0 + 0.9 * rtol)
        if stalls >= 3 or not (a < nxt < b) or nxt in pts:
            if infeas is not None and feas is not None:
                nxt = math.sqrt(a * b)
            elif feas is not None:
                nxt = b * 0.5  # only feasible points so far: go down
            else:
                nxt = a * 2.0  # only infeasible points so far: go up
            stalls = 0
        x = min(max(nxt, lo), hi)
    for y in sorted(y for y, e in pts.items() if e <= target):  # pragma: no cover - 100 steps
        if probe.feasible(y):
            return y
    return None  # pragma: no cover


def _local_slope(points: dict[float, float], target: float, slope: float) -> float:
    """d log ε / d log x by the secant through the two evaluated points closest to the
    target (``slope`` when there are fewer, or the secant has the wrong sign)."""
    good = sorted(((x, e) for x, e in points.items() if 0.0 < e < math.inf),
                  key=lambda p: abs(math.log(p[1] / target)))
    if len(good) > 1:
        (x1, e1), (x2, e2) = good[0], good[1]
        if x2 != x1:
            k = (math.log(e2) - math.log(e1)) / (math.log(x2) - math.log(x1))
            if math.isfinite(k) and k * slope > 0:
                return k
    return slope


def _rdp_slope(eps: Callable[[float], float], memo: dict[float, float],
               x: float, lo: float) -> float | None:
    """The slope of log ε_RDP against log σ between ``x`` and a point 2–10 % below it (where
    the PLD σ usually lies): one the RDP search evaluated (``memo``), nearest to 0.95·x, else
    0.95·x evaluated now. Steers the PLD search only (None: no finite slope)."""
    e1 = memo.get(x)
    near = [y for y in memo if 0.90 * x <= y <= 0.98 * x]
    y = min(near, key=lambda v: abs(v - 0.95 * x)) if near else 0.95 * x
    if e1 is None or y <= lo:
        return None
    e0 = eps(y)
    if not 0.0 < e1 < e0 < math.inf:
        return None
    return math.log(e0 / e1) / math.log(y / x)


def _pld_noise(make_event: Callable[[float], Event], target: float, d: float, n: int,
               rdp_sigma: float | None, method: str, bounds: tuple[float, float],
               rtol: float, rdp_error: InfeasibleTargetError | None,
               rdp_eps: Callable[[float], float], memo: dict[float, float],
               rdp_exact: Callable[[], float]) -> float:
    """σ for ``method`` "pld" or "auto" given the RDP search's σ at tolerance
    ``max(rtol, PLD_RTOL)`` (None: RDP found none), its ε ``rdp_eps`` and evaluations
    ``memo``, and ``rdp_exact`` (the RDP σ to ``rtol``, for "auto" where it may be the answer)."""
    lo, hi = bounds

    def dirs_of(x: float) -> _Dirs:
        ev = make_event(x)
        return _pld.ledger_directions([(ev, n)], ev.relation)

    def rdp_answer() -> float:
        if rdp_sigma is None:
            assert rdp_error is not None
            raise rdp_error from None
        return rdp_exact()

    probe = _PLDProbe(dirs_of, d, target, method == "auto")
    slope = -1.0  # ε ∝ 1/σ, refined by the RDP curve's slope below its answer
    if rdp_sigma is not None:
        k = _rdp_slope(rdp_eps, memo, rdp_sigma, lo)
        if k is not None and math.isfinite(k):
            slope = min(max(k, -4.0), -0.25)
    try:
        x0 = rdp_sigma if rdp_sigma is not None else hi
        if rdp_sigma is not None and method == "auto" and probe.steer(rdp_sigma) > target:
            return rdp_answer()  # the PLD is no better here: RDP's σ is the auto answer
        found = _pld_smallest(probe, target, x0, lo, hi, max(rtol, PLD_RTOL), slope)
    except _AUTO_FALLBACK:
        if method == "auto":
            return rdp_answer()
        raise
    if found is None:
        if method == "auto" and rdp_sigma is not None:
            return rdp_answer()
        raise _pld_unreachable(target, d, hi, probe) from None
    if method == "pld" or rdp_sigma is None:
        return found
    # "auto": min(found, RDP σ). The RDP σ lies above every σ its search found infeasible
    # (ε non-increasing), so below the largest of them the PLD σ is the smaller one.
    below = max((x for x, e in memo.items() if e > target), default=-math.inf)
    return found if found <= below else min(found, rdp_exact())


def _pld_unreachable(target: float, d: float, hi: float,
                     probe: _PLDProbe) -> InfeasibleTargetError:
    """The error of a PLD σ search whose target even the largest σ misses."""
    return InfeasibleTargetError(
        f"target_epsilon={target:g} is unreachable at delta={d:g} with the PLD bound: even "
        f"noise_multiplier={hi:g} gives epsilon={probe.value(hi):.6g}")


# ------------------------------------------- steering by the characteristic function
#: The largest quadrature grid (points) the steering estimate may use (beyond: no estimate).
_CF_MAX_POINTS = 20_000
#: The subsampled-Gaussian noise range where the steering estimate is tried.
_CF_SIGMA_RANGE = (0.05, 2e3)


def _sgm_tilted(u: float, sigma: float, q: float, h: float
                ) -> tuple[float, np.ndarray, np.ndarray]:
    """(log E_P[e^{uL}], the u-tilted P-masses, the losses) of the remove pair of the
    Poisson-subsampled Gaussian (P = (1−q)N(0,σ²) + qN(1,σ²), Q = N(0,σ²), L = log dP/dQ),
    by the trapezoid rule on z-step ``h``: E_P[e^{uL}] = E_Q[e^{(u+1)L}], whose integrand
    is a smooth bump of width ~σ between z = 0 and z = u + 1 (the rule converges
    exponentially fast there). An estimate, not a bound."""
    s2 = sigma * sigma
    a = u + 1.0
    n = (max(a, 1.0) + 18.0 * sigma) / h
    if not n <= _CF_MAX_POINTS:
        raise ArithmeticError("steering grid too large")
    z = np.arange(-9.0 * sigma, max(a, 1.0) + 9.0 * sigma + h, h)
    loss = np.logaddexp(math.log1p(-q), math.log(q) + (2.0 * z - 1.0) / (2.0 * s2))
    lw = a * loss - z * z / (2.0 * s2)
    top = float(lw.max())
    w = np.exp(lw - top)
    tot = float(w.sum())
    return top + math.log(tot * h / (sigma * math.sqrt(2.0 * math.pi))), w / tot, loss


def _sgm_log_delta(eps: float, sigma: float, q: float, count: int, u0: float | None,
                   slope: bool = False) -> tuple[float, float, float] | None:
    """(log δ(ε), saddle point u) of ``count`` compositions of the subsampled Gaussian's
    remove pair, estimated by the characteristic function (Zhu, Dong, Wang 2022, "Optimal
    accounting of differential privacy via characteristic function"): with S the composed
    loss under P and M(s) = E[e^{sS}],

        δ(ε) = E_P[(1 − e^{ε−S})₊] = (1/2πi) ∫_{u−i∞}^{u+i∞} M(s) e^{−sε} / (s(s+1)) ds,  u > 0,

    integrated on the line through (near) the saddle point u, T·E_u[L] = ε (Newton's
    method; the formula holds for any u > 0), by the trapezoid rule, which converges
    exponentially for this analytic, Gaussian-like integrand. The third value (``slope``:
    else NaN) is ∂K(u)/∂log σ, the leading term of ∂ log δ/∂ log σ (by a difference
    quotient). ``(0.0, 0.0, NaN)`` when ε lies below the mean composed loss (δ(ε) is then
    of order one), ``(−∞, ∞, NaN)`` when the saddle point lies beyond u = 1e4 (δ(ε) is then
    negligible). Steering only: an estimate of
    the exact δ, neither an upper nor a lower bound (None when the integrand has not
    decayed, e.g. a near-lattice loss at few compositions, or the saddle point is far out)."""
    h = sigma / 4.0
    u = 10.0 if u0 is None else u0
    ulo, uhi = 0.0, math.inf
    v = 0.0
    for _ in range(20):  # Newton on T·E_u[L] = ε, kept inside a bracket (u exact: not needed)
        if u > 1e4:  # ε far out in the upper tail: δ(ε) is negligible
            return -math.inf, math.inf, math.nan
        _, p, loss = _sgm_tilted(u, sigma, q, h)
        mu = float(p @ loss)
        v = float(p @ (loss - mu) ** 2)
        if count * mu < eps:
            ulo = u
        else:
            uhi = u
        nxt = u + (eps / count - mu) / v if v > 0 else math.nan
        if not ulo < nxt < uhi:
            if ulo == 0.0:  # below every u tried: is ε below the mean loss?
                _, p, loss = _sgm_tilted(0.0, sigma, q, h)
                if count * float(p @ loss) >= eps:
                    return 0.0, 0.0, math.nan
            nxt = 2.0 * u if math.isinf(uhi) else 0.5 * (ulo + uhi)
        if abs(nxt - u) <= 1e-3 * u:
            u = nxt
            break
        u = nxt
    k2 = count * v  # K''(u) at the last Newton point (u moved by < 1e-3 relative since)
    if not (0.0 < u <= 1e4 and k2 > 0 and math.isfinite(k2)
            and abs(count * mu - eps) <= 0.1 * math.sqrt(k2)):
        return None  # Newton did not reach the saddle point: the line would be ill-conditioned
    top = 12.0 / math.sqrt(k2)  # the integrand ~ e^{−K''(u)y²/2} near y = 0: 12 spreads
    # trapezoid in z: e^{iyL(z)} grows by ≤ e^{yη/σ²} off the real axis (L' ≤ 1/σ²), so a
    # step h ≤ 2πσ²/(y + 8σ) keeps the rule's error below ~e^{−30}
    hz = min(h, 2.0 * math.pi * sigma * sigma / (top + 8.0 * sigma))
    logk, p, loss = _sgm_tilted(u, sigma, q, hz)
    mu = float(p @ loss)
    y = np.linspace(0.0, top, 41)
    phi = (np.exp(1j * np.outer(y, loss - mu)) * p).sum(axis=1)  # no BLAS: threads cost
    mag = np.abs(phi)
    s = u + 1j * y
    if not (mag.min() > 0 and count * math.log(float(mag[-1])) + math.log(
            u * (u + 1.0) / abs(s[-1] * (s[-1] + 1.0))) < -16.0):
        return None  # not decayed at the end of the line: the estimate would be off
    logphi = count * (np.log(mag) + 1j * np.unwrap(np.angle(phi))) + 1j * y * (count * mu - eps)
    f = np.real(np.exp(logphi) / (s * (s + 1.0)))
    val = (float(f.sum()) - 0.5 * float(f[0] + f[-1])) * float(y[1] - y[0]) / math.pi
    log_delta = count * logk - u * eps + math.log(val) if val > 0 else math.nan
    if not log_delta <= 0.0:
        return None  # not a probability: the estimate failed
    dk = math.nan
    if slope:  # K(u) at σ·e^{1e-4}: the difference quotient in log σ
        dk = count * (_sgm_tilted(u, sigma * math.exp(1e-4), q, h)[0]
                      - _sgm_tilted(u, sigma, q, h)[0]) / 1e-4
    return log_delta, u, dk


def _cf_start(dirs_of: Callable[[float], _Dirs], target: float, delta: float, x: float,
              lo: float, hi: float) -> tuple[float, float] | None:
    """(x, d log ε / d log x) where the estimated ε(δ) of the family's steering direction
    crosses the target, when that direction is one subsampled-Gaussian remove pair (DP-SGD);
    None otherwise or when the estimate fails. Secant steps on (log x, log δ(target)) from
    ``x``, to ~1e-5 relative; along δ = const, d log ε / d log x = (∂ log δ/∂ log x)/(u·ε)
    (∂ log δ/∂ε = −u at the saddle point). Steering only: nothing certified depends on it."""
    log_d = math.log(delta)
    prev: tuple[float, float] | None = None  # (log x, log ε̂/target) of the last estimate
    last: float | None = None  # log x of the last point that gave an answer (or a sentinel)
    u: float | None = None
    for _ in range(16):
        with _pld.quiet():
            dirs = dirs_of(x)
        if not dirs or len(dirs[0]) != 1:
            return None
        pair, c = dirs[0][0]
        if (type(pair) is not _pld.SampledGaussianPair or pair.direction != _pld.REMOVE
                or c < 2):  # one use: the engine's exact single-use path is cheap anyway
            return None
        sigma, q = pair.noise_multiplier, pair.sample_rate
        if not _CF_SIGMA_RANGE[0] <= sigma <= _CF_SIGMA_RANGE[1]:
            return None
        with np.errstate(all="ignore"):
            got = _sgm_log_delta(target, sigma, q, c, u, prev is None)
        if got is None:
            if last is None:
                return None
            x = min(max(math.exp(0.5 * (math.log(x) + last)), lo), hi)  # back off halfway
            continue
        last = math.log(x)
        if got[1] == 0.0 or math.isinf(got[1]):  # far too little / far too much noise
            u, prev = None, None
            nxt = min(max(x * math.exp(1.0 if got[1] == 0.0 else -1.0), lo), hi)
            if nxt == x:
                return None
            x = nxt
            continue
        u = got[1]
        # the ε where δ(ε) = δ, by one Newton step from the target (∂ log δ/∂ε = −u)
        e_hat = target + (got[0] - log_d) / u
        if not e_hat > 0:
            e_hat = 0.5 * target
        g = math.log(e_hat / target)
        lx = math.log(x)
        k = got[2] / (u * target) if got[2] < 0 else -1.0  # first step: ∂K/∂log σ, or ε ∝ 1/x
        if prev is not None and lx != prev[0]:
            k2 = (g - prev[1]) / (lx - prev[0])
            if math.isfinite(k2) and k2 < 0:
                k = k2
        secant = prev is not None
        prev = (lx, g)
        step = min(max(-g / k, -1.5), 1.5)
        nxt = min(max(x * math.exp(step), lo), hi)
        if abs(step) <= (2e-3 if secant else 2e-4):  # the next step is far smaller: done
            return (nxt, k) if -20.0 <= k <= -0.05 else None
        if nxt == x:
            return None  # pinned at a bound
        u *= (nxt / x) ** 2  # the saddle point moves ~ like σ² (a start for Newton only)
        x = nxt
    return None


def _pld_noise_steered(make_event: Callable[[float], Event], target: float, d: float, n: int,
                       a: np.ndarray, method: str, bounds: tuple[float, float], rtol: float,
                       initial: float | None, memo: dict[float, float],
                       rdp_exact: Callable[[], float]) -> float | None:
    """σ for ``method`` "pld" or "auto" by a PLD search started where the characteristic
    function predicts the crossing (:func:`_cf_start`), aimed at half the tolerance above it
    (the certified ε lies a discretization slack, ≤ ~5e-4 relative, above the exact one):
    the first certified evaluation usually lands within tolerance, and the answer costs one
    evaluation of each direction. None (nothing evaluated by PLD) when the estimate does not
    apply; the caller then searches from the RDP σ. "auto": one RDP query at the PLD σ shows
    whether the RDP σ can be smaller (ε non-increasing in σ); only then is it searched."""
    lo, hi = bounds

    def dirs_of(x: float) -> _Dirs:
        ev = make_event(x)
        return _pld.ledger_directions([(ev, n)], ev.relation)

    x_start = min(max(initial if initial is not None else math.sqrt(lo * hi), lo), hi)
    try:
        est = _cf_start(dirs_of, target, d, x_start, lo, hi)
    except _AUTO_FALLBACK:
        est = None
    if est is None:
        return None
    x_est, k = est
    slope = min(max(k, -4.0), -0.25) if math.isfinite(k) else -1.0
    x0 = min(max(x_est * (1.0 + 5e-4 / abs(slope) + 2e-4), lo), hi)
    probe = _PLDProbe(dirs_of, d, target, method == "auto")
    try:
        found = _pld_smallest(probe, target, x0, lo, hi, max(rtol, PLD_RTOL), slope)
    except _AUTO_FALLBACK:
        if method == "auto":
            return rdp_exact()
        raise
    if found is None:
        if method == "auto":
            try:
                return rdp_exact()
            except InfeasibleTargetError:
                pass
        raise _pld_unreachable(target, d, hi, probe) from None
    if method == "pld":
        return found
    # "auto": min(found, RDP σ); the RDP σ lies above any σ whose RDP ε exceeds the target
    if _epsilon_of(make_event, a, d, n, memo)(found) > target:
        return found
    return min(found, rdp_exact())
