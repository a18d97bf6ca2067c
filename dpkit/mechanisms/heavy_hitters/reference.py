"""The numpy reference of the frequency oracles: the law every kernel is tested against.

User side: :func:`perturb_reference` (GRR, OUE, OLH reports) built from :func:`grr_reference`,
:func:`oue_reference` and :func:`olh_reference`; server side: :func:`support_reference` (the
support counts C(v) of OLH states by hashing the candidates). The numba and JAX kernels
(``_numba.py``, ``_jax.py``) draw from the same laws (tested: chi-square, bit-equal hashes).

Privacy (Wang, Blocki, Li, Jha, USENIX Security 2017): every report is ε-LDP (local DP,
replace-one: any two items of one user), worst-case likelihood ratio exactly e^ε; see
:mod:`.privacy`. Sampling uses floating-point uniforms for the Bernoulli draws: *not* hardened
against floating-point attacks (with a SecureGenerator every draw comes from the OS CSPRNG).
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np

from ...random import RNGLike, SecureGenerator, as_generator, public_generator
from .._rr import flip_probability as _rr_flip_probability
from ._hash import draw_seeds, hash_coefficients, hash_values
from .params import GRR, OLH, OUE, FrequencyState, OLHReports, Oracle, check_items, check_oracle

__all__ = ["perturb_reference"]

#: A generator of the numpy code: numpy's, or the OS-backed SecureGenerator.
Gen = Union[np.random.Generator, SecureGenerator]  # noqa: UP007 (runtime alias)

_OUE_CHUNK = 1 << 24  # bits per chunk of the OUE reference sampler


def flip_probability(epsilon: float, k: int) -> float:
    """1 − p = (k − 1)e^{−ε}/(1 + (k − 1)e^{−ε}) of a k-ary GRR, computed without cancellation.

    The samplers draw the *flip* (u < 1 − p), not the keep (u < p): on a 2^−53 grid
    P(u < f) = ⌈f·2^53⌉/2^53 ≥ f, so rounding can only raise the flip rate, i.e. lower the
    likelihood ratio below e^ε. Drawing the keep instead rounds p up: at ε ≳ 36.7 + log(k − 1)
    p is 1.0 in floating point and the report would always be the true item (infinite loss).
    The one formula is :func:`dpkit.mechanisms._rr.flip_probability`.
    """
    return _rr_flip_probability(epsilon, k)


def grr_reference(flip: float, d: int, v: np.ndarray, gen: Gen) -> np.ndarray:
    """GRR over [0, d) of the items ``v`` with flip probability ``flip`` = 1 − p
    (see :func:`flip_probability`): keep v unless u < flip, else a uniform other value."""
    keep = ~(gen.random(v.size) < flip)
    other = gen.integers(0, d - 1, size=v.size)
    other = other + (other >= v)  # uniform over the d − 1 other values
    return np.where(keep, v, other).astype(np.int64)


def oue_reference(o: OUE, v: np.ndarray, gen: Gen) -> np.ndarray:
    """OUE bit matrix (n, D) of the items ``v``: bit u is 1 w.p. q (u ≠ v), ½ (u = v)."""
    d = o.domain_size
    out = np.empty((v.size, d), dtype=np.uint8)
    step = max(1, _OUE_CHUNK // d)
    for a in range(0, v.size, step):
        b = min(v.size, a + step)
        block = np.asarray(gen.random((b - a, d))) < o.q
        block[np.arange(b - a), v[a:b]] = gen.random(b - a) < 0.5
        out[a:b] = block
    return out


def olh_hashes(o: OLH, seeds: np.ndarray, v: np.ndarray) -> np.ndarray:
    """H_s(v) for OLH reports' seeds (pool indices in pool mode) and items v (broadcast)."""
    s = np.asarray(seeds, dtype=np.uint64)
    if o.num_hashes is not None:
        s = (np.uint64(o.pool_seed) << np.uint64(32)) + s
    a, b = hash_coefficients(s)
    return hash_values(a, b, v, o.g)


def olh_reference(o: OLH, v: np.ndarray, gen: Gen) -> OLHReports:
    """OLH reports of the items ``v``: public seeds from :func:`dpkit.random.public_generator`
    (never the private stream), then GRR over [g] of each user's hash H_s(v)."""
    seeds = draw_seeds(o.num_hashes, v.size, public_generator(gen))
    x = olh_hashes(o, seeds, v)
    y = grr_reference(flip_probability(o.epsilon, o.g), o.g, x, gen)
    return OLHReports(seeds, y)


def perturb_reference(oracle: Oracle, items: Any, rng: RNGLike) -> np.ndarray | OLHReports:
    """The numpy reference of :func:`~.mechanism.perturb` (the law the kernels are tested
    against): GRR → items in [0, D); OUE → an (n, D) uint8 bit matrix; OLH →
    :class:`~.params.OLHReports`.

    Privacy: ε-LDP per user (replace-one), ratio exactly e^ε; event
    ``privacy_event(oracle)``. Wang, Blocki, Li, Jha 2017. Not hardened against
    floating-point attacks.

    Raises:
        DPKitError: bad oracle or rng; items not integers or outside [0, D).
    """
    o = check_oracle(oracle)
    v = check_items(items, o.domain_size)
    gen = as_generator(rng)
    if isinstance(o, GRR):
        return grr_reference(flip_probability(o.epsilon, o.domain_size), o.domain_size, v, gen)
    if isinstance(o, OUE):
        return oue_reference(o, v, gen)
    return olh_reference(o, v, gen)


def support_reference(state: FrequencyState, cand: np.ndarray) -> np.ndarray:
    """C(v) of an OLH state for the checked candidates ``cand`` (numpy; O(N·|cand|) with
    fresh seeds, O(S·|cand|) in pool mode). Post-processing: no privacy cost."""
    o = state.oracle
    if not isinstance(o, OLH):
        return state.counts[cand].astype(np.float64)
    out = np.zeros(cand.size, dtype=np.float64)
    if state.seeds is not None and state.buckets is not None:  # fresh per-user seeds
        a, b = hash_coefficients(state.seeds)
        step = max(1, (1 << 22) // max(1, state.n))
        for i in range(0, cand.size, step):
            h = hash_values(a[:, None], b[:, None], cand[None, i:i + step], o.g)
            out[i:i + step] = (h == state.buckets[:, None]).sum(axis=0)
        return out
    a, b = o.hash_coefficients()
    rows = np.arange(a.size)[:, None]
    step = max(1, (1 << 22) // a.size)
    for i in range(0, cand.size, step):
        h = hash_values(a[:, None], b[:, None], cand[None, i:i + step], o.g)
        out[i:i + step] = state.counts[rows, h].sum(axis=0)
    return out
