"""TreeHist (Bassily, Nissim, Stemmer, Thakurta 2017; spec §3.2) in
dpkit.mechanisms.heavy_hitters: ε-LDP per user, report-once, control flow against an exact
oracle, and statistical correctness with fixed seeds (false-alarm rates stated per test)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from dpkit.accounting import Accountant
from dpkit.accounting.events import RandomizedResponse
from dpkit.errors import DPKitError
from dpkit.mechanisms import heavy_hitters as hh


def test_params_and_bad_beta():
    p = hh.HeavyHitterParams(2.0, 16, 8, protocol="treehist")
    assert p.num_groups == p.num_levels + 1
    assert hh.HeavyHitterParams(2.0, 16, 8, protocol="pem").num_groups == p.num_levels
    for bad in (0.0, 1.0, -0.1, math.nan):
        with pytest.raises(DPKitError, match="beta"):
            hh.HeavyHitterParams(2.0, 16, 8, protocol="treehist", beta=bad)
    z = hh.treehist_threshold(p, 100)
    assert z == pytest.approx(NormalDist().inv_cdf(1 - 0.05 / (p.num_levels * 100)), rel=1e-12)


def test_treehist_is_eps_ldp_per_user_with_one_report():
    """Every group's oracle is an ε-LDP OLH (exact worst ratio e^ε by enumeration on a small
    instance of the same g), the run's event is that one report, and every user is in exactly
    one of the G + 1 groups."""
    eps = 1.5
    p = hh.HeavyHitterParams(eps, 12, 4, protocol="treehist")
    for t in range(1, p.num_groups + 1):
        o = p.oracle(p.prefix_bits(t), t)
        assert o.epsilon == eps
        small = hh.OLH(eps, 5, g=o.g, num_hashes=None)
        assert hh.max_log_ratio(small) == pytest.approx(eps, rel=1e-12)
    ev = hh.privacy_event(p)
    assert ev == RandomizedResponse(eps, p.oracle(12).g)
    assert Accountant().compose(ev).epsilon(0.0) == pytest.approx(eps, rel=1e-9)
    groups = hh.partition_users(p, 1234, 0)
    assert len(groups) == p.num_groups
    np.testing.assert_array_equal(np.sort(np.concatenate(groups)), np.arange(1234))
    res = hh.find_heavy_hitters(p, [np.arange(700) % 4096, np.arange(300) % 4096], 1,
                                backend="numpy")
    assert [len(s) for s in res.group_sizes] == [p.num_groups] * 2
    assert [sum(s) for s in res.group_sizes] == [700, 300]


def test_threshold_binds_with_exact_oracle():
    """With exact counts, TreeHist returns exactly the items whose every prefix clears the
    pooled threshold — here fewer than k (no top-k floor), unlike PEM."""
    rng = np.random.default_rng(3)
    heavy = np.array([17, 900, 901, 3000])
    items = np.concatenate([np.repeat(heavy, [400, 300, 250, 40]),
                            rng.integers(0, 4096, size=2000)])
    params = hh.HeavyHitterParams(1.0, 12, 6, protocol="treehist", beta=0.01)
    sd = 20.0

    def exact(j, t, cand):
        pre = items >> (params.item_bits - params.prefix_bits(t))
        return np.array([np.sum(pre == c) for c in cand], dtype=float)

    got, counts, ncand = hh.run_protocol(params, [items.size], exact, lambda j, t: sd)
    # 40 copies of 3000 plus ~0.5 background are below z·sd ≈ 4·20 at the full level
    assert got.tolist() == [17, 900, 901]
    assert ncand == 3
    assert counts.tolist() == [float(np.sum(items == v)) for v in (17, 900, 901)]
    pem = hh.run_protocol(hh.HeavyHitterParams(1.0, 12, 6, protocol="pem"), [items.size],
                          exact, lambda j, t: sd)[0]
    assert pem.size == 6


def test_treehist_finds_planted_heavy_hitters_and_nothing_else():
    """5 planted items (5000 users each) over 30 000 uniform users, ℓ = 16, ε = 4,
    β = 1e-4: the survivors are exactly the planted items. False alarm: a count-0 (or
    background, count ≲ 3) prefix survives a level w.p. ≲ β = 1e-4 (union bound, Gaussian
    approximation); a planted item is lost w.p. < 1e-9 (its margin is > 10 sd)."""
    rng = np.random.default_rng(4)
    planted = rng.choice(2**16, size=5, replace=False)
    items = rng.permutation(np.concatenate([np.repeat(planted, 5000),
                                            rng.integers(0, 2**16, size=30_000)]))
    params = hh.HeavyHitterParams(4.0, 16, 8, protocol="treehist", beta=1e-4,
                                  num_hashes=1024)
    res = hh.find_heavy_hitters(params, [items[:40_000], items[40_000:]], 5)
    assert sorted(res.items.tolist()) == sorted(planted.tolist())
    assert res.candidates == 5


def test_treehist_final_estimates_are_unbiased():
    """The final counts come from a separate user group, so they are unbiased despite the
    selection: mean over 30 runs within 4 SE of the true count (two-sided ≈ 6e-5)."""
    rng = np.random.default_rng(5)
    items = np.concatenate([np.repeat([123, 4567], [6000, 3000]),
                            rng.integers(0, 2**14, size=11_000)])
    true = {123: 6000 + int(np.sum(items[9000:] == 123)),
            4567: 3000 + int(np.sum(items[9000:] == 4567))}
    params = hh.HeavyHitterParams(3.0, 14, 4, protocol="treehist", num_hashes=None)
    est = {123: [], 4567: []}
    for s in range(30):
        res = hh.find_heavy_hitters(params, items, 100 + s)
        found = dict(zip(res.items.tolist(), res.counts.tolist(), strict=True))
        for v in est:
            est[v].append(found[v])
    for v, e in est.items():
        e = np.asarray(e)
        se = e.std(ddof=1) / math.sqrt(e.size)
        assert abs(e.mean() - true[v]) <= 4 * se, (v, e.mean(), true[v], se)


# ============================================================ candidate-domain mode (§4.6)
def test_candidate_mode_bad_fo_and_events():
    with pytest.raises(DPKitError, match="fo"):
        hh.HeavyHitterParams(2.0, 16, 8, fo="rappor")
    from dpkit.accounting.events import REPLACE_ONE, PureDP

    assert hh.privacy_event(hh.HeavyHitterParams(2.0, 16, 8, fo="grr")) == \
        PureDP(2.0, REPLACE_ONE)
    assert hh.privacy_event(hh.HeavyHitterParams(2.0, 16, 8, fo="oue")) == \
        hh.privacy_event(hh.OUE(2.0, 5))
    for fo in ("grr", "oue"):
        ev = hh.privacy_event(hh.HeavyHitterParams(2.0, 16, 8, fo=fo))
        assert Accountant().compose(ev).epsilon(0.0) == pytest.approx(2.0, rel=1e-9)


@pytest.mark.parametrize("fo", ["grr", "oue"])
@pytest.mark.parametrize("proto", ["pem", "treehist", "taps"])
def test_candidate_mode_asks_each_group_once_over_its_public_list(fo, proto):
    """Instrumented aggregator: every group is asked exactly once, with a GRR/OUE over
    |cand| + 1 values (ε unchanged), and every user of the group reports once (an index in
    the list or ⊥); group sizes sum to the party sizes."""
    rng = np.random.default_rng(7)
    parties = [hh.zipf_items(n, 12, 1.3, rng, support=100) for n in (3000, 2000)]
    params = hh.HeavyHitterParams(3.0, 12, 4, protocol=proto, fo=fo)
    calls = []

    def spy(oracle, idx, gen):
        assert isinstance(oracle, hh.GRR if fo == "grr" else hh.OUE)
        assert oracle.epsilon == 3.0
        assert idx.min() >= 0 and idx.max() <= oracle.domain_size - 1
        calls.append((oracle.domain_size, idx.size))
        return hh.perturb_aggregate(oracle, idx, gen, backend="numpy")

    res = hh.find_heavy_hitters(params, parties, 3, backend="numpy", aggregator=spy)
    sizes = sorted(s for row in res.group_sizes for s in row)
    assert [sum(s) for s in res.group_sizes] == [3000, 2000]
    assert res.items.size > 0
    # every group is asked exactly once (all levels are reached here), each user reports once
    assert sorted(c[1] for c in calls) == sizes
    assert max(c[0] for c in calls) - 1 <= max(params.b_max, params.b_shared) * 4


@pytest.mark.parametrize("fo", ["grr", "oue"])
def test_candidate_mode_finds_planted_items(fo):
    """4 planted items (3000 users each) over 20 000 uniform users, ℓ = 16, ε = 4, k = 4:
    PEM in candidate mode returns exactly them. Each planted prefix beats the best
    background prefix by > 8 noise sd at every level (false alarm < 1e-9)."""
    rng = np.random.default_rng(8)
    planted = rng.choice(2**16, size=4, replace=False)
    items = rng.permutation(np.concatenate([np.repeat(planted, 3000),
                                            rng.integers(0, 2**16, size=20_000)]))
    params = hh.HeavyHitterParams(4.0, 16, 4, protocol="pem", fo=fo)
    res = hh.find_heavy_hitters(params, items, 9)
    assert sorted(res.items.tolist()) == sorted(planted.tolist())
    truth = {int(v): int(np.sum(items == v)) for v in planted}
    for v, c in zip(res.items.tolist(), res.counts.tolist(), strict=True):
        assert abs(c - truth[v]) < 0.5 * truth[v]


def test_protocol_runs_with_a_secure_generator():
    """The docstring's rng options include SecureGenerator (no ``permutation``): the groups
    are still an exact partition, and a run completes in OLH and candidate mode."""
    from dpkit.random import SecureGenerator

    g = SecureGenerator()
    p = hh.HeavyHitterParams(4.0, 12, 4, protocol="taps")
    groups = hh.partition_users(p, 1001, g)
    np.testing.assert_array_equal(np.sort(np.concatenate(groups)), np.arange(1001))
    parties = [np.arange(3000) % 7, np.arange(2000) % 5]
    for fo in ("olh", "grr"):
        res = hh.find_heavy_hitters(hh.HeavyHitterParams(4.0, 12, 4, protocol="taps", fo=fo),
                                    parties, g, backend="numpy")
        assert [sum(s) for s in res.group_sizes] == [3000, 2000]
