"""Privacy statements of the frequency oracles and of the prefix-tree protocols.

Local DP, replace-one relation: a user's report R satisfies, for any two items v, v' and any
output set S, P[R(v) ∈ S] ≤ e^ε P[R(v') ∈ S]. Each user reports once (spec §5: users of
different levels/parties are disjoint, so the protocol's event is the single oracle event).

* GRR over D values: ``RandomizedResponse(ε, k=D)`` (exact RDP, Mironov 2017 Table II).
* OLH with g buckets: conditional on the seed (independent of v) a GRR over [g], worst case
  H_s(v) ≠ H_s(v'); the seed mixture can only lower the Rényi divergence (the divergence of a
  mixture with a common mixing law is at most the maximum), so ``RandomizedResponse(ε, k=g)``.
* OUE: outputs under v and v' differ in coordinates v and v' only (the other bits have the
  same law under both), so the mechanism is exactly the pair of two-bit laws
  (Bern(½) × Bern(q), Bern(q) × Bern(½)): a ``PMFPairs`` event (exact Rényi divergence
  D_α(Bern(½)‖Bern(q)) + D_α(Bern(q)‖Bern(½)) at every order, α → ∞ giving
  log((1−q)/q) = ε, and the exact privacy loss distribution).

:func:`output_pmf` and :func:`max_log_ratio` enumerate every output of small instances; the
tests compare them with e^ε (an independent check of the closed forms).
Wang, Blocki, Li, Jha, USENIX Security 2017.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...accounting.accountant import DEFAULT_ORDERS
from ...accounting.events import (
    REPLACE_ONE,
    Event,
    PMFPairs,
    PureDP,
    RandomizedResponse,
    Repeated,
)
from ...errors import DPKitError
from ._hash import hash_coefficients, hash_values
from .params import GRR, OLH, OUE, HeavyHitterParams, Oracle, check_oracle

__all__ = ["privacy_event", "oue_rdp", "oue_event", "output_pmf", "max_log_ratio"]


def _bern_rdp(a: float, b: float, orders: np.ndarray) -> np.ndarray:
    """D_α(Bern(a)‖Bern(b)) = log(a^α b^{1−α} + (1−a)^α (1−b)^{1−α})/(α − 1), log space."""
    out = np.empty_like(orders)
    for i, al in enumerate(orders):
        if math.isinf(al):
            out[i] = max(math.log(a / b), math.log((1 - a) / (1 - b)))
            continue
        t1 = al * math.log(a) + (1 - al) * math.log(b)
        t2 = al * math.log1p(-a) + (1 - al) * math.log1p(-b)
        out[i] = max(0.0, np.logaddexp(t1, t2) / (al - 1.0))
    return out


def oue_rdp(epsilon: float, orders: npt.ArrayLike | None = None) -> np.ndarray:
    """Exact RDP of OUE: D_α(Bern(½)‖Bern(q)) + D_α(Bern(q)‖Bern(½)), q = 1/(e^ε + 1).

    q is the sampler's own (:attr:`OUE.q`: binary RR's flip probability from
    :mod:`dpkit.mechanisms._rr`, no overflow at ε > 709, floored at the smallest float).
    Privacy statement: OUE is ε-LDP (replace-one); this is its exact Rényi curve.
    Wang, Blocki, Li, Jha 2017; Mironov 2017 (RDP).

    Raises:
        DPKitError: epsilon not > 0; orders not valid RDP orders.
    """
    eps = V.positive(epsilon=epsilon)
    a = V.orders(orders=DEFAULT_ORDERS if orders is None else orders)
    q = OUE(eps, 2).q
    out = _bern_rdp(0.5, q, a) + _bern_rdp(q, 0.5, a)
    out[np.isinf(a)] = eps  # log((1−q)/q) = ε exactly (in floating point the sum rounds)
    return out


def privacy_event(obj: Oracle | HeavyHitterParams) -> Event:
    """The dpkit.accounting event of one report (an oracle) or of one protocol run.

    Privacy statement: ε-LDP per user, replace-one relation (any two items of one user).
    GRR → ``RandomizedResponse(ε, D)``; OLH → ``RandomizedResponse(ε, g)``; OUE →
    ``PMFPairs`` of the two differing bits (exact RDP and PLD, replace-one, α = ∞ gives ε).
    For :class:`HeavyHitterParams` (a protocol run) the event of its OLH oracle, or
    ``Repeated(event, reports_per_user)`` when a person may report more than once (spec §5).
    Wang, Blocki, Li, Jha 2017.

    Raises:
        DPKitError: obj not a GRR, OUE, OLH or HeavyHitterParams.

    >>> privacy_event(GRR(1.0, 4)).epsilon_inf()
    1.0
    """
    if isinstance(obj, HeavyHitterParams):
        ev: Event
        if obj.fo == "oue":  # candidate-domain OUE: the exact curve does not depend on D
            ev = privacy_event(OUE(obj.epsilon, 2))
        elif obj.fo == "grr":  # candidate-domain GRR: D_t varies by level -> PureDP(ε)
            ev = PureDP(obj.epsilon, REPLACE_ONE)
        else:
            ev = privacy_event(obj.oracle(obj.item_bits))
        return ev if obj.reports_per_user == 1 else Repeated(ev, obj.reports_per_user)
    o = check_oracle(obj)
    if isinstance(o, GRR):
        return RandomizedResponse(o.epsilon, o.domain_size)
    if isinstance(o, OLH):
        return RandomizedResponse(o.epsilon, o.g)
    return oue_event(o.epsilon)


def oue_event(epsilon: float) -> PMFPairs:
    """OUE's exact event: the laws of the two bits at v and v' (the only bits whose law
    depends on the item), outcomes (b_v, b_v') = 00, 01, 10, 11:
    P = Bern(½) × Bern(q), Q = Bern(q) × Bern(½), q = :attr:`OUE.q`; replace-one.

    Privacy: exact (the other bits are independent of the item and identically distributed
    under v and v', so they are a post-processing of nothing). Wang, Blocki, Li, Jha 2017.
    """
    q = OUE(V.positive(epsilon=epsilon), 2).q
    p_law = (0.5 * (1 - q), 0.5 * q, 0.5 * (1 - q), 0.5 * q)
    q_law = (0.5 * (1 - q), 0.5 * (1 - q), 0.5 * q, 0.5 * q)
    return PMFPairs(((p_law, q_law),), REPLACE_ONE)


# ============================================================ enumeration (small instances)
def output_pmf(oracle: Oracle, item: int, *, p: float | None = None,
               q: float | None = None, seed: int = 0) -> np.ndarray:
    """The exact pmf of one report over every output, by enumeration (small domains only).

    GRR: over [0, D). OUE: over all 2^D bit vectors (index = Σ_u B_u 2^u), D ≤ 16. OLH: over
    the g buckets for the hash with the given (fresh-mode) seed, i.e. the law of y given s.
    ``p``/``q`` override the oracle's probabilities (to build mis-calibrated twins; for OLH
    ``q`` is the GRR's other-bucket probability).

    Raises:
        DPKitError: bad oracle or item; p or q not in [0, 1]; seed not in [0, 2^64).
    """
    o = check_oracle(oracle)
    v = V.integer(minimum=0, maximum=o.domain_size - 1, item=item)
    p = None if p is None else V.probability(p=p)
    q = None if q is None else V.probability(q=q)
    seed = V.integer(minimum=0, maximum=2**64 - 1, seed=seed)
    if isinstance(o, GRR):
        pp = o.p if p is None else p
        qq = o.q if q is None else q
        out = np.full(o.domain_size, qq)
        out[v] = pp
        return out
    if isinstance(o, OUE):
        if o.domain_size > 16:
            raise DPKitError(f"domain_size must be <= 16 to enumerate OUE, got {o.domain_size}")
        pp = o.p if p is None else p
        qq = o.q if q is None else q
        d = o.domain_size
        out = np.empty(2**d)
        for idx, bits in enumerate(itertools.product((0, 1), repeat=d)):
            bit = bits[::-1]  # bit[u] is bit u of idx
            pr = 1.0
            for u in range(d):
                r = pp if u == v else qq
                pr *= r if bit[u] else 1.0 - r
            out[idx] = pr
        return out
    a, b = hash_coefficients(np.array([seed], dtype=np.uint64))
    x = int(hash_values(a, b, np.array([v]), o.g)[0])
    pp = o.p if p is None else p
    qq = o.q_grr if q is None else q
    out = np.full(o.g, qq)
    out[x] = pp
    return out


def max_log_ratio(oracle: Oracle, *, p: float | None = None, q: float | None = None,
                  seeds: Iterable[int] = range(64)) -> float:
    """max over items v ≠ v' and outputs o of log P(o|v)/P(o|v'), by enumeration.

    For OLH the maximum also runs over the given seeds (those with H_s(v) ≠ H_s(v') attain
    the worst case). An output possible under v but not under v' gives ``inf``.

    Raises:
        DPKitError: bad oracle, domain_size > 64, p or q not in [0, 1], bad seeds.
    """
    o = check_oracle(oracle)
    d = o.domain_size
    if d > 64:
        raise DPKitError(f"domain_size must be <= 64 to enumerate, got {d}")
    if isinstance(o, OLH):
        try:
            seed_list = list(seeds)
        except TypeError:
            raise DPKitError(f"seeds must be an iterable of integers, got {seeds!r}") from None
        if not seed_list:
            raise DPKitError("seeds must not be empty")
    else:
        seed_list = [0]
    best = -math.inf
    for s in seed_list:
        pmfs = [output_pmf(o, v, p=p, q=q, seed=s) for v in range(d)]
        for v, w in itertools.permutations(range(d), 2):
            top, bottom = pmfs[v], pmfs[w]
            live = top > 0  # outputs impossible under v do not bound the ratio
            if np.any(live & (bottom == 0)):
                return math.inf
            if live.any():
                best = max(best, float(np.max(np.log(top[live]) - np.log(bottom[live]))))
    return best
