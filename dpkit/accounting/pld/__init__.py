"""Certified privacy loss distributions (PLD): tight (ε, δ) accounting by numerical composition.

A mechanism is described by a dominating pair (P, Q) (:mod:`.pairs`); its privacy loss
L = log(P/Q)(Y), Y ~ P, is discretized pessimistically on a uniform grid (connect-the-dots,
Doroshenko et al., PETS 2022) into a :class:`PrivacyLossDistribution`; compositions add
independent losses, computed by FFT with exponentiation in the Fourier domain (cost flat in
the number of compositions, grid bounded by :data:`MAX_POINTS`); δ(ε) is the hockey-stick
divergence read off the composed distribution, and ε(δ) its exact inverse on the grid.

Certification in five lines:
1. connect-the-dots splits each loss atom between its two grid neighbours keeping its P- and
   Q-mass; merging the pieces back is post-processing, so the discrete pair dominates;
2. products of dominating pairs dominate the composition (Zhu, Dong, Wang 2022, Thm. 10);
3. δ(ε) = ∫_ε^∞ e^{ε−x} P(L > x) dx is monotone in the survival function, so moving mass up,
   adding mass or sending it to +∞ (tails, cyclic aliasing, rounding) only raises δ(ε);
4. the cut upper tail is bounded by a Chernoff bound on the discrete PLD and added to the
   mass at +∞; FFT rounding is bounded a priori per entry and added to every mass;
5. the FFT runs on exponentially tilted masses, so that bound is tiny where δ is read.

The public entry points: :func:`epsilon_bound` / :func:`delta_bound` for a list of
(pair, count) of one direction, :func:`sampled_gaussian_epsilon` for DP-SGD (both
directions of add/remove, max), and the pair constructors.
"""

from .bounds import (
    delta_bound,
    epsilon_bound,
    plan_pld,
    sampled_gaussian_delta,
    sampled_gaussian_epsilon,
)
from .distribution import MAX_POINTS, PrivacyLossDistribution, compose_many
from .ledger import BLATANT, is_blatant, ledger_directions, quiet
from .pairs import (
    ADD,
    REMOVE,
    DiscretePair,
    DominatingPair,
    GaussianPair,
    LaplacePair,
    SampledGaussianPair,
    SampledLaplacePair,
    SymmetrizedPair,
    from_pmfs,
    pure_dp_pair,
    randomized_response_pair,
    symmetrized_pmfs,
)

__all__ = [
    "PrivacyLossDistribution", "MAX_POINTS", "compose_many",
    "DominatingPair", "GaussianPair", "LaplacePair", "SampledGaussianPair", "SampledLaplacePair",
    "SymmetrizedPair", "DiscretePair",
    "from_pmfs", "symmetrized_pmfs", "randomized_response_pair", "pure_dp_pair", "ADD", "REMOVE",
    "epsilon_bound", "delta_bound", "plan_pld", "sampled_gaussian_epsilon",
    "sampled_gaussian_delta", "ledger_directions", "BLATANT", "is_blatant", "quiet",
]
