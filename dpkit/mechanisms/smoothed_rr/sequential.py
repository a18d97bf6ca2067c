"""Differentially private sequential learning (herding) with smoothed randomized response.

Model (Liu & Rahimian 2025, arXiv:2502.19525; Banerjee 1992; Bikhchandani, Hirshleifer, Welch
1992; spec /work/shared/specs/smoothed_rr.md §1, §4, §6): a state θ ∈ {−1, +1} with a uniform
prior; agents n = 1, 2, … act once, in order. Agent n sees the reports x_1..x_{n−1} of its
predecessors (public log-likelihood ratio l_n, l_1 = ``initial_belief``) and a private signal
s_n. Its intended action is a_n = +1 iff l_n + λ(s_n) > 0, and it publishes a randomized report
x_n of a_n. Observers know the mechanism and update

    l_{n+1} = l_n + log P(x_n | θ = +1, l_n) − log P(x_n | θ = −1, l_n).

Signals:

* ``"gaussian"``: s ~ N(θ, σ²), λ(s) = 2s/σ², so a_n = +1 iff s_n > t_n = −σ² l_n / 2. Reports:
  ``"none"`` (x = a), ``"classic"`` (RR, flip 1/(1+e^ε)) or ``"smoothed"`` (flip
  ½e^{−ε|s−t|/Δ}). Report likelihoods in closed form (spec §4), in log space:
  P(x = −1 | μ, t) = Z − ½B₁ + ½B₂ with Z = Φ((t−μ)/σ),
  B₁ = e^{−rt + rμ + r²σ²/2}·Φ((t−μ)/σ − rσ), B₂ = e^{rt − rμ + r²σ²/2}·Φ((μ−t)/σ − rσ),
  r = ε/Δ, and P(x = +1 | μ, t) = (1 − Z) − ½B₂ + ½B₁ (the symmetric form; no cancellation).
* ``"binary"``: P(s = θ) = p. Before a cascade (|l| ≤ log(p/(1−p)); ties follow the own
  signal) the intended action is the own signal and private agents report it through classic
  RR with u = 1/(1+e^ε) (both ``"classic"`` and ``"smoothed"`` mean this here, as in the paper);
  in a cascade the action ignores the signal, is reported as is and moves no belief.

Privacy: each agent's signal enters exactly one release (its report), so every agent gets its
full ε: smoothed RR is ε-DP for signals at distance ≤ Δ, classic RR ε-DP under replacement
(parallel composition across agents; the public history needs no protection).

Results reproduced in the tests (spec §5, §6, §8.2–8.3): the public LLR grows like
(2/(εσ²))·log n under smoothed RR against Θ(√log n) without privacy; classic RR learns much
more slowly; escape from a wrong herd is fast under privacy; cascade accuracy in the binary
model follows the gambler's-ruin closed form and is non-monotone in ε.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import log_ndtr

from ... import _validate as V
from ...errors import DPKitError
from ...random import as_generator, route_backend
from .. import _rr

__all__ = [
    "SequentialResult",
    "CascadeTheory",
    "simulate_sequential_learning",
    "simulate_binary_cascade",
    "report_log_likelihood",
    "log_report_probs",
    "cascade_theory",
    "asymptotic_constant",
    "MECHANISMS",
]

MECHANISMS = ("none", "smoothed", "classic")
Mechanism = Literal["none", "smoothed", "classic"]
_LOG_HALF = math.log(0.5)
#: Work per block of agents (runs × agents) between progress updates.
_BLOCK_WORK = 20_000_000
#: Largest accepted n_runs·n_agents with keep_paths (three (R, N) arrays).
MAX_PATH_CELLS = 50_000_000


# ================================================================ results
@dataclass(frozen=True)
class SequentialResult:
    """The outcome of :func:`simulate_sequential_learning` (R runs, N agents).

    Attributes:
        checkpoints: (C,) agent counts n at which the state was recorded (sorted, ≤ N).
        beliefs: (R, C) public LLR l_{n+1} after the first n reports.
        correct_reports: (R, C) number of reports x_1..x_n equal to θ.
        correct_actions: (R, C) number of intended actions a_1..a_n equal to θ.
        first_correct_report: (R,) first n with x_n = θ (N + 1 when none: censored).
        first_correct_action: (R,) first n with a_n = θ (N + 1 when none: censored).
        wrong_reports: (R,) reports ≠ θ among all N agents.
        wrong_actions: (R,) intended actions ≠ θ among all N agents.
        final_belief: (R,) l_{N+1}.
        actions, reports: (R, N) int8 paths of a and x (``keep_paths=True``), else None.
        belief_paths: (R, N) float64 l_{n+1} per agent (``keep_paths=True``), else None.
        cascade_time: binary signals only: (R,) number of agents before the cascade started
            (the index of the last informative report; N + 1 if none started), else None.
        cascade_sign: binary signals only: (R,) sign of the cascade (0 if none), else None.
    """

    theta: int
    n_agents: int
    mechanism: str
    signal: str
    epsilon: float | None
    checkpoints: np.ndarray
    beliefs: np.ndarray
    correct_reports: np.ndarray
    correct_actions: np.ndarray
    first_correct_report: np.ndarray
    first_correct_action: np.ndarray
    wrong_reports: np.ndarray
    wrong_actions: np.ndarray
    final_belief: np.ndarray
    actions: np.ndarray | None = None
    reports: np.ndarray | None = None
    belief_paths: np.ndarray | None = None
    cascade_time: np.ndarray | None = None
    cascade_sign: np.ndarray | None = None

    @property
    def n_runs(self) -> int:
        """R, the number of independent runs."""
        return int(self.final_belief.shape[0])

    def mean_belief(self) -> np.ndarray:
        """(C,) θ·l averaged over runs (positive = learning the truth)."""
        return self.theta * self.beliefs.mean(axis=0)

    def fraction_correct(self, kind: str = "reports") -> np.ndarray:
        """(C,) fraction of correct reports (or ``"actions"``) among agents 1..n, over runs."""
        c = self.correct_reports if kind == "reports" else self.correct_actions
        return c.mean(axis=0) / self.checkpoints


# ================================================================ likelihoods (numpy oracle)
def _rr_flip(eps: float) -> float:
    """Classic RR's flip probability 1/(1 + e^ε), as e^{−ε}/(1 + e^{−ε}) (no overflow)."""
    return _rr.flip_probability(eps, 2)


