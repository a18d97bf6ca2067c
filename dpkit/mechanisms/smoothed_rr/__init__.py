"""Smoothed randomized response, and differentially private sequential learning.

Y. Liu, M. A. Rahimian, *Differentially Private Sequential Learning*, arXiv:2502.19525 (2025;
v5: *Privacy-Aware Sequential Learning*); FORC 2025, LIPIcs 329, paper 18. Spec:
/work/shared/specs/smoothed_rr.md (the paper's body could not be read; the formulas below come
from its abstracts and the authors' public code, checked by our own derivations and tests).

Definition (one real signal v, public threshold t, budget ε > 0, sensitivity Δ > 0):

    a = +1 if v > t else −1                       (the intended, non-private action)
    u(v) = ½·exp(−ε·|v − t|/Δ)                    (flip probability; a fair coin at v = t)
    x = −a with probability u(v), else a          (the released bit)

Equivalently P(x = +1 | v) = F((v − t)/Δ), F the Laplace(0, 1/ε) CDF: x = sign(v − t + Z),
Z ~ Laplace(0, Δ/ε), the Laplace mechanism followed by thresholding. Both routes are offered
(``method="flip"`` / ``"laplace"``) and tested equal in law.

Privacy: ε-DP (local, one release per signal) for neighbouring signals |v − v'| ≤ Δ; the
mechanism is metric DP with loss ε·|v − v'|/Δ, and the bound is tight. No finite ε holds for
arbitrary changes of an unbounded signal. With ``clip=(lo, hi)`` and Δ ≥ hi − lo the input is
clipped first and the release is ε-DP under replacement of the signal. The legacy amplitude
1/(1+e^ε) (older scripts) is only 2ε-DP at distance Δ; dpkit uses ½.

The classic randomized-response baseline (:class:`ClassicRRParams`, :func:`respond_classic`)
flips the intended bit with the constant probability 1/(1+e^ε): ε-DP under arbitrary
replacement, but noisy even for signals far from the threshold.

Sampling is in floating point: not hardened against floating-point attacks.

Public API: :class:`SmoothedRRParams`, :func:`respond`, :func:`flip_probability`,
:func:`prob_positive`, :func:`privacy_event`, :class:`ClassicRRParams`, :func:`respond_classic`,
:func:`simulate_sequential_learning`, :func:`simulate_binary_cascade`,
:func:`cascade_theory`, :func:`report_log_likelihood`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ... import _validate as V
from ...accounting.accountant import DEFAULT_ORDERS
from ...accounting.events import REPLACE_ONE, PureDP, RandomizedResponse, RDPCurve
from ...errors import DPKitError
from ...random import RNGLike, as_generator, route_backend
from .. import _rr
from .privacy import rdp_exact, rdp_rr_bound
from .sequential import (
    CascadeTheory,
    SequentialResult,
    asymptotic_constant,
    cascade_theory,
    report_log_likelihood,
    simulate_binary_cascade,
    simulate_sequential_learning,
)

__all__ = [
    "SmoothedRRParams",
    "ClassicRRParams",
    "respond",
    "respond_classic",
    "flip_probability",
    "prob_positive",
    "privacy_event",
    "rdp_exact",
    "rdp_rr_bound",
    "simulate_sequential_learning",
    "simulate_binary_cascade",
    "SequentialResult",
    "CascadeTheory",
    "cascade_theory",
    "asymptotic_constant",
    "report_log_likelihood",
]

Method = Literal["flip", "laplace"]


# ================================================================ parameters
def _clip_pair(clip: Any) -> tuple[float, float] | None:
    if clip is None:
        return None
    try:
        lo_raw, hi_raw = clip
    except (TypeError, ValueError):
        raise DPKitError(f"clip must be None or a pair (lo, hi), got {clip!r}") from None
    lo = V.finite(**{"clip[0]": lo_raw})
    hi = V.finite(**{"clip[1]": hi_raw})
    if not lo < hi:
        raise DPKitError(f"clip must have lo < hi, got ({lo!r}, {hi!r})")
    return (lo, hi)


@dataclass(frozen=True)
class SmoothedRRParams:
    """Parameters of smoothed randomized response (Liu & Rahimian 2025).

    Release: x = −a with probability ½·exp(−ε|v − t|/Δ), else a = sign(v − t) (−1 at v = t).

    Privacy: ε-DP for neighbouring signals |v − v'| ≤ Δ (metric DP, loss ε|v − v'|/Δ, tight);
    with ``clip=(lo, hi)`` the signal is clipped first and, since Δ ≥ hi − lo is required, the
    release is ε-DP under arbitrary replacement of the signal.

    Args:
        epsilon: ε > 0.
        threshold: the public threshold t (finite).
        sensitivity: Δ > 0, the neighbouring distance of signals (noise scale Δ/ε).
        clip: None, or (lo, hi) with lo < hi finite; then Δ must be ≥ hi − lo
            (see :meth:`replacement` to set Δ = hi − lo).

    Raises:
        DPKitError: ε or Δ not positive and finite, t not finite, a bad clip range, or
            Δ < hi − lo.

    >>> print(SmoothedRRParams(1.0).adjacency)
    |v - v'| <= 1 (metric DP; any two signals at distance d: loss epsilon*d/1)
    """

    epsilon: float
    threshold: float = 0.0
    sensitivity: float = 1.0
    clip: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", V.positive(epsilon=self.epsilon))
        object.__setattr__(self, "threshold", V.finite(threshold=self.threshold))
        d = V.positive(sensitivity=self.sensitivity)
        object.__setattr__(self, "sensitivity", d)
        c = _clip_pair(self.clip)
        object.__setattr__(self, "clip", c)
        if c is not None and d < c[1] - c[0]:
            raise DPKitError(
                f"sensitivity must be >= clip width hi - lo = {c[1] - c[0]:g} for replacement "
                f"DP, got {d!r} (use SmoothedRRParams.replacement(epsilon, lo, hi))")
        V.positive(**{"epsilon/sensitivity": self.rate})

    @classmethod
    def replacement(cls, epsilon: float, lo: float, hi: float,
                    threshold: float = 0.0) -> SmoothedRRParams:
        """Params for ε-DP under replacement: clip to [lo, hi] and set Δ = hi − lo."""
        c = _clip_pair((lo, hi))
        assert c is not None
        return cls(epsilon, threshold, c[1] - c[0], c)

    @property
    def rate(self) -> float:
        """ε/Δ: the flip probability decays as ½·exp(−rate·|v − t|)."""
        return self.epsilon / self.sensitivity

    @property
    def relation(self) -> str | None:
        """``"replace_one"`` with clipping; None (|Δv| ≤ sensitivity) otherwise."""
        return REPLACE_ONE if self.clip is not None else None

    @property
    def adjacency(self) -> str:
        """The neighbouring relation of the ε-DP statement, in words."""
        if self.clip is not None:
            lo, hi = self.clip
            return (f"replace one signal (clipped to [{lo:g}, {hi:g}], width <= "
                    f"{self.sensitivity:g})")
        return (f"|v - v'| <= {self.sensitivity:g} (metric DP; any two signals at distance d: "
                f"loss epsilon*d/{self.sensitivity:g})")

    def privacy_event(self, exact: bool = False) -> PureDP | RDPCurve:
        """See :func:`privacy_event`."""
        return privacy_event(self, exact=exact)


@dataclass(frozen=True)
class ClassicRRParams:
    """Classic randomized response on the thresholded bit: flip with u = 1/(1 + e^ε).

    Privacy: ε-DP under arbitrary replacement of the signal (the output depends on the signal
    only through one bit; likelihood ratio ≤ (1−u)/u = e^ε). Warner 1965; the baseline of
    Liu & Rahimian 2025.

    Raises:
        DPKitError: ε not positive and finite, or t not finite.

    >>> import math
    >>> round(ClassicRRParams(math.log(3)).flip, 6)
    0.25
    """

    epsilon: float
    threshold: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", V.positive(epsilon=self.epsilon))
        object.__setattr__(self, "threshold", V.finite(threshold=self.threshold))

    @property
    def flip(self) -> float:
        """The constant flip probability 1/(1 + e^ε) (as e^{−ε}/(1 + e^{−ε}): no overflow)."""
        return _rr.flip_probability(self.epsilon, 2)

    def privacy_event(self) -> RandomizedResponse:
        """``RandomizedResponse(ε)``: exact binary-RR RDP curve, replace-one."""
        return RandomizedResponse(self.epsilon)


def _check(params: Any, cls: type) -> None:
    if not isinstance(params, cls):
        raise DPKitError(f"params must be a {cls.__name__}, got {type(params).__name__}")


def _signal(params: SmoothedRRParams, signal: Any) -> np.ndarray:
    v = signal if np.ndim(signal) else np.reshape(np.asarray(signal), (1,))
    arr = V.finite_array(signal=v).reshape(np.shape(signal))
    if params.clip is not None:
        arr = np.clip(arr, params.clip[0], params.clip[1])
    return arr


def _threshold(params: Any, threshold: Any, shape: tuple[int, ...]) -> np.ndarray:
    if threshold is None:
        return np.full(shape, params.threshold)
    t = threshold if np.ndim(threshold) else np.reshape(np.asarray(threshold), (1,))
    arr = V.finite_array(threshold=t).reshape(np.shape(threshold))
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise DPKitError(f"threshold must broadcast to the signal's shape {shape}, got shape "
                         f"{arr.shape}") from None


# ================================================================ output law
def flip_probability(params: SmoothedRRParams, signal: Any, *,
                     threshold: Any = None) -> np.ndarray:
    """Exact flip probability u(v) = ½·exp(−ε·|v − t|/Δ) (after clipping, if any).

    Liu & Rahimian 2025 (spec §3.1). Privacy: see :class:`SmoothedRRParams`.

    Args:
        params: a :class:`SmoothedRRParams`.
        signal: finite real signal(s) v, any shape.
        threshold: optional per-signal thresholds (broadcast to the signal); default
            ``params.threshold``.

    Returns:
        Float array of the signal's shape, values in (0, ½].

    Raises:
        DPKitError: wrong params type, NaN/inf signal or threshold.

    >>> float(flip_probability(SmoothedRRParams(1.0), 0.0))
    0.5
    """
    _check(params, SmoothedRRParams)
    v = _signal(params, signal)
    t = _threshold(params, threshold, v.shape)
    return 0.5 * np.exp(-params.rate * np.abs(v - t))


def prob_positive(params: SmoothedRRParams, signal: Any, *, threshold: Any = None) -> np.ndarray:
    """P(x = +1 | v) = F((v − t)/Δ), the Laplace(0, 1/ε) CDF (spec §3.1; exact).

    >>> round(float(prob_positive(SmoothedRRParams(1.0), -1.0)), 6)
    0.18394
    """
    _check(params, SmoothedRRParams)
    v = _signal(params, signal)
    t = _threshold(params, threshold, v.shape)
    z = params.rate * (v - t)
    return np.where(z > 0, 1.0 - 0.5 * np.exp(-np.abs(z)), 0.5 * np.exp(-np.abs(z)))


def respond_reference(params: SmoothedRRParams, signal: Any, rng: RNGLike, *,
                      threshold: Any = None, method: Method = "flip") -> np.ndarray:
    """numpy reference of :func:`respond` (the oracle the kernels are tested against)."""
    _check(params, SmoothedRRParams)
    v = _signal(params, signal)
    t = _threshold(params, threshold, v.shape)
    g = as_generator(rng)
    if method == "flip":
        a = np.where(v > t, 1, -1).astype(np.int8)
        flip = g.random(v.shape) < 0.5 * np.exp(-params.rate * np.abs(v - t))
        return np.where(flip, -a, a).astype(np.int8)
    if method == "laplace":
        z = g.laplace(0.0, 1.0 / params.rate, size=v.shape)
        return np.where(v - t + z > 0, 1, -1).astype(np.int8)
    raise DPKitError(f"method must be 'flip' or 'laplace', got {method!r}")


def respond(params: SmoothedRRParams, signal: Any, rng: Any, *, threshold: Any = None,
            method: Method = "flip", backend: str = "auto") -> Any:
    """Release smoothed-RR bits x ∈ {−1, +1} (int8) for each signal, vectorized.

    Definition: a = sign(v − t) (−1 at ties), x = −a with probability ½·exp(−ε|v − t|/Δ)
    (``method="flip"``), or x = sign(v − t + Lap(Δ/ε)) (``method="laplace"``, numpy only);
    the two are equal in law (Liu & Rahimian 2025; spec §3.1).

    Privacy: ε-DP per signal for |v − v'| ≤ Δ (replacement when clipped); one release per
    signal. Not hardened against floating-point attacks.

    Args:
        params: a :class:`SmoothedRRParams`.
        signal: finite real signals, any shape (a JAX array selects the JAX kernel).
        rng: int seed / numpy Generator (numpy, numba) or a JAX PRNG key (``backend="jax"``);
            a SecureGenerator (the hardened tier) runs the numpy reference under "auto" and
            "numba", every draw from the OS CSPRNG, and is refused by "jax".
        threshold: optional per-signal thresholds t (broadcast); default ``params.threshold``.
        method: "flip" or "laplace".
        backend: "auto" | "numpy" | "numba" | "jax".

    Returns:
        int8 array of ±1 with the signal's shape (a JAX array for the JAX backend).

    Raises:
        DPKitError: wrong params type, NaN/inf signals or thresholds, bad method/backend/rng.

    >>> respond(SmoothedRRParams(2.0), [-3.0, 0.5, 4.0], rng=0, backend="numpy").tolist()
    [-1, 1, 1]
    """
    _check(params, SmoothedRRParams)
    if method not in ("flip", "laplace"):
        raise DPKitError(f"method must be 'flip' or 'laplace', got {method!r}")
    b = route_backend(backend, signal, rng)
    if b == "jax":
        from ._jax import respond_jax

        return respond_jax(params, signal, rng, threshold=threshold)
    if b == "numba" and method == "flip":
        from ._numba import respond_numba

        v = _signal(params, signal)
        t = _threshold(params, threshold, v.shape)
        from ..._numba_random import seed_key

        key = seed_key(as_generator(rng))
        out = respond_numba(np.ascontiguousarray(v, dtype=np.float64).reshape(-1),
                            np.ascontiguousarray(t, dtype=np.float64).reshape(-1),
                            params.rate, key)
        return out.reshape(v.shape)
    return respond_reference(params, signal, rng, threshold=threshold, method=method)


def respond_classic(params: ClassicRRParams, signal: Any, rng: RNGLike, *,
                    threshold: Any = None) -> np.ndarray:
    """Classic randomized response on a = sign(v − t): x = −a with probability 1/(1 + e^ε).

    Privacy: ε-DP under arbitrary replacement of the signal (Warner 1965).

    >>> respond_classic(ClassicRRParams(20.0), [-1.0, 2.0], rng=0).tolist()
    [-1, 1]
    """
    _check(params, ClassicRRParams)
    v = signal if np.ndim(signal) else np.reshape(np.asarray(signal), (1,))
    arr = V.finite_array(signal=v).reshape(np.shape(signal))
    t = _threshold(params, threshold, arr.shape)
    a = np.where(arr > t, 1, -1).astype(np.int8)
    flip = as_generator(rng).random(arr.shape) < params.flip
    return np.where(flip, -a, a).astype(np.int8)


# ================================================================ privacy statement
def privacy_event(params: SmoothedRRParams, *, exact: bool = False,
                  orders: Any = None) -> PureDP | RDPCurve:
    """The accounting event of one smoothed-RR release.

    Default: ``PureDP(ε)`` — pure ε-DP, whose RDP curve is RR's closed form (a valid bound for
    every ε-DP binary mechanism, Kairouz–Oh–Viswanath 2015; Mironov 2017). ``exact=True``: the
    exact curve sup_z D_α(Bern(F(z+Δ)) ‖ Bern(F(z))) as an ``RDPCurve`` (ε at α = ∞).

    Neighbouring relation: |v − v'| ≤ Δ (``relation=None``: the guarantee holds for whichever
    relation put the two signals within Δ), or replacement of the signal
    (``relation="replace_one"``) when ``params.clip`` is set. Across agents of the sequential
    model each signal is released once: parallel composition, no count > 1 needed.

    >>> privacy_event(SmoothedRRParams(0.5)).epsilon
    0.5
    """
    _check(params, SmoothedRRParams)
    if not isinstance(exact, (bool, np.bool_)):
        raise DPKitError(f"exact must be True or False, got {exact!r}")
    if not exact:
        return PureDP(params.epsilon, relation=params.relation)
    o = V.orders(orders=DEFAULT_ORDERS if orders is None else orders)
    vals = rdp_exact(params.epsilon, o)
    return RDPCurve(tuple(float(a) for a in o), tuple(float(v) for v in vals),
                    relation=params.relation)
