"""The O(n) passes of the PLD engine over a grid: numpy references, and numba kernels where
one loop beats numpy's passes.

* :func:`tilt_fold_reference`: tilt one PLD by e^{λℓ}, normalize it and fold it onto the cyclic
  FFT window (the input of :func:`~.distribution.fourier_compose`), with a bound on the
  relative rounding of every tilted mass;
* :func:`untilt_reference`: read the composed window out of the cyclic inverse FFT, add the
  rounding bound η, undo the exponential tilt, cap each mass, and keep the top of the window
  whose mass reaches the composition's total (the lump/trim of
  :func:`~.distribution.fourier_compose`);
* :func:`grid_deltas_reference` and its numba kernel: δ at every grid loss and the suffix
  sums behind the closed form between grid losses
  (:meth:`~.distribution.PrivacyLossDistribution._grid_deltas`);
* :func:`split_reference`: connect-the-dots of atoms onto a grid (:func:`~.pairs.split_atoms`);
* :func:`moments_reference`: mean, variance and log E[e^{λL}] of the loss tilted by e^{λℓ},
  used for planning (its numba kernel takes e^{λℓ} as the tilt's ramp);
* :func:`log_mgf_reference`: log Σ m e^{sℓ} over atoms (planning cumulants, Chernoff bounds;
  one-pass log-sum-exp in numba), :func:`swap_log_mgf_reference` the same over a grid's swap
  (:func:`.pairs.swap_discretization`) without building it;
* :func:`grid_epsilon_reference`: the grid deltas' first index at a δ and the suffix sums there
  (the ε read of :class:`~.distribution.PrivacyLossDistribution`);
* :func:`edge_indices_reference`, :func:`coarse_cut_losses_reference`,
  :func:`tilt_index_reference`: a coarse-interval partition, the planner's cuts, its tilt;
* :func:`fused` stages, whose references are the engine's own numpy paths: the subsampled
  Gaussian's connect-the-dots discretization in one loop (``sgm_ctd``) and one part's Fourier
  power with its rounding sums (``spectral_power``).

The same quantities to a few ulp: the kernels' sums run sequentially in the order of the
references' ``cumsum`` and ``lfilter`` recursions (``grid_deltas`` agrees bit for bit; tests
check it); the tilt and untilt kernels take e^{λℓ} as an exponential ramp (products of two
libm exps) where the references take numpy's SIMD log and exp per entry, and ``split`` uses
libm's ``expm1``. Every bound that the engine certifies carries an explicit allowance for
that rounding (the tilt's relative error ``rel``, and the log-slack that
:func:`~.distribution.fourier_compose` adds before untilting), large enough for either.

Measured on this project's 2-core VM (its L2 cache is small: numpy passes over arrays above
~40 000 entries run from memory), best of 50: ``tilt_fold`` of 23 077 masses onto 80 000
entries 0.09 ms in numba against 0.60 ms in numpy, ``untilt`` of 70 000 entries 0.18 against
1.67 ms (both by the exponential ramp, no log/exp per entry), ``split`` of 6 500 atoms 0.06
against 0.09 ms, ``moments`` of 2 600 masses 0.010 against 0.032 ms (the same ramp),
``sgm_ctd`` on ~290 edges 0.019 against 0.065 ms (interval masses, split and their array
passes), ``log_mgf`` of 41 atoms at 49 exponents 0.012 against 0.021 ms.

:func:`kernel` picks numba when it is installed (``dpkit[numba]``), numpy otherwise; the
environment variable ``DPKIT_PLD_KERNELS=numpy`` (or the accountant's
``DPKIT_ACCOUNTING_BACKEND=numpy``) forces the references (tests compare both).
numba is imported on first use only, so ``import dpkit`` stays light.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ...backend import available
from ..rdp import BACKEND_ENV
from ._rounding import TILT_ROUNDING

__all__ = ["kernel", "fused", "tilt_fold_reference", "untilt_reference",
           "grid_deltas_reference", "moments_reference", "split_reference", "log_mgf_reference",
           "edge_indices_reference", "coarse_cut_losses_reference", "swap_log_mgf_reference",
           "grid_epsilon_reference", "tilt_index_reference", "uses_numba"]


def tilt_fold_reference(masses: np.ndarray, lower: int, step: float, lam: float, n: int
                        ) -> tuple[np.ndarray, float, float]:
    """(x, lm, rel): the masses tilted by e^{λℓ} (ℓ_i = (lower + i)·step), divided by their
    sum e^{lm}, and folded onto a cyclic array of length n (entry i at (lower + i) mod n);
    ``masses`` must have a positive entry.

    ``rel`` bounds the rounding, in log units: every computed x_i·e^{lm} lies within a factor
    e^{±rel} of the exact m_i·e^{λℓ_i}. The steps are ℓ_i (rounding u·|ℓ|), log m_i + λℓ_i,
    its difference to the maximum mx, exp, the sum and the division, and mx + log(sum); each
    is ≤ 4 ulp of a value bounded by the magnitudes below, so
    rel = TILT_ROUNDING·(3|mx| + 2(mx − min lr) + 4|λ|·max|ℓ| + |log sum| + 8).
    """
    losses = (lower + np.arange(masses.size)) * step
    pos = masses > 0
    with np.errstate(divide="ignore"):
        lr = np.log(masses) + lam * losses
    lp = lr[pos]
    mx = float(lp.max())
    r = np.exp(lr - mx)
    sr = float(r.sum())
    r /= sr
    lmax = abs(lam) * max(abs(float(losses[0])), abs(float(losses[-1])))
    rel = TILT_ROUNDING * (3.0 * abs(mx) + 2.0 * (mx - float(lp.min())) + 4.0 * lmax
                           + abs(math.log(sr)) + 8.0)
    start = lower % n
    if start + r.size <= n:
        out: np.ndarray = np.zeros(n)
        out[start:start + r.size] = r
    else:
        out = np.bincount((start + np.arange(r.size)) % n, weights=r, minlength=n)
    return out, mx + math.log(sr), rel


def split_reference(losses: np.ndarray, p: np.ndarray, step: float, round_up: bool
                    ) -> tuple[np.ndarray, int]:
    """(masses, k0): the connect-the-dots pass of :func:`~.pairs.split_atoms` (atoms ``p`` at
    ``losses`` onto the grid k·step from index k0; see there for the rules)."""
    d = step
    k = losses / d
    ka = np.floor(k)
    kr = np.round(k)
    near = (kr >= k) & (kr - k <= 1e-9 * np.maximum(1.0, np.abs(k)))
    ka = np.where(near, kr, ka)
    a = ka * d
    if round_up:
        to_b = np.where(near, 0.0, p)
    else:
        to_b = np.where(near, 0.0, np.clip(p * -np.expm1(a - losses) / -math.expm1(-d), 0.0, p))
    to_a = p - to_b
    k0 = int(ka.min())
    n = int(ka.max()) - k0 + 2
    idx = (ka - k0).astype(np.int64)
    out = np.bincount(idx, weights=to_a, minlength=n)
    out += np.bincount(idx + 1, weights=to_b, minlength=n)
    return out, k0


def untilt_reference(r: np.ndarray, start: int, keep: int, eta: float, k_tot: float,
                     lam_step: float, lo_index: int, cap: float, total: float
                     ) -> tuple[np.ndarray, int, float]:
    """(masses, offset j0, added): the window's masses from index ``j0`` up, untilted.

    Entry i of the window (grid index lo_index + i, 0 ≤ i < keep) is residue
    (start + i) mod n of ``r``; its mass is exp(min(log(max(r, 0) + η) + k_tot −
    lam_step·(lo_index + i), cap)). ``j0`` is the largest i whose suffix mass (entries ≥ i,
    summed from the top) reaches ``total``, and the masses are cut to entries ≥ j0; when no
    suffix reaches it, j0 = 0 and the shortfall ``added`` goes to the lowest entry.
    """
    w = r[start:start + keep]
    if w.size < keep:
        w = np.concatenate([w, r[:keep - w.size]])
    w = np.maximum(w, 0.0) + eta
    ks = lo_index + np.arange(keep)
    lp = np.log(w)
    lp += k_tot - lam_step * ks
    np.minimum(lp, cap, out=lp)
    m = np.exp(lp)
    suffix = np.cumsum(m[::-1])[::-1]
    over = np.nonzero(suffix >= total)[0]
    if over.size:
        j0 = int(over[-1])
        return m[j0:], j0, 0.0
    added = total - float(suffix[0])
    m[0] += added
    return m, 0, added


def grid_deltas_reference(p: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(D, S0, U) with S0[j] = Σ_{i≥j} p_i, U[j] = Σ_{i≥j} p_i a^{i−j} (a = e^{−step}) and
    D[j] = max(S0[j+1] − a·U[j+1], 0), D[last] = 0 (δ at grid loss j, infinity mass aside)."""
    import scipy.signal  # lazy: importing it costs ~0.4 s at `import dpkit`

    s0 = np.cumsum(p[::-1])[::-1]
    u = scipy.signal.lfilter([1.0], [1.0, -a], p[::-1])[::-1]
    d = np.empty_like(p)
    d[:-1] = np.maximum(s0[1:] - a * u[1:], 0.0)
    d[-1] = 0.0
    return d, s0, u