def _rate(mechanism: str, epsilon: float | None, sensitivity: float) -> tuple[float, float]:
    """(r = ε/Δ for smoothed RR, u = 1/(1+e^ε) for classic RR) — 0 where unused."""
    if mechanism == "none":
        return 0.0, 0.0
    eps = V.positive(epsilon=epsilon)
    if mechanism == "smoothed":
        return eps / V.positive(sensitivity=sensitivity), 0.0
    return 0.0, _rr_flip(eps)


def log_report_probs(t: Any, mu: float, sigma: float, mechanism: str, r: float,
                     u: float) -> tuple[np.ndarray, np.ndarray]:
    """(log P(x = −1 | θ = μ, t), log P(x = +1 | θ = μ, t)) for Gaussian signals (spec §4).

    ``r`` = ε/Δ (smoothed RR), ``u`` = the classic flip probability; both 0 where unused.

    Raises:
        DPKitError: t not finite, μ not finite, σ not > 0, an unknown mechanism, r not a
            finite number ≥ 0, u not in [0, ½].
    """
    if mechanism not in MECHANISMS:
        raise DPKitError(f"mechanism must be one of {MECHANISMS}, got {mechanism!r}")
    t = V.finite_array(t=t)
    mu = V.finite(mu=mu)
    sigma = V.positive(sigma=sigma)
    r = V.nonnegative(r=r)
    u = V.in_range(0.0, 0.5, u=u)
    a = (t - mu) / sigma
    lz, lzc = log_ndtr(a), log_ndtr(-a)  # P(a = −1), P(a = +1)
    if mechanism == "none":
        return lz, lzc
    if mechanism == "classic":
        lu = math.log(u) if u > 0 else -math.inf  # u underflows to 0 for ε > ~745
        return (np.logaddexp(math.log1p(-u) + lz, lu + lzc),
                np.logaddexp(math.log1p(-u) + lzc, lu + lz))
    c = r * r * sigma * sigma / 2.0
    lb1 = -r * t + r * mu + c + log_ndtr(a - r * sigma)
    lb2 = r * t - r * mu + c + log_ndtr(-a - r * sigma)
    lm = np.logaddexp(lz + np.log1p(-0.5 * np.exp(_ratio(lb1, lz))), _LOG_HALF + lb2)
    lp = np.logaddexp(lzc + np.log1p(-0.5 * np.exp(_ratio(lb2, lzc))), _LOG_HALF + lb1)
    return lm, lp


