"""RQM (dpkit.mechanisms.rqm): exact tests of spec §7, privacy cross-checks, validation.

Exact oracles: brute-force enumeration of all 2^(m−2) keep masks (pmf), the m = 2 closed forms,
the unpruned grid search, random pairs (grid theorem), and product-distribution enumeration
(d-fold composition). Statistical tests use fixed seeds; each states its false-alarm rate.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from dpkit.accounting import DEFAULT_ORDERS, Accountant
from dpkit.accounting.events import REPLACE_ONE, PMFPairs, PoissonSampled, RDPCurve, Repeated
from dpkit.errors import DPKitError, InfeasibleTargetError
from dpkit.mechanisms.rqm import (
    RQMParams,
    aggregate,
    aggregate_sums,
    calibrate,
    decode,
    log_pmf,
    pmf,
    privacy_event,
    quantize,
    quantize_reference,
    rdp,
    variance,
)
from dpkit.mechanisms.rqm.privacy import (
    extreme_pair_curve,
    grid,
    randomized_response_bound,
    rdp_curve,
    rdp_curve_bruteforce,
    renyi_divergence,
)

FA = 1e-6  # false-alarm rate of every statistical test in this file (p-value threshold)


# ------------------------------------------------------------------ brute-force oracle
def pmf_bruteforce(p: RQMParams, x: float) -> np.ndarray:
    """Enumerate every keep pattern of the m − 2 interior levels with its probability."""
    m, q = p.num_levels, p.keep_prob
    lv = p.levels
    x = min(max(x, -p.clip), p.clip)
    out = np.zeros(m)
    for bits in itertools.product((0, 1), repeat=m - 2):
        w = math.prod(q if b else 1.0 - q for b in bits)
        if w == 0.0:
            continue
        kept = [0] + [i + 1 for i, b in enumerate(bits) if b] + [m - 1]
        lo = max(k for k in kept if lv[k] <= x and k < m - 1)
        hi = min(k for k in kept if k > lo)
        up = (x - lv[lo]) / (lv[hi] - lv[lo])
        out[hi] += w * up
        out[lo] += w * (1.0 - up)
    return out


def random_params(g: np.random.Generator, m_max: int = 10) -> RQMParams:
    return RQMParams(clip=float(g.uniform(0.2, 3.0)), extension=float(g.uniform(0.05, 3.0)),
                     num_levels=int(g.integers(2, m_max + 1)),
                     keep_prob=float(g.choice([0.0, g.uniform(0.01, 0.99)])))


# ------------------------------------------------------------------ §7.1-3: the pmf
def test_pmf_matches_bruteforce_enumeration() -> None:
    g = np.random.default_rng(11)
    worst = 0.0
    for _ in range(40):
        p = random_params(g)
        xs = np.concatenate([g.uniform(-p.clip, p.clip, 4), [-p.clip, p.clip],
                             p.levels[(np.abs(p.levels) < p.clip)]])  # on levels too
        closed = pmf(p, xs)
        for x, row in zip(xs, closed, strict=True):
            worst = max(worst, float(np.abs(row - pmf_bruteforce(p, float(x))).max()))
    assert worst < 1e-12


def test_spec_pmf_anchor() -> None:
    p = RQMParams(1.0, 0.7, 6, 0.4)
    np.testing.assert_allclose(pmf(p, 0.33), [0.0748, 0.0637, 0.1478, 0.3962, 0.1499, 0.1676],
                               atol=5e-5)


def test_pmf_normalised_and_unbiased() -> None:
    g = np.random.default_rng(12)
    for _ in range(30):
        p = random_params(g, m_max=40)
        xs = np.concatenate([g.uniform(-p.clip, p.clip, 20), [-p.clip, p.clip]])
        probs = pmf(p, xs)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        np.testing.assert_allclose(probs @ p.levels, xs, rtol=0, atol=1e-12 * p.half_width)
        if p.keep_prob > 0:
            assert (probs > 0).all()  # full support when Δ > 0 and 0 < q < 1


def test_pmf_symmetry() -> None:
    g = np.random.default_rng(13)
    for _ in range(20):
        p = random_params(g, m_max=30)
        xs = g.uniform(-p.clip, p.clip, 10)
        np.testing.assert_allclose(pmf(p, -xs), pmf(p, xs)[:, ::-1], rtol=0, atol=1e-13)


def test_pmf_clamps_and_is_affine_within_a_cell() -> None:
    p = RQMParams(1.0, 0.5, 7, 0.3)
    np.testing.assert_array_equal(pmf(p, 5.0), pmf(p, 1.0))
    lv = p.levels
    xs = np.linspace(lv[3], lv[4], 5)  # the closed cell [B_3, B_4]: affine and continuous
    probs = pmf(p, xs)
    w = np.linspace(0.0, 1.0, 5)[:, None]
    np.testing.assert_allclose(probs, (1 - w) * probs[0] + w * probs[-1], rtol=0, atol=1e-13)


def test_pmf_m2_closed_form() -> None:
    p = RQMParams(1.5, 0.4, 2, 0.9)
    xs = np.linspace(-1.5, 1.5, 9)
    np.testing.assert_allclose(pmf(p, xs)[:, 1], (xs + 1.9) / 3.8, rtol=0, atol=1e-15)


def test_variance_anchors() -> None:
    # spec §8: Var(x=0), Var(x=c) with c = 1
    rows = [(2, 1.0, 0.0, 4.0, 3.0), (4, 2.0, 0.25, 6.25, 5.25), (8, 1.0, 0.5, 0.6173, 0.4974),
            (16, 2.0, 0.5, 0.3563, 0.3097)]
    for m, d, q, v0, vc in rows:
        np.testing.assert_allclose(variance(RQMParams(1.0, d, m, q), [0.0, 1.0]), [v0, vc],
                                   atol=6e-5)


def test_log_pmf_large_m_no_underflow() -> None:
    p = RQMParams(1.0, 0.3, 256, 0.995)  # (1−q)^254 ≈ 1e-584 underflows in linear space
    lp = log_pmf(p, [-1.0, 0.1, 1.0])
    assert np.isfinite(lp).all()
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-12)
    assert np.isfinite(rdp(p, [2.0, np.inf])).all()


def pmf_direct(p: RQMParams, x: float) -> np.ndarray:
    """The spec §3 sums evaluated term by term (O(m²) per x, the pre-prefix-sum formula):
    P(L=k)·Σ_u P(U=u)(B_u − x)/(B_u − B_k) for k ≤ j, P(U=k)·Σ_l P(L=l)(x − B_l)/(B_k − B_l)
    for k > j; neighbour laws in log space, the rounding sums in linear space (positive
    terms)."""
    m, q = p.num_levels, p.keep_prob
    t = (min(max(x, -p.clip), p.clip) + p.half_width) / p.spacing
    j = min(int(math.floor(t)), m - 2)
    l1q, lq = math.log1p(-q), (math.log(q) if q > 0 else -math.inf)
    k = np.arange(m)
    log_lo = np.where(k == 0, j * l1q, lq + (j - k) * l1q)
    log_hi = np.where(k == m - 1, (m - 2 - j) * l1q, lq + (k - j - 1) * l1q)
    out = np.full(m, -np.inf)
    us, ls = np.arange(j + 1, m), np.arange(0, j + 1)
    w_u, w_l = np.exp(log_hi[us]), np.exp(log_lo[ls])
    for kk in range(m):
        if kk <= j:
            s = float(np.sum(w_u * (us - t) / (us - kk)))
            out[kk] = log_lo[kk] + math.log(s) if s > 0 else -np.inf
        else:
            s = float(np.sum(w_l * (t - ls) / (kk - ls)))
            out[kk] = log_hi[kk] + math.log(s) if s > 0 else -np.inf
    return out


def test_prefix_sum_pmf_matches_direct_sums() -> None:
    """The O(m)-per-input prefix-sum pmf equals the term-by-term sums (log space, 1e-11),
    including extreme q and inputs just below a level (no cancellation in the rewrite)."""
    g = np.random.default_rng(15)
    worst = 0.0
    for m, q in [(37, 0.001), (64, 0.999), (150, 0.3), (200, 0.9), (90, 0.0), (3, 0.5)]:
        p = RQMParams(float(g.uniform(0.3, 2.0)), float(g.uniform(0.05, 2.0)), m, q)
        lv = p.levels[(np.abs(p.levels) < p.clip)]
        xs = np.concatenate([g.uniform(-p.clip, p.clip, 3), [-p.clip, p.clip],
                             lv[:2], lv[:2] - 1e-9 * p.spacing, lv[-1:] + 1e-12])
        fast = log_pmf(p, xs)
        for x, row in zip(xs, fast, strict=True):
            ref = pmf_direct(p, float(x))
            np.testing.assert_array_equal(np.isfinite(row), np.isfinite(ref))
            fin = np.isfinite(ref)
            worst = max(worst, float(np.abs(row[fin] - ref[fin]).max()))
    assert worst < 1e-11


def test_pmf_large_m_memory_bounded() -> None:
    """m = 65536 (the largest accepted): the old (n, m, m) formula needed ~34 GB per input;
    the prefix-sum pmf stays within bounded work blocks (peak traced memory < 600 MB)."""
    import tracemalloc

    p = RQMParams(1.0, 1.0, 65536, 0.5)
    xs = np.array([0.3, -1.0])
    tracemalloc.start()
    try:
        lp = log_pmf(p, xs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 600e6
    assert np.isfinite(lp).all()  # full support, in log space (linear space underflows)
    probs = np.exp(lp)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(probs @ p.levels, xs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(pmf(p, -0.3), probs[0, ::-1], rtol=1e-9, atol=0)


def test_accounting_refuses_too_many_levels_but_encoding_works() -> None:
    from dpkit.mechanisms.rqm.privacy import MAX_ACCOUNTING_LEVELS

    assert MAX_ACCOUNTING_LEVELS == 1024
    big = RQMParams(1.0, 1.0, MAX_ACCOUNTING_LEVELS + 1, 0.5)
    match = r"num_levels must be in \[2, 1024\] for privacy accounting.*got 1025"
    for call in (lambda: privacy_event(big), lambda: rdp(big, [2.0]),
                 lambda: rdp_curve(big), lambda: rdp_curve_bruteforce(big),
                 lambda: big.privacy_event(3)):
        with pytest.raises(DPKitError, match=match):
            call()
    with pytest.raises(DPKitError, match=r"num_levels must be in \[2, 1024\]"):
        calibrate(epsilon=1.0, clip=1.0, num_levels=4096, keep_prob=0.5)
    # m = 1024 itself is accounted (a small grid here: Δ = 40c keeps |G| = 27)
    ok = RQMParams(1.0, 40.0, MAX_ACCOUNTING_LEVELS, 0.5)
    assert np.isfinite(privacy_event(ok).epsilon_inf())
    # encoding and the pmf are not limited
    huge = RQMParams(1.0, 1.0, 65536, 0.5)
    for backend in ("numpy", "numba"):
        idx = quantize(huge, np.linspace(-1, 1, 1000), rng=3, backend=backend)
        assert idx.dtype == np.uint16 and int(idx.max()) < 65536


# ------------------------------------------------------------------ §7.4: m = 2 closed forms
@pytest.mark.parametrize("c, d", [(1.0, 1.0), (1.0, 2.0), (0.3, 0.05), (2.0, 7.0)])
def test_m2_closed_forms(c: float, d: float) -> None:
    p = RQMParams(c, d, 2, 0.5)
    r = c + d
    a, b = (2 * c + d) / (2 * r), d / (2 * r)
    orders = np.array([1.01, 1.5, 2.0, 3.7, 8.0, 64.0, 1024.0, np.inf])
    fin = orders[:-1]
    la, lb = math.log(a), math.log(b)
    expected = np.logaddexp(fin * la + (1 - fin) * lb, fin * lb + (1 - fin) * la) / (fin - 1)
    got = rdp(p, orders)
    # an upper bound, rounded upward by a few ulps of the terms / (α − 1): never below the
    # closed form, and above it only by rounding slack
    assert np.all(got[:-1] >= expected * (1 - 4e-16))
    np.testing.assert_allclose(got[:-1], expected, rtol=1e-10)
    assert got[-1] == pytest.approx(math.log((2 * c + d) / d), rel=1e-13)
    assert got[-1] >= math.log((2 * c + d) / d)


def test_m2_ln3_and_q0_limit() -> None:
    assert rdp(RQMParams(1.0, 1.0, 2, 0.0), [np.inf])[0] == pytest.approx(1.0986123, abs=1e-7)
    # q = 0 with m > 2 is the m = 2 mechanism on the end levels
    np.testing.assert_allclose(rdp(RQMParams(1.0, 1.3, 9, 0.0), [2.0, 8.0, np.inf]),
                               rdp(RQMParams(1.0, 1.3, 2, 0.0), [2.0, 8.0, np.inf]),
                               rtol=1e-12)


# ------------------------------------------------------------------ §7.5: the grid theorem
ANCHORS = [  # spec §8 (c = 1): m, Δ, q, D2, D8, D32, D∞
    (2, 1.0, 0.0, 0.8473, 1.0575, 1.0893, 1.0986),
    (2, 2.0, 0.0, 0.4055, 0.6352, 0.6801, 0.6931),
    (3, 1.0, 0.5, 1.2238, 1.5423, 1.5943, 1.6094),
    (4, 1.0, 0.5, 1.6189, 1.9081, 1.9905, 2.0149),
    (4, 2.0, 0.25, 0.6672, 0.8950, 0.9434, 0.9808),
    (4, 2.0, 0.5, 1.1236, 1.3167, 1.3642, 1.3863),
    (8, 1.0, 0.5, 3.1341, 3.3782, 3.5023, 3.5483),
    (8, 2.0, 0.25, 0.9770, 1.2835, 1.3929, 1.4428),
    (16, 1.0, 0.25, 2.9493, 3.2527, 3.3863, 3.4310),
    (16, 2.0, 0.25, 1.9443, 2.3042, 2.4349, 2.4796),
    (16, 2.0, 0.5, 4.4267, 4.7152, 4.7879, 4.8103),
]


@pytest.mark.parametrize("row", ANCHORS, ids=[f"m{r[0]}-d{r[1]}-q{r[2]}" for r in ANCHORS])
def test_spec_anchor_table(row: tuple) -> None:
    m, d, q, *vals = row
    got = rdp(RQMParams(1.0, d, m, q), [2.0, 8.0, 32.0, np.inf])
    np.testing.assert_allclose(got, vals, atol=6e-5)


def test_grid_search_beats_random_pairs() -> None:
    g = np.random.default_rng(14)
    orders = np.array([1.05, 2.0, 8.0, 32.0, np.inf])
    for _ in range(12):
        p = random_params(g, m_max=12)
        eps = rdp(p, orders)
        xs = g.uniform(-p.clip, p.clip, (200, 2))
        xs[:40] = np.clip(xs[:40], -p.clip, p.clip) * 0 + g.choice(grid(p), (40, 2))
        xs[40:80] += g.normal(0, 1e-3, (40, 2))  # near the grid points too
        xs[40:80] = np.clip(xs[40:80], -p.clip, p.clip)
        lp = log_pmf(p, xs)
        lp = lp[..., np.isfinite(lp).all(axis=(0, 1))]  # q = 0: only the end levels occur
        for t, a in enumerate(orders):
            if math.isinf(a):
                d = (lp[:, 0] - lp[:, 1]).max(axis=1)
            else:
                z = a * lp[:, 0] + (1 - a) * lp[:, 1]
                mx = z.max(axis=1)
                d = (np.log(np.exp(z - mx[:, None]).sum(axis=1)) + mx) / (a - 1)
            assert d.max() <= eps[t] * (1 + 1e-12) + 1e-13, (p, a)


def test_pruned_search_equals_bruteforce_search() -> None:
    g = np.random.default_rng(15)
    for _ in range(10):
        p = random_params(g, m_max=24)
        fast = rdp_curve(p)
        slow = rdp_curve_bruteforce(p)
        # the pruned search rounds upward (the brute-force oracle does not): never below it
        assert np.all(fast.values >= slow.values)
        np.testing.assert_allclose(fast.values, slow.values, rtol=1e-10, atol=1e-11)
        # the returned pair attains the value
        for t in (3, 40, len(DEFAULT_ORDERS) - 1):
            x, xp = fast.pairs[t]
            assert renyi_divergence(p, x, xp, [fast.orders[t]])[0] == pytest.approx(
                fast.values[t], rel=1e-10)


def test_extreme_pair_fast_path_is_a_lower_bound_and_not_always_exact() -> None:
    # (c, −c) was the worst pair in the spec's survey, and it is for this row ...
    p = RQMParams(1.0, 2.0, 16, 0.5)
    np.testing.assert_allclose(extreme_pair_curve(p), rdp_curve(p).values, rtol=1e-10)
    # ... but not in general: regression found while building the grid search (spec §8 row
    # m=16, Δ=1, q=0.25: at α ≥ 8 the worst pair is (B_4 = −0.9333, c), a level inside
    # [−c, c]; the spec's table values are the grid values, its "(±c, ∓c)" remark is not).
    p = RQMParams(1.0, 1.0, 16, 0.25)
    full = rdp_curve(p, [8.0, np.inf])
    fast = extreme_pair_curve(p, [8.0, np.inf])
    assert (fast < full.values - 0.02).all()
    np.testing.assert_allclose(full.pairs, [[-14 / 15, 1.0], [-14 / 15, 1.0]], atol=1e-12)


def test_rr_bound_dominates_pairs() -> None:
    # the pruning bound: D_α ≤ RR(ε_pair, α) for every pair, ε_pair the two-sided D_∞
    g = np.random.default_rng(16)
    p = RQMParams(1.0, 0.8, 9, 0.6)
    for _ in range(50):
        x, xp = g.uniform(-1, 1, 2)
        e = max(renyi_divergence(p, x, xp, [np.inf])[0], renyi_divergence(p, xp, x, [np.inf])[0])
        for a in (1.01, 2.0, 17.0, 2048.0):
            assert renyi_divergence(p, x, xp, [a])[0] <= randomized_response_bound(e, a) + 1e-12


def test_curve_is_monotone_in_parameters() -> None:
    # spec §4 observations, used by the calibration bisection (which re-checks anyway)
    o = [2.0, np.inf]
    e = [rdp(RQMParams(1.0, d, 8, 0.4), o) for d in (0.5, 1.0, 2.0)]
    assert (e[0] > e[1]).all() and (e[1] > e[2]).all()
    e = [rdp(RQMParams(1.0, 1.0, 8, q), o) for q in (0.1, 0.5, 0.9)]
    assert (e[0] < e[1]).all() and (e[1] < e[2]).all()


# ------------------------------------------------------------------ §7.6: composition, event
def test_dimension_composition_is_exact_and_tight() -> None:
    p = RQMParams(1.0, 1.5, 3, 0.5)
    orders = np.array([2.0, 5.0, np.inf])
    scalar = rdp_curve(p, orders)
    ev = privacy_event(p, dimension=3)
    # issue 16: the event lists the output laws (PMFPairs), whose divergence is computed
    # directly (rounded upward by ~1e-13, where the grid search adds its ~1e-11 margin)
    np.testing.assert_allclose(ev.rdp(orders), 3 * scalar.values, rtol=1e-10)
    # tightness: enumerate the 3^3 outputs of the product law at the scalar worst pair
    for t, a in enumerate(orders):
        x, xp = scalar.pairs[t]
        px, pxp = pmf(p, x), pmf(p, xp)
        joint = np.einsum("i,j,k->ijk", px, px, px).ravel()
        joint_p = np.einsum("i,j,k->ijk", pxp, pxp, pxp).ravel()
        if math.isinf(a):
            d = np.log(joint / joint_p).max()
        else:
            d = np.log(np.sum(joint**a * joint_p ** (1 - a))) / (a - 1)
        assert d == pytest.approx(3 * scalar.values[t], rel=1e-12)


def test_privacy_event_is_an_accountant_event() -> None:
    p = RQMParams(1.0, 2.0, 16, 0.25)
    ev = privacy_event(p, dimension=10)
    # issue 16: m ≤ 32 lists the output laws at the grid pairs (exact RDP and PLD)
    assert isinstance(ev, Repeated) and isinstance(ev.event, PMFPairs)
    assert ev.count == 10 and ev.relation == REPLACE_ONE
    assert ev == p.privacy_event(10)
    grid_orders = np.asarray(DEFAULT_ORDERS, dtype=float)
    np.testing.assert_allclose(ev.rdp(grid_orders), 10 * rdp_curve(p, grid_orders).values,
                               rtol=1e-10)
    big = RQMParams(1.0, 2.0, 64, 0.25)  # m > 32: the tabulated RDP curve
    ev_big = privacy_event(big, dimension=2)
    assert isinstance(ev_big, RDPCurve)
    np.testing.assert_array_equal(np.asarray(ev_big.orders), np.sort(DEFAULT_ORDERS))
    assert ev.epsilon_inf() == pytest.approx(10 * 2.4796, abs=1e-3)
    acct = Accountant().compose(ev, count=5)
    e = acct.epsilon(1e-5)
    assert math.isfinite(e) and 0 < e <= 50 * ev.epsilon_inf() / 10
    # round-trips through JSON like every event
    from dpkit.accounting.events import event_from_dict

    assert event_from_dict(ev.to_dict()) == ev


def test_amplification_needs_explicit_flag() -> None:
    p = RQMParams(1.0, 2.0, 4, 0.25)
    with pytest.raises(DPKitError, match="unreviewed_amplification"):
        privacy_event(p, client_sample_rate=0.1)
    with pytest.raises(DPKitError, match="client_sample_rate"):
        privacy_event(p, unreviewed_amplification=True)
    ev = privacy_event(p, 2, client_sample_rate=0.1, unreviewed_amplification=True)
    assert isinstance(ev, PoissonSampled)
    full = privacy_event(p, 2)
    assert (ev.rdp([2.0, 8.0]) <= full.rdp([2.0, 8.0]) + 1e-12).all()


# ------------------------------------------------------------------ calibration
def test_calibrate_m2_closed_form() -> None:
    for e in (0.5, 1.0, 3.0):
        p = calibrate(epsilon=e, clip=2.0, num_levels=2, keep_prob=0.0)
        assert p.extension == pytest.approx(4.0 / math.expm1(e), rel=1e-6)
        assert rdp(p, [np.inf])[0] <= e


@pytest.mark.parametrize("kw", [dict(num_levels=8, keep_prob=0.3, dimension=3),
                                dict(num_levels=16, keep_prob=0.5, delta=1e-5, rounds=4),
                                dict(num_levels=8, extension=2.0)])
def test_calibrate_meets_target_without_overshoot(kw: dict) -> None:
    target = 2.0
    p = calibrate(epsilon=target, clip=1.0, **kw)
    ev = privacy_event(p, kw.get("dimension", 1))
    if kw.get("delta") is None:
        got = kw.get("rounds", 1) * ev.epsilon_inf()
    else:
        got = Accountant().compose(ev, count=kw["rounds"]).epsilon(kw["delta"])
    assert got <= target
    assert got >= target * (1 - 1e-5)


def test_calibrate_errors() -> None:
    with pytest.raises(DPKitError, match="exactly one"):
        calibrate(epsilon=1.0, clip=1.0, num_levels=4)
    with pytest.raises(InfeasibleTargetError):
        calibrate(epsilon=0.1, clip=1.0, num_levels=4, extension=0.1)


# ------------------------------------------------------------------ §7.7: aggregation
def test_aggregate_is_exact_integer_mean() -> None:
    p = RQMParams(1.0, 0.5, 16, 0.5)
    g = np.random.default_rng(17)
    idx = quantize_reference(p, g.uniform(-1, 1, (1000, 7)), g)
    sums = idx.sum(axis=0, dtype=np.int64)
    assert sums.dtype == np.int64 and int(sums.sum()) == int(idx.astype(np.int64).sum())
    expected = -p.half_width + p.spacing * sums / 1000
    np.testing.assert_allclose(aggregate(p, idx), expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(aggregate(p, idx), decode(p, idx).mean(axis=0), atol=1e-12)
    np.testing.assert_array_equal(aggregate_sums(p, sums, 1000), aggregate(p, idx))
    assert decode(p, [0, 15]).tolist() == [-1.5, 1.5]


# ------------------------------------------------------------------ §7.8-10: samplers
def _chi2_pvalue(counts: np.ndarray, probs: np.ndarray) -> float:
    n = counts.sum()
    return float(stats.chisquare(counts, n * probs).pvalue)


@pytest.mark.parametrize("sampler", ["walk", "mask"])
def test_sampler_matches_pmf(sampler: str) -> None:
    # spec §7.8: N = 4e5 at c = 1, Δ = 0.7, m = 6, q = 0.4, x = 0.33; chi-square, FA = 1e-6
    p = RQMParams(1.0, 0.7, 6, 0.4)
    n = 400_000
    idx = quantize_reference(p, np.full(n, 0.33), rng=21, sampler=sampler)
    counts = np.bincount(idx, minlength=6)
    probs = pmf(p, 0.33)
    assert _chi2_pvalue(counts, probs) > FA
    np.testing.assert_allclose(counts / n, probs, atol=4e-3)
    # §7.9 unbiasedness: |mean − x| ≤ 5σ/√N (two-sided FA 5.7e-7)
    vals = decode(p, idx)
    assert abs(vals.mean() - 0.33) <= 5 * math.sqrt(variance(p, 0.33) / n)


def test_walk_and_mask_samplers_agree_two_sample() -> None:
    # §7.10: chi-square test of homogeneity between the two samplers, FA = 1e-6, at an input
    # on a level and one near the clip boundary, m = 12
    p = RQMParams(1.0, 0.4, 12, 0.3)
    for x in (p.levels[5], 0.97):
        a = quantize_reference(p, np.full(200_000, x), rng=22, sampler="walk")
        b = quantize_reference(p, np.full(200_000, x), rng=23, sampler="mask")
        table = np.stack([np.bincount(a, minlength=12), np.bincount(b, minlength=12)])
        table = table[:, table.sum(axis=0) > 0]
        assert stats.chi2_contingency(table)[1] > FA


def test_quantize_many_inputs_law() -> None:
    # the law at many distinct inputs at once: E[index] and the index variance match the pmf
    p = RQMParams(0.5, 0.5, 9, 0.6)
    g = np.random.default_rng(24)
    xs = g.uniform(-0.6, 0.6, 300_000)  # some outside [−c, c]: clamped
    idx = quantize(p, xs, g, backend="numpy").astype(float)
    probs = pmf(p, xs)
    mean = probs @ np.arange(9)
    var = probs @ np.arange(9) ** 2 - mean**2
    z = (idx - mean).sum() / math.sqrt(var.sum())
    assert abs(z) < 5  # FA 5.7e-7


def test_quantize_shapes_dtype_determinism() -> None:
    p = RQMParams(1.0, 1.0, 300, 0.5)
    out = quantize(p, np.zeros((3, 4)), rng=1, backend="numpy")
    assert out.shape == (3, 4) and out.dtype == np.uint16
    assert quantize(RQMParams(1.0, 1.0, 4, 0.5), 0.2, rng=1, backend="numpy").shape == ()
    np.testing.assert_array_equal(quantize(p, np.zeros(50), rng=3, backend="numpy"),
                                  quantize(p, np.zeros(50), rng=3, backend="numpy"))


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kw, match", [
    (dict(clip=0.0), "clip"), (dict(clip=np.nan), "clip"),
    (dict(extension=0.0), "extension must be > 0.*finite privacy"),
    (dict(extension=-1.0), "extension"), (dict(num_levels=1), "num_levels must be >= 2"),
    (dict(num_levels=2.5), "num_levels"), (dict(num_levels=2**16 + 1), "num_levels"),
    (dict(keep_prob=1.0), r"keep_prob must be in \[0, 1\).*finite privacy"),
    (dict(keep_prob=-0.1), "keep_prob"), (dict(keep_prob=np.nan), "keep_prob"),
])
def test_params_validation(kw: dict, match: str) -> None:
    base = dict(clip=1.0, extension=1.0, num_levels=4, keep_prob=0.5)
    with pytest.raises(DPKitError, match=match):
        RQMParams(**{**base, **kw})


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_nan_input_is_refused_with_positions(backend: str) -> None:
    p = RQMParams(1.0, 1.0, 4, 0.5)
    x = np.zeros(10)
    x[3] = np.nan
    x[7] = np.inf
    with pytest.raises(DPKitError, match=r"x must be finite.*position\(s\) 3, 7"):
        quantize(p, x, rng=0, backend=backend)
    with pytest.raises(DPKitError, match="x must be finite"):
        quantize(p, float("nan"), rng=0, backend=backend)
    with pytest.raises(DPKitError, match="x must be finite"):
        pmf(p, [0.0, np.nan])


def test_other_bad_input() -> None:
    p = RQMParams(1.0, 1.0, 4, 0.5)
    with pytest.raises(DPKitError, match="params"):
        quantize("p", [0.0], rng=0)
    with pytest.raises(DPKitError, match="backend"):
        quantize(p, [0.0], rng=0, backend="cuda")
    with pytest.raises(DPKitError, match="sampler"):
        quantize_reference(p, [0.0], rng=0, sampler="fast")
    with pytest.raises(DPKitError, match=r"indices must be in \[0, 3\]"):
        decode(p, [4])
    with pytest.raises(DPKitError, match="dimension"):
        privacy_event(p, dimension=0)
    with pytest.raises(DPKitError, match="orders"):
        rdp(p, [1.0])
    with pytest.raises(DPKitError, match="sums"):
        aggregate_sums(p, np.array([7]), 2)


def test_rdp_curve_is_never_below_zero_or_the_exact_pair_divergence() -> None:
    """Issue 14 (found by the contract suite): at extension 1e30 the grid search returned
    values of about −2e−17 (rounding), below the true divergence, and privacy_event refused
    them. The curve is now rounded upward."""
    for ext in (1e30, 1e100):
        p = RQMParams(1.0, ext, 2, 0.5)
        curve = rdp_curve(p)
        assert np.all(curve.values > 0.0)
        assert np.isfinite(privacy_event(p).rdp(np.array([2.0]))[0])
    p = RQMParams(1.0, 2.0, 16, 0.5)
    curve = rdp_curve(p)
    for t in (0, 40, len(DEFAULT_ORDERS) - 1):
        x, xp = curve.pairs[t]
        assert curve.values[t] >= renyi_divergence(p, x, xp, [curve.orders[t]])[0]


# ------------------------------------------------------------------ issue 15: names, one RR curve
def test_epsilon_is_a_deprecated_alias_of_rdp() -> None:
    import warnings

    from dpkit.mechanisms import rqm

    p = RQMParams(1.0, 1.0, 8, 0.4)
    orders = [2.0, 8.0, np.inf]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = rqm.epsilon(p, orders)
    assert [w.category for w in caught] == [DeprecationWarning]
    assert "rqm.rdp" in str(caught[0].message)
    assert caught[0].filename == __file__  # stacklevel points at the caller
    np.testing.assert_array_equal(got, rdp(p, orders))
    np.testing.assert_array_equal(rdp(p, orders), rdp_curve(p, orders).values)
    assert "epsilon" not in rqm.__all__ and "rdp" in rqm.__all__


@pytest.mark.parametrize("k", [2, 3])
def test_pruning_bound_is_the_accountants_randomized_response_curve(k: int) -> None:
    """The vectorized-over-ε curve is the accountant's scalar one up to the last ulps of
    expm1, and never below the exact value (mpmath, 600 digits)."""
    import mpmath

    from dpkit.accounting import rdp as acct_rdp

    eps = np.array([0.0, 1e-120, 1e-30, 1e-6, 0.3, 1.0, 7.5, 40.0, 699.0, 710.0, 1e4, np.inf])
    for alpha in (1.01, 2.0, 17.5, 1e6, np.inf):
        vec = acct_rdp.randomized_response_at_order(eps, k, alpha)
        one = np.array([acct_rdp.randomized_response(e, k, np.array([alpha]))[0] for e in eps])
        np.testing.assert_allclose(vec, one, rtol=8 * 2.0**-52, atol=0)
        if k == 2:
            np.testing.assert_array_equal(randomized_response_bound(eps[np.isfinite(eps)], alpha),
                                          vec[np.isfinite(eps)])
        if not np.isinf(alpha):
            mpmath.mp.dps = 600  # s − 1 ≈ αε²/2 must be resolved next to 1 (ε = 1e−120)
            for e, v in zip(eps, vec, strict=True):
                if not 0 < e < 1e3:
                    continue
                em, a = mpmath.mpf(float(e)), mpmath.mpf(alpha)
                pa = mpmath.exp(em) / (mpmath.exp(em) + k - 1)
                pb = 1 / (mpmath.exp(em) + k - 1)
                s = pa**a * pb**(1 - a) + pb**a * pa**(1 - a) + (k - 2) * pb
                assert v >= float(mpmath.log(s) / (a - 1)), (e, alpha)
