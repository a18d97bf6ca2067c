"""DP similarity queries and kernel density estimation (Backurs, Lin, Mahabadi, Silwal,
Tarnawski 2024).

A. Backurs, Z. Lin, S. Mahabadi, S. Silwal, J. Tarnawski, *Efficiently Computing Similarities
to Private Datasets*, ICLR 2024, arXiv:2403.08917 (BLMST24). The exact prefix-sum ℓ1 variant
follows the per-node count + sum idea of E. Liu, J. Y.-C. Hu, A. Reneau, Z. Song, H. Liu,
*Differentially Private Kernel Density Estimation*, arXiv:2409.01688 (LHRSL24); random Fourier
features are Rahimi & Recht 2007; RFF + Laplace is the LSQ-RFF sketch of Wagner, Naamad, Mishra,
ICML 2023. Design and derivations: /work/shared/specs/kde.md (its §-numbers are cited below).

From private points X ⊂ R^d, :func:`build` releases once a noisy structure; :func:`query`
answers F(y) = Σ_{x∈X} f(x, y) for any number of public queries y (post-processing, free):

* ``kind="l1"``: f = ‖x − y‖₁. One dyadic tree per coordinate over M cells of [−r, r]
  (spec §2.1). ``mode="exact"`` (default, spec §3.2): a count tree and a tree of centred cell
  midpoints u, and Σ_x |u_x − w| = w(#{u < w} − #{u ≥ w}) + (Σ_{u≥w} u − Σ_{u<w} u) from two
  noisy prefix sums: unbiased for the cell-snapped sum (|bias| ≤ n·d·ρ/2, ρ = 2r/M).
  ``mode="ring"`` (BLMST24's geometric rings, spec §3.1, reconstructed): count trees only,
  (1 + α)-multiplicative plus additive error.
* ``kind="l2"``: f = ‖x − y‖₂ through the ℓ2→ℓ1 embedding z = Gx, G ~ N(0, 1)^{k×d}
  (E‖G v‖₁ = k√(2/π)‖v‖₂, spec §4): an ℓ1 structure on the embedded points, whose coordinates
  are clipped to [−τr, τr] with τ = √(2 ln(2k·size_hint/β)).
* ``kind="gaussian"`` exp(−‖x−y‖²/σ²), ``"exponential"`` exp(−‖x−y‖₂/σ): random Fourier
  features φ_j(x) = √2 cos(ω_j·x + β_j), S = Σ_x φ(x) + Lap(√2·D/ε)^D, F̂(y) = ⟨S, φ(y)⟩/D
  (spec §5.2), after an optional JL map to ``jl_dim`` dimensions (spec §5.1).
* ``kind="cauchy"`` 1/(1 + ‖x−y‖²/σ²): the exponential-sum construction (spec §5.3, default):
  1/(1+t) ≈ Σ_j w_j e^{−λ_j t}, one Gaussian RFF structure per term with budget ε_j ∝ √w_j;
  or ``cauchy_method="mixture"``: one RFF structure with the exact scale-mixture frequencies.

Clipping (documented, public per-record maps: sensitivities are unchanged): private
coordinates are clipped to [−r, r] (ℓ2: points are projected onto the ball ‖x‖₂ ≤ r). F is the
sum over the *clipped* points; :func:`exact_sums` computes that non-private target.

Privacy: the released structure is pure ε-DP under add/remove-one-point (default) or
replace-one (``relation="replace_one"``, noise doubled); its event (:func:`privacy_event`, spec
§7) is the composition of the independent Laplace coordinates, with pure ε equal to the
user's ε. The data-independent randomness (tree layout, G, ω, β, ring boundaries) is public
and regenerated from ``public_seed``. Noise is continuous Laplace in floating point: *not*
hardened against floating-point attacks.

Mergeable: :func:`sketch` (exact, never released) over chunks with one ``public_seed``, then
:func:`merge` (addition; associative) and :func:`privatize` give the law of :func:`build`.

Modules: ``_privacy_math`` (the privacy math, below the params), ``params`` (KDEParams, the
records, ring boundaries), ``privacy`` (``privacy_event``, noise scales, events, the
brute-force sensitivity check), ``reference`` (the numpy reference: public
randomness, sketch and query maps, :func:`exact_sums`), ``mechanism`` (build, sketch, merge,
privatize, query: backend dispatch), ``_numba`` / ``_jax`` (kernels).
"""

from __future__ import annotations

from .mechanism import build, merge, privatize, query, release_noise, sketch
from .params import DISTANCES as DISTANCES  # also importable, as before (not in __all__)
from .params import KINDS, KDEParams, KDESketch, KDEStructure, PublicRandomness, ring_boundaries
from .params import MAX_FEATURES as MAX_FEATURES
from .params import MAX_LEAVES as MAX_LEAVES
from .params import Kind as Kind
from .privacy import expsum_terms, noise_scales, privacy_event
from .reference import exact_sums, public_randomness

__all__ = [
    "KDEParams",
    "KDESketch",
    "KDEStructure",
    "PublicRandomness",
    "KINDS",
    "build",
    "sketch",
    "merge",
    "privatize",
    "release_noise",
    "query",
    "exact_sums",
    "privacy_event",
    "noise_scales",
    "public_randomness",
    "expsum_terms",
    "ring_boundaries",
]