def _ratio(lb: np.ndarray, lz: np.ndarray) -> np.ndarray:
    """log(B/P) ≤ 0: B = E[e^{−r|v−t|}; a] ≤ P(a) because the flip probability is ≤ ½.

    Far in the tails (|t| ≳ 1e7σ) both logs are huge and their difference is rounding noise;
    it is clamped to its true range [−inf, 0], and 0/0 (both −inf) is read as 0, so the
    result stays finite and warning-free (a tail term of P(a) = 0 is −inf either way).
    """
    with np.errstate(invalid="ignore"):
        d = np.minimum(lb - lz, 0.0)
    return np.where(np.isnan(d), 0.0, d)


def report_log_likelihood(report: Any, belief: Any, mu: int, *, sigma: float = 1.0,
                          mechanism: Mechanism = "smoothed", epsilon: float | None = None,
                          sensitivity: float = 1.0) -> np.ndarray:
    """log P(x | θ = μ, l) of a report x ∈ {−1, +1} at public LLR l (Gaussian signals).

    Closed forms of spec §4 (Liu & Rahimian 2025; the smoothed-RR integral via the Gaussian
    moment generating function), evaluated in log space: never NaN for finite inputs.

    >>> float(np.exp(report_log_likelihood(1, 0.0, 1, mechanism="none")))  # Φ(1)
    0.8413447460685429
    """
    if mechanism not in MECHANISMS:
        raise DPKitError(f"mechanism must be one of {MECHANISMS}, got {mechanism!r}")
    s = V.positive(sigma=sigma)
    m = int(V.integer(mu=mu))
    if m not in (-1, 1):
        raise DPKitError(f"mu must be -1 or +1, got {mu!r}")
    try:
        x = np.asarray(report)
    except (TypeError, ValueError) as exc:
        raise DPKitError(f"report must be -1/+1 values: {exc}") from None
    if x.dtype.kind not in "iuf" or not np.isin(x, (-1, 1)).all():
        raise DPKitError("report must hold only -1 and +1")
    lb = V.finite_array(belief=belief)
    try:
        np.broadcast_shapes(x.shape, lb.shape)
    except ValueError:
        raise DPKitError(f"report (shape {x.shape}) and belief (shape {lb.shape}) must "
                         "broadcast together") from None
    r, u = _rate(mechanism, epsilon, sensitivity)
    with np.errstate(over="ignore"):
        t = -s * s * lb / 2.0
    if not np.isfinite(t).all():
        raise DPKitError(f"sigma**2 * belief / 2 must be finite, got sigma={s!r} and a belief "
                         f"of magnitude {float(np.max(np.abs(lb))):.3g}")
    lm, lp = log_report_probs(t, m, s, mechanism, r, u)
    return np.where(x == 1, lp, lm)


def asymptotic_constant(epsilon: float, sigma: float = 1.0) -> float:
    """K(ε, σ) of the smoothed-RR learning rate e^{c·l_n} ≈ K·n, c = εσ²/2 (spec §5.2).

    K = c·e^{ε²σ²/2}·sinh(ε) − ½·e^{−ε + ε²σ²/2}·(1 − e^{−ε²σ²}); the form is the authors'
    code's and our drift derivation's, not read in the paper.
    """
    e = V.positive(epsilon=epsilon)
    s2 = V.positive(sigma=sigma) ** 2
    c = e * s2 / 2.0
    try:
        return (c * math.exp(e * e * s2 / 2.0) * math.sinh(e)
                - 0.5 * math.exp(-e + e * e * s2 / 2.0) * (1.0 - math.exp(-e * e * s2)))
    except OverflowError:
        raise DPKitError(f"K(epsilon={e!r}, sigma={math.sqrt(s2)!r}) exceeds the float range "
                         "(epsilon**2 * sigma**2 / 2 must stay below about 709)") from None


# ================================================================ binary model theory
@dataclass(frozen=True)
class CascadeTheory:
    """Closed forms of the binary-signal cascade (spec §6; gambler's ruin between ±k)."""

    k: int
    p_correct: float
    expected_time: float
    p_correct_nonprivate: float


