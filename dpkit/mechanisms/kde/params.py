"""Parameters and records of the KDE / similarity-query structures (spec kde.md).

:class:`KDEParams` (frozen, validated here once), the records a build produces
(:class:`PublicRandomness`, :class:`KDESketch`, :class:`KDEStructure`) and the public structure
maths that depends on the params alone (tree size, cell width, ring boundaries).

The privacy statement of a params object is :meth:`KDEParams.privacy_event` (the same as
:func:`dpkit.mechanisms.kde.privacy.privacy_event`), computed by the private ``_privacy_math``
below this module (which works on plain numbers and on any object shaped like the params, so
that this module may call it without an import cycle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np

from ... import _validate as V
from ...errors import DPKitError
from .. import _dyadic
from ._privacy_math import NoiseScales, structure_event

if TYPE_CHECKING:
    from ...accounting.events import Event

__all__ = ["KDEParams", "KDESketch", "KDEStructure", "PublicRandomness", "KINDS",
           "ring_boundaries"]

#: The kinds of structure: distance sums ("l1", "l2") and kernel sums.
KINDS = ("l1", "l2", "gaussian", "exponential", "cauchy")
#: The distance kinds (dyadic trees); the others are kernels (random Fourier features).
DISTANCES = ("l1", "l2")
MAX_LEAVES = 2**20
MAX_FEATURES = 2**16
_Z975 = 1.959963984540054  # standard-normal quantile 0.975

Kind = Literal["l1", "l2", "gaussian", "exponential", "cauchy"]

#: The deprecated ``neighbour`` spelling → ``relation`` (see KDEParams).
_LEGACY_NEIGHBOUR = {"add_remove": "add_remove", "replace": "replace_one"}


@dataclass(frozen=True)
class KDEParams:
    """Parameters of a private similarity / kernel-sum structure (BLMST24; spec kde.md).

    Privacy: the structure :func:`~dpkit.mechanisms.kde.build` releases is pure
    ``epsilon``-DP under add/remove one point (``relation="add_remove"``, default) or replace
    one point (``"replace_one"``); see :meth:`privacy_event`.

    Args:
        kind: "l1" | "l2" (distance sums) | "gaussian" | "exponential" | "cauchy" (kernels).
        epsilon: ε > 0, the total pure-DP budget of the release.
        radius: r > 0; every private coordinate is clipped to [−r, r] (ℓ2: every private point
            is projected onto the ball ‖x‖₂ ≤ r). Queries are never clipped.
        bandwidth: σ > 0 for the kernels (required); must be None for distances.
        dimension: d, the number of columns of the private points (public); None: taken from
            the data at build time (then :meth:`privacy_event` needs the structure's params).
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
    relation: str = "add_remove"
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

    def privacy_event(self, dimension: int | None = None) -> Event:
        """Same as :func:`dpkit.mechanisms.kde.privacy_event` (params, dimension)."""
        return structure_event(self, dimension)


def check_params(params: object) -> KDEParams:
    """``params`` if it is a :class:`KDEParams`, else a :class:`DPKitError` naming it."""
    if not isinstance(params, KDEParams):
        raise DPKitError(f"params must be a KDEParams, got {type(params).__name__}")
    return params



def kernel_bandwidth(params: KDEParams) -> float:
    """σ of a kernel kind (validated present at construction; refused for distances)."""
    if params.bandwidth is None:
        raise DPKitError(f"kind={params.kind!r} (a distance) has no bandwidth")
    return params.bandwidth


def with_dimension(params: KDEParams, dimension: int) -> KDEParams:
    """``params`` with ``dimension`` filled in from the data when it was None."""
    return params if params.dimension is not None else replace(params, dimension=dimension)


def ring_boundaries(alpha: float, leaves: int) -> np.ndarray:
    """B_0 = 1, B_{j+1} = max(B_j + 1, ⌈B_j(1 + α)⌉), until B_J ≥ M (spec §3.1).

    Public structure of ring mode (BLMST24's geometric rings): a function of the params only.

    Raises:
        DPKitError: α not in (0, 1] or M (``leaves``) not an integer in [1, 2^20].
    """
    alpha = V.in_range(0.0, 1.0, low_open=True, alpha=alpha)
    leaves = V.integer(minimum=1, maximum=MAX_LEAVES, leaves=leaves)
    b = [1]
    while b[-1] < leaves:
        b.append(max(b[-1] + 1, math.ceil(b[-1] * (1.0 + alpha))))
    return np.asarray(b, dtype=np.int64)


# ================================================================ records
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


@dataclass(frozen=True)
class KDESketch:
    """The exact (non-private, never released) sketch of a chunk of points; mergeable.

    ``counts``/``sums``: (trees, 2M − 1) heap-ordered trees (distances); ``rff``: (J, D)
    feature sums (kernels); ``n``: the exact number of points. Merge by
    :func:`~dpkit.mechanisms.kde.merge`.

    Validated on construction (a hand-built sketch must be one
    :func:`~dpkit.mechanisms.kde.sketch` could return): params a :class:`KDEParams`,
    dimension ≥ 1 (equal to ``params.dimension`` when set), public_seed and n integers ≥ 0, and
    exactly the parts of the params' kind, finite, of shape (trees, 2M − 1) (``sums`` only in
    exact mode) or (J, features).

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
        p = check_params(self.params)
        d = V.integer(minimum=1, dimension=self.dimension)
        if p.dimension is not None and d != p.dimension:
            raise DPKitError(f"dimension must equal params.dimension = {p.dimension}, got {d}")
        object.__setattr__(self, "dimension", d)
        object.__setattr__(self, "public_seed", V.integer(minimum=0, public_seed=self.public_seed))
        object.__setattr__(self, "n", V.integer(minimum=0, n=self.n))
        want: dict[str, tuple[int | None, int] | None]
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


@dataclass(frozen=True)
class KDEStructure:
    """A released (noisy) structure: pure ε-DP; every query is post-processing.

    Attributes: params (with ``dimension`` filled in), public_seed, the noisy parts
    (``counts``/``sums`` trees or ``rff`` sums), ``count`` (a noisy n, or None), ``scales``
    (the Laplace scales used, :func:`~dpkit.mechanisms.kde.noise_scales`), ``event`` (the
    privacy event of this release), and the public randomness ``public`` regenerated from the
    seed.
    """

    params: KDEParams
    public_seed: int
    counts: np.ndarray | None
    sums: np.ndarray | None
    rff: np.ndarray | None
    count: float | None
    scales: NoiseScales
    event: Event
    public: PublicRandomness = field(repr=False, compare=False,
                                     default_factory=PublicRandomness)

    @property
    def dimension(self) -> int:
        """d, the data dimension."""
        if self.params.dimension is None:  # never: the release fills it in
            raise DPKitError("a released structure's params must carry the data dimension")
        return self.params.dimension


def rff_parts(public: PublicRandomness) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(freqs, phases, weights) of a kernel structure's public randomness."""
    if public.freqs is None or public.phases is None or public.weights is None:
        raise DPKitError("this public randomness has no random Fourier features (a distance "
                         "kind)")
    return public.freqs, public.phases, public.weights
