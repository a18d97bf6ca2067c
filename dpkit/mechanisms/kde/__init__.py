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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ... import _validate as V
from ...backend import resolve
from ...errors import DPKitError
from ...random import RNGLike, as_generator, public_generator, route_backend
from .. import _dyadic
from . import privacy as P

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

KINDS = ("l1", "l2", "gaussian", "exponential", "cauchy")
DISTANCES = ("l1", "l2")
MAX_LEAVES = 2**20
MAX_FEATURES = 2**16
_CHUNK = 1 << 22  # elements per work matrix
_SQRT2 = math.sqrt(2.0)
_Z975 = 1.959963984540054  # standard-normal quantile 0.975

Kind = Literal["l1", "l2", "gaussian", "exponential", "cauchy"]


# ================================================================ parameters
#: The deprecated ``neighbour`` spelling → ``relation`` (see KDEParams).
_LEGACY_NEIGHBOUR = {"add_remove": "add_remove", "replace": "replace_one"}


@dataclass(frozen=True)
class KDEParams:
    """Parameters of a private similarity / kernel-sum structure (BLMST24; spec kde.md).

    Privacy: the structure :func:`build` releases is pure ``epsilon``-DP under add/remove one
    point (``relation="add_remove"``, default) or replace one point (``"replace_one"``); see
    :func:`privacy_event`.

    Args:
        kind: "l1" | "l2" (distance sums) | "gaussian" | "exponential" | "cauchy" (kernels).
        epsilon: ε > 0, the total pure-DP budget of the release.
        radius: r > 0; every private coordinate is clipped to [−r, r] (ℓ2: every private point
            is projected onto the ball ‖x‖₂ ≤ r). Queries are never clipped.
        bandwidth: σ > 0 for the kernels (required); must be None for distances.
        dimension: d, the number of columns of the private points (public); None: taken from
            the data at build time (then :func:`privacy_event` needs the structure's params).
        relation: "add_remove" (default) or "replace_one" (noise doubled), the one spelling
            of the neighbouring relation in dpkit.
        size_hint: a *public* guess of n; the trees have M = the smallest power of two ≥
            max(size_hint, 2) leaves (at most 2^20).
        mode: ℓ1/ℓ2 only: "exact" (prefix sums, no multiplicative error) or "ring" (BLMST24).
        alpha: ring width (1 + α) in ring mode, and the target relative error that sets the
            default ``embed_dim`` of ℓ2; in (0, 1].
        ring_rep: "low" (ring's lower distance, estimate ≤ truth) or "mid" (geometric mean).
        embed_dim: ℓ2 only: k, rows of the ℓ2→ℓ1 embedding; default ⌈(0.7555·1.96/α)²⌉.
        embed_beta: ℓ2 only: failure probability β in the embedded clip level τ.
        features: D, random Fourier features per RFF structure (kernels), 1..65536.
        jl_dim: kernels: k for a Gaussian JL map z = Gx/√k before the features; None: none.
        cauchy_method: "expsum" (spec §5.3) or "mixture" (spec §5.2 scale mixture).
        expsum_error: α of the exponential-sum approximation max_t |1/(1+t) − Σ w e^{−λt}|.
        count_fraction: kernels only: share of ε spent on a separately released noisy count
            (for normalized KDE); 0 releases none. Distance trees carry a free noisy count.
        neighbour: deprecated alias of ``relation`` (accepted silently): "add_remove" or
            "replace" (= "replace_one"). Consumed at construction (then None); read
            ``relation``.

    Raises:
        DPKitError: a parameter outside the ranges above (the message names it).

    >>> p = KDEParams("l1", epsilon=1.0, radius=1.0, dimension=2, size_hint=8)
    >>> p.leaves, p.levels
    (8, 4)
    """

    kind: str
    epsilon: float
    radius: float
    bandwidth: float | None = None
    dimension: int | None = None
    relation: str | None = None
    size_hint: int = 1024
    mode: str = "exact"
    alpha: float = 0.1
    ring_rep: str = "low"
    embed_dim: int | None = None
    embed_beta: float = 0.05
    features: int = 512
    jl_dim: int | None = None
    cauchy_method: str = "expsum"
    expsum_error: float = 1e-3
    count_fraction: float = 0.0
    neighbour: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DPKitError(f"kind must be one of {KINDS}, got {self.kind!r}")
        s = object.__setattr__
        s(self, "epsilon", V.positive(epsilon=self.epsilon))
        s(self, "radius", V.positive(radius=self.radius))
        if self.kind in DISTANCES:
            if self.bandwidth is not None:
                raise DPKitError(f"bandwidth must be None for kind={self.kind!r} (a distance), "
                                 f"got {self.bandwidth!r}")
        else:
            if self.bandwidth is None:
                raise DPKitError(f"bandwidth must be given (> 0 and finite) for kind="
                                 f"{self.kind!r}")
            s(self, "bandwidth", V.positive(bandwidth=self.bandwidth))
        if self.dimension is not None:
            s(self, "dimension", V.integer(minimum=1, dimension=self.dimension))
        s(self, "relation", V.relation(self.relation, "add_remove", alias=self.neighbour,
                                       alias_name="neighbour", alias_map=_LEGACY_NEIGHBOUR))
        s(self, "neighbour", None)  # the deprecated alias, consumed
        s(self, "size_hint", V.integer(minimum=1, maximum=MAX_LEAVES, size_hint=self.size_hint))
        if self.mode not in ("exact", "ring"):
            raise DPKitError(f"mode must be 'exact' or 'ring', got {self.mode!r}")
        s(self, "alpha", V.in_range(0.0, 1.0, low_open=True, alpha=self.alpha))
        if self.ring_rep not in ("low", "mid"):
            raise DPKitError(f"ring_rep must be 'low' or 'mid', got {self.ring_rep!r}")
        if self.embed_dim is not None:
            s(self, "embed_dim", V.integer(minimum=1, maximum=4096, embed_dim=self.embed_dim))
        s(self, "embed_beta", V.in_range(0.0, 1.0, low_open=True, high_open=True,
                                         embed_beta=self.embed_beta))
        s(self, "features", V.integer(minimum=1, maximum=MAX_FEATURES, features=self.features))
        if self.jl_dim is not None:
            s(self, "jl_dim", V.integer(minimum=1, maximum=4096, jl_dim=self.jl_dim))
        if self.cauchy_method not in ("expsum", "mixture"):
            raise DPKitError(f"cauchy_method must be 'expsum' or 'mixture', got "
                             f"{self.cauchy_method!r}")
        s(self, "expsum_error", V.in_range(1e-8, 0.5, expsum_error=self.expsum_error))
        cf = V.in_range(0.0, 1.0, high_open=True, count_fraction=self.count_fraction)
        if cf > 0 and self.kind in DISTANCES:
            raise DPKitError("count_fraction must be 0 for distance kinds (their trees carry "
                             f"a noisy count at no extra cost), got {cf!r}")
        s(self, "count_fraction", cf)

    # ---- derived public quantities
    @property
    def leaves(self) -> int:
        """M, the number of tree leaves (a power of two)."""
        return 1 << max(1, _dyadic.ceil_log2(max(self.size_hint, 2)))

    @property
    def levels(self) -> int:
        """L = log2(M) + 1 nodes per tree touched by each point."""
        return _dyadic.levels(self.leaves)

    @property
    def k_embed(self) -> int:
        """ℓ2: the embedding dimension k."""
        if self.embed_dim is not None:
            return self.embed_dim
        return max(1, math.ceil((math.sqrt(math.pi / 2 - 1) * _Z975 / self.alpha) ** 2))

    @property
    def tree_halfwidth(self) -> float:
        """Half-width of the trees' interval: r (ℓ1) or τ·r (ℓ2, τ = √(2 ln(2k·n/β)))."""
        if self.kind == "l1":
            return self.radius
        tau = math.sqrt(2.0 * math.log(2.0 * self.k_embed * self.size_hint / self.embed_beta))
        return tau * self.radius

    @property
    def cell_width(self) -> float:
        """ρ = 2·halfwidth / M."""
        return 2.0 * self.tree_halfwidth / self.leaves

    def tree_dims(self, dimension: int | None = None) -> int:
        """Number of trees (ℓ1: d; ℓ2: k)."""
        if self.kind == "l2":
            return self.k_embed
        d = self.dimension if dimension is None else dimension
        if d is None:
            raise DPKitError("dimension must be given (params.dimension or the data) for the "
                             "l1 privacy statement")
        return int(d)

    def privacy_event(self, dimension: int | None = None) -> Any:
        """Same as :func:`privacy_event` (params, dimension)."""
        return privacy_event(self, dimension)