def cascade_theory(p: float, epsilon: float | None) -> CascadeTheory:
    """Cascade threshold k, P(correct cascade) and E[reports before it] for binary signals.

    With u = 1/(1+e^ε) (u = 0 without privacy), q = p(1−u) + (1−p)u, ρ = (1−q)/q,
    α = (1−p)/p: k = ⌊log α / log ρ⌋ + 1, P_correct = 1/(1 + ρ^k),
    E[τ] = (k/(2q−1))·(1 − ρ^k)/(1 + ρ^k). Liu & Rahimian 2025 (binary model); the closed
    forms are the spec's and the authors' code's.

    >>> cascade_theory(0.7, 1.0).k
    3
    """
    pp = V.in_range(0.5, 1.0, low_open=True, high_open=True, p=p)
    eps = None if epsilon is None else V.positive(epsilon=epsilon)
    u = 0.0 if eps is None else _rr_flip(eps)
    q = pp * (1.0 - u) + (1.0 - pp) * u
    # 2q − 1 = (2p − 1)(1 − 2u) and 1 − 2u = tanh(ε/2): no cancellation as ε → 0
    gap = (2.0 * pp - 1.0) * (1.0 if eps is None else math.tanh(eps / 2.0))
    log_rho = math.log1p(-gap / q)  # ρ = (1 − q)/q = 1 − (2q − 1)/q
    log_alpha = math.log((1.0 - pp) / pp)
    ratio = log_alpha / log_rho if log_rho < 0.0 else math.inf
    if not ratio < 2.0**62:
        raise DPKitError(f"epsilon={epsilon!r} is too small for a cascade threshold: "
                         f"k = log(α)/log(ρ) exceeds 2**62 (k grows like 1/epsilon)")
    k = int(math.floor(ratio + 1e-12)) + 1
    rk = math.exp(k * log_rho)
    return CascadeTheory(k=k, p_correct=1.0 / (1.0 + rk),
                         expected_time=(k / gap) * (-math.expm1(k * log_rho)) / (1.0 + rk),
                         p_correct_nonprivate=pp * pp / (pp * pp + (1.0 - pp) ** 2))


# ================================================================ argument handling
def _checkpoints(checkpoints: Any, n_agents: int) -> np.ndarray:
    if checkpoints is None:
        grid = np.unique(np.round(np.geomspace(1, n_agents, 41)).astype(np.int64))
        return np.unique(np.append(grid, n_agents))
    c = np.unique(np.asarray(checkpoints).reshape(-1))
    if c.size == 0 or c.dtype.kind not in "iuf" or (c != np.floor(c)).any() \
            or c[0] < 1 or c[-1] > n_agents:
        raise DPKitError(f"checkpoints must be whole numbers in [1, n_agents={n_agents}], got "
                         f"{np.asarray(checkpoints).tolist()}")
    return c.astype(np.int64)


class _Progress:
    """A one-line text progress bar on stderr (no dependency)."""

    def __init__(self, total: int, enabled: bool, label: str) -> None:
        self.total, self.enabled, self.label = total, enabled, label

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        frac = done / self.total
        bar = "#" * int(30 * frac)
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {100 * frac:5.1f}% ({done}/{self.total} "
                         "agents)")
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