def grid_epsilon_reference(p: np.ndarray, a: float, d_grid: float, j_zero: int
                           ) -> tuple[int, float, float, float]:
    """(j, D[j_zero], S0[j], U[j]) of :func:`grid_deltas_reference`: j the first grid index
    whose δ (infinity mass aside) is ≤ ``d_grid`` (the last index if none), D[j_zero] NaN when
    j_zero is past the end. What :meth:`.distribution.PrivacyLossDistribution.epsilon` reads."""
    d, s0, u = grid_deltas_reference(p, a)
    ok = np.flatnonzero(d <= d_grid)
    j = int(ok[0]) if ok.size else p.size - 1
    dz = float(d[j_zero]) if j_zero < p.size else math.nan
    return j, dz, float(s0[j]), float(u[j])


def moments_reference(masses: np.ndarray, lower: int, step: float, lam: float
                      ) -> tuple[float, float, float]:
    """(mean, variance, log E[e^{λL}]) of the loss ℓ_i = (lower + i)·step under the tilted
    law e^{λℓ}·p / E[e^{λL}] over the positive masses ((0, 0, −inf) when there is no positive
    mass); planning only."""
    losses = (lower + np.arange(masses.size)) * step
    if lam == 0.0:  # untilted: the masses themselves (zeros weigh nothing)
        tot = float(masses.sum())
        if not tot > 0:
            return 0.0, 0.0, -math.inf
        w, ls = masses / tot, losses
        log_norm = math.log(tot)
    else:
        pos = masses > 0
        if not pos.any():
            return 0.0, 0.0, -math.inf
        ls = losses[pos]
        lr = np.log(masses[pos]) + lam * ls
        mx = float(lr.max())
        w = np.exp(lr - mx)
        sw = float(w.sum())
        w /= sw
        log_norm = mx + math.log(sw)
    mu = float(np.sum(w * ls))
    return mu, float(np.sum(w * (ls - mu) ** 2)), log_norm


