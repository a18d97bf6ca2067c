"""Continual-release counters: private prefix sums of a stream, released after every step.

After step t the counter publishes ``y_t ≈ S_t = Σ_{τ≤t} x_τ`` for a scalar or d-dimensional
stream ``x_1, …, x_T`` (T ≤ ``horizon``). Four kinds, all of the form ``y = A x + B z`` for a
factorization ``A = B C`` of the prefix-sum matrix (see :mod:`.privacy`):

* ``"tree"``: the binary tree mechanism (Dwork, Naor, Pitassi, Rothblum, STOC 2010; Chan, Shi,
  Song, ICALP 2010). O(log T) memory; ``Var(y_t − S_t) = popcount(t)·σ²``.
* ``"honaker"``: Honaker's variance-reduced streaming tree estimator (J. Honaker, "Efficient
  Use of Differentially Private Binary Trees", TPDP 2015): every node is noised and combined
  with its children by inverse-variance weighting; ``Var = Σ_{h: bit h of t} σ²·2^h/(2^{h+1}−1)``.
* ``"sqrt"``: the square-root factorization ``B = C = A^{1/2}`` (Fichtenberger, Henzinger,
  Upadhyay, "Constant Matters", ICML 2023): ``Var = σ²·Σ_{k<t} c_k²`` with
  ``c_k = binom(2k, k)/4^k``. Streaming keeps the whole noise history (O(T) memory); a whole
  stream runs in batch in O(T log T) with an FFT Toeplitz product.
* ``"blt"``: a buffered linear Toeplitz strategy (Dvijotham, McMahan, Pillutla, Steinke,
  Thakurta, arXiv:2404.16706, 2024): C Toeplitz with ``c_k = Σ_i ω_i θ_i^{k−1}``, noise
  ``C^{−1} z`` generated with b buffers (O(b) memory). The default (θ, ω) is our sum-of-
  exponentials approximation of A^{1/2} (:func:`blt_sqrt_parameters`).

Privacy (:func:`privacy_event`): event-level neighbours by default (two streams that differ in
one step's item, by at most Δ = ``sensitivity`` in ℓ2 norm, ℓ1 for Laplace noise); Gaussian
noise gives ``Gaussian(σ/s)`` (ρ = s²/(2σ²)-zCDP, s = the strategy's largest column norm),
Laplace noise (tree kinds) pure ε = L·Δ/b. With ``participations=κ, min_separation=s`` one
user's items at up to κ steps, pairwise ≥ s apart, change, and s becomes the largest norm of a
sum of such columns (:func:`participation_sensitivity`, spec §3.5). Adaptive streams are
covered (Denisov et al., NeurIPS 2022).

API (pure and streaming, the state is an immutable :class:`CounterState` of arrays):

>>> import numpy as np
>>> p = CounterParams.for_rho("tree", horizon=8, rho=0.5, bound=1.0, relation="add_remove")
>>> state = init(p)
>>> state, y = step(p, state, 1.0, np.random.default_rng(0))
>>> expected_variance(p, 7) == 3 * p.noise_std**2
True

The numpy code here is the reference; ``run(..., backend="numba")`` (:mod:`._numba`) and
``backend="jax"`` (:mod:`._jax`, ``lax.scan``) are kernels tested against it. Noise is drawn in
floating point: not hardened against floating-point attacks (Mironov 2012).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, NamedTuple

import numpy as np

from ... import _validate as V
from ...accounting.events import Event
from ...backend import resolve
from ...errors import DPKitError
from ...random import RNGLike, as_generator, route_backend
from .. import _dyadic
from . import privacy as _privacy
from .privacy import (  # MAX_HORIZON (2^40), MAX_SQRT_HORIZON (2^25 = T·d of "sqrt")
    MAX_HORIZON,
    MAX_PARTICIPATIONS,
    MAX_SQRT_HORIZON,
    ParticipationSensitivity,
    blt_coefficients,
    blt_column_norm_sq,
    effective_participations,
    l1_sensitivity_factor,
    participation_sensitivity,
    sensitivity_factor,
    sqrt_coefficients,
    sqrt_column_norm_sq,
    tree_levels,
)

__all__ = [
    "KINDS",
    "CounterParams",
    "CounterState",
    "init",
    "step",
    "advance",
    "noise_rows",
    "run",
    "run_with_noise",
    "expected_variance",
    "max_variance",
    "privacy_event",
    "blt_sqrt_parameters",
    "blt_inverse_parameters",
    "sqrt_coefficients",
    "sqrt_column_norm_sq",
    "blt_coefficients",
    "blt_column_norm_sq",
    "tree_levels",
    "sensitivity_factor",
    "l1_sensitivity_factor",
    "participation_sensitivity",
    "effective_participations",
    "ParticipationSensitivity",
    "MAX_PARTICIPATIONS",
    "MAX_HORIZON",
    "MAX_SQRT_HORIZON",
]

KINDS = ("tree", "honaker", "sqrt", "blt")
Kind = Literal["tree", "honaker", "sqrt", "blt"]

_MAX_BUFFERS = 64
_DEFAULT_BUFFERS = 8


# ================================================================ BLT parameters
def blt_sqrt_parameters(horizon: int, buffers: int = _DEFAULT_BUFFERS) -> tuple[
        tuple[float, ...], tuple[float, ...]]:
    """BLT decays θ and scales ω whose Toeplitz coefficients approximate those of A^{1/2}.

    Derivation (ours): for k ≥ 1 the square-root coefficients are moments of a Beta weight,
    ``c_k = (1/π) ∫_0^1 u^{k−1} u^{1/2}(1−u)^{−1/2} du``. Substituting ``u = e^{−s}``,
    ``s = e^v`` gives a smooth, doubly-exponentially decaying integrand on the real v line,
    which the trapezoid rule integrates accurately; each node v_j becomes one buffer with
    ``θ_j = exp(−e^{v_j})`` and ``ω_j = (h/π)·s_j e^{−3s_j/2}(1 − e^{−s_j})^{−1/2}``. The nodes
    span v ∈ [−ln T − 3, 2.5] so the slowest decay covers the whole horizon. The result is a
    valid strategy for any (θ, ω): privacy is computed from its exact column norm, and the
    approximation only affects the error (within 0.2 % of the square root's max-error factor
    at T = 4096 with 8 buffers, measured).

    Args:
        horizon: T ≥ 1.
        buffers: b, 1..64.

    Returns:
        (θ, ω) as tuples of floats, θ_i ∈ (0, 1), ω_i > 0.
    """
    T = V.integer(minimum=1, maximum=MAX_HORIZON, horizon=horizon)
    b = V.integer(minimum=1, maximum=_MAX_BUFFERS, buffers=buffers)
    v_lo, v_hi = -math.log(max(T, 2)) - 3.0, 2.5
    if b == 1:
        v = np.array([0.5 * (v_lo + v_hi)])
        h = v_hi - v_lo
    else:
        v = np.linspace(v_lo, v_hi, b)
        h = float(v[1] - v[0])
    s = np.exp(v)
    theta = np.exp(-s)
    omega = (h / math.pi) * s * np.exp(-1.5 * s) / np.sqrt(-np.expm1(-s))
    return tuple(float(t) for t in theta), tuple(float(w) for w in omega)


def blt_inverse_parameters(theta: Any, omega: Any) -> tuple[np.ndarray, np.ndarray]:
    """Decays λ and scales α of C^{−1} for the BLT C(θ, ω): (C^{−1})_k = Σ_i α_i λ_i^{k−1}.

    The inverse recursion ``ζ_t = z_t − ωᵀbuf``, ``buf ← θ∘buf + ζ_t·1`` has state matrix
    ``M = diag(θ) − 1ωᵀ``; its impulse response is ``d_0 = 1``, ``d_k = −ωᵀ M^{k−1} 1``, so
    with ``M = V diag(λ) V^{−1}``: ``α = −(ωᵀV) ∘ (V^{−1}1)``. (That C^{−1} is again a BLT is
    McMahan & Pillutla's inversion theorem; this eigen-decomposition recipe is ours.) Complex
    conjugate pairs are kept complex; sums over them are real.

    Raises:
        DPKitError: θ not in (0, 1), ω not > 0, or lengths not equal in 1..64.
    """
    th, om = _privacy._blt_pair(theta, omega)
    m = np.diag(th) - np.outer(np.ones_like(th), om)
    lam, vec = np.linalg.eig(m)
    alpha = -(om @ vec) * np.linalg.solve(vec, np.ones_like(th))
    return lam.astype(np.complex128), alpha.astype(np.complex128)


# ================================================================ parameters
#: The deprecated ``neighbours`` spelling → ``relation`` (see CounterParams).
_LEGACY_NEIGHBOURS = {"replace": "replace_one", "zero_out": "add_remove"}


@dataclass(frozen=True)
class CounterParams:
    """A continual-release counter: kind, horizon, noise and the item bound.

    Exactly one of ``noise_multiplier`` (Gaussian noise, zCDP) and ``epsilon`` (Laplace noise,
    pure DP; tree kinds only) must be given.

    Privacy statement (:func:`privacy_event`): neighbouring streams differ in the items of at
    most κ = ``participations`` steps (one user's contributions), any two of them at least
    s = ``min_separation`` steps apart, and each changed item differs by at most
    Δ = :attr:`sensitivity` in ℓ2 norm (ℓ1 with Laplace noise). κ = 1 (default) is the event
    level: one step's item changes. Gaussian: ρ = s_C²/(2σ²)-zCDP with s_C the strategy's
    sensitivity (κ = 1: its largest column norm, √L tree, √G(T) sqrt, closed form BLT; κ > 1:
    the largest norm of a sum of κ columns ≥ s apart, :func:`participation_sensitivity`).
    Laplace: ε-DP, ε = ``epsilon``.

    Args:
        kind: "tree" | "honaker" | "sqrt" | "blt".
        horizon: T, the largest number of steps (1..2^40; sqrt: T·d ≤ 2^25). Steps beyond T
            are refused: the privacy statement is computed for T.
        noise_multiplier: σ > 0; every node (tree kinds) or every z_t (sqrt, BLT) gets
            Gaussian noise of standard deviation σ·Δ per coordinate.
        epsilon: ε > 0 for Laplace noise (tree kinds): every node gets Laplace noise of scale
            b = L·Δ/ε per coordinate.
        dimension: d ≥ 1, the item dimension (d = 1: a scalar stream).
        bound: B > 0. Every item must satisfy ‖x_t‖ ≤ B (|x_t| for d = 1; ℓ2 norm, or ℓ1 with
            Laplace noise, for d > 1).
        relation: the neighbouring relation on streams (the one spelling in dpkit):
            "replace_one" (default: any item may be replaced by any other, Δ = 2B) or
            "add_remove" (an event is added or removed, i.e. one item is set to or from 0,
            e.g. a 0/1 counting stream: Δ = B). In the continual-release literature a stream
            has a fixed length T, so adding or removing one event (Dwork, Naor, Pitassi,
            Rothblum 2010; Chan, Shi, Song 2011) is one step's item going to or from 0: the
            "zero-out" neighbours of Kairouz et al. 2021 (DP-FTRL), the add/remove relation
            at fixed length. Any item x, ‖x‖ ≤ B, differs from 0 by at most B, hence Δ = B;
            two items differ by at most 2B under replace-one.
        neighbours: deprecated alias of ``relation`` (accepted silently, kept for old code):
            "replace" = "replace_one", "zero_out" = "add_remove"; when given it decides
            the relation. It is consumed at construction (the attribute is then None); read
            ``relation``.
        clip: False (default): items outside the bound are refused with a DPKitError;
            True: they are scaled onto the bound (norm clipping) before counting.
        blt_buffers: number of BLT buffers for the default parameters (1..64, default 8).
        blt_theta, blt_omega: explicit BLT parameters (θ_i ∈ (0,1), ω_i > 0, same length);
            default :func:`blt_sqrt_parameters`.
        participations: κ, the most steps at which one user contributes an item (1..2^20;
            default 1, the event level). At most κ_eff = min(κ, ⌊(T−1)/s⌋ + 1) fit in T.
        min_separation: s, the least number of steps between two of one user's
            contributions (1..2^40), e.g. the number of steps per epoch when every user
            contributes once per epoch; None (default) means 1 (any distinct steps).

    Raises:
        DPKitError: any argument out of range, naming it and the allowed range.

    >>> CounterParams.for_rho("sqrt", 2**10, rho=0.5, relation="add_remove").noise_multiplier
    1.809020...
    """

    kind: Kind
    horizon: int
    noise_multiplier: float | None = None
    epsilon: float | None = None
    dimension: int = 1
    bound: float = 1.0
    relation: Literal["add_remove", "replace_one"] | None = None
    clip: bool = False
    blt_buffers: int = _DEFAULT_BUFFERS
    blt_theta: tuple[float, ...] | None = field(default=None)
    blt_omega: tuple[float, ...] | None = field(default=None)
    participations: int = 1
    min_separation: int | None = None
    neighbours: Literal["replace", "zero_out"] | None = field(default=None, repr=False,
                                                              compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DPKitError(f"kind must be one of {KINDS}, got {self.kind!r}")
        T = V.integer(minimum=1, maximum=MAX_HORIZON, horizon=self.horizon)
        d = V.integer(minimum=1, maximum=2**20, dimension=self.dimension)
        object.__setattr__(self, "horizon", T)
        object.__setattr__(self, "dimension", d)
        if self.kind == "sqrt" and T * d > MAX_SQRT_HORIZON:
            raise DPKitError(f"horizon*dimension must be <= {MAX_SQRT_HORIZON} (2**25) for "
                             f"kind='sqrt' (it stores O(T*d) numbers), got {T * d}")
        b = V.positive(bound=self.bound)
        object.__setattr__(self, "bound", b)
        object.__setattr__(self, "relation", V.relation(
            self.relation, "replace_one", alias=self.neighbours, alias_name="neighbours",
            alias_map=_LEGACY_NEIGHBOURS))
        object.__setattr__(self, "neighbours", None)  # the deprecated alias, consumed
        if not isinstance(self.clip, (bool, np.bool_)):
            raise DPKitError(f"clip must be True or False, got {self.clip!r}")
        object.__setattr__(self, "clip", bool(self.clip))
        # κ > T or s ≥ T are allowed: only κ_eff = min(κ, ⌊(T−1)/s⌋ + 1) steps fit in T
        k = V.integer(minimum=1, maximum=MAX_PARTICIPATIONS, participations=self.participations)
        object.__setattr__(self, "participations", k)
        if self.min_separation is not None:
            sep = V.integer(minimum=1, maximum=MAX_HORIZON, min_separation=self.min_separation)
            object.__setattr__(self, "min_separation", sep)
        if (self.noise_multiplier is None) == (self.epsilon is None):
            raise DPKitError("give exactly one of noise_multiplier (Gaussian noise) and epsilon "
                             f"(Laplace noise), got noise_multiplier={self.noise_multiplier!r}, "
                             f"epsilon={self.epsilon!r}")
        if self.noise_multiplier is not None:
            s = V.positive(noise_multiplier=self.noise_multiplier)
            object.__setattr__(self, "noise_multiplier", s)
        else:
            if self.kind not in ("tree", "honaker"):
                raise DPKitError(f"epsilon (Laplace noise) is defined for kind 'tree' or "
                                 f"'honaker', got kind={self.kind!r}; use noise_multiplier")
            object.__setattr__(self, "epsilon", V.positive(epsilon=self.epsilon))
        # no silent overflow: the largest possible prefix sum and every noise scale are finite
        V.positive(**{"bound*horizon": b * T})
        V.positive(**{"noise_std**2": self.noise_std**2})  # finite, not underflowing
        nb = V.integer(minimum=1, maximum=_MAX_BUFFERS, blt_buffers=self.blt_buffers)
        object.__setattr__(self, "blt_buffers", nb)
        if self.kind == "blt":
            self._init_blt()
        elif self.blt_theta is not None or self.blt_omega is not None:
            raise DPKitError(f"blt_theta/blt_omega are only used with kind='blt', got "
                             f"kind={self.kind!r}")

    def _init_blt(self) -> None:
        if (self.blt_theta is None) != (self.blt_omega is None):
            raise DPKitError("give both blt_theta and blt_omega, or neither")
        if self.blt_theta is None:
            theta, omega = blt_sqrt_parameters(self.horizon, self.blt_buffers)
        else:
            th = V.finite_array(blt_theta=self.blt_theta).reshape(-1)
            om = V.finite_array(blt_omega=self.blt_omega).reshape(-1)
            if th.size == 0 or th.size > _MAX_BUFFERS or th.size != om.size:
                raise DPKitError(f"blt_theta and blt_omega must have the same length in "
                                 f"1..{_MAX_BUFFERS}, got {th.size} and {om.size}")
            if np.any(th <= 0) or np.any(th >= 1):
                raise DPKitError(f"blt_theta must lie in (0, 1), got {th.tolist()}")
            if np.any(om <= 0):
                raise DPKitError(f"blt_omega must be > 0, got {om.tolist()}")
            theta, omega = tuple(th.tolist()), tuple(om.tolist())
        object.__setattr__(self, "blt_theta", theta)
        object.__setattr__(self, "blt_omega", omega)
        object.__setattr__(self, "blt_buffers", len(theta))
        lam, _ = blt_inverse_parameters(theta, omega)
        if np.max(np.abs(lam)) >= 1.0:
            raise DPKitError("blt_theta/blt_omega give an unstable inverse (C^-1 has a decay "
                             f"of modulus {float(np.max(np.abs(lam))):.6g} >= 1); the noise "
                             "recursion would grow without bound")

    # ------------------------------------------------------------------ derived quantities
    @classmethod
    def for_rho(cls, kind: Kind, horizon: int, rho: float, **kwargs: Any) -> CounterParams:
        """The Gaussian counter that is exactly ρ-zCDP: σ = s/√(2ρ) (s: sensitivity_factor)."""
        r = V.positive(rho=rho)
        probe = cls(kind, horizon, noise_multiplier=1.0, **kwargs)
        return cls(kind, horizon, noise_multiplier=sensitivity_factor(probe) / math.sqrt(2 * r),
                   **kwargs)

    @property
    def noise(self) -> str:
        """"gaussian" or "laplace"."""
        return "gaussian" if self.noise_multiplier is not None else "laplace"

    @property
    def sensitivity(self) -> float:
        """Δ: the largest norm of the change of one item (2·bound for "replace_one", bound
        for "add_remove")."""
        return 2.0 * self.bound if self.relation == "replace_one" else self.bound

    @property
    def separation(self) -> int:
        """s: the least number of steps between two participations (min_separation or 1)."""
        return 1 if self.min_separation is None else int(self.min_separation)

    @property
    def effective_participations(self) -> int:
        """κ_eff = min(κ, ⌊(T−1)/s⌋ + 1): the most participations that fit in the horizon."""
        return effective_participations(self.horizon, self.participations, self.separation)

    @property
    def levels(self) -> int:
        """L = ⌊log2 T⌋ + 1, the number of tree heights (also the tree state's length)."""
        return tree_levels(self.horizon)

    @property
    def laplace_scale(self) -> float:
        """b = s₁·Δ/ε, the per-node Laplace scale (Laplace noise only); s₁ = L at κ = 1, else
        the ℓ1 sensitivity of the tree under the participation schema."""
        if self.epsilon is None:
            raise DPKitError("laplace_scale is defined for Laplace noise (epsilon) only")
        return l1_sensitivity_factor(self) * self.sensitivity / self.epsilon

    @property
    def noise_std(self) -> float:
        """Standard deviation of one node's (or one z_t's) noise, per coordinate."""
        if self.noise_multiplier is not None:
            return self.noise_multiplier * self.sensitivity
        return math.sqrt(2.0) * self.laplace_scale

    @property
    def noise_scale(self) -> float:
        """What multiplies one unit noise draw: σ·Δ (standard normal) or b (standard Laplace)."""
        if self.noise_multiplier is not None:
            return self.noise_multiplier * self.sensitivity
        return self.laplace_scale

    @property
    def rho(self) -> float:
        """ρ of the zCDP statement (Gaussian noise) = s²/(2σ²); ε²/2 for Laplace noise."""
        if self.noise_multiplier is not None:
            return sensitivity_factor(self) ** 2 / (2.0 * self.noise_multiplier**2)
        return self.epsilon**2 / 2.0  # type: ignore[operator]

    def privacy_event(self) -> Event:
        """The accountant event of a run of at most ``horizon`` steps (:func:`privacy_event`)."""
        return _privacy.privacy_event(self)


# ================================================================ state
class CounterState(NamedTuple):
    """Immutable counter state: arrays are read-only; ``step`` returns a new record.

    Attributes:
        t: steps taken so far.
        partial: (L, d) exact sums of the open left nodes (tree kinds; (0, d) otherwise).
        nodes: (L, d) released node values: noisy sums (tree) or Honaker estimates.
        buffers: (b, d) BLT buffers of the noise recursion ((0, d) otherwise).
        history: (T, d) unit noise of every step so far ("sqrt" only; (0, d) otherwise).
        total: (d,) exact running sum ("sqrt").
        noisy_total: (d,) running sum of x_t + ζ_t ("blt").
    """

    t: int
    partial: np.ndarray
    nodes: np.ndarray
    buffers: np.ndarray
    history: np.ndarray
    total: np.ndarray
    noisy_total: np.ndarray

    @property
    def size(self) -> int:
        """Number of stored floats (the memory of the streaming counter)."""
        return int(sum(a.size for a in self[1:]))


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _check(params: Any) -> CounterParams:
    if not isinstance(params, CounterParams):
        raise DPKitError(f"params must be a CounterParams, got {type(params).__name__}")
    return params


def init(params: CounterParams) -> CounterState:
    """The state before the first step: O(L·d) floats for the tree kinds, O(b·d) for BLT,
    O(T·d) for "sqrt"."""
    p = _check(params)
    d, L = p.dimension, p.levels
    tree = p.kind in ("tree", "honaker")
    z = np.zeros
    return CounterState(
        0,
        _frozen(z((L if tree else 0, d))),
        _frozen(z((L if tree else 0, d))),
        _frozen(z((p.blt_buffers if p.kind == "blt" else 0, d))),
        _frozen(z((p.horizon if p.kind == "sqrt" else 0, d))),
        _frozen(z(d)),
        _frozen(z(d)),
    )


def noise_rows(params: CounterParams, t: int) -> int:
    """How many unit noise draws (rows of d) step t consumes: ctz(t)+1 for "honaker", else 1.

    Raises:
        DPKitError: bad params, or t not an integer step in [1, horizon].
    """
    p = _check(params)
    t = V.integer(minimum=1, maximum=p.horizon, t=t)
    return _dyadic.lowbit_level(t) + 1 if p.kind == "honaker" else 1


def _check_state(p: CounterParams, state: Any) -> CounterState:
    """A state of these params: t in [0, horizon], arrays of init's shapes, all finite."""
    if not isinstance(state, CounterState):
        raise DPKitError(f"state must be a CounterState (from init or step), got "
                         f"{type(state).__name__}")
    V.integer(minimum=0, maximum=p.horizon, **{"state.t": state.t})
    d, L = p.dimension, p.levels
    tree = p.kind in ("tree", "honaker")
    shapes = ((L if tree else 0, d), (L if tree else 0, d),
              (p.blt_buffers if p.kind == "blt" else 0, d),
              (p.horizon if p.kind == "sqrt" else 0, d), (d,), (d,))
    for name, arr, shape in zip(CounterState._fields[1:], state[1:], shapes, strict=True):
        if not isinstance(arr, np.ndarray) or arr.dtype != np.float64 or arr.shape != shape:
            raise DPKitError(f"state.{name} must be a float64 array of shape {shape} for these "
                             f"params (use init), got {getattr(arr, 'shape', type(arr))}")
        if not np.isfinite(arr).all():
            raise DPKitError(f"state.{name} must be finite")
    return state


def _honaker_weights(levels: int) -> np.ndarray:
    """w_h = 2^h/(2^{h+1} − 1): the weight of a node's own noisy value (w_0 = 1)."""
    h = np.arange(levels, dtype=np.float64)
    return np.exp2(h) / (np.exp2(h + 1) - 1.0)


# ================================================================ input checks
def _norms(x: np.ndarray, params: CounterParams) -> np.ndarray:
    if params.dimension == 1:
        return np.abs(x[..., 0])
    if params.noise == "laplace":
        return np.sum(np.abs(x), axis=-1)
    return np.sqrt(np.sum(x * x, axis=-1))


def _prepare(params: CounterParams, x: Any, name: str, batch: bool) -> np.ndarray:
    """Validate items (finite, right shape, within the bound or clipped) as float64 (…, d)."""
    try:
        scalar = np.ndim(x) == 0
    except (TypeError, ValueError):  # e.g. a ragged list: finite_array names the problem
        scalar = False
    arr = V.finite_array(**{name: [x] if scalar else x})
    if scalar:
        arr = arr.reshape(())
    d = params.dimension
    lead = 1 if batch else 0
    if d == 1 and arr.ndim == lead:
        arr = arr[..., None]
    if arr.ndim != lead + 1 or arr.shape[-1] != d:
        want = "(T,) or (T, d)" if batch else "a scalar or (d,)"
        raise DPKitError(f"{name} must have shape {want} with d = dimension = {d}, got shape "
                         f"{np.shape(x)}")
    norms = _norms(arr, params)
    over = norms > params.bound
    if np.any(over):
        if not params.clip:
            where = np.flatnonzero(np.atleast_1d(over))[:5].tolist()
            raise DPKitError(f"{name} must have norm <= bound = {params.bound:g} (or pass "
                             f"clip=True); violated at step index(es) {where}, norm "
                             f"{float(np.max(norms)):.6g}")
        factor = np.where(over, params.bound / np.where(over, norms, 1.0), 1.0)
        arr = arr * factor[..., None]
    return arr


# ================================================================ the reference step
def advance(params: CounterParams, state: CounterState, x: Any,
            unit_noise: Any) -> tuple[CounterState, np.ndarray]:
    """One deterministic step given its unit noise: ``(state, y_t)``.

    ``unit_noise`` has ``noise_rows(params, t)`` rows of d standard normal (Gaussian) or
    standard Laplace draws; :func:`step` draws them from ``rng``. This is the numpy reference
    every kernel is checked against. Returns y_t as an array of shape (d,).
    """
    p = _check(params)
    t = _check_state(p, state).t + 1
    if t > p.horizon:
        raise DPKitError(f"step {t} is beyond horizon = {p.horizon}: the privacy statement "
                         "covers at most horizon steps")
    xv = _prepare(p, x, "x", batch=False)
    z = V.finite_array(unit_noise=unit_noise)
    rows = noise_rows(p, t)
    if z.size != rows * p.dimension:
        raise DPKitError(f"unit_noise must have {rows} rows of dimension {p.dimension} at "
                         f"step {t}, got shape {z.shape}")
    z = z.reshape(rows, p.dimension)
    scale = p.noise_scale
    partial, nodes = state.partial.copy(), state.nodes.copy()
    buffers, history = state.buffers, state.history
    total, noisy_total = state.total, state.noisy_total
    if p.kind == "tree":
        h = _dyadic.lowbit_level(t)
        exact = xv + partial[:h].sum(axis=0)
        partial[:h] = 0.0
        nodes[:h] = 0.0
        partial[h] = exact
        nodes[h] = exact + scale * z[0]
        y = nodes.sum(axis=0)  # slot h is non-zero exactly when bit h of t is set
    elif p.kind == "honaker":
        hstar = _dyadic.lowbit_level(t)
        w = _honaker_weights(p.levels)
        exact = xv.copy()
        u = exact + scale * z[0]  # the new leaf: u = its noisy value
        for h in range(1, hstar + 1):
            exact = exact + partial[h - 1]  # left child's exact sum + right child's
            noisy = exact + scale * z[h]
            u = w[h] * noisy + (1.0 - w[h]) * (nodes[h - 1] + u)
        partial[:hstar] = 0.0
        nodes[:hstar] = 0.0
        partial[hstar] = exact
        nodes[hstar] = u
        y = nodes.sum(axis=0)
    elif p.kind == "blt":
        omega = np.asarray(p.blt_omega)
        theta = np.asarray(p.blt_theta)
        zeta = scale * z[0] - omega @ buffers
        buffers = theta[:, None] * buffers + zeta[None, :]
        noisy_total = noisy_total + xv + zeta
        y = noisy_total.copy()
    else:  # sqrt: y_t = S_t + scale·Σ_{k<t} c_k z_{t−k}
        history = history.copy()
        history[t - 1] = z[0]
        c = sqrt_coefficients(t)
        total = total + xv
        y = total + scale * (c[::-1] @ history[:t])
    new = CounterState(t, _frozen(partial), _frozen(nodes), _frozen(np.asarray(buffers)),
                       _frozen(history), _frozen(np.asarray(total)),
                       _frozen(np.asarray(noisy_total)))
    return new, y


def _unit_noise(params: CounterParams, gen: Any, shape: tuple[int, ...]) -> np.ndarray:
    if params.noise == "gaussian":
        return gen.standard_normal(shape)
    return gen.laplace(0.0, 1.0, shape)


def step(params: CounterParams, state: CounterState, x: Any,
         rng: RNGLike) -> tuple[CounterState, np.ndarray | float]:
    """Feed one item and publish the private prefix sum y_t (pure; returns a new state).

    Pure: the same (params, state, x, rng state) give the same output; ``state`` is not
    modified. The item may be chosen adaptively from earlier outputs (the guarantee holds for
    adaptive streams; Denisov et al. 2022). Privacy: :func:`privacy_event` for the whole run.

    Args:
        params: a :class:`CounterParams`.
        state: from :func:`init` or a previous step.
        x: the item, a float (d = 1) or an array of shape (d,); finite, norm ≤ bound (or
            clipped with ``clip=True``).
        rng: numpy Generator or int seed.

    Returns:
        (new state, y_t): a float for d = 1, else an array (d,).

    Raises:
        DPKitError: non-finite or out-of-bound item, wrong shape, or a step beyond the horizon.
    """
    p = _check(params)
    gen = as_generator(rng)
    t = _check_state(p, state).t + 1
    if t > p.horizon:
        raise DPKitError(f"step {t} is beyond horizon = {p.horizon}: the privacy statement "
                         "covers at most horizon steps")
    z = _unit_noise(p, gen, (noise_rows(p, t), p.dimension))
    new, y = advance(p, state, x, z)
    return new, (float(y[0]) if p.dimension == 1 else y)


# ================================================================ whole streams
def total_noise_rows(params: CounterParams, steps: int) -> int:
    """Σ_{t ≤ steps} noise_rows(params, t): 2·steps − popcount(steps) for "honaker"."""
    if params.kind == "honaker":
        return 2 * steps - bin(steps).count("1")
    return steps


def _prepare_stream(params: CounterParams, stream: Any) -> np.ndarray:
    p = _check(params)
    arr = _prepare(p, stream, "stream", batch=True)
    if arr.shape[0] > p.horizon:
        raise DPKitError(f"stream has {arr.shape[0]} steps, beyond horizon = {p.horizon}")
    return arr


def _sqrt_batch(params: CounterParams, xs: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """y = prefix sums + scale·(A^{1/2} z), the Toeplitz product by FFT (O(T log T))."""
    T = xs.shape[0]
    c = sqrt_coefficients(T)
    n = 1 << max(1, (2 * T - 1).bit_length())
    fc = np.fft.rfft(c, n)
    fz = np.fft.rfft(noise, n, axis=0)
    conv = np.fft.irfft(fc[:, None] * fz, n, axis=0)[:T]
    return np.cumsum(xs, axis=0) + params.noise_scale * conv


def _run_reference(params: CounterParams, xs: np.ndarray, noise: np.ndarray) -> np.ndarray:
    state = init(params)
    out = np.empty_like(xs)
    pos = 0
    for i in range(xs.shape[0]):
        m = noise_rows(params, i + 1)
        state, y = advance(params, state, xs[i], noise[pos:pos + m])
        pos += m
        out[i] = y
    return out


def run_with_noise(params: CounterParams, stream: Any, noise: Any, *,
                   backend: str = "numpy") -> np.ndarray:
    """Run a whole stream with given unit noise (deterministic); see :func:`run`.

    ``noise`` has ``total_noise_rows(params, T)`` rows of d unit draws (standard normal, or
    standard Laplace), consumed in step order. With the same noise, the numpy reference and
    the numba kernel agree to rounding. "sqrt" uses the FFT batch product on every backend.
    """
    p = _check(params)
    xs = _prepare_stream(p, stream)
    T = xs.shape[0]
    z = V.finite_array(noise=noise)
    need = total_noise_rows(p, T)
    if z.size != need * p.dimension:
        raise DPKitError(f"noise must have {need} rows of dimension {p.dimension} for {T} "
                         f"steps, got shape {z.shape}")
    z = z.reshape(need, p.dimension)
    which = resolve(backend, stream)
    if p.kind == "sqrt":
        out = _sqrt_batch(p, xs, z)
    elif which == "numba":
        from . import _numba

        out = _numba.run(p, xs, z)
    elif which == "jax":
        raise DPKitError("run_with_noise does not take backend='jax' (JAX draws its own noise "
                         "from a key); use run(..., backend='jax')")
    else:
        out = _run_reference(p, xs, z)
    return out.reshape(np.shape(stream)) if p.dimension == 1 else out


def run(params: CounterParams, stream: Any, rng: Any, *, backend: str = "auto") -> Any:
    """Run a whole stream: the private prefix sums ``y_1..y_T`` (same shape as ``stream``).

    Equivalent in law to T calls of :func:`step`. Privacy: :func:`privacy_event` (event-level
    neighbours; ρ = s²/(2σ²)-zCDP with Gaussian noise, ε-DP with Laplace noise).

    Args:
        params: a :class:`CounterParams`.
        stream: (T,) or (T, d) items, T ≤ horizon; finite, norm ≤ bound (or clipped).
        rng: numpy Generator or int seed; for ``backend="jax"`` a JAX PRNG key (or an int
            seed, turned into ``jax.random.key``); a SecureGenerator (the hardened tier: all
            noise drawn on the host from the OS CSPRNG; the numba kernel draws nothing) with
            "auto", "numpy" or "numba", never "jax".
        backend: "numpy" (the step-by-step reference), "numba", "jax" (``lax.scan``) or
            "auto" (JAX for a JAX array, else numba when installed). "sqrt" always runs the
            O(T log T) FFT product (numpy, or ``jnp.fft`` for JAX).

    Returns:
        The estimates, shape of ``stream`` (a JAX array for the JAX backend).

    Raises:
        DPKitError: non-finite or out-of-bound items, T > horizon, bad backend.
    """
    p = _check(params)
    which = route_backend(backend, stream, rng, kernel_draws=False)
    if which == "jax":
        from . import _jax

        return _jax.run(p, stream, rng)
    xs = _prepare_stream(p, stream)
    gen = as_generator(rng)
    z = _unit_noise(p, gen, (total_noise_rows(p, xs.shape[0]), p.dimension))
    out = run_with_noise(p, xs, z, backend=which)
    return out.reshape(np.shape(stream)) if p.dimension == 1 else out


# ================================================================ exact error
@lru_cache(maxsize=16)
def _blt_error_terms(theta: tuple[float, ...], omega: tuple[float, ...]) -> tuple[
        complex, np.ndarray, np.ndarray]:
    lam, alpha = blt_inverse_parameters(theta, omega)
    beta = alpha / (1.0 - lam)
    e_inf = 1.0 + beta.sum()
    return complex(e_inf), lam, beta


def _blt_error_factor(params: CounterParams, t: np.ndarray) -> np.ndarray:
    """Σ_{k<t} e_k² for the coefficients e_k = Σ_{m≤k} (C^{−1})_m of B = A C^{−1}.

    With (C^{−1})_m = Σ_i α_i λ_i^{m−1}: e_k = e_∞ − Σ_i β_i λ_i^k, β_i = α_i/(1 − λ_i),
    e_∞ = 1 + Σ_i β_i, and the sum of squares is a finite geometric series.
    """
    e_inf, lam, beta = _blt_error_terms(params.blt_theta, params.blt_omega)  # type: ignore[arg-type]
    tt = t.astype(np.float64)[..., None]
    geo1 = np.expm1(tt * np.log(lam)) / np.expm1(np.log(lam))  # Σ_{k<t} λ^k
    ll = np.outer(lam, lam).reshape(-1)
    bb = np.outer(beta, beta).reshape(-1)
    geo2 = np.expm1(tt * np.log(ll)) / np.expm1(np.log(ll))
    val = (t * e_inf**2 - 2.0 * e_inf * (geo1 @ beta) + geo2 @ bb)
    return np.real(val)


def _variance_factor(params: CounterParams, t: np.ndarray) -> np.ndarray:
    kind = params.kind
    if kind == "tree":
        return np.array([bin(int(v)).count("1") for v in t.reshape(-1)],
                        dtype=np.float64).reshape(t.shape)
    if kind == "honaker":
        w = _honaker_weights(params.levels)  # v_h/σ² = w_h
        flat = t.reshape(-1)
        out = np.zeros(flat.shape, dtype=np.float64)
        for h in range(params.levels):
            out += np.where((flat >> h) & 1, w[h], 0.0)
        return out.reshape(t.shape)
    if kind == "sqrt":
        cum = privacy_cumsq(params.horizon)
        return cum[t - 1]
    return _blt_error_factor(params, t)


def privacy_cumsq(horizon: int) -> np.ndarray:
    """G(t) = Σ_{k<t} c_k² for t = 1..T (read-only, cached)."""
    return _privacy._sqrt_cumsq(int(horizon))


def expected_variance(params: CounterParams, t: Any) -> Any:
    """Exact per-coordinate variance of the error y_t − S_t at step t (1 ≤ t ≤ horizon).

    * tree: popcount(t)·σ_n² (σ_n² = :attr:`CounterParams.noise_std`², 2b² for Laplace);
    * honaker: σ_n²·Σ_{h: bit h of t} 2^h/(2^{h+1}−1);
    * sqrt: σ_n²·Σ_{k<t} c_k²;
    * blt: σ_n²·Σ_{k<t} e_k², e the Toeplitz coefficients of A C^{−1} (closed form).

    The error is unbiased (mean 0) for every kind. Vectorized over t.
    """
    p = _check(params)
    try:
        tt = np.asarray(t)
    except (TypeError, ValueError) as exc:
        raise DPKitError(f"t must be an integer step in [1, {p.horizon}]: {exc}") from None
    integral = tt.dtype.kind in "iu" or (tt.dtype.kind == "f" and bool(np.all(tt == np.floor(tt))))
    # range checked before any cast to int64 (a float 1e300 or a uint64 2**63 would wrap)
    if not integral or (tt.size and (np.any(tt < 1) or np.any(tt > p.horizon))):
        raise DPKitError(f"t must be an integer step in [1, {p.horizon}] (1 ≤ t ≤ horizon), "
                         f"got {t!r}")
    ti = tt.astype(np.int64)
    out = p.noise_std**2 * _variance_factor(p, ti)
    return float(out) if np.ndim(t) == 0 else out


def max_variance(params: CounterParams) -> float:
    """max_{t ≤ T} expected_variance(params, t), exactly.

    Tree kinds: at the t ≤ T with the most set bits (heaviest low bits); sqrt and BLT: at t = T
    (their error variance is non-decreasing in t).
    """
    p = _check(params)
    T = p.horizon
    if p.kind in ("tree", "honaker"):
        # candidates: T itself and, for each set bit h ≥ 1 of T, T with bit h cleared and all
        # lower bits set (the largest-popcount numbers ≤ T); Honaker weights decrease in h, so
        # the same candidates cover it.
        cands = [T] + [((T >> h) << h) - 1 for h in range(1, T.bit_length()) if (T >> h) & 1]
        cands = [c for c in cands if c >= 1]
        return float(np.max(expected_variance(p, np.array(cands, dtype=np.int64))))
    return float(expected_variance(p, T))


def privacy_event(params: CounterParams) -> Event:
    """The accountant event of one run (see :mod:`.privacy`): ``Gaussian(σ/s)`` or Laplace.

    Neighbouring relation: event-level (one step's item changes by at most Δ).
    """
    return _privacy.privacy_event(_check(params))