# ================================================================ simulators
def simulate_sequential_learning(
    n_agents: int,
    n_runs: int,
    *,
    mechanism: Mechanism = "smoothed",
    epsilon: float | None = None,
    sensitivity: float = 1.0,
    sigma: float = 1.0,
    signal: Literal["gaussian", "binary"] = "gaussian",
    p: float = 0.7,
    theta: int = 1,
    initial_belief: float = 0.0,
    checkpoints: Any = None,
    keep_paths: bool = False,
    rng: Any = None,
    backend: str = "auto",
    progress: bool | None = None,
) -> SequentialResult:
    """Simulate R independent runs of the sequential-learning game with N agents each.

    The model, the report mechanisms and the public-belief updates are those of Liu & Rahimian
    2025 (module docstring; spec §1, §4, §6). Observers use the exact report likelihoods of
    the mechanism in use, in log space. Vectorized over runs: the numpy reference draws each
    signal and applies :func:`~dpkit.mechanisms.smoothed_rr.respond` literally; the numba
    (parallel over runs) and JAX kernels draw the pair (a, x) from its exact conditional law
    given the public state (equal in law; tested).

    Privacy: every agent's signal is released once, ε-DP per agent (smoothed RR: signals at
    distance ≤ Δ; classic RR: replacement); parallel composition across agents.

    Args:
        n_agents: N ≥ 1.
        n_runs: R ≥ 1.
        mechanism: "none", "smoothed" or "classic".
        epsilon: ε > 0 (required unless mechanism="none").
        sensitivity: Δ > 0 of smoothed RR (flip ½e^{−ε|s−t|/Δ}).
        sigma: σ > 0, the Gaussian signal's standard deviation.
        signal: "gaussian" or "binary" (binary: numpy only; "smoothed" means classic RR).
        p: P(s = θ) ∈ (½, 1) for binary signals.
        theta: the true state, −1 or +1.
        initial_belief: l_1 (finite; e.g. −L to start in a wrong herd).
        checkpoints: agent counts n at which to record beliefs and counts; default ~40
            log-spaced values and N.
        keep_paths: also return the (R, N) paths of actions, reports and beliefs.
        rng: None, an int seed or a numpy Generator (every backend); a JAX key with
            backend="jax"; a SecureGenerator (hardened tier) runs the numpy reference under
            "auto"/"numba" and is refused by "jax".
        backend: "auto" | "numpy" | "numba" | "jax" (auto: numba if installed, else numpy;
            there is no input array, so "auto" never picks JAX: pass backend="jax").
        progress: print a progress bar on stderr (default: when R·N ≥ 10⁸).

    Returns:
        A :class:`SequentialResult`.

    Raises:
        DPKitError: bad sizes, ε ≤ 0 or missing, σ/Δ ≤ 0, θ ∉ {±1}, p ∉ (½, 1), non-finite
            initial belief, bad checkpoints, keep_paths too large or with JAX, bad backend.

    >>> r = simulate_sequential_learning(200, 20, epsilon=1.0, rng=1, backend="numpy")
    >>> bool(r.mean_belief()[-1] > 3)
    True
    """
    n = V.integer(minimum=1, n_agents=n_agents)
    runs = V.integer(minimum=1, n_runs=n_runs)
    if mechanism not in MECHANISMS:
        raise DPKitError(f"mechanism must be one of {MECHANISMS}, got {mechanism!r}")
    r, u = _rate(mechanism, epsilon, sensitivity)
    s = V.positive(sigma=sigma)
    th = V.integer(theta=theta)
    if th not in (-1, 1):
        raise DPKitError(f"theta must be -1 or +1, got {theta!r}")
    l0 = V.finite(initial_belief=initial_belief)
    cps = _checkpoints(checkpoints, n)
    if signal not in ("gaussian", "binary"):
        raise DPKitError(f"signal must be 'gaussian' or 'binary', got {signal!r}")
    if keep_paths and runs * n > MAX_PATH_CELLS:
        raise DPKitError(f"keep_paths needs n_runs*n_agents <= {MAX_PATH_CELLS}, got {runs * n}")
    show = (runs * n >= 100_000_000) if progress is None else bool(progress)
    eps = None if mechanism == "none" else float(epsilon)  # type: ignore[arg-type]
    if signal == "binary":
        pp = V.in_range(0.5, 1.0, low_open=True, high_open=True, p=p)
        return simulate_binary_cascade(n, runs, p=pp, epsilon=eps, theta=th,
                                       initial_belief=l0, checkpoints=cps,
                                       keep_paths=keep_paths, rng=rng, progress=show)
    # "auto" follows the one rule (dpkit.backend.resolve) with no input array: numba or numpy;
    # a JAX key with "auto" is refused by as_generator, which says to pass backend="jax".
    b = route_backend(backend, None, rng)
    if b == "jax":
        if keep_paths:
            raise DPKitError("keep_paths needs backend 'numpy' or 'numba', got 'jax'")
        from ._jax import simulate_jax

        return simulate_jax(n, runs, mechanism, eps, r, u, s, th, l0, cps, rng, show)
    if b == "numba":
        from ._numba import simulate_numba

        return simulate_numba(n, runs, mechanism, eps, r, u, s, th, l0, cps, keep_paths,
                              as_generator(rng), show)
    return _simulate_numpy(n, runs, mechanism, eps, r, u, s, th, l0, cps, keep_paths,
                           as_generator(rng), show)