def log_mgf_reference(masses: np.ndarray, losses: np.ndarray, s: np.ndarray) -> np.ndarray:
    """log Σ_i m_i e^{s ℓ_i} for each s (the positive masses only; −inf when none), shifted
    by the largest term (no overflow)."""
    pos = masses > 0
    if not pos.any():
        return np.full(s.size, -math.inf)
    lp = np.log(masses[pos])
    m = lp[None, :] + s[:, None] * losses[pos][None, :]
    mx = m.max(axis=1)
    m -= mx[:, None]
    np.exp(m, out=m)
    out: np.ndarray = np.log(m.sum(axis=1)) + mx
    return out


def edge_indices_reference(k0: int, k1: int, losses: np.ndarray, factors: np.ndarray,
                           step: float) -> np.ndarray:
    """Grid indices from k0 to k1 (both included): consecutive below ``losses[0]``, and
    ``factors[c]`` apart from ``losses[c]`` on, each region ending exactly at the next one's
    first index (a shorter last interval); a non-finite loss starts at k0. The partition of
    :meth:`.pairs.IntervalPair.discretize_coarse`."""
    pieces = []
    cur, fac = k0, 1
    for loss, f in zip(losses, factors, strict=True):
        kb = int(min(max(math.ceil(loss / step) if math.isfinite(loss) else k0, cur), k1))
        if kb > cur:  # this factor's region ends exactly at kb
            pieces.append(np.arange(cur, kb, fac))
            cur = kb
        fac = max(int(f), 1)
    if cur < k1:
        pieces.append(np.arange(cur, k1, fac))
    pieces.append(np.array([k1]))
    return np.concatenate(pieces).astype(np.int64)


