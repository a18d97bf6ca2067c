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

Layout: ``_privacy_math`` (privacy math on plain numbers, below the params), :mod:`.params`
(validated params), :mod:`.privacy` (the statements: ``privacy_event``, the curves, the
accounting events), :mod:`.reference` (numpy reference), :mod:`._numba` / :mod:`._jax`
(kernels), :mod:`.mechanism` (public functions, backend dispatch); the sequential-learning
simulator is the sub-package :mod:`.sequential` (same layout).
"""

from .mechanism import (
    flip_probability,
    prob_positive,
    respond,
    respond_classic,
)
from .params import ClassicRRParams, Method, SmoothedRRParams
from .privacy import privacy_event, rdp_exact, rdp_rr_bound
from .reference import respond_reference
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
    "Method",
    "respond",
    "respond_reference",
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
