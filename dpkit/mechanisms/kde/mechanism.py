"""The public functions of the KDE structures: build, sketch / merge / privatize, query.

Each takes params (or a sketch / structure), data and ``rng`` and dispatches to a backend: the
numpy reference (:mod:`dpkit.mechanisms.kde.reference`), the numba kernels (``_numba``, the
CPU default when numba is installed) or the JAX kernels (``_jax``, for JAX arrays or
``backend="jax"``). The Laplace noise is drawn on the host from ``rng`` on every backend but
JAX (which draws it from a JAX key). Privacy statements: :mod:`dpkit.mechanisms.kde.privacy`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...backend import resolve
from ...errors import DPKitError
from ...random import RNGLike, as_generator, public_generator, route_backend
from .params import (
    DISTANCES,
    KDEParams,
    KDESketch,
    KDEStructure,
    check_params,
    rff_parts,
    with_dimension,
)
from .privacy import noise_scales, privacy_event
from .reference import (
    as_points,
    as_queries,
    clip_private,
    leaf_histograms,
    midpoints,
    projected,
    public_randomness,
    rff_query,
    rff_sums,
    tree_coords,
    tree_from_leaves,
    tree_query,
)
from .reference import cells as cells_of

if TYPE_CHECKING:
    import jax

__all__ = ["build", "sketch", "merge", "privatize", "release_noise", "query"]

_MAX_NOISE_DRAWS = 2**32


# ================================================================ exact sketch (mergeable)
def sketch(params: KDEParams, private_points: npt.ArrayLike, public_seed: int, *,
           backend: str = "auto") -> KDESketch:
    """The exact sketch of a chunk of private points (not private; never release it).

    Clips as documented (:mod:`dpkit.mechanisms.kde`), then: trees of counts and of centred
    cell midpoints per (embedded) coordinate (distances), or RFF sums (kernels). Chunks
    sketched with the same params and ``public_seed`` merge exactly with :func:`merge`.

    Privacy: none by itself (exact sums); :func:`privatize` releases it with pure ε-DP.

    Args:
        params: a :class:`~dpkit.mechanisms.kde.KDEParams`.
        private_points: (n, d) finite array (1-D: d = 1). NaN/inf refused.
        public_seed: int ≥ 0, the seed of the public randomness.
        backend: "auto" | "numpy" | "numba" | "jax".

    Raises:
        DPKitError: bad params, NaN/inf or wrongly shaped points, bad backend.
    """
    p = check_params(params)
    x = clip_private(p, as_points(p, private_points))
    d = x.shape[1]
    seed = V.integer(minimum=0, public_seed=public_seed)
    pub = public_randomness(p, d, seed)
    which = resolve(backend, private_points)
    if p.kind in DISTANCES:
        cells = cells_of(p, tree_coords(p, x, pub))
        if which == "numba":
            from ._numba import leaf_histograms as leaf_histograms_numba

            leaf = leaf_histograms_numba(np.ascontiguousarray(cells), p.leaves)
        elif which == "jax":
            from ._jax import leaf_histograms_jax

            leaf = leaf_histograms_jax(cells, p.leaves)
        else:
            leaf = leaf_histograms(cells, p.leaves)
        counts = tree_from_leaves(leaf)
        sums = (tree_from_leaves(leaf * midpoints(p)[None, :]) if p.mode == "exact"
                else None)
        return KDESketch(p, d, seed, x.shape[0], counts=counts, sums=sums)
    z = projected(x, pub)
    freqs, phases, _ = rff_parts(pub)
    if which == "numba":
        from ._numba import rff_sums_fast

        rff = rff_sums_fast(z, freqs, phases)
    elif which == "jax":
        from ._jax import rff_sums_jax

        rff = rff_sums_jax(z, freqs, phases)
    else:
        rff = rff_sums(z, freqs, phases)
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
        return None if u is None or v is None else u + v

    return KDESketch(a.params, a.dimension, a.public_seed, a.n + b.n, add(a.counts, b.counts),
                     add(a.sums, b.sums), add(a.rff, b.rff))


# ================================================================ release
def release_noise(sk: KDESketch, rng: RNGLike, releases: int | None = None
                  ) -> dict[str, np.ndarray | None]:
    """The Laplace noise of ``releases`` independent releases of ``sk`` (None: one release).

    Returns arrays shaped like the sketch's parts (with a leading ``releases`` axis if given):
    ``counts``, ``sums``, ``rff``, ``n``. :func:`privatize` adds one draw of this to the sketch;
    audits use the batched form to simulate many releases at once. Scales:
    :func:`~dpkit.mechanisms.kde.noise_scales`. Not hardened against floating-point attacks.

    Raises:
        DPKitError: not a sketch, bad ``rng``, ``releases`` not an integer ≥ 1, or more than
            2^32 draws in all.
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
    sum_scale = sc.get("sum")
    if sk.sums is not None and sum_scale is not None:  # sums come with a scale (exact mode)
        out["sums"] = gen.laplace(0.0, sum_scale, lead + sk.sums.shape)
    if sk.rff is not None:
        out["rff"] = gen.laplace(0.0, 1.0, lead + sk.rff.shape) * sc["rff"][:, None]
        if sc["n"] is not None:
            out["n"] = np.asarray(gen.laplace(0.0, sc["n"], lead))
    return out


def privatize(sk: KDESketch, rng: RNGLike) -> KDEStructure:
    """Release an exact sketch once with Laplace noise (spec §2.1, §5.2): pure ε-DP.

    Privacy: as :func:`build` (this is its release step): pure ε-DP under
    ``params.relation``, event :func:`~dpkit.mechanisms.kde.privacy_event`. Not hardened
    against floating-point attacks.

    Raises:
        DPKitError: not a sketch, or a bad ``rng``.
    """
    noise = release_noise(sk, rng)
    return _assemble(sk, noise)