def _check_params(params: Any) -> KDEParams:
    if not isinstance(params, KDEParams):
        raise DPKitError(f"params must be a KDEParams, got {type(params).__name__}")
    return params


# ================================================================ public randomness
@dataclass(frozen=True)
class PublicRandomness:
    """Data-independent randomness of a structure (public; regenerated from the seed).

    projection: ℓ2 embedding G (k×d, N(0,1)) or the kernels' JL map G/√k, or None.
    freqs: (J, D, k') RFF frequencies; phases: (J, D) uniform on [0, 2π); weights: (J,) term
    weights (1 for a single structure); lambdas: (J,) the exponential-sum rates (cauchy).
    """

    projection: np.ndarray | None = None
    freqs: np.ndarray | None = None
    phases: np.ndarray | None = None
    weights: np.ndarray | None = None
    lambdas: np.ndarray | None = None


def expsum_terms(error: float = 1e-3, step: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Weights w_j and rates λ_j with max_{t≥0} |1/(1+t) − Σ_j w_j e^{−λ_j t}| ≲ ``error``.

    Spec §5.3: 1/(1+t) = ∫_R exp(u − e^u(1+t)) du; trapezoid rule with step h on
    [ln(α/2), ln ln(2/α)]: u_j = u_min + j·h, w_j = h·exp(u_j − e^{u_j}), λ_j = e^{u_j}. Both
    tails are ≤ α/2. All weights are positive. (dpkit's construction, not necessarily the
    paper's; checked on a dense grid in the tests.)
    """
    a = V.in_range(1e-12, 0.5, error=error)
    h = V.positive(step=step)
    u_min, u_max = math.log(a / 2.0), math.log(math.log(2.0 / a))
    u = u_min + h * np.arange(int(math.floor((u_max - u_min) / h)) + 1)
    return h * np.exp(u - np.exp(u)), np.exp(u)


def public_randomness(params: KDEParams, dimension: int, public_seed: int) -> PublicRandomness:
    """The public randomness of a structure from ``public_seed`` (deterministic)."""
    p = _check_params(params)
    d = V.integer(minimum=1, dimension=dimension)
    g = np.random.default_rng(V.integer(minimum=0, public_seed=public_seed))
    if p.kind == "l1":
        return PublicRandomness()
    if p.kind == "l2":
        return PublicRandomness(projection=g.standard_normal((p.k_embed, d)))
    proj = None
    k = d
    if p.jl_dim is not None:
        k = p.jl_dim
        proj = g.standard_normal((k, d)) / math.sqrt(k)
    D, s = p.features, float(p.bandwidth)  # type: ignore[arg-type]
    if p.kind == "gaussian":
        freqs = (g.standard_normal((1, D, k)) * (_SQRT2 / s))
        w, lam = np.ones(1), np.ones(1)
    elif p.kind == "exponential":  # multivariate Cauchy: g / (σ |t|)
        t = np.abs(g.standard_normal((1, D, 1)))
        freqs = g.standard_normal((1, D, k)) / (s * t)
        w, lam = np.ones(1), np.ones(1)
    elif p.cauchy_method == "mixture":  # s ~ Exp(1), ω ~ N(0, 2s/σ²)
        mix = g.exponential(1.0, (1, D, 1))
        freqs = g.standard_normal((1, D, k)) * np.sqrt(2.0 * mix) / s
        w, lam = np.ones(1), np.ones(1)
    else:  # expsum: term j is the Gaussian kernel with bandwidth σ/√λ_j
        w, lam = expsum_terms(p.expsum_error)
        freqs = g.standard_normal((w.size, D, k)) * (_SQRT2 * np.sqrt(lam)[:, None, None] / s)
    phases = g.uniform(0.0, 2.0 * math.pi, freqs.shape[:2])
    return PublicRandomness(projection=proj, freqs=freqs, phases=phases, weights=w, lambdas=lam)


# ================================================================ noise scales and privacy
def noise_scales(params: KDEParams, dimension: int | None = None) -> dict[str, Any]:
    """The Laplace scales of each released part (spec §3.1, §3.2, §5.2, §5.3).

    Trees (f = 1 add/remove, 2 replace; m = d·L touched nodes per tree family):
    exact mode b_c = 2f·m/ε, b_s = 2f·m·u_max/ε (u_max = halfwidth − ρ/2), so that
    m·(f/b_c + f·u_max/b_s) = ε; ring mode b_c = f·m/ε. RFF: ε' = ε(1 − count_fraction),
    b_j = f√2·D/ε_j with ε_j ∝ √w_j summing to ε' (one term: ε_1 = ε'); count: b_n =
    f/(count_fraction·ε).
    """
    p = _check_params(params)
    f = P.neighbour_factor(p.relation)
    if p.kind in DISTANCES:
        m = p.tree_dims(dimension) * p.levels
        u_max = p.tree_halfwidth - p.cell_width / 2.0
        if p.mode == "exact":
            return {"count": 2.0 * f * m / p.epsilon, "sum": 2.0 * f * m * u_max / p.epsilon,
                    "sum_sensitivity": u_max}
        return {"count": f * m / p.epsilon, "sum": None, "sum_sensitivity": u_max}
    eps_k = p.epsilon * (1.0 - p.count_fraction)
    if p.kind == "cauchy" and p.cauchy_method == "expsum":
        w, _ = expsum_terms(p.expsum_error)
        share = np.sqrt(w) / np.sum(np.sqrt(w))
    else:
        share = np.ones(1)
    rff = f * _SQRT2 * p.features / (eps_k * share)
    cnt = f / (p.count_fraction * p.epsilon) if p.count_fraction > 0 else None
    return {"rff": rff, "n": cnt}


def privacy_event(params: KDEParams, dimension: int | None = None) -> Any:
    """The privacy event of one release of the structure (spec §7).

    Privacy statement: pure ε-DP (ε = ``params.epsilon``) under ``params.relation``
    (add/remove one point, or replace one point). Trees:
    ``Composed([Repeated(Laplace(b_c/f), d·L), Repeated(Laplace(b_s/(f·u_max)), d·L)])`` —
    each point touches one node per level (L nodes) in each of the d count trees (sensitivity
    1) and d sum trees (sensitivity u_max = halfwidth − ρ/2, the largest |centred midpoint|).
    RFF: ``Repeated(Laplace(b_j/(f√2)), D)`` per term (|√2 cos| ≤ √2), composed over the J
    terms, plus ``Laplace(b_n/f)`` for the optional count. BLMST24 state pure ε-DP.

    Args:
        params: a :class:`KDEParams`.
        dimension: d for ℓ1 when ``params.dimension`` is None.

    >>> ev = privacy_event(KDEParams("l1", 1.0, 1.0, dimension=3, size_hint=16))
    >>> round(ev.epsilon_inf(), 12)
    1.0
    """
    p = _check_params(params)
    sc = noise_scales(p, dimension)
    if p.kind in DISTANCES:
        return P.tree_event(p.tree_dims(dimension), p.levels, sc["count"], sc["sum"],
                            sc["sum_sensitivity"], p.relation)
    ev = P.rff_event(p.features, sc["rff"], p.relation)
    if sc["n"] is not None:
        from ...accounting.events import Composed

        ev = Composed((*ev.events, P.count_event(sc["n"], p.relation)))
    return ev


# ================================================================ inputs
def _points(params: KDEParams, x: Any, name: str = "private_points") -> np.ndarray:
    arr = V.finite_array(**{name: x})
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise DPKitError(f"{name} must be a 2-D array (n, d), got shape {arr.shape}")
    if params.dimension is not None and arr.shape[1] != params.dimension:
        raise DPKitError(f"{name} must have dimension={params.dimension} columns, got "
                         f"{arr.shape[1]}")
    return arr


def _clip_private(params: KDEParams, x: np.ndarray) -> np.ndarray:
    """The documented clipping: coordinates to [−r, r] (ℓ2: projection onto the r-ball)."""
    r = params.radius
    if params.kind == "l2":
        # scaled norm: ‖x‖ = s·‖x/s‖ with s = max|x_i| never overflows (a plain norm of a
        # finite point with coordinates ~1e200 is inf and would map the point to 0)
        big = np.max(np.abs(x), axis=1, keepdims=True)
        safe = np.where(big > 0, big, 1.0)
        norms = safe * np.linalg.norm(x / safe, axis=1, keepdims=True)
        return x * np.minimum(1.0, r / np.maximum(norms, 1e-300))
    return np.clip(x, -r, r)


def _tree_coords(params: KDEParams, x: np.ndarray, pub: PublicRandomness) -> np.ndarray:
    """Per-tree coordinates of clipped private points (ℓ2: embedded and clipped to ±τr)."""
    if params.kind == "l2":
        z = x @ pub.projection.T  # type: ignore[union-attr]
        hw = params.tree_halfwidth
        return np.clip(z, -hw, hw)
    return x


def _cells(params: KDEParams, v: np.ndarray) -> np.ndarray:
    """cell(v) = min(M − 1, ⌊(v + hw)/ρ⌋) for v in [−hw, hw]."""
    m = params.leaves
    c = np.floor((v + params.tree_halfwidth) / params.cell_width)
    return np.clip(c, 0, m - 1).astype(np.int64)


def _tree_from_leaves(leaf: np.ndarray) -> np.ndarray:
    """(dims, M) leaf values → (dims, 2M − 1) heap-ordered tree (root at 0, level t at 2^t−1)."""
    dims, m = leaf.shape
    out = np.empty((dims, 2 * m - 1))
    out[:, m - 1:] = leaf
    width = m
    while width > 1:
        start = width - 1
        half = width // 2
        out[:, half - 1:start] = out[:, start:start + width:2] + out[:, start + 1:start + width:2]
        width = half
    return out


def _midpoints(params: KDEParams) -> np.ndarray:
    """Centred cell midpoints u_c = −hw + (c + ½)ρ."""
    return -params.tree_halfwidth + (np.arange(params.leaves) + 0.5) * params.cell_width


# ================================================================ exact sketch (mergeable)
@dataclass(frozen=True)
class KDESketch:
    """The exact (non-private, never released) sketch of a chunk of points; mergeable.

    ``counts``/``sums``: (trees, 2M − 1) heap-ordered trees (distances); ``rff``: (J, D)
    feature sums (kernels); ``n``: the exact number of points. Merge by :func:`merge`.

    Validated on construction (a hand-built sketch must be one :func:`sketch` could return):
    params a :class:`KDEParams`, dimension ≥ 1 (equal to ``params.dimension`` when set),
    public_seed and n integers ≥ 0, and exactly the parts of the params' kind, finite, of
    shape (trees, 2M − 1) (``sums`` only in exact mode) or (J, features).

    Raises:
        DPKitError: any of the above violated, naming the field.
    """

    params: KDEParams
    dimension: int
    public_seed: int
    n: int
    counts: np.ndarray | None = None
    sums: np.ndarray | None = None
    rff: np.ndarray | None = None

    def __post_init__(self) -> None:
        p = _check_params(self.params)
        d = V.integer(minimum=1, dimension=self.dimension)
        if p.dimension is not None and d != p.dimension:
            raise DPKitError(f"dimension must equal params.dimension = {p.dimension}, got {d}")
        object.__setattr__(self, "dimension", d)
        object.__setattr__(self, "public_seed", V.integer(minimum=0, public_seed=self.public_seed))
        object.__setattr__(self, "n", V.integer(minimum=0, n=self.n))
        if p.kind in DISTANCES:
            shape = (d if p.kind == "l1" else p.k_embed, 2 * p.leaves - 1)
            want = {"counts": shape, "sums": shape if p.mode == "exact" else None, "rff": None}
        else:
            want = {"counts": None, "sums": None, "rff": (None, p.features)}
        for name, shape_ in want.items():
            value = getattr(self, name)
            if shape_ is None:
                if value is not None:
                    raise DPKitError(f"{name} must be None for kind={p.kind!r}, mode={p.mode!r}")
                continue
            arr = V.finite_array(**{name: value})
            if arr.ndim != 2 or any(w is not None and w != g
                                    for w, g in zip(shape_, arr.shape, strict=True)):
                raise DPKitError(f"{name} must have shape {shape_} for these params, got "
                                 f"{arr.shape}")


def _leaf_hist_numpy(cells: np.ndarray, m: int) -> np.ndarray:
    n, dims = cells.shape
    flat = (cells + (np.arange(dims) * m)[None, :]).reshape(-1)
    return np.bincount(flat, minlength=dims * m).astype(np.float64).reshape(dims, m)


def _rff_sums_numpy(z: np.ndarray, freqs: np.ndarray, phases: np.ndarray) -> np.ndarray:
    """S_jl = Σ_x √2 cos(ω_jl·z_x + β_jl), chunked over points."""
    J, D, _ = freqs.shape
    out = np.zeros((J, D))
    step = max(1, _CHUNK // max(1, D))
    for j in range(J):
        for a in range(0, z.shape[0], step):
            arg = z[a:a + step] @ freqs[j].T + phases[j][None, :]
            out[j] += _SQRT2 * np.cos(arg).sum(axis=0)
    return out


def _rff_sums_fast(z: np.ndarray, freqs: np.ndarray, phases: np.ndarray) -> np.ndarray:
    """The CPU fast path of the RFF sums (``backend="numba"``): float32 BLAS arguments and
    numpy's SIMD float32 cosine (~30× the float64 scalar cosine), float64 accumulation.

    |√2 cos| ≤ √2 holds in float32 too, so the sensitivity (and privacy) is unchanged; the
    sums differ from the float64 reference by ≲ 1e-6·n (far below the noise √2·D/ε).
    """
    J, D, _ = freqs.shape
    out = np.zeros((J, D))
    f32 = freqs.astype(np.float32)
    ph32 = phases.astype(np.float32)
    step = max(1, (1 << 20) // max(1, D))
    z32 = z.astype(np.float32)
    for j in range(J):
        for a in range(0, z.shape[0], step):
            arg = z32[a:a + step] @ f32[j].T
            arg += ph32[j][None, :]
            np.cos(arg, out=arg)
            out[j] += arg.sum(axis=0, dtype=np.float64)
    return _SQRT2 * out


def sketch(params: KDEParams, private_points: Any, public_seed: int, *,
           backend: str = "auto") -> KDESketch:
    """The exact sketch of a chunk of private points (not private; never release it).

    Clips as documented (module docstring), then: trees of counts and of centred cell
    midpoints per (embedded) coordinate (distances), or RFF sums (kernels). Chunks sketched
    with the same params and ``public_seed`` merge exactly with :func:`merge`.

    Args:
        params: a :class:`KDEParams`.
        private_points: (n, d) finite array (1-D: d = 1). NaN/inf refused.
        public_seed: int ≥ 0, the seed of the public randomness.
        backend: "auto" | "numpy" | "numba" | "jax".

    Raises:
        DPKitError: bad params, NaN/inf or wrongly shaped points, bad backend.
    """
    p = _check_params(params)
    x = _clip_private(p, _points(p, private_points))
    d = x.shape[1]
    seed = V.integer(minimum=0, public_seed=public_seed)
    pub = public_randomness(p, d, seed)
    which = resolve(backend, private_points)
    if p.kind in DISTANCES:
        cells = _cells(p, _tree_coords(p, x, pub))
        if which == "numba":
            from ._numba import leaf_histograms

            leaf = leaf_histograms(np.ascontiguousarray(cells), p.leaves)
        elif which == "jax":
            from ._jax import leaf_histograms_jax

            leaf = leaf_histograms_jax(cells, p.leaves)
        else:
            leaf = _leaf_hist_numpy(cells, p.leaves)
        counts = _tree_from_leaves(leaf)
        sums = _tree_from_leaves(leaf * _midpoints(p)[None, :]) if p.mode == "exact" else None
        return KDESketch(p, d, seed, x.shape[0], counts=counts, sums=sums)
    z = x if pub.projection is None else x @ pub.projection.T
    if which == "numba":
        rff = _rff_sums_fast(z, pub.freqs, pub.phases)  # type: ignore[arg-type]
    elif which == "jax":
        from ._jax import rff_sums_jax

        rff = rff_sums_jax(z, pub.freqs, pub.phases)
    else:
        rff = _rff_sums_numpy(z, pub.freqs, pub.phases)  # type: ignore[arg-type]
    return KDESketch(p, d, seed, x.shape[0], rff=rff)


def merge(a: KDESketch, b: KDESketch) -> KDESketch:
    """Sum of two exact sketches (associative, commutative): the sketch of the union.

    Raises:
        DPKitError: sketches with different params, dimension or public seed.
    """
    for s in (a, b):
        if not isinstance(s, KDESketch):
            raise DPKitError(f"merge takes KDESketch objects, got {type(s).__name__}")
    if a.params != b.params or a.dimension != b.dimension or a.public_seed != b.public_seed:
        raise DPKitError("merge needs sketches with equal params, dimension and public_seed")

    def add(u: np.ndarray | None, v: np.ndarray | None) -> np.ndarray | None:
        return None if u is None else u + v  # type: ignore[operator]

    return KDESketch(a.params, a.dimension, a.public_seed, a.n + b.n, add(a.counts, b.counts),
                     add(a.sums, b.sums), add(a.rff, b.rff))


# ================================================================ release
@dataclass(frozen=True)
class KDEStructure:
    """A released (noisy) structure: pure ε-DP; every :func:`query` is post-processing.

    Attributes: params (with ``dimension`` filled in), public_seed, the noisy parts
    (``counts``/``sums`` trees or ``rff`` sums), ``count`` (a noisy n, or None), ``scales``
    (the Laplace scales used), ``event`` (the privacy event of this release), and the public
    randomness ``public`` regenerated from the seed.
    """

    params: KDEParams
    public_seed: int
    counts: np.ndarray | None
    sums: np.ndarray | None
    rff: np.ndarray | None
    count: float | None
    scales: dict[str, Any]
    event: Any
    public: PublicRandomness = field(repr=False, compare=False,
                                     default_factory=PublicRandomness)

    @property
    def dimension(self) -> int:
        """d, the data dimension."""
        return int(self.params.dimension)  # type: ignore[arg-type]


_MAX_NOISE_DRAWS = 2**32


def release_noise(sk: KDESketch, rng: RNGLike, releases: int | None = None
                  ) -> dict[str, np.ndarray | None]:
    """The Laplace noise of ``releases`` independent releases of ``sk`` (None: one release).

    Returns arrays shaped like the sketch's parts (with a leading ``releases`` axis if given):
    ``counts``, ``sums``, ``rff``, ``n``. :func:`privatize` adds one draw of this to the sketch;
    audits use the batched form to simulate many releases at once.
    """
    if not isinstance(sk, KDESketch):
        raise DPKitError(f"sketch must be a KDESketch, got {type(sk).__name__}")
    gen = as_generator(rng)
    sc = noise_scales(sk.params, sk.dimension)
    lead: tuple[int, ...] = () if releases is None else (V.integer(minimum=1,
                                                                   releases=releases),)
    size = max((a.size for a in (sk.counts, sk.sums, sk.rff) if a is not None), default=1)
    if math.prod(lead) * size > _MAX_NOISE_DRAWS:
        raise DPKitError(f"releases * (size of the sketch) must be <= 2**32 noise draws, got "
                         f"releases={releases!r} for parts of {size} numbers")
    out: dict[str, np.ndarray | None] = {"counts": None, "sums": None, "rff": None, "n": None}
    if sk.counts is not None:
        out["counts"] = gen.laplace(0.0, sc["count"], lead + sk.counts.shape)
    if sk.sums is not None:
        out["sums"] = gen.laplace(0.0, sc["sum"], lead + sk.sums.shape)
    if sk.rff is not None:
        out["rff"] = gen.laplace(0.0, 1.0, lead + sk.rff.shape) * sc["rff"][:, None]
        if sc["n"] is not None:
            out["n"] = np.asarray(gen.laplace(0.0, sc["n"], lead))
    return out


def privatize(sk: KDESketch, rng: RNGLike) -> KDEStructure:
    """Release an exact sketch once with Laplace noise (spec §2.1, §5.2): pure ε-DP.

    Privacy: as :func:`build` (this is its release step). Not hardened against floating-point
    attacks.
    """
    noise = release_noise(sk, rng)
    return _assemble(sk, noise)


def _assemble(sk: KDESketch, noise: dict[str, Any]) -> KDEStructure:
    p = sk.params if sk.params.dimension is not None else _with_dimension(sk.params,
                                                                          sk.dimension)
    sc = noise_scales(p)
    counts = sums = rff = None
    count: float | None = None
    if sk.counts is not None:
        counts = sk.counts + noise["counts"]
        count = float(counts[:, 0].mean())  # mean of the d noisy root counts
        if sk.sums is not None:
            sums = sk.sums + noise["sums"]
    if sk.rff is not None:
        rff = sk.rff + noise["rff"]
        if noise["n"] is not None:
            count = float(sk.n + noise["n"])
    return KDEStructure(p, sk.public_seed, counts, sums, rff, count, sc, privacy_event(p),
                        public_randomness(p, sk.dimension, sk.public_seed))


def _with_dimension(p: KDEParams, d: int) -> KDEParams:
    from dataclasses import replace

    return replace(p, dimension=d)


def build(params: KDEParams, private_points: Any, rng: Any, *,
          backend: str = "auto") -> KDEStructure:
    """Build and release the private structure of ``private_points`` (BLMST24).

    Definition: the public seed is drawn from :func:`dpkit.random.public_generator` of ``rng``
    (a generator separate from the one that draws the noise); then :func:`sketch` (clip as
    documented; trees per coordinate or RFF sums) and :func:`privatize` (independent Laplace
    noise on every released number, scales :func:`noise_scales`).

    Privacy: pure ε-DP (ε = ``params.epsilon``) under ``params.relation`` (add/remove one point
    by default; replace one point); event ``structure.event`` = :func:`privacy_event`. Queries
    are post-processing. Not hardened against floating-point attacks. Backurs, Lin, Mahabadi,
    Silwal, Tarnawski, ICLR 2024 (arXiv:2403.08917).

    Args:
        params: a :class:`KDEParams`.
        private_points: (n, d) finite array (a 1-D array is one column). Coordinates outside
            [−r, r] are clipped (ℓ2: points projected onto the r-ball); NaN/inf refused.
        rng: None, an int seed, a numpy Generator or SecureGenerator; a JAX PRNG key with
            ``backend="jax"``. With a SecureGenerator (the hardened tier) all noise is drawn
            on the host from the OS CSPRNG (the numba sketch kernel draws nothing); "jax"
            is refused.
        backend: "auto" (numba when installed; JAX for JAX arrays), "numpy", "numba", "jax".

    Returns:
        A :class:`KDEStructure`.

    Raises:
        DPKitError: bad params, points (NaN/inf, shape) or backend.

    >>> p = KDEParams("l1", epsilon=1.0, radius=1.0, size_hint=64)
    >>> s = build(p, np.zeros((1000, 2)), rng=0, backend="numpy")
    >>> bool(abs(query(s, np.ones((1, 2)))[0] - 2000.0) < 500.0)
    True
    """
    p = _check_params(params)
    which = route_backend(backend, private_points, rng, kernel_draws=False)
    if which == "jax":
        from ._jax import build_jax

        return build_jax(p, private_points, rng)
    gen = as_generator(rng)
    seed = int(public_generator(gen).integers(0, 2**63))  # published: not the noise stream
    sk = sketch(p, private_points, seed, backend=which)
    return privatize(sk, gen)


# ================================================================ queries
def ring_boundaries(alpha: float, leaves: int) -> np.ndarray:
    """B_0 = 1, B_{j+1} = max(B_j + 1, ⌈B_j(1 + α)⌉), until B_J ≥ M (spec §3.1).

    Raises:
        DPKitError: α not in (0, 1] or M (``leaves``) not an integer in [1, 2^20].
    """
    alpha = V.in_range(0.0, 1.0, low_open=True, alpha=alpha)
    leaves = V.integer(minimum=1, maximum=2**20, leaves=leaves)
    b = [1]
    while b[-1] < leaves:
        b.append(max(b[-1] + 1, math.ceil(b[-1] * (1.0 + alpha))))
    return np.asarray(b, dtype=np.int64)


def _prefix(tree: np.ndarray, c: np.ndarray, m: int) -> np.ndarray:
    """Noisy prefix P(c) = value of cells < c from at most log2 M nodes; c (Q, dims) in [0, M]."""
    h = _dyadic.levels(m) - 1
    cols = np.arange(tree.shape[0])[None, :]
    out = np.zeros(c.shape)
    inner = c < m
    for t in range(1, h + 1):
        k = c >> (h - t)
        use = inner & ((k & 1) == 1)
        idx = (1 << t) - 1 + np.maximum(k - 1, 0)
        out += np.where(use, tree[cols, np.minimum(idx, 2 * m - 2)], 0.0)
    return np.where(inner, out, tree[:, 0][None, :])


def _tree_query_numpy(s: KDEStructure, v: np.ndarray) -> np.ndarray:
    """Σ over trees of the 1-D estimates at coordinates v (Q, dims)."""
    p = s.params
    m, hw, rho = p.leaves, p.tree_halfwidth, p.cell_width
    counts = s.counts
    if p.mode == "exact":
        c = np.clip(np.floor((np.clip(v, -2 * hw, 2 * hw) + hw) / rho), 0, m).astype(np.int64)
        c_lt, s_lt = _prefix(counts, c, m), _prefix(s.sums, c, m)  # type: ignore[arg-type]
        c_tot, s_tot = counts[:, 0][None, :], s.sums[:, 0][None, :]  # type: ignore[index]
        est = v * (2.0 * c_lt - c_tot) + (s_tot - 2.0 * s_lt)
        return est.sum(axis=1)
    vc = np.clip(v, -hw, hw)
    cq = np.clip(np.floor((vc + hw) / rho), 0, m - 1).astype(np.int64)
    bnd = ring_boundaries(p.alpha, m)
    est = counts[:, 0][None, :] * np.abs(v - vc)
    for j in range(bnd.size - 1):
        lo, hi = int(bnd[j]), int(bnd[j + 1])
        rep = rho * (lo if p.ring_rep == "low" else math.sqrt(lo * hi))
        right = _prefix(counts, np.minimum(cq + hi, m), m) - _prefix(counts,
                                                                     np.minimum(cq + lo, m), m)
        left = (_prefix(counts, np.clip(cq - lo + 1, 0, m), m)
                - _prefix(counts, np.clip(cq - hi + 1, 0, m), m))
        est = est + rep * (left + right)
    return est.sum(axis=1)


def _rff_query_numpy(s: KDEStructure, y: np.ndarray) -> np.ndarray:
    pub = s.public
    z = y if pub.projection is None else y @ pub.projection.T
    J, D, _ = pub.freqs.shape  # type: ignore[union-attr]
    out = np.zeros(z.shape[0])
    step = max(1, _CHUNK // D)
    for j in range(J):
        coef = pub.weights[j] * _SQRT2 / D  # type: ignore[index]
        for a in range(0, z.shape[0], step):
            arg = z[a:a + step] @ pub.freqs[j].T + pub.phases[j][None, :]  # type: ignore[index]
            out[a:a + step] += coef * (np.cos(arg) @ s.rff[j])  # type: ignore[index]
    return out


def query(structure: KDEStructure, queries: Any, *, normalize: bool = False,
          backend: str = "auto") -> Any:
    """Estimates of F(y) = Σ_{x∈X} f(x, y) (over the clipped private points) for each query.

    Definition: ℓ1 exact mode Σ_i [w_i(2C_<(c_i) − C) + (S − 2S_<(c_i))] from noisy prefix
    counts/sums (spec §3.2); ring mode Σ_rings ρB_j·(noisy ring counts) (spec §3.1); ℓ2 the ℓ1
    answer on Gy divided by k√(2/π) (spec §4); kernels Σ_j w_j⟨S̃_j, φ_j(y)⟩/D (spec §5).
    ``normalize=True`` divides by the structure's noisy count (floored at 1) for a KDE.

    Privacy: post-processing of the released structure; any number of queries is free.

    Args:
        structure: a :class:`KDEStructure` from :func:`build`.
        queries: (Q, d) finite array (1-D: Q queries in d = 1, if d = 1; else one query).
        normalize: divide by the noisy count (needs a count: kernels need count_fraction > 0).
        backend: "auto" | "numpy" | "numba" | "jax" (a JAX array selects JAX under "auto").

    Returns:
        (Q,) float array (a JAX array for the JAX backend).

    Raises:
        DPKitError: bad structure, NaN/inf or wrongly shaped queries, no count to normalize.
    """
    if not isinstance(structure, KDEStructure):
        raise DPKitError(f"structure must be a KDEStructure, got {type(structure).__name__}")
    s = structure
    which = resolve(backend, queries)
    if which == "jax":
        from ._jax import query_jax

        out = query_jax(s, queries)
    else:
        y = V.finite_array(queries=np.asarray(queries))
        d = s.dimension
        if y.ndim == 1:
            y = y.reshape(-1, 1) if d == 1 else y.reshape(1, -1)
        if y.ndim != 2 or y.shape[1] != d:
            raise DPKitError(f"queries must have shape (Q, {d}), got {np.shape(queries)}")
        out = _query_host(s, y, which)
    if normalize:
        if s.count is None:
            raise DPKitError("normalize=True needs a released count (count_fraction > 0)")
        out = out / max(1.0, s.count)
    return out


def _query_host(s: KDEStructure, y: np.ndarray, which: str) -> np.ndarray:
    p = s.params
    if p.kind in DISTANCES:
        v = y if p.kind == "l1" else y @ s.public.projection.T  # type: ignore[union-attr]
        if which == "numba" and p.mode == "exact":
            from ._numba import tree_query_exact

            est = tree_query_exact(s.counts, s.sums, np.ascontiguousarray(v), p.leaves,
                                   p.tree_halfwidth, p.cell_width)
        else:
            est = _tree_query_numpy(s, v)
        if p.kind == "l2":
            est = est / (p.k_embed * math.sqrt(2.0 / math.pi))
        return est
    if which == "numba":
        from ._numba import rff_query

        pub = s.public
        z = y if pub.projection is None else y @ pub.projection.T
        return rff_query(np.ascontiguousarray(z), pub.freqs, pub.phases, pub.weights, s.rff)
    return _rff_query_numpy(s, y)


# ================================================================ non-private target
def exact_sums(params: KDEParams, private_points: Any, queries: Any) -> np.ndarray:
    """The exact, non-private F(y) = Σ_x f(x, y) over the *clipped* private points (baseline).

    Not private: for tests and benchmarks. Chunked, O(n·Q·d) time.

    Raises:
        DPKitError: bad params, NaN/inf or wrongly shaped points or queries.
    """
    p = _check_params(params)
    x = _clip_private(p, _points(p, private_points))
    y = V.finite_array(queries=queries)
    if y.ndim == 1:
        y = y.reshape(-1, 1) if x.shape[1] == 1 else y.reshape(1, -1)
    if y.ndim != 2 or y.shape[1] != x.shape[1]:
        raise DPKitError(f"queries must have shape (Q, {x.shape[1]}) like the points, got "
                         f"{np.shape(queries)}")
    out = np.empty(y.shape[0])
    step = max(1, _CHUNK // max(1, x.shape[0] * (x.shape[1] if p.kind == "l1" else 1)))
    xx = np.sum(x * x, axis=1)[None, :]
    for a in range(0, y.shape[0], step):
        yb = y[a:a + step]
        if p.kind == "l1":
            out[a:a + step] = np.abs(yb[:, None, :] - x[None, :, :]).sum(axis=(1, 2))
            continue
        sq = np.maximum(np.sum(yb * yb, axis=1)[:, None] + xx - 2.0 * yb @ x.T, 0.0)
        if p.kind == "l2":
            val = np.sqrt(sq)
        elif p.kind == "gaussian":
            val = np.exp(-sq / p.bandwidth**2)  # type: ignore[operator]
        elif p.kind == "exponential":
            val = np.exp(-np.sqrt(sq) / p.bandwidth)  # type: ignore[operator]
        else:
            val = 1.0 / (1.0 + sq / p.bandwidth**2)  # type: ignore[operator]
        out[a:a + step] = val.sum(axis=1)
    return out
