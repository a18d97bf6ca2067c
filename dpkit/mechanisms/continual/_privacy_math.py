"""Privacy statements of the continual-release counters: sensitivities and accountant events.

Every counter releases a linear function of the stream plus noise, ``y = A x + B z``, with
``A`` the T×T lower-triangular all-ones matrix (prefix sums) and ``A = B·C``. The noise enters
as ``B(Cx + z)``, so the release is a post-processing of the Gaussian (or Laplace) mechanism on
the query ``x ↦ Cx``. Its sensitivity under *event-level* neighbours (two streams that differ in
one step's item, the two items differing by at most Δ in norm) is

    sens(C) = Δ · max_j ‖C[:, j]‖          (ℓ2 for Gaussian noise, ℓ1 for Laplace noise)

(Li, Miklau, Hay, McGregor, Rastogi, "The Matrix Mechanism", 2015; Denisov, McMahan, Rush,
Smith, Thakurta, NeurIPS 2022, who also prove that the guarantee holds for adaptively chosen
streams when B and C are lower-triangular).

* Binary tree (Dwork, Naor, Pitassi, Rothblum, STOC 2010; Chan, Shi, Song, ICALP 2010): C is the
  0/1 node-membership matrix of the dyadic nodes that complete by the horizon T. One item lies
  in at most ``L = ⌊log2 T⌋ + 1`` of them (exactly L for the first item), so the ℓ2 column norm
  is √L and the ℓ1 column norm is L. Honaker's estimator (TPDP 2015) post-processes the same
  kind of noisy node values and has the same sensitivity.
* Square-root factorization (Fichtenberger, Henzinger, Upadhyay, ICML 2023): ``B = C = A^{1/2}``,
  Toeplitz with coefficients ``c_k = binom(2k, k)/4^k``; every column norm² is at most
  ``G(T) = Σ_{k<T} c_k²`` (the first column attains it).
* BLT (Dvijotham, McMahan, Pillutla, Steinke, Thakurta 2024): C is Toeplitz with ``c_0 = 1``,
  ``c_k = Σ_i ω_i θ_i^{k−1}``; the first column is again the largest, with the closed form
  ``‖C[:,0]‖² = 1 + Σ_{i,j} ω_iω_j (1 − (θ_iθ_j)^{T−1})/(1 − θ_iθ_j)``.

Multiple participations (spec §3.5; :func:`participation_sensitivity`): when one user
contributes at up to κ steps, pairwise at least s apart, the sensitivity is the largest norm of
``Σ_{j∈P} C[:, j]`` over such step sets P (Denisov et al. 2022; Choquette-Choo et al., "Multi-
Epoch Matrix Factorization Mechanisms for Private Machine Learning", ICML 2023).

With per-coordinate Gaussian noise of standard deviation ``σ·Δ`` (σ = ``noise_multiplier``) the
release is ρ-zCDP with ``ρ = sens_factor²/(2σ²)``, i.e. the accountant event
``Gaussian(σ / sens_factor)`` where ``sens_factor = max_j ‖C[:, j]‖₂``. With Laplace noise of
scale b per node (tree kinds only) it is ε-DP with ``ε = L·Δ/b``; for a scalar stream the exact
RDP curve is that of L independent Laplace releases, ``Repeated(Laplace(b/Δ), L)``.

Layer: the private bottom of the package, with ``_strategy``: :mod:`.params` imports it and
:mod:`.privacy` re-exports it above the params.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ...accounting.events import Event, Gaussian, Laplace, PureDP, Repeated
from ...errors import DPKitError
from ._strategy import (
    ParticipationSensitivity,
    effective_participations,
    l1_sensitivity,
    l2_sensitivity,
    strategy_sensitivity,
    tree_levels,
)

__all__ = [
    "CounterLike",
    "item_sensitivity",
    "laplace_scale",
    "sensitivity_factor",
    "l1_sensitivity_factor",
    "participation_sensitivity",
    "counter_event",
]

# The plain-number strategy math (coefficients, column norms, the participation search) is in
# ._strategy. This module sits below .params (which imports it for
# ``CounterParams.privacy_event()``), so it reads a counter's parameters through the structural
# type below instead of importing the class; .privacy re-exports its names above the params and
# holds the public ``privacy_event(params)``.


@runtime_checkable
class CounterLike(Protocol):
    """The fields of a :class:`~dpkit.mechanisms.continual.CounterParams` this module reads."""

    @property
    def kind(self) -> str: ...
    @property
    def horizon(self) -> int: ...
    @property
    def noise_multiplier(self) -> float | None: ...
    @property
    def epsilon(self) -> float | None: ...
    @property
    def dimension(self) -> int: ...
    @property
    def bound(self) -> float: ...
    @property
    def relation(self) -> str | None: ...
    @property
    def participations(self) -> int: ...
    @property
    def min_separation(self) -> int | None: ...
    @property
    def blt_theta(self) -> tuple[float, ...] | None: ...
    @property
    def blt_omega(self) -> tuple[float, ...] | None: ...


def _check(params: object) -> CounterLike:
    if not isinstance(params, CounterLike):
        raise DPKitError(f"params must be a CounterParams, got {type(params).__name__}")
    return params


def _separation(p: CounterLike) -> int:
    return 1 if p.min_separation is None else int(p.min_separation)


def item_sensitivity(bound: float, relation: str | None) -> float:
    """Δ: the largest norm of the change of one item, 2·bound under "replace_one", bound under
    "add_remove" (an item set to or from 0)."""
    return 2.0 * bound if relation == "replace_one" else bound


def laplace_scale(l1_factor: float, sensitivity: float, epsilon: float) -> float:
    """b = s₁·Δ/ε: the per-node Laplace scale that makes the tree release ε-DP."""
    return l1_factor * sensitivity / epsilon


def _l2(p: CounterLike) -> float:
    return l2_sensitivity(p.kind, p.horizon, p.participations, _separation(p), p.blt_theta,
                          p.blt_omega)


def _l1(p: CounterLike) -> float:
    return l1_sensitivity(p.kind, p.horizon, p.participations, _separation(p))


def participation_sensitivity(params: CounterLike) -> ParticipationSensitivity:
    """The strategy's sensitivity under the params' participation schema (per unit Δ).

    Schema (spec §3.5): one user contributes the items of at most κ = ``participations``
    steps, any two of them at least s = ``min_separation`` steps apart; each contributed item
    changes by at most Δ. The released query is ``Cx``, so the change is ``Σ_{j∈P} C[:, j]d_j``
    with ‖d_j‖ ≤ Δ. Every strategy here has C ≥ 0 entrywise, hence CᵀC ≥ 0, and the worst
    d_j are all equal (then ``‖Σ_j C[:,j] d_jᵀ‖² ≤ Σ_{j,k} (CᵀC)_{jk}‖d_j‖‖d_k‖ ≤ Δ²·1ᵀ(CᵀC)_P 1``,
    attained), and adding a participation never lowers the norm: the answer is the max over
    patterns P of κ_eff steps of ``1ᵀ(CᵀC)_P 1`` (ℓ2²) and of ``Σ_{j∈P} ‖C[:, j]‖₁`` (ℓ1).

    * sqrt, BLT (Toeplitz, c_k ≥ 0 and c_1 ≥ c_2 ≥ …): the earliest pattern {1, 1+s, …} is a
      maximizer. Proof: moving a suffix of the pattern one step earlier when its first gap is
      > s never lowers the norm (the moved part keeps its norm or gains its truncated tail, and
      its inner product with the rest grows because the rest is non-increasing past its last
      point + 1); repeat until all gaps equal s and the first step is 1. (The spec's
      condition CᵀC ≥ 0 alone is not enough: monotone coefficients are needed.)
    * tree, Honaker (released nodes: odd-index nodes for the tree, all nodes for Honaker, each
      only if it completes by T): ``Σ_{released nodes} m_node²`` (m = points in the node) by an
      exact dynamic program over the dyadic blocks; the earliest pattern is NOT always optimal
      here (e.g. T = 16, κ = 2, s = 11: {1, 13} beats {1, 12} for the tree). Beyond a work
      budget the program is run with a smaller separation (a relaxation: a sound upper bound,
      ``exact=False``), or the per-height cap bound is used.
    """
    p = _check(params)
    return strategy_sensitivity(p.kind, p.horizon, p.participations, _separation(p),
                                p.blt_theta, p.blt_omega)


def sensitivity_factor(params: CounterLike) -> float:
    """The ℓ2 sensitivity of the counter's strategy C per unit of item sensitivity Δ.

    Single participation (κ = 1, the event level): max_j ‖C[:, j]‖₂, i.e. √L for the tree
    kinds, √G(T) for "sqrt", the closed-form BLT column norm for "blt". Multiple
    participations: √(max_P ‖Σ_{j∈P} C[:, j]‖₂²) (:func:`participation_sensitivity`).
    """
    return _l2(_check(params))


def l1_sensitivity_factor(params: CounterLike) -> float:
    """The ℓ1 sensitivity of the tree strategy per unit Δ (Laplace noise): L for κ = 1, else
    max_P Σ_{j∈P} (number of released nodes containing step j).

    Raises:
        DPKitError: bad params, or a kind other than "tree" or "honaker".
    """
    return _l1(_check(params))


def counter_event(params: CounterLike) -> Event:
    """The accountant event of one counter run; see
    :func:`dpkit.mechanisms.continual.privacy.privacy_event` (the public statement).

    Raises:
        DPKitError: ``params`` is not shaped like a ``CounterParams``.
    """
    p = _check(params)
    if p.noise_multiplier is not None:
        return Gaussian(p.noise_multiplier / _l2(p))
    assert p.epsilon is not None  # a validated counter has exactly one of the two
    delta = item_sensitivity(p.bound, p.relation)
    b_over_delta = laplace_scale(_l1(p), delta, p.epsilon) / delta
    single = effective_participations(p.horizon, p.participations, _separation(p)) == 1
    if p.dimension == 1 and single:
        return Repeated(Laplace(b_over_delta), tree_levels(p.horizon))
    return PureDP(_l1(p) / b_over_delta)