def _assemble(sk: KDESketch, noise: dict[str, np.ndarray | None]) -> KDEStructure:
    """The released structure: the sketch plus its noise, with the params' dimension set."""
    p = with_dimension(sk.params, sk.dimension)
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


def build(params: KDEParams, private_points: npt.ArrayLike | jax.Array,
          rng: RNGLike | jax.Array, *,
          backend: str = "auto") -> KDEStructure:
    """Build and release the private structure of ``private_points`` (BLMST24).

    Definition: the public seed is drawn from :func:`dpkit.random.public_generator` of ``rng``
    (a generator separate from the one that draws the noise); then :func:`sketch` (clip as
    documented; trees per coordinate or RFF sums) and :func:`privatize` (independent Laplace
    noise on every released number, scales :func:`~dpkit.mechanisms.kde.noise_scales`).

    Privacy: pure ε-DP (ε = ``params.epsilon``) under ``params.relation`` (add/remove one point
    by default; replace one point); event ``structure.event`` =
    :func:`~dpkit.mechanisms.kde.privacy_event`. Queries are post-processing. Not hardened
    against floating-point attacks. Backurs, Lin, Mahabadi, Silwal, Tarnawski, ICLR 2024
    (arXiv:2403.08917).

    Args:
        params: a :class:`~dpkit.mechanisms.kde.KDEParams`.
        private_points: (n, d) finite array (a 1-D array is one column). Coordinates outside
            [−r, r] are clipped (ℓ2: points projected onto the r-ball); NaN/inf refused.
        rng: None, an int seed, a numpy Generator or SecureGenerator; a JAX PRNG key with
            ``backend="jax"``. With a SecureGenerator (the hardened tier) all noise is drawn
            on the host from the OS CSPRNG (the numba sketch kernel draws nothing); "jax"
            is refused.
        backend: "auto" (numba when installed; JAX for JAX arrays), "numpy", "numba", "jax".

    Returns:
        A :class:`~dpkit.mechanisms.kde.KDEStructure`.

    Raises:
        DPKitError: bad params, points (NaN/inf, shape) or backend.

    >>> from dpkit.mechanisms.kde import KDEParams
    >>> p = KDEParams("l1", epsilon=1.0, radius=1.0, size_hint=64)
    >>> s = build(p, np.zeros((1000, 2)), rng=0, backend="numpy")
    >>> bool(abs(query(s, np.ones((1, 2)))[0] - 2000.0) < 500.0)
    True
    """
    p = check_params(params)
    which = route_backend(backend, private_points, rng, kernel_draws=False)
    if which == "jax":
        from ._jax import release_noise_jax, split_build_key

        seed, keys = split_build_key(rng)
        sk = sketch(p, private_points, seed, backend="jax")  # checks the points as below
        return _assemble(sk, release_noise_jax(keys, sk, noise_scales(sk.params, sk.dimension)))
    gen = as_generator(rng)  # type: ignore[arg-type]  # refuses a JAX key off the JAX backend
    seed = int(public_generator(gen).integers(0, 2**63))  # published: not the noise stream
    return privatize(sketch(p, private_points, seed, backend=which), gen)


# ================================================================ queries
def query(structure: KDEStructure, queries: npt.ArrayLike | jax.Array, *,
          normalize: bool = False, backend: str = "auto") -> np.ndarray | jax.Array:
    """Estimates of F(y) = Σ_{x∈X} f(x, y) (over the clipped private points) for each query.

    Definition: ℓ1 exact mode Σ_i [w_i(2C_<(c_i) − C) + (S − 2S_<(c_i))] from noisy prefix
    counts/sums (spec §3.2); ring mode Σ_rings ρB_j·(noisy ring counts) (spec §3.1); ℓ2 the ℓ1
    answer on Gy divided by k√(2/π) (spec §4); kernels Σ_j w_j⟨S̃_j, φ_j(y)⟩/D (spec §5).
    ``normalize=True`` divides by the structure's noisy count (floored at 1) for a KDE.

    Privacy: post-processing of the released structure; any number of queries is free.

    Args:
        structure: a :class:`~dpkit.mechanisms.kde.KDEStructure` from :func:`build`.
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
    if not isinstance(normalize, (bool, np.bool_)):
        raise DPKitError(f"normalize must be True or False, got {type(normalize).__name__}")
    s = structure
    which = resolve(backend, queries)
    out: np.ndarray | jax.Array
    if which == "jax":
        from ._jax import query_jax

        out = query_jax(s, queries)
    else:
        out = _query_host(s, as_queries(s, queries), which)
    if normalize:
        if s.count is None:
            raise DPKitError("normalize=True needs a released count (count_fraction > 0)")
        out = out / max(1.0, s.count)
    return out


def _query_host(s: KDEStructure, y: np.ndarray, which: str) -> np.ndarray:
    p = s.params
    if p.kind in DISTANCES:
        v = projected(y, s.public)
        if which == "numba" and p.mode == "exact" and s.counts is not None \
                and s.sums is not None:
            from ._numba import tree_query_exact

            est = tree_query_exact(s.counts, s.sums, np.ascontiguousarray(v), p.leaves,
                                   p.tree_halfwidth, p.cell_width)
        else:
            est = tree_query(s, v)
        if p.kind == "l2":
            est = est / (p.k_embed * math.sqrt(2.0 / math.pi))
        return est
    if which == "numba" and s.rff is not None:
        from ._numba import rff_query as rff_query_numba

        freqs, phases, weights = rff_parts(s.public)
        return rff_query_numba(np.ascontiguousarray(projected(y, s.public)), freqs, phases,
                               weights, s.rff)
    return rff_query(s, y)
