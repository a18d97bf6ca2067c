"""RQM: the randomized quantization mechanism (Youn, Hu, Ziani, Abernethy 2023).

Y. Youn, Z. Hu, J. Ziani, J. Abernethy, *Randomized Quantization is All You Need for
Differential Privacy in Federated Learning*, FL-ICML 2023 workshop, arXiv:2306.11913.

Definition (one scalar x ∈ [−c, c]; ``num_levels`` m counts level *points*, indices 0..m−1):
R = c + Δ, spacing s = 2R/(m − 1), levels B_k = −R + k·s. Two stages of randomness:

1. keep B_0 and B_{m−1} always, and each interior level B_1..B_{m−2} independently with
   probability q (``keep_prob``);
2. round x unbiasedly between its nearest kept levels B_L ≤ x < B_U: output U with probability
   (x − B_L)/(B_U − B_L), else L.

The client sends the integer index (⌈log2 m⌉ bits); the server decodes B_index. The output is
exactly unbiased: E[B_out] = x for every x ∈ [−c, c].

Privacy (local, "replace one client's value": any two inputs x, x' ∈ [−c, c]): the exact Rényi
divergence sup_{x,x'} D_α(P_x ‖ P_x') is attained on the finite grid
G = {−c, c} ∪ {B_k : −c < B_k < c} (the pmf is affine in x on each cell and (a, b) ↦ a^α b^{1−α}
is jointly convex), so :mod:`dpkit.mechanisms.rqm.privacy` computes it exactly by a grid search,
for every order α > 1 and for α = ∞ (pure ε). A d-vector encoded coordinate-wise (ℓ∞ clipping)
costs d times the scalar curve, tightly (the pair (c·1, −c·1) is worst in every coordinate).
Finite privacy needs Δ > 0 and q < 1.

The formulas for the pmf and the grid theorem are derived in /work/shared/specs/rqm.md (the
paper's body could not be read; the mechanism's definition matches its abstract and two
third-party re-implementations). Sampling is in floating point: *not* hardened against
floating-point attacks.

Modules: :mod:`.params` (:class:`RQMParams`), :mod:`.privacy` (the exact curve,
:func:`privacy_event`, :func:`rdp`, :func:`calibrate`), :mod:`.reference` (numpy sampler and
closed-form pmf), :mod:`.mechanism` (:func:`quantize` with backend dispatch, :func:`decode`,
:func:`aggregate`), ``_exact`` (the law and the grid search on plain numbers, shared by all of
them), ``_numba`` / ``_jax`` (kernels). ``epsilon`` is a deprecated alias of :func:`rdp`.
"""

from .mechanism import aggregate, aggregate_sums, decode, quantize
from .params import MAX_LEVELS, RQMParams, Sampler
from .privacy import calibrate, privacy_event, rdp
from .privacy import epsilon as epsilon  # deprecated alias of rdp, not in __all__
from .reference import log_pmf, pmf, quantize_reference, variance

__all__ = [
    "RQMParams",
    "quantize",
    "quantize_reference",
    "decode",
    "aggregate",
    "aggregate_sums",
    "pmf",
    "log_pmf",
    "variance",
    "privacy_event",
    "rdp",
    "calibrate",
    "MAX_LEVELS",
    "Sampler",
]