def _new_result(n: int, runs: int, cps: np.ndarray, keep: bool) -> dict[str, Any]:
    c = cps.size
    return {
        "beliefs": np.empty((runs, c)),
        "correct_reports": np.empty((runs, c), dtype=np.int64),
        "correct_actions": np.empty((runs, c), dtype=np.int64),
        "actions": np.empty((runs, n), dtype=np.int8) if keep else None,
        "reports": np.empty((runs, n), dtype=np.int8) if keep else None,
        "belief_paths": np.empty((runs, n)) if keep else None,
    }


def _simulate_numpy(n: int, runs: int, mechanism: str, eps: float | None, r: float, u: float,
                    sigma: float, theta: int, l0: float, cps: np.ndarray, keep: bool,
                    g: Any, show: bool) -> SequentialResult:
    """numpy reference: draw s, apply the mechanism literally, update with the closed forms."""
    out = _new_result(n, runs, cps, keep)
    bar = _Progress(n, show, f"sequential learning ({mechanism}, numpy)")
    step = max(1, _BLOCK_WORK // runs)
    lb = np.full(runs, l0)
    first_x = np.full(runs, n + 1, dtype=np.int64)
    first_a = np.full(runs, n + 1, dtype=np.int64)
    cnt_x = np.zeros(runs, dtype=np.int64)
    cnt_a = np.zeros(runs, dtype=np.int64)
    ci = 0
    for k in range(1, n + 1):
        t = -sigma * sigma * lb / 2.0
        sig = theta + sigma * g.standard_normal(runs)
        a = np.where(sig > t, 1, -1).astype(np.int8)
        if mechanism == "smoothed":
            flip = g.random(runs) < 0.5 * np.exp(-r * np.abs(sig - t))
            x = np.where(flip, -a, a).astype(np.int8)
        elif mechanism == "classic":
            x = np.where(g.random(runs) < u, -a, a).astype(np.int8)
        else:
            x = a
        lm1, lp1 = log_report_probs(t, 1.0, sigma, mechanism, r, u)
        lm0, lp0 = log_report_probs(t, -1.0, sigma, mechanism, r, u)
        lb = lb + np.where(x == 1, lp1 - lp0, lm1 - lm0)
        okx, oka = x == theta, a == theta
        cnt_x += okx
        cnt_a += oka
        first_x = np.where(okx & (first_x > n), k, first_x)
        first_a = np.where(oka & (first_a > n), k, first_a)
        if keep:
            out["actions"][:, k - 1] = a
            out["reports"][:, k - 1] = x
            out["belief_paths"][:, k - 1] = lb
        if ci < cps.size and cps[ci] == k:
            out["beliefs"][:, ci] = lb
            out["correct_reports"][:, ci] = cnt_x
            out["correct_actions"][:, ci] = cnt_a
            ci += 1
        if k % step == 0 or k == n:
            bar.update(k)
    return SequentialResult(theta=theta, n_agents=n, mechanism=mechanism, signal="gaussian",
                            epsilon=eps, checkpoints=cps, first_correct_report=first_x,
                            first_correct_action=first_a, wrong_reports=n - cnt_x,
                            wrong_actions=n - cnt_a, final_belief=lb, **out)


def simulate_binary_cascade(
    n_agents: int,
    n_runs: int,
    *,
    p: float,
    epsilon: float | None,
    theta: int = 1,
    initial_belief: float = 0.0,
    checkpoints: Any = None,
    keep_paths: bool = False,
    rng: Any = None,
    progress: bool = False,
) -> SequentialResult:
    """The binary-signal model (spec §6): RR reports before a cascade, none inside it.

    P(s = θ) = p; before a cascade the intended action is the own signal (ties |l| = λ follow
    it), reported through classic RR with u = 1/(1+e^ε) (``epsilon=None``: no privacy); the
    public LLR moves by ±log(q/(1−q)), q = p(1−u) + (1−p)u, tracked as an exact integer count
    of net reports. Once |l| > λ = log(p/(1−p)) every agent herds, its report carries no
    signal (no privacy cost) and the belief stops. Vectorized over runs (numpy); the loop ends
    when every run has cascaded (the rest is deterministic). Liu & Rahimian 2025.

    Privacy: classic RR, ε-DP per agent under replacement of its signal; herding agents'
    reports do not depend on their signals.

    >>> r = simulate_binary_cascade(500, 2000, p=0.7, epsilon=1.0, rng=0)
    >>> bool(abs((r.cascade_sign == 1).mean() - cascade_theory(0.7, 1.0).p_correct) < 0.04)
    True
    """
    n = V.integer(minimum=1, n_agents=n_agents)
    runs = V.integer(minimum=1, n_runs=n_runs)
    pp = V.in_range(0.5, 1.0, low_open=True, high_open=True, p=p)
    th = V.integer(theta=theta)
    if th not in (-1, 1):
        raise DPKitError(f"theta must be -1 or +1, got {theta!r}")
    cps = _checkpoints(checkpoints, n)
    theory = cascade_theory(pp, epsilon)
    u = 0.0 if epsilon is None else _rr_flip(epsilon)
    q = pp * (1.0 - u) + (1.0 - pp) * u
    step_llr = math.log(q / (1.0 - q))
    lam = math.log(pp / (1.0 - pp))
    l0 = V.finite(initial_belief=initial_belief)
    if l0 != 0.0:
        raise DPKitError("initial_belief must be 0 for binary signals (the cascade count "
                         f"starts at 0), got {initial_belief!r}")
    g = as_generator(rng)
    out = _new_result(n, runs, cps, keep_paths)
    bar = _Progress(n, progress, "binary cascade (numpy)")
    count = np.zeros(runs, dtype=np.int64)  # net informative reports; l = count·step_llr
    casc = np.zeros(runs, dtype=np.int64)  # cascade sign (0: none yet)
    ctime = np.full(runs, n + 1, dtype=np.int64)
    first_x = np.full(runs, n + 1, dtype=np.int64)
    first_a = np.full(runs, n + 1, dtype=np.int64)
    cnt_x = np.zeros(runs, dtype=np.int64)
    cnt_a = np.zeros(runs, dtype=np.int64)
    ci = 0
    k = 0
    while k < n:
        k += 1
        active = casc == 0
        sig = np.where(g.random(runs) < pp, th, -th).astype(np.int8)
        flip = g.random(runs) < u
        a = np.where(active, sig, casc).astype(np.int8)
        x = np.where(active & flip, -a, a).astype(np.int8)
        count = count + np.where(active, x, 0)
        newc = active & (np.abs(count) >= theory.k)
        casc = np.where(newc, np.sign(count), casc)
        ctime = np.where(newc, k, ctime)
        okx, oka = x == th, a == th
        cnt_x += okx
        cnt_a += oka
        first_x = np.where(okx & (first_x > n), k, first_x)
        first_a = np.where(oka & (first_a > n), k, first_a)
        lb = count * step_llr
        if keep_paths:
            out["actions"][:, k - 1] = a
            out["reports"][:, k - 1] = x
            out["belief_paths"][:, k - 1] = lb
        while ci < cps.size and cps[ci] == k:
            out["beliefs"][:, ci] = lb
            out["correct_reports"][:, ci] = cnt_x
            out["correct_actions"][:, ci] = cnt_a
            ci += 1
        if (casc != 0).all() and not keep_paths:
            # everyone herds from here on: actions = reports = cascade sign, belief frozen
            ok = (casc == th).astype(np.int64)
            while ci < cps.size:
                extra = cps[ci] - k
                out["beliefs"][:, ci] = lb
                out["correct_reports"][:, ci] = cnt_x + extra * ok
                out["correct_actions"][:, ci] = cnt_a + extra * ok
                ci += 1
            cnt_x = cnt_x + (n - k) * ok
            cnt_a = cnt_a + (n - k) * ok
            first_x = np.where((first_x > n) & (ok == 1), k + 1 if k < n else n + 1, first_x)
            first_a = np.where((first_a > n) & (ok == 1), k + 1 if k < n else n + 1, first_a)
            k = n
        bar.update(k)
    assert lam > 0
    return SequentialResult(theta=th, n_agents=n, mechanism="none" if epsilon is None
                            else "classic", signal="binary", epsilon=epsilon, checkpoints=cps,
                            first_correct_report=first_x, first_correct_action=first_a,
                            wrong_reports=n - cnt_x, wrong_actions=n - cnt_a,
                            final_belief=count * step_llr, cascade_time=ctime,
                            cascade_sign=casc, **out)