def coarse_cut_losses_reference(ps: np.ndarray, ls: np.ndarray, t: float, caps: np.ndarray
                                ) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi), one entry per cap (NaN where none): with the atoms (P-masses ``ps`` at losses
    ``ls``) sorted by loss and weighted by their share of e^{tL}·P, lo is the midpoint below
    the first atom where the share of the atoms up to it exceeds the cap, and hi the
    midpoint below the first atom from which the share of the rest is ≤ the cap (each kept
    only strictly inside the atoms). Planning only (:func:`.bounds._coarse_cuts`)."""
    order = np.argsort(ls, kind="stable")
    ls, ps = ls[order], ps[order]
    n = ls.size
    lo = np.full(caps.size, np.nan)
    hi = np.full(caps.size, np.nan)
    with np.errstate(divide="ignore", under="ignore", invalid="ignore"):
        w = np.log(ps) + t * ls
        mx = float(w.max())
        if not math.isfinite(mx):
            return lo, hi
        w = np.exp(w - mx)
    w /= w.sum()
    below = np.cumsum(w)
    above = 1.0 - below + w
    mids = np.concatenate(([ls[0]], 0.5 * (ls[1:] + ls[:-1]), [ls[-1]]))
    i_lo = np.searchsorted(below, caps, side="right")
    j_hi = np.searchsorted(-above, -caps, side="left")
    ok = (i_lo > 0) & (i_lo < n)
    lo[ok] = mids[i_lo[ok]]
    ok = (j_hi > 0) & (j_hi < n)
    hi[ok] = mids[j_hi[ok]]
    return lo, hi


def swap_log_mgf_reference(masses: np.ndarray, lower: int, step: float, s: np.ndarray
                           ) -> tuple[np.ndarray, float, int, float, bool]:
    """For the PLD (``masses`` on the grid (lower + i)·step) of a discrete pair, its swap's
    atoms (:func:`.pairs.swap_discretization`: P-mass m_i·e^{−ℓ_i} at −ℓ_i, positive masses
    only): (log Σ_k q_k e^{s·(−ℓ_k)} for each s, S = Σ_k q_k, the number of atoms, max |ℓ_k|,
    ok); ok is False when a q_k overflows (the swap's mass at +∞ is then taken as 1)."""
    nz = np.flatnonzero(masses)
    ls = (lower + nz) * step
    with np.errstate(over="ignore", under="ignore"):
        qm = masses[nz] * np.exp(-ls)
    if not np.isfinite(qm).all():
        return np.zeros(s.size), math.inf, 0, 0.0, False
    hi_abs = float(np.max(np.abs(ls))) if nz.size else 0.0
    return log_mgf_reference(qm, -ls, s), float(qm.sum()), int(nz.size), hi_abs, True


def tilt_index_reference(base: np.ndarray, eps_t: np.ndarray, fracs: np.ndarray,
                         log_target: float) -> int:
    """The index i minimizing v_f(i) = base_i − f·eps_t_i (NaN read as +inf) for the first f of
    ``fracs`` whose minimum is ≤ ``log_target`` (the last f's when none is): the tilt choice
    of :func:`.bounds._choose_tilt`."""
    v = base[None, :] - fracs[:, None] * eps_t[None, :]
    v[np.isnan(v)] = np.inf
    i = np.argmin(v, axis=1)
    vmin = v[np.arange(fracs.size), i]
    ok = np.nonzero(vmin <= log_target)[0]
    return int(i[ok[0] if ok.size else -1])


_NUMBA: dict[str, Callable[..., Any]] = {}
#: The passes with a numba kernel.
_NUMBA_NAMES = ("grid_deltas", "tilt_fold", "untilt", "split", "moments", "log_mgf",
                "edge_indices", "coarse_cut_losses", "swap_log_mgf", "grid_epsilon", "tilt_index")
#: Whole stages fused into one numba call, whose reference is the engine's own numpy path
#: (:func:`fused` hands them out, or None).
_FUSED_NAMES = ("sgm_ctd", "spectral_power")


def _build_numba() -> None:
    from . import _kernels_numba  # compiles on first call (cached on disk by numba)

    _NUMBA.update(grid_deltas=_kernels_numba.grid_deltas, tilt_fold=_kernels_numba.tilt_fold,
                  untilt=_kernels_numba.untilt, split=_kernels_numba.split,
                  moments=_kernels_numba.moments, log_mgf=_kernels_numba.log_mgf,
                  sgm_ctd=_kernels_numba.sgm_ctd,
                  spectral_power=_kernels_numba.spectral_power,
                  edge_indices=_kernels_numba.edge_indices,
                  coarse_cut_losses=_kernels_numba.coarse_cut_losses,
                  swap_log_mgf=_kernels_numba.swap_log_mgf,
                  grid_epsilon=_kernels_numba.grid_epsilon,
                  tilt_index=_kernels_numba.tilt_index)


_REFERENCE: dict[str, Callable[..., Any]] = {
    "tilt_fold": tilt_fold_reference, "untilt": untilt_reference,
    "grid_deltas": grid_deltas_reference, "split": split_reference,
    "moments": moments_reference, "log_mgf": log_mgf_reference,
    "edge_indices": edge_indices_reference, "coarse_cut_losses": coarse_cut_losses_reference,
    "swap_log_mgf": swap_log_mgf_reference, "grid_epsilon": grid_epsilon_reference,
    "tilt_index": tilt_index_reference}


#: os.environ's own dict (bytes keys on POSIX), for a lookup without the Mapping's
#: encode/KeyError detour (~0.04 against ~0.7 µs: the engine asks on every kernel call);
#: None elsewhere (then ``os.environ`` itself is read).
_ENV_DATA = getattr(os.environ, "_data", None)
_ENV_KEYS = tuple(k.encode() for k in ("DPKIT_PLD_KERNELS", BACKEND_ENV))


def _forced_numpy() -> bool:
    """Whether ``DPKIT_PLD_KERNELS`` or ``DPKIT_ACCOUNTING_BACKEND`` is set to "numpy"."""
    data = _ENV_DATA
    if isinstance(data, dict) and os.name == "posix":
        if not (_ENV_KEYS[0] in data or _ENV_KEYS[1] in data):
            return False  # the usual case: neither is set
    return (os.environ.get("DPKIT_PLD_KERNELS", "") == "numpy"
            or os.environ.get(BACKEND_ENV, "") == "numpy")


def uses_numba() -> bool:
    """Whether :func:`kernel` hands out the numba kernels: installed, and not forced off by
    ``DPKIT_PLD_KERNELS=numpy`` or the accountant's ``DPKIT_ACCOUNTING_BACKEND=numpy`` (the
    ``dpkit`` command line sets the latter: one answer does not repay numba's start-up)."""
    return not _forced_numpy() and available("numba")


def fused(name: str) -> Callable[..., Any] | None:
    """The fused numba stage ``name`` when :func:`uses_numba`, else None: the caller runs its
    numpy path, the reference the stage is tested against. "sgm_ctd": the subsampled
    Gaussian's connect-the-dots discretization (:meth:`.pairs.SampledGaussianPair.
    _fused_discretization`); "spectral_power": one part's Fourier power and its rounding
    sums (:func:`.distribution._power_spectrum`)."""
    if name not in _FUSED_NAMES or not uses_numba():
        return None
    if not _NUMBA:
        _build_numba()
    return _NUMBA[name]


def kernel(name: str) -> Callable[..., Any]:
    """The pass ``name`` ("tilt_fold", "untilt", "grid_deltas", "split", "moments"): numba's when
    :func:`uses_numba` and one exists, else the numpy reference."""
    if not uses_numba() or name not in _NUMBA_NAMES:
        return _REFERENCE[name]
    if not _NUMBA:
        _build_numba()
    return _NUMBA[name]
