"""The frequency oracles' public functions: perturb (user side), aggregate, merge, estimate.

The user side is :func:`perturb` (dispatching to the numpy reference, the numba kernels or the
JAX kernels); the server side is :func:`aggregate` (a mergeable partial state), :func:`merge`
(associative and commutative: chunked, parallel or distributed aggregation gives exactly the
serial state) and :func:`estimate` (unbiased counts). All three oracles are "pure" protocols
(WBLJ17 §3): a report *supports* a set of values, with P[support v | user holds v] = p and
P[support v | user holds v' ≠ v] = q, so with C(v) the support count over N reports

    ĉ(v) = (C(v) − N q) / (p − q),   Var ĉ(v) = N q(1 − q)/(p − q)² + c(v)(1 − p − q)/(p − q).

Privacy (local DP, replace-one: any two inputs v, v' of one user; each user reports once):
every oracle is ε-LDP with worst-case likelihood ratio exactly e^ε (:mod:`.privacy`); the
server side is post-processing. Wang, Blocki, Li, Jha, USENIX Security 2017. Sampling uses
floating-point uniforms for the Bernoulli draws: *not* hardened against floating-point attacks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...backend import resolve
from ...errors import DPKitError
from ...random import RNGLike, as_generator, route_backend
from .params import (
    OLH,
    OUE,
    FrequencyState,
    OLHReports,
    Oracle,
    check_items,
    check_oracle,
    state_shape,
)
from .reference import perturb_reference, support_reference

__all__ = ["perturb", "aggregate", "merge", "support_counts", "estimate", "variance"]


def perturb(oracle: Oracle, items: npt.ArrayLike, rng: RNGLike | Any, *,
            backend: str = "auto") -> np.ndarray | OLHReports:
    """Each user's LDP report of its item (one report per item; users are independent).

    Definition: GRR → an item in [0, D); OUE → a (n, D) uint8 bit matrix; OLH →
    :class:`~.params.OLHReports` (seed, bucket) per user. See the oracle classes for the laws.

    Privacy: ε-LDP per user (replace-one: any two items of one user), worst-case likelihood
    ratio exactly e^ε; event ``privacy_event(oracle)``. Wang, Blocki, Li, Jha 2017. Not
    hardened against floating-point attacks.

    Args:
        oracle: a :class:`~.params.GRR`, :class:`~.params.OUE` or :class:`~.params.OLH`.
        items: 1-D integer array in [0, D) (a JAX array selects the JAX kernel under "auto").
        rng: None, an int seed, a numpy Generator or SecureGenerator (numpy / numba); a JAX
            PRNG key or an int seed for ``backend="jax"``. With a SecureGenerator (the
            hardened tier) "auto" and "numba" run the numpy reference, every draw from the OS
            CSPRNG, and "jax" is refused (docs/security.md).
        backend: "auto", "numpy" (reference), "numba" or "jax".

    Returns:
        The reports (numpy arrays; JAX arrays for the JAX backend).

    Raises:
        DPKitError: bad oracle, backend or rng; items not integers or outside [0, D).

    >>> from dpkit.mechanisms.heavy_hitters import GRR
    >>> r = perturb(GRR(2.0, 8), np.array([3, 3, 5]), rng=0, backend="numpy")
    >>> r.shape, bool(((r >= 0) & (r < 8)).all())
    ((3,), True)
    """
    o = check_oracle(oracle)
    which = route_backend(backend, items, rng)
    if which == "jax":
        from ._jax import perturb_jax

        return perturb_jax(o, items, rng)
    if which == "numba":
        from ._numba import perturb_numba

        return perturb_numba(o, check_items(items, o.domain_size), as_generator(rng))
    return perturb_reference(o, items, rng)


def aggregate(oracle: Oracle, reports: npt.ArrayLike | OLHReports) -> FrequencyState:
    """The server's partial state of a batch of reports (post-processing: no privacy cost).

    GRR: histogram of reports; OUE: column sums; OLH pool mode: counts per (hash, bucket);
    OLH fresh-seed mode: the reports themselves. Merge partial states with :func:`merge`.
    Privacy: post-processing of ε-LDP reports (replace-one). WBLJ17.

    Raises:
        DPKitError: reports of the wrong type, shape or range for the oracle.
    """
    o = check_oracle(oracle)
    if isinstance(o, OLH):
        if not isinstance(reports, OLHReports):
            if hasattr(reports, "seeds") and hasattr(reports, "buckets"):
                reports = OLHReports(np.asarray(reports.seeds), np.asarray(reports.buckets))
            else:
                raise DPKitError("reports must be OLHReports for an OLH oracle")
        y = check_items(np.asarray(reports.buckets), o.g, "buckets")
        s = np.asarray(reports.seeds)
        if s.shape != y.shape or s.dtype.kind not in "iu":
            raise DPKitError("seeds must be an integer array of the buckets' shape")
        if o.num_hashes is None:
            return FrequencyState(o, int(y.size), np.zeros(state_shape(o), dtype=np.int64),
                                  s.astype(np.uint64), y)
        j = check_items(s.astype(np.int64) if s.dtype.kind == "i" else s, o.num_hashes, "seeds")
        flat = np.bincount(j * o.g + y, minlength=o.num_hashes * o.g)
        return FrequencyState(o, int(y.size), flat.reshape(o.num_hashes, o.g).astype(np.int64))
    if isinstance(reports, OLHReports):
        raise DPKitError("reports must be an array for a GRR or OUE oracle, got OLHReports")
    if isinstance(o, OUE):
        bits = np.asarray(reports)
        if bits.ndim != 2 or bits.shape[1] != o.domain_size:
            raise DPKitError(f"reports must be an (n, {o.domain_size}) bit matrix, got shape "
                             f"{bits.shape}")
        if bits.dtype.kind not in "iub" or (bits.size and (bits.min() < 0 or bits.max() > 1)):
            raise DPKitError("reports must hold bits 0/1")
        return FrequencyState(o, int(bits.shape[0]), bits.sum(axis=0, dtype=np.int64))
    y = check_items(reports, o.domain_size, "reports")
    return FrequencyState(o, int(y.size), np.bincount(y, minlength=o.domain_size).astype(np.int64))


def merge(a: FrequencyState, b: FrequencyState) -> FrequencyState:
    """The state of the union of two batches: exact, associative and commutative (counts add;
    OLH fresh-seed reports concatenate). Post-processing: no privacy cost (WBLJ17).

    Raises:
        DPKitError: states of different oracles.
    """
    for name, s in (("a", a), ("b", b)):
        if not isinstance(s, FrequencyState):
            raise DPKitError(f"{name} must be a FrequencyState, got {type(s).__name__}")
    if a.oracle != b.oracle:
        raise DPKitError(f"cannot merge states of different oracles: {a.oracle} and {b.oracle}")
    if a.seeds is not None and a.buckets is not None \
            and b.seeds is not None and b.buckets is not None:
        return FrequencyState(a.oracle, a.n + b.n, a.counts,
                              np.concatenate([a.seeds, b.seeds]),
                              np.concatenate([a.buckets, b.buckets]))
    return FrequencyState(a.oracle, a.n + b.n, a.counts + b.counts)


def support_counts(state: FrequencyState, candidates: npt.ArrayLike | None = None, *,
                   backend: str = "auto") -> np.ndarray:
    """C(v): number of reports supporting each candidate (all of [0, D) by default).

    Post-processing of ε-LDP reports: no privacy cost (WBLJ17). OLH hashes the candidates
    (numba kernels under "auto" when installed; "jax" runs the numpy code).

    Raises:
        DPKitError: state not a FrequencyState; candidates outside [0, D); bad backend.
    """
    if not isinstance(state, FrequencyState):
        raise DPKitError(f"state must be a FrequencyState, got {type(state).__name__}")
    o = state.oracle
    cand = (np.arange(o.domain_size, dtype=np.int64) if candidates is None
            else check_items(candidates, o.domain_size, "candidates"))
    if not isinstance(o, OLH):
        return state.counts[cand].astype(np.float64)
    if resolve(backend) == "numba":
        from ._numba import olh_support_fresh, olh_support_pool

        if state.seeds is not None and state.buckets is not None:  # fresh per-user seeds
            return olh_support_fresh(state.seeds, state.buckets, cand, o.g).astype(np.float64)
        a, b = o.hash_coefficients()
        active = np.flatnonzero(state.counts.any(axis=1))  # cost min(S, N)·|candidates|
        if active.size < a.size:
            return olh_support_pool(np.ascontiguousarray(state.counts[active]), a[active],
                                    b[active], cand, o.g).astype(np.float64)
        return olh_support_pool(state.counts, a, b, cand, o.g).astype(np.float64)
    return support_reference(state, cand)


def estimate(oracle: Oracle, state: FrequencyState, candidates: npt.ArrayLike | None = None,
             *, backend: str = "auto") -> np.ndarray:
    """Unbiased count estimates ĉ(v) = (C(v) − N q)/(p − q) (WBLJ17, Eq. (2)).

    Estimates may be negative (raw unbiased values; clip or project separately).
    Post-processing of ε-LDP reports: no privacy cost. For OLH in pool mode, unbiased over a
    random ``pool_seed`` (see :class:`~.params.OLH`).

    Args:
        oracle: the oracle (must equal ``state.oracle``).
        state: from :func:`aggregate` / :func:`merge`.
        candidates: items to estimate (default: the whole domain [0, D)).
        backend: "auto" (numba when installed), "numpy" or "numba" (OLH's hashing).

    Returns:
        float64 estimates, one per candidate.

    Raises:
        DPKitError: bad oracle; state not aggregated with this oracle; bad candidates.

    >>> from dpkit.mechanisms.heavy_hitters import GRR
    >>> o = GRR(2.0, 4)
    >>> st = aggregate(o, perturb(o, np.repeat([0, 1], [6000, 4000]), rng=1, backend="numpy"))
    >>> np.round(estimate(o, st) / 1000).astype(int).tolist()
    [6, 4, 0, 0]
    """
    o = check_oracle(oracle)
    if not isinstance(state, FrequencyState) or state.oracle != o:
        raise DPKitError("state must be a FrequencyState aggregated with this oracle")
    c = support_counts(state, candidates, backend=backend)
    return (c - state.n * o.q) / (o.p - o.q)


def variance(oracle: Oracle, n: int, counts: npt.ArrayLike | None = None) -> np.ndarray | float:
    """Exact variance of ĉ(v) (WBLJ17, Eq. (3) without approximation).

    Var ĉ(v) = N q(1 − q)/(p − q)² + c(v)(1 − p − q)/(p − q), plus for OLH in pool mode the
    shared-hash term Σ_{v' ≠ v} c(v')(c(v') − 1)/((g − 1) S) (over a random pool).
    Privacy: a property of the ε-LDP estimator (no data touched).

    Args:
        oracle: the oracle.
        n: N ≥ 0, the number of reports.
        counts: None (then c(v) = 0 and the pool term is omitted: the noise floor), or the
            true histogram c (length D, summing to N): one variance per item.

    Returns:
        A float (counts None) or an array of shape (D,).

    Raises:
        DPKitError: bad oracle; n not an integer ≥ 0; counts not a histogram of n.
    """
    o = check_oracle(oracle)
    nn = V.integer(minimum=0, n=n)
    p, q = o.p, o.q
    base = nn * q * (1.0 - q) / (p - q) ** 2
    if counts is None:
        return float(base)
    c = V.finite_array(counts=counts)
    if c.shape != (o.domain_size,) or (c < 0).any() or abs(c.sum() - nn) > 0.5:
        raise DPKitError(f"counts must be a nonnegative histogram of length {o.domain_size} "
                         f"summing to n={nn}")
    out = base + c * (1.0 - p - q) / (p - q)
    if isinstance(o, OLH) and o.num_hashes is not None:
        sq = c * (c - 1.0)
        out = out + (sq.sum() - sq) / ((o.g - 1) * o.num_hashes)
    return out
