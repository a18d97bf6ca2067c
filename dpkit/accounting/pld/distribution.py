"""A privacy loss distribution on a uniform grid, and its certified Fourier composition.

A privacy loss distribution (PLD) of a pair of distributions (P, Q) is the law of
L = log(P(Y)/Q(Y)) with Y ~ P (Sommer, Meiser, Mohammadi 2019; Koskela, Jälkö, Honkela 2020).
Everything (ε, δ) about the pair is in it: for every ε ∈ ℝ the hockey-stick divergence is

    δ(ε) = P(L = ∞) + E[(1 − e^{ε−L})₊] = ∫_ε^∞ e^{ε−x} S(x) dx,      S(x) = P(L > x).

Certification rule used everywhere in this package: ``(1 − e^{ε−ℓ})₊`` is non-decreasing in
ℓ, so a representation whose survival function is pointwise ≥ the true one (mass moved *up*,
mass added, or mass moved to +∞) has δ(ε) ≥ the true δ(ε) at **every** ε; sums of independent
losses preserve that order, so it may be applied before, during and after composition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np

from ... import _validate as V
from ...errors import DPKitError
from ._kernels import fused, kernel
from ._rounding import TILT_ROUNDING

__all__ = ["PrivacyLossDistribution", "MAX_POINTS", "fourier_compose", "fft_noise_floor"]

#: Largest grid any composition builds (2^22 points, 32 MiB of float64): the grid never grows
#: with the number of compositions beyond this (wider windows get a coarser step instead).
MAX_POINTS = 1 << 22

_U = np.finfo(float).eps / 2  # unit roundoff
#: Upward nudges (relative to max(ε, 1)) tried when float rounding puts the closed-form ε(δ)
#: a hair too low; the last is capped at the next grid loss, where δ is known to be reached.
_BUMPS = np.array([0.0, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, np.inf])
#: Chernoff exponents always tried for the upper-tail cut (besides multiples of the tilt).
_S_FIXED = np.geomspace(0.05, 200.0, 5)
_S_TILT = np.array([0.75, 1.0, 1.5, 2.0, 3.0, 5.0])


@dataclass(frozen=True, eq=False)
class PrivacyLossDistribution:
    """A discrete privacy loss distribution: mass ``masses[i]`` at loss ``(lower + i) * step``,
    plus ``infinity_mass`` at loss +∞ (outputs that only P can produce).

    Immutable (the mass array is a read-only copy). Masses are float64, ≥ 0 and may sum to
    less than ``1 − infinity_mass`` (the missing mass sits at loss −∞: Q-only outputs) or, for
    pessimistic representations produced by :meth:`compose`, slightly more: every method is
    written so that more mass, or mass at higher losses, can only *increase* δ(ε).

    Args:
        step: grid spacing Δ > 0 (finite).
        lower: integer grid index of ``masses[0]``.
        masses: 1-D array of non-negative finite masses.
        infinity_mass: mass at +∞ in [0, 1]; it counts fully into δ(ε) for every ε.

    Raises:
        DPKitError: naming the parameter, for a bad step, index, mass array or infinity_mass.
    """

    step: float
    lower: int
    masses: np.ndarray
    infinity_mass: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "step", V.positive(step=self.step))
        object.__setattr__(self, "lower", V.integer(lower=self.lower))
        object.__setattr__(self, "infinity_mass", V.probability(infinity_mass=self.infinity_mass))
        try:
            m = np.array(self.masses, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise DPKitError(f"masses must be a 1-D array of numbers: {exc}") from None
        if m.size == 0:
            m = np.zeros(1)
        if not np.all(np.isfinite(m)) or (m < 0).any():
            raise DPKitError("masses must all be finite and >= 0")
        m.setflags(write=False)
        object.__setattr__(self, "masses", m)

    # ------------------------------------------------------------------ views
    @property
    def losses(self) -> np.ndarray:
        """The loss of each mass, ``(lower + i) * step``."""
        return (self.lower + np.arange(self.masses.size)) * self.step

    @property
    def upper(self) -> int:
        """Grid index of the last mass."""
        return self.lower + self.masses.size - 1

    def _loss_at(self, i: int) -> float:
        """``losses[i]`` without building the array (the same float: (lower + i)·step)."""
        return float((self.lower + i) * self.step)

    def _losses_from(self, j: int) -> np.ndarray:
        """``losses[j:]`` (the same floats), built for the tail only."""
        return (self.lower + np.arange(j, self.masses.size)) * self.step

    def _first_above(self, x: float, *, strict: bool = True) -> int:
        """``searchsorted(losses, x, side="right" if strict else "left")`` without building
        the losses: the first index whose loss is > x (≥ x when not ``strict``), from the
        nearest grid index, corrected against the very floats of :attr:`losses`."""
        size = self.masses.size
        if math.isnan(x) or x == math.inf:  # (numpy sorts NaN last)
            return size
        if x == -math.inf:
            return 0
        ratio = x / self.step
        if not math.isfinite(ratio):  # |x| beyond float range in grid units
            return size if ratio > 0 else 0
        k = min(max(math.floor(ratio) - self.lower, 0), size)

        def before(i: int) -> bool:  # losses[i] comes before the insertion point
            v = self._loss_at(i)
            return v <= x if strict else v < x

        while k > 0 and not before(k - 1):
            k -= 1
        while k < size and before(k):
            k += 1
        return k

    # ------------------------------------------------------------------ δ(ε)
    @overload
    def delta(self, epsilon: float) -> float: ...
    @overload
    def delta(self, epsilon: np.ndarray) -> np.ndarray: ...

    def delta(self, epsilon: float | np.ndarray) -> float | np.ndarray:
        """Hockey-stick δ(ε) = infinity_mass + Σ_i p_i (1 − e^{ε−ℓ_i})₊, vectorized over ε.

        Each term is evaluated as p_i · (−expm1(ε − ℓ_i)) (no cancellation). ε may be any real
        (``-inf`` gives the total mass, ``inf`` gives infinity_mass); NaN is refused.
        Privacy: exact for this discrete distribution up to float rounding (relative ~1e-15
        per term); it bounds the mechanism when this PLD came from a pessimistic constructor.
        """
        scalar = np.ndim(epsilon) == 0
        e = np.asarray(epsilon, dtype=float).reshape(-1)
        if np.isnan(e).any():
            raise DPKitError("epsilon must not be NaN")
        out = np.empty_like(e)
        for k, x in enumerate(e):
            if x == -math.inf:
                out[k] = min(1.0, float(self.masses.sum()) + self.infinity_mass)
                continue
            j = self._first_above(float(x))
            s = (float(np.sum(self.masses[j:] * -np.expm1(x - self._losses_from(j))))
                 if j < self.masses.size else 0.0)
            out[k] = min(1.0, s + self.infinity_mass)
        return float(out[0]) if scalar else out

    def _grid_deltas(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(D, S0, U): D[j] = Σ_{i>j} p_i (1 − e^{ℓ_j−ℓ_i}) (δ at grid loss j without the
        infinity mass), S0[j] = Σ_{i≥j} p_i, U[j] = Σ_{i≥j} p_i e^{ℓ_j−ℓ_i}; O(n) each."""
        d, s0, u = kernel("grid_deltas")(self.masses, math.exp(-self.step))
        return d, s0, u

    def epsilon(self, delta: float) -> float:
        """The smallest ε ≥ 0 with δ(ε) ≤ ``delta`` (exact on this discrete distribution).

        Returns ``inf`` when no ε reaches ``delta`` (infinity_mass > delta); never NaN. Between
        grid losses δ(ε) is A − e^ε·B, which is solved in closed form, then checked with
        :meth:`delta` and moved up (to at most the next grid loss, then by bisection on the
        grid) if float rounding put it a hair too low.

        Args:
            delta: target δ in [0, 1].

        Raises:
            DPKitError: naming ``delta`` when it is not a probability.
        """
        return self.epsilon_checked(V.probability(delta=delta))

    def epsilon_checked(self, d: float) -> float:
        """:meth:`epsilon` for a δ ∈ [0, 1] already checked (the engine's passes and the
        accountant's searches: "validate once"); cached per distribution."""
        cache: dict[float, float] = self.__dict__.setdefault("_eps_cache", {})
        if d not in cache:
            if len(cache) > 64:
                cache.clear()
            cache[d] = self._epsilon(d)
        return cache[d]

    def _epsilon(self, d: float) -> float:
        if self.infinity_mass > d:
            return math.inf
        size = self.masses.size
        # (the losses are never built here: ℓ_j = (lower + j)·step, the same floats)
        d_grid = d - self.infinity_mass  # dj + infinity_mass ≤ d, compared without a pass
        # δ(0) ≤ d needs a direct evaluation only when δ at the first grid loss ≥ 0 (≥ δ(0)
        # would be) does not already exceed d with room for rounding
        j_zero = self._first_above(0.0, strict=False)
        # j: the first grid index whose δ (without the infinity mass) is ≤ d − inf (the last
        # grid loss always reaches it; an index where dj + inf rounds above d while
        # dj ≤ d − inf is re-checked below, as every candidate is)
        j, d_zero, s0_j, u_j = kernel("grid_epsilon")(self.masses, math.exp(-self.step),
                                                      d_grid, j_zero)
        if not (j_zero < size and d_zero + self.infinity_mass > d * (1.0 + 1e-9) + 1e-300) \
                and self.delta(0.0) <= d:
            return 0.0
        lo_j = self._loss_at(j)
        below_j = self._loss_at(j - 1) if j > 0 else -math.inf
        # between ℓ_{j-1} and ℓ_j: δ(ε) = inf + S0[j] − e^{ε−ℓ_j} U[j]
        cand = lo_j
        if j > 0 and u_j > 0:
            num = self.infinity_mass + s0_j - d
            if num > 0:
                x = lo_j + math.log(num / u_j)
                if below_j <= x <= lo_j:
                    cand = x
        cand = max(cand, 0.0)
        top = max(lo_j, cand)
        cands = np.minimum(cand + _BUMPS * max(cand, 1.0), top)
        # the closed form, certified: the first of 1e-12, 1e-11, 1e-10·ε higher whose bound
        # (:meth:`_closed_form_bound`) reaches ``delta``
        for c in cands[2:5]:
            c = float(c)
            if below_j <= c <= lo_j and self._closed_form_bound(c, j, s0_j, u_j) <= d:
                return c
        # float safety otherwise: verify candidates directly (vectorized), from the closed
        # form up to the grid loss ℓ_j, and return the first that reaches ``delta``
        if self._delta_many(cands[2:3])[0] <= d:
            return float(cands[2])
        ok_c = np.nonzero(self._delta_many(cands) <= d)[0]
        if ok_c.size:
            return float(cands[ok_c[0]])
        # fall back on grid losses: δ is non-increasing, so bisect on direct evaluations
        lo_i, hi_i = j, size - 1
        if self._delta_many(np.array([self._loss_at(hi_i)]))[0] > d:
            return math.inf
        while lo_i < hi_i:
            mid = (lo_i + hi_i) // 2
            if self._delta_many(np.array([self._loss_at(mid)]))[0] <= d:
                hi_i = mid
            else:
                lo_i = mid + 1
        return max(self._loss_at(hi_i), 0.0)

    def _closed_form_bound(self, c: float, j: int, s0_j: float, u_j: float) -> float:
        """An upper bound on δ(c) for ℓ_{j−1} ≤ c ≤ ℓ_j from the suffix sums S0[j] = Σ_{i≥j} p_i
        and U[j] = Σ_{i≥j} p_i a^{i−j} (a = e^{−step}) as computed (sequential sums from the
        top, :func:`._kernels.grid_epsilon_reference`): inf + S0 − e^{c−ℓ_j}·U, plus its
        rounding.

        With K = size − j terms and L the largest |loss|: the computed S0 is within γ_K of
        the exact sum; the computed U within γ_{3K+2} (one product and one sum per term, and
        a = exp(−step) within u, raised to the power i − j) of Σ p_i e^{ℓ_j−ℓ_i}, whose float
        losses differ from (i − j)·step by ≤ 2u·L; e^{c−ℓ_j} is within 2u; the final sum and
        product add ≤ 2u of their magnitudes. So the exact δ(c) ≤ inf + S0 − xU + E with
        E = 4·(K + 4 + L)·u·(inf + S0 + xU) (γ_m ≤ 1.01·m·u here). Privacy: an upper bound on
        this distribution's δ(c)."""
        x = math.exp(c - self._loss_at(j))
        big = self.infinity_mass + s0_j + x * u_j
        k = self.masses.size - j
        l_max = max(abs(self._loss_at(0)), abs(self._loss_at(self.masses.size - 1)))
        return self.infinity_mass + s0_j - x * u_j + 4.0 * (k + 4.0 + l_max) * _U * big

    def _delta_many(self, eps: np.ndarray) -> np.ndarray:
        """:meth:`delta` at several finite ε at once (one pass over the masses above min ε)."""
        j = self._first_above(float(np.min(eps)))
        if j >= self.masses.size:
            return np.minimum(1.0, np.full(eps.size, self.infinity_mass))
        with np.errstate(over="ignore"):
            t = np.maximum(-np.expm1(eps[:, None] - self._losses_from(j)[None, :]), 0.0)
        t *= self.masses[j:]  # (no BLAS: its threads cost more than they give here)
        return np.minimum(1.0, t.sum(axis=1) + self.infinity_mass)

    # ------------------------------------------------------------------ composition
    def compose(self, other: PrivacyLossDistribution, *, tilt: float = 0.0,
                tail_bound: float = 1e-15, max_points: int = MAX_POINTS
                ) -> PrivacyLossDistribution:
        """PLD of the composition (sum of independent losses), by FFT convolution.

        Both must share ``step``. See :meth:`self_compose` for ``tilt``, ``tail_bound`` and
        ``max_points`` and for the certification: the result's δ(ε) is ≥ the exact
        convolution's at every ε. Privacy: composing dominating pairs gives a dominating pair
        of the composed mechanism (Zhu, Dong, Wang 2022, Thm. 10), whose PLD is this sum.
        """
        if not isinstance(other, PrivacyLossDistribution):
            raise DPKitError(f"other must be a PrivacyLossDistribution, got {type(other).__name__}")
        if not math.isclose(other.step, self.step, rel_tol=1e-12, abs_tol=0.0):
            raise DPKitError(f"other.step must equal step = {self.step!r}, got {other.step!r}")
        return compose_many([(self, 1), (other, 1)], tilt=tilt, tail_bound=tail_bound,
                            max_points=max_points)

    def self_compose(self, count: int, *, tilt: float = 0.0, tail_bound: float = 1e-15,
                     max_points: int = MAX_POINTS) -> PrivacyLossDistribution:
        """PLD of ``count`` independent copies (count up to 1e9 and beyond, same cost).

        Exponentiation in the Fourier domain: one real FFT, ``ẑ^count`` as exp(count·log ẑ),
        one inverse FFT, on a window of at most ``max_points`` grid points whatever ``count``.

        Certified (every step only raises δ(ε), see the module docstring):
          * the window holds the whole support when it fits; else it is cut where a Chernoff
            bound on the *discrete* distribution, exp(count·log E[e^{sL}] − s·B), is below
            ``tail_bound``; that bound is added to ``infinity_mass``; cyclic aliasing only
            adds non-negative mass inside the window; mass below the window is lumped at its
            lowest loss;
          * float rounding of the FFT: every entry gets a bound η on its absolute error
            added: the smaller of the a-priori (count + 1)(8·log2 N + 4)·u (u = 2^-53) and
            the bound computed from the spectrum itself (:func:`_spectral_noise_floor`,
            usually ~1000× smaller: only frequencies with |ẑ| near 1 amplify errors);
          * ``tilt`` λ ≥ 0 composes e^{λℓ}·p / E[e^{λL}] instead (exponential tilting commutes
            with convolution): the rounding error then scales like e^{−λℓ}, which is tiny in
            the upper tail that δ(ε) reads. Use λ near the Chernoff-optimal exponent of the
            target (what :func:`dpkit.accounting.pld.epsilon_bound` does); with λ = 0 the
            rounding bound costs up to N·η in δ.

        Args:
            count: number of compositions, an integer ≥ 0.
            tilt: λ ≥ 0 (finite).
            tail_bound: upper-tail mass allowed into ``infinity_mass``, in (0, 1).
            max_points: largest grid built (≥ 16); a wider window gets a coarser step (mass
                rounded up to it).

        Raises:
            DPKitError: naming the parameter.
        """
        n = V.integer(minimum=0, count=count)
        return compose_many([(self, n)], tilt=tilt, tail_bound=tail_bound,
                            max_points=max_points)

    def coarsen(self, factor: int) -> PrivacyLossDistribution:
        """The same distribution on a grid ``factor`` times coarser, every mass rounded *up*
        to the next coarse loss (stochastically larger: δ(ε) can only grow)."""
        f = V.integer(minimum=1, factor=factor)
        if f == 1:
            return self
        idx = self.lower + np.arange(self.masses.size)
        up = -((-idx) // f)  # ceil(idx / f)
        lo = int(up[0])
        m = np.bincount(up - lo, weights=self.masses)
        return PrivacyLossDistribution(self.step * f, lo, m, self.infinity_mass)

    def truncate(self, tail_mass: float) -> PrivacyLossDistribution:
        """Drop both tails up to ``tail_mass`` each, pessimistically: upper-tail mass moves to
        +∞ (``infinity_mass``), lower-tail mass moves up to the lowest kept loss. Both only
        increase δ(ε) at every ε; the increase is at most ``tail_mass`` (upper) and zero for ε
        at or above the lowest kept loss (lower)."""
        t = V.in_range(0.0, 1.0, high_open=True, tail_mass=tail_mass)
        p = self.masses
        top = np.cumsum(p[::-1])[::-1]  # mass at index ≥ i
        bot = np.cumsum(p)
        keep_hi = int(np.nonzero(top > t)[0][-1]) if (top > t).any() else 0
        keep_lo = int(np.nonzero(bot > t)[0][0]) if (bot > t).any() else 0
        keep_lo = min(keep_lo, keep_hi)
        m = p[keep_lo:keep_hi + 1].copy()
        m[0] += float(bot[keep_lo] - p[keep_lo]) if keep_lo > 0 else 0.0
        cut = float(top[keep_hi + 1]) if keep_hi + 1 < p.size else 0.0
        return PrivacyLossDistribution(self.step, self.lower + keep_lo, m,
                                       min(1.0, self.infinity_mass + cut))


# ------------------------------------------------------------------------------- core
def _trusted(step: float, lower: int, masses: np.ndarray, infinity_mass: float
             ) -> PrivacyLossDistribution:
    """A :class:`PrivacyLossDistribution` built without re-validation, for this package's
    own constructions whose masses are finite and ≥ 0 by construction (float64, 1-D)."""
    out = object.__new__(PrivacyLossDistribution)
    m = np.ascontiguousarray(masses, dtype=np.float64).reshape(-1)
    if m.size == 0:
        m = np.zeros(1)
    m.setflags(write=False)
    object.__setattr__(out, "step", float(step))
    object.__setattr__(out, "lower", int(lower))
    object.__setattr__(out, "masses", m)
    object.__setattr__(out, "infinity_mass", min(1.0, max(0.0, float(infinity_mass))))
    return out


def fft_noise_floor(total_count: float, n: int) -> float:
    """A-priori bound on the absolute rounding error of each entry of the tilted composition.

    Each output of a radix FFT of length n is a depth-log2(n) tree of sums and twiddle
    products, so its error is ≤ c·log2(n)·u·‖x‖₁ (c = 8 covers the twiddle error); the inputs
    are probability vectors (‖x‖₁ = 1); raising ẑ (|ẑ| ≤ 1) to the power k multiplies an
    absolute error by ≤ k, and exp(k·log ẑ) adds ≤ 2k·u; the inverse FFT adds one more
    c·log2(n)·u. Summed over all events: η = (K + 1)(8·log2 n + 4)·u with K = Σ counts.
    """
    return (float(total_count) + 1.0) * (8.0 * math.log2(max(n, 2)) + 4.0) * _U


def _spectral_noise_floor(mod: np.ndarray, log_mod: np.ndarray, log_hi: np.ndarray,
                          log_err: np.ndarray, total_count: float, n_parts: int, n: int
                          ) -> float:
    """A bound on the absolute rounding error of each entry of the composed (tilted) masses,
    from the spectrum actually computed (usually far below :func:`fft_noise_floor`, whose
    factor K + 1 assumes every frequency has modulus 1).

    With b_k the computed bins of one part's forward FFT, the exact bins a_k satisfy
    |a_k − b_k| ≤ ε_F = (8·log2 n + 4)·u (componentwise FFT error on an input of ℓ1-norm 1,
    plus its own rounding). For Z = Π_p a_p^{c_p}: |Π a^c − Π b^c| ≤ Π(|b| + ε_F)^c − Π|b|^c
    = D_k (computed as e^{S0}·expm1(S1 − S0), S1 = Σc·log(|b| + ε_F), S0 = Σc·log|b|). The
    polar power adds ≤ M_k·u·(2·Σc(|log|b|| + 1) + 3π·K·P + 3) (logs and their weighted
    sums, arctan2, the phase sums and cos/sin; M_k = e^{S0}; K = Σ counts, P parts). An
    error spectrum e maps through the inverse real FFT to ≤ (2/n)·Σ_k |e_k| per entry, and
    the inverse FFT's own rounding is ≤ (8·log2 n + 4)·u·(2/n)·Σ_k |Z_k|. The sum of those,
    times 1.01 for the rounding of this very computation, is returned.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        d = np.where(np.isfinite(log_mod), np.exp(log_mod) * np.expm1(log_hi - log_mod),
                     np.exp(log_hi))
    d = np.where(np.isfinite(d), d, np.inf)
    err = d + mod * _U * (2.0 * log_err + 3.0 * math.pi * total_count * max(n_parts, 1) + 3.0)
    return _noise_from_sums(float(np.sum(err)), float(np.sum(mod)), n)


def _noise_from_sums(err_sum: float, mod_sum: float, n: int) -> float:
    """The per-entry bound of :func:`_spectral_noise_floor` from Σ_k (error bound of bin k)
    and Σ_k |Z_k| (the inverse real FFT maps them to (2/n)·…, plus its own rounding)."""
    inv = (8.0 * math.log2(max(n, 2)) + 4.0) * _U
    total = (2.0 / n) * (err_sum * (1.0 + inv) + inv * mod_sum)
    return total * 1.01 if math.isfinite(total) else math.inf


def _power_spectrum(spectra: list[tuple[np.ndarray, float]], log_hi: np.ndarray,
                    total_count: float, n_parts: int, n: int
                    ) -> tuple[np.ndarray, float, bool]:
    """(Π ẑ_p^{c_p} on the live bins, 0 elsewhere; its rounding bound from
    :func:`_spectral_noise_floor`; whether every bin is live).

    Bins whose bound on the true modulus e^{log_hi} is below 1e-330 (0 in float64) carry
    nothing: their computed power, e^{log_mod} ≤ e^{log_hi}, and their error bound both
    underflow to 0 exactly. Only the other bins (few, for many compositions: |ẑ|^count dies
    fast away from frequency 0) get the logs, phases and trigonometry; the caller adds 1e-300
    to the error bound for the bins left out (each of them: true error ≤ e^{log_hi} ≤
    1e-330). The numpy reference of the fused ``spectral_power`` kernel (:mod:`._kernels`)."""
    nb = log_hi.size
    live = np.nonzero(log_hi > -760.0)[0]
    everything = live.size == nb
    log_mod = np.zeros(live.size)  # Σ count · log |ẑ|
    log_err = np.zeros(live.size)  # Σ count · (|log |ẑ|| + 1): rounding of log_mod
    phase = np.zeros(live.size)  # Σ count · arg ẑ
    for f, cf in spectra:
        fl = f if everything else f[live]
        with np.errstate(divide="ignore"):
            lf = np.log(np.abs(fl))
        log_mod += cf * lf
        alf = np.abs(lf)
        alf[alf == math.inf] = 0.0  # |ẑ| = 0: its power is 0 exactly, nothing to round
        log_err += cf * (alf + 1.0)
        phase += cf * np.arctan2(fl.imag, fl.real)
    mod = np.exp(log_mod)
    z = np.zeros(nb, dtype=complex)
    z.real[live] = mod * np.cos(phase)
    z.imag[live] = mod * np.sin(phase)
    eta = _spectral_noise_floor(mod, log_mod, log_hi if everything else log_hi[live],
                                log_err, total_count, n_parts, n)
    return z, eta, everything


def _log_mgf(p: PrivacyLossDistribution, s: np.ndarray,
             losses: np.ndarray | None = None) -> np.ndarray:
    """log Σ_i p_i e^{s ℓ_i} for each s (finite part only; −inf when there is none);
    ``losses`` replaces the grid losses ℓ_i when given (one kernel call: :mod:`._kernels`)."""
    return log_mgf_of(p.masses, p.losses if losses is None else losses, s)


def log_mgf_of(masses: np.ndarray, losses: np.ndarray, s: np.ndarray) -> np.ndarray:
    """log Σ_i m_i e^{s ℓ_i} for each s of atoms (masses ≥ 0 and losses, float arrays of one
    size; −inf when no mass is positive)."""
    out: np.ndarray = kernel("log_mgf")(
        np.ascontiguousarray(masses, dtype=float), np.ascontiguousarray(losses, dtype=float),
        np.ascontiguousarray(s, dtype=float).reshape(-1))
    return out


def log_mgf_error(count: int, l_max: float, s: np.ndarray, k1: np.ndarray) -> np.ndarray:
    """A bound on the float error of :func:`log_mgf_of` (either implementation) at exponents
    ``s`` over ``count`` positive atoms with |loss| ≤ ``l_max`` and computed values ``k1``.

    The shifted sum of ``count`` terms in [0, 1] rounds by ≤ (2·count + 4)·u relative (one
    pass with rescaling at each new maximum, or numpy's pairwise sum); each term's exponent
    log m + s·ℓ − max is rounded by ≤ 2u of |log m| + |s·ℓ| + |max| ≤ 745 + (|s| + 1)·l_max
    (a positive double's log is ≥ −745; masses of a swap may exceed 1 by e^{l_max}); the
    final log and sum add ≤ 2u·(|k1| + 1). So |error| ≤ u·(2·count + 8 + 4·(745 +
    (|s| + 1)·l_max) + 2|k1|), raised by 1 % here. Callers that certify with a log-mgf add
    it (times their count) to their exponent."""
    a = 2.0 * count + 8.0 + 4.0 * (745.0 + (np.abs(s) + 1.0) * l_max) + 2.0 * np.abs(k1)
    out: np.ndarray = 1.01 * _U * a
    return out


def _atoms_extent(p: PrivacyLossDistribution) -> tuple[int, float]:
    """(number of positive masses, largest |loss|) of ``p`` (for :func:`log_mgf_error`)."""
    size = p.masses.size
    return (int(np.count_nonzero(p.masses)),
            max(abs(p._loss_at(0)), abs(p._loss_at(size - 1))) if size else 0.0)


def _upper_tail_bound(parts: Sequence[tuple[PrivacyLossDistribution, int]], top: float,
                      s_grid: np.ndarray) -> float:
    """Chernoff bound on P(Σ L > top) for the discrete parts: min_s exp(K(s) − s·top), K
    raised by the float error of its sums (:func:`log_mgf_error`)."""
    k = np.zeros(s_grid.size)
    for p, c in parts:
        if c:
            k1 = _log_mgf(p, s_grid)
            k = k + c * (k1 + log_mgf_error(*_atoms_extent(p), s_grid, k1))
    v = k - s_grid * top
    return float(min(1.0, math.exp(min(0.0, float(np.min(v))))))


def fourier_compose(parts: Sequence[tuple[PrivacyLossDistribution, int]], *, tilt: float,
                    lo_index: int, n: int, s_grid: np.ndarray | None = None,
                    tail_target: float = 0.0) -> PrivacyLossDistribution:
    """Compose ``parts`` (PLD, count) on the cyclic window of grid indices
    [lo_index, lo_index + n), tilted by λ = ``tilt``; certified as in
    :meth:`PrivacyLossDistribution.self_compose` (all parts must share one step).

    ``s_grid``: Chernoff exponents tried for the upper-tail bound (a default set if None).
    ``tail_target``: when the Chernoff bound at s = λ alone (free: K(λ) is the tilt's
    normalizer, computed anyway) is ≤ this, it is used without trying ``s_grid`` (any s > 0
    gives a valid bound; this only saves time when the cheap one is already negligible).
    ``math.inf`` skips the tail bound (untilted: the trivial bound 1 goes into
    ``infinity_mass``), for a caller that keeps another composition's bound.

    The power ẑ^count is taken in polar form, |ẑ|^count·e^{i·count·arg ẑ} (real logs and
    exps, several times faster than the complex exp(count·log ẑ)); its rounding, ≤ u/e for
    the modulus and ≤ (π·count + 2)·u for the phase, stays inside the per-event allowance
    4·(count + 1)·u of :func:`fft_noise_floor`, and is counted explicitly by
    :func:`_spectral_noise_floor`; the smaller of the two bounds is added to every entry.
    """
    import scipy.fft  # lazy (import time of dpkit)

    step = parts[0][0].step
    lam = float(tilt)
    n = int(n)
    nb = n // 2 + 1
    log_hi = np.zeros(nb)  # Σ count · log(|ẑ| + ε_F): bound on the true moduli
    eps_f = (8.0 * math.log2(max(n, 2)) + 4.0) * _U  # per-bin error of one forward FFT
    n_parts = 0
    k_tot = 0.0  # log of the untilted total: Σ count · log E[e^{λL}]
    log_inf_keep = 0.0  # log P(all finite) = Σ count · log(1 − inf)
    slack = 0.0  # log-allowance for the rounding of the tilts (relative, every entry)
    tilt_fold = kernel("tilt_fold")
    total_count = 0.0
    spectra: list[tuple[np.ndarray, float]] = []
    log_total_fin = 0.0  # log of the composition's finite mass: Σ count · log Σ p
    for p, c in parts:
        if c == 0:
            continue
        p_sum = float(p.masses.sum())
        if not p_sum > 0:  # no finite mass: everything at ±∞
            if p.infinity_mass > 0:
                return PrivacyLossDistribution(step, lo_index, np.zeros(1), 1.0)
            continue
        log_total_fin += float(c) * math.log(p_sum)
        x, lm, rel = tilt_fold(p.masses, p.lower, step, lam, n)
        f = scipy.fft.rfft(x)
        log_hi += float(c) * np.log(np.abs(f) + eps_f)
        spectra.append((f, float(c)))
        n_parts += 1
        k_tot += float(c) * lm
        slack += float(c) * rel
        if p.infinity_mass < 1:
            log_inf_keep += float(c) * math.log1p(-p.infinity_mass)
        else:
            log_inf_keep = -math.inf
        total_count += float(c)
    if total_count == 0:
        return PrivacyLossDistribution(step, 0, np.ones(1), 0.0)
    # Bins whose bound on the true modulus e^{log_hi} is below 1e-330 (0 in float64) carry
    # nothing: their computed power, e^{log_mod} ≤ e^{log_hi}, and their error bound both
    # underflow to 0 exactly. Only the other bins (few, for many compositions: |ẑ|^count
    # dies fast away from frequency 0) get the logs, phases and trigonometry; the error bound
    # gets 1e-300 extra for the bins left out (each of them: true error ≤ e^{log_hi} ≤ 1e-330).
    power = fused("spectral_power") if len(spectra) == 1 else None
    if power is not None:  # one part: the power and its error sums in one loop
        f, cf = spectra[0]
        z, err_sum, mod_sum, everything = power(f, cf, log_hi, total_count, n_parts)
        eta_spec = _noise_from_sums(err_sum, mod_sum, n)
    else:
        z, eta_spec, everything = _power_spectrum(spectra, log_hi, total_count, n_parts, n)
    del spectra
    r = scipy.fft.irfft(z, n)
    eta = min(fft_noise_floor(total_count, n), eta_spec + (0.0 if everything else 1e-300))
    # indices above the support's top hold no true mass (only aliased mass from below the
    # window, which the lump below accounts for): drop them
    hi_support = _support(parts)[1]
    keep = max(1, min(n, hi_support - lo_index + 1))
    # residue j ↔ absolute index lo_index + ((j − lo_index) mod n): read the window in
    # order, add η, untilt (each mass capped at e·total), then lump / trim below: keep from
    # the top until the suffix mass reaches the total (one pass: :mod:`._kernels`)
    total_fin = math.exp(log_total_fin)
    # the untilt's own rounding (log, the exponent's sum, exp: TILT_ROUNDING per unit of
    # their magnitudes; every w = max(r, 0) + η lies in [η, max r + η], so |log w| is at
    # most the larger of the two ends' |log|) joins the tilts' slack: every mass is raised
    # by e^{slack}, above the exact one
    k_far = max(abs(lo_index), abs(lo_index + keep - 1))
    log_w = max(abs(math.log(max(eta, 5e-324))),
                abs(math.log(max(float(r.max()), 0.0) + max(eta, 5e-324))))
    slack += TILT_ROUNDING * (log_w + 2.0 * abs(k_tot) + 2.0 * abs(lam * step) * k_far + 4.0)
    m, j0, _ = kernel("untilt")(r, lo_index % n, keep, eta, k_tot + slack, lam * step,
                                lo_index, log_total_fin + 1.0, total_fin)
    first = lo_index + j0
    top = (lo_index + keep - 1) * step
    if hi_support <= lo_index + n - 1:
        upper = 0.0
    else:
        # Chernoff at s = λ: P(Σ L > top) ≤ exp(K(λ) − λ·top), K(λ) = k_tot (with a 1e-9
        # relative allowance for the rounding of the sums behind k_tot)
        v = k_tot - lam * top
        cheap = math.exp(min(0.0, v + 1e-9 * (abs(k_tot) + lam * abs(top)))) if lam > 0 \
            else 1.0
        if cheap <= tail_target:
            upper = cheap
        else:
            if s_grid is None:
                s_grid = np.concatenate([lam * _S_TILT, _S_FIXED]) if lam > 0 else _S_FIXED
            upper = min(cheap, _upper_tail_bound(parts, top, s_grid))
    inf_mass = -math.expm1(log_inf_keep) if math.isfinite(log_inf_keep) else 1.0
    return _trusted(step, first, m, min(1.0, inf_mass + upper))


def _support(parts: Sequence[tuple[PrivacyLossDistribution, int]]) -> tuple[int, int]:
    lo = sum(p.lower * c for p, c in parts)
    hi = sum(p.upper * c for p, c in parts)
    return lo, hi


def _tilted_moments(p: PrivacyLossDistribution, lam: float) -> tuple[float, float]:
    """Mean and variance of the loss under the tilted law e^{λℓ} p / E[e^{λL}] (one kernel
    call; planning only: see :mod:`._kernels`)."""
    mu, var, _ = _tilted_stats(p, lam)
    return mu, var


def _tilted_stats(p: PrivacyLossDistribution, lam: float) -> tuple[float, float, float]:
    """(mean, variance, log E[e^{λL}]) of :func:`_tilted_moments` (planning only)."""
    mu, var, log_norm = kernel("moments")(p.masses, p.lower, p.step, float(lam))
    return float(mu), float(var), float(log_norm)


def compose_many(parts: Sequence[tuple[PrivacyLossDistribution, int]], *, tilt: float = 0.0,
                 tail_bound: float = 1e-15, max_points: int = MAX_POINTS,
                 window: tuple[float, float] | None = None) -> PrivacyLossDistribution:
    """PLD of the composition of ``count`` copies of each PLD (all on one step).

    The grid window is the whole support when it fits in ``max_points``; otherwise
    ``window`` = (lowest, highest loss) if given, else the tilted mean ± a Chernoff-sized
    margin. Certification as in :meth:`PrivacyLossDistribution.self_compose`.
    """
    lam = V.nonnegative(tilt=tilt)
    tb = V.in_range(0.0, 1.0, low_open=True, high_open=True, tail_bound=tail_bound)
    mp = V.integer(minimum=16, max_points=max_points)
    parts = [(p, int(c)) for p, c in parts if int(c) > 0]
    if not parts:
        return PrivacyLossDistribution(1.0, 0, np.ones(1), 0.0)
    step = parts[0][0].step
    for p, _ in parts:
        if not math.isclose(p.step, step, rel_tol=1e-12, abs_tol=0.0):
            raise DPKitError("all PLDs composed together must share one step")
    lo, hi = _support(parts)
    if window is not None:
        a = max(lo, math.floor(window[0] / step))
        b = min(hi, math.ceil(window[1] / step))
    elif hi - lo + 1 <= mp:
        a, b = lo, hi
    else:
        mu = sum(c * _tilted_moments(p, lam)[0] for p, c in parts)
        var = sum(c * _tilted_moments(p, lam)[1] for p, c in parts)
        sd = math.sqrt(max(var, 0.0))
        # upper cut: smallest B with the discrete Chernoff bound ≤ tail_bound
        s_grid = np.geomspace(1e-3, 1e3, 40) / max(sd, step)
        kk = np.zeros(s_grid.size)
        for p, c in parts:
            kk = kk + c * _log_mgf(p, s_grid)
        bcut = float(np.min((kk - math.log(tb)) / s_grid))
        b = min(hi, math.ceil(max(bcut, mu + 12 * sd) / step))
        a = max(lo, math.floor((mu - 12 * sd - 40 * step) / step))
    size = b - a + 1
    if size > mp:  # coarsen: round every input up to a grid `f` times coarser
        f = math.ceil(size / (mp * 0.95))
        return compose_many([(p.coarsen(f), c) for p, c in parts], tilt=lam,
                            tail_bound=tb, max_points=mp, window=(a * step, b * step))
    import scipy.fft  # lazy (import time of dpkit)

    n = scipy.fft.next_fast_len(int(size), real=True)
    return fourier_compose(parts, tilt=lam, lo_index=a, n=n)
